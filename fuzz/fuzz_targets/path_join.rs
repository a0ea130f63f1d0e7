//! `function_uri::forward_path(base, rest)`: joining a wildcard route's raw remainder to the target's
//! base path.
//!
//! Checks, for any base and remainder (and for bases as `UpstreamUrl::parse` normalises them):
//! * never panics;
//! * `rest == None`: the result is the base, or `/` for an empty base;
//! * `Ok(out)`: `out` starts with the base, the appended part starts with `/`, has no empty
//!   segment except a final one, and none of its segments is `.` or `..`, nor becomes a `..`
//!   path component (split on `/` or `\`) after percent-decoding it up to 4 times, the depth
//!   `function_uri/path.rs` decodes to (`%2e%2e`, `%252e%252e`, `%25252e%25252e`, ...);
//! * `Err(Traversal)` only when the remainder has such a segment (no false refusals of a
//!   remainder whose every segment stays clear of `..` after that decoding).
#![no_main]

use arbitrary::Arbitrary;
use lambda_proxy::function_uri::{forward_path, PathError};
use lambda_proxy::upstream::UpstreamUrl;
use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// Use `base` as the path of an `http://h` URL and take `UpstreamUrl`'s normalised base path.
    via_url: bool,
    base: &'a str,
    rest: Option<&'a str>,
}

/// The segment as the decoding steps of `path.rs` see it: itself, then up to 4 lossy
/// percent-decodings.
fn decodings(seg: &str) -> Vec<String> {
    let mut out = vec![seg.to_string()];
    for _ in 0..4 {
        let next = percent_decode_str(out.last().unwrap())
            .decode_utf8_lossy()
            .into_owned();
        if &next == out.last().unwrap() {
            break;
        }
        out.push(next);
    }
    out
}

/// Whether a raw segment climbs: `..` as a component (split on `/` or `\`) once decoded.
fn climbs(seg: &str) -> bool {
    decodings(seg)
        .iter()
        .any(|d| d.split(['/', '\\']).any(|p| p == ".."))
}

fn is_current(seg: &str) -> bool {
    decodings(seg).last().map(String::as_str) == Some(".")
}

fuzz_target!(|input: Input| {
    let base_owned;
    let base = if input.via_url {
        match UpstreamUrl::parse(&format!("http://h{}", input.base)) {
            Ok(u) => {
                assert!(!u.base_path.ends_with('/'), "{u:?}");
                base_owned = u.base_path;
                base_owned.as_str()
            }
            Err(_) => return,
        }
    } else {
        input.base
    };
    match forward_path(base, input.rest) {
        Ok(out) => {
            assert!(
                out.starts_with(base),
                "{out:?} does not start with {base:?}"
            );
            let tail = &out[base.len()..];
            let Some(rest) = input.rest else {
                let expected = if base.is_empty() { "/" } else { "" };
                assert_eq!(tail, expected, "exact route: {out:?}");
                return;
            };
            assert!(tail.starts_with('/'), "{out:?}: no `/` after the base");
            let segs: Vec<&str> = tail[1..].split('/').collect();
            for (i, seg) in segs.iter().enumerate() {
                if seg.is_empty() {
                    assert_eq!(i, segs.len() - 1, "{out:?}: empty segment");
                    continue;
                }
                assert!(
                    !climbs(seg),
                    "{out:?}: segment {seg:?} climbs (rest {rest:?})"
                );
                assert!(!is_current(seg), "{out:?}: `.` segment {seg:?} kept");
            }
            // Every non-empty, non-`.` segment of the remainder is kept, in order.
            let kept: Vec<&str> = rest
                .split('/')
                .filter(|s| !s.is_empty() && !is_current(s))
                .collect();
            let got: Vec<&str> = segs.iter().copied().filter(|s| !s.is_empty()).collect();
            assert_eq!(kept, got, "{rest:?} -> {out:?}");
        }
        Err(PathError::Traversal) => {
            let rest = input.rest.expect("an exact route cannot be refused");
            assert!(
                rest.split('/').any(climbs),
                "{rest:?} refused but no segment climbs"
            );
        }
    }
});
