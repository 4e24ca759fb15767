"""End-to-end: `cityrisk mosaic` joins the tiles of a per-cell output into the file one run
over the whole grid writes (issue 22, point 2).

The single runs are cityrisk's own outputs on the sample city (667 x 667 cells: 2 x 2 blocks of
512, one overview level): score's 8 Float32 bands with nodata -9999 (among them the class and
indicators_present bands, whose overviews take the most frequent value), inundation's depths
(2 bands) and its confidence classes (Byte with categories: 2 bands, and 1 band with a colour
table). Their tiles are made by an independent route: GDAL cuts the single run's file with
`gdal_translate -srcwin` and `gdal_edit.py -mo` adds the tile marks of include/cityrisk/tile.h
(CITYRISK_TILE I/N, CITYRISK_WINDOW, CITYRISK_FULL_SIZE) and the command a tile run records.
The mosaic must be the single run's file: `gdalinfo -checksum` of every band and overview, the
bits of every cell, the COG layout, and all metadata. When score has --tile, the real route
(score --tile I/4, then mosaic) must give the single run's file too.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import numpy as np
from osgeo import gdal

from cliutil import CITYRISK, SAMPLES, CliTestCase, run, sample, release_only

gdal.UseExceptions()

SIZE = 667
# --tile I/4 of a 667 x 667 grid (include/cityrisk/tile.h: 2 x 2 tiles, blocks shared), in
# row-major order; windows as XOFF, YOFF, XSIZE, YSIZE.
WINDOWS = [(0, 0, 512, 512), (512, 0, 155, 512), (0, 512, 512, 155), (512, 512, 155, 155)]
TILE_KEYS = ("CITYRISK_TILE", "CITYRISK_WINDOW", "CITYRISK_FULL_SIZE")


def cityrisk_in(folder, *args):
    """Runs cityrisk with args in folder; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([CITYRISK, *args], cwd=folder, capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def must(folder, *args):
    rc, out, err = cityrisk_in(folder, *args)
    if rc != 0:
        raise RuntimeError(f"cityrisk {' '.join(args)}: exit {rc}: {err}")
    return out


def command_of(path):
    return gdal.Open(path).GetMetadataItem("CITYRISK_COMMAND")


def tile_command(single_command, i, n, name):
    """What `cityrisk CMD --tile I/N ... -o NAME` records, from the single run's line."""
    words = single_command.split(" ")
    words.insert(1, "--tile")
    words.insert(2, f"{i}/{n}")
    at = words.index("-o")
    words[at + 1] = name
    return " ".join(words)


def cut(single, folder, windows=WINDOWS, tile_numbers=True, prefix="tile", suffix=""):
    """The tiles of single as GDAL cuts them (gdal_translate -srcwin, then the band units,
    which it does not copy) and marks them (gdal_edit.py -mo), each recording the command a
    tile run records: tile I is PREFIX_I.tif, or PREFIX_I{suffix}.tif for an output a
    command names after its -o (inundation's NAME_confidence.tif). Returns their paths."""
    os.makedirs(folder, exist_ok=True)
    command = command_of(single)
    source = gdal.Open(single)
    paths = []
    for i, (x, y, w, h) in enumerate(windows, 1):
        name = f"{prefix}_{i}.tif"
        path = os.path.join(folder, f"{prefix}_{i}{suffix}.tif")
        subprocess.run(["gdal_translate", "-q", "-srcwin", str(x), str(y), str(w), str(h), single, path],
                       check=True)
        ds = gdal.Open(path, gdal.GA_Update)
        for b in range(1, ds.RasterCount + 1):
            ds.GetRasterBand(b).SetUnitType(source.GetRasterBand(b).GetUnitType())
        ds = None
        marks = ["-mo", f"CITYRISK_WINDOW={x},{y},{w},{h}", "-mo", f"CITYRISK_FULL_SIZE={SIZE},{SIZE}"]
        if tile_numbers:
            marks += ["-mo", f"CITYRISK_TILE={i}/{len(windows)}"]
        if command:
            marks += ["-mo", "CITYRISK_COMMAND=" + tile_command(command, i, len(windows), name)]
        subprocess.run(["gdal_edit.py", *marks, path], check=True)
        paths.append(path)
    return paths


def checksums(path):
    """The Checksum= lines of `gdalinfo -checksum` (bands, then their overviews), in order."""
    out = subprocess.run(["gdalinfo", "-checksum", path], capture_output=True, text=True,
                         check=True).stdout
    return re.findall(r"(?:Checksum=|Overviews checksum: )([\d, ]+)", out)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def listing(folder):
    return sorted(os.listdir(folder))


class MosaicCase(CliTestCase):
    """Single runs of the sample city, made once for all the tests."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.TemporaryDirectory(prefix="cityrisk-mosaic-")
        cls.single = os.path.join(cls.work.name, "single")
        os.makedirs(cls.single)
        must(cls.single, "inundation", "--dem", sample("dem.tif"), "--scenario", "ssp245-2100,ssp585-2100",
             "--dem-rmse", "0.5", "-o", "flood.tif")
        must(cls.single, "inundation", "--dem", sample("dem.tif"), "--scenario", "ssp245-2100",
             "--dem-rmse", "0.5", "-o", "one.tif")
        must(cls.single, "arrivals", "--points", sample("arrivals.csv"), "--count-field", "arrivals",
             "--grid", sample("dem.tif"), "--kernel", "quartic", "--bandwidth", "500", "-o", "arrivals.tif")
        cls.score_args = ["score", "--sea", "flood.tif", "--scenario", "ssp245-2100", "--water",
                          sample("water_stress.tif"), "--informal", sample("settlement.tif"),
                          "--arrivals", "arrivals.tif", "--arrivals-ref", "19.6351", "--population",
                          sample("population.tif"), "--missing", "renormalise", "--grid", sample("dem.tif")]
        must(cls.single, *cls.score_args, "-o", "exposure.tif")

    @classmethod
    def tearDownClass(cls):
        cls.work.cleanup()

    def out(self, name):
        return os.path.join(self.single, name)

    def mosaic(self, tiles, name="m.tif", *extra, folder=None):
        """Runs mosaic in folder (a fresh one by default) with -o name; returns the output."""
        folder = folder or tempfile.mkdtemp(dir=self.tmp)
        rc, _, err = cityrisk_in(folder, "mosaic", *tiles, "-o", name, *extra)
        self.assertEqual(rc, 0, err)
        return os.path.join(folder, name)

    def assertSameRaster(self, single, mosaic, skip_items=()):
        """The mosaic is the single run's file in everything but its bytes."""
        a, b = gdal.Open(single), gdal.Open(mosaic)
        self.assertEqual(checksums(single), checksums(mosaic))
        self.assertEqual(len(checksums(single)), 2 * a.RasterCount, "a band or overview is missing")
        self.assertEqual(a.GetGeoTransform(), b.GetGeoTransform())
        self.assertEqual(a.GetProjection(), b.GetProjection())
        self.assertEqual((a.RasterXSize, a.RasterYSize, a.RasterCount), (b.RasterXSize, b.RasterYSize, b.RasterCount))
        da = {k: v for k, v in a.GetMetadata().items() if k not in skip_items}
        db = {k: v for k, v in b.GetMetadata().items() if k not in skip_items}
        self.assertEqual(da, db)
        self.assertEqual(a.GetMetadata("IMAGE_STRUCTURE"), b.GetMetadata("IMAGE_STRUCTURE"))
        self.assertEqual(b.GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE"), "COG")
        for k in range(1, a.RasterCount + 1):
            ba, bb = a.GetRasterBand(k), b.GetRasterBand(k)
            self.assertEqual(ba.DataType, bb.DataType)
            self.assertEqual(ba.GetBlockSize(), bb.GetBlockSize())
            self.assertEqual(ba.GetDescription(), bb.GetDescription())
            self.assertEqual(ba.GetUnitType(), bb.GetUnitType())
            self.assertEqual(ba.GetNoDataValue(), bb.GetNoDataValue())
            self.assertEqual(ba.GetMetadata(), bb.GetMetadata())
            ta, tb = ba.GetColorTable(), bb.GetColorTable()
            self.assertEqual(ta is None, tb is None)
            if ta is not None:
                self.assertEqual([ta.GetColorEntry(c) for c in range(ta.GetCount())],
                                 [tb.GetColorEntry(c) for c in range(tb.GetCount())])
            self.assertEqual(ba.ReadAsArray().tobytes(), bb.ReadAsArray().tobytes())
            self.assertEqual(ba.GetOverviewCount(), bb.GetOverviewCount())
            for o in range(ba.GetOverviewCount()):
                self.assertEqual(ba.GetOverview(o).ReadAsArray().tobytes(),
                                 bb.GetOverview(o).ReadAsArray().tobytes())
        for key in TILE_KEYS:
            self.assertIsNone(b.GetMetadataItem(key))


class TestJoin(MosaicCase):
    def test_score_tiles_join_into_the_single_run(self):
        single = self.out("exposure.tif")
        tiles = cut(single, self.path("tiles"))
        mosaic = self.mosaic(tiles, "exposure.tif")
        self.assertSameRaster(single, mosaic)
        # the class band and indicators_present take the most frequent value in overviews
        ds = gdal.Open(mosaic)
        modes = [ds.GetRasterBand(k).GetDescription() for k in range(1, ds.RasterCount + 1)
                 if ds.GetRasterBand(k).GetMetadataItem("CITYRISK_OVERVIEW_RESAMPLING") == "MODE"]
        self.assertEqual(modes, ["class", "indicators_present"])
        # the command is the single run's (tiles recorded --tile I/4 and their own -o)
        self.assertIn("--tile 2/4", command_of(tiles[1]))
        self.assertEqual(command_of(mosaic), command_of(single))

    def test_multi_band_depths_and_byte_classes(self):
        for suffix in ("", "_confidence", "_p_inundated"):
            name = f"flood{suffix}.tif"
            with self.subTest(name=name):
                single = self.out(name)
                tiles = cut(single, self.path(name + ".tiles"), suffix=suffix)
                self.assertSameRaster(single, self.mosaic(tiles, name))

    def test_byte_classes_keep_their_colour_table(self):
        single = self.out("one_confidence.tif")
        ds = gdal.Open(single)
        self.assertIsNotNone(ds.GetRasterBand(1).GetColorTable())
        ds = None
        tiles = cut(single, self.path("one"), suffix="_confidence")
        self.assertSameRaster(single, self.mosaic(tiles, "one_confidence.tif"))

    @release_only
    def test_window_tiles_in_any_order_give_one_file(self):
        single = self.out("exposure.tif")
        tiles = cut(single, self.path("w"), tile_numbers=False)
        outputs = [self.mosaic(order, "exposure.tif") for order in
                   (tiles, tiles[::-1], [tiles[2], tiles[0], tiles[3], tiles[1]])]
        self.assertSameRaster(single, outputs[0])
        self.assertEqual(len({digest(p) for p in outputs}), 1, "the order of the tiles changed the file")

    @release_only
    def test_a_glob_of_the_tiles(self):
        single = self.out("exposure.tif")
        folder = self.path("glob")
        cut(single, folder)
        proc = subprocess.run(f"cd {folder} && {CITYRISK} mosaic tile_*.tif -o exposure.tif", shell=True,
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertSameRaster(single, os.path.join(folder, "exposure.tif"))

    @release_only
    def test_one_tile_is_a_copy(self):
        single = self.out("exposure.tif")
        tiles = cut(single, self.path("one"), windows=[(0, 0, SIZE, SIZE)])
        self.assertSameRaster(single, self.mosaic(tiles, "exposure.tif"))

    @release_only
    def test_tiles_of_different_statistics_leave_them_out(self):
        single = self.out("exposure.tif")
        tiles = cut(single, self.path("stats"))
        for i, t in enumerate(tiles):
            subprocess.run(["gdal_edit.py", "-mo", f'CITYRISK_STATISTICS={{"cells_scored": {i}}}', t], check=True)
        folder = tempfile.mkdtemp(dir=self.tmp)
        rc, out, err = cityrisk_in(folder, "mosaic", *tiles, "-o", "exposure.tif", "--json")
        self.assertEqual(rc, 0, err)
        self.assertIn("CITYRISK_STATISTICS", err)
        summary = json.loads(out)
        self.assertEqual(summary["tiles"], 4)
        self.assertEqual(summary["size"], [SIZE, SIZE])
        self.assertTrue(summary["statistics_dropped"])
        self.assertTrue(summary["command_kept"])
        mosaic = os.path.join(folder, "exposure.tif")
        self.assertIsNone(gdal.Open(mosaic).GetMetadataItem("CITYRISK_STATISTICS"))
        self.assertSameRaster(single, mosaic, skip_items=("CITYRISK_STATISTICS",))

    def test_inputs_are_untouched(self):
        tiles = cut(self.out("exposure.tif"), self.path("keep"))
        before = [(digest(t), os.stat(t).st_mtime_ns) for t in tiles]
        self.mosaic(tiles, "exposure.tif")
        self.assertEqual(before, [(digest(t), os.stat(t).st_mtime_ns) for t in tiles])

    @release_only
    def test_real_route_score_tiles(self):
        """score --tile 1/4 .. 4/4, then mosaic, is the single run's file; with --qml, the
        single run's style."""
        folder = self.path("real")
        shutil.copytree(self.single, folder)
        os.remove(os.path.join(folder, "exposure.tif"))
        rc, _, err = cityrisk_in(folder, *self.score_args, "--tile", "1/4", "-o", "t1.tif")
        if rc == 2 and "--tile" in err:
            self.skipTest("score has no --tile yet: " + err.strip())
        self.assertEqual(rc, 0, err)
        for i in (2, 3, 4):
            must(folder, *self.score_args, "--tile", f"{i}/4", "-o", f"t{i}.tif")
        rc, out, err = cityrisk_in(folder, "mosaic", "t4.tif", "t2.tif", "t1.tif", "t3.tif", "-o",
                                   "exposure.tif", "--json", "--qml")
        self.assertEqual(rc, 0, err)
        summary = json.loads(out)
        self.assertTrue(summary["command_kept"])
        self.assertEqual(summary["written_by"], "score")
        # a score tile records no statistics (of its own cells only): the single run's are
        # the one item the mosaic lacks
        self.assertIsNone(gdal.Open(os.path.join(folder, "t1.tif")).GetMetadataItem("CITYRISK_STATISTICS"))
        self.assertSameRaster(self.out("exposure.tif"), os.path.join(folder, "exposure.tif"),
                              skip_items=("CITYRISK_STATISTICS",))
        styled = self.path("styled")
        shutil.copytree(self.single, styled)
        os.remove(os.path.join(styled, "exposure.tif"))
        must(styled, *self.score_args, "-o", "exposure.tif", "--qml")
        with open(os.path.join(styled, "exposure.qml")) as a, open(os.path.join(folder, "exposure.qml")) as b:
            self.assertEqual(a.read(), b.read())


class TestRefusals(MosaicCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tiles = cut(os.path.join(cls.single, "exposure.tif"), os.path.join(cls.work.name, "tiles"))

    def setUp(self):
        super().setUp()
        self.folder = self.path("out")
        os.makedirs(self.folder)

    def refuses(self, tiles, code, *needles, extra=()):
        """mosaic of tiles exits with code, saying every needle, and leaves nothing behind."""
        before = listing(self.folder), [digest(t) for t in self.tiles]
        rc, _, err = cityrisk_in(self.folder, "mosaic", *tiles, "-o", "m.tif", *extra)
        self.assertEqual(rc, code, err)
        line = [l for l in err.splitlines() if l.strip()][-1]
        for needle in needles:
            self.assertIn(needle, line)
        self.assertEqual((listing(self.folder), [digest(t) for t in self.tiles]), before)
        return line

    def variant(self, i, name, *edit):
        """A copy of tile i (0-based) edited by gdal_edit.py with edit."""
        path = self.path(name)
        shutil.copy(self.tiles[i], path)
        if edit:
            subprocess.run(["gdal_edit.py", *edit, path], check=True)
        return path

    def test_gap_names_the_missing_tiles(self):
        self.refuses([self.tiles[2], self.tiles[0]], 3, "tiles 2/4, 4/4 missing")

    def test_gap_of_window_tiles_names_the_first_window(self):
        tiles = cut(self.out("exposure.tif"), self.path("w"), tile_numbers=False)
        self.refuses([tiles[0], tiles[1], tiles[3]], 3, "window 0,512,512,155")

    def test_overlap_names_both_files(self):
        twin = self.variant(1, "twin.tif")
        self.refuses(self.tiles + [twin], 3, "overlap", "tile_2.tif", "twin.tif")

    def test_a_tile_of_another_grid(self):
        # origin moved by half a cell, then a CRS of another zone, then another cell size
        gt = gdal.Open(self.tiles[1]).GetGeoTransform()
        shifted = self.variant(1, "shifted.tif", "-a_ullr", str(gt[0] + 15), str(gt[3]),
                               str(gt[0] + 15 + 155 * gt[1]), str(gt[3] + 512 * gt[5]))
        self.refuses([self.tiles[0], shifted, *self.tiles[2:]], 3, "tile_1.tif", "shifted.tif", "grid origin")
        other = self.variant(1, "utm35.tif", "-a_srs", "EPSG:32735")
        self.refuses([self.tiles[0], other, *self.tiles[2:]], 3, "utm35.tif", "CRS")
        coarse = self.variant(1, "coarse.tif", "-a_ullr", str(gt[0]), str(gt[3]), str(gt[0] + 155 * 2 * gt[1]),
                              str(gt[3] + 512 * 2 * gt[5]))
        self.refuses([self.tiles[0], coarse, *self.tiles[2:]], 3, "coarse.tif", "cell size")
        bigger = self.variant(0, "bigger.tif", "-mo", "CITYRISK_FULL_SIZE=1024,667")
        self.refuses([bigger, *self.tiles[1:]], 3, "bigger.tif", "tile_2.tif", "not of one grid")

    def test_a_tile_of_other_bands(self):
        renamed = self.variant(3, "renamed.tif")
        ds = gdal.Open(renamed, gdal.GA_Update)
        ds.GetRasterBand(3).SetDescription("depth")
        ds = None
        self.refuses([*self.tiles[:3], renamed], 3, "tile_1.tif", "renamed.tif", "band 3", "description")
        item = self.variant(3, "item.tif", "-mo", "CITYRISK_PARAMETERS={}")
        self.refuses([*self.tiles[:3], item], 3, "item.tif", "metadata item CITYRISK_PARAMETERS")
        fewer = self.path("fewer.tif")
        subprocess.run(["gdal_translate", "-q", "-b", "1", "-b", "2", self.tiles[3], fewer], check=True)
        self.refuses([*self.tiles[:3], fewer], 3, "fewer.tif", "8 bands against 2")

    def test_not_a_tile(self):
        self.refuses([self.out("exposure.tif"), *self.tiles[1:]], 3, "exposure.tif", "is not a cityrisk tile",
                     "CITYRISK_WINDOW")

    def test_a_tile_whose_marks_disagree_with_it(self):
        wrong = self.variant(1, "wrong.tif", "-mo", "CITYRISK_TILE=3/4")
        self.refuses([self.tiles[0], wrong, *self.tiles[2:]], 3, "wrong.tif", "3/4")
        unaligned = self.variant(1, "unaligned.tif", "-mo", "CITYRISK_WINDOW=500,0,155,512")
        self.refuses([self.tiles[0], unaligned, *self.tiles[2:]], 3, "unaligned.tif", "512-cell blocks")

    def test_output_exists(self):
        with open(os.path.join(self.folder, "m.tif"), "w") as f:
            f.write("keep")
        self.refuses(self.tiles, 4, "m.tif")
        rc, _, err = cityrisk_in(self.folder, "mosaic", *self.tiles, "-o", "m.tif", "--overwrite")
        self.assertEqual(rc, 0, err)
        self.assertSameRaster(self.out("exposure.tif"), os.path.join(self.folder, "m.tif"),
                              skip_items=("CITYRISK_COMMAND",))

    def test_output_is_an_input(self):
        before = digest(self.tiles[0])
        rc, _, err = cityrisk_in(self.folder, "mosaic", *self.tiles, "-o", self.tiles[0], "--overwrite")
        self.assertEqual(rc, 2, err)
        self.assertIn("tile_1.tif", err)
        self.assertEqual(digest(self.tiles[0]), before)

    def test_usage(self):
        for args in ([], self.tiles):
            rc, _, err = cityrisk_in(self.folder, "mosaic", *args, *(["-o", "m.tif"] if not args else []))
            self.assertEqual(rc, 2, err)
            self.assertIn("no tile to join" if not args else "-o is required", err)
        self.assertEqual(listing(self.folder), [])


if __name__ == "__main__":
    unittest.main()
