#!/usr/bin/env bash
# run.sh: set up a Debian 12 machine, build rivulet, and run the demo or the
# tests. Usage: ./run.sh demo | test | test-sanitize | fuzz [SECONDS] | build
#   demo           install what is missing, build, run the demo on the embedded broker
#   test           install what is missing, build, run the whole test suite (ctest)
#   test-sanitize  the same suite built with AddressSanitizer + UBSan (build-sanitize/)
#   fuzz [S]       build the libFuzzer targets with clang and run each for S seconds (20)
#   build          install what is missing and build only
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the build and the tests need (the interop tests drive the
# broker with kcat, kafka-python and confluent-kafka-python).
PACKAGES=(build-essential cmake pkg-config librocksdb-dev libuv1-dev libmsgpack-dev
          libcmocka-dev librdkafka-dev zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev
          kcat python3-kafka python3-confluent-kafka)

# Only for the fuzzers: clang and its libFuzzer runtime.
FUZZ_PACKAGES=(clang libclang-rt-14-dev)

install_missing() {  # install_missing [extra packages...]
    local missing=()
    for p in "${PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "run.sh: installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {  # build DIR [cmake options...]
    local dir=$1; shift
    cmake -S . -B "$dir" -DRV_BUILD_TESTS=ON "$@" >/dev/null
    cmake --build "$dir" -j"$(nproc)"
}

run_tests() {  # run_tests DIR
    local jobs=$(( $(nproc) > 1 ? $(nproc) : 2 ))
    (cd "$1" && ctest --output-on-failure -j"$jobs" --timeout 600)
}

case "${1:-}" in
demo)
    install_missing
    build build
    # The tour writes into build/demo-data; then Kafka-style tools read it.
    rm -rf build/demo-data
    ./build/bin/log_tour build/demo-data
    echo
    echo "$ rivulet topics --bootstrap-server embedded:build/demo-data --describe"
    ./build/bin/rivulet topics --bootstrap-server embedded:build/demo-data --describe
    echo "$ rivulet configs --bootstrap-server embedded:build/demo-data --describe --entity-type topics --entity-name orders"
    ./build/bin/rivulet configs --bootstrap-server embedded:build/demo-data --describe \
        --entity-type topics --entity-name orders
    # Then a stream app written with the DSL (examples/dsl_word_count.c):
    # word count through the test driver, then as an app on an embedded
    # broker in build/demo-streams.
    echo
    echo "$ dsl_word_count build/demo-streams"
    rm -rf build/demo-streams
    ./build/bin/dsl_word_count build/demo-streams
    ;;
test)
    install_missing
    build build
    run_tests build
    ;;
test-sanitize)
    install_missing
    build build-sanitize -DRV_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_tests build-sanitize
    ;;
fuzz)
    install_missing "${FUZZ_PACKAGES[@]}"
    bash fuzz/run.sh "${2:-20}"
    ;;
build)
    install_missing
    build build
    ;;
*)
    echo "usage: $0 demo | test | test-sanitize | fuzz [SECONDS] | build" >&2
    exit 2
    ;;
esac
