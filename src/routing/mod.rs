//! The route table: which route a request belongs to.
//!
//! Precedence (first rule that separates two candidates wins):
//! 1. an exact path (`/orders`) beats a wildcard (`/orders/*`);
//! 2. a longer wildcard prefix beats a shorter one (`/api/v2/*` before `/api/*`);
//! 3. a route listing `hosts` beats one that matches any host;
//! 4. the route written first in the file wins.
//!
//! A candidate must also match the host (if it lists hosts) and the method (if it lists
//! methods; a route without a list takes every method but `TRACE`, which echoes requests back
//! and is only served by a route that lists it). When some route matches path and host but
//! none matches the method, the answer is 405 with `Allow`; otherwise 404.
//!
//! Paths are compared in their normalised form (`crate::gateway::request_uri::normalize_path`, applied
//! to the request and to the configured patterns alike) and hosts in lower case without a
//! trailing dot.

use std::collections::HashMap;
use std::sync::Arc;

use crate::aws::credentials::CredentialsRegistry;
use crate::aws::route_credentials::validate_named;
use crate::config::{Config, ConfigError, RouteConf};
use crate::function_uri::FunctionUriTarget;
use crate::upstream::dns::Resolver;

mod kind;
pub use kind::{BuildContext, RouteKind};

/// One compiled route.
#[derive(Debug)]
pub struct Route {
    pub name: Arc<str>,
    pub hosts: Vec<String>,
    pub methods: Vec<String>,
    pub target: RouteKind,
    /// `cors_configuration`, compiled (`crate::cors`).
    pub cors: Option<Arc<crate::cors::CorsPolicy>>,
    /// Callers must present a client API key (`crate::api_keys`).
    pub api_key_required: bool,
    /// The authorizer every request passes first (`crate::authorizers`).
    pub auth: Option<Arc<crate::authorizers::RouteAuth>>,
    /// `throttling` and `client_throttling` (`crate::throttling`).
    pub throttle: Option<crate::throttling::RouteThrottle>,
    /// Announce the headroom of the limits on admitted requests' answers
    /// (`crate::throttling::headers`).
    pub rate_limit_headers: bool,
    /// Its metric handles, resolved on its first request (`crate::metrics`).
    pub metrics: crate::metrics::RouteHandles,
}

impl Route {
    /// The `function_uri` target, if this is such a route.
    pub fn function_uri(&self) -> Option<&FunctionUriTarget> {
        match &self.target {
            RouteKind::FunctionUri(t) => Some(t),
            RouteKind::FunctionName(_) => None,
        }
    }

    fn host_matches(&self, host: Option<&str>) -> bool {
        if self.hosts.is_empty() {
            return true;
        }
        let Some(host) = host else { return false };
        self.hosts.iter().any(|h| match h.strip_prefix("*.") {
            Some(suffix) => {
                host.len() > suffix.len() + 1
                    && host.as_bytes()[host.len() - suffix.len()..]
                        .eq_ignore_ascii_case(suffix.as_bytes())
                    && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
            }
            None => h.eq_ignore_ascii_case(host),
        })
    }

    fn method_matches(&self, method: &str) -> bool {
        if self.methods.is_empty() {
            return method != "TRACE";
        }
        self.methods.iter().any(|m| m == method)
    }

    /// What a 405 lists as allowed for this route.
    fn allowed_methods(&self) -> impl Iterator<Item = &str> {
        let default = self.methods.is_empty().then_some(DEFAULT_METHODS);
        self.methods
            .iter()
            .map(String::as_str)
            .chain(default.into_iter().flatten().copied())
    }
}

/// The methods a route without a `methods` list serves (all but `TRACE` and `CONNECT`).
const DEFAULT_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// A configured host as requests are compared with it: lower case, no trailing dot.
fn normalize_host(h: &str) -> String {
    h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase()
}

/// A configured path (or wildcard prefix) in the form request paths are compared in. A
/// pattern the normaliser cannot read is kept as written (config validation reports it).
pub(crate) fn normalize_pattern(p: &str) -> String {
    match crate::gateway::request_uri::normalize_path(p) {
        // `/api/` stays a prefix ending in `/`; `/api` stays without.
        Ok(n) => n,
        Err(_) => p.to_string(),
    }
}

struct Entry {
    /// For wildcards: the prefix including its trailing `/`.
    pattern: String,
    route: usize,
}

/// The outcome of a lookup.
pub enum RouteMatch<'a> {
    /// `rest` is the raw path after a wildcard prefix, `None` for an exact match.
    Found {
        route: &'a Arc<Route>,
        rest: Option<&'a str>,
    },
    MethodNotAllowed(Vec<String>),
    NotFound,
}

/// What route tables are built with and what they share across reloads: DNS entries,
/// credential sources, JWT issuers' keys, per-process limiter state, the throttling store.
#[derive(Clone)]
pub struct Shared {
    pub resolver: Arc<Resolver>,
    pub credentials: Arc<CredentialsRegistry>,
    pub jwks: Arc<crate::authorizers::jwks::JwksRegistry>,
    pub limiters: Arc<crate::throttling::local::LimiterRegistry>,
    pub stores: Arc<crate::throttling::StoreCache>,
}

impl Shared {
    pub fn new() -> Shared {
        Shared {
            resolver: Resolver::new(),
            credentials: CredentialsRegistry::new(),
            jwks: crate::authorizers::jwks::JwksRegistry::new(),
            limiters: crate::throttling::local::LimiterRegistry::new(),
            stores: crate::throttling::StoreCache::new(),
        }
    }
}

impl Default for Shared {
    fn default() -> Self {
        Shared::new()
    }
}

#[derive(Default)]
pub struct RouteTable {
    /// The gateway's own health endpoint, answered before routing.
    pub health_path: Option<String>,
    /// Access log settings (reloadable with the routes).
    pub access_log: crate::config::AccessLogConf,
    /// Client-side timeouts (reloadable with the routes).
    pub client: crate::config::ClientConf,
    /// Process-wide limits (reloadable with the routes).
    pub limits: crate::config::LimitsConf,
    /// Client API keys (reloadable with the routes).
    pub api_keys: Arc<crate::api_keys::ApiKeyTable>,
    /// Usage plans and the fleet-wide store (reloadable with the routes).
    pub throttling: Arc<crate::throttling::Throttling>,
    routes: Vec<Arc<Route>>,
    exact: HashMap<String, Vec<Entry>>,
    /// Sorted by precedence.
    prefixes: Vec<Entry>,
}

impl RouteTable {
    /// Compiles every route of `config`, resolving upstream hosts through `resolver` and
    /// taking credential sources from `credentials`.
    pub fn build(config: &Config, shared: &Shared) -> Result<RouteTable, ConfigError> {
        validate_named(&config.file, &config.gateway.credentials)?;
        let cx = BuildContext {
            file: &config.file,
            resolver: &shared.resolver,
            credentials: &shared.credentials,
            named_credentials: &config.gateway.credentials,
            pinned_hosts: &config.gateway.dns.hosts,
        };
        let authorizers = crate::authorizers::AuthorizerSet::build(
            &cx,
            &config.gateway.authorizers,
            &shared.jwks,
        )?;
        let mut t = Self::from_routes(&cx, &config.gateway.routes, &authorizers, &shared.limiters)?;
        t.throttling = Arc::new(crate::throttling::Throttling::build(
            &config.file,
            &config.gateway,
            &shared.limiters,
            &shared.stores,
        )?);
        let health = &config.gateway.health.path;
        t.health_path = (!health.is_empty()).then(|| health.clone());
        t.access_log = config.gateway.access_log.clone();
        t.client = config.gateway.client;
        t.limits = config.gateway.limits;
        t.api_keys = config.gateway.api_key_table.clone();
        Ok(t)
    }

    pub fn from_routes(
        cx: &BuildContext,
        confs: &[RouteConf],
        authorizers: &crate::authorizers::AuthorizerSet,
        limiters: &crate::throttling::local::LimiterRegistry,
    ) -> Result<RouteTable, ConfigError> {
        let mut t = RouteTable::default();
        for (i, rc) in confs.iter().enumerate() {
            let target = RouteKind::build(cx, i, rc)?;
            let cors = match &rc.cors_configuration {
                Some(c) => Some(Arc::new(crate::cors::CorsPolicy::build(c).map_err(
                    |(f, reason)| cx.route_error(i, &format!("cors_configuration.{f}"), reason),
                )?)),
                None => None,
            };
            let settings = match &target {
                RouteKind::FunctionName(t) => t.event_settings.clone(),
                RouteKind::FunctionUri(_) => crate::function_name::event::EventSettings {
                    resource: crate::function_name::default_resource(
                        rc.uri
                            .as_deref()
                            .or(rc.uris.first().map(String::as_str))
                            .unwrap_or(""),
                    ),
                    api_id: rc.name.clone(),
                    ..Default::default()
                },
            };
            let auth = authorizers.for_route(cx, i, rc, settings)?;
            let throttle = crate::throttling::route_throttle(cx, i, rc, limiters)?;
            t.routes.push(Arc::new(Route {
                name: rc.name.as_str().into(),
                hosts: rc.hosts.iter().map(|h| normalize_host(h)).collect(),
                methods: rc.methods.clone(),
                target,
                cors,
                api_key_required: rc.api_key_required,
                auth,
                throttle,
                rate_limit_headers: rc.rate_limit_headers,
                metrics: Default::default(),
            }));
            for u in rc.uri.iter().chain(rc.uris.iter()) {
                match u.strip_suffix('*') {
                    Some(prefix) => t.prefixes.push(Entry {
                        pattern: normalize_pattern(prefix),
                        route: i,
                    }),
                    None => {
                        let pattern = normalize_pattern(u);
                        t.exact
                            .entry(pattern.clone())
                            .or_default()
                            .push(Entry { pattern, route: i })
                    }
                }
            }
        }
        let routes = &t.routes;
        let key = |e: &Entry| (routes[e.route].hosts.is_empty(), e.route);
        t.prefixes.sort_by(|a, b| {
            b.pattern
                .len()
                .cmp(&a.pattern.len())
                .then(key(a).cmp(&key(b)))
        });
        for v in t.exact.values_mut() {
            v.sort_by_key(|e| key(e));
        }
        Ok(t)
    }

    pub fn routes(&self) -> &[Arc<Route>] {
        &self.routes
    }

    /// Finds the route for a normalised request path (no query; see
    /// `crate::gateway::request_uri::normalize_path`), host (lower case, no port, no trailing dot) and
    /// method.
    pub fn find<'a>(&'a self, path: &'a str, host: Option<&str>, method: &str) -> RouteMatch<'a> {
        let mut allowed: Vec<String> = Vec::new();
        for (route, rest) in self.candidates(path) {
            if !route.host_matches(host) {
                continue;
            }
            if route.method_matches(method) {
                return RouteMatch::Found { route, rest };
            }
            for m in route.allowed_methods() {
                if !allowed.iter().any(|a| a == m) {
                    allowed.push(m.to_string());
                }
            }
        }
        if allowed.is_empty() {
            RouteMatch::NotFound
        } else {
            RouteMatch::MethodNotAllowed(allowed)
        }
    }

    /// The routes whose path matches, in precedence order, with the rest of the path.
    fn candidates<'a>(
        &'a self,
        path: &'a str,
    ) -> impl Iterator<Item = (&'a Arc<Route>, Option<&'a str>)> + 'a {
        let exact = self.exact.get(path).map(|v| v.as_slice()).unwrap_or(&[]);
        exact
            .iter()
            .map(|e| (e, None))
            .chain(
                self.prefixes
                    .iter()
                    .filter(|e| path.starts_with(e.pattern.as_str()))
                    .map(|e| (e, Some(&path[e.pattern.len()..]))),
            )
            .map(|(e, rest)| (&self.routes[e.route], rest))
    }

    /// The route that answers a CORS preflight asking for `method` on this path and host: the
    /// one the actual request would reach, else (no route takes that method) the first that
    /// matches path and host, so a preflight for a method it does not serve is refused by its
    /// CORS policy. `None` (or a route without CORS): not a preflight for the gateway.
    pub fn preflight_route<'a>(
        &'a self,
        path: &'a str,
        host: Option<&str>,
        method: &str,
    ) -> Option<&'a Arc<Route>> {
        let mut first = None;
        for (route, _) in self.candidates(path) {
            if !route.host_matches(host) {
                continue;
            }
            if route.method_matches(method) {
                return Some(route);
            }
            first = first.or(Some(route));
        }
        first
    }
}

#[cfg(test)]
impl RouteTable {
    /// Unit tests: the table of a file with one listener and `routes` (the YAML list items
    /// under `routes:`), built like the gateway builds it (default resolver, a fresh
    /// credentials registry). Panics when the file is refused.
    pub(crate) fn from_yaml_for_tests(routes: &str) -> RouteTable {
        let text = format!("listeners: [{{address: '127.0.0.1:1'}}]\nroutes:\n{routes}");
        let c = Config::from_yaml_str(std::path::Path::new("t.yaml"), &text).unwrap();
        RouteTable::build(&c, &Shared::new()).unwrap()
    }

    /// Unit tests: the route called `name`.
    pub(crate) fn route_for_tests(&self, name: &str) -> Arc<Route> {
        let found = self.routes.iter().find(|r| &*r.name == name);
        found.cloned().expect("no such route")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(yaml: &str) -> RouteTable {
        RouteTable::from_yaml_for_tests(yaml)
    }

    fn name(t: &RouteTable, path: &str, host: Option<&str>, m: &str) -> String {
        match t.find(path, host, m) {
            RouteMatch::Found { route, rest } => format!("{}:{}", route.name, rest.unwrap_or("=")),
            RouteMatch::MethodNotAllowed(a) => format!("405:{}", a.join(",")),
            RouteMatch::NotFound => "404".into(),
        }
    }

    #[test]
    fn precedence() {
        let t = table(
            "  - {name: wild, uri: '/api/*', function_uri: 'http://127.0.0.1:1/a'}\n\
             \x20 - {name: v2, uri: '/api/v2/*', function_uri: 'http://127.0.0.1:1/b'}\n\
             \x20 - {name: exact, uri: '/api/v2/x', function_uri: 'http://127.0.0.1:1/c'}\n\
             \x20 - {name: hosted, uri: '/api/*', hosts: ['*.example.com'], function_uri: 'http://127.0.0.1:1/d'}\n\
             \x20 - {name: post, uris: ['/p'], methods: [post], function_uri: 'http://127.0.0.1:1/e'}\n",
        );
        assert_eq!(name(&t, "/api/v2/x", None, "GET"), "exact:=");
        assert_eq!(name(&t, "/api/v2/y/z", None, "GET"), "v2:y/z");
        assert_eq!(name(&t, "/api/q", None, "GET"), "wild:q");
        assert_eq!(name(&t, "/api/q", Some("a.example.com"), "GET"), "hosted:q");
        assert_eq!(name(&t, "/api/q", Some("example.com"), "GET"), "wild:q");
        assert_eq!(name(&t, "/api", None, "GET"), "404");
        assert_eq!(name(&t, "/p", None, "POST"), "post:=");
        assert_eq!(name(&t, "/p", None, "GET"), "405:POST");
        assert_eq!(name(&t, "/nope", None, "GET"), "404");
        // TRACE only where a route lists it.
        assert_eq!(
            name(&t, "/api/q", None, "TRACE"),
            "405:GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS"
        );
    }

    #[test]
    fn hosts_and_patterns_are_compared_normalised() {
        let t = table(
            "  - {name: hosted, uri: '/api/*', hosts: ['*.Example.com', 'Exact.TEST.'], function_uri: 'http://127.0.0.1:1/d'}\n\
             \x20 - {name: odd, uri: '/%7euser/./x', function_uri: 'http://127.0.0.1:1/e'}\n\
             \x20 - {name: tracer, uri: '/t', methods: [TRACE], function_uri: 'http://127.0.0.1:1/f'}\n",
        );
        assert_eq!(name(&t, "/api/q", Some("a.example.com"), "GET"), "hosted:q");
        assert_eq!(name(&t, "/api/q", Some("exact.test"), "GET"), "hosted:q");
        assert_eq!(name(&t, "/~user/x", None, "GET"), "odd:=");
        assert_eq!(name(&t, "/t", None, "TRACE"), "tracer:=");
    }

    #[test]
    fn preflights_go_to_the_route_of_the_requested_method() {
        let t = table(
            "  - {name: get, uri: '/o/*', methods: [GET], function_uri: 'http://127.0.0.1:1/a', cors_configuration: {allow_origins: ['*']}}\n\
             \x20 - {name: post, uri: '/o/*', methods: [POST], function_uri: 'http://127.0.0.1:1/b'}\n\
             \x20 - {name: hosted, uri: '/h', hosts: [a.test], function_uri: 'http://127.0.0.1:1/c'}\n",
        );
        let name = |path, host, m| t.preflight_route(path, host, m).map(|r| r.name.to_string());
        assert_eq!(name("/o/x", None, "GET").as_deref(), Some("get"));
        assert_eq!(name("/o/x", None, "POST").as_deref(), Some("post"));
        // No route takes the method: the first on the path, whose policy refuses it.
        assert_eq!(name("/o/x", None, "DELETE").as_deref(), Some("get"));
        assert!(
            t.route_for_tests("get").cors.is_some() && t.route_for_tests("post").cors.is_none()
        );
        assert_eq!(name("/h", Some("b.test"), "GET"), None);
        assert_eq!(name("/nope", None, "GET"), None);
    }

    #[test]
    fn wildcard_hosts_need_a_whole_label() {
        let t = table(
            "  - {name: wild, uri: /w, hosts: ['*.example.com'], function_uri: 'http://127.0.0.1:1/a'}\n\
             \x20 - {name: exact, uri: /e, hosts: [exact.test], function_uri: 'http://127.0.0.1:1/b'}\n\
             \x20 - {name: any, uri: /a, function_uri: 'http://127.0.0.1:1/c'}\n",
        );
        let wild = |host: Option<&str>| name(&t, "/w", host, "GET");
        assert_eq!(wild(Some("a.example.com")), "wild:=");
        assert_eq!(wild(Some("a.b.example.com")), "wild:=");
        assert_eq!(wild(Some("A.EXAMPLE.com")), "wild:=");
        // The suffix alone, a label glued to it, an empty label, another suffix: no match.
        for host in [
            "example.com",
            "abcexample.com",
            ".example.com",
            "a.example.org",
        ] {
            assert_eq!(wild(Some(host)), "404", "{host}");
        }
        // A route with hosts needs a host; one without takes any, and none.
        assert_eq!(wild(None), "404");
        assert_eq!(name(&t, "/e", Some("exact.test"), "GET"), "exact:=");
        assert_eq!(name(&t, "/e", Some("a.exact.test"), "GET"), "404");
        assert_eq!(name(&t, "/e", None, "GET"), "404");
        assert_eq!(name(&t, "/a", None, "GET"), "any:=");
        assert_eq!(name(&t, "/a", Some("whatever.test"), "GET"), "any:=");
    }
}
