#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the sample pipeline on
# the sample city (samples/data). Outputs go to build/sample-run/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps.sh
bash .ci/build.sh release >/dev/null
cityrisk=build/release/cli/cityrisk
out=build/sample-run # where samples/pipeline.json writes (run makes the folder)
inputs=(samples/data/dem.tif samples/data/aqueduct_baseline.gpkg samples/data/informal_settlements.shp
        samples/data/population.tif samples/data/arrivals.csv samples/data/arrivals_by_neighbourhood.csv
        samples/data/neighbourhoods.gpkg)

# The stages of samples/pipeline.json: inundation under four IPCC AR6 scenarios; arrivals per
# 30 m cell from the records (500 m quartic kernel) and from the per-neighbourhood table (spread
# by population); the exposure score and the neighbourhoods' exposure for each scenario and two
# weight sets (defaults and equal), with Aqueduct's basin polygons and the informal-settlement
# outlines; a map; the sweep gathered into one table (sweep.csv, sweep.geojson) and into one
# HTML report (report.html); each raster
# and zonal output with its QGIS style. Stages already up to date are skipped; run makes the
# output folder.
summary=$("$cityrisk" run -q -j 2 samples/pipeline.json --json) # the folder exists once run has started
printf '%s\n' "$summary" > "$out/run.json"

# Then: describe every input and check that they overlay.
"$cityrisk" info -q "${inputs[@]}" > "$out/info.txt"
"$cityrisk" info -q --json "${inputs[@]}" > "$out/info.json"

echo "sample pipeline done; outputs:"
for f in "$out"/info.txt "$out"/info.json "$out"/run.json "$out"/inundation.tif \
         "$out"/arrivals.tif "$out"/arrivals-rejected.csv \
         "$out"/arrivals-registered.tif "$out"/arrivals-registered-rejected.csv "$out"/exposure-*.tif \
         "$out"/neighbourhoods-*.geojson "$out"/map.png "$out"/sweep.csv "$out"/sweep.geojson \
         "$out"/*.qml; do
  echo "  $f"
done
echo "the report (open it in a browser): $out/report.html"
