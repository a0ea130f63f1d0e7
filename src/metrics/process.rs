//! Process-wide series: the runtime's alive tasks, the buffered body budget, configuration
//! reloads and dropped access log lines.

use std::sync::LazyLock;

use prometheus::{
    register_int_counter, register_int_counter_vec, register_int_gauge, IntCounter, IntCounterVec,
    IntGauge,
};

pub(super) static RUNTIME_TASKS: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "lambda_proxy_runtime_alive_tasks",
        "Tasks alive in the proxy's Tokio runtime (connections, requests), as of the last request."
    )
    .expect("register lambda_proxy_runtime_alive_tasks")
});

pub(super) static BUFFERED_BODY: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "lambda_proxy_buffered_body_bytes",
        "Request body bytes held in memory now (signed function_uri bodies, Invoke events), against limits.buffered_body_bytes."
    )
    .expect("register lambda_proxy_buffered_body_bytes")
});

pub(super) static BODY_BUDGET_REFUSALS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_body_budget_refusals_total",
        "Requests answered 503 because the buffered body budget (limits.buffered_body_bytes) was exhausted.",
        &["route"]
    )
    .expect("register lambda_proxy_body_budget_refusals_total")
});

pub(super) static CONFIG_RELOADS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_config_reloads_total",
        "Configuration reloads by result.",
        &["result"]
    )
    .expect("register lambda_proxy_config_reloads_total")
});

pub(super) static ACCESS_LOG_DROPPED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "lambda_proxy_access_log_dropped_total",
        "Access log lines dropped because the writer's queue was full (stderr not read fast enough)."
    )
    .expect("register lambda_proxy_access_log_dropped_total")
});

/// An access log line was dropped (the writer's queue was full).
pub fn access_log_dropped() {
    ACCESS_LOG_DROPPED.inc();
}

/// Samples the alive tasks of the runtime this runs on (an atomic load): the soak test watches
/// it stay flat.
pub fn runtime_tasks() {
    if let Ok(h) = tokio::runtime::Handle::try_current() {
        RUNTIME_TASKS.set(h.metrics().num_alive_tasks() as i64);
    }
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
