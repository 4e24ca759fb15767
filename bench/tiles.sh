#!/usr/bin/env bash
# Benchmark `cityrisk score` split into tiles (issue 22): N tiles run by GNU parallel -j JOBS
# against one run over the whole grid, on bench/score.sh's inputs.
#
#   bench/tiles.sh [SIZE] [TILES] [JOBS]     (default 10000 4 2: a 10000 x 10000 grid)
#
# Each tile runs `cityrisk score ... --tile I/TILES` with --threads THREADS (default the cores
# divided by JOBS, so that the jobs share the cores as the single run's threads do); the single
# run uses every core. Every command is timed by bench/timeit.sh (wall, CPU, peak RSS per job, in
# bench/results/results.tsv): the single run, each tile, and the whole parallel run, twice: with
# a_ref found by each tile from the whole grid's arrivals (the default), and with the single run's
# a_ref given (--arrivals-ref), which spares every tile the two passes over the whole grid's
# arrivals. Each tile is then compared, band by band, with the single run's window (bit for bit, NaN included), and when
# the build has `cityrisk mosaic`, the mosaic of the tiles with the single run (gdalinfo
# -checksum). The summary goes to bench/results/tiles-NAME.txt.
#
# WORK      the inputs (default bench/work/SIZE), made by bench/gen.sh and bench/score_inputs.sh
# CITYRISK  a cityrisk binary to use as it is; by default the release build, rebuilt first
# THREADS   threads per tile job (default nproc / JOBS, at least 1)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${1:-10000}
tiles=${2:-4}
jobs=${3:-2}
work=${WORK:-$root/bench/work/$size}
results=${BENCH_RESULTS:-$root/bench/results/results.tsv}
report=$root/bench/results/tiles-$(basename "$work")-$tiles.txt
command -v parallel >/dev/null || { echo "tiles.sh: GNU parallel missing (apt-get install parallel)" >&2; exit 1; }

bash "$root/bench/gen.sh" "$size" "$work"
cityrisk=${CITYRISK:-$root/build/release/cli/cityrisk}
[[ -n ${CITYRISK:-} ]] || cmake --build "$root/build/release" --target cityrisk-cli >/dev/null
bash "$root/bench/score_inputs.sh" "$work" "$cityrisk"
in=$work/score/inputs
out=$work/tiles
mkdir -p "$out" "$(dirname "$results")"
export GDAL_CACHEMAX=64 BENCH_RESULTS=$results
threads=${THREADS:-$(( $(nproc) / jobs > 0 ? $(nproc) / jobs : 1 ))}
label=tiles$size
score=("$cityrisk" score -q --sea "$in/sea.tif" --water "$in/water.tif" --informal "$in/informal.tif"
       --arrivals "$in/arrivals.tif" --overwrite)
start=0
[[ ! -f $results ]] || start=$(wc -l <"$results")

"$root/bench/timeit.sh" "$label-single" -- "${score[@]}" --json -o "$out/single.tif" >"$out/single.json"
# The summary, then timeit's line.
aref=$(/usr/bin/python3 -c 'import json, sys
print(repr(json.JSONDecoder().raw_decode(open(sys.argv[1]).read())[0]["arrivals_ref"]))' "$out/single.json")
# tiles NAME [OPTION...]: one timeit per tile inside one timeit for the whole parallel run.
tiles() {
  local name=$1
  shift
  "$root/bench/timeit.sh" "$label-parallel$name-$tiles-j$jobs" -- \
    parallel -j "$jobs" --halt now,fail=1 "$root/bench/timeit.sh" "$label-tile$name-{}/$tiles" -- \
    "$(printf '%q ' "${score[@]}" "$@")" --threads "$threads" --tile "{}/$tiles" \
    -o "$out/tile$name-{}.tif" ::: $(seq "$tiles") >/dev/null
}
tiles ""
tiles -given-aref --arrivals-ref "$aref"

# Every tile against the single run's window, band by band, bit for bit.
# (The tiles given a_ref are timed only: its 10 digits in the summary are not the single run's
# double, so their arrivals indicators may differ from the single run's in the last bit.)
/usr/bin/python3 - "$out/single.tif" "$out"/tile-[0-9]*.tif <<'EOF'
import sys
import numpy as np
from osgeo import gdal
single = gdal.Open(sys.argv[1])
for path in sys.argv[2:]:
    tile = gdal.Open(path)
    x, y, w, h = map(int, tile.GetMetadataItem("CITYRISK_WINDOW").split(","))
    for b in range(1, single.RasterCount + 1):
        got = tile.GetRasterBand(b).ReadAsArray()
        want = single.GetRasterBand(b).ReadAsArray(x, y, w, h)
        if got.tobytes() != want.tobytes():
            sys.exit(f"tiles.sh: {path} band {b} differs from the single run's window {x},{y},{w},{h}")
print(f"tiles.sh: {len(sys.argv) - 2} tiles equal the single run's windows, every band, bit for bit")
EOF
mosaic_line="mosaic: not in this build"
if "$cityrisk" help mosaic >/dev/null 2>&1; then
  "$root/bench/timeit.sh" "$label-mosaic-$tiles" -- "$cityrisk" mosaic -q --overwrite \
    "$out"/tile-[0-9]*.tif -o "$out/mosaic.tif" >/dev/null
  sums() { gdalinfo -checksum "$1" | grep -o 'Checksum=[0-9]*' | head -n "$(gdalinfo "$1" | grep -c '^Band ')"; }
  [[ $(sums "$out/mosaic.tif") == $(sums "$out/single.tif") ]] ||
    { echo "tiles.sh: the mosaic's checksums differ from the single run's" >&2; exit 1; }
  mosaic_line="mosaic: checksums equal to the single run's"
fi

{
  echo "# cityrisk score, $size x $size, $tiles tiles with parallel -j $jobs (--threads $threads each) vs one run ($(nproc) cores)"
  echo "# label  wall_s  peak_rss_MiB  exit  cpu_s"
  tail -n +"$((start + 1))" "$results" | grep -v '^date' | cut -f2-6
  echo "# $mosaic_line"
} | tee "$report"
