//! CORS in a real browser: headless Chromium loads a page from a small static server (this
//! test, on its own 127.0.0.1 port: another origin than the gateway's) whose script calls the
//! gateway with `fetch()` — a non-simple request (preflight, then POST), a request with
//! `credentials: "include"`, and two that must fail (an origin the route does not allow, a
//! route without CORS) — and writes each outcome into the page; `--dump-dom` prints it.
//!
//! Without `chromium` on PATH the test prints a line and passes, unless `REQUIRE_BROWSER` is
//! set (scripts/test.sh sets it; scripts/setup.sh installs chromium).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;

/// How long Chromium may take for the whole page.
const BROWSER_DEADLINE: Duration = Duration::from_secs(90);

fn chromium() -> Option<String> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find_map(|name| {
            let ok = Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            ok.then(|| name.to_string())
        })
}

/// The page: each call's outcome as one `name=...` line in `<pre id="out">`.
fn page(gw: &str) -> String {
    format!(
        r#"<!doctype html><html><body><pre id="out">pending</pre><script>
const gw = "{gw}";
async function call(name, path, opts) {{
  try {{
    const r = await fetch(gw + path, opts);
    await r.text();
    return name + "=ok status=" + r.status + " id=" + r.headers.get("x-amzn-requestid");
  }} catch (e) {{
    return name + "=error " + e.name;
  }}
}}
(async () => {{
  const out = [];
  out.push(await call("preflighted", "/o/x", {{method: "POST", headers: {{"content-type": "application/json"}}, body: "{{}}"}}));
  out.push(await call("credentials", "/o/x", {{credentials: "include"}}));
  out.push(await call("other_origin", "/app-only/x", {{method: "POST", headers: {{"content-type": "application/json"}}, body: "{{}}"}}));
  out.push(await call("no_cors_route", "/plain/x", {{}}));
  document.getElementById("out").textContent = out.join("\n") + "\ndone";
}})();
</script></body></html>"#
    )
}

/// Serves `body` for `/page.html` (404 otherwise) until `stop` is set.
fn serve(listener: TcpListener, body: String, stop: Arc<AtomicBool>) {
    listener.set_nonblocking(true).unwrap();
    while !stop.load(Ordering::Relaxed) {
        let Ok((mut s, _)) = listener.accept() else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let (status, text) = if head.starts_with(b"GET /page.html ") {
            ("200 OK", body.as_str())
        } else {
            ("404 Not Found", "")
        };
        let _ = write!(
            s,
            "HTTP/1.1 {status}\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
            text.len()
        );
    }
}

#[tokio::test]
async fn chromium_sees_allowed_and_blocked_calls() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("REQUIRE_BROWSER").is_none(),
            "chromium not installed (run scripts/setup.sh) and REQUIRE_BROWSER is set"
        );
        println!("chromium not installed (run scripts/setup.sh): skipping");
        return;
    };
    let emu = Emulator::start();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let page_origin = format!("http://{}", listener.local_addr().unwrap());
    let gw = Gateway::launch(
        &GatewayConfig::new().routes([
            Route::function_uri("/o/*", &emu.http_url("/open/p")).set(
                "cors_configuration",
                crate::cors::cors(&[&page_origin], true),
            ),
            Route::function_uri("/app-only/*", &emu.http_url("/open/p"))
                .set("cors_configuration", crate::cors::cors(&[], true)),
            Route::function_uri("/plain/*", &emu.http_url("/open/p")),
        ]),
    );
    let gw_origin = gw.url("");
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let (body, stop) = (page(gw_origin.trim_end_matches('/')), stop.clone());
        std::thread::spawn(move || serve(listener, body, stop))
    };

    let profile = tempfile::tempdir().unwrap();
    let dom_file = profile.path().join("dom.html");
    let mut child = Command::new(&browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=10000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(format!("{page_origin}/page.html"))
        .stdout(std::fs::File::create(&dom_file).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > BROWSER_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();
    let dom = std::fs::read_to_string(&dom_file).unwrap();
    assert!(
        status.is_some(),
        "chromium did not finish in {BROWSER_DEADLINE:?}: {dom}"
    );
    assert!(dom.contains("done"), "the script did not finish: {dom}");
    let line = |name: &str| {
        let key = format!("{name}=");
        let l = dom.lines().find_map(|l| l.find(&key).map(|i| &l[i..]));
        l.unwrap_or_else(|| panic!("no {name} in {dom}"))
            .to_string()
    };
    // Allowed: the status, and the header exposed through expose_headers, readable from JS.
    for name in ["preflighted", "credentials"] {
        let l = line(name);
        assert!(l.starts_with(&format!("{name}=ok status=200 id=")), "{l}");
        assert!(!l.ends_with("id=null") && !l.ends_with("id="), "{l}");
    }
    // Blocked by the browser: fetch rejects with a TypeError.
    assert_eq!(line("other_origin"), "other_origin=error TypeError");
    assert_eq!(line("no_cors_route"), "no_cors_route=error TypeError");
}
