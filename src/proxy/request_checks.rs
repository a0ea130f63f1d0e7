//! Requests refused before routing, so they never reach AWS: ambiguous body framing (the
//! request-smuggling shapes Pingora's parser lets through: `Content-Length` together with
//! `Transfer-Encoding`, or a transfer coding other than `chunked`) answer 400; oversized
//! request heads answer 431.

use pingora::http::RequestHeader;

/// Largest request head accepted (names + values), and largest single header value.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
pub const MAX_HEADER_VALUE_BYTES: usize = 16 * 1024;

/// A refusal: status, error code, message.
pub type Refusal = (u16, &'static str, &'static str);

/// `raw_h1` is the request head as received on an HTTP/1.x connection: Pingora's parser drops
/// `Content-Length` when `Transfer-Encoding` is present, so the smuggling shape is only visible
/// there.
pub fn check(req: &RequestHeader, raw_h1: Option<&[u8]>) -> Option<Refusal> {
    if let Some(raw) = raw_h1 {
        let (mut cl, mut te) = (false, false);
        for line in raw.split(|b| *b == b'\n') {
            let name = line.split(|b| *b == b':').next().unwrap_or_default();
            cl |= name.eq_ignore_ascii_case(b"content-length");
            te |= name.eq_ignore_ascii_case(b"transfer-encoding");
        }
        if cl && te {
            return Some((
                400,
                "bad_framing",
                "a request may not carry both Content-Length and Transfer-Encoding",
            ));
        }
    }
    let te = req.headers.get_all(http::header::TRANSFER_ENCODING);
    let mut has_te = false;
    for v in te.iter() {
        has_te = true;
        let ok = v
            .to_str()
            .map(|s| s.trim().eq_ignore_ascii_case("chunked"))
            .unwrap_or(false);
        if !ok {
            return Some((
                400,
                "bad_framing",
                "only `Transfer-Encoding: chunked` is accepted",
            ));
        }
    }
    if has_te && req.headers.contains_key(http::header::CONTENT_LENGTH) {
        return Some((
            400,
            "bad_framing",
            "a request may not carry both Content-Length and Transfer-Encoding",
        ));
    }
    let mut total = 0usize;
    for (name, value) in req.headers.iter() {
        if value.len() > MAX_HEADER_VALUE_BYTES {
            return Some((431, "headers_too_large", "a request header is too large"));
        }
        total += name.as_str().len() + value.len() + 4;
    }
    if total > MAX_HEADER_BYTES {
        return Some((
            431,
            "headers_too_large",
            "the request headers are too large",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> RequestHeader {
        let mut r = RequestHeader::build("POST", b"/x", None).unwrap();
        for (k, v) in headers {
            r.append_header(k.to_string(), *v).unwrap();
        }
        r
    }

    #[test]
    fn framing_and_sizes() {
        assert!(check(&req(&[("content-length", "5")]), None).is_none());
        assert!(check(&req(&[("transfer-encoding", "chunked")]), None).is_none());
        assert_eq!(
            check(
                &req(&[("transfer-encoding", "chunked"), ("content-length", "5")]),
                None
            )
            .unwrap()
            .0,
            400
        );
        let raw = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(
            check(&req(&[("transfer-encoding", "chunked")]), Some(raw))
                .unwrap()
                .0,
            400
        );
        assert_eq!(
            check(&req(&[("transfer-encoding", "gzip, chunked")]), None)
                .unwrap()
                .0,
            400
        );
        assert_eq!(
            check(
                &req(&[
                    ("transfer-encoding", "chunked"),
                    ("transfer-encoding", "identity")
                ]),
                None
            )
            .unwrap()
            .0,
            400
        );
        let big = "a".repeat(MAX_HEADER_VALUE_BYTES + 1);
        assert_eq!(check(&req(&[("x-big", &big)]), None).unwrap().0, 431);
        let mid = "b".repeat(10_000);
        let many: Vec<(&str, &str)> = (0..4).map(|_| ("x-mid", mid.as_str())).collect();
        assert_eq!(check(&req(&many), None).unwrap().0, 431);
    }
}
