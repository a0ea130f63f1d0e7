//! A signer's SigV4 signing key, derived once per (date, secret key) instead of per request.
//!
//! The key (`kSigning`: four chained HMAC-SHA256 of the secret over the date, the region, the
//! service and `aws4_request`) depends only on those, and the region and service are fixed per
//! signer. aws-sigv4 derives it on every signature; here [`SigningKeyCache`] keeps the last
//! one, derived by aws-sigv4's own `generate_signing_key`, and derives again when the date of
//! the signing time or the secret key (credentials rotate) differ from the cached ones.
//!
//! Lock-free: readers load the entry through `arc-swap`; a miss derives outside any lock and
//! swaps the new entry in (two threads missing at once both derive; the last store wins).
//! The key and the copy of the secret it is compared with are secret: zeroed when the entry is
//! dropped, and never printed (the `Debug` output shows only the number of derivations).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwapOption;
use aws_sigv4::sign::v4;
use zeroize::Zeroizing;

use super::amz_date::AmzDate;

/// The signing key for one date and secret key.
struct CachedKey {
    date: [u8; 8],
    secret: Zeroizing<String>,
    key: Zeroizing<[u8; 32]>,
}

/// The last signing key a signer used (see the module doc).
pub(super) struct SigningKeyCache {
    current: ArcSwapOption<CachedKey>,
    derivations: AtomicU64,
}

impl SigningKeyCache {
    pub(super) fn new() -> Self {
        Self {
            current: ArcSwapOption::empty(),
            derivations: AtomicU64::new(0),
        }
    }

    /// Calls `f` with the signing key for `secret` on the date of `time` (`date` is `time`
    /// formatted), for `region` and `service`, deriving it if the cached one does not fit.
    pub(super) fn with_key<R>(
        &self,
        secret: &str,
        time: SystemTime,
        date: &AmzDate,
        region: &str,
        service: &str,
        f: impl FnOnce(&[u8]) -> R,
    ) -> R {
        let date_bytes: [u8; 8] = date.date().as_bytes().try_into().expect("YYYYMMDD");
        {
            let current = self.current.load();
            if let Some(c) = current.as_deref() {
                if c.date == date_bytes && c.secret.as_bytes() == secret.as_bytes() {
                    return f(&c.key[..]);
                }
            }
        }
        let derived = v4::generate_signing_key(secret, time, region, service);
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(derived.as_ref());
        let entry = Arc::new(CachedKey {
            date: date_bytes,
            secret: Zeroizing::new(secret.to_owned()),
            key,
        });
        self.derivations.fetch_add(1, Ordering::Relaxed);
        let out = f(&entry.key[..]);
        self.current.store(Some(entry));
        out
    }

    /// How many keys were derived so far (a miss each).
    #[cfg(test)]
    pub(super) fn derivations(&self) -> u64 {
        self.derivations.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("derivations", &self.derivations.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}
