//! The one error type every refusal and failure of the gateway goes through: a status, a
//! stable machine-readable code, a short message, and the extra headers (and JSON members)
//! the answer carries. Phases that answer themselves write it (`respond`); later phases
//! return it inside a Pingora error, and `fail_to_proxy` finds it there.
//!
//! The body is always `{"error":"<code>","message":"<text>"}` plus a newline; clients and
//! dashboards key on the code (it is also the access log's `error` field).

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use pingora::{Error, ErrorSource, ErrorType};

/// The stable codes of the gateway's own answers (see README "Errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    // The client's request.
    BadRequest,
    BadFraming,
    BadHost,
    BadPath,
    HeadersTooLarge,
    RouteNotFound,
    MethodNotAllowed,
    ClientApiKeyRefused,
    /// A route with `api_key_required`: no or no valid client API key (API Gateway's 403).
    Forbidden,
    /// An authorizer's route: no identity, or a refused token (401).
    Unauthorized,
    /// A JWT without one of the route's `authorization_scopes` (403).
    InsufficientScope,
    /// Over a route's, a caller's or a usage plan's rate or quota (429).
    TooManyRequests,
    BodyTooLarge,
    UnsignableQuery,
    UnsignableHeader,
    ClientTimeout,
    ClientGone,
    // The gateway's own state.
    BodyBufferFull,
    CredentialsUnavailable,
    /// A Lambda authorizer failed, timed out or answered something unreadable (500).
    AuthorizerError,
    /// A JWT issuer's keys could not be fetched yet (503).
    AuthorizerUnavailable,
    /// The fleet-wide throttling store cannot answer and `on_failure` is `deny` (503).
    ThrottlingUnavailable,
    // The upstream (API Gateway, Function URL, the Invoke API).
    UpstreamTimeout,
    UpstreamTlsError,
    UpstreamUnreachable,
    UpstreamError,
    GatewayError,
    // Lambda.
    PayloadTooLarge,
    InvalidRequestContent,
    Throttled,
    LambdaApiError,
    FunctionError,
    InvalidFunctionResponse,
    StreamError,
    /// An explicit status raised inside Pingora without a more precise code.
    Error,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            BadRequest => "bad_request",
            BadFraming => "bad_framing",
            BadHost => "bad_host",
            BadPath => "bad_path",
            HeadersTooLarge => "headers_too_large",
            RouteNotFound => "route_not_found",
            MethodNotAllowed => "method_not_allowed",
            ClientApiKeyRefused => "client_api_key_refused",
            Forbidden => "forbidden",
            Unauthorized => "unauthorized",
            InsufficientScope => "insufficient_scope",
            TooManyRequests => "too_many_requests",
            ThrottlingUnavailable => "throttling_unavailable",
            AuthorizerError => "authorizer_error",
            AuthorizerUnavailable => "authorizer_unavailable",
            BodyTooLarge => "body_too_large",
            UnsignableQuery => "unsignable_query",
            UnsignableHeader => "unsignable_header",
            ClientTimeout => "client_timeout",
            ClientGone => "client_gone",
            BodyBufferFull => "body_buffer_full",
            CredentialsUnavailable => "credentials_unavailable",
            UpstreamTimeout => "upstream_timeout",
            UpstreamTlsError => "upstream_tls_error",
            UpstreamUnreachable => "upstream_unreachable",
            UpstreamError => "upstream_error",
            GatewayError => "gateway_error",
            PayloadTooLarge => "payload_too_large",
            InvalidRequestContent => "invalid_request_content",
            Throttled => "throttled",
            LambdaApiError => "lambda_api_error",
            FunctionError => "function_error",
            InvalidFunctionResponse => "invalid_function_response",
            StreamError => "stream_error",
            Error => "error",
        }
    }

    /// The message an answer with this code carries when the raising place has no better one.
    fn default_message(self) -> &'static str {
        use ErrorCode::*;
        match self {
            UpstreamTimeout => "the upstream did not answer in time",
            UpstreamTlsError => "TLS with the upstream failed",
            UpstreamUnreachable => "the upstream could not be reached",
            BodyTooLarge => "request body is over this route's limit",
            BadRequest => "the request could not be read",
            ClientTimeout => "the request body did not arrive in time",
            CredentialsUnavailable => "the gateway has no valid AWS credentials for this route yet",
            _ => "the upstream request failed",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An answer the gateway gives instead of the upstream's.
#[derive(Debug, Clone)]
pub struct GatewayError {
    /// 0: the client is gone, nothing can be sent.
    pub status: u16,
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
    /// Extra response headers (`allow`, `retry-after`, the request id header …).
    pub headers: Vec<(Cow<'static, str>, String)>,
    /// Extra JSON members after `error` and `message` (`aws_error_type`).
    pub fields: Vec<(&'static str, String)>,
    /// The client's connection may be reused afterwards: nothing about it is wrong and its
    /// request body was read (or it had none).
    pub keep_connection: bool,
}

impl GatewayError {
    pub fn new(status: u16, code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        GatewayError {
            status,
            code,
            message: message.into(),
            headers: Vec::new(),
            fields: Vec::new(),
            keep_connection: false,
        }
    }

    pub fn header(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn field(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.fields.push((name, value.into()));
        self
    }

    /// Asks the client to come back in a second (503 while the gateway is short of something).
    pub fn retry_after(self, seconds: u32) -> Self {
        self.header("retry-after", seconds.to_string())
    }

    pub fn keep_connection(mut self) -> Self {
        self.keep_connection = true;
        self
    }

    /// 413: a body over the route's limit (or over the whole body budget).
    pub fn body_too_large(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(413, ErrorCode::BodyTooLarge, message)
    }

    /// 413: a body over the route's `limit` (`max_body_size` / the Invoke body limit).
    pub fn body_over_limit(limit: u64) -> Self {
        let message = format!("request body is over this route's limit of {limit} bytes");
        Self::body_too_large(message)
    }

    /// 503 + `Retry-After`: no valid credentials for the route (yet, or no longer).
    pub fn credentials_unavailable() -> Self {
        let c = ErrorCode::CredentialsUnavailable;
        Self::new(503, c, c.default_message()).retry_after(1)
    }

    /// What a Pingora error means for the client: a [`GatewayError`] raised by a phase is
    /// returned as is; anything else is classified by its type and source.
    pub fn from_pingora(e: &Error) -> GatewayError {
        if let Some(own) = e.root_cause().downcast_ref::<GatewayError>() {
            return own.clone();
        }
        let (status, code) = classify(e);
        let mut err = GatewayError::new(status, code, code.default_message());
        if status == 503 {
            err = err.retry_after(1);
        }
        err
    }

    /// This error as a Pingora error, for phases that report failures by returning one.
    pub fn into_pingora(self) -> Box<Error> {
        let etype = ErrorType::HTTPStatus(self.status);
        Error::because(etype, self.code.as_str(), self)
    }

    /// The JSON body: `{"error":…,"message":…,…}` and a newline.
    pub fn body(&self) -> Bytes {
        let mut v = serde_json::Map::new();
        v.insert("error".into(), self.code.as_str().into());
        v.insert("message".into(), self.message.as_ref().into());
        for (k, val) in &self.fields {
            v.insert((*k).into(), val.as_str().into());
        }
        crate::gateway::respond::json_line(&serde_json::Value::Object(v))
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for GatewayError {}

/// Maps a Pingora error to (status, code); status 0 means the client is gone.
///
/// | fault | status |
/// |---|---|
/// | connect refused / no route / TLS or certificate failure / bad upstream answer | 502 |
/// | connect, read or write timeout | 504 |
/// | an explicit status (`HTTPStatus(n)`) | n |
/// | the client's body cannot be read (bad framing) | 400 |
/// | the client stopped sending its body (`client.body_timeout`) | 408 |
/// | client went away | none (nothing can be sent) |
pub fn classify(e: &Error) -> (u16, ErrorCode) {
    use pingora::ErrorType::*;
    if matches!(e.esource(), ErrorSource::Downstream) {
        return match e.etype() {
            HTTPStatus(s) => (*s, ErrorCode::Error),
            // The client stopped sending its body (`client.body_timeout`).
            ReadTimedout => (408, ErrorCode::ClientTimeout),
            WriteTimedout | ConnectionClosed | WriteError | ReadError => (0, ErrorCode::ClientGone),
            _ => (400, ErrorCode::BadRequest),
        };
    }
    match e.etype() {
        HTTPStatus(413) => (413, ErrorCode::BodyTooLarge),
        HTTPStatus(s) => (*s, ErrorCode::Error),
        ConnectTimedout | ReadTimedout | WriteTimedout | TLSHandshakeTimedout => {
            (504, ErrorCode::UpstreamTimeout)
        }
        TLSHandshakeFailure | InvalidCert | HandshakeError => (502, ErrorCode::UpstreamTlsError),
        ConnectRefused | ConnectNoRoute | ConnectError | BindError | SocketError
        | ConnectProxyFailure => (502, ErrorCode::UpstreamUnreachable),
        _ => match e.esource() {
            ErrorSource::Upstream => (502, ErrorCode::UpstreamError),
            _ => (502, ErrorCode::GatewayError),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(etype: ErrorType, source: ErrorSource) -> Box<Error> {
        let mut e = Error::new(etype);
        e.esource = source;
        e
    }

    #[test]
    fn upstream_faults_map_to_502_and_504() {
        use ErrorType::*;
        for (etype, status, code) in [
            (ConnectRefused, 502, "upstream_unreachable"),
            (ConnectNoRoute, 502, "upstream_unreachable"),
            (ConnectProxyFailure, 502, "upstream_unreachable"),
            (ConnectTimedout, 504, "upstream_timeout"),
            (ReadTimedout, 504, "upstream_timeout"),
            (TLSHandshakeFailure, 502, "upstream_tls_error"),
            (InvalidCert, 502, "upstream_tls_error"),
            (InvalidHTTPHeader, 502, "upstream_error"),
            (HTTPStatus(413), 413, "body_too_large"),
            (WriteTimedout, 504, "upstream_timeout"),
            (TLSHandshakeTimedout, 504, "upstream_timeout"),
            (HandshakeError, 502, "upstream_tls_error"),
            (ConnectError, 502, "upstream_unreachable"),
            (BindError, 502, "upstream_unreachable"),
            (SocketError, 502, "upstream_unreachable"),
            (HTTPStatus(429), 429, "error"),
        ] {
            let (s, c) = classify(&err(etype.clone(), ErrorSource::Upstream));
            assert_eq!((s, c.as_str()), (status, code), "{etype:?}");
            // Raised inside the gateway, a known fault is classified the same way.
            if code != "upstream_error" {
                let (s, c) = classify(&err(etype.clone(), ErrorSource::Internal));
                assert_eq!((s, c.as_str()), (status, code), "internal {etype:?}");
            }
        }
        let (s, c) = classify(&err(ErrorType::InternalError, ErrorSource::Internal));
        assert_eq!((s, c), (502, ErrorCode::GatewayError));
    }

    #[test]
    fn client_faults_are_the_clients() {
        use ErrorType::*;
        for (etype, status, code) in [
            (ReadTimedout, 408, ErrorCode::ClientTimeout),
            (ConnectionClosed, 0, ErrorCode::ClientGone),
            (WriteError, 0, ErrorCode::ClientGone),
            (InvalidHTTPHeader, 400, ErrorCode::BadRequest),
            (HTTPStatus(413), 413, ErrorCode::Error),
            (HTTPStatus(431), 431, ErrorCode::Error),
            (WriteTimedout, 0, ErrorCode::ClientGone),
            (ReadError, 0, ErrorCode::ClientGone),
            (ConnectTimedout, 400, ErrorCode::BadRequest),
        ] {
            let e = err(etype.clone(), ErrorSource::Downstream);
            assert_eq!(classify(&e), (status, code), "{etype:?}");
        }
    }

    #[test]
    fn a_raised_gateway_error_survives_pingora() {
        let raised = GatewayError::credentials_unavailable();
        let e = raised.clone().into_pingora();
        assert_eq!(e.etype(), &ErrorType::HTTPStatus(503));
        // Pingora adds context on the way; the cause stays.
        let wrapped = e.more_context("in upstream_request_filter");
        let back = GatewayError::from_pingora(&wrapped);
        assert_eq!(
            (back.status, back.code),
            (503, ErrorCode::CredentialsUnavailable)
        );
        assert_eq!(back.headers, raised.headers);
        // Anything else is classified, 503s with Retry-After.
        let other =
            GatewayError::from_pingora(&err(ErrorType::HTTPStatus(503), ErrorSource::Internal));
        assert_eq!(other.headers, vec![("retry-after".into(), "1".to_string())]);
    }

    #[test]
    fn the_body_is_one_json_line() {
        let e = GatewayError::new(429, ErrorCode::Throttled, "slow down")
            .field("aws_error_type", "T\"x");
        let body = e.body();
        assert!(body.ends_with(b"}\n") && !body[..body.len() - 1].contains(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error": "throttled", "message": "slow down", "aws_error_type": "T\"x"})
        );
    }
}
