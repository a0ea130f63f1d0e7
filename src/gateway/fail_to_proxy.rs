//! `fail_to_proxy`: upstream faults become the right status with a short JSON body and one
//! log line naming the route; never a bare 500.
//!
//! | fault | status |
//! |---|---|
//! | connect refused / no route / TLS or certificate failure / bad upstream answer | 502 |
//! | connect, read or write timeout | 504 |
//! | an explicit status (`HTTPStatus(n)`) | n |
//! | the client's body cannot be read (bad framing) | 400 |
//! | the client stopped sending its body (`client.body_timeout`) | 408 |
//! | client went away | none (nothing can be sent) |

use log::warn;
use pingora::prelude::*;
use pingora::proxy::{FailToProxy, Session};
use pingora::ErrorSource;

use super::{respond, RequestCtx};

/// Maps an error to (status, code); status 0 means the client is gone.
pub fn classify(e: &Error) -> (u16, &'static str) {
    if matches!(e.esource(), ErrorSource::Downstream) {
        return match e.etype() {
            HTTPStatus(s) => (*s, "error"),
            // The client stopped sending its body (`client.body_timeout`).
            ReadTimedout => (408, "client_timeout"),
            WriteTimedout | ConnectionClosed | WriteError | ReadError => (0, "client_gone"),
            _ => (400, "bad_request"),
        };
    }
    match e.etype() {
        HTTPStatus(413) => (413, "body_too_large"),
        HTTPStatus(s) => (*s, "error"),
        ConnectTimedout | ReadTimedout | WriteTimedout | TLSHandshakeTimedout => {
            (504, "upstream_timeout")
        }
        TLSHandshakeFailure | InvalidCert | HandshakeError => (502, "upstream_tls_error"),
        ConnectRefused | ConnectNoRoute | ConnectError | BindError | SocketError
        | ConnectProxyFailure => (502, "upstream_unreachable"),
        _ => match e.esource() {
            ErrorSource::Upstream => (502, "upstream_error"),
            _ => (502, "gateway_error"),
        },
    }
}

pub async fn fail_to_proxy(session: &mut Session, e: &Error, ctx: &mut RequestCtx) -> FailToProxy {
    let (status, code) = classify(e);
    // A code set by the phase that raised the error is more precise than the classification.
    let code = ctx.error_code.unwrap_or(code);
    ctx.error_code = Some(code);
    warn!(
        "route {}: {} {} ({}): {}",
        ctx.route_name(),
        status,
        code,
        e.etype().as_str(),
        e
    );
    // A subrequest's parent writes the answer; the child only reports the failure.
    if status > 0 && !ctx.is_subrequest && session.response_written().is_none() {
        let message = match code {
            "upstream_timeout" => "the upstream did not answer in time",
            "upstream_tls_error" => "TLS with the upstream failed",
            "upstream_unreachable" => "the upstream could not be reached",
            "body_too_large" => "request body is over this route's limit",
            "bad_request" => "the request could not be read",
            "client_timeout" => "the request body did not arrive in time",
            "credentials_unavailable" => {
                "the gateway has no valid AWS credentials for this route yet"
            }
            _ => "the upstream request failed",
        };
        let mut extra = Vec::new();
        if status == 503 {
            extra.push(("retry-after", "1".to_string()));
        }
        let _ = respond::json_error(session, status, code, message, &extra, false).await;
    }
    FailToProxy {
        error_code: status,
        can_reuse_downstream: false,
    }
}
