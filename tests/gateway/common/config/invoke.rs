//! Builders for `function_name` routes (Lambda's Invoke API) and for the top-level sections
//! the tests set (metrics, whole files for `-t` and daemon runs).

use std::net::SocketAddr;
use std::path::Path;

use serde_yaml::Value;

use super::{GatewayConfig, Route};
use crate::common::{AKID, SECRET};

impl Route {
    /// A `function_name` route named `name`, matched on `/name`, calling `function` in
    /// us-east-1, signed with the test keys. The event is the client body as sent
    /// (`request_payload: raw`: most tests send bodies without a content type and want them
    /// passed through untouched); [`Route::kong_payload`] chooses Kong's default event.
    pub fn function_name(name: &str, function: &str) -> Route {
        Route(serde_yaml::Mapping::new())
            .set("name", name)
            .set("uri", format!("/{name}"))
            .set("function_name", function)
            .set("aws_region", "us-east-1")
            .keys(AKID, SECRET)
            .set("request_payload", "raw")
    }

    /// The Invoke endpoint (`host`, `port`).
    pub fn endpoint(self, host: &str, port: u16) -> Route {
        self.set("host", host).set("port", port)
    }

    /// Plain HTTP to the endpoint (`disable_https`).
    pub fn plain_http(self) -> Route {
        self.set("disable_https", true)
    }

    /// `ca_file`.
    pub fn ca_file(self, path: &Path) -> Route {
        self.set("ca_file", path.display().to_string())
    }

    /// Static keys (`aws_key`, `aws_secret`).
    pub fn keys(self, akid: &str, secret: &str) -> Route {
        self.set("aws_key", akid).set("aws_secret", secret)
    }

    /// No static keys (credentials from `aws_profile`, `credentials`, the default chain).
    pub fn without_keys(self) -> Route {
        self.unset("aws_key").unset("aws_secret")
    }

    /// Kong's default event (the query and body arguments as one object).
    pub fn kong_payload(self) -> Route {
        self.unset("request_payload")
    }

    /// `timeout` in milliseconds (either route kind).
    pub fn timeout_ms(self, ms: u64) -> Route {
        self.set("timeout", ms)
    }

    /// Removes a route field.
    pub fn unset(mut self, field: &str) -> Route {
        self.0.remove(Value::String(field.to_string()));
        self
    }
}

impl GatewayConfig {
    /// `metrics.address`.
    pub fn metrics(self, address: SocketAddr) -> GatewayConfig {
        self.set_in(&["metrics", "address"], address.to_string())
    }

    /// The whole file: top-level settings, listeners and routes (for files the harness does
    /// not start, e.g. `-t` runs or a gateway with its own stderr).
    pub fn to_yaml(&self) -> String {
        format!("{}{}", self.listeners_yaml(), self.body_yaml())
    }
}
