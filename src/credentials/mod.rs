//! PLACEHOLDER (being replaced by the real module): AWS credential sources for routes.
//! Only static sources work here; the API is the one the real module provides.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use async_trait::async_trait;
use aws_credential_types::Credentials;
pub use aws_smithy_runtime_api::client::identity::Identity;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

#[derive(Clone, PartialEq, Eq, Hash)]
pub enum SourceSpec {
    Static {
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
    },
    DefaultChain {
        profile: Option<String>,
    },
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

impl std::fmt::Debug for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl SourceSpec {
    pub fn describe(&self) -> String {
        match self {
            SourceSpec::Static { access_key_id, .. } => format!("static {access_key_id}"),
            SourceSpec::DefaultChain { profile: None } => "default-chain".into(),
            SourceSpec::DefaultChain { profile: Some(p) } => format!("default-chain(profile={p})"),
            SourceSpec::AssumeRole { base, role_arn, .. } => {
                format!("assume-role({role_arn}) on {}", base.describe())
            }
        }
    }
}

pub struct CredentialsCell {
    name: String,
    current: ArcSwapOption<Identity>,
}

#[derive(Debug, Clone, Default)]
pub struct CredentialStats {
    pub refresh_ok: u64,
    pub refresh_failed: u64,
    pub seconds_to_expiry: Option<f64>,
    pub last_error: Option<String>,
}

impl CredentialsCell {
    pub fn current(&self) -> Option<Arc<Identity>> {
        self.current.load_full()
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn stats(&self) -> CredentialStats {
        CredentialStats::default()
    }
}

#[derive(Default)]
pub struct CredentialsRegistry {
    cells: Mutex<Vec<(SourceSpec, Arc<CredentialsCell>)>>,
}

impl CredentialsRegistry {
    pub fn new() -> Arc<CredentialsRegistry> {
        Arc::new(CredentialsRegistry::default())
    }
    pub fn get(&self, spec: &SourceSpec) -> Arc<CredentialsCell> {
        let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, c)) = cells.iter().find(|(s, _)| s == spec) {
            return c.clone();
        }
        let cell = Arc::new(CredentialsCell {
            name: spec.describe(),
            current: ArcSwapOption::empty(),
        });
        if let SourceSpec::Static {
            access_key_id,
            secret_access_key,
            session_token,
        } = spec
        {
            let id: Identity = Credentials::new(
                access_key_id,
                secret_access_key,
                session_token.clone(),
                None,
                "static",
            )
            .into();
            cell.current.store(Some(Arc::new(id)));
        }
        cells.push((spec.clone(), cell.clone()));
        cell
    }
    pub fn cells(&self) -> Vec<Arc<CredentialsCell>> {
        self.cells
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(_, c)| c.clone())
            .collect()
    }
    pub fn resolve_all_blocking(&self, _timeout: Duration) -> Vec<(String, String)> {
        self.cells()
            .iter()
            .filter(|c| c.current().is_none())
            .map(|c| {
                (
                    c.name().to_string(),
                    "not supported by the placeholder".into(),
                )
            })
            .collect()
    }
}

pub struct CredentialsRefresher {
    pub registry: Arc<CredentialsRegistry>,
}

#[async_trait]
impl BackgroundService for CredentialsRefresher {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let _ = shutdown.changed().await;
    }
}
