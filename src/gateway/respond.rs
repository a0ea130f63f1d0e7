//! The gateway's own answers: errors (a [`GatewayError`] as a short JSON body with the right
//! status, before or after the request body was read) and the health answer.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::Session;

use super::body_budget::Refused;
use super::error::{ErrorCode, GatewayError};
use super::request_body::expects_continue;
use super::RequestCtx;

/// How long a refused request's body is drained so an HTTP/1.1 client still sending it can
/// read the answer.
const REFUSED_BODY_DRAIN: std::time::Duration = std::time::Duration::from_secs(5);

/// A JSON value as a body: the value and a newline (a terminal or a line-oriented tool shows
/// it as one line).
pub fn json_line(v: &serde_json::Value) -> Bytes {
    let mut s = v.to_string();
    s.push('\n');
    s.into()
}

/// Writes `err` as a complete response. The connection is kept only when the error allows it
/// and the request body was fully consumed.
pub async fn write_error(session: &mut Session, err: &GatewayError) -> Result<()> {
    let body = err.body();
    let mut resp = ResponseHeader::build(err.status, Some(3 + err.headers.len()))?;
    resp.insert_header("content-type", "application/json")?;
    resp.insert_header("content-length", body.len().to_string())?;
    for (k, v) in &err.headers {
        resp.insert_header(k.to_string(), v.as_str())?;
    }
    let body_consumed = session.is_body_empty() || session.is_body_done();
    if !err.keep_connection || !body_consumed {
        session.set_keepalive(None);
    }
    session.write_response_header(Box::new(resp), false).await?;
    session.write_response_body(Some(body), true).await?;
    Ok(())
}

/// Answers with `err` (its code goes to the access log and metrics). Returns `Ok(true)`: the
/// response is written, as `request_filter` reports it to Pingora.
pub async fn answer(
    session: &mut Session,
    ctx: &mut RequestCtx,
    err: GatewayError,
) -> Result<bool> {
    ctx.error_code = Some(err.code);
    write_error(session, &err).await?;
    Ok(true)
}

/// Answers an error before the body was read, then drains the body for a bounded time so an
/// HTTP/1.1 client that is still sending can read the answer; the connection is then closed
/// (unless the error keeps it: 404, 405). A client that waits for `100 Continue` (not sent
/// yet) sends no body: nothing is drained.
pub async fn refuse(
    session: &mut Session,
    ctx: &mut RequestCtx,
    err: GatewayError,
) -> Result<bool> {
    answer(session, ctx, err).await?;
    let waits_for_continue = expects_continue(session.req_header()) && !ctx.continue_sent;
    if !session.is_body_done() && !waits_for_continue {
        session
            .as_downstream_mut()
            .set_total_drain_timeout(Some(REFUSED_BODY_DRAIN));
        let _ = session.drain_request_body().await;
    }
    Ok(true)
}

/// The body could not be reserved against `limits.buffered_body_bytes`
/// (`crate::gateway::body_budget`): 503 with `Retry-After` while other requests hold the
/// budget, 413 for a body larger than the whole budget. The rest of the body is drained like
/// any refused body.
pub async fn budget_exhausted(
    session: &mut Session,
    ctx: &mut RequestCtx,
    why: Refused,
    budget: u64,
) -> Result<bool> {
    if why == Refused::LargerThanBudget {
        let msg = format!(
            "request body is over the gateway's limit of {budget} bytes for bodies held in memory"
        );
        return refuse(session, ctx, GatewayError::body_too_large(msg)).await;
    }
    crate::metrics::body_budget_refusal(ctx.route_name());
    log::warn!(
        "route {}: request bodies held in memory reached limits.buffered_body_bytes ({budget}); answering 503",
        ctx.route_name()
    );
    let err = GatewayError::new(
        503,
        ErrorCode::BodyBufferFull,
        "the gateway holds as many request bodies as it may right now; retry shortly",
    )
    .retry_after(1);
    refuse(session, ctx, err).await
}

/// 503 for a route whose credentials were never obtained (or expired without a refresh).
pub async fn credentials_unavailable(
    session: &mut Session,
    ctx: &mut RequestCtx,
    source: &str,
) -> Result<bool> {
    log::warn!(
        "route {}: no valid AWS credentials from `{source}` yet; answering 503",
        ctx.route_name()
    );
    answer(session, ctx, GatewayError::credentials_unavailable()).await
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
