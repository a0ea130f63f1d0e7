//! The rate limit headers on the answers of admitted requests, as Kong's and APISIX's rate
//! limiting plugins send them (API Gateway sends none): `RateLimit-Limit`,
//! `RateLimit-Remaining` and `RateLimit-Reset` (draft-ietf-httpapi-ratelimit-headers, the
//! same fields as the 429 of `answer`), of the limit closest to running out among those the
//! request passed (route, caller, plan, quota). A Pingora downstream module, so every answer of
//! the request carries them: AWS's (proxied, or an Invoke result) and the gateway's own errors
//! after the check (a 502 still counted against the limits). The upstream's fields of those
//! names are replaced: the client sees the gateway's limits. Routes turn them on with
//! `rate_limit_headers: true` (off by default, as API Gateway: three headers formatted and
//! inserted cost about 1 µs per answer, measured with load/bench.sh's pairs).

use std::time::Duration;

use async_trait::async_trait;
use pingora::http::ResponseHeader;
use pingora::modules::http::{HttpModule, HttpModuleBuilder, Module};
use pingora::prelude::*;
use pingora::proxy::Session;

/// Where a request stands against one limit it passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headroom {
    /// The bucket's size, or the quota.
    pub limit: u64,
    /// Requests the limit would still take now (an estimate for shared buckets).
    pub remaining: u64,
    /// Until the bucket is full again / the quota's period ends.
    pub reset: Duration,
}

impl Headroom {
    /// The tighter of two: the fewer remaining (then the later reset).
    pub fn tighter(a: Option<Headroom>, b: Headroom) -> Headroom {
        match a {
            Some(a)
                if (a.remaining, std::cmp::Reverse(a.reset))
                    <= (b.remaining, std::cmp::Reverse(b.reset)) =>
            {
                a
            }
            _ => b,
        }
    }
}

/// The module's per-request state: the headroom to announce, once the request passed.
#[derive(Default)]
pub struct RateLimitHeaders {
    armed: Option<Headroom>,
}

/// Builds [`RateLimitHeaders`] for each request (`ProxyHttp::init_downstream_modules`).
pub struct RateLimitHeadersBuilder;

impl HttpModuleBuilder for RateLimitHeadersBuilder {
    fn init(&self) -> Module {
        Box::new(RateLimitHeaders::default())
    }
}

/// Arms the module of this request: its answers carry `h`.
pub fn select(session: &mut Session, h: Headroom) {
    if let Some(m) = session.downstream_modules_ctx.get_mut::<RateLimitHeaders>() {
        m.armed = Some(h);
    }
}

/// Whole seconds, rounded up (0 when the limit is full).
fn seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Sets the three fields on `resp`.
pub fn apply(resp: &mut ResponseHeader, h: Headroom) -> Result<()> {
    resp.insert_header("ratelimit-limit", h.limit)?;
    resp.insert_header("ratelimit-remaining", h.remaining.min(h.limit))?;
    resp.insert_header("ratelimit-reset", seconds(h.reset))?;
    Ok(())
}

#[async_trait]
impl HttpModule for RateLimitHeaders {
    async fn response_header_filter(
        &mut self,
        resp: &mut ResponseHeader,
        _end_of_stream: bool,
    ) -> Result<()> {
        match self.armed {
            // 1xx (100 Continue) are not the answer.
            Some(h) if !resp.status.is_informational() => apply(resp, h),
            _ => Ok(()),
        }
    }

    crate::gateway::http_module_any!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tighter_limit_is_announced() {
        let a = Headroom {
            limit: 100,
            remaining: 40,
            reset: Duration::from_millis(600),
        };
        let b = Headroom {
            limit: 10,
            remaining: 3,
            reset: Duration::from_millis(700),
        };
        assert_eq!(Headroom::tighter(None, a), a);
        assert_eq!(Headroom::tighter(Some(a), b), b);
        assert_eq!(Headroom::tighter(Some(b), a), b);
        let mut resp = ResponseHeader::build(200, None).unwrap();
        resp.insert_header("RateLimit-Remaining", "999").unwrap();
        apply(&mut resp, b).unwrap();
        let h = |n: &str| resp.headers.get(n).unwrap().to_str().unwrap().to_string();
        assert_eq!(h("ratelimit-limit"), "10");
        assert_eq!(h("ratelimit-remaining"), "3");
        assert_eq!(h("ratelimit-reset"), "1");
        assert_eq!(
            resp.headers.get_all("ratelimit-remaining").iter().count(),
            1
        );
    }
}
