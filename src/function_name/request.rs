//! The Invoke request built from the client's: the body read in full (against the route's
//! limit and the process-wide body budget), the event in the route's format (`event`), and
//! the signed Invoke request head.

use std::time::{Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, HOST};
use pingora::prelude::*;
use pingora::proxy::Session;

use crate::aws::credentials::Identity;
use crate::aws::sigv4::sha256_hex;
use crate::config::PayloadVersionConf;
use crate::function_name::event::{
    apigw_v1_event, apigw_v2_event, forward_event, kong_args_event, RequestView,
};
use crate::function_name::{EventMode, InvokeTarget};
use crate::gateway::body_budget::BodyReservation;
use crate::gateway::request_body::{read_whole, BodyRead};
use crate::gateway::GatewayError;
use crate::metrics;
use std::sync::Arc;

/// Reads the whole request body (one chunk is kept as is, more are joined), reserving its
/// bytes in `reservation` as they arrive. `None` with the reason it stopped otherwise.
pub(super) async fn read_body(
    session: &mut Session,
    limit: u64,
    reservation: &mut BodyReservation,
) -> Result<std::result::Result<Bytes, BodyRead>> {
    if session.is_body_empty() {
        return Ok(Ok(Bytes::new()));
    }
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    let read = read_whole(session, limit, reservation, |chunk| match first.take() {
        None if buf.is_empty() => first = Some(chunk),
        f => {
            if let Some(f) = f {
                buf.extend_from_slice(&f);
            }
            buf.extend_from_slice(&chunk);
        }
    })
    .await?;
    Ok(match read {
        BodyRead::Complete(_) => Ok(first.unwrap_or_else(|| buf.freeze())),
        stopped => Err(stopped),
    })
}

pub(super) fn build_event(
    session: &Session,
    t: &InvokeTarget,
    path: &str,
    rest: Option<&str>,
    body: Bytes,
    api_key_id: Option<&str>,
    authorizer: Option<&crate::authorizers::Grant>,
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
        api_key_id,
        client_cert: crate::mtls::client_cert(session),
        authorizer,
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
pub(super) const HOP_BY_HOP: &[&str] = &[
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
pub(crate) fn end_to_end_headers(
    headers: &http::HeaderMap,
) -> std::borrow::Cow<'_, http::HeaderMap> {
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
pub(crate) fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!("{t:016x}-{:04x}-{n:012x}", process_id() & 0xffff)
}

/// This process's id, asked once: `std::process::id()` is a `getpid` system call each time
/// (glibc does not cache it). Requests are served only after daemonizing, so the value
/// is never the pre-fork parent's.
fn process_id() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// The signed Invoke request head.
pub(super) fn invoke_head(
    session: &Session,
    t: &InvokeTarget,
    identity: &Arc<Identity>,
    event: &Bytes,
) -> Result<RequestHeader> {
    let trace = session.req_header().headers.get("x-amzn-trace-id");
    signed_invoke_head(t, identity, event, trace)
}

/// The signed Invoke request head of `event` for `t` (also a Lambda authorizer's call), with
/// the client's `X-Amzn-Trace-Id` passed on when given.
pub(crate) fn signed_invoke_head(
    t: &InvokeTarget,
    identity: &Arc<Identity>,
    event: &Bytes,
    trace: Option<&http::HeaderValue>,
) -> Result<RequestHeader> {
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
    if let Some(trace) = trace {
        head.insert_header("x-amzn-trace-id", trace.clone())?;
    }
    let Some(identity) = t.signing.credentials.still_valid(identity) else {
        // Expired while the body was read: the same answer as before reading it.
        return Err(GatewayError::credentials_unavailable().into_pingora());
    };
    let payload_hash = sha256_hex(event);
    let signing_started = Instant::now();
    let signed = t.signing.signer.sign_request_header(
        &identity,
        &mut head,
        &payload_hash,
        SystemTime::now(),
    );
    metrics::signing(signing_started.elapsed());
    signed.map_err(|e| Error::explain(InternalError, format!("signing failed: {e}")))?;
    Ok(head)
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
