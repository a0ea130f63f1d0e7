//! SigV4 verification for the `/iam` (service `execute-api`) and `/url` (service `lambda`) stages
//! and the Lambda Invoke API (service `lambda`; ARNs in the path are encoded twice),
//! done the way API Gateway and Lambda Function URLs do it and answered with their error bodies.
//!
//! scratchstack-aws-signature computes and compares the signature (deliberately not aws-sigv4,
//! which is the signer under test). Around it this module adds what AWS does: a ±5 minute clock
//! window, known access keys and exact session tokens, `host` always signed, and the
//! double-URI-encoded canonical path that AWS SDKs use for every service but S3.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{AUTHORIZATION, DATE};
use http::{HeaderMap, Method};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use scratchstack_aws_signature::{
    service_for_signing_key_fn, sigv4_validate_request, GetSigningKeyRequest,
    GetSigningKeyResponse, KSecretKey, KSigningKey, SignatureError, SignatureOptions,
    VecSignedHeaderRequirements,
};

use crate::amz_date;
use crate::query_sort_fix;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The SigV4 service name API Gateway (IAM auth) checks.
pub const SERVICE_EXECUTE_API: &str = "execute-api";
/// The SigV4 service name Lambda Function URLs (AWS_IAM auth) check.
pub const SERVICE_LAMBDA: &str = "lambda";

pub const MSG_MISSING_TOKEN: &str = "Missing Authentication Token";
pub const MSG_INVALID_TOKEN: &str = "The security token included in the request is invalid.";
pub const MSG_SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// Characters left alone when the (already encoded) path is encoded a second time:
/// RFC 3986 unreserved characters and `/`. Everything else, `%` included, is escaped.
const PATH_REENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

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

    fn from_signature_error(e: SignatureError) -> Self {
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
fn ambiguous_query(raw_query: Option<&[u8]>) -> Option<&'static str> {
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
fn signing_uri(raw_path: &[u8], raw_query: Option<&[u8]>) -> Result<http::Uri, Rejection> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;
    use std::time::{Duration, UNIX_EPOCH};

    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtoken";
    /// 2015-08-30T12:36:00Z, the date of AWS's SigV4 test suite.
    const SUITE_TIME: u64 = 1_440_938_160;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn cred(token: Option<&str>) -> Credential {
        Credential {
            access_key: AKID.into(),
            secret_key: SECRET.into(),
            session_token: token.map(Into::into),
        }
    }

    fn verifier(token: Option<&str>) -> Verifier {
        Verifier::new("us-east-1", vec![cred(token)])
    }

    fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> SignedRequest {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q.as_bytes().to_vec())),
            None => (target, None),
        };
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        SignedRequest {
            method: method.parse().unwrap(),
            raw_path: path.as_bytes().to_vec(),
            raw_query: query,
            headers: map,
            body: Bytes::copy_from_slice(body),
        }
    }

    /// Signs with aws-sigv4 (default settings, like the AWS SDKs) and adds the result.
    fn sign_request(
        req: &mut SignedRequest,
        service: &str,
        time: SystemTime,
        secret: &str,
        token: Option<&str>,
    ) {
        sign_request_with(
            req,
            service,
            time,
            secret,
            token,
            SigningSettings::default(),
        );
    }

    /// Signs with aws-sigv4 and the given settings.
    fn sign_request_with(
        req: &mut SignedRequest,
        service: &str,
        time: SystemTime,
        secret: &str,
        token: Option<&str>,
        settings: SigningSettings,
    ) {
        let identity = Credentials::new(AKID, secret, token.map(Into::into), None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name(service)
            .time(time)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let host = req.headers["host"].to_str().unwrap().to_string();
        let mut url = format!("https://{host}{}", String::from_utf8_lossy(&req.raw_path));
        if let Some(q) = &req.raw_query {
            url.push('?');
            url.push_str(std::str::from_utf8(q).unwrap());
        }
        let headers: Vec<(String, String)> = req
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        let signable = SignableRequest::new(
            req.method.as_str(),
            url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(&req.body),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        for (name, value) in instructions.headers() {
            req.headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn signed_post(
        body: &[u8],
        time: SystemTime,
        secret: &str,
        token: Option<&str>,
    ) -> SignedRequest {
        let mut req = request(
            "POST",
            "/iam/prod/a%20b/c+d?x=1&y&z=%2Fq",
            &[
                ("host", "abc.execute-api.us-east-1.amazonaws.com"),
                ("content-type", "application/json"),
            ],
            body,
        );
        sign_request(&mut req, SERVICE_EXECUTE_API, time, secret, token);
        req
    }

    #[test]
    fn aws_test_suite_get_vanilla_verifies() {
        // get-vanilla from AWS's SigV4 test suite (bundled with scratchstack), service "service".
        let req = request(
            "GET",
            "/",
            &[
                ("host", "example.amazonaws.com"),
                ("x-amz-date", "20150830T123600Z"),
                ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
            ],
            b"",
        );
        let v = verifier(None);
        assert_eq!(
            block_on(v.verify(&req, "service", at(SUITE_TIME))),
            Ok(AKID.to_string())
        );
        // The same signature is not valid for another service or region.
        assert_eq!(
            block_on(v.verify(&req, SERVICE_EXECUTE_API, at(SUITE_TIME)))
                .unwrap_err()
                .error_type,
            "InvalidSignatureException"
        );
        let other_region = Verifier::new("eu-west-1", vec![cred(None)]);
        assert_eq!(
            block_on(other_region.verify(&req, "service", at(SUITE_TIME)))
                .unwrap_err()
                .status,
            403
        );
    }

    #[test]
    fn aws_sigv4_signed_request_verifies() {
        let now = at(SUITE_TIME + 1000);
        let req = signed_post(b"{\"hello\":\"world\"}", now, SECRET, None);
        assert_eq!(
            block_on(verifier(None).verify(&req, SERVICE_EXECUTE_API, now)),
            Ok(AKID.into())
        );

        let mut lambda = request(
            "PUT",
            "/url/x",
            &[("host", "abc.lambda-url.us-east-1.on.aws")],
            b"data",
        );
        sign_request(&mut lambda, SERVICE_LAMBDA, now, SECRET, None);
        assert_eq!(
            block_on(verifier(None).verify(&lambda, SERVICE_LAMBDA, now)),
            Ok(AKID.into())
        );
        // Signed for lambda, presented to execute-api.
        assert!(block_on(verifier(None).verify(&lambda, SERVICE_EXECUTE_API, now)).is_err());
    }

    #[test]
    fn one_byte_body_change_fails() {
        let now = at(SUITE_TIME);
        let mut req = signed_post(b"{\"hello\":\"world\"}", now, SECRET, None);
        req.body = Bytes::from_static(b"{\"hello\":\"World\"}");
        assert_eq!(
            block_on(verifier(None).verify(&req, SERVICE_EXECUTE_API, now)),
            Err(Rejection::invalid_signature(MSG_SIGNATURE_MISMATCH))
        );
    }

    #[test]
    fn path_and_query_are_covered() {
        let now = at(SUITE_TIME);
        let mut req = signed_post(b"", now, SECRET, None);
        req.raw_path = b"/iam/prod/a%20b/c%2Bd".to_vec();
        assert!(block_on(verifier(None).verify(&req, SERVICE_EXECUTE_API, now)).is_err());
        let mut req = signed_post(b"", now, SECRET, None);
        req.raw_query = Some(b"x=2&y&z=%2Fq".to_vec());
        assert!(block_on(verifier(None).verify(&req, SERVICE_EXECUTE_API, now)).is_err());
    }

    #[test]
    fn wrong_secret_fails() {
        let now = at(SUITE_TIME);
        let req = signed_post(
            b"body",
            now,
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ",
            None,
        );
        assert_eq!(
            block_on(verifier(None).verify(&req, SERVICE_EXECUTE_API, now)),
            Err(Rejection::invalid_signature(MSG_SIGNATURE_MISMATCH))
        );
    }

    #[test]
    fn unknown_access_key_fails() {
        let now = at(SUITE_TIME);
        let req = signed_post(b"body", now, SECRET, None);
        let v = Verifier::new(
            "us-east-1",
            vec![Credential {
                access_key: "AKIDOTHER".into(),
                ..cred(None)
            }],
        );
        assert_eq!(
            block_on(v.verify(&req, SERVICE_EXECUTE_API, now)),
            Err(Rejection::invalid_token())
        );
    }

    #[test]
    fn session_tokens_must_match() {
        let now = at(SUITE_TIME);
        // Credential with a token: a correctly signed request carrying it passes...
        let with_token = signed_post(b"body", now, SECRET, Some(TOKEN));
        assert_eq!(
            block_on(verifier(Some(TOKEN)).verify(&with_token, SERVICE_EXECUTE_API, now)),
            Ok(AKID.into())
        );
        // ...a request without the token fails, even though its signature is right.
        let without_token = signed_post(b"body", now, SECRET, None);
        assert_eq!(
            block_on(verifier(Some(TOKEN)).verify(&without_token, SERVICE_EXECUTE_API, now)),
            Err(Rejection::invalid_token())
        );
        // ...and so does another token.
        let other = signed_post(b"body", now, SECRET, Some("another-token"));
        assert_eq!(
            block_on(verifier(Some(TOKEN)).verify(&other, SERVICE_EXECUTE_API, now)),
            Err(Rejection::invalid_token())
        );
        // Credential without a token: a token in the request is refused.
        assert_eq!(
            block_on(verifier(None).verify(&with_token, SERVICE_EXECUTE_API, now)),
            Err(Rejection::invalid_token())
        );
    }

    #[test]
    fn old_or_future_date_fails() {
        let signed_at = at(SUITE_TIME);
        let req = signed_post(b"body", signed_at, SECRET, None);
        let v = verifier(None);
        assert!(block_on(v.verify(&req, SERVICE_EXECUTE_API, at(SUITE_TIME + 300))).is_ok());
        let late = block_on(v.verify(&req, SERVICE_EXECUTE_API, at(SUITE_TIME + 301))).unwrap_err();
        assert_eq!(late.error_type, "InvalidSignatureException");
        assert!(
            late.message
                .starts_with("Signature expired: 20150830T123600Z is now earlier than"),
            "{}",
            late.message
        );
        let early =
            block_on(v.verify(&req, SERVICE_EXECUTE_API, at(SUITE_TIME - 301))).unwrap_err();
        assert!(
            early.message.starts_with("Signature not yet current"),
            "{}",
            early.message
        );
    }

    #[test]
    fn malformed_authorization_is_refused() {
        let now = at(SUITE_TIME);
        let v = verifier(None);
        let base = [("host", "h"), ("x-amz-date", "20150830T123600Z")];
        let no_auth = request("GET", "/iam/x", &base, b"");
        assert_eq!(
            block_on(v.verify(&no_auth, SERVICE_EXECUTE_API, now)),
            Err(Rejection::missing_token())
        );
        for auth in [
            "",
            "Bearer abc",
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 Credential",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/execute-api/aws4_request, SignedHeaders=x-amz-date, Signature=00",
            "AWS4-HMAC-SHA256 Credential=////, SignedHeaders=;;;, Signature=",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=00",
        ] {
            let mut headers = base.to_vec();
            headers.push(("authorization", auth));
            let req = request("GET", "/iam/x", &headers, b"");
            let err = block_on(v.verify(&req, SERVICE_EXECUTE_API, now)).unwrap_err();
            assert!(err.status == 403 || err.status == 400, "{auth}: {err:?}");
        }
        // A date that is not in SigV4 basic format.
        let req = request(
            "GET",
            "/iam/x",
            &[
                ("host", "h"),
                ("x-amz-date", "Sun, 30 Aug 2015 12:36:00 GMT"),
                ("authorization", "AWS4-HMAC-SHA256 Credential=a"),
            ],
            b"",
        );
        assert_eq!(
            block_on(v.verify(&req, SERVICE_EXECUTE_API, now))
                .unwrap_err()
                .error_type,
            "IncompleteSignatureException"
        );
        // Bad escapes in the path or query.
        let mut req = signed_post(b"", now, SECRET, None);
        req.raw_path = b"/iam/%zz".to_vec();
        assert!(block_on(v.verify(&req, SERVICE_EXECUTE_API, now)).is_err());
        let mut req = signed_post(b"", now, SECRET, None);
        req.raw_query = Some(b"a=%".to_vec());
        assert!(block_on(v.verify(&req, SERVICE_EXECUTE_API, now)).is_err());
        let mut req = signed_post(b"", now, SECRET, None);
        req.raw_path = b"no-slash".to_vec();
        assert_eq!(
            block_on(v.verify(&req, SERVICE_EXECUTE_API, now))
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn host_must_be_signed() {
        let now = at(SUITE_TIME);
        let mut req = request("GET", "/iam/x", &[("host", "h")], b"");
        sign_request(&mut req, SERVICE_EXECUTE_API, now, SECRET, None);
        let auth = req.headers["authorization"]
            .to_str()
            .unwrap()
            .replace("host;", "");
        req.headers.insert(AUTHORIZATION, auth.parse().unwrap());
        let err = block_on(verifier(None).verify(&req, SERVICE_EXECUTE_API, now)).unwrap_err();
        assert_eq!(err.error_type, "InvalidSignatureException");
    }

    #[test]
    fn double_encoding() {
        assert_eq!(
            double_encode_path(b"/a%20b/c+d/~x.y_z-"),
            "/a%2520b/c%2Bd/~x.y_z-"
        );
        assert_eq!(double_encode_path("/ሴ".as_bytes()), "/%E1%88%B4");
    }

    /// Signs `GET /iam/x?{raw_query}` by hand, with `canonical_query` in the canonical request.
    fn hand_signed(raw_query: &str, canonical_query: &str) -> SignedRequest {
        use crate::query_sort_fix::hmac_sha256;
        use sha2::{Digest, Sha256};
        let date = "20150830T123600Z";
        let scope = "20150830/us-east-1/execute-api/aws4_request";
        let creq = format!(
            "GET\n/iam/x\n{canonical_query}\nhost:h\nx-amz-date:{date}\n\nhost;x-amz-date\n{}",
            hex::encode(Sha256::digest(b""))
        );
        let sts = format!(
            "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
            hex::encode(Sha256::digest(creq.as_bytes()))
        );
        let mut key = hmac_sha256(format!("AWS4{SECRET}").as_bytes(), b"20150830");
        for part in ["us-east-1", "execute-api", "aws4_request"] {
            key = hmac_sha256(&key, part.as_bytes());
        }
        let signature = hex::encode(hmac_sha256(&key, sts.as_bytes()));
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={AKID}/{scope}, SignedHeaders=host;x-amz-date, Signature={signature}"
        );
        request(
            "GET",
            &format!("/iam/x?{raw_query}"),
            &[
                ("host", "h"),
                ("x-amz-date", date),
                ("authorization", &auth),
            ],
            b"",
        )
    }

    #[test]
    fn signature_over_pair_sorted_query_is_refused() {
        let now = at(SUITE_TIME);
        let v = verifier(None);
        // SigV4 order (by key): accepted.
        let good = hand_signed("a1=2&a=1", "a=1&a1=2");
        assert_eq!(
            block_on(v.verify(&good, SERVICE_EXECUTE_API, now)),
            Ok(AKID.into())
        );
        // Sorted as whole "k=v" strings (what scratchstack alone would accept): refused, as AWS does.
        let bad = hand_signed("a1=2&a=1", "a1=2&a=1");
        assert_eq!(
            block_on(v.verify(&bad, SERVICE_EXECUTE_API, now)),
            Err(Rejection::invalid_signature(MSG_SIGNATURE_MISMATCH))
        );
    }

    #[test]
    fn queries_services_read_differently_are_refused() {
        let now = at(SUITE_TIME);
        let v = verifier(None);
        // A raw `+`, signed under either reading, and empty pairs: 403.
        for (raw, canonical) in [
            ("q=a+b", "q=a%20b"),
            ("q=a+b", "q=a%2Bb"),
            ("a=1&&b=2", "a=1&b=2"),
            ("a=1&", "a=1"),
        ] {
            let r = block_on(v.verify(&hand_signed(raw, canonical), SERVICE_EXECUTE_API, now));
            assert_eq!(r.unwrap_err().status, 403, "{raw}");
        }
        // The same values with one reading: accepted.
        for (raw, canonical) in [("q=a%2Bb", "q=a%2Bb"), ("q=a%20b", "q=a%20b")] {
            let r = block_on(v.verify(&hand_signed(raw, canonical), SERVICE_EXECUTE_API, now));
            assert_eq!(r, Ok(AKID.into()), "{raw}");
        }
    }

    #[test]
    fn query_keys_sorted_by_name_not_by_pair() {
        // scratchstack sorts "a1=2" before "a=1"; SigV4 (aws-sigv4, AWS) puts key "a" first.
        let now = at(SUITE_TIME);
        let mut req = request("GET", "/iam/x?a1=2&a=1&a.b=3&a-c=4", &[("host", "h")], b"");
        sign_request(&mut req, SERVICE_EXECUTE_API, now, SECRET, None);
        assert_eq!(
            block_on(verifier(None).verify(&req, SERVICE_EXECUTE_API, now)),
            Ok(AKID.into())
        );
        let mut tampered = req.clone();
        tampered.raw_query = Some(b"a1=2&a=1&a.b=3&a-c=5".to_vec());
        assert_eq!(
            block_on(verifier(None).verify(&tampered, SERVICE_EXECUTE_API, now)),
            Err(Rejection::invalid_signature(MSG_SIGNATURE_MISMATCH))
        );
        let mut wrong_secret = request("GET", "/iam/x?a1=2&a=1", &[("host", "h")], b"");
        sign_request(
            &mut wrong_secret,
            SERVICE_EXECUTE_API,
            now,
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ",
            None,
        );
        assert!(block_on(verifier(None).verify(&wrong_secret, SERVICE_EXECUTE_API, now)).is_err());
    }

    /// The Invoke path for a full, qualified ARN, encoded once as the SDKs send it.
    const ARN_PATH: &str = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aecho%3A%24LATEST/invocations";
    const LAMBDA_HOST: &str = "lambda.us-east-1.amazonaws.com";

    fn lambda_post(target: &str) -> SignedRequest {
        request(
            "POST",
            target,
            &[
                ("host", LAMBDA_HOST),
                ("x-amz-invocation-type", "RequestResponse"),
            ],
            b"{\"a\":1}",
        )
    }

    #[test]
    fn invoke_with_full_arn_verifies_with_sdk_double_encoding() {
        let now = at(SUITE_TIME);
        let v = verifier(None);
        for target in [
            ARN_PATH.to_string(),
            format!("{ARN_PATH}?Qualifier=%24LATEST"),
            "/2021-11-15/functions/123456789012%3Afunction%3Astream%3Aprod/response-streaming-invocations".into(),
        ] {
            let mut req = lambda_post(&target);
            sign_request(&mut req, SERVICE_LAMBDA, now, SECRET, None);
            assert_eq!(
                block_on(v.verify(&req, SERVICE_LAMBDA, now)),
                Ok(AKID.into()),
                "{target}"
            );
            // The same signature does not cover another function...
            let mut other = req.clone();
            other.raw_path = String::from_utf8(req.raw_path.clone())
                .unwrap()
                .replace("%3Aecho", "%3Aecha")
                .replace("%3Astream", "%3Astreak")
                .into_bytes();
            assert_eq!(
                block_on(v.verify(&other, SERVICE_LAMBDA, now)),
                Err(Rejection::invalid_signature(MSG_SIGNATURE_MISMATCH)),
                "{target}"
            );
            // ...nor the same ARN sent with literal `:` (a different raw path).
            let mut literal = req.clone();
            literal.raw_path = String::from_utf8(req.raw_path.clone())
                .unwrap()
                .replace("%3A", ":")
                .into_bytes();
            assert!(block_on(v.verify(&literal, SERVICE_LAMBDA, now)).is_err());
            // ...nor another service.
            assert!(block_on(v.verify(&req, SERVICE_EXECUTE_API, now)).is_err());
        }
    }

    #[test]
    fn invoke_with_full_arn_signed_single_encoded_fails() {
        // What `curl --aws-sigv4` does: the canonical URI is the path as sent (`%3A`), which
        // AWS (and this verifier) refuse for Lambda.
        let now = at(SUITE_TIME);
        let mut req = lambda_post(ARN_PATH);
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = aws_sigv4::http_request::PercentEncodingMode::Single;
        sign_request_with(&mut req, SERVICE_LAMBDA, now, SECRET, None, settings);
        assert_eq!(
            block_on(verifier(None).verify(&req, SERVICE_LAMBDA, now)),
            Err(Rejection::invalid_signature(MSG_SIGNATURE_MISMATCH))
        );
    }

    /// Signs `POST {raw_path}` by hand for `lambda`, with `canonical_path` in the canonical
    /// request: an independent check of the expected canonical URI.
    fn hand_signed_lambda(raw_path: &str, canonical_path: &str) -> SignedRequest {
        use crate::query_sort_fix::hmac_sha256;
        use sha2::{Digest, Sha256};
        let date = "20150830T123600Z";
        let scope = "20150830/us-east-1/lambda/aws4_request";
        let creq = format!(
            "POST\n{canonical_path}\n\nhost:{LAMBDA_HOST}\nx-amz-date:{date}\n\nhost;x-amz-date\n{}",
            hex::encode(Sha256::digest(b""))
        );
        let sts = format!(
            "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
            hex::encode(Sha256::digest(creq.as_bytes()))
        );
        let mut key = hmac_sha256(format!("AWS4{SECRET}").as_bytes(), b"20150830");
        for part in ["us-east-1", "lambda", "aws4_request"] {
            key = hmac_sha256(&key, part.as_bytes());
        }
        let signature = hex::encode(hmac_sha256(&key, sts.as_bytes()));
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={AKID}/{scope}, SignedHeaders=host;x-amz-date, Signature={signature}"
        );
        request(
            "POST",
            raw_path,
            &[
                ("host", LAMBDA_HOST),
                ("x-amz-date", date),
                ("authorization", &auth),
            ],
            b"",
        )
    }

    #[test]
    fn arn_canonical_uri_is_the_path_encoded_twice() {
        let now = at(SUITE_TIME);
        let v = verifier(None);
        let double = ARN_PATH.replace('%', "%25");
        assert!(double.contains("arn%253Aaws%253Alambda") && double.contains("%2524LATEST"));
        assert_eq!(
            block_on(v.verify(&hand_signed_lambda(ARN_PATH, &double), SERVICE_LAMBDA, now)),
            Ok(AKID.into())
        );
        let decoded = ARN_PATH.replace("%3A", ":").replace("%24", "$");
        for wrong in [ARN_PATH.to_string(), decoded] {
            assert_eq!(
                block_on(v.verify(&hand_signed_lambda(ARN_PATH, &wrong), SERVICE_LAMBDA, now)),
                Err(Rejection::invalid_signature(MSG_SIGNATURE_MISMATCH)),
                "{wrong}"
            );
        }
    }
}
