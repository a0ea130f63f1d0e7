//! `request_filter`: route matching, per-route request policies, body limits, and for signed
//! routes reading the whole body so its SHA-256 is known before the head is signed.

use std::time::Duration;

use bytes::Bytes;
use pingora::prelude::*;
use pingora::proxy::Session;

use super::ctx::SubrequestInfo;
use super::{invoke, respond, signed_body, Gateway, RequestCtx};
use crate::config::ApiKeyPolicy;
use crate::request_uri::{canonical_query, normalize_path, TargetError};
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

    // RFC 9112 §9.3.2: requests a client pipelines behind this one are answered in order
    // (Pingora carries the bytes read past this request into the next one on the connection).
    session.as_downstream_mut().set_pipelining_enabled(true);
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
    // Routes are matched on the normalised path (`crate::request_uri`), and what is forwarded
    // is built from that same path, so the route that decided is the one the upstream sees.
    let Ok(path) = normalize_path(req.uri.path()) else {
        return refuse(
            session,
            ctx,
            400,
            "bad_path",
            "the path has a malformed percent escape",
        )
        .await;
    };
    if table.health_path.as_deref() == Some(path.as_str())
        && (req.method == http::Method::GET || req.method == http::Method::HEAD)
    {
        ctx.error_code = None;
        respond::json(session, 200, b"{\"status\":\"ok\"}\n").await?;
        return Ok(true);
    }
    let host = request_host(req);
    let found = match table.find(&path, host.as_deref(), req.method.as_str()) {
        RouteMatch::Found { route, rest } => match &route.target {
            Target::FunctionName(_) => {
                let rest = rest.map(str::to_string);
                ctx.route = Some(route.clone());
                let budget = table.limits.buffered_body_bytes;
                return invoke::handle(gw, session, ctx, &path, rest.as_deref(), budget).await;
            }
            Target::FunctionUri(t) => (route.clone(), forward_path(&t.url.base_path, rest)),
        },
        RouteMatch::MethodNotAllowed(allowed) => {
            let msg = format!("method {} is not allowed here", req.method);
            let allow = allowed.join(", ");
            return refuse_with(
                session,
                ctx,
                405,
                "method_not_allowed",
                &msg,
                &[("allow", allow)],
                true,
            )
            .await;
        }
        RouteMatch::NotFound => {
            return refuse_with(
                session,
                ctx,
                404,
                "route_not_found",
                "no route matches this request",
                &[],
                true,
            )
            .await;
        }
    };
    let (route, forwarded) = found;
    let Ok(mut target) = forwarded else {
        ctx.route = Some(route);
        return refuse(
            session,
            ctx,
            400,
            "bad_path",
            "the path may not leave the route's base path",
        )
        .await;
    };
    let Some(t) = route.function_uri() else {
        return Error::e_explain(InternalError, "not a function_uri route");
    };
    if let Some(q) = req.uri.query() {
        if t.signing.is_some() {
            // Signed: forward exactly the canonical form that is signed (`crate::request_uri`).
            match canonical_query(q) {
                Ok(q) if q.is_empty() => {}
                Ok(q) => {
                    target.push('?');
                    target.push_str(&q);
                }
                Err(e) => {
                    ctx.route = Some(route.clone());
                    let msg = match e {
                        TargetError::NotUtf8 => {
                            "the query string has percent-encoded bytes that are not UTF-8, \
                             so it cannot be signed"
                        }
                        TargetError::BadEscape => {
                            "the query string has a malformed percent escape, so it cannot be signed"
                        }
                    };
                    return refuse(session, ctx, 400, "unsignable_query", msg).await;
                }
            }
        } else {
            target.push('?');
            target.push_str(q);
        }
    }
    ctx.upstream_target = Some(target);
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
    }
    ctx.route = Some(route);
    if signed {
        let budget = table.limits.buffered_body_bytes;
        return signed_body::read_and_forward(session, ctx, budget).await;
    }
    // Streamed: the body goes upstream as it arrives, so the client may send it now.
    continue_if_expected(session, ctx).await?;
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

/// Answers an error before the body was read, then drains the body for a bounded time so an
/// HTTP/1.1 client that is still sending can read the answer; the connection is then closed.
/// A client that waits for `100 Continue` (not sent yet) sends no body: nothing is drained.
pub async fn refuse(
    session: &mut Session,
    ctx: &mut RequestCtx,
    status: u16,
    code: &'static str,
    message: &str,
) -> Result<bool> {
    refuse_with(session, ctx, status, code, message, &[], false).await
}

/// [`refuse`] with extra response headers; with `keepalive`, a request without a body keeps
/// its connection (404, 405: nothing about the connection is wrong).
pub async fn refuse_with(
    session: &mut Session,
    ctx: &mut RequestCtx,
    status: u16,
    code: &'static str,
    message: &str,
    extra: &[(&str, String)],
    keepalive: bool,
) -> Result<bool> {
    ctx.error_code = Some(code);
    respond::json_error(session, status, code, message, extra, keepalive).await?;
    let waits_for_continue = expects_continue(session.req_header()) && !ctx.continue_sent;
    if !session.is_body_done() && !waits_for_continue {
        session
            .as_downstream_mut()
            .set_total_drain_timeout(Some(REFUSED_BODY_DRAIN));
        let _ = session.drain_request_body().await;
    }
    Ok(true)
}

/// Whether the client sent `Expect: 100-continue` and waits for `100 Continue` before its body
/// (RFC 9110 §10.1.1: only HTTP/1.1 clients; an HTTP/1.0 client must not be sent a 1xx).
pub fn expects_continue(req: &RequestHeader) -> bool {
    req.version == http::Version::HTTP_11
        && req
            .headers
            .get(http::header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Sends `100 Continue` once the gateway has decided to read the body, if the client asked for
/// it (as Envoy does by default: the gateway answers the expectation itself and never forwards
/// `Expect`). HTTP/2 clients are not sent one: Pingora's h2 server cannot write a 1xx head.
pub async fn continue_if_expected(session: &mut Session, ctx: &mut RequestCtx) -> Result<()> {
    if ctx.continue_sent
        || !expects_continue(session.req_header())
        || session.is_body_empty()
        || session.is_body_done()
    {
        return Ok(());
    }
    ctx.continue_sent = true;
    session
        .as_downstream_mut()
        .write_continue_response()
        .await
        .map_err(|e| e.into_down())
}

/// The body could not be reserved against `limits.buffered_body_bytes` (`crate::budget`):
/// 503 with `Retry-After` while other requests hold the budget, 413 for a body larger than the
/// whole budget. The rest of the body is drained like any refused body.
pub async fn budget_exhausted(
    session: &mut Session,
    ctx: &mut RequestCtx,
    why: crate::budget::Refused,
    budget: u64,
) -> Result<bool> {
    if why == crate::budget::Refused::LargerThanBudget {
        let msg = format!(
            "request body is over the gateway's limit of {budget} bytes for bodies held in memory"
        );
        return refuse(session, ctx, 413, "body_too_large", &msg).await;
    }
    crate::metrics::body_budget_refusal(ctx.route_name());
    log::warn!(
        "route {}: request bodies held in memory reached limits.buffered_body_bytes ({budget}); answering 503",
        ctx.route_name()
    );
    refuse_with(
        session,
        ctx,
        503,
        "body_buffer_full",
        "the gateway holds as many request bodies as it may right now; retry shortly",
        &[("retry-after", "1".to_string())],
        false,
    )
    .await
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

/// The request's host name as routes match it: `Host` header (h1) or the `:authority` (h2),
/// without port, lower case, without a trailing dot (`A.Example.COM.` is `a.example.com`).
fn request_host(req: &RequestHeader) -> Option<std::borrow::Cow<'_, str>> {
    let raw = match req.headers.get(http::header::HOST) {
        Some(h) => h.to_str().ok()?,
        None => req.uri.host()?,
    };
    Some(normalize_host(strip_port(raw)))
}

/// Lower case, no trailing dot; borrowed when already so.
pub fn normalize_host(h: &str) -> std::borrow::Cow<'_, str> {
    let h = h.strip_suffix('.').unwrap_or(h);
    if h.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(h.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(h)
    }
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
    use super::{normalize_host, strip_port};

    #[test]
    fn host_without_port() {
        assert_eq!(strip_port("a.example.com:8080"), "a.example.com");
        assert_eq!(strip_port("a.example.com"), "a.example.com");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("127.0.0.1"), "127.0.0.1");
        assert_eq!(normalize_host("A.Example.COM."), "a.example.com");
        assert_eq!(normalize_host("b.example."), "b.example");
        assert_eq!(normalize_host("c.example"), "c.example");
    }
}
