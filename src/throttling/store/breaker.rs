//! The circuit breaker in front of Redis.
//!
//! Closed: every call goes to Redis. [`FAILURES_TO_OPEN`] consecutive failures (errors or
//! timeouts) open it for [`MIN_OPEN`]; while open every call fails at once. When the open time
//! has passed one call is let through as a probe (half-open; the others still fail at once):
//! its success closes the breaker, its failure opens it again for twice as long, up to
//! [`MAX_OPEN`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(crate) const FAILURES_TO_OPEN: u32 = 3;
pub(crate) const MIN_OPEN: Duration = Duration::from_secs(1);
pub(crate) const MAX_OPEN: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub(crate) struct Breaker {
    state: Mutex<State>,
    /// Mirror of `state.open_until.is_some()` for the lock-free metric read.
    open: AtomicBool,
}

#[derive(Debug)]
struct State {
    failures: u32,
    open_until: Option<Instant>,
    next_open: Duration,
    probing: bool,
}

/// The right to make one Redis call; report its outcome with [`Permit::done`]. Dropped without
/// an outcome (the caller's future was cancelled mid-call), it counts as a failure.
pub(crate) struct Permit<'a> {
    breaker: &'a Breaker,
    probe: bool,
    reported: bool,
}

impl Breaker {
    pub fn new() -> Breaker {
        Breaker {
            state: Mutex::new(State {
                failures: 0,
                open_until: None,
                next_open: MIN_OPEN,
                probing: false,
            }),
            open: AtomicBool::new(false),
        }
    }

    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }

    /// A permit, or `None` while the breaker is open (or half-open with a probe in flight).
    pub fn permit(&self) -> Option<Permit<'_>> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let probe = match s.open_until {
            None => false,
            Some(until) if Instant::now() < until || s.probing => return None,
            Some(_) => {
                s.probing = true;
                true
            }
        };
        Some(Permit {
            breaker: self,
            probe,
            reported: false,
        })
    }

    /// Records an outcome; true when this failure opened the breaker.
    fn record(&self, ok: bool, probe: bool) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let was_open = s.open_until.is_some();
        if ok {
            s.failures = 0;
            s.open_until = None;
            s.next_open = MIN_OPEN;
            s.probing = false;
        } else if probe {
            s.probing = false;
            s.open_until = Some(Instant::now() + s.next_open);
            s.next_open = (s.next_open * 2).min(MAX_OPEN);
        } else if s.open_until.is_none() {
            s.failures += 1;
            if s.failures >= FAILURES_TO_OPEN {
                s.open_until = Some(Instant::now() + s.next_open);
                s.next_open = (s.next_open * 2).min(MAX_OPEN);
            }
        }
        // Calls that were already in flight when it opened do not extend the open time.
        self.open.store(s.open_until.is_some(), Ordering::Relaxed);
        !ok && !was_open && s.open_until.is_some()
    }
}

impl Permit<'_> {
    /// Reports the call's outcome; true when this failure opened the breaker.
    pub fn done(mut self, ok: bool) -> bool {
        self.reported = true;
        self.breaker.record(ok, self.probe)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.reported {
            let _ = self.breaker.record(false, self.probe);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_probes() {
        let b = Breaker::new();
        b.permit().unwrap().done(false);
        b.permit().unwrap().done(true);
        for _ in 0..FAILURES_TO_OPEN - 1 {
            assert!(!b.permit().unwrap().done(false));
        }
        assert!(!b.is_open());
        assert!(b.permit().unwrap().done(false));
        assert!(b.is_open());
        assert!(b.permit().is_none());
        // Past the open time: one probe, the others still refused.
        b.state.lock().unwrap().open_until = Some(Instant::now());
        let probe = b.permit().unwrap();
        assert!(b.permit().is_none());
        drop(probe); // cancelled: a failure, open for twice as long
        let s = b.state.lock().unwrap();
        assert!(s.open_until.unwrap() > Instant::now() + MIN_OPEN + MIN_OPEN / 2);
        assert_eq!(s.next_open, MIN_OPEN * 4);
        drop(s);
        b.state.lock().unwrap().open_until = Some(Instant::now());
        b.permit().unwrap().done(true);
        assert!(!b.is_open());
        assert_eq!(b.state.lock().unwrap().next_open, MIN_OPEN);
    }
}
