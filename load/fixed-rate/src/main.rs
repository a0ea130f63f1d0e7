//! `fixed-rate`: open-loop HTTP/1.1 load at a fixed mean rate, for `load/bench.sh`'s latency runs.
//!
//! wrk's `delay()` has millisecond timers, so at R requests per second it releases about R/1000
//! requests together at each millisecond tick: the proxy under test then sees bursts, and the
//! slower it is per request the more latency those bursts add. This tool sends with Poisson
//! arrivals at microsecond precision instead: each of `--connections` keep-alive connections
//! has its own thread that sleeps until its next send time (exponential gaps, mean
//! connections / rate), sends the request, and reads the whole answer. The superposition of the
//! connections is a Poisson stream at `--rate`.
//!
//! Latency is taken from the moment the request is written to the moment the answer is read
//! completely (like wrk); the latency from the *scheduled* send time (which also counts a send
//! delayed because its connection was still busy, or the client waking late) is reported too.
//! Standard library only. Prints one line: `FIXED_JSON {...}` with the same keys as
//! `load/wrk/bench.lua`'s `WRK_JSON` line, plus `target_rate` and `p50_sched_us` / `p99_sched_us`.
//!
//! usage: fixed-rate --url http://HOST:PORT/PATH --rate N [--connections N] [--duration S]
//!                   [--warmup S] [--body-file FILE] [--timeout S] [--header 'Name: value']...
//!
//! `--header` adds a request header to every request (repeatable), e.g. an `Authorization`.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

struct Opts {
    host_port: String,
    path: String,
    rate: f64,
    conns: usize,
    duration: f64,
    warmup: f64,
    body: Option<Vec<u8>>,
    /// Extra request header lines (`Name: value`), in the order given.
    headers: Vec<String>,
    timeout: Duration,
}

const USAGE: &str = "usage: fixed-rate --url http://HOST:PORT/PATH --rate N [--connections N] \
[--duration S] [--warmup S] [--body-file FILE] [--timeout S] [--header 'Name: value']...";

/// A `--header` value as a request header line: `Name: value`, a token name, no line breaks.
fn header_line(value: &str) -> Result<String, String> {
    let (name, v) = value
        .split_once(':')
        .ok_or_else(|| format!("--header: not 'Name: value': {value}"))?;
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(format!("--header: not a header name: {name:?}"));
    }
    if v.contains(['\r', '\n', '\0']) {
        return Err(format!("--header {name}: a line break in the value"));
    }
    Ok(format!("{name}: {}", v.trim()))
}

fn parse_args() -> Result<Opts, String> {
    let mut url = None;
    let mut rate = None;
    let mut conns = 128usize;
    let mut duration = 10.0f64;
    let mut warmup = 1.0f64;
    let mut body = None;
    let mut headers = Vec::new();
    let mut timeout = 5.0f64;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| -> Result<f64, String> {
            v.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--url" => url = Some(value),
            "--rate" => rate = Some(number(&value)?),
            "--connections" => conns = number(&value)? as usize,
            "--duration" => duration = number(&value)?,
            "--warmup" => warmup = number(&value)?,
            "--timeout" => timeout = number(&value)?,
            "--header" => headers.push(header_line(&value)?),
            "--body-file" => {
                body = Some(std::fs::read(&value).map_err(|e| format!("{value}: {e}"))?);
            }
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    let url = url.ok_or("--url is required")?;
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs are supported")?;
    let (host_port, path) = match rest.find('/') {
        Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
        None => (rest.to_string(), "/".to_string()),
    };
    let rate = rate.filter(|r| *r > 0.0).ok_or("--rate must be > 0")?;
    if conns == 0 || conns > 4096 {
        return Err("--connections must be 1..4096".into());
    }
    Ok(Opts {
        host_port,
        path,
        rate,
        conns,
        duration,
        warmup,
        body,
        headers,
        timeout: Duration::from_secs_f64(timeout.max(0.001)),
    })
}

/// What one connection's thread saw.
#[derive(Default)]
struct Stats {
    latency_us: Vec<u32>,
    sched_us: Vec<u32>,
    bytes: u64,
    connect_errors: u64,
    read_errors: u64,
    write_errors: u64,
    status_errors: u64,
    timeouts: u64,
}

/// xorshift64*: good enough for exponential gaps.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        // (0, 1]
        ((x >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    fn exp(&mut self, mean: f64) -> f64 {
        -self.next_f64().ln() * mean
    }
}

#[cfg(target_os = "linux")]
fn tight_timer_slack() {
    extern "C" {
        fn prctl(option: i32, ...) -> i32;
    }
    const PR_SET_TIMERSLACK: i32 = 29;
    // 1 µs instead of the default 50 µs, so sleeps end when asked. Failure only costs precision.
    unsafe {
        prctl(PR_SET_TIMERSLACK, 1000u64);
    }
}

#[cfg(not(target_os = "linux"))]
fn tight_timer_slack() {}

enum Failure {
    Read,
    Timeout,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one response; returns (status, bytes, keep-alive).
fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(u16, u64, bool), Failure> {
    let mut chunk = [0u8; 16384];
    let mut fill = |stream: &mut TcpStream, buf: &mut Vec<u8>| -> Result<(), Failure> {
        match stream.read(&mut chunk) {
            Ok(0) => Err(Failure::Read),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(Failure::Timeout)
            }
            Err(_) => Err(Failure::Read),
        }
    };
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i + 4;
        }
        fill(stream, buf)?;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(Failure::Read)?;
    let mut length = None;
    let mut chunked = false;
    let mut keepalive = head.starts_with("http/1.1");
    for line in head.split("\r\n").skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            match name.trim() {
                "content-length" => length = value.parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.contains("chunked"),
                "connection" if value.contains("close") => keepalive = false,
                _ => {}
            }
        }
    }
    let total;
    if chunked {
        let mut pos = head_end;
        loop {
            let line_end = loop {
                if let Some(i) = find(&buf[pos..], b"\r\n") {
                    break pos + i;
                }
                fill(stream, buf)?;
            };
            let size_text = String::from_utf8_lossy(&buf[pos..line_end]);
            let size_text = size_text.split(';').next().unwrap_or("").trim().to_string();
            let size = usize::from_str_radix(&size_text, 16).map_err(|_| Failure::Read)?;
            pos = line_end + 2;
            if size == 0 {
                // Trailers up to the empty line.
                loop {
                    if let Some(i) = find(&buf[pos..], b"\r\n") {
                        let empty = i == 0;
                        pos += i + 2;
                        if empty {
                            break;
                        }
                    } else {
                        fill(stream, buf)?;
                    }
                }
                break;
            }
            while buf.len() < pos + size + 2 {
                fill(stream, buf)?;
            }
            pos += size + 2;
        }
        total = pos;
    } else if let Some(n) = length {
        while buf.len() < head_end + n {
            fill(stream, buf)?;
        }
        total = head_end + n;
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        total = head_end;
    } else {
        // Delimited by the end of the connection.
        while fill(stream, buf).is_ok() {}
        total = buf.len();
        keepalive = false;
    }
    buf.drain(..total);
    Ok((status, total as u64, keepalive))
}

fn connect(addr: &std::net::SocketAddr, timeout: Duration) -> Option<TcpStream> {
    let stream = TcpStream::connect_timeout(addr, timeout).ok()?;
    stream.set_nodelay(true).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    Some(stream)
}

fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("fixed-rate: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let addr = match opts
        .host_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
    {
        Some(a) => a,
        None => {
            eprintln!("fixed-rate: cannot resolve {}", opts.host_port);
            std::process::exit(2);
        }
    };
    let mut request = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\n",
        if opts.body.is_some() { "POST" } else { "GET" },
        opts.path,
        opts.host_port
    )
    .into_bytes();
    for line in &opts.headers {
        request.extend_from_slice(line.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    if let Some(body) = &opts.body {
        request.extend_from_slice(
            format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            )
            .as_bytes(),
        );
    }
    request.extend_from_slice(b"\r\n");
    if let Some(body) = &opts.body {
        request.extend_from_slice(body);
    }
    let request = std::sync::Arc::new(request);

    // Every thread connects first; sending starts together at `start`.
    let start = Instant::now() + Duration::from_millis(200 + opts.conns as u64);
    let measure_from = start + Duration::from_secs_f64(opts.warmup);
    let end = measure_from + Duration::from_secs_f64(opts.duration);
    let mean_gap = opts.conns as f64 / opts.rate;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);

    let mut handles = Vec::with_capacity(opts.conns);
    for i in 0..opts.conns {
        let request = request.clone();
        let timeout = opts.timeout;
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                tight_timer_slack();
                let mut rng = Rng((seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1);
                let mut stats = Stats::default();
                let mut buf = Vec::with_capacity(16384);
                let mut stream = connect(&addr, timeout);
                if stream.is_none() {
                    stats.connect_errors += 1;
                }
                // A uniform phase, then exponential gaps.
                let mut next = start + Duration::from_secs_f64(rng.next_f64() * mean_gap);
                while next < end {
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    }
                    let measured = next >= measure_from;
                    let scheduled = next;
                    next += Duration::from_secs_f64(rng.exp(mean_gap));
                    if stream.is_none() {
                        stream = connect(&addr, timeout);
                        if stream.is_none() {
                            if measured {
                                stats.connect_errors += 1;
                            }
                            continue;
                        }
                    }
                    let Some(s) = stream.as_mut() else { continue };
                    let sent = Instant::now();
                    if s.write_all(&request).is_err() {
                        if measured {
                            stats.write_errors += 1;
                        }
                        stream = None;
                        buf.clear();
                        continue;
                    }
                    match read_response(s, &mut buf) {
                        Ok((status, bytes, keepalive)) => {
                            let done = Instant::now();
                            if measured {
                                stats.latency_us.push((done - sent).as_micros() as u32);
                                stats.sched_us.push((done - scheduled).as_micros() as u32);
                                stats.bytes += bytes;
                                if !(200..300).contains(&status) {
                                    stats.status_errors += 1;
                                }
                            }
                            if !keepalive {
                                stream = None;
                                buf.clear();
                            }
                        }
                        Err(f) => {
                            if measured {
                                match f {
                                    Failure::Read => stats.read_errors += 1,
                                    Failure::Timeout => stats.timeouts += 1,
                                }
                            }
                            stream = None;
                            buf.clear();
                        }
                    }
                }
                stats
            });
        match handle {
            Ok(h) => handles.push(h),
            Err(e) => {
                eprintln!("fixed-rate: cannot start a thread: {e}");
                std::process::exit(1);
            }
        }
    }

    let mut all = Stats::default();
    for h in handles {
        let Ok(s) = h.join() else { continue };
        all.latency_us.extend(s.latency_us);
        all.sched_us.extend(s.sched_us);
        all.bytes += s.bytes;
        all.connect_errors += s.connect_errors;
        all.read_errors += s.read_errors;
        all.write_errors += s.write_errors;
        all.status_errors += s.status_errors;
        all.timeouts += s.timeouts;
    }
    all.latency_us.sort_unstable();
    all.sched_us.sort_unstable();
    let pct = |v: &[u32], p: f64| -> u32 {
        if v.is_empty() {
            return 0;
        }
        let idx = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[idx.clamp(1, v.len()) - 1]
    };
    let n = all.latency_us.len();
    let mean = if n > 0 {
        all.latency_us.iter().map(|&x| x as f64).sum::<f64>() / n as f64
    } else {
        0.0
    };
    let l = &all.latency_us;
    println!(
        "FIXED_JSON {{\"requests\":{n},\"duration_us\":{},\"bytes\":{},\"connect_errors\":{},\
\"read_errors\":{},\"write_errors\":{},\"status_errors\":{},\"timeouts\":{},\"p50_us\":{},\
\"p90_us\":{},\"p99_us\":{},\"p999_us\":{},\"mean_us\":{mean:.1},\"max_us\":{},\
\"target_rate\":{},\"p50_sched_us\":{},\"p99_sched_us\":{},\"p999_sched_us\":{}}}",
        (opts.duration * 1e6) as u64,
        all.bytes,
        all.connect_errors,
        all.read_errors,
        all.write_errors,
        all.status_errors,
        all.timeouts,
        pct(l, 50.0),
        pct(l, 90.0),
        pct(l, 99.0),
        pct(l, 99.9),
        l.last().copied().unwrap_or(0),
        opts.rate,
        pct(&all.sched_us, 50.0),
        pct(&all.sched_us, 99.0),
        pct(&all.sched_us, 99.9),
    );
}
