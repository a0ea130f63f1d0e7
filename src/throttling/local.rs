//! Per-process limits: `governor`'s GCRA (one atomic compare-and-swap per decision, exact under
//! concurrency), one limiter per route limit and one keyed limiter per per-caller limit.
//!
//! Limiters are interned in a process-wide [`LimiterRegistry`] by what they limit and their
//! rate and burst, so a SIGHUP reload that leaves a limit as it was keeps its state (a changed
//! limit starts full). Keyed limiters keep one cell per caller: the registry's sweeper
//! ([`LimiterSweep`], a background service) drops callers whose bucket is full again every
//! [`SWEEP_EVERY`], and a limiter that still holds [`MAX_KEYS`] callers (counted every
//! [`COUNT_EVERY`] decisions) sends new ones to one shared overflow bucket with the same limit
//! until it has room, so memory is bounded whatever callers send.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

/// Callers one keyed limiter tracks at most.
pub const MAX_KEYS: usize = 100_000;
/// How often idle callers are dropped.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

type Direct = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;
/// Callers are keyed by a 64-bit hash of who they are (`crate::throttling::CallerId`): no
/// allocation per request; two callers sharing a bucket needs a 64-bit collision.
type Keyed = RateLimiter<u64, DashMapStateStore<u64>, DefaultClock, StateInformationMiddleware>;

/// A rate (requests per second, may be below 1) and a burst (the bucket's size).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub rate: f64,
    pub burst: u32,
}

impl Limit {
    /// Checks the values as API Gateway does: a positive rate, a burst of at least 1.
    pub fn new(rate: f64, burst: u32) -> Result<Limit, String> {
        if !(rate.is_finite() && rate > 0.0 && rate <= 1e9) {
            return Err("rate_limit must be a number of requests per second above 0".into());
        }
        if burst == 0 {
            return Err("burst_limit must be at least 1".into());
        }
        Ok(Limit { rate, burst })
    }

    fn quota(self) -> Quota {
        let period = Duration::from_secs_f64(1.0 / self.rate).max(Duration::from_nanos(1));
        let burst = NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(burst)
    }

    /// The registry key of this limit.
    fn bits(self) -> (u64, u32) {
        (self.rate.to_bits(), self.burst)
    }
}

/// One decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    /// Requests the bucket would still take now.
    pub remaining: u32,
    /// Refused: until one more would be taken.
    pub wait: Duration,
}

enum State {
    Direct(Direct),
    Keyed {
        callers: Keyed,
        overflow: Direct,
        /// Decisions since the caller count was last looked at, and whether it was at the cap
        /// then: counting callers takes every shard's lock, so it is done once per
        /// [`COUNT_EVERY`] decisions, not per request.
        decisions: AtomicU32,
        full: AtomicBool,
    },
}

/// How often (in decisions) a keyed limiter counts its callers: at most this many new callers
/// get a bucket of their own past [`MAX_KEYS`].
pub const COUNT_EVERY: u32 = 64;

/// One per-process limiter.
pub struct LocalLimiter {
    pub limit: Limit,
    state: State,
}

impl std::fmt::Debug for LocalLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLimiter")
            .field("limit", &self.limit)
            .field("keys", &self.keys())
            .finish()
    }
}

fn direct(limit: Limit) -> Direct {
    RateLimiter::direct(limit.quota()).with_middleware::<StateInformationMiddleware>()
}

impl LocalLimiter {
    fn new(limit: Limit, keyed: bool) -> LocalLimiter {
        let state = if keyed {
            State::Keyed {
                callers: RateLimiter::dashmap(limit.quota())
                    .with_middleware::<StateInformationMiddleware>(),
                overflow: direct(limit),
                decisions: AtomicU32::new(0),
                full: AtomicBool::new(false),
            }
        } else {
            State::Direct(direct(limit))
        };
        LocalLimiter { limit, state }
    }

    /// Takes one request for caller `key` (ignored by a route-wide limiter).
    pub fn check(&self, key: u64) -> Decision {
        let outcome = match &self.state {
            State::Direct(d) => d.check(),
            State::Keyed {
                callers,
                overflow,
                decisions,
                full,
            } => {
                if decisions.fetch_add(1, Ordering::Relaxed) % COUNT_EVERY == 0 {
                    if callers.len() >= MAX_KEYS {
                        callers.retain_recent();
                    }
                    full.store(callers.len() >= MAX_KEYS, Ordering::Relaxed);
                }
                if full.load(Ordering::Relaxed) {
                    overflow.check()
                } else {
                    callers.check_key(&key)
                }
            }
        };
        match outcome {
            Ok(snapshot) => Decision {
                allowed: true,
                remaining: snapshot.remaining_burst_capacity(),
                wait: Duration::ZERO,
            },
            Err(not_until) => Decision {
                allowed: false,
                remaining: 0,
                wait: not_until.wait_time_from(DefaultClock::default().now()),
            },
        }
    }

    /// Callers tracked (0 for a route-wide limiter).
    pub fn keys(&self) -> usize {
        match &self.state {
            State::Direct(_) => 0,
            State::Keyed { callers, .. } => callers.len(),
        }
    }

    fn sweep(&self) {
        if let State::Keyed { callers, full, .. } = &self.state {
            callers.retain_recent();
            callers.shrink_to_fit();
            full.store(callers.len() >= MAX_KEYS, Ordering::Relaxed);
        }
    }
}

/// Interns limiters by what they limit (`route:orders`, `client:orders`, `plan:gold`) and
/// their limit, so reloads keep the state of unchanged limits.
/// What a registered limiter is: what it limits, its limit's bits, whether it is keyed.
type LimiterId = (String, (u64, u32), bool);

#[derive(Default)]
pub struct LimiterRegistry {
    entries: Mutex<HashMap<LimiterId, Weak<LocalLimiter>>>,
}

impl LimiterRegistry {
    pub fn new() -> Arc<LimiterRegistry> {
        Arc::new(LimiterRegistry::default())
    }

    /// The shared limiter `id` with `limit`; `keyed`: one bucket per caller.
    pub fn get(&self, id: &str, limit: Limit, keyed: bool) -> Arc<LocalLimiter> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, w| w.strong_count() > 0);
        let k = (id.to_string(), limit.bits(), keyed);
        if let Some(l) = entries.get(&k).and_then(Weak::upgrade) {
            return l;
        }
        let l = Arc::new(LocalLimiter::new(limit, keyed));
        entries.insert(k, Arc::downgrade(&l));
        l
    }

    fn live(&self) -> Vec<Arc<LocalLimiter>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.values().filter_map(Weak::upgrade).collect()
    }

    /// Drops idle callers of every keyed limiter; returns the callers still tracked.
    pub fn sweep(&self) -> usize {
        self.live()
            .iter()
            .map(|l| {
                l.sweep();
                l.keys()
            })
            .sum()
    }
}

/// The background service that sweeps idle callers: the per-process limiters' and the
/// throttling store's leases.
pub struct LimiterSweep {
    pub registry: Arc<LimiterRegistry>,
    pub stores: Arc<super::StoreCache>,
}

#[async_trait]
impl BackgroundService for LimiterSweep {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tick.tick() => {
                    let keys = self.registry.sweep() + self.stores.sweep();
                    crate::metrics::throttle_keys(keys);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let l = LocalLimiter::new(Limit::new(10.0, 3).unwrap(), false);
        let d: Vec<Decision> = (0..4).map(|_| l.check(0)).collect();
        assert!(d[..3].iter().all(|d| d.allowed));
        assert_eq!(d[0].remaining, 2);
        assert_eq!(d[2].remaining, 0);
        assert!(!d[3].allowed);
        assert!(d[3].wait > Duration::ZERO && d[3].wait <= Duration::from_millis(100));
        std::thread::sleep(Duration::from_millis(110));
        assert!(l.check(0).allowed);
    }

    #[test]
    fn callers_have_their_own_buckets() {
        let l = LocalLimiter::new(Limit::new(1.0, 1).unwrap(), true);
        assert!(l.check(1).allowed);
        assert!(!l.check(1).allowed);
        assert!(l.check(2).allowed);
        assert_eq!(l.keys(), 2);
    }

    #[test]
    fn exact_under_concurrency() {
        let l = Arc::new(LocalLimiter::new(Limit::new(0.001, 500).unwrap(), false));
        let allowed = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..200 {
                        if l.check(0).allowed {
                            allowed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(allowed.into_inner(), 500);
    }

    #[test]
    fn many_callers_stay_bounded() {
        let l = LocalLimiter::new(Limit::new(1000.0, 1).unwrap(), true);
        for i in 0..(MAX_KEYS + 5_000) {
            l.check(i as u64);
        }
        assert!(l.keys() <= MAX_KEYS + COUNT_EVERY as usize, "{}", l.keys());
        // Idle callers (full buckets again) are dropped by the sweep.
        std::thread::sleep(Duration::from_millis(5));
        l.sweep();
        assert_eq!(l.keys(), 0);
    }

    #[test]
    fn limits_are_checked_and_interned() {
        assert!(Limit::new(0.0, 1).is_err());
        assert!(Limit::new(f64::NAN, 1).is_err());
        assert!(Limit::new(1.0, 0).is_err());
        let r = LimiterRegistry::new();
        let a = r.get("route:x", Limit::new(5.0, 5).unwrap(), false);
        let b = r.get("route:x", Limit::new(5.0, 5).unwrap(), false);
        let c = r.get("route:x", Limit::new(5.0, 6).unwrap(), false);
        assert!(Arc::ptr_eq(&a, &b) && !Arc::ptr_eq(&a, &c));
    }
}
