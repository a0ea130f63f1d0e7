//! The events `lambda_proxy::function_name::event` builds, read by the official Rust runtime's HTTP
//! adapter (`lambda_http`), and the responses that adapter writes, read back by
//! `lambda_proxy::function_name::result`: what a Rust function behind the gateway actually sees.
//!
//! Two `lambda_http` 1.x behaviours show up in the assertions (they are its, not ours):
//! * v1 events: it builds the request headers from `multiValueHeaders` and then lets `headers`
//!   (one value per name, the last) replace them, so a repeated request header reaches the
//!   handler with its last value only. The event itself carries every value; checked on the
//!   typed `ApiGatewayProxyRequest` as well.
//! * v2 responses: it serialises `headers` with the first value of each name only (Set-Cookie
//!   goes to `cookies` and survives).

use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use lambda_http::aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::{Body, Context, LambdaEvent, RequestExt, Service};
use lambda_proxy::function_name::event::{
    apigw_v1_event, apigw_v2_event, BodyEncoding, EventSettings, RequestView,
};
use lambda_proxy::function_name::result::{parse_proxy_result, HttpResult, PayloadVersion};

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

struct Req {
    method: &'static str,
    path: &'static str,
    query: Option<&'static str>,
    headers: HeaderMap,
    body: Vec<u8>,
    proxy: Option<&'static str>,
}

fn hmap(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

fn time() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_796_018_400_123)
}

fn view(r: &Req) -> RequestView<'_> {
    RequestView {
        method: r.method,
        raw_path: r.path,
        raw_query: r.query,
        headers: &r.headers,
        body: &r.body,
        source_ip: Some("198.51.100.7"),
        http_version: "HTTP/1.1",
        host: Some("gw.example.com"),
        proxy_path: r.proxy,
        request_id: "rid-42",
        time: time(),
        api_key_id: None,
        client_cert: None,
        authorizer: None,
    }
}

fn settings() -> EventSettings {
    EventSettings {
        resource: "/aws/{proxy+}".into(),
        api_id: "roundtrip".into(),
        ..EventSettings::default()
    }
}

fn lambda_request(event: &[u8]) -> LambdaRequest {
    serde_json::from_slice(event).unwrap_or_else(|e| {
        panic!(
            "lambda_http rejects the event: {e}\n{}",
            String::from_utf8_lossy(event)
        )
    })
}

fn to_http(event: &[u8]) -> lambda_http::Request {
    lambda_request(event).into()
}

fn values<'a>(h: &'a HeaderMap, name: &str) -> Vec<&'a [u8]> {
    h.get_all(name).iter().map(|v| v.as_bytes()).collect()
}

fn body_bytes(b: &Body) -> &[u8] {
    b.as_ref()
}

/// A GET with everything awkward: repeated headers and query keys, valueless and empty
/// arguments, `+` and `%20`, unicode in path and query, cookies, a wildcard route.
fn awkward_get() -> Req {
    Req {
        method: "GET",
        path: "/aws/caf%C3%A9/%E2%9C%93/a%20b",
        query: Some("a=1&a=2&flag&empty=&sp=x+y%20z&uni=%E2%9C%93&%C3%A9=k&amp=%26"),
        headers: hmap(&[
            ("host", "gw.example.com"),
            ("accept", "*/*"),
            ("x-multi", "first"),
            ("x-multi", "second"),
            ("x-unicode", "caf\u{e9}"),
            ("cookie", "s=1; t=2"),
            ("user-agent", "roundtrip/1"),
            ("x-forwarded-proto", "https"),
        ]),
        body: Vec::new(),
        proxy: Some("caf%C3%A9/%E2%9C%93/a%20b"),
    }
}

fn check_query(q: &QueryMap) {
    assert_eq!(q.all("a"), Some(vec!["1", "2"]));
    assert_eq!(q.first("flag"), Some(""));
    assert_eq!(q.first("empty"), Some(""));
    assert_eq!(q.first("sp"), Some("x y z"));
    assert_eq!(q.first("uni"), Some("✓"));
    assert_eq!(q.first("é"), Some("k"));
    assert_eq!(q.first("amp"), Some("&"));
}

#[test]
fn v1_get_with_repeated_headers_and_query_keys() {
    let r = awkward_get();
    let event = apigw_v1_event(&view(&r), &settings());

    let LambdaRequest::ApiGatewayV1(typed) = lambda_request(&event) else {
        panic!("not read as an API Gateway v1 event")
    };
    assert_eq!(
        values(&typed.multi_value_headers, "x-multi"),
        [&b"first"[..], b"second"]
    );
    assert_eq!(
        values(&typed.headers, "x-multi"),
        [&b"second"[..]],
        "v1 headers: last value wins"
    );
    check_query(&typed.multi_value_query_string_parameters);
    assert_eq!(
        typed.query_string_parameters.first("a"),
        Some("2"),
        "last value wins"
    );

    let req = to_http(&event);
    assert_eq!(req.method(), Method::GET);
    assert_eq!(req.uri().scheme_str(), Some("https"));
    assert_eq!(req.uri().host(), Some("gw.example.com"));
    assert_eq!(req.uri().path(), r.path);
    assert_eq!(req.raw_http_path(), r.path);
    check_query(&req.query_string_parameters());
    // The URI query is rebuilt from multiValueQueryStringParameters: same pairs.
    let rebuilt: QueryMap = req.uri().query().unwrap_or("").parse().unwrap();
    check_query(&rebuilt);
    assert_eq!(
        req.path_parameters().first("proxy"),
        Some("café/✓/a b"),
        "path parameters arrive percent-decoded, as API Gateway sends them"
    );
    // lambda_http keeps the `headers` value (the last) for repeated headers.
    assert_eq!(values(req.headers(), "x-multi"), [&b"second"[..]]);
    assert_eq!(values(req.headers(), "accept"), [&b"*/*"[..]]);
    assert_eq!(values(req.headers(), "x-unicode"), ["café".as_bytes()]);
    assert_eq!(values(req.headers(), "cookie"), [&b"s=1; t=2"[..]]);
    assert!(body_bytes(req.body()).is_empty());
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => {
            assert_eq!(ctx.request_id.as_deref(), Some("rid-42"));
            assert_eq!(ctx.apiid.as_deref(), Some("roundtrip"));
            assert_eq!(ctx.account_id.as_deref(), Some("123456789012"));
            assert_eq!(ctx.resource_path.as_deref(), Some("/aws/{proxy+}"));
            assert_eq!(ctx.identity.source_ip.as_deref(), Some("198.51.100.7"));
            assert_eq!(ctx.identity.user_agent.as_deref(), Some("roundtrip/1"));
            assert_eq!(ctx.request_time_epoch, 1_796_018_400_123);
            assert_eq!(
                ctx.request_time.as_deref(),
                Some("30/Nov/2026:06:00:00 +0000")
            );
            assert_eq!(ctx.http_method, Method::GET);
        }
        other => panic!("request context {other:?}"),
    }
}

#[test]
fn v2_get_with_repeated_headers_query_keys_and_cookies() {
    let r = awkward_get();
    let event = apigw_v2_event(&view(&r), &settings());

    let LambdaRequest::ApiGatewayV2(typed) = lambda_request(&event) else {
        panic!("not read as an API Gateway v2 event")
    };
    assert_eq!(
        typed.cookies,
        Some(vec!["s=1".to_owned(), "t=2".to_owned()])
    );
    assert_eq!(typed.route_key.as_deref(), Some("ANY /aws/{proxy+}"));
    // The event joins repeated keys with ','; aws_lambda_events splits them again.
    let json: serde_json::Value = serde_json::from_slice(&event).unwrap();
    assert_eq!(json["queryStringParameters"]["a"], "1,2");
    assert_eq!(typed.query_string_parameters.all("a"), Some(vec!["1", "2"]));

    let req = to_http(&event);
    assert_eq!(req.method(), Method::GET);
    assert_eq!(req.uri().path(), r.path);
    assert_eq!(
        req.uri().query(),
        r.query,
        "v2 passes rawQueryString through"
    );
    assert_eq!(req.raw_http_path(), r.path);
    check_query(&req.query_string_parameters());
    assert_eq!(
        values(req.headers(), "x-multi"),
        [&b"first,second"[..]],
        "joined with ','"
    );
    assert_eq!(values(req.headers(), "x-unicode"), ["café".as_bytes()]);
    assert_eq!(
        values(req.headers(), "cookie"),
        [&b"s=1; t=2"[..]],
        "cookies back in one header"
    );
    assert_eq!(values(req.headers(), "host"), [&b"gw.example.com"[..]]);
    assert!(body_bytes(req.body()).is_empty());
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            assert_eq!(ctx.http.method, Method::GET);
            assert_eq!(ctx.http.path.as_deref(), Some(r.path));
            assert_eq!(ctx.http.source_ip.as_deref(), Some("198.51.100.7"));
            assert_eq!(ctx.stage.as_deref(), Some("$default"));
            assert_eq!(ctx.time_epoch, 1_796_018_400_123);
        }
        other => panic!("request context {other:?}"),
    }
}

fn post(content_type: &'static str, body: &[u8]) -> Req {
    Req {
        method: "POST",
        path: "/aws/upload",
        query: None,
        headers: hmap(&[("host", "gw.example.com"), ("content-type", content_type)]),
        body: body.to_vec(),
        proxy: Some("upload"),
    }
}

fn all_bytes() -> Vec<u8> {
    (0..=255u8).cycle().take(1000).collect()
}

#[test]
fn bodies_text_unicode_and_binary_both_versions() {
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        (
            "application/json; charset=utf-8",
            br#"{"name":"caf\u00e9","emoji":"\u2713"}"#.to_vec(),
            false,
        ),
        (
            "text/plain",
            "héllo ✓ \"quoted\"\n".as_bytes().to_vec(),
            false,
        ),
        ("image/png", all_bytes(), true),
        ("text/plain", b"\xff\xfe not utf-8".to_vec(), true),
        (
            "application/octet-stream",
            b"ascii but binary type".to_vec(),
            true,
        ),
    ];
    for (ct, body, binary) in cases {
        let r = post(ct, &body);
        for (version, event) in [
            ("v1", apigw_v1_event(&view(&r), &settings())),
            ("v2", apigw_v2_event(&view(&r), &settings())),
        ] {
            let json: serde_json::Value = serde_json::from_slice(&event).unwrap();
            assert_eq!(json["isBase64Encoded"], binary, "{version} {ct}");
            let req = to_http(&event);
            assert_eq!(req.method(), Method::POST, "{version}");
            assert_eq!(body_bytes(req.body()), &body[..], "{version} {ct}");
            assert_eq!(
                matches!(req.body(), Body::Binary(_)),
                binary,
                "{version} {ct}"
            );
            assert_eq!(
                values(req.headers(), "content-type"),
                [ct.as_bytes()],
                "{version}"
            );
        }
    }
}

#[test]
fn always_base64_still_round_trips() {
    let mut s = settings();
    s.body_encoding = BodyEncoding::Always;
    let r = post("application/json", br#"{"a":1}"#);
    for event in [apigw_v1_event(&view(&r), &s), apigw_v2_event(&view(&r), &s)] {
        let req = to_http(&event);
        assert_eq!(body_bytes(req.body()), br#"{"a":1}"#);
    }
}

#[test]
fn http2_request_without_host_header() {
    let mut r = post("text/plain", b"x");
    r.headers.remove("host");
    let mut v = view(&r);
    v.http_version = "HTTP/2.0";
    v.host = Some("h2.example.com:8443");
    for event in [
        apigw_v1_event(&v, &settings()),
        apigw_v2_event(&v, &settings()),
    ] {
        let req = to_http(&event);
        assert_eq!(
            req.uri().authority().map(|a| a.as_str()),
            Some("h2.example.com:8443")
        );
        assert_eq!(values(req.headers(), "host"), [&b"h2.example.com:8443"[..]]);
    }
}

#[test]
fn v1_named_stage_and_stage_variables() {
    let mut s = settings();
    s.stage = "prod".into();
    s.stage_variables.insert("color".into(), "blue".into());
    let r = awkward_get();
    let event = apigw_v1_event(&view(&r), &s);
    let typed: ApiGatewayProxyRequest = serde_json::from_slice(&event).unwrap();
    assert_eq!(
        typed.request_context.path.as_deref(),
        Some("/prod/aws/caf%C3%A9/%E2%9C%93/a%20b")
    );
    let req = to_http(&event);
    // lambda_http puts the stage in front of the path (unless AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH
    // is set), as the execute-api URL has it; the raw path is the event's `path`.
    assert_eq!(req.uri().path(), "/prod/aws/caf%C3%A9/%E2%9C%93/a%20b");
    assert_eq!(req.raw_http_path(), r.path);
    assert_eq!(req.stage_variables().first("color"), Some("blue"));
    let event = apigw_v2_event(&view(&r), &s);
    let typed: ApiGatewayV2httpRequest = serde_json::from_slice(&event).unwrap();
    assert_eq!(
        typed.stage_variables.get("color").map(String::as_str),
        Some("blue")
    );
}

#[test]
fn exact_route_without_query_or_headers() {
    let r = Req {
        method: "DELETE",
        path: "/items/7",
        query: None,
        headers: HeaderMap::new(),
        body: Vec::new(),
        proxy: None,
    };
    let mut s = settings();
    s.resource = "/items/7".into();
    for event in [apigw_v1_event(&view(&r), &s), apigw_v2_event(&view(&r), &s)] {
        let req = to_http(&event);
        assert_eq!(req.method(), Method::DELETE);
        assert_eq!(req.uri().path(), "/items/7");
        assert_eq!(req.uri().query(), None);
        assert!(req.query_string_parameters().is_empty());
        assert!(req.path_parameters().is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/// What `lambda_http` returns to the Lambda runtime for `resp`, answering the event `event`
/// (the event decides v1 or v2 output).
async fn lambda_http_output(event: &[u8], make: fn() -> http::Response<Body>) -> Vec<u8> {
    let handler = lambda_http::service_fn(move |_req: lambda_http::Request| async move {
        Ok::<_, Infallible>(make())
    });
    let mut adapter = lambda_http::Adapter::from(handler);
    let out = adapter
        .call(LambdaEvent::new(lambda_request(event), Context::default()))
        .await
        .unwrap();
    serde_json::to_vec(&out).unwrap()
}

fn v1_event() -> Vec<u8> {
    apigw_v1_event(&view(&awkward_get()), &settings())
}

fn v2_event() -> Vec<u8> {
    apigw_v2_event(&view(&awkward_get()), &settings())
}

fn header_values<'a>(r: &'a HttpResult, name: &str) -> Vec<&'a [u8]> {
    r.headers
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_bytes())
        .collect()
}

fn text_response() -> http::Response<Body> {
    http::Response::builder()
        .status(StatusCode::CREATED)
        .header("content-type", "text/plain; charset=utf-8")
        .header("set-cookie", "a=1; Path=/; HttpOnly")
        .header("set-cookie", "b=2; Secure")
        .header("x-multi", "one")
        .header("x-multi", "two")
        .header(
            "x-unicode",
            HeaderValue::from_bytes("café".as_bytes()).unwrap(),
        )
        .body(Body::from("héllo ✓"))
        .unwrap()
}

fn binary_response() -> http::Response<Body> {
    http::Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "image/png")
        .body(Body::from(all_bytes()))
        .unwrap()
}

fn empty_response() -> http::Response<Body> {
    http::Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header("x-empty", "yes")
        .body(Body::Empty)
        .unwrap()
}

fn gzip_json_response() -> http::Response<Body> {
    http::Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(Body::from(vec![0x1f, 0x8b, 0x08, 0x00, 0xff]))
        .unwrap()
}

#[tokio::test]
async fn v1_text_response_with_cookies_and_repeated_headers() {
    let out = lambda_http_output(&v1_event(), text_response).await;
    let r = parse_proxy_result(&out, PayloadVersion::V1).unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(
        header_values(&r, "set-cookie"),
        [&b"a=1; Path=/; HttpOnly"[..], b"b=2; Secure"]
    );
    assert_eq!(header_values(&r, "x-multi"), [&b"one"[..], b"two"]);
    assert_eq!(header_values(&r, "x-unicode"), ["café".as_bytes()]);
    assert_eq!(
        header_values(&r, "content-type"),
        [&b"text/plain; charset=utf-8"[..]]
    );
    assert_eq!(&r.body[..], "héllo ✓".as_bytes());
}

#[tokio::test]
async fn v2_text_response_with_cookies() {
    let out = lambda_http_output(&v2_event(), text_response).await;
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(json["cookies"].is_array(), "{json}");
    let r = parse_proxy_result(&out, PayloadVersion::V2).unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(
        header_values(&r, "set-cookie"),
        [&b"a=1; Path=/; HttpOnly"[..], b"b=2; Secure"]
    );
    // lambda_http writes the first value of a repeated non-cookie header (see module docs);
    // we return exactly what it wrote.
    assert_eq!(json["headers"]["x-multi"], "one");
    assert_eq!(header_values(&r, "x-multi"), [&b"one"[..]]);
    assert_eq!(header_values(&r, "x-unicode"), ["café".as_bytes()]);
    assert_eq!(&r.body[..], "héllo ✓".as_bytes());
}

#[tokio::test]
async fn binary_empty_and_encoded_responses_both_versions() {
    for (event, version) in [
        (v1_event(), PayloadVersion::V1),
        (v2_event(), PayloadVersion::V2),
    ] {
        let out = lambda_http_output(&event, binary_response).await;
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["isBase64Encoded"], true);
        assert_eq!(
            json["body"],
            base64::engine::general_purpose::STANDARD.encode(all_bytes())
        );
        let r = parse_proxy_result(&out, version).unwrap();
        assert_eq!(
            (r.status, &r.body[..]),
            (200, &all_bytes()[..]),
            "{version:?}"
        );
        assert_eq!(header_values(&r, "content-type"), [&b"image/png"[..]]);

        let out = lambda_http_output(&event, empty_response).await;
        let r = parse_proxy_result(&out, version).unwrap();
        assert_eq!(r.status, 204, "{version:?}");
        assert!(r.body.is_empty());
        assert_eq!(header_values(&r, "x-empty"), [&b"yes"[..]]);

        let out = lambda_http_output(&event, gzip_json_response).await;
        let r = parse_proxy_result(&out, version).unwrap();
        assert_eq!(&r.body[..], &[0x1f, 0x8b, 0x08, 0x00, 0xff], "{version:?}");
        assert_eq!(header_values(&r, "content-encoding"), [&b"gzip"[..]]);
    }
}

// ---------------------------------------------------------------------------------------------
// Authorizers: what a function behind one sees, and what a Rust authorizer function receives
// ---------------------------------------------------------------------------------------------

fn jwt_grant() -> lambda_proxy::authorizers::Grant {
    let claims = serde_json::json!({
        "sub": "user-7", "exp": 1796018400, "scope": "orders.read orders.write",
        "cognito:groups": ["admin", "ops"], "email_verified": true
    });
    let t = lambda_proxy::authorizers::jwt::VerifiedToken::from_claims(
        claims.as_object().unwrap(),
        1796018400,
    );
    lambda_proxy::authorizers::Grant::Jwt(std::sync::Arc::new(t))
}

fn lambda_grant() -> lambda_proxy::authorizers::Grant {
    let context = serde_json::json!({"tenant": "t-1", "n": 7, "flag": true});
    lambda_proxy::authorizers::Grant::Lambda(std::sync::Arc::new(
        lambda_proxy::authorizers::LambdaGrant {
            principal_id: Some("user-9".into()),
            context: context.as_object().unwrap().clone(),
        },
    ))
}

#[test]
fn jwt_claims_reach_a_rust_function_in_both_payload_versions() {
    let r = awkward_get();
    let grant = jwt_grant();
    let mut v = view(&r);
    v.authorizer = Some(&grant);

    let v2: ApiGatewayV2httpRequest = serde_json::from_slice(&apigw_v2_event(&v, &settings()))
        .expect("lambda_http's v2 type reads the event");
    let jwt = v2.request_context.authorizer.unwrap().jwt.unwrap();
    assert_eq!(jwt.claims["sub"], "user-7");
    assert_eq!(jwt.claims["exp"], "1796018400");
    assert_eq!(jwt.claims["cognito:groups"], "[admin ops]");
    assert_eq!(jwt.claims["email_verified"], "true");
    assert_eq!(
        jwt.scopes.unwrap(),
        vec!["orders.read".to_string(), "orders.write".to_string()]
    );
    // Through the adapter too: the handler's request context.
    let http = to_http(&apigw_v2_event(&v, &settings()));
    let RequestContext::ApiGatewayV2(ctx) = http.request_context() else {
        panic!("not a v2 context")
    };
    assert_eq!(ctx.authorizer.unwrap().jwt.unwrap().claims["sub"], "user-7");

    let v1: ApiGatewayProxyRequest = serde_json::from_slice(&apigw_v1_event(&v, &settings()))
        .expect("lambda_http's v1 type reads the event");
    let fields = &v1.request_context.authorizer.fields;
    assert_eq!(fields["claims"]["sub"], "user-7");
    assert_eq!(fields["scopes"][1], "orders.write");
}

#[test]
fn a_lambda_authorizers_context_reaches_a_rust_function() {
    let r = awkward_get();
    let grant = lambda_grant();
    let mut v = view(&r);
    v.authorizer = Some(&grant);
    let v2: ApiGatewayV2httpRequest =
        serde_json::from_slice(&apigw_v2_event(&v, &settings())).unwrap();
    let fields = v2.request_context.authorizer.unwrap().fields;
    assert_eq!(fields["tenant"], "t-1");
    assert_eq!(fields["n"], 7);
    let v1: ApiGatewayProxyRequest =
        serde_json::from_slice(&apigw_v1_event(&v, &settings())).unwrap();
    let fields = &v1.request_context.authorizer.fields;
    assert_eq!(fields["principalId"], "user-9");
    assert_eq!(fields["tenant"], "t-1");
    assert_eq!(fields["integrationLatency"], 0);
}

#[test]
fn authorizer_events_are_what_a_rust_authorizer_function_reads() {
    use lambda_http::aws_lambda_events::apigw::{
        ApiGatewayV2CustomAuthorizerV1Request, ApiGatewayV2CustomAuthorizerV2Request,
    };
    use lambda_proxy::authorizers::lambda_payload::{authorizer_event, PayloadFormat};
    let r = awkward_get();
    let v = view(&r);
    let arn = "arn:aws:execute-api:us-east-1:123456789012:roundtrip/$default/GET/aws/x";
    let identity = ["tok-1".to_string(), "tenant-a".to_string()];
    let e2 = authorizer_event(PayloadFormat::V2, &v, &settings(), &identity, arn);
    let typed: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_slice(&e2)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&e2)));
    assert_eq!(typed.version.as_deref(), Some("2.0"));
    assert_eq!(typed.type_.as_deref(), Some("REQUEST"));
    assert_eq!(typed.route_arn.as_deref(), Some(arn));
    assert_eq!(typed.identity_source.unwrap(), identity.to_vec());
    assert_eq!(typed.headers["x-multi"], "first,second");
    let e1 = authorizer_event(PayloadFormat::V1, &v, &settings(), &identity, arn);
    let typed: ApiGatewayV2CustomAuthorizerV1Request = serde_json::from_slice(&e1)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&e1)));
    assert_eq!(typed.type_.as_deref(), Some("REQUEST"));
    assert_eq!(typed.method_arn.as_deref(), Some(arn));
    assert_eq!(typed.identity_source.as_deref(), Some("tok-1,tenant-a"));
    assert_eq!(typed.authorization_token.as_deref(), Some("tok-1,tenant-a"));
    assert_eq!(typed.http_method, Method::GET);
}
