//! A JSON Web Key Set (RFC 7517) as the verifier uses it: the issuer's public signing keys,
//! each with the algorithms it may verify. Built once per fetch, never per request.
//!
//! What is kept: RSA keys (RS256/384/512, PS256/384/512), EC keys on P-256 (ES256) and P-384
//! (ES384), Ed25519 keys (EdDSA); a key's own `alg` narrows that to one. What is skipped (and
//! said in the fetch's log line): symmetric (`oct`) keys, whose HMAC algorithms would let anyone
//! who read the public set mint tokens; keys for encryption (`use: enc`); curves `ring` cannot
//! verify (P-521, X25519); keys that do not parse.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

const RSA_ALGS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// Most keys a set may hold: issuers publish a handful (current, next, previous).
pub const MAX_KEYS: usize = 100;

/// One verification key.
pub struct VerifyKey {
    pub kid: Option<String>,
    /// The algorithms this key may verify (never an HMAC one).
    pub algorithms: Vec<Algorithm>,
    pub key: DecodingKey,
}

/// The usable keys of one fetched set.
#[derive(Default)]
pub struct KeySet {
    keys: Vec<VerifyKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<_> = self.keys.iter().map(|k| k.kid.as_deref()).collect();
        f.debug_struct("KeySet").field("kids", &kids).finish()
    }
}

impl KeySet {
    /// Reads a JWKS document. `Err` when it is not one (not JSON, no `keys` array, no usable
    /// key); the `Vec` says which keys were skipped and why.
    pub fn parse(json: &[u8]) -> Result<(KeySet, Vec<String>), String> {
        let doc: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| format!("not JSON: {e}"))?;
        let Some(entries) = doc.get("keys").and_then(|k| k.as_array()) else {
            return Err("no `keys` array".into());
        };
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            if keys.len() == MAX_KEYS {
                skipped.push(format!("keys after the first {MAX_KEYS}"));
                break;
            }
            match usable(entry) {
                Ok(k) => keys.push(k),
                Err(why) => {
                    let kid = entry.get("kid").and_then(|k| k.as_str()).unwrap_or("");
                    skipped.push(format!("keys[{i}] (kid `{}`): {why}", kid.escape_debug()));
                }
            }
        }
        if keys.is_empty() {
            return Err(format!(
                "no usable signing key ({})",
                if skipped.is_empty() {
                    "the set is empty".to_string()
                } else {
                    skipped.join("; ")
                }
            ));
        }
        Ok((KeySet { keys }, skipped))
    }

    /// The keys a token with this `kid` and `alg` may be verified with: the one with that
    /// `kid`; without a `kid`, every key that verifies `alg`.
    pub fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'a VerifyKey> + 'a {
        self.keys.iter().filter(move |k| {
            (kid.is_none() || k.kid.as_deref() == kid) && k.algorithms.contains(&alg)
        })
    }

    /// Whether a key with this `kid` is in the set (for any algorithm).
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn usable(entry: &serde_json::Value) -> Result<VerifyKey, String> {
    let kty = entry.get("kty").and_then(|k| k.as_str()).unwrap_or("");
    if kty == "oct" {
        return Err("a symmetric key is never used to verify tokens".into());
    }
    let jwk: Jwk = serde_json::from_value(entry.clone()).map_err(|e| format!("not a JWK: {e}"))?;
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption) | Some(PublicKeyUse::Other(_))
    ) {
        return Err("not a signing key (`use`)".into());
    }
    let family: Vec<Algorithm> = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => RSA_ALGS.to_vec(),
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            ref c => return Err(format!("curve {c:?} is not supported")),
        },
        AlgorithmParameters::OctetKeyPair(p) => match p.curve {
            EllipticCurve::Ed25519 => vec![Algorithm::EdDSA],
            ref c => return Err(format!("curve {c:?} is not a signing curve")),
        },
        AlgorithmParameters::OctetKey(_) => {
            return Err("a symmetric key is never used to verify tokens".into())
        }
    };
    let algorithms = match jwk.common.key_algorithm {
        None => family,
        Some(ka) => {
            let alg = signing_alg(ka)
                .ok_or_else(|| format!("`alg` {ka:?} is not a signature algorithm"))?;
            if !family.contains(&alg) {
                return Err(format!("`alg` {alg:?} does not fit the key type"));
            }
            vec![alg]
        }
    };
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| format!("unreadable key: {e}"))?;
    Ok(VerifyKey {
        kid: jwk.common.key_id,
        algorithms,
        key,
    })
}

/// A JWK `alg` that is an asymmetric signature algorithm.
fn signing_alg(ka: KeyAlgorithm) -> Option<Algorithm> {
    Some(match ka {
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA: &str = r#"{"kty":"RSA","kid":"r1","use":"sig","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"}"#;
    const EC: &str = r#"{"kty":"EC","kid":"e1","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRjmLBLTs7Fy2ZZ8ltJ_ORW6UgQ5DlNVvXp1BUM"}"#;
    const ED: &str = r#"{"kty":"OKP","kid":"d1","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

    fn set(keys: &[&str]) -> String {
        format!("{{\"keys\":[{}]}}", keys.join(","))
    }

    #[test]
    fn asymmetric_keys_with_their_algorithms() {
        let (s, skipped) = KeySet::parse(set(&[RSA, EC, ED]).as_bytes()).unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(s.len(), 3);
        assert_eq!(s.candidates(Some("r1"), Algorithm::PS256).count(), 1);
        assert_eq!(s.candidates(Some("r1"), Algorithm::ES256).count(), 0);
        assert_eq!(s.candidates(Some("e1"), Algorithm::ES256).count(), 1);
        assert_eq!(s.candidates(Some("e1"), Algorithm::ES384).count(), 0);
        assert_eq!(s.candidates(Some("d1"), Algorithm::EdDSA).count(), 1);
        assert_eq!(s.candidates(None, Algorithm::RS256).count(), 1);
        assert_eq!(s.candidates(Some("nope"), Algorithm::RS256).count(), 0);
        // HMAC never has a key.
        assert_eq!(s.candidates(None, Algorithm::HS256).count(), 0);
        assert!(s.has_kid("e1") && !s.has_kid("x"));
    }

    #[test]
    fn symmetric_encryption_and_odd_keys_are_skipped() {
        let oct = r#"{"kty":"oct","kid":"h","k":"c2VjcmV0"}"#;
        let enc = RSA.replace("\"sig\"", "\"enc\"").replace("r1", "r2");
        let p521 = r#"{"kty":"EC","kid":"p5","crv":"P-521","x":"AQ","y":"AQ"}"#;
        let pinned = RSA.replace("\"use\":\"sig\"", "\"alg\":\"RS384\"");
        let wrong_alg = EC.replace("\"crv\"", "\"alg\":\"RS256\",\"crv\"");
        let (s, skipped) =
            KeySet::parse(set(&[oct, &enc, p521, &pinned, &wrong_alg]).as_bytes()).unwrap();
        assert_eq!(s.len(), 1, "{skipped:?}");
        assert_eq!(skipped.len(), 4, "{skipped:?}");
        assert!(skipped[0].contains("symmetric"), "{skipped:?}");
        assert_eq!(s.candidates(Some("r1"), Algorithm::RS256).count(), 0);
        assert_eq!(s.candidates(Some("r1"), Algorithm::RS384).count(), 1);
    }

    #[test]
    fn documents_that_are_not_key_sets() {
        for bad in [
            "",
            "[]",
            "{}",
            "{\"keys\":{}}",
            "{\"keys\":[]}",
            "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AA\"}]}",
        ] {
            assert!(KeySet::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
