#!/usr/bin/env python3
"""End-to-end tests of `cityrisk report` (placeholder: the report's helper writes them)."""
import os
import subprocess
import sys
import unittest

CITYRISK = os.environ.get("CITYRISK", "cityrisk")


class ReportHelp(unittest.TestCase):
    def test_the_command_is_listed(self):
        out = subprocess.run([CITYRISK, "report", "--help"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("--zones", out.stdout)


if __name__ == "__main__":
    unittest.main()
