#!/usr/bin/env bash
# The configurations of load/bench.sh's proxies, sourced by it: each function prints one, from
# the harness's variables (WORK, ROOT, the ports, AKID and SECRET, NGINX_MODULES, JWT_ISSUER and
# JWT_AUDIENCE, REDIS_PORT).
# shellcheck shell=bash disable=SC2154

# invoke_fields FUNCTION: an Invoke route's fields for FUNCTION on the emulator (both routes').
invoke_fields() {
  cat <<YAML
    function_name: $1
    aws_region: us-east-1
    host: 127.0.0.1
    port: $EMU_PORT
    disable_https: true
    aws_key: $AKID
    aws_secret: $SECRET
YAML
}
# gateway_yaml MODE [redis]: the main gateway's configuration for access log MODE (off, text or
# json); only the access_log section differs between modes. With `redis`: the second gateway's
# (gateway_redis_yaml).
gateway_yaml() {
  local stem=gateway port=$GW_PORT met=$GW_MET_PORT
  [ "${2:-}" = redis ] && { stem=gateway-redis; port=$RGW_PORT; met=$RGW_MET_PORT; }
  cat <<YAML
version: 1
threads: 1
pid_file: $WORK/$stem.pid
upgrade_sock: $WORK/$stem-upgrade.sock
grace_period_seconds: 1
graceful_shutdown_timeout_seconds: 1
listeners:
  - address: 127.0.0.1:$port
metrics:
  address: 127.0.0.1:$met
access_log:
  enabled: $([ "$1" = off ] && echo false || echo true)
  format: $([ "$1" = json ] && echo json || echo text)
# The fu-jwt route's JWT authorizer: the key set from a second emulator (JWKS_PORT), the token
# minted by the harness. Verified tokens are cached by their SHA-256, so the bench's one
# repeated token costs a hash and a lookup per request after the first.
authorizers:
  - name: bench-jwt
    authorizer_type: jwt
    jwt_configuration:
      issuer: "$JWT_ISSUER"
      jwks_uri: http://127.0.0.1:$JWKS_PORT/.well-known/jwks.json
      audience: [$JWT_AUDIENCE]
routes:
  - name: fu-apikey
    uri: /fu/*
    function_uri: http://127.0.0.1:$EMU_PORT/apikey/prod
    authorization:
      apikey: bench-api-key
  # fu-apikey plus the JWT authorizer (every request carries Authorization: Bearer TOKEN).
  - name: fu-jwt
    uri: /fu-jwt/*
    function_uri: http://127.0.0.1:$EMU_PORT/apikey/prod
    authorization:
      apikey: bench-api-key
    authorizer: bench-jwt
  # The API key route with per-process limits high enough never to refuse: what the route's
  # bucket and the per-caller (address) bucket cost on every request.
  - name: fu-limited
    uri: /fu-limited/*
    function_uri: http://127.0.0.1:$EMU_PORT/apikey/prod
    authorization:
      apikey: bench-api-key
    throttling: {rate_limit: 10000000, burst_limit: 10000000}
    client_throttling: {key: ip, rate_limit: 10000000, burst_limit: 10000000}
  - name: fu-iam
    uri: /fu-iam/*
    function_uri: http://127.0.0.1:$EMU_PORT/iam/prod
    authorization:
      iam:
        accesskey: $AKID
        secretkey: $SECRET
  - name: invoke-raw
    uri: /invoke
$(invoke_fields echo)
  - name: invoke-v2
    uri: /invoke-v2/*
$(invoke_fields proxy)
    awsgateway_compatible: true
    awsgateway_compatible_payload_version: "2.0"
    is_proxy_integration: true
YAML
  if [ "${2:-}" = redis ]; then
    cat <<YAML
# Every limit of this gateway (fu-limited's route and per-address buckets) in Redis, leased in
# batches (src/throttling/store/mod.rs). on_failure: deny, so a store call that fails or takes
# longer than the timeout is a 503 the harness counts as an error, not a silent fallback.
throttling_store:
  redis: {url: "redis://127.0.0.1:$REDIS_PORT"}
  on_failure: deny
  timeout: 10
YAML
  fi
}
# gateway_redis_yaml MODE: the second gateway's configuration: the main one's on its own port,
# metrics port, pid_file and upgrade_sock, plus throttling_store (the harness's redis-server).
gateway_redis_yaml() { gateway_yaml "$1" redis; }

# nginx_conf: nginx pass-through, one worker; one server with access_log off, a second one
# (NGX_LOG_PORT) with access_log on in the default combined format, to a file.
nginx_conf() {
  cat <<NGINX
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
  # The same with access_log on: nginx's default combined format, to a file.
  server {
    listen 127.0.0.1:$NGX_LOG_PORT;
    access_log $WORK/nginx-access.log;
    location / {
      proxy_pass http://emulator;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
}

sign_lua() { # host:port -> the access_by_lua_block that signs for the emulator at host:port
  printf 'require("sigv4").sign("us-east-1", "lambda", "%s", "%s", "%s")' "$1" "$AKID" "$SECRET"
}
# nginx_lua_conf: nginx + the Lua SigV4 signer (load/nginx/sigv4.lua), access_log on; a second
# server (LUA_CHECK_PORT) signs for the SigV4-verifying emulator on STRICT_PORT.
nginx_lua_conf() {
  cat <<NGINX
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
}
