//! CORS headers on the responses of a CORS route: a Pingora downstream module, so every
//! response written to the client passes through it — AWS's (proxied `function_uri`, Invoke
//! results of `function_name`) and the gateway's own answers (errors of `respond`, 413, the
//! 502/504 of `fail_to_proxy`) alike.
//!
//! `request_filter` arms it ([`select`]) once the route is known; a request on a route without
//! CORS, or refused before a route matched, leaves it idle. On a CORS route:
//!
//! * the upstream's `Access-Control-*` headers are removed (API Gateway ignores an
//!   integration's CORS headers when CORS is configured);
//! * with an allowed `Origin`: `Access-Control-Allow-Origin`, `-Expose-Headers` (if
//!   configured) and `-Allow-Credentials: true` (if set);
//! * always `Vary: Origin`, appended to the upstream's `Vary` unless it already names `Origin`
//!   (or is `*`): the answer depends on the origin even when it is refused.

use std::sync::Arc;

use async_trait::async_trait;
use http::HeaderValue;
use pingora::http::ResponseHeader;
use pingora::modules::http::{HttpModule, HttpModuleBuilder, Module};
use pingora::prelude::*;
use pingora::proxy::Session;

use super::CorsPolicy;

/// The module's per-request state: the route's policy and the allowed origin's value.
#[derive(Default)]
pub struct CorsHeaders {
    armed: Option<(Arc<CorsPolicy>, Option<HeaderValue>)>,
}

/// Builds [`CorsHeaders`] for each request (`ProxyHttp::init_downstream_modules`).
pub struct CorsHeadersBuilder;

impl HttpModuleBuilder for CorsHeadersBuilder {
    fn init(&self) -> Module {
        Box::new(CorsHeaders::default())
    }
}

/// Arms the module of this request for a route with `policy`: its `Origin` is checked now.
pub fn select(session: &mut Session, policy: &Arc<CorsPolicy>) {
    let allowed = session
        .req_header()
        .headers
        .get(http::header::ORIGIN)
        .and_then(|o| policy.allow_origin(o));
    if let Some(m) = session.downstream_modules_ctx.get_mut::<CorsHeaders>() {
        m.armed = Some((policy.clone(), allowed));
    }
}

/// Whether a `Vary` value already covers `Origin`.
pub fn varies_by_origin(resp: &ResponseHeader) -> bool {
    resp.headers.get_all(http::header::VARY).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',')
                .any(|t| t.trim() == "*" || t.trim().eq_ignore_ascii_case("origin"))
        })
    })
}

/// Applies `policy` for an allowed origin (`None`: not allowed or no `Origin`) to `resp`.
pub fn apply(
    resp: &mut ResponseHeader,
    policy: &CorsPolicy,
    origin: Option<&HeaderValue>,
) -> Result<()> {
    let upstream: Vec<http::HeaderName> = resp
        .headers
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for name in upstream {
        resp.remove_header(&name);
    }
    if let Some(o) = origin {
        resp.insert_header(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, o.clone())?;
        if let Some(v) = &policy.expose_headers {
            resp.insert_header(http::header::ACCESS_CONTROL_EXPOSE_HEADERS, v.clone())?;
        }
        if policy.credentials {
            resp.insert_header(
                http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            )?;
        }
    }
    if !varies_by_origin(resp) {
        resp.append_header(http::header::VARY, HeaderValue::from_static("Origin"))?;
    }
    Ok(())
}

#[async_trait]
impl HttpModule for CorsHeaders {
    async fn response_header_filter(
        &mut self,
        resp: &mut ResponseHeader,
        _end_of_stream: bool,
    ) -> Result<()> {
        // 1xx (100 Continue) are not the answer.
        if resp.status.is_informational() {
            return Ok(());
        }
        match &self.armed {
            Some((policy, origin)) => apply(resp, policy, origin.as_ref()),
            None => Ok(()),
        }
    }

    crate::gateway::http_module_any!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CorsConf;

    fn policy(credentials: bool) -> CorsPolicy {
        CorsPolicy::build(&CorsConf {
            allow_origins: vec!["https://app.example.com".into()],
            expose_headers: vec!["x-request-id".into()],
            allow_credentials: credentials,
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn upstream_cors_headers_are_replaced_and_vary_appended() {
        let mut resp = ResponseHeader::build(200, None).unwrap();
        resp.insert_header("access-control-allow-origin", "*")
            .unwrap();
        resp.insert_header("access-control-max-age", "5").unwrap();
        resp.insert_header("vary", "Accept-Encoding").unwrap();
        let o = HeaderValue::from_static("https://app.example.com");
        apply(&mut resp, &policy(true), Some(&o)).unwrap();
        let h = &resp.headers;
        assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
        assert_eq!(h["access-control-expose-headers"], "x-request-id");
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert!(h.get("access-control-max-age").is_none());
        let vary: Vec<_> = h.get_all("vary").iter().collect();
        assert_eq!(vary, ["Accept-Encoding", "Origin"]);
    }

    #[test]
    fn a_refused_origin_gets_only_vary_once() {
        let mut resp = ResponseHeader::build(502, None).unwrap();
        resp.insert_header("access-control-allow-origin", "*")
            .unwrap();
        resp.insert_header("vary", "origin, accept").unwrap();
        apply(&mut resp, &policy(false), None).unwrap();
        assert!(resp.headers.get("access-control-allow-origin").is_none());
        assert_eq!(resp.headers.get_all("vary").iter().count(), 1);
    }
}
