//! Where the SigV4 signer's credentials come from, and how they stay fresh.
//!
//! A route names a [`SourceSpec`] (static keys, the SDK default chain, or AssumeRole on top of
//! either). The [`CredentialsRegistry`] hands out one [`CredentialsCell`] per distinct spec, so
//! routes with identical specs share credentials and a single refresh loop. The request path only
//! calls [`CredentialsCell::current`], which never awaits: it loads an `Arc` from an `ArcSwap`.
//!
//! All network work (IMDSv2, ECS/EKS Pod Identity, STS, profile files, web identity) is done by
//! the AWS SDK's own providers (`aws-config`), driven by [`CredentialsRefresher`], a Pingora
//! background service, so the SDK's HTTP client and timers live on a runtime created after the
//! daemon fork. See [`CredentialsRefresher`] for the refresh policy.
//!
//! Secrets never leave this module in text form: `Debug` of specs, cells and stats is redacted,
//! error strings are scrubbed (`scrub.rs`), and the SDK runs under a no-op `tracing` dispatcher so
//! its own events (which may carry tokens) can never be bridged into our `log` output.

mod cell;
mod provider;
mod refresher;
mod registry;
mod scrub;
mod spec;

pub use aws_smithy_runtime_api::client::identity::Identity;
pub use cell::{CredentialStats, CredentialsCell};
pub use refresher::CredentialsRefresher;
pub use registry::CredentialsRegistry;
pub use spec::SourceSpec;
