//! `--fast`: a benchmark backend that does as little as possible per request, so that it is
//! never the bottleneck when the gateway (or a baseline proxy) is measured in front of it
//! (`load/bench.sh`). It is not an emulation of AWS.
//!
//! A plain HTTP/1.1 server on tokio (no Pingora, no h2c, no TLS): keep-alive, pipelining,
//! `Content-Length` and chunked request bodies, `Expect: 100-continue`. Nothing is verified (no
//! SigV4, no API key, no payload or qualifier rules) and nothing is logged per request.
//!
//! | request                                                         | answer                                              |
//! |-----------------------------------------------------------------|-----------------------------------------------------|
//! | `POST /2015-03-31/functions/{name}/invocations`, short name `proxy` | 200, a small fixed proxy-integration result ([`PROXY_RESULT`]) |
//! | `POST /2015-03-31/functions/{any other name}/invocations`       | 200, the payload as received (`{}` when empty)      |
//! | `POST /2021-11-15/functions/{name}/response-streaming-invocations` | 200 chunked event stream: the payload as one `PayloadChunk`, then `InvokeComplete` |
//! | anything else (the stages)                                      | 200 `application/json`: the request body, or `{"ok":true}` when empty |
//!
//! Invoke answers carry `x-amzn-RequestId` (a counter in UUID form), `X-Amz-Executed-Version:
//! $LATEST` and `x-amzn-Remapped-Content-Length: 0` like the strict mode.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use log::debug;
use percent_encoding::percent_decode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::event_stream;

/// An idle keep-alive connection is closed after this long (as in the strict mode).
const KEEPALIVE: Duration = Duration::from_secs(60);
/// Largest request head; a larger one closes the connection with 431.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body kept; larger bodies are read to the end and dropped (answer: `{}`).
const MAX_KEPT_BODY: usize = 8 * 1024 * 1024;
const READ_CHUNK: usize = 16 * 1024;

/// The fixed result of the `proxy` function: an API Gateway proxy-integration response.
pub const PROXY_RESULT: &str =
    r#"{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{\"ok\":true}"}"#;
/// The stages' answer to an empty request body.
pub const EMPTY_ANSWER: &str = r#"{"ok":true}"#;

const INVOKE_PREFIX: &[u8] = b"/2015-03-31/functions/";
const INVOKE_SUFFIX: &[u8] = b"/invocations";
const STREAM_PREFIX: &[u8] = b"/2021-11-15/functions/";
const STREAM_SUFFIX: &[u8] = b"/response-streaming-invocations";

/// What a request is, from its raw path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Invoke of the function `proxy` (any name form).
    InvokeProxy,
    /// Invoke of any other function: echo.
    InvokeEcho,
    /// InvokeWithResponseStream: the payload as one chunk.
    Stream,
    /// Everything else.
    Stage,
}

impl Kind {
    pub fn of(raw_path: &[u8]) -> Kind {
        if let Some(name) = raw_path
            .strip_prefix(INVOKE_PREFIX)
            .and_then(|rest| rest.strip_suffix(INVOKE_SUFFIX))
        {
            return if short_name(name) == b"proxy" {
                Kind::InvokeProxy
            } else {
                Kind::InvokeEcho
            };
        }
        if raw_path
            .strip_prefix(STREAM_PREFIX)
            .and_then(|rest| rest.strip_suffix(STREAM_SUFFIX))
            .is_some()
        {
            return Kind::Stream;
        }
        Kind::Stage
    }
}

/// The short function name of a still percent-encoded `FunctionName` segment: `name`,
/// `name:Q`, `ACCOUNT:function:name[:Q]` or the full ARN.
fn short_name(segment: &[u8]) -> Vec<u8> {
    let decoded: Vec<u8> = percent_decode(segment).collect();
    let parts: Vec<&[u8]> = decoded.split(|&b| b == b':').collect();
    let name = match parts.iter().position(|p| *p == b"function") {
        Some(i) => parts.get(i + 1).copied().unwrap_or_default(),
        None => parts.first().copied().unwrap_or_default(),
    };
    name.to_vec()
}

/// Request ids: a counter in UUID form.
struct Ids(AtomicU64);

impl Ids {
    fn next(&self) -> String {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        format!("00000000-0000-4000-8000-{:012x}", n & 0xffff_ffff_ffff)
    }
}

/// Serves `addr` until the process ends, on `threads` tokio worker threads. `listener` is
/// bound already (so `READY` can follow).
pub fn run(listener: std::net::TcpListener, threads: usize) -> Result<(), String> {
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .map_err(|e| format!("tokio runtime: {e}"))?;
    runtime.block_on(async move {
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("listener: {e}"))?;
        let listener = TcpListener::from_std(listener).map_err(|e| format!("listener: {e}"))?;
        let ids = Arc::new(Ids(AtomicU64::new(1)));
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let ids = ids.clone();
                    tokio::spawn(async move {
                        if let Err(e) = serve(stream, &ids).await {
                            debug!("{peer}: {e}");
                        }
                    });
                }
                Err(e) => {
                    // EMFILE and the like: back off instead of spinning.
                    debug!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    })
}

/// Binds `addr` for [`run`].
pub fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, String> {
    std::net::TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))
}

/// The parts of a request head the fast mode looks at.
#[derive(Debug, Default, PartialEq, Eq)]
struct Head {
    path: Vec<u8>,
    content_length: Option<usize>,
    chunked: bool,
    close: bool,
    expect_continue: bool,
}

/// Parses a request head (without the final CRLFCRLF); `None` when it is not HTTP/1.x.
fn parse_head(head: &[u8]) -> Option<Head> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let request_line = lines.next()?;
    let mut parts = request_line.split(|&b| b == b' ').filter(|p| !p.is_empty());
    let _method = parts.next()?;
    let target = parts.next()?;
    let version = parts.next()?;
    let mut parsed = Head {
        close: version == b"HTTP/1.0",
        ..Head::default()
    };
    if !version.starts_with(b"HTTP/1.") {
        return None;
    }
    let path_end = target
        .iter()
        .position(|&b| b == b'?')
        .unwrap_or(target.len());
    parsed.path = target[..path_end].to_vec();
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii();
        let value = line[colon + 1..].trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") {
            parsed.content_length = std::str::from_utf8(value).ok()?.parse().ok();
            parsed.content_length?;
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            parsed.chunked = value
                .split(|&b| b == b',')
                .any(|v| v.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                if token.eq_ignore_ascii_case(b"close") {
                    parsed.close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    parsed.close = false;
                }
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            parsed.expect_continue = value.eq_ignore_ascii_case(b"100-continue");
        }
    }
    Some(parsed)
}

/// A connection's read side: a buffer in front of the socket.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
}

impl Conn {
    /// Reads more bytes; `Ok(false)` at end of stream.
    async fn fill(&mut self) -> std::io::Result<bool> {
        self.buf.reserve(READ_CHUNK);
        let n = tokio::time::timeout(KEEPALIVE, self.stream.read_buf(&mut self.buf))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
        Ok(n > 0)
    }

    /// The next request head, or `None` when the client closed between requests.
    async fn head(&mut self) -> std::io::Result<Option<BytesMut>> {
        let mut scanned = 0;
        loop {
            if let Some(i) = find(&self.buf[scanned..], b"\r\n\r\n") {
                let head = self.buf.split_to(scanned + i + 4);
                return Ok(Some(head));
            }
            scanned = self.buf.len().saturating_sub(3);
            if self.buf.len() > MAX_HEAD {
                return Err(invalid("request head too large"));
            }
            if !self.fill().await? {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(invalid("connection closed inside a request head"))
                };
            }
        }
    }

    /// Exactly `n` more body bytes, kept in `body` while it stays under [`MAX_KEPT_BODY`].
    async fn take(&mut self, mut n: usize, body: &mut Body) -> std::io::Result<()> {
        while n > 0 {
            if self.buf.is_empty() && !self.fill().await? {
                return Err(invalid("connection closed inside a body"));
            }
            let k = n.min(self.buf.len());
            body.push(self.buf.split_to(k).freeze());
            n -= k;
        }
        Ok(())
    }

    /// One CRLF-terminated line (for chunk sizes and trailers).
    async fn line(&mut self) -> std::io::Result<BytesMut> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let mut line = self.buf.split_to(i + 2);
                line.truncate(i);
                return Ok(line);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(invalid("line too long"));
            }
            if !self.fill().await? {
                return Err(invalid("connection closed inside a chunked body"));
            }
        }
    }

    async fn chunked(&mut self, body: &mut Body) -> std::io::Result<()> {
        loop {
            let line = self.line().await?;
            let size = line[..]
                .split(|&b| b == b';')
                .next()
                .unwrap_or_default()
                .trim_ascii();
            let size = std::str::from_utf8(size)
                .ok()
                .and_then(|s| usize::from_str_radix(s, 16).ok())
                .ok_or_else(|| invalid("bad chunk size"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !self.line().await?.is_empty() {}
                return Ok(());
            }
            self.take(size, body).await?;
            if !self.line().await?.is_empty() {
                return Err(invalid("chunk not followed by CRLF"));
            }
        }
    }
}

/// A request body: one piece without copying, several pieces joined, or dropped when too large.
#[derive(Default)]
struct Body {
    parts: Vec<Bytes>,
    len: usize,
}

impl Body {
    fn push(&mut self, piece: Bytes) {
        self.len += piece.len();
        if self.len <= MAX_KEPT_BODY {
            self.parts.push(piece);
        } else {
            self.parts.clear();
        }
    }

    fn into_bytes(mut self) -> Bytes {
        match self.parts.len() {
            0 => Bytes::new(),
            1 => self.parts.pop().unwrap_or_default(),
            _ => {
                let mut all = BytesMut::with_capacity(self.len);
                for p in &self.parts {
                    all.extend_from_slice(p);
                }
                all.freeze()
            }
        }
    }
}

fn invalid(message: &'static str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn serve(stream: TcpStream, ids: &Ids) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut conn = Conn {
        stream,
        buf: BytesMut::with_capacity(READ_CHUNK),
    };
    let mut out = Vec::with_capacity(READ_CHUNK);
    loop {
        let Some(raw) = conn.head().await? else {
            return Ok(());
        };
        let Some(head) = parse_head(&raw) else {
            let bad = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
            conn.stream.write_all(bad).await?;
            return Ok(());
        };
        if head.expect_continue {
            conn.stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await?;
        }
        let mut body = Body::default();
        if head.chunked {
            conn.chunked(&mut body).await?;
        } else if let Some(n) = head.content_length {
            conn.take(n, &mut body).await?;
        }
        out.clear();
        respond(
            &mut out,
            Kind::of(&head.path),
            body.into_bytes(),
            head.close,
            ids,
        );
        conn.stream.write_all(&out).await?;
        if head.close {
            return Ok(());
        }
    }
}

/// Writes the whole response (head and body) into `out`.
fn respond(out: &mut Vec<u8>, kind: Kind, body: Bytes, close: bool, ids: &Ids) {
    let or_empty = |body: Bytes, empty: &'static str| {
        if body.is_empty() {
            Bytes::from_static(empty.as_bytes())
        } else {
            body
        }
    };
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    let body = match kind {
        Kind::Stage => or_empty(body, EMPTY_ANSWER),
        Kind::InvokeEcho | Kind::InvokeProxy => {
            invoke_headers(out, ids);
            out.extend_from_slice(b"x-amzn-Remapped-Content-Length: 0\r\n");
            if kind == Kind::InvokeProxy {
                Bytes::from_static(PROXY_RESULT.as_bytes())
            } else {
                or_empty(body, "{}")
            }
        }
        Kind::Stream => {
            let payload = or_empty(body, "{}");
            let mut wire = BytesMut::new();
            for frame in event_stream::payload_chunks(&payload) {
                wire.extend_from_slice(&frame);
            }
            wire.extend_from_slice(&event_stream::invoke_complete(None, None, None));
            invoke_headers(out, ids);
            out.extend_from_slice(b"content-type: application/octet-stream\r\n");
            out.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
            out.extend_from_slice(format!("{:x}\r\n", wire.len()).as_bytes());
            out.extend_from_slice(&wire);
            out.extend_from_slice(b"\r\n0\r\n\r\n");
            return;
        }
    };
    out.extend_from_slice(b"content-type: application/json\r\ncontent-length: ");
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(&body);
}

fn invoke_headers(out: &mut Vec<u8>, ids: &Ids) {
    out.extend_from_slice(b"x-amzn-RequestId: ");
    out.extend_from_slice(ids.next().as_bytes());
    out.extend_from_slice(b"\r\nX-Amz-Executed-Version: $LATEST\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        let inv = |n: &str| format!("/2015-03-31/functions/{n}/invocations");
        assert_eq!(Kind::of(inv("echo").as_bytes()), Kind::InvokeEcho);
        assert_eq!(Kind::of(inv("proxy").as_bytes()), Kind::InvokeProxy);
        assert_eq!(Kind::of(inv("proxy%3Aprod").as_bytes()), Kind::InvokeProxy);
        let arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aproxy%3Aprod";
        assert_eq!(Kind::of(inv(arn).as_bytes()), Kind::InvokeProxy);
        assert_eq!(Kind::of(inv("inspect").as_bytes()), Kind::InvokeEcho);
        assert_eq!(Kind::of(inv("notproxy").as_bytes()), Kind::InvokeEcho);
        assert_eq!(
            Kind::of(b"/2021-11-15/functions/echo/response-streaming-invocations"),
            Kind::Stream
        );
        assert_eq!(Kind::of(b"/open/x"), Kind::Stage);
        assert_eq!(Kind::of(b"/2015-03-31/functions/echo"), Kind::Stage);
    }

    #[test]
    fn heads() {
        let h = parse_head(
            b"POST /open/x?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\nExpect: 100-continue",
        )
        .unwrap();
        assert_eq!(h.path, b"/open/x");
        assert_eq!(h.content_length, Some(12));
        assert!(h.expect_continue && !h.close && !h.chunked);
        let h =
            parse_head(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close")
                .unwrap();
        assert!(h.chunked && h.close);
        let h = parse_head(b"GET / HTTP/1.0").unwrap();
        assert!(h.close);
        assert!(parse_head(b"GET / HTTP/2").is_none());
        assert!(parse_head(b"POST / HTTP/1.1\r\nContent-Length: x").is_none());
    }

    #[test]
    fn responses() {
        let ids = Ids(AtomicU64::new(1));
        let text = |kind, body: &'static [u8], close| {
            let mut out = Vec::new();
            respond(&mut out, kind, Bytes::from_static(body), close, &ids);
            String::from_utf8_lossy(&out).into_owned()
        };
        let r = text(Kind::Stage, b"", false);
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(r.ends_with("content-length: 11\r\n\r\n{\"ok\":true}"));
        let r = text(Kind::InvokeEcho, b"{\"a\":1}", true);
        assert!(r.contains("connection: close\r\n"));
        assert!(r.contains("x-amzn-RequestId: 00000000-0000-4000-8000-"));
        assert!(r.ends_with("\r\n\r\n{\"a\":1}"));
        let r = text(Kind::InvokeProxy, b"{}", false);
        assert!(r.ends_with(PROXY_RESULT));
        let r = text(Kind::Stream, b"{}", false);
        assert!(r.contains("transfer-encoding: chunked\r\n\r\n"));
        assert!(r.ends_with("\r\n0\r\n\r\n"));
    }
}
