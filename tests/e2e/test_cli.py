"""End-to-end: the program's global behaviour: version, help, usage errors."""
import os
import unittest

from osgeo import gdal

from cliutil import CliTestCase, run, sample


class Cli(CliTestCase):
    def test_version_names_the_libraries(self):
        rc, out, _ = run("--version")
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^cityrisk \d+\.\d+\.\d+ \(GDAL [\d.]+, PROJ [\d.]+, GEOS [\d.]+")

    def test_help_lists_commands_with_an_example(self):
        rc, out, _ = run("help")
        self.assertEqual(rc, 0)
        self.assertIn("info", out)
        self.assertIn("example", out)

    def test_command_help_two_ways_is_the_same(self):
        rc1, out1, _ = run("help", "info")
        rc2, out2, _ = run("info", "--help")
        self.assertEqual((rc1, rc2), (0, 0))
        self.assertEqual(out1, out2)
        self.assertIn("usage: cityrisk info", out1)
        self.assertIn("examples:", out1)
        self.assertIn("--json", out1)

    def test_usage_errors_exit_2(self):
        self.assertFails(["nosuchcommand"], 2, "'nosuchcommand' is not a command")
        rc, _, err = run()
        self.assertEqual(rc, 2)
        self.assertIn("usage:", err)
        rc, _, err = run("info", "--bogus", "x.tif")
        self.assertEqual(rc, 2)
        self.assertIn("unknown option '--bogus'", err)
        rc, _, err = run("info")
        self.assertEqual(rc, 2)
        self.assertIn("no input files", err)
        rc, _, err = run("info", "--threads", "many", "x.tif")
        self.assertEqual(rc, 2)
        self.assertIn("--threads wants a whole number", err)

    def test_threads_between_1_and_4_per_core(self):
        # 0, -1 and 100000 were accepted (issue 16, point 24).
        cores = gdal.GetNumCPUs()  # as the program counts them (CPLGetNumCPUs)
        most = 4 * cores
        for value in ["0", "-1", "100000", str(most + 1), "2147483647", "0x4"]:
            with self.subTest(threads=value):
                for form in (["--threads", value], [f"--threads={value}"]):
                    rc, _, err = run("info", *form, sample("dem.tif"))
                    self.assertEqual(rc, 2, err)
                    message = err.splitlines()[0]
                    self.assertTrue(message.startswith("cityrisk info: --threads"), err)
                    if value != "0x4":
                        self.assertIn(f"--threads {value} is outside 1 .. {most} (at most 4 per "
                                      f"core; this machine has {cores})", message)
                rc, _, err = run("arrivals", "--threads", value, "--points", "p.csv", "--grid",
                                 "g.tif", "-o", self.path("a.tif"))
                self.assertEqual(rc, 2, err)
                self.assertFalse(os.path.exists(self.path("a.tif")))
        for value in ["1", str(most)]:
            with self.subTest(threads=value):
                rc, out, err = run("info", "--threads", value, "--json", sample("dem.tif"))
                self.assertEqual(rc, 0, err)


if __name__ == "__main__":
    unittest.main()
