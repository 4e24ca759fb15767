#!/usr/bin/env bash
# README command 2: install what is missing, build the release and the sanitizer
# (ASan + UBSan) builds, run the whole test suite under both, check that the release
# build installs and that a program outside the tree builds against it, then run each
# fuzz target for 20 seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps.sh
for preset in release asan; do
  echo "== build: $preset" >&2
  bash .ci/build.sh "$preset"
done
for preset in release asan; do
  echo "== test: $preset" >&2
  ctest --preset "$preset" -j 2
done
echo "== install: release" >&2
bash .ci/install.sh build/release
# The fuzz targets, 20 s each, as a smoke test (docs/fuzzing.md).
bash .ci/fuzz.sh 20
