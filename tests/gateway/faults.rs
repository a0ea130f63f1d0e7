//! Fault injection: the network and AWS let the gateway down (a fault proxy between the gateway
//! and the strict emulator), and the gateway answers with the right status, keeps the client's
//! connection when it can, retries only what is safe, and does not amplify throttles.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::fault_proxy::{Fault, FaultProxy};
use crate::common::*;

/// One HTTP/1.1 response read off a keep-alive connection.
struct Response {
    status: u16,
    head: String,
    body: Vec<u8>,
    /// The body ended early (the connection closed before `Content-Length` / the last chunk).
    cut: bool,
}

impl Response {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A raw keep-alive HTTP/1.1 client: several requests on one TCP connection.
struct KeepAlive {
    s: TcpStream,
    buf: Vec<u8>,
}

impl KeepAlive {
    fn connect(addr: SocketAddr) -> KeepAlive {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        KeepAlive { s, buf: Vec::new() }
    }

    fn post(&mut self, path: &str, body: &str) -> Response {
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.s.write_all(req.as_bytes()).unwrap();
        self.read_response()
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 65536];
        match self.s.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    fn read_response(&mut self) -> Response {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            assert!(self.fill(), "connection closed before a response head");
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end);
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap();
        let mut r = Response {
            status,
            head,
            body: Vec::new(),
            cut: false,
        };
        if let Some(len) = r.header("content-length") {
            let len: usize = len.parse().unwrap();
            while self.buf.len() < len {
                if !self.fill() {
                    r.cut = true;
                    break;
                }
            }
            let take = len.min(self.buf.len());
            r.body = self.buf.drain(..take).collect();
        } else if r
            .header("transfer-encoding")
            .is_some_and(|t| t.contains("chunked"))
        {
            loop {
                let Some(line_end) = self.buf.windows(2).position(|w| w == b"\r\n") else {
                    if !self.fill() {
                        r.cut = true;
                        break;
                    }
                    continue;
                };
                let size = usize::from_str_radix(
                    String::from_utf8_lossy(&self.buf[..line_end]).trim(),
                    16,
                )
                .unwrap();
                while self.buf.len() < line_end + 2 + size + 2 {
                    if !self.fill() {
                        r.cut = true;
                        break;
                    }
                }
                if r.cut {
                    break;
                }
                r.body
                    .extend_from_slice(&self.buf[line_end + 2..line_end + 2 + size]);
                self.buf.drain(..line_end + 2 + size + 2);
                if size == 0 {
                    break;
                }
            }
        }
        r
    }
}

fn metric(metrics: SocketAddr, name: &str, labels: &[&str]) -> u64 {
    metric_sum(metrics, name, labels).unwrap_or(0.0) as u64
}

#[test]
fn connections_that_cannot_be_opened_are_retried_with_backoff_then_given_up() {
    let emu = Emulator::start();
    let fault = FaultProxy::start(emu.https);
    let metrics_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let ca = emu.ca_pem();
    let uri = |uri: &str, name: &str| {
        Route::function_uri(uri, &format!("https://localhost:{}/open", fault.port()))
            .name(name)
            .set("keepalive", false)
            .ca_file(&ca)
    };
    let inv = |name: &str| {
        Route::function_name(name, "echo")
            .endpoint("localhost", fault.port())
            .ca_file(&ca)
            .set("keepalive", false)
    };
    let config = GatewayConfig::new().metrics(metrics_addr).routes([
        uri("/uri/*", "uri"),
        uri("/once/*", "uri-once").set_in(&["retries", "attempts"], 1),
        inv("inv"),
        inv("inv-once").set_in(&["retries", "attempts"], 1),
    ]);
    let gw = Gateway::launch(&config);

    // Two failed TLS handshakes, then the emulator: the client sees one 200.
    for (path, route) in [("/uri/a", "uri"), ("/inv", "inv")] {
        fault.set(Fault::CloseFirst(2));
        let before = fault.accepted();
        let mut c = KeepAlive::connect(gw.addr);
        let r = c.post(path, r#"{"n":1}"#);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(fault.accepted() - before, 3, "{path}: two retries");
        assert_eq!(
            metric(
                metrics_addr,
                "lambda_proxy_upstream_retries_total",
                &[&format!("route=\"{route}\""), "reason=\"connect\""]
            ),
            2,
            "{path}"
        );
    }

    // With retries off: one attempt, 502 naming the TLS failure.
    for path in ["/once/a", "/inv-once"] {
        fault.set(Fault::CloseFirst(1));
        let before = fault.accepted();
        let r = KeepAlive::connect(gw.addr).post(path, "{}");
        assert_eq!(r.status, 502, "{path}: {}", r.text());
        assert_eq!(fault.accepted() - before, 1, "{path}");
    }

    // A permanent TLS failure: 3 attempts (the default), then 502 upstream_tls_error, and the
    // retries stay inside the route's time (25 ms doubling backoff: well under a second).
    fault.set(Fault::Garbage);
    for path in ["/uri/a", "/inv"] {
        let before = fault.accepted();
        let t = Instant::now();
        let r = KeepAlive::connect(gw.addr).post(path, "{}");
        assert_eq!(r.status, 502, "{path}: {}", r.text());
        assert!(
            r.text().contains("upstream_tls_error"),
            "{path}: {}",
            r.text()
        );
        assert_eq!(fault.accepted() - before, 3, "{path}");
        assert!(t.elapsed() < Duration::from_secs(5), "{path}");
    }
}

#[test]
fn a_silent_upstream_times_out_with_504_and_invoke_clients_keep_their_connection() {
    let emu = Emulator::start();
    let fault = FaultProxy::start(emu.http);
    fault.set(Fault::Silent);
    let on_emu = |name: &str, function: &str| {
        Route::function_name(name, function)
            .endpoint("127.0.0.1", emu.http.port())
            .plain_http()
    };
    let config = GatewayConfig::new().routes([
        Route::function_uri(
            "/silent/*",
            &format!("http://127.0.0.1:{}/open", fault.port()),
        )
        .timeout_ms(400),
        on_emu("slow", "sleep").timeout_ms(400),
        on_emu("ok", "echo"),
    ]);
    let gw = Gateway::launch(&config);

    // function_name: 504 at the timeout, then the same client connection serves the next call.
    let mut c = KeepAlive::connect(gw.addr);
    let t = Instant::now();
    let r = c.post("/slow", r#"{"ms":5000}"#);
    let took = t.elapsed();
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(r.text().contains("upstream_timeout"));
    assert!(
        took >= Duration::from_millis(390) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_ne!(r.header("connection").as_deref(), Some("close"));
    let r = c.post("/ok", r#"{"again":true}"#);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), r#"{"again":true}"#);

    // function_uri: 504 at the timeout. Pingora 0.9.1 closes the client connection after a
    // proxy error, so the answer says so (`Connection: close`) and the client reconnects
    // cleanly instead of writing its next request into a closed socket.
    let mut c = KeepAlive::connect(gw.addr);
    let t = Instant::now();
    let r = c.post("/silent/x", "{}");
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    let r = KeepAlive::connect(gw.addr).post("/ok", "{}");
    assert_eq!(r.status, 200);
}

#[test]
fn upstream_resets_give_502_before_the_response_and_a_visible_cut_after() {
    let emu = Emulator::start();
    let fault = FaultProxy::start(emu.http);
    let via_fault = |uri: &str, stage: &str| {
        Route::function_uri(uri, &format!("http://127.0.0.1:{}{stage}", fault.port()))
            .set("keepalive", false)
    };
    let inv = |name: &str, function: &str| {
        Route::function_name(name, function)
            .endpoint("127.0.0.1", fault.port())
            .plain_http()
            .set("keepalive", false)
    };
    let config = GatewayConfig::new().routes([
        via_fault("/uri/*", "/open"),
        via_fault("/bytes/*", "/bytes"),
        inv("big", "large"),
        inv("small", "echo"),
    ]);
    let gw = Gateway::launch(&config);

    // Reset before any response byte: 502; a synchronous invoke that may have reached Lambda
    // is not sent again (one connection).
    fault.set(Fault::CutResponseAfter(0));
    for path in ["/uri/a", "/small"] {
        let before = fault.accepted();
        let r = KeepAlive::connect(gw.addr).post(path, r#"{"x":1}"#);
        assert_eq!(r.status, 502, "{path}: {}", r.text());
        assert_eq!(fault.accepted() - before, 1, "{path}: never retried");
    }

    // Reset after the response started: the client sees the body cut, never a complete success.
    fault.set(Fault::CutResponseAfter(200_000));
    let r = KeepAlive::connect(gw.addr).post("/big", r#"{"bytes":3000000}"#);
    assert_eq!(r.status, 200);
    assert!(r.cut, "a cut Invoke result must not look complete");
    assert!(r.body.len() < 3_000_000);

    // A large function_uri response cut midway (3 MB from the emulator's `/bytes` stage).
    let r = KeepAlive::connect(gw.addr).post("/bytes/3000000", "");
    assert_eq!(r.status, 200);
    assert!(r.cut, "a cut function_uri response must not look complete");
    assert!(r.body.len() < 3_000_000);

    // And afterwards everything works again.
    fault.set(Fault::Pass);
    let r = KeepAlive::connect(gw.addr).post("/small", r#"{"fine":1}"#);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), r#"{"fine":1}"#);
    assert!(!gw.log_text().contains("panicked"));
}

#[test]
fn throttles_are_mapped_not_amplified_and_event_throttles_are_retried() {
    let emu = Emulator::start();
    let metrics_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let throttle = |name: &str| {
        Route::function_name(name, "throttle")
            .endpoint("127.0.0.1", emu.http.port())
            .plain_http()
    };
    let config = GatewayConfig::new().metrics(metrics_addr).routes([
        throttle("sync"),
        throttle("event").set("invocation_type", "Event"),
        throttle("count"),
    ]);
    let gw = Gateway::launch(&config);
    let count = |key: &str| -> u64 {
        let r =
            KeepAlive::connect(gw.addr).post("/count", &format!(r#"{{"key":"{key}","times":0}}"#));
        assert_eq!(r.status, 200, "{}", r.text());
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        v["attempts"].as_u64().unwrap() - 1 // the count includes this read
    };

    // A storm of throttles on a synchronous route: each request reaches Lambda once, 429 with
    // Retry-After.
    let mut c = KeepAlive::connect(gw.addr);
    for _ in 0..20 {
        let r = c.post("/sync", r#"{"key":"storm"}"#);
        assert_eq!(r.status, 429, "{}", r.text());
        assert!(r.header("retry-after").is_some());
    }
    assert_eq!(
        count("storm"),
        20,
        "synchronous throttles are never retried"
    );

    // An Event invocation throttled twice, then queued: 202 after two retries.
    let r = c.post("/event", r#"{"key":"ev","times":2}"#);
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(count("ev"), 3);

    // An Event storm: 3 attempts (the default), then 429; bounded.
    for _ in 0..5 {
        let r = c.post("/event", r#"{"key":"evstorm"}"#);
        assert_eq!(r.status, 429, "{}", r.text());
    }
    assert_eq!(count("evstorm"), 15);
    assert_eq!(
        metric(
            metrics_addr,
            "lambda_proxy_upstream_retries_total",
            &["route=\"event\"", "reason=\"throttled\""]
        ),
        2 + 5 * 2
    );
    assert_eq!(
        metric(
            metrics_addr,
            "lambda_proxy_upstream_retries_total",
            &["route=\"sync\""]
        ),
        0
    );
}
