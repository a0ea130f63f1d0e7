//! `lambda-proxy-emulator`: a local, strict stand-in for AWS API Gateway stages and Lambda
//! Function URLs, built on Pingora, for the integration tests and the demo.
//!
//! This file reads the command line and sets up the Pingora server: one service with a plain
//! listener (HTTP/1.1 and h2c on the same port) and/or a TLS listener (h2 and HTTP/1.1 by ALPN)
//! whose certificate is generated at start. `router.rs` sends the Lambda Invoke API
//! (`invoke.rs`, streaming included), the API Gateway-like stages (`echo.rs`) and the OIDC
//! documents and counters (`side_routes.rs`) their requests.
//! With `--fast`, `fast.rs` serves instead (plain HTTP/1.1, no Pingora): a benchmark backend
//! that checks nothing.

mod amz_date;
mod args;
mod counters;
mod echo;
mod event_stream;
mod fast;
mod functions;
mod invoke;
mod invoke_api;
mod oidc;
mod query_sort_fix;
mod ready;
mod reply;
mod router;
mod side_routes;
mod sigv4_verify;
mod tls_cert;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use pingora::listeners::tls::TlsSettings;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{RunArgs, Server};
use pingora::services::listening::Service;

use crate::args::{Command, Config, USAGE};
use crate::counters::Counters;
use crate::echo::EmulatorApp;
use crate::invoke::LambdaApi;
use crate::oidc::Oidc;
use crate::router::Router;
use crate::side_routes::SideRoutes;
use crate::sigv4_verify::Verifier;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let config = match args::parse(std::env::args().skip(1)) {
        Ok(Command::Run(config)) => *config,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("lambda-proxy-emulator: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(config) {
        eprintln!("lambda-proxy-emulator: {e}");
        std::process::exit(1);
    }
}

fn run(config: Config) -> Result<(), String> {
    if config.fast {
        return run_fast(&config);
    }
    for addr in config.http.iter().chain(config.https.iter()) {
        ready::ensure_free(*addr)?;
    }

    let cert_files = match (&config.https, &config.cert_dir) {
        (Some(_), Some(dir)) => Some(tls_cert::generate(dir, &config.tls_names)?),
        _ => None,
    };

    let pid = std::process::id();
    let conf = ServerConf {
        daemon: false,
        threads: config.threads,
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(1),
        pid_file: std::env::temp_dir()
            .join(format!("lambda-proxy-emulator-{pid}.pid"))
            .to_string_lossy()
            .into_owned(),
        upgrade_sock: std::env::temp_dir()
            .join(format!("lambda-proxy-emulator-{pid}.sock"))
            .to_string_lossy()
            .into_owned(),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None::<Opt>, conf);
    server.bootstrap();

    let verifier = Verifier::new(config.region.clone(), config.credentials.clone());
    let stages = EmulatorApp::new(config.api_keys.clone(), verifier.clone());
    let counters = Arc::new(Counters::default());
    let lambda = LambdaApi::new(Arc::new(verifier), config.region.clone(), counters.clone());
    let oidc = Oidc {
        jwks_file: config.jwks_file.clone(),
        issuer: config.jwt_issuer.clone(),
    };
    let jwks_delay = Duration::from_millis(config.jwks_delay_ms);
    let router = Router::new(stages, lambda, SideRoutes::new(oidc, counters, jwks_delay));
    let service = Service::new("lambda-proxy-emulator".to_string(), router);
    server.add_service(listen(service, &config, cert_files.as_ref())?);

    ready::announce_when_listening(config.http, config.https);
    server.run(RunArgs::default());
    Ok(())
}

/// `--fast`: the plain HTTP/1.1 benchmark backend of `fast.rs`, on `--http` only.
fn run_fast(config: &Config) -> Result<(), String> {
    let Some(addr) = config.http else {
        return Err("--fast serves plain HTTP/1.1 only: give --http (not --https)".into());
    };
    if config.https.is_some() {
        return Err("--fast serves plain HTTP/1.1 only: drop --https".into());
    }
    let listener = fast::bind(addr)?;
    log::warn!("--fast: no signature or API-key checks, no validation (benchmarks only)");
    ready::announce_when_listening(Some(addr), None);
    fast::run(listener, config.threads)
}

/// Adds the configured listeners to a service.
fn listen<A>(
    mut service: Service<A>,
    config: &Config,
    cert_files: Option<&tls_cert::CertFiles>,
) -> Result<Service<A>, String> {
    if let Some(addr) = config.http {
        service.add_tcp(&addr.to_string());
    }
    if let (Some(addr), Some(files)) = (config.https, cert_files) {
        let mut tls =
            TlsSettings::intermediate(&files.cert.to_string_lossy(), &files.key.to_string_lossy())
                .map_err(|e| format!("TLS settings: {e}"))?;
        tls.enable_h2();
        service.add_tls_with_settings(&addr.to_string(), None, tls);
    }
    Ok(service)
}
