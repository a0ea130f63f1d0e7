//! Egress through an HTTP CONNECT proxy (`proxy_url`): a Pingora custom L4 connector that
//! opens a TCP connection to the proxy, asks it to `CONNECT host:port`, and hands the tunnel
//! to Pingora, which then speaks TLS to AWS through it (SNI and verification unchanged).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::connectors::L4Connect;
use pingora::protocols::l4::socket::SocketAddr;
use pingora::protocols::l4::stream::Stream;
use pingora::{Error, ErrorType, OrErr, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::upstream::dns::UpstreamHost;

/// Largest CONNECT response head accepted.
const MAX_HEAD: usize = 8 * 1024;

#[derive(Debug)]
pub struct ConnectTunnel {
    /// The proxy's address (resolved in the background like any upstream).
    pub proxy: Arc<UpstreamHost>,
    /// `host:port` to tunnel to.
    pub authority: String,
    pub timeout: Duration,
}

#[async_trait]
impl L4Connect for ConnectTunnel {
    /// `addr` is the peer's address: the proxy address picked for this attempt (the route's
    /// upstream is the proxy host), so attempts are spread over the proxy's addresses too.
    async fn connect(&self, addr: &SocketAddr) -> Result<Stream> {
        let addr = match addr.as_inet() {
            Some(a) => *a,
            None => self.proxy.pick(&[]).ok_or_else(|| {
                Error::explain(
                    ErrorType::ConnectNoRoute,
                    "CONNECT proxy address not resolved",
                )
            })?,
        };
        let fut = async {
            let mut tcp = TcpStream::connect(addr)
                .await
                .or_err(ErrorType::ConnectRefused, "connecting to the CONNECT proxy")?;
            let req = format!(
                "CONNECT {a} HTTP/1.1\r\nHost: {a}\r\nProxy-Connection: keep-alive\r\n\r\n",
                a = self.authority
            );
            tcp.write_all(req.as_bytes())
                .await
                .or_err(ErrorType::ConnectError, "writing CONNECT")?;
            let mut head = Vec::with_capacity(256);
            let mut byte = [0u8; 1];
            // Read byte by byte so no tunnel byte is consumed past the head.
            while !head.ends_with(b"\r\n\r\n") {
                if head.len() >= MAX_HEAD {
                    return Error::e_explain(
                        ErrorType::ConnectProxyFailure,
                        "CONNECT response head too large",
                    );
                }
                let n = tcp
                    .read(&mut byte)
                    .await
                    .or_err(ErrorType::ConnectProxyFailure, "reading CONNECT response")?;
                if n == 0 {
                    return Error::e_explain(
                        ErrorType::ConnectProxyFailure,
                        "proxy closed during CONNECT",
                    );
                }
                head.push(byte[0]);
            }
            let status_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
            let ok = std::str::from_utf8(status_line)
                .ok()
                .and_then(|l| l.split_whitespace().nth(1))
                .is_some_and(|code| code.starts_with('2'));
            if !ok {
                let line = String::from_utf8_lossy(status_line).trim().to_string();
                return Error::e_explain(
                    ErrorType::ConnectProxyFailure,
                    format!("proxy refused CONNECT: {line}"),
                );
            }
            Ok(Stream::from(tcp))
        };
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Error::e_explain(ErrorType::ConnectTimedout, "CONNECT proxy timed out"),
        }
    }
}
