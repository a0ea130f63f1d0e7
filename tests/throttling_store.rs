//! The fleet-wide throttling store (`lambda_proxy::throttling::store`) against real
//! `redis-server` processes, each started by the test on a free 127.0.0.1 port and killed by
//! PID when dropped: shared buckets across three stores (= three gateways) within the
//! documented bound, single-flight refills, quota rollover and restarts, Redis killed and
//! restarted, a Redis that stops answering, and a Redis Cluster of three nodes; TLS with a
//! self-signed certificate and with a private CA made by openssl (`tls.ca_file`, a client
//! certificate for `tls-auth-clients yes`, standalone and cluster, the CA replacing the system
//! store), `requirepass`, and the narrowest ACL user (standalone and cluster).
//!
//! Without `redis-server` on PATH each test prints a line and passes, unless `REQUIRE_REDIS` is
//! set (scripts/test.sh sets it; scripts/setup.sh installs redis-server).

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_proxy::throttling::store::{
    Admission, PemFile, Period, RedisStore, StoreError, StoreSettings, StoreTls, LEASE_TTL,
};

mod redis_server;
use redis_server::{free_port, raw, redis_installed, RedisServer};

fn settings(urls: Vec<String>, cluster: bool, timeout_ms: u64) -> StoreSettings {
    StoreSettings {
        urls,
        cluster,
        timeout: Duration::from_millis(timeout_ms),
        key_prefix: "lp:".into(),
        tls: None,
    }
}

fn store(r: &RedisServer, timeout_ms: u64) -> Arc<RedisStore> {
    RedisStore::new(settings(vec![r.url()], false, timeout_ms)).unwrap()
}

/// 2026-03-10 (a Tuesday) plus `secs`, UTC.
fn day(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(20_522 * 86_400 + secs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bucket_burst_then_refill() {
    if !redis_installed() {
        return;
    }
    let r = RedisServer::start(&[]);
    let s = store(&r, 500);
    // rate 10/s, burst 5: leases of 1 token; five at once, then refused until ~100 ms.
    for i in 0..5 {
        let a = s.acquire("burst", 10.0, 5).await.unwrap();
        assert!(a.allowed, "request {i}: {a:?}");
        assert_eq!(a.limit, 5);
    }
    let a = s.acquire("burst", 10.0, 5).await.unwrap();
    assert!(!a.allowed, "{a:?}");
    let retry = a.retry_after.unwrap();
    assert!(retry <= Duration::from_millis(110), "{a:?}");
    assert!(a.reset > Duration::from_millis(300) && a.reset <= Duration::from_millis(510));
    tokio::time::sleep(retry + Duration::from_millis(20)).await;
    assert!(s.acquire("burst", 10.0, 5).await.unwrap().allowed);
    // burst 0 never admits and never asks Redis.
    assert!(!s.acquire("zero", 10.0, 0).await.unwrap().allowed);
    // The bucket key has a hash tag, the prefix, and an expiry.
    let ttl = raw(r.port, &["PTTL", "lp:tb:{burst}"]).unwrap();
    let ttl: i64 = ttl.trim_start_matches(':').trim().parse().unwrap();
    assert!(ttl > 0 && ttl <= 1600, "PTTL {ttl}");
}

/// Three stores (three gateways) × four tasks hammer one key for 2 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_gateways_share_one_limit_within_the_bound() {
    if !redis_installed() {
        return;
    }
    let r = RedisServer::start(&[]);
    let stores: Vec<_> = (0..3).map(|_| store(&r, 500)).collect();
    let (rate, burst) = (200.0, 50u64);
    let run = Duration::from_secs(2);
    let start = Instant::now();
    let admitted_at = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let requests = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for s in &stores {
        for _ in 0..4 {
            let (s, admitted_at, requests) = (s.clone(), admitted_at.clone(), requests.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while start.elapsed() < run && n < 200_000 {
                    n += 1;
                    requests.fetch_add(1, Ordering::Relaxed);
                    let a = s.acquire("shared", rate, burst).await.unwrap();
                    if a.allowed {
                        admitted_at.lock().unwrap().push(start.elapsed());
                    }
                    // ~1000 requests/s per task (12 000/s offered against 200/s) without
                    // spinning the CPUs the other tests' timers need.
                    tokio::time::sleep(Duration::from_micros(500)).await;
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut at = admitted_at.lock().unwrap().clone();
    at.sort();
    let total = at.len() as f64;
    let bound = burst as f64 + rate * (elapsed + LEASE_TTL.as_secs_f64());
    let redis_calls: u64 = stores.iter().map(|s| s.stats().calls_ok).sum();
    // Every window of 500 ms: at most burst + rate × (0.5 s + LEASE_TTL).
    let w = Duration::from_millis(500);
    let w_bound = burst as f64 + rate * (w + LEASE_TTL).as_secs_f64();
    let mut worst = 0usize;
    let mut j = 0;
    for i in 0..at.len() {
        while at[i] - at[j] >= w {
            j += 1;
        }
        worst = worst.max(i - j + 1);
    }
    println!(
        "requests {} admitted {total} in {elapsed:.3} s (bound {bound:.0}, plain bucket {:.0}); \
         worst 500 ms window {worst} (bound {w_bound:.0}); Redis calls {redis_calls}",
        requests.load(Ordering::Relaxed),
        burst as f64 + rate * elapsed,
    );
    assert!(total <= bound, "admitted {total} > bound {bound}");
    assert!(worst as f64 <= w_bound, "window {worst} > {w_bound}");
    // Under-admission stays small: at least 80 % of what one shared bucket would admit.
    assert!(total >= 0.8 * rate * elapsed, "admitted only {total}");
    // Leases: far fewer Redis calls than requests admitted.
    assert!(
        (redis_calls as f64) < total,
        "{redis_calls} calls for {total}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_share_one_refill() {
    if !redis_installed() {
        return;
    }
    let r = RedisServer::start(&[]);
    let s = store(&r, 1000);
    // rate 400/s → batches of 20; 60 concurrent requests on a fresh key.
    let mut tasks = Vec::new();
    for _ in 0..60 {
        let s = s.clone();
        tasks.push(tokio::spawn(
            async move { s.acquire("herd", 400.0, 1000).await },
        ));
    }
    let mut allowed = 0;
    for t in tasks {
        allowed += t.await.unwrap().unwrap().allowed as u32;
    }
    let calls = s.stats().calls_ok;
    println!("60 concurrent requests: {allowed} admitted with {calls} Redis calls");
    assert_eq!(allowed, 60);
    assert!(calls <= 4, "{calls} Redis calls (stampede)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_serve_locally_and_expire() {
    if !redis_installed() {
        return;
    }
    let r = RedisServer::start(&[]);
    let s = store(&r, 1000);
    // rate 400/s → batches of 20 (50 ms worth). Half-way through the first lease the next
    // one is fetched ahead (at this pace the lease runs out before it expires), so request 21
    // is served by it: two Redis calls for 21 requests, and none of them waited after the
    // first.
    for i in 0..21 {
        let a = s.acquire("lease", 400.0, 100).await.unwrap();
        assert!(a.allowed, "request {i}: {a:?}");
    }
    assert_eq!(s.stats().calls_ok, 2, "one lease and one fetched ahead");
    // 19 tokens left in the lease; after LEASE_TTL they are gone (not used, not returned).
    tokio::time::sleep(LEASE_TTL + Duration::from_millis(30)).await;
    assert!(s.acquire("lease", 400.0, 100).await.unwrap().allowed);
    assert_eq!(s.stats().calls_ok, 3, "an expired lease is not used");
    // Used slowly (it would expire before running out), a lease is not refilled ahead.
    // (11 of 20 tokens in 150 ms: the 9 left would last longer than the 50 ms to expiry.)
    tokio::time::sleep(LEASE_TTL * 3 / 4).await;
    for _ in 0..10 {
        assert!(s.acquire("lease", 400.0, 100).await.unwrap().allowed);
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        s.stats().calls_ok,
        3,
        "no refill ahead for a slowly used lease"
    );
    // A new rate or burst (a configuration change) drops the lease too.
    assert!(s.acquire("lease", 400.0, 99).await.unwrap().allowed);
    assert_eq!(s.stats().calls_ok, 4);
}

/// A busy key's next lease is fetched ahead: at a steady load only the first request waits
/// for Redis. About 10 000 requests/s (20 per millisecond) on a bucket of rate 4 000/s and a
/// burst it never runs out of: leases of 200 tokens, about 20 of them in 0.4 s; without the
/// refills ahead each would make requests wait. (A loaded machine may delay one refill past
/// the 100 tokens left when it starts: at most one more wait is allowed for that.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_key_never_waits_after_its_first_lease() {
    if !redis_installed() {
        return;
    }
    let r = RedisServer::start(&[]);
    let s = store(&r, 1000);
    let start = Instant::now();
    let mut requests = 0u64;
    while start.elapsed() < Duration::from_millis(400) {
        for _ in 0..20 {
            assert!(s.acquire("busy", 4000.0, 1_000_000).await.unwrap().allowed);
            requests += 1;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let st = s.stats();
    println!("{requests} requests: {st:?}");
    assert!(requests >= 1000, "only {requests} requests");
    assert!(st.lease_waits <= 2, "requests waited for refills: {st:?}");
    assert!(
        st.calls_ok <= requests / 100 + 2,
        "{} Redis calls for {requests} requests",
        st.calls_ok
    );
}

/// A client that goes away while its request waits for a refill does not strand the others:
/// the refill is a task of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_waiter_does_not_stall_the_refill() {
    if !redis_installed() {
        return;
    }
    let r = RedisServer::start(&[]);
    let s = store(&r, 1000);
    let first = {
        let s = s.clone();
        tokio::spawn(async move { s.acquire("cancel", 100.0, 100).await })
    };
    // Drop the first request at once (its refill may or may not have been sent).
    first.abort();
    let t = Instant::now();
    let a = s.acquire("cancel", 100.0, 100).await.unwrap();
    assert!(
        a.allowed && t.elapsed() < Duration::from_millis(500),
        "{a:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_rolls_over_and_survives_a_restart() {
    if !redis_installed() {
        return;
    }
    let r = RedisServer::start(&[]);
    let s = store(&r, 500);
    let noon = day(12 * 3600);
    for i in 0..3u64 {
        let a = s.count_quota("plan:a", 3, Period::Day, noon).await.unwrap();
        assert!(a.allowed, "{a:?}");
        assert_eq!(a.remaining, 2 - i);
        assert_eq!(a.reset, Duration::from_secs(12 * 3600));
    }
    let refused = s.count_quota("plan:a", 3, Period::Day, noon).await.unwrap();
    assert_eq!(
        refused,
        Admission {
            allowed: false,
            limit: 3,
            remaining: 0,
            reset: Duration::from_secs(12 * 3600),
            retry_after: Some(Duration::from_secs(12 * 3600)),
        }
    );
    // A new store (a gateway restart): still refused, the count lives in Redis.
    let s2 = store(&r, 500);
    assert!(
        !s2.count_quota("plan:a", 3, Period::Day, day(23 * 3600))
            .await
            .unwrap()
            .allowed
    );
    // A raised limit counts again at once.
    assert!(
        s.count_quota("plan:a", 4, Period::Day, noon)
            .await
            .unwrap()
            .allowed
    );
    // Next day: a new period.
    let next = s2
        .count_quota("plan:a", 3, Period::Day, day(86_400))
        .await
        .unwrap();
    assert!(next.allowed && next.remaining == 2, "{next:?}");
    // The counters expire a day after their period ends.
    let ttl = raw(r.port, &["PTTL", "lp:q:{plan:a}:2026-03-10"]).unwrap();
    let ttl: i64 = ttl.trim_start_matches(':').trim().parse().unwrap();
    assert!((ttl - 36 * 3_600_000).abs() < 5_000, "PTTL {ttl}");

    // Week: Tuesday 2026-03-10 .. Sunday 2026-03-15 23:59:59 is one week; Monday starts the next.
    for t in [day(0), day(5 * 86_400 + 86_399)] {
        assert!(
            s.count_quota("wk", 2, Period::Week, t)
                .await
                .unwrap()
                .allowed
        );
    }
    let sunday = s
        .count_quota("wk", 2, Period::Week, day(5 * 86_400 + 86_399))
        .await
        .unwrap();
    assert!(!sunday.allowed && sunday.retry_after == Some(Duration::from_secs(1)));
    assert!(
        s.count_quota("wk", 2, Period::Week, day(6 * 86_400))
            .await
            .unwrap()
            .allowed
    );
    // Month: March 31 23:59 vs April 1.
    let mar31 = day(21 * 86_400 + 86_340);
    assert!(
        s.count_quota("mo", 1, Period::Month, mar31)
            .await
            .unwrap()
            .allowed
    );
    let refused = s.count_quota("mo", 1, Period::Month, mar31).await.unwrap();
    assert_eq!(refused.reset, Duration::from_secs(60));
    assert!(
        s.count_quota("mo", 1, Period::Month, day(22 * 86_400))
            .await
            .unwrap()
            .allowed
    );
    let keys = raw(r.port, &["KEYS", "lp:q:*"]).unwrap();
    for k in [
        "{wk}:w2026-03-09",
        "{wk}:w2026-03-16",
        "{mo}:2026-03",
        "{mo}:2026-04",
    ] {
        assert!(keys.contains(k), "{k} not in {keys}");
    }
}

/// Each call's duration; panics if one took longer than `max`.
async fn timed<F: std::future::Future<Output = Result<Admission, StoreError>>>(
    max: Duration,
    f: F,
) -> (Duration, Result<Admission, StoreError>) {
    let t = Instant::now();
    let r = f.await;
    let d = t.elapsed();
    assert!(d <= max, "call took {d:?} (> {max:?}): {r:?}");
    (d, r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted() {
    if !redis_installed() {
        return;
    }
    let mut r = RedisServer::start(&[]);
    let timeout = Duration::from_millis(200);
    let max = timeout + Duration::from_millis(100);
    let s = store(&r, 200);
    assert!(s.acquire("k0", 100.0, 100).await.unwrap().allowed);
    assert!(
        s.count_quota("q", 100, Period::Day, day(0))
            .await
            .unwrap()
            .allowed
    );
    r.kill();
    let mut worst = Duration::ZERO;
    let mut fast_while_open = 0;
    for i in 0..30 {
        // Fresh keys: no lease to serve from.
        let (d, res) = timed(max, s.acquire(&format!("k{i}x"), 100.0, 100)).await;
        assert!(res.is_err(), "{res:?}");
        worst = worst.max(d);
        if res == Err(StoreError::Unavailable("circuit open".into())) {
            assert!(d < Duration::from_millis(20), "open breaker took {d:?}");
            fast_while_open += 1;
        }
        let (d, res) = timed(max, s.count_quota("q", 100, Period::Day, day(0))).await;
        assert!(res.is_err());
        worst = worst.max(d);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(s.breaker_open());
    assert!(
        fast_while_open >= 20,
        "only {fast_while_open} fast failures"
    );
    println!(
        "down: slowest call {worst:?}; {fast_while_open}/30 failed at once; {:?}",
        s.stats()
    );
    r.spawn();
    let back = Instant::now();
    loop {
        let (_, res) = timed(max, s.count_quota("q", 100, Period::Day, day(0))).await;
        if res.is_ok() {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "not back after 10 s: {res:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("restarted: calls succeed again after {:?}", back.elapsed());
    assert!(!s.breaker_open());
    assert!(s.acquire("after", 100.0, 100).await.unwrap().allowed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_redis_times_out() {
    if !redis_installed() {
        return;
    }
    let r = RedisServer::start(&[]);
    let timeout = Duration::from_millis(150);
    let max = timeout + Duration::from_millis(100);
    let s = store(&r, 150);
    assert!(
        s.count_quota("q", 100, Period::Day, day(0))
            .await
            .unwrap()
            .allowed
    );

    // DEBUG SLEEP on another connection: Redis answers nobody for 1 s.
    let port = r.port;
    let sleeper = std::thread::spawn(move || raw(port, &["DEBUG", "SLEEP", "1"]));
    std::thread::sleep(Duration::from_millis(50));
    let (d, res) = timed(max, s.count_quota("q", 100, Period::Day, day(0))).await;
    assert_eq!(res, Err(StoreError::Timeout));
    println!("DEBUG SLEEP: Err(Timeout) after {d:?}");
    sleeper.join().unwrap();
    // Back (one failure does not open the breaker).
    let t = Instant::now();
    while s.count_quota("q", 100, Period::Day, day(0)).await.is_err() {
        assert!(t.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // SIGSTOP: the process answers nothing until SIGCONT.
    r.signal(libc::SIGSTOP);
    for i in 0..10 {
        let (d, res) = timed(max, s.acquire(&format!("stopped{i}"), 10.0, 10)).await;
        assert!(
            matches!(res, Err(StoreError::Timeout))
                || res == Err(StoreError::Unavailable("circuit open".into())),
            "{res:?} after {d:?}"
        );
    }
    assert!(s.breaker_open());
    r.signal(libc::SIGCONT);
    let t = Instant::now();
    while s.acquire("resumed", 10.0, 10).await.is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "not back after SIGCONT"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("SIGCONT: back after {:?}; {:?}", t.elapsed(), s.stats());
}

/// Three masters, all 16384 slots assigned, `cluster_state:ok` on each.
fn start_cluster() -> Vec<RedisServer> {
    start_cluster_of(|_| Vec::new(), |_, n| n.port, &[])
}

/// Three cluster nodes, node `i` started with `extra(i)` too, joined by `redis-cli --cluster
/// create` on `port(i, node)` with `create_args`; returned once `cluster_state:ok` on each.
fn start_cluster_of(
    extra: impl Fn(usize) -> Vec<String>,
    port: impl Fn(usize, &RedisServer) -> u16,
    create_args: &[&str],
) -> Vec<RedisServer> {
    // The bus port is named: its default (port + 10000) may be taken or past 65535.
    let nodes: Vec<RedisServer> = (0..3)
        .map(|i| {
            let bus = free_port().to_string();
            let mut args = vec![
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-port",
                &bus,
            ];
            let more = extra(i);
            args.extend(more.iter().map(String::as_str));
            RedisServer::start(&args)
        })
        .collect();
    let addrs: Vec<String> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| format!("127.0.0.1:{}", port(i, n)))
        .collect();
    let out = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addrs)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .args(create_args)
        .output()
        .expect("redis-cli (run scripts/setup.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let t = Instant::now();
    while !cluster_ok(&nodes) {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "cluster_state not ok"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_of_three() {
    if !redis_installed() {
        return;
    }
    let nodes = start_cluster();
    let urls = nodes.iter().map(|n| n.url()).collect();
    let s = RedisStore::new(settings(urls, true, 1000)).unwrap();
    for i in 0..40 {
        let key = format!("route-{i}");
        let a = s.acquire(&key, 10.0, 2).await.unwrap();
        assert!(a.allowed, "{key}: {a:?}");
        assert!(s.acquire(&key, 10.0, 2).await.unwrap().allowed);
        assert!(!s.acquire(&key, 10.0, 2).await.unwrap().allowed);
        assert!(
            s.count_quota(&key, 1, Period::Month, day(0))
                .await
                .unwrap()
                .allowed
        );
        assert!(
            !s.count_quota(&key, 1, Period::Month, day(0))
                .await
                .unwrap()
                .allowed
        );
    }
    let sizes: Vec<u64> = nodes
        .iter()
        .map(|n| {
            let r = raw(n.port, &["DBSIZE"]).unwrap();
            r.trim_start_matches(':').trim().parse().unwrap()
        })
        .collect();
    println!("cluster: keys per node {sizes:?}; {:?}", s.stats());
    assert_eq!(sizes.iter().sum::<u64>(), 80);
    assert!(sizes.iter().filter(|&&n| n > 0).count() >= 2, "{sizes:?}");
}

/// rediss://: Debian's redis-server is built with TLS. A self-signed certificate made here
/// with openssl: refused by default (the store verifies), accepted with `#insecure`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_tls() {
    if !redis_installed() {
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !made.is_ok_and(|s| s.success()) {
        assert!(
            std::env::var_os("REQUIRE_REDIS").is_none(),
            "openssl (the command) is needed for the TLS test"
        );
        println!("no openssl command: skipping the TLS test");
        return;
    }
    let tls_port = free_port().to_string();
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let r = RedisServer::start(&[
        "--tls-port",
        &tls_port,
        "--tls-cert-file",
        cert,
        "--tls-key-file",
        key,
        "--tls-ca-cert-file",
        cert,
        "--tls-auth-clients",
        "no",
    ]);
    let url = format!("rediss://127.0.0.1:{tls_port}");
    let verified = RedisStore::new(settings(vec![url.clone()], false, 1000)).unwrap();
    let res = verified.count_quota("tls", 5, Period::Day, day(0)).await;
    assert!(matches!(res, Err(StoreError::Unavailable(_))), "{res:?}");
    println!("self-signed certificate, verified: {res:?}");
    let insecure =
        RedisStore::new(settings(vec![format!("{url}/#insecure")], false, 1000)).unwrap();
    let a = insecure
        .count_quota("tls", 5, Period::Day, day(0))
        .await
        .unwrap();
    assert!(a.allowed && a.remaining == 4, "{a:?}");
    assert!(insecure.acquire("tls", 10.0, 10).await.unwrap().allowed);
    // The same counter through the plain port: one Redis.
    let plain = store(&r, 1000);
    assert_eq!(
        plain
            .count_quota("tls", 5, Period::Day, day(0))
            .await
            .unwrap()
            .remaining,
        3
    );
}

/// Whether every node says `cluster_state:ok`.
fn cluster_ok(nodes: &[RedisServer]) -> bool {
    nodes
        .iter()
        .all(|n| raw(n.port, &["CLUSTER", "INFO"]).is_some_and(|i| i.contains("cluster_state:ok")))
}

/// A cluster node killed mid-run: no call waits past the timeout; restarted (same port and
/// nodes.conf), the store works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_node_killed_and_restarted() {
    if !redis_installed() {
        return;
    }
    let mut nodes = start_cluster();
    let urls = nodes.iter().map(|n| n.url()).collect();
    let s = RedisStore::new(settings(urls, true, 300)).unwrap();
    let max = Duration::from_millis(300 + 150);
    let keys: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
    let count = |i: usize| s.count_quota(&keys[i], 1000, Period::Day, day(0));
    for i in 0..20 {
        assert!(count(i).await.unwrap().allowed);
    }
    nodes[0].kill();
    let (mut ok, mut failed, mut worst) = (0, 0, Duration::ZERO);
    for _ in 0..3 {
        for i in 0..20 {
            let (d, res) = timed(max, count(i)).await;
            worst = worst.max(d);
            if res.is_ok() {
                ok += 1
            } else {
                failed += 1
            }
        }
    }
    println!(
        "cluster node down: {ok} ok, {failed} failed, slowest {worst:?}; {:?}",
        s.stats()
    );
    assert!(failed > 0);
    nodes[0].spawn();
    let t = Instant::now();
    while !cluster_ok(&nodes) {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "cluster_state not ok again"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let t = Instant::now();
    loop {
        let mut all_ok = true;
        for i in 0..20 {
            all_ok &= timed(max, count(i)).await.1.is_ok();
        }
        if all_ok {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "cluster store not back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "cluster node restarted: every key answers again after {:?}",
        t.elapsed()
    );
}

/// Runs `openssl` with `args` in `dir`; false (the test is skipped) when the command is
/// missing or fails, unless REQUIRE_REDIS is set.
fn run_openssl(dir: &std::path::Path, args: &[&str]) -> bool {
    let ok = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("REQUIRE_REDIS").is_none(),
            "openssl {args:?} failed (the openssl command is needed for the TLS tests)"
        );
        println!("openssl {args:?} failed: skipping");
    }
    ok
}

/// A private CA (`ca.pem`) in `dir`, and certificates it signed: `server.pem`/`server.key`
/// for 127.0.0.1 (subjectAltName IP:127.0.0.1) and `client.pem`/`client.key` (clientAuth; an
/// EC key in SEC1 form, `BEGIN EC PRIVATE KEY`, which the configuration converts to PKCS#8);
/// plus `other-ca.pem`, an unrelated CA.
fn make_private_ca(dir: &std::path::Path) -> bool {
    std::fs::write(
        dir.join("server.ext"),
        // clientAuth too: cluster nodes present it to each other on the TLS cluster bus.
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    let ca = |name: &str, cn: &str| {
        run_openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                cn,
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
            ],
        )
    };
    let sign = |name: &str| {
        run_openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ],
        )
    };
    ca("ca", "/CN=lp-test-ca")
        && ca("other-ca", "/CN=lp-other-ca")
        && run_openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ],
        )
        && sign("server")
        && run_openssl(
            dir,
            &[
                "ecparam",
                "-genkey",
                "-name",
                "prime256v1",
                "-noout",
                "-out",
                "client.key",
            ],
        )
        && run_openssl(
            dir,
            &[
                "req",
                "-new",
                "-key",
                "client.key",
                "-subj",
                "/CN=lp-client",
                "-out",
                "client.csr",
            ],
        )
        && sign("client")
}

/// A redis-server with a TLS port whose certificate the private CA signed.
fn tls_redis(dir: &std::path::Path, auth_clients: bool) -> (RedisServer, String) {
    let tls_port = free_port().to_string();
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let r = RedisServer::start(&[
        "--tls-port",
        &tls_port,
        "--tls-cert-file",
        &p("server.pem"),
        "--tls-key-file",
        &p("server.key"),
        "--tls-ca-cert-file",
        &p("ca.pem"),
        "--tls-auth-clients",
        if auth_clients { "yes" } else { "no" },
    ]);
    (r, format!("rediss://127.0.0.1:{tls_port}"))
}

fn pem_file(path: std::path::PathBuf) -> PemFile {
    let pem = std::fs::read(&path).unwrap();
    PemFile { path, pem }
}

/// The store as the configuration builds it (`Throttling::build`): the YAML's
/// `throttling_store`, relative paths resolved against `dir`.
fn store_from_yaml(dir: &std::path::Path, yaml: &str) -> Arc<RedisStore> {
    let g: lambda_proxy::config::GatewayConf = serde_yaml::from_str(yaml).unwrap();
    let t = lambda_proxy::throttling::Throttling::build(
        &dir.join("gateway.yaml"),
        &g,
        &lambda_proxy::throttling::local::LimiterRegistry::new(),
        &lambda_proxy::throttling::StoreCache::new(),
    )
    .unwrap();
    t.store.unwrap().redis
}

/// rediss:// with a private CA: trusted through `tls.ca_file` only (not by the system store,
/// not by an unrelated CA); with `tls-auth-clients yes`, a client certificate the CA signed is
/// needed as well (`tls.cert_file` + `tls.key_file`, through the configuration).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_private_ca_and_client_certificate() {
    if !redis_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    if !make_private_ca(dir.path()) {
        return;
    }
    let with_tls = |url: &str, tls: Option<StoreTls>| {
        RedisStore::new(StoreSettings {
            tls,
            ..settings(vec![url.to_string()], false, 1000)
        })
        .unwrap()
    };
    let ca = StoreTls {
        ca: Some(pem_file(dir.path().join("ca.pem"))),
        client: None,
    };

    let (r, url) = tls_redis(dir.path(), false);
    let trusted = with_tls(&url, Some(ca.clone()));
    for left in (0..3).rev() {
        let a = trusted
            .count_quota("ca", 3, Period::Day, day(0))
            .await
            .unwrap();
        assert!(a.allowed && a.remaining == left, "{a:?}");
    }
    assert!(
        !trusted
            .count_quota("ca", 3, Period::Day, day(0))
            .await
            .unwrap()
            .allowed
    );
    assert!(trusted.acquire("ca", 10.0, 10).await.unwrap().allowed);
    let system_only = with_tls(&url, None);
    let res = system_only.count_quota("ca2", 3, Period::Day, day(0)).await;
    assert!(matches!(res, Err(StoreError::Unavailable(_))), "{res:?}");
    println!("private CA, no ca_file: {res:?}");
    let other = StoreTls {
        ca: Some(pem_file(dir.path().join("other-ca.pem"))),
        client: None,
    };
    let res = with_tls(&url, Some(other))
        .count_quota("ca2", 3, Period::Day, day(0))
        .await;
    assert!(matches!(res, Err(StoreError::Unavailable(_))), "{res:?}");
    // The counter through the plain port: one Redis.
    let used = raw(r.port, &["GET", "lp:q:{ca}:2026-03-10"]).unwrap();
    assert!(used.contains("\r\n3\r\n"), "{used:?}");
    drop(r);

    // tls-auth-clients yes: the CA alone is not enough.
    let (r, url) = tls_redis(dir.path(), true);
    let res = with_tls(&url, Some(ca))
        .count_quota("mtls", 3, Period::Day, day(0))
        .await;
    assert!(matches!(res, Err(StoreError::Unavailable(_))), "{res:?}");
    println!("tls-auth-clients yes, no client certificate: {res:?}");
    let s = store_from_yaml(
        dir.path(),
        &format!(
            "throttling_store:\n  redis:\n    url: '{url}'\n    key_prefix: 'lp:'\n    tls: \
             {{ca_file: ca.pem, cert_file: client.pem, key_file: client.key}}\n  timeout: 1000\n"
        ),
    );
    let shown = format!("{s:?}");
    assert!(
        shown.contains("client.key") && !shown.contains("PRIVATE KEY"),
        "{shown}"
    );
    let a = s.count_quota("mtls", 3, Period::Day, day(0)).await.unwrap();
    assert!(a.allowed && a.remaining == 2, "{a:?}");
    assert!(s.acquire("mtls", 10.0, 10).await.unwrap().allowed);
    assert_eq!(s.stats().calls_failed, 0);
    assert!(raw(r.port, &["EXISTS", "lp:tb:{mtls}"])
        .unwrap()
        .starts_with(":1"));
}

/// `--requirepass`: the password in the URL works; a wrong one is an error (not a panic) whose
/// text does not carry the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_password() {
    if !redis_installed() {
        return;
    }
    let r = RedisServer::start(&["--requirepass", "pw-Right-1"]);
    let url = |pw: &str| format!("redis://:{pw}@127.0.0.1:{}", r.port);
    let s = RedisStore::new(settings(vec![url("pw-Right-1")], false, 1000)).unwrap();
    let a = s.count_quota("auth", 2, Period::Day, day(0)).await.unwrap();
    assert!(a.allowed && a.remaining == 1, "{a:?}");
    assert!(s.acquire("auth", 10.0, 10).await.unwrap().allowed);

    let wrong = RedisStore::new(settings(vec![url("pw-Wrong-2")], false, 1000)).unwrap();
    assert!(!format!("{wrong:?}").contains("pw-Wrong-2"));
    for res in [
        wrong.count_quota("auth", 2, Period::Day, day(0)).await,
        wrong.acquire("auth2", 10.0, 10).await,
    ] {
        let Err(StoreError::Unavailable(why)) = &res else {
            panic!("wrong password: {res:?}");
        };
        let text = res.as_ref().unwrap_err().to_string();
        assert!(
            !why.contains("pw-Wrong-2") && !text.contains("pw-Wrong-2"),
            "{text}"
        );
        println!("wrong password: {text}");
    }
    // No password at all: refused as well.
    let none = store(&r, 1000);
    assert!(matches!(
        none.count_quota("auth", 2, Period::Day, day(0)).await,
        Err(StoreError::Unavailable(_))
    ));
}

/// The narrowest ACL user the store works with (README, "Throttling and quotas"): its own
/// keys (`~lp:*`), EVALSHA and SCRIPT LOAD (redis-rs loads a script on NOSCRIPT, never EVAL),
/// and the commands the scripts call (TIME HMGET HSET PEXPIRE GET INCR PTTL).
pub const ACL_COMMANDS: &[&str] = &[
    "+evalsha",
    "+script|load",
    "+time",
    "+hmget",
    "+hset",
    "+pexpire",
    "+get",
    "+incr",
    "+pttl",
];

/// User `lp` (password `secret`, keys `~lp:*`): `ACL_COMMANDS` but `without`, plus `extra`.
fn acl_setuser(port: u16, without: &[&str], extra: &[&str]) {
    let mut cmd = vec!["ACL", "SETUSER", "lp", "reset", "on", ">secret", "~lp:*"];
    cmd.extend(ACL_COMMANDS.iter().filter(|c| !without.contains(c)));
    cmd.extend_from_slice(extra);
    let r = raw(port, &cmd).unwrap();
    assert!(r.starts_with("+OK"), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_acl_user_with_the_minimum_commands() {
    if !redis_installed() {
        return;
    }
    let r = RedisServer::start(&[]);
    acl_setuser(r.port, &[], &[]);
    let url = format!("redis://lp:secret@127.0.0.1:{}", r.port);
    let s = RedisStore::new(settings(vec![url.clone()], false, 1000)).unwrap();
    // A fresh server: EVALSHA answers NOSCRIPT, the script is loaded, then run.
    for left in (0..2).rev() {
        let a = s.count_quota("acl", 2, Period::Day, day(0)).await.unwrap();
        assert!(a.allowed && a.remaining == left, "{a:?}");
    }
    assert!(
        !s.count_quota("acl", 2, Period::Day, day(0))
            .await
            .unwrap()
            .allowed
    );
    for _ in 0..5 {
        assert!(s.acquire("acl", 10.0, 5).await.unwrap().allowed);
    }
    assert!(!s.acquire("acl", 10.0, 5).await.unwrap().allowed);
    assert_eq!(s.stats().calls_failed, 0);

    // Outside `~lp:*`: NOPERM, an error of the store.
    let other = RedisStore::new(StoreSettings {
        key_prefix: "other:".into(),
        ..settings(vec![url.clone()], false, 1000)
    })
    .unwrap();
    let res = other.count_quota("acl", 2, Period::Day, day(0)).await;
    assert!(
        matches!(&res, Err(StoreError::Unavailable(w)) if w.contains("NOPERM") || w.contains("permission")),
        "{res:?}"
    );
    println!("key outside the ACL's pattern: {res:?}");
    // Each command is needed: without SCRIPT LOAD a fresh server cannot run the scripts.
    raw(r.port, &["SCRIPT", "FLUSH"]).unwrap();
    acl_setuser(r.port, &["+script|load"], &[]);
    let fresh = RedisStore::new(settings(vec![url], false, 1000)).unwrap();
    let res = fresh.count_quota("acl2", 2, Period::Day, day(0)).await;
    assert!(matches!(res, Err(StoreError::Unavailable(_))), "{res:?}");
    println!("ACL without SCRIPT LOAD: {res:?}");
}

/// A Redis Cluster with an ACL user on every node: the standalone minimum plus what the
/// cluster client sends (CLUSTER SLOTS; ASKING during a resharding; PING on connect and to
/// check a connection before reusing it on a slot-map refresh).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_acl_user() {
    if !redis_installed() {
        return;
    }
    let nodes = start_cluster();
    for n in &nodes {
        acl_setuser(n.port, &[], &["+ping", "+cluster|slots", "+asking"]);
    }
    let urls = nodes
        .iter()
        .map(|n| format!("redis://lp:secret@127.0.0.1:{}", n.port))
        .collect();
    let s = RedisStore::new(settings(urls, true, 1000)).unwrap();
    for i in 0..20 {
        let key = format!("route-{i}");
        assert!(s.acquire(&key, 10.0, 2).await.unwrap().allowed, "{key}");
        assert!(
            s.count_quota(&key, 1, Period::Month, day(0))
                .await
                .unwrap()
                .allowed
        );
    }
    println!("cluster ACL user: {:?}", s.stats());
    // CLUSTER SLOTS is needed. (PING is not, strictly: redis-rs ignores its answer on
    // connect; on a slot-map refresh a refused PING makes it reconnect instead of reusing.)
    for missing in ["+cluster|slots"] {
        let extra: Vec<&str> = ["+ping", "+cluster|slots", "+asking"]
            .into_iter()
            .filter(|c| *c != missing)
            .collect();
        for n in &nodes {
            acl_setuser(n.port, &[], &extra);
        }
        let urls = nodes
            .iter()
            .map(|n| format!("redis://lp:secret@127.0.0.1:{}", n.port))
            .collect();
        let s = RedisStore::new(settings(urls, true, 1000)).unwrap();
        // Without a slot map redis-rs may still send a key to the node that serves it (a
        // node picked at random): ten keys over the slots, at least one of them fails.
        let mut results = Vec::new();
        for i in 0..10 {
            let key = format!("route-x{i}");
            results.push(s.count_quota(&key, 1, Period::Month, day(0)).await);
        }
        let failed = results.iter().find(|r| r.is_err());
        assert!(failed.is_some(), "without {missing}: {results:?}");
        println!("cluster ACL user without {missing}: {failed:?}");
    }
}

/// With `tls.ca_file`, the system CA store is no longer trusted (redis-rs sets native-tls's
/// `disable_built_in_roots`). The "system store" here is `SSL_CERT_FILE` naming the private
/// CA, in a child process (native-tls probes it once per process): there, a store without
/// `ca_file` trusts the server, and one whose `ca_file` is another CA does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_file_replaces_the_system_store() {
    if !redis_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    if !make_private_ca(dir.path()) {
        return;
    }
    let (_r, url) = tls_redis(dir.path(), false);
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "system_store_child", "--ignored", "--nocapture"])
        .env("SSL_CERT_FILE", dir.path().join("ca.pem"))
        .env_remove("SSL_CERT_DIR")
        .env("LP_TEST_REDIS_URL", &url)
        .env("LP_TEST_OTHER_CA", dir.path().join("other-ca.pem"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success()
            && stdout.contains("1 passed")
            && stdout.contains("system store trusts the CA"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run by `ca_file_replaces_the_system_store` (ignored on its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn system_store_child() {
    let (Some(url), Some(other)) = (
        std::env::var_os("LP_TEST_REDIS_URL"),
        std::env::var_os("LP_TEST_OTHER_CA"),
    ) else {
        return;
    };
    let url = url.to_str().unwrap().to_string();
    let system = RedisStore::new(settings(vec![url.clone()], false, 1000)).unwrap();
    let a = system
        .count_quota("sys", 5, Period::Day, day(0))
        .await
        .unwrap();
    assert!(a.allowed, "{a:?}");
    let other = RedisStore::new(StoreSettings {
        tls: Some(StoreTls {
            ca: Some(pem_file(other.into())),
            client: None,
        }),
        ..settings(vec![url], false, 1000)
    })
    .unwrap();
    let res = other.count_quota("sys", 5, Period::Day, day(0)).await;
    assert!(matches!(res, Err(StoreError::Unavailable(_))), "{res:?}");
    println!("system store trusts the CA; ca_file with another CA: {res:?}");
}

/// A Redis Cluster of three over TLS only for clients that present a certificate
/// (`tls-cluster yes`, `tls-auth-clients yes`; CLUSTER SLOTS answers the TLS ports to a TLS
/// client): `ClusterClientBuilder::certs` gives every node connection the CA and the client
/// certificate; the CA alone is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_cluster_private_ca_and_client_certificate() {
    if !redis_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    if !make_private_ca(dir.path()) {
        return;
    }
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_string();
    let tls_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let tls_args = |i: usize| {
        let mut a = vec!["--tls-port".to_string(), tls_ports[i].to_string()];
        a.extend(["--tls-cluster", "yes", "--tls-auth-clients", "yes"].map(String::from));
        for (flag, file) in [
            ("--tls-cert-file", "server.pem"),
            ("--tls-key-file", "server.key"),
            ("--tls-ca-cert-file", "ca.pem"),
        ] {
            a.extend([flag.to_string(), p(file)]);
        }
        a
    };
    let (ca, cert, key) = (p("ca.pem"), p("client.pem"), p("client.key"));
    let nodes = start_cluster_of(
        tls_args,
        |i, _| tls_ports[i],
        &["--tls", "--cacert", &ca, "--cert", &cert, "--key", &key],
    );
    let urls: Vec<String> = tls_ports
        .iter()
        .map(|t| format!("rediss://127.0.0.1:{t}"))
        .collect();
    let yaml = format!(
        "throttling_store:\n  redis:\n    url: ['{}']\n    key_prefix: 'lp:'\n    tls: \
         {{ca_file: ca.pem, cert_file: client.pem, key_file: client.key}}\n  timeout: 1000\n",
        urls.join("', '")
    );
    let s = store_from_yaml(dir.path(), &yaml);
    assert!(s.settings().cluster);
    for i in 0..20 {
        let key = format!("route-{i}");
        assert!(s.acquire(&key, 10.0, 2).await.unwrap().allowed, "{key}");
        assert!(
            s.count_quota(&key, 1, Period::Month, day(0))
                .await
                .unwrap()
                .allowed
        );
    }
    let sizes: Vec<u64> = nodes
        .iter()
        .map(|n| {
            let r = raw(n.port, &["DBSIZE"]).unwrap();
            r.trim_start_matches(':').trim().parse().unwrap()
        })
        .collect();
    println!("TLS cluster: keys per node {sizes:?}; {:?}", s.stats());
    assert_eq!(sizes.iter().sum::<u64>(), 40);
    assert!(sizes.iter().filter(|&&n| n > 0).count() >= 2, "{sizes:?}");

    let ca_only = RedisStore::new(StoreSettings {
        tls: Some(StoreTls {
            ca: Some(pem_file(dir.path().join("ca.pem"))),
            client: None,
        }),
        ..settings(urls, true, 1000)
    })
    .unwrap();
    let res = ca_only
        .count_quota("route-0", 5, Period::Month, day(0))
        .await;
    assert!(res.is_err(), "{res:?}");
    println!("TLS cluster, no client certificate: {res:?}");
}
