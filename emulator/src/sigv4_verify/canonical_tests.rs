//! The canonical request as AWS builds it, checked independently of aws-sigv4 by signing by
//! hand: SigV4's query order (by key, not by pair), queries services read differently, and the
//! double-encoded canonical URI of Lambda Invoke paths with ARNs.

use aws_sigv4::http_request::SigningSettings;

use super::test_support::*;
use super::*;

#[test]
fn double_encoding() {
    assert_eq!(
        double_encode_path(b"/a%20b/c+d/~x.y_z-"),
        "/a%2520b/c%2Bd/~x.y_z-"
    );
    assert_eq!(double_encode_path("/ሴ".as_bytes()), "/%E1%88%B4");
}

/// A request signed by hand (no aws-sigv4): `host` and `x-amz-date` signed, an empty body, and
/// `canonical_path` / `canonical_query` as given in the canonical request, so a test states
/// exactly what AWS computes.
struct HandSigned<'a> {
    method: &'a str,
    target: &'a str,
    host: &'a str,
    service: &'a str,
    canonical_path: &'a str,
    canonical_query: &'a str,
}

impl HandSigned<'_> {
    fn sign(&self) -> SignedRequest {
        use crate::query_sort_fix::hmac_sha256;
        use sha2::{Digest, Sha256};
        let HandSigned {
            method,
            target,
            host,
            service,
            canonical_path,
            canonical_query,
        } = self;
        let date = "20150830T123600Z";
        let scope = format!("20150830/us-east-1/{service}/aws4_request");
        let creq = format!(
            "{method}\n{canonical_path}\n{canonical_query}\nhost:{host}\nx-amz-date:{date}\n\nhost;x-amz-date\n{}",
            hex::encode(Sha256::digest(b""))
        );
        let sts = format!(
            "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
            hex::encode(Sha256::digest(creq.as_bytes()))
        );
        let mut key = hmac_sha256(format!("AWS4{SECRET}").as_bytes(), b"20150830");
        for part in ["us-east-1", service, "aws4_request"] {
            key = hmac_sha256(&key, part.as_bytes());
        }
        let signature = hex::encode(hmac_sha256(&key, sts.as_bytes()));
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={AKID}/{scope}, SignedHeaders=host;x-amz-date, Signature={signature}"
        );
        request(
            method,
            target,
            &[
                ("host", host),
                ("x-amz-date", date),
                ("authorization", &auth),
            ],
            b"",
        )
    }
}

/// Signs `GET /iam/x?{raw_query}` by hand, with `canonical_query` in the canonical request.
fn hand_signed(raw_query: &str, canonical_query: &str) -> SignedRequest {
    HandSigned {
        method: "GET",
        target: &format!("/iam/x?{raw_query}"),
        host: "h",
        service: SERVICE_EXECUTE_API,
        canonical_path: "/iam/x",
        canonical_query,
    }
    .sign()
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
    HandSigned {
        method: "POST",
        target: raw_path,
        host: LAMBDA_HOST,
        service: SERVICE_LAMBDA,
        canonical_path,
        canonical_query: "",
    }
    .sign()
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
