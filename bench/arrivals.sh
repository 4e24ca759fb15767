#!/usr/bin/env bash
# Benchmark `cityrisk arrivals` against gdal_rasterize -add (counts) and GRASS v.kernel (quartic
# kernel density) on generated inputs.
#
#   bench/arrivals.sh [SIZE]      (default 10000: 1,000,000 records onto a 10000 x 10000 grid)
#
# Every contender puts the records of WORK/arrivals.csv on the grid of WORK/dem.tif (its extent and
# resolution) and writes a Float32 raster into WORK/arrivals/; bench/compare_arrivals.py then checks
# the sums against the CSV and the rasters against each other. Timings are appended to
# bench/results/results.tsv, the comparison to bench/results/arrivals-NAME.txt (NAME: WORK's name).
#
# RUNS       runs of each command (default 3; 0 only compares the outputs already there)
# SLOW_RUNS  runs of the slow peers: gdal_rasterize's default algorithm, the GRASS job, v.kernel
#            alone (default RUNS; 0 skips them and compares their outputs of an earlier run)
# BANDWIDTH  kernel radius in metres (default 500)
# PEERS=0    time cityrisk only; the comparison reuses the peers' outputs of an earlier run
# WORK       the inputs (default bench/work/SIZE), made by bench/gen.sh if missing
# CITYRISK   a cityrisk binary to use as it is; by default the release build, rebuilt first.
#            When it has no `arrivals` command yet, only the peers run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${1:-10000}
runs=${RUNS:-3}
slow_runs=${SLOW_RUNS:-$runs}
bandwidth=${BANDWIDTH:-500}
peers=${PEERS:-1}
work=${WORK:-$root/bench/work/$size}
out=$work/arrivals
dem=$work/dem.tif
csv=$work/arrivals.csv
results=${BENCH_RESULTS:-$root/bench/results/results.tsv}
report=$root/bench/results/arrivals-$(basename "$work").txt
if [[ $peers == 1 ]] && ! command -v grass >/dev/null; then
  echo "arrivals.sh: grass missing (.ci/deps.sh --bench)" >&2
  exit 1
fi

bash "$root/bench/gen.sh" "$size" "$work"
cityrisk=${CITYRISK:-$root/build/release/cli/cityrisk}
[[ -n ${CITYRISK:-} ]] || cmake --build "$root/build/release" --target cityrisk-cli >/dev/null
have_cityrisk=0
if "$cityrisk" arrivals --help >/dev/null 2>&1; then
  have_cityrisk=1
else
  echo "arrivals.sh: $cityrisk has no arrivals command yet: timing the peers only" >&2
fi

export GDAL_CACHEMAX=64
mkdir -p "$out"
log=$out/log.txt
: >"$log"
labels=()
# run LABEL N [FILE] -- CMD...: N timed runs of CMD under arrivals$size-LABEL, removing FILE (an
# output the command would otherwise add to or refuse to replace) before each. The commands'
# stderr goes to the log, shown when one fails.
run() {
  local label=arrivals$size-$1 n=$2 fresh=
  shift 2
  [[ $1 == -- ]] || { fresh=$1; shift; }
  shift
  ((n > 0)) || return 0
  labels+=("$label $n")
  for _ in $(seq "$n"); do
    [[ -z $fresh ]] || rm -f "$fresh"
    "$root/bench/timeit.sh" "$label" -- "$@" >/dev/null 2>>"$log" && continue
    tail -n 30 "$log" >&2
    echo "arrivals.sh: $label failed (log: $log)" >&2
    exit 1
  done
}

# The grid: EPSG code, extent, resolution of the DEM.
read -r epsg xmin ymin xmax ymax xres yres < <(/usr/bin/python3 -c '
import sys
from osgeo import gdal
ds = gdal.Open(sys.argv[1])
x0, dx, _, y0, _, dy = ds.GetGeoTransform()
print(ds.GetSpatialRef().GetAuthorityCode(None), x0, y0 + dy * ds.RasterYSize,
      x0 + dx * ds.RasterXSize, y0, dx, -dy)' "$dem")

# cityrisk reads the CSV as it is (HXL row, lon/lat) and writes a Float32 COG.
if [[ $have_cityrisk == 1 ]]; then
  cr=("$cityrisk" arrivals -q --points "$csv" --grid "$dem" --overwrite)
  weighted=(--count-field arrivals --kernel quartic --bandwidth "$bandwidth")
  run counts-cityrisk "$runs" -- "${cr[@]}" --count-field arrivals --kernel none \
    -o "$out/cityrisk-counts.tif"
  run counts-cityrisk-t1 "$runs" -- "${cr[@]}" --threads 1 --count-field arrivals --kernel none \
    -o "$out/cityrisk-counts-t1.tif"
  run kernel-cityrisk "$runs" -- "${cr[@]}" "${weighted[@]}" -o "$out/cityrisk-kernel.tif"
  run kernel-cityrisk-t1 "$runs" -- "${cr[@]}" --threads 1 "${weighted[@]}" \
    -o "$out/cityrisk-kernel-t1.tif"
  # Each record counts 1, as in v.kernel.
  run kernel-cityrisk-records "$runs" -- "${cr[@]}" --kernel quartic --bandwidth "$bandwidth" \
    -o "$out/cityrisk-kernel-records.tif"
  "${cr[@]}" "${weighted[@]}" --json -o "$out/cityrisk-kernel.tif" >"$out/cityrisk-kernel.json"
fi

if [[ $peers == 1 ]]; then
  # The peers read OGR sources: the CSV without its HXL row (prepared once, timed apart), as
  # points reprojected to the grid's CRS on the fly by a VRT.
  # shellcheck disable=SC2016 # expanded by the inner bash
  run prep-strip-hxl "$runs" -- bash -c 'sed 2d "$1" >"$2"' strip "$csv" "$out/points.csv"
  cat >"$out/points.vrt" <<EOF
<OGRVRTDataSource>
  <OGRVRTWarpedLayer>
    <OGRVRTLayer name="arrivals">
      <SrcDataSource relativeToVRT="1">points.csv</SrcDataSource>
      <SrcLayer>points</SrcLayer>
      <GeometryType>wkbPoint</GeometryType>
      <LayerSRS>EPSG:4326</LayerSRS>
      <GeometryField encoding="PointFromColumns" x="longitude" y="latitude"/>
    </OGRVRTLayer>
    <TargetSRS>EPSG:$epsg</TargetSRS>
  </OGRVRTWarpedLayer>
</OGRVRTDataSource>
EOF
  # gdal_rasterize burns into an existing output: each run starts without it.
  rasterize=(gdal_rasterize -q -add -a arrivals -init 0 -ot Float32 -a_srs "EPSG:$epsg"
    -te "$xmin" "$ymin" "$xmax" "$ymax" -tr "$xres" "$yres"
    -co COMPRESS=DEFLATE -co PREDICTOR=3 -co TILED=YES)
  # Its default (-optim AUTO picks VECTOR here: a block read-modify-write per point through the
  # 64 MB block cache), then -optim RASTER (one pass over the points per swath of rows).
  run counts-gdal-rasterize "$slow_runs" "$out/rasterize.tif" -- "${rasterize[@]}" \
    "$out/points.vrt" "$out/rasterize.tif"
  run counts-gdal-rasterize-raster "$runs" "$out/rasterize-raster.tif" -- "${rasterize[@]}" \
    -optim RASTER "$out/points.vrt" "$out/rasterize-raster.tif"
  # Reproject once to FlatGeobuf, then rasterize that.
  run counts-ogr2ogr-fgb "$runs" "$out/points.fgb" -- ogr2ogr -f FlatGeobuf "$out/points.fgb" \
    "$out/points.vrt"
  run counts-gdal-rasterize-fgb-raster "$runs" "$out/rasterize-fgb.tif" -- "${rasterize[@]}" \
    -optim RASTER "$out/points.fgb" "$out/rasterize-fgb.tif"

  # The GRASS job, in a throw-away location made from the DEM (its default region is the DEM's
  # grid): import the reprojected points without attributes (v.kernel uses none), v.kernel with
  # multiplier = cell area so the density per m2 becomes arrivals per cell, export. OUT = prepare
  # imports only. Prints the seconds of each step on stderr.
  # shellcheck disable=SC2016 # expanded by the inner bash
  grass_job='
set -euo pipefail
points=$1 radius=$2 cell_area=$3 output=$4
steps="" last=$EPOCHREALTIME
lap() { local now=$EPOCHREALTIME; steps+=" $1 $(awk -v a="$last" -v b="$now" "BEGIN { printf \"%.1f\", b - a }")s"; last=$now; }
v.in.ogr -t --quiet input="$points" output=arrivals
lap import
[[ $output != prepare ]] || exit 0
v.kernel --quiet input=arrivals output=density radius="$radius" kernel=quartic \
  multiplier="$cell_area"
lap v.kernel
r.out.gdal --quiet -c -m -f input=density output="$output" format=GTiff type=Float32 \
  createopt=COMPRESS=DEFLATE,PREDICTOR=3,TILED=YES,BLOCKXSIZE=512,BLOCKYSIZE=512 --overwrite
lap export
echo "grass steps:$steps" >&2
'
  cell_area=$(awk -v a="$xres" -v b="$yres" 'BEGIN { print a * b }')
  grassdb=$out/grassdb
  if ((slow_runs > 0)); then
    rm -rf "$grassdb"
    mkdir -p "$grassdb"
    grass -c "$dem" -e "$grassdb/loc" 2>>"$log"
    grass "$grassdb/loc/PERMANENT" --exec bash -c "$grass_job" grass-job "$out/points.vrt" \
      "$bandwidth" "$cell_area" prepare 2>>"$log"
  fi
  run kernel-grass "$slow_runs" -- grass --tmp-location "$dem" --exec bash -c "$grass_job" \
    grass-job "$out/points.vrt" "$bandwidth" "$cell_area" "$out/vkernel.tif"
  run kernel-grass-vkernel "$slow_runs" -- grass "$grassdb/loc/PERMANENT" --exec v.kernel --quiet \
    --overwrite input=arrivals output=density radius="$bandwidth" kernel=quartic \
    multiplier="$cell_area"
  grep '^grass steps:' "$log" | sed 's/^/  /' >&2 || true
fi

# Medians of the last N runs of each label.
median() { sort -g | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); print NR % 2 ? v[m] : (v[m] + v[m + 1]) / 2 }'; }
echo "medians (wall s, peak RSS MiB):"
for entry in "${labels[@]}"; do
  read -r l n <<<"$entry"
  last=$(awk -F'\t' -v l="$l" '$2 == l' "$results" | tail -n "$n")
  printf '  %-48s %8s %8s\n' "$l" "$(cut -f3 <<<"$last" | median)" "$(cut -f4 <<<"$last" | median)"
done

# Sums against the CSV, count rasters against the exact counts, kernels against each other.
args=()
have() { if [[ -f $out/$2 ]]; then args+=("$1" "$3=$out/$2"); fi; }
have --counts cityrisk-counts.tif cityrisk
have --counts cityrisk-counts-t1.tif cityrisk-t1
have --counts rasterize.tif gdal_rasterize
have --counts rasterize-raster.tif gdal_rasterize-optim-raster
have --counts rasterize-fgb.tif gdal_rasterize-fgb
have --kernel-weighted cityrisk-kernel.tif cityrisk
have --kernel-weighted cityrisk-kernel-t1.tif cityrisk-t1
have --kernel-records cityrisk-kernel-records.tif cityrisk
have --kernel-records vkernel.tif v.kernel
{
  echo "bench/arrivals.sh $size, $(date -u +%Y-%m-%dT%H:%M:%SZ), quartic kernel radius $bandwidth m"
  /usr/bin/python3 "$root/bench/compare_arrivals.py" --csv "$csv" --grid "$dem" "${args[@]}"
  [[ ! -f $out/cityrisk-kernel.json ]] || /usr/bin/python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print("cityrisk --json (weighted kernel):", ", ".join(f"{k} {s[k]}" for k in (
    "records_read", "records_accepted", "records_rejected", "records_outside_grid",
    "arrivals_total", "arrivals_in_grid", "kernel_mass_outside", "raster_sum")))' \
    "$out/cityrisk-kernel.json"
} | tee "$report"
echo "results: $results, comparison: $report" >&2
