//! Builders for `function_name` routes (Lambda's Invoke API) and for the top-level sections
//! the tests set (metrics, access log, limits, DNS pinning, named credential sources).

use std::net::SocketAddr;
use std::path::Path;

use serde_yaml::Value;

use super::{GatewayConfig, Route};
use crate::common::{Emulator, AKID, SECRET};

impl Route {
    /// A `function_name` route named `name`, matched on `/name`, calling `function` in
    /// us-east-1, signed with the test keys. The event is the client body as sent
    /// (`request_payload: raw`: most tests send bodies without a content type and want them
    /// passed through untouched); [`Route::kong_payload`], [`Route::forward_request`] and
    /// [`Route::api_gateway`] choose another event.
    pub fn function_name(name: &str, function: &str) -> Route {
        Route(serde_yaml::Mapping::new())
            .set("name", name)
            .set("uri", format!("/{name}"))
            .set("function_name", function)
            .set("aws_region", "us-east-1")
            .keys(AKID, SECRET)
            .set("request_payload", "raw")
    }

    /// The path matched (`/exact` or `/prefix/*`).
    pub fn uri(self, uri: &str) -> Route {
        self.set("uri", uri)
    }

    /// The Invoke endpoint (`host`, `port`).
    pub fn endpoint(self, host: &str, port: u16) -> Route {
        self.set("host", host).set("port", port)
    }

    /// Plain HTTP to the endpoint (`disable_https`).
    pub fn plain_http(self) -> Route {
        self.set("disable_https", true)
    }

    /// The emulator's plain HTTP listener.
    pub fn on(self, emu: &Emulator) -> Route {
        self.endpoint("127.0.0.1", emu.http.port()).plain_http()
    }

    /// The emulator's HTTPS listener by the name in its certificate, verified with its CA.
    pub fn on_tls(self, emu: &Emulator) -> Route {
        self.endpoint("localhost", emu.https.port())
            .ca_file(&emu.ca_pem())
    }

    /// `ca_file`.
    pub fn ca_file(self, path: &Path) -> Route {
        self.set("ca_file", path.display().to_string())
    }

    /// Static keys (`aws_key`, `aws_secret`).
    pub fn keys(self, akid: &str, secret: &str) -> Route {
        self.set("aws_key", akid).set("aws_secret", secret)
    }

    /// `aws_session_token` with the static keys.
    pub fn token(self, token: &str) -> Route {
        self.set("aws_session_token", token)
    }

    /// No static keys (credentials from `aws_profile`, `credentials`, the default chain).
    pub fn without_keys(self) -> Route {
        self.unset("aws_key").unset("aws_secret")
    }

    /// No `aws_region` (taken from an ARN, or missing on purpose).
    pub fn without_region(self) -> Route {
        self.unset("aws_region")
    }

    /// Kong's default event (the query and body arguments as one object).
    pub fn kong_payload(self) -> Route {
        self.unset("request_payload")
    }

    /// Kong's request object with the given parts (`method`, `uri`, `headers`, `body`):
    /// `forward_request_<part>: true`.
    pub fn forward_request(self, parts: &[&str]) -> Route {
        parts.iter().fold(self.kong_payload(), |r, part| {
            r.set(&format!("forward_request_{part}"), true)
        })
    }

    /// An API Gateway event (`awsgateway_compatible`) of payload `version` (`1.0`, `2.0`).
    pub fn api_gateway(self, version: &str) -> Route {
        self.kong_payload()
            .set("awsgateway_compatible", true)
            .set("awsgateway_compatible_payload_version", version)
    }

    /// The function answers with API Gateway's proxy result (`is_proxy_integration`).
    pub fn proxy_integration(self) -> Route {
        self.set("is_proxy_integration", true)
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

    /// `access_log.format: json`.
    pub fn access_log_json(self) -> GatewayConfig {
        self.set_in(&["access_log", "format"], "json")
    }

    /// `access_log.enabled: false`.
    pub fn access_log_off(self) -> GatewayConfig {
        self.set_in(&["access_log", "enabled"], false)
    }

    /// `limits.buffered_body_bytes`.
    pub fn body_budget(self, bytes: u64) -> GatewayConfig {
        self.set_in(&["limits", "buffered_body_bytes"], bytes)
    }

    /// `dns.hosts.<host>`: the addresses `host` resolves to.
    pub fn dns_host(self, host: &str, addresses: &[&str]) -> GatewayConfig {
        self.set_in(&["dns", "hosts", host], addresses)
    }

    /// A named static credential source (`credentials.<name>`).
    pub fn credential_source(self, name: &str, akid: &str, secret: &str) -> GatewayConfig {
        self.set_in(&["credentials", name, "access_key_id"], akid)
            .set_in(&["credentials", name, "secret_access_key"], secret)
    }

    /// The whole file: top-level settings, listeners and routes (for files the harness does
    /// not start, e.g. `-t` runs or a gateway with its own stderr).
    pub fn to_yaml(&self) -> String {
        format!("{}{}", self.listeners_yaml(), self.body_yaml())
    }
}

impl super::Iam {
    /// Removes a field (e.g. `service`, to test its default).
    pub fn unset(mut self, field: &str) -> super::Iam {
        self.0.remove(Value::String(field.to_string()));
        self
    }
}
