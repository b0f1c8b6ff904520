#!/usr/bin/env bash
# SDK read throughput of flag-server, against a ceiling.
#
# Starts the release flag-server on the embedded store in a temporary directory, creates 100
# flags and an SDK key, and runs `wrk -t2 -c50 -d10s` against
#   - GET  /api/v1/sdk/flags      (the snapshot, served from memory)
#   - POST /api/v1/sdk/evaluate   (server-side evaluation of all 100 flags for one context)
#   - POST /ofrep/v1/evaluate/flags (OFREP bulk evaluation of all 100 flags, the same context
#     with `targetingKey` for `user_id`)
#   - the CEILING: a minimal actix-web server (flag-server/examples/ceiling.rs) answering the
#     same snapshot bytes with no auth, routing or state.
# Prints req/s and p99 latency of each and the ratios to the ceiling.
# Goals: snapshot >= 80% of the ceiling, evaluate >= 50%, OFREP bulk >= 80% of evaluate.
#
# Usage: bench/wrk.sh            (DURATION=10s CONNECTIONS=50 THREADS=2 FLAG_LOG=warn by default)
# The numbers depend on the machine and on whatever else runs on it.
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
export FLAG_LOG=${FLAG_LOG:-warn}

if ! command -v wrk >/dev/null 2>&1; then
    echo "installing wrk..." >&2
    (apt-get update -qq && apt-get install -y -qq wrk) >&2
fi

# PROFILE=debug only checks that the script works; figures need the release build.
PROFILE=${PROFILE:-release}
if [ "$PROFILE" = release ]; then
    cargo build --release -q -p flag-server --bin flag-server --example ceiling
else
    cargo build -q -p flag-server --bin flag-server --example ceiling
fi
BIN=target/$PROFILE/flag-server
CEILING=target/$PROFILE/examples/ceiling

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

wait_up() {
    for _ in $(seq 1 100); do
        curl -fs "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "server at $1 did not come up" >&2
    exit 1
}

PORT=$(free_port)
ADMIN=bench-admin-token
FLAG_DATA_DIR="$TMP/data" FLAG_LISTEN="127.0.0.1:$PORT" FLAG_ADMIN_TOKEN="$ADMIN" \
    "$BIN" 2>"$TMP/server.log" &
PIDS+=($!)
BASE="http://127.0.0.1:$PORT"
wait_up "$BASE/healthz"

echo "creating 100 flags..." >&2
for i in $(seq 0 99); do
    case $((i % 4)) in
        0) body="{\"key\":\"flag_$i\",\"enabled\":true,\"percentage\":$((i % 100))}" ;;
        1) body="{\"key\":\"flag_$i\",\"enabled\":true,\"percentage\":0,\"rules\":[{\"id\":\"staff\",\"percentage\":100,\"conditions\":[{\"attribute\":\"email\",\"operator\":\"ends_with\",\"values\":[\"@example.com\"]}]},{\"id\":\"eu\",\"percentage\":25,\"conditions\":[{\"attribute\":\"country\",\"operator\":\"in\",\"values\":[\"DE\",\"FR\",\"IT\"]},{\"attribute\":\"app_version\",\"operator\":\"semver_gte\",\"values\":[\"2.3.0\"]}]}]}" ;;
        2) body="{\"key\":\"flag_$i\",\"enabled\":false,\"description\":\"killed\"}" ;;
        3) body="{\"key\":\"flag_$i\",\"enabled\":true,\"percentage\":5,\"tags\":[\"bench\"],\"rules\":[{\"id\":\"beta\",\"percentage\":50,\"conditions\":[{\"attribute\":\"plan\",\"operator\":\"in\",\"values\":[\"beta\",\"pro\"]}]}]}" ;;
    esac
    curl -fs -o /dev/null -X POST "$BASE/api/v1/environments/production/flags" \
        -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d "$body"
done
SDK_KEY=$(curl -fs -X POST "$BASE/api/v1/environments/production/sdk-keys" \
    -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d '{"name":"bench"}' \
    | sed -E 's/.*"key":"([^"]+)".*/\1/')
curl -fs "$BASE/api/v1/sdk/flags" -H "Authorization: Bearer $SDK_KEY" >"$TMP/snapshot.json"
echo "snapshot: $(wc -c <"$TMP/snapshot.json") bytes" >&2

CPORT=$(free_port)
"$CEILING" "127.0.0.1:$CPORT" "$TMP/snapshot.json" 2>"$TMP/ceiling.log" &
PIDS+=($!)
wait_up "http://127.0.0.1:$CPORT/"

cat >"$TMP/evaluate.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"context":{"user_id":"42","email":"ann@example.org","country":"DE","app_version":"2.4.1","plan":"pro"}}'
wrk.headers["Content-Type"] = "application/json"
LUA

cat >"$TMP/ofrep.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"context":{"targetingKey":"42","email":"ann@example.org","country":"DE","app_version":"2.4.1","plan":"pro"}}'
wrk.headers["Content-Type"] = "application/json"
LUA

run() { # name, then wrk arguments
    local name=$1
    shift
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" >"$TMP/$name.out"
    local rps p99
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$TMP/$name.out")
    p99=$(awk '$1 == "99%" {print $2}' "$TMP/$name.out")
    if grep -q "Non-2xx" "$TMP/$name.out"; then
        echo "$name: non-2xx answers:" >&2
        cat "$TMP/$name.out" >&2
        exit 1
    fi
    echo "$name $rps $p99"
}

echo "running wrk -t$THREADS -c$CONNECTIONS -d$DURATION (FLAG_LOG=$FLAG_LOG)..." >&2
CEIL=$(run ceiling "http://127.0.0.1:$CPORT/api/v1/sdk/flags")
SNAP=$(run snapshot -H "Authorization: Bearer $SDK_KEY" "$BASE/api/v1/sdk/flags")
EVAL=$(run evaluate -H "Authorization: Bearer $SDK_KEY" -s "$TMP/evaluate.lua" "$BASE/api/v1/sdk/evaluate")
OFREP=$(run ofrep-bulk -H "Authorization: Bearer $SDK_KEY" -s "$TMP/ofrep.lua" "$BASE/ofrep/v1/evaluate/flags")

printf '%-10s %12s %10s %10s\n' endpoint "req/s" p99 "vs ceiling"
ceil_rps=$(echo "$CEIL" | awk '{print $2}')
for line in "$CEIL" "$SNAP" "$EVAL" "$OFREP"; do
    echo "$line" | awk -v c="$ceil_rps" '{printf "%-10s %12.0f %10s %9.0f%%\n", $1, $2, $3, 100 * $2 / c}'
done
eval_rps=$(echo "$EVAL" | awk '{print $2}')
echo "$OFREP" | awk -v e="$eval_rps" '{printf "OFREP bulk vs /sdk/evaluate: %.0f%% (goal >= 80%%)\n", 100 * $2 / e}'
