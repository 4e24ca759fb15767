"""End-to-end tests of `cityrisk run`: pipelines on the sample city, make-like reruns, errors."""
import json
import os
import shutil
import time
import unittest

from osgeo import gdal, ogr

from cliutil import CliTestCase, run, sample

gdal.UseExceptions()

SCENARIOS = ["ssp245-2100", "stress-2m"]


def pipeline(scenarios=SCENARIOS):
    """The sample city's pipeline, inputs in data/, outputs in out/ (relative paths)."""
    return {
        "scenarios": scenarios,
        "stages": [
            {"stage": "inundation", "dem": "data/dem.tif", "scenario": "{scenarios}",
             "output": "out/inundation.tif", "overwrite": True},
            {"stage": "arrivals", "points": "data/arrivals.csv", "count-field": "arrivals",
             "grid": "data/dem.tif", "kernel": "quartic", "bandwidth": 500,
             "output": "out/arrivals.tif", "overwrite": True},
            {"stage": "score", "name": "score-{scenario}", "sea": "out/inundation.tif",
             "scenario": "{scenario}", "water": "data/water_stress.tif",
             "informal": "data/settlement.tif", "arrivals": "out/arrivals.tif",
             "grid": "data/dem.tif", "output": "out/exposure-{scenario}.tif", "overwrite": True},
            {"stage": "zonal", "zones": "data/neighbourhoods.gpkg",
             "exposure": "out/exposure-ssp245-2100.tif", "arrivals": "out/arrivals.tif",
             "sea": "out/inundation.tif", "water": "data/water_stress.tif",
             "informal": "data/settlement.tif", "output": "out/neighbourhoods.geojson",
             "overwrite": True},
        ],
    }


STAGES = ["inundation", "arrivals"] + [f"score-{s}" for s in SCENARIOS] + ["zonal"]


class RunCase(CliTestCase):
    def setUp(self):
        super().setUp()
        data = self.path("data")
        os.makedirs(data)
        os.makedirs(self.path("out"))
        for name in ["dem.tif", "settlement.tif", "water_stress.tif", "population.tif",
                     "arrivals.csv", "neighbourhoods.gpkg"]:
            shutil.copy(sample(name), os.path.join(data, name))

    def write(self, doc, name="pipeline.json"):
        path = self.path(name)
        with open(path, "w") as fh:
            fh.write(doc if isinstance(doc, str) else json.dumps(doc))
        return path

    def run_json(self, *args):
        rc, out, err = run("run", *args, "--json")
        self.assertEqual(rc, 0, err)
        return {s["name"]: s for s in json.loads(out)["stages"]}

    def statuses(self, summary):
        return {name: s["status"] for name, s in summary.items()}


class Pipelines(RunCase):
    def test_sample_pipeline_end_to_end_then_up_to_date(self):
        p = self.write(pipeline())
        first = self.run_json(p)
        self.assertEqual(list(first), STAGES)
        self.assertEqual(set(self.statuses(first).values()), {"ran"})
        for name in ["inundation.tif", "arrivals.tif", "exposure-ssp245-2100.tif",
                     "exposure-stress-2m.tif"]:
            ds = gdal.Open(self.path(os.path.join("out", name)))
            self.assertIsNotNone(ds.GetRasterBand(1))
        ds = ogr.Open(self.path("out/neighbourhoods.geojson"))
        layer = ds.GetLayer(0)
        self.assertEqual(layer.GetFeatureCount(), 60)
        fields = {layer.GetLayerDefn().GetFieldDefn(i).GetName()
                  for i in range(layer.GetLayerDefn().GetFieldCount())}
        sfx = ["_ssp245_2100", "_stress_2m"]
        expected = {"area_km2", "data_coverage", "arrivals_total", "arrivals_per_km2",
                    "informal_area_share", "arrivals_informal", "water_stress_mean",
                    "water_stress_arrivals", "arrivals_high_water_stress", "score_mean",
                    "score_p90", "score_arrivals", "score_class", "score_rank"}
        for s in sfx:
            expected |= {f"flood_area_share{s}", f"arrivals_flooded{s}",
                         f"arrivals_flooded_share{s}", f"informal_flooded_share{s}",
                         f"arrivals_compound{s}"}
        self.assertTrue(expected <= fields, expected - fields)
        # --json carries each stage's own summary: its key figures.
        self.assertEqual(first["zonal"]["summary"]["zones"], 60)
        self.assertEqual(first["inundation"]["summary"]["scenarios"][1]["name"], "stress-2m")
        self.assertGreater(first["arrivals"]["summary"]["records_accepted"], 0)
        # A second run skips every stage.
        second = self.run_json(p)
        self.assertEqual(set(self.statuses(second).values()), {"skipped"})

    def test_touching_an_input_reruns_exactly_the_stages_downstream(self):
        p = self.write(pipeline())
        self.run_json(p)
        now = time.time()
        os.utime(self.path("data/arrivals.csv"), (now, now))
        again = self.statuses(self.run_json(p))
        self.assertEqual(again["inundation"], "skipped")
        for name in STAGES[1:]:
            self.assertEqual(again[name], "ran", name)
        # The settlement layer is read by the scores and zonal only.
        now = time.time()
        os.utime(self.path("data/settlement.tif"), (now, now))
        again = self.statuses(self.run_json(p))
        self.assertEqual([n for n, s in again.items() if s == "ran"], STAGES[2:])

    def test_set_overrides_an_option_and_reruns_what_it_changes(self):
        p = self.write(pipeline())
        self.run_json(p)
        rc, out, err = run("run", p, "--set", "arrivals.bandwidth=800", "--dry-run")
        self.assertEqual(rc, 0, err)
        plan = dict(line.split(None, 1) and (line.split()[1].rstrip(":"), line.split()[0])
                    for line in out.splitlines())
        self.assertEqual(plan["inundation"], "skip")
        self.assertEqual(plan["arrivals"], "run")
        self.assertEqual(plan["zonal"], "run")
        again = self.statuses(self.run_json(p, "--set", "arrivals.bandwidth=800"))
        self.assertEqual(again["arrivals"], "ran")
        ds = gdal.Open(self.path("out/arrivals.tif"))
        self.assertIn("800", ds.GetMetadataItem("CITYRISK_COMMAND"))

    def test_dry_run_runs_nothing_and_force_runs_everything(self):
        p = self.write(pipeline())
        rc, out, err = run("run", p, "--dry-run")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out.splitlines()), len(STAGES))
        self.assertTrue(all(line.startswith("run ") for line in out.splitlines()))
        self.assertEqual(os.listdir(self.path("out")), [])
        self.run_json(p)
        forced = self.statuses(self.run_json(p, "--force"))
        self.assertEqual(set(forced.values()), {"ran"})

    def test_a_pipeline_in_a_folder_deeper_than_2048_bytes(self):
        """Relative paths resolve against the whole folder (GDAL's path helpers cut at 2048)."""
        deep = os.path.join(self.tmp, *["d" * 200] * 11)
        os.makedirs(os.path.join(deep, "data"))
        shutil.copy(sample("dem.tif"), os.path.join(deep, "data", "dem.tif"))
        p = os.path.join(deep, "pipeline.json")
        with open(p, "w") as fh:
            json.dump({"stages": [pipeline()["stages"][0]]}, fh)
        self.assertGreater(len(p), 2048)
        rc, out, err = run("run", p, "--dry-run", "--json")
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)  # the same document as a run's
        self.assertEqual(doc["pipeline"], p)
        self.assertEqual(doc["stages"][0]["status"], "would run")
        self.assertEqual(doc["stages"][0]["outputs"][0], os.path.join(deep, "out", "inundation.tif"))

    def test_only_runs_the_stages_named(self):
        p = self.write(pipeline())
        only = self.statuses(self.run_json(p, "--only", "inundation,arrivals"))
        self.assertEqual([n for n, s in only.items() if s == "ran"], ["inundation", "arrivals"])
        self.assertFalse(os.path.exists(self.path("out/neighbourhoods.geojson")))

    def test_a_failed_stage_keeps_earlier_outputs_and_is_named(self):
        p = self.write(pipeline())
        rc, out, err = run("run", p, "--set", "zonal.stats=bogus", "--json")
        self.assertEqual(rc, 2, err)
        self.assertIn("stage zonal failed", err)
        stages = {s["name"]: s for s in json.loads(out)["stages"]}
        self.assertEqual(stages["zonal"]["status"], "failed")
        self.assertIn("bogus", stages["zonal"]["error"])
        self.assertNotIn("error", stages["arrivals"])
        self.assertEqual(stages["arrivals"]["status"], "ran")
        self.assertIsNotNone(gdal.Open(self.path("out/exposure-stress-2m.tif")))
        self.assertFalse(os.path.exists(self.path("out/neighbourhoods.geojson")))
        self.assertEqual([n for n in os.listdir(self.path("out")) if n.startswith(".")], [])


class Malformed(RunCase):
    def assertRefused(self, doc, *needles, code=3):
        p = self.write(doc)
        message = self.assertFails(["run", p], code, *needles)
        self.assertEqual(os.listdir(self.path("out")), [], "a stage ran")
        return message

    def test_each_malformed_case_is_refused_before_any_stage(self):
        good = pipeline()
        unknown = json.loads(json.dumps(good))
        unknown["stages"][2]["wieghts"] = "sea=1"
        self.assertRefused(unknown, "stage score-ssp245-2100", "--wieghts")
        wrong = json.loads(json.dumps(good))
        wrong["stages"][1]["bandwidth"] = {"m": 500}
        self.assertRefused(wrong, "stage 2 (arrivals)", "'bandwidth'")
        bad_number = json.loads(json.dumps(good))
        bad_number["stages"][1]["bandwidth"] = "wide"
        self.assertRefused(bad_number, "stage arrivals", "--bandwidth")
        missing = json.loads(json.dumps(good))
        missing["stages"][0]["dem"] = "data/nowhere.tif"
        self.assertRefused(missing, "stage inundation", "nowhere.tif")
        cycle = json.loads(json.dumps(good))
        cycle["stages"][0]["sea"] = "out/neighbourhoods.geojson"
        self.assertRefused(cycle, "cycle")
        command = json.loads(json.dumps(good))
        command["stages"][0]["stage"] = "flood"
        self.assertRefused(command, "stage 1", "'stage'")
        top = json.loads(json.dumps(good))
        top["stagse"] = []
        self.assertRefused(top, "'stagse'")
        sweep = json.loads(json.dumps(good))
        del sweep["scenarios"]
        self.assertRefused(sweep, "{scenario}")
        twice = json.loads(json.dumps(good))
        twice["stages"].append(dict(twice["stages"][1]))
        self.assertRefused(twice, "'arrivals'")
        self.assertRefused("{not json", "not valid JSON")
        self.assertRefused(json.dumps([1, 2]), "JSON object")

    def test_set_without_such_stage_is_a_usage_error(self):
        p = self.write(pipeline())
        self.assertFails(["run", p, "--set", "nothing.x=1"], 2, "nothing.x=1")
        rc, _, err = run("run", p, "--only", "nothing")
        self.assertEqual(rc, 2, err)
        self.assertIn("no stage 'nothing'", err)


if __name__ == "__main__":
    unittest.main()
