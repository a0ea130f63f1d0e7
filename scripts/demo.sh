#!/usr/bin/env bash
# Runs lambda-proxy on 127.0.0.1:8080 in front of the bundled AWS emulator (no AWS account):
# the emulator serves API Gateway-like stages on 127.0.0.1:9001 (HTTP) and :9443 (HTTPS) and
# verifies API keys and SigV4 signatures. Ctrl-C stops both.
#   ./scripts/demo.sh          run until Ctrl-C
#   ./scripts/demo.sh --check  run the curl lines below, check their status codes, stop
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
cargo build --locked --bins
mkdir -p target/demo

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

./target/debug/lambda-proxy-emulator --http 127.0.0.1:9001 --https 127.0.0.1:9443 \
  --cert-dir target/demo > target/demo/emulator.out 2> target/demo/emulator.log &
pids+=($!)
for _ in $(seq 1 100); do grep -q READY target/demo/emulator.out 2>/dev/null && break; sleep 0.1; done
grep -q READY target/demo/emulator.out || { echo "emulator did not start:"; cat target/demo/emulator.log; exit 1; }

./target/debug/lambda-proxy -c conf/demo.yaml 2> target/demo/gateway.log &
pids+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null 127.0.0.1:8080/ && break; sleep 0.1; done

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
