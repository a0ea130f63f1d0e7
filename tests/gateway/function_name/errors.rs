//! Function errors, invocation types, Invoke API errors, payload limits, transport failures and timeouts.

use super::*;

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
