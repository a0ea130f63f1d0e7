//! Kong's two payloads: [`kong_args_event`] (the default, query and body arguments merged into
//! one object) and [`forward_event`] (the `forward_request_*` object), kept as Kong shapes them
//! for migrations from Kong.

use std::collections::BTreeMap;

use http::header::CONTENT_TYPE;

use super::body::{base64_len, mime_essence, mime_matches, BodyEncoding, BodyRepr};
use super::headers::{headers_size, HeaderObject, HeaderShape, HeaderView};
use super::json::{is_json_object, AsJsonStr, ObjectWriter};
use super::multipart::multipart_fields;
use super::query::{KongValue, Query, QueryMap, QueryShape, ValueSeq};
use super::RequestView;

/// Kong's `forward_request_*` event, with only the enabled keys:
///
/// ```json
/// { "request_method": "POST",
///   "request_uri": "/post?a=1&flag", "request_uri_args": {"a": "1", "flag": true},
///   "request_headers": {"host": "...", "multi": ["a", "b"]},
///   "request_body": "<text or base64>", "request_body_base64": false,
///   "request_body_args": {"k": "v"} }
/// ```
///
/// Kong's shapes are kept for migration: arguments and headers are a string when single and an
/// array when repeated; a valueless query argument (`?flag`) is `true` (`?flag=` is `""`), as
/// nginx's `get_uri_args` does. Argument keys and values are form-decoded (`+` is a space),
/// arguments with an empty key are skipped (as nginx). `request_body` follows `enc`; an empty body
/// is `""`. `request_body_args` is present only for an `application/x-www-form-urlencoded` body
/// (same shape as `request_uri_args`) or a JSON body (`application/json` or `*+json`) whose
/// top level is an object, which is embedded byte for byte (never decoded and re-encoded).
pub fn forward_event(
    req: &RequestView,
    method: bool,
    uri: bool,
    headers: bool,
    body: bool,
    enc: &BodyEncoding,
) -> Vec<u8> {
    let mut cap = 64;
    if uri {
        cap += 2 * (req.raw_path.len() + req.raw_query.map_or(0, str::len)) + 64;
    }
    if headers {
        cap += headers_size(req.headers) + 32;
    }
    if body {
        cap += base64_len(req.body.len()) * 2 + 64;
    }
    let mut w = ObjectWriter::with_capacity(cap);
    if method {
        w.entry("request_method", req.method);
    }
    if uri {
        w.key("request_uri");
        match req.raw_query {
            Some(q) => w.value(&AsJsonStr(format_args!("{}?{}", req.raw_path, q))),
            None => w.value(req.raw_path),
        }
        let query = Query::parse(req.raw_query.unwrap_or(""), true);
        w.entry("request_uri_args", &QueryMap(&query, QueryShape::Kong));
    }
    if headers {
        w.entry(
            "request_headers",
            &HeaderObject {
                view: HeaderView::new(req.headers, req.host, false),
                shape: HeaderShape::Kong,
            },
        );
    }
    if body {
        let repr = enc.encode(req.headers, req.body);
        w.entry("request_body", &repr);
        w.entry("request_body_base64", &matches!(repr, BodyRepr::Base64(_)));
        let essence = req
            .headers
            .get(CONTENT_TYPE)
            .map(|v| mime_essence(v.as_bytes()));
        match essence {
            Some(e) if e.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") => {
                let text = String::from_utf8_lossy(req.body);
                let args = Query::parse(&text, true);
                w.entry("request_body_args", &QueryMap(&args, QueryShape::Kong));
            }
            Some(e)
                if (mime_matches("application/json", e) || mime_matches("*/*+json", e))
                    && is_json_object(req.body) =>
            {
                w.key("request_body_args");
                w.raw(req.body.trim_ascii());
            }
            _ => {}
        }
    }
    w.finish()
}

/// Kong's default payload, sent when a route sets neither `forward_request_*` nor
/// `awsgateway_compatible` (Kong's `kong.table.merge(kong.request.get_query(),
/// kong.request.get_body())`): one JSON object of the query arguments merged with the body's
/// arguments, the body winning on a shared name. Headers, method and path are not sent.
///
/// The body is parsed by its content type, as Kong's `kong.request.get_body()` does (the type's
/// essence, lower-cased, must *start with* one of these):
///
/// * `application/x-www-form-urlencoded`: arguments like the query's;
/// * `application/json`: a JSON object's members; a non-empty JSON array's elements under the
///   keys `"1"`, `"2"`... (a Lua array merged into a table; with no query argument the array
///   is sent as it is, as Kong's encoder does); anything else (a string, a number, `null`,
///   invalid JSON) contributes nothing;
/// * `multipart/form-data`: each named part's content, as text;
/// * any other type, or none: the body contributes nothing (Kong drops it too).
///
/// Arguments are a string when single, an array when repeated, `true` when valueless (`?flag`);
/// keys and values are form-decoded. A JSON body without query arguments is sent byte for byte;
/// otherwise its members are embedded byte for byte (never decoded and re-encoded), except a
/// JSON array's elements. Text that is not UTF-8 (form values, multipart parts) is decoded
/// lossily (U+FFFD): the JSON event cannot carry raw bytes (Kong sends invalid JSON, which the
/// Invoke API refuses).
pub fn kong_args_event(req: &RequestView) -> Vec<u8> {
    let query = Query::parse(req.raw_query.unwrap_or(""), true);
    let ct = req.headers.get(CONTENT_TYPE).map(|v| v.as_bytes());
    let essence = ct.map(mime_essence);
    // Kong lower-cases the essence and matches a prefix: compared case-insensitively here.
    let starts = |prefix: &str| {
        essence.is_some_and(|e| {
            e.len() >= prefix.len() && e[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        })
    };
    let mut w =
        ObjectWriter::with_capacity(64 + 2 * req.raw_query.map_or(0, str::len) + req.body.len());
    let write_query = |w: &mut ObjectWriter, skip: &dyn Fn(&str) -> bool| {
        for group in query.groups() {
            let key: &str = &group[0].0;
            if skip(key) {
                continue;
            }
            if group.len() == 1 {
                w.entry(key, &KongValue(group[0].1.as_deref()));
            } else {
                w.entry(key, &ValueSeq(group, true));
            }
        }
    };
    if starts("application/x-www-form-urlencoded") {
        let text = String::from_utf8_lossy(req.body);
        let form = Query::parse(&text, true);
        let in_form = |k: &str| form.pairs.binary_search_by(|p| (*p.0).cmp(k)).is_ok();
        write_query(&mut w, &in_form);
        for group in form.groups() {
            let key: &str = &group[0].0;
            if group.len() == 1 {
                w.entry(key, &KongValue(group[0].1.as_deref()));
            } else {
                w.entry(key, &ValueSeq(group, true));
            }
        }
    } else if starts("application/json") {
        let trimmed = req.body.trim_ascii();
        match trimmed.first() {
            Some(b'{') if is_json_object(trimmed) => {
                if query.is_empty() {
                    return req.body.to_vec();
                }
                let keys: BTreeMap<String, serde::de::IgnoredAny> =
                    serde_json::from_slice(trimmed).unwrap_or_default();
                write_query(&mut w, &|k| keys.contains_key(k));
                w.members(&trimmed[1..trimmed.len() - 1]);
            }
            Some(b'[') => {
                if let Ok(items) = serde_json::from_slice::<Vec<serde_json::Value>>(trimmed) {
                    if query.is_empty() && !items.is_empty() {
                        return req.body.to_vec();
                    }
                    let index = |k: &str| {
                        k.parse::<usize>()
                            .is_ok_and(|n| n >= 1 && n <= items.len() && k == n.to_string())
                    };
                    write_query(&mut w, &index);
                    for (i, item) in items.iter().enumerate() {
                        w.entry(&(i + 1).to_string(), item);
                    }
                } else {
                    write_query(&mut w, &|_| false);
                }
            }
            _ => write_query(&mut w, &|_| false),
        }
    } else if let Some(parts) = starts("multipart/form-data")
        .then(|| ct.and_then(|c| multipart_fields(c, req.body)))
        .flatten()
    {
        let in_parts = |k: &str| parts.binary_search_by(|p| p.0.as_str().cmp(k)).is_ok();
        write_query(&mut w, &in_parts);
        for group in parts.chunk_by(|a, b| a.0 == b.0) {
            if group.len() == 1 {
                w.entry(&group[0].0, &group[0].1);
            } else {
                let values: Vec<&str> = group.iter().map(|p| p.1.as_str()).collect();
                w.entry(&group[0].0, &values);
            }
        }
    } else {
        write_query(&mut w, &|_| false);
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function_name::event::test_support::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde_json::json;

    #[test]
    fn kong_args_merge_query_and_form() {
        let h = headers(&[(
            "content-type",
            b"Application/X-WWW-Form-Urlencoded; charset=utf-8",
        )]);
        let ev = parse(kong_args_event(&view(
            &h,
            Some("a=1&a=2&flag&shared=q&sp=x+y&=nokey"),
            b"f=1&f=2&g=h+i&solo&shared=body",
        )));
        assert_eq!(
            ev,
            json!({"a": ["1", "2"], "flag": true, "sp": "x y",
                   "f": ["1", "2"], "g": "h i", "solo": true, "shared": "body"})
        );
        // No body, no query: an empty object (never an empty payload).
        let none = headers(&[]);
        assert_eq!(kong_args_event(&view(&none, None, b"")), b"{}");
        // Query only; a body without a content type contributes nothing (as Kong).
        assert_eq!(
            parse(kong_args_event(&view(&none, Some("q=1"), b"{\"x\":1}"))),
            json!({"q": "1"})
        );
        let text = headers(&[("content-type", b"text/plain")]);
        assert_eq!(
            parse(kong_args_event(&view(&text, Some("q=1"), b"x=1"))),
            json!({"q": "1"})
        );
    }

    #[test]
    fn kong_args_json_bodies() {
        let h = headers(&[("content-type", b"application/json; charset=utf-8")]);
        // No query: the body byte for byte (`[]` and `2.50` stay as written).
        let body = b" {\"b\":1, \"n\":{\"x\":[1, 2.50, []]}} ";
        assert_eq!(kong_args_event(&view(&h, None, body)), body.to_vec());
        // With a query: merged, the body's members embedded as written, the body wins.
        let out = kong_args_event(&view(&h, Some("b=q&q=1"), body));
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.contains("\"n\":{\"x\":[1, 2.50, []]}"), "{text}");
        assert_eq!(
            parse(out),
            json!({"q": "1", "b": 1, "n": {"x": [1, 2.5, []]}})
        );
        // `{}` with a query: the query.
        assert_eq!(
            parse(kong_args_event(&view(&h, Some("q=1"), b"{ }"))),
            json!({"q": "1"})
        );
        // Arrays: as they are without a query, under "1", "2"... with one (a Lua array merged
        // into the query's table); `[]` is `{}` (an empty Lua table).
        assert_eq!(kong_args_event(&view(&h, None, b"[1,\"x\"]")), b"[1,\"x\"]");
        assert_eq!(
            parse(kong_args_event(&view(&h, Some("q=1&1=z"), b"[1,\"x\"]"))),
            json!({"q": "1", "1": 1, "2": "x"})
        );
        assert_eq!(kong_args_event(&view(&h, None, b"[]")), b"{}");
        // Scalars and invalid JSON contribute nothing.
        for bad in [&b"\"str\""[..], b"42", b"null", b"{\"a\":", b"not json"] {
            assert_eq!(
                parse(kong_args_event(&view(&h, Some("q=1"), bad))),
                json!({"q": "1"}),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // `application/vnd.api+json` does not start with `application/json`: Kong ignores it.
        let vnd = headers(&[("content-type", b"application/vnd.api+json")]);
        assert_eq!(kong_args_event(&view(&vnd, None, b"{\"a\":1}")), b"{}");
    }

    #[test]
    fn kong_args_multipart() {
        let h = headers(&[("content-type", b"multipart/form-data; boundary=\"XyZ\"")]);
        let body = b"preamble\r\n--XyZ\r\n\
            Content-Disposition: form-data; name=\"title\"\r\n\r\nhello world\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"tag\"\r\n\r\na\r\n\
            --XyZ\r\ncontent-disposition: form-data; name=tag\r\n\r\nb\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\
            Content-Type: application/octet-stream\r\n\r\n\x89PNG\r\nline2\r\n\
            --XyZ\r\nContent-Type: text/plain\r\n\r\nno name, skipped\r\n\
            --XyZ--\r\nepilogue";
        let ev = parse(kong_args_event(&view(&h, Some("q=1&title=q"), body)));
        assert_eq!(
            ev,
            json!({"q": "1", "title": "hello world", "tag": ["a", "b"],
                   "file": "\u{FFFD}PNG\r\nline2"})
        );
        // No boundary, or not multipart at all: the query only.
        let nob = headers(&[("content-type", b"multipart/form-data")]);
        assert_eq!(
            parse(kong_args_event(&view(&nob, Some("q=1"), body))),
            json!({"q": "1"})
        );
        assert_eq!(
            parse(kong_args_event(&view(&h, Some("q=1"), b"just text"))),
            json!({"q": "1"})
        );
    }

    #[test]
    fn forward_event_shapes() {
        let h = headers(&[
            ("content-type", b"application/x-www-form-urlencoded"),
            ("x-multi", b"a"),
            ("x-multi", b"b"),
        ]);
        let q = "a=1&a=2&flag&e=&=nokey&sp=x+y";
        let ev = parse(forward_event(
            &view(&h, Some(q), b"f=1&f=2&g=h+i&solo"),
            true,
            true,
            true,
            true,
            &BodyEncoding::default_auto(),
        ));
        assert_eq!(ev["request_method"], "POST");
        assert_eq!(ev["request_uri"], format!("/aws/caf%C3%A9/x%2Fy?{q}"));
        assert_eq!(
            ev["request_uri_args"],
            json!({"a": ["1", "2"], "flag": true, "e": "", "sp": "x y"})
        );
        assert_eq!(ev["request_headers"]["x-multi"], json!(["a", "b"]));
        assert_eq!(ev["request_headers"]["host"], "api.example.com:8443");
        assert_eq!(ev["request_body"], "f=1&f=2&g=h+i&solo");
        assert_eq!(ev["request_body_base64"], false);
        assert_eq!(
            ev["request_body_args"],
            json!({"f": ["1", "2"], "g": "h i", "solo": true})
        );
    }

    #[test]
    fn forward_event_only_enabled_keys() {
        let h = headers(&[("content-type", b"application/json")]);
        let body = b" {\"nested\": {\"x\": [1, 2.50, []]}} ";
        let v = view(&h, None, body);
        let ev = parse(forward_event(
            &v,
            false,
            false,
            false,
            true,
            &BodyEncoding::Always,
        ));
        let keys: Vec<_> = ev.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert_eq!(ev["request_body_base64"], true);
        assert_eq!(ev["request_body"], STANDARD.encode(body));
        assert_eq!(
            ev["request_body_args"],
            json!({"nested": {"x": [1, 2.50, []]}})
        );
        // The JSON body is embedded byte for byte (no re-encoding of 2.50 or []).
        let raw = forward_event(&v, false, false, false, true, &BodyEncoding::Always);
        assert!(String::from_utf8(raw)
            .unwrap()
            .contains("{\"nested\": {\"x\": [1, 2.50, []]}}"));
        // Not an object / invalid JSON: no request_body_args.
        for b in [&b"[1,2]"[..], b"{\"a\":", b"\xff"] {
            let ev = parse(forward_event(
                &view(&h, None, b),
                false,
                false,
                false,
                true,
                &BodyEncoding::Never,
            ));
            assert!(ev.get("request_body_args").is_none(), "{b:?}");
        }
        let ev = parse(forward_event(
            &v,
            true,
            false,
            false,
            false,
            &BodyEncoding::Never,
        ));
        assert_eq!(ev, json!({"request_method": "POST"}));
        assert_eq!(
            parse(forward_event(
                &v,
                false,
                false,
                false,
                false,
                &BodyEncoding::Never
            )),
            json!({})
        );
        // No query: "request_uri" without "?", empty args object.
        let ev = parse(forward_event(
            &v,
            false,
            true,
            false,
            false,
            &BodyEncoding::Never,
        ));
        assert_eq!(
            ev,
            json!({"request_uri": "/aws/caf%C3%A9/x%2Fy", "request_uri_args": {}})
        );
        // Empty body.
        let ev = parse(forward_event(
            &view(&h, None, b""),
            false,
            false,
            false,
            true,
            &BodyEncoding::Always,
        ));
        assert_eq!(
            (
                ev["request_body"].as_str(),
                ev["request_body_base64"].as_bool()
            ),
            (Some(""), Some(false))
        );
    }
}
