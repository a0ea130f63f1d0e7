//! The rules for each field of a result: `statusCode`, `headers` / `multiValueHeaders`,
//! `cookies` (as `set-cookie`) and a base64 `body`, with hop-by-hop and framing headers dropped.

use std::collections::HashSet;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, SET_COOKIE, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderName, HeaderValue};

use super::parse::{Fields, Loose};
use super::{invalid, InvalidResult};

/// `Ok(None)`: absent or `null`.
pub(super) fn status_code(v: Option<&Loose>) -> Result<Option<u16>, InvalidResult> {
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
pub(super) fn single_headers(
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
pub(super) fn v1_headers(
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
pub(super) fn cookies(
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
pub(super) fn decode_base64(text: &str) -> Result<Bytes, InvalidResult> {
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
