//! Prometheus metrics, served by Pingora's metrics listener (`metrics: {address}`).
//!
//! Every metric lives in the prometheus crate's **default registry**, registered exactly once
//! (`LazyLock` statics, plus one custom `Collector` for credentials): `pingora-prometheus`
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
//! | `cors_preflights_total` | counter | route, result (`allowed`/`refused`) | a CORS preflight answered by the gateway (`crate::cors::preflight`); also in `requests_total` (204) |
//! | `api_key_requests_total` | counter | route, key, result (`allowed`/`missing`/`invalid`) | a request to a route with `api_key_required` (`crate::api_keys`); `key` is the key's configured name, `-` unless allowed |
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
//! Hot path: per route, the labelled handles are resolved once, cached in a copy-on-write map
//! (`ArcSwap`, lock-free reads, keyed by route name and kind) and held on the route
//! ([`RouteHandles`]); recording a request costs a few atomic adds, without a lookup by name
//! and without allocating.
//!
//! Modules: `labels` (bounded label values: route, kind, status class, AWS error type),
//! `requests` (per-request series and the per-route handles), `upstream` (AWS calls:
//! connections, retries, Invoke errors, signing), `process` (process-wide gauges and
//! counters), `cors` (preflights answered), `api_keys` and `authorizers` (who may call), `throttling` (how often), `credentials` (the scrape-time credential collector); [`init`] registers all.

use std::sync::{Arc, LazyLock};

use crate::aws::credentials::CredentialsRegistry;

mod api_keys;
mod authorizers;
mod cors;
mod credentials;
mod labels;
mod process;
mod requests;
mod throttling;
mod upstream;

pub use api_keys::api_key_request;
pub use authorizers::{authorizer_cache, authorizer_decision, jwks_fetch};
pub use cors::cors_preflight;
pub use labels::{aws_error_label, route_labels, status_class, Kind, NO_ROUTE};
pub use process::{
    access_log_dropped, body_budget_refusal, buffered_body_bytes, record_reload, runtime_tasks,
};

pub use requests::{
    request_done, request_refused, InFlight, RefusedReason, RequestDone, RouteHandles,
};
pub use throttling::{
    throttle_keys, throttle_lease_wait, throttle_redis_call, throttle_store_call,
    throttle_store_circuit, throttled,
};
pub use upstream::{
    function_error, invoke_api_error, retry, signing, throttle, upstream_connection, RetryReason,
};

/// Registers every metric now (they are otherwise registered on first use), so a scrape shows
/// the families before the first request, and makes `credentials` the registry that the
/// credential metrics read. Idempotent; a later call replaces the credentials registry.
pub fn init(credentials: Arc<CredentialsRegistry>) {
    credentials::install(credentials);
    LazyLock::force(&requests::REQUESTS);
    LazyLock::force(&requests::REQUEST_DURATION);
    LazyLock::force(&requests::AWS_DURATION);
    LazyLock::force(&upstream::UPSTREAM_CONNECTIONS);
    LazyLock::force(&requests::REQUEST_BODY);
    LazyLock::force(&requests::RESPONSE_BODY);
    LazyLock::force(&upstream::FUNCTION_ERRORS);
    LazyLock::force(&upstream::THROTTLES);
    LazyLock::force(&upstream::INVOKE_API_ERRORS);
    LazyLock::force(&upstream::SIGNING);
    LazyLock::force(&requests::IN_FLIGHT);
    LazyLock::force(&process::BUFFERED_BODY);
    LazyLock::force(&process::BODY_BUDGET_REFUSALS);
    LazyLock::force(&process::ACCESS_LOG_DROPPED);
    LazyLock::force(&cors::CORS_PREFLIGHTS);
    LazyLock::force(&api_keys::API_KEY_REQUESTS);
    LazyLock::force(&authorizers::DECISIONS);
    LazyLock::force(&authorizers::CACHE);
    LazyLock::force(&authorizers::JWKS_FETCHES);
    LazyLock::force(&throttling::THROTTLED);
    LazyLock::force(&throttling::STORE_CALLS);
    LazyLock::force(&throttling::KEYS);
    LazyLock::force(&throttling::CIRCUIT_OPEN);
    LazyLock::force(&throttling::REDIS_CALLS);
    LazyLock::force(&throttling::LEASE_WAITS);
    for reason in RefusedReason::ALL {
        requests::REQUESTS_REFUSED.with_label_values(&[reason.as_str()]);
    }
    for result in ["ok", "failed"] {
        process::CONFIG_RELOADS.with_label_values(&[result]);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
    fn recording_reaches_the_default_registry() {
        let table = crate::routing::RouteTable::from_yaml_for_tests(
            "  - {name: unit-route, uri: /u, function_uri: 'http://127.0.0.1:1/u'}\n",
        );
        let route = table.route_for_tests("unit-route");
        let done = RequestDone {
            route: Some(&route),
            status: 503,
            duration: Duration::from_millis(3),
            aws_duration: Some(Duration::from_millis(2)),
            request_bytes: 10,
            response_bytes: 20,
        };
        request_done(&done);
        request_done(&done);
        upstream_connection(&route, true);
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
}
