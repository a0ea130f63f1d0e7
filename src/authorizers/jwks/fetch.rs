//! One HTTP GET of a discovery document or key set, over Pingora's connector (the same TLS
//! stack, system trust store and verification as the upstream phases). Run by the background
//! refresher only: the host is resolved at each fetch, nothing is pooled.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use pingora::connectors::http::Connector;
use pingora::http::RequestHeader;
use pingora::tls::x509::X509;
use pingora::upstreams::peer::HttpPeer;

use crate::upstream::url::UpstreamUrl;

/// Largest document read: key sets are a few KiB.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// What a fetch is allowed to trust, and how long it may take.
#[derive(Clone)]
pub struct FetchOptions {
    /// PEM certificates to trust instead of the system store (`jwt_configuration.ca_file`).
    pub ca: Option<Arc<Box<[X509]>>>,
    /// Connect, send and read together.
    pub timeout: Duration,
}

/// A fetched document and the `Cache-Control: max-age` it came with.
pub struct Fetched {
    pub body: Bytes,
    pub max_age: Option<Duration>,
}

/// GETs `url` (its path is `base_path`, a query is not allowed by [`UpstreamUrl`]); only a
/// 200 is a document.
pub async fn get(
    connector: &Connector,
    url: &UpstreamUrl,
    o: &FetchOptions,
) -> Result<Fetched, String> {
    match tokio::time::timeout(o.timeout, get_inner(connector, url, o)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {} ms", o.timeout.as_millis())),
    }
}

async fn get_inner(
    connector: &Connector,
    url: &UpstreamUrl,
    o: &FetchOptions,
) -> Result<Fetched, String> {
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((url.host.as_str(), url.port))
        .await
        .map_err(|e| format!("cannot resolve {}: {e}", url.host))?
        .collect();
    let mut last = format!("{} resolved to no address", url.host);
    for addr in addrs {
        let mut peer = HttpPeer::new(addr, url.https, url.host.clone());
        peer.options.connection_timeout = Some(o.timeout);
        peer.options.total_connection_timeout = Some(o.timeout);
        peer.options.read_timeout = Some(o.timeout);
        peer.options.write_timeout = Some(o.timeout);
        peer.options.ca = o.ca.clone();
        let (mut session, _) = match connector.get_http_session(&peer).await {
            Ok(s) => s,
            Err(e) => {
                last = format!("cannot connect to {addr}: {e}");
                continue;
            }
        };
        let path = if url.base_path.is_empty() {
            "/"
        } else {
            url.base_path.as_str()
        };
        let mut head = RequestHeader::build("GET", path.as_bytes(), None)
            .map_err(|e| format!("request: {e}"))?;
        for (name, value) in [
            ("host", url.host_header.as_str()),
            ("accept", "application/json"),
            (
                "user-agent",
                concat!("lambda-proxy/", env!("CARGO_PKG_VERSION")),
            ),
        ] {
            head.insert_header(name, value)
                .map_err(|e| format!("request: {e}"))?;
        }
        session
            .write_request_header(Box::new(head))
            .await
            .map_err(|e| format!("sending the request: {e}"))?;
        session
            .finish_request_body()
            .await
            .map_err(|e| format!("sending the request: {e}"))?;
        session
            .read_response_header()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?;
        let (status, max_age) = match session.response_header() {
            Some(h) => (h.status.as_u16(), max_age(&h.headers)),
            None => (0, None),
        };
        let mut body = BytesMut::new();
        while let Some(chunk) = session
            .read_response_body()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOCUMENT_BYTES {
                return Err(format!("the answer is over {MAX_DOCUMENT_BYTES} bytes"));
            }
        }
        session.shutdown().await;
        if status != 200 {
            return Err(format!("answered {status}"));
        }
        return Ok(Fetched {
            body: body.freeze(),
            max_age,
        });
    }
    Err(last)
}

/// `Cache-Control: max-age=N` (a `no-store` / `no-cache` answer counts as 0).
fn max_age(headers: &http::HeaderMap) -> Option<Duration> {
    let mut found = None;
    for v in headers.get_all(http::header::CACHE_CONTROL) {
        for directive in v.to_str().ok()?.split(',') {
            let d = directive.trim().to_ascii_lowercase();
            if d == "no-store" || d == "no-cache" {
                return Some(Duration::ZERO);
            }
            if let Some(n) = d.strip_prefix("max-age=") {
                found = n
                    .trim_matches('"')
                    .parse::<u64>()
                    .ok()
                    .map(Duration::from_secs);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_directives() {
        let h = |v: &str| {
            let mut m = http::HeaderMap::new();
            m.insert(http::header::CACHE_CONTROL, v.parse().unwrap());
            max_age(&m)
        };
        assert_eq!(h("public, max-age=300"), Some(Duration::from_secs(300)));
        assert_eq!(h("max-age=\"60\""), Some(Duration::from_secs(60)));
        assert_eq!(h("no-cache"), Some(Duration::ZERO));
        assert_eq!(h("public"), None);
        assert_eq!(h("max-age=x"), None);
        assert_eq!(max_age(&http::HeaderMap::new()), None);
    }
}
