//! Allowed origins: the configured entries (`https://app.example.com`,
//! `https://*.example.org`, `*`) parsed once, and the request's `Origin` compared with them
//! without allocating.
//!
//! An origin is scheme, host and port (RFC 6454). Scheme and host compare case-insensitively;
//! the port is compared as written, with the scheme's default port (80, 443) the same as none.
//! A wildcard entry `https://*.example.org` matches one or more labels before `example.org`
//! (`https://a.example.org`, `https://a.b.example.org`), never `example.org` itself, a label
//! glued to it (`evil-example.org`), nor another scheme or port.

/// One entry of `allow_origins`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginPattern {
    /// `*`: every origin (only without `allow_credentials`).
    Any,
    /// Scheme, host and port (`None`: the scheme's default), all lower case.
    Exact {
        scheme: String,
        host: String,
        port: Option<String>,
    },
    /// `scheme://*.suffix[:port]`: hosts below `suffix`.
    Subdomains {
        scheme: String,
        suffix: String,
        port: Option<String>,
    },
}

/// An origin split into its parts (borrowed from the header or the configured text).
struct Parts<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<&'a str>,
}

/// Splits `scheme://host[:port]`; `None` when it is not of that form (a path, a query, user
/// info, an empty host, a port that is not a number, `null`).
fn split(origin: &str) -> Option<Parts<'_>> {
    let (scheme, rest) = origin.split_once("://")?;
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !scheme_ok || rest.is_empty() {
        return None;
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (inner, after) = v6.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (&rest[..inner.len() + 2], port)
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    let host_ok = host.starts_with('[')
        || (!host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'*'));
    if !host_ok {
        return None;
    }
    let port = match port {
        Some(p) if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) => {
            return None
        }
        Some(p) if is_default_port(scheme, p) => None,
        p => p,
    };
    Some(Parts { scheme, host, port })
}

fn is_default_port(scheme: &str, port: &str) -> bool {
    (scheme.eq_ignore_ascii_case("https") && port == "443")
        || (scheme.eq_ignore_ascii_case("http") && port == "80")
}

impl OriginPattern {
    /// Parses one configured entry; the error says why it is not an origin.
    pub fn parse(entry: &str) -> Result<OriginPattern, String> {
        if entry == "*" {
            return Ok(OriginPattern::Any);
        }
        let Some(p) = split(entry) else {
            return Err(format!(
                "`{entry}` is not an origin: write scheme://host[:port] (no path, no trailing `/`), `scheme://*.domain` or `*`"
            ));
        };
        let scheme = p.scheme.to_ascii_lowercase();
        let port = p.port.map(str::to_string);
        let host = p.host.to_ascii_lowercase();
        match host.strip_prefix("*.") {
            Some(suffix) if !suffix.is_empty() && !suffix.contains('*') && !suffix.starts_with('.') => {
                Ok(OriginPattern::Subdomains {
                    scheme,
                    suffix: suffix.to_string(),
                    port,
                })
            }
            _ if host.contains('*') => Err(format!(
                "`{entry}`: a wildcard is only allowed as the whole first label (`https://*.example.org`)"
            )),
            _ => Ok(OriginPattern::Exact { scheme, host, port }),
        }
    }

    /// Whether the request's `Origin` (as sent) matches this entry.
    pub fn matches(&self, origin: &str) -> bool {
        let (scheme, suffix, port, exact) = match self {
            OriginPattern::Any => return true,
            OriginPattern::Exact { scheme, host, port } => (scheme, host, port, true),
            OriginPattern::Subdomains {
                scheme,
                suffix,
                port,
            } => (scheme, suffix, port, false),
        };
        let Some(p) = split(origin) else {
            return false;
        };
        if !p.scheme.eq_ignore_ascii_case(scheme)
            || p.port != port.as_deref()
            || p.host.contains('*')
        {
            return false;
        }
        if exact {
            return p.host.eq_ignore_ascii_case(suffix);
        }
        let h = p.host.as_bytes();
        let Some(cut) = h.len().checked_sub(suffix.len() + 1) else {
            return false;
        };
        let labels = &h[..cut];
        cut > 0
            && h[cut] == b'.'
            && h[cut + 1..].eq_ignore_ascii_case(suffix.as_bytes())
            && labels.first() != Some(&b'.')
            && labels.last() != Some(&b'.')
            && !labels.windows(2).any(|w| w == b"..")
    }
}

#[cfg(test)]
mod tests {
    use super::OriginPattern;

    fn m(pattern: &str, origin: &str) -> bool {
        OriginPattern::parse(pattern).unwrap().matches(origin)
    }

    #[test]
    fn exact_origins_compare_scheme_host_and_port() {
        let p = "https://app.example.com";
        assert!(m(p, "https://app.example.com"));
        assert!(m(p, "https://APP.Example.com"));
        assert!(m(p, "HTTPS://app.example.com"));
        assert!(m(p, "https://app.example.com:443"));
        assert!(m("https://app.example.com:443", "https://app.example.com"));
        for other in [
            "http://app.example.com",
            "https://app.example.com:8443",
            "https://app.example.com.evil.test",
            "https://xapp.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "null",
            "",
            "app.example.com",
        ] {
            assert!(!m(p, other), "{other}");
        }
        assert!(m("http://127.0.0.1:8080", "http://127.0.0.1:8080"));
        assert!(!m("http://127.0.0.1:8080", "http://127.0.0.1:8081"));
        assert!(!m("http://127.0.0.1:8080", "http://127.0.0.1"));
        assert!(m("http://[::1]:8080", "http://[::1]:8080"));
    }

    #[test]
    fn wildcards_need_a_whole_label_below_the_suffix() {
        let p = "https://*.example.org";
        assert!(m(p, "https://a.example.org"));
        assert!(m(p, "https://a.b.example.org"));
        assert!(m(p, "https://A.EXAMPLE.org"));
        for other in [
            "https://example.org",
            "https://evil-example.org",
            "https://.example.org",
            "https://a..example.org",
            "http://a.example.org",
            "https://a.example.org:8443",
            "https://a.example.org.evil.test",
            "https://*.example.org",
        ] {
            assert!(!m(p, other), "{other}");
        }
        assert!(m(
            "https://*.example.org:8443",
            "https://a.example.org:8443"
        ));
    }

    #[test]
    fn entries_that_are_not_origins_are_refused() {
        for bad in [
            "https://app.example.com/",
            "https://app.example.com/x",
            "app.example.com",
            "https://",
            "https://a.*.example.org",
            "https://*",
            "https://app.example.com:http",
            "*.example.org",
        ] {
            assert!(OriginPattern::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(OriginPattern::parse("*"), Ok(OriginPattern::Any));
    }
}
