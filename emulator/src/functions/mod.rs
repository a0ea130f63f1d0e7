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
//! | `authorizer-simple` | HTTP API Lambda authorizer, payload 2.0 simple response (`authorizer`) |
//! | `authorizer-policy` | HTTP API Lambda authorizer, IAM policy, payload 1.0 or 2.0      |

mod authorizer;
mod authorizer_event;
#[cfg(test)]
mod authorizer_tests;
mod results;
mod stream;
#[cfg(test)]
mod tests;

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use crate::invoke_api::{InvocationType, LogType, Operation};

use self::results::{binary_result, inspect, proxy_result, respond};
use self::stream::stream_plan;
pub use self::stream::{StreamPlan, OCTET_STREAM};

const UNHANDLED: &str =
    r#"{"errorMessage":"boom","errorType":"Error","stackTrace":["at handler (index.js:1:1)"]}"#;
const HANDLED: &str = r#"{"errorMessage":"handled boom","errorType":"HandledError"}"#;

const SLEEP_DEFAULT_MS: u64 = 1000;
const SLEEP_MAX_MS: u64 = 600_000;
const LARGE_DEFAULT: u64 = 5_000_000;
/// Largest `large` result built (kept in memory).
const LARGE_MAX: u64 = 32 * 1024 * 1024;

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
    AuthorizerSimple,
    AuthorizerPolicy,
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
            "authorizer-simple" => Builtin::AuthorizerSimple,
            "authorizer-policy" => Builtin::AuthorizerPolicy,
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
    /// Invokes of this function so far, this one included.
    pub invocations: u64,
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

/// Runs `function` on `call`. Only `sleep` and `slow:` authorizer tokens take time here;
/// `stream` takes it when consumed.
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
        Builtin::AuthorizerSimple => authorizer::simple(call).await?,
        Builtin::AuthorizerPolicy => authorizer::policy(call).await?,
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
