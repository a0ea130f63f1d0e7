#!/usr/bin/env bash
# Checks the systemd integration in systemd/ without a running systemd (containers, CI):
#
#  1. `systemd-analyze verify` of the unit, installed into a temporary root (--root) with a
#     stand-in for /usr/bin/lambda-proxy; the other commands (/bin/kill) must exist on
#     this machine. Strict: verify exits 0 after "Unknown key" or "Failed to parse ... ignoring"
#     warnings, so any message at all fails the check.
#  2. systemd/lambda-proxy.sysusers creates a shell-less lambda-proxy user (systemd-sysusers
#     --root on the temporary root).
#  3. The unit and systemd/production.yaml agree: pid file, upgrade socket in the runtime
#     directory, daemon mode, ExecReload order (-t, -u -d, QUIT), daemon_wait_for_ready on,
#     TimeoutStopSec above grace_period_seconds + graceful_shutdown_timeout_seconds + 5.
#  4. systemd/production.yaml loads (`lambda-proxy -t`) from a temporary copy whose TLS paths
#     point at a fresh self-signed certificate and whose secret files ($file:// references
#     under /etc/lambda-proxy/secrets) at dummy ones (the committed file keeps the real paths).
#  5. `systemd-analyze security --offline=yes`: the exposure score, informational only.
#
# Installs systemd (for systemd-analyze) and openssl with apt-get when they are missing.
# Usage: scripts/check-systemd.sh [UNIT_FILE]   (default systemd/lambda-proxy.service)
# Exit status: 0 when checks 1-4 pass; the last line is a one-line summary.
set -euo pipefail
cd "$(dirname "$0")/.."

unit_src=${1:-systemd/lambda-proxy.service}
[ -f "$unit_src" ] || { echo "check-systemd: no such unit file: $unit_src" >&2; exit 2; }
conf_src=systemd/production.yaml
sysusers_src=systemd/lambda-proxy.sysusers
unit_name=lambda-proxy.service

need=()
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if ((${#need[@]})); then
  echo "check-systemd: installing ${need[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=()
fail() { echo "  FAIL: $*"; failed+=("$1"); }

# ---------------------------------------------------------------------------------------------
echo "== 1. systemd-analyze verify $unit_src"
root=$tmp/root
mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd"
# The units the service refers to (network-online.target, multi-user.target, ...).
for d in /usr/lib/systemd/system /lib/systemd/system; do
  if [ -d "$d" ]; then cp -a "$d" "$root/usr/lib/systemd/"; break; fi
done
cp "$unit_src" "$root/etc/systemd/system/$unit_name"
# Every Exec*= command inside the root: lambda-proxy is a stand-in (it is installed later,
# from this build); anything else must exist on this machine.
grep -E '^Exec[A-Za-z]*=' "$unit_src" | sed -E 's/^[^=]*=[-@:+!]*//; s/[[:space:]].*//' | sort -u |
  while read -r cmd; do
    [ -n "$cmd" ] || continue
    mkdir -p "$root$(dirname "$cmd")"
    if [ "$(basename "$cmd")" = lambda-proxy ]; then
      printf '#!/bin/sh\nexit 0\n' > "$root$cmd"
      chmod 755 "$root$cmd"
    elif [ -x "$cmd" ]; then
      cp "$(readlink -f "$cmd")" "$root$cmd"
    fi
  done
verify_rc=0
verify_out=$(systemd-analyze verify --man=no --root="$root" "$unit_name" 2>&1) || verify_rc=$?
if [ -n "$verify_out" ]; then
  sed 's/^/  verify: /' <<<"$verify_out"
fi
verify_msgs=$(grep -c . <<<"$verify_out" || true)
if [ "$verify_rc" != 0 ] || [ "$verify_msgs" != 0 ]; then
  fail verify "systemd-analyze verify: exit $verify_rc, $verify_msgs message(s)"
else
  echo "  ok: no messages, exit 0"
fi

# ---------------------------------------------------------------------------------------------
echo "== 2. $sysusers_src"
# Installed where the README puts it; without arguments sysusers reads the root's sysusers.d.
mkdir -p "$root/etc/sysusers.d"
cp "$sysusers_src" "$root/etc/sysusers.d/lambda-proxy.conf"
if out=$(systemd-sysusers --root="$root" 2>&1); then
  pw=$(grep '^lambda-proxy:' "$root/etc/passwd" || true)
  gr=$(grep '^lambda-proxy:' "$root/etc/group" || true)
  shell=${pw##*:}
  uid=$(cut -d: -f3 <<<"$pw")
  if [ -z "$pw" ] || [ -z "$gr" ]; then
    fail sysusers "user or group lambda-proxy not created"
  elif [ "$shell" != /usr/sbin/nologin ] || [ "$uid" -ge 1000 ]; then
    fail sysusers "expected a system user without shell, got: $pw"
  else
    echo "  ok: $pw"
  fi
else
  sed 's/^/  sysusers: /' <<<"$out"
  fail sysusers "systemd-sysusers failed"
fi

# ---------------------------------------------------------------------------------------------
echo "== 3. unit and $conf_src agree"
unit_val() { grep -E "^$1=" "$unit_src" | tail -1 | cut -d= -f2-; }
yaml_val() { grep -E "^$1:" "$conf_src" | tail -1 | sed -E "s/^$1:[[:space:]]*//; s/[[:space:]]+#.*//; s/^[\"']//; s/[\"']\$//"; }
pidfile=$(unit_val PIDFile)
rundir=/run/$(unit_val RuntimeDirectory)
[ "$(yaml_val pid_file)" = "$pidfile" ] || fail consistency "pid_file $(yaml_val pid_file) != PIDFile $pidfile"
[ "$(dirname "$pidfile")" = "$rundir" ] || fail consistency "PIDFile $pidfile not in RuntimeDirectory $rundir"
[ "$(dirname "$(yaml_val upgrade_sock)")" = "$rundir" ] || fail consistency "upgrade_sock $(yaml_val upgrade_sock) not in $rundir"
[ "$(yaml_val daemon)" = true ] || fail consistency "production.yaml must set daemon: true (Type=forking)"
[ "$(yaml_val daemon_wait_for_ready)" = true ] ||
  fail consistency "production.yaml must set daemon_wait_for_ready: true (ExecReload sends QUIT once -u -d returned; see the unit's comment)"
[ "$(unit_val Type)" = forking ] || fail consistency "Type= must be forking"
mapfile -t reload < <(grep -E '^ExecReload=' "$unit_src" | cut -d= -f2-)
if [ "${#reload[@]}" != 3 ] ||
  ! grep -qE 'lambda-proxy -t -c ' <<<"${reload[0]}" ||
  ! grep -qE 'lambda-proxy -u -d -c ' <<<"${reload[1]}" ||
  ! grep -qE 'kill -(QUIT|s QUIT) \$MAINPID' <<<"${reload[2]}"; then
  fail consistency "ExecReload must be: -t, -u -d, kill -QUIT \$MAINPID (got: ${reload[*]})"
fi
# Unset: lambda-proxy's defaults (src/config: DEFAULT_GRACE_PERIOD_SECONDS 60, shutdown 5).
grace=$(yaml_val grace_period_seconds); grace=${grace:-60}
shutdown=$(yaml_val graceful_shutdown_timeout_seconds); shutdown=${shutdown:-5}
stop=$(unit_val TimeoutStopSec); stop=${stop%s}
if ! [[ "$stop" =~ ^[0-9]+$ ]] || [ "$stop" -le $((grace + shutdown + 5)) ]; then
  fail consistency "TimeoutStopSec=$stop must exceed grace $grace + shutdown $shutdown + 5 s handoff"
fi
if [[ " ${failed[*]} " != *" consistency "* ]]; then
  echo "  ok: PIDFile=$pidfile, upgrade_sock in $rundir, ExecReload -t / -u -d / QUIT," \
    "TimeoutStopSec=$stop > $grace + $shutdown + 5"
fi

# ---------------------------------------------------------------------------------------------
echo "== 4. lambda-proxy -t on a copy of $conf_src with a self-signed certificate"
cargo build --locked --quiet --bin lambda-proxy
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
# Secret references ($file:///etc/lambda-proxy/secrets/NAME) point at dummy files.
mkdir -p "$tmp/secrets"
grep -oE '\$file:///etc/lambda-proxy/secrets/[A-Za-z0-9._-]+' "$conf_src" | sed 's#.*/##' | sort -u |
  while read -r name; do echo "dummy-$name" > "$tmp/secrets/$name"; done
sed -e "s#/etc/lambda-proxy/tls/#$tmp/#g" -e "s#/etc/lambda-proxy/secrets/#$tmp/secrets/#g" \
  "$conf_src" > "$tmp/production.yaml"
# The example route uses the AWS SDK default chain: give it environment credentials (dummy,
# -t only resolves them) and no instance metadata lookup.
if out=$(env -i PATH="$PATH" HOME="$tmp" AWS_ACCESS_KEY_ID=AKIDEXAMPLE \
  AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY AWS_EC2_METADATA_DISABLED=true \
  ./target/debug/lambda-proxy -t -c "$tmp/production.yaml" 2>&1); then
  grep 'configuration OK' <<<"$out" | sed 's/^/  ok: /'
else
  grep -vE ' (INFO|DEBUG) ' <<<"$out" | sed 's/^/  -t: /'
  fail config "lambda-proxy -t rejected $conf_src"
fi

# ---------------------------------------------------------------------------------------------
echo "== 5. systemd-analyze security --offline=yes (informational)"
exposure="n/a"
if sec=$(systemd-analyze security --no-pager --offline=yes --root="$root" "$unit_name" 2>&1); then
  grep '✗' <<<"$sec" | sed 's/^/  /' || true
  exposure=$(grep -oE 'Overall exposure level for [^:]*: .*' <<<"$sec" | sed 's/.*: //' || true)
  echo "  exposure: ${exposure:-n/a}"
else
  echo "  skipped: this systemd-analyze has no offline security review"
fi

# ---------------------------------------------------------------------------------------------
if ((${#failed[@]})); then
  echo "check-systemd: FAILED (${failed[*]}); unit $unit_src, exposure ${exposure:-n/a}"
  exit 1
fi
echo "check-systemd: OK: verify clean, sysusers, unit/config consistent, production.yaml loads; exposure ${exposure:-n/a}"
