//! Hostile request shapes are refused by the gateway itself and never reach AWS. The route
//! points at a closed port: anything forwarded would come back as 502, so a 400/431 proves the
//! request was stopped before any upstream connection.

use crate::common::*;
use std::net::SocketAddr;
use std::time::Duration;

#[test]
fn smuggling_shapes_and_oversized_heads_never_reach_aws() {
    let closed = free_port();
    let gw = Gateway::launch(
        &GatewayConfig::new()
            .route(Route::function_uri("/x/*", &format!("http://127.0.0.1:{closed}/p")).name("r")),
    );
    let big = "a".repeat(200_000);
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("CL and TE", b"POST /x/a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(), 400),
        ("TE not chunked", b"POST /x/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n".to_vec(), 400),
        ("duplicate CL", b"POST /x/a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".to_vec(), 400),
        ("invalid CL", b"POST /x/a HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n".to_vec(), 400),
        ("obs-fold", b"GET /x/a HTTP/1.1\r\nHost: a\r\nX-Long: a\r\n b\r\n\r\n".to_vec(), 400),
        ("huge header", format!("GET /x/a HTTP/1.1\r\nHost: a\r\nX-Big: {big}\r\n\r\n").into_bytes(), 431),
        // Control: a normal request is forwarded (and fails at the closed port).
        ("normal", b"GET /x/a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".to_vec(), 502),
    ];
    for (name, raw, want) in cases {
        let (status, body) = raw_request(gw.addr, &raw);
        assert_eq!(status, want, "{name}: {body}");
    }
    assert!(gw.log_text().contains("error=bad_framing"));
}

#[test]
fn unresolvable_upstream_hosts_answer_502_without_a_panic() {
    // DNS fails at start: the gateway starts, keeps retrying in the background, and answers
    // 502 JSON for the route meanwhile (Pingora's own peer constructor would panic here).
    let gw = Gateway::launch(
        &GatewayConfig::new().routes([
            Route::function_uri("/n/*", "https://no-such-host.invalid/p").name("nodns"),
            Route::function_name("nodns-invoke", "f")
                .uri("/i")
                .kong_payload()
                .set("host", "no-such-host.invalid")
                .keys(AKID, "x"),
        ]),
    );
    for path in ["/n/a", "/i"] {
        for _ in 0..2 {
            let (status, body) = raw_request(
                gw.addr,
                format!("POST {path} HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}").as_bytes(),
            );
            assert_eq!(status, 502, "{path}: {body}");
            assert!(body.contains("upstream_unreachable"), "{path}: {body}");
        }
    }
    let log = gw.log_text();
    assert!(log.contains("cannot resolve no-such-host.invalid"), "{log}");
    assert!(!log.contains("panicked"));
}

/// What [`recording_upstream`] received: every byte, and its connections (accepted, ended).
#[derive(Default)]
struct Recorded {
    bytes: Vec<u8>,
    accepted: usize,
    ended: usize,
}

/// A stand-in upstream that records every byte it receives and never answers.
fn recording_upstream() -> (SocketAddr, std::sync::Arc<std::sync::Mutex<Recorded>>) {
    use std::io::Read;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Recorded::default()));
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let seen = s2.clone();
            seen.lock().unwrap().accepted += 1;
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = c.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    seen.lock().unwrap().bytes.extend_from_slice(&buf[..n]);
                }
                seen.lock().unwrap().ended += 1;
            });
        }
    });
    (addr, seen)
}

#[test]
fn bad_chunk_sizes_are_400_and_no_complete_request_reaches_aws() {
    let (upstream, seen) = recording_upstream();
    let closed = free_port();
    let gw = Gateway::launch(
        &GatewayConfig::new().routes([
            Route::function_uri("/s/*", &format!("http://{upstream}/p"))
                .name("stream")
                .timeout_ms(3000),
            Route::function_name("inv", "echo")
                .kong_payload()
                .endpoint("127.0.0.1", closed)
                .plain_http(),
        ]),
    );
    for bad in ["zz", "-1", "fffffffffffffffffffff", "0x5"] {
        for path in ["/s/a", "/inv"] {
            let raw = format!(
                "POST {path} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n{bad}\r\nxx\r\n0\r\n\r\n"
            );
            let (status, body) = raw_request(gw.addr, raw.as_bytes());
            // function_name reads the whole body before calling AWS (a closed port here: a
            // forwarded call would be 502). The streaming route has sent the head and the
            // first chunk when the bad size arrives: the upstream request is cut before its
            // terminating chunk, so no server can take it as complete.
            assert_eq!(status, 400, "{path} with chunk size {bad:?}: {body}");
            assert!(body.contains("bad_request"), "{body}");
        }
    }
    // Every upstream connection ended (the cut requests are not pooled): all bytes are in.
    wait_until(
        "the upstream connections end",
        Duration::from_secs(10),
        || {
            let r = seen.lock().unwrap();
            r.accepted > 0 && r.ended == r.accepted
        },
    );
    let seen = String::from_utf8_lossy(&seen.lock().unwrap().bytes).into_owned();
    assert!(
        seen.contains("POST /p/a"),
        "the streamed head went out: {seen}"
    );
    assert!(
        !seen.contains("0\r\n\r\n"),
        "no upstream request was completed: {seen:?}"
    );
    assert!(
        !seen.contains("xx"),
        "nothing after the bad chunk was forwarded: {seen:?}"
    );
}

#[test]
fn header_bytes_that_could_break_the_signature_or_the_event_json_are_handled() {
    let emu = Emulator::start();
    let inv = |name: &str| Route::function_name(name, "echo").on(&emu).kong_payload();
    let gw = Gateway::launch(
        &GatewayConfig::new().routes([
            Route::function_uri("/iam/*", &emu.http_url("/iam"))
                .name("iam")
                .set("client_credentials", "forward")
                .iam(
                    Iam::keys(AKID, SECRET, "execute-api")
                        .unset("service")
                        .set("aws_region", "us-east-1"),
                ),
            inv("v1").set("awsgateway_compatible", true),
            inv("v2").api_gateway("2.0"),
            inv("fwd").forward_request(&["headers", "body"]),
        ]),
    );
    let nasty: &[&[u8]] = &[
        b"X-Obs: caf\xe9 \xff\xfe",
        b"X-Quote: \"}{\\\"\\u0000",
        b"X-Tab: a\tb",
        b"X-Amz-Meta-Latin: caf\xe9",
        b"X-Amz-Meta-Spaces:    a     b   ",
        b"X-Amz-Meta-Quote: \"x\"",
        b"Content-Type: text/plain; charset=\"\xe9\"",
        b"X-Dup: 1",
        b"X-Dup: 2",
        b"X-Empty:",
        b"X-UPPER-Case: V",
    ];
    for path in ["/iam/a", "/v1", "/v2", "/fwd"] {
        let mut raw = format!("POST {path}?q=%C3%A9%22&x=%7B%7D HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\nContent-Length: 4\r\n").into_bytes();
        for h in nasty {
            raw.extend_from_slice(h);
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"\r\nbody");
        let (status, body) = raw_request(gw.addr, &raw);
        // Either the request is signed so AWS accepts it and the event is valid JSON, or the
        // gateway refuses it with 400; never AWS's 403 (a broken signature) or a 5xx.
        assert!(status == 200 || status == 400, "{path}: {status} {body}");
        if path != "/iam/a" {
            assert_eq!(status, 200, "{path}: {body}");
            let event: serde_json::Value = serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("{path}: the event is not JSON ({e}): {body}"));
            let text = event.to_string();
            assert!(text.contains("}{"), "{path}: header value kept: {text}");
            assert!(text.to_ascii_lowercase().contains("x-upper-case"), "{path}");
        } else {
            // Latin-1 bytes in headers the signer covers: refused with the reason, before AWS.
            assert_eq!(status, 400, "{body}");
            assert!(body.contains("unsignable_header"), "{body}");
        }
    }
    // Without the non-UTF-8 signed headers, the same odd request is signed and AWS accepts it.
    // A query with a percent-encoded byte that is not UTF-8 cannot be signed as AWS checks it.
    let (status, body) = raw_request(
        gw.addr,
        b"GET /iam/a?q=caf%E9 HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unsignable_query"), "{body}");
    let mut raw = b"POST /iam/a?q=%C3%A9%22&x=%7B%7D HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\nContent-Length: 4\r\n".to_vec();
    for h in nasty
        .iter()
        .filter(|h| !h.starts_with(b"X-Amz-Meta-Latin") && !h.starts_with(b"Content-Type"))
    {
        raw.extend_from_slice(h);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"Content-Type: text/plain; charset=\"utf-8\"\r\n\r\nbody");
    let (status, body) = raw_request(gw.addr, &raw);
    assert_eq!(status, 200, "{body}");
    let echo: serde_json::Value = serde_json::from_str(&body).unwrap();
    let text = echo.to_string();
    assert!(
        text.contains("x-amz-meta-spaces"),
        "the forwarded x-amz-* header was signed: {text}"
    );
}
