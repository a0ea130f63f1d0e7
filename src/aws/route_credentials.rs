//! Which credential source a route signs with, from its config fields: static keys, a named
//! source of the top-level `credentials` section, or the SDK default chain (optionally a
//! profile), with optional AssumeRole on top. Errors are (field, reason).

use std::collections::BTreeMap;

use crate::aws::credentials::SourceSpec;
use crate::config::{CredentialsConf, IamConf, RouteConf, Secret};

/// The credential-related fields of one place in the config, whatever their names there.
pub struct CredentialFields<'a> {
    /// Prefix of field paths in errors (`""` or `"authorization.iam."`).
    pub at: &'a str,
    /// Field names in this place: (access key, secret, token, profile, role arn, session
    /// name, external id, duration, sts endpoint).
    pub names: [&'a str; 9],
    pub access_key: Option<&'a str>,
    pub secret: Option<&'a Secret>,
    pub token: Option<&'a Secret>,
    pub named: Option<&'a str>,
    pub profile: Option<&'a str>,
    pub role_arn: Option<&'a str>,
    pub session_name: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub duration: Option<u32>,
    pub sts_endpoint: Option<&'a str>,
}

type FieldError = (String, String);

/// A spec error as a config error: fields of a named source are top-level
/// (`credentials.NAME.field`), the others belong to `routes[index]`.
pub fn config_error(
    file: &std::path::Path,
    index: usize,
    (field, reason): FieldError,
) -> crate::config::ConfigError {
    let field = if field.starts_with("credentials.") && field.matches('.').count() >= 2 {
        field
    } else {
        format!("routes[{index}].{field}")
    };
    crate::config::ConfigError {
        file: file.to_path_buf(),
        field,
        reason,
    }
}

impl<'a> CredentialFields<'a> {
    /// Kong's names on a `function_name` route.
    pub fn of_invoke_route(r: &'a RouteConf) -> Self {
        CredentialFields {
            at: "",
            names: [
                "aws_key",
                "aws_secret",
                "aws_session_token",
                "aws_profile",
                "aws_assume_role_arn",
                "aws_role_session_name",
                "aws_assume_role_external_id",
                "aws_assume_role_duration",
                "aws_sts_endpoint_url",
            ],
            access_key: r.aws_key.as_deref(),
            secret: r.aws_secret.as_ref(),
            token: r.aws_session_token.as_ref(),
            named: r.credentials.as_deref(),
            profile: r.aws_profile.as_deref(),
            role_arn: r.aws_assume_role_arn.as_deref(),
            session_name: r.aws_role_session_name.as_deref(),
            external_id: r.aws_assume_role_external_id.as_deref(),
            duration: r.aws_assume_role_duration,
            sts_endpoint: r.aws_sts_endpoint_url.as_deref(),
        }
    }

    /// APISIX-style names under `authorization.iam`.
    pub fn of_iam(iam: &'a IamConf) -> Self {
        CredentialFields {
            at: "authorization.iam.",
            names: IAM_NAMES,
            access_key: iam.accesskey.as_deref(),
            secret: iam.secretkey.as_ref(),
            token: iam.session_token.as_ref(),
            named: iam.credentials.as_deref(),
            profile: iam.profile.as_deref(),
            role_arn: iam.assume_role_arn.as_deref(),
            session_name: iam.role_session_name.as_deref(),
            external_id: iam.external_id.as_deref(),
            duration: iam.duration_seconds,
            sts_endpoint: iam.sts_endpoint_url.as_deref(),
        }
    }

    fn of_named(c: &'a CredentialsConf, at: &'a str) -> Self {
        CredentialFields {
            at,
            names: [
                "access_key_id",
                "secret_access_key",
                "session_token",
                "profile",
                "assume_role_arn",
                "role_session_name",
                "external_id",
                "duration_seconds",
                "sts_endpoint_url",
            ],
            access_key: c.access_key_id.as_deref(),
            secret: c.secret_access_key.as_ref(),
            token: c.session_token.as_ref(),
            named: None,
            profile: c.profile.as_deref(),
            role_arn: c.assume_role_arn.as_deref(),
            session_name: c.role_session_name.as_deref(),
            external_id: c.external_id.as_deref(),
            duration: c.duration_seconds,
            sts_endpoint: c.sts_endpoint_url.as_deref(),
        }
    }

    /// The name of the source these fields describe, for logs, `-t` and the `source` label of
    /// the credential metrics: the configured name of a named source (`credentials: NAME`),
    /// else `route:ROUTE` for credentials set on the route itself (keys, profile, AssumeRole or
    /// the default chain). Never anything of the keys, not even the access key id.
    pub fn source_name(&self, route: &str) -> String {
        match self.named {
            Some(name) => name.to_string(),
            None => format!("route:{route}"),
        }
    }

    fn field(&self, i: usize) -> String {
        format!("{}{}", self.at, self.names[i])
    }

    /// The source these fields describe. `region` is the route's (used for STS).
    pub fn spec(
        &self,
        named: &BTreeMap<String, CredentialsConf>,
        region: &str,
    ) -> Result<SourceSpec, FieldError> {
        if let Some(name) = self.named {
            let set = [
                self.access_key.is_some(),
                self.secret.is_some(),
                self.profile.is_some(),
                self.role_arn.is_some(),
            ];
            if set.iter().any(|s| *s) {
                return Err((
                    format!("{}credentials", self.at),
                    "a named source excludes keys, profile and assume-role fields here".into(),
                ));
            }
            let Some(conf) = named.get(name) else {
                let known: Vec<&str> = named.keys().map(String::as_str).collect();
                return Err((
                    format!("{}credentials", self.at),
                    format!(
                        "no credentials source named `{name}` (defined: {})",
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            };
            let at = format!("credentials.{name}.");
            return CredentialFields::of_named(conf, &at).spec(named, region);
        }
        let base = match (self.access_key, self.secret) {
            (Some(k), Some(s)) => {
                if k.trim().is_empty() {
                    return Err((self.field(0), "must not be empty".into()));
                }
                if s.expose().is_empty() {
                    return Err((self.field(1), "must not be empty".into()));
                }
                if self.profile.is_some() {
                    return Err((
                        self.field(3),
                        "a profile applies to the default chain, not to static keys".into(),
                    ));
                }
                SourceSpec::Static {
                    access_key_id: k.to_string(),
                    secret_access_key: s.expose().to_string(),
                    session_token: self.token.map(|t| t.expose().to_string()),
                }
            }
            (Some(_), None) => {
                return Err((
                    self.field(1),
                    format!("{} needs {}", self.names[0], self.names[1]),
                ))
            }
            (None, Some(_)) => {
                return Err((
                    self.field(0),
                    format!("{} needs {}", self.names[1], self.names[0]),
                ))
            }
            (None, None) => {
                if self.token.is_some() {
                    return Err((self.field(2), "a session token needs static keys".into()));
                }
                SourceSpec::DefaultChain {
                    profile: self.profile.map(str::to_string),
                }
            }
        };
        let Some(arn) = self.role_arn else {
            for (i, set) in [
                (5, self.session_name.is_some()),
                (6, self.external_id.is_some()),
                (7, self.duration.is_some()),
                (8, self.sts_endpoint.is_some()),
            ] {
                if set {
                    return Err((
                        self.field(i),
                        format!("only applies with {}", self.names[4]),
                    ));
                }
            }
            return Ok(base);
        };
        if !(arn.starts_with("arn:") && arn.contains(":iam::") && arn.contains(":role/")) {
            return Err((
                self.field(4),
                format!("`{arn}` is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"),
            ));
        }
        let session_name = self.session_name.unwrap_or("lambda-proxy");
        if session_name.len() < 2
            || session_name.len() > 64
            || !session_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "=,.@-_".contains(c))
        {
            return Err((
                self.field(5),
                "2-64 characters of letters, digits and =,.@-_".into(),
            ));
        }
        if let Some(d) = self.duration {
            if !(900..=43200).contains(&d) {
                return Err((self.field(7), format!("{d} is outside 900..43200 seconds")));
            }
        }
        if let Some(u) = self.sts_endpoint {
            let ok = u.parse::<http::Uri>().ok().is_some_and(|u| {
                matches!(u.scheme_str(), Some("http") | Some("https")) && u.host().is_some()
            });
            if !ok {
                return Err((self.field(8), format!("`{u}` is not an http(s) URL")));
            }
        }
        Ok(SourceSpec::AssumeRole {
            base: Box::new(base),
            role_arn: arn.to_string(),
            session_name: session_name.to_string(),
            external_id: self.external_id.map(str::to_string),
            duration_seconds: self.duration,
            sts_endpoint_url: self.sts_endpoint.map(str::to_string),
            region: region.to_string(),
        })
    }
}

/// Checks every named source, referenced or not (errors name `credentials.NAME.field`).
pub fn validate_named(
    file: &std::path::Path,
    named: &BTreeMap<String, CredentialsConf>,
) -> Result<(), crate::config::ConfigError> {
    for (name, conf) in named {
        let at = format!("credentials.{name}.");
        CredentialFields::of_named(conf, &at)
            .spec(named, "us-east-1")
            .map_err(|fe| config_error(file, 0, fe))?;
    }
    Ok(())
}

const IAM_NAMES: [&str; 9] = [
    "accesskey",
    "secretkey",
    "session_token",
    "profile",
    "assume_role_arn",
    "role_session_name",
    "external_id",
    "duration_seconds",
    "sts_endpoint_url",
];
