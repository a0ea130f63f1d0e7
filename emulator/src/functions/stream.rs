//! The `stream` function: its payload options (`chunks`, `delay_ms`, `prelude`, `fail_after`),
//! the [`StreamPlan`] the streaming endpoint sends chunk by chunk, and the same stream buffered
//! for the classic Invoke endpoint. With `prelude`, an HTTP-integration response (its JSON
//! prelude, then 8 NUL bytes, then the body).

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use super::{number, Output, SLEEP_MAX_MS};

/// Content type of a plain streamed result.
pub const OCTET_STREAM: &str = "application/octet-stream";
/// Content type of a streamed result that starts with an HTTP-integration prelude.
pub const HTTP_INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";
/// The prelude `stream` sends with `prelude: true`, before the 8 NUL bytes.
pub const STREAM_PRELUDE: &str = r#"{"statusCode":201,"headers":{"content-type":"text/plain","x-streamed":"yes"},"cookies":["s=1"]}"#;
/// What separates an HTTP-integration prelude from the body.
pub const PRELUDE_DELIMITER: [u8; 8] = [0; 8];

const STREAM_DEFAULT_CHUNKS: u64 = 5;
const STREAM_MAX_CHUNKS: u64 = 100_000;
const STREAM_DEFAULT_DELAY_MS: u64 = 200;

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

pub(super) fn stream_plan(event: &Value) -> Result<StreamPlan, String> {
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
