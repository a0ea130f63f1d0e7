//! AWS Signature Version 4 signing of upstream requests.
//!
//! Given a region and a service name (`execute-api` for API Gateway IAM auth, `lambda` for
//! Lambda Function URLs and the Invoke API), and per request the current credentials, put a
//! valid SigV4 `Authorization` header (plus `X-Amz-Date`, and `X-Amz-Security-Token` for
//! temporary credentials) on the request head the proxy is about to send upstream.
//!
//! What is ours and what is aws-sigv4's (the crate the AWS SDK for Rust signs with):
//!
//! * ours, a narrow canonicaliser for exactly what the proxy signs, with the settings the SDK
//!   uses for services other than S3 (double URI encoding, path normalisation, the session
//!   token signed, no `x-amz-content-sha256` header): `uri` (canonical URI and query),
//!   `canonical` (which headers and which request target are signed, an allow-list,
//!   [`is_allow_listed`]; the canonical headers), `signature` (canonical request, string to
//!   sign, `Authorization`, in reused per-thread buffers), `amz_date` (the timestamps);
//! * ours, `key_cache`: the signing key derived once per day and secret key, not per request;
//! * aws-sigv4's: the cryptography, `generate_signing_key` (the four chained HMACs) and
//!   `calculate_signature`.
//!
//! Why: aws-sigv4's `http_request::sign` derives the key on every request and builds the
//! canonical request with about 80 allocations; in a profile of the gateway under load its
//! formatting and allocations were about 15% of the CPU. The output is byte for byte the
//! same: `differential/` signs hundreds of tricky requests both ways (aws-sigv4's `sign` kept
//! there as the oracle), and the official AWS test suites (`tests/sigv4_suites/`), the
//! emulator's independent verifier and botocore check it from outside.
//!
//! * [`RequestSigner::for_scope`] is built once per route at config load (region, service).
//! * [`RequestSigner::sign_request_header`] is what the proxy calls on the final upstream
//!   head (`upstream_request_filter`, and the Invoke call), with the credentials of the
//!   route's [`CredentialsCell`](crate::aws::credentials::CredentialsCell). The official AWS
//!   test suites (`tests/sigv4_suites/`) are fed through these two calls.
//! * The payload hash is passed in precomputed ([`sha256_hex`], [`EMPTY_PAYLOAD_SHA256`]).
//!
//! Secrets never leave this module in text form: the signer's `Debug` shows neither the cached
//! key nor the secret, the security token is inserted as a sensitive header value, and
//! [`SignError`] messages never contain the secret key or the session token.

mod amz_date;
mod canonical;
#[cfg(test)]
mod differential;
mod error;
mod key_cache;
mod payload;
mod signature;
#[cfg(test)]
mod tests;
mod uri;

use std::fmt;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http::header::HeaderValue;
use pingora::http::RequestHeader;

pub use canonical::is_allow_listed;
pub use error::SignError;
pub use payload::{sha256_hex, EMPTY_PAYLOAD_SHA256};

use amz_date::AmzDate;
use canonical::SIGNER_OWNED_HEADERS;
use key_cache::SigningKeyCache;
use signature::{Request, Scope};

/// A signer for one (region, service). Built once per route at config load; cheap to call
/// per request. It holds no credentials: they are passed per call, as they rotate. It keeps
/// the last signing key derived from them (`key_cache`), never shown by `Debug`.
pub struct RequestSigner {
    region: String,
    service: String,
    /// `/<region>/<service>/aws4_request`: the credential scope after the date.
    scope_suffix: String,
    keys: SigningKeyCache,
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
        Self {
            region: region.to_owned(),
            service: service.to_owned(),
            scope_suffix: format!("/{region}/{service}/aws4_request"),
            keys: SigningKeyCache::new(),
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
        let creds = identity
            .data::<Credentials>()
            .ok_or_else(|| SignError::new("the identity is not AWS credentials"))?;
        let date = AmzDate::new(time)?;
        let token = match creds.session_token() {
            Some(t) => Some(sensitive_value(HeaderValue::from_str(t).map_err(|_| {
                SignError::new("the session token is not a valid header value")
            })?)),
            None => None,
        };

        let authorization = {
            let head: &RequestHeader = req;
            let target = canonical::request_target(head)?;
            let request = Request {
                target: &target,
                date: &date,
                access_key_id: creds.access_key_id(),
                secret: creds.secret_access_key(),
                session_token: creds.session_token(),
                payload_sha256_hex,
                time,
            };
            let scope = Scope {
                region: &self.region,
                service: &self.service,
                suffix: &self.scope_suffix,
            };
            signature::authorization(head, &request, &scope, &self.keys)?
        };
        // No copy: the value takes over the string.
        let authorization = HeaderValue::from_maybe_shared(Bytes::from(authorization))
            .map_err(|_| SignError::new("the access key id is not a valid header value"))?;
        let x_amz_date = HeaderValue::from_str(date.date_time()).expect("digits, T and Z");

        // The order aws-sigv4 returned them in.
        let insert = |req: &mut RequestHeader, name: &'static str, value: HeaderValue| {
            req.insert_header(name, value)
                .map_err(|_| SignError::new("could not insert a signing header"))
        };
        insert(req, "X-Amz-Date", x_amz_date)?;
        insert(req, "Authorization", sensitive_value(authorization))?;
        if let Some(token) = token {
            insert(req, "X-Amz-Security-Token", token)?;
        }
        Ok(())
    }
}

fn sensitive_value(mut v: HeaderValue) -> HeaderValue {
    v.set_sensitive(true);
    v
}
