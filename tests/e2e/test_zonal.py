"""End-to-end: `cityrisk zonal`, checked against coverages and statistics computed in the test.

The analytic fixtures are small Float32 rasters written by the test in its temporary folder (10 x 10
cells of 10 m in EPSG:32736, nodata -9999) with zones written by OGR, so that expected values can
be worked out by hand: a cell's coverage fraction f is the share of its area inside the zone, and

  count = sum f,  sum = sum f x,  mean = sum / count,  stdev = sqrt(sum f (x - mean)^2 / sum f),
  min / max over the cells with f > 0,  frac(t) = sum f [x >= t] / sum f,
  weighted_mean(w) = sum f w x / sum f w,  majority = the value with the largest sum f,
  median / quantile(q): zonal.h's weighted quantile (weighted_quantile() below),

each over the cells where x (and w) has a value. The reference coverage of irregular polygons is
computed independently of cityrisk's sweep, as the area of OGR's (GEOS's) intersection of each
cell's square with the polygon.

The sample city is run through `cityrisk inundation`, `arrivals` and `score` once per class
(SampleCity.setUpClass), then `cityrisk zonal` over its neighbourhoods; its outputs are checked
for the neighbourhood metrics of SCORING.md section 5, RFC 7946 GeoJSON and the other formats.
"""
import csv
import json
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import numpy as np
from osgeo import gdal, ogr, osr

from cliutil import CITYRISK, CliTestCase, run, run_steps, sample, sample_city_steps
from polyref import fine_reference, write_polygons

gdal.UseExceptions()
ogr.UseExceptions()
osr.UseExceptions()

NODATA = -9999.0
UTM36S = 32736
X0, Y0, CELL = 700000.0, 7800100.0, 10.0   # the grid's top-left corner, UTM 36S
ROWS, COLS = 10, 10
CELL_AREA = CELL * CELL
# The value raster: 1..100, row by row.
V = (10 * np.arange(ROWS)[:, None] + np.arange(COLS)[None, :] + 1).astype(np.float64)
INFORM_BREAKS = [2.0, 3.5, 5.0, 6.5]
SCENARIOS = ["ssp245-2050", "ssp585-2100-p83"]


# ---------------------------------------------------------------------------------------------
# Rasters and zones


def srs_of(epsg):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s


def f32(array):
    """What a Float32 raster stores of array, as float64 (NaN kept)."""
    return np.asarray(array, dtype=np.float32).astype(np.float64)


def write_raster(path, array, nodata=NODATA, origin=(X0, Y0), cell=CELL, epsg=UTM36S):
    """Writes the 2-D array (NaN = nodata) as a Float32 GeoTIFF; returns path."""
    values = np.asarray(array, dtype=np.float64)
    rows, cols = values.shape
    ds = gdal.GetDriverByName("GTiff").Create(path, cols, rows, 1, gdal.GDT_Float32)
    ds.SetGeoTransform((origin[0], cell, 0.0, origin[1], 0.0, -cell))
    ds.SetSpatialRef(srs_of(epsg))
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(nodata)
    band.WriteArray(np.where(np.isnan(values), nodata, values).astype(np.float32))
    ds = None
    return path


def ring_text(points, dx, dy):
    pts = list(points) + [points[0]] if tuple(points[0]) != tuple(points[-1]) else list(points)
    return "(" + ",".join(f"{x + dx!r} {y + dy!r}" for x, y in pts) + ")"


def polygon_wkt(shell, *holes, dx=X0, dy=Y0):
    """WKT of a polygon given in local coordinates (u = x - X0, w = y - Y0; cell (r, c) is
    u in [10c, 10c + 10], w in [-10r - 10, -10r]), shifted by (dx, dy)."""
    return "POLYGON (" + ",".join(ring_text(r, dx, dy) for r in (shell, *holes)) + ")"


def multipolygon_wkt(*polygons, dx=X0, dy=Y0):
    """polygons: each a list of rings (shell first)."""
    return "MULTIPOLYGON (" + ",".join(
        "(" + ",".join(ring_text(r, dx, dy) for r in rings) + ")" for rings in polygons) + ")"


def local(wkt):
    """The geometry of a UTM WKT in local coordinates (exact: the shifts are integers)."""
    g = ogr.CreateGeometryFromWkt(wkt)
    shifted = ogr.CreateGeometryFromWkt(wkt)

    def shift(geom, out):
        if geom.GetPointCount():
            for i in range(geom.GetPointCount()):
                x, y = geom.GetX(i), geom.GetY(i)
                out.SetPoint_2D(i, x - X0, y - Y0)
        for k in range(geom.GetGeometryCount()):
            shift(geom.GetGeometryRef(k), out.GetGeometryRef(k))

    shift(g, shifted)
    return shifted


def polygonal_area(geom):
    """The area of the polygons of an intersection (which may also hold lines and points)."""
    t = ogr.GT_Flatten(geom.GetGeometryType())
    if t in (ogr.wkbPolygon, ogr.wkbMultiPolygon):
        return geom.GetArea()
    if t == ogr.wkbGeometryCollection:
        return sum(polygonal_area(geom.GetGeometryRef(k)) for k in range(geom.GetGeometryCount()))
    return 0.0


def read_bytes(path):
    with open(path, "rb") as fh:
        return fh.read()


def box(x0, y0, x1, y1):
    return ogr.CreateGeometryFromWkt(
        f"POLYGON (({x0!r} {y0!r},{x1!r} {y0!r},{x1!r} {y1!r},{x0!r} {y1!r},{x0!r} {y0!r}))")


def reference_coverage(geom, rows=ROWS, cols=COLS, cell=CELL):
    """f[r, c]: the area of the cell's square (local coordinates) inside geom, by OGR/GEOS
    intersection, over the cell's area."""
    f = np.zeros((rows, cols))
    xmin, xmax, ymin, ymax = geom.GetEnvelope()
    for r in range(max(0, math.floor(-ymax / cell)), min(rows, math.ceil(-ymin / cell))):
        for c in range(max(0, math.floor(xmin / cell)), min(cols, math.ceil(xmax / cell))):
            x0, x1, y1, y0 = c * cell, (c + 1) * cell, -r * cell, -(r + 1) * cell
            square = box(x0, y0, x1, y1)
            if geom.Intersects(square):
                f[r, c] = polygonal_area(geom.Intersection(square)) / (cell * cell)
    return f


def weighted_quantile(values, weights, q):
    """zonal.h's cr_weighted_quantile, from its documentation: values sorted, S_k the weight
    before value k, value k at s_k = k w_k + (n - 1) S_k, interpolated at q (n - 1) W."""
    order = np.argsort(values, kind="stable")
    x = np.asarray(values, float)[order]
    w = np.asarray(weights, float)[order]
    n = len(x)
    if n == 1:
        return x[0]
    before = np.concatenate([[0.0], np.cumsum(w)[:-1]])
    s = np.arange(n) * w + (n - 1) * before
    target = q * (n - 1) * w.sum()
    k = max(i for i in range(n) if s[i] <= target)
    if k == n - 1:
        return x[-1]
    return x[k] + (target - s[k]) / (s[k + 1] - s[k]) * (x[k + 1] - x[k])


def reference_stats(f, x, w=None, thresholds=(), quantiles=()):
    """The generic statistics of raster x (NaN = nodata) over coverage f."""
    valid = (f > 0) & ~np.isnan(x)
    fv, xv = f[valid], x[valid]
    count = fv.sum()
    out = {"count": count}
    if count > 0:
        mean = (fv * xv).sum() / count
        out.update(sum=(fv * xv).sum(), mean=mean, min=xv.min(), max=xv.max(),
                   stdev=math.sqrt((fv * (xv - mean) ** 2).sum() / count))
        for t in thresholds:
            out[f"frac{t}"] = fv[xv >= t].sum() / count
        for q in quantiles:
            out[f"q{q}"] = weighted_quantile(xv, fv, q)
        if w is not None:
            vw = valid & ~np.isnan(w)
            out["wmean"] = (f[vw] * w[vw] * x[vw]).sum() / (f[vw] * w[vw]).sum()
    return out


def write_zones(path, geometries, epsg=UTM36S, driver="GPKG", geom_type=ogr.wkbUnknown,
                layer="zones", names=None):
    """Writes one feature per geometry (WKT, an ogr.Geometry or None for no geometry) with
    fields zid = 1, 2, ... (integer) and name; epsg None writes no CRS. Returns path."""
    ds = ogr.GetDriverByName(driver).CreateDataSource(path)
    lyr = ds.CreateLayer(layer, srs_of(epsg) if epsg else None, geom_type)
    lyr.CreateField(ogr.FieldDefn("zid", ogr.OFTInteger))
    lyr.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    for i, g in enumerate(geometries):
        feat = ogr.Feature(lyr.GetLayerDefn())
        feat.SetField("zid", i + 1)
        feat.SetField("name", names[i] if names else f"zone {i + 1}")
        if g is not None:
            feat.SetGeometry(ogr.CreateGeometryFromWkt(g) if isinstance(g, str) else g)
        lyr.CreateFeature(feat)
    ds = None
    return path


def signed_area(ring):
    """Shoelace area, positive counter-clockwise (x east, y north)."""
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]))


def polygons_of(geometry):
    if geometry is None:
        return []
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["coordinates"]
    raise AssertionError(f"unexpected geometry type {geometry['type']}")


def read_ogr(path, key="zid"):
    """{key value: {field: value}} and the field names of the first layer, through OGR."""
    ds = ogr.Open(path)
    lyr = ds.GetLayer(0)
    defn = lyr.GetLayerDefn()
    names = [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())]
    rows = {}
    for feat in lyr:
        rows[feat.GetField(key)] = {n: feat.GetField(n) for n in names}
    return rows, names


def close(a, b, rel=1e-9, abs_=1e-12):
    return a is not None and b is not None and abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_)


# ---------------------------------------------------------------------------------------------
# Running the command


class ZonalCase(CliTestCase):
    def zonal(self, *args, out=None):
        """Runs the command with --json writing GeoJSON; asserts exit 0. Returns ({zid:
        properties}, summary, stderr, parsed GeoJSON document)."""
        out = out or self.path(f"out-{len(os.listdir(self.tmp))}.geojson")
        rc, stdout, err = run("zonal", *args, "-o", out, "--json")
        self.assertEqual(rc, 0, f"{args}: exit {rc}, stderr: {err}")
        try:
            summary = json.loads(stdout)
        except ValueError:
            self.fail(f"{args}: --json printed no JSON: {stdout!r}")
        self.assertEqual(summary["output"], out)
        with open(out, encoding="utf-8") as fh:
            doc = json.load(fh)
        props = {f["properties"]["zid"]: f["properties"] for f in doc["features"]}
        return props, summary, err, doc

    def value_raster(self, name="v.tif", array=V):
        return write_raster(self.path(name), array)

    def zones(self, *geometries, name="zones.gpkg", **kw):
        return write_zones(self.path(name), geometries, **kw)

    def assertClose(self, got, expected, label="", rel=1e-9, abs_=1e-12):
        self.assertIsNotNone(got, f"{label}: null, expected {expected}")
        self.assertTrue(close(got, expected, rel, abs_), f"{label}: {got!r}, expected {expected!r}")

    def assertStats(self, props, prefix, expected, stats=("count", "sum", "mean", "min", "max",
                                                          "stdev"), rel=1e-9):
        """props[prefix_stat] against expected[stat] for each of stats the reference has."""
        for stat in stats:
            if stat in expected:
                self.assertIn(f"{prefix}_{stat}", props)
                self.assertClose(props[f"{prefix}_{stat}"], expected[stat], f"{prefix}_{stat}",
                                 rel)

    def assertFailsClean(self, args, code, *needles, folder=None, existing=()):
        """assertFails, then: the folder of the output holds no new file and no hidden temp."""
        folder = folder or self.out_dir
        rc, _, err = run(*args)
        self.assertEqual(rc, code, f"{args}: exit {rc}, stderr: {err}")
        # The error line; a usage error adds "see 'cityrisk zonal --help'" below it.
        lines = [l for l in err.splitlines() if l.strip() and not l.startswith("see '")]
        self.assertTrue(lines, f"{args}: no message on stderr")
        message = lines[-1]
        self.assertTrue(message.startswith("cityrisk zonal: "), f"{args}: {err!r}")
        for needle in needles:
            self.assertIn(needle, message, args)
        left = sorted(os.listdir(folder))
        self.assertEqual([n for n in left if n.startswith(".")], [], f"{args}: temp left")
        self.assertEqual([n for n in left if n not in existing], [], f"{args}: output left")
        return message


# ---------------------------------------------------------------------------------------------
# 1. Coverage and statistics, analytic


class Analytic(ZonalCase):
    def test_square_on_a_quarter_of_four_cells(self):
        zones = self.zones(polygon_wkt([(15, -25), (25, -25), (25, -15), (15, -15)]))
        one = self.value_raster("one.tif", np.ones((ROWS, COLS)))
        props, summary, _, _ = self.zonal("--zones", zones, "-r", f"v={self.value_raster()}",
                                          "-r", f"one={one}", "--stats",
                                          "count,sum,mean,min,max")
        p = props[1]
        self.assertEqual(p["v_count"], 1.0)
        self.assertClose(p["v_sum"], 0.25 * (V[1, 1] + V[1, 2] + V[2, 1] + V[2, 2]), "sum")
        self.assertClose(p["v_mean"], 0.25 * (12 + 13 + 22 + 23), "mean")
        self.assertEqual((p["v_min"], p["v_max"]), (12.0, 23.0))
        self.assertEqual(p["one_sum"], 1.0)
        self.assertClose(p["area_km2"], 100e-6, "area")
        self.assertEqual(p["data_coverage"], 1.0)
        self.assertEqual(summary["zones"], 1)
        self.assertEqual(summary["columns"], 2 + 2 * 5)

    def test_triangle_on_half_a_cell(self):
        zones = self.zones(polygon_wkt([(30, -40), (40, -40), (30, -30)]))
        props, _, _, _ = self.zonal("--zones", zones, "-r", f"v={self.value_raster()}")
        p = props[1]
        self.assertClose(p["v_count"], 0.5, "count")
        self.assertClose(p["v_sum"], 0.5 * V[3, 3], "sum")
        self.assertClose(p["v_mean"], V[3, 3], "mean")
        self.assertClose(p["area_km2"], 50e-6, "area")

    def test_polygon_with_a_hole(self):
        shell = [(50, -90), (90, -90), (90, -50), (50, -50)]
        hole = [(60, -80), (60, -60), (80, -60), (80, -80)]
        zones = self.zones(polygon_wkt(shell, hole))
        props, _, _, _ = self.zonal("--zones", zones, "-r", f"v={self.value_raster()}",
                                    "--stats", "count,sum,mean,min,max")
        p = props[1]
        ring_sum = V[5:9, 5:9].sum() - V[6:8, 6:8].sum()
        self.assertClose(p["v_count"], 12.0, "count = 16 shell cells - 4 hole cells")
        self.assertClose(p["v_sum"], ring_sum, "sum")
        self.assertClose(p["v_mean"], ring_sum / 12, "mean")
        self.assertEqual((p["v_min"], p["v_max"]), (V[5, 5], V[8, 8]))
        self.assertClose(p["area_km2"], 1200e-6, "area")

    def test_multipolygon_partly_outside_the_raster(self):
        inside = [[(70, -10), (90, -10), (90, 0), (70, 0)]]               # 2 whole cells
        straddling = [[(95, -100), (115, -100), (115, -80), (95, -80)]]   # 1 of 4 cells inside
        outside = [(200, -50), (230, -50), (230, -20), (200, -20)]         # wholly outside
        zones = self.zones(multipolygon_wkt(inside, straddling), polygon_wkt(outside))
        props, summary, _, _ = self.zonal("--zones", zones, "-r", f"v={self.value_raster()}")
        p = props[1]
        self.assertClose(p["v_count"], 3.0, "count: the inside area in cells")
        self.assertClose(p["v_sum"], V[0, 7] + V[0, 8] + 0.5 * (V[8, 9] + V[9, 9]), "sum")
        self.assertClose(p["area_km2"], 600e-6, "area: the whole polygon")
        self.assertClose(p["data_coverage"], 0.5, "data_coverage: the inside share")
        # A zone off the raster: a true coverage of 0, statistics of no value null.
        p = props[2]
        self.assertClose(p["area_km2"], 900e-6, "area off the raster")
        self.assertEqual(p["data_coverage"], 0.0)
        self.assertEqual(p["v_count"], 0.0)     # no valid cell: a true count of 0
        self.assertIsNone(p["v_sum"])
        self.assertIsNone(p["v_mean"])
        self.assertEqual(summary["zones_without_data"], 1)

    def test_polygon_smaller_than_a_cell(self):
        zones = self.zones(polygon_wkt([(22, -46), (25, -46), (25, -42), (22, -42)]))
        props, _, _, _ = self.zonal("--zones", zones, "-r", f"v={self.value_raster()}",
                                    "--stats", "count,sum,mean,min,max,median,stdev")
        p = props[1]
        self.assertClose(p["v_count"], 12 / CELL_AREA, "count = area / cell area")
        self.assertClose(p["v_mean"], V[4, 2], "mean: the cell's value")
        self.assertClose(p["v_sum"], 0.12 * V[4, 2], "sum")
        self.assertEqual((p["v_min"], p["v_max"], p["v_median"]), (V[4, 2],) * 3)
        self.assertClose(p["v_stdev"], 0.0, "stdev of one cell")

    def test_zones_in_wgs84_over_a_utm_raster(self):
        # A UTM square, densified to 0.5 m and taken to lon/lat: back in UTM its edges are
        # straight to far below a micrometre.
        square = ogr.CreateGeometryFromWkt(
            polygon_wkt([(12.3, -88.8), (77.7, -88.8), (77.7, -21.1), (12.3, -21.1)]))
        utm_area = square.GetArea()
        expected = reference_stats(
            reference_coverage(local(square.ExportToWkt())), V)
        square.Segmentize(0.5)
        square.Transform(osr.CoordinateTransformation(srs_of(UTM36S), srs_of(4326)))
        for driver, name in [("GPKG", "wgs84.gpkg"), ("GeoJSON", "wgs84.geojson")]:
            zones = self.zones(square, name=name, epsg=4326, driver=driver)
            props, _, _, _ = self.zonal("--zones", zones, "-r", f"v={self.value_raster()}")
            p = props[1]
            self.assertClose(p["v_count"], utm_area / CELL_AREA, f"{driver} count", rel=1e-6)
            self.assertClose(p["area_km2"], utm_area / 1e6, f"{driver} area", rel=1e-6)
            self.assertClose(p["v_sum"], expected["sum"], f"{driver} sum", rel=1e-6)
            self.assertClose(p["v_mean"], expected["mean"], f"{driver} mean", rel=1e-6)

    def test_layer_and_band_are_chosen(self):
        path = self.zones(polygon_wkt([(0, 0), (10, 0), (10, -10), (0, -10)]), layer="first")
        ds = ogr.Open(path, update=1)
        lyr = ds.CreateLayer("second", srs_of(UTM36S), ogr.wkbPolygon)
        lyr.CreateField(ogr.FieldDefn("zid", ogr.OFTInteger))
        for zid, wkt in [(7, polygon_wkt([(30, -30), (50, -30), (50, -40), (30, -40)])),
                         (8, polygon_wkt([(90, -90), (100, -90), (100, -100), (90, -100)]))]:
            feat = ogr.Feature(lyr.GetLayerDefn())
            feat.SetField("zid", zid)
            feat.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
            lyr.CreateFeature(feat)
        ds = None
        multi = write_bands(self.path("multi.tif"), [("one", V), ("two", 2 * V + 0.5)])
        props, summary, _, _ = self.zonal("--zones", path, "--layer", "second", "-r",
                                          f"b1={multi}", "-r", f"b2={multi}:2")
        self.assertEqual(sorted(props), [7, 8])
        self.assertEqual(props[7]["b1_sum"], V[3, 3] + V[3, 4])
        self.assertEqual(props[7]["b2_sum"], 2 * (V[3, 3] + V[3, 4]) + 1.0)
        self.assertEqual(props[8]["b2_mean"], 2 * V[9, 9] + 0.5)
        self.assertEqual(list(props[7])[:2], ["zid", "area_km2"])
        props, _, _, _ = self.zonal("--zones", path, "-r", f"b1={multi}")
        self.assertEqual(list(props), [1])   # the first layer by default

    # Irregular polygons in local coordinates: concave, with holes, several parts, edges at
    # every angle, vertices on cell edges and corners.
    IRREGULAR = [
        polygon_wkt([(3.3, -3.7), (47.1, -8.2), (31.4, -22.6), (52.9, -41.3), (8.8, -57.7),
                     (20.0, -30.0)]),
        polygon_wkt([(41.7, -52.3), (93.1, -48.8), (97.4, -96.6), (44.4, -91.9)],
                    [(52.2, -61.1), (63.3, -83.3), (81.9, -79.4), (70.0, -60.0)],
                    [(85.5, -55.5), (90.0, -55.0), (87.5, -60.0)]),
        multipolygon_wkt([[(60.0, -10.0), (80.0, -5.0), (99.9, -30.0), (70.0, -40.0)]],
                         [[(5.5, -75.0), (30.0, -62.5), (35.0, -99.5), (10.0, -92.5),
                           (22.0, -80.0)]]),
    ]

    def random_star(self, rng, cx, cy, r0, r1, n):
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = rng.uniform(r0, r1, n)
        return polygon_wkt([(cx + r * math.cos(a), cy + r * math.sin(a))
                            for a, r in zip(angles, radii)])

    def test_coverage_against_ogr_cell_intersections(self):
        rng = np.random.default_rng(7)
        g = f32(np.round(rng.uniform(-5, 20, (ROWS, COLS)), 3))
        g[4, 4] = g[7, 1] = np.nan                      # nodata inside two zones
        polygons = self.IRREGULAR + [self.random_star(rng, 50, -50, 10, 45, 40),
                                     self.random_star(rng, 33.3, -66.6, 2, 25, 25)]
        zones = self.zones(*polygons)
        props, _, _, _ = self.zonal("--zones", zones, "-r",
                                    f"g={write_raster(self.path('g.tif'), g)}", "--stats",
                                    "count,sum,mean,min,max,stdev")
        for i, wkt in enumerate(polygons):
            geom = local(wkt)
            self.assertTrue(geom.IsValid(), f"fixture {i + 1} is invalid")
            f = reference_coverage(geom)
            expected = reference_stats(f, g)
            self.assertGreater(expected["count"], 1.0)
            self.assertStats(props[i + 1], "g", expected)
            self.assertClose(props[i + 1]["area_km2"], geom.GetArea() / 1e6, f"zone {i + 1} area")
            self.assertLess(props[i + 1]["data_coverage"], 1.0 if np.isnan(g[f > 0]).any() else 2)

    def test_coverage_sums_to_the_polygon_area(self):
        rng = np.random.default_rng(11)
        polygons = self.IRREGULAR + [self.random_star(rng, 50, -50, 5, 49, 60)
                                     for _ in range(4)]
        one = self.value_raster("one.tif", np.ones((ROWS, COLS)))
        props, _, _, _ = self.zonal("--zones", self.zones(*polygons), "-r", f"one={one}")
        for i, wkt in enumerate(polygons):
            area = local(wkt).GetArea()
            p = props[i + 1]
            self.assertClose(p["one_count"], area / CELL_AREA, f"zone {i + 1} count", rel=1e-12)
            self.assertClose(p["one_sum"], area / CELL_AREA, f"zone {i + 1} sum", rel=1e-12)
            self.assertClose(p["one_mean"], 1.0, f"zone {i + 1} mean", rel=1e-12)
            self.assertEqual(p["data_coverage"], 1.0)

    def test_zones_across_tiles_and_threads(self):
        # 600 x 600 cells: the zones meet up to four of the 512 x 512 tiles read, so their
        # sums, moments and cell lists are merged across tiles.
        n = 600
        rng = np.random.default_rng(17)
        x = f32(rng.integers(0, 12, (n, n)))
        x[505:510, 515:520] = np.nan
        path = write_raster(self.path("big.tif"), x)
        polygons = [self.random_star(rng, 5120, -5120, 30, 260, 50),
                    polygon_wkt([(5000.5, -5000.5), (5300.25, -5050), (5250, -5333.3),
                                 (5111, -5200)], [(5100, -5100), (5200, -5150), (5120, -5180)]),
                    polygon_wkt([(5125, -10), (5115, -300), (5133, -290)])]
        zones = self.zones(*polygons)
        stats = "count,sum,mean,min,max,stdev,median,quantile(0.9),majority,frac(5)"
        results = []
        for threads in ["1", "4"]:
            props, summary, _, _ = self.zonal("--zones", zones, "-r", f"x={path}", "--stats",
                                              stats, "--threads", threads)
            results.append(props)
        self.assertEqual(results[0], results[1])
        self.assertEqual(summary["tiles_read"], 4)
        for i, wkt in enumerate(polygons):
            f = reference_coverage(local(wkt), rows=n, cols=n)
            e = reference_stats(f, x, thresholds=(5,), quantiles=(0.5, 0.9))
            p = results[0][i + 1]
            self.assertStats(p, "x", e)
            self.assertClose(p["x_median"], e["q0.5"], f"zone {i + 1} median")
            self.assertClose(p["x_p90"], e["q0.9"], f"zone {i + 1} p90")
            self.assertClose(p["x_frac_ge_5"], e["frac5"], f"zone {i + 1} frac")
            valid = (f > 0) & ~np.isnan(x)
            sums = {v: f[valid & (x == v)].sum() for v in np.unique(x[valid])}
            self.assertEqual(p["x_majority"], max(sums, key=lambda k: (sums[k], -k)))

    def staircase(self, fractions, row=0):
        """A polygon covering, in cells (row, 0..n-1), the fractions given (from the top)."""
        top = -row * CELL
        pts = [(0.0, top), (len(fractions) * CELL, top)]
        for c in reversed(range(len(fractions))):
            pts += [((c + 1) * CELL, top - fractions[c] * CELL), (c * CELL, top - fractions[c] * CELL)]
        return polygon_wkt(pts)

    def test_weighted_median_quantiles_and_majority(self):
        q = np.zeros((ROWS, COLS))
        q[0, :4] = [1, 2, 3, 4]
        m = np.zeros((ROWS, COLS))
        m[0, :4] = [5, 7, 7, 5]
        zones = self.zones(self.staircase([0.1, 0.4, 0.2, 0.3]), self.staircase([0.25] * 4))
        props, _, _, _ = self.zonal(
            "--zones", zones, "-r", f"q={write_raster(self.path('q.tif'), q)}", "-r",
            f"m={write_raster(self.path('m.tif'), m)}", "--stats",
            "count, median, quantile(0), quantile(0.25), quantile(0.9), quantile(1), majority")
        # Weights 0.1, 0.4, 0.2, 0.3 on 1, 2, 3, 4: S = 0, .1, .5, .7, s = 0, .7, 1.9, 3.0.
        p = props[1]
        self.assertClose(p["q_count"], 1.0, "count")
        by_hand = {"median": 2 + 0.8 / 1.2, "p0": 1.0, "p25": 2 + 0.05 / 1.2,
                   "p90": 3 + 0.8 / 1.1, "p100": 4.0}
        for stat, value in by_hand.items():
            self.assertClose(p[f"q_{stat}"], value, f"q_{stat}")
            qv = {"median": 0.5, "p0": 0, "p25": 0.25, "p90": 0.9, "p100": 1}[stat]
            self.assertClose(weighted_quantile([1, 2, 3, 4], [0.1, 0.4, 0.2, 0.3], qv), value,
                             f"reference {stat}")
        self.assertEqual(p["q_majority"], 2.0)
        self.assertEqual(p["m_majority"], 7.0)       # 7 weighs 0.6, 5 weighs 0.4
        # Equal weights: numpy's default (linear) quantiles; majority ties go to the smallest.
        p = props[2]
        for stat, qv in [("median", 50), ("p25", 25), ("p90", 90), ("p0", 0), ("p100", 100)]:
            self.assertClose(p[f"q_{stat}"], np.percentile([1, 2, 3, 4], qv), f"equal {stat}")
        self.assertEqual(p["m_majority"], 5.0)
        self.assertEqual(p["m_median"], 6.0)

    def test_stdev_min_max_frac_and_weighted_mean(self):
        q = np.zeros((ROWS, COLS))
        q[0, :4] = [1, 2, 3, 4]
        w = np.ones((ROWS, COLS))
        w[0, :4] = [2, 1, 0, 3]
        qp, wp = write_raster(self.path("q.tif"), q), write_raster(self.path("w.tif"), w)
        zones = self.zones(self.staircase([0.1, 0.4, 0.2, 0.3]))
        stats = "count,mean,stdev,min,max,frac(2.5),frac(3),frac(4.5),weighted_mean(w)"
        props, _, _, _ = self.zonal("--zones", zones, "-r", f"q={qp}", "-r", f"w={wp}",
                                    "--stats", stats)
        p = props[1]
        self.assertClose(p["q_mean"], 2.7, "mean")
        self.assertClose(p["q_stdev"], math.sqrt(1.01), "stdev")   # sum f (x - 2.7)^2 = 1.01
        self.assertEqual((p["q_min"], p["q_max"]), (1.0, 4.0))
        self.assertClose(p["q_frac_ge_2_5"], 0.5, "frac(2.5)")
        self.assertClose(p["q_frac_ge_3"], 0.5, "frac(3)")
        self.assertEqual(p["q_frac_ge_4_5"], 0.0)
        self.assertClose(p["q_weighted_mean_w"], 4.6 / 1.5, "weighted_mean: sum f w x / sum f w")
        self.assertClose(p["w_weighted_mean_w"], (0.1 * 4 + 0.4 + 0.3 * 9) / 1.5, "w by w")

        # Irregular zones with nodata in the weights: the same from the reference coverage;
        # the weight may also be a domain raster (--arrivals).
        rng = np.random.default_rng(3)
        x = f32(np.round(rng.uniform(0, 10, (ROWS, COLS)), 2))
        wt = f32(np.round(rng.uniform(0, 5, (ROWS, COLS)), 2))
        wt[5, 5] = wt[2, 2] = np.nan
        xp, wp = write_raster(self.path("x.tif"), x), write_raster(self.path("wt.tif"), wt)
        zones = self.zones(*self.IRREGULAR, name="irregular.gpkg")
        stats = ("count,stdev,min,max,frac(2.5),frac(7),weighted_mean(w),weighted_mean(arrivals),"
                 "median,quantile(0.9),majority")
        props, _, _, _ = self.zonal("--zones", zones, "-r", f"x={xp}", "-r", f"w={wp}",
                                    "--arrivals", wp, "--stats", stats)
        for i, wkt in enumerate(self.IRREGULAR):
            f = reference_coverage(local(wkt))
            e = reference_stats(f, x, wt, thresholds=(2.5, 7), quantiles=(0.5, 0.9))
            p = props[i + 1]
            self.assertStats(p, "x", e, stats=("count", "stdev", "min", "max"))
            self.assertClose(p["x_frac_ge_2_5"], e["frac2.5"], f"zone {i + 1} frac(2.5)")
            self.assertClose(p["x_frac_ge_7"], e["frac7"], f"zone {i + 1} frac(7)")
            self.assertClose(p["x_weighted_mean_w"], e["wmean"], f"zone {i + 1} weighted_mean")
            self.assertClose(p["x_weighted_mean_arrivals"], e["wmean"], f"zone {i + 1} by arrivals")
            self.assertClose(p["x_median"], e["q0.5"], f"zone {i + 1} median")
            self.assertClose(p["x_p90"], e["q0.9"], f"zone {i + 1} p90")
            valid = (f > 0) & ~np.isnan(x)
            sums = {}
            for xv, fv in zip(x[valid], f[valid]):
                sums[xv] = sums.get(xv, 0.0) + fv
            self.assertEqual(p["x_majority"], max(sums, key=lambda k: (sums[k], -k)))
            # arrivals_total = sum f a (here the weight raster).
            aw = (f > 0) & ~np.isnan(wt)
            self.assertClose(p["arrivals_total"], (f[aw] * wt[aw]).sum(), f"zone {i + 1} arrivals")


# ---------------------------------------------------------------------------------------------
# 1b. The neighbourhood metrics on hand-made layers


def write_bands(path, bands, metadata=None):
    """A Float32 GeoTIFF on the test grid with one band per (description, array); metadata
    gives band items {band index: {key: value}}. Returns path."""
    ds = gdal.GetDriverByName("GTiff").Create(path, COLS, ROWS, len(bands), gdal.GDT_Float32)
    ds.SetGeoTransform((X0, CELL, 0.0, Y0, 0.0, -CELL))
    ds.SetSpatialRef(srs_of(UTM36S))
    for k, (description, array) in enumerate(bands):
        band = ds.GetRasterBand(k + 1)
        band.SetNoDataValue(NODATA)
        band.WriteArray(np.where(np.isnan(array), NODATA, array).astype(np.float32))
        if description:
            band.SetDescription(description)
        for key, value in (metadata or {}).get(k, {}).items():
            band.SetMetadataItem(key, value)
    ds = None
    return path


def domain_reference(f, a, b, v, depths, S, u):
    """The neighbourhood metrics from the formulas cityrisk records (CITYRISK_FORMULA), each
    over the cells where its inputs have values; ca = f x cell area."""
    ca = f * CELL_AREA
    area = ca.sum()
    ok = lambda *xs: (f > 0) & np.logical_and.reduce([~np.isnan(x) for x in xs])
    m = {"area_km2": area / 1e6, "data_coverage": ca[ok(a, b, v, S, u, *depths)].sum() / area}
    m["arrivals_total"] = (f * a)[ok(a)].sum()
    m["arrivals_per_km2"] = m["arrivals_total"] / m["area_km2"]
    for k, d in enumerate(depths):
        wet = ok(d) & (np.nan_to_num(d) > 0)
        m[f"flood_area_share#{k}"] = ca[wet].sum() / area
        m[f"arrivals_flooded#{k}"] = (f * a)[ok(a, d) & wet].sum()
        m[f"arrivals_flooded_share#{k}"] = m[f"arrivals_flooded#{k}"] / m["arrivals_total"]
        m[f"informal_flooded_share#{k}"] = (f * v)[ok(v, d) & wet].sum() / (f * v)[ok(v, d)].sum()
        m[f"arrivals_compound#{k}"] = (f * a)[ok(a, v, b, d) & wet & (np.nan_to_num(v) >= 0.5)
                                             & (np.nan_to_num(b) >= 3)].sum()
    m["informal_area_share"] = (ca * v)[ok(v)].sum() / area
    m["arrivals_informal"] = (f * a * v)[ok(a, v)].sum()
    m["water_stress_mean"] = (ca * b)[ok(b)].sum() / ca[ok(b)].sum()
    m["water_stress_arrivals"] = (f * a * b)[ok(a, b)].sum() / (f * a)[ok(a, b)].sum()
    m["arrivals_high_water_stress"] = (f * a)[ok(a, b) & (np.nan_to_num(b) >= 3)].sum()
    m["water_uplift_mean"] = (f * a * u)[ok(a, u)].sum() / (f * a)[ok(a, u)].sum()
    m["score_mean"] = (ca * S)[ok(S)].sum() / ca[ok(S)].sum()
    m["score_p90"] = weighted_quantile(S[ok(S)], ca[ok(S)], 0.9)
    m["score_arrivals"] = (f * a * S)[ok(a, S)].sum() / (f * a)[ok(a, S)].sum()
    return m


class DomainMetrics(ZonalCase):
    """Zone 1 covers cells (0, 0), (0, 1), (1, 0), (1, 1) whole and (0, 2), (1, 2) half."""

    def layers(self):
        nan = np.nan
        a = np.zeros((ROWS, COLS))
        a[0, :3], a[1, :3] = [10, 0, 4], [2, 6, nan]
        b = np.ones((ROWS, COLS))
        b[0, :3], b[1, :3] = [3.5, 1, 4], [2, 3, 5]
        v = np.full((ROWS, COLS), 0.1)
        v[0, :3], v[1, :3] = [0.6, 0.2, 1.0], [0.5, nan, 0.0]
        d1 = np.zeros((ROWS, COLS))
        d1[0, :3], d1[1, :3] = [0, 0.3, 0], [nan, 0, 1.0]
        d2 = np.zeros((ROWS, COLS))
        d2[0, :3], d2[1, :3] = [0.5, 0.3, 0.2], [nan, 0.1, 1.5]
        S = np.ones((ROWS, COLS))
        S[0, :3], S[1, :3] = [7.0, 2.5, 5.5], [nan, 4.0, 6.6]
        u = np.zeros((ROWS, COLS))
        u[0, :3], u[1, :3] = [0.5, 1.0, 0.2], [0.3, nan, 0.1]
        return {k: f32(x) for k, x in dict(a=a, b=b, v=v, d1=d1, d2=d2, S=S, u=u).items()}

    def test_metrics_by_hand_and_by_formula(self):
        L = self.layers()
        cls = np.where(np.isnan(L["S"]), np.nan, 1.0)
        exposure = write_bands(self.path("exposure.tif"),
                               [("score", L["S"]), ("class", cls), ("water_uplift", L["u"])])
        sea = write_bands(self.path("sea.tif"), [("ssp245-2050 depth", L["d1"]), ("", L["d2"])],
                          {0: {"SCENARIO": "ssp245-2050"}})
        zone = polygon_wkt([(0, 0), (25, 0), (25, -20), (0, -20)])
        nowhere = polygon_wkt([(300, 0), (310, 0), (310, -10)])   # off the grid
        args = ["--zones", self.zones(zone, nowhere), "--exposure", exposure, "--sea", sea,
                "--arrivals", write_raster(self.path("a.tif"), L["a"]),
                "--water", write_raster(self.path("b.tif"), L["b"]),
                "--informal", write_raster(self.path("v.tif"), L["v"])]
        props, summary, _, _ = self.zonal(*args)
        self.assertEqual(summary["scenarios"], ["ssp245-2050", "band2"])
        p = props[1]
        sc = ["_ssp245_2050", "_band2"]
        by_hand = {
            "area_km2": 500e-6, "data_coverage": 0.5,   # row 1 misses a value in each cell
            "arrivals_total": 20.0, "arrivals_per_km2": 40000.0,
            "flood_area_share" + sc[0]: 0.3, "flood_area_share" + sc[1]: 0.8,
            "arrivals_flooded" + sc[0]: 0.0, "arrivals_flooded" + sc[1]: 18.0,
            "arrivals_flooded_share" + sc[1]: 0.9,
            "informal_area_share": 0.36,
            "informal_flooded_share" + sc[0]: 0.2 / 1.3, "informal_flooded_share" + sc[1]: 1.0,
            "arrivals_informal": 9.0, "water_stress_mean": 2.8, "water_stress_arrivals": 3.25,
            "arrivals_high_water_stress": 18.0,
            "arrivals_compound" + sc[0]: 0.0, "arrivals_compound" + sc[1]: 12.0,
            "water_uplift_mean": 6.0 / 14.0, "score_mean": 1955.0 / 400.0,
            "score_arrivals": 105.0 / 18.0,
        }
        f = reference_coverage(local(zone))
        ref = domain_reference(f, L["a"], L["b"], L["v"], [L["d1"], L["d2"]], L["S"], L["u"])
        for k, value in ref.items():
            name = re.sub(r"#(\d)$", lambda m: sc[int(m.group(1))], k)
            self.assertClose(p[name], value, f"{name} by formula", rel=1e-6)
        for name, value in by_hand.items():
            self.assertClose(p[name], value, f"{name} by hand", rel=1e-6)
        self.assertEqual(p["score_class"], 3)              # 4.8875 in [3.5, 5)
        self.assertEqual(p["score_rank"], 1)
        self.assertEqual(summary["classes"]["breaks"], INFORM_BREAKS)
        self.assertClose(summary["totals"]["arrivals_compound_band2"], 12.0, "total", rel=1e-9)
        # Off the grid: a true coverage of 0, every metric null, no class and no rank.
        q = props[2]
        self.assertEqual(q["data_coverage"], 0.0)
        for name in by_hand:
            if name not in ("area_km2", "data_coverage"):
                self.assertIsNone(q[name], name)
        self.assertIsNone(q["score_class"])
        self.assertIsNone(q["score_rank"])
        self.assertEqual(summary["zones_without_data"], 1)

        # A single-band sea raster: the columns have no scenario suffix; --classes applies.
        one = write_bands(self.path("sea1.tif"), [("", L["d2"])])
        args[args.index(sea)] = one
        props, summary, _, _ = self.zonal(*args, "--classes", "fixed:4.9")
        p = props[1]
        self.assertClose(p["arrivals_compound"], 12.0, "compound", rel=1e-6)
        self.assertClose(p["flood_area_share"], 0.8, "flood share", rel=1e-6)
        self.assertNotIn("flood_area_share_band1", p)
        self.assertEqual(p["score_class"], 1)
        self.assertEqual(summary["classes"]["breaks"], [4.9])

    def test_water_stress_outside_the_aqueduct_scale(self):
        # `cityrisk score` rejects water-stress scores outside 0-5 (exit 3); zonal must not
        # turn them into metrics off the scale: a mean above 5 or a negative uplift.
        b = np.full((ROWS, COLS), -1.0)   # Aqueduct's "arid and low water use"
        b[0, :] = 7.0
        zones = self.zones(polygon_wkt([(0, 0), (20, 0), (20, -10), (0, -10)]),     # b = 7
                           polygon_wkt([(0, -50), (20, -50), (20, -60), (0, -60)]))  # b = -1
        out = self.path("out.geojson")
        args = ["zonal", "--zones", zones, "--water", write_raster(self.path("b.tif"), b),
                "--arrivals", write_raster(self.path("a.tif"), np.full((ROWS, COLS), 5.0)),
                "--population", write_raster(self.path("p.tif"), np.full((ROWS, COLS), 10.0)),
                "-o", out]
        message = self.assertFails(args, 3, "water raster", "b.tif", "value 7",
                                   "Aqueduct water-stress scores, 0 to 5")
        self.assertIn("column 0, row 0", message)
        self.assertFalse(os.path.exists(out))
        # Within the tolerance (0.01) values are clamped onto the scale.
        b[0, :] = 5.005
        b[1:, :] = -0.005
        write_raster(self.path("b.tif"), b)
        rc, _, err = run(*args)
        self.assertEqual(rc, 0, err)
        with open(out) as fh:
            props = [f["properties"] for f in json.load(fh)["features"]]
        self.assertAlmostEqual(props[0]["water_stress_mean"], 5.0, places=6)
        self.assertAlmostEqual(props[1]["water_stress_mean"], 0.0, places=6)
        for p in props:
            self.assertTrue(0 <= p["water_uplift_mean"] <= 5, p)


# ---------------------------------------------------------------------------------------------
# 1c. One order of the sums at any thread count


class ThreadOrder(ZonalCase):
    """Sums over many cells depend on the order of their additions; a run adds them in one
    order at any --threads, and the merge of its tiles' parts in the same one: block by
    block in raster order (the 512 x 512 blocks the grid is read in), each block's cells row
    by row. The fixture is made for rounding: 1300 x 1300 cells (3 x 3 blocks), values of
    both signs up to 1e8 among values near 1e-3 (their sums cancel, so their last digits
    depend on the order), nodata cells, and zones that span many blocks and overlap."""

    N = 1100
    BLOCK = 512
    STATS = "count,sum,mean,min,max,stdev,median,quantile(0.9),majority,frac(0)"
    SQUARE = (312, 712)  # cells: a square zone over the corners of the first four blocks

    def fixture(self):
        rng = np.random.default_rng(23)
        n = self.N
        x = rng.normal(0.0, 1e8, (n, n)) * (rng.random((n, n)) < 0.5)
        x += rng.normal(0.0, 1e-3, (n, n))
        x = f32(x)
        x[rng.random((n, n)) < 0.03] = np.nan
        raster = write_raster(self.path("x.tif"), x)
        a, b = (k * CELL for k in self.SQUARE)
        square = polygon_wkt([(a, -a), (b, -a), (b, -b), (a, -b)])
        # Stars about the blocks' corners, so that each spans two to four blocks.
        corner = [self.BLOCK * CELL, 2 * self.BLOCK * CELL]
        stars = [Analytic.random_star(self, rng, rng.choice(corner) + rng.uniform(-900, 900),
                                      -rng.choice(corner) + rng.uniform(-900, 900), 300, 2000,
                                      40) for _ in range(12)]
        return x, raster, self.zones(square, *stars)

    def block_order_sum(self, x):
        """The sum of the valid cells of x in the order the run adds them (f = 1 in every
        cell of the square): each block's cells row by row from 0.0, the blocks' sums added
        in raster order. np.cumsum adds in sequence, unlike np.sum."""
        a, b = self.SQUARE
        total = 0.0
        for r in range(0, self.N, self.BLOCK):
            for c in range(0, self.N, self.BLOCK):
                part = x[max(r, a):min(r + self.BLOCK, b), max(c, a):min(c + self.BLOCK, b)]
                if part.size:
                    total += float(np.cumsum(part[~np.isnan(part)])[-1])
        return total

    def test_same_bytes_at_one_two_and_three_threads_and_from_tiles(self):
        x, raster, zones = self.fixture()
        # The data make the order show: row by row over the square, or block by block, its
        # sums differ in the digits written.
        a, b = self.SQUARE
        square = x[a:b, a:b]
        by_rows = float(np.cumsum(square[~np.isnan(square)])[-1])
        by_blocks = self.block_order_sum(x)
        self.assertNotEqual(f"{by_rows:.15g}", f"{by_blocks:.15g}")
        args = ["--zones", zones, "-r", f"x={raster}", "--stats", self.STATS, "--overwrite"]
        made = {}
        for threads in ["1", "2", "3"]:
            for out in ["out.csv", "out.geojson"]:
                # One output path, so that the command the GeoJSON records is the same.
                rc, _, err = run("zonal", *args, "--threads", threads, "-o", self.path(out))
                self.assertEqual(rc, 0, err)
                made[threads, out] = read_bytes(self.path(out))
        for out in ["out.csv", "out.geojson"]:
            self.assertEqual(made["2", out], made["1", out], f"{out}: --threads 2 against 1")
            self.assertEqual(made["3", out], made["1", out], f"{out}: --threads 3 against 1")
        features = json.loads(made["1", "out.geojson"])["features"]
        first = features[0]["properties"]
        self.assertEqual(first["x_count"], float(np.count_nonzero(~np.isnan(square))))
        self.assertEqual(first["x_sum"], by_blocks)
        # The parts of four tiles, merged, add the blocks in the same order.
        parts = []
        for k in range(1, 5):
            parts.append(self.path(f"part{k}.json"))
            rc, _, err = run("zonal", *args, "--threads", str(k % 3 + 1), "--tile", f"{k}/4",
                             "--partial", "-o", parts[-1])
            self.assertEqual(rc, 0, err)
        rc, _, err = run("zonal", "--merge", *parts, "-o", self.path("merged.geojson"))
        self.assertEqual(rc, 0, err)
        with open(self.path("merged.geojson"), encoding="utf-8") as fh:
            self.assertEqual(json.load(fh)["features"], features)


# ---------------------------------------------------------------------------------------------
# 2. Repair, nulls and failures


class RepairAndNulls(ZonalCase):
    def test_bow_tie_is_repaired_with_a_warning(self):
        bow_tie = polygon_wkt([(0, 0), (20, -20), (20, 0), (0, -20)])
        square = polygon_wkt([(50, -50), (60, -50), (60, -40), (50, -40)])
        zones = self.zones(square, bow_tie, names=["plain", "Bowtie Flats"])
        props, summary, err, _ = self.zonal("--zones", zones, "--id-field", "zid",
                                            "--name-field", "name", "-r",
                                            f"v={self.value_raster()}")
        self.assertEqual(summary["zones_repaired"], 1)
        warnings = [l for l in err.splitlines() if "invalid" in l]
        self.assertEqual(len(warnings), 1, err)
        self.assertIn("feature 2", warnings[0])
        self.assertIn("zid '2'", warnings[0])
        self.assertIn("Bowtie Flats", warnings[0])
        self.assertIn("repaired", warnings[0])
        # Two triangles, each half of two cells.
        p = props[2]
        self.assertClose(p["v_count"], 2.0, "count")
        self.assertClose(p["v_sum"], 0.5 * (V[0, 0] + V[0, 1] + V[1, 0] + V[1, 1]), "sum")
        self.assertClose(p["area_km2"], 200e-6, "area of the repaired polygon")
        self.assertEqual(p["data_coverage"], 1.0)
        self.assertEqual(props[1]["v_count"], 1.0)

    def test_null_and_empty_geometries_get_null_statistics(self):
        square = polygon_wkt([(50, -50), (60, -50), (60, -40), (50, -40)])
        zones = self.zones(square, None, "POLYGON EMPTY", square)
        props, summary, err, doc = self.zonal("--zones", zones, "-r", f"v={self.value_raster()}",
                                              "--stats", "count,sum,mean,median,stdev")
        self.assertEqual(summary["zones"], 4)
        self.assertEqual(summary["zones_empty"], 2)
        self.assertEqual(summary["zones_repaired"], 0)
        stats = ["area_km2", "data_coverage", "v_count", "v_sum", "v_mean", "v_median", "v_stdev"]
        for zid in (2, 3):
            for name in stats:
                self.assertIn(name, props[zid])
                self.assertIsNone(props[zid][name], f"zone {zid} {name}")
            self.assertEqual(props[zid]["name"], f"zone {zid}")
        for zid in (1, 4):
            self.assertEqual(props[zid]["v_count"], 1.0)
            self.assertEqual(props[zid]["v_mean"], V[4, 5])
        self.assertEqual([f["properties"]["zid"] for f in doc["features"]], [1, 2, 3, 4])
        self.assertIsNone(doc["features"][1]["geometry"])
        self.assertIn("feature 2", err)
        self.assertIn("feature 3", err)
        # The null is JSON null in the text too, never NaN.
        with open(summary["output"]) as fh:
            text = fh.read()
        self.assertNotIn("NaN", text)
        self.assertNotIn("nan", text)


class Failures(ZonalCase):
    def setUp(self):
        super().setUp()
        self.out_dir = self.path("out")
        os.mkdir(self.out_dir)
        self.v = self.value_raster()
        self.square = self.zones(polygon_wkt([(50, -50), (60, -50), (60, -40), (50, -40)]))
        self.out = os.path.join(self.out_dir, "z.geojson")

    def test_point_zones_fail_naming_the_feature(self):
        pts = self.zones("POINT (700055 7800045)", "POINT (700015 7800015)", name="points.gpkg",
                         geom_type=ogr.wkbPoint)
        message = self.assertFailsClean(["zonal", "--zones", pts, "-r", f"v={self.v}", "-o",
                                         self.out, "--id-field", "zid"], 3, "feature 1",
                                        "zid '1'", "polygon")
        self.assertIn("Point", message)
        # A polygon layer with one line among its features: that feature is named.
        mixed = self.zones(polygon_wkt([(0, 0), (10, 0), (10, -10)]),
                           "LINESTRING (700000 7800000, 700050 7800050)", name="mixed.gpkg")
        self.assertFailsClean(["zonal", "--zones", mixed, "-r", f"v={self.v}", "-o", self.out],
                              3, "feature 2", "polygon")

    def test_zones_without_crs_fail(self):
        shp = self.zones(polygon_wkt([(50, -50), (60, -50), (60, -40)]), name="nocrs.shp",
                         driver="ESRI Shapefile", epsg=None)
        self.assertFalse(os.path.exists(self.path("nocrs.prj")))
        self.assertFailsClean(["zonal", "--zones", shp, "-r", f"v={self.v}", "-o", self.out],
                              3, "CRS")

    def test_usage_errors(self):
        base = ["zonal", "--zones", self.square, "-o", self.out]
        cases = [
            (["--layer", "nope", "-r", f"v={self.v}"], "nope"),
            (["--id-field", "nope", "-r", f"v={self.v}"], "nope"),
            (["--name-field", "nope", "-r", f"v={self.v}"], "nope"),
            (["-r", f"v={self.v}", "--stats", "bogus"], "bogus"),
            (["-r", f"v={self.v}", "--stats", "mean,quantile(1.5)"], "quantile"),
            (["-r", f"v={self.v}", "--stats", "mean,mean"], "twice"),
            (["-r", f"v={self.v}", "--stats", "mean,,sum"], "empty"),
            (["-r", f"v={self.v}", "--stats", "frac"], "frac"),
            (["-r", f"v={self.v}", "--stats", "median(3)"], "median"),
            (["-r", f"v={self.v}", "--stats", "weighted_mean(pop)"], "pop"),
            (["-r", f"v={self.v}", "--stats", "weighted_mean(arrivals)"], "arrivals"),
            (["-r", f"1v={self.v}"], "1v"),
            (["-r", self.v], "NAME=RASTER"),
            (["-r", f"v={self.v}", "-r", f"v={self.v}"], "twice"),
            (["-r", f"v={self.v}", "-of", "NoSuchFormat"], "NoSuchFormat"),
            ([], "raster"),
        ]
        for extra, needle in cases:
            with self.subTest(extra=extra):
                self.assertFailsClean(base + extra, 2, needle)
        self.assertFailsClean(["zonal", "-r", f"v={self.v}", "-o", self.out], 2, "--zones")
        self.assertFailsClean(["zonal", "--zones", self.square, "-r", f"v={self.v}"], 2, "-o")
        self.assertFailsClean(["zonal", "--zones", self.square, "-r", f"v={self.v}", "-o", "-",
                               "--json"], 2, "--json")
        self.assertFailsClean(["zonal", "--zones", self.square, "-r", f"v={self.v}", "-o", "-",
                               "-of", "GPKG"], 2, "GeoJSON")

    def test_write_failures_leave_nothing(self):
        # The layer or a field cannot be created once the hidden folder exists.
        for fmt, needle in [("GPX", "layer"), ("DXF", "field")]:
            with self.subTest(fmt=fmt):
                self.assertFailsClean(["zonal", "--zones", self.square, "-r", f"v={self.v}",
                                       "-of", fmt, "-o", os.path.join(self.out_dir, "z.out")],
                                      1, needle)

    def test_existing_output_is_left_untouched(self):
        with open(self.out, "w") as fh:
            fh.write("precious\n")
        os.utime(self.out, (1_000_000_000, 1_000_000_000))
        self.assertFailsClean(["zonal", "--zones", self.square, "-r", f"v={self.v}", "-o",
                               self.out], 4, "--overwrite", existing=["z.geojson"])
        with open(self.out) as fh:
            self.assertEqual(fh.read(), "precious\n")
        self.assertEqual(os.stat(self.out).st_mtime, 1_000_000_000)
        # With --overwrite it is replaced, and nothing else is left beside it.
        rc, _, err = run("zonal", "--zones", self.square, "-r", f"v={self.v}", "-o", self.out,
                         "--overwrite", "-q")
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")
        self.assertEqual(os.listdir(self.out_dir), ["z.geojson"])
        with open(self.out) as fh:
            self.assertEqual(json.load(fh)["features"][0]["properties"]["v_count"], 1.0)

    def test_output_that_is_an_input_fails(self):
        zones = os.path.join(self.out_dir, "zones.gpkg")
        shutil.copy(self.square, zones)
        v = os.path.join(self.out_dir, "v.tif")
        shutil.copy(self.v, v)
        before = {n: read_bytes(os.path.join(self.out_dir, n)) for n in ("zones.gpkg", "v.tif")}
        for out in (zones, v):
            with self.subTest(out=out):
                self.assertFailsClean(["zonal", "--zones", zones, "-r", f"v={v}", "-o", out,
                                       "--overwrite", "-of", "GPKG"], 2, "input",
                                      existing=["zones.gpkg", "v.tif"])
                # Without --overwrite too: replacing an input is the error, not that it exists.
                self.assertFailsClean(["zonal", "--zones", zones, "-r", f"v={v}", "-o", out],
                                      2, "input", existing=["zones.gpkg", "v.tif"])
        for n, data in before.items():
            self.assertEqual(read_bytes(os.path.join(self.out_dir, n)), data, n)

    def test_missing_or_wrong_inputs_fail_without_output(self):
        self.assertFailsClean(["zonal", "--zones", self.square, "-r",
                               f"v={self.path('missing.tif')}", "-o", self.out], 1, "missing.tif")
        self.assertFailsClean(["zonal", "--zones", self.path("nozones.gpkg"), "-r", f"v={self.v}",
                               "-o", self.out], 1, "nozones.gpkg")
        self.assertFailsClean(["zonal", "--zones", self.square, "--exposure", self.v, "-o",
                               self.out], 3, "score")

    def test_a_raster_name_that_makes_a_domain_column_fails(self):
        self.assertFailsClean(["zonal", "--zones", self.square, "--water", self.v, "-r",
                               f"Water_Stress={self.v}", "--stats", "mean", "-o", self.out], 2,
                              "'Water_Stress_mean'")


# ---------------------------------------------------------------------------------------------
# 2b. Zones that cost more than they cover (issue 16): self-intersecting rings, rings with
# thousands of crossings, zones far larger than the grid, and source fields that differ only in
# case. Shapes are worked out by hand; areas beyond the grid come from PROJ's ellipsoidal
# cylindrical equal-area projection through OGR, or the published area of the WGS 84 ellipsoid.

# The area of the WGS 84 ellipsoid (GeographicLib's documentation: 510065621724088.5 m2).
WGS84_AREA_KM2 = 510065621.7240885


def zig_zag(n, s, h, x0, y0):
    """The ring of issue 16, in general: out along a zig-zag of n steps of s metres between y0
    and y0 + h, up, and back along its mirror image. The two lines cross n times (at x0 + s/2,
    x0 + 3s/2, ...) and enclose, at every x, the strip between them, of height |2f - h| (f the
    zig-zag above y0): a triangle wave of period s and mean h/2. So the area is s h n / 2, and
    any stretch of whole periods holds h/2 of its width. n is even (the ring starts and ends at
    x0, y0)."""
    assert n % 2 == 0
    ring = [(x0 + s * i, y0 + h * (i % 2)) for i in range(n + 1)]
    ring.append((x0 + s * n, y0 + h))
    ring += [(x0 + s * i, y0 + h * ((i + 1) % 2)) for i in range(n - 1, -1, -1)]
    return ring


def lonlat_box_wkt(lon0, lat0, lon1, lat1):
    return (f"POLYGON (({lon0} {lat0},{lon1} {lat0},{lon1} {lat1},{lon0} {lat1},"
            f"{lon0} {lat0}))")


def equal_area_km2(wkt):
    """The area on the WGS 84 ellipsoid of a lon/lat polygon whose edges are straight in lon/lat,
    through PROJ's ellipsoidal cylindrical equal-area projection (edges densified to 0.01
    degree first)."""
    g = ogr.CreateGeometryFromWkt(wkt)
    g.Segmentize(0.01)
    cea = osr.SpatialReference()
    cea.SetFromUserInput("+proj=cea +ellps=WGS84 +lat_ts=0 +units=m +type=crs")
    g.Transform(osr.CoordinateTransformation(srs_of(4326), cea))
    return g.GetArea() / 1e6


def run_measured(args, timeout=120):
    """Runs cityrisk with args; returns (exit code, stdout, stderr, seconds, peak resident
    memory in MB). A run still going after timeout seconds is killed (exit code None)."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([CITYRISK, *args], stdout=out, stderr=err)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        code = None if seconds >= timeout else proc.returncode
        return (code, out.read().decode(), err.read().decode(errors="replace"), seconds,
                usage.ru_maxrss / 1024)


class CostlyZones(ZonalCase):
    def test_zig_zag_with_a_spike_is_repaired_into_its_five_parts(self):
        # Issue 16's ring: 4 crossings, then a spike out to (-10, -10) and back. GEOS makes 5
        # polygons of it (2 triangles of 4 m2, 3 diamonds of 8 m2) and a line (the spike).
        # It lies in cells (4, 2) (x 20 .. 30: a triangle and two diamonds, 20 m2) and
        # (4, 3) (a diamond and a triangle, 12 m2).
        ring = zig_zag(4, 4.0, 4.0, 20.0, -50.0) + [(20.0, -50.0), (10.0, -60.0)]
        self.assertEqual(len(ring) + 1, 13)
        zones = self.zones(polygon_wkt(ring), names=["Zig zag"])
        props, summary, err, _ = self.zonal("--zones", zones, "--name-field", "name",
                                            "-r", f"v={self.value_raster()}")
        self.assertEqual(summary["zones_repaired"], 1)
        self.assertRegex(err, r"warning: zones '.*': feature 1 \(name 'Zig zag'\) is invalid "
                              r"\(.*[Ss]elf-intersection.*\); repaired with GEOS MakeValid")
        p = props[1]
        self.assertClose(p["area_km2"], 32e-6, "area: 2 x 4 + 3 x 8 m2")
        self.assertClose(p["v_count"], 0.32, "count")
        self.assertClose(p["v_sum"], 0.20 * V[4, 2] + 0.12 * V[4, 3], "sum")
        self.assertEqual(p["data_coverage"], 1.0)

    def test_ten_thousand_vertices_crossing_five_thousand_times(self):
        # 5000 steps of 2 cm, 8 m high, across the whole width of row 4: 10002 vertices, 5000
        # crossings. Each cell of the row holds 500 whole periods: h/2 x 10 m = 40 m2 of it.
        ring = zig_zag(5000, 0.02, 8.0, 0.0, -49.0)
        self.assertEqual(len(ring), 10002)
        zones = self.zones(polygon_wkt(ring))
        one = self.value_raster("one.tif", np.ones((ROWS, COLS)))
        code, stdout, err, seconds, _ = run_measured(
            ["zonal", "--zones", zones, "-r", f"v={self.value_raster()}", "-r", f"one={one}",
             "--json", "-o", self.path("z.geojson")])
        self.assertEqual(code, 0, err)
        self.assertIn("repaired with GEOS MakeValid", err)
        self.assertNotIn("simplified", err)   # exact: few enough crossings to repair as it is
        with open(self.path("z.geojson")) as fh:
            p = json.load(fh)["features"][0]["properties"]
        self.assertClose(p["area_km2"], 0.02 * 8.0 * 5000 / 2 / 1e6, "area", rel=1e-9)
        self.assertClose(p["one_count"], 4.0, "count: 0.4 of each of the 10 cells", rel=1e-9)
        self.assertClose(p["v_sum"], 0.4 * V[4, :].sum(), "sum", rel=1e-9)
        self.assertLess(seconds, 60)

    def random_ring(self, seed, n):
        """n points drawn uniformly over the grid, in drawing order: a ring that crosses
        itself about n^2/9 times."""
        rng = np.random.default_rng(seed)
        return [(float(u), float(w)) for u, w in zip(rng.uniform(0.5, 99.5, n),
                                                      rng.uniform(-99.5, -0.5, n))]

    def test_a_ring_with_millions_of_crossings_is_simplified_then_repaired(self):
        # 10,000 random vertices cross about 10 million times: GEOS's linework repair ran for
        # minutes and the structure method takes 10 GB. The repair's cost is bounded: the zone
        # is simplified until it crosses itself few enough times, with a warning.
        zones = self.zones(polygon_wkt(self.random_ring(16, 10000)), names=["Scribble"])
        one = self.value_raster("one.tif", np.ones((ROWS, COLS)))
        code, stdout, err, seconds, rss = run_measured(
            ["zonal", "--zones", zones, "--name-field", "name", "-r", f"one={one}", "--json",
             "-o", self.path("z.geojson")], timeout=120)
        self.assertEqual(code, 0, f"after {seconds:.0f} s: {err}")
        self.assertRegex(err, r"warning: zones '.*': feature 1 \(name 'Scribble'\) is invalid "
                              r"\(.*\) and crosses itself more than [\d,]+ times; simplified "
                              r"from 10001 to \d+ vertices, then repaired with GEOS MakeValid")
        self.assertEqual(json.loads(stdout)["zones_repaired"], 1)
        with open(self.path("z.geojson")) as fh:
            p = json.load(fh)["features"][0]["properties"]
        # Whatever the simplification kept, the result is a valid polygon on the grid: its
        # cells add up to its area.
        self.assertGreater(p["area_km2"], 0.0)
        self.assertLessEqual(p["area_km2"], 1e-2)
        self.assertClose(p["one_count"], p["area_km2"] * 1e6 / CELL_AREA, "count", rel=1e-9)
        self.assertClose(p["data_coverage"], 1.0, "data_coverage", rel=1e-9)
        self.assertLess(rss, 1024, "peak memory (MB)")

    def test_sigint_stops_the_repair_of_costly_zones(self):
        zones = self.zones(*[polygon_wkt(self.random_ring(seed, 10000)) for seed in range(12)])
        out = self.path("z.geojson")
        proc = subprocess.Popen([CITYRISK, "zonal", "--zones", zones, "-r",
                                 f"v={self.value_raster()}", "-o", out],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        lines = []
        for line in proc.stderr:            # the first zone's warning: the repairs are under way
            lines.append(line)
            if "invalid" in line:
                break
        self.assertIsNone(proc.poll(), f"the command ended first: {''.join(lines)}")
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        try:
            rest = proc.communicate(timeout=60)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            self.fail("SIGINT did not stop the repairs within 60 s")
        self.assertEqual(proc.returncode, 130, rest)
        self.assertLess(time.monotonic() - sent, 10, "the command did not stop promptly")
        self.assertIn("interrupted by SIGINT", rest.strip().splitlines()[-1])
        self.assertEqual(sorted(os.listdir(self.tmp)), ["v.tif", "zones.gpkg"])

    def zonal_measured(self, zones, raster=None):
        """zonal over raster (the value raster by default) as v; asserts exit 0 in under a
        minute and 1 GB. Returns (properties by zid, summary)."""
        out = self.path(f"out-{len(os.listdir(self.tmp))}.geojson")
        code, stdout, err, seconds, rss = run_measured(
            ["zonal", "--zones", zones, "-r", f"v={raster or self.value_raster()}", "--json",
             "-o", out], timeout=60)
        self.assertEqual(code, 0, f"after {seconds:.0f} s, {rss:.0f} MB: {err}")
        self.assertLess(rss, 1024, "peak memory (MB)")
        with open(out) as fh:
            doc = json.load(fh)
        return {f["properties"]["zid"]: f["properties"] for f in doc["features"]}, \
            json.loads(stdout)

    def test_zones_of_the_whole_world_cost_what_the_grid_does(self):
        # Over a 10 x 10 grid in UTM, in lon/lat: a band from 80 S to 80 N, and the whole
        # world (which took 3.7 and 2.3-5.8 GB, then printed garbage or aborted).
        for name, wkt, area in [
                ("band", lonlat_box_wkt(-180, -80, 180, 80),
                 equal_area_km2(lonlat_box_wkt(-180, -80, 180, 80))),
                ("world", lonlat_box_wkt(-180, -90, 180, 90), WGS84_AREA_KM2)]:
            with self.subTest(zone=name):
                zones = self.zones(wkt, name=f"{name}.geojson", driver="GeoJSON", epsg=4326)
                props, summary = self.zonal_measured(zones)
                p = props[1]
                self.assertEqual(summary["zones_repaired"], 0)
                self.assertClose(p["v_count"], 100.0, "every cell, wholly", rel=1e-12)
                self.assertClose(p["v_sum"], V.sum(), "sum", rel=1e-12)
                self.assertClose(p["area_km2"], area, "the whole zone's area", rel=1e-6)
                self.assertClose(p["data_coverage"], 1e4 / (area * 1e6), "data_coverage",
                                 rel=1e-6)

    def test_zones_beyond_the_grid_keep_their_whole_area(self):
        # In lon/lat over the UTM grid (near 34.9 E, 19.9 S): a 2 x 2 degree square around it,
        # a 1 x 1 degree square 3000 km away, and a small square on the grid for comparison.
        square = ogr.CreateGeometryFromWkt(
            polygon_wkt([(12.3, -88.8), (77.7, -88.8), (77.7, -21.1), (12.3, -21.1)]))
        square.Segmentize(0.5)
        square.Transform(osr.CoordinateTransformation(srs_of(UTM36S), srs_of(4326)))
        lon, lat = square.Centroid().GetX(), square.Centroid().GetY()
        around = lonlat_box_wkt(lon - 1, lat - 1, lon + 1, lat + 1)
        far = lonlat_box_wkt(10, 5, 11, 6)
        zones = self.zones(around, far, square, name="beyond.gpkg", epsg=4326)
        props, summary = self.zonal_measured(zones)
        self.assertEqual(summary["zones_empty"], 0)
        self.assertClose(props[1]["area_km2"], equal_area_km2(around), "around", rel=1e-6)
        self.assertClose(props[1]["v_count"], 100.0, "around: every cell", rel=1e-12)
        self.assertClose(props[2]["area_km2"], equal_area_km2(far), "far", rel=1e-6)
        self.assertEqual(props[2]["data_coverage"], 0.0)
        self.assertEqual(props[2]["v_count"], 0.0)
        self.assertIsNone(props[2]["v_sum"])
        # A zone inside the grid is measured in the grid's CRS, as before.
        self.assertClose(props[3]["area_km2"], 65.4 * 67.7 / 1e6, "on the grid", rel=1e-6)

    def test_zones_across_the_antimeridian(self):
        # A grid in UTM 60S straddling 180 degrees near Fiji; the grid's extent in lon/lat
        # crosses the antimeridian, so zones are cut to two boxes, one each side.
        ct = osr.CoordinateTransformation(srs_of(4326), srs_of(32760))
        x, y, _ = ct.TransformPoint(179.9997, -17.0)
        grid = write_raster(self.path("fiji.tif"), V, origin=(round(x), round(y)), epsg=32760)
        corners = [osr.CoordinateTransformation(srs_of(32760), srs_of(4326)).TransformPoint(
            round(x) + dx, round(y) + dy)[:2] for dx, dy in [(0, 0), (100, -100)]]
        self.assertGreater(corners[0][0], 179.99)   # west of the antimeridian ...
        self.assertLess(corners[1][0], -179.99)     # ... and east of it
        split = ("MULTIPOLYGON (((179.9 -17.1,180 -17.1,180 -16.9,179.9 -16.9,179.9 -17.1)),"
                 "((-180 -17.1,-179.9 -17.1,-179.9 -16.9,-180 -16.9,-180 -17.1)))")
        zones = self.zones(lonlat_box_wkt(-180, -90, 180, 90), split, name="fiji.gpkg", epsg=4326)
        out = self.path("fiji.geojson")
        code, stdout, err, _, _ = run_measured(["zonal", "--zones", zones, "-r", f"v={grid}",
                                                "--json", "-o", out], timeout=60)
        self.assertEqual(code, 0, err)
        self.assertNotIn("warning", err)   # the two halves meet again: no repair to report
        self.assertEqual(json.loads(stdout)["zones_repaired"], 0)
        with open(out) as fh:
            props = {f["properties"]["zid"]: f["properties"] for f in json.load(fh)["features"]}
        halves = (equal_area_km2(lonlat_box_wkt(179.9, -17.1, 180, -16.9)) +
                  equal_area_km2(lonlat_box_wkt(-180, -17.1, -179.9, -16.9)))
        for zid, area in [(1, WGS84_AREA_KM2), (2, halves)]:
            self.assertClose(props[zid]["v_count"], 100.0, f"zone {zid}: every cell", rel=1e-12)
            self.assertClose(props[zid]["v_sum"], V.sum(), f"zone {zid}: sum", rel=1e-12)
            self.assertClose(props[zid]["area_km2"], area, f"zone {zid}: area", rel=1e-6)

    def test_zones_on_a_lonlat_grid(self):
        # A grid of 0.001 degree cells: a box of 2 x 3 cells, and the whole world, whose area
        # GeographicLib's geodesic polygons give only modulo the earth's (it read 0).
        lon0, lat0, res = 34.8, -19.8, 0.001
        grid = write_raster(self.path("lonlat.tif"), V, origin=(lon0, lat0), cell=res, epsg=4326)
        box_wkt = lonlat_box_wkt(lon0 + 2 * res, lat0 - 5 * res, lon0 + 4 * res, lat0 - 2 * res)
        zones = self.zones(box_wkt, lonlat_box_wkt(-180, -90, 180, 90), name="ll.gpkg", epsg=4326)
        props, summary = self.zonal_measured(zones, grid)
        self.assertClose(props[1]["v_count"], 6.0, "box: 6 cells", rel=1e-9)
        self.assertClose(props[1]["v_sum"], V[2:5, 2:4].sum(), "box: sum", rel=1e-9)
        self.assertClose(props[1]["area_km2"], equal_area_km2(box_wkt), "box: area", rel=1e-9)
        self.assertClose(props[1]["data_coverage"], 1.0, "box: data_coverage", rel=1e-9)
        self.assertClose(props[2]["v_count"], 100.0, "world: every cell", rel=1e-12)
        self.assertClose(props[2]["area_km2"], WGS84_AREA_KM2, "world: area", rel=1e-9)

    def test_fields_that_differ_only_in_case(self):
        # GeoJSON keeps "Name" and "name" apart; GPKG (SQLite) and CSV compare names without
        # case, and failed with a raw SQL error. The later one gets a number, as Shapefile
        # names do, with a warning and listed in renamed_fields.
        path = self.path("case.geojson")
        doc = {"type": "FeatureCollection", "features": [{
            "type": "Feature", "properties": {"zid": 1, "Name": "upper", "name": "lower"},
            "geometry": json.loads(ogr.CreateGeometryFromWkt(polygon_wkt(
                [(50, -50), (60, -50), (60, -40), (50, -40)])).ExportToJson())}]}
        doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32736"}}
        with open(path, "w") as fh:
            json.dump(doc, fh)
        for fmt, name in [("GPKG", "z.gpkg"), ("CSV", "z.csv"), ("FlatGeobuf", "z.fgb")]:
            with self.subTest(fmt=fmt):
                out = self.path(name)
                rc, stdout, err = run("zonal", "--zones", path, "-r", f"v={self.value_raster()}",
                                      "-of", fmt, "--json", "-o", out)
                self.assertEqual(rc, 0, err)
                self.assertIn("field 'name' is written as 'name1'", err)
                self.assertEqual(json.loads(stdout)["renamed_fields"], {"name": "name1"})
                rows, names = read_ogr(out)
                self.assertEqual(names[:4], ["zid", "Name", "name1", "area_km2"])
                row = rows[1] if fmt != "CSV" else rows["1"]
                self.assertEqual((row["Name"], row["name1"]), ("upper", "lower"))
        props, summary, err, _ = self.zonal("--zones", path, "-r", f"v={self.value_raster()}")
        self.assertEqual(summary["renamed_fields"], {})
        self.assertEqual((props[1]["Name"], props[1]["name"]), ("upper", "lower"))


# ---------------------------------------------------------------------------------------------
# 3-5. The sample city


def domain_properties(scenarios):
    sfx = ["_" + re.sub(r"[^A-Za-z0-9]", "_", s) for s in scenarios]
    names = ["area_km2", "data_coverage"] + (["land_data_coverage"] if scenarios else [])
    names += ["arrivals_total", "arrivals_per_km2"]
    names += [f"flood_area_share{s}" for s in sfx]
    names += [f"arrivals_flooded{s}" for s in sfx]
    names += [f"arrivals_flooded_share{s}" for s in sfx]
    names += ["informal_area_share"] + [f"informal_flooded_share{s}" for s in sfx]
    names += ["arrivals_informal", "water_stress_mean", "water_stress_arrivals",
              "arrivals_high_water_stress"]
    names += [f"arrivals_compound{s}" for s in sfx]
    names += ["water_uplift_mean", "score_mean", "score_p90", "score_arrivals", "score_class",
              "score_rank"]
    return names


SOURCE_FIELDS = ["nbhd_id", "name", "district", "pop_2020", "pcode"]


class SampleCity(ZonalCase):
    @classmethod
    def setUpClass(cls):
        cls._city = tempfile.TemporaryDirectory(prefix="cityrisk-e2e-zonal-city-")
        d = cls._city.name
        steps, cls.depth, cls.arrivals, cls.exposure = sample_city_steps(d, SCENARIOS, SCENARIOS[1])
        run_steps(steps, "-q")
        cls.inputs = ["--zones", sample("neighbourhoods.gpkg"), "--exposure", cls.exposure,
                      "--arrivals", cls.arrivals, "--sea", cls.depth, "--water",
                      sample("water_stress.tif"), "--informal", sample("settlement.tif"),
                      "--population", sample("population.tif")]
        cls.geojson = os.path.join(d, "neighbourhoods.geojson")
        rc, out, err = run("zonal", *cls.inputs, "--json", "-o", cls.geojson)
        if rc != 0:
            raise RuntimeError(f"zonal: exit {rc}: {err}")
        cls.summary, cls.stderr = json.loads(out), err
        with open(cls.geojson, encoding="utf-8") as fh:
            cls.text = fh.read()
        cls.doc = json.loads(cls.text)
        cls.props = {f["properties"]["nbhd_id"]: f["properties"] for f in cls.doc["features"]}

    @classmethod
    def tearDownClass(cls):
        cls._city.cleanup()

    def read_band(self, path, band=1, description=None):
        ds = gdal.Open(path)
        if description:
            band = next(b for b in range(1, ds.RasterCount + 1)
                        if ds.GetRasterBand(b).GetDescription() == description)
        b = ds.GetRasterBand(band)
        values = b.ReadAsArray().astype(np.float64)
        if b.GetNoDataValue() is not None:
            values[values == b.GetNoDataValue()] = np.nan
        return values, ds.GetGeoTransform()

    # ---- 5. the metrics

    def test_every_neighbourhood_metric_is_present(self):
        expected = SOURCE_FIELDS + domain_properties(SCENARIOS)
        self.assertIn("_ssp585_2100_p83", "".join(expected))
        self.assertEqual(self.summary["scenarios"], SCENARIOS)
        self.assertEqual(self.summary["zones"], 60)
        self.assertEqual(self.summary["zones_empty"], 0)
        self.assertEqual(self.summary["columns"], len(expected) - len(SOURCE_FIELDS))
        for zid, p in self.props.items():
            self.assertEqual(list(p), expected, f"zone {zid}")
        # Not trivial: arrivals, floods and several classes.
        col = lambda name: [p[name] for p in self.props.values()]
        self.assertGreater(sum(v or 0 for v in col("arrivals_total")), 1000)
        self.assertGreater(sum(v or 0 for v in col("flood_area_share_ssp585_2100_p83")), 0)
        self.assertGreaterEqual(len(set(col("score_class"))), 2)
        for p in self.props.values():
            self.assertTrue(0 < p["data_coverage"] <= 1)
            # the sea leaves the land's share: never below the whole area's
            self.assertTrue(p["data_coverage"] - 1e-12 <= p["land_data_coverage"] <= 1)
            for sc in ["ssp245_2050", "ssp585_2100_p83"]:
                share = p[f"flood_area_share_{sc}"]
                self.assertTrue(share is None or 0 <= share <= 1)
            self.assertGreaterEqual(p["flood_area_share_ssp585_2100_p83"] or 0,
                                    p["flood_area_share_ssp245_2050"] or 0)
            if p["arrivals_total"]:
                self.assertClose(p["arrivals_per_km2"], p["arrivals_total"] / p["area_km2"],
                                 "arrivals_per_km2")
                self.assertLessEqual(p["arrivals_informal"], p["arrivals_total"] * (1 + 1e-12))
                if p["arrivals_flooded_ssp585_2100_p83"] is not None:
                    self.assertClose(p["arrivals_flooded_share_ssp585_2100_p83"],
                                     p["arrivals_flooded_ssp585_2100_p83"] / p["arrivals_total"],
                                     "arrivals_flooded_share")

    def test_rank_and_class(self):
        means = {z: p["score_mean"] for z, p in self.props.items() if p["score_mean"] is not None}
        self.assertGreater(len(means), 10)
        best = max(means.values())
        self.assertEqual({z for z, p in self.props.items() if p["score_rank"] == 1},
                         {z for z, m in means.items() if m == best})
        for z, p in self.props.items():
            if p["score_mean"] is None:
                self.assertIsNone(p["score_rank"])
                self.assertIsNone(p["score_class"])
                continue
            higher = sum(1 for m in means.values() if m > p["score_mean"])
            self.assertEqual(p["score_rank"], higher + 1, f"zone {z}")
            self.assertEqual(p["score_class"],
                             1 + sum(1 for b in INFORM_BREAKS if p["score_mean"] >= b), f"zone {z}")
        self.assertEqual(self.summary["classes"]["breaks"], INFORM_BREAKS)

    def test_totals(self):
        arrivals, _ = self.read_band(self.arrivals)
        raster_total = np.nansum(arrivals)
        zone_total = sum(p["arrivals_total"] or 0 for p in self.props.values())
        self.assertLessEqual(zone_total, raster_total * (1 + 1e-9))
        self.assertGreater(zone_total, 0.5 * raster_total)
        totals = self.summary["totals"]
        names = ["arrivals_total", "arrivals_informal", "arrivals_high_water_stress"]
        for sc in ["ssp245_2050", "ssp585_2100_p83"]:
            names += [f"arrivals_flooded_{sc}", f"arrivals_compound_{sc}"]
        self.assertEqual(sorted(totals), sorted(names))
        for name in names:
            column = sum(p[name] or 0 for p in self.props.values())
            self.assertClose(totals[name], column, name, rel=1e-9, abs_=1e-9)

    def test_same_results_with_one_or_two_threads(self):
        runs = []
        for threads in ["1", "2"]:
            out = self.path(f"t{threads}.geojson")
            rc, stdout, err = run("zonal", *self.inputs, "--threads", threads, "--json", "-o", out)
            self.assertEqual(rc, 0, err)
            with open(out, encoding="utf-8") as fh:
                runs.append(([f["properties"] for f in json.load(fh)["features"]],
                             json.loads(stdout)))
        (p1, s1), (p2, s2) = runs
        self.assertEqual(p1, p2)
        self.assertEqual(p1, [f["properties"] for f in self.doc["features"]])
        del s1["output"], s2["output"]
        self.assertEqual(s1, s2)

    def zones_in_cells(self, gt, shape):
        """{nbhd_id: (geometry in cell coordinates, area in m2)}: the zones taken to the grid
        as cityrisk does (densified to about a cell in their CRS, then reprojected)."""
        ds = ogr.Open(sample("neighbourhoods.gpkg"))
        lyr = ds.GetLayer(0)
        zone_srs = lyr.GetSpatialRef().Clone()
        zone_srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        grid_srs = srs_of(UTM36S)
        back = osr.CoordinateTransformation(grid_srs, zone_srs)
        cx, cy = gt[0] + gt[1] * shape[1] / 2.0, gt[3] + gt[5] * shape[0] / 2.0
        (x0, y0, _), (x1, y1, _) = back.TransformPoints([(cx, cy), (cx + gt[1], cy + gt[5])])
        forward = osr.CoordinateTransformation(zone_srs, grid_srs)

        def to_cells(g, out):
            for i in range(g.GetPointCount()):
                out.SetPoint_2D(i, (g.GetX(i) - gt[0]) / gt[1], (g.GetY(i) - gt[3]) / gt[5])
            for k in range(g.GetGeometryCount()):
                to_cells(g.GetGeometryRef(k), out.GetGeometryRef(k))

        zones = {}
        for feat in lyr:
            geom = feat.GetGeometryRef().Clone()
            geom.Segmentize(math.hypot(x1 - x0, y1 - y0) / math.sqrt(2.0))
            geom.Transform(forward)
            cells = geom.Clone()
            to_cells(geom, cells)
            zones[feat.GetField("nbhd_id")] = (cells, geom.GetArea())
        return zones

    @staticmethod
    def cell_coverage(cells, shape):
        """{(row, col): f} by OGR intersection of each cell's unit square."""
        xmin, xmax, ymin, ymax = cells.GetEnvelope()
        f = {}
        for r in range(max(0, math.floor(ymin)), min(shape[0], math.ceil(ymax))):
            for c in range(max(0, math.floor(xmin)), min(shape[1], math.ceil(xmax))):
                square = box(c, r, c + 1, r + 1)
                if cells.Intersects(square):
                    a = polygonal_area(cells.Intersection(square))
                    if a > 0:
                        f[(r, c)] = a
        return f

    def test_arrivals_and_score_against_ogr_cell_intersections(self):
        arrivals, gt = self.read_band(self.arrivals)
        score, gt_s = self.read_band(self.exposure, description="score")
        self.assertEqual(gt, gt_s)
        zones = self.zones_in_cells(gt, arrivals.shape)
        ranked = sorted(self.props, key=lambda z: -(self.props[z]["arrivals_total"] or 0))
        # Across the 512-cell tiles cityrisk reads, the partial sums and cell lists are merged.
        across = [z for z in ranked if self.props[z]["arrivals_total"]
                  and any(lo < 512 < hi for lo, hi in
                          [zones[z][0].GetEnvelope()[:2], zones[z][0].GetEnvelope()[2:]])]
        holed = [z for z, (g, _) in zones.items()
                 if any(g.GetGeometryRef(k).GetGeometryCount() > 1
                        for k in range(g.GetGeometryCount()))]
        parts = [z for z, (g, _) in zones.items() if g.GetGeometryCount() > 1]
        self.assertTrue(across and holed and parts)
        chosen = {ranked[0], across[0], holed[0], parts[0]}
        for zid in sorted(chosen):
            cells, area = zones[zid]
            f = self.cell_coverage(cells, arrivals.shape)
            a_sum = sum(w * arrivals[rc] for rc, w in f.items() if not np.isnan(arrivals[rc]))
            s_w = [(w, score[rc]) for rc, w in f.items() if not np.isnan(score[rc])]
            p = self.props[zid]
            self.assertClose(p["area_km2"], area / 1e6, f"zone {zid} area", rel=1e-9)
            self.assertClose(sum(f.values()), area / (gt[1] * gt[1]), f"zone {zid} cells", 1e-9)
            self.assertClose(p["arrivals_total"], a_sum, f"zone {zid} arrivals_total", rel=1e-6)
            self.assertClose(p["score_mean"], sum(w * s for w, s in s_w) / sum(w for w, _ in s_w),
                             f"zone {zid} score_mean", rel=1e-6)
            self.assertClose(p["score_p90"],
                             weighted_quantile([s for _, s in s_w], [w for w, _ in s_w], 0.9),
                             f"zone {zid} score_p90", rel=1e-6)

    # ---- 3. GeoJSON

    def test_geojson_is_rfc7946(self):
        doc = self.doc
        self.assertEqual(doc["type"], "FeatureCollection")
        self.assertNotIn("crs", doc)
        self.assertEqual(len(doc["features"]), 60)
        holes = 0
        for feat in doc["features"]:
            self.assertEqual(feat["type"], "Feature")
            for poly in polygons_of(feat["geometry"]):
                for k, ring in enumerate(poly):
                    self.assertEqual(ring[0], ring[-1])
                    for x, y in ring:
                        self.assertTrue(34.7 < x < 35.0 and -20.0 < y < -19.7, (x, y))
                    a = signed_area(ring[:-1])
                    if k == 0:
                        self.assertGreater(a, 0, "exterior ring not counter-clockwise")
                    else:
                        holes += 1
                        self.assertLess(a, 0, "hole not clockwise")
        self.assertGreaterEqual(holes, 1)
        # At most 7 decimals in every coordinate of the text.
        geometries = [line[line.index('"geometry":'):] for line in self.text.splitlines()
                      if '"geometry":' in line]
        self.assertEqual(len(geometries), 60)
        numbers = [n for g in geometries for n in re.findall(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", g)]
        self.assertGreater(len(numbers), 1000)
        for n in numbers:
            self.assertNotRegex(n, r"[eE]|\.\d{8,}", f"coordinate {n}")
        # Provenance as a foreign member.
        self.assertEqual(doc["cityrisk"]["CITYRISK_INPUTS"][0]["role"], "zones")

    def test_geojson_properties_are_typed_and_keep_the_source_attributes(self):
        source, _ = read_ogr(sample("neighbourhoods.gpkg"), key="nbhd_id")
        self.assertEqual(sorted(self.props), sorted(source))
        nulls = 0
        for zid, p in self.props.items():
            for k in SOURCE_FIELDS:
                self.assertEqual(p[k], source[zid][k], f"zone {zid} {k}")
            for k in ["nbhd_id", "pop_2020", "score_class", "score_rank"]:
                self.assertIs(type(p[k]), int, f"zone {zid} {k}: {p[k]!r}")
            for k in domain_properties(SCENARIOS)[:-2]:
                self.assertIn(type(p[k]), (float, type(None)), f"zone {zid} {k}: {p[k]!r}")
                nulls += p[k] is None
        self.assertGreater(nulls, 0)   # e.g. arrivals_flooded_share where no arrivals
        self.assertNotRegex(self.text, r"\b(NaN|nan|Infinity|inf)\b")

    def test_stdout_streams_the_same_geojson(self):
        rc, out, err = run("zonal", *self.inputs, "-o", "-")
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")
        doc = json.loads(out)
        self.assertEqual(doc["type"], "FeatureCollection")
        self.assertEqual([f["properties"] for f in doc["features"]],
                         [f["properties"] for f in self.doc["features"]])
        self.assertEqual([f["geometry"] for f in doc["features"]],
                         [f["geometry"] for f in self.doc["features"]])

    def test_hole_winding_is_fixed_in_geojson(self):
        # Written with a clockwise shell and a counter-clockwise hole.
        shell = [(10, -10), (10, -90), (90, -90), (90, -10)][::-1]
        hole = [(30, -30), (30, -70), (70, -70), (70, -30)]
        self.assertLess(signed_area(shell), 0)
        zones = self.zones(polygon_wkt(shell, hole), multipolygon_wkt([shell, hole]))
        props, _, _, doc = self.zonal("--zones", zones, "-r", f"v={self.value_raster()}")
        for feat in doc["features"]:
            for poly in polygons_of(feat["geometry"]):
                self.assertEqual(len(poly), 2)
                self.assertGreater(signed_area(poly[0][:-1]), 0)
                self.assertLess(signed_area(poly[1][:-1]), 0)
        self.assertClose(props[1]["v_count"], 64 - 16, "count")
        self.assertClose(props[2]["v_count"], 64 - 16, "count")

    # ---- 4. other formats

    def reference_rows(self):
        rows, _ = read_ogr(self.geojson, key="nbhd_id")
        return rows

    def assertRowsEqual(self, got, renames=None, rel=0.0, abs_=0.0, label=""):
        expected = self.reference_rows()
        self.assertEqual(sorted(got), sorted(expected), label)
        renames = renames or {}
        for zid, row in expected.items():
            for k, v in row.items():
                g = got[zid][renames.get(k, k)]
                if isinstance(v, float) and v is not None and g is not None:
                    self.assertTrue(abs(float(g) - v) <= max(rel * abs(v), abs_),
                                    f"{label} zone {zid} {k}: {g!r} != {v!r}")
                else:
                    self.assertEqual(g, v, f"{label} zone {zid} {k}")

    def zonal_to(self, fmt, name):
        out = self.path(name)
        rc, stdout, err = run("zonal", *self.inputs, "-of", fmt, "--json", "-o", out)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("warning", err.lower())
        summary = json.loads(stdout)
        self.assertEqual(summary["format"], fmt)
        return out, summary

    def test_gpkg_with_provenance(self):
        out, summary = self.zonal_to("GPKG", "n.gpkg")
        self.assertEqual(summary["renamed_fields"], {})
        rows, names = read_ogr(out, key="nbhd_id")
        self.assertEqual(names, SOURCE_FIELDS + domain_properties(SCENARIOS))
        self.assertRowsEqual(rows, label="GPKG")
        ds = ogr.Open(out)
        lyr = ds.GetLayer(0)
        inputs = json.loads(lyr.GetMetadataItem("CITYRISK_INPUTS"))
        self.assertEqual([i["role"] for i in inputs],
                         ["zones", "exposure score", "arrivals", "water", "informal", "population"]
                         + [f"sea {s}" for s in SCENARIOS])
        self.assertEqual(inputs[0]["path"], sample("neighbourhoods.gpkg"))
        self.assertIn("stats", json.loads(lyr.GetMetadataItem("CITYRISK_PARAMETERS")))
        self.assertEqual(lyr.GetSpatialRef().GetAuthorityCode(None), "3857")

    def test_flatgeobuf(self):
        out, _ = self.zonal_to("FlatGeobuf", "n.fgb")
        rows, names = read_ogr(out, key="nbhd_id")
        self.assertEqual(names, SOURCE_FIELDS + domain_properties(SCENARIOS))
        self.assertRowsEqual(rows, label="FlatGeobuf")

    def test_csv_without_geometry(self):
        out, _ = self.zonal_to("CSV", "n.csv")
        with open(out, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            body = list(reader)
        self.assertEqual(header, SOURCE_FIELDS + domain_properties(SCENARIOS))
        self.assertEqual(len(body), 60)
        rows = {}
        for r in body:
            row = dict(zip(header, r))
            conv = {}
            for k, v in row.items():
                if k in ("name", "district", "pcode"):
                    conv[k] = v
                elif v == "":
                    conv[k] = None
                elif k in ("nbhd_id", "pop_2020", "score_class", "score_rank"):
                    conv[k] = int(v)
                else:
                    conv[k] = float(v)
            rows[conv["nbhd_id"]] = conv
        self.assertRowsEqual(rows, rel=1e-14, abs_=1e-300, label="CSV")

    def test_shapefile_names_are_short_unique_and_listed(self):
        out, summary = self.zonal_to("ESRI Shapefile", "n.shp")
        renamed = summary["renamed_fields"]
        rows, names = read_ogr(out, key="nbhd_id")
        long_names = SOURCE_FIELDS + domain_properties(SCENARIOS)
        self.assertEqual(len(names), len(long_names))
        for n in names:
            self.assertLessEqual(len(n), 10, n)
        self.assertEqual(len({n.lower() for n in names}), len(names), names)
        # renamed_fields maps every long name to its short one, in order.
        self.assertEqual(sorted(renamed), sorted(n for n in long_names if len(n) > 10))
        self.assertEqual([renamed.get(n, n) for n in long_names], names)
        # %24.15f decimals: equal to 1e-15.
        self.assertRowsEqual(rows, renamed, rel=1e-9, abs_=1e-10, label="Shapefile")
        ds = ogr.Open(out)
        self.assertEqual(ds.GetLayer(0).GetSpatialRef().GetAuthorityCode(None), "3857")

    def test_shapefile_keeps_large_values_without_warnings(self):
        big = np.full((ROWS, COLS), 123456789.125)
        big[0, 0] = -987654321.5
        zones = self.zones(polygon_wkt([(0, 0), (100, 0), (100, -100), (0, -100)]))
        out = self.path("big.shp")
        rc, stdout, err = run("zonal", "--zones", zones, "-r",
                              f"big={write_raster(self.path('big.tif'), big)}", "-of",
                              "ESRI Shapefile", "--json", "-o", out)
        self.assertEqual(rc, 0, err)
        rows, _ = read_ogr(out)
        expected = f32(big)
        self.assertClose(rows[1]["big_sum"], expected.sum(), "sum", rel=1e-15)
        self.assertClose(rows[1]["big_mean"], expected.mean(), "mean", rel=1e-15)
        self.assertNotIn("not successfully written", err)


def write_grid_raster(path, array, cell, nodata=NODATA, descriptions=None):
    """A Float32 GeoTIFF at (X0, Y0) with cells of `cell` m: one band per 2-D array of array
    (a 3-D array or a list), or one band of a 2-D array. Returns path."""
    bands = [array] if np.ndim(array) == 2 else list(array)
    rows, cols = np.shape(bands[0])
    ds = gdal.GetDriverByName("GTiff").Create(path, cols, rows, len(bands), gdal.GDT_Float32)
    ds.SetGeoTransform((X0, cell, 0.0, Y0, 0.0, -cell))
    ds.SetSpatialRef(srs_of(UTM36S))
    for k, values in enumerate(bands):
        band = ds.GetRasterBand(k + 1)
        band.SetNoDataValue(nodata)
        band.WriteArray(np.where(np.isnan(values), nodata, values).astype(np.float32))
        if descriptions:
            band.SetDescription(descriptions[k])
    ds = None
    return path


class CountRasters(ZonalCase):
    """Issue 18's 14.6 M for 1.32 M, in small: a 100 m count raster (people per cell) over a
    30 m exposure grid. Zones follow 300 m blocks, where both grids have cell edges, so the
    truth is the plain sum of the count raster's own cells inside each zone."""

    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(18)
        self.pop = f32(rng.integers(0, 500, size=(12, 12)))           # 100 m, 1.2 km square
        score = np.full((40, 40), 4.0)                                 # 30 m, 1.2 km square
        self.exposure = write_grid_raster(self.path("exp30m.tif"), [score, np.full((40, 40), 3.0)],
                                          30.0, descriptions=["score", "class"])
        self.pop_path = write_grid_raster(self.path("worldpop100m.tif"), self.pop, 100.0)
        # zone 1: x 0..600, y 0..-600 (count cells rows 0-5, cols 0-5); zone 2: x 600..1200,
        # y -300..-900 (rows 3-8, cols 6-11)
        self.zones_path = self.zones(polygon_wkt([(0, 0), (600, 0), (600, -600), (0, -600)]),
                                     polygon_wkt([(600, -300), (1200, -300), (1200, -900),
                                                  (600, -900)]))
        self.truth = {1: self.pop[0:6, 0:6].sum(), 2: self.pop[3:9, 6:12].sum()}

    def test_declared_counts_keep_the_total(self):
        props, summary, err, doc = self.zonal("--zones", self.zones_path, "--exposure",
                                              self.exposure, "-r", f"pop={self.pop_path}",
                                              "--counts", "pop", "--stats", "sum")
        for z, total in self.truth.items():
            self.assertClose(props[z]["pop_sum"], total, f"zone {z} pop_sum", rel=1e-6)
        self.assertNotIn("--counts", err)
        inputs = doc["cityrisk"]["CITYRISK_INPUTS"]
        self.assertEqual([i["kind"] for i in inputs if i["role"] == "pop"], ["count"])

    def test_undeclared_resampled_sum_warns_with_the_remedy(self):
        props, _, err, doc = self.zonal("--zones", self.zones_path, "--exposure", self.exposure,
                                        "-r", f"pop={self.pop_path}", "--stats", "sum")
        self.assertIn("-r pop: '" + self.pop_path + "' is not on the grid", err)
        self.assertIn("give --counts pop", err)
        # The issue's figure: the sum grows with the ratio of the cell areas (100² / 30²).
        ratio = props[1]["pop_sum"] / self.truth[1]
        self.assertGreater(ratio, 9.0)
        inputs = doc["cityrisk"]["CITYRISK_INPUTS"]
        self.assertEqual([i["kind"] for i in inputs if i["role"] == "pop"], ["continuous"])
        # mean warns too; count alone, or a raster on the grid, does not.
        _, _, err, _ = self.zonal("--zones", self.zones_path, "--exposure", self.exposure,
                                  "-r", f"pop={self.pop_path}", "--stats", "mean")
        self.assertIn("give --counts pop", err)
        _, _, err, _ = self.zonal("--zones", self.zones_path, "--exposure", self.exposure,
                                  "-r", f"pop={self.pop_path}", "--stats", "count")
        self.assertNotIn("--counts", err)
        # Piped to jq, as one does: the warning still reaches stderr.
        rc, out, err = run("zonal", "--zones", self.zones_path, "--exposure", self.exposure,
                           "-r", f"pop={self.pop_path}", "--stats", "sum", "-o", "-")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(json.loads(out)["features"]), 2)
        self.assertIn("give --counts pop", err)
        _, _, err, _ = self.zonal("--zones", self.zones_path, "--exposure", self.exposure,
                                  "-r", f"s={self.exposure}", "--stats", "sum,mean")
        self.assertNotIn("--counts", err)

    def test_counts_names_must_be_rasters(self):
        rc, _, err = run("zonal", "--zones", self.zones_path, "-r", f"pop={self.pop_path}",
                         "--counts", "pop,people", "-o", self.path("x.geojson"))
        self.assertEqual(rc, 2, err)
        self.assertIn("cityrisk zonal: --counts people: no -r raster is named 'people'", err)
        # several names, repeated options, and the domain counts are accepted
        props, _, _, _ = self.zonal("--zones", self.zones_path, "--exposure", self.exposure,
                                    "-r", f"pop={self.pop_path}", "-r", f"pop2={self.pop_path}",
                                    "--counts", "pop, population", "--counts", "pop2",
                                    "--stats", "sum")
        for z, total in self.truth.items():
            self.assertClose(props[z]["pop2_sum"], total, f"zone {z} pop2_sum", rel=1e-6)

    def test_population_is_read_as_a_count(self):
        # 1000 residents per 100 m cell are 90 per 30 m cell; 9 arrivals per 30 m cell on a
        # water-stress score 2: r = 0.1 * 2^(2 - 1) = 0.2, r' = r (1 + 9 / 90), uplift
        # log2(r' / r) = log2(1.1). Read as a continuous layer (1000 a cell) it would be
        # log2(1.009).
        arrivals = write_grid_raster(self.path("a30.tif"), np.full((40, 40), 9.0), 30.0)
        water = write_grid_raster(self.path("w30.tif"), np.full((40, 40), 2.0), 30.0)
        pop = write_grid_raster(self.path("p100.tif"), np.full((12, 12), 1000.0), 100.0)
        props, _, _, doc = self.zonal("--zones", self.zones_path, "--arrivals", arrivals,
                                      "--water", water, "--population", pop)
        for z in (1, 2):
            self.assertClose(props[z]["water_uplift_mean"], math.log2(1.1), f"zone {z}",
                             rel=1e-5)
        kinds = {i["role"]: i.get("kind") for i in doc["cityrisk"]["CITYRISK_INPUTS"]}
        self.assertEqual(kinds["population"], "count")
        self.assertEqual(kinds["arrivals"], "count")


def coverage_fixture(case):
    """An exposure on the 10 x 10 test grid and four zones: 1 (rows 0-1, score 3: Low), 2
    (rows 2-3, score 6: High), 4 (row 4, half off the grid: coverage 0.5, score 4.5), and 3,
    whose 100 cells (50 of them off the grid) have a score (9, Very High) in 9 only: data
    coverage 0.09. Returns (zones path, exposure path)."""
    score = np.full((ROWS, COLS), np.nan)
    score[0:2, :] = 3.0
    score[2:4, :] = 6.0
    score[4, 5:] = 4.5
    score[5, 0:9] = 9.0
    cls = np.where(np.isnan(score), np.nan, 1.0)
    exposure = write_bands(case.path("exposure.tif"), [("score", score), ("class", cls)])
    zones = case.zones(polygon_wkt([(0, 0), (100, 0), (100, -20), (0, -20)]),
                       polygon_wkt([(0, -20), (100, -20), (100, -40), (0, -40)]),
                       polygon_wkt([(0, -50), (200, -50), (200, -100), (0, -100)]),
                       polygon_wkt([(50, -40), (150, -40), (150, -50), (50, -50)]))
    return zones, exposure


class MinCoverage(ZonalCase):
    def test_zones_below_the_threshold_get_no_rank_or_class(self):
        zones, exposure = coverage_fixture(self)
        props, summary, _, doc = self.zonal("--zones", zones, "--exposure", exposure)
        self.assertClose(props[3]["data_coverage"], 0.09, "zone 3 coverage")
        self.assertClose(props[4]["data_coverage"], 0.5, "zone 4 coverage")
        self.assertEqual(props[3]["score_mean"], 9.0)         # the mean of what is there stays
        self.assertIsNone(props[3]["score_rank"])
        self.assertIsNone(props[3]["score_class"])
        self.assertEqual({z: props[z]["score_rank"] for z in (1, 2, 4)}, {2: 1, 4: 2, 1: 3})
        self.assertEqual({z: props[z]["score_class"] for z in (1, 2, 4)}, {1: 2, 2: 4, 4: 3})
        self.assertEqual(summary["zones_below_min_coverage"], 1)
        self.assertEqual(summary["min_coverage"], 0.5)
        params = doc["cityrisk"]["CITYRISK_PARAMETERS"]
        self.assertEqual(params["min_coverage"], 0.5)
        rc, out, err = run("zonal", "--zones", zones, "--exposure", exposure, "-o",
                           self.path("text.geojson"))
        self.assertEqual(rc, 0, err)
        self.assertIn("1 zone below 50 % data coverage: no score_class or score_rank", err + out)

    def test_the_threshold_is_an_option(self):
        zones, exposure = coverage_fixture(self)
        props, summary, _, _ = self.zonal("--zones", zones, "--exposure", exposure,
                                          "--min-coverage", "0.05")
        self.assertEqual(props[3]["score_rank"], 1)
        self.assertEqual(props[3]["score_class"], 5)
        self.assertEqual(summary["zones_below_min_coverage"], 0)
        props, summary, _, _ = self.zonal("--zones", zones, "--exposure", exposure,
                                          "--min-coverage", "0.6")
        self.assertIsNone(props[4]["score_rank"])
        self.assertEqual(summary["zones_below_min_coverage"], 2)
        # classes from data are computed over the ranked zones only: equal:2 over 3 and 6
        props, summary, _, _ = self.zonal("--zones", zones, "--exposure", exposure,
                                          "--classes", "equal:2")
        self.assertEqual(summary["classes"]["breaks"], [4.5])
        for bad in ("1.5", "-0.1", "nan"):
            rc, _, err = run("zonal", "--zones", zones, "--exposure", exposure, "--min-coverage",
                             bad, "-o", self.path("bad.geojson"))
            self.assertEqual(rc, 2, f"{bad}: {err}")
            self.assertIn("--min-coverage", err)


# ---------------------------------------------------------------------------------------------
# Issue 18: outputs GDAL writes on close, and messages that name no internal path


def run_limited(args, fsize):
    """Runs cityrisk with files limited to fsize bytes (RLIMIT_FSIZE, SIGXFSZ ignored: a write
    beyond fails with EFBIG, as on a full disk). Returns (exit code, stderr)."""
    import resource

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    proc = subprocess.run([CITYRISK, *args], capture_output=True, text=True, timeout=120,
                          preexec_fn=limit)
    return proc.returncode, proc.stderr


INTERNAL_PATHS = ("/vsicrwatch", "/proc/self/fd", ".zonal.")


class ShapefileFieldNames(ZonalCase):
    """Issue 18: dBase keeps 10 characters of a field name ('arrfldssp1' reads as SSP1): a
    Shapefile gets NAME.fields.csv with every field's short name, full name, description and
    unit (and with --qml, QGIS aliases: test_qml.py)."""

    def setUp(self):
        super().setUp()
        self.out_dir = self.path("out")
        os.mkdir(self.out_dir)
        # Latin-1 zones, as city Shapefiles come: a field name and values with accents.
        zones = self.path("quartiers.shp")
        ds = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(zones)
        lyr = ds.CreateLayer("quartiers", srs_of(UTM36S), ogr.wkbPolygon, ["ENCODING=LATIN1"])
        lyr.CreateField(ogr.FieldDefn("zid", ogr.OFTInteger))
        lyr.CreateField(ogr.FieldDefn("région", ogr.OFTString))
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetField("zid", 1)
        f.SetField("région", "Côte")
        f.SetGeometry(ogr.CreateGeometryFromWkt(polygon_wkt([(0, 0), (100, 0), (100, -100),
                                                             (0, -100)])))
        lyr.CreateFeature(f)
        ds = None
        self.zones_path = zones
        d = np.zeros((ROWS, COLS))
        d[:, :3] = 0.4
        self.sea = write_bands(self.path("sea.tif"), [("a", d), ("b", d)],
                               {0: {"SCENARIO": "ssp126-2100"}, 1: {"SCENARIO": "ssp585-2100"}})
        self.arrivals = write_raster(self.path("a.tif"), np.ones((ROWS, COLS)))
        self.args = ["zonal", "--zones", self.zones_path, "--sea", self.sea, "--arrivals",
                     self.arrivals, "-r", f"population_density={self.value_raster()}",
                     "--stats", "sum,quantile(0.9)"]

    def test_sidecar_lists_every_field_in_full(self):
        out = os.path.join(self.out_dir, "wards.shp")
        rc, stdout, err = run(*self.args, "-o", out, "--json")
        self.assertEqual(rc, 0, err)
        renamed = json.loads(stdout)["renamed_fields"]
        self.assertEqual(renamed["arrivals_flooded_ssp126_2100"], "arrfldssp1")
        sidecar = os.path.join(self.out_dir, "wards.fields.csv")
        with open(sidecar, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        _, names = read_ogr(out)
        self.assertEqual([r["short_name"] for r in rows], names)
        full = {r["short_name"]: r for r in rows}
        shortened = {short: long_ for long_, short in renamed.items()}
        for r in rows:
            self.assertEqual(r["full_name"], shortened.get(r["short_name"], r["short_name"]))
            self.assertTrue(r["description"], r)
        row = full["arrfldssp1"]
        self.assertEqual(row["full_name"], "arrivals_flooded_ssp126_2100")
        self.assertEqual(row["description"], "arrivals on flooded cells, scenario ssp126-2100")
        self.assertEqual(row["unit"], "people")
        self.assertEqual(full[renamed["flood_area_share_ssp585_2100"]]["unit"], "0-1")
        self.assertEqual(full[renamed["data_coverage"]]["full_name"], "data_coverage")
        p90 = full[renamed["population_density_p90"]]
        self.assertEqual(p90["description"],
                         f"p90 of -r population_density ({self.path('v.tif')}, band 1)")
        self.assertEqual(full["région"]["description"], f"attribute of the zones ({self.zones_path})")
        self.assertEqual(sorted(os.listdir(self.out_dir)),
                         ["wards.dbf", "wards.fields.csv", "wards.prj", "wards.shp", "wards.shx"])

    def test_sidecar_is_an_output_like_the_others(self):
        out = os.path.join(self.out_dir, "wards.shp")
        sidecar = os.path.join(self.out_dir, "wards.fields.csv")
        with open(sidecar, "w") as fh:
            fh.write("mine\n")
        self.assertFailsClean(self.args + ["-o", out], 4, "wards.fields.csv", "exists",
                              existing=("wards.fields.csv",))
        with open(sidecar) as fh:
            self.assertEqual(fh.read(), "mine\n")
        # An input is never written over, even with --overwrite (a GeoTIFF named like it).
        shutil.copy(self.path("v.tif"), sidecar)
        self.assertFailsClean(self.args[:-4] + ["-r", f"v={sidecar}", "-o", out, "--overwrite"],
                              2, "wards.fields.csv", "is the input", existing=("wards.fields.csv",))
        # A failed write leaves no sidecar either.
        os.remove(sidecar)
        rc, err = run_limited(self.args + ["-o", out], 300)
        self.assertEqual(rc, 1, err)
        self.assertEqual(os.listdir(self.out_dir), [])
        # With --overwrite it is replaced; other formats have none.
        rc, _, err = run(*self.args, "-o", out)
        self.assertEqual(rc, 0, err)
        rc, _, err = run(*self.args, "-o", out, "--overwrite")
        self.assertEqual(rc, 0, err)
        rc, _, err = run(*self.args, "-o", os.path.join(self.out_dir, "w.gpkg"))
        self.assertEqual(rc, 0, err)
        self.assertFalse(os.path.exists(os.path.join(self.out_dir, "w.fields.csv")))


class SpreadsheetOutputs(ZonalCase):
    """XLSX and ODS: GDAL writes them through /vsizip/ when they are closed."""

    def setUp(self):
        super().setUp()
        self.out_dir = self.path("out")
        os.mkdir(self.out_dir)
        self.shell = [(0, 0), (50, 0), (50, -100), (0, -100)]
        self.zones_path = self.zones(polygon_wkt(self.shell))
        self.raster = self.value_raster()

    def test_xlsx_and_ods_read_back_with_ogr(self):
        expected = f32(V)[:, :5].sum()
        for name, fmt in (("t.xlsx", None), ("table.ods", "ODS"), ("t2.xlsx", "XLSX")):
            out = os.path.join(self.out_dir, name)
            args = ["zonal", "--zones", self.zones_path, "-r", f"v={self.raster}", "-o", out]
            if fmt:
                args += ["-of", fmt]
            rc, _, err = run(*args)
            self.assertEqual(rc, 0, f"{name}: {err}")
            for needle in INTERNAL_PATHS:
                self.assertNotIn(needle, err)
            ds = ogr.Open(out)
            self.assertIsNotNone(ds, name)
            self.assertEqual(ds.GetDriver().GetName(), fmt or "XLSX")
            feats = list(ds.GetLayer(0))
            self.assertEqual(len(feats), 1, name)
            self.assertEqual(feats[0].GetField("zid"), 1)
            self.assertClose(float(feats[0].GetField("v_sum")), expected, f"{name} v_sum")
            self.assertClose(float(feats[0].GetField("v_count")), 50.0, f"{name} v_count")
            ds = None
        self.assertEqual([n for n in os.listdir(self.out_dir) if n.startswith(".")], [])

    def test_a_folder_named_like_the_format_is_no_archive(self):
        folder = self.path("report.xlsx.d")
        os.mkdir(folder)
        out = os.path.join(folder, "t.xlsx")
        rc, _, err = run("zonal", "--zones", self.zones_path, "-r", f"v={self.raster}", "-o", out)
        self.assertEqual(rc, 0, err)
        ds = ogr.Open(out)
        self.assertEqual(ds.GetLayer(0).GetFeatureCount(), 1)

    def test_failures_name_the_output_not_internal_paths(self):
        cases = []
        for name in ("t.xlsx", "t.ods", "t.shp", "t.gpkg", "t.fgb", "t.geojson"):
            out = os.path.join(self.out_dir, name)
            rc, err = run_limited(["zonal", "--zones", self.zones_path, "-r", f"v={self.raster}",
                                   "-o", out], 300)
            cases.append((name, rc, err))
            self.assertEqual(rc, 1, f"{name}: {err}")
            self.assertIn(f"cannot write '{out}'", err)
        rc, _, err = run("zonal", "--zones", self.zones_path, "-r", f"v={self.raster}", "-o",
                         os.path.join(self.out_dir, "f.gpkg"), "-lco", "FID=name")
        cases.append(("FID=name", rc, err))
        self.assertEqual(rc, 1, err)
        for name in ("d.xlsx", "d.shp"):
            rc, _, err = run("zonal", "--zones", self.zones_path, "-r", f"v={self.raster}", "-o",
                             os.path.join(self.out_dir, name), "--debug", "--config",
                             "CPL_DEBUG", "ON")
            cases.append((name + " --debug", rc, err))
            self.assertEqual(rc, 0, err)
            self.assertIn(name, err)  # GDAL's debug lines name the output as the user does
        for label, _, err in cases:
            for needle in INTERNAL_PATHS:
                self.assertNotIn(needle, err, f"{label}: {err}")
        self.assertEqual(sorted(n for n in os.listdir(self.out_dir) if n.startswith("d.")),
                         ["d.dbf", "d.fields.csv", "d.prj", "d.shp", "d.shx", "d.xlsx"])



# ---------------------------------------------------------------------------------------------
# Polygons as published (issue 18, points 1 and 2)


class PolygonInputs(ZonalCase):
    """--water as Aqueduct's basins in EPSG:4326 and --informal as settlement polygons, against
    the same layers burnt by gdal_rasterize at ten times the resolution and averaged."""

    def test_water_basins_and_informal_polygons(self):
        fields = [("pfaf_id", ogr.OFTInteger64), ("bws_raw", ogr.OFTReal),
                  ("bws_score", ogr.OFTReal), ("bws_cat", ogr.OFTInteger),
                  ("bws_label", ogr.OFTString)]

        def utm(x0, y0, x1, y1):   # local metres, y down from the top-left corner
            return [(X0 + x0, Y0 - y0), (X0 + x1, Y0 - y0), (X0 + x1, Y0 - y1), (X0 + x0, Y0 - y1)]

        # Three basins split at x = 36 m and y = 63 m (sub-cell edges of the reference), one
        # of them Aqueduct's "Arid and Low Water Use" (score 5).
        basins = write_polygons(self.path("aqueduct.gpkg"), "GPKG", 4326, "baseline_annual", fields, [
            (utm(-50, -50, 36, 63), {"pfaf_id": 1, "bws_score": 1.2, "bws_cat": 1, "bws_label": "Low - Medium"}),
            (utm(36, -50, 150, 63), {"pfaf_id": 2, "bws_score": -1, "bws_cat": -1,
                                     "bws_label": "Arid and Low Water Use"}),
            (utm(-50, 63, 150, 150), {"pfaf_id": 3, "bws_score": 3.4, "bws_cat": 3, "bws_label": "High"}),
        ])
        informal = write_polygons(self.path("informal.fgb"), "FlatGeobuf", UTM36S, "s", [], [
            (utm(5, 5, 55, 45), {}), (utm(40, 30, 95, 95), {})])
        arrivals = write_raster(self.path("a.tif"), np.ones((ROWS, COLS)))
        west = polygon_wkt([(0, 0), (50, 0), (50, -100), (0, -100)])
        east = polygon_wkt([(50, 0), (100, 0), (100, -100), (50, -100)])
        props, summary, _, _ = self.zonal("--zones", self.zones(west, east), "--arrivals", arrivals,
                                          "--water", basins, "--informal", informal)
        args = (ROWS, COLS, (X0, Y0), CELL)
        b = fine_reference(basins, *args, field="bws_score", remap={-1: 5.0})   # arid: score 5
        v = fine_reference(informal, *args)
        for zid, cols in [(1, slice(0, 5)), (2, slice(5, 10))]:
            self.assertClose(props[zid]["water_stress_mean"], float(b[:, cols].mean()),
                             f"zone {zid} water", rel=1e-4)
            self.assertClose(props[zid]["informal_area_share"], float(v[:, cols].mean()),
                             f"zone {zid} informal", rel=1e-9, abs_=1e-9)
        # By hand: the west zone is 36/50 basin 1 and 14/50 the arid one above y 63, basin 3
        # below: (0.63 (36 * 1.2 + 14 * 5) / 50 + 0.37 * 3.4).
        self.assertClose(props[1]["water_stress_mean"],
                         0.63 * (36 * 1.2 + 14 * 5) / 50 + 0.37 * 3.4, "by hand", rel=1e-4)
        # The informal union: 50 x 40 + 55 x 65 - the overlap 15 x 15, over 100 m x 100 m.
        total = (props[1]["informal_area_share"] + props[2]["informal_area_share"]) / 2
        self.assertClose(total, (50 * 40 + 55 * 65 - 15 * 15) / 10000.0, "union", rel=1e-9)

# ---------------------------------------------------------------------------------------------
# Issue 18 review: every layer polygons, polygons where a raster is needed, the sea's share


def utm_box(x0, y0, x1, y1):
    """A ring of UTM 36S points from local metres (y down from the grid's top-left corner)."""
    return [(X0 + x0, Y0 - y0), (X0 + x1, Y0 - y0), (X0 + x1, Y0 - y1),
            (X0 + x0, Y0 - y1)]


class EveryLayerPolygons(ZonalCase):
    """Basins and settlements as polygons and no raster: the grid is --grid's or --crs's over
    the zones' extent, never a polygon layer's."""

    def setUp(self):
        super().setUp()
        self.basins = write_polygons(self.path("basins.gpkg"), "GPKG", UTM36S, "basins",
                                     [("bws_score", ogr.OFTReal)],
                                     [(utm_box(-50, -50, 150, 150), {"bws_score": 2.0})])
        # One settlement of 20 m x 20 m in the west zone: its bbox is 2 x 2 cells.
        self.informal = write_polygons(self.path("informal.shp"), "ESRI Shapefile", UTM36S,
                                       "informal", [], [(utm_box(20, 20, 40, 40), {})])
        self.zones_path = self.zones(polygon_wkt([(0, 0), (50, 0), (50, -100), (0, -100)]),
                                     polygon_wkt([(50, 0), (100, 0), (100, -100), (50, -100)]))
        self.out_dir = self.path("out")
        os.mkdir(self.out_dir)

    def test_without_a_grid_option_asks_for_one(self):
        message = self.assertFailsClean(
            ["zonal", "--zones", self.zones_path, "--water", self.basins, "--informal",
             self.informal, "-o", os.path.join(self.out_dir, "z.geojson")], 2, "--grid", "--crs")
        self.assertIn("polygons", message)

    def test_crs_and_resolution_cover_the_zones(self):
        props, summary, err, _ = self.zonal("--zones", self.zones_path, "--water", self.basins,
                                            "--informal", self.informal, "--crs", "EPSG:32736",
                                            "--resolution", "10")
        # The grid is the zones' 100 m x 100 m, so both zones are wholly covered.
        self.assertEqual(summary["grid"]["width"], COLS, summary["grid"])
        self.assertEqual(summary["grid"]["height"], ROWS, summary["grid"])
        for z in (1, 2):
            self.assertEqual(props[z]["data_coverage"], 1.0, f"zone {z}")
            self.assertClose(props[z]["water_stress_mean"], 2.0, f"zone {z}")
        # 400 m2 of settlement in the west zone's 5000 m2, none in the east.
        self.assertClose(props[1]["informal_area_share"], 400 / 5000, "west informal")
        self.assertEqual(props[2]["informal_area_share"], 0.0)
        self.assertNotIn("below", err)


class PolygonsWhereARasterIsNeeded(ZonalCase):
    """Polygons given for a role that reads a raster: exit 2 with the remedy, before any
    work (score's --sea said so; zonal said "cannot open raster", exit 3)."""

    def test_each_role_refuses_polygons_with_its_remedy(self):
        polys = write_polygons(self.path("areas.gpkg"), "GPKG", UTM36S, "areas",
                               [("count", ogr.OFTReal)], [(utm_box(0, 0, 100, 100), {"count": 5})])
        sea = write_polygons(self.path("sea.geojson"), "GeoJSON", UTM36S, "sea", [],
                             [(utm_box(0, 0, 100, 100), {})])
        exposure = write_bands(self.path("e.tif"), [("score", np.full((ROWS, COLS), 5.0))])
        zones = self.zones(polygon_wkt([(0, 0), (100, 0), (100, -100), (0, -100)]))
        self.out_dir = self.path("out")
        os.mkdir(self.out_dir)
        out = os.path.join(self.out_dir, "z.geojson")
        cases = [
            (["--sea", sea, "--exposure", exposure], ["sea '", "inundation --sea"]),
            (["--arrivals", polys], ["arrivals '", "arrivals --areas"]),
            (["--population", polys, "--exposure", exposure], ["population '", "arrivals --areas"]),
            (["-r", f"w={polys}", "--counts", "w"], ["-r w '", "arrivals --areas"]),
            (["-r", f"w={polys}"], ["-r w '", "needs a raster"]),
            (["--exposure", polys], ["exposure '", "needs a raster", "cityrisk score"]),
        ]
        for args, needles in cases:
            self.assertFailsClean(["zonal", "--zones", zones, *args, "-o", out], 2,
                                  "holds polygons", *needles)


def coastal_fixture(case):
    """A coast on the test grid: columns 0-5 are the sea (no depth, no score, as inundation and
    score write them), columns 6-9 land with a depth (0, 0.5 m in column 6). Zone 1 (columns
    0-8, rows 0-4) is two-thirds sea, its land all scored (7); zone 2 (columns 6-9, rows 5-9)
    is land scored in column 9 only (3); zone 3 (columns 0-5, rows 5-9) is all sea. Returns
    (zones, exposure, sea)."""
    score = np.full((ROWS, COLS), np.nan)
    score[0:5, 6:9] = 7.0
    score[5:10, 9] = 3.0
    exposure = write_bands(case.path("exposure.tif"),
                           [("score", score), ("class", np.where(np.isnan(score), np.nan, 1.0))])
    depth = np.full((ROWS, COLS), np.nan)
    depth[:, 6:] = 0.0
    depth[:, 6] = 0.5
    sea = write_raster(case.path("inundation.tif"), depth)
    zones = case.zones(polygon_wkt([(0, 0), (90, 0), (90, -50), (0, -50)]),
                       polygon_wkt([(60, -50), (100, -50), (100, -100), (60, -100)]),
                       polygon_wkt([(0, -50), (60, -50), (60, -100), (0, -100)]))
    return zones, exposure, sea


class CoastalCoverage(ZonalCase):
    """--min-coverage is taken over a zone's land: its sea is no missing data."""

    def test_the_sea_leaves_the_coverage_threshold(self):
        zones, exposure, sea = coastal_fixture(self)
        props, summary, _, _ = self.zonal("--zones", zones, "--exposure", exposure, "--sea", sea)
        # zone 1: 15 cells of data of 45, all 15 land cells
        self.assertClose(props[1]["data_coverage"], 15 / 45, "zone 1 data_coverage")
        self.assertEqual(props[1]["land_data_coverage"], 1.0)
        self.assertEqual(props[1]["score_rank"], 1)
        self.assertEqual(props[1]["score_class"], 5)        # 7: Very High (INFORM, above 6.5)
        # zone 2: land only, 5 cells of data of 20
        self.assertClose(props[2]["data_coverage"], 0.25, "zone 2 data_coverage")
        self.assertClose(props[2]["land_data_coverage"], 0.25, "zone 2 land_data_coverage")
        self.assertIsNone(props[2]["score_rank"])
        # zone 3: all sea, no land to cover
        self.assertEqual(props[3]["data_coverage"], 0.0)
        self.assertIsNone(props[3]["land_data_coverage"])
        self.assertIsNone(props[3]["score_rank"])
        self.assertEqual(summary["zones_below_min_coverage"], 2)
        props, summary, _, _ = self.zonal("--zones", zones, "--exposure", exposure, "--sea", sea,
                                          "--min-coverage", "0.2")
        self.assertEqual({z: props[z]["score_rank"] for z in (1, 2, 3)}, {1: 1, 2: 2, 3: None})
        # Without the sea's depths the sea cannot be told from missing data: the whole area.
        props, summary, _, _ = self.zonal("--zones", zones, "--exposure", exposure)
        self.assertNotIn("land_data_coverage", props[1])
        self.assertIsNone(props[1]["score_rank"])
        self.assertEqual(summary["zones_below_min_coverage"], 3)

    def test_shapefile_names_and_describes_it(self):
        zones, exposure, sea = coastal_fixture(self)
        out = self.path("coast.shp")
        rc, _, err = run("zonal", "--zones", zones, "--exposure", exposure, "--sea", sea, "-o", out)
        self.assertEqual(rc, 0, err)
        with open(self.path("coast.fields.csv"), encoding="utf-8", newline="") as fh:
            rows = {r["full_name"]: r for r in csv.DictReader(fh)}
        self.assertEqual(rows["land_data_coverage"]["short_name"], "landdatcov")
        self.assertIn("land", rows["land_data_coverage"]["description"])


class ThreadedShaping(ZonalCase):
    """Zones are shaped (checked, repaired, reprojected, measured) on worker threads, read in
    rounds of 256 features: the output, the warnings and their order are those of one thread.
    The fixture has more than two rounds of features, among them bow ties (repaired), rings
    that collapse to no area once repaired, null and empty geometries, zones partly and wholly
    outside the grid; once in the grid's CRS and once in lon/lat (reprojected per worker, the
    part beyond the grid measured on the ellipsoid)."""

    COUNT = 700

    def geometries(self):
        rng = np.random.default_rng(2323)
        out = []
        for i in range(self.COUNT):
            x, y = rng.uniform(5, 85), -rng.uniform(5, 85)
            s = rng.uniform(3, 15)
            kind = i % 7
            if kind == 0:  # a bow tie: invalid, repaired into two triangles
                out.append(polygon_wkt([(x, y), (x + s, y - s), (x + s, y), (x, y - s)]))
            elif kind == 1:
                out.append(polygon_wkt([(x, y), (x + s, y), (x + s, y + s), (x, y + s)]))
            elif kind == 2:
                out.append(None)
            elif kind == 3:
                out.append("POLYGON EMPTY")
            elif kind == 4:  # reaches beyond the grid's right edge
                out.append(polygon_wkt([(x, y), (x + 120, y), (x + 120, y + s), (x, y + s)]))
            elif kind == 5:  # a spike out and back: invalid, no area once repaired
                out.append(polygon_wkt([(x, y), (x + s, y), (x + 2 * s, y), (x + s, y)]))
            else:  # wholly outside the grid
                out.append(polygon_wkt([(x + 500, y), (x + 500 + s, y), (x + 500 + s, y + s),
                                        (x + 500, y + s)]))
        return out

    def lonlat(self, geometries):
        to = osr.CoordinateTransformation(srs_of(UTM36S), srs_of(4326))
        out = []
        for g in geometries:
            if g is None or g == "POLYGON EMPTY":
                out.append(g)
                continue
            geom = ogr.CreateGeometryFromWkt(g)
            geom.Segmentize(1.0)
            geom.Transform(to)
            out.append(geom)
        return out

    def test_same_bytes_and_messages_at_one_two_and_three_threads(self):
        geometries = self.geometries()
        gdal.PushErrorHandler("CPLQuietErrorHandler")  # OGR says why each is invalid
        invalid = [i + 1 for i, g in enumerate(geometries)
                   if g not in (None, "POLYGON EMPTY") and not ogr.CreateGeometryFromWkt(g).IsValid()]
        gdal.PopErrorHandler()
        self.assertEqual(len(invalid), 200)  # every bow tie and spike: 100 + 100
        nulls = [i + 1 for i, g in enumerate(geometries) if g in (None, "POLYGON EMPTY")]
        raster = self.value_raster()
        for crs, zones in [("grid", self.zones(*geometries, name="utm.gpkg")),
                           ("lonlat", self.zones(*self.lonlat(geometries), name="ll.gpkg",
                                                 epsg=4326))]:
            made = {}
            for threads in ["1", "2", "3"]:
                for out in ["out.csv", "out.geojson"]:
                    rc, stdout, err = run("zonal", "--zones", zones, "--id-field", "zid",
                                          "--name-field", "name", "-r", f"v={raster}",
                                          "--stats", "count,sum,mean,max", "--overwrite",
                                          "--threads", threads, "-o", self.path(out))
                    self.assertEqual(rc, 0, err)
                    made[threads, out] = (read_bytes(self.path(out)), stdout, err)
            for out in ["out.csv", "out.geojson"]:
                for threads in ["2", "3"]:
                    self.assertEqual(made[threads, out], made["1", out],
                                     f"{crs} {out}: --threads {threads} against 1")
            err = made["1", "out.csv"][2]
            # Each invalid feature warned once, null and empty ones and the spikes (no area
            # once repaired) too, in feature order.
            repaired = [int(m) for m in re.findall(r"feature (\d+) [^\n]*is invalid", err)]
            self.assertEqual(repaired, invalid, crs)
            said = [int(m) for m in re.findall(r"feature (\d+) ", err)]
            self.assertEqual(said, sorted(said), crs)
            self.assertTrue(set(nulls) <= set(said), crs)
            spikes = [i + 1 for i in range(self.COUNT) if i % 7 == 5]
            no_area = [int(m) for m in re.findall(r"feature (\d+) [^\n]*has no area", err)]
            self.assertEqual(no_area, spikes, crs)

    def test_the_first_failing_feature_fails_at_any_thread_count(self):
        # Bow ties before and after a line (feature 300) and a point (feature 520), which are
        # not polygons: the run stops at the line, having warned of the bow ties before it
        # only, whichever thread shaped what.
        geometries = []
        for i in range(600):
            x, y = 10 + i % 70, -10 - (i // 10) % 70
            if i + 1 == 300:
                geometries.append(f"LINESTRING ({X0 + x} {Y0 + y}, {X0 + x + 5} {Y0 + y})")
            elif i + 1 == 520:
                geometries.append(f"POINT ({X0 + x} {Y0 + y})")
            elif i % 5 == 0:
                geometries.append(polygon_wkt([(x, y), (x + 5, y - 5), (x + 5, y), (x, y - 5)]))
            else:
                geometries.append(polygon_wkt([(x, y), (x + 5, y), (x + 5, y + 5), (x, y + 5)]))
        zones = self.zones(*geometries)
        raster = self.value_raster()
        runs = {}
        for threads in ["1", "2", "3"]:
            runs[threads] = run("zonal", "--zones", zones, "-r", f"v={raster}", "--threads",
                                threads, "-o", self.path("out.csv"))
            self.assertNotEqual(runs[threads][0], 0, runs[threads][2])
        self.assertEqual(runs["2"], runs["1"])
        self.assertEqual(runs["3"], runs["1"])
        err = runs["1"][2]
        self.assertIn("feature 300 is a Line String", err)
        warned = [int(m) for m in re.findall(r"feature (\d+) is invalid", err)]
        self.assertEqual(warned, [i + 1 for i in range(299) if i % 5 == 0])


if __name__ == "__main__":
    unittest.main()

