#!/usr/bin/env python3
"""Aqueduct-shaped basin polygons for bench/score_polygons.sh.

    bench/basins.py OUT.gpkg SIZE N [CELL]

N basins (a square number: sqrt(N) x sqrt(N)) tiling the extent of a SIZE x SIZE grid of CELL m
(default 30) in UTM 36S from (500000, 8000000) down, with a tenth of a basin of margin, written
in EPSG:4326 as WRI publishes them: layer `baseline_annual`, fields pfaf_id, bws_raw, bws_score,
bws_cat, bws_label. Basins share their edges exactly (a jittered lattice whose edges carry 8
wiggled vertices each, the same for both neighbours), as HydroBASINS' sub-basins do; about one
in a hundred has no data (-9999). Deterministic (seeded)."""
import math
import sys

import numpy as np
from osgeo import ogr, osr

ogr.UseExceptions()

out, size, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cell = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0
k = int(round(math.sqrt(n)))
x0, y0, side = 500000.0, 8000000.0, size * cell
margin = side / k / 10
rng = np.random.default_rng(18)
step = (side + 2 * margin) / k
# Lattice corners, jittered by up to a fifth of a basin (the outer ones stay on the frame).
lx = x0 - margin + step * np.arange(k + 1)[None, :] + np.zeros((k + 1, 1))
ly = y0 + margin - step * np.arange(k + 1)[:, None] + np.zeros((1, k + 1))
jx = rng.uniform(-0.2, 0.2, (k + 1, k + 1)) * step
jy = rng.uniform(-0.2, 0.2, (k + 1, k + 1)) * step
jx[:, [0, -1]] = 0
jy[[0, -1], :] = 0
lx, ly = lx + jx, ly + jy
WIGGLE = 8


def edge(a, b, seed):
    """Points strictly between corners a and b, wiggled sideways, the same for (a, b) and
    (b, a) (then reversed)."""
    key = (min(a, b), max(a, b))
    r = np.random.default_rng(abs(hash(key)) % (2 ** 32) + seed)
    (ax, ay), (bx, by) = (lx[key[0]], ly[key[0]]), (lx[key[1]], ly[key[1]])
    t = np.arange(1, WIGGLE + 1) / (WIGGLE + 1)
    length = math.hypot(bx - ax, by - ay)
    nx, ny = -(by - ay) / length, (bx - ax) / length
    off = r.uniform(-0.05, 0.05, WIGGLE) * length
    pts = [(ax + (bx - ax) * s + nx * o, ay + (by - ay) * s + ny * o) for s, o in zip(t, off)]
    return pts if (a, b) == key else pts[::-1]


srs_utm, srs_ll = osr.SpatialReference(), osr.SpatialReference()
srs_utm.ImportFromEPSG(32736)
srs_ll.ImportFromEPSG(4326)
srs_ll.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
to_ll = osr.CoordinateTransformation(srs_utm, srs_ll)
ds = ogr.GetDriverByName("GPKG").CreateDataSource(out)
lyr = ds.CreateLayer("baseline_annual", srs_ll, ogr.wkbMultiPolygon)
for name, kind in [("pfaf_id", ogr.OFTInteger64), ("bws_raw", ogr.OFTReal), ("bws_score", ogr.OFTReal),
                   ("bws_cat", ogr.OFTInteger), ("bws_label", ogr.OFTString)]:
    lyr.CreateField(ogr.FieldDefn(name, kind))
labels = ["Low (<10%)", "Low - Medium (10-20%)", "Medium - High (20-40%)", "High (40-80%)",
          "Extremely High (>80%)"]
lyr.StartTransaction()
for i in range(k):
    for j in range(k):
        corners = [(i, j), (i, j + 1), (i + 1, j + 1), (i + 1, j)]
        ring = ogr.Geometry(ogr.wkbLinearRing)
        pts = []
        for c in range(4):
            a, b = corners[c], corners[(c + 1) % 4]
            pts.append((lx[a], ly[a]))
            pts.extend(edge(a, b, 0))
        for x, y in pts + pts[:1]:
            lon, lat, _ = to_ll.TransformPoint(float(x), float(y))
            ring.AddPoint_2D(lon, lat)
        poly = ogr.Geometry(ogr.wkbPolygon)
        poly.AddGeometry(ring)
        multi = ogr.Geometry(ogr.wkbMultiPolygon)
        multi.AddGeometry(poly)
        f = ogr.Feature(lyr.GetLayerDefn())
        score = round(float(rng.uniform(0, 5)), 4)
        nodata = rng.random() < 0.01
        f.SetField("pfaf_id", 100000 + i * k + j)
        f.SetField("bws_score", -9999 if nodata else score)
        f.SetField("bws_raw", -9999 if nodata else 0.1 * 2 ** (score - 1))
        f.SetField("bws_cat", -9999 if nodata else min(int(score), 4))
        f.SetField("bws_label", "No Data" if nodata else labels[min(int(score), 4)])
        f.SetGeometry(multi)
        lyr.CreateFeature(f)
lyr.CommitTransaction()
ds = None
