//! Lambda (REQUEST) authorizers end to end, through the gateway binary and the emulator's
//! built-in authorizer functions (`authorizer-simple`, `authorizer-policy`, driven by the
//! first identity value: `allow…`, `deny…`, `error…`, `slow:<ms>`, `garbage…`): what the
//! integration receives of an approval (v1 and v2 events, `authorizer_headers` on
//! `function_uri` routes), API Gateway's answers when the authorizer refuses or fails (and that
//! the integration is then never called), the answer cache (counted by the emulator's
//! `/__emulator/counters`; a cached policy is still evaluated per request), IAM policy answers
//! in payload 1.0 and 2.0, the metrics and the access log's principal, reloads, the `-t`
//! errors, and CORS preflights and refusals on an authorized route.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{json, Value};

const ORIGIN: &str = "https://app.example.com";

/// A Lambda authorizer named `name` calling the emulator's `function`, with identity sources
/// `X-Token` (the token) and the `tenant` query parameter, answers cached `ttl` seconds.
fn authorizer(emu: &Emulator, name: &str, function: &str, ttl: u64) -> Value {
    json!({
        "name": name,
        "authorizer_type": "request",
        "function_name": function,
        "aws_region": "us-east-1",
        "host": "127.0.0.1",
        "port": emu.http.port(),
        "disable_https": true,
        "aws_key": AKID,
        "aws_secret": SECRET,
        "authorizer_payload_format_version": "2.0",
        "enable_simple_responses": true,
        "identity_source": ["$request.header.X-Token", "$request.querystring.tenant"],
        "authorizer_result_ttl_in_seconds": ttl,
    })
}

/// `a` with `field` set (or removed, for `null`).
fn with(mut a: Value, field: &str, value: Value) -> Value {
    let m = a.as_object_mut().unwrap();
    if value.is_null() {
        m.remove(field);
    } else {
        m.insert(field.to_string(), value);
    }
    a
}

/// A `function_name` route `/name/*` calling `proxy` (which echoes the event as its body) with
/// an API Gateway event of `version`, behind authorizer `auth`.
fn proxy_route(emu: &Emulator, name: &str, version: &str, auth: &str) -> Route {
    Route::function_name(name, "proxy")
        .on(emu)
        .uri(&format!("/{name}/*"))
        .api_gateway(version)
        .proxy_integration()
        .set("authorizer", auth)
}

/// Invokes of `function` the emulator has counted so far.
async fn invocations(emu: &Emulator, function: &str) -> u64 {
    let v: Value = client()
        .get(emu.http_url("/__emulator/counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["invocations"][function].as_u64().unwrap_or(0)
}

/// GET `path` with `X-Token: token` (when given).
async fn get(gw: &Gateway, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut r = client().get(gw.url(path));
    if let Some(t) = token {
        r = r.header("x-token", t);
    }
    r.send().await.unwrap()
}

/// The event the `proxy` function received, from an allowed request.
async fn event(r: reqwest::Response) -> Value {
    assert_eq!(r.status(), 201, "the integration was not reached");
    let text = r.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// `error` of a refusal with `status`.
async fn refused(r: reqwest::Response, status: u16, error: &str) {
    assert_eq!(r.status(), status);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
}

fn decisions(metrics: SocketAddr, route: &str, authorizer: &str, result: &str) -> f64 {
    metric_sum(
        metrics,
        "lambda_proxy_authorizer_decisions_total",
        &[
            &format!("route=\"{route}\""),
            &format!("authorizer=\"{authorizer}\""),
            &format!("result=\"{result}\""),
        ],
    )
    .unwrap_or(0.0)
}

fn cache_lookups(metrics: SocketAddr, authorizer: &str, result: &str) -> f64 {
    metric_sum(
        metrics,
        "lambda_proxy_authorizer_cache_total",
        &[
            &format!("authorizer=\"{authorizer}\""),
            &format!("result=\"{result}\""),
        ],
    )
    .unwrap_or(0.0)
}

#[tokio::test]
async fn an_approval_reaches_the_integration() {
    let emu = Emulator::start();
    let config = GatewayConfig::new()
        .set_in(
            &["authorizers"],
            json!([authorizer(&emu, "custom", "authorizer-simple", 0)]),
        )
        .routes([
            proxy_route(&emu, "v2", "2.0", "custom"),
            proxy_route(&emu, "v1", "1.0", "custom"),
            Route::function_uri("/u/*", &emu.http_url("/open/p"))
                .set("authorizer", "custom")
                .set(
                    "authorizer_headers",
                    json!({
                        "x-tenant": "$context.authorizer.tenant",
                        "x-nested": "$context.authorizer.nested",
                        "x-absent": "$context.authorizer.nothing",
                    }),
                ),
        ]);
    let gw = Gateway::launch(&config);

    // v2 event: the authorizer's context as returned, under `lambda`.
    let ev = event(get(&gw, "/v2/x?tenant=acme", Some("allow-a")).await).await;
    let lambda = &ev["requestContext"]["authorizer"]["lambda"];
    assert_eq!(
        *lambda,
        json!({"token": "allow-a", "tenant": "acme", "invocations": 1, "nested": {"a": 1}}),
        "{ev}"
    );

    // v1 event: the context keys flattened, no principalId (a simple answer has none).
    let ev = event(get(&gw, "/v1/x?tenant=acme", Some("allow-b")).await).await;
    let a = &ev["requestContext"]["authorizer"];
    assert_eq!(
        *a,
        json!({
            "token": "allow-b", "tenant": "acme", "invocations": 2, "nested": {"a": 1},
            "integrationLatency": 0,
        }),
        "{ev}"
    );

    // function_uri: the headers carry the approved values, never what the client sent.
    let r = client()
        .get(gw.url("/u/x?tenant=acme"))
        .header("x-token", "allow-c")
        .header("x-tenant", "forged")
        .header("x-tenant", "forged-again")
        .header("x-absent", "forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let echo: Echo = r.json().await.unwrap();
    assert_eq!(echo.header("x-tenant"), Some("acme"), "{:?}", echo.headers);
    assert_eq!(echo.header_count("x-tenant"), 1, "{:?}", echo.headers);
    assert_eq!(
        echo.header("x-nested"),
        Some("{\"a\":1}"),
        "{:?}",
        echo.headers
    );
    assert_eq!(echo.header("x-absent"), None, "{:?}", echo.headers);
    assert_eq!(invocations(&emu, "authorizer-simple").await, 3);
}

#[tokio::test]
async fn refusals_and_failures_never_reach_the_integration() {
    let emu = Emulator::start();
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let auth = with(
        authorizer(&emu, "custom", "authorizer-simple", 0),
        "timeout",
        json!(500),
    );
    let config = GatewayConfig::new()
        .metrics(metrics)
        .set_in(&["authorizers"], json!([auth]))
        .route(proxy_route(&emu, "fn", "2.0", "custom"));
    let gw = Gateway::launch(&config);
    let authz = || invocations(&emu, "authorizer-simple");

    // A missing identity source: 401, and the authorizer is not called.
    for (path, token) in [
        ("/fn/x?tenant=acme", None),
        ("/fn/x", Some("allow-1")),
        ("/fn/x?tenant=", Some("allow-1")),
        ("/fn/x?tenant=acme", Some("")),
    ] {
        refused(get(&gw, path, token).await, 401, "unauthorized").await;
    }
    assert_eq!(authz().await, 0, "called without an identity");

    // Called, and refused or failed.
    let cases = [
        ("deny-1", 403, "forbidden"),
        ("error-1", 500, "authorizer_error"),
        ("garbage", 500, "authorizer_error"),
        ("nonsense", 403, "forbidden"),
    ];
    for (i, (token, status, error)) in cases.into_iter().enumerate() {
        refused(
            get(&gw, "/fn/x?tenant=acme", Some(token)).await,
            status,
            error,
        )
        .await;
        assert_eq!(authz().await, i as u64 + 1, "{token}");
    }
    // Slower than the authorizer's timeout: 500 once the timeout is over, not when it answers.
    let started = Instant::now();
    refused(
        get(&gw, "/fn/x?tenant=acme", Some("slow:5000")).await,
        500,
        "authorizer_error",
    )
    .await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(took >= Duration::from_millis(450), "took {took:?}");
    assert_eq!(
        invocations(&emu, "proxy").await,
        0,
        "a refusal reached the function"
    );

    // Within the timeout: allowed.
    event(get(&gw, "/fn/x?tenant=acme", Some("slow:50")).await).await;
    event(get(&gw, "/fn/x?tenant=acme", Some("allow-2")).await).await;
    assert_eq!(invocations(&emu, "proxy").await, 2);

    // Decisions, by route, authorizer and result.
    let count = |result| decisions(metrics, "fn", "custom", result);
    assert_eq!(count("unauthorized"), 4.0);
    assert_eq!(count("forbidden"), 2.0);
    assert_eq!(count("error"), 3.0);
    assert_eq!(count("allowed"), 2.0);
    let log = gw.wait_for_log("authorizer custom failed");
    assert!(log.contains("route fn"), "{log}");
}

#[tokio::test]
async fn answers_are_cached_by_identity_values_failures_are_not() {
    let emu = Emulator::start();
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = GatewayConfig::new()
        .metrics(metrics)
        .set_in(
            &["authorizers"],
            json!([
                authorizer(&emu, "custom", "authorizer-simple", 300),
                authorizer(&emu, "nocache", "authorizer-simple", 0),
            ]),
        )
        .routes([
            proxy_route(&emu, "fn", "2.0", "custom"),
            proxy_route(&emu, "other", "2.0", "custom"),
            proxy_route(&emu, "nc", "2.0", "nocache"),
        ]);
    let gw = Gateway::launch(&config);
    let authz = || invocations(&emu, "authorizer-simple");
    let context = |ev: &Value| ev["requestContext"]["authorizer"]["lambda"].clone();

    // 20 requests with the same identity values, 15 of them at once: one Invoke, and every
    // request got its answer.
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(event(get(&gw, "/fn/x?tenant=acme", Some("allow-1")).await).await);
    }
    let together = (0..15).map(|i| {
        let path = if i % 2 == 0 {
            "/fn/y?tenant=acme"
        } else {
            "/other/z?tenant=acme"
        };
        async { event(get(&gw, path, Some("allow-1")).await).await }
    });
    seen.extend(futures_util::future::join_all(together).await);
    assert_eq!(authz().await, 1, "the answer was not reused");
    for ev in &seen {
        assert_eq!(context(ev)["invocations"], 1, "{ev}");
        assert_eq!(context(ev)["tenant"], "acme", "{ev}");
    }
    assert_eq!(cache_lookups(metrics, "custom", "miss"), 1.0);
    assert_eq!(cache_lookups(metrics, "custom", "hit"), 19.0);

    // Another tenant is another identity: one more Invoke, then cached too.
    for _ in 0..3 {
        let ev = event(get(&gw, "/fn/x?tenant=globex", Some("allow-1")).await).await;
        assert_eq!(context(&ev)["tenant"], "globex");
        assert_eq!(context(&ev)["invocations"], 2);
    }
    assert_eq!(authz().await, 2);

    // A deny is an answer, cached like any other (as API Gateway caches the policy).
    for _ in 0..3 {
        refused(
            get(&gw, "/fn/x?tenant=acme", Some("deny-1")).await,
            403,
            "forbidden",
        )
        .await;
    }
    assert_eq!(authz().await, 3, "a deny was not cached");

    // Failures are not: every request calls the authorizer again.
    for token in ["error-1", "error-1", "garbage", "garbage"] {
        let before = authz().await;
        refused(
            get(&gw, "/fn/x?tenant=acme", Some(token)).await,
            500,
            "authorizer_error",
        )
        .await;
        assert_eq!(authz().await, before + 1, "{token}: a failure was cached");
    }

    // TTL 0: one Invoke per request, and no cache lookups.
    let before = authz().await;
    for i in 1..=3 {
        event(get(&gw, "/nc/x?tenant=acme", Some("allow-1")).await).await;
        assert_eq!(authz().await, before + i);
    }
    assert_eq!(cache_lookups(metrics, "nocache", "hit"), 0.0);
    assert_eq!(cache_lookups(metrics, "nocache", "miss"), 0.0);
    assert_eq!(invocations(&emu, "proxy").await, 26);
}

#[tokio::test]
async fn policy_answers_in_both_payload_formats() {
    let emu = Emulator::start();
    let policy = |name: &str, version: &str| {
        let a = authorizer(&emu, name, "authorizer-policy", 0);
        let a = with(a, "authorizer_payload_format_version", json!(version));
        let a = with(a, "enable_simple_responses", Value::Null);
        // A comma inside a value would split the 1.0 token: the header alone.
        with(a, "identity_source", json!(["$request.header.X-Token"]))
    };
    let config = GatewayConfig::new()
        .set_in(
            &["authorizers"],
            json!([policy("pol1", "1.0"), policy("pol2", "2.0")]),
        )
        .routes([
            proxy_route(&emu, "p1", "1.0", "pol1"),
            proxy_route(&emu, "p1v2", "2.0", "pol1"),
            proxy_route(&emu, "p2", "1.0", "pol2"),
            proxy_route(&emu, "p2v2", "2.0", "pol2"),
        ]);
    let gw = Gateway::launch(&config);

    for (route, version) in [("p1", "1.0"), ("p2", "2.0")] {
        // `allow`: the policy names this request's ARN. The emulator checks the authorizer
        // event strictly (1.0: `identitySource` and `authorizationToken` strings), so getting
        // this far proves its shape.
        let ev = event(get(&gw, &format!("/{route}/x"), Some("allow-1")).await).await;
        let a = &ev["requestContext"]["authorizer"];
        assert_eq!(a["principalId"], "user-allow-1", "{version}: {ev}");
        assert_eq!(a["token"], "allow-1", "{version}: {ev}");
        assert_eq!(a["number"], 7, "{version}: {ev}");
        assert_eq!(a["flag"], true, "{version}: {ev}");
        assert_eq!(a["integrationLatency"], 0, "{version}: {ev}");

        // v2 event: the context under `lambda`.
        let ev = event(get(&gw, &format!("/{route}v2/x"), Some("allow-2")).await).await;
        let lambda = &ev["requestContext"]["authorizer"]["lambda"];
        assert_eq!(lambda["token"], "allow-2", "{version}: {ev}");
        assert_eq!(lambda["number"], 7, "{version}: {ev}");

        // A policy for another resource does not allow this one; a wildcard does.
        refused(
            get(&gw, &format!("/{route}/x"), Some("allow-other")).await,
            403,
            "forbidden",
        )
        .await;
        event(get(&gw, &format!("/{route}/x"), Some("allow-wildcard")).await).await;
        refused(
            get(&gw, &format!("/{route}/x"), Some("deny-1")).await,
            403,
            "forbidden",
        )
        .await;
        refused(
            get(&gw, &format!("/{route}/x"), Some("error-1")).await,
            500,
            "authorizer_error",
        )
        .await;
    }
    assert_eq!(invocations(&emu, "authorizer-policy").await, 12);
    assert_eq!(invocations(&emu, "proxy").await, 6);
}

#[tokio::test]
async fn a_cached_policy_is_evaluated_for_each_request() {
    // What is cached is the authorizer's answer: its policy names the ARN of the request that
    // asked, so the same caller on another route is refused until the answer expires (as in
    // API Gateway), unless the policy covers both.
    let emu = Emulator::start();
    let pol = with(
        with(
            authorizer(&emu, "pol", "authorizer-policy", 300),
            "enable_simple_responses",
            Value::Null,
        ),
        "identity_source",
        json!(["$request.header.X-Token"]),
    );
    let config = GatewayConfig::new()
        .set_in(&["authorizers"], json!([pol]))
        .routes([
            proxy_route(&emu, "pa", "1.0", "pol"),
            proxy_route(&emu, "pb", "1.0", "pol"),
        ]);
    let gw = Gateway::launch(&config);
    for _ in 0..2 {
        let ev = event(get(&gw, "/pa/x", Some("allow-1")).await).await;
        assert_eq!(ev["requestContext"]["authorizer"]["invocations"], 1, "{ev}");
    }
    refused(get(&gw, "/pb/x", Some("allow-1")).await, 403, "forbidden").await;
    refused(get(&gw, "/pa/y", Some("allow-1")).await, 403, "forbidden").await;
    assert_eq!(invocations(&emu, "authorizer-policy").await, 1);
    for path in ["/pa/x", "/pb/y", "/pa/z"] {
        event(get(&gw, path, Some("allow-wildcard")).await).await;
    }
    assert_eq!(invocations(&emu, "authorizer-policy").await, 2);
    // The access log names the principal.
    let log = gw.wait_for_log_lines(|l| l.contains("route=pa ") && l.contains(" 201 "), 3);
    assert!(log.contains("principal=user-allow-1"), "{log}");
    assert!(log.contains("principal=user-allow-wildcard"), "{log}");
}

#[tokio::test]
async fn a_cors_route_answers_preflights_itself_and_refusals_carry_cors_headers() {
    let emu = Emulator::start();
    let config = GatewayConfig::new()
        .set_in(
            &["authorizers"],
            json!([authorizer(&emu, "custom", "authorizer-simple", 0)]),
        )
        .route(
            Route::function_uri("/c/*", &emu.http_url("/open/p"))
                .set("authorizer", "custom")
                .set("cors_configuration", crate::cors::cors(&[], true)),
        );
    let gw = Gateway::launch(&config);
    let c = client();
    let pre = c
        .request(reqwest::Method::OPTIONS, gw.url("/c/x"))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 204, "a preflight carries no identity");
    assert_eq!(allow_origin(&pre).as_deref(), Some(ORIGIN));
    assert_eq!(invocations(&emu, "authorizer-simple").await, 0);

    for (token, status) in [(None, 401), (Some("deny-1"), 403), (Some("error-1"), 500)] {
        let mut r = c.get(gw.url("/c/x?tenant=acme")).header("origin", ORIGIN);
        if let Some(t) = token {
            r = r.header("x-token", t);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), status, "{token:?}");
        assert_eq!(
            allow_origin(&r).as_deref(),
            Some(ORIGIN),
            "{token:?}: {:?}",
            r.headers()
        );
    }
    let ok = c
        .get(gw.url("/c/x?tenant=acme"))
        .header("origin", ORIGIN)
        .header("x-token", "allow-1")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(allow_origin(&ok).as_deref(), Some(ORIGIN));
    assert_eq!(invocations(&emu, "authorizer-simple").await, 3);
}

#[tokio::test]
async fn reload_applies_authorizer_changes() {
    let emu = Emulator::start();
    let config = |ttl: u64, authorized: bool| {
        let route = proxy_route(&emu, "fn", "2.0", "custom");
        let route = if authorized {
            route
        } else {
            route.unset("authorizer")
        };
        GatewayConfig::new()
            .set_in(
                &["authorizers"],
                json!([authorizer(&emu, "custom", "authorizer-simple", ttl)]),
            )
            .route(route)
    };
    let gw = Gateway::launch(&config(300, false));
    event(get(&gw, "/fn/x", None).await).await;
    let reload = |c: GatewayConfig| {
        let n = gw.log_text().matches("reload:").count();
        gw.rewrite(&c);
        gw.signal("HUP");
        wait_until("the reload", Duration::from_secs(10), || {
            gw.log_text().matches("reload:").count() > n
        });
    };
    reload(config(300, true));
    refused(get(&gw, "/fn/x", None).await, 401, "unauthorized").await;
    for _ in 0..2 {
        event(get(&gw, "/fn/x?tenant=acme", Some("allow-1")).await).await;
    }
    assert_eq!(invocations(&emu, "authorizer-simple").await, 1);
    // Caching turned off: every request asks.
    reload(config(0, true));
    for _ in 0..2 {
        event(get(&gw, "/fn/x?tenant=acme", Some("allow-1")).await).await;
    }
    assert_eq!(invocations(&emu, "authorizer-simple").await, 3);
}

fn allow_origin(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned())
}

#[test]
fn dash_t_names_the_field_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let good = json!({
        "name": "custom",
        "authorizer_type": "request",
        "function_name": "authorizer-simple",
        "aws_region": "us-east-1",
        "aws_key": AKID,
        "aws_secret": SECRET,
        "identity_source": ["$request.header.X-Token"],
    });
    let uri = || Route::function_uri("/x", "http://127.0.0.1:1/").name("r");
    let fname = || {
        Route::function_name("f", "proxy")
            .endpoint("127.0.0.1", 1)
            .plain_http()
    };
    let cases: Vec<(Value, Route, &str)> = vec![
        (
            json!([good]),
            uri().set("authorizer", "nope"),
            "routes[0].authorizer: no authorizer named `nope` (top-level `authorizers`: custom)",
        ),
        (
            json!([with(
                with(
                    good.clone(),
                    "authorizer_payload_format_version",
                    json!("1.0")
                ),
                "enable_simple_responses",
                json!(true)
            )]),
            uri().set("authorizer", "custom"),
            "authorizers[0].enable_simple_responses: simple responses need",
        ),
        (
            json!([with(good.clone(), "awsgateway_compatible", json!(true))]),
            uri().set("authorizer", "custom"),
            "authorizers[0]: unknown field `awsgateway_compatible`",
        ),
        (
            json!([good]),
            uri()
                .set("authorizer", "custom")
                .set("authorization_scopes", ["read"]),
            "routes[0].authorization_scopes: only with a jwt authorizer",
        ),
        (
            json!([good]),
            fname().set("authorizer", "custom").set(
                "authorizer_headers",
                json!({"x-t": "$context.authorizer.t"}),
            ),
            "routes[0].authorizer_headers: only on function_uri routes",
        ),
        (
            json!([with(
                good.clone(),
                "authorizer_result_ttl_in_seconds",
                json!(3601)
            )]),
            uri().set("authorizer", "custom"),
            "authorizers[0].authorizer_result_ttl_in_seconds: must be 0 to 3600",
        ),
    ];
    for (i, (authorizers, route, want)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("a{i}.yaml"));
        let config = GatewayConfig::new()
            .listener(format!("127.0.0.1:{}", free_port()).parse().unwrap())
            .set_in(&["authorizers"], authorizers)
            .route(route);
        std::fs::write(&path, config.to_yaml()).unwrap();
        let out = run_dash_t(&path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "case {i} passed -t");
        assert!(
            stderr.contains(&path.display().to_string()) && stderr.contains(want),
            "case {i}: wanted {want:?} in:\n{stderr}"
        );
        assert!(!stderr.contains(SECRET), "case {i}: the secret in {stderr}");
    }
    // And the good one passes.
    let path = dir.path().join("ok.yaml");
    let config = GatewayConfig::new()
        .listener(format!("127.0.0.1:{}", free_port()).parse().unwrap())
        .set_in(&["authorizers"], json!([good]))
        .route(uri().set("authorizer", "custom"));
    std::fs::write(&path, config.to_yaml()).unwrap();
    let out = run_dash_t(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
