#!/usr/bin/env bash
# Smoke test of the container image and deploy/compose.yaml, against a real Docker engine:
#   1. builds the image and starts redis, server1 and server2 (`up --wait`: healthy = ready);
#   2. creates a flag through server1 with the admin token and issues an SDK key;
#   3. starts the edge (following server2) with that key and reads the flag through it, so the
#      change went server1 -> Redis -> server2 -> edge;
#   4. checks that the web console at server1's `/` answers 200 with a Content-Security-Policy;
#   5. `docker compose down -v`, also when a step failed.
# Where no Docker engine answers it says so and exits 0, so `.ci/run` can call it everywhere.
#
# Usage: deploy/smoke.sh      (DOCKER=/path/to/docker to use another client)
set -euo pipefail
cd "$(dirname "$0")"

DOCKER=${DOCKER:-docker}
if ! "$DOCKER" info >/dev/null 2>&1; then
    echo "docker engine not available: skipped the container smoke test"
    exit 0
fi
if ! "$DOCKER" compose version >/dev/null 2>&1; then
    echo "smoke: a Docker engine answers but the compose plugin is missing (docker compose)" >&2
    exit 1
fi
for tool in curl python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "smoke: $tool is needed" >&2; exit 1; }
done

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# A project of its own, free host ports and a fresh admin token: nothing of a developer's own
# `docker compose up` (project `flags`, deploy/.env) is touched.
PROJECT="flagsmoke$$"
FLAG_ADMIN_TOKEN="smoke-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
FLAG_SERVER1_PORT=$(free_port)
FLAG_SERVER2_PORT=$(free_port)
FLAG_EDGE_PORT=$(free_port)
export FLAG_ADMIN_TOKEN FLAG_SERVER1_PORT FLAG_SERVER2_PORT FLAG_EDGE_PORT
export FLAG_EDGE_SDK_KEY=""
export FLAG_IMAGE="flag-server:smoke"
SERVER1="http://127.0.0.1:$FLAG_SERVER1_PORT"
EDGE="http://127.0.0.1:$FLAG_EDGE_PORT"

compose() {
    "$DOCKER" compose --project-name "$PROJECT" --file compose.yaml "$@"
}

finish() {
    local rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "smoke: FAILED (exit $rc); state and recent logs:" >&2
        compose --profile edge ps >&2 || true
        compose --profile edge logs --no-color --tail 40 >&2 || true
    fi
    compose --profile edge down -v --remove-orphans >/dev/null 2>&1 || true
    exit "$rc"
}
trap finish EXIT

fail() {
    echo "smoke: $*" >&2
    exit 1
}

# Polls until a command succeeds, at most $1 seconds (a condition, not a fixed sleep).
await() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.5
    done
}

echo "smoke: building the image (this compiles flag-server in release mode)..."
compose build server1
echo "smoke: starting redis, server1, server2..."
compose up -d --wait --no-build redis server1 server2

admin() { # method, path, body
    curl -fsS -X "$1" "$SERVER1/api/v1$2" \
        -H "Authorization: Bearer $FLAG_ADMIN_TOKEN" -H 'Content-Type: application/json' \
        ${3:+-d "$3"}
}

echo "smoke: creating a flag through server1..."
admin POST /environments/production/flags \
    '{"key": "smoke_flag", "description": "container smoke test", "enabled": true, "percentage": 100}' \
    >/dev/null || fail "creating a flag through server1 failed"
FLAG_EDGE_SDK_KEY=$(admin POST /environments/production/sdk-keys '{"name": "smoke-edge"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])') ||
    fail "issuing an SDK key through server1 failed"
export FLAG_EDGE_SDK_KEY

echo "smoke: starting the edge (upstream: server2) with the SDK key..."
compose --profile edge up -d --wait --no-build edge

edge_has_flag() {
    curl -fsS "$EDGE/api/v1/sdk/flags" -H "Authorization: Bearer $FLAG_EDGE_SDK_KEY" 2>/dev/null |
        python3 -c 'import json, sys; d = json.load(sys.stdin); sys.exit(0 if any(f["key"] == "smoke_flag" and f["enabled"] for f in d["flags"]) else 1)'
}
await 30 edge_has_flag || fail "the edge did not serve smoke_flag within 30 s"
echo "smoke: the edge serves the flag written through server1"

echo "smoke: checking the web console on server1..."
HEADERS=$(curl -sS -o /dev/null -D - "$SERVER1/")
STATUS=$(printf '%s\n' "$HEADERS" | awk 'NR == 1 {print $2}')
[ "$STATUS" = 200 ] || fail "GET / on server1 answered $STATUS, not 200"
printf '%s\n' "$HEADERS" | grep -qi '^content-security-policy:' ||
    fail "GET / on server1 has no Content-Security-Policy header"

# Both images' HEALTHCHECK (/healthz) and the compose probes (/readyz) passed for `--wait`.
echo "container smoke test passed"
