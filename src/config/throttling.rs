//! Throttling and quotas as written in YAML: the top-level `throttling_store` (Redis for
//! fleet-wide limits) and `usage_plans`, and a route's `throttling` and `client_throttling`,
//! in API Gateway's names (snake_case). Only the shape lives here; what the values mean and
//! how they are checked is `crate::throttling`.

use serde::Deserialize;

use super::secret::Secret;

/// `rate_limit` (requests per second, may be fractional) and `burst_limit` (bucket size).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ThrottleConf {
    pub rate_limit: f64,
    pub burst_limit: u32,
}

/// A route's `client_throttling`: one bucket per caller.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientThrottleConf {
    /// Who a caller is: `api_key` (the client API key's name), `jwt:<claim>` (e.g. `jwt:sub`,
    /// a JWT authorizer's claim) or `ip` (the client address).
    pub key: String,
    pub rate_limit: f64,
    pub burst_limit: u32,
}

/// `usage_plans[]`: throttling and a quota for the client API keys listed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsagePlanConf {
    pub name: String,
    /// Names of top-level `api_keys`.
    #[serde(default)]
    pub api_keys: Vec<String>,
    #[serde(default)]
    pub throttle: Option<ThrottleConf>,
    #[serde(default)]
    pub quota: Option<QuotaConf>,
}

/// `quota`: at most `limit` requests per `period` (UTC; weeks start on Monday).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct QuotaConf {
    pub limit: u64,
    pub period: PeriodConf,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Hash)]
pub enum PeriodConf {
    #[serde(rename = "DAY")]
    Day,
    #[serde(rename = "WEEK")]
    Week,
    #[serde(rename = "MONTH")]
    Month,
}

/// `throttling_store`: where fleet-wide limit state lives.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottlingStoreConf {
    pub redis: RedisConf,
    /// What a request meets when the store cannot answer in time: `allow` (default: fall back
    /// to this process's own limits) or `deny` (503).
    #[serde(default)]
    pub on_failure: OnStoreFailure,
    /// Milliseconds per store call (default 10).
    #[serde(default = "default_store_timeout")]
    pub timeout: u64,
}

fn default_store_timeout() -> u64 {
    10
}

/// `throttling_store.redis`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConf {
    /// `redis://[user:password@]host:port[/db]` or `rediss://` (TLS); a list is a Redis
    /// Cluster's seed nodes. A secret (it may carry a password): `$env://`, `$file://` work.
    pub url: OneOrMany,
    /// Prefix of every key the gateway writes (default `lambda-proxy:`).
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// `rediss://` only: the CA that signed the Redis server's certificate (instead of the
    /// system store) and a client certificate (Redis `tls-auth-clients yes`).
    #[serde(default)]
    pub tls: Option<RedisTlsConf>,
}

/// `throttling_store.redis.tls`: PEM files, read when the configuration is loaded (paths
/// relative to the configuration file).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RedisTlsConf {
    /// CA certificate(s) to trust; they replace the system store (redis-rs and native-tls
    /// trust only these when set).
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Client certificate (chain), with `key_file`.
    #[serde(default)]
    pub cert_file: Option<String>,
    /// The client certificate's private key (unencrypted PEM: PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    pub key_file: Option<String>,
}

fn default_key_prefix() -> String {
    "lambda-proxy:".into()
}

/// One URL (a standalone Redis) or several (a Redis Cluster's seed nodes).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(Secret),
    Many(Vec<Secret>),
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OnStoreFailure {
    #[default]
    Allow,
    Deny,
}
