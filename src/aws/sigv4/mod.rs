//! AWS Signature Version 4 signing of upstream requests.
//!
//! Given a region and a service name (`execute-api` for API Gateway IAM auth, `lambda` for
//! Lambda Function URLs and the Invoke API), and per request the current credentials, put a
//! valid SigV4 `Authorization` header (plus `X-Amz-Date`, and `X-Amz-Security-Token` for
//! temporary credentials) on the request head the proxy is about to send upstream.
//!
//! The cryptography and canonicalisation are done by the `aws-sigv4` crate (the one the AWS SDK
//! for Rust uses); this module only decides *what* is signed and applies the result:
//!
//! * [`RequestSigner::for_scope`] is built once per route at config load (region, service and
//!   the settings, which are the SDK defaults for non-S3 services: double URI encoding, path
//!   normalisation, the session token signed, no `x-amz-content-sha256` header).
//! * [`RequestSigner::sign_request_header`] is what the proxy calls on the final upstream
//!   head (`upstream_request_filter`, and the Invoke call), with the credentials of the
//!   route's [`CredentialsCell`](crate::aws::credentials::CredentialsCell). Which headers and
//!   which request target are signed: [`canonical`] (an allow-list, [`is_allow_listed`]).
//!   The official AWS test suites (`tests/sigv4_suites/`) are fed through these two calls.
//! * The payload hash is passed in precomputed ([`sha256_hex`], [`EMPTY_PAYLOAD_SHA256`]).
//!
//! Secrets never leave this module in text form: the signer holds none, the security token is
//! inserted as a sensitive header value, and [`SignError`] messages never contain the secret
//! key or the session token.

mod canonical;
mod error;
mod payload;
#[cfg(test)]
mod tests;

use std::fmt;
use std::time::SystemTime;

use aws_sigv4::http_request::{
    sign as aws_sign, PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody,
    SignableRequest, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http::header::HeaderValue;
use pingora::http::RequestHeader;

pub use canonical::is_allow_listed;
pub use error::SignError;
pub use payload::{sha256_hex, EMPTY_PAYLOAD_SHA256};

use canonical::{
    H_AUTHORIZATION, H_X_AMZ_CONTENT_SHA256, H_X_AMZ_DATE, H_X_AMZ_SECURITY_TOKEN,
    SIGNER_OWNED_HEADERS,
};

/// A signer for one (region, service). Built once per route at config load; cheap to call
/// per request. It holds no credentials: they are passed per call, as they rotate.
pub struct RequestSigner {
    region: String,
    service: String,
    /// Cloned per request; `excluded_headers` is `None`, so the clone does not allocate.
    settings: SigningSettings,
}

impl fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSigner")
            .field("region", &self.region)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl RequestSigner {
    /// A signer for `region` and `service` with the SDK defaults for non-S3 services: double
    /// URI encoding, path normalisation on, the session token signed, no
    /// `x-amz-content-sha256` header (Lambda and API Gateway want exactly that).
    pub fn for_scope(region: &str, service: &str) -> Self {
        let mut settings = SigningSettings::default();
        // We choose exactly which headers are signed (`canonical::signed_headers`), so the
        // SDK's deny-list is not needed; with `None` the per-request clone of the settings
        // does not allocate.
        settings.excluded_headers = None;
        settings.percent_encoding_mode = PercentEncodingMode::Double;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Enabled;
        settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
        settings.session_token_mode = SessionTokenMode::Include;
        Self {
            region: region.to_owned(),
            service: service.to_owned(),
            settings,
        }
    }

    /// Signs the final upstream head with `identity` (the route's current credentials):
    ///
    /// 1. removes any client-sent `authorization`, `x-amz-date`, `x-amz-security-token`,
    ///    `x-amz-content-sha256`;
    /// 2. signs the method, the head's request target exactly as Pingora will send it
    ///    ([`RequestHeader::raw_path`]), and an allow-list of headers only: `host` (required),
    ///    `content-type` (if present) and every `x-amz-*` header present. Headers a hop may
    ///    change (`user-agent`, `accept-encoding`, `connection`, `x-forwarded-*`,
    ///    `content-length`, `transfer-encoding`, ...) are never signed. Multiple values of
    ///    one header are joined with `,`; a non-UTF-8 value of an allow-listed header, or a
    ///    non-UTF-8 request target, is an error;
    /// 3. inserts `Authorization`, `X-Amz-Date` (and `X-Amz-Security-Token` when the
    ///    credentials have a session token) into the head.
    ///
    /// `payload_sha256_hex` is the lower-case hex SHA-256 of the body ([`sha256_hex`]). `time`
    /// is the signing time: call this on every attempt, as late as possible, with the current
    /// time (a signature is valid for 5 minutes after `time`, and Pingora runs
    /// `upstream_request_filter` again on each retry). Calling it twice on the same head is
    /// fine (the first signature is replaced).
    ///
    /// On error the client-sent signing headers have already been removed and nothing was
    /// added: the request must not be forwarded.
    pub fn sign_request_header(
        &self,
        identity: &Identity,
        req: &mut RequestHeader,
        payload_sha256_hex: &str,
        time: SystemTime,
    ) -> Result<(), SignError> {
        for name in SIGNER_OWNED_HEADERS {
            req.remove_header(name);
        }
        if !payload::is_sha256_hex(payload_sha256_hex) {
            return Err(SignError::new(
                "the payload hash must be 64 lower-case hex digits (sha256_hex of the body)",
            ));
        }

        let instructions = {
            let head: &RequestHeader = req;
            let target = canonical::request_target(head)?;
            let signed = canonical::signed_headers(head)?;
            let params = v4::SigningParams::builder()
                .identity(identity)
                .region(&self.region)
                .name(&self.service)
                .time(time)
                .settings(self.settings.clone())
                .build()
                .map_err(|_| SignError::new("incomplete signing parameters"))?
                .into();
            // `into_iter()` lets aws-sigv4 collect into the same allocation.
            let signable = SignableRequest::new(
                head.method.as_str(),
                target,
                signed.into_iter(),
                SignableBody::Precomputed(payload_sha256_hex.to_owned()),
            )?;
            let (instructions, _signature) = aws_sign(signable, &params)?.into_parts();
            instructions
        };

        for (name, value) in instructions.headers() {
            let (wire_name, value) = match name {
                H_AUTHORIZATION => ("Authorization", sensitive_value(value)?),
                H_X_AMZ_DATE => ("X-Amz-Date", header_value(value)?),
                H_X_AMZ_CONTENT_SHA256 => ("X-Amz-Content-Sha256", header_value(value)?),
                H_X_AMZ_SECURITY_TOKEN => ("X-Amz-Security-Token", sensitive_value(value)?),
                _ => return Err(SignError::new("aws-sigv4 returned an unexpected header")),
            };
            req.insert_header(wire_name, value)
                .map_err(|_| SignError::new("could not insert a signing header"))?;
        }
        Ok(())
    }
}

fn header_value(v: &str) -> Result<HeaderValue, SignError> {
    HeaderValue::from_str(v)
        .map_err(|_| SignError::new("aws-sigv4 produced an invalid header value"))
}

fn sensitive_value(v: &str) -> Result<HeaderValue, SignError> {
    let mut v = header_value(v)?;
    v.set_sensitive(true);
    Ok(v)
}
