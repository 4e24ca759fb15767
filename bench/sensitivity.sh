#!/usr/bin/env bash
# Benchmark `cityrisk sensitivity`: wall time and peak RSS (bench/timeit.sh, GNU time).
#
#   bench/sensitivity.sh            the sample city (samples/data), 4 factors, N = 1024 base
#                                   samples: 6,144 model runs (the issue's target: under 60 s
#                                   on 2 cores)
#   bench/sensitivity.sh SIZE       also a SIZE x SIZE synthetic grid (10000: 10^8 cells) with
#                                   1,000 zones (bench/gen.sh, bench/score_inputs.sh and
#                                   bench/zonal_zones.py make them once into WORK)
#
# The four factors are those with the costliest runs: weight.sea, method (geometric,
# arithmetic, inform: inform goes cell by cell through cr_score_cell()), arrivals_ref (the
# arrivals indicator recomputed per run) and sea_level (three bands kept in memory).
#
# THREADS   --threads (default 2)
# SAMPLES   base samples of the sample city (default 1024)
# BIG_SAMPLES  base samples of the synthetic grid (default 256: 1,536 runs)
# WORK      the synthetic inputs (default bench/work/SIZE)
# CITYRISK  a cityrisk binary to use as it is; by default the release build, rebuilt first
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${1:-}
threads=${THREADS:-2}
samples=${SAMPLES:-1024}
big_samples=${BIG_SAMPLES:-256}
cityrisk=${CITYRISK:-$root/build/release/cli/cityrisk}
[[ -n ${CITYRISK:-} ]] || cmake --build "$root/build/release" --target cityrisk-cli >/dev/null
data=$root/samples/data
out=$root/bench/work/sensitivity
mkdir -p "$out"

# The sample city's inundation (three scenarios of one SSP) and arrivals, made once.
if [[ ! -f $out/inundation.tif ]]; then
  "$cityrisk" inundation -q --dem "$data/dem.tif" \
    --scenario ssp245-2100-p17,ssp245-2100,ssp245-2100-p83 -o "$out/inundation.tif"
fi
if [[ ! -f $out/arrivals.tif ]]; then
  "$cityrisk" arrivals -q --points "$data/arrivals.csv" --count-field arrivals --grid "$data/dem.tif" \
    --kernel quartic --bandwidth 500 -o "$out/arrivals.tif"
fi
factors=(--factor weight.sea --factor method --factor arrivals_ref
         --factor sea_level=ssp245-2100-p17,ssp245-2100,ssp245-2100-p83)
bash "$root/bench/timeit.sh" "sensitivity-sample-4f-n$samples-t$threads" -- \
  "$cityrisk" sensitivity --zones "$data/neighbourhoods.gpkg" --name-field name \
  --sea "$out/inundation.tif" --scenario ssp245-2100 --water "$data/aqueduct_baseline.gpkg" \
  --informal "$data/informal_settlements.shp" --arrivals "$out/arrivals.tif" --grid "$data/dem.tif" \
  "${factors[@]}" --samples "$samples" --threads "$threads" --overwrite -q \
  -o "$out/sample.geojson" --indices "$out/sample-indices.csv"

[[ -n $size ]] || exit 0
work=${WORK:-$root/bench/work/$size}
bash "$root/bench/gen.sh" "$size" "$work"
bash "$root/bench/score_inputs.sh" "$work" "$cityrisk"
in=$work/score/inputs
zones=$work/sensitivity/zones-1000.gpkg
mkdir -p "$work/sensitivity"
[[ -f $zones ]] || /usr/bin/python3 "$root/bench/zonal_zones.py" 1000 "$zones" "$in/sea.tif"
# One sea band only: the synthetic grid's sea raster has the stress-2m storyline, so sea_level
# is replaced by weight.water.
bash "$root/bench/timeit.sh" "sensitivity-${size}-z1000-4f-n$big_samples-t$threads" -- \
  "$cityrisk" sensitivity --zones "$zones" --sea "$in/sea.tif" --water "$in/water.tif" \
  --informal "$in/informal.tif" --arrivals "$in/arrivals.tif" \
  --factor weight.sea --factor weight.water --factor method --factor arrivals_ref \
  --samples "$big_samples" --threads "$threads" --overwrite -q --json \
  -o "$work/sensitivity/zones.geojson" --indices "$work/sensitivity/indices.csv"
