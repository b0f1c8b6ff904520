#!/usr/bin/env bash
# Guarded-rollout benchmark: from a failing guard check to 0% on an SDK stream, against a
# person's PATCH in the same run. Needs redis-server on PATH.
# Usage: tests/benches/rollback.sh [--trials N]
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p flag-server
exec cargo bench -p flag-tests --bench rollback -- "$@"
