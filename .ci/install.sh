#!/usr/bin/env bash
# Installs a build of cityrisk into a temporary prefix and builds tests/install/consumer.c,
# a program outside the tree, against what was installed: once with pkg-config and once
# with CMake's find_package(cityrisk). Each runs the inundation stage on the sample city
# with the installed shared library and checks its result; the installed program must
# start without help (its RPATH). The prefix is removed unless something failed.
# Usage: .ci/install.sh [BUILD_DIR]      (default build/release, already built)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
work=$(mktemp -d "${TMPDIR:-/tmp}/cityrisk-install.XXXXXX")
prefix="$work/prefix"
trap 'echo "install check failed: files kept in $work" >&2' ERR

cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name cityrisk.pc -path '*/pkgconfig/*')
libdir=$(dirname "$(dirname "$pc")")
for f in "$prefix/bin/cityrisk" "$libdir/libcityrisk.so" "$prefix/include/cityrisk/version.h" \
         "$libdir/cmake/cityrisk/cityrisk-config.cmake"; do
  [[ -e $f ]] || { echo "not installed: $f" >&2; false; }
done
"$prefix/bin/cityrisk" --version >/dev/null # finds its library through its RPATH

# pkg-config, C11 with warnings as errors (not -pedantic: GDAL's own headers are not).
PKG_CONFIG_PATH="$libdir/pkgconfig" ${CC:-cc} -std=c11 -Wall -Wextra -Werror \
  tests/install/consumer.c $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs cityrisk) \
  -o "$work/consumer-pkgconfig"
# CMake's package, found through the prefix alone.
cmake -S tests/install -B "$work/consumer-cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/consumer-cmake" >/dev/null

for exe in "$work/consumer-pkgconfig" "$work/consumer-cmake/consumer"; do
  # The shared library it runs with is the installed one.
  [[ $(LD_LIBRARY_PATH="$libdir" ldd "$exe") == *"$libdir/libcityrisk.so"* ]]
  LD_LIBRARY_PATH="$libdir" "$exe" samples/data/dem.tif "$exe.tif"
done
rm -rf "$work"
echo "install check: the pkg-config and CMake consumers built and ran against the installed cityrisk"
