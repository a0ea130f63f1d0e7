//! The canonical request, the string to sign and the `Authorization` value of one request,
//! built in per-thread buffers that are reused from one request to the next (no `format!`, no
//! allocation per header), hashed with `sha2`; the HMAC is aws-sigv4's.

use std::cell::RefCell;

use aws_sigv4::sign::v4;
use pingora::http::RequestHeader;
use sha2::{Digest, Sha256};

use super::amz_date::AmzDate;
use super::canonical::{self, Target};
use super::key_cache::SigningKeyCache;
use super::uri::{self, QueryScratch};
use super::SignError;

/// The algorithm of the string to sign and of `Authorization`.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Buffers kept per thread between requests; over this size they are dropped after use.
const KEEP_BYTES: usize = 16 * 1024;

/// What one request signs besides its head.
pub(super) struct Request<'a> {
    pub(super) target: &'a Target<'a>,
    pub(super) date: &'a AmzDate,
    pub(super) access_key_id: &'a str,
    pub(super) secret: &'a str,
    pub(super) session_token: Option<&'a str>,
    pub(super) payload_sha256_hex: &'a str,
    pub(super) time: std::time::SystemTime,
}

/// The signer's fixed part: region, service, and `/<region>/<service>/aws4_request` (the
/// credential scope after the date).
pub(super) struct Scope<'a> {
    pub(super) region: &'a str,
    pub(super) service: &'a str,
    pub(super) suffix: &'a str,
}

#[derive(Default)]
struct Buffers {
    /// The canonical request, then the string to sign.
    text: String,
    /// The signed header names, `;`-separated.
    names: String,
    query: QueryScratch,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::default();
}

/// The `Authorization` value for `head` and `req` (see the module doc).
pub(super) fn authorization(
    head: &RequestHeader,
    req: &Request<'_>,
    scope: &Scope<'_>,
    keys: &SigningKeyCache,
) -> Result<String, SignError> {
    BUFFERS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut b) => {
            let out = authorization_in(&mut b, head, req, scope, keys);
            if b.text.capacity() > KEEP_BYTES || b.names.capacity() > KEEP_BYTES {
                *b = Buffers::default();
            }
            b.query.trim(KEEP_BYTES);
            out
        }
        // Not reached (nothing here signs re-entrantly); fresh buffers are as good.
        Err(_) => authorization_in(&mut Buffers::default(), head, req, scope, keys),
    })
}

fn authorization_in(
    b: &mut Buffers,
    head: &RequestHeader,
    req: &Request<'_>,
    scope: &Scope<'_>,
    keys: &SigningKeyCache,
) -> Result<String, SignError> {
    b.text.clear();
    b.names.clear();
    write_canonical_request(b, head, req)?;
    let mut creq_hash = [0u8; 64];
    hex::encode_to_slice(Sha256::digest(b.text.as_bytes()), &mut creq_hash).expect("64 hex digits");
    let creq_hash = std::str::from_utf8(&creq_hash).expect("hex is ASCII");

    let sts = &mut b.text;
    sts.clear();
    for part in [
        ALGORITHM,
        "\n",
        req.date.date_time(),
        "\n",
        req.date.date(),
        scope.suffix,
        "\n",
        creq_hash,
    ] {
        sts.push_str(part);
    }
    let signature = keys.with_key(
        req.secret,
        req.time,
        req.date,
        scope.region,
        scope.service,
        |key| v4::calculate_signature(key, sts.as_bytes()),
    );

    let parts = [
        ALGORITHM,
        " Credential=",
        req.access_key_id,
        "/",
        req.date.date(),
        scope.suffix,
        ", SignedHeaders=",
        b.names.as_str(),
        ", Signature=",
        signature.as_str(),
    ];
    let mut authz = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        authz.push_str(part);
    }
    Ok(authz)
}

/// Method, canonical URI, canonical query, canonical headers, signed names, payload hash.
fn write_canonical_request(
    b: &mut Buffers,
    head: &RequestHeader,
    req: &Request<'_>,
) -> Result<(), SignError> {
    let (path, query) = req.target.path_and_query()?;
    let out = &mut b.text;
    out.push_str(head.method.as_str());
    out.push('\n');
    uri::write_canonical_uri(out, path);
    out.push('\n');
    if let Some(q) = query {
        uri::write_canonical_query(out, q, &mut b.query);
    }
    out.push('\n');
    canonical::write_canonical_headers(
        head,
        req.date.date_time(),
        req.session_token,
        out,
        &mut b.names,
    )?;
    out.push('\n');
    out.push_str(&b.names);
    out.push('\n');
    out.push_str(req.payload_sha256_hex);
    Ok(())
}

/// The canonical request `head` would be signed with (for tests that show it).
#[cfg(test)]
pub(super) fn canonical_request(
    head: &RequestHeader,
    req: &Request<'_>,
) -> Result<String, SignError> {
    let mut b = Buffers::default();
    write_canonical_request(&mut b, head, req)?;
    Ok(b.text)
}
