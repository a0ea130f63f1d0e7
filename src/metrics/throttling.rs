//! Throttling (`crate::throttling`): requests refused per route and limit (`route`, `client`,
//! `plan`, `quota`), decisions asked of the fleet-wide store by result (`ok`, `timeout`, `unavailable`:
//! refused, erroring or its circuit breaker open), the store's Redis round trips by result and
//! the requests that waited for one, whether that breaker is open, and callers tracked by the
//! per-process keyed limiters (after each sweep of idle ones).

use std::sync::LazyLock;

use prometheus::{
    register_int_counter, register_int_counter_vec, register_int_gauge, IntCounter, IntCounterVec,
    IntGauge,
};

pub(super) static THROTTLED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_throttled_requests_total",
        "Requests refused with 429 (or 503 when the store cannot answer and on_failure is deny), by route and limit (route/client/plan/quota).",
        &["route", "limit"]
    )
    .expect("register lambda_proxy_throttled_requests_total")
});

pub(super) static STORE_CALLS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_throttling_store_calls_total",
        "Limit decisions asked of the fleet-wide throttling store, by result (ok/timeout/unavailable); most are answered from tokens leased earlier, without a Redis round trip.",
        &["result"]
    )
    .expect("register lambda_proxy_throttling_store_calls_total")
});

pub(super) static REDIS_CALLS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_throttling_redis_calls_total",
        "Redis round trips of the throttling store (lease refills, quota counts), by result (ok/failed/timeout/short_circuited: refused at once by the open circuit breaker).",
        &["result"]
    )
    .expect("register lambda_proxy_throttling_redis_calls_total")
});

pub(super) static LEASE_WAITS: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "lambda_proxy_throttling_lease_waits_total",
        "Requests that found no leased token and waited for a refill from Redis (a busy bucket's next lease is fetched ahead, so few should)."
    )
    .expect("register lambda_proxy_throttling_lease_waits_total")
});

pub(super) static KEYS: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "lambda_proxy_throttling_tracked_callers",
        "Callers the per-process keyed limiters track, plus the buckets this process holds a lease of in the throttling store (after the last sweep of idle ones)."
    )
    .expect("register lambda_proxy_throttling_tracked_callers")
});

pub(super) static CIRCUIT_OPEN: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "lambda_proxy_throttling_store_circuit_open",
        "1 while the throttling store's circuit breaker is open (calls skip Redis and on_failure applies), else 0."
    )
    .expect("register lambda_proxy_throttling_store_circuit_open")
});

/// The store's circuit breaker is `open` (set on every store answer).
pub fn throttle_store_circuit(open: bool) {
    CIRCUIT_OPEN.set(i64::from(open));
}

/// A request on `route` refused by a `limit`.
pub fn throttled(route: &str, limit: &str) {
    THROTTLED.with_label_values(&[route, limit]).inc();
}

static STORE_OK: LazyLock<prometheus::IntCounter> =
    LazyLock::new(|| STORE_CALLS.with_label_values(&["ok"]));

/// A store decision ended with `result` (`ok` without a label lookup: every request).
pub fn throttle_store_call(result: &str) {
    if result == "ok" {
        STORE_OK.inc();
    } else {
        STORE_CALLS.with_label_values(&[result]).inc();
    }
}

/// A Redis round trip of the throttling store ended with `result`.
pub fn throttle_redis_call(result: &str) {
    REDIS_CALLS.with_label_values(&[result]).inc();
}

/// A request waited for a lease refill.
pub fn throttle_lease_wait() {
    LEASE_WAITS.inc();
}

/// Callers tracked after a sweep.
pub fn throttle_keys(n: usize) {
    KEYS.set(n as i64);
}
