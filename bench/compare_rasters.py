"""Compares band 1 of two rasters on the same grid, block by block (memory stays flat).

    compare_rasters.py A.tif B.tif

Prints the cells valid in both, those valid in only one, and the largest absolute and relative
difference between the valid ones; exits 1 when the nodata masks differ.
"""
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()


def main(a_path, b_path):
    a, b = gdal.Open(a_path), gdal.Open(b_path)
    ba, bb = a.GetRasterBand(1), b.GetRasterBand(1)
    if (a.RasterXSize, a.RasterYSize) != (b.RasterXSize, b.RasterYSize):
        sys.exit(f"{a_path} and {b_path} differ in size")
    na, nb = ba.GetNoDataValue(), bb.GetNoDataValue()
    both = only = 0
    max_abs = max_rel = 0.0
    rows = 512
    for y in range(0, a.RasterYSize, rows):
        h = min(rows, a.RasterYSize - y)
        va = ba.ReadAsArray(0, y, a.RasterXSize, h).astype(np.float64)
        vb = bb.ReadAsArray(0, y, b.RasterXSize, h).astype(np.float64)
        ma = ~np.isnan(va) & (va != na if na is not None else True)
        mb = ~np.isnan(vb) & (vb != nb if nb is not None else True)
        m = ma & mb
        both += int(m.sum())
        only += int((ma ^ mb).sum())
        if m.any():
            d = np.abs(va[m] - vb[m])
            max_abs = max(max_abs, float(d.max()))
            max_rel = max(max_rel, float((d / np.maximum(np.abs(vb[m]), 1e-12)).max()))
    print(f"compare {a_path} {b_path}: {both} cells valid in both, {only} valid in only one, "
          f"max abs diff {max_abs:.3g}, max rel diff {max_rel:.3g}")
    return 1 if only else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: compare_rasters.py A.tif B.tif")
    sys.exit(main(sys.argv[1], sys.argv[2]))
