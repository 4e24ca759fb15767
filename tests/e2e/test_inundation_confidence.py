"""End-to-end: `cityrisk inundation --dem-rmse` (issue 20, point 1), NOAA's mapping confidence.

Every DEM is written by the test (test_inundation.make_dem: EPSG:32736, 10 m cells). With
--dem-rmse 0.3 --datum-rmse 0.4, sigma = sqrt(0.3^2 + 0.4^2) = 0.5 m exactly; at the default
P = 0.8, k = 0.8416212335729143 (Phi^-1(0.8), checked here against Python's
statistics.NormalDist). At W = 1 m the levels are W - k sigma = 0.5792 m and W + k sigma =
1.4208 m. The expected classes come from test_inundation.flood_fill (a breadth-first search
written from the specification) at those two levels, the expected p from math.erf, the areas
from numpy counts times the 100 m2 cell.

The hand-worked DEM (5 rows x 8 columns):

    col 0   -1      the sea (at or below 0 on the raster edge)
    col 1   0.3     below W - k sigma: inundated with confidence (class 2)
    col 2   1.0     = W: p = 0.5 exactly; between the levels: possibly inundated (class 1)
    col 3   2.0     a ridge of height W + 2 sigma: above W + k sigma, dry (class 0)
    col 4-7 0.2     land behind the ridge: dry with confidence (class 0, p 0), though far
                    below W; with a gap of height W in the ridge (row 2), water passes at
                    W + k sigma but not at W - k sigma: possibly inundated (class 1)
"""
import json
import math
import os
import stat
import unittest
import xml.etree.ElementTree as ET
from statistics import NormalDist

import numpy as np
from osgeo import gdal

from cliutil import CliTestCase, run, sample
from test_inundation import NODATA, find_sea, flood_fill, make_dem, read_band

gdal.UseExceptions()

SIGMA = 0.5
K = 0.8416212335729143
W = 1.0
CELL_M2 = 100.0
RMSE = ["--dem-rmse", "0.3", "--datum-rmse", "0.4"]
COLOURS = [(0xd9, 0xd9, 0xd9), (0xfd, 0xae, 0x61), (0x21, 0x66, 0xac)]  # dry, possibly, inundated


def ridge_dem(gap):
    z = np.full((5, 8), 0.2)
    z[:, 0] = -1.0
    z[:, 1] = 0.3
    z[:, 2] = W
    z[:, 3] = W + 2 * SIGMA
    if gap:
        z[2, 3] = W
    return z


def phi(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def expected(dem, conn="8"):
    """(classes, p) as the specification defines them, with NODATA / 255 on sea and nodata."""
    low = flood_fill(dem, W - K * SIGMA, conn)
    high = flood_fill(dem, W + K * SIGMA, conn)
    sea = low == NODATA
    classes = np.where(low > 0, 2, np.where(high > 0, 1, 0)).astype(np.float64)
    classes[sea] = 255
    p = np.zeros(dem.shape)
    for (r, c), h in np.ndenumerate(high):
        if h > 0:
            p[r, c] = phi((W - dem[r, c]) / SIGMA)
    p[sea] = NODATA
    return classes, p


class Confidence(CliTestCase):
    def dem(self, name, array):
        return make_dem(self.path(name), array)

    def inundate(self, dem, out, *args):
        rc, stdout, err = run("inundation", "--dem", dem, "-o", out, "--sea-level", "1", "--json", *args)
        self.assertEqual(rc, 0, err)
        return json.loads(stdout)

    def assertUsage(self, args, *needles):
        """Exit 2 with one stderr line holding every needle (a usage error's last line is the
        pointer to --help)."""
        rc, _, err = run(*args)
        self.assertEqual(rc, 2, err)
        self.assertTrue(any(all(n in line for n in needles) for line in err.splitlines()), err)

    def test_k_is_the_normal_quantile(self):
        self.assertAlmostEqual(NormalDist().inv_cdf(0.8), K, places=14)

    def test_ridge_keeps_the_land_behind_dry_and_a_gap_makes_it_possible(self):
        for gap in (False, True):
            with self.subTest(gap=gap):
                z = ridge_dem(gap)
                dem = self.dem(f"dem{gap:d}.tif", z)
                out = self.path(f"flood{gap:d}.tif")
                summary = self.inundate(dem, out, *RMSE)
                classes = read_band(self.path(f"flood{gap:d}_confidence.tif"))
                p = read_band(self.path(f"flood{gap:d}_p_inundated.tif"))
                want_classes, want_p = expected(z)
                np.testing.assert_array_equal(classes, want_classes)
                np.testing.assert_allclose(p, want_p, rtol=0, atol=1e-6)
                # by hand, not only through flood_fill
                self.assertTrue((classes[:, 1] == 2).all())
                self.assertTrue((classes[:, 2] == 1).all())
                self.assertTrue((p[:, 2] == 0.5).all())  # z = W
                behind = classes[:, 4:]
                self.assertTrue((behind == (1 if gap else 0)).all(), behind)
                if not gap:
                    self.assertTrue((p[:, 3:] == 0).all())
                else:
                    self.assertAlmostEqual(float(p[0, 5]), phi((W - 0.2) / SIGMA), places=6)
                    self.assertAlmostEqual(float(p[2, 3]), 0.5, places=7)
                # the summary's areas are the rasters' counts
                c = summary["scenarios"][0]["confidence"]
                for name, value in (("inundated", 2), ("possibly_inundated", 1), ("dry", 0)):
                    cells = int((classes == value).sum())
                    self.assertEqual(c[f"{name}_cells"], cells, name)
                    self.assertAlmostEqual(c[f"{name}_area_m2"], cells * CELL_M2, places=6)
                self.assertAlmostEqual(c["low_water_level_m"], W - K * SIGMA, places=9)
                self.assertAlmostEqual(c["high_water_level_m"], W + K * SIGMA, places=9)
                self.assertAlmostEqual(summary["confidence"]["sigma_m"], SIGMA, places=12)
                self.assertAlmostEqual(summary["confidence"]["k"], K, places=12)

    def test_p_against_erf_on_a_slope(self):
        # A slope from the sea up through W: every p Phi((W - z) / sigma) up to W + k sigma.
        z = np.tile(np.array([-1.0, 0.05, 0.3, 0.6, 0.9, 1.0, 1.2, 1.4, 1.5, 3.0]), (3, 1))
        dem = self.dem("slope.tif", z)
        out = self.path("slope.tif.out.tif")
        self.inundate(dem, out, "--dem-rmse", "0.5", "--confidence", "0.9",
                      "--probability-output", self.path("p.tif"), "--confidence-output",
                      self.path("c.tif"))
        k = NormalDist().inv_cdf(0.9)
        p = read_band(self.path("p.tif"))
        classes = read_band(self.path("c.tif"))
        for col in range(1, 10):
            zc = z[0, col]
            want = phi((W - zc) / 0.5) if zc < W + k * 0.5 else 0.0
            self.assertAlmostEqual(float(p[0, col]), want, places=6, msg=f"z={zc}")
            want_class = 2 if zc < W - k * 0.5 else 1 if zc < W + k * 0.5 else 0
            self.assertEqual(int(classes[0, col]), want_class, f"z={zc}")

    def test_no_connectivity_classes_every_cell_below_the_levels(self):
        z = ridge_dem(False)
        dem = self.dem("dem.tif", z)
        self.inundate(dem, self.path("none.tif"), *RMSE, "--connectivity", "none")
        classes = read_band(self.path("none_confidence.tif"))
        want, _ = expected(z, "none")
        np.testing.assert_array_equal(classes, want)
        self.assertTrue((classes[:, 4:] == 2).all())  # the plain bathtub floods behind the ridge

    def test_land_motion_moves_the_classes_and_p(self):
        # --vlm -0.5 --vlm-unit m: the land sinks 0.5 m after the sea was told from the DEM, so
        # the classes and p are those of z - 0.5 with today's sea.
        z = ridge_dem(False)
        dem = self.dem("dem.tif", z)
        self.inundate(dem, self.path("sink.tif"), *RMSE, "--vlm", "-0.5", "--vlm-unit", "m")
        classes = read_band(self.path("sink_confidence.tif"))
        p = read_band(self.path("sink_p_inundated.tif"))
        moved, sea = z - 0.5, find_sea(z, "8")
        low = flood_fill(moved, W - K * SIGMA, sea=sea)
        high = flood_fill(moved, W + K * SIGMA, sea=sea)
        want = np.where(low > 0, 2, np.where(high > 0, 1, 0)).astype(np.float64)
        want[sea] = 255
        np.testing.assert_array_equal(classes, want)
        self.assertTrue((classes[:, 2] == 2).all())  # z = W sank to W - 0.5, below W - k sigma
        self.assertTrue((classes[:, 4:] == 0).all())  # the ridge, now 1.5 m, still above W + k sigma
        self.assertAlmostEqual(float(p[0, 2]), phi(0.5 / SIGMA), places=6)

    def test_depths_are_those_of_a_run_without_confidence(self):
        dem = self.dem("dem.tif", ridge_dem(True))
        self.inundate(dem, self.path("plain.tif"))
        self.inundate(dem, self.path("conf.tif"), *RMSE)
        plain, conf = gdal.Open(self.path("plain.tif")), gdal.Open(self.path("conf.tif"))
        self.assertEqual(conf.RasterCount, 1)
        self.assertEqual(conf.GetRasterBand(1).DataType, gdal.GDT_Float32)
        np.testing.assert_array_equal(plain.ReadAsArray(), conf.ReadAsArray())
        self.assertEqual(plain.GetRasterBand(1).GetDescription(), conf.GetRasterBand(1).GetDescription())
        self.assertFalse(os.path.exists(self.path("plain_confidence.tif")))

    def test_files_types_colour_table_names_and_metadata(self):
        dem = self.dem("dem.tif", ridge_dem(True))
        self.inundate(dem, self.path("flood.tif"), *RMSE, "--sea-level", "1,2")
        depth = gdal.Open(self.path("flood.tif"))
        conf = gdal.Open(self.path("flood_confidence.tif"))
        prob = gdal.Open(self.path("flood_p_inundated.tif"))
        self.assertEqual(conf.RasterCount, 2)
        self.assertEqual(prob.RasterCount, 2)
        self.assertEqual(conf.GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE"), "COG")
        self.assertEqual(prob.GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE"), "COG")
        for b in (1, 2):
            cb, pb, db = conf.GetRasterBand(b), prob.GetRasterBand(b), depth.GetRasterBand(b)
            self.assertEqual(cb.DataType, gdal.GDT_Byte)
            self.assertEqual(pb.DataType, gdal.GDT_Float32)
            self.assertEqual(cb.GetNoDataValue(), 255)
            self.assertEqual(pb.GetNoDataValue(), NODATA)
            for band in (cb, pb):
                self.assertEqual(band.GetDescription(), db.GetDescription())
                self.assertEqual(band.GetMetadataItem("SCENARIO"), db.GetMetadataItem("SCENARIO"))
                md = band.GetMetadata()
                self.assertAlmostEqual(float(md["SIGMA_M"]), SIGMA)
                self.assertAlmostEqual(float(md["K"]), K, places=9)
                self.assertAlmostEqual(float(md["CONFIDENCE"]), 0.8)
                self.assertAlmostEqual(float(md["DEM_RMSE_M"]), 0.3)
                self.assertAlmostEqual(float(md["DATUM_RMSE_M"]), 0.4)
                w = float(md["WATER_LEVEL_M"])
                self.assertAlmostEqual(w, float(b))
                self.assertAlmostEqual(float(md["WATER_LEVEL_LOW_M"]), w - K * SIGMA, places=8)
                self.assertAlmostEqual(float(md["WATER_LEVEL_HIGH_M"]), w + K * SIGMA, places=8)
            # GeoTIFF allows no palette in a file of several bands; none is an alpha band
            self.assertIsNone(cb.GetColorTable())
            self.assertNotEqual(cb.GetColorInterpretation(), gdal.GCI_AlphaBand)
            names = json.loads(cb.GetMetadataItem("CLASS_NAMES"))
            self.assertEqual(names, ["Dry (confidence >= 0.8)", "Possibly inundated",
                                     "Inundated (confidence >= 0.8)"])
            self.assertEqual(json.loads(cb.GetMetadataItem("CLASS_COLORS")),
                             ["#%02x%02x%02x" % c for c in COLOURS])
        for ds in (depth, conf, prob):
            params = json.loads(ds.GetMetadataItem("CITYRISK_PARAMETERS"))
            self.assertAlmostEqual(params["confidence"]["sigma_m"], SIGMA)
            self.assertAlmostEqual(params["confidence"]["k"], K, places=9)
            self.assertAlmostEqual(params["confidence"]["dem_rmse_m"], 0.3)
            self.assertAlmostEqual(params["confidence"]["datum_rmse_m"], 0.4)
            self.assertAlmostEqual(params["confidence"]["confidence"], 0.8)
        self.assertIn("Phi((W - z) / sigma)", prob.GetMetadataItem("CITYRISK_FORMULA"))
        self.assertIn("independent", prob.GetMetadataItem("CITYRISK_FORMULA"))
        self.assertEqual(sorted(os.listdir(self.tmp)),
                         ["dem.tif", "flood.tif", "flood_confidence.tif", "flood_p_inundated.tif"])

    def test_one_level_has_a_colour_table(self):
        dem = self.dem("dem.tif", ridge_dem(True))
        self.inundate(dem, self.path("flood.tif"), *RMSE)
        ds = gdal.Open(self.path("flood_confidence.tif"))  # alive while its band is used
        band = ds.GetRasterBand(1)
        table = band.GetColorTable()
        self.assertIsNotNone(table)
        for v, rgb in enumerate(COLOURS):
            self.assertEqual(table.GetColorEntry(v)[:3], rgb)
        # gdalinfo lists it (category names would need a .aux.xml sidecar: none is written)
        self.assertIn("Color Table", gdal.Info(self.path("flood_confidence.tif")))
        self.assertEqual(sorted(os.listdir(self.tmp)),
                         ["dem.tif", "flood.tif", "flood_confidence.tif", "flood_p_inundated.tif"])

    def test_map_and_style_of_a_later_level(self):
        # Band 2 of three levels: no colour table, the classes from CLASS_NAMES / CLASS_COLORS.
        dem = self.dem("dem.tif", ridge_dem(True))
        self.inundate(dem, self.path("flood.tif"), *RMSE, "--sea-level", "0.2,1,3", "--qml")
        png = self.path("map.png")
        rc, out, err = run("map", "--raster", self.path("flood_confidence.tif"), "--band", "2",
                           "--json", "-o", png)
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["mode"], "class")
        rgba = np.moveaxis(gdal.Open(png).ReadAsArray(), 0, -1)
        for rgb in COLOURS:
            self.assertGreater(int(np.all(rgba[:, :, :3] == rgb, axis=-1).sum()), 5000, rgb)
        entries = ET.parse(self.path("flood_confidence.qml")).getroot().findall(
            "pipe/rasterrenderer/colorPalette/paletteEntry")
        self.assertEqual([e.get("color") for e in entries], ["#%02x%02x%02x" % c for c in COLOURS])

    def test_qgis_style_shows_the_classes(self):
        dem = self.dem("dem.tif", ridge_dem(True))
        summary = self.inundate(dem, self.path("flood.tif"), *RMSE, "--qml")
        self.assertEqual(summary["confidence"]["qml"], self.path("flood_confidence.qml"))
        self.assertTrue(os.path.exists(self.path("flood.qml")))
        root = ET.parse(self.path("flood_confidence.qml")).getroot()
        renderer = root.find("pipe/rasterrenderer")
        self.assertEqual(renderer.get("type"), "paletted")
        self.assertEqual(renderer.get("band"), "1")
        entries = renderer.findall("colorPalette/paletteEntry")
        self.assertEqual([e.get("value") for e in entries], ["0", "1", "2"])
        self.assertEqual([e.get("color") for e in entries], ["#%02x%02x%02x" % c for c in COLOURS])
        self.assertEqual([e.get("label") for e in entries],
                         ["Dry (confidence >= 0.8)", "Possibly inundated", "Inundated (confidence >= 0.8)"])

    def test_map_draws_the_three_classes(self):
        dem = self.dem("dem.tif", ridge_dem(True))
        self.inundate(dem, self.path("flood.tif"), *RMSE)
        png = self.path("map.png")
        rc, out, err = run("map", "--raster", self.path("flood_confidence.tif"), "--width", "1000",
                           "--json", "-o", png)
        self.assertEqual(rc, 0, err)
        summary = json.loads(out)
        self.assertEqual(summary["mode"], "class")
        self.assertEqual(summary["classes"], 3)
        rgba = np.moveaxis(gdal.Open(png).ReadAsArray(), 0, -1)
        classes = read_band(self.path("flood_confidence.tif"))
        land = classes != 255
        for value, rgb in enumerate(COLOURS):
            pixels = int(np.all(rgba[:, :, :3] == rgb, axis=-1).sum())
            share = (classes[land] == value).mean()
            # the data frame is about 600 x 370 pixels: each class fills its share of it,
            # far more than its legend swatch (about 20 x 14)
            self.assertGreater(pixels, 0.5 * share * 600 * 370, f"class {value}: {pixels} pixels")

    def test_bad_options_exit_2(self):
        dem = self.dem("dem.tif", ridge_dem(False))
        out = self.path("out.tif")
        base = ["inundation", "--dem", dem, "-o", out, "--sea-level", "1"]
        cases = [
            (["--datum-rmse", "0.1"], "--datum-rmse needs --dem-rmse"),
            (["--confidence", "0.9"], "--confidence needs --dem-rmse"),
            (["--confidence-output", self.path("c.tif")], "--confidence-output needs --dem-rmse"),
            (["--dem-rmse", "-1"], "--dem-rmse wants metres"),
            (["--dem-rmse", "0.1", "--datum-rmse", "-0.1"], "--datum-rmse wants metres"),
            (["--dem-rmse", "nan"], "--dem-rmse wants a number"),
            (["--dem-rmse", "0"], "sigma = 0"),
            (["--dem-rmse", "0.1", "--confidence", "0.5"], "between 0.5 and 1"),
            (["--dem-rmse", "0.1", "--confidence", "1"], "between 0.5 and 1"),
            (["--dem-rmse", "0.1", "--confidence", "0.3"], "between 0.5 and 1"),
            (["--dem-rmse", "1e38", "--sea-level", "3e38"], "beyond what a Float32 output holds"),
        ]
        for extra, needle in cases:
            with self.subTest(extra=extra):
                self.assertUsage(base + extra, needle)
                self.assertEqual(os.listdir(self.tmp), ["dem.tif"])

    def test_outputs_that_are_inputs_or_each_other_are_refused(self):
        dem = self.dem("dem.tif", ridge_dem(False))
        with open(dem, "rb") as fp:
            before = fp.read()
        out = self.path("out.tif")
        base = ["inundation", "--dem", dem, "-o", out, "--sea-level", "1", "--dem-rmse", "0.2", "--overwrite"]
        self.assertUsage(base + ["--confidence-output", dem], dem)
        self.assertUsage(base + ["--probability-output", dem], dem)
        self.assertUsage(base + ["--probability-output", out], out)
        self.assertUsage(base + ["--confidence-output", self.path("c.tif"), "--probability-output",
                                 self.path("c.tif")], "c.tif")
        with open(dem, "rb") as fp:
            self.assertEqual(fp.read(), before)
        self.assertEqual(os.listdir(self.tmp), ["dem.tif"])

    def test_a_name_given_twice_names_both_roles(self):
        dem = self.dem("dem.tif", ridge_dem(False))
        out = self.path("out.tif")
        base = ["inundation", "--dem", dem, "-o", out, "--sea-level", "1", "--dem-rmse", "0.2"]
        self.assertUsage(base + ["--confidence-output", out],
                         "as the depth raster and as the confidence classes")
        self.assertUsage(base + ["--probability-output", self.path("out_confidence.tif")],
                         "as the confidence classes and as the p_inundated raster")
        # --qml: the classes named out.png have the style out.qml, the depths' style
        self.assertUsage(base + ["--qml", "--confidence-output", self.path("out.png")],
                         "'%s'" % self.path("out.qml"),
                         "as the QGIS style of the depth raster and as the QGIS style of the "
                         "confidence classes")
        self.assertEqual(os.listdir(self.tmp), ["dem.tif"])

    def test_derived_names_share_one_stem_rule(self):
        """A file name that begins with its only dot has no extension (as for the QGIS style):
        `-o hd/.tif --qml` gives hd/.tif.qml, hd/.tif_confidence.tif and its style."""
        dem = self.dem("dem.tif", ridge_dem(False))
        os.mkdir(self.path("hd"))
        rc, _, err = run("inundation", "--dem", dem, "-o", self.path("hd/.tif"), "--sea-level", "1",
                         "--dem-rmse", "0.2", "--qml", "-q")
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(os.listdir(self.path("hd"))),
                         [".tif", ".tif.qml", ".tif_confidence.qml", ".tif_confidence.tif",
                          ".tif_p_inundated.tif"])

    def test_an_existing_file_stops_everything_without_overwrite(self):
        dem = self.dem("dem.tif", ridge_dem(False))
        out = self.path("out.tif")
        for existing in ("out_confidence.tif", "out_p_inundated.tif", "out_confidence.qml"):
            with self.subTest(existing=existing):
                with open(self.path(existing), "wb") as fp:
                    fp.write(b"precious")
                rc, _, err = run("inundation", "--dem", dem, "-o", out, "--sea-level", "1",
                                 "--dem-rmse", "0.2", "--qml")
                self.assertEqual(rc, 4, err)
                self.assertIn(existing, err)
                self.assertEqual(sorted(os.listdir(self.tmp)), sorted(["dem.tif", existing]))
                with open(self.path(existing), "rb") as fp:
                    self.assertEqual(fp.read(), b"precious")
                os.remove(self.path(existing))
        # with --overwrite they are replaced
        with open(self.path("out_confidence.tif"), "wb") as fp:
            fp.write(b"precious")
        rc, _, err = run("inundation", "--dem", dem, "-o", out, "--sea-level", "1", "--dem-rmse", "0.2",
                         "--overwrite")
        self.assertEqual(rc, 0, err)
        self.assertEqual(gdal.Open(self.path("out_confidence.tif")).RasterCount, 1)

    @unittest.skipIf(os.geteuid() == 0, "root writes into read-only folders")
    def test_an_unwritable_folder_for_one_file_leaves_none(self):
        dem = self.dem("dem.tif", ridge_dem(False))
        locked = self.path("locked")
        os.mkdir(locked)
        os.chmod(locked, stat.S_IRUSR | stat.S_IXUSR)
        try:
            rc, _, err = run("inundation", "--dem", dem, "-o", self.path("out.tif"), "--sea-level", "1",
                             "--dem-rmse", "0.2", "--probability-output", os.path.join(locked, "p.tif"))
            self.assertEqual(rc, 1, err)
            self.assertEqual(sorted(os.listdir(self.tmp)), ["dem.tif", "locked"])
            self.assertEqual(os.listdir(locked), [])
        finally:
            os.chmod(locked, stat.S_IRWXU)

    def test_text_summary_names_the_files_and_classes(self):
        dem = self.dem("dem.tif", ridge_dem(True))
        rc, out, err = run("inundation", "--dem", dem, "-o", self.path("f.tif"), "--sea-level", "1", *RMSE)
        self.assertEqual(rc, 0, err)
        text = out + err
        self.assertIn("f_confidence.tif", text)
        self.assertIn("f_p_inundated.tif", text)
        self.assertIn("possibly", text)


class NotDepths(CliTestCase):
    """The confidence classes and p_inundated are no depths: score, zonal and sensitivity
    refuse them as --sea (exit 2, one line naming the file) rather than reading class 2 as 2 m."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        import tempfile
        cls.folder = tempfile.mkdtemp(prefix="notdepths")
        cls.out = os.path.join(cls.folder, "m.tif")
        rc, _, err = run("inundation", "--dem", sample("dem.tif"), "--sea-level", "1,3", "--dem-rmse", "1",
                         "-o", cls.out, "-q")
        assert rc == 0, err
        cls.derived = {"confidence": os.path.join(cls.folder, "m_confidence.tif"),
                       "p_inundated": os.path.join(cls.folder, "m_p_inundated.tif")}

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.folder, ignore_errors=True)
        super().tearDownClass()

    def test_band_role_metadata(self):
        for role, path in self.derived.items():
            ds = gdal.Open(path)
            for b in range(1, ds.RasterCount + 1):
                self.assertEqual(ds.GetRasterBand(b).GetMetadataItem("CITYRISK_BAND_ROLE"), role)
        ds = gdal.Open(self.out)
        self.assertIsNone(ds.GetRasterBand(1).GetMetadataItem("CITYRISK_BAND_ROLE"))

    def assertRefused(self, args, path, what):
        rc, _, err = run(*args)
        self.assertEqual(rc, 2, err)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertIn(f"'{path}'", lines[0])
        self.assertIn(what, lines[0])
        self.assertIn("not depths", lines[0])

    def test_score_refuses_them(self):
        for role, path in self.derived.items():
            args = ["score", "--sea", path, "--sea-band", "1", "--water", sample("water_stress.tif"),
                    "--informal", sample("settlement.tif"), "--arrivals", sample("population.tif"),
                    "--grid", sample("dem.tif"), "-o", self.path(f"score-{role}.tif")]
            self.assertRefused(args, path, role)
            self.assertFalse(os.path.exists(self.path(f"score-{role}.tif")))

    def test_zonal_refuses_them(self):
        for role, path in self.derived.items():
            args = ["zonal", "--zones", sample("neighbourhoods.gpkg"), "--sea", path,
                    "-o", self.path(f"zonal-{role}.geojson")]
            self.assertRefused(args, path, role)

    def test_sensitivity_refuses_them(self):
        for role, path in self.derived.items():
            args = ["sensitivity", "--zones", sample("neighbourhoods.gpkg"), "--id-field", "nbhd_id",
                    "--sea", path, "--water", sample("water_stress.tif"),
                    "--informal", sample("settlement.tif"), "--arrivals", sample("population.tif"),
                    "--grid", sample("dem.tif"), "-o", self.path(f"sens-{role}.geojson")]
            self.assertRefused(args, path, role)

    def test_the_depths_are_accepted(self):
        args = ["zonal", "--zones", sample("neighbourhoods.gpkg"), "--sea", self.out, "-o",
                self.path("zonal-depth.geojson")]
        rc, _, err = run(*args)
        self.assertEqual(rc, 0, err)


def scipy_wet(z, level, conn):
    """Cells flooded at level, by scipy.ndimage.label (independent of test_inundation's
    breadth-first search): the default sea is the <= 0 cells joined to the edge; a land cell
    below level is wet when its component of sea-or-below cells holds sea."""
    from scipy import ndimage
    structure = np.ones((3, 3), bool) if conn == "8" else ndimage.generate_binary_structure(2, 1)
    low_labels, _ = ndimage.label(z <= 0, structure)
    edge = np.unique(np.concatenate([low_labels[0], low_labels[-1], low_labels[:, 0], low_labels[:, -1]]))
    sea = np.isin(low_labels, edge[edge > 0])
    below = ~sea & (z < level)
    labels, _ = ndimage.label(below | sea, structure)
    seaward = np.unique(labels[sea])
    return sea, below & np.isin(labels, seaward[seaward > 0])


class Tiles(CliTestCase):
    """Tiles smaller than the water's paths: the classes of a 37 x 23 DEM in tiles of 4 cells
    are those of a whole-raster flood fill (scipy), for 4- and 8-connectivity."""

    def test_small_tiles_against_scipy(self):
        try:
            import scipy  # noqa: F401
        except ImportError:
            self.skipTest("scipy is not installed")
        rng = np.random.default_rng(11)
        z = rng.choice([-1.0, 0.3, 0.9, 1.4, 2.5], size=(23, 37)).astype(np.float32)
        dem = make_dem(self.path("dem.tif"), z)
        zz = z.astype(np.float64)
        for conn in ("4", "8"):
            out = self.path(f"o{conn}.tif")
            rc, _, err = run("inundation", "--dem", dem, "-o", out, "--sea-level", "1", *RMSE,
                             "--tile-size", "4", "--connectivity", conn, "-q")
            self.assertEqual(rc, 0, err)
            sea, low = scipy_wet(zz, W - K * SIGMA, conn)
            _, high = scipy_wet(zz, W + K * SIGMA, conn)
            want = np.where(low, 2, np.where(high, 1, 0))
            want[sea] = 255
            got = read_band(self.path(f"o{conn}_confidence.tif"), 1)
            np.testing.assert_array_equal(got, want, err_msg=f"connectivity {conn}")
            self.assertTrue(((want == 1).sum() > 0) and ((want == 2).sum() > 0))

    def test_overviews_of_the_classes_are_classes(self):
        rng = np.random.default_rng(5)
        z = np.kron(rng.choice([-1.0, 0.3, 0.9, 2.5], size=(40, 40)), np.ones((20, 20))).astype(np.float32)
        z[:, :20] = -1.0  # the sea on the west edge
        dem = make_dem(self.path("big.tif"), z)
        out = self.path("big_o.tif")
        rc, _, err = run("inundation", "--dem", dem, "-o", out, "--sea-level", "1", *RMSE, "-q")
        self.assertEqual(rc, 0, err)
        ds = gdal.Open(self.path("big_o_confidence.tif"))  # held: the band dies with it
        band = ds.GetRasterBand(1)
        self.assertGreater(band.GetOverviewCount(), 0)
        for i in range(band.GetOverviewCount()):
            values = set(np.unique(band.GetOverview(i).ReadAsArray()).tolist())
            self.assertLessEqual(values, {0, 1, 2, 255}, f"overview {i}")


if __name__ == "__main__":
    unittest.main()
