//! Throttling per process: a route's `throttling`, `client_throttling` per client API key and
//! per address, usage plans (rate and quota per key): 429 with `Retry-After` and the
//! RateLimit headers before any AWS call, the metrics, limiter state kept across a SIGHUP
//! that leaves a limit as it was, and the `-t` errors.

use serde_json::{json, Value};

use crate::common::*;

const KEY_A: &str = "throttle-key-a-0001";
const KEY_B: &str = "throttle-key-b-0002";

fn keys() -> Value {
    json!([
        {"name": "partner-a", "value_sha256": sha256_hex(KEY_A.as_bytes())},
        {"name": "partner-b", "value_sha256": sha256_hex(KEY_B.as_bytes())},
    ])
}

/// The emulator's `/open` stage answers everything that reaches it with 200.
async fn status(gw: &Gateway, path: &str, key: Option<&str>) -> (u16, reqwest::header::HeaderMap) {
    let mut r = client().get(gw.url(path));
    if let Some(k) = key {
        r = r.header("x-api-key", k);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.headers().clone())
}

fn header(h: &reqwest::header::HeaderMap, name: &str) -> Option<u64> {
    h.get(name)?.to_str().ok()?.parse().ok()
}

/// Requests of `route` that AWS answered (the AWS-duration histogram's count).
fn open_hits(metrics: std::net::SocketAddr, route: &str) -> f64 {
    metric_sum(
        metrics,
        "lambda_proxy_aws_duration_seconds_count",
        &[&format!("route=\"{route}\"")],
    )
    .unwrap_or(0.0)
}

#[tokio::test]
async fn route_client_and_plan_limits_answer_429_before_aws() {
    let emu = Emulator::start();
    let metrics: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = GatewayConfig::new()
        .metrics(metrics)
        .set_in(&["api_keys"], keys())
        .set_in(
            &["usage_plans"],
            json!([{"name": "gold", "api_keys": ["partner-b"],
                    "quota": {"limit": 4, "period": "DAY"}}]),
        )
        .routes([
            // The whole route: 3 at once, then one every 10 s.
            Route::function_uri("/route/*", &emu.http_url("/open/p"))
                .set("throttling", json!({"rate_limit": 0.1, "burst_limit": 3}))
                .set("rate_limit_headers", true),
            // Per caller (client API key): 2 at once each.
            Route::function_uri("/client/*", &emu.http_url("/open/p"))
                .set("api_key_required", true)
                .set(
                    "client_throttling",
                    json!({"key": "api_key", "rate_limit": 0.1, "burst_limit": 2}),
                ),
            // Per address.
            Route::function_uri("/ip/*", &emu.http_url("/open/p")).set(
                "client_throttling",
                json!({"key": "ip", "rate_limit": 0.1, "burst_limit": 1}),
            ),
            // Usage plan quota only.
            Route::function_uri("/plan/*", &emu.http_url("/open/p"))
                .set("api_key_required", true)
                .set("rate_limit_headers", true),
            // Limits without the RateLimit headers on admitted answers (the default).
            Route::function_uri("/quiet/*", &emu.http_url("/open/p"))
                .set("throttling", json!({"rate_limit": 0.1, "burst_limit": 3})),
            // An Invoke route (its answers are written by the gateway, not proxied).
            Route::function_name("inv", "echo")
                .on(&emu)
                .set("throttling", json!({"rate_limit": 0.1, "burst_limit": 5}))
                .set("rate_limit_headers", true),
        ]);
    let gw = Gateway::launch(&config);

    // Route-wide: 3 pass, each answer saying what is left (as Kong and APISIX do), the 4th
    // gets 429 with its headers, and AWS saw 3.
    for i in 0..3 {
        let (code, h) = status(&gw, "/route/x", None).await;
        assert_eq!(code, 200, "request {i}");
        assert_eq!(header(&h, "ratelimit-limit"), Some(3));
        assert_eq!(header(&h, "ratelimit-remaining"), Some(2 - i));
        let reset = header(&h, "ratelimit-reset").unwrap();
        assert!((1..=30).contains(&reset), "reset {reset}");
    }
    let (code, h) = status(&gw, "/route/x", None).await;
    assert_eq!(code, 429);
    let retry = header(&h, "retry-after").unwrap();
    assert!((1..=10).contains(&retry), "retry-after {retry}");
    assert_eq!(header(&h, "ratelimit-limit"), Some(3));
    assert_eq!(header(&h, "ratelimit-remaining"), Some(0));
    assert!((1..=10).contains(&header(&h, "ratelimit-reset").unwrap()));
    let r = client().get(gw.url("/route/x")).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "too_many_requests");
    assert_eq!(
        open_hits(metrics, "route"),
        3.0,
        "a throttled request reached AWS"
    );

    // Per key: each key its own bucket.
    for key in [KEY_A, KEY_A] {
        assert_eq!(status(&gw, "/client/x", Some(key)).await.0, 200);
    }
    assert_eq!(status(&gw, "/client/x", Some(KEY_A)).await.0, 429);
    assert_eq!(status(&gw, "/client/x", Some(KEY_B)).await.0, 200);

    // Per address: everything here comes from 127.0.0.1.
    assert_eq!(status(&gw, "/ip/x", None).await.0, 200);
    assert_eq!(status(&gw, "/ip/x", None).await.0, 429);

    // Usage plan quota (partner-b used one request of its 4 above): 3 more, then 429 until the
    // end of the UTC day, whatever route. The admitted answers say what is left of the quota.
    for left in [2, 1, 0] {
        let (code, h) = status(&gw, "/plan/x", Some(KEY_B)).await;
        assert_eq!(code, 200);
        assert_eq!(header(&h, "ratelimit-limit"), Some(4));
        assert_eq!(header(&h, "ratelimit-remaining"), Some(left));
    }
    let (code, h) = status(&gw, "/plan/x", Some(KEY_B)).await;
    assert_eq!(code, 429);
    assert_eq!(header(&h, "ratelimit-limit"), Some(4));
    let reset = header(&h, "ratelimit-reset").unwrap();
    assert!((1..=86_400).contains(&reset), "reset {reset}");
    // A key without a plan is not limited by it.
    for _ in 0..6 {
        assert_eq!(status(&gw, "/plan/x", Some(KEY_A)).await.0, 200);
    }

    // Without rate_limit_headers: none on admitted answers; a 429 still has them.
    for _ in 0..3 {
        let (code, h) = status(&gw, "/quiet/x", None).await;
        assert_eq!(code, 200);
        assert!(h.get("ratelimit-limit").is_none(), "{h:?}");
    }
    let (code, h) = status(&gw, "/quiet/x", None).await;
    assert_eq!((code, header(&h, "ratelimit-limit")), (429, Some(3)));
    // Invoke answers carry them too.
    let r = client()
        .post(gw.url("/inv"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(r.headers(), "ratelimit-limit"), Some(5));
    assert_eq!(header(r.headers(), "ratelimit-remaining"), Some(4));

    let throttled = |limit: &str| {
        metric_sum(
            metrics,
            "lambda_proxy_throttled_requests_total",
            &[&format!("limit=\"{limit}\"")],
        )
        .unwrap_or(0.0)
    };
    assert_eq!(throttled("route"), 3.0);
    assert_eq!(throttled("client"), 2.0);
    assert_eq!(throttled("quota"), 1.0);
}

#[tokio::test]
async fn a_reload_keeps_an_unchanged_limit_and_applies_a_changed_one() {
    let emu = Emulator::start();
    let route = |burst: u32| {
        Route::function_uri("/r/*", &emu.http_url("/open/p")).set(
            "throttling",
            json!({"rate_limit": 0.05, "burst_limit": burst}),
        )
    };
    let mut gw = Gateway::launch(&GatewayConfig::new().route(route(2)));
    for _ in 0..2 {
        assert_eq!(status(&gw, "/r/x", None).await.0, 200);
    }
    assert_eq!(status(&gw, "/r/x", None).await.0, 429);
    // Reloaded with the same limit: still empty.
    gw.rewrite(&GatewayConfig::new().route(route(2)));
    gw.signal("HUP");
    gw.wait_for_log("reload: ");
    assert_eq!(status(&gw, "/r/x", None).await.0, 429);
    // A new limit starts full.
    gw.rewrite(&GatewayConfig::new().route(route(5)));
    gw.signal("HUP");
    gw.wait_for_log_lines(|l| l.contains("reload: ") && l.contains("loaded"), 2);
    for _ in 0..5 {
        assert_eq!(status(&gw, "/r/x", None).await.0, 200);
    }
    assert_eq!(status(&gw, "/r/x", None).await.0, 429);
    let _ = gw.try_wait();
}

#[test]
fn dash_t_names_the_throttling_field() {
    let dir = tempfile::tempdir().unwrap();
    let base = "listeners: [{address: '127.0.0.1:1'}]\n";
    let keys = "api_keys:\n  - {name: a, value_sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'}\n";
    let route = |extra: &str| {
        format!("routes:\n  - {{name: r, uri: /x, function_uri: 'http://127.0.0.1:1/'{extra}}}\n")
    };
    let cases = [
        (route(", throttling: {rate_limit: 0, burst_limit: 1}"), "routes[0].throttling"),
        (route(", throttling: {rate_limit: 1, burst_limit: 0}"), "routes[0].throttling"),
        (route(", throttling: {rate_limit: 1}"), "routes[0].throttling"),
        (
            route(", client_throttling: {key: api_key, rate_limit: 1, burst_limit: 1}"),
            "routes[0].client_throttling.key",
        ),
        (
            route(", client_throttling: {key: jwt:sub, rate_limit: 1, burst_limit: 1}"),
            "routes[0].client_throttling.key",
        ),
        (
            route(", client_throttling: {key: cookie, rate_limit: 1, burst_limit: 1}"),
            "routes[0].client_throttling.key",
        ),
        (
            format!("{keys}usage_plans:\n  - {{name: gold, api_keys: [nobody], quota: {{limit: 5, period: DAY}}}}\n{}", route("")),
            "usage_plans[0].api_keys[0]",
        ),
        (
            format!("{keys}usage_plans:\n  - {{name: gold, api_keys: [a], quota: {{limit: 5, period: YEAR}}}}\n{}", route("")),
            "usage_plans[0].quota.period",
        ),
        (
            format!("{keys}usage_plans:\n  - {{name: gold, api_keys: [a]}}\n{}", route("")),
            "usage_plans[0]",
        ),
        (
            format!("{keys}usage_plans:\n  - {{name: g1, api_keys: [a], quota: {{limit: 5, period: DAY}}}}\n  - {{name: g2, api_keys: [a], quota: {{limit: 5, period: DAY}}}}\n{}", route("")),
            "usage_plans[1].api_keys[0]",
        ),
        (
            format!("throttling_store: {{redis: {{url: 'redis://127.0.0.1:6379'}}, timeout: 0}}\n{}", route("")),
            "throttling_store.timeout",
        ),
    ];
    for (i, (body, field)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("c{i}.yaml"));
        std::fs::write(&path, format!("{base}{body}")).unwrap();
        let out = run_dash_t(&path);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "case {i} accepted");
        assert!(
            err.contains(&format!("{}: {field}", path.display())),
            "case {i}: {err}"
        );
    }
}
