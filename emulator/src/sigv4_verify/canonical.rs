//! What the signature covers: the canonical URI (the raw path encoded a second time, as AWS
//! SDKs do for every service but S3), the URI handed to scratchstack, and the query shapes
//! AWS services read differently, which are refused before any signature is computed.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

use super::Rejection;

/// Characters left alone when the (already encoded) path is encoded a second time:
/// RFC 3986 unreserved characters and `/`. Everything else, `%` included, is escaped.
const PATH_REENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// Encodes the raw path once more (`%` becomes `%25`), as AWS SDKs do for the canonical URI of
/// every service but S3. scratchstack then normalises it exactly as AWS does.
pub fn double_encode_path(raw_path: &[u8]) -> String {
    percent_encoding::percent_encode(raw_path, PATH_REENCODE).to_string()
}

/// Query shapes that AWS services canonicalise differently, so a signature over one reading is
/// refused by a service that uses the other: a raw `+` (a space to some, including the
/// scratchstack model this emulator verifies with and aws-sigv4; a literal plus to others, and
/// to RFC 3986) and empty pairs (`a=1&&b=2&`: dropped by some, kept as `=` by others). The
/// emulator stands for the strictest service and refuses them with 403, as such a service would
/// for a signature computed under the other reading.
pub(super) fn ambiguous_query(raw_query: Option<&[u8]>) -> Option<&'static str> {
    let q = raw_query?;
    if q.contains(&b'+') {
        return Some(
            "The request signature we calculated does not match the signature you provided. \
             (a raw '+' in the query is read as a space by some AWS services and as a plus by \
             others: send it percent-encoded)",
        );
    }
    if q.split(|b| *b == b'&').any(<[u8]>::is_empty) {
        return Some(
            "The request signature we calculated does not match the signature you provided. \
             (empty query pairs are read differently by AWS services)",
        );
    }
    None
}

/// The URI handed to scratchstack: double-encoded path plus the raw query.
pub(super) fn signing_uri(
    raw_path: &[u8],
    raw_query: Option<&[u8]>,
) -> Result<http::Uri, Rejection> {
    if !raw_path.starts_with(b"/") {
        return Err(Rejection::bad_request("Invalid request path"));
    }
    let mut target = double_encode_path(raw_path);
    if let Some(query) = raw_query {
        let query = std::str::from_utf8(query)
            .map_err(|_| Rejection::bad_request("Invalid query string"))?;
        target.push('?');
        target.push_str(query);
    }
    http::Uri::try_from(target).map_err(|_| Rejection::bad_request("Invalid query string"))
}
