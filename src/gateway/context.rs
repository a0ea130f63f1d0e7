//! Per-request state carried between phases.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::error::ErrorCode;
use crate::drain::InFlightGuard;
use crate::function_uri::FunctionUriTarget;
use crate::routing::Route;

/// The SHA-256 and length of a request body that was read in full before signing.
#[derive(Debug, Clone)]
pub struct BufferedBody {
    pub sha256: String,
    pub len: u64,
}

/// What a parent request hands to the subrequest that forwards a large signed body.
#[derive(Clone)]
pub struct SubrequestInfo {
    pub route: Arc<Route>,
    pub upstream_target: String,
    pub payload: BufferedBody,
    /// Filled by the child as AWS answers; read by the parent, which logs the request.
    pub outcome: SharedOutcome,
}

/// What the child of a large signed body learned from AWS. The child talks to AWS, the parent
/// writes the access log line and the request's metrics, so the child hands these back.
#[derive(Debug, Default, Clone)]
pub struct UpstreamOutcome {
    pub status: Option<u16>,
    pub aws_duration: Option<Duration>,
    pub aws_request_id: Option<String>,
    pub reused: Option<bool>,
}

pub type SharedOutcome = Arc<Mutex<UpstreamOutcome>>;

/// Locks an outcome cell; a poisoned lock (a panic elsewhere) still yields the data.
pub fn lock_outcome(o: &SharedOutcome) -> MutexGuard<'_, UpstreamOutcome> {
    o.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct RequestCtx {
    pub started: Instant,
    pub route: Option<Arc<Route>>,
    /// Path and query to send upstream.
    pub upstream_target: Option<String>,
    /// Set for signed routes once the body is read.
    pub payload: Option<BufferedBody>,
    /// Body bytes seen so far on a streamed (unsigned) route.
    pub streamed_body_bytes: u64,
    /// This request is the child that forwards a large signed body.
    pub is_subrequest: bool,
    /// `100 Continue` was sent to the client (`Expect: 100-continue`).
    pub continue_sent: bool,
    /// The response was produced by a child subrequest, which logs it.
    pub answered_by_subrequest: bool,
    /// Short machine-readable reason when the gateway answered with an error itself.
    pub error_code: Option<ErrorCode>,
    /// Whether a connection to the upstream was reused from the pool.
    pub upstream_reused: Option<bool>,
    /// Status AWS answered with (the Invoke API or the API Gateway / Function URL).
    pub upstream_status: Option<u16>,
    /// AWS's request id (`x-amzn-RequestId`) for the access log.
    pub aws_request_id: Option<String>,
    /// Metrics: when the AWS call began (first upstream connection request; see `metrics`).
    pub aws_started: Option<Instant>,
    /// Metrics: the AWS call up to its complete response head, once that arrived.
    pub aws_duration: Option<Duration>,
    /// Connections to the upstream that could not be opened so far (`crate::retry`).
    pub connect_failures: u32,
    /// Wait this long before the next connection attempt (set by `fail_to_connect`).
    pub retry_delay: Option<Duration>,
    /// Upstream addresses whose connection could not be opened for this request: the next
    /// attempt goes elsewhere while another address is left (`dns::UpstreamHost::pick`).
    pub failed_upstreams: Vec<std::net::SocketAddr>,
    /// Child of a large signed body: where to report what AWS answered (to the parent).
    pub report_outcome: Option<SharedOutcome>,
    /// Parent of a large signed body: what its child reported (read when logging).
    pub child_outcome: Option<SharedOutcome>,
    /// Metrics: the `in_flight_requests` count of a client request (not of a subrequest child).
    pub metrics_in_flight: Option<crate::metrics::InFlight>,
    /// Request body bytes this request holds against `limits.buffered_body_bytes`; released
    /// when the context is dropped (the request ended, however it ended).
    pub body_reservation: Option<crate::gateway::body_budget::BodyReservation>,
    /// Counts this request as in flight until the context is dropped (drain on shutdown).
    pub _in_flight: InFlightGuard,
}

impl Default for RequestCtx {
    fn default() -> Self {
        RequestCtx {
            started: Instant::now(),
            route: None,
            upstream_target: None,
            payload: None,
            streamed_body_bytes: 0,
            is_subrequest: false,
            continue_sent: false,
            answered_by_subrequest: false,
            error_code: None,
            upstream_reused: None,
            upstream_status: None,
            aws_request_id: None,
            aws_started: None,
            aws_duration: None,
            connect_failures: 0,
            retry_delay: None,
            failed_upstreams: Vec::new(),
            report_outcome: None,
            child_outcome: None,
            metrics_in_flight: None,
            body_reservation: None,
            _in_flight: InFlightGuard::new(),
        }
    }
}

impl RequestCtx {
    /// Child of a large signed body: hands what is known about the AWS call to the parent.
    pub fn report_upstream(&self) {
        if let Some(cell) = &self.report_outcome {
            let mut o = lock_outcome(cell);
            o.status = self.upstream_status;
            o.aws_duration = self.aws_duration;
            o.aws_request_id.clone_from(&self.aws_request_id);
            o.reused = self.upstream_reused;
        }
    }

    /// Parent of a large signed body: takes over what the child reported.
    pub fn take_child_outcome(&mut self) {
        if let Some(cell) = self.child_outcome.take() {
            let o = std::mem::take(&mut *lock_outcome(&cell));
            self.upstream_status = o.status.or(self.upstream_status);
            self.aws_duration = o.aws_duration.or(self.aws_duration);
            self.aws_request_id = o.aws_request_id.or(self.aws_request_id.take());
            self.upstream_reused = o.reused.or(self.upstream_reused);
        }
    }

    pub fn route_name(&self) -> &str {
        self.route.as_ref().map_or("-", |r| &r.name)
    }

    /// The matched `function_uri` target (the only kind that uses the proxy phases).
    pub fn uri_target(&self) -> pingora::Result<&FunctionUriTarget> {
        self.route
            .as_ref()
            .and_then(|r| r.function_uri())
            .ok_or_else(|| {
                pingora::Error::explain(
                    pingora::ErrorType::InternalError,
                    "no function_uri route in context",
                )
            })
    }
}
