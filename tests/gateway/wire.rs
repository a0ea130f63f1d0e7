//! Faithful on the wire: what real clients send (`Expect: 100-continue`, pipelined requests,
//! odd but legal request targets, hosts in any case) is answered as RFC 9110/9112 say, and
//! what reaches AWS is exactly what was signed and routed. Raw sockets, so nothing is
//! normalised by a client library first.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;

fn routes(emu: &Emulator) -> GatewayConfig {
    let inv = |name: &str, uri: &str| Route::function_name(name, "echo").uri(uri).on(emu);
    let iam = || {
        Iam::keys(AKID, SECRET, "execute-api")
            .unset("service")
            .set("aws_region", "us-east-1")
    };
    let iam_url = emu.http_url("/iam/prod");
    let open_url = emu.http_url("/open/p");
    GatewayConfig::new().routes([
        Route::function_uri("/iam/*", &iam_url)
            .name("iam")
            .iam(iam()),
        Route::function_uri("/small/*", &iam_url)
            .name("small")
            .body_limit(100)
            .iam(iam()),
        Route::function_uri("/key/*", &emu.http_url("/apikey/prod"))
            .name("key")
            .apikey(API_KEY),
        Route::function_uri("/api/*", &open_url).name("api"),
        Route::function_uri("/h/*", &open_url)
            .name("hosted")
            .set("hosts", ["*.example.com", "b.example"]),
        Route::function_uri("/trace/*", &open_url)
            .name("tracer")
            .set("methods", ["TRACE"]),
        inv("inv", "/inv/*").api_gateway("2.0"),
        inv("raw", "/raw"),
        inv("stream", "/stream").set("response_streaming", true),
        Route::function_uri("/*", &emu.http_url("/open/other")).name("catchall"),
    ])
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads until the end of one response head (`\r\n\r\n`), or `None` on timeout/EOF.
fn read_head(s: &mut TcpStream, timeout: Duration) -> Option<String> {
    s.set_read_timeout(Some(timeout)).unwrap();
    let head = read_to_blank_line(s)?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// Reads byte by byte up to and including the first `\r\n\r\n`; `None` on timeout/EOF.
fn read_to_blank_line(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
    }
    Some(buf)
}

fn read_all(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn body_of(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

fn json_of(response: &str) -> Value {
    serde_json::from_str(body_of(response)).unwrap_or_else(|e| panic!("not JSON ({e}): {response}"))
}

#[test]
fn expect_100_continue_is_answered_and_never_forwarded() {
    let emu = Emulator::start();
    let gw = Gateway::launch(&routes(&emu));
    // A signed route, an unsigned (streamed) route and an Invoke route: each answers
    // `100 Continue` before the body is sent, then the real answer.
    for path in ["/iam/up", "/key/up", "/inv/up"] {
        let mut s = connect(gw.addr);
        let body = br#"{"a":1}"#;
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        let interim = read_head(&mut s, Duration::from_secs(3))
            .unwrap_or_else(|| panic!("{path}: no 100 Continue within 3 s"));
        assert!(interim.starts_with("HTTP/1.1 100 "), "{path}: {interim}");
        s.write_all(body).unwrap();
        let answer = read_all(&mut s);
        assert!(answer.starts_with("HTTP/1.1 200 "), "{path}: {answer}");
        let seen = json_of(&answer).to_string().to_ascii_lowercase();
        assert!(
            seen.contains("content-type"),
            "{path}: headers echoed: {seen}"
        );
        assert!(
            !seen.contains("100-continue"),
            "{path}: Expect forwarded: {seen}"
        );
    }
    // Refused on its Content-Length: the final answer comes instead of 100, at once, and the
    // gateway does not wait for a body the client will not send.
    let mut s = connect(gw.addr);
    s.write_all(b"POST /small/up HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    let answer = read_all(&mut s);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "closed after {:?}",
        started.elapsed()
    );
    // HTTP/1.0 clients are never sent a 1xx (RFC 9110 §15.2).
    let mut s = connect(gw.addr);
    s.write_all(b"POST /iam/up HTTP/1.0\r\nHost: gw.test\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n{}")
        .unwrap();
    let answer = read_all(&mut s);
    let status_line = answer.lines().next().unwrap_or_default();
    assert!(status_line.contains(" 200 "), "{answer}");
    assert!(!answer.contains(" 100 "), "{answer}");
}

#[test]
fn signed_queries_are_sent_exactly_as_signed() {
    let emu = Emulator::start();
    let gw = Gateway::launch(&routes(&emu));
    // The emulator refuses (403) a raw `+` and empty pairs in a signed query, as a service
    // that reads them the other way would. The gateway sends the canonical form it signed.
    for (query, forwarded) in [
        ("q=a+b", "q=a%2Bb"),
        ("q=a%20b", "q=a%20b"),
        ("q=a%2bb", "q=a%2Bb"),
        ("a=1&&b=2&", "a=1&b=2"),
        ("x=%7b%7D&y=,:@&flag", "x=%7B%7D&y=%2C%3A%40&flag"),
        ("b=2&a=1&a=0", "b=2&a=1&a=0"),
    ] {
        let (status, body) = raw_get(gw.addr, &format!("/iam/q?{query}"));
        assert_eq!(status, 200, "{query}: {body}");
        let echo: Echo = serde_json::from_str(&body).unwrap();
        assert_eq!(echo.query, forwarded, "{query}");
    }
    // Only empty pairs: nothing is left to send.
    let (status, body) = raw_get(gw.addr, "/iam/q?&&");
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Echo>(&body).unwrap().query, "");
    // A malformed escape cannot be signed as AWS would read it.
    let (status, body) = raw_get(gw.addr, "/iam/q?a=%zz");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unsignable_query"), "{body}");
    // Unsigned routes forward the query byte for byte.
    let (status, body) = raw_get(gw.addr, "/api/q?q=a+b&&c");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Echo>(&body).unwrap().query,
        "q=a+b&&c"
    );
}

#[test]
fn routes_match_the_normalised_path_and_host() {
    let emu = Emulator::start();
    let gw = Gateway::launch(&routes(&emu));
    for (target, path) in [
        ("/%61pi/x", "/open/p/x"),
        ("/api/./x/%7euser", "/open/p/x/~user"),
        ("//api//x", "/open/p/x"),
        ("/api/x/../y", "/open/p/y"),
        ("/api/../x", "/open/other/x"),
        ("/%2e%2e/api/z", "/open/p/z"),
    ] {
        let (status, body) = raw_get(gw.addr, target);
        assert_eq!(status, 200, "{target}: {body}");
        let echo: Echo = serde_json::from_str(&body).unwrap();
        assert_eq!(echo.path, path, "{target}");
    }
    let (status, body) = raw_get(gw.addr, "/api/%zz");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("bad_path"), "{body}");
    for host in [
        "A.EXAMPLE.COM",
        "a.example.com.",
        "B.Example",
        "b.example.:8080",
    ] {
        let (status, body) = raw_request(
            gw.addr,
            format!("GET /h/x HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        assert_eq!(status, 200, "{host}: {body}");
        let echo: Echo = serde_json::from_str(&body).unwrap();
        assert_eq!(echo.path, "/open/p/x", "{host} took the hosted route");
    }
    // The function sees the path the gateway routed on.
    let (status, body) = raw_get(gw.addr, "/%69nv/a/./%7Eb");
    assert_eq!(status, 200, "{body}");
    let event: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(event["rawPath"], "/inv/a/~b", "{event}");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let emu = Emulator::start();
    let gw = Gateway::launch(&routes(&emu));
    for prefix in ["/key", "/iam", "/inv"] {
        let mut s = connect(gw.addr);
        let mut batch = String::new();
        for (i, last) in [(1, false), (2, false), (3, true)] {
            batch += &format!(
                "GET {prefix}/n{i} HTTP/1.1\r\nHost: gw.test\r\n{}\r\n",
                if last { "Connection: close\r\n" } else { "" }
            );
        }
        s.write_all(batch.as_bytes()).unwrap();
        let all = read_all(&mut s);
        assert_eq!(all.matches("HTTP/1.1 200 ").count(), 3, "{prefix}: {all}");
        let (one, two, three) = (
            all.find("/n1").unwrap_or(usize::MAX),
            all.find("/n2").unwrap_or(usize::MAX),
            all.find("/n3").unwrap_or(usize::MAX),
        );
        assert!(
            one < two && two < three && three < usize::MAX,
            "{prefix}: {all}"
        );
    }
}

#[test]
fn request_hygiene() {
    let emu = Emulator::start();
    let gw = Gateway::launch(&routes(&emu));
    let cases: Vec<(&str, &[u8], u16, &str)> = vec![
        ("no Host on HTTP/1.1", b"GET /api/a HTTP/1.1\r\nConnection: close\r\n\r\n", 400, "bad_host"),
        ("two Host lines", b"GET /api/a HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n", 400, ""),
        ("two equal Content-Length", b"POST /api/a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", 400, "bad_framing"),
        ("Content-Length list", b"POST /api/a HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\nConnection: close\r\n\r\nhello", 400, "bad_framing"),
        ("two chunked lines", b"POST /api/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n", 400, "bad_framing"),
        ("TRACE", b"TRACE /api/a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 405, "method_not_allowed"),
        ("HTTP/1.0 without Host", b"GET /api/a HTTP/1.0\r\nUser-Agent: t\r\n\r\n", 200, ""),
        ("TRACE where listed", b"TRACE /trace/a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 200, ""),
    ];
    for (name, raw, want, code) in cases {
        let (status, body) = raw_request(gw.addr, raw);
        assert_eq!(status, want, "{name}: {body}");
        // Pingora's parser refuses two Host lines itself (a plain 400); the rest are the
        // gateway's JSON answers.
        if !code.is_empty() {
            assert!(body.contains(code), "{name}: {body}");
            assert!(
                body.ends_with("}\n"),
                "{name}: JSON error bodies end with a newline"
            );
        }
    }
    let mut s = connect(gw.addr);
    s.write_all(b"TRACE /api/a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    let answer = read_all(&mut s).to_ascii_lowercase();
    assert!(
        answer.contains("\r\nallow: get, head, post, put, patch, delete, options\r\n"),
        "{answer}"
    );
}

#[test]
fn refusals_of_requests_with_a_body_are_readable() {
    let emu = Emulator::start();
    let open_url = emu.http_url("/open/p");
    let gw = Gateway::launch(
        &GatewayConfig::new().routes([
            Route::function_uri("/only", &open_url).name("only"),
            Route::function_uri("/trace/*", &open_url)
                .name("tracer")
                .set("methods", ["TRACE"]),
        ]),
    );
    // 404 and 405 on requests whose 1 MB body is still on its way: the gateway drains it, so
    // the client reads the answer instead of a connection reset.
    for (head, want) in [
        ("POST /nowhere-at-all HTTP/1.1\r\nHost: other.test\r\n", 404),
        ("POST /trace/a HTTP/1.1\r\nHost: a\r\n", 405),
    ] {
        let mut s = connect(gw.addr);
        let body = vec![b'x'; 1 << 20];
        s.write_all(format!("{head}Content-Length: {}\r\n\r\n", body.len()).as_bytes())
            .unwrap();
        // Kept: the answer must come while the body is still on its way (the subject).
        std::thread::sleep(Duration::from_millis(300));
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            for c in body.chunks(64 * 1024) {
                if w.write_all(c).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5)); // kept: paces the upload
            }
        });
        let mut out = Vec::new();
        let read = s.read_to_end(&mut out);
        let _ = writer.join();
        let text = String::from_utf8_lossy(&out);
        assert!(read.is_ok(), "{want}: {read:?} after {text:?}");
        assert!(text.starts_with(&format!("HTTP/1.1 {want} ")), "{text}");
        assert!(text.ends_with("}\n"), "{text}");
    }
}

#[test]
fn invoke_answers_http_1_0_and_non_json_payloads_correctly() {
    let emu = Emulator::start();
    let gw = Gateway::launch(&routes(&emu));
    // A streamed result to an HTTP/1.0 client: no chunked coding (HTTP/1.0 has none); the body
    // ends with the connection.
    let mut s = connect(gw.addr);
    s.write_all(b"POST /stream HTTP/1.0\r\nHost: gw.test\r\nContent-Length: 2\r\n\r\n{}")
        .unwrap();
    let answer = read_all(&mut s);
    let status_line = answer.lines().next().unwrap_or_default();
    assert!(status_line.contains(" 200 "), "{answer}");
    let head = answer
        .split("\r\n\r\n")
        .next()
        .unwrap()
        .to_ascii_lowercase();
    assert!(!head.contains("transfer-encoding"), "{head}");
    assert!(!body_of(&answer).is_empty(), "{answer}");
    assert!(
        !body_of(&answer).ends_with("0\r\n\r\n"),
        "chunked framing: {answer:?}"
    );
    // A raw route passes the body as the payload; Lambda refuses one that is not JSON: the
    // client's fault (400), not the gateway's (502).
    let (status, body) = raw_request(
        gw.addr,
        b"POST /raw HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 8\r\nConnection: close\r\n\r\nnot json",
    );
    assert_eq!(status, 400, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "invalid_request_content", "{body}");
    assert!(body.ends_with("}\n"));
}

#[test]
fn events_carry_no_hop_by_hop_headers() {
    let emu = Emulator::start();
    let gw = Gateway::launch(&routes(&emu));
    let (status, body) = raw_request(
        gw.addr,
        b"GET /inv/x HTTP/1.1\r\nHost: gw.test\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nTE: trailers\r\nKeep-Alive: timeout=5\r\nProxy-Authorization: Basic c2VjcmV0\r\nX-Kept: yes\r\n\r\n",
    );
    assert_eq!(status, 200, "{body}");
    let event: Value = serde_json::from_str(&body).unwrap();
    let headers = event["headers"].as_object().unwrap();
    assert_eq!(
        headers.get("x-kept").and_then(Value::as_str),
        Some("yes"),
        "{event}"
    );
    for gone in [
        "connection",
        "x-hop",
        "te",
        "keep-alive",
        "proxy-authorization",
    ] {
        assert!(!headers.contains_key(gone), "{gone} in {event}");
    }
}

#[test]
fn requests_shorter_than_the_h2c_preface_are_answered() {
    // Plain listeners accept h2c (the default): Pingora 0.9.1 waited for 24 bytes (the h2
    // preface's length) before reading any request, so `GET / HTTP/1.0\r\n\r\n` (18 bytes, the
    // classic health check) or HAProxy's `OPTIONS / HTTP/1.0\r\n\r\n` hung until the client
    // gave up (vendor/README.md, patch 0001).
    let emu = Emulator::start();
    let gw = Gateway::launch(&routes(&emu));
    for raw in [
        &b"GET /x HTTP/1.0\r\n\r\n"[..],
        b"OPTIONS / HTTP/1.0\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
    ] {
        let mut s = connect(gw.addr);
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        s.write_all(raw).unwrap();
        let answer = read_all(&mut s);
        let status_line = answer.lines().next().unwrap_or_default().to_string();
        assert!(
            status_line.starts_with("HTTP/1.1 "),
            "{:?}: no answer within 3 s: {answer:?}",
            String::from_utf8_lossy(raw)
        );
    }
    // An h2c preface that arrives in pieces is still recognised: the server's SETTINGS frame
    // (type 4) answers it.
    let mut s = connect(gw.addr);
    s.write_all(b"PRI * HTTP/2.0\r\n").unwrap();
    // Kept: the preface must arrive in two pieces (the subject).
    std::thread::sleep(Duration::from_millis(200));
    s.write_all(b"\r\nSM\r\n\r\n").unwrap();
    s.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).unwrap(); // empty SETTINGS
    let mut frame = [0u8; 9];
    s.read_exact(&mut frame).unwrap();
    assert_eq!(
        frame[3], 4,
        "first frame from the server is SETTINGS: {frame:?}"
    );
}

#[test]
fn connections_that_send_no_request_are_closed_after_60_s() {
    // Before a connection's first bytes arrive Pingora decides between HTTP/1 and h2c, and no
    // HTTP/1 timeout applies yet: a client that connects and sends nothing (or only the start
    // of the h2 preface) held a task and a descriptor forever. Patch 0003 closes it after the
    // 60 s HTTP/1 gives a first request head.
    let emu = Emulator::start();
    let gw = Gateway::launch(&routes(&emu));
    let silent: Vec<std::thread::JoinHandle<(Duration, usize)>> = [&b""[..], b"PRI * HT"]
        .into_iter()
        .map(|first| {
            let addr = gw.addr;
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(first).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(90))).unwrap();
                let started = Instant::now();
                let mut buf = [0u8; 64];
                let n = s.read(&mut buf).unwrap_or(usize::MAX);
                (started.elapsed(), n)
            })
        })
        .collect();
    for h in silent {
        let (after, n) = h.join().unwrap();
        assert_eq!(n, 0, "closed without an answer (read {n} bytes)");
        assert!(
            after >= Duration::from_secs(55) && after < Duration::from_secs(75),
            "closed after {after:?}"
        );
    }
    // Ordinary requests are untouched.
    let (status, body) = raw_get(gw.addr, "/api/x");
    assert_eq!(status, 200, "{body}");
}

/// A plain HTTP/1.1 upstream on 127.0.0.1 that answers every request `200 {}` and reports, for
/// each request, how many TCP segments carrying data its connection received for it
/// (`TCP_INFO`'s `tcpi_data_segs_in`, cumulative per connection, read after each request).
fn segment_counting_upstream() -> (String, std::sync::mpsc::Receiver<u32>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/stage", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(16) {
            let Ok(mut conn) = conn else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                // Counted from the connection's start (data that came before `accept` too).
                let mut seen = 0;
                while let Some(()) = read_one_request(&mut conn) {
                    let now = data_segments_in(&conn);
                    let _ = tx.send(now - seen);
                    seen = now;
                    let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
                    if conn.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, rx)
}

/// Reads one request (head, then a `Content-Length` body); `None` at EOF.
fn read_one_request(conn: &mut TcpStream) -> Option<()> {
    let head = read_to_blank_line(conn)?;
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).ok()
}

fn data_segments_in(conn: &TcpStream) -> u32 {
    use std::os::fd::AsRawFd;
    // SAFETY: getsockopt into a zeroed tcp_info of the size passed.
    unsafe {
        let mut info: libc::tcp_info = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        let rc = libc::getsockopt(
            conn.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        );
        assert_eq!(rc, 0, "getsockopt(TCP_INFO)");
        info.tcpi_data_segs_in
    }
}

#[test]
fn upstream_requests_leave_head_and_body_in_one_segment() {
    // pingora-core patch 0005: Pingora wrote the head and then the body, two segments (and two
    // wake-ups of the upstream) per request; now one, streamed and signed routes alike.
    let (url, segments) = segment_counting_upstream();
    let iam = Iam::keys(AKID, SECRET, "execute-api")
        .unset("service")
        .set("aws_region", "us-east-1");
    let gw = Gateway::launch(
        &GatewayConfig::new().routes([
            Route::function_uri("/plain/*", &url).name("plain"),
            Route::function_uri("/signed/*", &url)
                .name("signed")
                .iam(iam),
        ]),
    );
    let mut client = connect(gw.addr);
    for (path, size) in [
        ("/plain/a", 1024),
        ("/signed/a", 1024),
        ("/signed/b", 16 * 1024),
        ("/plain/b", 1024),
        ("/signed/c", 1024),
    ] {
        let body = format!("{{\"x\":\"{}\"}}", "a".repeat(size - 8));
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        client
            .write_all(format!("{head}{body}").as_bytes())
            .unwrap();
        let answer = read_head(&mut client, Duration::from_secs(10)).expect("an answer");
        assert!(answer.starts_with("HTTP/1.1 200 "), "{path}: {answer}");
        let mut rest = [0u8; 2];
        client.read_exact(&mut rest).unwrap();
        let count = segments
            .recv_timeout(Duration::from_secs(5))
            .expect("the upstream saw the request");
        assert_eq!(
            count, 1,
            "{path} ({size} B body): data segments for one request"
        );
    }
    // A body the server has to invite first still waits for the interim answer: covered by
    // `expect_100_continue_is_answered_and_never_forwarded` (the gateway answers 100 itself).
}
