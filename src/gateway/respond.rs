//! Answers the gateway writes itself: short JSON error bodies with the right status.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::Session;

use super::request_body::expects_continue;
use super::RequestCtx;

/// How long a refused request's body is drained so an HTTP/1.1 client still sending it can
/// read the answer.
const REFUSED_BODY_DRAIN: std::time::Duration = std::time::Duration::from_secs(5);

/// The JSON body of a gateway error: `{"error":"<code>","message":"<text>"}` and a newline
/// (a terminal or a line-oriented tool shows it as one line).
pub fn error_body(code: &str, message: &str) -> Bytes {
    json_line(&serde_json::json!({ "error": code, "message": message }))
}

/// A JSON value as a body: the value and a newline.
pub fn json_line(v: &serde_json::Value) -> Bytes {
    let mut s = v.to_string();
    s.push('\n');
    s.into()
}

/// Writes a complete JSON error response. `extra` headers are added as given. The connection
/// is kept only when `keepalive` is true and the request body was fully consumed.
pub async fn json_error(
    session: &mut Session,
    status: u16,
    code: &str,
    message: &str,
    extra: &[(&str, String)],
    keepalive: bool,
) -> Result<()> {
    let body = error_body(code, message);
    let mut resp = ResponseHeader::build(status, Some(3 + extra.len()))?;
    resp.insert_header("content-type", "application/json")?;
    resp.insert_header("content-length", body.len().to_string())?;
    for (k, v) in extra {
        resp.insert_header(k.to_string(), v.as_str())?;
    }
    let body_consumed = session.is_body_empty() || session.is_body_done();
    if !keepalive || !body_consumed {
        session.set_keepalive(None);
    }
    session.write_response_header(Box::new(resp), false).await?;
    session.write_response_body(Some(body), true).await?;
    Ok(())
}

/// Writes a complete JSON response of the gateway's own (health and similar).
pub async fn json(session: &mut Session, status: u16, body: &'static [u8]) -> Result<()> {
    let mut resp = ResponseHeader::build(status, Some(3))?;
    resp.insert_header("content-type", "application/json")?;
    resp.insert_header("content-length", body.len().to_string())?;
    resp.insert_header("cache-control", "no-store")?;
    session.write_response_header(Box::new(resp), false).await?;
    session
        .write_response_body(Some(Bytes::from_static(body)), true)
        .await?;
    Ok(())
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
    json_error(session, status, code, message, extra, keepalive).await?;
    let waits_for_continue = expects_continue(session.req_header()) && !ctx.continue_sent;
    if !session.is_body_done() && !waits_for_continue {
        session
            .as_downstream_mut()
            .set_total_drain_timeout(Some(REFUSED_BODY_DRAIN));
        let _ = session.drain_request_body().await;
    }
    Ok(true)
}

/// The body could not be reserved against `limits.buffered_body_bytes` (`crate::gateway::body_budget`):
/// 503 with `Retry-After` while other requests hold the budget, 413 for a body larger than the
/// whole budget. The rest of the body is drained like any refused body.
pub async fn budget_exhausted(
    session: &mut Session,
    ctx: &mut RequestCtx,
    why: crate::gateway::body_budget::Refused,
    budget: u64,
) -> Result<bool> {
    if why == crate::gateway::body_budget::Refused::LargerThanBudget {
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
    json_error(
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
