//! A 200 MB upload through an unsigned route is streamed, not buffered: the gateway's resident
//! memory grows by far less than the body (limit 32 MB), and the upstream receives every byte.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use sha2::{Digest, Sha256};

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn streamed_200mb_upload_keeps_rss_flat() {
    const TOTAL: usize = 200 * 1024 * 1024;
    const CHUNK: usize = 64 * 1024;
    let emu = Emulator::start();
    let gw = Gateway::launch(
        &GatewayConfig::new()
            .route(Route::function_uri("/up/*", &emu.http_url("/open/p")).name("stream")),
    );
    let c = client();
    // Warm up so pools, buffers and lazy statics exist before the baseline.
    for _ in 0..3 {
        c.post(gw.url("/up/warm"))
            .body(vec![1u8; 1 << 20])
            .send()
            .await
            .unwrap();
    }
    // The baseline once the resident size has settled (two samples 20 ms apart agree).
    let pid = gw.pid();
    let mut last = rss_kib(pid);
    poll_until(Duration::from_secs(5), || {
        let now = rss_kib(pid);
        std::mem::replace(&mut last, now) == now
    });
    let baseline = rss_kib(pid);
    let peak = Arc::new(AtomicU64::new(baseline));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20)); // kept: the sampling period
            }
        })
    };
    let chunk: Vec<u8> = (0..CHUNK).map(|i| (i % 256) as u8).collect();
    let mut hasher = Sha256::new();
    for _ in 0..TOTAL / CHUNK {
        hasher.update(&chunk);
    }
    let expected = hex::encode(hasher.finalize());
    let chunk = bytes::Bytes::from(chunk);
    let stream = futures_util::stream::iter(
        (0..TOTAL / CHUNK).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    );
    let resp = c
        .post(gw.url("/up/big"))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let echo: Echo = resp.json().await.unwrap();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    assert_eq!(echo.body_len, TOTAL as u64);
    assert_eq!(echo.body_sha256, expected);
    let growth_mib = (peak.load(Ordering::Relaxed).saturating_sub(baseline)) as f64 / 1024.0;
    println!(
        "streamed {} MiB: gateway RSS baseline {} KiB, peak {} KiB, growth {growth_mib:.1} MiB",
        TOTAL >> 20,
        baseline,
        peak.load(Ordering::Relaxed)
    );
    assert!(growth_mib < 32.0, "RSS grew {growth_mib:.1} MiB");
}
