//! Throttling and quotas, in API Gateway's model: a route's `throttling` (the whole route),
//! its `client_throttling` (one bucket per caller: client API key, a JWT claim or the client
//! address) and `usage_plans` (a rate and a quota per client API key). Checked in
//! `request_filter` after the authorizer and the client API key, before any AWS call: a request
//! over a limit gets 429 with `Retry-After` and the IETF `RateLimit-Limit`,
//! `RateLimit-Remaining` and `RateLimit-Reset` headers (`answer`).
//!
//! Per process (`local`): `governor`'s GCRA. Fleet-wide (`store`, with `throttling_store`):
//! Redis holds the buckets and quotas, so N gateways enforce one limit; a store that cannot
//! answer within its timeout (or whose circuit breaker is open) falls back to the per-process
//! limiters (`on_failure: allow`) or refuses with 503 (`deny`). Quotas without a store count
//! per process and start again with the process.
//!
//! Order: route, caller, usage plan rate, then quota, so a request refused by a rate is not
//! counted against the quota. A request passing a limit uses one of its tokens even when a
//! later one refuses it.

pub mod answer;
pub mod headers;
pub mod local;
pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::config::{
    ConfigError, GatewayConf, OnStoreFailure, OneOrMany, PeriodConf, QuotaConf, RouteConf,
};
use crate::gateway::GatewayError;
pub use answer::Refusal;
pub use headers::Headroom;
use local::{Limit, LimiterRegistry, LocalLimiter};
use store::{Admission, RedisStore};

/// Who a per-caller limit counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerKey {
    /// The client API key's name (routes with `api_key_required`).
    ApiKey,
    /// A claim of the JWT authorizer's approval (`jwt:sub`).
    Claim(String),
    /// The client address.
    Ip,
}

/// One limit: its per-process limiter, and the name of its bucket in the store.
#[derive(Debug)]
pub struct RateRule {
    pub local: Arc<LocalLimiter>,
    /// `route:<name>`, `client:<route>`, `plan:<name>`: the store key's stem.
    pub id: String,
    /// `id`'s seeded hash: with a caller's, the store's lease key (no string per request).
    id_hash: u64,
}

/// A route's limits.
#[derive(Debug, Default)]
pub struct RouteThrottle {
    pub route: Option<RateRule>,
    pub client: Option<(CallerKey, RateRule)>,
}

/// A usage plan, as the keys it lists see it.
#[derive(Debug)]
pub struct Plan {
    pub name: Arc<str>,
    pub throttle: Option<RateRule>,
    pub quota: Option<QuotaConf>,
}

/// The fleet-wide store and what to do when it cannot answer.
#[derive(Debug)]
pub struct Store {
    pub redis: Arc<RedisStore>,
    pub on_failure: OnStoreFailure,
}

/// The process's throttling of one load: plans by client API key, the store, per-process
/// quota counts.
#[derive(Debug, Default)]
pub struct Throttling {
    plans: HashMap<Arc<str>, Arc<Plan>>,
    pub store: Option<Store>,
    /// Quotas without a store: (plan, key) → (period label, count).
    local_quotas: Mutex<HashMap<QuotaOf, (String, u64)>>,
}

/// A quota's owner: (plan, client API key).
type QuotaOf = (Arc<str>, Arc<str>);

/// Who is calling, as the limits key it.
pub struct Caller<'a> {
    pub api_key: Option<&'a str>,
    pub grant: Option<&'a crate::authorizers::Grant>,
    pub ip: Option<std::net::IpAddr>,
}

fn rule(registry: &LimiterRegistry, id: String, limit: Limit, keyed: bool) -> RateRule {
    use std::hash::BuildHasher;
    RateRule {
        local: registry.get(&id, limit, keyed),
        id_hash: CALLER_SEED.hash_one(&id),
        id,
    }
}

impl Throttling {
    /// Checks and compiles `throttling_store` and `usage_plans`.
    pub fn build(
        file: &std::path::Path,
        g: &GatewayConf,
        registry: &LimiterRegistry,
        stores: &StoreCache,
    ) -> Result<Throttling, ConfigError> {
        let err = |field: String, reason: String| ConfigError {
            file: file.to_path_buf(),
            field,
            reason,
        };
        let mut t = Throttling::default();
        let mut names = HashMap::new();
        for (i, p) in g.usage_plans.iter().enumerate() {
            let at = |f: &str| format!("usage_plans[{i}].{f}");
            crate::config::check_label_name(&p.name).map_err(|r| err(at("name"), r))?;
            if names.insert(p.name.as_str(), i).is_some() {
                return Err(err(
                    at("name"),
                    format!("duplicate usage plan `{}`", p.name),
                ));
            }
            if p.throttle.is_none() && p.quota.is_none() {
                return Err(err(
                    format!("usage_plans[{i}]"),
                    "set `throttle`, `quota` or both".into(),
                ));
            }
            let throttle = match p.throttle {
                Some(c) => {
                    let limit = Limit::new(c.rate_limit, c.burst_limit)
                        .map_err(|r| err(at("throttle"), r))?;
                    Some(rule(registry, format!("plan:{}", p.name), limit, true))
                }
                None => None,
            };
            if let Some(q) = p.quota {
                if q.limit == 0 {
                    return Err(err(at("quota.limit"), "must be at least 1".into()));
                }
            }
            let plan = Arc::new(Plan {
                name: p.name.as_str().into(),
                throttle,
                quota: p.quota,
            });
            for (j, key) in p.api_keys.iter().enumerate() {
                if !g.api_keys.iter().any(|k| &k.name == key) {
                    return Err(err(
                        at(&format!("api_keys[{j}]")),
                        format!("no client API key named `{key}` (top-level `api_keys`)"),
                    ));
                }
                if let Some(other) = t.plans.insert(key.as_str().into(), plan.clone()) {
                    return Err(err(
                        at(&format!("api_keys[{j}]")),
                        format!(
                            "`{key}` is already in usage plan `{}`: a key belongs to one plan",
                            other.name
                        ),
                    ));
                }
            }
        }
        if let Some(s) = &g.throttling_store {
            let (urls, cluster) = match &s.redis.url {
                OneOrMany::One(u) => (vec![u.expose().to_string()], false),
                OneOrMany::Many(us) => (us.iter().map(|u| u.expose().to_string()).collect(), true),
            };
            if urls.is_empty() {
                return Err(err(
                    "throttling_store.redis.url".into(),
                    "name at least one node".into(),
                ));
            }
            if !(1..=10_000).contains(&s.timeout) {
                return Err(err(
                    "throttling_store.timeout".into(),
                    "must be 1 to 10000 ms".into(),
                ));
            }
            let tls = match &s.redis.tls {
                None => None,
                Some(conf) => {
                    if urls.iter().any(|u| !u.starts_with("rediss://")) {
                        return Err(err(
                            "throttling_store.redis.tls".into(),
                            "needs `rediss://` URLs (TLS); `redis://` is plain TCP".into(),
                        ));
                    }
                    if urls.iter().any(|u| url_fragment(u) == Some("insecure")) {
                        return Err(err(
                            "throttling_store.redis.tls".into(),
                            "a URL ending in `#insecure` verifies nothing, and redis-rs sends \
                             no client certificate then: drop `#insecure` or `tls`"
                                .into(),
                        ));
                    }
                    Some(
                        load_store_tls(file, conf)
                            .map_err(|(f, r)| err(format!("throttling_store.redis.tls.{f}"), r))?,
                    )
                }
            };
            let settings = store::StoreSettings {
                urls,
                cluster,
                timeout: Duration::from_millis(s.timeout),
                key_prefix: s.redis.key_prefix.clone(),
                tls,
            };
            let redis = stores
                .get(settings)
                .map_err(|r| err("throttling_store.redis.url".into(), r))?;
            t.store = Some(Store {
                redis,
                on_failure: s.on_failure,
            });
        }
        Ok(t)
    }

    /// The plan of a client API key.
    pub fn plan_of(&self, api_key: &str) -> Option<&Arc<Plan>> {
        self.plans.get(api_key)
    }

    pub fn has_plans(&self) -> bool {
        !self.plans.is_empty()
    }

    /// Runs every limit that applies; `Ok`: where the request stands against the tightest
    /// one it passed (`None`: no limit applied); `Err` is the answer (429, or 503 with `deny`).
    pub async fn check(
        &self,
        route_name: &str,
        rt: Option<&RouteThrottle>,
        caller: &Caller<'_>,
    ) -> Result<Option<Headroom>, GatewayError> {
        let mut room = None;
        if let Some(rt) = rt {
            if let Some(r) = &rt.route {
                let h = self.take(route_name, "route", r, None).await?;
                room = Some(Headroom::tighter(room, h));
            }
            if let Some((key, r)) = &rt.client {
                let id = caller_id(key, caller);
                let h = self.take(route_name, "client", r, Some(&id)).await?;
                room = Some(Headroom::tighter(room, h));
            }
        }
        let Some(key) = caller.api_key else {
            return Ok(room);
        };
        let Some(plan) = self.plans.get(key) else {
            return Ok(room);
        };
        if let Some(r) = &plan.throttle {
            let id = CallerId::Name(std::borrow::Cow::Borrowed(key));
            let h = self.take(route_name, "plan", r, Some(&id)).await?;
            room = Some(Headroom::tighter(room, h));
        }
        if let Some(q) = plan.quota {
            let h = self.count_quota(route_name, plan, key, q).await?;
            room = Some(Headroom::tighter(room, h));
        }
        Ok(room)
    }

    /// One token of `r` for caller `id` (`None`: a route-wide limit).
    async fn take(
        &self,
        route_name: &str,
        kind: &'static str,
        r: &RateRule,
        id: Option<&CallerId<'_>>,
    ) -> Result<Headroom, GatewayError> {
        let limit = r.local.limit;
        let caller = id.map_or(0, CallerId::hash);
        if let Some(s) = &self.store {
            use std::hash::BuildHasher;
            let lease_key = match id {
                None => r.id_hash,
                Some(_) => CALLER_SEED.hash_one((r.id_hash, caller)),
            };
            let store_key = || match id {
                None => r.id.clone(),
                Some(id) => format!("{}:{}", r.id, store_safe(&id.text())),
            };
            match s
                .redis
                .acquire_keyed(lease_key, store_key, limit.rate, u64::from(limit.burst))
                .await
            {
                Ok(a) => {
                    store_answered(&s.redis, "ok");
                    return admit(route_name, kind, &a);
                }
                Err(e) => {
                    store_answered(&s.redis, store_error_label(&e));
                    if s.on_failure == OnStoreFailure::Deny {
                        crate::metrics::throttled(route_name, kind);
                        return Err(answer::store_unavailable());
                    }
                }
            }
        }
        let d = r.local.check(caller);
        if d.allowed {
            // Until the bucket is full again, at the rate.
            let missing = f64::from(limit.burst.saturating_sub(d.remaining));
            return Ok(Headroom {
                limit: u64::from(limit.burst),
                remaining: u64::from(d.remaining),
                reset: Duration::from_secs_f64((missing / limit.rate).min(1e9)),
            });
        }
        crate::metrics::throttled(route_name, kind);
        Err(answer::too_many(Refusal {
            limit: u64::from(limit.burst),
            reset: d.wait,
            retry_after: d.wait,
        }))
    }

    async fn count_quota(
        &self,
        route_name: &str,
        plan: &Plan,
        key: &str,
        q: QuotaConf,
    ) -> Result<Headroom, GatewayError> {
        let now = SystemTime::now();
        if let Some(s) = &self.store {
            let store_key = format!("quota:{}:{key}", plan.name);
            match s
                .redis
                .count_quota(&store_key, q.limit, period_of(q.period), now)
                .await
            {
                Ok(a) => {
                    store_answered(&s.redis, "ok");
                    return admit(route_name, "quota", &a);
                }
                Err(e) => {
                    store_answered(&s.redis, store_error_label(&e));
                    if s.on_failure == OnStoreFailure::Deny {
                        crate::metrics::throttled(route_name, "quota");
                        return Err(answer::store_unavailable());
                    }
                }
            }
        }
        let span = store::period::Span::of(period_of(q.period), now);
        let label = span.name.clone();
        let used = {
            let mut counts = self.local_quotas.lock().unwrap_or_else(|e| e.into_inner());
            let entry = counts
                .entry((plan.name.clone(), key.into()))
                .or_insert_with(|| (label.clone(), 0));
            if entry.0 != label {
                *entry = (label, 0);
            }
            if entry.1 < q.limit {
                entry.1 += 1;
                Ok(entry.1)
            } else {
                Err(entry.1)
            }
        };
        match used {
            Ok(used) => Ok(Headroom {
                limit: q.limit,
                remaining: q.limit - used,
                reset: span.until_end(now),
            }),
            Err(_) => {
                crate::metrics::throttled(route_name, "quota");
                let left = span.until_end(now);
                Err(answer::too_many(Refusal {
                    limit: q.limit,
                    reset: left,
                    retry_after: left,
                }))
            }
        }
    }
}

/// The fragment of a URL (`#insecure`), as redis-rs reads it.
fn url_fragment(u: &str) -> Option<&str> {
    u.split_once('#').map(|(_, f)| f)
}

/// Reads and checks `throttling_store.redis.tls`'s files (relative to the configuration
/// file). Err: (field, reason). Certificates are passed on re-encoded as PEM (text around
/// them dropped), the key as PKCS#8 PEM (native-tls takes no other form; PKCS#1 and SEC1 keys
/// are converted).
fn load_store_tls(
    file: &std::path::Path,
    c: &crate::config::RedisTlsConf,
) -> Result<store::StoreTls, (&'static str, String)> {
    use openssl::pkey::PKey;
    use openssl::x509::X509;
    type Failed = (&'static str, String);
    let read = |field: &'static str, p: &str| -> Result<(std::path::PathBuf, Vec<u8>), Failed> {
        let path = crate::config::validate_resolve(file, p);
        std::fs::read(&path)
            .map(|pem| (path, pem))
            .map_err(|e| (field, format!("cannot read `{p}`: {e}")))
    };
    let certs = |field: &'static str, p: &str| -> Result<(store::PemFile, Vec<X509>), Failed> {
        let (path, pem) = read(field, p)?;
        let certs = X509::stack_from_pem(&pem)
            .map_err(|e| (field, format!("`{p}` is not PEM certificates: {e}")))?;
        if certs.is_empty() {
            return Err((field, format!("`{p}` holds no PEM certificate")));
        }
        let mut out = Vec::new();
        for c in &certs {
            out.extend(c.to_pem().map_err(|e| (field, format!("`{p}`: {e}")))?);
        }
        Ok((store::PemFile { path, pem: out }, certs))
    };
    let ca = match &c.ca_file {
        Some(p) => Some(certs("ca_file", p)?.0),
        None => None,
    };
    let client = match (&c.cert_file, &c.key_file) {
        (None, None) => None,
        (Some(_), None) => {
            return Err((
                "key_file",
                "`cert_file` needs `key_file` (its private key)".into(),
            ))
        }
        (None, Some(_)) => {
            return Err((
                "cert_file",
                "`key_file` needs `cert_file` (the client certificate)".into(),
            ))
        }
        (Some(cp), Some(kp)) => {
            let (cert, chain) = certs("cert_file", cp)?;
            let (path, pem) = read("key_file", kp)?;
            // An empty passphrase callback: an encrypted key fails here instead of prompting.
            let key = PKey::private_key_from_pem_callback(&pem, |_| Ok(0)).map_err(|_| {
                (
                    "key_file",
                    format!("`{kp}` is not an unencrypted PEM private key"),
                )
            })?;
            let matches = chain[0]
                .public_key()
                .map(|pk| pk.public_eq(&key))
                .unwrap_or(false);
            if !matches {
                return Err((
                    "key_file",
                    format!("`{kp}` is not the private key of `{cp}`'s first certificate"),
                ));
            }
            let pkcs8 = key
                .private_key_to_pem_pkcs8()
                .map_err(|e| ("key_file", format!("`{kp}`: {e}")))?;
            Some((cert, store::PemFile { path, pem: pkcs8 }))
        }
    };
    Ok(store::StoreTls { ca, client })
}

fn admit(route_name: &str, kind: &'static str, a: &Admission) -> Result<Headroom, GatewayError> {
    if a.allowed {
        return Ok(Headroom {
            limit: a.limit,
            remaining: a.remaining,
            reset: a.reset,
        });
    }
    crate::metrics::throttled(route_name, kind);
    Err(answer::too_many(Refusal {
        limit: a.limit,
        reset: a.reset,
        retry_after: a.retry_after.unwrap_or(a.reset),
    }))
}

fn period_of(p: PeriodConf) -> store::Period {
    match p {
        PeriodConf::Day => store::Period::Day,
        PeriodConf::Week => store::Period::Week,
        PeriodConf::Month => store::Period::Month,
    }
}

/// Counts a store call and keeps the breaker gauge current.
fn store_answered(redis: &RedisStore, result: &'static str) {
    crate::metrics::throttle_store_call(result);
    crate::metrics::throttle_store_circuit(redis.breaker_open());
}

fn store_error_label(e: &store::StoreError) -> &'static str {
    match e {
        store::StoreError::Timeout => "timeout",
        store::StoreError::Unavailable(_) => "unavailable",
    }
}

/// Who a per-caller limit counts: a name (client API key, claim), an address, or nobody
/// (requests without that identity share one bucket, `-`).
pub enum CallerId<'a> {
    Name(std::borrow::Cow<'a, str>),
    Ip(std::net::IpAddr),
    Nobody,
}

/// The per-process seed of caller hashes (random: callers cannot aim at each other's bucket).
static CALLER_SEED: std::sync::LazyLock<std::collections::hash_map::RandomState> =
    std::sync::LazyLock::new(std::collections::hash_map::RandomState::new);

impl CallerId<'_> {
    /// The per-process limiter's key: no allocation.
    fn hash(&self) -> u64 {
        use std::hash::BuildHasher;
        match self {
            CallerId::Name(n) => CALLER_SEED.hash_one(n.as_ref()),
            CallerId::Ip(ip) => CALLER_SEED.hash_one(ip),
            CallerId::Nobody => CALLER_SEED.hash_one("-"),
        }
    }

    /// The store's key part.
    fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            CallerId::Name(n) => std::borrow::Cow::Borrowed(n.as_ref()),
            CallerId::Ip(ip) => std::borrow::Cow::Owned(ip.to_string()),
            CallerId::Nobody => std::borrow::Cow::Borrowed("-"),
        }
    }
}

/// The caller's id for a per-caller limit.
fn caller_id<'a>(key: &CallerKey, c: &Caller<'a>) -> CallerId<'a> {
    let found = match key {
        CallerKey::ApiKey => c
            .api_key
            .map(|k| CallerId::Name(std::borrow::Cow::Borrowed(k))),
        CallerKey::Claim(name) => c
            .grant
            .and_then(|g| g.lookup(&crate::authorizers::ContextRef::Claim(name.clone())))
            .map(|v| CallerId::Name(std::borrow::Cow::Owned(v))),
        CallerKey::Ip => c.ip.map(CallerId::Ip),
    };
    found.unwrap_or(CallerId::Nobody)
}

/// A caller id as part of a store key: short ones as they are, long ones (claims can be) by
/// their SHA-256, so keys stay small.
fn store_safe(id: &str) -> String {
    use sha2::Digest;
    if id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()) {
        id.to_string()
    } else {
        hex::encode(sha2::Sha256::digest(id.as_bytes()))
    }
}

/// A route's `throttling` and `client_throttling`, checked (`None` without either).
pub fn route_throttle(
    cx: &crate::routing::BuildContext,
    index: usize,
    r: &RouteConf,
    registry: &LimiterRegistry,
) -> Result<Option<RouteThrottle>, ConfigError> {
    let err = |f: &str, reason: String| cx.route_error(index, f, reason);
    if r.throttling.is_none() && r.client_throttling.is_none() {
        return Ok(None);
    }
    let mut rt = RouteThrottle::default();
    if let Some(c) = r.throttling {
        let limit = Limit::new(c.rate_limit, c.burst_limit).map_err(|e| err("throttling", e))?;
        rt.route = Some(rule(registry, format!("route:{}", r.name), limit, false));
    }
    if let Some(c) = &r.client_throttling {
        let limit =
            Limit::new(c.rate_limit, c.burst_limit).map_err(|e| err("client_throttling", e))?;
        let key = match c.key.as_str() {
            "api_key" => {
                if !r.api_key_required {
                    return Err(err(
                        "client_throttling.key",
                        "`api_key` needs `api_key_required: true` on the route".into(),
                    ));
                }
                CallerKey::ApiKey
            }
            "ip" => CallerKey::Ip,
            other => match other.strip_prefix("jwt:") {
                Some(claim) if !claim.is_empty() => {
                    if r.authorizer.is_none() {
                        return Err(err(
                            "client_throttling.key",
                            format!("`{other}` needs a jwt `authorizer` on the route"),
                        ));
                    }
                    CallerKey::Claim(claim.to_string())
                }
                _ => {
                    return Err(err(
                        "client_throttling.key",
                        format!("`{other}` is not `api_key`, `jwt:<claim>` (e.g. jwt:sub) or `ip`"),
                    ))
                }
            },
        };
        rt.client = Some((
            key,
            rule(registry, format!("client:{}", r.name), limit, true),
        ));
    }
    Ok(Some(rt))
}

/// Stores by their settings, kept across reloads (one connection per Redis, its breaker and
/// leases survive a SIGHUP that leaves `throttling_store` as it was).
#[derive(Default)]
pub struct StoreCache {
    current: Mutex<Option<Arc<RedisStore>>>,
}

impl StoreCache {
    pub fn new() -> Arc<StoreCache> {
        Arc::new(StoreCache::default())
    }

    /// Drops the current store's idle leases; returns the keys it still leases.
    pub fn sweep(&self) -> usize {
        let cur = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        cur.map_or(0, |s| s.sweep())
    }

    fn get(&self, s: store::StoreSettings) -> Result<Arc<RedisStore>, String> {
        let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(st) = cur.as_ref().filter(|st| *st.settings() == s) {
            return Ok(st.clone());
        }
        let st = RedisStore::new(s)?;
        *cur = Some(st.clone());
        Ok(st)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_certs::self_signed as cert_and_key;

    fn build(
        dir: &std::path::Path,
        url: &str,
        tls: &str,
        stores: &StoreCache,
    ) -> Result<Throttling, ConfigError> {
        let yaml = format!("throttling_store: {{redis: {{url: '{url}', tls: {tls}}}}}\n");
        let g: GatewayConf = serde_yaml::from_str(&yaml).unwrap();
        Throttling::build(
            &dir.join("gateway.yaml"),
            &g,
            &LimiterRegistry::new(),
            stores,
        )
    }

    #[test]
    fn redis_tls_files_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (cert, key) = cert_and_key("client");
        let (ca, _) = cert_and_key("ca");
        let (_, other_key) = cert_and_key("other");
        std::fs::write(d.join("ca.pem"), [b"a comment\n".as_slice(), &ca].concat()).unwrap();
        std::fs::write(d.join("client.pem"), &cert).unwrap();
        std::fs::write(d.join("client.key"), &key).unwrap();
        std::fs::write(d.join("other.key"), &other_key).unwrap();
        std::fs::write(d.join("text.pem"), "not PEM\n").unwrap();
        let enc = openssl::pkey::PKey::private_key_from_pem(&key)
            .unwrap()
            .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_128_cbc(), b"pw")
            .unwrap();
        std::fs::write(d.join("encrypted.key"), &enc).unwrap();
        let stores = StoreCache::default();
        let tls_url = "rediss://:pw-S3cret@redis.test:6380";
        let cases = [
            (
                "redis://:pw-S3cret@redis.test:6379",
                "{ca_file: ca.pem}",
                "throttling_store.redis.tls",
                "rediss://",
            ),
            (
                "rediss://:pw-S3cret@redis.test:6380/#insecure",
                "{ca_file: ca.pem}",
                "throttling_store.redis.tls",
                "#insecure",
            ),
            (
                tls_url,
                "{ca_file: missing.pem}",
                "throttling_store.redis.tls.ca_file",
                "cannot read `missing.pem`",
            ),
            (
                tls_url,
                "{ca_file: text.pem}",
                "throttling_store.redis.tls.ca_file",
                "`text.pem`",
            ),
            (
                tls_url,
                "{ca_file: client.key}",
                "throttling_store.redis.tls.ca_file",
                "`client.key`",
            ),
            (
                tls_url,
                "{cert_file: client.pem}",
                "throttling_store.redis.tls.key_file",
                "`cert_file` needs `key_file`",
            ),
            (
                tls_url,
                "{key_file: client.key}",
                "throttling_store.redis.tls.cert_file",
                "`key_file` needs `cert_file`",
            ),
            (
                tls_url,
                "{cert_file: client.pem, key_file: missing.key}",
                "throttling_store.redis.tls.key_file",
                "cannot read `missing.key`",
            ),
            (
                tls_url,
                "{cert_file: text.pem, key_file: client.key}",
                "throttling_store.redis.tls.cert_file",
                "`text.pem`",
            ),
            (
                tls_url,
                "{cert_file: client.pem, key_file: client.pem}",
                "throttling_store.redis.tls.key_file",
                "not an unencrypted PEM private key",
            ),
            (
                tls_url,
                "{cert_file: client.pem, key_file: encrypted.key}",
                "throttling_store.redis.tls.key_file",
                "not an unencrypted PEM private key",
            ),
            (
                tls_url,
                "{cert_file: client.pem, key_file: other.key}",
                "throttling_store.redis.tls.key_file",
                "not the private key of `client.pem`",
            ),
        ];
        for (url, tls, field, reason) in cases {
            let e = build(d, url, tls, &stores).map(|_| ()).unwrap_err();
            assert_eq!(e.field, field, "{tls}: {e}");
            assert!(e.reason.contains(reason), "{tls}: {e}");
            assert!(!e.to_string().contains("S3cret"), "{e}");
        }
        // Unknown fields are refused.
        let yaml = "throttling_store: {redis: {url: 'rediss://h', tls: {ca: x}}}";
        assert!(serde_yaml::from_str::<GatewayConf>(yaml).is_err());

        // Accepted: paths relative to the configuration file, text around the PEM dropped, the
        // SEC1 key passed on as PKCS#8; shown by path, never by content.
        let all = "{ca_file: ca.pem, cert_file: client.pem, key_file: client.key}";
        let t = build(d, tls_url, all, &stores).unwrap();
        let s = t.store.as_ref().unwrap().redis.clone();
        let tls = s.settings().tls.clone().unwrap();
        assert_eq!(tls.ca.as_ref().unwrap().pem, ca);
        assert_eq!(tls.ca.as_ref().unwrap().path, d.join("ca.pem"));
        let (c, k) = tls.client.as_ref().unwrap();
        assert_eq!(c.pem, cert);
        assert!(k.pem.starts_with(b"-----BEGIN PRIVATE KEY-----"));
        let shown = format!("{:?}", s.settings());
        assert!(
            shown.contains("client.key") && !shown.contains("BEGIN") && !shown.contains("S3cret"),
            "{shown}"
        );
        // The same files: the same store. Another CA file content: a new store.
        let again = build(d, tls_url, all, &stores).unwrap();
        assert!(Arc::ptr_eq(&s, &again.store.as_ref().unwrap().redis));
        std::fs::write(d.join("ca.pem"), cert_and_key("ca2").0).unwrap();
        let changed = build(d, tls_url, all, &stores).unwrap();
        assert!(!Arc::ptr_eq(&s, &changed.store.as_ref().unwrap().redis));
        // CA only; and a cluster's seeds.
        build(d, tls_url, "{ca_file: ca.pem}", &stores).unwrap();
        let yaml = format!(
            "throttling_store: {{redis: {{url: ['{tls_url}', 'rediss://:pw-S3cret@redis2.test:6380'], tls: {all}}}}}\n"
        );
        let g: GatewayConf = serde_yaml::from_str(&yaml).unwrap();
        let t = Throttling::build(
            &d.join("gateway.yaml"),
            &g,
            &LimiterRegistry::new(),
            &stores,
        )
        .unwrap();
        assert!(t.store.unwrap().redis.settings().cluster);
    }
}
