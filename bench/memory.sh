#!/usr/bin/env bash
# Peak RSS of every cityrisk command on generated inputs, under the default memory budget and
# under --max-memory BUDGET: the table of docs/performance.md, "Memory".
#
#   bench/memory.sh SIZE [BUDGET...]        e.g. bench/memory.sh 10000 default 512MB
#
# SIZE 10000 reads bench/work/10000 (bench/gen.sh 10000 and bench/score_inputs.sh outputs; a
# hard-linked copy of shared inputs will do: the script only writes new files, in
# bench/work/memory-SIZE). SIZE 40000 is made of the 10000 inputs as VRTs of 4 x 4 references
# to each raster (bench/work/40000v, made once); its vector inputs (records, zones) stay those
# of 10000, which cover the top-left reference only. BUDGET "default" runs without
# --max-memory (half the RAM). GDAL_CACHEMAX is left unset: the budget sets the cache.
# Prints one tab-separated line per command (size, budget, command, peak RSS MiB, wall s,
# user+sys s, exit code) and appends it to bench/results/memory.tsv.
#
# TAG=before- puts the outputs in memory-SIZE/before-BUDGET (two binaries side by side).
# ONLY="score zonal" runs only those rows (zonal uses score-all-bands' output when there is
# one, map and report zonal's); CITYRISK=/path/to/cityrisk uses that binary.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${1:?usage: bench/memory.sh SIZE [BUDGET...]}
shift
budgets=("$@")
[[ ${#budgets[@]} -gt 0 ]] || budgets=(default)
cityrisk=${CITYRISK:-$root/build/release/cli/cityrisk}
[[ -n ${CITYRISK:-} ]] || cmake --build "$root/build/release" --target cityrisk-cli >/dev/null
unset GDAL_CACHEMAX CITYRISK_MAX_MEMORY
results=$root/bench/results/memory.tsv
mkdir -p "$root/bench/results"

src=$root/bench/work/10000
case $size in
10000) data=$src ;;
40000)
  data=$root/bench/work/40000v
  mkdir -p "$data/score/inputs"
  # Each raster as a VRT of 4 x 4 references to the 10000 one, from its origin.
  for f in dem population settlement water_stress score/inputs/sea score/inputs/water \
           score/inputs/informal score/inputs/arrivals; do
    [[ -f $data/$f.tif ]] || /usr/bin/python3 - "$src/$f.tif" "$data/$f.tif" <<'PY'
import sys
from osgeo import gdal
src, dst = sys.argv[1], sys.argv[2]
ds = gdal.Open(src)
w, h = ds.RasterXSize, ds.RasterYSize
vrt = gdal.GetDriverByName("VRT").Create(dst[:-4] + ".vrt", 4 * w, 4 * h, 0)
vrt.SetGeoTransform(ds.GetGeoTransform())
vrt.SetProjection(ds.GetProjection())
for b in range(1, ds.RasterCount + 1):
    sb = ds.GetRasterBand(b)
    vrt.AddBand(sb.DataType)
    band = vrt.GetRasterBand(b)
    if sb.GetNoDataValue() is not None:
        band.SetNoDataValue(sb.GetNoDataValue())
    band.SetDescription(sb.GetDescription())
    bx, by = sb.GetBlockSize()
    xml = []
    for j in range(4):
        for i in range(4):
            xml.append(
                f"<SimpleSource><SourceFilename relativeToVRT=\"0\">{src}</SourceFilename>"
                f"<SourceBand>{b}</SourceBand><SourceProperties RasterXSize=\"{w}\" RasterYSize=\"{h}\" "
                f"DataType=\"{gdal.GetDataTypeName(sb.DataType)}\" BlockXSize=\"{bx}\" BlockYSize=\"{by}\"/>"
                f"<SrcRect xOff=\"0\" yOff=\"0\" xSize=\"{w}\" ySize=\"{h}\"/>"
                f"<DstRect xOff=\"{i * w}\" yOff=\"{j * h}\" xSize=\"{w}\" ySize=\"{h}\"/></SimpleSource>")
    band.SetMetadata({f"source_{k}": s for k, s in enumerate(xml)}, "vrt_sources")
vrt = None
PY
    [[ -f $data/$f.tif ]] || ln -s "$(basename "$f").vrt" "$data/$f.tif"
  done
  for f in arrivals.csv neighbourhoods.gpkg aqueduct_baseline.gpkg; do
    [[ -e $data/$f ]] || ln -s "$src/$f" "$data/$f"
  done
  [[ -e $data/zonal ]] || ln -s "$src/zonal" "$data/zonal"
  ;;
*) echo "memory.sh: SIZE is 10000 or 40000" >&2; exit 2 ;;
esac
in=$data/score/inputs
zones=$data/zonal/zones-10000.gpkg
zones1000=$data/zonal/zones-1000.gpkg

for budget in "${budgets[@]}"; do
  out=$root/bench/work/memory-$size/${TAG:-}$budget
  rm -rf "$out"
  mkdir -p "$out/run"
  mem=()
  [[ $budget == default ]] || mem=(--max-memory "$budget")
  # measure NAME CMD...: runs CMD under GNU time, prints and records its line.
  measure() {
    local name=$1
    shift
    if [[ -n ${ONLY:-} && " $ONLY " != *" $name "* ]]; then return 0; fi
    local t=$out/$name.time rc=0
    /usr/bin/time -f "%M %e %U %S" -o "$t" "$@" >"$out/$name.stdout" 2>"$out/$name.stderr" || rc=$?
    read -r kib wall user sys < <(tail -n 1 "$t") || true
    local line
    line=$(printf '%s\t%s\t%s\t%.0f\t%.1f\t%.1f\t%s\t%s' "$size" "$budget" "$name" \
      "$(echo "${kib:-0} / 1024" | bc -l)" "${wall:-0}" "$(echo "${user:-0} + ${sys:-0}" | bc -l)" \
      "$rc" "$(uptime | sed 's/.*average: //; s/,.*//')")
    echo "$line"
    echo -e "$(date -u +%FT%TZ)\t$line" >>"$results"
    [[ $rc == 0 ]] || sed 's/^/    /' "$out/$name.stderr" | tail -n 3 >&2
  }
  cr=("$cityrisk")
  measure info "${cr[@]}" info -q "${mem[@]}" "$data/dem.tif"
  measure inundation "${cr[@]}" inundation -q "${mem[@]}" --dem "$data/dem.tif" --scenario stress-2m \
    -o "$out/inundation.tif"
  measure arrivals "${cr[@]}" arrivals -q "${mem[@]}" --points "$data/arrivals.csv" \
    --count-field arrivals --grid "$data/dem.tif" --kernel quartic --bandwidth 500 -o "$out/arrivals.tif"
  inputs=(--sea "$in/sea.tif" --water "$in/water.tif" --informal "$in/informal.tif"
          --arrivals "$in/arrivals.tif")
  measure score "${cr[@]}" score -q "${mem[@]}" "${inputs[@]}" --method arithmetic --bands score \
    -o "$out/score.tif"
  measure score-all-bands "${cr[@]}" score -q "${mem[@]}" "${inputs[@]}" -o "$out/exposure.tif"
  exposure=()
  [[ ! -f $out/exposure.tif ]] || exposure=(--exposure "$out/exposure.tif")
  measure zonal "${cr[@]}" zonal -q "${mem[@]}" --zones "$zones" "${exposure[@]}" "${inputs[@]}" \
    -o "$out/zonal.geojson"
  measure zonal-median "${cr[@]}" zonal -q "${mem[@]}" --zones "$zones1000" -r "sea=$in/sea.tif" \
    -r "water=$in/water.tif" --stats "median,quantile(0.9)" -of CSV -o "$out/zonal-median.csv"
  tiles=()
  for k in 1 2 3 4; do
    [[ -z ${ONLY:-} || " $ONLY " == *" mosaic "* ]] || break
    "$cityrisk" score -q "${inputs[@]}" --method arithmetic --bands score --tile "$k/4" \
      -o "$out/tile_$k.tif"
    tiles+=("$out/tile_$k.tif")
  done
  measure mosaic "${cr[@]}" mosaic -q "${mem[@]}" "${tiles[@]}" -o "$out/mosaic.tif"
  measure map "${cr[@]}" map -q "${mem[@]}" --raster "$out/exposure.tif" --zones "$out/zonal.geojson" \
    -o "$out/map.png"
  measure report "${cr[@]}" report -q "${mem[@]}" --zones "$out/zonal.geojson" \
    --exposure "$out/exposure.tif" -o "$out/report.html"
  measure gather "${cr[@]}" gather -q "${mem[@]}" --by copy -o "$out/sweep.csv" \
    "a=$out/zonal.geojson" "b=$out/zonal.geojson"
  measure sensitivity "${cr[@]}" sensitivity -q "${mem[@]}" --zones "$zones1000" "${inputs[@]}" \
    --factor weight.sea --factor weight.water --factor method --factor arrivals_ref --samples 256 \
    -o "$out/sensitivity.geojson"
  # The sample pipeline's chain at this size: inundation, arrivals, score, zonal, map.
  cat >"$out/run/pipeline.json" <<JSON
{"stages": [
 {"stage": "inundation", "dem": "$data/dem.tif", "scenario": "stress-2m", "output": "inundation.tif"},
 {"stage": "arrivals", "points": "$data/arrivals.csv", "count-field": "arrivals", "grid": "$data/dem.tif",
  "kernel": "quartic", "bandwidth": 500, "output": "arrivals.tif"},
 {"stage": "score", "sea": "inundation.tif", "water": "$in/water.tif", "informal": "$in/informal.tif",
  "arrivals": "arrivals.tif", "output": "exposure.tif"},
 {"stage": "zonal", "zones": "$zones", "exposure": "exposure.tif", "arrivals": "arrivals.tif",
  "sea": "inundation.tif", "water": "$in/water.tif", "output": "zonal.geojson"},
 {"stage": "map", "raster": "exposure.tif", "zones": "zonal.geojson", "output": "map.png"}
]}
JSON
  measure run "${cr[@]}" run -q "${mem[@]}" "$out/run/pipeline.json"
done
