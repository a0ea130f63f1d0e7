#!/usr/bin/env bash
# Installs what building lambda-proxy needs on a fresh Debian/Ubuntu machine:
# cmake (Pingora builds zlib-ng with it), libssl-dev + pkg-config (Pingora's OpenSSL backend
# links the system libssl; see .cargo/config.toml), curl (demo), python3-venv (moto for tests),
# chromium (headless: tests/gateway/cors.rs checks CORS in a real browser), redis-server (with
# redis-cli: tests/throttling_store.rs starts its own servers on free ports). Rust itself must be installed
# (rustup); the project's Cargo.lock pins every crate.
#
# --package: also what building and checking the Debian package needs (scripts/check-package.sh):
# cargo-deb (pinned, from crates.io: Debian has no package of it), lintian, dpkg-dev
# (dpkg-shlibdeps for the package's dependencies), binutils (objcopy, for the -dbgsym package),
# systemd (systemd-analyze, systemd-sysusers, systemd-tmpfiles), man-db (lintian's man page check)
# and openssl (a test certificate for `lambda-proxy -t` of the installed configuration).
set -euo pipefail

CARGO_DEB_VERSION=3.8.0
package=0
[ "${1:-}" = "--package" ] && package=1

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v curl >/dev/null 2>&1 || need+=(curl)
pkg-config --exists openssl 2>/dev/null || need+=(libssl-dev)
# python3 with venv: the test suite installs moto (an AWS mock) into .venv-moto.
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -m venv --help >/dev/null 2>&1 || need+=(python3-venv)
# A real browser for the CORS test (tests/gateway/cors.rs); scripts/test.sh requires it.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# A real Redis (and a Redis Cluster of three) for the fleet-wide throttling store's tests
# (tests/throttling_store.rs); scripts/test.sh requires it. The tests start their own
# redis-server processes on free ports: the package's own service is not wanted (see below).
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)

if [ "$package" = 1 ]; then
  command -v lintian >/dev/null 2>&1 || need+=(lintian)
  command -v dpkg-shlibdeps >/dev/null 2>&1 || need+=(dpkg-dev)
  command -v objcopy >/dev/null 2>&1 || need+=(binutils)
  command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
  command -v man >/dev/null 2>&1 || need+=(man-db)
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
fi

if ((${#need[@]})); then
  echo "setup: installing ${need[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  # Debian's redis-server package enables and starts a daemon on 127.0.0.1:6379 (under
  # systemd; in a container without it policy-rc.d usually denies the start). Nothing here
  # uses it: stop and disable the service, or, without systemd, stop the daemon the package
  # started by its PID (its pid file). Only when this run installed the package.
  if [[ " ${need[*]} " == *" redis-server "* ]]; then
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      $SUDO systemctl disable --now redis-server.service >/dev/null 2>&1 || true
    elif [ -s /run/redis/redis-server.pid ]; then
      $SUDO kill "$(cat /run/redis/redis-server.pid)" 2>/dev/null || true
    fi
  fi
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust with rustup (https://rustup.rs) and re-run" >&2
  exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
if [ "$package" = 1 ] && [ "$(cargo deb --version 2>/dev/null | cut -d" " -f2)" != "$CARGO_DEB_VERSION" ]; then
  echo "setup: installing cargo-deb $CARGO_DEB_VERSION (about a minute)"
  cargo install --quiet --locked --version "$CARGO_DEB_VERSION" cargo-deb
fi
echo "setup: ok ($(cargo --version))"
