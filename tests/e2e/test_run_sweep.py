"""End-to-end tests of sweeps in `cityrisk run`: variables swept in any value, --set before
expansion, the gather stage and `cityrisk gather`, exec stages refused when malformed."""
import csv
import json
import os
import shutil
import unittest

from osgeo import gdal, ogr

from cliutil import CliTestCase, run, sample

gdal.UseExceptions()
ogr.UseExceptions()

SCENARIOS = ["ssp245-2100", "stress-2m"]
WEIGHTS = {"equal": "sea=0.25,water=0.25,informal=0.25,arrivals=0.25",
           "flood": "sea=0.55,water=0.15,informal=0.15,arrivals=0.15"}
COMBOS = [(s, w) for s in SCENARIOS for w in WEIGHTS]  # the first variable varies slowest


def sweep(gather=True):
    """The sample-shaped pipeline: two variables, score and zonal per combination, gathered."""
    stages = [
        {"stage": "inundation", "dem": "data/dem.tif", "scenario": "{scenario*}",
         "output": "out/inundation.tif"},
        {"stage": "arrivals", "points": "data/arrivals.csv", "count-field": "arrivals",
         "grid": "data/dem.tif", "kernel": "quartic", "bandwidth": 500, "output": "out/arrivals.tif"},
        {"stage": "score", "name": "score-{scenario}-{weights}", "sea": "out/inundation.tif",
         "scenario": "{scenario}", "weights": "{weights}", "water": "data/water_stress.tif",
         "informal": "data/settlement.tif", "arrivals": "out/arrivals.tif", "grid": "data/dem.tif",
         "output": "out/exposure-{scenario}-{weights}.tif"},
    ]
    if gather:
        stages += [
            {"stage": "zonal", "name": "zonal", "zones": "data/neighbourhoods.gpkg",
             "exposure": "out/exposure-{scenario}-{weights}.tif", "arrivals": "out/arrivals.tif",
             "sea": "out/inundation.tif", "water": "data/water_stress.tif",
             "informal": "data/settlement.tif", "output": "out/n-{scenario}-{weights}.geojson"},
            {"stage": "gather", "name": "table", "input": "out/n-{scenario}-{weights}.geojson",
             "output": "out/sweep.csv"},
            {"stage": "gather", "name": "layer", "input": "out/n-{scenario}-{weights}.geojson",
             "output": "out/sweep.geojson"},
        ]
    return {"variables": {"scenario": SCENARIOS, "weights": WEIGHTS}, "stages": stages}


def features(path):
    """The features of a vector file: a list of dicts of their properties, and geometries."""
    ds = ogr.Open(path)
    layer = ds.GetLayer(0)
    out = []
    for f in layer:
        g = f.GetGeometryRef()
        out.append((f.items(), g.ExportToWkt() if g else None))
    return out


def method(path):
    return json.loads(gdal.Open(path).GetMetadataItem("CITYRISK_PARAMETERS"))["method"]


class SweepCase(CliTestCase):
    def setUp(self):
        super().setUp()
        os.makedirs(self.path("data"))
        for name in ["dem.tif", "settlement.tif", "water_stress.tif", "arrivals.csv", "neighbourhoods.gpkg"]:
            shutil.copy(sample(name), self.path(os.path.join("data", name)))

    def write(self, doc, name="pipeline.json"):
        path = self.path(name)
        with open(path, "w") as fh:
            json.dump(doc, fh)
        return path

    def run_json(self, *args, code=0):
        rc, out, err = run("run", *args, "--json")
        self.assertEqual(rc, code, err)
        return {s["name"]: s for s in json.loads(out)["stages"]}


class Sweeps(SweepCase):
    def test_two_variables_expand_and_the_gathered_table_is_each_zonal_output(self):
        p = self.write(sweep())
        stages = self.run_json(p)
        names = [f"score-{s}-{w}" for s, w in COMBOS] + [f"zonal[{s},{w}]" for s, w in COMBOS]
        for name in names + ["inundation", "arrivals", "table", "layer"]:
            self.assertEqual(stages[name]["status"], "ran", name)
        self.assertEqual(len(stages), 4 + 2 * len(COMBOS))
        # labels name the files, values are what the options get
        for s, w in COMBOS:
            meta = gdal.Open(self.path(f"out/exposure-{s}-{w}.tif")).GetMetadataItem("CITYRISK_COMMAND")
            self.assertIn(f"--weights {WEIGHTS[w]}", meta)
            self.assertIn(f"--scenario {s}", meta)
        self.assertIn("--scenario ssp245-2100,stress-2m",
                      gdal.Open(self.path("out/inundation.tif")).GetMetadataItem("CITYRISK_COMMAND"))
        # per zone and combination, from the zonal outputs read with OGR
        expected, ranks = {}, {}
        for s, w in COMBOS:
            for props, geom in features(self.path(f"out/n-{s}-{w}.geojson")):
                expected[(s, w, str(props["nbhd_id"]))] = (props, geom)
                if props["score_rank"] is not None:
                    ranks.setdefault(str(props["nbhd_id"]), []).append((props["score_rank"], f"{s};{w}"))
        self.assertEqual(len(expected), 4 * 60)
        metrics = ["score_mean", "score_class", "score_rank", "arrivals_total", "arrivals_informal",
                   "informal_area_share", "water_stress_mean", "arrivals_high_water_stress"]
        for path in ("out/sweep.csv", "out/sweep.geojson"):
            with self.subTest(path):
                rows = features(self.path(path))
                self.assertEqual(len(rows), len(expected))
                order = [(r["scenario"], r["weights"]) for r, _ in rows[::60]]
                self.assertEqual(order, COMBOS)
                for row, geom in rows:
                    props, zgeom = expected[(row["scenario"], row["weights"], str(row["nbhd_id"]))]
                    self.assertEqual(row["name"], props["name"])
                    # zonal's per-scenario columns are one column, each row its own scenario's
                    sfx = "_" + row["scenario"].replace("-", "_")
                    self.assertNotIn("arrivals_flooded" + sfx, row)
                    pairs = [(m, m) for m in metrics] + [
                        (m + sfx, m) for m in ("arrivals_flooded", "arrivals_flooded_share")]
                    for m, col in pairs:
                        want, got = props[m], row[col]
                        if want is None:
                            self.assertIn(got, (None, ""), m)
                        else:
                            self.assertAlmostEqual(float(got), float(want), places=9, msg=m)
                    by_hand = sorted(ranks.get(str(row["nbhd_id"]), []), key=lambda r: r[0])
                    if by_hand:
                        lo = min(r for r, _ in by_hand)
                        hi = max(r for r, _ in by_hand)
                        self.assertEqual(int(row["score_rank_min"]), lo)
                        self.assertEqual(int(row["score_rank_max"]), hi)
                        # the first combination (in sweep order) where each occurs
                        first = {}
                        for s, w in COMBOS:
                            r = expected[(s, w, str(row["nbhd_id"]))][0]["score_rank"]
                            first.setdefault(r, f"{s};{w}")
                        self.assertEqual(row["score_rank_min_at"], first[lo])
                        self.assertEqual(row["score_rank_max_at"], first[hi])
                    if path.endswith(".geojson"):
                        self.assertEqual(geom, zgeom)
                    else:
                        self.assertIsNone(geom)
        with open(self.path("out/sweep.geojson")) as fh:
            prov = json.load(fh)["cityrisk"]
        self.assertIn("stage layer: gather", prov["CITYRISK_COMMAND"])
        self.assertEqual(len(prov["CITYRISK_INPUTS"]), len(COMBOS))
        # the ranks do move across the sweep: the table shows something
        self.assertTrue(any(len({r for r, _ in v}) > 1 for v in ranks.values()))
        # a second run has nothing to do
        again = self.run_json(p)
        self.assertNotIn("ran", {s["status"] for s in again.values()})

    def test_set_by_the_name_before_expansion_and_by_one_full_name(self):
        doc = sweep(gather=False)  # no "overwrite": reruns replace the pipeline's own outputs
        p = self.write(doc)
        scores = [f"out/exposure-{s}-{w}.tif" for s, w in COMBOS]
        # one expansion by its full name: only that one changes
        stages = self.run_json(p, "--set", "score-stress-2m-flood.method=arithmetic")
        self.assertEqual(stages["score-stress-2m-flood"]["status"], "ran")
        for (s, w), path in zip(COMBOS, scores):
            self.assertEqual(method(self.path(path)), "arithmetic" if (s, w) == ("stress-2m", "flood")
                             else "geometric", path)
        # the case: score.method applies to every score-*
        stages = self.run_json(p, "--set", "score.method=arithmetic")
        for path in scores:
            self.assertEqual(method(self.path(path)), "arithmetic", path)
        ran = sorted(n for n, s in stages.items() if s["status"] == "ran")
        self.assertEqual(ran, sorted(f"score-{s}-{w}" for s, w in COMBOS if (s, w) != ("stress-2m", "flood")))
        # the name as written, with its variables, is the same stage
        rc, out, err = run("run", p, "--set", "score-{scenario}-{weights}.method=inform", "--dry-run")
        self.assertEqual(rc, 0, err)
        self.assertEqual(sum(line.startswith("run") for line in out.splitlines()), len(COMBOS))
        # naming nothing is a usage error
        self.assertFails(["run", p, "--set", "score-ssp245-2050-flood.method=arithmetic"], 2,
                         "no stage of that name")

    def test_a_dem_is_swept_by_its_files_and_a_sea_level_by_its_numbers(self):
        shutil.copy(self.path("data/dem.tif"), self.path("data/dem-b.tif"))
        doc = {"variables": {"dem": {"a": "data/dem.tif", "b": "data/dem-b.tif"}, "slr": [0.5, 1.25]},
               "stages": [{"stage": "inundation", "name": "flood-{dem}-{slr}", "dem": "{dem}",
                           "sea-level": "{slr}", "output": "out/flood-{dem}-{slr}.tif"}]}
        p = self.write(doc)
        stages = self.run_json(p)
        self.assertEqual(sorted(stages), ["flood-a-0.5", "flood-a-1.25", "flood-b-0.5", "flood-b-1.25"])
        for d, dem in (("a", "data/dem.tif"), ("b", "data/dem-b.tif")):
            for level in ("0.5", "1.25"):
                meta = gdal.Open(self.path(f"out/flood-{d}-{level}.tif")).GetMetadataItem("CITYRISK_COMMAND")
                self.assertIn(f"--dem {dem} ", meta)  # the value: the file
                self.assertIn(f"--sea-level {level} ", meta)
        # a stage named after a sea level is addressed whole: the option is after the last dot
        stages = self.run_json(p, "--set", "flood-a-0.5.tide=0.2")
        self.assertEqual([n for n, s in stages.items() if s["status"] == "ran"], ["flood-a-0.5"])
        # a swept name in brackets is one name for --only
        doc["stages"][0]["name"] = "flood"
        self.write(doc)
        stages = self.run_json(p, "--only", "flood[b,1.25],flood[a,0.5]", "--dry-run", "--force")
        self.assertEqual(sorted(n for n, s in stages.items() if s["status"] == "would run"),
                         ["flood[a,0.5]", "flood[b,1.25]"])

    def test_set_cannot_change_what_a_stage_is(self):
        doc = sweep(gather=False)
        doc["stages"].append({"name": "copy", "exec": ["cp", "{input}", "{output}"],
                              "input": "data/dem.tif", "output": "out/dem-copy.tif"})
        p = self.write(doc)
        for key in ("stage", "name", "exec"):
            self.assertFails(["run", p, "--dry-run", "--set", f"copy.{key}=x"], 2, f"a stage's '{key}'")
        # what --set adds to an exec stage is checked as its keys are
        self.assertFails(["run", p, "--dry-run", "--set", "copy.bogus=x"], 3, "key 'bogus'")

    def test_old_scenarios_are_the_variable_scenario(self):
        doc = sweep(gather=False)
        del doc["variables"]
        doc["scenarios"] = SCENARIOS
        doc["stages"][2]["name"] = "score"
        doc["stages"][2]["weights"] = WEIGHTS["flood"]
        doc["stages"][2]["output"] = "out/exposure-{scenario}.tif"
        rc, out, err = run("run", self.write(doc), "--dry-run")
        self.assertEqual(rc, 0, err)
        self.assertIn("score[stress-2m]", out)
        self.assertIn("score[ssp245-2100]", out)


class Refused(SweepCase):
    def assertRefused(self, doc, *needles, code=3):
        self.assertFails(["run", self.write(doc), "--dry-run"], code, *needles)
        self.assertFalse(os.path.exists(self.path("out")))

    def test_malformed_variables(self):
        for variables, needle in [
                ({"scenario": []}, "'scenario' must be a non-empty"),
                ({"scenario": {}}, "'scenario' must be a non-empty"),
                ({"scenario": [True]}, "item 1 must be a string or a number"),
                ({"weights": {"a": {"b": 1}}}, "'a' must be a string or a number"),
                ({"weights": {"a/b": "1"}}, "label 'a/b'"),
                ({"weights": {"a;b": "1"}}, "label 'a;b'"),
                ({"input": ["a"]}, "'input' is reserved"),
                ({"output": ["a"]}, "'output' is reserved"),
                (["a"], "'variables' must be an object")]:
            with self.subTest(variables):
                doc = sweep(gather=False)
                doc["variables"] = variables
                self.assertRefused(doc, "pipeline", needle)

    def test_both_scenarios_and_variables(self):
        doc = sweep(gather=False)
        doc["scenarios"] = SCENARIOS
        self.assertRefused(doc, "'scenarios' and 'variables' both given")

    def test_a_list_value_that_cannot_be_a_label_names_no_stage(self):
        doc = sweep(gather=False)
        doc["variables"]["grid"] = ["data/dem.tif"]
        doc["stages"][2]["grid"] = "{grid}"
        self.assertRefused(doc, "score-{scenario}-{weights}", "variable 'grid'", "as an object")
        doc["stages"][2]["grid"] = "{grid*}"  # as a whole, it is a value like another
        rc, out, err = run("run", self.write(doc), "--dry-run")
        self.assertEqual(rc, 0, err)

    def test_a_gather_stage_uses_variables_in_its_input_only(self):
        doc = sweep()
        doc["stages"][-1]["output"] = "out/sweep-{weights}.geojson"
        self.assertFails(["run", self.write(doc), "--dry-run"], 3, "key 'output' uses the variable weights")

    def test_a_gather_stage_sets_its_own_by(self):
        doc = sweep()
        doc["stages"][-1]["by"] = "scenario"
        self.assertRefused(doc, "stage 6 (layer)", "key 'by'")
        doc["stages"][-1].pop("by")
        doc["stages"][-1]["input"] = ["a", "b"]
        self.assertRefused(doc, "key 'input' must be a string")

    def test_malformed_exec_stages(self):
        for stage, needle in [
                ({"exec": []}, "key 'exec' must be a non-empty array of strings"),
                ({"exec": "gdal_translate"}, "key 'exec' must be a non-empty array of strings"),
                ({"exec": ["gdal_translate", 3]}, "key 'exec' must be a non-empty array of strings"),
                ({"exec": ["cp", "{input}", "{output}"], "input": "data/dem.tif", "output": "out/c.tif",
                  "overwrite": True}, "key 'overwrite' is not one of an exec stage's"),
                ({"exec": ["cp", "{input}", "{output}"], "stage": "score"}, "key 'stage' is not one"),
                ({"exec": ["cp", "-t", "x={input}"], "input": ["data/dem.tif", "data/arrivals.csv"]},
                 "exactly one input file, not 2"),
                ({"exec": ["cp"], "input": 3}, "key 'input' must be a file or an array of files"),
                ({"exec": ["cp"], "name": ""}, "key 'name' must be a string")]:
            with self.subTest(stage):
                doc = sweep(gather=False)
                doc["stages"].append(stage)
                self.assertRefused(doc, "pipeline", needle)

    def test_an_exec_output_is_claimed_like_others(self):
        doc = sweep(gather=False)
        doc["stages"].append({"exec": ["cp", "{input}", "{output}"], "input": "data/dem.tif",
                              "output": "out/arrivals.tif"})
        self.assertRefused(doc, "write one file", "cp")


class ExecStages(SweepCase):
    def test_dry_run_shows_exec_stages_swept_and_ordered(self):
        doc = sweep(gather=False)
        doc["stages"].insert(0, {"exec": ["gdal_translate", "-of", "COG", "{input}", "{output}"],
                                 "input": "data/dem.tif", "output": "out/dem-cog.tif"})
        doc["stages"][1]["dem"] = "out/dem-cog.tif"  # inundation reads what it makes
        doc["stages"].append({"exec": ["gdal_translate", "-of", "PNG", "{input}", "{output}"],
                              "name": "png-{weights}", "input": "out/exposure-stress-2m-{weights}.tif",
                              "output": ["out/e-{weights}.png"]})
        rc, out, err = run("run", self.write(doc), "--dry-run", "--json")
        self.assertEqual(rc, 0, err)
        stages = json.loads(out)["stages"]
        names = [s["name"] for s in stages]
        self.assertEqual(names[0], "gdal_translate")
        self.assertLess(names.index("gdal_translate"), names.index("inundation"))
        for w in WEIGHTS:
            self.assertGreater(names.index(f"png-{w}"), names.index(f"score-stress-2m-{w}"))
        by_name = {s["name"]: s for s in stages}
        first = by_name["gdal_translate"]
        self.assertEqual(first["command"], "exec")
        self.assertEqual(first["status"], "would run")
        self.assertEqual(first["reason"], f"output {self.path('out/dem-cog.tif')} does not exist")
        self.assertEqual(first["outputs"], [self.path("out/dem-cog.tif")])
        self.assertEqual(by_name["png-equal"]["outputs"], [self.path("out/e-equal.png")])  # no .qml
        self.assertFalse(os.path.exists(self.path("out")))


class Gather(SweepCase):
    """cityrisk gather alone, on zonal outputs made here."""

    def setUp(self):
        super().setUp()
        os.makedirs(self.path("out"))
        self.zonal = {}
        for label, scen in (("a", "ssp245-2100"), ("b", "stress-2m")):
            rc, _, err = run("inundation", "--dem", self.path("data/dem.tif"), "--scenario", scen,
                             "-o", self.path(f"out/sea-{label}.tif"), "-q")
            self.assertEqual(rc, 0, err)
            self.zonal[label] = self.path(f"out/z-{label}.geojson")
            rc, _, err = run("zonal", "--zones", self.path("data/neighbourhoods.gpkg"), "--sea",
                             self.path(f"out/sea-{label}.tif"), "--grid", self.path("data/dem.tif"),
                             "-o", self.zonal[label], "-q")
            self.assertEqual(rc, 0, err)

    def test_without_by_each_row_names_its_input_and_numbers_are_bare(self):
        out = self.path("out/t.csv")
        rc, _, err = run("gather", "-q", "-o", out, self.zonal["a"], self.zonal["b"])
        self.assertEqual(rc, 0, err)
        with open(out, newline="") as fh:
            rows = list(csv.DictReader(fh))
        self.assertEqual({r["input"] for r in rows}, {self.zonal["a"], self.zonal["b"]})
        with open(out) as fh:
            fh.readline()
            first = fh.readline()
        self.assertNotIn('"', first.split(",")[0])  # the id, an integer, is not quoted

    def test_a_zone_missing_from_one_input_has_empty_metrics(self):
        # b without zone 5
        partial = self.path("out/z-b-partial.geojson")
        gdal.VectorTranslate(partial, gdal.OpenEx(self.zonal["b"]), where="nbhd_id <> 5")
        out = self.path("out/t.csv")
        rc, _, err = run("gather", "--by", "s", "--fields", "flood_area_share", "-o", out,
                         f"a={self.zonal['a']}", f"b={partial}", "-q")
        self.assertEqual(rc, 0, err)
        with open(out) as fh:
            rows = list(csv.DictReader(fh))
        self.assertEqual(len(rows), 2 * len(features(self.zonal["a"])))
        missing = [r for r in rows if r["s"] == "b" and r["nbhd_id"] == "5"]
        self.assertEqual(len(missing), 1)
        self.assertEqual(missing[0]["flood_area_share"], "")
        self.assertEqual(missing[0]["name"], [r for r in rows if r["nbhd_id"] == "5"][0]["name"])
        self.assertTrue(missing[0]["name"])
        # every other row is its input's value
        for r in rows:
            if r is missing[0]:
                continue
            props = [p for p, _ in features(self.zonal[r["s"]]) if str(p["nbhd_id"]) == r["nbhd_id"]][0]
            self.assertAlmostEqual(float(r["flood_area_share"]), props["flood_area_share"], places=9)

    def test_existing_output_refused_without_overwrite(self):
        out = self.path("out/t.geojson")
        args = ["gather", "-o", out, self.zonal["a"], "-q"]
        self.assertEqual(run(*args)[0], 0)
        with open(out, "rb") as fh:
            before = fh.read()
        self.assertFails(args, 4, "t.geojson")
        with open(out, "rb") as fh:
            self.assertEqual(fh.read(), before)
        self.assertEqual(run(*args, "--overwrite")[0], 0)
        self.assertEqual(sorted(os.listdir(self.path("out")))[0:1], ["sea-a.tif"])  # no temporary left

    def test_usage_errors(self):
        self.assertFails(["gather", "--by", "s,w", "-o", self.path("out/t.csv"), f"a={self.zonal['a']}"], 2,
                         "1 labels for 2 --by variables")
        self.assertFails(["gather", "--by", "s", "-o", self.path("out/t.csv"), self.zonal["a"]], 2,
                         "expected LABEL")
        self.assertFails(["gather", "-o", self.path("out/t.csv"), "--fields", "bogus", self.zonal["a"]], 3,
                         "no field 'bogus'")
        self.assertFails(["gather", "-o", self.zonal["a"], "--overwrite", self.zonal["a"]], 2)


if __name__ == "__main__":
    unittest.main()
