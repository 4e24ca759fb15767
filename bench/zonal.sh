#!/usr/bin/env bash
# Benchmark `cityrisk zonal` against GRASS v.rast.stats: count, sum, mean and maximum of four
# rasters over each of N polygon zones, written as one CSV row per zone.
#
#   bench/zonal.sh [SIZE]      (default 10000: four 10000 x 10000 Float32 inputs)
#
# The rasters are bench/score.sh's inputs (sea, water, informal, arrivals: DEFLATE, 256 x 256
# tiles, one 30 m grid), made once by bench/gen.sh and bench/score_inputs.sh. The zones are made
# once per count by bench/zonal_zones.py (irregular polygons of 300 m to 3 km, some with holes,
# some multipart, overlapping, a few partly outside the grid) into WORK/zonal/zones-N.gpkg.
# Every command runs with GDAL_CACHEMAX=64; the contenders take turns, one run each per round:
#
# - cityrisk zonal, all cores and --threads 1: exact (coverage-weighted) statistics, CSV;
# - the same over two rasters (water, informal) with mean, sum and max: issue 23's job, whose
#   reference is exactextract's 5.80 s at 10,000 zones (not run here);
# - GRASS 8.2, the whole job in a throw-away location made from the grid: r.external -r links
#   the four GeoTIFFs (no import, no range computed), v.in.ogr the zones, g.region raster=sea,
#   one v.rast.stats over the four rasters (number, sum, average, maximum; one rasterisation of
#   the zones, cell centres), v.db.select to CSV. v.rast.stats alone is also timed, inside the
#   job (timeit.sh), and the job writes the seconds of its steps to WORK/zonal/grass-steps-zN.txt.
#
# bench/compare_zonal.py then compares the GRASS values with cityrisk's zone by zone. Timings
# (wall, CPU, peak RSS) go to bench/results/results.tsv, the summary and the comparison to
# bench/results/zonal-NAME.txt (NAME: WORK's folder name).
#
# RUNS      runs of each command (default 3)
# PEERS=0   time cityrisk only; the comparison reuses GRASS's output of an earlier run
# ZONES     zone counts (default "1000 10000")
# WORK      the inputs (default bench/work/SIZE), made by bench/gen.sh if missing
# CITYRISK  a cityrisk binary to use as it is; by default the release build, rebuilt first.
#           When it has no `zonal` command yet, only GRASS runs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${1:-10000}
runs=${RUNS:-3}
peers=${PEERS:-1}
zone_counts=${ZONES:-1000 10000}
work=${WORK:-$root/bench/work/$size}
results=${BENCH_RESULTS:-$root/bench/results/results.tsv}
export BENCH_RESULTS=$results # also for the timeit.sh inside the GRASS job
report=$root/bench/results/zonal-$(basename "$work").txt
if [[ $peers == 1 ]] && ! command -v grass >/dev/null; then
  echo "zonal.sh: grass missing (.ci/deps.sh --bench)" >&2
  exit 1
fi

bash "$root/bench/gen.sh" "$size" "$work"
cityrisk=${CITYRISK:-$root/build/release/cli/cityrisk}
[[ -n ${CITYRISK:-} ]] || cmake --build "$root/build/release" --target cityrisk-cli >/dev/null
bash "$root/bench/score_inputs.sh" "$work" "$cityrisk"
have_cityrisk=0
if "$cityrisk" zonal --help >/dev/null 2>&1; then
  have_cityrisk=1
else
  echo "zonal.sh: $cityrisk has no zonal command yet: timing GRASS only" >&2
fi
in=$work/score/inputs
out=$work/zonal
mkdir -p "$out"
export GDAL_CACHEMAX=64
cores=$(nproc)
log=$out/log.txt
: >"$log"

# The zones, made again when the generator changed.
for n in $zone_counts; do
  z=$out/zones-$n.gpkg
  [[ -f $z && ! $root/bench/zonal_zones.py -nt $z ]] && continue
  /usr/bin/python3 "$root/bench/zonal_zones.py" "$n" "$out/zones-$n.tmp.gpkg" "$in/sea.tif"
  mv "$out/zones-$n.tmp.gpkg" "$z"
done

# The GRASS job, in a throw-away location made from the grid (its default region):
#   grass --tmp-location sea.tif --exec bash -c "$grass_job" grass-job IN ZONES OUT STEPS LABEL TIMEIT
# TIMEIT (bench/timeit.sh) times v.rast.stats alone under LABEL; STEPS gets one line of step seconds.
# shellcheck disable=SC2016 # expanded by the inner bash
grass_job='
set -euo pipefail
in=$1 zones=$2 output=$3 steps_file=$4 label=$5 timeit=$6
steps="" last=$(date +%s.%N)
lap() {
  local now
  now=$(date +%s.%N)
  steps+=" $1 $(awk -v a="$last" -v b="$now" "BEGIN { printf \"%.2f\", b - a }")"
  last=$now
}
for r in sea water informal arrivals; do
  r.external -r --quiet input="$in/$r.tif" output="$r"
done
g.region raster=sea
lap r.external
v.in.ogr --quiet input="$zones" layer=zones output=zones
lap v.in.ogr
"$timeit" "$label" -- v.rast.stats --quiet map=zones raster=sea,water,informal,arrivals \
  column_prefix=sea,water,informal,arrivals method=number,sum,average,maximum >/dev/null
lap v.rast.stats
v.db.select map=zones format=csv file="$output" --overwrite
lap export
echo "${steps# }" >>"$steps_file"
'

labels=()
commands=()
# run LABEL -- CMD...: queues CMD under zonal$size-LABEL. The queued commands then run in
# turn, RUNS rounds of one run each, so that a drift in the machine's speed (it shares its
# cores) touches every contender alike.
run() {
  labels+=("zonal$size-$1")
  shift 2
  commands+=("$(printf '%q ' "$@")")
}
run_all() {
  for _ in $(seq "$runs"); do
    for i in "${!labels[@]}"; do
      [[ -n ${commands[$i]} ]] || continue # timed inside another command
      eval "\"\$root/bench/timeit.sh\" \"\${labels[\$i]}\" -- ${commands[$i]}" >/dev/null \
        2>>"$log" && continue
      tail -n 30 "$log" >&2
      echo "zonal.sh: ${labels[$i]} failed (log: $log)" >&2
      exit 1
    done
  done
}

for n in $zone_counts; do
  z=$out/zones-$n.gpkg
  if [[ $have_cityrisk == 1 ]]; then
    cr=("$cityrisk" zonal -q --zones "$z" -r "sea=$in/sea.tif" -r "water=$in/water.tif"
        -r "informal=$in/informal.tif" -r "arrivals=$in/arrivals.tif"
        --stats "count,sum,mean,max" -of CSV --overwrite)
    run "z$n-cityrisk" -- "${cr[@]}" -o "$out/cityrisk-z$n.csv"
    run "z$n-cityrisk-t1" -- "${cr[@]}" --threads 1 -o "$out/cityrisk-t1-z$n.csv"
    # Issue 23's job: two rasters (the two dense ones), mean, sum and max.
    cr2=("$cityrisk" zonal -q --zones "$z" -r "water=$in/water.tif" -r "informal=$in/informal.tif"
         --stats "mean,sum,max" -of CSV --overwrite)
    run "z$n-cityrisk-2r" -- "${cr2[@]}" -o "$out/cityrisk-2r-z$n.csv"
    run "z$n-cityrisk-2r-t1" -- "${cr2[@]}" --threads 1 -o "$out/cityrisk-2r-t1-z$n.csv"
  fi
  if [[ $peers == 1 ]]; then
    : >"$out/grass-steps-z$n.txt"
    run "z$n-grass" -- grass --tmp-location "$in/sea.tif" --exec bash -c "$grass_job" grass-job \
      "$in" "$z" "$out/grass-z$n.csv" "$out/grass-steps-z$n.txt" "zonal$size-z$n-grass-vrast" \
      "$root/bench/timeit.sh"
    labels+=("zonal$size-z$n-grass-vrast")
    commands+=("")
  fi
done

((runs == 0)) || run_all

median() { sort -g | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); print NR % 2 ? v[m] : (v[m] + v[m + 1]) / 2 }'; }
declare -A wall cpu rss
{
  echo "bench/zonal.sh $size, $(date -u +%Y-%m-%dT%H:%M:%SZ), $cores cores, GDAL_CACHEMAX=64," \
    "zones: $zone_counts"
  if ((runs > 0)); then
    echo "medians of $runs runs:   wall s   CPU s   peak RSS MiB"
    for l in "${labels[@]}"; do
      last=$(awk -F'\t' -v l="$l" '$2 == l && NF == 7' "$results" | tail -n "$runs")
      wall[$l]=$(cut -f3 <<<"$last" | median)
      rss[$l]=$(cut -f4 <<<"$last" | median)
      cpu[$l]=$(cut -f6 <<<"$last" | median)
      printf '  %-36s %7s %7s %8s\n' "$l" "${wall[$l]}" "${cpu[$l]}" "${rss[$l]}"
    done
    for n in $zone_counts; do
      p=zonal$size-z$n
      if [[ $peers == 1 ]]; then
        # Medians of the GRASS job's steps, from its last RUNS runs: "name seconds ..." lines.
        steps=$(tail -n "$runs" "$out/grass-steps-z$n.txt")
        read -ra first <<<"$(head -n 1 <<<"$steps")"
        line="GRASS job, $n zones, medians of its steps (s):"
        for ((i = 0; i < ${#first[@]}; i += 2)); do
          line+=" ${first[$i]} $(awk -v i="$((i + 2))" '{ print $i }' <<<"$steps" | median)"
        done
        echo "$line"
      fi
      if [[ $have_cityrisk == 1 && $peers == 1 ]]; then
        awk -v n="$n" -v cr="${wall[$p-cityrisk]}" -v t1="${wall[$p-cityrisk-t1]}" \
            -v g="${wall[$p-grass]}" -v v="${wall[$p-grass-vrast]}" 'BEGIN {
          printf "%s zones: cityrisk %.2f s is %.2fx faster than the GRASS job,", n, cr, g / cr
          printf " %.2fx faster", v / cr
          printf " than v.rast.stats alone; --threads 1: %.2fx, %.2fx\n", g / t1, v / t1 }'
      fi
    done
  fi
  if [[ $size == 10000 ]]; then
    # The issues' references, not run here: exactextract on the same machine class.
    echo "reference (not run): exactextract, mean/sum/max/count of 4 layers over 10,143 zones at" \
      "10000 x 10000, single-threaded: 7.8 s; 2 layers x mean/sum/max: 5.80 s (issue 23's goal:" \
      "cityrisk 2.5x faster, at most 2.3 s wall on 2 cores)"
    if [[ $have_cityrisk == 1 && -n ${wall[zonal$size-z10000-cityrisk]:-} ]]; then
      awk -v cr="${wall[zonal$size-z10000-cityrisk]}" \
          -v t1="${wall[zonal$size-z10000-cityrisk-t1]}" \
          -v cr2="${wall[zonal$size-z10000-cityrisk-2r]}" \
          -v t12="${wall[zonal$size-z10000-cityrisk-2r-t1]}" 'BEGIN {
        printf "10000 zones, 4 layers: cityrisk %.2f s = %.2fx faster than exactextract", cr, 7.8 / cr
        printf "; --threads 1 %.2f s = %.2fx\n", t1, 7.8 / t1
        printf "10000 zones, 2 layers: cityrisk %.2f s = %.2fx faster than exactextract", cr2, 5.8 / cr2
        printf " (goal 2.5x: %s); --threads 1 %.2f s = %.2fx\n", cr2 <= 2.32 ? "met" : "not met",
          t12, 5.8 / t12 }'
    fi
  fi
  echo "GRASS rasterises the zones once (v.to.rast, cell centres): a cell belongs to one zone" \
    "only, so where zones overlap the other zones lose it, and parts thinner than a cell can vanish."
} | tee "$report"

# The values, zone by zone.
for n in $zone_counts; do
  c=$out/cityrisk-z$n.csv g=$out/grass-z$n.csv
  {
    echo
    echo "== $n zones ($out/zones-$n.gpkg)"
    for kind in "" 2r-; do
      all=$out/cityrisk-${kind}z$n.csv one=$out/cityrisk-${kind}t1-z$n.csv
      [[ -f $all && -f $one ]] || continue
      if cmp -s "$all" "$one"; then
        echo "cityrisk ${kind:+(2 rasters) }--threads 1 wrote the same CSV as with all cores"
      else
        echo "cityrisk ${kind:+(2 rasters) }--threads 1 wrote a CSV different from the one with all cores"
      fi
    done
  } | tee -a "$report"
  if [[ -f $c && -f $g ]]; then
    /usr/bin/python3 "$root/bench/compare_zonal.py" "$c" "$g" "$report" "$out/zones-$n.gpkg"
  else
    missing=()
    [[ -f $c ]] || missing+=("$c")
    [[ -f $g ]] || missing+=("$g")
    echo "no comparison: ${missing[*]} missing" | tee -a "$report"
  fi
done
echo "results: $results, summary: $report" >&2
