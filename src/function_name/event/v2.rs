//! HTTP API payload format 2.0 events, which are also Lambda Function URL events
//! ([`apigw_v2_event`]).

use std::borrow::Cow;
use std::collections::BTreeMap;

use http::header::COOKIE;
use http::HeaderMap;
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

use super::apigw::{domain, estimate, ProxyParam, RequestTime, V2_FIXED};
use super::authorizer::V2Authorizer;
use super::body::BodyRepr;
use super::headers::{user_agent, HeaderObject, HeaderShape, HeaderView};
use super::json::write_json;
use super::query::{Query, QueryMap, QueryShape};
use super::{ClientCert, EventSettings, RequestView, DEFAULT_RESOURCE};

/// HTTP API payload format 2.0 event, which is also the Lambda Function URL event:
///
/// * `routeKey`: `"$default"` when [`EventSettings::resource`] is empty or `"$default"`; the
///   setting verbatim when it names a method (`"GET /pets"`); else `"ANY <resource>"` (routes
///   match every method, as an HTTP API `ANY` route).
/// * `rawPath`, `requestContext.http.path`: the path exactly as received (see module notes).
/// * `rawQueryString`: as received, `""` without a query.
/// * `cookies`: every `Cookie` header split on `;` and trimmed; absent when there are none. The
///   `cookie` header is then left out of `headers`.
/// * `headers`: lower-case names, repeated headers joined with `,`. A missing `host` is filled
///   from [`RequestView::host`].
/// * `queryStringParameters`: form-decoded, repeated keys joined with `,`, valueless `""`;
///   absent without a query.
/// * `pathParameters` (`{"proxy": <decoded rest>}`) and `stageVariables`: absent when empty.
/// * `body`: absent when empty.
pub fn apigw_v2_event(req: &RequestView, s: &EventSettings) -> Vec<u8> {
    let query = Query::parse(req.raw_query.unwrap_or(""), false);
    let view = HeaderView::new(req.headers, req.host, true);
    let body = (!req.body.is_empty()).then(|| s.body_encoding.encode(req.headers, req.body));
    let time = RequestTime::new(req.time);
    let route_key = RouteKey(&s.resource);
    let (domain_name, domain_prefix) = domain(req.host);
    let event = V2Event {
        version: "2.0",
        route_key,
        raw_path: req.raw_path,
        raw_query_string: req.raw_query.unwrap_or(""),
        cookies: has_cookies(req.headers).then_some(Cookies(req.headers)),
        headers: HeaderObject {
            view,
            shape: HeaderShape::Joined,
        },
        query_string_parameters: (!query.is_empty())
            .then_some(QueryMap(&query, QueryShape::Joined)),
        path_parameters: req.proxy_path.map(ProxyParam),
        stage_variables: (!s.stage_variables.is_empty()).then_some(&s.stage_variables),
        request_context: V2Context {
            account_id: &s.account_id,
            api_id: &s.api_id,
            authentication: req
                .client_cert
                .map(|client_cert| V2Authentication { client_cert }),
            authorizer: req.authorizer.map(V2Authorizer),
            domain_name,
            domain_prefix,
            http: V2Http {
                method: req.method,
                path: req.raw_path,
                protocol: req.http_version,
                source_ip: req.source_ip,
                user_agent: user_agent(req.headers),
            },
            request_id: req.request_id,
            route_key,
            stage: &s.stage,
            time: time.as_str(),
            time_epoch: time.epoch_ms,
        },
        body,
        is_base64_encoded: matches!(body, Some(BodyRepr::Base64(_))),
    };
    let mut out = Vec::with_capacity(estimate(req, 1, V2_FIXED));
    write_json(&mut out, &event);
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Event<'a> {
    version: &'static str,
    route_key: RouteKey<'a>,
    raw_path: &'a str,
    raw_query_string: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cookies: Option<Cookies<'a>>,
    headers: HeaderObject<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_string_parameters: Option<QueryMap<'a, 'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_parameters: Option<ProxyParam<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage_variables: Option<&'a BTreeMap<String, String>>,
    request_context: V2Context<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<BodyRepr<'a>>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Context<'a> {
    account_id: &'a str,
    api_id: &'a str,
    /// Only on mutual TLS listeners with a client certificate (AWS: `null` otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    authentication: Option<V2Authentication<'a>>,
    /// Only behind a route authorizer.
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<V2Authorizer<'a>>,
    domain_name: Option<&'a str>,
    domain_prefix: Option<&'a str>,
    http: V2Http<'a>,
    request_id: &'a str,
    route_key: RouteKey<'a>,
    stage: &'a str,
    time: &'a str,
    time_epoch: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Authentication<'a> {
    client_cert: &'a ClientCert,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Http<'a> {
    method: &'a str,
    path: &'a str,
    protocol: &'a str,
    source_ip: Option<&'a str>,
    user_agent: Option<Cow<'a, str>>,
}

#[derive(Clone, Copy)]
struct RouteKey<'a>(&'a str);

impl Serialize for RouteKey<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0.trim();
        if r.is_empty() || r == DEFAULT_RESOURCE {
            s.serialize_str(DEFAULT_RESOURCE)
        } else if r.contains(' ') {
            s.serialize_str(r)
        } else {
            s.collect_str(&format_args!("ANY {r}"))
        }
    }
}

fn has_cookies(headers: &HeaderMap) -> bool {
    headers.get_all(COOKIE).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b';')
            .any(|c| !c.trim_ascii().is_empty())
    })
}

/// v2 `cookies`: every `Cookie` header value split on `;`, trimmed, empty pieces dropped.
struct Cookies<'a>(&'a HeaderMap);

impl Serialize for Cookies<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for value in self.0.get_all(COOKIE) {
            let text = String::from_utf8_lossy(value.as_bytes());
            for cookie in text.split(';') {
                let cookie = cookie.trim_matches(|c| c == ' ' || c == '\t');
                if !cookie.is_empty() {
                    seq.serialize_element(cookie)?;
                }
            }
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function_name::event::test_support::*;
    use crate::function_name::event::DEFAULT_ACCOUNT_ID;
    use http::HeaderMap;
    use serde_json::json;

    #[test]
    fn v2_event_shape() {
        let h = headers(&[
            ("content-type", b"text/plain"),
            ("x-multi", b"a"),
            ("x-multi", b"b, c"),
            ("cookie", b"s=1; t=2"),
            ("cookie", b"u=3;;  v=4 "),
            ("user-agent", b"ua"),
        ]);
        let q = "a=1&a=2&flag&sp=x+y&uni=%E2%9C%93";
        let ev = parse(apigw_v2_event(
            &view(&h, Some(q), "héllo".as_bytes()),
            &settings(),
        ));
        assert_eq!(ev["version"], "2.0");
        assert_eq!(ev["routeKey"], "ANY /aws/{proxy+}");
        assert_eq!(ev["rawPath"], "/aws/caf%C3%A9/x%2Fy");
        assert_eq!(ev["rawQueryString"], q);
        assert_eq!(ev["cookies"], json!(["s=1", "t=2", "u=3", "v=4"]));
        assert_eq!(ev["headers"]["x-multi"], "a,b, c");
        assert!(
            ev["headers"].get("cookie").is_none(),
            "cookies move out of headers"
        );
        assert_eq!(ev["headers"]["host"], "api.example.com:8443");
        assert_eq!(ev["queryStringParameters"]["a"], "1,2");
        assert_eq!(ev["queryStringParameters"]["flag"], "");
        assert_eq!(ev["queryStringParameters"]["sp"], "x y");
        assert_eq!(ev["queryStringParameters"]["uni"], "✓");
        assert_eq!(ev["pathParameters"], json!({"proxy": "café/x/y"}));
        assert!(ev.get("stageVariables").is_none());
        assert_eq!(ev["body"], "héllo");
        assert_eq!(ev["isBase64Encoded"], false);
        let rc = &ev["requestContext"];
        assert_eq!(rc["routeKey"], "ANY /aws/{proxy+}");
        assert_eq!(rc["stage"], "$default");
        assert_eq!(rc["time"], "30/Nov/2026:06:00:00 +0000");
        assert_eq!(rc["timeEpoch"], 1_796_018_400_123u64);
        assert_eq!(rc["domainName"], "api.example.com");
        assert_eq!(rc["domainPrefix"], "api");
        assert_eq!(
            rc["http"],
            json!({"method": "POST", "path": "/aws/caf%C3%A9/x%2Fy", "protocol": "HTTP/1.1",
                   "sourceIp": "203.0.113.9", "userAgent": "ua"})
        );
        assert_eq!(rc["accountId"], DEFAULT_ACCOUNT_ID);
    }

    #[test]
    fn v2_absent_fields_and_route_keys() {
        let h = HeaderMap::new();
        let mut v = view(&h, None, b"");
        v.proxy_path = None;
        let ev = parse(apigw_v2_event(&v, &EventSettings::default()));
        for key in [
            "cookies",
            "queryStringParameters",
            "pathParameters",
            "stageVariables",
            "body",
        ] {
            assert!(ev.get(key).is_none(), "{key} absent");
        }
        assert_eq!(ev["rawQueryString"], "");
        assert_eq!(ev["routeKey"], "$default");
        assert_eq!(ev["isBase64Encoded"], false);
        assert_eq!(ev["headers"], json!({"host": "api.example.com:8443"}));
        // Only empty cookie pieces: no cookies array, and no cookie header either.
        let h = headers(&[("cookie", b" ; ")]);
        let ev = parse(apigw_v2_event(&view(&h, None, b""), &settings()));
        assert!(ev.get("cookies").is_none());
        assert!(ev["headers"].get("cookie").is_none());
        let mut s = settings();
        for (resource, key) in [
            ("", "$default"),
            ("$default", "$default"),
            ("GET /pets", "GET /pets"),
        ] {
            s.resource = resource.into();
            let ev = parse(apigw_v2_event(&view(&h, None, b""), &s));
            assert_eq!(ev["routeKey"], key);
            assert_eq!(ev["requestContext"]["routeKey"], key);
        }
    }

    #[test]
    fn v2_binary_body() {
        let h = headers(&[("content-type", b"application/octet-stream")]);
        let ev = parse(apigw_v2_event(&view(&h, None, b"abc"), &settings()));
        assert_eq!(ev["isBase64Encoded"], true);
        assert_eq!(ev["body"], "YWJj");
    }
}
