#!/usr/bin/env bash
# Runs lambda-proxy on 127.0.0.1:8080 in front of the bundled AWS emulator (no AWS account):
# the emulator serves API Gateway-like stages on 127.0.0.1:9001 (HTTP) and :9443 (HTTPS) and
# verifies API keys and SigV4 signatures. Ctrl-C stops both.
#   ./scripts/demo.sh          run until Ctrl-C
#   ./scripts/demo.sh --check  run the curl lines below, check their status codes, stop
set -euo pipefail
cd "$(dirname "$0")/.."

# The demo's ports: refuse at once, naming the port and its holder, rather than start next to
# another program and then talk to it.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
holder() { # "program (pid N)" listening on port $1, when ss can tell
  command -v ss >/dev/null 2>&1 || return 0
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -oE 'users:\(\("[^"]+",pid=[0-9]+' | head -1 |
    sed -E 's/users:\(\("([^"]+)",pid=([0-9]+)/ by \1 (pid \2)/'
}
check_ports() {
  local taken=0 port what
  for port in 8080:gateway 9001:emulator-http 9443:emulator-https; do
    what=${port#*:}; port=${port%%:*}
    if port_taken "$port"; then
      echo "demo: port $port on 127.0.0.1 (the $what) is already in use$(holder "$port")." >&2
      taken=1
    fi
  done
  if [ "$taken" = 1 ]; then
    echo "demo: stop that program (or an earlier demo) and run ./scripts/demo.sh again." >&2
    exit 1
  fi
}
check_ports

./scripts/setup.sh
if [ ! -x target/debug/lambda-proxy ] || [ ! -x target/debug/lambda-proxy-emulator ]; then
  echo "demo: first run: building lambda-proxy and its emulator (cargo build); this takes a few minutes."
fi
cargo build --locked --workspace --bins
mkdir -p target/demo
# Checked again: the build takes a while, and something may have started meanwhile.
check_ports

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

./target/debug/lambda-proxy-emulator --http 127.0.0.1:9001 --https 127.0.0.1:9443 \
  --cert-dir target/demo > target/demo/emulator.out 2> target/demo/emulator.log &
pids+=($!)
for _ in $(seq 1 100); do grep -q READY target/demo/emulator.out 2>/dev/null && break; sleep 0.1; done
grep -q READY target/demo/emulator.out || { echo "emulator did not start:"; cat target/demo/emulator.log; exit 1; }

./target/debug/lambda-proxy -c conf/demo.yaml 2> target/demo/gateway.log &
gateway=$!
pids+=("$gateway")
# Ready when this gateway answers its health endpoint; it must still be running (a gateway that
# could not bind exits, and whatever answers then is not the demo).
ready=0
for _ in $(seq 1 100); do
  kill -0 "$gateway" 2>/dev/null || break
  if [ "$(curl -s 127.0.0.1:8080/healthz 2>/dev/null)" = '{"status":"ok"}' ]; then ready=1; break; fi
  sleep 0.1
done
if [ "$ready" != 1 ] || ! kill -0 "$gateway" 2>/dev/null; then
  echo "demo: lambda-proxy did not start on 127.0.0.1:8080:" >&2
  grep -vE ' (INFO|DEBUG) ' target/demo/gateway.log | tail -5 >&2
  exit 1
fi

cat <<'TXT'
lambda-proxy is listening on http://127.0.0.1:8080 (logs: target/demo/gateway.log). Try:

  curl -s 127.0.0.1:8080/apikey/hello                                   # API key added by the gateway
  curl -s -X POST '127.0.0.1:8080/iam/orders?id=7' -d '{"hello":"world"}' # SigV4 (execute-api) over TLS
  curl -s --http2-prior-knowledge 127.0.0.1:8080/url/my-function        # h2c client, SigV4 (lambda)
  curl -s -i 127.0.0.1:8080/wrong-secret/x                              # wrong secret: AWS's 403 passed through
  curl -s -i 127.0.0.1:8080/nowhere                                     # no route: 404 JSON
  curl -s 127.0.0.1:8080/lambda/echo -d '{"a":[]}'                      # Lambda Invoke, raw payload
  curl -s '127.0.0.1:8080/lambda/args?id=7' -d 'name=x&tag=a&tag=b'     # Kong's default payload: {"id":"7","name":"x","tag":["a","b"]}
  curl -s -i '127.0.0.1:8080/lambda/api/items/7?q=1' -H 'cookie: c=1'   # API Gateway v2 event + proxy result
  curl -sN 127.0.0.1:8080/lambda/stream -d '{"chunks":5,"delay_ms":400}' # response streaming
TXT

if [ "${1:-}" = "--check" ]; then
  check() { # expected-status curl-args...
    local want=$1; shift
    local got; got=$(curl -s -o /dev/null -w '%{http_code}' "$@")
    if [ "$got" != "$want" ]; then echo "demo check FAILED: curl $* -> $got (want $want)"; cat target/demo/gateway.log; exit 1; fi
    echo "demo check: curl $* -> $got"
  }
  check 200 127.0.0.1:8080/apikey/hello
  check 200 -X POST '127.0.0.1:8080/iam/orders?id=7' -d '{"hello":"world"}'
  check 200 --http2-prior-knowledge 127.0.0.1:8080/url/my-function
  check 403 127.0.0.1:8080/wrong-secret/x
  check 404 127.0.0.1:8080/nowhere
  check 200 127.0.0.1:8080/lambda/echo -d '{"a":[]}'
  check 200 '127.0.0.1:8080/lambda/args?id=7' -d 'name=x&tag=a&tag=b'
  check 201 '127.0.0.1:8080/lambda/api/items/7?q=1' -H 'cookie: c=1'
  check 200 127.0.0.1:8080/lambda/stream -d '{"chunks":3,"delay_ms":50}'
  echo "demo check: 9 passed, 0 failed"
  exit 0
fi
echo "Ctrl-C to stop."
wait
