#!/usr/bin/env bash
# Runs every k6 script in load/k6 one after the other with the same settings and prints one
# pass/fail line per script (k6 exits 99 when a threshold fails).
#   PROFILE=smoke BASE_URL=http://127.0.0.1:8080 ./load/k6/run-all.sh
#   K6=/path/to/k6 ./load/k6/run-all.sh        # a k6 binary that is not on PATH
# Any other variable of load/k6/lib.js (RATE, DURATION, P99_MS, EMULATOR_CHECKS, ...) is passed
# through the environment. ROUTE is per script: set it only when running a single script.
set -uo pipefail
cd "$(dirname "$0")"
K6=${K6:-k6}
command -v "$K6" >/dev/null || { echo "run-all.sh: no k6 (install the official k6, or set K6=path)"; exit 2; }
[ -z "${ROUTE:-}" ] || { echo "run-all.sh: ROUTE applies to one script; unset it here"; exit 2; }
passed=0 failed=0
for script in function_uri_apikey.js function_uri_iam.js invoke_small.js invoke_1mb.js invoke_v2.js invoke_streaming.js; do
  echo "=== $script (PROFILE=${PROFILE:-smoke})"
  if "$K6" run --quiet "$script"; then
    passed=$((passed + 1)); echo "=== $script: passed"
  else
    failed=$((failed + 1)); echo "=== $script: FAILED"
  fi
done
echo "k6: $passed passed, $failed failed"
[ "$failed" = 0 ]
