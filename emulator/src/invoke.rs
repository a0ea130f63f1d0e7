//! The Lambda Invoke and InvokeWithResponseStream endpoints: reads the request, checks SigV4
//! (service `lambda`), validates it with `invoke_api`, runs a built-in from `functions` and
//! answers like Lambda: a buffered JSON result, `202`/`204` for Event/DryRun, or an event
//! stream written message by message (each one flushed as it is produced).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use log::{info, warn};
use pingora::http::ResponseHeader;
use pingora::protocols::http::ServerSession;
use serde_json::Value;

use crate::counters::Counters;
use crate::event_stream;
use crate::functions::{self, Builtin, Call, Output, StreamPlan};
use crate::invoke_api::{
    self, ApiError, InvocationType, LogType, Operation, RESPONSE_LIMIT, SYNC_PAYLOAD_LIMIT,
};
use crate::reply;
use crate::router;
use crate::sigv4_verify::{Rejection, SignedRequest, Verifier, SERVICE_LAMBDA};
use crate::wire::{self, Received};

/// A streamed response whose client stops reading is abandoned after this long.
const STREAM_WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// The Lambda API application.
pub struct LambdaApi {
    verifier: Arc<Verifier>,
    region: String,
    counters: Arc<Counters>,
}

/// A validated invocation, owning what the function may look at.
#[derive(Debug, Clone)]
struct Invocation {
    operation: Operation,
    function: Builtin,
    /// `FunctionName` as decoded from the path.
    function_name: String,
    /// The short name.
    name: String,
    qualifier: Option<String>,
    executed_version: &'static str,
    invocation_type: InvocationType,
    log_type: LogType,
    raw_path: Vec<u8>,
    raw_query: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
    payload: Bytes,
    event: Value,
    /// Invokes of this function so far, this one included (0 for DryRun, which runs nothing).
    invocations: u64,
}

impl Invocation {
    fn call(&self) -> Call<'_> {
        Call {
            operation: self.operation,
            function: &self.function_name,
            qualifier: self.qualifier.as_deref(),
            raw_path: &self.raw_path,
            raw_query: self.raw_query.as_deref(),
            invocation_type: self.invocation_type,
            log_type: self.log_type,
            headers: &self.headers,
            payload: &self.payload,
            event: &self.event,
            invocations: self.invocations,
        }
    }
}

/// What to send back.
enum Reply {
    /// A complete response.
    Full(Response<Vec<u8>>),
    /// A 200 event stream: its head, then `body`, then `InvokeComplete` (with the log tail).
    Stream(Box<ResponseHeader>, StreamBody, Option<String>),
}

/// The content of an event stream.
enum StreamBody {
    /// A buffered function's result or error, sent as one stream.
    Output(Output),
    /// The `stream` function, produced over time.
    Plan(StreamPlan),
}

/// Headers every Lambda answer carries.
struct Common<'a> {
    request_id: &'a str,
    trace_id: Option<&'a HeaderValue>,
}

impl LambdaApi {
    pub fn new(verifier: Arc<Verifier>, region: String, counters: Arc<Counters>) -> Self {
        LambdaApi {
            verifier,
            region,
            counters,
        }
    }

    /// Serves one Lambda API request whose head has been read. Returns `true` when the
    /// response was written completely (the connection may be reused).
    pub async fn serve(&self, session: &mut ServerSession) -> bool {
        let started = Instant::now();
        let received = Received::from_session(session);
        let request_id = reply::request_id();
        let common = Common {
            request_id: &request_id,
            trace_id: received.header_map.get("x-amzn-trace-id"),
        };
        let (reply, what) = self.handle(session, &received, &common).await;
        let (status, complete) = match reply {
            Reply::Full(response) => {
                let status = response.status().as_u16();
                (status, router::write_response(session, response).await)
            }
            Reply::Stream(head, body, log_result) => {
                let status = head.status.as_u16();
                let outcome = write_stream(session, head, body, log_result, &received).await;
                if let Err(e) = &outcome {
                    warn!("streaming the response failed: {e}");
                }
                (status, outcome.is_ok())
            }
        };
        info!(
            "{} {} {} -> {} {} peer={} {}ms",
            received.http_version,
            received.method,
            received.path_text(),
            status,
            what,
            received.peer.as_deref().unwrap_or("-"),
            started.elapsed().as_millis()
        );
        complete
    }

    /// Everything up to the response: body, signature, validation, the function itself.
    /// The second value describes the call for the log.
    async fn handle(
        &self,
        session: &mut ServerSession,
        received: &Received,
        common: &Common<'_>,
    ) -> (Reply, String) {
        if received.expects_continue() {
            let _ = session.write_continue_response().await;
        }
        let body = match wire::read_body(session, true).await {
            Ok(body) => body,
            Err(e) => {
                warn!("reading the request body failed: {e}");
                session.set_keepalive(None);
                let e = ApiError::bad_request("Could not read the request body");
                return (error_reply(&e, common), "unread".into());
            }
        };
        if body.too_large {
            let e = ApiError::too_large(SYNC_PAYLOAD_LIMIT);
            return (error_reply(&e, common), "too-large".into());
        }
        let payload = body.full.unwrap_or_default();

        let request = SignedRequest {
            method: received.method.clone(),
            raw_path: received.raw_path.clone(),
            raw_query: received.raw_query.clone(),
            headers: received.header_map.clone(),
            body: payload.clone(),
        };
        if let Err(r) = self.verify(request).await {
            return (rejection_reply(&r, common), "auth=refused".into());
        }

        let mut invocation = match self.validate(received, payload) {
            Ok(invocation) => invocation,
            Err(e) => return (error_reply(&e, common), format!("error={}", e.error_type)),
        };
        if invocation.invocation_type != InvocationType::DryRun {
            invocation.invocations = self.counters.invoked(&invocation.name);
        }
        let what = format!(
            "fn={} version={} type={}",
            invocation.name,
            invocation.executed_version,
            invocation.invocation_type.as_str()
        );
        (self.invoke(invocation, common).await, what)
    }

    /// Runs the check in its own task, so that even a panic in the verifier is a 500 answer.
    async fn verify(&self, request: SignedRequest) -> Result<String, Rejection> {
        let verifier = self.verifier.clone();
        let task = tokio::spawn(async move {
            verifier
                .verify(&request, SERVICE_LAMBDA, SystemTime::now())
                .await
        });
        match task.await {
            Ok(result) => result,
            Err(e) => Err(Rejection::internal(format!("signature check failed: {e}"))),
        }
    }

    /// The API rules, in order: operation, function name and qualifier, headers, payload.
    fn validate(&self, received: &Received, payload: Bytes) -> Result<Invocation, ApiError> {
        let route =
            invoke_api::route(&received.raw_path).filter(|_| received.method == http::Method::POST);
        let Some((operation, segment)) = route else {
            return Err(ApiError::unknown_operation());
        };
        let function_name = invoke_api::decode_segment(segment)?;
        let parsed = invoke_api::parse_function_name(&function_name, &self.region)?;
        let from_query = invoke_api::query_qualifier(received.raw_query.as_deref())?;
        let qualifier =
            invoke_api::resolve_qualifier(parsed.qualifier.as_deref(), from_query.as_deref())?;
        let Some(function) = Builtin::by_name(&parsed.name) else {
            let arn = invoke_api::function_arn(&self.region, &parsed.name, qualifier.as_deref());
            return Err(ApiError::not_found(&arn));
        };
        let executed_version =
            invoke_api::executed_version(&self.region, &parsed.name, qualifier.as_deref())?;
        let invocation_type = invoke_api::invocation_type(&received.header_map, operation)?;
        let log_type = invoke_api::log_type(&received.header_map)?;
        invoke_api::check_client_context(&received.header_map)?;
        let event = invoke_api::check_payload(&payload, invocation_type.payload_limit())?;
        Ok(Invocation {
            operation,
            function,
            function_name,
            name: parsed.name,
            qualifier,
            executed_version,
            invocation_type,
            log_type,
            raw_path: received.raw_path.clone(),
            raw_query: received.raw_query.clone(),
            headers: received.headers.clone(),
            payload,
            event,
            invocations: 0,
        })
    }

    async fn invoke(&self, invocation: Invocation, common: &Common<'_>) -> Reply {
        match invocation.invocation_type {
            InvocationType::DryRun => {
                return Reply::Full(build(StatusCode::NO_CONTENT, Vec::new(), common, &[]));
            }
            InvocationType::Event if invocation.function == functions::Builtin::Throttle => {
                // The Invoke API's own throttle: decided before the event is queued.
                let output = functions::run(invocation.function, &invocation.call()).await;
                if output == Output::Throttled {
                    return error_reply(&ApiError::throttled(), common);
                }
                return Reply::Full(build(StatusCode::ACCEPTED, Vec::new(), common, &[]));
            }
            InvocationType::Event => {
                // Accepted now; the function still runs (and takes its time) in the background.
                tokio::spawn(async move {
                    let call = invocation.call();
                    if let Output::Stream(plan) = functions::run(invocation.function, &call).await {
                        plan.buffered().await;
                    }
                });
                return Reply::Full(build(StatusCode::ACCEPTED, Vec::new(), common, &[]));
            }
            InvocationType::RequestResponse => {}
        }

        let tail = (invocation.log_type == LogType::Tail).then(|| {
            functions::log_tail(
                &invocation.name,
                common.request_id,
                invocation.executed_version,
            )
        });
        let output = functions::run(invocation.function, &invocation.call()).await;
        if output == Output::Throttled {
            return error_reply(&ApiError::throttled(), common);
        }
        let version = ("x-amz-executed-version", invocation.executed_version);

        if invocation.operation == Operation::InvokeWithResponseStream {
            let (content_type, body) = match output {
                Output::Stream(plan) => (plan.content_type, StreamBody::Plan(plan)),
                other => (functions::OCTET_STREAM, StreamBody::Output(other)),
            };
            let head = build(StatusCode::OK, Vec::new(), common, &[version]);
            let (parts, _) = head.into_parts();
            let mut head: ResponseHeader = parts.into();
            let _ = head.insert_header("content-type", content_type);
            let _ = head.remove_header("content-length");
            // On this endpoint the log tail travels in InvokeComplete, not as a header.
            return Reply::Stream(Box::new(head), body, tail);
        }

        let output = match output {
            Output::Stream(plan) => plan.buffered().await,
            other => other,
        };
        let mut extra = vec![version];
        if let Some(tail) = &tail {
            extra.push(("x-amz-log-result", tail.as_str()));
        }
        let output = match output {
            Output::Result(result) if result.len() > RESPONSE_LIMIT => {
                let message = format!(
                    "Response payload size ({} bytes) exceeded maximum allowed payload size ({RESPONSE_LIMIT} bytes).",
                    result.len()
                );
                Output::unhandled("Function.ResponseSizeTooLarge", &message)
            }
            other => other,
        };
        match output {
            Output::Result(result) => {
                Reply::Full(build(StatusCode::OK, result.to_vec(), common, &extra))
            }
            Output::Error { kind, payload, .. } => {
                extra.push(("x-amz-function-error", kind.as_str()));
                Reply::Full(build(StatusCode::OK, payload.to_vec(), common, &extra))
            }
            Output::Throttled => error_reply(&ApiError::throttled(), common),
            Output::Stream(_) => {
                error_reply(&ApiError::service("unexpected function output"), common)
            }
        }
    }
}

/// A Lambda response: JSON content type, length, request id, the remapped length header real
/// Lambda adds, the caller's trace id, and `extra` headers.
fn build(
    status: StatusCode,
    body: Vec<u8>,
    common: &Common<'_>,
    extra: &[(&str, &str)],
) -> Response<Vec<u8>> {
    let mut builder = Response::builder()
        .status(status)
        .header("x-amzn-RequestId", common.request_id);
    if status != StatusCode::NO_CONTENT {
        builder = builder
            .header("content-type", "application/json")
            .header("content-length", body.len());
    }
    builder = builder.header("x-amzn-Remapped-Content-Length", "0");
    if let Some(trace) = common.trace_id {
        builder = builder.header("X-Amzn-Trace-Id", trace.clone());
    }
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    builder.body(body).unwrap_or_else(|_| {
        let mut fallback = Response::new(Vec::new());
        *fallback.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

/// An API error: its status, JSON body and `x-amzn-ErrorType`.
fn error_reply(error: &ApiError, common: &Common<'_>) -> Reply {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = build(
        status,
        error.body.clone().into_bytes(),
        common,
        &[("x-amzn-ErrorType", error.error_type)],
    );
    response
        .headers_mut()
        .remove("x-amzn-remapped-content-length");
    Reply::Full(response)
}

/// A SigV4 refusal, shaped as for the other stages (`{"message": ...}`).
fn rejection_reply(r: &Rejection, common: &Common<'_>) -> Reply {
    let body = serde_json::json!({ "message": r.message }).to_string();
    let error = ApiError {
        status: r.status,
        error_type: r.error_type,
        body,
    };
    error_reply(&error, common)
}

/// Writes the head and the event stream, each message as soon as it exists (Pingora flushes
/// every chunk of a chunked HTTP/1.1 body and every HTTP/2 DATA frame).
async fn write_stream(
    session: &mut ServerSession,
    mut head: Box<ResponseHeader>,
    body: StreamBody,
    log_result: Option<String>,
    received: &Received,
) -> pingora::Result<()> {
    if !received.is_http2 {
        if received.http_version == "HTTP/1.0" {
            session.set_keepalive(None);
        } else {
            head.insert_header("transfer-encoding", "chunked")?;
        }
    }
    session.set_write_timeout(Some(STREAM_WRITE_TIMEOUT));
    session.write_response_header(head).await?;
    let log = log_result.as_deref();
    let complete = match body {
        StreamBody::Output(Output::Result(result)) => {
            for frame in event_stream::payload_chunks(&result) {
                session.write_response_body(frame, false).await?;
            }
            event_stream::invoke_complete(None, None, log)
        }
        StreamBody::Output(Output::Error { message, .. }) => {
            event_stream::invoke_complete(Some("Unhandled"), Some(&message), log)
        }
        StreamBody::Output(_) => {
            event_stream::invoke_complete(Some("ServiceException"), Some("no result"), log)
        }
        StreamBody::Plan(plan) => {
            if let Some(prelude) = &plan.prelude {
                let frame = event_stream::payload_chunk(prelude.clone());
                session.write_response_body(frame, false).await?;
            }
            for i in 0..plan.emitted() {
                if i > 0 {
                    tokio::time::sleep(plan.delay).await;
                }
                let frame = event_stream::payload_chunk(StreamPlan::chunk(i));
                session.write_response_body(frame, false).await?;
            }
            let failure = plan.failure();
            event_stream::invoke_complete(failure.map(|_| "Unhandled"), failure, log)
        }
    };
    session.write_response_body(complete, true).await
}
