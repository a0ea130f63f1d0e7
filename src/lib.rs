//! lambda-proxy: a Pingora gateway in front of AWS Lambda and API Gateway.
//!
//! The binary (`src/main.rs`) only parses the command line and hands over to [`server`];
//! each module below owns one concern.

pub mod access_log;
pub mod budget;
pub mod config;
pub mod credentials;
pub mod dns;
pub mod drain;
pub mod fatal;
pub mod invoke;
pub mod metrics;
pub mod preflight;
pub mod proxy;
pub mod reload;
pub mod request_uri;
pub mod retry;
pub mod routing;
pub mod server;
pub mod sigv4;
pub mod target;
