//! [`SignError`]: why a request could not be signed, in words that never carry a secret.

use std::borrow::Cow;
use std::fmt;

/// Why a request could not be signed. The message never contains the secret key or the
/// session token (nor any header value).
#[derive(Debug)]
pub struct SignError(Cow<'static, str>);

impl SignError {
    pub(super) fn new(msg: &'static str) -> Self {
        Self(Cow::Borrowed(msg))
    }
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigV4 signing failed: {}", self.0)
    }
}

impl std::error::Error for SignError {}

impl From<aws_sigv4::http_request::SigningError> for SignError {
    fn from(e: aws_sigv4::http_request::SigningError) -> Self {
        // aws-sigv4's messages (and their `http` sources) are fixed texts such as
        // "invalid header value"; they never echo values, so no secret can end up here.
        let msg = match std::error::Error::source(&e) {
            Some(src) => format!("{e}: {src}"),
            None => e.to_string(),
        };
        Self(Cow::Owned(msg))
    }
}
