//! Field-level checks of a `function_name` route, run when the config is validated (before the
//! route table is built): each error names the field.

use http::HeaderName;

use crate::config::{InvocationType, RequestPayload, RouteConf};

use super::function_ref::{check_qualifier, env_region, is_region, parse_function_name};

/// Field-level checks of a `function_name` route (the target is built later); errors are
/// (field, reason).
pub fn validate_function_name_route(r: &RouteConf) -> Result<(), (String, String)> {
    fn e<T>(field: &str, reason: String) -> Result<T, (String, String)> {
        Err((field.to_string(), reason))
    }
    let f = parse_function_name(r.function_name.as_deref().unwrap_or_default())
        .or_else(|reason| e("function_name", reason))?;
    if let Some(q) = &r.qualifier {
        check_qualifier(q).or_else(|reason| e("qualifier", reason))?;
        if f.qualifier.as_ref().is_some_and(|fq| fq != q) {
            return e(
                "qualifier",
                format!(
                    "conflicts with the qualifier in function_name (`{}`)",
                    f.qualifier.unwrap_or_default()
                ),
            );
        }
    }
    if let Some(region) = &r.aws_region {
        if !is_region(region) {
            return e(
                "aws_region",
                format!("`{region}` is not an AWS region name"),
            );
        }
    } else if f.region.is_none() && env_region().is_none() {
        return e(
            "aws_region",
            "no region: set aws_region, use a full ARN, or set AWS_REGION / AWS_DEFAULT_REGION"
                .into(),
        );
    }
    if let Some(h) = &r.host {
        if h.is_empty() || h.contains(['/', ' ', '@', ':']) && !h.starts_with('[') {
            return e(
                "host",
                format!("`{h}` is not a host name (put the port in `port`)"),
            );
        }
    }
    if r.port == Some(0) {
        return e("port", "must be 1 to 65535".into());
    }
    for (field, v) in [
        ("unhandled_status", r.unhandled_status),
        ("handled_status", r.handled_status),
    ] {
        if let Some(s) = v {
            if !(100..=599).contains(&s) {
                return e(field, format!("{s} is not an HTTP status (100-599)"));
            }
        }
    }
    if let Some(h) = &r.request_id_header {
        if !h.is_empty() && HeaderName::from_bytes(h.as_bytes()).is_err() {
            return e("request_id_header", format!("`{h}` is not a header name"));
        }
    }
    if let Some(p) = &r.proxy_url {
        parse_proxy_url(p).or_else(|reason| e("proxy_url", reason))?;
    }
    if let Some(scheme) = &r.proxy_scheme {
        let endpoint = if r.disable_https { "http" } else { "https" };
        if scheme != "http" && scheme != "https" {
            return e("proxy_scheme", format!("`{scheme}` is not http or https"));
        }
        if r.proxy_url.is_none() {
            return e("proxy_scheme", "only applies with `proxy_url`".into());
        }
        if scheme != endpoint {
            return e(
                "proxy_scheme",
                format!(
                    "`{scheme}` disagrees with the endpoint, which is {endpoint} ({}); the proxy always gets a CONNECT tunnel to it",
                    if r.disable_https { "disable_https: true" } else { "disable_https is false" }
                ),
            );
        }
    }
    if let Some(payload) = r.request_payload {
        let other = if r.awsgateway_compatible {
            Some("awsgateway_compatible")
        } else if r.forward_request_method
            || r.forward_request_uri
            || r.forward_request_headers
            || r.forward_request_body
        {
            Some("forward_request_*")
        } else {
            None
        };
        if let Some(other) = other {
            return e(
                "request_payload",
                format!(
                    "`{}` conflicts with {other}, which builds its own event",
                    match payload {
                        RequestPayload::Args => "args",
                        RequestPayload::Raw => "raw",
                    }
                ),
            );
        }
    }
    if r.response_streaming && r.invocation_type == InvocationType::Event {
        return e(
            "response_streaming",
            "InvokeWithResponseStream takes RequestResponse or DryRun, not Event".into(),
        );
    }
    if let Some(m) = r.max_payload_size {
        if m == 0 || m > 1 << 30 {
            return e("max_payload_size", "must be 1 byte to 1 GiB".into());
        }
    }
    if let Some(ctx) = &r.awsgateway_context {
        if let Some(a) = &ctx.account_id {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return e(
                    "awsgateway_context.account_id",
                    format!("`{a}` is not a 12-digit account id"),
                );
            }
        }
    }
    Ok(())
}

/// `http://host:port` of a CONNECT proxy.
pub fn parse_proxy_url(p: &str) -> Result<(String, u16), String> {
    let uri: http::Uri = p.parse().map_err(|e| format!("`{p}` is not a URL: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(
            "the proxy URL must use http:// (the tunnel to AWS is TLS inside CONNECT)".into(),
        );
    }
    let host = uri.host().filter(|h| !h.is_empty()).ok_or("no host")?;
    Ok((
        host.trim_matches(['[', ']']).to_string(),
        uri.port_u16().unwrap_or(80),
    ))
}
