//! The route table: which route a request belongs to.
//!
//! Precedence (first rule that separates two candidates wins):
//! 1. an exact path (`/orders`) beats a wildcard (`/orders/*`);
//! 2. a longer wildcard prefix beats a shorter one (`/api/v2/*` before `/api/*`);
//! 3. a route listing `hosts` beats one that matches any host;
//! 4. the route written first in the file wins.
//!
//! A candidate must also match the host (if it lists hosts) and the method (if it lists
//! methods). When some route matches path and host but none matches the method, the answer
//! is 405 with `Allow`; otherwise 404.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{Config, ConfigError, RouteConf};
use crate::credentials::CredentialsRegistry;
use crate::dns::Resolver;
use crate::target::{validate_named, BuildContext, FunctionUriTarget, Target};

/// One compiled route.
#[derive(Debug)]
pub struct Route {
    pub name: Arc<str>,
    pub hosts: Vec<String>,
    pub methods: Vec<String>,
    pub target: Target,
}

impl Route {
    /// The `function_uri` target, if this is such a route.
    pub fn function_uri(&self) -> Option<&FunctionUriTarget> {
        match &self.target {
            Target::FunctionUri(t) => Some(t),
            Target::FunctionName(_) => None,
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
                    && host.ends_with(suffix)
                    && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
            }
            None => h.eq_ignore_ascii_case(host),
        })
    }

    fn method_matches(&self, method: &str) -> bool {
        self.methods.is_empty() || self.methods.iter().any(|m| m == method)
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
    routes: Vec<Arc<Route>>,
    exact: HashMap<String, Vec<Entry>>,
    /// Sorted by precedence.
    prefixes: Vec<Entry>,
}

impl RouteTable {
    /// Compiles every route of `config`, resolving upstream hosts through `resolver` and
    /// taking credential sources from `credentials`.
    pub fn build(
        config: &Config,
        resolver: &Resolver,
        credentials: &CredentialsRegistry,
    ) -> Result<RouteTable, ConfigError> {
        validate_named(&config.file, &config.gateway.credentials)?;
        let cx = BuildContext {
            file: &config.file,
            resolver,
            credentials,
            named_credentials: &config.gateway.credentials,
            pinned_hosts: &config.gateway.dns.hosts,
        };
        let mut t = Self::from_routes(&cx, &config.gateway.routes)?;
        let health = &config.gateway.health.path;
        t.health_path = (!health.is_empty()).then(|| health.clone());
        t.access_log = config.gateway.access_log.clone();
        t.client = config.gateway.client;
        t.limits = config.gateway.limits;
        Ok(t)
    }

    pub fn from_routes(cx: &BuildContext, confs: &[RouteConf]) -> Result<RouteTable, ConfigError> {
        let mut t = RouteTable::default();
        for (i, rc) in confs.iter().enumerate() {
            let target = Target::build(cx, i, rc)?;
            t.routes.push(Arc::new(Route {
                name: rc.name.as_str().into(),
                hosts: rc.hosts.clone(),
                methods: rc.methods.clone(),
                target,
            }));
            for u in rc.uri.iter().chain(rc.uris.iter()) {
                match u.strip_suffix('*') {
                    Some(prefix) => t.prefixes.push(Entry {
                        pattern: prefix.to_string(),
                        route: i,
                    }),
                    None => t.exact.entry(u.clone()).or_default().push(Entry {
                        pattern: u.clone(),
                        route: i,
                    }),
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

    /// Finds the route for a raw request path (no query), host (lower case, no port) and method.
    pub fn find<'a>(&'a self, path: &'a str, host: Option<&str>, method: &str) -> RouteMatch<'a> {
        let mut allowed: Vec<String> = Vec::new();
        let exact = self.exact.get(path).map(|v| v.as_slice()).unwrap_or(&[]);
        let candidates = exact.iter().map(|e| (e, None)).chain(
            self.prefixes
                .iter()
                .filter(|e| path.starts_with(e.pattern.as_str()))
                .map(|e| (e, Some(&path[e.pattern.len()..]))),
        );
        for (e, rest) in candidates {
            let route = &self.routes[e.route];
            if !route.host_matches(host) {
                continue;
            }
            if route.method_matches(method) {
                return RouteMatch::Found { route, rest };
            }
            for m in &route.methods {
                if !allowed.contains(m) {
                    allowed.push(m.clone());
                }
            }
        }
        if allowed.is_empty() {
            RouteMatch::NotFound
        } else {
            RouteMatch::MethodNotAllowed(allowed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::path::Path;

    fn table(yaml: &str) -> RouteTable {
        let text = format!("listeners: [{{address: '127.0.0.1:1'}}]\nroutes:\n{yaml}");
        let c = Config::from_yaml_str(Path::new("t.yaml"), &text).unwrap();
        RouteTable::build(&c, &Resolver::default(), &CredentialsRegistry::new()).unwrap()
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
    }
}
