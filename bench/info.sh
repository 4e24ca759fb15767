#!/usr/bin/env bash
# Benchmark `cityrisk info` against gdalinfo -stats and ogrinfo on generated inputs.
#
#   bench/info.sh [SIZE]      (default 10000: a 10000 x 10000 DEM, 1,000,000 records, 5,000 zones)
#
# Each pair describes the same file; results are appended to bench/results/results.tsv.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${1:-10000}
work=$root/bench/work/$size
cityrisk=$root/build/release/cli/cityrisk
bash "$root/bench/gen.sh" "$size" "$work"
cmake --build "$root/build/release" --target cityrisk-cli >/dev/null

t() { "$root/bench/timeit.sh" "$@" >/dev/null; }
for run in 1 2 3; do
  # Raster: exact min/max/mean of every cell. PAM off so gdalinfo writes no .aux.xml.
  t "info-dem$size-cityrisk" -- "$cityrisk" info -q "$work/dem.tif"
  GDAL_PAM_ENABLED=NO t "info-dem$size-gdalinfo-stats" -- gdalinfo -stats "$work/dem.tif"
  # CSV point records with an HXL row: columns, types, extent.
  t "info-csv$size-cityrisk" -- "$cityrisk" info -q "$work/arrivals.csv"
  t "info-csv$size-ogrinfo" -- ogrinfo -ro -so -al -oo X_POSSIBLE_NAMES=longitude \
    -oo Y_POSSIBLE_NAMES=latitude -oo AUTODETECT_TYPE=YES "$work/arrivals.csv"
  # GeoPackage polygons.
  t "info-gpkg$size-cityrisk" -- "$cityrisk" info -q "$work/neighbourhoods.gpkg"
  t "info-gpkg$size-ogrinfo" -- ogrinfo -ro -so -al "$work/neighbourhoods.gpkg"
done
echo "results: ${BENCH_RESULTS:-$root/bench/results/results.tsv}" >&2
