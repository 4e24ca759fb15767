#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the sample pipeline on
# the sample city (samples/data). Outputs go to build/sample-run/ (or $1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps.sh
bash .ci/build.sh release >/dev/null
cityrisk=build/release/cli/cityrisk
out="${1:-build/sample-run}"
mkdir -p "$out"
inputs=(samples/data/dem.tif samples/data/settlement.tif samples/data/water_stress.tif
        samples/data/population.tif samples/data/arrivals.csv samples/data/neighbourhoods.gpkg)

# Stage 1: describe every input and check that they overlay.
"$cityrisk" info -q "${inputs[@]}" > "$out/info.txt"
"$cityrisk" info -q --json "${inputs[@]}" > "$out/info.json"

# Stage 2: sea-level inundation, one band per IPCC AR6 scenario, connected to the sea.
"$cityrisk" inundation -q --overwrite --dem samples/data/dem.tif \
  --scenario ssp245-2050,ssp245-2100,ssp585-2100-p83,stress-2m \
  -o "$out/inundation.tif" --json > "$out/inundation.json"

# Stage 3: arrivals per 30 m cell on the DEM's grid, spread by a 500 m quartic kernel; every
# rejected record (none in the sample) would be listed in arrivals-rejected.csv.
"$cityrisk" arrivals -q --overwrite --points samples/data/arrivals.csv --count-field arrivals \
  --date-field date --grid samples/data/dem.tif --kernel quartic --bandwidth 500 \
  --report "$out/arrivals-rejected.csv" -o "$out/arrivals.tif" --json > "$out/arrivals.json"

# Stage 4: the composite exposure score 0-10 and its INFORM class per 30 m cell under SSP2-4.5 in
# 2100, with the four normalised indicators and the water-stress uplift the arrivals bring.
"$cityrisk" score -q --overwrite --sea "$out/inundation.tif" --scenario ssp245-2100 \
  --water samples/data/water_stress.tif --informal samples/data/settlement.tif \
  --arrivals "$out/arrivals.tif" --population samples/data/population.tif \
  --grid samples/data/dem.tif -o "$out/exposure.tif" --json > "$out/exposure.json"

# Stage 5: per neighbourhood, the exposed arrivals under every scenario of stage 2 and the score
# statistics, each cell weighted by the exact share of it inside the neighbourhood.
"$cityrisk" zonal -q --overwrite --zones samples/data/neighbourhoods.gpkg \
  --id-field nbhd_id --name-field name --exposure "$out/exposure.tif" \
  --arrivals "$out/arrivals.tif" --sea "$out/inundation.tif" \
  --water samples/data/water_stress.tif --informal samples/data/settlement.tif \
  --population samples/data/population.tif \
  -o "$out/neighbourhoods.geojson" --json > "$out/neighbourhoods.json"

echo "sample pipeline done; outputs:"
for f in "$out"/info.txt "$out"/info.json "$out"/inundation.tif "$out"/inundation.json \
         "$out"/arrivals.tif "$out"/arrivals.json "$out"/arrivals-rejected.csv \
         "$out"/exposure.tif "$out"/exposure.json "$out"/neighbourhoods.geojson \
         "$out"/neighbourhoods.json; do
  echo "  $f"
done
