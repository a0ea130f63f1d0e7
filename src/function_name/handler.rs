//! `function_name` routes, handled inside `request_filter`: read the body, build the event,
//! call the Invoke API (signed, pooled), and turn the result into the client's response.
//!
//! Why not Pingora's upstream phases: the payload sent to Lambda is an event built from the
//! request, not the client's body (Pingora 0.9.1 can forward a different body only through a
//! subrequest pipe); with proxy integration the response head depends on the response body;
//! streamed results must be decoded from event-stream frames; and error mapping needs AWS's
//! error body. The call still uses Pingora's connector, peers, TLS and pool (`invoke::call`).
//!
//! Status mapping (see docs/design.md): Event 202, DryRun 204; function errors
//! (`X-Amz-Function-Error`) → `unhandled_status` / `handled_status` (default 502); Invoke API
//! 429 → 429 + `Retry-After`, 413 → 413, other API errors → 502 (or AWS's status with
//! `preserve_lambda_api_error_code`), sanitised; connect failures 502, timeouts 504.

use std::time::{Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use log::{debug, warn};
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::Session;

use crate::aws::sigv4::sha256_hex;
use crate::config::{InvocationType, PayloadVersionConf};
use crate::function_name::call::{self, InvokeCall};
use crate::function_name::event::{
    apigw_v1_event, apigw_v2_event, forward_event, kong_args_event, RequestView,
};
use crate::function_name::result::{parse_proxy_result, split_stream_prelude, PayloadVersion};
use crate::function_name::stream::{EventStreamDecoder, StreamEvent};
use crate::function_name::{EventMode, InvokeTarget};
use crate::gateway::body_budget::BodyReservation;
use crate::gateway::request_body::{continue_if_expected, declared_length};
use crate::gateway::respond::{answer, budget_exhausted, credentials_unavailable, refuse};
use crate::gateway::{ErrorCode, Gateway, GatewayError, RequestCtx};
use crate::metrics;
use crate::routing::RouteKind;

/// Content type of a streamed result that starts with an HTTP-integration prelude.
const HTTP_INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";
/// Largest error body read from the Invoke API.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// Largest prelude of a streamed HTTP-integration result.
const PRELUDE_LIMIT: usize = 64 * 1024;

pub async fn handle(
    gw: &Gateway,
    session: &mut Session,
    ctx: &mut RequestCtx,
    path: &str,
    rest: Option<&str>,
    budget: u64,
) -> Result<bool> {
    let Some(route) = ctx.route.clone() else {
        return Error::e_explain(InternalError, "no route");
    };
    let RouteKind::FunctionName(t) = &route.target else {
        return Error::e_explain(InternalError, "not a function_name route");
    };

    if t.signing.credentials.current().is_none() {
        return credentials_unavailable(session, ctx, t.signing.credentials.name()).await;
    }
    let declared = declared_length(session.req_header());
    if declared.is_some_and(|n| n > t.body_limit) {
        let msg = format!(
            "request body is over this route's limit of {} bytes",
            t.body_limit
        );
        return refuse(session, ctx, GatewayError::body_too_large(msg)).await;
    }
    // Body and event are held in memory until the call ends: reserved against the
    // process-wide budget first (`crate::gateway::body_budget`), all of Content-Length up front.
    let mut reservation = BodyReservation::new(budget);
    if let Err(why) = reservation.cover(declared.unwrap_or(0)) {
        return budget_exhausted(session, ctx, why, budget).await;
    }
    continue_if_expected(session, ctx).await?;
    let body = match read_body(session, t.body_limit, &mut reservation).await? {
        ReadBody::Complete(body) => body,
        ReadBody::OverLimit => {
            let msg = format!(
                "request body is over this route's limit of {} bytes",
                t.body_limit
            );
            return refuse(session, ctx, GatewayError::body_too_large(msg)).await;
        }
        ReadBody::NoBudget(why) => return budget_exhausted(session, ctx, why, budget).await,
    };

    let event = build_event(session, t, path, rest, body);
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

    let head = invoke_head(session, t, &event)?;
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
    metrics::upstream_connection(&route.name, metrics::Kind::FunctionName, call.reused);
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

/// The outcome of reading a request body.
enum ReadBody {
    Complete(Bytes),
    /// More than the route's limit.
    OverLimit,
    /// The bytes could not be reserved against the body budget.
    NoBudget(crate::gateway::body_budget::Refused),
}

/// Reads the whole request body, reserving its bytes in `reservation` as they arrive.
async fn read_body(
    session: &mut Session,
    limit: u64,
    reservation: &mut BodyReservation,
) -> Result<ReadBody> {
    if session.is_body_empty() {
        return Ok(ReadBody::Complete(Bytes::new()));
    }
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    let mut len = 0u64;
    // A body the client cannot frame (bad chunk size, early close) is the client's error: 400.
    while let Some(chunk) = session
        .read_request_body()
        .await
        .map_err(|e| e.into_down())?
    {
        len += chunk.len() as u64;
        if len > limit {
            return Ok(ReadBody::OverLimit);
        }
        if let Err(why) = reservation.cover(len) {
            return Ok(ReadBody::NoBudget(why));
        }
        match first.take() {
            None if buf.is_empty() => first = Some(chunk),
            f => {
                if let Some(f) = f {
                    buf.extend_from_slice(&f);
                }
                buf.extend_from_slice(&chunk);
            }
        }
    }
    Ok(ReadBody::Complete(first.unwrap_or_else(|| buf.freeze())))
}

fn build_event(
    session: &Session,
    t: &InvokeTarget,
    path: &str,
    rest: Option<&str>,
    body: Bytes,
) -> Bytes {
    if t.event_mode == EventMode::Raw {
        return body;
    }
    let req = session.req_header();
    let client_ip = session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip().to_string());
    let host = req
        .headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri.host());
    let request_id = request_id();
    let headers = end_to_end_headers(&req.headers);
    let view = RequestView {
        method: req.method.as_str(),
        // The normalised path the route was chosen on (`crate::gateway::request_uri`), so the function
        // sees the request the gateway decided on.
        raw_path: path,
        raw_query: req.uri.query(),
        headers: &headers,
        body: &body,
        source_ip: client_ip.as_deref(),
        http_version: if req.version == http::Version::HTTP_2 {
            "HTTP/2.0"
        } else {
            "HTTP/1.1"
        },
        host,
        proxy_path: rest,
        request_id: &request_id,
        time: SystemTime::now(),
    };
    let event = match t.event_mode {
        EventMode::Raw => return body,
        EventMode::KongArgs => kong_args_event(&view),
        EventMode::Forward {
            method,
            uri,
            headers,
            body,
        } => forward_event(&view, method, uri, headers, body, &t.body_encoding),
        EventMode::Apigw(PayloadVersionConf::V1) => apigw_v1_event(&view, &t.event_settings),
        EventMode::Apigw(PayloadVersionConf::V2) => apigw_v2_event(&view, &t.event_settings),
    };
    Bytes::from(event)
}

/// Headers that concern only the connection between the client and the gateway (RFC 9110
/// §7.6.1, and those the `Connection` header names), the proxy's credentials, and `Expect`
/// (answered by the gateway): never part of an event, as API Gateway leaves them out too.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "expect",
];

/// The client's headers without the hop-by-hop ones; borrowed when there are none (the
/// common case).
fn end_to_end_headers(headers: &http::HeaderMap) -> std::borrow::Cow<'_, http::HeaderMap> {
    let named: Vec<String> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    let doomed = |name: &http::HeaderName| {
        HOP_BY_HOP.contains(&name.as_str()) || named.iter().any(|n| n == name.as_str())
    };
    if !headers.keys().any(doomed) {
        return std::borrow::Cow::Borrowed(headers);
    }
    let mut out = http::HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if !doomed(name) {
            out.append(name.clone(), value.clone());
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A request id for events: unique per process, cheap.
fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!("{t:016x}-{:04x}-{n:012x}", std::process::id() & 0xffff)
}

/// The signed Invoke request head.
fn invoke_head(session: &Session, t: &InvokeTarget, event: &Bytes) -> Result<RequestHeader> {
    let path = if t.streaming {
        &t.stream_path
    } else {
        &t.invoke_path
    };
    let mut head = RequestHeader::build("POST", path.as_bytes(), Some(8))?;
    head.insert_header(HOST, t.host_header.clone())?;
    head.insert_header(CONTENT_LENGTH, event.len().to_string())?;
    head.insert_header("x-amz-invocation-type", t.invocation_type.as_str())?;
    if t.log_tail {
        head.insert_header("x-amz-log-type", "Tail")?;
    }
    if let Some(trace) = session.req_header().headers.get("x-amzn-trace-id") {
        head.insert_header("x-amzn-trace-id", trace.clone())?;
    }
    let identity =
        t.signing.credentials.current().ok_or_else(|| {
            Error::explain(HTTPStatus(503), "AWS credentials expired before signing")
        })?;
    let payload_hash = sha256_hex(event);
    let signing_started = Instant::now();
    let signed = t.signing.signer.sign_request_header_as(
        &identity,
        &mut head,
        &payload_hash,
        SystemTime::now(),
    );
    metrics::signing(signing_started.elapsed());
    signed.map_err(|e| Error::explain(InternalError, format!("signing failed: {e}")))?;
    Ok(head)
}

async fn upstream_failure(session: &mut Session, ctx: &mut RequestCtx, e: &Error) -> Result<bool> {
    let mut err = GatewayError::from_pingora(e);
    warn!(
        "route {}: {} {} ({}): {e}",
        ctx.route_name(),
        err.status,
        err.code,
        e.etype().as_str()
    );
    err.message = match err.code {
        ErrorCode::UpstreamTimeout => "the Lambda Invoke API did not answer in time",
        ErrorCode::UpstreamTlsError => "TLS with the Lambda Invoke API failed",
        _ => "the Lambda Invoke API could not be reached",
    }
    .into();
    err.status = err.status.max(502);
    // The client's request was read in full and this answer is complete: its connection stays.
    answer(session, ctx, err.keep_connection()).await
}

async fn respond_with_result(
    session: &mut Session,
    ctx: &mut RequestCtx,
    t: &InvokeTarget,
    call: &mut InvokeCall,
) -> Result<bool> {
    let status = call.status();
    let request_id = call.header("x-amzn-requestid").map(str::to_string);
    ctx.upstream_status = Some(status);
    ctx.aws_request_id = request_id.clone();
    if t.log_tail {
        if let Some(tail) = call.header("x-amz-log-result") {
            debug!(target: "lambda_log", "route {} log tail (base64): {tail}", ctx.route_name());
        }
    }
    if status >= 400 {
        return api_error(session, ctx, t, call, status, request_id).await;
    }
    if status == 202 || status == 204 || t.invocation_type != InvocationType::RequestResponse {
        let code = if t.invocation_type == InvocationType::Event {
            202
        } else if t.invocation_type == InvocationType::DryRun {
            204
        } else {
            status
        };
        let _ = call.read_to_end(ERROR_BODY_LIMIT).await;
        let mut resp = ResponseHeader::build(code, Some(2))?;
        if code != 204 {
            resp.insert_header(CONTENT_LENGTH, "0")?;
        }
        add_request_id(&mut resp, t, request_id.as_deref())?;
        session.write_response_header(Box::new(resp), true).await?;
        return Ok(true);
    }
    if let Some(kind) = call.header("x-amz-function-error").map(str::to_string) {
        return function_error(session, ctx, t, call, &kind, request_id).await;
    }
    if t.streaming {
        return stream_result(session, ctx, t, call, request_id).await;
    }
    match t.proxy_integration {
        Some(version) => proxy_result(session, ctx, t, call, version, request_id).await,
        None => passthrough(session, t, call, request_id).await,
    }
}

/// A response whose length is unknown: HTTP/1.1 clients get explicit chunked framing, so a
/// response cut short is visible as such (a close-delimited body would look complete). HTTP/1.0
/// has no chunked coding (RFC 9112 §6.1): the body ends when the connection closes.
fn unknown_length(session: &mut Session, resp: &mut ResponseHeader) -> Result<()> {
    match session.req_header().version {
        http::Version::HTTP_2 => {}
        http::Version::HTTP_10 | http::Version::HTTP_09 => session.set_keepalive(None),
        _ => {
            resp.insert_header(http::header::TRANSFER_ENCODING, "chunked")?;
        }
    }
    Ok(())
}

fn add_request_id(resp: &mut ResponseHeader, t: &InvokeTarget, id: Option<&str>) -> Result<()> {
    if let (Some(name), Some(id)) = (&t.request_id_header, id) {
        resp.insert_header(name.clone(), id)?;
    }
    Ok(())
}

/// The function's payload, untouched, streamed to the client.
async fn passthrough(
    session: &mut Session,
    t: &InvokeTarget,
    call: &mut InvokeCall,
    request_id: Option<String>,
) -> Result<bool> {
    let mut resp = ResponseHeader::build(200, Some(4))?;
    resp.insert_header(
        CONTENT_TYPE,
        call.header("content-type")
            .unwrap_or("application/json")
            .to_string(),
    )?;
    match call.header("content-length").map(str::to_string) {
        Some(len) => {
            resp.insert_header(CONTENT_LENGTH, len)?;
        }
        None => unknown_length(session, &mut resp)?,
    }
    add_request_id(&mut resp, t, request_id.as_deref())?;
    session.write_response_header(Box::new(resp), false).await?;
    while let Some(chunk) = call.read_chunk().await? {
        session.write_response_body(Some(chunk), false).await?;
    }
    session.write_response_body(None, true).await?;
    Ok(true)
}

async fn proxy_result(
    session: &mut Session,
    ctx: &mut RequestCtx,
    t: &InvokeTarget,
    call: &mut InvokeCall,
    version: PayloadVersion,
    request_id: Option<String>,
) -> Result<bool> {
    let payload = call.read_to_end(t.payload_limit as usize + 1024).await?;
    match parse_proxy_result(&payload, version) {
        Ok(result) => {
            let mut resp = ResponseHeader::build(result.status, Some(result.headers.len() + 2))?;
            for (k, v) in result.headers {
                resp.append_header(k, v)?;
            }
            resp.insert_header(CONTENT_LENGTH, result.body.len().to_string())?;
            add_request_id(&mut resp, t, request_id.as_deref())?;
            let empty = result.body.is_empty();
            session.write_response_header(Box::new(resp), empty).await?;
            if !empty {
                session.write_response_body(Some(result.body), true).await?;
            }
            Ok(true)
        }
        Err(why) => {
            warn!(
                "route {}: invalid proxy-integration result: {}",
                ctx.route_name(),
                why.0
            );
            let msg = format!(
                "the function's response is not a valid proxy-integration result: {}",
                why.0
            );
            let err = GatewayError::new(502, ErrorCode::InvalidFunctionResponse, msg);
            answer(session, ctx, err.keep_connection()).await
        }
    }
}

async fn function_error(
    session: &mut Session,
    ctx: &mut RequestCtx,
    t: &InvokeTarget,
    call: &mut InvokeCall,
    kind: &str,
    request_id: Option<String>,
) -> Result<bool> {
    let status = if kind.eq_ignore_ascii_case("Handled") {
        t.handled_status
    } else {
        t.unhandled_status
    };
    metrics::function_error(ctx.route_name(), kind.eq_ignore_ascii_case("Handled"));
    let payload = call.read_to_end(t.payload_limit as usize + 1024).await?;
    ctx.error_code = Some(ErrorCode::FunctionError);
    warn!(
        "route {}: function error ({kind}) -> {status}: {}",
        ctx.route_name(),
        String::from_utf8_lossy(&payload[..payload.len().min(512)])
    );
    let mut extra = Vec::new();
    if let (Some(name), Some(id)) = (&t.request_id_header, request_id) {
        extra.push((name.as_str(), id));
    }
    if t.proxy_integration.is_some() || t.streaming {
        // As API Gateway does: the client sees a generic error, the details go to the log.
        let mut err = GatewayError::new(status, ErrorCode::FunctionError, "Internal server error");
        for (k, v) in extra {
            err = err.header(k.to_string(), v);
        }
        return answer(session, ctx, err.keep_connection()).await;
    }
    // Kong's behaviour: the function's error object is the body, with the mapped status.
    let mut resp = ResponseHeader::build(status, Some(3))?;
    resp.insert_header(CONTENT_TYPE, "application/json")?;
    resp.insert_header(CONTENT_LENGTH, payload.len().to_string())?;
    resp.insert_header("x-amz-function-error", kind.to_string())?;
    for (k, v) in extra {
        resp.insert_header(k.to_string(), v)?;
    }
    let empty = payload.is_empty();
    session.write_response_header(Box::new(resp), empty).await?;
    if !empty {
        session.write_response_body(Some(payload), true).await?;
    }
    Ok(true)
}

async fn api_error(
    session: &mut Session,
    ctx: &mut RequestCtx,
    t: &InvokeTarget,
    call: &mut InvokeCall,
    status: u16,
    _request_id: Option<String>,
) -> Result<bool> {
    let header_type = call
        .header("x-amzn-errortype")
        .map(|s| s.split(':').next().unwrap_or(s).to_string());
    let retry_after = call.header("retry-after").map(str::to_string);
    let body = call.read_to_end(ERROR_BODY_LIMIT).await.unwrap_or_default();
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let err_type = header_type
        .or_else(|| {
            ["Type", "__type", "code"]
                .iter()
                .find_map(|k| parsed.get(*k).and_then(|v| v.as_str()).map(str::to_string))
        })
        .unwrap_or_else(|| "Unknown".into());
    let message = ["message", "Message"]
        .iter()
        .find_map(|k| parsed.get(*k).and_then(|v| v.as_str()))
        .unwrap_or("");
    warn!(
        "route {}: Invoke API error {status} {err_type}: {message}",
        ctx.route_name()
    );
    metrics::invoke_api_error(ctx.route_name(), &err_type);
    if status == 429 {
        metrics::throttle(ctx.route_name());
    }
    let (out, code, text) = match status {
        429 => (
            429,
            ErrorCode::Throttled,
            "the function is throttled; retry later",
        ),
        413 => (
            413,
            ErrorCode::PayloadTooLarge,
            "Lambda refused the payload as too large",
        ),
        // The client's body is the payload and Lambda read it as not JSON: the client's fault.
        400 if err_type == "InvalidRequestContentException" => (
            400,
            ErrorCode::InvalidRequestContent,
            "Lambda requires the request body to be JSON",
        ),
        s if t.preserve_api_error_code => (
            s,
            ErrorCode::LambdaApiError,
            "Upstream Lambda invocation failed",
        ),
        _ => (
            502,
            ErrorCode::LambdaApiError,
            "Upstream Lambda invocation failed",
        ),
    };
    let mut err = GatewayError::new(out, code, text)
        .field("aws_error_type", err_type.clone())
        .header("x-lambda-error-type", err_type)
        .keep_connection();
    if status == 429 {
        err = err.header("retry-after", retry_after.unwrap_or_else(|| "1".into()));
    }
    answer(session, ctx, err).await
}

/// InvokeWithResponseStream: chunks go to the client as they arrive.
async fn stream_result(
    session: &mut Session,
    ctx: &mut RequestCtx,
    t: &InvokeTarget,
    call: &mut InvokeCall,
    request_id: Option<String>,
) -> Result<bool> {
    let content_type = call
        .header("content-type")
        .unwrap_or("application/octet-stream")
        .to_string();
    let with_prelude = content_type == HTTP_INTEGRATION || t.proxy_integration.is_some();
    let mut decoder = EventStreamDecoder::new();
    let mut prelude_buf = BytesMut::new();
    let mut started = false;
    loop {
        let event = match decoder.next_event() {
            Ok(Some(e)) => e,
            Ok(None) => match call.read_chunk().await {
                Ok(Some(bytes)) => {
                    decoder.push(&bytes);
                    continue;
                }
                Ok(None) => {
                    return stream_broken(
                        session,
                        ctx,
                        started,
                        "the stream ended without InvokeComplete",
                    )
                    .await
                }
                Err(e) => return stream_broken(session, ctx, started, &e.to_string()).await,
            },
            Err(why) => return stream_broken(session, ctx, started, &why).await,
        };
        match event {
            StreamEvent::Chunk(bytes) => {
                if started {
                    if !bytes.is_empty() {
                        session.write_response_body(Some(bytes), false).await?;
                    }
                    continue;
                }
                if !with_prelude {
                    let mut resp = ResponseHeader::build(200, Some(3))?;
                    resp.insert_header(CONTENT_TYPE, content_type.clone())?;
                    unknown_length(session, &mut resp)?;
                    add_request_id(&mut resp, t, request_id.as_deref())?;
                    session.write_response_header(Box::new(resp), false).await?;
                    started = true;
                    if !bytes.is_empty() {
                        session.write_response_body(Some(bytes), false).await?;
                    }
                    continue;
                }
                prelude_buf.extend_from_slice(&bytes);
                match split_stream_prelude(&prelude_buf) {
                    Ok(Some((prelude, offset))) => {
                        let mut resp =
                            ResponseHeader::build(prelude.status, Some(prelude.headers.len() + 2))?;
                        for (k, v) in prelude.headers {
                            resp.append_header(k, v)?;
                        }
                        resp.remove_header(&CONTENT_LENGTH);
                        unknown_length(session, &mut resp)?;
                        add_request_id(&mut resp, t, request_id.as_deref())?;
                        session.write_response_header(Box::new(resp), false).await?;
                        started = true;
                        let body = prelude_buf.split_off(offset).freeze();
                        if !body.is_empty() {
                            session.write_response_body(Some(body), false).await?;
                        }
                    }
                    Ok(None) if prelude_buf.len() <= PRELUDE_LIMIT => {}
                    Ok(None) => {
                        return stream_broken(
                            session,
                            ctx,
                            started,
                            "no prelude delimiter within 64 KiB",
                        )
                        .await
                    }
                    Err(why) => return stream_broken(session, ctx, started, &why.0).await,
                }
            }
            StreamEvent::Complete {
                error_code,
                error_details,
                ..
            } => {
                if let Some(code) = error_code {
                    metrics::function_error(ctx.route_name(), false);
                    ctx.error_code = Some(ErrorCode::FunctionError);
                    warn!(
                        "route {}: streamed function failed: {code}: {}",
                        ctx.route_name(),
                        error_details.unwrap_or_default()
                    );
                    if started {
                        // Visible truncation: the connection is cut without a proper end.
                        return Error::e_explain(ConnectionClosed, "function failed mid-stream");
                    }
                    let err = GatewayError::new(
                        t.unhandled_status,
                        ErrorCode::FunctionError,
                        "Internal server error",
                    );
                    return answer(session, ctx, err.keep_connection()).await;
                }
                if !started {
                    let mut resp = ResponseHeader::build(200, Some(3))?;
                    resp.insert_header(CONTENT_TYPE, content_type.clone())?;
                    resp.insert_header(CONTENT_LENGTH, "0")?;
                    add_request_id(&mut resp, t, request_id.as_deref())?;
                    session.write_response_header(Box::new(resp), true).await?;
                    return Ok(true);
                }
                session.write_response_body(None, true).await?;
                return Ok(true);
            }
            StreamEvent::Exception { kind, message } => {
                let why = format!("{kind}: {message}");
                return stream_broken(session, ctx, started, &why).await;
            }
        }
    }
}

async fn stream_broken(
    session: &mut Session,
    ctx: &mut RequestCtx,
    started: bool,
    why: &str,
) -> Result<bool> {
    ctx.error_code = Some(ErrorCode::StreamError);
    warn!("route {}: response stream failed: {why}", ctx.route_name());
    if started {
        return Error::e_explain(ConnectionClosed, "response stream failed");
    }
    let err = GatewayError::new(
        502,
        ErrorCode::StreamError,
        "the function's response stream failed",
    );
    answer(session, ctx, err).await
}

#[cfg(test)]
mod tests {
    use super::end_to_end_headers;

    #[test]
    fn events_carry_no_hop_by_hop_headers() {
        let mut h = http::HeaderMap::new();
        for (k, v) in [
            ("host", "gw.test"),
            ("connection", "keep-alive, X-Private-Hop"),
            ("keep-alive", "timeout=5"),
            ("x-private-hop", "1"),
            ("te", "trailers"),
            ("proxy-authorization", "Basic c2VjcmV0"),
            ("expect", "100-continue"),
            ("x-kept", "a"),
            ("x-kept", "b"),
        ] {
            h.append(k, v.parse().unwrap());
        }
        let out = end_to_end_headers(&h);
        let names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["host", "x-kept"]);
        assert_eq!(out.get_all("x-kept").iter().count(), 2);
        let mut plain = http::HeaderMap::new();
        plain.insert("host", "gw.test".parse().unwrap());
        assert!(matches!(
            end_to_end_headers(&plain),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
