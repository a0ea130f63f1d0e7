//! Test helpers: the test credential, requests as they arrive on the wire, signing them with
//! aws-sigv4 (the SDKs' signer, the one the gateway uses) and running the async verifier.

use super::*;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use std::time::{Duration, UNIX_EPOCH};

pub(super) const AKID: &str = "AKIDEXAMPLE";
pub(super) const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
pub(super) const TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtoken";
/// 2015-08-30T12:36:00Z, the date of AWS's SigV4 test suite.
pub(super) const SUITE_TIME: u64 = 1_440_938_160;

pub(super) fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

pub(super) fn cred(token: Option<&str>) -> Credential {
    Credential {
        access_key: AKID.into(),
        secret_key: SECRET.into(),
        session_token: token.map(Into::into),
    }
}

pub(super) fn verifier(token: Option<&str>) -> Verifier {
    Verifier::new("us-east-1", vec![cred(token)])
}

pub(super) fn request(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> SignedRequest {
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
pub(super) fn sign_request(
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
pub(super) fn sign_request_with(
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

pub(super) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

pub(super) fn signed_post(
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
