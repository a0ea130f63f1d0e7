//! JWT authorizers end to end: tokens minted here with RSA, EC and Ed25519 keys, the issuer's
//! keys served by the emulator's OIDC discovery and JWKS endpoints (`--jwks-file`), the
//! gateway checking them before any AWS call: every attack shape refused with 401 and
//! `WWW-Authenticate`, scopes with 403, claims in the events and in configured upstream headers,
//! key rotation through one rate-limited fetch, and a 503 while no keys can be had.

use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;
use serde_json::{json, Value};

use crate::common::jwt::{forge, hs256, jwks, now, publish, SigningKey};
use crate::common::*;

/// The status of the emulator's `proxy` function (a proxy-integration result).
const PROXY_OK: u16 = 201;

/// The emulator with a key set file; the issuer is its plain listener.
struct Issuer {
    emu: Emulator,
    jwks_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Issuer {
    fn start(keys: &[&SigningKey]) -> Issuer {
        let dir = tempfile::tempdir().unwrap();
        let jwks_file = dir.path().join("jwks.json");
        publish(&jwks_file, &jwks(keys));
        let emu = Emulator::start_with(&["--jwks-file", jwks_file.to_str().unwrap()]);
        Issuer {
            emu,
            jwks_file,
            _dir: dir,
        }
    }

    /// What the emulator's discovery document names as issuer (`http://<Host>`).
    fn issuer(&self) -> String {
        format!("http://{}", self.emu.http)
    }

    fn counters(&self) -> Value {
        let (status, body) = raw_get(self.emu.http, "/__emulator/counters");
        assert_eq!(status, 200, "{body}");
        let json = body.split("\r\n\r\n").nth(1).unwrap_or(&body);
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {body}"))
    }

    fn count(&self, field: &str) -> u64 {
        self.counters()[field].as_u64().unwrap_or(0)
    }

    fn invocations(&self, function: &str) -> u64 {
        self.counters()["invocations"][function]
            .as_u64()
            .unwrap_or(0)
    }
}

fn claims(issuer: &str) -> Value {
    json!({"iss": issuer, "aud": "orders-api", "sub": "user-1", "exp": now() + 600,
           "iat": now(), "scope": "orders.read profile"})
}

fn with(mut c: Value, k: &str, v: Value) -> Value {
    c[k] = v;
    c
}

fn authorizer(issuer: &str, jwt_extra: Value) -> Value {
    let mut jwt = json!({"issuer": issuer, "audience": ["orders-api", "other"]});
    if let (Some(j), Some(extra)) = (jwt.as_object_mut(), jwt_extra.as_object()) {
        for (k, v) in extra {
            j.insert(k.clone(), v.clone());
        }
    }
    json!([{"name": "users", "authorizer_type": "jwt", "jwt_configuration": jwt}])
}

fn routes(iss: &Issuer) -> Vec<Route> {
    vec![
        Route::function_name("v2", "proxy")
            .on(&iss.emu)
            .uri("/v2/*")
            .api_gateway("2.0")
            .proxy_integration()
            .set("authorizer", "users"),
        Route::function_name("v1", "proxy")
            .on(&iss.emu)
            .uri("/v1/*")
            .api_gateway("1.0")
            .proxy_integration()
            .set("authorizer", "users"),
        Route::function_uri("/up/*", &iss.emu.http_url("/open/p"))
            .set("authorizer", "users")
            .set(
                "authorizer_headers",
                json!({"x-user-sub": "$context.authorizer.claims.sub",
                       "x-user-scopes": "$context.authorizer.scopes"}),
            ),
        Route::function_uri("/orders/*", &iss.emu.http_url("/open/p"))
            .set("authorizer", "users")
            .set(
                "authorization_scopes",
                json!(["orders.write", "orders.admin"]),
            ),
    ]
}

async fn get(gw: &Gateway, path: &str, auth: Option<&str>) -> reqwest::Response {
    let mut r = client().get(gw.url(path));
    if let Some(a) = auth {
        r = r.header("authorization", a);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn tokens_of_every_key_type_pass_and_their_claims_reach_the_function() {
    let keys = [
        SigningKey::rsa("rsa-1", Algorithm::RS256),
        SigningKey::rsa("rsa-pss", Algorithm::PS256),
        SigningKey::ec("ec-256", Algorithm::ES256),
        SigningKey::ec("ec-384", Algorithm::ES384),
        SigningKey::ed25519("ed-1"),
    ];
    let iss = Issuer::start(&keys.iter().collect::<Vec<_>>());
    let metrics: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = GatewayConfig::new()
        .metrics(metrics)
        .set_in(&["authorizers"], authorizer(&iss.issuer(), json!({})))
        .routes(routes(&iss));
    let gw = Gateway::launch(&config);
    let c = claims(&iss.issuer());

    for k in &keys {
        let token = k.mint(&c);
        let r = get(&gw, "/v2/x", Some(&format!("Bearer {token}"))).await;
        assert_eq!(
            r.status(),
            PROXY_OK,
            "{:?}: {}",
            k.alg,
            r.text().await.unwrap()
        );
        let event: Value = r.json().await.unwrap();
        let jwt = &event["requestContext"]["authorizer"]["jwt"];
        assert_eq!(jwt["claims"]["sub"], "user-1", "{event}");
        assert_eq!(jwt["claims"]["aud"], "orders-api");
        assert_eq!(jwt["claims"]["exp"], c["exp"].to_string());
        assert_eq!(jwt["scopes"], json!(["orders.read", "profile"]));
    }
    // The `Bearer` prefix is optional, as API Gateway; v1 events carry `claims` and `scopes`.
    let token = keys[0].mint(&c);
    let r = get(&gw, "/v1/x", Some(&token)).await;
    assert_eq!(r.status(), PROXY_OK);
    let event: Value = r.json().await.unwrap();
    assert_eq!(
        event["requestContext"]["authorizer"]["claims"]["sub"],
        "user-1"
    );
    assert_eq!(
        event["requestContext"]["authorizer"]["scopes"][0],
        "orders.read"
    );

    // function_uri: the configured headers carry the claims; a client's own is replaced.
    let r = client()
        .get(gw.url("/up/x"))
        .header("authorization", format!("Bearer {token}"))
        .header("x-user-sub", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let echo: Echo = r.json().await.unwrap();
    assert_eq!(
        echo.header("x-user-sub"),
        Some("user-1"),
        "{:?}",
        echo.headers
    );
    assert_eq!(echo.header_count("x-user-sub"), 1);
    assert_eq!(echo.header("x-user-scopes"), Some("orders.read profile"));
    assert_eq!(
        echo.header("authorization"),
        None,
        "the token went upstream"
    );

    // Scopes: any one of the route's; else 403 insufficient_scope.
    let r = get(&gw, "/orders/1", Some(&format!("Bearer {token}"))).await;
    assert_eq!(r.status(), 403);
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\"")
            && challenge.contains("orders.write"),
        "{challenge}"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope");
    let writer = keys[2].mint(&with(c.clone(), "scp", json!(["orders.admin"])));
    assert_eq!(get(&gw, "/orders/1", Some(&writer)).await.status(), 200);

    // The principal in the access log; decisions and cache hits in the metrics.
    gw.wait_for_log("principal=user-1");
    let hits = metric_sum(
        metrics,
        "lambda_proxy_authorizer_cache_total",
        &["authorizer=\"users\"", "result=\"hit\""],
    );
    assert!(
        hits.unwrap_or(0.0) >= 2.0,
        "repeated tokens are cached: {hits:?}"
    );
    let allowed = metric_sum(
        metrics,
        "lambda_proxy_authorizer_decisions_total",
        &["route=\"v2\"", "result=\"allowed\""],
    );
    assert_eq!(allowed, Some(5.0));
    let forbidden = metric_sum(
        metrics,
        "lambda_proxy_authorizer_decisions_total",
        &["route=\"orders\"", "result=\"forbidden\""],
    );
    assert_eq!(forbidden, Some(1.0));
    // Discovery, then the key set: fetched once each so far.
    assert_eq!(iss.count("discovery_fetches"), 1);
    assert_eq!(iss.count("jwks_fetches"), 1);

    // A reload (SIGHUP) keeps the issuer's keys: the next token passes without a fetch.
    gw.signal("HUP");
    gw.wait_for_log("reload: ");
    let token = keys[4].mint(&with(c.clone(), "sub", json!("after-reload")));
    assert_eq!(get(&gw, "/v2/x", Some(&token)).await.status(), PROXY_OK);
    assert_eq!(iss.count("jwks_fetches"), 1, "a reload refetched the keys");
}

#[tokio::test]
async fn every_attack_shape_is_refused_with_401_before_aws() {
    let rsa = SigningKey::rsa("rsa-1", Algorithm::RS256);
    let ec = SigningKey::ec("ec-256", Algorithm::ES256);
    let iss = Issuer::start(&[&rsa, &ec]);
    let stranger = SigningKey::rsa("rsa-1", Algorithm::RS256); // same kid, other key
    let config = GatewayConfig::new()
        .set_in(&["authorizers"], authorizer(&iss.issuer(), json!({})))
        .routes(routes(&iss));
    let gw = Gateway::launch(&config);
    let c = claims(&iss.issuer());
    let good = rsa.mint(&c);
    assert_eq!(get(&gw, "/v2/x", Some(&good)).await.status(), PROXY_OK);
    let calls = iss.invocations("proxy");

    let (head, rest) = good.split_once('.').unwrap();
    let (payload, _sig) = rest.split_once('.').unwrap();
    let attacks: Vec<(&str, String)> = vec![
        (
            "expired",
            rsa.mint(&with(c.clone(), "exp", json!(now() - 120))),
        ),
        (
            "not yet valid",
            rsa.mint(&with(c.clone(), "nbf", json!(now() + 3600))),
        ),
        (
            "issued in the future",
            rsa.mint(&with(c.clone(), "iat", json!(now() + 3600))),
        ),
        ("no exp", {
            let mut n = c.clone();
            n.as_object_mut().unwrap().remove("exp");
            rsa.mint(&n)
        }),
        (
            "wrong issuer",
            rsa.mint(&with(c.clone(), "iss", json!("http://evil.example"))),
        ),
        (
            "issuer with a trailing slash",
            rsa.mint(&with(c.clone(), "iss", json!(format!("{}/", iss.issuer())))),
        ),
        (
            "wrong audience",
            rsa.mint(&with(c.clone(), "aud", json!("someone-else"))),
        ),
        (
            "alg none",
            forge(&json!({"alg": "none", "kid": "rsa-1"}), &c, b""),
        ),
        (
            "alg none, signed",
            forge(&json!({"alg": "none", "kid": "rsa-1"}), &c, b"x"),
        ),
        (
            "HS256 with the public key",
            hs256(
                &json!({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}),
                &c,
                &rsa.public_pem,
            ),
        ),
        (
            "HS256 with the EC public key",
            hs256(
                &json!({"alg": "HS256", "kid": "ec-256"}),
                &c,
                &ec.public_pem,
            ),
        ),
        ("alg switched to another key type", {
            // An RS256 token relabelled ES256 for the RSA kid.
            let h = crate::common::jwt::b64(br#"{"alg":"ES256","kid":"rsa-1"}"#);
            format!("{h}.{rest}")
        }),
        ("signed by another key", stranger.mint(&c)),
        (
            "unknown kid",
            SigningKey::ec("nobody", Algorithm::ES256).mint(&c),
        ),
        ("claims swapped under the signature", {
            let evil = crate::common::jwt::b64(
                &serde_json::to_vec(&with(c.clone(), "sub", json!("admin"))).unwrap(),
            );
            let sig = good.rsplit('.').next().unwrap();
            format!("{head}.{evil}.{sig}")
        }),
        ("truncated", good[..good.len() - 10].to_string()),
        ("no signature", format!("{head}.{payload}")),
        ("garbage", "not-a-token".to_string()),
        ("garbage with dots", "a.b.c".to_string()),
        (
            "9 KB",
            format!("{head}.{}.{}", "A".repeat(9 * 1024), "B".repeat(64)),
        ),
    ];
    for (what, token) in &attacks {
        let started = Instant::now();
        let r = get(&gw, "/v2/x", Some(&format!("Bearer {token}"))).await;
        assert_eq!(r.status(), 401, "{what}");
        let challenge = r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\""),
            "{what}: {challenge}"
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized", "{what}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{what} took {:?}",
            started.elapsed()
        );
    }
    // 16 KB: the header is over the gateway's head limit, refused before any authorizer.
    let huge = format!("Bearer {head}.{}.{}", "A".repeat(16 * 1024), "B".repeat(64));
    assert_eq!(get(&gw, "/v2/x", Some(&huge)).await.status(), 431);
    // No token at all: 401 with a bare challenge (RFC 6750 §3.1: no error code).
    let r = get(&gw, "/v2/x", None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    // None of them reached AWS.
    assert_eq!(
        iss.invocations("proxy"),
        calls,
        "a refused token reached the function"
    );
    // The good token still works (nothing above poisoned the cache or the keys).
    assert_eq!(get(&gw, "/v2/x", Some(&good)).await.status(), PROXY_OK);
}

#[tokio::test]
async fn rotated_keys_are_fetched_once_and_unknown_kids_are_rate_limited() {
    let old = SigningKey::rsa("2026-11", Algorithm::RS256);
    let iss = Issuer::start(&[&old]);
    // jwks_uri set: no discovery.
    let jwks_uri = iss.emu.http_url("/.well-known/jwks.json");
    let config = GatewayConfig::new()
        .set_in(
            &["authorizers"],
            authorizer(&iss.issuer(), json!({"jwks_uri": jwks_uri})),
        )
        .routes(routes(&iss));
    let gw = Gateway::launch(&config);
    let c = claims(&iss.issuer());
    assert_eq!(
        get(&gw, "/v2/x", Some(&old.mint(&c))).await.status(),
        PROXY_OK
    );
    assert_eq!(iss.count("discovery_fetches"), 0);
    let fetches = iss.count("jwks_fetches");
    assert_eq!(fetches, 1);

    // The issuer rotates: the first token with the new kid makes one fetch and passes.
    let new = SigningKey::ec("2026-12", Algorithm::ES256);
    publish(&iss.jwks_file, &jwks(&[&old, &new]));
    assert_eq!(
        get(&gw, "/v2/x", Some(&new.mint(&c))).await.status(),
        PROXY_OK
    );
    assert_eq!(iss.count("jwks_fetches"), fetches + 1);

    // Made-up kids right after: refused at once, without hammering the issuer.
    for i in 0..20 {
        let bogus = SigningKey::ed25519(&format!("bogus-{i}"));
        let started = Instant::now();
        assert_eq!(get(&gw, "/v2/x", Some(&bogus.mint(&c))).await.status(), 401);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "waited {:?}",
            started.elapsed()
        );
    }
    assert_eq!(
        iss.count("jwks_fetches"),
        fetches + 1,
        "unknown kids were not rate-limited"
    );
    // Both keys keep working; the old one until the issuer drops it.
    assert_eq!(
        get(&gw, "/v2/x", Some(&old.mint(&c))).await.status(),
        PROXY_OK
    );
}

#[tokio::test]
async fn no_keys_is_a_503_not_a_wait_or_a_401() {
    // An issuer nobody answers for: discovery fails, the request waits for the first fetch at
    // most a few seconds and is told to retry.
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let emu = Emulator::start();
    let config = GatewayConfig::new()
        .set_in(&["authorizers"], authorizer(&issuer, json!({})))
        .route(
            Route::function_name("v2", "proxy")
                .on(&emu)
                .uri("/v2/*")
                .set("authorizer", "users"),
        );
    let gw = Gateway::launch(&config);
    let key = SigningKey::rsa("k", Algorithm::RS256);
    let started = Instant::now();
    let r = get(&gw, "/v2/x", Some(&key.mint(&claims(&issuer)))).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "5");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "authorizer_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    gw.wait_for_log("jwks: ");
}

#[test]
fn config_errors_name_the_authorizer_field() {
    let dir = tempfile::tempdir().unwrap();
    let base = "listeners: [{address: '127.0.0.1:1'}]\n";
    let route =
        "routes:\n  - {name: r, uri: /x, function_uri: 'http://127.0.0.1:1/', authorizer: users}\n";
    let cases = [
        (
            "authorizers:\n  - {name: users, authorizer_type: jwt, jwt_configuration: {issuer: 'https://i.example'}}\n",
            "authorizers[0].jwt_configuration.audience",
        ),
        (
            "authorizers:\n  - {name: users, authorizer_type: jwt}\n",
            "authorizers[0].jwt_configuration",
        ),
        (
            "authorizers:\n  - {name: users, authorizer_type: jwt, jwt_configuration: {issuer: 'ftp://i', audience: [a]}}\n",
            "authorizers[0].jwt_configuration.issuer",
        ),
        (
            "authorizers:\n  - {name: users, authorizer_type: jwt, identity_source: ['$request.body.x'], jwt_configuration: {issuer: 'https://i.example', audience: [a]}}\n",
            "authorizers[0].identity_source[0]",
        ),
        (
            "authorizers:\n  - {name: other, authorizer_type: jwt, jwt_configuration: {issuer: 'https://i.example', audience: [a]}}\n",
            "routes[0].authorizer",
        ),
    ];
    for (i, (authorizers, field)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("c{i}.yaml"));
        std::fs::write(&path, format!("{base}{authorizers}{route}")).unwrap();
        let out = run_dash_t(&path);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "case {i} accepted");
        assert!(
            err.contains(&format!("{}: {field}:", path.display())),
            "case {i}: {err}"
        );
    }
    // And a good one passes `-t`.
    let path = dir.path().join("ok.yaml");
    std::fs::write(
        &path,
        format!("{base}authorizers:\n  - {{name: users, authorizer_type: jwt, jwt_configuration: {{issuer: 'https://i.example', audience: [a]}}}}\n{route}"),
    )
    .unwrap();
    let out = run_dash_t(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
