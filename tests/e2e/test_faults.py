"""End-to-end tests of faults: interrupted runs, full disks, a failed pipeline stage, and
byte-identical outputs whatever the thread count (issue 8); concurrent runs on one output, two
signals in a row and killed runs (issue 16)."""
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from osgeo import gdal, ogr

from cliutil import CITYRISK, CliTestCase, run, sample, sample_city_steps, run_steps

gdal.UseExceptions()

SAMPLES_DIR = os.path.dirname(os.path.abspath(sample("dem.tif")))
PIPELINE = os.path.join(SAMPLES_DIR, "..", "pipeline.json")


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def hidden_files(folder):
    """The temporary files and folders cityrisk writes beside its outputs (.NAME.TAG.XXXXXX)."""
    return [n for n in os.listdir(folder) if n.startswith(".")]


def locked_by(pid, folder, names):
    """Whether process pid holds a flock() on each of names in folder (from /proc/locks: a
    writer creates a temporary, then locks it; a sweep in between may remove it)."""
    held = set()
    with open("/proc/locks") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 5 and fields[1] == "FLOCK" and fields[4] == str(pid):
                held.add(int(fields[5].split(":")[2]))
    try:
        return all(os.stat(os.path.join(folder, n)).st_ino in held for n in names)
    except FileNotFoundError:
        return False


class ScratchFolder:
    """A temporary folder shared by the tests of a class, for inputs that are slow to make."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="cityrisk-faults-")
        self.name = self._tmp.name

    def cleanup(self):
        self._tmp.cleanup()


class SlowWrites(CliTestCase):
    """Tests that act on a command while it writes: self.dem is the sample DEM at 5 times its
    resolution, 3335 x 3335 cells, about a second of work."""

    @classmethod
    def setUpClass(cls):
        cls.scratch = ScratchFolder()
        cls.dem = os.path.join(cls.scratch.name, "dem-fine.tif")
        gdal.Translate(cls.dem, sample("dem.tif"), widthPct=500, heightPct=500,
                       resampleAlg="bilinear", creationOptions=["TILED=YES"])

    @classmethod
    def tearDownClass(cls):
        cls.scratch.cleanup()

    def start_and_wait(self, args, folder):
        """Starts cityrisk with args and returns the process once a temporary file of its output
        is in folder: it is past its checks and holds its temporaries."""
        proc = subprocess.Popen([CITYRISK, *args], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        # Locked by it: past the instant between creating a temporary and holding it, when
        # neither a second signal nor a sweep can tell it from a dead run's (output.c).
        while (not hidden_files(folder) or not locked_by(proc.pid, folder, hidden_files(folder))) \
                and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        self.assertIsNone(proc.poll(), "the command ended before it could be stopped")
        return proc


class Interrupts(SlowWrites):
    """SIGINT and SIGTERM during a long write cancel it through the progress callback."""

    def start_and_signal(self, args, folder, signo, delay=0.0):
        """Starts cityrisk with args, sends signo delay seconds after a temporary file appears
        in folder, and returns (exit code, stderr, seconds from the signal to the exit)."""
        proc = self.start_and_wait(args, folder)
        if delay:
            time.sleep(delay)
            self.assertIsNone(proc.poll(), "the command ended before it could be interrupted")
        proc.send_signal(signo)
        sent = time.monotonic()
        _, err = proc.communicate(timeout=120)
        return proc.returncode, err, time.monotonic() - sent

    def check_interrupted(self, signo, code, name):
        out = self.path("depth.tif")
        rc, _, _ = run("inundation", "--dem", sample("dem.tif"), "--scenario", "ssp245-2100", "-o", out)
        self.assertEqual(rc, 0)
        before = digest(out)
        rc, err, seconds = self.start_and_signal(
            ["inundation", "--dem", self.dem, "--scenario", "ssp245-2050,ssp585-2100-p83",
             "-o", out, "--overwrite"], self.tmp, signo)
        self.assertEqual(rc, code, err)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertIn(f"interrupted by {name}", lines[0])
        self.assertLess(seconds, 10, "the command did not stop promptly")
        self.assertEqual(hidden_files(self.tmp), [], "a temporary file was left behind")
        self.assertEqual(digest(out), before, "the previous output was touched")

    def test_sigint_exits_130_and_keeps_the_previous_output(self):
        self.check_interrupted(signal.SIGINT, 130, "SIGINT")

    def test_sigterm_exits_143_and_keeps_the_previous_output(self):
        self.check_interrupted(signal.SIGTERM, 143, "SIGTERM")

    def test_two_signals_in_a_row_still_remove_the_temporaries(self):
        """GNU timeout signals the process and then its group: the second signal comes while the
        first is being handled. It stops at once, and the temporary files still go."""
        out = self.path("depth.tif")
        rc, _, _ = run("inundation", "--dem", sample("dem.tif"), "--scenario", "ssp245-2100", "-o", out)
        self.assertEqual(rc, 0)
        before = digest(out)
        for first, second in ((signal.SIGTERM, signal.SIGTERM), (signal.SIGINT, signal.SIGINT),
                              (signal.SIGINT, signal.SIGTERM)):
            with self.subTest(first=first.name, second=second.name):
                proc = self.start_and_wait(
                    ["inundation", "--dem", self.dem, "--scenario", "ssp245-2050,ssp585-2100-p83",
                     "-o", out, "--overwrite"], self.tmp)
                proc.send_signal(first)
                time.sleep(0.001)
                proc.send_signal(second)
                _, err = proc.communicate(timeout=120)
                # At once by the second signal to be handled (two different signals may be
                # handled in either order), or by the first when its own cleanup was quicker.
                lines = err.strip().splitlines()
                self.assertEqual(len(lines), 1, err)
                match = re.match(r"^cityrisk inundation: (stopped at once by a second signal "
                                 r"\((SIG\w+)\); its temporary files are removed|interrupted by "
                                 r"(SIG\w+))", lines[0])
                self.assertIsNotNone(match, err)
                name = match.group(2) or match.group(3)
                self.assertIn(name, (first.name, second.name))
                self.assertEqual(proc.returncode, 128 + signal.Signals[name], err)
                self.assertEqual(hidden_files(self.tmp), [], "a temporary file was left behind")
                self.assertEqual(digest(out), before, "the previous output was touched")

    def test_the_next_run_removes_what_a_killed_run_left(self):
        """kill -9 leaves the temporaries; the next run writing that output removes them (no
        process holds their lock any more) and writes the output."""
        out = self.path("depth.tif")
        args = ["inundation", "--dem", self.dem, "--scenario", "ssp245-2050,ssp585-2100-p83",
                "-o", out]
        proc = self.start_and_wait(args, self.tmp)
        time.sleep(0.2)
        proc.kill()
        proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        left = hidden_files(self.tmp)
        self.assertTrue(left, "kill -9 left nothing to clean")
        # A file of another output, named alike, is not this output's to remove.
        other = self.path(".depth.tiff.part.AbC123")
        open(other, "w").close()
        rc, _, err = run("inundation", "--dem", sample("dem.tif"), "--scenario", "ssp245-2100",
                         "-o", out)
        self.assertEqual(rc, 0, err)
        for name in left:
            self.assertIn(f"removed '{os.path.join(self.tmp, name)}'", err)
        self.assertEqual(hidden_files(self.tmp), [os.path.basename(other)])
        self.assertEqual(gdal.Open(out).RasterCount, 1)

    def test_a_live_run_keeps_its_temporaries(self):
        """A run writing the same output does not remove the temporaries of one still alive,
        even stopped: they are locked by their writer."""
        out = self.path("depth.tif")
        slow = self.start_and_wait(["inundation", "--dem", self.dem, "--scenario", "ssp245-2050",
                                    "-o", out, "--overwrite"], self.tmp)
        # Stopped once it holds both of its temporaries (.part and .cog) locked: stopped
        # between creating one and locking it, the other run would rightly sweep it (and this
        # one make another when continued).
        deadline = time.monotonic() + 120
        while slow.poll() is None and time.monotonic() < deadline:
            slow.send_signal(signal.SIGSTOP)
            names = hidden_files(self.tmp)
            if len(names) >= 2 and locked_by(slow.pid, self.tmp, names):
                break
            slow.send_signal(signal.SIGCONT)
            time.sleep(0.002)
        self.assertIsNone(slow.poll(), "the command ended before it could be stopped")
        try:
            held = hidden_files(self.tmp)
            rc, _, err = run("inundation", "--dem", sample("dem.tif"), "--scenario", "ssp245-2100",
                             "-o", out, "--overwrite")
            self.assertEqual(rc, 0, err)
            self.assertNotIn("removed", err)
            self.assertEqual(sorted(hidden_files(self.tmp)), sorted(held))
        finally:
            slow.send_signal(signal.SIGCONT)
        _, err = slow.communicate(timeout=120)
        self.assertEqual(slow.returncode, 0, err)
        self.assertEqual(hidden_files(self.tmp), [])
        self.assertEqual(gdal.Open(out).RasterXSize, gdal.Open(self.dem).RasterXSize)

    def test_signal_during_wide_kernels_stops_at_once(self):
        # Kernels as wide as a 3000 x 3000 grid of 1 m, 1500 records: a few minutes of kernel
        # sums in which no progress was reported, so SIGTERM took 176 s to act (issue 16,
        # point 10). The kernel loops now look for a stop request every few million cells.
        points = self.path("wide.csv")
        with open(points, "w") as f:
            f.write("x,y\n")
            for k in range(1500):
                f.write(f"{700000.5 + (k * 7919) % 3000},{7800000.5 + (k * 104729) % 3000}\n")
        out = self.path("out")
        os.mkdir(out)
        for threads in ["1", "2"]:
            for signo, code, name in [(signal.SIGINT, 130, "SIGINT"),
                                      (signal.SIGTERM, 143, "SIGTERM")]:
                with self.subTest(threads=threads, signal=name):
                    rc, err, seconds = self.start_and_signal(
                        ["arrivals", "--points", points, "--src-crs", "EPSG:32736",
                         "--bounds", "700000,7800000,703000,7803000", "--resolution", "1",
                         "--crs", "EPSG:32736", "--bandwidth", "3000", "--threads", threads,
                         "-o", os.path.join(out, "a.tif")], out, signo, delay=0.5)
                    self.assertEqual(rc, code, err)
                    self.assertIn(f"interrupted by {name}", err)
                    self.assertLess(seconds, 5, "the kernels did not stop promptly")
                    self.assertEqual(os.listdir(out), [], "a file was left behind")

    def test_sigint_during_a_pipeline_keeps_the_earlier_stages(self):
        out = self.path("out")
        os.mkdir(out)
        pipeline = self.path("p.json")
        with open(pipeline, "w") as f:
            json.dump({"stages": [
                {"stage": "inundation", "name": "coarse", "dem": sample("dem.tif"),
                 "scenario": "ssp245-2100", "output": "out/coarse.tif"},
                {"stage": "inundation", "name": "fine", "dem": self.dem,
                 "scenario": "ssp245-2050,ssp585-2100-p83", "output": "out/fine.tif"},
            ]}, f)
        proc = subprocess.Popen([CITYRISK, "run", pipeline, "-q"], stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not any(n.startswith(".fine.tif") for n in os.listdir(out)) and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 130, err)
        self.assertIn("stage fine was interrupted (exit 130)", err)
        # no fine.tif (.cityrisk/ holds the run's state)
        self.assertEqual(sorted(os.listdir(out)), [".cityrisk", "coarse.qml", "coarse.tif"])
        self.assertEqual(gdal.Open(os.path.join(out, "coarse.tif")).RasterCount, 1)
        # The next run makes only what is missing.
        rc, _, err = run("run", pipeline, "--dry-run")
        self.assertEqual(rc, 0, err)


class Races(SlowWrites):
    """Two runs writing one output without --overwrite: one wins, the other exits 4 and leaves
    nothing, whatever their timing (the final rename does not replace)."""

    def test_the_run_publishing_second_exits_4(self):
        """Deterministic: the slow run is stopped after its checks passed, the fast one writes
        the output, then the slow one goes on to publish over it."""
        out = self.path("depth.tif")
        slow = self.start_and_wait(["inundation", "--dem", self.dem, "--sea-level", "1", "-o", out],
                                   self.tmp)
        slow.send_signal(signal.SIGSTOP)
        try:
            rc, _, err = run("inundation", "--dem", sample("dem.tif"), "--sea-level", "1", "-o", out)
            self.assertEqual(rc, 0, err)
            fast = digest(out)
        finally:
            slow.send_signal(signal.SIGCONT)
        _, err = slow.communicate(timeout=120)
        self.assertEqual(slow.returncode, 4, err)
        self.assertRegex(err.strip(), rf"^cityrisk inundation: output '{out}' exists; use "
                                      r"--overwrite to replace it")
        self.assertEqual(digest(out), fast, "the output of the first run was replaced")
        self.assertEqual(hidden_files(self.tmp), [])

    def race(self, make_args, rounds=12):
        """Runs two commands at once, rounds times, each round into a fresh folder: exactly one
        exits 0, the other 4, and the folder holds the winner's files only."""
        for r in range(rounds):
            folder = self.path(f"round-{r}")
            os.mkdir(folder)
            procs = [subprocess.Popen([CITYRISK, *make_args(folder, k)], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True) for k in (0, 1)]
            results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
            for p in procs:
                p.stderr.close()
            codes = sorted(rc for rc, _ in results)
            self.assertEqual(codes, [0, 4], f"round {r}: {results}")
            self.assertEqual(hidden_files(folder), [], f"round {r}")
            yield folder, [rc for rc, _ in results].index(0)

    def test_rasters_at_once(self):
        def args(folder, k):
            return ["inundation", "--dem", sample("dem.tif"), "--sea-level", str(1 + k),
                    "-o", os.path.join(folder, "depth.tif"), "-q"]
        for folder, winner in self.race(args):
            ds = gdal.Open(os.path.join(folder, "depth.tif"))
            self.assertEqual(ds.GetRasterBand(1).GetMetadataItem("SEA_LEVEL_RISE_M"), str(1 + winner))

    def test_shapefiles_at_once(self):
        """Files of several parts: the winner's parts only, never a mix."""
        zones = ["zonal", "--zones", sample("neighbourhoods.gpkg"), "-r",
                 f"dem={sample('dem.tif')}", "-of", "ESRI Shapefile"]
        def args(folder, k):
            return [*zones, "--stats", "mean" if k == 0 else "max",
                    "-o", os.path.join(folder, "n.shp"), "-q"]
        for folder, winner in self.race(args):
            self.assertEqual(sorted(os.listdir(folder)),
                             ["n.dbf", "n.fields.csv", "n.prj", "n.shp", "n.shx"])
            with open(os.path.join(folder, "n.fields.csv"), encoding="utf-8") as fh:
                self.assertIn("dem_mean" if winner == 0 else "dem_max", fh.read())
            ds = ogr.Open(os.path.join(folder, "n.shp"))
            layer = ds.GetLayer(0)
            names = [layer.GetLayerDefn().GetFieldDefn(i).GetName()
                     for i in range(layer.GetLayerDefn().GetFieldCount())]
            self.assertIn("dem_mean" if winner == 0 else "dem_max", names)
            self.assertEqual(layer.GetFeatureCount(), 60)


class FullDisk(CliTestCase):
    """A full disk is exit 1 with the reason, and leaves no output."""

    @classmethod
    def setUpClass(cls):
        cls.scratch = ScratchFolder()
        steps, cls.depth, cls.arrivals, cls.exposure = sample_city_steps(
            cls.scratch.name, ["ssp245-2100"], "ssp245-2100")
        run_steps(steps)
        cls.disk = os.path.join(cls.scratch.name, "disk")
        os.mkdir(cls.disk)
        cls.mounted = False
        if os.geteuid() != 0 or not shutil.which("mount"):
            return
        cls.mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", cls.disk],
                                     capture_output=True).returncode == 0

    @classmethod
    def tearDownClass(cls):
        if cls.mounted:
            subprocess.run(["umount", cls.disk], check=False)
        cls.scratch.cleanup()

    def setUp(self):
        super().setUp()
        if not self.mounted:
            self.skipTest("a small tmpfs needs root (mount -t tmpfs); not root or mount refused")

    def check_full(self, args, output):
        path = os.path.join(self.disk, output)
        message = self.assertFails([*args, "-o", path], 1, path, "No space left on device")
        self.assertEqual(os.listdir(self.disk), [], f"left on the full disk after: {message}")

    def test_rasters(self):
        self.check_full(["inundation", "--dem", sample("dem.tif"), "--scenario", "ssp245-2100"],
                        "depth.tif")
        self.check_full(["arrivals", "--points", sample("arrivals.csv"), "--grid", sample("dem.tif")],
                        "arrivals.tif")
        self.check_full(["score", "--sea", self.depth, "--water", sample("water_stress.tif"),
                         "--informal", sample("settlement.tif"), "--arrivals", self.arrivals],
                        "exposure.tif")

    def test_vectors_in_every_format(self):
        zonal = ["zonal", "--zones", sample("neighbourhoods.gpkg"), "--exposure", self.exposure,
                 "--arrivals", self.arrivals, "--sea", self.depth]
        for name in ("n.geojson", "n.gpkg", "n.fgb", "n.shp"):
            with self.subTest(name):
                self.check_full(zonal, name)
        # CSV under a name without .csv: one file, and nothing left on failure (issue 16)
        with self.subTest("n.out"):
            self.check_full([*zonal, "-of", "CSV", "-lco", "GEOMETRY=AS_WKT"], "n.out")

    def test_maps(self):
        for name in ("map.png", "map.pdf", "map.svg"):
            with self.subTest(name):
                self.check_full(["map", "--raster", self.exposure], name)


class Streams(CliTestCase):
    """GeoJSON written to a stream that fails: exit 1 with the reason."""

    @classmethod
    def setUpClass(cls):
        cls.scratch = ScratchFolder()
        steps, _, _, cls.exposure = sample_city_steps(cls.scratch.name, ["ssp245-2100"], "ssp245-2100")
        run_steps(steps)

    @classmethod
    def tearDownClass(cls):
        cls.scratch.cleanup()

    def zonal(self):
        return ["zonal", "--zones", sample("neighbourhoods.gpkg"), "--exposure", self.exposure]

    def test_dev_full_as_output(self):
        self.assertFails([*self.zonal(), "-o", "/dev/full"], 1, "'/dev/full'", "No space left on device")

    def test_standard_output_on_dev_full(self):
        with open("/dev/full", "w") as full:
            proc = subprocess.run([CITYRISK, *self.zonal(), "-o", "-"], stdout=full,
                                  stderr=subprocess.PIPE, text=True, timeout=300)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("cannot write to standard output: No space left on device", proc.stderr)

    def test_a_device_is_written_as_a_stream(self):
        proc = subprocess.run([CITYRISK, *self.zonal(), "-o", "/dev/stdout"], capture_output=True,
                              text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(len(json.loads(proc.stdout)["features"]), 60)

    def test_a_raster_is_never_renamed_over_a_device(self):
        self.assertFails(["inundation", "--dem", sample("dem.tif"), "--scenario", "ssp245-2100",
                          "-o", "/dev/null", "--overwrite"], 2, "'/dev/null'", "not a regular file")
        self.assertTrue(os.path.exists("/dev/null") and not os.path.isfile("/dev/null"))


class FailedStage(CliTestCase):
    """`cityrisk run` after a stage failed: every earlier output is whole, the stage is named."""

    def test_earlier_outputs_stay_valid(self):
        out = self.path("out")
        os.mkdir(out)
        pipeline = self.path("p.json")
        bad_zones = self.path("zones.geojson")
        with open(bad_zones, "w") as f:
            f.write("{ this is not JSON")
        with open(pipeline, "w") as f:
            json.dump({"scenarios": ["ssp245-2100"], "stages": [
                {"stage": "inundation", "dem": sample("dem.tif"), "scenario": "{scenarios}",
                 "output": "out/depth.tif"},
                {"stage": "arrivals", "points": sample("arrivals.csv"), "count-field": "arrivals",
                 "grid": sample("dem.tif"), "output": "out/arrivals.tif"},
                {"stage": "score", "sea": "out/depth.tif", "water": sample("water_stress.tif"),
                 "informal": sample("settlement.tif"), "arrivals": "out/arrivals.tif",
                 "output": "out/exposure.tif"},
                {"stage": "zonal", "zones": "zones.geojson", "exposure": "out/exposure.tif",
                 "output": "out/n.geojson"},
            ]}, f)
        rc, _, err = run("run", pipeline, "-q")
        self.assertEqual(rc, 3, err)
        # The last line names the stage and repeats the cause.
        last = err.strip().splitlines()[-1]
        self.assertIn("stage zonal failed (exit 3): ", last)
        self.assertIn("zones.geojson", last)
        self.assertEqual(sorted(n for n in os.listdir(out) if not n.endswith(".qml")),
                         [".cityrisk", "arrivals.tif", "depth.tif", "exposure.tif"])
        for name in ("arrivals.tif", "depth.tif", "exposure.tif"):
            ds = gdal.Open(os.path.join(out, name))
            self.assertIsNotNone(ds.GetRasterBand(1).Checksum())  # every block reads back
        # Fixed, the next run makes only the failed stage.
        os.remove(bad_zones)
        ogr.GetDriverByName("GeoJSON").CopyDataSource(ogr.Open(sample("neighbourhoods.gpkg")), bad_zones)
        rc, out_text, err = run("run", pipeline, "--json", "-q")
        self.assertEqual(rc, 0, err)
        ran = [s["name"] for s in json.loads(out_text)["stages"] if s["status"] == "ran"]
        self.assertEqual(ran, ["zonal"])


class Determinism(CliTestCase):
    """The sample pipeline gives byte-identical files with 1 and 2 threads."""

    def test_sample_pipeline_with_1_and_2_threads(self):
        data = self.path("data")
        shutil.copytree(SAMPLES_DIR, data)
        with open(PIPELINE) as f:
            text = f.read().replace("../build/sample-run/", "out/")
        pipeline = self.path("pipeline.json")
        with open(pipeline, "w") as f:
            f.write(text)
        env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")  # the map's date
        made = {}
        for threads in ("1", "2"):
            os.mkdir(self.path("out"))
            proc = subprocess.run([CITYRISK, "run", pipeline, "--force", "-q", "--threads", threads],
                                  capture_output=True, text=True, env=env, timeout=600)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            os.rename(self.path("out"), self.path(f"out-{threads}"))
            # the outputs (the state in .cityrisk/ records times, which differ run to run)
            made[threads] = {n: digest(os.path.join(self.path(f"out-{threads}"), n))
                             for n in os.listdir(self.path(f"out-{threads}")) if n != ".cityrisk"}
        self.assertGreaterEqual(len(made["1"]), 10)
        self.assertEqual(sorted(made["1"]), sorted(made["2"]))
        for name in sorted(made["1"]):
            with self.subTest(name):
                self.assertEqual(made["1"][name], made["2"][name], f"{name} differs")


if __name__ == "__main__":
    unittest.main()
