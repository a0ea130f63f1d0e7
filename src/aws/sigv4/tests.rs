//! Unit tests of the two entry points; the official suites are in `tests/sigv4_suites/`.

use super::*;
use aws_credential_types::Credentials;
use std::time::Duration;

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

/// 2015-08-30T12:36:00Z, the time of the AWS test suite.
fn suite_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160)
}

/// Credentials as the credentials cell holds them.
fn identity(secret: &str, token: Option<&str>) -> Identity {
    Credentials::new(AKID, secret, token.map(str::to_owned), None, "test").into()
}

fn suite_signer() -> RequestSigner {
    RequestSigner::for_scope("us-east-1", "service")
}

fn head(method: &str, target: &str, headers: &[(&str, &str)]) -> RequestHeader {
    let mut req = RequestHeader::build(method, target.as_bytes(), None).unwrap();
    for (n, v) in headers {
        req.append_header(n.to_string(), *v).unwrap();
    }
    req
}

/// Signs a head built from the arguments and returns it.
fn signed(
    signer: &RequestSigner,
    id: &Identity,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    payload: &str,
) -> RequestHeader {
    let mut req = head(method, target, headers);
    signer
        .sign_request_header(id, &mut req, payload, suite_time())
        .unwrap();
    req
}

/// The `Authorization` of a bare `GET target` to example.amazonaws.com.
fn authz_of_get(secret: &str, target: &str) -> String {
    authz(&signed(
        &suite_signer(),
        &identity(secret, None),
        "GET",
        target,
        &[("host", "example.amazonaws.com")],
        EMPTY_PAYLOAD_SHA256,
    ))
}

fn head_value(req: &RequestHeader, name: &str) -> Option<String> {
    req.headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn authz(req: &RequestHeader) -> String {
    head_value(req, "authorization").unwrap()
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
    let req = signed(
        &suite_signer(),
        &identity(SECRET, None),
        "GET",
        "/",
        &[("Host", "example.amazonaws.com")],
        EMPTY_PAYLOAD_SHA256,
    );
    assert_eq!(head_value(&req, "x-amz-date").unwrap(), "20150830T123600Z");
    assert_eq!(
        authz(&req),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=host;x-amz-date, \
         Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
    assert!(req.headers.get("authorization").unwrap().is_sensitive());
    assert_eq!(head_value(&req, "x-amz-security-token"), None);
    assert_eq!(head_value(&req, "x-amz-content-sha256"), None);
}

/// A Lambda Invoke URL with an ARN (`:` encoded once on the wire, twice in the canonical
/// request): "double-url-encode" from the aws-sigv4 suite.
#[test]
fn known_signature_lambda_arn_double_encoded() {
    let mut req = head(
        "POST",
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-west-2%3A892717189312%3Afunction%3Amy-rusty-fun/invocations",
        &[("Host", "lambda.us-east-2.amazonaws.com")],
    );
    RequestSigner::for_scope("us-east-2", "lambda")
        .sign_request_header(
            &identity(SECRET, None),
            &mut req,
            EMPTY_PAYLOAD_SHA256,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_620_747_645),
        )
        .unwrap();
    assert_eq!(
        signature_of(&authz(&req)),
        "4b93abbcc68be32bd64c18e2c71150660ab4c29bbd6c32a383a7517a88fc1804"
    );
}

#[test]
fn session_token_is_sent_sensitive_and_signed() {
    let req = signed(
        &suite_signer(),
        &identity(SECRET, Some(TOKEN)),
        "POST",
        "/",
        &[("Host", "example.amazonaws.com")],
        EMPTY_PAYLOAD_SHA256,
    );
    assert_eq!(head_value(&req, "x-amz-security-token").unwrap(), TOKEN);
    assert!(req
        .headers
        .get("x-amz-security-token")
        .unwrap()
        .is_sensitive());
    let authz = authz(&req);
    assert_eq!(
        signed_headers_of(&authz),
        "host;x-amz-date;x-amz-security-token"
    );
    // post-sts-header-before
    assert_eq!(
        signature_of(&authz),
        "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"
    );
}

/// The allow-list: user-agent (and other hop-mutable headers) unsigned, x-amz-* and
/// content-type signed, client authorization / x-amz-date / token / content-sha256 replaced.
#[test]
fn allow_list() {
    let signer = suite_signer();
    let id = identity(SECRET, None);
    let target = "/2015-03-31/functions/f/invocations?x=1";
    let allow_listed = [
        ("Host", "lambda.us-east-1.amazonaws.com"),
        ("Content-Type", "application/json"),
        ("X-Amz-Invocation-Type", "Event"),
        ("X-Amz-Client-Context", "e30="),
    ];
    let others = [
        ("User-Agent", "curl/8"),
        ("Accept-Encoding", "gzip"),
        ("X-Forwarded-For", "10.0.0.1"),
        ("Content-Length", "2"),
        ("Connection", "keep-alive"),
        ("X-Amzn-Trace-Id", "Root=1-abc"),
        ("Authorization", "AWS4-HMAC-SHA256 client-forged"),
        ("X-Amz-Date", "19990101T000000Z"),
        ("X-Amz-Security-Token", "client-token"),
        ("X-Amz-Content-Sha256", "client"),
    ];
    let all: Vec<_> = allow_listed.iter().chain(&others).copied().collect();
    let payload = sha256_hex(b"{}");
    let req = signed(&signer, &id, "POST", target, &all, &payload);

    let authz = authz(&req);
    assert!(!authz.contains("client-forged"));
    assert_eq!(
        signed_headers_of(&authz),
        "content-type;host;x-amz-client-context;x-amz-date;x-amz-invocation-type"
    );
    assert_eq!(head_value(&req, "x-amz-date").unwrap(), "20150830T123600Z");
    assert_eq!(head_value(&req, "x-amz-security-token"), None);
    assert_eq!(head_value(&req, "x-amz-content-sha256"), None);
    for h in ["authorization", "x-amz-date"] {
        assert_eq!(req.headers.get_all(h).iter().count(), 1, "{h}");
    }
    // Untouched.
    assert_eq!(head_value(&req, "user-agent").unwrap(), "curl/8");

    // The same as a head with the allow-listed headers only.
    let only = signed(&signer, &id, "POST", target, &allow_listed, &payload);
    assert_eq!(super::tests::authz(&only), authz);

    // A hop changing user-agent does not change the signature.
    let mut req2 = req.clone();
    req2.insert_header("User-Agent", "something-else").unwrap();
    signer
        .sign_request_header(&id, &mut req2, &payload, suite_time())
        .unwrap();
    assert_eq!(head_value(&req2, "authorization").unwrap(), authz);

    // Changing a signed x-amz-* header does.
    let mut req3 = req.clone();
    req3.insert_header("X-Amz-Invocation-Type", "RequestResponse")
        .unwrap();
    signer
        .sign_request_header(&id, &mut req3, &payload, suite_time())
        .unwrap();
    assert_ne!(head_value(&req3, "authorization").unwrap(), authz);
}

#[test]
fn repeated_header_values_are_joined_with_commas() {
    let signer = suite_signer();
    let id = identity(SECRET, None);
    let host = ("Host", "example.amazonaws.com");
    let sign = |headers: &[(&str, &str)]| {
        authz(&signed(
            &signer,
            &id,
            "GET",
            "/",
            headers,
            EMPTY_PAYLOAD_SHA256,
        ))
    };
    let repeated = sign(&[host, ("X-Amz-Meta", "a"), ("X-Amz-Meta", " b ")]);
    assert_eq!(repeated, sign(&[host, ("X-Amz-Meta", "a,b")]));
    assert_ne!(repeated, sign(&[host, ("X-Amz-Meta", "b,a")]));
}

#[test]
fn errors() {
    let signer = suite_signer();
    let id = identity(SECRET, None);
    let t = suite_time();
    let sign =
        |req: &mut RequestHeader, payload: &str| signer.sign_request_header(&id, req, payload, t);
    // No host.
    let mut req = head("GET", "/", &[("X-Amz-Foo", "1")]);
    let e = sign(&mut req, EMPTY_PAYLOAD_SHA256).unwrap_err();
    assert!(e.to_string().contains("host"), "{e}");
    // Not a payload hash; the client's signing headers are gone anyway.
    let mut req = head("GET", "/", &[("Host", "h"), ("Authorization", "forged")]);
    assert!(sign(&mut req, "{}").is_err());
    assert!(sign(&mut req, &EMPTY_PAYLOAD_SHA256.to_uppercase()).is_err());
    assert_eq!(head_value(&req, "authorization"), None);
    // Non-UTF-8 value of an allow-listed header.
    let mut req = head("GET", "/", &[("Host", "example.amazonaws.com")]);
    req.insert_header("X-Amz-Foo", HeaderValue::from_bytes(b"\xff\xfe").unwrap())
        .unwrap();
    assert!(sign(&mut req, EMPTY_PAYLOAD_SHA256).is_err());
    // ...but a non-UTF-8 value of a header that is not signed is fine.
    let mut req = head("GET", "/", &[("Host", "example.amazonaws.com")]);
    req.insert_header("X-Other", HeaderValue::from_bytes(b"\xff\xfe").unwrap())
        .unwrap();
    sign(&mut req, EMPTY_PAYLOAD_SHA256).unwrap();
    // Neither origin-form nor absolute-form.
    let mut req = head("OPTIONS", "*", &[("Host", "example.amazonaws.com")]);
    assert!(sign(&mut req, EMPTY_PAYLOAD_SHA256).is_err());
}

#[test]
fn absolute_form_target_must_match_host_and_resigning_replaces() {
    let signer = suite_signer();
    let id = identity(SECRET, Some(TOKEN));
    let t = suite_time();
    let host = [("Host", "example.amazonaws.com")];
    let mut req = head("GET", "http://other.example/x?a=1", &host);
    assert!(signer
        .sign_request_header(&id, &mut req, EMPTY_PAYLOAD_SHA256, t)
        .is_err());

    let mut req = head("GET", "http://example.amazonaws.com/x?a=1", &host);
    signer
        .sign_request_header(&id, &mut req, EMPTY_PAYLOAD_SHA256, t)
        .unwrap();
    let origin_form = signed(&signer, &id, "GET", "/x?a=1", &host, EMPTY_PAYLOAD_SHA256);
    assert_eq!(authz(&req), authz(&origin_form));

    // A retry signs the already-signed head again, later: one set of headers, new date.
    let later = t + Duration::from_secs(61);
    signer
        .sign_request_header(&id, &mut req, EMPTY_PAYLOAD_SHA256, later)
        .unwrap();
    for h in ["authorization", "x-amz-date", "x-amz-security-token"] {
        assert_eq!(req.headers.get_all(h).iter().count(), 1, "{h}");
    }
    assert_eq!(head_value(&req, "x-amz-date").unwrap(), "20150830T123701Z");
    assert_ne!(authz(&req), authz(&origin_form));
}

#[test]
fn debug_and_errors_never_show_secrets() {
    let signer = RequestSigner::for_scope("us-east-1", "lambda");
    let text = format!("{signer:?}");
    assert!(
        text.contains("us-east-1") && text.contains("lambda"),
        "{text}"
    );

    // A bad token makes signing fail; the error does not echo it.
    let bad = identity(SECRET, Some("bad\ntoken-SECRETPART"));
    let mut req = head("GET", "/", &[("Host", "h")]);
    let e = signer
        .sign_request_header(&bad, &mut req, EMPTY_PAYLOAD_SHA256, suite_time())
        .unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(!text.contains("SECRETPART"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
}

#[test]
fn wrong_secret_gives_a_different_signature() {
    let sign = |secret: &str| authz_of_get(secret, "/");
    assert_ne!(
        sign(SECRET),
        sign("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ")
    );
}

/// Dot segments and repeated slashes are removed from the canonical URI (the SDK default for
/// non-S3 services; double encoding is shown by `known_signature_lambda_arn_double_encoded`).
#[test]
fn double_encoding_and_path_normalisation() {
    let sign = |target: &str| authz_of_get(SECRET, target);
    assert_eq!(sign("/a/../b"), sign("/b"));
    assert_eq!(sign("//b/./"), sign("/b/"));
    assert_ne!(sign("/a/b"), sign("/b"));
}
