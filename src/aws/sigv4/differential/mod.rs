//! Differential tests of the narrow canonicaliser and the key cache: tricky requests signed by
//! [`RequestSigner::sign_request_header`] and by aws-sigv4's full `http_request::sign` (the
//! signer as it was before, kept here only as the oracle, with the same settings) must give the
//! same `Authorization`, `X-Amz-Date` and `X-Amz-Security-Token`, or both be refused.

use super::*;
use aws_sigv4::http_request::{
    sign as aws_sign, PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody,
    SignableRequest, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use std::time::Duration;

mod keys;
mod random;

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SECRET2: &str = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY";
const TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn identity(akid: &str, secret: &str, token: Option<&str>) -> Identity {
    Credentials::new(akid, secret, token.map(str::to_owned), None, "test").into()
}

/// Several identities: plain keys, temporary ones, another secret, odd but valid tokens.
fn identities() -> Vec<Identity> {
    vec![
        identity(AKID, SECRET, None),
        identity(AKID, SECRET, Some(TOKEN)),
        identity("ASIAOTHER", SECRET2, Some("short-token")),
        identity(AKID, SECRET2, None),
        identity(AKID, SECRET, Some("  spaced  token ")),
        identity(AKID, SECRET, Some("")),
    ]
}

fn scopes() -> [(&'static str, &'static str); 4] {
    [
        ("us-east-1", "service"),
        ("eu-west-3", "lambda"),
        ("ap-southeast-2", "execute-api"),
        ("cn-north-1", "lambda"),
    ]
}

fn times() -> Vec<SystemTime> {
    vec![
        at(1_440_938_160),                                   // 2015-08-30T12:36:00Z
        at(951_868_799) + Duration::from_millis(999),        // 2000-02-29T23:59:59.999Z
        at(951_868_800),                                     // 2000-03-01T00:00:00Z
        SystemTime::UNIX_EPOCH,                              // 1970-01-01
        SystemTime::UNIX_EPOCH - Duration::from_millis(500), // 1969-12-31T23:59:59.5Z
        at(2_147_483_648),                                   // 2038-01-19T03:14:08Z
        at(4_107_542_400),                                   // 2100-03-01T00:00:00Z
        at(253_402_300_799),                                 // 9999-12-31T23:59:59Z
    ]
}

fn oracle_settings() -> SigningSettings {
    let mut settings = SigningSettings::default();
    settings.excluded_headers = None;
    settings.percent_encoding_mode = PercentEncodingMode::Double;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Enabled;
    settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    settings.session_token_mode = SessionTokenMode::Include;
    settings
}

/// What a signing produced: `Authorization`, `X-Amz-Date`, `X-Amz-Security-Token`.
type Signed = (String, String, Option<String>);

/// The signer before this crate had its own canonicaliser: the same checks of the target and
/// of the allow-listed headers, then aws-sigv4's `sign`. `head` is signed as it is (the caller
/// removed the client's signing headers).
fn oracle(
    region: &str,
    service: &str,
    id: &Identity,
    head: &RequestHeader,
    payload: &str,
    time: SystemTime,
) -> Result<Signed, String> {
    let host = head.headers.get("host").ok_or("no host")?;
    let target = std::str::from_utf8(head.raw_path()).map_err(|_| "target not UTF-8")?;
    if !target.starts_with('/') {
        let ok = target.parse::<http::Uri>().ok().is_some_and(|u| {
            u.scheme().is_some()
                && u.authority()
                    .is_some_and(|a| a.as_str().as_bytes().eq_ignore_ascii_case(host.as_bytes()))
        });
        if !ok {
            return Err("target form".into());
        }
    }
    let mut signed = Vec::new();
    for (name, value) in head.headers.iter() {
        if is_allow_listed(name) {
            let v = std::str::from_utf8(value.as_bytes()).map_err(|_| "header not UTF-8")?;
            signed.push((name.as_str(), v));
        }
    }
    let params = v4::SigningParams::builder()
        .identity(id)
        .region(region)
        .name(service)
        .time(time)
        .settings(oracle_settings())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new(
        head.method.as_str(),
        target,
        signed.into_iter(),
        SignableBody::Precomputed(payload.to_owned()),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = aws_sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let mut out: (Option<String>, Option<String>, Option<String>) = (None, None, None);
    for (name, value) in instructions.headers() {
        let slot = match name {
            "authorization" => &mut out.0,
            "x-amz-date" => &mut out.1,
            "x-amz-security-token" => &mut out.2,
            other => panic!("aws-sigv4 returned {other}"),
        };
        *slot = Some(value.to_owned());
    }
    Ok((out.0.unwrap(), out.1.unwrap(), out.2))
}

fn build_head(method: &str, target: &[u8], headers: &[(&str, &[u8])]) -> Option<RequestHeader> {
    let mut req = RequestHeader::build(method, target, None).ok()?;
    for (n, v) in headers {
        req.append_header(n.to_string(), HeaderValue::from_bytes(v).ok()?)
            .ok()?;
    }
    Some(req)
}

fn value_of(req: &RequestHeader, name: &str) -> Option<String> {
    req.headers
        .get(name)
        .map(|v| String::from_utf8(v.as_bytes().to_vec()).unwrap())
}

/// Signs `head` both ways and compares. Returns whether both signed (false: both refused).
fn check(
    signer: &RequestSigner,
    id: &Identity,
    head: &RequestHeader,
    payload: &str,
    time: SystemTime,
) -> bool {
    let mut old_head = head.clone();
    for name in SIGNER_OWNED_HEADERS {
        old_head.remove_header(name);
    }
    let old = oracle(
        &signer.region,
        &signer.service,
        id,
        &old_head,
        payload,
        time,
    );
    let mut new_head = head.clone();
    let new = signer.sign_request_header(id, &mut new_head, payload, time);
    let what = || {
        format!(
            "{} {:?} {:?} at {time:?} in {}/{}",
            head.method,
            String::from_utf8_lossy(head.raw_path()),
            head.headers,
            signer.region,
            signer.service
        )
    };
    match (old, new) {
        (Ok((authz, date, token)), Ok(())) => {
            let got = (
                value_of(&new_head, "authorization").unwrap(),
                value_of(&new_head, "x-amz-date").unwrap(),
                value_of(&new_head, "x-amz-security-token"),
            );
            if got != (authz.clone(), date.clone(), token.clone()) {
                let creds = id.data::<Credentials>().unwrap();
                let d = amz_date::AmzDate::new(time).unwrap();
                let target = canonical::request_target(&old_head).unwrap();
                let req = signature::Request {
                    target: &target,
                    date: &d,
                    access_key_id: creds.access_key_id(),
                    secret: creds.secret_access_key(),
                    session_token: creds.session_token(),
                    payload_sha256_hex: payload,
                    time,
                };
                let creq = signature::canonical_request(&old_head, &req);
                panic!(
                    "{}\n  got  {got:?}\n  want {:?}\n  our canonical request:\n{creq:?}",
                    what(),
                    (authz, date, token)
                );
            }
            // The sensitive flags and the one-of-each as before.
            assert!(new_head.headers["authorization"].is_sensitive());
            if let Some(t) = new_head.headers.get("x-amz-security-token") {
                assert!(t.is_sensitive());
            }
            for h in ["authorization", "x-amz-date", "x-amz-content-sha256"] {
                assert!(new_head.headers.get_all(h).iter().count() <= 1, "{h}");
            }
            true
        }
        (Err(_), Err(_)) => false,
        (old, new) => panic!("{}\n  aws-sigv4: {old:?}\n  ours: {new:?}", what()),
    }
}

const TARGETS: &[&str] = &[
    "/",
    "/a/b",
    "/a/b/",
    "/a%2Fb",
    "/a%2fb/%2F",
    "/%20",
    "/a%20b",
    "/a b",
    "/%C3%BC/%e2%82%ac",
    "/ü/€/日本",
    "/a/../b",
    "/a/./b",
    "/..",
    "/.",
    "/./",
    "/../",
    "/a/..",
    "/a/b/../../..",
    "/a/b/../../../c/",
    "//",
    "//a//b//",
    "/a/.b/..c/.../",
    "/a.json",
    "/a/b/.",
    "/a/b/..",
    "/~user/%7e/%7E",
    "/!$&'()*+,;=:@",
    "/a\"{}|[]^\\_",
    "/%",
    "/%4",
    "/%zz",
    "/%2e%2E/x",
    "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/invocations",
    "/2015-03-31/functions/my-fn/invocations?Qualifier=%24LATEST",
    "/2015-03-31/functions/my-fn/invocations?Qualifier=$LATEST",
    "/?",
    "/?a",
    "/?a=",
    "/?a=&a",
    "/?b=2&a=1&c",
    "/?a=2&a=1&a=10&a=",
    "/?a=b&a=B&A=b&A=a",
    "/?k=a+b&k=a%2Bb&k=a%2bb&k=a%20b",
    "/?+=+",
    "/?%=%",
    "/?%4=%4g&%zz",
    "/?k=%e2%82%ac&k=€",
    "/?k=%FF%FE&%C3=1",
    "/?&&a=1&&",
    "/?a=1=2&=x&==",
    "/?k=v#frag",
    "/a#frag?x=1",
    "/?k=~-._*'()!",
    "/?k=%7E&k=%7e",
    "/?k=/?:@&x=[y]",
    "/?k={}|`^",
    "/?k=v%20w%20&a%26b=1&c=%3D",
    "/?k=\"<>",
    "/path?k=v w",
    "/a/../b/./c//d?z=1&y=2&x",
    "http://example.amazonaws.com/a/../b?x=1&b=2",
    "https://EXAMPLE.amazonaws.com",
    "http://example.amazonaws.com?q=1",
    "http://other.example/x",
    "*",
    "?a=1",
];

type Headers = &'static [(&'static str, &'static [u8])];

const HEADER_SETS: &[Headers] = &[
    &[("Host", b"example.amazonaws.com")],
    &[
        ("Host", b"example.amazonaws.com"),
        ("Content-Type", b"application/json"),
    ],
    &[
        ("Host", b"lambda.us-east-1.amazonaws.com"),
        ("Content-Type", b"application/json"),
        ("X-Amz-Invocation-Type", b"Event"),
        ("X-Amz-Log-Type", b"Tail"),
        ("X-Amz-Client-Context", b"eyJhIjoxfQ=="),
    ],
    &[
        ("Host", b"example.amazonaws.com"),
        ("X-Amz-Meta", b"  a   b  "),
        ("x-amz-meta", b"c\td"),
        ("X-AMZ-META", b""),
        ("X-Amz-Other", b"\t lead and trail \t"),
    ],
    &[
        ("Host", b"example.amazonaws.com"),
        ("Content-Type", b"text/plain;  charset=utf-8 "),
        ("User-Agent", b"curl/8"),
        ("X-Forwarded-For", b"10.0.0.1"),
        ("Content-Length", b"2"),
        ("X-Amzn-Trace-Id", b"Root=1-abc"),
    ],
    &[
        ("Host", b"example.amazonaws.com"),
        ("X-Amz-Z", b"1"),
        ("X-Amz-A", b"2"),
        ("X-Amz-Date", b"19990101T000000Z"),
        ("Authorization", b"AWS4-HMAC-SHA256 forged"),
        ("X-Amz-Security-Token", b"client-token"),
        ("X-Amz-Content-Sha256", b"client"),
        ("X-Amz-Dat", b"before date"),
        ("X-Amz-Datf", b"after date"),
        ("X-Amz-Security-Tokem", b"before token"),
        ("X-Amz-Security-Tokens", b"after token"),
    ],
    &[("Host", b"example.amazonaws.com:8443")],
    &[
        ("Host", b"  example.amazonaws.com  "),
        ("X-Amz-Utf8", "café  ü €".as_bytes()),
    ],
    &[
        ("Host", b"example.amazonaws.com"),
        ("Content-Type", b"a"),
        ("Content-Type", b"b"),
        ("Host", b"second.example"),
    ],
    &[
        ("Host", b"example.amazonaws.com"),
        ("X-Amz-Bin", b"\xff\xfe"),
    ],
    &[("X-Amz-Foo", b"no host")],
    &[
        ("Host", b"example.amazonaws.com"),
        ("Accept", b"*/*"),
        ("X-Other", b"\xff"),
    ],
];

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD", "CUSTOM",
];

/// Every target with every header set, the identity, scope, time, method and payload varying
/// from case to case; one signer per scope, so its key cache sees dates and secrets change.
#[test]
fn tricky_requests_sign_as_aws_sigv4_does() {
    let ids = identities();
    let times = times();
    let signers: Vec<RequestSigner> = scopes()
        .iter()
        .map(|(r, s)| RequestSigner::for_scope(r, s))
        .collect();
    let payloads = [EMPTY_PAYLOAD_SHA256.to_owned(), sha256_hex(b"{}")];
    let (mut signed, mut refused, mut unbuildable) = (0, 0, 0);
    let mut n = 0usize;
    for target in TARGETS {
        for headers in HEADER_SETS {
            n += 1;
            let Some(head) = build_head(METHODS[n % METHODS.len()], target.as_bytes(), headers)
            else {
                unbuildable += 1;
                continue;
            };
            let signer = &signers[n % signers.len()];
            let id = &ids[(n / 3) % ids.len()];
            let time = times[(n / 2) % times.len()];
            if check(signer, id, &head, &payloads[n % 2], time) {
                signed += 1;
            } else {
                refused += 1;
            }
        }
    }
    println!("{signed} signed alike, {refused} refused by both, {unbuildable} not buildable");
    assert!(signed > 500, "{signed}");
    assert!(refused > 40, "{refused}");
    assert!(unbuildable < 60, "{unbuildable}");
}

/// Every identity, scope and time on a few requests (the cross product).
#[test]
fn every_identity_scope_and_time() {
    let heads = [
        build_head("GET", b"/", &[("Host", b"example.amazonaws.com")]).unwrap(),
        build_head(
            "POST",
            b"/2015-03-31/functions/f/invocations?Qualifier=1",
            HEADER_SETS[2],
        )
        .unwrap(),
    ];
    for (region, service) in scopes() {
        let signer = RequestSigner::for_scope(region, service);
        for id in identities() {
            for time in times() {
                for head in &heads {
                    assert!(check(&signer, &id, head, EMPTY_PAYLOAD_SHA256, time));
                }
            }
        }
    }
    // Invalid tokens are refused by both.
    let signer = RequestSigner::for_scope("us-east-1", "lambda");
    for bad in ["bad\ntoken", "nul\0"] {
        let id = identity(AKID, SECRET, Some(bad));
        assert!(!check(
            &signer,
            &id,
            &heads[0],
            EMPTY_PAYLOAD_SHA256,
            times()[0]
        ));
    }
}
