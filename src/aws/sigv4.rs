//! AWS Signature Version 4 signing of upstream requests.
//!
//! This module's job: given static credentials, a region and a service name (`execute-api` for
//! API Gateway IAM auth, `lambda` for Lambda Function URLs and the Invoke API), put a valid
//! SigV4 `Authorization` header (plus `X-Amz-Date`, and `X-Amz-Security-Token` for temporary
//! credentials) on the request head the proxy is about to send upstream.
//!
//! The cryptography and canonicalisation are done by the `aws-sigv4` crate (the one the AWS SDK
//! for Rust uses); this module only decides *what* is signed and applies the result:
//!
//! * [`RequestSigner`] is built once per route at config load (it owns the `Identity`, region,
//!   service and settings) and is cheap to call per request.
//! * [`RequestSigner::sign_request_header`] is what the proxy calls in Pingora's
//!   `upstream_request_filter`, on the final upstream head. It strips client-sent signing
//!   headers, signs an **allow-list** of headers (`host`, `content-type`, `x-amz-*`) so that a
//!   hop that rewrites `user-agent`, `accept-encoding`, `x-forwarded-*`, ... cannot break the
//!   signature, and inserts the result into the head.
//! * [`RequestSigner::sign`] is the low-level form: it signs exactly the headers it is given
//!   and returns the headers to add. The official test suites (`tests/sigv4_suites.rs`) are fed
//!   through both functions.
//!
//! The payload hash is passed in precomputed (hex SHA-256 of the body, see [`sha256_hex`] and
//! [`EMPTY_PAYLOAD_SHA256`]); the proxy hashes the buffered body before the head is signed.
//!
//! Secrets never leave this module in text form: `Debug` of [`StaticCredentials`] and
//! [`RequestSigner`] prints the access key id and `<redacted>`, and [`SignError`] messages
//! never contain the secret key or the session token.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign as aws_sign, PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody,
    SignableRequest, SigningInstructions, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http::header::{HeaderValue, CONTENT_TYPE, HOST};
use pingora::http::RequestHeader;
use sha2::{Digest, Sha256};

/// Hex SHA-256 of the empty string: the payload hash of a request without a body.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Lower-case hex SHA-256 of `data`, the form SigV4 wants for the payload hash.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Header names as `aws-sigv4` emits them (lower case).
const H_AUTHORIZATION: &str = "authorization";
const H_X_AMZ_DATE: &str = "x-amz-date";
const H_X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";
const H_X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";

/// Headers a caller must not hand to the signer: the signer produces them itself (or, for
/// `authorization`, replaces it), so signing a client-supplied copy would give a signature
/// that cannot verify.
const SIGNER_OWNED_HEADERS: [&str; 4] = [
    H_AUTHORIZATION,
    H_X_AMZ_DATE,
    H_X_AMZ_SECURITY_TOKEN,
    H_X_AMZ_CONTENT_SHA256,
];

const REDACTED: &str = "<redacted>";

/// Static credentials. `Debug` never prints the secret or the token (it prints the key id and
/// `<redacted>`).
#[derive(Clone)]
pub struct StaticCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl StaticCredentials {
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token,
        }
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// Whether these are temporary credentials (with a session token).
    pub fn has_session_token(&self) -> bool {
        self.session_token.is_some()
    }
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &REDACTED)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| REDACTED),
            )
            .finish()
    }
}

/// How the canonical URI is derived from the (already percent-encoded) request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriEncoding {
    /// Encode the wire path once more (`%` becomes `%25`). The SDK default for every service
    /// except S3; correct for `execute-api` and `lambda`.
    Double,
    /// Use the wire path as is (S3 style).
    Single,
}

/// Why a request could not be signed. The message never contains the secret key or the
/// session token (nor any header value).
#[derive(Debug)]
pub struct SignError(Cow<'static, str>);

impl SignError {
    fn new(msg: &'static str) -> Self {
        Self(Cow::Borrowed(msg))
    }

    /// The error message.
    pub fn message(&self) -> &str {
        &self.0
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

/// A signer for one (credentials, region, service). Built once per route at config load;
/// cheap to call per request. `Debug` is redacted.
pub struct RequestSigner {
    access_key_id: String,
    /// Built once here; `aws-sigv4` borrows it for every signature.
    identity: Identity,
    /// Precomputed `X-Amz-Security-Token` value (marked sensitive), inserted by
    /// [`RequestSigner::sign_request_header`] as a cheap refcounted clone.
    token_value: Option<HeaderValue>,
    region: String,
    service: String,
    /// Cloned per request; `excluded_headers` is `None`, so the clone does not allocate.
    settings: SigningSettings,
}

impl fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSigner")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &REDACTED)
            .field(
                "session_token",
                &self.token_value.as_ref().map(|_| REDACTED),
            )
            .field("region", &self.region)
            .field("service", &self.service)
            .field("uri_encoding", &self.uri_encoding())
            .field("path_normalization", &self.path_normalization())
            .field("signed_session_token", &self.signed_session_token())
            .field("content_sha256_header", &self.content_sha256_header())
            .finish()
    }
}

impl RequestSigner {
    /// A signer with the SDK defaults for non-S3 services: double URI encoding, path
    /// normalisation on, the session token signed, no `x-amz-content-sha256` header.
    pub fn new(creds: &StaticCredentials, region: &str, service: &str) -> Self {
        let identity: Identity = Credentials::new(
            creds.access_key_id.clone(),
            creds.secret_access_key.clone(),
            creds.session_token.clone(),
            None,
            "lambda-proxy-static",
        )
        .into();
        // A token that is not a valid header value cannot be sent at all; `sign` reports
        // that (aws-sigv4 fails on it), so here it is simply not precomputed.
        let token_value = creds
            .session_token
            .as_deref()
            .and_then(|t| HeaderValue::from_str(t).ok())
            .map(|mut v| {
                v.set_sensitive(true);
                v
            });
        let mut settings = SigningSettings::default();
        // We choose exactly which headers are signed (see `sign_request_header`), so the
        // SDK's deny-list is not needed; with `None` the per-request clone of the settings
        // does not allocate. Signer-owned headers are rejected in `sign` instead.
        settings.excluded_headers = None;
        settings.percent_encoding_mode = PercentEncodingMode::Double;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Enabled;
        settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
        settings.session_token_mode = SessionTokenMode::Include;
        Self {
            access_key_id: creds.access_key_id.clone(),
            identity,
            token_value,
            region: region.to_owned(),
            service: service.to_owned(),
            settings,
        }
    }

    /// A signer for `region` and `service` whose credentials are passed per call
    /// ([`RequestSigner::sign_request_header_as`]): routes whose credentials rotate.
    pub fn for_scope(region: &str, service: &str) -> Self {
        Self::new(&StaticCredentials::new("", "", None), region, service)
    }

    /// Canonical URI encoding; default [`UriEncoding::Double`].
    pub fn with_uri_encoding(mut self, enc: UriEncoding) -> Self {
        self.settings.percent_encoding_mode = match enc {
            UriEncoding::Double => PercentEncodingMode::Double,
            UriEncoding::Single => PercentEncodingMode::Single,
        };
        self
    }

    /// Normalise `.`/`..`/`//` path segments in the canonical URI; default on (off for S3).
    pub fn with_path_normalization(mut self, on: bool) -> Self {
        self.settings.uri_path_normalization_mode = if on {
            UriPathNormalizationMode::Enabled
        } else {
            UriPathNormalizationMode::Disabled
        };
        self
    }

    /// Whether `x-amz-security-token` is part of the signature (default `true`, as required
    /// by Lambda and API Gateway). With `false` the token header is still sent, but added
    /// after signing, as a few services require ("post-sts-header-after" in the suite).
    pub fn with_signed_session_token(mut self, on: bool) -> Self {
        self.settings.session_token_mode = if on {
            SessionTokenMode::Include
        } else {
            SessionTokenMode::Exclude
        };
        self
    }

    /// Also send (and sign) `x-amz-content-sha256: <payload hash>` (default `false`; S3 needs
    /// it, Lambda and API Gateway do not). When on, [`RequestSigner::sign`] also returns that
    /// header.
    pub fn with_content_sha256_header(mut self, on: bool) -> Self {
        self.settings.payload_checksum_kind = if on {
            PayloadChecksumKind::XAmzSha256
        } else {
            PayloadChecksumKind::NoHeader
        };
        self
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub fn uri_encoding(&self) -> UriEncoding {
        match self.settings.percent_encoding_mode {
            PercentEncodingMode::Single => UriEncoding::Single,
            _ => UriEncoding::Double,
        }
    }

    pub fn path_normalization(&self) -> bool {
        self.settings.uri_path_normalization_mode == UriPathNormalizationMode::Enabled
    }

    pub fn signed_session_token(&self) -> bool {
        self.settings.session_token_mode == SessionTokenMode::Include
    }

    pub fn content_sha256_header(&self) -> bool {
        self.settings.payload_checksum_kind == PayloadChecksumKind::XAmzSha256
    }

    /// Low level: sign exactly the given headers. They must include `host` and must not
    /// include `x-amz-date`, `x-amz-security-token`, `x-amz-content-sha256` or `authorization`
    /// (an error otherwise). Several entries with the same name are one header whose values
    /// are joined with `,` in that order, as SigV4 requires.
    ///
    /// `path_and_query` is the already-encoded request target as sent on the wire (e.g.
    /// `"/prod/a%20b?x=1&y"`). `payload_sha256_hex` is the lower-case hex SHA-256 of the body.
    ///
    /// Returns the headers to add: `("x-amz-date", ..)`, `("authorization", ..)`, then
    /// `("x-amz-content-sha256", ..)` if [`RequestSigner::with_content_sha256_header`] is on
    /// and `("x-amz-security-token", ..)` when the credentials have a token.
    pub fn sign(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        payload_sha256_hex: &str,
        time: SystemTime,
    ) -> Result<Vec<(&'static str, String)>, SignError> {
        let mut has_host = false;
        for (name, _) in headers {
            if SIGNER_OWNED_HEADERS
                .iter()
                .any(|owned| name.eq_ignore_ascii_case(owned))
            {
                return Err(SignError::new(
                    "authorization, x-amz-date, x-amz-security-token and x-amz-content-sha256 \
                     are produced by the signer and must not be among the headers to sign",
                ));
            }
            has_host |= name.eq_ignore_ascii_case("host");
        }
        if !has_host {
            return Err(SignError::new("the headers to sign must include host"));
        }
        let instructions = self.sign_inner(
            &self.identity,
            method,
            path_and_query,
            headers.iter().copied(),
            payload_sha256_hex,
            time,
        )?;
        let (out, _params) = instructions.into_parts();
        Ok(out
            .into_iter()
            .map(|h| (h.name(), h.value().to_owned()))
            .collect())
    }

    /// What the proxy calls in Pingora's `upstream_request_filter`, on the final upstream head:
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
    /// 3. inserts `Authorization`, `X-Amz-Date` (and `X-Amz-Security-Token`,
    ///    `X-Amz-Content-Sha256` when applicable) into the head.
    ///
    /// Call it on every attempt, as late as possible: a signature is valid for 5 minutes
    /// after `time`, and Pingora runs `upstream_request_filter` again on each retry. Calling
    /// it twice on the same head is fine (the first signature is replaced).
    ///
    /// On error the client-sent signing headers have already been removed and nothing was
    /// added: the request must not be forwarded.
    pub fn sign_request_header(
        &self,
        req: &mut RequestHeader,
        payload_sha256_hex: &str,
        time: SystemTime,
    ) -> Result<(), SignError> {
        self.sign_head(
            &self.identity,
            self.token_value.as_ref(),
            req,
            payload_sha256_hex,
            time,
        )
    }

    /// [`RequestSigner::sign_request_header`] with credentials from a rotating source.
    pub fn sign_request_header_as(
        &self,
        identity: &Identity,
        req: &mut RequestHeader,
        payload_sha256_hex: &str,
        time: SystemTime,
    ) -> Result<(), SignError> {
        self.sign_head(identity, None, req, payload_sha256_hex, time)
    }

    fn sign_head(
        &self,
        identity: &Identity,
        token_value: Option<&HeaderValue>,
        req: &mut RequestHeader,
        payload_sha256_hex: &str,
        time: SystemTime,
    ) -> Result<(), SignError> {
        for name in SIGNER_OWNED_HEADERS {
            req.remove_header(name);
        }

        let instructions = {
            let head: &RequestHeader = req;
            let Some(host) = head.headers.get(HOST) else {
                return Err(SignError::new("the upstream request has no host header"));
            };
            // `raw_path` is what Pingora writes on the request line (for HTTP/2 the same
            // path-and-query goes into `:path`).
            let target = std::str::from_utf8(head.raw_path())
                .map_err(|_| SignError::new("the request target is not valid UTF-8"))?;
            // Origin-form ("/path?query") is the normal case. An absolute-form target
            // ("http://host/path") is sent verbatim on HTTP/1.1, and a server then takes the
            // host from it rather than from `Host` (RFC 9112 §3.2.2), so the two must agree
            // for the signed `host` to be the one AWS checks. Anything else (asterisk-form,
            // authority-form) is not a request we can sign.
            if !target.starts_with('/') {
                let authority_matches = target.parse::<http::Uri>().ok().is_some_and(|u| {
                    u.scheme().is_some()
                        && u.authority().is_some_and(|a| {
                            a.as_str().as_bytes().eq_ignore_ascii_case(host.as_bytes())
                        })
                });
                if !authority_matches {
                    return Err(SignError::new(
                        "the request target is neither origin-form nor absolute-form with \
                         the host header's authority",
                    ));
                }
            }

            let mut signed: Vec<(&str, &str)> = Vec::with_capacity(4);
            for (name, value) in head.headers.iter() {
                if !is_allow_listed(name) {
                    continue;
                }
                let value = std::str::from_utf8(value.as_bytes()).map_err(|_| {
                    SignError::new(
                        "a header to be signed (host, content-type, x-amz-*) is not valid UTF-8",
                    )
                })?;
                // `HeaderMap::iter` yields the values of one name consecutively, in order;
                // aws-sigv4 joins repeated names with "," in the canonical request.
                signed.push((name.as_str(), value));
            }
            // `into_iter()` lets aws-sigv4 collect into this same allocation.
            self.sign_inner(
                identity,
                head.method.as_str(),
                target,
                signed.into_iter(),
                payload_sha256_hex,
                time,
            )?
        };

        for (name, value) in instructions.headers() {
            let (wire_name, value) = match name {
                H_AUTHORIZATION => ("Authorization", sensitive_value(value)?),
                H_X_AMZ_DATE => ("X-Amz-Date", header_value(value)?),
                H_X_AMZ_CONTENT_SHA256 => ("X-Amz-Content-Sha256", header_value(value)?),
                H_X_AMZ_SECURITY_TOKEN => match token_value {
                    Some(v) => ("X-Amz-Security-Token", v.clone()),
                    None => ("X-Amz-Security-Token", sensitive_value(value)?),
                },
                _ => return Err(SignError::new("aws-sigv4 returned an unexpected header")),
            };
            req.insert_header(wire_name, value)
                .map_err(|_| SignError::new("could not insert a signing header"))?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn sign_inner<'a>(
        &'a self,
        identity: &'a Identity,
        method: &'a str,
        path_and_query: &'a str,
        headers: impl Iterator<Item = (&'a str, &'a str)>,
        payload_sha256_hex: &str,
        time: SystemTime,
    ) -> Result<SigningInstructions, SignError> {
        if !is_sha256_hex(payload_sha256_hex) {
            return Err(SignError::new(
                "the payload hash must be 64 lower-case hex digits (sha256_hex of the body)",
            ));
        }
        let params = v4::SigningParams::builder()
            .identity(identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(self.settings.clone())
            .build()
            .map_err(|_| SignError::new("incomplete signing parameters"))?
            .into();
        let signable = SignableRequest::new(
            method,
            path_and_query,
            headers,
            SignableBody::Precomputed(payload_sha256_hex.to_owned()),
        )?;
        let (instructions, _signature) = aws_sign(signable, &params)?.into_parts();
        Ok(instructions)
    }
}

/// The allow-list of [`RequestSigner::sign_request_header`]: headers no hop between us and
/// AWS changes, and that AWS wants signed.
pub fn is_allow_listed(name: &http::HeaderName) -> bool {
    // `HeaderName`s are stored lower case.
    name == HOST || name == CONTENT_TYPE || name.as_str().starts_with("x-amz-")
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

    /// 2015-08-30T12:36:00Z, the time of the AWS test suite.
    fn suite_time() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    fn suite_signer(token: Option<&str>) -> RequestSigner {
        let creds = StaticCredentials::new(AKID, SECRET, token.map(str::to_owned));
        RequestSigner::new(&creds, "us-east-1", "service")
    }

    fn get(out: &[(&'static str, String)], name: &str) -> Option<String> {
        out.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
    }

    fn head_value(req: &RequestHeader, name: &str) -> Option<String> {
        req.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    fn signature_of(authz: &str) -> &str {
        authz.rsplit_once("Signature=").unwrap().1
    }

    fn signed_headers_of(authz: &str) -> &str {
        let rest = authz.split_once("SignedHeaders=").unwrap().1;
        rest.split_once(',').unwrap().0
    }

    #[test]
    fn empty_payload_constant_is_sha256_of_nothing() {
        assert_eq!(EMPTY_PAYLOAD_SHA256, sha256_hex(b""));
        assert_eq!(
            sha256_hex(b"Param1=value1"),
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
        );
    }

    /// "get-vanilla" from the AWS suite: a known signature for a fixed time.
    #[test]
    fn known_signature_get_vanilla() {
        let out = suite_signer(None)
            .sign(
                "GET",
                "/",
                &[("Host", "example.amazonaws.com")],
                EMPTY_PAYLOAD_SHA256,
                suite_time(),
            )
            .unwrap();
        assert_eq!(get(&out, "x-amz-date").unwrap(), "20150830T123600Z");
        assert_eq!(
            get(&out, "authorization").unwrap(),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(get(&out, "x-amz-security-token"), None);
        assert_eq!(out.len(), 2);
    }

    /// A Lambda Invoke URL with an ARN (`:` encoded once on the wire, twice in the canonical
    /// request): "double-url-encode" from the aws-sigv4 suite.
    #[test]
    fn known_signature_lambda_arn_double_encoded() {
        let creds = StaticCredentials::new(AKID, SECRET, None);
        let signer = RequestSigner::new(&creds, "us-east-2", "lambda");
        let out = signer
            .sign(
                "POST",
                "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-west-2%3A892717189312%3Afunction%3Amy-rusty-fun/invocations",
                &[("Host", "lambda.us-east-2.amazonaws.com")],
                EMPTY_PAYLOAD_SHA256,
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_620_747_645),
            )
            .unwrap();
        assert_eq!(
            signature_of(&get(&out, "authorization").unwrap()),
            "4b93abbcc68be32bd64c18e2c71150660ab4c29bbd6c32a383a7517a88fc1804"
        );
    }

    #[test]
    fn session_token_is_returned_and_signed() {
        let out = suite_signer(Some(TOKEN))
            .sign(
                "POST",
                "/",
                &[("Host", "example.amazonaws.com")],
                EMPTY_PAYLOAD_SHA256,
                suite_time(),
            )
            .unwrap();
        assert_eq!(get(&out, "x-amz-security-token").unwrap(), TOKEN);
        let authz = get(&out, "authorization").unwrap();
        assert_eq!(
            signed_headers_of(&authz),
            "host;x-amz-date;x-amz-security-token"
        );
        // post-sts-header-before
        assert_eq!(
            signature_of(&authz),
            "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"
        );

        // Through the head as well.
        let mut req = RequestHeader::build("POST", b"/", None).unwrap();
        req.insert_header("Host", "example.amazonaws.com").unwrap();
        suite_signer(Some(TOKEN))
            .sign_request_header(&mut req, EMPTY_PAYLOAD_SHA256, suite_time())
            .unwrap();
        assert_eq!(head_value(&req, "x-amz-security-token").unwrap(), TOKEN);
        assert!(req
            .headers
            .get("x-amz-security-token")
            .unwrap()
            .is_sensitive());
        assert_eq!(head_value(&req, "authorization").unwrap(), authz);
    }

    #[test]
    fn session_token_can_be_left_out_of_the_signature() {
        let out = suite_signer(Some(TOKEN))
            .with_signed_session_token(false)
            .sign(
                "POST",
                "/",
                &[("Host", "example.amazonaws.com")],
                EMPTY_PAYLOAD_SHA256,
                suite_time(),
            )
            .unwrap();
        assert_eq!(get(&out, "x-amz-security-token").unwrap(), TOKEN);
        // post-sts-header-after: same signature as without any token.
        assert_eq!(
            signature_of(&get(&out, "authorization").unwrap()),
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        );
    }

    /// The allow-list: user-agent (and other hop-mutable headers) unsigned, x-amz-* and
    /// content-type signed, client authorization / x-amz-date replaced.
    #[test]
    fn sign_request_header_allow_list() {
        let signer = suite_signer(None);
        let mut req =
            RequestHeader::build("POST", b"/2015-03-31/functions/f/invocations?x=1", None).unwrap();
        req.insert_header("Host", "lambda.us-east-1.amazonaws.com")
            .unwrap();
        req.insert_header("User-Agent", "curl/8").unwrap();
        req.insert_header("Accept-Encoding", "gzip").unwrap();
        req.insert_header("X-Forwarded-For", "10.0.0.1").unwrap();
        req.insert_header("Content-Length", "2").unwrap();
        req.insert_header("Connection", "keep-alive").unwrap();
        req.insert_header("X-Amzn-Trace-Id", "Root=1-abc").unwrap();
        req.insert_header("Content-Type", "application/json")
            .unwrap();
        req.insert_header("X-Amz-Invocation-Type", "Event").unwrap();
        req.insert_header("X-Amz-Client-Context", "e30=").unwrap();
        req.insert_header("Authorization", "AWS4-HMAC-SHA256 client-forged")
            .unwrap();
        req.insert_header("X-Amz-Date", "19990101T000000Z").unwrap();
        req.insert_header("X-Amz-Security-Token", "client-token")
            .unwrap();
        req.insert_header("X-Amz-Content-Sha256", "client").unwrap();

        let payload = sha256_hex(b"{}");
        signer
            .sign_request_header(&mut req, &payload, suite_time())
            .unwrap();

        let authz = head_value(&req, "authorization").unwrap();
        assert!(!authz.contains("client-forged"));
        assert_eq!(
            signed_headers_of(&authz),
            "content-type;host;x-amz-client-context;x-amz-date;x-amz-invocation-type"
        );
        assert_eq!(head_value(&req, "x-amz-date").unwrap(), "20150830T123600Z");
        assert_eq!(head_value(&req, "x-amz-security-token"), None);
        assert_eq!(head_value(&req, "x-amz-content-sha256"), None);
        assert_eq!(req.headers.get_all("authorization").iter().count(), 1);
        assert_eq!(req.headers.get_all("x-amz-date").iter().count(), 1);
        // Untouched.
        assert_eq!(head_value(&req, "user-agent").unwrap(), "curl/8");

        // Same as the low-level call with exactly the allow-listed headers.
        let out = signer
            .sign(
                "POST",
                "/2015-03-31/functions/f/invocations?x=1",
                &[
                    ("host", "lambda.us-east-1.amazonaws.com"),
                    ("content-type", "application/json"),
                    ("x-amz-invocation-type", "Event"),
                    ("x-amz-client-context", "e30="),
                ],
                &payload,
                suite_time(),
            )
            .unwrap();
        assert_eq!(get(&out, "authorization").unwrap(), authz);

        // A hop changing user-agent does not change the signature.
        let mut req2 = req.clone();
        req2.insert_header("User-Agent", "something-else").unwrap();
        signer
            .sign_request_header(&mut req2, &payload, suite_time())
            .unwrap();
        assert_eq!(head_value(&req2, "authorization").unwrap(), authz);

        // Changing a signed x-amz-* header does.
        let mut req3 = req.clone();
        req3.insert_header("X-Amz-Invocation-Type", "RequestResponse")
            .unwrap();
        signer
            .sign_request_header(&mut req3, &payload, suite_time())
            .unwrap();
        assert_ne!(head_value(&req3, "authorization").unwrap(), authz);
    }

    #[test]
    fn repeated_header_values_are_joined_with_commas() {
        let signer = suite_signer(None);
        let mut req = RequestHeader::build("GET", b"/", None).unwrap();
        req.insert_header("Host", "example.amazonaws.com").unwrap();
        req.append_header("X-Amz-Meta", "a").unwrap();
        req.append_header("X-Amz-Meta", " b ").unwrap();
        signer
            .sign_request_header(&mut req, EMPTY_PAYLOAD_SHA256, suite_time())
            .unwrap();
        let out = signer
            .sign(
                "GET",
                "/",
                &[("host", "example.amazonaws.com"), ("x-amz-meta", "a,b")],
                EMPTY_PAYLOAD_SHA256,
                suite_time(),
            )
            .unwrap();
        assert_eq!(
            head_value(&req, "authorization").unwrap(),
            get(&out, "authorization").unwrap()
        );
    }

    #[test]
    fn errors() {
        let signer = suite_signer(None);
        let t = suite_time();
        // No host.
        assert!(signer
            .sign("GET", "/", &[("x-amz-foo", "1")], EMPTY_PAYLOAD_SHA256, t)
            .is_err());
        let mut req = RequestHeader::build("GET", b"/", None).unwrap();
        let e = signer
            .sign_request_header(&mut req, EMPTY_PAYLOAD_SHA256, t)
            .unwrap_err();
        assert!(e.to_string().contains("host"), "{e}");
        // Signer-owned headers in the input.
        for h in [
            "X-Amz-Date",
            "x-amz-security-token",
            "x-amz-content-sha256",
            "Authorization",
        ] {
            assert!(signer
                .sign(
                    "GET",
                    "/",
                    &[("host", "h"), (h, "v")],
                    EMPTY_PAYLOAD_SHA256,
                    t
                )
                .is_err());
        }
        // Not a payload hash.
        assert!(signer.sign("GET", "/", &[("host", "h")], "{}", t).is_err());
        // Non-UTF-8 value of an allow-listed header.
        let mut req = RequestHeader::build("GET", b"/", None).unwrap();
        req.insert_header("Host", "example.amazonaws.com").unwrap();
        req.insert_header("X-Amz-Foo", HeaderValue::from_bytes(b"\xff\xfe").unwrap())
            .unwrap();
        assert!(signer
            .sign_request_header(&mut req, EMPTY_PAYLOAD_SHA256, t)
            .is_err());
        // ...but a non-UTF-8 value of a header that is not signed is fine.
        let mut req = RequestHeader::build("GET", b"/", None).unwrap();
        req.insert_header("Host", "example.amazonaws.com").unwrap();
        req.insert_header("X-Other", HeaderValue::from_bytes(b"\xff\xfe").unwrap())
            .unwrap();
        signer
            .sign_request_header(&mut req, EMPTY_PAYLOAD_SHA256, t)
            .unwrap();
    }

    #[test]
    fn absolute_form_target_must_match_host_and_resigning_replaces() {
        let signer = suite_signer(Some(TOKEN));
        let t = suite_time();
        let mut req = RequestHeader::build("GET", b"http://other.example/x?a=1", None).unwrap();
        req.insert_header("Host", "example.amazonaws.com").unwrap();
        assert!(signer
            .sign_request_header(&mut req, EMPTY_PAYLOAD_SHA256, t)
            .is_err());

        let mut req =
            RequestHeader::build("GET", b"http://example.amazonaws.com/x?a=1", None).unwrap();
        req.insert_header("Host", "example.amazonaws.com").unwrap();
        signer
            .sign_request_header(&mut req, EMPTY_PAYLOAD_SHA256, t)
            .unwrap();
        let out = signer
            .sign(
                "GET",
                "/x?a=1",
                &[("host", "example.amazonaws.com")],
                EMPTY_PAYLOAD_SHA256,
                t,
            )
            .unwrap();
        assert_eq!(
            head_value(&req, "authorization"),
            get(&out, "authorization")
        );

        // A retry signs the already-signed head again, later: one set of headers, new date.
        let later = t + Duration::from_secs(61);
        signer
            .sign_request_header(&mut req, EMPTY_PAYLOAD_SHA256, later)
            .unwrap();
        for h in ["authorization", "x-amz-date", "x-amz-security-token"] {
            assert_eq!(req.headers.get_all(h).iter().count(), 1, "{h}");
        }
        assert_eq!(head_value(&req, "x-amz-date").unwrap(), "20150830T123701Z");
        assert_ne!(
            head_value(&req, "authorization"),
            get(&out, "authorization")
        );
    }

    #[test]
    fn debug_and_errors_never_show_secrets() {
        let creds = StaticCredentials::new(AKID, SECRET, Some(TOKEN.to_owned()));
        let signer = RequestSigner::new(&creds, "us-east-1", "lambda");
        for text in [
            format!("{creds:?}"),
            format!("{creds:#?}"),
            format!("{signer:?}"),
            format!("{signer:#?}"),
        ] {
            assert!(text.contains(AKID), "{text}");
            assert!(text.contains("<redacted>"), "{text}");
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains("wJalrXUtnFEMI"), "{text}");
            assert!(!text.contains(TOKEN), "{text}");
            assert!(!text.contains("AQoDYXdzEPT"), "{text}");
        }
        let no_token = StaticCredentials::new(AKID, SECRET, None);
        assert!(format!("{no_token:?}").contains("session_token: None"));

        // A bad token makes signing fail; the error does not echo it.
        let bad = StaticCredentials::new(AKID, SECRET, Some("bad\ntoken-SECRETPART".into()));
        let e = RequestSigner::new(&bad, "us-east-1", "lambda")
            .sign(
                "GET",
                "/",
                &[("host", "h")],
                EMPTY_PAYLOAD_SHA256,
                suite_time(),
            )
            .unwrap_err();
        let text = format!("{e} {e:?}");
        assert!(!text.contains("SECRETPART"), "{text}");
        assert!(!text.contains(SECRET), "{text}");
    }

    #[test]
    fn wrong_secret_gives_a_different_signature() {
        let good = suite_signer(None);
        let bad = RequestSigner::new(
            &StaticCredentials::new(AKID, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ", None),
            "us-east-1",
            "service",
        );
        let sign = |s: &RequestSigner| {
            let out = s
                .sign(
                    "GET",
                    "/",
                    &[("host", "example.amazonaws.com")],
                    EMPTY_PAYLOAD_SHA256,
                    suite_time(),
                )
                .unwrap();
            get(&out, "authorization").unwrap()
        };
        assert_ne!(sign(&good), sign(&bad));
    }

    #[test]
    fn builder_settings() {
        let s = suite_signer(None);
        assert_eq!(s.uri_encoding(), UriEncoding::Double);
        assert!(s.path_normalization());
        assert!(s.signed_session_token());
        assert!(!s.content_sha256_header());
        assert_eq!(s.region(), "us-east-1");
        assert_eq!(s.service(), "service");
        let s = s
            .with_uri_encoding(UriEncoding::Single)
            .with_path_normalization(false)
            .with_signed_session_token(false)
            .with_content_sha256_header(true);
        assert_eq!(s.uri_encoding(), UriEncoding::Single);
        assert!(!s.path_normalization());
        assert!(!s.signed_session_token());
        assert!(s.content_sha256_header());

        // Double vs single encoding differ on an encoded path.
        let target = "/prod/a%20b";
        let sig = |enc| {
            let out = suite_signer(None)
                .with_uri_encoding(enc)
                .sign(
                    "GET",
                    target,
                    &[("host", "h")],
                    EMPTY_PAYLOAD_SHA256,
                    suite_time(),
                )
                .unwrap();
            get(&out, "authorization").unwrap()
        };
        assert_ne!(sig(UriEncoding::Double), sig(UriEncoding::Single));
    }
}
