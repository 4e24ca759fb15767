"""End-to-end: the memory budget, --max-memory (docs/performance.md, "Memory"; docs/cli.md).

Commands run on the sample city under a small budget: the peak resident set of the child
(os.wait4's ru_maxrss, kB on Linux) stays within it where the work fits; work that cannot
fit is refused with exit 2, one line naming --max-memory, and no output; the budget's
default comes from CITYRISK_MAX_MEMORY (environment or --config), and what is not a size
exits 2. Outputs under a budget are the same, cell for cell, as without one.
"""
import json
import os
import random
import shutil
import subprocess
import tempfile
import unittest

import numpy as np
from osgeo import gdal

from cliutil import CITYRISK, CliTestCase, asan_build, run, sample, sample_city_steps, run_steps

gdal.UseExceptions()

SCENARIO = "ssp245-2100"
BUDGET_MB = 150  # the sample city's commands hold about 60 to 110 MB with their libraries


class Inputs:
    """The sample city's inundation, arrivals and exposure, made once for the module."""
    folder = None

    @classmethod
    def make(cls):
        if not cls.folder:
            cls.folder = tempfile.mkdtemp(prefix="cityrisk-memory-")
            steps, cls.depth, cls.arrivals, cls.exposure = sample_city_steps(
                cls.folder, [SCENARIO], SCENARIO, population=False)
            run_steps(steps, "-q")
        return cls


def tearDownModule():
    if Inputs.folder:
        shutil.rmtree(Inputs.folder, ignore_errors=True)


def run_measured(args, env=None):
    """Runs cityrisk with args; returns (exit code, stderr, peak RSS in MB)."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([CITYRISK, *args], stdout=subprocess.DEVNULL, stderr=err,
                                env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return proc.returncode, err.read().decode(), usage.ru_maxrss / 1024.0


def cells(path):
    ds = gdal.Open(path)
    return [ds.GetRasterBand(b + 1).ReadAsArray() for b in range(ds.RasterCount)]


class MemoryTest(CliTestCase):
    @classmethod
    def setUpClass(cls):
        cls.inputs = Inputs.make()

    def records(self, n):
        """A CSV of n records over the sample city (one arrival each)."""
        path = self.path(f"records-{n}.csv")
        rng = random.Random(7)
        with open(path, "w", encoding="utf-8") as f:
            f.write("latitude,longitude,arrivals\n")
            for _ in range(n):
                f.write(f"{-19.90 + 0.1 * rng.random():.6f},{34.80 + 0.1 * rng.random():.6f},1\n")
        return path

    def score_args(self, out):
        i = self.inputs
        return ["score", "--sea", i.depth, "--water", sample("water_stress.tif"),
                "--informal", sample("settlement.tif"), "--arrivals", i.arrivals,
                "--grid", sample("dem.tif"), "-o", out]

    def commands(self):
        """Every command of the sample city's chain, each with its own output."""
        i = self.inputs
        zones = sample("neighbourhoods.gpkg")
        return {
            "info": ["info", sample("dem.tif")],
            "inundation": ["inundation", "--dem", sample("dem.tif"), "--scenario", SCENARIO,
                           "-o", self.path("inundation.tif")],
            "arrivals": ["arrivals", "--points", sample("arrivals.csv"), "--count-field", "arrivals",
                         "--grid", sample("dem.tif"), "--kernel", "quartic", "--bandwidth", "500",
                         "-o", self.path("arrivals.tif")],
            "score": self.score_args(self.path("exposure.tif")),
            "zonal": ["zonal", "--zones", zones, "--exposure", i.exposure, "--arrivals", i.arrivals,
                      "-r", "dem=" + sample("dem.tif"), "--stats", "mean,median,quantile(0.9)",
                      "-o", self.path("zonal.geojson")],
            "map": ["map", "--raster", i.exposure, "--zones", zones, "-o", self.path("map.png")],
        }

    @unittest.skipIf(asan_build(), "AddressSanitizer's shadow memory is not the command's")
    def test_peak_rss_stays_within_the_budget(self):
        for name, args in self.commands().items():
            with self.subTest(command=name):
                rc, err, peak = run_measured([*args, "-q", "--max-memory", f"{BUDGET_MB}MB"])
                self.assertEqual(rc, 0, err)
                self.assertLessEqual(peak, BUDGET_MB, f"{name}: peak RSS {peak:.0f} MB")

    def test_threads_are_cut_and_the_output_is_the_same(self):
        full, cut = self.path("full.tif"), self.path("cut.tif")
        rc, _, err = run(*self.score_args(full), "-q", "--threads", "4")
        self.assertEqual(rc, 0, err)
        # 60 MB: about 30 MB of buffers a thread do not fit four times beside the libraries
        rc, _, err = run(*self.score_args(cut), "--debug", "--threads", "4", "--max-memory", "60MB")
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, r"score: [123] threads? instead of 4: .*--max-memory")
        for a, b in zip(cells(full), cells(cut)):
            np.testing.assert_array_equal(a, b)

    def test_records_that_do_not_fit_are_refused_before_any_output(self):
        out = self.path("arrivals.tif")
        message = self.assertFails(["arrivals", "--points", self.records(50000), "--count-field",
                                    "arrivals", "--grid", sample("dem.tif"), "--max-memory", "2MB",
                                    "-o", out], 2, "--max-memory", "50001 records", "MB")
        self.assertNotIn("\n", message)
        self.assertFalse(os.path.exists(out))
        self.assertEqual(os.listdir(self.tmp), ["records-50000.csv"])  # no temporaries left

    def test_records_are_not_refused_on_their_count_before_a_filter(self):
        # --where filters while reading: the unfiltered count (50001) is only a ceiling
        rc, _, err = run("arrivals", "--points", self.records(50000), "--count-field", "arrivals",
                         "--grid", sample("dem.tif"), "--where", "arrivals > 1", "--max-memory", "2MB",
                         "-o", self.path("arrivals.tif"))
        self.assertNotIn("records of", err)

    def test_zones_that_do_not_fit_are_refused_before_any_output(self):
        out = self.path("zonal.geojson")
        i = self.inputs
        self.assertFails(["zonal", "--zones", sample("neighbourhoods.gpkg"), "--exposure", i.exposure,
                          "-r", "dem=" + sample("dem.tif"), "--stats", "median", "--max-memory", "1",
                          "-o", out], 2, "--max-memory", "zones")
        self.assertFalse(os.path.exists(out))

    def test_zones_are_estimated_on_the_grid_asked_for(self):
        # At --resolution 0.5 the sample's 20 km grid is 40000 x 40000 cells: the medians' value
        # lists of its 60 neighbourhoods in progress at once (a row of tiles of their boxes:
        # about 184 M cells) cannot fit in 2 GB, although on the DEM's own 30 m grid (445,000
        # cells in all) they take a few MB. Estimated on the first raster's grid, as before the
        # grid was copied ahead of the check, the first run would be let through.
        out = self.path("zonal.csv")
        args = ["zonal", "--zones", sample("neighbourhoods.gpkg"), "-r", "dem=" + sample("dem.tif"),
                "--stats", "median", "-of", "CSV", "--max-memory", "2G", "-o", out]
        self.assertFails([*args, "--crs", "EPSG:32736", "--resolution", "0.5"], 2, "--max-memory",
                         "60 zones")
        self.assertFalse(os.path.exists(out))
        rc, _, err = run(*args, "-q")
        self.assertEqual(rc, 0, err)

    def test_a_map_too_wide_is_refused_before_any_output(self):
        out = self.path("map.png")
        # 8000 x 8000 pixels of page alone are 8000 * 8000 * 8 bytes, about 490 MB
        self.assertFails(["map", "--raster", self.inputs.exposure, "--width", "8000",
                          "--max-memory", "300MB", "-o", out], 2, "--max-memory", "--width",
                         "8000 x 8000 map of " + self.inputs.exposure)
        self.assertFalse(os.path.exists(out))

    def test_run_gives_its_budget_to_its_stages(self):
        pipeline = self.path("p.json")
        out = self.path("arrivals.tif")
        with open(pipeline, "w", encoding="utf-8") as f:
            json.dump({"stages": [{"stage": "arrivals", "points": self.records(50000),
                                   "count-field": "arrivals", "grid": os.path.abspath(sample("dem.tif")),
                                   "output": out}]}, f)
        rc, _, err = run("run", "-q", "--max-memory", "2MB", pipeline)
        self.assertNotEqual(rc, 0)
        self.assertIn("memory budget of 2 MB (--max-memory", err)
        self.assertFalse(os.path.exists(out))
        rc, _, err = run("run", "-q", "--max-memory", "1G", pipeline)
        self.assertEqual(rc, 0, err)
        self.assertTrue(os.path.exists(out))

    def test_sensitivity_uses_the_common_budget(self):
        out = self.path("sens.geojson")
        i = self.inputs
        self.assertFails(["sensitivity", "--zones", sample("neighbourhoods.gpkg"), "--sea", i.depth,
                          "--water", sample("water_stress.tif"), "--informal", sample("settlement.tif"),
                          "--arrivals", i.arrivals, "--grid", sample("dem.tif"), "--factor", "weights",
                          "--samples", "64", "--max-memory", "1", "-o", out], 2, "--max-memory")
        self.assertFalse(os.path.exists(out))

    def test_the_default_comes_from_the_configuration(self):
        records = self.records(50000)
        args = ["arrivals", "--points", records, "--count-field", "arrivals", "--grid",
                sample("dem.tif"), "-o", self.path("a.tif")]
        env = dict(os.environ, CITYRISK_MAX_MEMORY="2MB")
        proc = subprocess.run([CITYRISK, *args], env=env, capture_output=True, text=True)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("memory budget of 2 MB (--max-memory", proc.stderr)
        self.assertFails([*args, "--config", "CITYRISK_MAX_MEMORY", "2MB"], 2, "budget of 2 MB")
        # the option wins over the configuration
        proc = subprocess.run([CITYRISK, *args, "-q", "--max-memory", "1G"], env=env,
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(os.path.exists(self.path("a.tif")))

    def test_gdal_cache_is_cut_to_a_quarter_of_the_budget(self):
        env = dict(os.environ, GDAL_CACHEMAX="2000")
        proc = subprocess.run([CITYRISK, "info", "--debug", "--max-memory", "100MB", sample("dem.tif")],
                              env=env, capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("GDAL_CACHEMAX 2000 cut to 25 MB", proc.stderr)

    def test_what_is_not_a_size_exits_2(self):
        dem = sample("dem.tif")
        for bad in ("lots", "0", "-5", "0x10", "5T", "101%", ""):
            with self.subTest(size=bad):
                rc, _, err = run("info", "--max-memory", bad, dem)
                self.assertEqual(rc, 2)
                self.assertIn(f"--max-memory '{bad}' is not a size", err.splitlines()[0])
        rc, _, err = run("info", "--config", "CITYRISK_MAX_MEMORY", "12x", dem)
        self.assertEqual(rc, 2)
        self.assertIn("CITYRISK_MAX_MEMORY '12x' is not a size", err.splitlines()[0])
        proc = subprocess.run([CITYRISK, "info", dem], env=dict(os.environ, CITYRISK_MAX_MEMORY="lots"),
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("CITYRISK_MAX_MEMORY 'lots' is not a size", proc.stderr)
        for good in ("512", "512MB", "1.5G", "25%"):
            with self.subTest(size=good):
                rc, _, err = run("info", "-q", "--max-memory", good, dem)
                self.assertEqual(rc, 0, err)


if __name__ == "__main__":
    unittest.main()
