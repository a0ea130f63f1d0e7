//! The background service that keeps every issuer's key set fresh: one task per source,
//! started when the source first appears (start or reload) and ended when no authorizer uses
//! it any more. Each task discovers the key set URL (OIDC discovery, unless `jwks_uri` is
//! set), fetches the set, and sleeps until it is due again (`Cache-Control: max-age` between
//! [`MIN_REFRESH`] and [`MAX_REFRESH`], else `refresh_seconds`), or until a request asks for a
//! fetch now. A failed fetch keeps the last good keys and is retried with backoff.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use log::{info, warn};
use pingora::connectors::http::Connector;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

use super::fetch::{self, FetchOptions};
use super::keys::KeySet;
use super::source::{JwksRegistry, JwksSource};
use crate::upstream::url::UpstreamUrl;

/// Bounds on a key set's `max-age`.
pub const MIN_REFRESH: Duration = Duration::from_secs(60);
pub const MAX_REFRESH: Duration = Duration::from_secs(86_400);
/// One fetch (discovery and key set each): connect, send, read.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Retry delays after failures: 1 s doubling up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

pub struct JwksRefresh {
    pub registry: Arc<JwksRegistry>,
}

#[async_trait]
impl BackgroundService for JwksRefresh {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let connector = Arc::new(Connector::new(None));
        loop {
            for source in self.registry.take_fresh() {
                tokio::spawn(keep_fresh(source, connector.clone()));
            }
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = self.registry.wake.notified() => {}
            }
        }
    }
}

/// The loop of one source; ends when the source is dropped.
async fn keep_fresh(source: Weak<JwksSource>, connector: Arc<Connector>) {
    let mut failures: u32 = 0;
    loop {
        let Some(s) = source.upgrade() else { return };
        let next = match fetch_keys(&s, &connector).await {
            Ok((keys, max_age, skipped)) => {
                if failures > 0 || s.keys().is_none() {
                    info!(
                        "jwks: {}: {} keys loaded{}",
                        s.spec.issuer,
                        keys.len(),
                        if skipped.is_empty() {
                            String::new()
                        } else {
                            format!(" (skipped: {})", skipped.join("; "))
                        }
                    );
                }
                failures = 0;
                crate::metrics::jwks_fetch(&s.spec.issuer, true);
                s.attempted(Some(keys));
                max_age.map_or(s.spec.refresh, |a| a.clamp(MIN_REFRESH, MAX_REFRESH))
            }
            Err(why) => {
                failures += 1;
                let backoff = Duration::from_secs(1 << failures.min(6)).min(MAX_BACKOFF);
                warn!(
                    "jwks: {}: fetch failed ({why}); {} keys, retrying in {}s",
                    s.spec.issuer,
                    if s.keys().is_some() {
                        "keeping the last good"
                    } else {
                        "no"
                    },
                    backoff.as_secs()
                );
                crate::metrics::jwks_fetch(&s.spec.issuer, false);
                s.attempted(None);
                backoff.min(s.spec.refresh)
            }
        };
        // Only the notifier is held while waiting: an unused source is dropped meanwhile.
        let wanted = s.wanted.clone();
        drop(s);
        let deadline = tokio::time::Instant::now() + next;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                _ = wanted.notified() => {
                    // A request's ask that the fetch just made already answered leaves a
                    // stale wake-up: fetch only while one is still wanted.
                    match source.upgrade() {
                        Some(s) if s.fetch_wanted() => break,
                        Some(_) => continue,
                        None => return,
                    }
                }
            }
        }
    }
}

/// Discovery (unless the URL is configured), then the key set.
async fn fetch_keys(
    s: &JwksSource,
    connector: &Connector,
) -> Result<(KeySet, Option<Duration>, Vec<String>), String> {
    let options = FetchOptions {
        ca: s.spec.ca.as_ref().map(|c| c.0.clone()),
        timeout: FETCH_TIMEOUT,
    };
    let url = match &s.spec.jwks_uri {
        Some(u) => u.clone(),
        None => discover(s, connector, &options).await?,
    };
    let got = fetch::get(connector, &url, &options)
        .await
        .map_err(|e| format!("key set {}: {e}", display(&url)))?;
    let (keys, skipped) =
        KeySet::parse(&got.body).map_err(|e| format!("key set {}: {e}", display(&url)))?;
    Ok((keys, got.max_age, skipped))
}

/// OpenID Connect Discovery 1.0 §4: the issuer's configuration document names its key set;
/// its `issuer` must be the configured one exactly (§4.3).
async fn discover(
    s: &JwksSource,
    connector: &Connector,
    options: &FetchOptions,
) -> Result<UpstreamUrl, String> {
    let mut url = s.spec.issuer_url.clone();
    url.base_path = format!("{}/.well-known/openid-configuration", url.base_path);
    let got = fetch::get(connector, &url, options)
        .await
        .map_err(|e| format!("discovery {}: {e}", display(&url)))?;
    let doc: serde_json::Value = serde_json::from_slice(&got.body)
        .map_err(|e| format!("discovery {}: not JSON: {e}", display(&url)))?;
    let issuer = doc
        .get("issuer")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if issuer != s.spec.issuer {
        return Err(format!(
            "discovery {}: names issuer `{}`, not `{}`",
            display(&url),
            issuer.escape_debug(),
            s.spec.issuer
        ));
    }
    let jwks = doc
        .get("jwks_uri")
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("discovery {}: no jwks_uri", display(&url)))?;
    let jwks_url = UpstreamUrl::parse(jwks).map_err(|e| format!("discovery: jwks_uri: {e}"))?;
    if s.spec.issuer_url.https && !jwks_url.https {
        return Err(format!("discovery: jwks_uri `{jwks}` is not https"));
    }
    Ok(jwks_url)
}

fn display(u: &UpstreamUrl) -> String {
    format!(
        "{}://{}{}",
        if u.https { "https" } else { "http" },
        u.host_header,
        u.base_path
    )
}
