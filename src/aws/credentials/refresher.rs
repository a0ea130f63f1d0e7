//! [`CredentialsRefresher`]: the Pingora background service that keeps every non-static cell of
//! the registry fresh, so the request path never waits on (or triggers) a fetch. The refresh
//! policy is documented on [`CredentialsRefresher`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use log::{info, warn};
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use tokio::task::JoinSet;
use tracing::instrument::WithSubscriber;
use tracing::subscriber::NoSubscriber;

use super::cell::{CredentialsCell, DriveClaim, Entry};
use super::provider;
use super::registry::CredentialsRegistry;

/// How much earlier than expiry a refresh starts, at most.
pub(crate) const REFRESH_EARLY_MAX: Duration = Duration::from_secs(5 * 60);
/// How often expiry-less credentials from a dynamic source are re-read.
pub(crate) const NO_EXPIRY_RECHECK: Duration = Duration::from_secs(15 * 60);
/// First retry delay after a failure (before jitter).
pub(crate) const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// Longest retry delay.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Bound on one fetch (the SDK has its own, shorter, per-request timeouts and retries).
pub(crate) const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the registry is polled for cells added after start.
pub(crate) const POLL_NEW_CELLS: Duration = Duration::from_secs(1);
/// Longest single sleep, so a wall-clock jump delays a refresh by at most this much.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// The Pingora background service that keeps every cell fresh. Construct it with the registry
/// the routes use and add it with `pingora::services::background::background_service`; it is
/// ready at once (routes whose source has not answered yet fail until it does).
///
/// # Refresh policy
///
/// * **Start**: every cell is fetched at once (a cell already filled by `-t` is scheduled from its
///   credentials instead). Failures are retried with jittered exponential backoff: 1 s, 2 s, 4 s…
///   capped at 60 s, each delay stretched by a random 0–50 % (still capped at 60 s).
/// * **Scheduled refresh**: at `expiry - min(5 min, lifetime / 4)`, i.e. the later of
///   `expiry - 5 min` and `expiry - lifetime/4`, where `lifetime = expiry - fetch start`.
///   Hour-long STS/IMDS credentials are renewed 5 minutes ahead (room for several retries; IMDS
///   and ECS publish new credentials at least 5 minutes before expiry), while short-lived ones
///   are renewed at 3/4 of their life instead of continuously.
/// * **Credentials without expiry** from a dynamic source (env or profile long-term keys) are
///   re-read every 15 minutes, so rotated files are picked up; they never expire in the cell.
/// * **Failure**: the last good credentials stay in the cell until their own expiry (then
///   [`CredentialsCell::current`] returns `None` and only the
///   routes using this source fail); the fetch is retried with the backoff above. A "successful"
///   fetch that returns credentials already due for refresh (e.g. IMDS serving the same ones
///   again) is treated like a failure for scheduling, so a source is never hammered.
/// * **One refresh at a time per source**: one loop per cell (a claim flag on the cell), and a
///   per-cell lock around each fetch, shared with `resolve_all_blocking`. Each fetch is bounded
///   by 30 s.
/// * **Static** cells are never refreshed. Cells added after start (hot reload) are picked up by
///   polling the registry every second.
pub struct CredentialsRefresher {
    pub registry: Arc<CredentialsRegistry>,
}

#[async_trait]
impl BackgroundService for CredentialsRefresher {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        // Created here, on the background service's runtime: after the daemon fork.
        let http = provider::http_client();
        let mut loops = JoinSet::new();
        let mut poll = tokio::time::interval(POLL_NEW_CELLS);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            if *shutdown.borrow() {
                break;
            }
            tokio::select! {
                _ = poll.tick() => {
                    for cell in self.registry.cells() {
                        if cell.spec().is_static() {
                            continue;
                        }
                        if let Some(claim) = cell.claim() {
                            let run = drive(claim, http.clone(), shutdown.clone());
                            loops.spawn(run.with_subscriber(NoSubscriber::new()));
                        }
                    }
                    while loops.try_join_next().is_some() {}
                }
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        loops.abort_all();
        while loops.join_next().await.is_some() {}
    }
}

/// When credentials obtained at `obtained` and expiring at `expiry` are due for refresh.
pub(crate) fn refresh_at(obtained: SystemTime, expiry: Option<SystemTime>) -> SystemTime {
    match expiry {
        None => obtained + NO_EXPIRY_RECHECK,
        Some(expiry) => {
            let lifetime = expiry.duration_since(obtained).unwrap_or(Duration::ZERO);
            expiry - REFRESH_EARLY_MAX.min(lifetime / 4)
        }
    }
}

/// The delay before retry number `failures` (1 = first retry): 1 s doubling to 60 s, plus 0–50 %
/// jitter, capped at 60 s.
pub(crate) fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    let base = BACKOFF_MIN.saturating_mul(1 << exp).min(BACKOFF_MAX);
    base.mul_f64(1.0 + 0.5 * crate::retry::random_unit())
        .min(BACKOFF_MAX)
}

/// Fetches once into `cell`, holding its refresh lock (one refresh at a time per source).
/// Logs the outcome (name, seconds to expiry or scrubbed error; never keys). Returns the new entry
/// or the scrubbed error.
pub(crate) async fn refresh_cell(
    cell: &CredentialsCell,
    http: &SharedHttpClient,
    timeout: Duration,
) -> Result<Arc<Entry>, String> {
    let _one_at_a_time = cell.refresh_lock.lock().await;
    let started = SystemTime::now();
    match provider::fetch(cell.spec(), http, timeout).await {
        Ok(creds) => {
            let entry = cell.store(creds, started);
            match entry.time_left(SystemTime::now()) {
                Some(left) => info!(
                    "credentials: {}: refreshed, expire in {} s",
                    cell.name(),
                    left.as_secs()
                ),
                None => info!("credentials: {}: refreshed, no expiry", cell.name()),
            }
            Ok(entry)
        }
        Err(error) => {
            let error = cell.record_failure(&error);
            let left = cell
                .entry()
                .and_then(|e| e.time_left(SystemTime::now()))
                .map_or_else(String::new, |left| {
                    format!("; current credentials expire in {} s", left.as_secs())
                });
            warn!(
                "credentials: {}: refresh failed: {error}{left}",
                cell.name()
            );
            Err(error)
        }
    }
}

/// The refresh loop of one cell, for as long as the service runs.
async fn drive(claim: DriveClaim, http: SharedHttpClient, mut shutdown: ShutdownWatch) {
    let cell = claim.cell().clone();
    let mut failures: u32 = 0;
    // A cell already filled (by `-t`) is scheduled from its credentials; otherwise fetch now.
    let mut next = match cell.entry() {
        Some(e) => refresh_at(e.obtained, e.expiry),
        None => SystemTime::now(),
    };
    loop {
        if !sleep_until(next, &mut shutdown).await {
            return;
        }
        let outcome = refresh_cell(&cell, &http, FETCH_TIMEOUT).await;
        let now = SystemTime::now();
        next = match outcome {
            Ok(entry) => {
                let at = refresh_at(entry.obtained, entry.expiry);
                if at > now + BACKOFF_MIN {
                    failures = 0;
                    at
                } else {
                    // Already due again: the source keeps serving old credentials. Back off.
                    failures += 1;
                    now + backoff(failures)
                }
            }
            Err(_) => {
                failures += 1;
                now + backoff(failures)
            }
        };
    }
}

/// Sleeps until the wall-clock time `at`; false when the service is shutting down.
async fn sleep_until(at: SystemTime, shutdown: &mut ShutdownWatch) -> bool {
    loop {
        if *shutdown.borrow() {
            return false;
        }
        let left = at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        if left.is_zero() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(left.min(MAX_SLEEP)) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    return false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_time_is_the_later_of_five_minutes_and_a_quarter_of_life_before_expiry() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let hour = Duration::from_secs(3600);
        assert_eq!(
            refresh_at(t0, Some(t0 + hour)),
            t0 + hour - Duration::from_secs(300)
        );
        let short = Duration::from_secs(4);
        assert_eq!(
            refresh_at(t0, Some(t0 + short)),
            t0 + Duration::from_secs(3)
        );
        let fifteen = Duration::from_secs(900);
        assert_eq!(
            refresh_at(t0, Some(t0 + fifteen)),
            t0 + Duration::from_secs(675)
        );
        assert_eq!(refresh_at(t0, None), t0 + NO_EXPIRY_RECHECK);
        // Already expired when obtained: due at once.
        assert!(refresh_at(t0, Some(t0 - short)) <= t0);
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        for _ in 0..100 {
            let first = backoff(1);
            assert!(first >= Duration::from_secs(1) && first < Duration::from_millis(1500));
            let third = backoff(3);
            assert!(third >= Duration::from_secs(4) && third < Duration::from_secs(6));
            assert!(backoff(7) >= Duration::from_secs(60) - Duration::from_secs(1));
            assert!(backoff(7) <= BACKOFF_MAX);
            assert_eq!(backoff(1000), BACKOFF_MAX.min(backoff(1000)));
        }
    }
}
