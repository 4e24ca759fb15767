"""End-to-end: QGIS styles (`--qml`) of `cityrisk inundation`, `arrivals`, `score` and `zonal`.

The sample city is run once (SampleCityStyles.setUpClass) with --qml on every stage. The .qml
files are checked as XML against the outputs they style (renderer, band, ramp type, items,
class breaks, names and colours from the score's class band). When QGIS's Python API is
importable (Debian python3-qgis; CI does not install it), every output is also loaded
headless with QgsRasterLayer / QgsVectorLayer, which apply the .qml beside the file by
themselves, and the renderer QGIS built is checked; otherwise those tests are skipped with
a message. See docs/qgis.md.
"""
import json
import math
import os
import shutil
import tempfile
import unittest
import xml.etree.ElementTree as ET

import numpy as np
from osgeo import gdal, ogr

from cliutil import CliTestCase, run, run_steps, sample, sample_city_steps

gdal.UseExceptions()
ogr.UseExceptions()

SCENARIOS = ["ssp245-2050", "ssp585-2100-p83"]
INFORM_BREAKS = [2.0, 3.5, 5.0, 6.5]
NICE = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8]

# ---------------------------------------------------------------------------------------------
# QGIS, when installed

_QGIS = {"app": None, "error": None}


def qgis_core():
    """qgis.core with a headless QgsApplication started once, or None (reason in _QGIS)."""
    if _QGIS["app"] is not None:
        return _QGIS["core"]
    if _QGIS["error"]:
        return None
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="cityrisk-qgis-"))  # 0700
    try:
        from qgis import core
    except Exception as e:  # ImportError, or a broken installation
        _QGIS["error"] = f"QGIS's Python API is not importable ({e}); apt-get install python3-qgis"
        return None
    app = core.QgsApplication([], False)
    app.initQgis()
    _QGIS["app"], _QGIS["core"] = app, core
    return core


def need_qgis(test):
    """Runs test with qgis.core as its second argument, or skips it saying why."""
    def wrapper(self):
        core = qgis_core()
        if core is None:
            self.skipTest(_QGIS["error"])
        return test(self, core)
    wrapper.__name__, wrapper.__doc__ = test.__name__, test.__doc__
    return wrapper


# ---------------------------------------------------------------------------------------------
# Reading styles and outputs


def qml_of(path):
    return os.path.splitext(path)[0] + ".qml"


def parse(path):
    root = ET.parse(qml_of(path)).getroot()
    assert root.tag == "qgis", root.tag
    return root


def raster_items(root):
    shader = root.find("./pipe/rasterrenderer/rastershader/colorrampshader")
    return shader, shader.findall("item")


def band_named(ds, name):
    return next(b for b in range(1, ds.RasterCount + 1) if ds.GetRasterBand(b).GetDescription() == name)


def band_values(path, band):
    ds = gdal.Open(path)
    b = ds.GetRasterBand(band)
    v = b.ReadAsArray().astype(np.float64)
    if b.GetNoDataValue() is not None:
        v[v == b.GetNoDataValue()] = np.nan
    return v


def field_values(path, field):
    ds = ogr.Open(path)  # kept open while its layer is read
    return [f.GetField(field) for f in ds.GetLayer()]


def field_names(path):
    ds = ogr.Open(path)
    return [d.GetName() for d in ds.GetLayer().schema]


def class_metadata(path):
    ds = gdal.Open(path)
    b = ds.GetRasterBand(band_named(ds, "class"))
    return {k: json.loads(b.GetMetadataItem(k)) for k in ("CLASS_BREAKS", "CLASS_NAMES", "CLASS_COLORS")}


def is_nice(x):
    e = 10 ** math.floor(math.log10(x))
    return any(abs(m * e - x) <= 1e-9 * x for m in NICE + [10])


class SampleCityStyles(CliTestCase):
    @classmethod
    def setUpClass(cls):
        cls._city = tempfile.TemporaryDirectory(prefix="cityrisk-e2e-qml-")
        d = cls.dir = cls._city.name
        steps, cls.depth, cls.arrivals, cls.exposure = sample_city_steps(
            d, SCENARIOS, SCENARIOS[1], population=False)
        cls.zones, cls.zones_arr, cls.shp = (os.path.join(d, n) for n in (
            "neighbourhoods.geojson", "arrivals_only.gpkg", "wards.shp"))
        steps += [
            ["zonal", "--zones", sample("neighbourhoods.gpkg"), "--exposure", cls.exposure, "--arrivals",
             cls.arrivals, "-o", cls.zones],
            ["zonal", "--zones", sample("neighbourhoods.gpkg"), "--arrivals", cls.arrivals, "-of", "GPKG",
             "-o", cls.zones_arr],
            ["zonal", "--zones", sample("neighbourhoods.gpkg"), "--arrivals", cls.arrivals, "-of",
             "ESRI Shapefile", "-o", cls.shp],
        ]
        outputs = run_steps(steps, "--qml", "--json", "-q")
        cls.summary = {args[-1]: json.loads(out) for args, out in zip(steps, outputs)}

    @classmethod
    def tearDownClass(cls):
        cls._city.cleanup()

    # ---- the files

    def test_every_output_has_a_parseable_style_beside_it(self):
        for out in (self.depth, self.arrivals, self.exposure, self.zones, self.zones_arr, self.shp):
            with self.subTest(out=os.path.basename(out)):
                self.assertTrue(os.path.isfile(qml_of(out)))
                self.assertEqual(self.summary[out]["qml"], qml_of(out))
                root = parse(out)
                self.assertTrue(root.get("version").startswith("3."))
        leftovers = [n for n in os.listdir(self.dir) if n.startswith(".")]
        self.assertEqual(leftovers, [], "temporary files left")

    def test_score_style_is_discrete_at_the_class_breaks_with_the_class_names_and_colours(self):
        root = parse(self.exposure)
        r = root.find("./pipe/rasterrenderer")
        self.assertEqual(r.get("type"), "singlebandpseudocolor")
        self.assertEqual(int(r.get("band")), band_named(gdal.Open(self.exposure), "score"))
        shader, items = raster_items(root)
        self.assertEqual(shader.get("colorRampType"), "DISCRETE")
        meta = class_metadata(self.exposure)
        self.assertEqual(meta["CLASS_BREAKS"], INFORM_BREAKS)
        self.assertEqual(len(items), 5)
        self.assertEqual([i.get("label") for i in items], meta["CLASS_NAMES"])
        self.assertEqual([i.get("color") for i in items], meta["CLASS_COLORS"])
        self.assertEqual(items[-1].get("value"), "inf")
        for item, b in zip(items, meta["CLASS_BREAKS"]):
            v = float(item.get("value"))
            # A Float32 score equal to the break is in the upper class (QGIS: value <= item).
            below = float(np.nextafter(np.float32(b), np.float32(-np.inf)))
            self.assertLess(v, float(np.float32(b)))
            self.assertGreater(v, below)

    def test_score_style_follows_breaks_from_data(self):
        out = self.path("quantile.tif")
        rc, _, err = run("score", "--sea", self.depth, "--scenario", SCENARIOS[1], "--water",
                         sample("water_stress.tif"), "--informal", sample("settlement.tif"), "--arrivals",
                         self.arrivals, "--grid", sample("dem.tif"), "--classes", "quantile:4",
                         "--bands", "score,class", "--qml", "-q", "-o", out)
        self.assertEqual(rc, 0, err)
        meta = class_metadata(out)
        _, items = raster_items(parse(out))
        self.assertEqual(len(items), 4)
        self.assertEqual([i.get("label") for i in items], meta["CLASS_NAMES"])
        for item, b in zip(items, meta["CLASS_BREAKS"]):
            self.assertAlmostEqual(float(item.get("value")), b, delta=1e-6 * max(1, abs(b)))

    def test_inundation_style_is_a_blue_ramp_to_the_deepest_cell_of_every_scenario(self):
        root = parse(self.depth)
        r = root.find("./pipe/rasterrenderer")
        self.assertEqual(r.get("type"), "singlebandpseudocolor")
        self.assertEqual(r.get("band"), "1")
        shader, items = raster_items(root)
        self.assertEqual(shader.get("colorRampType"), "INTERPOLATED")
        self.assertEqual(len(items), 7)
        self.assertEqual((float(items[0].get("value")), items[0].get("alpha")), (0.0, "0"))  # dry
        values = [float(i.get("value")) for i in items]
        self.assertEqual(values, sorted(values))
        deepest = max(np.nanmax(band_values(self.depth, b)) for b in (1, 2))
        self.assertGreater(deepest, 0)
        top = values[-1]
        self.assertGreaterEqual(top, deepest)
        self.assertLessEqual(top, 2 * deepest)
        self.assertTrue(is_nice(top), top)
        self.assertEqual(float(shader.get("maximumValue")), top)

    def test_arrivals_style_reaches_the_99th_percentile(self):
        shader, items = raster_items(parse(self.arrivals))
        self.assertEqual(shader.get("colorRampType"), "INTERPOLATED")
        self.assertEqual(len(items), 7)
        self.assertEqual(items[0].get("alpha"), "0")
        values = [float(i.get("value")) for i in items]
        self.assertEqual(values, sorted(values))
        a = band_values(self.arrivals, 1)
        q99 = np.quantile(a[a > 0], 0.99)
        self.assertGreaterEqual(values[-1], 0.98 * q99)
        self.assertLessEqual(values[-1], 2.1 * q99)

    def test_zonal_style_is_graduated_on_score_mean_with_the_exposure_classes(self):
        root = parse(self.zones)
        r = root.find("renderer-v2")
        self.assertEqual((r.get("type"), r.get("attr")), ("graduatedSymbol", "score_mean"))
        ranges = r.findall("./ranges/range")
        self.assertEqual(len(ranges), 5)
        breaks = self.summary[self.zones]["classes"]["breaks"]
        self.assertEqual([float(x.get("upper")) for x in ranges[:-1]], breaks)
        self.assertEqual([float(x.get("lower")) for x in ranges[1:]], breaks)
        meta = class_metadata(self.exposure)
        self.assertEqual([x.get("label") for x in ranges], meta["CLASS_NAMES"])
        symbols = {s.get("name"): s for s in r.findall("./symbols/symbol")}
        for k, x in enumerate(ranges):
            colour = symbols[x.get("symbol")].find("./layer/Option/Option[@name='color']").get("value")
            hexa = meta["CLASS_COLORS"][k]
            self.assertEqual(colour, ",".join(str(int(hexa[i:i + 2], 16)) for i in (1, 3, 5)) + ",255")
        scores = field_values(self.zones, "score_mean")
        self.assertLessEqual(float(ranges[0].get("lower")), min(scores))
        self.assertGreaterEqual(float(ranges[-1].get("upper")), max(scores))

    def test_zonal_without_exposure_is_graduated_on_arrivals_total(self):
        r = parse(self.zones_arr).find("renderer-v2")
        self.assertEqual((r.get("type"), r.get("attr")), ("graduatedSymbol", "arrivals_total"))
        ranges = r.findall("./ranges/range")
        self.assertGreaterEqual(len(ranges), 2)
        self.assertLessEqual(len(ranges), 5)
        totals = field_values(self.zones_arr, "arrivals_total")
        self.assertAlmostEqual(float(ranges[0].get("lower")), min(totals), places=6)
        self.assertAlmostEqual(float(ranges[-1].get("upper")), max(totals), places=6)
        for a, b in zip(ranges, ranges[1:]):
            self.assertEqual(a.get("upper"), b.get("lower"))

    def test_shapefile_style_names_the_shortened_field(self):
        renamed = self.summary[self.shp]["renamed_fields"]
        self.assertIn("arrivals_total", renamed)
        r = parse(self.shp).find("renderer-v2")
        self.assertEqual(r.get("attr"), renamed["arrivals_total"])
        self.assertIn(r.get("attr"), field_names(self.shp))

    # ---- the command line

    def test_shapefile_style_gives_the_full_names_as_aliases(self):
        """Issue 18: 'arrfldssp1' must not read as SSP1 in QGIS: each shortened field gets its
        full name as a QGIS alias (and wards.fields.csv lists them, test_zonal.py)."""
        renamed = self.summary[self.shp]["renamed_fields"]
        self.assertTrue(renamed)
        root = parse(self.shp)
        self.assertIn("Fields", root.get("styleCategories").split("|"))
        aliases = {a.get("field"): (a.get("name"), int(a.get("index")))
                   for a in root.findall("./aliases/alias")}
        names = field_names(self.shp)
        self.assertEqual({short: full for short, (full, _) in aliases.items()},
                         {short: full for full, short in renamed.items()})
        for short, (full, index) in aliases.items():
            self.assertEqual(names[index], short, full)
        # Fields kept whole get none.
        self.assertNotIn("area_km2", aliases)

    @need_qgis
    def test_qgis_shows_the_full_names(self, core):
        layer = core.QgsVectorLayer(self.shp, "wards", "ogr")
        self.assertTrue(layer.isValid())
        for full, short in self.summary[self.shp]["renamed_fields"].items():
            self.assertEqual(layer.attributeAlias(layer.fields().indexOf(short)), full)

    def test_an_existing_style_is_kept_without_overwrite(self):
        out = self.path("arrivals.tif")
        with open(self.path("arrivals.qml"), "w") as fh:
            fh.write("<qgis/>")
        args = ["arrivals", "--points", sample("arrivals.csv"), "--grid", sample("dem.tif"), "--qml", "-q",
                "-o", out]
        self.assertFails(args, 4, "arrivals.qml", "--overwrite")
        self.assertFalse(os.path.exists(out), "the stage ran although its style could not be written")
        with open(self.path("arrivals.qml")) as fh:
            self.assertEqual(fh.read(), "<qgis/>")
        rc, _, err = run(*args, "--overwrite")
        self.assertEqual(rc, 0, err)
        self.assertEqual(parse(out).find("./pipe/rasterrenderer").get("type"), "singlebandpseudocolor")

    def test_no_style_without_the_flag(self):
        out = self.path("arrivals.tif")
        rc, _, err = run("arrivals", "--points", sample("arrivals.csv"), "--grid", sample("dem.tif"), "-q",
                         "-o", out)
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["arrivals.tif"])

    def test_no_style_for_stdout(self):
        rc, out, err = run("zonal", "--zones", sample("neighbourhoods.gpkg"), "--arrivals", self.arrivals,
                           "--qml", "-o", "-")
        self.assertEqual(rc, 2, err)
        self.assertEqual(out, "")
        self.assertIn("--qml writes a file beside the output: not with -o -", err)

    def test_output_named_like_its_style_is_refused(self):
        self.assertFails(["arrivals", "--points", sample("arrivals.csv"), "--grid", sample("dem.tif"),
                          "--qml", "-q", "-o", self.path("a.qml")], 2, "a.qml")

    # ---- QGIS itself

    @need_qgis
    def test_qgis_applies_the_raster_styles(self, core):
        cases = [(self.exposure, 5, "score"), (self.depth, 7, None), (self.arrivals, 7, None)]
        for path, count, band in cases:
            with self.subTest(out=os.path.basename(path)):
                layer = core.QgsRasterLayer(path, "layer")
                self.assertTrue(layer.isValid(), path)
                renderer = layer.renderer()
                self.assertEqual(renderer.type(), "singlebandpseudocolor")
                expected_band = band_named(gdal.Open(path), band) if band else 1
                self.assertEqual(renderer.band(), expected_band)
                items = renderer.shader().rasterShaderFunction().colorRampItemList()
                self.assertEqual(len(items), count)

    @need_qgis
    def test_qgis_classes_a_score_equal_to_a_break_in_the_upper_class(self, core):
        layer = core.QgsRasterLayer(self.exposure, "exposure")
        fn = layer.renderer().shader().rasterShaderFunction()
        meta = class_metadata(self.exposure)
        for k, b in enumerate(meta["CLASS_BREAKS"]):
            for value, cls in ((float(np.float32(b)), k + 1),
                               (float(np.nextafter(np.float32(b), np.float32(-np.inf))), k)):
                ok, r, g, bl, _ = fn.shade(value)
                self.assertTrue(ok)
                self.assertEqual("#%02x%02x%02x" % (r, g, bl), meta["CLASS_COLORS"][cls], (b, value))
        self.assertEqual(fn.shade(10.0)[1:4], fn.shade(6.5)[1:4])

    @need_qgis
    def test_qgis_applies_the_vector_styles(self, core):
        renamed = self.summary[self.shp]["renamed_fields"]["arrivals_total"]
        cases = [(self.zones, "score_mean", 5), (self.zones_arr, "arrivals_total", None),
                 (self.shp, renamed, None)]
        for path, field, count in cases:
            with self.subTest(out=os.path.basename(path)):
                layer = core.QgsVectorLayer(path, "zones", "ogr")
                self.assertTrue(layer.isValid(), path)
                renderer = layer.renderer()
                self.assertEqual(renderer.type(), "graduatedSymbol")
                self.assertEqual(renderer.classAttribute(), field)
                expected = count or len(parse(path).findall("./renderer-v2/ranges/range"))
                self.assertEqual(len(renderer.ranges()), expected)
                # Every zone with a value gets a coloured symbol.
                ctx = core.QgsRenderContext()
                renderer.startRender(ctx, layer.fields())
                for f in layer.getFeatures():
                    if f[field] is not None:
                        self.assertIsNotNone(renderer.symbolForFeature(f, ctx), f.id())
                renderer.stopRender(ctx)


if __name__ == "__main__":
    unittest.main()
