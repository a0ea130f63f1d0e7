//! InvokeWithResponseStream: event-stream frames decoded (`stream`) and their chunks written
//! to the client as they arrive, with or without an HTTP-integration prelude (status and
//! headers first). A stream that fails before the head answers 502; after it, the response is
//! cut so the client sees the truncation.

use bytes::BytesMut;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use log::warn;
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::Session;

use crate::function_name::call::InvokeCall;
use crate::function_name::result::split_stream_prelude;
use crate::function_name::stream::{EventStreamDecoder, StreamEvent};
use crate::function_name::InvokeTarget;
use crate::gateway::respond::answer;
use crate::gateway::{ErrorCode, GatewayError, RequestCtx};
use crate::metrics;

use super::response::{add_request_id, unknown_length};
/// Content type of a streamed result that starts with an HTTP-integration prelude.
pub(super) const HTTP_INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";

/// Largest prelude of a streamed HTTP-integration result.
pub(super) const PRELUDE_LIMIT: usize = 64 * 1024;

/// InvokeWithResponseStream: chunks go to the client as they arrive.
pub(super) async fn stream_result(
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

pub(super) async fn stream_broken(
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
