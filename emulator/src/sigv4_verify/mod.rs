//! SigV4 verification for the `/iam` (service `execute-api`) and `/url` (service `lambda`) stages
//! and the Lambda Invoke API (service `lambda`; ARNs in the path are encoded twice),
//! done the way API Gateway and Lambda Function URLs do it and answered with their error bodies.
//!
//! scratchstack-aws-signature computes and compares the signature (deliberately not aws-sigv4,
//! which is the signer under test). Around it this module adds what AWS does: a ±5 minute clock
//! window, known access keys and exact session tokens, `host` always signed, and the
//! double-URI-encoded canonical path that AWS SDKs use for every service but S3.

mod canonical;
#[cfg(test)]
mod canonical_tests;
mod rejection;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{AUTHORIZATION, DATE};
use http::{HeaderMap, Method};
use scratchstack_aws_signature::{
    service_for_signing_key_fn, sigv4_validate_request, GetSigningKeyRequest,
    GetSigningKeyResponse, KSecretKey, KSigningKey, SignatureError, SignatureOptions,
    VecSignedHeaderRequirements,
};

use crate::amz_date;
use crate::query_sort_fix;

use self::canonical::{ambiguous_query, double_encode_path, signing_uri};
pub use self::rejection::Rejection;
use self::rejection::{MSG_INVALID_TOKEN, MSG_SIGNATURE_MISMATCH};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The SigV4 service name API Gateway (IAM auth) checks.
pub const SERVICE_EXECUTE_API: &str = "execute-api";
/// The SigV4 service name Lambda Function URLs (AWS_IAM auth) check.
pub const SERVICE_LAMBDA: &str = "lambda";

/// One accepted credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<set>"),
            )
            .finish()
    }
}

/// A request as it arrived on the wire, which is what the signature has to cover.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    pub method: Method,
    /// The raw path, without the query, exactly as received.
    pub raw_path: Vec<u8>,
    /// The raw query (without `?`), exactly as received.
    pub raw_query: Option<Vec<u8>>,
    /// Received headers; for HTTP/2 the `:authority` has been added as `host`.
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Checks SigV4 `Authorization` headers against the configured credentials and region.
#[derive(Debug, Clone)]
pub struct Verifier {
    region: String,
    credentials: Arc<[Credential]>,
}

impl Verifier {
    pub fn new(region: impl Into<String>, credentials: Vec<Credential>) -> Self {
        Verifier {
            region: region.into(),
            credentials: credentials.into(),
        }
    }

    /// Verifies `req` for `service` at time `now`; on success returns the access key used.
    pub async fn verify(
        &self,
        req: &SignedRequest,
        service: &str,
        now: SystemTime,
    ) -> Result<String, Rejection> {
        if !req.headers.contains_key(AUTHORIZATION) {
            return Err(Rejection::missing_token());
        }
        check_request_time(&req.headers, now)?;
        if let Some(why) = ambiguous_query(req.raw_query.as_deref()) {
            return Err(Rejection::invalid_signature(why));
        }

        let uri = signing_uri(&req.raw_path, req.raw_query.as_deref())?;
        let mut request = http::Request::builder()
            .method(req.method.clone())
            .uri(uri)
            .body(req.body.clone())
            .map_err(|e| Rejection::bad_request(format!("Invalid request: {e}")))?;
        *request.headers_mut() = req.headers.clone();

        // The key lookup records which credential (and derived key) scratchstack asked for.
        let looked_up: Arc<Mutex<Option<(String, KSigningKey)>>> = Arc::default();
        let record = looked_up.clone();
        let credentials = self.credentials.clone();
        let lookup = as_fn_mut(move |gsk: GetSigningKeyRequest| {
            let result = signing_key(&credentials, &gsk);
            if let (Ok(response), Ok(mut slot)) = (&result, record.lock()) {
                *slot = Some((gsk.access_key().to_string(), *response.signing_key()));
            }
            std::future::ready(result)
        });
        let mut signing_keys = service_for_signing_key_fn(lookup);
        let required_signed =
            VecSignedHeaderRequirements::new(&["host"], &["x-amz-date"], &[] as &[&str]);

        let outcome = sigv4_validate_request(
            request,
            &self.region,
            service,
            &mut signing_keys,
            now.into(),
            &required_signed,
            SignatureOptions::default(),
        )
        .await;
        let looked_up = looked_up.lock().ok().and_then(|mut slot| slot.take());

        let error = match outcome {
            Ok(_) => None,
            Err(e) => match e.downcast::<SignatureError>() {
                Ok(e) => Some(*e),
                Err(other) => return Err(Rejection::internal(other.to_string())),
            },
        };

        // scratchstack sorts some query strings differently from SigV4 (see query_sort_fix).
        // For those, once every other check has passed, the final comparison is redone with the
        // SigV4 order and decides alone: a signature over scratchstack's order is refused too.
        let only_signature_left = match &error {
            None => true,
            Some(SignatureError::SignatureDoesNotMatch(Some(m))) => m == MSG_SIGNATURE_MISMATCH,
            Some(_) => false,
        };
        if only_signature_left && query_sort_fix::applies(req.raw_query.as_deref()) {
            let Some((access_key, key)) = looked_up else {
                return Err(Rejection::internal("no credential was looked up"));
            };
            let path = double_encode_path(&req.raw_path);
            return if query_sort_fix::signature_matches(req, &path, &key) {
                Ok(access_key)
            } else {
                Err(Rejection::invalid_signature(MSG_SIGNATURE_MISMATCH))
            };
        }

        match error {
            None => looked_up
                .map(|(access_key, _)| access_key)
                .ok_or_else(|| Rejection::internal("no credential was looked up")),
            Some(error) => Err(Rejection::from_signature_error(error)),
        }
    }
}

/// Pins a closure to `FnMut` (a tower `Service` needs it; `service_for_signing_key_fn` only
/// asks for `FnOnce`, which would otherwise be what the closure is inferred as).
fn as_fn_mut<F, R>(f: F) -> F
where
    F: FnMut(GetSigningKeyRequest) -> R,
{
    f
}

/// scratchstack's key lookup: the access key must be known and the session token must be
/// exactly the configured one (absent when none is configured).
fn signing_key(
    credentials: &[Credential],
    req: &GetSigningKeyRequest,
) -> Result<GetSigningKeyResponse, BoxError> {
    let invalid = || -> BoxError {
        Box::new(SignatureError::InvalidClientTokenId(
            MSG_INVALID_TOKEN.into(),
        ))
    };
    let credential = credentials
        .iter()
        .find(|c| c.access_key == req.access_key())
        .ok_or_else(invalid)?;
    if credential.session_token.as_deref() != req.session_token() {
        return Err(invalid());
    }
    let secret = KSecretKey::from_str(&credential.secret_key).map_err(|e| -> BoxError {
        format!("unusable secret key for {}: {e}", credential.access_key).into()
    })?;
    let key = secret.to_ksigning(req.request_date(), req.region(), req.service());
    Ok(GetSigningKeyResponse::builder().signing_key(key).build()?)
}

/// The `x-amz-date` (or `Date`) header must be a SigV4 basic-format timestamp within ±5 minutes.
/// A missing date is left to scratchstack, which reports it with AWS's wording.
fn check_request_time(headers: &HeaderMap, now: SystemTime) -> Result<(), Rejection> {
    let Some(value) = headers.get("x-amz-date").or_else(|| headers.get(DATE)) else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    let Some(request_time) = amz_date::parse(text.trim()) else {
        return Err(Rejection::incomplete_signature(format!(
            "Date must be in ISO-8601 'basic format'. Got '{text}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )));
    };
    amz_date::check_skew(request_time, amz_date::unix_secs(now))
        .map_err(Rejection::invalid_signature)
}
