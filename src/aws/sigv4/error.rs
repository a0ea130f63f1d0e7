//! [`SignError`]: why a request could not be signed, in words that never carry a secret.

use std::fmt;

/// Why a request could not be signed. The message never contains the secret key or the
/// session token (nor any header value): it is always one of the fixed texts of this module.
#[derive(Debug)]
pub struct SignError(&'static str);

impl SignError {
    pub(super) fn new(msg: &'static str) -> Self {
        Self(msg)
    }
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigV4 signing failed: {}", self.0)
    }
}

impl std::error::Error for SignError {}
