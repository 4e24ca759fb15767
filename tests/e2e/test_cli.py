"""End-to-end: the program's global behaviour: version, help, usage errors."""
import unittest

from cliutil import CliTestCase, run


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


if __name__ == "__main__":
    unittest.main()
