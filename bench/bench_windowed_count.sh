#!/usr/bin/env bash
# bench/bench_windowed_count.sh: the windowed aggregation figure of one
# run (bench/bench_windowed_count.c).
#
#   bench/bench_windowed_count.sh [RECORDS] [BUILD_DIR]
#
# Runs bench_windowed_count on RECORDS (default 10 M) records of 100 bytes
# over 10 K keys with one stream thread on the embedded broker: a count in
# 1-minute tumbling windows (RocksDB window store, cache on, changelogged),
# in records/s (target >= 500 K). Build BUILD_DIR (default build) with
# -DCMAKE_BUILD_TYPE=Release for comparable figures.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-10000000}
build=${2:-build}
if [ ! -x "$build/bin/bench_windowed_count" ]; then
    echo "bench_windowed_count: $build/bin/bench_windowed_count not found; build first (./run.sh build)" >&2
    exit 2
fi
echo "== rivulet windowed count ($records records)"
"$build/bin/bench_windowed_count" --records "$records"
