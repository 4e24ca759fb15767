"""Helpers for the end-to-end tests: run the cityrisk binary, find the samples."""
import os
import subprocess
import tempfile
import unittest

CITYRISK = os.environ.get("CITYRISK", "cityrisk")
SAMPLES = os.environ.get("CITYRISK_SAMPLES", os.path.join(os.path.dirname(__file__), "..", "..", "samples", "data"))

# Leaks inside third-party libraries (fontconfig) are suppressed under the asan preset;
# cityrisk's own allocations stay checked.
os.environ["LSAN_OPTIONS"] = ":".join(filter(None, [
    os.environ.get("LSAN_OPTIONS"), "print_suppressions=0",
    "suppressions=" + os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lsan-thirdparty.supp")]))

SAMPLE_FILES = ["dem.tif", "settlement.tif", "water_stress.tif", "population.tif",
                "arrivals.csv", "neighbourhoods.gpkg"]


def sample(name):
    return os.path.join(SAMPLES, name)


def asan_build():
    """True when the binary is built with AddressSanitizer (it links libasan), which reserves
    terabytes of address space: no test can limit it with RLIMIT_AS."""
    try:
        out = subprocess.run(["ldd", CITYRISK], capture_output=True, text=True).stdout
    except OSError:
        return False
    return "libasan" in out


def release_only(test):
    """Leaves test out of the sanitizer build's run. For the cases of a suite that take the
    same code paths as another case of it, on more or larger data, or through an engine that
    runs no cityrisk code of its own (GNU parallel, Snakemake, Slurm): under ASan they cost
    minutes and find nothing the kept cases do not. The release build runs every case."""
    return unittest.skipIf(asan_build(), "a release-build case: its code paths run under the "
                           "sanitizer in the suite's other cases")(test)


def run(*args, stdin=None):
    """Runs cityrisk with args; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([CITYRISK, *args], input=stdin, capture_output=True, text=True,
                          timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


class CliTestCase(unittest.TestCase):
    """A test case with a fresh temporary folder in self.tmp."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="cityrisk-e2e-")
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp, name)

    def assertFails(self, args, code, *needles):
        """Asserts the command exits with code and prints one stderr line holding every needle."""
        rc, out, err = run(*args)
        self.assertEqual(rc, code, f"exit {rc}, stderr: {err}")
        lines = [l for l in err.splitlines() if l.strip()]
        self.assertTrue(lines, "no message on stderr")
        message = lines[-1]
        for needle in needles:
            self.assertIn(needle, message)
        return message


def sample_city_steps(folder, scenarios, scenario, population=True):
    """The commands that make the sample city's inundation (every scenario), arrivals and
    exposure (one scenario) in folder, as a user types them. Returns (steps, depth, arrivals,
    exposure): the argument lists and the three output paths."""
    depth, arrivals, exposure = (os.path.join(folder, n) for n in
                                 ("inundation.tif", "arrivals.tif", "exposure.tif"))
    score = ["score", "--sea", depth, "--scenario", scenario, "--water", sample("water_stress.tif"),
             "--informal", sample("settlement.tif"), "--arrivals", arrivals]
    if population:
        score += ["--population", sample("population.tif")]
    steps = [
        ["inundation", "--dem", sample("dem.tif"), "--scenario", ",".join(scenarios), "-o", depth],
        ["arrivals", "--points", sample("arrivals.csv"), "--count-field", "arrivals", "--grid",
         sample("dem.tif"), "--kernel", "quartic", "--bandwidth", "500", "-o", arrivals],
        score + ["--grid", sample("dem.tif"), "-o", exposure],
    ]
    return steps, depth, arrivals, exposure


def run_steps(steps, *extra):
    """Runs each argument list with extra appended; raises on the first failure. Returns the
    standard outputs."""
    outputs = []
    for args in steps:
        rc, out, err = run(*args, *extra)
        if rc != 0:
            raise RuntimeError(f"{args[0]}: exit {rc}: {err}")
        outputs.append(out)
    return outputs
