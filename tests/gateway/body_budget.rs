//! The process-wide budget for request bodies held in memory (`limits.buffered_body_bytes`):
//! requests that do not fit are answered 503 with `Retry-After` (never dropped silently), the
//! bytes held are visible as a gauge that returns to 0, and requests are served again once the
//! budget is released.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::common::*;

const BUDGET: u64 = 1024 * 1024;

fn start(route: Route) -> (Gateway, SocketAddr) {
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let gw = Gateway::launch(
        &GatewayConfig::new()
            .metrics(metrics)
            .body_budget(BUDGET)
            .route(route),
    );
    (gw, metrics)
}

fn held(metrics: SocketAddr) -> f64 {
    metric_sum(metrics, "lambda_proxy_buffered_body_bytes", &[]).unwrap_or(-1.0)
}

fn wait_held(metrics: SocketAddr, want: f64) {
    let reached = poll_until(Duration::from_secs(10), || held(metrics) == want);
    assert!(
        reached,
        "buffered_body_bytes stayed at {} (wanted {want})",
        held(metrics)
    );
}

fn refusals(metrics: SocketAddr, route: &str) -> f64 {
    let label = format!("route=\"{route}\"");
    metric_sum(
        metrics,
        "lambda_proxy_body_budget_refusals_total",
        &[label.as_str()],
    )
    .unwrap_or(0.0)
}

/// Reads one response: status, head (lower case) and body (by Content-Length).
fn read_response(s: &mut TcpStream) -> (u16, String, String) {
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).into_owned();
                let status = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                return (status, head, body);
            }
        }
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed before a whole response");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn assert_refused(status: u16, head: &str, body: &str) {
    assert_eq!(status, 503, "{head}\n{body}");
    assert!(head.contains("\r\nretry-after: 1"), "{head}");
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["error"], "body_buffer_full", "{body}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[test]
fn signed_bodies_over_the_budget_get_503_and_the_budget_is_released() {
    let emu = Emulator::start();
    let (gw, metrics) = start(
        Route::function_uri("/iam/*", &emu.http_url("/iam/prod"))
            .name("signed")
            .iam(Iam::keys(AKID, SECRET, "execute-api").unset("service")),
    );
    assert_eq!(held(metrics), 0.0);
    let head = |len: usize| {
        format!(
            "POST /iam/a HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\n\r\n"
        )
    };

    // A 700,000-byte upload in progress holds its whole Content-Length.
    let big = 700_000;
    let mut first = TcpStream::connect(gw.addr).unwrap();
    first.write_all(head(big).as_bytes()).unwrap();
    first.write_all(&vec![b'a'; 1000]).unwrap();
    wait_held(metrics, big as f64);

    // A second one does not fit: 503 + Retry-After at once, before its body is read.
    let mut second = TcpStream::connect(gw.addr).unwrap();
    second.write_all(head(big).as_bytes()).unwrap();
    second.write_all(&vec![b'b'; 1000]).unwrap();
    let (status, h, body) = read_response(&mut second);
    assert_refused(status, &h, &body);

    // A chunked upload (no Content-Length) is refused once what it sent passes the budget.
    let mut chunked = TcpStream::connect(gw.addr).unwrap();
    chunked
        .write_all(
            b"POST /iam/c HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .unwrap();
    chunked
        .write_all(format!("{:x}\r\n", 400_000).as_bytes())
        .unwrap();
    let _ = chunked.write_all(&vec![b'c'; 400_000]);
    let (status, h, body) = read_response(&mut chunked);
    assert_refused(status, &h, &body);

    // A small body still fits next to the big one.
    let (status, body) = raw_request(
        gw.addr,
        format!(
            "POST /iam/s HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\nContent-Length: 1000\r\n\r\n{}",
            "s".repeat(1000)
        )
        .as_bytes(),
    );
    assert_eq!(status, 200, "{body}");

    // The first upload completes normally; then nothing is held any more.
    first.write_all(&vec![b'a'; big - 1000]).unwrap();
    let (status, _, body) = read_response(&mut first);
    assert_eq!(status, 200, "{body}");
    let echo: Echo = serde_json::from_str(&body).unwrap();
    assert_eq!(echo.body_len, big as u64);
    drop(first);
    wait_held(metrics, 0.0);
    assert_eq!(refusals(metrics, "signed"), 2.0);

    // Released: the same large body is accepted now.
    let (status, body) = raw_request(
        gw.addr,
        format!(
            "{}{}",
            head(big).replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n"),
            "d".repeat(big)
        )
        .as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    wait_held(metrics, 0.0);
}

#[test]
fn concurrent_invoke_uploads_beyond_the_budget_are_refused_visibly() {
    let emu = Emulator::start();
    let (gw, metrics) = start(Route::function_name("inv", "sleep").on(&emu));
    // ~400 KB events that keep the function busy 500 ms: two fit in the 1 MiB budget at once.
    let payload = format!("{{\"ms\":500,\"pad\":\"{}\"}}", "p".repeat(400_000));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = gw.url("/inv");
    let results: Vec<(u16, Option<String>, String)> = rt.block_on(async {
        let c = client();
        let calls = (0..8).map(|_| {
            let (c, url, payload) = (c.clone(), url.clone(), payload.clone());
            async move {
                let r = c.post(&url).body(payload).send().await.unwrap();
                let status = r.status().as_u16();
                let retry_after = r
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string());
                (status, retry_after, r.text().await.unwrap())
            }
        });
        futures_util::future::join_all(calls).await
    });
    let ok = results.iter().filter(|r| r.0 == 200).count();
    let refused: Vec<_> = results.iter().filter(|r| r.0 == 503).collect();
    assert_eq!(ok + refused.len(), 8, "nothing else: {results:?}");
    assert!(ok >= 2, "{ok} served");
    assert!(!refused.is_empty(), "the budget refused none of 8 uploads");
    for (_, retry_after, body) in &refused {
        assert_eq!(retry_after.as_deref(), Some("1"));
        assert!(body.contains("body_buffer_full"), "{body}");
    }
    for (status, _, body) in &results {
        if *status == 200 {
            assert!(body.contains("slept_ms"), "{body}");
        }
    }
    wait_held(metrics, 0.0);
    assert_eq!(refusals(metrics, "inv"), refused.len() as f64);
    // Released: served again.
    let status = rt.block_on(async {
        client()
            .post(&url)
            .body(payload)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    wait_held(metrics, 0.0);
}
