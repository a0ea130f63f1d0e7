//! Preflights answered by the gateway: an `OPTIONS` with `Origin` and
//! `Access-Control-Request-Method` on a CORS route gets 204 from the gateway and never reaches
//! AWS (as API Gateway answers them even without an `OPTIONS` route).
//!
//! Allowed (origin matches, method listed): `Access-Control-Allow-Origin` (the origin, or `*`),
//! `-Allow-Methods`, `-Allow-Headers`, `-Max-Age` (each when configured) and
//! `-Allow-Credentials: true` (when set). Refused (origin or method): 204 without any of them,
//! so the browser blocks the actual request. Both carry
//! `Vary: Origin, Access-Control-Request-Method`. Requested headers are not checked: the
//! configured list is returned and the browser compares it with what it wants to send.

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
};
use http::HeaderValue;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::*;
use pingora::proxy::Session;

use super::CorsPolicy;

/// The method a preflight asks for, when `req` is a CORS preflight (`OPTIONS` with `Origin`
/// and `Access-Control-Request-Method`); any other `OPTIONS` goes to its route.
pub fn requested_method(req: &RequestHeader) -> Option<&str> {
    if req.method != http::Method::OPTIONS || !req.headers.contains_key(ORIGIN) {
        return None;
    }
    req.headers
        .get(ACCESS_CONTROL_REQUEST_METHOD)?
        .to_str()
        .ok()
}

/// The 204 for a preflight on a route with `policy`; `true` when it was allowed.
pub fn response(req: &RequestHeader, policy: &CorsPolicy) -> Result<(ResponseHeader, bool)> {
    let origin = req.headers.get(ORIGIN).and_then(|o| policy.allow_origin(o));
    let method_ok = requested_method(req).is_some_and(|m| policy.allows_method(m));
    let mut resp = ResponseHeader::build(204, Some(7))?;
    let allowed = match origin {
        Some(o) if method_ok => {
            resp.insert_header(ACCESS_CONTROL_ALLOW_ORIGIN, o)?;
            for (name, value) in [
                (ACCESS_CONTROL_ALLOW_METHODS, &policy.allow_methods),
                (ACCESS_CONTROL_ALLOW_HEADERS, &policy.allow_headers),
                (ACCESS_CONTROL_MAX_AGE, &policy.max_age),
            ] {
                if let Some(v) = value {
                    resp.insert_header(name, v.clone())?;
                }
            }
            if policy.credentials {
                resp.insert_header(
                    ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                )?;
            }
            true
        }
        _ => false,
    };
    resp.insert_header(
        http::header::VARY,
        HeaderValue::from_static("Origin, Access-Control-Request-Method"),
    )?;
    Ok((resp, allowed))
}

/// Writes the preflight answer of a route named `route` and counts it. The connection stays
/// open unless a request body is left unread.
pub async fn answer(session: &mut Session, route: &str, policy: &CorsPolicy) -> Result<bool> {
    let (resp, allowed) = response(session.req_header(), policy)?;
    crate::metrics::cors_preflight(route, allowed);
    if !(session.is_body_empty() || session.is_body_done()) {
        session.set_keepalive(None);
    }
    session.write_response_header(Box::new(resp), true).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CorsConf;

    fn req(origin: &str, method: &str) -> RequestHeader {
        let mut r = RequestHeader::build("OPTIONS", b"/x", None).unwrap();
        r.insert_header("origin", origin).unwrap();
        r.insert_header("access-control-request-method", method)
            .unwrap();
        r
    }

    #[test]
    fn allowed_and_refused() {
        let p = CorsPolicy::build(&CorsConf {
            allow_origins: vec!["https://*.example.org".into()],
            allow_methods: vec!["GET".into(), "PUT".into()],
            allow_headers: vec!["content-type".into()],
            max_age: Some(600),
            allow_credentials: true,
            ..Default::default()
        })
        .unwrap();
        let (r, ok) = response(&req("https://a.example.org", "PUT"), &p).unwrap();
        assert!(ok);
        let h = &r.headers;
        assert_eq!(h["access-control-allow-origin"], "https://a.example.org");
        assert_eq!(h["access-control-allow-methods"], "GET, PUT");
        assert_eq!(h["access-control-allow-headers"], "content-type");
        assert_eq!(h["access-control-max-age"], "600");
        assert_eq!(h["access-control-allow-credentials"], "true");
        for (o, m) in [
            ("https://example.org", "PUT"),
            ("https://a.example.org", "DELETE"),
        ] {
            let (r, ok) = response(&req(o, m), &p).unwrap();
            assert!(!ok, "{o} {m}");
            assert_eq!(r.status, 204);
            assert!(!r
                .headers
                .keys()
                .any(|k| k.as_str().starts_with("access-control-")));
            assert_eq!(r.headers["vary"], "Origin, Access-Control-Request-Method");
        }
        let mut not = RequestHeader::build("OPTIONS", b"/x", None).unwrap();
        not.insert_header("origin", "https://a.example.org")
            .unwrap();
        assert_eq!(requested_method(&not), None);
    }
}
