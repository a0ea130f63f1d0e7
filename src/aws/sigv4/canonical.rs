//! What of the upstream head is signed: the request target (origin-form, or absolute-form
//! naming the `Host`), an allow-list of headers, and never the headers the signer produces;
//! and the canonical headers written from them.

use http::header::{CONTENT_TYPE, HOST};
use pingora::http::RequestHeader;

use super::{uri, SignError};

/// Signing header names, lower case (as `HeaderName`s are stored and SigV4 signs them).
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

/// The request target of a head, as the canonical request reads it.
pub(super) enum Target<'a> {
    /// `/path?query`: the usual case, read without copying.
    Origin(&'a str),
    /// `http://host/path?query`, parsed (rare: only a head built in absolute-form).
    Absolute(http::Uri),
}

impl Target<'_> {
    /// The path (`/` when empty) and the query (after `?`, without fragment), as `http::Uri`
    /// splits them.
    pub(super) fn path_and_query(&self) -> Result<(&str, Option<&str>), SignError> {
        match self {
            Target::Origin(t) => uri::split_origin_form(t),
            Target::Absolute(u) => Ok((u.path(), u.query())),
        }
    }
}

/// The request target exactly as Pingora will send it ([`RequestHeader::raw_path`]; for
/// HTTP/2 the same path-and-query goes into `:path`), checked to be signable.
pub(super) fn request_target(head: &RequestHeader) -> Result<Target<'_>, SignError> {
    let Some(host) = head.headers.get(HOST) else {
        return Err(SignError::new("the upstream request has no host header"));
    };
    let target = std::str::from_utf8(head.raw_path())
        .map_err(|_| SignError::new("the request target is not valid UTF-8"))?;
    if target.starts_with('/') {
        return Ok(Target::Origin(target));
    }
    // Origin-form ("/path?query") is the normal case. An absolute-form target
    // ("http://host/path") is sent verbatim on HTTP/1.1, and a server then takes the host from
    // it rather than from `Host` (RFC 9112 §3.2.2), so the two must agree for the signed `host`
    // to be the one AWS checks. Anything else (asterisk-form, authority-form) is not a request
    // we can sign.
    match target.parse::<http::Uri>() {
        Ok(u)
            if u.scheme().is_some()
                && u.authority().is_some_and(|a| {
                    a.as_str().as_bytes().eq_ignore_ascii_case(host.as_bytes())
                }) =>
        {
            Ok(Target::Absolute(u))
        }
        _ => Err(SignError::new(
            "the request target is neither origin-form nor absolute-form with the host \
             header's authority",
        )),
    }
}

/// Appends the canonical headers (`name:value\n` per signed name, sorted by name) to `out` and
/// the signed header names (`a;b;c`) to `names`: the allow-listed headers of `head`, plus
/// `x-amz-date` and, with temporary credentials, `x-amz-security-token` (which the caller
/// removed from `head` first). As aws-sigv4 does: each value trimmed of spaces with inner runs
/// of spaces collapsed to one (tabs are kept), the values of one name joined with `,` in their
/// order in the head; the date and token are written as they are. A non-UTF-8 value of an
/// allow-listed header is an error (unsigned headers may hold anything).
///
/// Allocation-free: the few signed names are picked in order by repeated scans of the head.
pub(super) fn write_canonical_headers(
    head: &RequestHeader,
    date_time: &str,
    token: Option<&str>,
    out: &mut String,
    names: &mut String,
) -> Result<(), SignError> {
    let added = [
        (H_X_AMZ_DATE, Some(date_time)),
        (H_X_AMZ_SECURITY_TOKEN, token),
    ];
    let mut last: Option<&str> = None;
    loop {
        // The smallest signed name after `last`.
        let after_last = |n: &str| last.is_none_or(|l| n > l);
        let mut next: Option<(&str, Option<&str>)> = None;
        let candidates = head
            .headers
            .keys()
            .filter(|n| is_allow_listed(n))
            .map(|n| (n.as_str(), None))
            .chain(added.iter().filter_map(|&(n, v)| v.map(|v| (n, Some(v)))));
        for (n, v) in candidates {
            if after_last(n) && next.is_none_or(|(m, _)| n < m) {
                next = Some((n, v));
            }
        }
        let Some((name, added_value)) = next else {
            return Ok(());
        };
        if last.is_some() {
            names.push(';');
        }
        names.push_str(name);
        out.push_str(name);
        out.push(':');
        match added_value {
            Some(v) => out.push_str(v),
            None => {
                let values = head.headers.iter().filter(|(n, _)| n.as_str() == name);
                for (i, (_, v)) in values.enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let v = std::str::from_utf8(v.as_bytes()).map_err(|_| {
                        SignError::new(
                            "a header to be signed (host, content-type, x-amz-*) is not valid UTF-8",
                        )
                    })?;
                    push_trimmed(out, v);
                }
            }
        }
        out.push('\n');
        last = Some(name);
    }
}

/// Appends `v` without leading and trailing spaces and with each inner run of spaces as one
/// (aws-sigv4's `trim_all`: spaces only, not tabs).
fn push_trimmed(out: &mut String, v: &str) {
    for (i, word) in v.split(' ').filter(|w| !w.is_empty()).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
}
