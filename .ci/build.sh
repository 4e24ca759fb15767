#!/usr/bin/env bash
# Configures and builds one CMake preset (release or asan) of cityrisk.
# Usage: .ci/build.sh PRESET
set -euo pipefail
preset="${1:?usage: .ci/build.sh release|asan}"
cd "$(dirname "$0")/.."
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
