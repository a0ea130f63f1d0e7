// Copyright 2026 Cloudflare, Inc.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
// http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

//! lambda-proxy patch 0005: a request head held back and sent with the first piece of body.
//!
//! [`HeadFirst`] wraps the client's stream for one body write: the first `poll_write` sends
//! the pending head and the body together, as one vectored write when the stream supports it,
//! or as one copied buffer when both are small; its callers see only body bytes counted.

use bytes::{Buf, Bytes};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::AsyncWrite;

/// Head and body up to this size are copied into one buffer for streams without vectored
/// writes (TLS): one record and one send instead of two.
const COPY_MAX: usize = 16 * 1024;

/// A writer that sends `head` before anything written through it, in the same write when it
/// can. Any head bytes not sent yet stay in `head` (callers check it is empty afterwards).
pub(crate) struct HeadFirst<'a, S> {
    pub(crate) head: Bytes,
    inner: &'a mut S,
}

impl<'a, S> HeadFirst<'a, S> {
    pub(crate) fn new(head: Bytes, inner: &'a mut S) -> Self {
        HeadFirst { head, inner }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for HeadFirst<'_, S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        while !this.head.is_empty() {
            let head_len = this.head.len();
            let vectored = this.inner.is_write_vectored();
            let inner = Pin::new(&mut *this.inner);
            let n = if buf.is_empty() {
                ready!(inner.poll_write(cx, &this.head))?
            } else if vectored {
                let bufs = [IoSlice::new(&this.head), IoSlice::new(buf)];
                ready!(inner.poll_write_vectored(cx, &bufs))?
            } else if head_len + buf.len() <= COPY_MAX {
                let mut one = Vec::with_capacity(head_len + buf.len());
                one.extend_from_slice(&this.head);
                one.extend_from_slice(buf);
                ready!(inner.poll_write(cx, &one))?
            } else {
                ready!(inner.poll_write(cx, &this.head))?
            };
            if n == 0 {
                return Poll::Ready(Ok(0));
            }
            if n < head_len {
                this.head.advance(n);
                continue;
            }
            this.head = Bytes::new();
            if n > head_len {
                return Poll::Ready(Ok(n - head_len));
            }
        }
        Pin::new(&mut *this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while !this.head.is_empty() {
            let n = ready!(Pin::new(&mut *this.inner).poll_write(cx, &this.head))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            this.head.advance(n);
        }
        Pin::new(&mut *this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut *self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// Records every write call; accepts at most `max` bytes per call.
    struct Sink {
        vectored: bool,
        max: usize,
        calls: Vec<Vec<u8>>,
    }

    impl Sink {
        fn new(vectored: bool, max: usize) -> Self {
            Sink {
                vectored,
                max,
                calls: Vec::new(),
            }
        }
        fn all(&self) -> Vec<u8> {
            self.calls.concat()
        }
    }

    impl AsyncWrite for Sink {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(self.max);
            self.calls.push(buf[..n].to_vec());
            Poll::Ready(Ok(n))
        }
        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let mut call = Vec::new();
            for b in bufs {
                let room = self.max - call.len();
                call.extend_from_slice(&b[..b.len().min(room)]);
            }
            let n = call.len();
            self.calls.push(call);
            Poll::Ready(Ok(n))
        }
        fn is_write_vectored(&self) -> bool {
            self.vectored
        }
        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    const HEAD: &[u8] = b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n";

    #[tokio::test]
    async fn head_and_body_leave_in_one_vectored_write() {
        let mut sink = Sink::new(true, usize::MAX);
        let mut w = HeadFirst::new(Bytes::from_static(HEAD), &mut sink);
        assert_eq!(w.write(b"hello").await.unwrap(), 5);
        assert!(w.head.is_empty());
        assert_eq!(sink.calls, vec![[HEAD, b"hello"].concat()]);
    }

    #[tokio::test]
    async fn head_and_small_body_are_copied_into_one_write_without_vectored_writes() {
        let mut sink = Sink::new(false, usize::MAX);
        let mut w = HeadFirst::new(Bytes::from_static(HEAD), &mut sink);
        w.write_all(b"hello").await.unwrap();
        assert_eq!(sink.calls, vec![[HEAD, b"hello"].concat()]);
    }

    #[tokio::test]
    async fn a_large_body_without_vectored_writes_follows_the_head() {
        let body = vec![b'a'; COPY_MAX];
        let mut sink = Sink::new(false, usize::MAX);
        let mut w = HeadFirst::new(Bytes::from_static(HEAD), &mut sink);
        w.write_all(&body).await.unwrap();
        assert_eq!(sink.calls.len(), 2);
        assert_eq!(sink.all(), [HEAD, &body].concat());
    }

    #[tokio::test]
    async fn partial_writes_keep_the_order_and_count_only_body_bytes() {
        for vectored in [true, false] {
            for max in [1, 3, HEAD.len() - 1, HEAD.len(), HEAD.len() + 2] {
                let mut sink = Sink::new(vectored, max);
                let mut w = HeadFirst::new(Bytes::from_static(HEAD), &mut sink);
                let n = w.write(b"hello").await.unwrap();
                assert!(w.head.is_empty() || n == 0);
                w.write_all(&b"hello"[n..]).await.unwrap();
                w.flush().await.unwrap();
                assert_eq!(sink.all(), [HEAD, b"hello"].concat(), "max {max}");
            }
        }
    }

    #[tokio::test]
    async fn flush_sends_a_head_that_no_body_followed() {
        let mut sink = Sink::new(true, 4);
        let mut w = HeadFirst::new(Bytes::from_static(HEAD), &mut sink);
        w.flush().await.unwrap();
        assert!(w.head.is_empty());
        assert_eq!(sink.all(), HEAD);
    }
}
