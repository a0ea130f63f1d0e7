//! `function_uri` routes end to end: the gateway binary in front of the strict emulator.

use std::time::{Duration, Instant};

use crate::common::*;
use reqwest::StatusCode;

/// A second credential (the emulator takes 40-character secrets, as AWS issues them).
const TEMP_SECRET: &str = "TEMPsecretTEMPsecretTEMPsecretTEMPsecret";

/// A `function_uri` route named `name`.
fn route(name: &str, uri: &str, function_uri: &str) -> Route {
    Route::function_uri(uri, function_uri).name(name)
}

/// The test keys, or `AKIDTEMP` with `secret` and a session token.
fn iam(secret: &str, token: Option<&str>, service: &str) -> Iam {
    match token {
        None => Iam::keys(AKID, secret, service),
        Some(t) => Iam::keys("AKIDTEMP", secret, service).session_token(t),
    }
}

async fn echo(resp: reqwest::Response) -> Echo {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test]
async fn api_key_missing_wrong_and_replaced() {
    let emu = Emulator::start();
    let config = GatewayConfig::new().routes([
        route("keyed", "/k/*", &emu.http_url("/apikey/prod")).apikey(API_KEY),
        route("nokey", "/n/*", &emu.http_url("/apikey/prod")),
        route("wrongkey", "/w/*", &emu.http_url("/apikey/prod")).apikey("not-the-key"),
        route("keep", "/keep/*", &emu.http_url("/apikey/prod"))
            .apikey(API_KEY)
            .apikey_policy("keep_client"),
        route("reject", "/reject/*", &emu.http_url("/apikey/prod"))
            .apikey(API_KEY)
            .apikey_policy("reject"),
    ]);
    let gw = Gateway::launch(&config);
    let c = client();

    let e = echo(c.get(gw.url("/k/items")).send().await.unwrap()).await;
    assert_eq!(e.header("x-api-key"), Some(API_KEY));
    assert_eq!(e.path, "/apikey/prod/items");
    assert_eq!(e.auth, "apikey");

    // A client key never silently wins under the default policy.
    let e = echo(
        c.get(gw.url("/k/items"))
            .header("x-api-key", "client-key")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(e.header("x-api-key"), Some(API_KEY));
    assert_eq!(e.header_count("x-api-key"), 1);

    // Missing or wrong key: API Gateway's 403 comes back untouched.
    let r = c.get(gw.url("/n/items")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["x-amzn-errortype"], "ForbiddenException");
    assert_eq!(r.text().await.unwrap(), r#"{"message":"Forbidden"}"#);
    let r = c.get(gw.url("/w/items")).send().await.unwrap();
    assert_eq!(r.status(), 403);

    // keep_client: the client's (wrong) key is forwarded, the configured one fills in otherwise.
    let r = c
        .get(gw.url("/keep/x"))
        .header("x-api-key", "client-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let e = echo(c.get(gw.url("/keep/x")).send().await.unwrap()).await;
    assert_eq!(e.header("x-api-key"), Some(API_KEY));

    // reject: a client key is refused before AWS is contacted.
    let r = c
        .get(gw.url("/reject/x"))
        .header("x-api-key", "client-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "client_api_key_refused");
    echo(c.get(gw.url("/reject/x")).send().await.unwrap()).await;
}

#[tokio::test]
async fn iam_signing_with_and_without_session_token() {
    let emu = Emulator::start_with(&[
        "--credential",
        &format!("{AKID}:{SECRET}"),
        "--credential",
        &format!("AKIDTEMP:{TEMP_SECRET}:temp-session-token"),
    ]);
    let config = GatewayConfig::new().routes([
        route("iam", "/iam/*", &emu.http_url("/iam/prod")).iam(iam(SECRET, None, "execute-api")),
        route("url", "/url/*", &emu.http_url("/url")).iam(iam(SECRET, None, "lambda")),
        route("temp", "/temp/*", &emu.http_url("/iam/prod")).iam(iam(
            TEMP_SECRET,
            Some("temp-session-token"),
            "execute-api",
        )),
        route("badtoken", "/badtoken/*", &emu.http_url("/iam/prod")).iam(iam(
            TEMP_SECRET,
            Some("other-token"),
            "execute-api",
        )),
        route("wrong", "/wrong/*", &emu.http_url("/iam/prod")).iam(iam(
            "not-the-secret",
            None,
            "execute-api",
        )),
    ]);
    let gw = Gateway::launch(&config);
    let c = client();

    // Client-sent signing headers are replaced, never forwarded.
    let e = echo(
        c.post(gw.url("/iam/orders?id=7"))
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=EVIL/x, SignedHeaders=host, Signature=00",
            )
            .header("x-amz-date", "20000101T000000Z")
            .header("x-amz-security-token", "client-token")
            .header("content-type", "application/json")
            .body(r#"{"hello":"world"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(e.auth, "iam");
    assert_eq!(e.access_key.as_deref(), Some(AKID));
    assert_eq!(e.path, "/iam/prod/orders");
    assert_eq!(e.query, "id=7");
    assert_eq!(e.body.as_deref(), Some(r#"{"hello":"world"}"#));
    assert_eq!(e.header_count("authorization"), 1);
    assert_eq!(e.header("x-amz-security-token"), None);
    assert!(e
        .header("authorization")
        .unwrap()
        .contains(&format!("Credential={AKID}/")));

    let e = echo(c.get(gw.url("/url/fn")).send().await.unwrap()).await;
    assert!(e
        .header("authorization")
        .unwrap()
        .contains("/lambda/aws4_request"));

    let e = echo(c.get(gw.url("/temp/x")).send().await.unwrap()).await;
    assert_eq!(e.access_key.as_deref(), Some("AKIDTEMP"));
    assert_eq!(e.header("x-amz-security-token"), Some("temp-session-token"));

    let r = c.get(gw.url("/badtoken/x")).send().await.unwrap();
    assert_eq!(r.status(), 403);

    // A wrong secret: the emulator's 403 is passed through as AWS sent it.
    let r = c.get(gw.url("/wrong/x")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["x-amzn-errortype"], "InvalidSignatureException");
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("signature we calculated does not match"));

    // Secrets never reach the logs.
    let log = gw.log_text();
    for secret in [SECRET, TEMP_SECRET, "temp-session-token"] {
        assert!(!log.contains(secret), "secret in log");
    }
}

#[tokio::test]
async fn path_forwarding_and_traversal() {
    let emu = Emulator::start();
    let config = GatewayConfig::new().routes([
        route("wild", "/aws/*", &emu.http_url("/open/prod/")),
        route("signed", "/s/*", &emu.http_url("/iam/prod")).iam(iam(SECRET, None, "execute-api")),
        route("exact", "/exact", &emu.http_url("/open/fixed")),
    ]);
    let gw = Gateway::launch(&config);
    let c = client();
    let cases = [
        ("/aws/a/b", "/open/prod/a/b"),
        ("/aws/a%20b/%E2%9C%93", "/open/prod/a%20b/%E2%9C%93"),
        ("/aws/a//b/./c/", "/open/prod/a/b/c/"),
        ("/aws/", "/open/prod/"),
        ("/exact", "/open/fixed"),
    ];
    for (client_path, upstream_path) in cases {
        let (status, body) = raw_get(gw.addr, client_path);
        assert_eq!(status, 200, "{client_path}: {body}");
        let e: Echo = serde_json::from_str(&body).unwrap();
        assert_eq!(e.path, upstream_path, "{client_path}");
    }
    // Encoded characters survive signing too.
    let (status, body) = raw_get(gw.addr, "/s/a%20b/c%3Ad/%E2%9C%93");
    assert_eq!(status, 200, "{body}");
    let e: Echo = serde_json::from_str(&body).unwrap();
    assert_eq!(e.path, "/iam/prod/a%20b/c%3Ad/%E2%9C%93");

    // Dot segments are resolved before routing (as nginx resolves `$uri`): climbing out of
    // `/aws/` leaves the route, and no route matches what is left.
    for climb in [
        "/aws/../secret",
        "/aws/a/../../secret",
        "/aws/%2e%2e/secret",
        "/aws/%2E%2E/secret",
        "/aws/.%2e/secret",
        "/s/%2e%2e/%2e%2e/x",
    ] {
        let (status, body) = raw_get(gw.addr, climb);
        assert_eq!(status, 404, "{climb} -> {status} {body}");
        assert!(body.contains("route_not_found"), "{body}");
    }
    // Dots hidden behind a second encoding or an encoded separator stay inside the segment
    // when routing, and are refused when the upstream path is built.
    for attack in [
        "/aws/%252e%252e/secret",
        "/aws/a%2f..%2f..%2fsecret",
        "/aws/..%5csecret",
        "/s/%252e%252e/x",
    ] {
        let (status, body) = raw_get(gw.addr, attack);
        assert_eq!(status, 400, "{attack} -> {status} {body}");
        assert!(body.contains("bad_path"), "{body}");
    }
    let r = c.get(gw.url("/nowhere")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "route_not_found");
}

#[tokio::test]
async fn query_strings_kept_byte_for_byte() {
    let emu = Emulator::start();
    let config = GatewayConfig::new().routes([
        route("open", "/o/*", &emu.http_url("/open/p")),
        route("signed", "/s/*", &emu.http_url("/iam/p")).iam(iam(SECRET, None, "execute-api")),
    ]);
    let gw = Gateway::launch(&config);
    let queries = [
        "a=1&a=2&a=1",
        "flag&empty=&x=1",
        "enc=%20%2B%2F%3D&sp=a+b",
        "u=%E2%9C%93&name=%C3%A9t%C3%A9",
        "z=1&b=2&A=3&_=4&~t=5",
        "k=v%3Dw&=novalue",
    ];
    // Unsigned: byte for byte. Signed: the canonical form that was signed, which differs
    // only where the raw form has two readings (a raw `+`; see tests/gateway/wire.rs).
    for prefix in ["/o/x", "/s/x"] {
        for q in queries {
            let (status, body) = raw_get(gw.addr, &format!("{prefix}?{q}"));
            assert_eq!(status, 200, "{prefix}?{q}: {body}");
            let e: Echo = serde_json::from_str(&body).unwrap();
            let want = if prefix == "/s/x" {
                q.replace("a+b", "a%2Bb")
            } else {
                q.to_string()
            };
            assert_eq!(e.query, want);
        }
    }
}

#[tokio::test]
async fn signed_bodies_of_every_size_and_the_limit() {
    let emu = Emulator::start();
    let config = GatewayConfig::new().routes([
        route("signed", "/s/*", &emu.http_url("/iam/p")).iam(iam(SECRET, None, "execute-api")),
        route("small", "/small/*", &emu.http_url("/iam/p"))
            .iam(iam(SECRET, None, "execute-api"))
            .body_limit(100000),
    ]);
    let gw = Gateway::launch(&config);
    let c = client();
    for size in [0usize, 1, 65535, 65536, 65537, 1_000_000, 10 * 1024 * 1024] {
        let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let e = echo(
            c.put(gw.url("/s/upload"))
                .body(body.clone())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(e.body_len, size as u64, "size {size}");
        assert_eq!(e.body_sha256, sha256_hex(&body), "size {size}");
        assert_eq!(e.method, "PUT");
    }
    // Chunked uploads (no Content-Length), below and above the 64 KiB retry buffer.
    for size in [10_000usize, 300_000] {
        let body: Vec<u8> = (0..size).map(|i| (i % 13) as u8).collect();
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            body.chunks(7000).map(|c| Ok(c.to_vec())).collect();
        let stream = futures_util::stream::iter(chunks);
        let e = echo(
            c.post(gw.url("/s/chunked"))
                .body(reqwest::Body::wrap_stream(stream))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(e.body_len, size as u64);
        assert_eq!(e.body_sha256, sha256_hex(&body));
        assert!(e.header("transfer-encoding").is_none());
        assert_eq!(e.header("content-length"), Some(size.to_string().as_str()));
    }
    // One byte over the limit: 413 JSON, declared by Content-Length.
    let over = vec![b'x'; 10 * 1024 * 1024 + 1];
    let r = c.post(gw.url("/s/big")).body(over).send().await.unwrap();
    assert_eq!(r.status(), 413);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "body_too_large");
    let r = c
        .post(gw.url("/small/x"))
        .body(vec![b'y'; 100_001])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    echo(
        c.post(gw.url("/small/x"))
            .body(vec![b'y'; 100_000])
            .send()
            .await
            .unwrap(),
    )
    .await;
    // ... and found while reading a chunked body.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![b'z'; 10_000])).collect();
    let r = c
        .post(gw.url("/small/chunked"))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn h2c_and_tls_h2_clients() {
    let emu = Emulator::start();
    let tls_port = free_port();
    let plain_port = free_port();
    let d = emu.dir.path();
    let config = GatewayConfig::new()
        .listener(([127, 0, 0, 1], plain_port).into())
        .listener_with(([127, 0, 0, 1], tls_port).into(), |mut l| {
            let tls = serde_yaml::Mapping::from_iter([
                (yaml("cert"), yaml(d.join("cert.pem"))),
                (yaml("key"), yaml(d.join("key.pem"))),
            ]);
            l.insert(yaml("tls"), serde_yaml::Value::Mapping(tls));
            l
        })
        .routes([
            route("open", "/o/*", &emu.http_url("/open/p")),
            route("signed", "/s/*", &emu.http_url("/iam/p")).iam(iam(SECRET, None, "execute-api")),
        ]);
    let _gw = Gateway::launch(&config);
    let h2c = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(emu.ca_pem()).unwrap()).unwrap();
    let tls = reqwest::Client::builder()
        .add_root_certificate(ca)
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    let bases = [
        (h2c, format!("http://127.0.0.1:{plain_port}")),
        (tls, format!("https://localhost:{tls_port}")),
    ];
    for (c, base) in bases {
        for (path, size) in [
            ("/o/x?q=1", 10usize),
            ("/s/x?q=1", 10),
            ("/s/x?q=1", 200_000),
        ] {
            let body = vec![b'h'; size];
            let r = c
                .post(format!("{base}{path}"))
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.version(), reqwest::Version::HTTP_2, "{base}{path}");
            let e = echo(r).await;
            assert_eq!(e.body_sha256, sha256_hex(&body), "{base}{path} {size}");
            assert_eq!(e.query, "q=1");
        }
        // Uploads that do not say their length (DATA frames until END_STREAM), on both sides
        // of the 64 KiB retry buffer: the signed route frames them with an exact length.
        for (path, size) in [
            ("/s/x?q=1", 1000usize),
            ("/s/x?q=1", 65_536),
            ("/s/x?q=1", 65_537),
            ("/s/x?q=1", 300_000),
            ("/o/x?q=1", 300_000),
        ] {
            let body = vec![b'u'; size];
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
                body.chunks(16_384).map(|c| Ok(c.to_vec())).collect();
            let stream = futures_util::stream::iter(chunks);
            let r = c
                .post(format!("{base}{path}"))
                .body(reqwest::Body::wrap_stream(stream))
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{base}{path} {size}: {e}"));
            assert_eq!(r.version(), reqwest::Version::HTTP_2, "{base}{path}");
            let e = echo(r).await;
            assert_eq!(e.body_len, size as u64, "{base}{path} {size}");
            assert_eq!(e.body_sha256, sha256_hex(&body), "{base}{path} {size}");
        }
    }
}

#[tokio::test]
async fn tls_upstream_verification() {
    let emu = Emulator::start();
    let ca = emu.ca_pem();
    let config = GatewayConfig::new().routes([
        route("trusted", "/t/*", &emu.https_url("/iam/p"))
            .iam(iam(SECRET, None, "execute-api"))
            .set("ca_file", &ca),
        route("system", "/sys/*", &emu.https_url("/open/p")),
        route("noverify", "/nv/*", &emu.https_url("/open/p")).set("ssl_verify", false),
        route("trusted-big", "/tb/*", &emu.https_url("/iam/p"))
            .iam(iam(SECRET, None, "execute-api"))
            .set("ca_file", &ca),
    ]);
    let gw = Gateway::launch(&config);
    let c = client();
    let e = echo(c.get(gw.url("/t/x")).send().await.unwrap()).await;
    assert_eq!(
        e.header("host").map(|h| h.starts_with("localhost:")),
        Some(true)
    );
    let body = vec![7u8; 150_000];
    let e = echo(
        c.post(gw.url("/tb/x"))
            .body(body.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(e.body_sha256, sha256_hex(&body));

    // The emulator's self-signed CA is not in the system store: refused, 502 JSON.
    let r = c.get(gw.url("/sys/x")).send().await.unwrap();
    assert_eq!(r.status(), 502);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "upstream_tls_error");
    // After a verified connection to the same address, the unverified route still refuses
    // (pool buckets are per trust configuration).
    let r = c.get(gw.url("/sys/x")).send().await.unwrap();
    assert_eq!(r.status(), 502);

    echo(c.get(gw.url("/nv/x")).send().await.unwrap()).await;
    assert!(
        gw.log_text().contains("route system"),
        "one log line names the route"
    );
}

#[tokio::test]
async fn connect_refused_and_stalled_upstream() {
    let emu = Emulator::start();
    let closed = free_port();
    let config = GatewayConfig::new().routes([
        route("refused", "/r/*", &format!("http://127.0.0.1:{closed}/x")),
        route("stall", "/st/*", &emu.http_url("/stall/p")).set("timeout", 700),
    ]);
    let gw = Gateway::launch(&config);
    let c = client();
    let r = c.get(gw.url("/r/x")).send().await.unwrap();
    assert_eq!(r.status(), 502);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "upstream_unreachable");

    let t = Instant::now();
    let r = c.get(gw.url("/st/x")).send().await.unwrap();
    let took = t.elapsed();
    assert_eq!(r.status(), 504);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "upstream_timeout");
    assert!(
        took >= Duration::from_millis(650) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let log = gw.log_text();
    assert!(
        log.contains("route refused") && log.contains("route stall"),
        "{log}"
    );
}

#[tokio::test]
async fn upstream_connections_are_pooled() {
    let emu = Emulator::start();
    let config = GatewayConfig::new().routes([
        route("pooled", "/p/*", &emu.http_url("/open/p")),
        route("fresh", "/f/*", &emu.http_url("/open/p")).set("keepalive", false),
    ]);
    let gw = Gateway::launch(&config);
    let c = client();
    let mut peers = std::collections::HashSet::new();
    for _ in 0..8 {
        peers.insert(echo(c.get(gw.url("/p/x")).send().await.unwrap()).await.peer);
    }
    assert_eq!(
        peers.len(),
        1,
        "sequential requests reuse one upstream connection: {peers:?}"
    );
    let mut fresh = std::collections::HashSet::new();
    for _ in 0..4 {
        fresh.insert(echo(c.get(gw.url("/f/x")).send().await.unwrap()).await.peer);
    }
    assert_eq!(
        fresh.len(),
        4,
        "keepalive: false opens a connection per request"
    );
}

#[tokio::test]
async fn health_endpoint_answered_by_the_gateway() {
    let gw = Gateway::launch(&GatewayConfig::new().set_in(&["health", "path"], "/ready"));
    let r = client().get(gw.url("/ready")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "{\"status\":\"ok\"}\n");
    let r = client().get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 404, "only the configured path");
}

#[tokio::test]
async fn client_credentials_never_reach_aws_unless_forwarded() {
    let emu = Emulator::start();
    let config = GatewayConfig::new().routes([
        route("strip", "/strip/*", &emu.http_url("/open/p")),
        route("fwd", "/fwd/*", &emu.http_url("/open/p")).set("client_credentials", "forward"),
    ]);
    let gw = Gateway::launch(&config);
    let c = client();
    let send = |path: &'static str| {
        c.get(gw.url(path))
            .header("authorization", "Bearer client-token")
            .header("x-amz-security-token", "client-session")
            .header("x-amz-invocation-type", "Event")
            .header("x-api-key", "client-key")
            .header("x-other", "kept")
            .send()
    };
    let e = echo(send("/strip/x").await.unwrap()).await;
    for h in [
        "authorization",
        "x-amz-security-token",
        "x-amz-invocation-type",
        "x-api-key",
    ] {
        assert_eq!(e.header(h), None, "{h} reached AWS");
    }
    assert_eq!(e.header("x-other"), Some("kept"));
    let e = echo(send("/fwd/x").await.unwrap()).await;
    assert_eq!(e.header("authorization"), Some("Bearer client-token"));
    assert_eq!(e.header("x-api-key"), Some("client-key"));
    assert_eq!(e.header("x-amz-invocation-type"), Some("Event"));
}
