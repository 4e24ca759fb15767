#!/usr/bin/env bash
# The speed table of docs/performance.md: each row's cityrisk command, an earlier build's in turn
# (BASELINE) and the bathtub peer, RUNS rounds with the contenders alternating in each round.
#
#   bench/performance.sh [SIZE]      (default 10000)
#
# The commands are those of bench/inundation.sh (W = 2.0 and its gdal_calc.py bathtub),
# bench/zonal.sh (issue 23's job: two rasters, mean/sum/max, 10,000 zones, all cores and
# --threads 1), bench/score.sh (one arithmetic band, and every band) and bench/arrivals.sh (the
# 500 m quartic kernel of 1 M records); those scripts time the other peers (GRASS,
# gdal_rasterize, gdal_calc.py then gdal_translate) and the floors. Every timing (wall, CPU =
# user + system, peak RSS, load average) is appended to bench/results/performance.tsv; the
# medians per contender are printed at the end, and the outputs of cityrisk and BASELINE are
# compared (gdalinfo -checksum of every band and overview, cmp of the CSVs).
#
# RUNS      rounds (default 3)
# ROWS      which rows (default "inundation zonal score arrivals")
# WORK      the inputs (default bench/work/SIZE), made by bench/gen.sh and bench/score_inputs.sh
# CITYRISK  the binary to time (default: the release build, rebuilt first)
# BASELINE  an earlier cityrisk binary timed in turn (default: none)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${1:-10000}
runs=${RUNS:-3}
rows=${ROWS:-inundation zonal score arrivals}
work=${WORK:-$root/bench/work/$size}
results=$root/bench/results/performance.tsv
[[ -x /usr/bin/time ]] || { echo "performance.sh: /usr/bin/time missing (.ci/deps.sh --bench)" >&2; exit 1; }
export GDAL_CACHEMAX=64

if [[ -z ${CITYRISK:-} ]]; then
  (cd "$root" && cmake --preset release >/dev/null && cmake --build build/release -j "$(nproc)" >/dev/null)
fi
cityrisk=${CITYRISK:-$root/build/release/cli/cityrisk}
bash "$root/bench/gen.sh" "$size" "$work"
bash "$root/bench/score_inputs.sh" "$work" "$cityrisk"
in=$work/score/inputs
zones=$work/zonal/zones-10000.gpkg
if [[ $rows == *zonal* && ! -f $zones ]]; then
  mkdir -p "$work/zonal"
  /usr/bin/python3 "$root/bench/zonal_zones.py" 10000 "$work/zonal/zones-10000.tmp.gpkg" "$in/sea.tif"
  mv "$work/zonal/zones-10000.tmp.gpkg" "$zones"
fi
out=$work/performance
mkdir -p "$out" "$(dirname "$results")"

contenders=(now)
[[ -n ${BASELINE:-} ]] && contenders=(before now)
binary() { [[ $1 == now ]] && echo "$cityrisk" || echo "$BASELINE"; }
has() { [[ " $rows " == *" $1 "* ]]; }

# t LABEL CMD...: times CMD, appends "date label wall cpu rss_mib load" to the results.
t() {
  local label=$1 stamp
  shift
  stamp=$(mktemp)
  if ! /usr/bin/time -f "%e %U %S %M" -o "$stamp" "$@" >/dev/null 2>"$out/stderr.txt"; then
    echo "performance.sh: $label failed:" >&2
    tail -n 5 "$out/stderr.txt" >&2
    exit 1
  fi
  read -r wall user sys rss <"$stamp"
  rm -f "$stamp"
  printf "%s\t%s\t%s\t%.2f\t%d\t%s\n" "$(date -u +%FT%TZ)" "$label" "$wall" \
    "$(echo "$user + $sys" | bc)" "$((rss / 1024))" "$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$results"
}

inputs=(--sea "$in/sea.tif" --water "$in/water.tif" --informal "$in/informal.tif"
        --arrivals "$in/arrivals.tif")
first=$(wc -l <"$results" 2>/dev/null || echo 0)
for _ in $(seq "$runs"); do
  for c in "${contenders[@]}"; do
    bin=$(binary "$c")
    if has inundation; then
      t "$c inundation" "$bin" inundation -q --dem "$work/dem.tif" --sea-level 2 --overwrite \
        -o "$out/inundation-$c.tif"
    fi
    if has zonal; then
      for threads in all 1; do
        opt=()
        [[ $threads == 1 ]] && opt=(--threads 1)
        t "$c zonal threads=$threads" "$bin" zonal -q "${opt[@]}" --zones "$zones" \
          -r water="$in/water.tif" -r informal="$in/informal.tif" --stats mean,sum,max -of CSV \
          --overwrite -o "$out/zonal-$c-$threads.csv"
      done
    fi
    if has score; then
      t "$c score one band" "$bin" score -q "${inputs[@]}" --method arithmetic --bands score \
        --overwrite -o "$out/score-band-$c.tif"
      t "$c score every band" "$bin" score -q "${inputs[@]}" --overwrite -o "$out/score-all-$c.tif"
    fi
    if has arrivals; then
      t "$c arrivals kernel" "$bin" arrivals -q --points "$work/arrivals.csv" --grid "$work/dem.tif" \
        --count-field arrivals --kernel quartic --bandwidth 500 --overwrite -o "$out/arrivals-$c.tif"
    fi
  done
  if has inundation; then
    t "peer gdal_calc.py bathtub" gdal_calc.py --quiet -A "$work/dem.tif" --outfile="$out/bathtub.tif" \
      --calc="where(A < 2.0, 2.0 - A, 0)" --NoDataValue=-9999 --type=Float32 --format=GTiff \
      --co=COMPRESS=DEFLATE --co=PREDICTOR=3 --co=TILED=YES --co=BLOCKXSIZE=512 \
      --co=BLOCKYSIZE=512 --overwrite
  fi
done

echo "medians of $runs (wall s, CPU s, peak RSS MiB):"
tail -n +"$((first + 1))" "$results" | /usr/bin/python3 -c '
import statistics, sys
rows = {}
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    rows.setdefault(f[1], []).append((float(f[2]), float(f[3]), int(f[4])))
for label, r in rows.items():
    print("  %-28s %7.2f %7.2f %6d" % (label, *(statistics.median(x[i] for x in r) for i in range(3))))'

if [[ -n ${BASELINE:-} ]]; then
  same=1
  for f in "$out"/*-now.tif; do
    b=${f%-now.tif}-before.tif
    [[ -f $b ]] || continue
    if ! cmp -s <(gdalinfo -checksum "$f" | grep Checksum) <(gdalinfo -checksum "$b" | grep Checksum); then
      echo "performance.sh: $(basename "$f") differs from the baseline's" >&2
      same=0
    fi
  done
  for f in "$out"/zonal-now-*.csv; do
    [[ -f $f ]] && ! cmp -s "$f" "${f/-now-/-before-}" && { echo "performance.sh: $(basename "$f") differs" >&2; same=0; }
  done
  ((same)) && echo "every output equals the baseline's (checksums of every band and overview, CSVs byte for byte)"
fi
