//! CORS: preflights the gateway answered itself (`crate::cors::preflight`), per route and
//! result (`allowed`: the allow headers were sent; `refused`: origin or method not allowed).

use std::sync::LazyLock;

use prometheus::{register_int_counter_vec, IntCounterVec};

pub(super) static CORS_PREFLIGHTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_cors_preflights_total",
        "CORS preflights answered by the gateway, by route and result (allowed/refused).",
        &["route", "result"]
    )
    .expect("register lambda_proxy_cors_preflights_total")
});

/// A preflight on `route` was answered.
pub fn cors_preflight(route: &str, allowed: bool) {
    let result = if allowed { "allowed" } else { "refused" };
    CORS_PREFLIGHTS.with_label_values(&[route, result]).inc();
}
