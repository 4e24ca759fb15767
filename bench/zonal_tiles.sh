#!/usr/bin/env bash
# Benchmark `cityrisk zonal` split into tiles against one run: bench/zonal.sh's job (count, sum,
# mean and max of four 10000 x 10000 rasters over 10,143 zones, CSV), as --tile I/N --partial
# jobs run by GNU parallel, then one --merge job.
#
#   bench/zonal_tiles.sh [SIZE]      (default 10000)
#
# Inputs are bench/zonal.sh's (WORK/score/inputs, WORK/zonal/zones-N.gpkg), made by it first
# when missing (RUNS=0 PEERS=0: no timing, no GRASS). Each round runs, one after the other:
#
# - the single run, all cores (GDAL_CACHEMAX=64, as bench/zonal.sh);
# - TILES part jobs (--tile I/TILES --partial) under `parallel -j JOBS`, each with
#   --threads THREADS (default: the cores shared out among the jobs), the step's wall timed
#   around parallel, each job's wall and peak RSS by bench/timeit.sh;
# - the merge (--merge PART... -o merged.csv).
#
# The merged CSV must be the single run's byte for byte (cmp): the script fails otherwise.
# Timings go to bench/results/results.tsv (labels zonal-tilesSIZE-*), the summary to
# bench/results/zonal_tiles-NAME.txt (NAME: WORK's folder name).
#
# RUNS      rounds (default 3)
# TILES     parts (default 4)
# JOBS      parallel jobs (default 2)
# ZONES     zone count (default 10000)
# WORK      the inputs (default bench/work/SIZE)
# CITYRISK  a cityrisk binary to use as it is; by default the release build, rebuilt first.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${1:-10000}
runs=${RUNS:-3}
tiles=${TILES:-4}
jobs=${JOBS:-2}
n=${ZONES:-10000}
work=${WORK:-$root/bench/work/$size}
results=${BENCH_RESULTS:-$root/bench/results/results.tsv}
export BENCH_RESULTS=$results
cityrisk=${CITYRISK:-$root/build/release/cli/cityrisk}
[[ -n ${CITYRISK:-} ]] || cmake --build "$root/build/release" --target cityrisk-cli >/dev/null
command -v parallel >/dev/null || { echo "zonal_tiles.sh: GNU parallel missing" >&2; exit 1; }
in=$work/score/inputs
zones=$work/zonal/zones-$n.gpkg
if [[ ! -f $zones || ! -f $in/arrivals.tif ]]; then
  RUNS=0 PEERS=0 ZONES=$n WORK=$work CITYRISK=$cityrisk bash "$root/bench/zonal.sh" "$size" >/dev/null
fi
out=$work/zonal-tiles
mkdir -p "$out"
export GDAL_CACHEMAX=64
cores=$(nproc)
threads=${THREADS:-$(((cores + jobs - 1) / jobs))}
report=$root/bench/results/zonal_tiles-$(basename "$work").txt
label=zonal-tiles$size-z$n
cr=("$cityrisk" zonal -q --zones "$zones" -r "sea=$in/sea.tif" -r "water=$in/water.tif"
    -r "informal=$in/informal.tif" -r "arrivals=$in/arrivals.tif" --stats "count,sum,mean,max"
    --overwrite)
parts=()
for i in $(seq "$tiles"); do parts+=("$out/part$i.json"); done

steps=$out/steps.tsv # round, wall of the parallel step
: >"$steps"
for round in $(seq "$runs"); do
  "$root/bench/timeit.sh" "$label-single" -- "${cr[@]}" -of CSV -o "$out/single.csv" >/dev/null
  start=$(date +%s.%N)
  for i in $(seq "$tiles"); do
    printf '%q ' "$root/bench/timeit.sh" "$label-part$i-of$tiles" -- "${cr[@]}" --threads "$threads" \
      --tile "$i/$tiles" --partial -o "$out/part$i.json"
    echo
  done | parallel -j "$jobs" >/dev/null
  end=$(date +%s.%N)
  awk -v r="$round" -v a="$start" -v b="$end" 'BEGIN { printf "%s\t%.2f\n", r, b - a }' >>"$steps"
  "$root/bench/timeit.sh" "$label-merge$tiles" -- "$cityrisk" zonal -q --merge "${parts[@]}" \
    -of CSV -o "$out/merged.csv" --overwrite >/dev/null
  cmp "$out/single.csv" "$out/merged.csv" || { echo "zonal_tiles.sh: the merge differs" >&2; exit 1; }
done

median() { sort -g | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); print NR % 2 ? v[m] : (v[m] + v[m + 1]) / 2 }'; }
# The median of a label's last RUNS lines: column 3 wall, 4 peak RSS MiB, 6 CPU.
med() { awk -F'\t' -v l="$1" '$2 == l && NF == 7' "$results" | tail -n "$runs" | cut -f"$2" | median; }
{
  echo "bench/zonal_tiles.sh $size, $(date -u +%Y-%m-%dT%H:%M:%SZ), $cores cores, GDAL_CACHEMAX=64," \
    "$n zones, $tiles tiles, parallel -j $jobs, --threads $threads per part; medians of $runs runs"
  printf '  %-34s %8s %8s %12s\n' "" "wall s" "CPU s" "peak RSS MiB"
  printf '  %-34s %8s %8s %12s\n' "single run (all cores)" "$(med "$label-single" 3)" \
    "$(med "$label-single" 6)" "$(med "$label-single" 4)"
  for i in $(seq "$tiles"); do
    l=$label-part$i-of$tiles
    printf '  %-34s %8s %8s %12s   part file %s bytes\n' "part $i/$tiles" "$(med "$l" 3)" \
      "$(med "$l" 6)" "$(med "$l" 4)" "$(stat -c %s "$out/part$i.json")"
  done
  printf '  %-34s %8s\n' "the $tiles parts under parallel -j $jobs" "$(cut -f2 "$steps" | median)"
  printf '  %-34s %8s %8s %12s\n' "merge" "$(med "$label-merge$tiles" 3)" \
    "$(med "$label-merge$tiles" 6)" "$(med "$label-merge$tiles" 4)"
  awk -v p="$(cut -f2 "$steps" | median)" -v m="$(med "$label-merge$tiles" 3)" \
      -v s="$(med "$label-single" 3)" 'BEGIN {
    printf "  parts + merge: %.2f s against %.2f s for the single run (%.2fx)\n", p + m, s, (p + m) / s }'
  echo "  the merged CSV is the single run's, byte for byte (cmp), in every round"
} | tee "$report"
echo "results: $results, summary: $report" >&2
