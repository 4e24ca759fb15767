#!/usr/bin/python3
"""Decode every tile of a raster once, all bands together, full resolution and overviews.

    bench/decode_raster.py FILE

The CPU seconds this takes (under bench/timeit.sh) are the decode part of a floor that
translates FILE: `gdalinfo -checksum` reads band after band, so a tile of a pixel-interleaved
raster of N bands (a COG's) is decoded N times once the block cache is smaller than the
raster. Prints the levels and tiles read."""
import sys

from osgeo import gdal

gdal.UseExceptions()


def decode(path, level):
    options = [] if level < 0 else ["OVERVIEW_LEVEL=%d" % level]
    ds = gdal.OpenEx(path, gdal.OF_RASTER, open_options=options)
    bw, bh = ds.GetRasterBand(1).GetBlockSize()
    tiles = 0
    for y in range(0, ds.RasterYSize, bh):
        for x in range(0, ds.RasterXSize, bw):
            ds.ReadRaster(x, y, min(bw, ds.RasterXSize - x), min(bh, ds.RasterYSize - y))
            tiles += 1
    return tiles


def main():
    path = sys.argv[1]
    ds = gdal.Open(path)  # kept: a band outlives no dataset in GDAL's bindings
    levels = ds.GetRasterBand(1).GetOverviewCount()
    tiles = sum(decode(path, level) for level in range(-1, levels))
    print("%s: %d levels, %d tiles of all bands decoded once" % (path, levels + 1, tiles))


if __name__ == "__main__":
    main()
