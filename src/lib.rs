//! lambda-proxy: a Pingora gateway in front of AWS Lambda and API Gateway.
//!
//! The binary (`src/main.rs`) only parses the command line and hands over to [`server`].
//! A request goes: [`gateway`] (Pingora's phases: checks, route match via [`routing`],
//! policies, [`authorizers`]) → [`function_uri`] (proxied through Pingora) or [`function_name`] (Invoke,
//! answered from `request_filter`) → signed with [`aws`] → sent over [`upstream`] peers.
//! Process-wide pieces: [`config`], [`server`], [`preflight`], [`reload`], [`drain`],
//! [`retry`], [`metrics`], [`fatal`].

pub mod api_keys;
pub mod authorizers;
pub mod aws;
pub mod config;
pub mod cors;
pub mod drain;
pub mod fatal;
pub mod function_name;
pub mod function_uri;
pub mod gateway;
pub mod metrics;
pub mod mtls;
pub mod preflight;
pub mod reload;
pub mod retry;
pub mod routing;
pub mod server;
#[cfg(test)]
mod test_certs;
pub mod throttling;
pub mod upstream;
