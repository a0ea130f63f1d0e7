//! `function_name` routes end to end: the gateway calls the emulator's Lambda Invoke API
//! (strict SigV4, service `lambda`) and turns results into HTTP responses.

use std::time::{Duration, Instant};

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ARN_PREFIX: &str = "arn:aws:lambda:us-east-1:123456789012:function:";

/// A function_name route against the emulator's plain HTTP listener.
fn invoke(emu: &Emulator, name: &str, function: &str) -> Route {
    Route::function_name(name, function).on(emu)
}

fn h2c() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap()
}

async fn json_of(resp: reqwest::Response) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, headers, v)
}

fn assert_no_lambda_internals(h: &reqwest::header::HeaderMap) {
    for name in [
        "x-amz-log-result",
        "x-amz-executed-version",
        "x-amzn-remapped-content-length",
    ] {
        assert!(h.get(name).is_none(), "{name} reached the client");
    }
}

#[tokio::test]
async fn raw_passthrough_keeps_bytes_and_hides_lambda_headers() {
    let emu = Emulator::start();
    let gw = Gateway::launch(&GatewayConfig::new().routes([
        invoke(&emu, "echo", "echo").set("log_type", "Tail"),
        invoke(&emu, "respond", "respond"),
    ]));
    // Bytes exactly as sent: spacing, key order, unicode, an empty array.
    let payload = r#"{ "b":1,  "a":[], "s":"é✓", "n":null }"#;
    for c in [client(), h2c()] {
        let r = c.post(gw.url("/echo")).body(payload).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/json");
        assert!(r.headers().get("x-amzn-requestid").is_some());
        assert_no_lambda_internals(r.headers());
        assert_eq!(r.text().await.unwrap(), payload);
    }
    // Kong's empty-array bug: `[]` must stay `[]`.
    let r = client()
        .post(gw.url("/respond"))
        .body(r#"{"result":{"items":[],"m":{}}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), r#"{"items":[],"m":{}}"#);
    assert!(!gw.log_text().contains(SECRET));
}

#[tokio::test]
async fn invoke_request_shape_arn_qualifier_and_headers() {
    let emu = Emulator::start();
    let gw = Gateway::launch(&GatewayConfig::new().routes([
        invoke(&emu, "arn", &(ARN_PREFIX.to_string() + "inspect:prod")),
        invoke(&emu, "partial", "123456789012:function:inspect").set("qualifier", "$LATEST"),
        // Region taken from the ARN (no aws_region).
        invoke(&emu, "fromarn", &(ARN_PREFIX.to_string() + "inspect")).without_region(),
    ]));
    let c = client();
    let (status, h, v) = json_of(
        c.post(gw.url("/arn"))
            .header(
                "x-amzn-trace-id",
                "Root=1-5759e988-bd862e3fe1be46a994272793",
            )
            .header("authorization", "Bearer client-secret-token")
            .header("x-amzn-vpce-id", "vpce-123")
            .header("x-amz-security-token", "client-token")
            .body(r#"{"k":"v"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_no_lambda_internals(&h);
    assert_eq!(
        v["raw_path"],
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ainspect/invocations"
    );
    assert_eq!(v["raw_query"], "Qualifier=prod");
    assert_eq!(v["invocation_type"], "RequestResponse");
    assert_eq!(v["payload"], json!({"k": "v"}));
    let headers: Vec<(String, String)> = serde_json::from_value(v["headers"].clone()).unwrap();
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        get("x-amzn-trace-id"),
        Some("Root=1-5759e988-bd862e3fe1be46a994272793")
    );
    assert!(get("authorization")
        .unwrap()
        .starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));
    assert!(get("authorization")
        .unwrap()
        .contains("/us-east-1/lambda/aws4_request"));
    assert_eq!(
        get("x-amzn-vpce-id"),
        None,
        "reserved x-amzn-* request headers are not forwarded"
    );
    assert_eq!(get("x-amz-security-token"), None);

    let (_, _, v) = json_of(c.post(gw.url("/partial")).body("{}").send().await.unwrap()).await;
    assert_eq!(
        v["raw_path"],
        "/2015-03-31/functions/123456789012%3Afunction%3Ainspect/invocations"
    );
    assert_eq!(v["raw_query"], "Qualifier=%24LATEST");
    let (status, _, _) = json_of(c.post(gw.url("/fromarn")).body("{}").send().await.unwrap()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn kong_forward_request_object() {
    let emu = Emulator::start();
    let gw = Gateway::launch(
        &GatewayConfig::new().route(
            invoke(&emu, "fwd", "inspect")
                .uri("/fwd/*")
                .forward_request(&["method", "uri", "headers", "body"]),
        ),
    );
    let (status, _, v) = json_of(
        client()
            .put(gw.url("/fwd/a/b?x=1&x=2&flag"))
            .header("x-multi", "1")
            .header("x-multi", "2")
            .header("content-type", "text/plain")
            .body("hello body")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let p = &v["payload"];
    assert_eq!(p["request_method"], "PUT");
    assert_eq!(p["request_uri"], "/fwd/a/b?x=1&x=2&flag");
    assert_eq!(p["request_uri_args"]["x"], json!(["1", "2"]));
    assert_eq!(p["request_headers"]["x-multi"], json!(["1", "2"]));
    assert_eq!(p["request_body"], "hello body");
    assert_eq!(p["request_body_base64"], false);
}

/// An API Gateway proxy integration of payload `version`, with a stage context.
fn apigw(route: Route, version: &str) -> Route {
    route
        .api_gateway(version)
        .proxy_integration()
        .set_in(&["awsgateway_context", "stage"], "prod")
        .set_in(&["awsgateway_context", "account_id"], "111122223333")
        .set_in(&["awsgateway_context", "api_id"], "abc123")
        .set_in(&["awsgateway_context", "stage_variables", "env"], "test")
}

#[tokio::test]
async fn api_gateway_v1_event_and_proxy_result() {
    let emu = Emulator::start();
    let gw = Gateway::launch(
        &GatewayConfig::new().route(apigw(invoke(&emu, "v1", "proxy").uri("/v1/*"), "1.0")),
    );
    for c in [client(), h2c()] {
        let r = c
            .post(gw.url("/v1/items/%E2%9C%93?q=1&q=2&flag&u=%C3%A9"))
            .header("x-h", "first")
            .header("x-h", "last")
            .header("content-type", "application/json")
            .body(r#"{"hello":"world"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["x-fn"], "yes");
        assert_eq!(r.headers()["x-num"], "5");
        let multi: Vec<_> = r
            .headers()
            .get_all("x-multi")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        assert_eq!(multi, ["a", "b"]);
        assert!(r.headers().get("x-amzn-requestid").is_some());
        let event: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert_eq!(event["httpMethod"], "POST");
        assert_eq!(event["resource"], "/v1/{proxy+}");
        assert_eq!(
            event["pathParameters"]["proxy"],
            "items/%E2%9C%93".replace("%E2%9C%93", "✓")
        );
        assert_eq!(event["queryStringParameters"]["q"], "2", "last value wins");
        assert_eq!(event["queryStringParameters"]["flag"], "");
        assert_eq!(event["queryStringParameters"]["u"], "é");
        assert_eq!(
            event["multiValueQueryStringParameters"]["q"],
            json!(["1", "2"])
        );
        assert_eq!(event["headers"]["x-h"], "last");
        assert_eq!(event["multiValueHeaders"]["x-h"], json!(["first", "last"]));
        assert_eq!(event["stageVariables"]["env"], "test");
        assert_eq!(event["requestContext"]["stage"], "prod");
        assert_eq!(event["requestContext"]["accountId"], "111122223333");
        assert_eq!(event["requestContext"]["apiId"], "abc123");
        assert_eq!(event["body"], r#"{"hello":"world"}"#);
        assert_eq!(event["isBase64Encoded"], false);
    }
}

#[tokio::test]
async fn api_gateway_v2_event_cookies_and_binary() {
    let emu = Emulator::start();
    let gw = Gateway::launch(&GatewayConfig::new().routes([
        apigw(invoke(&emu, "v2", "proxy").uri("/v2/*"), "2.0"),
        apigw(invoke(&emu, "bin", "binary"), "2.0"),
    ]));
    let body: Vec<u8> = vec![0x89, b'P', b'N', b'G', 0, 0xff, 0xfe];
    for c in [client(), h2c()] {
        let r = c
            .post(gw.url("/v2/x/y?a=1&a=2&b"))
            .header("cookie", "c1=v1; c2=v2")
            .header("x-dup", "1")
            .header("x-dup", "2")
            .header("content-type", "image/png")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let cookies: Vec<_> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        assert_eq!(cookies, ["a=1; Path=/", "b=2"]);
        let event: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["rawPath"], "/v2/x/y");
        assert_eq!(event["rawQueryString"], "a=1&a=2&b");
        assert_eq!(event["queryStringParameters"]["a"], "1,2");
        assert_eq!(event["cookies"], json!(["c1=v1", "c2=v2"]));
        assert!(event["headers"].get("cookie").is_none());
        assert_eq!(event["headers"]["x-dup"], "1,2");
        assert_eq!(event["requestContext"]["http"]["method"], "POST");
        assert_eq!(event["requestContext"]["stage"], "prod");
        assert_eq!(event["isBase64Encoded"], true);
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(event["body"].as_str().unwrap())
            .unwrap();
        assert_eq!(decoded, body);

        let r = c.get(gw.url("/bin")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/octet-stream");
        let bytes = r.bytes().await.unwrap();
        assert_eq!(bytes.to_vec(), (0..=255u8).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn proxy_results_validated_and_v2_inference() {
    let emu = Emulator::start();
    let gw = Gateway::launch(
        &GatewayConfig::new().routes([
            invoke(&emu, "v1", "respond").proxy_integration(),
            invoke(&emu, "v2", "respond")
                .proxy_integration()
                .set("awsgateway_compatible_payload_version", "2.0"),
        ]),
    );
    let c = client();
    let call = |path: &'static str, payload: Value| {
        let c = c.clone();
        let url = gw.url(path);
        async move { c.post(url).body(payload.to_string()).send().await.unwrap() }
    };
    // statusCode as a numeric string, null maps, non-string header values.
    let r = call("/v1", json!({"result": {"statusCode": "202", "headers": {"x-a": 1, "x-b": true, "x-n": null}, "multiValueHeaders": null, "body": "ok"}})).await;
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["x-a"], "1");
    assert_eq!(r.headers()["x-b"], "true");
    assert_eq!(r.text().await.unwrap(), "ok");
    // Invalid results: 502 with a JSON body saying why.
    for bad in [
        json!({"result_raw": "not json"}),
        json!({"result": {"statusCode": "abc"}}),
        json!({"result": {"statusCode": 200, "headers": "nope"}}),
        json!({"result": {"statusCode": 200, "body": "%%%", "isBase64Encoded": true}}),
        json!({"result": {"body": "no status"}}),
    ] {
        let (status, _, v) = json_of(call("/v1", bad.clone()).await).await;
        assert_eq!(status, 502, "{bad}");
        assert_eq!(v["error"], "invalid_function_response");
        assert!(!v["message"].as_str().unwrap().is_empty());
    }
    // v2: a result that is not a proxy object is a 200 application/json body, as API Gateway does.
    for (result, body) in [
        (json!([]), "[]"),
        (json!("Hello"), "\"Hello\""),
        (json!({"a": 1}), r#"{"a":1}"#),
    ] {
        let r = call("/v2", json!({ "result": result })).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.text().await.unwrap(), body);
    }
}

#[tokio::test]
async fn function_errors_map_to_configured_statuses() {
    let emu = Emulator::start();
    let gw = Gateway::launch(&GatewayConfig::new().routes([
        invoke(&emu, "unhandled", "unhandled"),
        invoke(&emu, "custom", "unhandled").set("unhandled_status", 500),
        invoke(&emu, "handled", "handled").set("handled_status", 422),
        invoke(&emu, "proxied", "unhandled").proxy_integration(),
    ]));
    let c = client();
    let (s, h, v) = json_of(
        c.post(gw.url("/unhandled"))
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 502);
    assert_eq!(v["errorMessage"], "boom");
    assert_eq!(h["x-amz-function-error"], "Unhandled");
    let (s, _, _) = json_of(c.post(gw.url("/custom")).body("{}").send().await.unwrap()).await;
    assert_eq!(s, 500);
    let (s, _, v) = json_of(c.post(gw.url("/handled")).body("{}").send().await.unwrap()).await;
    assert_eq!(s, 422);
    assert_eq!(v["errorType"], "HandledError");
    // Proxy integration: like API Gateway, a generic error; the stack trace stays in the log.
    let (s, _, v) = json_of(c.post(gw.url("/proxied")).body("{}").send().await.unwrap()).await;
    assert_eq!(s, 502);
    assert_eq!(v["error"], "function_error");
    assert!(!v.to_string().contains("stackTrace"));
    assert!(gw.log_text().contains("route proxied: function error"));
}

#[tokio::test]
async fn invocation_types_and_api_errors() {
    let emu = Emulator::start();
    let gw = Gateway::launch(
        &GatewayConfig::new().routes([
            invoke(&emu, "event", "echo").set("invocation_type", "Event"),
            invoke(&emu, "dry", "echo").set("invocation_type", "DryRun"),
            invoke(&emu, "missing", "no-such-function"),
            invoke(&emu, "missing-kept", "no-such-function")
                .set("preserve_lambda_api_error_code", true),
            invoke(&emu, "throttle", "throttle"),
            invoke(&emu, "badqual", "echo:nope"),
            invoke(&emu, "wrong", "echo").keys(AKID, "not-the-right-secret"),
        ]),
    );
    let c = client();
    let r = c.post(gw.url("/event")).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 202);
    let r = c.post(gw.url("/dry")).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 204);

    let (s, _, v) = json_of(c.post(gw.url("/missing")).body("{}").send().await.unwrap()).await;
    assert_eq!(s, 502);
    assert_eq!(v["aws_error_type"], "ResourceNotFoundException");
    assert!(
        !v.to_string().contains("123456789012"),
        "AWS's message is not passed through: {v}"
    );
    let (s, _, _) = json_of(
        c.post(gw.url("/missing-kept"))
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _, _) = json_of(c.post(gw.url("/badqual")).body("{}").send().await.unwrap()).await;
    assert_eq!(s, 502);

    let (s, h, v) = json_of(c.post(gw.url("/throttle")).body("{}").send().await.unwrap()).await;
    assert_eq!(s, 429);
    assert!(h.get("retry-after").is_some());
    assert_eq!(v["error"], "throttled");

    let (s, _, v) = json_of(c.post(gw.url("/wrong")).body("{}").send().await.unwrap()).await;
    assert_eq!(s, 502);
    assert_eq!(v["aws_error_type"], "InvalidSignatureException");
}

#[tokio::test]
async fn payload_limits_before_the_call() {
    let emu = Emulator::start();
    let gw = Gateway::launch(
        &GatewayConfig::new().routes([
            invoke(&emu, "small", "echo").set("max_payload_size", 1000),
            invoke(&emu, "event", "echo").set("invocation_type", "Event"),
            invoke(&emu, "v1", "echo")
                .kong_payload()
                .set("awsgateway_compatible", true)
                .set("max_payload_size", 2000),
        ]),
    );
    let c = client();
    let body = |n: usize| format!("{{\"pad\":\"{}\"}}", "x".repeat(n - 10));
    // The emulator would accept 1500 bytes: a 413 here comes from the gateway.
    let r = c
        .post(gw.url("/small"))
        .body(body(1500))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = c
        .post(gw.url("/small"))
        .body(body(900))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Event: Lambda's asynchronous limit (1 MB) by default.
    let r = c
        .post(gw.url("/event"))
        .body(body(1_100_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = c
        .post(gw.url("/event"))
        .body(body(900_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // The limit applies to the built event, not only the client body.
    let (s, _, v) = json_of(c.post(gw.url("/v1")).body(body(1800)).send().await.unwrap()).await;
    assert_eq!(s, 413);
    assert_eq!(v["error"], "payload_too_large");
}

#[tokio::test]
async fn transport_failures_and_timeouts() {
    let emu = Emulator::start();
    let closed = free_port();
    let gw = Gateway::launch(
        &GatewayConfig::new().routes([
            invoke(&emu, "slow", "sleep").timeout_ms(700),
            invoke(&emu, "fine", "sleep").timeout_ms(5000),
            Route::function_name("refused", "echo")
                .endpoint("127.0.0.1", closed)
                .plain_http(),
        ]),
    );
    let c = client();
    let t = Instant::now();
    let (s, _, v) = json_of(
        c.post(gw.url("/slow"))
            .body(r#"{"ms":3000}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 504);
    assert_eq!(v["error"], "upstream_timeout");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let (s, _, v) = json_of(
        c.post(gw.url("/fine"))
            .body(r#"{"ms":300}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s.as_u16(), v["slept_ms"].as_u64()), (200, Some(300)));
    let (s, _, v) = json_of(c.post(gw.url("/refused")).body("{}").send().await.unwrap()).await;
    assert_eq!(s, 502);
    assert_eq!(v["error"], "upstream_unreachable");
}

#[tokio::test]
async fn tls_endpoint_verified_and_pooled() {
    let emu = Emulator::start();
    let gw = Gateway::launch(
        &GatewayConfig::new().routes([
            Route::function_name("tls", "inspect")
                .kong_payload()
                .on_tls(&emu),
            Route::function_name("untrusted", "echo")
                .kong_payload()
                .endpoint("localhost", emu.https.port()),
        ]),
    );
    let c = client();
    for _ in 0..3 {
        let (s, _, v) = json_of(c.post(gw.url("/tls")).body("{}").send().await.unwrap()).await;
        assert_eq!(s, 200);
        assert_eq!(v["function"], "inspect");
    }
    let (s, _, v) = json_of(
        c.post(gw.url("/untrusted"))
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 502);
    assert_eq!(v["error"], "upstream_tls_error");
}

#[tokio::test]
async fn response_streaming_first_byte_before_the_end() {
    let emu = Emulator::start();
    let gw = Gateway::launch(&GatewayConfig::new().routes([
        invoke(&emu, "stream", "stream").set("response_streaming", true),
        invoke(&emu, "buffered", "echo").set("response_streaming", true),
    ]));
    for c in [client(), h2c()] {
        let t = Instant::now();
        let mut r = c
            .post(gw.url("/stream"))
            .body(r#"{"chunks":5,"delay_ms":300}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let first = r.chunk().await.unwrap().unwrap();
        let ttfb = t.elapsed();
        let mut all = first.to_vec();
        while let Some(chunk) = r.chunk().await.unwrap() {
            all.extend_from_slice(&chunk);
        }
        let total = t.elapsed();
        println!("stream: first byte after {ttfb:?}, complete after {total:?}");
        assert_eq!(
            String::from_utf8(all).unwrap(),
            (0..5).map(|i| format!("chunk {i}\n")).collect::<String>()
        );
        assert!(total >= Duration::from_millis(1200), "{total:?}");
        assert!(ttfb * 3 < total, "first byte {ttfb:?} vs total {total:?}");

        // HTTP-integration prelude: status, headers and cookies from the function.
        let r = c
            .post(gw.url("/stream"))
            .body(r#"{"chunks":2,"delay_ms":10,"prelude":true}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["x-streamed"], "yes");
        assert_eq!(r.headers()["set-cookie"], "s=1");
        assert_eq!(r.text().await.unwrap(), "chunk 0\nchunk 1\n");

        // A failure after the body started is visible: the body read fails.
        let r = c
            .post(gw.url("/stream"))
            .body(r#"{"chunks":5,"delay_ms":10,"fail_after":2}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.bytes().await.is_err(),
            "a mid-stream failure must not look like success"
        );

        // A buffered function through the streaming API.
        let r = c
            .post(gw.url("/buffered"))
            .body(r#"{"x":1}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), r#"{"x":1}"#);
    }
}

/// A minimal HTTP CONNECT proxy on 127.0.0.1 that records what it was asked to tunnel to.
async fn connect_proxy() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut b).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(b[0]);
                }
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                log.lock().unwrap().push(line.clone());
                let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (port, seen)
}

#[tokio::test]
async fn egress_through_a_connect_proxy() {
    let emu = Emulator::start();
    let (proxy_port, seen) = connect_proxy().await;
    let gw = Gateway::launch(
        &GatewayConfig::new().route(
            Route::function_name("proxied", "inspect")
                .uri("/p")
                .kong_payload()
                .on_tls(&emu)
                .set("proxy_url", format!("http://127.0.0.1:{proxy_port}")),
        ),
    );
    for _ in 0..2 {
        let (s, _, v) = json_of(client().post(gw.url("/p")).body("{}").send().await.unwrap()).await;
        assert_eq!(s, 200);
        assert_eq!(v["function"], "inspect");
    }
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    assert_eq!(
        seen[0],
        format!("CONNECT localhost:{} HTTP/1.1", emu.https.port())
    );
    assert_eq!(
        seen.len(),
        1,
        "the tunnel is pooled like any connection: {seen:?}"
    );
}

#[tokio::test]
async fn access_log_lines_in_json() {
    let emu = Emulator::start();
    let gw = Gateway::launch(
        &GatewayConfig::new().access_log_json().routes([
            invoke(&emu, "echo", "echo"),
            Route::function_uri("/s/*", &emu.http_url("/iam/p"))
                .name("signed")
                .iam(Iam::keys(AKID, SECRET, "execute-api").unset("service")),
        ]),
    );
    let c = client();
    let r = c
        .post(gw.url("/echo?token=secret-in-query"))
        .header("x-amzn-trace-id", "Root=1-abc")
        .body(r#"{"a":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = vec![b'x'; 100_000]; // over 64 KiB: the subrequest path
    let r = c.post(gw.url("/s/up")).body(body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();
    // Access lines are whole JSON objects; every other log record starts with `[`. The writer
    // thread writes them after the responses.
    let log = gw.wait_for_log_lines(|l| l.starts_with('{'), 2);
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "one line per client request:\n{log}");
    let echo = &lines[0];
    assert_eq!(echo["route"], "echo");
    assert_eq!(echo["kind"], "function_name");
    assert_eq!(echo["status"], 200);
    assert_eq!(echo["upstream_status"], 200);
    assert_eq!(echo["path"], "/echo");
    assert_eq!(echo["trace_id"], "Root=1-abc");
    assert!(echo["aws_request_id"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert!(echo["aws_ms"].as_f64().is_some());
    assert_eq!(echo["bytes_in"], 7);
    let signed = &lines[1];
    assert_eq!(signed["route"], "signed");
    assert_eq!(signed["status"], 200);
    assert_eq!(signed["bytes_in"], 100_000);
    assert_eq!(signed["upstream_status"], 200);
    assert!(
        !log.contains("secret-in-query"),
        "query strings stay out of the log"
    );
}

/// Kong's default payload (no `forward_request_*`, no `awsgateway_compatible`): the function
/// gets one object of the query arguments merged with the parsed body's, as Kong sends it. Before
/// this, a form POST was sent raw (not JSON: the Invoke API refused it, 502) and the query was
/// dropped.
#[tokio::test]
async fn kong_default_payload_merges_query_and_body_arguments() {
    let emu = Emulator::start();
    let gw = Gateway::launch(&GatewayConfig::new().routes([
        invoke(&emu, "kong", "echo").kong_payload(),
        invoke(&emu, "raw", "echo"),
    ]));
    let c = client();
    let echo = |req: reqwest::RequestBuilder| async move {
        let (status, _, v) = json_of(req.send().await.unwrap()).await;
        assert_eq!(status, 200, "{v}");
        v
    };

    // A form POST with query arguments: repeated names are arrays, `?flag` is true, the body
    // wins on a shared name.
    let v = echo(
        c.post(gw.url("/kong?a=1&a=2&flag&shared=query&sp=x+y"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("name=J%C3%BCrgen&tag=x&tag=y&shared=body"),
    )
    .await;
    assert_eq!(
        v,
        json!({"a": ["1", "2"], "flag": true, "sp": "x y", "name": "Jürgen",
               "tag": ["x", "y"], "shared": "body"})
    );
    // GET: the query arguments alone.
    let v = echo(c.get(gw.url("/kong?id=42&verbose"))).await;
    assert_eq!(v, json!({"id": "42", "verbose": true}));
    // JSON object body: merged with the query (members as sent).
    let v = echo(
        c.post(gw.url("/kong?page=2"))
            .header("content-type", "application/json")
            .body(r#"{"order": {"items": []}, "page": 3}"#),
    )
    .await;
    assert_eq!(v, json!({"order": {"items": []}, "page": 3}));
    // Multipart: each named part's content.
    let boundary = "b0undary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"note\"; filename=\"n.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nline 1\nline 2\r\n--{boundary}--\r\n"
    );
    let v = echo(
        c.post(gw.url("/kong?src=upload"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body),
    )
    .await;
    assert_eq!(
        v,
        json!({"src": "upload", "title": "hello", "note": "line 1\nline 2"})
    );
    // A body Kong cannot parse (no content type) contributes nothing; the request still works.
    let v = echo(c.post(gw.url("/kong?q=1")).body("opaque")).await;
    assert_eq!(v, json!({"q": "1"}));

    // `request_payload: raw` keeps the client body as the event, the query unused.
    let v = echo(
        c.post(gw.url("/raw?ignored=1"))
            .header("content-type", "application/json")
            .body(r#"{"as": "sent"}"#),
    )
    .await;
    assert_eq!(v, json!({"as": "sent"}));
    // ... and a form body there is not JSON: the Invoke API refuses it, as before.
    let r = c
        .post(gw.url("/raw"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (_, _, v) = json_of(r).await;
    assert_eq!(v["error"], "invalid_request_content");
}
