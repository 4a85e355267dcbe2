#!/usr/bin/env bash
# bench/bench_dsl.sh: the DSL figures of one run (bench/bench_dsl.c).
#
#   bench/bench_dsl.sh [RECORDS] [BUILD_DIR]
#
# Runs bench_dsl on RECORDS (default 10 M) records with one stream thread
# on the embedded broker: word count over 10 K distinct words (words/s;
# target >= 1 M) and a stream-table join against a 10 K-key table
# (records/s; target >= 500 K). Build BUILD_DIR (default build) with
# -DCMAKE_BUILD_TYPE=Release for comparable figures.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-10000000}
build=${2:-build}
if [ ! -x "$build/bin/bench_dsl" ]; then
    echo "bench_dsl: $build/bin/bench_dsl not found; build first (./run.sh build)" >&2
    exit 2
fi
echo "== rivulet DSL apps ($records records)"
"$build/bin/bench_dsl" --records "$records"
# The stream-stream join (bench/bench_stream_join.c): N/2 impressions
# joined with N/2 clicks over 10 K ad ids in a 1 s window (records/s).
if [ -x "$build/bin/bench_stream_join" ]; then
    echo "== rivulet stream-stream join ($records records)"
    "$build/bin/bench_stream_join" --records "$records"
fi
