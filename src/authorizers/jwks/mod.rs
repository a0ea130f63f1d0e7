//! Issuers' public keys for JWT authorizers: the key set model (`keys`), one shared source per
//! issuer (`source`), its fetches (`fetch`) and the background service that keeps every
//! source fresh (`refresh`). Nothing here runs on a request's path but reading the current
//! keys and, for an unknown `kid`, asking the refresher for a fetch.

pub mod fetch;
pub mod keys;
pub mod refresh;
pub mod source;

pub use keys::KeySet;
pub use refresh::JwksRefresh;
pub use source::{JwksRegistry, JwksSource, JwksSpec};
