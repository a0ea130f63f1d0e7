//! `logging`: one access log line per request (log target `access`), never with secrets:
//! only the method, the path without query, status, route and timings.

use log::info;
use pingora::prelude::*;
use pingora::proxy::Session;

use super::RequestCtx;
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
}

pub fn access_log(session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
    if ctx.answered_by_subrequest {
        return; // the child logged it
    }
    let status = session.response_written().map_or(0, |r| r.status.as_u16());
    let req = session.req_header();
    info!(
        target: "access",
        "{} \"{} {}\" {} route={} dur_ms={} body_in={} {}{}",
        session
            .client_addr()
            .map_or_else(|| "-".to_string(), |a| a.to_string()),
        req.method,
        req.uri.path(),
        status,
        ctx.route_name(),
        ctx.started.elapsed().as_millis(),
        session.body_bytes_read(),
        ctx.error_code.map_or(String::new(), |c| format!("error={c} ")),
        e.map_or(String::new(), |e| format!("cause={}", e.etype().as_str())),
    );
}
