//! One route's fields as written in YAML (`routes[i]`): what it matches, its target
//! (`function_uri` or `function_name`), signing, API key and client credential policies,
//! retries and keep-alive, the Invoke options, and the route-level defaults.

use serde::Deserialize;

use super::model::yes;
use super::secret::opt_reference;
use super::secret::Secret;

/// One route: what it matches and where it goes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConf {
    /// Unique name, used in logs and metrics.
    pub name: String,
    /// A path to match: exact (`/orders`) or prefix wildcard (`/aws/*`). APISIX's `uri`.
    #[serde(default)]
    pub uri: Option<String>,
    /// Several paths (APISIX's `uris`).
    #[serde(default)]
    pub uris: Vec<String>,
    /// Host names to match (`api.example.com`, `*.example.com`); empty matches any host.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Methods to match; empty matches any method.
    #[serde(default)]
    pub methods: Vec<String>,

    // ---- function_uri targets (Apache APISIX's `aws-lambda` fields) ----
    /// API Gateway stage / resource URL or Lambda Function URL to proxy to.
    #[serde(default)]
    pub function_uri: Option<String>,
    #[serde(default)]
    pub authorization: Option<AuthorizationConf>,
    /// Client-sent `authorization`, `x-amz-*` and `x-api-key` headers: `strip` (default: they
    /// never reach AWS) or `forward`. With a configured API key, `apikey_policy` decides for
    /// `x-api-key`; on signed routes the signer always replaces the signing headers.
    #[serde(default)]
    pub client_credentials: ClientCredentialsPolicy,

    // ---- function_name targets (Kong's `aws-lambda` fields) ----
    /// Lambda function to invoke: name, `name:qualifier`, full ARN or partial ARN.
    #[serde(default)]
    pub function_name: Option<String>,
    /// Version or alias (`?Qualifier=`).
    #[serde(default)]
    pub qualifier: Option<String>,
    /// Region; else from the ARN, else `AWS_REGION` / `AWS_DEFAULT_REGION`.
    #[serde(default)]
    pub aws_region: Option<String>,
    /// Static credentials (else `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
    /// `AWS_SESSION_TOKEN` from the environment at load).
    #[serde(default, deserialize_with = "opt_reference")]
    pub aws_key: Option<String>,
    #[serde(default)]
    pub aws_secret: Option<Secret>,
    #[serde(default)]
    pub aws_session_token: Option<Secret>,
    /// A named source from the top-level `credentials` section.
    #[serde(default)]
    pub credentials: Option<String>,
    /// Profile for the default chain (when no static keys are given).
    #[serde(default)]
    pub aws_profile: Option<String>,
    /// AssumeRole on top of the route's credentials (cross-account invokes).
    #[serde(default)]
    pub aws_assume_role_arn: Option<String>,
    /// Default `lambda-proxy` (Kong: `kong`).
    #[serde(default)]
    pub aws_role_session_name: Option<String>,
    #[serde(default)]
    pub aws_assume_role_external_id: Option<String>,
    /// Session duration in seconds (900 to 43200).
    #[serde(default)]
    pub aws_assume_role_duration: Option<u32>,
    #[serde(default)]
    pub aws_sts_endpoint_url: Option<String>,
    /// Custom Invoke endpoint host (VPC endpoint, emulator); default `lambda.<region>.amazonaws.com`.
    #[serde(default)]
    pub host: Option<String>,
    /// Endpoint port; default 443 (80 with `disable_https`).
    #[serde(default)]
    pub port: Option<u16>,
    /// Plain HTTP to the endpoint (local emulators).
    #[serde(default)]
    pub disable_https: bool,
    #[serde(default)]
    pub invocation_type: InvocationType,
    #[serde(default)]
    pub log_type: LogType,
    /// Status for `X-Amz-Function-Error: Unhandled` (default 502).
    #[serde(default)]
    pub unhandled_status: Option<u16>,
    /// Status for `X-Amz-Function-Error: Handled` (default 502).
    #[serde(default)]
    pub handled_status: Option<u16>,
    /// The event when neither `forward_request_*` nor `awsgateway_compatible` is set: `args`
    /// (default; Kong's default payload: query arguments merged with the parsed body's) or
    /// `raw` (the client body, bytes untouched).
    #[serde(default)]
    pub request_payload: Option<RequestPayload>,
    #[serde(default)]
    pub forward_request_method: bool,
    #[serde(default)]
    pub forward_request_uri: bool,
    #[serde(default)]
    pub forward_request_headers: bool,
    #[serde(default)]
    pub forward_request_body: bool,
    /// Parse the result as an API Gateway proxy-integration response.
    #[serde(default)]
    pub is_proxy_integration: bool,
    /// Send an API Gateway proxy event (payload version below).
    #[serde(default)]
    pub awsgateway_compatible: bool,
    #[serde(default)]
    pub awsgateway_compatible_payload_version: PayloadVersionConf,
    /// `requestContext` values and stage variables of API Gateway events.
    #[serde(default)]
    pub awsgateway_context: Option<ApigwContextConf>,
    /// Base64 request bodies in events: true = always, false = only when not text (binary or
    /// invalid UTF-8); unset = by content type and UTF-8 validity.
    #[serde(default)]
    pub base64_encode_body: Option<bool>,
    /// Content types sent as text in events (default: text/*, JSON, XML, form data, JavaScript).
    #[serde(default)]
    pub text_content_types: Option<Vec<String>>,
    /// Egress through an HTTP CONNECT proxy (`http://host:port`).
    #[serde(default)]
    pub proxy_url: Option<String>,
    /// Kong 2.x's companion of `proxy_url`: the scheme spoken to the endpoint through the
    /// proxy. Accepted for migration: it must agree with the endpoint (`https`, or `http`
    /// with `disable_https`); the proxy is always asked for a CONNECT tunnel.
    #[serde(default)]
    pub proxy_scheme: Option<String>,
    /// On an Invoke API error (403, 404, 5xx), answer with AWS's status instead of 502
    /// (the body stays sanitised).
    #[serde(default)]
    pub preserve_lambda_api_error_code: bool,
    /// Response header carrying the Lambda request id; empty string to omit.
    #[serde(default)]
    pub request_id_header: Option<String>,
    /// Call InvokeWithResponseStream and stream chunks to the client as they arrive.
    #[serde(default)]
    pub response_streaming: bool,
    /// Largest event payload; default 6291456 (6 MB, synchronous) or 1048576 (Event).
    #[serde(default)]
    pub max_payload_size: Option<u64>,
    /// Kong options that have no effect here (accepted for migration, with a warning).
    #[serde(default)]
    pub skip_large_bodies: Option<serde_yaml::Value>,
    #[serde(default)]
    pub empty_arrays_mode: Option<serde_yaml::Value>,
    #[serde(default)]
    pub aws_imds_protocol_version: Option<serde_yaml::Value>,

    /// An APISIX / Kong `plugins:` block pasted into a route: always refused, with how to
    /// flatten it (read only to say so).
    #[serde(default)]
    pub plugins: Option<serde_yaml::Value>,

    // ---- both kinds ----
    /// CORS answered by the gateway (`crate::cors`): API Gateway HTTP API's model.
    #[serde(default)]
    pub cors_configuration: Option<super::CorsConf>,
    /// Callers must send a configured client API key in `x-api-key` (API Gateway's
    /// `apiKeyRequired`); else 403 before any AWS call (`crate::api_keys`).
    #[serde(default)]
    pub api_key_required: bool,
    /// The authorizer (top-level `authorizers`, by name) every request must pass first
    /// (`crate::authorizers`): 401 / 403 before any AWS call.
    #[serde(default)]
    pub authorizer: Option<String>,
    /// JWT authorizers: the token must carry at least one of these scopes (`scope` / `scp`),
    /// else 403 `insufficient_scope` (API Gateway's `AuthorizationScopes`).
    #[serde(default)]
    pub authorization_scopes: Vec<String>,
    /// Headers set on the upstream request from what the authorizer found, API Gateway's
    /// parameter-mapping syntax: `{x-user: "$context.authorizer.claims.sub"}` (JWT) or
    /// `{x-tenant: "$context.authorizer.tenant"}` (a Lambda authorizer's context). A header of
    /// the same name sent by the client is removed. `function_uri` routes only.
    #[serde(default)]
    pub authorizer_headers: std::collections::BTreeMap<String, String>,
    /// The whole route's rate (requests/s) and burst (API Gateway's route throttling); over
    /// it: 429 before any AWS call (`crate::throttling`).
    #[serde(default)]
    pub throttling: Option<super::ThrottleConf>,
    /// One rate and burst per caller (`api_key`, `jwt:<claim>` or `ip`).
    #[serde(default)]
    pub client_throttling: Option<super::ClientThrottleConf>,
    /// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` on the answers of
    /// admitted requests on a route with limits (its own or a usage plan's), as Kong sends them
    /// (default false, as API Gateway: about 1 µs per answer; a 429 always has them).
    #[serde(default)]
    pub rate_limit_headers: bool,
    /// Upstream read timeout in milliseconds: the longest wait for the next bytes of the
    /// response (and for each write of the request). Default: 30000 for API Gateway (its own
    /// limit is 29 s); 905000 for Lambda Function URLs and the Invoke API (15 min + 5 s).
    #[serde(default)]
    pub timeout: Option<u64>,
    /// TCP connect plus TLS handshake timeout in milliseconds.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: u64,
    /// Verify the upstream certificate and host name.
    #[serde(default = "yes")]
    pub ssl_verify: bool,
    /// PEM file of CA certificates to trust for this upstream instead of the system store.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Reuse upstream connections: `true`/`false` (APISIX), or Kong's idle time in ms.
    #[serde(default)]
    pub keepalive: KeepaliveConf,
    /// Idle upstream connections this route wants kept. Pingora keeps one pool per process:
    /// its size is the larger of `upstream_keepalive_pool_size` and the sum over all routes.
    #[serde(default = "default_keepalive_pool")]
    pub keepalive_pool: usize,
    /// How long an idle upstream connection is kept, in milliseconds.
    #[serde(default)]
    pub keepalive_timeout: Option<u64>,
    /// Largest request body in bytes. Routes that read the body (signed `function_uri`,
    /// every `function_name`) default to 10485760 / the payload limit; unsigned
    /// `function_uri` routes stream and are unlimited unless this is set.
    #[serde(default)]
    pub max_body_size: Option<u64>,
    /// Retries of what is safe to retry (a connection that could not be opened; a throttled
    /// `Event` invocation), with jittered backoff inside `timeout`. See `src/retry.rs`.
    #[serde(default)]
    pub retries: RetriesConf,
}

/// `retries`: how many attempts and how long to wait between them (what is retried is fixed).
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct RetriesConf {
    /// Attempts in all, 1 to 10 (1 disables retries). Default 3.
    #[serde(default = "default_retry_attempts")]
    pub attempts: u32,
    /// Milliseconds: the delay cap before the first retry, doubling per retry. Default 25.
    #[serde(default = "default_retry_base_delay")]
    pub base_delay: u64,
    /// Milliseconds: the largest delay cap. Default 1000.
    #[serde(default = "default_retry_max_delay")]
    pub max_delay: u64,
}

impl Default for RetriesConf {
    fn default() -> Self {
        RetriesConf {
            attempts: default_retry_attempts(),
            base_delay: default_retry_base_delay(),
            max_delay: default_retry_max_delay(),
        }
    }
}

fn default_retry_attempts() -> u32 {
    3
}
fn default_retry_base_delay() -> u64 {
    25
}
fn default_retry_max_delay() -> u64 {
    1000
}

/// `keepalive`: APISIX's boolean or Kong's idle time in milliseconds.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(untagged)]
pub enum KeepaliveConf {
    Enabled(bool),
    IdleMs(u64),
}

impl Default for KeepaliveConf {
    fn default() -> Self {
        KeepaliveConf::Enabled(true)
    }
}

impl KeepaliveConf {
    pub fn enabled(self) -> bool {
        !matches!(
            self,
            KeepaliveConf::Enabled(false) | KeepaliveConf::IdleMs(0)
        )
    }
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    #[default]
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
}

/// `request_payload`: what a `function_name` route without `forward_request_*` or
/// `awsgateway_compatible` sends as the event.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RequestPayload {
    /// Kong's default: query arguments merged with the body's (form, multipart, JSON).
    Args,
    /// The client body, untouched.
    Raw,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
pub enum LogType {
    #[default]
    None,
    Tail,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
pub enum PayloadVersionConf {
    #[default]
    #[serde(rename = "1.0")]
    V1,
    #[serde(rename = "2.0")]
    V2,
}

/// API Gateway event context (`requestContext` and `stageVariables`).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ApigwContextConf {
    /// Stage name (default `$default`).
    #[serde(default)]
    pub stage: Option<String>,
    /// 12-digit account id (default `123456789012`).
    #[serde(default)]
    pub account_id: Option<String>,
    /// API id (default: the route name).
    #[serde(default)]
    pub api_id: Option<String>,
    /// Resource template, e.g. `/orders/{proxy+}` (default: derived from the route's uri).
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub stage_variables: std::collections::BTreeMap<String, String>,
}

/// How the gateway authenticates to AWS on a `function_uri` route.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationConf {
    /// API Gateway API key, sent as `x-api-key`.
    #[serde(default)]
    pub apikey: Option<Secret>,
    /// What to do with an `x-api-key` the client sent when `apikey` is set.
    #[serde(default)]
    pub apikey_policy: ApiKeyPolicy,
    /// SigV4 signing (IAM auth).
    #[serde(default)]
    pub iam: Option<IamConf>,
}

/// What happens to credentials a client sends on a `function_uri` route.
#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClientCredentialsPolicy {
    #[default]
    Strip,
    Forward,
}

/// Client-sent `x-api-key` handling when the route has its own key.
#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyPolicy {
    /// The configured key replaces the client's (default).
    #[default]
    Replace,
    /// The client's key is forwarded if present; the configured key otherwise (APISIX's behaviour).
    KeepClient,
    /// A request carrying its own `x-api-key` is refused with 400.
    Reject,
}

/// SigV4 settings of a `function_uri` route. Credentials: `accesskey` + `secretkey` (static), a
/// named source (`credentials`), or else the SDK default chain (optionally `profile`), with
/// optional AssumeRole on top.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamConf {
    #[serde(default, deserialize_with = "opt_reference")]
    pub accesskey: Option<String>,
    /// Also spelt `secret_key` (APISIX's schema table).
    #[serde(default, alias = "secret_key")]
    pub secretkey: Option<Secret>,
    /// Session token for temporary credentials (APISIX has none).
    #[serde(default)]
    pub session_token: Option<Secret>,
    /// A named source from the top-level `credentials` section.
    #[serde(default)]
    pub credentials: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub assume_role_arn: Option<String>,
    #[serde(default)]
    pub role_session_name: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub duration_seconds: Option<u32>,
    #[serde(default)]
    pub sts_endpoint_url: Option<String>,
    #[serde(default = "default_region")]
    pub aws_region: String,
    /// `execute-api` for API Gateway, `lambda` for Function URLs.
    #[serde(default = "default_service")]
    pub service: String,
}

fn default_connect_timeout() -> u64 {
    3_000
}
fn default_keepalive_pool() -> usize {
    5
}
fn default_region() -> String {
    "us-east-1".into()
}
fn default_service() -> String {
    "execute-api".into()
}

/// Default body limit for signed routes (API Gateway's payload limit).
pub const DEFAULT_SIGNED_BODY_LIMIT: u64 = 10 * 1024 * 1024;
/// Default read timeout for API Gateway targets.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// Default read timeout for Lambda Function URL and Invoke targets (Lambda's 15 min maximum + 5 s).
pub const DEFAULT_FUNCTION_URL_TIMEOUT_MS: u64 = 905_000;
/// Lambda's synchronous invocation payload limit.
pub const DEFAULT_SYNC_PAYLOAD_LIMIT: u64 = 6 * 1024 * 1024;
/// Lambda's asynchronous (Event) invocation payload limit.
pub const DEFAULT_EVENT_PAYLOAD_LIMIT: u64 = 1024 * 1024;
/// Default idle lifetime of pooled upstream connections, in milliseconds.
pub const DEFAULT_KEEPALIVE_TIMEOUT_MS: u64 = 60_000;
