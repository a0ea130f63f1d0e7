//! Reaching AWS: upstream URLs (`url`), address resolution and choice (`dns`), the per-route
//! peer templates Pingora connects with (`peer`) and the CONNECT tunnel through an outbound
//! proxy (`connect_proxy`). Shared by both route kinds.

pub mod connect_proxy;
pub mod dns;
pub mod peer;
pub mod url;

pub use url::UpstreamUrl;
