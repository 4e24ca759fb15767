"""End-to-end tests of `cityrisk run`'s state (issue 19, points 1 and 2): the state means what
the user means (canonical paths, the version, inputs' size and time or content), it lives with
the outputs, outputs the pipeline made are its to replace while others are never clobbered
without --force, and output folders are made."""
import fcntl
import json
import os
import shutil
import stat
import subprocess
import time
import unittest

from osgeo import gdal, ogr

from cliutil import CITYRISK, CliTestCase, sample

gdal.UseExceptions()

# The bad-input catalogue's tiny inputs: an 8 x 8 grid and 12 records, for stages that run
# in a blink.
BAD = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bad"))
STATE = os.path.join("out", ".cityrisk", "pipeline.json.state.json")


def arrivals(name, output, **options):
    """An arrivals stage over the tiny grid and records copied into data/, with no
    "overwrite": the pipeline's own outputs are its to replace."""
    return {"stage": "arrivals", "name": name, "points": "data/points.csv", "count-field": "arrivals",
            "grid": "data/good.tif", "output": output, **options}


def shapefile(name, reads, output):
    """A zonal stage writing a Shapefile (its .shx, .dbf, .prj, .cpg and .fields.csv beside)."""
    return {"stage": "zonal", "name": name, "zones": "data/neighbourhoods.gpkg", "arrivals": reads,
            "output": output}


def features(path):
    """The number of features of the vector at path (the dataset kept open while it counts)."""
    ds = ogr.Open(path)
    return ds.GetLayer(0).GetFeatureCount()


def run_in(cwd, *args, user=None, program=CITYRISK, env=None):
    """Runs cityrisk (program) in folder cwd (as another user: a setpriv/runuser prefix);
    returns (exit code, stdout, stderr)."""
    proc = subprocess.run([*(user or []), program, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, **(env or {})))
    return proc.returncode, proc.stdout, proc.stderr


def runnable_copy(folder):
    """The cityrisk binary and the library it was built with, copied into folder where any
    user can read them (a checkout under /root cannot be read by nobody): the program's path
    and the environment that finds the library."""
    os.makedirs(folder)
    os.chmod(folder, 0o755)
    shutil.copy2(CITYRISK, folder)
    linked = subprocess.run(["ldd", CITYRISK], capture_output=True, text=True).stdout
    for line in linked.splitlines():
        if "libcityrisk" in line and "=>" in line:
            lib = line.split("=>")[1].split("(")[0].strip()
            shutil.copy2(lib, folder)
            os.chmod(os.path.join(folder, os.path.basename(lib)), 0o755)
    return os.path.join(folder, os.path.basename(CITYRISK)), {"LD_LIBRARY_PATH": folder}


def unprivileged():
    """A command prefix that runs a program as nobody, None when neither works here."""
    for prefix in (["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
                   ["runuser", "-u", "nobody", "--"]):
        try:
            if subprocess.run([*prefix, "id", "-u"], capture_output=True, text=True).stdout.strip() == "65534":
                return prefix
        except OSError:
            pass
    return None


class StateCase(CliTestCase):
    def setUp(self):
        super().setUp()
        os.makedirs(self.path("data"))
        shutil.copy(os.path.join(BAD, "points.csv"), self.path("data/points.csv"))
        shutil.copy(os.path.join(BAD, "good.tif"), self.path("data/good.tif"))
        shutil.copy(sample("neighbourhoods.gpkg"), self.path("data/neighbourhoods.gpkg"))

    def write(self, doc, name="pipeline.json", folder=None):
        path = os.path.join(folder or self.tmp, name)
        with open(path, "w") as fh:
            json.dump(doc, fh)
        return path

    def two(self):
        """a makes out/a.tif; b, a Shapefile, reads it."""
        return self.write({"stages": [arrivals("a", "out/a.tif"), shapefile("b", "out/a.tif", "out/b.shp")]})

    def run_json(self, *args, cwd=None, code=0):
        rc, out, err = run_in(cwd or self.tmp, "run", *args, "--json")
        self.assertEqual(rc, code, err)
        return {s["name"]: s for s in json.loads(out)["stages"]}, err

    def statuses(self, *args, cwd=None):
        return {n: s["status"] for n, s in self.run_json(*args, cwd=cwd)[0].items()}

    def plan(self, *args):
        """--dry-run --json's plan: {stage: (status, reason)}."""
        stages, _ = self.run_json(*args, "--dry-run")
        return {n: (s["status"], s["reason"]) for n, s in stages.items()}

    def state(self):
        with open(self.path(STATE)) as fh:
            return json.load(fh)

    def touch(self, path, ahead=10.0):
        """Gives the file a later time, its content unchanged."""
        when = time.time() + ahead
        os.utime(path, (when, when))

    def snapshot(self, path):
        with open(path, "rb") as fh:
            return fh.read(), os.stat(path).st_mtime_ns


class Spelling(StateCase):
    def test_the_spelling_of_the_pipeline_path_never_matters(self):
        """cityrisk run p.json, ./p.json, the absolute path, through a symlinked folder and from
        another folder: one state, and the second run skips everything (the state stored
        argv as spelled and reran every stage)."""
        p = self.two()
        other = self.path("elsewhere")
        os.makedirs(os.path.join(other, "sub"))
        os.symlink(self.tmp, os.path.join(other, "link"))
        # the first run through the link, out/ not made yet: its spelling must not change
        # once the run made it
        self.assertEqual(set(self.statuses("link/pipeline.json", cwd=other).values()), {"ran"})
        for cwd, spelling in [(self.tmp, "pipeline.json"), (self.tmp, "./pipeline.json"), (other, p),
                              (other, "link/pipeline.json"), (os.path.join(other, "sub"), "../link/pipeline.json"),
                              (self.path("data"), "../pipeline.json"), ("/", p)]:
            with self.subTest(cwd=cwd, spelling=spelling):
                self.assertEqual(self.statuses(spelling, cwd=cwd), {"a": "skipped", "b": "skipped"})
        # one state, beside the outputs, its paths in one spelling
        self.assertEqual(sorted(os.listdir(self.path("out/.cityrisk"))), ["pipeline.json.state.json"])
        state = self.state()
        real = os.path.realpath(self.tmp)
        self.assertEqual(state["cityrisk_state"], 2)
        self.assertEqual(state["pipeline"], os.path.join(real, "pipeline.json"))
        self.assertEqual(list(state["stages"]), ["a", "b"])
        a = state["stages"]["a"]
        self.assertIn(os.path.join(real, "out", "a.tif"), a["argv"])
        self.assertEqual(sorted(a["inputs"]), sorted(os.path.join(real, "data", n) for n in ("good.tif", "points.csv")))
        self.assertEqual(sorted(a["outputs"]), sorted(os.path.join(real, "out", n) for n in ("a.qml", "a.tif")))
        size = os.stat(self.path("data/points.csv"))
        self.assertEqual(a["inputs"][os.path.join(real, "data", "points.csv")],
                         {"size": size.st_size, "mtime_ns": size.st_mtime_ns})
        self.assertFalse([n for n in os.listdir(self.tmp) if n.startswith(".")], "written beside the pipeline")


class Ownership(StateCase):
    def test_touching_an_input_reruns_and_replaces_the_pipelines_own_outputs(self):
        """No "overwrite" anywhere: the rerun replaced nothing and failed with exit 4 (QGIS style
        exists)."""
        p = self.two()
        self.assertEqual(set(self.statuses(p).values()), {"ran"})
        made = {n: os.stat(self.path("out/" + n)).st_mtime_ns for n in os.listdir(self.path("out")) if n[0] != "."}
        self.assertEqual(sorted(made), ["a.qml", "a.tif", "b.dbf", "b.fields.csv", "b.prj", "b.qml", "b.shp",
                                        "b.shx"])
        time.sleep(0.01)
        self.touch(self.path("data/points.csv"))
        stages, _ = self.run_json(p)
        self.assertEqual(stages["a"]["status"], "ran")
        self.assertRegex(stages["a"]["reason"], r"^input .*/data/points\.csv changed since its last run: another time$")
        self.assertEqual(stages["b"]["status"], "ran")
        for name, before in made.items():  # every file replaced, sidecars too
            self.assertGreater(os.stat(self.path("out/" + name)).st_mtime_ns, before, name)
        self.assertEqual(gdal.Open(self.path("out/a.tif")).RasterXSize, 8)
        self.assertEqual(features(self.path("out/b.shp")), 60)
        self.assertEqual(set(self.statuses(p).values()), {"skipped"})

    def test_a_file_the_pipeline_did_not_make_is_refused_and_kept(self):
        for name in ["a.tif", "a.qml"]:
            with self.subTest(name):
                shutil.rmtree(self.path("out"), ignore_errors=True)
                os.makedirs(self.path("out"))
                theirs = self.path("out/" + name)
                with open(theirs, "wb") as fh:
                    fh.write(b"someone else's file\n")
                before = self.snapshot(theirs)
                p = self.write({"stages": [arrivals("a", "out/a.tif")]})
                rc, _, err = run_in(self.tmp, "run", p)
                self.assertEqual(rc, 4, err)
                self.assertEqual(
                    err.splitlines()[-1],
                    f"cityrisk run: stage a failed (exit 4): pipeline '{p}' stage a: output '{theirs}' exists and "
                    "this pipeline did not make it (or it changed since it did): remove it, give the stage "
                    "\"overwrite\": true, or run with --force; the outputs of the stages before it are kept")
                self.assertEqual(self.snapshot(theirs), before, "the file was touched")
                self.assertEqual(sorted(os.listdir(self.path("out"))), [name], "something was written")
                # --force replaces it
                self.assertEqual(self.statuses(p, "--force"), {"a": "ran"})
                self.assertEqual(gdal.Open(self.path("out/a.tif")).RasterXSize, 8)
                with open(self.path("out/a.qml"), "rb") as fh:
                    self.assertTrue(fh.read().startswith(b"<!DOCTYPE qgis"))
                self.assertEqual(self.statuses(p), {"a": "skipped"})

    def test_an_output_edited_after_the_run_is_not_replaced_without_force(self):
        p = self.write({"stages": [arrivals("a", "out/a.tif")]})
        self.statuses(p)
        style = self.path("out/a.qml")
        with open(style, "a") as fh:
            fh.write("<!-- my colours -->\n")
        edited = self.snapshot(style)
        # an edited output is no reason to run
        self.assertEqual(self.plan(p), {"a": ("skip", "up to date")})
        self.touch(self.path("data/good.tif"))
        rc, _, err = run_in(self.tmp, "run", p)
        self.assertEqual(rc, 4, err)
        self.assertIn(f"output '{style}' exists and this pipeline did not make it (or it changed since it did)",
                      err.splitlines()[-1])
        self.assertEqual(self.snapshot(style), edited)
        # the stage's own "overwrite" replaces it, as --force does
        p = self.write({"stages": [arrivals("a", "out/a.tif", overwrite=True)]})
        self.assertEqual(self.statuses(p), {"a": "ran"})
        self.assertNotEqual(self.snapshot(style)[0], edited[0])


class Folders(StateCase):
    def test_missing_output_folders_are_made(self):
        p = self.write({"stages": [arrivals("a", "made/two/a.tif"), shapefile("b", "made/two/a.tif", "new/b.shp")]})
        self.assertEqual(set(self.statuses(p).values()), {"ran"})
        self.assertEqual(gdal.Open(self.path("made/two/a.tif")).RasterXSize, 8)
        self.assertTrue(os.path.isfile(self.path("new/b.fields.csv")))
        # the state is in the first output's folder
        self.assertTrue(os.path.isfile(self.path("made/two/.cityrisk/pipeline.json.state.json")))
        self.assertFalse(os.path.exists(self.path("new/.cityrisk")))
        self.assertEqual(set(self.statuses(p).values()), {"skipped"})

    def test_dry_run_makes_no_folder_and_no_state(self):
        p = self.write({"stages": [arrivals("a", "made/two/a.tif")]})
        self.assertEqual(self.plan(p)["a"][0], "would run")
        self.assertEqual(sorted(os.listdir(self.tmp)), ["data", "pipeline.json"])

    def test_a_pipeline_in_a_read_only_folder_runs(self):
        """An installed example or a shared folder: the pipeline's folder cannot be written, its
        outputs go elsewhere (the state was written beside the pipeline)."""
        user = unprivileged()
        if user is None:
            self.skipTest("cannot run as nobody here (neither setpriv nor runuser works)")
        os.chmod(self.tmp, 0o755)
        outs = self.path("outs")
        os.makedirs(outs)
        os.chmod(outs, 0o777)
        ro = self.path("ro")
        os.makedirs(ro)
        doc = {"stages": [arrivals("a", os.path.join(outs, "a.tif")),
                          shapefile("b", os.path.join(outs, "a.tif"), os.path.join(outs, "deep", "b.shp"))]}
        for stage in doc["stages"]:  # the inputs where they are, read-only too
            for key in ("points", "grid", "zones"):
                if key in stage:
                    stage[key] = self.path(stage[key])
        p = self.write(doc, folder=ro)
        os.chmod(ro, 0o555)
        os.chmod(p, 0o444)
        program, env = runnable_copy(self.path("bin"))
        try:
            rc, out, err = run_in(ro, "run", p, "--json", user=user, program=program, env=env)
            self.assertEqual(rc, 0, err)
            self.assertEqual({s["status"] for s in json.loads(out)["stages"]}, {"ran"})
            rc, out, err = run_in("/", "run", p, "--json", user=user, program=program, env=env)
            self.assertEqual(rc, 0, err)
            self.assertEqual({s["status"] for s in json.loads(out)["stages"]}, {"skipped"})
        finally:
            os.chmod(ro, 0o755)
        self.assertEqual(os.listdir(ro), ["pipeline.json"])
        self.assertTrue(os.path.isfile(os.path.join(outs, ".cityrisk", "pipeline.json.state.json")))
        self.assertEqual(features(os.path.join(outs, "deep", "b.shp")), 60)


class WhatRuns(StateCase):
    def test_another_version_of_cityrisk_reruns_with_the_reason(self):
        p = self.two()
        self.statuses(p)
        state = self.state()
        version = state["stages"]["a"]["version"]
        state["stages"]["a"]["version"] = "0.0.1-old"
        with open(self.path(STATE), "w") as fh:
            json.dump(state, fh)
        self.assertEqual(self.plan(p), {"a": ("would run", f"made by cityrisk 0.0.1-old, this is {version}"),
                                        "b": ("would run", "stage a, whose output it reads, runs")})
        self.assertEqual(self.statuses(p), {"a": "ran", "b": "ran"})  # its own outputs replaced
        self.assertEqual(self.state()["stages"]["a"]["version"], version)

    def test_the_first_differing_option_is_named(self):
        p = self.two()
        self.statuses(p)
        self.assertEqual(self.plan(p, "--set", "a.bandwidth=90")["a"],
                         ("would run", "option --bandwidth is new since its last run"))
        p = self.write({"stages": [arrivals("a", "out/a.tif", bandwidth=80), shapefile("b", "out/a.tif", "out/b.shp")]})
        self.statuses(p)
        self.assertEqual(self.plan(p, "--set", "a.bandwidth=90")["a"],
                         ("would run", "option --bandwidth differs from its last run"))

    def test_no_record_says_where_the_state_is(self):
        p = self.two()
        plan = self.plan(p)
        self.assertEqual(plan["a"], ("would run", "output " + self.path("out/a.tif") + " does not exist"))
        self.statuses(p)
        os.remove(self.path(STATE))
        self.assertEqual(self.plan(p)["a"],
                         ("would run", f"no record of an earlier run in {os.path.realpath(self.path(STATE))}"))

    def test_checksum_compares_an_input_touched_by_its_content(self):
        """A checkout, a copy or a network file system resets times: with --checksum an input of
        the same size and content is unchanged; without, its time counts."""
        p = self.two()
        self.assertEqual(set(self.statuses(p, "--checksum").values()), {"ran"})
        hashes = [f.get("hash") for f in self.state()["stages"]["a"]["inputs"].values()]
        self.assertTrue(all(h and len(h) == 16 for h in hashes), hashes)
        self.touch(self.path("data/points.csv"))
        self.assertEqual(self.statuses(p, "--checksum"), {"a": "skipped", "b": "skipped"})
        self.assertEqual(self.statuses(p), {"a": "ran", "b": "ran"})
        # another content of the same size, with the time of the record: size and time agree,
        # so only --checksum can see it (after a run that recorded the hashes)
        self.statuses(p, "--checksum", "--force")
        points = self.path("data/points.csv")
        recorded = os.stat(points).st_mtime_ns
        with open(points, "r+") as fh:
            text = fh.read()
            fh.seek(0)
            fh.write(text.replace("Site 1,", "Site 9,"))
        self.assertEqual(os.stat(points).st_size, len(text))
        self.touch(points)
        plan = self.plan(p, "--checksum")
        self.assertEqual(plan["a"][0], "would run")
        self.assertTrue(plan["a"][1].endswith("changed since its last run: another content"), plan["a"][1])
        self.assertNotEqual(os.stat(points).st_mtime_ns, recorded)

    def test_records_in_the_pipelines_order_and_other_stages_kept(self):
        p = self.two()
        self.statuses(p)
        # b recorded first, then a: the file has them in the pipeline's order
        os.remove(self.path(STATE))
        self.assertEqual(self.statuses(p, "--only", "b", "--force"), {"a": "skipped", "b": "ran"})
        doc = self.state()
        self.assertEqual(list(doc["stages"]), ["b"])
        doc["stages"]["gone"] = {"argv": ["zonal"], "version": "0.0.1", "inputs": {}, "outputs": {}}
        with open(self.path(STATE), "w") as fh:
            json.dump(doc, fh)
        self.assertEqual(self.statuses(p, "--only", "a", "--force"), {"a": "ran", "b": "skipped"})
        self.assertEqual(list(self.state()["stages"]), ["a", "b", "gone"])
        self.assertEqual(self.state()["stages"]["gone"], doc["stages"]["gone"])

    def test_two_jobs_record_the_same_state_as_one(self):
        """Stages that end in any order under -j 2: the records in the pipeline's order, the same
        but for the files' times."""
        p = self.write({"stages": [arrivals("slow", "out/s.tif"), arrivals("quick", "out/q.tif", qml=False),
                                   shapefile("z", "out/q.tif", "out/z.shp"), arrivals("last", "out/l.tif")]})

        def timeless(doc):
            for entry in doc["stages"].values():
                for files in (entry["inputs"], entry["outputs"]):
                    for fp in files.values():
                        fp["mtime_ns"] = 0
            return json.dumps(doc)

        self.assertEqual(set(self.statuses(p, "--force").values()), {"ran"})  # the same provenance
        one = self.state()
        self.assertEqual(list(one["stages"]), ["slow", "quick", "z", "last"])
        self.assertEqual(set(self.statuses(p, "-j", "2", "--force").values()), {"ran"})
        self.assertEqual(timeless(self.state()), timeless(one))
        self.assertEqual(set(self.statuses(p, "-j", "2").values()), {"skipped"})


class Edits(StateCase):
    """Ordinary edits of a pipeline keep its outputs its own: ownership is by path, through
    every record of the state files beside the outputs (a rename, a stage prepended, an output
    moved made them foreign: exit 4 until --force)."""

    def test_a_stage_prepended_writing_elsewhere_keeps_the_others_up_to_date(self):
        """The state moves to the new first stage's folder; the records left in out/ still
        say what ran and what the pipeline made."""
        self.two()
        self.assertEqual(set(self.statuses("pipeline.json").values()), {"ran"})
        self.write({"stages": [arrivals("first", "elsewhere/f.tif"), arrivals("a", "out/a.tif"),
                               shapefile("b", "out/a.tif", "out/b.shp")]})
        self.assertEqual(self.statuses("pipeline.json"), {"first": "ran", "a": "skipped", "b": "skipped"})
        self.assertTrue(os.path.isfile(self.path("elsewhere/.cityrisk/pipeline.json.state.json")))
        self.assertEqual(self.statuses("pipeline.json"), {"first": "skipped", "a": "skipped", "b": "skipped"})
        # a changed input reruns them, replacing their outputs without --force
        self.touch(self.path("data/points.csv"))
        self.assertEqual(self.statuses("pipeline.json"), {"first": "ran", "a": "ran", "b": "ran"})
        self.assertEqual(features(self.path("out/b.shp")), 60)
        self.assertEqual(set(self.statuses("pipeline.json").values()), {"skipped"})

    def test_a_renamed_stage_is_up_to_date_and_owns_its_outputs(self):
        self.two()
        self.statuses("pipeline.json")
        self.write({"stages": [arrivals("flood", "out/a.tif"), shapefile("b", "out/a.tif", "out/b.shp")]})
        self.assertEqual(self.plan("pipeline.json"), {"flood": ("skip", "up to date"), "b": ("skip", "up to date")})
        self.assertEqual(self.statuses("pipeline.json"), {"flood": "skipped", "b": "skipped"})
        # its options changed: it reruns for that reason and replaces its own outputs
        self.write({"stages": [arrivals("flood", "out/a.tif", bandwidth=90),
                               shapefile("b", "out/a.tif", "out/b.shp")]})
        self.assertEqual(self.plan("pipeline.json")["flood"],
                         ("would run", "option --bandwidth is new since its last run"))
        self.assertEqual(self.statuses("pipeline.json"), {"flood": "ran", "b": "ran"})
        self.assertEqual(set(self.statuses("pipeline.json").values()), {"skipped"})

    def test_a_variable_added_to_a_stage_whose_name_lacks_it(self):
        """arrivals[p] becomes arrivals[p,80]: the record of its output stands for it."""
        stage = arrivals("a", "out/a-{x}.tif")
        del stage["name"]
        self.write({"variables": {"x": ["p"]}, "stages": [stage]})
        self.assertEqual(self.statuses("pipeline.json"), {"arrivals[p]": "ran"})
        self.write({"variables": {"x": ["p"], "k": [80]}, "stages": [{**stage, "bandwidth": "{k}"}]})
        self.assertEqual(self.plan("pipeline.json"),
                         {"arrivals[p,80]": ("would run", "option --bandwidth is new since its last run")})
        self.assertEqual(self.statuses("pipeline.json"), {"arrivals[p,80]": "ran"})
        self.assertEqual(self.statuses("pipeline.json"), {"arrivals[p,80]": "skipped"})

    def test_an_output_moved_elsewhere_then_back_is_still_the_pipelines(self):
        self.two()
        self.statuses("pipeline.json")
        self.assertEqual(self.statuses("pipeline.json", "--set", "b.output=other/b.shp"), {"a": "skipped", "b": "ran"})
        self.assertEqual(features(self.path("other/b.shp")), 60)
        before = os.stat(self.path("out/b.shp")).st_mtime_ns
        stages, _ = self.run_json("pipeline.json")
        self.assertEqual(stages["b"]["status"], "ran")
        self.assertEqual(stages["b"]["reason"], "option --output differs from its last run")
        self.assertGreater(os.stat(self.path("out/b.shp")).st_mtime_ns, before)
        self.assertEqual(features(self.path("out/b.shp")), 60)
        # and the other place is still the pipeline's too
        self.assertEqual(self.statuses("pipeline.json", "--set", "b.output=other/b.shp"), {"a": "skipped", "b": "ran"})

    def test_a_record_of_other_paths_grants_no_overwrite(self):
        """b's record lists out/b.*; b now writes out/c.shp, where a .dbf no record lists is
        in the way: zonal is not told --overwrite, refuses, and the file is kept."""
        self.two()
        self.statuses("pipeline.json")
        theirs = self.path("out/c.dbf")
        with open(theirs, "wb") as fh:
            fh.write(b"someone else's table\n")
        before = self.snapshot(theirs)
        self.write({"stages": [arrivals("a", "out/a.tif"), shapefile("b", "out/a.tif", "out/c.shp")]})
        rc, _, err = run_in(self.tmp, "run", "pipeline.json")
        self.assertEqual(rc, 4, err)
        self.assertIn("stage b failed (exit 4)", err.splitlines()[-1])
        self.assertEqual(self.snapshot(theirs), before, "the file was replaced")
        self.assertFalse(os.path.exists(self.path("out/c.shp")))

    def test_a_file_no_record_lists_is_refused_whatever_other_states_say(self):
        """Another pipeline's state beside the outputs lists other files: an output of this one
        in the way is still refused (exit 4) and kept."""
        other = self.write({"stages": [arrivals("a", "out/z.tif")]}, name="other.json")
        self.assertEqual(self.statuses(other), {"a": "ran"})
        theirs = self.path("out/a.tif")
        with open(theirs, "wb") as fh:
            fh.write(b"someone else's file\n")
        before = self.snapshot(theirs)
        rc, _, err = run_in(self.tmp, "run", self.two())
        self.assertEqual(rc, 4, err)
        self.assertIn(f"output '{theirs}' exists and this pipeline did not make it", err.splitlines()[-1])
        self.assertEqual(self.snapshot(theirs), before)


class ShapefileInputs(StateCase):
    def test_editing_only_the_dbf_of_a_shapefile_input_reruns_its_reader(self):
        """QGIS writes an attribute edit into the .dbf alone: the .shp keeps its size and time."""
        gdal.VectorTranslate(self.path("data/zones.shp"), self.path("data/neighbourhoods.gpkg"),
                             format="ESRI Shapefile")
        self.write({"stages": [arrivals("a", "out/a.tif"),
                               {"stage": "zonal", "name": "z", "zones": "data/zones.shp", "arrivals": "out/a.tif",
                                "output": "out/z.gpkg"}]})
        self.assertEqual(self.statuses("pipeline.json"), {"a": "ran", "z": "ran"})
        real = os.path.realpath(self.path("data"))
        recorded = self.state()["stages"]["z"]["inputs"]
        for ext in ("shp", "dbf", "shx", "prj"):
            self.assertIn(os.path.join(real, "zones." + ext), recorded)
        self.assertEqual(self.statuses("pipeline.json"), {"a": "skipped", "z": "skipped"})
        shp = self.snapshot(self.path("data/zones.shp"))
        time.sleep(0.01)
        # one name changed in the table's bytes, the .shp and .shx left alone
        zones = ogr.Open(self.path("data/zones.shp"))
        name = zones.GetLayer(0).GetNextFeature().GetField("name")
        zones = None
        renamed = ("Renamed " * 8)[:len(name)]
        with open(self.path("data/zones.dbf"), "r+b") as fh:
            table = fh.read()
            self.assertIn(name.encode(), table)
            fh.seek(0)
            fh.write(table.replace(name.encode(), renamed.encode(), 1))
        self.assertEqual(self.snapshot(self.path("data/zones.shp")), shp, "the .shp changed")
        self.assertRegex(self.plan("pipeline.json")["z"][1],
                         r"^input (.*/)?data/zones\.dbf changed since its last run: another time$")
        self.assertEqual(self.statuses("pipeline.json"), {"a": "skipped", "z": "ran"})
        made = ogr.Open(self.path("out/z.gpkg"))
        names = [f.GetField("name") for f in made.GetLayer(0)]
        self.assertIn(renamed.strip(), names)


class Concurrency(StateCase):
    def test_a_run_records_under_the_lock_and_keeps_what_another_recorded(self):
        """Two runs of one pipeline: the state is read, changed and written under an exclusive
        flock() of .cityrisk/NAME.state.json.lock, so the record another run writes while it
        holds the lock is kept (a run wrote over it)."""
        p = self.write({"stages": [arrivals("a", "out/a.tif")]})
        os.makedirs(self.path("out/.cityrisk"))
        with open(self.path(STATE + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            proc = subprocess.Popen([CITYRISK, "run", p], cwd=self.tmp, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            try:
                deadline = time.time() + 120
                while not os.path.exists(self.path("out/a.qml")) and time.time() < deadline:
                    time.sleep(0.05)
                time.sleep(1.0)
                self.assertIsNone(proc.poll(), "the run did not wait for the lock")
                # the other run records its stage meanwhile
                with open(self.path(STATE), "w") as fh:
                    json.dump({"cityrisk_state": 2, "pipeline": p, "stages": {
                        "other": {"argv": ["zonal"], "version": "0.0.1", "inputs": {}, "outputs": {}}}}, fh)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
            out, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(list(self.state()["stages"]), ["a", "other"])
        self.assertEqual(sorted(os.listdir(self.path("out/.cityrisk"))), ["pipeline.json.state.json"])


if __name__ == "__main__":
    unittest.main()
