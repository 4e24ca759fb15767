#!/usr/bin/env bash
# Benchmark `cityrisk score --water POLYGONS` (Aqueduct's basins read as published: the exact
# coverage-weighted mean of bws_score per cell) against the detour it replaces: gdal_rasterize
# of the basins to a raster on the grid, then `cityrisk score --water RASTER`.
#
#   bench/score_polygons.sh [SIZE] [BASINS]     (default 10000 and 10000)
#
# The detour: ogr2ogr -t_srs to the grid's CRS (gdal_rasterize burns in the vector's CRS), then
# gdal_rasterize -a bws_score on the grid (each cell takes the basin under its centre).
#
# Inputs, in bench/work/polygons-SIZE-BASINS/ (made once): BASINS basin polygons in EPSG:4326 by
# bench/basins.py (a square number; edges shared, 8 wiggled vertices each, 1 % no data), and
# constant sea, informal and arrivals rasters of SIZE x SIZE 30 m cells in UTM 36S (DEFLATE,
# 256 x 256 tiles) by gdal_create: the bench is about the water layer. Every command runs with
# GDAL_CACHEMAX=64 and writes the score and water bands; timings (wall, peak RSS) go to
# bench/results/results.tsv, and the water bands of both routes are compared at the end.
#
# RUNS      runs of each command (default 1)
# CITYRISK  a cityrisk binary to use as it is; by default the release build, rebuilt first
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${1:-10000}
basins=${2:-10000}
runs=${RUNS:-1}
work=$root/bench/work/polygons-$size-$basins
cityrisk=${CITYRISK:-$root/build/release/cli/cityrisk}
[[ -n ${CITYRISK:-} ]] || cmake --build "$root/build/release" --target cityrisk-cli >/dev/null
mkdir -p "$work"
export GDAL_CACHEMAX=64
x0=500000 y0=8000000 cell=30
x1=$((x0 + size * cell)) y1=$((y0 - size * cell))
tiles=(-co TILED=YES -co BLOCKXSIZE=256 -co BLOCKYSIZE=256 -co COMPRESS=DEFLATE -co BIGTIFF=IF_SAFER)
constant() { # constant NAME VALUE
  [[ -f $work/$1.tif ]] || gdal_create -q -of GTiff -outsize "$size" "$size" -bands 1 -ot Float32 \
    -burn "$2" -a_nodata -9999 -a_srs EPSG:32736 -a_ullr "$x0" "$y0" "$x1" "$y1" "${tiles[@]}" \
    "$work/$1.tif"
}
constant sea 0.3
constant informal 0.4
constant arrivals 5
[[ -f $work/basins.gpkg ]] || /usr/bin/python3 "$root/bench/basins.py" "$work/basins.gpkg" "$size" "$basins" "$cell"
common=(--sea "$work/sea.tif" --informal "$work/informal.tif" --arrivals "$work/arrivals.tif"
        --arrivals-ref 10 --bands score,water --overwrite -q)
for _ in $(seq "$runs"); do
  "$root/bench/timeit.sh" "score$size-water-polygons$basins-cityrisk" -- \
    "$cityrisk" score "${common[@]}" --water "$work/basins.gpkg" -o "$work/polygons.tif"
  # gdal_rasterize burns in the vector's CRS: the basins go to the grid's first.
  "$root/bench/timeit.sh" "score$size-water-polygons$basins-ogr2ogr" -- \
    ogr2ogr -overwrite -t_srs EPSG:32736 "$work/basins-utm.gpkg" "$work/basins.gpkg"
  "$root/bench/timeit.sh" "score$size-water-polygons$basins-gdal_rasterize" -- \
    gdal_rasterize -q -a bws_score -te "$x0" "$y1" "$x1" "$y0" -tr "$cell" "$cell" \
    -ot Float32 -a_nodata -9999 -init -9999 "${tiles[@]}" "$work/basins-utm.gpkg" "$work/water.tif"
  "$root/bench/timeit.sh" "score$size-water-polygons$basins-rasterized-score" -- \
    "$cityrisk" score "${common[@]}" --water "$work/water.tif" -o "$work/rasterized.tif"
done
# What the detour loses: a cell takes the basin under its centre, not the basins' shares.
/usr/bin/python3 - "$work/polygons.tif" "$work/rasterized.tif" <<'PY'
import sys
import numpy as np
from osgeo import gdal
a, b = (gdal.Open(p) for p in sys.argv[1:3])
band = lambda ds: [ds.GetRasterBand(i) for i in range(1, ds.RasterCount + 1)
                   if ds.GetRasterBand(i).GetDescription() == "water"][0]
wa, wb = band(a), band(b)
n = same = 0
diff = []
for y in range(0, a.RasterYSize, 1024):
    h = min(1024, a.RasterYSize - y)
    x = wa.ReadAsArray(0, y, a.RasterXSize, h).astype(np.float64) * 5
    z = wb.ReadAsArray(0, y, a.RasterXSize, h).astype(np.float64) * 5
    ok = (x > -9000) & (z > -9000)
    n += ok.sum()
    d = np.abs(x[ok] - z[ok])
    same += (d < 1e-5).sum()
    diff.append(d[d >= 1e-5])
d = np.concatenate(diff)
print(f"water cells valid in both: {n}; equal: {same} ({100 * same / n:.2f} %); differing by "
      f"mean {d.mean() if d.size else 0:.3f}, max {d.max() if d.size else 0:.3f} Aqueduct points")
PY
