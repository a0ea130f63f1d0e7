//! Buffered proxy-integration results, v1 and v2 (the prelude's tests are in `prelude`).

use super::*;
use PayloadVersion::{V1, V2};

fn ok(payload: &str, v: PayloadVersion) -> HttpResult {
    parse_proxy_result(payload.as_bytes(), v).unwrap_or_else(|e| panic!("{payload}: {e}"))
}

fn err(payload: &[u8], v: PayloadVersion) -> String {
    match parse_proxy_result(payload, v) {
        Ok(r) => panic!(
            "{}: expected an error, got {r:?}",
            String::from_utf8_lossy(payload)
        ),
        Err(e) => e.0,
    }
}

pub(super) fn all<'a>(r: &'a [(HeaderName, HeaderValue)], name: &str) -> Vec<&'a str> {
    r.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.to_str().unwrap())
        .collect()
}

#[test]
fn minimal_results() {
    for v in [V1, V2] {
        let r = ok(r#"{"statusCode": 204}"#, v);
        assert_eq!((r.status, r.headers.len(), r.body.len()), (204, 0, 0));
        let r = ok(
            r#"{"statusCode": 200, "body": "hi", "isBase64Encoded": false}"#,
            v,
        );
        assert_eq!(&r.body[..], b"hi");
        let r = ok(
            r#"{"statusCode": 200, "body": null, "isBase64Encoded": null, "headers": null}"#,
            v,
        );
        assert!(r.body.is_empty());
    }
}

#[test]
fn status_codes() {
    for v in [V1, V2] {
        assert_eq!(ok(r#"{"statusCode": "404"}"#, v).status, 404);
        assert_eq!(ok(r#"{"statusCode": 201.0}"#, v).status, 201);
        assert_eq!(ok(r#"{"statusCode": 100}"#, v).status, 100);
        assert_eq!(ok(r#"{"statusCode": 599}"#, v).status, 599);
        for bad in [
            r#"{"statusCode": 99}"#,
            r#"{"statusCode": 600}"#,
            r#"{"statusCode": -200}"#,
            r#"{"statusCode": 200.5}"#,
            r#"{"statusCode": 1e300}"#,
            r#"{"statusCode": 18446744073709551616}"#,
            r#"{"statusCode": "abc"}"#,
            r#"{"statusCode": " 200"}"#,
            r#"{"statusCode": "+200"}"#,
            r#"{"statusCode": "99999999999999999999"}"#,
            r#"{"statusCode": ""}"#,
            r#"{"statusCode": true}"#,
            r#"{"statusCode": [200]}"#,
            r#"{"statusCode": {"code": 200}}"#,
        ] {
            let e = err(bad.as_bytes(), v);
            assert!(e.contains("statusCode"), "{bad}: {e}");
        }
    }
}

#[test]
fn header_values_of_every_type() {
    let r = ok(
        r#"{"statusCode": 200, "headers": {"X-Str": "s", "x-int": 42, "x-neg": -1,
            "x-float": 1.5, "x-bool": true, "x-false": false, "x-null": null, "X-UTF8": "café"}}"#,
        V2,
    );
    assert_eq!(all(&r.headers, "x-str"), ["s"]);
    assert_eq!(all(&r.headers, "x-int"), ["42"]);
    assert_eq!(all(&r.headers, "x-neg"), ["-1"]);
    assert_eq!(all(&r.headers, "x-float"), ["1.5"]);
    assert_eq!(all(&r.headers, "x-bool"), ["true"]);
    assert_eq!(all(&r.headers, "x-false"), ["false"]);
    assert!(
        all(&r.headers, "x-null").is_empty(),
        "null skips the header"
    );
    let utf8: Vec<_> = r
        .headers
        .iter()
        .filter(|(k, _)| k == "x-utf8")
        .map(|(_, v)| v.as_bytes())
        .collect();
    assert_eq!(utf8, ["café".as_bytes()]);
}

#[test]
fn multi_value_headers_win_over_headers() {
    let r = ok(
        r#"{"statusCode": 200,
            "headers": {"Set-Cookie": "single=1", "X-Only-Single": "s", "x-both": "h"},
            "multiValueHeaders": {"set-cookie": ["a=1", "b=2"], "X-Both": ["m1", 2, null, true],
                                  "x-null": null, "x-empty": []}}"#,
        V1,
    );
    assert_eq!(all(&r.headers, "set-cookie"), ["a=1", "b=2"]);
    assert_eq!(all(&r.headers, "x-both"), ["m1", "2", "true"]);
    assert_eq!(all(&r.headers, "x-only-single"), ["s"]);
    assert!(all(&r.headers, "x-null").is_empty());
    // null multiValueHeaders is tolerated (Kong/kong#13533).
    let r = ok(
        r#"{"statusCode": 200, "headers": {"a": "1"}, "multiValueHeaders": null}"#,
        V1,
    );
    assert_eq!(all(&r.headers, "a"), ["1"]);
    // A null or empty list does not hide the single value.
    let r = ok(
        r#"{"statusCode": 200, "headers": {"a": "1", "b": "2"}, "multiValueHeaders": {"a": null, "b": []}}"#,
        V1,
    );
    assert_eq!(
        (all(&r.headers, "a"), all(&r.headers, "b")),
        (vec!["1"], vec!["2"])
    );
}

#[test]
fn v2_cookies_and_ignored_fields() {
    let r = ok(
        r#"{"statusCode": 200, "cookies": ["a=1; Path=/", "b=2", null],
            "headers": {"set-cookie": "h=1", "x": "a,b"}, "multiValueHeaders": {"x": ["ignored"]}}"#,
        V2,
    );
    assert_eq!(all(&r.headers, "set-cookie"), ["h=1", "a=1; Path=/", "b=2"]);
    assert_eq!(all(&r.headers, "x"), ["a,b"], "v2 has no multiValueHeaders");
    // v1 has no cookies; malformed ones are not even looked at.
    let r = ok(r#"{"statusCode": 200, "cookies": {"not": "an array"}}"#, V1);
    assert!(r.headers.is_empty());
    let r = ok(
        r#"{"statusCode": 200, "multiValueHeaders": "whatever"}"#,
        V2,
    );
    assert!(r.headers.is_empty());
    assert!(err(br#"{"statusCode": 200, "cookies": "a=1"}"#, V2).contains("cookies"));
    assert!(err(br#"{"statusCode": 200, "cookies": [{"a": 1}]}"#, V2).contains("set-cookie"));
}

#[test]
fn base64_bodies() {
    for v in [V1, V2] {
        let r = ok(
            r#"{"statusCode": 200, "body": "AAEC/w==", "isBase64Encoded": true}"#,
            v,
        );
        assert_eq!(&r.body[..], &[0, 1, 2, 255]);
        let r = ok(
            r#"{"statusCode": 200, "body": "AAEC/w", "isBase64Encoded": true}"#,
            v,
        );
        assert_eq!(&r.body[..], &[0, 1, 2, 255], "padding optional");
        let r = ok(
            r#"{"statusCode": 200, "body": "AAEC\r\n/w==", "isBase64Encoded": true}"#,
            v,
        );
        assert_eq!(&r.body[..], &[0, 1, 2, 255], "MIME line breaks");
        let r = ok(
            r#"{"statusCode": 200, "body": "", "isBase64Encoded": true}"#,
            v,
        );
        assert!(r.body.is_empty());
        let e = err(
            br#"{"statusCode": 200, "body": "not base64!", "isBase64Encoded": true}"#,
            v,
        );
        assert!(e.contains("base64"), "{e}");
        for flag in [r#""true""#, "1", r#""false""#, "{}"] {
            let p = format!(r#"{{"statusCode": 200, "body": "aGk=", "isBase64Encoded": {flag}}}"#);
            assert!(err(p.as_bytes(), v).contains("isBase64Encoded"), "{flag}");
        }
    }
}

#[test]
fn escaped_and_unicode_bodies() {
    let r = ok(r#"{"statusCode": 200, "body": "line\n\"q\" \u00e9 ✓"}"#, V1);
    assert_eq!(std::str::from_utf8(&r.body).unwrap(), "line\n\"q\" é ✓");
}

#[test]
fn invalid_results() {
    for v in [V1, V2] {
        for (payload, needle) in [
            (&b""[..], "not valid JSON"),
            (b"   ", "not valid JSON"),
            (b"{", "not valid JSON"),
            (b"{\"statusCode\": 200} trailing", "not valid JSON"),
            (b"\xff\xfe", "not valid JSON"),
            (br#"{"statusCode": 200, "body": {"a": 1}}"#, "body"),
            (br#"{"statusCode": 200, "body": 5}"#, "body"),
            (br#"{"statusCode": 200, "headers": "x"}"#, "headers"),
            (br#"{"statusCode": 200, "headers": ["x"]}"#, "headers"),
            (
                br#"{"statusCode": 200, "headers": {"bad name": "x"}}"#,
                "\"bad name\"",
            ),
            (
                br#"{"statusCode": 200, "headers": {"": "x"}}"#,
                "header name",
            ),
            (
                br#"{"statusCode": 200, "headers": {"x-nl": "a\r\nb: c"}}"#,
                "\"x-nl\"",
            ),
            (
                br#"{"statusCode": 200, "headers": {"x-obj": {"a": 1}}}"#,
                "\"x-obj\"",
            ),
            (
                br#"{"statusCode": 200, "headers": {"x-arr": ["a"]}}"#,
                "\"x-arr\"",
            ),
        ] {
            let e = err(payload, v);
            assert!(
                e.contains(needle),
                "{:?}: {e}",
                String::from_utf8_lossy(payload)
            );
        }
    }
    let e = err(
        br#"{"statusCode": 200, "multiValueHeaders": {"x": "a"}}"#,
        V1,
    );
    assert!(e.contains("\"x\"") && e.contains("array"), "{e}");
    let e = err(br#"{"statusCode": 200, "multiValueHeaders": ["x"]}"#, V1);
    assert!(e.contains("multiValueHeaders"), "{e}");
    let e = err(
        br#"{"statusCode": 200, "multiValueHeaders": {"x": [[1]]}}"#,
        V1,
    );
    assert!(e.contains("\"x\""), "{e}");
}

#[test]
fn v1_requires_a_status_code() {
    for p in [
        &br#"{"body": "x"}"#[..],
        br#"{"statusCode": null}"#,
        br#""Hello""#,
        b"[]",
        b"null",
        b"42",
        br#"{"errorMessage": "boom", "errorType": "Error"}"#,
    ] {
        let e = err(p, V1);
        assert!(e.contains("statusCode") || e.contains("object"), "{e}");
    }
}

#[test]
fn v2_inference() {
    for p in [
        r#""Hello""#,
        "[]",
        "[200]",
        "null",
        "42",
        "true",
        r#"{"message": "hi", "list": []}"#,
        r#"{"statusCode": null, "x": 1}"#,
        r#"  {"headers": "not an object", "body": 5}  "#,
    ] {
        let r = ok(p, V2);
        assert_eq!(r.status, 200, "{p}");
        assert_eq!(all(&r.headers, "content-type"), ["application/json"]);
        assert_eq!(&r.body[..], p.as_bytes(), "the payload exactly as returned");
    }
    // Invalid JSON is not inferred.
    assert!(err(b"Hello", V2).contains("not valid JSON"));
    assert!(err(b"[1,", V2).contains("not valid JSON"));
}

/// Found by fuzz/proxy_result: a JSON string holding invalid UTF-8 (`"Hello f\x8e\x81m
/// Lambda"`) passed serde_json's `IgnoredAny` check and went to the client as a 200.
#[test]
fn v2_inference_refuses_invalid_utf8() {
    for p in [
        &b"\"Hello f\x8e\x81m Lambda\""[..],
        b"[\"\xff\"]",
        b"{\"message\": \"caf\xe9\"}",
        b"{\"statusCode\": null, \"x\": \"\xc3\"}",
    ] {
        let e = err(p, V2);
        assert!(e.contains("not valid JSON"), "{e}");
    }
}

#[test]
fn framing_headers_dropped() {
    let r = ok(
        r#"{"statusCode": 200, "body": "abc",
            "headers": {"Content-Length": "999", "Transfer-Encoding": "chunked", "Connection": "close",
                        "Keep-Alive": "timeout=5", "Upgrade": "h2c", "Proxy-Connection": "x", "x-ok": "1"},
            "multiValueHeaders": {"content-length": ["1"], "connection": ["close"]}}"#,
        V1,
    );
    assert_eq!(r.headers.len(), 1, "{:?}", r.headers);
    assert_eq!(all(&r.headers, "x-ok"), ["1"]);
}

#[test]
fn duplicate_keys_last_wins_and_unknown_fields_skipped() {
    let r = ok(
        r#"{"statusCode": 500, "statusCode": 201, "extra": {"deep": [1, {"x": null}]}, "body": "b"}"#,
        V2,
    );
    assert_eq!((r.status, &r.body[..]), (201, &b"b"[..]));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let p = format!(r#"{{"statusCode": 200, "headers": {{"x": {deep}}}}}"#);
    assert!(
        parse_proxy_result(p.as_bytes(), V1).is_err(),
        "built values are depth-limited"
    );
    // Skipped values are not built: whatever serde_json says, no stack overflow.
    let _ = parse_proxy_result(deep.as_bytes(), V2);
    let p = format!(r#"{{"ignored": {deep}, "statusCode": 200}}"#);
    let _ = parse_proxy_result(p.as_bytes(), V1);
}

#[test]
fn borrowed_body_is_copied_once_owned_body_moved() {
    let r = ok(r#"{"statusCode": 200, "body": "plain"}"#, V1);
    assert_eq!(&r.body[..], b"plain");
    let r = ok(r#"{"statusCode": 200, "body": "esc\taped"}"#, V1);
    assert_eq!(&r.body[..], b"esc\taped");
}
