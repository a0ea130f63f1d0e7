#!/usr/bin/env bash
# Installs what building lambda-proxy needs on a fresh Debian/Ubuntu machine:
# cmake (Pingora builds zlib-ng with it), libssl-dev + pkg-config (Pingora's OpenSSL backend
# links the system libssl; see .cargo/config.toml), curl (demo), python3-venv (moto for tests). Rust itself must be installed
# (rustup); the project's Cargo.lock pins every crate.
set -euo pipefail

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v curl >/dev/null 2>&1 || need+=(curl)
pkg-config --exists openssl 2>/dev/null || need+=(libssl-dev)
# python3 with venv: the test suite installs moto (an AWS mock) into .venv-moto.
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -m venv --help >/dev/null 2>&1 || need+=(python3-venv)

if ((${#need[@]})); then
  echo "setup: installing ${need[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust with rustup (https://rustup.rs) and re-run" >&2
  exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
echo "setup: ok ($(cargo --version))"
