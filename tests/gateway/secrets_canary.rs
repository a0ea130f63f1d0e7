//! Secrets never leak: the gateway runs the suite's scenarios (signed function_uri, every Invoke
//! outcome, streaming, timeouts, TLS and DNS failures, AWS rejecting a signature, a bad reload,
//! `-t`) with a canary secret key and session token, at `trace` log level, and the canaries
//! appear in no log line, metric or response body.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use crate::common::*;

const CANARY_AKID: &str = "AKIDCANARY";
/// 40 characters, as AWS secret keys are (the emulator insists).
const CANARY_SECRET: &str = "CanarySecretKey0123456789CanarySecretKey";
const CANARY_TOKEN: &str = "CanarySessionToken-FwoGZXIvYXdzEJr-CanaryTokenTail";
/// A second secret that AWS does not know: requests signed with it are refused with 403.
const CANARY_WRONG: &str = "CanaryWrongSecret0123456789CanaryWrongSe";

/// Every canary and a distinctive piece of each (a partial leak counts too).
fn canaries() -> Vec<&'static str> {
    vec![
        CANARY_SECRET,
        &CANARY_SECRET[..20],
        &CANARY_SECRET[20..],
        CANARY_TOKEN,
        &CANARY_TOKEN[..20],
        &CANARY_TOKEN[20..],
        CANARY_WRONG,
        &CANARY_WRONG[..20],
    ]
}

fn assert_clean(what: &str, text: &str) {
    for c in canaries() {
        assert!(
            !text.contains(c),
            "{what} contains the canary {c:?}:\n{}",
            text.lines()
                .filter(|l| l.contains(c))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

fn invoke(name: &str, function: &str, port: u16) -> Route {
    Route::function_name(name, function)
        .endpoint("127.0.0.1", port)
        .plain_http()
        .keys(CANARY_AKID, CANARY_SECRET)
        .token(CANARY_TOKEN)
}

#[test]
fn canary_credentials_appear_in_no_log_metric_or_body_at_trace_level() {
    let emu = Emulator::start_with(&[
        "--credential",
        &format!("{CANARY_AKID}:{CANARY_SECRET}:{CANARY_TOKEN}"),
    ]);
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let p = emu.http.port();
    let iam = |secret: &str| {
        Iam::keys(CANARY_AKID, secret, "execute-api")
            .unset("service")
            .session_token(CANARY_TOKEN)
    };
    // `timeout` of the two stalling routes: 300 ms, and -1 for the broken reload below.
    let config = |timeout: i64| {
        GatewayConfig::new().metrics(metrics).routes([
            Route::function_uri("/iam/*", &emu.http_url("/iam"))
                .name("iam")
                .iam(iam(CANARY_SECRET)),
            Route::function_uri("/wrong/*", &emu.http_url("/iam"))
                .name("iam-wrong")
                .iam(iam(CANARY_WRONG)),
            Route::function_uri("/stall/*", &emu.http_url("/stall"))
                .name("iam-stall")
                .set("timeout", timeout)
                .iam(iam(CANARY_SECRET)),
            Route::function_uri("/tls/*", &format!("https://127.0.0.1:{p}/iam"))
                .name("iam-tls")
                .iam(iam(CANARY_SECRET)),
            Route::function_uri("/dns/*", "https://no-such-host.invalid/iam")
                .name("iam-dns")
                .iam(iam(CANARY_SECRET)),
            invoke("echo", "echo", p),
            invoke("unhandled", "unhandled", p),
            invoke("throttle", "throttle", p),
            invoke("slow", "sleep", p).set("timeout", timeout),
            invoke("stream", "stream", p).set("response_streaming", true),
            invoke("v2", "proxy", p)
                .api_gateway("2.0")
                .proxy_integration(),
            invoke("wrong-invoke", "echo", p).keys(CANARY_AKID, CANARY_WRONG),
        ])
    };
    let gw = Gateway::launch_env(&config(300), &[("RUST_LOG", "trace")]);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = client();
    let mut bodies = String::new();
    let mut statuses = Vec::new();
    rt.block_on(async {
        for (path, body) in [
            ("/iam/a?x=1", r#"{"a":1}"#),
            ("/wrong/a", "{}"),
            ("/stall/a", "{}"),
            ("/tls/a", "{}"),
            ("/dns/a", "{}"),
            ("/echo", r#"{"hello":"canary-free"}"#),
            ("/unhandled", "{}"),
            ("/throttle", "{}"),
            ("/slow", r#"{"ms":2000}"#),
            ("/stream", r#"{"chunks":3,"delay_ms":10}"#),
            ("/v2", "{}"),
            ("/wrong-invoke", "{}"),
        ] {
            let r = c
                .post(gw.url(path))
                .header("content-type", "application/json")
                .body(body)
                .timeout(Duration::from_secs(20))
                .send()
                .await
                .unwrap();
            statuses.push((path, r.status().as_u16()));
            let headers = format!("{:?}", r.headers());
            let text = r.text().await.unwrap_or_default();
            bodies.push_str(&headers);
            // The emulator's `/iam` stage echoes the signed request it received, token
            // included: that is the upstream's content, not something the gateway wrote.
            if path != "/iam/a?x=1" {
                bodies.push_str(&text);
            }
            bodies.push('\n');
        }
    });
    // The scenarios did what they are for (so the check below covers each outcome).
    let want = [
        ("/iam/a?x=1", 200),
        ("/wrong/a", 403),
        ("/stall/a", 504),
        ("/tls/a", 502),
        ("/dns/a", 502),
        ("/echo", 200),
        ("/unhandled", 502),
        ("/throttle", 429),
        ("/slow", 504),
        ("/stream", 200),
        ("/v2", 201),
        ("/wrong-invoke", 502),
    ];
    assert_eq!(statuses, want.to_vec());

    // A reload with a broken file, then `-t` on the real file.
    gw.rewrite(&config(-1));
    gw.signal("HUP");
    gw.wait_for_log("reload: rejected");
    gw.rewrite(&config(300));
    let check = Command::new(gateway_bin())
        .arg("-t")
        .arg("-c")
        .arg(&gw.conf)
        .env("RUST_LOG", "trace")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let check_out = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    let (_, scrape) = raw_get(metrics, "/metrics");
    assert!(scrape.contains("lambda_proxy_requests_total"), "{scrape}");
    let log = gw.log_text();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the log really is verbose"
    );
    assert!(
        log.contains("config_reload") || log.contains("reload"),
        "{log}"
    );

    assert_clean("the gateway log", &log);
    assert_clean("the metrics", &scrape);
    assert_clean("the response heads and bodies", &bodies);
    assert_clean("`-t` output", &check_out);
    // The Debug form of the config and targets redacts the same values.
    assert!(!log.contains("secretkey: \""), "no config dumps");
}

/// Secrets referenced from the environment, a file and a systemd credential directory sign and
/// authorise real requests; a reload re-reads them (a changed file takes effect); no log line
/// carries a value, at trace level.
#[test]
fn referenced_secrets_work_are_reread_on_reload_and_never_logged() {
    const CANARY_APIKEY: &str = "CanaryApiKeyFromCredentialDir-0123456789";
    let emu = Emulator::start_with(&[
        "--credential",
        &format!("{CANARY_AKID}:{CANARY_SECRET}:{CANARY_TOKEN}"),
        "--api-key",
        CANARY_APIKEY,
    ]);
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("iam-secret");
    std::fs::write(&secret_file, format!("{CANARY_SECRET}\n")).unwrap();
    let creds = dir.path().join("credentials");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("apikey"), CANARY_APIKEY).unwrap();
    let p = emu.http.port();
    let config = GatewayConfig::new().routes([
        Route::function_uri("/iam/*", &emu.http_url("/iam"))
            .name("iam")
            .iam(
                Iam::keys(
                    "$env://LP_AKID",
                    &format!("$file://{}", secret_file.display()),
                    "execute-api",
                )
                .unset("service")
                .session_token("$env://LP_TOKEN"),
            ),
        Route::function_uri("/apikey/*", &emu.http_url("/apikey"))
            .name("keyed")
            .apikey("$credential://apikey"),
        Route::function_name("echo", "echo")
            .kong_payload()
            .endpoint("127.0.0.1", p)
            .plain_http()
            .keys(CANARY_AKID, "$env://LP_SECRET")
            .token("{vault://env/lp-token}"),
    ]);
    let creds_dir = creds.to_str().unwrap().to_string();
    let gw = Gateway::launch_env(
        &config,
        &[
            ("RUST_LOG", "trace"),
            ("LP_AKID", CANARY_AKID),
            ("LP_SECRET", CANARY_SECRET),
            ("LP_TOKEN", CANARY_TOKEN),
            ("CREDENTIALS_DIRECTORY", &creds_dir),
        ],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = client();
    let status = |path: &'static str| {
        rt.block_on(async {
            let r = c
                .post(gw.url(path))
                .header("content-type", "application/json")
                .body(r#"{"a":1}"#)
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        })
    };
    assert_eq!(status("/iam/x"), 200, "signed with the file's secret");
    assert_eq!(status("/apikey/x"), 200, "the credential's API key");
    assert_eq!(status("/echo"), 200, "Invoke signed with the env secret");

    // The file changes and SIGHUP reloads: the new (wrong) secret is read and AWS refuses it.
    std::fs::write(&secret_file, format!("{CANARY_WRONG}\n")).unwrap();
    gw.signal("HUP");
    gw.wait_for_log("reload: ");
    assert_eq!(status("/iam/x"), 403, "the reload re-read the secret file");
    // A reference that no longer resolves is a rejected reload: the running routes stay.
    std::fs::remove_file(&secret_file).unwrap();
    gw.signal("HUP");
    gw.wait_for_log("reload: rejected");
    let log = gw.log_text();
    assert!(
        log.contains("routes[0].authorization.iam.secretkey: cannot read"),
        "{log}"
    );
    assert_eq!(status("/echo"), 200);

    let log = gw.log_text();
    assert!(log.contains("TRACE") || log.contains("DEBUG"));
    assert_clean("the gateway log", &log);
    assert!(!log.contains(CANARY_APIKEY), "the API key is in the log");
    assert!(!log.contains(&CANARY_APIKEY[..20]));
}
