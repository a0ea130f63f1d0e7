//! Path forwarding for wildcard routes: the part of the client path after the route prefix is
//! joined to the target's base path with exactly one `/`. Empty segments (`//`) and `.` are
//! dropped; `..` in any encoding (`..`, `%2e%2e`, `%252e%252e`, behind an encoded `/` or `\`)
//! is refused, so a request can never reach above the base path.

use percent_encoding::percent_decode_str;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// The remainder tries to climb above the base path.
    Traversal,
}

/// Builds the upstream path for `base` (no trailing `/`, empty for root) and the raw
/// remainder `rest` captured by a wildcard route (`None` for exact routes).
pub fn forward_path(base: &str, rest: Option<&str>) -> Result<String, PathError> {
    let mut out = String::with_capacity(base.len() + rest.map_or(1, |r| r.len() + 1));
    out.push_str(base);
    let Some(rest) = rest else {
        if out.is_empty() {
            out.push('/');
        }
        return Ok(out);
    };
    let mut pushed = false;
    for seg in rest.split('/') {
        if seg.is_empty() {
            continue;
        }
        match classify(seg) {
            Segment::Current => continue,
            Segment::Parent => return Err(PathError::Traversal),
            Segment::Normal => {
                out.push('/');
                out.push_str(seg);
                pushed = true;
            }
        }
    }
    if !pushed || rest.ends_with('/') {
        out.push('/');
    }
    Ok(out)
}

enum Segment {
    Normal,
    Current,
    Parent,
}

fn classify(raw: &str) -> Segment {
    // Decode repeatedly so double-encoded dots (`%252e`) are seen too.
    let mut decoded: String = raw.to_string();
    for _ in 0..4 {
        if !decoded.contains('%') {
            break;
        }
        let next = percent_decode_str(&decoded)
            .decode_utf8_lossy()
            .into_owned();
        if next == decoded {
            break;
        }
        decoded = next;
    }
    if decoded.split(['/', '\\']).any(|p| p == "..") {
        return Segment::Parent;
    }
    if decoded == "." {
        return Segment::Current;
    }
    Segment::Normal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_with_one_slash() {
        assert_eq!(forward_path("/prod", Some("a/b")).unwrap(), "/prod/a/b");
        assert_eq!(forward_path("/prod", Some("a/b/")).unwrap(), "/prod/a/b/");
        assert_eq!(forward_path("/prod", Some("")).unwrap(), "/prod/");
        assert_eq!(forward_path("", Some("x")).unwrap(), "/x");
        assert_eq!(forward_path("", None).unwrap(), "/");
        assert_eq!(forward_path("/prod", None).unwrap(), "/prod");
        assert_eq!(forward_path("/prod", Some("//a///b")).unwrap(), "/prod/a/b");
        assert_eq!(
            forward_path("/prod", Some("./a/%2e/b")).unwrap(),
            "/prod/a/b"
        );
        assert_eq!(
            forward_path("/p", Some("a%20b/%E2%9C%93")).unwrap(),
            "/p/a%20b/%E2%9C%93"
        );
    }

    #[test]
    fn refuses_traversal_in_any_encoding() {
        for rest in [
            "..",
            "a/../b",
            "%2e%2e",
            "%2E%2e/x",
            ".%2e",
            "%252e%252e",
            "a%2f..%2fb",
            "a%2F..",
            "..%5cx",
            "x\\..\\y",
            "%25252e%25252e",
        ] {
            assert_eq!(
                forward_path("/prod", Some(rest)),
                Err(PathError::Traversal),
                "{rest}"
            );
        }
        // Dots inside names are fine.
        assert_eq!(forward_path("/p", Some("a..b/...")).unwrap(), "/p/a..b/...");
    }
}
