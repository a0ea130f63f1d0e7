//! `request_filter`: route matching, per-route request policies, body limits, and for signed
//! routes reading the whole body so its SHA-256 is known before the head is signed.

use std::time::Duration;

use bytes::Bytes;
use pingora::prelude::*;
use pingora::proxy::Session;

use super::ctx::SubrequestInfo;
use super::{invoke, respond, signed_body, Gateway, RequestCtx};
use crate::config::ApiKeyPolicy;
use crate::routing::RouteMatch;
use crate::target::{forward_path, Target};

/// How long a refused request body is drained so an HTTP/1.1 client reads the error.
const REFUSED_BODY_DRAIN: Duration = Duration::from_secs(5);

pub async fn request_filter(
    gw: &Gateway,
    session: &mut Session,
    ctx: &mut RequestCtx,
) -> Result<bool> {
    // The child of a large signed body: everything was decided by the parent.
    if let Some(sub) = session.subrequest_ctx.as_ref() {
        if let Some(info) = sub
            .user_ctx()
            .and_then(|u| u.downcast_ref::<SubrequestInfo>())
        {
            ctx.is_subrequest = true;
            ctx.route = Some(info.route.clone());
            ctx.upstream_target = Some(info.upstream_target.clone());
            ctx.payload = Some(info.payload.clone());
            ctx.report_outcome = Some(info.outcome.clone());
            return Ok(false);
        }
    }

    let raw_h1 = (session.req_header().version != http::Version::HTTP_2)
        .then(|| session.as_downstream().to_h1_raw());
    if let Some((status, code, message)) =
        super::request_checks::check(session.req_header(), raw_h1.as_deref())
    {
        return refuse(session, ctx, status, code, message).await;
    }
    if crate::drain::is_draining() {
        // This process is being replaced or stopped: the client reconnects for its next request.
        session.set_keepalive(None);
    }
    // Metrics: a client request (a subrequest child returned above) is in flight until logging.
    ctx.metrics_in_flight = Some(crate::metrics::InFlight::start());
    let table = gw.routes.load();
    session.set_read_timeout(Some(Duration::from_millis(table.client.body_timeout)));
    session.set_write_timeout(Some(Duration::from_millis(table.client.send_timeout)));
    let req = session.req_header();
    let path = req.uri.path();
    if table.health_path.as_deref() == Some(path)
        && (req.method == http::Method::GET || req.method == http::Method::HEAD)
    {
        ctx.error_code = None;
        respond::json(session, 200, br#"{"status":"ok"}"#).await?;
        return Ok(true);
    }
    let host = request_host(req);
    let found = match table.find(path, host, req.method.as_str()) {
        RouteMatch::Found { route, rest } => match &route.target {
            Target::FunctionName(_) => {
                let rest = rest.map(str::to_string);
                ctx.route = Some(route.clone());
                return invoke::handle(gw, session, ctx, rest.as_deref()).await;
            }
            Target::FunctionUri(t) => (route.clone(), forward_path(&t.url.base_path, rest)),
        },
        RouteMatch::MethodNotAllowed(allowed) => {
            ctx.error_code = Some("method_not_allowed");
            let msg = format!("method {} is not allowed here", req.method);
            respond::json_error(
                session,
                405,
                "method_not_allowed",
                &msg,
                &[("allow", allowed.join(", "))],
                true,
            )
            .await?;
            return Ok(true);
        }
        RouteMatch::NotFound => {
            ctx.error_code = Some("route_not_found");
            respond::json_error(
                session,
                404,
                "route_not_found",
                "no route matches this request",
                &[],
                true,
            )
            .await?;
            return Ok(true);
        }
    };
    let (route, path) = found;
    let Ok(mut target) = path else {
        ctx.route = Some(route);
        ctx.error_code = Some("bad_path");
        respond::json_error(
            session,
            400,
            "bad_path",
            "the path may not leave the route's base path",
            &[],
            true,
        )
        .await?;
        return Ok(true);
    };
    if let Some(q) = req.uri.query() {
        target.push('?');
        target.push_str(q);
    }
    ctx.upstream_target = Some(target);

    let Some(t) = route.function_uri() else {
        return Error::e_explain(InternalError, "not a function_uri route");
    };
    if let Some(k) = &t.api_key {
        if k.policy == ApiKeyPolicy::Reject && req.headers.contains_key("x-api-key") {
            ctx.route = Some(route);
            return refuse(
                session,
                ctx,
                400,
                "client_api_key_refused",
                "this route does not accept a client x-api-key",
            )
            .await;
        }
    }
    if let (Some(limit), Some(declared)) = (t.body_limit, declared_length(req)) {
        if declared > limit {
            ctx.route = Some(route.clone());
            let msg = format!(
                "request body of {declared} bytes is over this route's limit of {limit} bytes"
            );
            return refuse(session, ctx, 413, "body_too_large", &msg).await;
        }
    }
    let signed = t.signing.is_some();
    if let Some(signing) = &t.signing {
        if signing.credentials.current().is_none() {
            ctx.route = Some(route.clone());
            return credentials_unavailable(session, ctx, signing.credentials.name()).await;
        }
        if let Some(name) = unsignable_header(req, t.forward_client_credentials) {
            ctx.route = Some(route.clone());
            let msg = format!("header {name} is not valid UTF-8, so it cannot be signed");
            return refuse(session, ctx, 400, "unsignable_header", &msg).await;
        }
        if req.uri.query().is_some_and(|q| !query_is_utf8(q)) {
            ctx.route = Some(route.clone());
            let msg = "the query string has percent-encoded bytes that are not UTF-8, \
                       so it cannot be signed";
            return refuse(session, ctx, 400, "unsignable_query", msg).await;
        }
    }
    ctx.route = Some(route);
    if signed {
        return signed_body::read_and_forward(session, ctx).await;
    }
    Ok(false)
}

/// A client header the signer will sign (its allow-list, less `host`, which the gateway
/// replaces, and the client's `x-amz-*` unless the route forwards them) whose value is not
/// UTF-8: SigV4 cannot cover it, and AWS would refuse the request with 403, so the client is
/// told why instead.
fn unsignable_header(req: &RequestHeader, forwards_client_amz: bool) -> Option<&str> {
    req.headers.iter().find_map(|(name, value)| {
        let n = name.as_str();
        let signed = crate::sigv4::is_allow_listed(name)
            && name != http::header::HOST
            && (forwards_client_amz || !n.starts_with("x-amz-"));
        (signed && std::str::from_utf8(value.as_bytes()).is_err()).then_some(n)
    })
}

/// Whether every name and value of `query` decodes to UTF-8. aws-sigv4 decodes them as UTF-8
/// (lossily) before re-encoding, so `%E9` would be signed as `%EF%BF%BD` while AWS checks the
/// bytes it received: such a request can only fail with 403.
fn query_is_utf8(query: &str) -> bool {
    query
        .split('&')
        .flat_map(|pair| pair.splitn(2, '='))
        .all(|part| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .is_ok()
        })
}

/// Answers an error before the body was read, then drains the body for a bounded time so an
/// HTTP/1.1 client that is still sending can read the answer; the connection is then closed.
pub async fn refuse(
    session: &mut Session,
    ctx: &mut RequestCtx,
    status: u16,
    code: &'static str,
    message: &str,
) -> Result<bool> {
    ctx.error_code = Some(code);
    respond::json_error(session, status, code, message, &[], false).await?;
    if !session.is_body_done() {
        session
            .as_downstream_mut()
            .set_total_drain_timeout(Some(REFUSED_BODY_DRAIN));
        let _ = session.drain_request_body().await;
    }
    Ok(true)
}

/// 503 for a route whose credentials were never obtained (or expired without a refresh).
pub async fn credentials_unavailable(
    session: &mut Session,
    ctx: &mut RequestCtx,
    source: &str,
) -> Result<bool> {
    ctx.error_code = Some("credentials_unavailable");
    log::warn!(
        "route {}: no valid AWS credentials from `{source}` yet; answering 503",
        ctx.route_name()
    );
    respond::json_error(
        session,
        503,
        "credentials_unavailable",
        "the gateway has no valid AWS credentials for this route yet",
        &[("retry-after", "1".to_string())],
        false,
    )
    .await?;
    Ok(true)
}

/// Counts streamed body bytes on unsigned routes that have a `max_body_size`.
pub fn count_streamed_body(body: &Option<Bytes>, ctx: &mut RequestCtx) -> Result<()> {
    if ctx.payload.is_some() {
        return Ok(());
    }
    let Some(limit) = ctx
        .route
        .as_ref()
        .and_then(|r| r.function_uri())
        .and_then(|t| t.body_limit)
    else {
        return Ok(());
    };
    if let Some(b) = body {
        ctx.streamed_body_bytes += b.len() as u64;
        if ctx.streamed_body_bytes > limit {
            ctx.error_code = Some("body_too_large");
            return Error::e_explain(HTTPStatus(413), "request body over the route's limit");
        }
    }
    Ok(())
}

/// The request's host name without port: `Host` header (h1) or the `:authority` (h2).
fn request_host(req: &RequestHeader) -> Option<&str> {
    let raw = match req.headers.get(http::header::HOST) {
        Some(h) => h.to_str().ok()?,
        None => req.uri.host()?,
    };
    Some(strip_port(raw))
}

fn strip_port(h: &str) -> &str {
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match h.rfind(':') {
        Some(i) if h[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &h[..i],
        _ => h,
    }
}

pub(crate) fn declared_length(req: &RequestHeader) -> Option<u64> {
    req.headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::{query_is_utf8, strip_port};

    #[test]
    fn queries_that_sign_faithfully() {
        for q in [
            "a=1&b=2",
            "q=caf%C3%A9",
            "x=%7B%7D&&=",
            "flag",
            "a=b=c",
            "q=a+b",
        ] {
            assert!(query_is_utf8(q), "{q}");
        }
        for q in ["q=caf%E9", "%FF=1", "a=1&b=%C3"] {
            assert!(!query_is_utf8(q), "{q}");
        }
    }

    #[test]
    fn host_without_port() {
        assert_eq!(strip_port("a.example.com:8080"), "a.example.com");
        assert_eq!(strip_port("a.example.com"), "a.example.com");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("127.0.0.1"), "127.0.0.1");
    }
}
