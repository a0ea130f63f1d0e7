//! The gateway's configuration model as written in YAML (field names follow Apache APISIX's
//! `aws-lambda` plugin where one exists). Defaults live here, next to the fields.

use std::fmt;

use serde::Deserialize;

/// A secret string from the config file. `Debug` and `Display` never show it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself; call only where it is used (signing, the `x-api-key` header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The gateway's sections of the file.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GatewayConf {
    #[serde(default)]
    pub listeners: Vec<ListenerConf>,
    #[serde(default)]
    pub routes: Vec<RouteConf>,
    #[serde(default)]
    pub dns: DnsConf,
}

/// One listening socket.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConf {
    /// `IP:PORT`, e.g. `0.0.0.0:8080` or `[::]:8443`.
    pub address: String,
    /// Accept cleartext HTTP/2 with prior knowledge on a plain listener (h1 is always accepted).
    #[serde(default = "yes")]
    pub h2c: bool,
    /// Serve TLS on this listener.
    #[serde(default)]
    pub tls: Option<TlsListenerConf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsListenerConf {
    /// PEM certificate chain.
    pub cert: String,
    /// PEM private key.
    pub key: String,
    /// Offer h2 by ALPN (h1 is always offered).
    #[serde(default = "yes")]
    pub h2: bool,
}

/// Background DNS resolution of upstream hosts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsConf {
    /// How often upstream host names are re-resolved, in seconds.
    #[serde(default = "default_dns_refresh")]
    pub refresh_seconds: u64,
}

impl Default for DnsConf {
    fn default() -> Self {
        DnsConf {
            refresh_seconds: default_dns_refresh(),
        }
    }
}

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

    /// API Gateway stage / resource URL or Lambda Function URL to proxy to.
    pub function_uri: String,
    #[serde(default)]
    pub authorization: Option<AuthorizationConf>,
    /// Upstream read timeout in milliseconds: the longest wait for the next bytes of the
    /// response (and for each write of the request). Default: 30000 (API Gateway's own limit is
    /// 29 s), or 905000 for Lambda Function URLs (`*.on.aws` or service `lambda`: 15 min + 5 s).
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
    /// Reuse upstream connections.
    #[serde(default = "yes")]
    pub keepalive: bool,
    /// Idle upstream connections this route wants kept. Pingora keeps one pool per process:
    /// its size is the larger of `upstream_keepalive_pool_size` and the sum over all routes.
    #[serde(default = "default_keepalive_pool")]
    pub keepalive_pool: usize,
    /// How long an idle upstream connection is kept, in milliseconds.
    #[serde(default = "default_keepalive_timeout")]
    pub keepalive_timeout: u64,
    /// Largest request body in bytes. Signed (IAM) routes buffer the body to hash it, so they
    /// always have a limit (default 10485760, API Gateway's); unsigned routes stream and are
    /// unlimited unless this is set.
    #[serde(default)]
    pub max_body_size: Option<u64>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamConf {
    pub accesskey: String,
    pub secretkey: Secret,
    /// Session token for temporary credentials (APISIX has none).
    #[serde(default)]
    pub session_token: Option<Secret>,
    #[serde(default = "default_region")]
    pub aws_region: String,
    /// `execute-api` for API Gateway, `lambda` for Function URLs.
    #[serde(default = "default_service")]
    pub service: String,
}

fn yes() -> bool {
    true
}
fn default_dns_refresh() -> u64 {
    30
}
fn default_connect_timeout() -> u64 {
    3_000
}
fn default_keepalive_pool() -> usize {
    5
}
fn default_keepalive_timeout() -> u64 {
    60_000
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
/// Default read timeout for Lambda Function URL targets (Lambda's 15 min maximum + 5 s).
pub const DEFAULT_FUNCTION_URL_TIMEOUT_MS: u64 = 905_000;
