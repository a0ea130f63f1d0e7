//! Checking one token: its shape and header, its signature with the issuer's key
//! (`jsonwebtoken` on `ring`), then the claims API Gateway checks: `exp` (required), `nbf` and
//! `iat` (when present) with [`LEEWAY_SECONDS`] of clock skew, `iss` exactly, and `aud` (any
//! of the configured audiences; a token without `aud` is matched on `client_id`, as API
//! Gateway does for Cognito access tokens).
//!
//! Refused before any cryptography: tokens over [`MAX_TOKEN_BYTES`], anything but three
//! base64url parts, `alg: none` (not an algorithm `jsonwebtoken` knows) and the HMAC
//! algorithms (a key set holds public keys: accepting HS256 "signed" with a public key is the
//! classic confusion attack).

use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::super::jwks::KeySet;
use super::claims::VerifiedToken;

/// Largest token accepted (API Gateway's header limit is 10 KiB; real tokens are under 4).
pub const MAX_TOKEN_BYTES: usize = 8192;
/// Clock skew allowed on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECONDS: u64 = 60;

/// Why a token is refused: the `error_description` of the 401's `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Malformed(&'static str),
    Algorithm(String),
    /// No key in the set has this `kid` (or fits the algorithm).
    UnknownKey,
    BadSignature,
    Expired,
    NotYetValid,
    IssuedInTheFuture,
    MissingExp,
    WrongIssuer,
    WrongAudience,
}

impl TokenError {
    pub fn description(&self) -> String {
        match self {
            TokenError::Malformed(why) => format!("the token is malformed: {why}"),
            TokenError::Algorithm(a) => format!("algorithm {a} is not accepted"),
            TokenError::UnknownKey => "the token's signing key is unknown".into(),
            TokenError::BadSignature => "the signature is invalid".into(),
            TokenError::Expired => "the token has expired".into(),
            TokenError::NotYetValid => "the token is not valid yet (nbf)".into(),
            TokenError::IssuedInTheFuture => "the token is issued in the future (iat)".into(),
            TokenError::MissingExp => "the token has no exp".into(),
            TokenError::WrongIssuer => "the issuer is not accepted".into(),
            TokenError::WrongAudience => "the audience is not accepted".into(),
        }
    }

    /// The `reason` label of the decision metric.
    pub fn label(&self) -> &'static str {
        match self {
            TokenError::Malformed(_) => "malformed",
            TokenError::Algorithm(_) => "algorithm",
            TokenError::UnknownKey => "unknown_key",
            TokenError::BadSignature => "signature",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::IssuedInTheFuture => "iat",
            TokenError::MissingExp => "no_exp",
            TokenError::WrongIssuer => "issuer",
            TokenError::WrongAudience => "audience",
        }
    }
}

/// A token's header, read before a key is looked up.
#[derive(Debug)]
pub struct TokenHeader {
    pub alg: Algorithm,
    pub kid: Option<String>,
}

/// Shape and header checks.
pub fn header(token: &str) -> Result<TokenHeader, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed("too long"));
    }
    let mut parts = 0;
    for part in token.split('.') {
        parts += 1;
        if part.is_empty()
            || !part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(TokenError::Malformed("not three base64url parts"));
        }
    }
    if parts != 3 {
        return Err(TokenError::Malformed("not three base64url parts"));
    }
    let h = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::Json(_) => {
            // `alg` outside jsonwebtoken's set (`none`, `HS1`…) or a header that is no JSON.
            match raw_alg(token) {
                Some(a) => TokenError::Algorithm(a),
                None => TokenError::Malformed("unreadable header"),
            }
        }
        _ => TokenError::Malformed("unreadable header"),
    })?;
    if matches!(
        h.alg,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    ) {
        return Err(TokenError::Algorithm(format!("{:?}", h.alg)));
    }
    Ok(TokenHeader {
        alg: h.alg,
        kid: h.kid,
    })
}

/// The `alg` of a header jsonwebtoken refused, for the error message (`none`).
fn raw_alg(token: &str) -> Option<String> {
    use base64::Engine as _;
    let head = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(head)
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let alg = v.get("alg")?.as_str()?;
    Some(alg.chars().take(16).collect())
}

/// What the claims must say.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub audience: &'a [String],
}

/// Signature with the keys that fit the header, then the claims. `now`: seconds since the
/// epoch.
pub fn verify(
    token: &str,
    h: &TokenHeader,
    keys: &KeySet,
    expected: &Expected,
    now: u64,
) -> Result<VerifiedToken, TokenError> {
    let mut found_key = false;
    let mut claims: Option<Map<String, Value>> = None;
    for k in keys.candidates(h.kid.as_deref(), h.alg) {
        found_key = true;
        let mut v = Validation::new(h.alg);
        v.algorithms = vec![h.alg];
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        v.required_spec_claims.clear();
        match jsonwebtoken::decode::<Map<String, Value>>(token, &k.key, &v) {
            Ok(data) => {
                claims = Some(data.claims);
                break;
            }
            Err(e) => match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature
                | jsonwebtoken::errors::ErrorKind::InvalidEcdsaKey
                | jsonwebtoken::errors::ErrorKind::InvalidRsaKey(_)
                | jsonwebtoken::errors::ErrorKind::Crypto(_) => continue,
                jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                    return Err(TokenError::Algorithm(format!("{:?}", h.alg)))
                }
                _ => return Err(TokenError::Malformed("unreadable payload")),
            },
        }
    }
    let Some(claims) = claims else {
        return Err(if found_key {
            TokenError::BadSignature
        } else {
            TokenError::UnknownKey
        });
    };
    check_claims(&claims, expected, now)
}

fn number(v: Option<&Value>) -> Option<Result<u64, TokenError>> {
    let v = v?;
    Some(match v.as_f64() {
        Some(f) if f >= 0.0 && f.is_finite() => Ok(f as u64),
        _ => Err(TokenError::Malformed("a time claim is not a number")),
    })
}

/// The claims API Gateway checks.
pub fn check_claims(
    claims: &Map<String, Value>,
    expected: &Expected,
    now: u64,
) -> Result<VerifiedToken, TokenError> {
    let exp = number(claims.get("exp")).ok_or(TokenError::MissingExp)??;
    if exp.saturating_add(LEEWAY_SECONDS) <= now {
        return Err(TokenError::Expired);
    }
    if let Some(nbf) = number(claims.get("nbf")) {
        if nbf? > now + LEEWAY_SECONDS {
            return Err(TokenError::NotYetValid);
        }
    }
    if let Some(iat) = number(claims.get("iat")) {
        if iat? > now + LEEWAY_SECONDS {
            return Err(TokenError::IssuedInTheFuture);
        }
    }
    if claims.get("iss").and_then(Value::as_str) != Some(expected.issuer) {
        return Err(TokenError::WrongIssuer);
    }
    let accepted = |v: &Value| {
        v.as_str()
            .is_some_and(|s| expected.audience.iter().any(|a| a == s))
    };
    let audience_ok = match claims.get("aud") {
        Some(Value::Array(a)) => a.iter().any(accepted),
        Some(v) => accepted(v),
        None => claims.get("client_id").is_some_and(accepted),
    };
    if !audience_ok {
        return Err(TokenError::WrongAudience);
    }
    Ok(VerifiedToken::from_claims(claims, exp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    fn check(v: Value) -> Result<VerifiedToken, TokenError> {
        let aud = vec!["api".to_string(), "other".to_string()];
        let e = Expected {
            issuer: "https://issuer.example/",
            audience: &aud,
        };
        check_claims(v.as_object().unwrap(), &e, NOW)
    }

    fn good() -> Value {
        json!({"iss": "https://issuer.example/", "aud": "api", "exp": NOW + 10, "sub": "u"})
    }

    fn with(k: &str, v: Value) -> Value {
        let mut g = good();
        g[k] = v;
        g
    }

    #[test]
    fn claims_checked_as_api_gateway() {
        assert!(check(good()).is_ok());
        assert_eq!(
            check(with("exp", json!(NOW - 61))),
            Err(TokenError::Expired)
        );
        assert!(check(with("exp", json!(NOW - 59))).is_ok(), "leeway");
        let mut no_exp = good();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(check(no_exp), Err(TokenError::MissingExp));
        assert!(check(with("exp", json!("soon"))).is_err());
        assert_eq!(
            check(with("nbf", json!(NOW + 61))),
            Err(TokenError::NotYetValid)
        );
        assert!(check(with("nbf", json!(NOW + 59))).is_ok());
        assert_eq!(
            check(with("iat", json!(NOW + 3600))),
            Err(TokenError::IssuedInTheFuture)
        );
        assert_eq!(
            check(with("iss", json!("https://issuer.example"))),
            Err(TokenError::WrongIssuer)
        );
        assert_eq!(
            check(with("aud", json!("nope"))),
            Err(TokenError::WrongAudience)
        );
        assert!(check(with("aud", json!(["x", "other"]))).is_ok());
        assert_eq!(
            check(with("aud", json!(["x"]))),
            Err(TokenError::WrongAudience)
        );
        let mut cognito = good();
        cognito.as_object_mut().unwrap().remove("aud");
        assert_eq!(check(cognito.clone()), Err(TokenError::WrongAudience));
        cognito["client_id"] = json!("api");
        assert!(check(cognito).is_ok());
    }

    #[test]
    fn shapes_refused_before_any_key_is_used() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let none = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64("{}"));
        assert!(
            matches!(header(&none), Err(TokenError::Malformed(_))),
            "empty signature part"
        );
        let none = format!("{}.{}.AA", b64(r#"{"alg":"none"}"#), b64("{}"));
        assert_eq!(
            header(&none).unwrap_err(),
            TokenError::Algorithm("none".into())
        );
        let hs = format!("{}.{}.AA", b64(r#"{"alg":"HS256","kid":"k"}"#), b64("{}"));
        assert_eq!(
            header(&hs).unwrap_err(),
            TokenError::Algorithm("HS256".into())
        );
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "a.b.c d",
            "a.b.c=",
            "....",
            &"a".repeat(9000),
        ] {
            assert!(header(bad).is_err(), "{bad:.20}");
        }
        let rs = format!("{}.{}.AA", b64(r#"{"alg":"RS256","kid":"k1"}"#), b64("{}"));
        let h = header(&rs).unwrap();
        assert_eq!((h.alg, h.kid.as_deref()), (Algorithm::RS256, Some("k1")));
    }
}
