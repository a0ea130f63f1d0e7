//! Secret values in the configuration file: written literally, or as a reference that is
//! resolved every time the file is loaded (start, `-t`, SIGHUP reload, upgrade).
//!
//! | reference | value |
//! |---|---|
//! | `$env://NAME` | environment variable `NAME` (APISIX's syntax) |
//! | `$env://NAME/KEY` | field `KEY` of the JSON object held in `NAME` (as APISIX) |
//! | `$file:///abs/path`, `$file://rel/path` | the file's contents, trailing line breaks removed; a relative path is relative to the config file's directory |
//! | `$credential://NAME` | systemd credential: `$CREDENTIALS_DIRECTORY/NAME` (`LoadCredential=`, `SetCredentialEncrypted=`), read like a file |
//! | `{vault://env/name}` | Kong's env vault: `name` with `-` → `_`, upper-cased (`{vault://env/orders-key}` reads `ORDERS_KEY`); `/KEY` and `?prefix=P` as in Kong |
//!
//! Resolution happens while the file is deserialised, so a missing variable or file is a
//! configuration error with the field path (`routes[1].authorization.apikey: environment
//! variable ORDERS_APIKEY is not set (reference `$env://ORDERS_APIKEY`)`). Errors name the
//! reference, never a value. A value that looks like shell or Compose interpolation
//! (`${NAME}`, `$NAME`) is refused with the right syntax: nothing expands it, and as a literal
//! it would be sent to AWS as the key.

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

/// A secret string from the config file (literal or resolved reference). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
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

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = string_or_unquoted_vault(d)?
            .ok_or_else(|| serde::de::Error::custom("expected a string, got nothing"))?;
        resolve(&raw).map(Secret).map_err(serde::de::Error::custom)
    }
}

/// `deserialize_with` for plain-string fields that may also be references (access key ids:
/// not secret, but kept next to the secret key by operators).
pub fn opt_reference<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match string_or_unquoted_vault(d)? {
        None => Ok(None),
        Some(raw) => resolve(&raw).map(Some).map_err(serde::de::Error::custom),
    }
}

/// A string (`None` for YAML null); an unquoted `{vault://...}` (which YAML reads as a flow
/// mapping) gets an error saying to quote it.
fn string_or_unquoted_vault<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::de::Error;
    match serde_yaml::Value::deserialize(d)? {
        serde_yaml::Value::String(s) => Ok(Some(s)),
        serde_yaml::Value::Null => Ok(None),
        serde_yaml::Value::Mapping(m)
            if m.keys()
                .any(|k| k.as_str().is_some_and(|k| k.starts_with("vault:"))) =>
        {
            Err(D::Error::custom(
                "a Kong vault reference must be quoted: YAML reads an unquoted `{vault://...}` as a mapping (write \"{vault://env/name}\")",
            ))
        }
        other => Err(D::Error::custom(format!(
            "expected a string, got {}",
            match other {
                serde_yaml::Value::Bool(_) => "a boolean",
                serde_yaml::Value::Number(_) => "a number (quote it)",
                serde_yaml::Value::Sequence(_) => "a list",
                _ => "a mapping",
            }
        ))),
    }
}

thread_local! {
    /// Directory of the config file being deserialised on this thread (for `$file://rel`).
    static BASE_DIR: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// Runs `f` (a deserialisation) with relative `$file://` paths resolved against `file`'s directory.
pub(super) fn with_config_file<T>(file: &Path, f: impl FnOnce() -> T) -> T {
    let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let previous = BASE_DIR.with(|b| b.replace(Some(dir)));
    let out = f();
    BASE_DIR.with(|b| *b.borrow_mut() = previous);
    out
}

fn base_dir() -> PathBuf {
    BASE_DIR.with(|b| b.borrow().clone().unwrap_or_else(|| PathBuf::from(".")))
}

/// Largest file read as a secret (keys and tokens are small; this stops a wrong path to a
/// large file from being read whole).
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// The value of `raw`: itself when literal, else what the reference points at.
pub fn resolve(raw: &str) -> Result<String, String> {
    resolve_with(raw, &|name| std::env::var_os(name), &base_dir())
}

/// A parsed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reference {
    Env { var: String, key: Option<String> },
    File(PathBuf),
    Credential(String),
}

type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<std::ffi::OsString>;

fn resolve_with(raw: &str, env: EnvLookup, base: &Path) -> Result<String, String> {
    let Some(reference) = parse(raw)? else {
        return Ok(raw.to_string());
    };
    let value = match &reference {
        Reference::Env { var, key } => {
            let v = env(var).ok_or_else(|| {
                format!("environment variable {var} is not set (reference `{raw}`)")
            })?;
            let v = v.into_string().map_err(|_| {
                format!("environment variable {var} is not UTF-8 (reference `{raw}`)")
            })?;
            match key {
                None => v,
                Some(k) => json_field(&v, k).map_err(|why| {
                    format!("environment variable {var} {why} (reference `{raw}`)")
                })?,
            }
        }
        Reference::File(p) => {
            let path = if p.is_absolute() {
                p.clone()
            } else {
                base.join(p)
            };
            read_secret_file(&path).map_err(|why| format!("{why} (reference `{raw}`)"))?
        }
        Reference::Credential(name) => {
            let dir = env("CREDENTIALS_DIRECTORY").ok_or_else(|| {
                format!(
                    "CREDENTIALS_DIRECTORY is not set: systemd sets it for a unit with \
                     LoadCredential={name}:... (reference `{raw}`)"
                )
            })?;
            read_secret_file(&Path::new(&dir).join(name))
                .map_err(|why| format!("{why} (reference `{raw}`)"))?
        }
    };
    if value.is_empty() {
        return Err(format!("reference `{raw}` resolves to an empty value"));
    }
    Ok(value)
}

fn read_secret_file(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    if meta.len() > MAX_SECRET_FILE {
        return Err(format!(
            "{shown} has {} bytes; a secret file may have at most {MAX_SECRET_FILE}",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut text = String::from_utf8(bytes).map_err(|_| format!("{shown} is not UTF-8 text"))?;
    // `echo KEY > file` and editors end the file with a line break that is not part of the key.
    while text.ends_with('\n') || text.ends_with('\r') {
        text.pop();
    }
    Ok(text)
}

/// `key` of the JSON object in `json`, which must be a string.
fn json_field(json: &str, key: &str) -> Result<String, String> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
        .map_err(|_| format!("does not hold a JSON object (needed for `/{key}`)"))?;
    match map.get(key) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("has `{key}`, but it is not a string")),
        None => Err(format!("has no key `{key}`")),
    }
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

const SYNTAX: &str = "`$env://NAME`, `$file://PATH`, `$credential://NAME` or `{vault://env/name}`";

/// `None` for a literal value.
fn parse(raw: &str) -> Result<Option<Reference>, String> {
    if let Some(rest) = raw.strip_prefix("$env://") {
        let (var, key) = match rest.split_once('/') {
            Some((v, k)) => (v, Some(k)),
            None => (rest, None),
        };
        if !is_env_name(var) || key.is_some_and(str::is_empty) {
            return Err(format!(
                "`{raw}`: expected `$env://NAME` or `$env://NAME/KEY` (NAME: letters, digits, `_`)"
            ));
        }
        return Ok(Some(Reference::Env {
            var: var.to_string(),
            key: key.map(str::to_string),
        }));
    }
    if let Some(rest) = raw.strip_prefix("$file://") {
        if rest.is_empty() {
            return Err(format!(
                "`{raw}`: expected `$file:///absolute/path` or `$file://path/relative/to/the/config`"
            ));
        }
        return Ok(Some(Reference::File(PathBuf::from(rest))));
    }
    if let Some(name) = raw.strip_prefix("$credential://") {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(format!(
                "`{raw}`: expected `$credential://NAME`, NAME as in the unit's LoadCredential=NAME:..."
            ));
        }
        return Ok(Some(Reference::Credential(name.to_string())));
    }
    if let Some(inner) = raw
        .strip_prefix("{vault://")
        .and_then(|r| r.strip_suffix('}'))
    {
        return parse_kong_vault(raw, inner).map(Some);
    }
    // Other `$scheme://` forms (APISIX's `$secret://vault/...`) and shell-style interpolation.
    if let Some((scheme, _)) = raw.strip_prefix('$').and_then(|r| r.split_once("://")) {
        if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!(
                "`${scheme}://` references are not supported; use {SYNTAX}"
            ));
        }
    }
    let interpolated = raw
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .map(|n| n.split_once(":-").map_or(n, |(n, _)| n))
        .or_else(|| {
            raw.strip_prefix('$').filter(|n| {
                n.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
        });
    if let Some(name) = interpolated.filter(|n| is_env_name(n)) {
        return Err(format!(
            "`{raw}` is not expanded here (it would be used literally); to read the environment \
             variable write `$env://{name}`"
        ));
    }
    Ok(None)
}

/// Kong's `{vault://env/name[/key][?prefix=P]}` (Kong's env vault: `-` → `_`, prefix prepended,
/// upper-cased).
fn parse_kong_vault(raw: &str, inner: &str) -> Result<Reference, String> {
    let (path, query) = match inner.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (inner, None),
    };
    let Some(rest) = path.strip_prefix("env/") else {
        return Err(format!(
            "`{raw}`: only Kong's `env` vault is supported here; use {SYNTAX}"
        ));
    };
    let (name, key) = match rest.split_once('/') {
        Some((n, k)) => (n, Some(k)),
        None => (rest, None),
    };
    let mut prefix = "";
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        match pair.split_once('=') {
            Some(("prefix", p)) => prefix = p,
            _ => {
                return Err(format!(
                    "`{raw}`: the only vault option supported is `prefix`"
                ))
            }
        }
    }
    let var = format!("{prefix}{}", name.replace('-', "_")).to_ascii_uppercase();
    if !is_env_name(&var) || key.is_some_and(str::is_empty) {
        return Err(format!(
            "`{raw}`: expected `{{vault://env/name}}` or `{{vault://env/name/key}}`"
        ));
    }
    Ok(Reference::Env {
        var,
        key: key.map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::ffi::OsString;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn literals_stay_literal() {
        let env = env_of(&[]);
        for lit in [
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "replace-me",
            "$",
            "a$env://X",
            "$lower",
            "{vault://env}x",
        ] {
            assert_eq!(resolve_with(lit, &env, Path::new(".")).unwrap(), lit);
        }
    }

    #[test]
    fn env_references() {
        let env = env_of(&[
            ("ORDERS_KEY", "k-123"),
            ("JSON", r#"{"apikey":"from-json","n":1}"#),
            ("EMPTY", ""),
            ("MY_SECRET", "kong"),
            ("APP_MY_SECRET", "prefixed"),
        ]);
        let r = |s: &str| resolve_with(s, &env, Path::new("."));
        assert_eq!(r("$env://ORDERS_KEY").unwrap(), "k-123");
        assert_eq!(r("$env://JSON/apikey").unwrap(), "from-json");
        assert_eq!(r("{vault://env/my-secret}").unwrap(), "kong");
        assert_eq!(r("{vault://env/MY_SECRET}").unwrap(), "kong");
        assert_eq!(r("{vault://env/json/apikey}").unwrap(), "from-json");
        assert_eq!(
            r("{vault://env/my-secret?prefix=app_}").unwrap(),
            "prefixed"
        );
        let e = r("$env://MISSING").unwrap_err();
        assert_eq!(
            e,
            "environment variable MISSING is not set (reference `$env://MISSING`)"
        );
        assert!(r("$env://EMPTY").unwrap_err().contains("empty value"));
        assert!(r("$env://JSON/nope")
            .unwrap_err()
            .contains("has no key `nope`"));
        assert!(r("$env://JSON/n").unwrap_err().contains("not a string"));
        assert!(r("$env://ORDERS_KEY/x")
            .unwrap_err()
            .contains("does not hold a JSON object"));
        // The error never carries the value.
        assert!(!r("$env://ORDERS_KEY/x").unwrap_err().contains("k-123"));
        assert!(r("$env://NOT-A-NAME").is_err());
        assert!(r("{vault://aws/my-secret}")
            .unwrap_err()
            .contains("only Kong's `env` vault"));
        assert!(r("$secret://vault/1/x")
            .unwrap_err()
            .contains("`$secret://` references are not supported"));
    }

    #[test]
    fn interpolation_lookalikes_are_refused_with_the_syntax() {
        let env = env_of(&[("AWS_SECRET", "x")]);
        for (raw, want) in [
            ("${AWS_SECRET}", "$env://AWS_SECRET"),
            ("${AWS_SECRET:-default}", "$env://AWS_SECRET"),
            ("$AWS_SECRET", "$env://AWS_SECRET"),
        ] {
            let e = resolve_with(raw, &env, Path::new(".")).unwrap_err();
            assert!(
                e.contains("is not expanded here") && e.contains(want),
                "{e}"
            );
        }
    }

    #[test]
    fn file_and_credential_references() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key"), "file-secret\n").unwrap();
        std::fs::write(dir.path().join("crlf"), "crlf-secret\r\n").unwrap();
        std::fs::create_dir(dir.path().join("creds")).unwrap();
        std::fs::write(dir.path().join("creds/apikey"), "cred-secret").unwrap();
        let creds = dir.path().join("creds");
        let env = env_of(&[("CREDENTIALS_DIRECTORY", creds.to_str().unwrap())]);
        let r = |s: &str| resolve_with(s, &env, dir.path());
        let abs = format!("$file://{}", dir.path().join("key").display());
        assert_eq!(r(&abs).unwrap(), "file-secret");
        assert_eq!(r("$file://key").unwrap(), "file-secret");
        assert_eq!(r("$file://crlf").unwrap(), "crlf-secret");
        assert_eq!(r("$credential://apikey").unwrap(), "cred-secret");
        assert!(r("$file://missing").unwrap_err().contains("cannot read"));
        assert!(r("$file://creds")
            .unwrap_err()
            .contains("not a regular file"));
        assert!(r("$credential://../key").is_err());
        let none = env_of(&[]);
        let e = resolve_with("$credential://apikey", &none, dir.path()).unwrap_err();
        assert!(e.contains("CREDENTIALS_DIRECTORY is not set"), "{e}");
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(format!("{:?}", Secret::new("s3cr3t")), "<redacted>");
    }
}
