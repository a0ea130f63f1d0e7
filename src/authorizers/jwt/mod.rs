//! JWT authorizers (API Gateway HTTP API's `JWT` type): the token from the identity source
//! (`Bearer ` prefix optional), verified against the issuer's keys (`verify`), its claims and
//! scopes handed on (`claims`).
//!
//! Verified tokens are cached by the SHA-256 of the token until their `exp` (plus the
//! leeway), bounded to [`CACHE_ENTRIES`] per authorizer: a client repeating its token costs
//! one hash and one lookup. Only successes are cached; what fails is checked again each time
//! (most bad tokens fail before any cryptography).

pub mod claims;
pub mod verify;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::jwks::JwksSource;
pub use claims::VerifiedToken;
use verify::{Expected, TokenError, LEEWAY_SECONDS};

/// Verified tokens kept per authorizer.
pub const CACHE_ENTRIES: u64 = 10_000;
/// Longest a request waits for a key set fetch it asked for (first keys, unknown `kid`).
pub const KEY_WAIT: Duration = Duration::from_secs(3);

/// One compiled JWT authorizer.
pub struct JwtAuthorizer {
    pub issuer: String,
    pub audience: Vec<String>,
    pub keys: Arc<JwksSource>,
    cache: moka::sync::Cache<[u8; 32], Arc<VerifiedToken>>,
}

impl std::fmt::Debug for JwtAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthorizer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// What checking a request's token found.
#[derive(Debug)]
pub enum JwtOutcome {
    Allowed {
        token: Arc<VerifiedToken>,
        cache_hit: bool,
    },
    /// 401: the token is refused.
    Invalid(TokenError),
    /// 503: no key set could be fetched yet.
    KeysUnavailable,
}

/// Cached until `exp` + leeway (the moment the token would be refused).
struct UntilExpiry;

impl moka::Expiry<[u8; 32], Arc<VerifiedToken>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Arc<VerifiedToken>,
        _created_at: Instant,
    ) -> Option<Duration> {
        let until = value.exp.saturating_add(LEEWAY_SECONDS);
        Some(Duration::from_secs(until.saturating_sub(unix_now())))
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The token in an identity value: `Bearer <token>` (scheme case-insensitive, RFC 7235) or
/// the bare token, as API Gateway accepts both.
pub fn bearer_token(value: &str) -> &str {
    let v = value.trim();
    match v.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim_start(),
        _ => v,
    }
}

impl JwtAuthorizer {
    pub fn new(issuer: String, audience: Vec<String>, keys: Arc<JwksSource>) -> JwtAuthorizer {
        JwtAuthorizer {
            issuer,
            audience,
            keys,
            cache: moka::sync::Cache::builder()
                .max_capacity(CACHE_ENTRIES)
                .expire_after(UntilExpiry)
                .build(),
        }
    }

    /// Checks `token` (the identity value without its `Bearer ` prefix).
    pub async fn check(&self, token: &str) -> JwtOutcome {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(t) = self.cache.get(&digest) {
            return JwtOutcome::Allowed {
                token: t,
                cache_hit: true,
            };
        }
        let header = match verify::header(token) {
            Ok(h) => h,
            Err(e) => return JwtOutcome::Invalid(e),
        };
        let mut keys = self.keys.keys();
        let known = |k: &Option<Arc<super::jwks::KeySet>>| {
            k.as_ref()
                .is_some_and(|set| header.kid.as_deref().is_none_or(|kid| set.has_kid(kid)))
        };
        if !known(&keys) {
            // No keys yet, or a `kid` the set lacks (rotated): the refresher fetches (rate
            // limited), the request waits for that fetch at most `KEY_WAIT`.
            keys = self.keys.refresh_now(KEY_WAIT).await;
        }
        let Some(keys) = keys else {
            return JwtOutcome::KeysUnavailable;
        };
        let expected = Expected {
            issuer: &self.issuer,
            audience: &self.audience,
        };
        match verify::verify(token, &header, &keys, &expected, unix_now()) {
            Ok(t) => {
                let t = Arc::new(t);
                self.cache.insert(digest, t.clone());
                JwtOutcome::Allowed {
                    token: t,
                    cache_hit: false,
                }
            }
            Err(e) => JwtOutcome::Invalid(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_prefix_is_optional() {
        assert_eq!(bearer_token("Bearer abc"), "abc");
        assert_eq!(bearer_token("bearer   abc"), "abc");
        assert_eq!(bearer_token("BEARER abc "), "abc");
        assert_eq!(bearer_token("abc"), "abc");
        assert_eq!(bearer_token("Basic abc"), "Basic abc");
    }
}
