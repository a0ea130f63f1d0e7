//! The client's request body as the gateway sees it before reading it: its declared length,
//! `Expect: 100-continue` (answered by the gateway itself), and the byte count of bodies
//! streamed to the upstream (`request_body_filter`).

use bytes::Bytes;
use pingora::http::RequestHeader;
use pingora::prelude::*;
use pingora::proxy::Session;

use super::body_budget::{BodyReservation, Refused};
use super::{GatewayError, RequestCtx};

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

/// Counts streamed body bytes on unsigned routes that have a `max_body_size`.
pub fn count_streamed_body(body: &Option<Bytes>, ctx: &mut RequestCtx) -> Result<()> {
    let Ok(u) = ctx.uri_request() else {
        return Ok(());
    };
    let (None, Some(limit)) = (&u.payload, u.target.body_limit) else {
        return Ok(());
    };
    if let Some(b) = body {
        ctx.streamed_body_bytes += b.len() as u64;
        if ctx.streamed_body_bytes > limit {
            return Err(GatewayError::body_over_limit(limit).into_pingora());
        }
    }
    Ok(())
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

/// How reading a whole request body ended.
pub enum BodyRead {
    /// Every byte was read: this many.
    Complete(u64),
    /// More than the route's limit: stopped as soon as the count passed it.
    OverLimit,
    /// The bytes could not be reserved against the body budget.
    NoBudget(Refused),
}

/// Reads the whole request body (signed `function_uri` routes hash it, `function_name` routes
/// wrap it into an event), reserving its bytes in `reservation` as they arrive and handing each
/// chunk to `on_chunk`. A body the client cannot frame (bad chunk size, early close) or stops
/// sending is the client's error: 400 / 408 (`fail_to_proxy`).
pub async fn read_whole(
    session: &mut Session,
    limit: u64,
    reservation: &mut BodyReservation,
    mut on_chunk: impl FnMut(Bytes),
) -> Result<BodyRead> {
    let mut len = 0u64;
    while let Some(chunk) = session
        .read_request_body()
        .await
        .map_err(|e| e.into_down())?
    {
        len += chunk.len() as u64;
        if len > limit {
            return Ok(BodyRead::OverLimit);
        }
        if let Err(why) = reservation.cover(len) {
            return Ok(BodyRead::NoBudget(why));
        }
        on_chunk(chunk);
    }
    Ok(BodyRead::Complete(len))
}
