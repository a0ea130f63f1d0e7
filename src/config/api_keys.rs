//! The top-level `api_keys` section: the keys callers present in `x-api-key` (API Gateway's
//! API keys), distinct from a route's `authorization.apikey`, which the gateway sends
//! upstream. Only the shape lives here; checking and hashing is `crate::api_keys::ApiKeyTable`
//! (built by validation, so `-t` reports every error).

use std::fmt;

use serde::Deserialize;

use super::model::yes;

/// One client API key. Exactly one of `value_sha256`, `value_env`, `value_file` is set; none of
/// them is the key itself, and `Debug` leaves out the hash too.
#[derive(Clone, Deserialize)]
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

impl fmt::Debug for ApiKeyConf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyConf")
            .field("name", &self.name)
            .field(
                "value_sha256",
                &self.value_sha256.as_ref().map(|_| "<redacted>"),
            )
            .field("value_env", &self.value_env)
            .field("value_file", &self.value_file)
            .field("enabled", &self.enabled)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    /// `Debug` of a loaded configuration shows key names and where keys come from, never a
    /// key or its hash.
    #[test]
    fn debug_of_the_config_shows_no_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.key"), "plaintext-b-key\n").unwrap();
        let hash = crate::aws::sigv4::sha256_hex(b"plaintext-a-key");
        let yaml = format!(
            "listeners: [{{address: '127.0.0.1:1'}}]\n\
             api_keys:\n\
             - {{name: key-a, value_sha256: '{hash}'}}\n\
             - {{name: key-b, value_file: b.key}}\n\
             routes:\n\
             - {{name: r, uri: /x, function_uri: 'http://127.0.0.1:1/', api_key_required: true}}\n"
        );
        let c = Config::from_yaml_str(&dir.path().join("c.yaml"), &yaml).unwrap();
        let shown = format!("{c:?}");
        assert!(
            shown.contains("key-a") && shown.contains("b.key"),
            "{shown}"
        );
        assert!(
            !shown.contains(&hash) && !shown.contains("plaintext"),
            "{shown}"
        );
        let t = &c.gateway.api_key_table;
        assert_eq!(
            t.lookup(Some(b"plaintext-b-key")),
            crate::api_keys::Lookup::Allowed("key-b".into())
        );
    }
}
