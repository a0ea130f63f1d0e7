//! `function_name` routes, handled inside `request_filter`: read the body, build the event,
//! call the Invoke API (signed, pooled), and turn the result into the client's response.
//!
//! Why not Pingora's upstream phases: the payload sent to Lambda is an event built from the
//! request, not the client's body (Pingora 0.9.1 can forward a different body only through a
//! subrequest pipe); with proxy integration the response head depends on the response body;
//! streamed results must be decoded from event-stream frames; and error mapping needs AWS's
//! error body. The call still uses Pingora's connector, peers, TLS and pool (`crate::function_name::call`).
//!
//! Status mapping (see docs/design.md): Event 202, DryRun 204; function errors
//! (`X-Amz-Function-Error`) → `unhandled_status` / `handled_status` (default 502); Invoke API
//! 429 → 429 + `Retry-After`, 413 → 413, other API errors → 502 (or AWS's status with
//! `preserve_lambda_api_error_code`), sanitised; connect failures 502, timeouts 504.

use std::time::Instant;

use log::debug;
use pingora::prelude::*;
use pingora::proxy::Session;

use crate::config::InvocationType;
use crate::function_name::call;
use crate::function_name::InvokeTarget;
use crate::gateway::body_budget::BodyReservation;
use crate::gateway::request_body::{continue_if_expected, declared_length};
use crate::gateway::respond::{answer, budget_exhausted, credentials_unavailable, refuse};
use crate::gateway::{ErrorCode, Gateway, GatewayError, RequestCtx};
use crate::metrics;
use crate::routing::{Route, RouteKind};
use std::sync::Arc;

use super::request::{build_event, invoke_head, read_body};
use super::response::{respond_with_result, upstream_failure, ERROR_BODY_LIMIT};
use crate::gateway::request_body::BodyRead;

pub async fn handle(
    gw: &Gateway,
    session: &mut Session,
    ctx: &mut RequestCtx,
    route: Arc<Route>,
    path: &str,
    rest: Option<&str>,
    budget: u64,
) -> Result<bool> {
    let RouteKind::FunctionName(t) = &route.target else {
        return Error::e_explain(InternalError, "not a function_name route");
    };
    let t: &InvokeTarget = t;
    // Loaded once: signed with below unless they expire while the body is read.
    let Some(identity) = t.signing.credentials.current() else {
        return credentials_unavailable(session, ctx, t.signing.credentials.name()).await;
    };
    let declared = declared_length(session.req_header());
    if declared.is_some_and(|n| n > t.body_limit) {
        return refuse(session, ctx, GatewayError::body_over_limit(t.body_limit)).await;
    }
    // Body and event are held in memory until the call ends: reserved against the
    // process-wide budget first (`crate::gateway::body_budget`), all of Content-Length up front.
    let mut reservation = BodyReservation::new(budget);
    if let Err(why) = reservation.cover(declared.unwrap_or(0)) {
        return budget_exhausted(session, ctx, why, budget).await;
    }
    continue_if_expected(session, ctx).await?;
    let body = match read_body(session, t.body_limit, &mut reservation).await? {
        Ok(body) => body,
        Err(BodyRead::NoBudget(why)) => return budget_exhausted(session, ctx, why, budget).await,
        Err(_) => return refuse(session, ctx, GatewayError::body_over_limit(t.body_limit)).await,
    };

    let event = build_event(
        session,
        t,
        path,
        rest,
        body,
        ctx.api_key.as_deref(),
        ctx.auth.as_ref(),
    );
    if event.len() as u64 > t.payload_limit {
        let msg = format!(
            "the event is {} bytes, over Lambda's payload limit of {} bytes",
            event.len(),
            t.payload_limit
        );
        let err = GatewayError::new(413, ErrorCode::PayloadTooLarge, msg).keep_connection();
        return answer(session, ctx, err).await;
    }
    // The event (larger than the body when it wraps it) is what stays held during the call.
    if let Err(why) = reservation.cover(event.len() as u64) {
        return budget_exhausted(session, ctx, why, budget).await;
    }
    ctx.body_reservation = Some(reservation);

    let head = invoke_head(session, t, &identity, &event)?;
    let aws_started = Instant::now();
    ctx.aws_started = Some(aws_started);
    let mut throttled = 0;
    let mut call = loop {
        // Waiting for Lambda can take minutes: a client that leaves meanwhile ends the wait (the
        // upstream connection is dropped, not pooled) instead of holding the task and sockets.
        let sent = tokio::select! {
            sent = call::send(&gw.invoker, t, &head, &event, &route.name, aws_started) => sent,
            gone = client_gone(session) => return Err(gone),
        };
        let call = match sent {
            Ok(c) => c,
            Err(e) => return upstream_failure(session, ctx, &e).await,
        };
        // A throttled Event invocation was not queued: safe to send again (`crate::retry`).
        if call.status() != 429 || t.invocation_type != InvocationType::Event {
            break call;
        }
        throttled += 1;
        let Some(delay) = t.retry.next_delay(throttled, aws_started) else {
            break call;
        };
        metrics::throttle(&route.name);
        metrics::retry(&route.name, metrics::RetryReason::Throttled);
        debug!(
            "route {}: Event invoke throttled, retrying in {delay:?}",
            route.name
        );
        let mut call = call;
        let _ = call.read_to_end(ERROR_BODY_LIMIT).await;
        call.finish(&gw.invoker, t.keepalive, t.idle_timeout).await;
        tokio::time::sleep(delay).await;
    };
    // Metrics: the AWS call ends with the response head (see `crate::metrics`).
    ctx.aws_duration = Some(aws_started.elapsed());
    ctx.upstream_reused = Some(call.reused);
    metrics::upstream_connection(&route, call.reused);
    let result = respond_with_result(session, ctx, t, &mut call).await;
    call.finish(&gw.invoker, t.keepalive, t.idle_timeout).await;
    result
}

/// Resolves when the client closes its connection (or resets its HTTP/2 stream) while its
/// request is read in full and no response was written yet; never resolves otherwise.
async fn client_gone(session: &mut Session) -> Box<Error> {
    match session.downstream_session.read_body_or_idle(true).await {
        Err(e) => e.into_down(),
        // Bytes of a pipelined next request: not a close; keep waiting.
        Ok(_) => std::future::pending().await,
    }
}
