#!/usr/bin/env bash
# Fan-out benchmark: one change through one server and two edges to 10,000 stream clients;
# propagation p50/p99 and memory per idle stream on each tier.
# Usage: tests/benches/fanout.sh [--clients N] [--toggles N]
set -euo pipefail
cd "$(dirname "$0")/../.."
# 10,000 streams need about as many file descriptors in the benchmark, and half in each edge.
ulimit -n "$(ulimit -Hn)" || true
echo "fd limit: $(ulimit -n)"
exec cargo bench -p flag-tests --bench fanout -- "$@"
