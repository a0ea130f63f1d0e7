//! `credential_refreshes_total` and `credential_expiry_seconds`: one custom collector that reads
//! the credential cells of the current registry at scrape time.

use std::sync::{Arc, LazyLock, Mutex};

use arc_swap::ArcSwapOption;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{GaugeVec, IntCounterVec, Opts};

use crate::aws::credentials::CredentialsRegistry;

/// The credential sources read at scrape time (replaced when a reload builds a new registry).
static CREDENTIALS: ArcSwapOption<CredentialsRegistry> = ArcSwapOption::const_empty();

static CREDENTIALS_COLLECTOR: LazyLock<()> = LazyLock::new(|| {
    prometheus::register(Box::new(CredentialsCollector::new()))
        .expect("register the credentials collector");
});

/// Makes `credentials` the registry the collector reads (replacing any earlier one) and
/// registers the collector once.
pub(super) fn install(credentials: Arc<CredentialsRegistry>) {
    CREDENTIALS.store(Some(credentials));
    LazyLock::force(&CREDENTIALS_COLLECTOR);
}

/// `credential_refreshes_total` and `credential_expiry_seconds`, computed from the credential
/// cells at scrape time.
struct CredentialsCollector {
    refreshes: IntCounterVec,
    expiry: GaugeVec,
    /// One scrape at a time fills the two vectors.
    scrape: Mutex<()>,
}

impl CredentialsCollector {
    fn new() -> CredentialsCollector {
        CredentialsCollector {
            refreshes: IntCounterVec::new(
                Opts::new(
                    "lambda_proxy_credential_refreshes_total",
                    "Credential fetches from each source, by result.",
                ),
                &["source", "result"],
            )
            .expect("credential_refreshes_total"),
            expiry: GaugeVec::new(
                Opts::new(
                    "lambda_proxy_credential_expiry_seconds",
                    "Seconds until each source's current credentials expire (0 once expired).",
                ),
                &["source"],
            )
            .expect("credential_expiry_seconds"),
            scrape: Mutex::new(()),
        }
    }
}

impl Collector for CredentialsCollector {
    fn desc(&self) -> Vec<&Desc> {
        let mut d = self.refreshes.desc();
        d.extend(self.expiry.desc());
        d
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let _one = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.refreshes.reset();
        self.expiry.reset();
        if let Some(registry) = CREDENTIALS.load_full() {
            for cell in registry.cells() {
                let stats = cell.stats();
                let source = cell.name();
                self.refreshes
                    .with_label_values(&[source, "ok"])
                    .inc_by(stats.refresh_ok);
                self.refreshes
                    .with_label_values(&[source, "failed"])
                    .inc_by(stats.refresh_failed);
                if let Some(left) = stats.seconds_to_expiry {
                    self.expiry.with_label_values(&[source]).set(left);
                }
            }
        }
        let mut out = self.refreshes.collect();
        out.extend(self.expiry.collect());
        out
    }
}
