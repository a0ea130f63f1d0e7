//! API Gateway REST API / payload format 1.0 events ([`apigw_v1_event`]).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::apigw::{domain, estimate, ProxyParam, RequestTime, V1_FIXED};
use super::authorizer::V1Authorizer;
use super::body::BodyRepr;
use super::headers::{user_agent, HeaderObject, HeaderShape, HeaderView};
use super::json::write_json;
use super::query::{Query, QueryMap, QueryShape};
use super::{ClientCert, EventSettings, RequestView, DEFAULT_RESOURCE, DEFAULT_STAGE};

/// API Gateway REST API / payload format 1.0 event, as AWS builds it:
///
/// * `path`: the path as received, still percent-encoded (REST APIs preserve the encoding; HTTP
///   APIs decode it, see the module notes).
/// * `headers`: last value wins; `multiValueHeaders`: every value in order. Both `null` when the
///   request has no headers. A missing `host` header is filled from [`RequestView::host`]
///   (`:authority` on HTTP/2), as API Gateway always has one.
/// * `queryStringParameters`: last value wins, valueless (`?flag`) is `""`;
///   `multiValueQueryStringParameters`: every value. Keys and values are form-decoded (`%XX`, and
///   `+` is a space, as REST APIs do). Both `null` without a query.
/// * `pathParameters`: `{"proxy": <decoded rest>}` on wildcard routes, else `null`.
/// * `stageVariables`: `null` when there are none.
/// * `requestContext.path`: `/{stage}{path}` for a named stage, `path` for `$default`.
/// * `body`: `null` when empty.
pub fn apigw_v1_event(req: &RequestView, s: &EventSettings) -> Vec<u8> {
    let query = Query::parse(req.raw_query.unwrap_or(""), false);
    let view = HeaderView::new(req.headers, req.host, false);
    let has_headers = !view.is_empty();
    let body = (!req.body.is_empty()).then(|| s.body_encoding.encode(req.headers, req.body));
    let time = RequestTime::new(req.time);
    let resource = v1_resource(&s.resource);
    let (domain_name, domain_prefix) = domain(req.host);
    let event = V1Event {
        version: "1.0",
        resource,
        path: req.raw_path,
        http_method: req.method,
        headers: has_headers.then_some(HeaderObject {
            view,
            shape: HeaderShape::Last,
        }),
        multi_value_headers: has_headers.then_some(HeaderObject {
            view,
            shape: HeaderShape::Multi,
        }),
        query_string_parameters: (!query.is_empty()).then_some(QueryMap(&query, QueryShape::Last)),
        multi_value_query_string_parameters: (!query.is_empty())
            .then_some(QueryMap(&query, QueryShape::Multi)),
        path_parameters: req.proxy_path.map(ProxyParam),
        stage_variables: (!s.stage_variables.is_empty()).then_some(&s.stage_variables),
        request_context: V1Context {
            account_id: &s.account_id,
            api_id: &s.api_id,
            resource_id: ResourceId(resource),
            stage: &s.stage,
            request_id: req.request_id,
            extended_request_id: req.request_id,
            request_time: time.as_str(),
            request_time_epoch: time.epoch_ms,
            path: StagePath {
                stage: &s.stage,
                path: req.raw_path,
            },
            resource_path: resource,
            http_method: req.method,
            protocol: req.http_version,
            domain_name,
            domain_prefix,
            identity: V1Identity {
                cognito_identity_pool_id: None,
                account_id: None,
                cognito_identity_id: None,
                caller: None,
                // API Gateway puts the key itself in `apiKey`; the gateway never hands a
                // client key on (README "Client API keys"), so it stays null.
                api_key: None,
                api_key_id: req.api_key_id,
                access_key: None,
                source_ip: req.source_ip,
                principal_org_id: None,
                cognito_authentication_type: None,
                cognito_authentication_provider: None,
                user_arn: None,
                user_agent: user_agent(req.headers),
                user: None,
                client_cert: req.client_cert,
            },
            authorizer: req.authorizer.map(V1Authorizer),
        },
        body,
        is_base64_encoded: matches!(body, Some(BodyRepr::Base64(_))),
    };
    let mut out = Vec::with_capacity(estimate(req, 2, V1_FIXED));
    write_json(&mut out, &event);
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Event<'a> {
    version: &'static str,
    resource: &'a str,
    path: &'a str,
    http_method: &'a str,
    headers: Option<HeaderObject<'a>>,
    multi_value_headers: Option<HeaderObject<'a>>,
    query_string_parameters: Option<QueryMap<'a, 'a>>,
    multi_value_query_string_parameters: Option<QueryMap<'a, 'a>>,
    path_parameters: Option<ProxyParam<'a>>,
    stage_variables: Option<&'a BTreeMap<String, String>>,
    request_context: V1Context<'a>,
    body: Option<BodyRepr<'a>>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Context<'a> {
    account_id: &'a str,
    api_id: &'a str,
    resource_id: ResourceId<'a>,
    stage: &'a str,
    request_id: &'a str,
    extended_request_id: &'a str,
    request_time: &'a str,
    request_time_epoch: u64,
    path: StagePath<'a>,
    resource_path: &'a str,
    http_method: &'a str,
    protocol: &'a str,
    domain_name: Option<&'a str>,
    domain_prefix: Option<&'a str>,
    identity: V1Identity<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<V1Authorizer<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Identity<'a> {
    cognito_identity_pool_id: Option<&'a str>,
    account_id: Option<&'a str>,
    cognito_identity_id: Option<&'a str>,
    caller: Option<&'a str>,
    api_key: Option<&'a str>,
    api_key_id: Option<&'a str>,
    access_key: Option<&'a str>,
    source_ip: Option<&'a str>,
    principal_org_id: Option<&'a str>,
    cognito_authentication_type: Option<&'a str>,
    cognito_authentication_provider: Option<&'a str>,
    user_arn: Option<&'a str>,
    user_agent: Option<Cow<'a, str>>,
    user: Option<&'a str>,
    client_cert: Option<&'a ClientCert>,
}

/// v1 `resource`: the path part of a `"METHOD /path"` setting, `"$default"` for an empty one.
fn v1_resource(resource: &str) -> &str {
    let r = resource.trim();
    if r.is_empty() {
        return DEFAULT_RESOURCE;
    }
    match r.split_once(' ') {
        Some((_, path)) if !path.trim().is_empty() => path.trim(),
        _ => r,
    }
}

/// `requestContext.path` of REST APIs: `/{stage}{path}`, or `path` on the `$default` stage.
struct StagePath<'a> {
    stage: &'a str,
    path: &'a str,
}

impl Serialize for StagePath<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.stage.is_empty() || self.stage == DEFAULT_STAGE {
            s.serialize_str(self.path)
        } else {
            s.collect_str(&format_args!("/{}{}", self.stage, self.path))
        }
    }
}

/// `requestContext.resourceId`: AWS gives each resource a 6-character id (`"roq9wj"`); ours is a
/// stable hash of the resource template, so one route always reports the same id.
struct ResourceId<'a>(&'a str);

impl Serialize for ResourceId<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // FNV-1a, 64 bit.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in self.0.as_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut id = [0u8; 6];
        for slot in &mut id {
            *slot = DIGITS[(h % 36) as usize];
            h /= 36;
        }
        s.serialize_str(std::str::from_utf8(&id).unwrap_or("000000"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function_name::event::test_support::*;
    use crate::function_name::event::{BodyEncoding, DEFAULT_ACCOUNT_ID, DEFAULT_API_ID};
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use http::HeaderMap;
    use serde_json::{json, Value};

    #[test]
    fn v1_event_shape() {
        let h = headers(&[
            ("content-type", b"application/json"),
            ("x-multi", b"first"),
            ("x-multi", b"second"),
            ("user-agent", b"curl/8"),
            ("cookie", b"a=1; b=2"),
        ]);
        let q = "a=1&a=2&flag&empty=&sp=x+y%20z&uni=%E2%9C%93&%E2%9C%93=key";
        let ev = parse(apigw_v1_event(
            &view(&h, Some(q), b"{\"k\":\"v\"}"),
            &settings(),
        ));
        assert_eq!(ev["version"], "1.0");
        assert_eq!(ev["resource"], "/aws/{proxy+}");
        assert_eq!(
            ev["path"], "/aws/caf%C3%A9/x%2Fy",
            "REST keeps the path encoded"
        );
        assert_eq!(ev["httpMethod"], "POST");
        // Last value wins; multi keeps all; host filled from :authority.
        assert_eq!(ev["headers"]["x-multi"], "second");
        assert_eq!(
            ev["multiValueHeaders"]["x-multi"],
            json!(["first", "second"])
        );
        assert_eq!(ev["headers"]["host"], "api.example.com:8443");
        assert_eq!(
            ev["multiValueHeaders"]["host"],
            json!(["api.example.com:8443"])
        );
        assert_eq!(
            ev["headers"]["cookie"], "a=1; b=2",
            "v1 keeps the Cookie header"
        );
        let qs = &ev["queryStringParameters"];
        assert_eq!(qs["a"], "2");
        assert_eq!(qs["flag"], "");
        assert_eq!(qs["empty"], "");
        assert_eq!(qs["sp"], "x y z");
        assert_eq!(qs["uni"], "✓");
        assert_eq!(qs["✓"], "key");
        let mq = &ev["multiValueQueryStringParameters"];
        assert_eq!(mq["a"], json!(["1", "2"]));
        assert_eq!(mq["flag"], json!([""]));
        assert_eq!(ev["pathParameters"], json!({"proxy": "café/x/y"}));
        assert_eq!(ev["stageVariables"], Value::Null);
        assert_eq!(ev["body"], "{\"k\":\"v\"}");
        assert_eq!(ev["isBase64Encoded"], false);
        let rc = &ev["requestContext"];
        assert_eq!(rc["accountId"], DEFAULT_ACCOUNT_ID);
        assert_eq!(rc["apiId"], DEFAULT_API_ID);
        assert_eq!(rc["stage"], "$default");
        assert_eq!(rc["requestId"], "req-1");
        assert_eq!(rc["extendedRequestId"], "req-1");
        assert_eq!(rc["requestTime"], "30/Nov/2026:06:00:00 +0000");
        assert_eq!(rc["requestTimeEpoch"], 1_796_018_400_123u64);
        assert_eq!(rc["path"], "/aws/caf%C3%A9/x%2Fy");
        assert_eq!(rc["resourcePath"], "/aws/{proxy+}");
        assert_eq!(rc["httpMethod"], "POST");
        assert_eq!(rc["protocol"], "HTTP/1.1");
        assert_eq!(rc["domainName"], "api.example.com");
        assert_eq!(rc["domainPrefix"], "api");
        assert_eq!(rc["identity"]["sourceIp"], "203.0.113.9");
        assert_eq!(rc["identity"]["userAgent"], "curl/8");
        assert_eq!(rc["identity"]["user"], Value::Null);
        assert!(rc["identity"]
            .as_object()
            .unwrap()
            .contains_key("cognitoIdentityPoolId"));
        let rid = rc["resourceId"].as_str().unwrap();
        assert_eq!(rid.len(), 6);
        assert!(rid
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    }

    #[test]
    fn v1_nulls_when_absent() {
        let h = HeaderMap::new();
        let mut v = view(&h, None, b"");
        v.host = None;
        v.proxy_path = None;
        v.source_ip = None;
        let ev = parse(apigw_v1_event(&v, &EventSettings::default()));
        for key in [
            "headers",
            "multiValueHeaders",
            "queryStringParameters",
            "multiValueQueryStringParameters",
            "pathParameters",
            "stageVariables",
            "body",
        ] {
            assert_eq!(ev[key], Value::Null, "{key}");
            assert!(
                ev.as_object().unwrap().contains_key(key),
                "{key} is present as null"
            );
        }
        assert_eq!(ev["isBase64Encoded"], false);
        assert_eq!(ev["resource"], "$default");
        assert_eq!(ev["requestContext"]["domainName"], Value::Null);
        // "?" alone and "&&" are no parameters either.
        for q in ["", "&&"] {
            let ev = parse(apigw_v1_event(&view(&h, Some(q), b""), &settings()));
            assert_eq!(ev["queryStringParameters"], Value::Null, "{q:?}");
        }
    }

    #[test]
    fn v1_identity_has_the_api_key_id_never_the_key() {
        let h = HeaderMap::new();
        let mut v = view(&h, None, b"");
        let ev = parse(apigw_v1_event(&v, &settings()));
        assert!(ev["requestContext"]["identity"]["apiKeyId"].is_null());
        v.api_key_id = Some("partner-a");
        let ev = parse(apigw_v1_event(&v, &settings()));
        let identity = &ev["requestContext"]["identity"];
        assert_eq!(identity["apiKeyId"], "partner-a");
        assert!(identity["apiKey"].is_null());
    }

    #[test]
    fn v1_stage_and_variables() {
        let h = headers(&[("host", b"h.example")]);
        let mut s = settings();
        s.stage = "prod".into();
        s.stage_variables.insert("k".into(), "v".into());
        s.account_id = "999999999999".into();
        s.api_id = "abc123".into();
        let ev = parse(apigw_v1_event(&view(&h, None, b""), &s));
        assert_eq!(ev["requestContext"]["path"], "/prod/aws/caf%C3%A9/x%2Fy");
        assert_eq!(ev["requestContext"]["stage"], "prod");
        assert_eq!(ev["requestContext"]["accountId"], "999999999999");
        assert_eq!(ev["requestContext"]["apiId"], "abc123");
        assert_eq!(ev["stageVariables"], json!({"k": "v"}));
        assert_eq!(
            ev["headers"]["host"], "h.example",
            "the client's Host wins over :authority"
        );
        // A method in the setting: v1 resource is the path.
        s.resource = "GET /pets".into();
        let ev = parse(apigw_v1_event(&view(&h, None, b""), &s));
        assert_eq!(ev["resource"], "/pets");
    }

    #[test]
    fn v1_binary_body() {
        let h = headers(&[("content-type", b"image/png")]);
        let png = b"\x89PNG\r\n\x1a\n\0\0";
        let ev = parse(apigw_v1_event(&view(&h, None, png), &settings()));
        assert_eq!(ev["isBase64Encoded"], true);
        assert_eq!(ev["body"], STANDARD.encode(png));
        // Text content type but invalid UTF-8: base64 too, never invalid JSON.
        let h = headers(&[("content-type", b"text/plain")]);
        let ev = parse(apigw_v1_event(&view(&h, None, b"\xff\xfe"), &settings()));
        assert_eq!(ev["isBase64Encoded"], true);
        assert_eq!(ev["body"], "//4=");
        // Always.
        let mut s = settings();
        s.body_encoding = BodyEncoding::Always;
        let ev = parse(apigw_v1_event(&view(&h, None, b"hi"), &s));
        assert_eq!(
            (ev["body"].as_str(), ev["isBase64Encoded"].as_bool()),
            (Some("aGk="), Some(true))
        );
    }
}
