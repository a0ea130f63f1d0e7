//! The emulator binary as its users start it: `--help`, a bad flag, and a running instance
//! that serves an open stage and refuses an unsigned Lambda Invoke (403, as AWS does).
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

fn start() -> Running {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut child = Command::new(BIN)
        .args(["--http", &addr.to_string(), "--threads", "1"])
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
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
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
    let emulator = start();

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
