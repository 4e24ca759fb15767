"""End-to-end: `cityrisk arrivals --tile I/N | --window X,Y,W,H` writes exactly the single run's window.

The grid is 1100 x 900 cells of 30 m in EPSG:32736 (3 x 2 blocks of 512, the right and bottom ones
partial); the records are longitude/latitude in a CSV (EPSG:4326), so none lies on a cell corner.
They cluster at sites (records at one site repeat its coordinates), some near block edges, some
outside the grid within the bandwidth, whose kernels reach into it; a few are bad (rejected). A tile
reads every record, as the single run does, and sums the kernels only for its own blocks.

Expected windows are tile.h's rule worked by hand for this grid (see test_score_tiles.py); the oracle
of the values is the single run, read with numpy: equal bit for bit.
"""
import json
import os
import tempfile
import unittest

import numpy as np
from osgeo import gdal, osr

from cliutil import CliTestCase, run

gdal.UseExceptions()

UTM36S = 32736
X0, Y0, CELL = 699990.0, 7800150.0, 30.0   # multiples of 30: --resolution snaps as -tap
COLS, ROWS = 1100, 900
BOUNDS = (X0, Y0 - ROWS * CELL, X0 + COLS * CELL, Y0)
BANDWIDTH = 750.0   # 25 cells: kernels cross block edges
TILE_KEYS = ("CITYRISK_TILE", "CITYRISK_WINDOW", "CITYRISK_FULL_SIZE")
WINDOWS_OF_4 = {1: (0, 0, 512, 512), 2: (512, 0, 588, 512), 3: (0, 512, 512, 388),
                4: (512, 512, 588, 388)}
WINDOWS_OF_6 = {1: (0, 0, 512, 512), 3: (1024, 0, 76, 512), 6: (1024, 512, 76, 388)}


def srs_of(epsg):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s


def make_records(path):
    """A CSV of lon, lat, count: sites near block edges and corners, inside and just outside
    the grid, each repeated; a few bad rows."""
    rng = np.random.default_rng(7)
    edge_x = [X0 + 512 * CELL, X0 + 1024 * CELL, X0, X0 + COLS * CELL]
    edge_y = [Y0 - 512 * CELL, Y0, Y0 - ROWS * CELL]
    sites = [(x + rng.uniform(-900, 900), y + rng.uniform(-900, 900))
             for x in edge_x for y in edge_y]
    sites += [(rng.uniform(BOUNDS[0] - 600, BOUNDS[2] + 600), rng.uniform(BOUNDS[1] - 600, BOUNDS[3] + 600))
              for _ in range(150)]
    to_geo = osr.CoordinateTransformation(srs_of(UTM36S), srs_of(4326))
    rows = []
    for x, y in sites:
        lon, lat = to_geo.TransformPoint(x, y)[:2]
        for _ in range(int(rng.integers(1, 5))):
            rows.append(f"{lon!r},{lat!r},{int(rng.integers(1, 40))}")
    rng.shuffle(rows)
    rows[10:10] = ["not-a-number,-19.9,3", "35.0,-95.0,2"]
    with open(path, "w") as fp:
        fp.write("lon,lat,count\n" + "\n".join(rows) + "\n")
    return path


def make_mask(path):
    """Allowed cells (1) and refused ones (0) at 45 m, off the grid."""
    rows, cols = int(ROWS * CELL / 45) + 3, int(COLS * CELL / 45) + 3
    y, x = np.mgrid[0:rows, 0:cols]
    allowed = ((np.sin(x / 9.0) + np.cos(y / 7.0)) > -0.5).astype(np.uint8)
    ds = gdal.GetDriverByName("GTiff").Create(path, cols, rows, 1, gdal.GDT_Byte)
    ds.SetGeoTransform((X0 - 20, 45.0, 0.0, Y0 + 13, 0.0, -45.0))
    ds.SetSpatialRef(srs_of(UTM36S))
    ds.GetRasterBand(1).WriteArray(allowed)
    ds = None
    return path


def arrivals_args(points, out, *extra):
    return ["arrivals", "--points", points, "--count-field", "count", "--crs", f"EPSG:{UTM36S}",
            "--resolution", str(CELL), "--bounds", ",".join(repr(v) for v in BOUNDS), "-o", out,
            *extra]


def read_band(path):
    ds = gdal.Open(path)
    return ds, ds.GetRasterBand(1).ReadAsArray().astype(np.float32)


class ArrivalsTiles(CliTestCase):
    """Single runs (a kernel; no kernel; a kernel under a mask), then tiles of them."""

    KERNEL = ("--kernel", "quartic", "--bandwidth", repr(BANDWIDTH))

    @classmethod
    def setUpClass(cls):
        cls._shared = tempfile.TemporaryDirectory(prefix="cityrisk-arrivals-tiles-")
        folder = cls._shared.name
        cls.points = make_records(os.path.join(folder, "records.csv"))
        cls.mask = make_mask(os.path.join(folder, "mask.tif"))
        cls.singles = {}
        for name, extra in (("kernel", cls.KERNEL), ("none", ()),
                            ("mask", cls.KERNEL + ("--mask", cls.mask))):
            out = os.path.join(folder, f"single-{name}.tif")
            report = os.path.join(folder, f"single-{name}.csv")
            rc, stdout, err = run(*arrivals_args(cls.points, out, "--json", "--report", report, *extra))
            if rc != 0:
                raise AssertionError(f"the single run ({name}) failed ({rc}): {err}")
            ds, values = read_band(out)
            cls.singles[name] = (out, json.loads(stdout), ds, values, report)

    @classmethod
    def tearDownClass(cls):
        cls.singles = None
        cls._shared.cleanup()

    def tile(self, config, extra, *option):
        out = self.path(f"tile-{len(os.listdir(self.tmp))}.tif")
        rc, stdout, err = run(*arrivals_args(self.points, out, "--json", *extra, *option))
        self.assertEqual(rc, 0, err)
        return out, json.loads(stdout)

    def assertWindowOfSingle(self, config, path, window, tile=None):
        single, summary, single_ds, values, _ = self.singles[config]
        x, y, w, h = window
        ds, got = read_band(path)
        self.assertEqual(got.shape, (h, w))
        expected = values[y:y + h, x:x + w]
        np.testing.assert_array_equal(got.view(np.uint32), expected.view(np.uint32))
        gt, full_gt = ds.GetGeoTransform(), single_ds.GetGeoTransform()
        self.assertEqual(gt, (full_gt[0] + x * full_gt[1], full_gt[1], 0.0,
                              full_gt[3] + y * full_gt[5], 0.0, full_gt[5]))
        band, single_band = ds.GetRasterBand(1), single_ds.GetRasterBand(1)
        for what in ("GetDescription", "GetUnitType", "GetNoDataValue", "GetMetadata", "GetBlockSize"):
            self.assertEqual(getattr(band, what)(), getattr(single_band, what)(), what)
        self.assertEqual(band.DataType, single_band.DataType)
        md, single_md = ds.GetMetadata(), single_ds.GetMetadata()
        self.assertEqual(md.get("CITYRISK_WINDOW"), f"{x},{y},{w},{h}")
        self.assertEqual(md.get("CITYRISK_FULL_SIZE"), f"{COLS},{ROWS}")
        self.assertEqual(md.get("CITYRISK_TILE"), tile)
        strip = lambda m: {k: v for k, v in m.items() if k not in TILE_KEYS + ("CITYRISK_COMMAND",)}
        self.assertEqual(strip(md), strip(single_md))

    def test_the_single_run_spreads_kernels_across_blocks(self):
        _, summary, ds, values, _ = self.singles["kernel"]
        self.assertEqual((ds.RasterXSize, ds.RasterYSize), (COLS, ROWS))
        self.assertGreater(summary["records_outside_grid"], 0)
        self.assertGreater(summary["kernel_mass_outside"], 0)
        self.assertEqual(summary["records_rejected"], 2)
        # Arrivals on both sides of every inner block edge.
        self.assertGreater(values[:, 505:512].sum(), 0)
        self.assertGreater(values[:, 512:519].sum(), 0)
        self.assertGreater(values[505:512, :].sum(), 0)
        self.assertGreater(values[512:519, :].sum(), 0)

    def test_four_tiles_are_the_single_runs_windows(self):
        for i, window in WINDOWS_OF_4.items():
            with self.subTest(tile=f"{i}/4"):
                out, summary = self.tile("kernel", self.KERNEL, "--tile", f"{i}/4")
                self.assertWindowOfSingle("kernel", out, window, tile=f"{i}/4")
                self.assertEqual(summary["tile"], f"{i}/4")
                self.assertEqual(summary["window"], list(window))
                # The records are all read, as by the single run.
                single = self.singles["kernel"][1]
                for key in ("records_read", "records_accepted", "records_outside_grid",
                            "arrivals_in_grid", "kernel_mass_outside"):
                    self.assertEqual(summary[key], single[key], key)

    def test_tiles_sum_to_the_single_run(self):
        total = 0.0
        for i in WINDOWS_OF_4:
            out, _ = self.tile("kernel", self.KERNEL, "--tile", f"{i}/4")
            total += read_band(out)[1].astype(np.float64).sum()
        expected = self.singles["kernel"][3].astype(np.float64).sum()
        self.assertAlmostEqual(total, expected, delta=1e-9 * expected)

    def test_six_tiles_are_the_single_runs_windows(self):
        for i, window in WINDOWS_OF_6.items():
            with self.subTest(tile=f"{i}/6"):
                out, _ = self.tile("kernel", self.KERNEL, "--tile", f"{i}/6")
                self.assertWindowOfSingle("kernel", out, window, tile=f"{i}/6")

    def test_windows_are_the_single_runs_windows(self):
        for window in ((512, 0, 512, 512), (0, 512, 1100, 388), (1024, 0, 76, 900)):
            with self.subTest(window=window):
                out, summary = self.tile("kernel", self.KERNEL, "--window", ",".join(map(str, window)))
                self.assertWindowOfSingle("kernel", out, window)
                self.assertNotIn("tile", summary)

    def test_without_a_kernel(self):
        for i in (2, 3):
            out, _ = self.tile("none", (), "--tile", f"{i}/4")
            self.assertWindowOfSingle("none", out, WINDOWS_OF_4[i], tile=f"{i}/4")

    def test_under_a_mask(self):
        for i in (1, 4):
            out, _ = self.tile("mask", self.KERNEL + ("--mask", self.mask), "--tile", f"{i}/4")
            self.assertWindowOfSingle("mask", out, WINDOWS_OF_4[i], tile=f"{i}/4")

    def test_a_tiles_report_is_the_single_runs(self):
        report = self.path("report.csv")
        self.tile("kernel", self.KERNEL + ("--report", report), "--tile", "3/4")
        with open(report) as got, open(self.singles["kernel"][4]) as expected:
            self.assertEqual(got.read(), expected.read())

    def assertRefused(self, *option, needle, lines=1):
        out = self.path("refused.tif")
        rc, _, err = run(*arrivals_args(self.points, out, *self.KERNEL, "--report",
                                        self.path("refused.csv"), *option))
        self.assertEqual(rc, 2, err)
        said = [l for l in err.splitlines() if l.strip()]
        self.assertEqual(len(said), lines, err)
        self.assertIn(needle, said[0])
        self.assertEqual(os.listdir(self.tmp), [])

    def test_misaligned_windows_are_refused(self):
        for window in ("100,0,512,512", "0,0,500,512", "512,512,600,388"):
            with self.subTest(window=window):
                self.assertRefused("--window", window, needle=f"--window {window}")

    def test_too_many_tiles_are_refused(self):
        for spec in ("1/7", "3/16"):
            with self.subTest(tile=spec):
                self.assertRefused("--tile", spec, needle=f"--tile {spec}")

    def test_a_tile_of_a_grid_too_big_for_this_machine_is_its_own_size(self):
        # the whole 1,000,000 x 1,000,000 grid would be 5 TB: a tile of it is 3584 x 3584 cells
        csv = self.path("one.csv")
        with open(csv, "w") as fh:
            fh.write("x,y,n\n500.5,999500.5,3\n")
        out = self.path("t.tif")
        rc, _, err = run("arrivals", "--points", csv, "--src-crs", "EPSG:32736", "--count-field", "n",
                         "--crs", "EPSG:32736", "--resolution", "1", "--bounds", "0,0,1000000,1000000",
                         "--tile", "1/65536", "-o", out)
        self.assertEqual(rc, 0, err)
        ds = gdal.Open(out)
        self.assertEqual((ds.RasterXSize, ds.RasterYSize), (3584, 3584))
        self.assertEqual(float(ds.GetRasterBand(1).ReadAsArray().sum()), 3.0)  # the record's cell

    def test_tile_and_window_together_are_refused(self):
        self.assertRefused("--tile", "1/4", "--window", "0,0,512,512", needle="--tile and --window")

    def test_counts_by_area_are_refused_with_tiles(self):
        areas = self.path("areas.geojson")
        with open(areas, "w") as fp:
            json.dump({"type": "FeatureCollection", "features": [{
                "type": "Feature", "properties": {"count": 10},
                "geometry": {"type": "Polygon", "coordinates": [[[35.0, -19.95], [35.1, -19.95],
                                                                 [35.1, -20.0], [35.0, -19.95]]]}}]}, fp)
        out = self.path("areas.tif")
        rc, _, err = run("arrivals", "--areas", areas, "--count-field", "count", "--crs",
                         f"EPSG:{UTM36S}", "--resolution", str(CELL), "--bounds",
                         ",".join(repr(v) for v in BOUNDS), "--tile", "1/4", "-o", out)
        self.assertEqual(rc, 2, err)
        said = [l for l in err.splitlines() if l.strip()]
        self.assertEqual(len(said), 1, err)
        self.assertIn("--areas", said[0])
        self.assertIn("--tile", said[0])
        self.assertFalse(os.path.exists(out))

    def test_mosaic_of_the_tiles_is_the_single_run(self):
        rc, _, _ = run("help", "mosaic")
        if rc != 0:
            self.skipTest("cityrisk mosaic is not in this build (issue 22: the MOSAIC branch)")
        tiles = [self.tile("kernel", self.KERNEL, "--tile", f"{i}/6")[0] for i in range(1, 7)]
        out = self.path("mosaic.tif")
        rc, _, err = run("mosaic", *tiles, "-o", out)
        self.assertEqual(rc, 0, err)
        checksum = lambda p: [b["checksum"] for b in gdal.Info(p, format="json", computeChecksum=True)["bands"]]
        self.assertEqual(checksum(out), checksum(self.singles["kernel"][0]))
        joined, whole = gdal.Open(out), gdal.Open(self.singles["kernel"][0])
        for b in range(1, whole.RasterCount + 1):  # and every cell, bit for bit
            self.assertEqual(joined.GetRasterBand(b).ReadRaster(), whole.GetRasterBand(b).ReadRaster())


if __name__ == "__main__":
    unittest.main()
