//! The configuration file: one YAML document holding Pingora's own server settings at the
//! top level and the gateway's sections (`listeners`, `routes`, `dns`).
//!
//! Loading splits the top-level keys between the two, parses each with field-path tracking and
//! validates the result, so every error names the file, the field path and the reason, e.g.
//! `conf/x.yaml: routes[2].function_uri: scheme must be http or https`.

mod api_keys;
mod authorizers;
mod cors;
mod lint;
mod model;
mod route;
mod secret;
mod throttling;
mod validate;

pub use api_keys::ApiKeyConf;
pub use authorizers::{AuthorizerConf, AuthorizerType, JwtConf, INVOKE_FIELDS};
pub use cors::CorsConf;
pub use lint::check_method;
pub use model::*;
pub use route::*;
pub use throttling::*;
pub use validate::resolve as validate_resolve;

use std::fmt;
use std::path::{Path, PathBuf};

use pingora::server::configuration::ServerConf;
use serde::de::DeserializeOwned;
use serde_yaml::{Mapping, Value};

/// The gateway's own top-level sections; every other top-level key must be a Pingora setting.
const GATEWAY_SECTIONS: &[&str] = &[
    "listeners",
    "routes",
    "dns",
    "credentials",
    "metrics",
    "health",
    "access_log",
    "client",
    "limits",
    "api_keys",
    "authorizers",
    "throttling_store",
    "usage_plans",
];

/// Upper bound for in-flight requests after SIGQUIT / SIGTERM when the file sets none.
pub const DEFAULT_GRACE_PERIOD_SECONDS: u64 = 60;
/// Runtime shutdown timeout after the grace period when the file sets none.
pub const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS: u64 = 5;

/// A name the configuration gives something that metrics and logs show (client API keys,
/// authorizers): 1 to 64 letters, digits, `-`, `_` or `.`.
pub fn check_label_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch));
    if ok {
        Ok(())
    } else {
        Err("must be 1 to 64 letters, digits, `-`, `_` or `.`".into())
    }
}

/// A configuration error: which file, which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// Field path such as `routes[2].authorization.iam.secretkey`; empty for whole-file errors.
    pub field: String,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.reason)
        } else {
            write!(
                f,
                "{}: {}: {}",
                self.file.display(),
                self.field,
                self.reason
            )
        }
    }
}

impl std::error::Error for ConfigError {}

/// A loaded, validated configuration.
#[derive(Debug)]
pub struct Config {
    pub file: PathBuf,
    pub server: ServerConf,
    pub gateway: GatewayConf,
    /// What the file accepts but probably does not mean (`file: field: reason`); logged at
    /// warn level by every load, so they show at start, in `-t` and on reload.
    pub warnings: Vec<String>,
}

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            field: String::new(),
            reason: format!("cannot read file: {e}"),
        })?;
        Self::from_yaml_str(path, &text)
    }

    /// Parses and validates YAML text; `file` is only used in error messages and to resolve
    /// relative paths inside the file.
    pub fn from_yaml_str(file: &Path, text: &str) -> Result<Config, ConfigError> {
        let err = |field: &str, reason: String| ConfigError {
            file: file.to_path_buf(),
            field: field.to_string(),
            reason,
        };
        let root: Value = serde_yaml::from_str(text).map_err(|e| err("", e.to_string()))?;
        let root = match root {
            Value::Mapping(m) => m,
            Value::Null => Mapping::new(),
            _ => return Err(err("", "the top level must be a mapping".into())),
        };

        let pingora_keys = pingora_setting_names();
        let mut pingora_part = Mapping::new();
        let mut gateway_part = Mapping::new();
        for (k, v) in root {
            let Some(key) = k.as_str() else {
                return Err(err(
                    "",
                    format!("top-level keys must be strings, got {k:?}"),
                ));
            };
            if GATEWAY_SECTIONS.contains(&key) {
                gateway_part.insert(k, v);
            } else if pingora_keys.iter().any(|p| p == key) {
                pingora_part.insert(k, v);
            } else {
                return Err(err(
                    key,
                    format!(
                        "unknown top-level key (gateway sections: {}; otherwise it must be a Pingora server setting)",
                        GATEWAY_SECTIONS.join(", ")
                    ),
                ));
            }
        }

        let mut server: ServerConf = parse_with_path(file, Value::Mapping(pingora_part))?;
        if server.version == 0 {
            server.version = 1;
        }
        // Pingora sleeps the whole grace period (default 300 s) after a graceful upgrade or
        // terminate; `drain` exits as soon as nothing is in flight, so this is only the upper
        // bound for in-flight requests. 60 s covers API Gateway (29 s) and typical Invokes;
        // raise it (with systemd's TimeoutStopSec) for invocations up to Lambda's 900 s.
        server
            .grace_period_seconds
            .get_or_insert(DEFAULT_GRACE_PERIOD_SECONDS);
        server
            .graceful_shutdown_timeout_seconds
            .get_or_insert(DEFAULT_SHUTDOWN_TIMEOUT_SECONDS);
        let server = server
            .validate()
            .map_err(|e| err("", format!("invalid Pingora settings: {e}")))?;
        // Secret references (`$env://`, `$file://`, ...) are resolved while deserialising.
        let mut gateway: GatewayConf =
            secret::with_config_file(file, || parse_with_path(file, Value::Mapping(gateway_part)))?;
        // Client API keys: references read and hashed here, once per load.
        gateway.api_key_table = std::sync::Arc::new(validate::api_keys(file, &gateway)?);
        let warnings: Vec<String> = validate::validate(file, &mut gateway)?
            .into_iter()
            .map(|(field, reason)| {
                ConfigError {
                    file: file.to_path_buf(),
                    field,
                    reason,
                }
                .to_string()
            })
            .collect();
        for w in &warnings {
            log::warn!("configuration warning: {w}");
        }
        Ok(Config {
            file: file.to_path_buf(),
            server,
            gateway,
            warnings,
        })
    }
}

/// The names of Pingora's `ServerConf` settings, read from the type itself so they follow the
/// pinned Pingora version.
fn pingora_setting_names() -> Vec<String> {
    match serde_yaml::to_value(ServerConf::default()) {
        Ok(Value::Mapping(m)) => m
            .keys()
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn parse_with_path<T: DeserializeOwned>(file: &Path, value: Value) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        ConfigError {
            file: file.to_path_buf(),
            field: if field == "." { String::new() } else { field },
            reason: e.into_inner().to_string(),
        }
    })
}
