//! Events and results: raw bodies, the Invoke request itself, Kong's objects, API Gateway v1/v2 events and proxy-integration results.

use super::*;

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
