#!/usr/bin/env bash
# Installs moto (an AWS mock that really verifies SigV4) into .venv-moto/ (git-ignored) for
# tests/gateway/moto.rs. Idempotent and quiet: when the pinned versions are already there it does not run
# pip at all. Needs python3 with the venv module (Debian: python3-venv) and access to PyPI.
#
# moto 5.2.5 is required: older moto rejected correctly signed invokes of functions named by ARN.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
BOTO3_VERSION=1.44.8
BOTOCORE_VERSION=1.44.8 # what boto3 $BOTO3_VERSION was released with (it allows any 1.44.x)
VENV=.venv-moto

# "name version" of each pinned package that is installed, sorted by name, on one line.
installed() {
  "$VENV/bin/pip" show --disable-pip-version-check moto boto3 botocore 2>/dev/null |
    awk '/^Name: /{n=tolower($2)} /^Version: /{print n, $2}' | sort | tr '\n' ' '
}

if [ -x "$VENV/bin/moto_server" ] &&
  [ "$(installed)" = "boto3 $BOTO3_VERSION botocore $BOTOCORE_VERSION moto $MOTO_VERSION " ]; then
  echo "moto-setup: ok (moto $MOTO_VERSION, boto3 $BOTO3_VERSION already installed)"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  "moto[server]==$MOTO_VERSION" "boto3==$BOTO3_VERSION" "botocore==$BOTOCORE_VERSION"
"$VENV/bin/moto_server" --help >/dev/null
echo "moto-setup: ok (installed moto $MOTO_VERSION, boto3 $BOTO3_VERSION into $VENV)"
