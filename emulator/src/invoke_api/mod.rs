//! The Lambda Invoke API surface, without I/O: which operation a path is, the `FunctionName`
//! forms and qualifier rules, the `X-Amz-Invocation-Type` / `X-Amz-Log-Type` headers, payload
//! limits and JSON check, and the AWS-shaped API errors (status, `x-amzn-ErrorType`, JSON body).
//!
//! | operation                | request                                                                |
//! |--------------------------|------------------------------------------------------------------------|
//! | Invoke                   | `POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=Q]`  |
//! | InvokeWithResponseStream | `POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations[?Qualifier=Q]` |

mod error;
mod function_name;
mod invocation;

pub use self::error::ApiError;
pub use self::function_name::{
    decode_segment, executed_version, function_arn, parse_function_name, query_qualifier,
    resolve_qualifier,
};
pub use self::invocation::{
    check_client_context, check_payload, invocation_type, log_type, InvocationType, LogType,
};

/// The account every emulated function lives in.
pub const ACCOUNT: &str = "123456789012";
/// Largest payload for RequestResponse and DryRun invocations.
pub const SYNC_PAYLOAD_LIMIT: usize = 6_291_456;
/// Largest payload for Event (asynchronous) invocations.
pub const EVENT_PAYLOAD_LIMIT: usize = 1_048_576;
/// Largest buffered function result (AWS's own figure in `Function.ResponseSizeTooLarge`).
pub const RESPONSE_LIMIT: usize = 6_291_556;

const INVOKE_PREFIX: &[u8] = b"/2015-03-31/functions/";
const INVOKE_SUFFIX: &[u8] = b"/invocations";
const STREAM_PREFIX: &[u8] = b"/2021-11-15/functions/";
const STREAM_SUFFIX: &[u8] = b"/response-streaming-invocations";

/// The two Lambda data-plane operations the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Invoke,
    InvokeWithResponseStream,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Invoke => "Invoke",
            Operation::InvokeWithResponseStream => "InvokeWithResponseStream",
        }
    }
}

/// Whether a raw path belongs to the Lambda API (both API versions), as opposed to the stages.
pub fn is_lambda_path(raw_path: &[u8]) -> bool {
    raw_path.starts_with(b"/2015-03-31/") || raw_path.starts_with(b"/2021-11-15/")
}

/// The operation and the still percent-encoded `FunctionName` segment of a raw path.
pub fn route(raw_path: &[u8]) -> Option<(Operation, &[u8])> {
    let (op, rest) = if let Some(rest) = raw_path.strip_prefix(INVOKE_PREFIX) {
        (Operation::Invoke, rest.strip_suffix(INVOKE_SUFFIX)?)
    } else if let Some(rest) = raw_path.strip_prefix(STREAM_PREFIX) {
        (
            Operation::InvokeWithResponseStream,
            rest.strip_suffix(STREAM_SUFFIX)?,
        )
    } else {
        return None;
    };
    (!rest.is_empty() && !rest.contains(&b'/')).then_some((op, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            route(b"/2015-03-31/functions/echo/invocations"),
            Some((Operation::Invoke, &b"echo"[..]))
        );
        assert_eq!(
            route(b"/2021-11-15/functions/arn%3Aaws/response-streaming-invocations"),
            Some((Operation::InvokeWithResponseStream, &b"arn%3Aaws"[..]))
        );
        assert_eq!(route(b"/2015-03-31/functions//invocations"), None);
        assert_eq!(route(b"/2015-03-31/functions/a/b/invocations"), None);
        assert_eq!(route(b"/2015-03-31/functions/echo/invocations/"), None);
        assert_eq!(
            route(b"/2015-03-31/functions/echo/response-streaming-invocations"),
            None
        );
        assert_eq!(route(b"/2021-11-15/functions/echo/invocations"), None);
        assert_eq!(route(b"/open/x"), None);
        assert!(is_lambda_path(b"/2015-03-31/functions"));
        assert!(is_lambda_path(b"/2021-11-15/x"));
        assert!(!is_lambda_path(b"/2015-03-31"));
        assert!(!is_lambda_path(b"/iam/2015-03-31/"));
    }
}
