"""Helpers for the end-to-end tests: run the cityrisk binary, find the samples."""
import os
import subprocess
import tempfile
import unittest

CITYRISK = os.environ.get("CITYRISK", "cityrisk")
SAMPLES = os.environ.get("CITYRISK_SAMPLES", os.path.join(os.path.dirname(__file__), "..", "..", "samples", "data"))

SAMPLE_FILES = ["dem.tif", "settlement.tif", "water_stress.tif", "population.tif",
                "arrivals.csv", "neighbourhoods.gpkg"]


def sample(name):
    return os.path.join(SAMPLES, name)


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
