#!/usr/bin/env bash
# Installs what is needed, then runs every check a commit must pass: formatting, clippy with
# warnings as errors, and the whole test suite (unit, SigV4 suites, integration tests that start
# the gateway and the emulator on 127.0.0.1), the systemd files, the Debian package, then the
# demo's own check.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
# moto (an independent AWS mock that verifies SigV4) for tests/gateway/moto.rs; required here.
./scripts/moto-setup.sh
export REQUIRE_MOTO=1
# Headless chromium (installed by setup.sh) for the CORS browser test; required here.
export REQUIRE_BROWSER=1
# redis-server (installed by setup.sh) for the fleet-wide throttling store's tests; required here.
export REQUIRE_REDIS=1
cargo fmt --all -- --check
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo test --locked --workspace
./scripts/check-systemd.sh
# The Debian package: release build, contents, lintian, the unit as installed; in CI (root, a
# throwaway machine) also dpkg -i / reinstall / purge. About 8-10 minutes on a fresh 2-core
# machine: the release build (~7), cargo-deb's install (~1), lintian's apt install, the checks.
./scripts/check-package.sh
./scripts/demo.sh --check
