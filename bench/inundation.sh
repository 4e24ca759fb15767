#!/usr/bin/env bash
# Benchmark `cityrisk inundation` against GRASS r.lake and a gdal_calc.py bathtub on generated inputs.
#
#   bench/inundation.sh [SIZE]      (default 10000: a 10000 x 10000 DEM)
#
# For each water level W each contender writes a depth raster (W - elevation where inundated, 0 on
# dry land, nodata on the sea and where the DEM has none); bench/compare_flood.py then counts the
# inundated cells of each and where cityrisk and r.lake differ. Timings are appended to
# bench/results/results.tsv, comparisons to bench/results/inundation-demSIZE.txt.
#
# LEVELS  water levels in m (default "2.0 0.56 1.01")
# RUNS    runs of each command (default 3)
# GRASS_IMPORT  r.in.gdal (default: import into GRASS's own format) or r.external (link the GeoTIFF)
# CITYRISK      a cityrisk binary to use as it is; by default the release build, rebuilt first.
#               When it has no `inundation` command yet, only the peers run.
# GRASS         1 (default) to run GRASS too; 0 times cityrisk and the gdal_calc.py bathtub only.
# FLOOR         1 (default) to time the floor's parts (CPU seconds): decoding the DEM (gdalinfo
#               -checksum) and encoding cityrisk's output as a COG with its creation options
#               (gdal_translate -of COG, one thread, less the decoding of that output); the
#               floor is their sum over the cores.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${1:-10000}
levels=${LEVELS:-2.0 0.56 1.01}
runs=${RUNS:-3}
import=${GRASS_IMPORT:-r.in.gdal}
grass=${GRASS:-1}
floor=${FLOOR:-1}
work=$root/bench/work/$size
out=$work/inundation
dem=$work/dem.tif
results=${BENCH_RESULTS:-$root/bench/results/results.tsv}
report=$root/bench/results/inundation-dem$size.txt
[[ $import == r.in.gdal || $import == r.external ]] ||
  { echo "inundation.sh: GRASS_IMPORT must be r.in.gdal or r.external" >&2; exit 2; }
[[ $grass == 0 ]] || command -v grass >/dev/null ||
  { echo "inundation.sh: grass missing (.ci/deps.sh --bench; GRASS=0 leaves it out)" >&2; exit 1; }

bash "$root/bench/gen.sh" "$size" "$work"
if [[ -n ${CITYRISK:-} ]]; then
  cityrisk=$CITYRISK
else
  cityrisk=$root/build/release/cli/cityrisk
  cmake --build "$root/build/release" --target cityrisk-cli >/dev/null
fi
have_cityrisk=1
"$cityrisk" inundation --help >/dev/null 2>&1 || {
  have_cityrisk=0
  echo "inundation.sh: $cityrisk has no inundation command yet: timing the peers only" >&2
}

# Every tool gets the same 64 MB GDAL block cache (GRASS reads the GeoTIFF through GDAL too).
export GDAL_CACHEMAX=64
mkdir -p "$out"
log=$out/log.txt
: >"$log"
# Times one run; the command's stderr goes to the log, shown when it fails.
t() {
  "$root/bench/timeit.sh" "$@" >/dev/null 2>>"$log" || {
    tail -n 30 "$log" >&2
    echo "inundation.sh: failed: ${*:3} (log: $log)" >&2
    exit 1
  }
}

# The GRASS job, run in a throw-away location made from the DEM's CRS:
#   grass --tmp-location DEM --exec bash -c "$grass_job" grass-job DEM W OUT IMPORT
# (W = prepare: import and prepare the maps below, then stop).
# r.lake fills from seed cells (> 0) over 8-connected cells below the level and treats null cells
# as walls, so to reproduce `cityrisk inundation` exactly:
#   seed  = the edge cells that are nodata or <= 0 (the sea touches the raster edge there);
#   fill  = the DEM with nodata as -9999, so the nodata sea carries water like the shelf;
#   low   = 0 where the DEM is nodata or <= 0, else 1; r.lake on it at 0.5 from the seed is the
#           sea: the region of nodata or <= 0 cells connected to the edge;
#   lake  = r.lake on fill at W from the seed (the sea and everything joined to it below W);
#   depth = null on the sea and on DEM nodata, else lake depth, 0 where dry.
# Prints the seconds of each step on stderr.
# shellcheck disable=SC2016 # expanded by the inner bash
grass_job='
set -euo pipefail
dem=$1 level=$2 output=$3 import=$4
steps="" last=$EPOCHREALTIME
lap() { local now=$EPOCHREALTIME; steps+=" $1 $(awk -v a="$last" -v b="$now" "BEGIN { printf \"%.1f\", b - a }")s"; last=$now; }
if [[ $import == r.external ]]; then
  r.external --quiet -r input="$dem" output=dem
else
  r.in.gdal --quiet input="$dem" output=dem
fi
g.region raster=dem
lap import
r.mapcalc --quiet "seed = if((row() == 1 || row() == nrows() || col() == 1 || col() == ncols()) && if(isnull(dem), 1, dem <= 0), 1, null())
fill = if(isnull(dem), float(-9999), dem)
low = if(isnull(dem), 0, if(dem <= 0, 0, 1))"
lap prepare
[[ $level != prepare ]] || exit 0
r.lake --quiet elevation=low water_level=0.5 lake=sea seed=seed
lap sea
r.lake --quiet elevation=fill water_level="$level" lake=lake seed=seed
lap r.lake
r.mapcalc --quiet "depth = if(isnull(dem) || !isnull(sea), null(), if(isnull(lake), 0, lake))"
r.out.gdal --quiet -c -m input=depth output="$output" format=GTiff type=Float32 nodata=-9999 \
  createopt=COMPRESS=DEFLATE,PREDICTOR=3,TILED=YES,BLOCKXSIZE=512,BLOCKYSIZE=512 --overwrite
lap export
echo "grass steps:$steps" >&2
'

# A persistent location with the maps prepared once, to time r.lake alone.
grassdb=$out/grassdb
if [[ $grass == 1 ]]; then
  rm -rf "$grassdb"
  mkdir -p "$grassdb"
  grass -c "$dem" -e "$grassdb/loc" 2>>"$log"
  grass "$grassdb/loc/PERMANENT" --exec bash -c "$grass_job" grass-job "$dem" prepare - "$import" \
    2>>"$log"
fi

label() { echo "inundation-dem$size-w$1-$2"; }
labels=()
for level in $levels; do
  for c in cityrisk cityrisk-t1 grass grass-rlake gdalcalc; do
    [[ $have_cityrisk == 1 || $c != cityrisk* ]] && [[ $grass == 1 || $c != grass* ]] &&
      labels+=("$(label "$level" "$c")")
  done
  for _ in $(seq "$runs"); do
    if [[ $have_cityrisk == 1 ]]; then
      t "$(label "$level" cityrisk)" -- "$cityrisk" inundation -q --dem "$dem" \
        -o "$out/cityrisk-$level.tif" --sea-level "$level" --overwrite
      t "$(label "$level" cityrisk-t1)" -- "$cityrisk" inundation -q --threads 1 --dem "$dem" \
        -o "$out/cityrisk-$level.tif" --sea-level "$level" --overwrite
    fi
    if [[ $grass == 1 ]]; then
      # End to end: new location, import, seed, sea, flood, export.
      t "$(label "$level" grass)" -- grass --tmp-location "$dem" --exec bash -c "$grass_job" \
        grass-job "$dem" "$level" "$out/grass-$level.tif" "$import"
      # r.lake alone on the prepared maps (plus GRASS's start-up, about 0.2 s).
      t "$(label "$level" grass-rlake)" -- grass "$grassdb/loc/PERMANENT" --exec r.lake --quiet \
        --overwrite elevation=fill water_level="$level" lake=lake seed=seed
    fi
    # Plain bathtub: every cell below W, joined to the sea or not. DEM nodata stays nodata.
    t "$(label "$level" gdalcalc)" -- gdal_calc.py --quiet -A "$dem" --outfile="$out/bathtub-$level.tif" \
      --calc="where(A < $level, $level - A, 0)" --NoDataValue=-9999 --type=Float32 --format=GTiff \
      --co=COMPRESS=DEFLATE --co=PREDICTOR=3 --co=TILED=YES --co=BLOCKXSIZE=512 --co=BLOCKYSIZE=512 \
      --overwrite
  done
done
grep '^grass steps:' "$log" | sed 's/^/  /' >&2 || true

# The floor's parts, on the first level's output (the same encoding work at every level).
first=${levels%% *}
if [[ $floor == 1 && $have_cityrisk == 1 ]]; then
  for l in decode-dem decode-output translate-output; do labels+=("inundation-dem$size-floor-$l"); done
  for _ in $(seq "$runs"); do
    t "inundation-dem$size-floor-decode-dem" -- gdalinfo -checksum "$dem"
    t "inundation-dem$size-floor-decode-output" -- gdalinfo -checksum "$out/cityrisk-$first.tif"
    t "inundation-dem$size-floor-translate-output" -- gdal_translate -q -of COG -co COMPRESS=DEFLATE \
      -co PREDICTOR=YES -co BLOCKSIZE=512 -co OVERVIEWS=IGNORE_EXISTING -co RESAMPLING=AVERAGE \
      -co BIGTIFF=IF_SAFER -co NUM_THREADS=1 "$out/cityrisk-$first.tif" "$out/floor-cog.tif"
  done
fi

# Medians of the last RUNS runs of each label.
median() { sort -g | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); print NR % 2 ? v[m] : (v[m] + v[m + 1]) / 2 }'; }
declare -A wall cpu
echo "medians of $runs runs (wall s, CPU s, peak RSS MiB):"
for l in "${labels[@]}"; do
  last=$(awk -F'\t' -v l="$l" '$2 == l && NF == 7' "$results" | tail -n "$runs")
  wall[$l]=$(cut -f3 <<<"$last" | median)
  cpu[$l]=$(cut -f6 <<<"$last" | median)
  printf '  %-44s %8s %8s %8s\n' "$l" "${wall[$l]}" "${cpu[$l]}" "$(cut -f4 <<<"$last" | median)"
done
if [[ $floor == 1 && $have_cityrisk == 1 ]]; then
  p=inundation-dem$size
  awk -v dd="${cpu[$p-floor-decode-dem]}" -v dout="${cpu[$p-floor-decode-output]}" \
      -v to="${cpu[$p-floor-translate-output]}" -v cores="$(nproc)" \
      -v cr="${wall[$p-w$first-cityrisk]}" -v calc="${wall[$p-w$first-gdalcalc]}" \
      -v crcpu="${cpu[$p-w$first-cityrisk]}" -v calccpu="${cpu[$p-w$first-gdalcalc]}" 'BEGIN {
    encode = to - dout; f = (dd + encode) / cores
    printf "floor: (decode the DEM %.2f + encode the output %.2f) CPU s / %d cores = %.2f s\n", dd, encode, cores, f
    printf "cityrisk at W = %s: %.2f s, %.2fx the floor, %.2fx the gdal_calc.py bathtub (%.2f s)\n", "'"$first"'", cr, cr / f, cr / calc, calc
    # On a loaded machine wall times say little: CPU seconds against the same work.
    printf "CPU: cityrisk %.2f s, %.2fx the floor'"'"'s %.2f s, %.2fx the bathtub'"'"'s %.2f s\n", crcpu, crcpu / (dd + encode), dd + encode, crcpu / calccpu, calccpu }'
fi

# Which cells each output inundates.
{
  echo "bench/inundation.sh $size, $(date -u +%Y-%m-%dT%H:%M:%SZ), GRASS import: $import"
  for level in $levels; do
    connected=()
    [[ $have_cityrisk == 1 ]] && connected+=("cityrisk=$out/cityrisk-$level.tif")
    [[ $grass == 1 ]] && connected+=("r.lake=$out/grass-$level.tif")
    /usr/bin/python3 "$root/bench/compare_flood.py" --dem "$dem" --level "$level" \
      --bathtub "$out/bathtub-$level.tif" "${connected[@]}"
  done
} | tee "$report"
echo "results: $results, comparison: $report" >&2
