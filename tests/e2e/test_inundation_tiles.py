"""End-to-end: `cityrisk inundation` in parts (--phase edges, join, depth) against the single run.

The DEMs are made here (numpy through GDAL) so that water reaches basins only across the
edges of the parts: a basin joined to the sea through a channel that crosses a tile edge, one
beside the sea only across a tile edge, one joined only through the diagonal across a tile
corner (flooded with 8 neighbours, dry with 4), polders below sea level not joined (one
across a tile edge), a nodata sea inlet entering through another tile, nodata holes inland.
The parts' depth tiles, placed at their CITYRISK_WINDOW, and their `cityrisk mosaic`, must
equal the single run cell for cell in every band (nodata where it has nodata) with the same band
metadata; the phases refuse
parts that do not belong together with exit 3 and one line, writing nothing.
"""
import os
import unittest

import numpy as np
from osgeo import gdal, osr

from cliutil import CliTestCase, run, release_only

gdal.UseExceptions()

NODATA = -9999.0
CELL = 10.0
ORIGIN = (683760.0, 7816260.0)
EPSG = 32736
B = 512  # the block grid the parts are cut on


def make_dem(path, array):
    """Writes array (NaN = nodata) as a Float32 GeoTIFF; returns path."""
    values = np.where(np.isnan(array), np.float32(NODATA), array).astype(np.float32)
    rows, cols = values.shape
    ds = gdal.GetDriverByName("GTiff").Create(path, cols, rows, 1, gdal.GDT_Float32)
    ds.SetGeoTransform((ORIGIN[0], CELL, 0.0, ORIGIN[1], 0.0, -CELL))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    ds.SetSpatialRef(srs)
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(NODATA)
    band.WriteArray(values)
    ds = None
    return path


def coastal_dem(width=1100, height=1100):
    """Land at 10 m with a sea strip on the left and the features of the module doc, placed
    on the edges (x = 512, y = 512) and the corner (512, 512) of the parts of --tile I/4."""
    z = np.full((height, width), 10.0, dtype=np.float32)
    z[:, :8] = -5.0                           # the sea, along the left edge (crosses y = 512)
    # a channel (0.5 m) from the sea across the tile edge x = 512 into a basin (0.3 m)
    z[300:304, 8:700] = 0.5
    z[250:350, 600:800] = 0.3
    # a sea inlet up to x = 511 and a basin (0.35 m) beside it only across the edge
    z[150:161, 8:512] = -3.0
    z[140:171, 512:560] = 0.35
    # a channel (0.2 m) along row 511 to the corner cell (511, 511) and a basin (0.1 m) whose
    # cell (512, 512) touches it diagonally only
    z[511, 8:512] = 0.2
    z[512:600, 512:600] = 0.1
    # polders below sea level, not joined: inside tile 2, and across the edge x = 512
    z[50:150, 800:900] = -1.0
    z[800:900, 480:560] = -0.5
    # nodata holes inland (not sea) and a nodata sea entering from the bottom edge up to
    # y = 400 (through tiles 4 and 2), with a basin (0.4 m) beside it in tile 2
    z[700:720, 200:220] = np.nan
    z[400:, 900:906] = np.nan
    z[400:450, 906:950] = 0.4
    # more nodata sea on the right edge, and a basin beside it across the edge y = 512
    z[1000:, width - 1] = np.nan
    z[500:512, 1000:1099] = 0.45
    z[512:1000, 1098] = 0.45
    return z


def read_bands(path):
    """Every band of a raster as float64 arrays, with the band metadata and descriptions."""
    ds = gdal.Open(path)
    bands = []
    for i in range(1, ds.RasterCount + 1):
        b = ds.GetRasterBand(i)
        bands.append((b.ReadAsArray().astype(np.float64), b.GetDescription(), b.GetMetadata(),
                      b.GetNoDataValue()))
    meta = ds.GetMetadata()
    size = (ds.RasterXSize, ds.RasterYSize)
    ds = None
    return bands, meta, size


class PartsCase(CliTestCase):
    """Runs the single inundation and the three phases over parts, and compares them."""

    def single(self, dem, options, name="single.tif"):
        out = self.path(name)
        rc, _, err = run("inundation", "--dem", dem, *options, "-o", out, "-q")
        self.assertEqual(rc, 0, err)
        return out

    def phases(self, dem, options, parts, tag="p"):
        """parts: lists of arguments naming a part (["--tile", "1/4"]). Returns the tiles."""
        edges = []
        for i, part in enumerate(parts):
            e = self.path(f"{tag}-edges-{i}.edges")
            rc, _, err = run("inundation", "--dem", dem, *options, *part, "--phase", "edges", "-o", e, "-q")
            self.assertEqual(rc, 0, err)
            edges.append(e)
        join = self.path(f"{tag}-join.edges")
        rc, _, err = run("inundation", "--phase", "join", *edges, "-o", join, "-q")
        self.assertEqual(rc, 0, err)
        tiles = []
        for i, part in enumerate(parts):
            t = self.path(f"{tag}-tile-{i}.tif")
            rc, _, err = run("inundation", "--dem", dem, *options, *part, "--phase", "depth", "--join", join,
                             "-o", t, "-q")
            self.assertEqual(rc, 0, err)
            tiles.append(t)
        return tiles

    def assertTilesEqual(self, single, tiles):
        """The tiles placed at their windows are the single run, cell for cell and band for band."""
        whole, whole_meta, (w, h) = read_bands(single)
        covered = np.zeros((h, w), dtype=np.int32)
        for t in tiles:
            bands, meta, (tw, th) = read_bands(t)
            x, y, ww, wh = (int(v) for v in meta["CITYRISK_WINDOW"].split(","))
            self.assertEqual((ww, wh), (tw, th))
            self.assertEqual(meta["CITYRISK_FULL_SIZE"], f"{w},{h}")
            covered[y:y + wh, x:x + ww] += 1
            self.assertEqual(len(bands), len(whole))
            for (a, desc, md, nd), (b, wdesc, wmd, wnd) in zip(bands, whole):
                part = b[y:y + wh, x:x + ww]
                same = np.array_equal(a, part, equal_nan=True)
                if not same:
                    diff = np.argwhere(~((a == part) | (np.isnan(a) & np.isnan(part))))
                    self.fail(f"{t} differs from the single run at {len(diff)} cells, first (row, col) "
                              f"{tuple(diff[0] + (y, x))}: {a[tuple(diff[0])]} != {part[tuple(diff[0])]}")
                self.assertEqual(desc, wdesc)
                self.assertEqual(md, wmd)
                self.assertEqual(nd, wnd)
            for key in ("CITYRISK_FORMULA", "CITYRISK_PARAMETERS"):
                self.assertEqual(meta.get(key), whole_meta.get(key), key)
        self.assertTrue((covered == 1).all(), "the tiles do not cover the grid once")

    def assertMosaicEqual(self, single, tiles, name="mosaic.tif"):
        """`cityrisk mosaic` of the tiles is the single run in every band (values, nodata, band
        metadata)."""
        out = self.path(name)
        rc, _, err = run("mosaic", *tiles, "-o", out, "-q")
        self.assertEqual(rc, 0, err)
        whole, _, size = read_bands(single)
        joined, _, joined_size = read_bands(out)
        self.assertEqual(size, joined_size)
        for (a, desc, md, nd), (b, wdesc, wmd, wnd) in zip(joined, whole):
            self.assertTrue(np.array_equal(a, b, equal_nan=True), f"{out} differs from {single}")
            self.assertEqual((desc, md, nd), (wdesc, wmd, wnd))


def tiles(n):
    return [["--tile", f"{i}/{n}"] for i in range(1, n + 1)]


class TestTiles(PartsCase):
    def setUp(self):
        super().setUp()
        self.z = coastal_dem()
        self.dem = make_dem(self.path("dem.tif"), self.z)

    def test_four_tiles_equal_the_single_run(self):
        options = ["--sea-level", "0.25,0.45,0.6,1"]
        single = self.single(self.dem, options)
        parts = self.phases(self.dem, options, tiles(4))
        self.assertTilesEqual(single, parts)
        self.assertMosaicEqual(single, parts)
        # the features behave as designed (the test's own check of its DEM, band 0.6 m)
        depth, _, _, nodata = read_bands(single)[0][2]
        self.assertGreater(depth[300, 700], 0)       # basin through the channel across x = 512
        self.assertGreater(depth[150, 530], 0)       # basin beside the sea across x = 512
        self.assertGreater(depth[550, 550], 0)       # basin across the corner (8 neighbours)
        self.assertEqual(depth[100, 850], 0)         # polder, not joined
        self.assertEqual(depth[850, 500], 0)         # polder across x = 512, not joined
        self.assertEqual(depth[710, 210], nodata)    # nodata inland
        self.assertGreater(depth[420, 920], 0)       # beside the nodata sea from the bottom
        self.assertGreater(depth[505, 1050], 0)      # beside the right edge's nodata sea

    def test_corner_diagonal_with_four_neighbours_is_dry(self):
        options = ["--sea-level", "0.6", "--connectivity", "4"]
        single = self.single(self.dem, options)
        depth = read_bands(single)[0][0][0]
        self.assertEqual(depth[550, 550], 0)
        self.assertGreater(depth[511, 300], 0)
        self.assertTilesEqual(single, self.phases(self.dem, options, tiles(4)))

    @release_only
    def test_nine_tiles_with_partial_blocks(self):
        options = ["--scenario", "ssp245-2100,ssp585-2100-p83", "--tide", "0.1"]
        single = self.single(self.dem, options)
        parts = self.phases(self.dem, options, tiles(9))
        self.assertTilesEqual(single, parts)
        self.assertMosaicEqual(single, parts)

    @release_only
    def test_plain_bathtub_and_confidence(self):
        for i, options in enumerate((["--sea-level", "0.5", "--connectivity", "none"],
                                     ["--sea-level", "0.3,0.5", "--dem-rmse", "0.15"])):
            single = self.single(self.dem, options, name=f"single{i}.tif")
            parts = self.phases(self.dem, options, tiles(4), tag=f"o{i}")
            self.assertTilesEqual(single, parts)
            if "--dem-rmse" in options:
                for suffix in ("_confidence.tif", "_p_inundated.tif"):
                    self.assertTilesEqual(single.replace(".tif", suffix),
                                          [p.replace(".tif", suffix) for p in parts])

    @release_only
    def test_windows_and_a_non_square_grid(self):
        z = coastal_dem(1300, 900)
        dem = make_dem(self.path("wide.tif"), z)
        options = ["--sea-level", "0.45,0.6"]
        single = self.single(dem, options)
        self.assertTilesEqual(single, self.phases(dem, options, tiles(6), tag="six"))
        windows = [["--window", w] for w in ("0,0,1024,512", "1024,0,276,512", "0,512,512,388",
                                             "512,512,788,388")]
        parts = self.phases(dem, options, windows, tag="win")
        self.assertTilesEqual(single, parts)
        self.assertMosaicEqual(single, parts)


class TestRefused(PartsCase):
    """Parts that do not belong together: exit 3, one line naming the file, nothing written."""

    @classmethod
    def setUpClass(cls):
        cls._dir = __import__("tempfile").TemporaryDirectory(prefix="cityrisk-e2e-")
        d = cls._dir.name
        cls.dem = make_dem(os.path.join(d, "dem.tif"), coastal_dem())
        other = coastal_dem()
        other[600:700, 600:700] = 0.2
        cls.other = make_dem(os.path.join(d, "other.tif"), other)
        cls.options = ["--sea-level", "0.5"]
        cls.edges = []
        for i in range(1, 5):
            e = os.path.join(d, f"edges-{i}.edges")
            rc, _, err = run("inundation", "--dem", cls.dem, *cls.options, "--tile", f"{i}/4", "--phase",
                             "edges", "-o", e, "-q")
            assert rc == 0, err
            cls.edges.append(e)
        cls.join = os.path.join(d, "join.edges")
        rc, _, err = run("inundation", "--phase", "join", *cls.edges, "-o", cls.join, "-q")
        assert rc == 0, err

    @classmethod
    def tearDownClass(cls):
        cls._dir.cleanup()

    def edges_of(self, dem, tile, options=None, name="x.edges"):
        e = self.path(name)
        rc, _, err = run("inundation", "--dem", dem, *(options or self.options), "--tile", tile, "--phase",
                         "edges", "-o", e, "-q")
        self.assertEqual(rc, 0, err)
        return e

    def refuse_join(self, files, *needles):
        out = self.path("join.edges")
        self.assertFails(["inundation", "--phase", "join", *files, "-o", out], 3, *needles)
        self.assertFalse(os.path.exists(out))

    def test_missing_tile(self):
        self.refuse_join(self.edges[:3], "tile 4/4 has no edge file")

    def test_tile_twice(self):
        self.refuse_join(self.edges + [self.edges[2]], self.edges[2], "tile 3/4 again")

    def test_edges_of_another_dem(self):
        e = self.edges_of(self.other, "4/4")
        self.refuse_join(self.edges[:3] + [e], e, "another DEM or other options")

    def test_edges_of_other_options(self):
        e = self.edges_of(self.dem, "4/4", ["--sea-level", "0.6"])
        self.refuse_join(self.edges[:3] + [e], e, "another DEM or other options")
        e8 = self.edges_of(self.dem, "4/4", ["--sea-level", "0.5", "--connectivity", "4"], name="c4.edges")
        self.refuse_join(self.edges[:3] + [e8], e8, "another DEM or other options")

    def test_tiles_of_two_layouts(self):
        e = self.edges_of(self.dem, "1/9")
        self.refuse_join(self.edges + [e], e, "covers cells of")

    def test_truncated_and_flipped_edge_files(self):
        with open(self.edges[1], "rb") as f:
            data = f.read()
        for name, bad in (("truncated", data[:len(data) // 2]), ("short", data[:10]), ("empty", b""),
                          ("flipped", data[:40] + bytes([data[40] ^ 1]) + data[41:]),
                          ("flipped-tail", data[:-1] + bytes([data[-1] ^ 0x80])),
                          ("not-one", b"GIF89a" + data[6:])):
            path = self.path(f"{name}.edges")
            with open(path, "wb") as f:
                f.write(bad)
            self.refuse_join([self.edges[0], path, *self.edges[2:]], path)

    def test_depth_against_another_join(self):
        out = self.path("tile.tif")
        # a join of other options
        e = [self.edges_of(self.dem, f"{i}/4", ["--sea-level", "0.6"], name=f"o{i}.edges") for i in range(1, 5)]
        other_join = self.path("other-join.edges")
        rc, _, err = run("inundation", "--phase", "join", *e, "-o", other_join, "-q")
        self.assertEqual(rc, 0, err)
        self.assertFails(["inundation", "--dem", self.dem, *self.options, "--tile", "1/4", "--phase", "depth",
                          "--join", other_join, "-o", out], 3, other_join, "fingerprint")
        self.assertFalse(os.path.exists(out))
        # the join of another layout has no part at this tile's window
        self.assertFails(["inundation", "--dem", self.dem, *self.options, "--tile", "2/9", "--phase", "depth",
                          "--join", self.join, "-o", out], 3, self.join, "no part at window")
        self.assertFalse(os.path.exists(out))
        # of another DEM
        self.assertFails(["inundation", "--dem", self.other, *self.options, "--tile", "1/4", "--phase", "depth",
                          "--join", self.join, "-o", out], 3, self.join, "another DEM")
        # truncated or flipped
        with open(self.join, "rb") as f:
            data = f.read()
        for name, bad in (("cut", data[:-20]), ("flip", data[:30] + bytes([data[30] ^ 4]) + data[31:])):
            path = self.path(f"{name}.join")
            with open(path, "wb") as f:
                f.write(bad)
            self.assertFails(["inundation", "--dem", self.dem, *self.options, "--tile", "1/4", "--phase",
                              "depth", "--join", path, "-o", out], 3, path)
            self.assertFalse(os.path.exists(out))

    def refuse_usage(self, args, needle):
        rc, _, err = run(*args)
        self.assertEqual(rc, 2, err)
        self.assertIn(needle, err)

    def test_usage(self):
        out = self.path("x.tif")
        self.refuse_usage(["inundation", "--dem", self.dem, *self.options, "--tile", "1/4", "-o", out], "--phase")
        self.refuse_usage(["inundation", "--dem", self.dem, *self.options, "--tile", "1/4", "--phase", "depth",
                           "-o", out], "--join")
        self.refuse_usage(["inundation", "--phase", "join", "-o", out], "edge file")
        self.refuse_usage(["inundation", "--dem", self.dem, *self.options, "--tile", "5/4", "--phase", "edges",
                           "-o", out], "5/4")
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()
