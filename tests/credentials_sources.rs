//! What only a process of its own can observe about `src/aws/credentials`, driven at module
//! level on a tokio runtime against local stand-ins (tests/gateway/common/aws_standins.rs):
//!
//! * `resolve_all_blocking` (the `-t` check) leaves no runtime thread behind: this counts the
//!   threads of the whole process (`/proc/self/task`), which the parallel tests of the gateway
//!   binary would disturb.
//! * No secret reaches `log` at trace level or any `tracing` span or event, with failures that
//!   echo secrets back: this installs a global `log` logger and a global capturing `tracing`
//!   subscriber (standing in for any tracing-to-log bridge), which only one per process can be,
//!   and checks `Debug` output and stats, which the gateway never prints whole.
//!
//! Both set `AWS_*` process environment variables (the SDK's default chain reads them), so each
//! holds `ENV_LOCK` for its whole run. The credential sources themselves (IMDSv2, ECS / Pod
//! Identity, web identity and STS, shared files and profiles, static and environment keys,
//! rotation, failing refresh) are exercised once, through the gateway binary, in
//! tests/gateway/credentials_gateway.rs.
//!
//! Every secret and token issued or configured contains `CANARY`; every test ends by checking
//! that nothing captured contains it.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::AtomicU8;
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

use lambda_proxy::aws::credentials::{
    CredentialsCell, CredentialsRefresher, CredentialsRegistry, Identity, SourceSpec,
};
use pingora::services::background::BackgroundService;
use tokio::sync::watch;

/// Shared with the gateway test binary (tests/gateway), which uses the parts this file does not.
#[allow(dead_code)]
#[path = "gateway/common/aws_standins.rs"]
mod aws_standins;

use aws_standins::*;

const REGION: &str = "us-east-1";

// ---------------------------------------------------------------------------------------------
// Serialisation, log and trace capture
// ---------------------------------------------------------------------------------------------

static ENV_LOCK: Mutex<()> = Mutex::new(());
static CAPTURED: Mutex<Vec<String>> = Mutex::new(Vec::new());
static INIT: Once = Once::new();

fn captured() -> MutexGuard<'static, Vec<String>> {
    CAPTURED.lock().unwrap_or_else(|e| e.into_inner())
}

struct LogCapture;

impl log::Log for LogCapture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        captured().push(format!(
            "log {} {}: {}",
            record.level(),
            record.target(),
            record.args()
        ));
    }
    fn flush(&self) {}
}

/// Records every tracing span and event with all its fields: the worst possible bridge.
struct TraceCapture;

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl tracing::Subscriber for TraceCapture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut fields = Fields(String::new());
        span.record(&mut fields);
        captured().push(format!(
            "tracing span {}{}",
            span.metadata().name(),
            fields.0
        ));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut fields = Fields(String::new());
        values.record(&mut fields);
        captured().push(format!("tracing record{}", fields.0));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        captured().push(format!(
            "tracing event {}{}",
            event.metadata().target(),
            fields.0
        ));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Everything a test needs held for its whole run.
struct TestEnv {
    _lock: MutexGuard<'static, ()>,
    /// Holds the absent profile files' directory.
    _dir: tempfile::TempDir,
}

impl TestEnv {
    /// Takes the lock, installs the captures, clears the capture buffer and resets the
    /// environment: no AWS_* or proxy variables, region set, IMDS off, profile files absent.
    fn new() -> TestEnv {
        let lock = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        INIT.call_once(|| {
            log::set_boxed_logger(Box::new(LogCapture)).unwrap();
            log::set_max_level(log::LevelFilter::Trace);
            tracing::subscriber::set_global_default(TraceCapture).unwrap();
        });
        captured().clear();
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().to_string();
            if key.starts_with("AWS_") || key.to_ascii_lowercase().ends_with("_proxy") {
                std::env::remove_var(key);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var("AWS_REGION", REGION);
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_CONFIG_FILE", dir.path().join("absent-config"));
        std::env::set_var(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("absent-credentials"),
        );
        TestEnv {
            _lock: lock,
            _dir: dir,
        }
    }

    /// The canary check every test ends with.
    fn assert_no_secret_leaked(&self, cells: &[&Arc<CredentialsCell>]) {
        let lines = captured().clone();
        assert!(
            lines.iter().any(|l| l.starts_with("log ")),
            "the capture saw none of our log lines"
        );
        for line in &lines {
            assert!(!line.contains(CANARY), "secret in captured output: {line}");
        }
        for cell in cells {
            let texts = [
                format!("{cell:?}"),
                format!("{:?}", cell.spec()),
                format!("{:?}", cell.stats()),
                cell.name().to_string(),
                cell.stats().last_error.unwrap_or_default(),
            ];
            for text in texts {
                assert!(!text.contains(CANARY), "secret in Debug/stats: {text}");
            }
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn run<F: Future>(f: F) -> F::Output {
    runtime().block_on(f)
}

// ---------------------------------------------------------------------------------------------
// Driving the refresher
// ---------------------------------------------------------------------------------------------

struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn start_refresher(registry: &Arc<CredentialsRegistry>) -> Running {
    let (stop, shutdown) = watch::channel(false);
    let refresher = CredentialsRefresher {
        registry: registry.clone(),
    };
    let task = tokio::spawn(async move { refresher.start(shutdown).await });
    Running { stop, task }
}

impl Running {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the refresher stops on shutdown")
            .unwrap();
    }
}

async fn wait_for<T>(what: &str, within: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {within:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn filled(cell: &CredentialsCell, within: Duration) -> Arc<Identity> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(id) = cell.current() {
            return id;
        }
        if Instant::now() > deadline {
            panic!(
                "no credentials for {} after {within:?}: {:?}",
                cell.name(),
                cell.stats()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn static_spec(akid: &str, tag: &str) -> SourceSpec {
    SourceSpec::Static {
        access_key_id: akid.into(),
        secret_access_key: secret40(&format!("{CANARY}/static/{tag}/")),
        session_token: Some(format!("{CANARY}-static-session-token-{tag}")),
    }
}

fn default_chain(profile: Option<&str>) -> SourceSpec {
    SourceSpec::DefaultChain {
        profile: profile.map(String::from),
    }
}

// ---------------------------------------------------------------------------------------------
// `-t`
// ---------------------------------------------------------------------------------------------

/// Tokio's default-named runtime threads in this process (the test harness's own threads, named
/// after tests, start and end as other tests do; the stand-ins' are named `stand-in`).
fn thread_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .filter(|n| n.starts_with("tokio"))
        .collect();
    names.sort();
    names
}

#[test]
fn resolve_all_blocking_reports_failures_and_leaves_no_thread() {
    let env = TestEnv::new();
    // The stand-ins run on their own runtime, as the AWS side would; its threads are named so
    // they are not counted among the runtime threads `resolve_all_blocking` might leave behind.
    let stand_ins = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("stand-in")
        .enable_all()
        .build()
        .unwrap();
    let (ecs, denied, hanging) = stand_ins.block_on(async {
        let issuer = Issuer::new("DASH", Duration::from_secs(3600));
        let ecs = ecs_stub(issuer, "CANARY-dash-t-token", Arc::new(AtomicU8::new(0))).await;
        let echo = secret40(&format!("{CANARY}/static/denied/"));
        let denied = Stub::start(move |_| {
            sts_error(
                403,
                "AccessDenied",
                &format!("not authorized (secret {echo})"),
            )
        })
        .await;
        let hanging = Stub::start(|_| Reply::Hang).await;
        (ecs, denied, hanging)
    });
    std::env::set_var(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("{}/creds", ecs.url()),
    );
    std::env::set_var("AWS_CONTAINER_AUTHORIZATION_TOKEN", "CANARY-dash-t-token");
    let role = |name: &str, base: &str, url: String| SourceSpec::AssumeRole {
        base: Box::new(static_spec("AKIAIOSFODNN7EXAMPLE", base)),
        role_arn: format!("arn:aws:iam::123456789012:role/{name}"),
        session_name: "dash-t".into(),
        external_id: None,
        duration_seconds: None,
        sts_endpoint_url: Some(url),
        region: REGION.into(),
    };
    let registry = CredentialsRegistry::new();
    let stat = registry.get(&static_spec("AKIASTATIC0000000002", "dash"));
    let good = registry.get(&default_chain(None));
    let refused = registry.get(&role("refused", "denied", denied.url()));
    let silent = registry.get(&role("silent", "silent", hanging.url()));

    let threads = thread_names();
    assert!(threads.is_empty(), "{threads:?}");
    let started = Instant::now();
    let failures = registry.resolve_all_blocking(Duration::from_secs(2));
    let took = started.elapsed();
    assert_eq!(thread_names(), threads, "no thread survives the call");
    assert!(
        took < Duration::from_secs(6),
        "bounded by the timeout: {took:?}"
    );

    let names: Vec<&str> = failures.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, [refused.name(), silent.name()], "{failures:?}");
    assert!(failures[0].1.contains("AccessDenied"), "{failures:?}");
    assert!(
        failures[1].1.contains("no answer within 2.0 s"),
        "{failures:?}"
    );
    assert!(good.current().is_some(), "successes fill their cells");
    assert!(stat.current().is_some());
    assert!(refused.current().is_none() && silent.current().is_none());
    assert_eq!(refused.stats().refresh_failed, 1);
    for (_, error) in &failures {
        assert!(!error.contains(CANARY), "{error}");
    }
    assert!(!hanging.requests().is_empty());
    drop(stand_ins);
    env.assert_no_secret_leaked(&[&stat, &good, &refused, &silent]);
}

// ---------------------------------------------------------------------------------------------
// Canary: the capture works, and failures echoing secrets stay clean
// ---------------------------------------------------------------------------------------------

#[test]
fn canary_secrets_never_reach_logs_debug_or_stats() {
    let env = TestEnv::new();
    // The capture is live: an event outside our refreshes does reach it.
    tracing::info!(probe = "trace-capture-probe", "probe");
    assert!(captured().iter().any(|l| l.contains("trace-capture-probe")));
    captured().clear();

    run(async {
        let roles = Issuer::new("ROLE", Duration::from_secs(3600));
        let web = Issuer::new("WEBI", Duration::from_secs(3600));
        let sts = sts_stub(roles, web).await;
        let echo_secret = secret40(&format!("{CANARY}/static/canary-base/"));
        let echo = Stub::start(move |req| {
            let form = req.form();
            sts_error(
                403,
                "AccessDenied",
                &format!(
                    "denied: external id {}, secret {echo_secret}, token {}",
                    form.get("ExternalId").cloned().unwrap_or_default(),
                    req.header("x-amz-security-token").unwrap_or_default()
                ),
            )
        })
        .await;
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00002");
        std::env::set_var(
            "AWS_SECRET_ACCESS_KEY",
            secret40(&format!("{CANARY}/environment/2/")),
        );
        std::env::set_var("AWS_SESSION_TOKEN", "CANARY-environment-session-token-2");

        let registry = CredentialsRegistry::new();
        let role = |url: String, ext: &str| SourceSpec::AssumeRole {
            base: Box::new(static_spec("AKIAIOSFODNN7EXAMPLE", "canary-base")),
            role_arn: "arn:aws:iam::123456789012:role/canary".into(),
            session_name: "canary-session".into(),
            external_id: Some(format!("{CANARY}-{ext}")),
            duration_seconds: Some(3600),
            sts_endpoint_url: Some(url),
            region: REGION.into(),
        };
        let cells = [
            registry.get(&static_spec("AKIASTATIC0000000003", "canary")),
            registry.get(&default_chain(None)),
            registry.get(&role(sts.url(), "ok")),
            registry.get(&role(echo.url(), "echoed")),
            registry.get(&SourceSpec::AssumeRole {
                base: Box::new(default_chain(None)),
                role_arn: "arn:aws:iam::123456789012:role/on-env".into(),
                session_name: "on-env".into(),
                external_id: None,
                duration_seconds: None,
                sts_endpoint_url: Some(sts.url()),
                region: REGION.into(),
            }),
        ];
        let refresher = start_refresher(&registry);
        for i in [0, 1, 2, 4] {
            filled(&cells[i], Duration::from_secs(15)).await;
        }
        wait_for(
            "two failures of the echoing source",
            Duration::from_secs(15),
            || (cells[3].stats().refresh_failed >= 2).then_some(()),
        )
        .await;
        refresher.stop().await;
        let error = cells[3].stats().last_error.unwrap();
        assert!(
            error.contains("AccessDenied") && error.contains("<redacted>"),
            "{error}"
        );

        let refs: Vec<&Arc<CredentialsCell>> = cells.iter().collect();
        env.assert_no_secret_leaked(&refs);
        let registry_debug = format!("{registry:?}");
        assert!(!registry_debug.contains(CANARY), "{registry_debug}");
        let lines = captured().clone();
        for line in lines.iter().filter(|l| l.starts_with("log ")) {
            eprintln!("{line}");
        }
        assert!(
            lines.iter().any(|l| l.contains("refresh failed")),
            "our failure lines were captured: {lines:#?}"
        );
    });
}
