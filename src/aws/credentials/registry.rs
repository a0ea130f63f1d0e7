//! [`CredentialsRegistry`]: one [`CredentialsCell`] per distinct [`SourceSpec`], so routes with
//! identical specs share credentials and a refresh loop; plus the one-shot resolution for `-t`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tracing::subscriber::NoSubscriber;

use super::cell::CredentialsCell;
use super::provider;
use super::refresher::refresh_cell;
use super::spec::SourceSpec;

/// Hands out one cell per distinct spec (identical specs share a cell and a refresh loop).
pub struct CredentialsRegistry {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    by_spec: HashMap<SourceSpec, Arc<CredentialsCell>>,
    /// In creation order, for stable metrics and `-t` output.
    order: Vec<Arc<CredentialsCell>>,
    names: HashSet<String>,
}

impl CredentialsRegistry {
    pub fn new() -> Arc<CredentialsRegistry> {
        Arc::new(CredentialsRegistry {
            inner: Mutex::new(Inner::default()),
        })
    }

    /// The cell for `spec`, named after its kind ([`SourceSpec::describe`]); see
    /// [`CredentialsRegistry::get_named`].
    pub fn get(&self, spec: &SourceSpec) -> Arc<CredentialsCell> {
        self.get_named(spec, &spec.describe())
    }

    /// The cell for `spec`, created on first use and then called `name` (the name in logs,
    /// `-t` output and the `source` label of the credential metrics; ` #2`, ` #3`… is appended
    /// if another spec already has it). A spec asked for again under another name gets the
    /// existing cell, which keeps its first name: identical sources share one cell and one
    /// refresh loop. Static cells are filled immediately (no expiry); others stay empty until
    /// the refresher (or `resolve_all_blocking`) fills them. Cells are never removed. Not for
    /// the request path (takes a lock).
    pub fn get_named(&self, spec: &SourceSpec, name: &str) -> Arc<CredentialsCell> {
        let mut inner = self.lock();
        if let Some(cell) = inner.by_spec.get(spec) {
            return cell.clone();
        }
        let base = name.to_string();
        let mut name = base.clone();
        let mut n = 1;
        while inner.names.contains(&name) {
            n += 1;
            name = format!("{base} #{n}");
        }
        let cell = Arc::new(CredentialsCell::new(spec.clone(), name.clone()));
        inner.names.insert(name);
        inner.by_spec.insert(spec.clone(), cell.clone());
        inner.order.push(cell.clone());
        cell
    }

    /// Every cell, in creation order (for metrics).
    pub fn cells(&self) -> Vec<Arc<CredentialsCell>> {
        self.lock().order.clone()
    }

    /// For `lambda-proxy -t` (before Pingora's daemon fork): resolve every non-static source
    /// once on a temporary current-thread runtime (dropped before returning, so no thread
    /// survives into the fork), each bounded by `timeout`; returns (source name, scrubbed error)
    /// for each failure. Fills cells on success.
    ///
    /// Called from inside a tokio runtime, it runs on a scoped thread that is joined before
    /// returning (a runtime cannot block inside another).
    pub fn resolve_all_blocking(&self, timeout: Duration) -> Vec<(String, String)> {
        let cells: Vec<Arc<CredentialsCell>> = self
            .cells()
            .into_iter()
            .filter(|c| !c.spec().is_static())
            .collect();
        if cells.is_empty() {
            return Vec::new();
        }
        if tokio::runtime::Handle::try_current().is_ok() {
            return std::thread::scope(|s| {
                s.spawn(|| resolve_on_temporary_runtime(&cells, timeout))
                    .join()
                    .unwrap_or_else(|_| failed_all(&cells, "resolution panicked"))
            });
        }
        resolve_on_temporary_runtime(&cells, timeout)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn failed_all(cells: &[Arc<CredentialsCell>], why: &str) -> Vec<(String, String)> {
    cells
        .iter()
        .map(|c| (c.name().to_string(), why.to_string()))
        .collect()
}

fn resolve_on_temporary_runtime(
    cells: &[Arc<CredentialsCell>],
    timeout: Duration,
) -> Vec<(String, String)> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return failed_all(cells, &format!("cannot start a runtime: {e}")),
    };
    // The current-thread runtime polls on this thread, so this scoped no-op dispatcher covers
    // all SDK work (the fetches also carry their own).
    let quiet = tracing::Dispatch::new(NoSubscriber::new());
    let mut results: Vec<Option<String>> = tracing::dispatcher::with_default(&quiet, || {
        runtime.block_on(async {
            let http = provider::http_client();
            let mut attempts = JoinSet::new();
            for (i, cell) in cells.iter().enumerate() {
                let (cell, http) = (cell.clone(), http.clone());
                attempts.spawn(async move { (i, refresh_cell(&cell, &http, timeout).await.err()) });
            }
            let mut results = vec![None; cells.len()];
            while let Some(done) = attempts.join_next().await {
                if let Ok((i, error)) = done {
                    results[i] = error;
                }
            }
            results
        })
    });
    // Dropping the runtime joins its blocking-pool threads: none survives into the fork.
    drop(runtime);
    cells
        .iter()
        .zip(results.iter_mut())
        .filter_map(|(cell, error)| error.take().map(|e| (cell.name().to_string(), e)))
        .collect()
}

impl fmt::Debug for CredentialsRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.cells().iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(session: &str) -> SourceSpec {
        SourceSpec::AssumeRole {
            base: Box::new(SourceSpec::DefaultChain { profile: None }),
            role_arn: "arn:aws:iam::1:role/x".into(),
            session_name: session.into(),
            external_id: None,
            duration_seconds: None,
            sts_endpoint_url: None,
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn identical_specs_share_a_cell_and_names_stay_unique() {
        let registry = CredentialsRegistry::new();
        let a = registry.get(&role("a"));
        let a2 = registry.get(&role("a"));
        let b = registry.get(&role("b"));
        assert!(Arc::ptr_eq(&a, &a2));
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(
            a.name(),
            "assume-role(arn:aws:iam::1:role/x) on default-chain"
        );
        assert_eq!(
            b.name(),
            "assume-role(arn:aws:iam::1:role/x) on default-chain #2"
        );
        assert_eq!(registry.cells().len(), 2);
    }

    #[test]
    fn named_cells_keep_their_first_name() {
        let registry = CredentialsRegistry::new();
        let keys = SourceSpec::Static {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "x".repeat(40),
            session_token: None,
        };
        let a = registry.get_named(&keys, "prod");
        let again = registry.get_named(&keys, "route:orders");
        assert!(Arc::ptr_eq(&a, &again));
        assert_eq!(a.name(), "prod");
        let other = registry.get_named(&role("a"), "prod");
        assert_eq!(other.name(), "prod #2");
        assert_eq!(registry.get(&role("b")).name(), role("b").describe());
    }

    #[test]
    fn static_only_registry_resolves_without_a_runtime() {
        let registry = CredentialsRegistry::new();
        let cell = registry.get(&SourceSpec::Static {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "x".repeat(40),
            session_token: None,
        });
        assert!(cell.current().is_some());
        assert!(registry
            .resolve_all_blocking(Duration::from_secs(1))
            .is_empty());
    }
}
