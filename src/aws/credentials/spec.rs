//! [`SourceSpec`]: what a route's credentials come from, with a redacting `Debug` and a
//! secret-free [`SourceSpec::describe`] used as the source's name in logs and metrics.

use std::fmt;

const REDACTED: &str = "** redacted **";

/// What a route's credentials come from. Debug must redact secrets.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum SourceSpec {
    /// Long-term (or pre-obtained session) keys from the configuration. Never refreshed.
    Static {
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
    },
    /// The SDK default chain: env, shared files/profile, web identity, ECS/Pod Identity, IMDSv2.
    DefaultChain { profile: Option<String> },
    /// STS AssumeRole, signed with the credentials of `base`.
    AssumeRole {
        base: Box<SourceSpec>,
        role_arn: String,
        session_name: String,
        external_id: Option<String>,
        duration_seconds: Option<u32>,
        sts_endpoint_url: Option<String>,
        region: String,
    },
}

impl SourceSpec {
    /// What kind of source this is, without secrets or key ids: `static`, `default-chain`,
    /// `default-chain(profile=prod)`, `assume-role(arn:aws:iam::1:role/x) on default-chain`.
    /// The fallback name of a source that has none (routes name theirs: see
    /// [`crate::aws::credentials::CredentialsRegistry::get_named`]).
    ///
    /// Nothing of the keys is shown, not even the access key id: names end up in metric labels,
    /// dashboards and alerts, where a key id identifies the account and user it belongs to.
    pub fn describe(&self) -> String {
        match self {
            SourceSpec::Static { .. } => "static".to_string(),
            SourceSpec::DefaultChain { profile: None } => "default-chain".to_string(),
            SourceSpec::DefaultChain {
                profile: Some(profile),
            } => format!("default-chain(profile={profile})"),
            SourceSpec::AssumeRole { base, role_arn, .. } => {
                format!("assume-role({role_arn}) on {}", base.describe())
            }
        }
    }

    /// True for [`SourceSpec::Static`]: such cells are filled at once and never refreshed.
    pub fn is_static(&self) -> bool {
        matches!(self, SourceSpec::Static { .. })
    }

    /// The secret strings this spec carries (for scrubbing error texts), outermost first.
    pub(crate) fn secrets(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut spec = self;
        loop {
            match spec {
                SourceSpec::Static {
                    secret_access_key,
                    session_token,
                    ..
                } => {
                    out.push(secret_access_key.as_str());
                    if let Some(token) = session_token {
                        out.push(token.as_str());
                    }
                    return out;
                }
                SourceSpec::DefaultChain { .. } => return out,
                SourceSpec::AssumeRole {
                    base, external_id, ..
                } => {
                    if let Some(id) = external_id {
                        out.push(id.as_str());
                    }
                    spec = base;
                }
            }
        }
    }
}

impl fmt::Debug for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Static {
                access_key_id,
                session_token,
                ..
            } => f
                .debug_struct("Static")
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &REDACTED)
                .field("session_token", &session_token.as_ref().map(|_| REDACTED))
                .finish(),
            SourceSpec::DefaultChain { profile } => f
                .debug_struct("DefaultChain")
                .field("profile", profile)
                .finish(),
            SourceSpec::AssumeRole {
                base,
                role_arn,
                session_name,
                external_id,
                duration_seconds,
                sts_endpoint_url,
                region,
            } => f
                .debug_struct("AssumeRole")
                .field("base", base)
                .field("role_arn", role_arn)
                .field("session_name", session_name)
                .field("external_id", &external_id.as_ref().map(|_| REDACTED))
                .field("duration_seconds", duration_seconds)
                .field("sts_endpoint_url", sts_endpoint_url)
                .field("region", region)
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assume(base: SourceSpec) -> SourceSpec {
        SourceSpec::AssumeRole {
            base: Box::new(base),
            role_arn: "arn:aws:iam::1:role/x".into(),
            session_name: "s".into(),
            external_id: Some("EXTERNAL-ID-CANARY".into()),
            duration_seconds: Some(900),
            sts_endpoint_url: None,
            region: "us-east-1".into(),
        }
    }

    fn static_spec() -> SourceSpec {
        SourceSpec::Static {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "SECRET-CANARY".into(),
            session_token: Some("TOKEN-CANARY".into()),
        }
    }

    #[test]
    fn describe_names() {
        assert_eq!(static_spec().describe(), "static");
        assert_eq!(
            SourceSpec::DefaultChain { profile: None }.describe(),
            "default-chain"
        );
        assert_eq!(
            SourceSpec::DefaultChain {
                profile: Some("prod".into())
            }
            .describe(),
            "default-chain(profile=prod)"
        );
        assert_eq!(
            assume(SourceSpec::DefaultChain { profile: None }).describe(),
            "assume-role(arn:aws:iam::1:role/x) on default-chain"
        );
        assert_eq!(
            assume(static_spec()).describe(),
            "assume-role(arn:aws:iam::1:role/x) on static"
        );
    }

    #[test]
    fn debug_and_describe_redact() {
        let spec = assume(static_spec());
        for text in [format!("{spec:?}"), format!("{spec:#?}"), spec.describe()] {
            assert!(!text.contains("CANARY"), "{text}");
        }
        assert!(!spec.describe().contains("AKID"), "{}", spec.describe());
        assert!(format!("{spec:?}").contains("AKIDEXAMPLE"));
        assert_eq!(
            spec.secrets(),
            vec!["EXTERNAL-ID-CANARY", "SECRET-CANARY", "TOKEN-CANARY"]
        );
    }
}
