//! The results of the functions that answer with a document: `respond` (the payload's
//! `result` or `result_raw`), `inspect` (the call as JSON), `proxy` (an API Gateway
//! proxy-integration result echoing the event) and `binary` (a base64 body of bytes 0..=255).

use base64::Engine as _;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Call;

pub(super) fn respond(event: &Value) -> Result<Bytes, String> {
    if let Some(result) = event.get("result") {
        return serde_json::to_vec(result)
            .map(Bytes::from)
            .map_err(|e| e.to_string());
    }
    match event.get("result_raw") {
        None => Ok(Bytes::from_static(b"null")),
        Some(Value::String(raw)) => Ok(Bytes::from(raw.clone())),
        Some(_) => Err("payload.result_raw must be a string".into()),
    }
}

#[derive(Serialize)]
struct Inspect<'a> {
    function: &'a str,
    qualifier: Option<&'a str>,
    raw_path: String,
    raw_query: String,
    invocation_type: &'static str,
    log_type: &'static str,
    headers: Vec<[&'a str; 2]>,
    payload_len: usize,
    payload_sha256: String,
    payload: &'a Value,
    operation: &'static str,
}

pub(super) fn inspect(call: &Call<'_>) -> Bytes {
    let doc = Inspect {
        function: call.function,
        qualifier: call.qualifier,
        raw_path: String::from_utf8_lossy(call.raw_path).into_owned(),
        raw_query: call
            .raw_query
            .map(|q| String::from_utf8_lossy(q).into_owned())
            .unwrap_or_default(),
        invocation_type: call.invocation_type.as_str(),
        log_type: call.log_type.as_str(),
        headers: call
            .headers
            .iter()
            .map(|(k, v)| [k.as_str(), v.as_str()])
            .collect(),
        payload_len: call.payload.len(),
        payload_sha256: hex::encode(Sha256::digest(call.payload)),
        payload: call.event,
        operation: call.operation.as_str(),
    };
    Bytes::from(serde_json::to_vec(&doc).unwrap_or_default())
}

fn json_string(s: &str) -> String {
    Value::from(s).to_string()
}

pub(super) fn proxy_result(call: &Call<'_>) -> Bytes {
    let event = if call.payload.is_empty() {
        "{}".into()
    } else {
        String::from_utf8_lossy(call.payload)
    };
    Bytes::from(format!(
        r#"{{"statusCode":201,"headers":{{"content-type":"application/json","x-fn":"yes","x-num":5}},"multiValueHeaders":{{"x-multi":["a","b"]}},"cookies":["a=1; Path=/","b=2"],"body":{},"isBase64Encoded":false}}"#,
        json_string(&event)
    ))
}

/// base64 of the bytes 0..=255.
pub fn binary_body() -> String {
    let bytes: Vec<u8> = (0..=255u8).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(super) fn binary_result() -> Bytes {
    Bytes::from(format!(
        r#"{{"statusCode":200,"headers":{{"content-type":"application/octet-stream"}},"body":"{}","isBase64Encoded":true}}"#,
        binary_body()
    ))
}
