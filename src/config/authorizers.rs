//! The top-level `authorizers` section: API Gateway HTTP API's authorizers in snake_case
//! (`AWS::ApiGatewayV2::Authorizer`). Only the shape lives here; what the values mean and how
//! they are checked and compiled is `crate::authorizers` (built with the route table, so `-t`
//! reports every error).
//!
//! A `request` authorizer (a Lambda authorizer) names its function with the same fields as a
//! `function_name` route (function, region, credentials, endpoint, timeouts, retries): they are
//! read into a [`RouteConf`] here, while the file is deserialised, so secret references in
//! them resolve like a route's. Fields that shape events or responses are a route's business
//! and are refused here.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_yaml::{Mapping, Value};

use super::route::RouteConf;

/// One authorizer.
#[derive(Debug, Deserialize)]
pub struct AuthorizerConf {
    /// What routes name in `authorizer:`; also the metrics label.
    pub name: String,
    pub authorizer_type: AuthorizerType,
    /// Where the caller's identity is read: `$request.header.NAME`, `$request.querystring.NAME`,
    /// `$context.NAME`, `$stageVariables.NAME`. JWT default: `$request.header.Authorization`.
    #[serde(default)]
    pub identity_source: Vec<String>,
    #[serde(default)]
    pub jwt_configuration: Option<JwtConf>,
    /// Lambda authorizers: `"1.0"` (IAM policy answers) or `"2.0"` (default).
    #[serde(default)]
    pub authorizer_payload_format_version: Option<super::PayloadVersionConf>,
    /// Lambda authorizers, payload 2.0: `{"isAuthorized": bool, "context": {..}}` answers.
    #[serde(default)]
    pub enable_simple_responses: bool,
    /// Lambda authorizers: seconds an answer is reused for the same identity values (0, the
    /// default as in API Gateway's API, turns caching off; at most 3600).
    #[serde(default)]
    pub authorizer_result_ttl_in_seconds: u64,
    /// Lambda authorizers: the function and how to reach it (a `function_name` route's fields).
    #[serde(flatten)]
    pub invoke: InvokeFields,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuthorizerType {
    /// JSON Web Tokens checked against the issuer's keys.
    Jwt,
    /// A Lambda authorizer (API Gateway's `REQUEST` type).
    Request,
}

/// `jwt_configuration`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConf {
    /// The `iss` tokens must carry; keys are discovered from
    /// `<issuer>/.well-known/openid-configuration` unless `jwks_uri` is set.
    pub issuer: String,
    /// Where the issuer's JSON Web Key Set is, skipping OIDC discovery.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Accepted `aud` values (or `client_id` when a token has no `aud`, as API Gateway).
    #[serde(default)]
    pub audience: Vec<String>,
    /// PEM CA certificates to trust for the discovery and JWKS fetches instead of the
    /// system store (a private issuer).
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Seconds between two fetches of the key set when its answer sets no `Cache-Control:
    /// max-age` (default 3600; `max-age` is honoured between 60 and 86400 seconds).
    #[serde(default = "default_refresh_seconds")]
    pub refresh_seconds: u64,
}

fn default_refresh_seconds() -> u64 {
    3600
}

/// The fields of a `function_name` route an authorizer may set.
pub const INVOKE_FIELDS: &[&str] = &[
    "function_name",
    "qualifier",
    "aws_region",
    "aws_key",
    "aws_secret",
    "aws_session_token",
    "credentials",
    "aws_profile",
    "aws_assume_role_arn",
    "aws_role_session_name",
    "aws_assume_role_external_id",
    "aws_assume_role_duration",
    "aws_sts_endpoint_url",
    "host",
    "port",
    "disable_https",
    "timeout",
    "connect_timeout",
    "ssl_verify",
    "ca_file",
    "keepalive",
    "keepalive_pool",
    "keepalive_timeout",
    "retries",
    "proxy_url",
    "proxy_scheme",
];

/// API Gateway's limit on how long a Lambda authorizer may take: 10 s.
pub const DEFAULT_AUTHORIZER_TIMEOUT_MS: u64 = 10_000;

/// The Invoke fields of an authorizer as a `function_name` route (named `authorizer:<name>`
/// later); `None` when none is set (JWT authorizers).
#[derive(Debug, Default)]
pub struct InvokeFields(pub Option<Box<RouteConf>>);

impl<'de> Deserialize<'de> for InvokeFields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut m = Mapping::deserialize(d)?;
        if m.is_empty() {
            return Ok(InvokeFields(None));
        }
        for k in m.keys() {
            let key = k.as_str().unwrap_or_default();
            if !INVOKE_FIELDS.contains(&key) {
                return Err(D::Error::custom(format!(
                    "unknown field `{}`: an authorizer has name, authorizer_type, \
                     identity_source, jwt_configuration, authorizer_payload_format_version, \
                     enable_simple_responses, authorizer_result_ttl_in_seconds, and for Lambda \
                     authorizers these fields of a function_name route: {}",
                    key.escape_debug(),
                    INVOKE_FIELDS.join(", ")
                )));
            }
        }
        m.insert("name".into(), "authorizer".into());
        if !m.contains_key("timeout") {
            m.insert("timeout".into(), DEFAULT_AUTHORIZER_TIMEOUT_MS.into());
        }
        let route = RouteConf::deserialize(Value::Mapping(m)).map_err(D::Error::custom)?;
        Ok(InvokeFields(Some(Box::new(route))))
    }
}
