"""End-to-end tests of `cityrisk run`: pipelines on the sample city, make-like reruns, errors."""
import json
import os
import shutil
import subprocess
import time
import unittest

from osgeo import gdal, ogr

from cliutil import CITYRISK, CliTestCase, run, sample

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
        # no temporary left: only the state's folder is hidden, holding the state alone
        self.assertEqual([n for n in os.listdir(self.path("out")) if n.startswith(".")], [".cityrisk"])
        self.assertEqual(os.listdir(self.path("out/.cityrisk")), ["pipeline.json.state.json"])


class StageSummaries(RunCase):
    def test_run_json_carries_each_stages_own_json(self):
        """run --json's summary of a stage is the document the stage's own --json prints: the
        command is called in-process through the command table, its summary taken whole."""
        p = self.write(pipeline())
        rc, out, err = run("run", p, "--json")
        self.assertEqual(rc, 0, err)
        stages = {s["name"]: s for s in json.loads(out)["stages"]}
        with open(self.path("out/.cityrisk/pipeline.json.state.json")) as fh:
            state = json.load(fh)["stages"]
        for name in STAGES:
            with self.subTest(stage=name):
                rc, own, err = run(*state[name]["argv"], "--json")
                self.assertEqual(rc, 0, err)
                self.assertEqual(json.loads(own), stages[name]["summary"])


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


# The bad-input catalogue's tiny inputs: an 8 x 8 grid and 12 records, for stages that run
# in a blink.
BAD = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bad"))


def tiny(name, output, **options):
    """An arrivals stage over the catalogue's tiny grid and records (that replaces its own
    outputs: issue 19 makes that the default)."""
    return {"stage": "arrivals", "name": name, "points": os.path.join(BAD, "points.csv"),
            "count-field": "arrivals", "grid": os.path.join(BAD, "good.tif"), "output": output,
            "overwrite": True, **options}


class Reliability(RunCase):
    """Issue 16: state files that cannot be used, inputs that are not files or too large,
    outputs two stages write, NUL in strings, self-dependent stages, byte-order marks, and
    checks that take n log n."""

    def state(self, name="pipeline.json"):
        """The state of a pipeline whose first output is in out/ (issue 19: with the outputs)."""
        return self.path(os.path.join("out", ".cityrisk", name + ".state.json"))

    def plan(self, p, *args, code=0):
        """--dry-run's plan as {stage: "run"/"skip"} and its stderr."""
        rc, out, err = run("run", p, "--dry-run", *args)
        self.assertEqual(rc, code, err)
        return {line.split()[1].rstrip(":"): line.split()[0] for line in out.splitlines()}, err

    def assertNothingRan(self):
        self.assertEqual([n for n in os.listdir(self.path("out")) if n != ".cityrisk"], [], "a stage ran")

    def two_stages(self):
        return self.write({"stages": [tiny("a", "out/a.tif"), tiny("b", "out/b.tif")]})

    def test_a_decimal_value_is_passed_as_written(self):
        """0.1 in the pipeline is "0.1" on the stage's command line (and in its outputs'
        provenance), not the 17 digits of its double, 0.10000000000000001."""
        p = self.write({"stages": [{"stage": "inundation", "dem": os.path.join(BAD, "good.tif"),
                                    "sea-level": 0.1, "tide": 1e-7, "output": "out/d.tif"}]})
        rc, _, err = run("run", "-q", p)
        self.assertEqual(rc, 0, err)
        command = gdal.Open(self.path("out/d.tif")).GetMetadataItem("CITYRISK_COMMAND")
        self.assertIn(" --sea-level 0.1 ", command)
        self.assertIn(" --tide 1e-07 ", command)  # as json.dumps wrote it in the file

    # ---- point 3: a corrupt state file
    def test_corrupt_state_is_reported_and_treated_as_absent(self):
        p = self.two_stages()
        self.run_json(p)
        with open(self.state()) as fh:
            good = json.load(fh)
        self.assertEqual(self.plan(p)[0], {"a": "skip", "b": "skip"})
        null = json.loads(json.dumps(good))
        null["stages"]["a"]["argv"][2] = None  # made run --dry-run segfault (exit 139)

        def stages(**entries):
            return json.dumps(dict(good, stages=dict(good["stages"], **entries)))

        corrupt = {
            "a null in argv": json.dumps(null),
            "argv not an array": stages(a={"argv": "arrivals"}),
            "an entry not an object": stages(a=1),
            "a size not a number": stages(a=dict(good["stages"]["a"], outputs={self.path("out/a.tif"): {
                "size": "1", "mtime_ns": 1}})),
            "no version": stages(a={k: v for k, v in good["stages"]["a"].items() if k != "version"}),
            "the shape of an earlier cityrisk": json.dumps({n: {"argv": e["argv"]} for n, e in good["stages"].items()}),
            "another version of the shape": json.dumps(dict(good, cityrisk_state=3)),
            "not an object": json.dumps([good]),
            "not JSON": "{\"a\": {\"argv\": [",
            "a NUL": json.dumps(good).replace("arrivals", "arri\\u0000vals", 1),
            "empty": "",
        }
        for what, text in corrupt.items():
            with self.subTest(what):
                with open(self.state(), "w") as fh:
                    fh.write(text)
                plan, err = self.plan(p)
                self.assertEqual(plan, {"a": "run", "b": "run"})  # every stage, b too
                self.assertRegex(err, r"cityrisk run: warning: state '.*/out/\.cityrisk/pipeline\.json\.state\.json'"
                                      r".*: treated as absent, so every stage runs")
        # A run rewrites it whole; the next run finds everything up to date.
        self.assertEqual(set(self.statuses(self.run_json(p)).values()), {"ran"})
        with open(self.state()) as fh:
            again = json.load(fh)
        for entry in list(again["stages"].values()) + list(good["stages"].values()):
            del entry["outputs"]  # made again: another time
        self.assertEqual(again, good)
        self.assertEqual(self.plan(p), ({"a": "skip", "b": "skip"}, ""))

    # ---- point 11: what the pipeline reads is a regular file, bounded, never waited for
    def fifo(self, name):
        path = self.path(name)
        os.mkfifo(path)
        return path

    def run_briefly(self, *args, timeout=30):
        """Runs cityrisk with a deadline (a FIFO blocked it for ever, /dev/zero grew it at
        300 MB/s); returns (exit code, stderr)."""
        proc = subprocess.run([CITYRISK, *args], capture_output=True, text=True, timeout=timeout)
        return proc.returncode, proc.stderr

    def test_a_pipeline_that_is_not_a_regular_file_is_refused_at_once(self):
        for path, kind in [("/dev/zero", "a character device"), (self.fifo("p.json"), "a named pipe")]:
            with self.subTest(path):
                rc, err = self.run_briefly("run", path)
                self.assertEqual(rc, 3, err)
                self.assertRegex(err.splitlines()[-1],
                                 rf"^cityrisk run: cannot open pipeline '{path}': not a regular "
                                 rf"file \({kind}\)$")

    def test_a_named_pipe_as_a_stage_input_is_refused_at_once(self):
        p = self.write({"stages": [dict(tiny("a", "out/a.tif"), grid=self.fifo("grid.tif"))]})
        rc, err = self.run_briefly("run", p)
        self.assertEqual(rc, 3, err)
        self.assertIn("not a regular file (a named pipe)", err)
        self.assertNothingRan()

    def test_a_state_that_is_not_a_regular_file_is_neither_read_nor_replaced(self):
        p = self.two_stages()
        for target, kind in [("/dev/full", "a character device"), ("/dev/zero", "a character device"),
                             (self.fifo("fifo"), "a named pipe")]:
            with self.subTest(target):
                os.makedirs(os.path.dirname(self.state()), exist_ok=True)
                os.symlink(target, self.state())
                rc, err = self.run_briefly("run", p, "--dry-run")
                self.assertEqual(rc, 0, err)
                self.assertIn(f"is not a regular file ({kind}): treated as absent, so every stage "
                              "runs, and no state is recorded there", err)
                rc, err = self.run_briefly("run", p, "--force")
                self.assertEqual(rc, 0, err)
                self.assertEqual(os.readlink(self.state()), target, "the state replaced the link")
                os.remove(self.state())

    def test_size_caps(self):
        big = self.path("big.json")
        with open(big, "w") as fh:  # sparse: no disk is used
            fh.truncate(16 * 1024 * 1024 + 1)
        rc, err = self.run_briefly("run", big)
        self.assertEqual(rc, 3, err)
        self.assertIn(f"pipeline '{big}' is 16.0 MiB, more than the 16 MiB a pipeline file may be",
                      err)
        # 300 000 empty objects in 1 MB: json-c would hold them in 240 MB
        many = self.write("[" + ",".join(["{}"] * 300000) + "]", "many.json")
        rc, err = self.run_briefly("run", many)
        self.assertEqual(rc, 3, err)
        self.assertIn("more than the 262144 objects and arrays a pipeline file may hold", err)
        # a state beyond its cap is reported and treated as absent
        p = self.two_stages()
        self.run_json(p)
        with open(self.state(), "r+") as fh:
            fh.truncate(128 * 1024 * 1024 + 1)
        plan, err = self.plan(p)
        self.assertEqual(plan, {"a": "run", "b": "run"})
        self.assertIn("is 128.0 MiB, more than the 128 MiB a state file may be", err)

    def test_sigterm_while_a_large_state_is_read(self):
        """Reading stops between two blocks: exit 143 at once, nothing run (a state symlinked
        to /dev/full ignored SIGTERM while it grew to 2 GB)."""
        p = self.two_stages()
        os.makedirs(os.path.dirname(self.state()))
        with open(self.state(), "w") as fh:  # valid and large: an object of blanks
            fh.write("{" + " " * (127 * 1024 * 1024) + "}")
        proc = subprocess.Popen([CITYRISK, "run", p], stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:  # until the state is open
            try:
                fds = [os.readlink(f"/proc/{proc.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{proc.pid}/fd")]
            except OSError:
                fds = []
            if self.state() in fds:
                break
            time.sleep(0.001)
        signalled = time.monotonic()
        proc.terminate()
        _, err = proc.communicate(timeout=60)
        self.assertLess(time.monotonic() - signalled, 5)
        self.assertEqual(proc.returncode, 143, err)
        # between two blocks, or (on a machine that read it all first) before any stage
        self.assertRegex(err.splitlines()[-1], r"^cityrisk run: interrupted by SIGTERM(: reading state "
                                               r"'.*' was cancelled| before any stage ran)$")
        self.assertNothingRan()

    def test_text_after_the_value_is_refused(self):
        self.assertEqual(run("run", self.write('{"stages": []} {"stages": []}'))[0], 3)

    # ---- point 8: two stages writing one file
    def test_two_stages_writing_one_file_are_refused_before_anything_runs(self):
        # the identical string, spelled otherwise, absolute (relative paths resolve against
        # the pipeline's folder, and messages show them so)
        for second in ["out/q.tif", "./out/q.tif", self.path("out/q.tif"), "out/../out/q.tif"]:
            with self.subTest(second):
                p = self.write({"stages": [tiny("a", "out/q.tif"), tiny("b", second, bandwidth=90)]})
                message = self.assertFails(["run", p], 3, "stages a and b write one file",
                                           f"'{self.path('out/q.tif')}' and "
                                           f"'{os.path.join(self.tmp, second)}'")
                self.assertNotIn("qml", message)  # the outputs themselves are named first
                self.assertNothingRan()

    def test_sidecars_count_as_outputs(self):
        # q.tif and q.geojson share q.qml
        zonal = {"stage": "zonal", "zones": "data/neighbourhoods.gpkg", "water": "data/water_stress.tif",
                 "output": "out/q.geojson"}
        p = self.write({"stages": [tiny("a", "out/q.tif"), zonal]})
        q = self.path("out/q")
        self.assertFails(["run", p], 3, "stages a and zonal write one file",
                         f"'{q}.qml' (the QGIS style of '{q}.tif')",
                         f"'{q}.qml' (the QGIS style of '{q}.geojson')")
        # a Shapefile's .dbf
        p = self.write({"stages": [dict(zonal, output="out/n.shp"),
                                   tiny("a", "out/a.tif", report="out/n.dbf")]})
        self.assertFails(["run", p], 3, "stages zonal and a write one file",
                         f"'{self.path('out/n.dbf')}' (a file of the Shapefile "
                         f"'{self.path('out/n.shp')}')")
        # one stage, twice
        p = self.write({"stages": [tiny("a", "out/a.tif", report="out/a.tif")]})
        self.assertFails(["run", p], 3, "stage a writes one file twice")
        # the pipeline file and its state
        p = self.write({"stages": [dict(zonal, output="pipeline.json", qml=False)]})
        self.assertFails(["run", p], 3, f"stage zonal would write '{p}', the pipeline file itself")
        state = "out/.cityrisk/pipeline.json.state.json"  # the state of a pipeline writing out/a.tif first
        p = self.write({"stages": [tiny("a", "out/a.tif"), dict(zonal, output=state, qml=False)]})
        self.assertFails(["run", p], 3, f"stage zonal would write '{self.state()}', the "
                                        "pipeline's state file")
        self.assertNothingRan()
        with open(p) as fh:
            self.assertEqual(json.load(fh)["stages"][1]["output"], state)

    def test_a_report_gets_no_style_and_stays_up_to_date(self):
        """The style is the one the command writes, beside --output only: a report named
        r.txt was given an r.qml no one wrote, and its stage ran every time."""
        p = self.write({"stages": [tiny("a", "out/a.tif", report="out/r.txt")]})
        self.run_json(p)
        self.assertEqual(sorted(os.listdir(self.path("out"))), [".cityrisk", "a.qml", "a.tif", "r.txt"])
        self.assertEqual(self.plan(p), ({"a": "skip"}, ""))

    def test_a_file_option_takes_one_file(self):
        p = self.write({"stages": [tiny("a", ["out/a.tif", "out/b.tif"])]})
        self.assertFails(["run", p], 3, "stage 1 (a): key 'output' names one file, not an array of 2")

    def test_reading_a_file_spelled_otherwise_is_a_dependency(self):
        first = tiny("first", "out/a.tif")
        second = {"stage": "zonal", "name": "second", "zones": "data/neighbourhoods.gpkg",
                  "arrivals": "./out/../out/a.tif", "output": "out/z.geojson"}
        p = self.write({"stages": [second, first]})
        self.assertEqual(list(self.plan(p)[0]), ["first", "second"])

    # ---- point 19: NUL
    def test_a_nul_in_a_string_is_refused(self):
        for what, text in [
                ("escaped", json.dumps({"stages": [tiny("a", "out/a.tif\u0000.evil")]})),
                ("in a key", '{"stages": [{"stage": "arrivals", "out\\u0000put": "x"}]}'),
                ("a raw byte", '{"stages": []}\n\u0000')]:
            with self.subTest(what):
                p = self.write(text)
                message = self.assertFails(["run", p], 3, f"pipeline '{p}' line ")
                self.assertIn("NUL", message)
                self.assertNothingRan()

    # ---- point 26: a stage reading its own output; a byte-order mark
    def test_a_stage_reading_its_own_output_is_a_cycle(self):
        p = self.write({"stages": [{"stage": "zonal", "zones": "data/neighbourhoods.gpkg",
                                    "arrivals": "out/z.geojson", "output": "out/z.geojson"}]})
        self.assertFails(["run", p], 3, f"stage zonal reads '{self.path('out/z.geojson')}', which "
                                        "it writes itself: a cycle")
        self.assertNothingRan()

    def test_a_byte_order_mark_is_accepted(self):
        p = self.path("pipeline.json")
        with open(p, "wb") as fh:
            fh.write(b"\xef\xbb\xbf" + json.dumps({"stages": [tiny("a", "out/a.tif")]}).encode())
        self.assertEqual(self.statuses(self.run_json(p)), {"a": "ran"})

    # ---- point 13: checks in n log n
    def test_twenty_thousand_stages_in_a_chain_plan_in_seconds(self):
        """Each stage reads the next one's output: the order was found by passes over every
        pair of stages (4000 stages: more than 9 minutes)."""
        n = 20000
        stages = [tiny(f"s{i}", f"out/s{i}.tif", qml=False) for i in range(n)]
        for i in range(n - 1):
            stages[i]["grid"] = f"out/s{i + 1}.tif"
        p = self.write({"stages": stages})
        start = time.monotonic()
        rc, out, err = run("run", p, "--dry-run")
        self.assertEqual(rc, 0, err)
        self.assertLess(time.monotonic() - start, 120)
        lines = out.splitlines()
        self.assertEqual(len(lines), n)
        self.assertTrue(lines[0].startswith(f"run   s{n - 1}:"), lines[0])
        self.assertTrue(lines[-1].startswith("run   s0:"), lines[-1])


def gdalinfo_command(path):
    """CITYRISK_COMMAND as gdalinfo shows it."""
    return gdal.Info(path, format="json")["metadata"][""]["CITYRISK_COMMAND"]


class Provenance(RunCase):
    """Issue 18, point 17: outputs record the command line as the user typed it: numbers as
    written, no option the program added (run's --qml, -q, --threads, --json), and for a
    pipeline stage the run and the stage as the pipeline writes it."""

    PIPELINE = ('{"stages": [{"stage": "inundation", "name": "flood", "dem": "data/dem.tif", '
                '"sea-level": "0.5,1.0", "tide": 1.1, "surge": 0.10, "datum-offset": 1e-7, '
                '"output": "out/d.tif"}, '
                '{"stage": "zonal", "zones": "data/neighbourhoods.gpkg", "sea": "out/d.tif", '
                '"output": "out/z.geojson"}]}')

    def test_a_stage_records_the_run_and_the_stage_as_written(self):
        p = self.write(self.PIPELINE)
        rc, _, err = run("run", "-q", "--threads", "2", p)
        self.assertEqual(rc, 0, err)
        self.assertEqual(gdalinfo_command(self.path("out/d.tif")),
                         f"run {p}; stage flood: inundation --dem data/dem.tif --sea-level 0.5,1.0 "
                         "--tide 1.1 --surge 0.10 --datum-offset 1e-7 --output out/d.tif")
        self.assertTrue(os.path.exists(self.path("out/d.qml")))  # --qml ran, unrecorded
        with open(self.path("out/z.geojson")) as fh:
            recorded = json.load(fh)["cityrisk"]["CITYRISK_COMMAND"]
        self.assertEqual(recorded, f"run {p}; stage zonal: zonal --zones data/neighbourhoods.gpkg "
                                   "--sea out/d.tif --output out/z.geojson")

    def test_a_set_is_recorded_in_the_run_and_in_the_stage(self):
        p = self.write(self.PIPELINE)
        rc, _, err = run("run", p, "--set", "flood.tide=1.20", "--json", "--only", "flood")
        self.assertEqual(rc, 0, err)
        self.assertEqual(gdalinfo_command(self.path("out/d.tif")),
                         f"run {p} --set flood.tide=1.20 --only flood; stage flood: inundation --dem "
                         "data/dem.tif --sea-level 0.5,1.0 --tide 1.20 --surge 0.10 --datum-offset 1e-7 "
                         "--output out/d.tif")

    def test_a_command_records_what_the_user_typed(self):
        dem, out = self.path("data/dem.tif"), self.path("out/direct.tif")
        rc, _, err = run("inundation", "--dem", dem, "--sea-level", "0.50", "--tide", "1.10", "--threads", "2",
                         "-q", "--json", "-o", out)
        self.assertEqual(rc, 0, err)
        self.assertEqual(gdalinfo_command(out), f"inundation --dem {dem} --sea-level 0.50 --tide 1.10 -o {out}")


if __name__ == "__main__":
    unittest.main()
