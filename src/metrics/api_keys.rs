//! Client API keys: requests to routes with `api_key_required`, per route, key id and result
//! (`allowed`; `missing`: no `x-api-key`; `invalid`: unknown or disabled key). The `key`
//! label is a configured key name (`-` unless allowed), so its values are bounded by the
//! configuration, never by what callers send.

use std::sync::LazyLock;

use prometheus::{register_int_counter_vec, IntCounterVec};

pub(super) static API_KEY_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_api_key_requests_total",
        "Requests to routes that require a client API key, by route, key id and result (allowed/missing/invalid).",
        &["route", "key", "result"]
    )
    .expect("register lambda_proxy_api_key_requests_total")
});

/// A request to `route` presented `key` (a configured name, `None` unless allowed).
pub fn api_key_request(route: &str, key: Option<&str>, result: &str) {
    API_KEY_REQUESTS
        .with_label_values(&[route, key.unwrap_or("-"), result])
        .inc();
}
