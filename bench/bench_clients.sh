#!/usr/bin/env bash
# bench/bench_clients.sh: the producer and consumer figures of one run, with
# Redis Streams' XADD and XREADGROUP measured beside them in the same run.
#
#   bench/bench_clients.sh [RECORDS] [BUILD_DIR] [PEERS_DIR]
#
# Runs bench_produce (one producer thread, acks=1 and acks=all),
# bench_consume (one group member) and bench_net (a librdkafka producer and
# consumer over loopback TCP) on RECORDS (default 10 M) 100-byte
# records. When PEERS_DIR (default ../shared/peers beside this checkout)
# holds redis_streams.sh and redis-server, redis-benchmark and hiredis are
# installed (apt-get install redis-server redis-tools libhiredis-dev), it
# runs Redis too and prints its RESULT lines last.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-10000000}
build=${2:-build}
peers=${3:-../shared/peers}
for b in bench_produce bench_consume bench_net; do
    if [ ! -x "$build/bin/$b" ]; then
        echo "bench_clients: $build/bin/$b not found; build first (./run.sh build)" >&2
        exit 2
    fi
done
echo "== rivulet producer ($records records)"
"$build/bin/bench_produce" --records "$records"
echo "== rivulet consumer ($records records)"
"$build/bin/bench_consume" --records "$records"
echo "== rivulet over TCP: librdkafka client -> Kafka-protocol server ($records records)"
"$build/bin/bench_net" --records "$records"
if [ -f "$peers/redis_streams.sh" ] && command -v redis-server >/dev/null &&
    command -v redis-benchmark >/dev/null && [ -f /usr/include/hiredis/hiredis.h ]; then
    echo "== Redis Streams, same machine, same run (peers/redis_streams.sh)"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    cp -r "$peers"/. "$tmp"/
    bash "$tmp/redis_streams.sh" 2>&1 | grep '^RESULT'
else
    echo "== Redis Streams: not measured (needs $peers/redis_streams.sh and redis-server, redis-tools, libhiredis-dev)"
fi
