"""End-to-end tests of `cityrisk run -j N` (independent stages at once), the progress that
names each stage (text on a terminal, JSON events with --json), the plan of --dry-run, and
external programs as stages."""
import filecmp
import json
import os
import shutil
import subprocess
import unittest

from osgeo import gdal

from cliutil import CITYRISK, CliTestCase, run, sample

gdal.UseExceptions()


def pipeline():
    """Independent stages (inundation, arrivals) and stages that wait for them."""
    return {
        "variables": {"scenario": ["ssp245-2100", "stress-2m"]},
        "stages": [
            {"stage": "inundation", "dem": "data/dem.tif", "scenario": "{scenario*}",
             "output": "out/inundation.tif"},
            {"stage": "arrivals", "points": "data/arrivals.csv", "count-field": "arrivals",
             "grid": "data/dem.tif", "kernel": "quartic", "bandwidth": 500,
             "output": "out/arrivals.tif"},
            {"stage": "score", "name": "score-{scenario}", "sea": "out/inundation.tif",
             "scenario": "{scenario}", "water": "data/water_stress.tif",
             "informal": "data/settlement.tif", "arrivals": "out/arrivals.tif",
             "grid": "data/dem.tif", "output": "out/exposure-{scenario}.tif"},
            {"stage": "zonal", "zones": "data/neighbourhoods.gpkg",
             "exposure": "out/exposure-ssp245-2100.tif", "arrivals": "out/arrivals.tif",
             "sea": "out/inundation.tif", "output": "out/neighbourhoods.geojson"},
        ],
    }


STAGES = ["inundation", "arrivals", "score-ssp245-2100", "score-stress-2m", "zonal"]


def sweep():
    """Two variables, an external stage, zonal per combination and a gathered table."""
    doc = pipeline()
    doc["variables"]["weights"] = {"equal": "sea=0.25,water=0.25,informal=0.25,arrivals=0.25",
                                   "flood": "sea=0.55,water=0.15,informal=0.15,arrivals=0.15"}
    doc["stages"].insert(0, {"name": "dem-copy", "exec": ["cp", "{input}", "{output}"],
                             "input": "data/dem.tif", "output": "out/prep/dem.tif"})
    doc["stages"][1]["dem"] = "out/prep/dem.tif"
    doc["stages"][3].update({"name": "score-{scenario}-{weights}", "weights": "{weights}",
                             "output": "out/exposure-{scenario}-{weights}.tif"})
    doc["stages"][4].update({"name": "zonal-{scenario}-{weights}",
                             "exposure": "out/exposure-{scenario}-{weights}.tif",
                             "output": "out/n-{scenario}-{weights}.geojson"})
    doc["stages"].append({"stage": "gather", "name": "table", "input": "out/n-{scenario}-{weights}.geojson",
                          "output": "out/sweep.csv"})
    return doc


class RunCase(CliTestCase):
    def setUp(self):
        super().setUp()
        os.makedirs(self.path("data"))
        for name in ["dem.tif", "settlement.tif", "water_stress.tif", "arrivals.csv",
                     "neighbourhoods.gpkg"]:
            shutil.copy(sample(name), self.path(os.path.join("data", name)))

    def write(self, doc, name="pipeline.json"):
        with open(self.path(name), "w") as fh:
            json.dump(doc, fh)
        return self.path(name)

    def files(self, folder):
        """Every file under folder (the state in .cityrisk/ too), relative."""
        found = []
        for root, _, names in os.walk(folder):
            found += [os.path.relpath(os.path.join(root, n), folder) for n in names]
        return sorted(found)


class Parallel(RunCase):
    def test_two_jobs_give_byte_identical_outputs_and_state(self):
        p = self.write(pipeline())
        self.assert_same_with_two_jobs(p, STAGES)

    def test_two_jobs_on_a_sweep_with_an_external_stage_and_a_table(self):
        p = self.write(sweep())
        names = (["dem-copy", "inundation", "arrivals"]
                 + [f"score-{s}-{w}" for s in ("ssp245-2100", "stress-2m") for w in ("equal", "flood")]
                 + [f"zonal-{s}-{w}" for s in ("ssp245-2100", "stress-2m") for w in ("equal", "flood")]
                 + ["table"])
        self.assert_same_with_two_jobs(p, names)

    def assert_same_with_two_jobs(self, p, names):
        rc, out, err = run("run", p, "-j", "1", "--json")
        self.assertEqual(rc, 0, err)
        one = json.loads(out)
        shutil.move(self.path("out"), self.path("out-j1"))
        rc, out, err = run("run", p, "-j", "2", "--json")
        self.assertEqual(rc, 0, err)
        two = json.loads(out)
        self.assertEqual([s["name"] for s in two["stages"]], names)  # the pipeline's order
        self.assertEqual({s["status"] for s in two["stages"]}, {"ran"})
        self.assertEqual(self.files(self.path("out-j1")), self.files(self.path("out")))
        # the state is in the first output's folder
        state = [f for f in self.files(self.path("out")) if f.endswith(".cityrisk/pipeline.json.state.json")]
        self.assertEqual(len(state), 1)
        state = state[0]
        # the state records the stages in the pipeline's order, whichever ended first (its
        # times differ from run to run, so it is not compared byte for byte)
        for folder in ["out-j1", "out"]:
            with open(self.path(os.path.join(folder, state))) as fh:
                self.assertEqual(list(json.load(fh)["stages"]), names)
        for f in self.files(self.path("out")):
            if f == state:
                continue
            self.assertTrue(filecmp.cmp(self.path(os.path.join("out-j1", f)),
                                        self.path(os.path.join("out", f)), shallow=False), f)
        # the stages' own summaries are the same
        for a, b in zip(one["stages"], two["stages"]):
            self.assertEqual(a.get("summary"), b.get("summary"), a["name"])

    def test_a_failing_stage_stops_new_ones_and_lets_running_ones_finish(self):
        doc = pipeline()
        # arrivals fails when it reads its records (a count field the CSV does not have, a
        # usage error: exit 2); inundation, independent and started with it, finishes whole.
        doc["stages"][1]["count-field"] = "no_such_field"
        # an independent stage waiting for a free slot: the failure leaves it not started
        doc["stages"].insert(2, {"stage": "inundation", "name": "flood-later", "dem": "data/dem.tif",
                                 "scenario": "stress-2m", "output": "out/later.tif"})
        p = self.write(doc)
        rc, out, err = run("run", p, "-j", "2", "--json")
        self.assertEqual(rc, 2, err)
        stages = {s["name"]: s for s in json.loads(out)["stages"]}
        self.assertEqual(stages["arrivals"]["status"], "failed")
        self.assertEqual(stages["arrivals"]["exit"], 2)
        self.assertIn("no_such_field", stages["arrivals"]["error"])
        self.assertEqual(stages["inundation"]["status"], "ran")
        for name in ["flood-later", "score-ssp245-2100", "score-stress-2m", "zonal"]:
            self.assertEqual(stages[name]["status"], "not started", name)
        self.assertFalse(os.path.exists(self.path("out/later.tif")))
        ds = gdal.Open(self.path("out/inundation.tif"))  # whole: every block reads
        self.assertGreaterEqual(ds.GetRasterBand(1).Checksum(), 0)
        ds = None
        self.assertFalse(os.path.exists(self.path("out/arrivals.tif")))
        lines = err.strip().splitlines()
        # the summary names every stage's outcome, then the failure is the last line
        outcome = [l for l in lines if "stages:" in l]
        self.assertEqual(len(outcome), 1, err)
        for text in ["inundation ran", "arrivals failed (exit 2)", "score-ssp245-2100 not started",
                     "zonal not started"]:
            self.assertIn(text, outcome[0])
        self.assertIn("stage arrivals failed (exit 2)", lines[-1])
        # the next run runs what is left, inundation being up to date
        doc["stages"][1]["count-field"] = "arrivals"
        self.write(doc)
        rc, out, err = run("run", p, "-j", "2", "--json")
        self.assertEqual(rc, 0, err)
        stages = {s["name"]: s["status"] for s in json.loads(out)["stages"]}
        self.assertEqual(stages["inundation"], "skipped")
        self.assertEqual(stages["zonal"], "ran")

    def test_jobs_must_be_a_count(self):
        p = self.write(pipeline())
        rc, _, err = run("run", p, "-j", "-1")
        self.assertEqual(rc, 2, err)
        rc, _, err = run("run", p, "-j", "two")
        self.assertEqual(rc, 2, err)


class Progress(RunCase):
    def test_json_events_name_each_stage_on_stderr(self):
        p = self.write(pipeline())
        rc, out, err = run("run", p, "--json")
        self.assertEqual(rc, 0, err)
        json.loads(out)  # stdout stays one document
        events = [json.loads(l) for l in err.splitlines() if l.startswith("{")]
        started = [e for e in events if e["status"] == "started"]
        ended = [e for e in events if e["status"] != "started"]
        self.assertEqual([e["stage"] for e in started], STAGES)
        self.assertEqual([e["index"] for e in started], [1, 2, 3, 4, 5])
        self.assertEqual({e["count"] for e in events}, {5})
        self.assertEqual({e["status"] for e in ended}, {"ran"})
        for e in ended:
            self.assertGreaterEqual(e["seconds"], 0)
            self.assertEqual(e["exit"], 0)
        self.assertIn("does not exist", started[0]["reason"])
        # -q: nothing on stderr
        rc, out, err = run("run", p, "--json", "-q", "--force")
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")

    def test_text_lines_name_the_stage_and_its_place(self):
        p = self.write(pipeline())
        rc, _, err = run("run", p)
        self.assertEqual(rc, 0, err)
        self.assertIn("cityrisk run: [1/5] inundation (output", err)
        self.assertIn("cityrisk run: [5/5] zonal (", err)

    @unittest.skipUnless(shutil.which("script"), "script (util-linux) is needed for a terminal")
    def test_on_a_terminal_each_stage_has_its_line_before_its_bar(self):
        p = self.write(pipeline())
        typed = f"{CITYRISK} run {p}"
        res = subprocess.run(["script", "-qefc", typed, "/dev/null"], capture_output=True, text=True,
                             timeout=600)
        self.assertEqual(res.returncode, 0, res.stdout)
        lines = [l.strip("\r") for l in res.stdout.replace("\r\n", "\n").split("\n")]
        heads = [l for l in lines if l.startswith("[")]
        self.assertEqual(heads, [f"[{k}/5] {name}" for k, name in enumerate(STAGES, 1)])
        # the bar follows on its own line, and a message never continues a bar's dots
        for l in lines:
            if "..." in l:
                self.assertRegex(l, r"^0\.\.\.10\.\.\.20|^[0-9.]+( - done\.)?$|^\d", l)
            self.assertFalse(l.startswith("0...") and "cityrisk" in l, l)


class DryRun(RunCase):
    def test_dry_run_says_why_as_text_and_json(self):
        p = self.write(pipeline())
        rc, out, err = run("run", p, "--dry-run", "--json")
        self.assertEqual(rc, 0, err)
        stages = {s["name"]: s for s in json.loads(out)["stages"]}
        self.assertEqual(stages["inundation"]["status"], "would run")
        self.assertEqual(stages["inundation"]["why"], "missing output")
        self.assertEqual(stages["zonal"]["why"], "upstream runs")
        self.assertFalse(os.path.exists(self.path("out")))  # nothing made, not even folders
        rc, _, err = run("run", p)
        self.assertEqual(rc, 0, err)
        os.utime(self.path("data/arrivals.csv"))
        with open(self.path("data/arrivals.csv"), "a") as fh:
            fh.write("")
        st = os.stat(self.path("data/arrivals.csv"))
        os.utime(self.path("data/arrivals.csv"), ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        rc, out, err = run("run", p, "--dry-run", "--json")
        self.assertEqual(rc, 0, err)
        stages = {s["name"]: s for s in json.loads(out)["stages"]}
        self.assertEqual(stages["inundation"]["status"], "skip")
        self.assertEqual(stages["inundation"]["why"], "up to date")
        self.assertEqual(stages["arrivals"]["why"], "input changed")
        self.assertEqual(stages["score-stress-2m"]["why"], "upstream runs")
        rc, out, err = run("run", p, "--dry-run")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"skip +inundation: up to date")
        self.assertRegex(out, r"run +arrivals: input .*arrivals.csv")


class External(RunCase):
    def doc(self, program="gdal_translate"):
        return {"stages": [
            {"name": "cog", "exec": [program, "-q", "-of", "COG", "{input}", "{output}"],
             "input": "data/dem.tif", "output": "prep/dem-cog.tif"},
            {"stage": "inundation", "dem": "prep/dem-cog.tif", "scenario": "stress-2m",
             "output": "out/inundation.tif"},
        ]}

    @unittest.skipUnless(shutil.which("gdal_translate"), "gdal_translate is needed")
    def test_an_external_program_is_a_tracked_stage(self):
        p = self.write(self.doc())
        rc, out, err = run("run", p, "--json")
        self.assertEqual(rc, 0, err)
        stages = {s["name"]: s["status"] for s in json.loads(out)["stages"]}
        self.assertEqual(stages, {"cog": "ran", "inundation": "ran"})
        ds = gdal.Open(self.path("prep/dem-cog.tif"))
        self.assertEqual(ds.GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE"), "COG")
        src = gdal.Open(self.path("data/dem.tif"))
        self.assertEqual(ds.GetRasterBand(1).Checksum(), src.GetRasterBand(1).Checksum())
        # no temporary left (the state is in the first output's folder: prep/.cityrisk/)
        self.assertEqual(sorted(os.listdir(self.path("prep"))), [".cityrisk", "dem-cog.tif"])
        rc, out, err = run("run", p, "--json")
        self.assertEqual({s["status"] for s in json.loads(out)["stages"]}, {"skipped"})
        # its input changed: it and what reads its output run again, no overwrite needed
        st = os.stat(self.path("data/dem.tif"))
        os.utime(self.path("data/dem.tif"), ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        rc, out, err = run("run", p, "--json")
        self.assertEqual(rc, 0, err)
        self.assertEqual({s["status"] for s in json.loads(out)["stages"]}, {"ran"})

    def test_a_failing_program_fails_the_stage_with_its_last_line(self):
        doc = self.doc()
        doc["stages"][0]["exec"] = ["sh", "-c", "echo working; echo first >&2; echo 'it broke' >&2; exit 7",
                                    "{output}"]
        p = self.write(doc)
        rc, out, err = run("run", p, "--json")
        self.assertEqual(rc, 1, err)
        stages = {s["name"]: s for s in json.loads(out)["stages"]}
        self.assertEqual(stages["cog"]["status"], "failed")
        self.assertIn("'sh' exited with 7: it broke", stages["cog"]["error"])
        self.assertEqual(stages["inundation"]["status"], "not started")
        self.assertIn("it broke", err.strip().splitlines()[-1])
        self.assertFalse(os.path.exists(self.path("prep/dem-cog.tif")))
        self.assertEqual([n for n in os.listdir(self.path("prep")) if n != ".cityrisk"], [])  # no temporary

    def test_a_program_that_is_not_there_is_refused_before_anything_runs(self):
        p = self.write(self.doc("no-such-program-cityrisk"))
        rc, _, err = run("run", p)
        self.assertEqual(rc, 3, err)
        self.assertIn("'no-such-program-cityrisk' is not found on PATH", err)
        self.assertFalse(os.path.exists(self.path("out")))

    def test_no_shell_reads_the_arguments(self):
        doc = self.doc()
        doc["stages"][0]["exec"] = ["cp", "{input}", "{output}; touch hacked"]
        p = self.write(doc)
        rc, _, err = run("run", p)
        self.assertNotEqual(rc, 0)  # cp is given one odd file name, no shell splits it
        self.assertFalse(os.path.exists(self.path("hacked")))
        self.assertFalse(os.path.exists("hacked"))


if __name__ == "__main__":
    unittest.main()
