//! Requests and settings shared by the event tests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::{EventSettings, RequestView};

pub(super) fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_bytes(v).unwrap(),
        );
    }
    h
}

/// 2026-11-30T06:00:00.123Z
pub(super) fn time() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_796_018_400_123)
}

pub(super) fn view<'a>(
    h: &'a HeaderMap,
    query: Option<&'a str>,
    body: &'a [u8],
) -> RequestView<'a> {
    RequestView {
        method: "POST",
        raw_path: "/aws/caf%C3%A9/x%2Fy",
        raw_query: query,
        headers: h,
        body,
        source_ip: Some("203.0.113.9"),
        http_version: "HTTP/1.1",
        host: Some("api.example.com:8443"),
        proxy_path: Some("caf%C3%A9/x%2Fy"),
        request_id: "req-1",
        time: time(),
        api_key_id: None,
        client_cert: None,
        authorizer: None,
    }
}

pub(super) fn settings() -> EventSettings {
    EventSettings {
        resource: "/aws/{proxy+}".into(),
        ..EventSettings::default()
    }
}

pub(super) fn parse(v: Vec<u8>) -> Value {
    serde_json::from_slice(&v).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&v)))
}
