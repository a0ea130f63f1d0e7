//! The built-in functions the Invoke API runs, by name. Each returns an [`Output`]: a buffered
//! result, a function error (`X-Amz-Function-Error`), a throttle, or a [`StreamPlan`] (the
//! `stream` function), which the streaming endpoint sends chunk by chunk and the classic
//! endpoint buffers.
//!
//! | name        | result                                                                  |
//! |-------------|-------------------------------------------------------------------------|
//! | `echo`      | the payload bytes as received                                           |
//! | `inspect`   | JSON describing the Invoke call                                         |
//! | `unhandled` | function error `Unhandled`                                              |
//! | `handled`   | function error `Handled`                                                |
//! | `sleep`     | sleeps `ms` (default 1000, at most 600000), returns `{"slept_ms":N}`     |
//! | `respond`   | `result` re-serialised, or the string `result_raw` as raw bytes          |
//! | `proxy`     | an API Gateway proxy-integration result echoing the event               |
//! | `binary`    | a proxy-integration result with a base64 body of bytes 0..=255          |
//! | `large`     | a JSON string of `bytes` bytes in total (default 5000000)               |
//! | `throttle`  | 429 `TooManyRequestsException`; with `key`, counts calls per key and, with |
//! |             | `times: N`, throttles only the first N, then returns `{"attempts":count}` |
//! | `stream`    | `chunks` × `chunk i\n`, `delay_ms` apart; `prelude`, `fail_after`       |

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::invoke_api::{InvocationType, LogType, Operation};

/// Content type of a plain streamed result.
pub const OCTET_STREAM: &str = "application/octet-stream";
/// Content type of a streamed result that starts with an HTTP-integration prelude.
pub const HTTP_INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";
/// The prelude `stream` sends with `prelude: true`, before the 8 NUL bytes.
pub const STREAM_PRELUDE: &str = r#"{"statusCode":201,"headers":{"content-type":"text/plain","x-streamed":"yes"},"cookies":["s=1"]}"#;
/// What separates an HTTP-integration prelude from the body.
pub const PRELUDE_DELIMITER: [u8; 8] = [0; 8];

const UNHANDLED: &str =
    r#"{"errorMessage":"boom","errorType":"Error","stackTrace":["at handler (index.js:1:1)"]}"#;
const HANDLED: &str = r#"{"errorMessage":"handled boom","errorType":"HandledError"}"#;

const SLEEP_DEFAULT_MS: u64 = 1000;
const SLEEP_MAX_MS: u64 = 600_000;
const LARGE_DEFAULT: u64 = 5_000_000;
/// Largest `large` result built (kept in memory).
const LARGE_MAX: u64 = 32 * 1024 * 1024;
const STREAM_DEFAULT_CHUNKS: u64 = 5;
const STREAM_MAX_CHUNKS: u64 = 100_000;
const STREAM_DEFAULT_DELAY_MS: u64 = 200;

/// The built-in functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Echo,
    Inspect,
    Unhandled,
    Handled,
    Sleep,
    Respond,
    Proxy,
    Binary,
    Large,
    Throttle,
    Stream,
}

impl Builtin {
    pub fn by_name(name: &str) -> Option<Builtin> {
        Some(match name {
            "echo" => Builtin::Echo,
            "inspect" => Builtin::Inspect,
            "unhandled" => Builtin::Unhandled,
            "handled" => Builtin::Handled,
            "sleep" => Builtin::Sleep,
            "respond" => Builtin::Respond,
            "proxy" => Builtin::Proxy,
            "binary" => Builtin::Binary,
            "large" => Builtin::Large,
            "throttle" => Builtin::Throttle,
            "stream" => Builtin::Stream,
            _ => return None,
        })
    }
}

/// Everything a function may look at.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub operation: Operation,
    /// The `FunctionName` as decoded from the path.
    pub function: &'a str,
    /// The qualifier in effect (from the name or `?Qualifier=`).
    pub qualifier: Option<&'a str>,
    pub raw_path: &'a [u8],
    pub raw_query: Option<&'a [u8]>,
    pub invocation_type: InvocationType,
    pub log_type: LogType,
    /// Request headers in received order, lower-case names.
    pub headers: &'a [(String, String)],
    /// The payload bytes as received.
    pub payload: &'a [u8],
    /// The payload parsed (`{}` when empty).
    pub event: &'a Value,
}

/// Which `X-Amz-Function-Error` a function error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Handled,
    Unhandled,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Handled => "Handled",
            ErrorKind::Unhandled => "Unhandled",
        }
    }
}

/// What running a function produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A buffered result.
    Result(Bytes),
    /// A function error: the error document and its message.
    Error {
        kind: ErrorKind,
        payload: Bytes,
        message: String,
    },
    /// The invocation is refused with 429 `TooManyRequestsException`.
    Throttled,
    /// A streamed result, produced over time.
    Stream(StreamPlan),
}

impl Output {
    /// An `Unhandled` error of type `errorType` with `message`.
    pub fn unhandled(error_type: &str, message: &str) -> Output {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Doc<'a> {
            error_message: &'a str,
            error_type: &'a str,
        }
        let payload = serde_json::to_vec(&Doc {
            error_message: message,
            error_type,
        })
        .unwrap_or_default();
        Output::Error {
            kind: ErrorKind::Unhandled,
            payload: Bytes::from(payload),
            message: message.to_string(),
        }
    }
}

/// How the `stream` function streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPlan {
    /// The stream's content type (the response `Content-Type` on the streaming endpoint).
    pub content_type: &'static str,
    /// Prelude plus delimiter, sent first, when the stream is an HTTP-integration response.
    pub prelude: Option<Bytes>,
    pub chunks: u64,
    pub delay: Duration,
    /// Fail (ErrorCode `Unhandled`) after this many chunks.
    pub fail_after: Option<u64>,
}

impl StreamPlan {
    /// The text of chunk `i`.
    pub fn chunk(i: u64) -> Bytes {
        Bytes::from(format!("chunk {i}\n"))
    }

    /// How many chunks are produced before the end (or the failure).
    pub fn emitted(&self) -> u64 {
        self.fail_after.map_or(self.chunks, |k| k.min(self.chunks))
    }

    /// What the stream fails with, if it fails.
    pub fn failure(&self) -> Option<&'static str> {
        self.fail_after.map(|_| "stream failed")
    }

    /// The whole stream, buffered as the classic Invoke returns it (after the same delays).
    pub async fn buffered(&self) -> Output {
        let mut out = Vec::new();
        if let Some(prelude) = &self.prelude {
            out.extend_from_slice(prelude);
        }
        for i in 0..self.emitted() {
            if i > 0 {
                tokio::time::sleep(self.delay).await;
            }
            out.extend_from_slice(&Self::chunk(i));
        }
        match self.failure() {
            Some(message) => Output::unhandled("Error", message),
            None => Output::Result(Bytes::from(out)),
        }
    }
}

/// Runs `function` on `call`. Only `sleep` takes time here; `stream` takes it when consumed.
pub async fn run(function: Builtin, call: &Call<'_>) -> Output {
    match try_run(function, call).await {
        Ok(output) => output,
        Err(message) => Output::unhandled("TypeError", &message),
    }
}

async fn try_run(function: Builtin, call: &Call<'_>) -> Result<Output, String> {
    let event = call.event;
    let output = match function {
        Builtin::Echo => Output::Result(Bytes::copy_from_slice(call.payload)),
        Builtin::Inspect => Output::Result(inspect(call)),
        Builtin::Unhandled => Output::Error {
            kind: ErrorKind::Unhandled,
            payload: Bytes::from_static(UNHANDLED.as_bytes()),
            message: "boom".into(),
        },
        Builtin::Handled => Output::Error {
            kind: ErrorKind::Handled,
            payload: Bytes::from_static(HANDLED.as_bytes()),
            message: "handled boom".into(),
        },
        Builtin::Sleep => {
            let ms = number(event, "ms", SLEEP_DEFAULT_MS, SLEEP_MAX_MS)?;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Output::Result(Bytes::from(format!(r#"{{"slept_ms":{ms}}}"#)))
        }
        Builtin::Respond => Output::Result(respond(event)?),
        Builtin::Proxy => Output::Result(proxy_result(call)),
        Builtin::Binary => Output::Result(binary_result()),
        Builtin::Large => {
            let n = number(event, "bytes", LARGE_DEFAULT, LARGE_MAX)?.max(2) as usize;
            let mut body = vec![b'x'; n];
            body[0] = b'"';
            body[n - 1] = b'"';
            Output::Result(Bytes::from(body))
        }
        Builtin::Throttle => throttle(event)?,
        Builtin::Stream => Output::Stream(stream_plan(event)?),
    };
    Ok(output)
}

/// `throttle`: 429 always without `key`; with `key`, the calls with that key are counted and,
/// once the count passes `times`, answered `{"attempts":count}` (so `times: 0` reads the count).
fn throttle(event: &Value) -> Result<Output, String> {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    static CALLS: LazyLock<Mutex<HashMap<String, u64>>> = LazyLock::new(Default::default);
    let Some(key) = event.get("key").and_then(Value::as_str) else {
        return Ok(Output::Throttled);
    };
    let count = {
        let mut calls = CALLS.lock().unwrap_or_else(|p| p.into_inner());
        let n = calls.entry(key.to_string()).or_insert(0);
        *n += 1;
        *n
    };
    match event.get("times") {
        None | Some(Value::Null) => Ok(Output::Throttled),
        Some(_) => {
            let times = number(event, "times", 0, u64::MAX)?;
            if count > times {
                Ok(Output::Result(Bytes::from(format!(
                    r#"{{"attempts":{count}}}"#
                ))))
            } else {
                Ok(Output::Throttled)
            }
        }
    }
}

/// `payload.<key>` as a non-negative integer, `default` when absent or null, capped at `max`.
fn number(event: &Value, key: &str, default: u64, max: u64) -> Result<u64, String> {
    match event.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .map(|n| n.min(max))
            .ok_or_else(|| format!("payload.{key} must be a non-negative integer")),
    }
}

fn respond(event: &Value) -> Result<Bytes, String> {
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

fn stream_plan(event: &Value) -> Result<StreamPlan, String> {
    let chunks = number(event, "chunks", STREAM_DEFAULT_CHUNKS, STREAM_MAX_CHUNKS)?;
    let delay_ms = number(event, "delay_ms", STREAM_DEFAULT_DELAY_MS, SLEEP_MAX_MS)?;
    let fail_after = match event.get("fail_after") {
        None | Some(Value::Null) => None,
        Some(_) => Some(number(event, "fail_after", 0, STREAM_MAX_CHUNKS)?),
    };
    let prelude = match event.get("prelude") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(_) => return Err("payload.prelude must be a boolean".into()),
    };
    Ok(StreamPlan {
        content_type: if prelude {
            HTTP_INTEGRATION
        } else {
            OCTET_STREAM
        },
        prelude: prelude.then(|| {
            let mut p = STREAM_PRELUDE.as_bytes().to_vec();
            p.extend_from_slice(&PRELUDE_DELIMITER);
            Bytes::from(p)
        }),
        chunks,
        delay: Duration::from_millis(delay_ms),
        fail_after,
    })
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

fn inspect(call: &Call<'_>) -> Bytes {
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

fn proxy_result(call: &Call<'_>) -> Bytes {
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

fn binary_result() -> Bytes {
    Bytes::from(format!(
        r#"{{"statusCode":200,"headers":{{"content-type":"application/octet-stream"}},"body":"{}","isBase64Encoded":true}}"#,
        binary_body()
    ))
}

/// The tail of a fake CloudWatch log for one invocation, base64 (`X-Amz-Log-Result`,
/// `LogResult`).
pub fn log_tail(function: &str, request_id: &str, version: &str) -> String {
    let log = format!(
        "START RequestId: {request_id} Version: {version}\n\
         {function}: invoked by lambda-proxy-emulator\n\
         END RequestId: {request_id}\n\
         REPORT RequestId: {request_id}\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 64 MB\t\n"
    );
    base64::engine::general_purpose::STANDARD.encode(log)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call<'a>(payload: &'a [u8], event: &'a Value) -> Call<'a> {
        Call {
            operation: Operation::Invoke,
            function: "arn:aws:lambda:us-east-1:123456789012:function:inspect:prod",
            qualifier: Some("prod"),
            raw_path: b"/2015-03-31/functions/x/invocations",
            raw_query: None,
            invocation_type: InvocationType::RequestResponse,
            log_type: LogType::None,
            headers: &[],
            payload,
            event,
        }
    }

    fn run_now(f: Builtin, payload: &[u8]) -> Output {
        let event: Value = if payload.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(payload).unwrap()
        };
        let c = call(payload, &event);
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(run(f, &c))
    }

    fn result(output: Output) -> Vec<u8> {
        match output {
            Output::Result(b) => b.to_vec(),
            other => panic!("not a result: {other:?}"),
        }
    }

    #[test]
    fn names() {
        assert_eq!(Builtin::by_name("echo"), Some(Builtin::Echo));
        assert_eq!(Builtin::by_name("stream"), Some(Builtin::Stream));
        assert_eq!(Builtin::by_name("Echo"), None);
        assert_eq!(Builtin::by_name("nope"), None);
    }

    #[test]
    fn simple_functions() {
        assert_eq!(
            result(run_now(Builtin::Echo, b" {\"a\": 1} ")),
            b" {\"a\": 1} "
        );
        assert_eq!(result(run_now(Builtin::Echo, b"")), b"");
        assert_eq!(
            result(run_now(Builtin::Sleep, br#"{"ms":5}"#)),
            br#"{"slept_ms":5}"#
        );
        assert_eq!(
            result(run_now(
                Builtin::Respond,
                br#"{"result":{"statusCode":204}}"#
            )),
            br#"{"statusCode":204}"#
        );
        assert_eq!(
            result(run_now(Builtin::Respond, br#"{"result_raw":"not json {"}"#)),
            b"not json {"
        );
        assert_eq!(result(run_now(Builtin::Respond, b"{}")), b"null");
        assert_eq!(run_now(Builtin::Throttle, b""), Output::Throttled);
        let large = result(run_now(Builtin::Large, br#"{"bytes":10}"#));
        assert_eq!(large, b"\"xxxxxxxx\"");
        assert_eq!(result(run_now(Builtin::Large, b"")).len(), 5_000_000);
        assert_eq!(result(run_now(Builtin::Large, br#"{"bytes":0}"#)), b"\"\"");
    }

    #[test]
    fn errors() {
        match run_now(Builtin::Unhandled, b"") {
            Output::Error { kind, payload, .. } => {
                assert_eq!(kind, ErrorKind::Unhandled);
                assert_eq!(payload.as_ref(), UNHANDLED.as_bytes());
            }
            other => panic!("{other:?}"),
        }
        match run_now(Builtin::Handled, b"") {
            Output::Error { kind, message, .. } => {
                assert_eq!(kind, ErrorKind::Handled);
                assert_eq!(message, "handled boom");
            }
            other => panic!("{other:?}"),
        }
        // Bad input is a function error, not a panic.
        for (f, p) in [
            (Builtin::Sleep, &br#"{"ms":-1}"#[..]),
            (Builtin::Sleep, br#"{"ms":"5"}"#),
            (Builtin::Large, br#"{"bytes":1.5}"#),
            (Builtin::Respond, br#"{"result_raw":5}"#),
            (Builtin::Stream, br#"{"prelude":"yes"}"#),
            (Builtin::Stream, br#"{"fail_after":-2}"#),
        ] {
            assert!(
                matches!(
                    run_now(f, p),
                    Output::Error {
                        kind: ErrorKind::Unhandled,
                        ..
                    }
                ),
                "{f:?} {p:?}"
            );
        }
        // Non-object payloads use the defaults.
        assert!(matches!(
            run_now(Builtin::Stream, b"[1]"),
            Output::Stream(_)
        ));
    }

    #[test]
    fn inspect_document() {
        let payload = br#"{"k":[1,2]}"#;
        let v: Value = serde_json::from_slice(&result(run_now(Builtin::Inspect, payload))).unwrap();
        assert_eq!(
            v["function"],
            "arn:aws:lambda:us-east-1:123456789012:function:inspect:prod"
        );
        assert_eq!(v["qualifier"], "prod");
        assert_eq!(v["raw_query"], "");
        assert_eq!(v["invocation_type"], "RequestResponse");
        assert_eq!(v["log_type"], "None");
        assert_eq!(v["headers"], json!([]));
        assert_eq!(v["payload_len"], 11);
        assert_eq!(v["payload"], json!({"k": [1, 2]}));
        assert_eq!(
            v["payload_sha256"],
            hex::encode(Sha256::digest(payload)).as_str()
        );
    }

    #[test]
    fn proxy_and_binary() {
        let payload = br#"{"path":"/x","body":"a\"b"}"#;
        let v: Value = serde_json::from_slice(&result(run_now(Builtin::Proxy, payload))).unwrap();
        assert_eq!(v["statusCode"], 201);
        assert_eq!(v["headers"]["x-num"], 5);
        assert_eq!(v["multiValueHeaders"]["x-multi"], json!(["a", "b"]));
        assert_eq!(v["cookies"], json!(["a=1; Path=/", "b=2"]));
        assert_eq!(v["body"].as_str().unwrap().as_bytes(), payload);
        assert_eq!(v["isBase64Encoded"], false);

        let v: Value = serde_json::from_slice(&result(run_now(Builtin::Binary, b""))).unwrap();
        assert_eq!(v["isBase64Encoded"], true);
        let body = base64::engine::general_purpose::STANDARD
            .decode(v["body"].as_str().unwrap())
            .unwrap();
        assert_eq!(body, (0..=255u8).collect::<Vec<_>>());
    }

    #[test]
    fn stream_plans() {
        let Output::Stream(plan) = run_now(Builtin::Stream, b"") else {
            panic!()
        };
        assert_eq!(plan.content_type, OCTET_STREAM);
        assert_eq!((plan.chunks, plan.emitted()), (5, 5));
        assert_eq!(plan.delay, Duration::from_millis(200));
        assert_eq!(plan.prelude, None);
        assert_eq!(plan.failure(), None);

        let Output::Stream(plan) = run_now(
            Builtin::Stream,
            br#"{"chunks":3,"delay_ms":1,"prelude":true,"fail_after":2}"#,
        ) else {
            panic!()
        };
        assert_eq!(plan.content_type, HTTP_INTEGRATION);
        let prelude = plan.prelude.clone().unwrap();
        assert!(prelude.ends_with(&[0; 8]));
        assert_eq!(&prelude[..prelude.len() - 8], STREAM_PRELUDE.as_bytes());
        assert_eq!(plan.emitted(), 2);
        assert_eq!(plan.failure(), Some("stream failed"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        assert!(matches!(
            rt.block_on(plan.buffered()),
            Output::Error {
                kind: ErrorKind::Unhandled,
                ..
            }
        ));

        let plan = StreamPlan {
            fail_after: None,
            prelude: None,
            ..plan
        };
        assert_eq!(
            rt.block_on(plan.buffered()),
            Output::Result(Bytes::from_static(b"chunk 0\nchunk 1\nchunk 2\n"))
        );
    }

    #[test]
    fn log_tail_mentions_function_and_request() {
        let text = base64::engine::general_purpose::STANDARD
            .decode(log_tail("echo", "rid-1", "$LATEST"))
            .unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.starts_with("START RequestId: rid-1 Version: $LATEST\n"));
        assert!(text.contains("echo"));
    }
}
