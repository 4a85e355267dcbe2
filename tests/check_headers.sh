#!/usr/bin/env bash
# Every public header must compile on its own, as C99 and as C++.
# Usage: check_headers.sh SOURCE_ROOT CC CXX
set -euo pipefail
root=$1 cc=$2 cxx=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for h in "$root"/include/rivulet/*.h; do
    name=$(basename "$h")
    printf '#include <rivulet/%s>\n#include <rivulet/%s>\nint rv_check_%s;\n' "$name" "$name" "${name%.h}" > "$tmp/t.c"
    cp "$tmp/t.c" "$tmp/t.cpp"
    if ! "$cc" -std=c99 -pedantic -Wall -Wextra -Werror -I"$root/include" -c "$tmp/t.c" -o "$tmp/t.o"; then
        echo "FAIL: $name does not compile alone as C99"; fail=1
    fi
    if ! "$cxx" -std=c++11 -Wall -Wextra -Werror -I"$root/include" -c "$tmp/t.cpp" -o "$tmp/t.o"; then
        echo "FAIL: $name does not compile alone as C++"; fail=1
    fi
done
[ $fail -eq 0 ] && echo "all public headers compile alone as C99 and C++"
exit $fail
