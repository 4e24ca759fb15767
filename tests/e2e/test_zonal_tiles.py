"""End-to-end: `cityrisk zonal` split into tiles (--tile/--window --partial) and merged (--merge).

The reference is `cityrisk zonal` over the whole grid with the same inputs: the merge of the
parts must write the same zones, in the same order, with every field equal to the last bit
(docs/zonal.md "Tiles": the parts record each zone's partial accumulator per 512-cell block
and the merge adds them in the order the single run does). Both outputs are read with OGR and
compared field by field, with the layer's provenance (all but CITYRISK_COMMAND).

The fixture is a 1100 x 1100 grid of 10 m cells (3 x 3 blocks of 512: tiles 1/4 cut it at
block 1, 1/6 and 1/9 at every block) with every domain raster (an exposure with a score band,
arrivals, two sea-level scenarios, water stress, informal share), three -r rasters (one of
them on another grid: 25 m cells, shifted origin, read with resampling), nodata cells in all
of them, and zones that straddle the tiles' edges and corners, lie inside one tile, outside the
grid, across its edge, with holes and parts in several tiles, plus one without geometry.
"""
import json
import os
import random
import shutil
import unittest

import numpy as np
from osgeo import gdal, ogr, osr

from cliutil import CliTestCase, run, release_only

gdal.UseExceptions()
ogr.UseExceptions()
osr.UseExceptions()

NODATA = -9999.0
EPSG = 32736
X0, Y0, CELL = 700000.0, 7800000.0, 10.0
SIZE = 1100
STATS = ("count,sum,mean,min,max,stdev,median,quantile(0.9),majority,frac(50),"
         "weighted_mean(w)")
HERE = os.path.dirname(os.path.abspath(__file__))


def srs():
    s = osr.SpatialReference()
    s.ImportFromEPSG(EPSG)
    return s


def write_raster(path, bands, origin=(X0, Y0), cell=CELL, descriptions=None, metadata=None):
    """Float32 GeoTIFF of the 2-D arrays (NaN = nodata), 256-cell tiles."""
    rows, cols = bands[0].shape
    ds = gdal.GetDriverByName("GTiff").Create(path, cols, rows, len(bands), gdal.GDT_Float32,
                                              ["TILED=YES", "COMPRESS=DEFLATE"])
    ds.SetGeoTransform((origin[0], cell, 0.0, origin[1], 0.0, -cell))
    ds.SetSpatialRef(srs())
    for k, values in enumerate(bands):
        band = ds.GetRasterBand(k + 1)
        band.SetNoDataValue(NODATA)
        band.WriteArray(np.where(np.isnan(values), NODATA, values).astype(np.float32))
        if descriptions:
            band.SetDescription(descriptions[k])
        if metadata and metadata[k]:
            band.SetMetadata(metadata[k])
    ds = None
    return path


def cell_box(c0, r0, c1, r1):
    """A rectangle over cells: columns c0..c1, rows r0..r1 (fractions allowed)."""
    x0, x1 = X0 + c0 * CELL, X0 + c1 * CELL
    y0, y1 = Y0 - r0 * CELL, Y0 - r1 * CELL
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]


def ring(points):
    return "(" + ",".join(f"{x!r} {y!r}" for x, y in points) + ")"


def polygon(*rings):
    return "POLYGON (" + ",".join(ring(r) for r in rings) + ")"


def irregular(cx, cy, radius, n, rng):
    """An irregular star-shaped polygon around cell (cx, cy)."""
    pts = []
    for k in range(n):
        a = 2 * np.pi * k / n
        r = radius * rng.uniform(0.55, 1.0)
        pts.append((X0 + (cx + r * np.cos(a)) * CELL, Y0 - (cy + r * np.sin(a)) * CELL))
    return [*pts, pts[0]]


def zone_geometries():
    """The zones: (name, WKT or None)."""
    rng = random.Random(22)
    zones = [
        ("edge_x", polygon(cell_box(480.3, 100.7, 545.2, 160.1))),        # across x = 512
        ("edge_y", polygon(cell_box(200.5, 490.2, 260.5, 530.9))),        # across y = 512
        ("corner", polygon(cell_box(500.25, 500.75, 530.5, 525.25))),     # round (512, 512)
        ("corner_far", polygon(irregular(1024, 1024, 40, 13, rng))),      # round (1024, 1024)
        ("inside", polygon(cell_box(50.4, 60.6, 120.1, 130.9))),          # in tile 1 only
        ("outside", polygon(cell_box(1200, 1200, 1300, 1300))),           # beyond the grid
        ("across_grid_edge", polygon(cell_box(1050.5, 300.5, 1150.5, 340.5))),
        ("holed", polygon(cell_box(400.5, 400.5, 640.5, 640.5), cell_box(450, 450, 600, 600))),
        ("multi", "MULTIPOLYGON ((" + ring(cell_box(10.5, 10.5, 30.5, 30.5)) + "),(" +
         ring(cell_box(1000.5, 1000.5, 1050.5, 1090.5)) + "))"),
        ("nothing", None),
    ]
    for k in range(50):
        cx, cy = rng.uniform(0, SIZE), rng.uniform(0, SIZE)
        zones.append((f"z{k}", polygon(irregular(cx, cy, rng.uniform(5, 40), rng.randint(5, 17), rng))))
    return zones


def write_zones(path, zones):
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    layer = ds.CreateLayer("zones", srs(), ogr.wkbMultiPolygon)
    layer.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    for name, wkt in zones:
        f = ogr.Feature(layer.GetLayerDefn())
        f.SetField("name", name)
        if wkt:
            f.SetGeometry(ogr.ForceToMultiPolygon(ogr.CreateGeometryFromWkt(wkt)))
        layer.CreateFeature(f)
    ds = None
    return path


def holes(values, rng, share):
    """values with a share of its cells made nodata (and a nodata square)."""
    out = values.copy()
    out[rng.random(values.shape) < share] = np.nan
    out[700:760, 100:180] = np.nan
    return out


def make_inputs(folder):
    """The rasters and zones in folder; returns the arguments of a zonal run over them."""
    rng = np.random.default_rng(22)
    r, c = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    p = lambda name: os.path.join(folder, name)  # noqa: E731
    score = holes(np.clip(5 + 4 * np.sin(r / 97.0) * np.cos(c / 61.0) + rng.normal(0, 0.5, r.shape), 0, 10), rng, 0.01)
    uplift = holes(rng.uniform(0, 2, r.shape), rng, 0.01)
    write_raster(p("exposure.tif"), [score, uplift], descriptions=["score", "water_uplift"])
    write_raster(p("arrivals.tif"), [holes(rng.gamma(0.6, 3.0, r.shape), rng, 0.01)])
    depth1 = np.where((r + c) % 300 < 120, rng.uniform(0, 2, r.shape), 0.0)
    depth2 = np.where((r + c) % 300 < 170, rng.uniform(0, 3, r.shape), 0.0)
    depth1[:, :40] = np.nan  # the sea: no depth in any scenario, no score
    depth2[:, :40] = np.nan
    score[:, :40] = np.nan
    write_raster(p("exposure.tif"), [score, uplift], descriptions=["score", "water_uplift"])
    write_raster(p("sea.tif"), [depth1, depth2], descriptions=["a", "b"],
                 metadata=[{"SCENARIO": "ssp245-2050"}, {"SCENARIO": "ssp585-2100"}])
    write_raster(p("water.tif"), [holes(np.round(rng.uniform(0, 5, r.shape), 1), rng, 0.01)])
    write_raster(p("informal.tif"), [holes(rng.uniform(0, 1, r.shape), rng, 0.01)])
    # Integer-ish values so that majority and frac have ties and edges to meet.
    write_raster(p("v.tif"), [holes(np.floor(rng.uniform(0, 100, r.shape)), rng, 0.02)])
    write_raster(p("w.tif"), [holes(rng.uniform(0, 10, r.shape), rng, 0.02)])
    # Another grid: 25 m cells, the origin off the grid's lines, read with resampling.
    m = holes(rng.normal(50, 20, (460, 460)), rng, 0.02)
    write_raster(p("m.tif"), [m], origin=(X0 - 37.0, Y0 + 13.0), cell=25.0)
    write_zones(p("zones.gpkg"), zone_geometries())
    return ["--zones", p("zones.gpkg"), "--name-field", "name", "--exposure", p("exposure.tif"),
            "--arrivals", p("arrivals.tif"), "--sea", p("sea.tif"), "--water", p("water.tif"),
            "--informal", p("informal.tif"), "-r", "v=" + p("v.tif"), "-r", "w=" + p("w.tif"),
            "-r", "m=" + p("m.tif"), "--stats", STATS]


def read_layer(path):
    """(field names, rows of (values, geometry WKT), metadata) of the output, via OGR."""
    ds = ogr.Open(path)
    layer = ds.GetLayer(0)
    defn = layer.GetLayerDefn()
    names = [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())]
    types = [defn.GetFieldDefn(i).GetType() for i in range(defn.GetFieldCount())]
    rows = []
    for f in layer:
        g = f.GetGeometryRef()
        rows.append(([f.GetField(i) if f.IsFieldSetAndNotNull(i) else None for i in range(len(names))],
                     g.ExportToWkt() if g else None))
    md = dict(layer.GetMetadata() or {})
    md.update(ds.GetMetadata() or {})
    md.pop("CITYRISK_COMMAND", None)
    return names, types, rows, md


class ZonalTiles(CliTestCase):
    """Merged parts against the single run, over one fixture made once."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls._fixture = tempfile.TemporaryDirectory(prefix="cityrisk-tiles-")
        cls.dir = cls._fixture.name
        cls.args = make_inputs(cls.dir)
        cls.single = os.path.join(cls.dir, "single.geojson")
        rc, out, err = run("zonal", *cls.args, "-o", cls.single, "--json")
        if rc != 0:
            raise RuntimeError(f"single run: exit {rc}: {err}")
        cls.summary = json.loads(out)
        cls.parts = {}

    @classmethod
    def tearDownClass(cls):
        cls._fixture.cleanup()

    def part(self, spec):
        """The part file of --tile SPEC ("2/4") or --window SPEC ("0,0,512,512"), made once."""
        if spec not in self.parts:
            path = os.path.join(self.dir, "part-" + spec.replace("/", "of").replace(",", "_") + ".json")
            option = "--tile" if "/" in spec else "--window"
            rc, _, err = run("zonal", "-q", *self.args, option, spec, "--partial", "-o", path)
            self.assertEqual(rc, 0, err)
            self.parts[spec] = path
        return self.parts[spec]

    def tiles(self, n):
        return [self.part(f"{i}/{n}") for i in range(1, n + 1)]

    def merge(self, parts, out=None, *extra):
        out = out or self.path("merged.geojson")
        rc, _, err = run("zonal", "-q", "--merge", *parts, "-o", out, *extra)
        self.assertEqual(rc, 0, err)
        return out

    def assertSameOutput(self, got, expected=None):
        names, types, rows, md = read_layer(expected or self.single)
        gnames, gtypes, grows, gmd = read_layer(got)
        self.assertEqual(gnames, names)
        self.assertEqual(gtypes, types)
        self.assertEqual(len(grows), len(rows))
        for (values, wkt), (gvalues, gwkt) in zip(rows, grows):
            self.assertEqual(gwkt, wkt)
            for name, v, g in zip(names, values, gvalues):
                # Exact: the same doubles (NaN is written as null by every format).
                self.assertEqual(repr(g), repr(v), f"zone {values[names.index('name')]}: {name}")
        self.assertEqual(gmd, md)
        if got.endswith(".geojson"):
            with open(got) as f, open(expected or self.single) as g:
                self.assertSameGeoJSON(json.load(f), json.load(g))

    def assertSameGeoJSON(self, got, expected):
        """The documents are equal, provenance included, but for the command line."""
        for doc in (got, expected):
            self.assertIn("CITYRISK_INPUTS", doc["cityrisk"])
            del doc["cityrisk"]["CITYRISK_COMMAND"]
        self.assertEqual(got, expected)

    def test_stdout(self):
        """-o -: the merge writes the single run's GeoJSON to standard output."""
        rc, merged, err = run("zonal", "-q", "--merge", *self.tiles(4), "-o", "-")
        self.assertEqual(rc, 0, err)
        with open(self.single) as f:
            self.assertSameGeoJSON(json.loads(merged), json.load(f))

    def test_fixture_covers_what_it_claims(self):
        """The single run has nulls where it should, ranks, and zones across the edges."""
        names, _, rows, _ = read_layer(self.single)
        by_name = {r[0][names.index("name")]: dict(zip(names, r[0])) for r in rows}
        self.assertIsNone(by_name["outside"]["v_mean"])
        self.assertIsNone(by_name["nothing"]["area_km2"])
        self.assertIsNotNone(by_name["corner"]["v_median"])
        self.assertIsNotNone(by_name["corner"]["m_mean"])
        self.assertIsNotNone(by_name["edge_x"]["score_rank"])
        self.assertGreater(len({r[0][names.index("score_class")] for r in rows}), 2)

    def test_four_tiles(self):
        self.assertSameOutput(self.merge(self.tiles(4)))

    @release_only
    def test_six_tiles(self):
        self.assertSameOutput(self.merge(self.tiles(6)))

    @release_only
    def test_three_by_three_windows_shuffled(self):
        """Nine windows of one block each (the last row and column reaching the grid's
        edge), merged in a shuffled order."""
        windows = [f"{x},{y},{512 if x < 1024 else SIZE - 1024},{512 if y < 1024 else SIZE - 1024}"
                   for y in (0, 512, 1024) for x in (0, 512, 1024)]
        parts = [self.part(w) for w in windows]
        random.Random(5).shuffle(parts)
        self.assertSameOutput(self.merge(parts))

    @release_only
    def test_four_tiles_shuffled(self):
        parts = self.tiles(4)
        self.assertSameOutput(self.merge(parts[::-1]))

    def test_one_part_of_the_whole_grid(self):
        """--partial without a tile: one part, the whole grid."""
        path = self.path("whole.json")
        rc, _, err = run("zonal", "-q", *self.args, "--partial", "-o", path)
        self.assertEqual(rc, 0, err)
        self.assertSameOutput(self.merge([path]))

    @release_only
    def test_other_formats(self):
        """The output options of a single run: -of GPKG, CSV; --classes computed at the merge."""
        for fmt, ext in (("GPKG", "gpkg"), ("CSV", "csv")):
            single = self.path(f"single.{ext}")
            rc, _, err = run("zonal", "-q", *self.args, "-of", fmt, "-o", single)
            self.assertEqual(rc, 0, err)
            merged = self.merge(self.tiles(4), self.path(f"merged.{ext}"), "-of", fmt)
            self.assertSameOutput(merged, single)

    @release_only
    def test_qml(self):
        """--qml: the merge writes the single run's QGIS style (the exposure's class names)."""
        single, merged = self.path("s.geojson"), self.path("m.geojson")
        rc, _, err = run("zonal", "-q", *self.args, "--qml", "-o", single)
        self.assertEqual(rc, 0, err)
        self.merge(self.tiles(4), merged, "--qml")
        with open(self.path("s.qml")) as f, open(self.path("m.qml")) as g:
            self.assertEqual(g.read(), f.read())

    @release_only
    def test_classes_from_all_zones(self):
        """Quantile breaks of score_mean come from every zone, not a tile's."""
        extra = ["--classes", "quantile:5"]
        single = self.path("single-q.geojson")
        rc, _, err = run("zonal", "-q", *self.args, *extra, "-o", single)
        self.assertEqual(rc, 0, err)
        parts = []
        for i in range(1, 3):
            parts.append(self.path(f"q{i}.json"))
            rc, _, err = run("zonal", "-q", *self.args, *extra, "--tile", f"{i}/2", "--partial",
                             "-o", parts[-1])
            self.assertEqual(rc, 0, err)
        self.assertSameOutput(self.merge(parts), single)

    def test_json_summary(self):
        out = self.path("m.geojson")
        rc, text, err = run("zonal", "--merge", *self.tiles(4), "-o", out, "--json")
        self.assertEqual(rc, 0, err)
        got, expected = json.loads(text), dict(self.summary)
        for doc in (got, expected):
            doc.pop("output")
        self.assertEqual(got, expected)

    # ---- refusals: exit 3 naming the file, nothing written ----

    def assertRefused(self, parts, code, *needles):
        out = self.path("refused.geojson")
        self.assertFails(["zonal", "--merge", *parts, "-o", out], code, *needles)
        self.assertFalse(os.path.exists(out))

    def test_missing_tile(self):
        self.assertRefused(self.tiles(4)[:3], 3, "a tile is missing")

    def test_tile_twice(self):
        parts = self.tiles(4)
        copy = self.path("again.json")
        shutil.copy(parts[1], copy)
        self.assertRefused(parts + [copy], 3, "both tile 2/4", copy)

    def test_overlapping_windows(self):
        parts = self.tiles(4)[1:] + [self.part("0,0,1024,512")]
        self.assertRefused(parts, 3, "overlap")

    def test_parts_of_another_run(self):
        other = self.path("other.json")
        args = list(self.args)
        args[args.index("--stats") + 1] = "count,sum"
        rc, _, err = run("zonal", "-q", *args, "--tile", "2/4", "--partial", "-o", other)
        self.assertEqual(rc, 0, err)
        parts = self.tiles(4)
        self.assertRefused([parts[0], other] + parts[2:], 3, other, "another run", "plan")

    def test_corrupt_and_truncated_parts(self):
        parts = self.tiles(4)
        with open(parts[2], "rb") as f:
            data = f.read()
        cases = {"truncated.json": data[: len(data) // 2], "empty.json": b"",
                 "garbage.json": bytes(range(256)) * 40,
                 "other.json": b'{"format": "something else"}', "null.json": b'{"format": null}',
                 "number.json": b'{"format": 7, "version": null}',
                 "badrecord.json": data.replace(b"[", b"[\"x\",", 3)}
        doc = json.loads(data)
        doc["records"].pop(0)
        cases["dropped.json"] = json.dumps(doc).encode()
        for name, content in cases.items():
            path = self.path(name)
            with open(path, "wb") as f:
                f.write(content)
            with self.subTest(name):
                self.assertRefused(parts[:2] + [path, parts[3]], 3, path)

    def test_changed_zones(self):
        zones = self.path("zones.gpkg")
        shutil.copy(os.path.join(self.dir, "zones.gpkg"), zones)
        args = list(self.args)
        args[args.index("--zones") + 1] = zones
        parts = []
        for i in (1, 2):
            parts.append(self.path(f"c{i}.json"))
            rc, _, err = run("zonal", "-q", *args, "--tile", f"{i}/2", "--partial", "-o", parts[-1])
            self.assertEqual(rc, 0, err)
        ds = ogr.Open(zones, update=1)
        ds.GetLayer(0).GetNextFeature()
        ds.ExecuteSQL("UPDATE zones SET name = 'renamed' WHERE fid = 1")
        ds = None
        self.assertRefused(parts, 3, zones, "not the file the parts were made from")

    def test_usage(self):
        cases = [
            (["--tile", "1/4", *self.args], "give --partial"),
            (["--merge"], "--merge needs the part files"),
            (["--merge", self.tiles(4)[0], "--zones", "z.gpkg"], "give only PART..."),
            (["--merge", self.tiles(4)[0], "--min-coverage", "0.3"], "give only PART..."),
            ([*self.args, "--tile", "1/4", "--window", "0,0,512,512", "--partial"], "give one"),
            ([*self.args, "--window", "0,0,500,512", "--partial"], "not a window of 512-cell blocks"),
            ([*self.args, self.tiles(4)[0]], "only with --merge"),
        ]
        for args, needle in cases:
            with self.subTest(needle):
                out = self.path("x.json")
                rc, _, err = run("zonal", *args, "-o", out)
                self.assertEqual(rc, 2, err)
                self.assertIn(needle, err)
                self.assertFalse(os.path.exists(out))

    def test_output_exists(self):
        out = self.path("exists.geojson")
        with open(out, "w") as f:
            f.write("{}")
        self.assertFails(["zonal", "--merge", *self.tiles(4), "-o", out], 4)
        with open(out) as f:
            self.assertEqual(f.read(), "{}")


if __name__ == "__main__":
    unittest.main()
