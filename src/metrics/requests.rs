//! Per-request series: requests by status class, durations, body sizes, in-flight requests
//! and requests refused before any phase; the per-route handles they are recorded through,
//! resolved once per route name and kind.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use prometheus::{
    register_histogram_vec, register_int_counter_vec, register_int_gauge, Histogram, HistogramOpts,
    HistogramVec, IntCounter, IntCounterVec, IntGauge,
};

use super::labels::{class_index, Kind, NO_ROUTE, STATUS_CLASSES};
use super::upstream::{FUNCTION_ERRORS, THROTTLES, UPSTREAM_CONNECTIONS};
use crate::routing::Route;

/// Whole requests and AWS calls: 1 ms … 900 s (Lambda's longest timeout).
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0, 600.0, 900.0,
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

pub(super) static REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_requests_total",
        "Client requests by route, route kind and response status class.",
        &["route", "kind", "status_class"]
    )
    .expect("register lambda_proxy_requests_total")
});

pub(super) static REQUEST_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
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

pub(super) static AWS_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
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

pub(super) static REQUEST_BODY: LazyLock<HistogramVec> = LazyLock::new(|| {
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

pub(super) static RESPONSE_BODY: LazyLock<HistogramVec> = LazyLock::new(|| {
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
pub(super) static IN_FLIGHT: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "lambda_proxy_in_flight_requests",
        "Client requests being processed now."
    )
    .expect("register lambda_proxy_in_flight_requests")
});

pub(super) static REQUESTS_REFUSED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_requests_refused_total",
        "Requests refused before routing: a head Pingora's parser rejected (bad_request), a head cut off by the client (incomplete_request), CONNECT (method_not_allowed).",
        &["reason"]
    )
    .expect("register lambda_proxy_requests_refused_total")
});

/// The per-route handles, resolved once.
pub(super) struct RouteMetrics {
    requests: [OnceLock<IntCounter>; 6],
    duration: Histogram,
    /// `None` for requests without a route (no AWS call, no upstream).
    aws_duration: Option<Histogram>,
    pub(super) connections: Option<[IntCounter; 2]>,
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
    // First request of this route name and kind (names are bounded by the configuration).
    let created = Arc::new(RouteMetrics::new(route, kind));
    map.rcu(|old| {
        let mut m = HashMap::clone(old);
        m.entry(Arc::from(route)).or_insert_with(|| created.clone());
        m
    });
    map.load().get(route).cloned().unwrap_or(created)
}

/// A route's metric handles: resolved on the route's first request (through the map above,
/// so a reloaded route with the same name and kind gets the same series) and then held on the
/// route ([`crate::routing::Route::metrics`]), so recording needs no lookup by name. Not
/// resolved when the route table is built: a route's series appear with its first request.
#[derive(Default)]
pub struct RouteHandles(OnceLock<Arc<RouteMetrics>>);

impl std::fmt::Debug for RouteHandles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouteHandles")
    }
}

/// Requests without a route (404, 405, health, refusals before routing).
static NO_ROUTE_METRICS: LazyLock<Arc<RouteMetrics>> =
    LazyLock::new(|| route_metrics(NO_ROUTE, Kind::None));

/// The handles of `route` (route `-` without one).
pub(super) fn handles(route: Option<&Route>) -> &RouteMetrics {
    match route {
        Some(r) => r
            .metrics
            .0
            .get_or_init(|| route_metrics(&r.name, Kind::of(Some(r)))),
        None => &NO_ROUTE_METRICS,
    }
}

/// What `logging` knows about a finished client request.
#[derive(Debug, Clone, Copy)]
pub struct RequestDone<'a> {
    /// The matched route (its name and kind are the labels); `None`: route `-`.
    pub route: Option<&'a Route>,
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
    let m = handles(r.route);
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
    pub(super) const ALL: [RefusedReason; 3] = [
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
    handles(None).requests(status).inc();
    REQUESTS_REFUSED.with_label_values(&[reason.as_str()]).inc();
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

#[cfg(test)]
mod tests {
    use super::*;

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
