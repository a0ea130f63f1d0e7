//! What reaches the authorizers from outside: tokens (`authorizers::jwt::verify`), key sets
//! (`authorizers::jwks::KeySet::parse`), Lambda authorizer answers
//! (`authorizers::lambda_payload::parse_verdict`, 1.0 and 2.0, simple and policy) and IAM
//! policies (`allows`) on arbitrary bytes.
//!
//! Checks besides "no panic":
//! * no input forges a token: `verify` against a fixed key set (whose private keys the fuzzer
//!   does not have) never accepts, and `header` refuses `none` and HMAC algorithms and tokens
//!   over `MAX_TOKEN_BYTES`;
//! * an accepted key set has at least one key and never more than `MAX_KEYS`, and no key
//!   verifies an HMAC algorithm;
//! * an answer is only ever `Allow` when it is JSON whose `isAuthorized` is `true` (simple) or
//!   whose policy `allows` the ARN; simple answers are never read as 1.0 ones.
#![no_main]

use jsonwebtoken::Algorithm;
use lambda_proxy::authorizers::jwks::keys::MAX_KEYS;
use lambda_proxy::authorizers::jwks::KeySet;
use lambda_proxy::authorizers::jwt::verify::{self, Expected, MAX_TOKEN_BYTES};
use lambda_proxy::authorizers::lambda_payload::{allows, parse_verdict, PayloadFormat, Verdict};
use libfuzzer_sys::fuzz_target;

const JWKS: &str = r#"{"keys":[
 {"kty":"RSA","kid":"r1","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"},
 {"kty":"EC","kid":"e1","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRjmLBLTs7Fy2ZZ8ltJ_ORW6UgQ5DlNVvXp1BUM"},
 {"kty":"OKP","kid":"d1","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/orders/1";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    // Tokens.
    let (keys, _) = KeySet::parse(JWKS.as_bytes()).expect("the fixed key set");
    let audience = vec!["api".to_string()];
    let expected = Expected {
        issuer: "https://issuer.example/",
        audience: &audience,
    };
    if let Ok(h) = verify::header(&text) {
        assert!(text.len() <= MAX_TOKEN_BYTES);
        assert!(!matches!(
            h.alg,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        ));
        assert!(
            verify::verify(&text, &h, &keys, &expected, 1_800_000_000).is_err(),
            "a token was accepted without a private key: {text}"
        );
    }

    // Key sets.
    if let Ok((set, _skipped)) = KeySet::parse(data) {
        assert!(!set.is_empty() && set.len() <= MAX_KEYS);
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            assert_eq!(set.candidates(None, alg).count(), 0);
        }
    }

    // Lambda authorizer answers and policies.
    let value: Option<serde_json::Value> = serde_json::from_slice(data).ok();
    for (format, simple) in [
        (PayloadFormat::V1, false),
        (PayloadFormat::V2, false),
        (PayloadFormat::V2, true),
    ] {
        if let Ok(Verdict::Allow { .. }) = parse_verdict(data, format, simple, ARN) {
            let v = value.as_ref().expect("an Allow from bytes that are not JSON");
            if simple {
                assert_eq!(v["isAuthorized"], serde_json::Value::Bool(true));
            } else {
                assert_eq!(allows(&v["policyDocument"], ARN), Ok(true));
            }
        }
    }
    if let Some(v) = &value {
        let _ = allows(v, ARN);
        let _ = allows(v, &text);
    }
});
