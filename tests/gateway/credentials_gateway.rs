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

    fn gateway(&self, routes: &str, extra_top: &str) -> Gateway {
        Gateway::start_env(routes, extra_top, &self.pairs())
    }
}

/// A static credential as configured and as the emulator is told to accept it.
struct StaticKey {
    id: &'static str,
    secret: String,
    token: String,
}

impl StaticKey {
    fn new(id: &'static str, tag: &str) -> StaticKey {
        assert_eq!(id.len(), 20);
        StaticKey {
            id,
            secret: secret40(&format!("{CANARY}/static/{tag}/")),
            token: format!("{CANARY}-static-session-token-{tag}"),
        }
    }

    fn emulator_credential(&self) -> String {
        format!("{}:{}:{}", self.id, self.secret, self.token)
    }

    fn seen(&self) -> Seen {
        Seen {
            key: self.id.into(),
            token: Some(self.token.clone()),
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

fn yaml_value(v: &str) -> String {
    if v.parse::<u64>().is_ok() {
        v.to_string()
    } else {
        format!("'{v}'")
    }
}

/// A `function_uri` route to the emulator's SigV4 stage; `iam` fields go under
/// `authorization.iam` (none: the default chain).
fn uri_route(up: SocketAddr, name: &str, iam: &[(&str, &str)]) -> String {
    assert!(name.starts_with("uri-"));
    let mut s = format!(
        "  - name: {name}\n    uri: '/{name}/*'\n    function_uri: 'http://{up}/iam/prod'\n    authorization:\n      iam:\n        service: execute-api\n"
    );
    for (k, v) in iam {
        s += &format!("        {k}: {}\n", yaml_value(v));
    }
    s
}

/// A `function_name` route invoking the emulator's `inspect`; `fields` are Kong's credential
/// fields (none: the default chain).
fn fn_route(up: SocketAddr, name: &str, fields: &[(&str, &str)]) -> String {
    assert!(name.starts_with("fn-"));
    let mut s = format!(
        "  - name: {name}\n    uri: /{name}\n    function_name: inspect\n    aws_region: {REGION}\n    host: {}\n    port: {}\n    disable_https: true\n",
        up.ip(),
        up.port()
    );
    for (k, v) in fields {
        s += &format!("    {k}: {}\n", yaml_value(v));
    }
    s
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
    let routes = format!(
        "routes:\n{}{}",
        uri_route(emu.http, "uri-imds", &[]),
        fn_route(emu.http, "fn-imds", &[])
    );
    let gw = env.gateway(&routes, "");
    let c = client();
    let want = Seen::issued(&issuer, 1);
    assert_eq!(ready(&c, &gw, "uri-imds").await, want);
    assert_eq!(call(&c, &gw, "fn-imds").await.unwrap(), want);
    assert_eq!(issuer.count(), 1, "both routes share one source");

    // IMDSv2: the token PUT (with its TTL) before any GET, and every GET carries the token.
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
    assert!(gets.len() >= 2, "role name, then credentials: {seen:#?}");
    for get in gets {
        assert_eq!(get.header("x-aws-ec2-metadata-token"), Some(IMDS_TOKEN));
    }
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
    let routes = |tag: &str| {
        format!(
            "routes:\n{}{}",
            uri_route(emu.http, &format!("uri-{tag}"), &[]),
            fn_route(emu.http, &format!("fn-{tag}"), &[])
        )
    };
    let c = client();

    // ECS: the token in AWS_CONTAINER_AUTHORIZATION_TOKEN.
    let mut env = Env::new();
    env.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)
        .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", token);
    let ecs_gw = env.gateway(&routes("ecs"), "");
    let first = Seen::issued(&issuer, 1);
    assert_eq!(ready(&c, &ecs_gw, "uri-ecs").await, first);
    assert_eq!(call(&c, &ecs_gw, "fn-ecs").await.unwrap(), first);

    // EKS Pod Identity: the token in a file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE).
    let mut env = Env::new();
    let token_file = env.file("pod-identity-token", token);
    env.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)
        .set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token_file);
    let pod_gw = env.gateway(&routes("pod"), "");
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
    let routes = format!(
        "routes:\n{}{}{}{}",
        uri_route(emu.http, "uri-irsa", &[]),
        fn_route(emu.http, "fn-irsa", &[]),
        uri_route(
            emu.http,
            "uri-xacct",
            &[
                ("assume_role_arn", invoker),
                ("role_session_name", "lambda-proxy-xacct"),
                ("external_id", external_id),
                ("duration_seconds", "1800"),
            ]
        ),
        fn_route(
            emu.http,
            "fn-xacct",
            &[
                ("aws_assume_role_arn", invoker),
                ("aws_role_session_name", "lambda-proxy-xacct"),
                ("aws_assume_role_external_id", external_id),
                ("aws_assume_role_duration", "1800"),
            ]
        ),
    );
    let gw = env.gateway(&routes, "");
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
    let prod = StaticKey::new("AKIAPROD000000000000", "prod");
    let on_uri = StaticKey::new("AKIASTATICURI0000001", "uri");
    let on_fn = StaticKey::new("AKIASTATICFN00000001", "fn");
    let named_base = StaticKey::new("AKIANAMEDBASE0000001", "named");
    let from_env = StaticKey::new("AKIAENVIRONMENT00001", "env");
    let emu = emulator(&[&roles], &[&prod, &on_uri, &on_fn, &from_env]);

    let mut env = Env::new();
    let credentials = env.file(
        "credentials",
        &format!(
            "[default]\naws_access_key_id = AKIADEFAULT000000000\naws_secret_access_key = {}\n\n\
             [prod]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
            secret40(&format!("{CANARY}/profile/default/")),
            prod.id,
            prod.secret,
            prod.token
        ),
    );
    let config = env.file(
        "config",
        "[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/chained\n\
         source_profile = prod\nrole_session_name = chained-session\n\
         external_id = CANARY-chained-external-id\nregion = us-east-1\n",
    );
    env.set("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .set("AWS_CONFIG_FILE", &config)
        .set("AWS_ENDPOINT_URL_STS", &sts.url());
    let named = format!(
        "credentials:\n  xacct:\n    access_key_id: {}\n    secret_access_key: '{}'\n    session_token: '{}'\n    \
         assume_role_arn: 'arn:aws:iam::210987654321:role/named'\n    role_session_name: named-session\n    \
         external_id: CANARY-named-external-id\n    sts_endpoint_url: '{}'\n",
        named_base.id,
        named_base.secret,
        named_base.token,
        sts.url()
    );
    let routes = format!(
        "routes:\n{}{}{}{}{}{}",
        uri_route(emu.http, "uri-prod", &[("profile", "prod")]),
        fn_route(emu.http, "fn-chained", &[("aws_profile", "chained")]),
        uri_route(
            emu.http,
            "uri-static",
            &[
                ("accesskey", on_uri.id),
                ("secretkey", &on_uri.secret),
                ("session_token", &on_uri.token)
            ]
        ),
        fn_route(
            emu.http,
            "fn-static",
            &[
                ("aws_key", on_fn.id),
                ("aws_secret", &on_fn.secret),
                ("aws_session_token", &on_fn.token)
            ]
        ),
        uri_route(emu.http, "uri-named", &[("credentials", "xacct")]),
        fn_route(emu.http, "fn-named", &[("credentials", "xacct")]),
    );
    let gw = env.gateway(&routes, &named);
    let c = client();

    assert_eq!(ready(&c, &gw, "uri-prod").await, prod.seen());
    assert_eq!(ready(&c, &gw, "uri-static").await, on_uri.seen());
    assert_eq!(ready(&c, &gw, "fn-static").await, on_fn.seen());
    let chained = ready(&c, &gw, "fn-chained").await;
    let xacct = ready(&c, &gw, "uri-named").await;
    assert_eq!(call(&c, &gw, "fn-named").await.unwrap(), xacct);
    let mut both = [chained.clone(), xacct.clone()];
    both.sort();
    assert_eq!(both, [Seen::issued(&roles, 1), Seen::issued(&roles, 2)]);

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
    assert_eq!(stand_in_token(req), Some(prod.token.as_str()));
    // The named source: its sts_endpoint_url, signed with its static keys.
    let (req, form) = by_base(named_base.id);
    assert_eq!(form["RoleArn"], "arn:aws:iam::210987654321:role/named");
    assert_eq!(form["RoleSessionName"], "named-session");
    assert_eq!(form["ExternalId"], "CANARY-named-external-id");
    assert_eq!(stand_in_token(req), Some(named_base.token.as_str()));
    clean_log(&gw);

    // Plain environment keys (their own process: env keys come first in the default chain).
    let mut env = Env::new();
    env.set("AWS_ACCESS_KEY_ID", from_env.id)
        .set("AWS_SECRET_ACCESS_KEY", &from_env.secret)
        .set("AWS_SESSION_TOKEN", &from_env.token);
    let routes = format!(
        "routes:\n{}{}",
        uri_route(emu.http, "uri-env", &[]),
        fn_route(emu.http, "fn-env", &[])
    );
    let env_gw = env.gateway(&routes, "");
    assert_eq!(ready(&c, &env_gw, "fn-env").await, from_env.seen());
    assert_eq!(call(&c, &env_gw, "uri-env").await.unwrap(), from_env.seen());
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
    let routes = format!(
        "routes:\n{}{}",
        uri_route(emu.http, "uri-rota", &[]),
        fn_route(emu.http, "fn-rota", &[])
    );
    let gw = Arc::new(env.gateway(&routes, ""));
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
    assert!(!during.contains("answering 503"), "{during}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_refresh_serves_last_good_until_expiry_then_503() {
    // Container credentials living 8 s: the refresh at ~6 s fails (the stand-in refuses with an
    // error that echoes its token and the last secret it issued), and so do the retries.
    let issuer = Issuer::new("FAIL", Duration::from_secs(8));
    let token = "CANARY-ecs-token-for-failures";
    let mode = Arc::new(AtomicU8::new(0));
    let ecs = ecs_stub(issuer.clone(), token, mode.clone()).await;
    let emu = emulator(&[&issuer], &[]);
    let mut env = Env::new();
    env.set(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        &format!("{}/creds", ecs.url()),
    )
    .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", token);
    let routes = format!(
        "routes:\n{}{}",
        uri_route(emu.http, "uri-fail", &[]),
        fn_route(emu.http, "fn-fail", &[])
    );
    let gw = env.gateway(&routes, "");
    let c = client();
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
    let log = gw.log_text();
    for route in ["uri-fail", "fn-fail"] {
        let want = format!("route {route}: no valid AWS credentials from `route:uri-fail`");
        assert!(log.contains(&want), "{want:?} not in:\n{log}");
    }

    // The source recovers: so does the route, with new credentials.
    mode.store(0, Ordering::SeqCst);
    let back = ready(&c, &gw, "fn-fail").await;
    assert_eq!(back, Seen::issued(&issuer, 2));
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
async fn dash_t(env: &Env, name: &str, extra_top: &str, routes: &str) -> DashT {
    let yaml = format!(
        "version: 1\nthreads: 2\npid_file: {d}/pid\nupgrade_sock: {d}/upgrade.sock\n{extra_top}\n\
         listeners:\n  - address: 127.0.0.1:{port}\n{routes}\n",
        d = env.dir.path().display(),
        port = free_port()
    );
    let path = env.file(name, &yaml);
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
    let named = format!(
        "credentials:\n  denied:\n    access_key_id: {}\n    secret_access_key: '{}'\n    session_token: '{}'\n    \
         assume_role_arn: 'arn:aws:iam::123456789012:role/denied'\n    external_id: CANARY-denied-external-id\n    \
         sts_endpoint_url: '{}'\n",
        denied_base.id,
        denied_base.secret,
        denied_base.token,
        denier.url()
    );
    let resolvable = format!(
        "{}{}",
        fn_route(
            fake,
            "fn-static",
            &[
                ("aws_key", on_fn.id),
                ("aws_secret", &on_fn.secret),
                ("aws_session_token", &on_fn.token)
            ]
        ),
        uri_route(
            fake,
            "uri-role",
            &[
                ("accesskey", role_base.id),
                ("secretkey", &role_base.secret),
                ("session_token", &role_base.token),
                ("assume_role_arn", "arn:aws:iam::123456789012:role/ok"),
                ("external_id", "CANARY-dash-t-external-id"),
                ("sts_endpoint_url", &sts.url()),
            ]
        ),
    );

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
    let routes = format!(
        "routes:\n{resolvable}{}{}{}",
        uri_route(fake, "uri-chain", &[]),
        fn_route(fake, "fn-chain", &[]),
        fn_route(fake, "fn-denied", &[("credentials", "denied")]),
    );
    let started = Instant::now();
    let run = dash_t(&env, "mixed.yaml", &named, &routes).await;
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
    let routes = format!(
        "routes:\n{}{}",
        fn_route(fake, "fn-nothing", &[]),
        uri_route(fake, "uri-nothing", &[])
    );
    let run = dash_t(&env, "nothing.yaml", "", &routes).await;
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "credentials `route:fn-nothing` (routes: fn-nothing, uri-nothing) cannot be resolved"
        ),
        "{}",
        run.stderr
    );

    // Only resolvable sources: OK.
    let run = dash_t(&env, "ok.yaml", "", &format!("routes:\n{resolvable}")).await;
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("configuration OK (1 listeners, 2 routes)"),
        "{}",
        run.stdout
    );
    assert_eq!(sts_requests(&sts, "AssumeRole").len(), 2);
}
