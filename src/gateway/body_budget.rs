//! The process-wide budget for request bodies the gateway holds in memory.
//!
//! Signed `function_uri` routes read the whole body before signing, and `function_name` routes
//! read it to build the event, each up to its route's limit (10 MB / 6 MB by default). Without a
//! global bound, 1,000 clients each sending a 10 MB body would make the gateway hold 10 GB.
//! `limits.buffered_body_bytes` bounds the sum over all requests: a request reserves its bytes
//! before it reads them (all of `Content-Length` up front, else chunk by chunk) and gives them
//! back when it ends, whatever way it ends (the reservation is dropped with the request
//! context). A request that does not fit is answered 503 with `Retry-After` and its body is
//! not read (`crate::gateway::respond::budget_exhausted`).
//!
//! One atomic counter, updated with a compare-and-swap only when a reservation grows: no lock,
//! no allocation.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes reserved by all requests now.
static HELD: AtomicU64 = AtomicU64::new(0);

/// Bytes of request bodies held (reserved) by all requests now.
pub fn held() -> u64 {
    HELD.load(Ordering::Relaxed)
}

/// Why a reservation could not grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Other requests hold too much now: worth retrying shortly (503 + `Retry-After`).
    Busy,
    /// This one body is larger than the whole budget: it can never be served (413).
    LargerThanBudget,
}

/// The bytes one request holds against the budget; released when dropped.
#[derive(Debug)]
pub struct BodyReservation {
    held: u64,
    limit: u64,
}

impl BodyReservation {
    /// An empty reservation against a budget of `limit` bytes (the configured
    /// `limits.buffered_body_bytes` at the time the request arrived).
    pub fn new(limit: u64) -> BodyReservation {
        BodyReservation { held: 0, limit }
    }

    /// Grows the reservation to cover `total` bytes of this request (never shrinks it). On
    /// refusal nothing more is reserved; what was held stays held until the drop.
    pub fn cover(&mut self, total: u64) -> Result<(), Refused> {
        if total <= self.held {
            return Ok(());
        }
        if total > self.limit {
            return Err(Refused::LargerThanBudget);
        }
        let more = total - self.held;
        let limit = self.limit;
        HELD.fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| {
            h.checked_add(more).filter(|n| *n <= limit)
        })
        .map_err(|_| Refused::Busy)?;
        self.held = total;
        crate::metrics::buffered_body_bytes(more as i64);
        Ok(())
    }

    /// Bytes this request holds.
    pub fn held(&self) -> u64 {
        self.held
    }
}

impl Drop for BodyReservation {
    fn drop(&mut self) {
        if self.held > 0 {
            HELD.fetch_sub(self.held, Ordering::AcqRel);
            crate::metrics::buffered_body_bytes(-(self.held as i64));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The only unit test that touches the process-wide counter (tests run in parallel).
    #[test]
    fn reservations_share_one_budget_and_are_released_when_dropped() {
        let base = held();
        let mut a = BodyReservation::new(base + 1000);
        assert_eq!(a.cover(600), Ok(()));
        assert_eq!(a.cover(500), Ok(()), "never shrinks");
        assert_eq!(a.held(), 600);
        let mut b = BodyReservation::new(base + 1000);
        assert_eq!(b.cover(300), Ok(()));
        assert_eq!(b.cover(500), Err(Refused::Busy), "600 + 500 > 1000");
        assert_eq!(b.held(), 300, "a refused growth reserves nothing more");
        assert_eq!(held(), base + 900);
        assert_eq!(
            BodyReservation::new(1000).cover(1001),
            Err(Refused::LargerThanBudget)
        );
        drop(a);
        assert_eq!(b.cover(1000), Ok(()), "released bytes are available again");
        drop(b);
        assert_eq!(held(), base);
    }
}
