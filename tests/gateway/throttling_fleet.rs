//! Fleet-wide throttling through the gateway binary: three gateway processes sharing one real
//! `redis-server` (`throttling_store`) enforce one route limit within the documented bound and
//! one usage plan quota exactly; the quota survives a SIGHUP and a gateway restart; with Redis
//! killed, `on_failure: allow` falls back to per-process limits and `deny` answers 503, both
//! without waiting past the store's timeout.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[path = "../redis_server/mod.rs"]
mod redis_server;

use crate::common::*;
use redis_server::{redis_installed, RedisServer};

const KEY: &str = "fleet-key-0001";

fn config(emu: &Emulator, redis: &RedisServer, on_failure: &str) -> GatewayConfig {
    GatewayConfig::new()
        .set_in(
            &["throttling_store"],
            json!({"redis": {"url": format!("redis://127.0.0.1:{}", redis.port)},
                   "on_failure": on_failure, "timeout": 50}),
        )
        .set_in(
            &["api_keys"],
            json!([{"name": "partner", "value_sha256": sha256_hex(KEY.as_bytes())}]),
        )
        .set_in(
            &["usage_plans"],
            json!([{"name": "gold", "api_keys": ["partner"], "quota": {"limit": 15, "period": "DAY"}}]),
        )
        .routes([
            Route::function_uri("/limited/*", &emu.http_url("/open/p"))
                .set("throttling", json!({"rate_limit": 20, "burst_limit": 10})),
            Route::function_uri("/plan/*", &emu.http_url("/open/p")).set("api_key_required", true),
        ])
}

/// Sends requests to every gateway from `tasks` tasks each for `for_`; counts 200s and 429s.
async fn hammer(gws: &[&Gateway], path: &str, key: Option<&str>, for_: Duration) -> (u64, u64) {
    let ok = Arc::new(AtomicU64::new(0));
    let limited = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + for_;
    let mut tasks = Vec::new();
    for gw in gws {
        for _ in 0..4 {
            let url = gw.url(path);
            let (ok, limited) = (ok.clone(), limited.clone());
            let key = key.map(str::to_string);
            tasks.push(tokio::spawn(async move {
                let c = client();
                while Instant::now() < deadline {
                    let mut r = c.get(&url);
                    if let Some(k) = &key {
                        r = r.header("x-api-key", k);
                    }
                    match r.send().await.map(|r| r.status().as_u16()) {
                        Ok(200) => ok.fetch_add(1, Ordering::Relaxed),
                        Ok(429) => limited.fetch_add(1, Ordering::Relaxed),
                        other => panic!("unexpected answer {other:?}"),
                    };
                    // Bounded: about 200 requests per second per task at most.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    (ok.load(Ordering::Relaxed), limited.load(Ordering::Relaxed))
}

#[tokio::test]
async fn three_gateways_share_one_limit_and_one_quota() {
    if !redis_installed() {
        return;
    }
    let redis = RedisServer::start(&[]);
    let emu = Emulator::start();
    let c = config(&emu, &redis, "allow");
    let (a, b, g3) = (
        Gateway::launch(&c),
        Gateway::launch(&c),
        Gateway::launch(&c),
    );

    // One route limit (rate 20/s, burst 10) across three gateways, hammered for 2 s: admitted
    // ≤ burst + rate × (window + lease TTL 0.2 s) (docs: src/throttling/store/mod.rs), and
    // well above what one process alone would allow if the three did not share.
    let started = Instant::now();
    let (ok, limited) = hammer(&[&a, &b, &g3], "/limited/x", None, Duration::from_secs(2)).await;
    let window = started.elapsed().as_secs_f64();
    let bound = 10.0 + 20.0 * (window + 0.2);
    println!(
        "three gateways: {ok} admitted, {limited} refused in {window:.2} s (bound {bound:.0})"
    );
    assert!(
        ok as f64 <= bound,
        "{ok} admitted in {window:.2} s, bound {bound:.0}"
    );
    assert!(
        ok as f64 >= 10.0 + 20.0 * window * 0.5,
        "only {ok} admitted in {window:.2} s"
    );
    assert!(
        limited > ok,
        "the three gateways were not limited together: {ok} ok, {limited} 429"
    );

    // One quota (15 per day) across the three: exactly 15 pass.
    let (ok, _) = hammer(
        &[&a, &b, &g3],
        "/plan/x",
        Some(KEY),
        Duration::from_millis(600),
    )
    .await;
    assert_eq!(ok, 15, "the shared quota admitted {ok}");
    // It lives in Redis: a reload and a restarted gateway still see it used up.
    g3.signal("HUP");
    g3.wait_for_log("reload: ");
    let r = client()
        .get(g3.url("/plan/x"))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let reset: u64 = r.headers()["ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&reset));
    drop(g3);
    let g4 = Gateway::launch(&c);
    let r = client()
        .get(g4.url("/plan/x"))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "a restarted gateway forgot the quota");
    // A graceful upgrade (-u, SIGQUIT handoff) with a higher limit: the count goes on (15
    // used), so exactly 5 more pass through the new process.
    let mut a = a;
    let raised = c.clone().set_in(
        &["usage_plans"],
        json!([{"name": "gold", "api_keys": ["partner"], "quota": {"limit": 20, "period": "DAY"}}]),
    );
    a.rewrite(&raised);
    let mut old = a.upgrade().expect("the new process starts");
    let _ = tokio::task::spawn_blocking(move || old.wait()).await;
    let (ok, _) = hammer(&[&a], "/plan/x", Some(KEY), Duration::from_millis(400)).await;
    assert_eq!(
        ok, 5,
        "after the upgrade the quota admitted {ok}, not the 5 left of 20"
    );
}

#[tokio::test]
async fn a_dead_redis_never_makes_a_request_wait() {
    if !redis_installed() {
        return;
    }
    let mut redis = RedisServer::start(&[]);
    let emu = Emulator::start();
    let metrics: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let allow = Gateway::launch(&config(&emu, &redis, "allow").metrics(metrics));
    let deny = Gateway::launch(&config(&emu, &redis, "deny"));
    for gw in [&allow, &deny] {
        let r = client().get(gw.url("/limited/x")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    redis.kill();
    // allow: this process's own limits (rate 20/s, burst 10): requests pass until its bucket
    // is empty, then 429; none waits longer than the store's timeout plus the request itself.
    let mut codes = Vec::new();
    let started_all = Instant::now();
    while codes.last() != Some(&429) && codes.len() < 200 {
        let started = Instant::now();
        let r = client().get(allow.url("/limited/x")).send().await.unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        codes.push(r.status().as_u16());
    }
    let passed = codes.iter().filter(|c| **c == 200).count() as f64;
    let most = 10.0 + 20.0 * started_all.elapsed().as_secs_f64() + 1.0;
    assert_eq!(
        codes.last(),
        Some(&429),
        "never limited: {} requests",
        codes.len()
    );
    assert!(
        passed >= 8.0 && passed <= most,
        "{passed} passed (at most {most:.0})"
    );
    // The breaker opened after the first failures: its gauge says so, and the failed calls
    // are counted (all but at most one: the lease fetched ahead before Redis died may still
    // answer the first request).
    assert_eq!(
        metric_sum(metrics, "lambda_proxy_throttling_store_circuit_open", &[]),
        Some(1.0)
    );
    let failed = metric_sum(
        metrics,
        "lambda_proxy_throttling_store_calls_total",
        &["result=\"unavailable\""],
    )
    .unwrap_or(0.0)
        + metric_sum(
            metrics,
            "lambda_proxy_throttling_store_calls_total",
            &["result=\"timeout\""],
        )
        .unwrap_or(0.0);
    assert!(
        failed + 1.0 >= codes.len() as f64,
        "store failures counted: {failed} of {}",
        codes.len()
    );
    // deny: 503, at once (the first request may still be served by the lease fetched ahead
    // before Redis died: a token Redis granted).
    for i in 0..5 {
        let started = Instant::now();
        let r = client().get(deny.url("/limited/x")).send().await.unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        if i == 0 && r.status() == 200 {
            continue;
        }
        assert_eq!(r.status(), 503);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "throttling_unavailable");
    }
}
