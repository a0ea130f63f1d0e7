//! The top-level `api_keys` section: the keys callers present in `x-api-key` (API Gateway's
//! API keys), distinct from a route's `authorization.apikey`, which the gateway sends
//! upstream. Only the shape lives here; checking and hashing is `crate::api_keys::ApiKeyTable`
//! (built by validation, so `-t` reports every error).

use serde::Deserialize;

use super::model::yes;

/// One client API key. Exactly one of `value_sha256`, `value_env`, `value_file` is set; none of
/// them is the key itself in the file, so `Debug` of this shows nothing secret.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConf {
    /// The key's id: shown in events (`apiKeyId`), the access log and metrics; never the key.
    pub name: String,
    /// Hex SHA-256 of the key (`printf %s KEY | sha256sum`).
    #[serde(default)]
    pub value_sha256: Option<String>,
    /// Environment variable holding the key; read and hashed at every load.
    #[serde(default)]
    pub value_env: Option<String>,
    /// File holding the key (trailing line breaks removed; relative to the config file's
    /// directory); read and hashed at every load.
    #[serde(default)]
    pub value_file: Option<String>,
    /// A disabled key is refused like an unknown one (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}
