//! Process start-up: command line, logging, configuration, and the Pingora server with its
//! services (the proxy on every listener, DNS refresh in the background).
//!
//! Everything that can fail on bad configuration runs before the server starts, so `-t` checks
//! the whole file (Pingora settings, the gateway's sections, TLS files and keys, upstream trust
//! stores, listen addresses: [`crate::preflight`]), and a start or an upgrade (`-u`) that would
//! fail does so before it forks or takes over any socket.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use log::{error, info, warn, LevelFilter};
use pingora::apps::HttpServerOptions;
use pingora::connectors::http::Connector;
use pingora::connectors::ConnectorOptions;
use pingora::listeners::tls::TlsSettings;
use pingora::listeners::ListenerConfig;
use pingora::protocols::l4::stream::L4BufferSettings;
use pingora::server::configuration::Opt;
use pingora::server::{RunArgs, Server};
use pingora::services::background::background_service;
use pingora::services::listening::Service;
use pingora::services::ServiceWithDependents;

use crate::aws::credentials::{CredentialsRefresher, CredentialsRegistry};
use crate::config::{validate_resolve, Config, ConfigError};
use crate::drain::{DrainExit, DrainWatch, LingeringCleanup};
use crate::fatal::{self, Essential};
use crate::gateway::Gateway;
use crate::preflight::{self, Mode};
use crate::reload::{self, ReloadOnHup};
use crate::routing::RouteTable;
use crate::upstream::dns::DnsRefresh;

/// Default configuration path when `-c` is not given.
pub const DEFAULT_CONF: &str = "/etc/lambda-proxy/lambda-proxy.yaml";

/// Sets up logging: `RUST_LOG` as usual (default `info`), but Pingora's modules that dump whole
/// request heads at debug/trace (which would include signatures and session tokens) are capped
/// at `info`.
pub fn init_logging() {
    let mut b = env_logger::Builder::new();
    b.filter_level(LevelFilter::Info);
    if let Ok(s) = std::env::var("RUST_LOG") {
        b.parse_filters(&s);
    }
    for m in [
        "pingora_core",
        "pingora_proxy",
        "pingora_http",
        "h2",
        "hyper",
    ] {
        b.filter_module(m, LevelFilter::Info);
    }
    b.format_timestamp_millis();
    let _ = b.try_init();
}

/// The command line: Pingora's own options ([`Opt`]: `-c`, `-d`, `-u`, `-t`) with this binary's
/// name, version and help text. docs/lambda-proxy.8 and the README describe the same options
/// (tests/gateway/cli.rs checks that they agree).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    Opt::command()
        .name("lambda-proxy")
        .bin_name("lambda-proxy")
        .version(env!("CARGO_PKG_VERSION"))
        .about(
            "HTTP gateway in front of AWS Lambda (Invoke API, Function URLs) and API Gateway, \
             on Pingora",
        )
        .mut_arg("conf", |a| {
            a.display_order(1).value_name("FILE").help(format!(
                "Configuration file: Pingora's settings and the gateway's listeners, routes, \
                 credentials, metrics, health and access_log (default {DEFAULT_CONF})"
            ))
        })
        .mut_arg("test", |a| {
            a.display_order(2).help(
                "Test the configuration and exit: loads the file, certificates, upstream trust \
                 stores and every credential source; exit status 0 if it would start",
            )
        })
        .mut_arg("daemon", |a| {
            a.display_order(3).help("Run in the background (like `daemon: true`) and write `pid_file`")
        })
        .mut_arg("upgrade", |a| {
            a.display_order(4).help(
                "Graceful upgrade: take over the listening sockets of the running process \
                 through `upgrade_sock` (send the old process SIGQUIT)",
            )
        })
        .after_help(
            "Signals:\n  \
             SIGHUP   re-read routes, targets and credentials in place (listeners need -u)\n  \
             SIGQUIT  hand the listening sockets to a new process started with -u, then drain\n  \
             SIGTERM  stop accepting, finish the requests in flight, exit\n\n\
             Environment:\n  \
             RUST_LOG    log levels, env_logger syntax (default info); access log: target `access`\n  \
             AWS_REGION  region of function_name routes without one; AWS_* variables feed the\n              \
             AWS SDK's default credential chain\n\n\
             Every configuration option, with its default: conf/lambda-proxy.yaml in the source,\n\
             /usr/share/doc/lambda-proxy/examples/lambda-proxy.yaml when installed. See lambda-proxy(8).",
        )
}

/// Parses the process's command line ([`command`]); `--help`, `--version` and errors exit here.
pub fn parse_args() -> Opt {
    use clap::FromArgMatches;
    let matches = command().get_matches();
    Opt::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

pub fn run() -> ! {
    // Before any thread starts: a daemon tells its waiting parent it is ready with SIGUSR1
    // (`daemon_wait_for_ready`, systemd's ExecReload `-u -d`). A process-directed signal goes
    // to any thread that does not block it, so one thread started here without it blocked let
    // an early SIGUSR1 kill the parent before it listened (`-u -d` then failed although the new
    // process took over). Blocked from here in every thread; the patched Pingora unblocks it in
    // the parent once it listens and in the daemon (vendor/README.md, pingora-core 0004).
    set_sigusr1_blocked(true);
    init_logging();
    let opt = parse_args();
    let path = config_path(opt.conf.as_deref());
    let config = Config::load(&path).unwrap_or_else(|e| fail(&e));
    crate::gateway::access_log::set_queue_size(config.gateway.access_log.queue_size);
    let shared = crate::routing::Shared::new();
    let table = RouteTable::build(&config, &shared).unwrap_or_else(|e| fail(&e));
    let credentials = shared.credentials.clone();
    let (listeners, warnings) = build_listeners(&config).unwrap_or_else(|e| fail(&e));
    let mode = if opt.test {
        Mode::Test
    } else if opt.upgrade {
        Mode::Upgrade
    } else {
        Mode::Start
    };
    let mut config = config;
    config.server.daemon |= opt.daemon;
    if !(config.server.daemon && config.server.daemon_wait_for_ready) {
        // No parent will wait for SIGUSR1: its default action again (threads started above
        // keep it blocked; the signal goes to this one).
        set_sigusr1_blocked(false);
    }
    run_preflight(&config, mode, warnings);
    if opt.test {
        check_credentials(&config, &table, &credentials);
        println!(
            "lambda-proxy: {}: configuration OK ({} listeners, {} routes)",
            config.file.display(),
            config.gateway.listeners.len(),
            table.routes().len()
        );
        std::process::exit(0);
    }

    let pool_size: usize = table
        .routes()
        .iter()
        .map(|r| r.target.keepalive_pool())
        .sum();
    let dns_interval = Duration::from_secs(config.gateway.dns.refresh_seconds);
    let h2c = config
        .gateway
        .listeners
        .iter()
        .any(|l| l.tls.is_none() && l.h2c);

    let process_settings = reload::process_settings(&config);
    let conf_path = config.file.clone();
    let mut server_opt = opt;
    server_opt.conf = None; // already loaded; keeps Pingora from warning about `-c`
    let mut server_conf = config.server;
    // Pingora keeps upstream_keepalive_pool_size idle connections per thread: make the pool at
    // least the sum of the routes' keepalive_pool.
    let threads = server_conf.threads.max(1);
    server_conf.upstream_keepalive_pool_size = server_conf
        .upstream_keepalive_pool_size
        .max(pool_size.div_ceil(threads));
    let mut server = Server::new_with_opt_and_conf(server_opt, server_conf);
    // Taking over the sockets (-u) runs as a service, after the daemon fork: the forked child
    // tells its parent it is ready for the sockets (`daemon_wait_for_ready`), so `-u -d` returns
    // only once the new process passed every check above and waits on upgrade_sock, and the
    // old process is sent SIGQUIT only then (systemd's ExecReload order). The listening
    // services start once the sockets are in.
    let bootstrap = server.bootstrap_as_a_service();

    let routes = Arc::new(ArcSwap::from_pointee(table));
    let mut server_options = HttpServerOptions::default();
    server_options.h2c = h2c;
    let client_options = ConnectorOptions::from_server_conf(&server.configuration);
    let gateway = Gateway {
        routes: routes.clone(),
        invoker: Arc::new(Connector::new(Some(client_options))),
    };
    let mut app = pingora::proxy::http_proxy(&server.configuration, gateway);
    app.server_options = Some(server_options);
    // Connections accepted just before a handoff get a second to send their request.
    let mut proxy = Service::new(
        "lambda-proxy".to_string(),
        LingeringCleanup {
            inner: Arc::new(app),
            linger: Duration::from_secs(1),
        },
    );
    for l in listeners {
        let endpoint = match l {
            Listener::Plain(addr, read) => ListenerConfig::tcp(addr).l4_buffer(buffers(read)),
            Listener::Tls(addr, read, settings) => ListenerConfig::tcp(addr)
                .tls(*settings)
                .l4_buffer(buffers(read)),
        };
        proxy.add_listener(endpoint);
    }
    let mut listening = vec![ServiceWithDependents::name(&proxy).to_string()];
    server
        .add_service(Essential::new(proxy, true))
        .add_dependency(&bootstrap);
    if let Some(m) = &config.gateway.metrics {
        crate::metrics::init(credentials.clone());
        let mut prom = pingora_prometheus::prometheus_http_service();
        prom.add_tcp(&m.address);
        listening.push(ServiceWithDependents::name(&prom).to_string());
        server
            .add_service(Essential::new(prom, true))
            .add_dependency(&bootstrap);
    }
    let on_upgrade = Arc::new(tokio::sync::Notify::new());
    add_background(
        &mut server,
        "config reload",
        ReloadOnHup {
            path: conf_path,
            routes: routes.clone(),
            shared: shared.clone(),
            process_settings,
            on_upgrade: on_upgrade.clone(),
        },
    );
    let phases = server.watch_execution_phase();
    add_background(
        &mut server,
        "drain watch",
        DrainWatch {
            phases: std::sync::Mutex::new(Some(phases)),
            on_upgrade,
        },
    );
    add_background(
        &mut server,
        "drain exit",
        DrainExit {
            // Longer than the accept linger, so a just-accepted request is counted first.
            idle: Duration::from_millis(1500),
        },
    );
    add_background(
        &mut server,
        "credentials refresh",
        CredentialsRefresher {
            registry: credentials,
        },
    );
    add_background(
        &mut server,
        "jwks refresh",
        crate::authorizers::jwks::JwksRefresh {
            registry: shared.jwks.clone(),
        },
    );
    add_background(
        &mut server,
        "limiter sweep",
        crate::throttling::local::LimiterSweep {
            registry: shared.limiters.clone(),
            stores: shared.stores.clone(),
        },
    );
    add_background(
        &mut server,
        "dns refresh",
        DnsRefresh {
            resolver: shared.resolver.clone(),
            interval: dns_interval,
        },
    );
    info!("lambda-proxy: starting with {}", path.display());
    let listening: Vec<&str> = listening.iter().map(String::as_str).collect();
    fatal::install_panic_hook(&listening);
    server.run(RunArgs::default());
    // Pingora's `run_forever` exits right here: write the queued access log lines first.
    crate::gateway::access_log::flush(Duration::from_secs(2));
    std::process::exit(0)
}

/// Adds a background service whose panic ends the process (see [`fatal`]).
fn add_background<T>(server: &mut Server, name: &str, task: T)
where
    T: pingora::services::background::BackgroundService + Send + Sync + 'static,
{
    server.add_service(Essential::new(background_service(name, task), false));
}

/// Runs the [`preflight`] checks for `mode` and the listener warnings: warnings are logged (and
/// printed by `-t`), anything fatal ends the process with status 1 before anything was forked,
/// bound or signalled.
fn run_preflight(config: &Config, mode: Mode, warnings: Vec<String>) {
    let file = config.file.display();
    let findings = preflight::check(config, mode);
    for w in warnings {
        warn!("{file}: {w}");
        if mode == Mode::Test {
            eprintln!("lambda-proxy: warning: {file}: {w}");
        }
    }
    let mut fatal = false;
    for f in &findings {
        if f.fatal {
            fatal = true;
            error!("{file}: {}: {}", f.field, f.reason);
            eprintln!(
                "lambda-proxy: configuration error: {file}: {}: {}",
                f.field, f.reason
            );
        } else {
            warn!("{file}: {}: {}", f.field, f.reason);
            if mode == Mode::Test {
                eprintln!("lambda-proxy: warning: {file}: {}: {}", f.field, f.reason);
            }
        }
    }
    if fatal {
        if mode == Mode::Upgrade {
            error!(
                "upgrade aborted before taking over any socket: the running process keeps serving"
            );
        }
        std::process::exit(1);
    }
}

/// The configuration file as an absolute path, resolved once against the working directory at
/// start: a daemon (`-d`) changes its working directory to `/` when it forks, and SIGHUP reloads
/// (and paths inside the file, which are relative to the file) must still find it. Not
/// canonicalised: a symlinked config keeps following its link on reload.
pub fn config_path(arg: Option<&str>) -> std::path::PathBuf {
    let path = std::path::PathBuf::from(arg.unwrap_or(DEFAULT_CONF));
    std::path::absolute(&path).unwrap_or(path)
}

enum Listener {
    /// Address and read buffer size.
    Plain(String, usize),
    Tls(String, usize, Box<TlsSettings>),
}

/// A client connection's buffers: `read` bytes to read into, Pingora's default write buffer.
fn buffers(read: usize) -> L4BufferSettings {
    L4BufferSettings::default().read(read)
}

/// The listeners, and warnings about them (a certificate outside its validity period).
fn build_listeners(config: &Config) -> Result<(Vec<Listener>, Vec<String>), ConfigError> {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let plain_h2c: Vec<bool> = config
        .gateway
        .listeners
        .iter()
        .filter(|l| l.tls.is_none())
        .map(|l| l.h2c)
        .collect();
    for (i, l) in config.gateway.listeners.iter().enumerate() {
        let err = |field: &str, reason: String| ConfigError {
            file: config.file.clone(),
            field: format!("listeners[{i}].{field}"),
            reason,
        };
        match &l.tls {
            None => {
                if plain_h2c.iter().any(|&h| h != l.h2c) {
                    return Err(err(
                        "h2c",
                        "all plain listeners must agree on h2c (it is a per-service setting)"
                            .into(),
                    ));
                }
                out.push(Listener::Plain(l.address.clone(), l.read_buffer));
            }
            Some(tls) => {
                let cert = validate_resolve(&config.file, &tls.cert);
                let key = validate_resolve(&config.file, &tls.key);
                for (field, path) in [("tls.cert", &cert), ("tls.key", &key)] {
                    std::fs::read(path).map_err(|e| {
                        err(field, format!("cannot read `{}`: {e}", path.display()))
                    })?;
                }
                let mut settings = tls_settings(&cert, &key, tls.client_ca.is_some())
                    .map_err(|e| err("tls", format!("cannot load certificate or key: {e}")))?;
                // Pingora loads both files but never checks that they belong together: with a
                // key of another certificate every handshake fails ("no shared cipher").
                settings.check_private_key().map_err(|e| {
                    err(
                        "tls",
                        format!(
                            "the private key {} does not match the certificate {}: {e}",
                            key.display(),
                            cert.display()
                        ),
                    )
                })?;
                if let Some(w) = certificate_validity(&cert) {
                    warnings.push(format!("listeners[{i}].tls.cert: {w}"));
                }
                if let Some(ca) = &tls.client_ca {
                    let ca = validate_resolve(&config.file, ca);
                    let certs = crate::mtls::load_client_ca(&ca)
                        .map_err(|reason| err("tls.client_ca", reason))?;
                    crate::mtls::require_client_certs(
                        &mut settings,
                        &ca,
                        &certs,
                        tls.client_auth.unwrap_or_default(),
                    )
                    .map_err(|reason| err("tls.client_ca", reason))?;
                }
                if tls.h2 {
                    settings.enable_h2();
                }
                out.push(Listener::Tls(
                    l.address.clone(),
                    l.read_buffer,
                    Box::new(settings),
                ));
            }
        }
    }
    Ok((out, warnings))
}

/// Pingora's settings with the certificate and key loaded; with `capture`, the callbacks of a
/// mutual TLS listener ([`crate::mtls::ClientCertCapture`]).
fn tls_settings(
    cert: &std::path::Path,
    key: &std::path::Path,
    capture: bool,
) -> pingora::Result<TlsSettings> {
    let (cert, key) = (cert.to_string_lossy(), key.to_string_lossy());
    if !capture {
        return TlsSettings::intermediate(&cert, &key);
    }
    let mut settings = TlsSettings::with_callbacks(Box::new(crate::mtls::ClientCertCapture))?;
    let tls_err = |e| pingora::Error::because(pingora::ErrorType::InternalError, "TLS files", e);
    settings
        .set_private_key_file(&*key, openssl::ssl::SslFiletype::PEM)
        .map_err(tls_err)?;
    settings
        .set_certificate_chain_file(&*cert)
        .map_err(tls_err)?;
    Ok(settings)
}

/// A warning when the leaf certificate in `path` has expired or is not valid yet: OpenSSL
/// serves it anyway and clients reject it. Not fatal: refusing to start would also take down
/// every other listener.
fn certificate_validity(path: &std::path::Path) -> Option<String> {
    use openssl::asn1::Asn1Time;
    let pem = std::fs::read(path).ok()?;
    let chain = openssl::x509::X509::stack_from_pem(&pem).ok()?;
    let leaf = chain.first()?;
    let now = Asn1Time::days_from_now(0).ok()?;
    if leaf.not_after() < now {
        Some(format!(
            "certificate {} expired on {}; clients will refuse it",
            path.display(),
            leaf.not_after()
        ))
    } else if leaf.not_before() > now {
        Some(format!(
            "certificate {} is not valid before {}; clients will refuse it until then",
            path.display(),
            leaf.not_before()
        ))
    } else {
        None
    }
}

/// `-t`: every credential source must resolve now; a failure names the routes using it.
fn check_credentials(config: &Config, table: &RouteTable, credentials: &CredentialsRegistry) {
    let failures = credentials.resolve_all_blocking(Duration::from_secs(10));
    if failures.is_empty() {
        return;
    }
    for (source, why) in &failures {
        let routes: Vec<&str> = table
            .routes()
            .iter()
            .filter(|r| {
                r.target
                    .signing()
                    .is_some_and(|s| s.credentials.name() == source)
            })
            .map(|r| &*r.name)
            .collect();
        eprintln!(
            "lambda-proxy: {}: credentials `{source}` (routes: {}) cannot be resolved: {why}",
            config.file.display(),
            routes.join(", ")
        );
    }
    std::process::exit(1);
}

fn fail(e: &ConfigError) -> ! {
    error!("{e}");
    eprintln!("lambda-proxy: configuration error: {e}");
    std::process::exit(1)
}

/// Blocks or unblocks SIGUSR1 for the calling thread (threads it starts inherit the mask).
fn set_sigusr1_blocked(blocked: bool) {
    // SAFETY: plain libc calls on a local, initialised signal set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        let how = if blocked {
            libc::SIG_BLOCK
        } else {
            libc::SIG_UNBLOCK
        };
        libc::pthread_sigmask(how, &set, std::ptr::null_mut());
    }
}
