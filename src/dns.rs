//! Upstream address resolution, kept off the request path.
//!
//! Pingora's `HttpPeer::new` with a host name does blocking DNS and panics on failure, so peers
//! are built from addresses resolved here: once at load time, then by a background service
//! every `dns.refresh_seconds`. A failed lookup keeps the last good addresses.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use log::{info, warn};
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

/// One upstream `host:port` and its current addresses.
#[derive(Debug)]
pub struct UpstreamHost {
    pub host: String,
    pub port: u16,
    addrs: ArcSwap<Vec<SocketAddr>>,
}

impl UpstreamHost {
    /// The address to connect to now. Stable across calls while DNS answers the same set, so
    /// pooled connections (keyed by address) keep being reused.
    pub fn current(&self) -> Option<SocketAddr> {
        self.addrs.load().first().copied()
    }

    fn is_literal(&self) -> bool {
        self.host.parse::<IpAddr>().is_ok()
    }

    fn store(&self, mut addrs: Vec<SocketAddr>) {
        addrs.sort();
        addrs.dedup();
        if **self.addrs.load() != addrs {
            info!("dns: {}:{} -> {:?}", self.host, self.port, addrs);
            self.addrs.store(Arc::new(addrs));
        }
    }
}

/// Interns upstream hosts so routes naming the same host share one entry, and refreshes them.
#[derive(Default)]
pub struct Resolver {
    hosts: Mutex<Vec<Weak<UpstreamHost>>>,
}

impl Resolver {
    pub fn new() -> Arc<Resolver> {
        Arc::new(Resolver::default())
    }

    /// Returns the shared entry for `host:port`, resolving it now (blocking) if it is new.
    /// Called when a route table is built, never per request. A failed lookup is logged and
    /// leaves the entry empty; the background refresh retries it.
    pub fn get(&self, host: &str, port: u16) -> Arc<UpstreamHost> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts.retain(|w| w.strong_count() > 0);
        if let Some(h) = hosts
            .iter()
            .filter_map(Weak::upgrade)
            .find(|h| h.host == host && h.port == port)
        {
            return h;
        }
        let entry = Arc::new(UpstreamHost {
            host: host.to_string(),
            port,
            addrs: ArcSwap::from_pointee(Vec::new()),
        });
        if let Ok(ip) = host.parse::<IpAddr>() {
            entry.store(vec![SocketAddr::new(ip, port)]);
        } else {
            match (host, port).to_socket_addrs() {
                Ok(a) => entry.store(a.collect()),
                Err(e) => warn!("dns: cannot resolve {host}:{port} yet: {e}; will retry"),
            }
        }
        hosts.push(Arc::downgrade(&entry));
        entry
    }

    fn live_hosts(&self) -> Vec<Arc<UpstreamHost>> {
        let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts.iter().filter_map(Weak::upgrade).collect()
    }

    /// Re-resolves every live name once.
    pub async fn refresh_all(&self) {
        for h in self.live_hosts() {
            if h.is_literal() {
                continue;
            }
            match tokio::net::lookup_host((h.host.as_str(), h.port)).await {
                Ok(a) => {
                    let a: Vec<_> = a.collect();
                    if a.is_empty() {
                        warn!(
                            "dns: {}:{} resolved to nothing; keeping last good",
                            h.host, h.port
                        );
                    } else {
                        h.store(a);
                    }
                }
                Err(e) => warn!(
                    "dns: refresh of {}:{} failed: {e}; keeping last good",
                    h.host, h.port
                ),
            }
        }
    }
}

/// The background service that refreshes a [`Resolver`] periodically.
pub struct DnsRefresh {
    pub resolver: Arc<Resolver>,
    pub interval: Duration,
}

#[async_trait]
impl BackgroundService for DnsRefresh {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut tick = tokio::time::interval(self.interval);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tick.tick() => self.resolver.refresh_all().await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_interning() {
        let r = Resolver::new();
        let a = r.get("127.0.0.1", 80);
        let b = r.get("127.0.0.1", 80);
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.current(), Some("127.0.0.1:80".parse().unwrap()));
        let c = r.get("localhost", 81);
        assert!(c.current().is_some());
        let bad = r.get("no-such-host.invalid", 80);
        assert_eq!(bad.current(), None);
    }

    #[tokio::test]
    async fn a_lookup_that_fails_later_keeps_the_last_good_address() {
        let r = Resolver::new();
        // A name that resolved once (at load) and no longer does (DNS down, record removed).
        let h = r.get("no-such-host.invalid", 443);
        let good: SocketAddr = "192.0.2.7:443".parse().unwrap();
        h.store(vec![good]);
        r.refresh_all().await;
        assert_eq!(h.current(), Some(good), "the last good address is kept");
        // A name that resolves is updated by the same refresh.
        let local = r.get("localhost", 8080);
        local.store(vec!["192.0.2.8:8080".parse().unwrap()]);
        r.refresh_all().await;
        assert!(local.current().is_some_and(|a| a.ip().is_loopback()));
    }
}
