#!/usr/bin/env bash
# CI: interoperability with OpenFeature SDKs nobody here wrote (issue 11). Installs the Python
# SDK and its OFREP provider into a virtual environment under target/, and the JavaScript
# server SDK and its OFREP provider into tests/interop/js (npm ci, from the lockfile), then
# runs tests/tests/interop, which starts a real server and compares their answers with the
# Rust SDK's. Installs python3-venv / nodejs / npm with apt when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
VENV=$(realpath -m "${FLAG_INTEROP_VENV:-target/interop-venv}")

apt_install() {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "node/npm missing: installing nodejs and npm with apt"
  apt_install nodejs npm
fi
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/interop/python/requirements.txt; then
  if ! python3 -m venv "$VENV"; then
    echo "python3 cannot make a virtual environment: installing python3-venv with apt"
    apt_install python3-venv
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/interop/python/requirements.txt
fi
(cd tests/interop/js && npm ci --no-audit --no-fund --silent)

FLAG_INTEROP_REQUIRED=1 FLAG_INTEROP_PYTHON="$VENV/bin/python" \
  cargo test -p flag-tests --test interop -- --nocapture
echo "interop: OK in $(($(date +%s) - started))s"
