//! Operating the gateway: SIGHUP route reload and graceful upgrades (SIGQUIT socket handoff)
//! under a bounded load, with zero failed requests.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;

/// A `function_uri` route `name` on `<prefix>/*` to the emulator's open stage `/open/<name>`.
fn open_route(emu: &Emulator, name: &str, prefix: &str) -> Route {
    Route::function_uri(
        &format!("{prefix}/*"),
        &emu.http_url(&format!("/open/{name}")),
    )
    .name(name)
}

/// [`wait_until`] off the runtime's scheduling (the load runs on this runtime).
fn wait_blocking(what: &str, within: Duration, cond: impl FnMut() -> bool) {
    tokio::task::block_in_place(|| wait_until(what, within, cond))
}

/// Waits until `child` exits (within `within`) and returns its status.
fn wait_exit(
    child: &mut std::process::Child,
    what: &str,
    within: Duration,
) -> std::process::ExitStatus {
    let mut status = None;
    wait_blocking(what, within, || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status.unwrap()
}

/// Counters of a background load.
#[derive(Default)]
struct Load {
    ok: AtomicU64,
    failed: AtomicU64,
    stop: AtomicBool,
}

/// Runs `tasks` loops against `url` until stopped or `max_each` requests each, half of them on
/// keep-alive connections and half on a new connection per request.
fn start_load(
    url: String,
    tasks: usize,
    max_each: u64,
) -> (Arc<Load>, Vec<tokio::task::JoinHandle<()>>) {
    let load = Arc::new(Load::default());
    let mut handles = Vec::new();
    for i in 0..tasks {
        let keepalive = i % 2 == 0;
        let client = if keepalive {
            reqwest::Client::builder().http1_only().build().unwrap()
        } else {
            reqwest::Client::builder()
                .http1_only()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap()
        };
        let (load, url) = (load.clone(), url.clone());
        handles.push(tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(90);
            for _ in 0..max_each {
                if load.stop.load(Ordering::Relaxed) || Instant::now() > deadline {
                    break;
                }
                let outcome = match client.get(&url).send().await {
                    Ok(r) => {
                        let status = r.status();
                        match r.bytes().await {
                            Ok(_) if status == 200 => Ok(()),
                            Ok(_) => Err(format!("status {status}")),
                            Err(e) => Err(format!("body: {e}")),
                        }
                    }
                    Err(e) => Err(format!("{e:?}")),
                };
                match outcome {
                    Ok(()) => load.ok.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        eprintln!("load (keepalive={keepalive}): {e}");
                        load.failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        }));
    }
    (load, handles)
}

/// Waits until the load has answers (it is running), instead of giving it a fixed head start.
fn wait_load_running(load: &Load) {
    wait_load_ok(load, 20);
}

/// Waits until the load has had `n` answers in all.
fn wait_load_ok(load: &Load, n: u64) {
    wait_blocking(
        &format!("{n} answers to the load"),
        Duration::from_secs(30),
        || load.ok.load(Ordering::Relaxed) >= n,
    );
}

async fn stop_load(load: &Load, handles: Vec<tokio::task::JoinHandle<()>>) -> (u64, u64) {
    load.stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.await.unwrap();
    }
    (
        load.ok.load(Ordering::Relaxed),
        load.failed.load(Ordering::Relaxed),
    )
}

async fn wait_status(url: &str, want: u16, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let got = client()
            .get(url)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url}: still {got}, wanted {want}"
        );
        // The poll interval of this deadline loop (an HTTP check: async, unlike `wait_until`).
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_swaps_routes_and_rejects_a_bad_file() {
    let emu = Emulator::start();
    let metrics_port = free_port();
    let config = GatewayConfig::new().metrics(format!("127.0.0.1:{metrics_port}").parse().unwrap());
    let gw = Gateway::launch(&config.clone().route(open_route(&emu, "a", "/a")));
    let (load, handles) = start_load(gw.url("/a/x"), 4, 5_000);
    wait_load_running(&load);

    assert_eq!(
        client().get(gw.url("/b/x")).send().await.unwrap().status(),
        404
    );
    let both = config
        .clone()
        .routes([open_route(&emu, "a", "/a"), open_route(&emu, "b", "/b")]);
    gw.rewrite_routes(&both.body_yaml());
    gw.signal("HUP");
    wait_status(&gw.url("/b/x"), 200, Duration::from_secs(10)).await;

    // A broken file: rejected, the running table keeps serving both routes.
    let broken = config.route(Route::function_uri("nope", &emu.http_url("/open/b")).name("broken"));
    gw.rewrite_routes(&broken.body_yaml());
    gw.signal("HUP");
    wait_blocking("the rejection in the log", Duration::from_secs(10), || {
        gw.log_text().contains("reload: rejected")
    });
    assert_eq!(
        client().get(gw.url("/b/x")).send().await.unwrap().status(),
        200
    );
    // The load goes on past the rejected reload.
    wait_load_ok(&load, load.ok.load(Ordering::Relaxed) + 50);

    let (ok, failed) = stop_load(&load, handles).await;
    println!("reload: {ok} requests ok, {failed} failed");
    assert!(ok > 100, "the load ran ({ok})");
    assert_eq!(failed, 0);
    let log = gw.log_text();
    assert!(log.contains("reload: rejected"), "{log}");
    assert!(
        log.contains("routes[0].uri"),
        "the rejection names the field"
    );
    assert!(log.contains("reload: ") && log.contains("2 routes in service"));
    let metrics = client()
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (series, want) in [
        ("lambda_proxy_config_reloads_total{result=\"ok\"}", "1"),
        ("lambda_proxy_config_reloads_total{result=\"failed\"}", "1"),
    ] {
        let line = metrics
            .lines()
            .find(|l| l.starts_with(series))
            .unwrap_or_else(|| panic!("{series} missing"));
        assert_eq!(line.split_whitespace().last(), Some(want), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_graceful_upgrades_under_load_drop_nothing() {
    let emu = Emulator::start();
    let mut gw = Gateway::launch(&GatewayConfig::new().route(open_route(&emu, "a", "/a")));
    let (load, handles) = start_load(gw.url("/a/x"), 4, 20_000);
    wait_load_running(&load);

    for round in 0..3 {
        if round == 1 {
            // The second upgrade also brings a new route.
            let routes = [open_route(&emu, "a", "/a"), open_route(&emu, "c", "/c")];
            gw.rewrite_routes(&GatewayConfig::new().routes(routes).body_yaml());
        }
        let t = Instant::now();
        let mut old = gw.upgrade().expect("the new process starts");
        // The old process hands over its sockets, drains and exits within the grace bound
        // (5 s handoff window of Pingora + drain): never the 300 s fixed sleep.
        let status = wait_exit(&mut old, "the old process exits", Duration::from_secs(20));
        println!(
            "upgrade {round}: old process exited ({status}) after {:?}",
            t.elapsed()
        );
        if round >= 1 {
            wait_status(&gw.url("/c/x"), 200, Duration::from_secs(5)).await;
        }
    }
    let (ok, failed) = stop_load(&load, handles).await;
    println!("upgrades: {ok} requests ok, {failed} failed");
    if failed > 0 {
        // Log records (access lines do not start with `[`).
        for line in gw.log_text().lines().filter(|l| l.starts_with('[')) {
            println!("gateway: {line}");
        }
    }
    assert!(ok > 1000, "the load ran ({ok})");
    assert_eq!(
        failed, 0,
        "no request failed or was reset across 3 upgrades"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_config_aborts_the_upgrade_and_the_old_process_serves() {
    let emu = Emulator::start();
    let mut gw = Gateway::launch(&GatewayConfig::new().route(open_route(&emu, "a", "/a")));
    let bad = GatewayConfig::new().route(Route::function_uri("/a/*", "ftp://nope").name("a"));
    gw.rewrite_routes(&bad.body_yaml());
    // `upgrade` returns once the new process has exited: its refusal is in the log.
    let status = gw
        .upgrade()
        .expect_err("the new process must refuse the file");
    assert!(!status.success());
    assert!(gw.log_text().contains("routes[0].function_uri"));
    let r = client().get(gw.url("/a/x")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the old process still serves");
    assert!(gw.try_wait().is_none(), "the old process is untouched");
}

/// Rewrites the gateway's file with one more plain listener, first in the list.
fn with_extra_listener(gw: &Gateway, addr: &str) {
    let text = std::fs::read_to_string(&gw.conf).unwrap();
    assert!(text.contains("listeners:\n"));
    gw.write_config(&text.replacen(
        "listeners:\n",
        &format!("listeners:\n  - address: {addr}\n"),
        1,
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_onto_a_busy_port_is_refused_and_the_old_process_serves_on() {
    let emu = Emulator::start();
    let mut gw = Gateway::launch(&GatewayConfig::new().route(open_route(&emu, "a", "/a")));
    // Another program holds the port the new configuration adds.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_addr = busy.local_addr().unwrap();
    let (load, handles) = start_load(gw.url("/a/x"), 4, 20_000);
    wait_load_running(&load);
    with_extra_listener(&gw, &busy_addr.to_string());

    let t = Instant::now();
    let status = gw
        .upgrade()
        .expect_err("the new process must refuse the busy address before the handoff");
    println!(
        "busy port: the new process exited ({status}) after {:?}",
        t.elapsed()
    );
    assert_eq!(status.code(), Some(1));
    assert!(t.elapsed() < Duration::from_secs(5), "refused at once");
    // The old process was never told to go: it keeps serving, past its 5 s handoff window.
    // Kept: waits out that deliberate window (under load) to show nothing happens in it.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        client().get(gw.url("/a/x")).send().await.unwrap().status(),
        200
    );
    let (ok, failed) = stop_load(&load, handles).await;
    println!("busy port upgrade: {ok} requests ok, {failed} failed");
    assert!(ok > 100, "the load ran ({ok})");
    assert_eq!(failed, 0);
    assert!(gw.try_wait().is_none(), "the old process is still running");
    let log = gw.log_text();
    let want = format!("listeners[0].address: {busy_addr} is in use by another program");
    assert!(log.contains(&want), "{want} in:\n{log}");
    assert!(log.contains("upgrade aborted before taking over any socket"));
    assert!(
        !log.contains("SIGQUIT received"),
        "the old process got no QUIT"
    );

    // `-t` finds the same, and accepts the address the running gateway holds (it comes over).
    let out = run_dash_t(&gw.conf);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "-t passed: {stderr}");
    assert!(stderr.contains(&want), "{stderr}");
    assert!(!stderr.contains("listeners[1]"), "{stderr}");
    drop(busy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_fails_after_the_handoff_ends_the_new_process() {
    let emu = Emulator::start();
    let mut gw = Gateway::launch(&GatewayConfig::new().route(open_route(&emu, "a", "/a")));
    let extra = format!("127.0.0.1:{}", free_port());
    with_extra_listener(&gw, &extra);
    // The address is free when the new process checks it, and taken before it binds it (after
    // the handoff): Pingora retries the bind for 30 s, then its service task panics.
    let new = gw
        .start_upgrade()
        .expect("the new process passes its checks");
    let taken = std::net::TcpListener::bind(&extra).unwrap();
    let mut old = gw.hand_over(new);
    let t = Instant::now();
    let mut status = None;
    wait_blocking(
        "the new process exits without its listener (not half-alive)",
        Duration::from_secs(60),
        || {
            status = gw.try_wait();
            status.is_some()
        },
    );
    let status = status.unwrap();
    println!(
        "the new process exited ({status}) {:?} after the handoff",
        t.elapsed()
    );
    assert_eq!(status.code(), Some(lambda_proxy::fatal::PANIC_EXIT));
    let log = gw.log_text();
    assert!(
        log.contains("fatal: panic in `lambda-proxy`") && log.contains("Failed to build listeners"),
        "{log}"
    );
    drop(taken);
    let _ = old.kill();
    let _ = old.wait();
}

/// Kills a daemonised gateway (not our child) by PID when dropped.
struct KillOnDrop(Vec<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = std::process::Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

fn kill(sig: &str, pid: u32) {
    let ok = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {pid}");
}

/// Reads the pid file once it names a process other than `not`.
fn pid_from(file: &std::path::Path, not: Option<u32>) -> u32 {
    let mut pid = None;
    wait_blocking(
        &format!("a new pid in {}", file.display()),
        Duration::from_secs(10),
        || {
            pid = std::fs::read_to_string(file)
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
                .filter(|p| Some(*p) != not);
            pid.is_some()
        },
    );
    pid.unwrap()
}

/// A daemon's file (`-d`: the harness does not start it): its own pid file, upgrade socket and
/// error log in `dir`, listening on `addr`.
fn daemon_config(dir: &std::path::Path, addr: &str) -> GatewayConfig {
    let d = dir.display();
    GatewayConfig::new()
        .set_in(&["version"], 1)
        .set_in(&["threads"], 2)
        .set_in(&["pid_file"], format!("{d}/pid"))
        .set_in(&["upgrade_sock"], format!("{d}/upgrade.sock"))
        .set_in(&["error_log"], format!("{d}/gateway.log"))
        .set_in(&["grace_period_seconds"], 5)
        .set_in(&["graceful_shutdown_timeout_seconds"], 1)
        .listener(addr.parse().unwrap())
}

/// `lambda-proxy <args>` run from `dir` (so `-c` can be relative), as an operator would.
fn run_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(gateway_bin());
    cmd.args(args).current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "info")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_started_with_a_relative_config_path_reloads_on_sighup() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let addr = format!("127.0.0.1:{}", free_port());
    let head = daemon_config(dir.path(), &addr);
    let conf = dir.path().join("gw.yaml");
    let one = head.clone().route(open_route(&emu, "a", "/a"));
    std::fs::write(&conf, one.to_yaml()).unwrap();
    // The daemon forks and changes its working directory to `/`; `-c` stays relative.
    let status = run_in(dir.path(), &["-d", "-c", "gw.yaml"]).status;
    assert!(status.success(), "-d: {status}");
    let pid = pid_from(&dir.path().join("pid"), None);
    let _guard = KillOnDrop(vec![pid]);
    let url = |p: &str| format!("http://{addr}{p}");
    wait_status(&url("/a/x"), 200, Duration::from_secs(10)).await;
    assert_eq!(
        client().get(url("/b/x")).send().await.unwrap().status(),
        404
    );

    let two = head.routes([open_route(&emu, "a", "/a"), open_route(&emu, "b", "/b")]);
    std::fs::write(&conf, two.to_yaml()).unwrap();
    kill("HUP", pid);
    wait_status(&url("/b/x"), 200, Duration::from_secs(10)).await;
    let log = std::fs::read_to_string(dir.path().join("gateway.log")).unwrap();
    assert!(
        log.contains(&format!(
            "reload: {}/gw.yaml loaded, 2 routes in service",
            d
        )),
        "{log}"
    );
}

/// Whether `pid` is a running process (not gone, not a zombie waiting for a reaper).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().to_string())
        })
        .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_systemd_reload_order_hands_over_only_to_a_ready_process() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    // As systemd/production.yaml: the parent of the daemon fork returns once the new process
    // is ready for the sockets.
    let conf = dir.path().join("gw.yaml");
    // The file, with `extra` listening first when given.
    let write = |extra: Option<std::net::SocketAddr>, routes: Vec<Route>| {
        let first = match extra {
            Some(extra) => {
                daemon_config(dir.path(), &extra.to_string()).listener(addr.parse().unwrap())
            }
            None => daemon_config(dir.path(), &addr),
        };
        let config = first
            .set_in(&["daemon_wait_for_ready"], true)
            .set_in(&["daemon_ready_timeout_seconds"], 30)
            .routes(routes);
        std::fs::write(&conf, config.to_yaml()).unwrap();
    };
    write(None, vec![open_route(&emu, "a", "/a")]);
    let t = Instant::now();
    let status = run_in(dir.path(), &["-d", "-c", "gw.yaml"]).status;
    let old = pid_from(&dir.path().join("pid"), None);
    let mut guard = KillOnDrop(vec![old]);
    assert!(status.success(), "-d with daemon_wait_for_ready: {status}");
    println!("-d returned after {:?}", t.elapsed());
    let url = |p: &str| format!("http://{addr}{p}");
    wait_status(&url("/a/x"), 200, Duration::from_secs(10)).await;
    let (load, handles) = start_load(url("/a/x"), 4, 20_000);
    wait_load_running(&load);

    // ExecReload with a config the new process cannot run: `-u -d` fails, QUIT is never sent.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    write(
        Some(busy.local_addr().unwrap()),
        vec![open_route(&emu, "a", "/a")],
    );
    let out = run_in(dir.path(), &["-u", "-d", "-c", "gw.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "-u -d on a busy address: {stderr}"
    );
    assert!(stderr.contains("is in use by another program"), "{stderr}");
    // `-u -d` has returned: the new process is gone and the old one was not told anything.
    assert!(alive(old), "the running process stays");
    let log = std::fs::read_to_string(dir.path().join("gateway.log")).unwrap();
    assert!(!log.contains("SIGQUIT received"), "{log}");

    // A good one: `-u -d` returns once the new process waits for the sockets, then QUIT.
    write(
        None,
        vec![open_route(&emu, "a", "/a"), open_route(&emu, "c", "/c")],
    );
    let t = Instant::now();
    let status = run_in(dir.path(), &["-u", "-d", "-c", "gw.yaml"]).status;
    assert!(status.success(), "-u -d: {status}");
    println!("-u -d returned after {:?}", t.elapsed());
    let new = pid_from(&dir.path().join("pid"), Some(old));
    guard.0.push(new);
    kill("QUIT", old);
    let t = Instant::now();
    wait_blocking("the old process exits", Duration::from_secs(20), || {
        !alive(old)
    });
    println!("old process gone {:?} after QUIT", t.elapsed());
    wait_status(&url("/c/x"), 200, Duration::from_secs(5)).await;
    assert!(alive(new));
    let (ok, failed) = stop_load(&load, handles).await;
    println!("systemd order: {ok} requests ok, {failed} failed");
    assert!(ok > 100, "the load ran ({ok})");
    assert_eq!(failed, 0);
    let log = std::fs::read_to_string(dir.path().join("gateway.log")).unwrap();
    assert!(log.contains("Sending SIGUSR1 to parent process"), "{log}");
    drop(busy);
}

/// Old and new process both accept for Pingora's 5 s after the handoff; the old one re-reads the
/// file at SIGQUIT, so both answer with the new routes (before: old and new answers alternated
/// for about 4 s after each upgrade).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_switches_routes_at_once_in_both_processes() {
    let emu = Emulator::start();
    let route = |target: &str| {
        GatewayConfig::new()
            .route(Route::function_uri("/a/*", &emu.http_url(&format!("/open/{target}"))).name("a"))
    };
    let mut gw = Gateway::launch(&route("old"));
    // New connections only, so each answer shows which process accepted it.
    let samples = Arc::new(std::sync::Mutex::new(Vec::<(Instant, bool)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (samples, stop, url) = (samples.clone(), stop.clone(), gw.url("/a/x"));
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .http1_only()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(60);
            for _ in 0..100_000 {
                if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
                    break;
                }
                if let Ok(r) = client.get(&url).send().await {
                    if let Ok(body) = r.text().await {
                        let new = body.contains("/open/new");
                        samples.lock().unwrap().push((Instant::now(), new));
                    }
                }
            }
        }));
    }
    wait_blocking("answers sampled", Duration::from_secs(10), || {
        samples.lock().unwrap().len() >= 20
    });
    gw.rewrite_routes(&route("new").body_yaml());
    let quit = Instant::now();
    let mut old = gw.upgrade().expect("the new process starts");
    let quit = quit.max(Instant::now());
    wait_exit(&mut old, "the old process exits", Duration::from_secs(20));
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let samples = samples.lock().unwrap().clone();
    let first_new = samples.iter().find(|(_, n)| *n).map(|(t, _)| *t).unwrap();
    let last_old = samples
        .iter()
        .rev()
        .find(|(_, n)| !*n)
        .map(|(t, _)| *t)
        .unwrap();
    let window = last_old.saturating_duration_since(first_new);
    let mixed = samples
        .iter()
        .filter(|(t, _)| *t >= first_new && *t <= last_old)
        .count();
    println!(
        "route flip: first new answer {:?} after QUIT, last old answer {:?} after QUIT: old and new alternate for {window:?} ({mixed} answers)",
        first_new.saturating_duration_since(quit),
        last_old.saturating_duration_since(quit),
    );
    assert!(window < Duration::from_millis(500), "{window:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quit_that_no_new_process_answers_leaves_the_old_process_serving() {
    // SIGQUIT with no new process waiting for the sockets (never started, or it died between
    // the readiness check and the handoff): Pingora 0.9.1 stopped accepting after its retries
    // and exited, leaving nobody on the port. With patch 0002 the process serves on.
    let emu = Emulator::start();
    let gw = Gateway::launch(&GatewayConfig::new().route(open_route(&emu, "a", "/a")));
    let (load, handles) = start_load(gw.url("/a/x"), 4, 100_000);
    wait_load_running(&load);
    let quit_at = Instant::now();
    gw.signal("QUIT");
    // Pingora tries the upgrade socket 5 times a second apart, then (before the patch) waits
    // its 5 s close timeout and shuts down: well past 12 s the port would be closed.
    // Kept: waits out those deliberate timeouts, under load, to show the port stays served.
    tokio::time::sleep(Duration::from_secs(13)).await;
    let (ok, failed) = stop_load(&load, handles).await;
    assert_eq!(failed, 0, "{ok} ok, {failed} failed");
    assert!(ok > 100, "{ok}");
    let r = client().get(gw.url("/a/x")).send().await.unwrap();
    assert_eq!(
        r.status(),
        200,
        "still serving {:?} after QUIT",
        quit_at.elapsed()
    );
    // Keep-alive is back: the answer does not close the connection.
    assert_ne!(
        r.headers()
            .get("connection")
            .map(|v| v.to_str().unwrap_or("")),
        Some("close")
    );
    let log = gw.log_text();
    assert!(
        log.contains("upgrade abandoned: no new process took the listening sockets"),
        "{log}"
    );
    // A later upgrade still works from this state.
    let mut gw = gw;
    let mut old = gw.upgrade().expect("the second upgrade starts");
    wait_exit(&mut old, "the old process exits", Duration::from_secs(30));
    let r = client().get(gw.url("/a/x")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the new process serves");
}
