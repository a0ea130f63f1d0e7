//! `requestContext.authorizer` of API Gateway events, from the route authorizer's approval
//! (`crate::authorizers::Grant`):
//!
//! | | v1 (REST / payload 1.0) | v2 (HTTP API payload 2.0) |
//! |---|---|---|
//! | JWT | `{"claims": {..}, "scopes": [..] \| null}` | `{"jwt": {"claims": {..}, "scopes": [..] \| null}}` |
//! | Lambda | `{"principalId": .., <context keys>.., "integrationLatency": 0}` (no `principalId` after a simple answer) | `{"lambda": {<context>}}` |
//!
//! Claims are strings (`crate::authorizers::jwt::claims`). In v1 a Lambda authorizer's context
//! keys sit next to `principalId`, as API Gateway flattens them (a context key named
//! `principalId` or `integrationLatency` is left out rather than written twice).

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::authorizers::Grant;

/// The v1 shape.
pub(super) struct V1Authorizer<'a>(pub &'a Grant);
/// The v2 shape.
pub(super) struct V2Authorizer<'a>(pub &'a Grant);

struct JwtBody<'a>(&'a crate::authorizers::jwt::VerifiedToken);

impl Serialize for JwtBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("claims", &self.0.claims)?;
        m.serialize_entry("scopes", &self.0.scopes)?;
        m.end()
    }
}

impl Serialize for V1Authorizer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Grant::Jwt(t) => JwtBody(t).serialize(s),
            Grant::Lambda(l) => {
                let mut m = s.serialize_map(None)?;
                if let Some(p) = &l.principal_id {
                    m.serialize_entry("principalId", p)?;
                }
                for (k, v) in &l.context {
                    if k != "principalId" && k != "integrationLatency" {
                        m.serialize_entry(k, v)?;
                    }
                }
                m.serialize_entry("integrationLatency", &0)?;
                m.end()
            }
        }
    }
}

impl Serialize for V2Authorizer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        match self.0 {
            Grant::Jwt(t) => m.serialize_entry("jwt", &JwtBody(t))?,
            Grant::Lambda(l) => m.serialize_entry("lambda", &l.context)?,
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{json, Value};

    use super::*;
    use crate::authorizers::LambdaGrant;

    fn v1(g: &Grant) -> Value {
        serde_json::to_value(V1Authorizer(g)).unwrap()
    }
    fn v2(g: &Grant) -> Value {
        serde_json::to_value(V2Authorizer(g)).unwrap()
    }

    #[test]
    fn lambda_context_in_both_shapes() {
        let context = json!({"exampleKey": "exampleValue", "n": 1, "principalId": "spoof"});
        let g = Grant::Lambda(Arc::new(LambdaGrant {
            principal_id: Some("abcdef".into()),
            context: context.as_object().unwrap().clone(),
        }));
        assert_eq!(
            v1(&g),
            json!({"exampleKey": "exampleValue", "n": 1, "principalId": "abcdef", "integrationLatency": 0})
        );
        assert_eq!(v2(&g), json!({"lambda": context}));
        let simple = Grant::Lambda(Arc::new(LambdaGrant::default()));
        assert_eq!(v1(&simple), json!({"integrationLatency": 0}));
        assert_eq!(v2(&simple), json!({"lambda": {}}));
    }

    #[test]
    fn jwt_claims_and_scopes_in_both_shapes() {
        let t = crate::authorizers::jwt::VerifiedToken::from_claims(
            json!({"sub": "u", "exp": 5, "scope": "a b"})
                .as_object()
                .unwrap(),
            5,
        );
        let g = Grant::Jwt(Arc::new(t));
        let body =
            json!({"claims": {"sub": "u", "exp": "5", "scope": "a b"}, "scopes": ["a", "b"]});
        assert_eq!(v1(&g), body);
        assert_eq!(v2(&g), json!({"jwt": body}));
        let t = crate::authorizers::jwt::VerifiedToken::from_claims(
            json!({"sub": "u"}).as_object().unwrap(),
            5,
        );
        assert_eq!(v2(&Grant::Jwt(Arc::new(t)))["jwt"]["scopes"], Value::Null);
    }
}
