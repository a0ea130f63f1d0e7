//! Builds the responses: the JSON echo of a request and AWS-style `{"message": ...}` errors,
//! each with `content-type`, `content-length` and a random `x-amzn-RequestId`.

use http::{Response, StatusCode};
use serde::Serialize;

use crate::wire::{Body, Received};

/// How the request was authenticated, for the echo's `auth` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    None,
    ApiKey,
    Iam,
}

impl Auth {
    pub fn as_str(self) -> &'static str {
        match self {
            Auth::None => "none",
            Auth::ApiKey => "apikey",
            Auth::Iam => "iam",
        }
    }
}

#[derive(Serialize)]
struct Echo<'a> {
    method: &'a str,
    path: String,
    query: String,
    headers: &'a [(String, String)],
    body_len: u64,
    body_sha256: &'a str,
    body: Option<&'a str>,
    peer: &'a str,
    http_version: &'a str,
    auth: &'static str,
    access_key: Option<&'a str>,
}

/// The success answer: what was received, as JSON.
pub fn echo(
    status: u16,
    received: &Received,
    body: &Body,
    auth: Auth,
    access_key: Option<&str>,
) -> Response<Vec<u8>> {
    let echo = Echo {
        method: received.method.as_str(),
        path: received.path_text(),
        query: received.query_text(),
        headers: &received.headers,
        body_len: body.len,
        body_sha256: &body.sha256,
        body: body.text.as_deref(),
        peer: received.peer.as_deref().unwrap_or_default(),
        http_version: &received.http_version,
        auth: auth.as_str(),
        access_key,
    };
    match serde_json::to_vec(&echo) {
        Ok(json) => build(status, json, None),
        Err(_) => error(500, "InternalServerErrorException", "Internal server error"),
    }
}

/// An AWS-style error: `{"message": ...}` plus `x-amzn-ErrorType`.
pub fn error(status: u16, error_type: &str, message: &str) -> Response<Vec<u8>> {
    let json = serde_json::json!({ "message": message })
        .to_string()
        .into_bytes();
    build(status, json, Some(error_type))
}

fn build(status: u16, body: Vec<u8>, error_type: Option<&str>) -> Response<Vec<u8>> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // These statuses never carry a body.
    let body = if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        Vec::new()
    } else {
        body
    };
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-amzn-RequestId", request_id());
    if status != StatusCode::NO_CONTENT && status != StatusCode::NOT_MODIFIED {
        builder = builder.header("content-length", body.len());
    }
    if let Some(error_type) = error_type {
        builder = builder.header("x-amzn-ErrorType", error_type);
    }
    builder.body(body).unwrap_or_else(|_| {
        let mut fallback = Response::new(Vec::new());
        *fallback.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

/// A random UUID-shaped (version 4) identifier.
pub fn request_id() -> String {
    let mut bytes = [0u8; 16];
    if openssl::rand::rand_bytes(&mut bytes).is_err() {
        // Not security relevant: fall back to the clock.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = nanos.to_le_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_shape() {
        let r = error(403, "ForbiddenException", "Forbidden");
        assert_eq!(r.status(), 403);
        assert_eq!(r.headers()["x-amzn-errortype"], "ForbiddenException");
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.headers()["content-length"], "23");
        assert_eq!(r.body(), br#"{"message":"Forbidden"}"#);
    }

    #[test]
    fn no_body_statuses() {
        let r = build(204, b"{}".to_vec(), None);
        assert!(r.body().is_empty());
        assert!(r.headers().get("content-length").is_none());
    }

    #[test]
    fn request_ids_look_like_uuids() {
        let a = request_id();
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
        assert_ne!(a, request_id());
    }
}
