#!/usr/bin/env bash
# Benchmark `cityrisk report`: wall time, peak RSS (bench/timeit.sh) and the report's size.
#
#   bench/report.sh          the sample city: the report stage of samples/pipeline.json (60
#                            zones, 8 views, 8 exposure images, sensitivity) on the outputs in
#                            build/sample-run (bash samples/run.sh makes them)
#                            and 10,000 zones (a 100 x 100 grid, bench/report_zones.py) with
#                            1 view and with 8 views, no rasters
#
# CITYRISK  a cityrisk binary to use as it is; by default the release build, rebuilt first
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cityrisk=${CITYRISK:-$root/build/release/cli/cityrisk}
[[ -n ${CITYRISK:-} ]] || cmake --build "$root/build/release" --target cityrisk-cli >/dev/null
run=$root/build/sample-run
out=$root/bench/work/report
mkdir -p "$out"
[[ -f $run/sensitivity.geojson ]] || { echo "bench/report.sh: run bash samples/run.sh first" >&2; exit 1; }

size() { stat -c %s "$1"; }

views=() exposure=()
for s in ssp245-2050 ssp245-2100 ssp585-2100-p83 stress-2m; do
  for w in default equal; do
    views+=(--zones "$s;$w=$run/neighbourhoods-$s-$w.geojson")
    exposure+=(--exposure "$s;$w=$run/exposure-$s-$w.tif")
  done
done
"$root/bench/timeit.sh" report-sample -- "$cityrisk" report -q --overwrite --by scenario,weights "${views[@]}" \
    "${exposure[@]}" --sensitivity "$run/sensitivity.geojson" --inundation "$run/inundation.tif" \
    --city "Port Azul" -o "$out/sample.html"
echo "sample city: $(size "$out/sample.html") bytes"

[[ -f $out/zones/zones-7.geojson ]] || python3 "$root/bench/report_zones.py" "$out/zones" 100 8
"$root/bench/timeit.sh" report-10000-1view -- "$cityrisk" report -q --overwrite \
    --zones "$out/zones/zones-0.geojson" -o "$out/z10000-1.html"
echo "10,000 zones, 1 view: $(size "$out/z10000-1.html") bytes"
many=()
for v in 0 1 2 3 4 5 6 7; do many+=(--zones "v$v=$out/zones/zones-$v.geojson"); done
"$root/bench/timeit.sh" report-10000-8views -- "$cityrisk" report -q --overwrite --by view "${many[@]}" \
    -o "$out/z10000-8.html"
echo "10,000 zones, 8 views: $(size "$out/z10000-8.html") bytes"
