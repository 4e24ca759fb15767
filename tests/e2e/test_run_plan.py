"""End-to-end tests of the pipeline as a plan others run: `cityrisk run --plan [--json]`
(the expanded graph, nothing run or made), `--stage NAME` (one stage alone, its inputs
checked, the state honoured and kept by concurrent runs) and `--emit jobs` run level by level
by GNU parallel, with outputs byte-identical to one `cityrisk run`."""
import filecmp
import json
import os
import shutil
import subprocess
import unittest

from cliutil import CITYRISK, run
from test_run_parallel import RunCase

# The pipeline, and what its plan must say, worked out by hand from it: dem-copy and
# arrivals read only data/ (level 1); inundation reads dem-copy's output (level 2); score
# reads inundation's and arrivals' (level 3); zonal reads score's and arrivals' (level 4).
# The run order takes, of the stages whose inputs are made, the first in the file: once
# dem-copy is placed, inundation (before arrivals in the file) is ready too. The state is
# kept in the folder of the first output of the first stage, out/prep/.
PIPELINE = {
    "stages": [
        {"name": "dem-copy", "exec": ["cp", "{input}", "{output}"],
         "input": "data/dem.tif", "output": "out/prep/dem.tif"},
        {"stage": "inundation", "dem": "out/prep/dem.tif", "scenario": "ssp245-2100",
         "output": "out/inundation.tif"},
        {"stage": "arrivals", "points": "data/arrivals.csv", "count-field": "arrivals",
         "grid": "data/dem.tif", "kernel": "quartic", "bandwidth": 500, "output": "out/arrivals.tif"},
        {"stage": "score", "sea": "out/inundation.tif", "scenario": "ssp245-2100",
         "water": "data/water_stress.tif", "informal": "data/settlement.tif",
         "arrivals": "out/arrivals.tif", "grid": "data/dem.tif", "output": "out/exposure.tif"},
        {"stage": "zonal", "zones": "data/neighbourhoods.gpkg", "exposure": "out/exposure.tif",
         "arrivals": "out/arrivals.tif", "output": "out/neighbourhoods.geojson"},
    ]
}
NAMES = ["dem-copy", "inundation", "arrivals", "score", "zonal"]
STATE = "prep/.cityrisk/pipeline.json.state.json"  # under out/
AFTER = {"dem-copy": [], "arrivals": [], "inundation": ["dem-copy"], "score": ["inundation", "arrivals"],
         "zonal": ["arrivals", "score"]}
LEVEL = {"dem-copy": 1, "arrivals": 1, "inundation": 2, "score": 3, "zonal": 4}


class PlanCase(RunCase):
    """The sample data in data/ (RunCase) and PIPELINE in pipeline.json."""

    def setUp(self):
        super().setUp()
        self.p = self.write(PIPELINE)

    def state(self):
        with open(self.path(os.path.join("out", STATE))) as fh:
            return json.load(fh)

    def run_stage(self, name, *more):
        rc, out, err = run("run", self.p, "--stage", name, "--json", *more)
        self.assertEqual(rc, 0, err)
        return {s["name"]: s["status"] for s in json.loads(out)["stages"]}


class Plan(PlanCase):
    def test_json_plan_lists_commands_files_and_waits_and_makes_nothing(self):
        before = self.files(self.tmp)
        rc, out, err = run("run", self.p, "--plan", "--json")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.files(self.tmp), before)  # nothing made: no out/, no state
        doc = json.loads(out)
        stages = doc["stages"]
        self.assertEqual([s["name"] for s in stages], NAMES)
        for s in stages:
            self.assertEqual(s["after"], AFTER[s["name"]], s["name"])
            self.assertEqual(s["level"], LEVEL[s["name"]], s["name"])
        d = self.path
        by = {s["name"]: s for s in stages}
        self.assertEqual(by["dem-copy"]["command"], "exec")
        self.assertEqual(by["dem-copy"]["argv"], ["cp", d("data/dem.tif"), d("out/prep/dem.tif")])
        self.assertEqual(by["inundation"]["argv"],
                         ["cityrisk", "inundation", "--dem", d("out/prep/dem.tif"), "--scenario", "ssp245-2100",
                          "--output", d("out/inundation.tif"), "--qml"])  # run adds the QGIS style
        self.assertEqual(by["inundation"]["inputs"], [d("out/prep/dem.tif")])
        self.assertEqual(by["inundation"]["outputs"], [d("out/inundation.tif"), d("out/inundation.qml")])
        self.assertEqual(by["zonal"]["inputs"][:1], [d("data/neighbourhoods.gpkg")])
        self.assertIn(d("out/exposure.tif"), by["zonal"]["inputs"])
        self.assertEqual(by["zonal"]["outputs"][:1], [d("out/neighbourhoods.geojson")])

    def test_text_plan_for_people(self):
        rc, out, err = run("run", self.p, "--plan")
        self.assertEqual(rc, 0, err)
        self.assertFalse(os.path.exists(self.path("out")))
        heads = [l for l in out.splitlines() if not l.startswith(" ")]
        self.assertEqual(heads, [f"{n} (level {LEVEL[n]})" for n in NAMES])
        self.assertIn("  after    inundation, arrivals\n", out)
        self.assertIn(f"  command  cp {self.path('data/dem.tif')} {self.path('out/prep/dem.tif')}\n", out)

    def test_plan_with_other_modes_is_a_usage_error(self):
        for args, needle in ((["--plan", "--stage", "score"], "--plan, --stage, --emit and --only go alone"),
                             (["--emit", "snakefile"], "--emit: unknown format 'snakefile'")):
            rc, _, err = run("run", self.p, *args)
            self.assertEqual(rc, 2, err)
            self.assertIn(needle, err)


class Stage(PlanCase):
    def test_a_missing_input_names_the_stage_that_makes_it(self):
        message = self.assertFails(["run", self.p, "--stage", "inundation"], 3,
                                   self.path("out/prep/dem.tif"), "dem-copy")
        self.assertIn("stage inundation", message)
        self.assertFalse(os.path.exists(self.path("out/inundation.tif")))

    def test_an_unknown_stage_is_a_usage_error(self):
        rc, _, err = run("run", self.p, "--stage", "nosuch")
        self.assertEqual(rc, 2, err)
        self.assertIn("--stage: the pipeline has no stage named 'nosuch'", err)

    def test_runs_exactly_that_stage_then_skips_it_unless_forced(self):
        self.assertEqual(self.run_stage("dem-copy"),
                         {"dem-copy": "ran", "arrivals": "skipped", "inundation": "skipped", "score": "skipped",
                          "zonal": "skipped"})
        self.assertEqual(self.files(self.path("out")), [STATE, "prep/dem.tif"])
        self.assertTrue(filecmp.cmp(self.path("data/dem.tif"), self.path("out/prep/dem.tif"), shallow=False))
        self.assertEqual(list(self.state()["stages"]), ["dem-copy"])
        self.assertEqual(self.run_stage("dem-copy")["dem-copy"], "skipped")  # up to date
        self.assertEqual(self.run_stage("dem-copy", "--force")["dem-copy"], "ran")
        self.assertEqual(self.run_stage("inundation")["inundation"], "ran")
        self.assertEqual(list(self.state()["stages"]), ["dem-copy", "inundation"])

    def test_concurrent_stage_runs_keep_each_others_records(self):
        self.run_stage("dem-copy")
        # inundation and arrivals at once, each in its own process, each recording its run
        procs = [subprocess.Popen([CITYRISK, "run", self.p, "--stage", n, "-q"], stderr=subprocess.PIPE, text=True)
                 for n in ("inundation", "arrivals")]
        for proc in procs:
            _, err = proc.communicate(timeout=300)
            self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(list(self.state()["stages"]), NAMES[:3])
        # the whole run sees both up to date
        rc, out, err = run("run", self.p, "--dry-run", "--json")
        self.assertEqual(rc, 0, err)
        status = {s["name"]: s["status"] for s in json.loads(out)["stages"]}
        self.assertEqual(status, {"dem-copy": "skip", "arrivals": "skip", "inundation": "skip",
                                  "score": "would run", "zonal": "would run"})


@unittest.skipUnless(shutil.which("parallel"), "GNU parallel is not installed (.ci/deps.sh installs it)")
class Jobs(PlanCase):
    def jobs(self):
        rc, out, err = run("run", self.p, "--emit", "jobs")
        self.assertEqual(rc, 0, err)
        return out

    def test_one_line_per_stage_by_levels(self):
        lines = [l for l in self.jobs().splitlines() if not l.startswith("# ") or l.startswith("# level")]
        p = self.p  # absolute, with no character the shell reads
        want = ["# level 1", f"cityrisk run {p} --stage dem-copy", f"cityrisk run {p} --stage arrivals",
                "# level 2", f"cityrisk run {p} --stage inundation",
                "# level 3", f"cityrisk run {p} --stage score",
                "# level 4", f"cityrisk run {p} --stage zonal"]
        self.assertEqual(lines, want)

    def run_levels(self, text):
        """Runs the job list text with GNU parallel -j 2, one level after the other (the lines
        under each "# level N"); returns the number of levels."""
        levels = []
        for line in text.splitlines():
            if line.startswith("# level"):
                levels.append([])
            elif not line.startswith("#"):
                levels[-1].append(line)
        env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(CITYRISK)) + os.pathsep + os.environ["PATH"])
        for jobs in levels:
            proc = subprocess.run(["parallel", "--will-cite", "-j", "2", "--halt", "now,fail=1"],
                                  input="\n".join(jobs) + "\n", capture_output=True, text=True, env=env,
                                  timeout=600)
            self.assertEqual(proc.returncode, 0, proc.stderr)
        return len(levels)

    def test_swept_stage_names_reach_the_stage_through_the_shell(self):
        # no "name": the stages are named cp[one], cp[two], inundation[one], inundation[two]
        p = self.write({"variables": {"copy": ["one", "two"]},
                        "stages": [{"exec": ["cp", "{input}", "{output}"], "input": "data/dem.tif",
                                    "output": "out/{copy}/dem.tif"},
                                   {"stage": "inundation", "dem": "out/{copy}/dem.tif", "scenario": "stress-2m",
                                    "output": "out/{copy}/inundation.tif"}]}, "sweep.json")
        rc, out, err = run("run", p, "--emit", "jobs")
        self.assertEqual(rc, 0, err)
        self.assertIn(f"cityrisk run {p} --stage 'inundation[two]'\n", out)
        self.assertEqual(self.run_levels(out), 2)
        for copy in ("one", "two"):
            self.assertTrue(filecmp.cmp(self.path("data/dem.tif"), self.path(f"out/{copy}/dem.tif"), shallow=False))
            self.assertTrue(os.path.exists(self.path(f"out/{copy}/inundation.tif")))
        rc, out, err = run("run", p, "--dry-run", "--json")  # every stage recorded, so up to date
        self.assertEqual(rc, 0, err)
        self.assertEqual([s["status"] for s in json.loads(out)["stages"]], ["skip"] * 4)

    def test_gnu_parallel_level_by_level_makes_the_same_bytes_as_one_run(self):
        self.assertEqual(self.run_levels(self.jobs()), 4)
        by_jobs = self.state()
        shutil.move(self.path("out"), self.path("out-jobs"))
        rc, _, err = run("run", self.p, "-q")  # one process, the same pipeline path
        self.assertEqual(rc, 0, err)
        files = self.files(self.path("out"))
        self.assertEqual(self.files(self.path("out-jobs")), files)
        self.assertIn("neighbourhoods.geojson", files)
        for f in files:
            if f != STATE:  # it records times, which differ from run to run
                self.assertTrue(filecmp.cmp(self.path(os.path.join("out", f)),
                                            self.path(os.path.join("out-jobs", f)), shallow=False), f)
        one = self.state()
        self.assertEqual(list(by_jobs["stages"]), NAMES)
        self.assertEqual(list(one["stages"]), NAMES)
        for name, record in one["stages"].items():
            self.assertEqual(by_jobs["stages"][name]["argv"], record["argv"], name)


if __name__ == "__main__":
    unittest.main()
