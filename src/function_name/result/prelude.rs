//! The prelude of a streamed HTTP-integration response: status, headers and cookies as JSON,
//! then 8 NUL bytes, then the body ([`split_stream_prelude`]).

use http::{HeaderName, HeaderValue};

use super::fields::{cookies, single_headers, status_code};
use super::parse::{parse_object, Shape};
use super::{invalid, InvalidResult};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function_name::result::tests::all;

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
