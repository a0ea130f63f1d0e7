//! `src/credentials` at module level: the registry and the refresher driven directly on a tokio
//! runtime (no gateway), against local stand-ins for IMDSv2, ECS/Pod Identity and STS bound to
//! 127.0.0.1 on ports chosen at run time, reached through the SDK's own endpoint overrides
//! (`AWS_EC2_METADATA_SERVICE_ENDPOINT`, `AWS_CONTAINER_CREDENTIALS_FULL_URI`,
//! `AWS_ENDPOINT_URL_STS`, `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`,
//! `AWS_WEB_IDENTITY_TOKEN_FILE`), or the spec's `sts_endpoint_url`.
//!
//! Every test sets process environment variables, so each holds `ENV_LOCK` for its whole run.
//! Every secret and token issued or configured contains `CANARY`; every test ends by checking
//! that nothing captured from `log` (at trace level) or from `tracing` (a global capturing
//! subscriber stands in for any tracing-to-log bridge) contains it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
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
    dir: tempfile::TempDir,
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
        TestEnv { _lock: lock, dir }
    }

    fn file(&self, name: &str, contents: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_string_lossy().to_string()
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

fn key_id(identity: &Identity) -> String {
    identity
        .data::<Credentials>()
        .unwrap()
        .access_key_id()
        .to_string()
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
// Sources
// ---------------------------------------------------------------------------------------------

#[test]
fn imdsv2_instance_role() {
    let env = TestEnv::new();
    run(async {
        let issuer = Issuer::new("IMDS", Duration::from_secs(3600));
        let imds = imds_stub(issuer.clone()).await;
        std::env::remove_var("AWS_EC2_METADATA_DISABLED");
        std::env::set_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url());

        // The stand-in itself: a GET without the session token is refused.
        let direct = reqwest::get(format!(
            "{}/latest/meta-data/iam/security-credentials/",
            imds.url()
        ))
        .await
        .unwrap();
        assert_eq!(direct.status().as_u16(), 401);

        let registry = CredentialsRegistry::new();
        let cell = registry.get(&default_chain(None));
        assert!(cell.current().is_none(), "empty until the refresher runs");
        let refresher = start_refresher(&registry);
        let id = filled(&cell, Duration::from_secs(15)).await;
        refresher.stop().await;

        let creds = id.data::<Credentials>().unwrap();
        assert_eq!(creds.access_key_id(), "ASIAIMDS000000000001");
        assert_eq!(creds.secret_access_key().len(), 40);
        assert!(creds.session_token().unwrap().contains("IMDS-token-1"));
        let stats = cell.stats();
        assert_eq!((stats.refresh_ok, stats.refresh_failed), (1, 0));
        let left = stats.seconds_to_expiry.unwrap();
        assert!(left > 3500.0 && left <= 3600.0, "{left}");

        // IMDSv2 flow: a token PUT with its TTL first, every GET of the SDK carries the token.
        let seen: Vec<Req> = imds.requests().into_iter().skip(1).collect();
        assert_eq!(seen[0].method, "PUT");
        assert_eq!(seen[0].path, "/latest/api/token");
        assert!(seen[0]
            .header("x-aws-ec2-metadata-token-ttl-seconds")
            .is_some());
        let gets: Vec<&Req> = seen.iter().filter(|r| r.method == "GET").collect();
        assert_eq!(gets.len(), 2, "{seen:#?}");
        for get in gets {
            assert_eq!(get.header("x-aws-ec2-metadata-token"), Some(IMDS_TOKEN));
        }
        env.assert_no_secret_leaked(&[&cell]);
    });
}

#[test]
fn ecs_and_pod_identity_container_credentials() {
    let env = TestEnv::new();
    run(async {
        let issuer = Issuer::new("ECSC", Duration::from_secs(3600));
        let token = "CANARY-container-authorization-token";
        let ecs = ecs_stub(issuer.clone(), token, Arc::new(AtomicU8::new(0))).await;
        std::env::set_var(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{}/creds", ecs.url()),
        );

        // ECS: the token in AWS_CONTAINER_AUTHORIZATION_TOKEN.
        std::env::set_var("AWS_CONTAINER_AUTHORIZATION_TOKEN", token);
        let registry = CredentialsRegistry::new();
        let cell = registry.get(&default_chain(None));
        let refresher = start_refresher(&registry);
        let id = filled(&cell, Duration::from_secs(15)).await;
        refresher.stop().await;
        assert!(key_id(&id).starts_with("ASIAECSC"));
        let req = ecs.requests().pop().unwrap();
        assert_eq!(req.header("authorization"), Some(token));

        // EKS Pod Identity: the token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
        std::env::remove_var("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        let token_file = env.file("pod-identity-token", token);
        std::env::set_var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token_file);
        let registry = CredentialsRegistry::new();
        let pod = registry.get(&default_chain(None));
        let refresher = start_refresher(&registry);
        let id = filled(&pod, Duration::from_secs(15)).await;
        assert!(key_id(&id).starts_with("ASIAECSC"));

        // A wrong token is refused: that source stays empty and counts failures.
        refresher.stop().await;
        env.file("pod-identity-token", "CANARY-wrong-token");
        let registry = CredentialsRegistry::new();
        let wrong = registry.get(&default_chain(None));
        let refresher = start_refresher(&registry);
        wait_for("a failed refresh", Duration::from_secs(15), || {
            (wrong.stats().refresh_failed >= 1).then_some(())
        })
        .await;
        refresher.stop().await;
        assert!(wrong.current().is_none());
        assert!(wrong.stats().last_error.is_some());
        env.assert_no_secret_leaked(&[&cell, &pod, &wrong]);
    });
}

#[test]
fn web_identity_then_assume_role_through_sts() {
    let env = TestEnv::new();
    run(async {
        let roles = Issuer::new("ROLE", Duration::from_secs(3600));
        let web = Issuer::new("WEBI", Duration::from_secs(3600));
        let sts = sts_stub(roles.clone(), web.clone()).await;
        let jwt = "eyJhbGciOiJSUzI1NiJ9.CANARY-web-identity-jwt.c2lnbmF0dXJl";
        let token_file = env.file("eks-token", jwt);
        std::env::set_var("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file);
        std::env::set_var("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa-role");
        std::env::set_var("AWS_ROLE_SESSION_NAME", "lambda-proxy-irsa");
        std::env::set_var("AWS_ENDPOINT_URL_STS", sts.url());

        let registry = CredentialsRegistry::new();
        let irsa = registry.get(&default_chain(None));
        let cross = registry.get(&SourceSpec::AssumeRole {
            base: Box::new(default_chain(None)),
            role_arn: "arn:aws:iam::210987654321:role/invoker".into(),
            session_name: "lambda-proxy-xacct".into(),
            external_id: Some("CANARY-external-id-42".into()),
            duration_seconds: Some(1800),
            sts_endpoint_url: None, // AWS_ENDPOINT_URL_STS applies
            region: REGION.into(),
        });
        let refresher = start_refresher(&registry);
        let irsa_id = filled(&irsa, Duration::from_secs(15)).await;
        let cross_id = filled(&cross, Duration::from_secs(15)).await;
        refresher.stop().await;
        assert!(key_id(&irsa_id).starts_with("ASIAWEBI"));
        assert!(key_id(&cross_id).starts_with("ASIAROLE"));

        let wi = sts_requests(&sts, "AssumeRoleWithWebIdentity");
        assert!(wi.len() >= 2, "one for each source: {}", wi.len());
        for (req, form) in &wi {
            assert_eq!(form["RoleArn"], "arn:aws:iam::123456789012:role/irsa-role");
            assert_eq!(form["RoleSessionName"], "lambda-proxy-irsa");
            assert_eq!(form["WebIdentityToken"], jwt);
            assert!(req.header("authorization").is_none(), "unsigned call");
        }
        let ar = sts_requests(&sts, "AssumeRole");
        assert_eq!(ar.len(), 1);
        let (req, form) = &ar[0];
        assert_eq!(form["RoleArn"], "arn:aws:iam::210987654321:role/invoker");
        assert_eq!(form["RoleSessionName"], "lambda-proxy-xacct");
        assert_eq!(form["ExternalId"], "CANARY-external-id-42");
        assert_eq!(form["DurationSeconds"], "1800");
        assert!(
            signed_with(req).starts_with("ASIAWEBI"),
            "signed with the web identity credentials"
        );
        env.assert_no_secret_leaked(&[&irsa, &cross]);
    });
}

#[test]
fn assume_role_on_static_keys_with_sts_endpoint_url() {
    let env = TestEnv::new();
    run(async {
        let roles = Issuer::new("ROLE", Duration::from_secs(900));
        let sts = sts_stub(roles.clone(), Issuer::new("WEBI", Duration::from_secs(1))).await;
        let registry = CredentialsRegistry::new();
        let spec = SourceSpec::AssumeRole {
            base: Box::new(static_spec("AKIAIOSFODNN7EXAMPLE", "base")),
            role_arn: "arn:aws:iam::123456789012:role/plain".into(),
            session_name: "plain-session".into(),
            external_id: None,
            duration_seconds: None,
            sts_endpoint_url: Some(sts.url()),
            region: "eu-west-1".into(),
        };
        let cell = registry.get(&spec);
        assert_eq!(
            cell.name(),
            "assume-role(arn:aws:iam::123456789012:role/plain) on static"
        );
        let refresher = start_refresher(&registry);
        let id = filled(&cell, Duration::from_secs(15)).await;
        refresher.stop().await;
        assert_eq!(key_id(&id), "ASIAROLE000000000001");
        let left = cell.stats().seconds_to_expiry.unwrap();
        assert!(left > 850.0 && left <= 900.0, "{left}");
        let ar = sts_requests(&sts, "AssumeRole");
        assert_eq!(ar.len(), 1);
        let (req, form) = &ar[0];
        assert_eq!(signed_with(req), "AKIAIOSFODNN7EXAMPLE");
        assert!(req
            .header("authorization")
            .unwrap()
            .contains("/eu-west-1/sts/aws4_request"));
        assert!(req.header("x-amz-security-token").is_some());
        assert_eq!(form["RoleSessionName"], "plain-session");
        assert!(!form.contains_key("ExternalId"));
        assert!(!form.contains_key("DurationSeconds"));
        env.assert_no_secret_leaked(&[&cell]);
    });
}

#[test]
fn shared_files_profiles_role_chains_and_credential_process() {
    let env = TestEnv::new();
    run(async {
        let roles = Issuer::new("ROLE", Duration::from_secs(3600));
        let sts = sts_stub(roles.clone(), Issuer::new("WEBI", Duration::from_secs(1))).await;
        std::env::set_var("AWS_ENDPOINT_URL_STS", sts.url());
        let s = |tag: &str| secret40(&format!("{CANARY}/profile/{tag}/"));
        let credentials = env.file(
            "credentials",
            &format!(
                "[default]\naws_access_key_id = AKIADEFAULT000000000\naws_secret_access_key = {}\n\n\
                 [prod]\naws_access_key_id = AKIAPROD000000000000\naws_secret_access_key = {}\n\
                 aws_session_token = CANARY-prod-session-token\n\n\
                 [staging]\naws_access_key_id = AKIASTAGING000000000\naws_secret_access_key = {}\n",
                s("default"),
                s("prod"),
                s("staging")
            ),
        );
        let expiry = iso8601(SystemTime::now() + Duration::from_secs(1200));
        let process_json = format!(
            r#"{{"Version": 1, "AccessKeyId": "ASIAPROCESS000000001", "SecretAccessKey": "{}", "SessionToken": "CANARY-process-token", "Expiration": "{expiry}"}}"#,
            s("process")
        );
        let config = env.file(
            "config",
            &format!(
                "[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/chained\n\
                 source_profile = prod\nrole_session_name = chained-session\n\
                 external_id = CANARY-chained-external-id\nregion = us-east-1\n\n\
                 [profile process]\ncredential_process = printf '%s' '{process_json}'\n"
            ),
        );
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &credentials);
        std::env::set_var("AWS_CONFIG_FILE", &config);
        std::env::set_var("AWS_PROFILE", "staging");

        let registry = CredentialsRegistry::new();
        let prod = registry.get(&default_chain(Some("prod")));
        let staging = registry.get(&default_chain(None));
        let default = registry.get(&default_chain(Some("default")));
        let chained = registry.get(&default_chain(Some("chained")));
        let process = registry.get(&default_chain(Some("process")));
        assert_eq!(prod.name(), "default-chain(profile=prod)");
        let refresher = start_refresher(&registry);
        let mut got = HashMap::new();
        for cell in [&prod, &staging, &default, &chained, &process] {
            let id = filled(cell, Duration::from_secs(15)).await;
            got.insert(cell.name().to_string(), key_id(&id));
        }
        refresher.stop().await;
        assert_eq!(got[prod.name()], "AKIAPROD000000000000");
        assert_eq!(got[staging.name()], "AKIASTAGING000000000");
        assert_eq!(got[default.name()], "AKIADEFAULT000000000");
        assert_eq!(got[chained.name()], "ASIAROLE000000000001");
        assert_eq!(got[process.name()], "ASIAPROCESS000000001");
        let prod_creds = prod.current().unwrap();
        let prod_creds = prod_creds.data::<Credentials>().unwrap();
        assert_eq!(
            prod_creds.session_token(),
            Some("CANARY-prod-session-token")
        );
        assert_eq!(
            prod.stats().seconds_to_expiry,
            None,
            "long-term keys never expire"
        );
        let left = process.stats().seconds_to_expiry.unwrap();
        assert!(left > 1100.0 && left <= 1200.0, "{left}");

        let ar = sts_requests(&sts, "AssumeRole");
        let (req, form) = &ar[0];
        assert_eq!(
            signed_with(req),
            "AKIAPROD000000000000",
            "source_profile keys"
        );
        assert_eq!(form["RoleSessionName"], "chained-session");
        assert_eq!(form["ExternalId"], "CANARY-chained-external-id");
        env.assert_no_secret_leaked(&[&prod, &staging, &default, &chained, &process]);
    });
}

#[test]
fn environment_variables_and_cells_added_after_start() {
    let env = TestEnv::new();
    run(async {
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001");
        std::env::set_var(
            "AWS_SECRET_ACCESS_KEY",
            secret40(&format!("{CANARY}/environment/")),
        );
        std::env::set_var("AWS_SESSION_TOKEN", "CANARY-environment-session-token");
        let registry = CredentialsRegistry::new();
        let refresher = start_refresher(&registry);
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Added after the refresher started, as a hot reload would.
        let cell = registry.get(&default_chain(None));
        let same = registry.get(&default_chain(None));
        assert!(Arc::ptr_eq(&cell, &same), "identical specs share a cell");
        let stat = registry.get(&static_spec("AKIASTATIC0000000001", "env-test"));
        assert!(stat.current().is_some(), "static cells are filled at once");
        let id = filled(&cell, Duration::from_secs(5)).await;
        refresher.stop().await;
        let creds = id.data::<Credentials>().unwrap();
        assert_eq!(creds.access_key_id(), "AKIAENVIRONMENT00001");
        assert_eq!(
            creds.session_token(),
            Some("CANARY-environment-session-token")
        );
        assert_eq!(cell.stats().refresh_ok, 1);
        assert_eq!(stat.stats().refresh_ok, 0, "static cells never refresh");
        assert_eq!(registry.cells().len(), 2);
        env.assert_no_secret_leaked(&[&cell, &stat]);
    });
}

// ---------------------------------------------------------------------------------------------
// Refresh behaviour
// ---------------------------------------------------------------------------------------------

#[test]
fn rotation_before_expiry_without_gaps() {
    let env = TestEnv::new();
    run(async {
        let issuer = Issuer::new("ROTA", Duration::from_secs(4));
        let imds = imds_stub(issuer.clone()).await;
        std::env::remove_var("AWS_EC2_METADATA_DISABLED");
        std::env::set_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url());
        let registry = CredentialsRegistry::new();
        let cell = registry.get(&default_chain(None));
        let refresher = start_refresher(&registry);
        let first = filled(&cell, Duration::from_secs(15)).await;
        let mut keys = vec![key_id(&first)];
        let mut expiry = first.expiration().expect("IMDS credentials expire");
        let until = Instant::now() + Duration::from_secs(11);
        while Instant::now() < until {
            let id = cell
                .current()
                .expect("current() never returns None during rotation");
            let key = key_id(&id);
            if &key != keys.last().unwrap() {
                assert!(
                    SystemTime::now() < expiry,
                    "rotated only after the old credentials expired"
                );
                keys.push(key);
                expiry = id.expiration().unwrap();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        refresher.stop().await;
        assert!(keys.len() >= 3, "rotations seen: {keys:?}");
        let mut unique = keys.clone();
        unique.dedup();
        assert_eq!(unique, keys, "a new key id each time");
        assert!(cell.stats().refresh_ok >= 3);
        assert_eq!(cell.stats().refresh_failed, 0);

        // Stopped means stopped: no more fetches.
        let issued = issuer.count();
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(issuer.count(), issued);
        env.assert_no_secret_leaked(&[&cell]);
    });
}

#[test]
fn failing_refresh_keeps_last_good_until_expiry_and_retries() {
    let env = TestEnv::new();
    run(async {
        let issuer = Issuer::new("FAIL", Duration::from_secs(6));
        let token = "CANARY-ecs-token-for-failures";
        let mode = Arc::new(AtomicU8::new(1)); // failing from the start
        let ecs = ecs_stub(issuer.clone(), token, mode.clone()).await;
        std::env::set_var(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{}/creds", ecs.url()),
        );
        std::env::set_var("AWS_CONTAINER_AUTHORIZATION_TOKEN", token);
        let registry = CredentialsRegistry::new();
        let cell = registry.get(&default_chain(None));
        let refresher = start_refresher(&registry);

        // Initial fetch fails: nothing to sign with, retried with backoff.
        wait_for("a failed initial fetch", Duration::from_secs(10), || {
            (cell.stats().refresh_failed >= 1).then_some(())
        })
        .await;
        assert!(cell.current().is_none());
        mode.store(0, Ordering::SeqCst);
        let good = filled(&cell, Duration::from_secs(10)).await;
        let good_key = key_id(&good);
        let expiry = good.expiration().unwrap();

        // From now on every refresh fails: the last good identity stays until its expiry.
        mode.store(1, Ordering::SeqCst);
        let failed_before = cell.stats().refresh_failed;
        while SystemTime::now() + Duration::from_millis(100) < expiry {
            let id = cell
                .current()
                .expect("last good credentials kept until expiry");
            assert_eq!(key_id(&id), good_key);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        wait_for("expiry", Duration::from_secs(2), || {
            cell.current().is_none().then_some(())
        })
        .await;
        let failed_at_expiry = cell.stats().refresh_failed;
        assert!(
            failed_at_expiry > failed_before,
            "the refresh before expiry failed"
        );
        wait_for("another failed retry", Duration::from_secs(10), || {
            (cell.stats().refresh_failed > failed_at_expiry).then_some(())
        })
        .await;
        assert!(
            cell.current().is_none(),
            "expired credentials are never handed out"
        );
        let stats = cell.stats();
        let error = stats.last_error.clone().expect("last error recorded");
        assert!(error.contains("StatusCode(400)"), "{error}");
        assert_eq!(stats.seconds_to_expiry, Some(0.0));

        // The source recovers: so does the cell.
        mode.store(0, Ordering::SeqCst);
        let back = filled(&cell, Duration::from_secs(40)).await;
        assert_ne!(key_id(&back), good_key);
        assert_eq!(cell.stats().last_error, None);
        refresher.stop().await;
        env.assert_no_secret_leaked(&[&cell]);
    });
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
