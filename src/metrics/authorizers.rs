//! Authorizers (`crate::authorizers`): decisions per route, authorizer and result
//! (`allowed`; `unauthorized`: 401, no or a bad identity; `forbidden`: 403, denied or a
//! missing scope; `error`: 500/503, the authorizer failed or its keys are unavailable), the
//! answer cache per authorizer (`hit` / `miss`), and the key set fetches per issuer. Label
//! values come from the configuration, never from what callers send.

use std::sync::LazyLock;

use prometheus::{register_int_counter_vec, IntCounterVec};

pub(super) static DECISIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_authorizer_decisions_total",
        "Authorizer decisions, by route, authorizer and result (allowed/unauthorized/forbidden/error).",
        &["route", "authorizer", "result"]
    )
    .expect("register lambda_proxy_authorizer_decisions_total")
});

pub(super) static CACHE: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_authorizer_cache_total",
        "Authorizer answer cache lookups (verified tokens, Lambda authorizer results), by authorizer and result (hit/miss).",
        &["authorizer", "result"]
    )
    .expect("register lambda_proxy_authorizer_cache_total")
});

pub(super) static JWKS_FETCHES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "lambda_proxy_jwks_fetches_total",
        "Fetches of JWT issuers' key sets (with OIDC discovery), by issuer and result (ok/failed).",
        &["issuer", "result"]
    )
    .expect("register lambda_proxy_jwks_fetches_total")
});

/// A decision of `authorizer` on a request to `route`.
pub fn authorizer_decision(route: &str, authorizer: &str, result: &str) {
    DECISIONS
        .with_label_values(&[route, authorizer, result])
        .inc();
}

/// A lookup in `authorizer`'s answer cache.
pub fn authorizer_cache(authorizer: &str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    CACHE.with_label_values(&[authorizer, result]).inc();
}

/// A fetch of `issuer`'s key set ended.
pub fn jwks_fetch(issuer: &str, ok: bool) {
    let result = if ok { "ok" } else { "failed" };
    JWKS_FETCHES.with_label_values(&[issuer, result]).inc();
}
