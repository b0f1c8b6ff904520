#!/usr/bin/env bash
# CI: the web console in a real browser (issue 12). Installs Debian's Chromium with apt when it
# is missing, and playwright-core into tests/console (npm ci, from the lockfile; it drives that
# Chromium and downloads no browser of its own), then runs tests/tests/console, which starts a
# real server and runs tests/console/console.test.mjs against it.
# FLAG_CONSOLE_SCREENSHOTS=docs/console refreshes the committed screenshots.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

apt_install() {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "chromium missing: installing it with apt"
  apt_install chromium
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "node/npm missing: installing nodejs and npm with apt"
  apt_install nodejs npm
fi
(cd tests/console && npm ci --no-audit --no-fund --silent)

if [ -n "${FLAG_CONSOLE_SCREENSHOTS:-}" ]; then
  FLAG_CONSOLE_SCREENSHOTS=$(realpath -m "$FLAG_CONSOLE_SCREENSHOTS")
  export FLAG_CONSOLE_SCREENSHOTS
fi
FLAG_CONSOLE_REQUIRED=1 cargo test -p flag-tests --test console -- --nocapture
echo "console: OK in $(($(date +%s) - started))s"
