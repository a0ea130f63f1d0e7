//! Typed builders for the gateway's configuration, rendered with serde_yaml: tests say what a
//! route is (`Route::function_uri("/r/*", url).iam(Iam::keys(AKID, SECRET, "execute-api"))`) and
//! never assemble YAML text. Any field without a method goes through [`Route::set`] /
//! [`Route::set_in`] (and [`GatewayConfig::set_in`] at top level), so a new setting needs no
//! builder change.
//!
//! Tests whose subject is the YAML text itself (config errors, field paths) keep literal text.

use std::net::SocketAddr;

use serde_yaml::{Mapping, Value};

fn key(k: &str) -> Value {
    Value::String(k.to_string())
}

/// Any scalar or structure, converted to YAML.
pub fn yaml(v: impl serde::Serialize) -> Value {
    serde_yaml::to_value(v).expect("serialisable")
}

/// Sets `path` (nested mapping keys, created as needed) to `value`.
fn set_in(map: &mut Mapping, path: &[&str], value: Value) {
    let (last, parents) = path.split_last().expect("a non-empty path");
    let mut m = map;
    for p in parents {
        let entry = m
            .entry(key(p))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        m = entry.as_mapping_mut().expect("a mapping on the path");
    }
    m.insert(key(last), value);
}

/// `authorization.iam` of a `function_uri` route.
#[derive(Clone, Debug)]
pub struct Iam(Mapping);

impl Iam {
    pub fn keys(accesskey: &str, secretkey: &str, service: &str) -> Iam {
        Iam(Mapping::new())
            .set("accesskey", accesskey)
            .set("secretkey", secretkey)
            .set("service", service)
    }

    pub fn session_token(self, token: &str) -> Iam {
        self.set("session_token", token)
    }

    pub fn set(mut self, field: &str, value: impl serde::Serialize) -> Iam {
        self.0.insert(key(field), yaml(value));
        self
    }
}

/// One entry of `routes:`.
#[derive(Clone, Debug)]
pub struct Route(Mapping);

impl Route {
    /// A `function_uri` route matched on `uri` (`/exact` or `/prefix/*`), named after it.
    pub fn function_uri(uri: &str, function_uri: &str) -> Route {
        Route::named(uri)
            .set("uri", uri)
            .set("function_uri", function_uri)
    }

    /// A name derived from `uri` (`/orders/*` → `orders`).
    fn named(uri: &str) -> Route {
        let name: String = uri
            .trim_matches(|c: char| !c.is_ascii_alphanumeric())
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let name = if name.is_empty() { "root".into() } else { name };
        Route(Mapping::new()).set("name", name)
    }

    pub fn name(self, name: &str) -> Route {
        self.set("name", name)
    }

    /// `authorization.iam` (SigV4).
    pub fn iam(self, iam: Iam) -> Route {
        self.set_in(&["authorization", "iam"], Value::Mapping(iam.0))
    }

    /// `authorization.apikey`.
    pub fn apikey(self, apikey: &str) -> Route {
        self.set_in(&["authorization", "apikey"], apikey)
    }

    /// `authorization.apikey_policy` (`replace`, `keep_client`, `reject`).
    pub fn apikey_policy(self, policy: &str) -> Route {
        self.set_in(&["authorization", "apikey_policy"], policy)
    }

    /// `max_body_size`.
    pub fn body_limit(self, bytes: u64) -> Route {
        self.set("max_body_size", bytes)
    }

    /// Any route field.
    pub fn set(mut self, field: &str, value: impl serde::Serialize) -> Route {
        self.0.insert(key(field), yaml(value));
        self
    }

    /// Any nested route field (`&["authorization", "iam", "service"]`).
    pub fn set_in(mut self, path: &[&str], value: impl serde::Serialize) -> Route {
        set_in(&mut self.0, path, yaml(value));
        self
    }

    pub fn value(&self) -> Value {
        Value::Mapping(self.0.clone())
    }
}

/// Everything in the gateway's file but what the harness adds (pid file, upgrade socket, grace
/// periods, and one listener when none is given).
#[derive(Clone, Debug, Default)]
pub struct GatewayConfig {
    top: Mapping,
    listeners: Vec<Value>,
    routes: Vec<Value>,
}

impl GatewayConfig {
    pub fn new() -> GatewayConfig {
        GatewayConfig::default()
    }

    pub fn route(mut self, route: Route) -> GatewayConfig {
        self.routes.push(route.value());
        self
    }

    pub fn routes(self, routes: impl IntoIterator<Item = Route>) -> GatewayConfig {
        routes.into_iter().fold(self, GatewayConfig::route)
    }

    /// A plain HTTP listener.
    pub fn listener(self, address: SocketAddr) -> GatewayConfig {
        self.listener_with(address, |l| l)
    }

    /// A listener with more fields (`tls`, `h2c`, ...), set on its mapping by `f`.
    pub fn listener_with(
        mut self,
        address: SocketAddr,
        f: impl FnOnce(Mapping) -> Mapping,
    ) -> GatewayConfig {
        let mut m = Mapping::new();
        m.insert(key("address"), yaml(address.to_string()));
        self.listeners.push(Value::Mapping(f(m)));
        self
    }

    /// Any top-level setting (`health.path`, `limits.*`, `dns.*`, ...), nested keys created.
    pub fn set_in(mut self, path: &[&str], value: impl serde::Serialize) -> GatewayConfig {
        set_in(&mut self.top, path, yaml(value));
        self
    }

    /// The listeners given, as a `listeners:` section (empty when none).
    pub fn listeners_yaml(&self) -> String {
        if self.listeners.is_empty() {
            return String::new();
        }
        let mut m = Mapping::new();
        m.insert(key("listeners"), Value::Sequence(self.listeners.clone()));
        serde_yaml::to_string(&m).unwrap()
    }

    /// Top-level settings and `routes:` (without listeners).
    pub fn body_yaml(&self) -> String {
        let mut m = self.top.clone();
        m.insert(key("routes"), Value::Sequence(self.routes.clone()));
        serde_yaml::to_string(&m).unwrap()
    }
}

// `function_name` routes and the top-level sections the tests set: their own file, so builder
// additions made in parallel merge without conflicts.
mod invoke;
