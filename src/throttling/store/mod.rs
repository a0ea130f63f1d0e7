//! The fleet-wide throttling store: shared token buckets and quotas in Redis, so N gateways
//! enforce one limit.
//!
//! # Redis side
//!
//! Each operation is one atomic Lua script ([`redis::Script`]: `EVALSHA`, loading the script
//! on `NOSCRIPT`), one key per script:
//! - token bucket `<prefix>tb:{<key>}`: a hash (`t` tokens, `ts` microseconds) refilled with
//!   Redis's own clock (`redis.call('TIME')`), so gateway clocks do not matter; it expires
//!   (`PEXPIRE`) one second after it would be full again (a full bucket and no bucket are the
//!   same thing);
//! - quota `<prefix>q:{<key>}:<period>` (`2026-12-05`, `w2026-11-30` for the week starting that
//!   Monday, `2026-12`): a counter, expiring a day after its period ends. The period comes from
//!   the caller's `now` (tests control the clock); the expiry is relative to it.
//!
//! The `{...}` hash tag puts every key of one limit key in one cluster slot; as each script
//! touches one key, Redis Cluster needs nothing more.
//!
//! # Leases (token buckets)
//!
//! [`RedisStore::acquire`] does not go to Redis for each request. Per key, a process holds a
//! lease (`lease.rs`): tokens taken atomically from the shared bucket in one script call, used
//! locally until they run out or are [`LEASE_TTL`] old (unused tokens are dropped, never
//! returned). The batch is [`LEASE_WINDOW`] (50 ms) worth of the rate, between 1 and
//! [`MAX_BATCH`] (1,000) and at most the burst; the script grants fewer when the bucket holds
//! fewer. Refills run as tasks of their own, one per key at a time. A busy key is refilled
//! ahead: when half a batch is left of a grant that, at the pace it is used, runs out before it
//! expires, the next batch is
//! fetched while requests go on using this one, so at a steady load no request waits for Redis
//! (a slowly used lease is not refilled ahead: those tokens would mostly expire unused). A
//! request that finds the lease empty waits for the refill in flight (under the store
//! timeout) and then shares its tokens. A refused refill (an
//! empty bucket) is remembered until the bucket holds a whole batch again (at most
//! [`MAX_REFUSED_CACHE`]; that is the `retry_after` answered), so a flood of refused requests
//! does not reach Redis either: a saturated key costs each gateway about one call per batch
//! (20 per second at 50 ms batches), not one per refused request. Tokens are not lost by the
//! wait: the shared bucket keeps filling meanwhile (a batch is never larger than the burst).
//!
//! **Over-admission bound.** Every admitted request used a token granted by the shared bucket
//! at most [`LEASE_TTL`] earlier (the lease's clock starts before the script call is sent). A
//! token bucket grants at most `burst + rate × L` tokens in any interval of length `L`, so over
//! any window `W`, across all gateways:
//!
//! `admitted(W) ≤ burst + rate × (W + LEASE_TTL)`
//!
//! (200 ms of TTL: at most `0.2 × rate` above a plain shared bucket's bound) and over the long
//! run admission never exceeds the shared bucket's. `tests/throttling_store.rs` measures it with
//! three stores hammering one key (a run: 446 admitted in 2.0 s at rate 200, burst 50, against
//! a bound of 490 and a plain shared bucket's 450; the worst 500 ms window 143, bound 190).
//! **Under-admission:** leased tokens that go unused are lost,
//! at most two batches per gateway per lease (the one in use and the one fetched ahead), and a
//! gateway may refuse while another holds unused leased tokens: with N gateways, up to
//! `2 × (N - 1) × batch` tokens of a nearly empty bucket (a batch is at most 50 ms of the rate).
//!
//! The lease table holds at most [`MAX_LEASED_KEYS`] keys (a 64-bit hash of the limit and the
//! caller each; the Redis key's text is made once per key); a key unused for [`LEASE_IDLE`] is
//! dropped by the background sweep. While the table is full, a new key's requests each take
//! one token from Redis without a lease (exact, one round trip each).
//!
//! # Quotas
//!
//! [`RedisStore::count_quota`] counts each admitted request in Redis (one script call: refuse
//! at the limit, else `INCR`): never over or under the limit, restarts lose nothing (the count
//! lives in Redis), and the cost is one round trip per counted request. A refused period is
//! remembered locally (per key, period and limit; at most 60 s, so a reset in Redis is
//! noticed) and refused without Redis. A call that timed out may still run in Redis later: a
//! request refused (or let through by `on_failure`) may also have been counted, and tokens a
//! timed-out refill took are lost; both err on the side of admitting less. Leasing quotas in batches would save those round trips
//! but lose the unused part of every lease for the period (under-admission that grows with the
//! number of gateways and restarts), the wrong trade for a quota someone paid for.
//!
//! # Connections
//!
//! One multiplexed connection per process is the pool: redis-rs pipelines every concurrent
//! command on it (no head-of-line wait for a free connection, no per-request connect), and one
//! connection per gateway keeps Redis's connection count at the fleet size. Standalone: a
//! [`ConnectionManager`] (reconnects itself, with backoff); cluster: the cluster client's
//! connection (one multiplexed connection per node, slot map refreshed on `MOVED`, reconnects
//! from the seed nodes). Both are created on first use, inside the caller's Tokio runtime
//! (creating them spawns their driver tasks): [`RedisStore::new`] does no I/O.
//!
//! TLS (`rediss://`) goes through native-tls (OpenSSL). [`StoreSettings::tls`] hands redis-rs
//! a CA and a client certificate ([`redis::TlsCertificates`]): `Client::build_with_tls`
//! standalone, `ClusterClientBuilder::certs` for a cluster (which redis-rs 1.8.2 compiles only
//! with its `tls-rustls` feature, hence that feature in Cargo.toml; the connections stay on
//! native-tls, which redis-rs picks for Tokio without `tokio-rustls-comp`, and it fills in the
//! native-tls certificates as well). A CA replaces the system store rather than adding to it
//! (see [`StoreTls`]). Authentication is the URL's (`redis://user:password@...`): redis-rs
//! sends `AUTH` on each connection; a refused password is an `Unavailable` error naming no
//! password.
//!
//! # Failures
//!
//! Every operation, including a wait for another request's refill, is bounded by
//! [`StoreSettings::timeout`] ([`StoreError::Timeout`]); the connection and response timeouts
//! of the client are set to it too. Errors and timeouts feed a circuit breaker (`breaker.rs`:
//! 3 consecutive failures open it for 1 s, doubling up to 30 s, one probe when half-open); while
//! open, calls fail at once with `Unavailable("circuit open")`, and the connection is
//! dropped: the probe makes a new one. What a request does then (the route's `on_failure`) is
//! the caller's policy.
//!
//! With Redis Cluster the breaker counts consecutive failures across all nodes: one dead node
//! among answering ones rarely opens it, so requests for its slots each wait the timeout
//! (never longer) until the cluster fails them over or the node is back, while the other
//! slots keep working (`redis_cluster_node_killed_and_restarted`).
//!
//! Create one store per process and keep it across configuration reloads while its settings
//! do not change (a new store is a new connection).

mod breaker;
mod lease;
pub(crate) mod period;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;
use redis::{FromRedisValue, Script, ScriptInvocation};

pub use period::Period;

use breaker::Breaker;
use lease::{KeyLease, LeaseTable, Refill, Take, Want};
use period::Span;

/// How long leased tokens may be used.
pub const LEASE_TTL: Duration = Duration::from_millis(200);
/// A lease is this long's worth of the rate...
pub const LEASE_WINDOW: Duration = Duration::from_millis(50);
/// ...and at most this many tokens.
pub const MAX_BATCH: u64 = 1000;
/// Longest a refused refill is remembered (a rate change is noticed within it).
pub const MAX_REFUSED_CACHE: Duration = Duration::from_secs(1);
/// A lease unused this long is dropped by the sweep.
pub const LEASE_IDLE: Duration = Duration::from_secs(10);
/// Keys in the lease table (and in the refused-quota table).
pub const MAX_LEASED_KEYS: u64 = 100_000;
/// Seeds the 64-bit lease keys of [`RedisStore::acquire`]'s string keys.
static KEY_SEED: std::sync::LazyLock<std::collections::hash_map::RandomState> =
    std::sync::LazyLock::new(std::collections::hash_map::RandomState::new);
/// Lowest rate a bucket refills at: a rate that is not a positive number is taken as this.
const MIN_RATE: f64 = 1e-6;
/// Redis keeps a quota counter this long after its period ends.
const QUOTA_GRACE: Duration = Duration::from_secs(86_400);

/// Where the shared state lives.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// One URL: a standalone Redis (`redis://` or `rediss://`); several (with `cluster`): the
    /// seed nodes of a Redis Cluster.
    pub urls: Vec<String>,
    pub cluster: bool,
    /// Bound of each store call.
    pub timeout: Duration,
    /// Prefix of every key, e.g. `lp:`.
    pub key_prefix: String,
    /// `rediss://` only: the CA to trust and a client certificate (`throttling_store.redis.tls`).
    pub tls: Option<StoreTls>,
}

/// PEM read from a file: compared by content (a file whose content changed makes a new store
/// on reload), shown by its path only (never the key material).
#[derive(Clone, PartialEq, Eq)]
pub struct PemFile {
    pub path: std::path::PathBuf,
    pub pem: Vec<u8>,
}

impl std::fmt::Debug for PemFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.path)
    }
}

/// TLS material for `rediss://` (redis-rs [`redis::TlsCertificates`]). With `ca`, only its
/// certificates are trusted: redis-rs 1.8.2 turns native-tls's built-in roots off when given
/// root certificates (`disable_built_in_roots`, an empty OpenSSL store plus these), so the
/// system store no longer counts. Without `ca`, the system store is used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreTls {
    /// CA certificates (PEM).
    pub ca: Option<PemFile>,
    /// Client certificate (chain) and its private key (PEM, the key as PKCS#8: native-tls
    /// takes no other form).
    pub client: Option<(PemFile, PemFile)>,
}

impl StoreTls {
    fn certificates(&self) -> redis::TlsCertificates {
        redis::TlsCertificates {
            client_tls: self
                .client
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig {
                    client_cert: cert.pem.clone(),
                    client_key: key.pem.clone(),
                }),
            root_cert: self.ca.as_ref().map(|ca| ca.pem.clone()),
        }
    }
}

impl std::fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSettings")
            .field(
                "urls",
                &self.urls.iter().map(|u| redact(u)).collect::<Vec<_>>(),
            )
            .field("cluster", &self.cluster)
            .field("timeout", &self.timeout)
            .field("key_prefix", &self.key_prefix)
            .field("tls", &self.tls)
            .finish()
    }
}

/// The answer for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admission {
    pub allowed: bool,
    /// The bucket size, or the quota.
    pub limit: u64,
    /// Tokens left (the shared bucket at the last refill plus this process's lease: an
    /// estimate), or requests left in the period.
    pub remaining: u64,
    /// Until the bucket is full again / the period ends.
    pub reset: Duration,
    /// When refused: when to try again.
    pub retry_after: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// No answer within the store timeout.
    Timeout,
    /// Connection refused, circuit open, script error...
    Unavailable(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Timeout => f.write_str("throttling store: timeout"),
            StoreError::Unavailable(why) => write!(f, "throttling store unavailable: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Counters of Redis calls (each script invocation), for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub calls_ok: u64,
    pub calls_failed: u64,
    pub calls_timeout: u64,
    /// Calls refused at once by the open circuit breaker.
    pub calls_short_circuited: u64,
    /// Requests that found no leased token and waited for a refill.
    pub lease_waits: u64,
}

#[derive(Default)]
struct Counters {
    ok: AtomicU64,
    failed: AtomicU64,
    timeout: AtomicU64,
    short: AtomicU64,
    waits: AtomicU64,
}

#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

enum Client {
    Single(Box<redis::Client>),
    Cluster(Box<redis::cluster::ClusterClient>),
}

/// A refused quota period: refused locally until it ends (or the entry's 60 s are up).
#[derive(Clone)]
struct Exhausted {
    period: String,
    limit: u64,
    used: u64,
}

/// The shared store; see the module documentation.
pub struct RedisStore {
    settings: StoreSettings,
    client: Client,
    conn: Mutex<Option<Conn>>,
    breaker: Breaker,
    counters: Counters,
    leases: LeaseTable,
    exhausted: moka::sync::Cache<String, Exhausted>,
    bucket: Script,
    quota: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("settings", &self.settings)
            .field("breaker_open", &self.breaker_open())
            .finish_non_exhaustive()
    }
}

/// The URL with its password replaced by `***`.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    let user = match rest[..at].find(':') {
        Some(colon) => &rest[..colon],
        None => "",
    };
    format!("{}{user}:***{}", &url[..scheme_end + 3], &rest[at..])
}

/// Atomically takes up to `ARGV[3]` tokens from the bucket `KEYS[1]` (`ARGV[1]` tokens per
/// second, `ARGV[2]` burst). Returns {granted, tokens left (floor), ms until full, ms until
/// the bucket holds `ARGV[3]` tokens again}.
const BUCKET_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(v[1])
local ts = tonumber(v[2])
if tokens == nil or ts == nil then
  tokens = burst
elseif now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000000)
end
if tokens > burst then tokens = burst end
local granted = math.min(want, math.floor(tokens))
if granted < 0 then granted = 0 end
tokens = tokens - granted
local cap = 1000000000000000
local full_ms = math.min(cap, math.ceil((burst - tokens) * 1000 / rate))
local retry_ms = 0
if tokens < want then retry_ms = math.min(cap, math.ceil((want - tokens) * 1000 / rate)) end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], full_ms + 1000)
return {granted, math.floor(tokens), full_ms, retry_ms}
"#;

/// Counts one request against the quota counter `KEYS[1]` (limit `ARGV[1]`), setting its
/// expiry (`ARGV[2]` ms) when it has none. Returns {1 if counted else 0, count}.
const QUOTA_LUA: &str = r#"
local limit = tonumber(ARGV[1])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= limit then return {0, used} end
used = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, used}
"#;

/// Tokens asked for per refill.
pub fn lease_batch(rate: f64, burst: u64) -> u64 {
    let n = (rate * LEASE_WINDOW.as_secs_f64()).ceil();
    let n = if n.is_finite() { n as u64 } else { MAX_BATCH };
    n.clamp(1, MAX_BATCH).min(burst.max(1))
}

impl RedisStore {
    /// No I/O here (never blocks start-up); connects on first use and reconnects itself.
    /// Err: no URL, several URLs without `cluster`, or a URL that does not parse (named,
    /// without its password).
    pub fn new(s: StoreSettings) -> Result<Arc<RedisStore>, String> {
        if s.urls.is_empty() {
            return Err("throttling store: no Redis URL".into());
        }
        for u in &s.urls {
            redis::Client::open(u.as_str())
                .map_err(|e| format!("throttling store: Redis URL {}: {e}", redact(u)))?;
            if s.tls.is_some() && !u.starts_with("rediss://") {
                return Err(format!(
                    "throttling store: TLS certificates need a rediss:// URL, not {}",
                    redact(u)
                ));
            }
        }
        let client = if s.cluster {
            let mut b = redis::cluster::ClusterClient::builder(s.urls.iter().map(String::as_str))
                .connection_timeout(s.timeout)
                .response_timeout(s.timeout)
                .retries(2);
            if let Some(tls) = &s.tls {
                b = b.certs(tls.certificates());
            }
            let c = b
                .build()
                .map_err(|e| format!("throttling store: Redis Cluster URLs: {e}"))?;
            Client::Cluster(Box::new(c))
        } else {
            if s.urls.len() > 1 {
                return Err(
                    "throttling store: several Redis URLs are only for a cluster (cluster: true)"
                        .into(),
                );
            }
            let c = match &s.tls {
                None => redis::Client::open(s.urls[0].as_str()),
                Some(tls) => redis::Client::build_with_tls(s.urls[0].as_str(), tls.certificates()),
            };
            Client::Single(Box::new(c.map_err(|e| {
                format!("throttling store: Redis URL {}: {e}", redact(&s.urls[0]))
            })?))
        };
        let leases = LeaseTable::new(MAX_LEASED_KEYS as usize);
        let exhausted = moka::sync::Cache::builder()
            .max_capacity(MAX_LEASED_KEYS)
            .time_to_live(Duration::from_secs(60))
            .build();
        Ok(Arc::new(RedisStore {
            settings: s,
            client,
            conn: Mutex::new(None),
            breaker: Breaker::new(),
            counters: Counters::default(),
            leases,
            exhausted,
            bucket: Script::new(BUCKET_LUA),
            quota: Script::new(QUOTA_LUA),
        }))
    }

    /// The settings it was made with (a reload keeps the store when they are unchanged).
    pub fn settings(&self) -> &StoreSettings {
        &self.settings
    }

    /// Drops leases unused for [`LEASE_IDLE`] (the background sweep, every 10 s); returns the
    /// keys still leased.
    pub fn sweep(&self) -> usize {
        self.exhausted.run_pending_tasks();
        self.leases.sweep(LEASE_IDLE)
    }

    /// Keys leased now.
    pub fn leased_keys(&self) -> usize {
        self.leases.len()
    }

    /// Whether the circuit breaker is open (calls fail at once).
    pub fn breaker_open(&self) -> bool {
        self.breaker.is_open()
    }

    pub fn stats(&self) -> StoreStats {
        let c = &self.counters;
        StoreStats {
            calls_ok: c.ok.load(Ordering::Relaxed),
            calls_failed: c.failed.load(Ordering::Relaxed),
            calls_timeout: c.timeout.load(Ordering::Relaxed),
            calls_short_circuited: c.short.load(Ordering::Relaxed),
            lease_waits: c.waits.load(Ordering::Relaxed),
        }
    }

    /// One request against the shared bucket `key`: `rate` tokens per second, `burst` bucket
    /// size. Served from this process's lease when it has tokens (see the module doc).
    pub async fn acquire(
        self: &Arc<Self>,
        key: &str,
        rate: f64,
        burst: u64,
    ) -> Result<Admission, StoreError> {
        use std::hash::BuildHasher;
        let id = KEY_SEED.hash_one(key);
        self.acquire_keyed(id, || key.to_string(), rate, burst)
            .await
    }

    /// [`acquire`](Self::acquire) with the key given as a 64-bit hash (the request path's:
    /// no string per request) and a function making its text, called when this process sees
    /// the key for the first time.
    pub async fn acquire_keyed(
        self: &Arc<Self>,
        id: u64,
        key: impl FnOnce() -> String,
        rate: f64,
        burst: u64,
    ) -> Result<Admission, StoreError> {
        let rate = if rate.is_finite() && rate > MIN_RATE {
            rate
        } else {
            MIN_RATE
        };
        if burst == 0 {
            return Ok(Admission {
                allowed: false,
                limit: 0,
                remaining: 0,
                reset: Duration::ZERO,
                retry_after: None,
            });
        }
        let prefix = &self.settings.key_prefix;
        let mut key = Some(key);
        let mut redis_key = || {
            format!(
                "{prefix}tb:{{{}}}",
                key.take().map(|k| k()).unwrap_or_default()
            )
        };
        let Some(lease) = self.leases.get(id, &mut redis_key) else {
            return self.acquire_unleased(&redis_key(), rate, burst).await;
        };
        let batch = lease_batch(rate, burst);
        let mut deadline = None;
        loop {
            let mut start = false;
            let want = Want {
                rate,
                burst,
                batch,
                timeout: self.settings.timeout,
            };
            let taken = lease.lock().take(want, Instant::now(), &mut start);
            if start {
                self.refill(lease.clone(), rate, burst, batch);
            }
            let generation = match taken {
                Take::Answer(a) => return Ok(a),
                Take::Wait { generation } => generation,
            };
            // Wait for the refill in flight: the wake-up is registered before the state is
            // looked at again, so a refill ending in between is not missed.
            let refilled = lease.refilled.notified();
            let still_running = {
                let l = lease.lock();
                if let Some(e) = l.failed_since(generation) {
                    return Err(e);
                }
                l.generation_is(generation)
            };
            if still_running {
                if deadline.is_none() {
                    self.counters.waits.fetch_add(1, Ordering::Relaxed);
                    crate::metrics::throttle_lease_wait();
                }
                let dl = *deadline
                    .get_or_insert_with(|| tokio::time::Instant::now() + self.settings.timeout);
                if tokio::time::timeout_at(dl, refilled).await.is_err() {
                    return Err(StoreError::Timeout);
                }
                if let Some(e) = lease.lock().failed_since(generation) {
                    return Err(e);
                }
            }
        }
    }

    /// Starts the refill of `lease` as a task of its own (its waiters do not depend on any one
    /// request staying), under the store timeout.
    fn refill(self: &Arc<Self>, lease: Arc<KeyLease>, rate: f64, burst: u64, batch: u64) {
        let store = self.clone();
        tokio::spawn(async move {
            let sent = Instant::now();
            let deadline = tokio::time::Instant::now() + store.settings.timeout;
            let r = store
                .take_tokens(&lease.redis_key, rate, burst, batch, deadline)
                .await;
            lease.lock().finish(rate, burst, sent, r);
            lease.refilled.notify_waiters();
        });
    }

    /// One script call taking up to `batch` tokens from the shared bucket `redis_key`.
    async fn take_tokens(
        &self,
        redis_key: &str,
        rate: f64,
        burst: u64,
        batch: u64,
        deadline: tokio::time::Instant,
    ) -> Result<Refill, StoreError> {
        let mut inv = self.bucket.key(redis_key);
        inv.arg(rate.to_string()).arg(burst).arg(batch);
        let (granted, left, full_ms, retry_ms): (u64, u64, u64, u64) =
            self.call(&inv, deadline).await?;
        Ok(Refill {
            granted,
            left,
            full_ms,
            retry_ms,
        })
    }

    /// A key the full lease table has no room for: one token straight from Redis per request.
    async fn acquire_unleased(
        &self,
        redis_key: &str,
        rate: f64,
        burst: u64,
    ) -> Result<Admission, StoreError> {
        let sent = Instant::now();
        let deadline = tokio::time::Instant::now() + self.settings.timeout;
        let r = self
            .take_tokens(redis_key, rate, burst, 1, deadline)
            .await?;
        Ok(Admission {
            allowed: r.granted > 0,
            limit: burst,
            remaining: r.left,
            reset: Duration::from_millis(r.full_ms),
            retry_after: (r.granted == 0).then(|| {
                let until = sent + Duration::from_millis(r.retry_ms.max(1));
                until
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1))
            }),
        })
    }

    /// One request against the quota `key`: at most `limit` per period (UTC; weeks start on
    /// Monday) containing `now`. Counted in Redis (see the module doc).
    pub async fn count_quota(
        &self,
        key: &str,
        limit: u64,
        period: Period,
        now: SystemTime,
    ) -> Result<Admission, StoreError> {
        let span = Span::of(period, now);
        let reset = span.until_end(now);
        let refused = |used: u64| Admission {
            allowed: false,
            limit,
            remaining: limit.saturating_sub(used),
            reset,
            retry_after: Some(reset),
        };
        let redis_key = format!("{}q:{{{key}}}:{}", self.settings.key_prefix, span.name);
        if let Some(e) = self.exhausted.get(&redis_key) {
            if e.period == span.name && e.limit == limit {
                return Ok(refused(e.used));
            }
        }
        let expire_ms = (reset + QUOTA_GRACE).as_millis() as u64;
        let mut inv = self.quota.key(&redis_key);
        inv.arg(limit).arg(expire_ms);
        let deadline = tokio::time::Instant::now() + self.settings.timeout;
        let (counted, used): (u64, u64) = self.call(&inv, deadline).await?;
        if counted == 0 {
            self.exhausted.insert(
                redis_key,
                Exhausted {
                    period: span.name,
                    limit,
                    used,
                },
            );
            return Ok(refused(used));
        }
        Ok(Admission {
            allowed: true,
            limit,
            remaining: limit.saturating_sub(used),
            reset,
            retry_after: None,
        })
    }

    /// The connection, created on first use (inside the caller's runtime).
    fn conn(&self) -> Result<Conn, StoreError> {
        let mut slot = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let t = self.settings.timeout;
        let c = match &self.client {
            Client::Single(client) => {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(t))
                    .set_response_timeout(Some(t))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_secs(1));
                Conn::Single(
                    ConnectionManager::new_lazy_with_config((**client).clone(), config)
                        .map_err(|e| StoreError::Unavailable(e.to_string()))?,
                )
            }
            Client::Cluster(client) => {
                let config = redis::cluster::ClusterConfig::new()
                    .set_connection_timeout(t)
                    .set_response_timeout(t);
                Conn::Cluster(client.get_pending_async_connection_with_config(config))
            }
        };
        *slot = Some(c.clone());
        Ok(c)
    }

    /// One script call under the breaker and the deadline.
    async fn call<T: FromRedisValue>(
        &self,
        inv: &ScriptInvocation<'_>,
        deadline: tokio::time::Instant,
    ) -> Result<T, StoreError> {
        let Some(permit) = self.breaker.permit() else {
            self.counters.short.fetch_add(1, Ordering::Relaxed);
            crate::metrics::throttle_redis_call("short_circuited");
            return Err(StoreError::Unavailable("circuit open".into()));
        };
        let conn = match self.conn() {
            Ok(c) => c,
            Err(e) => {
                permit.done(false);
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                crate::metrics::throttle_redis_call("failed");
                return Err(e);
            }
        };
        let run = async {
            match conn {
                Conn::Single(mut c) => inv.invoke_async(&mut c).await,
                Conn::Cluster(mut c) => inv.invoke_async(&mut c).await,
            }
        };
        let (counter, result) = match tokio::time::timeout_at(deadline, run).await {
            Ok(Ok(v)) => {
                permit.done(true);
                self.counters.ok.fetch_add(1, Ordering::Relaxed);
                crate::metrics::throttle_redis_call("ok");
                return Ok(v);
            }
            Ok(Err(e)) if e.is_timeout() => (&self.counters.timeout, StoreError::Timeout),
            Ok(Err(e)) => (
                &self.counters.failed,
                StoreError::Unavailable(e.to_string()),
            ),
            Err(_) => (&self.counters.timeout, StoreError::Timeout),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        crate::metrics::throttle_redis_call(match result {
            StoreError::Timeout => "timeout",
            StoreError::Unavailable(_) => "failed",
        });
        if permit.done(false) {
            // The breaker just opened: the half-open probe starts from a new connection, made
            // in the prober's runtime (a connection whose runtime or state went bad heals).
            *self.conn.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        Err(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("redis://:s3cret@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(redact("rediss://u:p@w@h:6380"), "rediss://u:***@h:6380");
        assert_eq!(redact("redis://h:6379"), "redis://h:6379");
        assert_eq!(redact("redis://onlyuser@h"), "redis://:***@h");
        let s = StoreSettings {
            urls: vec!["redis://admin:hunter2@127.0.0.1:1".into()],
            cluster: false,
            timeout: Duration::from_millis(50),
            key_prefix: "lp:".into(),
            tls: None,
        };
        assert!(!format!("{s:?}").contains("hunter2"));
        let store = RedisStore::new(s).unwrap();
        let shown = format!("{store:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("admin:***@"),
            "{shown}"
        );
    }

    #[test]
    fn new_rejects_bad_urls_without_io() {
        let s = |urls: &[&str], cluster| StoreSettings {
            urls: urls.iter().map(|u| u.to_string()).collect(),
            cluster,
            timeout: Duration::from_millis(50),
            key_prefix: "lp:".into(),
            tls: None,
        };
        let e = RedisStore::new(s(&["http://:pw@x"], false)).unwrap_err();
        assert!(e.contains("http://:***@x") && !e.contains("pw"), "{e}");
        assert!(RedisStore::new(s(&[], false)).is_err());
        assert!(RedisStore::new(s(&["redis://a", "redis://b"], false)).is_err());
        RedisStore::new(s(&["redis://a:1", "redis://b:2"], true)).unwrap();
        RedisStore::new(s(&["rediss://a:1"], false)).unwrap();
    }

    #[test]
    fn batch_sizes() {
        assert_eq!(lease_batch(1.0, 10), 1);
        assert_eq!(lease_batch(100.0, 10), 5);
        assert_eq!(lease_batch(10_000.0, 1_000), 500);
        assert_eq!(lease_batch(100_000.0, 10_000), MAX_BATCH);
        assert_eq!(lease_batch(10_000.0, 3), 3);
        assert_eq!(lease_batch(f64::INFINITY, 100), 100);
        assert_eq!(lease_batch(f64::INFINITY, 100_000), MAX_BATCH);
    }
}
