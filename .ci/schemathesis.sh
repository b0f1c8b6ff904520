#!/usr/bin/env bash
# CI: fuzz a running flag-server against its own served OpenAPI document with schemathesis
# (`--checks all`). Exits non-zero on any failure. See openapi/README.md.
#
# Knobs (environment):
#   SCHEMATHESIS_PROFILE       debug (default) or release: how flag-server is built
#   SCHEMATHESIS_MAX_EXAMPLES  test cases per operation and phase (default 60)
#   SCHEMATHESIS_MAX_TIME      seconds of fuzzing at most (default 150)
#   SCHEMATHESIS_SEED          a seed, to reproduce a run
#   SCHEMATHESIS_VENV          where the virtual environment lives (default target/schemathesis-venv)
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VENV=$(realpath -m "${SCHEMATHESIS_VENV:-target/schemathesis-venv}")
PROFILE=${SCHEMATHESIS_PROFILE:-debug}
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-60}
MAX_TIME=${SCHEMATHESIS_MAX_TIME:-150}
REPORT_DIR=$(realpath -m target/schemathesis-report)
started=$(date +%s)

# 1. schemathesis, pinned, in a virtual environment under target/ (ignored by git).
if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}')" != "$SCHEMATHESIS_VERSION" ]; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  if ! python3 -m venv "$VENV"; then
    echo "python3 cannot make a virtual environment: installing python3-venv with apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# 2. flag-server on a free port, the embedded store in a temporary directory, a known admin token.
if [ "$PROFILE" = release ]; then
  cargo build --quiet --release -p flag-server
else
  cargo build --quiet -p flag-server
fi
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

SCHEMATHESIS_ADMIN_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export SCHEMATHESIS_ADMIN_TOKEN
FLAG_ADMIN_TOKEN="schemathesis:$SCHEMATHESIS_ADMIN_TOKEN" FLAG_LISTEN=127.0.0.1:0 FLAG_DATA_DIR="$work/data" FLAG_LOG=warn,flag_server=info FLAG_WORKERS=2 \
  "target/$PROFILE/flag-server" >"$work/server.log" 2>&1 &
server_pid=$!
addr=
for _ in $(seq 1 200); do
  addr=$(sed -n 's/.*flag-server listening on http:\/\/\([0-9.:]*\).*/\1/p' "$work/server.log" | head -n1)
  [ -n "$addr" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.05
done
if [ -z "$addr" ]; then
  echo "flag-server did not start:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
base="http://$addr"

# 3. An SDK key, in an environment of its own that no generated request is likely to name.
api() { # method path [body]
  curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $SCHEMATHESIS_ADMIN_TOKEN" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} "$base/api/v1$2"
}
api PUT /environments/schemathesis-sdk >/dev/null
api POST /environments/schemathesis-sdk/flags '{"key":"fuzzed","enabled":true,"percentage":50}' >/dev/null
# The document's examples name production/new_checkout: let them find a flag.
api POST /environments/production/flags '{"key":"new_checkout","enabled":true,"percentage":5}' >/dev/null
SCHEMATHESIS_SDK_KEY=$(api POST /environments/schemathesis-sdk/sdk-keys '{"name":"schemathesis"}' |
  "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["key"])')
export SCHEMATHESIS_SDK_KEY

# 4. schemathesis: the admin token everywhere but /api/v1/sdk/* and /ofrep/*, which get the SDK
#    key; the three SSE streams never end, so they are left out.
cat >"$work/schemathesis.toml" <<'EOF'
headers = { Authorization = "Bearer ${SCHEMATHESIS_ADMIN_TOKEN}" }

# A well-formed request may still find its precondition false: 412 is a stale If-Match, not a
# rejected input.
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "412", "429", "5xx"]

# A body past the server's size limit is rejected with 413 before it is read: a schema-violating
# body can be that large (e.g. `POST /sdk/evaluate` with more than 10000 generated keys), and
# 413 is then its rejection, declared on every operation with a body.
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]

[[operations]]
include-path-regex = "^(/api/v1/sdk/|/ofrep/)"
headers = { Authorization = "Bearer ${SCHEMATHESIS_SDK_KEY}" }

[[operations]]
include-path-regex = "(/stream|/ofrep/v1/events)$"
enabled = false

# Flag and segment bodies and metrics reports have rules beyond JSON Schema, which the spec describes in
# words: condition values must parse for their operator (regex, number, semver, instant), rule
# ids are unique, percentages have at most two decimals, lengths are in bytes, a PUT body's key
# is the path's key (flags and segments), a report's period_end is not before its period_start;
# a scheduled change's `at` is within a minute ago and a year ahead, a release plan's steps
# increase above its `rollback_to`, its durations are in range and its guard URL has a host, a
# promotion's `from` is not the target. A schema-valid body
# may break one of them and get a 400 that names it: allowed here, for these operations only.
# Every other check (no 5xx, documented statuses and schemas, schema-violating bodies rejected)
# still applies to them.
[[operations]]
include-name-regex = "^(POST /api/v1/environments/\\{env\\}/(flags|apply)|(PUT|PATCH) /api/v1/environments/\\{env\\}/flags/\\{key\\}|POST /api/v1/environments/\\{env\\}/flags/\\{key\\}/(schedule|release|promote)|PUT /api/v1/environments/\\{env\\}/segments/\\{key\\}|POST /api/v1/sdk/metrics)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "412", "429", "5xx"]

# A flag exists without a release plan: `GET .../flags/{key}/release` answers 404 for a flag
# just created (the link schemathesis infers from the shared `{key}` is not a "created
# resource" of that operation). Every other check still applies to it.
[[operations]]
include-name-regex = "^GET /api/v1/environments/\\{env\\}/flags/\\{key\\}/release$"
checks.ensure_resource_availability.enabled = false
EOF
set +e
# From the temporary directory, so that schemathesis' cache (.schemathesis/) lands there.
(cd "$work" && "$VENV/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$base/openapi.json" \
  --checks all \
  --max-examples "$MAX_EXAMPLES" \
  --max-time "$MAX_TIME" \
  --workers 1 \
  --generation-database none \
  --report junit --report-dir "$REPORT_DIR" \
  ${SCHEMATHESIS_SEED:+--seed "$SCHEMATHESIS_SEED"} \
  --no-color "$@") | tee "$work/schemathesis.out"
status=${PIPESTATUS[0]}
set -e

# 5. Stop the server (the trap) and summarise.
if grep -qE 'panicked|internal error' "$work/server.log"; then
  echo "flag-server logged a panic or an internal error:" >&2
  grep -E 'panicked|internal error' "$work/server.log" | head -n 20 >&2 || true
  status=1
fi
summary=$(grep -E '^=+ .* in [0-9.]+s =+$' "$work/schemathesis.out" | tail -n1 | tr -d '=' | sed 's/^ *//;s/ *$//' || true)
cases=$(grep -A1 '^Test cases:' "$work/schemathesis.out" | sed -n 's/^ *\([0-9][0-9]*\) generated.*/\1/p' | tail -n1 || true)
elapsed=$(($(date +%s) - started))
if [ "$status" -eq 0 ]; then
  echo "schemathesis: OK, ${cases:-?} generated cases, 0 failures ($summary; ${elapsed}s in all)"
else
  echo "schemathesis: FAILED ($summary; ${cases:-?} generated cases; ${elapsed}s in all)" >&2
fi
exit "$status"
