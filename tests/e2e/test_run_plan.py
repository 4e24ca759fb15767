"""End-to-end tests of the pipeline as a plan others run: `cityrisk run --plan [--json]`
(the expanded graph, nothing run or made), `--stage NAME` (one stage alone, its inputs
checked, the state honoured and kept by concurrent runs), `--emit jobs` run level by level
by GNU parallel, `--emit snakemake` run by Snakemake --cores 2 and `--emit slurm` run with a
stand-in sbatch, each with outputs byte-identical to one `cityrisk run`."""
import filecmp
import json
import os
import re
import shutil
import subprocess
import unittest
from unittest import mock

from cliutil import CITYRISK, run, release_only
from slurm import SlurmCluster, SlurmUnavailable
from snakemake_run import Snakemake as SnakemakeRun, SnakemakeUnavailable
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
                             (["--emit", "snakefile"], "--emit: unknown format 'snakefile' (known: jobs, snakemake, slurm)")):
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


def read(path):
    with open(path) as fh:
        return fh.read()


class SameBytes(PlanCase):
    """Compares what another engine made under out/ with one `cityrisk run` of the pipeline."""

    def engine_env(self):
        """The environment an engine runs the job lines in: the cityrisk under test first on
        PATH, caches in the test's folder."""
        return dict(os.environ, PATH=os.path.dirname(os.path.abspath(CITYRISK)) + os.pathsep + os.environ["PATH"],
                    XDG_CACHE_HOME=self.path("cache"), HOME=self.tmp)

    def emit(self, engine, name):
        """The pipeline's plan for engine, written to name in the test's folder by -o; its path."""
        rc, out, err = run("run", self.p, "--emit", engine, "-o", self.path(name))
        self.assertEqual((rc, out), (0, ""), err)
        return self.path(name)

    def assert_same_as_one_run(self):
        by_engine = self.state()
        shutil.move(self.path("out"), self.path("out-engine"))
        rc, _, err = run("run", self.p, "-q")  # one process, the same pipeline path
        self.assertEqual(rc, 0, err)
        files = self.files(self.path("out"))
        self.assertEqual(self.files(self.path("out-engine")), files)
        self.assertIn("neighbourhoods.geojson", files)
        for f in files:
            if f != STATE:  # it records times, which differ from run to run
                self.assertTrue(filecmp.cmp(self.path(os.path.join("out", f)),
                                            self.path(os.path.join("out-engine", f)), shallow=False), f)
        self.assertEqual(sorted(by_engine["stages"]), sorted(NAMES))
        for name, record in self.state()["stages"].items():
            self.assertEqual(by_engine["stages"][name]["argv"], record["argv"], name)


@unittest.skipUnless(shutil.which("parallel"), "GNU parallel is not installed (.ci/deps.sh installs it)")
class Jobs(SameBytes):
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
        env = self.engine_env()
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

    @release_only
    def test_gnu_parallel_level_by_level_makes_the_same_bytes_as_one_run(self):
        self.assertEqual(self.run_levels(self.jobs()), 4)
        self.assert_same_as_one_run()


@unittest.skipUnless(shutil.which("snakemake"), "Snakemake is not installed (.ci/deps.sh installs it)")
class Snakemake(SameBytes):
    def snakefile(self):
        return self.emit("snakemake", "Snakefile")

    def snakemake(self, snakefile):
        os.makedirs(self.path("snake"), exist_ok=True)  # its .snakemake/ away from out/
        proc = subprocess.run(["snakemake", "--cores", "2", "-s", snakefile], cwd=self.path("snake"),
                              capture_output=True, text=True, env=self.engine_env(), timeout=900)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return proc.stdout + proc.stderr

    def test_o_writes_what_stdout_gets_once_unless_overwrite(self):
        path = self.snakefile()
        rc, out, err = run("run", self.p, "--emit", "snakemake")
        self.assertEqual(rc, 0, err)
        self.assertEqual(read(path), out)
        self.assertFails(["run", self.p, "--emit", "slurm", "-o", path], 4, path, "--overwrite")
        self.assertEqual(read(path), out)
        rc, _, err = run("run", self.p, "--emit", "slurm", "-o", path, "--overwrite")
        self.assertEqual(rc, 0, err)
        self.assertTrue(read(path).startswith("#!/usr/bin/env bash\n"))
        rc, _, err = run("run", self.p, "--plan", "-o", path)
        self.assertEqual(rc, 2, err)
        self.assertIn("-o and --overwrite go with --emit only", err)

    def test_a_pipeline_named_relative_to_the_folder_run_from_gives_absolute_files(self):
        # Snakemake runs the rules from its own folder: a relative file would be looked for there
        proc = subprocess.run([CITYRISK, "run", os.path.basename(self.p), "--emit", "snakemake"], cwd=self.tmp,
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        files = re.findall(r'^        "([^"]*)",$', proc.stdout, re.M)
        self.assertIn(self.path("out/inundation.tif"), files)
        self.assertEqual([f for f in files if not f.startswith("/")], [])

    def test_a_rule_per_stage_with_its_files(self):
        text = read(self.snakefile())
        d = self.path
        self.assertIn("# stage dem-copy\nrule stage_dem_copy:\n    input:\n        \"%s\",\n    output:\n"
                      "        \"%s\",\n    shell:\n        \"cityrisk run %s --stage dem-copy\"\n"
                      % (d("data/dem.tif"), d("out/prep/dem.tif"), self.p), text)
        self.assertIn("    output:\n        \"%s\",\n        \"%s\",\n"
                      % (d("out/inundation.tif"), d("out/inundation.qml")), text)  # its QGIS style too
        self.assertEqual(text.count("\nrule "), len(NAMES) + 1)

    @release_only
    def test_snakemake_runs_the_pipeline_to_the_same_bytes_then_does_nothing(self):
        snakefile = self.snakefile()
        self.snakemake(snakefile)
        times = {f: os.stat(self.path(os.path.join("out", f))).st_mtime_ns for f in self.files(self.path("out"))}
        again = self.snakemake(snakefile)
        self.assertIn("Nothing to be done", again)
        self.assertEqual({f: os.stat(self.path(os.path.join("out", f))).st_mtime_ns
                          for f in self.files(self.path("out"))}, times)
        self.assert_same_as_one_run()


# A stand-in for sbatch: runs every task of the array at once, in order (SLURM_ARRAY_TASK_ID
# from 0), when the job it depends on (afterok) ended well, and prints a new job id; the
# arguments of each call go to $SBATCH_LOG.
FAKE_SBATCH = r"""#!/usr/bin/env bash
set -u
echo "$*" >> "$SBATCH_LOG"
id=$(( $(wc -l < "$SBATCH_LOG") + 100 ))
array= after=
while [[ $1 == --* ]]; do
  case $1 in
    --array=*) array=${1#--array=} ;;
    --dependency=afterok:*) after=${1#--dependency=afterok:} ;;
  esac
  shift
done
if [[ -n $after && ! -e "$SBATCH_LOG.ok.$after" ]]; then echo "job $after did not end well" >&2; exit 1; fi
ok=1
for ((t = ${array%-*}; t <= ${array#*-}; t++)); do SLURM_ARRAY_TASK_ID=$t "$@" || ok=0; done
if ((ok)); then touch "$SBATCH_LOG.ok.$id"; fi
echo "$id;cluster"
"""


class Slurm(SameBytes):
    @release_only
    def test_the_script_submits_a_job_array_per_level_that_makes_the_same_bytes(self):
        script = self.emit("slurm", "submit.sh")
        fake = self.path("bin/sbatch")
        os.makedirs(os.path.dirname(fake))
        with open(fake, "w") as fh:
            fh.write(FAKE_SBATCH)
        os.chmod(fake, 0o755)
        log = self.path("sbatch.log")
        env = self.engine_env()
        env.update(PATH=os.path.dirname(fake) + os.pathsep + env["PATH"], SBATCH_LOG=log,
                   CITYRISK_SBATCH_OPTIONS="--time=10 --mem=1G", CITYRISK_SLURM_DIR=self.path("levels"))
        proc = subprocess.run(["bash", script], cwd=self.tmp, capture_output=True, text=True, env=env, timeout=900)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout.splitlines(), [f"level {l}: job {100 + l}" for l in range(1, 5)])
        calls = read(log).splitlines()
        levels = self.path("levels")
        self.assertEqual(calls[0], "--parsable --kill-on-invalid-dep=yes --time=10 --mem=1G "
                         f"--job-name=cityrisk-level-1 --array=0-1 {levels}/task.sh {levels}/level-1.txt")
        self.assertEqual(calls[2], "--parsable --kill-on-invalid-dep=yes --time=10 --mem=1G "
                         "--dependency=afterok:102 --job-name=cityrisk-level-3 --array=0-0 "
                         f"{levels}/task.sh {levels}/level-3.txt")
        self.assertEqual(read(os.path.join(levels, "level-1.txt")),
                         f"cityrisk run {self.p} --stage dem-copy\ncityrisk run {self.p} --stage arrivals\n")
        self.assert_same_as_one_run()


class RealSlurm(SameBytes):
    """The script submitted on a single-node Slurm the test starts (tests/e2e/slurm.py)."""

    @classmethod
    def setUpClass(cls):
        try:  # skipped, with the reason, only where a daemon cannot start
            cls.cluster = SlurmCluster()
        except SlurmUnavailable as e:
            raise unittest.SkipTest(str(e))
        cls.addClassCleanup(cls.cluster.close)

    @release_only
    def test_snakemake_slurm_executor_runs_the_snakefile_to_the_same_bytes(self):
        try:
            smk = SnakemakeRun()
        except SnakemakeUnavailable as e:
            self.skipTest(str(e))
        snakefile = self.emit("snakemake", "Snakefile")
        os.makedirs(self.path("snake"))
        with mock.patch.dict(os.environ, PATH=self.engine_env()["PATH"]):  # the jobs' cityrisk
            proc = smk.run_on_slurm(snakefile, self.path("snake"), self.cluster.env)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(smk.planned(snakefile, self.path("snake")), {})
        self.assert_same_as_one_run()

    @release_only
    def test_the_script_on_slurm_makes_the_same_bytes_level_after_level(self):
        script = self.emit("slurm", "submit.sh")
        env = dict(self.cluster.env, PATH=self.engine_env()["PATH"], CITYRISK_SLURM_DIR=self.path("levels"),
                   CITYRISK_SBATCH_OPTIONS=f"--output={self.path('levels')}/%x-%a.out")
        proc = subprocess.run(["bash", script], cwd=self.tmp, capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        jobs = [line.split()[-1] for line in proc.stdout.splitlines()]
        self.assertEqual(len(jobs), 4)  # one job array per level
        self.cluster.wait(jobs, timeout=600)
        ended = ""
        for level, job in enumerate(jobs, 1):
            self.assertEqual(self.cluster.states(job), {"COMPLETED"}, f"level {level}: job {job}")
            tasks = self.cluster.run("scontrol", "-o", "show", "job", job).stdout
            starts = re.findall(r"\bStartTime=(\S+)", tasks)
            self.assertEqual(len(starts), 2 if level == 1 else 1, tasks)  # level 1: dem-copy, arrivals
            self.assertGreaterEqual(min(starts), ended, f"level {level} started before the one before it ended")
            ended = max(re.findall(r"\bEndTime=(\S+)", tasks))
        self.assert_same_as_one_run()


if __name__ == "__main__":
    unittest.main()
