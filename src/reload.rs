//! In-process reload on SIGHUP: re-read and validate the configuration file, build a new route
//! table (routes, targets, credential sources, health path) and swap it in atomically.
//! Requests in flight keep the table they started with. An invalid file is rejected with a
//! log line naming the field, the reload-failure metric grows, and the old table keeps
//! serving. Listeners, threads and other Pingora settings need a graceful upgrade (`-u`).
//!
//! The same reload runs once more when SIGQUIT starts a handoff: for the seconds the old
//! process still accepts next to its successor, both answer with the routes of the file the
//! successor was started from (a file the old binary rejects leaves the old routes).

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use log::{error, info, warn};
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use tokio::signal::unix::{signal, SignalKind};

use crate::config::Config;
use crate::routing::RouteTable;

pub struct ReloadOnHup {
    pub path: PathBuf,
    pub routes: Arc<ArcSwap<RouteTable>>,
    /// What tables share across reloads (DNS, credentials, JWT keys, limiter state, store).
    pub shared: crate::routing::Shared,
    /// What the running process was started with and cannot change without an upgrade.
    pub process_settings: String,
    /// Notified at the start of a handoff (SIGQUIT): reload once more, see [`DrainWatch`].
    ///
    /// [`DrainWatch`]: crate::drain::DrainWatch
    pub on_upgrade: Arc<tokio::sync::Notify>,
}

/// The settings a reload cannot apply (listeners, metrics listener, the access log's queue
/// size, Pingora's server settings).
pub fn process_settings(c: &Config) -> String {
    format!(
        "{:?} {:?} {} {}",
        c.gateway.listeners,
        c.gateway.metrics,
        c.gateway.access_log.queue_size,
        c.server.to_yaml()
    )
}

impl ReloadOnHup {
    /// Reloads once; returns whether the new table is in place.
    pub async fn reload(&self) -> bool {
        self.reload_for(false).await
    }

    /// Reloads once; `upgrade`: at the start of a handoff to a new process (no warning about
    /// settings only the new process applies).
    async fn reload_for(&self, upgrade: bool) -> bool {
        let path = self.path.clone();
        let shared = self.shared.clone();
        // Building resolves new upstream hosts (blocking DNS): off the async workers.
        let built = tokio::task::spawn_blocking(move || {
            let config = Config::load(&path)?;
            let table = RouteTable::build(&config, &shared)?;
            Ok::<_, crate::config::ConfigError>((config, table))
        })
        .await;
        match built {
            Ok(Ok((config, table))) => {
                let n = table.routes().len();
                self.routes.store(Arc::new(table));
                info!(
                    "reload: {} loaded, {n} routes in service",
                    self.path.display()
                );
                if !upgrade && process_settings(&config) != self.process_settings {
                    warn!(
                        "reload: listeners, metrics or Pingora settings changed in {}; they take effect only after an upgrade (lambda-proxy -u)",
                        self.path.display()
                    );
                }
                true
            }
            Ok(Err(e)) => {
                error!("reload: rejected, the running routes stay in service: {e}");
                false
            }
            Err(e) => {
                error!("reload: failed: {e}");
                false
            }
        }
    }
}

#[async_trait]
impl BackgroundService for ReloadOnHup {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                error!("reload: cannot listen for SIGHUP: {e}");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = self.on_upgrade.notified() => {
                    info!(
                        "upgrade: re-reading {} so that this process answers like its successor until it stops accepting",
                        self.path.display()
                    );
                    self.reload_for(true).await;
                }
                got = hup.recv() => {
                    if got.is_none() {
                        return;
                    }
                    let ok = self.reload().await;
                    crate::metrics::record_reload(ok);
                }
            }
        }
    }
}
