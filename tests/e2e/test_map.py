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
from osgeo import gdal, ogr, osr

from cliutil import CliTestCase, run, run_steps, sample, sample_city_steps
from test_zonal import coastal_fixture, coverage_fixture, polygon_wkt, write_grid_raster, write_zones

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


# ---------------------------------------------------------------------------------------------
# Issue 18: zones with too little data, labels from zonal's name field, inundation colours


def frame_pixel(width, u, v):
    """The PNG pixel (column, row) at the fractions u (from the west) and v (from the north) of
    a square raster's extent, on a map of `width` px: map_draw.c's layout (margin 32, panel
    340, gap 28, title band 96, each times width / 1600)."""
    s = width / 1600.0
    frame_w = width - 2 * 32 * s - 340 * s - 28 * s
    return int(32 * s + u * frame_w), int(32 * s + 96 * s + v * frame_w)


def dark(rgb):
    return all(c < 110 for c in rgb[:3])


SEA_RGB = (0x6d, 0x83, 0x9c)    # MAP_SEA_RGB
DRY_RGB = (0xed, 0xe4, 0xcc)    # MAP_DRY_RGB
BACKGROUND_RGB = (238, 241, 244)


class Issue18Maps(CliTestCase):
    def zones(self, *geometries, name="zones.gpkg", **kw):
        return write_zones(self.path(name), geometries, **kw)

    def zonal(self, *args):
        rc, _, err = run("zonal", *args)
        self.assertEqual(rc, 0, err)

    def map(self, *args, width=1600):
        out = self.path(f"map-{len(os.listdir(self.tmp))}.png")
        rc, stdout, err = run("map", *args, "--width", str(width), "--json", "-o", out)
        self.assertEqual(rc, 0, err)
        return out, json.loads(stdout), err

    def svg_desc(self, *args):
        out = self.path(f"map-{len(os.listdir(self.tmp))}.svg")
        rc, _, err = run("map", *args, "-o", out)
        self.assertEqual(rc, 0, err)
        ns = "{http://www.w3.org/2000/svg}"
        return ET.parse(out).getroot().find(ns + "desc").text, err

    # ---- point 7: a zone 9 % covered is hatched, in the legend, and never labelled

    def test_zone_below_min_coverage_is_hatched_not_labelled(self):
        zones, exposure = coverage_fixture(self)
        out = self.path("z.geojson")
        self.zonal("--zones", zones, "--exposure", exposure, "-o", out)
        png, summary, _ = self.map("--raster", exposure, "--zones", out, "--top", "0")
        self.assertEqual(summary["zones_insufficient"], 1)
        rgba = read_rgba(png)

        def window(u, v, r=12):
            x, y = frame_pixel(1600, u, v)
            return rgba[y - r:y + r, x - r:x + r, :3].reshape(-1, 3)

        # zone 3 (x 0-100 m of the 100 m raster, y 50-100 m down): dark hatch lines over its
        # nodata; zone 1 (rows 0-1) and the nodata of row 4's west half: none.
        self.assertGreater(sum(dark(c) for c in window(0.5, 0.8)), 20)
        self.assertEqual(sum(dark(c) for c in window(0.5, 0.1, 6)), 0)
        self.assertEqual(sum(dark(c) for c in window(0.2, 0.45, 4)), 0)
        # The legend has a hatched swatch: a row of the swatch column crossed by several lines.
        panel = rgba[:, 1232:1258, :3]
        crossings = [sum(1 for k in range(1, panel.shape[1])
                         if dark(panel[y, k]) and not dark(panel[y, k - 1]))
                     for y in range(panel.shape[0])]
        self.assertGreaterEqual(max(crossings), 2, "no hatched swatch in the legend")
        # Ranked by score_mean, zone 3 (mean 9) would come first: it is not labelled.
        desc, _ = self.svg_desc("--raster", exposure, "--zones", out, "--field", "score_mean")
        self.assertIn("1 zone 2", desc)
        self.assertNotIn("zone 3", desc)

    # ---- review: the hatching follows zonal's threshold over the zone's land

    def test_coastal_zone_with_its_land_covered_is_not_hatched(self):
        # zone 1 is two-thirds sea with all its land scored: ranked by zonal, so not hatched;
        # zone 2 (a quarter of its land scored) and zone 3 (all sea) are.
        zones, exposure, sea = coastal_fixture(self)
        for name in ("coast.geojson", "coast.shp"):
            out = self.path(name)
            self.zonal("--zones", zones, "--exposure", exposure, "--sea", sea, "-o", out)
            _, summary, _ = self.map("--raster", exposure, "--zones", out, "--top", "0")
            self.assertEqual(summary["zones_insufficient"], 2, name)
            desc, _ = self.svg_desc("--raster", exposure, "--zones", out, "--field",
                                    "score_mean")
            self.assertIn("1 zone 1", desc, name)

    # ---- point 16: labels from the name field zonal recorded

    def ward_zones(self, driver="GPKG", name="wards.gpkg"):
        path = self.path(name)
        ds = ogr.GetDriverByName(driver).CreateDataSource(path)
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(32736)
        lyr = ds.CreateLayer("wards", srs, ogr.wkbPolygon)
        lyr.CreateField(ogr.FieldDefn("ward_id", ogr.OFTString))
        lyr.CreateField(ogr.FieldDefn("ward_name", ogr.OFTString))
        for i, (x0, x1) in enumerate(((0, 50), (50, 100))):
            f = ogr.Feature(lyr.GetLayerDefn())
            f.SetField("ward_id", f"W-{i + 1}")
            f.SetField("ward_name", ["Riverside", "Hilltop"][i])
            f.SetGeometry(ogr.CreateGeometryFromWkt(polygon_wkt([(x0, 0), (x1, 0), (x1, -100),
                                                                 (x0, -100)])))
            lyr.CreateFeature(f)
        ds = None
        return path

    def test_labels_from_the_name_field_zonal_recorded(self):
        zones = self.ward_zones()
        score = np.full((10, 10), 3.0)
        score[:, 5:] = 6.0
        exposure = write_grid_raster(self.path("exposure.tif"), [score, np.ones((10, 10))], 10.0,
                                     descriptions=["score", "class"])
        for ext in ("geojson", "gpkg"):
            out = self.path(f"wards-out.{ext}")
            self.zonal("--zones", zones, "--exposure", exposure, "--name-field", "ward_name",
                       "--id-field", "ward_id", "-o", out)
            desc, _ = self.svg_desc("--raster", exposure, "--zones", out)
            self.assertIn("1 Hilltop; 2 Riverside", desc, ext)
            # --labels still chooses
            desc, _ = self.svg_desc("--raster", exposure, "--zones", out, "--labels", "ward_id")
            self.assertIn("1 W-2; 2 W-1", desc, ext)
        # Only the id field recorded: labelled by it.
        out = self.path("ids.geojson")
        self.zonal("--zones", zones, "--exposure", exposure, "--id-field", "ward_id", "-o", out)
        desc, _ = self.svg_desc("--raster", exposure, "--zones", out)
        self.assertIn("1 W-2; 2 W-1", desc)
        # Nothing recorded (a Shapefile keeps no metadata): a warning says how to label.
        out = self.path("plain.shp")
        self.zonal("--zones", zones, "--exposure", exposure, "--name-field", "ward_name", "-o", out)
        png, summary, err = self.map("--raster", exposure, "--zones", out)
        self.assertEqual(summary["labels"], 0)
        self.assertIn("no field 'name' and no name field recorded", err)
        self.assertIn("give --labels FIELD", err)

    # ---- point 16: an inundation map tells the sea, dry land and nodata apart

    def test_inundation_map_draws_sea_dry_land_and_nodata_apart(self):
        dem = np.full((40, 40), 5.0)
        dem[:, 10:20] = 0.5            # low land by the sea: flooded at 1 m
        dem[:, 0:10] = np.nan          # the sea, at the western edge
        dem[15:25, 28:35] = np.nan     # a void inland: nodata, not sea
        dem_path = write_grid_raster(self.path("dem.tif"), dem, 10.0)
        depth = self.path("inundation.tif")
        rc, _, err = run("inundation", "--dem", dem_path, "--sea-level", "1", "-o", depth)
        self.assertEqual(rc, 0, err)
        png, summary, _ = self.map("--raster", depth, "--width", "800", width=800)
        rgba = read_rgba(png)

        def at(col, row):
            x, y = frame_pixel(800, (col + 0.5) / 40, (row + 0.5) / 40)
            return tuple(int(c) for c in rgba[y, x, :3])

        self.assertEqual(at(4, 20), SEA_RGB)
        self.assertEqual(at(25, 5), DRY_RGB)
        water = at(15, 20)
        self.assertNotIn(water, (SEA_RGB, DRY_RGB, BACKGROUND_RGB))
        self.assertGreater(water[2], water[0])                   # a blue of the depth ramp
        # The void: hatched nodata, the background crossed by grey lines; no sea, no land.
        x, y = frame_pixel(800, 31.5 / 40, 20 / 40)
        void = {tuple(int(c) for c in p) for p in rgba[y - 6:y + 6, x - 6:x + 6, :3].reshape(-1, 3)}
        self.assertTrue(any(all(abs(a - b) <= 6 for a, b in zip(p, BACKGROUND_RGB)) for p in void),
                        void)
        self.assertTrue(any(max(p) < 215 for p in void), void)
        self.assertNotIn(SEA_RGB, void)
        self.assertNotIn(DRY_RGB, void)
        # The legend shows each: the sea and land swatches in the panel.
        panel = {tuple(int(c) for c in p) for p in rgba[:, 620:640, :3].reshape(-1, 3)}
        self.assertIn(SEA_RGB, panel)
        self.assertIn(DRY_RGB, panel)


class CategoryGaps(CliTestCase):
    """A value without a category name (0 here, as land-cover rasters often leave it) is no
    class, and the values after it still are: map and qml read the categories alike."""

    def test_a_value_without_a_name_is_skipped_not_the_end(self):
        path = self.path("lc.tif")
        ds = gdal.GetDriverByName("GTiff").Create(path, 10, 10, 1, gdal.GDT_Byte)
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(32736)
        ds.SetProjection(srs.ExportToWkt())
        ds.SetGeoTransform((500000, 10, 0, 8000000, 0, -10))
        values = np.ones((10, 10), np.uint8)
        values[:, 5:] = 2
        band = ds.GetRasterBand(1)
        band.WriteArray(values)
        # In the GeoTIFF itself (GDAL's category names would need a .aux.xml beside it)
        band.SetMetadataItem("CLASS_NAMES", json.dumps(["", "Water", "Forest"]))
        band.SetMetadataItem("CLASS_COLORS", json.dumps(["#000000", "#0000ff", "#008000"]))
        ds = None
        out = self.path("lc.png")
        rc, stdout, err = run("map", "--raster", path, "--json", "-o", out)
        self.assertEqual(rc, 0, err)
        s = json.loads(stdout)
        self.assertEqual((s["mode"], s["classes"]), ("class", 2))
        rgba = read_rgba(out)
        colours = {tuple(px[:3]) for px in rgba.reshape(-1, 4)}
        self.assertIn((0, 0, 255), colours)
        self.assertIn((0, 128, 0), colours)


if __name__ == "__main__":
    unittest.main()
