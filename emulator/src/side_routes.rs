//! The emulator's endpoints beside the stages and the Lambda API, on every listener and
//! without authentication: the OIDC documents of [`oidc`](crate::oidc) (each fetch counted,
//! the JWKS held back by `--jwks-delay-ms`) and `/__emulator/counters`. GET and HEAD only;
//! other methods are answered 405.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Method, Response, StatusCode};
use log::{info, warn};
use pingora::protocols::http::ServerSession;

use crate::counters::Counters;
use crate::oidc::{self, Document, JwksError, Oidc};
use crate::reply;
use crate::wire::{self, Received};

/// Where the counters are served.
pub const COUNTERS_PATH: &[u8] = b"/__emulator/counters";

/// One of the side endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Oidc(Document),
    Counters,
}

/// The side endpoints and what they serve.
pub struct SideRoutes {
    oidc: Oidc,
    counters: Arc<Counters>,
    jwks_delay: Duration,
}

impl SideRoutes {
    pub fn new(oidc: Oidc, counters: Arc<Counters>, jwks_delay: Duration) -> Self {
        SideRoutes {
            oidc,
            counters,
            jwks_delay,
        }
    }

    /// The endpoint `raw_path` (without its query) names, if any.
    pub fn endpoint(&self, raw_path: &[u8]) -> Option<Endpoint> {
        if raw_path == COUNTERS_PATH {
            return Some(Endpoint::Counters);
        }
        self.oidc.document(raw_path).map(Endpoint::Oidc)
    }

    /// Reads the request (body to the end, so the connection can be reused) and answers it.
    pub async fn response(
        &self,
        session: &mut ServerSession,
        endpoint: Endpoint,
    ) -> Response<Vec<u8>> {
        let started = Instant::now();
        let received = Received::from_session(session);
        let tls = session.digest().is_some_and(|d| d.ssl_digest.is_some());
        let mut reply = match wire::read_body(session, false).await {
            Ok(_) => self.answer(&received, endpoint, tls).await,
            Err(e) => {
                warn!("reading the request body failed: {e}");
                session.set_keepalive(None);
                reply::error(
                    400,
                    "BadRequestException",
                    "Could not read the request body",
                )
            }
        };
        if received.method == Method::HEAD {
            reply.body_mut().clear();
        }
        info!(
            "{} {} {} -> {} peer={} {}ms",
            received.http_version,
            received.method,
            received.path_text(),
            reply.status().as_u16(),
            received.peer.as_deref().unwrap_or("-"),
            started.elapsed().as_millis()
        );
        reply
    }

    async fn answer(
        &self,
        received: &Received,
        endpoint: Endpoint,
        tls: bool,
    ) -> Response<Vec<u8>> {
        if received.method != Method::GET && received.method != Method::HEAD {
            let mut reply = reply::error(405, "MethodNotAllowedException", "Method Not Allowed");
            reply.headers_mut().insert(
                http::header::ALLOW,
                http::HeaderValue::from_static("GET, HEAD"),
            );
            return reply;
        }
        match endpoint {
            Endpoint::Counters => json(self.counters.document()),
            Endpoint::Oidc(Document::Jwks) => self.jwks().await,
            Endpoint::Oidc(Document::Discovery) => {
                self.counters.discovery_fetched();
                let host = received
                    .header_map
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok());
                match self.oidc.issuer(host, tls) {
                    Some(issuer) => json(oidc::discovery_document(&issuer)),
                    None => reply::error(400, "BadRequestException", "No Host header"),
                }
            }
        }
    }

    /// The JWKS file as it is after the delay: 404 without `--jwks-file`, 503 when unreadable.
    async fn jwks(&self) -> Response<Vec<u8>> {
        self.counters.jwks_fetched();
        if !self.jwks_delay.is_zero() {
            tokio::time::sleep(self.jwks_delay).await;
        }
        match self.oidc.jwks() {
            Ok(keys) => json(keys),
            Err(JwksError::NotConfigured) => reply::error(404, "NotFoundException", "Not Found"),
            Err(JwksError::Unavailable(why)) => {
                warn!("JWKS unavailable: {why}");
                reply::error(503, "ServiceUnavailableException", "JWKS unavailable")
            }
        }
    }
}

/// A 200 JSON answer.
fn json(body: Vec<u8>) -> Response<Vec<u8>> {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(body)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let side = SideRoutes::new(Oidc::default(), Arc::default(), Duration::ZERO);
        assert_eq!(
            side.endpoint(b"/__emulator/counters"),
            Some(Endpoint::Counters)
        );
        assert_eq!(
            side.endpoint(b"/.well-known/jwks.json"),
            Some(Endpoint::Oidc(Document::Jwks))
        );
        assert_eq!(
            side.endpoint(b"/.well-known/openid-configuration"),
            Some(Endpoint::Oidc(Document::Discovery))
        );
        assert_eq!(side.endpoint(b"/__emulator/counters/"), None);
        assert_eq!(side.endpoint(b"/open/x"), None);
        assert_eq!(side.endpoint(b"/"), None);
    }
}
