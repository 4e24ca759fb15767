#!/usr/bin/env bash
# `cityrisk run -j 1` against `-j 2` on a pipeline (default: the sample pipeline), every stage
# run each time (--force), RUNS times each, the two alternating; wall time and peak RSS of
# each run through bench/timeit.sh, then the medians.
#
#   bench/run_jobs.sh [PIPELINE]            # RUNS=3; CITYRISK=/path/to/cityrisk to use that binary
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pipeline=${1:-$root/samples/pipeline.json}
runs=${RUNS:-3}
if [[ -z ${CITYRISK:-} ]]; then
    (cd "$root" && bash .ci/build.sh release >/dev/null)
    CITYRISK=$root/build/release/cli/cityrisk
fi
results=$root/bench/results/run_jobs.tsv
export BENCH_RESULTS=$results GDAL_CACHEMAX=${GDAL_CACHEMAX:-64}
rm -f "$results"
"$CITYRISK" run -q "$pipeline" >/dev/null # inputs in the page cache, folders made
for ((r = 1; r <= runs; r++)); do
    for j in 1 2; do
        "$root/bench/timeit.sh" "run-j$j" -- "$CITYRISK" run -q --force -j "$j" "$pipeline" >/dev/null
    done
done
# medians per label: wall, peak RSS, CPU
awk -F'\t' 'NR > 1 { w[$2] = w[$2] " " $3; m[$2] = m[$2] " " $4; c[$2] = c[$2] " " $6 }
function median(s,   a, n, i, j, t) { n = split(s, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return a[int((n + 1) / 2)] }
END { printf "%-8s %8s %14s %8s\n", "label", "wall_s", "peak_rss_mib", "cpu_s"
      for (l in w) printf "%-8s %8s %14s %8s\n", l, median(w[l]), median(m[l]), median(c[l]) }' "$results" | sort
