//! Upstream targets: where a route sends its requests and how the request path is formed.
//!
//! [`FunctionUriTarget`] proxies to an API Gateway stage or Function URL ([`UpstreamUrl`] is
//! its parsed `function_uri`; [`forward_path`] joins a wildcard route's remainder to it without
//! ever climbing above its path). [`InvokeTarget`] calls the Lambda Invoke API.

mod connect_proxy;
mod credential_spec;
mod function_name;
mod function_uri;
mod path;

pub use function_name::{
    parse_function_name, validate_function_name_route, EventMode, FunctionRef, InvokeTarget,
};
pub use function_uri::{ApiKey, FunctionUriTarget};
pub use path::{forward_path, PathError};

pub use credential_spec::{validate_named, CredentialFields};

/// What building a target needs besides its route's config.
pub struct BuildContext<'a> {
    pub file: &'a std::path::Path,
    pub resolver: &'a crate::dns::Resolver,
    pub credentials: &'a crate::credentials::CredentialsRegistry,
    pub named_credentials: &'a std::collections::BTreeMap<String, crate::config::CredentialsConf>,
    /// `dns.hosts`: names pinned to fixed addresses.
    pub pinned_hosts: &'a std::collections::BTreeMap<String, Vec<std::net::IpAddr>>,
}

impl BuildContext<'_> {
    /// The shared entry of an upstream `host:port`: pinned by `dns.hosts`, else resolved.
    pub fn upstream(&self, host: &str, port: u16) -> std::sync::Arc<crate::dns::UpstreamHost> {
        let pinned = self.pinned_hosts.get(host).map(Vec::as_slice);
        self.resolver.get_pinned(host, port, pinned)
    }
}

/// SigV4 for a route: the scope and settings, and the source of the current credentials.
pub struct Signing {
    pub signer: crate::sigv4::RequestSigner,
    pub credentials: std::sync::Arc<crate::credentials::CredentialsCell>,
}

impl std::fmt::Debug for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signing")
            .field("signer", &self.signer)
            .field("credentials", &self.credentials.name())
            .finish()
    }
}

/// A route's target: one of the two kinds.
#[derive(Debug)]
pub enum Target {
    FunctionUri(Box<FunctionUriTarget>),
    FunctionName(Box<InvokeTarget>),
}

impl Target {
    /// Builds the target of `routes[index]`.
    pub fn build(
        cx: &BuildContext,
        index: usize,
        r: &crate::config::RouteConf,
    ) -> Result<Target, crate::config::ConfigError> {
        if r.function_name.is_some() {
            Ok(Target::FunctionName(Box::new(InvokeTarget::build(
                cx, index, r,
            )?)))
        } else {
            Ok(Target::FunctionUri(Box::new(FunctionUriTarget::build(
                cx, index, r,
            )?)))
        }
    }

    /// The route's signing, if it signs.
    pub fn signing(&self) -> Option<&Signing> {
        match self {
            Target::FunctionUri(t) => t.signing.as_ref(),
            Target::FunctionName(t) => Some(&t.signing),
        }
    }

    pub fn keepalive_pool(&self) -> usize {
        match self {
            Target::FunctionUri(t) => t.keepalive_pool,
            Target::FunctionName(t) => t.keepalive_pool,
        }
    }
}

/// A parsed upstream base URL (`https://host[:port]/base/path`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamUrl {
    pub https: bool,
    /// Host name or IP literal, lower case, without brackets.
    pub host: String,
    pub port: u16,
    /// Base path without a trailing `/` (empty for the root), as written (already encoded).
    pub base_path: String,
    /// The `Host` header value: host, plus `:port` when not the scheme's default.
    pub host_header: String,
}

impl UpstreamUrl {
    pub fn parse(s: &str) -> Result<UpstreamUrl, String> {
        if s.contains('#') {
            return Err("must not contain a fragment (`#`)".into());
        }
        let uri: http::Uri = s.parse().map_err(|e| format!("`{s}` is not a URL: {e}"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            Some(other) => return Err(format!("scheme must be http or https (got `{other}`)")),
            None => return Err(format!("`{s}` must be an absolute http(s) URL")),
        };
        let auth = uri
            .authority()
            .ok_or_else(|| format!("`{s}` has no host"))?;
        if auth.as_str().contains('@') {
            return Err("must not contain user info (`user@`)".into());
        }
        if uri.query().is_some() {
            return Err("must not contain a query string".into());
        }
        let host = auth.host().trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("`{s}` has no host"));
        }
        let default_port = if https { 443 } else { 80 };
        let port = auth.port_u16().unwrap_or(default_port);
        let host = host.to_ascii_lowercase();
        let host_header = if port == default_port {
            auth.host().to_ascii_lowercase()
        } else {
            format!("{}:{port}", auth.host().to_ascii_lowercase())
        };
        let base_path = uri.path().trim_end_matches('/').to_string();
        if base_path.split('/').any(|seg| seg == ".." || seg == ".") {
            return Err("path must not contain `.` or `..` segments".into());
        }
        Ok(UpstreamUrl {
            https,
            host,
            port,
            base_path,
            host_header,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_function_urls() {
        let u = UpstreamUrl::parse("https://abc.lambda-url.us-east-1.on.aws").unwrap();
        assert_eq!((u.https, u.port, u.base_path.as_str()), (true, 443, ""));
        assert_eq!(u.host_header, "abc.lambda-url.us-east-1.on.aws");
        let u = UpstreamUrl::parse("http://127.0.0.1:9000/prod/api/").unwrap();
        assert_eq!(
            (u.https, u.port, u.base_path.as_str()),
            (false, 9000, "/prod/api")
        );
        assert_eq!(u.host_header, "127.0.0.1:9000");
        let u = UpstreamUrl::parse("https://[::1]:8443/x").unwrap();
        assert_eq!(
            (u.host.as_str(), u.host_header.as_str()),
            ("::1", "[::1]:8443")
        );
    }

    #[test]
    fn rejects_bad_urls() {
        for bad in [
            "ftp://x/y",
            "/relative",
            "https://u:p@host/",
            "https://host/?q=1",
            "https://host/a#f",
            "https://host/a/../b",
            "not a url",
        ] {
            assert!(UpstreamUrl::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
