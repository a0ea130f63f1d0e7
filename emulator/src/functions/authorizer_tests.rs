//! The authorizers as API Gateway HTTP API calls them: strict event checks for payload 1.0 and
//! 2.0, the token-driven outcomes, simple responses and IAM policies.

use serde_json::json;

use super::authorizer::{GARBAGE, OTHER_RESOURCE, WILDCARD_RESOURCE};
use super::*;

const ROUTE_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/pets";
const METHOD_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/pets";

fn v2(identities: &[&str]) -> Value {
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": ROUTE_ARN,
        "identitySource": identities,
        "routeKey": "GET /pets",
        "rawPath": "/pets",
        "rawQueryString": "",
        "headers": {"authorization": identities.first().copied().unwrap_or_default()},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef123",
            "http": {"method": "GET", "path": "/pets", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
            "requestId": "rid",
            "routeKey": "GET /pets",
            "stage": "$default",
        },
    })
}

fn v1(identity: &str) -> Value {
    json!({
        "version": "1.0",
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "identitySource": identity,
        "authorizationToken": identity,
        "resource": "/pets",
        "path": "/pets",
        "httpMethod": "GET",
        "headers": {"authorization": identity},
        "multiValueHeaders": {"authorization": [identity]},
        "queryStringParameters": null,
        "requestContext": {"requestId": "rid", "httpMethod": "GET"},
    })
}

fn run_event(f: Builtin, event: &Value, invocations: u64) -> Output {
    let payload = serde_json::to_vec(event).unwrap();
    let c = Call {
        operation: Operation::Invoke,
        function: "authorizer",
        qualifier: None,
        raw_path: b"/2015-03-31/functions/authorizer/invocations",
        raw_query: None,
        invocation_type: InvocationType::RequestResponse,
        log_type: LogType::None,
        headers: &[],
        payload: &payload,
        event,
        invocations,
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(run(f, &c))
}

fn json_result(output: Output) -> Value {
    match output {
        Output::Result(b) => serde_json::from_slice(&b).unwrap(),
        other => panic!("not a result: {other:?}"),
    }
}

/// The `errorMessage` of an `Unhandled` function error.
fn unhandled(output: Output) -> String {
    match output {
        Output::Error {
            kind: ErrorKind::Unhandled,
            payload,
            ..
        } => {
            let doc: Value = serde_json::from_slice(&payload).unwrap();
            doc["errorMessage"].as_str().unwrap().to_string()
        }
        other => panic!("not an Unhandled error: {other:?}"),
    }
}

#[test]
fn names() {
    assert_eq!(
        Builtin::by_name("authorizer-simple"),
        Some(Builtin::AuthorizerSimple)
    );
    assert_eq!(
        Builtin::by_name("authorizer-policy"),
        Some(Builtin::AuthorizerPolicy)
    );
}

#[test]
fn simple_allows_and_denies() {
    let v = json_result(run_event(
        Builtin::AuthorizerSimple,
        &v2(&["allow-1", "acme"]),
        3,
    ));
    assert_eq!(
        v,
        json!({
            "isAuthorized": true,
            "context": {"token": "allow-1", "tenant": "acme", "invocations": 3, "nested": {"a": 1}},
        })
    );
    for token in ["deny", "deny-me", "nobody", ""] {
        let v = json_result(run_event(Builtin::AuthorizerSimple, &v2(&[token]), 1));
        assert_eq!(v["isAuthorized"], false, "{token}");
        assert_eq!(v["context"]["token"], token);
        assert_eq!(v["context"]["tenant"], Value::Null);
    }
    let v = json_result(run_event(Builtin::AuthorizerSimple, &v2(&[]), 1));
    assert_eq!(v["isAuthorized"], false);
    let v = json_result(run_event(Builtin::AuthorizerSimple, &v2(&["slow:5"]), 1));
    assert_eq!(v["isAuthorized"], true);
}

#[test]
fn simple_refuses_payload_1_0() {
    let message = unhandled(run_event(Builtin::AuthorizerSimple, &v1("allow"), 1));
    assert!(message.contains("2.0"), "{message}");
}

#[test]
fn error_garbage_and_bad_slow_tokens() {
    for f in [Builtin::AuthorizerSimple, Builtin::AuthorizerPolicy] {
        let message = unhandled(run_event(f, &v2(&["error-1"]), 1));
        assert!(message.contains("error-1"), "{message}");
        assert_eq!(
            run_event(f, &v2(&["garbage"]), 1),
            Output::Result(Bytes::from_static(GARBAGE))
        );
        unhandled(run_event(f, &v2(&["slow:x"]), 1));
    }
    assert_eq!(
        run_event(Builtin::AuthorizerPolicy, &v1("garbage,x"), 1),
        Output::Result(Bytes::from_static(GARBAGE))
    );
}

#[test]
fn policy_for_payload_2_0() {
    let v = json_result(run_event(
        Builtin::AuthorizerPolicy,
        &v2(&["allow", "x"]),
        2,
    ));
    assert_eq!(
        v,
        json!({
            "principalId": "user-allow",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [ROUTE_ARN]}],
            },
            "context": {"token": "allow", "invocations": 2, "number": 7, "flag": true},
        })
    );
    let v = json_result(run_event(Builtin::AuthorizerPolicy, &v2(&["deny"]), 1));
    let statement = &v["policyDocument"]["Statement"][0];
    assert_eq!(statement["Effect"], "Deny");
    assert_eq!(statement["Resource"], json!([ROUTE_ARN]));
}

#[test]
fn policy_for_payload_1_0_and_special_resources() {
    let v = json_result(run_event(
        Builtin::AuthorizerPolicy,
        &v1("allow-x,tenant"),
        1,
    ));
    assert_eq!(v["principalId"], "user-allow-x");
    assert_eq!(v["context"]["token"], "allow-x");
    let statement = &v["policyDocument"]["Statement"][0];
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Resource"], json!([METHOD_ARN]));

    for (token, resource) in [
        ("allow-other", OTHER_RESOURCE),
        ("allow-wildcard", WILDCARD_RESOURCE),
    ] {
        let v = json_result(run_event(Builtin::AuthorizerPolicy, &v1(token), 1));
        let statement = &v["policyDocument"]["Statement"][0];
        assert_eq!(statement["Effect"], "Allow");
        assert_eq!(statement["Resource"], json!([resource]));
    }
    assert_eq!(WILDCARD_RESOURCE, "arn:aws:execute-api:*:*:*/*");
    let v = json_result(run_event(Builtin::AuthorizerPolicy, &v1("who"), 1));
    assert_eq!(v["policyDocument"]["Statement"][0]["Effect"], "Deny");
}

/// Removes the field at a dotted path.
fn without(mut event: Value, path: &str) -> Value {
    let (parents, key) = path.rsplit_once('.').map_or(("", path), |(p, k)| (p, k));
    let mut target = &mut event;
    for p in parents.split('.').filter(|p| !p.is_empty()) {
        target = &mut target[p];
    }
    target.as_object_mut().unwrap().remove(key);
    event
}

#[test]
fn missing_fields_are_named() {
    let v2_fields = [
        "version",
        "type",
        "routeArn",
        "identitySource",
        "routeKey",
        "rawPath",
        "headers",
        "requestContext",
        "requestContext.requestId",
        "requestContext.http",
        "requestContext.http.method",
        "requestContext.http.path",
    ];
    for field in v2_fields {
        let message = unhandled(run_event(
            Builtin::AuthorizerSimple,
            &without(v2(&["allow"]), field),
            1,
        ));
        assert!(
            message.contains(&format!("missing {field}")),
            "{field}: {message}"
        );
    }
    let v1_fields = [
        "version",
        "type",
        "methodArn",
        "identitySource",
        "authorizationToken",
        "resource",
        "path",
        "httpMethod",
        "headers",
        "multiValueHeaders",
        "requestContext",
    ];
    for field in v1_fields {
        let message = unhandled(run_event(
            Builtin::AuthorizerPolicy,
            &without(v1("allow"), field),
            1,
        ));
        assert!(
            message.contains(&format!("missing {field}")),
            "{field}: {message}"
        );
    }
}

#[test]
fn wrong_types_and_values_are_refused() {
    let mut cases = Vec::new();
    let mut e = v2(&["allow"]);
    e["version"] = json!("3.0");
    cases.push((e, "version"));
    let mut e = v2(&["allow"]);
    e["type"] = json!("TOKEN");
    cases.push((e, "type"));
    let mut e = v2(&["allow"]);
    e["routeArn"] = json!("arn:aws:lambda:us-east-1:123456789012:function:x");
    cases.push((e, "routeArn"));
    let mut e = v2(&["allow"]);
    e["identitySource"] = json!("allow");
    cases.push((e, "identitySource"));
    let mut e = v2(&["allow"]);
    e["headers"] = json!({"a": ["b"]});
    cases.push((e, "headers"));
    let mut e = v1("allow");
    e["authorizationToken"] = json!("other");
    cases.push((e, "authorizationToken"));
    let mut e = v1("allow");
    e["identitySource"] = json!(["allow"]);
    cases.push((e, "identitySource"));
    let mut e = v1("allow");
    e["multiValueHeaders"] = json!({"a": "b"});
    cases.push((e, "multiValueHeaders"));
    cases.push((json!([1]), "object"));
    for (event, what) in cases {
        let message = unhandled(run_event(Builtin::AuthorizerPolicy, &event, 1));
        assert!(message.contains(what), "{what}: {message}");
    }
}
