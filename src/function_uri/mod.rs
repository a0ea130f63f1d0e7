//! `function_uri` routes (APISIX's model): proxy to an API Gateway stage or a Lambda Function
//! URL. `route` builds the route's upstream once from config; `path` joins a wildcard route's
//! remainder to the upstream base path; `signed_body` reads and hashes a body before signing.
//! The request itself goes through Pingora's proxy loop (`crate::gateway`'s phases).

mod path;
mod route;
pub mod signed_body;

pub use path::{forward_path, PathError};
pub use route::{ApiKey, FunctionUriTarget};
