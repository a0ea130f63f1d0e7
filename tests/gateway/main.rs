//! The integration tests that start the gateway (and the emulator) as processes: one test
//! binary, one module per area, sharing `common` (harness, AWS stand-ins, fault proxy, config
//! builders). Tests run on parallel threads of this one process: each starts its own processes
//! on ports chosen at run time and sets no process-wide state: environment variables are given
//! to the child processes (the one exception, `config::secret_references_resolve_at_load_or_name_the_field`,
//! sets three `LP_TEST_*`-style variables around one in-process `Config::load` and removes them).
//!
//! Separate targets: `tests/credentials_sources.rs` (drives the credential providers in this
//! process: it sets `AWS_*` environment variables and installs a global `log` logger and `tracing`
//! subscriber) and `tests/sigv4_suites.rs` (the official SigV4 suites against the library).

mod common;

mod access_log;
mod body_budget;
mod cli;
mod client_api_keys;
mod config;
mod cors;
mod cors_browser;
mod credentials_gateway;
mod faults;
mod function_name;
mod function_uri;
mod hostile_input;
mod jwt_authorizer;
mod lambda_authorizer;
mod lambda_http_roundtrip;
mod metrics;
mod moto;
mod mtls;
mod operations;
mod secrets_canary;
mod slow_clients;
mod streaming_memory;
mod throttling;
mod throttling_fleet;
mod upstream_addresses;
mod wire;
