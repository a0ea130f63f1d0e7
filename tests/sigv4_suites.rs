//! The official AWS SigV4 test suites, fed through the same functions the proxy calls
//! (`lambda_proxy::aws::sigv4::RequestSigner::{sign, sign_request_header}`).
//!
//! * Suite 1: the 40 `v4` cases of `aws-signing-test-suite` that ship inside the `aws-sigv4`
//!   crate source (the version is read from `Cargo.lock`, the crate from the cargo registry:
//!   `$CARGO_HOME/registry/src/*/aws-sigv4-<version>`).
//! * Suite 2: the AWS "aws4_testsuite" (2015-08-30 edition, the one botocore runs), as shipped
//!   inside the `scratchstack-aws-signature` crate source (`src/aws-sig-v4-test-suite/`).
//!
//! Nothing is vendored; `cargo fetch` (or any build) puts both crates in the registry. If a
//! suite cannot be found the test FAILS (it never silently skips).
//!
//! Every deviation from "read the files, sign, compare" is listed in a table below with the
//! reason, and for each one the test also asserts that the deviation is *needed* (the
//! default behaviour really gives a different signature), so a table entry that goes stale
//! fails the test.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use lambda_proxy::aws::sigv4::{
    sha256_hex, RequestSigner, SignError, StaticCredentials, UriEncoding, EMPTY_PAYLOAD_SHA256,
};
use pingora::http::RequestHeader;

// ------------------------------------------------------------------------------------------
// Locating the suites in the cargo registry
// ------------------------------------------------------------------------------------------

fn cargo_home() -> PathBuf {
    if let Some(h) = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    let home = std::env::var_os("HOME").expect("neither CARGO_HOME nor HOME is set");
    PathBuf::from(home).join(".cargo")
}

/// `Cargo.lock` of this package (or of the workspace containing it).
fn lockfile() -> PathBuf {
    let mut dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")));
    while let Some(d) = dir {
        let candidate = d.join("Cargo.lock");
        if candidate.is_file() {
            return candidate;
        }
        dir = d.parent();
    }
    panic!("no Cargo.lock above {}", env!("CARGO_MANIFEST_DIR"));
}

/// Versions of `name` in `Cargo.lock` (`[[package]]` blocks: `name = ".."` then `version = ".."`).
fn locked_versions(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(lockfile()).expect("read Cargo.lock");
    let mut out = Vec::new();
    for block in text.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
            })
        };
        if field("name").as_deref() == Some(name) {
            out.push(field("version").expect("package without version in Cargo.lock"));
        }
    }
    out
}

/// `$CARGO_HOME/registry/src/<index>/<name>-<version>` for the version in `Cargo.lock`.
fn registry_crate_dir(name: &str) -> PathBuf {
    let versions = locked_versions(name);
    assert!(!versions.is_empty(), "{name} is not in Cargo.lock");
    let src = cargo_home().join("registry").join("src");
    let mut found = Vec::new();
    for index in std::fs::read_dir(&src)
        .unwrap_or_else(|e| panic!("cannot list {}: {e} (run `cargo fetch`)", src.display()))
    {
        let index = index.unwrap().path();
        for v in &versions {
            let d = index.join(format!("{name}-{v}"));
            if d.is_dir() {
                found.push(d);
            }
        }
    }
    found.sort();
    found.dedup();
    match found.len() {
        0 => panic!(
            "{name} {versions:?} not found under {} (run `cargo fetch`)",
            src.display()
        ),
        // Several registry indexes holding the same version are identical copies.
        _ => found.into_iter().next().unwrap(),
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .replace("\r\n", "\n")
}

fn read_opt(path: &Path) -> Option<String> {
    path.is_file().then(|| read(path))
}

// ------------------------------------------------------------------------------------------
// Parsing the suite files
// ------------------------------------------------------------------------------------------

/// How an obs-fold continuation line (a header line starting with SP/HT) is read. The two
/// suites disagree on "get-header-value-multiline" (see `old_suite_context`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fold {
    /// RFC 7230 §3.2.4: a recipient replaces each obs-fold with SP. The new suite expects
    /// `my-header1:value1 value2 value3`.
    Space,
    /// Each continuation line is another value of the same header (the 2015 suite expects
    /// `my-header1:value1,value2,value3`).
    SeparateValue,
}

#[derive(Debug, Clone)]
struct RawRequest {
    method: String,
    /// The request-target as written in the file (may contain a raw space or raw UTF-8).
    target: String,
    /// In file order; names as written.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse_request(text: &str, fold: Fold) -> RawRequest {
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h, b.as_bytes().to_vec()),
        None => (text.trim_end_matches('\n'), Vec::new()),
    };
    let mut lines = head.split('\n');
    let request_line = lines.next().expect("empty request");
    let (method, rest) = request_line.split_once(' ').expect("bad request line");
    // The target may itself contain spaces ("GET /example space/ HTTP/1.1").
    let target = match rest.rsplit_once(' ') {
        Some((t, version)) if version.starts_with("HTTP/") => t,
        _ => rest,
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            let cont = line.trim_matches([' ', '\t']).to_owned();
            let last = headers
                .last_mut()
                .expect("continuation line before any header");
            match fold {
                Fold::Space => {
                    last.1.push(' ');
                    last.1.push_str(&cont);
                }
                Fold::SeparateValue => {
                    let name = last.0.clone();
                    headers.push((name, cont));
                }
            }
            continue;
        }
        let (name, value) = line.split_once(':').expect("header line without ':'");
        headers.push((name.to_owned(), value.trim_matches([' ', '\t']).to_owned()));
    }
    RawRequest {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        body,
    }
}

/// The request-target as a client puts it on the wire: bytes that may not appear in a
/// request-target (space, controls, non-ASCII, `"<>\^`{|}`) are percent-encoded once;
/// existing `%XX` escapes are kept. Both suites write a few targets in decoded form
/// ("/example space/", "/ሴ"), which no HTTP client sends and no proxy receives.
fn wire_target(target: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
    const NOT_ON_THE_WIRE: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'<')
        .add(b'>')
        .add(b'\\')
        .add(b'^')
        .add(b'`')
        .add(b'{')
        .add(b'|')
        .add(b'}');
    utf8_percent_encode(target, NOT_ON_THE_WIRE).to_string()
}

/// Value of the first header `name` (case-insensitive) in a signed-request file.
fn header_in(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

fn signature_of(authz: &str) -> &str {
    authz
        .rsplit_once("Signature=")
        .expect("no Signature= in authorization")
        .1
        .trim()
}

fn signed_headers_of(authz: &str) -> &str {
    let rest = authz
        .split_once("SignedHeaders=")
        .expect("no SignedHeaders=")
        .1;
    rest.split_once(',').map_or(rest, |(s, _)| s).trim()
}

/// `(access key id, yyyymmdd, region, service)` from `Credential=AKID/date/region/svc/aws4_request`.
fn credential_scope_of(authz: &str) -> (String, String, String, String) {
    let cred = authz.split_once("Credential=").expect("no Credential=").1;
    let cred = cred.split_once(',').map_or(cred, |(c, _)| c).trim();
    let parts: Vec<&str> = cred.split('/').collect();
    assert_eq!(parts.len(), 5, "bad credential scope {cred}");
    assert_eq!(parts[4], "aws4_request");
    (
        parts[0].to_owned(),
        parts[1].to_owned(),
        parts[2].to_owned(),
        parts[3].to_owned(),
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `2015-08-30T12:36:00Z` (context.json) and `20150830T123600Z` (X-Amz-Date).
fn parse_time(s: &str) -> SystemTime {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    assert!(
        digits.len() == 14 && s.ends_with('Z'),
        "unsupported timestamp {s}"
    );
    let n = |r: std::ops::Range<usize>| digits[r].parse::<i64>().unwrap();
    let days = days_from_civil(n(0..4), n(4..6), n(6..8));
    let secs = days * 86_400 + n(8..10) * 3600 + n(10..12) * 60 + n(12..14);
    SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap())
}

fn amz_date(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // civil_from_days
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// ------------------------------------------------------------------------------------------
// One case: context, expectations, and the runner
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Ctx {
    akid: String,
    secret: String,
    token: Option<String>,
    region: String,
    service: String,
    time: SystemTime,
    normalize: bool,
    signed_token: bool,
    content_sha256_header: bool,
    encoding: UriEncoding,
    fold: Fold,
}

impl Ctx {
    /// The signer as the proxy builds it: `RequestSigner::new` with its defaults, and a
    /// builder call only where the case needs something else (so the defaults are tested).
    fn signer(&self) -> RequestSigner {
        let creds = StaticCredentials::new(&self.akid, &self.secret, self.token.clone());
        let mut s = RequestSigner::new(&creds, &self.region, &self.service);
        if self.encoding != UriEncoding::Double {
            s = s.with_uri_encoding(self.encoding);
        }
        if !self.normalize {
            s = s.with_path_normalization(false);
        }
        if !self.signed_token {
            s = s.with_signed_session_token(false);
        }
        if self.content_sha256_header {
            s = s.with_content_sha256_header(true);
        }
        s
    }
}

#[derive(Debug, Clone)]
struct Expected {
    /// The full `Authorization` value.
    authorization: String,
    /// From a separate signature file, when the suite has one.
    signature_file: Option<String>,
    x_amz_date: Option<String>,
    security_token: Option<String>,
    content_sha256: Option<String>,
    canonical_request: Option<String>,
    string_to_sign: Option<String>,
}

#[derive(Debug, Clone)]
struct Case {
    name: String,
    ctx: Ctx,
    request: RawRequest,
    expected: Expected,
    /// Set when the case is run with a documented adjustment (printed in the summary).
    note: Option<&'static str>,
}

#[derive(Debug, Default)]
struct Outcome {
    /// Passed through the allow-list path with the suite's own expected signature.
    via_sign_request_header: bool,
    /// Headers of the case that the allow-list does not sign (so the suite's signature cannot
    /// be reproduced through `sign_request_header`).
    not_allow_listed: Vec<String>,
}

/// Headers the signer produces itself. When a suite request already carries them (the 2015
/// suite always has `X-Amz-Date`, "post-sts-header-before" also `X-Amz-Security-Token`), they
/// are the values the signer must *produce*: they are taken out of the headers handed to
/// `sign` (which rejects them) and checked against the signer's output instead.
const SIGNER_OWNED: [&str; 4] = [
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

fn allow_listed(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "host" || n == "content-type" || n.starts_with("x-amz-")
}

fn get<'a>(out: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
    out.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn head_value(req: &RequestHeader, name: &str) -> Option<String> {
    req.headers
        .get(name)
        .map(|v| v.to_str().expect("non-ASCII signing header").to_owned())
}

/// Checks the suite's own files against each other, independently of our signer:
/// `sha256(canonical request)` is the last line of the string to sign, and HMAC of the string
/// to sign under the context's key gives the expected signature. This proves the context we
/// derived (key, date, region, service) is the one the suite used.
fn check_suite_consistency(case: &Case) -> Result<(), String> {
    let (Some(creq), Some(sts)) = (
        &case.expected.canonical_request,
        &case.expected.string_to_sign,
    ) else {
        return Ok(());
    };
    let creq = creq.trim_end_matches('\n');
    let sts = sts.trim_end_matches('\n');
    let sts_hash = sts.rsplit('\n').next().unwrap();
    if sha256_hex(creq.as_bytes()) != sts_hash {
        return Err(format!(
            "{}: sha256(canonical request file) != hash in string-to-sign file",
            case.name
        ));
    }
    let key = aws_sigv4::sign::v4::generate_signing_key(
        &case.ctx.secret,
        case.ctx.time,
        &case.ctx.region,
        &case.ctx.service,
    );
    let sig = aws_sigv4::sign::v4::calculate_signature(key, sts.as_bytes());
    if sig != signature_of(&case.expected.authorization) {
        return Err(format!(
            "{}: HMAC(string-to-sign file) = {sig}, but the expected signature is {}",
            case.name,
            signature_of(&case.expected.authorization)
        ));
    }
    Ok(())
}

fn compare(what: &str, case: &str, got: Option<&str>, want: Option<&str>) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{case}: {what}: got {got:?}, expected {want:?}"))
    }
}

/// Signs the case with the low-level `sign` and returns the `Authorization` value.
fn sign_low_level(case: &Case) -> Result<Vec<(&'static str, String)>, SignError> {
    let payload = sha256_hex(&case.request.body);
    let headers: Vec<(&str, &str)> = case
        .request
        .headers
        .iter()
        .filter(|(n, _)| !SIGNER_OWNED.iter().any(|o| n.eq_ignore_ascii_case(o)))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    case.ctx.signer().sign(
        &case.request.method,
        &wire_target(&case.request.target),
        &headers,
        &payload,
        case.ctx.time,
    )
}

fn head_from_request(case: &Case) -> RequestHeader {
    let target = wire_target(&case.request.target);
    let mut head = RequestHeader::build(case.request.method.as_str(), target.as_bytes(), None)
        .expect("build request head");
    for (n, v) in &case.request.headers {
        head.append_header(n.clone(), v.as_str())
            .expect("append header");
    }
    head
}

/// Runs one case through `sign` (always) and `sign_request_header` (asserting the suite's
/// signature when every header is on the allow-list, and the allow-list semantics otherwise).
fn run_case(case: &Case) -> Result<Outcome, String> {
    let name = case.name.as_str();
    check_suite_consistency(case)?;

    // Signer-owned headers present in the request must be the values the signer produces.
    for (n, v) in &case.request.headers {
        if n.eq_ignore_ascii_case("x-amz-date") && parse_time(v) != case.ctx.time {
            return Err(format!(
                "{name}: request X-Amz-Date {v} is not the context time"
            ));
        }
        if n.eq_ignore_ascii_case("x-amz-security-token") && Some(v) != case.ctx.token.as_ref() {
            return Err(format!(
                "{name}: request token is not the credentials' token"
            ));
        }
    }

    // 1. The low-level API.
    let out = sign_low_level(case).map_err(|e| format!("{name}: sign failed: {e}"))?;
    let authz = get(&out, "authorization").ok_or(format!("{name}: no authorization"))?;
    compare(
        "authorization",
        name,
        Some(authz),
        Some(&case.expected.authorization),
    )?;
    if let Some(sig) = &case.expected.signature_file {
        compare("signature", name, Some(signature_of(authz)), Some(sig))?;
    }
    compare(
        "x-amz-date",
        name,
        get(&out, "x-amz-date"),
        Some(&amz_date(case.ctx.time)),
    )?;
    if let Some(d) = &case.expected.x_amz_date {
        compare("x-amz-date", name, get(&out, "x-amz-date"), Some(d))?;
    }
    compare(
        "x-amz-security-token",
        name,
        get(&out, "x-amz-security-token"),
        case.expected.security_token.as_deref(),
    )?;
    compare(
        "x-amz-content-sha256",
        name,
        get(&out, "x-amz-content-sha256"),
        case.expected.content_sha256.as_deref(),
    )?;

    // 2. What the proxy calls, on a Pingora head built from the request file (client-sent
    //    signer-owned headers included: the signer must strip and replace them).
    let mut head = head_from_request(case);
    let payload = sha256_hex(&case.request.body);
    case.ctx
        .signer()
        .sign_request_header(&mut head, &payload, case.ctx.time)
        .map_err(|e| format!("{name}: sign_request_header failed: {e}"))?;
    let head_authz = head_value(&head, "authorization").ok_or(format!("{name}: no authz"))?;
    let head_authz = head_authz.as_str();
    let not_allow_listed: Vec<String> = case
        .request
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| !allow_listed(n))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    if not_allow_listed.is_empty() {
        compare(
            "authorization (sign_request_header)",
            name,
            Some(head_authz),
            Some(&case.expected.authorization),
        )?;
        compare(
            "x-amz-date (sign_request_header)",
            name,
            head_value(&head, "x-amz-date").as_deref(),
            get(&out, "x-amz-date"),
        )?;
        compare(
            "x-amz-security-token (sign_request_header)",
            name,
            head_value(&head, "x-amz-security-token").as_deref(),
            case.expected.security_token.as_deref(),
        )?;
        compare(
            "x-amz-content-sha256 (sign_request_header)",
            name,
            head_value(&head, "x-amz-content-sha256").as_deref(),
            case.expected.content_sha256.as_deref(),
        )?;
    } else {
        // The suite signs headers a proxy must not sign (my-header1, content-length). What can
        // be asserted: exactly the suite's signed headers minus those are signed, the result
        // equals `sign` over the allow-listed headers only, and it differs from the suite's
        // signature (so the extra headers really were left out).
        let want_signed: Vec<&str> = signed_headers_of(&case.expected.authorization)
            .split(';')
            .filter(|h| !not_allow_listed.iter().any(|n| n == h))
            .collect();
        compare(
            "SignedHeaders (sign_request_header)",
            name,
            Some(signed_headers_of(head_authz)),
            Some(&want_signed.join(";")),
        )?;
        let allowed: Vec<(&str, &str)> = case
            .request
            .headers
            .iter()
            .filter(|(n, _)| {
                allow_listed(n) && !SIGNER_OWNED.iter().any(|o| n.eq_ignore_ascii_case(o))
            })
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let sub = case
            .ctx
            .signer()
            .sign(
                &case.request.method,
                &wire_target(&case.request.target),
                &allowed,
                &payload,
                case.ctx.time,
            )
            .map_err(|e| format!("{name}: sign (allow-listed subset) failed: {e}"))?;
        compare(
            "authorization (sign_request_header vs sign over the allow-list)",
            name,
            Some(head_authz),
            get(&sub, "authorization"),
        )?;
        if signature_of(head_authz) == signature_of(&case.expected.authorization) {
            return Err(format!(
                "{name}: leaving out {not_allow_listed:?} did not change the signature"
            ));
        }
    }

    // Untouched headers stay as they were; nothing was signed twice.
    for h in ["authorization", "x-amz-date"] {
        let n = head.headers.get_all(h).iter().count();
        if n != 1 {
            return Err(format!("{name}: {n} {h} headers after signing"));
        }
    }

    Ok(Outcome {
        via_sign_request_header: not_allow_listed.is_empty(),
        not_allow_listed,
    })
}

/// For a case run with a deviation from the defaults, asserts the deviation is needed: with
/// `tweak` applied to the context (back to the default) the signature must differ.
fn assert_deviation_needed(case: &Case, tweak: impl Fn(&mut Case), why: &str) {
    let mut alt = case.clone();
    tweak(&mut alt);
    let out = sign_low_level(&alt).unwrap_or_else(|e| panic!("{}: {e}", case.name));
    assert_ne!(
        get(&out, "authorization").unwrap(),
        case.expected.authorization,
        "{}: the deviation ({why}) is no longer needed: update the table",
        case.name
    );
}

fn summary(title: &str, cases: &[Case], results: &[Result<Outcome, String>]) -> String {
    let mut s = String::new();
    let passed = results.iter().filter(|r| r.is_ok()).count();
    let via_head = results
        .iter()
        .filter(|r| matches!(r, Ok(o) if o.via_sign_request_header))
        .count();
    let _ = writeln!(
        s,
        "{title}: {passed}/{} passed through RequestSigner::sign; \
         {via_head} of them (every header on the allow-list) also reproduced exactly \
         through RequestSigner::sign_request_header",
        cases.len()
    );
    for (c, r) in cases.iter().zip(results) {
        match r {
            Ok(o) if o.via_sign_request_header => {
                let _ = write!(s, "  ok   {} (sign + sign_request_header)", c.name);
            }
            Ok(o) => {
                let _ = write!(
                    s,
                    "  ok   {} (sign; sign_request_header leaves {:?} unsigned, as it must)",
                    c.name, o.not_allow_listed
                );
            }
            Err(e) => {
                let _ = write!(s, "  FAIL {e}");
            }
        }
        match c.note {
            Some(note) => {
                let _ = writeln!(s, " [{note}]");
            }
            None => s.push('\n'),
        }
    }
    s
}

// ------------------------------------------------------------------------------------------
// Suite 1: aws-signing-test-suite/v4 inside the aws-sigv4 crate
// ------------------------------------------------------------------------------------------

const AKIDEXAMPLE: &str = "AKIDEXAMPLE";
const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// Cases whose expected canonical URI is the *single* encoding of the path. The suite writes
/// their targets decoded ("/example space/", "/ሴ") or expects "/example%20space/" to stay
/// "%20": it was generated by a signer that encodes the decoded path once. A proxy receives
/// and forwards the wire form ("/example%20space/", "/%E1%88%B4"); the SDK default for
/// non-S3 services (Double) encodes that again ("%2520"). aws-sigv4 itself ignores these
/// three cases for that reason ("relies on single encode of path segments"). We sign them
/// with `UriEncoding::Single`, which produces the suite's canonical URI from the wire form,
/// and assert that Double really differs.
const V4_SINGLE_ENCODED: [&str; 3] = ["get-space-normalized", "get-space-unnormalized", "get-utf8"];

#[derive(serde::Deserialize)]
struct ContextJson {
    credentials: CredsJson,
    #[allow(dead_code)] // only used by query-string (presigned) signing; see below
    expiration_in_seconds: Option<u64>,
    normalize: bool,
    region: String,
    service: String,
    timestamp: String,
    #[serde(default)]
    omit_session_token: bool,
    #[serde(default = "yes")]
    sign_body: bool,
    /// Not present in the 1.6.4 copy; honoured if a later suite adds it.
    #[serde(default)]
    double_uri_encode: Option<bool>,
}

#[derive(serde::Deserialize)]
struct CredsJson {
    access_key_id: String,
    secret_access_key: String,
    token: Option<String>,
}

fn yes() -> bool {
    true
}

fn load_v4_case(dir: &Path) -> Case {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let signed_request = read(&dir.join("header-signed-request.txt"));
    let authorization =
        header_in(&signed_request, "authorization").expect("no Authorization in signed request");
    let (scope_akid, scope_date, scope_region, scope_service) = credential_scope_of(&authorization);

    let ctx = match read_opt(&dir.join("context.json")) {
        Some(json) => {
            let c: ContextJson = serde_json::from_str(&json).expect("context.json");
            Ctx {
                akid: c.credentials.access_key_id,
                secret: c.credentials.secret_access_key,
                token: c.credentials.token,
                region: c.region,
                service: c.service,
                time: parse_time(&c.timestamp),
                normalize: c.normalize,
                // omit_session_token: the token is sent but added after signing.
                signed_token: !c.omit_session_token,
                // sign_body: sign (and send) x-amz-content-sha256. The payload hash in the
                // canonical request is always sha256(body), as in aws-sigv4's own runner.
                content_sha256_header: c.sign_body,
                encoding: match c.double_uri_encode {
                    Some(false) => UriEncoding::Single,
                    Some(true) => UriEncoding::Double,
                    None if V4_SINGLE_ENCODED.contains(&name.as_str()) => UriEncoding::Single,
                    None => UriEncoding::Double,
                },
                fold: Fold::Space,
            }
        }
        // Two cases added by the Rust SDK team have no context.json. Their key id, date,
        // region and service are in the expected Credential scope, the time in the request's
        // own X-Amz-Date; the secret is not in the files:
        // - "double-encode-path" (key ANOTREAL) is signed by aws-sigv4's own test
        //   `test_sign_url_escape` with `Credentials::for_tests()`, whose secret is
        //   "notrealrnrELgWzOk3IfjzDKtFBhDby" (aws-credential-types). Its
        //   header-canonical-request.txt carries another date (20210511T154045Z, copied from
        //   the next case) than its signed request; it has no string-to-sign file, so only the
        //   signature is compared.
        // - "double-url-encode" (key AKIDEXAMPLE) uses the suite's usual example secret; its
        //   string-to-sign file confirms that (check_suite_consistency).
        // Settings: SDK defaults (double encoding, normalisation on, no content-sha256 header)
        // as in aws-sigv4's tests of these cases.
        None => {
            let secret = match scope_akid.as_str() {
                "ANOTREAL" => "notrealrnrELgWzOk3IfjzDKtFBhDby",
                AKIDEXAMPLE => EXAMPLE_SECRET,
                other => panic!("{name}: no context.json and unknown key id {other}"),
            };
            let request = read(&dir.join("request.txt"));
            let date = header_in(&request, "x-amz-date")
                .unwrap_or_else(|| panic!("{name}: no context.json and no X-Amz-Date"));
            Ctx {
                akid: scope_akid.clone(),
                secret: secret.to_owned(),
                token: None,
                region: scope_region.clone(),
                service: scope_service.clone(),
                time: parse_time(&date),
                normalize: true,
                signed_token: true,
                content_sha256_header: false,
                encoding: UriEncoding::Double,
                fold: Fold::Space,
            }
        }
    };
    assert_eq!(scope_akid, ctx.akid, "{name}: key id");
    assert_eq!(scope_date, amz_date(ctx.time)[..8], "{name}: scope date");
    assert_eq!(scope_region, ctx.region, "{name}: region");
    assert_eq!(scope_service, ctx.service, "{name}: service");

    let request = parse_request(&read(&dir.join("request.txt")), ctx.fold);
    let expected = Expected {
        signature_file: read_opt(&dir.join("header-signature.txt")).map(|s| s.trim().to_owned()),
        x_amz_date: header_in(&signed_request, "x-amz-date"),
        security_token: header_in(&signed_request, "x-amz-security-token"),
        content_sha256: header_in(&signed_request, "x-amz-content-sha256"),
        canonical_request: read_opt(&dir.join("header-canonical-request.txt")),
        string_to_sign: read_opt(&dir.join("header-string-to-sign.txt")),
        authorization,
    };
    let note = if !dir.join("context.json").is_file() {
        Some("no context.json: context from the Credential scope and X-Amz-Date, see load_v4_case")
    } else if ctx.encoding == UriEncoding::Single {
        Some("UriEncoding::Single, see V4_SINGLE_ENCODED")
    } else {
        None
    };
    Case {
        name,
        ctx,
        request,
        expected,
        note,
    }
}

fn v4_suite_dir() -> PathBuf {
    registry_crate_dir("aws-sigv4").join("aws-signing-test-suite/v4")
}

fn load_v4_suite() -> Vec<Case> {
    let dir = v4_suite_dir();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("request.txt").is_file())
        .collect();
    dirs.sort();
    dirs.iter().map(|d| load_v4_case(d)).collect()
}

/// Suite 1. The query-* files (presigned URLs, `expiration_in_seconds`) are not used: the
/// proxy signs headers only and `RequestSigner` has no presigning. Every case has the
/// header-* files, so no case is query-only.
#[test]
fn aws_sigv4_crate_v4_suite() {
    let cases = load_v4_suite();
    let results: Vec<_> = cases.iter().map(run_case).collect();
    let report = summary(
        &format!("aws-signing-test-suite/v4 ({})", v4_suite_dir().display()),
        &cases,
        &results,
    );
    println!("{report}");

    let passed = results.iter().filter(|r| r.is_ok()).count();
    let via_head = results
        .iter()
        .filter(|r| matches!(r, Ok(o) if o.via_sign_request_header))
        .count();
    assert_eq!(
        cases.len(),
        40,
        "the v4 suite should have 40 cases\n{report}"
    );
    assert_eq!(passed, 40, "{report}");
    // The 8 others sign my-header1/my-header2 (get-header-*, post-header-key-sort,
    // post-header-value-case) or content-length (post-x-www-form-urlencoded*).
    assert_eq!(via_head, 32, "{report}");

    // The table entries are needed.
    for c in cases
        .iter()
        .filter(|c| c.ctx.encoding == UriEncoding::Single)
    {
        assert_deviation_needed(
            c,
            |c| c.ctx.encoding = UriEncoding::Double,
            "single encoding",
        );
    }
    let after = cases
        .iter()
        .find(|c| c.name == "post-sts-header-after")
        .unwrap();
    assert!(!after.ctx.signed_token);
    assert_deviation_needed(
        after,
        |c| c.ctx.signed_token = true,
        "token added after signing",
    );
    let multiline = cases
        .iter()
        .find(|c| c.name == "get-header-value-multiline")
        .unwrap();
    assert_deviation_needed(
        multiline,
        |c| {
            let text = read(&v4_suite_dir().join(&c.name).join("request.txt"));
            c.request = parse_request(&text, Fold::SeparateValue);
        },
        "obs-fold read as SP",
    );
    // The cases without context.json, checked against the expected values spelled out.
    let dep = cases
        .iter()
        .find(|c| c.name == "double-encode-path")
        .unwrap();
    assert_eq!(
        signature_of(&dep.expected.authorization),
        "57d157672191bac40bae387e48bbe14b15303c001fdbb01f4abf295dccb09705"
    );
    let due = cases
        .iter()
        .find(|c| c.name == "double-url-encode")
        .unwrap();
    assert_eq!(due.ctx.service, "lambda");
    assert_eq!(
        signature_of(&due.expected.authorization),
        "4b93abbcc68be32bd64c18e2c71150660ab4c29bbd6c32a383a7517a88fc1804"
    );
}

// ------------------------------------------------------------------------------------------
// Suite 2: the 2015 aws4_testsuite (botocore's), from the scratchstack-aws-signature crate
// ------------------------------------------------------------------------------------------

/// The same problem as `V4_SINGLE_ENCODED`: decoded targets whose expected canonical URI is
/// the single encoding. botocore skips "normalize-path/get-space" ("Bad request-line syntax,
/// python's HTTP parser chokes on this"); here it passes with single encoding of the wire form.
const OLD_SINGLE_ENCODED: [&str; 2] = ["get-utf8", "normalize-path/get-space"];

fn old_suite_dir() -> PathBuf {
    registry_crate_dir("scratchstack-aws-signature").join("src/aws-sig-v4-test-suite")
}

/// Fixed context of the 2015 suite (the one botocore's test_sigv4.py uses).
fn old_suite_context(name: &str, readme_token: &str) -> Ctx {
    let mut ctx = Ctx {
        akid: AKIDEXAMPLE.to_owned(),
        secret: EXAMPLE_SECRET.to_owned(),
        token: None,
        region: "us-east-1".to_owned(),
        service: "service".to_owned(),
        time: parse_time("2015-08-30T12:36:00Z"),
        normalize: true,
        signed_token: true,
        content_sha256_header: false,
        encoding: if OLD_SINGLE_ENCODED.contains(&name) {
            UriEncoding::Single
        } else {
            UriEncoding::Double
        },
        // The 2015 suite expects "my-header1:value1,value2,value3" for the folded header,
        // i.e. each continuation line as one more value; the new suite (and RFC 7230) read
        // the same bytes as "value1 value2 value3". This only concerns how the test reads a
        // file: Pingora rejects obs-fold in requests, so the proxy never sees one.
        fold: if name == "get-header-value-multiline" {
            Fold::SeparateValue
        } else {
            Fold::Space
        },
    };
    // "post-sts-token/*": per the suite's readme the token is part of the signature in
    // header-before (it is in the request file) and "added to the request after you
    // calculate the signature" in header-after (it is only in the .sreq). The signer holds it
    // as the credentials' token in both; for header-after with
    // `with_signed_session_token(false)`.
    match name {
        "post-sts-token/post-sts-header-before" => ctx.token = Some(readme_token.to_owned()),
        "post-sts-token/post-sts-header-after" => {
            ctx.token = Some(readme_token.to_owned());
            ctx.signed_token = false;
        }
        _ => {}
    }
    ctx
}

fn find_req_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            find_req_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "req") {
            out.push(p);
        }
    }
}

fn load_old_suite() -> Vec<Case> {
    let root = old_suite_dir();
    // "The test suite uses this example value for X-Amz-Security-Token:" + last line.
    let readme = read(&root.join("post-sts-token/readme.txt"));
    let token = readme
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap()
        .trim()
        .to_owned();
    assert!(
        token.starts_with("AQoDYXdzEPT"),
        "unexpected readme: {token}"
    );

    let mut reqs = Vec::new();
    find_req_files(&root, &mut reqs);
    reqs.sort();
    reqs.iter()
        .map(|req| {
            let dir = req.parent().unwrap();
            let name = dir
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let ctx = old_suite_context(&name, &token);
            let file = |ext: &str| req.with_extension(ext);
            let authorization = read(&file("authz")).trim().to_owned();
            let sreq = read(&file("sreq"));
            assert_eq!(
                header_in(&sreq, "authorization").as_deref(),
                Some(authorization.as_str()),
                "{name}: .sreq and .authz disagree"
            );
            let note = match ctx.encoding {
                UriEncoding::Single => Some("UriEncoding::Single, see OLD_SINGLE_ENCODED"),
                UriEncoding::Double => None,
            };
            let mut case = Case {
                note,
                expected: Expected {
                    signature_file: None,
                    x_amz_date: header_in(&sreq, "x-amz-date"),
                    security_token: header_in(&sreq, "x-amz-security-token"),
                    content_sha256: header_in(&sreq, "x-amz-content-sha256"),
                    canonical_request: Some(read(&file("creq"))),
                    string_to_sign: Some(read(&file("sts"))),
                    authorization,
                },
                request: parse_request(&read(req), ctx.fold),
                ctx,
                name,
            };
            apply_old_suite_errata(&mut case);
            case
        })
        .collect()
}

/// The 2015 suite has two cases whose files do not describe the request as given:
///
/// * "post-x-www-form-urlencoded": the .creq lists `content-type` among the canonical
///   headers but its signed-headers line says `host;x-amz-date`; the .sts, .authz and .sreq
///   say `content-type;host;x-amz-date`. The .creq with that one line corrected hashes to the
///   value in the .sts (asserted here), so only the suite-consistency check uses the
///   corrected text; the signature is compared unchanged.
/// * "post-x-www-form-urlencoded-parameters": the .req carries the body `Param1=value1`, but
///   the expected canonical request has `Param1=value1` as the *query* string and the
///   empty-payload hash, i.e. the suite treats form parameters as query parameters. A proxy
///   forwards a body as a body and signs its hash, which gives another signature (asserted
///   in the test). What can be asserted: with the request presented as the canonical request
///   describes it (`POST /?Param1=value1`, empty body, same headers) the signer reproduces
///   the suite's signature, through both `sign` and `sign_request_header`.
const FORM_CASE: &str = "post-x-www-form-urlencoded";
const FORM_PARAMS_CASE: &str = "post-x-www-form-urlencoded-parameters";

fn apply_old_suite_errata(case: &mut Case) {
    if case.name == FORM_CASE {
        let creq = case.expected.canonical_request.take().unwrap();
        let sts = case.expected.string_to_sign.as_deref().unwrap();
        let sts_hash = sts.trim_end().rsplit('\n').next().unwrap();
        let fixed = creq.replace(
            "\n\nhost;x-amz-date\n",
            "\n\ncontent-type;host;x-amz-date\n",
        );
        assert_ne!(
            sha256_hex(creq.trim_end().as_bytes()),
            sts_hash,
            "{FORM_CASE}: erratum fixed upstream?"
        );
        assert_eq!(
            sha256_hex(fixed.trim_end().as_bytes()),
            sts_hash,
            "{FORM_CASE}: erratum"
        );
        case.expected.canonical_request = Some(fixed);
        case.note = Some(
            "its .creq has a wrong signed-headers line; consistency checked with it corrected",
        );
    }
    if case.name == FORM_PARAMS_CASE {
        let creq = case.expected.canonical_request.as_deref().unwrap();
        let body = String::from_utf8(std::mem::take(&mut case.request.body)).unwrap();
        assert!(
            creq.contains(&format!("\n/\n{body}\n")) && creq.ends_with(EMPTY_PAYLOAD_SHA256),
            "{FORM_PARAMS_CASE}: the .creq no longer has the body as query"
        );
        case.request.target = format!("{}?{body}", case.request.target);
        case.note = Some("body moved to the query, as its .creq has it");
    }
}

/// Suite 2. botocore skips 4 cases: normalize-path/get-space (its parser), and
/// get-vanilla-query-order-key, -key-case, -value ("multiple query params of the same key
/// not supported by the SDKs": botocore keeps params in a dict). aws-sigv4 sorts repeated
/// keys by encoded (key, value) as the suite expects, so all three pass here unchanged;
/// get-space passes with single encoding (see OLD_SINGLE_ENCODED).
///
/// The crate copy has 31 cases (30 + both post-sts-token variants), not 34.
#[test]
fn botocore_2015_suite_from_scratchstack_crate() {
    let cases = load_old_suite();
    let results: Vec<_> = cases.iter().map(run_case).collect();
    let report = summary(
        &format!("aws4_testsuite 2015 ({})", old_suite_dir().display()),
        &cases,
        &results,
    );
    println!("{report}");
    let passed = results.iter().filter(|r| r.is_ok()).count();
    let via_head = results
        .iter()
        .filter(|r| matches!(r, Ok(o) if o.via_sign_request_header))
        .count();
    assert_eq!(cases.len(), 31, "{report}");
    assert_eq!(passed, 31, "{report}");
    // Not via the head: get-header-* (4), post-header-key-sort, post-header-value-case.
    assert_eq!(via_head, 25, "{report}");

    for c in cases
        .iter()
        .filter(|c| c.ctx.encoding == UriEncoding::Single)
    {
        assert_deviation_needed(
            c,
            |c| c.ctx.encoding = UriEncoding::Double,
            "single encoding",
        );
    }
    let multiline = cases
        .iter()
        .find(|c| c.name == "get-header-value-multiline")
        .unwrap();
    assert_deviation_needed(
        multiline,
        |c| {
            let text = read(
                &old_suite_dir()
                    .join(&c.name)
                    .join(format!("{}.req", c.name)),
            );
            c.request = parse_request(&text, Fold::Space);
        },
        "each continuation line as one more value",
    );
    let after = cases
        .iter()
        .find(|c| c.name == "post-sts-token/post-sts-header-after")
        .unwrap();
    assert_deviation_needed(
        after,
        |c| c.ctx.signed_token = true,
        "token added after signing",
    );
    // The body-as-query adjustment is needed: the request as given (body hashed) differs.
    let params = cases.iter().find(|c| c.name == FORM_PARAMS_CASE).unwrap();
    assert_deviation_needed(
        params,
        |c| {
            let text = read(
                &old_suite_dir()
                    .join(&c.name)
                    .join(format!("{}.req", c.name)),
            );
            c.request = parse_request(&text, Fold::Space);
            assert_eq!(c.request.body, b"Param1=value1");
        },
        "form body signed as query",
    );
    // The cases botocore skips are run and pass here.
    for skipped in [
        "normalize-path/get-space",
        "get-vanilla-query-order-key",
        "get-vanilla-query-order-key-case",
        "get-vanilla-query-order-value",
    ] {
        let i = cases.iter().position(|c| c.name == skipped).unwrap();
        assert!(results[i].is_ok(), "{skipped}");
    }
}

// ------------------------------------------------------------------------------------------
// The tests can fail
// ------------------------------------------------------------------------------------------

fn v4_case(name: &str) -> Case {
    load_v4_case(&v4_suite_dir().join(name))
}

/// The runner reports a mismatch (it is not vacuous): a wrong secret, a changed path, a
/// changed signed header, another time, another region each make a passing case fail.
#[test]
fn runner_detects_wrong_inputs() {
    let good = v4_case("get-vanilla-with-session-token");
    run_case(&good).expect("baseline passes");

    let mut wrong_secret = good.clone();
    wrong_secret.ctx.secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ".into();
    let e = run_case(&wrong_secret).unwrap_err();
    assert!(e.contains("HMAC") || e.contains("authorization"), "{e}");

    // Skip the suite-consistency check (it would already catch the secret) by removing the
    // suite's own intermediate files: the signature comparison itself must catch it.
    wrong_secret.expected.canonical_request = None;
    wrong_secret.expected.string_to_sign = None;
    let e = run_case(&wrong_secret).unwrap_err();
    assert!(e.contains("authorization"), "{e}");

    let mut wrong_path = good.clone();
    wrong_path.request.target = "/x".into();
    assert!(run_case(&wrong_path).is_err());

    let mut wrong_token = good.clone();
    wrong_token.ctx.token = Some("another-token".into());
    assert!(run_case(&wrong_token).is_err());

    let mut wrong_host = good.clone();
    wrong_host.request.headers[0].1 = "example2.amazonaws.com".into();
    assert!(run_case(&wrong_host).is_err());

    let mut wrong_time = good.clone();
    wrong_time.ctx.time += Duration::from_secs(1);
    wrong_time.expected.canonical_request = None;
    assert!(run_case(&wrong_time).is_err());

    let mut wrong_region = good.clone();
    wrong_region.ctx.region = "us-east-2".into();
    wrong_region.expected.string_to_sign = None;
    assert!(run_case(&wrong_region).is_err());

    let mut wrong_body = v4_case("post-x-www-form-urlencoded");
    run_case(&wrong_body).expect("baseline passes");
    wrong_body.request.body = b"Param1=value2".to_vec();
    assert!(run_case(&wrong_body).is_err());
}

#[test]
fn wrong_secret_gives_a_different_signature() {
    let case = v4_case("get-vanilla");
    let sign = |secret: &str| {
        let creds = StaticCredentials::new(AKIDEXAMPLE, secret, None);
        let out = RequestSigner::new(&creds, "us-east-1", "service")
            .sign(
                "GET",
                "/",
                &[("Host", "example.amazonaws.com")],
                EMPTY_PAYLOAD_SHA256,
                case.ctx.time,
            )
            .unwrap();
        get(&out, "authorization").unwrap().to_owned()
    };
    assert_eq!(sign(EXAMPLE_SECRET), case.expected.authorization);
    assert_ne!(
        sign("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ"),
        case.expected.authorization
    );
}

#[test]
fn time_helpers_round_trip() {
    let t = parse_time("2015-08-30T12:36:00Z");
    assert_eq!(
        t,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    );
    assert_eq!(amz_date(t), "20150830T123600Z");
    assert_eq!(
        parse_time("20210511T154045Z"),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_620_747_645)
    );
    assert_eq!(
        amz_date(parse_time("2000-02-29T23:59:59Z")),
        "20000229T235959Z"
    );
    assert_eq!(wire_target("/example space/"), "/example%20space/");
    assert_eq!(wire_target("/ሴ"), "/%E1%88%B4");
    assert_eq!(wire_target("/?ሴ=bar"), "/?%E1%88%B4=bar");
    assert_eq!(wire_target("/a%20b?x=1&y"), "/a%20b?x=1&y");
}
