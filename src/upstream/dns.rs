//! Upstream address resolution, kept off the request path, and the choice of an address per
//! connection.
//!
//! Pingora's `HttpPeer::new` with a host name does blocking DNS and panics on failure, so peers
//! are built from addresses resolved here: once at load time, then by a background service
//! every `dns.refresh_seconds`. A failed lookup keeps the last good addresses. Names listed in
//! `dns.hosts` are pinned to the configured addresses and never looked up.
//!
//! Each request picks one of the host's addresses round-robin ([`UpstreamHost::pick`]).
//! Pingora pools connections per address, so every address keeps its own idle connections and
//! reuse stays high at steady load while new connections are spread over all addresses. An
//! address whose connection could not be opened is marked down for [`DOWN_FOR`]: other requests
//! skip it meanwhile (unless every address is down), and the request that saw the failure
//! retries on another address.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use log::{info, warn};
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

/// How long an address that refused a connection (or failed its TLS handshake, or timed out)
/// is skipped by other requests.
pub const DOWN_FOR: Duration = Duration::from_secs(5);

/// The addresses of a host, with when each one may be used again (ms since [`EPOCH`]; 0: up).
#[derive(Debug, Default)]
struct AddrSet {
    addrs: Vec<SocketAddr>,
    down_until: Vec<AtomicU64>,
}

/// Base of the `down_until` times (a monotonic clock, no system call beyond `Instant::now`).
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

fn now_ms() -> u64 {
    EPOCH.elapsed().as_millis() as u64
}

/// The `start`-th (modulo their count) of the indices `0..n` that satisfy `pred`.
fn nth_where(n: usize, start: usize, pred: impl Fn(usize) -> bool) -> Option<usize> {
    let k = (0..n).filter(|&i| pred(i)).count();
    if k == 0 {
        return None;
    }
    (0..n).filter(|&i| pred(i)).nth(start % k)
}

/// One upstream `host:port` and its current addresses.
#[derive(Debug)]
pub struct UpstreamHost {
    pub host: String,
    pub port: u16,
    /// Addresses fixed by `dns.hosts`: never looked up.
    pinned: bool,
    addrs: ArcSwap<AddrSet>,
    /// Round-robin position.
    next: AtomicUsize,
}

impl UpstreamHost {
    fn new(host: &str, port: u16, pinned: bool) -> UpstreamHost {
        UpstreamHost {
            host: host.to_string(),
            port,
            pinned,
            addrs: ArcSwap::from_pointee(AddrSet::default()),
            next: AtomicUsize::new(0),
        }
    }

    /// A host with fixed addresses (tests, and `dns.hosts`).
    pub fn with_addrs(host: &str, port: u16, addrs: Vec<SocketAddr>) -> UpstreamHost {
        let h = UpstreamHost::new(host, port, true);
        h.store(addrs);
        h
    }

    /// The address for the next connection: round-robin over the addresses that are not in
    /// `avoid` (those that already failed for this request) and not marked down; failing that,
    /// one not in `avoid` even if marked down; failing that (everything failed), the next in
    /// turn. `None` only while the host has never resolved. No allocation, no lock.
    pub fn pick(&self, avoid: &[SocketAddr]) -> Option<SocketAddr> {
        let set = self.addrs.load();
        let n = set.addrs.len();
        match n {
            0 => return None,
            1 => return Some(set.addrs[0]),
            _ => {}
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = now_ms();
        let up = |i: usize| set.down_until[i].load(Ordering::Relaxed) <= now;
        let untried = |i: usize| !avoid.contains(&set.addrs[i]);
        // Round-robin among the eligible addresses themselves (not "the next one after a skipped
        // address", which would give the skipped one's share to its neighbour).
        let i = nth_where(n, start, |i| up(i) && untried(i))
            .or_else(|| nth_where(n, start, untried))
            .unwrap_or(start % n);
        Some(set.addrs[i])
    }

    /// Whether an address is left that is neither in `avoid` nor marked down: a retry can go
    /// there at once instead of waiting for the backoff.
    pub fn has_fresh(&self, avoid: &[SocketAddr]) -> bool {
        let set = self.addrs.load();
        let now = now_ms();
        set.addrs
            .iter()
            .zip(set.down_until.iter())
            .any(|(a, d)| d.load(Ordering::Relaxed) <= now && !avoid.contains(a))
    }

    /// A connection to `addr` could not be opened: other requests skip it for [`DOWN_FOR`].
    pub fn mark_down(&self, addr: SocketAddr) {
        let set = self.addrs.load();
        if set.addrs.len() < 2 {
            return; // nothing to prefer instead
        }
        if let Some(i) = set.addrs.iter().position(|a| *a == addr) {
            let now = now_ms();
            let was = set.down_until[i].swap(now + DOWN_FOR.as_millis() as u64, Ordering::Relaxed);
            if was <= now {
                warn!(
                    "upstream {}:{}: cannot connect to {addr}; using the other addresses for {}s",
                    self.host,
                    self.port,
                    DOWN_FOR.as_secs()
                );
            }
        }
    }

    /// The current addresses, sorted.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.addrs.load().addrs.clone()
    }

    fn is_literal(&self) -> bool {
        self.host.parse::<IpAddr>().is_ok()
    }

    fn store(&self, mut addrs: Vec<SocketAddr>) {
        addrs.sort();
        addrs.dedup();
        let old = self.addrs.load();
        if old.addrs != addrs {
            info!("dns: {}:{} -> {:?}", self.host, self.port, addrs);
            // Addresses that stay keep their down mark.
            let down_until = addrs
                .iter()
                .map(|a| {
                    let d = old.addrs.iter().position(|o| o == a);
                    AtomicU64::new(d.map_or(0, |i| old.down_until[i].load(Ordering::Relaxed)))
                })
                .collect();
            self.addrs.store(Arc::new(AddrSet { addrs, down_until }));
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
        self.get_entry(host, port, None)
    }

    /// Like [`Resolver::get`], with the addresses fixed to `ips` (`dns.hosts`) when given.
    pub fn get_pinned(&self, host: &str, port: u16, ips: Option<&[IpAddr]>) -> Arc<UpstreamHost> {
        self.get_entry(host, port, ips)
    }

    fn get_entry(&self, host: &str, port: u16, pinned: Option<&[IpAddr]>) -> Arc<UpstreamHost> {
        let pinned_addrs = pinned.map(|ips| {
            let mut a: Vec<SocketAddr> = ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect();
            a.sort();
            a.dedup();
            a
        });
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts.retain(|w| w.strong_count() > 0);
        if let Some(h) = hosts.iter().filter_map(Weak::upgrade).find(|h| {
            h.host == host
                && h.port == port
                && h.pinned == pinned_addrs.is_some()
                && pinned_addrs
                    .as_ref()
                    .is_none_or(|a| *a == h.addrs.load().addrs)
        }) {
            return h;
        }
        let entry = Arc::new(UpstreamHost::new(host, port, pinned_addrs.is_some()));
        if let Some(a) = pinned_addrs {
            entry.store(a);
        } else if let Ok(ip) = host.parse::<IpAddr>() {
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
            if h.is_literal() || h.pinned {
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
        assert_eq!(a.pick(&[]), Some("127.0.0.1:80".parse().unwrap()));
        let c = r.get("localhost", 81);
        assert!(c.pick(&[]).is_some());
        let bad = r.get("no-such-host.invalid", 80);
        assert_eq!(bad.pick(&[]), None);
    }

    #[tokio::test]
    async fn a_lookup_that_fails_later_keeps_the_last_good_address() {
        let r = Resolver::new();
        // A name that resolved once (at load) and no longer does (DNS down, record removed).
        let h = r.get("no-such-host.invalid", 443);
        let good: SocketAddr = "192.0.2.7:443".parse().unwrap();
        h.store(vec![good]);
        r.refresh_all().await;
        assert_eq!(h.pick(&[]), Some(good), "the last good address is kept");
        // A name that resolves is updated by the same refresh.
        let local = r.get("localhost", 8080);
        local.store(vec!["192.0.2.8:8080".parse().unwrap()]);
        r.refresh_all().await;
        assert!(local.pick(&[]).is_some_and(|a| a.ip().is_loopback()));
    }

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn new_connections_are_spread_round_robin() {
        let all = addrs(&["127.0.0.3:80", "127.0.0.2:80", "127.0.0.4:80"]);
        let h = UpstreamHost::with_addrs("up.test", 80, all);
        let mut seen = std::collections::HashMap::new();
        for _ in 0..300 {
            *seen.entry(h.pick(&[]).unwrap()).or_insert(0) += 1;
        }
        assert_eq!(seen.len(), 3, "every address is used: {seen:?}");
        assert!(seen.values().all(|&n| n == 100), "evenly: {seen:?}");
    }

    #[test]
    fn a_failed_address_is_avoided_by_the_request_and_skipped_by_others() {
        let all = addrs(&["127.0.0.2:80", "127.0.0.3:80", "127.0.0.4:80"]);
        let dead = all[0];
        let h = UpstreamHost::with_addrs("up.test", 80, all.clone());
        // The request that failed on `dead` never gets it again while others remain.
        for _ in 0..20 {
            assert_ne!(h.pick(&[dead]), Some(dead));
        }
        assert!(h.has_fresh(&[dead]));
        // Once marked down, other requests skip it too.
        h.mark_down(dead);
        let mut seen = std::collections::HashMap::new();
        for _ in 0..100 {
            *seen.entry(h.pick(&[]).unwrap()).or_insert(0) += 1;
        }
        assert_eq!(seen.get(&dead), None);
        assert_eq!(
            seen.get(&all[1]),
            Some(&50),
            "the others share evenly: {seen:?}"
        );
        assert!(!h.has_fresh(&[all[1], all[2]]));
        // Everything else failed for this request: the down address is still tried.
        assert_eq!(h.pick(&[all[1], all[2]]), Some(dead));
        // Every address failed: something is still returned (the retry budget decides).
        assert!(h.pick(&all).is_some());
        // All down: marks are ignored rather than failing the request.
        h.mark_down(all[1]);
        h.mark_down(all[2]);
        assert!(h.pick(&[]).is_some());
        // A refresh that keeps the address keeps its mark.
        h.store(all.clone());
        assert!(!h.has_fresh(&[]));
    }

    #[test]
    fn pinned_hosts_are_interned_by_their_addresses_and_never_looked_up() {
        let r = Resolver::new();
        let ips: Vec<IpAddr> = vec!["127.0.0.3".parse().unwrap(), "127.0.0.2".parse().unwrap()];
        let a = r.get_pinned("pinned.invalid", 443, Some(&ips));
        let b = r.get_pinned("pinned.invalid", 443, Some(&ips));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.addresses(), addrs(&["127.0.0.2:443", "127.0.0.3:443"]));
        let other = r.get_pinned("pinned.invalid", 443, Some(&ips[..1]));
        assert!(!Arc::ptr_eq(&a, &other), "other addresses, other entry");
        let looked_up = r.get("pinned.invalid", 443);
        assert!(!Arc::ptr_eq(&a, &looked_up));
        assert_eq!(looked_up.pick(&[]), None);
        futures_lite_block_on(r.refresh_all());
        assert_eq!(
            a.addresses().len(),
            2,
            "a refresh leaves pinned addresses alone"
        );
    }

    fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }
}
