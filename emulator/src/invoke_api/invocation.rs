//! How a call asks to be run: the `X-Amz-Invocation-Type` and `X-Amz-Log-Type` headers,
//! `X-Amz-Client-Context`, and the payload (size limit per invocation type, then JSON).

use http::HeaderMap;
use serde_json::Value;

use super::{ApiError, Operation, EVENT_PAYLOAD_LIMIT, SYNC_PAYLOAD_LIMIT};

/// `X-Amz-Client-Context` limit (base64 text).
const MAX_CLIENT_CONTEXT: usize = 3583;

/// `X-Amz-Invocation-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

impl InvocationType {
    pub fn as_str(self) -> &'static str {
        match self {
            InvocationType::RequestResponse => "RequestResponse",
            InvocationType::Event => "Event",
            InvocationType::DryRun => "DryRun",
        }
    }

    /// The payload limit for this invocation type.
    pub fn payload_limit(self) -> usize {
        match self {
            InvocationType::Event => EVENT_PAYLOAD_LIMIT,
            _ => SYNC_PAYLOAD_LIMIT,
        }
    }
}

/// `X-Amz-Log-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogType {
    None,
    Tail,
}

impl LogType {
    pub fn as_str(self) -> &'static str {
        match self {
            LogType::None => "None",
            LogType::Tail => "Tail",
        }
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a [u8]> {
    headers.get(name).map(|v| v.as_bytes())
}

/// Reads `X-Amz-Invocation-Type` (default RequestResponse). The streaming operation accepts
/// only RequestResponse and DryRun.
pub fn invocation_type(headers: &HeaderMap, op: Operation) -> Result<InvocationType, ApiError> {
    let t = match header_text(headers, "x-amz-invocation-type") {
        None => InvocationType::RequestResponse,
        Some(b"RequestResponse") => InvocationType::RequestResponse,
        Some(b"Event") if op == Operation::Invoke => InvocationType::Event,
        Some(b"DryRun") => InvocationType::DryRun,
        Some(other) => {
            return Err(ApiError::invalid_parameter(&format!(
                "Unsupported invocation type: {}",
                String::from_utf8_lossy(other)
            )))
        }
    };
    Ok(t)
}

/// Reads `X-Amz-Log-Type` (default None).
pub fn log_type(headers: &HeaderMap) -> Result<LogType, ApiError> {
    match header_text(headers, "x-amz-log-type") {
        None | Some(b"None") => Ok(LogType::None),
        Some(b"Tail") => Ok(LogType::Tail),
        Some(other) => Err(ApiError::invalid_parameter(&format!(
            "Unsupported log type: {}",
            String::from_utf8_lossy(other)
        ))),
    }
}

/// `X-Amz-Client-Context`, when present, must be base64 of a JSON object, ≤ 3583 characters.
pub fn check_client_context(headers: &HeaderMap) -> Result<(), ApiError> {
    use base64::Engine as _;
    let Some(raw) = header_text(headers, "x-amz-client-context") else {
        return Ok(());
    };
    let bad = || {
        ApiError::invalid_parameter("Client context must be a valid Base64-encoded JSON object.")
    };
    if raw.len() > MAX_CLIENT_CONTEXT {
        return Err(ApiError::invalid_parameter(&format!(
            "Client context must be at most {MAX_CLIENT_CONTEXT} bytes."
        )));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|_| bad())?;
    match serde_json::from_slice::<Value>(&decoded) {
        Ok(Value::Object(_)) => Ok(()),
        _ => Err(bad()),
    }
}

/// Checks the size limit, then parses the payload as JSON (an empty payload is `{}`).
pub fn check_payload(payload: &[u8], limit: usize) -> Result<Value, ApiError> {
    if payload.len() > limit {
        return Err(ApiError::too_large(limit));
    }
    if payload.is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    serde_json::from_slice(payload).map_err(|_| ApiError::invalid_content())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn invocation_and_log_types() {
        use InvocationType::*;
        let it = |v: &[(&str, &str)], op| invocation_type(&headers(v), op);
        assert_eq!(it(&[], Operation::Invoke), Ok(RequestResponse));
        assert_eq!(
            it(&[("x-amz-invocation-type", "Event")], Operation::Invoke),
            Ok(Event)
        );
        assert_eq!(
            it(&[("X-Amz-Invocation-Type", "DryRun")], Operation::Invoke),
            Ok(DryRun)
        );
        assert_eq!(
            it(&[("x-amz-invocation-type", "event")], Operation::Invoke)
                .unwrap_err()
                .error_type,
            "InvalidParameterValueException"
        );
        assert_eq!(
            it(
                &[("x-amz-invocation-type", "Event")],
                Operation::InvokeWithResponseStream
            )
            .unwrap_err()
            .status,
            400
        );
        assert_eq!(
            it(
                &[("x-amz-invocation-type", "DryRun")],
                Operation::InvokeWithResponseStream
            ),
            Ok(DryRun)
        );
        assert_eq!(log_type(&headers(&[])), Ok(LogType::None));
        assert_eq!(
            log_type(&headers(&[("x-amz-log-type", "None")])),
            Ok(LogType::None)
        );
        assert_eq!(
            log_type(&headers(&[("x-amz-log-type", "Tail")])),
            Ok(LogType::Tail)
        );
        assert_eq!(
            log_type(&headers(&[("x-amz-log-type", "tail")]))
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn client_context() {
        assert!(check_client_context(&headers(&[])).is_ok());
        // base64 of {"custom":{"a":1}}
        assert!(check_client_context(&headers(&[(
            "x-amz-client-context",
            "eyJjdXN0b20iOnsiYSI6MX19"
        )]))
        .is_ok());
        assert!(
            check_client_context(&headers(&[("x-amz-client-context", "not base64!")])).is_err()
        );
        // base64 of [1]
        assert!(check_client_context(&headers(&[("x-amz-client-context", "WzFd")])).is_err());
        let long = "A".repeat(MAX_CLIENT_CONTEXT + 1);
        assert!(check_client_context(&headers(&[("x-amz-client-context", &long)])).is_err());
    }

    #[test]
    fn payload_limits() {
        assert_eq!(check_payload(b"", SYNC_PAYLOAD_LIMIT), Ok(json!({})));
        assert_eq!(
            check_payload(b" [1, 2] ", SYNC_PAYLOAD_LIMIT),
            Ok(json!([1, 2]))
        );
        assert_eq!(check_payload(b"\"s\"", SYNC_PAYLOAD_LIMIT), Ok(json!("s")));
        let err = check_payload(b"{not json", SYNC_PAYLOAD_LIMIT).unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.error_type, "InvalidRequestContentException");
        assert_eq!(
            err.body,
            r#"{"Type":"User","message":"Could not parse request body into json"}"#
        );

        // Exactly at the limit is fine; one byte more is 413 (checked before the JSON).
        let mut at_limit = vec![b' '; SYNC_PAYLOAD_LIMIT];
        at_limit[0] = b'1';
        assert_eq!(check_payload(&at_limit, SYNC_PAYLOAD_LIMIT), Ok(json!(1)));
        at_limit.push(b' ');
        let err = check_payload(&at_limit, SYNC_PAYLOAD_LIMIT).unwrap_err();
        assert_eq!(err.status, 413);
        assert_eq!(err.error_type, "RequestTooLargeException");
        assert_eq!(
            err.body,
            r#"{"Type":"User","message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"}"#
        );
        assert_eq!(InvocationType::Event.payload_limit(), 1_048_576);
        assert_eq!(InvocationType::DryRun.payload_limit(), 6_291_456);
        let event = vec![b' '; EVENT_PAYLOAD_LIMIT + 1];
        assert_eq!(
            check_payload(&event, InvocationType::Event.payload_limit())
                .unwrap_err()
                .json()["message"],
            "Request must be smaller than 1048576 bytes for the InvokeFunction operation"
        );
    }
}
