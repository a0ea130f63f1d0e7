//! Requests refused before routing, so they never reach AWS: ambiguous body framing (the
//! request-smuggling shapes Pingora's parser lets through: `Content-Length` together with
//! `Transfer-Encoding`, a transfer coding other than `chunked`, more than one
//! `Content-Length` or `Transfer-Encoding` line even when they agree, a `Content-Length` list)
//! and an HTTP/1.1 request without exactly one `Host` (RFC 9112 §3.2) answer 400; oversized
//! request heads answer 431.

use pingora::http::RequestHeader;

use super::error::{ErrorCode, GatewayError};

/// Largest request head accepted (names + values), and largest single header value.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
pub const MAX_HEADER_VALUE_BYTES: usize = 16 * 1024;

fn refusal(status: u16, code: ErrorCode, message: &'static str) -> Option<GatewayError> {
    Some(GatewayError::new(status, code, message))
}

/// `raw_h1` is the request head as received on an HTTP/1.x connection: Pingora's parser drops
/// `Content-Length` when `Transfer-Encoding` is present, so the smuggling shape is only visible
/// there.
pub fn check(req: &RequestHeader, raw_h1: Option<&[u8]>) -> Option<GatewayError> {
    if let Some(raw) = raw_h1 {
        let (mut cl, mut te) = (0, 0);
        for line in raw.split(|b| *b == b'\n') {
            let name = line.split(|b| *b == b':').next().unwrap_or_default();
            cl += usize::from(name.eq_ignore_ascii_case(b"content-length"));
            te += usize::from(name.eq_ignore_ascii_case(b"transfer-encoding"));
        }
        // Pingora collapses identical `Content-Length` lines (RFC 9110 §8.6 allows either);
        // the gateway refuses them, so no hop can read the framing differently.
        if cl > 1 || te > 1 {
            return refusal(
                400,
                ErrorCode::BadFraming,
                "a request must carry at most one Content-Length or Transfer-Encoding line",
            );
        }
        if cl > 0 && te > 0 {
            return refusal(
                400,
                ErrorCode::BadFraming,
                "a request may not carry both Content-Length and Transfer-Encoding",
            );
        }
    }
    // RFC 9112 §3.2: exactly one Host on HTTP/1.1 (HTTP/2 carries `:authority` instead).
    let hosts = req.headers.get_all(http::header::HOST).iter().count();
    let needs_host = req.version == http::Version::HTTP_11;
    if hosts > 1 || (needs_host && hosts == 0) {
        return refusal(
            400,
            ErrorCode::BadHost,
            "an HTTP/1.1 request must carry exactly one Host header",
        );
    }
    let cls = req.headers.get_all(http::header::CONTENT_LENGTH);
    let mut cl_count = 0;
    for v in cls.iter() {
        cl_count += 1;
        if cl_count > 1 || v.is_empty() || !v.as_bytes().iter().all(u8::is_ascii_digit) {
            return refusal(
                400,
                ErrorCode::BadFraming,
                "a request must carry at most one Content-Length, a single number",
            );
        }
    }
    let te = req.headers.get_all(http::header::TRANSFER_ENCODING);
    let mut has_te = false;
    for v in te.iter() {
        if has_te {
            return refusal(
                400,
                ErrorCode::BadFraming,
                "a request must carry at most one Transfer-Encoding line",
            );
        }
        has_te = true;
        let ok = v
            .to_str()
            .map(|s| s.trim().eq_ignore_ascii_case("chunked"))
            .unwrap_or(false);
        if !ok {
            return refusal(
                400,
                ErrorCode::BadFraming,
                "only `Transfer-Encoding: chunked` is accepted",
            );
        }
    }
    if has_te && req.headers.contains_key(http::header::CONTENT_LENGTH) {
        return refusal(
            400,
            ErrorCode::BadFraming,
            "a request may not carry both Content-Length and Transfer-Encoding",
        );
    }
    let mut total = 0usize;
    for (name, value) in req.headers.iter() {
        if value.len() > MAX_HEADER_VALUE_BYTES {
            return refusal(
                431,
                ErrorCode::HeadersTooLarge,
                "a request header is too large",
            );
        }
        total += name.as_str().len() + value.len() + 4;
    }
    if total > MAX_HEADER_BYTES {
        return refusal(
            431,
            ErrorCode::HeadersTooLarge,
            "the request headers are too large",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> RequestHeader {
        let mut r = RequestHeader::build("POST", b"/x", None).unwrap();
        r.append_header("host", "gw.test").unwrap();
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
            .status,
            400
        );
        let raw = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(
            check(&req(&[("transfer-encoding", "chunked")]), Some(raw))
                .unwrap()
                .status,
            400
        );
        assert_eq!(
            check(&req(&[("transfer-encoding", "gzip, chunked")]), None)
                .unwrap()
                .status,
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
            .status,
            400
        );
        let code = |r: &RequestHeader, raw: Option<&[u8]>| {
            check(r, raw).map(|x| (x.status, x.code.as_str()))
        };
        // Agreeing duplicates and lists are refused too; so are repeated TE lines.
        let two_cl = req(&[("content-length", "5"), ("content-length", "5")]);
        assert_eq!(code(&two_cl, None), Some((400, "bad_framing")));
        let list = req(&[("content-length", "5, 5")]);
        assert_eq!(code(&list, None), Some((400, "bad_framing")));
        let two_te = req(&[
            ("transfer-encoding", "chunked"),
            ("transfer-encoding", "chunked"),
        ]);
        assert_eq!(code(&two_te, None), Some((400, "bad_framing")));
        let raw = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n";
        let one_cl = req(&[("content-length", "5")]);
        assert_eq!(code(&one_cl, Some(raw)), Some((400, "bad_framing")));
        // Host: exactly one on HTTP/1.1; none needed on HTTP/1.0.
        let mut no_host = RequestHeader::build("GET", b"/x", None).unwrap();
        assert_eq!(code(&no_host, None), Some((400, "bad_host")));
        no_host.set_version(http::Version::HTTP_10);
        assert_eq!(code(&no_host, None), None);
        let two_hosts = req(&[("host", "other.test")]);
        assert_eq!(code(&two_hosts, None), Some((400, "bad_host")));
        let big = "a".repeat(MAX_HEADER_VALUE_BYTES + 1);
        assert_eq!(check(&req(&[("x-big", &big)]), None).unwrap().status, 431);
        let mid = "b".repeat(10_000);
        let many: Vec<(&str, &str)> = (0..4).map(|_| ("x-mid", mid.as_str())).collect();
        assert_eq!(check(&req(&many), None).unwrap().status, 431);
    }

    #[test]
    fn lengths_hosts_and_limits_at_their_edges() {
        let code = |r: &RequestHeader, raw: Option<&[u8]>| {
            check(r, raw).map(|x| (x.status, x.code.as_str()))
        };
        // A Content-Length must be one plain number.
        for bad in ["", "abc", "-1", "+5", "5 "] {
            let r = req(&[("content-length", bad)]);
            assert_eq!(code(&r, None), Some((400, "bad_framing")), "{bad:?}");
        }
        assert_eq!(code(&req(&[("content-length", "0")]), None), None);
        // `chunked` is read case-insensitively, surrounding blanks aside.
        assert_eq!(
            code(&req(&[("transfer-encoding", " Chunked ")]), None),
            None
        );
        // Repeated Transfer-Encoding lines in the raw head, which Pingora may merge.
        let raw = b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n";
        let one_te = req(&[("transfer-encoding", "chunked")]);
        assert_eq!(code(&one_te, Some(raw)), Some((400, "bad_framing")));
        // A raw head with one of each is fine; the parsed head decides the rest.
        let raw = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(code(&req(&[("content-length", "5")]), Some(raw)), None);
        // HTTP/2 carries `:authority`: no Host needed, but two are still refused.
        let mut h2 = RequestHeader::build("GET", b"/x", None).unwrap();
        h2.set_version(http::Version::HTTP_2);
        assert_eq!(code(&h2, None), None);
        h2.append_header("host", "a").unwrap();
        h2.append_header("host", "b").unwrap();
        assert_eq!(code(&h2, None), Some((400, "bad_host")));
        // The value limit is inclusive.
        let edge = "a".repeat(MAX_HEADER_VALUE_BYTES);
        assert_eq!(code(&req(&[("x-edge", &edge)]), None), None);
        let over = "a".repeat(MAX_HEADER_VALUE_BYTES + 1);
        assert_eq!(
            code(&req(&[("x-edge", &over)]), None),
            Some((431, "headers_too_large"))
        );
    }
}
