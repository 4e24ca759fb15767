#!/usr/bin/env bash
# Benchmark `cityrisk arrivals --areas` (counts per area spread by exact area share) against the
# route users take without it: gdal_rasterize of the area ids, the cells per area counted, the
# counts and the cells per area rasterized, and gdal_calc.py dividing one by the other.
#
#   bench/areas.sh [SIZE] [AREAS]   (default 10000 and 10000: 10,000 areas on 10000 x 10000 cells)
#
# The areas are the quadrilaterals of a jittered SQRT(AREAS) x SQRT(AREAS) lattice (they tile the
# grid's extent exactly, with edges that cross cells), each with a count, in WORK/areas.gpkg
# (EPSG:32736, 30 m cells). Timings are appended to bench/results/results.tsv; the comparison of
# the two outputs (totals, per-area totals, cells) is printed and written to
# bench/results/areas-SIZE.txt.
#
# RUNS      runs of each command (default 1)
# WORK      where the inputs and outputs go (default bench/work/areas-SIZE)
# CITYRISK  a cityrisk binary to use as it is; by default the release build, rebuilt first
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${1:-10000}
nareas=${2:-10000}
runs=${RUNS:-1}
work=${WORK:-$root/bench/work/areas-$size}
report=$root/bench/results/areas-$size.txt
cityrisk=${CITYRISK:-$root/build/release/cli/cityrisk}
[[ -n ${CITYRISK:-} ]] || cmake --build "$root/build/release" --target cityrisk-cli >/dev/null
mkdir -p "$work" "$root/bench/results"
export GDAL_CACHEMAX=64
res=30
xmin=600000
ymax=7800000
xmax=$((xmin + size * res))
ymin=$((ymax - size * res))
areas=$work/areas.gpkg

if [[ ! -f $areas ]]; then
  /usr/bin/python3 - "$areas" "$xmin" "$ymin" "$xmax" "$ymax" "$nareas" <<'EOF'
import math, random, sys
from osgeo import ogr, osr
path, xmin, ymin, xmax, ymax, n = sys.argv[1], *map(float, sys.argv[2:6]), int(sys.argv[6])
side = int(round(math.sqrt(n)))
rng = random.Random(18)
dx, dy = (xmax - xmin) / side, (ymax - ymin) / side
# lattice points, jittered inside (not on the border)
pts = [[(xmin + i * dx + (rng.uniform(-0.3, 0.3) * dx if 0 < i < side else 0),
         ymin + j * dy + (rng.uniform(-0.3, 0.3) * dy if 0 < j < side else 0))
        for j in range(side + 1)] for i in range(side + 1)]
srs = osr.SpatialReference()
srs.ImportFromEPSG(32736)
ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
layer = ds.CreateLayer("areas", srs, ogr.wkbPolygon)
for name, kind in [("id", ogr.OFTInteger), ("code", ogr.OFTString), ("count", ogr.OFTInteger),
                   ("ncells", ogr.OFTInteger)]:
    layer.CreateField(ogr.FieldDefn(name, kind))
layer.StartTransaction()
k = 0
for i in range(side):
    for j in range(side):
        k += 1
        ring = [pts[i][j], pts[i + 1][j], pts[i + 1][j + 1], pts[i][j + 1], pts[i][j]]
        f = ogr.Feature(layer.GetLayerDefn())
        f.SetField("id", k)
        f.SetField("code", f"A{k:05d}")
        f.SetField("count", rng.randint(1, 10000))
        f.SetGeometry(ogr.CreateGeometryFromWkt(
            "POLYGON ((" + ", ".join(f"{x:.3f} {y:.3f}" for x, y in ring) + "))"))
        layer.CreateFeature(f)
layer.CommitTransaction()
EOF
fi

te=(-te "$xmin" "$ymin" "$xmax" "$ymax" -tr "$res" "$res")
co=(-co TILED=YES -co COMPRESS=DEFLATE)
for _ in $(seq "$runs"); do
  "$root/bench/timeit.sh" "areas$size-cityrisk" -- "$cityrisk" arrivals -q --areas "$areas" \
    --count-field count --bounds "$xmin,$ymin,$xmax,$ymax" --resolution "$res" --crs EPSG:32736 \
    -o "$work/cityrisk.tif" --overwrite
  # The peer route, step by step.
  rm -f "$work"/ids.tif "$work"/counts.tif "$work"/ncells.tif "$work"/peer.tif
  "$root/bench/timeit.sh" "areas$size-peer-rasterize-ids" -- gdal_rasterize -q -a id -ot Int32 \
    -init 0 "${te[@]}" "${co[@]}" "$areas" "$work/ids.tif"
  "$root/bench/timeit.sh" "areas$size-peer-count-cells" -- /usr/bin/python3 -c '
import sys
import numpy as np
from osgeo import gdal, ogr
ds = gdal.Open(sys.argv[1]); band = ds.GetRasterBand(1)
counts = np.zeros(1, np.int64)
for y in range(0, ds.RasterYSize, 512):
    ids = band.ReadAsArray(0, y, ds.RasterXSize, min(512, ds.RasterYSize - y)).ravel()
    c = np.bincount(ids)
    if len(c) > len(counts):
        counts = np.pad(counts, (0, len(c) - len(counts)))
    counts[:len(c)] += c
v = ogr.Open(sys.argv[2], 1); layer = v.GetLayer(0)
layer.StartTransaction()
for f in layer:
    i = f.GetField("id")
    f.SetField("ncells", int(counts[i]) if i < len(counts) else 0)
    layer.SetFeature(f)
layer.CommitTransaction()' "$work/ids.tif" "$areas"
  "$root/bench/timeit.sh" "areas$size-peer-rasterize-counts" -- gdal_rasterize -q -a count \
    -ot Float32 -init 0 "${te[@]}" "${co[@]}" "$areas" "$work/counts.tif"
  "$root/bench/timeit.sh" "areas$size-peer-rasterize-ncells" -- gdal_rasterize -q -a ncells \
    -ot Float32 -init 0 "${te[@]}" "${co[@]}" "$areas" "$work/ncells.tif"
  "$root/bench/timeit.sh" "areas$size-peer-calc" -- gdal_calc.py --quiet -A "$work/counts.tif" \
    -B "$work/ncells.tif" --calc="where(B > 0, A / maximum(B, 1), 0)" --type Float32 \
    --co TILED=YES --co COMPRESS=DEFLATE --outfile "$work/peer.tif" --overwrite
done

/usr/bin/python3 - "$areas" "$work/cityrisk.tif" "$work/peer.tif" "$work/ids.tif" <<'EOF' | tee "$report"
import sys
import numpy as np
from osgeo import gdal, ogr
areas, ours, peer, ids = sys.argv[1:5]
vector = ogr.Open(areas)
counts = {f.GetField("id"): f.GetField("count") for f in vector.GetLayer(0)}
total = sum(counts.values())
a, b, i = gdal.Open(ours), gdal.Open(peer), gdal.Open(ids)
sa = sb = 0.0
per_a = np.zeros(max(counts) + 1)
per_b = np.zeros(max(counts) + 1)
diff = 0.0
for y in range(0, a.RasterYSize, 512):
    h = min(512, a.RasterYSize - y)
    va = a.GetRasterBand(1).ReadAsArray(0, y, a.RasterXSize, h).astype(np.float64)
    vb = b.GetRasterBand(1).ReadAsArray(0, y, a.RasterXSize, h).astype(np.float64)
    vi = i.GetRasterBand(1).ReadAsArray(0, y, a.RasterXSize, h)
    sa += va.sum(); sb += vb.sum()
    per_a += np.bincount(vi.ravel(), va.ravel(), len(per_a))
    per_b += np.bincount(vi.ravel(), vb.ravel(), len(per_b))
    diff += np.abs(va - vb).sum()
rel = lambda x: abs(x - total) / total
moved = sum(abs(per_a[k] - c) for k, c in counts.items()) / 2 / total
err_b = max(abs(per_b[k] - c) / c for k, c in counts.items())
print(f"areas: {len(counts)}, counts: {total}")
print(f"total: cityrisk {sa:.6f} (rel. error {rel(sa):.2e}), peer {sb:.6f} (rel. error {rel(sb):.2e})")
print(f"per area over the cells whose centre it holds (gdal_rasterize's ids): peer largest "
      f"relative error {err_b:.2e}; cityrisk splits boundary cells by exact coverage, and "
      f"{100 * moved:.3f} % of the arrivals lie in cells whose centre is in a neighbouring area")
print(f"cells: mean |cityrisk - peer| / mean cell = {diff / max(sa, 1e-300):.3e}")
EOF
