//! A parsed upstream base URL (`function_uri`, `endpoint`): scheme, host, port, base path and
//! the `Host` header value, validated once when the route table is built.

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
