//! `logging`: one access log line per request (log target `access`), never with secrets:
//! only the method, the path without query, status, route and timings.

use log::info;
use pingora::prelude::*;
use pingora::proxy::Session;

use super::RequestCtx;

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
