//! Checks on the parsed gateway sections that serde cannot express, each failing with the
//! field path and the reason. Also normalises a few values (upper-case methods, lower-case hosts).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;

use super::lint::{self, Lint};
use super::{ConfigError, GatewayConf, RouteConf};

/// The smallest body budget: one 64 KiB body (the size forwarded from the retry buffer).
const MIN_BUFFERED_BODY_BYTES: u64 = 64 * 1024;

/// Checks `conf`; returns the warnings (field path, reason) of a file that is accepted.
pub(super) fn validate(file: &Path, conf: &mut GatewayConf) -> Result<Vec<Lint>, ConfigError> {
    let mut warnings = Vec::new();
    let err = |field: String, reason: String| ConfigError {
        file: file.to_path_buf(),
        field,
        reason,
    };

    if conf.listeners.is_empty() {
        return Err(err(
            "listeners".into(),
            "at least one listener is required".into(),
        ));
    }
    let mut seen = HashSet::new();
    for (i, l) in conf.listeners.iter().enumerate() {
        let at = format!("listeners[{i}]");
        if l.address.parse::<SocketAddr>().is_err() {
            return Err(err(
                format!("{at}.address"),
                format!("`{}` is not IP:PORT", l.address),
            ));
        }
        if !seen.insert(l.address.clone()) {
            return Err(err(
                format!("{at}.address"),
                "duplicate listener address".into(),
            ));
        }
        if !(1024..=1 << 20).contains(&l.read_buffer) {
            return Err(err(
                format!("{at}.read_buffer"),
                "must be 1024 to 1048576 bytes".into(),
            ));
        }
        if let Some(tls) = &l.tls {
            for (name, p) in [("cert", &tls.cert), ("key", &tls.key)] {
                if let Err(e) = std::fs::metadata(resolve(file, p)) {
                    return Err(err(
                        format!("{at}.tls.{name}"),
                        format!("cannot read `{p}`: {e}"),
                    ));
                }
            }
            if let Some(ca) = &tls.client_ca {
                crate::mtls::load_client_ca(&resolve(file, ca))
                    .map_err(|reason| err(format!("{at}.tls.client_ca"), reason))?;
            } else if tls.client_auth.is_some() {
                return Err(err(
                    format!("{at}.tls.client_auth"),
                    "needs `client_ca` (the CA certificates that sign client certificates)".into(),
                ));
            }
        }
    }
    if let Some(m) = &conf.metrics {
        if m.address.parse::<SocketAddr>().is_err() {
            return Err(err(
                "metrics.address".into(),
                format!("`{}` is not IP:PORT", m.address),
            ));
        }
        if seen.contains(&m.address) {
            return Err(err(
                "metrics.address".into(),
                "already used by a listener".into(),
            ));
        }
    }
    if !conf.health.path.is_empty() && !conf.health.path.starts_with('/') {
        return Err(err(
            "health.path".into(),
            "must start with `/` (or be empty to turn it off)".into(),
        ));
    }
    for (name, v) in [
        ("client.body_timeout", conf.client.body_timeout),
        ("client.send_timeout", conf.client.send_timeout),
    ] {
        lint::check_millis(v).map_err(|reason| err(name.into(), reason))?;
    }
    if conf.limits.buffered_body_bytes < MIN_BUFFERED_BODY_BYTES {
        return Err(err(
            "limits.buffered_body_bytes".into(),
            format!("must be at least {MIN_BUFFERED_BODY_BYTES} bytes"),
        ));
    }
    if !(1..=1 << 20).contains(&conf.access_log.queue_size) {
        return Err(err(
            "access_log.queue_size".into(),
            "must be 1 to 1048576 lines".into(),
        ));
    }
    if conf.dns.refresh_seconds == 0 {
        return Err(err(
            "dns.refresh_seconds".into(),
            "must be at least 1".into(),
        ));
    }
    let pinned = std::mem::take(&mut conf.dns.hosts);
    for (name, ips) in pinned {
        let at = format!("dns.hosts.{name}");
        let low = name.to_ascii_lowercase();
        if low.is_empty() || low.contains(['/', ' ', '@', ':', '[', ']']) {
            return Err(err(at, format!("`{name}` is not a host name")));
        }
        if low.parse::<std::net::IpAddr>().is_ok() {
            return Err(err(at, "an IP address needs no pinning".into()));
        }
        if ips.is_empty() {
            return Err(err(at, "list at least one IP address".into()));
        }
        if conf.dns.hosts.insert(low, ips).is_some() {
            return Err(err(at, "listed twice (names are case-insensitive)".into()));
        }
    }

    let mut names = HashSet::new();
    for (i, r) in conf.routes.iter_mut().enumerate() {
        let at = format!("routes[{i}]");
        validate_route(r, &at, &mut warnings).map_err(|(f, reason)| err(f, reason))?;
        if !names.insert(r.name.clone()) {
            return Err(err(
                format!("{at}.name"),
                format!("duplicate route name `{}`", r.name),
            ));
        }
    }
    let matchers: Vec<lint::Matcher> = conf
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| lint::Matcher {
            name: &r.name,
            patterns: r
                .uri
                .iter()
                .map(|u| (format!("routes[{i}].uri"), u))
                .chain(
                    r.uris
                        .iter()
                        .enumerate()
                        .map(|(j, u)| (format!("routes[{i}].uris[{j}]"), u)),
                )
                .map(|(f, u)| (f, crate::routing::normalize_pattern(u)))
                .collect(),
            hosts: &r.hosts,
            methods: &r.methods,
        })
        .collect();
    let (dead, partly) = lint::shadowed(&matchers);
    if let Some((field, reason)) = dead {
        return Err(err(field, reason));
    }
    warnings.extend(partly);
    Ok(warnings)
}

/// The top-level `api_keys` compiled (`crate::api_keys`), and no route requiring a key
/// without any key configured.
pub(super) fn api_keys(
    file: &Path,
    conf: &GatewayConf,
) -> Result<crate::api_keys::ApiKeyTable, ConfigError> {
    let err = |field: String, reason: String| ConfigError {
        file: file.to_path_buf(),
        field,
        reason,
    };
    let resolve = |raw: &str| super::secret::with_config_file(file, || super::secret::resolve(raw));
    let table = crate::api_keys::ApiKeyTable::build(&conf.api_keys, &resolve)
        .map_err(|(f, reason)| err(format!("api_keys{f}"), reason))?;
    if table.is_empty() {
        if let Some(i) = conf.routes.iter().position(|r| r.api_key_required) {
            return Err(err(
                format!("routes[{i}].api_key_required"),
                "no client API keys are configured (top-level `api_keys`)".into(),
            ));
        }
    }
    Ok(table)
}

/// Resolves a path from the config file relative to the file's directory.
pub fn resolve(file: &Path, p: &str) -> std::path::PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        file.parent().unwrap_or(Path::new(".")).join(p)
    }
}

fn validate_route(
    r: &mut RouteConf,
    at: &str,
    warnings: &mut Vec<Lint>,
) -> Result<(), (String, String)> {
    let e = |field: &str, reason: String| Err((format!("{at}.{field}"), reason));
    // First: a pasted plugin block also lacks the route's target, and the target error
    // would not say why.
    if let Some(p) = &r.plugins {
        return e("plugins", lint::plugins_block(p));
    }
    if r.name.trim().is_empty() || r.name.len() > 64 {
        return e("name", "must be 1 to 64 characters".into());
    }
    if !r
        .name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return e(
            "name",
            "may only contain letters, digits, `-`, `_` and `.`".into(),
        );
    }
    if r.uri.is_none() && r.uris.is_empty() {
        return e("uri", "a route needs `uri` or `uris`".into());
    }
    if let Some(u) = &r.uri {
        check_uri_pattern(u).or_else(|reason| e("uri", reason))?;
    }
    for (j, u) in r.uris.iter().enumerate() {
        check_uri_pattern(u).or_else(|reason| e(&format!("uris[{j}]"), reason))?;
    }
    for (j, m) in r.methods.iter_mut().enumerate() {
        let up = m.to_ascii_uppercase();
        if http::Method::from_bytes(up.as_bytes()).is_err() || up.is_empty() {
            return e(
                &format!("methods[{j}]"),
                format!("`{m}` is not an HTTP method"),
            );
        }
        match lint::check_method(&up) {
            Ok(None) => {}
            Ok(Some(w)) => warnings.push((format!("{at}.methods[{j}]"), w)),
            Err(reason) => return e(&format!("methods[{j}]"), reason),
        }
        *m = up;
    }
    for (j, h) in r.hosts.iter_mut().enumerate() {
        let low = h.to_ascii_lowercase();
        let bare = low.strip_prefix("*.").unwrap_or(&low);
        if bare.is_empty()
            || bare.contains('*')
            || !bare
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return e(
                &format!("hosts[{j}]"),
                format!("`{h}` is not a host name or `*.domain`"),
            );
        }
        *h = low;
    }
    if let Some(c) = &r.cors_configuration {
        crate::cors::CorsPolicy::build(c)
            .map_err(|(f, reason)| (format!("{at}.cors_configuration.{f}"), reason))?;
    }
    for (field, ms) in lint::route_millis(r) {
        lint::check_millis(ms).or_else(|reason| e(field, reason))?;
    }
    if r.keepalive_pool == 0 {
        return e("keepalive_pool", "must be at least 1".into());
    }
    if !(1..=10).contains(&r.retries.attempts) {
        return e("retries.attempts", "must be 1 to 10 (1: no retries)".into());
    }
    if r.retries.base_delay == 0 || r.retries.base_delay > r.retries.max_delay {
        return e(
            "retries.base_delay",
            "must be at least 1 ms and at most `retries.max_delay`".into(),
        );
    }
    if r.retries.max_delay > 60_000 {
        return e("retries.max_delay", "must be at most 60000 ms".into());
    }
    if let Some(m) = r.max_body_size {
        if m > 1 << 30 {
            return e(
                "max_body_size",
                "must be at most 1 GiB (bodies that are read are held in memory)".into(),
            );
        }
    }
    match (&r.function_uri, &r.function_name) {
        (Some(_), Some(_)) => {
            return e(
                "function_name",
                "a route has either `function_uri` or `function_name`, not both".into(),
            )
        }
        (None, None) => {
            return e(
                "function_uri",
                "a route needs a target: `function_uri` (API Gateway / Function URL) or `function_name` (Invoke API)".into(),
            )
        }
        (Some(uri), None) => {
            if let Some(field) = invoke_only_fields(r).first() {
                return e(field, "only applies to `function_name` routes".into());
            }
            if let Err(reason) = crate::upstream::UpstreamUrl::parse(uri) {
                return e("function_uri", reason);
            }
        }
        (None, Some(_)) => {
            if r.client_credentials != crate::config::ClientCredentialsPolicy::Strip {
                return e(
                    "client_credentials",
                    "only applies to `function_uri` routes (an Invoke request carries no client header but the trace id)".into(),
                );
            }
            if r.authorization.is_some() {
                return e(
                    "authorization",
                    "only applies to `function_uri` routes (use aws_key / aws_secret)".into(),
                );
            }
            return crate::function_name::validate_function_name_route(r)
                .map_err(|(field, reason)| (format!("{at}.{field}"), reason));
        }
    }
    if let Some(auth) = &r.authorization {
        if let Some(k) = &auth.apikey {
            if k.expose().is_empty() || !is_header_value(k.expose()) {
                return e(
                    "authorization.apikey",
                    "must be a non-empty printable string".into(),
                );
            }
        }
        if let Some(iam) = &auth.iam {
            if iam.aws_region.is_empty()
                || !iam
                    .aws_region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return e(
                    "authorization.iam.aws_region",
                    format!("`{}` is not an AWS region name", iam.aws_region),
                );
            }
            if iam.service.is_empty()
                || !iam
                    .service
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return e(
                    "authorization.iam.service",
                    format!(
                        "`{}` is not a SigV4 service name (execute-api, lambda)",
                        iam.service
                    ),
                );
            }
        }
    }
    Ok(())
}

/// Kong-only fields set on a route (they make no sense on a `function_uri` route).
fn invoke_only_fields(r: &RouteConf) -> Vec<&'static str> {
    let mut v = Vec::new();
    let mut flag = |set: bool, name: &'static str| {
        if set {
            v.push(name)
        }
    };
    flag(r.qualifier.is_some(), "qualifier");
    flag(r.aws_region.is_some(), "aws_region");
    flag(r.aws_key.is_some(), "aws_key");
    flag(r.aws_secret.is_some(), "aws_secret");
    flag(r.aws_session_token.is_some(), "aws_session_token");
    flag(r.host.is_some(), "host");
    flag(r.port.is_some(), "port");
    flag(r.disable_https, "disable_https");
    flag(r.invocation_type != Default::default(), "invocation_type");
    flag(r.log_type != Default::default(), "log_type");
    flag(r.unhandled_status.is_some(), "unhandled_status");
    flag(r.handled_status.is_some(), "handled_status");
    flag(r.forward_request_method, "forward_request_method");
    flag(r.forward_request_uri, "forward_request_uri");
    flag(r.forward_request_headers, "forward_request_headers");
    flag(r.forward_request_body, "forward_request_body");
    flag(r.is_proxy_integration, "is_proxy_integration");
    flag(r.awsgateway_compatible, "awsgateway_compatible");
    flag(r.awsgateway_context.is_some(), "awsgateway_context");
    flag(r.base64_encode_body.is_some(), "base64_encode_body");
    flag(r.text_content_types.is_some(), "text_content_types");
    flag(r.proxy_url.is_some(), "proxy_url");
    flag(r.proxy_scheme.is_some(), "proxy_scheme");
    flag(r.request_payload.is_some(), "request_payload");
    flag(
        r.preserve_lambda_api_error_code,
        "preserve_lambda_api_error_code",
    );
    flag(r.request_id_header.is_some(), "request_id_header");
    flag(r.response_streaming, "response_streaming");
    flag(r.max_payload_size.is_some(), "max_payload_size");
    v
}

pub fn is_header_value(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

fn check_uri_pattern(u: &str) -> Result<(), String> {
    if !u.starts_with('/') {
        return Err(format!("`{u}` must start with `/`"));
    }
    let star = u.find('*');
    if let Some(pos) = star {
        if pos != u.len() - 1 || !u.ends_with("/*") {
            return Err(format!(
                "`{u}`: `*` is only allowed as a final `/*` (prefix wildcard)"
            ));
        }
    }
    if u.contains('?') || u.contains('#') {
        return Err(format!("`{u}` must be a path without query or fragment"));
    }
    Ok(())
}
