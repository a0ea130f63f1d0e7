//! A verified token's claims as API Gateway hands them on: every value a string (v2
//! `requestContext.authorizer.jwt.claims`, v1 `requestContext.authorizer.claims`), and the
//! scopes from `scope` (space-separated, RFC 8693 §4.2) or `scp` (an array or a string, as
//! Azure AD and Okta write it).
//!
//! Stringification follows what HTTP APIs send: strings as they are, numbers and booleans as
//! their JSON text, arrays as `[a b c]` (space-separated in brackets; runtimes such as the
//! Rust `lambda_http` read claims as a map of strings). Objects, which API Gateway renders in
//! an undocumented way, are passed as their JSON text.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// What a request learns from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// Claim name → string value.
    pub claims: BTreeMap<String, String>,
    /// `None` when the token has neither `scope` nor `scp` (the event's `scopes` is `null`).
    pub scopes: Option<Vec<String>>,
    /// `exp`, seconds since the epoch: the verified token is cached until then.
    pub exp: u64,
}

impl VerifiedToken {
    pub fn from_claims(raw: &Map<String, Value>, exp: u64) -> VerifiedToken {
        let claims = raw.iter().map(|(k, v)| (k.clone(), stringify(v))).collect();
        VerifiedToken {
            claims,
            scopes: scopes(raw),
            exp,
        }
    }

    /// `sub`: the principal in the access log.
    pub fn subject(&self) -> Option<&str> {
        self.claims.get("sub").map(String::as_str)
    }

    /// Whether the token has at least one of `wanted` (API Gateway: any one suffices).
    pub fn has_any_scope(&self, wanted: &[String]) -> bool {
        let have = self.scopes.as_deref().unwrap_or_default();
        wanted.iter().any(|w| have.iter().any(|h| h == w))
    }
}

fn stringify(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(stringify).collect();
            format!("[{}]", parts.join(" "))
        }
        other => other.to_string(),
    }
}

fn scopes(raw: &Map<String, Value>) -> Option<Vec<String>> {
    let split = |s: &str| {
        s.split_ascii_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let mut out: Option<Vec<String>> = None;
    for name in ["scope", "scp"] {
        let found = match raw.get(name) {
            Some(Value::String(s)) => split(s),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str())
                .flat_map(split)
                .collect(),
            _ => continue,
        };
        out.get_or_insert_with(Vec::new).extend(found);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(v: Value) -> VerifiedToken {
        VerifiedToken::from_claims(v.as_object().unwrap(), 1)
    }

    #[test]
    fn claims_are_strings_as_api_gateway_sends_them() {
        let t = token(json!({
            "sub": "u-1", "exp": 1700000000, "admin": true, "ratio": 1.5,
            "cognito:groups": ["a", "b"], "addr": {"c": "d"}, "none": null
        }));
        assert_eq!(t.claims["sub"], "u-1");
        assert_eq!(t.claims["exp"], "1700000000");
        assert_eq!(t.claims["admin"], "true");
        assert_eq!(t.claims["ratio"], "1.5");
        assert_eq!(t.claims["cognito:groups"], "[a b]");
        assert_eq!(t.claims["addr"], "{\"c\":\"d\"}");
        assert_eq!(t.claims["none"], "null");
        assert_eq!(t.subject(), Some("u-1"));
        assert_eq!(t.scopes, None);
    }

    #[test]
    fn scopes_from_scope_and_scp() {
        let t = token(json!({"scope": "orders.read  orders.write"}));
        assert_eq!(
            t.scopes.as_deref(),
            Some(&["orders.read".to_string(), "orders.write".to_string()][..])
        );
        assert!(t.has_any_scope(&["x".into(), "orders.write".into()]));
        assert!(!t.has_any_scope(&["orders".into()]));
        let t = token(json!({"scp": ["a", "b"]}));
        assert!(t.has_any_scope(&["b".into()]));
        let t = token(json!({"scp": "a b"}));
        assert!(t.has_any_scope(&["b".into()]));
        let t = token(json!({"sub": "x"}));
        assert!(!t.has_any_scope(&["a".into()]));
    }
}
