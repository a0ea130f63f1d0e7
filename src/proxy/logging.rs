//! `logging`: metrics and one access log line per request (log target `access`, format `text`
//! or `json`), never with secrets: no query strings, no headers but the trace id.

use log::info;
use pingora::prelude::*;
use pingora::proxy::Session;

use super::RequestCtx;
use crate::config::{AccessLogConf, AccessLogFormat};
use crate::metrics;

/// Metrics for the request (see `crate::metrics`): a client request is recorded once, by its
/// own logging; the child of a large signed body records only its AWS call, as the parent
/// records the request the client sees.
pub fn record_metrics(session: &Session, ctx: &mut RequestCtx) {
    let (route, kind) = metrics::route_labels(ctx.route.as_deref());
    if ctx.is_subrequest || session.subrequest_ctx.is_some() {
        if let Some(took) = ctx.aws_duration {
            metrics::aws_done(route, kind, took);
        }
        return;
    }
    metrics::request_done(&metrics::RequestDone {
        route,
        kind,
        status: session.response_written().map_or(0, |r| r.status.as_u16()),
        duration: ctx.started.elapsed(),
        aws_duration: ctx.aws_duration,
        request_bytes: session.body_bytes_read() as u64,
        response_bytes: session.body_bytes_sent() as u64,
    });
    ctx.metrics_in_flight = None; // after recording, so in-flight 0 means all are counted
    metrics::runtime_tasks();
}

/// Writes the access log line: client, method, path (no query: it may carry tokens), status,
/// route and kind, upstream status, total and AWS time, body bytes, AWS request id, trace id,
/// and the gateway's error code when it answered itself.
pub fn access_log(
    session: &mut Session,
    e: Option<&Error>,
    ctx: &mut RequestCtx,
    conf: &AccessLogConf,
) {
    // The child of a large signed body is logged by its parent (the request the client sees).
    if !conf.enabled || ctx.is_subrequest || !log::log_enabled!(target: "access", log::Level::Info)
    {
        return;
    }
    let status = session.response_written().map_or(0, |r| r.status.as_u16());
    let req = session.req_header();
    let client = session
        .client_addr()
        .map_or_else(|| "-".to_string(), |a| a.to_string());
    let (_, kind) = metrics::route_labels(ctx.route.as_deref());
    let trace = req
        .headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let total_ms = ctx.started.elapsed().as_secs_f64() * 1000.0;
    let aws_ms = ctx.aws_duration.map(|d| d.as_secs_f64() * 1000.0);
    let (bytes_in, bytes_out) = (session.body_bytes_read(), session.body_bytes_sent());
    match conf.format {
        AccessLogFormat::Json => {
            let line = serde_json::json!({
                "client": client,
                "method": req.method.as_str(),
                "path": req.uri.path(),
                "status": status,
                "route": ctx.route_name(),
                "kind": kind.as_str(),
                "upstream_status": ctx.upstream_status,
                "total_ms": (total_ms * 1000.0).round() / 1000.0,
                "aws_ms": aws_ms.map(|v| (v * 1000.0).round() / 1000.0),
                "bytes_in": bytes_in,
                "bytes_out": bytes_out,
                "aws_request_id": ctx.aws_request_id,
                "trace_id": (trace != "-").then_some(trace),
                "error": ctx.error_code,
                "cause": e.map(|e| e.etype().as_str()),
            });
            info!(target: "access", "{line}");
        }
        AccessLogFormat::Text => {
            info!(
                target: "access",
                "{client} \"{} {}\" {status} route={} kind={} upstream={} total_ms={total_ms:.3} aws_ms={} in={bytes_in} out={bytes_out} aws_request_id={} trace={trace}{}{}",
                req.method,
                req.uri.path(),
                ctx.route_name(),
                kind.as_str(),
                ctx.upstream_status.map_or_else(|| "-".to_string(), |s| s.to_string()),
                aws_ms.map_or_else(|| "-".to_string(), |v| format!("{v:.3}")),
                ctx.aws_request_id.as_deref().unwrap_or("-"),
                ctx.error_code.map_or(String::new(), |c| format!(" error={c}")),
                e.map_or(String::new(), |e| format!(" cause={}", e.etype().as_str())),
            );
        }
    }
}
