"""End-to-end: the grid options every command that writes a raster or reads several takes
(issue 18, point 5): --grid REF, or --crs CRS --resolution M [--bounds XMIN,YMIN,XMAX,YMAX].

The expected grids come from GDAL itself: gdalwarp -t_srs CRS -tr M M -tap [-te ...] on the
input whose extent the command takes by default, whose geotransform and size the command's
output must have exactly.
"""
import json
import os
import unittest

from osgeo import gdal

from cliutil import CliTestCase, run, sample

gdal.UseExceptions()

UTM = "EPSG:32736"
# Inside the sample city (x 683760 .. 703770, y 7796250 .. 7816260), not on any multiple of 45.
BOUNDS = (690010.0, 7800020.0, 694990.0, 7804990.0)


def bounds_text(b):
    return ",".join(repr(v) for v in b)


def grid_of(path):
    ds = gdal.Open(path)
    return ds.GetGeoTransform(), (ds.RasterXSize, ds.RasterYSize)


class GridCase(CliTestCase):
    def reference(self, source, crs, res, bounds=None):
        """The grid gdalwarp -t_srs crs -tr res res -tap [-te bounds] makes of source."""
        out = self.path(f"reference-{len(os.listdir(self.tmp))}.tif")
        options = gdal.WarpOptions(dstSRS=crs, xRes=res, yRes=res, targetAlignedPixels=True,
                                   outputBounds=bounds)
        gdal.Warp(out, source, options=options)
        return grid_of(out)

    def assertSameGrid(self, got, expected):
        (gt, size), (egt, esize) = got, expected
        self.assertEqual(size, esize)
        for a, b in zip(gt, egt):
            self.assertAlmostEqual(a, b, delta=1e-9 * max(1.0, abs(b)))

    def ok(self, *args):
        rc, out, err = run(*args)
        self.assertEqual(rc, 0, err)
        return out

    def depth(self):
        """A one-band depth raster on the sample DEM's grid, for score and zonal."""
        out = self.path("depth.tif")
        if not os.path.exists(out):
            self.ok("inundation", "--dem", sample("dem.tif"), "--scenario", "stress-2m", "-o", out)
        return out

    def arrivals(self):
        out = self.path("arrivals.tif")
        if not os.path.exists(out):
            self.ok("arrivals", "--points", sample("arrivals.csv"), "--count-field", "arrivals",
                    "--grid", sample("dem.tif"), "-o", out)
        return out

    def score_args(self):
        return ["score", "--sea", self.depth(), "--water", sample("water_stress.tif"),
                "--informal", sample("settlement.tif"), "--arrivals", self.arrivals()]


class EveryCommand(GridCase):
    def test_inundation_crs_and_resolution_cover_the_dem_as_gdalwarp_does(self):
        for crs, res in ((UTM, 25.0), ("EPSG:4326", 0.0003)):
            with self.subTest(crs=crs):
                out = self.path(f"flood-{res}.tif")
                self.ok("inundation", "--dem", sample("dem.tif"), "--sea-level", "1", "--crs", crs,
                        "--resolution", repr(res), "-o", out)
                self.assertSameGrid(grid_of(out), self.reference(sample("dem.tif"), crs, res))

    def test_inundation_bounds_are_snapped_outwards(self):
        out = self.path("flood.tif")
        self.ok("inundation", "--dem", sample("dem.tif"), "--sea-level", "1", "--crs", UTM,
                "--resolution", "45", "--bounds", bounds_text(BOUNDS), "-o", out)
        expected = self.reference(sample("dem.tif"), UTM, 45.0, BOUNDS)
        self.assertSameGrid(grid_of(out), expected)
        # By hand: 690010 -> 689985 (15333 x 45), 7804990 -> 7805025 (173445 x 45).
        self.assertEqual(grid_of(out)[0][0], 689985.0)
        self.assertEqual(grid_of(out)[0][3], 7805025.0)

    def test_score_crs_covers_the_sea_raster_and_bounds_win(self):
        out = self.path("exposure.tif")
        self.ok(*self.score_args(), "--crs", UTM, "--resolution", "45", "-o", out)
        self.assertSameGrid(grid_of(out), self.reference(self.depth(), UTM, 45.0))
        bounded = self.path("exposure-bounded.tif")
        self.ok(*self.score_args(), "--crs", "EPSG:4326", "--resolution", "0.001",
                "--bounds", "34.8,-19.85,34.85,-19.8", "-o", bounded)
        self.assertSameGrid(grid_of(bounded),
                            self.reference(self.depth(), "EPSG:4326", 0.001, (34.8, -19.85, 34.85, -19.8)))

    def test_zonal_reads_every_raster_onto_the_grid_given(self):
        summary = json.loads(self.ok("zonal", "--zones", sample("neighbourhoods.gpkg"), "--sea", self.depth(),
                                     "--arrivals", self.arrivals(), "--crs", UTM, "--resolution", "45",
                                     "--bounds", bounds_text(BOUNDS), "-o", self.path("z.geojson"), "--json"))
        (gt, size) = self.reference(sample("dem.tif"), UTM, 45.0, BOUNDS)
        grid = summary["grid"]
        self.assertEqual([grid["width"], grid["height"]], list(size))
        self.assertEqual(grid["resolution"], [45, 45])
        self.assertEqual(grid["bounds"], [gt[0], gt[3] + size[1] * gt[5], gt[0] + size[0] * gt[1], gt[3]])
        # Without --bounds: the first raster's extent (the sea raster, the DEM's grid).
        summary = json.loads(self.ok("zonal", "--zones", sample("neighbourhoods.gpkg"), "--sea", self.depth(),
                                     "--crs", UTM, "--resolution", "45", "-o", self.path("z2.geojson"), "--json"))
        (gt, size) = self.reference(self.depth(), UTM, 45.0)
        self.assertEqual([summary["grid"]["width"], summary["grid"]["height"]], list(size))
        # --grid REF: the reference raster's grid.
        ref = self.path("ref.tif")
        gdal.Warp(ref, sample("dem.tif"), options=gdal.WarpOptions(xRes=90, yRes=90, targetAlignedPixels=True))
        summary = json.loads(self.ok("zonal", "--zones", sample("neighbourhoods.gpkg"), "--sea", self.depth(),
                                     "--grid", ref, "-o", self.path("z3.geojson"), "--json"))
        self.assertEqual([summary["grid"]["width"], summary["grid"]["height"]], list(grid_of(ref)[1]))

    def test_arrivals_takes_the_same_options(self):
        out = self.path("arrivals-45.tif")
        self.ok("arrivals", "--points", sample("arrivals.csv"), "--count-field", "arrivals", "--crs", UTM,
                "--resolution", "45", "--bounds", bounds_text(BOUNDS), "-o", out)
        self.assertSameGrid(grid_of(out), self.reference(sample("dem.tif"), UTM, 45.0, BOUNDS))

    def test_the_same_usage_errors_everywhere(self):
        commands = {
            "inundation": ["inundation", "--dem", sample("dem.tif"), "--sea-level", "1"],
            "arrivals": ["arrivals", "--points", sample("arrivals.csv")],
            "score": self.score_args(),
            "zonal": ["zonal", "--zones", sample("neighbourhoods.gpkg"), "--sea", sample("dem.tif")],
        }
        cases = [
            (["--grid", sample("dem.tif"), "--crs", UTM, "--resolution", "30"],
             "--grid takes the grid from a raster: leave out --resolution, --crs and --bounds"),
            (["--crs", UTM], "--crs needs --resolution"),
            (["--resolution", "30"], "--resolution needs --crs"),
            (["--bounds", bounds_text(BOUNDS)], "--bounds needs --crs and --resolution"),
            (["--crs", UTM, "--resolution", "0"], "--resolution wants a positive number of CRS units, not '0'"),
            (["--crs", UTM, "--resolution", "30", "--bounds", "1,2,3"], "--bounds wants xmin,ymin,xmax,ymax, not '1,2,3'"),
            (["--crs", UTM, "--resolution", "30", "--bounds", "5,0,1,10"], "--bounds 5,0,1,10 is empty"),
        ]
        for name, args in commands.items():
            for extra, message in cases:
                with self.subTest(command=name, args=extra):
                    out = self.path(f"{name}.out")
                    rc, _, err = run(*args, *extra, "-o", out)
                    self.assertEqual(rc, 2, err)
                    self.assertIn(f"cityrisk {name}: {message}", err)
                    self.assertFalse(os.path.exists(out))

    def test_a_pipeline_stage_takes_the_grid_keys(self):
        pipeline = self.path("p.json")
        with open(pipeline, "w") as fh:
            json.dump({"stages": [
                {"stage": "inundation", "dem": sample("dem.tif"), "sea-level": 1, "crs": UTM, "resolution": 45,
                 "bounds": bounds_text(BOUNDS), "output": "flood.tif"},
                {"stage": "zonal", "zones": sample("neighbourhoods.gpkg"), "sea": "flood.tif", "crs": UTM,
                 "resolution": 90, "output": "zones.geojson"},
            ]}, fh)
        rc, out, err = run("run", "-q", pipeline)
        self.assertEqual(rc, 0, err)
        self.assertSameGrid(grid_of(self.path("flood.tif")), self.reference(sample("dem.tif"), UTM, 45.0, BOUNDS))
        self.assertTrue(os.path.exists(self.path("zones.geojson")))


if __name__ == "__main__":
    unittest.main()
