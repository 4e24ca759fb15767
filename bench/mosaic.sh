#!/usr/bin/env bash
# `cityrisk mosaic` against GDAL's route (gdalbuildvrt + gdal_translate -of COG) on a generated
# raster cut in tiles, wall time and peak RSS of each (bench/timeit.sh).
#
#   bench/mosaic.sh [SIZE] [TILES] [OUTDIR]
#
# SIZE    width and height of the whole grid in cells, default 20000
# TILES   N of --tile I/N, default 16 (a square number: sqrt(N) x sqrt(N) tiles)
# OUTDIR  default bench/work/mosaic-SIZE (git-ignored); the tiles are kept for reruns
#
# The tiles are one Float32 band each with nodata -9999 (smooth values, a nodata disc), written
# as COGs (DEFLATE, floating-point predictor, 512 blocks) with the marks of tile.h: the windows
# --tile I/N gives (blocks of 512 shared out as evenly as they go). GDAL's route gets the same
# compression (-co COMPRESS=DEFLATE -co PREDICTOR=YES) and both use 2 threads.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${1:-20000}
tiles=${2:-16}
outdir=${3:-$root/bench/work/mosaic-$size}
cityrisk=${CITYRISK:-$root/build/release/cli/cityrisk}
mkdir -p "$outdir/tiles"

if [[ ! -f $outdir/tiles/done ]]; then
    /usr/bin/python3 - "$size" "$tiles" "$outdir/tiles" <<'EOF'
import math, sys
import numpy as np
from osgeo import gdal, osr
size, n, folder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
side = math.isqrt(n)
assert side * side == n, "TILES must be a square number"
blocks = (size + 511) // 512
def share(j):
    b0, b1 = j * blocks // side, (j + 1) * blocks // side
    return b0 * 512, min(b1 * 512, size)
srs = osr.SpatialReference(); srs.ImportFromEPSG(32736)
for i in range(n):
    x0, x1 = share(i % side)
    y0, y1 = share(i // side)
    y, x = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    v = (np.sin(x * 0.0013) * np.cos(y * 0.0021) * 5 + 5).astype(np.float32)
    v[(x - size / 2) ** 2 + (y - size / 3) ** 2 < (size / 8) ** 2] = -9999
    mem = gdal.GetDriverByName("MEM").Create("", x1 - x0, y1 - y0, 1, gdal.GDT_Float32)
    mem.SetGeoTransform((500000 + x0 * 30.0, 30.0, 0, 9000000 - y0 * 30.0, 0, -30.0))
    mem.SetSpatialRef(srs)
    band = mem.GetRasterBand(1)
    band.SetNoDataValue(-9999)
    band.SetDescription("value")
    band.WriteArray(v)
    mem.SetMetadataItem("CITYRISK_TILE", f"{i + 1}/{n}")
    mem.SetMetadataItem("CITYRISK_WINDOW", f"{x0},{y0},{x1 - x0},{y1 - y0}")
    mem.SetMetadataItem("CITYRISK_FULL_SIZE", f"{size},{size}")
    gdal.GetDriverByName("COG").CreateCopy(f"{folder}/tile_{i + 1:03d}.tif", mem, options=[
        "COMPRESS=DEFLATE", "PREDICTOR=YES", "BLOCKSIZE=512", "NUM_THREADS=2"])
    del mem
EOF
    touch "$outdir/tiles/done"
fi

cd "$outdir"
rm -f mosaic.tif gdal.vrt gdal.tif
"$root/bench/timeit.sh" "mosaic $size/$tiles" -- "$cityrisk" mosaic -q --threads 2 tiles/tile_*.tif -o mosaic.tif
"$root/bench/timeit.sh" "gdalbuildvrt $size/$tiles" -- gdalbuildvrt -q gdal.vrt tiles/tile_*.tif
"$root/bench/timeit.sh" "gdal_translate COG $size/$tiles" -- gdal_translate -q -of COG -co COMPRESS=DEFLATE \
    -co PREDICTOR=YES -co NUM_THREADS=2 gdal.vrt gdal.tif
gdalinfo -checksum mosaic.tif | grep -E "Checksum=" | head -1
gdalinfo -checksum gdal.tif | grep -E "Checksum=" | head -1
ls -l mosaic.tif gdal.tif
