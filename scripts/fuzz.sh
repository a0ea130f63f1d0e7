#!/usr/bin/env bash
# Bounded fuzzing of the gateway's own parsers and builders (cargo-fuzz / libFuzzer).
# Not part of CI (.ci/run, scripts/test.sh): run it by hand, see fuzz/README.md.
#
#   scripts/fuzz.sh                      # every target, FUZZ_SECONDS (default 60) each
#   scripts/fuzz.sh 300                  # every target, 300 s each
#   scripts/fuzz.sh 30 path_join config_load
#   FUZZ_SECONDS=600 scripts/fuzz.sh event_stream
#
# Environment:
#   FUZZ_SECONDS     seconds per target (a leading numeric argument wins), default 60
#   FUZZ_SANITIZER   address (default) | none   (none: about twice the executions per second)
#   FUZZ_MERGE=1     afterwards, merge inputs that add coverage into the committed fuzz/corpus/
#   CARGO_BUILD_JOBS build jobs, default 1 (the project's machines have 2 cores)
#
# Targets run one after another, never in parallel. New inputs go to fuzz/target/corpus/<target>
# (git-ignored); fuzz/corpus/<target> (the committed seeds) is only read. A crash leaves its
# input in fuzz/artifacts/<target>/ and makes this script exit 1 after the remaining targets;
# reproduce it with `RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <artifact>` and turn it into a
# regression test next to the code.
set -euo pipefail

cd "$(dirname "$0")/.."
ALL_TARGETS=(config_load event_build proxy_result event_stream path_join authorizer_input)

seconds="${FUZZ_SECONDS:-60}"
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
    seconds="$1"
    shift
fi
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
    [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || {
        echo "unknown target $t (known: ${ALL_TARGETS[*]})" >&2
        exit 2
    }
done
sanitizer="${FUZZ_SANITIZER:-address}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
# libFuzzer needs -Z flags; the project pins a stable toolchain, so allow them on it.
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

echo "== building ${targets[*]} (sanitizer: $sanitizer)"
for t in "${targets[@]}"; do
    cargo fuzz build -s "$sanitizer" "$t"
done

logs=fuzz/target/fuzz-logs
mkdir -p "$logs"
failed=()
summary=()
for t in "${targets[@]}"; do
    work="fuzz/target/corpus/$t"
    mkdir -p "$work" "fuzz/artifacts/$t"
    log="$logs/$t.log"
    echo "== $t: ${seconds}s"
    status=0
    cargo fuzz run -s "$sanitizer" "$t" "$work" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -E 's/^#[0-9]+[[:space:]]+[A-Z]+[[:space:]]+//' || true)
    if [[ $status -ne 0 ]]; then
        failed+=("$t")
        echo "!! $t FAILED (exit $status); log: $log" >&2
        grep -E 'panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer|SUMMARY|Test unit written to' "$log" >&2 || tail -20 "$log" >&2
    fi
    summary+=("$(printf '%-14s %-6s %12s execs %8s exec/s  %s' "$t" \
        "$([[ $status -eq 0 ]] && echo ok || echo CRASH)" "${execs:-?}" "${rate:-?}" "$last")")
    if [[ "${FUZZ_MERGE:-0}" == 1 && $status -eq 0 ]]; then
        cargo fuzz run -s "$sanitizer" "$t" "fuzz/corpus/$t" "$work" -- -merge=1 >>"$log" 2>&1
    fi
done

echo
echo "== summary (${seconds}s per target, sanitizer $sanitizer; logs in $logs/)"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
