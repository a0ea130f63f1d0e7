//! The verifier against requests signed by aws-sigv4 (as the SDKs and the gateway sign them):
//! what the signature covers, credentials and session tokens, the clock window, malformed
//! `Authorization` headers and the `host` header every signature must include.

use super::test_support::*;
use super::*;

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
    let early = block_on(v.verify(&req, SERVICE_EXECUTE_API, at(SUITE_TIME - 301))).unwrap_err();
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
