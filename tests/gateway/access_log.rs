//! The access log (issue 11, item 7): one line per client request on stderr, written by a
//! writer thread behind a bounded queue; large signed bodies carry the child's AWS answer;
//! client-controlled values cannot forge fields; JSON lines are pure JSON; requests Pingora's
//! parser refuses are logged and counted.

use crate::common::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn open_route(emu: &Emulator) -> Route {
    Route::function_uri("/o/*", &emu.http_url("/open/p")).name("open")
}

fn signed_route(emu: &Emulator) -> Route {
    Route::function_uri("/s/*", &emu.http_url("/iam/p"))
        .name("signed")
        .iam(Iam::keys(AKID, SECRET, "execute-api"))
}

/// An access line of the gateway's stderr: a line that is not an env_logger record
/// (`[time ...`).
fn is_access_line(line: &str) -> bool {
    !line.is_empty() && !line.starts_with('[')
}

fn access_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| is_access_line(l)).collect()
}

/// Waits until `n` access lines are in the log (the writer thread writes asynchronously).
fn wait_lines(gw: &Gateway, n: usize) -> String {
    gw.wait_for_log_lines(is_access_line, n)
}

/// Sends raw bytes on a fresh connection (write errors ignored: the gateway may answer and
/// close before it read everything) and returns what came back.
fn raw_exchange(addr: SocketAddr, request: &[u8], half_close: bool) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(request);
    if half_close {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The text line from the client address on: `CLIENT "METHOD PATH" STATUS key=value ...`.
fn text_fields(line: &str) -> Vec<&str> {
    let from = line.find("127.0.0.1:").expect("client address in the line");
    line[from..].split(' ').collect()
}

/// The `key=value` fields of a text line; panics on a repeated key (a forged field).
fn text_kv<'a>(fields: &[&'a str]) -> std::collections::BTreeMap<&'a str, &'a str> {
    let mut kv = std::collections::BTreeMap::new();
    for f in &fields[4..] {
        let (k, v) = f
            .split_once('=')
            .unwrap_or_else(|| panic!("field {f:?} is not key=value in {fields:?}"));
        assert!(kv.insert(k, v).is_none(), "key {k} repeated in {fields:?}");
    }
    kv
}

#[tokio::test]
async fn large_signed_bodies_log_the_aws_answer() {
    let emu = Emulator::start();
    let metrics_port = free_port();
    let gw = Gateway::launch(
        &GatewayConfig::new()
            .metrics(format!("127.0.0.1:{metrics_port}").parse().unwrap())
            .access_log_json()
            .route(signed_route(&emu)),
    );
    let c = client();
    for size in [1000usize, 100_000] {
        let r = c
            .post(gw.url("/s/up"))
            .body(vec![b'x'; size])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
    }
    let log = wait_lines(&gw, 2);
    // Tolerates an env_logger prefix: this test is about the values.
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| l.contains("\"route\""))
        .map(|l| serde_json::from_str(&l[l.find('{').unwrap()..]).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{log}");
    for (line, size) in lines.iter().zip([1000, 100_000]) {
        assert_eq!(line["bytes_in"], size, "{line}");
        assert_eq!(line["status"], 200, "{line}");
        assert_eq!(line["upstream_status"], 200, "size {size}: {line}");
        assert!(line["aws_ms"].as_f64().is_some(), "size {size}: {line}");
        assert!(
            line["aws_request_id"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "size {size}: {line}"
        );
    }
    // The AWS duration is recorded once per request, the large one included.
    let aws = metric_sum(
        format!("127.0.0.1:{metrics_port}").parse().unwrap(),
        "lambda_proxy_aws_duration_seconds_count",
        &["route=\"signed\""],
    );
    assert_eq!(aws, Some(2.0));
}

#[test]
fn text_lines_cannot_be_forged_by_the_client() {
    let emu = Emulator::start();
    let gw = Gateway::launch(&GatewayConfig::new().route(open_route(&emu)));
    let cases: [&[u8]; 3] = [
        b"GET /o/a HTTP/1.1\r\nHost: a\r\nX-Amzn-Trace-Id: x route=forged status=999\r\nConnection: close\r\n\r\n",
        b"GET /o/a\"b\\c HTTP/1.1\r\nHost: a\r\nX-Amzn-Trace-Id: \"quoted\" \\x\r\nConnection: close\r\n\r\n",
        b"GET /o/%20x HTTP/1.1\r\nHost: a\r\nX-Amzn-Trace-Id: a\xffb\tc\r\nConnection: close\r\n\r\n",
    ];
    // The emulator may refuse the odd paths: whatever the status, the line must be well formed.
    let statuses: Vec<String> = cases
        .iter()
        .map(|raw| {
            let answer = raw_exchange(gw.addr, raw, false);
            answer.split(' ').nth(1).unwrap_or_default().to_string()
        })
        .collect();
    let log = wait_lines(&gw, 3);
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("route=") && !l.contains(" WARN "))
        .collect();
    assert_eq!(lines.len(), 3, "{log}");
    for (line, status) in lines.iter().zip(&statuses) {
        let fields = text_fields(line);
        // `"METHOD PATH"`: the only two quotes of the line, and nothing else is quoted.
        assert_eq!(line.matches('"').count(), 2, "{line}");
        assert!(
            fields[1].starts_with('"') && fields[2].ends_with('"'),
            "{line}"
        );
        assert_eq!(fields[3], status, "{line}");
        let kv = text_kv(&fields);
        assert_eq!(kv["route"], "open", "{line}");
        assert!(!line.contains('\t'), "{line:?}");
    }
    assert_eq!(
        text_kv(&text_fields(lines[0]))["trace"],
        "x\\x20route=forged\\x20status=999"
    );
    assert_eq!(text_fields(lines[1])[2], "/o/a\\x22b\\x5Cc\"");
    assert_eq!(
        text_kv(&text_fields(lines[1]))["trace"],
        "\\x22quoted\\x22\\x20\\x5Cx"
    );
    assert_eq!(text_kv(&text_fields(lines[2]))["trace"], "a\\xFFb\\x09c");
    // The line starts with its time (RFC 3339, UTC, milliseconds): no env_logger prefix.
    for line in &lines {
        let time = line.split(' ').next().unwrap();
        assert_eq!(time.len(), 24, "{line}");
        assert!(time.ends_with('Z') && &time[10..11] == "T", "{line}");
    }
}

#[tokio::test]
async fn json_lines_are_pure_json() {
    let emu = Emulator::start();
    let gw = Gateway::launch(
        &GatewayConfig::new()
            .access_log_json()
            .route(open_route(&emu)),
    );
    let c = client();
    for trace in ["Root=1-abc", "a \"b\" \\c"] {
        let r = c
            .get(gw.url("/o/x?token=secret-in-query"))
            .header("x-amzn-trace-id", trace)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
    }
    let log = wait_lines(&gw, 2);
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| l.contains("\"route\""))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert_eq!(lines[0]["trace_id"], "Root=1-abc");
    assert_eq!(lines[1]["trace_id"], "a \"b\" \\c");
    assert_eq!(lines[0]["path"], "/o/x");
    assert!(lines[0]["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(!log.contains("secret-in-query"));
}

/// A gateway whose stderr is a pipe nobody reads: once the pipe is full, every write to it
/// blocks.
struct StuckGateway {
    addr: SocketAddr,
    metrics: SocketAddr,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for StuckGateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_stalled_stderr_drops_lines_instead_of_blocking_requests() {
    let dir = tempfile::tempdir().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let conf = dir.path().join("gateway.yaml");
    let config = GatewayConfig::new()
        .set_in(&["version"], 1)
        .set_in(&["threads"], 2)
        .set_in(&["pid_file"], dir.path().join("pid"))
        .set_in(&["upgrade_sock"], dir.path().join("upgrade.sock"))
        .listener(addr)
        .metrics(metrics);
    std::fs::write(&conf, config.to_yaml()).unwrap();
    let mut child = Command::new(gateway_bin())
        .arg("-c")
        .arg(&conf)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped()) // never read
        .spawn()
        .unwrap();
    wait_for_listen(addr, &mut child, "gateway", Duration::from_secs(30));
    let gw = StuckGateway {
        addr,
        metrics,
        child,
        _dir: dir,
    };
    // More lines than the pipe (64 KiB) and the queue (8192 lines) hold.
    let total = 12_000;
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let url = format!("http://{}/healthz", gw.addr);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (c, url) = (c.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..total / 8 {
                let r = c.get(&url).send().await.map_err(|e| e.to_string())?;
                if r.status() != 200 {
                    return Err(format!("status {}", r.status()));
                }
                r.bytes().await.map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(())
        }));
    }
    for t in tasks {
        t.await
            .unwrap()
            .expect("requests are answered while stderr is stuck");
    }
    let answered = metric_sum(gw.metrics, "lambda_proxy_requests_total", &[]).unwrap();
    assert_eq!(answered, total as f64);
    let dropped = metric_sum(gw.metrics, "lambda_proxy_access_log_dropped_total", &[])
        .expect("the dropped-lines counter is exported");
    assert!(
        dropped >= 1000.0 && dropped < total as f64,
        "dropped {dropped}"
    );
}

#[tokio::test]
async fn lines_written_just_before_shutdown_are_flushed() {
    let emu = Emulator::start();
    let mut gw = Gateway::launch(&GatewayConfig::new().route(open_route(&emu)));
    let c = client();
    let n = 300;
    for _ in 0..n {
        c.get(gw.url("/healthz")).send().await.unwrap();
    }
    gw.signal("TERM");
    // Once the process has exited, everything it wrote is in the file.
    wait_until(
        "the gateway exits on SIGTERM",
        Duration::from_secs(20),
        || gw.try_wait().is_some(),
    );
    let log = gw.log_text();
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("\"GET /healthz\""))
            .count(),
        n,
        "{log}"
    );
}

#[test]
fn requests_refused_by_the_parser_are_logged_and_counted() {
    let metrics_port = free_port();
    let metrics: SocketAddr = format!("127.0.0.1:{metrics_port}").parse().unwrap();
    let gw = Gateway::launch(&GatewayConfig::new().metrics(metrics));
    let many: String = (0..10_000).map(|i| format!("X-H{i}: v\r\n")).collect();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "obs-fold",
            b"GET /x HTTP/1.1\r\nHost: a\r\nX-Long: a\r\n b\r\n\r\n".to_vec(),
            "HTTP/1.1 400",
        ),
        (
            "chunked, gzip",
            b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"
                .to_vec(),
            "HTTP/1.1 400",
        ),
        (
            "10,000 headers",
            format!("GET /x HTTP/1.1\r\nHost: a\r\n{many}\r\n").into_bytes(),
            "HTTP/1.1 400",
        ),
        // At least 24 bytes: with h2c on, Pingora first waits for that many (the h2 preface).
        (
            "garbage request line",
            b"\x01\x02 garbage garbage garbage\r\n\r\n".to_vec(),
            "HTTP/1.1 400",
        ),
        (
            "unknown HTTP version",
            b"GET /x HTTP/9.9\r\nHost: a\r\n\r\n".to_vec(),
            "HTTP/1.1 400",
        ),
        (
            "TE on HTTP/1.0",
            b"POST /x HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
            "HTTP/1.1 400",
        ),
    ];
    for (name, raw, want) in &cases {
        let answer = raw_exchange(gw.addr, raw, false);
        assert!(answer.starts_with(want), "{name}: {answer:?}");
    }
    // A head cut off by the client: nothing can be answered, still logged.
    raw_exchange(gw.addr, b"GET /x HTTP/1.1\r\nHost: a\r\n", true);
    // CONNECT: Pingora answers 405 itself.
    let answer = raw_exchange(
        gw.addr,
        b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
        false,
    );
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer:?}");
    let log = wait_lines(&gw, cases.len() + 2);
    let lines: Vec<&str> = access_lines(&log);
    assert_eq!(lines.len(), cases.len() + 2, "{log}");
    for line in &lines[..cases.len()] {
        let fields = text_fields(line);
        assert_eq!(&fields[1..4], ["\"-", "-\"", "400"], "{line}");
        let kv = text_kv(&fields);
        assert_eq!(kv["error"], "bad_request", "{line}");
        assert_eq!(kv["route"], "-", "{line}");
    }
    let cut = text_fields(lines[cases.len()]);
    assert_eq!(cut[3], "0", "{cut:?}");
    assert_eq!(text_kv(&cut)["error"], "incomplete_request", "{cut:?}");
    let connect = text_fields(lines[cases.len() + 1]);
    assert_eq!(connect[3], "405", "{connect:?}");
    assert_eq!(
        text_kv(&connect)["error"],
        "method_not_allowed",
        "{connect:?}"
    );
    let sum = |labels: &[&str]| metric_sum(metrics, "lambda_proxy_requests_total", labels);
    assert_eq!(
        sum(&["route=\"-\"", "status_class=\"4xx\""]),
        Some(cases.len() as f64 + 1.0)
    );
    assert_eq!(sum(&["route=\"-\"", "status_class=\"none\""]), Some(1.0));
    assert_eq!(
        metric_sum(
            metrics,
            "lambda_proxy_requests_refused_total",
            &["reason=\"bad_request\""]
        ),
        Some(cases.len() as f64)
    );
    // The raw head (which may carry credentials) never reaches the log.
    assert!(!log.contains("X-H9999"), "{log}");
}

#[tokio::test]
async fn disabled_and_reloaded() {
    let emu = Emulator::start();
    let gw = Gateway::launch(
        &GatewayConfig::new()
            .access_log_off()
            .route(open_route(&emu)),
    );
    let c = client();
    c.get(gw.url("/o/x")).send().await.unwrap();
    // No wait for an absence: had `/o/x` been queued, the single writer would write it before
    // `/o/y`'s line below, and the checks at the end would see it.
    assert!(access_lines(&gw.log_text()).is_empty(), "{}", gw.log_text());
    // Reload with JSON on: the next request is logged as JSON.
    gw.rewrite(
        &GatewayConfig::new()
            .access_log_json()
            .route(open_route(&emu)),
    );
    gw.signal("HUP");
    gw.wait_for_log("reload:");
    c.get(gw.url("/o/y")).send().await.unwrap();
    let log = wait_lines(&gw, 1);
    let lines = access_lines(&log);
    assert_eq!(lines.len(), 1, "{log}");
    let v: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["path"], "/o/y");
}
