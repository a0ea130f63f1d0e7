//! The Prometheus endpoint end to end: a known mix of requests through the gateway binary in
//! front of the emulator, then one scrape of `metrics.address`, parsed from the text format and
//! checked series by series (exact counter values, histogram counts and sums, in-flight back to
//! 0, credential metrics read at scrape time, upstream connection reuse).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime};

use crate::common::*;

/// One sample: metric name, its labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text exposition format (comments skipped, label values unescaped).
fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample line");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), BTreeMap::new()),
            Some((name, rest)) => (name.to_string(), parse_labels(rest)),
        };
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    out
}

/// `k="v",k2="v2"}` → map.
fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        let mut key = String::new();
        for c in chars.by_ref() {
            if c == '=' {
                break;
            }
            if c == '}' {
                return labels;
            }
            if c != ',' {
                key.push(c);
            }
        }
        assert_eq!(chars.next(), Some('"'), "label value starts with a quote");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(key, value);
        if chars.peek().is_none() {
            return labels;
        }
    }
}

struct Scrape(Vec<Sample>);

impl Scrape {
    /// The value of the series with exactly these labels.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.0
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map(|s| s.value)
    }

    fn must(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no series {name}{labels:?}\n{}", self.dump(name)))
    }

    /// The sum over every series of `name` whose labels include `labels`.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    }

    fn dump(&self, prefix: &str) -> String {
        self.0
            .iter()
            .filter(|s| s.name.starts_with(prefix))
            .map(|s| format!("{}{:?} {}\n", s.name, s.labels, s.value))
            .collect()
    }
}

async fn scrape(c: &reqwest::Client, port: u16) -> Scrape {
    let r = c
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(r.status(), 200);
    Scrape(parse(&r.text().await.unwrap()))
}

/// A `function_name` route against the emulator's plain HTTP listener, with Kong's default
/// event, signed with the static test keys.
fn fn_route(emu: &Emulator, name: &str, function: &str) -> Route {
    Route::function_name(name, function).on(emu).kong_payload()
}

fn uri_route(name: &str, uri: &str, function_uri: &str) -> Route {
    Route::function_uri(uri, function_uri).name(name)
}

/// The access key id of the named source `invoke-keys`.
const NAMED_AKID: &str = "AKIDNAMEDSOURCE00001";

/// What the client sent and received per route label.
#[derive(Default, Debug)]
struct Sent {
    requests: BTreeMap<&'static str, u64>,
    request_bytes: BTreeMap<&'static str, u64>,
    response_bytes: BTreeMap<&'static str, u64>,
}

impl Sent {
    async fn send(
        &mut self,
        route: &'static str,
        req: reqwest::RequestBuilder,
        body_len: u64,
    ) -> u16 {
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let body = r.bytes().await.expect("response body");
        *self.requests.entry(route).or_default() += 1;
        *self.request_bytes.entry(route).or_default() += body_len;
        *self.response_bytes.entry(route).or_default() += body.len() as u64;
        status
    }
}

#[tokio::test]
async fn scrape_matches_a_known_request_mix() {
    let emu = Emulator::start();
    let closed = free_port();
    let metrics_port = free_port();

    // A default-chain source through `credential_process`, with a known expiry.
    let dir = tempfile::tempdir().unwrap();
    let expiry = SystemTime::now() + Duration::from_secs(1200);
    let expiry = aws_smithy_types::DateTime::from(expiry)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap();
    let process_json = format!(
        r#"{{"Version": 1, "AccessKeyId": "ASIAPROCESS000000001", "SecretAccessKey": "{SECRET}", "SessionToken": "process-token", "Expiration": "{expiry}"}}"#
    );
    let config_file = dir.path().join("config");
    std::fs::write(
        &config_file,
        format!("[profile metrics]\ncredential_process = printf '%s' '{process_json}'\n"),
    )
    .unwrap();
    let credentials_file = dir.path().join("credentials");
    std::fs::write(&credentials_file, "").unwrap();

    let config = GatewayConfig::new()
        .metrics(format!("127.0.0.1:{metrics_port}").parse().unwrap())
        .credential_source("invoke-keys", NAMED_AKID, SECRET)
        .routes([
            uri_route("open", "/o/*", &emu.http_url("/open/p")),
            uri_route("refused", "/r/*", &format!("http://127.0.0.1:{closed}/x")),
            uri_route("signed", "/s/*", &emu.http_url("/iam/p")).iam(Iam::keys(
                AKID,
                SECRET,
                "execute-api",
            )),
            fn_route(&emu, "fn-echo", "echo"),
            fn_route(&emu, "fn-unhandled", "unhandled"),
            fn_route(&emu, "fn-handled", "handled").set("handled_status", 422),
            fn_route(&emu, "fn-throttle", "throttle"),
            fn_route(&emu, "fn-missing", "no-such-function"),
            // Never called: its credential source only feeds the credential metrics.
            fn_route(&emu, "fn-proc", "echo")
                .without_keys()
                .set("aws_profile", "metrics"),
            // Never called either: a named source, labelled with its configured name.
            fn_route(&emu, "fn-named", "echo")
                .without_keys()
                .set("credentials", "invoke-keys"),
        ]);
    let gw = Gateway::launch_env(
        &config,
        &[
            ("AWS_CONFIG_FILE", config_file.to_str().unwrap()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                credentials_file.to_str().unwrap(),
            ),
        ],
    );
    let c = client();

    // Before any request: the families registered at start-up are there, nothing counted yet.
    let before = scrape(&c, metrics_port).await;
    assert_eq!(
        before.get("lambda_proxy_in_flight_requests", &[]),
        Some(0.0)
    );
    assert_eq!(
        before.get("lambda_proxy_config_reloads_total", &[("result", "ok")]),
        Some(0.0)
    );
    assert_eq!(
        before.get("lambda_proxy_config_reloads_total", &[("result", "failed")]),
        Some(0.0)
    );
    assert_eq!(before.sum("lambda_proxy_requests_total", &[]), 0.0);

    let mut sent = Sent::default();
    // 5 × function_uri 200, sequential on one client: one new upstream connection, then reuse.
    for _ in 0..5 {
        assert_eq!(sent.send("open", c.get(gw.url("/o/x")), 0).await, 200);
    }
    // 2 × no route (404) and the health endpoint (200): route `-`.
    for _ in 0..2 {
        assert_eq!(sent.send("-", c.get(gw.url("/nope")), 0).await, 404);
    }
    assert_eq!(sent.send("-", c.get(gw.url("/healthz")), 0).await, 200);
    // Upstream refused: 502, no connection, no AWS duration.
    assert_eq!(sent.send("refused", c.get(gw.url("/r/x")), 0).await, 502);
    // Signed function_uri: a small body (retry buffer) and a large one (subrequest child).
    let small = vec![b'a'; 10];
    let large = vec![b'b'; 100 * 1024];
    for body in [small, large] {
        let len = body.len() as u64;
        let req = c.post(gw.url("/s/up")).body(body);
        assert_eq!(sent.send("signed", req, len).await, 200);
    }
    // function_name: 3 echo, 2 unhandled, 1 handled, 1 throttle, 1 missing function.
    let payload = r#"{"hello":"metrics"}"#;
    let plen = payload.len() as u64;
    for _ in 0..3 {
        let req = c.post(gw.url("/fn-echo")).body(payload);
        assert_eq!(sent.send("fn-echo", req, plen).await, 200);
    }
    for _ in 0..2 {
        let req = c.post(gw.url("/fn-unhandled")).body(payload);
        assert_eq!(sent.send("fn-unhandled", req, plen).await, 502);
    }
    let req = c.post(gw.url("/fn-handled")).body(payload);
    assert_eq!(sent.send("fn-handled", req, plen).await, 422);
    let req = c.post(gw.url("/fn-throttle")).body(payload);
    assert_eq!(sent.send("fn-throttle", req, plen).await, 429);
    let req = c.post(gw.url("/fn-missing")).body(payload);
    assert_eq!(sent.send("fn-missing", req, plen).await, 502);
    let total: u64 = sent.requests.values().sum();
    assert_eq!(total, 19);

    // `logging` runs after the client has its response: scrape until every request is recorded
    // and the process credential source has been fetched.
    let deadline = Instant::now() + Duration::from_secs(20);
    let m = loop {
        let m = scrape(&c, metrics_port).await;
        let settled = m.sum("lambda_proxy_requests_total", &[]) == total as f64
            && m.get("lambda_proxy_in_flight_requests", &[]) == Some(0.0)
            && m.get(
                "lambda_proxy_credential_expiry_seconds",
                &[("source", "default-chain(profile=metrics)")],
            )
            .is_some();
        if settled || Instant::now() > deadline {
            break m;
        }
        // The poll interval of this deadline loop (the scrape is async: no `wait_until`).
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let log = gw.log_text();
    let ctx = || format!("{}\n--- log ---\n{log}", m.dump("lambda_proxy_"));

    assert_eq!(
        m.must("lambda_proxy_in_flight_requests", &[]),
        0.0,
        "{}",
        ctx()
    );

    // requests_total: exact per label set, and nothing else.
    let expected: &[(&str, &str, &str, f64)] = &[
        ("open", "function_uri", "2xx", 5.0),
        ("-", "-", "4xx", 2.0),
        ("-", "-", "2xx", 1.0),
        ("refused", "function_uri", "5xx", 1.0),
        ("signed", "function_uri", "2xx", 2.0),
        ("fn-echo", "function_name", "2xx", 3.0),
        ("fn-unhandled", "function_name", "5xx", 2.0),
        ("fn-handled", "function_name", "4xx", 1.0),
        ("fn-throttle", "function_name", "4xx", 1.0),
        ("fn-missing", "function_name", "5xx", 1.0),
    ];
    for (route, kind, class, n) in expected {
        assert_eq!(
            m.get(
                "lambda_proxy_requests_total",
                &[("route", route), ("kind", kind), ("status_class", class)]
            ),
            Some(*n),
            "requests_total{{{route},{kind},{class}}}\n{}",
            ctx()
        );
    }
    assert_eq!(
        m.sum("lambda_proxy_requests_total", &[]),
        total as f64,
        "{}",
        ctx()
    );

    // Histograms: one observation per request; body sums are what the client sent and got.
    for (route, n) in &sent.requests {
        let kind = match *route {
            "-" => "-",
            r if r.starts_with("fn-") => "function_name",
            _ => "function_uri",
        };
        let rk = [("route", *route), ("kind", kind)];
        assert_eq!(
            m.must("lambda_proxy_request_duration_seconds_count", &rk),
            *n as f64,
            "request_duration count of {route}"
        );
        assert_eq!(
            m.must(
                "lambda_proxy_request_duration_seconds_bucket",
                &[("route", route), ("kind", kind), ("le", "+Inf")]
            ),
            *n as f64
        );
        assert_eq!(
            m.must("lambda_proxy_request_body_bytes_count", &[("route", route)]),
            *n as f64
        );
        assert_eq!(
            m.must("lambda_proxy_request_body_bytes_sum", &[("route", route)]),
            sent.request_bytes[route] as f64,
            "request body bytes of {route}"
        );
        assert_eq!(
            m.must(
                "lambda_proxy_response_body_bytes_count",
                &[("route", route)]
            ),
            *n as f64
        );
        assert_eq!(
            m.must("lambda_proxy_response_body_bytes_sum", &[("route", route)]),
            sent.response_bytes[route] as f64,
            "response body bytes of {route}\n{}",
            ctx()
        );
        // An AWS duration for every request that got an AWS response head.
        let aws = match *route {
            "-" => None,
            "refused" => Some(0.0),
            _ => Some(*n as f64),
        };
        assert_eq!(
            m.get("lambda_proxy_aws_duration_seconds_count", &rk),
            aws,
            "aws_duration count of {route}\n{}",
            ctx()
        );
    }
    // The 100 KiB body went through the child subrequest: counted once, with the parent's bytes.
    assert_eq!(
        m.must(
            "lambda_proxy_request_body_bytes_bucket",
            &[("route", "signed"), ("le", "65536")]
        ),
        1.0
    );
    // Every request is at least as long as its AWS call.
    assert!(
        m.must(
            "lambda_proxy_request_duration_seconds_sum",
            &[("route", "open"), ("kind", "function_uri")]
        ) >= m.must(
            "lambda_proxy_aws_duration_seconds_sum",
            &[("route", "open"), ("kind", "function_uri")]
        )
    );

    // Upstream connections: sequential requests reuse the pooled one.
    let conn = |route: &str, reused: &str| {
        m.get(
            "lambda_proxy_upstream_connections_total",
            &[("route", route), ("reused", reused)],
        )
        .unwrap_or(0.0)
    };
    assert_eq!(
        (conn("open", "false"), conn("open", "true")),
        (1.0, 4.0),
        "{}",
        ctx()
    );
    assert_eq!(conn("signed", "false") + conn("signed", "true"), 2.0);
    assert_eq!(conn("refused", "false") + conn("refused", "true"), 0.0);
    assert_eq!(
        m.sum("lambda_proxy_upstream_connections_total", &[("route", "-")]),
        0.0
    );
    for (route, n) in [
        ("fn-echo", 3.0),
        ("fn-unhandled", 2.0),
        ("fn-handled", 1.0),
        ("fn-throttle", 1.0),
        ("fn-missing", 1.0),
    ] {
        assert_eq!(conn(route, "false") + conn(route, "true"), n, "{route}");
    }
    assert!(
        m.sum(
            "lambda_proxy_upstream_connections_total",
            &[("reused", "true")]
        ) >= 5.0,
        "{}",
        ctx()
    );

    // Function errors, throttles, Invoke API errors.
    let fe = |route: &str, t: &str| {
        m.get(
            "lambda_proxy_function_errors_total",
            &[("route", route), ("type", t)],
        )
    };
    assert_eq!(fe("fn-unhandled", "unhandled"), Some(2.0));
    assert_eq!(fe("fn-unhandled", "handled"), Some(0.0));
    assert_eq!(fe("fn-handled", "handled"), Some(1.0));
    assert_eq!(fe("fn-echo", "unhandled"), Some(0.0));
    assert_eq!(m.sum("lambda_proxy_function_errors_total", &[]), 3.0);
    assert_eq!(
        m.get("lambda_proxy_throttles_total", &[("route", "fn-throttle")]),
        Some(1.0)
    );
    assert_eq!(m.sum("lambda_proxy_throttles_total", &[]), 1.0);
    assert_eq!(
        m.get(
            "lambda_proxy_invoke_api_errors_total",
            &[
                ("route", "fn-throttle"),
                ("aws_error_type", "TooManyRequestsException")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.get(
            "lambda_proxy_invoke_api_errors_total",
            &[
                ("route", "fn-missing"),
                ("aws_error_type", "ResourceNotFoundException")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(m.sum("lambda_proxy_invoke_api_errors_total", &[]), 2.0);

    // Signing: 8 Invoke calls and 2 signed function_uri requests (the large one signed once,
    // by the child).
    assert_eq!(
        m.must("lambda_proxy_signing_duration_seconds_count", &[]),
        10.0,
        "{}",
        ctx()
    );
    assert!(m.must("lambda_proxy_signing_duration_seconds_sum", &[]) > 0.0);

    // Credentials, read at scrape time, labelled with the source's name: a named source's
    // configured name, else `route:` and the route that set the credentials (the first, when
    // routes share identical ones). Never a key id.
    let sources: BTreeSet<&str> =
        m.0.iter()
            .filter_map(|s| s.labels.get("source").map(String::as_str))
            .collect();
    assert_eq!(
        sources,
        // `signed` and the fn-* routes sign with the same static keys: one source.
        BTreeSet::from(["invoke-keys", "route:fn-proc", "route:signed"]),
        "{}",
        ctx()
    );
    for key_id in [AKID, NAMED_AKID, "ASIAPROCESS000000001"] {
        assert!(
            !m.0.iter()
                .any(|s| s.labels.values().any(|v| v.contains(key_id))),
            "an access key id in a label: {key_id}"
        );
    }
    // The static sources never refresh nor expire; the process source was fetched and expires
    // in about 1200 s.
    let stat = "route:signed";
    assert_eq!(
        m.get(
            "lambda_proxy_credential_refreshes_total",
            &[("source", stat), ("result", "ok")]
        ),
        Some(0.0),
        "{}",
        ctx()
    );
    assert_eq!(
        m.get(
            "lambda_proxy_credential_refreshes_total",
            &[("source", stat), ("result", "failed")]
        ),
        Some(0.0)
    );
    assert_eq!(
        m.get(
            "lambda_proxy_credential_expiry_seconds",
            &[("source", stat)]
        ),
        None
    );
    let proc_src = "route:fn-proc";
    assert!(
        m.must(
            "lambda_proxy_credential_refreshes_total",
            &[("source", proc_src), ("result", "ok")]
        ) >= 1.0
    );
    assert_eq!(
        m.must(
            "lambda_proxy_credential_refreshes_total",
            &[("source", proc_src), ("result", "failed")]
        ),
        0.0
    );
    let left = m.must(
        "lambda_proxy_credential_expiry_seconds",
        &[("source", proc_src)],
    );
    assert!(left > 1000.0 && left <= 1200.0, "{left}");
    assert_eq!(
        m.0.iter()
            .filter(|s| s.name == "lambda_proxy_credential_expiry_seconds")
            .count(),
        1
    );

    // Bounded labels: route names only, never paths.
    let routes: BTreeSet<&str> =
        m.0.iter()
            .filter_map(|s| s.labels.get("route").map(String::as_str))
            .collect();
    for r in &routes {
        assert!(!r.starts_with('/'), "a path became a label: {r}");
    }
    assert!(
        !routes.contains("fn-proc"),
        "no series before the first request"
    );

    // The endpoint answers on any path.
    let other = c
        .get(format!("http://127.0.0.1:{metrics_port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
}
