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

mod refresh;
mod sources;
