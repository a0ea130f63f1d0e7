//! Credential sources end to end through the gateway binary: the strict emulator (told in advance
//! which credentials to accept) verifies the signed requests, while the SDK default chain inside
//! the gateway reaches local stand-ins (tests/gateway/common/aws_standins.rs, on 127.0.0.1, ports chosen
//! at run time) through the SDK's own endpoint overrides: `AWS_EC2_METADATA_SERVICE_ENDPOINT`,
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI`, `AWS_ENDPOINT_URL_STS`, `AWS_SHARED_CREDENTIALS_FILE` /
//! `AWS_CONFIG_FILE`, `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, plain env keys; or a
//! route's `sts_endpoint_url`.
//!
//! Routes named `uri-*` are `function_uri` routes to the emulator's `/iam` stage (its echo names
//! the verified access key and shows `x-amz-security-token`); routes named `fn-*` are
//! `function_name` routes invoking its `inspect` function (which shows the signed headers).
//!
//! Every secret, session token and external id configured or issued contains `CANARY`. Every
//! gateway here logs at `RUST_LOG=trace`, and every test ends by checking that the captured log
//! holds no `CANARY`; response bodies the gateway makes (and `-t` output) are checked too. The
//! upstream echoes legitimately carry the session token (it is a signed header); they are checked
//! to carry nothing else secret.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::common::aws_standins::*;
use crate::common::*;
use serde_json::Value;

const REGION: &str = "us-east-1";
/// How many sets of each issuer the emulator accepts.
const ISSUED_MAX: u32 = 40;

// ---------------------------------------------------------------------------------------------
// Environment, emulator, routes
// ---------------------------------------------------------------------------------------------

/// The gateway's environment (the harness removes inherited `AWS_*` variables), with a scratch
/// directory for profile and token files.
struct Env {
    dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl Env {
    /// Region set, trace logging, profile files pointed at absent paths (so no `~/.aws` of the
    /// machine is read), IMDS disabled.
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mut env = Env {
            vars: Vec::new(),
            dir,
        };
        let absent = |n: &str| env.dir.path().join(n).to_string_lossy().to_string();
        let (config, credentials) = (absent("absent-config"), absent("absent-credentials"));
        env.set("AWS_REGION", REGION)
            .set("RUST_LOG", "trace")
            .set("AWS_EC2_METADATA_DISABLED", "true")
            .set("AWS_CONFIG_FILE", &config)
            .set("AWS_SHARED_CREDENTIALS_FILE", &credentials);
        env
    }

    fn set(&mut self, key: &str, value: &str) -> &mut Env {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.into(), value.into()));
        self
    }

    fn file(&self, name: &str, contents: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_string_lossy().to_string()
    }

    fn pairs(&self) -> Vec<(&str, &str)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    fn gateway(&self, config: &GatewayConfig) -> Gateway {
        Gateway::start_env(&config.body_yaml(), &config.listeners_yaml(), &self.pairs())
    }
}

/// A static credential as configured and as the emulator is told to accept it.
struct StaticKey {
    id: &'static str,
    secret: String,
    token: Option<String>,
}

impl StaticKey {
    /// With a session token.
    fn new(id: &'static str, tag: &str) -> StaticKey {
        StaticKey {
            token: Some(format!("{CANARY}-static-session-token-{tag}")),
            ..StaticKey::long_term(id, tag)
        }
    }

    /// Long-term keys: no session token.
    fn long_term(id: &'static str, tag: &str) -> StaticKey {
        assert_eq!(id.len(), 20);
        StaticKey {
            id,
            secret: secret40(&format!("{CANARY}/static/{tag}/")),
            token: None,
        }
    }

    fn emulator_credential(&self) -> String {
        match &self.token {
            Some(token) => format!("{}:{}:{token}", self.id, self.secret),
            None => format!("{}:{}", self.id, self.secret),
        }
    }

    fn seen(&self) -> Seen {
        Seen {
            key: self.id.into(),
            token: self.token.clone(),
        }
    }
}

/// The emulator, accepting the first [`ISSUED_MAX`] sets of each issuer and the static keys.
fn emulator(issuers: &[&Issuer], statics: &[&StaticKey]) -> Emulator {
    let mut creds: Vec<String> = statics.iter().map(|s| s.emulator_credential()).collect();
    for issuer in issuers {
        creds.extend(issuer.emulator_credentials(ISSUED_MAX));
    }
    let mut args = Vec::new();
    for c in &creds {
        args.push("--credential");
        args.push(c.as_str());
    }
    Emulator::start_with(&args)
}

/// A `function_uri` route to the emulator's SigV4 stage; its credentials from the default chain
/// unless [`iam`] adds fields under `authorization.iam`.
fn uri_route(up: SocketAddr, name: &str) -> Route {
    assert!(name.starts_with("uri-"));
    Route::function_uri(&format!("/{name}/*"), &format!("http://{up}/iam/prod"))
        .name(name)
        .set_in(&["authorization", "iam", "service"], "execute-api")
}

/// `authorization.iam.<field>` of a `function_uri` route.
fn iam(route: Route, field: &str, value: impl serde::Serialize) -> Route {
    route.set_in(&["authorization", "iam", field], value)
}

/// A `function_name` route invoking the emulator's `inspect` with Kong's event; its credentials
/// from the default chain unless Kong's credential fields are set on it.
fn fn_route(up: SocketAddr, name: &str) -> Route {
    assert!(name.starts_with("fn-"));
    Route::function_name(name, "inspect")
        .without_keys()
        .kong_payload()
        .endpoint(&up.ip().to_string(), up.port())
        .plain_http()
}

/// Both route kinds, `uri-<tag>` and `fn-<tag>`, on the default chain.
fn both_kinds(up: SocketAddr, tag: &str) -> [Route; 2] {
    [
        uri_route(up, &format!("uri-{tag}")),
        fn_route(up, &format!("fn-{tag}")),
    ]
}

/// A named source (`credentials.<name>`): AssumeRole on static keys.
fn named_role(
    config: GatewayConfig,
    name: &str,
    base: &StaticKey,
    fields: &[(&str, &str)],
) -> GatewayConfig {
    let at = |f| ["credentials", name, f];
    let config = config
        .set_in(&at("access_key_id"), base.id)
        .set_in(&at("secret_access_key"), &base.secret)
        .set_in(&at("session_token"), base.token.as_deref().unwrap());
    fields.iter().fold(config, |c, (k, v)| c.set_in(&at(k), v))
}

// ---------------------------------------------------------------------------------------------
// Credential metrics (read from the gateway's metrics listener)
// ---------------------------------------------------------------------------------------------

/// `credential_refreshes_total` of `source` by result: (ok, failed).
fn refreshes(metrics: SocketAddr, source: &str) -> (u64, u64) {
    let of = |result: &str| {
        let labels = [
            format!("source=\"{source}\""),
            format!("result=\"{result}\""),
        ];
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        metric_sum(metrics, "lambda_proxy_credential_refreshes_total", &labels)
            .map_or(0, |v| v as u64)
    };
    (of("ok"), of("failed"))
}

/// `credential_expiry_seconds` of `source` (absent: no expiry, or no credentials yet).
fn expiry_seconds(metrics: SocketAddr, source: &str) -> Option<f64> {
    let label = format!("source=\"{source}\"");
    metric_sum(metrics, "lambda_proxy_credential_expiry_seconds", &[&label])
}

fn metrics_addr() -> SocketAddr {
    format!("127.0.0.1:{}", free_port()).parse().unwrap()
}

// ---------------------------------------------------------------------------------------------
// What reached the emulator
// ---------------------------------------------------------------------------------------------

/// The identity of a request the emulator verified.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Seen {
    key: String,
    token: Option<String>,
}

impl Seen {
    fn issued(issuer: &Issuer, n: u32) -> Seen {
        let (key, _, token) = issuer.nth(n);
        Seen {
            key,
            token: Some(token),
        }
    }
}

/// The upstream echo carries the session token (a signed header) and nothing else secret.
fn check_echo_body(body: &str, token: Option<&str>) -> Result<(), String> {
    let rest = match token {
        Some(t) => body.replace(t, ""),
        None => body.to_string(),
    };
    if rest.contains(CANARY) {
        return Err(format!("a secret other than the token upstream: {body}"));
    }
    Ok(())
}

/// Calls route `name` once; the identity the emulator verified, or the failure.
async fn call(c: &reqwest::Client, gw: &Gateway, name: &str) -> Result<Seen, String> {
    let request = if name.starts_with("uri-") {
        c.get(gw.url(&format!("/{name}/items?x=1")))
    } else {
        c.post(gw.url(&format!("/{name}"))).body(r#"{"k":"v"}"#)
    };
    let resp = request.send().await.map_err(|e| format!("{name}: {e}"))?;
    let status = resp.status().as_u16();
    let body = resp.text().await.map_err(|e| format!("{name}: {e}"))?;
    if status != 200 {
        return Err(format!("{name}: {status} {body}"));
    }
    let seen = if name.starts_with("uri-") {
        let e: Echo = serde_json::from_str(&body).map_err(|e| format!("{name}: {e}: {body}"))?;
        if e.auth != "iam" {
            return Err(format!("{name}: not verified as SigV4: {body}"));
        }
        Seen {
            key: e
                .access_key
                .clone()
                .ok_or_else(|| format!("{name}: no key: {body}"))?,
            token: e.header("x-amz-security-token").map(String::from),
        }
    } else {
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{name}: {e}: {body}"))?;
        let headers: Vec<(String, String)> = serde_json::from_value(v["headers"].clone())
            .map_err(|e| format!("{name}: {e}: {body}"))?;
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        let auth = get("authorization").unwrap_or_default();
        let key = auth
            .strip_prefix("AWS4-HMAC-SHA256 Credential=")
            .and_then(|c| c.split('/').next())
            .ok_or_else(|| format!("{name}: unsigned: {body}"))?;
        if !auth.contains(&format!("/{REGION}/lambda/aws4_request")) {
            return Err(format!("{name}: scope: {auth}"));
        }
        Seen {
            key: key.into(),
            token: get("x-amz-security-token"),
        }
    };
    check_echo_body(&body, seen.token.as_deref()).map_err(|e| format!("{name}: {e}"))?;
    Ok(seen)
}

/// Calls `name` until it answers 200 (the refresher fetches at start), within 20 s.
async fn ready(c: &reqwest::Client, gw: &Gateway, name: &str) -> Seen {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match call(c, gw, name).await {
            Ok(seen) => return seen,
            Err(e) if Instant::now() > deadline => {
                panic!("{name} never served: {e}\nlog:\n{}", gw.log_text())
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The canary check every gateway ends with: returns the log.
fn clean_log(gw: &Gateway) -> String {
    let log = gw.log_text();
    assert!(log.contains("credentials: "), "no credential lines:\n{log}");
    for line in log.lines() {
        assert!(!line.contains(CANARY), "secret in the gateway log: {line}");
    }
    log
}

/// [`wait_until`] off the runtime's scheduling (the stand-ins run on this runtime).
fn wait_blocking(what: &str, within: Duration, cond: impl FnMut() -> bool) {
    tokio::task::block_in_place(|| wait_until(what, within, cond))
}

fn stand_in_token(req: &Req) -> Option<&str> {
    req.header("x-amz-security-token")
}

// ---------------------------------------------------------------------------------------------
// Each source end to end
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imdsv2_instance_role_signs_both_route_kinds() {
    let issuer = Issuer::new("IMDS", Duration::from_secs(3600));
    let imds = imds_stub(issuer.clone()).await;
    // The stand-in is strict: a GET without the session token is refused.
    let direct = client()
        .get(format!(
            "{}/latest/meta-data/iam/security-credentials/",
            imds.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status().as_u16(), 401);

    let emu = emulator(&[&issuer], &[]);
    let mut env = Env::new();
    env.set("AWS_EC2_METADATA_DISABLED", "false")
        .set("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.url());
    let metrics = metrics_addr();
    let gw = env.gateway(
        &GatewayConfig::new()
            .metrics(metrics)
            .routes(both_kinds(emu.http, "imds")),
    );
    let c = client();
    let want = Seen::issued(&issuer, 1);
    assert_eq!(ready(&c, &gw, "uri-imds").await, want);
    assert_eq!(call(&c, &gw, "fn-imds").await.unwrap(), want);
    assert_eq!(issuer.count(), 1, "both routes share one source");

    // IMDSv2: the token PUT (with its TTL) before any GET, and every GET carries the token:
    // one for the role name, one for its credentials.
    let seen: Vec<Req> = imds.requests().into_iter().skip(1).collect();
    let put = seen
        .iter()
        .position(|r| r.method == "PUT" && r.path == "/latest/api/token")
        .expect("token PUT");
    assert!(seen[put]
        .header("x-aws-ec2-metadata-token-ttl-seconds")
        .is_some());
    let first_get = seen.iter().position(|r| r.method == "GET").expect("GET");
    assert!(put < first_get, "{seen:#?}");
    let gets: Vec<&Req> = seen.iter().filter(|r| r.method == "GET").collect();
    assert_eq!(gets.len(), 2, "role name, then credentials: {seen:#?}");
    for get in gets {
        assert_eq!(get.header("x-aws-ec2-metadata-token"), Some(IMDS_TOKEN));
    }
    // One refresh, none failed, the credentials' hour ahead.
    assert_eq!(refreshes(metrics, "route:uri-imds"), (1, 0));
    let left = expiry_seconds(metrics, "route:uri-imds").expect("an expiry");
    assert!(left > 3500.0 && left <= 3600.0, "{left}");
    let log = clean_log(&gw);
    assert!(
        log.contains("credentials: route:uri-imds: refreshed"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_credentials_ecs_token_and_pod_identity_token_file() {
    let issuer = Issuer::new("ECSC", Duration::from_secs(3600));
    let token = "CANARY-container-authorization-token";
    let ecs = ecs_stub(issuer.clone(), token, Arc::new(AtomicU8::new(0))).await;
    let emu = emulator(&[&issuer], &[]);
    let uri = format!("{}/creds", ecs.url());
    let routes = |tag: &str| GatewayConfig::new().routes(both_kinds(emu.http, tag));
    let c = client();

    // ECS: the token in AWS_CONTAINER_AUTHORIZATION_TOKEN.
    let mut env = Env::new();
    env.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)
        .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", token);
    let ecs_gw = env.gateway(&routes("ecs"));
    let first = Seen::issued(&issuer, 1);
    assert_eq!(ready(&c, &ecs_gw, "uri-ecs").await, first);
    assert_eq!(call(&c, &ecs_gw, "fn-ecs").await.unwrap(), first);

    // EKS Pod Identity: the token in a file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE).
    let mut env = Env::new();
    let token_file = env.file("pod-identity-token", token);
    env.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)
        .set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token_file);
    let pod_gw = env.gateway(&routes("pod"));
    let second = Seen::issued(&issuer, 2);
    assert_eq!(ready(&c, &pod_gw, "fn-pod").await, second);
    assert_eq!(call(&c, &pod_gw, "uri-pod").await.unwrap(), second);

    assert_eq!(issuer.count(), 2);
    let requests = ecs.requests();
    assert_eq!(requests.len(), 2);
    for req in requests {
        assert_eq!((req.method.as_str(), req.path.as_str()), ("GET", "/creds"));
        assert_eq!(req.header("authorization"), Some(token));
    }
    clean_log(&ecs_gw);
    clean_log(&pod_gw);

    // A wrong token is refused: that source stays empty, counts failures, and both route
    // kinds answer 503 `credentials_unavailable`.
    let mut env = Env::new();
    let wrong_file = env.file("pod-identity-token", "CANARY-wrong-token");
    env.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)
        .set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &wrong_file);
    let metrics = metrics_addr();
    let wrong_gw = env.gateway(&routes("wrong").metrics(metrics));
    wait_blocking("a failed refresh", Duration::from_secs(15), || {
        refreshes(metrics, "route:uri-wrong").1 >= 1
    });
    for route in ["uri-wrong", "fn-wrong"] {
        let err = call(&c, &wrong_gw, route).await.unwrap_err();
        assert!(
            err.contains("503") && err.contains("credentials_unavailable"),
            "{err}"
        );
    }
    assert_eq!(refreshes(metrics, "route:uri-wrong").0, 0);
    assert_eq!(issuer.count(), 2, "nothing issued on a wrong token");
    let log = clean_log(&wrong_gw);
    assert!(
        log.contains("credentials: route:uri-wrong: refresh failed"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_identity_and_assume_role_on_it_through_sts() {
    let roles = Issuer::new("ROLE", Duration::from_secs(3600));
    let web = Issuer::new("WEBI", Duration::from_secs(3600));
    let sts = sts_stub(roles.clone(), web.clone()).await;
    let emu = emulator(&[&roles, &web], &[]);
    let mut env = Env::new();
    let jwt = "eyJhbGciOiJSUzI1NiJ9.CANARY-web-identity-jwt.c2lnbmF0dXJl";
    let token_file = env.file("eks-token", jwt);
    env.set("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
        .set("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa-role")
        .set("AWS_ROLE_SESSION_NAME", "lambda-proxy-irsa")
        .set("AWS_ENDPOINT_URL_STS", &sts.url());
    let invoker = "arn:aws:iam::210987654321:role/invoker";
    let external_id = "CANARY-external-id-42";
    // The same AssumeRole spelled with each route kind's names: one source, one STS call.
    let uri_xacct = [
        ("assume_role_arn", invoker),
        ("role_session_name", "lambda-proxy-xacct"),
        ("external_id", external_id),
    ]
    .into_iter()
    .fold(uri_route(emu.http, "uri-xacct"), |r, (k, v)| iam(r, k, v));
    let fn_xacct = fn_route(emu.http, "fn-xacct")
        .set("aws_assume_role_arn", invoker)
        .set("aws_role_session_name", "lambda-proxy-xacct")
        .set("aws_assume_role_external_id", external_id)
        .set("aws_assume_role_duration", 1800);
    let config = GatewayConfig::new()
        .routes(both_kinds(emu.http, "irsa"))
        .route(iam(uri_xacct, "duration_seconds", 1800))
        .route(fn_xacct);
    let gw = env.gateway(&config);
    let c = client();

    let irsa = ready(&c, &gw, "uri-irsa").await;
    assert!(irsa.key.starts_with("ASIAWEBI"), "{irsa:?}");
    assert_eq!(irsa.token, web.token_of(&irsa.key));
    assert_eq!(call(&c, &gw, "fn-irsa").await.unwrap(), irsa);
    let xacct = ready(&c, &gw, "fn-xacct").await;
    assert_eq!(xacct, Seen::issued(&roles, 1));
    assert_eq!(call(&c, &gw, "uri-xacct").await.unwrap(), xacct);

    let wi = sts_requests(&sts, "AssumeRoleWithWebIdentity");
    assert!(!wi.is_empty());
    for (req, form) in &wi {
        assert_eq!(form["RoleArn"], "arn:aws:iam::123456789012:role/irsa-role");
        assert_eq!(form["RoleSessionName"], "lambda-proxy-irsa");
        assert_eq!(form["WebIdentityToken"], jwt);
        assert!(req.header("authorization").is_none(), "unsigned call");
    }
    let ar = sts_requests(&sts, "AssumeRole");
    assert_eq!(ar.len(), 1, "one source for both routes");
    let (req, form) = &ar[0];
    assert_eq!(form["RoleArn"], invoker);
    assert_eq!(form["RoleSessionName"], "lambda-proxy-xacct");
    assert_eq!(form["ExternalId"], external_id);
    assert_eq!(form["DurationSeconds"], "1800");
    let base = signed_with(req);
    assert!(
        base.starts_with("ASIAWEBI"),
        "signed with web identity keys"
    );
    assert_eq!(stand_in_token(req).map(String::from), web.token_of(&base));
    // STS is signed in the route's region.
    assert!(req
        .header("authorization")
        .unwrap()
        .contains(&format!("/{REGION}/sts/aws4_request")));
    clean_log(&gw);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_files_static_keys_named_sources_and_environment_keys() {
    let roles = Issuer::new("ROLE", Duration::from_secs(3600));
    let sts = sts_stub(roles.clone(), Issuer::new("WEBI", Duration::from_secs(60))).await;
    // A second STS for a plain AssumeRole (no external id, session name or duration given),
    // issuing credentials that live 900 s.
    let plain_roles = Issuer::new("PLAN", Duration::from_secs(900));
    let plain_sts = sts_stub(
        plain_roles.clone(),
        Issuer::new("WEBI", Duration::from_secs(60)),
    )
    .await;
    let prod = StaticKey::new("AKIAPROD000000000000", "prod");
    let default = StaticKey::long_term("AKIADEFAULT000000000", "default");
    let staging = StaticKey::long_term("AKIASTAGING000000000", "staging");
    let process = StaticKey {
        token: Some(format!("{CANARY}-process-token")),
        ..StaticKey::long_term("ASIAPROCESS000000001", "process")
    };
    let on_uri = StaticKey::new("AKIASTATICURI0000001", "uri");
    let on_fn = StaticKey::new("AKIASTATICFN00000001", "fn");
    let named_base = StaticKey::new("AKIANAMEDBASE0000001", "named");
    let plain_base = StaticKey::new("AKIAPLAINBASE0000001", "plain");
    let from_env = StaticKey::new("AKIAENVIRONMENT00001", "env");
    let late = StaticKey::new("AKIASTATICLATE000001", "late");
    let emu = emulator(
        &[&roles, &plain_roles],
        &[
            &prod, &default, &staging, &process, &on_uri, &on_fn, &from_env, &late,
        ],
    );

    let mut env = Env::new();
    let credentials = env.file(
        "credentials",
        &format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n\
             [prod]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n\n\
             [staging]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            default.id,
            default.secret,
            prod.id,
            prod.secret,
            prod.token.as_deref().unwrap(),
            staging.id,
            staging.secret,
        ),
    );
    let expiry = iso8601(SystemTime::now() + Duration::from_secs(1200));
    let process_json = format!(
        r#"{{"Version": 1, "AccessKeyId": "{}", "SecretAccessKey": "{}", "SessionToken": "{}", "Expiration": "{expiry}"}}"#,
        process.id,
        process.secret,
        process.token.as_deref().unwrap()
    );
    let config_file = env.file(
        "config",
        &format!(
            "[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/chained\n\
             source_profile = prod\nrole_session_name = chained-session\n\
             external_id = CANARY-chained-external-id\nregion = us-east-1\n\n\
             [profile process]\ncredential_process = printf '%s' '{process_json}'\n"
        ),
    );
    env.set("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .set("AWS_CONFIG_FILE", &config_file)
        .set("AWS_PROFILE", "staging")
        .set("AWS_ENDPOINT_URL_STS", &sts.url());
    let static_uri = [
        ("accesskey", on_uri.id),
        ("secretkey", &on_uri.secret),
        ("session_token", on_uri.token.as_deref().unwrap()),
    ]
    .into_iter()
    .fold(uri_route(emu.http, "uri-static"), |r, (k, v)| iam(r, k, v));
    let plain_role = [
        ("accesskey", plain_base.id),
        ("secretkey", &plain_base.secret),
        ("session_token", plain_base.token.as_deref().unwrap()),
        ("assume_role_arn", "arn:aws:iam::123456789012:role/plain"),
        ("sts_endpoint_url", &plain_sts.url()),
    ]
    .into_iter()
    .fold(uri_route(emu.http, "uri-plainrole"), |r, (k, v)| {
        iam(r, k, v)
    });
    let metrics = metrics_addr();
    let config = named_role(
        GatewayConfig::new().metrics(metrics),
        "xacct",
        &named_base,
        &[
            ("assume_role_arn", "arn:aws:iam::210987654321:role/named"),
            ("role_session_name", "named-session"),
            ("external_id", "CANARY-named-external-id"),
            ("sts_endpoint_url", &sts.url()),
        ],
    )
    .routes([
        iam(uri_route(emu.http, "uri-prod"), "profile", "prod"),
        fn_route(emu.http, "fn-chained").set("aws_profile", "chained"),
        fn_route(emu.http, "fn-default").set("aws_profile", "default"),
        iam(uri_route(emu.http, "uri-process"), "profile", "process"),
        uri_route(emu.http, "uri-staging"),
        static_uri,
        fn_route(emu.http, "fn-static")
            .set("aws_key", on_fn.id)
            .set("aws_secret", &on_fn.secret)
            .set("aws_session_token", on_fn.token.as_deref().unwrap()),
        plain_role,
        iam(uri_route(emu.http, "uri-named"), "credentials", "xacct"),
        fn_route(emu.http, "fn-named").set("credentials", "xacct"),
    ]);
    let gw = env.gateway(&config);
    let c = client();

    assert_eq!(ready(&c, &gw, "uri-prod").await, prod.seen());
    assert_eq!(ready(&c, &gw, "fn-default").await, default.seen());
    // AWS_PROFILE picks the profile of the default chain.
    assert_eq!(ready(&c, &gw, "uri-staging").await, staging.seen());
    assert_eq!(ready(&c, &gw, "uri-process").await, process.seen());
    assert_eq!(ready(&c, &gw, "uri-static").await, on_uri.seen());
    assert_eq!(ready(&c, &gw, "fn-static").await, on_fn.seen());
    assert_eq!(
        ready(&c, &gw, "uri-plainrole").await,
        Seen::issued(&plain_roles, 1)
    );
    let chained = ready(&c, &gw, "fn-chained").await;
    let xacct = ready(&c, &gw, "uri-named").await;
    assert_eq!(call(&c, &gw, "fn-named").await.unwrap(), xacct);
    let mut both = [chained.clone(), xacct.clone()];
    both.sort();
    assert_eq!(both, [Seen::issued(&roles, 1), Seen::issued(&roles, 2)]);

    // Long-term keys never expire; credential_process and STS credentials do, when they say.
    assert_eq!(expiry_seconds(metrics, "route:uri-prod"), None);
    let left = expiry_seconds(metrics, "route:uri-process").expect("an expiry");
    assert!(left > 1100.0 && left <= 1200.0, "{left}");
    let left = expiry_seconds(metrics, "route:uri-plainrole").expect("an expiry");
    assert!(left > 850.0 && left <= 900.0, "{left}");

    let ar = sts_requests(&sts, "AssumeRole");
    assert_eq!(ar.len(), 2);
    let by_base = |akid: &str| {
        ar.iter()
            .find(|(req, _)| signed_with(req) == akid)
            .unwrap_or_else(|| panic!("no AssumeRole signed with {akid}"))
    };
    // The profile's role chain: AWS_ENDPOINT_URL_STS, signed with the source profile's keys.
    let (req, form) = by_base(prod.id);
    assert_eq!(form["RoleArn"], "arn:aws:iam::123456789012:role/chained");
    assert_eq!(form["RoleSessionName"], "chained-session");
    assert_eq!(form["ExternalId"], "CANARY-chained-external-id");
    assert_eq!(stand_in_token(req), prod.token.as_deref());
    // The named source: its sts_endpoint_url, signed with its static keys.
    let (req, form) = by_base(named_base.id);
    assert_eq!(form["RoleArn"], "arn:aws:iam::210987654321:role/named");
    assert_eq!(form["RoleSessionName"], "named-session");
    assert_eq!(form["ExternalId"], "CANARY-named-external-id");
    assert_eq!(stand_in_token(req), named_base.token.as_deref());
    // The plain AssumeRole: the route's sts_endpoint_url, the default session name, and no
    // external id or duration when none is configured.
    let ar = sts_requests(&plain_sts, "AssumeRole");
    assert_eq!(ar.len(), 1);
    let (req, form) = &ar[0];
    assert_eq!(signed_with(req), plain_base.id);
    assert_eq!(stand_in_token(req), plain_base.token.as_deref());
    assert_eq!(form["RoleArn"], "arn:aws:iam::123456789012:role/plain");
    assert_eq!(form["RoleSessionName"], "lambda-proxy");
    assert!(!form.contains_key("ExternalId"), "{form:?}");
    assert!(!form.contains_key("DurationSeconds"), "{form:?}");
    clean_log(&gw);

    // Plain environment keys (their own process: env keys come first in the default chain).
    let mut env = Env::new();
    env.set("AWS_ACCESS_KEY_ID", from_env.id)
        .set("AWS_SECRET_ACCESS_KEY", &from_env.secret)
        .set("AWS_SESSION_TOKEN", from_env.token.as_deref().unwrap());
    let metrics = metrics_addr();
    let config = GatewayConfig::new()
        .metrics(metrics)
        .routes(both_kinds(emu.http, "env"));
    let env_gw = env.gateway(&config);
    assert_eq!(ready(&c, &env_gw, "fn-env").await, from_env.seen());
    assert_eq!(call(&c, &env_gw, "uri-env").await.unwrap(), from_env.seen());

    // Sources added by a reload, after the refresher started: a route with the same source
    // shares its cell (no second fetch), a static source serves at once and never refreshes.
    let config = config.routes([
        uri_route(emu.http, "uri-env2"),
        fn_route(emu.http, "fn-late")
            .set("aws_key", late.id)
            .set("aws_secret", &late.secret)
            .set("aws_session_token", late.token.as_deref().unwrap()),
    ]);
    env_gw.rewrite_routes(&config.body_yaml());
    env_gw.signal("HUP");
    assert_eq!(ready(&c, &env_gw, "uri-env2").await, from_env.seen());
    assert_eq!(call(&c, &env_gw, "fn-late").await.unwrap(), late.seen());
    assert_eq!(refreshes(metrics, "route:uri-env"), (1, 0));
    assert_eq!(refreshes(metrics, "route:fn-late"), (0, 0));
    let (_, scrape) = raw_get(metrics, "/metrics");
    assert!(
        !scrape.contains("route:uri-env2"),
        "a cell of its own:\n{scrape}"
    );
    clean_log(&env_gw);
}

// ---------------------------------------------------------------------------------------------
// Rotation and failures
// ---------------------------------------------------------------------------------------------

const LOAD_TASKS: usize = 4;
const LOAD_TIME: Duration = Duration::from_secs(12);
const LOAD_MAX_PER_TASK: usize = 20_000;

fn key_number(key: &str) -> u32 {
    key[8..].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_under_load_without_a_failed_request() {
    // IMDS credentials living 4 s: refreshed at 3/4 of their life, i.e. every ~3 s.
    let issuer = Issuer::new("ROTA", Duration::from_secs(4));
    let imds = imds_stub(issuer.clone()).await;
    let emu = emulator(&[&issuer], &[]);
    let mut env = Env::new();
    env.set("AWS_EC2_METADATA_DISABLED", "false")
        .set("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.url());
    let metrics = metrics_addr();
    let gw = Arc::new(
        env.gateway(
            &GatewayConfig::new()
                .metrics(metrics)
                .routes(both_kinds(emu.http, "rota")),
        ),
    );
    let c = client();
    ready(&c, &gw, "uri-rota").await;
    ready(&c, &gw, "fn-rota").await;
    let log_before = gw.log_text().len();

    let until = Instant::now() + LOAD_TIME;
    let mut tasks = Vec::new();
    for t in 0..LOAD_TASKS {
        let (c, gw) = (c.clone(), gw.clone());
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut failed = Vec::new();
            for i in 0..LOAD_MAX_PER_TASK {
                if Instant::now() >= until {
                    break;
                }
                let route = if (t + i) % 2 == 0 {
                    "uri-rota"
                } else {
                    "fn-rota"
                };
                match call(&c, &gw, route).await {
                    Ok(s) => seen.push(s),
                    Err(e) => failed.push(e),
                }
            }
            (seen, failed)
        }));
    }
    let mut keys = BTreeSet::new();
    let mut total = 0;
    for task in tasks {
        let (seen, failed) = task.await.unwrap();
        assert!(
            failed.is_empty(),
            "{} failed, first: {}",
            failed.len(),
            failed[0]
        );
        total += seen.len();
        // Each task is sequential: once it saw a newer key, it never sees an older one.
        let numbers: Vec<u32> = seen.iter().map(|s| key_number(&s.key)).collect();
        assert!(numbers.windows(2).all(|w| w[0] <= w[1]), "{numbers:?}");
        for s in seen {
            assert_eq!(s.token, issuer.token_of(&s.key), "{s:?}");
            keys.insert(s.key);
        }
    }
    eprintln!(
        "rotation: {total} requests, keys {keys:?}, {} issued, log {} bytes",
        issuer.count(),
        gw.log_text().len()
    );
    assert!(total >= 100, "the load ran: {total} requests");
    assert!(keys.len() >= 3, "rotations seen at the emulator: {keys:?}");
    let log = clean_log(&gw);
    let during = &log[log_before..];
    assert!(during.contains("credentials: route:uri-rota: refreshed"));
    assert!(!during.contains("refresh failed"), "{during}");
    // No request met expired credentials: every rotation came before the old set expired.
    assert!(!during.contains("answering 503"), "{during}");
    let (ok, failed) = refreshes(metrics, "route:uri-rota");
    assert!(
        ok >= 3 && failed == 0,
        "refreshes: {ok} ok, {failed} failed"
    );

    // The refresher stops on shutdown: SIGTERM ends the process within its grace bounds.
    let mut gw = Arc::try_unwrap(gw).unwrap_or_else(|_| panic!("the load tasks ended"));
    gw.signal("TERM");
    wait_blocking(
        "the gateway exits on SIGTERM",
        Duration::from_secs(20),
        || gw.try_wait().is_some(),
    );
    let issued = issuer.count();
    assert!(!gw.log_text().contains("panicked"));
    assert_eq!(issuer.count(), issued, "nothing fetched after exit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_refresh_serves_last_good_until_expiry_then_503() {
    // Container credentials living 8 s: the refresh at ~6 s fails (the stand-in refuses with an
    // error that echoes its token and the last secret it issued), and so do the retries.
    let issuer = Issuer::new("FAIL", Duration::from_secs(8));
    let token = "CANARY-ecs-token-for-failures";
    let mode = Arc::new(AtomicU8::new(1)); // failing from the start
    let ecs = ecs_stub(issuer.clone(), token, mode.clone()).await;
    let emu = emulator(&[&issuer], &[]);
    let mut env = Env::new();
    env.set(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        &format!("{}/creds", ecs.url()),
    )
    .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", token);
    let metrics = metrics_addr();
    let gw = env.gateway(
        &GatewayConfig::new()
            .metrics(metrics)
            .routes(both_kinds(emu.http, "fail")),
    );
    let c = client();

    // The initial fetch fails: nothing to sign with (503), retried with backoff until the
    // source answers.
    wait_blocking("a failed initial fetch", Duration::from_secs(10), || {
        refreshes(metrics, "route:uri-fail").1 >= 1
    });
    let err = call(&c, &gw, "fn-fail").await.unwrap_err();
    assert!(err.contains("503 "), "{err}");
    mode.store(0, Ordering::SeqCst);
    let good = ready(&c, &gw, "uri-fail").await;
    mode.store(1, Ordering::SeqCst);
    assert_eq!(good, Seen::issued(&issuer, 1));
    let expiry = issuer.last().unwrap().expires_at;

    // Until expiry: every request signed with the last good credentials.
    let mut served = 0;
    'serving: loop {
        for route in ["uri-fail", "fn-fail"] {
            if SystemTime::now() + Duration::from_millis(500) >= expiry {
                break 'serving;
            }
            let seen = call(&c, &gw, route).await;
            assert_eq!(seen.as_ref(), Ok(&good), "{route} before expiry");
            served += 1;
        }
        // Kept: paces this bounded loop (one round every 100 ms until just before expiry).
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served >= 10, "{served}");
    // A signed request whose head arrives before expiry and whose body arrives after: the
    // credentials are checked when the head arrives and again when signing, after the body was
    // read. The second check answers like the first: 503 `credentials_unavailable`, Retry-After.
    let addr = gw.addr;
    let slow = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"POST /uri-fail/items HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\nConnection: close\r\n\r\n")
            .unwrap();
        let after = expiry + Duration::from_millis(300);
        if let Ok(wait) = after.duration_since(SystemTime::now()) {
            // Kept: the behaviour under test, a body that arrives after the expiry.
            std::thread::sleep(wait);
        }
        s.write_all(b"body").unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    });
    let answer = slow.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("\r\nretry-after: 1\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("\"error\":\"credentials_unavailable\""),
        "{answer}"
    );
    let log = gw.log_text();
    assert!(
        log.contains("credentials: route:uri-fail: refresh failed")
            && log.contains("current credentials expire in"),
        "a refresh failed while the credentials were still good:\n{log}"
    );

    // After expiry: 503 JSON with retry-after, on both route kinds.
    let after = expiry + Duration::from_millis(300);
    if let Ok(wait) = after.duration_since(SystemTime::now()) {
        // Kept: waits out the credentials' deliberate expiry.
        tokio::time::sleep(wait).await;
    }
    for (route, request) in [
        ("uri-fail", c.get(gw.url("/uri-fail/items"))),
        ("fn-fail", c.post(gw.url("/fn-fail")).body("{}")),
    ] {
        let r = request.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 503, "{route}");
        assert_eq!(r.headers()["content-type"], "application/json", "{route}");
        assert!(r.headers().get("retry-after").is_some(), "{route}");
        let body = r.text().await.unwrap();
        assert!(!body.contains(CANARY), "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"], "credentials_unavailable", "{route}: {body}");
    }
    assert_eq!(issuer.count(), 1, "nothing was issued while failing");
    // Expired counts as 0 s left, and the retries go on after the expiry.
    assert_eq!(expiry_seconds(metrics, "route:uri-fail"), Some(0.0));
    let failed_at_expiry = refreshes(metrics, "route:uri-fail").1;
    wait_blocking("another failed retry", Duration::from_secs(15), || {
        refreshes(metrics, "route:uri-fail").1 > failed_at_expiry
    });
    let log = gw.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("route:uri-fail: refresh failed") && l.contains("StatusCode(400)")),
        "the scrubbed error names the refusal:\n{log}"
    );
    for route in ["uri-fail", "fn-fail"] {
        let want = format!("route {route}: no valid AWS credentials from `route:uri-fail`");
        assert!(log.contains(&want), "{want:?} not in:\n{log}");
    }

    // The source recovers: so does the route, with new credentials.
    mode.store(0, Ordering::SeqCst);
    let back = ready(&c, &gw, "fn-fail").await;
    assert_eq!(back, Seen::issued(&issuer, 2));
    assert_eq!(refreshes(metrics, "route:uri-fail").0, 2);
    clean_log(&gw);
}

// ---------------------------------------------------------------------------------------------
// `-t`
// ---------------------------------------------------------------------------------------------

struct DashT {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `lambda-proxy -t -c FILE` (off the runtime's threads, so the stand-ins keep answering).
async fn dash_t(env: &Env, name: &str, config: &GatewayConfig) -> DashT {
    let d = env.dir.path().display();
    let config = config
        .clone()
        .set_in(&["version"], 1)
        .set_in(&["threads"], 2)
        .set_in(&["pid_file"], format!("{d}/pid"))
        .set_in(&["upgrade_sock"], format!("{d}/upgrade.sock"))
        .listener(format!("127.0.0.1:{}", free_port()).parse().unwrap());
    let path = env.file(name, &config.to_yaml());
    let vars = env.vars.clone();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(gateway_bin());
        cmd.arg("-t").arg("-c").arg(&path);
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(vars);
        let out = cmd.output().unwrap();
        let run = DashT {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains(CANARY), "secret in -t output:\n{text}");
        }
        run
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dash_t_names_routes_of_failing_sources_and_prints_no_secret() {
    let roles = Issuer::new("ROLE", Duration::from_secs(3600));
    let sts = sts_stub(roles.clone(), Issuer::new("WEBI", Duration::from_secs(60))).await;
    let on_fn = StaticKey::new("AKIASTATICFN00000002", "dash-t-fn");
    let role_base = StaticKey::new("AKIAROLEBASE00000001", "dash-t-role");
    let denied_base = StaticKey::new("AKIADENIED0000000001", "dash-t-denied");
    // An STS that refuses, echoing the external id, the session token and the secret key.
    let echoed = denied_base.secret.clone();
    let denier = Stub::start(move |req| {
        let form = req.form();
        sts_error(
            403,
            "AccessDenied",
            &format!(
                "denied: external id {}, token {}, secret {echoed}",
                form.get("ExternalId").cloned().unwrap_or_default(),
                req.header("x-amz-security-token").unwrap_or_default()
            ),
        )
    })
    .await;
    // Routes to a closed port: `-t` sends nothing upstream.
    let fake: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let named = named_role(
        GatewayConfig::new(),
        "denied",
        &denied_base,
        &[
            ("assume_role_arn", "arn:aws:iam::123456789012:role/denied"),
            ("external_id", "CANARY-denied-external-id"),
            ("sts_endpoint_url", &denier.url()),
        ],
    );
    let role = [
        ("accesskey", role_base.id),
        ("secretkey", &role_base.secret),
        ("session_token", role_base.token.as_deref().unwrap()),
        ("assume_role_arn", "arn:aws:iam::123456789012:role/ok"),
        ("external_id", "CANARY-dash-t-external-id"),
        ("sts_endpoint_url", &sts.url()),
    ]
    .into_iter()
    .fold(uri_route(fake, "uri-role"), |r, (k, v)| iam(r, k, v));
    let resolvable = [
        fn_route(fake, "fn-static")
            .set("aws_key", on_fn.id)
            .set("aws_secret", &on_fn.secret)
            .set("aws_session_token", on_fn.token.as_deref().unwrap()),
        role,
    ];

    // A default chain reaching for ECS at a closed port, and a refused AssumeRole.
    let mut env = Env::new();
    env.set(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        &format!("http://127.0.0.1:{}/creds", free_port()),
    )
    .set(
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "CANARY-dash-t-container-token",
    );
    let mixed = named
        .routes(resolvable.clone())
        .routes(both_kinds(fake, "chain"))
        .route(fn_route(fake, "fn-denied").set("credentials", "denied"));
    let started = Instant::now();
    let run = dash_t(&env, "mixed.yaml", &mixed).await;
    eprintln!("-t (mixed) took {:?}", started.elapsed());
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("(routes: "))
        .collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "credentials `route:uri-chain` (routes: uri-chain, fn-chain) cannot be resolved"
        ),
        "{}",
        run.stderr
    );
    let denied = lines
        .iter()
        .find(|l| l.contains("credentials `denied` (routes: fn-denied) cannot be resolved"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(denied.contains("AccessDenied"), "{denied}");
    assert!(!run.stdout.contains("configuration OK"), "{}", run.stdout);
    // The resolvable AssumeRole did resolve (and the refused one was tried).
    let ar = sts_requests(&sts, "AssumeRole");
    assert_eq!(ar.len(), 1);
    assert_eq!(signed_with(&ar[0].0), role_base.id);
    assert_eq!(ar[0].1["ExternalId"], "CANARY-dash-t-external-id");
    assert_eq!(denier.requests().len(), 1);

    // IMDS disabled and no other source: the default chain has nothing.
    let env = Env::new();
    let nothing =
        GatewayConfig::new().routes([fn_route(fake, "fn-nothing"), uri_route(fake, "uri-nothing")]);
    let run = dash_t(&env, "nothing.yaml", &nothing).await;
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "credentials `route:fn-nothing` (routes: fn-nothing, uri-nothing) cannot be resolved"
        ),
        "{}",
        run.stderr
    );

    // Only resolvable sources: OK.
    let run = dash_t(&env, "ok.yaml", &GatewayConfig::new().routes(resolvable)).await;
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("configuration OK (1 listeners, 2 routes)"),
        "{}",
        run.stdout
    );
    assert_eq!(sts_requests(&sts, "AssumeRole").len(), 2);
}
