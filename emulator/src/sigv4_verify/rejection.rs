//! The AWS-shaped refusals of a signature check: status, `x-amzn-ErrorType` and message,
//! with the wording API Gateway and Lambda use, and how scratchstack's errors map to them.

use scratchstack_aws_signature::SignatureError;

pub const MSG_MISSING_TOKEN: &str = "Missing Authentication Token";
pub const MSG_INVALID_TOKEN: &str = "The security token included in the request is invalid.";
pub const MSG_SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// Why a request is refused: an AWS-style status, `x-amzn-ErrorType` and `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub error_type: &'static str,
    pub message: String,
}

impl Rejection {
    fn new(status: u16, error_type: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            status,
            error_type,
            message: message.into(),
        }
    }

    pub fn missing_token() -> Self {
        Self::new(
            403,
            "MissingAuthenticationTokenException",
            MSG_MISSING_TOKEN,
        )
    }

    pub fn invalid_token() -> Self {
        Self::new(403, "UnrecognizedClientException", MSG_INVALID_TOKEN)
    }

    pub fn invalid_signature(message: impl Into<String>) -> Self {
        Self::new(403, "InvalidSignatureException", message)
    }

    pub fn incomplete_signature(message: impl Into<String>) -> Self {
        Self::new(403, "IncompleteSignatureException", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequestException", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalServerErrorException", message)
    }

    pub(super) fn from_signature_error(e: SignatureError) -> Self {
        match e {
            SignatureError::MissingAuthenticationToken(_) => Self::missing_token(),
            SignatureError::InvalidClientTokenId(_) => Self::invalid_token(),
            SignatureError::IncompleteSignature(m) => Self::incomplete_signature(m),
            SignatureError::SignatureDoesNotMatch(m) => {
                Self::invalid_signature(m.unwrap_or_else(|| MSG_SIGNATURE_MISMATCH.into()))
            }
            SignatureError::ExpiredToken(m) => Self::new(403, "ExpiredTokenException", m),
            SignatureError::InvalidURIPath(m) | SignatureError::MalformedQueryString(m) => {
                Self::bad_request(m)
            }
            other => Self::internal(format!("signature verification failed: {other}")),
        }
    }
}
