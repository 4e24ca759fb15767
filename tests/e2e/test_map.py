"""End-to-end: `cityrisk map`, on the sample city.

The sample city is run through `cityrisk inundation`, `arrivals`, `score` and `zonal` once
(MapCity.setUpClass, as test_zonal.py does), then mapped. Checked: the PNG has the requested width
and a height that follows the raster's aspect, and is not blank (several colours in the data
frame, the YlOrRd class colours among them); PDF and SVG come from the same drawing and start as
they should; the labels of the --top N zones (by score_rank, or by --field) are in the SVG's
<desc> (Cairo draws text as glyph outlines, so the names are written there as text too); zones
in another CRS (the Web Mercator GeoPackage) are reprojected; other bands are mapped on a
continuous ramp; errors give the documented exit codes and leave no file behind.
"""
import json
import os
import re
import shutil
import struct
import tempfile
import unittest
import xml.etree.ElementTree as ET

import numpy as np
from osgeo import gdal, osr

from cliutil import CliTestCase, run, run_steps, sample, sample_city_steps

gdal.UseExceptions()

SCENARIOS = ["ssp245-2050", "ssp585-2100-p83"]
# ColorBrewer YlOrRd 5, the class colours cityrisk score records in CLASS_COLORS.
YLORRD = [(0xff, 0xff, 0xb2), (0xfe, 0xcc, 0x5c), (0xfd, 0x8d, 0x3c), (0xf0, 0x3b, 0x20),
          (0xbd, 0x00, 0x26)]


def png_size(path):
    """(width, height) from the PNG's IHDR chunk."""
    with open(path, "rb") as fh:
        head = fh.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise AssertionError(f"{path} is not a PNG")
    return struct.unpack(">II", head[16:24])


def read_rgba(path):
    """The PNG as an array (rows, columns, 4) through GDAL's PNG driver."""
    ds = gdal.Open(path)
    return np.moveaxis(ds.ReadAsArray(), 0, -1)


class MapCity(CliTestCase):
    @classmethod
    def setUpClass(cls):
        cls._city = tempfile.TemporaryDirectory(prefix="cityrisk-e2e-map-city-")
        d = cls._city.name
        steps, cls.depth, cls.arrivals, cls.exposure = sample_city_steps(d, SCENARIOS, SCENARIOS[1])
        cls.geojson = os.path.join(d, "neighbourhoods.geojson")
        steps.append(["zonal", "--zones", sample("neighbourhoods.gpkg"), "--exposure", cls.exposure,
                      "--arrivals", cls.arrivals, "-o", cls.geojson])
        run_steps(steps, "-q")
        with open(cls.geojson, encoding="utf-8") as fh:
            cls.zones = [f["properties"] for f in json.load(fh)["features"]]
        # The default map, shared by the tests that only look at it.
        cls.png = os.path.join(d, "map.png")
        rc, out, err = run("map", "--raster", cls.exposure, "--zones", cls.geojson, "--labels",
                           "name", "--top", "5", "--width", "1000", "--json", "-o", cls.png)
        if rc != 0:
            raise RuntimeError(f"map: exit {rc}: {err}")
        cls.summary = json.loads(out)

    @classmethod
    def tearDownClass(cls):
        cls._city.cleanup()

    def map(self, *args, name="map.png"):
        """Runs cityrisk map with the city's exposure and args; returns (path, summary)."""
        out = self.path(name)
        rc, stdout, err = run("map", "--raster", self.exposure, *args, "--json", "-o", out)
        self.assertEqual(rc, 0, err)
        return out, json.loads(stdout)

    def top_names(self, field, n, reverse=True):
        zones = [z for z in self.zones if z.get(field) is not None]
        zones.sort(key=lambda z: z[field], reverse=reverse)
        return [z["name"] for z in zones[:n]]

    def svg_desc(self, path):
        root = ET.parse(path).getroot()
        ns = "{http://www.w3.org/2000/svg}"
        return root.find(ns + "title").text, root.find(ns + "desc").text

    # ---- the PNG

    def test_png_has_the_requested_width_and_the_raster_aspect(self):
        w, h = png_size(self.png)
        self.assertEqual(w, 1000)
        self.assertEqual((w, h), (self.summary["width"], self.summary["height"]))
        # The sample grid is square: a square frame plus the title and footer bands.
        self.assertTrue(0.7 * w < h < 1.2 * w, (w, h))
        self.assertEqual(self.summary["format"], "png")
        self.assertEqual(self.summary["band_name"], "score")
        self.assertEqual(self.summary["mode"], "classes")
        self.assertEqual(self.summary["classes"], 5)
        self.assertEqual(self.summary["zones"], 60)
        self.assertEqual(self.summary["labels"], 5)
        self.assertEqual(self.summary["scenario"], SCENARIOS[1])

    def test_png_is_not_blank(self):
        rgba = read_rgba(self.png)
        h, w, _ = rgba.shape
        # The data frame: left of the legend panel, below the title, above the footer.
        frame = rgba[int(0.15 * h):int(0.85 * h), int(0.05 * w):int(0.65 * w), :3]
        colours = {tuple(c) for c in frame.reshape(-1, 3)}
        self.assertGreater(len(colours), 3)
        # The low classes of the sample city are drawn in their YlOrRd colours.
        self.assertIn(YLORRD[0], colours)
        self.assertIn(YLORRD[1], colours)
        if rgba.shape[2] == 4:
            self.assertTrue((rgba[..., 3] == 255).all(), "the page is opaque")

    def test_default_width_is_1600(self):
        out, s = self.map()
        self.assertEqual(png_size(out)[0], 1600)
        self.assertEqual(s["width"], 1600)

    # ---- PDF and SVG

    def test_pdf_and_svg_from_the_same_drawing(self):
        pdf, s = self.map("--zones", self.geojson, "-of", "pdf", name="map.pdf")
        self.assertEqual(s["format"], "pdf")
        with open(pdf, "rb") as fh:
            self.assertTrue(fh.read(5) == b"%PDF-")
        svg, s = self.map("--zones", self.geojson, "-of", "SVG", name="map.svg")
        self.assertEqual(s["format"], "svg")
        with open(svg, "rb") as fh:
            head = fh.read(200)
        self.assertTrue(head.startswith(b"<?xml") or head.startswith(b"<svg"), head)
        root = ET.parse(svg).getroot()
        self.assertEqual(root.tag, "{http://www.w3.org/2000/svg}svg")
        self.assertEqual(root.get("viewBox").split()[2], "1600")

    def test_format_follows_the_extension(self):
        out, s = self.map(name="figure.svg")
        self.assertEqual(s["format"], "svg")
        out, s = self.map(name="figure.PDF")
        self.assertEqual(s["format"], "pdf")

    def test_top_labels_are_the_highest_ranked_zones(self):
        svg, s = self.map("--zones", self.geojson, "--labels", "name", "--top", "4", name="m.svg")
        self.assertEqual(s["labels"], 4)
        title, desc = self.svg_desc(svg)
        self.assertEqual(title, "Exposure")
        expected = self.top_names("score_rank", 4, reverse=False)
        for i, name in enumerate(expected, 1):
            self.assertIn(f"{i} {name}", desc)
        for name in self.top_names("score_rank", 8, reverse=False)[4:]:
            self.assertNotIn(name, desc)
        self.assertIn("exposure.tif", desc)
        self.assertIn(f"scenario {SCENARIOS[1]}", desc)
        self.assertRegex(desc, r"\d{4}-\d{2}-\d{2} UTC")

    def test_field_chooses_the_ranking(self):
        svg, s = self.map("--zones", self.geojson, "--field", "arrivals_total", "--top", "3",
                          "--title", "Arrivals & risk", name="m.svg")
        title, desc = self.svg_desc(svg)
        self.assertEqual(title, "Arrivals & risk")
        for name in self.top_names("arrivals_total", 3):
            self.assertIn(name, desc)
        self.assertIn("Top 3 by arrivals_total", desc)

    def test_zones_in_another_crs_are_reprojected(self):
        # The GeoPackage is in Web Mercator, the raster in UTM 36S; it has no score fields,
        # so nothing is labelled unless --field says how to rank.
        out, s = self.map("--zones", sample("neighbourhoods.gpkg"))
        self.assertEqual((s["zones"], s["labels"]), (60, 0))
        out, s = self.map("--zones", sample("neighbourhoods.gpkg"), "--field", "pop_2020",
                          "--top", "2", name="pop.png")
        self.assertEqual(s["labels"], 2)

    def test_other_bands_on_a_continuous_ramp(self):
        out, s = self.map("--band", "sea")
        self.assertEqual((s["band"], s["mode"], s["classes"]), (3, "continuous", 0))
        out, s = self.map("--band", "2", name="class.png")
        self.assertEqual((s["band_name"], s["mode"], s["classes"]), ("class", "class", 5))
        out = self.path("depth.png")
        rc, stdout, err = run("map", "--raster", self.depth, "--band", SCENARIOS[0], "--json",
                              "-o", out)
        self.assertEqual(rc, 0, err)
        s = json.loads(stdout)
        self.assertEqual((s["band"], s["mode"], s["scenario"]), (1, "continuous", SCENARIOS[0]))

    def test_overwrite(self):
        out, _ = self.map()
        rc, _, err = run("map", "--raster", self.exposure, "--width", "500", "--overwrite",
                         "-o", out, "-q")
        self.assertEqual(rc, 0, err)
        self.assertEqual(png_size(out)[0], 500)

    # ---- errors: exit codes, and nothing left behind

    def assertNothingLeft(self, *keep):
        self.assertEqual(sorted(os.listdir(self.tmp)), sorted(keep))

    def test_missing_raster_is_exit_1(self):
        self.assertFails(["map", "--raster", self.path("none.tif"), "-o", self.path("m.png")], 1,
                         "none.tif")
        self.assertNothingLeft()

    def test_unknown_band_is_exit_3(self):
        self.assertFails(["map", "--raster", self.exposure, "--band", "depth", "-o",
                          self.path("m.png")], 3, "no band described 'depth'", "score")
        self.assertFails(["map", "--raster", self.exposure, "--band", "9", "-o",
                          self.path("m.png")], 3, "no band 9")
        self.assertNothingLeft()

    def test_unknown_field_is_exit_2(self):
        self.assertFails(["map", "--raster", self.exposure, "--zones", self.geojson, "--field",
                          "risk", "-o", self.path("m.png")], 2, "--field", "no field 'risk'")
        self.assertFails(["map", "--raster", self.exposure, "--zones", self.geojson, "--labels",
                          "ward", "-o", self.path("m.png")], 2, "--labels", "no field 'ward'")
        self.assertNothingLeft()

    def test_raster_without_crs_is_exit_3(self):
        bare = self.path("bare.tif")
        ds = gdal.GetDriverByName("GTiff").Create(bare, 4, 4, 1, gdal.GDT_Float32)
        ds.SetGeoTransform((0, 1, 0, 4, 0, -1))
        ds = None
        self.assertFails(["map", "--raster", bare, "-o", self.path("m.png")], 3, "no CRS")
        self.assertNothingLeft("bare.tif")

    def test_existing_output_is_exit_4_and_untouched(self):
        out = self.path("m.png")
        with open(out, "w") as fh:
            fh.write("keep")
        self.assertFails(["map", "--raster", self.exposure, "-o", out], 4, "exists", "--overwrite")
        with open(out) as fh:
            self.assertEqual(fh.read(), "keep")
        self.assertNothingLeft("m.png")

    def assertUsage(self, args, needle):
        """Exit 2 with needle in the message (usage errors add a line pointing to --help)."""
        rc, _, err = run(*args)
        self.assertEqual(rc, 2, err)
        self.assertIn(needle, err)

    def test_usage_errors_are_exit_2(self):
        m = self.path("m.png")
        self.assertUsage(["map", "--raster", self.exposure, "-of", "gif", "-o", m], "'gif'")
        self.assertUsage(["map", "--raster", self.exposure, "--width", "10", "-o", m], "--width")
        self.assertUsage(["map", "--raster", self.exposure, "--top", "-1", "-o", m], "--top")
        self.assertUsage(["map", "--raster", self.exposure], "-o")
        self.assertUsage(["map", "--raster", self.exposure, "-o", self.exposure, "--overwrite"],
                         "is the input")
        self.assertNothingLeft()

    def test_help_has_an_example(self):
        rc, out, _ = run("map", "--help")
        self.assertEqual(rc, 0)
        self.assertIn("cityrisk map --raster", out)
        self.assertIn("--top", out)


if __name__ == "__main__":
    unittest.main()
