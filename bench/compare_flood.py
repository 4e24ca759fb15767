#!/usr/bin/python3
"""Compare water-depth rasters made from one DEM: inundated cells in each, and where they differ.

    bench/compare_flood.py --dem DEM --level W [--bathtub FILE] LABEL=FILE [LABEL=FILE ...]

Each LABEL=FILE is a connectivity-aware depth raster on the DEM's grid (cityrisk inundation,
GRASS r.lake after the export in bench/inundation.sh): depth W - elevation where inundated, 0 on
dry land, nodata on the sea and where the DEM has none. A cell is inundated when its depth is
> 0. The first one is the reference: every other one is compared with it cell by cell.
--bathtub FILE is a plain bathtub (gdal_calc.py, no connectivity), which also gives a depth to
the sea shelf; it is compared with the reference outside the reference's sea.

Reads strips of whole rows (512 by default), so memory stays at a few arrays of 512 rows.
Needs numpy and the GDAL Python bindings (Debian: python3-gdal; the system /usr/bin/python3).
"""
import argparse
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dem", required=True, help="the DEM the depths were computed from")
    p.add_argument("--level", type=float, required=True, help="water level W in DEM units")
    p.add_argument("--bathtub", help="plain bathtub depth raster (no connectivity)")
    p.add_argument("--rows", type=int, default=512, help="rows read at a time (default 512)")
    p.add_argument("outputs", nargs="+", metavar="LABEL=FILE", help="connected depth rasters")
    a = p.parse_args()
    pairs = []
    for item in a.outputs:
        label, sep, path = item.partition("=")
        if not sep or not label or not path:
            p.error(f"want LABEL=FILE, not '{item}'")
        pairs.append((label, path))
    a.outputs = pairs
    return a


class Raster:
    def __init__(self, label, path, like=None):
        self.label, self.path = label, path
        self.ds = gdal.Open(path)
        self.band = self.ds.GetRasterBand(1)
        self.nodata = self.band.GetNoDataValue()
        if like is not None:
            same = (self.ds.RasterXSize == like.ds.RasterXSize
                    and self.ds.RasterYSize == like.ds.RasterYSize
                    and np.allclose(self.ds.GetGeoTransform(), like.ds.GetGeoTransform()))
            if not same:
                sys.exit(f"compare_flood.py: {path} is not on the grid of {like.path}")

    def read(self, y, h):
        """Rows y..y+h as float64 and their nodata mask."""
        a = self.band.ReadAsArray(0, y, self.ds.RasterXSize, h).astype(np.float64)
        missing = np.isnan(a)
        if self.nodata is not None:
            missing |= a == self.nodata
        return a, missing


def main():
    a = parse_args()
    dem = Raster("dem", a.dem)
    outs = [Raster(label, path, dem) for label, path in a.outputs]
    tub = Raster("bathtub", a.bathtub, dem) if a.bathtub else None
    ref = outs[0]
    w = a.level
    n = {}  # counters, by name

    def add(key, value):
        n[key] = n.get(key, 0) + int(value)

    maxdep = {r.label: 0.0 for r in outs + ([tub] if tub else [])}
    depth_err = {r.label: 0.0 for r in outs}  # max |depth - (W - elevation)| where inundated
    pair_err = {r.label: 0.0 for r in outs[1:]}  # max |depth - reference depth| where both wet

    rows, cols = dem.ds.RasterYSize, dem.ds.RasterXSize
    for y in range(0, rows, a.rows):
        h = min(a.rows, rows - y)
        elev, dem_missing = dem.read(y, h)
        add("dem_nodata", dem_missing.sum())
        expect = w - elev
        wet = {}
        for r in outs + ([tub] if tub else []):
            d, missing = r.read(y, h)
            wet_r = (d > 0) & ~missing
            wet[r.label] = (d, wet_r, missing)
            add(r.label + ":wet", wet_r.sum())
            add(r.label + ":dry", ((d == 0) & ~missing).sum())
            add(r.label + ":nodata", missing.sum())
            add(r.label + ":wet_on_dem_nodata", (wet_r & dem_missing).sum())
            if wet_r.any():
                maxdep[r.label] = max(maxdep[r.label], float(d[wet_r].max()))
            if r is not tub and wet_r.any():
                depth_err[r.label] = max(depth_err[r.label],
                                         float(np.abs(d[wet_r] - expect[wet_r]).max()))
        rd, rwet, rmissing = wet[ref.label]
        sea = rmissing & ~dem_missing  # the reference's sea: nodata there, data in the DEM
        add("ref_sea", sea.sum())
        for r in outs[1:]:
            d, owet, omissing = wet[r.label]
            add(r.label + ":only_ref", (rwet & ~owet).sum())
            add(r.label + ":only_this", (owet & ~rwet).sum())
            add(r.label + ":nodata_differs", (rmissing != omissing).sum())
            both = rwet & owet
            if both.any():
                pair_err[r.label] = max(pair_err[r.label], float(np.abs(d[both] - rd[both]).max()))
        if tub:
            d, twet, tmissing = wet["bathtub"]
            land = ~rmissing  # cells the reference calls land (wet or dry)
            add("tub:wet_sea", (twet & sea).sum())
            add("tub:wet_land", (twet & land).sum())
            extra = twet & land & ~rwet
            add("tub:extra", extra.sum())
            add("tub:extra_above_0", (extra & (elev > 0)).sum())
            add("tub:extra_at_or_below_0", (extra & (elev <= 0)).sum())
            add("tub:missed", (rwet & ~twet).sum())

    f = "{:,}".format
    total = rows * cols
    print(f"water level {w:g}: {cols} x {rows} cells, DEM nodata {f(n['dem_nodata'])}, "
          f"sea (nodata in {ref.label} where the DEM has data) {f(n['ref_sea'])}")
    for r in outs + ([tub] if tub else []):
        k = r.label
        line = (f"  {k}: inundated {f(n[k + ':wet'])} ({100 * n[k + ':wet'] / total:.3f} %), "
                f"dry {f(n[k + ':dry'])}, nodata {f(n[k + ':nodata'])}, "
                f"max depth {maxdep[k]:.3f}")
        if r is not tub:
            line += f", max |depth - (W - elevation)| {depth_err[k]:.2g}"
        if n[k + ":wet_on_dem_nodata"]:
            line += f", inundated where the DEM has nodata {f(n[k + ':wet_on_dem_nodata'])}"
        print(line)
    for r in outs[1:]:
        k = r.label
        differ = n[k + ":only_ref"] + n[k + ":only_this"]
        print(f"  {ref.label} vs {k}: {f(differ)} cells differ "
              f"(inundated only in {ref.label} {f(n[k + ':only_ref'])}, only in {k} "
              f"{f(n[k + ':only_this'])}); nodata differs in {f(n[k + ':nodata_differs'])}; "
              f"max |depth difference| where both inundated {pair_err[k]:.2g}")
    if tub:
        print(f"  bathtub vs {ref.label}: bathtub inundates {f(n['tub:wet_land'])} cells outside "
              f"the sea ({f(n['tub:wet_sea'])} more on the sea shelf), "
              f"{f(n['tub:extra'])} more than {ref.label} "
              f"({f(n['tub:extra_above_0'])} above 0 m, e.g. a polder; "
              f"{f(n['tub:extra_at_or_below_0'])} at or below 0 m, e.g. a lagoon); "
              f"inundated in {ref.label} but not in the bathtub {f(n['tub:missed'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
