//! `function_name::result::parse_proxy_result` (payload formats 1.0 and 2.0) and
//! `split_stream_prelude` on arbitrary bytes.
//!
//! Checks (the module's documented rules, `src/function_name/result/`):
//! * never panics;
//! * an accepted result: status 100-599, no hop-by-hop or `content-length` header, the payload
//!   is valid JSON (grammar; the v2 inferred body, which the client gets, also UTF-8); a text body is the `body` string byte for byte, an absent/`null` body is
//!   empty, a base64 body re-encodes to the `body` string (whitespace and padding aside);
//! * v1 accepts only an object with a `statusCode`; v2 answers anything else that is valid JSON
//!   as the inferred 200 `application/json` response with the payload as its body;
//! * prelude: `Ok(None)` only without 8 NUL bytes (and within `MAX_PRELUDE_LEN`); `Ok(Some)`
//!   puts the body right after the first run of 8 NULs, with a status of 100-599; feeding a
//!   prefix that ends before the delimiter gives `Ok(None)`, and a longer one the same answer.
#![no_main]

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use http::HeaderName;
use lambda_proxy::function_name::result::{
    parse_proxy_result, split_stream_prelude, PayloadVersion, MAX_PRELUDE_LEN,
};
use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

fn json(payload: &[u8]) -> Option<Value> {
    let mut de = serde_json::Deserializer::from_slice(payload);
    de.disable_recursion_limit();
    Value::deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .ok()
}

/// JSON grammar only: serde_json skips the values of fields a result does not use without
/// checking their strings (UTF-8, lone `\ud800` escapes); those bytes never reach the client.
fn grammar_ok(payload: &[u8]) -> bool {
    let mut de = serde_json::Deserializer::from_slice(payload);
    de.disable_recursion_limit();
    IgnoredAny::deserialize(&mut de)
        .and_then(|_| de.end())
        .is_ok()
}

/// The payload as a `Value` for field checks: exact, else with skipped bytes made lossy.
fn fields_view(payload: &[u8]) -> Option<Value> {
    json(payload).or_else(|| json(String::from_utf8_lossy(payload).as_bytes()))
}

fn check_headers(headers: &[(HeaderName, http::HeaderValue)]) {
    for (name, _) in headers {
        assert!(
            ![
                "connection",
                "keep-alive",
                "proxy-connection",
                "transfer-encoding",
                "upgrade",
                "content-length"
            ]
            .contains(&name.as_str()),
            "framing header {name} kept"
        );
    }
}

fn first_delimiter(buf: &[u8]) -> Option<usize> {
    buf.windows(8).position(|w| w == [0u8; 8])
}

fuzz_target!(|data: &[u8]| {
    let view = fields_view(data);
    for version in [PayloadVersion::V1, PayloadVersion::V2] {
        let Ok(r) = parse_proxy_result(data, version) else {
            continue;
        };
        assert!(grammar_ok(data), "{version:?}: accepted invalid JSON");
        assert!((100..=599).contains(&r.status), "status {}", r.status);
        check_headers(&r.headers);
        let Some(v) = view.as_ref() else {
            // A lone surrogate escape in a skipped field: nothing more to compare against.
            continue;
        };
        let status = v
            .as_object()
            .and_then(|o| o.get("statusCode"))
            .filter(|s| !s.is_null());
        let Some(status) = status else {
            assert_eq!(
                version,
                PayloadVersion::V2,
                "v1 accepted a result without statusCode"
            );
            assert_eq!((r.status, &r.body[..]), (200, data), "v2 inferred response");
            assert_eq!(r.headers.len(), 1);
            assert_eq!(r.headers[0].1, "application/json");
            assert!(
                std::str::from_utf8(data).is_ok(),
                "inferred body is not UTF-8"
            );
            continue;
        };
        match status {
            Value::Number(n) => assert_eq!(n.as_f64(), Some(f64::from(r.status)), "statusCode {n}"),
            Value::String(s) => {
                assert_eq!(s.parse::<u16>().ok(), Some(r.status), "statusCode {s:?}")
            }
            other => panic!("statusCode {other} accepted"),
        }
        let o = v.as_object().unwrap();
        let b64 = o.get("isBase64Encoded") == Some(&Value::Bool(true));
        match o.get("body") {
            None | Some(Value::Null) => assert!(r.body.is_empty(), "absent body not empty"),
            Some(Value::String(s)) if !b64 => assert_eq!(&r.body[..], s.as_bytes(), "text body"),
            Some(Value::String(s)) => {
                let given: String = s
                    .chars()
                    .filter(|c| !c.is_ascii_whitespace())
                    .collect::<String>()
                    .trim_end_matches('=')
                    .to_string();
                let canon = STANDARD_NO_PAD.encode(&r.body);
                // Trailing bits are allowed, so only the last character may differ.
                assert_eq!(
                    given.len(),
                    canon.len(),
                    "base64 {s:?} -> {} bytes",
                    r.body.len()
                );
                let n = given.len().saturating_sub(1);
                assert_eq!(given[..n], canon[..n], "base64 body {s:?}");
            }
            Some(other) => panic!("non-string body accepted: {other}"),
        }
    }

    // Streamed HTTP-integration prelude.
    let result = split_stream_prelude(data);
    let delimiter = first_delimiter(data);
    match &result {
        Ok(None) => assert!(delimiter.is_none() && data.len() <= MAX_PRELUDE_LEN),
        Ok(Some((prelude, offset))) => {
            assert_eq!(Some(offset - 8), delimiter, "body offset");
            assert!((100..=599).contains(&prelude.status));
            check_headers(&prelude.headers);
            let json_part = &data[..offset - 8];
            assert!(
                json_part.trim_ascii().is_empty()
                    || (grammar_ok(json_part) && json_part.trim_ascii_start().starts_with(b"{")),
                "accepted prelude that is not a JSON object"
            );
        }
        Err(_) => assert!(delimiter.is_some() || data.len() > MAX_PRELUDE_LEN),
    }
    if let Some(at) = delimiter {
        // Bytes arriving in two reads: before the delimiter is complete, then all of it.
        let short = at + 7;
        if short <= MAX_PRELUDE_LEN {
            assert_eq!(
                split_stream_prelude(&data[..short]),
                Ok(None),
                "prefix {short}"
            );
        }
        let longer = (at + 8 + (data.len() - at - 8) / 2).min(data.len());
        assert_eq!(
            split_stream_prelude(&data[..longer]),
            result,
            "prefix {longer}"
        );
    }
});
