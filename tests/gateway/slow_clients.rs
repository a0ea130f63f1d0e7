//! Slow and vanishing clients: a stalled body gets 408 at `client.body_timeout` and never reaches
//! AWS; hundreds of slowloris connections do not stop other clients from being served; clients
//! that leave in the middle of an invoke leave no tasks, sockets or memory behind.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::*;

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

fn gauge(metrics: SocketAddr, name: &str) -> f64 {
    metric_sum(metrics, name, &[]).unwrap_or_else(|| panic!("{name} not in the metrics"))
}

fn invoke_route(name: &str, function: &str, port: u16) -> Route {
    Route::function_name(name, function)
        .endpoint("127.0.0.1", port)
        .plain_http()
}

#[test]
fn a_stalled_body_gets_408_and_never_reaches_aws() {
    let closed = free_port();
    let gw = Gateway::launch(
        &GatewayConfig::new()
            .set_in(&["client", "body_timeout"], 500)
            .routes([
                invoke_route("inv", "echo", closed),
                Route::function_uri("/signed/*", &format!("http://127.0.0.1:{closed}/p"))
                    .iam(Iam::keys(AKID, SECRET, "execute-api")),
            ]),
    );
    for path in ["/inv", "/signed/a"] {
        let mut s = TcpStream::connect(gw.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let t = Instant::now();
        s.write_all(
            format!("POST {path} HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789")
                .as_bytes(),
        )
        .unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let took = t.elapsed();
        let text = String::from_utf8_lossy(&out);
        // A forwarded request would have met the closed port: 502.
        assert!(text.starts_with("HTTP/1.1 408"), "{path}: {text}");
        assert!(text.contains("client_timeout"), "{path}: {text}");
        assert!(
            took >= Duration::from_millis(450) && took < Duration::from_secs(5),
            "{path}: {took:?}"
        );
    }
}

#[test]
fn slowloris_connections_do_not_starve_other_clients() {
    let emu = Emulator::start();
    let gw =
        Gateway::launch(&GatewayConfig::new().route(invoke_route("ok", "echo", emu.http.port())));
    let pid = gw.pid();
    let fds_before = open_fds(pid);
    let rss_before = rss_kib(pid);

    // 400 connections that each send an unfinished head, one more header byte every 100 ms.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut slow = Vec::new();
    for _ in 0..400 {
        let mut s = TcpStream::connect(gw.addr).unwrap();
        s.write_all(b"POST /ok HTTP/1.1\r\nHost: a\r\nX-Slow: ")
            .unwrap();
        slow.push(s);
    }
    let dribbler = {
        let stop = stop.clone();
        let mut conns: Vec<TcpStream> = slow.iter().map(|s| s.try_clone().unwrap()).collect();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for s in &mut conns {
                    let _ = s.write_all(b"a");
                }
                // Kept: the behaviour under test, one header byte every 100 ms.
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    wait_until(
        "the gateway holds the slow connections open",
        Duration::from_secs(10),
        || open_fds(pid) >= fds_before + 380,
    );

    // Meanwhile, ordinary clients are served, each promptly.
    let mut slowest = Duration::ZERO;
    for i in 0..200 {
        let t = Instant::now();
        let (status, body) = raw_request(
            gw.addr,
            format!("POST /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 11\r\n\r\n{{\"i\":\"{i:03}\"}}").as_bytes(),
        );
        slowest = slowest.max(t.elapsed());
        assert_eq!(status, 200, "request {i}: {body}");
        assert_eq!(body, format!("{{\"i\":\"{i:03}\"}}"));
    }
    assert!(
        slowest < Duration::from_secs(2),
        "slowest request {slowest:?}"
    );
    let rss_during = rss_kib(pid);
    // Each idle slow connection costs a task and a small read buffer, not megabytes.
    assert!(
        rss_during < rss_before + 64 * 1024,
        "RSS {rss_before} KiB → {rss_during} KiB with 400 slow connections"
    );

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    dribbler.join().unwrap();
    drop(slow);
    wait_until(
        &format!("sockets released ({fds_before} before)"),
        Duration::from_secs(10),
        || open_fds(pid) <= fds_before + 8,
    );
}

#[test]
fn clients_leaving_mid_invoke_leave_nothing_behind() {
    let emu = Emulator::start();
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let gw = Gateway::launch(&GatewayConfig::new().metrics(metrics).routes([
        invoke_route("slow", "sleep", emu.http.port()),
        invoke_route("ok", "echo", emu.http.port()),
    ]));
    let pid = gw.pid();
    // Warm up (pool, allocator), then measure.
    for _ in 0..5 {
        let (status, _) = raw_request(
            gw.addr,
            b"POST /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
        );
        assert_eq!(status, 200);
    }
    let fds_before = open_fds(pid);
    let rss_before = rss_kib(pid);

    for round in 0..3 {
        // 100 invokes of a function that takes 3 s; every client leaves after 200 ms.
        let mut conns = Vec::new();
        for _ in 0..100 {
            let mut s = TcpStream::connect(gw.addr).unwrap();
            s.write_all(
                b"POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n{\"ms\":3000}",
            )
            .unwrap();
            conns.push(s);
        }
        // All 100 in flight (the function answers after 3 s, so they stay in flight until then).
        wait_until(
            &format!("round {round}: 100 requests in flight"),
            Duration::from_millis(2500),
            || gauge(metrics, "lambda_proxy_in_flight_requests") >= 100.0,
        );
        drop(conns);
        // The gateway notices each departure and ends the wait long before Lambda's 3 s.
        wait_until(
            &format!("round {round}: no request in flight after the clients left"),
            Duration::from_millis(1500),
            || gauge(metrics, "lambda_proxy_in_flight_requests") == 0.0,
        );
    }
    wait_until(
        &format!("no sockets leaked ({fds_before} before)"),
        Duration::from_secs(5),
        || open_fds(pid) <= fds_before + 8,
    );
    let rss_after = rss_kib(pid);
    assert!(
        rss_after < rss_before + 16 * 1024,
        "RSS {rss_before} KiB → {rss_after} KiB"
    );
    // And the gateway still serves.
    let (status, body) = raw_request(
        gw.addr,
        b"POST /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
    );
    assert_eq!(status, 200, "{body}");
    let log = gw.log_text();
    assert!(log.contains("client_gone"), "the access log says why");
    assert!(!log.contains("panicked"));
}
