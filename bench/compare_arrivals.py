#!/usr/bin/python3
"""Compare arrivals rasters made from one CSV of point records on one grid.

    bench/compare_arrivals.py --csv FILE --grid REF.tif [--counts LABEL=FILE ...]
        [--kernel-weighted LABEL=FILE ...] [--kernel-records LABEL=FILE ...]

The CSV (header row, an optional HXL hashtag row, lon/lat in WGS 84) is the truth: each record is
projected to the grid's CRS and its cell found, which gives the total inside the grid and, for
--counts, the exact raster every count output must equal (each record's count in the cell holding
it). --kernel-weighted rasters spread each record's count, --kernel-records ones count each record
as 1 (GRASS v.kernel has no weight column); their sums are compared with the matching total inside
the grid. Within each group, every raster after the first is compared with the first one cell by
cell: largest difference, cells differing by more than --tolerance, the correlation over all cells
and over the cells where either is non-zero.

Reads strips of whole rows (512 by default). Needs numpy and the GDAL Python bindings (Debian:
python3-gdal; the system /usr/bin/python3).
"""
import argparse
import csv
import math
import sys

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()


def labelled(text):
    label, sep, path = text.partition("=")
    if not sep or not label or not path:
        raise argparse.ArgumentTypeError(f"want LABEL=FILE, not '{text}'")
    return label, path


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--csv", required=True, help="the point records")
    p.add_argument("--grid", required=True, help="the raster whose grid every output is on")
    p.add_argument("--x-field", default="longitude")
    p.add_argument("--y-field", default="latitude")
    p.add_argument("--count-field", default="arrivals")
    p.add_argument("--tolerance", type=float, default=1e-3, help="cell difference reported")
    p.add_argument("--rows", type=int, default=512, help="rows read at a time (default 512)")
    for group in ("counts", "kernel-weighted", "kernel-records"):
        p.add_argument("--" + group, type=labelled, action="append", default=[],
                       metavar="LABEL=FILE")
    return p.parse_args()


class Grid:
    """The reference grid: size, geotransform, CRS."""

    def __init__(self, path):
        ds = gdal.Open(path)
        self.cols, self.rows = ds.RasterXSize, ds.RasterYSize
        self.gt = ds.GetGeoTransform()
        self.srs = ds.GetSpatialRef()


def read_records(a, grid):
    """Cell (row, col) of every record, -1 outside the grid, its count, and the record total."""
    lon, lat, count = [], [], []
    with open(a.csv, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        ix, iy, ic = (header.index(k) for k in (a.x_field, a.y_field, a.count_field))
        for row in reader:
            if row and row[0].startswith("#"):  # the HXL hashtag row
                continue
            lon.append(row[ix])
            lat.append(row[iy])
            count.append(row[ic])
    lon = np.array(lon, dtype=np.float64)
    lat = np.array(lat, dtype=np.float64)
    count = np.array(count, dtype=np.float64)
    wgs84 = osr.SpatialReference()
    wgs84.ImportFromEPSG(4326)
    wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    target = grid.srs.Clone()
    target.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ct = osr.CoordinateTransformation(wgs84, target)
    # Records share sites: project each distinct coordinate once.
    pairs, inverse = np.unique(np.stack([lon, lat], axis=1), axis=0, return_inverse=True)
    xy = np.array(ct.TransformPoints(pairs[:, :2].tolist()))[:, :2][inverse.ravel()]
    x0, dx, _, y0, _, dy = grid.gt
    col = np.floor((xy[:, 0] - x0) / dx).astype(np.int64)
    row = np.floor((xy[:, 1] - y0) / dy).astype(np.int64)
    inside = (col >= 0) & (col < grid.cols) & (row >= 0) & (row < grid.rows)
    return row, col, inside, count


class Output:
    """One raster under test, on the grid, read by strips."""

    def __init__(self, label, path, grid):
        self.label, self.path = label, path
        self.ds = gdal.Open(path)
        if (self.ds.RasterXSize, self.ds.RasterYSize) != (grid.cols, grid.rows) or \
                not np.allclose(self.ds.GetGeoTransform(), grid.gt):
            sys.exit(f"compare_arrivals.py: {path} is not on the grid")
        self.band = self.ds.GetRasterBand(1)
        self.nodata = self.band.GetNoDataValue()
        self.sum = 0.0
        self.nonzero = 0
        self.missing = 0
        self.max = -math.inf

    def strip(self, y, h):
        """Rows y..y+h as float64, nodata as 0 (counted)."""
        v = self.band.ReadAsArray(0, y, self.ds.RasterXSize, h).astype(np.float64)
        bad = np.isnan(v)
        if self.nodata is not None:
            bad |= v == self.nodata
        self.missing += int(bad.sum())
        v[bad] = 0.0
        self.sum += float(v.sum())
        self.nonzero += int((v != 0).sum())
        self.max = max(self.max, float(v.max()))
        return v


class Pair:
    """Cell-by-cell agreement of a raster with its group's first one (or with the exact counts)."""

    def __init__(self, label, tolerance):
        self.label, self.tolerance = label, tolerance
        self.maxdiff = 0.0
        self.over = 0
        self.examples = []  # (row, col, reference value, value)
        self.all = np.zeros(6)  # n, sum x, sum y, sum xx, sum yy, sum xy over all cells
        self.some = np.zeros(6)  # the same over cells where either is non-zero

    def add(self, y, ref, v):
        d = np.abs(v - ref)
        self.maxdiff = max(self.maxdiff, float(d.max()))
        far = d > self.tolerance
        self.over += int(far.sum())
        for r, c in zip(*np.nonzero(far)):
            if len(self.examples) < 10:
                self.examples.append((y + int(r), int(c), float(ref[r, c]), float(v[r, c])))
        for acc, keep in ((self.all, None), (self.some, (ref != 0) | (v != 0))):
            a, b = (ref, v) if keep is None else (ref[keep], v[keep])
            acc += (a.size, a.sum(), b.sum(), (a * a).sum(), (b * b).sum(), (a * b).sum())

    @staticmethod
    def correlation(acc):
        n, sx, sy, sxx, syy, sxy = acc
        if n < 2:
            return math.nan
        cov = sxy - sx * sy / n
        return cov / math.sqrt((sxx - sx * sx / n) * (syy - sy * sy / n))


def main():
    a = parse_args()
    grid = Grid(a.grid)
    row, col, inside, count = read_records(a, grid)
    n_in = int(inside.sum())
    total_in = float(count[inside].sum())
    # The exact count raster, sparse: cells sorted by flat index with their summed counts.
    flat = row[inside] * grid.cols + col[inside]
    cells, where = np.unique(flat, return_inverse=True)
    cell_count = np.bincount(where.ravel(), weights=count[inside])
    f = "{:,}".format
    print(f"{a.csv}: {f(len(count))} records in {f(len(cells))} cells, total {a.count_field} "
          f"{count.sum():,.0f}; inside the {grid.cols} x {grid.rows} grid {f(n_in)} records, "
          f"{total_in:,.0f} {a.count_field}; "
          f"outside {f(len(count) - n_in)} records, {count[~inside].sum():,.0f}")

    groups = [("counts", a.counts, total_in), ("kernel, weighted by " + a.count_field,
              a.kernel_weighted, total_in), ("kernel, each record 1", a.kernel_records, n_in)]

    for title, specs, expect in groups:
        if not specs:
            continue
        outs = [Output(label, path, grid) for label, path in specs]
        exact = [Pair(o.label, a.tolerance) for o in outs] if title == "counts" else []
        pairs = [Pair(o.label, a.tolerance) for o in outs[1:]]
        for y in range(0, grid.rows, a.rows):
            h = min(a.rows, grid.rows - y)
            strips = [o.strip(y, h) for o in outs]
            if exact:
                ref = np.zeros((h, grid.cols))
                lo, hi = np.searchsorted(cells, [y * grid.cols, (y + h) * grid.cols])
                ref.flat[cells[lo:hi] - y * grid.cols] = cell_count[lo:hi]
                for p, v in zip(exact, strips):
                    p.add(y, ref, v)
            for p, v in zip(pairs, strips[1:]):
                p.add(y, strips[0], v)
        print(f"{title} (expected sum {expect:,.0f}, the records inside the grid):")
        for o in outs:
            print(f"  {o.label}: sum {o.sum:,.3f} (sum - expected {o.sum - expect:+.3f}, relative "
                  f"{(o.sum - expect) / expect:+.2e}), max {o.max:,.4f}, non-zero cells "
                  f"{f(o.nonzero)}, nodata cells {f(o.missing)}  [{o.path}]")
        for p in exact:
            print(f"  {p.label} vs the exact counts: max |difference| {p.maxdiff:.3g}, cells "
                  f"differing by more than {a.tolerance:g}: {f(p.over)}")
            report_cells(p, grid)
        for p in pairs:
            print(f"  {outs[0].label} vs {p.label}: max |difference| {p.maxdiff:.3g}, cells "
                  f"differing by more than {a.tolerance:g}: {f(p.over)}; correlation "
                  f"{Pair.correlation(p.all):.9f} over all cells, "
                  f"{Pair.correlation(p.some):.9f} over the {f(int(p.some[0]))} cells where "
                  f"either is non-zero; totals differ by "
                  f"{(p.all[2] - p.all[1]) / p.all[1]:+.2e} (relative)")
            report_cells(p, grid)
    return 0


def report_cells(p, grid):
    x0, dx, _, y0, _, dy = grid.gt
    for r, c, ref, v in p.examples:
        print(f"    row {r} col {c} (centre {x0 + (c + 0.5) * dx:.1f}, {y0 + (r + 0.5) * dy:.1f}): "
              f"reference {ref:.6g}, {p.label} {v:.6g}")


if __name__ == "__main__":
    sys.exit(main())
