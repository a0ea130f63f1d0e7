//! AWS calls: upstream connections (pooled or new), retries, Lambda function errors,
//! throttles and Invoke API errors, and the time spent signing.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{
    register_histogram, register_int_counter_vec, Histogram, HistogramOpts, IntCounterVec,
};

use super::labels::aws_error_label;
use super::requests::handles;
use crate::routing::Route;

/// One SigV4 signature: 1 µs … 10 ms.
const SIGNING_BUCKETS: &[f64] = &[
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2,
];

pub(super) static UPSTREAM_CONNECTIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_upstream_connections_total",
        "Upstream connections used, by whether they came from the pool (reused) or are new.",
        &["route", "reused"]
    )
    .expect("register lambda_proxy_upstream_connections_total")
});

pub(super) static FUNCTION_ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_function_errors_total",
        "Lambda function errors (X-Amz-Function-Error, or a streamed result ending in an error).",
        &["route", "type"]
    )
    .expect("register lambda_proxy_function_errors_total")
});

pub(super) static THROTTLES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_throttles_total",
        "Invoke API calls answered 429 (throttled).",
        &["route"]
    )
    .expect("register lambda_proxy_throttles_total")
});

pub(super) static RETRIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_upstream_retries_total",
        "Retries started: `connect` (the connection could not be opened) or `throttled` (an Event invoke answered 429).",
        &["route", "reason"]
    )
    .expect("register lambda_proxy_upstream_retries_total")
});

pub(super) static INVOKE_API_ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_invoke_api_errors_total",
        "Invoke API error answers (status >= 400, throttles included) by AWS error type.",
        &["route", "aws_error_type"]
    )
    .expect("register lambda_proxy_invoke_api_errors_total")
});

pub(super) static SIGNING: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(HistogramOpts::new(
        "lambda_proxy_signing_duration_seconds",
        "Time spent in the SigV4 signer per request head.",
    )
    .buckets(SIGNING_BUCKETS.to_vec()))
    .expect("register lambda_proxy_signing_duration_seconds")
});

/// An upstream connection was taken from the pool (`reused`) or newly made.
pub fn upstream_connection(route: &Route, reused: bool) {
    if let Some(c) = &handles(Some(route)).connections {
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

/// Time spent in one SigV4 signer call.
pub fn signing(took: Duration) {
    SIGNING.observe(took.as_secs_f64());
}
