//! Per-request state carried between phases: what `request_filter` selected (a typed
//! [`Selection`] per route kind), the large-body subrequest roles, and what the access log
//! and metrics report about the AWS call.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::error::ErrorCode;
use crate::aws::credentials::{CredentialsCell, Identity};
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
    pub upstream: UriRequest,
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

/// What `request_filter` selected for the request: nothing (refused before a route matched,
/// health, 404/405), or a route of one of the two kinds with what was decided for it.
#[derive(Default)]
pub enum Selection {
    #[default]
    None,
    /// A `function_name` route: answered inside `request_filter` (`crate::function_name`).
    FunctionName(Arc<Route>),
    /// A `function_uri` route: the proxy phases send [`UriRequest`] upstream.
    FunctionUri(UriRequest),
    /// A CORS preflight the gateway answered for this route (`crate::cors::preflight`).
    Preflight(Arc<Route>),
}

/// A `function_uri` request as the proxy phases send it, decided once in `request_filter`.
#[derive(Clone)]
pub struct UriRequest {
    pub route: Arc<Route>,
    pub target: Arc<FunctionUriTarget>,
    /// Path and query sent upstream, parsed once (`None` when refused before it was built).
    pub upstream_uri: Option<http::Uri>,
    /// Signed routes: the body's hash and length, once it was read in full.
    pub payload: Option<BufferedBody>,
    /// Signed routes: the credentials checked in `request_filter`, signed with unless they
    /// expired meanwhile (then the route's source is asked again).
    pub identity: Option<Arc<Identity>>,
    /// `authorizer_headers` with the values the authorizer's approval gave them (`None`: the
    /// approval has no such value; the client's header of that name is removed either way).
    pub authorizer_headers: Vec<(http::HeaderName, Option<http::HeaderValue>)>,
}

impl UriRequest {
    pub fn new(route: Arc<Route>, target: Arc<FunctionUriTarget>) -> Self {
        UriRequest {
            route,
            target,
            upstream_uri: None,
            payload: None,
            identity: None,
            authorizer_headers: Vec::new(),
        }
    }

    /// The credentials to sign with now: those checked in `request_filter` while they are
    /// valid, else the route's current ones (`None`: none valid).
    pub fn signing_identity(&self, cell: &CredentialsCell) -> Option<Arc<Identity>> {
        match &self.identity {
            Some(id) => cell.still_valid(id),
            None => cell.current(),
        }
    }
}

/// The two halves of a large signed body forwarded through a subrequest.
#[derive(Default)]
pub enum LargeBody {
    #[default]
    None,
    /// The client's request: its child reports what AWS answered here; it logs the request.
    Parent(SharedOutcome),
    /// The subrequest that sends the body to AWS and reports back to its parent.
    Child(SharedOutcome),
}

pub struct RequestCtx {
    pub started: Instant,
    pub selection: Selection,
    /// Body bytes seen so far on a streamed (unsigned) route.
    pub streamed_body_bytes: u64,
    /// Large signed bodies: this request's part in the subrequest that forwards it.
    pub large_body: LargeBody,
    /// `100 Continue` was sent to the client (`Expect: 100-continue`).
    pub continue_sent: bool,
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
    /// Metrics: the `in_flight_requests` count of a client request (not of a subrequest child).
    pub metrics_in_flight: Option<crate::metrics::InFlight>,
    /// Request body bytes this request holds against `limits.buffered_body_bytes`; released
    /// when the context is dropped (the request ended, however it ended).
    pub body_reservation: Option<crate::gateway::body_budget::BodyReservation>,
    /// The caller's client API key id (its name) once `request_filter` accepted the key.
    pub api_key: Option<Arc<str>>,
    /// The route authorizer's approval (`crate::authorizers`): events, the access log's
    /// principal, `authorizer_headers`.
    pub auth: Option<crate::authorizers::Grant>,
    /// Counts this request as in flight until the context is dropped (drain on shutdown).
    pub _in_flight: InFlightGuard,
}

impl Default for RequestCtx {
    fn default() -> Self {
        RequestCtx {
            started: Instant::now(),
            selection: Selection::None,
            streamed_body_bytes: 0,
            large_body: LargeBody::None,
            continue_sent: false,
            error_code: None,
            upstream_reused: None,
            upstream_status: None,
            aws_request_id: None,
            aws_started: None,
            aws_duration: None,
            connect_failures: 0,
            retry_delay: None,
            failed_upstreams: Vec::new(),
            metrics_in_flight: None,
            body_reservation: None,
            api_key: None,
            auth: None,
            _in_flight: InFlightGuard::new(),
        }
    }
}

impl RequestCtx {
    /// This request is the child that forwards a large signed body.
    pub fn is_subrequest(&self) -> bool {
        matches!(self.large_body, LargeBody::Child(_))
    }

    /// Child of a large signed body: hands what is known about the AWS call to the parent.
    pub fn report_upstream(&self) {
        if let LargeBody::Child(cell) = &self.large_body {
            let mut o = lock_outcome(cell);
            o.status = self.upstream_status;
            o.aws_duration = self.aws_duration;
            o.aws_request_id.clone_from(&self.aws_request_id);
            o.reused = self.upstream_reused;
        }
    }

    /// Parent of a large signed body: takes over what the child reported.
    pub fn take_child_outcome(&mut self) {
        if let LargeBody::Parent(cell) = &self.large_body {
            let o = std::mem::take(&mut *lock_outcome(cell));
            self.upstream_status = o.status.or(self.upstream_status);
            self.aws_duration = o.aws_duration.or(self.aws_duration);
            self.aws_request_id = o.aws_request_id.or(self.aws_request_id.take());
            self.upstream_reused = o.reused.or(self.upstream_reused);
        }
    }

    /// The matched route, of either kind.
    pub fn route(&self) -> Option<&Arc<Route>> {
        match &self.selection {
            Selection::None => None,
            Selection::FunctionName(r) | Selection::Preflight(r) => Some(r),
            Selection::FunctionUri(u) => Some(&u.route),
        }
    }

    pub fn route_name(&self) -> &str {
        self.route().map_or("-", |r| &r.name)
    }

    /// The `function_uri` request (the only kind that uses the proxy phases).
    pub fn uri_request(&self) -> pingora::Result<&UriRequest> {
        match &self.selection {
            Selection::FunctionUri(u) => Ok(u),
            _ => Err(pingora::Error::explain(
                pingora::ErrorType::InternalError,
                "no function_uri route in context",
            )),
        }
    }

    /// [`Self::uri_request`], to record what was decided.
    pub fn uri_request_mut(&mut self) -> pingora::Result<&mut UriRequest> {
        match &mut self.selection {
            Selection::FunctionUri(u) => Ok(u),
            _ => Err(pingora::Error::explain(
                pingora::ErrorType::InternalError,
                "no function_uri route in context",
            )),
        }
    }
}
