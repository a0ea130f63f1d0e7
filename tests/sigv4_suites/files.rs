//! Reading the suites' files: HTTP request files, the expected `Authorization` value's parts,
//! and timestamps.

use std::time::SystemTime;

use aws_smithy_types::date_time::{DateTime, Format};

#[derive(Debug, Clone)]
pub(crate) struct RawRequest {
    pub(crate) method: String,
    /// The request-target as written in the file (may contain a raw space or raw UTF-8).
    pub(crate) target: String,
    /// In file order; names as written.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

/// Parses a request file. An obs-fold continuation line (starting with SP/HT) is joined to the
/// previous value with SP (RFC 7230 §3.2.4). Only `my-header1` is folded in the suites, a
/// header the product does not sign (and Pingora rejects obs-fold in requests anyway).
pub(crate) fn parse_request(text: &str) -> RawRequest {
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
            let last = headers
                .last_mut()
                .expect("continuation line before any header");
            last.1.push(' ');
            last.1.push_str(line.trim_matches([' ', '\t']));
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
pub(crate) fn wire_target(target: &str) -> String {
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
pub(crate) fn header_in(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

pub(crate) fn signature_of(authz: &str) -> &str {
    authz
        .rsplit_once("Signature=")
        .expect("no Signature= in authorization")
        .1
        .trim()
}

/// `(access key id, yyyymmdd, region, service)` from `Credential=AKID/date/region/svc/aws4_request`.
pub(crate) fn credential_scope_of(authz: &str) -> (String, String, String, String) {
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

/// Parses `2015-08-30T12:36:00Z` (context.json) and `20150830T123600Z` (X-Amz-Date).
pub(crate) fn parse_time(s: &str) -> SystemTime {
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    assert!(
        d.len() == 14 && s.ends_with('Z'),
        "unsupported timestamp {s}"
    );
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &d[0..4],
        &d[4..6],
        &d[6..8],
        &d[8..10],
        &d[10..12],
        &d[12..14]
    );
    let t = DateTime::from_str(&rfc3339, Format::DateTime).expect("timestamp");
    SystemTime::try_from(t).expect("timestamp in range")
}

/// `X-Amz-Date` form of `t`: `20150830T123600Z`.
pub(crate) fn amz_date(t: SystemTime) -> String {
    DateTime::from(t)
        .fmt(Format::DateTime)
        .expect("format time")
        .replace(['-', ':'], "")
}
