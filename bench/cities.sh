#!/usr/bin/env bash
# Many cities on an engine: the sample pipeline swept over N cities (bench/cities.py), planned
# (--plan, --emit jobs|snakemake|slurm, Snakemake's dry run), then run level by level with GNU
# parallel -j J, every job under GNU time: wall, peak RSS per command, disk per city.
#
#   bench/cities.sh [N [RUN [J]]]     # N=100 cities planned, RUN=4 of them run, J=2 jobs at once
#
# CITYRISK=/path/to/cityrisk to use that binary (default build/release/cli/cityrisk).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-100} runs=${2:-4} jobs=${3:-2}
cityrisk=${CITYRISK:-$root/build/release/cli/cityrisk}
work=$root/bench/work/cities
rm -rf "$work"
mkdir -p "$work"
export PATH=$(dirname "$cityrisk"):$PATH GDAL_CACHEMAX=${GDAL_CACHEMAX:-64}
t() { /usr/bin/time -f "%e s, peak %M KB" "$@"; }

python3 "$root/bench/cities.py" "$n" "$work/plan" >/dev/null
cd "$work/plan"
echo "== $n cities: the plan"
echo -n "stages: "; cityrisk run cities.json --plan --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["stages"]; print(len(s), "in", max(x["level"] for x in s), "levels")'
for e in jobs snakemake slurm; do echo -n "--emit $e: "; t cityrisk run cities.json --emit "$e" -o "emit.$e" 2>&1; done
mkdir snake && (cd snake && echo -n "snakemake -n (the DAG of every rule): " && t snakemake -n -q -s ../emit.snakemake --cores 2 2>&1 >/dev/null | tail -1)

echo "== $runs cities run: GNU parallel -j $jobs, level by level"
python3 "$root/bench/cities.py" "$runs" "$work/run" >/dev/null
cd "$work/run"
cityrisk run cities.json --emit jobs -o jobs.txt
awk '/^# level/ {n++; next} !/^#/ {print > sprintf("level-%03d.txt", n)}' jobs.txt
start=$(date +%s.%N)
for f in level-*.txt; do
    sed 's|^|/usr/bin/time -a -o '"$work"'/run/times.txt -f "%e %M %C" |' "$f" | parallel --will-cite -j "$jobs" --halt now,fail=1
done
end=$(date +%s.%N)
echo "wall: $(echo "$end - $start" | bc) s for $runs cities ($(wc -l < times.txt) jobs)"
echo "peak RSS per command (MB, the largest job), wall per job (s, the longest):"
awk '{ cmd = $7; gsub(/\047/, "", cmd); sub(/[-[].*/, "", cmd); if ($2 > rss[cmd]) rss[cmd] = $2; if ($1 > wall[cmd]) wall[cmd] = $1 }
     END { for (c in rss) printf "  %-12s %6.0f MB %7.2f s\n", c, rss[c] / 1024, wall[c] }' times.txt | sort
echo "disk per city: $(du -sh out/c001 | cut -f1); the state: $(du -sh out/c001/.cityrisk 2>/dev/null | cut -f1)"
uptime
