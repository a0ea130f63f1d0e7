//! Works around one scratchstack-aws-signature 0.11 bug: it sorts the canonical query string as
//! whole `key=value` strings, while SigV4 (AWS, and every AWS SDK) sorts by key, then by value.
//! The orders differ only when one key is a prefix of another and the next character sorts
//! before `=` (`a=1&a1=2`, `id=1&id.x=2`): scratchstack alone would refuse correctly signed
//! requests with such queries and accept ones signed over the wrong order.
//!
//! Only for such queries, and only once scratchstack has passed every other check (region,
//! service, date, key, token), the canonical request is rebuilt here with the SigV4 order
//! (otherwise exactly as scratchstack builds it) and this comparison alone decides.

use http::header::{AUTHORIZATION, DATE};
use scratchstack_aws_signature::KSigningKey;
use sha2::{Digest, Sha256};

use crate::sigv4_verify::SignedRequest;

/// Whether scratchstack's order of this raw query differs from the SigV4 order.
pub fn applies(raw_query: Option<&[u8]>) -> bool {
    let Some(pairs) = raw_query.and_then(normalized_pairs) else {
        return false;
    };
    let mut by_string: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    by_string.sort_unstable();
    by_string.join("&") != canonical_query(pairs)
}

/// Recomputes the signature of `req` with the SigV4 query order. `encoded_path` is the
/// double-encoded raw path; `key` is the signing key scratchstack derived for this request.
pub fn signature_matches(req: &SignedRequest, encoded_path: &str, key: &KSigningKey) -> bool {
    let Some(auth) = AuthHeader::parse(req) else {
        return false;
    };
    let Some(timestamp) = req
        .headers
        .get("x-amz-date")
        .or_else(|| req.headers.get(DATE))
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(path) = canonical_path(encoded_path) else {
        return false;
    };
    let Some(pairs) = req.raw_query.as_deref().and_then(normalized_pairs) else {
        return false;
    };
    let Some((_, scope)) = auth.credential.split_once('/') else {
        return false;
    };

    let mut creq = Vec::with_capacity(1024);
    creq.extend(req.method.as_str().as_bytes());
    creq.push(b'\n');
    creq.extend(path.as_bytes());
    creq.push(b'\n');
    creq.extend(canonical_query(pairs).as_bytes());
    creq.push(b'\n');
    for name in &auth.signed_headers {
        let mut values = req.headers.get_all(name.as_str()).iter().peekable();
        if values.peek().is_none() {
            continue;
        }
        creq.extend(name.as_bytes());
        creq.push(b':');
        for (i, value) in values.enumerate() {
            if i > 0 {
                creq.push(b',');
            }
            creq.extend(normalize_header_value(value.as_bytes()));
        }
        creq.push(b'\n');
    }
    creq.push(b'\n');
    creq.extend(auth.signed_headers.join(";").as_bytes());
    creq.push(b'\n');
    creq.extend(hex::encode(Sha256::digest(&req.body)).as_bytes());

    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        timestamp.trim(),
        hex::encode(Sha256::digest(&creq))
    );
    let expected = hex::encode(hmac_sha256(key.as_ref(), string_to_sign.as_bytes()));
    expected == auth.signature
}

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`
/// used here, read as scratchstack reads them (last value of a key wins, headers sorted).
struct AuthHeader {
    credential: String,
    signed_headers: Vec<String>,
    signature: String,
}

impl AuthHeader {
    fn parse(req: &SignedRequest) -> Option<Self> {
        let raw = req.headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
        let params = raw.strip_prefix("AWS4-HMAC-SHA256 ")?;
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for param in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = param.split_once('=')?;
            match key {
                "Credential" => credential = Some(value.to_string()),
                "SignedHeaders" => signed_headers = Some(value),
                "Signature" => signature = Some(value.to_string()),
                _ => {}
            }
        }
        let mut signed_headers: Vec<String> =
            signed_headers?.split(';').map(str::to_string).collect();
        signed_headers.sort();
        Some(AuthHeader {
            credential: credential?,
            signed_headers,
            signature: signature?,
        })
    }
}

/// Query pairs, each element normalised as scratchstack does; `None` on a bad escape.
fn normalized_pairs(raw_query: &[u8]) -> Option<Vec<(String, String)>> {
    let query = std::str::from_utf8(raw_query).ok()?;
    query
        .split('&')
        .filter(|c| !c.is_empty())
        .map(|component| {
            let (k, v) = component.split_once('=').unwrap_or((component, ""));
            Some((normalize_element(k)?, normalize_element(v)?))
        })
        .collect()
}

/// SigV4 order: by key, then value; the signature parameter itself is left out.
fn canonical_query(mut pairs: Vec<(String, String)>) -> String {
    pairs.retain(|(k, _)| k != "X-Amz-Signature");
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 normalisation of one URI element, as scratchstack does it: unreserved characters
/// plain, everything else `%XX` upper-case, `+` as `%20`.
fn normalize_element(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if is_unreserved(c) {
            out.push(c as char);
            i += 1;
        } else if c == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let decoded = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            if is_unreserved(decoded) {
                out.push(decoded as char);
            } else {
                out.push_str(&format!("%{decoded:02X}"));
            }
            i += 3;
        } else if c == b'+' {
            out.push_str("%20");
            i += 1;
        } else {
            out.push_str(&format!("%{c:02X}"));
            i += 1;
        }
    }
    Some(out)
}

/// scratchstack's canonical path for an already encoded path: repeated slashes collapsed,
/// `.` and `..` segments resolved (`None` if `..` climbs above the root).
fn canonical_path(encoded: &str) -> Option<String> {
    if encoded.is_empty() || encoded == "/" {
        return Some("/".into());
    }
    let mut collapsed = String::with_capacity(encoded.len());
    for c in encoded.chars() {
        if !(c == '/' && collapsed.ends_with('/')) {
            collapsed.push(c);
        }
    }
    let mut components: Vec<String> = collapsed
        .split('/')
        .map(|c| normalize_element(c).unwrap_or_else(|| c.to_string()))
        .collect();
    let mut i = 1;
    while i < components.len() {
        match components[i].as_str() {
            "." => {
                components.remove(i);
            }
            ".." => {
                if i <= 1 {
                    return None;
                }
                components.drain(i - 1..=i);
                i -= 1;
            }
            _ => i += 1,
        }
    }
    Some(if components.len() <= 1 {
        "/".into()
    } else {
        components.join("/")
    })
}

/// scratchstack's header value normalisation: leading and trailing spaces removed, runs of
/// spaces collapsed to one.
fn normalize_header_value(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut last_was_space = true;
    for &c in value {
        if c == b' ' {
            if !last_was_space {
                out.push(b' ');
                last_was_space = true;
            }
        } else {
            out.push(c);
            last_was_space = false;
        }
    }
    while out.last() == Some(&b' ') {
        out.pop();
    }
    out
}

/// HMAC-SHA256 (RFC 2104) over sha2.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block_key = [0u8; BLOCK];
    if key.len() > BLOCK {
        block_key[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block_key[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block_key.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block_key.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_only_real_order_differences() {
        assert!(applies(Some(b"a=1&a1=2")));
        assert!(applies(Some(b"id.x=2&id=1")));
        assert!(!applies(Some(b"x=1&y")));
        assert!(!applies(Some(b"Param1=value2&Param1=Value1")));
        assert!(!applies(Some(b"b=1&a=2&a=1")));
        assert!(!applies(Some(b"a=%zz&a1=2")));
        assert!(!applies(None));
    }

    #[test]
    fn canonical_pieces() {
        assert_eq!(
            canonical_query(normalized_pairs(b"a1=2&a=1&y&b=+%7e%2f").unwrap()),
            "a=1&a1=2&b=%20~%2F&y="
        );
        assert_eq!(
            canonical_path("/a//b/./c/../d/").as_deref(),
            Some("/a/b/d/")
        );
        assert_eq!(canonical_path("/..").as_deref(), None);
        assert_eq!(normalize_header_value(b"  a   b  "), b"a b");
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
