#!/usr/bin/env bash
# One-machine benchmark of lambda-proxy against nginx and nginx + a Lua SigV4 signer, with public
# tools only (wrk, nginx, its Lua module and taskset from the distribution). See load/README.md for what it measures and how to read it.
#
#   ./load/bench.sh                 build, then saturation (every gateway path with its access log
#                                   off, text and json), latency (1 connection; half-saturation
#                                   fixed rate) and peak RSS with 1,000 keep-alive clients
#   ./load/bench.sh --quick         5 s runs, 1 s warm-ups (a quick look, not for RESULTS.md)
#   ./load/bench.sh --help          every option
#
# Processes: the emulator in --fast mode and wrk share the "load" core; the proxy under test
# (lambda-proxy with threads: 1, or nginx with worker_processes 1) runs alone on the "proxy" core.
# A second emulator on the load core serves the JSON Web Key Set of the JWT path (fu_jwt), whose
# RS256 token is minted here at start-up with openssl. A redis-server on the load core holds the
# fleet-wide limits of fu_limited_redis, served by a second gateway (the same configuration plus
# throttling_store) on the proxy core; only one gateway is loaded at a time, the other is idle.
# Everything binds 127.0.0.1 on ports chosen at run time, every run is bounded in time, and
# every process started here is stopped by its PID on exit.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

DURATION=10        # seconds per measured run
WARMUP=2           # seconds of warm-up before each measured run (not measured)
CONNS=64           # connections for the saturation runs
BODY_BYTES=1024    # request body (JSON) for every path
RSS_CONNS=1000     # keep-alive clients for the RSS run
RATE_CONNS=128     # keep-alive connections of the fixed-rate runs (load/fixed-rate)
PROXY_CPU=0
LOAD_CPU=1
DO_LATENCY=1
DO_RSS=1
DO_BUILD=1
DO_INSTALL=1
PAIR_ROUNDS=5      # rounds of each feature-cost pair (0: none)
PAIR_SECONDS=4     # seconds per measured run of a pair (after 1 s of warm-up)
OUT=""
KEEP=0
# Gateway access log modes of the saturation runs: off (access_log.enabled: false, RUST_LOG=warn,
# like nginx's access_log off), text, json (RUST_LOG=warn,access=info, to a file).
LOG_MODES=off,text,json

usage() {
  cat <<'TXT'
usage: load/bench.sh [options]
  --duration S      seconds per measured run (default 10)
  --warmup S        seconds of warm-up before each measured run (default 2)
  --connections N   connections for the saturation runs (default 64)
  --body-bytes N    JSON request body size for every path (default 1024)
  --rss-connections N  keep-alive clients for the RSS run (default 1000)
  --rate-connections N keep-alive connections of the fixed-rate runs (default 128)
  --proxy-cpu N     core for the proxy under test (default 0)
  --load-cpu N      core for wrk and the emulator (default 1)
  --no-latency      skip the latency runs (1 connection; fixed rate)
  --pair-rounds N   rounds of each feature-cost pair, alternating in one gateway process
                    (default 5; 0 skips them)
  --pair-seconds S  seconds per measured run of a pair (default 4, after 1 s of warm-up)
  --no-rss          skip the 1,000-client RSS runs
  --no-build        use the existing target/release binaries (fixed-rate is built if missing)
  --no-install      do not apt-get install missing tools (nginx, wrk, taskset, curl, openssl,
                    redis-server, redis-cli)
  --quick           --duration 5 --warmup 1
  --out FILE        also write the markdown report to FILE and its chart to FILE's stem + .svg
                    (next to FILE: --out /tmp/bench.md writes /tmp/bench.svg)
  --keep            keep the work directory (configs, logs, raw results)
  --access-log-modes LIST
                    gateway access log modes measured at saturation, comma-separated, among
                    off, text and json (default off,text,json: three rows per gateway path).
                    off: access_log.enabled false and RUST_LOG=warn; text / json: that format,
                    RUST_LOG=warn,access=info, stderr to a file in the work directory. The
                    gateway is restarted for each path and mode. nginx pass-through runs with
                    access_log off, and on (combined, to a file) when text or json is listed.
                    The unloaded, fixed-rate and RSS runs use one mode: text when listed, else
                    the first one. Fewer modes, shorter run.
  --access-log MODE the same as --access-log-modes MODE (one mode)
TXT
}

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --body-bytes) BODY_BYTES=$2; shift 2 ;;
    --rss-connections) RSS_CONNS=$2; shift 2 ;;
    --rate-connections) RATE_CONNS=$2; shift 2 ;;
    --proxy-cpu) PROXY_CPU=$2; shift 2 ;;
    --load-cpu) LOAD_CPU=$2; shift 2 ;;
    --no-latency) DO_LATENCY=0; shift ;;
    --pair-rounds) PAIR_ROUNDS=$2; shift 2 ;;
    --pair-seconds) PAIR_SECONDS=$2; shift 2 ;;
    --no-rss) DO_RSS=0; shift ;;
    --no-build) DO_BUILD=0; shift ;;
    --no-install) DO_INSTALL=0; shift ;;
    --quick) DURATION=5; WARMUP=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --access-log-modes|--access-log) LOG_MODES=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
COMMAND="./load/bench.sh${*:+ $*}"
for n in "$DURATION" "$WARMUP" "$CONNS" "$BODY_BYTES" "$RSS_CONNS" "$RATE_CONNS" "$PROXY_CPU" "$LOAD_CPU" \
  "$PAIR_ROUNDS" "$PAIR_SECONDS"; do
  case "$n" in ''|*[!0-9]*) echo "bench.sh: not a whole number: $n" >&2; exit 2 ;; esac
done
[ "$DURATION" -gt 0 ] || { echo "bench.sh: --duration must be at least 1" >&2; exit 2; }
[ "$PAIR_SECONDS" -gt 0 ] || { echo "bench.sh: --pair-seconds must be at least 1" >&2; exit 2; }
IFS=, read -r -a MODES <<< "$LOG_MODES"
[ ${#MODES[@]} -gt 0 ] || { echo "bench.sh: --access-log-modes: empty list" >&2; exit 2; }
LOG_ON=0          # 1 when a mode with the access log on is listed (nginx then runs it on too)
declare -A SEEN=()
for m in "${MODES[@]}"; do
  case "$m" in off) ;; text|json) LOG_ON=1 ;; *) echo "bench.sh: --access-log-modes: off, text or json, not '$m'" >&2; exit 2 ;; esac
  [ -z "${SEEN[$m]:-}" ] || { echo "bench.sh: --access-log-modes: $m twice" >&2; exit 2; }
  SEEN[$m]=1
done
# The mode of the unloaded, fixed-rate and RSS runs: text (the gateway's default) when listed.
DETAIL_MODE=${MODES[0]}
[ -n "${SEEN[text]:-}" ] && DETAIL_MODE=text
ARGS_TEXT="access_log_modes=${LOG_MODES} detail_mode=${DETAIL_MODE} duration=${DURATION}s warmup=${WARMUP}s connections=${CONNS} body=${BODY_BYTES}B rate_connections=${RATE_CONNS} rss_connections=${RSS_CONNS} proxy_cpu=${PROXY_CPU} load_cpu=${LOAD_CPU} pair_rounds=${PAIR_ROUNDS} pair_seconds=${PAIR_SECONDS}s"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The expected length of the measurements (without the build): measured runs of warm-up +
# duration each, about 1 s of set-up per run (/proc reads, metrics scrapes, client start), about
# 1 s per gateway restart, and the RSS runs' second waves.
estimate_seconds() {
  local run=$((WARMUP + DURATION)) n_gw=8 n_sat restarts total
  n_sat=$((3 + LOG_ON + n_gw * ${#MODES[@]}))      # direct, nginx, [nginx log on], nginx + Lua, gateway
  restarts=$((n_gw * ${#MODES[@]}))
  total=$((n_sat * (run + 1)))
  if [ "$DO_LATENCY" = 1 ]; then
    # unloaded: 3 references + 8 gateway paths; fixed rate: 8 gateway paths + nginx + direct
    # each, + nginx + Lua for the 3 signed ones, + fu_apikey_rgw at fu_limited_redis's rate
    total=$((total + (3 + n_gw + 3 * n_gw + 3 + 1) * (run + 1)))
    restarts=$((restarts + 2))
  fi
  if [ "$DO_RSS" = 1 ]; then
    # nginx, nginx + Lua, 2 gateway paths: wave 1 (warm-up + duration), wave 2 (duration), a wait
    total=$((total + 4 * (run + DURATION + 4)))
    restarts=$((restarts + 2))
  fi
  # feature-cost pairs: 3 pairs (+ the Redis p99 pair with the latency runs) × rounds × 2 runs
  # of 1 s warm-up + PAIR_SECONDS
  local pairs=3
  [ "$DO_LATENCY" = 1 ] && pairs=4
  total=$((total + pairs * PAIR_ROUNDS * 2 * (1 + PAIR_SECONDS + 1)))
  echo $((total + restarts + 10))
}
EST=$(estimate_seconds)
log "expected duration: about $((EST / 60)) min $((EST % 60)) s of measurements (plus the build unless --no-build); access log modes: ${MODES[*]} (unloaded, fixed-rate and RSS runs: $DETAIL_MODE)"

# ---------------------------------------------------------------------------------------------
# Prerequisites: nginx, its Lua module (libnginx-mod-http-lua, which brings lua-resty-core and
# LuaJIT), wrk, taskset (util-linux), curl, python3, openssl, redis-server and redis-cli
# (redis-tools) from the distribution.
# ---------------------------------------------------------------------------------------------
NGINX_BIN=$(command -v nginx || true)
[ -z "$NGINX_BIN" ] && [ -x /usr/sbin/nginx ] && NGINX_BIN=/usr/sbin/nginx
NGINX_MODULES=/usr/lib/nginx/modules
missing=()
[ -n "$NGINX_BIN" ] || missing+=(nginx)
[ -f "$NGINX_MODULES/ngx_http_lua_module.so" ] || missing+=(libnginx-mod-http-lua)
command -v wrk >/dev/null || missing+=(wrk)
command -v taskset >/dev/null || missing+=(util-linux)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3)
command -v openssl >/dev/null || missing+=(openssl)
command -v pgrep >/dev/null || missing+=(procps)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-cli >/dev/null || missing+=(redis-tools)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$DO_INSTALL" = 1 ] || die "missing tools: ${missing[*]} (run without --no-install, or install them)"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "missing tools: ${missing[*]}; need root or sudo to apt-get install them"
    SUDO=sudo
  fi
  log "installing ${missing[*]} with apt-get"
  # Keep Debian's nginx package from starting (and enabling) a system nginx on port 80: a
  # temporary policy-rc.d refuses service starts during the install (only if none exists).
  policy_made=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    policy_made=1
  fi
  rc=0
  { $SUDO apt-get update -q && \
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >&2 || rc=$?
  [ "$policy_made" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || die "apt-get install ${missing[*]} failed"
  NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
fi
ncpu=$(nproc)
{ [ "$PROXY_CPU" -lt "$ncpu" ] && [ "$LOAD_CPU" -lt "$ncpu" ]; } || die "need cores $PROXY_CPU and $LOAD_CPU (nproc=$ncpu)"
[ "$PROXY_CPU" != "$LOAD_CPU" ] || die "--proxy-cpu and --load-cpu must differ"

if [ "$DO_BUILD" = 1 ]; then
  log "cargo build --release --workspace --bins"
  cargo build --release --workspace --bins >&2
fi
# The fixed-rate load generator (std only, no dependencies), built beside the project's binaries.
FIXED_RATE=$ROOT/target/load-tools/release/fixed-rate
# Also with --no-build when its sources are newer than the binary (an option the harness uses
# may be new).
stale_fixed_rate() {
  [ -n "$(find "$ROOT/load/fixed-rate/src" "$ROOT/load/fixed-rate/Cargo.toml" -newer "$FIXED_RATE" 2>/dev/null | head -1)" ]
}
if [ "$DO_BUILD" = 1 ] || [ ! -x "$FIXED_RATE" ] || stale_fixed_rate; then
  log "cargo build --release --manifest-path load/fixed-rate/Cargo.toml"
  CARGO_TARGET_DIR=$ROOT/target/load-tools cargo build --release --locked \
    --manifest-path "$ROOT/load/fixed-rate/Cargo.toml" >&2
fi
GATEWAY_BIN=$ROOT/target/release/lambda-proxy
EMULATOR_BIN=$ROOT/target/release/lambda-proxy-emulator
{ [ -x "$GATEWAY_BIN" ] && [ -x "$EMULATOR_BIN" ]; } || die "no release binaries (run without --no-build)"

# 1,000 clients need more than the usual 1024 descriptors (the children inherit this).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -gt $((RSS_CONNS * 2 + 100)) ] || log "warning: ulimit -n $(ulimit -n) is low for $RSS_CONNS clients"

WORK=$(mktemp -d /tmp/lambda-proxy-bench.XXXXXX)
chmod 755 "$WORK"   # nginx workers may run as another user
RESULTS=$WORK/results.jsonl
: > "$RESULTS"

# ---------------------------------------------------------------------------------------------
# Processes, stopped by PID whatever happens.
# ---------------------------------------------------------------------------------------------
EMU_PID="" GW_PID="" RGW_PID="" NGX_PID="" NGX_WORKER="" LUA_PID="" LUA_WORKER="" STRICT_PID="" JWKS_PID=""
REDIS_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in $GW_PID $RGW_PID $NGX_PID $LUA_PID $STRICT_PID $JWKS_PID $REDIS_PID $EMU_PID; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $GW_PID $RGW_PID $NGX_PID $LUA_PID $STRICT_PID $JWKS_PID $REDIS_PID $EMU_PID; do
    for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "$KEEP" = 1 ] || [ "$rc" != 0 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r EMU_PORT GW_PORT GW_MET_PORT NGX_PORT NGX_LOG_PORT LUA_PORT LUA_CHECK_PORT STRICT_PORT JWKS_PORT \
  RGW_PORT RGW_MET_PORT REDIS_PORT < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(12)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
for s in socks:
    s.close()
PY
)

# utime + stime (clock ticks) of a process: fields 14 and 15 of /proc/PID/stat.
cpu_ticks() {
  local total=0 pid line rest
  for pid in "$@"; do
    read -r line < "/proc/$pid/stat"
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}
# Busy and total jiffies of core N from /proc/stat (busy = all but idle and iowait).
core_jiffies() {
  awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# Resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0).
reset_hwm() { echo 5 > "/proc/$1/clear_refs" 2>/dev/null && echo true || echo false; }

wait_http() { # url what pid
  for _ in $(seq 1 150); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    kill -0 "$3" 2>/dev/null || die "$2 exited at start (logs in $WORK)"
    sleep 0.1
  done
  die "$2 did not answer on $1 (logs in $WORK)"
}

# --- the emulator, fast mode, on the load core -------------------------------------------------
log "emulator --fast on 127.0.0.1:$EMU_PORT (core $LOAD_CPU)"
RUST_LOG=warn taskset -c "$LOAD_CPU" "$EMULATOR_BIN" --http "127.0.0.1:$EMU_PORT" --fast --threads 1 \
  > "$WORK/emulator.out" 2> "$WORK/emulator.log" &
EMU_PID=$!
for _ in $(seq 1 150); do grep -q READY "$WORK/emulator.out" 2>/dev/null && break; sleep 0.1; done
grep -q READY "$WORK/emulator.out" || die "emulator did not start: $(cat "$WORK/emulator.log")"

# --- the JWT path's issuer: an RS256 key, its key set, one token -------------------------------
# openssl and the Python standard library only: the key (openssl genrsa), the JWK's n from the
# key's modulus (e is 65537, AQAB), base64url in Python, the signature with openssl dgst. The
# token is valid for a day; every fu_jwt request repeats it.
JWT_ISSUER=https://issuer.bench.example/
JWT_AUDIENCE=bench
JWT_KID=bench-rs256
log "minting an RS256 token for the JWT path (issuer $JWT_ISSUER, audience $JWT_AUDIENCE)"
openssl genrsa -out "$WORK/jwt-key.pem" 2048 2> "$WORK/openssl.log" || die "openssl genrsa: $(cat "$WORK/openssl.log")"
JWT_MODULUS=$(openssl rsa -in "$WORK/jwt-key.pem" -noout -modulus 2> "$WORK/openssl.log") \
  || die "openssl rsa -modulus: $(cat "$WORK/openssl.log")"
python3 - "${JWT_MODULUS#Modulus=}" "$JWT_KID" "$JWT_ISSUER" "$JWT_AUDIENCE" "$WORK/jwks.json" \
  "$WORK/jwt-signing-input" <<'PY' || die "JWT key set and claims: python3 failed"
import base64, json, sys, time
modulus, kid, iss, aud, jwks_file, input_file = sys.argv[1:]
def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def part(obj):
    return b64url(json.dumps(obj, separators=(",", ":")).encode())
modulus = modulus.strip()
n = bytes.fromhex(modulus if len(modulus) % 2 == 0 else "0" + modulus).lstrip(b"\0")
assert len(n) * 8 >= 2048, "modulus too short"
with open(jwks_file, "w") as f:
    json.dump({"keys": [{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                         "n": b64url(n), "e": "AQAB"}]}, f)
now = int(time.time())
with open(input_file, "w") as f:
    f.write(part({"alg": "RS256", "typ": "JWT", "kid": kid}) + "."
            + part({"iss": iss, "aud": aud, "sub": "bench-client", "iat": now, "exp": now + 86400}))
PY
openssl dgst -sha256 -sign "$WORK/jwt-key.pem" -out "$WORK/jwt-signature" "$WORK/jwt-signing-input" \
  2> "$WORK/openssl.log" || die "openssl dgst -sign: $(cat "$WORK/openssl.log")"
JWT_TOKEN=$(cat "$WORK/jwt-signing-input").$(python3 -c 'import base64, sys
print(base64.urlsafe_b64encode(open(sys.argv[1], "rb").read()).rstrip(b"=").decode())' "$WORK/jwt-signature")
[ "$(tr -cd . <<< "$JWT_TOKEN" | wc -c)" = 2 ] || die "the minted token is not header.claims.signature"
AUTH_JWT="Authorization: Bearer $JWT_TOKEN"

# --- the issuer's key set: a second emulator (not --fast) on the load core ----------------------
# GET /.well-known/jwks.json answers $WORK/jwks.json. Each gateway fetches it when the first
# token arrives; it is idle otherwise.
log "emulator serving the JWT key set on 127.0.0.1:$JWKS_PORT (core $LOAD_CPU)"
RUST_LOG=warn taskset -c "$LOAD_CPU" "$EMULATOR_BIN" --http "127.0.0.1:$JWKS_PORT" --threads 1 \
  --jwks-file "$WORK/jwks.json" > "$WORK/emulator-jwks.out" 2> "$WORK/emulator-jwks.log" &
JWKS_PID=$!
for _ in $(seq 1 150); do grep -q READY "$WORK/emulator-jwks.out" 2>/dev/null && break; sleep 0.1; done
grep -q READY "$WORK/emulator-jwks.out" || die "JWKS emulator did not start: $(cat "$WORK/emulator-jwks.log")"
code=$(curl -s -o "$WORK/check-jwks.out" -w '%{http_code}' "http://127.0.0.1:$JWKS_PORT/.well-known/jwks.json")
[ "$code" = 200 ] || die "JWKS emulator: /.well-known/jwks.json answered $code: $(head -c 300 "$WORK/check-jwks.out")"

# --- Redis for the fleet-wide limits of fu_limited_redis, on the load core ----------------------
# No persistence (no RDB snapshots, no AOF): the bucket hashes only, in memory.
log "redis-server on 127.0.0.1:$REDIS_PORT (core $LOAD_CPU, no persistence)"
taskset -c "$LOAD_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  > "$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 1 150); do
  [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break
  kill -0 "$REDIS_PID" 2>/dev/null || die "redis-server exited at start: $(tail -5 "$WORK/redis.log")"
  sleep 0.1
done
[ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] || die "redis-server did not answer PING on :$REDIS_PORT"

# --- the gateways, one worker thread each, on the proxy core -----------------------------------
# Two gateway processes, because throttling_store applies to every limit of a gateway: "main"
# serves every gateway path but fu_limited_redis; "redis" has the same configuration plus
# throttling_store (the Redis above) and serves fu_limited_redis. Each has its own port, metrics
# port, pid_file and upgrade_sock, its files in $WORK named after its stem (gateway,
# gateway-redis) and its variables (GW_PORT, GW_MET_PORT, GW_PID, GW_MODE; RGW_* for redis).
# Only the gateway of the measured path gets requests; the other one is idle.
AKID=AKIDEXAMPLE
SECRET=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
# The gateway's, nginx's and nginx + Lua's configurations (gateway_yaml, nginx_conf, nginx_lua_conf).
# shellcheck source=load/bench_conf.sh
. "$ROOT/load/bench_conf.sh"
GATEWAYS=(main redis)
# gateway_of PATH: the gateway serving a gateway path.
gateway_of() { case "$1" in fu_limited_redis|fu_apikey_rgw) echo redis ;; *) echo main ;; esac; }
# gw WHICH FIELD: that gateway's PORT, MET_PORT, PID or MODE (the current value); STEM its
# file names' stem.
gw() {
  local prefix=GW stem=gateway var
  [ "$1" = redis ] && { prefix=RGW; stem=gateway-redis; }
  [ "$2" = STEM ] && { echo "$stem"; return; }
  var=${prefix}_$2
  echo "${!var}"
}
for m in "${MODES[@]}"; do
  gateway_yaml "$m" > "$WORK/gateway-$m.yaml"
  gateway_redis_yaml "$m" > "$WORK/gateway-redis-$m.yaml"
  for which in "${GATEWAYS[@]}"; do
    f=$WORK/$(gw "$which" STEM)-$m.yaml
    "$GATEWAY_BIN" -t -c "$f" > "$WORK/gateway-t.log" 2>&1 || die "gateway config $f: $(cat "$WORK/gateway-t.log")"
  done
done
# start_gateway MODE [WHICH]: a fresh gateway WHICH (main by default) with access log MODE; its
# stderr (the access log, and any warning) goes to $WORK/STEM-MODE.log. The access log (target
# `access`, info) is on only in the text and json modes.
GW_MODE="" RGW_MODE=""
start_gateway() {
  local which=${2:-main} rust_log=warn stem pid
  [ "$1" = off ] || rust_log=warn,access=info
  stem=$(gw "$which" STEM)
  RUST_LOG=$rust_log taskset -c "$PROXY_CPU" "$GATEWAY_BIN" -c "$WORK/$stem-$1.yaml" \
    >> "$WORK/$stem.out" 2>> "$WORK/$stem-$1.log" &
  pid=$!
  if [ "$which" = redis ]; then RGW_PID=$pid RGW_MODE=$1; else GW_PID=$pid GW_MODE=$1; fi
  wait_http "http://127.0.0.1:$(gw "$which" PORT)/healthz" "$stem" "$pid"
}
# stop_gateway [WHICH]
stop_gateway() {
  local which=${1:-main} pid
  pid=$(gw "$which" PID)
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$which" = redis ]; then RGW_PID=""; else GW_PID=""; fi
}
restart_gateway() { stop_gateway "${2:-main}"; start_gateway "$1" "${2:-main}"; }
log "lambda-proxy on 127.0.0.1:$GW_PORT, metrics :$GW_MET_PORT (core $PROXY_CPU, threads: 1, access log $DETAIL_MODE)"
start_gateway "$DETAIL_MODE"
log "lambda-proxy + throttling_store (Redis :$REDIS_PORT) on 127.0.0.1:$RGW_PORT, metrics :$RGW_MET_PORT (core $PROXY_CPU, threads: 1, access log $DETAIL_MODE)"
start_gateway "$DETAIL_MODE" redis

# --- nginx, one worker process, on the proxy core ---------------------------------------------
mkdir -p "$WORK/nginx-tmp"
nginx_conf > "$WORK/nginx.conf"
# start_nginx NAME PORT PID_VAR WORKER_VAR: nginx with $WORK/NAME.conf on the proxy core; sets
# PID_VAR (the master, stopped on exit) and WORKER_VAR once NAME answers on PORT.
start_nginx() {
  taskset -c "$PROXY_CPU" "$NGINX_BIN" -p "$WORK" -c "$WORK/$1.conf" -e "$WORK/$1-error.log" \
    > "$WORK/$1.out" 2>&1 &
  printf -v "$3" '%s' "$!"
  wait_http "http://127.0.0.1:$2/open/up" "$1" "${!3}"
  printf -v "$4" '%s' "$(pgrep -P "${!3}" | head -1)"
  [ -n "${!4}" ] || die "no $1 worker process under ${!3}"
}
log "nginx on 127.0.0.1:$NGX_PORT, access_log on: :$NGX_LOG_PORT (core $PROXY_CPU, worker_processes 1)"
start_nginx nginx "$NGX_PORT" NGX_PID NGX_WORKER

# --- nginx + Lua SigV4 signer, one worker process, on the proxy core ---------------------------
# The engine under Kong's and APISIX's aws-lambda plugins: lua-nginx-module signs every request
# (load/nginx/sigv4.lua: body SHA-256, canonical request, HMAC with the signing key cached per
# day, all through LuaJIT FFI to libcrypto) and proxy_pass sends it over keep-alive connections.
# Its access_log is on (nginx's default combined format, to a file), as nginx runs in production;
# the plain nginx row above has it off. A second server signs for a strict emulator (SigV4
# verified, unlike --fast) that is started only to check the signatures before the measurements.
mkdir -p "$WORK/nginx-lua-tmp"
nginx_lua_conf > "$WORK/nginx-lua.conf"
log "nginx + Lua SigV4 signer on 127.0.0.1:$LUA_PORT (core $PROXY_CPU, worker_processes 1, access_log on)"
start_nginx nginx-lua "$LUA_PORT" LUA_PID LUA_WORKER

# The signer's signatures, checked by the emulator's SigV4 verifier (service lambda on /url;
# a query to sort, an encoded path, an empty body), then that emulator is stopped.
log "checking the Lua signer against a SigV4-verifying emulator on 127.0.0.1:$STRICT_PORT"
RUST_LOG=warn taskset -c "$LOAD_CPU" "$EMULATOR_BIN" --http "127.0.0.1:$STRICT_PORT" --threads 1 \
  > "$WORK/emulator-strict.out" 2> "$WORK/emulator-strict.log" &
STRICT_PID=$!
for _ in $(seq 1 150); do grep -q READY "$WORK/emulator-strict.out" 2>/dev/null && break; sleep 0.1; done
grep -q READY "$WORK/emulator-strict.out" || die "strict emulator did not start: $(cat "$WORK/emulator-strict.log")"
for check in "POST /url/bench" "POST /url/a%20b/c?z=1&a=2&a=1&e=%2F" "GET /url/bench?x=y"; do
  method=${check%% *}; target=${check#* }
  if [ "$method" = POST ]; then
    code=$(curl -s -o "$WORK/check-lua.out" -w '%{http_code}' -H 'content-type: application/json' \
      --data-binary '{"check":"sigv4"}' "http://127.0.0.1:$LUA_CHECK_PORT$target")
  else
    code=$(curl -s -o "$WORK/check-lua.out" -w '%{http_code}' "http://127.0.0.1:$LUA_CHECK_PORT$target")
  fi
  [ "$code" = 200 ] || die "Lua signer: $method $target answered $code: $(head -c 300 "$WORK/check-lua.out")"
done
kill -TERM "$STRICT_PID" 2>/dev/null || true
wait "$STRICT_PID" 2>/dev/null || true
STRICT_PID=""

# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------
BODY=$WORK/body.json
python3 -c 'import sys; n=int(sys.argv[1]); sys.stdout.write("{\"pad\":\"" + "x" * max(0, n - 10) + "\"}")' \
  "$BODY_BYTES" > "$BODY"
LUA=$ROOT/load/wrk/bench.lua

# Reference paths (nginx_log: nginx pass-through with access_log on, when a gateway mode has the
# access log on) and gateway paths (each measured in every access log mode at saturation).
REF_PATHS=(direct nginx)
[ "$LOG_ON" = 1 ] && REF_PATHS+=(nginx_log)
REF_PATHS+=(nginx_lua)
GW_PATHS=(fu_apikey fu_apikey_tok fu_jwt fu_limited fu_limited_redis fu_iam invoke_raw invoke_v2)
SIGNED_PATHS=" fu_iam invoke_raw invoke_v2 "
url_of() {
  case "$1" in
    direct) echo "http://127.0.0.1:$EMU_PORT/open/bench" ;;
    nginx) echo "http://127.0.0.1:$NGX_PORT/open/bench" ;;
    nginx_log) echo "http://127.0.0.1:$NGX_LOG_PORT/open/bench" ;;
    nginx_lua) echo "http://127.0.0.1:$LUA_PORT/url/bench" ;;
    fu_apikey|fu_apikey_tok) echo "http://127.0.0.1:$GW_PORT/fu/bench" ;;
    fu_apikey_rgw) echo "http://127.0.0.1:$RGW_PORT/fu/bench" ;;
    fu_jwt) echo "http://127.0.0.1:$GW_PORT/fu-jwt/bench" ;;
    fu_limited) echo "http://127.0.0.1:$GW_PORT/fu-limited/bench" ;;
    fu_limited_redis) echo "http://127.0.0.1:$RGW_PORT/fu-limited/bench" ;;
    fu_iam) echo "http://127.0.0.1:$GW_PORT/fu-iam/bench" ;;
    invoke_raw) echo "http://127.0.0.1:$GW_PORT/invoke" ;;
    invoke_v2) echo "http://127.0.0.1:$GW_PORT/invoke-v2/bench?x=1" ;;
  esac
}
# PIDs whose CPU is the "proxy process" of a path.
pids_of() {
  case "$1" in
    direct) echo "$EMU_PID" ;;
    nginx|nginx_log) echo "$NGX_PID $NGX_WORKER" ;;
    nginx_lua) echo "$LUA_PID $LUA_WORKER" ;;
    *) gw "$(gateway_of "$1")" PID ;;
  esac
}
# The process whose peak RSS is reported.
rss_pid_of() {
  case "$1" in
    direct) echo "$EMU_PID" ;;
    nginx|nginx_log) echo "$NGX_WORKER" ;;
    nginx_lua) echo "$LUA_WORKER" ;;
    *) gw "$(gateway_of "$1")" PID ;;
  esac
}
route_of() {
  case "$1" in
    fu_apikey|fu_apikey_tok|fu_apikey_rgw) echo fu-apikey ;; fu_jwt) echo fu-jwt ;; fu_limited|fu_limited_redis) echo fu-limited ;; fu_iam) echo fu-iam ;;
    invoke_raw) echo invoke-raw ;; invoke_v2) echo invoke-v2 ;; *) echo "" ;;
  esac
}
# The access log of a path in the results: none (direct), off, combined (nginx's default format)
# or the current mode of the path's gateway; and the file it goes to (empty when off).
log_of() {
  case "$1" in
    direct) echo none ;; nginx) echo off ;; nginx_log|nginx_lua) echo combined ;; *) gw "$(gateway_of "$1")" MODE ;;
  esac
}
log_file_of() {
  local which
  case "$1" in
    nginx_log) echo "$WORK/nginx-access.log" ;;
    nginx_lua) echo "$WORK/nginx-lua-access.log" ;;
    direct|nginx) echo "" ;;
    *) which=$(gateway_of "$1")
       [ "$(gw "$which" MODE)" = off ] || echo "$WORK/$(gw "$which" STEM)-$(gw "$which" MODE).log" ;;
  esac
}
lines_of() { if [ -n "$1" ] && [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
# The request header a path's clients send besides Content-Type (`Name: value`), or nothing:
# every fu_jwt request (wrk and load/fixed-rate alike) carries the one minted token, and so does
# fu_apikey_tok: the same route as fu_apikey receiving the same request bytes as fu_jwt, so the
# JWT target compares the authorizer's work, not the cost of reading a 600-byte header.
header_of() {
  case "$1" in
    fu_jwt|fu_apikey_tok) echo "$AUTH_JWT" ;; *) echo "" ;;
  esac
}

log "checking every path answers 200 (fu_jwt with its token)"
for p in "${REF_PATHS[@]}" "${GW_PATHS[@]}" fu_apikey_rgw; do
  hdr=$(header_of "$p")
  code=$(curl -s -o "$WORK/check-$p.out" -w '%{http_code}' -H 'content-type: application/json' \
    ${hdr:+-H "$hdr"} --data-binary "@$BODY" "$(url_of "$p")")
  [ "$code" = 200 ] || die "$p: $(url_of "$p") answered $code: $(head -c 300 "$WORK/check-$p.out")"
done
# The JWT path refuses what it should, or the token above proved nothing: no token, and the
# token with a forged signature (its first character changed: the last one is partly padding
# bits), are 401.
log "checking fu_jwt answers 401 without a token and with a forged one"
code=$(curl -s -o "$WORK/check-fu_jwt-none.out" -w '%{http_code}' -H 'content-type: application/json' \
  --data-binary "@$BODY" "$(url_of fu_jwt)")
[ "$code" = 401 ] || die "fu_jwt without a token answered $code, not 401: $(head -c 300 "$WORK/check-fu_jwt-none.out")"
sig=${JWT_TOKEN##*.}
forged=${JWT_TOKEN%.*}.$([ "${sig:0:1}" = A ] && echo B || echo A)${sig:1}
code=$(curl -s -o "$WORK/check-fu_jwt-forged.out" -w '%{http_code}' -H 'content-type: application/json' \
  -H "Authorization: Bearer $forged" --data-binary "@$BODY" "$(url_of fu_jwt)")
[ "$code" = 401 ] || die "fu_jwt with a forged signature answered $code, not 401: $(head -c 300 "$WORK/check-fu_jwt-forged.out")"

# scrape OUT PATH: the metrics of PATH's gateway.
scrape() { curl -s --max-time 5 "http://127.0.0.1:$(gw "$(gateway_of "$2")" MET_PORT)/metrics" > "$1" || : > "$1"; }

# redis_info OUT: Redis's per-command counts (INFO commandstats); the store's round trips are
# its script calls (EVALSHA, and EVAL when a script is not loaded yet).
redis_info() { redis-cli -p "$REDIS_PORT" info commandstats > "$1" 2>&1 || : > "$1"; }
redis_script_calls() { awk -F'[:=,]' '/^cmdstat_eval(sha)?:/ {n += $3} END {print n + 0}' "$1"; }

# fu_limited_redis's limits really live in Redis: after the requests above (and those below),
# its gateway counts store decisions that succeeded (lambda_proxy_throttling_store_calls_total
# counts one per bucket per request, served from a lease or not), Redis ran the store's scripts
# and holds the route's and the address's bucket hashes (`lambda-proxy:tb:{...}`).
log "checking fu_limited_redis keeps its buckets in Redis (:$REDIS_PORT)"
for _ in $(seq 1 20); do
  curl -s -o /dev/null -H 'content-type: application/json' --data-binary "@$BODY" "$(url_of fu_limited_redis)"
done
scrape "$WORK/check-redis.metrics" fu_limited_redis
store_ok=$(awk '/^lambda_proxy_throttling_store_calls_total\{.*result="ok"/ {n += $NF} END {print n + 0}' "$WORK/check-redis.metrics")
[ "$store_ok" -gt 0 ] || die "fu_limited_redis: no successful store call (lambda_proxy_throttling_store_calls_total: $(grep throttling_store_calls "$WORK/check-redis.metrics" | tr '\n' ' '))"
redis_keys=$(redis-cli -p "$REDIS_PORT" --scan --pattern '*' | sort)
[ "$(grep -c 'tb:' <<< "$redis_keys")" -ge 2 ] || die "Redis holds no route and address buckets after fu_limited_redis requests: keys: ${redis_keys:-none}"
redis_info "$WORK/check-redis.info"
scripts=$(redis_script_calls "$WORK/check-redis.info")
[ "$scripts" -gt 0 ] || die "Redis ran no script for fu_limited_redis: $(tr '\n' ' ' < "$WORK/check-redis.info")"
log "  $store_ok store calls ok, $scripts Redis script calls; keys: $(tr '\n' ' ' <<< "$redis_keys")"
# The main gateway never calls a store.
scrape "$WORK/check-main.metrics" fu_limited
main_calls=$(awk '/^lambda_proxy_throttling_store_calls_total/ {n += $NF} END {print n + 0}' "$WORK/check-main.metrics")
[ "$main_calls" = 0 ] || die "the main gateway called a throttling store $main_calls times"

# run_load OUT CONNS SECONDS RATE URL [HEADER] -> one JSON line: wrk (closed loop, as fast as
# possible) when RATE is 0, else load/fixed-rate (open loop, Poisson arrivals at RATE per second).
# HEADER (`Name: value`: the JWT path's Authorization) goes with every request when set.
run_load() {
  local header=${6:-}
  if [ "$4" = 0 ]; then
    AUTH_HEADER=$header BODY_FILE=$BODY taskset -c "$LOAD_CPU" wrk -t1 -c"$2" -d"${3}s" --timeout 5s \
      -s "$LUA" "$5" > "$1" 2>&1 || die "wrk failed: $(cat "$1")"
    grep '^WRK_JSON ' "$1" | sed 's/^WRK_JSON //' | tail -1
  else
    taskset -c "$LOAD_CPU" "$FIXED_RATE" --url "$5" --rate "$4" --connections "$2" --duration "$3" \
      --warmup 0 --body-file "$BODY" ${header:+--header "$header"} > "$1" 2>&1 \
      || die "fixed-rate failed: $(cat "$1")"
    grep '^FIXED_JSON ' "$1" | sed 's/^FIXED_JSON //' | tail -1
  fi
}

# measure MODE PATH CONNS RATE (0: as fast as possible)
measure() {
  local mode=$1 p=$2 conns=$3 target=$4
  local url pids rpid route tag t0 t1 e0 e1 w0 reset wrk_json hwm rss_before rss_start pc0 pc1 lc0 lc1
  local logm logf l0 l1 hdr redis_stats=""
  url=$(url_of "$p"); pids=$(pids_of "$p"); rpid=$(rss_pid_of "$p"); route=$(route_of "$p")
  hdr=$(header_of "$p")
  logm=$(log_of "$p"); logf=$(log_file_of "$p")
  tag="$mode-$p"
  [ -n "$route" ] && tag="$tag-$logm"
  rss_start=$(rss_kb "$rpid")
  local warm=${WARMUP_OVERRIDE:-$WARMUP}
  [ "$warm" -gt 0 ] && run_load "$WORK/$tag.warmup.txt" "$conns" "$warm" "$target" "$url" "$hdr" > /dev/null
  if [ -n "${NO_HWM_RESET:-}" ]; then reset=false; else reset=$(reset_hwm "$rpid"); fi
  rss_before=$(rss_kb "$rpid")
  [ -n "$route" ] && scrape "$WORK/$tag.metrics.before" "$p"
  # The Redis-backed path: Redis's own command counts too (its script calls are the round trips).
  [ "$(gateway_of "$p")" = redis ] && [ -n "$route" ] && redis_stats=$WORK/$tag.redis
  [ -n "$redis_stats" ] && redis_info "$redis_stats.before"
  l0=$(lines_of "$logf")
  # shellcheck disable=SC2086
  t0=$(cpu_ticks $pids); e0=$(cpu_ticks "$EMU_PID"); w0=$(date +%s.%N)
  pc0=$(core_jiffies "$PROXY_CPU"); lc0=$(core_jiffies "$LOAD_CPU")
  wrk_json=$(run_load "$WORK/$tag.txt" "$conns" "${DURATION_OVERRIDE:-$DURATION}" "$target" "$url" "$hdr")
  # shellcheck disable=SC2086
  t1=$(cpu_ticks $pids); e1=$(cpu_ticks "$EMU_PID")
  pc1=$(core_jiffies "$PROXY_CPU"); lc1=$(core_jiffies "$LOAD_CPU")
  hwm=$(hwm_kb "$rpid")
  [ -n "$route" ] && scrape "$WORK/$tag.metrics.after" "$p"
  [ -n "$redis_stats" ] && redis_info "$redis_stats.after"
  # The gateway's writer thread writes within about 10 ms of a request.
  [ -n "$route" ] && [ -n "$logf" ] && sleep 0.05
  l1=$(lines_of "$logf")
  printf '{"mode":"%s","path":"%s","log":"%s","log_lines":%s,"conns":%s,"target_rate":%s,"proxy_ticks":%s,"emu_ticks":%s,"window_s":%s,"hwm_kb":%s,"rss_start_kb":%s,"rss_before_kb":%s,"hwm_reset":%s,"proxy_core":[%s],"load_core":[%s],"route":"%s","metrics_before":"%s","metrics_after":"%s","redis_before":"%s","redis_after":"%s","wrk":%s}\n' \
    "$mode" "$p" "$logm" "$((l1 - l0))" "$conns" "$target" "$((t1 - t0))" "$((e1 - e0))" \
    "$(python3 -c "import time; print(round(time.time() - $w0, 3))")" "$hwm" "$rss_start" "$rss_before" "$reset" \
    "$(python3 -c "a='$pc0'.split(); b='$pc1'.split(); print(int(b[0])-int(a[0]), ',', int(b[1])-int(a[1]))")" \
    "$(python3 -c "a='$lc0'.split(); b='$lc1'.split(); print(int(b[0])-int(a[0]), ',', int(b[1])-int(a[1]))")" \
    "$route" \
    "${route:+$WORK/$tag.metrics.before}" "${route:+$WORK/$tag.metrics.after}" \
    "${redis_stats:+$redis_stats.before}" "${redis_stats:+$redis_stats.after}" "$wrk_json" >> "$RESULTS"
  echo "$wrk_json"
}
rps_of() { python3 -c 'import json,sys; w=json.loads(sys.argv[1]); print(w["requests"] / (w["duration_us"] / 1e6))' "$1"; }

# --- 1. saturation: fixed connections, as fast as each path goes. Every gateway path runs in
# each access log mode back to back, each from a freshly started gateway.
declare -A SAT
for p in "${REF_PATHS[@]}"; do
  log "saturation: $p ($CONNS connections, ${WARMUP}s warm-up + ${DURATION}s)"
  w=$(measure sat "$p" "$CONNS" 0)
  SAT[$p]=$(rps_of "$w")
  log "  $p: $(printf '%.0f' "${SAT[$p]}") req/s"
done
for p in "${GW_PATHS[@]}"; do
  for m in "${MODES[@]}"; do
    restart_gateway "$m" "$(gateway_of "$p")"
    log "saturation: $p, access log $m ($CONNS connections, ${WARMUP}s warm-up + ${DURATION}s)"
    w=$(measure sat "$p" "$CONNS" 0)
    SAT[$p@$m]=$(rps_of "$w")
    log "  $p, access log $m: $(printf '%.0f' "${SAT[$p@$m]}") req/s"
  done
done
[ "$GW_MODE" = "$DETAIL_MODE" ] || restart_gateway "$DETAIL_MODE"
[ "$RGW_MODE" = "$DETAIL_MODE" ] || restart_gateway "$DETAIL_MODE" redis

# --- 1b. feature costs, each against its baseline in the same gateway process (access log in
# DETAIL_MODE): PAIR_ROUNDS rounds of a short run of each, the order alternating by round
# (base, feature; feature, base; ...) so that a slow drift of the machine cancels out. The runs
# above compare freshly started processes, whose speed differs by several percent between
# starts of one configuration on this VM; the pairs take that out of a feature's cost. The
# report's cost targets use the median of the rounds' ratios.
PAIRS=("fu_apikey fu_limited" "fu_apikey_tok fu_jwt" "fu_apikey_rgw fu_limited_redis")
if [ "$PAIR_ROUNDS" -gt 0 ]; then
  for pair in "${PAIRS[@]}"; do
    read -r base feature <<< "$pair"
    log "feature cost: $feature against $base in one gateway process ($PAIR_ROUNDS rounds, access log $DETAIL_MODE, ${PAIR_SECONDS}s each)"
    for round in $(seq 1 "$PAIR_ROUNDS"); do
      order=("$base" "$feature")
      [ $((round % 2)) = 0 ] && order=("$feature" "$base")
      for q in "${order[@]}"; do
        w=$(WARMUP_OVERRIDE=1 DURATION_OVERRIDE=$PAIR_SECONDS measure "pair:$feature:$round" "$q" "$CONNS" 0)
        log "  round $round, $q: $(printf '%.0f' "$(rps_of "$w")") req/s"
      done
    done
  done
fi

# --- 2. latency (gateway in DETAIL_MODE): one connection (unloaded round trip), then a fixed rate
# of half of each gateway path's saturation rate, with direct, nginx and (for the signed paths)
# nginx + Lua at the same rate as references.
if [ "$DO_LATENCY" = 1 ]; then
  for p in direct nginx nginx_lua "${GW_PATHS[@]}"; do
    log "unloaded: $p (1 connection, closed loop)"
    measure seq "$p" 1 0 > /dev/null
  done
  for p in "${GW_PATHS[@]}"; do
    rate=$(python3 -c "print(max(1, int(float('${SAT[$p@$DETAIL_MODE]}') / 2)))")
    refs=(nginx direct)
    case "$SIGNED_PATHS" in *" $p "*) refs=(nginx_lua nginx direct) ;; esac
    # The Redis-backed limits' added p99 is against the same route without limits, in the same
    # gateway process (fu_apikey_rgw), at the same rate (half of fu_limited_redis's saturation
    # rate: half load or less for the route without limits too).
    [ "$p" = fu_limited_redis ] && refs=(fu_apikey_rgw nginx direct)
    refs_text="${refs[*]}"
    log "fixed rate: $p, then ${refs_text// /, } at $rate req/s (Poisson arrivals over $RATE_CONNS connections)"
    for q in "$p" "${refs[@]}"; do
      measure "lat:$p" "$q" "$RATE_CONNS" "$rate" > /dev/null
    done
    # One p99 each is noisy (two runs of one path differ by several hundred µs here): the
    # Redis-backed limits' added p99 is also measured in alternating rounds in one process.
    if [ "$p" = fu_limited_redis ] && [ "$PAIR_ROUNDS" -gt 0 ]; then
      log "fixed rate: fu_limited_redis against fu_apikey_rgw at $rate req/s, $PAIR_ROUNDS alternating rounds of ${PAIR_SECONDS}s"
      for round in $(seq 1 "$PAIR_ROUNDS"); do
        order=(fu_apikey_rgw fu_limited_redis)
        [ $((round % 2)) = 0 ] && order=(fu_limited_redis fu_apikey_rgw)
        for q in "${order[@]}"; do
          WARMUP_OVERRIDE=1 DURATION_OVERRIDE=$PAIR_SECONDS measure "latpair:$p:$round" "$q" "$RATE_CONNS" "$rate" > /dev/null
        done
      done
    fi
  done
fi

# --- 3. peak RSS with many keep-alive clients (saturating; gateway in DETAIL_MODE). The gateway
# is restarted before each of its paths so that no earlier run's memory counts. Wave 1: one set
# of clients for warm-up + duration, from a fresh process (no separate warm-up). Wave 2: the
# first clients have gone and as many new ones connect (clients reconnecting), peak over both.
if [ "$DO_RSS" = 1 ]; then
  for p in nginx nginx_lua fu_apikey invoke_raw; do
    case "$p" in nginx*) ;; *) restart_gateway "$DETAIL_MODE" ;; esac
    log "RSS: $p with $RSS_CONNS keep-alive clients, two waves"
    rpid=$(rss_pid_of "$p")
    fd0=$(find "/proc/$rpid/fd" -mindepth 1 -maxdepth 1 | wc -l)
    WARMUP_OVERRIDE=0 DURATION_OVERRIDE=$((WARMUP + DURATION)) measure rss1 "$p" "$RSS_CONNS" 0 > /dev/null
    # Wave 2 is 1,000 *new* clients once the first ones have gone: wait (at most 10 s) until the
    # first wave's connections are closed, so the two waves do not overlap (an overlap is 2,000
    # clients for a moment, and the peak would measure that).
    for _ in $(seq 1 100); do
      [ "$(find "/proc/$rpid/fd" -mindepth 1 -maxdepth 1 | wc -l)" -le $((fd0 + 200)) ] && break
      sleep 0.1
    done
    WARMUP_OVERRIDE=0 NO_HWM_RESET=1 measure rss2 "$p" "$RSS_CONNS" 0 > /dev/null
  done
fi

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
REPORT=$WORK/report.md
# The chart: next to the report, named after --out's stem (report.svg without --out).
CHART_NAME=report.svg
if [ -n "$OUT" ]; then
  out_base=$(basename "$OUT")
  CHART_NAME=${out_base%.*}.svg
  [ "$out_base" = "${out_base%.*}" ] && CHART_NAME=$out_base.svg
fi
python3 "$ROOT/load/bench_report.py" "$RESULTS" --command "$COMMAND" --args "$ARGS_TEXT" \
  --versions "$("$NGINX_BIN" -v 2>&1 | head -1); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(rustc --version 2>/dev/null || echo rustc ?)" \
  --chart "$WORK/$CHART_NAME" > "$REPORT"
log "JWKS emulator counters: $(curl -s --max-time 5 "http://127.0.0.1:$JWKS_PORT/__emulator/counters" || echo '?')"
for m in "${MODES[@]}"; do
  [ "$m" = off ] && continue
  for which in "${GATEWAYS[@]}"; do
    f=$WORK/$(gw "$which" STEM)-$m.log
    log "$(gw "$which" STEM) access log ($m): $(grep -vc '^\[' "$f" || true) lines in $f"
  done
done
cat "$REPORT"
if [ -n "$OUT" ]; then
  cp "$REPORT" "$OUT"
  cp "$WORK/$CHART_NAME" "$(dirname "$OUT")/$CHART_NAME"
  log "report written to $OUT, chart to $(dirname "$OUT")/$CHART_NAME"
else
  log "chart: $WORK/$CHART_NAME (kept with --keep, or written next to --out FILE)"
fi
