//! The answers of a throttled request: 429 Too Many Requests with `Retry-After` (RFC 9110
//! §10.2.3, whole seconds, at least 1) and the IETF RateLimit header fields
//! (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Limit` (the bucket's size, or the quota),
//! `RateLimit-Remaining` (0) and `RateLimit-Reset` (seconds until a request would pass); and
//! 503 when the fleet-wide store cannot answer and `on_failure` is `deny`.

use std::time::Duration;

use crate::gateway::{ErrorCode, GatewayError};

/// What a refusal says.
#[derive(Debug, Clone, Copy)]
pub struct Refusal {
    pub limit: u64,
    pub reset: Duration,
    pub retry_after: Duration,
}

/// Whole seconds, rounded up, at least 1.
fn seconds(d: Duration) -> u64 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    s.max(1)
}

/// 429 with its headers.
pub fn too_many(r: Refusal) -> GatewayError {
    GatewayError::new(429, ErrorCode::TooManyRequests, "Too Many Requests")
        .header("retry-after", seconds(r.retry_after).to_string())
        .header("ratelimit-limit", r.limit.to_string())
        .header("ratelimit-remaining", "0")
        .header("ratelimit-reset", seconds(r.reset).to_string())
        .keep_connection()
}

/// 503: the limits cannot be checked (`on_failure: deny`).
pub fn store_unavailable() -> GatewayError {
    GatewayError::new(
        503,
        ErrorCode::ThrottlingUnavailable,
        "the rate limits cannot be checked right now",
    )
    .header("retry-after", "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_whole_seconds() {
        let e = too_many(Refusal {
            limit: 20,
            reset: Duration::from_millis(1500),
            retry_after: Duration::from_millis(100),
        });
        assert_eq!(e.status, 429);
        let h = |n: &str| {
            e.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(h("retry-after").as_deref(), Some("1"));
        assert_eq!(h("ratelimit-limit").as_deref(), Some("20"));
        assert_eq!(h("ratelimit-remaining").as_deref(), Some("0"));
        assert_eq!(h("ratelimit-reset").as_deref(), Some("2"));
        assert!(e.keep_connection);
    }
}
