#!/usr/bin/env bash
# Soak run (load/soak.py): builds the release binaries, installs wrk if missing, then runs the
# gateway under mixed traffic with faults for a bounded time (default 600 s) and checks that
# RSS, file descriptors, threads, in-flight requests and runtime tasks stay flat.
#
#   ./load/soak.sh                      600 s
#   ./load/soak.sh --duration 120       a shorter look
#   ./load/soak.sh --no-build ...       use the existing target/release binaries
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=1
ARGS=()
for a in "$@"; do
  if [ "$a" = --no-build ]; then BUILD=0; else ARGS+=("$a"); fi
done
if ! command -v wrk >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk
fi
[ "$BUILD" = 1 ] && cargo build --release --workspace --bins
ulimit -n 65536 2>/dev/null || true
exec python3 "$ROOT/load/soak.py" "${ARGS[@]}"
