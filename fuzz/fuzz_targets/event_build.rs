//! Lambda events (`function_name::event`) built from arbitrary request heads and bodies.
//!
//! The input is a small structured request (method, path, query, header pairs, body, host,
//! proxy path, time) and per-route settings. `kong_args_event` must be valid JSON (an object,
//! or the body's own array). For `forward_event` (every flag combination the
//! input picks), `apigw_v1_event` and `apigw_v2_event` it checks:
//! * the output is valid JSON (an object);
//! * the body round-trips: empty is `null` (v1) / absent (v2) / `""` (Kong); `isBase64Encoded`
//!   agrees with `BodyEncoding::sends_as_text` and base64 decodes to the input body; text is the
//!   input body itself;
//! * the request's own fields come back unchanged (method, raw path, raw query, stage path,
//!   `pathParameters.proxy` percent-decoded, the epoch time, the `requestTime` format);
//! * headers: v1 `multiValueHeaders` are every value (lossy UTF-8) of every header, v1
//!   `headers` the last one, v2 `headers` those joined with `,` and without `cookie`, Kong's a
//!   string or an array; a missing `host` is filled from the host;
//! * query strings: v1 single and multi-value maps agree, v2 joins the v1 values with `,`.
#![no_main]

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use arbitrary::Arbitrary;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::header::{CONTENT_TYPE, COOKIE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue};
use lambda_proxy::function_name::event::{
    apigw_v1_event, apigw_v2_event, forward_event, kong_args_event, BodyEncoding, EventSettings,
    RequestView, DEFAULT_STAGE,
};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::Value;

const KNOWN_HEADERS: &[&str] = &[
    "content-type",
    "cookie",
    "host",
    "user-agent",
    "accept",
    "x-forwarded-for",
    "authorization",
    "content-length",
];

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "image/png",
    "application/vnd.api+json",
    "multipart/form-data; boundary=x",
];

#[derive(Arbitrary, Debug)]
enum Name<'a> {
    Known(u8),
    Raw(&'a str),
}

#[derive(Arbitrary, Debug)]
enum Value_<'a> {
    ContentType(u8),
    Raw(&'a [u8]),
}

#[derive(Arbitrary, Debug)]
enum Encoding<'a> {
    Auto,
    AutoWith(Vec<&'a str>),
    Always,
    Never,
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    method: &'a str,
    raw_path: &'a str,
    raw_query: Option<&'a str>,
    headers: Vec<(Name<'a>, Value_<'a>)>,
    source_ip: Option<&'a str>,
    http2: bool,
    host: Option<&'a str>,
    proxy_path: Option<&'a str>,
    request_id: &'a str,
    secs: i64,
    nanos: u32,
    resource: &'a str,
    stage: Option<&'a str>,
    account_id: &'a str,
    api_id: &'a str,
    stage_variables: Vec<(&'a str, &'a str)>,
    encoding: Encoding<'a>,
    /// Kong event flags: method, uri, headers, body.
    kong: [bool; 4],
    /// Last, so it takes the rest of the input.
    body: &'a [u8],
}

/// Parse without serde_json's recursion limit: a body nested up to that limit is embedded raw
/// in the Kong event one level deeper, which is still valid JSON.
fn parse(event: &[u8], what: &str) -> Value {
    let mut de = serde_json::Deserializer::from_slice(event);
    de.disable_recursion_limit();
    let v = Value::deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .unwrap_or_else(|e| {
            panic!(
                "{what}: invalid JSON ({e}): {}",
                String::from_utf8_lossy(event)
            )
        });
    assert!(v.is_object(), "{what}: not an object");
    v
}

fn lossy(v: &HeaderValue) -> String {
    String::from_utf8_lossy(v.as_bytes()).into_owned()
}

fn str_of<'v>(v: &'v Value, what: &str) -> &'v str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what}: not a string: {v}"))
}

/// The body as a v1/v2 event carries it, checked against the input.
fn check_body(
    body: Option<&Value>,
    b64: &Value,
    input: &[u8],
    enc: &BodyEncoding,
    ct: Option<&[u8]>,
    what: &str,
) {
    let b64 = b64
        .as_bool()
        .unwrap_or_else(|| panic!("{what}: isBase64Encoded not a bool"));
    if input.is_empty() {
        assert!(!b64, "{what}: empty body marked base64");
        return;
    }
    let body = str_of(body.unwrap_or_else(|| panic!("{what}: body missing")), what);
    assert_eq!(
        b64,
        !enc.sends_as_text(ct, input),
        "{what}: encoding choice"
    );
    if b64 {
        let decoded = STANDARD
            .decode(body)
            .unwrap_or_else(|e| panic!("{what}: bad base64: {e}"));
        assert_eq!(decoded, input, "{what}: base64 body does not round-trip");
    } else {
        assert_eq!(body.as_bytes(), input, "{what}: text body differs");
    }
    if matches!(enc, BodyEncoding::Always) {
        assert!(b64, "{what}: Always sent text");
    }
    if matches!(enc, BodyEncoding::Never) {
        assert_eq!(b64, std::str::from_utf8(input).is_err(), "{what}: Never");
    }
}

fuzz_target!(|input: Input| {
    let mut headers = HeaderMap::new();
    for (name, value) in &input.headers {
        let name = match name {
            Name::Known(i) => {
                HeaderName::from_static(KNOWN_HEADERS[*i as usize % KNOWN_HEADERS.len()])
            }
            Name::Raw(s) => match HeaderName::from_bytes(s.as_bytes()) {
                Ok(n) => n,
                Err(_) => continue,
            },
        };
        let value = match value {
            Value_::ContentType(i) => {
                HeaderValue::from_static(CONTENT_TYPES[*i as usize % CONTENT_TYPES.len()])
            }
            Value_::Raw(b) => match HeaderValue::from_bytes(b) {
                Ok(v) => v,
                Err(_) => continue,
            },
        };
        headers.append(name, value);
    }
    let time = if input.secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::new(
            input.secs as u64,
            input.nanos % 1_000_000_000,
        ))
    } else {
        UNIX_EPOCH.checked_sub(Duration::new(
            input.secs.unsigned_abs(),
            input.nanos % 1_000_000_000,
        ))
    };
    let Some(time) = time else { return };
    let req = RequestView {
        method: input.method,
        raw_path: input.raw_path,
        raw_query: input.raw_query,
        headers: &headers,
        body: input.body,
        source_ip: input.source_ip,
        http_version: if input.http2 { "HTTP/2.0" } else { "HTTP/1.1" },
        host: input.host,
        proxy_path: input.proxy_path,
        request_id: input.request_id,
        time,
        api_key_id: None,
        client_cert: None,
        authorizer: None,
    };
    let body_encoding = match &input.encoding {
        Encoding::Auto => BodyEncoding::default_auto(),
        Encoding::AutoWith(types) => BodyEncoding::Auto {
            text_types: types.iter().map(|s| s.to_string()).collect(),
        },
        Encoding::Always => BodyEncoding::Always,
        Encoding::Never => BodyEncoding::Never,
    };
    let settings = EventSettings {
        resource: input.resource.to_string(),
        stage: input.stage.unwrap_or(DEFAULT_STAGE).to_string(),
        account_id: input.account_id.to_string(),
        api_id: input.api_id.to_string(),
        stage_variables: input
            .stage_variables
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        body_encoding,
    };
    let enc = &settings.body_encoding;
    let ct = headers.get(CONTENT_TYPE).map(|v| v.as_bytes());
    let decoded_proxy = input.proxy_path.map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    let has_host_header = headers.contains_key(HOST);
    let add_host = input.host.filter(|_| !has_host_header);

    // Expected epoch milliseconds: before 1970 is 0, after 9999-12-31T23:59:59Z is that second.
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let epoch_ms = since.as_secs().min(253_402_300_799) * 1000 + u64::from(since.subsec_millis());

    // ---- v1 ----
    let v1 = parse(&apigw_v1_event(&req, &settings), "v1");
    assert_eq!(v1["version"], "1.0");
    assert_eq!(v1["httpMethod"], input.method);
    assert_eq!(v1["path"], input.raw_path);
    let ctx = &v1["requestContext"];
    assert_eq!(ctx["httpMethod"], input.method);
    assert_eq!(ctx["requestTimeEpoch"].as_u64(), Some(epoch_ms));
    check_time_text(str_of(&ctx["requestTime"], "v1 requestTime"));
    let stage_path = if settings.stage.is_empty() || settings.stage == DEFAULT_STAGE {
        input.raw_path.to_string()
    } else {
        format!("/{}{}", settings.stage, input.raw_path)
    };
    assert_eq!(ctx["path"], stage_path.as_str());
    match &decoded_proxy {
        Some(p) => assert_eq!(v1["pathParameters"]["proxy"], p.as_str()),
        None => assert!(v1["pathParameters"].is_null()),
    }
    if input.body.is_empty() {
        assert!(v1["body"].is_null(), "v1: empty body not null");
    }
    check_body(
        v1.get("body"),
        &v1["isBase64Encoded"],
        input.body,
        enc,
        ct,
        "v1",
    );
    if headers.is_empty() && add_host.is_none() {
        assert!(v1["headers"].is_null() && v1["multiValueHeaders"].is_null());
    } else {
        let single = v1["headers"].as_object().expect("v1 headers");
        let multi = v1["multiValueHeaders"]
            .as_object()
            .expect("v1 multiValueHeaders");
        let expected_names = headers.keys().count() + usize::from(add_host.is_some());
        assert_eq!(multi.len(), expected_names);
        assert_eq!(single.len(), expected_names);
        for name in headers.keys() {
            let want: Vec<String> = headers.get_all(name).iter().map(lossy).collect();
            let got: Vec<&str> = multi[name.as_str()]
                .as_array()
                .expect("multi value array")
                .iter()
                .map(|v| str_of(v, "multi value"))
                .collect();
            assert_eq!(got, want, "v1 multiValueHeaders[{name}]");
            assert_eq!(
                single[name.as_str()],
                want.last().unwrap().as_str(),
                "v1 headers[{name}]"
            );
        }
        if let Some(host) = add_host {
            assert_eq!(single["host"], host);
            assert_eq!(multi["host"], serde_json::json!([host]));
        }
    }
    let v1_query_multi = v1["multiValueQueryStringParameters"].as_object();
    match (v1["queryStringParameters"].as_object(), v1_query_multi) {
        (None, None) => {
            assert!(
                v1["queryStringParameters"].is_null()
                    && v1["multiValueQueryStringParameters"].is_null()
            );
        }
        (Some(single), Some(multi)) => {
            assert!(!single.is_empty());
            assert_eq!(
                single.keys().collect::<Vec<_>>(),
                multi.keys().collect::<Vec<_>>()
            );
            for (k, values) in multi {
                let values = values.as_array().expect("multi query array");
                assert!(!values.is_empty());
                assert_eq!(&single[k], values.last().unwrap(), "v1 query {k}");
            }
        }
        other => panic!("v1 query maps disagree: {other:?}"),
    }

    // ---- v2 ----
    let v2 = parse(&apigw_v2_event(&req, &settings), "v2");
    assert_eq!(v2["version"], "2.0");
    assert_eq!(v2["rawPath"], input.raw_path);
    assert_eq!(v2["rawQueryString"], input.raw_query.unwrap_or(""));
    let http = &v2["requestContext"]["http"];
    assert_eq!(http["method"], input.method);
    assert_eq!(http["path"], input.raw_path);
    assert_eq!(v2["requestContext"]["timeEpoch"].as_u64(), Some(epoch_ms));
    check_time_text(str_of(&v2["requestContext"]["time"], "v2 time"));
    assert_eq!(v2["routeKey"], v2["requestContext"]["routeKey"]);
    match &decoded_proxy {
        Some(p) => assert_eq!(v2["pathParameters"]["proxy"], p.as_str()),
        None => assert!(v2.get("pathParameters").is_none()),
    }
    if input.body.is_empty() {
        assert!(v2.get("body").is_none(), "v2: empty body present");
    }
    check_body(
        v2.get("body"),
        &v2["isBase64Encoded"],
        input.body,
        enc,
        ct,
        "v2",
    );
    let v2_headers = v2["headers"].as_object().expect("v2 headers");
    assert!(!v2_headers.contains_key("cookie"), "v2 headers keep cookie");
    for name in headers.keys().filter(|n| *n != COOKIE) {
        let want: Vec<String> = headers.get_all(name).iter().map(lossy).collect();
        assert_eq!(
            v2_headers[name.as_str()],
            want.join(",").as_str(),
            "v2 headers[{name}]"
        );
    }
    if let Some(host) = add_host {
        assert_eq!(v2_headers["host"], host);
    }
    let any_cookie = headers.get_all(COOKIE).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b';')
            .any(|c| !c.trim_ascii().is_empty())
    });
    match v2.get("cookies") {
        Some(c) => {
            let c = c.as_array().expect("cookies array");
            assert!(any_cookie && !c.is_empty(), "cookies without a cookie");
            for cookie in c {
                let s = str_of(cookie, "cookie");
                assert!(!s.is_empty() && !s.contains(';'), "cookie {s:?}");
                assert_eq!(s, s.trim_matches([' ', '\t']), "untrimmed cookie");
            }
        }
        None => assert!(!any_cookie, "cookie header but no cookies"),
    }
    match (v2.get("queryStringParameters"), v1_query_multi) {
        (None, None) => {}
        (Some(q2), Some(multi)) => {
            let q2 = q2.as_object().expect("v2 query object");
            assert_eq!(q2.len(), multi.len());
            for (k, values) in multi {
                let joined: Vec<&str> = values
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| str_of(v, "query value"))
                    .collect();
                assert_eq!(q2[k], joined.join(",").as_str(), "v2 query {k}");
            }
        }
        other => panic!("v1/v2 query disagree: {other:?}"),
    }

    // ---- Kong's default payload: always JSON, an object unless the body is a bare array ----
    let parsed = parse(&kong_args_event(&req), "kong args");
    assert!(parsed.is_object() || (parsed.is_array() && input.raw_query.is_none_or(str::is_empty)));

    // ---- Kong forward_request_* ----
    let [m, u, h, b] = input.kong;
    let kong = parse(&forward_event(&req, m, u, h, b, enc), "forward");
    let kong = kong.as_object().unwrap();
    let mut expected_keys = 0;
    if m {
        assert_eq!(kong["request_method"], input.method);
        expected_keys += 1;
    }
    if u {
        let uri = match input.raw_query {
            Some(q) => format!("{}?{}", input.raw_path, q),
            None => input.raw_path.to_string(),
        };
        assert_eq!(kong["request_uri"], uri.as_str());
        let args = kong["request_uri_args"]
            .as_object()
            .expect("request_uri_args");
        let multi = v1_query_multi.cloned().unwrap_or_default();
        for (k, v) in args {
            assert!(!k.is_empty(), "Kong arg with an empty key");
            let values = multi[k].as_array().expect("Kong arg not in v1 query");
            let kong_values: Vec<&Value> = match v {
                Value::Array(a) => {
                    assert!(a.len() > 1, "Kong array arg of one value");
                    a.iter().collect()
                }
                other => vec![other],
            };
            assert_eq!(kong_values.len(), values.len(), "Kong arg {k}");
            for (kv, v1v) in kong_values.iter().zip(values) {
                match kv {
                    Value::Bool(true) => assert_eq!(v1v, "", "valueless Kong arg {k}"),
                    Value::String(_) => assert_eq!(*kv, v1v, "Kong arg {k}"),
                    other => panic!("Kong arg {k}: {other}"),
                }
            }
        }
        assert_eq!(args.len(), multi.keys().filter(|k| !k.is_empty()).count());
        expected_keys += 2;
    }
    if h {
        let kh = kong["request_headers"]
            .as_object()
            .expect("request_headers");
        for name in headers.keys() {
            let want: Vec<String> = headers.get_all(name).iter().map(lossy).collect();
            match &kh[name.as_str()] {
                Value::String(s) => assert!(want.len() == 1 && *s == want[0], "Kong header {name}"),
                Value::Array(a) => {
                    let got: Vec<&str> = a.iter().map(|v| str_of(v, "Kong header")).collect();
                    assert!(want.len() > 1 && got == want, "Kong header {name}");
                }
                other => panic!("Kong header {name}: {other}"),
            }
        }
        expected_keys += 1;
    }
    if b {
        let b64 = kong["request_body_base64"]
            .as_bool()
            .expect("request_body_base64");
        let body = str_of(&kong["request_body"], "request_body");
        if input.body.is_empty() {
            assert!(!b64 && body.is_empty(), "Kong empty body");
        } else {
            check_body(
                Some(&kong["request_body"]),
                &kong["request_body_base64"],
                input.body,
                enc,
                ct,
                "forward",
            );
        }
        expected_keys += 2;
        if let Some(args) = kong.get("request_body_args") {
            assert!(args.is_object(), "request_body_args not an object");
            expected_keys += 1;
        }
    } else {
        assert!(!kong.contains_key("request_body_args"));
    }
    assert_eq!(
        kong.len(),
        expected_keys,
        "Kong event keys: {:?}",
        kong.keys().collect::<Vec<_>>()
    );
});

/// `30/Nov/2026:06:00:00 +0000`.
fn check_time_text(t: &str) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    assert!(
        b.len() == 26
            && digits(0..2)
            && b[2] == b'/'
            && MONTHS.contains(&&t[3..6])
            && b[6] == b'/'
            && digits(7..11)
            && b[11] == b':'
            && digits(12..14)
            && b[14] == b':'
            && digits(15..17)
            && b[17] == b':'
            && digits(18..20)
            && &t[20..] == " +0000",
        "bad requestTime {t:?}"
    );
}
