//! `fail_to_proxy`: errors of the proxy phases become a [`GatewayError`] answer (the one a
//! phase raised, or the classification of an upstream fault: 502/504, see
//! [`classify`](super::error::classify)) and one log line naming the route; never a bare 500.

use log::warn;
use pingora::prelude::*;
use pingora::proxy::{FailToProxy, Session};

use super::{respond, GatewayError, RequestCtx};

pub async fn fail_to_proxy(session: &mut Session, e: &Error, ctx: &mut RequestCtx) -> FailToProxy {
    let mut err = GatewayError::from_pingora(e);
    // A code set by the phase that raised the error is more precise than the classification.
    if let Some(code) = ctx.error_code {
        err.code = code;
    }
    ctx.error_code = Some(err.code);
    warn!(
        "route {}: {} {} ({}): {}",
        ctx.route_name(),
        err.status,
        err.code,
        e.etype().as_str(),
        e
    );
    // A subrequest's parent writes the answer; the child only reports the failure.
    if err.status > 0 && !ctx.is_subrequest() && session.response_written().is_none() {
        err.keep_connection = false;
        let _ = respond::write_error(session, &err).await;
    }
    FailToProxy {
        error_code: err.status,
        can_reuse_downstream: false,
    }
}
