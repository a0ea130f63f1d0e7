//! One call to the Lambda Invoke API over a pooled connection from Pingora's connector (the
//! same TLS peers, verification and pool rules as the proxy phases use).
//!
//! A connection taken from the pool may have been closed by AWS meanwhile; when writing the
//! request head on such a connection fails, nothing reached AWS and the call is retried at once
//! on a new connection. A connection that cannot be opened (refused, TLS failure, timeout) is
//! retried within the route's `retries` (`crate::retry`) on another of the endpoint's
//! addresses: at once while one is left that has not failed, else after the backoff. Anything
//! later is never retried here: an Invoke may have side effects.

use std::time::Instant;

use bytes::Bytes;
use log::debug;
use pingora::connectors::http::Connector;
use pingora::http::RequestHeader;
use pingora::protocols::http::client::HttpSession;
use pingora::protocols::http::v1::client::{http_req_header_to_wire, HttpSession as Http1Session};
use pingora::protocols::Stream;
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorType, Result};
use tokio::io::AsyncWriteExt;

use crate::function_name::InvokeTarget;
use crate::metrics;

/// A call whose response head has arrived.
pub struct InvokeCall {
    session: HttpSession,
    peer: Box<HttpPeer>,
    pub reused: bool,
}

/// Sends `head` and `body` and waits for the response head. `started` is when the call began
/// (the retry deadline counts from it); `route` names the route in metrics.
pub async fn send(
    connector: &Connector,
    t: &InvokeTarget,
    head: &RequestHeader,
    body: &Bytes,
    route: &str,
    started: Instant,
) -> Result<InvokeCall> {
    let unresolved = || {
        Error::explain(
            ErrorType::ConnectNoRoute,
            format!("Invoke endpoint {:?} is not resolved (yet)", t.host_header),
        )
    };
    let mut peer = t.peer(&[]).ok_or_else(unresolved)?;
    // Addresses whose connection could not be opened: the next attempt goes elsewhere.
    let mut failed: Vec<std::net::SocketAddr> = Vec::new();
    // The request on the wire, built once: head and (small) body in one buffer.
    let mut wire = http_req_header_to_wire(head).ok_or_else(|| {
        Error::explain(
            ErrorType::InvalidHTTPHeader,
            "Invoke request head not writable",
        )
    })?;
    let body_after_head = body.len() > SINGLE_WRITE_MAX;
    if !body_after_head {
        wire.extend_from_slice(body);
    }
    let wire = wire.freeze();
    let mut failed_connects = 0;
    let mut stale_retried = false;
    loop {
        let (session, reused) = match connector.get_http_session(&*peer).await {
            Ok(s) => s,
            Err(e) => {
                failed_connects += 1;
                if let Some(addr) = peer._address.as_inet() {
                    t.upstream.mark_down(*addr);
                    if !failed.contains(addr) {
                        failed.push(*addr);
                    }
                }
                match t.retry.next_delay(failed_connects, started) {
                    Some(delay) => {
                        metrics::retry(route, metrics::RetryReason::Connect);
                        // Another address that has not failed: try it at once.
                        if t.upstream.has_fresh(&failed) {
                            debug!("route {route}: connect failed ({e}), trying another address");
                        } else {
                            debug!("route {route}: connect failed ({e}), retrying in {delay:?}");
                            tokio::time::sleep(delay).await;
                        }
                        peer = t.peer(&failed).ok_or_else(unresolved)?;
                        continue;
                    }
                    None => return Err(e),
                }
            }
        };
        let written = match session {
            // HTTP/1.1 (every Invoke endpoint): the whole request in one write (see `write_once`).
            HttpSession::H1(h1) => {
                let mut stream = h1.into_inner();
                match write_once(&mut stream, &wire, body_after_head.then_some(body), t).await {
                    Ok(()) => Ok(HttpSession::H1(Http1Session::new_with_options(
                        stream, &*peer,
                    ))),
                    Err(e) => Err(e),
                }
            }
            mut other => {
                other.set_write_timeout(Some(t.read_timeout));
                match other.write_request_header(Box::new(head.clone())).await {
                    Ok(()) => {
                        other.write_request_body(body.clone(), true).await?;
                        other.finish_request_body().await?;
                        Ok(other)
                    }
                    Err(e) => Err(e),
                }
            }
        };
        let mut session = match written {
            Ok(s) => s,
            Err(e) if reused && !stale_retried => {
                debug!("route {route}: pooled connection closed ({e}); sending on a new one");
                stale_retried = true;
                continue; // stale pooled connection: the request did not go out
            }
            Err(e) => return Err(e),
        };
        session.set_read_timeout(Some(t.read_timeout));
        session.set_write_timeout(Some(t.read_timeout));
        session.read_response_header().await?;
        return Ok(InvokeCall {
            session,
            peer,
            reused,
        });
    }
}

/// Bodies up to this size are copied behind the head so the request leaves in one write.
const SINGLE_WRITE_MAX: usize = 64 * 1024;

/// Writes a request as one `write` (plus one flush) on an HTTP/1.1 connection. Pingora's h1
/// client writes and flushes the head, then the body: two sends and two wake-ups of the
/// server per request, which `load/RESULTS.md`'s profile showed as the largest single cost of
/// the Invoke path. `rest` is a body too large to copy, written after the head.
async fn write_once(
    stream: &mut Stream,
    wire: &[u8],
    rest: Option<&Bytes>,
    t: &InvokeTarget,
) -> Result<()> {
    let write = async {
        stream.write_all(wire).await?;
        if let Some(rest) = rest {
            stream.write_all(rest).await?;
        }
        stream.flush().await
    };
    match tokio::time::timeout(t.read_timeout, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            Err(Error::because(ErrorType::WriteError, "writing the Invoke request", e).into_up())
        }
        Err(_) => Error::e_explain(ErrorType::WriteTimedout, "writing the Invoke request")
            .map_err(|e| e.into_up()),
    }
}

impl InvokeCall {
    pub fn status(&self) -> u16 {
        self.session
            .response_header()
            .map_or(0, |h| h.status.as_u16())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.session
            .response_header()?
            .headers
            .get(name)?
            .to_str()
            .ok()
    }

    /// The next piece of the response body, `None` at the end.
    pub async fn read_chunk(&mut self) -> Result<Option<Bytes>> {
        self.session.read_response_body().await
    }

    /// Reads the rest of the body; more than `limit` bytes is an error.
    pub async fn read_to_end(&mut self, limit: usize) -> Result<Bytes> {
        let mut first: Option<Bytes> = None;
        let mut all: Vec<u8> = Vec::new();
        while let Some(chunk) = self.read_chunk().await? {
            if first.is_none() && all.is_empty() {
                first = Some(chunk);
                continue;
            }
            if let Some(f) = first.take() {
                all.extend_from_slice(&f);
            }
            all.extend_from_slice(&chunk);
            if all.len() > limit {
                return Error::e_explain(
                    ErrorType::InvalidHTTPHeader,
                    format!("Lambda response over {limit} bytes"),
                );
            }
        }
        let out = match first {
            Some(f) => f,
            None => Bytes::from(all),
        };
        if out.len() > limit {
            return Error::e_explain(
                ErrorType::InvalidHTTPHeader,
                format!("Lambda response over {limit} bytes"),
            );
        }
        Ok(out)
    }

    /// Returns the connection to the pool when the response was read to its end.
    pub async fn finish(
        mut self,
        connector: &Connector,
        keepalive: bool,
        idle: std::time::Duration,
    ) {
        if keepalive && self.session.response_done() {
            connector
                .release_http_session(self.session, &*self.peer, Some(idle))
                .await;
        } else {
            self.session.shutdown().await;
        }
    }
}
