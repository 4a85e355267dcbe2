#!/usr/bin/env bash
# fuzz/run.sh: builds the libFuzzer targets (fuzz/fuzz_*.c) with clang and
# RV_BUILD_FUZZERS=ON in build-fuzz/, then runs each for SECONDS (default
# 30) on a scratch copy of its seed corpus (fuzz/corpus/<target>/). Exits
# non-zero when any target crashes, leaks, hangs or fails one of its checks;
# the input that did it is kept as build-fuzz/fuzz-artifacts/<target>-*.
# Scratch folders (under /dev/shm when writable) are removed on exit.
#
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
#   CC / CXX       compilers (default clang / clang++)
#   RV_FUZZ_FLAGS  extra libFuzzer flags for every target, e.g. "-jobs=2"
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-30}
case "$secs" in
'' | *[!0-9]*)
    echo "usage: fuzz/run.sh [SECONDS] [TARGET...]" >&2
    exit 2
    ;;
esac
[ $# -gt 0 ] && shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for src in fuzz/fuzz_*.c; do
        targets+=("$(basename "$src" .c)")
    done
fi

export CC=${CC:-clang} CXX=${CXX:-clang++}
# UBSan reports come with their stack trace.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
if ! command -v "$CC" >/dev/null; then
    echo "fuzz/run.sh: $CC not found; libFuzzer needs clang (Debian: clang libclang-rt-dev)" >&2
    exit 2
fi

build="build-fuzz"
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
    -DRV_BUILD_FUZZERS=ON -DRV_BUILD_TESTS=OFF >/dev/null
if [ ! -d "$build/fuzz" ]; then
    echo "fuzz/run.sh: the top-level CMakeLists.txt does not add fuzz/ when RV_BUILD_FUZZERS is on" >&2
    exit 2
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake --build "$build" -j"$jobs" --target "${targets[@]}"

tmp_base=/dev/shm
if [ ! -d "$tmp_base" ] || [ ! -w "$tmp_base" ]; then
    tmp_base=${TMPDIR:-/tmp}
fi
work=$(mktemp -d "$tmp_base/rv-fuzz-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
artifacts="$PWD/$build/fuzz-artifacts"
mkdir -p "$artifacts"

failed=()
for t in "${targets[@]}"; do
    corpus="$work/corpus-$t"
    mkdir -p "$corpus" "$work/tmp-$t"
    if [ -d "fuzz/corpus/$t" ]; then
        cp -R "fuzz/corpus/$t/." "$corpus/"
    fi
    rm -f "$artifacts/$t-"*
    echo "== $t: ${secs}s"
    rc=0
    # Targets make their scratch folders under RV_FUZZ_TMPDIR, so those of
    # a run that crashed go with $work too.
    # shellcheck disable=SC2086
    RV_FUZZ_TMPDIR="$work/tmp-$t" "$build/fuzz/$t" -max_total_time="$secs" -timeout=25 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
        ${RV_FUZZ_FLAGS:-} "$corpus" >"$work/$t.log" 2>&1 || rc=$?
    grep -E "^(stat::number_of_executed_units|stat::new_units_added|Done )" "$work/$t.log" | sed 's/^/   /' || true
    if [ "$rc" -ne 0 ]; then
        echo "!! $t failed (exit $rc):"
        grep -v -E "^#[0-9]+[[:space:]]|NEW_FUNC" "$work/$t.log" | tail -n 60 | sed 's/^/   /'
        for a in "$artifacts/$t-"*; do
            [ -f "$a" ] || continue
            echo "   input $a:"
            od -An -tx1 -v "$a" | head -n 20 | sed 's/^/     /'
        done
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz/run.sh: failed: ${failed[*]}"
    exit 1
fi
echo "fuzz/run.sh: all ${#targets[@]} targets ran ${secs}s clean"
