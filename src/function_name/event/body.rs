//! The request body in an event: when it goes as text and when as base64 ([`BodyEncoding`],
//! matched on the content type), and [`BodyRepr`], which writes the base64 while serialising.

use base64::display::Base64Display;
use base64::engine::general_purpose::STANDARD;
use http::header::CONTENT_TYPE;
use http::HeaderMap;
use serde::{Serialize, Serializer};

/// Content types sent as text by [`BodyEncoding::default_auto`] (when the body is valid UTF-8).
///
/// Patterns: `type/subtype` (exact), `type/*`, `type/*+suffix`, `*/*+suffix`, `*/*`; matched
/// case-insensitively against the content type's essence (parameters stripped).
pub const DEFAULT_TEXT_TYPES: &[&str] = &[
    "text/*",
    "application/json",
    "application/*+json",
    "application/xml",
    "application/*+xml",
    "application/x-www-form-urlencoded",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/yaml",
    "application/x-yaml",
    "application/*+yaml",
    "application/graphql",
    "application/x-ndjson",
];

/// When a request body goes into the event as text and when as base64 (`isBase64Encoded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyEncoding {
    /// Text iff the body is valid UTF-8 and its content type matches one of `text_types` (or the
    /// request has no content type); base64 otherwise. Patterns as in [`DEFAULT_TEXT_TYPES`].
    Auto { text_types: Vec<String> },
    /// Always base64 (Kong's `base64_encode_body: true`).
    Always,
    /// Text whenever the body is valid UTF-8; base64 otherwise (JSON cannot carry raw bytes).
    Never,
}

impl Default for BodyEncoding {
    fn default() -> Self {
        BodyEncoding::default_auto()
    }
}

impl BodyEncoding {
    /// `Auto` with [`DEFAULT_TEXT_TYPES`].
    pub fn default_auto() -> Self {
        BodyEncoding::Auto {
            text_types: DEFAULT_TEXT_TYPES.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Whether `body`, sent with `content_type` (the raw header value), goes as text.
    pub fn sends_as_text(&self, content_type: Option<&[u8]>, body: &[u8]) -> bool {
        self.text_body(content_type, body).is_some()
    }

    fn text_body<'b>(&self, content_type: Option<&[u8]>, body: &'b [u8]) -> Option<&'b str> {
        let text = match self {
            BodyEncoding::Always => return None,
            BodyEncoding::Never => true,
            BodyEncoding::Auto { text_types } => match content_type {
                None => true,
                Some(ct) => {
                    let essence = mime_essence(ct);
                    text_types.iter().any(|p| mime_matches(p, essence))
                }
            },
        };
        if text {
            std::str::from_utf8(body).ok()
        } else {
            None
        }
    }

    /// An empty body is always `""` text (never "base64 of nothing").
    pub(super) fn encode<'b>(&self, headers: &HeaderMap, body: &'b [u8]) -> BodyRepr<'b> {
        if body.is_empty() {
            return BodyRepr::Text("");
        }
        let ct = headers.get(CONTENT_TYPE).map(|v| v.as_bytes());
        match self.text_body(ct, body) {
            Some(text) => BodyRepr::Text(text),
            None => BodyRepr::Base64(body),
        }
    }
}

/// `type/subtype` of a content type: parameters stripped, whitespace trimmed.
pub(super) fn mime_essence(ct: &[u8]) -> &[u8] {
    let end = ct.iter().position(|&b| b == b';').unwrap_or(ct.len());
    ct[..end].trim_ascii()
}

pub(super) fn mime_matches(pattern: &str, essence: &[u8]) -> bool {
    let pattern = pattern.trim().as_bytes();
    if pattern == b"*/*" || pattern == b"*" {
        return true;
    }
    let (Some(pslash), Some(eslash)) = (
        pattern.iter().position(|&b| b == b'/'),
        essence.iter().position(|&b| b == b'/'),
    ) else {
        return false;
    };
    let (ptype, psub) = (&pattern[..pslash], &pattern[pslash + 1..]);
    let (etype, esub) = (&essence[..eslash], &essence[eslash + 1..]);
    if etype.is_empty() || esub.is_empty() {
        return false;
    }
    if ptype != b"*" && !ptype.eq_ignore_ascii_case(etype) {
        return false;
    }
    if psub == b"*" {
        return true;
    }
    if let Some(suffix) = psub.strip_prefix(b"*") {
        // `*+json`: the subtype has a non-empty name before the suffix.
        return esub.len() > suffix.len()
            && esub[esub.len() - suffix.len()..].eq_ignore_ascii_case(suffix);
    }
    psub.eq_ignore_ascii_case(esub)
}

/// A body as it goes into the event: text, or base64 written while serialising.
#[derive(Clone, Copy)]
pub(super) enum BodyRepr<'a> {
    Text(&'a str),
    Base64(&'a [u8]),
}

impl Serialize for BodyRepr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            BodyRepr::Text(t) => s.serialize_str(t),
            BodyRepr::Base64(b) => s.collect_str(&Base64Display::new(b, &STANDARD)),
        }
    }
}

pub(super) fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_patterns() {
        let m = |p: &str, e: &str| mime_matches(p, mime_essence(e.as_bytes()));
        assert!(m("text/*", "text/html; charset=utf-8"));
        assert!(m("application/json", "Application/JSON ; charset=UTF-8"));
        assert!(m("application/*+json", "application/vnd.api+json"));
        assert!(!m("application/*+json", "application/+json"));
        assert!(!m("application/*+json", "application/json"));
        assert!(m("*/*+xml", "image/svg+xml"));
        assert!(m("*/*", "image/png"));
        assert!(!m("text/*", "image/png"));
        assert!(!m("application/json", "application/jsonp"));
        assert!(!m("text/*", "text"));
        assert!(!m("text/plain", ""));
    }

    #[test]
    fn body_policy() {
        let auto = BodyEncoding::default_auto();
        let json = Some(&b"application/json; charset=utf-8"[..]);
        assert!(auto.sends_as_text(json, b"{\"a\":1}"));
        assert!(
            !auto.sends_as_text(json, b"\xff\xfe"),
            "invalid UTF-8 is base64 even for JSON"
        );
        assert!(!auto.sends_as_text(Some(b"image/png"), b"PNG but ascii"));
        assert!(auto.sends_as_text(None, b"no content type, utf-8"));
        assert!(!auto.sends_as_text(None, b"\x89PNG"));
        assert!(auto.sends_as_text(Some(b"application/x-www-form-urlencoded"), b"a=1"));
        assert!(auto.sends_as_text(Some(b"text/csv"), "é,ü".as_bytes()));
        assert!(!BodyEncoding::Always.sends_as_text(json, b"{}"));
        assert!(BodyEncoding::Never.sends_as_text(Some(b"image/png"), b"ascii"));
        assert!(!BodyEncoding::Never.sends_as_text(Some(b"text/plain"), b"\xff"));
        let custom = BodyEncoding::Auto {
            text_types: vec!["image/svg+xml".into()],
        };
        assert!(custom.sends_as_text(Some(b"IMAGE/SVG+XML"), b"<svg/>"));
        assert!(!custom.sends_as_text(Some(b"text/plain"), b"x"));
    }
}
