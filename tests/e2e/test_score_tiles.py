"""End-to-end: `cityrisk score --tile I/N | --window X,Y,W,H` writes exactly the single run's window.

The grid is 1100 x 900 cells of 30 m in EPSG:32736, so its 512-cell blocks are 3 x 2 with partial
blocks on the right (76 columns) and the bottom (388 rows). Every input lies off that grid: the
depths at 45 m and the settlement fractions at 20 m with origins between cells, the water scores
in EPSG:4326, the arrivals at 90 m (summed) and the residents at 60 m. Each input is therefore
warped onto the grid, and a tile must read the same values as the single run in its window.

Expected windows come from tile.h's rule worked by hand for this grid (not from the program):
--tile I/4 cuts it 2 x 2 (aspect |log((1100/2)/(900/2))| = 0.20 beats 1 x 4 and 4 x 1), tile
column 0 holding block column 0 (floor(0 * 3 / 2) .. floor(1 * 3 / 2) - 1) and column 1 block
columns 1-2; --tile I/6 cuts it 3 columns by 2 rows (|log((1100/3)/(900/2))| = 0.20), one block
column each. The oracle of the values is the single run itself, read with numpy: equal bit for bit,
NaN where it has NaN.
"""
import json
import os
import subprocess
import tempfile
import unittest

import numpy as np
from osgeo import gdal, osr

from cliutil import CITYRISK, CliTestCase, run, release_only

gdal.UseExceptions()

NODATA = -9999.0
UTM36S = 32736
X0, Y0, CELL = 699990.0, 7800150.0, 30.0   # multiples of 30: --resolution snaps as -tap
COLS, ROWS = 1100, 900
BOUNDS = (X0, Y0 - ROWS * CELL, X0 + COLS * CELL, Y0)
TILE_KEYS = ("CITYRISK_TILE", "CITYRISK_WINDOW", "CITYRISK_FULL_SIZE")
# Keys of the dataset that differ between any two runs or describe one run's cells.
RUN_KEYS = ("CITYRISK_COMMAND", "CITYRISK_STATISTICS")

# Worked by hand from tile.h for 1100 x 900 (see the module's docstring).
WINDOWS_OF_4 = {1: (0, 0, 512, 512), 2: (512, 0, 588, 512), 3: (0, 512, 512, 388),
                4: (512, 512, 588, 388)}
WINDOWS_OF_6 = {1: (0, 0, 512, 512), 3: (1024, 0, 76, 512), 5: (512, 512, 512, 388),
                6: (1024, 512, 76, 388)}


def srs_of(epsg):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s


def write_raster(path, values, origin, cell, epsg=UTM36S):
    """values (2-D, NaN = nodata) as a Float32 GeoTIFF with nodata -9999."""
    rows, cols = values.shape
    ds = gdal.GetDriverByName("GTiff").Create(path, cols, rows, 1, gdal.GDT_Float32,
                                              ["TILED=YES", "COMPRESS=DEFLATE"])
    ds.SetGeoTransform((origin[0], cell, 0.0, origin[1], 0.0, -cell))
    ds.SetSpatialRef(srs_of(epsg))
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(NODATA)
    band.WriteArray(np.where(np.isnan(values), NODATA, values).astype(np.float32))
    ds = None
    return path


def smooth_field(rng, rows, cols, lo, hi):
    """A field varying over the whole raster (so that resampling shows) plus noise."""
    y, x = np.mgrid[0:rows, 0:cols]
    base = 0.5 + 0.25 * np.sin(x / 37.0) + 0.25 * np.cos(y / 23.0)
    return lo + (hi - lo) * np.clip(0.7 * base + 0.3 * rng.random((rows, cols)), 0, 1)


def make_inputs(folder):
    """The five inputs, each off the grid; returns their paths by option."""
    rng = np.random.default_rng(22)
    # Depths, 45 m, origin 10 m west and 7 m north of the grid's: a band of sea (nodata).
    rows, cols = int(ROWS * CELL / 45) + 3, int(COLS * CELL / 45) + 3
    sea = smooth_field(rng, rows, cols, 0.0, 2.5)
    sea[:, :40] = np.nan
    sea[rng.random(sea.shape) < 0.02] = np.nan
    paths = {"sea": write_raster(os.path.join(folder, "sea.tif"), sea, (X0 - 10, Y0 + 7), 45.0)}
    # Settlement fractions, 20 m, origin 3 m east and 11 m south.
    rows, cols = int(ROWS * CELL / 20) + 2, int(COLS * CELL / 20) + 2
    informal = smooth_field(rng, rows, cols, 0.0, 1.0)
    paths["informal"] = write_raster(os.path.join(folder, "informal.tif"), informal,
                                     (X0 + 3, Y0 - 11), 20.0)
    # Arrivals, 90 m, mostly zero, and residents, 60 m.
    rows, cols = int(ROWS * CELL / 90) + 2, int(COLS * CELL / 90) + 2
    arrivals = np.where(rng.random((rows, cols)) < 0.3, rng.integers(1, 60, (rows, cols)), 0.0)
    paths["arrivals"] = write_raster(os.path.join(folder, "arrivals.tif"), arrivals.astype(float),
                                     (X0 - 40, Y0 + 25), 90.0)
    rows, cols = int(ROWS * CELL / 60) + 2, int(COLS * CELL / 60) + 2
    population = smooth_field(rng, rows, cols, 5.0, 900.0)
    paths["population"] = write_raster(os.path.join(folder, "population.tif"), population,
                                       (X0 - 25, Y0 + 15), 60.0)
    # Water-stress scores in EPSG:4326 at 0.004 degrees, over the grid's extent and more.
    to_geo = osr.CoordinateTransformation(srs_of(UTM36S), srs_of(4326))
    corners = [to_geo.TransformPoint(x, y)[:2] for x in BOUNDS[::2] for y in BOUNDS[1::2]]
    west, north = min(c[0] for c in corners) - 0.01, max(c[1] for c in corners) + 0.01
    east, south = max(c[0] for c in corners) + 0.01, min(c[1] for c in corners) - 0.01
    step = 0.004
    water = smooth_field(rng, int((north - south) / step) + 1, int((east - west) / step) + 1, 0, 5)
    paths["water"] = write_raster(os.path.join(folder, "water.tif"), water, (west, north), step,
                                  epsg=4326)
    return paths


def score_args(paths, out, *extra):
    args = ["score", "--crs", f"EPSG:{UTM36S}", "--resolution", str(CELL),
            "--bounds", ",".join(repr(v) for v in BOUNDS), "-o", out, *extra]
    for name in ("sea", "water", "informal", "arrivals", "population"):
        args += [f"--{name}", paths[name]]
    return args


def read_all(path):
    """Every band as a float32 array (NaN where nodata), and the dataset."""
    ds = gdal.Open(path)
    bands = []
    for b in range(1, ds.RasterCount + 1):
        band = ds.GetRasterBand(b)
        a = band.ReadAsArray().astype(np.float32)
        nodata = band.GetNoDataValue()
        if nodata is not None and not np.isnan(nodata):
            a[a == nodata] = np.nan
        bands.append(a)
    return ds, bands


def band_info(ds):
    """What every band says about itself: name, unit, nodata, type, block size, metadata."""
    out = []
    for b in range(1, ds.RasterCount + 1):
        band = ds.GetRasterBand(b)
        out.append((band.GetDescription(), band.GetUnitType(), repr(band.GetNoDataValue()),
                    band.DataType, band.GetBlockSize(), band.GetMetadata()))
    return out


class ScoreTiles(CliTestCase):
    """One single run, then tiles of it."""

    @classmethod
    def setUpClass(cls):
        cls._shared = tempfile.TemporaryDirectory(prefix="cityrisk-tiles-")
        cls.folder = cls._shared.name
        cls.inputs = make_inputs(cls.folder)
        cls.single = os.path.join(cls.folder, "single.tif")
        rc, out, err = run(*score_args(cls.inputs, cls.single, "--json", "--qml"))
        if rc != 0:
            raise AssertionError(f"the single run failed ({rc}): {err}")
        cls.single_summary = json.loads(out)
        cls.single_ds, cls.single_bands = read_all(cls.single)

    @classmethod
    def tearDownClass(cls):
        cls.single_ds = None
        cls._shared.cleanup()

    def tile(self, name, *option):
        out = self.path(name)
        rc, stdout, err = run(*score_args(self.inputs, out, "--json", *option))
        self.assertEqual(rc, 0, err)
        return out, json.loads(stdout)

    def assertWindowOfSingle(self, path, window, tile=None):
        """Every band of the tile equals the single run's window bit for bit; metadata too."""
        x, y, w, h = window
        ds, bands = read_all(path)
        self.assertEqual((ds.RasterXSize, ds.RasterYSize), (w, h))
        self.assertEqual(len(bands), len(self.single_bands))
        for got, full in zip(bands, self.single_bands):
            expected = full[y:y + h, x:x + w]
            np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
            # Bit for bit where there is a value (0.0 and -0.0 differ too).
            valid = ~np.isnan(got)
            np.testing.assert_array_equal(got[valid].view(np.uint32), expected[valid].view(np.uint32))
        gt, full_gt = ds.GetGeoTransform(), self.single_ds.GetGeoTransform()
        self.assertEqual(gt, (full_gt[0] + x * full_gt[1], full_gt[1], 0.0,
                              full_gt[3] + y * full_gt[5], 0.0, full_gt[5]))
        self.assertTrue(ds.GetSpatialRef().IsSame(self.single_ds.GetSpatialRef()))
        self.assertEqual(band_info(ds), band_info(self.single_ds))
        md, single_md = ds.GetMetadata(), self.single_ds.GetMetadata()
        self.assertEqual(md.get("CITYRISK_WINDOW"), f"{x},{y},{w},{h}")
        self.assertEqual(md.get("CITYRISK_FULL_SIZE"), f"{COLS},{ROWS}")
        self.assertEqual(md.get("CITYRISK_TILE"), tile)
        # A tile does not carry statistics of the whole grid it has not seen.
        self.assertNotIn("CITYRISK_STATISTICS", md)
        strip = lambda m: {k: v for k, v in m.items() if k not in TILE_KEYS + RUN_KEYS}
        self.assertEqual(strip(md), strip(single_md))

    def test_the_grid_has_partial_blocks(self):
        self.assertEqual((self.single_ds.RasterXSize, self.single_ds.RasterYSize), (COLS, ROWS))
        # The inputs do reach the output: scored cells, nodata and every class.
        self.assertGreater(self.single_summary["cells_scored"], 0)
        self.assertGreater(self.single_summary["cells_nodata"], 0)

    def test_four_tiles_are_the_single_runs_windows(self):
        for i, window in WINDOWS_OF_4.items():
            with self.subTest(tile=f"{i}/4"):
                out, summary = self.tile(f"t{i}.tif", "--tile", f"{i}/4")
                self.assertWindowOfSingle(out, window, tile=f"{i}/4")
                self.assertEqual(summary["window"], list(window))
                self.assertEqual(summary["tile"], f"{i}/4")
                self.assertEqual(summary["cells"], window[2] * window[3])
                # The a_ref of the whole grid, not the tile's.
                self.assertEqual(summary["arrivals_ref"], self.single_summary["arrivals_ref"])

    @release_only
    def test_six_tiles_are_the_single_runs_windows(self):
        for i, window in WINDOWS_OF_6.items():
            with self.subTest(tile=f"{i}/6"):
                out, _ = self.tile(f"s{i}.tif", "--tile", f"{i}/6")
                self.assertWindowOfSingle(out, window, tile=f"{i}/6")

    @release_only
    def test_windows_are_the_single_runs_windows(self):
        for window in ((512, 0, 512, 512), (0, 512, 1100, 388), (1024, 0, 76, 900)):
            with self.subTest(window=window):
                out, summary = self.tile("w.tif", "--window", ",".join(map(str, window)),
                                         "--overwrite")
                self.assertWindowOfSingle(out, window)
                self.assertNotIn("tile", summary)
                self.assertEqual(summary["window"], list(window))

    def test_tiles_sum_to_the_single_runs_counts(self):
        scored = 0
        for i in WINDOWS_OF_4:
            _, summary = self.tile(f"c{i}.tif", "--tile", f"{i}/4")
            scored += summary["cells_scored"]
        self.assertEqual(scored, self.single_summary["cells_scored"])

    @release_only
    def test_a_tiles_style_is_the_single_runs(self):
        out = self.path("q.tif")
        rc, _, err = run(*score_args(self.inputs, out, "--tile", "2/4", "--qml"))
        self.assertEqual(rc, 0, err)
        with open(out[:-4] + ".qml") as got, open(self.single[:-4] + ".qml") as expected:
            self.assertEqual(got.read(), expected.read())

    def assertRefused(self, *option, needle, lines=1):
        """Exit 2 with one line naming the option (plus the parser's pointer to --help for
        text it cannot parse), and nothing written."""
        out = self.path("refused.tif")
        rc, stdout, err = run(*score_args(self.inputs, out, *option))
        self.assertEqual(rc, 2, err)
        said = [l for l in err.splitlines() if l.strip()]
        self.assertEqual(len(said), lines, err)
        self.assertIn(needle, said[0])
        self.assertEqual(os.listdir(self.tmp), [])

    def test_misaligned_windows_are_refused(self):
        for window in ("100,0,512,512", "0,0,500,512", "512,512,600,388", "1536,0,10,10"):
            with self.subTest(window=window):
                self.assertRefused("--window", window, needle=f"--window {window}")

    def test_too_many_tiles_are_refused(self):
        for spec in ("1/7", "5/16", "1/100"):
            with self.subTest(tile=spec):
                self.assertRefused("--tile", spec, needle=f"--tile {spec}")

    def test_bad_tile_text_is_refused(self):
        for spec in ("0/4", "5/4", "a/4", "1"):
            with self.subTest(tile=spec):
                self.assertRefused("--tile", spec, needle=f"--tile '{spec}'", lines=2)

    def test_tile_and_window_together_are_refused(self):
        self.assertRefused("--tile", "1/4", "--window", "0,0,512,512", needle="--tile and --window")

    def test_class_breaks_from_the_data_are_refused_with_tiles(self):
        for classes in ("quantile:5", "jenks:4", "equal:5"):
            with self.subTest(classes=classes):
                self.assertRefused("--tile", "1/4", "--classes", classes, needle="--classes")

    @release_only
    def test_fixed_breaks_and_a_given_reference_work_with_tiles(self):
        extra = ("--classes", "fixed:1,2,3", "--arrivals-ref", "40")
        single = self.path("fixed_single.tif")
        rc, _, err = run(*score_args(self.inputs, single, *extra))
        self.assertEqual(rc, 0, err)
        out = self.path("fixed_tile.tif")
        rc, _, err = run(*score_args(self.inputs, out, "--tile", "4/4", *extra))
        self.assertEqual(rc, 0, err)
        _, full = read_all(single)
        _, bands = read_all(out)
        x, y, w, h = WINDOWS_OF_4[4]
        for got, whole in zip(bands, full):
            np.testing.assert_array_equal(got, whole[y:y + h, x:x + w])

    @release_only
    def test_mosaic_of_the_tiles_is_the_single_run(self):
        rc, _, _ = run("help", "mosaic")
        if rc != 0:
            self.skipTest("cityrisk mosaic is not in this build (issue 22: the MOSAIC branch)")
        tiles = [self.tile(f"m{i}.tif", "--tile", f"{i}/4")[0] for i in WINDOWS_OF_4]
        out = self.path("mosaic.tif")
        rc, _, err = run("mosaic", *tiles, "-o", out)
        self.assertEqual(rc, 0, err)
        checksum = lambda p: [b["checksum"] for b in gdal.Info(p, format="json", computeChecksum=True)["bands"]]
        self.assertEqual(checksum(out), checksum(self.single))
        joined, whole = gdal.Open(out), gdal.Open(self.single)
        for b in range(1, whole.RasterCount + 1):  # and every cell, bit for bit
            self.assertEqual(joined.GetRasterBand(b).ReadRaster(), whole.GetRasterBand(b).ReadRaster())


if __name__ == "__main__":
    unittest.main()
