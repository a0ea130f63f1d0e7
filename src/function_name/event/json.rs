//! Writing an event straight into its output buffer: serde values, a JSON object built key by
//! key (so a client's JSON can be embedded byte for byte), and the check that a body is one.

use std::fmt;

use serde::{Serialize, Serializer};

/// Any `Display` as a JSON string, escaped while it is written.
pub(super) struct AsJsonStr<T: fmt::Display>(pub(super) T);

impl<T: fmt::Display> Serialize for AsJsonStr<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// A complete, valid JSON document whose top level is an object.
pub(super) fn is_json_object(body: &[u8]) -> bool {
    body.trim_ascii_start().first() == Some(&b'{')
        && std::str::from_utf8(body).is_ok()
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

/// Writes one JSON object key by key (for the Kong event, whose body args may be raw JSON).
pub(super) struct ObjectWriter {
    out: Vec<u8>,
    first: bool,
}

impl ObjectWriter {
    pub(super) fn with_capacity(cap: usize) -> Self {
        let mut out = Vec::with_capacity(cap);
        out.push(b'{');
        ObjectWriter { out, first: true }
    }

    pub(super) fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.value(key);
        self.out.push(b':');
    }

    pub(super) fn value<T: Serialize + ?Sized>(&mut self, value: &T) {
        write_json(&mut self.out, value);
    }

    pub(super) fn entry<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        self.key(key);
        self.value(value);
    }

    pub(super) fn raw(&mut self, json: &[u8]) {
        self.out.extend_from_slice(json);
    }

    /// The members of another JSON object (its text between `{` and `}`), byte for byte.
    pub(super) fn members(&mut self, inner: &[u8]) {
        let inner = inner.trim_ascii();
        if inner.is_empty() {
            return;
        }
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.extend_from_slice(inner);
    }

    pub(super) fn finish(mut self) -> Vec<u8> {
        self.out.push(b'}');
        self.out
    }
}

/// Serialise into `out`. Our `Serialize` impls use string keys only and a `Vec` cannot fail to
/// grow, so serde_json has no error to report; should that ever change, the event would be
/// truncated JSON, which the Invoke API rejects with a 400, rather than a panic here.
pub(super) fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let res = serde_json::to_writer(&mut *out, value);
    debug_assert!(res.is_ok(), "event serialisation failed: {res:?}");
}
