//! The `lambda-proxy` binary: Pingora's command line (`-c`, `-d`, `-u`, `-t`) and the gateway.

/// jemalloc: per-thread caches and less fragmentation than glibc malloc under the gateway's
/// many short-lived buffers (see load/RESULTS.md for the before/after figures).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    lambda_proxy::server::run()
}
