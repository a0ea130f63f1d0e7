//! The gateway's configuration model as written in YAML: the top-level sections (`listeners`,
//! `dns`, `credentials`, `metrics`, `health`, `access_log`, `client`, `limits`); one route's
//! fields are in `route.rs`. Field names follow Apache APISIX's `aws-lambda` plugin where one
//! exists. Defaults live here, next to the fields.

use serde::Deserialize;

use super::route::RouteConf;
use super::secret::opt_reference;
pub use super::secret::Secret;

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
    /// Named credential sources that routes reference with `credentials: <name>`.
    #[serde(default)]
    pub credentials: std::collections::BTreeMap<String, CredentialsConf>,
    /// Prometheus metrics listener.
    #[serde(default)]
    pub metrics: Option<MetricsConf>,
    /// The gateway's own health endpoint.
    #[serde(default)]
    pub health: HealthConf,
    /// The access log (log target `access`).
    #[serde(default)]
    pub access_log: AccessLogConf,
    /// Timeouts on the client side (slow clients).
    #[serde(default)]
    pub client: ClientConf,
    /// Process-wide resource limits.
    #[serde(default)]
    pub limits: LimitsConf,
    /// Client API keys (`x-api-key`) for routes with `api_key_required` (`crate::api_keys`).
    #[serde(default)]
    pub api_keys: Vec<super::ApiKeyConf>,
    /// Who may call: JWT and Lambda authorizers that routes name (`crate::authorizers`).
    #[serde(default)]
    pub authorizers: Vec<super::AuthorizerConf>,
    /// Fleet-wide limit state (Redis); without it, limits are per process (`crate::throttling`).
    #[serde(default)]
    pub throttling_store: Option<super::ThrottlingStoreConf>,
    /// Throttling and quotas per client API key (API Gateway's usage plans).
    #[serde(default)]
    pub usage_plans: Vec<super::UsagePlanConf>,
    /// `api_keys` checked and hashed at load (set by `Config::from_yaml_str`).
    #[serde(skip)]
    pub api_key_table: std::sync::Arc<crate::api_keys::ApiKeyTable>,
}

/// `limits`: bounds over all requests together.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LimitsConf {
    /// Request body bytes held in memory by all requests at once (signed `function_uri`
    /// bodies, `function_name` events); a request that does not fit is answered 503 with
    /// `Retry-After`. Default 268435456 (256 MiB).
    #[serde(default = "default_buffered_body_bytes")]
    pub buffered_body_bytes: u64,
}

impl Default for LimitsConf {
    fn default() -> Self {
        LimitsConf {
            buffered_body_bytes: default_buffered_body_bytes(),
        }
    }
}

/// Default of `limits.buffered_body_bytes`.
pub const DEFAULT_BUFFERED_BODY_BYTES: u64 = 256 * 1024 * 1024;

fn default_buffered_body_bytes() -> u64 {
    DEFAULT_BUFFERED_BODY_BYTES
}

/// `client`: how long the gateway waits on a slow client (nginx's `client_body_timeout` and
/// `send_timeout`). The request head's own timeout is Pingora's: 60 s for each read.
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct ClientConf {
    /// Milliseconds between two reads of the request body before the request is given up with
    /// 408 (default 60000).
    #[serde(default = "default_client_timeout")]
    pub body_timeout: u64,
    /// Milliseconds for each write of the response to the client before the connection is
    /// closed (default 60000).
    #[serde(default = "default_client_timeout")]
    pub send_timeout: u64,
}

impl Default for ClientConf {
    fn default() -> Self {
        ClientConf {
            body_timeout: default_client_timeout(),
            send_timeout: default_client_timeout(),
        }
    }
}

fn default_client_timeout() -> u64 {
    60_000
}

/// One line per request on stderr (`crate::gateway::access_log`); `RUST_LOG=access=off` also turns it
/// off.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AccessLogConf {
    /// `text` (default) or `json`.
    #[serde(default)]
    pub format: AccessLogFormat,
    /// Set to false to write no access log.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Lines waiting for the writer thread before new ones are dropped (and counted). Read at
    /// start; a change needs an upgrade.
    #[serde(default = "default_access_log_queue")]
    pub queue_size: usize,
}

impl Default for AccessLogConf {
    fn default() -> Self {
        AccessLogConf {
            format: AccessLogFormat::Text,
            enabled: true,
            queue_size: default_access_log_queue(),
        }
    }
}

fn default_access_log_queue() -> usize {
    crate::gateway::access_log::DEFAULT_QUEUE
}

#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AccessLogFormat {
    #[default]
    Text,
    Json,
}

/// Prometheus metrics on their own listener.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct MetricsConf {
    /// `IP:PORT` of the metrics listener (every path answers with the metrics).
    pub address: String,
}

/// `GET <path>` on any listener is answered by the gateway: 200 `{"status":"ok"}`.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct HealthConf {
    /// Default `/healthz`; empty string turns it off.
    #[serde(default = "default_health_path")]
    pub path: String,
}

impl Default for HealthConf {
    fn default() -> Self {
        HealthConf {
            path: default_health_path(),
        }
    }
}

fn default_health_path() -> String {
    "/healthz".into()
}

/// A named credential source: static keys, or the SDK default chain (optionally a profile),
/// optionally with AssumeRole on top.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct CredentialsConf {
    /// Static keys; without them the default chain is used (env, files, web identity, ECS, IMDSv2).
    #[serde(default, deserialize_with = "opt_reference")]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub secret_access_key: Option<Secret>,
    #[serde(default)]
    pub session_token: Option<Secret>,
    /// Profile of the shared config/credentials files (default chain only).
    #[serde(default)]
    pub profile: Option<String>,
    /// AssumeRole on top of the source.
    #[serde(default)]
    pub assume_role_arn: Option<String>,
    /// Default `lambda-proxy`.
    #[serde(default)]
    pub role_session_name: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    /// Session duration in seconds (900 to 43200; default STS's 3600).
    #[serde(default)]
    pub duration_seconds: Option<u32>,
    /// Custom STS endpoint (default the regional STS endpoint).
    #[serde(default)]
    pub sts_endpoint_url: Option<String>,
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
    /// Bytes of each client connection's read buffer (Pingora's default is 65536). Requests to
    /// Lambda are small: 16384 keeps idle keep-alive connections cheap (see load/RESULTS.md);
    /// larger bodies are read past the buffer, so it does not limit them.
    #[serde(default = "default_read_buffer")]
    pub read_buffer: usize,
}

fn default_read_buffer() -> usize {
    16 * 1024
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
    /// Mutual TLS: PEM CA certificates that sign client certificates (API Gateway's
    /// `truststoreUri`). Unset: no client certificate is requested.
    #[serde(default)]
    pub client_ca: Option<String>,
    /// With `client_ca`: whether a client certificate is required (the default) or optional.
    #[serde(default)]
    pub client_auth: Option<ClientAuth>,
}

/// `tls.client_auth`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// A client without a certificate signed by `client_ca` fails the TLS handshake.
    #[default]
    Required,
    /// The certificate is requested and verified if sent; clients without one pass.
    Optional,
}

/// Background DNS resolution of upstream hosts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsConf {
    /// How often upstream host names are re-resolved, in seconds.
    #[serde(default = "default_dns_refresh")]
    pub refresh_seconds: u64,
    /// Host names pinned to fixed addresses (like `curl --resolve`): the name is still used
    /// for SNI, certificate checks, `Host` and signing, but connections go to these addresses
    /// (round-robin, like resolved ones) and the name is never looked up.
    #[serde(default)]
    pub hosts: std::collections::BTreeMap<String, Vec<std::net::IpAddr>>,
}

impl Default for DnsConf {
    fn default() -> Self {
        DnsConf {
            refresh_seconds: default_dns_refresh(),
            hosts: Default::default(),
        }
    }
}

pub(super) fn yes() -> bool {
    true
}

fn default_dns_refresh() -> u64 {
    30
}
