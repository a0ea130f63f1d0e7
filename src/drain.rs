//! Draining a process that is being replaced or stopped.
//!
//! * From the moment SIGQUIT (upgrade) or SIGTERM arrives, every response says
//!   `Connection: close` ([`DrainWatch`], [`is_draining`]): during Pingora's 5 s handoff window
//!   clients move their keep-alive connections to the new process one response at a time,
//!   instead of having idle connections dropped under a request in flight when the old
//!   process stops reading. If no new process takes the sockets (none was started, or it died
//!   first), Pingora (patched, vendor/README.md 0002) keeps this process serving and draining
//!   ends.
//! * Pingora then stops accepting and sleeps `grace_period_seconds` whether or not requests
//!   are still running. [`DrainExit`] exits the process as soon as nothing has been in flight
//!   for a short moment, so the grace period is only the upper bound for long Lambda
//!   invocations, not a fixed wait.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use async_trait::async_trait;
use log::info;
use pingora::server::{ExecutionPhase, ShutdownWatch};
use pingora::services::background::BackgroundService;
use tokio::sync::broadcast;

static DRAINING: AtomicBool = AtomicBool::new(false);

/// True once the process was asked to hand over (SIGQUIT) or stop (SIGTERM).
pub fn is_draining() -> bool {
    DRAINING.load(Ordering::Relaxed)
}

/// Watches Pingora's execution phases and flags the start of draining.
pub struct DrainWatch {
    pub phases: Mutex<Option<broadcast::Receiver<ExecutionPhase>>>,
    /// Notified when SIGQUIT starts a handoff: the process re-reads its configuration file so
    /// that, while it still accepts during the handoff window, it answers with the same routes
    /// as its successor (started from that file) instead of the old ones.
    pub on_upgrade: std::sync::Arc<tokio::sync::Notify>,
}

#[async_trait]
impl BackgroundService for DrainWatch {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let Some(mut phases) = self.phases.lock().ok().and_then(|mut p| p.take()) else {
            return;
        };
        loop {
            tokio::select! {
                _ = shutdown.changed() => {
                    DRAINING.store(true, Ordering::Relaxed);
                    return;
                }
                phase = phases.recv() => match phase {
                    Ok(ExecutionPhase::GracefulUpgradeTransferringFds) => {
                        self.on_upgrade.notify_one();
                        if !DRAINING.swap(true, Ordering::Relaxed) {
                            info!("draining: responses now close their connections");
                        }
                    }
                    Ok(ExecutionPhase::GracefulUpgradeCloseTimeout)
                    | Ok(ExecutionPhase::GracefulTerminate)
                    | Ok(ExecutionPhase::ShutdownStarted) => {
                        if !DRAINING.swap(true, Ordering::Relaxed) {
                            info!("draining: responses now close their connections");
                        }
                    }
                    // No new process took the sockets (vendored pingora-core, patch 0002):
                    // this process serves on, with keep-alive again.
                    Ok(ExecutionPhase::Running) => {
                        if DRAINING.swap(false, Ordering::Relaxed) {
                            info!("upgrade abandoned: serving on, keep-alive restored");
                        }
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }
}

/// Requests (and subrequests) currently being handled.
static IN_FLIGHT: AtomicI64 = AtomicI64::new(0);

/// Counts one request while it lives (held by the request context).
#[derive(Debug)]
pub struct InFlightGuard(());

impl InFlightGuard {
    pub fn new() -> Self {
        IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
        InFlightGuard(())
    }
}

impl Default for InFlightGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
    }
}

pub fn in_flight() -> i64 {
    IN_FLIGHT.load(Ordering::Relaxed)
}

/// Exits the process once shutdown has started and nothing has been in flight for `idle`.
pub struct DrainExit {
    pub idle: Duration,
}

#[async_trait]
impl BackgroundService for DrainExit {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        if shutdown.changed().await.is_err() {
            return;
        }
        let started = std::time::Instant::now();
        let mut idle_since: Option<std::time::Instant> = None;
        loop {
            if in_flight() <= 0 {
                let since = *idle_since.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() >= self.idle {
                    info!(
                        "shutdown: no request in flight; exiting after {:.1} s of draining",
                        started.elapsed().as_secs_f64()
                    );
                    crate::gateway::access_log::flush(Duration::from_secs(2));
                    std::process::exit(0);
                }
            } else {
                idle_since = None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Wraps Pingora's HTTP app so that, when the listeners stop, connections accepted just
/// before still get `linger` to send their first request: Pingora's own cleanup drops every
/// connection still waiting for a request head, which would reset a client that connected a
/// moment before the handoff. Everything else is delegated.
pub struct LingeringCleanup<A> {
    pub inner: std::sync::Arc<A>,
    pub linger: Duration,
}

#[async_trait]
impl<A> pingora::apps::HttpServerApp for LingeringCleanup<A>
where
    A: pingora::apps::HttpServerApp + Send + Sync + 'static,
{
    async fn process_new_http(
        self: &std::sync::Arc<Self>,
        session: pingora::protocols::http::ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<pingora::apps::ReusedHttpStream> {
        self.inner.process_new_http(session, shutdown).await
    }

    fn h2_options(&self) -> Option<pingora::protocols::http::v2::server::H2Options> {
        self.inner.h2_options()
    }

    fn server_options(&self) -> Option<&pingora::apps::HttpServerOptions> {
        self.inner.server_options()
    }

    async fn http_cleanup(&self) {
        tokio::time::sleep(self.linger).await;
        self.inner.http_cleanup().await;
    }
}
