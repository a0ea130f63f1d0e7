#!/bin/sh
# Runs vendored pingora-core's own unit tests (vendor/README.md; e.g. patch 0005's
# `head_first` tests): `./vendor/test-pingora-core.sh protocols::http::v1`.
# The crate is not a workspace member (a `[patch.crates-io]` path), so `cargo test -p
# pingora-core` cannot run its tests; this builds a temporary copy as its own package, seeded
# with the workspace's Cargo.lock. Its dev-dependencies (hyper, reqwest, criterion, ...) are
# not in the gateway's lock: cargo resolves them from crates.io on the first run (several
# minutes of building; later runs reuse target/pingora-core-test). Extra arguments go to
# `cargo test`.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -a "$root/vendor/pingora-core" "$tmp/pingora-core"
cp "$root/Cargo.lock" "$tmp/pingora-core/Cargo.lock"
cd "$tmp/pingora-core"
# Debian's libssl, as the workspace builds (.cargo/config.toml), not OpenSSL from source.
OPENSSL_NO_VENDOR=1 CARGO_TARGET_DIR="$root/target/pingora-core-test" \
  cargo test --features openssl --lib "$@"
