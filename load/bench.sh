#!/usr/bin/env bash
# One-machine benchmark of lambda-proxy against nginx and nginx + a Lua SigV4 signer, with public
# tools only (wrk, nginx, its Lua module and taskset from the distribution). See load/README.md for what it measures and how to read it.
#
#   ./load/bench.sh                 build, then saturation, latency (1 connection; half-saturation
#                                   fixed rate) and peak RSS with 1,000 keep-alive clients
#   ./load/bench.sh --quick         5 s runs, 1 s warm-ups (a quick look, not for RESULTS.md)
#   ./load/bench.sh --help          every option
#
# Processes: the emulator in --fast mode and wrk share the "load" core; the proxy under test
# (lambda-proxy with threads: 1, or nginx with worker_processes 1) runs alone on the "proxy" core.
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
OUT=""
KEEP=0
ACCESS_LOG=off     # gateway access log: off (RUST_LOG=warn, as nginx's access_log off), text, json

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
  --no-rss          skip the 1,000-client RSS runs
  --no-build        use the existing target/release binaries (fixed-rate is built if missing)
  --no-install      do not apt-get install missing tools (nginx, wrk, taskset, curl)
  --quick           --duration 5 --warmup 1
  --out FILE        also write the markdown report to FILE
  --keep            keep the work directory (configs, logs, raw results)
  --access-log MODE off (default: RUST_LOG=warn, like nginx's access_log off), text or json:
                    the gateway writes its access log (to a file in the work directory)
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
    --no-rss) DO_RSS=0; shift ;;
    --no-build) DO_BUILD=0; shift ;;
    --no-install) DO_INSTALL=0; shift ;;
    --quick) DURATION=5; WARMUP=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --access-log) ACCESS_LOG=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
COMMAND="./load/bench.sh${*:+ $*}"
case "$ACCESS_LOG" in off|text|json) ;; *) echo "bench.sh: --access-log off|text|json" >&2; exit 2 ;; esac
ARGS_TEXT="access_log=${ACCESS_LOG} duration=${DURATION}s warmup=${WARMUP}s connections=${CONNS} body=${BODY_BYTES}B rate_connections=${RATE_CONNS} rss_connections=${RSS_CONNS} proxy_cpu=${PROXY_CPU} load_cpu=${LOAD_CPU}"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Prerequisites: nginx, its Lua module (libnginx-mod-http-lua, which brings lua-resty-core and
# LuaJIT), wrk, taskset (util-linux), curl, python3 from the distribution.
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
command -v pgrep >/dev/null || missing+=(procps)
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
[ "$PROXY_CPU" -lt "$ncpu" ] && [ "$LOAD_CPU" -lt "$ncpu" ] || die "need cores $PROXY_CPU and $LOAD_CPU (nproc=$ncpu)"
[ "$PROXY_CPU" != "$LOAD_CPU" ] || die "--proxy-cpu and --load-cpu must differ"

if [ "$DO_BUILD" = 1 ]; then
  log "cargo build --release --workspace --bins"
  cargo build --release --workspace --bins >&2
fi
# The fixed-rate load generator (std only, no dependencies), built beside the project's binaries.
FIXED_RATE=$ROOT/target/load-tools/release/fixed-rate
if [ "$DO_BUILD" = 1 ] || [ ! -x "$FIXED_RATE" ]; then
  log "cargo build --release --manifest-path load/fixed-rate/Cargo.toml"
  CARGO_TARGET_DIR=$ROOT/target/load-tools cargo build --release --locked \
    --manifest-path "$ROOT/load/fixed-rate/Cargo.toml" >&2
fi
GATEWAY_BIN=$ROOT/target/release/lambda-proxy
EMULATOR_BIN=$ROOT/target/release/lambda-proxy-emulator
[ -x "$GATEWAY_BIN" ] && [ -x "$EMULATOR_BIN" ] || die "no release binaries (run without --no-build)"

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
EMU_PID="" GW_PID="" NGX_PID="" NGX_WORKER="" LUA_PID="" LUA_WORKER="" STRICT_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in $GW_PID $NGX_PID $LUA_PID $STRICT_PID $EMU_PID; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $GW_PID $NGX_PID $LUA_PID $STRICT_PID $EMU_PID; do
    for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "$KEEP" = 1 ] || [ "$rc" != 0 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r EMU_PORT GW_PORT MET_PORT NGX_PORT LUA_PORT LUA_CHECK_PORT STRICT_PORT < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(7)]
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

# --- the gateway, one worker thread, on the proxy core -----------------------------------------
AKID=AKIDEXAMPLE
SECRET=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
cat > "$WORK/gateway.yaml" <<YAML
version: 1
threads: 1
pid_file: $WORK/gateway.pid
upgrade_sock: $WORK/gateway-upgrade.sock
grace_period_seconds: 1
graceful_shutdown_timeout_seconds: 1
listeners:
  - address: 127.0.0.1:$GW_PORT
metrics:
  address: 127.0.0.1:$MET_PORT
access_log:
  format: $([ "$ACCESS_LOG" = json ] && echo json || echo text)
routes:
  - name: fu-apikey
    uri: /fu/*
    function_uri: http://127.0.0.1:$EMU_PORT/apikey/prod
    authorization:
      apikey: bench-api-key
  - name: fu-iam
    uri: /fu-iam/*
    function_uri: http://127.0.0.1:$EMU_PORT/iam/prod
    authorization:
      iam:
        accesskey: $AKID
        secretkey: $SECRET
  - name: invoke-raw
    uri: /invoke
    function_name: echo
    aws_region: us-east-1
    host: 127.0.0.1
    port: $EMU_PORT
    disable_https: true
    aws_key: $AKID
    aws_secret: $SECRET
  - name: invoke-v2
    uri: /invoke-v2/*
    function_name: proxy
    aws_region: us-east-1
    host: 127.0.0.1
    port: $EMU_PORT
    disable_https: true
    aws_key: $AKID
    aws_secret: $SECRET
    awsgateway_compatible: true
    awsgateway_compatible_payload_version: "2.0"
    is_proxy_integration: true
YAML
"$GATEWAY_BIN" -t -c "$WORK/gateway.yaml" > "$WORK/gateway-t.log" 2>&1 || die "gateway config: $(cat "$WORK/gateway-t.log")"
# The access log (target `access`, info) is on only with --access-log text|json.
GW_RUST_LOG=warn
[ "$ACCESS_LOG" = off ] || GW_RUST_LOG=warn,access=info
start_gateway() {
  RUST_LOG=$GW_RUST_LOG taskset -c "$PROXY_CPU" "$GATEWAY_BIN" -c "$WORK/gateway.yaml" >> "$WORK/gateway.out" 2>> "$WORK/gateway.log" &
  GW_PID=$!
  wait_http "http://127.0.0.1:$GW_PORT/healthz" gateway "$GW_PID"
}
stop_gateway() {
  kill -TERM "$GW_PID" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$GW_PID" 2>/dev/null || true
  wait "$GW_PID" 2>/dev/null || true
  GW_PID=""
}
log "lambda-proxy on 127.0.0.1:$GW_PORT, metrics :$MET_PORT (core $PROXY_CPU, threads: 1)"
start_gateway

# --- nginx, one worker process, on the proxy core ---------------------------------------------
mkdir -p "$WORK/nginx-tmp"
cat > "$WORK/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx-tmp/body;
  proxy_temp_path $WORK/nginx-tmp/proxy;
  fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
  scgi_temp_path $WORK/nginx-tmp/scgi;
  # No per-connection request cap on either side (lambda-proxy has none).
  keepalive_requests 1000000;
  upstream emulator {
    server 127.0.0.1:$EMU_PORT;
    keepalive 128;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$NGX_PORT;
    location / {
      proxy_pass http://emulator;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
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
log "nginx on 127.0.0.1:$NGX_PORT (core $PROXY_CPU, worker_processes 1)"
start_nginx nginx "$NGX_PORT" NGX_PID NGX_WORKER

# --- nginx + Lua SigV4 signer, one worker process, on the proxy core ---------------------------
# The engine under Kong's and APISIX's aws-lambda plugins: lua-nginx-module signs every request
# (load/nginx/sigv4.lua: body SHA-256, canonical request, HMAC with the signing key cached per
# day, all through LuaJIT FFI to libcrypto) and proxy_pass sends it over keep-alive connections.
# Its access_log is on (nginx's default combined format, to a file), as nginx runs in production;
# the plain nginx row above has it off. A second server signs for a strict emulator (SigV4
# verified, unlike --fast) that is started only to check the signatures before the measurements.
mkdir -p "$WORK/nginx-lua-tmp"
sign_lua() { # host:port -> the access_by_lua_block that signs for the emulator at host:port
  printf 'require("sigv4").sign("us-east-1", "lambda", "%s", "%s", "%s")' "$1" "$AKID" "$SECRET"
}
cat > "$WORK/nginx-lua.conf" <<NGINX
load_module $NGINX_MODULES/ndk_http_module.so;
load_module $NGINX_MODULES/ngx_http_lua_module.so;
worker_processes 1;
daemon off;
pid $WORK/nginx-lua.pid;
error_log $WORK/nginx-lua-error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 8192; }
http {
  access_log $WORK/nginx-lua-access.log;
  lua_package_path "$ROOT/load/nginx/?.lua;;";
  client_body_temp_path $WORK/nginx-lua-tmp/body;
  proxy_temp_path $WORK/nginx-lua-tmp/proxy;
  fastcgi_temp_path $WORK/nginx-lua-tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx-lua-tmp/uwsgi;
  scgi_temp_path $WORK/nginx-lua-tmp/scgi;
  # The whole body in memory (it is hashed); Lambda's 6 MB payload limit.
  client_body_buffer_size 1m;
  client_max_body_size 6m;
  keepalive_requests 1000000;
  upstream emulator {
    server 127.0.0.1:$EMU_PORT;
    keepalive 128;
    keepalive_requests 1000000;
  }
  upstream strict {
    server 127.0.0.1:$STRICT_PORT;
    keepalive 8;
  }
  server {
    listen 127.0.0.1:$LUA_PORT;
    location / {
      access_by_lua_block { $(sign_lua "127.0.0.1:$EMU_PORT") }
      proxy_pass http://emulator;
      proxy_http_version 1.1;
      proxy_set_header Host 127.0.0.1:$EMU_PORT;
      proxy_set_header Connection "";
    }
  }
  server {
    listen 127.0.0.1:$LUA_CHECK_PORT;
    access_log off;
    location / {
      access_by_lua_block { $(sign_lua "127.0.0.1:$STRICT_PORT") }
      proxy_pass http://strict;
      proxy_http_version 1.1;
      proxy_set_header Host 127.0.0.1:$STRICT_PORT;
      proxy_set_header Connection "";
    }
  }
}
NGINX
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

PATHS=(direct nginx nginx_lua fu_apikey fu_iam invoke_raw invoke_v2)
url_of() {
  case "$1" in
    direct) echo "http://127.0.0.1:$EMU_PORT/open/bench" ;;
    nginx) echo "http://127.0.0.1:$NGX_PORT/open/bench" ;;
    nginx_lua) echo "http://127.0.0.1:$LUA_PORT/url/bench" ;;
    fu_apikey) echo "http://127.0.0.1:$GW_PORT/fu/bench" ;;
    fu_iam) echo "http://127.0.0.1:$GW_PORT/fu-iam/bench" ;;
    invoke_raw) echo "http://127.0.0.1:$GW_PORT/invoke" ;;
    invoke_v2) echo "http://127.0.0.1:$GW_PORT/invoke-v2/bench?x=1" ;;
  esac
}
# PIDs whose CPU is the "proxy process" of a path.
pids_of() {
  case "$1" in
    direct) echo "$EMU_PID" ;;
    nginx) echo "$NGX_PID $NGX_WORKER" ;;
    nginx_lua) echo "$LUA_PID $LUA_WORKER" ;;
    *) echo "$GW_PID" ;;
  esac
}
# The process whose peak RSS is reported.
rss_pid_of() {
  case "$1" in
    direct) echo "$EMU_PID" ;;
    nginx) echo "$NGX_WORKER" ;;
    nginx_lua) echo "$LUA_WORKER" ;;
    *) echo "$GW_PID" ;;
  esac
}
route_of() {
  case "$1" in
    fu_apikey) echo fu-apikey ;; fu_iam) echo fu-iam ;;
    invoke_raw) echo invoke-raw ;; invoke_v2) echo invoke-v2 ;; *) echo "" ;;
  esac
}

log "checking every path answers 200"
for p in "${PATHS[@]}"; do
  code=$(curl -s -o "$WORK/check-$p.out" -w '%{http_code}' -H 'content-type: application/json' \
    --data-binary "@$BODY" "$(url_of "$p")")
  [ "$code" = 200 ] || die "$p: $(url_of "$p") answered $code: $(head -c 300 "$WORK/check-$p.out")"
done

# run_load OUT CONNS SECONDS RATE URL -> one JSON line: wrk (closed loop, as fast as possible) when
# RATE is 0, else load/fixed-rate (open loop, Poisson arrivals at RATE per second).
run_load() {
  if [ "$4" = 0 ]; then
    BODY_FILE=$BODY taskset -c "$LOAD_CPU" wrk -t1 -c"$2" -d"${3}s" --timeout 5s \
      -s "$LUA" "$5" > "$1" 2>&1 || die "wrk failed: $(cat "$1")"
    grep '^WRK_JSON ' "$1" | sed 's/^WRK_JSON //' | tail -1
  else
    taskset -c "$LOAD_CPU" "$FIXED_RATE" --url "$5" --rate "$4" --connections "$2" --duration "$3" \
      --warmup 0 --body-file "$BODY" > "$1" 2>&1 || die "fixed-rate failed: $(cat "$1")"
    grep '^FIXED_JSON ' "$1" | sed 's/^FIXED_JSON //' | tail -1
  fi
}
scrape() { curl -s --max-time 5 "http://127.0.0.1:$MET_PORT/metrics" > "$1" || : > "$1"; }

# measure MODE PATH CONNS RATE (0: as fast as possible)
measure() {
  local mode=$1 p=$2 conns=$3 target=$4
  local url pids rpid route tag t0 t1 e0 e1 w0 reset wrk_json hwm rss_before rss_start pc0 pc1 lc0 lc1
  url=$(url_of "$p"); pids=$(pids_of "$p"); rpid=$(rss_pid_of "$p"); route=$(route_of "$p")
  tag="$mode-$p"
  rss_start=$(rss_kb "$rpid")
  local warm=${WARMUP_OVERRIDE:-$WARMUP}
  [ "$warm" -gt 0 ] && run_load "$WORK/$tag.warmup.txt" "$conns" "$warm" "$target" "$url" > /dev/null
  if [ -n "${NO_HWM_RESET:-}" ]; then reset=false; else reset=$(reset_hwm "$rpid"); fi
  rss_before=$(rss_kb "$rpid")
  [ -n "$route" ] && scrape "$WORK/$tag.metrics.before"
  # shellcheck disable=SC2086
  t0=$(cpu_ticks $pids); e0=$(cpu_ticks "$EMU_PID"); w0=$(date +%s.%N)
  pc0=$(core_jiffies "$PROXY_CPU"); lc0=$(core_jiffies "$LOAD_CPU")
  wrk_json=$(run_load "$WORK/$tag.txt" "$conns" "${DURATION_OVERRIDE:-$DURATION}" "$target" "$url")
  # shellcheck disable=SC2086
  t1=$(cpu_ticks $pids); e1=$(cpu_ticks "$EMU_PID")
  pc1=$(core_jiffies "$PROXY_CPU"); lc1=$(core_jiffies "$LOAD_CPU")
  hwm=$(hwm_kb "$rpid")
  [ -n "$route" ] && scrape "$WORK/$tag.metrics.after"
  printf '{"mode":"%s","path":"%s","conns":%s,"target_rate":%s,"proxy_ticks":%s,"emu_ticks":%s,"window_s":%s,"hwm_kb":%s,"rss_start_kb":%s,"rss_before_kb":%s,"hwm_reset":%s,"proxy_core":[%s],"load_core":[%s],"route":"%s","metrics_before":"%s","metrics_after":"%s","wrk":%s}\n' \
    "$mode" "$p" "$conns" "$target" "$((t1 - t0))" "$((e1 - e0))" \
    "$(python3 -c "import time; print(round(time.time() - $w0, 3))")" "$hwm" "$rss_start" "$rss_before" "$reset" \
    "$(python3 -c "a='$pc0'.split(); b='$pc1'.split(); print(int(b[0])-int(a[0]), ',', int(b[1])-int(a[1]))")" \
    "$(python3 -c "a='$lc0'.split(); b='$lc1'.split(); print(int(b[0])-int(a[0]), ',', int(b[1])-int(a[1]))")" \
    "$route" \
    "${route:+$WORK/$tag.metrics.before}" "${route:+$WORK/$tag.metrics.after}" "$wrk_json" >> "$RESULTS"
  echo "$wrk_json"
}
rps_of() { python3 -c 'import json,sys; w=json.loads(sys.argv[1]); print(w["requests"] / (w["duration_us"] / 1e6))' "$1"; }

# --- 1. saturation: fixed connections, as fast as each path goes -----------------------------
declare -A SAT
for p in "${PATHS[@]}"; do
  log "saturation: $p ($CONNS connections, ${WARMUP}s warm-up + ${DURATION}s)"
  w=$(measure sat "$p" "$CONNS" 0)
  SAT[$p]=$(rps_of "$w")
  log "  $p: $(printf '%.0f' "${SAT[$p]}") req/s"
done

# --- 2. latency: one connection (unloaded round trip), then a fixed rate of half of each gateway
# path's saturation rate, with direct and nginx at the same rate as references.
if [ "$DO_LATENCY" = 1 ]; then
  for p in "${PATHS[@]}"; do
    log "unloaded: $p (1 connection, closed loop)"
    measure seq "$p" 1 0 > /dev/null
  done
  for p in fu_apikey fu_iam invoke_raw invoke_v2; do
    rate=$(python3 -c "print(int(float('${SAT[$p]}') / 2))")
    log "fixed rate: $p, nginx and direct at $rate req/s (Poisson arrivals over $RATE_CONNS connections)"
    for q in "$p" nginx direct; do
      measure "lat:$p" "$q" "$RATE_CONNS" "$rate" > /dev/null
    done
  done
fi

# --- 3. peak RSS with many keep-alive clients (saturating). The gateway is restarted before each
# of its paths so that no earlier run's memory counts. Wave 1: one set of clients for
# warm-up + duration, from a fresh process (no separate warm-up). Wave 2: the first clients have
# gone and as many new ones connect (clients reconnecting), peak over both waves.
if [ "$DO_RSS" = 1 ]; then
  for p in nginx fu_apikey invoke_raw; do
    if [ "$p" != nginx ]; then stop_gateway; start_gateway; fi
    log "RSS: $p with $RSS_CONNS keep-alive clients, two waves"
    rpid=$(rss_pid_of "$p")
    fd0=$(ls "/proc/$rpid/fd" | wc -l)
    WARMUP_OVERRIDE=0 DURATION_OVERRIDE=$((WARMUP + DURATION)) measure rss1 "$p" "$RSS_CONNS" 0 > /dev/null
    # Wave 2 is 1,000 *new* clients once the first ones have gone: wait (at most 10 s) until the
    # first wave's connections are closed, so the two waves do not overlap (an overlap is 2,000
    # clients for a moment, and the peak would measure that).
    for _ in $(seq 1 100); do
      [ "$(ls "/proc/$rpid/fd" | wc -l)" -le $((fd0 + 200)) ] && break
      sleep 0.1
    done
    WARMUP_OVERRIDE=0 NO_HWM_RESET=1 measure rss2 "$p" "$RSS_CONNS" 0 > /dev/null
  done
fi

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
REPORT=$WORK/report.md
python3 "$ROOT/load/bench_report.py" "$RESULTS" --command "$COMMAND" --args "$ARGS_TEXT" \
  --versions "$("$NGINX_BIN" -v 2>&1 | head -1); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(rustc --version 2>/dev/null || echo rustc ?)" \
  > "$REPORT"
if [ "$ACCESS_LOG" != off ]; then
  log "access log ($ACCESS_LOG): $(grep -vc '^\[' "$WORK/gateway.log" || true) lines in $WORK/gateway.log; dropped: $(curl -s --max-time 5 "http://127.0.0.1:$MET_PORT/metrics" | awk '/^lambda_proxy_access_log_dropped_total/ {print $2}')"
fi
cat "$REPORT"
if [ -n "$OUT" ]; then cp "$REPORT" "$OUT"; log "report written to $OUT"; fi
