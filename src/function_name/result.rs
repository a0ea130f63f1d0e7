//! A function's API Gateway proxy-integration result turned into the HTTP response the gateway
//! sends: [`parse_proxy_result`] for buffered results (payload format 1.0 and 2.0), and
//! [`split_stream_prelude`] for the HTTP-integration prelude of a streamed response.
//!
//! The payload is parsed once, borrowing its strings (a body without JSON escapes is copied
//! exactly once, into the response `Bytes`); unknown fields are skipped without being built.
//! Nothing here panics on any input: every way a result can be malformed is an
//! [`InvalidResult`] with a message fit for a 502 body and the log.
//!
//! Rules (API Gateway's, unless noted):
//!
//! * `statusCode`: a number or a numeric string (`"404"`, digits only), 100-599. A float with no
//!   fraction (`200.0`) is accepted. `null` counts as absent.
//! * `headers`: an object; values may be strings, numbers or booleans (stringified as JSON
//!   writes them). A `null` value skips the header (it is not sent as an empty value).
//! * v1 `multiValueHeaders`: an object of arrays (elements as above, `null` elements skipped);
//!   `null` for the whole object or for one name is tolerated. For a name present in both,
//!   the `multiValueHeaders` values replace the `headers` value.
//! * v2 `cookies`: an array; each element becomes one `set-cookie` header. v2 ignores
//!   `multiValueHeaders` and v1 ignores `cookies` (neither format has them).
//! * `body`: a string; `null` or absent is an empty body.
//! * `isBase64Encoded`: `true`, `false`, `null` or absent (= false). Strings such as `"true"`
//!   are rejected, as Kong does since Kong/kong#9598 (AWS documents a boolean). When true the
//!   body must be standard base64 (padding optional, whitespace ignored).
//! * v2 inference (HTTP API / Function URL): a valid JSON payload that is not an object with a
//!   `statusCode` is the body of a 200 `application/json` response, byte for byte (`"Hello"`
//!   keeps its quotes). v1 answers 502 for such a payload, as API Gateway REST does.
//! * Hop-by-hop headers (`connection`, `keep-alive`, `proxy-connection`, `transfer-encoding`,
//!   `upgrade`) and `content-length` are dropped: the gateway frames the body itself.
//! * Invalid header names or values are an [`InvalidResult`] naming the header.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use bytes::Bytes;
use http::header::{
    CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, SET_COOKIE, TRANSFER_ENCODING, UPGRADE,
};
use http::{HeaderName, HeaderValue};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// Which proxy-integration response format the function answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadVersion {
    /// REST API / payload format 1.0: `statusCode`, `headers`, `multiValueHeaders`, `body`,
    /// `isBase64Encoded`.
    V1,
    /// HTTP API payload format 2.0 / Function URL: `cookies` instead of `multiValueHeaders`, and
    /// inference of a 200 for results without `statusCode`.
    V2,
}

/// The HTTP response a proxy-integration result describes.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResult {
    pub status: u16,
    /// In the result's order; may repeat a name (`multiValueHeaders`, `set-cookie`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

/// Why a function's result is not a valid proxy-integration result (API Gateway answers 502).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidResult(pub String);

impl fmt::Display for InvalidResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidResult {}

fn invalid(msg: impl Into<String>) -> InvalidResult {
    InvalidResult(msg.into())
}

/// Status and headers from the prelude of a streamed HTTP-integration response.
#[derive(Debug, Clone, PartialEq)]
pub struct Prelude {
    pub status: u16,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// What separates the prelude from the body in a streamed HTTP-integration response.
pub const PRELUDE_DELIMITER: [u8; 8] = [0; 8];
/// The most bytes [`split_stream_prelude`] waits for before giving up on finding the delimiter.
pub const MAX_PRELUDE_LEN: usize = 64 * 1024;

/// Parse a buffered proxy-integration result (see the module docs for the rules).
pub fn parse_proxy_result(
    payload: &[u8],
    version: PayloadVersion,
) -> Result<HttpResult, InvalidResult> {
    let shape = match version {
        PayloadVersion::V1 => Shape::V1,
        PayloadVersion::V2 => Shape::V2,
    };
    let Some(fields) = parse_object(payload, shape)? else {
        // Valid JSON, but not an object.
        return match version {
            PayloadVersion::V2 => inferred(payload),
            PayloadVersion::V1 => Err(invalid(
                "the result is not a JSON object with a statusCode (payload format 1.0)",
            )),
        };
    };
    let Some(status) = status_code(fields.status.as_ref())? else {
        return match version {
            PayloadVersion::V2 => inferred(payload),
            PayloadVersion::V1 => Err(invalid("the result has no statusCode (payload format 1.0)")),
        };
    };
    let mut headers = Vec::new();
    match version {
        PayloadVersion::V1 => v1_headers(&fields, &mut headers)?,
        PayloadVersion::V2 => {
            single_headers(fields.headers.as_ref(), None, &mut headers)?;
            cookies(fields.cookies.as_ref(), &mut headers)?;
        }
    }
    let base64 = match &fields.is_base64_encoded {
        None | Some(Loose::Null) => false,
        Some(Loose::Bool(b)) => *b,
        Some(other) => {
            return Err(invalid(format!(
                "isBase64Encoded must be true or false, not {}",
                other.kind()
            )))
        }
    };
    let body = match fields.body {
        None | Some(Loose::Null) => Bytes::new(),
        Some(Loose::Str(text)) if base64 => decode_base64(&text)?,
        Some(Loose::Str(Cow::Borrowed(text))) => Bytes::copy_from_slice(text.as_bytes()),
        Some(Loose::Str(Cow::Owned(text))) => Bytes::from(text),
        Some(other) => {
            return Err(invalid(format!(
                "body must be a string, not {}",
                other.kind()
            )))
        }
    };
    Ok(HttpResult {
        status,
        headers,
        body,
    })
}

/// The v2 inferred response: 200, `application/json`, the payload as returned. The payload goes
/// to the client as it is, so it must be UTF-8 (serde_json skips strings it ignores unchecked).
fn inferred(payload: &[u8]) -> Result<HttpResult, InvalidResult> {
    if let Err(e) = std::str::from_utf8(payload) {
        return Err(invalid(format!(
            "the result is not valid JSON: invalid UTF-8 at byte {}",
            e.valid_up_to()
        )));
    }
    Ok(HttpResult {
        status: 200,
        headers: vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body: Bytes::copy_from_slice(payload),
    })
}

/// Split a streamed HTTP-integration response (Function URL `RESPONSE_STREAM`, or
/// `awslambda.HttpResponseStream.from` over InvokeWithResponseStream): a JSON prelude
/// `{"statusCode":..,"headers":{..},"cookies":[..]}`, 8 NUL bytes, then the body.
///
/// `buf` is everything received so far. `Ok(None)`: the delimiter has not arrived yet, call again
/// with more bytes. `Ok(Some((prelude, offset)))`: the body starts at `buf[offset..]`.
/// Errors: no delimiter within [`MAX_PRELUDE_LEN`] bytes, or an invalid prelude. A prelude without
/// `statusCode` means 200 (as Function URLs do); an empty prelude is `{}`. Header and cookie
/// rules are those of v2 results.
pub fn split_stream_prelude(buf: &[u8]) -> Result<Option<(Prelude, usize)>, InvalidResult> {
    let Some(at) = find_delimiter(buf) else {
        if buf.len() > MAX_PRELUDE_LEN {
            return Err(invalid(format!(
                "no prelude delimiter (8 NUL bytes) within the first {MAX_PRELUDE_LEN} bytes of the stream"
            )));
        }
        return Ok(None);
    };
    let json = &buf[..at];
    let offset = at + PRELUDE_DELIMITER.len();
    if json.trim_ascii().is_empty() {
        return Ok(Some((
            Prelude {
                status: 200,
                headers: Vec::new(),
            },
            offset,
        )));
    }
    let fields = parse_object(json, Shape::Prelude)
        .map_err(|e| invalid(format!("invalid stream prelude: {e}")))?
        .ok_or_else(|| invalid("invalid stream prelude: not a JSON object"))?;
    let status = status_code(fields.status.as_ref())?.unwrap_or(200);
    let mut headers = Vec::new();
    single_headers(fields.headers.as_ref(), None, &mut headers)?;
    cookies(fields.cookies.as_ref(), &mut headers)?;
    Ok(Some((Prelude { status, headers }, offset)))
}

/// Start of the first run of 8 NUL bytes. The prelude is JSON, which cannot contain a raw NUL,
/// so the first run is the delimiter even when the body itself starts with NULs.
fn find_delimiter(buf: &[u8]) -> Option<usize> {
    let mut run = 0;
    for (i, &b) in buf.iter().enumerate() {
        if b == 0 {
            run += 1;
            if run == PRELUDE_DELIMITER.len() {
                return Some(i + 1 - run);
            }
        } else {
            run = 0;
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Parsing: one pass, borrowed strings, lenient types checked afterwards
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    V1,
    V2,
    Prelude,
}

/// The fields of a result object that the shape uses, each as whatever JSON it was.
#[derive(Default)]
struct Fields<'a> {
    status: Option<Loose<'a>>,
    headers: Option<Loose<'a>>,
    multi_value_headers: Option<Loose<'a>>,
    cookies: Option<Loose<'a>>,
    body: Option<Loose<'a>>,
    is_base64_encoded: Option<Loose<'a>>,
}

/// `Ok(None)`: valid JSON that is not an object. Duplicate keys: the last one wins (as
/// `JSON.parse` and Jackson do).
fn parse_object(json: &[u8], shape: Shape) -> Result<Option<Fields<'_>>, InvalidResult> {
    if json.trim_ascii_start().first() != Some(&b'{') {
        return match serde_json::from_slice::<IgnoredAny>(json) {
            Ok(_) => Ok(None),
            Err(e) => Err(invalid(format!("the result is not valid JSON: {e}"))),
        };
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let fields = FieldsSeed(shape)
        .deserialize(&mut de)
        .and_then(|f| de.end().map(|()| f))
        .map_err(|e| invalid(format!("the result is not valid JSON: {e}")))?;
    Ok(Some(fields))
}

struct FieldsSeed(Shape);

impl<'de> DeserializeSeed<'de> for FieldsSeed {
    type Value = Fields<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldsSeed {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a proxy-integration result object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let shape = self.0;
        let mut fields = Fields::default();
        while let Some(key) = map.next_key::<CowStr<'de>>()? {
            let slot = match (key.0.as_ref(), shape) {
                ("statusCode", _) => &mut fields.status,
                ("headers", _) => &mut fields.headers,
                ("multiValueHeaders", Shape::V1) => &mut fields.multi_value_headers,
                ("cookies", Shape::V2 | Shape::Prelude) => &mut fields.cookies,
                ("body", Shape::V1 | Shape::V2) => &mut fields.body,
                ("isBase64Encoded", Shape::V1 | Shape::V2) => &mut fields.is_base64_encoded,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(map.next_value::<Loose<'de>>()?);
        }
        Ok(fields)
    }
}

/// A string that borrows from the payload when it has no escapes.
struct CowStr<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Any JSON value, strings borrowed; only the (few) fields a result uses are built as this.
/// serde_json's recursion limit bounds the nesting.
#[derive(Debug)]
enum Loose<'a> {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Cow<'a, str>),
    Seq(Vec<Loose<'a>>),
    Map(Vec<(Cow<'a, str>, Loose<'a>)>),
}

impl Loose<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Loose::Null => "null",
            Loose::Bool(_) => "a boolean",
            Loose::U64(_) | Loose::I64(_) | Loose::F64(_) => "a number",
            Loose::Str(_) => "a string",
            Loose::Seq(_) => "an array",
            Loose::Map(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Loose<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Loose::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Loose::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Loose::U64(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Loose::I64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Loose::F64(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<Loose<'de>>()? {
            items.push(item);
        }
        Ok(Loose::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some((k, v)) = map.next_entry::<CowStr<'de>, Loose<'de>>()? {
            entries.push((k.0, v));
        }
        Ok(Loose::Map(entries))
    }
}

// ---------------------------------------------------------------------------------------------
// Interpretation
// ---------------------------------------------------------------------------------------------

/// `Ok(None)`: absent or `null`.
fn status_code(v: Option<&Loose>) -> Result<Option<u16>, InvalidResult> {
    let n: u64 = match v {
        None | Some(Loose::Null) => return Ok(None),
        Some(Loose::U64(n)) => *n,
        Some(Loose::I64(n)) => {
            return Err(invalid(format!(
                "statusCode {n} is not between 100 and 599"
            )))
        }
        Some(Loose::F64(f)) if f.fract() == 0.0 && (0.0..=65535.0).contains(f) => *f as u64,
        Some(Loose::F64(f)) => {
            return Err(invalid(format!("statusCode {f} is not an integer status")))
        }
        Some(Loose::Str(s))
            if !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.parse()
                .map_err(|_| invalid(format!("statusCode {s:?} is not a number")))?
        }
        Some(Loose::Str(s)) => return Err(invalid(format!("statusCode {s:?} is not a number"))),
        Some(other) => {
            return Err(invalid(format!(
                "statusCode must be a number or a numeric string, not {}",
                other.kind()
            )))
        }
    };
    match u16::try_from(n) {
        Ok(code) if (100..=599).contains(&code) => Ok(Some(code)),
        _ => Err(invalid(format!(
            "statusCode {n} is not between 100 and 599"
        ))),
    }
}

/// Headers the gateway never copies from a result: hop-by-hop, and framing it does itself.
fn dropped(name: &HeaderName) -> bool {
    name == CONNECTION
        || name == TRANSFER_ENCODING
        || name == UPGRADE
        || name == CONTENT_LENGTH
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
}

fn header_name(name: &str) -> Result<HeaderName, InvalidResult> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| invalid(format!("invalid header name {name:?}")))
}

/// A header value from a JSON scalar; `Ok(None)` for `null`.
fn header_value(name: &str, v: &Loose) -> Result<Option<HeaderValue>, InvalidResult> {
    let bad = || invalid(format!("invalid value for header {name:?}"));
    let value = match v {
        Loose::Null => return Ok(None),
        Loose::Str(s) => HeaderValue::from_str(s).map_err(|_| bad())?,
        Loose::Bool(true) => HeaderValue::from_static("true"),
        Loose::Bool(false) => HeaderValue::from_static("false"),
        Loose::U64(n) => HeaderValue::from(*n),
        Loose::I64(n) => HeaderValue::from(*n),
        Loose::F64(f) => HeaderValue::from_str(&f.to_string()).map_err(|_| bad())?,
        Loose::Seq(_) | Loose::Map(_) => {
            return Err(invalid(format!(
                "header {name:?}: the value must be a string, number or boolean, not {}",
                v.kind()
            )))
        }
    };
    Ok(Some(value))
}

/// `headers` (an object of scalars) appended to `out`, skipping names in `skip`.
fn single_headers(
    headers: Option<&Loose>,
    skip: Option<&HashSet<HeaderName>>,
    out: &mut Vec<(HeaderName, HeaderValue)>,
) -> Result<(), InvalidResult> {
    let entries = match headers {
        None | Some(Loose::Null) => return Ok(()),
        Some(Loose::Map(entries)) => entries,
        Some(other) => {
            return Err(invalid(format!(
                "headers must be an object, not {}",
                other.kind()
            )))
        }
    };
    out.reserve(entries.len());
    for (name, value) in entries {
        let hname = header_name(name)?;
        let Some(hvalue) = header_value(name, value)? else {
            continue;
        };
        if dropped(&hname) || skip.is_some_and(|s| s.contains(&hname)) {
            continue;
        }
        out.push((hname, hvalue));
    }
    Ok(())
}

/// v1: `multiValueHeaders`, then the `headers` whose names they do not have.
fn v1_headers(
    fields: &Fields,
    out: &mut Vec<(HeaderName, HeaderValue)>,
) -> Result<(), InvalidResult> {
    let entries = match &fields.multi_value_headers {
        None | Some(Loose::Null) => return single_headers(fields.headers.as_ref(), None, out),
        Some(Loose::Map(entries)) => entries,
        Some(other) => {
            return Err(invalid(format!(
                "multiValueHeaders must be an object, not {}",
                other.kind()
            )))
        }
    };
    let mut seen = HashSet::with_capacity(entries.len());
    for (name, values) in entries {
        let hname = header_name(name)?;
        let values = match values {
            Loose::Null => continue,
            Loose::Seq(values) => values,
            other => {
                return Err(invalid(format!(
                    "multiValueHeaders {name:?} must be an array, not {}",
                    other.kind()
                )))
            }
        };
        for value in values {
            let Some(hvalue) = header_value(name, value)? else {
                continue;
            };
            seen.insert(hname.clone());
            if !dropped(&hname) {
                out.push((hname.clone(), hvalue));
            }
        }
    }
    single_headers(fields.headers.as_ref(), Some(&seen), out)
}

/// v2 / prelude `cookies`: one `set-cookie` each.
fn cookies(
    cookies: Option<&Loose>,
    out: &mut Vec<(HeaderName, HeaderValue)>,
) -> Result<(), InvalidResult> {
    let items = match cookies {
        None | Some(Loose::Null) => return Ok(()),
        Some(Loose::Seq(items)) => items,
        Some(other) => {
            return Err(invalid(format!(
                "cookies must be an array, not {}",
                other.kind()
            )))
        }
    };
    for item in items {
        if let Some(v) = header_value("set-cookie", item)? {
            out.push((SET_COOKIE, v));
        }
    }
    Ok(())
}

/// Standard alphabet; padding optional.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The body of an `isBase64Encoded` result; line breaks and spaces (MIME-style encoders) are
/// ignored.
fn decode_base64(text: &str) -> Result<Bytes, InvalidResult> {
    let bad = |e: base64::DecodeError| {
        invalid(format!(
            "isBase64Encoded is true but the body is not base64: {e}"
        ))
    };
    match BASE64.decode(text) {
        Ok(v) => Ok(Bytes::from(v)),
        Err(e) if text.bytes().any(|b| b.is_ascii_whitespace()) => {
            let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            BASE64.decode(compact).map(Bytes::from).map_err(|_| bad(e))
        }
        Err(e) => Err(bad(e)),
    }
}

#[cfg(test)]
mod tests {
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

    fn all<'a>(r: &'a [(HeaderName, HeaderValue)], name: &str) -> Vec<&'a str> {
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
                let p =
                    format!(r#"{{"statusCode": 200, "body": "aGk=", "isBase64Encoded": {flag}}}"#);
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

    fn stream(prelude: &str, body: &[u8]) -> Vec<u8> {
        let mut v = prelude.as_bytes().to_vec();
        v.extend_from_slice(&PRELUDE_DELIMITER);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn prelude_split() {
        let buf = stream(
            r#"{"statusCode": 201, "headers": {"content-type": "text/plain", "x-n": 1}, "cookies": ["a=1", "b=2"]}"#,
            b"\0\0body",
        );
        let (p, off) = split_stream_prelude(&buf).unwrap().unwrap();
        assert_eq!(p.status, 201);
        assert_eq!(all(&p.headers, "content-type"), ["text/plain"]);
        assert_eq!(all(&p.headers, "x-n"), ["1"]);
        assert_eq!(all(&p.headers, "set-cookie"), ["a=1", "b=2"]);
        assert_eq!(
            &buf[off..],
            b"\0\0body",
            "NULs at the start of the body stay in the body"
        );
    }

    #[test]
    fn prelude_split_across_calls() {
        let full = stream(r#"{"statusCode":200,"headers":{"x":"y"}}"#, b"hello");
        // Feed byte by byte: None until the 8th NUL, then the same answer for every longer prefix.
        let delim_end = full.len() - 5;
        for n in 0..=full.len() {
            let got = split_stream_prelude(&full[..n]).unwrap();
            if n < delim_end {
                assert!(got.is_none(), "{n}");
            } else {
                let (p, off) = got.unwrap();
                assert_eq!((p.status, off), (200, delim_end));
                assert_eq!(&full[off..n], &b"hello"[..n - delim_end]);
            }
        }
    }

    #[test]
    fn prelude_defaults_and_errors() {
        let (p, off) = split_stream_prelude(&stream("{}", b"x")).unwrap().unwrap();
        assert_eq!((p.status, p.headers.len(), off), (200, 0, 10));
        let (p, off) = split_stream_prelude(&stream("", b"x")).unwrap().unwrap();
        assert_eq!((p.status, off), (200, 8));
        // body / isBase64Encoded mean nothing in a prelude.
        let (p, _) = split_stream_prelude(&stream(
            r#"{"statusCode":"404","body":{},"isBase64Encoded":"x"}"#,
            b"",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(p.status, 404);
        for bad in [
            r#"{"statusCode": 700}"#,
            "[1]",
            "{",
            r#"{"headers": {"a b": "c"}}"#,
            r#""str""#,
        ] {
            assert!(split_stream_prelude(&stream(bad, b"")).is_err(), "{bad}");
        }
        // No delimiter: wait up to the cap, then give up.
        let mut long = vec![b' '; MAX_PRELUDE_LEN];
        long.extend_from_slice(&[0; 7]);
        assert!(split_stream_prelude(&long[..MAX_PRELUDE_LEN])
            .unwrap()
            .is_none());
        assert!(split_stream_prelude(&long).is_err());
    }
}
