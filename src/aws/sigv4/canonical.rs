//! What of the upstream head is signed: the request target (origin-form, or absolute-form
//! naming the `Host`), an allow-list of headers, and never the headers the signer produces.

use http::header::{CONTENT_TYPE, HOST};
use pingora::http::RequestHeader;

use super::SignError;

/// Header names as `aws-sigv4` emits them (lower case).
pub(super) const H_AUTHORIZATION: &str = "authorization";
pub(super) const H_X_AMZ_DATE: &str = "x-amz-date";
pub(super) const H_X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";
pub(super) const H_X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";

/// Headers the signer produces itself (or, for `authorization`, replaces): a client-sent copy
/// is removed before signing, since signing it would give a signature that cannot verify.
pub(super) const SIGNER_OWNED_HEADERS: [&str; 4] = [
    H_AUTHORIZATION,
    H_X_AMZ_DATE,
    H_X_AMZ_SECURITY_TOKEN,
    H_X_AMZ_CONTENT_SHA256,
];

/// The allow-list of signed headers: headers no hop between us and AWS changes, and that AWS
/// wants signed (`host`, `content-type`, every `x-amz-*`).
pub fn is_allow_listed(name: &http::HeaderName) -> bool {
    // `HeaderName`s are stored lower case.
    name == HOST || name == CONTENT_TYPE || name.as_str().starts_with("x-amz-")
}

/// The request target exactly as Pingora will send it ([`RequestHeader::raw_path`]; for
/// HTTP/2 the same path-and-query goes into `:path`), checked to be signable.
pub(super) fn request_target(head: &RequestHeader) -> Result<&str, SignError> {
    let Some(host) = head.headers.get(HOST) else {
        return Err(SignError::new("the upstream request has no host header"));
    };
    let target = std::str::from_utf8(head.raw_path())
        .map_err(|_| SignError::new("the request target is not valid UTF-8"))?;
    // Origin-form ("/path?query") is the normal case. An absolute-form target
    // ("http://host/path") is sent verbatim on HTTP/1.1, and a server then takes the host from
    // it rather than from `Host` (RFC 9112 §3.2.2), so the two must agree for the signed `host`
    // to be the one AWS checks. Anything else (asterisk-form, authority-form) is not a request
    // we can sign.
    if !target.starts_with('/') {
        let authority_matches = target.parse::<http::Uri>().ok().is_some_and(|u| {
            u.scheme().is_some()
                && u.authority()
                    .is_some_and(|a| a.as_str().as_bytes().eq_ignore_ascii_case(host.as_bytes()))
        });
        if !authority_matches {
            return Err(SignError::new(
                "the request target is neither origin-form nor absolute-form with the host \
                 header's authority",
            ));
        }
    }
    Ok(target)
}

/// The allow-listed headers of `head`, in order. `HeaderMap::iter` yields the values of one
/// name consecutively; aws-sigv4 joins repeated names with `,` in the canonical request. A
/// non-UTF-8 value of an allow-listed header is an error (unsigned headers may hold anything).
pub(super) fn signed_headers(head: &RequestHeader) -> Result<Vec<(&str, &str)>, SignError> {
    let mut signed = Vec::with_capacity(4);
    for (name, value) in head.headers.iter() {
        if !is_allow_listed(name) {
            continue;
        }
        let value = std::str::from_utf8(value.as_bytes()).map_err(|_| {
            SignError::new("a header to be signed (host, content-type, x-amz-*) is not valid UTF-8")
        })?;
        signed.push((name.as_str(), value));
    }
    Ok(signed)
}
