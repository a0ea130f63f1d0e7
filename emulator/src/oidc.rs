//! The identity provider side of JWT authorizers: where the JWKS and the OpenID Connect
//! discovery document live, the issuer they name, the discovery document itself, and the JWKS
//! file read afresh for every request (tests rotate keys by replacing the file).
//!
//! Both documents are served at the root (`/.well-known/...`) and, when `--jwt-issuer` has a
//! path, also below that path (OIDC Discovery 1.0 §4: issuer without its trailing `/` +
//! `/.well-known/openid-configuration`).

use std::path::PathBuf;

use serde::Serialize;

/// Path of the JWKS below the issuer.
pub const JWKS_SUFFIX: &str = "/.well-known/jwks.json";
/// Path of the discovery document below the issuer.
pub const DISCOVERY_SUFFIX: &str = "/.well-known/openid-configuration";
/// The signing algorithms the discovery document lists.
pub const ALGORITHMS: [&str; 5] = ["RS256", "PS256", "ES256", "ES384", "EdDSA"];

/// Which document a path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    Jwks,
    Discovery,
}

/// Why the JWKS could not be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksError {
    /// No `--jwks-file` (404).
    NotConfigured,
    /// The file is missing or unreadable (503).
    Unavailable(String),
}

/// The provider's configuration.
#[derive(Debug, Clone, Default)]
pub struct Oidc {
    pub jwks_file: Option<PathBuf>,
    /// `--jwt-issuer`, exactly as given.
    pub issuer: Option<String>,
}

#[derive(Serialize)]
struct Discovery<'a> {
    issuer: &'a str,
    jwks_uri: String,
    id_token_signing_alg_values_supported: [&'static str; 5],
    response_types_supported: [&'static str; 1],
    subject_types_supported: [&'static str; 1],
}

impl Oidc {
    /// The document `raw_path` names, if any.
    pub fn document(&self, raw_path: &[u8]) -> Option<Document> {
        let prefixes = [Some(""), self.issuer_path()];
        prefixes.into_iter().flatten().find_map(|prefix| {
            let rest = raw_path.strip_prefix(prefix.as_bytes())?;
            if rest == JWKS_SUFFIX.as_bytes() {
                Some(Document::Jwks)
            } else if rest == DISCOVERY_SUFFIX.as_bytes() {
                Some(Document::Discovery)
            } else {
                None
            }
        })
    }

    /// The path of `--jwt-issuer` without its trailing `/`, when it has one.
    fn issuer_path(&self) -> Option<&str> {
        let issuer = self.issuer.as_deref()?;
        let rest = issuer.split_once("://")?.1;
        let path = &rest[rest.find('/')?..];
        Some(path.strip_suffix('/').unwrap_or(path)).filter(|p| !p.is_empty())
    }

    /// `--jwt-issuer`, else `http://HOST` (plain listener) or `https://HOST` (TLS).
    pub fn issuer(&self, host: Option<&str>, tls: bool) -> Option<String> {
        if let Some(issuer) = &self.issuer {
            return Some(issuer.clone());
        }
        let host = host.filter(|h| !h.is_empty())?;
        let scheme = if tls { "https" } else { "http" };
        Some(format!("{scheme}://{host}"))
    }

    /// Reads the JWKS file as it is now (a small local file: read in place).
    pub fn jwks(&self) -> Result<Vec<u8>, JwksError> {
        let path = self.jwks_file.as_ref().ok_or(JwksError::NotConfigured)?;
        std::fs::read(path).map_err(|e| JwksError::Unavailable(format!("{}: {e}", path.display())))
    }
}

/// The discovery document of `issuer`; `jwks_uri` is the issuer without one trailing `/` +
/// `/.well-known/jwks.json`.
pub fn discovery_document(issuer: &str) -> Vec<u8> {
    let base = issuer.strip_suffix('/').unwrap_or(issuer);
    let doc = Discovery {
        issuer,
        jwks_uri: format!("{base}{JWKS_SUFFIX}"),
        id_token_signing_alg_values_supported: ALGORITHMS,
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
    };
    serde_json::to_vec(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn oidc(issuer: Option<&str>) -> Oidc {
        Oidc {
            jwks_file: None,
            issuer: issuer.map(str::to_string),
        }
    }

    #[test]
    fn paths() {
        let root = oidc(None);
        assert_eq!(
            root.document(b"/.well-known/jwks.json"),
            Some(Document::Jwks)
        );
        assert_eq!(
            root.document(b"/.well-known/openid-configuration"),
            Some(Document::Discovery)
        );
        assert_eq!(root.document(b"/.well-known/jwks.json/"), None);
        assert_eq!(root.document(b"/open/.well-known/jwks.json"), None);
        assert_eq!(root.document(b"/.well-known/other"), None);

        let tenant = oidc(Some("https://idp.example/tenant/"));
        assert_eq!(
            tenant.document(b"/tenant/.well-known/openid-configuration"),
            Some(Document::Discovery)
        );
        assert_eq!(
            tenant.document(b"/tenant/.well-known/jwks.json"),
            Some(Document::Jwks)
        );
        assert_eq!(
            tenant.document(b"/.well-known/jwks.json"),
            Some(Document::Jwks)
        );
        assert_eq!(oidc(Some("http://h:1")).issuer_path(), None);
        assert_eq!(oidc(Some("http://h:1/")).issuer_path(), None);
    }

    #[test]
    fn issuer_from_flag_or_host() {
        assert_eq!(
            oidc(Some("https://idp.example/")).issuer(Some("h:1"), false),
            Some("https://idp.example/".into())
        );
        assert_eq!(
            oidc(None).issuer(Some("h:1"), false),
            Some("http://h:1".into())
        );
        assert_eq!(
            oidc(None).issuer(Some("h:1"), true),
            Some("https://h:1".into())
        );
        assert_eq!(oidc(None).issuer(None, true), None);
        assert_eq!(oidc(None).issuer(Some(""), true), None);
    }

    #[test]
    fn discovery() {
        let v: Value = serde_json::from_slice(&discovery_document("http://h:1")).unwrap();
        assert_eq!(
            v,
            json!({
                "issuer": "http://h:1",
                "jwks_uri": "http://h:1/.well-known/jwks.json",
                "id_token_signing_alg_values_supported": ["RS256","PS256","ES256","ES384","EdDSA"],
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
            })
        );
        let v: Value = serde_json::from_slice(&discovery_document("https://i/t/")).unwrap();
        assert_eq!(v["issuer"], "https://i/t/");
        assert_eq!(v["jwks_uri"], "https://i/t/.well-known/jwks.json");
    }

    #[test]
    fn jwks_file_is_read_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        let o = Oidc {
            jwks_file: Some(path.clone()),
            issuer: None,
        };
        assert!(matches!(o.jwks(), Err(JwksError::Unavailable(_))));
        std::fs::write(&path, br#"{"keys":[]}"#).unwrap();
        assert_eq!(o.jwks().unwrap(), br#"{"keys":[]}"#);
        let tmp = dir.path().join("next");
        std::fs::write(&tmp, br#"{"keys":[{"kid":"2"}]}"#).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        assert_eq!(o.jwks().unwrap(), br#"{"keys":[{"kid":"2"}]}"#);
        assert_eq!(oidc(None).jwks(), Err(JwksError::NotConfigured));
    }
}
