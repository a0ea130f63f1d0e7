//! The key set of one issuer, shared by every authorizer (and every reload) that names the
//! same issuer, key set URL and trust: the current keys (swapped in whole by the refresher),
//! and the hand-off between requests and the refresher.
//!
//! Requests never fetch. A request that finds no key set yet (just started) or a `kid` the
//! set lacks (the issuer rotated) asks the refresher for a fetch now and waits for its outcome
//! up to a bound. Such forced fetches are rate-limited: at most one per
//! [`FORCED_MIN_INTERVAL`] while a key set is held, so tokens with made-up `kid`s cannot make
//! the gateway hammer the issuer; requests arriving while one is under way wait for it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use tokio::sync::{watch, Notify};

use super::keys::KeySet;
use crate::upstream::url::UpstreamUrl;

/// Least time between two fetches forced by requests while a key set is held.
pub const FORCED_MIN_INTERVAL: Duration = Duration::from_secs(10);

/// What identifies a key set source.
#[derive(Clone)]
pub struct JwksSpec {
    /// `jwt_configuration.issuer`, as written.
    pub issuer: String,
    /// `jwt_configuration.jwks_uri`; `None`: OIDC discovery from the issuer.
    pub jwks_uri: Option<UpstreamUrl>,
    /// The issuer as a URL (discovery is fetched from it).
    pub issuer_url: UpstreamUrl,
    /// Trust for the fetches (`ca_file`), and the SHA-256 of its certificates.
    pub ca: Option<crate::upstream::peer::TrustRoots>,
    /// Default time between fetches.
    pub refresh: Duration,
}

impl JwksSpec {
    fn same(&self, o: &JwksSpec) -> bool {
        self.issuer == o.issuer
            && self.jwks_uri == o.jwks_uri
            && self.ca.as_ref().map(|c| c.1) == o.ca.as_ref().map(|c| c.1)
            && self.refresh == o.refresh
    }
}

/// One issuer's keys.
pub struct JwksSource {
    pub spec: JwksSpec,
    keys: ArcSwapOption<KeySet>,
    /// Bumped after every fetch attempt, good or bad: what waiting requests watch.
    attempts: watch::Sender<u64>,
    /// A request asked for a fetch now.
    pub(super) wanted: Arc<Notify>,
    /// A forced fetch was asked for and has not finished.
    forced_pending: AtomicBool,
    /// When the last forced fetch was asked for (ms after `created`; `u64::MAX`: never).
    last_forced_ms: AtomicU64,
    created: Instant,
}

impl JwksSource {
    fn new(spec: JwksSpec) -> JwksSource {
        JwksSource {
            spec,
            keys: ArcSwapOption::empty(),
            attempts: watch::Sender::new(0),
            wanted: Arc::new(Notify::new()),
            forced_pending: AtomicBool::new(false),
            last_forced_ms: AtomicU64::new(u64::MAX),
            created: Instant::now(),
        }
    }

    /// The current keys; `None` until the first fetch succeeded.
    pub fn keys(&self) -> Option<Arc<KeySet>> {
        self.keys.load_full()
    }

    /// Asks the refresher to fetch now (unless that was asked less than
    /// [`FORCED_MIN_INTERVAL`] ago and keys are held) and waits up to `wait` for the attempt.
    /// Returns the keys held afterwards.
    pub async fn refresh_now(&self, wait: Duration) -> Option<Arc<KeySet>> {
        let mut rx = self.attempts.subscribe();
        rx.mark_unchanged();
        let held = self.keys();
        if !self.forced_pending.load(Ordering::Acquire) {
            let now = self.created.elapsed().as_millis() as u64;
            let last = self.last_forced_ms.load(Ordering::Relaxed);
            let recent = last != u64::MAX
                && now.saturating_sub(last) < FORCED_MIN_INTERVAL.as_millis() as u64;
            if recent && held.is_some() {
                return held;
            }
            // Only asks made while keys are held (an unknown `kid`) count against the rate
            // limit; waiting for the first keys does not.
            if held.is_some() {
                self.last_forced_ms.store(now, Ordering::Relaxed);
            }
            self.forced_pending.store(true, Ordering::Release);
            self.wanted.notify_one();
        }
        let _ = tokio::time::timeout(wait, rx.changed()).await;
        self.keys()
    }

    /// A request asked for a fetch that no attempt has answered yet.
    pub(super) fn fetch_wanted(&self) -> bool {
        self.forced_pending.load(Ordering::Acquire)
    }

    /// The refresher's outcome of one attempt: new keys, or `None` (failed; the last good
    /// keys stay).
    pub(super) fn attempted(&self, keys: Option<KeySet>) {
        if let Some(k) = keys {
            self.keys.store(Some(Arc::new(k)));
        }
        self.forced_pending.store(false, Ordering::Release);
        self.attempts.send_modify(|n| *n += 1);
    }
}

/// Interns sources so authorizers naming the same issuer (and the tables of later reloads)
/// share one key set and one refresher; hands new ones to the refresher.
#[derive(Default)]
pub struct JwksRegistry {
    sources: Mutex<Vec<Weak<JwksSource>>>,
    /// Sources the refresher has not started on yet.
    fresh: Mutex<Vec<Weak<JwksSource>>>,
    pub(super) wake: Notify,
}

impl JwksRegistry {
    pub fn new() -> Arc<JwksRegistry> {
        Arc::new(JwksRegistry::default())
    }

    /// The shared source for `spec`.
    pub fn get(&self, spec: JwksSpec) -> Arc<JwksSource> {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        sources.retain(|w| w.strong_count() > 0);
        if let Some(s) = sources
            .iter()
            .filter_map(Weak::upgrade)
            .find(|s| s.spec.same(&spec))
        {
            return s;
        }
        let s = Arc::new(JwksSource::new(spec));
        sources.push(Arc::downgrade(&s));
        self.fresh
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(&s));
        self.wake.notify_one();
        s
    }

    /// Sources created since the last call.
    pub(super) fn take_fresh(&self) -> Vec<Weak<JwksSource>> {
        std::mem::take(&mut *self.fresh.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(issuer: &str) -> JwksSpec {
        JwksSpec {
            issuer: issuer.into(),
            jwks_uri: None,
            issuer_url: UpstreamUrl::parse(issuer).unwrap(),
            ca: None,
            refresh: Duration::from_secs(3600),
        }
    }

    #[test]
    fn same_issuer_shares_one_source() {
        let r = JwksRegistry::new();
        let a = r.get(spec("https://a.example"));
        let b = r.get(spec("https://a.example"));
        let c = r.get(spec("https://c.example"));
        assert!(Arc::ptr_eq(&a, &b) && !Arc::ptr_eq(&a, &c));
        assert_eq!(r.take_fresh().len(), 2);
        assert!(r.take_fresh().is_empty());
    }

    #[tokio::test]
    async fn forced_fetches_are_rate_limited_once_keys_are_held() {
        let r = JwksRegistry::new();
        let s = r.get(spec("https://a.example"));
        // No keys: a request waits (here: times out, nothing fetches in this test).
        let t0 = Instant::now();
        assert!(s.refresh_now(Duration::from_millis(50)).await.is_none());
        assert!(t0.elapsed() >= Duration::from_millis(50));
        // The refresher answers: waiting ends at once.
        let s2 = s.clone();
        let waiter = tokio::spawn(async move { s2.refresh_now(Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (set, _) = KeySet::parse(br#"{"keys":[{"kty":"OKP","kid":"d1","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#).unwrap();
        s.attempted(Some(set));
        assert!(waiter.await.unwrap().is_some());
        // Keys held, an unknown `kid`: one forced fetch (here unanswered: the wait ends at
        // its bound), and the refresher reports it.
        let t0 = Instant::now();
        assert!(s.refresh_now(Duration::from_millis(50)).await.is_some());
        assert!(t0.elapsed() >= Duration::from_millis(50));
        assert!(s.fetch_wanted());
        s.attempted(None);
        assert!(!s.fetch_wanted());
        // Another unknown `kid` right after: no wait, no new ask.
        let t0 = Instant::now();
        assert!(s.refresh_now(Duration::from_secs(5)).await.is_some());
        assert!(t0.elapsed() < Duration::from_secs(1));
        assert!(!s.fetch_wanted());
    }
}
