"""End-to-end: local relative sea level in `cityrisk inundation` (issue 20 point 2).

Vertical land motion (--vlm, subsidence negative) moves the land before the flood: land that
sinks by s metres meets water s metres deeper. The expected depths come from the in-test
flood fill of test_inundation.py run on the DEM plus the land motion (the sea still told from
the DEM as it is), with the motion computed by hand or, for a raster in another CRS, by GDAL's
own warp (as `gdalwarp -r bilinear`). Local projections (--projections, CSV or an AR6-shaped
NetCDF written here with GDAL's multidimensional API) give --scenario its local values.
"""
import json
import math
import os
import unittest

import numpy as np
from osgeo import gdal, osr

from cliutil import run
from test_inundation import (CELL, EPSG, ORIGIN, InundationCase, find_sea, flood_fill,
                             make_dem, read_band)

gdal.UseExceptions()


def expected(dem, water_level, vlm_m=0.0, conn="8"):
    """Depths with land motion vlm_m (metres, scalar or array; NaN = no motion): the sea from
    the DEM as it is, the flood over the moved land."""
    sea = find_sea(dem, conn)
    motion = np.nan_to_num(np.broadcast_to(np.asarray(vlm_m, dtype=np.float64), dem.shape), nan=0.0)
    return flood_fill(dem + motion, water_level, conn, sea=sea)


def coast():
    """Sea in the west (nodata, then a shelf at -1), a beach at 0.2, a ridge of cells at 0.5
    (dry at W = 0.45), a hollow at 0.42 behind it (below 0.45 but cut off), land at 2."""
    dem = np.full((6, 8), 2.0)
    dem[:, 0] = np.nan
    dem[:, 1] = -1.0
    dem[:, 2] = 0.2
    dem[:, 3] = 0.5
    dem[1:5, 4] = 0.42
    return dem


def utm_to_lonlat():
    utm = osr.SpatialReference()
    utm.ImportFromEPSG(EPSG)
    wgs84 = osr.SpatialReference()
    wgs84.ImportFromEPSG(4326)
    wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return osr.CoordinateTransformation(utm, wgs84)


def warp_bilinear(path, rows, cols):
    """path warped onto the DEM grid of make_dem as `gdalwarp -of VRT -r bilinear -wt Float64
    -dstnodata nan` (the way cityrisk reads a layer off the grid); NaN where no value."""
    bounds = (ORIGIN[0], ORIGIN[1] - rows * CELL, ORIGIN[0] + cols * CELL, ORIGIN[1])
    vrt = f"/vsimem/vlm-warp-{os.getpid()}.vrt"
    ds = gdal.Warp(vrt, path, format="VRT", dstSRS=f"EPSG:{EPSG}", outputBounds=bounds,
                   width=cols, height=rows, resampleAlg="bilinear", workingType=gdal.GDT_Float64,
                   outputType=gdal.GDT_Float32, dstNodata=float("nan"))
    values = ds.GetRasterBand(1).ReadAsArray().astype(np.float64)
    ds = None
    gdal.Unlink(vrt)
    return values


def write_ar6_netcdf(path, locations, quantiles, years, values_mm, attrs=None):
    """An AR6-shaped file: sea_level_change(quantiles, years, locations) in mm (Int16, as AR6
    stores it), with quantiles (0..1), years, locations and lat/lon(locations).
    locations: [(id, lat, lon)]; values_mm: array (quantiles, years, locations)."""
    ds = gdal.GetDriverByName("netCDF").CreateMultiDimensional(path)
    root = ds.GetRootGroup()
    for key, value in (attrs or {}).items():
        attr = root.CreateAttribute(key, [], gdal.ExtendedDataType.CreateString())
        attr.Write(value)
    dq = root.CreateDimension("quantiles", None, None, len(quantiles))
    dy = root.CreateDimension("years", None, None, len(years))
    dl = root.CreateDimension("locations", None, None, len(locations))

    def var(name, dims, dtype, values):
        array = root.CreateMDArray(name, dims, gdal.ExtendedDataType.Create(dtype))
        array.Write(np.asarray(values))
        return array

    var("quantiles", [dq], gdal.GDT_Float64, quantiles)
    var("years", [dy], gdal.GDT_Int32, years)
    var("locations", [dl], gdal.GDT_Int32, [l[0] for l in locations])
    var("lat", [dl], gdal.GDT_Float32, [l[1] for l in locations])
    var("lon", [dl], gdal.GDT_Float32, [l[2] for l in locations])
    slc = var("sea_level_change", [dq, dy, dl], gdal.GDT_Int16, np.asarray(values_mm, np.int16))
    slc.SetUnit("mm")
    slc = ds = None
    return path


def great_circle_km(lon1, lat1, lon2, lat2):
    """Haversine on a sphere of the mean Earth radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def band_metadata(path, band=1):
    ds = gdal.Open(path)
    return dict(ds.GetRasterBand(band).GetMetadata())


class VerticalLandMotion(InundationCase):
    def test_subsidence_floods_a_cell_dry_without_it(self):
        dem = coast()
        path = self.dem("coast.tif", dem)
        plain = read_band(self.inundate(path, "--sea-level", "0.45"))
        self.assertEqual(plain[2, 3], 0.0, "z = 0.5 is dry at W = 0.45")
        # -2 mm/yr over 50 years: the land sinks 0.1 m; z = 0.5 lies at 0.4, 0.05 under W.
        out = self.inundate(path, "--sea-level", "0.45", "--vlm", "-2", "--years", "50")
        got = read_band(out)
        self.assertAlmostEqual(got[2, 3], 0.05, places=5)
        self.assertAlmostEqual(got[2, 2], 0.45 - (0.2 - 0.1), places=5)
        self.assertDepths(got, expected(dem, 0.45, -0.1), "vlm -2 mm/yr x 50 yr")
        # The hollow at 0.42 behind the 0.5 ridge joins the sea once the ridge sinks to 0.4.
        self.assertEqual(plain[2, 4], 0.0)
        self.assertAlmostEqual(got[2, 4], 0.45 - 0.32, places=5)
        md = band_metadata(out)
        self.assertEqual(md["VLM_SOURCE"], "value")
        self.assertAlmostEqual(float(md["VLM_M"]), -0.1, places=12)
        self.assertEqual(md["YEARS"], "50")
        self.assertEqual(md["SEA_LEVEL_SOURCE"], "sea-level rise given in metres")
        params = json.loads(gdal.Open(out).GetMetadataItem("CITYRISK_PARAMETERS"))
        self.assertEqual(params["vlm"]["unit"], "mm/yr")
        self.assertAlmostEqual(params["vlm"]["vlm_m"], -0.1, places=12)
        self.assertIn("vlm_m", gdal.Open(out).GetMetadataItem("CITYRISK_FORMULA"))

    def test_metres_give_the_same_as_mm_per_year_times_years(self):
        dem = coast()
        path = self.dem("coast.tif", dem)
        mm = read_band(self.inundate(path, "--sea-level", "0.45", "--vlm", "-2", "--years", "50"))
        metres = self.inundate(path, "--sea-level", "0.45", "--vlm", "-0.1", "--vlm-unit", "m")
        self.assertDepths(read_band(metres), mm, "-0.1 m against -2 mm/yr x 50")
        self.assertNotIn("YEARS", band_metadata(metres))

    def test_uplift_dries_land(self):
        dem = coast()
        path = self.dem("coast.tif", dem)
        # +3 mm/yr over 80 years: 0.24 m up; the beach at 0.2 lies at 0.44, dry at W = 0.4.
        got = read_band(self.inundate(path, "--sea-level", "0.4", "--vlm", "3", "--years", "80"))
        self.assertEqual(got[2, 2], 0.0)
        self.assertDepths(got, expected(dem, 0.4, 0.24), "uplift")

    def test_sea_is_told_from_the_dem_as_it_is(self):
        """Land at 0.05 sinking 0.1 m lies below 0 but is land that floods, not sea."""
        dem = coast()
        dem[:, 2] = 0.05
        path = self.dem("low.tif", dem)
        out = self.inundate(path, "--sea-level", "0.3", "--vlm", "-0.1", "--vlm-unit", "m")
        got = read_band(out)
        self.assertAlmostEqual(got[3, 2], 0.3 - (0.05 - 0.1), places=5)
        self.assertDepths(got, expected(dem, 0.3, -0.1), "land below 0 after motion")

    def test_vlm_raster_in_another_crs_is_read_bilinear(self):
        """A coarse EPSG:4326 VLM raster over the UTM DEM: the motion is the bilinear warp of
        it onto the DEM's grid, as gdalwarp -r bilinear makes it."""
        rows, cols = 30, 36
        rng = np.random.default_rng(20)
        dem = rng.uniform(0.1, 0.5, (rows, cols))
        dem[:, 0] = np.nan
        path = self.dem("dem.tif", dem)
        # The VLM grid: 0.0005 degree cells (about 50 m) covering the DEM with a margin.
        to_ll = utm_to_lonlat()
        corners = [to_ll.TransformPoint(x, y)[:2] for x in (ORIGIN[0], ORIGIN[0] + cols * CELL)
                   for y in (ORIGIN[1], ORIGIN[1] - rows * CELL)]
        lon0 = min(c[0] for c in corners) - 0.002
        lat1 = max(c[1] for c in corners) + 0.002
        step = 0.0005
        vrows, vcols = 20, 20
        jj, ii = np.meshgrid(np.arange(vcols), np.arange(vrows))
        vlm = -8.0 + 0.6 * jj - 0.3 * ii + 1.5 * np.sin(ii * jj / 7.0)  # mm/yr
        vpath = make_dem(self.path("vlm.tif"), vlm, cell=step, origin=(lon0, lat1), epsg=4326)
        warped = warp_bilinear(vpath, rows, cols)
        self.assertFalse(np.isnan(warped).any(), "fixture: the VLM raster misses the DEM")
        self.assertGreater(np.ptp(warped[:, 1:]), 1.0, "fixture: VLM nearly constant")
        out = self.inundate(path, "--sea-level", "1.0", "--vlm", vpath, "--years", "40")
        got = read_band(out)
        want = expected(dem, 1.0, warped * 40 / 1000)
        self.assertDepths(got, want, "VLM raster, bilinear as gdalwarp")
        # Every land cell floods at W = 1: depth = W - z - vlm_m, the motion read back.
        land = ~np.isnan(dem)
        land[:, :2] = False
        motion = (1.0 - dem - got)[land]
        np.testing.assert_allclose(motion, (warped * 0.04)[land], atol=2e-6)
        md = band_metadata(out)
        self.assertEqual(md["VLM_SOURCE"], f"raster {vpath}")
        self.assertNotIn("VLM_M", md)
        self.assertIn(vpath, gdal.Open(out).GetMetadataItem("CITYRISK_INPUTS"))

    def test_vlm_nodata_inside_the_dem_is_no_motion_with_a_warning(self):
        dem = coast()
        path = self.dem("coast.tif", dem)
        vlm = np.full(dem.shape, -4.0)
        vlm[0:3, 2:4] = np.nan  # 6 land cells without a value
        vlm[:, 0] = np.nan      # over the sea: not counted
        vpath = make_dem(self.path("vlm.tif"), vlm)
        out = self.path("out.tif")
        rc, _, err = run("inundation", "--dem", path, "-o", out, "--sea-level", "0.45", "--vlm",
                         vpath, "--years", "25")
        self.assertEqual(rc, 0, err)
        self.assertIn("no value for 6 land cells", err)
        motion = vlm * 25 / 1000
        self.assertDepths(read_band(out), expected(dem, 0.45, motion), "VLM with holes")

    def test_usage_errors(self):
        path = self.dem("coast.tif", coast())
        out = self.path("out.tif")
        base = ["inundation", "--dem", path, "-o", out, "--sea-level", "0.5"]
        self.assertUsageError(base + ["--vlm", "-2"], "--years")
        self.assertUsageError(base + ["--years", "50"], "--years")
        self.assertUsageError(base + ["--vlm", "-0.1", "--vlm-unit", "m", "--years", "5"], "--years")
        self.assertUsageError(base + ["--vlm", "-2", "--years", "0"], "--years")
        self.assertFalse(os.path.exists(out))

    def test_output_may_not_be_the_vlm_raster(self):
        path = self.dem("coast.tif", coast())
        vpath = make_dem(self.path("vlm.tif"), np.zeros((6, 8)))
        with open(vpath, "rb") as fp:
            before = fp.read()
        rc, _, err = run("inundation", "--dem", path, "-o", vpath, "--overwrite", "--sea-level",
                         "0.5", "--vlm", vpath, "--vlm-unit", "m")
        self.assertNotEqual(rc, 0, err)
        # refused as -o over the DEM is: the same exit code, the file named
        rc_dem, _, err_dem = run("inundation", "--dem", path, "-o", path, "--overwrite", "--sea-level", "0.5")
        self.assertEqual(rc, rc_dem, err + err_dem)
        self.assertIn("vlm.tif", err)
        with open(vpath, "rb") as fp:
            self.assertEqual(fp.read(), before)


CSV = """Scenario,YEAR,quantile,Sea_Level_Change_m
ssp245,2050,50,0.21
ssp245,2050,17,0.15
ssp245,2050,83,0.29
ssp245,2100,50,0.38
ssp245,2100,17,0.27
ssp245,2100,83,0.61
SSP5-8.5,2100,50,0.52
"""


class LocalProjections(InundationCase):
    def test_csv_values_replace_the_global_presets(self):
        dem = coast()
        path = self.dem("coast.tif", dem)
        csv = self.path("local.csv")
        with open(csv, "w", encoding="utf-8") as fp:
            fp.write(CSV)
        out = self.path("out.tif")
        summary = self.inundate_json(path, out, "--scenario",
                                     "ssp245-2100,ssp245-2100-p17,ssp245-2100-p83,ssp585-2100",
                                     "--projections", csv)
        local = [0.38, 0.27, 0.61, 0.52]
        self.assertEqual([s["sea_level_rise_m"] for s in summary["scenarios"]], local)
        self.assertEqual(summary["sea_level_source"], f"local projections {csv}")
        for band, rise in enumerate(local, start=1):
            self.assertDepths(read_band(out, band), expected(dem, rise), f"band {band}")
            md = band_metadata(out, band)
            self.assertAlmostEqual(float(md["SEA_LEVEL_RISE_M"]), rise, places=12)
            self.assertEqual(md["SEA_LEVEL_SOURCE"], f"local projections {csv}")
        params = json.loads(gdal.Open(out).GetMetadataItem("CITYRISK_PARAMETERS"))
        self.assertEqual(params["sea_level_source"], f"local projections {csv}")

    def test_mm_column_with_vlm(self):
        dem = coast()
        path = self.dem("coast.tif", dem)
        csv = self.path("mm.csv")
        with open(csv, "w", encoding="utf-8") as fp:
            fp.write("scenario,year,quantile,sea_level_change_mm\nssp126,2100,50,330\n")
        out = self.inundate(path, "--scenario", "ssp126-2100", "--projections", csv, "--vlm", "-1.5",
                            "--years", "80")
        self.assertDepths(read_band(out), expected(dem, 0.33, -0.12), "mm and VLM")

    def test_global_presets_stay_the_default(self):
        path = self.dem("coast.tif", coast())
        out = self.inundate(path, "--scenario", "ssp245-2100")
        md = band_metadata(out)
        self.assertEqual(md["SEA_LEVEL_SOURCE"], "global AR6 preset")
        self.assertAlmostEqual(float(md["SEA_LEVEL_RISE_M"]), 0.56, places=12)

    def test_list_scenarios_shows_the_local_values(self):
        csv = self.path("local.csv")
        with open(csv, "w", encoding="utf-8") as fp:
            fp.write(CSV)
        rc, out, err = run("inundation", "--list-scenarios", "--projections", csv, "--json")
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        rows = {s["name"]: s for s in doc["scenarios"]}
        self.assertEqual(rows["ssp245-2100"]["sea_level_rise_m"], 0.38)
        self.assertEqual(rows["ssp245-2100"]["p17_m"], 0.27)
        self.assertEqual(rows["ssp245-2050"]["p83_m"], 0.29)
        self.assertIsNone(rows["ssp585-2100"]["p17_m"])
        rc, text, err = run("inundation", "--list-scenarios", "--projections", csv)
        self.assertEqual(rc, 0, err)
        self.assertIn("0.380 m", text)

    def test_missing_scenario_or_year_is_a_usage_error_naming_the_file(self):
        path = self.dem("coast.tif", coast())
        csv = self.path("local.csv")
        with open(csv, "w", encoding="utf-8") as fp:
            fp.write(CSV)
        for name in ("ssp245-2150", "ssp370-2100", "ssp585-2100-p83"):
            rc, _, err = run("inundation", "--dem", path, "-o", self.path("o.tif"), "--scenario",
                             name, "--projections", csv)
            self.assertEqual(rc, 2, err)
            first = err.splitlines()[0]
            self.assertIn(csv, first)
            self.assertIn(name, first)
            self.assertIn("2050, 2100", first)
        self.assertFalse(os.path.exists(self.path("o.tif")))

    def test_malformed_rows_are_data_errors_naming_the_line(self):
        path = self.dem("coast.tif", coast())
        cases = {
            "scenario,year,quantile,sea_level_change_m\nssp245,2100,50,0.4\nssp245,21OO,17,0.3\n": "line 3",
            "scenario,year,quantile,sea_level_change_m\nssp245,2100,50,abc\n": "line 2",
            "scenario,year,quantile,sea_level_change_m\nssp245,2100,50,0.4\nssp245,2100,50,0.5\n": "line 3",
            "scenario,year,quantile,sea_level_change_m\nssp245,2100,150,0.4\n": "line 2",
            "scenario,year,rise\nssp245,2100,0.4\n": "sea_level_change_m",
        }
        for i, (text, needle) in enumerate(cases.items()):
            csv = self.path(f"bad{i}.csv")
            with open(csv, "w", encoding="utf-8") as fp:
                fp.write(text)
            self.assertError(["inundation", "--dem", path, "-o", self.path("o.tif"), "--scenario",
                              "ssp245-2100", "--projections", csv], 3, csv, needle)
        self.assertFalse(os.path.exists(self.path("o.tif")))

    def test_output_may_not_be_a_projections_file(self):
        path = self.dem("coast.tif", coast())
        first, second = self.path("a.csv"), self.path("b.csv")
        more = "scenario,year,quantile,sea_level_change_m\nssp370,2100,50,0.6\n"
        for csv, text in ((first, CSV), (second, more)):
            with open(csv, "w", encoding="utf-8") as fp:
                fp.write(text)
        rc, _, err = run("inundation", "--dem", path, "-o", second, "--overwrite", "--scenario",
                         "ssp370-2100", "--projections", f"{first},{second}")
        self.assertEqual(rc, 2, err)
        self.assertIn(second, err)
        with open(second, encoding="utf-8") as fp:
            self.assertEqual(fp.read(), more)

    def test_projections_need_scenarios(self):
        path = self.dem("coast.tif", coast())
        csv = self.path("local.csv")
        with open(csv, "w", encoding="utf-8") as fp:
            fp.write(CSV)
        self.assertUsageError(["inundation", "--dem", path, "-o", self.path("o.tif"),
                               "--sea-level", "0.5", "--projections", csv], "--projections")
        self.assertUsageError(["inundation", "--dem", path, "-o", self.path("o.tif"),
                               "--scenario", "ssp245-2100", "--location", "12"], "--location")


class Pipeline(InundationCase):
    def test_a_pipeline_stage_takes_projections_beside_it_and_land_motion(self):
        dem = coast()
        folder = self.path("project")
        os.makedirs(os.path.join(folder, "data"))
        make_dem(os.path.join(folder, "data", "coast.tif"), dem)
        with open(os.path.join(folder, "data", "local.csv"), "w", encoding="utf-8") as fp:
            fp.write(CSV)
        doc = {"stages": [{"stage": "inundation", "dem": "data/coast.tif",
                           "scenario": "ssp245-2100-p83", "projections": ["data/local.csv"],
                           "vlm": -2, "years": 50, "output": "out/flood.tif"}]}
        path = os.path.join(folder, "pipeline.json")
        with open(path, "w", encoding="utf-8") as fp:
            json.dump(doc, fp)
        rc, _, err = run("run", path)  # from another folder: paths are the pipeline's
        self.assertEqual(rc, 0, err)
        out = os.path.join(folder, "out", "flood.tif")
        self.assertDepths(read_band(out), expected(dem, 0.61, -0.1), "pipeline")
        self.assertTrue(band_metadata(out)["SEA_LEVEL_SOURCE"].endswith("local.csv"))

    def test_a_vlm_raster_is_an_input_beside_the_pipeline_and_a_number_is_not(self):
        dem = coast()
        folder = self.path("project")
        os.makedirs(os.path.join(folder, "data"))
        make_dem(os.path.join(folder, "data", "coast.tif"), dem)
        # -0.1 m in the north half, none in the south: the raster itself is read, not a value.
        motion = np.zeros((6, 8))
        motion[:3, :] = -0.1
        vpath = make_dem(os.path.join(folder, "vlm.tif"), motion)
        doc = {"stages": [{"stage": "inundation", "dem": "data/coast.tif", "sea-level": 0.45,
                           "vlm": "vlm.tif", "vlm-unit": "m", "output": "out/flood.tif"}]}
        path = os.path.join(folder, "pipeline.json")
        with open(path, "w", encoding="utf-8") as fp:
            json.dump(doc, fp)
        out = os.path.join(folder, "out", "flood.tif")
        rc, _, err = run("run", path)  # from another folder: "vlm.tif" is the pipeline's
        self.assertEqual(rc, 0, err)
        self.assertDepths(read_band(out), expected(dem, 0.45, motion), "pipeline vlm raster")
        # The state records the raster among the stage's inputs, resolved beside the pipeline.
        state = os.path.join(folder, "out", ".cityrisk", "pipeline.json.state.json")
        with open(state, encoding="utf-8") as fp:
            record = json.load(fp)["stages"]["inundation"]
        self.assertIn(os.path.realpath(vpath), [os.path.realpath(f) for f in record["inputs"]])
        rc, plan, err = run("run", path, "--dry-run", "--json")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(plan)["stages"][0]["status"], "skip", plan)
        # Another raster in its place: the stage runs again, and reads it.
        motion[:, :] = -0.1
        os.remove(vpath)
        make_dem(vpath, motion)
        rc, plan, err = run("run", path, "--dry-run", "--json")
        self.assertEqual(rc, 0, err)
        stage = json.loads(plan)["stages"][0]
        self.assertEqual(stage["status"], "would run", plan)
        self.assertRegex(stage["reason"], r"^input .*vlm\.tif changed since its last run")
        rc, _, err = run("run", path)
        self.assertEqual(rc, 0, err)
        self.assertDepths(read_band(out), expected(dem, 0.45, -0.1), "pipeline vlm raster, changed")
        # A number is a value: no input, and the same depths as -0.1 m everywhere.
        doc["stages"][0].update({"vlm": -0.1, "output": "out/flood-value.tif"})
        with open(path, "w", encoding="utf-8") as fp:
            json.dump(doc, fp)
        rc, _, err = run("run", path)
        self.assertEqual(rc, 0, err)
        with open(state, encoding="utf-8") as fp:
            record = json.load(fp)["stages"]["inundation"]
        self.assertEqual([os.path.basename(f) for f in record["inputs"]], ["coast.tif"])  # no "-0.1"
        self.assertDepths(read_band(os.path.join(folder, "out", "flood-value.tif")),
                          expected(dem, 0.45, -0.1), "pipeline vlm value")

    def test_a_stage_may_not_write_its_vlm_raster(self):
        folder = self.path("project")
        os.makedirs(folder)
        make_dem(os.path.join(folder, "coast.tif"), coast())
        vpath = make_dem(os.path.join(folder, "vlm.tif"), np.zeros((6, 8)))
        doc = {"stages": [{"stage": "inundation", "dem": "coast.tif", "sea-level": 0.45,
                           "vlm": "vlm.tif", "vlm-unit": "m", "output": "vlm.tif"}]}
        path = os.path.join(folder, "pipeline.json")
        with open(path, "w", encoding="utf-8") as fp:
            json.dump(doc, fp)
        with open(vpath, "rb") as fp:
            before = fp.read()
        rc, _, err = run("run", path)
        # refused when the pipeline is read, as a stage writing its own DEM is (exit 3)
        self.assertEqual(rc, 3, err)
        self.assertIn(f"reads '{os.path.realpath(vpath)}', which it writes itself", err)
        with open(vpath, "rb") as fp:
            self.assertEqual(fp.read(), before)


# The quantiles, years and (quantile, year, location) values of the NetCDF fixtures, in mm.
QUANTILES = [0.05, 0.17, 0.5, 0.83, 0.95]
YEARS = [2020, 2050, 2100]


def ar6_values(offset):
    """Distinct mm per (quantile, year, location): offset + 100 q + 10 y + l (indices)."""
    q, y, l = np.meshgrid(range(5), range(3), range(3), indexing="ij")
    return offset + 100 * q + 10 * y + l


class Ar6Fixture(InundationCase):
    """AR6-layout NetCDF files for two scenarios at three locations around the DEM."""

    def setUp(self):
        super().setUp()
        if gdal.GetDriverByName("netCDF") is None:
            self.skipTest("GDAL has no netCDF driver")
        self.dem_array = coast()
        self.dem_path = self.dem("coast.tif", self.dem_array)
        rows, cols = self.dem_array.shape
        self.centre = utm_to_lonlat().TransformPoint(ORIGIN[0] + cols * CELL / 2,
                                                     ORIGIN[1] - rows * CELL / 2)[:2]
        lon, lat = self.centre
        # Location 202 is about 30 km from the DEM, 101 about 60 km, 303 on another continent.
        self.locations = [(101, lat + 0.55, lon), (202, lat - 0.1, lon + 0.25), (303, 40.0, -70.0)]
        self.nc245 = write_ar6_netcdf(self.path("total_ssp245_medium_confidence_values.nc"),
                                      self.locations, QUANTILES, YEARS, ar6_values(300))
        self.nc585 = write_ar6_netcdf(self.path("ssp585.nc"), self.locations, QUANTILES, YEARS,
                                      ar6_values(500), attrs={"scenario": "ssp585"})

    def mm(self, offset, quantile, year, location):
        return offset + 100 * QUANTILES.index(quantile) + 10 * YEARS.index(year) + location


class Ar6NetCdf(Ar6Fixture):
    def test_nearest_location_and_mm_to_metres(self):
        distances = [great_circle_km(*self.centre, lon, lat) for _, lat, lon in self.locations]
        self.assertEqual(int(np.argmin(distances)), 1, "fixture: 202 is the nearest")
        out = self.path("out.tif")
        summary = self.inundate_json(self.dem_path, out, "--scenario",
                                     "ssp245-2100,ssp245-2050-p17,ssp245-2100-p83",
                                     "--projections", self.nc245)
        want = [self.mm(300, 0.5, 2100, 1) / 1000, self.mm(300, 0.17, 2050, 1) / 1000,
                self.mm(300, 0.83, 2100, 1) / 1000]
        got = [s["sea_level_rise_m"] for s in summary["scenarios"]]
        np.testing.assert_allclose(got, want, atol=1e-9)
        self.assertEqual(summary["location"]["id"], 202)
        self.assertAlmostEqual(summary["location"]["distance_km"], distances[1], delta=0.01)
        for band, rise in enumerate(want, start=1):
            self.assertDepths(read_band(out, band), expected(self.dem_array, rise), f"band {band}")
            source = band_metadata(out, band)["SEA_LEVEL_SOURCE"]
            self.assertTrue(source.startswith(f"local projections {self.nc245} (location 202, "),
                            source)

    def test_location_option_and_several_files(self):
        summary = self.inundate_json(self.dem_path, self.path("out.tif"), "--scenario",
                                     "ssp245-2050,ssp585-2100-p95", "--projections", self.nc245,
                                     "--projections", self.nc585, "--location", "303")
        got = [s["sea_level_rise_m"] for s in summary["scenarios"]]
        np.testing.assert_allclose(got, [self.mm(300, 0.5, 2050, 2) / 1000,
                                         self.mm(500, 0.95, 2100, 2) / 1000], atol=1e-9)
        self.assertEqual(summary["location"]["id"], 303)
        self.assertIsNone(summary["location"]["distance_km"])
        inputs = json.loads(gdal.Open(self.path("out.tif")).GetMetadataItem("CITYRISK_INPUTS"))
        self.assertEqual(inputs, [self.dem_path, self.nc245, self.nc585])

    def test_comma_separated_files_and_list(self):
        rc, out, err = run("inundation", "--list-scenarios", "--json", "--dem", self.dem_path,
                           "--projections", f"{self.nc245},{self.nc585}")
        self.assertEqual(rc, 0, err)
        rows = {s["name"]: s for s in json.loads(out)["scenarios"]}
        self.assertEqual(sorted(rows), ["ssp245-2020", "ssp245-2050", "ssp245-2100",
                                        "ssp585-2020", "ssp585-2050", "ssp585-2100"])
        self.assertAlmostEqual(rows["ssp585-2100"]["p17_m"], self.mm(500, 0.17, 2100, 1) / 1000)

    def test_errors(self):
        base = ["inundation", "--dem", self.dem_path, "-o", self.path("o.tif"),
                "--projections", self.nc245]
        self.assertUsageError(base + ["--scenario", "ssp245-2080"], self.nc245, "2020, 2050, 2100")
        self.assertUsageError(base + ["--scenario", "ssp245-2100", "--location", "999"], "999",
                              self.nc245)
        unnamed = write_ar6_netcdf(self.path("values.nc"), self.locations, QUANTILES, YEARS,
                                   ar6_values(0))
        self.assertError(["inundation", "--dem", self.dem_path, "-o", self.path("o.tif"),
                          "--scenario", "ssp245-2100", "--projections", unnamed], 3, unnamed,
                         "scenario")
        self.assertFalse(os.path.exists(self.path("o.tif")))


class ReviewFixes(Ar6Fixture):
    """The review of local sea level: conflicting files, --location without NetCDF, a far
    location, a mistyped --vlm, the years in the text summary, an absurd land motion."""

    def one_location_file(self, name, location, mm):
        """A file of scenario ssp245 (by attribute) with one location and one value, the
        median for 2100, in mm."""
        return write_ar6_netcdf(self.path(name), [location], [0.5], [2100], [[[mm]]],
                                attrs={"scenario": "ssp245"})

    def test_two_files_giving_one_value_are_refused_whatever_their_order(self):
        lon, lat = self.centre
        here = (1001, lat + 0.1, lon)
        medium = self.one_location_file("medium.nc", here, 600)
        low = self.one_location_file("low.nc", here, 5000)
        out = self.path("o.tif")
        for files in (f"{medium},{low}", f"{low},{medium}"):
            message = self.assertFails(["inundation", "--dem", self.dem_path, "-o", out,
                                        "--scenario", "ssp245-2100", "--projections", files],
                                       3, medium, low, "ssp245 2100")
            self.assertIn("0.6", message)
            self.assertIn("5 m", message)
            self.assertFalse(os.path.exists(out), files)

    def test_a_csv_value_given_by_another_file_names_it(self):
        first, second = self.path("a.csv"), self.path("b.csv")
        for path, value in ((first, "0.38"), (second, "0.40")):
            with open(path, "w", encoding="utf-8") as fp:
                fp.write(f"scenario,year,quantile,sea_level_change_m\nssp245,2100,50,{value}\n")
        message = self.assertFails(["inundation", "--dem", self.dem_path, "-o", self.path("o.tif"),
                                    "--scenario", "ssp245-2100", "--projections",
                                    f"{first},{second}"], 3, f"'{second}' line 2", f"'{first}'")
        self.assertIn("0.38", message)
        # one file giving it twice: the message names the file once, as before
        with open(first, "a", encoding="utf-8") as fp:
            fp.write("ssp245,2100,50,0.39\n")
        self.assertFails(["inundation", "--dem", self.dem_path, "-o", self.path("o.tif"),
                          "--scenario", "ssp245-2100", "--projections", first], 3,
                         f"'{first}' line 3", "given twice")

    def test_location_needs_a_netcdf_file(self):
        csv = self.path("local.csv")
        with open(csv, "w", encoding="utf-8") as fp:
            fp.write(CSV)
        out = self.path("o.tif")
        self.assertUsageError(["inundation", "--dem", self.dem_path, "-o", out, "--scenario",
                               "ssp245-2100", "--projections", csv, "--location", "202"],
                              "--location 202", csv, "NetCDF")
        self.assertFalse(os.path.exists(out))
        self.assertUsageError(["inundation", "--list-scenarios", "--projections", csv,
                               "--location", "202"], "--location 202")
        # with a NetCDF file among them it picks that file's location
        other = self.path("ssp126.csv")
        with open(other, "w", encoding="utf-8") as fp:
            fp.write("scenario,year,quantile,sea_level_change_m\nssp126,2100,50,0.3\n")
        summary = self.inundate_json(self.dem_path, out, "--scenario", "ssp126-2100,ssp245-2100",
                                     "--projections", f"{other},{self.nc245}", "--location", "303")
        self.assertEqual(summary["location"]["id"], 303)
        np.testing.assert_allclose([s["sea_level_rise_m"] for s in summary["scenarios"]],
                                   [0.3, self.mm(300, 0.5, 2100, 2) / 1000], atol=1e-9)

    def test_a_far_nearest_location_warns_with_its_distance(self):
        lon, lat = self.centre
        far = (4242, lat + 1.8, lon)  # about 200 km north
        km = great_circle_km(lon, lat, float(np.float32(far[2])), float(np.float32(far[1])))
        self.assertTrue(150 < km < 250, km)
        nc = self.one_location_file("far_ssp245.nc", far, 500)
        rc, _, err = run("inundation", "--dem", self.dem_path, "-o", self.path("o.tif"),
                         "--scenario", "ssp245-2100", "--projections", nc)
        self.assertEqual(rc, 0, err)
        warnings = [l for l in err.splitlines() if "warning" in l]
        self.assertEqual(len(warnings), 1, err)
        for needle in ("4242", f"{km:.1f} km", "100 km", "--location"):
            self.assertIn(needle, warnings[0])
        # chosen with --location, or near (202, ~30 km): no warning
        for args in ([nc, "--location", "4242"], [self.nc245]):
            rc, _, err = run("inundation", "--dem", self.dem_path, "-o", self.path("o.tif"),
                             "--overwrite", "--scenario", "ssp245-2100", "--projections", *args)
            self.assertEqual(rc, 0, err)
            self.assertNotIn("warning", err)

    def test_a_mistyped_vlm_says_it_is_neither_number_nor_raster(self):
        out = self.path("o.tif")
        base = ["inundation", "--dem", self.dem_path, "-o", out, "--sea-level", "0.5"]
        rc_missing, _, _ = run("inundation", "--dem", self.path("missing.tif"), "-o", out,
                               "--sea-level", "0.5")
        self.assertFails(base + ["--vlm", "5mm", "--years", "80"], rc_missing,
                         "--vlm '5mm' is neither a number nor a readable raster")
        self.assertFalse(os.path.exists(out))

    def test_text_summary_of_a_vlm_raster_gives_the_years(self):
        vpath = make_dem(self.path("vlm.tif"), np.full(self.dem_array.shape, -2.0))
        rc, out, err = run("inundation", "--dem", self.dem_path, "-o", self.path("o.tif"),
                           "--sea-level", "0.5", "--vlm", vpath, "--years", "80")
        self.assertEqual(rc, 0, err)
        # the text summary goes to stderr, so stdout stays for --json
        self.assertIn(f"cityrisk inundation: vertical land motion: raster {vpath} (mm/yr over 80 "
                      "years)", out + err)

    def test_an_absurd_land_motion_is_named_in_the_overflow(self):
        out = self.path("o.tif")
        message = self.assertFails(["inundation", "--dem", self.dem_path, "-o", out,
                                    "--sea-level", "0.5", "--vlm=-1e300", "--vlm-unit", "m"],
                                   3, "beyond what a Float32 output holds")
        self.assertIn("land motion", message)
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()
