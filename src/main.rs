//! The `lambda-proxy` binary: Pingora's command line (`-c`, `-d`, `-u`, `-t`) and the gateway.

fn main() {
    lambda_proxy::server::run()
}
