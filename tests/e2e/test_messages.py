"""End-to-end: messages, text outputs and standard output (issue 16, points 14, 16, 22, 23, 25).

- Every message GDAL, PROJ or GEOS raises reaches stderr through cityrisk only, once, as
  "cityrisk CMD: ...", whichever thread raised it: GDAL's own worker threads (the COG
  writer's compression), cityrisk's pool threads, or a path outside any capture. A GDAL
  failure on a worker thread during a write fails the write (exit 1, nothing left behind).
- Titles and labels holding any bytes (control characters, invalid UTF-8, XML's special
  characters) give outputs that parse: SVG and QML as XML, GeoJSON and --json as JSON.
- Numbers in messages: values beyond Float32 are named as such, invalid geotransforms are
  called invalid, and no number has more than 10 significant digits.
- A failed write to standard output (a full device, a closed pipe) is exit 1 with a message,
  for every command that writes there.

The small inputs are made here with GDAL's Python bindings, beside tests/bad's good.tif (8 x 8
cells of 30 m in EPSG:32736), zones.geojson and points.csv.
"""
import json
import os
import re
import subprocess
import unittest
import xml.etree.ElementTree as ET

import numpy as np
from osgeo import gdal, osr

from cliutil import CITYRISK, CliTestCase

gdal.UseExceptions()

BAD = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bad"))
GOOD, ZONES, POINTS = (os.path.join(BAD, n) for n in ("good.tif", "zones.geojson", "points.csv"))
X0, Y0 = 690000.0, 7806000.0  # good.tif's top-left corner (EPSG:32736)


def cityrisk(args, **kw):
    """Runs cityrisk with args (str or bytes); returns (code, stdout, stderr) as text."""
    proc = subprocess.run([CITYRISK, *args], capture_output=True, timeout=300, **kw)
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"))


def lonlat_ring(x0, y0, x1, y1, close=True):
    ct = osr.CoordinateTransformation(srs(32736), srs(4326))
    ring = [list(ct.TransformPoint(x, y)[:2]) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
    return ring + [ring[0]] if close else ring


def srs(epsg):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s


def zones_geojson(path, features):
    """Writes a GeoJSON FeatureCollection of (properties, rings) polygons."""
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": p, "geometry": {"type": "Polygon", "coordinates": r}}
        for p, r in features]}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh)


class MessageCase(CliTestCase):
    def assertOwnLines(self, command, err, label=""):
        """Every stderr line is cityrisk's own ("cityrisk CMD: "), and none is repeated."""
        lines = [l for l in err.splitlines() if l.strip()]
        for line in lines:
            self.assertTrue(line.startswith(f"cityrisk {command}: "),
                            f"{label}: stray stderr line {line!r}\n{err}")
        repeated = sorted({l for l in lines if lines.count(l) > 1})
        self.assertEqual(repeated, [], f"{label}: repeated lines\n{err}")
        return lines

    def assertNothingLeft(self, folder, before, label=""):
        self.assertEqual(sorted(os.listdir(folder)), before, f"{label}: files left behind")


# ---------------------------------------------------------------------------------------------
# Points 14 and 22: GDAL failures and messages from any thread


class WriteFailures(MessageCase):
    def test_compression_failure_on_a_worker_thread_fails_the_write(self):
        """LERC refuses a negative MAX_Z_ERROR in the compressing thread: with --threads 2 or
        more that is one of GDAL's worker threads, whose error used to print raw while the
        command exited 0 with a tile missing (all nodata)."""
        out = self.path("depth.tif")
        for threads in ("1", "2", "4"):
            with self.subTest(threads=threads):
                rc, _, err = cityrisk(["inundation", "--dem", GOOD, "--sea-level", "1",
                                       "--connectivity", "none", "-co", "COMPRESS=LERC",
                                       "-co", "MAX_Z_ERROR=-1", "--threads", threads, "-o", out])
                self.assertEqual(rc, 1, err)
                lines = self.assertOwnLines("inundation", err, f"--threads {threads}")
                self.assertRegex(lines[-1], r"^cityrisk inundation: cannot write '.*depth\.tif': "
                                            r".*lerc_encode\(\) failed")
                self.assertNothingLeft(self.tmp, [], f"--threads {threads}")

    def test_codecs_for_8_bit_images_are_refused_up_front(self):
        """WEBP and JPEG compress 8-bit images only: refused before any work, on one line
        (WEBP used to print 13 lines of GDAL's errors)."""
        for codec in ("WEBP", "JPEG", "webp"):
            for args in (["inundation", "--dem", GOOD, "--sea-level", "1"],
                         ["score", "--sea", GOOD, "--water", GOOD, "--informal", GOOD,
                          "--arrivals", GOOD]):
                with self.subTest(codec=codec, command=args[0]):
                    rc, _, err = cityrisk([*args, "-co", f"COMPRESS={codec}", "--threads", "2",
                                           "-o", self.path("out.tif")])
                    self.assertEqual(rc, 2, err)
                    lines = self.assertOwnLines(args[0], err, codec)
                    self.assertEqual(len(lines), 1, err)
                    self.assertIn(f"COMPRESS={codec}", lines[0])
                    self.assertIn("Float32", lines[0])
                    self.assertNothingLeft(self.tmp, [], codec)


class GdalMessages(MessageCase):
    def test_no_message_names_the_write_watch(self):
        """Issue 18: GDAL writes through cityrisk's watch of failed writes ("/vsicrwatch/"),
        and what it says of those files (--debug lines, failures) names them without it."""
        runs = [["inundation", "--dem", GOOD, "--sea-level", "1", "-o", self.path("d.tif")],
                ["zonal", "--zones", ZONES, "-r", f"x={GOOD}", "-o", self.path("z.shp")],
                ["zonal", "--zones", ZONES, "-r", f"x={GOOD}", "-o", self.path("z.xlsx")]]
        for args in runs:
            with self.subTest(command=args[0], out=args[-1]):
                rc, _, err = cityrisk([*args, "--debug", "--config", "CPL_DEBUG", "ON"])
                self.assertEqual(rc, 0, err)
                self.assertIn("GDALClose(", err)
                self.assertNotIn("/vsicrwatch", err)

    def test_unclosed_ring(self):
        """OGR's "Non closed ring detected" warning, raised where zonal and map read the zones
        (and again where zonal writes them), is printed once, prefixed."""
        path = self.path("unclosed.geojson")
        zones_geojson(path, [({"name": "open"}, [lonlat_ring(X0 + 15, Y0 - 225, X0 + 225, Y0 - 15,
                                                                close=False)])])
        for args in (["zonal", "--zones", path, "-r", f"x={GOOD}", "-o", self.path("z.geojson")],
                     ["map", "--raster", GOOD, "--zones", path, "-o", self.path("m.png")]):
            with self.subTest(command=args[0]):
                rc, _, err = cityrisk(args)
                self.assertIn(rc, (0, 3), err)
                lines = self.assertOwnLines(args[0], err, args[0])
                self.assertTrue(any("Non closed ring" in l for l in lines), err)

    def test_point_outside_the_projection_domain(self):
        """A raster in an orthographic projection placed off the visible hemisphere: the map's
        north arrow cannot be computed there. PROJ's "Point outside of projection domain" used
        to print raw with exit 0; now a warning says what it means."""
        path = self.path("off_disc.tif")
        ortho = osr.SpatialReference()
        ortho.ImportFromProj4("+proj=ortho +lat_0=-19.83 +lon_0=34.81 +datum=WGS84")
        ds = gdal.GetDriverByName("GTiff").Create(path, 10, 10, 1, gdal.GDT_Float32)
        ds.SetGeoTransform((7.0e6, 10000, 0, 7.1e6, 0, -10000))
        ds.SetSpatialRef(ortho)
        ds.GetRasterBand(1).Fill(1)
        ds = None
        rc, _, err = cityrisk(["map", "--raster", path, "-o", self.path("m.png")])
        self.assertEqual(rc, 0, err)
        lines = self.assertOwnLines("map", err)
        self.assertTrue(any("north" in l and "warning:" in l for l in lines), err)

    def test_too_many_points_in_a_segment(self):
        """A zone spanning most of the globe over a grid of millimetre cells: densifying its
        edges to the cell size is more than GDAL will do ("Too many points in a segment")."""
        tiny = self.path("tiny.tif")
        ds = gdal.GetDriverByName("GTiff").Create(tiny, 10, 10, 1, gdal.GDT_Float32)
        ds.SetGeoTransform((X0, 0.0001, 0, Y0, 0, -0.0001))
        ds.SetSpatialRef(srs(32736))
        ds.GetRasterBand(1).Fill(1)
        ds = None
        path = self.path("world.geojson")
        zones_geojson(path, [({"name": "big"}, [[[-170, -80], [170, -80], [170, 80], [-170, 80],
                                                  [-170, -80]]])])
        rc, _, err = cityrisk(["zonal", "--zones", path, "-r", f"x={tiny}", "-o",
                               self.path("z.geojson")])
        self.assertIn(rc, (0, 3), err)
        self.assertOwnLines("zonal", err)

    def test_a_warning_read_by_every_thread_is_printed_once(self):
        """A GeoTIFF whose last tag is cut off: libtiff warns each time the file is opened or a
        directory re-read (the main thread, each worker's dataset). Used to print five times,
        two of them raw ("Warning 1: ...")."""
        path = self.path("cut_tag.tif")
        src = gdal.Open(GOOD)
        ds = gdal.GetDriverByName("GTiff").Create(path, 8, 8, 1, gdal.GDT_Float32)
        ds.SetGeoTransform(src.GetGeoTransform())
        ds.SetProjection(src.GetProjection())
        ds.GetRasterBand(1).WriteArray(src.GetRasterBand(1).ReadAsArray())
        ds.FlushCache()
        ds.SetMetadataItem("NOTE", "x" * 5000)  # the directory is rewritten at the end
        ds = None
        with open(path, "rb+") as fh:
            fh.truncate(os.path.getsize(path) - 100)
        for threads in ("1", "2"):
            with self.subTest(threads=threads):
                rc, _, err = cityrisk(["score", "--sea", path, "--water", path, "--informal",
                                       path, "--arrivals", path, "--grid", GOOD, "--threads",
                                       threads, "--overwrite", "-o", self.path("s.tif")])
                self.assertEqual(rc, 0, err)
                lines = self.assertOwnLines("score", err)
                self.assertEqual(len([l for l in lines if "GDALMetadata" in l]), 1, err)

    def test_debug_messages_are_prefixed(self):
        rc, _, err = cityrisk(["inundation", "--dem", GOOD, "--sea-level", "1", "--connectivity",
                               "none", "--threads", "2", "--debug", "-o", self.path("d.tif")])
        self.assertEqual(rc, 0, err)
        lines = [l for l in err.splitlines() if l.strip()]
        stray = [l for l in lines if not l.startswith("cityrisk inundation: ")]
        self.assertEqual(stray, [], err)


# ---------------------------------------------------------------------------------------------
# Point 16: any bytes in titles and labels


EVERY_CONTROL = "".join(chr(c) for c in [*range(1, 0x20), 0x7f])
SPECIAL = "<&\"'>"
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


class TextOutputs(MessageCase):
    def setUp(self):
        super().setUp()
        # Labels: every control character (as JSON escapes, so NUL too: OGR ends the string
        # there), XML's special characters, and (written as raw bytes below) invalid UTF-8.
        self.zones = self.path("labels.geojson")
        zones_geojson(self.zones, [
            ({"zone_id": 1, "name": "West" + EVERY_CONTROL + SPECIAL + "BADBYTES\u0000after NUL"},
             [lonlat_ring(X0, Y0 - 240, X0 + 120, Y0)]),
            ({"zone_id": 2, "name": "East" + SPECIAL + "\u00e9\u4e2d" + "\u00e9" * 200},
             [lonlat_ring(X0 + 120, Y0 - 240, X0 + 240, Y0)]),
        ])
        with open(self.zones, "rb") as fh:
            data = fh.read()
        with open(self.zones, "wb") as fh:
            fh.write(data.replace(b"BADBYTES", b"\xff\xfe\xc3(\xed\xa0\x80\xef\xbf\xbe"))
        self.title = (b"Title" + bytes(range(1, 0x20)) + b"\x7f" + SPECIAL.encode() +
                      b"\xff\xc3(\xe2\x82" + "\u00e9".encode())

    def assertCleanXml(self, path, label):
        with open(path, "rb") as fh:
            data = fh.read()
        root = ET.fromstring(data)  # raises on invalid XML
        text = data.decode("utf-8")  # raises on invalid UTF-8
        self.assertIsNone(XML_INVALID.search(text), f"{label}: characters XML 1.0 forbids")
        return root

    def test_map_svg_parses_as_xml(self):
        out = self.path("map.svg")
        rc, _, err = cityrisk(["map", "--raster", GOOD, "--zones", self.zones, "--labels", "name",
                               "--field", "zone_id", "--top", "2", "--title", self.title,
                               "-o", out])
        self.assertEqual(rc, 0, err)
        self.assertOwnLines("map", err)
        root = self.assertCleanXml(out, "svg")
        ns = {"svg": "http://www.w3.org/2000/svg"}
        title = root.find("svg:title", ns).text
        desc = root.find("svg:desc", ns).text
        self.assertTrue(title.startswith("Title"), title)
        self.assertIn(SPECIAL, title)
        self.assertIn("\u00e9", title)
        self.assertIn("West", desc)
        self.assertIn("East" + SPECIAL + "\u00e9\u4e2d", desc)

    def test_map_png_and_pdf_take_any_bytes(self):
        for fmt in ("png", "pdf"):
            with self.subTest(format=fmt):
                rc, _, err = cityrisk(["map", "--raster", GOOD, "--zones", self.zones, "--labels",
                                       "name", "--field", "zone_id", "--top", "2", "--title",
                                       self.title, "-o", self.path(f"map.{fmt}")])
                self.assertEqual(rc, 0, err)
                self.assertOwnLines("map", err)

    def test_zonal_geojson_and_json_summary_parse(self):
        out = self.path("zones.geojson")
        rc, stdout, err = cityrisk(["zonal", "--zones", self.zones, "-r", f"x={GOOD}", "--json",
                                    "-o", out])
        self.assertEqual(rc, 0, err)
        json.loads(stdout)
        with open(out, "rb") as fh:
            doc = json.loads(fh.read().decode("utf-8"))  # strict: UTF-8, then JSON
        names = [f["properties"]["name"] for f in doc["features"]]
        self.assertTrue(names[0].startswith("West"), names)
        self.assertIn(SPECIAL, names[0])
        self.assertTrue(names[1].startswith("East" + SPECIAL + "\u00e9\u4e2d"), names)

    def test_qml_class_names_parse_as_xml(self):
        """Class names come from the exposure's class band (CLASS_NAMES), which any tool may
        have written: zonal's QGIS style labels its ranges with them and still parses."""
        exposure = self.path("exposure.tif")
        rc, _, err = cityrisk(["score", "--sea", GOOD, "--water", GOOD, "--informal", GOOD,
                               "--arrivals", GOOD, "-o", exposure])
        self.assertEqual(rc, 0, err)
        ds = gdal.Open(exposure, gdal.GA_Update)
        for b in range(1, ds.RasterCount + 1):
            band = ds.GetRasterBand(b)
            if band.GetDescription() == "class":
                names = json.loads(band.GetMetadataItem("CLASS_NAMES"))
                names[0] = "Low" + EVERY_CONTROL + SPECIAL + "\u0000after NUL"
                band.SetMetadataItem("CLASS_NAMES", json.dumps(names))
        ds = None
        out = self.path("zones.geojson")
        rc, _, err = cityrisk(["zonal", "--zones", self.zones, "--exposure", exposure, "--qml",
                               "-o", out])
        self.assertEqual(rc, 0, err)
        root = self.assertCleanXml(self.path("zones.qml"), "zonal qml")
        labels = [r.get("label") for r in root.iter("range")]
        self.assertTrue(labels and labels[0].startswith("Low"), labels)
        self.assertIn(SPECIAL, labels[0])


# ---------------------------------------------------------------------------------------------
# Point 23: numbers in messages


TOO_MANY_DIGITS = re.compile(r"(?<![\w.])\d[\d.]*(?:e[+-]?\d+)?")


def significant_digits(number):
    mantissa = number.lower().split("e")[0].replace(".", "").lstrip("0")
    return len(mantissa.rstrip("0")) if "." not in number.split("e")[0] else len(mantissa)


class Numbers(MessageCase):
    def assertShortNumbers(self, text):
        for number in TOO_MANY_DIGITS.findall(text):
            self.assertLessEqual(significant_digits(number), 10, f"{number!r} in {text!r}")

    def raster(self, name, values, dtype=gdal.GDT_Float64, gt=None):
        path = self.path(name)
        ds = gdal.GetDriverByName("GTiff").Create(path, 8, 8, 1, dtype)
        ds.SetGeoTransform(gt or (X0, 30, 0, Y0, 0, -30))
        ds.SetSpatialRef(srs(32736))
        ds.GetRasterBand(1).WriteArray(values)
        ds = None
        return path

    def test_float64_values_beyond_float32(self):
        values = np.full((8, 8), 0.5)
        values[4, 5] = 1e39
        path = self.raster("big.tif", values)
        for args in (["score", "--sea", GOOD, "--water", path, "--informal", GOOD,
                      "--arrivals", GOOD, "-o", self.path("s.tif")],
                     ["zonal", "--zones", ZONES, "--water", GOOD, "-r", f"v={path}",
                      "-o", self.path("z.geojson")],
                     ["inundation", "--dem", GOOD, "--sea", path, "--sea-level", "1",
                      "-o", self.path("d.tif")],
                     ["map", "--raster", path, "-o", self.path("m.png")]):
            with self.subTest(command=args[0]):
                rc, _, err = cityrisk(args)
                self.assertEqual(rc, 3, err)
                line = self.assertOwnLines(args[0], err)[-1]
                self.assertIn("1e+39", line)
                self.assertIn("Float32", line)
                self.assertNotIn("inf", line)
                self.assertShortNumbers(line)

    def test_invalid_geotransform(self):
        """NaN, infinite or absurd (1e300) geotransforms: "invalid geotransform", never
        "does not overlap ... nan .. nan" nor an exit 0."""
        base = gdal.Open(GOOD).GetGeoTransform()
        for label, gt in (("nan origin", (float("nan"), *base[1:])),
                          ("1e300 origin", (1e300, *base[1:])),
                          ("1e300 cells", (base[0], 1e300, 0, base[3], 0, -1e300)),
                          ("infinite cell", (base[0], float("inf"), 0, base[3], 0, -30))):
            vrt = self.path("gt.vrt")
            gdal.Translate(vrt, GOOD, format="VRT")
            with open(vrt) as fh:
                text = fh.read()
            text = re.sub(r"<GeoTransform>.*</GeoTransform>",
                          "<GeoTransform>" + ", ".join(repr(v) for v in gt) + "</GeoTransform>",
                          text)
            with open(vrt, "w") as fh:
                fh.write(text)
            for args in (["inundation", "--dem", vrt, "--sea-level", "1", "-o", self.path("d.tif")],
                         ["inundation", "--dem", GOOD, "--sea", vrt, "--sea-level", "1",
                          "-o", self.path("d.tif")],
                         ["score", "--sea", GOOD, "--water", vrt, "--informal", GOOD,
                          "--arrivals", GOOD, "--grid", GOOD, "-o", self.path("s.tif")],
                         ["score", "--sea", GOOD, "--water", GOOD, "--informal", GOOD,
                          "--arrivals", GOOD, "--grid", vrt, "-o", self.path("s.tif")],
                         ["zonal", "--zones", ZONES, "-r", f"x={vrt}", "-o", self.path("z.geojson")],
                         ["map", "--raster", vrt, "-o", self.path("m.png")],
                         ["arrivals", "--points", POINTS, "--grid", vrt, "-o", self.path("a.tif")]):
                with self.subTest(gt=label, command=args[0], role=args[3]):
                    rc, _, err = cityrisk(args)
                    self.assertEqual(rc, 3, err)
                    line = self.assertOwnLines(args[0], err)[-1]
                    self.assertIn("invalid geotransform", line)
                    self.assertNotIn("overlap", line)
                    self.assertShortNumbers(line)
                    self.assertNothingLeft(self.tmp, ["gt.vrt"], label)

    def test_huge_grid_sizes(self):
        """A polar stereographic grid over records up to the North Pole is astronomically tall:
        its size is said in at most 10 significant digits (a grid from the records' extent
        above 10^8 cells is invalid data, exit 3, naming the records: issue 18, point 10)."""
        path = self.path("pole.csv")
        with open(POINTS) as fh:
            head = fh.read().splitlines()[:3]
        with open(path, "w") as fh:
            fh.write("\n".join(head + ["2024-01-03,pole,90,0,5"]) + "\n")
        rc, _, err = cityrisk(["arrivals", "--points", path, "--count-field", "arrivals", "--crs",
                               "EPSG:3031", "--resolution", "1000", "-o", self.path("a.tif")])
        self.assertEqual(rc, 3, err)
        self.assertShortNumbers(self.assertOwnLines("arrivals", err)[-1])


# ---------------------------------------------------------------------------------------------
# Point 25: standard output that cannot be written


class StandardOutput(MessageCase):
    COMMANDS = [
        ("cityrisk", ["help"]), ("cityrisk", ["--help"]), ("cityrisk", ["-h"]),
        ("cityrisk", ["--version"]), ("info", ["help", "info"]), ("info", ["info", "--help"]),
        ("map", ["map", "-h"]), ("run", ["run", "--help"]),
        ("info", ["info", GOOD, ZONES, POINTS]), ("info", ["info", "--json", GOOD]),
        ("inundation", ["inundation", "--list-scenarios"]),
        ("inundation", ["inundation", "--list-scenarios", "--json"]),
        ("zonal", ["zonal", "--zones", ZONES, "-r", f"x={GOOD}", "-o", "-"]),
    ]

    def check(self, how, stdout, reason):
        for name, args in self.COMMANDS:
            with self.subTest(how=how, args=args):
                proc = subprocess.run([CITYRISK, *args], stdout=stdout, stderr=subprocess.PIPE,
                                      text=True, timeout=300)
                self.assertEqual(proc.returncode, 1, f"{args}: {proc.stderr}")
                prefix = "cityrisk: " if name == "cityrisk" else f"cityrisk {name}: "
                lines = [l for l in proc.stderr.splitlines() if l.strip()]
                self.assertTrue(lines, f"{args}: no message")
                self.assertEqual(lines[-1], f"{prefix}cannot write to standard output: {reason}")

    def test_full_device(self):
        with open("/dev/full", "w") as full:
            self.check("/dev/full", full, "No space left on device")

    def test_closed_pipe(self):
        """As `cityrisk help | true` when true has gone: no death by SIGPIPE (141)."""
        r, w = os.pipe()
        os.close(r)
        try:
            self.check("closed pipe", w, "Broken pipe")
        finally:
            os.close(w)

    def test_json_summary_to_a_closed_pipe(self):
        r, w = os.pipe()
        os.close(r)
        try:
            proc = subprocess.run([CITYRISK, "inundation", "--dem", GOOD, "--sea-level", "1",
                                   "--json", "-o", self.path("d.tif")], stdout=w,
                                  stderr=subprocess.PIPE, text=True, timeout=300)
        finally:
            os.close(w)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertTrue(proc.stderr.rstrip().endswith(
            "cityrisk inundation: cannot write to standard output: Broken pipe"), proc.stderr)


if __name__ == "__main__":
    unittest.main()
