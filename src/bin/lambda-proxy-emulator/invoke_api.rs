//! The Lambda Invoke API surface, without I/O: which operation a path is, the `FunctionName`
//! forms and qualifier rules, the `X-Amz-Invocation-Type` / `X-Amz-Log-Type` headers, payload
//! limits and JSON check, and the AWS-shaped API errors (status, `x-amzn-ErrorType`, JSON body).
//!
//! | operation                | request                                                                |
//! |--------------------------|------------------------------------------------------------------------|
//! | Invoke                   | `POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=Q]`  |
//! | InvokeWithResponseStream | `POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations[?Qualifier=Q]` |

use http::HeaderMap;
use percent_encoding::percent_decode;
use serde_json::Value;

/// The account every emulated function lives in.
pub const ACCOUNT: &str = "123456789012";
/// Largest payload for RequestResponse and DryRun invocations.
pub const SYNC_PAYLOAD_LIMIT: usize = 6_291_456;
/// Largest payload for Event (asynchronous) invocations.
pub const EVENT_PAYLOAD_LIMIT: usize = 1_048_576;
/// Largest buffered function result (AWS's own figure in `Function.ResponseSizeTooLarge`).
pub const RESPONSE_LIMIT: usize = 6_291_556;
/// Longest `FunctionName` (any form).
const MAX_FUNCTION_NAME: usize = 170;
/// Longest plain function name.
const MAX_NAME: usize = 64;
/// Longest qualifier.
const MAX_QUALIFIER: usize = 128;
/// `X-Amz-Client-Context` limit (base64 text).
const MAX_CLIENT_CONTEXT: usize = 3583;

const INVOKE_PREFIX: &[u8] = b"/2015-03-31/functions/";
const INVOKE_SUFFIX: &[u8] = b"/invocations";
const STREAM_PREFIX: &[u8] = b"/2021-11-15/functions/";
const STREAM_SUFFIX: &[u8] = b"/response-streaming-invocations";

const NAME_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?";
const QUALIFIER_PATTERN: &str = r"(|[a-zA-Z0-9$_-]+)";

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

/// A `FunctionName` taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionName {
    /// The short name (`my-function`).
    pub name: String,
    /// The qualifier suffix (`:prod`), if the name had one.
    pub qualifier: Option<String>,
}

/// The function's ARN in this emulator's region and account, optionally qualified.
pub fn function_arn(region: &str, name: &str, qualifier: Option<&str>) -> String {
    let mut arn = format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{name}");
    if let Some(q) = qualifier {
        arn.push(':');
        arn.push_str(q);
    }
    arn
}

/// Percent-decodes the `FunctionName` path segment.
pub fn decode_segment(segment: &[u8]) -> Result<String, ApiError> {
    let decoded = percent_decode(segment).decode_utf8().map_err(|_| {
        let shown = String::from_utf8_lossy(segment);
        name_validation(&shown)
    })?;
    Ok(decoded.into_owned())
}

fn name_validation(value: &str) -> ApiError {
    ApiError::validation(
        value,
        "functionName",
        &format!("Member must satisfy regular expression pattern: {NAME_PATTERN}"),
    )
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn is_name_qualifier(s: &str) -> bool {
    s == "$LATEST"
        || (!s.is_empty()
            && s.len() <= MAX_QUALIFIER
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')))
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a decoded `FunctionName`: `name`, `name:qualifier`, `123456789012:function:name[:q]`
/// or `arn:aws:lambda:<region>:123456789012:function:name[:q]`. Malformed names are a 400
/// `ValidationException`; another region, partition or account is a 404 (no such function here).
pub fn parse_function_name(s: &str, region: &str) -> Result<FunctionName, ApiError> {
    let invalid = || name_validation(s);
    if s.is_empty() || s.len() > MAX_FUNCTION_NAME {
        return Err(ApiError::validation(
            s,
            "functionName",
            &format!("Member must have length between 1 and {MAX_FUNCTION_NAME}"),
        ));
    }
    let parts: Vec<&str> = s.split(':').collect();
    let (account, name, qualifier, arn_scope) = match parts.as_slice() {
        [name] => (None, *name, None, None),
        [name, q] => (None, *name, Some(*q), None),
        [acct, "function", name] => (Some(*acct), *name, None, None),
        [acct, "function", name, q] => (Some(*acct), *name, Some(*q), None),
        ["arn", partition, "lambda", r, acct, "function", name] => {
            (Some(*acct), *name, None, Some((*partition, *r)))
        }
        ["arn", partition, "lambda", r, acct, "function", name, q] => {
            (Some(*acct), *name, Some(*q), Some((*partition, *r)))
        }
        _ => return Err(invalid()),
    };
    if !is_name(name) || !qualifier.is_none_or(is_name_qualifier) {
        return Err(invalid());
    }
    if let Some(acct) = account {
        if !is_account(acct) {
            return Err(invalid());
        }
    }
    if let Some((partition, r)) = arn_scope {
        if !partition.starts_with("aws") || r.is_empty() {
            return Err(invalid());
        }
        if partition != "aws" || r != region {
            let acct = account.unwrap_or(ACCOUNT);
            let mut arn = format!("arn:{partition}:lambda:{r}:{acct}:function:{name}");
            if let Some(q) = qualifier {
                arn.push(':');
                arn.push_str(q);
            }
            return Err(ApiError::not_found(&arn));
        }
    }
    if let Some(acct) = account {
        if acct != ACCOUNT {
            let mut arn = format!("arn:aws:lambda:{region}:{acct}:function:{name}");
            if let Some(q) = qualifier {
                arn.push(':');
                arn.push_str(q);
            }
            return Err(ApiError::not_found(&arn));
        }
    }
    Ok(FunctionName {
        name: name.to_string(),
        qualifier: qualifier.map(str::to_string),
    })
}

/// The `Qualifier` query parameter, percent-decoded; empty counts as absent.
pub fn query_qualifier(raw_query: Option<&[u8]>) -> Result<Option<String>, ApiError> {
    let Some(query) = raw_query else {
        return Ok(None);
    };
    for pair in query.split(|&b| b == b'&') {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        if key != b"Qualifier" {
            continue;
        }
        let plus_as_space: Vec<u8> = value
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        let decoded = percent_decode(&plus_as_space)
            .decode_utf8()
            .map(|s| s.into_owned())
            .unwrap_or_else(|_| String::from_utf8_lossy(value).into_owned());
        let valid = decoded.len() <= MAX_QUALIFIER
            && decoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'$' | b'_' | b'-'));
        if !valid {
            return Err(ApiError::validation(
                &decoded,
                "qualifier",
                &format!("Member must satisfy regular expression pattern: {QUALIFIER_PATTERN}"),
            ));
        }
        return Ok((!decoded.is_empty()).then_some(decoded));
    }
    Ok(None)
}

/// The qualifier in effect: from the name or the query; both given and different is a 400.
pub fn resolve_qualifier(
    from_name: Option<&str>,
    from_query: Option<&str>,
) -> Result<Option<String>, ApiError> {
    match (from_name, from_query) {
        (Some(a), Some(b)) if a != b => Err(ApiError::invalid_parameter(
            "The derived qualifier from the function name does not match the specified qualifier.",
        )),
        (Some(q), _) | (None, Some(q)) => Ok(Some(q.to_string())),
        (None, None) => Ok(None),
    }
}

/// The version a qualifier runs: none or `$LATEST` → `$LATEST`; `1` and alias `prod` → `1`.
/// Anything else does not exist (404 naming the qualified ARN).
pub fn executed_version(
    region: &str,
    name: &str,
    qualifier: Option<&str>,
) -> Result<&'static str, ApiError> {
    match qualifier {
        None | Some("$LATEST") => Ok("$LATEST"),
        Some("1") | Some("prod") => Ok("1"),
        Some(q) => Err(ApiError::not_found(&function_arn(region, name, Some(q)))),
    }
}

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

    const R: &str = "us-east-1";

    fn parsed(s: &str) -> Result<(String, Option<String>), u16> {
        parse_function_name(s, R)
            .map(|f| (f.name, f.qualifier))
            .map_err(|e| e.status)
    }

    fn ok(name: &str, q: Option<&str>) -> Result<(String, Option<String>), u16> {
        Ok((name.to_string(), q.map(str::to_string)))
    }

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

    #[test]
    fn function_name_forms() {
        assert_eq!(parsed("echo"), ok("echo", None));
        assert_eq!(parsed("echo:prod"), ok("echo", Some("prod")));
        assert_eq!(parsed("echo:$LATEST"), ok("echo", Some("$LATEST")));
        assert_eq!(parsed("123456789012:function:echo"), ok("echo", None));
        assert_eq!(
            parsed("123456789012:function:echo:1"),
            ok("echo", Some("1"))
        );
        assert_eq!(
            parsed("arn:aws:lambda:us-east-1:123456789012:function:my.fn_x-1"),
            ok("my.fn_x-1", None)
        );
        assert_eq!(
            parsed("arn:aws:lambda:us-east-1:123456789012:function:echo:prod"),
            ok("echo", Some("prod"))
        );
    }

    #[test]
    fn function_name_errors() {
        // Malformed: 400 ValidationException.
        for bad in [
            "",
            "a b",
            "a/b",
            "echo:",
            ":echo",
            "echo:pr.od",
            "echo:q:r",
            "12345:function:echo",
            "123456789012:func:echo",
            "arn:aws:lambda:us-east-1:123456789012:function:",
            "arn:aws:lambda::123456789012:function:echo",
            "arn:xyz:lambda:us-east-1:123456789012:function:echo",
            "arn:aws:s3:us-east-1:123456789012:function:echo",
            "arn:aws:lambda:us-east-1:123456789012:function:echo:1:2",
            "ሴ",
        ] {
            let err = parse_function_name(bad, R).unwrap_err();
            assert_eq!(err.status, 400, "{bad:?}");
            assert_eq!(err.error_type, "ValidationException", "{bad:?}");
        }
        assert_eq!(parsed(&"a".repeat(64)), ok(&"a".repeat(64), None));
        assert_eq!(parsed(&"a".repeat(65)), Err(400));
        assert_eq!(parsed(&format!("a:{}", "q".repeat(171))), Err(400));

        // Another region, partition or account: 404 naming that ARN.
        let err = parse_function_name("arn:aws:lambda:eu-west-1:123456789012:function:echo", R)
            .unwrap_err();
        assert_eq!(err.status, 404);
        assert_eq!(err.error_type, "ResourceNotFoundException");
        assert_eq!(
            err.json()["Message"],
            "Function not found: arn:aws:lambda:eu-west-1:123456789012:function:echo"
        );
        assert_eq!(
            parsed("arn:aws-cn:lambda:us-east-1:123456789012:function:echo"),
            Err(404)
        );
        assert_eq!(parsed("210987654321:function:echo"), Err(404));
        // The configured region decides.
        assert!(parse_function_name(
            "arn:aws:lambda:eu-west-1:123456789012:function:echo",
            "eu-west-1"
        )
        .is_ok());
    }

    #[test]
    fn segment_decoding() {
        assert_eq!(
            decode_segment(
                b"arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aecho%3A%24LATEST"
            )
            .unwrap(),
            "arn:aws:lambda:us-east-1:123456789012:function:echo:$LATEST"
        );
        assert_eq!(decode_segment(b"echo:prod").unwrap(), "echo:prod");
        assert_eq!(decode_segment(b"%ff").unwrap_err().status, 400);
        // A bad escape stays literal and then fails the name rules.
        let s = decode_segment(b"%zz").unwrap();
        assert_eq!(parse_function_name(&s, R).unwrap_err().status, 400);
    }

    #[test]
    fn qualifier_rules() {
        assert_eq!(query_qualifier(None), Ok(None));
        assert_eq!(query_qualifier(Some(b"")), Ok(None));
        assert_eq!(query_qualifier(Some(b"Qualifier=")), Ok(None));
        assert_eq!(
            query_qualifier(Some(b"x=1&Qualifier=prod")),
            Ok(Some("prod".into()))
        );
        assert_eq!(
            query_qualifier(Some(b"Qualifier=%24LATEST")),
            Ok(Some("$LATEST".into()))
        );
        assert_eq!(query_qualifier(Some(b"qualifier=prod")), Ok(None));
        assert_eq!(
            query_qualifier(Some(b"Qualifier=a.b"))
                .unwrap_err()
                .error_type,
            "ValidationException"
        );
        assert_eq!(
            query_qualifier(Some(b"Qualifier=a+b")).unwrap_err().status,
            400
        );

        assert_eq!(resolve_qualifier(None, None), Ok(None));
        assert_eq!(resolve_qualifier(Some("1"), None), Ok(Some("1".into())));
        assert_eq!(
            resolve_qualifier(None, Some("prod")),
            Ok(Some("prod".into()))
        );
        assert_eq!(
            resolve_qualifier(Some("prod"), Some("prod")),
            Ok(Some("prod".into()))
        );
        let err = resolve_qualifier(Some("prod"), Some("1")).unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.error_type, "InvalidParameterValueException");

        assert_eq!(executed_version(R, "echo", None), Ok("$LATEST"));
        assert_eq!(executed_version(R, "echo", Some("$LATEST")), Ok("$LATEST"));
        assert_eq!(executed_version(R, "echo", Some("1")), Ok("1"));
        assert_eq!(executed_version(R, "echo", Some("prod")), Ok("1"));
        let err = executed_version(R, "echo", Some("2")).unwrap_err();
        assert_eq!(err.status, 404);
        assert_eq!(
            err.body,
            r#"{"Type":"User","Message":"Function not found: arn:aws:lambda:us-east-1:123456789012:function:echo:2"}"#
        );
    }

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
