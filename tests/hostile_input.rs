//! Hostile request shapes are refused by the gateway itself and never reach AWS. The route
//! points at a closed port: anything forwarded would come back as 502, so a 400/431 proves the
//! request was stopped before any upstream connection.

mod common;

use common::*;

#[test]
fn smuggling_shapes_and_oversized_heads_never_reach_aws() {
    let closed = free_port();
    let gw = Gateway::start(&format!(
        "routes:\n  - name: r\n    uri: /x/*\n    function_uri: 'http://127.0.0.1:{closed}/p'\n"
    ));
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
    let gw = Gateway::start(
        "routes:\n  - name: nodns\n    uri: /n/*\n    function_uri: 'https://no-such-host.invalid/p'\n\
         \x20 - name: nodns-invoke\n    uri: /i\n    function_name: f\n    aws_region: us-east-1\n    host: no-such-host.invalid\n    aws_key: AKIDEXAMPLE\n    aws_secret: x\n",
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
