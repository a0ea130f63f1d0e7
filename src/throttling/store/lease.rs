//! Token leases: the part of a shared bucket this process holds, and the table of them.
//!
//! A [`KeyLease`] holds up to two grants of tokens taken from one shared bucket (the one in
//! use and the next one, fetched ahead), each usable until [`LEASE_TTL`] after its Redis call
//! was sent. Requests take tokens under a short `std` mutex, never across an await; refills run
//! as their own tasks (`RedisStore::refill`), one per key at a time, so a request whose client
//! goes away cannot strand the others waiting on that refill. A busy key is refilled ahead:
//! once half a batch is left of the grant in use and, at the pace it is used, it would run out
//! before it expires, the next
//! grant is fetched while requests go on using this one, so in steady state no request waits
//! for Redis. A request finding no token waits for the refill in flight ([`Notify`]).
//!
//! The [`LeaseTable`] maps a 64-bit key (the limit's and the caller's hashes) to its lease:
//! no string is built or hashed per request; the Redis key is made once, when the lease is.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use tokio::sync::Notify;

use super::{Admission, StoreError, LEASE_TTL, MAX_REFUSED_CACHE};

/// Tokens granted by one refill, usable until `expires`.
#[derive(Clone, Copy, Debug)]
struct Grant {
    /// Tokens left.
    tokens: u64,
    /// Tokens granted.
    granted: u64,
    /// When requests started using it (its refill's answer, or the end of the grant before).
    since: Instant,
    expires: Instant,
}

impl Grant {
    fn live(&self, now: Instant) -> bool {
        self.tokens > 0 && now < self.expires
    }

    /// Whether, at the pace it has been used so far, it runs out before it expires: the key
    /// is busy, and a next grant fetched now will be used.
    fn runs_out_first(&self, now: Instant) -> bool {
        let used = u128::from(self.granted - self.tokens);
        let elapsed = now.saturating_duration_since(self.since).as_nanos();
        let life = self.expires.saturating_duration_since(now).as_nanos();
        used > 0 && elapsed * u128::from(self.tokens) < used * life
    }
}

/// What a refill brought back from the shared bucket.
pub(super) struct Refill {
    pub granted: u64,
    /// Tokens left in the shared bucket (floor).
    pub left: u64,
    pub full_ms: u64,
    /// When the bucket holds a batch again (for a refused refill).
    pub retry_ms: u64,
}

/// The lease state of one bucket key.
#[derive(Default)]
pub(super) struct Lease {
    rate: f64,
    burst: u64,
    current: Option<Grant>,
    next: Option<Grant>,
    /// A refill task is running for this key; it is given up for lost (a task that never
    /// ended, e.g. its runtime went away) at this instant, and another may start.
    refilling: Option<Instant>,
    /// Completed refills, so a waiter can tell that the one it waited for is done.
    generation: u64,
    /// How the last refill failed (cleared by the next one that answers).
    failed: Option<StoreError>,
    refused_until: Option<Instant>,
    /// The shared bucket after the last refill.
    shared_remaining: u64,
    full_at: Option<Instant>,
    pub last_used: Option<Instant>,
}

/// What a request asks of a lease: its limit, the batch a refill asks for, and the store
/// timeout (a refill running longer than twice that is given up for lost).
#[derive(Clone, Copy, Debug)]
pub(super) struct Want {
    pub rate: f64,
    pub burst: u64,
    pub batch: u64,
    pub timeout: Duration,
}

/// What a request got from the lease.
pub(super) enum Take {
    /// Admitted from a grant, or refused by a remembered empty bucket.
    Answer(Admission),
    /// No token here: wait for the refill of this generation (the last refill failed with
    /// `failed` when there is one the waiter has not seen yet).
    Wait { generation: u64 },
}

impl Lease {
    /// Takes one token. `start_refill` is set when the caller must start a refill (the flag
    /// `refilling` is set for it): the lease is empty, or running low and used fast enough to run out before it expires
    /// (ahead).
    pub(super) fn take(&mut self, want: Want, now: Instant, start_refill: &mut bool) -> Take {
        let Want {
            rate, burst, batch, ..
        } = want;
        if self.refilling.is_some_and(|lost_at| now >= lost_at) {
            self.refilling = None;
        }
        let mut start = |l: &mut Lease| {
            l.refilling = Some(now + want.timeout * 2);
            *start_refill = true;
        };
        if self.rate != rate || self.burst != burst {
            // A new limit (a reload): the old grants were for another bucket size.
            *self = Lease {
                rate,
                burst,
                refilling: self.refilling,
                generation: self.generation,
                ..Lease::default()
            };
        }
        self.last_used = Some(now);
        if !self.current.is_some_and(|g| g.live(now)) {
            self.current = self
                .next
                .take()
                .filter(|g| g.live(now))
                .map(|g| Grant { since: now, ..g });
        }
        if let Some(g) = self.current.as_mut() {
            g.tokens -= 1;
            let g = *g;
            if self.refilling.is_none()
                && self.next.is_none()
                && g.tokens <= batch / 2
                && g.runs_out_first(now)
            {
                start(self);
            }
            return Take::Answer(self.admission(now, true, None));
        }
        if let Some(until) = self.refused_until.filter(|u| now < *u) {
            return Take::Answer(self.admission(now, false, Some(until - now)));
        }
        if self.refilling.is_none() {
            start(self);
        }
        Take::Wait {
            generation: self.generation,
        }
    }

    /// Whether no refill ended since `generation`.
    pub(super) fn generation_is(&self, generation: u64) -> bool {
        self.generation == generation
    }

    /// Whether the refill a waiter saw in flight (`generation`) is over and failed.
    pub(super) fn failed_since(&self, generation: u64) -> Option<StoreError> {
        if self.generation != generation {
            self.failed.clone()
        } else {
            None
        }
    }

    /// Applies a refill started at `sent` for `rate` and `burst`; ends the refill.
    pub(super) fn finish(
        &mut self,
        rate: f64,
        burst: u64,
        sent: Instant,
        r: Result<Refill, StoreError>,
    ) {
        self.refilling = None;
        self.generation += 1;
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                self.failed = Some(e);
                return;
            }
        };
        self.failed = None;
        if self.rate != rate || self.burst != burst {
            return; // for a limit that changed meanwhile: its tokens are dropped
        }
        self.shared_remaining = r.left;
        self.full_at = sent.checked_add(Duration::from_millis(r.full_ms));
        if r.granted == 0 {
            let until = sent + Duration::from_millis(r.retry_ms.max(1)).min(MAX_REFUSED_CACHE);
            self.refused_until = Some(until);
            return;
        }
        self.refused_until = None;
        let now = Instant::now();
        let g = Grant {
            tokens: r.granted,
            granted: r.granted,
            since: now,
            expires: sent + LEASE_TTL,
        };
        if self.current.is_some_and(|c| c.live(now)) {
            self.next = Some(g);
        } else {
            self.current = Some(g);
        }
    }

    fn admission(&self, now: Instant, allowed: bool, retry: Option<Duration>) -> Admission {
        let leased: u64 = [self.current, self.next]
            .iter()
            .flatten()
            .filter(|g| g.live(now))
            .map(|g| g.tokens)
            .sum();
        Admission {
            allowed,
            limit: self.burst,
            remaining: (self.shared_remaining + leased).min(self.burst),
            reset: self
                .full_at
                .map(|f| f.saturating_duration_since(now))
                .unwrap_or(Duration::ZERO),
            retry_after: retry.map(|r| r.max(Duration::from_millis(1))),
        }
    }
}

/// One bucket key's lease, its Redis key and the wake-up of its waiters.
pub(super) struct KeyLease {
    pub redis_key: String,
    state: Mutex<Lease>,
    pub refilled: Notify,
}

impl KeyLease {
    pub(super) fn lock(&self) -> MutexGuard<'_, Lease> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The leases of this process by key; bounded, idle keys swept.
pub(super) struct LeaseTable {
    map: DashMap<u64, Arc<KeyLease>>,
    max: usize,
}

impl LeaseTable {
    pub(super) fn new(max: usize) -> LeaseTable {
        LeaseTable {
            map: DashMap::new(),
            max,
        }
    }

    /// The lease of `key`, made with the Redis key `redis_key()` on first use; `None` when the
    /// table is full (the caller goes to Redis without a lease).
    pub(super) fn get(
        &self,
        key: u64,
        redis_key: impl FnOnce() -> String,
    ) -> Option<Arc<KeyLease>> {
        if let Some(l) = self.map.get(&key) {
            return Some(l.clone());
        }
        if self.map.len() >= self.max {
            return None;
        }
        let l = self.map.entry(key).or_insert_with(|| {
            Arc::new(KeyLease {
                redis_key: redis_key(),
                state: Mutex::new(Lease::default()),
                refilled: Notify::new(),
            })
        });
        Some(l.clone())
    }

    /// Drops leases unused for `idle` with no refill in flight; returns the leases kept.
    pub(super) fn sweep(&self, idle: Duration) -> usize {
        let now = Instant::now();
        self.map.retain(|_, l| {
            let s = l.lock();
            s.refilling.is_some()
                || s.last_used
                    .is_some_and(|t| now.saturating_duration_since(t) < idle)
        });
        self.map.shrink_to_fit();
        self.map.len()
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(rate: f64, burst: u64, batch: u64) -> Want {
        Want {
            rate,
            burst,
            batch,
            timeout: Duration::from_millis(10),
        }
    }

    fn refill(granted: u64) -> Result<Refill, StoreError> {
        Ok(Refill {
            granted,
            left: 0,
            full_ms: 1000,
            retry_ms: 50,
        })
    }

    /// A lease of rate 400/s, burst 100 with a grant of 20 tokens, one of them taken.
    fn leased_and_one_taken() -> (Lease, Instant) {
        let mut l = Lease::default();
        let t0 = Instant::now();
        l.take(w(400.0, 100, 20), t0, &mut false);
        l.finish(400.0, 100, t0, refill(20));
        l.take(w(400.0, 100, 20), t0, &mut false);
        (l, t0)
    }

    #[test]
    fn empty_lease_asks_for_one_refill_then_serves_and_refills_ahead() {
        let mut l = Lease::default();
        let t0 = Instant::now();
        let mut start = false;
        assert!(matches!(
            l.take(w(400.0, 100, 20), t0, &mut start),
            Take::Wait { generation: 0 }
        ));
        assert!(start);
        // A second request while the refill runs waits, starts nothing.
        let mut again = false;
        assert!(matches!(
            l.take(w(400.0, 100, 20), t0, &mut again),
            Take::Wait { .. }
        ));
        assert!(!again);
        l.finish(400.0, 100, t0, refill(20));
        let mut ahead = 0;
        for i in 0..20 {
            let mut s = false;
            let Take::Answer(a) = l.take(w(400.0, 100, 20), t0, &mut s) else {
                panic!("request {i} waited");
            };
            assert!(a.allowed);
            if s {
                ahead += 1;
                assert_eq!(i, 9, "refilled ahead at half a batch");
            }
        }
        assert_eq!(ahead, 1);
        // The refill ahead lands while the first grant is empty: used next, no wait.
        l.finish(400.0, 100, t0, refill(20));
        let mut s = false;
        assert!(matches!(l.take(w(400.0, 100, 20), t0, &mut s), Take::Answer(a) if a.allowed));
    }

    #[test]
    fn grants_expire_and_old_leases_are_not_refilled_ahead() {
        let (mut l, t0) = leased_and_one_taken();
        // Used slowly: at this pace it expires before it runs out, so no refill ahead (those
        // tokens would go unused).
        let late = t0 + LEASE_TTL * 3 / 4;
        for _ in 0..10 {
            let mut s = false;
            assert!(matches!(
                l.take(w(400.0, 100, 20), late, &mut s),
                Take::Answer(_)
            ));
            assert!(!s);
        }
        // Expired: the 9 tokens left are gone.
        let mut s = false;
        assert!(matches!(
            l.take(w(400.0, 100, 20), t0 + LEASE_TTL, &mut s),
            Take::Wait { .. }
        ));
        assert!(s);
    }

    #[test]
    fn refused_and_failed_refills() {
        let mut l = Lease::default();
        let t0 = Instant::now();
        let mut s = false;
        l.take(w(10.0, 5, 1), t0, &mut s);
        l.finish(10.0, 5, t0, refill(0));
        let mut s = false;
        let Take::Answer(a) = l.take(w(10.0, 5, 1), t0, &mut s) else {
            panic!("a remembered refusal is answered here");
        };
        assert!(!a.allowed && a.retry_after.unwrap() <= Duration::from_millis(50));
        assert!(!s);
        // After the refusal's time: a refill again; it fails; the waiter learns it.
        let later = t0 + Duration::from_millis(60);
        let mut s = false;
        let Take::Wait { generation } = l.take(w(10.0, 5, 1), later, &mut s) else {
            panic!("expected a wait");
        };
        assert!(s && l.failed_since(generation).is_none());
        l.finish(10.0, 5, later, Err(StoreError::Timeout));
        assert_eq!(l.failed_since(generation), Some(StoreError::Timeout));
    }

    #[test]
    fn a_refill_that_never_ends_is_given_up() {
        let mut l = Lease::default();
        let t0 = Instant::now();
        let mut s = false;
        l.take(w(400.0, 100, 20), t0, &mut s);
        assert!(s);
        let mut s = false;
        l.take(w(400.0, 100, 20), t0 + Duration::from_millis(19), &mut s);
        assert!(!s, "still in flight within twice the timeout");
        l.take(w(400.0, 100, 20), t0 + Duration::from_millis(20), &mut s);
        assert!(s, "lost: another refill starts");
    }

    #[test]
    fn a_new_limit_drops_the_grants() {
        let (mut l, t0) = leased_and_one_taken();
        let mut s = false;
        assert!(matches!(
            l.take(w(400.0, 99, 20), t0, &mut s),
            Take::Wait { .. }
        ));
        // A refill for the old limit that lands now brings nothing.
        l.finish(400.0, 100, t0, refill(20));
        let mut s = false;
        assert!(matches!(
            l.take(w(400.0, 99, 20), t0, &mut s),
            Take::Wait { .. }
        ));
    }

    #[test]
    fn table_is_bounded_and_swept() {
        let t = LeaseTable::new(3);
        for k in 0..3 {
            let l = t.get(k, || format!("k{k}")).unwrap();
            l.lock().last_used = Some(Instant::now());
        }
        assert!(t.get(9, || "k9".into()).is_none(), "full");
        assert_eq!(t.get(1, || unreachable!()).unwrap().redis_key, "k1");
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(t.sweep(Duration::from_millis(1)), 0);
        assert!(t.get(9, || "k9".into()).is_some());
    }
}
