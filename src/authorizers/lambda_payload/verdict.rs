//! The authorizer function's answer ([`parse`]); what the integration event then carries is
//! `crate::function_name::event::authorizer`.
//!
//! Answers (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html#http-api-lambda-authorizer.payload-format-response>):
//!
//! * Simple (format 2.0 with `enable_simple_responses`): `{"isAuthorized": true|false,
//!   "context": {...}}`. `isAuthorized` must be a JSON boolean (`"true"` is an invalid answer).
//! * IAM policy (format 1.0, or 2.0 without simple responses): `{"principalId": "...",
//!   "policyDocument": {...}, "context": {...}, "usageIdentifierKey": "..."}`; the policy is
//!   evaluated for the request's ARN ([`super::allows`]). `principalId` (a string) and
//!   `policyDocument` are required: the output "must include the principal identifier
//!   (`principalId`) and a policy document (`policyDocument`)"
//!   (api-gateway-lambda-authorizer-output.html, below).
//!
//! `context` is optional (absent or `null`); when present it must be an object. Its values:
//!
//! * 2.0 (simple and policy answers): any JSON value. AWS's own 2.0 examples return
//!   `"arrayKey": ["value1", "value2"]` and `"mapKey": {"value1": "value2"}` in both answer
//!   kinds (same page, "Example Lambda authorizer functions").
//! * 1.0: strings, numbers and booleans only (and `null`); an object or array is an invalid
//!   answer. 1.0 is the REST-compatible format, and REST documents: "you cannot set a JSON object
//!   or array as a valid value of any key in the `context` map"
//!   (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html>);
//!   the HTTP API page shows no 1.0 context with nested values.
//!
//! Anything else (not JSON, not an object, a missing or mistyped field, an unusable policy) is
//! `Err(reason)`: the gateway answers 500, as API Gateway does for "a response in an invalid
//! format".

use serde_json::{Map, Value};

use super::policy::{allows, short};
use super::PayloadFormat;

/// What the authorizer decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Go on to the integration, which receives `context` (and `principal_id`).
    Allow {
        /// `principalId` of a policy answer; `None` for simple answers.
        principal_id: Option<String>,
        /// `context` as returned (empty when absent).
        context: Map<String, Value>,
        /// `usageIdentifierKey` of a policy answer (REST usage plans), if any.
        usage_identifier_key: Option<String>,
    },
    /// `403 Forbidden`.
    Deny,
}

impl Verdict {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allow { .. })
    }
}

/// Read the authorizer's answer (the function's response payload). `arn` is the ARN the event
/// carried ([`super::route_arn`]), which a policy must allow. `simple` is
/// `enable_simple_responses`; it exists only for format 2.0 (AWS: "To return a Boolean value,
/// enable simple responses", 2.0 only), so `simple` with [`PayloadFormat::V1`] is an error
/// (configuration validation should refuse it first).
pub fn parse(
    body: &[u8],
    version: PayloadFormat,
    simple: bool,
    arn: &str,
) -> Result<Verdict, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("authorizer response is not JSON: {e}"))?;
    let Value::Object(mut answer) = value else {
        return Err("authorizer response is not a JSON object".into());
    };
    if simple {
        if version == PayloadFormat::V1 {
            return Err("simple responses need authorizer payload format 2.0".into());
        }
        let allowed = match answer.get("isAuthorized") {
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(format!("isAuthorized is not a boolean: {}", short(other))),
            None => return Err("authorizer response has no isAuthorized".into()),
        };
        let context = take_context(&mut answer, version)?;
        return Ok(if allowed {
            Verdict::Allow {
                principal_id: None,
                context,
                usage_identifier_key: None,
            }
        } else {
            Verdict::Deny
        });
    }
    let principal_id = match answer.remove("principalId") {
        Some(Value::String(s)) => s,
        Some(other) => return Err(format!("principalId is not a string: {}", short(&other))),
        None => return Err("authorizer response has no principalId".into()),
    };
    let policy = answer
        .get("policyDocument")
        .ok_or("authorizer response has no policyDocument")?;
    let allowed = allows(policy, arn).map_err(|e| format!("policyDocument: {e}"))?;
    let usage_identifier_key = match answer.remove("usageIdentifierKey") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            return Err(format!(
                "usageIdentifierKey is not a string: {}",
                short(&other)
            ))
        }
    };
    // Validated even on a deny: an invalid answer is a 500 whatever it decides.
    let context = take_context(&mut answer, version)?;
    Ok(if allowed {
        Verdict::Allow {
            principal_id: Some(principal_id),
            context,
            usage_identifier_key,
        }
    } else {
        Verdict::Deny
    })
}

fn take_context(
    answer: &mut Map<String, Value>,
    version: PayloadFormat,
) -> Result<Map<String, Value>, String> {
    let context = match answer.remove("context") {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::Object(map)) => map,
        Some(other) => return Err(format!("context is not an object: {}", short(&other))),
    };
    if version == PayloadFormat::V1 {
        if let Some((key, _)) = context.iter().find(|(_, v)| v.is_object() || v.is_array()) {
            return Err(format!(
                "context.{key}: payload format 1.0 allows only strings, numbers and booleans"
            ));
        }
    }
    Ok(context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request";

    fn bytes(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    fn policy(effect: &str, context: Value) -> Value {
        json!({
            "principalId": "abcdef",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": ARN}]},
            "context": context,
        })
    }

    fn ctx(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn simple_answers() {
        let c = json!({"stringKey": "value", "numberKey": 1, "booleanKey": true,
                       "arrayKey": ["value1", "value2"], "mapKey": {"value1": "value2"}});
        let v = parse(
            &bytes(json!({"isAuthorized": true, "context": c})),
            PayloadFormat::V2,
            true,
            ARN,
        )
        .unwrap();
        assert_eq!(
            v,
            Verdict::Allow {
                principal_id: None,
                context: ctx(c),
                usage_identifier_key: None
            }
        );
        assert!(v.is_allowed());
        let v = parse(br#"{"isAuthorized": true}"#, PayloadFormat::V2, true, ARN).unwrap();
        assert_eq!(
            v,
            Verdict::Allow {
                principal_id: None,
                context: Map::new(),
                usage_identifier_key: None
            }
        );
        let v = parse(
            br#"{"isAuthorized": true, "context": null}"#,
            PayloadFormat::V2,
            true,
            ARN,
        );
        assert!(v.unwrap().is_allowed());
        let v = parse(
            br#"{"isAuthorized": false, "context": {"a": 1}}"#,
            PayloadFormat::V2,
            true,
            ARN,
        );
        assert_eq!(v, Ok(Verdict::Deny));
    }

    #[test]
    fn simple_answer_errors() {
        for body in [
            r#"{"isAuthorized": "true"}"#,
            r#"{"isAuthorized": 1}"#,
            r#"{"isAuthorized": null}"#,
            r#"{"authorized": true}"#,
            r#"{}"#,
            r#"{"isAuthorized": true, "context": "x"}"#,
            r#"{"isAuthorized": true, "context": [1]}"#,
            r#"true"#,
            r#"[{"isAuthorized": true}]"#,
            r#""#,
            r#"{"isAuthorized": tru"#,
        ] {
            assert!(
                parse(body.as_bytes(), PayloadFormat::V2, true, ARN).is_err(),
                "{body}"
            );
        }
        // A policy answer where a simple one is expected is invalid too.
        assert!(parse(
            &bytes(policy("Allow", json!({}))),
            PayloadFormat::V2,
            true,
            ARN
        )
        .is_err());
        // Simple answers exist only for 2.0.
        let err = parse(br#"{"isAuthorized": true}"#, PayloadFormat::V1, true, ARN).unwrap_err();
        assert!(err.contains("2.0"), "{err}");
    }

    #[test]
    fn policy_answers() {
        for version in [PayloadFormat::V1, PayloadFormat::V2] {
            let v = parse(
                &bytes(policy(
                    "Allow",
                    json!({"exampleKey": "exampleValue", "n": 1, "b": false}),
                )),
                version,
                false,
                ARN,
            )
            .unwrap();
            assert_eq!(
                v,
                Verdict::Allow {
                    principal_id: Some("abcdef".into()),
                    context: ctx(json!({"exampleKey": "exampleValue", "n": 1, "b": false})),
                    usage_identifier_key: None,
                }
            );
            let v = parse(&bytes(policy("Deny", json!({}))), version, false, ARN);
            assert_eq!(v, Ok(Verdict::Deny), "{version:?}");
            // Allowed for another ARN only: implicit deny.
            let other = ARN.replace("GET", "POST");
            let v = parse(&bytes(policy("Allow", json!(null))), version, false, &other);
            assert_eq!(v, Ok(Verdict::Deny));
        }
        let mut answer = policy("Allow", json!(null));
        answer["usageIdentifierKey"] = json!("key-1");
        let v = parse(&bytes(answer), PayloadFormat::V1, false, ARN).unwrap();
        assert_eq!(
            v,
            Verdict::Allow {
                principal_id: Some("abcdef".into()),
                context: Map::new(),
                usage_identifier_key: Some("key-1".into()),
            }
        );
    }

    #[test]
    fn context_values_by_version() {
        let nested = json!({"arrayKey": ["value1", "value2"]});
        let map = json!({"mapKey": {"value1": "value2"}});
        for c in [&nested, &map] {
            let v = parse(
                &bytes(policy("Allow", c.clone())),
                PayloadFormat::V2,
                false,
                ARN,
            );
            assert!(v.unwrap().is_allowed(), "2.0 takes {c}");
            let err = parse(
                &bytes(policy("Allow", c.clone())),
                PayloadFormat::V1,
                false,
                ARN,
            )
            .unwrap_err();
            assert!(err.contains("1.0"), "{err}");
            // Invalid even when the policy denies.
            assert!(parse(
                &bytes(policy("Deny", c.clone())),
                PayloadFormat::V1,
                false,
                ARN
            )
            .is_err());
        }
        let v = parse(
            &bytes(policy(
                "Allow",
                json!({"s": "x", "n": 1.5, "b": true, "z": null}),
            )),
            PayloadFormat::V1,
            false,
            ARN,
        );
        assert!(v.unwrap().is_allowed());
    }

    #[test]
    fn policy_answer_errors() {
        let mut bad = Vec::new();
        let mut a = policy("Allow", json!({}));
        a.as_object_mut().unwrap().remove("principalId");
        bad.push(a);
        let mut a = policy("Allow", json!({}));
        a["principalId"] = json!(42);
        bad.push(a);
        let mut a = policy("Allow", json!({}));
        a.as_object_mut().unwrap().remove("policyDocument");
        bad.push(a);
        let mut a = policy("Allow", json!({}));
        a["policyDocument"] = json!("Allow");
        bad.push(a);
        let mut a = policy("Allow", json!({}));
        a["policyDocument"]["Statement"][0]["Effect"] = json!("allow");
        bad.push(a);
        let mut a = policy("Allow", json!({}));
        a["policyDocument"]["Statement"][0]["NotResource"] = json!("*");
        bad.push(a);
        bad.push(policy("Allow", json!("ctx")));
        let mut a = policy("Allow", json!({}));
        a["usageIdentifierKey"] = json!(1);
        bad.push(a);
        bad.push(json!({"isAuthorized": true}));
        for answer in bad {
            for version in [PayloadFormat::V1, PayloadFormat::V2] {
                assert!(
                    parse(&bytes(answer.clone()), version, false, ARN).is_err(),
                    "{version:?} {answer}"
                );
            }
        }
        // A function error payload is not an answer.
        let err = parse(
            br#"{"errorMessage": "boom", "errorType": "Error"}"#,
            PayloadFormat::V1,
            false,
            ARN,
        )
        .unwrap_err();
        assert!(err.contains("principalId"), "{err}");
        assert!(parse(b"not json", PayloadFormat::V1, false, ARN)
            .unwrap_err()
            .contains("not JSON"));
    }
}
