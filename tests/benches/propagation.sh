#!/usr/bin/env bash
# Live-update benchmark: propagation p50/p99 through two instances on one Redis with 1,000
# other streams, memory per idle stream connection, is_enabled cost with and without a stream.
# Needs redis-server on PATH. Usage: tests/benches/propagation.sh [propagation|memory|evaluate|all] [--toggles N] [--clients N] [--connections N]
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p flag-server
# 10,000 streams need about as many file descriptors in the server and in the benchmark.
ulimit -n "$(ulimit -Hn)" || true
echo "fd limit: $(ulimit -n)"
exec cargo bench -p flag-tests --bench propagation -- "$@"
