//! Test harness: starts the real binaries (the emulator as the AWS side, the gateway under
//! test) on ports chosen at run time on 127.0.0.1, and stops them by PID when dropped.
pub mod aws_standins;
pub mod config;
pub mod fault_proxy;
pub mod jwt;

pub use config::{yaml, GatewayConfig, Iam, Route};

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const AKID: &str = "AKIDEXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
pub const API_KEY: &str = "demo-api-key";

/// Polls `cond` every 20 ms until it holds; panics naming `what` after `within`.
pub fn wait_until(what: &str, within: Duration, cond: impl FnMut() -> bool) {
    assert!(poll_until(within, cond), "{what}: not within {within:?}");
}

/// Polls `cond` every 20 ms until it holds (`true`) or `within` has passed (`false`), for
/// callers whose own assertion says more than a timeout would.
pub fn poll_until(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(addr: SocketAddr, child: &mut Child, what: &str) {
    wait_for_listen(addr, child, what, Duration::from_secs(30))
}

/// `metrics.address` of a configuration, when it has one.
fn metrics_address(conf: &str) -> Option<SocketAddr> {
    let v: serde_yaml::Value = serde_yaml::from_str(conf).ok()?;
    v.get("metrics")?.get("address")?.as_str()?.parse().ok()
}

/// Waits until `child` (called `what`) accepts connections on `addr`; panics when it exits
/// first or after `within` (and then stops it).
pub fn wait_for_listen(addr: SocketAddr, child: &mut Child, what: &str, within: Duration) {
    let listening = poll_until(within, || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early: {status}");
        }
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    });
    if listening {
        return;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{what} did not listen on {addr} within {within:?}");
}

/// The emulator binary (`emulator/`, its own workspace member, so Cargo gives these tests no
/// `CARGO_BIN_EXE_` for it): next to this test executable's profile directory,
/// `target/<profile>/deps/<test>` -> `target/<profile>/lambda-proxy-emulator`, which follows
/// `CARGO_TARGET_DIR` and `--release` by itself. A plain `cargo test` at the root builds it
/// (the emulator crate has integration tests of its own); `cargo test -p lambda-proxy` alone
/// does not.
pub fn emulator_bin() -> PathBuf {
    let name = format!("lambda-proxy-emulator{}", std::env::consts::EXE_SUFFIX);
    let exe = std::env::current_exe().expect("path of the test executable");
    let bin = exe
        .parent() // deps/
        .and_then(Path::parent) // target/<profile>/
        .map(|profile| profile.join(&name))
        .unwrap_or_else(|| panic!("no target directory above {}", exe.display()));
    if !bin.is_file() {
        panic!(
            "the AWS emulator is not built: {} is missing. Build it with \
             `cargo build --locked -p lambda-proxy-emulator` (add --release for release tests), \
             or run `cargo test --locked` at the workspace root, which builds it",
            bin.display()
        );
    }
    bin
}

/// The bundled AWS emulator.
pub struct Emulator {
    pub http: SocketAddr,
    pub https: SocketAddr,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Emulator {
    pub fn start() -> Emulator {
        Self::start_with(&[])
    }

    /// Starts with extra arguments (e.g. `--credential AK:SECRET:TOKEN`).
    pub fn start_with(extra: &[&str]) -> Emulator {
        let dir = tempfile::tempdir().unwrap();
        let http: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let https: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut cmd = Command::new(emulator_bin());
        cmd.arg("--http")
            .arg(http.to_string())
            .arg("--https")
            .arg(https.to_string())
            .arg("--cert-dir")
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if !extra.contains(&"--credential") {
            cmd.arg("--credential").arg(format!("{AKID}:{SECRET}"));
        }
        if !extra.contains(&"--api-key") {
            cmd.arg("--api-key").arg(API_KEY);
        }
        let mut child = cmd.spawn().expect("start emulator");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.trim() == "READY" {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = child.kill();
            panic!("emulator did not print READY");
        }
        wait_for_port(http, &mut child, "emulator");
        Emulator {
            http,
            https,
            dir,
            child,
        }
    }

    pub fn ca_pem(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    /// HTTPS base URL using the name in the emulator's certificate.
    pub fn https_url(&self, path: &str) -> String {
        format!("https://localhost:{}{}", self.https.port(), path)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The gateway under test, started from YAML text with the listener and Pingora paths filled in.
pub struct Gateway {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
    /// The configuration file, and everything in it before the routes.
    pub conf: PathBuf,
    prefix: String,
    env: Vec<(String, String)>,
    child: Child,
}

impl Gateway {
    /// `extra_top` adds top-level settings or listeners (`listeners:` replaces the default).
    pub fn start_full(routes_yaml: &str, extra_top: &str) -> Gateway {
        Self::start_env(routes_yaml, extra_top, &[])
    }

    /// Starts with extra environment variables. The AWS SDK's instance metadata lookup is
    /// disabled unless `env` sets it up (tests only ever reach 127.0.0.1).
    pub fn start_env(routes_yaml: &str, extra_top: &str, env: &[(&str, &str)]) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let mut addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let listeners = if extra_top.contains("listeners:") {
            // Wait on the first listener given.
            let first = extra_top.split("address: ").nth(1).unwrap_or_default();
            addr = first
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .trim_matches(['\'', '"'])
                .parse()
                .unwrap();
            String::new()
        } else {
            format!("listeners:\n  - address: {addr}\n")
        };
        let prefix = format!(
            "version: 1\nthreads: 2\npid_file: {d}/pid\nupgrade_sock: {d}/upgrade.sock\n\
             grace_period_seconds: 5\ngraceful_shutdown_timeout_seconds: 1\n{extra_top}\n{listeners}",
            d = dir.path().display()
        );
        let conf = dir.path().join("gateway.yaml");
        std::fs::write(&conf, format!("{prefix}{routes_yaml}\n")).unwrap();
        let log = dir.path().join("gateway.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lambda-proxy"));
        cmd.arg("-c").arg(&conf).env(
            "RUST_LOG",
            std::env::var("GATEWAY_LOG").unwrap_or_else(|_| "info".into()),
        );
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("AWS_EC2_METADATA_DISABLED", "true");
        for (k, v) in env {
            cmd.env(k, v);
        }
        // Append mode: a process started by `upgrade` appends to the same file, and the old
        // one must not write over its lines from its own offset.
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start gateway");
        wait_for_port(addr, &mut child, "gateway");
        // Tests scrape the metrics listener right after start: ready means that one too.
        if let Some(metrics) = metrics_address(&std::fs::read_to_string(&conf).unwrap()) {
            wait_for_port(metrics, &mut child, "gateway metrics listener");
        }
        Gateway {
            addr,
            dir,
            log,
            conf,
            prefix,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            child,
        }
    }

    /// Starts from a built configuration.
    pub fn launch(config: &GatewayConfig) -> Gateway {
        Self::start_full(&config.body_yaml(), &config.listeners_yaml())
    }

    /// Starts from a built configuration with extra environment variables (see
    /// [`Gateway::start_env`]).
    pub fn launch_env(config: &GatewayConfig, env: &[(&str, &str)]) -> Gateway {
        Self::start_env(&config.body_yaml(), &config.listeners_yaml(), env)
    }

    /// Rewrites the configuration file from a built configuration (its listeners are the
    /// running ones: listeners given here are ignored).
    pub fn rewrite(&self, config: &GatewayConfig) {
        self.rewrite_routes(&config.body_yaml());
    }

    /// Waits until the log contains `needle` (10 s at most) and returns the log.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let mut log = String::new();
        wait_until(
            &format!("{needle:?} in the log"),
            Duration::from_secs(10),
            || {
                log = self.log_text();
                log.contains(needle)
            },
        );
        log
    }

    /// Waits until at least `n` log lines satisfy `line` (the access log is written by a
    /// thread of its own, after the response) and returns the log; after 10 s, returns it as
    /// it is, for the caller's assertion to show.
    pub fn wait_for_log_lines(&self, line: impl Fn(&str) -> bool, n: usize) -> String {
        let mut log = String::new();
        poll_until(Duration::from_secs(10), || {
            log = self.log_text();
            log.lines().filter(|l| line(l)).count() >= n
        });
        log
    }

    /// Rewrites the configuration file with other routes (same listeners and settings).
    pub fn rewrite_routes(&self, routes_yaml: &str) {
        std::fs::write(&self.conf, format!("{}{routes_yaml}\n", self.prefix)).unwrap();
    }

    /// Writes arbitrary text as the configuration file.
    pub fn write_config(&self, text: &str) {
        std::fs::write(&self.conf, text).unwrap();
    }

    /// Sends a signal (`HUP`, `QUIT`, `TERM`) to the current process.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Graceful upgrade: starts a new process with `-u` on the current file, then sends SIGQUIT
    /// to the old one. Returns the old process (to watch it exit), or the new process's exit
    /// status when it failed to start (the old one then keeps serving, untouched).
    pub fn upgrade(&mut self) -> Result<Child, std::process::ExitStatus> {
        let new = self.start_upgrade()?;
        Ok(self.hand_over(new))
    }

    /// The first half of [`Gateway::upgrade`]: starts the new process (`-u`) and waits until it
    /// waits for the sockets, or returns its exit status when it exits first.
    pub fn start_upgrade(&self) -> Result<Child, std::process::ExitStatus> {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lambda-proxy"));
        cmd.arg("-u").arg("-c").arg(&self.conf);
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("AWS_EC2_METADATA_DISABLED", "true").env(
            "RUST_LOG",
            std::env::var("GATEWAY_LOG").unwrap_or_else(|_| "info".into()),
        );
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut new = cmd
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start new gateway");
        // Hand over only once the new process waits for the sockets (it has created
        // upgrade_sock): a config or address it rejects makes it exit before that.
        let sock = self.dir.path().join("upgrade.sock");
        let mut exited = None;
        let settled = poll_until(Duration::from_secs(30), || {
            exited = new.try_wait().ok().flatten();
            exited.is_some() || sock.exists()
        });
        if let Some(status) = exited {
            return Err(status);
        }
        if !settled {
            let _ = new.kill();
            let _ = new.wait();
            panic!(
                "the new process neither exited nor created {}",
                sock.display()
            );
        }
        Ok(new)
    }

    /// The second half of [`Gateway::upgrade`]: SIGQUIT to the current process, which hands its
    /// sockets to `new`; `new` becomes the current process and the old one is returned.
    pub fn hand_over(&mut self, new: Child) -> Child {
        self.signal("QUIT");
        std::mem::replace(&mut self.child, new)
    }

    /// The current process's exit status, if it has exited.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The gateway binary, for `-t` runs.
pub fn gateway_bin() -> &'static str {
    env!("CARGO_BIN_EXE_lambda-proxy")
}

/// `lambda-proxy -t -c <config>` in this process's environment, run to completion.
pub fn run_dash_t(config: impl AsRef<std::ffi::OsStr>) -> std::process::Output {
    Command::new(gateway_bin())
        .arg("-t")
        .arg("-c")
        .arg(config)
        .output()
        .unwrap()
}

pub fn repo_path(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// A plain HTTP/1.1 client without connection reuse surprises.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .http1_only()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// The emulator's echo, parsed.
#[derive(Debug, serde::Deserialize)]
pub struct Echo {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body_len: u64,
    pub body_sha256: String,
    pub body: Option<String>,
    pub peer: String,
    pub auth: String,
    pub access_key: Option<String>,
}

impl Echo {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn header_count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .count()
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// Sends raw bytes (one HTTP/1.1 request with `Connection: close`) and returns the status and
/// body. For paths a URL library would normalise before sending.
pub fn raw_request(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    use std::io::Write;
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

pub fn raw_get(addr: SocketAddr, target: &str) -> (u16, String) {
    raw_request(
        addr,
        format!("GET {target} HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

/// The sum of the samples of metric `name` whose line contains every one of `labels`, from one
/// scrape of the metrics listener; `None` when no line matches.
pub fn metric_sum(metrics: SocketAddr, name: &str, labels: &[&str]) -> Option<f64> {
    let (_, text) = raw_get(metrics, "/metrics");
    let values: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|lab| l.contains(lab)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}
