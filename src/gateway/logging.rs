//! `logging`: metrics and one access log line per client request (format `text` or `json`,
//! written by `crate::gateway::access_log` without blocking the worker), never with secrets: no query
//! strings, no headers but the trace id. Also the requests Pingora refuses before any phase
//! ([`refused`], called through the vendored `request_refused` hook).

use pingora::prelude::*;
use pingora::protocols::http::ServerSession;
use pingora::proxy::Session;

use super::{ErrorCode, RequestCtx};
use crate::config::AccessLogConf;
use crate::gateway::access_log::{self, Entry};
use crate::metrics::{self, RefusedReason};

/// Metrics for the request (see `crate::metrics`): a client request is recorded once, by its
/// own logging, with what its child reported when a large signed body went through one; the
/// child records only its upstream connection (in `connected_to_upstream`).
pub fn record_metrics(session: &Session, ctx: &mut RequestCtx) {
    if ctx.is_subrequest() || session.subrequest_ctx.is_some() {
        return;
    }
    metrics::request_done(&metrics::RequestDone {
        route: ctx.route().map(|r| &**r),
        status: session.response_written().map_or(0, |r| r.status.as_u16()),
        duration: ctx.started.elapsed(),
        aws_duration: ctx.aws_duration,
        request_bytes: session.body_bytes_read() as u64,
        response_bytes: session.body_bytes_sent() as u64,
    });
    ctx.metrics_in_flight = None; // after recording, so in-flight 0 means all are counted
    metrics::runtime_tasks();
}

/// Whether access log lines are written: the configuration, and `RUST_LOG` for the `access`
/// target (`access=off` turns them off, as before the log had its own writer).
fn enabled(conf: &AccessLogConf) -> bool {
    conf.enabled && log::log_enabled!(target: "access", log::Level::Info)
}

/// Writes the access log line: client, method, path (no query: it may carry tokens), status,
/// route and kind, upstream status and connection reuse, total and AWS time, body bytes, AWS
/// request id, trace id, and the gateway's error code when it answered itself.
pub fn access_log(session: &Session, e: Option<&Error>, ctx: &RequestCtx, conf: &AccessLogConf) {
    // The child of a large signed body is logged by its parent (the request the client sees).
    if ctx.is_subrequest() || !enabled(conf) {
        return;
    }
    let req = session.req_header();
    let entry = Entry {
        time: None,
        client: session.client_addr().and_then(|a| a.as_inet()).copied(),
        method: Some(req.method.as_str()),
        path: Some(req.uri.path()),
        status: session.response_written().map_or(0, |r| r.status.as_u16()),
        route: ctx.route_name(),
        kind: metrics::route_labels(ctx.route().map(|r| &**r)).1.as_str(),
        upstream_status: ctx.upstream_status,
        upstream_reused: ctx.upstream_reused,
        total_ms: ctx.started.elapsed().as_secs_f64() * 1000.0,
        aws_ms: ctx.aws_duration.map(|d| d.as_secs_f64() * 1000.0),
        bytes_in: session.body_bytes_read() as u64,
        bytes_out: session.body_bytes_sent() as u64,
        aws_request_id: ctx.aws_request_id.as_deref(),
        trace: req.headers.get("x-amzn-trace-id").map(|v| v.as_bytes()),
        error: ctx.error_code.map(ErrorCode::as_str),
        cause: e.map(|e| e.etype().as_str()),
        api_key: ctx.api_key.as_deref(),
        principal: ctx.auth.as_ref().and_then(|g| g.principal()),
        client_cert: crate::mtls::client_cert(session).map(|c| c.subject_dn.as_str()),
    };
    access_log::write(entry.format(conf.format));
}

/// A request Pingora refused before any phase ran (its head could not be parsed, the client
/// cut it off, or `CONNECT`): counted, and logged with route `-`, method and path `-` (the head
/// may not have been parsed; its raw bytes may carry credentials and are never logged).
pub fn refused(session: &ServerSession, e: &Error, conf: &AccessLogConf) {
    let status = session.response_written().map_or(0, |r| r.status.as_u16());
    let reason = match (e.etype(), status) {
        (ErrorType::HTTPStatus(405), _) => RefusedReason::MethodNotAllowed,
        (_, 0) => RefusedReason::IncompleteRequest,
        _ => RefusedReason::BadRequest,
    };
    metrics::request_refused(reason, status);
    if !enabled(conf) {
        return;
    }
    let entry = Entry {
        client: session.client_addr().and_then(|a| a.as_inet()).copied(),
        status,
        route: metrics::NO_ROUTE,
        kind: metrics::NO_ROUTE,
        bytes_out: session.body_bytes_sent() as u64,
        error: Some(reason.as_str()),
        cause: Some(e.etype().as_str()),
        ..Entry::default()
    };
    access_log::write(entry.format(conf.format));
}
