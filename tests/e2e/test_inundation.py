"""End-to-end: `cityrisk inundation` on hand-made DEMs, checked against an in-test flood fill.

Every DEM here is written by the test itself (EPSG:32736, 10 m cells, nodata -9999) and every
expected depth comes from flood_fill() below, a plain breadth-first search written from the
specification: the sea is the nodata / <= 0 cells joined to the raster edge, and water spreads
from it through cells strictly below the water level W.
"""
import json
import os
import random
import re
import resource
import shutil
import subprocess
import unittest
from collections import deque

import numpy as np
from osgeo import gdal, ogr, osr

from cliutil import CITYRISK, CliTestCase, asan_build, run, sample

gdal.UseExceptions()

NODATA = -9999.0
CELL = 10.0
ORIGIN = (683760.0, 7816260.0)  # the sample city's corner, in UTM 36S
EPSG = 32736
FOOT = 0.3048
US_SURVEY_FOOT = 1200.0 / 3937.0

# IPCC AR6 global mean sea-level rise (m) as the spec lists it.
SCENARIOS = {
    "ssp126-2050": 0.19, "ssp245-2050": 0.20, "ssp370-2050": 0.22, "ssp585-2050": 0.23,
    "ssp126-2100": 0.44, "ssp245-2100": 0.56, "ssp370-2100": 0.68, "ssp585-2100": 0.77,
    "stress-2m": 2.00,
}
LIKELY_RANGE_ENDS = {
    "ssp585-2100-p83": 1.01, "ssp126-2050-p17": 0.16,
    "ssp245-2100-p17": 0.44, "ssp245-2100-p83": 0.76,
}


# ---------------------------------------------------------------------------------------------
# Inputs


def make_dem(path, array, unit=None, nodata=NODATA, cell=CELL, origin=ORIGIN, epsg=EPSG,
             float64=False):
    """Writes array (NaN = nodata) as a Float32 (or Float64) GeoTIFF DEM; returns path."""
    dtype = np.float64 if float64 else np.float32
    values = np.asarray(array, dtype=dtype)
    values = np.where(np.isnan(values), dtype(nodata), values)
    rows, cols = values.shape
    ds = gdal.GetDriverByName("GTiff").Create(path, cols, rows, 1,
                                              gdal.GDT_Float64 if float64 else gdal.GDT_Float32)
    ds.SetGeoTransform((origin[0], cell, 0.0, origin[1], 0.0, -cell))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    ds.SetSpatialRef(srs)
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(nodata)
    if unit:
        band.SetUnitType(unit)
    band.WriteArray(values)
    ds = None
    return path


def make_mask(path, array, nodata=None):
    """Writes a Byte raster on the same grid as make_dem's default; returns path."""
    values = np.asarray(array, dtype=np.uint8)
    rows, cols = values.shape
    ds = gdal.GetDriverByName("GTiff").Create(path, cols, rows, 1, gdal.GDT_Byte)
    ds.SetGeoTransform((ORIGIN[0], CELL, 0.0, ORIGIN[1], 0.0, -CELL))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    ds.SetSpatialRef(srs)
    if nodata is not None:
        ds.GetRasterBand(1).SetNoDataValue(nodata)
    ds.GetRasterBand(1).WriteArray(values)
    ds = None
    return path


def utm_rectangle(x0, y0, x1, y1, points_per_side=20):
    """A closed ring (list of (x, y)) around a UTM rectangle, densified so it stays straight
    enough once reprojected."""
    ring = []
    for (ax, ay), (bx, by) in [((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)),
                               ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))]:
        for k in range(points_per_side):
            t = k / points_per_side
            ring.append((ax + (bx - ax) * t, ay + (by - ay) * t))
    ring.append(ring[0])
    return ring


def write_geojson_lonlat(path, utm_ring):
    """Writes one polygon, given in UTM 36S, as RFC 7946 GeoJSON (WGS 84 lon/lat)."""
    utm = osr.SpatialReference()
    utm.ImportFromEPSG(EPSG)
    wgs84 = osr.SpatialReference()
    wgs84.ImportFromEPSG(4326)
    wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    to_lonlat = osr.CoordinateTransformation(utm, wgs84)
    ring = [list(to_lonlat.TransformPoint(x, y)[:2]) for x, y in utm_ring]
    doc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "sea"},
        "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
    with open(path, "w", encoding="utf-8") as fp:
        json.dump(doc, fp)
    return path


def write_gpkg_utm(path, utm_ring):
    """Writes one polygon as a GeoPackage layer in EPSG:32736."""
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    layer = ds.CreateLayer("sea", srs, ogr.wkbPolygon)
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for x, y in utm_ring:
        ring.AddPoint_2D(x, y)
    polygon = ogr.Geometry(ogr.wkbPolygon)
    polygon.AddGeometry(ring)
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetGeometry(polygon)
    layer.CreateFeature(feature)
    feature = layer = ds = None
    return path


def maze(rows, cols, seed):
    """A perfect maze: True on corridor cells. Rooms sit on odd (row, col), walls between."""
    rng = random.Random(seed)
    corridor = np.zeros((rows, cols), bool)
    corridor[1, 1] = True
    stack = [(1, 1)]
    while stack:
        r, c = stack[-1]
        options = [(r + dr, c + dc) for dr, dc in ((2, 0), (-2, 0), (0, 2), (0, -2))
                   if 0 < r + dr < rows - 1 and 0 < c + dc < cols - 1
                   and not corridor[r + dr, c + dc]]
        if not options:
            stack.pop()
            continue
        r2, c2 = rng.choice(options)
        corridor[(r + r2) // 2, (c + c2) // 2] = corridor[r2, c2] = True
        stack.append((r2, c2))
    return corridor


# ---------------------------------------------------------------------------------------------
# The reference model


def neighbour_steps(conn):
    edges = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    return edges if conn == "4" else edges + [(-1, -1), (-1, 1), (1, -1), (1, 1)]


def grow(seeds, passable, conn):
    """Breadth-first search: seeds plus every passable cell joined to them through passable
    cells."""
    rows, cols = seeds.shape
    ok = passable.astype(np.uint8).ravel().tobytes()
    reached = bytearray(seeds.astype(np.uint8).ravel().tobytes())
    queue = deque(np.flatnonzero(seeds).tolist())
    steps = neighbour_steps(conn)
    while queue:
        r, c = divmod(queue.popleft(), cols)
        for dr, dc in steps:
            rr, cc = r + dr, c + dc
            if 0 <= rr < rows and 0 <= cc < cols:
                j = rr * cols + cc
                if ok[j] and not reached[j]:
                    reached[j] = 1
                    queue.append(j)
    return np.frombuffer(bytes(reached), np.uint8).reshape(rows, cols).astype(bool)


def find_sea(dem, conn):
    """Default sea: nodata or <= 0 cells joined to the raster edge through such cells."""
    low = np.isnan(dem) | (np.nan_to_num(dem, nan=1.0) <= 0)
    edge = np.zeros(dem.shape, bool)
    edge[0, :] = edge[-1, :] = edge[:, 0] = edge[:, -1] = True
    return grow(low & edge, low, "8" if conn == "none" else conn)


def flood_fill(dem, water_level, conn="8", sea=None):
    """Expected output band: W - z where inundated, 0 on dry land, NODATA on sea and nodata.
    dem is a float array with NaN for nodata; sea (bool array) replaces the default sea."""
    nodata = np.isnan(dem)
    if sea is None:
        sea = find_sea(dem, conn)
    z = np.nan_to_num(dem.astype(np.float64), nan=np.inf)
    below = ~nodata & ~sea & (z < water_level)
    wet = below if conn == "none" else grow(sea, below, conn) & below
    depth = np.where(wet, water_level - z, 0.0)
    depth[sea | nodata] = NODATA
    return depth


def components(mask):
    """Sizes of the 8-connected components of mask."""
    left = mask.copy()
    sizes = []
    for i in np.flatnonzero(mask):
        r, c = divmod(int(i), mask.shape[1])
        if left[r, c]:
            seed = np.zeros_like(mask)
            seed[r, c] = True
            part = grow(seed, left, "8")
            sizes.append(int(part.sum()))
            left &= ~part
    return sizes


# ---------------------------------------------------------------------------------------------
# Outputs


def read_band(path, band=1):
    ds = gdal.Open(path)
    return ds.GetRasterBand(band).ReadAsArray().astype(np.float64)


def band_count(path):
    return gdal.Open(path).RasterCount


def band_number(path, band, key):
    ds = gdal.Open(path)  # keep the dataset alive while its band is used
    return float(ds.GetRasterBand(band).GetMetadataItem(key))


def band_description(path, band):
    ds = gdal.Open(path)
    return ds.GetRasterBand(band).GetDescription()


def read_dem(path):
    """A DEM as the test wrote it: float64 with NaN for nodata."""
    ds = gdal.Open(path)
    b = ds.GetRasterBand(1)
    a = b.ReadAsArray().astype(np.float64)
    a[a == b.GetNoDataValue()] = np.nan
    return a


class InundationCase(CliTestCase):
    def dem(self, name, array, **kwargs):
        return make_dem(self.path(name), array, **kwargs)

    def inundate(self, dem, *args, out=None):
        """Runs the command; returns the output path."""
        out = out or self.path(f"out-{len(os.listdir(self.tmp))}.tif")
        rc, stdout, err = run("inundation", "--dem", dem, "-o", out, *args)
        self.assertEqual(rc, 0, f"{args}: exit {rc}, stderr: {err}")
        return out

    def inundate_json(self, dem, out, *args):
        rc, stdout, err = run("inundation", "--dem", dem, "-o", out, "--json", *args)
        self.assertEqual(rc, 0, err)
        return json.loads(stdout)

    def assertDepths(self, got, expected, label=""):
        """Nodata exactly where expected, depths within 1e-5 elsewhere."""
        self.assertEqual(got.shape, expected.shape, label)
        want_nodata = expected == NODATA
        wrong_nodata = np.argwhere((got == NODATA) != want_nodata)
        self.assertEqual(len(wrong_nodata), 0, f"{label}: nodata differs at (row, col) "
                         f"{[tuple(map(int, x)) for x in wrong_nodata[:8]]}; got "
                         f"{[float(got[tuple(x)]) for x in wrong_nodata[:8]]}")
        diff = np.where(want_nodata, 0.0, np.abs(got - expected))
        wrong = np.argwhere(diff > 1e-5)
        self.assertEqual(len(wrong), 0, f"{label}: depth differs at (row, col) "
                         f"{[tuple(map(int, x)) for x in wrong[:8]]}: got "
                         f"{[float(got[tuple(x)]) for x in wrong[:8]]}, expected "
                         f"{[float(expected[tuple(x)]) for x in wrong[:8]]}")

    def assertError(self, args, code, *needles):
        """A data or I/O error: assertFails, and the message is the only stderr line."""
        rc, _, err = run(*args)
        self.assertEqual(rc, code, f"exit {rc}, stderr: {err}")
        lines = [l for l in err.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, err)
        for needle in needles:
            self.assertIn(needle, lines[0])

    def assertUsageError(self, args, *needles):
        """A usage error: exit 2 and a first stderr line from this command holding the needles
        (cli_usage_error adds a second line pointing to --help)."""
        rc, _, err = run(*args)
        self.assertEqual(rc, 2, f"{args}: exit {rc}, stderr: {err}")
        first = err.splitlines()[0] if err.strip() else ""
        self.assertTrue(first.startswith("cityrisk inundation:"), f"{args}: {err!r}")
        for needle in needles:
            self.assertIn(needle, first, args)


def run_limited(address_space, *args):
    """run() with the address space limited (prlimit --as), as a memory-starved machine."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    proc = subprocess.run([CITYRISK, *args], capture_output=True, text=True, timeout=300,
                          preexec_fn=limit)
    return proc.returncode, proc.stdout, proc.stderr


# ---------------------------------------------------------------------------------------------
# Hand-made DEMs


def basin_behind_ridge():
    """Sea in the west; a beach that floods at W = 0.5 (one cell exactly at 0.5); a ridge;
    a closed basin at 0.3 with one cell at -0.5 (inland, so land, not sea)."""
    dem = np.full((10, 10), 2.0)
    dem[:, 0] = np.nan      # deep sea beyond the DEM's coverage
    dem[:, 1] = -1.0        # shelf: <= 0 and joined to the edge, so sea
    dem[1:9, 2] = 0.2       # beach
    dem[5, 2] = 0.5         # exactly at W: not below it, stays dry
    dem[2:8, 4:9] = 0.3     # basin behind the ridge in column 3
    dem[4, 6] = -0.5        # below zero but inland
    return dem


def diagonal_gap():
    """A sea block in the north-west corner; a low area whose only contact with it is one
    corner-to-corner step, (3, 1) to (4, 2)."""
    dem = np.full((8, 8), 3.0)
    dem[0:4, 0:2] = np.nan
    dem[4:7, 2:6] = 0.2
    return dem


def diagonal_sea():
    """An edge sea block and a nodata block touching it only at a corner, with low land beside
    the nodata block: the nodata block is sea with 8 neighbours, an inland barrier with 4."""
    dem = np.full((8, 8), 3.0)
    dem[0:3, 0:3] = np.nan
    dem[3:5, 3:5] = np.nan
    dem[3:5, 5:7] = 0.2
    return dem


def hole_in_the_way():
    """An inlet from the sea ends at an inland nodata hole; a basin lies beyond the hole."""
    dem = np.full((10, 10), 3.0)
    dem[:, 0] = np.nan
    dem[4:6, 1:3] = 0.2     # inlet
    dem[4:6, 3:6] = np.nan  # inland hole, not touching any sea
    dem[3:7, 6:9] = 0.2     # basin behind the hole
    return dem


def coastal_slope():
    """Sea in the west, land rising eastwards 0.15 m per column (values x.xx7, never on a
    water level used here), an inland hole and an inland cell below 0."""
    rows, cols = 8, 12
    dem = np.array([[0.15 * c + 0.037 + 0.01 * (r % 2) for c in range(cols)]
                    for r in range(rows)])
    dem[:, 0] = np.nan
    dem[1:3, 1] = -0.8      # shelf, part of the sea
    dem[5, 8] = np.nan      # inland nodata hole
    dem[3, 9] = -0.4        # inland, below zero
    return dem


def graded_coast():
    """Sea in the west, land rising 0.06 m per column (values x.xx5, clear of the scenario
    levels), then a ridge with a closed basin behind it."""
    rows, cols = 12, 20
    dem = np.array([[0.06 * c + 0.005 + 0.01 * (r % 3) for c in range(cols)]
                    for r in range(rows)])
    dem[:, 0] = np.nan
    dem[:, 14] = 3.0
    dem[:, 19] = 3.0
    dem[0, 15:19] = dem[-1, 15:19] = 3.0
    dem[1:11, 15:19] = 0.105
    return dem


def winding_channel(seed=11):
    """A maze of low corridors (0.05-0.8 m) in 3 m walls, entered from the sea at one cell of
    the west edge, with sills at 1.2 m on some corridor cells (water at 1.0 stops there, except
    where an 8-neighbour step slips past a sill at a corner)."""
    rows, cols = 23, 31
    corridor = maze(rows, cols, seed)
    rng = np.random.default_rng(seed)
    dem = np.where(corridor, rng.uniform(0.05, 0.8, (rows, cols)), 3.0)
    dem[1, 0] = np.nan      # the mouth: sea on the edge next to room (1, 1)
    dem[2, 0] = -0.4        # more sea, below zero
    cells = [tuple(map(int, x)) for x in np.argwhere(corridor)]
    for r, c in random.Random(seed).sample(cells[10:], 8):
        dem[r, c] = 1.2
    return dem


def winding_fjord(seed=28):
    """The sea itself winds: a maze whose corridors are nodata or -0.3 m, entered from the west
    edge, with sills at 2 m and at 0.4 m cutting it (past a sill the corridor is inland nodata,
    a barrier, or inland land below 0) and some walls lowered to 0.6 m. The sea traced with 4
    neighbours is smaller than with 8."""
    rows, cols = 25, 29
    corridor = maze(rows, cols, seed)
    rng = np.random.default_rng(seed)
    dem = np.where(corridor, np.where(rng.random((rows, cols)) < 0.5, np.nan, -0.3), 3.0)
    dem[~corridor & (rng.random((rows, cols)) < 0.12)] = 0.6
    dem[1, 0] = np.nan
    cells = [tuple(map(int, x)) for x in np.argwhere(corridor)]
    sills = random.Random(seed).sample(cells[10:], 6)
    for r, c in sills[:3]:
        dem[r, c] = 2.0
    for r, c in sills[3:]:
        dem[r, c] = 0.4
    return dem


def random_terrain(seed=2024, shape=(33, 38), water_level=0.9):
    """Uncorrelated heights 0-2 m (kept 0.01 m clear of the water level), with scattered
    -0.5 m cells and nodata cells: ragged shapes across every tile border."""
    rng = np.random.default_rng(seed)
    dem = rng.uniform(0.0, 2.0, shape)
    near = np.abs(dem - water_level) < 0.01
    dem[near] += 0.02
    dem[rng.random(shape) < 0.06] = -0.5
    dem[rng.random(shape) < 0.04] = np.nan
    return dem


# ---------------------------------------------------------------------------------------------
# Tests


class Connectivity(InundationCase):
    def test_basin_behind_ridge_stays_dry_but_floods_in_bathtub(self):
        dem = basin_behind_ridge()
        path = self.dem("dem.tif", dem)
        connected = read_band(self.inundate(path, "--sea-level", "0.5"))
        bathtub = read_band(self.inundate(path, "--sea-level", "0.5", "--connectivity", "none"))
        for out, conn in [(connected, "8"), (bathtub, "none")]:
            self.assertDepths(out, flood_fill(dem, 0.5, conn), conn)
            self.assertTrue((out[:, 0:2] == NODATA).all(), f"sea is nodata ({conn})")
            self.assertAlmostEqual(out[1, 2], 0.3, places=5)   # beach floods
            self.assertEqual(out[5, 2], 0.0)                   # z == W is not below W
            self.assertTrue((out[:, 3] == 0).all())            # ridge
        self.assertTrue((connected[2:8, 4:9] == 0).all(), "basin stays dry")
        self.assertTrue(np.allclose(np.delete(bathtub[2:8, 4:9].ravel(), 2 * 5 + 2), 0.2))
        self.assertAlmostEqual(bathtub[4, 6], 1.0, places=5)   # 0.5 - (-0.5), land not sea

    def test_diagonal_gap_floods_with_8_neighbours_only(self):
        dem = diagonal_gap()
        path = self.dem("dem.tif", dem)
        eight = read_band(self.inundate(path, "--sea-level", "0.5"))
        explicit_eight = read_band(self.inundate(path, "--sea-level", "0.5",
                                                 "--connectivity", "8"))
        four = read_band(self.inundate(path, "--sea-level", "0.5", "--connectivity", "4"))
        np.testing.assert_array_equal(eight, explicit_eight)
        self.assertTrue(np.allclose(eight[4:7, 2:6], 0.3), eight[4:7, 2:6])
        self.assertTrue((four[4:7, 2:6] == 0).all(), four[4:7, 2:6])
        self.assertDepths(eight, flood_fill(dem, 0.5, "8"), "8")
        self.assertDepths(four, flood_fill(dem, 0.5, "4"), "4")

    def test_sea_is_traced_with_the_same_connectivity(self):
        dem = diagonal_sea()
        path = self.dem("dem.tif", dem)
        eight = read_band(self.inundate(path, "--sea-level", "0.5"))
        four = read_band(self.inundate(path, "--sea-level", "0.5", "--connectivity", "4"))
        self.assertTrue(np.allclose(eight[3:5, 5:7], 0.3), eight[3:5, 5:7])
        self.assertTrue((four[3:5, 5:7] == 0).all(), four[3:5, 5:7])
        self.assertTrue((four[3:5, 3:5] == NODATA).all() and (eight[3:5, 3:5] == NODATA).all())
        self.assertDepths(eight, flood_fill(dem, 0.5, "8"), "8")
        self.assertDepths(four, flood_fill(dem, 0.5, "4"), "4")

    def test_inland_nodata_hole_stays_nodata_and_blocks_water(self):
        dem = hole_in_the_way()
        path = self.dem("dem.tif", dem)
        for conn in ["8", "4"]:
            with self.subTest(conn=conn):
                out = read_band(self.inundate(path, "--sea-level", "0.5",
                                              "--connectivity", conn))
                self.assertTrue(np.allclose(out[4:6, 1:3], 0.3), out[4:6, 1:3])
                self.assertTrue((out[4:6, 3:6] == NODATA).all())
                self.assertTrue((out[3:7, 6:9] == 0).all(), out[3:7, 6:9])
                self.assertDepths(out, flood_fill(dem, 0.5, conn), conn)
        bathtub = read_band(self.inundate(path, "--sea-level", "0.5", "--connectivity", "none"))
        self.assertTrue((bathtub[4:6, 3:6] == NODATA).all())
        self.assertTrue(np.allclose(bathtub[3:7, 6:9], 0.3))


class Tiles(InundationCase):
    def test_winding_channel_same_for_every_tile_size_and_matches_flood_fill(self):
        dem = winding_channel()
        path = self.dem("maze.tif", dem)
        expected = {conn: flood_fill(dem, 1.0, conn) for conn in ["8", "4"]}
        # The maze is worth testing: its water spreads over many 4x4 tiles, stops at sills,
        # and 8 neighbours reach cells that 4 do not.
        wet = expected["8"] > 0
        tiles = {(int(r) // 4, int(c) // 4) for r, c in np.argwhere(wet)}
        self.assertGreater(len(tiles), 20)
        self.assertTrue(((dem < 1.0) & ~wet & (expected["8"] != NODATA)).any())
        self.assertGreater(int((expected["8"] > 0).sum()), int((expected["4"] > 0).sum()))
        for conn in ["8", "4"]:
            default = read_band(self.inundate(path, "--sea-level", "1.0",
                                              "--connectivity", conn))
            self.assertDepths(default, expected[conn], f"conn {conn}, default tiles")
            for size in ["3", "4", "5", "7"]:
                with self.subTest(conn=conn, tile_size=size):
                    tiled = read_band(self.inundate(path, "--sea-level", "1.0", "--connectivity",
                                                    conn, "--tile-size", size))
                    np.testing.assert_array_equal(tiled, default)

    def test_winding_sea_same_for_every_tile_size_and_matches_flood_fill(self):
        dem = winding_fjord()
        path = self.dem("fjord.tif", dem)
        sea = {conn: find_sea(dem, conn) for conn in ["8", "4", "none"]}
        inland_low = ~np.isnan(dem) & (np.nan_to_num(dem, nan=1.0) <= 0) & ~sea["8"]
        # The fjord is worth testing: its sea spans many 4x4 tiles, 4 neighbours trace less of
        # it than 8, and inland cells below 0 flood as land.
        self.assertGreater(len({(int(r) // 4, int(c) // 4) for r, c in np.argwhere(sea["4"])}),
                           20)
        self.assertLess(int(sea["4"].sum()), int(sea["8"].sum()))
        self.assertTrue((flood_fill(dem, 1.0, "8")[inland_low] > 0).any())
        for conn in ["8", "4", "none"]:
            expected = flood_fill(dem, 1.0, conn)
            out = self.path(f"fjord-{conn}.tif")
            summary = self.inundate_json(path, out, "--sea-level", "1.0", "--connectivity", conn)
            self.assertEqual(summary["sea_cells"], int(sea[conn].sum()), conn)
            default = read_band(out)
            self.assertDepths(default, expected, f"conn {conn}, default tiles")
            for size in ["3", "4", "5", "7"]:
                with self.subTest(conn=conn, tile_size=size):
                    tiled = read_band(self.inundate(path, "--sea-level", "1.0", "--connectivity",
                                                    conn, "--tile-size", size))
                    np.testing.assert_array_equal(tiled, default)

    def test_random_terrain_same_for_every_tile_size_and_matches_flood_fill(self):
        dem = random_terrain()
        path = self.dem("random.tif", dem)
        for conn in ["8", "4", "none"]:
            expected = flood_fill(dem, 0.9, conn)
            default = read_band(self.inundate(path, "--sea-level", "0.9",
                                              "--connectivity", conn))
            self.assertDepths(default, expected, f"conn {conn}, default tiles")
            for size in ["3", "4", "5", "16"]:
                with self.subTest(conn=conn, tile_size=size):
                    tiled = read_band(self.inundate(path, "--sea-level", "0.9", "--connectivity",
                                                    conn, "--tile-size", size))
                    np.testing.assert_array_equal(tiled, default)
            for threads in ["1", "4"]:
                with self.subTest(conn=conn, threads=threads):
                    threaded = read_band(self.inundate(path, "--sea-level", "0.9", "--connectivity",
                                                       conn, "--tile-size", "5",
                                                       "--threads", threads))
                    np.testing.assert_array_equal(threaded, default)
        # The terrain is worth testing: the three models disagree on it.
        counts = [int((flood_fill(dem, 0.9, c) > 0).sum()) for c in ["4", "8", "none"]]
        self.assertTrue(0 < counts[0] < counts[1] < counts[2], counts)


def kept_cells(stderr):
    """The DEM cells the last pass found kept in memory, from the --debug log."""
    kept = re.findall(r"the write pass took [0-9.]+ s \((\d+) cells kept in memory\)", stderr)
    return int(kept[-1]) if kept else None


class MemoryBudget(InundationCase):
    """The DEM's tiles are decoded on worker threads and, while they fit half the memory budget
    (CITYRISK_MAX_MEMORY) and what is left of it beside GDAL's block cache, the tiles in flight,
    the reaches and 87 MiB, kept for the later passes instead of being decoded again: every
    combination of threads, budget and tile size gives the flood fill's cells, bit for bit the
    same (only how many tiles are kept depends on the threads)."""

    def run_budget(self, path, budget, *args):
        out = self.path(f"out-{len(os.listdir(self.tmp))}.tif")
        rc, _, err = run("inundation", "--dem", path, "-o", out, "--debug",
                         "--config", "CITYRISK_MAX_MEMORY", budget,
                         "--config", "GDAL_CACHEMAX", "16", *args)
        self.assertEqual(rc, 0, err)
        ds = gdal.Open(out)  # alive while its band is read
        return ds.GetRasterBand(1).ReadAsArray(), kept_cells(err)

    def test_kept_and_decoded_again_give_the_same_cells_at_any_threads(self):
        dem = random_terrain(seed=23, shape=(600, 560))
        path = self.dem("dem.tif", dem)
        cells = dem.size
        for conn in ["8", "4"]:
            expected = flood_fill(dem, 0.9, conn)
            first = None
            # 1 MB keeps nothing (less than the block cache and 87 MiB). 103.75 MB leaves 0.75
            # MiB (786,432 bytes) beside those, less the reaches (the level's and the sea's: 2
            # x (8 x 560 columns + 4 x 90 tiles) = 9,680 bytes) and the tiles in flight (2 per
            # thread, 9 bytes a cell): of 64-cell tiles (73,728 bytes per thread) with 1 thread
            # 703,024 bytes, 175,756 Float32 cells; with 3 threads 555,568, 138,892 cells. The
            # rows of 64-cell tiles hold 8 whole tiles and one 48 wide (35,840 cells): 4 rows
            # and 7 tiles (172,032 cells; an 8th would make 176,128), or 3 rows and 7 tiles
            # (136,192; 140,288). 512-cell tiles take 9 MiB in flight with 2 threads: none.
            part1 = 4 * (8 * 64 * 64 + 48 * 64) + 7 * 64 * 64
            part3 = 3 * (8 * 64 * 64 + 48 * 64) + 7 * 64 * 64
            for budget, tile, threads, kept in [("1MB", "512", "1", 0), ("1MB", "512", "2", 0),
                                                ("1GB", "512", "1", cells),
                                                ("1GB", "512", "2", cells),
                                                ("103.75MB", "64", "1", part1),
                                                ("103.75MB", "64", "3", part3),
                                                ("103.75MB", "512", "2", 0),
                                                ("1GB", "64", "2", cells)]:
                with self.subTest(conn=conn, budget=budget, tile=tile, threads=threads):
                    got, got_kept = self.run_budget(path, budget, "--sea-level", "0.9",
                                                    "--connectivity", conn, "--tile-size", tile,
                                                    "--threads", threads)
                    self.assertEqual(got_kept, kept)
                    self.assertDepths(got.astype(np.float64), expected)
                    if first is None:
                        first = got
                    np.testing.assert_array_equal(got.view(np.uint32), first.view(np.uint32))

    def test_float64_dem_is_not_kept_rounded_to_float32(self):
        # Land 1e-9 m above W: dry in double precision, below W once rounded to Float32. Tiles
        # whose values Float32 holds exactly (the left half) are kept, the others decoded again.
        w = 0.9
        dem = np.full((40, 40), w + 1e-9)
        dem[:, :20] = 0.5
        dem[:, :2] = -1.0
        dem[10:30, 20:40:3] = 0.25  # channels across the edge of the kept tiles, wet
        path = self.dem("dem64.tif", dem, float64=True)
        expected = flood_fill(dem, w)
        self.assertGreater(int((expected > 0).sum()), 0)
        for threads in ["1", "2"]:
            with self.subTest(threads=threads):
                got, kept = self.run_budget(path, "1GB", "--sea-level", str(w), "--tile-size",
                                            "20", "--threads", threads)
                self.assertDepths(got.astype(np.float64), expected)
                self.assertEqual(kept, 40 * 20)


class WaterLevel(InundationCase):
    def test_several_scenarios_make_monotone_bands_equal_to_single_runs(self):
        dem = graded_coast()
        path = self.dem("dem.tif", dem)
        names = ["ssp126-2050", "ssp245-2100", "ssp585-2100-p83"]
        levels = [0.19, 0.56, 1.01]
        out = self.inundate(path, "--scenario", ",".join(names))
        self.assertEqual(band_count(out), 3)
        ds = gdal.Open(out)
        bands = [read_band(out, k + 1) for k in range(3)]
        valid = bands[0] != NODATA
        for k in range(3):
            with self.subTest(scenario=names[k]):
                band = ds.GetRasterBand(k + 1)
                self.assertIn(names[k], band.GetDescription())
                self.assertIn("W=", band.GetDescription())
                self.assertAlmostEqual(band_number(out, k + 1, "SEA_LEVEL_RISE_M"), levels[k], 6)
                self.assertAlmostEqual(band_number(out, k + 1, "WATER_LEVEL_M"), levels[k], 6)
                self.assertDepths(bands[k], flood_fill(dem, levels[k]), names[k])
                single = read_band(self.inundate(path, "--scenario", names[k]))
                np.testing.assert_array_equal(bands[k], single)
                if k:
                    np.testing.assert_array_equal(bands[k] != NODATA, valid)
                    self.assertTrue((bands[k][valid] >= bands[k - 1][valid]).all())
                    self.assertGreater(int((bands[k] > 0).sum()), int((bands[k - 1] > 0).sum()))
        self.assertTrue((bands[2][1:11, 15:19] == 0).all(), "the basin behind the ridge")

    def test_several_sea_levels(self):
        dem = graded_coast()
        path = self.dem("dem.tif", dem)
        out = self.inundate(path, "--sea-level", "0.5,1.25")
        self.assertEqual(band_count(out), 2)
        ds = gdal.Open(out)
        for k, level in enumerate([0.5, 1.25]):
            description = ds.GetRasterBand(k + 1).GetDescription()
            self.assertIn(str(level), description)
            self.assertIn("W=", description)
            self.assertDepths(read_band(out, k + 1), flood_fill(dem, level), str(level))

    def test_many_levels_in_bounded_memory(self):
        # 100 levels of an 8 x 12 DEM aborted inside GDAL under a 500 MB address-space limit
        # and left .part/.cog files: each output tile held every band at 512 x 512 cells
        # (issue 16, point 4). Tiles shrink with the bands; the depths are the same.
        if asan_build():
            self.skipTest("AddressSanitizer reserves terabytes of address space: no RLIMIT_AS")
        dem = coastal_slope()
        path = self.dem("dem.tif", dem)
        levels = [round(0.02 * k, 2) for k in range(100)]
        out = self.path("many.tif")
        rc, _, err = run_limited(500_000_000, "inundation", "--dem", path, "-o", out,
                                 "--sea-level", ",".join(map(str, levels)))
        self.assertEqual(rc, 0, err)
        self.assertEqual(band_count(out), 100)
        for k in [0, 1, 37, 60, 99]:
            self.assertDepths(read_band(out, k + 1), flood_fill(dem, levels[k]), str(levels[k]))
        self.assertEqual(gdal.Open(out).GetRasterBand(1).GetBlockSize(), [128, 128])
        self.assertEqual(sorted(os.listdir(self.tmp)), ["dem.tif", "many.tif"])

    def test_out_of_memory_is_exit_1_and_leaves_nothing(self):
        # 1000 levels need about 250 MB for GDAL's COG copy: under a limit that leaves less,
        # the run fails with one line and no temporary file, instead of aborting in GDAL.
        if asan_build():
            self.skipTest("AddressSanitizer reserves terabytes of address space: no RLIMIT_AS")
        path = self.dem("dem.tif", coastal_slope())
        out = self.path("many.tif")
        levels = ",".join(f"{0.001 * k:.3f}" for k in range(1000))
        rc, _, err = run_limited(350_000_000, "inundation", "--dem", path, "-o", out,
                                 "--sea-level", levels)
        self.assertEqual(rc, 1, err)
        lines = [l for l in err.splitlines() if l.startswith("cityrisk ")]
        self.assertEqual(len(lines), 1, err)
        self.assertRegex(lines[0], r"^cityrisk inundation: out of memory writing '.*many\.tif'")
        self.assertEqual(sorted(os.listdir(self.tmp)), ["dem.tif"])
        # Without the limit the same run works, its memory bounded by the tiles' size.
        rc, _, err = run("inundation", "--dem", path, "-o", out, "--sea-level", levels, "-q")
        self.assertEqual(rc, 0, err)
        self.assertEqual(band_count(out), 1000)

    def test_tide_surge_and_datum_offset_add_up(self):
        dem = coastal_slope()
        path = self.dem("dem.tif", dem)
        out = self.inundate(path, "--sea-level", "0.5", "--tide", "1.0", "--surge", "0.3",
                            "--datum-offset", "0.2")
        self.assertDepths(read_band(out), flood_fill(dem, 1.6), "W = 1.6")
        self.assertAlmostEqual(read_band(out)[4, 1], 1.6 - dem[4, 1], places=5)
        for key, value in [("SEA_LEVEL_RISE_M", 0.5), ("TIDE_M", 1.0), ("SURGE_M", 0.3),
                           ("DATUM_OFFSET_M", 0.2), ("WATER_LEVEL_M", 1.6)]:
            self.assertAlmostEqual(band_number(out, 1, key), value, 6, key)
        self.assertIn("W=1.6", band_description(out, 1))
        # The same level reached from the sea level alone gives the same depths.
        plain = self.inundate(path, "--sea-level", "1.6")
        self.assertDepths(read_band(out), read_band(plain), "1.6 from the sea level alone")

    def test_huge_levels_are_written_in_ten_significant_digits(self):
        """A level of 1e30 m is one a Float32 output holds: its messages and band name say
        1e+30, not 31 digits (issue 16, point 23)."""
        path = self.dem("dem.tif", coastal_slope())
        out = self.path("huge.tif")
        rc, _, err = run("inundation", "--dem", path, "-o", out, "--sea-level", "1e30")
        self.assertEqual(rc, 0, err)
        self.assertIn("W=1e+30 m", err)
        self.assertIn("max depth 1e+30 m", err)
        self.assertEqual(band_description(out, 1), "sl1e+30 (W=1e+30 m)")
        self.assertIsNone(re.search(r"\d{11}", err + band_description(out, 1)), err)

    def test_dem_in_feet_gives_the_same_depths_as_in_metres(self):
        metres = coastal_slope()
        feet = metres / FOOT
        survey_feet = metres / US_SURVEY_FOOT
        expected = read_band(self.inundate(self.dem("m.tif", metres), "--sea-level", "1.0"))
        self.assertDepths(expected, flood_fill(metres, 1.0), "metres")
        cases = [
            ("--dem-unit ft, no band unit", self.dem("ft.tif", feet), ["--dem-unit", "ft"]),
            ("band unit ft", self.dem("ft-unit.tif", feet, unit="ft"), []),
            ("--dem-unit us-ft, no band unit", self.dem("usft.tif", survey_feet),
             ["--dem-unit", "us-ft"]),
            ("band unit foot", self.dem("foot-unit.tif", feet, unit="foot"), []),
            ("band unit feet", self.dem("feet-unit.tif", feet, unit="feet"), []),
            ("band unit US survey foot",
             self.dem("usft-unit.tif", survey_feet, unit="US survey foot"), []),
        ]
        for label, path, flags in cases:
            with self.subTest(label):
                got = read_band(self.inundate(path, "--sea-level", "1.0", *flags))
                self.assertDepths(got, expected, label)


class Sea(InundationCase):
    def test_no_sea_fails_naming_the_dem_but_bathtub_runs(self):
        dem = np.full((8, 8), 2.0)
        dem[2:6, 2:6] = 0.3
        dem[3, 3] = np.nan  # an inland hole is not sea either
        path = self.dem("nosea.tif", dem)
        out = self.path("out.tif")
        self.assertError(["inundation", "--dem", path, "-o", out, "--sea-level", "0.5"], 3, path)
        self.assertFalse(os.path.exists(out))
        bathtub = read_band(self.inundate(path, "--sea-level", "0.5", "--connectivity", "none"))
        self.assertDepths(bathtub, flood_fill(dem, 0.5, "none"), "bathtub")
        self.assertAlmostEqual(bathtub[2, 2], 0.2, places=5)
        self.assertEqual(bathtub[3, 3], NODATA)

    def sea_strip_dem(self):
        """All land above 0 in the west (columns 0-1 at 0.1 m are the sea to be given), low land
        behind them, a ridge in column 5, more low land, and nodata along the east edge."""
        dem = np.full((12, 12), 3.0)
        dem[:, 0:2] = 0.1
        dem[1:11, 2:5] = 0.2
        dem[1:11, 6:11] = 0.2
        dem[:, 11] = np.nan
        strip = np.zeros(dem.shape, bool)
        strip[:, 0:2] = True
        return dem, strip

    def test_sea_polygons_and_mask_seed_the_sea(self):
        dem, strip = self.sea_strip_dem()
        path = self.dem("dem.tif", dem)
        x0, y0 = ORIGIN
        # From 50 m beyond the west, north and south edges to x0 + 20 m: the border between
        # columns 1 and 2, 5 m from the nearest cell centres.
        ring = utm_rectangle(x0 - 50, y0 + 50, x0 + 20, y0 - 12 * CELL - 50)
        mask = np.zeros(dem.shape, np.uint8)
        mask[:, 0:2] = 7
        mask[:, 2] = 255  # nodata in the mask: not a valid value, so not sea
        seas = {
            "GeoJSON in EPSG:4326": write_geojson_lonlat(self.path("sea.geojson"), ring),
            "GeoPackage in EPSG:32736": write_gpkg_utm(self.path("sea.gpkg"), ring),
            "raster mask": make_mask(self.path("sea-mask.tif"), mask, nodata=255),
        }
        expected = flood_fill(dem, 0.5, "8", sea=strip)
        self.assertTrue(np.allclose(expected[1:11, 2:5], 0.3))
        self.assertTrue((expected[1:11, 6:11] == 0).all())
        for label, sea in seas.items():
            with self.subTest(label):
                out = self.path(f"out-{label.split()[0]}.tif")
                summary = self.inundate_json(path, out, "--sea-level", "0.5", "--sea", sea)
                self.assertEqual(summary["sea_cells"], 24)
                # The DEM's nodata on the east edge is not sea once the sea is given.
                self.assertDepths(read_band(out), expected, label)
        # Without --sea, only the east edge's nodata is sea.
        default = read_band(self.inundate(path, "--sea-level", "0.5"))
        self.assertDepths(default, flood_fill(dem, 0.5, "8"), "default sea")
        self.assertTrue(np.allclose(default[1:11, 6:11], 0.3))
        self.assertTrue((default[:, 0:5] == 0).all())


class Outputs(InundationCase):
    def test_output_is_a_float32_cog_on_the_dem_grid_with_provenance(self):
        path = self.dem("dem.tif", coastal_slope())
        out = self.inundate(path, "--scenario", "ssp245-2100,stress-2m", "--tide", "0.25")
        dem, ds = gdal.Open(path), gdal.Open(out)
        self.assertEqual(ds.GetDriver().ShortName, "GTiff")
        self.assertEqual(ds.GetMetadata("IMAGE_STRUCTURE").get("LAYOUT"), "COG")
        self.assertEqual((ds.RasterXSize, ds.RasterYSize), (dem.RasterXSize, dem.RasterYSize))
        self.assertEqual(ds.GetGeoTransform(), dem.GetGeoTransform())
        self.assertTrue(ds.GetSpatialRef().IsSame(dem.GetSpatialRef()))
        self.assertEqual(ds.RasterCount, 2)
        for k in (1, 2):
            band = ds.GetRasterBand(k)
            self.assertEqual(band.DataType, gdal.GDT_Float32)
            self.assertEqual(band.GetNoDataValue(), NODATA)
            self.assertEqual(band.GetUnitType(), "m")
        self.assertAlmostEqual(band_number(out, 2, "TIDE_M"), 0.25, 6)
        self.assertAlmostEqual(band_number(out, 2, "WATER_LEVEL_M"), 2.25, 6)
        metadata = ds.GetMetadata()
        for key in ["CITYRISK_VERSION", "CITYRISK_COMMAND", "CITYRISK_PARAMETERS",
                    "CITYRISK_FORMULA"]:
            self.assertTrue(metadata.get(key), f"{key} missing: {metadata}")
        self.assertIn("inundation", metadata["CITYRISK_COMMAND"])

    def test_json_summary_matches_the_output(self):
        dem = graded_coast()
        path = self.dem("dem.tif", dem)
        out = self.path("flood.tif")
        names = ["ssp370-2050", "ssp585-2100"]
        summary = self.inundate_json(path, out, "--scenario", ",".join(names), "--tide", "0.1")
        self.assertEqual(summary["output"], out)
        self.assertEqual(summary["sea_cells"], int(find_sea(dem, "8").sum()))
        self.assertEqual([s["name"] for s in summary["scenarios"]], names)
        for k, entry in enumerate(summary["scenarios"]):
            with self.subTest(entry["name"]):
                band = read_band(out, k + 1)
                wet = band > 0
                self.assertAlmostEqual(entry["sea_level_rise_m"], SCENARIOS[names[k]], 6)
                self.assertAlmostEqual(entry["water_level_m"], SCENARIOS[names[k]] + 0.1, 6)
                self.assertEqual(entry["inundated_cells"], int(wet.sum()))
                self.assertGreater(entry["inundated_cells"], 0)
                self.assertAlmostEqual(entry["inundated_area_m2"], wet.sum() * CELL * CELL, 3)
                max_depth = float(band[wet].max())
                self.assertAlmostEqual(entry["max_depth_m"], max_depth, delta=1e-5 * max_depth)

    def test_grid_option_sets_the_output_grid(self):
        path = self.dem("dem.tif", coastal_slope())
        same = read_band(self.inundate(path, "--sea-level", "1", "--grid", path))
        np.testing.assert_array_equal(same, read_band(self.inundate(path, "--sea-level", "1")))
        coarse = make_dem(self.path("coarse.tif"), np.zeros((4, 6)), cell=2 * CELL)
        out = self.inundate(path, "--sea-level", "1", "--grid", coarse)
        ds, ref = gdal.Open(out), gdal.Open(coarse)
        self.assertEqual((ds.RasterXSize, ds.RasterYSize), (6, 4))
        self.assertEqual(ds.GetGeoTransform(), ref.GetGeoTransform())
        self.assertTrue(ds.GetSpatialRef().IsSame(ref.GetSpatialRef()))

    def test_quiet_prints_nothing(self):
        path = self.dem("dem.tif", coastal_slope())
        rc, out, err = run("inundation", "--dem", path, "-o", self.path("out.tif"),
                           "--sea-level", "1", "-q")
        self.assertEqual((rc, out, err), (0, "", ""))

    def test_existing_output_is_left_alone_unless_overwrite(self):
        path = self.dem("dem.tif", coastal_slope())
        out = self.path("out.tif")
        with open(out, "wb") as fp:
            fp.write(b"precious")
        before = os.stat(out).st_mtime_ns
        self.assertError(["inundation", "--dem", path, "-o", out, "--sea-level", "1"], 4, out)
        with open(out, "rb") as fp:
            self.assertEqual(fp.read(), b"precious")
        self.assertEqual(os.stat(out).st_mtime_ns, before)
        self.inundate(path, "--sea-level", "1", "--overwrite", out=out)
        self.assertEqual(band_count(out), 1)

    def test_no_temporary_files_left_after_a_failure(self):
        nosea = np.full((8, 8), 2.0)
        nosea_path = self.dem("nosea.tif", nosea)
        good_path = self.dem("good.tif", coastal_slope())
        folder = self.path("outputs")
        os.mkdir(folder)
        out = os.path.join(folder, "out.tif")
        failures = [
            (["--dem", nosea_path, "--sea-level", "0.5"], 3),
            (["--dem", self.path("missing.tif"), "--sea-level", "0.5"], 1),
            (["--dem", good_path, "--sea-level", "-1"], 2),
            # Fails while the COG is being written (GDAL rejects 7-cell tiles).
            (["--dem", good_path, "--sea-level", "0.5", "-co", "BLOCKSIZE=7"], None),
        ]
        for args, code in failures:
            with self.subTest(args=args):
                rc, _, err = run("inundation", "-o", out, *args)
                self.assertNotEqual(rc, 0)
                if code is not None:
                    self.assertEqual(rc, code, err)
                else:
                    self.assertIn(out, err.splitlines()[-1])
                self.assertEqual(os.listdir(folder), [], err)
        with open(out, "wb") as fp:
            fp.write(b"precious")
        rc, _, _ = run("inundation", "--dem", good_path, "-o", out, "--sea-level", "0.5")
        self.assertEqual(rc, 4)
        self.assertEqual(os.listdir(folder), ["out.tif"])


class Scenarios(InundationCase):
    def scenario_value(self, text, name):
        """The first number after name on its line of `--list-scenarios`."""
        match = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])\D*?(-?\d+(?:\.\d+)?)", text)
        self.assertIsNotNone(match, f"{name} not listed:\n{text}")
        return float(match.group(1))

    def test_list_scenarios_text(self):
        rc, out, err = run("inundation", "--list-scenarios")
        self.assertEqual(rc, 0, err)
        self.assertIn("IPCC AR6", out)
        for name, value in SCENARIOS.items():
            self.assertAlmostEqual(self.scenario_value(out, name), value, 6, name)
        self.assertNotIn("stress-2m-p", out)

    def test_list_scenarios_json(self):
        rc, out, err = run("inundation", "--list-scenarios", "--json")
        self.assertEqual(rc, 0, err)
        listed = {s["name"]: s["sea_level_rise_m"] for s in json.loads(out)}
        for name, value in SCENARIOS.items():
            self.assertAlmostEqual(listed.get(name, -1), value, 6, name)
        self.assertNotIn("stress-2m-p17", listed)
        self.assertNotIn("stress-2m-p83", listed)

    def test_likely_range_ends(self):
        path = self.dem("dem.tif", graded_coast())
        names = list(LIKELY_RANGE_ENDS)
        out = self.inundate(path, "--scenario", ",".join(names))
        for k, name in enumerate(names):
            self.assertIn(name, band_description(out, k + 1))
            self.assertAlmostEqual(band_number(out, k + 1, "SEA_LEVEL_RISE_M"),
                                   LIKELY_RANGE_ENDS[name], 6, name)

    def test_every_listed_scenario_and_its_range_runs(self):
        rc, out, _ = run("inundation", "--list-scenarios", "--json")
        self.assertEqual(rc, 0)
        listed = [s["name"] for s in json.loads(out)]
        ranged = [n for n in listed if n != "stress-2m"]
        names = listed + [n + "-p17" for n in ranged] + [n + "-p83" for n in ranged]
        path = self.dem("dem.tif", graded_coast())
        result = self.inundate(path, "--scenario", ",".join(names))
        self.assertEqual(band_count(result), len(names))
        level = {name: band_number(result, k + 1, "WATER_LEVEL_M")
                 for k, name in enumerate(names)}
        for name in listed:
            self.assertAlmostEqual(level[name], SCENARIOS[name], 6, name)
        for name in ranged:
            self.assertLess(level[name + "-p17"], level[name], name)
            self.assertGreater(level[name + "-p83"], level[name], name)


class BadInputs(InundationCase):
    def test_usage_errors_exit_2(self):
        path = self.dem("dem.tif", coastal_slope())
        out = self.path("out.tif")
        base = ["inundation", "--dem", path, "-o", out]
        cases = [
            (["--sea-level", "-1"], "-1"),
            (["--sea-level", "0.5,-0.1"], "-0.1"),
            (["--sea-level", "nan"], "nan"),
            (["--sea-level", "high"], "high"),
            (["--sea-level", "0.5", "--scenario", "ssp245-2100"], ""),
            ([], ""),
            (["--scenario", "ssp999-2100"], "ssp999-2100"),
            (["--scenario", "ssp245-2100,stress-2m-p83"], "stress-2m-p83"),
            (["--scenario", "stress-2m-p17"], "stress-2m-p17"),
            (["--sea-level", "0.5", "--connectivity", "6"], "6"),
            (["--sea-level", "0.5", "--connectivity", "diagonal"], "diagonal"),
            (["--sea-level", "0.5", "--tile-size", "0"], "0"),
            (["--sea-level", "0.5", "--tile-size", "big"], "big"),
            (["--sea-level", "0.5", "--dem-unit", "furlong"], "furlong"),
            (["--sea-level", "0.5", "--tide", "high"], "high"),
            (["--sea-level", "0.5,"], "''"),
            (["--scenario", "ssp245-2100,,stress-2m"], "empty name"),
            # decimal numbers only (issue 16, point 18): not C's hexadecimal floating point
            (["--sea-level", "0x1p-1"], "0x1p-1"),
            (["--sea-level", "0.5", "--tide", "0x1"], "--tide wants a number, not '0x1'"),
            # levels a Float32 output cannot hold (point 15): refused, never written as +Inf
            (["--sea-level", "1e39"], "sea-level rise 1e+39 m is beyond what a Float32 output "
                                      "holds (3.402823466e+38)"),
            (["--sea-level", "0.5", "--surge", "-1e39"], "surge -1e+39 m is beyond"),
            (["--sea-level", ",".join(["1"] * 1001)],
             "1001 sea levels: at most 1000 make one output"),
            (["--sea-level", "3e38", "--tide", "3e38"],
             "water level W = 6e+38 m (sea-level rise 3e+38 + tide 3e+38 + surge 0 - datum "
             "offset 0) is beyond what a Float32 output holds"),
        ]
        for extra, needle in cases:
            with self.subTest(args=extra):
                self.assertUsageError(base + extra, needle)
                self.assertFalse(os.path.exists(out))
        self.assertUsageError(["inundation", "--dem", path, "--sea-level", "0.5"])
        self.assertUsageError(["inundation", "-o", out, "--sea-level", "0.5"])
        self.assertFalse(os.path.exists(out))

    def test_depth_beyond_float32_stops_the_run(self):
        # W = 1e38 over an inland cell at -3e38 (a Float32 DEM holds it) would be a depth of
        # 4e38: beyond Float32, it is refused naming the cell, never written as +Inf.
        dem = np.full((4, 4), 1.0)
        dem[:, 0] = np.nan
        dem[1, 2] = -3e38
        path = self.dem("deep.tif", dem)
        out = self.path("out.tif")
        self.assertError(["inundation", "--dem", path, "-o", out, "--sea-level", "1e38",
                          "--connectivity", "none"], 3,
                         # -3e38 as a Float32 is -3.0000000055e38
                         "depth W - z = 4.000000005e+38 m at grid cell column 2, row 1",
                         "is beyond what a Float32 output holds")
        self.assertEqual(sorted(os.listdir(self.tmp)), ["deep.tif"])
        # 1e31 over it still fits: 3.0000001e38.
        got = read_band(self.inundate(path, "--sea-level", "1e31", "--connectivity", "none"))
        self.assertTrue(np.isfinite(got).all())
        self.assertAlmostEqual(float(got[1, 2]) / 3e38, 1.0, places=6)

    def test_output_that_is_the_input_is_refused(self):
        path = self.dem("dem.tif", coastal_slope())
        with open(path, "rb") as fp:
            before = fp.read()
        self.assertError(["inundation", "--dem", path, "-o", path, "--sea-level", "0.5",
                          "--overwrite"], 2, path)
        with open(path, "rb") as fp:
            self.assertEqual(fp.read(), before)

    def test_missing_dem(self):
        missing = self.path("missing.tif")
        self.assertError(["inundation", "--dem", missing, "-o", self.path("out.tif"),
                          "--sea-level", "0.5"], 1, missing)

    def test_text_file_named_tif(self):
        fake = self.path("fake.tif")
        with open(fake, "w") as fp:
            fp.write("this is not a raster\n")
        self.assertError(["inundation", "--dem", fake, "-o", self.path("out.tif"),
                          "--sea-level", "0.5"], 3, fake)

    def test_missing_sea_file(self):
        path = self.dem("dem.tif", coastal_slope())
        missing = self.path("missing.geojson")
        self.assertError(["inundation", "--dem", path, "-o", self.path("out.tif"),
                          "--sea-level", "0.5", "--sea", missing], 1, missing)


class SampleCity(InundationCase):
    def test_stress_2m_on_the_sample_dem(self):
        dem_path = sample("dem.tif")
        connected = self.inundate(dem_path, "--scenario", "stress-2m")
        bathtub = self.inundate(dem_path, "--scenario", "stress-2m", "--connectivity", "none")
        src, ds = gdal.Open(dem_path), gdal.Open(connected)
        self.assertEqual(ds.GetMetadata("IMAGE_STRUCTURE").get("LAYOUT"), "COG")
        self.assertEqual((ds.RasterXSize, ds.RasterYSize), (src.RasterXSize, src.RasterYSize))
        self.assertEqual(ds.GetGeoTransform(), src.GetGeoTransform())
        self.assertTrue(ds.GetSpatialRef().IsSame(src.GetSpatialRef()))
        self.assertIn("stress-2m", ds.GetRasterBand(1).GetDescription())
        wet, wet_bathtub = read_band(connected) > 0, read_band(bathtub) > 0
        self.assertGreater(int(wet.sum()), 0)
        self.assertTrue((wet_bathtub | ~wet).all(), "connected floods only what bathtub does")
        # The polder and the lagoon: flooded by the bathtub, kept dry by connectivity.
        cut_off = wet_bathtub & ~wet
        self.assertGreater(int(cut_off.sum()), 1000)
        big = [size for size in components(cut_off) if size >= 200]
        self.assertGreaterEqual(len(big), 2, sorted(components(cut_off))[-5:])
        dem = read_dem(dem_path)
        self.assertDepths(read_band(connected), flood_fill(dem, 2.0, "8"), "sample, 8")

    def test_sample_dem_same_across_tile_sizes(self):
        dem_path = sample("dem.tif")
        default = read_band(self.inundate(dem_path, "--scenario", "stress-2m",
                                          "--connectivity", "4"))
        tiled = read_band(self.inundate(dem_path, "--scenario", "stress-2m",
                                        "--connectivity", "4", "--tile-size", "100"))
        np.testing.assert_array_equal(tiled, default)
        self.assertDepths(default, flood_fill(read_dem(dem_path), 2.0, "4"), "sample, 4")


class CustomLevelNames(InundationCase):
    """Issue 18, point 12: levels given in metres are named sl<M>, with two decimals, so that
    score --scenario and zonal's property suffixes can name them as they do presets."""

    def levels(self):
        out = self.path("levels.tif")
        rc, _, err = run("inundation", "--dem", sample("dem.tif"), "--sea-level", "0.5,1.0,0.125",
                         "-o", out)
        self.assertEqual(rc, 0, err)
        return out, err

    def test_bands_are_named_sl_and_the_rise_with_two_decimals(self):
        out, err = self.levels()
        ds = gdal.Open(out)
        names = [ds.GetRasterBand(b).GetMetadataItem("SCENARIO") for b in (1, 2, 3)]
        self.assertEqual(names, ["sl0.50", "sl1.00", "sl0.125"])
        self.assertEqual(band_description(out, 1), "sl0.50 (W=0.500 m)")
        self.assertEqual(band_description(out, 2), "sl1.00 (W=1.000 m)")
        self.assertIn("sl1.00, W=1.000 m:", err)

    def test_score_scenario_picks_the_named_band(self):
        out, _ = self.levels()
        arrivals = self.path("arrivals.tif")
        rc, _, err = run("arrivals", "--points", sample("arrivals.csv"), "--count-field", "arrivals",
                         "--grid", sample("dem.tif"), "-o", arrivals)
        self.assertEqual(rc, 0, err)
        common = ["score", "--sea", out, "--water", sample("water_stress.tif"), "--informal",
                  sample("settlement.tif"), "--arrivals", arrivals, "--grid", sample("dem.tif")]
        rc, _, err = run(*common, "--scenario", "sl1.00", "-o", self.path("named.tif"))
        self.assertEqual(rc, 0, err)
        rc, _, err = run(*common, "--sea-band", "2", "-o", self.path("band2.tif"))
        self.assertEqual(rc, 0, err)
        named, band2 = gdal.Open(self.path("named.tif")), gdal.Open(self.path("band2.tif"))
        for b in range(1, named.RasterCount + 1):
            np.testing.assert_array_equal(named.GetRasterBand(b).ReadAsArray(),
                                          band2.GetRasterBand(b).ReadAsArray())
        # The sea band really is the 1.00 m one: the 0.50 m band scores differently.
        rc, _, err = run(*common, "--scenario", "sl0.50", "-o", self.path("half.tif"))
        self.assertEqual(rc, 0, err)
        half = gdal.Open(self.path("half.tif"))
        self.assertFalse(np.array_equal(half.GetRasterBand(1).ReadAsArray(),
                                        named.GetRasterBand(1).ReadAsArray()))

    def test_zonal_properties_end_in_the_level_names(self):
        out, _ = self.levels()
        table = self.path("zones.geojson")
        rc, _, err = run("zonal", "--zones", sample("neighbourhoods.gpkg"), "--sea", out, "-o", table)
        self.assertEqual(rc, 0, err)
        ds = ogr.Open(table)
        defn = ds.GetLayer(0).GetLayerDefn()
        fields = [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())]
        for suffix in ("_sl0_50", "_sl1_00", "_sl0_125"):
            self.assertIn("flood_area_share" + suffix, fields)
        self.assertFalse([f for f in fields if "band" in f], fields)


if __name__ == "__main__":
    unittest.main()
