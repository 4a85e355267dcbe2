#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds an example the way
# a user's app builds: with `pkg-config --cflags --libs rivulet`, and runs it.
# Usage: check_install.sh SOURCE_ROOT BUILD_DIR CC [EXTRA_CFLAGS]
# (EXTRA_CFLAGS: the sanitizer flags when the library was built with them)
set -euo pipefail
src=$1 build=$2 cc=$3 extra=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pc=$(find "$tmp/prefix" -name rivulet.pc)
export PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir rivulet)
"$cc" $extra -o "$tmp/log_tour" "$src/examples/log_tour.c" $(pkg-config --cflags --libs rivulet) \
    -Wl,-rpath,"$libdir"
"$tmp/log_tour" "$tmp/data" | tail -3
test -f "$tmp/prefix/bin/rivulet"
echo "installed library works through pkg-config"
