//! Client API keys (API Gateway's `x-api-key` for callers, README "Client API keys"): the
//! top-level `api_keys` section compiled into an [`ApiKeyTable`] once per load (start, `-t`,
//! SIGHUP reload), and the per-request check of routes with `api_key_required: true`.
//!
//! Only SHA-256 hashes are kept: `value_sha256` as written, `value_env` / `value_file` read
//! and hashed at load, the plaintext dropped at once. A presented key is hashed and looked up
//! by its hash; the caller's key id (the key's `name`) is what events, the access log and
//! metrics carry, never the key.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::config::ApiKeyConf;

/// A field below `api_keys` (relative path, e.g. `[1].value_env`) and why it is refused.
pub type FieldError = (String, String);

/// The configured keys by the SHA-256 of their value.
#[derive(Default)]
pub struct ApiKeyTable {
    by_hash: HashMap<[u8; 32], Key>,
}

#[derive(Clone)]
struct Key {
    name: Arc<str>,
    enabled: bool,
}

/// What the check of a request's `x-api-key` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A configured, enabled key: its name.
    Allowed(Arc<str>),
    /// No `x-api-key` header.
    Missing,
    /// A key that is not configured, or is disabled.
    Invalid,
}

impl Lookup {
    /// The `result` label of `lambda_proxy_api_key_requests_total`.
    pub fn result(&self) -> &'static str {
        match self {
            Lookup::Allowed(_) => "allowed",
            Lookup::Missing => "missing",
            Lookup::Invalid => "invalid",
        }
    }
}

/// Names only: neither keys nor their hashes are shown.
impl fmt::Debug for ApiKeyTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.by_hash.values().map(|k| &*k.name).collect();
        names.sort_unstable();
        f.debug_struct("ApiKeyTable")
            .field("names", &names)
            .finish()
    }
}

fn hash(value: &[u8]) -> [u8; 32] {
    Sha256::digest(value).into()
}

impl ApiKeyTable {
    /// Checks and hashes `confs`; `resolve` reads a `$env://` / `$file://` reference (the
    /// config's secret references, so errors read alike and relative files follow the file).
    pub fn build(
        confs: &[ApiKeyConf],
        resolve: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<ApiKeyTable, FieldError> {
        let mut by_hash = HashMap::with_capacity(confs.len());
        let mut names = HashMap::with_capacity(confs.len());
        for (i, c) in confs.iter().enumerate() {
            let at = |f: &str| format!("[{i}].{f}");
            crate::config::check_label_name(&c.name).map_err(|r| (at("name"), r))?;
            if let Some(j) = names.insert(c.name.as_str(), i) {
                return Err((
                    at("name"),
                    format!("duplicate key name `{}` (also api_keys[{j}])", c.name),
                ));
            }
            let digest = match (&c.value_sha256, &c.value_env, &c.value_file) {
                (Some(h), None, None) => parse_hex(h).map_err(|r| (at("value_sha256"), r))?,
                (None, Some(var), None) => {
                    let v = resolve(&format!("$env://{var}")).map_err(|r| (at("value_env"), r))?;
                    hash(v.as_bytes())
                }
                (None, None, Some(path)) => {
                    let v =
                        resolve(&format!("$file://{path}")).map_err(|r| (at("value_file"), r))?;
                    hash(v.as_bytes())
                }
                _ => {
                    return Err((
                        format!("[{i}]"),
                        "set exactly one of value_sha256, value_env, value_file".into(),
                    ))
                }
            };
            let key = Key {
                name: c.name.as_str().into(),
                enabled: c.enabled,
            };
            if let Some(other) = by_hash.insert(digest, key) {
                return Err((
                    format!("[{i}]"),
                    format!(
                        "the same key value as `{}`: each key must be distinct, or the caller's \
                         key id would be ambiguous",
                        other.name
                    ),
                ));
            }
        }
        Ok(ApiKeyTable { by_hash })
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// The key `presented` (the `x-api-key` value, `None` when absent) is.
    ///
    /// No constant-time comparison is needed: the lookup is by the SHA-256 of the presented
    /// value, so how long it takes depends on that hash, not on how many bytes of a
    /// configured key the caller guessed right; learning the hash's prefix does not help
    /// find a key (preimage resistance).
    pub fn lookup(&self, presented: Option<&[u8]>) -> Lookup {
        let Some(value) = presented else {
            return Lookup::Missing;
        };
        match self.by_hash.get(&hash(value)) {
            Some(k) if k.enabled => Lookup::Allowed(k.name.clone()),
            _ => Lookup::Invalid,
        }
    }
}

/// 64 hex digits (either case) into the digest.
fn parse_hex(h: &str) -> Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    if h.len() != 64 || hex::decode_to_slice(h, &mut out).is_err() {
        return Err("must be the 64 hex digits of a SHA-256 (`printf %s KEY | sha256sum`)".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(name: &str) -> ApiKeyConf {
        ApiKeyConf {
            name: name.into(),
            value_sha256: None,
            value_env: None,
            value_file: None,
            enabled: true,
        }
    }

    fn hashed(name: &str, key: &str) -> ApiKeyConf {
        ApiKeyConf {
            value_sha256: Some(hex::encode(hash(key.as_bytes())).to_uppercase()),
            ..conf(name)
        }
    }

    fn from_env(name: &str, var: &str) -> ApiKeyConf {
        ApiKeyConf {
            value_env: Some(var.into()),
            ..conf(name)
        }
    }

    fn resolver(raw: &str) -> Result<String, String> {
        match raw {
            "$env://A_KEY" => Ok("secret-a".into()),
            "$file://keys/b" => Ok("secret-b".into()),
            other => Err(format!("nothing at `{other}`")),
        }
    }

    #[test]
    fn lookup_by_hash() {
        let mut disabled = hashed("off", "secret-off");
        disabled.enabled = false;
        let b = ApiKeyConf {
            value_file: Some("keys/b".into()),
            ..conf("b")
        };
        let confs = [from_env("a", "A_KEY"), b, hashed("c", "secret-c"), disabled];
        let t = ApiKeyTable::build(&confs, &resolver).unwrap();
        assert_eq!(t.lookup(Some(b"secret-a")), Lookup::Allowed("a".into()));
        assert_eq!(t.lookup(Some(b"secret-b")), Lookup::Allowed("b".into()));
        assert_eq!(t.lookup(Some(b"secret-c")), Lookup::Allowed("c".into()));
        assert_eq!(t.lookup(Some(b"secret-off")), Lookup::Invalid);
        assert_eq!(t.lookup(Some(b"secret-")), Lookup::Invalid);
        assert_eq!(t.lookup(Some(b"")), Lookup::Invalid);
        assert_eq!(t.lookup(None), Lookup::Missing);
        // Debug shows the names, never a key or its hash.
        let shown = format!("{t:?}");
        assert!(
            shown.contains("\"a\"") && shown.contains("\"off\""),
            "{shown}"
        );
        let c_hash = hex::encode(hash(b"secret-c"));
        assert!(!shown.contains("secret") && !shown.contains(&c_hash[..16]));
    }

    #[test]
    fn duplicates_and_bad_values_are_refused() {
        let err = |confs: &[ApiKeyConf]| ApiKeyTable::build(confs, &resolver).unwrap_err();
        let e = err(&[hashed("a", "x"), hashed("a", "y")]);
        assert_eq!(e.0, "[1].name");
        assert!(e.1.contains("duplicate key name `a`"));
        // The same value twice, once hashed and once from the environment.
        let e = err(&[hashed("a", "secret-a"), from_env("b", "A_KEY")]);
        assert_eq!(e.0, "[1]");
        assert!(e.1.contains("the same key value as `a`"), "{}", e.1);
        let mut bad = conf("h");
        bad.value_sha256 = Some("abc".into());
        assert_eq!(err(&[bad.clone()]).0, "[0].value_sha256");
        bad.value_sha256 = Some("g".repeat(64));
        assert_eq!(err(&[bad]).0, "[0].value_sha256");
        let e = err(&[from_env("m", "MISSING")]);
        assert_eq!(e.0, "[0].value_env");
        assert!(e.1.contains("$env://MISSING"));
        let none = err(&[conf("n")]);
        assert!(none.1.contains("exactly one"), "{}", none.1);
        assert_eq!(err(&[hashed("bad name", "z")]).0, "[0].name");
    }
}
