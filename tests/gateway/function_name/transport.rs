//! TLS to the endpoint, response streaming, egress through a CONNECT proxy, and the access log of Invoke routes.

use super::*;

#[tokio::test]
async fn tls_endpoint_verified_and_pooled() {
    let emu = Emulator::start();
    let gw = Gateway::launch(
        &GatewayConfig::new().routes([
            Route::function_name("tls", "inspect")
                .kong_payload()
                .on_tls(&emu),
            Route::function_name("untrusted", "echo")
                .kong_payload()
                .endpoint("localhost", emu.https.port()),
        ]),
    );
    let c = client();
    for _ in 0..3 {
        let (s, _, v) = json_of(c.post(gw.url("/tls")).body("{}").send().await.unwrap()).await;
        assert_eq!(s, 200);
        assert_eq!(v["function"], "inspect");
    }
    let (s, _, v) = json_of(
        c.post(gw.url("/untrusted"))
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 502);
    assert_eq!(v["error"], "upstream_tls_error");
}

#[tokio::test]
async fn response_streaming_first_byte_before_the_end() {
    let emu = Emulator::start();
    let gw = Gateway::launch(&GatewayConfig::new().routes([
        invoke(&emu, "stream", "stream").set("response_streaming", true),
        invoke(&emu, "buffered", "echo").set("response_streaming", true),
    ]));
    for c in [client(), h2c()] {
        let t = Instant::now();
        let mut r = c
            .post(gw.url("/stream"))
            .body(r#"{"chunks":5,"delay_ms":300}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let first = r.chunk().await.unwrap().unwrap();
        let ttfb = t.elapsed();
        let mut all = first.to_vec();
        while let Some(chunk) = r.chunk().await.unwrap() {
            all.extend_from_slice(&chunk);
        }
        let total = t.elapsed();
        println!("stream: first byte after {ttfb:?}, complete after {total:?}");
        assert_eq!(
            String::from_utf8(all).unwrap(),
            (0..5).map(|i| format!("chunk {i}\n")).collect::<String>()
        );
        assert!(total >= Duration::from_millis(1200), "{total:?}");
        assert!(ttfb * 3 < total, "first byte {ttfb:?} vs total {total:?}");

        // HTTP-integration prelude: status, headers and cookies from the function.
        let r = c
            .post(gw.url("/stream"))
            .body(r#"{"chunks":2,"delay_ms":10,"prelude":true}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["x-streamed"], "yes");
        assert_eq!(r.headers()["set-cookie"], "s=1");
        assert_eq!(r.text().await.unwrap(), "chunk 0\nchunk 1\n");

        // A failure after the body started is visible: the body read fails.
        let r = c
            .post(gw.url("/stream"))
            .body(r#"{"chunks":5,"delay_ms":10,"fail_after":2}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.bytes().await.is_err(),
            "a mid-stream failure must not look like success"
        );

        // A buffered function through the streaming API.
        let r = c
            .post(gw.url("/buffered"))
            .body(r#"{"x":1}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), r#"{"x":1}"#);
    }
}

/// A minimal HTTP CONNECT proxy on 127.0.0.1 that records what it was asked to tunnel to.
async fn connect_proxy() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut b).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(b[0]);
                }
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                log.lock().unwrap().push(line.clone());
                let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (port, seen)
}

#[tokio::test]
async fn egress_through_a_connect_proxy() {
    let emu = Emulator::start();
    let (proxy_port, seen) = connect_proxy().await;
    let gw = Gateway::launch(
        &GatewayConfig::new().route(
            Route::function_name("proxied", "inspect")
                .uri("/p")
                .kong_payload()
                .on_tls(&emu)
                .set("proxy_url", format!("http://127.0.0.1:{proxy_port}")),
        ),
    );
    for _ in 0..2 {
        let (s, _, v) = json_of(client().post(gw.url("/p")).body("{}").send().await.unwrap()).await;
        assert_eq!(s, 200);
        assert_eq!(v["function"], "inspect");
    }
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    assert_eq!(
        seen[0],
        format!("CONNECT localhost:{} HTTP/1.1", emu.https.port())
    );
    assert_eq!(
        seen.len(),
        1,
        "the tunnel is pooled like any connection: {seen:?}"
    );
}

#[tokio::test]
async fn access_log_lines_in_json() {
    let emu = Emulator::start();
    let gw = Gateway::launch(
        &GatewayConfig::new().access_log_json().routes([
            invoke(&emu, "echo", "echo"),
            Route::function_uri("/s/*", &emu.http_url("/iam/p"))
                .name("signed")
                .iam(Iam::keys(AKID, SECRET, "execute-api").unset("service")),
        ]),
    );
    let c = client();
    let r = c
        .post(gw.url("/echo?token=secret-in-query"))
        .header("x-amzn-trace-id", "Root=1-abc")
        .body(r#"{"a":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = vec![b'x'; 100_000]; // over 64 KiB: the subrequest path
    let r = c.post(gw.url("/s/up")).body(body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();
    // Access lines are whole JSON objects; every other log record starts with `[`. The writer
    // thread writes them after the responses.
    let log = gw.wait_for_log_lines(|l| l.starts_with('{'), 2);
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "one line per client request:\n{log}");
    let echo = &lines[0];
    assert_eq!(echo["route"], "echo");
    assert_eq!(echo["kind"], "function_name");
    assert_eq!(echo["status"], 200);
    assert_eq!(echo["upstream_status"], 200);
    assert_eq!(echo["path"], "/echo");
    assert_eq!(echo["trace_id"], "Root=1-abc");
    assert!(echo["aws_request_id"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert!(echo["aws_ms"].as_f64().is_some());
    assert_eq!(echo["bytes_in"], 7);
    let signed = &lines[1];
    assert_eq!(signed["route"], "signed");
    assert_eq!(signed["status"], 200);
    assert_eq!(signed["bytes_in"], 100_000);
    assert_eq!(signed["upstream_status"], 200);
    assert!(
        !log.contains("secret-in-query"),
        "query strings stay out of the log"
    );
}
