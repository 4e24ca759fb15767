#!/usr/bin/env bash
# Benchmark `cityrisk score` against gdal_calc.py evaluating the same arithmetic formula, and
# against the floor: the CPU seconds to decode the four inputs plus to encode the output with
# the same creation options, divided by the cores; for the one score band and for every band.
#
#   bench/score.sh [SIZE]      (default 10000: four 10000 x 10000 Float32 inputs)
#
# The inputs (DEFLATE, 256 x 256 tiles, one grid) are made once by bench/score_inputs.sh from
# the synthetic city of bench/gen.sh. Every command runs with GDAL_CACHEMAX=64 and writes one
# dense score band: cityrisk a COG (DEFLATE, floating-point predictor, 512 tiles, overviews);
# gdal_calc.py its default GeoTIFF, and (it cannot write a COG itself) that GeoTIFF then made a
# COG with cityrisk's creation options by gdal_translate, as a user would. The
# outputs are compared cell by cell. Timings (wall, CPU, peak RSS) go to
# bench/results/results.tsv, the summary to bench/results/score-NAME.txt.
#
# RUNS      runs of each command (default 3)
# PEERS=0   time cityrisk only
# WORK      the inputs (default bench/work/SIZE), made by bench/gen.sh if missing
# CITYRISK  a cityrisk binary to use as it is; by default the release build, rebuilt first
# BASELINE  another cityrisk binary (an earlier build) timed in turn with CITYRISK, one band and
#           every band, as cityrisk-baseline and cityrisk-all-bands-baseline
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${1:-10000}
runs=${RUNS:-3}
peers=${PEERS:-1}
work=${WORK:-$root/bench/work/$size}
results=${BENCH_RESULTS:-$root/bench/results/results.tsv}
report=$root/bench/results/score-$(basename "$work").txt

bash "$root/bench/gen.sh" "$size" "$work"
cityrisk=${CITYRISK:-$root/build/release/cli/cityrisk}
[[ -n ${CITYRISK:-} ]] || cmake --build "$root/build/release" --target cityrisk-cli >/dev/null
bash "$root/bench/score_inputs.sh" "$work" "$cityrisk"
in=$work/score/inputs
out=$work/score/out
mkdir -p "$out"
export GDAL_CACHEMAX=64
cores=$(nproc)
log=$out/log.txt
: >"$log"
labels=()
commands=()
# run LABEL N -- CMD...: queues CMD under score$size-LABEL. The queued commands then run in
# turn, RUNS rounds of one run each, so that a drift in the machine's speed (it shares its
# cores) touches every contender alike.
run() {
  labels+=("score$size-$1 $2")
  shift 3
  commands+=("$(printf '%q ' "$@")")
}
run_all() {
  for _ in $(seq "$runs"); do
    for i in "${!labels[@]}"; do
      read -r label _ <<<"${labels[$i]}"
      eval "\"\$root/bench/timeit.sh\" \"\$label\" -- ${commands[$i]}" >/dev/null 2>>"$log" && continue
      tail -n 30 "$log" >&2
      echo "score.sh: $label failed (log: $log)" >&2
      exit 1
    done
  done
}

# a_ref as cityrisk finds it (the 99th percentile of the cells with arrivals), for the peers.
inputs=(--sea "$in/sea.tif" --water "$in/water.tif" --informal "$in/informal.tif"
        --arrivals "$in/arrivals.tif")
"$cityrisk" score -q "${inputs[@]}" --method arithmetic --bands score --overwrite --json \
  -o "$out/cityrisk.tif" >"$out/cityrisk.json"
aref=$(/usr/bin/python3 -c 'import json, sys; print(repr(json.load(open(sys.argv[1]))["arrivals_ref"]))' \
  "$out/cityrisk.json")

cr=("$cityrisk" score -q "${inputs[@]}" --method arithmetic --bands score --overwrite)
run cityrisk "$runs" -- "${cr[@]}" -o "$out/cityrisk.tif"
run cityrisk-t1 "$runs" -- "${cr[@]}" --threads 1 -o "$out/cityrisk-t1.tif"
run cityrisk-given-aref "$runs" -- "${cr[@]}" --arrivals-ref "$aref" -o "$out/cityrisk-aref.tif"
# Every band (score, class, four indicators), the geometric default: what a user gets.
run cityrisk-all-bands "$runs" -- "$cityrisk" score -q "${inputs[@]}" --overwrite \
  -o "$out/cityrisk-all.tif"
if [[ -n ${BASELINE:-} ]]; then
  run cityrisk-baseline "$runs" -- "$BASELINE" "${cr[@]:1}" -o "$out/baseline.tif"
  run cityrisk-all-bands-baseline "$runs" -- "$BASELINE" score -q "${inputs[@]}" --overwrite \
    -o "$out/baseline-all.tif"
fi

# The same arithmetic formula (SCORING.md, default weights) for gdal_calc.py; its NoData handling
# makes a cell nodata when any input is, as cityrisk's default.
calc="10*(0.3*minimum(1,A/1.0)+0.2*B/5+0.25*C+0.25*minimum(1,log1p(D)/log1p($aref)))"
gdal_calc=(gdal_calc.py --quiet --overwrite -A "$in/sea.tif" -B "$in/water.tif" -C "$in/informal.tif"
           -D "$in/arrivals.tif" --type Float32 --NoDataValue=-9999 --calc "$calc")
if [[ $peers == 1 ]]; then
  run gdal-calc "$runs" -- "${gdal_calc[@]}" --outfile "$out/gdal_calc.tif"
  # shellcheck disable=SC2016 # expanded by the inner bash
  run gdal-calc-cog "$runs" -- bash -c '"${@:3}" --outfile "$1" && gdal_translate -q -of COG \
    -co COMPRESS=DEFLATE -co PREDICTOR=YES -co BLOCKSIZE=512 -co RESAMPLING=AVERAGE \
    -co NUM_THREADS=ALL_CPUS "$1" "$2"' calc-then-cog "$out/gdal_calc_tmp.tif" \
    "$out/gdal_calc_cog.tif" "${gdal_calc[@]}"
  # The floor's parts, in CPU seconds: decoding the four inputs stacked in a VRT, decoding
  # water.tif alone, and translating it to a COG with the same options.
  gdalbuildvrt -q -overwrite -separate "$out/stack.vrt" "$in/sea.tif" "$in/water.tif" \
    "$in/informal.tif" "$in/arrivals.tif"
  run floor-decode-4 "$runs" -- gdalinfo -checksum "$out/stack.vrt"
  run floor-decode-water "$runs" -- gdalinfo -checksum "$in/water.tif"
  run floor-translate-water "$runs" -- gdal_translate -q -of COG -co COMPRESS=DEFLATE \
    -co PREDICTOR=YES -co BLOCKSIZE=512 -co RESAMPLING=AVERAGE -co NUM_THREADS=1 \
    "$in/water.tif" "$out/water_cog.tif"
  # The every-band floor encodes that very output: translated to a COG again (its overviews,
  # which the COG driver copies), minus decoding it. gdalinfo -checksum would decode each
  # pixel-interleaved tile once per band; bench/decode_raster.py decodes it once.
  [[ -f $out/cityrisk-all.tif ]] || "$cityrisk" score -q "${inputs[@]}" -o "$out/cityrisk-all.tif"
  cp "$out/cityrisk-all.tif" "$out/floor-all.tif" # what the runs above overwrite meanwhile
  run floor-decode-all "$runs" -- /usr/bin/python3 "$root/bench/decode_raster.py" "$out/floor-all.tif"
  run floor-translate-all "$runs" -- gdal_translate -q -of COG -co COMPRESS=DEFLATE \
    -co PREDICTOR=YES -co BLOCKSIZE=512 -co RESAMPLING=AVERAGE -co NUM_THREADS=1 \
    "$out/floor-all.tif" "$out/all_cog.tif"
fi

run_all

median() { sort -g | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); print NR % 2 ? v[m] : (v[m] + v[m + 1]) / 2 }'; }
declare -A wall cpu rss
{
  echo "bench/score.sh $size, $(date -u +%Y-%m-%dT%H:%M:%SZ), $cores cores, GDAL_CACHEMAX=64, a_ref $aref"
  echo "medians of $runs runs:   wall s   CPU s   peak RSS MiB"
  for entry in "${labels[@]}"; do
    read -r l n <<<"$entry"
    last=$(awk -F'\t' -v l="$l" '$2 == l && NF == 7' "$results" | tail -n "$n")
    wall[$l]=$(cut -f3 <<<"$last" | median)
    rss[$l]=$(cut -f4 <<<"$last" | median)
    cpu[$l]=$(cut -f6 <<<"$last" | median)
    printf '  %-36s %7s %7s %8s\n' "$l" "${wall[$l]}" "${cpu[$l]}" "${rss[$l]}"
  done
  if [[ $peers == 1 ]]; then
    p=score$size
    awk -v d4="${cpu[$p-floor-decode-4]}" -v dw="${cpu[$p-floor-decode-water]}" \
        -v tw="${cpu[$p-floor-translate-water]}" -v cores="$cores" -v cr="${wall[$p-cityrisk]}" \
        -v calc="${wall[$p-gdal-calc]}" -v calccog="${wall[$p-gdal-calc-cog]}" \
        -v da="${cpu[$p-floor-decode-all]}" -v ta="${cpu[$p-floor-translate-all]}" \
        -v all="${wall[$p-cityrisk-all-bands]}" 'BEGIN {
      encode = tw - dw; floor = (d4 + encode) / cores
      printf "floor: (decode 4 inputs %.2f + encode one band %.2f) CPU s / %d cores = %.2f s\n", d4, encode, cores, floor
      printf "cityrisk %.2f s: %.2fx the floor, %.2fx faster than gdal_calc.py (GeoTIFF), %.2fx faster than gdal_calc.py (COG)\n", cr, cr / floor, calc / cr, calccog / cr
      encode = ta - da; floor = (d4 + encode) / cores
      printf "every-band floor: (decode 4 inputs %.2f + encode every band %.2f) CPU s / %d cores = %.2f s\n", d4, encode, cores, floor
      printf "cityrisk, every band, %.2f s: %.2fx its floor\n", all, all / floor }'
    /usr/bin/python3 "$root/bench/compare_rasters.py" "$out/cityrisk.tif" "$out/gdal_calc.tif"
  fi
} | tee "$report"
