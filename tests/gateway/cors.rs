//! CORS per route (`cors_configuration`): preflights answered by the gateway (never sent to
//! AWS), the headers on actual responses (AWS's and the gateway's own errors), origin
//! matching with wildcard subdomains, and the config checks. The browser's view is
//! `cors_browser.rs`.

use crate::common::*;
use reqwest::header::HeaderMap;
use reqwest::Method;

const APP: &str = "https://app.example.com";

/// The example configuration, with `extra_origins` added.
pub fn cors(extra_origins: &[&str], credentials: bool) -> serde_json::Value {
    let mut origins = vec![APP.to_string(), "https://*.example.org".to_string()];
    origins.extend(extra_origins.iter().map(|s| s.to_string()));
    serde_json::json!({
        "allow_origins": origins,
        "allow_methods": ["GET", "POST"],
        "allow_headers": ["authorization", "content-type"],
        "expose_headers": ["x-amzn-requestid"],
        "max_age": 600,
        "allow_credentials": credentials,
    })
}

fn closed_port() -> u16 {
    free_port()
}

fn h<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn varies_by_origin(headers: &HeaderMap) -> bool {
    headers
        .get_all("vary")
        .iter()
        .any(|v| v.to_str().unwrap().to_ascii_lowercase().contains("origin"))
}

/// The CORS headers of an actual response for an allowed origin.
fn assert_allowed(headers: &HeaderMap, origin: &str, what: &str) {
    assert_eq!(
        h(headers, "access-control-allow-origin"),
        Some(origin),
        "{what}: {headers:?}"
    );
    assert_eq!(
        h(headers, "access-control-expose-headers"),
        Some("x-amzn-requestid"),
        "{what}"
    );
    assert_eq!(
        h(headers, "access-control-allow-credentials"),
        Some("true"),
        "{what}"
    );
    assert!(varies_by_origin(headers), "{what}: {headers:?}");
}

fn no_cors(headers: &HeaderMap) -> bool {
    !headers
        .keys()
        .any(|k| k.as_str().starts_with("access-control-"))
}

async fn preflight(url: &str, origin: &str, method: &str) -> reqwest::Response {
    client()
        .request(Method::OPTIONS, url)
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn preflights_are_answered_by_the_gateway_and_never_reach_aws() {
    let emu = Emulator::start();
    let metrics: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let down = format!("http://127.0.0.1:{}/x", closed_port());
    let gw = Gateway::launch(
        &GatewayConfig::new().metrics(metrics).routes([
            Route::function_uri("/o/*", &emu.http_url("/open/p"))
                .set("cors_configuration", cors(&[], true)),
            // Nothing listens there: a forwarded preflight would be answered 502.
            Route::function_uri("/down/*", &down).set("cors_configuration", cors(&[], true)),
            Route::function_uri("/plain/*", &emu.http_url("/open/p")),
        ]),
    );

    let r = preflight(&gw.url("/down/x"), APP, "POST").await;
    assert_eq!(r.status(), 204);
    let hd = r.headers();
    assert_eq!(h(hd, "access-control-allow-origin"), Some(APP));
    assert_eq!(h(hd, "access-control-allow-methods"), Some("GET, POST"));
    assert_eq!(
        h(hd, "access-control-allow-headers"),
        Some("authorization, content-type")
    );
    assert_eq!(h(hd, "access-control-max-age"), Some("600"));
    assert_eq!(h(hd, "access-control-allow-credentials"), Some("true"));
    assert_eq!(h(hd, "vary"), Some("Origin, Access-Control-Request-Method"));

    // Refused: origin, method, and the wildcard's edges. Answered 204 without allow headers.
    for (origin, method) in [
        ("https://evil.test", "POST"),
        (APP, "DELETE"),
        ("https://example.org", "GET"),
        ("https://evil-example.org", "GET"),
        ("http://a.example.org", "GET"),
        ("https://app.example.com.evil.test", "GET"),
        ("null", "GET"),
    ] {
        let r = preflight(&gw.url("/down/x"), origin, method).await;
        assert_eq!(r.status(), 204, "{origin} {method}");
        assert!(no_cors(r.headers()), "{origin} {method}: {:?}", r.headers());
    }
    for origin in ["https://a.example.org", "https://a.b.example.org"] {
        let r = preflight(&gw.url("/down/x"), origin, "GET").await;
        assert_eq!(h(r.headers(), "access-control-allow-origin"), Some(origin));
    }
    // Counted per route and result; none of them was an AWS call.
    let count = |result: &str| {
        metric_sum(
            metrics,
            "lambda_proxy_cors_preflights_total",
            &["route=\"down\"", &format!("result=\"{result}\"")],
        )
    };
    assert_eq!(count("allowed"), Some(3.0));
    assert_eq!(count("refused"), Some(7.0));
    let reqs = metric_sum(
        metrics,
        "lambda_proxy_requests_total",
        &["route=\"down\"", "2xx"],
    );
    assert_eq!(reqs, Some(10.0));
    let aws = metric_sum(
        metrics,
        "lambda_proxy_upstream_connections_total",
        &["route=\"down\""],
    );
    assert_eq!(aws.unwrap_or(0.0), 0.0, "an AWS connection for a preflight");

    // An OPTIONS that is not a preflight goes to the route as before.
    let r = client()
        .request(Method::OPTIONS, gw.url("/o/x"))
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_allowed(r.headers(), APP, "plain OPTIONS");
    let echo: Echo = r.json().await.unwrap();
    assert_eq!(echo.method, "OPTIONS");
    // A route without CORS: the preflight is forwarded like any OPTIONS.
    let r = preflight(&gw.url("/plain/x"), APP, "GET").await;
    assert_eq!(r.status(), 200);
    assert!(no_cors(r.headers()));
}

#[tokio::test]
async fn actual_responses_carry_the_headers_errors_included() {
    let emu = Emulator::start();
    let down = format!("http://127.0.0.1:{}/x", closed_port());
    let gw = Gateway::launch(
        &GatewayConfig::new().routes([
            Route::function_uri("/o/*", &emu.http_url("/open/p"))
                .set("cors_configuration", cors(&[], true)),
            Route::function_uri("/down/*", &down).set("cors_configuration", cors(&[], true)),
            Route::function_uri("/small/*", &emu.http_url("/open/p"))
                .body_limit(10)
                .set("cors_configuration", cors(&[], true)),
            Route::function_name("fn", "echo")
                .on(&emu)
                .proxy_integration()
                .set("cors_configuration", cors(&[], true)),
        ]),
    );
    let c = client();
    let get =
        |path: &str, origin: &'static str| c.get(gw.url(path)).header("origin", origin).send();

    // 200 from a function_uri route; the request id AWS sent is the exposed header.
    let r = get("/o/x", "https://a.b.example.org").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_allowed(r.headers(), "https://a.b.example.org", "function_uri 200");
    assert!(r.headers().contains_key("x-amzn-requestid"));
    // A disallowed origin: no CORS headers, but the answer still varies by origin.
    let r = get("/o/x", "https://evil.test").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(no_cors(r.headers()) && varies_by_origin(r.headers()));
    // No Origin: not a CORS request.
    let r = c.get(gw.url("/o/x")).send().await.unwrap();
    assert!(no_cors(r.headers()));

    // The gateway's own answers: 502 (upstream down) and 413 (body over the route's limit).
    let r = get("/down/x", APP).await.unwrap();
    assert_eq!(r.status(), 502);
    assert_allowed(r.headers(), APP, "502");
    let r = c
        .post(gw.url("/small/x"))
        .header("origin", APP)
        .body(vec![b'x'; 100])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_allowed(r.headers(), APP, "413");
    // No route, no CORS (API Gateway answers CORS on routes; here a route carries it).
    let r = get("/nowhere", APP).await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(no_cors(r.headers()));

    // function_name: the function's own Access-Control-* are replaced, its Vary kept.
    let result = serde_json::json!({
        "statusCode": 200,
        "headers": {"vary": "Accept-Encoding", "access-control-allow-origin": "*",
                    "access-control-max-age": "5", "x-amzn-requestid": "fn-1"},
        "body": "hi",
    });
    let r = c
        .post(gw.url("/fn"))
        .header("origin", APP)
        .body(result.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_allowed(r.headers(), APP, "function_name 200");
    assert!(r.headers().get("access-control-max-age").is_none());
    let vary: Vec<_> = r
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        vary.join(", ").to_ascii_lowercase(),
        "accept-encoding, origin"
    );
    assert_eq!(r.text().await.unwrap(), "hi");
}

/// `-t` on a file whose one route has `cors` as its `cors_configuration`.
fn dash_t_cors(cors: serde_json::Value) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cors.yaml");
    let route = serde_json::json!({
        "name": "orders", "uri": "/orders/*", "function_uri": "http://127.0.0.1:1/",
        "cors_configuration": cors,
    });
    let text = format!(
        "listeners: [{{address: '127.0.0.1:{}'}}]\nroutes:\n  - {route}\n",
        free_port()
    );
    std::fs::write(&path, text).unwrap();
    let out = run_dash_t(&path);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), all)
}

#[test]
fn dash_t_names_file_route_and_field() {
    let (ok, out) = dash_t_cors(cors(&[], true));
    assert!(ok, "{out}");
    for (conf, field, why) in [
        (
            cors(&["*"], true),
            "routes[0].cors_configuration.allow_origins[2]",
            "allow_credentials",
        ),
        (
            serde_json::json!({"allow_origins": []}),
            "routes[0].cors_configuration.allow_origins",
            "at least one",
        ),
        (
            serde_json::json!({"allow_origins": ["*"], "max_age": -1}),
            "routes[0].cors_configuration.max_age",
            "0 to 86400",
        ),
        (
            serde_json::json!({"allow_origins": ["*"], "allow_methods": ["GTE"]}),
            "routes[0].cors_configuration.allow_methods[0]",
            "GET",
        ),
        (
            serde_json::json!({"allow_origins": ["https://a.test/"]}),
            "routes[0].cors_configuration.allow_origins[0]",
            "not an origin",
        ),
        (
            serde_json::json!({"allow_origins": ["*"], "allow_origin": ["x"]}),
            "allow_origin",
            "unknown field",
        ),
    ] {
        let (ok, out) = dash_t_cors(conf.clone());
        assert!(!ok, "{conf}: {out}");
        assert!(
            out.contains("cors.yaml") && out.contains(field) && out.contains(why),
            "{conf}: {out}"
        );
    }
    // `*` without credentials is API Gateway's "any origin".
    let (ok, out) =
        dash_t_cors(serde_json::json!({"allow_origins": ["*"], "allow_headers": ["*"]}));
    assert!(ok, "{out}");
}
