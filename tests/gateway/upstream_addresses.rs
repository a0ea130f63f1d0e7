//! An upstream name with several addresses: new connections are spread over them (each address
//! keeps its own pool, so reuse stays high), and a connect failure is retried on another
//! address instead of the same dead one. The name is pinned with `dns.hosts` to loopback
//! addresses: 127.0.0.2 refuses connections (nothing listens there), 127.0.0.3 and 127.0.0.4
//! answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use crate::common::*;

/// A minimal HTTP/1.1 keep-alive server that answers every request 200 `{"ok":true}` and
/// counts requests and connections (what the test needs to see where requests went).
struct CountingUpstream {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl CountingUpstream {
    fn start(addr: SocketAddr) -> CountingUpstream {
        let listener = TcpListener::bind(addr).unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, c, s) = (requests.clone(), connections.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                c.fetch_add(1, Ordering::SeqCst);
                let r = r.clone();
                thread::spawn(move || serve(conn, &r));
            }
        });
        CountingUpstream {
            addr,
            requests,
            connections,
            stop,
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for CountingUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
    }
}

fn serve(conn: TcpStream, requests: &AtomicUsize) {
    let mut w = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; length];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        requests.fetch_add(1, Ordering::SeqCst);
        let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}";
        if w.write_all(answer).is_err() {
            return;
        }
    }
}

struct Setup {
    gw: Gateway,
    metrics: SocketAddr,
    live: [CountingUpstream; 2],
}

/// `up.test` pinned to a dead address (sorted first, so the old "first address" choice hit
/// it) and two live ones, all on the same port; `routes` gets that port.
fn setup(route: impl Fn(u16) -> Route) -> Setup {
    let port = free_port();
    let live = [
        CountingUpstream::start(format!("127.0.0.3:{port}").parse().unwrap()),
        CountingUpstream::start(format!("127.0.0.4:{port}").parse().unwrap()),
    ];
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let gw = Gateway::launch(
        &GatewayConfig::new()
            .metrics(metrics)
            .dns_host("up.test", &["127.0.0.2", "127.0.0.3", "127.0.0.4"])
            .route(route(port)),
    );
    Setup { gw, metrics, live }
}

fn check_spread_and_reuse(s: &Setup, route: &str, sent: usize) {
    let per: Vec<usize> = s.live.iter().map(CountingUpstream::requests).collect();
    assert_eq!(
        per.iter().sum::<usize>(),
        sent,
        "every request reached a live address"
    );
    for (i, n) in per.iter().enumerate() {
        assert!(
            *n * 10 >= sent * 4,
            "address {i} served {n} of {sent}: load is not spread ({per:?})"
        );
    }
    let route_label = format!("route=\"{route}\"");
    let metric = |labels: &[&str]| metric_sum(s.metrics, labels[0], &labels[1..]).unwrap_or(0.0);
    let reused = metric(&[
        "lambda_proxy_upstream_connections_total",
        &route_label,
        "reused=\"true\"",
    ]);
    let fresh = metric(&[
        "lambda_proxy_upstream_connections_total",
        &route_label,
        "reused=\"false\"",
    ]);
    let ratio = reused / (reused + fresh);
    eprintln!("{route}: requests per address {per:?}; connections {reused} reused, {fresh} new");
    assert!(
        ratio >= 0.85,
        "pooled connections stay in use: {reused} reused, {fresh} new"
    );
    let opened: usize = s.live.iter().map(CountingUpstream::connections).sum();
    assert!(
        opened <= 20,
        "{opened} connections opened for {sent} requests"
    );
    // The dead address is tried, fails, and is then skipped by the following requests (marked
    // down) instead of costing a retry every third request.
    let retries = metric(&[
        "lambda_proxy_upstream_retries_total",
        &route_label,
        "reason=\"connect\"",
    ]);
    assert!(
        (1.0..10.0).contains(&retries),
        "{retries} connect retries for {sent} requests"
    );
}

/// Sends `n` requests one after the other, then `n` more from 4 threads at once.
fn send_all(url: &str, post: bool, n: usize) -> usize {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = client();
        let one = |c: reqwest::Client| async move {
            let req = if post {
                c.post(url).body("{\"x\":1}")
            } else {
                c.get(url)
            };
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            assert_eq!(status, 200, "{body}");
            assert!(body.contains("ok"), "{body}");
        };
        for _ in 0..n {
            one(c.clone()).await;
        }
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let c = c.clone();
            tasks.push(async move {
                for _ in 0..n / 4 {
                    one(c.clone()).await;
                }
            });
        }
        futures_util::future::join_all(tasks).await;
        n + 4 * (n / 4)
    })
}

#[test]
fn function_uri_spreads_over_addresses_and_retries_elsewhere() {
    let s = setup(|port| {
        Route::function_uri("/u/*", &format!("http://up.test:{port}/base")).name("spread-uri")
    });
    let sent = send_all(&s.gw.url("/u/x"), false, 60);
    check_spread_and_reuse(&s, "spread-uri", sent);
}

#[test]
fn function_name_spreads_over_addresses_and_retries_elsewhere() {
    let s = setup(|port| {
        Route::function_name("spread-invoke", "echo")
            .endpoint("up.test", port)
            .plain_http()
    });
    let sent = send_all(&s.gw.url("/spread-invoke"), true, 60);
    check_spread_and_reuse(&s, "spread-invoke", sent);
}

#[test]
fn dns_hosts_errors_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    for (hosts, expected) in [
        ("{up.test: [not-an-ip]}", "dns.hosts.up.test[0]"),
        (
            "{up.test: []}",
            "dns.hosts.up.test: list at least one IP address",
        ),
        (
            "{127.0.0.9: [127.0.0.2]}",
            "dns.hosts.127.0.0.9: an IP address needs no pinning",
        ),
        (
            "{'a b': [127.0.0.2]}",
            "dns.hosts.a b: `a b` is not a host name",
        ),
    ] {
        let path = dir.path().join("c.yaml");
        std::fs::write(
            &path,
            format!("listeners: [{{address: '127.0.0.1:1'}}]\ndns:\n  hosts: {hosts}\n"),
        )
        .unwrap();
        let out = run_dash_t(&path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{hosts} passed -t");
        assert!(stderr.contains(expected), "wanted {expected:?} in {stderr}");
    }
}
