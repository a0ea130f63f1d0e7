//! What an authorizer's approval carries on to the rest of the request: the claims and
//! scopes of a JWT, or a Lambda authorizer's principal and context. Events put it in
//! `requestContext.authorizer`, the access log shows the principal, and `authorizer_headers`
//! copy values of it to `function_uri` upstreams.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::jwt::VerifiedToken;

/// An approved caller.
#[derive(Debug, Clone)]
pub enum Grant {
    Jwt(Arc<VerifiedToken>),
    Lambda(Arc<LambdaGrant>),
}

/// A Lambda authorizer's approval.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LambdaGrant {
    /// `principalId` of a policy answer (simple answers have none).
    pub principal_id: Option<String>,
    /// `context` as the authorizer returned it.
    pub context: Map<String, Value>,
}

impl Grant {
    /// Who the caller is, for the access log: a JWT's `sub`, a Lambda authorizer's
    /// `principalId`.
    pub fn principal(&self) -> Option<&str> {
        match self {
            Grant::Jwt(t) => t.subject(),
            Grant::Lambda(l) => l.principal_id.as_deref(),
        }
    }

    /// The value an `authorizer_headers` reference names, as a string.
    pub fn lookup(&self, r: &ContextRef) -> Option<String> {
        match (self, r) {
            (Grant::Jwt(t), ContextRef::Claim(name)) => t.claims.get(name).cloned(),
            (Grant::Jwt(t), ContextRef::Scopes) => t.scopes.as_ref().map(|s| s.join(" ")),
            (Grant::Jwt(t), ContextRef::PrincipalId) => t.subject().map(str::to_string),
            (Grant::Lambda(l), ContextRef::PrincipalId) => l.principal_id.clone(),
            (Grant::Lambda(l), ContextRef::Context(key)) => match l.context.get(key)? {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            },
            _ => None,
        }
    }
}

/// A value of the authorizer's answer named in API Gateway's parameter-mapping syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextRef {
    /// `$context.authorizer.claims.NAME` (JWT).
    Claim(String),
    /// `$context.authorizer.scopes` (JWT, space-separated).
    Scopes,
    /// `$context.authorizer.principalId` (a JWT's `sub`, a Lambda authorizer's principal).
    PrincipalId,
    /// `$context.authorizer.KEY` (a Lambda authorizer's `context`).
    Context(String),
}

impl ContextRef {
    pub fn parse(s: &str) -> Result<ContextRef, String> {
        let Some(rest) = s.strip_prefix("$context.authorizer.") else {
            return Err(format!(
                "`{}` is not `$context.authorizer.claims.NAME`, `$context.authorizer.scopes`, \
                 `$context.authorizer.principalId` or `$context.authorizer.KEY`",
                s.escape_debug()
            ));
        };
        if rest.is_empty() {
            return Err("names nothing after `$context.authorizer.`".into());
        }
        Ok(match rest {
            "principalId" => ContextRef::PrincipalId,
            "scopes" => ContextRef::Scopes,
            _ => match rest.strip_prefix("claims.") {
                Some(c) if !c.is_empty() => ContextRef::Claim(c.to_string()),
                _ => ContextRef::Context(rest.to_string()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_lookups() {
        assert_eq!(
            ContextRef::parse("$context.authorizer.claims.sub"),
            Ok(ContextRef::Claim("sub".into()))
        );
        assert_eq!(
            ContextRef::parse("$context.authorizer.tenant"),
            Ok(ContextRef::Context("tenant".into()))
        );
        assert!(ContextRef::parse("$request.header.x").is_err());
        assert!(ContextRef::parse("$context.authorizer.").is_err());
        let t = VerifiedToken::from_claims(
            serde_json::json!({"sub": "u1", "scope": "a b"})
                .as_object()
                .unwrap(),
            1,
        );
        let g = Grant::Jwt(Arc::new(t));
        assert_eq!(g.principal(), Some("u1"));
        assert_eq!(
            g.lookup(&ContextRef::Claim("sub".into())).as_deref(),
            Some("u1")
        );
        assert_eq!(g.lookup(&ContextRef::Scopes).as_deref(), Some("a b"));
        assert_eq!(g.lookup(&ContextRef::Context("x".into())), None);
        let mut context = Map::new();
        context.insert("tenant".into(), "t1".into());
        context.insert("n".into(), 7.into());
        let g = Grant::Lambda(Arc::new(LambdaGrant {
            principal_id: Some("p".into()),
            context,
        }));
        assert_eq!(
            g.lookup(&ContextRef::Context("tenant".into())).as_deref(),
            Some("t1")
        );
        assert_eq!(
            g.lookup(&ContextRef::Context("n".into())).as_deref(),
            Some("7")
        );
        assert_eq!(g.lookup(&ContextRef::PrincipalId).as_deref(), Some("p"));
    }
}
