//! How the gateway reads a client's request target, so that what it decides on, what it signs
//! and what it forwards are one and the same thing:
//!
//! * [`normalize_path`]: the path routes are matched on and forwarded from. RFC 3986
//!   normalisation (§6.2.2): percent-encoded unreserved characters decoded (`/%61pi` is
//!   `/api`), other escapes upper-cased, dot segments removed (§5.2.4, including `%2e`), and
//!   repeated slashes merged, as nginx matches `$uri`. An encoded `/` (`%2F`) stays encoded:
//!   it is data, not a separator. A malformed escape is refused.
//! * [`canonical_query`]: the query of a signed request, rewritten in SigV4's canonical
//!   encoding (every byte but the unreserved ones as upper-case `%XX`), pairs in the client's
//!   order, empty pairs dropped. A raw `+` is read as a literal plus (RFC 3986; API Gateway
//!   passes it to functions as `+`) and sent as `%2B`, so no server can read it as a space.

use std::fmt::Write;

/// Why a request target cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetError {
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The query decodes to bytes that are not UTF-8: SigV4 signers disagree on them.
    NotUtf8,
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Characters RFC 3986 allows raw in a path segment besides the unreserved ones.
fn is_path_char(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b':' | b'@'
    )
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte an escape at `s[i..]` (`%XY`) stands for.
fn escape_at(s: &[u8], i: usize) -> Result<u8, TargetError> {
    match (
        s.get(i + 1).copied().and_then(hex_val),
        s.get(i + 2).copied().and_then(hex_val),
    ) {
        (Some(h), Some(l)) => Ok(h << 4 | l),
        _ => Err(TargetError::BadEscape),
    }
}

fn push_escaped(out: &mut String, b: u8) {
    let _ = write!(out, "%{b:02X}");
}

/// The normalised form of a raw request path (see the module doc). The result always starts
/// with `/`; a trailing `/` (or a trailing dot segment) is kept as a trailing `/`.
pub fn normalize_path(raw: &str) -> Result<String, TargetError> {
    // Fast path: the common, already-normal path is returned as it is.
    let bytes = raw.as_bytes();
    if bytes.first() == Some(&b'/')
        && bytes.iter().all(|&b| is_unreserved(b) || b == b'/')
        && !raw.contains("//")
        && !raw.split('/').any(|s| s == "." || s == "..")
    {
        return Ok(raw.to_string());
    }
    // 1. Percent-encoding normalisation, segment by segment.
    let mut segments: Vec<String> = Vec::new();
    for seg in raw.split('/') {
        let s = seg.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            let b = s[i];
            if b == b'%' {
                let d = escape_at(s, i)?;
                if is_unreserved(d) {
                    out.push(d as char);
                } else {
                    push_escaped(&mut out, d);
                }
                i += 3;
            } else {
                if is_unreserved(b) || is_path_char(b) {
                    out.push(b as char);
                } else {
                    push_escaped(&mut out, b);
                }
                i += 1;
            }
        }
        segments.push(out);
    }
    // 2. Dot segments and empty segments; whether the path ends in a directory.
    let mut stack: Vec<String> = Vec::new();
    let mut trailing = false;
    let n = segments.len();
    for (i, seg) in segments.into_iter().enumerate() {
        let last = i + 1 == n;
        match seg.as_str() {
            "" => trailing = last && i > 0,
            "." => trailing = last,
            ".." => {
                stack.pop();
                trailing = last;
            }
            _ => {
                stack.push(seg);
                trailing = false;
            }
        }
    }
    let mut out = String::with_capacity(raw.len());
    for seg in &stack {
        out.push('/');
        out.push_str(seg);
    }
    if out.is_empty() || trailing {
        out.push('/');
    }
    Ok(out)
}

/// Re-encodes one query component (a name or a value) canonically: escapes decoded, then
/// every byte but the unreserved ones written as `%XX`; a raw `+` is a plus.
fn push_component(out: &mut String, raw: &str) -> Result<(), TargetError> {
    let s = raw.as_bytes();
    let mut decoded = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            decoded.push(escape_at(s, i)?);
            i += 3;
        } else {
            decoded.push(s[i]);
            i += 1;
        }
    }
    if std::str::from_utf8(&decoded).is_err() {
        return Err(TargetError::NotUtf8);
    }
    for b in decoded {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            push_escaped(out, b);
        }
    }
    Ok(())
}

/// The query of a signed request as it is forwarded and signed (see the module doc). A pair
/// without `=` stays without it (every reading gives it an empty value). Returns an empty
/// string when no pair is left.
pub fn canonical_query(raw: &str) -> Result<String, TargetError> {
    let mut out = String::with_capacity(raw.len() + 8);
    for pair in raw.split('&') {
        if pair.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((name, value)) => {
                push_component(&mut out, name)?;
                out.push('=');
                push_component(&mut out, value)?;
            }
            None => push_component(&mut out, pair)?,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_as_rfc_3986_says() {
        for (raw, want) in [
            ("/", "/"),
            ("/api/x", "/api/x"),
            ("/%61pi/x", "/api/x"),
            ("/%7euser/%7E", "/~user/~"),
            ("/a/%2e/b/%2E%2e/c", "/a/c"),
            ("/a/./b/../c/", "/a/c/"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/../../x", "/x"),
            ("//a///b", "/a/b"),
            ("/a/", "/a/"),
            ("/a%2fb", "/a%2Fb"),
            ("/a%2Fb/..", "/"),
            ("/caf%c3%a9", "/caf%C3%A9"),
            ("/a%20b", "/a%20b"),
            ("/a:b@c!$&'()*+,;=", "/a:b@c!$&'()*+,;="),
            ("/%2e%2e%2fx", "/..%2Fx"),
            ("/a..b/...", "/a..b/..."),
            ("", "/"),
        ] {
            assert_eq!(normalize_path(raw).as_deref(), Ok(want), "{raw}");
        }
        for bad in ["/%", "/%4", "/%zz/x", "/a%g1"] {
            assert_eq!(normalize_path(bad), Err(TargetError::BadEscape), "{bad}");
        }
    }

    #[test]
    fn normalising_twice_changes_nothing() {
        for raw in ["/%61pi/./x/../y%2f/", "/a//b/%7e", "/caf%c3%a9/.."] {
            let once = normalize_path(raw).unwrap();
            assert_eq!(normalize_path(&once).unwrap(), once);
        }
    }

    #[test]
    fn queries_are_sent_as_they_are_signed() {
        for (raw, want) in [
            ("a=1&b=2", "a=1&b=2"),
            ("q=a+b", "q=a%2Bb"),
            ("q=a%20b", "q=a%20b"),
            ("q=a%2bb", "q=a%2Bb"),
            ("a=1&&b=2&", "a=1&b=2"),
            ("&&", ""),
            ("flag", "flag"),
            ("flag=", "flag="),
            ("a=b=c", "a=b%3Dc"),
            ("x=%7B%7D,:/?@", "x=%7B%7D%2C%3A%2F%3F%40"),
            ("q=caf%C3%A9", "q=caf%C3%A9"),
            ("b=2&a=1&a=0", "b=2&a=1&a=0"),
            ("%7e=~", "~=~"),
        ] {
            assert_eq!(canonical_query(raw).as_deref(), Ok(want), "{raw}");
        }
        assert_eq!(canonical_query("q=caf%E9"), Err(TargetError::NotUtf8));
        assert_eq!(canonical_query("%FF=1"), Err(TargetError::NotUtf8));
        assert_eq!(canonical_query("a=%"), Err(TargetError::BadEscape));
        assert_eq!(canonical_query("a=%4g"), Err(TargetError::BadEscape));
    }
}
