"""End-to-end: `cityrisk info` on every sample input and on bad inputs."""
import json
import os
import shutil
import unittest

from osgeo import gdal

from cliutil import CliTestCase, SAMPLE_FILES, run, sample

gdal.UseExceptions()


class InfoOnSamples(CliTestCase):
    def info_json(self, *files):
        rc, out, err = run("info", "--json", *files)
        self.assertEqual(rc, 0, err)
        return json.loads(out)

    def test_every_sample_input_in_text_and_json(self):
        for name in SAMPLE_FILES:
            with self.subTest(name=name):
                rc, out, err = run("info", sample(name))
                self.assertEqual(rc, 0, err)
                self.assertIn(name, out)
                self.assertIn("CRS:", out)
                report = self.info_json(sample(name))
                self.assertEqual(len(report["inputs"]), 1)
                self.assertEqual(report["inputs"][0]["file"], sample(name))

    def test_raster_matches_gdal(self):
        for name in ["dem.tif", "settlement.tif", "water_stress.tif", "population.tif"]:
            with self.subTest(name=name):
                desc = self.info_json(sample(name))["inputs"][0]
                ds = gdal.Open(sample(name))
                band = ds.GetRasterBand(1)
                self.assertEqual(desc["kind"], "raster")
                self.assertEqual(desc["driver"], ds.GetDriver().ShortName)
                self.assertEqual(desc["size"], [ds.RasterXSize, ds.RasterYSize])
                gt = ds.GetGeoTransform()
                self.assertAlmostEqual(desc["resolution"][0], gt[1], places=9)
                self.assertAlmostEqual(desc["extent"][0], gt[0], places=6)
                self.assertAlmostEqual(desc["extent"][3], gt[3], places=6)
                b = desc["bands"][0]
                self.assertEqual(b["nodata"], band.GetNoDataValue())
                mn, mx, mean, _ = band.ComputeStatistics(False)
                self.assertAlmostEqual(b["min"], mn, places=4)
                self.assertAlmostEqual(b["max"], mx, places=4)
                self.assertAlmostEqual(b["mean"], mean, delta=abs(mean) * 1e-6 + 1e-6)
                srs = ds.GetSpatialRef()
                self.assertEqual(desc["crs"]["epsg"], int(srs.GetAuthorityCode(None)))

    def test_dem_is_utm_and_water_stress_geographic(self):
        report = self.info_json(sample("dem.tif"), sample("water_stress.tif"))
        dem, water = report["inputs"]
        self.assertEqual(dem["crs"]["epsg"], 32736)
        self.assertFalse(dem["crs"]["geographic"])
        self.assertEqual(water["crs"]["epsg"], 4326)
        self.assertTrue(water["crs"]["geographic"])
        lon0, lat0, lon1, lat1 = dem["extent_lonlat"]
        self.assertTrue(34 < lon0 < lon1 < 36 and -21 < lat0 < lat1 < -19)
        geographic = [w for w in report["warnings"] if w["code"] == "geographic_crs"]
        self.assertEqual([w["file"] for w in geographic], [sample("water_stress.tif")])
        self.assertIn("EPSG:32736", geographic[0]["message"])  # UTM 36S at the centre
        pair = report["overlaps"][0]
        self.assertGreater(pair["share_of_a"], 0.9)  # the water raster covers the DEM

    def test_csv_with_hxl_row(self):
        desc = self.info_json(sample("arrivals.csv"))["inputs"][0]
        layer = desc["layers"][0]
        self.assertEqual(desc["driver"], "CSV")
        self.assertEqual(layer["geometry_type"], "Point")
        self.assertEqual(layer["coordinates"], {"x": "longitude", "y": "latitude", "hxl": True})
        with open(sample("arrivals.csv"), encoding="utf-8") as fp:
            lines = fp.read().splitlines()
        self.assertEqual(layer["feature_count"], len([l for l in lines[2:] if l]))
        types = {f["name"]: f["type"] for f in layer["fields"]}
        self.assertEqual(types["date"], "Date")
        self.assertEqual(types["arrivals"], "Integer")
        self.assertEqual(types["latitude"], "Real")
        self.assertEqual(types["site_name"], "String")
        self.assertEqual(layer["crs"]["epsg"], 4326)
        self.assertTrue(layer["crs_assumed"])

    def test_gpkg_neighbourhoods(self):
        desc = self.info_json(sample("neighbourhoods.gpkg"))["inputs"][0]
        layer = desc["layers"][0]
        self.assertEqual(desc["driver"], "GPKG")
        self.assertEqual(layer["name"], "neighbourhoods")
        self.assertEqual(layer["geometry_type"], "Multi Polygon")
        self.assertTrue(40 <= layer["feature_count"] <= 80)
        self.assertEqual(layer["crs"]["epsg"], 3857)
        names = [f["name"] for f in layer["fields"]]
        self.assertIn("name", names)

    def test_all_samples_overlap(self):
        report = self.info_json(*[sample(n) for n in SAMPLE_FILES])
        self.assertEqual(len(report["inputs"]), len(SAMPLE_FILES))
        overlap = {os.path.basename(d["file"]): d["overlap_with_others"] for d in report["inputs"]}
        # The city's layers lie inside one another; the water-stress raster, at 1 km like
        # Aqueduct, reaches beyond the city, so only part of it is overlapped.
        for name in ["dem.tif", "settlement.tif", "neighbourhoods.gpkg", "arrivals.csv"]:
            self.assertGreater(overlap[name], 0.9, name)
        self.assertGreater(overlap["water_stress.tif"], 0.1)
        self.assertFalse([w for w in report["warnings"] if w["code"] in ("no_overlap", "no_crs")])

    def test_text_report_shows_overlaps_and_warnings(self):
        rc, out, _ = run("info", "--no-stats", sample("dem.tif"), sample("water_stress.tif"))
        self.assertEqual(rc, 0)
        self.assertIn("Overlaps", out)
        self.assertIn("Warnings:", out)
        self.assertNotIn("mean", out)


class InfoOnBadInputs(CliTestCase):
    def test_missing_file(self):
        missing = self.path("missing.tif")
        self.assertFails(["info", missing], 1, f"'{missing}'", "No such file")

    def test_text_file_named_tif(self):
        fake = self.path("fake.tif")
        with open(fake, "w") as fp:
            fp.write("this is not a raster\n")
        self.assertFails(["info", fake], 3, f"'{fake}'", "not a raster or vector format")

    def test_truncated_geotiff(self):
        cut = self.path("cut.tif")
        with open(sample("dem.tif"), "rb") as src, open(cut, "wb") as dst:
            data = src.read()
            dst.write(data[: len(data) // 3])
        rc, _, err = run("info", cut)
        self.assertIn(rc, (1, 3), err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn(f"'{cut}'", err)

    def test_raster_without_crs_is_described_with_a_warning(self):
        nocrs = self.path("nocrs.tif")
        src = gdal.Open(sample("settlement.tif"))
        ds = gdal.GetDriverByName("GTiff").Create(nocrs, src.RasterXSize, src.RasterYSize, 1,
                                                  gdal.GDT_Float32)
        ds.SetGeoTransform(src.GetGeoTransform())
        ds.GetRasterBand(1).WriteArray(src.GetRasterBand(1).ReadAsArray())
        ds = src = None
        self.assertEqual(gdal.Open(nocrs).GetProjection(), "")
        rc, out, err = run("info", "--json", nocrs, sample("dem.tif"))
        self.assertEqual(rc, 0, err)
        report = json.loads(out)
        self.assertIsNone(report["inputs"][0]["crs"])
        codes = [(w["code"], w["file"]) for w in report["warnings"]]
        self.assertIn(("no_crs", nocrs), codes)
        # Nothing can be told of its overlap, so the DEM is not said to overlap nothing.
        self.assertNotIn("no_overlap", [c for c, _ in codes])

    def test_invalid_geotransform_is_described_without_an_extent(self):
        """A NaN origin: a warning naming it, no extent of nulls, and no overlap claimed
        either way (issue 16)."""
        bad = self.path("nan.tif")
        ds = gdal.GetDriverByName("GTiff").Create(bad, 4, 4, 1, gdal.GDT_Float32)
        ds.SetGeoTransform([float("nan"), 30, 0, 7806000, 0, -30])
        ds.SetProjection(gdal.Open(sample("dem.tif")).GetProjection())
        ds = None
        rc, out, err = run("info", "--json", bad, sample("dem.tif"))
        self.assertEqual(rc, 0, err)
        report = json.loads(out)
        self.assertNotIn("extent", report["inputs"][0])
        warnings = {w["code"]: w for w in report["warnings"]}
        self.assertIn("invalid_geotransform", warnings)
        self.assertIn(f"raster '{bad}' has an invalid geotransform (origin nan",
                      warnings["invalid_geotransform"]["message"])
        self.assertNotIn("no_overlap", warnings)

    def test_empty_file_and_directory(self):
        empty = self.path("empty.tif")
        open(empty, "w").close()
        self.assertFails(["info", empty], 3, f"'{empty}'", "empty")
        self.assertFails(["info", self.tmp], 3, f"'{self.tmp}'", "directory")

    def test_inputs_are_not_modified(self):
        copy = self.path("dem.tif")
        shutil.copy(sample("dem.tif"), copy)
        before = os.stat(copy).st_mtime_ns, sorted(os.listdir(self.tmp))
        rc, _, _ = run("info", copy)
        self.assertEqual(rc, 0)
        self.assertEqual(before, (os.stat(copy).st_mtime_ns, sorted(os.listdir(self.tmp))))


class InfoOverAFolder(CliTestCase):
    """Issue 18, point 15: `info data/*` describes every dataset and warns about, rather than
    stopping at, the sidecar files a shell lists beside them."""

    def folder(self):
        data = self.path("data")
        os.mkdir(data)
        shutil.copy(sample("dem.tif"), data)
        with open(os.path.join(data, "dem.tif.aux.xml"), "w") as fh:  # as gdalinfo -stats writes
            fh.write('<PAMDataset><PAMRasterBand band="1"><Metadata>'
                     '<MDI key="STATISTICS_MEAN">1</MDI></Metadata></PAMRasterBand></PAMDataset>\n')
        gdal.VectorTranslate(os.path.join(data, "zones.shp"), sample("neighbourhoods.gpkg"),
                             format="ESRI Shapefile", layerCreationOptions=["ENCODING=ISO-8859-1"])
        with open(os.path.join(data, "zones.qml"), "w") as fh:
            fh.write("<qgis/>\n")
        with open(os.path.join(data, "zones.fields.csv"), "w") as fh:
            fh.write("short,full\narrfldssp1,arrivals_flooded_ssp126_2050\n")
        # A lone .dbf is a table OGR reads, not a sidecar: described.
        gdal.VectorTranslate(os.path.join(data, "table.dbf"), sample("neighbourhoods.gpkg"),
                             format="ESRI Shapefile", options=["-nlt", "NONE"])
        for extra in ("table.shx", "table.prj", "table.cpg"):
            if os.path.exists(os.path.join(data, extra)):
                os.remove(os.path.join(data, extra))
        return data, sorted(os.path.join(data, n) for n in os.listdir(data))

    def test_sidecars_are_warned_about_and_the_rest_described(self):
        data, files = self.folder()
        names = [os.path.basename(f) for f in files]
        for sidecar in ("dem.tif.aux.xml", "zones.cpg", "zones.prj", "zones.dbf", "zones.shx",
                        "zones.qml", "zones.fields.csv"):
            self.assertIn(sidecar, names)
        rc, out, err = run("info", "--json", "--no-stats", *files)
        self.assertEqual(rc, 0, err)
        report = json.loads(out)
        described = sorted(os.path.basename(d["file"]) for d in report["inputs"])
        self.assertEqual(described, ["dem.tif", "table.dbf", "zones.shp"])
        warned = sorted(os.path.basename(w["file"]) for w in report["warnings"] if w["code"] == "sidecar")
        self.assertEqual(warned, sorted(["dem.tif.aux.xml", "zones.cpg", "zones.dbf", "zones.fields.csv",
                                         "zones.prj", "zones.qml", "zones.shx"]))
        # The overlaps are those of the datasets only.
        for pair in report["overlaps"]:
            self.assertIn(os.path.basename(pair["a"]), described)
        # The text report too: each sidecar named once among the warnings, exit 0.
        rc, out, err = run("info", "--no-stats", *files)
        self.assertEqual(rc, 0, err)
        self.assertIn("zones.cpg' is a sidecar file", out)
        self.assertIn("zones.shp: vector (ESRI Shapefile)", out)

    def test_a_file_that_is_no_sidecar_still_stops_the_report(self):
        data, files = self.folder()
        notes = os.path.join(data, "notes.txt")
        with open(notes, "w") as fh:
            fh.write("not a dataset\n")
        self.assertFails(["info", *files, notes], 3, "notes.txt")


if __name__ == "__main__":
    unittest.main()
