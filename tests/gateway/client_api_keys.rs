//! Client API keys (`api_keys`, `api_key_required`): callers' `x-api-key` checked by the
//! gateway before any AWS call (403 Forbidden for a missing, unknown or disabled key), the key
//! id (never the key) in v1 events, the access log and metrics, the client's key never sent
//! upstream, and the `-t` errors.

use crate::common::*;
use serde_json::{json, Value};

const PARTNER_A: &str = "pa-4f1c2b9e-plaintext-key";
const FROM_ENV: &str = "env-7d3e-plaintext-key";
const FROM_FILE: &str = "file-91ab-plaintext-key";
const DISABLED: &str = "off-55aa-plaintext-key";

fn keys(file: &std::path::Path) -> Value {
    json!([
        {"name": "partner-a", "value_sha256": sha256_hex(PARTNER_A.as_bytes())},
        {"name": "partner-env", "value_env": "LP_TEST_PARTNER_KEY"},
        {"name": "partner-file", "value_file": file.display().to_string()},
        {"name": "partner-off", "value_sha256": sha256_hex(DISABLED.as_bytes()), "enabled": false},
    ])
}

#[tokio::test]
async fn keys_are_checked_before_aws_and_never_passed_on() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("partner-file.key");
    std::fs::write(&key_file, format!("{FROM_FILE}\n")).unwrap();
    let metrics: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = GatewayConfig::new()
        .metrics(metrics)
        .set_in(&["api_keys"], keys(&key_file))
        .routes([
            Route::function_name("fn", "proxy")
                .on(&emu)
                .uri("/fn/*")
                .api_gateway("1.0")
                .proxy_integration()
                .set("api_key_required", true),
            Route::function_uri("/o/*", &emu.http_url("/open/p")).set("api_key_required", true),
            // The route's own upstream key is still sent to API Gateway.
            Route::function_uri("/k/*", &emu.http_url("/apikey/prod"))
                .apikey(API_KEY)
                .set("api_key_required", true),
            Route::function_uri("/free/*", &emu.http_url("/open/p")),
        ]);
    let gw = Gateway::launch_env(&config, &[("LP_TEST_PARTNER_KEY", FROM_ENV)]);
    let c = client();
    let get = |path: &str, key: Option<&str>| {
        let mut r = c.get(gw.url(path));
        if let Some(k) = key {
            r = r.header("x-api-key", k);
        }
        r.send()
    };

    // function_name, v1 event: the key id in identity, the key nowhere in the event.
    let r = get("/fn/x", Some(PARTNER_A)).await.unwrap();
    assert_eq!(r.status(), 201);
    let text = r.text().await.unwrap();
    assert!(!text.contains(PARTNER_A), "the key is in the event: {text}");
    let event: Value = serde_json::from_str(&text).unwrap();
    let identity = &event["requestContext"]["identity"];
    assert_eq!(identity["apiKeyId"], "partner-a", "{event}");
    assert!(identity["apiKey"].is_null());

    // function_uri: the client's key does not reach the upstream; keys from env and file work.
    for (key, name) in [(FROM_ENV, "partner-env"), (FROM_FILE, "partner-file")] {
        let r = get("/o/x", Some(key)).await.unwrap();
        assert_eq!(r.status(), 200, "{name}");
        let echo: Echo = r.json().await.unwrap();
        assert_eq!(echo.header("x-api-key"), None, "{name}: {:?}", echo.headers);
    }
    let r = get("/k/x", Some(PARTNER_A)).await.unwrap();
    assert_eq!(r.status(), 200);
    let echo: Echo = r.json().await.unwrap();
    assert_eq!(echo.header("x-api-key"), Some(API_KEY));
    assert_eq!(echo.header_count("x-api-key"), 1);

    // Missing, wrong, disabled, two keys: 403 Forbidden, API Gateway's answer, and no AWS call.
    let before = emu_calls(metrics);
    assert!(before >= 2.0, "the AWS calls are not counted: {before}");
    for (path, key) in [
        ("/fn/x", None),
        ("/o/x", None),
        ("/o/x", Some("not-a-key")),
        ("/fn/x", Some(DISABLED)),
        ("/o/x", Some(&PARTNER_A[1..])),
    ] {
        let r = get(path, key).await.unwrap();
        assert_eq!(r.status(), 403, "{path} {key:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["message"], "Forbidden");
        assert_eq!(body["error"], "forbidden");
    }
    let r = c
        .get(gw.url("/o/x"))
        .header("x-api-key", PARTNER_A)
        .header("x-api-key", FROM_ENV)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "two keys");
    assert_eq!(emu_calls(metrics), before, "a refused request reached AWS");
    // A route without api_key_required ignores the header.
    assert_eq!(get("/free/x", None).await.unwrap().status(), 200);

    // Metrics: per route, key id and result.
    let count = |route: &str, key: &str, result: &str| {
        metric_sum(
            metrics,
            "lambda_proxy_api_key_requests_total",
            &[
                &format!("route=\"{route}\""),
                &format!("key=\"{key}\""),
                &format!("result=\"{result}\""),
            ],
        )
        .unwrap_or(0.0)
    };
    assert_eq!(count("fn", "partner-a", "allowed"), 1.0);
    assert_eq!(count("o", "partner-env", "allowed"), 1.0);
    assert_eq!(count("o", "partner-file", "allowed"), 1.0);
    assert_eq!(count("fn", "-", "missing"), 1.0);
    assert_eq!(count("o", "-", "missing"), 1.0);
    assert_eq!(count("o", "-", "invalid"), 3.0);
    assert_eq!(count("fn", "-", "invalid"), 1.0);

    // Access log: the key id, never a key (the plaintext is nowhere in the gateway's output).
    let log = gw.wait_for_log_lines(|l| l.contains("route=o ") && l.contains(" 403 "), 4);
    assert!(log.contains("api_key=partner-a"), "{log}");
    assert!(log.contains("api_key=partner-env"), "{log}");
    assert!(log.contains("error=forbidden cause=- api_key=-"), "{log}");
    let all = gw.log_text();
    for plain in [PARTNER_A, FROM_ENV, FROM_FILE, DISABLED] {
        assert!(!all.contains(plain), "{plain} in the gateway's log");
    }
}

#[tokio::test]
async fn reload_rebuilds_the_key_table() {
    let emu = Emulator::start();
    let route = Route::function_uri("/o/*", &emu.http_url("/open/p")).set("api_key_required", true);
    let with_key = |name: &str, key: &str| {
        GatewayConfig::new()
            .set_in(
                &["api_keys"],
                json!([{"name": name, "value_sha256": sha256_hex(key.as_bytes())}]),
            )
            .route(route.clone())
    };
    let gw = Gateway::launch(&with_key("old", "old-key"));
    let status = |key: &'static str| {
        let req = client().get(gw.url("/o/x")).header("x-api-key", key);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(status("old-key").await, 200);
    assert_eq!(status("new-key").await, 403);
    gw.rewrite(&with_key("new", "new-key"));
    gw.signal("HUP");
    gw.wait_for_log("reload:");
    assert_eq!(status("new-key").await, 200);
    assert_eq!(status("old-key").await, 403);
}

/// Upstream connections opened so far (every AWS call, both route kinds).
fn emu_calls(metrics: std::net::SocketAddr) -> f64 {
    metric_sum(metrics, "lambda_proxy_upstream_connections_total", &[]).unwrap_or(0.0)
}

#[test]
fn dash_t_names_the_field_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let good = json!({"name": "a", "value_sha256": sha256_hex(b"k")});
    let cases: Vec<(Value, bool, &str)> = vec![
        (
            json!([good, {"name": "a", "value_sha256": sha256_hex(b"j")}]),
            true,
            "api_keys[1].name: duplicate key name `a`",
        ),
        (
            json!([good, {"name": "b", "value_sha256": sha256_hex(b"k")}]),
            true,
            "api_keys[1]: the same key value as `a`",
        ),
        (
            json!([{"name": "a", "value_sha256": "xyz"}]),
            true,
            "api_keys[0].value_sha256: must be the 64 hex digits",
        ),
        (
            json!([{"name": "a", "value_env": "LP_TEST_UNSET_KEY_VAR"}]),
            true,
            "api_keys[0].value_env: environment variable LP_TEST_UNSET_KEY_VAR is not set",
        ),
        (
            json!([{"name": "a", "value_file": "/nonexistent/lp-key"}]),
            true,
            "api_keys[0].value_file: cannot read /nonexistent/lp-key",
        ),
        (
            json!([]),
            true,
            "routes[0].api_key_required: no client API keys are configured",
        ),
    ];
    for (i, (api_keys, required, want)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("k{i}.yaml"));
        let config = GatewayConfig::new()
            .listener(format!("127.0.0.1:{}", free_port()).parse().unwrap())
            .set_in(&["api_keys"], api_keys)
            .route(
                Route::function_uri("/x", "http://127.0.0.1:1/")
                    .name("r")
                    .set("api_key_required", required),
            );
        std::fs::write(&path, config.to_yaml()).unwrap();
        let out = run_dash_t(&path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "case {i} passed -t");
        let want = format!("{}: {want}", path.display());
        assert!(
            stderr.contains(&want),
            "case {i}: wanted {want:?} in:\n{stderr}"
        );
        assert!(
            !stderr.contains(&sha256_hex(b"k")),
            "case {i}: a hash in {stderr}"
        );
    }
}

#[tokio::test]
async fn a_refused_key_on_a_cors_route_is_readable_by_the_browser() {
    // Without the CORS headers on the 403, a page could not tell "forbidden" from a network
    // failure; the preflight itself needs no key (browsers never send one on it).
    let emu = Emulator::start();
    let config = GatewayConfig::new()
        .set_in(
            &["api_keys"],
            json!([{"name": "partner-a", "value_sha256": sha256_hex(PARTNER_A.as_bytes())}]),
        )
        .route(
            Route::function_uri("/o/*", &emu.http_url("/open/p"))
                .set("api_key_required", true)
                .set("cors_configuration", crate::cors::cors(&[], true)),
        );
    let gw = Gateway::launch(&config);
    let origin = "https://app.example.com";
    let c = client();
    let r = c
        .get(gw.url("/o/x"))
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let allow = r
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(allow.as_deref(), Some(origin), "{:?}", r.headers());
    assert_eq!(
        r.headers()
            .get("access-control-allow-credentials")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );
    let pre = c
        .request(reqwest::Method::OPTIONS, gw.url("/o/x"))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "x-api-key")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 204, "the preflight needs no key");
    let allowed = pre_allow(&pre);
    assert_eq!(allowed.as_deref(), Some(origin));
    let ok = c
        .get(gw.url("/o/x"))
        .header("origin", origin)
        .header("x-api-key", PARTNER_A)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.headers().get("access-control-allow-origin").is_some());
}

fn pre_allow(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned())
}
