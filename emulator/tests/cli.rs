//! The emulator binary as its users start it: `--help`, a bad flag, a running instance that
//! serves an open stage and refuses an unsigned Lambda Invoke (403, as AWS does), and one that
//! serves a JWKS file (rotated by rename), the OIDC discovery document, an authorizer Invoke and
//! the counters of all three.
//!
//! Being an integration test, this also makes a plain `cargo test` at the workspace root build
//! the binary, which the gateway's integration tests start (tests/common/mod.rs at the root).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_lambda-proxy-emulator");

#[test]
fn help_prints_usage_and_exits_0() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("usage: lambda-proxy-emulator"),
        "{stdout}"
    );
    assert!(stdout.contains("/2015-03-31/functions/{FunctionName}/invocations"));
    for item in [
        "--jwks-file",
        "--jwt-issuer",
        "--jwks-delay-ms",
        "/.well-known/openid-configuration",
        "/__emulator/counters",
        "authorizer-simple",
        "authorizer-policy",
    ] {
        assert!(stdout.contains(item), "{item} missing from {stdout}");
    }
}

#[test]
fn unknown_flag_exits_2_with_usage() {
    let out = Command::new(BIN).arg("--no-such-flag").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
    assert!(stderr.contains("usage: lambda-proxy-emulator"), "{stderr}");
}

/// A running emulator, killed and reaped (by PID) when dropped.
struct Running {
    addr: SocketAddr,
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(extra: &[&str]) -> Running {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut child = Command::new(BIN)
        .args(["--http", &addr.to_string(), "--threads", "1"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the emulator");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.trim() == "READY" {
                let _ = tx.send(());
            }
        }
    });
    let running = Running { addr, child };
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the emulator printed READY within 30 s");
    running
}

/// One HTTP/1.1 request with `Connection: close`; the status and the body.
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    request_with(addr, method, path, &[], body)
}

/// [`request`] with extra header lines.
fn request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         {extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serves_the_open_stage_and_refuses_an_unsigned_invoke() {
    let emulator = start(&[]);

    let (status, body) = request(emulator.addr, "GET", "/open/hello?x=1", "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("/hello"), "{body}");

    let (status, body) = request(
        emulator.addr,
        "POST",
        "/2015-03-31/functions/echo/invocations",
        r#"{"a":1}"#,
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Missing Authentication Token"), "{body}");
}

/// The headers aws-sigv4 (the SDKs' signer) adds to a POST of `body` to `path` (service lambda).
fn sigv4_headers(addr: SocketAddr, path: &str, body: &str) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;
    let identity = aws_credential_types::Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "test",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("lambda")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let host = addr.to_string();
    let headers = [
        ("host", host.as_str()),
        ("content-type", "application/json"),
    ];
    let signable = SignableRequest::new(
        "POST",
        format!("http://{host}{path}"),
        headers.into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"))
}

#[test]
fn serves_jwks_discovery_authorizers_and_counters() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, r#"{"keys":[{"kid":"one"}]}"#).unwrap();
    let emulator = start(&["--jwks-file", jwks.to_str().unwrap()]);
    let addr = emulator.addr;

    let (status, body) = request(addr, "GET", "/.well-known/jwks.json", "");
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"keys":[{"kid":"one"}]}"#)
    );
    let next = dir.path().join("next.json");
    std::fs::write(&next, r#"{"keys":[{"kid":"two"}]}"#).unwrap();
    std::fs::rename(&next, &jwks).unwrap();
    let (status, body) = request(addr, "GET", "/.well-known/jwks.json?x=1", "");
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"keys":[{"kid":"two"}]}"#)
    );
    std::fs::remove_file(&jwks).unwrap();
    assert_eq!(request(addr, "GET", "/.well-known/jwks.json", "").0, 503);
    assert_eq!(request(addr, "POST", "/.well-known/jwks.json", "{}").0, 405);

    let (status, body) = request(addr, "GET", "/.well-known/openid-configuration", "");
    assert_eq!(status, 200, "{body}");
    let doc = json(&body);
    assert_eq!(doc["issuer"], format!("http://{addr}"));
    assert_eq!(
        doc["jwks_uri"],
        format!("http://{addr}/.well-known/jwks.json")
    );

    let path = "/2015-03-31/functions/authorizer-simple/invocations";
    let event = serde_json::json!({
        "version": "2.0", "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/x",
        "identitySource": ["allow", "acme"], "routeKey": "GET /x", "rawPath": "/x",
        "headers": {}, "requestContext": {"requestId": "r", "http": {"method": "GET", "path": "/x"}},
    })
    .to_string();
    for n in 1..=2 {
        let headers = sigv4_headers(addr, path, &event);
        let (status, body) = request_with(addr, "POST", path, &headers, &event);
        assert_eq!(status, 200, "{body}");
        let result = json(&body);
        assert_eq!(result["isAuthorized"], true, "{body}");
        assert_eq!(result["context"]["tenant"], "acme");
        assert_eq!(result["context"]["invocations"], n);
    }
    // Refused by SigV4: not counted.
    assert_eq!(request(addr, "POST", path, &event).0, 403);

    let (status, body) = request(addr, "GET", "/__emulator/counters", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json(&body),
        serde_json::json!({
            "jwks_fetches": 3,
            "discovery_fetches": 1,
            "invocations": {"authorizer-simple": 2},
        })
    );
}

#[test]
fn without_jwks_file_the_jwks_is_404_and_the_issuer_is_the_flag() {
    let emulator = start(&["--jwt-issuer", "https://idp.example/tenant"]);
    assert_eq!(
        request(emulator.addr, "GET", "/.well-known/jwks.json", "").0,
        404
    );
    let (status, body) = request(
        emulator.addr,
        "GET",
        "/tenant/.well-known/openid-configuration",
        "",
    );
    assert_eq!(status, 200, "{body}");
    let doc = json(&body);
    assert_eq!(doc["issuer"], "https://idp.example/tenant");
    assert_eq!(
        doc["jwks_uri"],
        "https://idp.example/tenant/.well-known/jwks.json"
    );
}
