//! The fleet-wide store's interface. Until the Redis implementation lands, a file with
//! `throttling_store` is refused (`RedisStore::new`), so no configuration silently runs
//! per-process limits it did not ask for.
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub struct StoreSettings {
    pub urls: Vec<String>,
    pub cluster: bool,
    pub timeout: Duration,
    pub key_prefix: String,
}
#[derive(Debug)]
pub struct RedisStore;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}
#[derive(Debug, Clone)]
pub struct Admission {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    pub reset: Duration,
    pub retry_after: Option<Duration>,
}
#[derive(Debug)]
pub enum StoreError {
    Timeout,
    Unavailable(String),
}
impl RedisStore {
    pub fn new(_s: StoreSettings) -> Result<Arc<RedisStore>, String> {
        Err("fleet-wide throttling (Redis) is not available in this build yet".into())
    }
    pub async fn acquire(
        &self,
        _key: &str,
        _rate: f64,
        _burst: u64,
    ) -> Result<Admission, StoreError> {
        Err(StoreError::Unavailable("stub".into()))
    }
    pub async fn count_quota(
        &self,
        _key: &str,
        _limit: u64,
        _period: Period,
        _now: SystemTime,
    ) -> Result<Admission, StoreError> {
        Err(StoreError::Unavailable("stub".into()))
    }
    pub fn breaker_open(&self) -> bool {
        false
    }
}
