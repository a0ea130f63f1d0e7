//! No half-alive process: what ends the process at once, with a log line and a non-zero status.
//!
//! Pingora runs each service's main future (listener set-up, accept loops, background loops) as
//! a tokio task. A panic there, e.g. Pingora's `expect("Failed to build listeners")` when an
//! address cannot be bound, only ends that task: the process stays up with its pid file and
//! metrics port while the proxy port refuses everything, and systemd's `Restart=on-failure`
//! never sees a failure. So:
//!
//! * a panic anywhere except in a request task of a listening service is fatal: it is logged
//!   (`fatal: panic in <thread>: <message> at <file:line>`) and the process exits with status
//!   [`PANIC_EXIT`];
//! * a panic in a request task (one client connection of the proxy or the metrics listener)
//!   stays contained as before: it is logged and only that connection is dropped. Turning every
//!   request-triggered bug into a crash of the whole gateway, with every other request in
//!   flight, would be the worse trade;
//! * a listening service whose main future returns before shutdown started is fatal too
//!   ([`Essential`]): it no longer accepts, so the process must not look alive.
//!
//! Service main futures and request tasks of the proxy run on the same runtime threads (named
//! after the service); [`Essential`] marks the polls of a main future (a thread-local set
//! around each poll) so the hook can tell them apart.

use std::cell::Cell;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use log::error;
use pingora::server::{ListenFds, ShutdownWatch};
use pingora::services::{ServiceReadyNotifier, ServiceWithDependents};

/// Exit status after a fatal panic (the status Rust gives an unwound `main`).
pub const PANIC_EXIT: i32 = 101;
/// Exit status after another fatal error at run time.
pub const FATAL_EXIT: i32 = 1;

thread_local! {
    static IN_SERVICE_MAIN: Cell<bool> = const { Cell::new(false) };
}

static CONTAINED: OnceLock<HashSet<String>> = OnceLock::new();

/// Installs the panic policy. `listening` are the names of the listening services (their
/// runtime threads carry these names): panics in their request tasks are contained.
pub fn install_panic_hook(listening: &[&str]) {
    let _ = CONTAINED.set(listening.iter().map(|s| s.to_string()).collect());
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed thread").to_string();
        let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "(no message)".to_string()
        };
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let in_main = IN_SERVICE_MAIN.with(|f| f.get());
        let contained = !in_main && CONTAINED.get().is_some_and(|c| c.contains(&name));
        if contained {
            error!("panic in a request task on `{name}`: {msg} at {at}; that connection is dropped, the process keeps serving");
        } else {
            exit_now(
                PANIC_EXIT,
                &format!(
                    "fatal: panic in `{name}`: {msg} at {at}; exiting with status {PANIC_EXIT}"
                ),
            );
        }
    }));
}

/// Logs `line` (and writes it to stderr when logging is off) and exits with `status` at once.
pub fn exit_now(status: i32, line: &str) -> ! {
    if log::log_enabled!(log::Level::Error) {
        error!("{line}");
    } else {
        eprintln!("lambda-proxy: {line}");
    }
    std::process::exit(status)
}

/// Sets the thread-local marker while the wrapped future is polled.
struct MarkedPoll<F>(Pin<Box<F>>);

impl<F: Future> Future for MarkedPoll<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let before = IN_SERVICE_MAIN.with(|f| f.replace(true));
        let out = self.0.as_mut().poll(cx);
        IN_SERVICE_MAIN.with(|f| f.set(before));
        out
    }
}

/// A service whose failure ends the process: a panic in its main future is fatal (see the
/// module doc), and with `must_run`, so is its main future returning before shutdown.
pub struct Essential<S> {
    pub inner: S,
    pub must_run: bool,
}

impl<S> Essential<S> {
    pub fn new(inner: S, must_run: bool) -> Self {
        Essential { inner, must_run }
    }
}

#[async_trait]
impl<S: ServiceWithDependents + 'static> ServiceWithDependents for Essential<S> {
    async fn start_service(
        &mut self,
        fds: Option<ListenFds>,
        shutdown: ShutdownWatch,
        listeners_per_fd: usize,
        ready_notifier: ServiceReadyNotifier,
    ) {
        let watch = shutdown.clone();
        let name = self.inner.name().to_string();
        let must_run = self.must_run;
        let main = self
            .inner
            .start_service(fds, shutdown, listeners_per_fd, ready_notifier);
        MarkedPoll(Box::pin(main)).await;
        if must_run && !*watch.borrow() {
            // Give the log line a moment to reach the journal before exiting.
            tokio::time::sleep(Duration::from_millis(10)).await;
            exit_now(
                FATAL_EXIT,
                &format!("fatal: service `{name}` stopped before shutdown (it no longer accepts connections); exiting with status {FATAL_EXIT}"),
            );
        }
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn threads(&self) -> Option<usize> {
        self.inner.threads()
    }

    fn runtime_opts_override(
        &self,
        global: &pingora::server::RuntimeOpts,
    ) -> Option<pingora::server::RuntimeOpts> {
        self.inner.runtime_opts_override(global)
    }

    fn on_startup_delay(&self, time_waited: Duration) {
        self.inner.on_startup_delay(time_waited)
    }

    fn listen_addresses(&self) -> Option<Vec<String>> {
        self.inner.listen_addresses()
    }
}
