"""End-to-end: `cityrisk arrivals`, checked against references computed in the test.

Every fixture (CSV, GeoJSON, GeoPackage, Shapefile, reference grid) is written by the test in its
temporary folder, except the sample city's arrivals.csv and dem.tif. Expected cells come from osr
transformations done here and numpy: np.add.at for counts, and for kernels the shapes of
SCORING.md section 7 evaluated on the cell centres (weights zero for d >= h, renormalised over
the cells inside the grid, the part beyond the edge reported as kernel_mass_outside).
"""
import csv
import json
import math
import os
import random
import re
import time
import unittest

import numpy as np
from osgeo import gdal, ogr, osr

from cliutil import CliTestCase, run, sample

gdal.UseExceptions()
ogr.UseExceptions()

REASONS = ["missing_coordinate", "bad_coordinate", "latitude_out_of_range",
           "longitude_out_of_range", "not_a_point", "unprojectable", "count_not_numeric",
           "count_negative", "count_nan", "count_infinite", "count_too_large", "missing_date",
           "bad_date", "no_allowed_cell", "unmatched_area", "area_matched_twice"]
KERNELS = ["quartic", "epanechnikov", "triweight", "uniform", "triangular", "gaussian"]
SUMMARY_KEYS = ["output", "points", "areas", "records_read", "records_accepted", "records_rejected", "id",
                "rejected", "excluded_by_date", "excluded_by_where", "records_outside_grid",
                "records_far_outside", "arrivals_total", "arrivals_in_grid", "arrivals_outside_grid", "kernel",
                "bandwidth", "kernel_mass_outside", "mask", "kernel_mass_masked", "raster_sum",
                "date_range", "grid"]
UTM36S = 32736


# ---------------------------------------------------------------------------------------------
# CRS and grids


def srs_of(epsg):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s


def transform(points, src, dst):
    """[(x, y)] from EPSG src to EPSG dst, x = longitude for geographic CRSs."""
    ct = osr.CoordinateTransformation(srs_of(src), srs_of(dst))
    return [tuple(ct.TransformPoint(float(x), float(y))[:2]) for x, y in points]


class Grid:
    """A north-up grid: bounds on multiples of res, row 0 at ymax."""

    def __init__(self, xmin, ymin, xmax, ymax, res, epsg):
        self.xmin, self.ymin, self.xmax, self.ymax = xmin, ymin, xmax, ymax
        self.res, self.epsg = res, epsg
        self.cols = int(round((xmax - xmin) / res))
        self.rows = int(round((ymax - ymin) / res))

    def args(self):
        return ["--bounds", f"{self.xmin!r},{self.ymin!r},{self.xmax!r},{self.ymax!r}",
                "--resolution", repr(self.res), "--crs", f"EPSG:{self.epsg}"]

    def shape(self):
        return (self.rows, self.cols)

    def cell(self, x, y):
        """(row, col) of the cell holding (x, y), or None outside the grid."""
        col = math.floor((x - self.xmin) / self.res)
        row = math.floor((self.ymax - y) / self.res)
        if 0 <= col < self.cols and 0 <= row < self.rows:
            return row, col
        return None

    def cell_fraction(self, x, y):
        """Where (x, y) sits inside its cell, 0..1 on each axis."""
        fx = (x - self.xmin) / self.res
        fy = (self.ymax - y) / self.res
        return fx - math.floor(fx), fy - math.floor(fy)

    def write(self, path):
        """A Byte GeoTIFF on this grid, to pass as --grid."""
        ds = gdal.GetDriverByName("GTiff").Create(path, self.cols, self.rows, 1, gdal.GDT_Byte)
        ds.SetGeoTransform((self.xmin, self.res, 0.0, self.ymax, 0.0, -self.res))
        ds.SetSpatialRef(srs_of(self.epsg))
        ds = None
        return path


def count_reference(grid, records):
    """np.add.at of (x, y, count) records in grid CRS; returns (raster, in-grid sum, outside
    records, outside sum)."""
    out = np.zeros(grid.shape())
    rows, cols, counts = [], [], []
    outside, outside_sum = 0, 0.0
    for x, y, c in records:
        cell = grid.cell(x, y)
        if cell is None:
            outside += 1
            outside_sum += c
            continue
        rows.append(cell[0])
        cols.append(cell[1])
        counts.append(c)
    np.add.at(out, (np.array(rows, int), np.array(cols, int)), np.array(counts, float))
    return out, float(sum(counts)), outside, outside_sum


# ---------------------------------------------------------------------------------------------
# Kernels (SCORING.md section 7), u = d / h, zero for d >= h


def kernel_shape(name, d, h):
    u = d / h
    sigma = h / 3.0
    with np.errstate(invalid="ignore", over="ignore"):
        shape = {
            "quartic": (1 - u ** 2) ** 2,
            "epanechnikov": 1 - u ** 2,
            "triweight": (1 - u ** 2) ** 3,
            "uniform": np.ones_like(u),
            "triangular": 1 - u,
            "gaussian": np.exp(-d ** 2 / (2 * sigma ** 2)),
        }[name]
    return np.where(d < h, shape, 0.0)


def kernel_density_at_zero(name, h):
    """K(0) of the continuous kernel per unit area (the Gaussian normalised over its cut)."""
    sigma = h / 3.0
    return {
        "quartic": 3 / (math.pi * h * h),
        "epanechnikov": 2 / (math.pi * h * h),
        "triweight": 4 / (math.pi * h * h),
        "uniform": 1 / (math.pi * h * h),
        "triangular": 3 / (math.pi * h * h),
        "gaussian": 1 / (2 * math.pi * sigma ** 2) / (1 - math.exp(-4.5)),
    }[name]


def kernel_reference(grid, records, name, h):
    """Superposed kernels of (x, y, count) records: returns (raster, kernel mass outside,
    in-grid arrivals). Weights are taken on the lattice of cell centres extended beyond the grid,
    renormalised over the cells inside it; a record with no centre within h puts its whole count
    in its own cell; records outside the grid are not spread."""
    out = np.zeros(grid.shape())
    mass_outside = 0.0
    in_grid = 0.0
    for x, y, c in records:
        cell = grid.cell(x, y)
        if cell is None:
            continue
        in_grid += c
        j0 = math.floor((x - h - grid.xmin) / grid.res) - 1
        j1 = math.ceil((x + h - grid.xmin) / grid.res) + 1
        i0 = math.floor((grid.ymax - y - h) / grid.res) - 1
        i1 = math.ceil((grid.ymax - y + h) / grid.res) + 1
        J, I = np.meshgrid(np.arange(j0, j1 + 1), np.arange(i0, i1 + 1))
        cx = grid.xmin + (J + 0.5) * grid.res
        cy = grid.ymax - (I + 0.5) * grid.res
        w = kernel_shape(name, np.hypot(cx - x, cy - y), h)
        inside = (J >= 0) & (J < grid.cols) & (I >= 0) & (I < grid.rows)
        total = w.sum()
        w_in = w[inside].sum()
        if total == 0:
            out[cell] += c
            continue
        mass_outside += c * (total - w_in) / total
        np.add.at(out, (I[inside], J[inside]), c * w[inside] / w_in)
    return out, mass_outside, in_grid


def centre_distances(grid, x, y):
    cols = grid.xmin + (np.arange(grid.cols) + 0.5) * grid.res
    rows = grid.ymax - (np.arange(grid.rows) + 0.5) * grid.res
    X, Y = np.meshgrid(cols, rows)
    return np.hypot(X - x, Y - y)


# ---------------------------------------------------------------------------------------------
# Fixtures


def csv_field(value):
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_csv(path, header, rows, tags=None):
    """Writes an RFC 4180 CSV (LF line ends), quoting what needs it; returns the 1-based line
    each row starts on."""
    text = [",".join(csv_field(h) for h in header) + "\n"]
    if tags:
        text.append(",".join(tags) + "\n")
    line = len(text) + 1
    starts = []
    for row in rows:
        record = ",".join(csv_field(v) for v in row) + "\n"
        starts.append(line)
        line += record.count("\n")
        text.append(record)
    with open(path, "w", encoding="utf-8", newline="") as fp:
        fp.write("".join(text))
    return starts


def write_utm_csv(path, records, extra_header=(), extra=None):
    """x,y,count CSV of records (x, y, count) in UTM coordinates (pass --src-crs)."""
    rows = []
    for k, (x, y, c) in enumerate(records):
        rows.append([repr(float(x)), repr(float(y)), repr(c) if isinstance(c, float) else str(c)]
                    + (list(extra[k]) if extra else []))
    return write_csv(path, ["x", "y", "count", *extra_header], rows)


def write_points_gpkg(path, layer_name, epsg, features, mode="w", geom_type=ogr.wkbUnknown):
    """features: (fid, geometry WKT or None, {field: value}); fields name (String) and count
    (Real)."""
    drv = ogr.GetDriverByName("GPKG")
    ds = drv.Open(path, 1) if mode == "a" else drv.CreateDataSource(path)
    layer = ds.CreateLayer(layer_name, srs_of(epsg), geom_type)
    layer.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    layer.CreateField(ogr.FieldDefn("count", ogr.OFTReal))
    for fid, wkt, fields in features:
        f = ogr.Feature(layer.GetLayerDefn())
        f.SetFID(fid)
        for k, v in fields.items():
            if v is not None:
                f.SetField(k, v)
        if wkt:
            f.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(f)
    f = layer = ds = None
    return path


def read_raster(path):
    ds = gdal.Open(path)
    arr = ds.GetRasterBand(1).ReadAsArray().astype(np.float64)
    return arr, ds.GetGeoTransform()


def find_key(doc, key):
    """The values of key anywhere in a JSON document."""
    found = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k == key:
                found.append(v)
            found += find_key(v, key)
    elif isinstance(doc, list):
        for v in doc:
            found += find_key(v, key)
    return found


def read_report(path):
    with open(path, encoding="utf-8", newline="") as fp:
        rows = list(csv.reader(fp))
    return rows[0], rows[1:]


# ---------------------------------------------------------------------------------------------
# The test case


class ArrivalsCase(CliTestCase):
    def out(self, name=None):
        return self.path(name or f"out-{len(os.listdir(self.tmp))}.tif")

    def arrivals(self, *args, out=None):
        """Runs the command with --json; asserts exit 0; returns (output path, summary,
        stderr)."""
        out = out or self.out()
        rc, stdout, err = run("arrivals", *args, "-o", out, "--json")
        self.assertEqual(rc, 0, f"{args}: exit {rc}, stderr: {err}")
        try:
            summary = json.loads(stdout)
        except ValueError:
            self.fail(f"{args}: --json printed no JSON: {stdout!r}")
        return out, summary, err

    def assertRaster(self, got, expected, label="", rtol=1e-5, atol=None):
        self.assertEqual(got.shape, expected.shape, label)
        if atol is None:
            atol = 1e-7 * max(1.0, float(np.abs(expected).max()))
        bad = np.argwhere(~np.isclose(got, expected, rtol=rtol, atol=atol))
        self.assertEqual(len(bad), 0, f"{label}: {len(bad)} cells differ, at (row, col) "
                         f"{[tuple(map(int, b)) for b in bad[:8]]}: got "
                         f"{[float(got[tuple(b)]) for b in bad[:8]]}, expected "
                         f"{[float(expected[tuple(b)]) for b in bad[:8]]}")

    def assertGridIs(self, path, grid, summary=None):
        ds = gdal.Open(path)
        self.assertEqual((ds.RasterYSize, ds.RasterXSize), grid.shape())
        gt = ds.GetGeoTransform()
        for got, want in zip(gt, (grid.xmin, grid.res, 0.0, grid.ymax, 0.0, -grid.res)):
            self.assertAlmostEqual(got, want, delta=1e-6 * grid.res)
        self.assertEqual(ds.GetSpatialRef().GetAuthorityCode(None), str(grid.epsg))
        if summary is not None:
            g = summary["grid"]
            self.assertEqual([g["width"], g["height"]], [grid.cols, grid.rows])
            self.assertEqual([abs(r) for r in g["resolution"]], [grid.res, grid.res])
            for got, want in zip(g["bounds"], [grid.xmin, grid.ymin, grid.xmax, grid.ymax]):
                self.assertAlmostEqual(got, want, delta=1e-6 * grid.res)
            self.assertIsInstance(g["crs"], dict)

    def assertRelClose(self, got, want, rel=1e-6, label=""):
        self.assertLessEqual(abs(got - want), rel * max(abs(want), 1e-12) + 1e-12,
                             f"{label}: got {got!r}, expected {want!r}")

    def assertUsage(self, args, *needles, out=None):
        rc, _, err = run("arrivals", *args)
        self.assertEqual(rc, 2, f"{args}: exit {rc}, stderr: {err}")
        first = err.splitlines()[0] if err.strip() else ""
        self.assertTrue(first.startswith("cityrisk arrivals:"), f"{args}: {err!r}")
        for needle in needles:
            self.assertIn(needle, first, args)
        if out:
            self.assertFalse(os.path.exists(out), f"{args}: an output was written")

    def assertNoOutput(self, folder, label=""):
        self.assertEqual(sorted(os.listdir(folder)), [], f"{label}: left in the output folder")


# ---------------------------------------------------------------------------------------------
# Kernels

KGRID = Grid(700000.0, 7800000.0, 700500.0, 7800500.0, 10.0, UTM36S)  # 50 x 50 cells of 10 m
H = 100.0


class Kernels(ArrivalsCase):
    def single(self, x, y, kernel, h=H, extra=()):
        points = self.path(f"p-{len(os.listdir(self.tmp))}.csv")
        write_utm_csv(points, [(x, y, 10)])
        args = ["--points", points, "--src-crs", "EPSG:32736", "--count-field", "count",
                *KGRID.args(), "--bandwidth", repr(h)]
        if kernel:
            args += ["--kernel", kernel]
        return self.arrivals(*args, *extra)

    def check_single(self, x, y, kernel, peak_at_record):
        out, summary, _ = self.single(x, y, kernel)
        got, _ = read_raster(out)
        label = f"{kernel} at ({x}, {y})"
        d = centre_distances(KGRID, x, y)
        w = kernel_shape(kernel, d, H)
        expected = 10.0 * w / w.sum()
        self.assertLessEqual(abs(got.sum() - 10.0), 1e-5, label)
        wrong = np.argwhere((got != 0) != (d < H))
        self.assertEqual(len(wrong), 0, f"{label}: nonzero cells differ from the cells whose "
                         f"centres are within h at {[tuple(map(int, c)) for c in wrong[:8]]}, "
                         f"d = {[float(d[tuple(c)]) for c in wrong[:8]]}")
        self.assertRaster(got, expected, label, rtol=1e-5, atol=1e-9)
        # The peak against the discrete and the continuous kernel.
        near = np.unravel_index(np.argmin(d), d.shape)
        self.assertRelClose(got[near], 10.0 * w[near] / w.sum(), 1e-5, label)
        if kernel != "uniform":
            self.assertEqual(np.unravel_index(np.argmax(got), got.shape), near, label)
        continuous = 10.0 * kernel_density_at_zero(kernel, H) * KGRID.res ** 2
        if not peak_at_record:  # the continuous density at the nearest centre
            continuous *= float(kernel_shape(kernel, np.array(d[near]), H))
        self.assertLess(abs(got[near] / continuous - 1), 0.05,
                        f"{label}: peak {got[near]} vs continuous {continuous}")
        self.assertEqual(summary["kernel"], kernel)
        self.assertEqual(summary["bandwidth"], H)
        self.assertAlmostEqual(summary["kernel_mass_outside"], 0.0, places=9)
        self.assertRelClose(summary["raster_sum"], 10.0, 1e-6, label)
        self.assertRelClose(summary["arrivals_in_grid"], 10.0, 1e-12, label)

    def test_single_record_at_a_cell_centre_each_kernel(self):
        for kernel in KERNELS:
            with self.subTest(kernel=kernel):
                self.check_single(700255.0, 7800255.0, kernel, peak_at_record=True)

    def test_single_record_off_centre_each_kernel(self):
        for kernel in KERNELS:
            with self.subTest(kernel=kernel):
                self.check_single(700253.7, 7800248.2, kernel, peak_at_record=False)

    def test_bandwidth_alone_means_quartic(self):
        out, summary, _ = self.single(700255.0, 7800255.0, None)
        self.assertEqual(summary["kernel"], "quartic")
        w = kernel_shape("quartic", centre_distances(KGRID, 700255.0, 7800255.0), H)
        self.assertRaster(read_raster(out)[0], 10.0 * w / w.sum(), "--bandwidth alone",
                          atol=1e-9)

    def test_no_cell_centre_within_bandwidth(self):
        # Nearest centre (700105, 7800105) is 5.66 m away, h = 3 m: the whole count stays in
        # the record's cell.
        for kernel in ["quartic", "uniform"]:
            with self.subTest(kernel=kernel):
                out, summary, _ = self.single(700101.0, 7800101.0, kernel, h=3.0)
                expected = np.zeros(KGRID.shape())
                expected[KGRID.cell(700101.0, 7800101.0)] = 10.0
                self.assertRaster(read_raster(out)[0], expected, kernel)
                self.assertAlmostEqual(summary["kernel_mass_outside"], 0.0, places=9)
                self.assertEqual(summary["bandwidth"], 3.0)

    def test_record_near_edge_reports_mass_outside(self):
        cases = [(700023.0, 7800251.0, "quartic"), (700023.0, 7800251.0, "uniform"),
                 (700023.0, 7800251.0, "gaussian"), (700004.5, 7800496.0, "quartic"),
                 (700477.3, 7800012.9, "triangular")]
        for x, y, kernel in cases:
            with self.subTest(x=x, y=y, kernel=kernel):
                out, summary, _ = self.single(x, y, kernel)
                got, _ = read_raster(out)
                expected, mass_outside, _ = kernel_reference(KGRID, [(x, y, 10)], kernel, H)
                self.assertGreater(mass_outside, 0.1)  # the fixture reaches beyond the edge
                self.assertLessEqual(abs(got.sum() - 10.0), 1e-5)
                self.assertRelClose(summary["raster_sum"], 10.0, 1e-6)
                self.assertRelClose(summary["kernel_mass_outside"], mass_outside, 1e-6,
                                    "kernel_mass_outside")
                self.assertRaster(got, expected, kernel, atol=1e-9)
                self.assertEqual(summary["records_outside_grid"], 0)

    def test_many_records_superpose(self):
        rng = random.Random(7)
        records = []
        for _ in range(30):
            records.append((rng.uniform(700000.5, 700499.5), rng.uniform(7800000.5, 7800499.5),
                            rng.randint(1, 20)))
        records += [(700010.2, 7800300.3, 5), (700010.2, 7800300.3, 7),   # same spot, at the edge
                    (700495.1, 7800497.7, 3), (700250.0, 7800002.2, 4),
                    (699990.0, 7800250.0, 11),   # outside, within h of the grid: not spread
                    (700520.0, 7800520.0, 13), (710000.0, 7800000.0, 17)]
        points = self.path("many.csv")
        write_utm_csv(points, records)
        for kernel in ["quartic", "gaussian"]:
            with self.subTest(kernel=kernel):
                out, summary, _ = self.arrivals(
                    "--points", points, "--src-crs", "EPSG:32736", "--count-field", "count",
                    *KGRID.args(), "--kernel", kernel, "--bandwidth", "60")
                expected, mass_outside, in_grid = kernel_reference(KGRID, records, kernel, 60.0)
                got, _ = read_raster(out)
                self.assertRaster(got, expected, kernel, atol=1e-7)
                self.assertRelClose(got.sum(), in_grid, 1e-6, "raster sum")
                self.assertEqual(summary["records_outside_grid"], 3)
                self.assertRelClose(summary["arrivals_outside_grid"], 41.0, 1e-12)
                self.assertRelClose(summary["arrivals_in_grid"], in_grid, 1e-12)
                self.assertRelClose(summary["arrivals_total"], in_grid + 41.0, 1e-12)
                self.assertRelClose(summary["kernel_mass_outside"], mass_outside, 1e-6)
                self.assertRelClose(summary["raster_sum"], in_grid, 1e-6)

    def test_kernels_across_tile_boundaries(self):
        # 1100 x 600 cells: records straddle every multiple of 256 cells, where tiled
        # accumulation (with a kernel halo) must hand mass to the neighbouring tiles.
        grid = Grid(600000.0, 7700000.0, 611000.0, 7706000.0, 10.0, UTM36S)
        rng = random.Random(17)
        records = []
        for cb in [256, 512, 768, 1024]:
            for rb in [256, 512]:
                for dx, dy in [(-23.4, 7.7), (4.1, -61.3), (0.5, 0.5)]:
                    records.append((grid.xmin + cb * grid.res + dx, grid.ymax - rb * grid.res + dy,
                                    rng.randint(1, 50)))
        for _ in range(40):
            records.append((rng.uniform(grid.xmin + 1, grid.xmax - 1),
                            rng.uniform(grid.ymin + 1, grid.ymax - 1), rng.randint(1, 50)))
        points = self.path("tiles.csv")
        write_utm_csv(points, records)
        expected, mass_outside, in_grid = kernel_reference(grid, records, "quartic", 150.0)
        for threads in ["1", "4"]:
            with self.subTest(threads=threads):
                out, summary, _ = self.arrivals(
                    "--points", points, "--src-crs", "EPSG:32736", "--count-field", "count",
                    *grid.args(), "--kernel", "quartic", "--bandwidth", "150",
                    "--threads", threads)
                got, _ = read_raster(out)
                self.assertRaster(got, expected, f"--threads {threads}", atol=1e-6)
                self.assertRelClose(got.sum(), in_grid, 1e-6, "raster sum")
                self.assertRelClose(summary["kernel_mass_outside"], mass_outside, 1e-6)

    def test_kernel_on_non_square_cells(self):
        # 10 m x 20 m cells from a reference raster: distances are between cell centres.
        ref = self.path("ns.tif")
        ds = gdal.GetDriverByName("GTiff").Create(ref, 60, 30, 1, gdal.GDT_Byte)
        ds.SetGeoTransform((700000.0, 10.0, 0.0, 7800600.0, 0.0, -20.0))
        ds.SetSpatialRef(srs_of(UTM36S))
        ds = None
        points = self.path("ns.csv")
        write_utm_csv(points, [(700301.3, 7800297.1, 10)])
        out, summary, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                        "--count-field", "count", "--grid", ref, "--kernel",
                                        "epanechnikov", "--bandwidth", "100")
        X, Y = np.meshgrid(700000.0 + (np.arange(60) + 0.5) * 10.0,
                           7800600.0 - (np.arange(30) + 0.5) * 20.0)
        w = kernel_shape("epanechnikov", np.hypot(X - 700301.3, Y - 7800297.1), 100.0)
        self.assertRaster(read_raster(out)[0], 10.0 * w / w.sum(), "10 x 20 m cells", atol=1e-8)
        self.assertEqual(summary["grid"]["resolution"][0], 10.0)
        self.assertEqual(abs(summary["grid"]["resolution"][1]), 20.0)

    def test_bandwidth_beyond_the_grid_is_refused(self):
        # A kernel's cost grew with the bandwidth squared, not with the grid: one record with
        # --bandwidth 1e7 on this 50 x 50 grid ran for hours (issue 16, point 10). The
        # bandwidth may not exceed the grid's shorter side.
        points = self.path("p.csv")
        write_utm_csv(points, [(700255.0, 7800155.0, 1)])
        narrow = Grid(700000.0, 7800000.0, 700500.0, 7800200.0, 10.0, UTM36S)  # 500 x 200 m
        ref = narrow.write(self.path("narrow.tif"))
        for grid_args, h, side in [(KGRID.args(), "1e7", "500"), (KGRID.args(), "500.5", "500"),
                                   (narrow.args(), "201", "200"), (["--grid", ref], "3e6", "200")]:
            with self.subTest(grid=grid_args, h=h):
                out = self.out()
                started = time.monotonic()
                self.assertUsage(["--points", points, "--src-crs", "EPSG:32736", "-o", out,
                                  *grid_args, "--bandwidth", h],
                                 f"--bandwidth {float(h):.10g} is beyond the grid's shorter side, "
                                 f"{side}", out=out)
                self.assertLess(time.monotonic() - started, 60)
        # At the bound, and with a grid made from the records' extent (which grows by the
        # bandwidth on every side), the kernel runs.
        for grid_args, h in [(narrow.args(), "200"), (["--grid", ref], "200"),
                             (["--resolution", "10", "--crs", "EPSG:32736"], "5000")]:
            with self.subTest(grid=grid_args, h=h):
                out, summary, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                                *grid_args, "--bandwidth", h)
                self.assertRelClose(summary["raster_sum"], 1.0, 1e-6)

    def test_kernel_as_wide_as_the_grid_keeps_totals_and_reports_the_mass_outside(self):
        # The bound is the grid's shorter side: a record near a corner of a 200 x 100 m grid
        # with h = 100 m sends most of its kernel beyond the edges; the weights are still
        # renormalised over the grid and the mass outside is the lattice's, as documented.
        grid = Grid(700000.0, 7800000.0, 700200.0, 7800100.0, 10.0, UTM36S)
        records = [(700013.7, 7800091.2, 10), (700187.1, 7800004.4, 3), (700100.0, 7800050.0, 1)]
        points = self.path("wide.csv")
        write_utm_csv(points, records)
        for kernel in KERNELS:
            with self.subTest(kernel=kernel):
                out, summary, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                                "--count-field", "count", *grid.args(),
                                                "--kernel", kernel, "--bandwidth", "100")
                expected, mass_outside, in_grid = kernel_reference(grid, records, kernel, 100.0)
                self.assertGreater(mass_outside, 1.0)
                self.assertRaster(read_raster(out)[0], expected, kernel, atol=1e-7)
                self.assertRelClose(summary["raster_sum"], in_grid, 1e-6)
                self.assertRelClose(summary["kernel_mass_outside"], mass_outside, 1e-6)

    def test_kernel_on_geographic_grid_is_refused(self):
        points = self.path("p.csv")
        write_csv(points, ["lon", "lat"], [["34.85", "-19.83"]])
        out = self.out()
        self.assertFails(["arrivals", "--points", points, "-o", out, "--bounds",
                          "34.8,-19.9,34.9,-19.8", "--resolution", "0.001", "--crs", "EPSG:4326",
                          "--kernel", "quartic", "--bandwidth", "100"], 3)
        self.assertFalse(os.path.exists(out))
        self.assertFails(["arrivals", "--points", points, "-o", out, "--grid",
                          sample("water_stress.tif"), "--bandwidth", "100"], 3)
        self.assertFalse(os.path.exists(out))

    def test_usage_errors(self):
        points = self.path("p.csv")
        write_csv(points, ["lon", "lat"], [["34.85", "-19.83"]])
        out = self.out("never.tif")
        grid = KGRID.args()
        base = ["--points", points, "-o", out, *grid]
        self.assertUsage([*base, "--kernel", "quartic"], out=out)
        self.assertUsage([*base, "--kernel", "gaussian"], out=out)
        self.assertUsage([*base, "--kernel", "cosine", "--bandwidth", "100"], out=out)
        self.assertUsage([*base, "--bandwidth", "0"], out=out)
        self.assertUsage([*base, "--bandwidth", "-5"], out=out)
        self.assertUsage(["-o", out, *grid], out=out)                       # no --points
        self.assertUsage(["--points", points, *grid], out=out)              # no -o
        self.assertUsage(["--points", points, "-o", out], out=out)          # no grid
        self.assertUsage([*base, "--from", "2024-01-01"], out=out)          # no --date-field
        self.assertUsage([*base, "--where", "count >>= 3 AND"], out=out)
        self.assertUsage([*base, "--kernel", "none", "--bandwidth", "500"], out=out)


# ---------------------------------------------------------------------------------------------
# Placement: the right cell, in any CRS


class Placement(ArrivalsCase):
    def test_counts_match_numpy_add_at(self):
        grid = Grid(690000.0, 7805500.0, 696000.0, 7810000.0, 30.0, UTM36S)  # 200 x 150
        ref = grid.write(self.path("ref.tif"))
        rng = random.Random(11)
        utm = []
        for k in range(1000):
            if k % 20 == 0:  # 50 outside, up to 3 km beyond an edge
                x = rng.choice([rng.uniform(687000, 689990), rng.uniform(696010, 699000)])
                y = rng.uniform(7803000, 7812000)
            else:
                x = grid.xmin + (rng.randrange(grid.cols) + rng.uniform(0.05, 0.95)) * grid.res
                y = grid.ymin + (rng.randrange(grid.rows) + rng.uniform(0.05, 0.95)) * grid.res
            utm.append((x, y))
        lonlat = transform(utm, UTM36S, 4326)
        rows = [[f"{lon:.8f}", f"{lat:.8f}", str(rng.randint(1, 9))] for lon, lat in lonlat]
        points = self.path("points.csv")
        write_csv(points, ["longitude", "latitude", "n"], rows)
        back = transform([(float(r[0]), float(r[1])) for r in rows], 4326, UTM36S)
        records = [(x, y, int(r[2])) for (x, y), r in zip(back, rows)]

        out, summary, _ = self.arrivals("--points", points, "--grid", ref, "--count-field", "n")
        expected, in_grid, outside, outside_sum = count_reference(grid, records)
        self.assertEqual(outside, 50)
        got, _ = read_raster(out)
        self.assertGridIs(out, grid, summary)
        self.assertRaster(got, expected, "--count-field n")
        self.assertEqual(summary["records_read"], 1000)
        self.assertEqual(summary["records_accepted"], 1000)
        self.assertEqual(summary["records_rejected"], 0)
        self.assertEqual(summary["records_outside_grid"], 50)
        self.assertEqual(summary["arrivals_outside_grid"], outside_sum)
        self.assertEqual(summary["arrivals_in_grid"], in_grid)
        self.assertEqual(summary["arrivals_total"], in_grid + outside_sum)
        self.assertEqual(summary["raster_sum"], in_grid)
        self.assertEqual(summary["kernel"], "none")
        self.assertIsNone(summary["bandwidth"])
        self.assertEqual(summary["kernel_mass_outside"], 0)
        self.assertIsNone(summary["date_range"])
        self.assertEqual(summary["id"], "line")
        self.assertEqual(summary["points"], points)
        self.assertEqual(summary["output"], out)
        for key in SUMMARY_KEYS:
            self.assertIn(key, summary)
        self.assertEqual(sorted(summary["rejected"]), sorted(REASONS))
        for reason in REASONS:
            self.assertEqual(summary["rejected"][reason], {"count": 0, "first": []}, reason)

        # Without --count-field every record counts 1.
        out, summary, _ = self.arrivals("--points", points, "--grid", ref)
        ones, _, _, _ = count_reference(grid, [(x, y, 1) for x, y, _ in records])
        self.assertRaster(read_raster(out)[0], ones, "no --count-field")
        self.assertEqual(summary["arrivals_in_grid"], 950)

    def antimeridian(self, epsg, lat, res):
        lons = ["179.99", "-179.99", "179.999", "-179.999"]
        rows = [[lon, repr(lat), str(k + 2)] for k, lon in enumerate(lons)]
        xy = transform([(float(lon), lat) for lon in lons], 4326, epsg)
        # Independent sanity: -179.99 is 0.02 degrees east of 179.99, not 359.98 west.
        self.assertAlmostEqual((xy[1][0] - xy[0][0]) / (0.02 * 111320), 1, delta=0.1)
        xs = [x for x, _ in xy]
        ys = [y for _, y in xy]
        grid = Grid(math.floor(min(xs) / res) * res - 3 * res,
                    math.floor(min(ys) / res) * res - 3 * res,
                    math.ceil(max(xs) / res) * res + 3 * res,
                    math.ceil(max(ys) / res) * res + 3 * res, res, epsg)
        for x, y in xy:
            fx, fy = grid.cell_fraction(x, y)
            self.assertTrue(0.01 < fx < 0.99 and 0.01 < fy < 0.99, "fixture on a cell edge")
        points = self.path(f"am-{epsg}.csv")
        write_csv(points, ["lon", "lat", "count"], rows)
        out, summary, _ = self.arrivals("--points", points, "--count-field", "count", *grid.args())
        expected, in_grid, outside, _ = count_reference(
            grid, [(x, y, int(r[2])) for (x, y), r in zip(xy, rows)])
        self.assertEqual(outside, 0)
        self.assertEqual(len({grid.cell(x, y) for x, y in xy}), 4)
        self.assertGridIs(out, grid, summary)
        self.assertRaster(read_raster(out)[0], expected, f"EPSG:{epsg}")
        self.assertEqual(summary["records_outside_grid"], 0)
        self.assertEqual(summary["records_rejected"], 0)

    def test_antimeridian_onto_utm_60n(self):
        self.antimeridian(32660, 10.0, 100.0)

    def test_antimeridian_onto_pdc_mercator(self):
        self.antimeridian(3832, -17.0, 100.0)

    def test_antimeridian_on_a_lonlat_grid(self):
        points = self.path("lonlat.csv")
        write_csv(points, ["lon", "lat", "count"],
                  [["-179.95", "0.05", "3"], ["179.55", "-0.85", "5"], ["180.55", "0.95", "7"]])
        grid = Grid(179.0, -1.0, 181.0, 1.0, 0.1, 4326)
        out, summary, _ = self.arrivals("--points", points, "--count-field", "count",
                                        *grid.args())
        got, gt = read_raster(out)
        self.assertEqual(got.shape, (20, 20))
        for g, w in zip(gt, (179.0, 0.1, 0.0, 1.0, 0.0, -0.1)):
            self.assertAlmostEqual(g, w, places=9)
        expected = np.zeros((20, 20))
        expected[9, 10] = 3   # lon -179.95 is 180.05: column (180.05 - 179) / 0.1 = 10.5
        expected[18, 5] = 5   # lon 179.55, lat -0.85
        # lon 180.55 is outside +-180: rejected (longitude_out_of_range)
        self.assertRaster(got, expected, "EPSG:4326 across 180")
        self.assertEqual(summary["rejected"]["longitude_out_of_range"],
                         {"count": 1, "first": [4]})

    def test_gpkg_in_web_mercator_onto_utm(self):
        grid = Grid(690000.0, 7800000.0, 692000.0, 7802000.0, 20.0, UTM36S)
        rng = random.Random(5)
        utm = [(grid.xmin + (rng.randrange(grid.cols) + rng.uniform(0.1, 0.9)) * grid.res,
                grid.ymin + (rng.randrange(grid.rows) + rng.uniform(0.1, 0.9)) * grid.res)
               for _ in range(40)]
        merc = transform(utm, UTM36S, 3857)
        counts = [rng.randint(1, 30) for _ in merc]
        path = self.path("merc.gpkg")
        # A decoy layer first, so --layer matters.
        write_points_gpkg(path, "decoy", 3857, [(1, f"POINT ({merc[0][0]} {merc[0][1]})",
                                                 {"name": "decoy", "count": 1000.0})],
                          geom_type=ogr.wkbPoint)
        write_points_gpkg(path, "arrivals", 3857,
                          [(k + 1, f"POINT ({x!r} {y!r})", {"name": f"s{k}", "count": float(c)})
                           for k, ((x, y), c) in enumerate(zip(merc, counts))],
                          mode="a", geom_type=ogr.wkbPoint)
        back = transform(merc, 3857, UTM36S)
        expected, in_grid, outside, _ = count_reference(
            grid, [(x, y, c) for (x, y), c in zip(back, counts)])
        self.assertEqual(outside, 0)
        out, summary, _ = self.arrivals("--points", path, "--layer", "arrivals",
                                        "--count-field", "count", *grid.args())
        self.assertRaster(read_raster(out)[0], expected, "GPKG EPSG:3857")
        self.assertEqual(summary["id"], "feature")
        self.assertEqual(summary["records_read"], 40)
        self.assertEqual(summary["arrivals_in_grid"], in_grid)

    def test_geojson_points_multipoint_and_where(self):
        grid = Grid(690000.0, 7800000.0, 692000.0, 7802000.0, 20.0, UTM36S)
        utm = [(690105.0, 7801005.0), (690507.0, 7800493.0), (691333.0, 7801777.0),
               (691850.0, 7800150.0), (690010.0, 7801990.0), (691010.0, 7801010.0)]
        ll = transform(utm, UTM36S, 4326)
        feats = [
            {"type": "Feature", "properties": {"name": "a", "count": 3},
             "geometry": {"type": "Point", "coordinates": list(ll[0])}},
            {"type": "Feature", "properties": {"name": "b", "count": 1.5},
             "geometry": {"type": "Point", "coordinates": list(ll[1])}},
            {"type": "Feature", "properties": {"name": "c", "count": 6},
             "geometry": {"type": "MultiPoint", "coordinates": [list(p) for p in ll[2:5]]}},
            {"type": "Feature", "properties": {"name": "d", "count": 2.25},
             "geometry": {"type": "Point", "coordinates": list(ll[5])}},
            {"type": "Feature", "properties": {"name": "e", "count": 4},
             "geometry": {"type": "Point", "coordinates": list(ll[0])}},
        ]
        path = self.path("points.geojson")
        with open(path, "w", encoding="utf-8") as fp:
            json.dump({"type": "FeatureCollection", "features": feats}, fp)
        back = transform(ll, 4326, UTM36S)
        records = [(*back[0], 3), (*back[1], 1.5), (*back[2], 2), (*back[3], 2), (*back[4], 2),
                   (*back[5], 2.25), (*back[0], 4)]
        expected, in_grid, outside, _ = count_reference(grid, records)
        self.assertEqual(outside, 0)
        out, summary, _ = self.arrivals("--points", path, "--count-field", "count", *grid.args())
        self.assertRaster(read_raster(out)[0], expected, "GeoJSON")
        self.assertEqual(summary["records_read"], 5)
        self.assertEqual(summary["records_accepted"], 5)
        self.assertEqual(summary["arrivals_in_grid"], 16.75)
        self.assertEqual(summary["id"], "feature")

        # --where on an OGR source is OGR SQL.
        out, summary, _ = self.arrivals("--points", path, "--count-field", "count",
                                        "--where", "count > 2 AND name <> 'e'", *grid.args())
        kept = [(*back[0], 3), (*back[2], 2), (*back[3], 2), (*back[4], 2), (*back[5], 2.25)]
        self.assertRaster(read_raster(out)[0], count_reference(grid, kept)[0], "GeoJSON --where")
        self.assertEqual(summary["arrivals_in_grid"], 11.25)

    def test_x_y_fields_and_src_crs(self):
        grid = Grid(700000.0, 7800000.0, 700500.0, 7800500.0, 10.0, UTM36S)
        points = self.path("xy.csv")
        write_csv(points, ["site", "east", "north", "n"],
                  [["a", "700003.5", "7800497.5", "2"], ["b", "700255.0", "7800255.0", "3"],
                   ["c", "700499.9", "7800000.1", "4"], ["d", "700255.0", "7800255.0", "5"]])
        out, summary, _ = self.arrivals("--points", points, "--x-field", "east", "--y-field",
                                        "north", "--src-crs", "EPSG:32736", "--count-field", "n",
                                        *grid.args())
        expected = np.zeros(grid.shape())
        expected[0, 0] = 2
        expected[24, 25] = 8
        expected[49, 49] = 4
        self.assertRaster(read_raster(out)[0], expected, "--x-field/--y-field")
        # Projected input is not range-checked as longitude/latitude.
        self.assertEqual(summary["records_rejected"], 0)

    def test_hxl_tags_find_the_columns(self):
        points = self.path("hxl.csv")
        grid = Grid(690000.0, 7800000.0, 692000.0, 7802000.0, 20.0, UTM36S)
        utm = [(690105.0, 7801005.0), (690507.0, 7800493.0), (691333.0, 7801777.0)]
        ll = transform(utm, UTM36S, 4326)
        starts = write_csv(points, ["where", "a", "b", "people"],
                           [["one", f"{ll[0][0]:.9f}", f"{ll[0][1]:.9f}", "4"],
                            ["two", f"{ll[1][0]:.9f}", f"{ll[1][1]:.9f}", "5"],
                            ["bad", f"{ll[1][0]:.9f}", "95.0", "5"],
                            ["three", f"{ll[2][0]:.9f}", f"{ll[2][1]:.9f}", "6"]],
                           tags=["#loc+name", "#geo+lon", "#geo+lat", "#affected+ind"])
        self.assertEqual(starts, [3, 4, 5, 6])
        out, summary, _ = self.arrivals("--points", points, "--count-field", "people",
                                        *grid.args())
        expected, _, _, _ = count_reference(grid, [(*utm[0], 4), (*utm[1], 5), (*utm[2], 6)])
        self.assertRaster(read_raster(out)[0], expected, "HXL")
        self.assertEqual(summary["records_read"], 4)
        self.assertEqual(summary["rejected"]["latitude_out_of_range"], {"count": 1, "first": [5]})

    def test_grid_from_records_extent(self):
        points = self.path("ext.csv")
        write_utm_csv(points, [(700013.0, 7800021.0, 1), (700487.0, 7800470.0, 2),
                               (700250.5, 7800300.5, 3)])
        out, summary, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                        "--count-field", "count", "--resolution", "10", "--crs",
                                        "EPSG:32736", "--kernel", "quartic", "--bandwidth", "50")
        # Extent [700013, 7800021, 700487, 7800470] grown by 50, snapped outwards to 10 m.
        grid = Grid(699960.0, 7799970.0, 700540.0, 7800520.0, 10.0, UTM36S)
        self.assertGridIs(out, grid, summary)
        self.assertRelClose(read_raster(out)[0].sum(), 6.0, 1e-6)
        self.assertAlmostEqual(summary["kernel_mass_outside"], 0.0, places=9)

        # Records exactly on multiples of the resolution, no kernel: the grid still holds them.
        points = self.path("ext2.csv")
        write_utm_csv(points, [(700000.0, 7800000.0, 1), (700100.0, 7800050.0, 2),
                               (700030.0, 7800020.0, 4)])
        out, summary, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                        "--count-field", "count", "--resolution", "10",
                                        "--crs", "EPSG:32736")
        self.assertEqual(summary["records_outside_grid"], 0, summary.get("grid"))
        self.assertEqual(summary["arrivals_in_grid"], 7)
        self.assertEqual(read_raster(out)[0].sum(), 7)
        gt = gdal.Open(out).GetGeoTransform()
        self.assertEqual((gt[0] % 10, gt[3] % 10), (0.0, 0.0))


# ---------------------------------------------------------------------------------------------
# Inputs and outputs


class InputsAndOutputs(ArrivalsCase):
    def test_header_only_with_bounds_fails(self):
        # No record is no usable data, not "no arrivals": exit 3 and nothing written, whatever
        # the grid options (issue 18, point 9).
        for tags in [None, ["#date", "#geo+lon", "#geo+lat", "#affected"]]:
            for extra in [(), ("--kernel", "quartic", "--bandwidth", "100")]:
                with self.subTest(hxl=bool(tags), extra=extra):
                    points = self.path(f"empty-{bool(tags)}.csv")
                    write_csv(points, ["date", "lon", "lat", "n"], [], tags=tags)
                    folder = self.path(f"out-{bool(tags)}-{len(extra)}")
                    os.mkdir(folder)
                    self.assertFails(["arrivals", "--points", points, "--count-field", "n",
                                      *KGRID.args(), *extra, "-o",
                                      os.path.join(folder, "a.tif")], 3, points, "no records")
                    self.assertNoOutput(folder, "header only")

    def test_header_only_without_bounds_fails(self):
        points = self.path("empty.csv")
        write_csv(points, ["lon", "lat"], [])
        folder = self.path("out")
        os.mkdir(folder)
        self.assertFails(["arrivals", "--points", points, "-o", os.path.join(folder, "a.tif"),
                          "--resolution", "10", "--crs", "EPSG:32736"], 3, "cityrisk arrivals:",
                         points)
        self.assertNoOutput(folder, "header only, grid from the extent")

    def test_no_coordinate_columns(self):
        points = self.path("nocoords.csv")
        write_csv(points, ["site", "count"], [["a", "3"]])
        self.assertFails(["arrivals", "--points", points, "-o", self.out(), *KGRID.args()], 3,
                         points)

    def test_layer_without_crs(self):
        path = self.path("nocrs.shp")
        ds = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(path)
        layer = ds.CreateLayer("nocrs", None, ogr.wkbPoint)
        f = ogr.Feature(layer.GetLayerDefn())
        f.SetGeometry(ogr.CreateGeometryFromWkt("POINT (700255 7800255)"))
        layer.CreateFeature(f)
        f = layer = ds = None
        self.assertFalse(os.path.exists(self.path("nocrs.prj")))
        out = self.out()
        self.assertFails(["arrivals", "--points", path, "-o", out, *KGRID.args()], 3, "nocrs")
        self.assertFalse(os.path.exists(out))
        # ... unless --src-crs gives it.
        out, summary, _ = self.arrivals("--points", path, "--src-crs", "EPSG:32736",
                                        *KGRID.args())
        expected = np.zeros(KGRID.shape())
        expected[24, 25] = 1
        self.assertRaster(read_raster(out)[0], expected, "shapefile + --src-crs")

    def test_missing_points_file(self):
        missing = self.path("nope.csv")
        self.assertFails(["arrivals", "--points", missing, "-o", self.out(), *KGRID.args()], 1,
                         missing)

    def test_decimal_counts(self):
        cells = [(700005.0, 7800495.0), (700015.0, 7800495.0), (700025.0, 7800495.0),
                 (700035.0, 7800495.0), (700045.0, 7800495.0), (700055.0, 7800495.0)]
        rows = [(*cells[0], "0.5"), (*cells[1], "2.25"), (*cells[2], "0.001"),
                (*cells[3], "1.5e1"), (*cells[4], "0"), (*cells[5], "0.1"), (*cells[5], "0.2"),
                (*cells[0], "12.125")]
        points = self.path("dec.csv")
        write_csv(points, ["x", "y", "count"], [[repr(x), repr(y), c] for x, y, c in rows])
        out, summary, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                        "--count-field", "count", *KGRID.args())
        got, _ = read_raster(out)
        want = [12.625, 2.25, 0.001, 15.0, 0.0, 0.3]
        for k, w in enumerate(want):
            self.assertAlmostEqual(got[0, k], w, delta=1e-6 * max(w, 1), msg=f"cell {k}")
        self.assertEqual(np.count_nonzero(got), 5)
        self.assertAlmostEqual(summary["arrivals_total"], 30.176, places=9)
        self.assertEqual(summary["records_accepted"], 8)

    def test_output_exists_and_overwrite(self):
        points = self.path("p.csv")
        write_utm_csv(points, [(700255.0, 7800255.0, 3)])
        out = self.path("exists.tif")
        with open(out, "wb") as fp:
            fp.write(b"not a raster")
        args = ["arrivals", "--points", points, "--src-crs", "EPSG:32736", "--count-field",
                "count", "-o", out, *KGRID.args()]
        self.assertFails(args, 4, out)
        with open(out, "rb") as fp:
            self.assertEqual(fp.read(), b"not a raster")
        rc, _, err = run(*args, "--overwrite")
        self.assertEqual(rc, 0, err)
        self.assertEqual(read_raster(out)[0][24, 25], 3)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["exists.tif", "p.csv"])

    def test_cog_and_provenance(self):
        points = self.path("p.csv")
        write_utm_csv(points, [(700255.0, 7800255.0, 3)])
        out, summary, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                        "--count-field", "count", *KGRID.args(), "--kernel",
                                        "epanechnikov", "--bandwidth", "40", "-q")
        ds = gdal.Open(out)
        self.assertEqual(ds.RasterCount, 1)
        band = ds.GetRasterBand(1)
        self.assertEqual(band.DataType, gdal.GDT_Float32)
        self.assertEqual(band.GetDescription(), "arrivals")
        self.assertEqual(ds.GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE"), "COG")
        meta = ds.GetMetadata()
        for key in ["CITYRISK_VERSION", "CITYRISK_COMMAND", "CITYRISK_INPUTS",
                    "CITYRISK_PARAMETERS", "CITYRISK_FORMULA"]:
            self.assertTrue(meta.get(key), key)
        self.assertIn("p.csv", meta["CITYRISK_INPUTS"])
        params = json.loads(meta["CITYRISK_PARAMETERS"])
        self.assertIn("epanechnikov", find_key(params, "kernel"), params)
        self.assertIn(40, find_key(params, "bandwidth"), params)
        ds = None
        self.assertEqual(sorted(os.listdir(self.tmp)), sorted(["p.csv", os.path.basename(out)]))

        # -co reaches the COG driver.
        out, _, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736", *KGRID.args(),
                                  "-co", "COMPRESS=LZW")
        ds = gdal.Open(out)
        self.assertEqual(ds.GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE"), "LZW")
        self.assertEqual(ds.GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE"), "COG")


# ---------------------------------------------------------------------------------------------
# Validation, row by row

GOOD_LON = (34.77, 34.93)   # well inside dem.tif
GOOD_LAT = (-19.905, -19.755)
BAD_VALUES = {
    "missing_coordinate": [("latitude", ""), ("longitude", "")],
    "bad_coordinate": [("longitude", "abc"), ("latitude", "12.3.4"), ("longitude", "34,85"),
                       ("latitude", "-19.8S"), ("longitude", "--34.8"), ("latitude", "N/A")],
    "latitude_out_of_range": [("latitude", "95.5"), ("latitude", "-90.0001"),
                              ("latitude", "123"), ("latitude", "-180")],
    "longitude_out_of_range": [("longitude", "180.5"), ("longitude", "-181"),
                               ("longitude", "360"), ("longitude", "-180.000001")],
    "count_not_numeric": [("count", ""), ("count", "ten"), ("count", "12abc"), ("count", "n/a"),
                          ("count", "1,5")],
    "count_negative": [("count", "-1"), ("count", "-0.5"), ("count", "-12")],
    "count_nan": [("count", "NaN"), ("count", "nan"), ("count", "NAN")],
    "count_infinite": [("count", "inf"), ("count", "Infinity"), ("count", "INF"),
                       ("count", "+inf")],
    "bad_date": [("date", "2024-02-30"), ("date", "2023-02-29"), ("date", "2024-13-01"),
                 ("date", "01/02/2024"), ("date", "2024-1-5"), ("date", "yesterday"),
                 ("date", "2024-00-10")],
    "missing_date": [("date", "")],
}
MESSY_HEADER = ["date", "site_name", "latitude", "longitude", "count", "note"]


def random_date(rng):
    day = np.datetime64("2024-01-02") + rng.randrange(727)  # to 2025-12-30
    fmt = rng.randrange(6)
    tail = ["", "T08:30", " 14:05:09", "T23:59:59Z", "T10:20:30.125+02:00", "T00:00-05:00"][fmt]
    return str(day) + tail


def make_messy_csv(path, seed=2024, n=10000, bad_each=37):
    """n rows, bad_each bad rows of every kind in BAD_VALUES at seeded random places, quoted
    fields with newlines scattered among them. Returns (good records [(lon, lat, count)],
    {reason: [lines]}, {line: (reason, row)}, the rows written)."""
    rng = random.Random(seed)
    places = rng.sample(range(n), bad_each * len(BAD_VALUES))
    kind_of = {}
    for k, reason in enumerate(BAD_VALUES):
        for i in places[k * bad_each:(k + 1) * bad_each]:
            kind_of[i] = reason
    good_idx = [i for i in range(n) if i not in kind_of]
    first_day, last_day = rng.sample(good_idx, 2)
    newline_rows = set(rng.sample(range(n), 40))
    rows = []
    for i in range(n):
        lon = f"{rng.uniform(*GOOD_LON):.6f}"
        lat = f"{rng.uniform(*GOOD_LAT):.6f}"
        count = str(rng.randint(1, 40)) if rng.random() < 0.9 else f"{rng.randint(1, 40)}.5"
        date = random_date(rng)
        if i == first_day:
            date = "2024-01-01T06:00"
        elif i == last_day:
            date = "2025-12-31"
        site = f"Site {rng.randrange(60)}"
        if i in newline_rows:
            site = rng.choice([f"Bairro {i}\nBloco B", f"Escola {i}\nRua 3\nPorta 2",
                               f"Campo \"{i}\", Zona\nNorte"])
        row = {"date": date, "site_name": site, "latitude": lat, "longitude": lon,
               "count": count, "note": f"r{i}"}
        if i in kind_of:
            field, value = rng.choice(BAD_VALUES[kind_of[i]])
            row[field] = value
        rows.append([row[h] for h in MESSY_HEADER])
    starts = write_csv(path, MESSY_HEADER, rows)
    good = [(float(rows[i][3]), float(rows[i][2]), float(rows[i][4])) for i in good_idx]
    lines = {reason: sorted(starts[i] for i in kind_of if kind_of[i] == reason)
             for reason in BAD_VALUES}
    by_line = {starts[i]: (kind_of[i], rows[i]) for i in kind_of}
    return good, lines, by_line, rows


class Validation(ArrivalsCase):
    def test_ten_thousand_rows_with_bad_rows_of_every_kind(self):
        points = self.path("messy.csv")
        good, lines, by_line, rows = make_messy_csv(points)
        with open(points, encoding="utf-8") as fp:
            self.assertGreaterEqual(sum(1 for _ in fp), 10001 + 40)  # line numbers != record index
        report = self.path("rejects.csv")
        dem = sample("dem.tif")
        out, summary, err = self.arrivals("--points", points, "--grid", dem, "--count-field",
                                          "count", "--date-field", "date", "--report", report)
        n_bad = 37 * len(BAD_VALUES)
        self.assertEqual(summary["records_read"], 10000)
        self.assertEqual(summary["records_rejected"], n_bad)
        self.assertEqual(summary["records_accepted"], 10000 - n_bad)
        self.assertEqual(summary["id"], "line")
        self.assertEqual(sorted(summary["rejected"]), sorted(REASONS))
        for reason in REASONS:
            want = lines.get(reason, [])
            self.assertEqual(summary["rejected"][reason], {"count": len(want), "first": want[:5]},
                             reason)
        self.assertEqual(summary["excluded_by_date"], 0)
        self.assertEqual(summary["excluded_by_where"], 0)
        self.assertEqual(summary["records_outside_grid"], 0)
        total = sum(c for _, _, c in good)
        self.assertRelClose(summary["arrivals_total"], total, 1e-12, "arrivals_total")
        self.assertRelClose(summary["raster_sum"], total, 1e-6, "raster_sum")
        self.assertEqual(summary["date_range"], {"first": "2024-01-01", "last": "2025-12-31"})

        # The raster against np.add.at of the good rows.
        ds = gdal.Open(dem)
        gt = ds.GetGeoTransform()
        grid = Grid(gt[0], gt[3] + gt[5] * ds.RasterYSize, gt[0] + gt[1] * ds.RasterXSize,
                    gt[3], gt[1], UTM36S)
        ds = None
        utm = transform([(lon, lat) for lon, lat, _ in good], 4326, UTM36S)
        expected, _, outside, _ = count_reference(
            grid, [(x, y, c) for (x, y), (_, _, c) in zip(utm, good)])
        self.assertEqual(outside, 0)
        self.assertRaster(read_raster(out)[0], expected, "messy CSV")

        # One warning per reason, with the count and the first five lines.
        warnings = [l for l in err.splitlines() if l.startswith("cityrisk arrivals: warning:")]
        self.assertEqual(len(warnings), len(BAD_VALUES), err)
        for reason, want in lines.items():
            listed = ", ".join(str(l) for l in want[:5])
            pattern = (r"cityrisk arrivals: warning: " + re.escape(points) +
                       r": 37 records rejected: .+ \(lines " + re.escape(listed) + r", \.\.\.\)$")
            matching = [w for w in warnings if re.match(pattern, w)]
            self.assertEqual(len(matching), 1, f"{reason}: no warning line {pattern!r} in {err}")

        # The report: every rejected record, in input order, with its original fields.
        header, rejects = read_report(report)
        self.assertEqual(header, ["line", "reason", "message", *MESSY_HEADER])
        self.assertEqual([int(r[0]) for r in rejects], sorted(by_line))
        for r in rejects:
            reason, row = by_line[int(r[0])]
            self.assertEqual(r[1], reason, f"line {r[0]}")
            self.assertTrue(r[2].strip(), f"line {r[0]}: empty message")
            self.assertEqual(r[3:], row, f"line {r[0]}")

        # -q: no warnings.
        rc, _, err = run("arrivals", "--points", points, "--grid", dem, "--count-field", "count",
                         "--date-field", "date", "-o", self.out(), "-q")
        self.assertEqual(rc, 0, err)
        self.assertEqual(err.strip(), "")

    def test_bom_crlf_and_embedded_line_breaks(self):
        # A UTF-8 BOM, CRLF line ends and quoted fields holding CRLF and LF: ids are still the
        # lines records start on.
        raw = ("\ufeffname,lon,lat,n\r\n"
               "a,34.85,-19.83,1\r\n"                 # line 2
               "\"b\r\nb\",34.85,-19.83,2\r\n"       # line 3, two lines
               "c,34.85,95,3\r\n"                     # line 5: latitude out of range
               "\"d\nd\nd\",34.85,-19.83,4\r\n"       # line 6, three lines
               "e,,-19.83,5\r\n"                      # line 9: missing coordinate
               "f,34.85,-19.83,x\r\n")                # line 10: count not numeric
        points = self.path("crlf.csv")
        with open(points, "w", encoding="utf-8", newline="") as fp:
            fp.write(raw)
        report = self.path("r.csv")
        _, summary, _ = self.arrivals("--points", points, "--count-field", "n", "--report",
                                      report, "--grid", sample("dem.tif"))
        self.assertEqual(summary["records_read"], 6)
        self.assertEqual(summary["rejected"]["latitude_out_of_range"], {"count": 1, "first": [5]})
        self.assertEqual(summary["rejected"]["missing_coordinate"], {"count": 1, "first": [9]})
        self.assertEqual(summary["rejected"]["count_not_numeric"], {"count": 1, "first": [10]})
        self.assertEqual(summary["arrivals_total"], 7)
        header, rows = read_report(report)
        self.assertEqual(header, ["line", "reason", "message", "name", "lon", "lat", "n"])
        self.assertEqual([r[0] for r in rows], ["5", "9", "10"])

    def test_date_formats(self):
        valid = ["2024-02-29", "2024-03-10", "2024-03-10T08:30", "2024-03-10 08:30:15",
                 "2024-03-10T08:30:15.500Z", "2024-03-10T08:30:15.123+02:00",
                 "2024-03-10T08:30-03:30", "2024-12-31T23:59:59Z", "2000-02-29",
                 "2024-03-10 08:30Z"]
        invalid = ["2024-02-30", "2023-02-29", "2024-04-31", "2024-13-01", "2024-00-01",
                   "2024-01-00", "2024-01-32", "1900-02-29", "2024/03/10", "10/03/2024",
                   "2024-3-10", "2024-03-1", "2024-03-10T", "2024-03-10T8:30",
                   "2024-03-10T25:00", "2024-03-10T12:60", "2024-03-10X12:00", "tomorrow",
                   "20240310", "2024-03-10T12:00:00+2", "2024-03-10junk", "24-03-10"]
        points = self.path("dates.csv")
        values = valid + invalid
        starts = write_csv(points, ["date", "x", "y"],
                           [[d, "700255.0", "7800255.0"] for d in values])
        report = self.path("report.csv")
        _, summary, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                      "--date-field", "date", "--report", report, *KGRID.args())
        _, rejects = read_report(report)
        got = {int(r[0]): r[1] for r in rejects}
        wrongly_rejected = [d for d, l in zip(values[:len(valid)], starts) if l in got]
        wrongly_accepted = [d for d, l in zip(invalid, starts[len(valid):]) if l not in got]
        self.assertEqual((wrongly_rejected, wrongly_accepted), ([], []))
        self.assertEqual(set(got.values()), {"bad_date"})
        self.assertEqual(summary["rejected"]["bad_date"]["count"], len(invalid))
        self.assertEqual(summary["date_range"], {"first": "2000-02-29", "last": "2024-12-31"})

    def test_unprojectable_records(self):
        ortho = "+proj=ortho +lat_0=0 +lon_0=0 +datum=WGS84 +units=m +no_defs"
        points = self.path("far.csv")
        write_csv(points, ["lon", "lat"], [["10", "5"], ["120", "0"], ["179", "10"], ["-5", "-5"]])
        out, summary, _ = self.arrivals("--points", points,
                                        "--bounds=-2000000,-2000000,2000000,2000000",
                                        "--resolution",
                                        "100000", "--crs", ortho)
        grid = Grid(-2e6, -2e6, 2e6, 2e6, 1e5, None)
        target = osr.SpatialReference()
        target.SetFromUserInput(ortho)
        target.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        ct = osr.CoordinateTransformation(srs_of(4326), target)
        xy = [ct.TransformPoint(10.0, 5.0)[:2], ct.TransformPoint(-5.0, -5.0)[:2]]
        expected, _, _, _ = count_reference(grid, [(x, y, 1) for x, y in xy])
        self.assertRaster(read_raster(out)[0], expected, "ortho")
        self.assertEqual(summary["rejected"]["unprojectable"], {"count": 2, "first": [3, 4]})
        self.assertEqual(summary["records_accepted"], 2)

    def test_ogr_geographic_input_is_range_checked(self):
        path = self.path("lonlat.gpkg")
        write_points_gpkg(path, "p", 4326, [
            (1, "POINT (34.85 -19.83)", {"name": "ok"}), (2, "POINT (200 10)", {"name": "lon"}),
            (3, "POINT (34.85 -95)", {"name": "lat"}), (4, "POINT (-180.5 0)", {"name": "lon2"}),
        ], geom_type=ogr.wkbPoint)
        out, summary, _ = self.arrivals("--points", path, "--grid", sample("dem.tif"))
        self.assertEqual(summary["rejected"]["longitude_out_of_range"],
                         {"count": 2, "first": [2, 4]})
        self.assertEqual(summary["rejected"]["latitude_out_of_range"], {"count": 1, "first": [3]})
        self.assertEqual(summary["records_accepted"], 1)
        self.assertEqual(read_raster(out)[0].sum(), 1)

    def test_ogr_rejections_name_features(self):
        path = self.path("mixed.gpkg")
        write_points_gpkg(path, "arrivals", UTM36S, [
            (1, "POINT (700255 7800255)", {"name": "ok", "count": 2.0}),
            (2, "LINESTRING (700100 7800100,700200 7800200)", {"name": "line", "count": 1.0}),
            (3, None, {"name": "nogeom", "count": 1.0}),
            (4, "POINT (700105 7800105)", {"name": "neg", "count": -1.0}),
            (5, "POINT (700105 7800105)", {"name": "nocount", "count": None}),
            (7, "MULTIPOINT ((700005 7800495),(700495 7800005))", {"name": "multi", "count": 4.0}),
            (9, "POLYGON ((700000 7800000,700010 7800000,700010 7800010,700000 7800000))",
             {"name": "poly", "count": 1.0}),
            (10, "POINT (700255 7800255)", {"name": "ok2", "count": 3.0}),
        ])
        report = self.path("report.csv")
        out, summary, err = self.arrivals("--points", path, "--count-field", "count",
                                          "--report", report, *KGRID.args())
        self.assertEqual(summary["id"], "feature")
        self.assertEqual(summary["records_read"], 8)
        self.assertEqual(summary["records_accepted"], 3)
        self.assertEqual(summary["rejected"]["not_a_point"], {"count": 2, "first": [2, 9]})
        self.assertEqual(summary["rejected"]["missing_coordinate"], {"count": 1, "first": [3]})
        self.assertEqual(summary["rejected"]["count_negative"], {"count": 1, "first": [4]})
        self.assertEqual(summary["rejected"]["count_not_numeric"], {"count": 1, "first": [5]})
        expected = np.zeros(KGRID.shape())
        expected[24, 25] = 5
        expected[0, 0] = 2
        expected[49, 49] = 2
        self.assertRaster(read_raster(out)[0], expected, "GPKG")
        header, rejects = read_report(report)
        self.assertEqual(header, ["feature", "reason", "message", "name", "count"])
        self.assertEqual([(int(r[0]), r[1], r[3]) for r in rejects],
                         [(2, "not_a_point", "line"), (3, "missing_coordinate", "nogeom"),
                          (4, "count_negative", "neg"), (5, "count_not_numeric", "nocount"),
                          (9, "not_a_point", "poly")])
        self.assertIn(f"{path}: 2 records rejected", err)


# ---------------------------------------------------------------------------------------------
# Dates


class DateWindow(ArrivalsCase):
    def test_window_is_inclusive_by_calendar_date(self):
        entries = [("2023-12-31", False), ("2024-03-09", False), ("2024-03-09T23:59:59", False),
                   ("2024-03-10", True), ("2024-03-10T00:00:00", True), ("2024-03-10 08:30", True),
                   ("2024-03-15T12:00:00Z", True), ("2024-03-20", True),
                   ("2024-03-20T23:59:59", True), ("2024-03-20T23:59:59.999Z", True),
                   ("2024-03-20T22:00:00-05:00", True), ("2024-03-10T01:00:00+05:00", True),
                   ("2024-03-21", False), ("2024-03-21T00:00:00", False),
                   ("2024-03-21T01:00:00+05:00", False), ("2025-03-15", False)]
        records = [(700005.0 + 10 * k, 7800495.0, k + 1) for k in range(len(entries))]
        points = self.path("dated.csv")
        write_utm_csv(points, records, extra_header=["date"], extra=[[d] for d, _ in entries])
        out, summary, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                        "--count-field", "count", "--date-field", "date",
                                        "--from", "2024-03-10", "--to", "2024-03-20",
                                        *KGRID.args())
        got, _ = read_raster(out)
        wrong = [d for k, (d, keep) in enumerate(entries) if (got[0, k] == k + 1) != keep]
        self.assertEqual(wrong, [], "dates placed or dropped wrongly")
        self.assertEqual(np.count_nonzero(got[1:]), 0)
        n_in = sum(keep for _, keep in entries)
        total_in = sum(k + 1 for k, (_, keep) in enumerate(entries) if keep)
        self.assertEqual(summary["excluded_by_date"], len(entries) - n_in)
        self.assertEqual(summary["records_rejected"], 0)
        self.assertEqual(summary["records_accepted"], n_in)
        self.assertEqual(summary["records_read"], len(entries))
        self.assertEqual(summary["arrivals_total"], total_in)
        self.assertEqual(summary["raster_sum"], total_in)

        # Only --from, only --to.
        out, summary, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                        "--count-field", "count", "--date-field", "date",
                                        "--from", "2024-03-21", *KGRID.args())
        self.assertEqual(summary["records_accepted"], 4)
        out, summary, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                        "--count-field", "count", "--date-field", "date",
                                        "--to", "2023-12-31", *KGRID.args())
        self.assertEqual(summary["records_accepted"], 1)
        self.assertEqual(read_raster(out)[0][0, 0], 1)


    def test_window_on_ogr_date_fields(self):
        path = self.path("dated.gpkg")
        ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
        layer = ds.CreateLayer("dated", srs_of(UTM36S), ogr.wkbPoint)
        layer.CreateField(ogr.FieldDefn("day", ogr.OFTDate))
        layer.CreateField(ogr.FieldDefn("ts", ogr.OFTDateTime))
        days = [("2024/03/09", "2024/03/09 23:00:00"), ("2024/03/10", "2024/03/10 00:00:00"),
                ("2024/03/20", "2024/03/20 23:59:59"), ("2024/03/21", "2024/03/21 00:00:00"),
                (None, None)]
        for k, (day, ts) in enumerate(days):
            f = ogr.Feature(layer.GetLayerDefn())
            f.SetFID(k + 1)
            if day:
                f.SetField("day", day)
                f.SetField("ts", ts)
            f.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({700005 + 10 * k} 7800495)"))
            layer.CreateFeature(f)
        f = layer = ds = None
        for field in ["day", "ts"]:
            with self.subTest(field=field):
                out, summary, _ = self.arrivals("--points", path, "--date-field", field,
                                                "--from", "2024-03-10", "--to", "2024-03-20",
                                                *KGRID.args())
                self.assertEqual(list(read_raster(out)[0][0, :5]), [0, 1, 1, 0, 0])
                self.assertEqual(summary["excluded_by_date"], 2)
                self.assertEqual(summary["rejected"]["missing_date"], {"count": 1, "first": [5]})


# ---------------------------------------------------------------------------------------------
# Records as published (issue 18): month dates, HXL tag patterns, no accepted record

# An IOM DTM-like site export: HXL row under the names, month-only dates, counts per site.
HXL_HEADER = ["reported", "admin2", "site", "longitude", "latitude", "idps", "refugees"]
HXL_TAGS = ["#date+reported", "#adm2+code", "#loc+name", "#geo+lon", "#geo+lat",
            "#affected+idps+ind", "#affected+refugees+ind"]
HXL_SITES = [(700105.0, 7800105.0, 12), (700255.0, 7800255.0, 30), (700405.0, 7800395.0, 7),
             (700045.0, 7800455.0, 5)]


def write_hxl_sites(path, dates, sites=HXL_SITES, epsg=UTM36S):
    """The sites with the given dates (one each) as a CSV with an HXL row, lon/lat in
    EPSG:4326; returns the lines the records start on."""
    ll = transform([(x, y) for x, y, _ in sites], epsg, 4326)
    rows = [[d, f"MZ01{k:02d}", f"site {k}", f"{lon:.10f}", f"{lat:.10f}", str(n), "1"]
            for k, ((lon, lat), (_, _, n), d) in enumerate(zip(ll, sites, dates))]
    return write_csv(path, HXL_HEADER, rows, tags=HXL_TAGS)


class PublishedRecords(ArrivalsCase):
    def test_month_dates_are_accepted_and_match_windows_they_overlap(self):
        points = self.path("dtm.csv")
        write_hxl_sites(points, ["2024-06"] * len(HXL_SITES))
        total = sum(n for _, _, n in HXL_SITES)
        expected, _, _, _ = count_reference(KGRID, HXL_SITES)
        # #date matches #date+reported; #affected+idps matches #affected+idps+ind (HXL tag
        # patterns: a pattern's attributes are a subset of the column's).
        for window in [(), ("--from", "2024-06-15"), ("--to", "2024-06-01"),
                       ("--from", "2024-06-30", "--to", "2024-07-31"), ("--from", "2024-06"),
                       ("--from", "2024", "--to", "2024")]:
            with self.subTest(window=window):
                out, summary, _ = self.arrivals("--points", points, "--date-field", "#date",
                                                "--count-field", "#affected+idps", *window,
                                                *KGRID.args())
                self.assertEqual(summary["records_accepted"], len(HXL_SITES), summary)
                self.assertEqual(summary["records_rejected"], 0)
                self.assertEqual(summary["arrivals_total"], total)
                self.assertEqual(summary["date_range"], {"first": "2024-06-01",
                                                         "last": "2024-06-30"})
                self.assertRaster(read_raster(out)[0], expected, f"window {window}")
        # info describes the month column as dates.
        rc, stdout, err = run("info", "--json", points)
        self.assertEqual(rc, 0, err)
        fields = json.loads(stdout)["inputs"][0]["layers"][0]["fields"]
        self.assertEqual(fields[0], {"name": "reported", "type": "Date", "hxl": "#date+reported"})
        # A window that misses June: no record accepted, exit 3, nothing written.
        for window in [("--from", "2024-07-01"), ("--to", "2024-05-31"), ("--from", "2024-07"),
                       ("--to", "2023")]:
            with self.subTest(window=window):
                folder = self.path(f"none-{'-'.join(window)}")
                os.mkdir(folder)
                self.assertFails(["arrivals", "--points", points, "--date-field", "#date",
                                  "--count-field", "#affected+idps", *window, *KGRID.args(),
                                  "--report", os.path.join(folder, "r.csv"),
                                  "-o", os.path.join(folder, "a.tif")], 3,
                                 points, "no record", "4 outside the date window")
                # the report is written all the same (empty: nothing was rejected)
                self.assertEqual(os.listdir(folder), ["r.csv"], f"window {window}")
                self.assertEqual(read_report(os.path.join(folder, "r.csv"))[1], [])

    def test_no_accepted_record_fails_whatever_the_options(self):
        points = self.path("bad.csv")
        write_csv(points, ["lon", "lat", "n", "when"],
                  [["33.1", "95", "3", "2024-01-01"], ["x", "-17.9", "2", "2024-01-01"]])
        grid_ref = KGRID.write(self.path("grid.tif"))
        cases = [("all rejected, --bounds", ["--count-field", "n", *KGRID.args()]),
                 ("all rejected, --grid", ["--count-field", "n", "--grid", grid_ref]),
                 ("all rejected, extent", ["--resolution", "10", "--crs", "EPSG:32736"]),
                 ("all rejected, kernel", ["--grid", grid_ref, "--bandwidth", "50"]),
                 ("all rejected, --report", ["--grid", grid_ref, "--report", "REPORT"])]
        for label, args in cases:
            with self.subTest(label):
                folder = self.path(label.replace(" ", "_").replace(",", ""))
                os.mkdir(folder)
                args = [a.replace("REPORT", os.path.join(folder, "r.csv")) for a in args]
                self.assertFails(["arrivals", "--points", points, *args, "-o",
                                  os.path.join(folder, "a.tif")], 3, "no record", "2 rejected")
                self.assertEqual(os.listdir(folder), ["r.csv"] if "--report" in label else [],
                                 label)
        # --where matching nothing (CSV: excluded by our filter; OGR: at the source).
        good = self.path("good.csv")
        write_hxl_sites(good, ["2024-06-03"] * len(HXL_SITES))
        folder = self.path("where")
        os.mkdir(folder)
        self.assertFails(["arrivals", "--points", good, "--where", "admin2 = 'nowhere'",
                          *KGRID.args(), "-o", os.path.join(folder, "a.tif")], 3,
                         "no record", "4 left out by --where")
        self.assertNoOutput(folder, "--where")

    def test_hxl_patterns_ambiguity_and_errors_list_tags(self):
        points = self.path("dtm.csv")
        write_hxl_sites(points, ["2024-06-03"] * len(HXL_SITES))
        out = self.out()
        # #affected matches both idps and refugees: which one is meant would be a guess.
        message = self.assertFails(["arrivals", "--points", points, "--count-field", "#affected",
                                    *KGRID.args(), "-o", out], 3, "#affected",
                                   "matches several columns", "#affected+idps+ind",
                                   "#affected+refugees+ind")
        self.assertFalse(os.path.exists(out), message)
        # An unknown tag: the message lists the names and the tags.
        self.assertUsage(["--points", points, "--count-field", "#population", *KGRID.args(),
                          "-o", out], "#population", "idps (#affected+idps+ind)",
                         "reported (#date+reported)", out=out)
        # The exact tag and the name still work.
        for field in ["#affected+idps+ind", "#AFFECTED + ind + idps", "idps"]:
            with self.subTest(field=field):
                _, summary, _ = self.arrivals("--points", points, "--count-field", field,
                                              *KGRID.args())
                self.assertEqual(summary["arrivals_total"], sum(n for _, _, n in HXL_SITES))


class Outliers(ArrivalsCase):
    """Records far outside the others (issue 18, point 10; docs/arrivals.md, "Outliers")."""

    def city(self, n=20, seed=18):
        rng = random.Random(seed)
        return [(round(rng.uniform(*GOOD_LON), 6), round(rng.uniform(*GOOD_LAT), 6),
                 rng.randint(1, 9)) for _ in range(n)]

    def write(self, name, records):
        path = self.path(name)
        starts = write_csv(path, ["lon", "lat", "n"],
                           [[f"{x}", f"{y}", str(c)] for x, y, c in records])
        return path, starts

    def test_a_swapped_record_is_reported_and_left_out_of_the_extent(self):
        records = self.city()
        lon, lat, n = records[7]
        swapped = records[:7] + [(lat, lon, n)] + records[8:]  # latitude and longitude swapped
        points, starts = self.write("swapped.csv", swapped)
        report = self.path("report.csv")
        out, summary, err = self.arrivals("--points", points, "--count-field", "n",
                                          "--resolution", "10", "--crs", "EPSG:32736",
                                          "--report", report)
        self.assertEqual(summary["records_far_outside"],
                         {"count": 1, "first": [starts[7]], "arrivals": n})
        self.assertIn(f"line {starts[7]}", err)
        self.assertIn("far outside the others", err)
        # The grid is the one the other records make: their extent in UTM grown by half a cell,
        # snapped outwards to multiples of 10 m (as gdalwarp -tap), computed here.
        others = [r for k, r in enumerate(swapped) if k != 7]
        utm = transform([(x, y) for x, y, _ in others], 4326, UTM36S)
        xs, ys = [p[0] for p in utm], [p[1] for p in utm]
        grid = Grid(math.floor((min(xs) - 5) / 10) * 10, math.floor((min(ys) - 5) / 10) * 10,
                    math.ceil((max(xs) + 5) / 10) * 10, math.ceil((max(ys) + 5) / 10) * 10, 10.0,
                    UTM36S)
        self.assertGridIs(out, grid, summary)
        self.assertLess(grid.cols * grid.rows, 10 ** 7)
        expected, in_grid, _, _ = count_reference(grid, [(*p, c) for p, (_, _, c) in
                                                         zip(utm, others)])
        self.assertRaster(read_raster(out)[0], expected, "without the swapped record")
        self.assertEqual(summary["records_outside_grid"], 1)
        self.assertEqual(summary["arrivals_outside_grid"], n)
        self.assertEqual(summary["records_accepted"], len(swapped))
        _, rows = read_report(report)
        self.assertEqual([(int(r[0]), r[1]) for r in rows], [(starts[7], "far_outside")])
        # info warns about the same record.
        rc, stdout, err = run("info", "--json", points)
        self.assertEqual(rc, 0, err)
        far = [w for w in json.loads(stdout)["warnings"] if w["code"] == "far_records"]
        self.assertEqual(len(far), 1, stdout)
        self.assertIn(f"line {starts[7]} at", far[0]["message"])
        # ... and not about the city alone.
        clean, _ = self.write("clean.csv", others)
        rc, stdout, err = run("info", "--json", clean)
        self.assertFalse([w for w in json.loads(stdout)["warnings"] if w["code"] == "far_records"])
        # With --bounds the rule does not apply: the record is simply outside the grid.
        out, summary, err = self.arrivals("--points", points, "--count-field", "n", *grid.args())
        self.assertEqual(summary["records_far_outside"]["count"], 0)
        self.assertEqual(summary["records_outside_grid"], 1)
        self.assertNotIn("far outside", err)

    def test_a_huge_extent_without_far_records_stops_naming_the_records(self):
        # Two cities 1,000 km apart, half the records in each: neither is far from the
        # others' quartiles, but a 10 m grid over both would have 10^10 cells.
        beira = self.city(6, seed=1)
        nampula = [(x + 4.5, y + 4.8, c) for x, y, c in self.city(6, seed=2)]
        points, starts = self.write("two.csv", beira + nampula)
        folder = self.path("out")
        os.mkdir(folder)
        message = self.assertFails(["arrivals", "--points", points, "--resolution", "10",
                                    "--crs", "EPSG:32736", "-o", os.path.join(folder, "a.tif")],
                                   3, points, "more than 1e+08", "--bounds")
        self.assertNoOutput(folder, "huge extent")
        # The records at the edges are named by their lines.
        utm = transform([(x, y) for x, y, _ in beira + nampula], 4326, UTM36S)
        west = min(range(len(utm)), key=lambda k: utm[k][0])
        north = max(range(len(utm)), key=lambda k: utm[k][1])
        self.assertIn(f"west line {starts[west]} at", message)
        self.assertIn(f"north line {starts[north]} at", message)
        # With --bounds over one city it runs, the other counted outside the grid.
        grid = Grid(680000.0, 7790000.0, 700000.0, 7810000.0, 100.0, UTM36S)
        out, summary, _ = self.arrivals("--points", points, *grid.args())
        self.assertEqual(summary["records_far_outside"]["count"], 0)
        self.assertGreaterEqual(summary["records_outside_grid"], 6)


def masked_kernel_reference(grid, records, name, h, allowed):
    """As kernel_reference, with the weights of refused cells (allowed == 0) set to 0 and each
    record renormalised over its allowed cells inside the grid; a record whose kernel reaches
    no allowed cell is dropped. Returns (raster, mass on refused cells, placed arrivals,
    indices of the dropped records)."""
    out = np.zeros(grid.shape())
    masked, placed, dropped = 0.0, 0.0, []
    for k, (x, y, c) in enumerate(records):
        d = centre_distances(grid, x, y)
        w = kernel_shape(name, d, h)
        j0 = math.floor((x - h - grid.xmin) / grid.res) - 1
        j1 = math.ceil((x + h - grid.xmin) / grid.res) + 1
        i0 = math.floor((grid.ymax - y - h) / grid.res) - 1
        i1 = math.ceil((grid.ymax - y + h) / grid.res) + 1
        J, I = np.meshgrid(np.arange(j0, j1 + 1), np.arange(i0, i1 + 1))
        total = kernel_shape(name, np.hypot(grid.xmin + (J + 0.5) * grid.res - x,
                                            grid.ymax - (I + 0.5) * grid.res - y), h).sum()
        wa = np.where(allowed != 0, w, 0.0)
        if wa.sum() == 0:
            dropped.append(k)
            continue
        masked += c * (w.sum() - wa.sum()) / total
        out += c * wa / wa.sum()
        placed += c
    return out, masked, placed, dropped


class Mask(ArrivalsCase):
    """--mask keeps kernels on allowed cells (issue 18, point 18)."""

    def write_mask(self, path, grid, values, nodata=None, epsg=None):
        ds = gdal.GetDriverByName("GTiff").Create(path, grid.cols, grid.rows, 1, gdal.GDT_Byte)
        ds.SetGeoTransform((grid.xmin, grid.res, 0.0, grid.ymax, 0.0, -grid.res))
        ds.SetSpatialRef(srs_of(epsg or grid.epsg))
        band = ds.GetRasterBand(1)
        if nodata is not None:
            band.SetNoDataValue(nodata)
        band.WriteArray(values)
        ds = None
        return path

    def test_a_record_next_to_the_sea_keeps_its_mass_on_land(self):
        # Land is the west half (columns 0..24), sea the east; a band of nodata cells is
        # refused too. Records: by the coast, inland, at sea near the coast, far at sea.
        land = np.zeros(KGRID.shape(), np.uint8)
        land[:, :25] = 1
        land[10:12, 5:8] = 255  # nodata
        mask = self.write_mask(self.path("land.tif"), KGRID, land, nodata=255)
        records = [(700245.0, 7800255.0, 10), (700105.0, 7800405.0, 4),
                   (700262.0, 7800100.0, 6), (700455.0, 7800045.0, 3)]
        points = self.path("p.csv")
        starts = write_utm_csv(points, records)
        report = self.path("report.csv")
        allowed = (land == 1).astype(np.uint8)
        for kernel in ["quartic", "uniform", "gaussian"]:
            with self.subTest(kernel=kernel):
                out, summary, err = self.arrivals(
                    "--points", points, "--src-crs", "EPSG:32736", "--count-field", "count",
                    "--kernel", kernel, "--bandwidth", str(H), "--mask", mask, *KGRID.args(),
                    "--report", report, "--overwrite")
                expected, masked, placed, dropped = masked_kernel_reference(
                    KGRID, records, kernel, H, allowed)
                self.assertEqual(dropped, [3])
                got = read_raster(out)[0]
                self.assertRaster(got, expected, kernel)
                self.assertEqual(float(got[allowed == 0].sum()), 0.0)
                # Each record's mass on allowed cells sums to its count: the raster's total.
                self.assertRelClose(summary["raster_sum"], placed, 1e-6)
                self.assertRelClose(summary["kernel_mass_masked"], masked, 1e-6, "masked")
                self.assertEqual(summary["rejected"]["no_allowed_cell"],
                                 {"count": 1, "first": [starts[3]]})
                self.assertEqual(summary["records_accepted"], 3)
                self.assertEqual(summary["records_rejected"], 1)
                self.assertEqual(summary["arrivals_total"], 20)
                self.assertIn("no cell allowed by --mask", err)
                _, rows = read_report(report)
                self.assertEqual([(int(r[0]), r[1]) for r in rows],
                                 [(starts[3], "no_allowed_cell")])

    def test_a_mask_in_another_crs_is_read_by_nearest_and_no_kernel_needs_its_cell(self):
        # The mask in lon/lat at about 5 m: GDAL's own warp (nearest) onto the grid is the
        # reference for which cells are allowed.
        ll = transform([(KGRID.xmin, KGRID.ymin), (KGRID.xmax, KGRID.ymax)], UTM36S, 4326)
        lonlat = Grid(ll[0][0] - 0.001, ll[0][1] - 0.001, ll[1][0] + 0.001, ll[1][1] + 0.001,
                      0.00005, 4326)
        lon = lonlat.xmin + (np.arange(lonlat.cols) + 0.5) * lonlat.res
        lat = lonlat.ymax - (np.arange(lonlat.rows) + 0.5) * lonlat.res
        LON, LAT = np.meshgrid(lon, lat)
        coast = (LON - ll[0][0]) + 0.4 * (LAT - ll[0][1]) < 0.6 * (ll[1][0] - ll[0][0])
        mask = self.write_mask(self.path("land4326.tif"), lonlat, coast.astype(np.uint8))
        warped = gdal.Warp("", mask, format="MEM", dstSRS=f"EPSG:{UTM36S}",
                           outputBounds=(KGRID.xmin, KGRID.ymin, KGRID.xmax, KGRID.ymax),
                           xRes=KGRID.res, yRes=KGRID.res, resampleAlg="near")
        allowed = warped.GetRasterBand(1).ReadAsArray()
        rng = random.Random(5)
        records = [(rng.uniform(700000, 700500), rng.uniform(7800000, 7800500), rng.randint(1, 9))
                   for _ in range(40)]
        points = self.path("p.csv")
        write_utm_csv(points, records)
        out, summary, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                        "--count-field", "count", "--bandwidth", "60",
                                        "--mask", mask, *KGRID.args())
        expected, masked, placed, dropped = masked_kernel_reference(KGRID, records, "quartic",
                                                                     60.0, allowed)
        self.assertRaster(read_raster(out)[0], expected, "mask in EPSG:4326")
        self.assertEqual(summary["rejected"]["no_allowed_cell"]["count"], len(dropped))
        # Without a kernel a record needs its own cell allowed.
        out, summary, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                        "--count-field", "count", "--mask", mask, *KGRID.args())
        keep = [(x, y, c) for x, y, c in records if allowed[KGRID.cell(x, y)]]
        expected, in_grid, _, _ = count_reference(KGRID, keep)
        self.assertRaster(read_raster(out)[0], expected, "no kernel")
        self.assertEqual(summary["rejected"]["no_allowed_cell"]["count"],
                         len(records) - len(keep))
        self.assertEqual(summary["raster_sum"], in_grid)

    def test_polygons_allow_the_cells_they_cover_at_least_half(self):
        # Land: a mainland west of x = 700243 (column 24 is 0.3 covered: refused) with a
        # lagoon (a hole), and two overlapping islands (their union counts once). The
        # reference: gdal_rasterize of the polygons at 1 m (10 x finer), averaged per cell,
        # allowed where the average is at least 0.5.
        land = [
            "POLYGON ((700000 7800000, 700243 7800000, 700243 7800500, 700000 7800500, "
            "700000 7800000), (700100 7800200, 700157 7800200, 700157 7800300, 700100 7800300, "
            "700100 7800200))",
            "POLYGON ((700300 7800300, 700386 7800300, 700386 7800404, 700300 7800404, "
            "700300 7800300))",
            "POLYGON ((700350 7800350, 700447 7800350, 700447 7800466, 700350 7800466, "
            "700350 7800350))",
        ]
        for driver, name in [("GPKG", "land.gpkg"), ("ESRI Shapefile", "land.shp")]:
            with self.subTest(driver=driver):
                path = self.path(name)
                ds = ogr.GetDriverByName(driver).CreateDataSource(path)
                layer = ds.CreateLayer("land", srs_of(UTM36S), ogr.wkbPolygon,
                                       ["ENCODING=ISO-8859-1"] if driver != "GPKG" else [])
                layer.CreateField(ogr.FieldDefn("NAME_FR", ogr.OFTString))
                for k, wkt in enumerate(land):
                    f = ogr.Feature(layer.GetLayerDefn())
                    f.SetField("NAME_FR", ["Côte", "Île", "Îlot"][k])
                    f.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
                    layer.CreateFeature(f)
                f = layer = ds = None
                fine = gdal.Rasterize("", path, format="MEM", outputType=gdal.GDT_Byte,
                                      outputBounds=(KGRID.xmin, KGRID.ymin, KGRID.xmax,
                                                    KGRID.ymax),
                                      xRes=1.0, yRes=1.0, burnValues=[1])
                share = fine.GetRasterBand(1).ReadAsArray().astype(float).reshape(
                    KGRID.rows, 10, KGRID.cols, 10).mean(axis=(1, 3))
                allowed = (share >= 0.5).astype(np.uint8)
                self.assertEqual(int(allowed[:, 24].sum()), 0)
                rng = random.Random(8)
                records = [(rng.uniform(700000, 700500), rng.uniform(7800000, 7800500),
                            rng.randint(1, 9)) for _ in range(30)]
                points = self.path(f"p-{name}.csv")
                write_utm_csv(points, records)
                out, summary, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                                "--count-field", "count", "--bandwidth", "45",
                                                "--mask", path, *KGRID.args())
                expected, masked, placed, dropped = masked_kernel_reference(
                    KGRID, records, "quartic", 45.0, allowed)
                self.assertRaster(read_raster(out)[0], expected, driver)
                self.assertRelClose(summary["raster_sum"], placed, 1e-6)
                self.assertRelClose(summary["kernel_mass_masked"], masked, 1e-6)
                self.assertEqual(summary["rejected"]["no_allowed_cell"]["count"], len(dropped))
                self.assertGreater(len(dropped), 0)

    def test_every_record_at_sea_is_exit_3_and_nothing_written(self):
        sea = np.zeros(KGRID.shape(), np.uint8)
        sea[:, :5] = 1
        mask = self.write_mask(self.path("m.tif"), KGRID, sea)
        points = self.path("p.csv")
        write_utm_csv(points, [(700455.0, 7800045.0, 3), (700355.0, 7800245.0, 3)])
        folder = self.path("out")
        os.mkdir(folder)
        self.assertFails(["arrivals", "--points", points, "--src-crs", "EPSG:32736",
                          "--bandwidth", "100", "--mask", mask, *KGRID.args(), "-o",
                          os.path.join(folder, "a.tif"), "--report",
                          os.path.join(folder, "r.csv")], 3, "no record", "2 rejected")
        # the report says why (no_allowed_cell); no raster
        self.assertEqual(os.listdir(folder), ["r.csv"], "all at sea")
        self.assertEqual([r[1] for r in read_report(os.path.join(folder, "r.csv"))[1]],
                         ["no_allowed_cell"] * 2)


# COD-AB-like second-level boundaries on KGRID (edges on 1 m multiples, so that a 1 m
# rasterization covers them exactly): code, English name (Latin-1 in the Shapefile), the
# burn id of the area (features sharing a code are one area), and the rectangle.
ADM2 = [("MZ0101", "Beira Cidade", 1, (700000, 7800000, 700243, 7800500)),
        ("MZ0102", "Dondo", 2, (700243, 7800000, 700500, 7800257)),
        ("MZ0103", "Búzi", 3, (700243, 7800257, 700371, 7800500)),
        ("MZ0103", "Búzi (ilha)", 3, (700371, 7800257, 700500, 7800500))]
ADM2_COUNTS = {"MZ0101": 1200, "MZ0102": 800, "MZ0103": 500}


def write_rectangles(path, driver, name, fields, features, options=(), epsg=UTM36S,
                     append=False):
    """A polygon layer of rectangles: fields [(name, OGR type)], features [({field: value},
    (x0, y0, x1, y1))]; append adds the layer to the source at path."""
    ds = ogr.Open(path, 1) if append else ogr.GetDriverByName(driver).CreateDataSource(path)
    layer = ds.CreateLayer(name, srs_of(epsg), ogr.wkbPolygon, list(options))
    for field, kind in fields:
        layer.CreateField(ogr.FieldDefn(field, kind))
    for values, (x0, y0, x1, y1) in features:
        f = ogr.Feature(layer.GetLayerDefn())
        for field, value in values.items():
            f.SetField(field, value)
        f.SetGeometry(ogr.CreateGeometryFromWkt(
            f"POLYGON (({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"))
        layer.CreateFeature(f)
    f = layer = ds = None
    return path


def write_adm2(path, driver, counts=False):
    options = ["ENCODING=ISO-8859-1"] if driver == "ESRI Shapefile" else []
    fields = [("ADM2_PCODE", ogr.OFTString), ("ADM2_EN", ogr.OFTString),
              ("burn", ogr.OFTInteger), ("idps", ogr.OFTReal)]
    features = []
    for code, name, burn, box in ADM2:
        values = {"ADM2_PCODE": code, "ADM2_EN": name, "burn": burn}
        if counts:
            values["idps"] = {1: 1200.0, 2: 800.0, 3: 250.0}[burn]
        features.append((values, box))
    return write_rectangles(path, driver, "adm2", fields, features, options)


def area_shares(path, grid, attribute="burn"):
    """{burn id: share of each cell of grid its polygons cover}, from gdal_rasterize of the
    ids at 10 x finer resolution averaged per cell (the independent route)."""
    fine = gdal.Rasterize("", path, format="MEM", outputType=gdal.GDT_Int32,
                          outputBounds=(grid.xmin, grid.ymin, grid.xmax, grid.ymax),
                          xRes=grid.res / 10, yRes=grid.res / 10, attribute=attribute)
    ids = fine.GetRasterBand(1).ReadAsArray()
    return {int(k): (ids == k).reshape(grid.rows, 10, grid.cols, 10).mean(axis=(1, 3))
            for k in np.unique(ids) if k > 0}


def spread_reference(shares, counts, weight=None):
    """Σ_g C_g share_g(c) w(c) / Σ_c share_g(c) w(c), w = 1 or the weight (area share for an
    area without weight); returns (raster, ids of the areas that fell back)."""
    out, fell_back = 0.0, []
    for g, share in shares.items():
        w = share if weight is None else share * weight
        if w.sum() == 0:
            fell_back.append(g)
            w = share
        out = out + counts[g] * w / w.sum()
    return out, fell_back


class Areas(ArrivalsCase):
    """Arrivals counted by area (issue 18, point 4)."""

    def write_table(self, rows=None):
        path = self.path("dtm.csv")
        rows = rows or [["2024-06", "MZ0101", "Beira Cidade", "1200"],
                        ["2024-06", "MZ0102", "Dondo", "800"],
                        ["2024-06", "MZ9999", "Nowhere", "77"],
                        ["2024-06", "MZ0103", "Búzi", "500"],
                        ["2024-06", "MZ0101", "Beira Cidade", "300"],
                        ["2024-06", "", "unknown", "12"]]
        starts = write_csv(path, ["reported", "admin2", "admin2_name", "idps_ind"], rows,
                           tags=["#date+reported", "#adm2+code", "#adm2+name",
                                 "#affected+idps+ind"])
        return path, starts

    def test_table_joined_by_code_spread_by_area_share(self):
        table, starts = self.write_table()
        for driver, name in [("GPKG", "adm2.gpkg"), ("ESRI Shapefile", "adm2.shp")]:
            with self.subTest(driver=driver):
                areas = write_adm2(self.path(name), driver)
                report = self.path(f"report-{name}.csv")
                out, summary, err = self.arrivals(
                    "--areas", areas, "--area-key", "ADM2_PCODE", "--table", table,
                    "--table-key", "#adm2+code", "--count-field", "#affected+idps",
                    "--date-field", "#date", "--from", "2024-06-01", *KGRID.args(),
                    "--report", report)
                shares = area_shares(areas, KGRID)
                expected, _ = spread_reference(shares, {1: 1200, 2: 800, 3: 500})
                got = read_raster(out)[0]
                self.assertRaster(got, expected, driver, rtol=1e-5)
                self.assertRelClose(summary["raster_sum"], 2500, 1e-6, "grand total")
                self.assertEqual(summary["records_accepted"], 3)
                self.assertEqual(summary["arrivals_total"], 2500)
                # Each area's total: its density on a cell wholly inside it times the exact
                # cells it covers (from the 1 m rasterization) is its count.
                for g, count in {1: 1200, 2: 800, 3: 500}.items():
                    inside = np.argwhere(shares[g] == 1.0)[0]
                    density = got[tuple(inside)]
                    self.assertRelClose(density * shares[g].sum(), count, 1e-6, f"area {g}")
                self.assertEqual(summary["rejected"]["unmatched_area"],
                                 {"count": 2, "first": [starts[2], starts[5]]})
                self.assertEqual(summary["rejected"]["area_matched_twice"],
                                 {"count": 1, "first": [starts[4]]})
                self.assertEqual(summary["areas"]["duplicate_features"], 1)
                self.assertIn("1 feature shares a code with an earlier one", err)
                header, rows = read_report(report)
                self.assertEqual(header[:3], ["line", "reason", "message"])
                got_rows = sorted((r[1], int(r[0])) for r in rows)
                self.assertEqual(got_rows, sorted([("unmatched_area", starts[2]),
                                                   ("unmatched_area", starts[5]),
                                                   ("area_matched_twice", starts[4]),
                                                   # the fourth feature: FID 4 in a GPKG,
                                                   # 3 in a Shapefile (0-based)
                                                   ("duplicate_area", 4 if driver == "GPKG"
                                                    else 3)]))

    def test_polygons_carrying_counts(self):
        areas = write_adm2(self.path("adm2c.gpkg"), "GPKG", counts=True)
        out, summary, _ = self.arrivals("--areas", areas, "--count-field", "idps", *KGRID.args())
        # Each feature its own area: the two MZ0103 halves carry 250 each.
        shares = {}
        for k, (_, _, _, (x0, y0, x1, y1)) in enumerate(ADM2):
            sub = self.path(f"f{k}.gpkg")
            ds = ogr.GetDriverByName("GPKG").CreateDataSource(sub)
            layer = ds.CreateLayer("f", srs_of(UTM36S), ogr.wkbPolygon)
            f = ogr.Feature(layer.GetLayerDefn())
            f.SetGeometry(ogr.CreateGeometryFromWkt(
                f"POLYGON (({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"))
            layer.CreateFeature(f)
            f = layer = ds = None
            fine = gdal.Rasterize("", sub, format="MEM", outputType=gdal.GDT_Byte,
                                  outputBounds=(KGRID.xmin, KGRID.ymin, KGRID.xmax, KGRID.ymax),
                                  xRes=1.0, yRes=1.0, burnValues=[1])
            shares[k] = fine.GetRasterBand(1).ReadAsArray().reshape(
                KGRID.rows, 10, KGRID.cols, 10).mean(axis=(1, 3))
        expected, _ = spread_reference(shares, {0: 1200, 1: 800, 2: 250, 3: 250})
        self.assertRaster(read_raster(out)[0], expected, "counts on polygons", rtol=1e-5)
        self.assertRelClose(summary["raster_sum"], 2500, 1e-6)
        self.assertEqual(summary["id"], "feature")
        self.assertEqual(summary["areas"]["with_count"], 4)

    def test_weight_in_another_crs_and_an_area_without_weight(self):
        # A population raster in lon/lat at about 5 m, 0 over Dondo (MZ0102): Dondo falls back
        # to area share, reported; the others follow the population.
        table, _ = self.write_table()
        areas = write_adm2(self.path("adm2.gpkg"), "GPKG")
        ll = transform([(KGRID.xmin, KGRID.ymin), (KGRID.xmax, KGRID.ymax)], UTM36S, 4326)
        pop_grid = Grid(ll[0][0] - 0.001, ll[0][1] - 0.001, ll[1][0] + 0.001, ll[1][1] + 0.001,
                        0.00005, 4326)
        lon = pop_grid.xmin + (np.arange(pop_grid.cols) + 0.5) * pop_grid.res
        lat = pop_grid.ymax - (np.arange(pop_grid.rows) + 0.5) * pop_grid.res
        rng = np.random.default_rng(4)
        people = rng.uniform(0, 3, (pop_grid.rows, pop_grid.cols))
        LON, LAT = np.meshgrid(lon, lat)
        xy = np.array(transform(list(zip(LON.ravel(), LAT.ravel())), 4326, UTM36S))
        X, Y = xy[:, 0].reshape(LON.shape), xy[:, 1].reshape(LON.shape)
        people[(X > 700235) & (X < 700510) & (Y < 7800265) & (Y > 7799990)] = 0  # Dondo
        pop = self.path("pop4326.tif")
        ds = gdal.GetDriverByName("GTiff").Create(pop, pop_grid.cols, pop_grid.rows, 1,
                                                  gdal.GDT_Float32)
        ds.SetGeoTransform((pop_grid.xmin, pop_grid.res, 0, pop_grid.ymax, 0, -pop_grid.res))
        ds.SetSpatialRef(srs_of(4326))
        ds.GetRasterBand(1).WriteArray(people)
        ds = None
        report = self.path("report.csv")
        out, summary, err = self.arrivals(
            "--areas", areas, "--area-key", "ADM2_PCODE", "--table", table, "--table-key",
            "#adm2+code", "--count-field", "idps_ind", "--weight", pop, *KGRID.args(),
            "--report", report)
        # GDAL's own warp, by sum, onto the grid: the weight per cell.
        warped = gdal.Warp("", pop, format="MEM", dstSRS=f"EPSG:{UTM36S}",
                           outputBounds=(KGRID.xmin, KGRID.ymin, KGRID.xmax, KGRID.ymax),
                           xRes=KGRID.res, yRes=KGRID.res, resampleAlg="sum",
                           workingType=gdal.GDT_Float64)
        weight = warped.GetRasterBand(1).ReadAsArray().astype(np.float64)
        warped = None
        shares = area_shares(areas, KGRID)
        expected, fell_back = spread_reference(shares, {1: 1200, 2: 800, 3: 500}, weight)
        self.assertEqual(fell_back, [2])
        self.assertRaster(read_raster(out)[0], expected, "weighted", rtol=1e-4,
                          atol=1e-4 * expected.max())
        self.assertRelClose(summary["raster_sum"], 2500, 1e-6)
        self.assertEqual(summary["areas"]["zero_weight"], 1)
        self.assertIn("no weight", err)
        _, rows = read_report(report)
        self.assertIn("zero_weight", [r[1] for r in rows])

    def test_usage_and_nothing_matched(self):
        areas = write_adm2(self.path("adm2.gpkg"), "GPKG")
        table, _ = self.write_table([["2024-06", "XX01", "x", "5"]])
        folder = self.path("out")
        os.mkdir(folder)
        self.assertFails(["arrivals", "--areas", areas, "--area-key", "ADM2_PCODE", "--table",
                          table, "--table-key", "#adm2+code", "--count-field", "idps_ind",
                          *KGRID.args(), "-o", os.path.join(folder, "a.tif")], 3, "no record")
        self.assertNoOutput(folder, "nothing matched")
        self.assertUsage(["--areas", areas, "--table", table, "--count-field", "idps_ind",
                          *KGRID.args(), "-o", self.out()], "--area-key")
        self.assertUsage(["--areas", areas, "--area-key", "NOPE", "--table", table,
                          "--table-key", "#adm2+code", "--count-field", "idps_ind",
                          *KGRID.args(), "-o", self.out()], "NOPE", "ADM2_PCODE")



# ---------------------------------------------------------------------------------------------
# Areas: the review of issue 18 (filters on polygons with counts, areas beyond the grid)


def write_az(path, features):
    """features: (code, count, date, (x0, y0, x1, y1)) rectangles in UTM 36S."""
    fields = [("code", ogr.OFTString), ("n", ogr.OFTReal), ("d", ogr.OFTDate),
              ("label", ogr.OFTString)]
    return write_rectangles(path, "GPKG", "az", fields,
                            [({"code": code, "n": n, "d": d, "label": "area " + code}, box)
                             for code, n, d, box in features])


def write_kgrid_raster(path, values):
    """A Float32 GeoTIFF of values on KGRID."""
    ds = gdal.GetDriverByName("GTiff").Create(path, KGRID.cols, KGRID.rows, 1, gdal.GDT_Float32)
    ds.SetGeoTransform((KGRID.xmin, KGRID.res, 0, KGRID.ymax, 0, -KGRID.res))
    ds.SetSpatialRef(srs_of(UTM36S))
    ds.GetRasterBand(1).WriteArray(values)
    ds = None
    return path


AZ = [("AZ01", 1000.0, "2024-01-15", (700000, 7800000, 700200, 7800500)),
      ("AZ02", 9000.0, "2024-06-01", (700200, 7800000, 700500, 7800500))]


class AreasReview(ArrivalsCase):
    def test_where_and_date_window_select_polygons_with_counts(self):
        areas = write_az(self.path("az.gpkg"), AZ)
        _, summary, _ = self.arrivals("--areas", areas, "--count-field", "n", *KGRID.args(),
                                      "--where", "code = 'AZ01'")
        self.assertEqual(summary["raster_sum"], 1000)
        self.assertEqual(summary["records_accepted"], 1)
        out, summary, _ = self.arrivals("--areas", areas, "--count-field", "n", *KGRID.args(),
                                        "--date-field", "d", "--from", "2024-03-01")
        self.assertEqual(summary["raster_sum"], 9000)
        self.assertEqual(summary["excluded_by_date"], 1)
        got = read_raster(out)[0]
        self.assertEqual(float(got[:, :20].sum()), 0.0)
        self.assertRelClose(float(got[0, 20]), 9000 / 1500, 1e-6)
        self.assertEqual(summary["date_range"], {"first": "2024-01-15", "last": "2024-06-01"})
        # a text column that holds no dates: each feature rejected, as records are
        report = self.path("rej.csv")
        folder = self.path("o")
        os.mkdir(folder)
        self.assertFails(["arrivals", "--areas", areas, "--count-field", "n", *KGRID.args(),
                          "--date-field", "label", "--report", report, "-o",
                          os.path.join(folder, "a.tif")], 3, "no record", "2 rejected")
        self.assertNoOutput(folder)
        _, rows = read_report(report)
        self.assertEqual([r[1] for r in rows], ["bad_date", "bad_date"])
        for flag, value in [("--x-field", "x"), ("--y-field", "y"), ("--src-crs", "EPSG:4326")]:
            self.assertUsage(["--areas", areas, "--count-field", "n", *KGRID.args(), flag, value,
                              "-o", self.out()], flag, "--areas")
        self.assertUsage(["--areas", areas, "--count-field", "n", *KGRID.args(),
                          "--date-field", "nope", "-o", self.out()], "nope")
        self.assertUsage(["--areas", areas, "--count-field", "n", *KGRID.args(),
                          "--where", "code = = 'x'", "-o", self.out()], "--where")

    def test_no_area_in_the_grid_fails(self):
        areas = write_az(self.path("far.gpkg"),
                         [("AZ09", 50.0, "2024-01-01", (710000, 7810000, 710500, 7810500))])
        folder = self.path("o")
        os.mkdir(folder)
        self.assertFails(["arrivals", "--areas", areas, "--count-field", "n", *KGRID.args(),
                          "-o", os.path.join(folder, "a.tif")], 3,
                         "none of the 1 area", "lies in the grid")
        self.assertNoOutput(folder)

    def test_area_partly_inside_counts_its_outside_share(self):
        # AZ04: 1000 x 1000 m, a quarter of it (500 x 500 m) inside KGRID: 4000 arrivals
        # over its whole area, 1000 inside (0.4 per 10 m cell), 3000 outside.
        feats = [("AZ03", 500.0, "2024-01-01", (700000, 7800000, 700250, 7800250)),
                 ("AZ04", 4000.0, "2024-01-01", (700000, 7800000, 701000, 7801000))]
        areas = write_az(self.path("part.gpkg"), feats[1:])
        out, summary, err = self.arrivals("--areas", areas, "--count-field", "n", *KGRID.args())
        got = read_raster(out)[0]
        self.assertRaster(got, np.full(KGRID.shape(), 0.4), "quarter inside")
        self.assertRelClose(summary["raster_sum"], 1000, 1e-6)
        self.assertRelClose(summary["arrivals_in_grid"], 1000, 1e-6)
        self.assertRelClose(summary["arrivals_outside_grid"], 3000, 1e-6)
        self.assertIn("feature 1", err)
        self.assertIn("0.25", err)
        # By weight: the part inside by area share (0.25 of 4000), spread by the weight.
        w = np.ones(KGRID.shape())
        w[:, :25] = 3
        weight = write_kgrid_raster(self.path("w.tif"), w)
        out, summary, _ = self.arrivals("--areas", areas, "--count-field", "n", "--weight",
                                        weight, *KGRID.args())
        self.assertRaster(read_raster(out)[0], 1000 * w / w.sum(), "weighted quarter")
        self.assertRelClose(summary["arrivals_outside_grid"], 3000, 1e-6)

    def test_zero_weight_names_the_feature(self):
        areas = write_az(self.path("az.gpkg"), AZ)
        w = np.ones(KGRID.shape())
        w[:, :20] = 0
        weight = write_kgrid_raster(self.path("w.tif"), w)
        report = self.path("r.csv")
        _, summary, err = self.arrivals("--areas", areas, "--count-field", "n", "--weight",
                                        weight, *KGRID.args(), "--report", report)
        self.assertEqual(summary["areas"]["zero_weight"], 1)
        _, rows = read_report(report)
        self.assertIn("the cells of feature 1 have no weight", rows[0][2])
        self.assertIn("(feature 1)", err)

    def test_every_record_rejected_publishes_the_report(self):
        points = self.path("bad.csv")
        write_csv(points, ["x", "y", "count"], [["700005", "7800495", "x"],
                                                ["700015", "7800495", "-1"]])
        folder = self.path("o")
        os.mkdir(folder)
        report = self.path("rej.csv")
        self.assertFails(["arrivals", "--points", points, "--src-crs", "EPSG:32736",
                          "--count-field", "count", *KGRID.args(), "--report", report,
                          "-o", os.path.join(folder, "a.tif")], 3, "no record")
        self.assertNoOutput(folder)
        _, rows = read_report(report)
        self.assertEqual(sorted(int(r[0]) for r in rows), [2, 3])
        os.remove(report)
        areas = write_adm2(self.path("adm2.gpkg"), "GPKG")
        table = self.path("t.csv")
        write_csv(table, ["code", "n"], [["XX01", "5"]])
        self.assertFails(["arrivals", "--areas", areas, "--area-key", "ADM2_PCODE", "--table",
                          table, "--table-key", "code", "--count-field", "n", *KGRID.args(),
                          "--report", report, "-o", os.path.join(folder, "a.tif")], 3,
                         "no record")
        self.assertNoOutput(folder)
        _, rows = read_report(report)
        self.assertEqual(sorted(r[1] for r in rows), ["duplicate_area", "unmatched_area"])

    def test_messages_singular_and_units(self):
        points = self.path("p.csv")
        write_utm_csv(points, [(700255.0, 7800255.0, 1)] * 5 + [(900255.0, 7800255.0, 7)])
        rc, stdout, err = run("arrivals", "--points", points, "--src-crs", "EPSG:32736",
                              "--count-field", "count", "--crs", "EPSG:32736", "--resolution",
                              "10", "-o", self.out())
        self.assertEqual(rc, 0, err)
        self.assertIn("1 record (7 arrivals) lies far outside", err)
        self.assertIn("(1000 m)", err)
        self.assertIn("6 records read", err)
        one = self.path("one.csv")
        write_utm_csv(one, [(700255.0, 7800255.0, 1)])
        rc, stdout, err = run("arrivals", "--points", one, "--src-crs", "EPSG:32736",
                              *KGRID.args(), "-o", self.out())
        self.assertEqual(rc, 0, err)
        self.assertIn("1 record read, 1 accepted", err)

    def test_grid_from_the_extent_of_the_chosen_layer(self):
        # core's cr_vector_extent() for one layer: the other layer's polygons do not count.
        path = write_az(self.path("two.gpkg"), AZ)
        write_rectangles(path, "GPKG", "far", [("n", ogr.OFTReal)],
                         [({"n": 1.0}, (710000, 7810000, 710500, 7810500))], append=True)
        _, summary, _ = self.arrivals("--areas", path, "--layer", "az", "--count-field", "n",
                                      "--resolution", "10", "--crs", "EPSG:32736")
        self.assertEqual(summary["grid"]["bounds"],
                         [KGRID.xmin, KGRID.ymin, KGRID.xmax, KGRID.ymax])
        self.assertEqual(summary["raster_sum"], 10000)

    def test_bounds_help_names_the_polygons(self):
        rc, stdout, _ = run("arrivals", "--help")
        self.assertEqual(rc, 0)
        self.assertIn("the polygons' with --areas", stdout)


# ---------------------------------------------------------------------------------------------
# --strict


class Strict(ArrivalsCase):
    def strict_fixture(self):
        rng = random.Random(3)
        rows = []
        for k in range(60):
            site = f"Site {k}\nBloco {k}" if k % 7 == 0 else f"Site {k}"
            rows.append([site, f"{rng.uniform(*GOOD_LON):.6f}", f"{rng.uniform(*GOOD_LAT):.6f}",
                         str(rng.randint(1, 9))])
        rows[41][2] = "95.25"   # the first bad record
        rows[50][3] = "-4"      # a later one
        points = self.path("strict.csv")
        starts = write_csv(points, ["site", "lon", "lat", "n"], rows)
        self.assertNotEqual(starts[41], 42 + 1)  # newlines before it
        return points, starts[41]

    def test_strict_stops_at_the_first_bad_line_and_writes_nothing(self):
        points, line = self.strict_fixture()
        folder = self.path("out")
        os.mkdir(folder)
        for extra in [[], ["--report", os.path.join(folder, "r.csv")],
                      ["--kernel", "quartic", "--bandwidth", "200"]]:
            with self.subTest(extra=extra):
                rc, _, err = run("arrivals", "--points", points, "--grid", sample("dem.tif"),
                                 "--count-field", "n", "--strict", "-o",
                                 os.path.join(folder, "a.tif"), *extra)
                self.assertEqual(rc, 3, err)
                lines = [l for l in err.splitlines() if l.strip()]
                self.assertEqual(len(lines), 1, err)
                self.assertTrue(lines[0].startswith(f"cityrisk arrivals: {points}:{line}: "),
                                lines[0])
                self.assertNoOutput(folder, "--strict")

    def test_strict_keeps_a_previous_output(self):
        points, _ = self.strict_fixture()
        out = self.path("keep.tif")
        with open(out, "wb") as fp:
            fp.write(b"previous")
        rc, _, err = run("arrivals", "--points", points, "--grid", sample("dem.tif"), "--strict",
                         "--overwrite", "-o", out)
        self.assertEqual(rc, 3, err)
        with open(out, "rb") as fp:
            self.assertEqual(fp.read(), b"previous")
        self.assertEqual(sorted(os.listdir(self.tmp)), ["keep.tif", "strict.csv"])

    def test_strict_ogr_names_the_feature(self):
        path = self.path("bad.gpkg")
        write_points_gpkg(path, "arrivals", UTM36S, [
            (1, "POINT (700255 7800255)", {"name": "ok", "count": 2.0}),
            (6, "POINT (700105 7800105)", {"name": "neg", "count": -1.0}),
            (8, "POINT (700105 7800105)", {"name": "nan", "count": float("nan")}),
        ], geom_type=ogr.wkbPoint)
        folder = self.path("out")
        os.mkdir(folder)
        rc, _, err = run("arrivals", "--points", path, "--count-field", "count", "--strict",
                         *KGRID.args(), "-o", os.path.join(folder, "a.tif"))
        self.assertEqual(rc, 3, err)
        lines = [l for l in err.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, err)
        self.assertTrue(lines[0].startswith(f"cityrisk arrivals: {path}: feature 6: "), lines[0])
        self.assertNoOutput(folder, "--strict OGR")

    def test_strict_does_not_fail_on_excluded_records(self):
        points = self.path("sw.csv")
        write_utm_csv(points, [(700255.0, 7800255.0, 1), (700255.0, 7800255.0, 2)],
                      extra_header=["d"], extra=[["2024-01-01"], ["2024-06-01"]])
        for extra in [["--date-field", "d", "--from", "2024-03-01"],
                      ["--where", "d = '2024-01-01'"]]:
            with self.subTest(extra=extra):
                _, summary, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                              "--count-field", "count", *KGRID.args(),
                                              "--strict", *extra)
                self.assertEqual(summary["records_accepted"], 1)

    def test_strict_with_a_clean_file_succeeds(self):
        points, _ = self.strict_fixture()
        with open(points, encoding="utf-8") as fp:
            text = fp.read()
        clean = self.path("clean.csv")
        with open(clean, "w", encoding="utf-8", newline="") as fp:
            fp.write(text.replace(",95.25,", ",-19.8,").replace(",-4\n", ",4\n"))
        out, summary, err = self.arrivals("--points", clean, "--grid", sample("dem.tif"),
                                          "--count-field", "n", "--strict")
        self.assertEqual(summary["records_read"], 60)
        self.assertEqual(summary["records_rejected"], 0)
        self.assertEqual(summary["records_accepted"], 60)
        self.assertRelClose(read_raster(out)[0].sum(), summary["arrivals_in_grid"], 1e-6)
        self.assertNotIn("warning", err)


# ---------------------------------------------------------------------------------------------
# Numbers: decimal only, and no count a Float32 cell cannot hold (issue 16, points 15 and 18)


class Numbers(ArrivalsCase):
    def test_csv_numbers_are_decimal_only(self):
        # C's strtod() reads 0x10 as 16 and 0x1p1 as 2; the docs promise decimal numbers.
        x0, y0 = 700005.0, 7800495.0   # the centre of cell (0, 0) of KGRID
        rows = [
            [repr(x0), repr(y0), "0x10"],                       # line 2: hexadecimal count
            [hex(int(x0)), repr(y0), "1"],                      # line 3: hexadecimal x
            [repr(x0), float.hex(y0), "1"],                     # line 4: C99 hexadecimal y
            [repr(x0), repr(y0), "0x1p3"],                      # line 5: hexadecimal float
            [repr(x0), repr(y0), "1_000"],                      # line 6: digit separators
            [repr(x0 + 10), repr(y0), " 2 "],                   # line 7: blanks around: 2
            ["7.00025e5", repr(y0), "+3"],                      # line 8: exponent and sign: 3
            [repr(x0 + 30), "7800495.", ".5"],                  # line 9: '7800495.' and .5
            [repr(x0 + 40), repr(y0), "NaN"],                   # line 10: count_nan as before
            [repr(x0 + 40), repr(y0), "-Infinity"],             # line 11: count_infinite
            [repr(x0 + 40), "inf", "1"],                        # line 12: not finite
        ]
        points = self.path("numbers.csv")
        write_csv(points, ["x", "y", "count"], rows)
        report = self.path("rejects.csv")
        out, summary, _ = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                        "--count-field", "count", "--report", report,
                                        *KGRID.args())
        rejected = {k: v for k, v in summary["rejected"].items() if v["count"]}
        self.assertEqual(rejected, {
            "count_not_numeric": {"count": 3, "first": [2, 5, 6]},
            "bad_coordinate": {"count": 3, "first": [3, 4, 12]},
            "count_nan": {"count": 1, "first": [10]},
            "count_infinite": {"count": 1, "first": [11]},
        })
        self.assertEqual(summary["records_accepted"], 3)
        got, _ = read_raster(out)
        expected = np.zeros(KGRID.shape())
        expected[0, 1], expected[0, 2], expected[0, 3] = 2, 3, 0.5
        self.assertRaster(got, expected, "decimal numbers")
        _, rejects = read_report(report)
        messages = {int(r[0]): r[2] for r in rejects}
        self.assertEqual(messages[2], "count '0x10' is not a number")
        self.assertEqual(messages[3], "x (longitude) '0xaae65' is not a number")

    def test_option_numbers_are_decimal_only(self):
        points = self.path("p.csv")
        write_utm_csv(points, [(700255.0, 7800255.0, 1)])
        base = ["--points", points, "--src-crs", "EPSG:32736", "-o", self.out()]
        self.assertUsage([*base, "--crs", "EPSG:32736", "--resolution", "0x1p3"],
                         "--resolution wants a number, not '0x1p3'")
        self.assertUsage([*base, *KGRID.args(), "--bandwidth", "0x64"],
                         "--bandwidth wants a number, not '0x64'")
        self.assertUsage([*base, "--crs", "EPSG:32736", "--resolution", "10", "--bounds",
                          "0xAAE60,7800000,700500,7800500"], "--bounds wants xmin,ymin,xmax,ymax")
        self.assertUsage([*base, "--crs", "EPSG:32736", "--resolution", "inf"],
                         "--resolution wants a number, not 'inf'")

    def test_crs_that_makes_no_grid_is_refused(self):
        # Geocentric and vertical CRSs were accepted (issue 16, point 20): the first wrote a
        # raster in X/Y of the earth's centre, the second failed as "cannot write ...: PROJ".
        points = self.path("p.csv")
        write_utm_csv(points, [(700255.0, 7800255.0, 1)])
        base = ["--points", points, "--src-crs", "EPSG:32736", "--resolution", "10"]
        for crs, kind in [("EPSG:4978", "a geocentric CRS (WGS 84)"),
                          ("EPSG:5773", "a vertical CRS (EGM96 height)"),
                          ("EPSG:4979", "a geographic 3D CRS (WGS 84)"),
                          ("+proj=geocent +datum=WGS84", "a geocentric CRS (unknown)")]:
            with self.subTest(crs=crs):
                out = self.out()
                self.assertUsage([*base, "--crs", crs, "-o", out],
                                 f"--crs {crs} is {kind}; a grid needs a projected or "
                                 "geographic 2D CRS", out=out)
        # A compound CRS is its horizontal part with a vertical datum: a grid, as before.
        out, summary, _ = self.arrivals(*base, "--crs", "EPSG:32736+5773")
        self.assertEqual(summary["records_accepted"], 1)
        self.assertEqual(read_raster(out)[0].sum(), 1.0)

    def test_counts_a_float32_cell_cannot_hold_are_rejected(self):
        # A count of 1e38 fits a double and a Float32, but two of 3e38 in one cell made +Inf.
        # Counts above 1e12 (a hundred times the world's population) are rejected.
        x0, y0 = 700005.0, 7800495.0
        rows = [[repr(x0), repr(y0), "3e38"], [repr(x0), repr(y0), "3e38"],
                [repr(x0 + 10), repr(y0), "1e38"], [repr(x0 + 20), repr(y0), "1e400"],
                [repr(x0 + 30), repr(y0), "1000000000000"], [repr(x0 + 40), repr(y0), "1e12"],
                [repr(x0 + 40), repr(y0), "1.000001e12"], [repr(x0 + 40), repr(y0), "7"]]
        points = self.path("huge.csv")
        write_csv(points, ["x", "y", "count"], rows)
        for extra in [[], ["--kernel", "quartic", "--bandwidth", "30"]]:
            with self.subTest(extra=extra):
                out, summary, err = self.arrivals("--points", points, "--src-crs", "EPSG:32736",
                                                  "--count-field", "count", *KGRID.args(),
                                                  *extra)
                self.assertEqual(summary["rejected"]["count_too_large"],
                                 {"count": 5, "first": [2, 3, 4, 5, 8]})
                self.assertIn("5 records rejected: counts above 1e+12", err)
                self.assertEqual(summary["records_accepted"], 3)
                self.assertEqual(summary["arrivals_total"], 2e12 + 7)
                got, _ = read_raster(out)
                self.assertTrue(np.isfinite(got).all(), "a cell is not finite")
                self.assertRelClose(float(got.sum(dtype=np.float64)), 2e12 + 7, 1e-6)
                self.assertRelClose(summary["raster_sum"], 2e12 + 7, 1e-6)
        rc, _, err = run("arrivals", "--points", points, "--src-crs", "EPSG:32736",
                         "--count-field", "count", *KGRID.args(), "--strict",
                         "-o", self.path("strict.tif"))
        self.assertEqual(rc, 3, err)
        self.assertEqual(err.strip(), f"cityrisk arrivals: {points}:2: count 3e+38 is too large: "
                                      "more than 1e+12 arrivals in one record")
        self.assertFalse(os.path.exists(self.path("strict.tif")))

    def test_ogr_counts_above_the_bound_are_rejected(self):
        path = write_points_gpkg(self.path("huge.gpkg"), "arrivals", UTM36S, [
            (1, "POINT (700255 7800255)", {"name": "ok", "count": 2.0}),
            (2, "POINT (700255 7800255)", {"name": "huge", "count": 3e38}),
            (3, "POINT (700255 7800255)", {"name": "huge", "count": 3e38}),
        ], geom_type=ogr.wkbPoint)
        out, summary, _ = self.arrivals("--points", path, "--count-field", "count", *KGRID.args())
        self.assertEqual(summary["rejected"]["count_too_large"], {"count": 2, "first": [2, 3]})
        got, _ = read_raster(out)
        self.assertEqual(float(got.sum()), 2.0)


# ---------------------------------------------------------------------------------------------
# The sample city


def sample_records():
    """The sample arrivals.csv as dicts (the HXL row skipped) with UTM 36S coordinates."""
    with open(sample("arrivals.csv"), encoding="utf-8", newline="") as fp:
        reader = csv.DictReader(fp)
        rows = [r for r in reader if not r["date"].startswith("#")]
    utm = transform([(float(r["longitude"]), float(r["latitude"])) for r in rows], 4326, UTM36S)
    for r, (x, y) in zip(rows, utm):
        r["x"], r["y"] = x, y
    return rows


def dem_grid():
    ds = gdal.Open(sample("dem.tif"))
    gt = ds.GetGeoTransform()
    return Grid(gt[0], gt[3] + gt[5] * ds.RasterYSize, gt[0] + gt[1] * ds.RasterXSize, gt[3],
                gt[1], UTM36S)


class SampleCity(ArrivalsCase):
    def test_sample_arrivals_on_the_dem_grid(self):
        rows = sample_records()
        grid = dem_grid()
        records = [(r["x"], r["y"], int(r["arrivals"])) for r in rows]
        expected, in_grid, outside, outside_sum = count_reference(grid, records)
        self.assertEqual(outside, 4)  # samples/README.md
        out, summary, err = self.arrivals("--points", sample("arrivals.csv"), "--grid",
                                          sample("dem.tif"), "--count-field", "arrivals",
                                          "--date-field", "date")
        self.assertRaster(read_raster(out)[0], expected, "sample")
        self.assertEqual(summary["records_read"], 3000)
        self.assertEqual(summary["records_rejected"], 0)
        self.assertEqual(summary["records_outside_grid"], 4)
        self.assertEqual(summary["arrivals_outside_grid"], outside_sum)
        self.assertEqual(summary["arrivals_in_grid"], in_grid)
        self.assertEqual(summary["arrivals_total"], in_grid + outside_sum)
        self.assertRelClose(summary["raster_sum"], in_grid, 1e-6)
        self.assertEqual(summary["date_range"], {"first": min(r["date"] for r in rows),
                                                 "last": max(r["date"] for r in rows)})
        self.assertNotIn("warning", err)

        # A quartic kernel keeps the in-grid total.
        out, summary, _ = self.arrivals("--points", sample("arrivals.csv"), "--grid",
                                        sample("dem.tif"), "--count-field", "arrivals",
                                        "--kernel", "quartic", "--bandwidth", "500")
        self.assertRelClose(read_raster(out)[0].sum(), in_grid, 1e-6, "quartic sum")
        self.assertRelClose(summary["raster_sum"], in_grid, 1e-6)
        self.assertEqual(summary["records_outside_grid"], 4)

    def test_where_on_csv_matches_a_python_filter(self):
        rows = sample_records()
        grid = dem_grid()
        self.assertEqual([r["site_name"] for r in rows if r["site_name"].lower().startswith(
            "bairro") and not r["site_name"].startswith("Bairro")], [])
        cases = [
            ("origin = 'Zambézia' AND arrivals >= 3",
             lambda r: r["origin"] == "Zambézia" and int(r["arrivals"]) >= 3),
            ("admin_code IN ('MZ0710', 'MZ0712') OR arrivals > 200",
             lambda r: r["admin_code"] in ("MZ0710", "MZ0712") or int(r["arrivals"]) > 200),
            ("site_name LIKE 'Bairro%'", lambda r: r["site_name"].startswith("Bairro")),
            ("site_name ILIKE '%quarteirão 12'",
             lambda r: r["site_name"].lower().endswith("quarteirão 12")),
            ("arrivals BETWEEN 10 AND 20 AND NOT origin = 'Sofala'",
             lambda r: 10 <= int(r["arrivals"]) <= 20 and r["origin"] != "Sofala"),
            ("NOT (arrivals < 100 OR admin_code <> 'MZ0704')",
             lambda r: not (int(r["arrivals"]) < 100 or r["admin_code"] != "MZ0704")),
        ]
        for expr, keep in cases:
            with self.subTest(where=expr):
                kept = [r for r in rows if keep(r)]
                self.assertTrue(0 < len(kept) < len(rows), "fixture filter keeps nothing or all")
                expected, in_grid, _, _ = count_reference(
                    grid, [(r["x"], r["y"], int(r["arrivals"])) for r in kept])
                out, summary, _ = self.arrivals("--points", sample("arrivals.csv"), "--grid",
                                                sample("dem.tif"), "--count-field", "arrivals",
                                                "--where", expr)
                self.assertEqual(summary["excluded_by_where"], len(rows) - len(kept))
                self.assertEqual(summary["records_accepted"], len(kept))
                self.assertEqual(summary["arrivals_in_grid"], in_grid)
                self.assertRaster(read_raster(out)[0], expected, expr)


if __name__ == "__main__":
    unittest.main()
