//! The payload hash SigV4 signs: lower-case hex SHA-256 of the body, computed by the caller
//! before the head is signed (the proxy hashes the buffered body).

use sha2::{Digest, Sha256};

/// Hex SHA-256 of the empty string: the payload hash of a request without a body.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Lower-case hex SHA-256 of `data`, the form SigV4 wants for the payload hash.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Whether `s` has the form [`sha256_hex`] returns (64 lower-case hex digits).
pub(super) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
