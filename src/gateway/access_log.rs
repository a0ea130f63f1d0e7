//! The access log: formatting one line per client request, and the writer that puts the lines
//! on stderr without ever blocking a proxy worker.
//!
//! * A worker formats its line ([`Entry::format`]) and hands it to [`write`], which only tries
//!   to enqueue it on a bounded queue ([`set_queue_size`] lines, default [`DEFAULT_QUEUE`]).
//!   When the queue is full (stderr is not being read fast enough) the line is dropped and
//!   `lambda_proxy_access_log_dropped_total` counts it: a stalled log reader costs lines,
//!   never requests.
//! * One writer thread (`access-log`, started with the first line, so after Pingora's
//!   daemonising fork) takes everything queued and writes it to stderr in batches, each batch
//!   one `write_all` under the stderr lock, so lines never interleave with other log records.
//!   After a batch that emptied the queue it waits [`BATCH_WAIT`] so the next batch gathers
//!   the lines of that interval: a line reaches stderr within about 10 ms.
//! * [`flush`] waits (bounded) until everything queued is written: called before the process
//!   exits (end of `Server::run`, and the drain exit in `crate::drain`).
//!
//! Line shapes (documented in README.md, "Access log"):
//!
//! * `text`: `TIME CLIENT "METHOD PATH" STATUS key=value ...` with the keys `route kind
//!   upstream reused total_ms aws_ms in out aws_request_id trace error cause api_key client_cert` (`api_key`: the caller's
//!   client API key id, its configured name, never the key; `client_cert`: the subject DN of
//!   the verified client certificate on a mutual TLS listener), always all of
//!   them, `-` when a value is absent. Every value that comes from the client or from AWS is
//!   escaped as nginx does, `\xHH`, for `"`, `\`, space, control bytes and bytes ≥ 0x7f, so
//!   a value can neither contain a space nor a quote: splitting on spaces is unambiguous and
//!   nothing can forge a field.
//! * `json`: one JSON object per line with the same fields (`null` when absent), nothing
//!   before or after it.
//!
//! Never logged: query strings, headers other than `X-Amzn-Trace-Id`, and the raw head of a
//! request Pingora refused (it may carry credentials).

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::config::AccessLogFormat;

/// Lines queued for the writer before new ones are dropped.
pub const DEFAULT_QUEUE: usize = 8192;
/// The writer writes at most this much per `write` call (more when one line is longer).
const BATCH_BYTES: usize = 64 * 1024;
/// After a batch that emptied the queue the writer waits this long before taking the next one,
/// so lines accumulate: one `write` and one wake-up per interval instead of per request (a
/// wake-up per line, on the workers' core, cost more than formatting the line).
const BATCH_WAIT: Duration = Duration::from_millis(10);

/// What one access log line says. Borrowed from the request; formatting allocates the line.
#[derive(Debug, Clone, Default)]
pub struct Entry<'a> {
    pub time: Option<SystemTime>,
    pub client: Option<SocketAddr>,
    /// `None` when no request head was parsed (refused by the parser).
    pub method: Option<&'a str>,
    pub path: Option<&'a str>,
    /// The status sent to the client; 0 when none was.
    pub status: u16,
    pub route: &'a str,
    pub kind: &'a str,
    pub upstream_status: Option<u16>,
    pub upstream_reused: Option<bool>,
    pub total_ms: f64,
    pub aws_ms: Option<f64>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub aws_request_id: Option<&'a str>,
    /// The raw `X-Amzn-Trace-Id` value.
    pub trace: Option<&'a [u8]>,
    /// The gateway's error code when it answered itself.
    pub error: Option<&'a str>,
    /// The Pingora error type behind a failure.
    pub cause: Option<&'a str>,
    /// The caller's client API key id (its configured name, never the key).
    pub api_key: Option<&'a str>,
    /// Who the route's authorizer approved: a JWT's `sub`, a Lambda authorizer's `principalId`.
    pub principal: Option<&'a str>,
    /// The subject DN of the verified client certificate (mutual TLS, `crate::mtls`).
    pub client_cert: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonLine<'a> {
    time: String,
    client: Option<String>,
    method: Option<&'a str>,
    path: Option<&'a str>,
    status: u16,
    route: &'a str,
    kind: &'a str,
    upstream_status: Option<u16>,
    upstream_reused: Option<bool>,
    total_ms: f64,
    aws_ms: Option<f64>,
    bytes_in: u64,
    bytes_out: u64,
    aws_request_id: Option<&'a str>,
    trace_id: Option<std::borrow::Cow<'a, str>>,
    error: Option<&'a str>,
    cause: Option<&'a str>,
    api_key: Option<&'a str>,
    principal: Option<&'a str>,
    client_cert: Option<&'a str>,
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

impl Entry<'_> {
    /// The line, with its trailing newline.
    pub fn format(&self, format: AccessLogFormat) -> String {
        let time = Rfc3339Millis(self.time.unwrap_or_else(SystemTime::now));
        match format {
            AccessLogFormat::Json => {
                let line = JsonLine {
                    time: time.to_string(),
                    client: self.client.map(|c| c.to_string()),
                    method: self.method,
                    path: self.path,
                    status: self.status,
                    route: self.route,
                    kind: self.kind,
                    upstream_status: self.upstream_status,
                    upstream_reused: self.upstream_reused,
                    total_ms: round3(self.total_ms),
                    aws_ms: self.aws_ms.map(round3),
                    bytes_in: self.bytes_in,
                    bytes_out: self.bytes_out,
                    aws_request_id: self.aws_request_id,
                    trace_id: self.trace.map(String::from_utf8_lossy),
                    error: self.error,
                    cause: self.cause,
                    api_key: self.api_key,
                    principal: self.principal,
                    client_cert: self.client_cert,
                };
                // Serialising plain fields cannot fail; an empty object is the fallback anyway.
                let mut s = serde_json::to_string(&line).unwrap_or_else(|_| "{}".into());
                s.push('\n');
                s
            }
            AccessLogFormat::Text => {
                let mut s = String::with_capacity(256);
                let _ = write!(s, "{time} ");
                match self.client {
                    Some(c) => {
                        let _ = write!(s, "{c}");
                    }
                    None => s.push('-'),
                }
                s.push_str(" \"");
                escape_into(&mut s, self.method.map(str::as_bytes));
                s.push(' ');
                escape_into(&mut s, self.path.map(str::as_bytes));
                let _ = write!(s, "\" {} route=", self.status);
                escape_into(&mut s, Some(self.route.as_bytes()));
                s.push_str(" kind=");
                s.push_str(self.kind);
                s.push_str(" upstream=");
                match self.upstream_status {
                    Some(u) => {
                        let _ = write!(s, "{u}");
                    }
                    None => s.push('-'),
                }
                s.push_str(" reused=");
                s.push_str(match self.upstream_reused {
                    Some(true) => "true",
                    Some(false) => "false",
                    None => "-",
                });
                let _ = write!(s, " total_ms={:.3} aws_ms=", self.total_ms);
                match self.aws_ms {
                    Some(v) => {
                        let _ = write!(s, "{v:.3}");
                    }
                    None => s.push('-'),
                }
                let _ = write!(
                    s,
                    " in={} out={} aws_request_id=",
                    self.bytes_in, self.bytes_out
                );
                escape_into(&mut s, self.aws_request_id.map(str::as_bytes));
                s.push_str(" trace=");
                escape_into(&mut s, self.trace);
                s.push_str(" error=");
                escape_into(&mut s, self.error.map(str::as_bytes));
                s.push_str(" cause=");
                escape_into(&mut s, self.cause.map(str::as_bytes));
                s.push_str(" api_key=");
                escape_into(&mut s, self.api_key.map(str::as_bytes));
                s.push_str(" principal=");
                escape_into(&mut s, self.principal.map(str::as_bytes));
                s.push_str(" client_cert=");
                escape_into(&mut s, self.client_cert.map(str::as_bytes));
                s.push('\n');
                s
            }
        }
    }
}

/// Appends `value` with `"`, `\`, space, control bytes and bytes ≥ 0x7f as `\xHH` (`-` when
/// absent or empty).
fn escape_into(out: &mut String, value: Option<&[u8]>) {
    let Some(bytes) = value.filter(|b| !b.is_empty()) else {
        out.push('-');
        return;
    };
    for &b in bytes {
        if b <= b' ' || b >= 0x7f || b == b'"' || b == b'\\' {
            let _ = write!(out, "\\x{b:02X}");
        } else {
            out.push(b as char);
        }
    }
}

/// `2026-05-09T07:15:00.123Z`.
struct Rfc3339Millis(SystemTime);

impl std::fmt::Display for Rfc3339Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let since = self.0.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (y, m, d) = civil_from_days(days as i64);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            rem / 3600,
            rem / 60 % 60,
            rem % 60,
            since.subsec_millis()
        )
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

struct Queue {
    tx: SyncSender<String>,
    /// Lines enqueued and not yet written.
    pending: AtomicUsize,
}

static QUEUE: OnceLock<Queue> = OnceLock::new();
static QUEUE_SIZE: AtomicUsize = AtomicUsize::new(DEFAULT_QUEUE);

/// The queue length used when the writer starts (with the first line); later calls change
/// nothing. Called at start-up from the configuration.
pub fn set_queue_size(lines: usize) {
    QUEUE_SIZE.store(lines.max(1), Ordering::Relaxed);
}

fn queue() -> &'static Queue {
    QUEUE.get_or_init(|| {
        let (tx, rx) = mpsc::sync_channel(QUEUE_SIZE.load(Ordering::Relaxed));
        let spawned = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || writer(rx));
        if let Err(e) = spawned {
            // The receiver is gone with the closure: every line is counted as dropped.
            log::error!("access log: cannot start the writer thread: {e}");
        }
        Queue {
            tx,
            pending: AtomicUsize::new(0),
        }
    })
}

/// Queues one formatted line (with its newline) for stderr; never blocks. A line that does not
/// fit is dropped and counted.
pub fn write(line: String) {
    let q = queue();
    q.pending.fetch_add(1, Ordering::AcqRel);
    match q.tx.try_send(line) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
            q.pending.fetch_sub(1, Ordering::AcqRel);
            crate::metrics::access_log_dropped();
        }
    }
}

fn writer(rx: Receiver<String>) {
    let mut buf: Vec<u8> = Vec::with_capacity(BATCH_BYTES);
    while let Ok(first) = rx.recv() {
        buf.extend_from_slice(first.as_bytes());
        let mut lines = 1;
        let mut drained = false;
        while buf.len() < BATCH_BYTES {
            match rx.try_recv() {
                Ok(line) => {
                    buf.extend_from_slice(line.as_bytes());
                    lines += 1;
                }
                Err(_) => {
                    drained = true;
                    break;
                }
            }
        }
        // A closed or broken stderr loses the lines; nothing else can be done with them.
        let _ = std::io::stderr().lock().write_all(&buf);
        buf.clear();
        if buf.capacity() > 4 * BATCH_BYTES {
            buf.shrink_to(BATCH_BYTES);
        }
        if let Some(q) = QUEUE.get() {
            q.pending.fetch_sub(lines, Ordering::AcqRel);
        }
        if drained {
            std::thread::sleep(BATCH_WAIT);
        }
    }
}

/// Waits until every queued line is written, at most `limit`. For the end of the process.
pub fn flush(limit: Duration) {
    let Some(q) = QUEUE.get() else { return };
    let deadline = Instant::now() + limit;
    while q.pending.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry<'static> {
        Entry {
            time: Some(UNIX_EPOCH + Duration::from_millis(1_778_310_900_123)),
            client: Some("127.0.0.1:4000".parse().unwrap()),
            method: Some("GET"),
            path: Some("/a\"b c\\d\u{e9}"),
            status: 200,
            route: "r",
            kind: "function_uri",
            upstream_status: Some(201),
            upstream_reused: Some(true),
            total_ms: 1.23456,
            aws_ms: Some(1.0),
            bytes_in: 1,
            bytes_out: 2,
            aws_request_id: Some("id-1"),
            trace: Some(b"x route=forged\tstatus=999\x7f"),
            error: None,
            cause: None,
            api_key: Some("partner-a"),
            principal: Some("user 1"),
            client_cert: Some("CN=alice,O=Example Corp"),
        }
    }

    #[test]
    fn text_escapes_client_values() {
        let line = entry().format(AccessLogFormat::Text);
        assert_eq!(
            line,
            "2026-05-09T07:15:00.123Z 127.0.0.1:4000 \"GET /a\\x22b\\x20c\\x5Cd\\xC3\\xA9\" 200 \
             route=r kind=function_uri upstream=201 reused=true total_ms=1.235 aws_ms=1.000 \
             in=1 out=2 aws_request_id=id-1 trace=x\\x20route=forged\\x09status=999\\x7F \
             error=- cause=- api_key=partner-a principal=user\\x201 \
             client_cert=CN=alice,O=Example\\x20Corp\n"
        );
    }

    #[test]
    fn refused_requests_have_dashes() {
        let e = Entry {
            status: 400,
            route: "-",
            kind: "-",
            error: Some("bad_request"),
            cause: Some("InvalidHTTPHeader"),
            ..Entry::default()
        };
        let line = e.format(AccessLogFormat::Text);
        let rest = line.split_once(' ').unwrap().1;
        assert_eq!(
            rest,
            "- \"- -\" 400 route=- kind=- upstream=- reused=- total_ms=0.000 aws_ms=- in=0 \
             out=0 aws_request_id=- trace=- error=bad_request cause=InvalidHTTPHeader api_key=- \
             principal=- client_cert=-\n"
        );
        let v: serde_json::Value = serde_json::from_str(&e.format(AccessLogFormat::Json)).unwrap();
        assert_eq!(v["method"], serde_json::Value::Null);
        assert_eq!(v["status"], 400);
    }

    #[test]
    fn json_is_one_object_per_line() {
        let line = entry().format(AccessLogFormat::Json);
        assert!(line.ends_with("}\n") && line.matches('\n').count() == 1);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["time"], "2026-05-09T07:15:00.123Z");
        assert_eq!(v["path"], "/a\"b c\\d\u{e9}");
        assert_eq!(v["trace_id"], "x route=forged\tstatus=999\u{7f}");
        assert_eq!(v["total_ms"], 1.235);
        assert_eq!(v["upstream_reused"], true);
        assert_eq!(v["api_key"], "partner-a");
        assert_eq!(v["client_cert"], "CN=alice,O=Example Corp");
    }

    #[test]
    fn dates() {
        let t = |secs: u64| Rfc3339Millis(UNIX_EPOCH + Duration::from_secs(secs)).to_string();
        assert_eq!(t(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(t(951_782_400), "2000-02-29T00:00:00.000Z");
        assert_eq!(t(4_107_542_399), "2100-02-28T23:59:59.000Z");
        assert_eq!(t(1_709_164_800), "2024-02-29T00:00:00.000Z");
    }
}
