//! Throttling and quotas.

pub mod store;
