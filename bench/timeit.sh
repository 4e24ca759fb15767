#!/usr/bin/env bash
# Time one command and record it.
#
#   bench/timeit.sh LABEL -- CMD [ARGS...]
#
# Runs CMD under GNU time (/usr/bin/time, Debian package `time`), then prints one tab-separated
# line and appends it to bench/results/results.tsv (git-ignored; BENCH_RESULTS overrides the
# file): ISO date (UTC), label, wall seconds, peak RSS in MiB, exit code, CPU seconds (user +
# system, children included), the command.
# Exits with the command's exit code, so it can sit in scripts unchanged.
set -euo pipefail

usage() {
    echo "usage: bench/timeit.sh LABEL -- CMD [ARGS...]" >&2
    echo "  e.g. bench/timeit.sh dem-to-cog -- gdal_translate -of COG in.tif out.tif" >&2
    exit 2
}

[[ $# -ge 3 && $2 == -- && -n $1 ]] || usage
label=$1
shift 2
[[ $label != *$'\t'* ]] || { echo "timeit.sh: LABEL must not contain a tab" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "timeit.sh: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
results=${BENCH_RESULTS:-$root/bench/results/results.tsv}
report=$(mktemp)
trap 'rm -f "$report"' EXIT

set +e
/usr/bin/time -v -o "$report" "$@"
status=$?
set -e

# "Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02.53" -> 62.53
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
    n = split($2, p, ":"); s = 0
    for (i = 1; i <= n; i++) s = s * 60 + p[i]
    printf "%.2f", s }' "$report")
rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$report")
cpu=$(awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ { s += $2 } END { printf "%.2f", s }' "$report")
if [[ -z $wall || -z $rss ]]; then
    echo "timeit.sh: could not run '$1'" >&2
    cat "$report" >&2
    exit "$((status == 0 ? 1 : status))"
fi

mkdir -p "$(dirname "$results")"
[[ -s $results ]] || printf 'date\tlabel\twall_s\tpeak_rss_mib\texit\tcpu_s\tcommand\n' >"$results"
line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$label" "$wall" "$rss" \
    "$status" "$cpu" "$(printf '%q ' "$@" | sed 's/ $//')")
echo "$line" | tee -a "$results"
exit "$status"
