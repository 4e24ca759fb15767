"""End-to-end tests of tiled stages in a pipeline ("tiles": N): the plan expands each into its
tile jobs and the step that joins them (mosaic, inundation's edges/join/depth phases, zonal's
partial parts and merge), and running them, in one `cityrisk run`, with GNU parallel level by
level from `--emit jobs`, or with Snakemake from `--emit snakemake`, gives the outputs of the
same pipeline without tiles: every raster cell for cell (NaN too) with the same overviews,
every zone's fields."""
import copy
import json
import math
import os
import shutil
import subprocess
import unittest

import numpy as np
from osgeo import gdal, ogr

from cliutil import CITYRISK, run, release_only
from test_run_parallel import RunCase

gdal.UseExceptions()
ogr.UseExceptions()

TILES = 4  # the sample grid is 667 x 667 cells: 2 x 2 blocks of 512, partial on the right and bottom

PIPELINE = {
    "variables": {"scenario": ["ssp245-2100", "stress-2m"]},
    "stages": [
        {"stage": "inundation", "dem": "data/dem.tif", "scenario": "{scenario*}",
         "output": "out/inundation.tif"},
        {"stage": "arrivals", "points": "data/arrivals.csv", "count-field": "arrivals",
         "grid": "data/dem.tif", "kernel": "quartic", "bandwidth": 500, "output": "out/arrivals.tif"},
        {"stage": "score", "name": "score-{scenario}", "sea": "out/inundation.tif",
         "scenario": "{scenario}", "water": "data/water_stress.tif", "informal": "data/settlement.tif",
         "arrivals": "out/arrivals.tif", "grid": "data/dem.tif", "output": "out/exposure-{scenario}.tif"},
        {"stage": "zonal", "name": "zonal-{scenario}", "zones": "data/neighbourhoods.gpkg",
         "exposure": "out/exposure-{scenario}.tif", "arrivals": "out/arrivals.tif",
         "sea": "out/inundation.tif", "output": "out/neighbourhoods-{scenario}.geojson"},
    ],
}
OUTPUTS = ["inundation.tif", "arrivals.tif", "exposure-ssp245-2100.tif", "exposure-stress-2m.tif",
           "neighbourhoods-ssp245-2100.geojson", "neighbourhoods-stress-2m.geojson"]
# Provenance that truly differs: the command that wrote the file (a mosaic, a merge), checked
# apart; CITYRISK_STATISTICS, a score's counts over its own cells, which mosaic leaves out
# (docs/mosaic.md); the inputs, which for inundation name the join file too.
DIFFERENT = {"CITYRISK_COMMAND", "CITYRISK_STATISTICS", "CITYRISK_INPUTS"}


def tiled():
    doc = copy.deepcopy(PIPELINE)
    for stage in doc["stages"]:
        stage["tiles"] = TILES
    return doc


def raster_facts(path):
    """Per band: values, overview checksums, nodata, description, metadata; and the dataset's
    metadata."""
    ds = gdal.Open(path)
    bands = []
    for b in range(1, ds.RasterCount + 1):
        band = ds.GetRasterBand(b)
        bands.append({"values": band.ReadAsArray(), "nodata": band.GetNoDataValue(),
                      "description": band.GetDescription(), "unit": band.GetUnitType(),
                      "overviews": [band.GetOverview(i).Checksum() for i in range(band.GetOverviewCount())],
                      "metadata": band.GetMetadata(), "type": band.DataType})
    meta = {k: v for k, v in ds.GetMetadata().items() if k not in DIFFERENT}
    return {"command": ds.GetMetadataItem("CITYRISK_COMMAND"), "inputs": ds.GetMetadataItem("CITYRISK_INPUTS"),
            "statistics": ds.GetMetadataItem("CITYRISK_STATISTICS"),"size": (ds.RasterXSize, ds.RasterYSize), "gt": ds.GetGeoTransform(), "bands": bands, "meta": meta,
            "structure": ds.GetMetadata("IMAGE_STRUCTURE")}


def zone_rows(path):
    ds = ogr.Open(path)
    layer = ds.GetLayer(0)
    rows = []
    for f in layer:
        rows.append((f.items(), f.GetGeometryRef().ExportToWkt()))
    return rows


class TilesCase(RunCase):
    def setUp(self):
        super().setUp()
        self.one = self.write(PIPELINE, "one.json")
        self.p = self.write(tiled(), "tiled.json")

    def engine_env(self):
        return dict(os.environ, PATH=os.path.dirname(os.path.abspath(CITYRISK)) + os.pathsep + os.environ["PATH"],
                    XDG_CACHE_HOME=self.path("cache"), HOME=self.tmp)

    def assert_same_as_untiled(self):
        """The tiled run's outputs (moved to tiled/) against the same pipeline run without tiles."""
        shutil.move(self.path("out"), self.path("tiled"))
        rc, _, err = run("run", self.one, "-q")
        self.assertEqual(rc, 0, err)
        # the same files but the tiles' folders and the state, the QGIS styles byte for byte
        made = [f for f in self.files(self.path("tiled")) if ".tiles/" not in f and ".cityrisk/" not in f]
        self.assertEqual(made, [f for f in self.files(self.path("out")) if ".cityrisk/" not in f])
        for name in made:
            if name.endswith(".qml"):
                with open(self.path(os.path.join("tiled", name)), "rb") as a, \
                        open(self.path(os.path.join("out", name)), "rb") as b:
                    self.assertEqual(a.read(), b.read(), name)
        for name in OUTPUTS:
            a, b = self.path(os.path.join("tiled", name)), self.path(os.path.join("out", name))
            if name.endswith(".tif"):
                self.assert_same_raster(a, b, name)
            else:
                self.assert_same_zones(a, b, name)

    def assert_same_raster(self, tiled_path, one_path, name):
        t, o = raster_facts(tiled_path), raster_facts(one_path)
        # the mosaic records the single run's command: the tiles' without --tile, --phase, --join
        command = t.pop("command")
        self.assertRegex(command, r"^run \S*tiled\.json; stage [^:]+: (inundation|arrivals|score) ", name)
        for word in ("--tile", "--phase", "--join", "-tile-", "-depth-", "mosaic"):
            self.assertNotIn(word, command, name)
        self.assertRegex(o.pop("command"), r"^run \S*one\.json; stage ", name)
        inputs, want = json.loads(t.pop("inputs")), json.loads(o.pop("inputs"))
        if isinstance(want, list):  # inundation's and arrivals' inputs: a list of paths
            join = [x for x in inputs if isinstance(x, str) and x.endswith("join.edges")]
            self.assertEqual(len(join), name == "inundation.tif", name)
            inputs = [x for x in inputs if x not in join]
        self.assertEqual(inputs, want, name)
        self.assertIsNone(t.pop("statistics"), name)
        o.pop("statistics")
        self.assertEqual(t["size"], o["size"], name)
        self.assertEqual(t["gt"], o["gt"], name)
        self.assertEqual(t["meta"], o["meta"], name)
        self.assertEqual(t["structure"], o["structure"], name)
        self.assertEqual(len(t["bands"]), len(o["bands"]), name)
        for i, (bt, bo) in enumerate(zip(t["bands"], o["bands"]), 1):
            where = f"{name} band {i}"
            np.testing.assert_array_equal(bt.pop("values"), bo.pop("values"), err_msg=where)
            self.assertEqual(bt, bo, where)

    def assert_same_zones(self, tiled_path, one_path, name):
        t, o = zone_rows(tiled_path), zone_rows(one_path)
        self.assertEqual(len(t), len(o), name)
        for (ft, gt), (fo, go) in zip(t, o):
            self.assertEqual(gt, go, name)
            self.assertEqual(sorted(ft), sorted(fo), name)
            for k in fo:
                a, b = ft[k], fo[k]
                if isinstance(b, float) and isinstance(a, float) and not (math.isnan(a) and math.isnan(b)):
                    self.assertTrue(a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b)),
                                    f"{name} zone {fo.get('zone_id', '?')} {k}: {a!r} != {b!r}")
                elif not (isinstance(b, float) and math.isnan(b)):
                    self.assertEqual(a, b, f"{name} {k}")


class Plan(TilesCase):
    def test_each_tiled_stage_expands_into_its_jobs_and_the_join(self):
        rc, out, err = run("run", self.p, "--plan", "--json")
        self.assertEqual(rc, 0, err)
        stages = {s["name"]: s for s in json.loads(out)["stages"]}
        names = list(stages)
        want = ([f"inundation-edges-{i}" for i in range(1, 5)] + ["inundation-join"] +
                [f"inundation-depth-{i}" for i in range(1, 5)] + ["inundation"] +
                [f"arrivals-tile-{i}" for i in range(1, 5)] + ["arrivals"])
        for n in want:
            self.assertIn(n, names)
        d = self.path
        # the levels: every tile job of a stage in one level, the join after them
        level = {n: s["level"] for n, s in stages.items()}
        self.assertEqual({level[f"inundation-edges-{i}"] for i in range(1, 5)}, {1})
        self.assertEqual(level["inundation-join"], 2)
        self.assertEqual({level[f"inundation-depth-{i}"] for i in range(1, 5)}, {3})
        self.assertEqual(level["inundation"], 4)
        self.assertEqual(level["arrivals"], 2)
        self.assertEqual(level["score-stress-2m-tile-3"], 5)
        self.assertEqual(level["zonal-stress-2m"], 8)
        edges = stages["inundation-edges-2"]["argv"]
        self.assertEqual(edges[:2], ["cityrisk", "inundation"])
        for a, b in (("--tile", "2/4"), ("--phase", "edges"), ("--output", d("out/inundation.tiles/edges-2.edges"))):
            self.assertEqual(edges[edges.index(a) + 1], b)
        self.assertNotIn("--qml", edges)
        mosaic = stages["inundation"]
        self.assertEqual(mosaic["command"], "mosaic")
        self.assertEqual(mosaic["after"], [f"inundation-depth-{i}" for i in range(1, 5)])
        for i in range(1, 5):
            self.assertIn(d(f"out/inundation.tiles/tile-{i}.tif"), mosaic["inputs"])
        self.assertEqual(mosaic["outputs"][0], d("out/inundation.tif"))
        merge = stages["zonal-ssp245-2100"]["argv"]
        self.assertIn("--merge", merge)
        self.assertIn(d("out/neighbourhoods-ssp245-2100.tiles/part-4.json"), merge)

    def test_bad_tiles_are_refused_naming_the_stage(self):
        for value, needle in ((0, "'tiles' must be a whole number from 1"), ("4", "'tiles' must be a whole number"),
                              (2.5, "'tiles' must be a whole number")):
            doc = tiled()
            doc["stages"][1]["tiles"] = value
            p = self.write(doc, "bad.json")
            self.assertFails(["run", p, "--plan"], 3, "stage 2 (arrivals)", needle)
        doc = tiled()
        doc["stages"][1]["tile"] = "1/4"
        self.assertFails(["run", self.write(doc, "bad.json"), "--plan"], 3, "key 'tile' with 'tiles'")
        doc = tiled()
        doc["stages"][0]["dem-rmse"] = 0.5
        self.assertFails(["run", self.write(doc, "bad.json"), "--plan"], 3, "stage 1 (inundation)",
                         "does not split an inundation with 'dem-rmse'")

    def test_the_rejected_records_report_is_written_by_the_first_tile(self):
        doc = tiled()
        doc["stages"][1]["report"] = "out/rejected.csv"
        rc, out, err = run("run", self.write(doc, "report.json"), "--plan", "--json")
        self.assertEqual(rc, 0, err)
        writers = [s["name"] for s in json.loads(out)["stages"] if self.path("out/rejected.csv") in s["outputs"]]
        self.assertEqual(writers, ["arrivals-tile-1"])


class OneRun(TilesCase):
    def test_run_makes_what_the_untiled_pipeline_makes(self):
        rc, out, err = run("run", self.p, "-q", "-j", "2")
        self.assertEqual(rc, 0, err)
        rc, out, err = run("run", self.p, "--dry-run", "--json")  # every job recorded: up to date
        self.assertEqual(rc, 0, err)
        self.assertEqual({s["status"] for s in json.loads(out)["stages"]}, {"skip"})
        self.assert_same_as_untiled()


@unittest.skipUnless(shutil.which("parallel"), "GNU parallel is not installed (.ci/deps.sh installs it)")
class Parallel(TilesCase):
    @release_only
    def test_gnu_parallel_level_by_level_makes_what_the_untiled_pipeline_makes(self):
        rc, out, err = run("run", self.p, "--emit", "jobs")
        self.assertEqual(rc, 0, err)
        levels = []
        for line in out.splitlines():
            if line.startswith("# level"):
                levels.append([])
            elif not line.startswith("#"):
                levels[-1].append(line)
        self.assertEqual(len(levels), 8)
        for jobs in levels:
            proc = subprocess.run(["parallel", "--will-cite", "-j", "2", "--halt", "now,fail=1"],
                                  input="\n".join(jobs) + "\n", capture_output=True, text=True,
                                  env=self.engine_env(), timeout=600)
            self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assert_same_as_untiled()


@unittest.skipUnless(shutil.which("snakemake"), "Snakemake is not installed (.ci/deps.sh installs it)")
class Snakemake(TilesCase):
    @release_only
    def test_snakemake_makes_what_the_untiled_pipeline_makes(self):
        rc, out, err = run("run", self.p, "--emit", "snakemake", "-o", self.path("Snakefile"))
        self.assertEqual(rc, 0, err)
        os.makedirs(self.path("snake"))
        proc = subprocess.run(["snakemake", "--cores", "2", "-s", self.path("Snakefile")], cwd=self.path("snake"),
                              capture_output=True, text=True, env=self.engine_env(), timeout=900)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assert_same_as_untiled()


if __name__ == "__main__":
    unittest.main()
