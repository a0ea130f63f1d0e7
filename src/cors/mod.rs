//! CORS per route, API Gateway HTTP API's model (`cors_configuration`, README "CORS").
//!
//! [`CorsPolicy`] is a route's configuration checked and compiled once, when the config is
//! validated and when the route table is built: origin patterns parsed ([`origin`]), header
//! values pre-rendered. Per request the gateway only compares the `Origin` and copies values:
//!
//! * `preflight`: an `OPTIONS` with `Origin` and `Access-Control-Request-Method` on a CORS
//!   route is answered by the gateway (204), never forwarded;
//! * `response`: every other response of a CORS route (AWS's and the gateway's own errors)
//!   gets the configured headers when the origin is allowed; the upstream's own
//!   `Access-Control-*` headers are replaced, as API Gateway ignores an integration's.

pub mod origin;
pub mod preflight;
pub mod response;

use http::HeaderValue;

use crate::config::CorsConf;
use origin::OriginPattern;

/// API Gateway's upper bound for `maxAge`.
const MAX_AGE_LIMIT: i64 = 86_400;

/// A route's CORS configuration, compiled.
#[derive(Debug)]
pub struct CorsPolicy {
    origins: Vec<OriginPattern>,
    /// `*` is among the origins (never with credentials): `Access-Control-Allow-Origin: *`.
    any_origin: bool,
    /// Upper-case methods a preflight may ask for; `*` among them allows any.
    methods: Vec<String>,
    any_method: bool,
    credentials: bool,
    /// Pre-rendered values, `None` when not configured.
    allow_methods: Option<HeaderValue>,
    allow_headers: Option<HeaderValue>,
    expose_headers: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
}

/// A field of `cors_configuration` (relative path) and why it is refused.
pub type FieldError = (String, String);

fn render(items: &[String]) -> Result<Option<HeaderValue>, String> {
    if items.is_empty() {
        return Ok(None);
    }
    HeaderValue::from_str(&items.join(", "))
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Lower-cased header names of `list` (or `*`), each checked.
fn header_names(field: &str, list: &[String]) -> Result<Vec<String>, FieldError> {
    list.iter()
        .enumerate()
        .map(|(j, h)| {
            if h == "*" || http::HeaderName::from_bytes(h.as_bytes()).is_ok() {
                Ok(h.to_ascii_lowercase())
            } else {
                Err((
                    format!("{field}[{j}]"),
                    format!("`{h}` is not a header name"),
                ))
            }
        })
        .collect()
}

impl CorsPolicy {
    /// Checks and compiles `c`; an error names the field below `cors_configuration`.
    pub fn build(c: &CorsConf) -> Result<CorsPolicy, FieldError> {
        let wildcard_with_credentials = |field: &str, j: usize| {
            Err((
                format!("{field}[{j}]"),
                "`*` cannot be used with allow_credentials: true (browsers refuse it); list the values"
                    .to_string(),
            ))
        };
        if c.allow_origins.is_empty() {
            return Err((
                "allow_origins".into(),
                "must list at least one origin (or `*`)".into(),
            ));
        }
        let mut origins = Vec::with_capacity(c.allow_origins.len());
        for (j, o) in c.allow_origins.iter().enumerate() {
            let p = OriginPattern::parse(o).map_err(|r| (format!("allow_origins[{j}]"), r))?;
            if p == OriginPattern::Any && c.allow_credentials {
                return wildcard_with_credentials("allow_origins", j);
            }
            origins.push(p);
        }
        let mut methods = Vec::with_capacity(c.allow_methods.len());
        for (j, m) in c.allow_methods.iter().enumerate() {
            let up = m.to_ascii_uppercase();
            if up == "*" {
                if c.allow_credentials {
                    return wildcard_with_credentials("allow_methods", j);
                }
            } else if up.is_empty() || http::Method::from_bytes(up.as_bytes()).is_err() {
                return Err((
                    format!("allow_methods[{j}]"),
                    format!("`{m}` is not an HTTP method"),
                ));
            } else if let Err(reason) = crate::config::check_method(&up) {
                return Err((format!("allow_methods[{j}]"), reason));
            }
            methods.push(up);
        }
        let allow_headers = header_names("allow_headers", &c.allow_headers)?;
        let expose_headers = header_names("expose_headers", &c.expose_headers)?;
        if c.allow_credentials {
            for (field, list) in [
                ("allow_headers", &allow_headers),
                ("expose_headers", &expose_headers),
            ] {
                if let Some(j) = list.iter().position(|h| h == "*") {
                    return wildcard_with_credentials(field, j);
                }
            }
        }
        let max_age = match c.max_age {
            None => None,
            Some(s) if (0..=MAX_AGE_LIMIT).contains(&s) => Some(HeaderValue::from(s)),
            Some(s) => {
                return Err((
                    "max_age".into(),
                    format!("{s} is not 0 to {MAX_AGE_LIMIT} seconds"),
                ))
            }
        };
        Ok(CorsPolicy {
            any_origin: origins.contains(&OriginPattern::Any),
            origins,
            any_method: methods.iter().any(|m| m == "*"),
            allow_methods: render(&methods).map_err(|r| ("allow_methods".to_string(), r))?,
            methods,
            credentials: c.allow_credentials,
            allow_headers: render(&allow_headers).map_err(|r| ("allow_headers".to_string(), r))?,
            expose_headers: render(&expose_headers)
                .map_err(|r| ("expose_headers".to_string(), r))?,
            max_age,
        })
    }

    /// The `Access-Control-Allow-Origin` for a request's `Origin`: `*` when every origin is
    /// allowed (never with credentials), the origin itself when an entry matches, else `None`.
    pub fn allow_origin(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        if self.any_origin {
            return Some(HeaderValue::from_static("*"));
        }
        let o = origin.to_str().ok()?;
        self.origins
            .iter()
            .any(|p| p.matches(o))
            .then(|| origin.clone())
    }

    /// Whether a preflight may ask for `method` (compared as sent: methods are case-sensitive).
    pub fn allows_method(&self, method: &str) -> bool {
        self.any_method || self.methods.iter().any(|m| m == method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(origins: &[&str], credentials: bool) -> CorsConf {
        CorsConf {
            allow_origins: origins.iter().map(|s| s.to_string()).collect(),
            allow_methods: vec!["get".into(), "POST".into()],
            allow_headers: vec!["Authorization".into(), "content-type".into()],
            expose_headers: vec!["x-request-id".into()],
            max_age: Some(600),
            allow_credentials: credentials,
        }
    }

    #[test]
    fn compiled_values_are_rendered_once() {
        let p = CorsPolicy::build(&conf(&["https://app.example.com"], true)).unwrap();
        assert_eq!(p.allow_methods.as_ref().unwrap(), "GET, POST");
        assert_eq!(
            p.allow_headers.as_ref().unwrap(),
            "authorization, content-type"
        );
        assert_eq!(p.max_age.as_ref().unwrap(), "600");
        let o = HeaderValue::from_static("https://app.example.com");
        assert_eq!(p.allow_origin(&o), Some(o));
        assert_eq!(
            p.allow_origin(&HeaderValue::from_static("https://evil.test")),
            None
        );
        assert!(p.allows_method("GET") && !p.allows_method("DELETE") && !p.allows_method("get"));
    }

    #[test]
    fn wildcards_and_credentials_do_not_mix() {
        let err = CorsPolicy::build(&conf(&["https://a.test", "*"], true)).unwrap_err();
        assert_eq!(err.0, "allow_origins[1]");
        let mut c = conf(&["https://a.test"], true);
        c.allow_headers = vec!["*".into()];
        assert_eq!(CorsPolicy::build(&c).unwrap_err().0, "allow_headers[0]");
        c.allow_credentials = false;
        assert!(CorsPolicy::build(&c).is_ok());
        let any = CorsPolicy::build(&conf(&["*"], false)).unwrap();
        let o = HeaderValue::from_static("https://whoever.test");
        assert_eq!(any.allow_origin(&o).unwrap(), "*");
    }

    #[test]
    fn bad_values_name_their_field() {
        let mut c = conf(&[], false);
        assert_eq!(CorsPolicy::build(&c).unwrap_err().0, "allow_origins");
        c.allow_origins = vec!["https://a.test/".into()];
        assert_eq!(CorsPolicy::build(&c).unwrap_err().0, "allow_origins[0]");
        c.allow_origins = vec!["https://a.test".into()];
        c.max_age = Some(-1);
        assert_eq!(CorsPolicy::build(&c).unwrap_err().0, "max_age");
        c.max_age = Some(0);
        c.allow_methods = vec!["GTE".into()];
        assert_eq!(CorsPolicy::build(&c).unwrap_err().0, "allow_methods[0]");
        c.allow_methods = vec!["GET".into()];
        c.expose_headers = vec!["bad header".into()];
        assert_eq!(CorsPolicy::build(&c).unwrap_err().0, "expose_headers[0]");
    }
}
