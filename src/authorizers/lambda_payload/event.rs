//! The event sent to a Lambda REQUEST authorizer ([`authorizer_event`]) and the ARN it is
//! about ([`route_arn`]).
//!
//! Both formats are the integration event of the same version (so headers, query, cookies,
//! `requestContext` are rendered exactly as `crate::function_name::event` renders them) with the
//! authorizer fields added and the body removed, as in AWS's examples
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html#http-api-lambda-authorizer.payload-format>):
//!
//! * 2.0: `"type": "REQUEST"`, `"routeArn"`, `"identitySource": ["user1", "123"]` (an array of
//!   the identity values, in configuration order), no `body`, no `isBase64Encoded`.
//! * 1.0: `"type": "REQUEST"`, `"methodArn"`, `"identitySource": "user1,123"` and
//!   `"authorizationToken": "user1,123"` (the same values joined with `,`), no `body`, no
//!   `isBase64Encoded`. `multiValueHeaders` / `multiValueQueryStringParameters` are kept: AWS's
//!   1.0 example is abbreviated (its `headers` and `requestContext` are too), and a captured
//!   HTTP API 1.0 authorizer event has `multiValueHeaders` and the full REST `requestContext`
//!   (Powertools for AWS Lambda's test event
//!   `tests/events/apiGatewayAuthorizerRequestEvent.json`).
//!
//! With no identity sources configured, `identitySource` is `[]` (2.0) or `""` (1.0, and
//! `authorizationToken` too): AWS does not document this case; an empty value is what handler
//! code indexing into it tolerates best.
//!
//! Authorizer calls are rarer than integration calls (cached), so the event is built through a
//! `serde_json::Value` rather than written straight into the buffer.

use serde_json::Value;

use super::PayloadFormat;
use crate::function_name::event::{apigw_v1_event, apigw_v2_event, EventSettings, RequestView};

/// The JSON event for a REQUEST authorizer: `identity` is what [`super::extract`] returned,
/// `arn` what [`route_arn`] built for this request.
pub fn authorizer_event(
    version: PayloadFormat,
    view: &RequestView,
    settings: &EventSettings,
    identity: &[String],
    arn: &str,
) -> Vec<u8> {
    // The authorizer never sees the body: don't encode it at all.
    let mut bodiless = *view;
    bodiless.body = b"";
    let base = match version {
        PayloadFormat::V1 => apigw_v1_event(&bodiless, settings),
        PayloadFormat::V2 => apigw_v2_event(&bodiless, settings),
    };
    let mut event: serde_json::Map<String, Value> = match serde_json::from_slice(&base) {
        Ok(Value::Object(map)) => map,
        // The event builders always write an object; keep the authorizer fields regardless.
        _ => serde_json::Map::new(),
    };
    event.remove("body");
    event.remove("isBase64Encoded");
    event.insert("type".into(), Value::from("REQUEST"));
    match version {
        PayloadFormat::V2 => {
            event.insert("routeArn".into(), Value::from(arn));
            event.insert("identitySource".into(), Value::from(identity.to_vec()));
        }
        PayloadFormat::V1 => {
            let joined = identity.join(",");
            event.insert("methodArn".into(), Value::from(arn));
            event.insert("identitySource".into(), Value::from(joined.clone()));
            event.insert("authorizationToken".into(), Value::from(joined));
        }
    }
    serde_json::to_vec(&Value::Object(event)).unwrap_or_default()
}

/// `arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{METHOD}/{path}`: the ARN of
/// this request as authorizer events carry it (`routeArn` / `methodArn`) and policies match it.
///
/// * `stage` as configured; `$default` stays `$default` (an empty stage is `$default`).
/// * `method` upper-cased.
/// * `path`: the request path as the route sees it (no stage prefix), its leading `/` removed,
///   so the root path gives a trailing `/`: `.../prod/GET/` (as REST method ARNs, e.g. AWS's
///   `arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/GET/`).
///
/// AWS's examples: `arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request`;
/// policy resources `arn:aws:execute-api:{regionId}:{accountId}:{apiId}/{stage}/{httpVerb}/[{resource}/[{child-resources}]]`
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html>).
pub fn route_arn(
    region: &str,
    account_id: &str,
    api_id: &str,
    stage: &str,
    method: &str,
    path: &str,
) -> String {
    let stage = if stage.is_empty() { "$default" } else { stage };
    let path = path.strip_prefix('/').unwrap_or(path);
    format!(
        "arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{}/{path}",
        method.to_ascii_uppercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function_name::event::{ClientCert, ClientCertValidity};
    use http::{HeaderMap, HeaderName, HeaderValue};
    use serde_json::json;
    use std::collections::BTreeSet;
    use std::time::{Duration, UNIX_EPOCH};

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn cert() -> ClientCert {
        ClientCert {
            client_cert_pem: "CERT_CONTENT".into(),
            subject_dn: "www.example.com".into(),
            issuer_dn: "Example issuer".into(),
            serial_number: "a1:a1".into(),
            validity: ClientCertValidity {
                not_before: "May 28 12:30:02 2019 GMT".into(),
                not_after: "Aug  5 09:36:04 2021 GMT".into(),
            },
        }
    }

    /// The request of AWS's 2.0 example, everything present.
    fn view<'a>(h: &'a HeaderMap, cert: &'a ClientCert) -> RequestView<'a> {
        RequestView {
            method: "POST",
            raw_path: "/my/path",
            raw_query: Some("parameter1=value1&parameter1=value2&parameter2=value"),
            headers: h,
            body: b"secret body",
            source_ip: Some("192.0.2.1"),
            http_version: "HTTP/1.1",
            host: Some("id.execute-api.us-east-1.amazonaws.com"),
            proxy_path: Some("path"),
            request_id: "id",
            time: UNIX_EPOCH + Duration::from_millis(1_583_348_638_390),
            api_key_id: None,
            client_cert: Some(cert),
            authorizer: None,
        }
    }

    fn settings() -> EventSettings {
        let mut s = EventSettings {
            resource: "$default".into(),
            api_id: "api-id".into(),
            ..EventSettings::default()
        };
        s.stage_variables
            .insert("stageVariable1".into(), "value1".into());
        s
    }

    fn keys(v: &Value) -> BTreeSet<&str> {
        v.as_object().unwrap().keys().map(String::as_str).collect()
    }

    fn parse(bytes: Vec<u8>) -> Value {
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn v2_event_has_exactly_the_fields_of_the_aws_example() {
        let h = headers(&[
            ("header1", "value1"),
            ("header2", "value2"),
            ("cookie", "cookie1; cookie2"),
            ("user-agent", "agent"),
        ]);
        let c = cert();
        let identity = vec!["user1".to_string(), "123".to_string()];
        let ev = parse(authorizer_event(
            PayloadFormat::V2,
            &view(&h, &c),
            &settings(),
            &identity,
            ARN,
        ));
        let example = json!({
          "version": "2.0", "type": "REQUEST", "routeArn": ARN, "identitySource": ["user1", "123"],
          "routeKey": "$default", "rawPath": "/my/path",
          "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
          "cookies": ["cookie1", "cookie2"], "headers": {}, "queryStringParameters": {},
          "requestContext": {"accountId": "", "apiId": "", "authentication": {}, "domainName": "",
            "domainPrefix": "", "http": {}, "requestId": "", "routeKey": "", "stage": "",
            "time": "", "timeEpoch": 0},
          "pathParameters": {}, "stageVariables": {}
        });
        assert_eq!(keys(&ev), keys(&example));
        assert_eq!(
            keys(&ev["requestContext"]),
            keys(&example["requestContext"])
        );
        assert_eq!(ev["version"], "2.0");
        assert_eq!(ev["type"], "REQUEST");
        assert_eq!(ev["routeArn"], ARN);
        assert_eq!(ev["identitySource"], json!(["user1", "123"]));
        assert_eq!(ev["routeKey"], "$default");
        assert_eq!(ev["rawPath"], "/my/path");
        assert_eq!(ev["cookies"], json!(["cookie1", "cookie2"]));
        assert_eq!(ev["headers"]["header1"], "value1");
        assert_eq!(
            ev["queryStringParameters"],
            json!({"parameter1": "value1,value2", "parameter2": "value"})
        );
        assert_eq!(ev["stageVariables"], json!({"stageVariable1": "value1"}));
        let rc = &ev["requestContext"];
        assert_eq!(rc["accountId"], "123456789012");
        assert_eq!(rc["apiId"], "api-id");
        assert_eq!(rc["domainName"], "id.execute-api.us-east-1.amazonaws.com");
        assert_eq!(rc["domainPrefix"], "id");
        assert_eq!(
            rc["http"],
            json!({"method": "POST", "path": "/my/path", "protocol": "HTTP/1.1",
                   "sourceIp": "192.0.2.1", "userAgent": "agent"})
        );
        assert_eq!(
            rc["authentication"]["clientCert"]["subjectDN"],
            "www.example.com"
        );
        assert_eq!(rc["stage"], "$default");
        assert_eq!(rc["timeEpoch"], 1_583_348_638_390u64);
        assert_eq!(rc["time"], "04/Mar/2020:19:03:58 +0000");
        assert!(!String::from_utf8_lossy(&authorizer_event(
            PayloadFormat::V2,
            &view(&h, &c),
            &settings(),
            &identity,
            ARN
        ))
        .contains("secret body"));
    }

    #[test]
    fn v1_event_has_the_fields_of_the_aws_example() {
        let h = headers(&[("headerauth1", "headerValue1"), ("accept", "*/*")]);
        let c = cert();
        let mut v = view(&h, &c);
        v.method = "GET";
        v.raw_path = "/request";
        v.raw_query = Some("QueryString1=queryValue1");
        let mut s = settings();
        s.resource = "/request".into();
        s.stage = "test".into();
        let identity = vec!["user1".to_string(), "123".to_string()];
        let ev = parse(authorizer_event(PayloadFormat::V1, &v, &s, &identity, ARN));
        // Every field of AWS's (abbreviated) 1.0 example...
        let example = json!({
          "version": "1.0", "type": "REQUEST", "methodArn": ARN, "identitySource": "user1,123",
          "authorizationToken": "user1,123", "resource": "/request", "path": "/request",
          "httpMethod": "GET", "headers": {}, "queryStringParameters": {}, "pathParameters": {},
          "stageVariables": {},
          "requestContext": {"path": "", "accountId": "", "resourceId": "", "stage": "",
            "requestId": "", "identity": {"apiKey": "", "sourceIp": "", "clientCert": {}},
            "resourcePath": "", "httpMethod": "", "apiId": ""}
        });
        let got = keys(&ev);
        let want = keys(&example);
        assert!(want.is_subset(&got), "missing {:?}", &want - &got);
        // ...plus the multi-value maps REST REQUEST authorizers get, and nothing else.
        assert_eq!(
            &got - &want,
            BTreeSet::from(["multiValueHeaders", "multiValueQueryStringParameters"])
        );
        let rc_want = keys(&example["requestContext"]);
        assert!(rc_want.is_subset(&keys(&ev["requestContext"])));
        let id_want = keys(&example["requestContext"]["identity"]);
        assert!(id_want.is_subset(&keys(&ev["requestContext"]["identity"])));

        assert_eq!(ev["version"], "1.0");
        assert_eq!(ev["type"], "REQUEST");
        assert_eq!(ev["methodArn"], ARN);
        assert_eq!(ev["identitySource"], "user1,123");
        assert_eq!(ev["authorizationToken"], "user1,123");
        assert_eq!(ev["resource"], "/request");
        assert_eq!(ev["path"], "/request");
        assert_eq!(ev["httpMethod"], "GET");
        assert_eq!(ev["headers"]["headerauth1"], "headerValue1");
        assert_eq!(
            ev["queryStringParameters"],
            json!({"QueryString1": "queryValue1"})
        );
        assert_eq!(ev["stageVariables"], json!({"stageVariable1": "value1"}));
        let rc = &ev["requestContext"];
        assert_eq!(rc["path"], "/test/request");
        assert_eq!(rc["stage"], "test");
        assert_eq!(rc["resourcePath"], "/request");
        assert_eq!(rc["httpMethod"], "GET");
        assert_eq!(rc["apiId"], "api-id");
        assert_eq!(rc["requestId"], "id");
        assert_eq!(rc["identity"]["sourceIp"], "192.0.2.1");
        assert_eq!(rc["identity"]["clientCert"]["issuerDN"], "Example issuer");
    }

    #[test]
    fn no_identity_sources() {
        let h = HeaderMap::new();
        let c = cert();
        let mut v = view(&h, &c);
        v.raw_query = None;
        v.client_cert = None;
        let ev = parse(authorizer_event(
            PayloadFormat::V2,
            &v,
            &settings(),
            &[],
            ARN,
        ));
        assert_eq!(ev["identitySource"], json!([]));
        assert!(ev.get("queryStringParameters").is_none());
        assert!(ev.get("cookies").is_none());
        assert!(ev.get("body").is_none() && ev.get("isBase64Encoded").is_none());
        let ev = parse(authorizer_event(
            PayloadFormat::V1,
            &v,
            &settings(),
            &[],
            ARN,
        ));
        assert_eq!(ev["identitySource"], "");
        assert_eq!(ev["authorizationToken"], "");
        assert!(ev.get("body").is_none() && ev.get("isBase64Encoded").is_none());
        assert_eq!(ev["queryStringParameters"], Value::Null);
    }

    #[test]
    fn identity_values_are_json_escaped() {
        let h = HeaderMap::new();
        let c = cert();
        let identity = vec!["a\"b\\c\n".to_string()];
        for version in [PayloadFormat::V1, PayloadFormat::V2] {
            let ev = parse(authorizer_event(
                version,
                &view(&h, &c),
                &settings(),
                &identity,
                ARN,
            ));
            let got = match version {
                PayloadFormat::V1 => ev["authorizationToken"].clone(),
                PayloadFormat::V2 => ev["identitySource"][0].clone(),
            };
            assert_eq!(got, "a\"b\\c\n");
        }
    }

    #[test]
    fn route_arns() {
        assert_eq!(
            route_arn(
                "us-east-1",
                "123456789012",
                "abcdef123",
                "test",
                "GET",
                "/request"
            ),
            ARN
        );
        assert_eq!(
            route_arn("eu-west-1", "1", "api", "$default", "post", "/a/b"),
            "arn:aws:execute-api:eu-west-1:1:api/$default/POST/a/b"
        );
        assert_eq!(
            route_arn("eu-west-1", "1", "api", "", "GET", "/"),
            "arn:aws:execute-api:eu-west-1:1:api/$default/GET/"
        );
        assert_eq!(
            route_arn("r", "1", "api", "prod", "GET", ""),
            "arn:aws:execute-api:r:1:api/prod/GET/"
        );
    }
}
