//! The canonical URI and canonical query string of a request target, written into a buffer
//! byte for byte as aws-sigv4 1.6.4 writes them with the settings the signer uses (the SDK
//! defaults for services other than S3):
//!
//! * path: as `http::Uri` splits it (up to `?` or `#`; empty is `/`), dot segments and empty
//!   segments removed when it contains a `.` or `//` (aws-sigv4's `normalize_uri_path`), then
//!   encoded again ("double encoding"): every byte but `A-Z a-z 0-9 - . _ ~ /` as `%XX`;
//! * query: `&`-separated pairs, empty ones dropped, split at the first `=` (none: empty value),
//!   each side decoded as `application/x-www-form-urlencoded` (`+` is a space, `%XX` decoded
//!   in either case, a `%` without two hex digits kept, bytes that are not UTF-8 replaced by
//!   U+FFFD), encoded again (every byte but `A-Z a-z 0-9 - . _ ~` as `%XX`), sorted by encoded
//!   name then value, and joined as `name=value` with `&`.

use super::SignError;

/// The longest target `http::Uri` accepts.
const MAX_TARGET_LEN: usize = u16::MAX as usize - 1;

/// The path and query of an origin-form target (`/path?query#fragment`), split and checked as
/// `http::Uri` does (aws-sigv4 parses the target into one): a byte it refuses is an error.
pub(super) fn split_origin_form(target: &str) -> Result<(&str, Option<&str>), SignError> {
    let bytes = target.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(SignError::new("the request target does not start with /"));
    }
    if bytes.len() > MAX_TARGET_LEN {
        return Err(SignError::new("the request target is too long"));
    }
    let invalid = || SignError::new("the request target has a character a URI cannot hold");
    let mut path_end = bytes.len();
    let mut query = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'?' => {
                path_end = i;
                query = Some(i + 1);
                break;
            }
            b'#' => {
                path_end = i;
                break;
            }
            _ if is_path_byte(b) => {}
            _ => return Err(invalid()),
        }
    }
    let query = match query {
        None => None,
        Some(start) => {
            let rest = &bytes[start..];
            let mut end = rest.len();
            for (i, &b) in rest.iter().enumerate() {
                match b {
                    b'#' => {
                        end = i;
                        break;
                    }
                    _ if is_query_byte(b) => {}
                    _ => return Err(invalid()),
                }
            }
            Some(&target[start..start + end])
        }
    };
    let path = match &target[..path_end] {
        "" => "/",
        p => p,
    };
    Ok((path, query))
}

/// Bytes `http::Uri` takes in a path (its `PATH_MAP`), besides `?` and `#`.
fn is_path_byte(b: u8) -> bool {
    matches!(b, 0x21 | 0x24..=0x3B | 0x3D | 0x40..=0x5F | 0x61..=0x7A | 0x7C | 0x7E | 0x80..)
        || matches!(b, b'"' | b'{' | b'}')
}

/// Bytes `http::Uri` takes in a query (its `QUERY_MAP`), besides `#`.
fn is_query_byte(b: u8) -> bool {
    matches!(b, 0x21 | 0x24..=0x3B | 0x3D | 0x3F..=0x7E | 0x80..)
}

/// RFC 3986 unreserved characters: the only bytes SigV4 leaves unencoded.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Appends `s`, every byte but the unreserved ones (and `/` when `keep_slash`) as upper-case
/// `%XX`.
fn push_encoded(out: &mut String, s: &str, keep_slash: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = s.as_bytes();
    let mut run = 0; // start of the current run of bytes copied as they are
    for (i, &b) in bytes.iter().enumerate() {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            continue;
        }
        if run < i {
            // ASCII bytes only: both ends are character boundaries.
            out.push_str(&s[run..i]);
        }
        out.push('%');
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
        run = i + 1;
    }
    if run < bytes.len() {
        out.push_str(&s[run..]);
    }
}

/// Appends the canonical URI of `path` (a path as [`split_origin_form`] returns it).
pub(super) fn write_canonical_uri(out: &mut String, path: &str) {
    let path = match path {
        "" => "/",
        p => p,
    };
    if !(path.contains('.') || path.contains("//")) {
        if !path.starts_with('/') {
            out.push('/');
        }
        push_encoded(out, path, true);
        return;
    }
    // RFC 3986 §5.2.4 as aws-sigv4 does it: "" and "." segments dropped, ".." drops the last
    // kept one; a path ending in "/", "/." or "/.." keeps a trailing slash. Segments are
    // written encoded as they are kept; an encoded segment holds no '/', so dropping the last
    // one is cutting at the last '/'.
    let start = out.len();
    out.push('/');
    let mut kept = 0usize;
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if kept > 0 {
                    let cut = out[start..].rfind('/').expect("a kept segment") + start;
                    out.truncate(if kept == 1 { cut + 1 } else { cut });
                    kept -= 1;
                }
            }
            _ => {
                if kept > 0 {
                    out.push('/');
                }
                push_encoded(out, segment, false);
                kept += 1;
            }
        }
    }
    let trailing = ["/", "/.", "/.."].iter().any(|s| path.ends_with(s));
    if trailing && kept > 0 {
        out.push('/');
    }
}

/// Reusable buffers for [`write_canonical_query`].
#[derive(Default)]
pub(super) struct QueryScratch {
    /// One decoded name or value.
    decoded: Vec<u8>,
    /// Every pair's name and value, encoded, one after the other.
    encoded: String,
    /// Per pair: where its name starts, where its value starts, where its value ends.
    pairs: Vec<[usize; 3]>,
}

impl QueryScratch {
    /// Drops buffers a huge query left behind, keeping the usual sizes.
    pub(super) fn trim(&mut self, max_bytes: usize) {
        if self.encoded.capacity() > max_bytes {
            *self = Self::default();
        }
    }
}

/// Decodes one form-urlencoded name or value into `out`: `+` is a space, `%XX` a byte.
fn form_decode(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                raw.get(i + 1).and_then(|&c| hex_val(c)),
                raw.get(i + 2).and_then(|&c| hex_val(c)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(if b == b'+' { b' ' } else { b });
        i += 1;
    }
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Appends the canonical query string of `query` (the text after `?`, without fragment).
pub(super) fn write_canonical_query(out: &mut String, query: &str, s: &mut QueryScratch) {
    s.encoded.clear();
    s.pairs.clear();
    for pair in query.as_bytes().split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let name_start = s.encoded.len();
        form_decode(name, &mut s.decoded);
        push_encoded(&mut s.encoded, &String::from_utf8_lossy(&s.decoded), false);
        let value_start = s.encoded.len();
        form_decode(value, &mut s.decoded);
        push_encoded(&mut s.encoded, &String::from_utf8_lossy(&s.decoded), false);
        s.pairs.push([name_start, value_start, s.encoded.len()]);
    }
    let enc = s.encoded.as_str();
    let name = |p: &[usize; 3]| &enc[p[0]..p[1]];
    let value = |p: &[usize; 3]| &enc[p[1]..p[2]];
    s.pairs
        .sort_unstable_by(|a, b| name(a).cmp(name(b)).then_with(|| value(a).cmp(value(b))));
    for (i, p) in s.pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name(p));
        out.push('=');
        out.push_str(value(p));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(path: &str) -> String {
        let mut s = String::new();
        write_canonical_uri(&mut s, path);
        s
    }

    fn query(q: &str) -> String {
        let mut s = String::new();
        write_canonical_query(&mut s, q, &mut QueryScratch::default());
        s
    }

    #[test]
    fn canonical_uri() {
        for (path, want) in [
            ("/", "/"),
            ("", "/"),
            ("/a/b", "/a/b"),
            ("/a/../b", "/b"),
            ("/../../x", "/x"),
            ("//b/./", "/b/"),
            ("/a/b/.", "/a/b/"),
            ("/a/b/..", "/a/"),
            ("/a/..", "/"),
            ("/a.b/c..d/", "/a.b/c..d/"),
            ("/a%2Fb/%20", "/a%252Fb/%2520"),
            ("/arn:aws:x/ü", "/arn%3Aaws%3Ax/%C3%BC"),
            ("/~a!$'()*+,;=@", "/~a%21%24%27%28%29%2A%2B%2C%3B%3D%40"),
        ] {
            assert_eq!(uri(path), want, "{path}");
        }
    }

    #[test]
    fn canonical_query() {
        for (q, want) in [
            ("", ""),
            ("&&", ""),
            ("b=2&a=1", "a=1&b=2"),
            ("a=2&a=1&a", "a=&a=1&a=2"),
            ("a+b=c+d", "a%20b=c%20d"),
            ("a=%2b%2B", "a=%2B%2B"),
            ("a=%zz%4", "a=%25zz%254"),
            ("a==b", "a=%3Db"),
            ("%FF=1", "%EF%BF%BD=1"),
            ("k=v~-._", "k=v~-._"),
        ] {
            assert_eq!(query(q), want, "{q}");
        }
    }

    #[test]
    fn split() {
        assert_eq!(split_origin_form("/a?b#c").unwrap(), ("/a", Some("b")));
        assert_eq!(split_origin_form("/a#b?c").unwrap(), ("/a", None));
        assert_eq!(split_origin_form("/?").unwrap(), ("/", Some("")));
        assert_eq!(split_origin_form("/a?b?c").unwrap(), ("/a", Some("b?c")));
        for bad in ["/a b", "/<", "/a?\"", "/`", "x", ""] {
            assert!(split_origin_form(bad).is_err(), "{bad}");
        }
        // After the fragment nothing is checked, as in `http::Uri`.
        assert!(split_origin_form("/a#<>").is_ok());
    }
}
