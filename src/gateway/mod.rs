//! The `ProxyHttp` implementation: one file per Pingora phase this gateway uses.
//!
//! Request path (see docs/design.md): `request_filter` matches the route, checks policies and,
//! for signed routes, reads and hashes the body → `upstream_peer` hands out a pooled peer for
//! the pre-resolved address → `upstream_request_filter` rewrites path and `Host`, adds the API
//! key and signs → response filters strip hop-by-hop headers → `fail_to_proxy` turns upstream
//! faults into JSON errors → `logging` writes the access log line.

/// The `as_any` / `as_any_mut` pair of a Pingora `HttpModule` (the downstream modules:
/// `crate::cors::response`, `crate::throttling::headers`), written the one way it can be.
macro_rules! http_module_any {
    () => {
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }

        fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
            self
        }
    };
}
pub(crate) use http_module_any;

pub mod access_log;
pub mod body_budget;
mod context;
pub mod error;
pub mod fail_to_proxy;
mod logging;
pub mod request_body;
mod request_checks;
mod request_filter;
pub mod request_uri;
pub mod respond;
mod response_filter;
mod upstream_peer;
mod upstream_request;

use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use bytes::Bytes;
use pingora::connectors::http::Connector;
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};

pub use context::{
    BufferedBody, LargeBody, RequestCtx, Selection, SharedOutcome, SubrequestInfo, UriRequest,
};
pub use error::{ErrorCode, GatewayError};

use crate::routing::RouteTable;

/// The gateway. The route table sits behind an `ArcSwap` so a reload can replace it while
/// requests keep reading the old one.
pub struct Gateway {
    pub routes: Arc<ArcSwap<RouteTable>>,
    /// Pooled client for `function_name` routes (the Invoke API).
    pub invoker: Arc<Connector>,
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::default()
    }

    /// Pingora's default (response compression, off) and the CORS headers of CORS routes
    /// (`crate::cors::response`), applied to every response the client gets.
    fn init_downstream_modules(&self, modules: &mut pingora::modules::http::HttpModules) {
        modules
            .add_module(pingora::modules::http::compression::ResponseCompressionBuilder::enable(0));
        modules.add_module(Box::new(crate::cors::response::CorsHeadersBuilder));
        modules.add_module(Box::new(
            crate::throttling::headers::RateLimitHeadersBuilder,
        ));
    }

    /// Signed bodies above the 64 KiB retry buffer are forwarded through a subrequest.
    fn allow_spawning_subrequest(&self, _session: &Session, _ctx: &RequestCtx) -> bool {
        true
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        request_filter::request_filter(self, session, ctx).await
    }

    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        _end_of_stream: bool,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        request_body::count_streamed_body(body, ctx)
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        // Metrics: the AWS call starts with the first connection request (retries included).
        ctx.aws_started.get_or_insert_with(std::time::Instant::now);
        if let Some(delay) = ctx.retry_delay.take() {
            crate::metrics::retry(ctx.route_name(), crate::metrics::RetryReason::Connect);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
        upstream_peer::upstream_peer(ctx)
    }

    /// A connection that could not be opened sent nothing: retried with the route's backoff
    /// within its deadline (`crate::retry`), unless the body was already consumed. The failed
    /// address is avoided by this request's next attempt and marked down for the others; when
    /// an address that has not failed is left, the retry goes there at once.
    fn fail_to_connect(
        &self,
        session: &mut Session,
        peer: &HttpPeer,
        ctx: &mut RequestCtx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        ctx.connect_failures += 1;
        let failed = peer._address.as_inet().copied();
        let target = ctx.uri_request().ok().map(|u| u.target.clone());
        let delay = match target {
            Some(t) => {
                if let Some(addr) = failed {
                    t.upstream.mark_down(addr);
                    if !ctx.failed_upstreams.contains(&addr) {
                        ctx.failed_upstreams.push(addr);
                    }
                }
                match ctx.aws_started {
                    Some(started) if !session.as_ref().retry_buffer_truncated() => {
                        t.retry.next_delay(ctx.connect_failures, started).map(|d| {
                            if t.upstream.has_fresh(&ctx.failed_upstreams) {
                                std::time::Duration::ZERO
                            } else {
                                d
                            }
                        })
                    }
                    _ => None,
                }
            }
            None => None,
        };
        e.set_retry(delay.is_some());
        ctx.retry_delay = delay;
        e
    }

    async fn connected_to_upstream(
        &self,
        _session: &mut Session,
        reused: bool,
        _peer: &HttpPeer,
        #[cfg(unix)] _fd: std::os::unix::io::RawFd,
        #[cfg(windows)] _sock: std::os::windows::io::RawSocket,
        _digest: Option<&pingora::protocols::Digest>,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        ctx.upstream_reused = Some(reused);
        ctx.report_upstream();
        if let Some(route) = ctx.route() {
            crate::metrics::upstream_connection(route, reused);
        }
        Ok(())
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        upstream_request::upstream_request_filter(upstream_request, ctx)
    }

    async fn upstream_response_filter(
        &self,
        _session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        ctx.aws_duration = ctx.aws_started.map(|t| t.elapsed());
        ctx.upstream_status = Some(upstream_response.status.as_u16());
        ctx.aws_request_id = upstream_response
            .headers
            .get("x-amzn-requestid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        ctx.report_upstream();
        response_filter::upstream_response_filter(upstream_response, ctx);
        Ok(())
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut RequestCtx,
    ) -> FailToProxy {
        fail_to_proxy::fail_to_proxy(session, e, ctx).await
    }

    /// `fail_to_proxy` writes its own log line naming the route.
    fn suppress_error_log(&self, _session: &Session, _ctx: &RequestCtx, _error: &Error) -> bool {
        true
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        ctx.take_child_outcome();
        logging::record_metrics(session, ctx);
        logging::access_log(session, e, ctx, &self.routes.load().access_log);
    }

    /// Requests Pingora refused before any phase (vendored patch, see vendor/README.md).
    fn request_refused(&self, session: &pingora::protocols::http::ServerSession, e: &Error) {
        logging::refused(session, e, &self.routes.load().access_log);
    }
}
