#!/usr/bin/env bash
# Generate a large synthetic Port Azul input set for benchmarks.
#
#   bench/gen.sh SIZE [OUTDIR] [RECORDS] [ZONES]
#
# SIZE     DEM width and height in 30 m cells (667 is the committed sample; 10000 = 300 km).
# OUTDIR   default bench/work/SIZE (bench/work/ is git-ignored).
# RECORDS  arrival records, default 100 * SIZE (1,000,000 for SIZE 10000).
# ZONES    neighbourhoods, default SIZE / 2 (5,000 for SIZE 10000).
#
# Builds build/release/samples/cityrisk-synthcity first if needed (set SYNTHCITY to use another
# binary). An OUTDIR already generated with the same arguments is kept; FORCE=1 regenerates it.
set -euo pipefail

usage() {
    echo "usage: bench/gen.sh SIZE [OUTDIR] [RECORDS] [ZONES]" >&2
    echo "  e.g. bench/gen.sh 10000 bench/work/10k 1000000 5000" >&2
    exit 2
}

is_count() { [[ $1 =~ ^[0-9]+$ ]]; }

[[ $# -ge 1 && $# -le 4 ]] || usage
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=$1
is_count "$size" || usage
outdir=${2:-$root/bench/work/$size}
records=${3:-$((100 * size))}
zones=${4:-$((size / 2 > 0 ? size / 2 : 1))}
is_count "$records" && is_count "$zones" || usage

build_generator() {
    if [[ -n ${SYNTHCITY:-} ]]; then
        [[ -x $SYNTHCITY ]] || { echo "gen.sh: SYNTHCITY=$SYNTHCITY is not executable" >&2; exit 1; }
        echo "$SYNTHCITY"
        return
    fi
    # Configure once with the project's release preset; later builds are incremental no-ops.
    if [[ ! -f $root/build/release/CMakeCache.txt ]]; then
        (cd "$root" && cmake --preset release) >&2
    fi
    cmake --build "$root/build/release" --target cityrisk-synthcity >&2
    echo "$root/build/release/samples/cityrisk-synthcity"
}

generator=$(build_generator)
args=(--size "$size" --records "$records" --zones "$zones")
stamp=$outdir/.synthcity-args

if [[ ${FORCE:-0} != 1 && -f $stamp && $(cat "$stamp") == "${args[*]}" ]]; then
    echo "gen.sh: $outdir already holds ${args[*]} (FORCE=1 to regenerate)" >&2
    exit 0
fi

mkdir -p "$outdir"
rm -f "$stamp"
"$generator" "${args[@]}" "$outdir"
# Written last, so an interrupted run is never mistaken for a complete one.
echo "${args[*]}" >"$stamp"
