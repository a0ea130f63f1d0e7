//! Identity sources (`identity_source`): where the values an authorizer needs come from, and
//! API Gateway's rule that every one must be present.
//!
//! The four selection expressions of HTTP API Lambda authorizers
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html#http-api-lambda-authorizer.identity-sources>):
//!
//! | expression                   | notes (AWS)                                |
//! |------------------------------|--------------------------------------------|
//! | `$request.header.name`       | header names are case-insensitive          |
//! | `$request.querystring.name`  | query string names are case-sensitive      |
//! | `$context.variableName`      | a supported context variable               |
//! | `$stageVariables.name`       | a stage variable                           |
//!
//! Values are rendered as the 2.0 event renders the same parameter: repeated headers and
//! repeated query keys joined with `,`, query keys and values form-decoded.

use std::collections::BTreeMap;
use std::fmt;

use http::{HeaderMap, HeaderName};

use crate::function_name::event::{domain, form_decode, EventSettings, RequestView};

const HEADER: &str = "$request.header.";
const QUERY: &str = "$request.querystring.";
const CONTEXT: &str = "$context.";
const STAGE_VAR: &str = "$stageVariables.";

/// One parsed `identity_source` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdentitySource {
    /// `$request.header.NAME`, matched case-insensitively (the name is stored lower-case).
    Header(HeaderName),
    /// `$request.querystring.NAME`, matched case-sensitively against the decoded keys.
    Query(String),
    /// `$context.NAME`, e.g. `$context.routeKey`; resolved by the caller (see [`context_variable`]).
    Context(String),
    /// `$stageVariables.NAME`.
    StageVariable(String),
}

impl IdentitySource {
    /// Parse one selection expression. The prefixes are case-sensitive (as AWS spells them);
    /// the name after them must be non-empty and contain no whitespace.
    pub fn parse(expr: &str) -> Result<IdentitySource, String> {
        let accepted = || {
            format!(
                "identity source {expr:?}: expected $request.header.NAME, \
                 $request.querystring.NAME, $context.NAME or $stageVariables.NAME"
            )
        };
        let (prefix, name) = [HEADER, QUERY, CONTEXT, STAGE_VAR]
            .into_iter()
            .find_map(|p| expr.strip_prefix(p).map(|rest| (p, rest)))
            .ok_or_else(accepted)?;
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            return Err(accepted());
        }
        Ok(match prefix {
            HEADER => IdentitySource::Header(
                HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("identity source {expr:?}: invalid header name"))?,
            ),
            QUERY => IdentitySource::Query(name.to_owned()),
            CONTEXT => IdentitySource::Context(name.to_owned()),
            _ => IdentitySource::StageVariable(name.to_owned()),
        })
    }
}

/// The selection expression again (header names lower-case).
impl fmt::Display for IdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentitySource::Header(n) => write!(f, "{HEADER}{n}"),
            IdentitySource::Query(n) => write!(f, "{QUERY}{n}"),
            IdentitySource::Context(n) => write!(f, "{CONTEXT}{n}"),
            IdentitySource::StageVariable(n) => write!(f, "{STAGE_VAR}{n}"),
        }
    }
}

/// An identity source absent from the request or empty: API Gateway answers `401` without
/// calling the authorizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityMissing {
    /// Position in the configured list.
    pub index: usize,
    /// The source's selection expression, e.g. `$request.header.x-token`.
    pub source: String,
}

impl fmt::Display for IdentityMissing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "identity source {} is missing or empty", self.source)
    }
}

impl std::error::Error for IdentityMissing {}

/// The value of every source, in order, or the first one that is missing or empty.
///
/// * Headers: every value of the header joined with `,` (as 2.0 events join them); values that
///   are not UTF-8 are decoded lossily.
/// * Query: `raw_query` split on `&`, keys and values form-decoded (as the events do); every
///   value of the key, in order, joined with `,`. A valueless `?name` is `""`, so missing.
/// * Context: `context(name)`; `None` or `""` is missing.
/// * Stage variables: looked up in `stage_vars`.
pub fn extract(
    sources: &[IdentitySource],
    headers: &HeaderMap,
    raw_query: Option<&str>,
    context: &dyn Fn(&str) -> Option<String>,
    stage_vars: &BTreeMap<String, String>,
) -> Result<Vec<String>, IdentityMissing> {
    sources
        .iter()
        .enumerate()
        .map(|(index, source)| {
            let value = match source {
                IdentitySource::Header(name) => header_value(headers, name),
                IdentitySource::Query(name) => query_value(raw_query.unwrap_or(""), name),
                IdentitySource::Context(name) => context(name),
                IdentitySource::StageVariable(name) => stage_vars.get(name).cloned(),
            };
            value
                .filter(|v| !v.is_empty())
                .ok_or_else(|| IdentityMissing {
                    index,
                    source: source.to_string(),
                })
        })
        .collect()
}

fn header_value(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let mut out: Option<String> = None;
    for v in headers.get_all(name) {
        // Visible ASCII (every token) without a UTF-8 pass; anything else decoded lossily.
        let text = match v.to_str() {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(v.as_bytes()),
        };
        match &mut out {
            None => out = Some(text.into_owned()),
            Some(s) => {
                s.push(',');
                s.push_str(&text);
            }
        }
    }
    out
}

fn query_value(raw: &str, name: &str) -> Option<String> {
    let mut out: Option<String> = None;
    for piece in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = match piece.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (piece, None),
        };
        if form_decode(k) != name {
            continue;
        }
        let v = v.map(form_decode);
        let v = v.as_deref().unwrap_or("");
        match &mut out {
            None => out = Some(v.to_owned()),
            Some(s) => {
                s.push(',');
                s.push_str(v);
            }
        }
    }
    out
}

/// The value of `$context.NAME` for the context variables an identity source can name, as the
/// 2.0 event reports them (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html>);
/// `None` for the others (and for values the request lacks). A ready-made `context` argument of
/// [`extract`]: `&|name| context_variable(name, &view, &settings)`.
///
/// Supported: `accountId`, `apiId`, `domainName`, `domainPrefix`, `httpMethod`, `path` (as
/// received), `protocol`, `requestId`, `routeKey` (as the 2.0 event's), `stage`,
/// `identity.sourceIp`, `identity.userAgent`, and with a client certificate
/// `identity.clientCert.{clientCertPem, subjectDN, issuerDN, serialNumber}` and
/// `identity.clientCert.validity.{notBefore, notAfter}`.
pub fn context_variable(
    name: &str,
    view: &RequestView,
    settings: &EventSettings,
) -> Option<String> {
    let cert = view.client_cert;
    let s = |v: &str| Some(v.to_owned());
    match name {
        "accountId" => s(&settings.account_id),
        "apiId" => s(&settings.api_id),
        "domainName" => domain(view.host).0.map(str::to_owned),
        "domainPrefix" => domain(view.host).1.map(str::to_owned),
        "httpMethod" => s(view.method),
        "path" => s(view.raw_path),
        "protocol" => s(view.http_version),
        "requestId" => s(view.request_id),
        "routeKey" => Some(route_key(&settings.resource)),
        "stage" => s(&settings.stage),
        "identity.sourceIp" => view.source_ip.map(str::to_owned),
        "identity.userAgent" => view
            .headers
            .get(http::header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        "identity.clientCert.clientCertPem" => cert.map(|c| c.client_cert_pem.clone()),
        "identity.clientCert.subjectDN" => cert.map(|c| c.subject_dn.clone()),
        "identity.clientCert.issuerDN" => cert.map(|c| c.issuer_dn.clone()),
        "identity.clientCert.serialNumber" => cert.map(|c| c.serial_number.clone()),
        "identity.clientCert.validity.notBefore" => cert.map(|c| c.validity.not_before.clone()),
        "identity.clientCert.validity.notAfter" => cert.map(|c| c.validity.not_after.clone()),
        _ => None,
    }
}

/// The 2.0 event's `routeKey` for [`EventSettings::resource`] (`$default`, the setting verbatim
/// when it names a method, else `ANY <resource>`).
fn route_key(resource: &str) -> String {
    let r = resource.trim();
    if r.is_empty() || r == "$default" {
        "$default".to_owned()
    } else if r.contains(' ') {
        r.to_owned()
    } else {
        format!("ANY {r}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn src(list: &[&str]) -> Vec<IdentitySource> {
        list.iter()
            .map(|s| IdentitySource::parse(s).unwrap())
            .collect()
    }

    fn hmap(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_bytes(v).unwrap(),
            );
        }
        h
    }

    fn no_context(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn parses_the_four_expressions() {
        assert_eq!(
            IdentitySource::parse("$request.header.X-Token").unwrap(),
            IdentitySource::Header(HeaderName::from_static("x-token"))
        );
        assert_eq!(
            IdentitySource::parse("$request.querystring.Tenant").unwrap(),
            IdentitySource::Query("Tenant".into())
        );
        assert_eq!(
            IdentitySource::parse("$context.routeKey").unwrap(),
            IdentitySource::Context("routeKey".into())
        );
        assert_eq!(
            IdentitySource::parse("$stageVariables.region").unwrap(),
            IdentitySource::StageVariable("region".into())
        );
        // Display gives the expression back (header lower-case).
        let shown: Vec<String> = src(&[
            "$request.header.X-Token",
            "$request.querystring.Tenant",
            "$context.routeKey",
            "$stageVariables.region",
        ])
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            shown,
            [
                "$request.header.x-token",
                "$request.querystring.Tenant",
                "$context.routeKey",
                "$stageVariables.region"
            ]
        );
    }

    #[test]
    fn rejects_other_expressions() {
        for bad in [
            "",
            "Authorization",
            "$request.header.",
            "$request.header.bad name",
            "$request.header.bad:name",
            "$request.path.id",
            "$request.body.token",
            "$Request.header.x",
            "$context.",
            "$stageVariables.",
            "method.request.header.Authorization",
        ] {
            let err = IdentitySource::parse(bad).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
        let err = IdentitySource::parse("$request.cookie.x").unwrap_err();
        assert!(err.contains("$request.header.NAME"), "{err}");
        assert!(err.contains("$stageVariables.NAME"), "{err}");
    }

    #[test]
    fn extracts_in_order() {
        let h = hmap(&[("x-token", b"abc"), ("other", b"1")]);
        let mut vars = BTreeMap::new();
        vars.insert("region".to_string(), "eu".to_string());
        let ctx = |name: &str| (name == "routeKey").then(|| "GET /pets".to_string());
        let got = extract(
            &src(&[
                "$request.header.X-TOKEN",
                "$request.querystring.tenant",
                "$context.routeKey",
                "$stageVariables.region",
            ]),
            &h,
            Some("tenant=acme&x=1"),
            &ctx,
            &vars,
        )
        .unwrap();
        assert_eq!(got, ["abc", "acme", "GET /pets", "eu"]);
        // No sources: nothing to check.
        assert_eq!(
            extract(&[], &h, None, &no_context, &vars).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn repeated_values_are_joined_with_commas() {
        let h = hmap(&[("x-token", b"a"), ("x-token", b"b, c")]);
        let got = extract(
            &src(&["$request.header.x-token", "$request.querystring.t"]),
            &h,
            Some("t=1&u=9&t=2+3&t=%E2%9C%93&t"),
            &no_context,
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(got, ["a,b, c", "1,2 3,✓,"]);
    }

    #[test]
    fn query_names_are_case_sensitive_and_decoded() {
        let sources = src(&["$request.querystring.Tenant"]);
        let none = BTreeMap::new();
        let q = |raw: &str| extract(&sources, &HeaderMap::new(), Some(raw), &no_context, &none);
        assert!(q("tenant=a").is_err());
        assert_eq!(q("Tenant=a").unwrap(), ["a"]);
        assert_eq!(q("%54enant=b%26c").unwrap(), ["b&c"]);
        // `;` is data, not a separator (as in the events).
        assert_eq!(q("Tenant=a;b").unwrap(), ["a;b"]);
    }

    #[test]
    fn missing_or_empty_sources_name_the_first_one() {
        let sources = src(&[
            "$request.header.x-token",
            "$request.querystring.tenant",
            "$context.authorizer.x",
            "$stageVariables.region",
        ]);
        let full = hmap(&[("x-token", b"t")]);
        let mut vars = BTreeMap::new();
        vars.insert("region".to_string(), "eu".to_string());
        let ctx = |_: &str| Some("c".to_string());
        let run = |h: &HeaderMap, q: Option<&str>, c: &dyn Fn(&str) -> Option<String>, v| {
            extract(&sources, h, q, c, v)
        };
        assert!(run(&full, Some("tenant=a"), &ctx, &vars).is_ok());

        let miss = run(&HeaderMap::new(), Some("tenant=a"), &ctx, &vars).unwrap_err();
        assert_eq!(miss.index, 0);
        assert_eq!(miss.source, "$request.header.x-token");
        assert_eq!(
            miss.to_string(),
            "identity source $request.header.x-token is missing or empty"
        );
        let empty = hmap(&[("x-token", b"")]);
        assert_eq!(
            run(&empty, Some("tenant=a"), &ctx, &vars)
                .unwrap_err()
                .index,
            0
        );
        for q in [
            None,
            Some(""),
            Some("tenant"),
            Some("tenant="),
            Some("other=1"),
        ] {
            let e = run(&full, q, &ctx, &vars).unwrap_err();
            assert_eq!(e.source, "$request.querystring.tenant", "{q:?}");
        }
        let e = run(&full, Some("tenant=a"), &no_context, &vars).unwrap_err();
        assert_eq!((e.index, e.source.as_str()), (2, "$context.authorizer.x"));
        let empty_ctx = |_: &str| Some(String::new());
        assert_eq!(
            run(&full, Some("tenant=a"), &empty_ctx, &vars)
                .unwrap_err()
                .index,
            2
        );
        let e = run(&full, Some("tenant=a"), &ctx, &BTreeMap::new()).unwrap_err();
        assert_eq!(e.source, "$stageVariables.region");
    }

    #[test]
    fn context_variables_match_the_v2_event() {
        use crate::function_name::event::{apigw_v2_event, ClientCert, ClientCertValidity};
        use std::time::UNIX_EPOCH;
        let h = hmap(&[("user-agent", b"curl/8")]);
        let cert = ClientCert {
            client_cert_pem: "PEM".into(),
            subject_dn: "CN=alice".into(),
            issuer_dn: "CN=ca".into(),
            serial_number: "0a".into(),
            validity: ClientCertValidity {
                not_before: "May 28 12:30:02 2019 GMT".into(),
                not_after: "Aug  5 09:36:04 2031 GMT".into(),
            },
        };
        let view = RequestView {
            method: "GET",
            raw_path: "/pets/1",
            raw_query: None,
            headers: &h,
            body: b"",
            source_ip: Some("203.0.113.9"),
            http_version: "HTTP/2.0",
            host: Some("api.example.com:443"),
            proxy_path: None,
            request_id: "req-1",
            time: UNIX_EPOCH,
            api_key_id: None,
            client_cert: Some(&cert),
            authorizer: None,
        };
        let mut settings = EventSettings {
            resource: "/pets/{proxy+}".into(),
            stage: "prod".into(),
            ..EventSettings::default()
        };
        let ev: serde_json::Value =
            serde_json::from_slice(&apigw_v2_event(&view, &settings)).unwrap();
        let rc = &ev["requestContext"];
        let cv = |name: &str| context_variable(name, &view, &settings);
        for (name, want) in [
            ("accountId", &rc["accountId"]),
            ("apiId", &rc["apiId"]),
            ("domainName", &rc["domainName"]),
            ("domainPrefix", &rc["domainPrefix"]),
            ("httpMethod", &rc["http"]["method"]),
            ("path", &rc["http"]["path"]),
            ("protocol", &rc["http"]["protocol"]),
            ("requestId", &rc["requestId"]),
            ("routeKey", &rc["routeKey"]),
            ("stage", &rc["stage"]),
            ("identity.sourceIp", &rc["http"]["sourceIp"]),
            ("identity.userAgent", &rc["http"]["userAgent"]),
            (
                "identity.clientCert.subjectDN",
                &rc["authentication"]["clientCert"]["subjectDN"],
            ),
            (
                "identity.clientCert.validity.notAfter",
                &rc["authentication"]["clientCert"]["validity"]["notAfter"],
            ),
        ] {
            assert_eq!(cv(name).as_deref(), want.as_str(), "{name}");
        }
        assert_eq!(cv("routeKey").as_deref(), Some("ANY /pets/{proxy+}"));
        assert_eq!(cv("identity.clientCert.issuerDN").as_deref(), Some("CN=ca"));
        assert_eq!(
            cv("identity.clientCert.serialNumber").as_deref(),
            Some("0a")
        );
        assert_eq!(
            cv("identity.clientCert.clientCertPem").as_deref(),
            Some("PEM")
        );
        assert_eq!(
            cv("identity.clientCert.validity.notBefore").as_deref(),
            Some("May 28 12:30:02 2019 GMT")
        );
        assert_eq!(cv("authorizer.principalId"), None);
        assert_eq!(cv("nope"), None);
        for (resource, key) in [
            ("", "$default"),
            ("$default", "$default"),
            ("GET /pets", "GET /pets"),
        ] {
            settings.resource = resource.into();
            assert_eq!(
                context_variable("routeKey", &view, &settings).as_deref(),
                Some(key)
            );
        }
        // As the `context` argument of extract.
        let got = extract(
            &[IdentitySource::parse("$context.routeKey").unwrap()],
            &h,
            None,
            &|name| context_variable(name, &view, &settings),
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(got, ["GET /pets"]);
        let mut bare = view;
        bare.client_cert = None;
        bare.source_ip = None;
        bare.host = None;
        for name in [
            "identity.clientCert.subjectDN",
            "identity.sourceIp",
            "domainName",
        ] {
            assert_eq!(context_variable(name, &bare, &settings), None, "{name}");
        }
    }

    #[test]
    fn non_utf8_header_values_are_lossy() {
        let h = hmap(&[("x-token", b"caf\xe9")]);
        let got = extract(
            &src(&["$request.header.x-token"]),
            &h,
            None,
            &no_context,
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(got, ["caf\u{FFFD}"]);
    }
}
