//! What arrived on the wire: the raw request target split into path and query, headers in
//! received order, HTTP version and peer address, and the body read in full (hashed as it
//! streams; the bytes are kept only when the signature check needs them or they are small).

use bytes::{Bytes, BytesMut};
use http::header::HOST;
use http::{HeaderMap, HeaderValue, Method};
use pingora::protocols::http::ServerSession;
use sha2::{Digest, Sha256};

/// Bodies up to this size are echoed back as text (when valid UTF-8).
pub const TEXT_LIMIT: usize = 1_048_576;
/// Largest body kept whole for SigV4 verification; larger ones are refused with 413.
pub const MAX_SIGNED_BODY: usize = 256 * 1024 * 1024;

/// The request line and headers of one request.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    /// Raw path without the query, exactly as received.
    pub raw_path: Vec<u8>,
    /// Raw query without the `?`, exactly as received; `None` when there was no `?`.
    pub raw_query: Option<Vec<u8>>,
    /// Headers in received order, lower-case names, duplicates kept (for the echo).
    pub headers: Vec<(String, String)>,
    /// The same headers as a map (plus `host` from `:authority` for HTTP/2), for the auth checks.
    pub header_map: HeaderMap,
    pub http_version: String,
    pub peer: Option<String>,
    pub is_http2: bool,
}

impl Received {
    pub fn from_session(session: &ServerSession) -> Self {
        let req = session.req_header();
        let (raw_path, raw_query) = split_target(req.raw_path());
        let mut header_map = req.headers.clone();

        let mut headers = session
            .as_http1()
            .map(|h1| raw_h1_headers(&h1.get_headers_raw_bytes()))
            .filter(|parsed| parsed.len() == header_map.len())
            .unwrap_or_else(|| {
                header_map
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), lossy(v.as_bytes())))
                    .collect()
            });

        // HTTP/2 carries the host in `:authority`; AWS (and SigV4) see it as `host`.
        if !header_map.contains_key(HOST) {
            if let Some(authority) = req.uri.authority() {
                if let Ok(value) = HeaderValue::from_str(authority.as_str()) {
                    header_map.insert(HOST, value);
                    headers.insert(0, ("host".to_string(), authority.as_str().to_string()));
                }
            }
        }

        Received {
            method: req.method.clone(),
            raw_path,
            raw_query,
            headers,
            header_map,
            http_version: format!("{:?}", req.version),
            peer: session.client_addr().map(|a| a.to_string()),
            is_http2: session.is_http2(),
        }
    }

    pub fn path_text(&self) -> String {
        lossy(&self.raw_path)
    }

    /// The raw query as text; empty when there was none.
    pub fn query_text(&self) -> String {
        self.raw_query.as_deref().map(lossy).unwrap_or_default()
    }

    /// Whether an HTTP/1.1 client waits for `100 Continue` before sending the body.
    pub fn expects_continue(&self) -> bool {
        !self.is_http2
            && self
                .header_map
                .get_all(http::header::EXPECT)
                .iter()
                .any(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
    }
}

/// The request body, summarised.
#[derive(Debug, Clone)]
pub struct Body {
    pub len: u64,
    pub sha256: String,
    /// The body as text when it is at most [`TEXT_LIMIT`] bytes of valid UTF-8.
    pub text: Option<String>,
    /// The whole body, when it was asked for and not larger than [`MAX_SIGNED_BODY`].
    pub full: Option<Bytes>,
    /// The whole body was asked for but exceeded [`MAX_SIGNED_BODY`].
    pub too_large: bool,
}

/// Reads the body to the end, hashing it incrementally. `keep_all` keeps every byte (needed to
/// check a signature); otherwise only the first [`TEXT_LIMIT`] bytes are held, for the echo.
pub async fn read_body(session: &mut ServerSession, keep_all: bool) -> pingora::Result<Body> {
    let mut hasher = Sha256::new();
    let mut len: u64 = 0;
    let mut kept = BytesMut::new();
    let mut keeping = true;
    let mut too_large = false;
    let limit = if keep_all {
        MAX_SIGNED_BODY
    } else {
        TEXT_LIMIT
    };

    while let Some(chunk) = session.read_request_body().await? {
        hasher.update(&chunk);
        len += chunk.len() as u64;
        if keeping {
            if kept.len() + chunk.len() <= limit {
                kept.extend_from_slice(&chunk);
            } else {
                keeping = false;
                too_large = keep_all;
                kept = BytesMut::new();
            }
        }
    }

    let text = if keeping && kept.len() <= TEXT_LIMIT {
        std::str::from_utf8(&kept).ok().map(str::to_string)
    } else {
        None
    };
    Ok(Body {
        len,
        sha256: hex::encode(hasher.finalize()),
        text,
        full: (keep_all && keeping).then(|| kept.freeze()),
        too_large,
    })
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Splits a raw request target into raw path and raw query. Absolute-form targets
/// (`http://host/p?q`) lose their scheme and authority.
pub fn split_target(raw: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut target = raw;
    if !raw.starts_with(b"/") {
        if let Some(pos) = raw.windows(3).position(|w| w == b"://") {
            let rest = &raw[pos + 3..];
            target = rest
                .iter()
                .position(|&c| c == b'/' || c == b'?')
                .map_or(&b""[..], |i| &rest[i..]);
        }
    }
    let (path, query) = match target.iter().position(|&c| c == b'?') {
        Some(i) => (&target[..i], Some(target[i + 1..].to_vec())),
        None => (target, None),
    };
    let path = if path.is_empty() {
        b"/".to_vec()
    } else {
        path.to_vec()
    };
    (path, query)
}

/// Header lines of a raw HTTP/1 request head, in order: lower-case names, trimmed values.
fn raw_h1_headers(head: &[u8]) -> Vec<(String, String)> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    lines.next(); // the request line
    lines
        .take_while(|line| !line.is_empty())
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let name = lossy(&line[..colon]).trim().to_ascii_lowercase();
            let value = line[colon + 1..].trim_ascii();
            Some((name, lossy(value)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let split = |t: &[u8]| {
            let (p, q) = split_target(t);
            (
                String::from_utf8(p).unwrap(),
                q.map(|q| String::from_utf8(q).unwrap()),
            )
        };
        assert_eq!(
            split(b"/iam/a%20b?x=1&y"),
            ("/iam/a%20b".into(), Some("x=1&y".into()))
        );
        assert_eq!(split(b"/open"), ("/open".into(), None));
        assert_eq!(split(b"/open?"), ("/open".into(), Some(String::new())));
        assert_eq!(
            split(b"http://h:1/open/x?q"),
            ("/open/x".into(), Some("q".into()))
        );
        assert_eq!(split(b"http://h?q"), ("/".into(), Some("q".into())));
        assert_eq!(split(b""), ("/".into(), None));
    }

    #[test]
    fn raw_headers_keep_order_and_duplicates() {
        let head = b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nAccept: */*\r\nx-a:  2 \r\n\r\n";
        assert_eq!(
            raw_h1_headers(head),
            vec![
                ("host".to_string(), "h".to_string()),
                ("x-a".into(), "1".into()),
                ("accept".into(), "*/*".into()),
                ("x-a".into(), "2".into()),
            ]
        );
    }
}
