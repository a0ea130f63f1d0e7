//! The API errors as Lambda answers them: status, `x-amzn-ErrorType` and a JSON body with
//! Lambda's field names and wording (404 for unknown functions, 400 validation, 413, 429, ...).

use serde_json::Value;

/// An API error as Lambda answers it: status, `x-amzn-ErrorType` and a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub error_type: &'static str,
    /// The JSON body, keys in AWS's order.
    pub body: String,
}

/// A flat JSON object of string fields, in the given order (independent of serde_json's
/// `preserve_order` feature).
fn json_object(fields: &[(&str, &str)]) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(*key).to_string());
        out.push(':');
        out.push_str(&Value::from(*value).to_string());
    }
    out.push('}');
    out
}

impl ApiError {
    fn user(status: u16, error_type: &'static str, message: &str) -> Self {
        ApiError {
            status,
            error_type,
            body: json_object(&[("Type", "User"), ("message", message)]),
        }
    }

    /// 404 `ResourceNotFoundException` for a function ARN (with its qualifier, if any).
    pub fn not_found(arn: &str) -> Self {
        ApiError {
            status: 404,
            error_type: "ResourceNotFoundException",
            body: json_object(&[
                ("Type", "User"),
                ("Message", &format!("Function not found: {arn}")),
            ]),
        }
    }

    pub fn invalid_parameter(message: &str) -> Self {
        Self::user(400, "InvalidParameterValueException", message)
    }

    /// 400 `ValidationException`, worded like AWS's constraint failures.
    pub fn validation(value: &str, field: &str, constraint: &str) -> Self {
        let message = format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        );
        ApiError {
            status: 400,
            error_type: "ValidationException",
            body: json_object(&[("message", &message)]),
        }
    }

    pub fn invalid_content() -> Self {
        Self::user(
            400,
            "InvalidRequestContentException",
            "Could not parse request body into json",
        )
    }

    pub fn too_large(limit: usize) -> Self {
        Self::user(
            413,
            "RequestTooLargeException",
            &format!("Request must be smaller than {limit} bytes for the InvokeFunction operation"),
        )
    }

    pub fn throttled() -> Self {
        ApiError {
            status: 429,
            error_type: "TooManyRequestsException",
            body: json_object(&[
                (
                    "Reason",
                    "ReservedFunctionConcurrentInvocationLimitExceeded",
                ),
                ("Type", "User"),
                ("message", "Rate Exceeded."),
            ]),
        }
    }

    pub fn unknown_operation() -> Self {
        Self::user(404, "UnknownOperationException", "Unknown operation")
    }

    pub fn bad_request(message: &str) -> Self {
        Self::user(400, "BadRequestException", message)
    }

    pub fn service(message: &str) -> Self {
        Self::user(500, "ServiceException", message)
    }

    /// The body, parsed (for tests and checks).
    #[cfg(test)]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_body() {
        let e = ApiError::throttled();
        assert_eq!(e.status, 429);
        assert_eq!(
            e.body,
            r#"{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}"#
        );
    }
}
