//! What Invoke answered, as the client's response: Event 202 and DryRun 204, the payload as
//! is, a proxy-integration result (`result`), function errors (`X-Amz-Function-Error` →
//! `unhandled_status` / `handled_status`), Invoke API errors (429 + `Retry-After`, 413, 400
//! for a body Lambda cannot read, else 502) and Invoke unreachable (502/504).

use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use log::{debug, warn};
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::Session;

use crate::config::InvocationType;
use crate::function_name::call::InvokeCall;
use crate::function_name::result::{parse_proxy_result, PayloadVersion};
use crate::function_name::InvokeTarget;
use crate::gateway::respond::answer;
use crate::gateway::{ErrorCode, GatewayError, RequestCtx};
use crate::metrics;

use super::response_stream::stream_result;

/// Largest error body read from the Invoke API.
pub(super) const ERROR_BODY_LIMIT: usize = 64 * 1024;

pub(super) async fn upstream_failure(
    session: &mut Session,
    ctx: &mut RequestCtx,
    e: &Error,
) -> Result<bool> {
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

pub(super) async fn respond_with_result(
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
pub(super) fn unknown_length(session: &mut Session, resp: &mut ResponseHeader) -> Result<()> {
    match session.req_header().version {
        http::Version::HTTP_2 => {}
        http::Version::HTTP_10 | http::Version::HTTP_09 => session.set_keepalive(None),
        _ => {
            resp.insert_header(http::header::TRANSFER_ENCODING, "chunked")?;
        }
    }
    Ok(())
}

pub(super) fn add_request_id(
    resp: &mut ResponseHeader,
    t: &InvokeTarget,
    id: Option<&str>,
) -> Result<()> {
    if let (Some(name), Some(id)) = (&t.request_id_header, id) {
        resp.insert_header(name.clone(), id)?;
    }
    Ok(())
}

/// The function's payload, untouched, streamed to the client.
pub(super) async fn passthrough(
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

pub(super) async fn proxy_result(
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

pub(super) async fn function_error(
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

pub(super) async fn api_error(
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
