#!/usr/bin/env bash
# Inundation of one large DEM in parts (docs/inundation.md "In tiles across machines")
# against one run: wall time and peak memory of every job, and the sizes of the edge files.
#
#   bench/scale.sh SIZE TILES [JOBS] [WORKDIR]
#
# SIZE     DEM width and height in cells (20000 for the 20000 x 20000 figures of docs/scale.md;
#          40000 is made as a VRT of four SIZE/2 DEMs, which must then exist or are made).
# TILES    N of --tile I/N.
# JOBS     parallel -j (default 2).
# WORKDIR  default bench/work/scale-SIZE.
#
# The DEM (Float32, DEFLATE, tiled 512) is generated once: a coast along the left edge, land
# rising eastwards with ridges and 0 .. 2 m of noise, so that every level has many basins. Each
# job runs under /usr/bin/time -v; the table printed at the end has one line per job: its
# name, wall seconds and peak RSS in MB. SINGLE=0 skips the single run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${1:?usage: bench/scale.sh SIZE TILES [JOBS] [WORKDIR]}
tiles=${2:?usage: bench/scale.sh SIZE TILES [JOBS] [WORKDIR]}
jobs=${3:-2}
work=${4:-$root/bench/work/scale-$size}
cityrisk=${CITYRISK:-$root/build/release/cli/cityrisk}
python=${PYTHON:-/usr/bin/python3}
options=(--sea-level 0.5,1,2 --tide 0.5)
mkdir -p "$work/logs"

make_dem() { # SIZE PATH
    "$python" - "$1" "$2" <<'EOF'
import sys
import numpy as np
from osgeo import gdal, osr
size, path = int(sys.argv[1]), sys.argv[2]
ds = gdal.GetDriverByName("GTiff").Create(path + ".part", size, size, 1, gdal.GDT_Float32,
                                          ["COMPRESS=DEFLATE", "TILED=YES", "BLOCKXSIZE=512",
                                           "BLOCKYSIZE=512", "BIGTIFF=YES"])
ds.SetGeoTransform((500000.0, 30.0, 0.0, 8000000.0, 0.0, -30.0))
srs = osr.SpatialReference()
srs.ImportFromEPSG(32736)
ds.SetSpatialRef(srs)
band = ds.GetRasterBand(1)
band.SetNoDataValue(-9999)
rng = np.random.default_rng(22)
x = np.arange(size, dtype=np.float32)
for y0 in range(0, size, 512):
    rows = min(512, size - y0)
    y = np.arange(y0, y0 + rows, dtype=np.float32)[:, None]
    coast = size * 0.05 * (1 + 0.5 * np.sin(y / 700.0))
    z = (x[None, :] - coast) * (40.0 / size) + 1.5 * np.sin(x[None, :] / 90.0) * np.cos(y / 130.0)
    z += rng.uniform(0, 2, (rows, size)).astype(np.float32)
    band.WriteArray(z.astype(np.float32), 0, y0)
ds = None
import os
os.rename(path + ".part", path)
EOF
}

dem=$work/dem.tif
if [[ ! -f $dem ]]; then
    if (( size >= 40000 )); then # four copies of the half-size DEM, side by side
        half=$root/bench/work/scale-$((size / 2))/dem.tif
        [[ -f $half ]] || { mkdir -p "$(dirname "$half")"; make_dem $((size / 2)) "$half"; }
        dem=$work/dem.vrt
        [[ -f $dem ]] || "$python" - "$half" "$dem" <<'EOF'
import sys
from osgeo import gdal
half, out = sys.argv[1], sys.argv[2]
src = gdal.Open(half)
w, h = src.RasterXSize, src.RasterYSize
gt = list(src.GetGeoTransform())
# Four georeferenced VRT copies of the half DEM, moved by one half each, mosaicked.
parts = []
for i, (dx, dy) in enumerate(((0, 0), (1, 0), (0, 1), (1, 1))):
    p = out.replace(".vrt", f"-{i}.vrt")
    v = gdal.Translate(p, src, format="VRT")
    v.SetGeoTransform((gt[0] + dx * w * gt[1], gt[1], 0, gt[3] + dy * h * gt[5], 0, gt[5]))
    v = None
    parts.append(p)
gdal.BuildVRT(out, parts)
EOF
    else
        make_dem "$size" "$dem"
    fi
fi
[[ -f $work/dem.vrt ]] && dem=$work/dem.vrt

timed() { # NAME COMMAND...: runs the command under /usr/bin/time -v into logs/NAME.time
    local name=$1
    shift
    /usr/bin/time -v -o "$work/logs/$name.time" "$@" >"$work/logs/$name.out" 2>&1
}
export -f timed
export work cityrisk

uptime | tee "$work/logs/uptime-start"
if [[ ${SINGLE:-1} == 1 ]]; then
    rm -f "$work/single.tif"
    timed single "$cityrisk" inundation --dem "$dem" "${options[@]}" -o "$work/single.tif" -q
fi
mkdir -p "$work/tiles"
[[ ${RESUME:-0} == 1 ]] || rm -f "$work"/tiles/*
rm -f "$work"/tiles/*.tif "$work/tiles/join.edges"
start=$(date +%s.%N)
seq 1 "$tiles" | while read -r i; do [[ -f $work/tiles/edges-$i.edges ]] || echo "$i"; done | parallel -j "$jobs" timed edges-{} "$cityrisk" inundation --dem "$dem" "${options[@]}" \
    --tile {}/"$tiles" --phase edges -o "$work/tiles/edges-{}.edges" -q
phase1=$(date +%s.%N)
timed join "$cityrisk" inundation --phase join "$work"/tiles/edges-*.edges -o "$work/tiles/join.edges" -q
phase2=$(date +%s.%N)
seq 1 "$tiles" | parallel -j "$jobs" timed depth-{} "$cityrisk" inundation --dem "$dem" "${options[@]}" \
    --tile {}/"$tiles" --phase depth --join "$work/tiles/join.edges" -o "$work/tiles/tile-{}.tif" -q
phase3=$(date +%s.%N)
uptime | tee "$work/logs/uptime-end"

echo "phase wall seconds: edges $(echo "$phase1 - $start" | bc), join $(echo "$phase2 - $phase1" | bc)," \
     "depth $(echo "$phase3 - $phase2" | bc), total $(echo "$phase3 - $start" | bc)"
printf '%-12s %10s %10s\n' job wall_s peak_MB
for f in "$work"/logs/*.time; do
    name=$(basename "$f" .time)
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$f")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$f")
    printf '%-12s %10s %10s\n' "$name" "$wall" "$rss"
done | sort -V
echo "edge files (bytes): $(stat -c %s "$work"/tiles/edges-*.edges | sort -n | tr '\n' ' ')"
echo "join file (bytes): $(stat -c %s "$work/tiles/join.edges")"
