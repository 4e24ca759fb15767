#!/usr/bin/env bash
# The cost of inundation confidence (issue 20): `cityrisk inundation` with and without
# --dem-rmse on one generated DEM, wall time and peak RSS (/usr/bin/time -v, bench/timeit.sh).
#
#   bench/inundation_confidence.sh [SIZE]      (default 10000: a 10000 x 10000 DEM)
#
# With confidence each level has two more reaches (W -/+ k sigma), scanned and resolved in the
# same passes over the DEM (each tile is read once per pass for every level), and two more
# COGs are written (Byte classes, Float32 p_inundated). The depth outputs of the two runs are
# compared cell for cell (they must be identical). Timings are appended to
# bench/results/results.tsv.
#
# LEVELS  sea levels in m, comma-separated (default "0.56,1.01,2.0")
# RMSE    --dem-rmse in m (default 2: an SRTM-class DEM near the coast, SCORING.md section 8)
# RUNS    runs of each command (default 3)
# THREADS --threads (default 2)
# CITYRISK  a cityrisk binary; by default the release build, rebuilt first.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${1:-10000}
levels=${LEVELS:-0.56,1.01,2.0}
rmse=${RMSE:-2}
runs=${RUNS:-3}
threads=${THREADS:-2}
# Only the DEM matters here: few records and zones keep the generation short.
work=$root/bench/work/$size-dem
out=$work/confidence
dem=$work/dem.tif

bash "$root/bench/gen.sh" "$size" "$work" 1000 10
if [[ -n ${CITYRISK:-} ]]; then
  cityrisk=$CITYRISK
else
  cityrisk=$root/build/release/cli/cityrisk
  cmake --build "$root/build/release" --target cityrisk-cli >/dev/null
fi
export GDAL_CACHEMAX=64
mkdir -p "$out"
for run in $(seq "$runs"); do
  "$root/bench/timeit.sh" "inundation-$size-plain" -- \
    "$cityrisk" inundation -q --threads "$threads" --dem "$dem" --sea-level "$levels" \
    -o "$out/plain.tif" --overwrite
  "$root/bench/timeit.sh" "inundation-$size-confidence" -- \
    "$cityrisk" inundation -q --threads "$threads" --dem "$dem" --sea-level "$levels" \
    --dem-rmse "$rmse" -o "$out/conf.tif" --overwrite
done
# The depths are the same with and without confidence.
/usr/bin/python3 - "$out/plain.tif" "$out/conf.tif" <<'PY'
import sys
from osgeo import gdal
a, b = gdal.Open(sys.argv[1]), gdal.Open(sys.argv[2])
for i in range(1, a.RasterCount + 1):
    if a.GetRasterBand(i).Checksum() != b.GetRasterBand(i).Checksum():
        sys.exit(f"band {i}: the depths differ with confidence")
print(f"depths identical in {a.RasterCount} bands")
PY
