//! The IAM policy an authorizer returns, evaluated for one `execute-api:Invoke` on one ARN as
//! API Gateway does ([`allows`]).
//!
//! IAM's evaluation logic, restricted to what an authorizer policy can say: an explicit `Deny`
//! that matches wins; otherwise the request is allowed only if some `Allow` matches; nothing
//! matching is an implicit deny
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>).
//! Statements: <https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html>.
//!
//! * `Statement`: one object or an array of them.
//! * `Effect`: `"Allow"` or `"Deny"`, exactly (IAM values are case-sensitive).
//! * `Action`: a string or an array of strings, matched against `execute-api:Invoke`
//!   case-insensitively (IAM action names are), with `*` and `?` wildcards (`*`,
//!   `execute-api:*`, `execute-api:Inv*`).
//! * `Resource`: a string or an array of strings, matched case-sensitively with `*` (any run of
//!   characters, `/` and `:` included) and `?` (one character).
//! * `Condition` is not evaluated. Failing closed: an `Allow` with a condition never allows, a
//!   `Deny` with a condition denies whenever its action and resource match.
//! * `NotAction`, `NotResource`, `NotPrincipal`: unsupported, an error (the gateway answers 500,
//!   as for any authorizer answer it cannot use). So is anything malformed: a missing or
//!   non-string `Effect`, a missing `Action` / `Resource`, a non-string entry.
//!
//! The wildcard matcher is iterative (two pointers, back-tracking only to the last `*`), so it
//! is O(pattern × text) at worst and never exponential on hostile patterns like `*a*a*a*b`.

use serde_json::Value;

/// The action every API Gateway invocation is checked against.
const INVOKE: &str = "execute-api:invoke";

/// Whether `policy_document` allows `execute-api:Invoke` on `arn`; `Err` when the document is
/// malformed or uses something unsupported (see the module notes).
pub fn allows(policy_document: &Value, arn: &str) -> Result<bool, String> {
    let doc = policy_document
        .as_object()
        .ok_or("policyDocument is not an object")?;
    if let Some(v) = doc.get("Version") {
        if !v.is_string() {
            return Err("policyDocument.Version is not a string".into());
        }
    }
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        Some(_) => return Err("policyDocument.Statement is not an object or array".into()),
        None => return Err("policyDocument has no Statement".into()),
    };
    // Every statement is checked even after a matching Deny: a malformed document is an error
    // whatever the order of its statements.
    let (mut allowed, mut denied) = (false, false);
    for (i, st) in statements.into_iter().enumerate() {
        let st = st
            .as_object()
            .ok_or_else(|| format!("Statement[{i}] is not an object"))?;
        for unsupported in ["NotAction", "NotResource", "NotPrincipal"] {
            if st.contains_key(unsupported) {
                return Err(format!("Statement[{i}]: {unsupported} is not supported"));
            }
        }
        let deny = match st.get("Effect") {
            Some(Value::String(e)) if e == "Allow" => false,
            Some(Value::String(e)) if e == "Deny" => true,
            Some(other) => {
                return Err(format!(
                    "Statement[{i}].Effect must be \"Allow\" or \"Deny\", not {}",
                    short(other)
                ))
            }
            None => return Err(format!("Statement[{i}] has no Effect")),
        };
        let actions = strings(st.get("Action"), i, "Action")?;
        let resources = strings(st.get("Resource"), i, "Resource")?;
        let matches = actions
            .iter()
            .any(|a| glob(&a.to_ascii_lowercase(), INVOKE))
            && resources.iter().any(|r| glob(r, arn));
        if !matches {
            continue;
        }
        if deny {
            // Explicit deny wins, whatever else the document says (and a Condition on it is
            // not evaluated: fail closed).
            denied = true;
        } else if !st.contains_key("Condition") {
            allowed = true;
        }
    }
    Ok(allowed && !denied)
}

fn strings<'a>(v: Option<&'a Value>, i: usize, field: &str) -> Result<Vec<&'a str>, String> {
    match v {
        Some(Value::String(s)) => Ok(vec![s]),
        Some(Value::Array(list)) => list
            .iter()
            .map(|x| {
                x.as_str()
                    .ok_or_else(|| format!("Statement[{i}].{field} has a non-string entry"))
            })
            .collect(),
        Some(_) => Err(format!(
            "Statement[{i}].{field} is not a string or an array"
        )),
        None => Err(format!("Statement[{i}] has no {field}")),
    }
}

/// A JSON value for an error message (which ends up in logs): at most ~64 characters.
pub(super) fn short(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(64) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// IAM wildcard match of the whole `text`: `*` is any run of characters (empty included), `?`
/// exactly one character; everything else literal. Iterative: on a mismatch, retry from the
/// last `*` one character further; earlier stars never need revisiting, so the cost is bounded
/// by `pattern.len() * text.len()`.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Position after the last `*` seen, and the text position it is currently matched up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            pi += 1;
            star = Some((pi, ti));
        } else if let Some((sp, st)) = star {
            // Let the last `*` swallow one more character.
            pi = sp;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::{Duration, Instant};

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/pets/42";

    fn doc(statements: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    fn stmt(effect: &str, action: Value, resource: Value) -> Value {
        json!({"Effect": effect, "Action": action, "Resource": resource})
    }

    #[test]
    fn error_values_are_shortened() {
        assert_eq!(short(&json!("ab")), "\"ab\"");
        let long = short(&json!("x".repeat(1000)));
        assert_eq!(long.chars().count(), 65);
        assert!(long.ends_with('…'));
        let p = doc(json!([{"Effect": "é".repeat(500), "Action": "*", "Resource": "*"}]));
        assert!(allows(&p, ARN).unwrap_err().len() < 300);
    }

    #[test]
    fn glob_basics() {
        assert!(glob("", ""));
        assert!(!glob("", "a"));
        assert!(glob("*", ""));
        assert!(glob("*", "anything/at:all"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("a*c", "ac"));
        assert!(glob("a*c", "abbbc"));
        assert!(!glob("a*c", "abbbd"));
        assert!(glob("*/GET/*", "api/prod/GET/pets/1"));
        assert!(glob("**", "x"));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("a*b*c", "aXbYbZ"));
        assert!(glob("?", "é"), "? is one character, not one byte");
        assert!(!glob("abc", "ABC"));
        assert!(glob("a*", "a"));
        assert!(!glob("*a", "b"));
    }

    #[test]
    fn glob_hostile_patterns_are_fast() {
        let text = "a".repeat(20_000);
        let pattern = format!("{}b", "*a".repeat(200));
        let start = Instant::now();
        assert!(!glob(&pattern, &text));
        assert!(glob(&format!("{}*", "*a".repeat(200)), &text));
        let resource = format!("arn:aws:execute-api:*:*:*{}*?", "*a".repeat(100));
        let p = doc(json!([stmt("Allow", json!("*"), json!(resource))]));
        let arn = format!("arn:aws:execute-api:r:1:x/s/GET/{}", "a".repeat(5_000));
        assert!(allows(&p, &arn).unwrap());
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn allow_exact_and_wildcard_resources() {
        for resource in [
            ARN,
            "*",
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/*",
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/*/GET/*",
            "arn:aws:execute-api:*:*:abcdef123/prod/*/pets/*",
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/pets/4?",
        ] {
            let p = doc(json!([stmt(
                "Allow",
                json!("execute-api:Invoke"),
                json!(resource)
            )]));
            assert_eq!(allows(&p, ARN), Ok(true), "{resource}");
        }
        for resource in [
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/POST/*",
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/get/pets/42",
            "arn:aws:execute-api:us-east-1:123456789012:other/*",
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/pets",
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/pets/4",
        ] {
            let p = doc(json!([stmt(
                "Allow",
                json!("execute-api:Invoke"),
                json!(resource)
            )]));
            assert_eq!(allows(&p, ARN), Ok(false), "{resource}");
        }
    }

    #[test]
    fn actions_are_case_insensitive_with_wildcards() {
        for action in [
            json!("execute-api:Invoke"),
            json!("EXECUTE-API:INVOKE"),
            json!("execute-api:invoke"),
            json!("execute-api:*"),
            json!("execute-api:Inv*"),
            json!("execute-api:Invok?"),
            json!("*"),
            json!(["s3:GetObject", "execute-api:Invoke"]),
        ] {
            let p = doc(json!([stmt("Allow", action.clone(), json!("*"))]));
            assert_eq!(allows(&p, ARN), Ok(true), "{action}");
        }
        for action in [
            json!("execute-api:ManageConnections"),
            json!("execute-api:Invoke2"),
            json!("apigateway:*"),
            json!([]),
            json!(["s3:*"]),
        ] {
            let p = doc(json!([stmt("Allow", action.clone(), json!("*"))]));
            assert_eq!(allows(&p, ARN), Ok(false), "{action}");
        }
    }

    #[test]
    fn explicit_deny_wins() {
        let allow = stmt("Allow", json!("execute-api:Invoke"), json!("*"));
        let deny = stmt(
            "Deny",
            json!("execute-api:Invoke"),
            json!("arn:aws:execute-api:*:*:abcdef123/*/GET/pets/*"),
        );
        assert_eq!(allows(&doc(json!([allow, deny])), ARN), Ok(false));
        assert_eq!(allows(&doc(json!([deny, allow])), ARN), Ok(false));
        // A deny that does not match leaves the allow.
        let other = stmt("Deny", json!("execute-api:Invoke"), json!("*/POST/*"));
        assert_eq!(allows(&doc(json!([allow, other])), ARN), Ok(true));
        // Only a deny, or nothing matching: implicit deny.
        assert_eq!(allows(&doc(json!([deny])), ARN), Ok(false));
        assert_eq!(allows(&doc(json!([])), ARN), Ok(false));
    }

    #[test]
    fn statement_object_or_array() {
        let one = json!({"Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": [ARN]}});
        assert_eq!(allows(&one, ARN), Ok(true));
        // No Version is fine (IAM defaults it).
        let no_version =
            json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        assert_eq!(allows(&no_version, ARN), Ok(true));
    }

    #[test]
    fn effect_is_case_sensitive() {
        for effect in ["allow", "ALLOW", "deny", "Permit", ""] {
            let p = doc(json!([stmt(effect, json!("*"), json!("*"))]));
            assert!(allows(&p, ARN).is_err(), "{effect}");
        }
        let p = doc(json!([{"Effect": true, "Action": "*", "Resource": "*"}]));
        assert!(allows(&p, ARN).is_err());
    }

    #[test]
    fn conditions_fail_closed() {
        let cond = json!({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}});
        let allow_if =
            json!({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": cond});
        assert_eq!(allows(&doc(json!([allow_if])), ARN), Ok(false));
        let allow = stmt("Allow", json!("*"), json!("*"));
        let deny_if = json!({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": cond});
        assert_eq!(allows(&doc(json!([allow, deny_if])), ARN), Ok(false));
    }

    #[test]
    fn unsupported_and_malformed_documents_are_errors() {
        let bad = [
            json!(null),
            json!("policy"),
            json!([]),
            json!({}),
            json!({"Statement": "Allow"}),
            json!({"Statement": null}),
            json!({"Version": 2012, "Statement": []}),
            doc(json!(["Allow"])),
            doc(json!([{"Action": "*", "Resource": "*"}])),
            doc(json!([{"Effect": "Allow", "Resource": "*"}])),
            doc(json!([{"Effect": "Allow", "Action": "*"}])),
            doc(json!([{"Effect": "Allow", "Action": 1, "Resource": "*"}])),
            doc(json!([{"Effect": "Allow", "Action": ["*", 1], "Resource": "*"}])),
            doc(json!([{"Effect": "Allow", "Action": "*", "Resource": {"a": 1}}])),
            doc(json!([{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}])),
            doc(json!([{"Effect": "Allow", "Action": "*", "NotResource": "x"}])),
            doc(json!([{"Effect": "Deny", "Action": "*", "Resource": "*", "NotPrincipal": {}}])),
        ];
        for p in bad {
            assert!(allows(&p, ARN).is_err(), "{p}");
        }
        // Whatever the order: a malformed statement after a matching deny or allow too.
        let deny = stmt("Deny", json!("*"), json!("*"));
        let allow = stmt("Allow", json!("*"), json!("*"));
        for p in [
            doc(json!([{"Effect": "Allow"}, allow])),
            doc(json!([allow, {"Effect": "Allow"}])),
            doc(json!([deny, {"Effect": "Maybe", "Action": "*", "Resource": "*"}])),
        ] {
            assert!(allows(&p, ARN).is_err(), "{p}");
        }
    }
}
