//! One case: its context, what the suite expects, and the runner, which signs the case the
//! way the proxy does (a route's [`RequestSigner::for_scope`], the credentials as the
//! credentials cell holds them, [`RequestSigner::sign_request_header`] on a Pingora head).
//!
//! The proxy signs with fixed settings (double URI encoding, path normalisation, the session
//! token signed, no `x-amz-content-sha256`) and an allow-list of headers. Where a case asks
//! for something else, the runner does not change the signer: it derives what the proxy must
//! sign from the suite's own canonical request, with the edits listed in [`Adjustment`], and
//! compares against the signature of that. The suite's canonical request is first checked to
//! be the one behind the suite's signature (`check_suite_consistency`), so the derived
//! expectation rests on suite data, and an adjusted case must differ from the suite's
//! signature (the adjustment is needed).

use std::fmt::Write as _;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use lambda_proxy::aws::credentials::Identity;
use lambda_proxy::aws::sigv4::{sha256_hex, RequestSigner};
use pingora::http::RequestHeader;

use crate::files::{amz_date, parse_time, signature_of, wire_target, RawRequest};

#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) akid: String,
    pub(crate) secret: String,
    pub(crate) token: Option<String>,
    pub(crate) region: String,
    pub(crate) service: String,
    pub(crate) time: SystemTime,
    /// The suite's settings; the proxy's are fixed (see [`Adjustment`]).
    pub(crate) normalize: bool,
    pub(crate) token_signed: bool,
    pub(crate) content_sha256_header: bool,
    /// The case's canonical URI is the single encoding of the path (`V4_SINGLE_ENCODED`,
    /// `OLD_SINGLE_ENCODED`).
    pub(crate) single_encoded: bool,
}

impl Ctx {
    /// The credentials as the route's credentials cell holds them.
    fn identity(&self) -> Identity {
        Credentials::new(
            &self.akid,
            &self.secret,
            self.token.clone(),
            None,
            "sigv4-suite",
        )
        .into()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Expected {
    /// The full `Authorization` value.
    pub(crate) authorization: String,
    /// From a separate signature file, when the suite has one.
    pub(crate) signature_file: Option<String>,
    pub(crate) x_amz_date: Option<String>,
    pub(crate) canonical_request: Option<String>,
    pub(crate) string_to_sign: Option<String>,
    /// For a case signed without path normalisation: the canonical URI of its normalised twin
    /// (same request, normalisation on), which is what the proxy signs.
    pub(crate) normalized_uri: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) ctx: Ctx,
    pub(crate) request: RawRequest,
    pub(crate) expected: Expected,
    /// Set when the case's files are read with a documented correction (printed).
    pub(crate) note: Option<&'static str>,
}

/// How what the proxy signs differs from what a suite case signs. Each is an edit of the
/// suite's canonical request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Adjustment {
    /// The case signs headers off the allow-list (`my-header1`, `content-length`): the proxy
    /// never signs headers a hop may change. Their lines leave the canonical request.
    NotAllowListed,
    /// The case sends and signs `x-amz-content-sha256` (`sign_body`, S3 style): the proxy
    /// sends none (Lambda and API Gateway do not want it). Its line leaves the request.
    NoContentSha256,
    /// The case adds the session token after signing (`omit_session_token`): Lambda and API
    /// Gateway need it signed, so the proxy always signs it. Its line joins the request.
    TokenSigned,
    /// The case turns path normalisation off: the proxy always normalises (and forwards a
    /// normalised path anyway). The canonical URI is the normalised twin's.
    Normalized,
    /// The case's canonical URI is the path encoded once (S3 style, or a suite file written
    /// decoded): the proxy encodes the wire path again, so each `%` becomes `%25`.
    DoubleEncoded,
}

impl Adjustment {
    fn describe(self) -> &'static str {
        match self {
            Adjustment::NotAllowListed => "unsigned: not on the allow-list",
            Adjustment::NoContentSha256 => "no x-amz-content-sha256",
            Adjustment::TokenSigned => "session token signed",
            Adjustment::Normalized => "path normalised",
            Adjustment::DoubleEncoded => "double URI encoding",
        }
    }
}

pub(crate) fn allow_listed(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "host" || n == "content-type" || n.starts_with("x-amz-")
}

pub(crate) fn adjustments(case: &Case) -> Vec<Adjustment> {
    let mut out = Vec::new();
    if case.request.headers.iter().any(|(n, _)| !allow_listed(n)) {
        out.push(Adjustment::NotAllowListed);
    }
    if case.ctx.content_sha256_header {
        out.push(Adjustment::NoContentSha256);
    }
    if case.ctx.token.is_some() && !case.ctx.token_signed {
        out.push(Adjustment::TokenSigned);
    }
    if !case.ctx.normalize {
        out.push(Adjustment::Normalized);
    }
    if case.ctx.single_encoded {
        out.push(Adjustment::DoubleEncoded);
    }
    out
}

/// A canonical request file, line by line.
struct CanonicalRequest {
    method: String,
    uri: String,
    query: String,
    headers: Vec<(String, String)>,
    payload: String,
}

impl CanonicalRequest {
    fn parse(text: &str) -> CanonicalRequest {
        let mut lines = text.trim_end_matches('\n').split('\n');
        let mut next = || lines.next().expect("short canonical request").to_owned();
        let (method, uri, query) = (next(), next(), next());
        let mut headers = Vec::new();
        loop {
            let line = next();
            if line.is_empty() {
                break;
            }
            let (n, v) = line.split_once(':').expect("canonical header line");
            headers.push((n.to_owned(), v.to_owned()));
        }
        let _signed_headers = next();
        let payload = next();
        CanonicalRequest {
            method,
            uri,
            query,
            headers,
            payload,
        }
    }

    fn signed_headers(&self) -> String {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        names.join(";")
    }

    fn render(&self) -> String {
        let mut s = format!("{}\n{}\n{}\n", self.method, self.uri, self.query);
        for (n, v) in &self.headers {
            let _ = writeln!(s, "{n}:{v}");
        }
        let _ = write!(s, "\n{}\n{}", self.signed_headers(), self.payload);
        s
    }
}

/// The `Authorization` value the proxy must produce for `case`: the suite's own when no
/// [`Adjustment`] applies, else the signature of the suite's canonical request with the edits.
fn expected_authorization(case: &Case, adjustments: &[Adjustment]) -> Result<String, String> {
    if adjustments.is_empty() {
        return Ok(case.expected.authorization.clone());
    }
    let name = &case.name;
    let (Some(creq), Some(sts)) = (
        &case.expected.canonical_request,
        &case.expected.string_to_sign,
    ) else {
        return Err(format!(
            "{name}: adjusted, but without canonical request and string to sign"
        ));
    };
    let mut creq = CanonicalRequest::parse(creq);
    for a in adjustments {
        match a {
            Adjustment::NotAllowListed => creq.headers.retain(|(n, _)| allow_listed(n)),
            Adjustment::NoContentSha256 => {
                creq.headers.retain(|(n, _)| n != "x-amz-content-sha256")
            }
            Adjustment::TokenSigned => {
                let token = case.ctx.token.clone().unwrap();
                creq.headers.push(("x-amz-security-token".into(), token));
                creq.headers.sort();
            }
            Adjustment::Normalized => {
                creq.uri = case
                    .expected
                    .normalized_uri
                    .clone()
                    .ok_or(format!("{name}: no normalised twin"))?;
            }
            Adjustment::DoubleEncoded => creq.uri = creq.uri.replace('%', "%25"),
        }
    }
    // The suite's string to sign (algorithm, date, scope) with the new request's hash.
    let sts = sts.trim_end_matches('\n');
    let (sts_head, _) = sts.rsplit_once('\n').expect("string to sign");
    let sts = format!("{sts_head}\n{}", sha256_hex(creq.render().as_bytes()));
    let signature = suite_signature(case, &sts);
    let (credential, _) = case
        .expected
        .authorization
        .split_once(", SignedHeaders=")
        .expect("Authorization layout");
    Ok(format!(
        "{credential}, SignedHeaders={}, Signature={signature}",
        creq.signed_headers()
    ))
}

/// The signature of a string to sign under the case's key, computed from the suite's context
/// alone (aws-sigv4's HMAC primitives, not the signer under test).
fn suite_signature(case: &Case, string_to_sign: &str) -> String {
    let key = aws_sigv4::sign::v4::generate_signing_key(
        &case.ctx.secret,
        case.ctx.time,
        &case.ctx.region,
        &case.ctx.service,
    );
    aws_sigv4::sign::v4::calculate_signature(key, string_to_sign.as_bytes())
}

fn head_value(req: &RequestHeader, name: &str) -> Option<String> {
    req.headers
        .get(name)
        .map(|v| v.to_str().expect("non-ASCII signing header").to_owned())
}

/// Checks the suite's own files against each other, independently of our signer:
/// `sha256(canonical request)` is the last line of the string to sign, and HMAC of the string
/// to sign under the context's key gives the expected signature. This proves the context we
/// derived (key, date, region, service) and the canonical request are the suite's.
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
    let sig = suite_signature(case, sts);
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

/// The request file as the proxy's upstream head (client-sent signer-owned headers included:
/// the signer must strip and replace them).
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

/// Runs one case through the proxy's entry points. Ok: the adjustments that applied (none:
/// the suite's own signature was reproduced).
pub(crate) fn run_case(case: &Case) -> Result<Vec<Adjustment>, String> {
    let name = case.name.as_str();
    check_suite_consistency(case)?;
    // Signing headers a suite request already carries (the 2015 suite always has X-Amz-Date,
    // "post-sts-header-before" also X-Amz-Security-Token) must be what the signer produces;
    // the signer strips and replaces them.
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

    let signer = RequestSigner::for_scope(&case.ctx.region, &case.ctx.service);
    let mut head = head_from_request(case);
    signer
        .sign_request_header(
            &case.ctx.identity(),
            &mut head,
            &sha256_hex(&case.request.body),
            case.ctx.time,
        )
        .map_err(|e| format!("{name}: sign_request_header failed: {e}"))?;
    let authz = head_value(&head, "authorization").ok_or(format!("{name}: no authorization"))?;

    let adjustments = adjustments(case);
    let want = expected_authorization(case, &adjustments)?;
    compare("authorization", name, Some(&authz), Some(&want))?;
    if adjustments.is_empty() {
        if let Some(sig) = &case.expected.signature_file {
            compare("signature", name, Some(signature_of(&authz)), Some(sig))?;
        }
    } else if authz == case.expected.authorization {
        return Err(format!(
            "{name}: {adjustments:?} no longer change the signature: update the runner"
        ));
    }
    let date = head_value(&head, "x-amz-date");
    compare(
        "x-amz-date",
        name,
        date.as_deref(),
        Some(&amz_date(case.ctx.time)),
    )?;
    if let Some(d) = &case.expected.x_amz_date {
        compare("x-amz-date", name, date.as_deref(), Some(d))?;
    }
    compare(
        "x-amz-security-token",
        name,
        head_value(&head, "x-amz-security-token").as_deref(),
        case.ctx.token.as_deref(),
    )?;
    compare(
        "x-amz-content-sha256",
        name,
        head_value(&head, "x-amz-content-sha256").as_deref(),
        None,
    )?;
    // Nothing was signed twice.
    for h in ["authorization", "x-amz-date"] {
        let n = head.headers.get_all(h).iter().count();
        if n != 1 {
            return Err(format!("{name}: {n} {h} headers after signing"));
        }
    }
    Ok(adjustments)
}

/// A suite run: every case's result, and the printed report.
pub(crate) struct SuiteRun {
    names: Vec<String>,
    results: Vec<Result<Vec<Adjustment>, String>>,
    pub(crate) report: String,
}

impl SuiteRun {
    /// Runs every case and prints the report (asserting nothing: the callers do).
    pub(crate) fn run(title: &str, cases: &[Case]) -> SuiteRun {
        let mut run = SuiteRun {
            names: cases.iter().map(|c| c.name.clone()).collect(),
            results: cases.iter().map(run_case).collect(),
            report: String::new(),
        };
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{title}: {}/{} passed through RequestSigner::sign_request_header, {} of them \
             with the suite's own signature, the others with the suite's canonical request \
             adjusted to what the proxy signs",
            run.results.iter().filter(|r| r.is_ok()).count(),
            cases.len(),
            run.adjusted_by(|a| a.is_empty()).len(),
        );
        for (c, r) in cases.iter().zip(&run.results) {
            match r {
                Ok(a) if a.is_empty() => {
                    let _ = write!(s, "  ok   {}", c.name);
                }
                Ok(a) => {
                    let a: Vec<_> = a.iter().map(|a| a.describe()).collect();
                    let _ = write!(s, "  ok   {} (adjusted: {})", c.name, a.join(", "));
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
        println!("{s}");
        run.report = s;
        run
    }

    pub(crate) fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.is_ok()).count()
    }

    /// The cases that passed with the suite's own signature.
    pub(crate) fn exact(&self) -> usize {
        self.adjusted_by(|a| a.is_empty()).len()
    }

    /// The cases that passed with adjustment `a`.
    pub(crate) fn adjusted(&self, a: Adjustment) -> Vec<&str> {
        self.adjusted_by(|adjustments| adjustments.contains(&a))
    }

    fn adjusted_by(&self, f: impl Fn(&[Adjustment]) -> bool) -> Vec<&str> {
        self.names
            .iter()
            .zip(&self.results)
            .filter(|(_, r)| r.as_deref().is_ok_and(&f))
            .map(|(n, _)| n.as_str())
            .collect()
    }

    pub(crate) fn passed_case(&self, name: &str) -> bool {
        let i = self
            .names
            .iter()
            .position(|n| n == name)
            .expect("case name");
        self.results[i].is_ok()
    }
}
