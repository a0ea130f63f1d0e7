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
//!
//! Where each piece lives: `parse` reads the payload in one pass into the few fields a result
//! uses, `fields` applies the rules above to them, `prelude` splits a streamed response.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderName, HeaderValue};

mod fields;
mod parse;
mod prelude;

#[cfg(test)]
mod tests;

use fields::{cookies, decode_base64, single_headers, status_code, v1_headers};
use parse::{parse_object, Loose, Shape};
pub use prelude::{split_stream_prelude, Prelude, MAX_PRELUDE_LEN, PRELUDE_DELIMITER};

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

pub(super) fn invalid(msg: impl Into<String>) -> InvalidResult {
    InvalidResult(msg.into())
}

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
