//! Prometheus metrics, served by Pingora's metrics listener (`metrics: {address}`).
//!
//! Every metric lives in the prometheus crate's **default registry**, registered exactly once
//! (`LazyLock` statics, plus one custom [`Collector`] for credentials): `pingora-prometheus`
//! serves `prometheus::gather()`, so nothing registered elsewhere would show. Names start with
//! `lambda_proxy_`. Label values are bounded:
//!
//! * `route`: the route's configured **name** (never a path); `-` when no route matched (404,
//!   405, the health endpoint);
//! * `kind`: `function_uri` or `function_name` (`-` with route `-`);
//! * `status_class`: `1xx` … `5xx`, or `none` when no response could be written (client gone);
//! * `aws_error_type`: a fixed allow-list of Lambda Invoke API error types, else `other`;
//! * `source`: a credential source's name: the configured name of a named source
//!   (`credentials: NAME`), else `route:ROUTE` for credentials set on a route; never a key id.
//!   Routes with identical credentials share one source, named by the first.
//!
//! | metric | type | labels | recorded |
//! |---|---|---|---|
//! | `requests_total` | counter | route, kind, status_class | `logging`, once per client request |
//! | `request_duration_seconds` | histogram | route, kind | `logging`: from the request context's creation to logging |
//! | `aws_duration_seconds` | histogram | route, kind | `logging`, when an AWS response head arrived |
//! | `upstream_connections_total` | counter | route, reused | `connected_to_upstream` (function_uri); after the Invoke call is sent (function_name) |
//! | `request_body_bytes` | histogram | route | `logging`: body bytes read from the client |
//! | `response_body_bytes` | histogram | route | `logging`: body bytes sent to the client |
//! | `function_errors_total` | counter | route, type (`handled`/`unhandled`) | Invoke result with `X-Amz-Function-Error`, or a streamed result ending in an error |
//! | `throttles_total` | counter | route | Invoke API answered 429 |
//! | `upstream_retries_total` | counter | route, reason (`connect`/`throttled`) | before each retry (`crate::retry`) |
//! | `invoke_api_errors_total` | counter | route, aws_error_type | Invoke API answered ≥ 400 (429s included) |
//! | `signing_duration_seconds` | histogram | – | around each SigV4 signer call |
//! | `in_flight_requests` | gauge | – | +1 in `request_filter`, −1 in `logging` (or when the context is dropped) |
//! | `credential_refreshes_total` | counter | source, result (`ok`/`failed`) | read at scrape time |
//! | `credential_expiry_seconds` | gauge | source | read at scrape time; absent when the credentials never expire or none were obtained |
//! | `runtime_alive_tasks` | gauge | – | `logging`: the proxy runtime's alive tasks (soak checks) |
//! | `config_reloads_total` | counter | result (`ok`/`failed`) | [`record_reload`] |
//! | `buffered_body_bytes` | gauge | – | request body bytes held against `limits.buffered_body_bytes` (`crate::gateway::body_budget`) |
//! | `body_budget_refusals_total` | counter | route | a request answered 503 because that budget was exhausted |
//! | `requests_refused_total` | counter | reason (`bad_request`/`incomplete_request`/`method_not_allowed`) | requests refused before any phase ran (Pingora's parser, `CONNECT`); each is also in `requests_total` with route `-` |
//! | `access_log_dropped_total` | counter | – | access log lines dropped because the writer's queue was full (`crate::gateway::access_log`) |
//!
//! **AWS duration** (`aws_duration_seconds`): from the moment the gateway asks for an upstream
//! connection (a pooled one, or a new TCP/TLS connection: connection setup to AWS is part of the
//! call) until the complete response head from AWS has been received. For `function_uri` that
//! is `upstream_peer` → `upstream_response_filter` (across retries: from the first attempt);
//! for `function_name`, the Invoke call from just after signing until its response head. For
//! buffered Lambda results the head only arrives once the function returned, so this is the
//! function's latency as seen from the gateway; for streamed results it is the time to the
//! first byte. It leaves out the client's side (reading the client's body before signing,
//! writing the response body to the client), which `request_duration_seconds` includes. For an
//! unsigned (streamed) `function_uri` body, AWS cannot answer before the client finished
//! sending, so that upload time is inside it.
//!
//! **Subrequests** (signed bodies over 64 KiB are forwarded by a child subrequest): the parent
//! request records the request (status, duration, bytes, in-flight) and the AWS duration the
//! child hands back to it (`SubrequestInfo::outcome`); the child records only its upstream
//! connection. Nothing is counted twice.
//!
//! Hot path: per route, the labelled handles are resolved once and cached in a copy-on-write map
//! (`ArcSwap`, lock-free reads, keyed by route name); recording a request costs a map lookup and
//! a few atomic adds, without allocating.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    register_histogram, register_histogram_vec, register_int_counter, register_int_counter_vec,
    register_int_gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter,
    IntCounterVec, IntGauge, Opts,
};

use crate::aws::credentials::CredentialsRegistry;
use crate::routing::Route;
use crate::routing::RouteKind;

/// The `route` (and `kind`) label value when no route matched.
pub const NO_ROUTE: &str = "-";

/// Whole requests and AWS calls: 1 ms … 900 s (Lambda's longest timeout).
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0, 600.0, 900.0,
];
/// One SigV4 signature: 1 µs … 10 ms.
const SIGNING_BUCKETS: &[f64] = &[
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2,
];
/// Body sizes: empty, then 256 B … 200 MiB (6 MiB is Lambda's synchronous payload limit,
/// 20 MiB / 200 MiB the response streaming limits).
const BODY_BUCKETS: &[f64] = &[
    0.0,
    256.0,
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262144.0,
    1048576.0,
    6291456.0,
    20971520.0,
    104857600.0,
    209715200.0,
];

/// Lambda Invoke API error types kept as label values; anything else is `other`.
const AWS_ERROR_TYPES: &[&str] = &[
    "AccessDeniedException",
    "EC2AccessDeniedException",
    "EC2ThrottledException",
    "EC2UnexpectedException",
    "EFSIOException",
    "EFSMountConnectivityException",
    "EFSMountFailureException",
    "EFSMountTimeoutException",
    "ENILimitReachedException",
    "ExpiredTokenException",
    "IncompleteSignatureException",
    "InvalidParameterValueException",
    "InvalidRequestContentException",
    "InvalidRuntimeException",
    "InvalidSecurityGroupIDException",
    "InvalidSignatureException",
    "InvalidSubnetIDException",
    "InvalidZipFileException",
    "KMSAccessDeniedException",
    "KMSDisabledException",
    "KMSInvalidStateException",
    "KMSNotFoundException",
    "MissingAuthenticationTokenException",
    "RecursiveInvocationException",
    "RequestTooLargeException",
    "ResourceConflictException",
    "ResourceNotFoundException",
    "ResourceNotReadyException",
    "ServiceException",
    "SnapStartException",
    "SnapStartNotReadyException",
    "SnapStartTimeoutException",
    "SubnetIPAddressLimitReachedException",
    "TooManyRequestsException",
    "UnrecognizedClientException",
    "UnsupportedMediaTypeException",
];

/// Status class label values, indexed by [`class_index`].
const STATUS_CLASSES: [&str; 6] = ["none", "1xx", "2xx", "3xx", "4xx", "5xx"];

static REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_requests_total",
        "Client requests by route, route kind and response status class.",
        &["route", "kind", "status_class"]
    )
    .expect("register lambda_proxy_requests_total")
});

static REQUEST_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        HistogramOpts::new(
            "lambda_proxy_request_duration_seconds",
            "Whole client requests, from arrival to the end of the response.",
        )
        .buckets(DURATION_BUCKETS.to_vec()),
        &["route", "kind"]
    )
    .expect("register lambda_proxy_request_duration_seconds")
});

static AWS_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        HistogramOpts::new(
            "lambda_proxy_aws_duration_seconds",
            "AWS calls: from asking for the upstream connection to the complete response head.",
        )
        .buckets(DURATION_BUCKETS.to_vec()),
        &["route", "kind"]
    )
    .expect("register lambda_proxy_aws_duration_seconds")
});

static UPSTREAM_CONNECTIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_upstream_connections_total",
        "Upstream connections used, by whether they came from the pool (reused) or are new.",
        &["route", "reused"]
    )
    .expect("register lambda_proxy_upstream_connections_total")
});

static REQUEST_BODY: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        HistogramOpts::new(
            "lambda_proxy_request_body_bytes",
            "Request body bytes read from the client.",
        )
        .buckets(BODY_BUCKETS.to_vec()),
        &["route"]
    )
    .expect("register lambda_proxy_request_body_bytes")
});

static RESPONSE_BODY: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        HistogramOpts::new(
            "lambda_proxy_response_body_bytes",
            "Response body bytes sent to the client.",
        )
        .buckets(BODY_BUCKETS.to_vec()),
        &["route"]
    )
    .expect("register lambda_proxy_response_body_bytes")
});

static FUNCTION_ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_function_errors_total",
        "Lambda function errors (X-Amz-Function-Error, or a streamed result ending in an error).",
        &["route", "type"]
    )
    .expect("register lambda_proxy_function_errors_total")
});

static THROTTLES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_throttles_total",
        "Invoke API calls answered 429 (throttled).",
        &["route"]
    )
    .expect("register lambda_proxy_throttles_total")
});

static RETRIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_upstream_retries_total",
        "Retries started: `connect` (the connection could not be opened) or `throttled` (an Event invoke answered 429).",
        &["route", "reason"]
    )
    .expect("register lambda_proxy_upstream_retries_total")
});

static INVOKE_API_ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_invoke_api_errors_total",
        "Invoke API error answers (status >= 400, throttles included) by AWS error type.",
        &["route", "aws_error_type"]
    )
    .expect("register lambda_proxy_invoke_api_errors_total")
});

static SIGNING: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(HistogramOpts::new(
        "lambda_proxy_signing_duration_seconds",
        "Time spent in the SigV4 signer per request head.",
    )
    .buckets(SIGNING_BUCKETS.to_vec()))
    .expect("register lambda_proxy_signing_duration_seconds")
});

static IN_FLIGHT: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "lambda_proxy_in_flight_requests",
        "Client requests being processed now."
    )
    .expect("register lambda_proxy_in_flight_requests")
});

static RUNTIME_TASKS: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "lambda_proxy_runtime_alive_tasks",
        "Tasks alive in the proxy's Tokio runtime (connections, requests), as of the last request."
    )
    .expect("register lambda_proxy_runtime_alive_tasks")
});

static BUFFERED_BODY: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "lambda_proxy_buffered_body_bytes",
        "Request body bytes held in memory now (signed function_uri bodies, Invoke events), against limits.buffered_body_bytes."
    )
    .expect("register lambda_proxy_buffered_body_bytes")
});

static BODY_BUDGET_REFUSALS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_body_budget_refusals_total",
        "Requests answered 503 because the buffered body budget (limits.buffered_body_bytes) was exhausted.",
        &["route"]
    )
    .expect("register lambda_proxy_body_budget_refusals_total")
});

static CONFIG_RELOADS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_config_reloads_total",
        "Configuration reloads by result.",
        &["result"]
    )
    .expect("register lambda_proxy_config_reloads_total")
});

static REQUESTS_REFUSED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_requests_refused_total",
        "Requests refused before routing: a head Pingora's parser rejected (bad_request), a head cut off by the client (incomplete_request), CONNECT (method_not_allowed).",
        &["reason"]
    )
    .expect("register lambda_proxy_requests_refused_total")
});

static ACCESS_LOG_DROPPED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "lambda_proxy_access_log_dropped_total",
        "Access log lines dropped because the writer's queue was full (stderr not read fast enough)."
    )
    .expect("register lambda_proxy_access_log_dropped_total")
});

/// The credential sources read at scrape time (replaced when a reload builds a new registry).
static CREDENTIALS: ArcSwapOption<CredentialsRegistry> = ArcSwapOption::const_empty();

static CREDENTIALS_COLLECTOR: LazyLock<()> = LazyLock::new(|| {
    prometheus::register(Box::new(CredentialsCollector::new()))
        .expect("register the credentials collector");
});

/// What kind of route served a request (the `kind` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    FunctionUri,
    FunctionName,
    /// No route matched.
    None,
}

impl Kind {
    pub fn of(route: Option<&Route>) -> Kind {
        match route.map(|r| &r.target) {
            Some(RouteKind::FunctionUri(_)) => Kind::FunctionUri,
            Some(RouteKind::FunctionName(_)) => Kind::FunctionName,
            None => Kind::None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::FunctionUri => "function_uri",
            Kind::FunctionName => "function_name",
            Kind::None => NO_ROUTE,
        }
    }

    fn index(self) -> usize {
        match self {
            Kind::FunctionUri => 0,
            Kind::FunctionName => 1,
            Kind::None => 2,
        }
    }
}

/// The label values of a request's route: its name and kind.
pub fn route_labels(route: Option<&Route>) -> (&str, Kind) {
    (route.map_or(NO_ROUTE, |r| &*r.name), Kind::of(route))
}

/// Registers every metric now (they are otherwise registered on first use), so a scrape shows
/// the families before the first request, and makes `credentials` the registry that the
/// credential metrics read. Idempotent; a later call replaces the credentials registry.
pub fn init(credentials: Arc<CredentialsRegistry>) {
    CREDENTIALS.store(Some(credentials));
    LazyLock::force(&CREDENTIALS_COLLECTOR);
    LazyLock::force(&REQUESTS);
    LazyLock::force(&REQUEST_DURATION);
    LazyLock::force(&AWS_DURATION);
    LazyLock::force(&UPSTREAM_CONNECTIONS);
    LazyLock::force(&REQUEST_BODY);
    LazyLock::force(&RESPONSE_BODY);
    LazyLock::force(&FUNCTION_ERRORS);
    LazyLock::force(&THROTTLES);
    LazyLock::force(&INVOKE_API_ERRORS);
    LazyLock::force(&SIGNING);
    LazyLock::force(&IN_FLIGHT);
    LazyLock::force(&BUFFERED_BODY);
    LazyLock::force(&BODY_BUDGET_REFUSALS);
    LazyLock::force(&ACCESS_LOG_DROPPED);
    for reason in RefusedReason::ALL {
        REQUESTS_REFUSED.with_label_values(&[reason.as_str()]);
    }
    for result in ["ok", "failed"] {
        CONFIG_RELOADS.with_label_values(&[result]);
    }
}

/// The `status_class` label of a response status (0: nothing was written).
pub fn status_class(status: u16) -> &'static str {
    STATUS_CLASSES[class_index(status)]
}

fn class_index(status: u16) -> usize {
    match status {
        100..=199 => 1,
        200..=299 => 2,
        300..=399 => 3,
        400..=499 => 4,
        500..=599 => 5,
        _ => 0,
    }
}

/// An AWS error type as a bounded label value: `ResourceNotFoundException` stays, the
/// `com.amazon…#Name` and `Name:detail` forms are reduced to `Name`, unknown types are `other`.
pub fn aws_error_label(raw: &str) -> &'static str {
    let name = raw.rsplit('#').next().unwrap_or(raw);
    let name = name.split(':').next().unwrap_or(name).trim();
    AWS_ERROR_TYPES
        .iter()
        .copied()
        .find(|t| *t == name)
        .unwrap_or("other")
}

/// The per-route handles, resolved once.
struct RouteMetrics {
    requests: [OnceLock<IntCounter>; 6],
    duration: Histogram,
    /// `None` for requests without a route (no AWS call, no upstream).
    aws_duration: Option<Histogram>,
    connections: Option<[IntCounter; 2]>,
    request_body: Histogram,
    response_body: Histogram,
    labels: [String; 2],
}

impl RouteMetrics {
    fn new(route: &str, kind: Kind) -> RouteMetrics {
        let k = kind.as_str();
        if kind == Kind::FunctionName {
            // Start the function_name series at zero so `increase()` sees the first one.
            for t in ["handled", "unhandled"] {
                FUNCTION_ERRORS.with_label_values(&[route, t]);
            }
            THROTTLES.with_label_values(&[route]);
        }
        RouteMetrics {
            requests: Default::default(),
            duration: REQUEST_DURATION.with_label_values(&[route, k]),
            aws_duration: (kind != Kind::None).then(|| AWS_DURATION.with_label_values(&[route, k])),
            connections: (kind != Kind::None).then(|| {
                [
                    UPSTREAM_CONNECTIONS.with_label_values(&[route, "false"]),
                    UPSTREAM_CONNECTIONS.with_label_values(&[route, "true"]),
                ]
            }),
            request_body: REQUEST_BODY.with_label_values(&[route]),
            response_body: RESPONSE_BODY.with_label_values(&[route]),
            labels: [route.to_string(), k.to_string()],
        }
    }

    fn requests(&self, status: u16) -> &IntCounter {
        let i = class_index(status);
        self.requests[i].get_or_init(|| {
            REQUESTS.with_label_values(&[&self.labels[0], &self.labels[1], STATUS_CLASSES[i]])
        })
    }
}

type RouteMap = ArcSwap<HashMap<Arc<str>, Arc<RouteMetrics>>>;

/// One map per kind (a reload may give a name to a route of the other kind).
static ROUTES: LazyLock<[RouteMap; 3]> = LazyLock::new(Default::default);

fn route_metrics(route: &str, kind: Kind) -> Arc<RouteMetrics> {
    let map = &ROUTES[kind.index()];
    if let Some(m) = map.load().get(route) {
        return m.clone();
    }
    // First request of this route (route names are bounded by the configuration).
    let created = Arc::new(RouteMetrics::new(route, kind));
    map.rcu(|old| {
        let mut m = HashMap::clone(old);
        m.entry(Arc::from(route)).or_insert_with(|| created.clone());
        m
    });
    map.load().get(route).cloned().unwrap_or(created)
}

/// What `logging` knows about a finished client request.
#[derive(Debug, Clone, Copy)]
pub struct RequestDone<'a> {
    pub route: &'a str,
    pub kind: Kind,
    /// The status written to the client; 0 when none was.
    pub status: u16,
    /// The whole request.
    pub duration: Duration,
    /// The AWS call (see the module doc), when a response head arrived.
    pub aws_duration: Option<Duration>,
    pub request_bytes: u64,
    pub response_bytes: u64,
}

/// Records a finished client request: once per request, from `logging`.
pub fn request_done(r: &RequestDone<'_>) {
    let m = route_metrics(r.route, r.kind);
    m.requests(r.status).inc();
    m.duration.observe(r.duration.as_secs_f64());
    if let (Some(h), Some(aws)) = (&m.aws_duration, r.aws_duration) {
        h.observe(aws.as_secs_f64());
    }
    m.request_body.observe(r.request_bytes as f64);
    m.response_body.observe(r.response_bytes as f64);
}

/// Why a request was refused before any phase ran (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedReason {
    /// Pingora's parser rejected the head; it answered 400.
    BadRequest,
    /// The client closed or stalled in the middle of the head; nothing was answered.
    IncompleteRequest,
    /// `CONNECT`; Pingora answered 405.
    MethodNotAllowed,
}

impl RefusedReason {
    const ALL: [RefusedReason; 3] = [
        RefusedReason::BadRequest,
        RefusedReason::IncompleteRequest,
        RefusedReason::MethodNotAllowed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefusedReason::BadRequest => "bad_request",
            RefusedReason::IncompleteRequest => "incomplete_request",
            RefusedReason::MethodNotAllowed => "method_not_allowed",
        }
    }
}

/// A request refused before any phase ran: counted in `requests_total` (route `-`, the status
/// sent, 0 for none) and in `requests_refused_total`. No duration or body histograms: such a
/// request has no context that measured them.
pub fn request_refused(reason: RefusedReason, status: u16) {
    route_metrics(NO_ROUTE, Kind::None).requests(status).inc();
    REQUESTS_REFUSED.with_label_values(&[reason.as_str()]).inc();
}

/// An access log line was dropped (the writer's queue was full).
pub fn access_log_dropped() {
    ACCESS_LOG_DROPPED.inc();
}

/// An upstream connection was taken from the pool (`reused`) or newly made.
pub fn upstream_connection(route: &str, kind: Kind, reused: bool) {
    if let Some(c) = &route_metrics(route, kind).connections {
        c[usize::from(reused)].inc();
    }
}

/// A Lambda function error: `handled` for `X-Amz-Function-Error: Handled`, else unhandled.
pub fn function_error(route: &str, handled: bool) {
    let t = if handled { "handled" } else { "unhandled" };
    FUNCTION_ERRORS.with_label_values(&[route, t]).inc();
}

/// The Invoke API throttled a call (429).
pub fn throttle(route: &str) {
    THROTTLES.with_label_values(&[route]).inc();
}

/// Why a retry was started (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    Connect,
    Throttled,
}

/// A retry is about to start (see `crate::retry`).
pub fn retry(route: &str, reason: RetryReason) {
    let r = match reason {
        RetryReason::Connect => "connect",
        RetryReason::Throttled => "throttled",
    };
    RETRIES.with_label_values(&[route, r]).inc();
}

/// The Invoke API answered with an error; `aws_error_type` is reduced by [`aws_error_label`].
pub fn invoke_api_error(route: &str, aws_error_type: &str) {
    INVOKE_API_ERRORS
        .with_label_values(&[route, aws_error_label(aws_error_type)])
        .inc();
}

/// Samples the alive tasks of the runtime this runs on (an atomic load): the soak test watches
/// it stay flat.
pub fn runtime_tasks() {
    if let Ok(h) = tokio::runtime::Handle::try_current() {
        RUNTIME_TASKS.set(h.metrics().num_alive_tasks() as i64);
    }
}

/// Time spent in one SigV4 signer call.
pub fn signing(took: Duration) {
    SIGNING.observe(took.as_secs_f64());
}

/// Bytes held against the body budget changed by `delta` (`crate::gateway::body_budget`).
pub fn buffered_body_bytes(delta: i64) {
    BUFFERED_BODY.add(delta);
}

/// A request was refused because the body budget was exhausted.
pub fn body_budget_refusal(route: &str) {
    BODY_BUDGET_REFUSALS.with_label_values(&[route]).inc();
}

/// A configuration reload finished (called by the reload code).
pub fn record_reload(ok: bool) {
    CONFIG_RELOADS
        .with_label_values(&[if ok { "ok" } else { "failed" }])
        .inc();
}

/// Counts one request as in flight while alive: made in `request_filter`, dropped in `logging`
/// (or with the request context, should logging never run).
#[derive(Debug)]
pub struct InFlight(());

impl InFlight {
    pub fn start() -> InFlight {
        IN_FLIGHT.inc();
        InFlight(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.dec();
    }
}

/// `credential_refreshes_total` and `credential_expiry_seconds`, computed from the credential
/// cells at scrape time.
struct CredentialsCollector {
    refreshes: IntCounterVec,
    expiry: GaugeVec,
    /// One scrape at a time fills the two vectors.
    scrape: Mutex<()>,
}

impl CredentialsCollector {
    fn new() -> CredentialsCollector {
        CredentialsCollector {
            refreshes: IntCounterVec::new(
                Opts::new(
                    "lambda_proxy_credential_refreshes_total",
                    "Credential fetches from each source, by result.",
                ),
                &["source", "result"],
            )
            .expect("credential_refreshes_total"),
            expiry: GaugeVec::new(
                Opts::new(
                    "lambda_proxy_credential_expiry_seconds",
                    "Seconds until each source's current credentials expire (0 once expired).",
                ),
                &["source"],
            )
            .expect("credential_expiry_seconds"),
            scrape: Mutex::new(()),
        }
    }
}

impl Collector for CredentialsCollector {
    fn desc(&self) -> Vec<&Desc> {
        let mut d = self.refreshes.desc();
        d.extend(self.expiry.desc());
        d
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let _one = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.refreshes.reset();
        self.expiry.reset();
        if let Some(registry) = CREDENTIALS.load_full() {
            for cell in registry.cells() {
                let stats = cell.stats();
                let source = cell.name();
                self.refreshes
                    .with_label_values(&[source, "ok"])
                    .inc_by(stats.refresh_ok);
                self.refreshes
                    .with_label_values(&[source, "failed"])
                    .inc_by(stats.refresh_failed);
                if let Some(left) = stats.seconds_to_expiry {
                    self.expiry.with_label_values(&[source]).set(left);
                }
            }
        }
        let mut out = self.refreshes.collect();
        out.extend(self.expiry.collect());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let families = prometheus::gather();
        let mf = families.iter().find(|f| f.name() == name)?;
        mf.get_metric()
            .iter()
            .find(|m| {
                labels.iter().all(|(k, v)| {
                    m.get_label()
                        .iter()
                        .any(|l| l.name() == *k && l.value() == *v)
                })
            })
            .map(|m| m.get_counter().value())
    }

    #[test]
    fn status_classes() {
        assert_eq!(status_class(0), "none");
        assert_eq!(status_class(101), "1xx");
        assert_eq!(status_class(200), "2xx");
        assert_eq!(status_class(304), "3xx");
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(504), "5xx");
        assert_eq!(status_class(999), "none");
    }

    #[test]
    fn aws_error_types_are_bounded() {
        assert_eq!(
            aws_error_label("ResourceNotFoundException"),
            "ResourceNotFoundException"
        );
        assert_eq!(
            aws_error_label("TooManyRequestsException:http://internal.amazon.com/"),
            "TooManyRequestsException"
        );
        assert_eq!(
            aws_error_label("com.amazonaws.lambda#InvalidSignatureException"),
            "InvalidSignatureException"
        );
        assert_eq!(aws_error_label("Unknown"), "other");
        assert_eq!(aws_error_label("x".repeat(300).as_str()), "other");
    }

    #[test]
    fn recording_reaches_the_default_registry() {
        let done = RequestDone {
            route: "unit-route",
            kind: Kind::FunctionUri,
            status: 503,
            duration: Duration::from_millis(3),
            aws_duration: Some(Duration::from_millis(2)),
            request_bytes: 10,
            response_bytes: 20,
        };
        request_done(&done);
        request_done(&done);
        upstream_connection("unit-route", Kind::FunctionUri, true);
        let labels = [
            ("route", "unit-route"),
            ("kind", "function_uri"),
            ("status_class", "5xx"),
        ];
        assert_eq!(counter("lambda_proxy_requests_total", &labels), Some(2.0));
        assert_eq!(
            counter(
                "lambda_proxy_upstream_connections_total",
                &[("route", "unit-route"), ("reused", "true")]
            ),
            Some(1.0)
        );
        invoke_api_error("unit-route", "SomethingNew");
        assert_eq!(
            counter(
                "lambda_proxy_invoke_api_errors_total",
                &[("route", "unit-route"), ("aws_error_type", "other")]
            ),
            Some(1.0)
        );
    }

    #[test]
    fn in_flight_guard_balances() {
        // The only unit test that touches the gauge.
        let before = IN_FLIGHT.get();
        let g = InFlight::start();
        assert_eq!(IN_FLIGHT.get(), before + 1);
        drop(g);
        assert_eq!(IN_FLIGHT.get(), before);
    }
}
