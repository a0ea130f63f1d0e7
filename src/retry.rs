//! Retries where they are safe, with jittered exponential backoff inside the route's deadline.
//!
//! What is retried is fixed by safety, not by configuration (the `retries` section of a route
//! only sets how many attempts and how long to wait):
//!
//! * **the connection could not be opened** (refused, connect or TLS handshake failure or
//!   timeout): nothing of the request was sent, on both route kinds;
//! * **a throttled `Event` invocation** (Invoke API 429): Lambda rejected it before queueing it.
//!
//! Never retried: anything after the request started to go out on a new connection, and
//! synchronous invocations that may have reached Lambda (no duplicate side effects). A
//! throttled synchronous invoke is answered 429 with `Retry-After` at once, so a storm of
//! throttles is not amplified.
//!
//! The deadline is the route's `timeout`, counted from the first attempt: a retry is not started
//! when its delay would end past it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant, SystemTime};

/// A route's retry settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// Delay cap before the first retry; doubles per retry.
    pub base_delay: Duration,
    /// Largest delay cap.
    pub max_delay: Duration,
    /// No retry starts later than this after the first attempt (the route's `timeout`).
    pub deadline: Duration,
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1 = the first retry): half of
    /// `min(max_delay, base_delay · 2^(retry−1))` plus a random part up to the other half
    /// ("equal jitter": spread out, never near zero).
    pub fn delay(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(20);
        let cap = self.base_delay.saturating_mul(1 << exp).min(self.max_delay);
        let half = cap / 2;
        half + half.mul_f64(random_unit())
    }

    /// The delay before the next attempt, when `failed` attempts have failed (from `started`)
    /// and another one is allowed; `None` when the attempts or the deadline are used up.
    pub fn next_delay(&self, failed: u32, started: Instant) -> Option<Duration> {
        if failed >= self.attempts {
            return None;
        }
        let delay = self.delay(failed);
        (started.elapsed() + delay < self.deadline).then_some(delay)
    }
}

/// A uniform number in [0, 1) from std's randomly keyed hasher (no RNG crate needed for jitter).
pub fn random_unit() -> f64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(attempts: u32, deadline_ms: u64) -> RetryPolicy {
        RetryPolicy {
            attempts,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
            deadline: Duration::from_millis(deadline_ms),
        }
    }

    #[test]
    fn delays_double_with_jitter_and_are_capped() {
        let p = policy(10, 10_000);
        for _ in 0..200 {
            let d1 = p.delay(1);
            assert!(d1 >= Duration::from_millis(10) && d1 <= Duration::from_millis(20));
            let d2 = p.delay(2);
            assert!(d2 >= Duration::from_millis(20) && d2 <= Duration::from_millis(40));
            let d9 = p.delay(9);
            assert!(d9 >= Duration::from_millis(50) && d9 <= Duration::from_millis(100));
        }
        let spread: std::collections::HashSet<_> = (0..50).map(|_| p.delay(3)).collect();
        assert!(spread.len() > 10, "jitter spreads the delays");
    }

    #[test]
    fn attempts_and_deadline_bound_the_retries() {
        let now = Instant::now();
        let p = policy(3, 10_000);
        assert!(p.next_delay(1, now).is_some());
        assert!(p.next_delay(2, now).is_some());
        assert!(p.next_delay(3, now).is_none(), "three attempts in all");
        assert!(policy(1, 10_000).next_delay(1, now).is_none());
        // A delay that would end past the deadline is not taken.
        assert!(policy(5, 5).next_delay(1, now).is_none());
    }
}
