//! Mistakes that parse but cannot be what the operator meant: a method name with a typo,
//! a millisecond field written in seconds, an APISIX/Kong `plugins:` block pasted into a route,
//! a route that can never match. Each either refuses the file (`Err((field, reason))`) or adds
//! a warning (field path and text) that the loader logs.
//!
//! Refuse when the file cannot work as written (every request would time out, a route's traffic
//! goes elsewhere, a typo of a standard method); warn when it can work but is unusual (an
//! extension method, one of several paths of a route shadowed).

use super::{KeepaliveConf, RouteConf};

/// Methods of the IANA HTTP Method Registry (RFC 9110, PATCH of RFC 5789, WebDAV and the
/// other registered extensions, QUERY).
const REGISTERED_METHODS: &[&str] = &[
    "ACL",
    "BASELINE-CONTROL",
    "BIND",
    "CHECKIN",
    "CHECKOUT",
    "CONNECT",
    "COPY",
    "DELETE",
    "GET",
    "HEAD",
    "LABEL",
    "LINK",
    "LOCK",
    "MERGE",
    "MKACTIVITY",
    "MKCALENDAR",
    "MKCOL",
    "MKREDIRECTREF",
    "MKWORKSPACE",
    "MOVE",
    "OPTIONS",
    "ORDERPATCH",
    "PATCH",
    "POST",
    "PROPFIND",
    "PROPPATCH",
    "PUT",
    "QUERY",
    "REBIND",
    "REPORT",
    "SEARCH",
    "TRACE",
    "UNBIND",
    "UNCHECKOUT",
    "UNLINK",
    "UNLOCK",
    "UPDATE",
    "UPDATEREDIRECTREF",
    "VERSION-CONTROL",
];

/// Methods a typo is most likely of, tried first for the suggestion.
const COMMON_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The smallest millisecond value accepted for timeouts (APISIX's own minimum for `timeout`).
pub const MIN_TIMEOUT_MS: u64 = 100;

pub type Lint = (String, String);

/// A method of `methods` (already upper-cased): `Ok(None)` registered, `Ok(Some(warning))` an
/// extension method, `Err(reason)` a likely typo of a registered method.
pub fn check_method(m: &str) -> Result<Option<String>, String> {
    if REGISTERED_METHODS.contains(&m) {
        return Ok(None);
    }
    let near = COMMON_METHODS
        .iter()
        .chain(REGISTERED_METHODS)
        .find(|known| edit_distance(m, known) <= 1);
    if let Some(known) = near {
        return Err(format!(
            "`{m}` is not an HTTP method: did you mean {known}?"
        ));
    }
    Ok(Some(format!(
        "`{m}` is not a registered HTTP method (RFC 9110, PATCH, WebDAV...); the route matches it literally"
    )))
}

/// Optimal string alignment distance (Levenshtein plus adjacent transposition).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// A millisecond setting below [`MIN_TIMEOUT_MS`]: almost always seconds written as
/// milliseconds (`timeout: 3`), which would fail every request.
pub fn check_millis(value: u64) -> Result<(), String> {
    if value >= MIN_TIMEOUT_MS {
        return Ok(());
    }
    let hint = if value == 0 {
        String::new()
    } else {
        format!(": did you mean {} ({value} s)?", value * 1000)
    };
    Err(format!(
        "{value} ms is too short (the unit is milliseconds; at least {MIN_TIMEOUT_MS}){hint}"
    ))
}

/// The millisecond fields of a route, with their field names.
pub fn route_millis(r: &RouteConf) -> Vec<(&'static str, u64)> {
    let mut v = vec![("connect_timeout", r.connect_timeout)];
    if let Some(t) = r.timeout {
        v.push(("timeout", t));
    }
    if let Some(t) = r.keepalive_timeout {
        v.push(("keepalive_timeout", t));
    }
    // Kong's `keepalive` is an idle time in ms; 0 turns pooling off.
    if let KeepaliveConf::IdleMs(ms) = r.keepalive {
        if ms != 0 {
            v.push(("keepalive", ms));
        }
    }
    v
}

/// An APISIX (`plugins: {aws-lambda: {...}}`) or Kong (`plugins: [{name: aws-lambda, config:
/// {...}}]`) plugin block: always an error, saying how to flatten it.
pub fn plugins_block(v: &serde_yaml::Value) -> String {
    use serde_yaml::Value;
    let mut lambda_fields: Vec<String> = Vec::new();
    let mut others: Vec<String> = Vec::new();
    let fields_of = |cfg: &Value| -> Vec<String> {
        cfg.as_mapping()
            .map(|m| {
                m.keys()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    match v {
        Value::Mapping(m) => {
            for (k, cfg) in m {
                let name = k.as_str().unwrap_or("?").to_string();
                if name == "aws-lambda" {
                    lambda_fields = fields_of(cfg);
                } else {
                    others.push(name);
                }
            }
        }
        Value::Sequence(items) => {
            for item in items {
                let name = item
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string();
                if name == "aws-lambda" {
                    lambda_fields = item.get("config").map(fields_of).unwrap_or_default();
                } else {
                    others.push(name);
                }
            }
        }
        _ => {}
    }
    let mut reason = String::from(
        "plugin blocks are not nested here: a route carries the aws-lambda plugin's fields itself",
    );
    if lambda_fields.is_empty() {
        reason.push_str(
            " (move the fields of `plugins.aws-lambda` up one level, next to `name` and `uri`)",
        );
    } else {
        reason.push_str(&format!(
            ": move {} out of the `aws-lambda` block onto the route, next to `name` and `uri`, and delete `plugins`",
            lambda_fields
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !others.is_empty() {
        reason.push_str(&format!(
            "; other plugins ({}) have no equivalent here",
            others.join(", ")
        ));
    }
    reason.push_str(" (docs/kong-apisix-mapping.md)");
    reason
}

/// One route's view for shadowing checks: normalised path patterns, hosts, methods.
pub struct Matcher<'a> {
    pub name: &'a str,
    /// (field path, normalised pattern)
    pub patterns: Vec<(String, String)>,
    pub hosts: &'a [String],
    pub methods: &'a [String],
}

/// Whether every request `later` could take is taken first by `earlier` for one shared
/// pattern (same routing precedence class: both list hosts or neither does).
fn covers(earlier: &Matcher, later: &Matcher) -> bool {
    if earlier.hosts.is_empty() != later.hosts.is_empty() {
        // Host-listing routes are tried first: neither shadows the other as a whole.
        return false;
    }
    let hosts = later.hosts.iter().all(|h| earlier.hosts.contains(h));
    let methods = if earlier.methods.is_empty() {
        // A route without methods takes every method but TRACE.
        later.methods.iter().all(|m| m != "TRACE")
    } else {
        !later.methods.is_empty() && later.methods.iter().all(|m| earlier.methods.contains(m))
    };
    hosts && methods
}

/// Routes that can never match (refused) and paths of a route that never match (warned).
pub fn shadowed(routes: &[Matcher]) -> (Option<Lint>, Vec<Lint>) {
    let mut warnings = Vec::new();
    for (j, later) in routes.iter().enumerate() {
        let mut dead = Vec::new();
        for (field, pattern) in &later.patterns {
            let by = routes[..j]
                .iter()
                .find(|e| e.patterns.iter().any(|(_, p)| p == pattern) && covers(e, later));
            if let Some(earlier) = by {
                dead.push((field, pattern, earlier.name));
            }
        }
        if dead.is_empty() {
            continue;
        }
        if dead.len() == later.patterns.len() {
            let (field, pattern, by) = dead[0];
            return (
                Some((
                    field.clone(),
                    format!(
                        "route `{}` can never match: route `{by}` comes first with the same path `{pattern}`, {} and methods that include all of this route's; change its uri, hosts or methods, or remove it",
                        later.name,
                        if later.hosts.is_empty() { "no hosts".to_string() } else { "hosts that include all of this route's".to_string() },
                    ),
                )),
                warnings,
            );
        }
        for (field, pattern, by) in dead {
            warnings.push((
                field.clone(),
                format!(
                    "`{pattern}` never reaches route `{}`: route `{by}` comes first with the same path, hosts and methods",
                    later.name
                ),
            ));
        }
    }
    (None, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods() {
        assert_eq!(check_method("GET"), Ok(None));
        assert_eq!(check_method("PROPFIND"), Ok(None));
        assert_eq!(
            check_method("GETT"),
            Err("`GETT` is not an HTTP method: did you mean GET?".into())
        );
        assert!(check_method("PSOT").unwrap_err().contains("POST"));
        assert!(check_method("DELTE").unwrap_err().contains("DELETE"));
        assert!(check_method("OPTION").unwrap_err().contains("OPTIONS"));
        assert!(check_method("PURGE")
            .unwrap()
            .unwrap()
            .contains("not a registered"));
    }

    #[test]
    fn millis() {
        assert!(check_millis(100).is_ok());
        assert_eq!(
            check_millis(3).unwrap_err(),
            "3 ms is too short (the unit is milliseconds; at least 100): did you mean 3000 (3 s)?"
        );
        assert!(!check_millis(0).unwrap_err().contains("did you mean"));
    }

    #[test]
    fn plugin_blocks() {
        let apisix: serde_yaml::Value = serde_yaml::from_str(
            "{aws-lambda: {function_uri: 'https://x', timeout: 3000}, limit-count: {count: 1}}",
        )
        .unwrap();
        let r = plugins_block(&apisix);
        assert!(
            r.contains("move `function_uri`, `timeout` out of the `aws-lambda` block"),
            "{r}"
        );
        assert!(r.contains("other plugins (limit-count)"), "{r}");
        let kong: serde_yaml::Value =
            serde_yaml::from_str("[{name: aws-lambda, config: {function_name: f}}]").unwrap();
        assert!(plugins_block(&kong).contains("move `function_name`"));
    }

    fn m<'a>(name: &'a str, uri: &str, hosts: &'a [String], methods: &'a [String]) -> Matcher<'a> {
        Matcher {
            name,
            patterns: vec![("uri".into(), uri.into())],
            hosts,
            methods,
        }
    }

    #[test]
    fn shadowing() {
        let none: Vec<String> = vec![];
        let get = vec!["GET".to_string()];
        let get_post = vec!["GET".to_string(), "POST".to_string()];
        let host = vec!["a.example".to_string()];
        // Same everything: refused.
        assert!(
            shadowed(&[m("a", "/x", &none, &none), m("b", "/x", &none, &none)])
                .0
                .is_some()
        );
        // Fewer methods behind an any-method route: refused.
        assert!(
            shadowed(&[m("a", "/x", &none, &none), m("b", "/x", &none, &get)])
                .0
                .is_some()
        );
        // More methods: reachable.
        assert!(
            shadowed(&[m("a", "/x", &none, &get), m("b", "/x", &none, &get_post)])
                .0
                .is_none()
        );
        // A host-listing route after an any-host one is tried first: reachable.
        assert!(
            shadowed(&[m("a", "/x", &none, &none), m("b", "/x", &host, &none)])
                .0
                .is_none()
        );
        // Other paths: reachable.
        assert!(
            shadowed(&[m("a", "/x", &none, &none), m("b", "/y", &none, &none)])
                .0
                .is_none()
        );
        // One of two paths shadowed: a warning.
        let mut b = m("b", "/x", &none, &none);
        b.patterns.push(("uris[1]".into(), "/z".into()));
        let (err, warn) = shadowed(&[m("a", "/x", &none, &none), b]);
        assert!(err.is_none());
        assert_eq!(warn.len(), 1);
        assert_eq!(warn[0].0, "uri");
    }
}
