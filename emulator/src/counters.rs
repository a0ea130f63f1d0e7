//! What the tests count: fetches of the JWKS and of the OIDC discovery document, and Invokes
//! per bare function name. One instance is shared by the listeners; `GET /__emulator/counters`
//! serves [`Counters::document`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;

/// The counters of one emulator process.
#[derive(Debug, Default)]
pub struct Counters {
    jwks_fetches: AtomicU64,
    discovery_fetches: AtomicU64,
    invocations: Mutex<BTreeMap<String, u64>>,
}

#[derive(Serialize)]
struct Document<'a> {
    jwks_fetches: u64,
    discovery_fetches: u64,
    invocations: &'a BTreeMap<String, u64>,
}

impl Counters {
    /// Counts one fetch of `/.well-known/jwks.json`.
    pub fn jwks_fetched(&self) {
        self.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    }

    /// Counts one fetch of `/.well-known/openid-configuration`.
    pub fn discovery_fetched(&self) {
        self.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    }

    /// Counts one Invoke of the function `name`; the count so far, this one included.
    pub fn invoked(&self, name: &str) -> u64 {
        let mut invocations = self.invocations.lock().unwrap_or_else(|p| p.into_inner());
        let n = invocations.entry(name.to_string()).or_insert(0);
        *n += 1;
        *n
    }

    /// `{"jwks_fetches":N,"discovery_fetches":N,"invocations":{"name":N,...}}`.
    pub fn document(&self) -> Vec<u8> {
        let invocations = self.invocations.lock().unwrap_or_else(|p| p.into_inner());
        let doc = Document {
            jwks_fetches: self.jwks_fetches.load(Ordering::SeqCst),
            discovery_fetches: self.discovery_fetches.load(Ordering::SeqCst),
            invocations: &invocations,
        };
        serde_json::to_vec(&doc).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_separately() {
        let c = Counters::default();
        assert_eq!(
            c.document(),
            br#"{"jwks_fetches":0,"discovery_fetches":0,"invocations":{}}"#
        );
        c.jwks_fetched();
        c.jwks_fetched();
        c.discovery_fetched();
        assert_eq!(c.invoked("authorizer-simple"), 1);
        assert_eq!(c.invoked("authorizer-simple"), 2);
        assert_eq!(c.invoked("echo"), 1);
        assert_eq!(
            c.document(),
            br#"{"jwks_fetches":2,"discovery_fetches":1,"invocations":{"authorizer-simple":2,"echo":1}}"#
        );
    }
}
