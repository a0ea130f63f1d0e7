//! Refresh: rotation under load without a failed request, a failing refresh (last good until expiry, then 503), and `-t` naming routes whose source fails.

use super::*;

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
