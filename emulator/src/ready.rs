//! Start-up handshake with tests: checks that the ports are free before Pingora binds them, then
//! waits until every listener answers (a TCP connect, plus a TLS handshake on the TLS port) and
//! prints the single line `READY` on stdout.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use log::error;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};

/// How long the listeners may take to come up before the emulator gives up.
const STARTUP_LIMIT: Duration = Duration::from_secs(30);
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
const RETRY_EVERY: Duration = Duration::from_millis(20);

/// Fails if something already listens on `addr`, so `READY` can never be printed because of
/// another process's socket.
pub fn ensure_free(addr: SocketAddr) -> Result<(), String> {
    TcpListener::bind(addr)
        .map(drop)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))
}

/// Spawns the thread that prints `READY` once all listeners work (or exits the process with
/// status 1 if they do not within [`STARTUP_LIMIT`]).
pub fn announce_when_listening(plain: Option<SocketAddr>, tls: Option<SocketAddr>) {
    thread::spawn(move || {
        let deadline = Instant::now() + STARTUP_LIMIT;
        let probes: Vec<(SocketAddr, bool)> = plain
            .map(|a| (a, false))
            .into_iter()
            .chain(tls.map(|a| (a, true)))
            .collect();
        for (addr, is_tls) in probes {
            loop {
                let outcome = if is_tls {
                    tls_probe(addr)
                } else {
                    tcp_probe(addr)
                };
                match outcome {
                    Ok(()) => break,
                    Err(e) if Instant::now() >= deadline => {
                        error!("listener {addr} did not come up: {e}");
                        std::process::exit(1);
                    }
                    Err(_) => thread::sleep(RETRY_EVERY),
                }
            }
        }
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "READY");
        let _ = stdout.flush();
    });
}

fn tcp_probe(addr: SocketAddr) -> Result<(), String> {
    TcpStream::connect_timeout(&addr, PROBE_TIMEOUT)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// A full TLS handshake (certificate not checked), so the server logs no handshake error.
fn tls_probe(addr: SocketAddr) -> Result<(), String> {
    let tcp = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(PROBE_TIMEOUT))
        .and_then(|_| tcp.set_write_timeout(Some(PROBE_TIMEOUT)))
        .map_err(|e| e.to_string())?;
    let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    builder.set_verify(SslVerifyMode::NONE);
    let config = builder
        .build()
        .configure()
        .map_err(|e| e.to_string())?
        .verify_hostname(false)
        .use_server_name_indication(false);
    let mut stream = config
        .connect("localhost", tcp)
        .map_err(|e| e.to_string())?;
    let _ = stream.shutdown();
    Ok(())
}
