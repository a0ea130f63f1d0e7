#!/usr/bin/env bash
# Builds the Debian package (cargo-deb, [package.metadata.deb] in Cargo.toml) and checks it:
#
#  1. Build: `cargo build --release --locked --bin lambda-proxy` (only the gateway), then
#     `cargo deb --no-build`: target/debian/lambda-proxy_VERSION-1_ARCH.deb and its -dbgsym .ddeb.
#  2. Control fields (`dpkg-deb -I`): name, version (Cargo.toml's), Depends (libssl3 found by
#     dpkg-shlibdeps, systemd), exactly two conffiles.
#  3. Contents (`dpkg-deb -c`): exactly the expected files with their modes; no emulator.
#  4. Maintainer scripts: users and tmpfiles created, the unit enabled but never started,
#     stopped or restarted by an upgrade (postinst reloads a running service instead).
#  5. lintian: no tag but those in debian/lintian-overrides (each with its reason).
#  6. The package unpacked into a temporary root: `systemd-analyze verify` of the unit as
#     installed (/usr/lib/systemd/system, the packaged binary), sysusers and tmpfiles entries as
#     installed, the packaged binary's --version / --help and `-t` of the installed config.
#  7. With --install (or CI=true, as root, when no lambda-proxy package is installed): a real
#     `dpkg -i`, a reinstall (the upgrade path), the user, modes and enablement, then purge.
#
# Installs its tools with `scripts/setup.sh --package`.
# Usage: scripts/check-package.sh [--install]
# Exit status 0 when every check passes; the last line is a one-line summary.
set -euo pipefail
cd "$(dirname "$0")/.."

install_test=0
if [ "${1:-}" = "--install" ]; then install_test=1; fi
if [ "${CI:-}" = true ] && [ "$(id -u)" = 0 ]; then install_test=1; fi

./scripts/setup.sh --package

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=()
fail() { echo "  FAIL: $*"; failed+=("$1"); }

name=lambda-proxy
version=$(sed -nE 's/^version = "([^"]+)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
deb=target/debian/${name}_${version}-1_${arch}.deb

# ---------------------------------------------------------------------------------------------
echo "== 1. build"
started=$(date +%s)
cargo build --release --locked --quiet --bin lambda-proxy
built=$(date +%s)
rm -f target/debian/${name}_*.deb target/debian/${name}-dbgsym_*.ddeb
# In CI, quicker xz settings (--fast: about 15 s instead of 70 s, the .deb about 15% larger);
# the contents are the same.
fast=()
if [ "${CI:-}" = true ]; then fast=(--fast); fi
cargo deb --no-build --locked --quiet "${fast[@]}" >/dev/null
echo "  $(ls target/debian/) (release build $((built - started)) s, package $(($(date +%s) - built)) s)"
[ -f "$deb" ] || { echo "check-package: no $deb" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
echo "== 2. control fields"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = "$name" ] || fail control "Package: $(field Package)"
[ "$(field Version)" = "$version-1" ] || fail control "Version: $(field Version) (Cargo.toml: $version)"
[ "$(field Architecture)" = "$arch" ] || fail control "Architecture: $(field Architecture)"
depends=$(field Depends)
for dep in libc6 libssl3 systemd; do
  grep -qE "(^|, )$dep( |,|$)" <<<"$depends" || fail control "Depends lacks $dep: $depends"
done
dpkg-deb -e "$deb" "$tmp/control"
conffiles=$(sort "$tmp/control/conffiles" | tr '\n' ' ')
[ "$conffiles" = "/etc/lambda-proxy/lambda-proxy.env /etc/lambda-proxy/lambda-proxy.yaml " ] ||
  fail control "conffiles: $conffiles"
if [[ " ${failed[*]} " != *" control "* ]]; then
  echo "  ok: $name $(field Version) $arch; Depends: $depends; conffiles: $conffiles"
fi

# ---------------------------------------------------------------------------------------------
echo "== 3. contents"
# mode path, for regular files; directories are implied.
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $1, $6 }' | sed 's#^\(\S*\) \./#\1 /#' | sort -k2 > "$tmp/files"
cat > "$tmp/expected" <<'EOF'
-rw-r----- /etc/lambda-proxy/lambda-proxy.env
-rw-r----- /etc/lambda-proxy/lambda-proxy.yaml
-rw-r--r-- /usr/lib/systemd/system/lambda-proxy.service
-rwxr-xr-x /usr/bin/lambda-proxy
-rw-r--r-- /usr/lib/sysusers.d/lambda-proxy.conf
-rw-r--r-- /usr/lib/tmpfiles.d/lambda-proxy.conf
-rw-r--r-- /usr/share/doc/lambda-proxy/README.md
-rw-r--r-- /usr/share/doc/lambda-proxy/README.systemd.md
-rw-r--r-- /usr/share/doc/lambda-proxy/changelog.Debian.gz
-rw-r--r-- /usr/share/doc/lambda-proxy/copyright
-rw-r--r-- /usr/share/doc/lambda-proxy/examples/grafana-dashboard.json
-rw-r--r-- /usr/share/doc/lambda-proxy/examples/lambda-proxy.yaml
-rw-r--r-- /usr/share/lintian/overrides/lambda-proxy
-rw-r--r-- /usr/share/man/man8/lambda-proxy.8.gz
EOF
sort -k2 -o "$tmp/expected" "$tmp/expected"
if diff -u "$tmp/expected" "$tmp/files" > "$tmp/files.diff"; then
  echo "  ok: $(wc -l < "$tmp/files") files as expected"
else
  sed 's/^/  /' "$tmp/files.diff"
  fail contents "the file list differs (- expected, + packaged)"
fi
if dpkg-deb -c "$deb" | grep -q emulator; then fail contents "the emulator is in the package"; fi
dpkg-deb -c "$deb" | awk '{ print $2 }' | sort -u | grep -vxE 'root/root|0/0' |
  sed 's/^/  owner: /' | grep . && fail contents "files not owned by root/root"

# ---------------------------------------------------------------------------------------------
echo "== 4. maintainer scripts"
postinst=$tmp/control/postinst
grep -q 'systemd-sysusers .*lambda-proxy.conf' "$postinst" || fail scripts "postinst runs no systemd-sysusers"
grep -q 'systemd-tmpfiles --create lambda-proxy.conf' "$postinst" || fail scripts "postinst runs no systemd-tmpfiles"
# sysusers before tmpfiles (the group of /etc/lambda-proxy must exist first).
[ "$(grep -n 'systemd-sysusers' "$postinst" | head -1 | cut -d: -f1)" -lt \
  "$(grep -n 'systemd-tmpfiles' "$postinst" | head -1 | cut -d: -f1)" ] ||
  fail scripts "postinst runs tmpfiles before sysusers"
grep -q 'deb-systemd-helper enable lambda-proxy.service' "$postinst" || fail scripts "postinst does not enable the unit"
grep -q 'deb-systemd-invoke reload lambda-proxy.service' "$postinst" || fail scripts "postinst does not reload on upgrade"
if grep -hE 'deb-systemd-invoke (\$_dh_action|start|restart|try-restart)' "$tmp/control"/*; then
  fail scripts "a maintainer script starts or restarts the service"
fi
if [ -f "$tmp/control/prerm" ] && grep -q 'deb-systemd-invoke stop' "$tmp/control/prerm" &&
  ! grep -qE '"\$1" = "?remove"?' "$tmp/control/prerm"; then
  fail scripts "prerm stops the service on upgrade too"
fi
for s in "$tmp/control"/{preinst,postinst,prerm,postrm}; do
  [ -f "$s" ] || continue
  sh -n "$s" || fail scripts "$(basename "$s") is not valid sh"
done
if [[ " ${failed[*]} " != *" scripts "* ]]; then
  echo "  ok: sysusers, then tmpfiles; enabled, never started; upgrade = reload; stop only on remove"
fi

# ---------------------------------------------------------------------------------------------
echo "== 5. lintian"
# Every tag, info, pedantic and experimental included, that debian/lintian-overrides does not
# justify fails the check (lintian warns about running as root: not a tag).
lint() { lintian --display-info --pedantic --display-experimental "$@" "$deb" 2>&1; }
lintian_rc=0
lint --fail-on error,warning,info,pedantic > "$tmp/lintian" || lintian_rc=$?
grep -v 'running with root privileges' "$tmp/lintian" | sed 's/^/  /' || true
unjustified=$(grep -cE '^[EWIPX]: ' "$tmp/lintian" || true)
# The overridden tags, for the record (their reasons are in debian/lintian-overrides).
lint --show-overrides > "$tmp/lintian-overrides" || true
grep -E '^O: ' "$tmp/lintian-overrides" | sed 's/^/  /' || true
overridden=$(grep -cE '^O: ' "$tmp/lintian-overrides" || true)
if [ "$lintian_rc" != 0 ] || [ "$unjustified" != 0 ]; then
  fail lintian "lintian: exit $lintian_rc, $unjustified tag(s) not overridden"
else
  echo "  ok: clean; $overridden tag(s) overridden, each with its reason in debian/lintian-overrides"
fi

# ---------------------------------------------------------------------------------------------
echo "== 6. the package unpacked into a temporary root"
root=$tmp/root
mkdir -p "$root/usr/lib/systemd/system" "$root/etc"
# The units the service refers to (network-online.target, multi-user.target, ...), from this
# machine; then the package over them.
for d in /usr/lib/systemd/system /lib/systemd/system; do
  if [ -d "$d" ]; then cp -a "$d/." "$root/usr/lib/systemd/system/"; break; fi
done
rm -f "$root/usr/lib/systemd/system/$name.service"
dpkg-deb -x "$deb" "$root"
# /bin/kill for ExecReload (inside the root, as systemd-analyze --root looks it up there).
grep -E '^Exec[A-Za-z]*=' "$root/usr/lib/systemd/system/$name.service" |
  sed -E 's/^[^=]*=[-@:+!]*//; s/[[:space:]].*//' | sort -u | while read -r cmd; do
    [ -e "$root$cmd" ] && continue
    mkdir -p "$root$(dirname "$cmd")"
    cp "$(readlink -f "$cmd")" "$root$cmd"
  done
verify_rc=0
verify_out=$(systemd-analyze verify --man=no --root="$root" "$name.service" 2>&1) || verify_rc=$?
[ -z "$verify_out" ] || sed 's/^/  verify: /' <<<"$verify_out"
if [ "$verify_rc" != 0 ] || [ -n "$verify_out" ]; then
  fail unit "systemd-analyze verify of /usr/lib/systemd/system/$name.service: exit $verify_rc"
else
  echo "  ok: systemd-analyze verify /usr/lib/systemd/system/$name.service: no messages"
fi
# The unit runs the packaged binary.
grep -E '^Exec(Start|StartPre|Reload)=' "$root/usr/lib/systemd/system/$name.service" |
  grep -v '/bin/kill' | grep -vq "=/usr/bin/$name " && fail unit "an Exec line runs something other than /usr/bin/$name"

touch "$root/etc/passwd" "$root/etc/group" "$root/etc/shadow" "$root/etc/gshadow"
if out=$(systemd-sysusers --root="$root" 2>&1) && grep -q "^$name:" "$root/etc/passwd"; then
  echo "  ok: sysusers: $(grep "^$name:" "$root/etc/passwd")"
else
  echo "  sysusers: $out"
  fail sysusers "systemd-sysusers --root did not create $name"
fi
if out=$(systemd-tmpfiles --root="$root" --create "$name.conf" 2>&1); then
  gid=$(grep "^$name:" "$root/etc/group" | cut -d: -f3)
  got=$(stat -c '%a %u:%g' "$root/etc/lambda-proxy" "$root/etc/lambda-proxy/tls" \
    "$root/etc/lambda-proxy/lambda-proxy.yaml" "$root/etc/lambda-proxy/lambda-proxy.env" | tr '\n' ' ')
  want="750 0:$gid 750 0:$gid 640 0:$gid 640 0:$gid "
  if [ "$got" = "$want" ]; then
    echo "  ok: tmpfiles: /etc/lambda-proxy, tls/, the conffiles root:$name 0750/0640"
  else
    fail tmpfiles "modes and owners: $got (want $want)"
  fi
else
  echo "  tmpfiles: $out"
  fail tmpfiles "systemd-tmpfiles --root failed"
fi

bin=$root/usr/bin/$name
if [ "$("$bin" --version)" != "$name $version" ]; then fail binary "--version: $("$bin" --version)"; fi
"$bin" --help | grep -q -- '--conf <FILE>' || fail binary "--help"
ldd "$bin" | grep -q 'libssl.so.3' || fail binary "not linked to the system libssl3 (OPENSSL_NO_VENDOR)"
readelf -S "$bin" | grep -qE '\.(symtab|debug_info)' && fail binary "the packaged binary is not stripped"
# The installed configuration loads, with a self-signed certificate where it expects one.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
# Secret references ($file:///etc/lambda-proxy/secrets/NAME) point at dummy files, as an
# operator's would point at real ones.
mkdir -p "$tmp/secrets"
grep -oE '\$file:///etc/lambda-proxy/secrets/[A-Za-z0-9._-]+' "$root/etc/lambda-proxy/lambda-proxy.yaml" |
  sed 's#.*/##' | sort -u | while read -r secret; do echo "dummy-$secret" > "$tmp/secrets/$secret"; done
sed -e "s#/etc/lambda-proxy/tls/#$tmp/#g" -e "s#/etc/lambda-proxy/secrets/#$tmp/secrets/#g" \
  "$root/etc/lambda-proxy/lambda-proxy.yaml" > "$tmp/installed.yaml"
if out=$(env -i PATH="$PATH" HOME="$tmp" AWS_ACCESS_KEY_ID=AKIDEXAMPLE \
  AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY AWS_EC2_METADATA_DISABLED=true \
  "$bin" -t -c "$tmp/installed.yaml" 2>&1); then
  echo "  ok: $(grep 'configuration OK' <<<"$out" | sed "s#$tmp/installed.yaml#/etc/lambda-proxy/lambda-proxy.yaml#")"
else
  grep -vE ' (INFO|DEBUG) ' <<<"$out" | sed 's/^/  -t: /'
  fail binary "the packaged binary rejects the installed configuration"
fi
if [[ " ${failed[*]} " != *" binary "* ]]; then
  echo "  ok: /usr/bin/$name $version, stripped, libssl3, --help"
fi

# ---------------------------------------------------------------------------------------------
echo "== 7. dpkg -i, reinstall, purge"
if [ "$install_test" != 1 ]; then
  echo "  skipped: installs on this machine only with --install (CI=true as root does)"
elif dpkg-query -W -f '${Status}' "$name" 2>/dev/null | grep -q installed; then
  echo "  skipped: a $name package is already installed here; not touching it"
else
  installed=()
  had_user=0; getent passwd "$name" >/dev/null && had_user=1
  had_etc=0; [ -e /etc/lambda-proxy ] && had_etc=1
  if ! out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" 2>&1); then
    sed 's/^/  dpkg: /' <<<"$out"
    fail install "dpkg -i failed"
  else
    installed+=(install)
    getent passwd "$name" | grep -q ':/usr/sbin/nologin$' || fail install "no system user $name"
    [ "$(stat -c '%a %U:%G' /etc/lambda-proxy)" = "750 root:$name" ] ||
      fail install "/etc/lambda-proxy: $(stat -c '%a %U:%G' /etc/lambda-proxy)"
    [ "$(stat -c '%a %U:%G' /etc/lambda-proxy/lambda-proxy.yaml)" = "640 root:$name" ] ||
      fail install "lambda-proxy.yaml: $(stat -c '%a %U:%G' /etc/lambda-proxy/lambda-proxy.yaml)"
    [ -L /etc/systemd/system/multi-user.target.wants/$name.service ] || fail install "the unit is not enabled"
    # The service user can read its configuration.
    runuser -u "$name" -- test -r /etc/lambda-proxy/lambda-proxy.yaml || fail install "$name cannot read its config"
    # An edited conffile survives a reinstall (the upgrade path of the maintainer scripts).
    echo "# edited" >> /etc/lambda-proxy/lambda-proxy.yaml
    if out=$(DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold "$deb" 2>&1); then
      installed+=(reinstall)
      tail -1 /etc/lambda-proxy/lambda-proxy.yaml | grep -qx '# edited' || fail install "the edited conffile was replaced"
    else
      sed 's/^/  dpkg: /' <<<"$out"
      fail install "reinstall failed"
    fi
  fi
  if ! out=$(dpkg --purge "$name" 2>&1); then
    sed 's/^/  dpkg: /' <<<"$out"
    fail install "dpkg --purge failed"
  else
    installed+=(purge)
    [ ! -e /usr/bin/$name ] && [ ! -e /etc/lambda-proxy/lambda-proxy.yaml ] &&
      [ ! -e /etc/systemd/system/multi-user.target.wants/$name.service ] ||
      fail install "files left after purge"
  fi
  # What purge leaves by design (tmpfiles' tls/ directory, the system user), when this check
  # created it: this machine is as before.
  if [ "$had_etc" = 0 ]; then rmdir /etc/lambda-proxy/tls /etc/lambda-proxy 2>/dev/null || true; fi
  if [ "$had_user" = 0 ] && getent passwd "$name" >/dev/null; then
    userdel "$name" 2>/dev/null || true
    groupdel "$name" 2>/dev/null || true
  fi
  if [[ " ${failed[*]} " != *" install "* ]]; then echo "  ok: ${installed[*]}"; fi
fi

# ---------------------------------------------------------------------------------------------
if ((${#failed[@]})); then
  echo "check-package: FAILED (${failed[*]}); $deb"
  exit 1
fi
echo "check-package: OK: $deb ($(du -k "$deb" | cut -f1) KiB), contents, lintian clean, unit verified as installed"
