#!/bin/sh
# Runs vendored pingora-cache's own unit tests (vendor/README.md, pingora-cache 0001), offline.
# The crate is not a workspace member (a `[patch.crates-io]` path), so `cargo test -p
# pingora-cache` cannot run its tests; this builds a temporary copy as its own package, with
# the workspace's Cargo.lock, minus what the local registry cache does not hold: the optional
# `trace` dependencies (cf-rustracing*), `dhat` (benches only) and the rustls/s2n/boringssl
# features. Extra arguments go to `cargo test` (e.g. `key`).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -a "$root/vendor/pingora-cache" "$tmp/pingora-cache"
cp "$root/Cargo.lock" "$tmp/pingora-cache/Cargo.lock"
python3 - "$tmp/pingora-cache/Cargo.toml" <<'PY'
import re, sys
path = sys.argv[1]
drop = {"[dev-dependencies.cf-rustracing]", "[dev-dependencies.cf-rustracing-jaeger]",
        "[dev-dependencies.dhat]", "[dependencies.cf-rustracing]",
        "[dependencies.cf-rustracing-jaeger]", "[[bench]]"}
out = []
for section in re.split(r"(?m)^(?=\[)", open(path).read()):
    head = section.split("\n", 1)[0].strip()
    if head in drop:
        continue
    if head == "[features]":
        section = '[features]\ndefault = []\nopenssl = ["pingora-core/openssl"]\ntrace = []\n\n'
    out.append(section)
open(path, "w").write("".join(out))
PY
cd "$tmp/pingora-cache"
CARGO_TARGET_DIR="$root/target/pingora-cache-test" cargo test --offline --lib "$@"
