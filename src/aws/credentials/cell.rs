//! [`CredentialsCell`]: the current credentials of one source, read lock-free by every route that
//! uses it, and written only by the one refresh in flight for that source.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use aws_credential_types::Credentials;

use super::scrub;
use super::spec::SourceSpec;
use super::Identity;

/// One set of credentials as obtained, with what the refresh policy needs to know about it.
pub(crate) struct Entry {
    pub(crate) identity: Arc<Identity>,
    /// When it was obtained (wall clock, like `expiry`).
    pub(crate) obtained: SystemTime,
    /// `None`: never expires (static keys, env or profile long-term keys).
    pub(crate) expiry: Option<SystemTime>,
}

impl Entry {
    fn from_credentials(creds: Credentials, obtained: SystemTime) -> Entry {
        let expiry = creds.expiry();
        Entry {
            identity: Arc::new(creds.into()),
            obtained,
            expiry,
        }
    }

    fn credentials(&self) -> Option<&Credentials> {
        self.identity.data::<Credentials>()
    }
}

/// Counters and the last failure of one source, for metrics (see [`CredentialsCell::stats`]).
#[derive(Debug, Clone, Default)]
pub struct CredentialStats {
    /// Successful fetches from the source (the static fill of a static source is not counted).
    pub refresh_ok: u64,
    /// Failed fetches (errors and timeouts).
    pub refresh_failed: u64,
    /// Seconds until the current credentials expire: `None` when none were ever obtained or they
    /// never expire; `0.0` once expired.
    pub seconds_to_expiry: Option<f64>,
    /// The error of the last failed fetch, scrubbed of secrets; cleared by the next success.
    pub last_error: Option<String>,
}

/// The current credentials of one source, shared by every route using it.
pub struct CredentialsCell {
    name: String,
    spec: SourceSpec,
    entry: ArcSwapOption<Entry>,
    refresh_ok: AtomicU64,
    refresh_failed: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// Held for the whole of a fetch: one refresh at a time per source, whoever asks.
    /// (tokio's mutex needs no reactor, so it is fine across Pingora's runtimes.)
    pub(crate) refresh_lock: tokio::sync::Mutex<()>,
    /// Set while a refresh loop owns this cell, so two refreshers never both drive it.
    driven: AtomicBool,
}

impl CredentialsCell {
    pub(crate) fn new(spec: SourceSpec, name: String) -> CredentialsCell {
        let cell = CredentialsCell {
            name,
            entry: ArcSwapOption::empty(),
            refresh_ok: AtomicU64::new(0),
            refresh_failed: AtomicU64::new(0),
            last_error: Mutex::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
            driven: AtomicBool::new(false),
            spec,
        };
        if let SourceSpec::Static {
            access_key_id,
            secret_access_key,
            session_token,
        } = &cell.spec
        {
            let creds = Credentials::new(
                access_key_id,
                secret_access_key,
                session_token.clone(),
                None,
                "static",
            );
            cell.entry.store(Some(Arc::new(Entry::from_credentials(
                creds,
                SystemTime::now(),
            ))));
        }
        cell
    }

    /// The credentials to sign with now. Never awaits. None when never obtained or expired
    /// (expiry passed).
    pub fn current(&self) -> Option<Arc<Identity>> {
        let entry = self.entry.load();
        let entry = entry.as_ref()?;
        match entry.expiry {
            Some(expiry) if SystemTime::now() >= expiry => None,
            _ => Some(entry.identity.clone()),
        }
    }

    /// `identity` (taken from this cell earlier in the request) while it is still valid, else
    /// the current one: a request loads its credentials once, and signs with fresh ones only
    /// when they expired meanwhile.
    pub fn still_valid(&self, identity: &Arc<Identity>) -> Option<Arc<Identity>> {
        match identity.expiration() {
            Some(t) if SystemTime::now() >= t => self.current(),
            _ => Some(identity.clone()),
        }
    }

    /// The source's name (its spec's [`SourceSpec::describe`]; the registry appends ` #2`, ` #3`…
    /// when two different specs describe alike, so names stay unique).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The spec this cell was created for.
    pub fn spec(&self) -> &SourceSpec {
        &self.spec
    }

    /// Counters for metrics. Takes a (never contended on the request path) lock for `last_error`.
    pub fn stats(&self) -> CredentialStats {
        let seconds_to_expiry = self
            .entry
            .load()
            .as_ref()
            .and_then(|e| e.expiry)
            .map(|expiry| match expiry.duration_since(SystemTime::now()) {
                Ok(left) => left.as_secs_f64(),
                Err(_) => 0.0,
            });
        CredentialStats {
            refresh_ok: self.refresh_ok.load(Ordering::Relaxed),
            refresh_failed: self.refresh_failed.load(Ordering::Relaxed),
            seconds_to_expiry,
            last_error: self.lock_last_error().clone(),
        }
    }

    pub(crate) fn entry(&self) -> Option<Arc<Entry>> {
        self.entry.load_full()
    }

    /// Records a successful fetch; returns the stored entry.
    pub(crate) fn store(&self, creds: Credentials, obtained: SystemTime) -> Arc<Entry> {
        let entry = Arc::new(Entry::from_credentials(creds, obtained));
        self.entry.store(Some(entry.clone()));
        self.refresh_ok.fetch_add(1, Ordering::Relaxed);
        *self.lock_last_error() = None;
        entry
    }

    /// Records a failed fetch; the last good credentials stay until they expire. Returns the
    /// scrubbed error as stored.
    pub(crate) fn record_failure(&self, error: &str) -> String {
        let scrubbed = self.scrub(error);
        self.refresh_failed.fetch_add(1, Ordering::Relaxed);
        *self.lock_last_error() = Some(scrubbed.clone());
        scrubbed
    }

    /// Removes every secret this cell knows of (its spec's, its current credentials', the
    /// well-known secret environment variables' and token files') and anything shaped like one.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let entry = self.entry();
        let mut known: Vec<String> = self.spec.secrets().into_iter().map(String::from).collect();
        if let Some(creds) = entry.as_ref().and_then(|e| e.credentials()) {
            known.push(creds.secret_access_key().to_string());
            if let Some(token) = creds.session_token() {
                known.push(token.to_string());
            }
        }
        known.extend(scrub::environment_secrets());
        scrub::scrub(text, &known)
    }

    /// Claims the right to run this cell's refresh loop; `None` if another loop has it.
    pub(crate) fn claim(self: &Arc<Self>) -> Option<DriveClaim> {
        self.driven
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| DriveClaim(self.clone()))
    }

    fn lock_last_error(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.last_error.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Releases a cell's refresh-loop claim when the loop ends (or is aborted).
pub(crate) struct DriveClaim(Arc<CredentialsCell>);

impl DriveClaim {
    pub(crate) fn cell(&self) -> &Arc<CredentialsCell> {
        &self.0
    }
}

impl Drop for DriveClaim {
    fn drop(&mut self) {
        self.0.driven.store(false, Ordering::Release);
    }
}

impl Entry {
    /// Time left before expiry, from `now` (`None`: never expires).
    pub(crate) fn time_left(&self, now: SystemTime) -> Option<Duration> {
        self.expiry
            .map(|e| e.duration_since(now).unwrap_or(Duration::ZERO))
    }
}

impl fmt::Debug for CredentialsCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entry = self.entry();
        f.debug_struct("CredentialsCell")
            .field("name", &self.name)
            .field("spec", &self.spec)
            .field("obtained", &entry.is_some())
            .field("valid", &self.current().is_some())
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dynamic() -> CredentialsCell {
        CredentialsCell::new(
            SourceSpec::DefaultChain { profile: None },
            "default-chain".into(),
        )
    }

    #[test]
    fn static_cells_are_filled_and_never_expire() {
        let cell = CredentialsCell::new(
            SourceSpec::Static {
                access_key_id: "AKIDEXAMPLE".into(),
                secret_access_key: "S".repeat(40),
                session_token: None,
            },
            "route:orders".into(),
        );
        let id = cell.current().expect("filled");
        assert_eq!(id.expiration(), None);
        let creds = id.data::<Credentials>().unwrap();
        assert_eq!(creds.access_key_id(), "AKIDEXAMPLE");
        let stats = cell.stats();
        assert_eq!((stats.refresh_ok, stats.seconds_to_expiry), (0, None));
        assert!(!format!("{cell:?}").contains(&"S".repeat(40)));
    }

    #[test]
    fn expired_credentials_are_not_current() {
        let cell = dynamic();
        assert!(cell.current().is_none());
        let now = SystemTime::now();
        let creds = |exp| Credentials::new("ASIA1", "s", None, Some(exp), "t");
        cell.store(creds(now + Duration::from_secs(60)), now);
        assert!(cell.current().is_some());
        let left = cell.stats().seconds_to_expiry.unwrap();
        assert!(left > 50.0 && left <= 60.0, "{left}");
        cell.store(creds(now - Duration::from_secs(1)), now);
        assert!(cell.current().is_none());
        assert_eq!(cell.stats().seconds_to_expiry, Some(0.0));
        assert_eq!(cell.stats().refresh_ok, 2);
    }

    #[test]
    fn failures_are_scrubbed_and_counted() {
        let cell = dynamic();
        let now = SystemTime::now();
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
        cell.store(
            Credentials::new("ASIA1", secret, Some("tok".repeat(20)), None, "t"),
            now,
        );
        let stored = cell.record_failure(&format!("boom: {secret} / {}", "tok".repeat(20)));
        assert!(
            !stored.contains(secret) && !stored.contains("toktok"),
            "{stored}"
        );
        let stats = cell.stats();
        assert_eq!(stats.refresh_failed, 1);
        assert_eq!(stats.last_error.as_deref(), Some(stored.as_str()));
        assert!(cell.current().is_some(), "last good identity kept");
    }

    #[test]
    fn one_claim_at_a_time() {
        let cell = Arc::new(dynamic());
        let claim = cell.claim().expect("first");
        assert!(cell.claim().is_none());
        drop(claim);
        assert!(cell.claim().is_some());
    }
}
