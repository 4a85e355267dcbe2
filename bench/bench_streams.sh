#!/usr/bin/env bash
# bench/bench_streams.sh: the stream-processing figures of one run, with
# RocksDB's db_bench fillrandom (--disable_wal=1, 16-byte keys, 100-byte
# values, 1 M ops) measured beside them in the same run.
#
#   bench/bench_streams.sh [RECORDS] [BUILD_DIR] [PEERS_DIR]
#
# Runs bench_streams (pass-through, count over 1 M uniform keys, count over
# 10 K hot keys) on RECORDS (default 10 M) 100-byte records. When
# PEERS_DIR (default ../shared/peers beside this checkout) holds
# rocksdb_bench.sh and db_bench is installed (apt-get install rocksdb-tools),
# it runs that too and prints its RESULT lines last.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-10000000}
build=${2:-build}
peers=${3:-../shared/peers}
if [ ! -x "$build/bin/bench_streams" ]; then
    echo "bench_streams: $build/bin/bench_streams not found; build first (./run.sh build)" >&2
    exit 2
fi
echo "== rivulet stream app ($records records)"
"$build/bin/bench_streams" --records "$records"
if [ -f "$peers/rocksdb_bench.sh" ] && command -v db_bench >/dev/null; then
    echo "== RocksDB db_bench, same machine, same run (peers/rocksdb_bench.sh)"
    bash "$peers/rocksdb_bench.sh" 2>&1 | grep '^RESULT'
else
    echo "== RocksDB db_bench: not measured (needs $peers/rocksdb_bench.sh and rocksdb-tools)"
fi
