#!/usr/bin/env bash
# How soon the web console paints, from the local server, against a baseline in the same run
# (tests/console/paint.mjs: /healthz's first paint; the sign-in page's first paint; the flag
# list of 100 flags fully rendered). Starts the release flag-server on the embedded store in a
# temporary directory with 100 flags. Needs Chromium and playwright-core (.ci/console.sh
# installs both).
#
# Usage: bench/console.sh          (RUNS=25 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p flag-server --bin flag-server
(cd tests/console && [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --silent)

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
FLAG_LOG=warn FLAG_ADMIN_TOKEN=bench-admin FLAG_LISTEN=127.0.0.1:$port FLAG_DATA_DIR=$work/data \
  target/release/flag-server >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
url=http://127.0.0.1:$port
for _ in $(seq 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.1; done

flags=$(python3 -c '
import json
print(json.dumps({"flags": [{"key": f"flag_{i:03}", "description": f"Flag number {i}", "enabled": i % 3 != 0,
  "percentage": i % 101, "tags": ["bench"], "owner": "team-" + str(i % 5)} for i in range(100)]}))')
curl -sf -X POST -H "Authorization: Bearer bench-admin" -H 'Content-Type: application/json' \
  "$url/api/v1/environments/production/apply" -d "$flags" >/dev/null

cd tests/console
FLAG_CONSOLE_URL=$url FLAG_CONSOLE_TOKEN=bench-admin node paint.mjs
