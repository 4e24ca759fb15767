"""Self-test of tests/e2e/gnu_parallel.py: GNU parallel runs a two-level job list
(no cityrisk needed).

    /usr/bin/python3 tests/e2e/test_parallel_harness.py -v

Skips (with the reason) only if GNU parallel cannot be found or installed.
"""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gnu_parallel import GnuParallel, ParallelUnavailable, job_log, split_levels  # noqa: E402

# Level 1 writes two parts (one slower), level 2 joins them: it must see both.
JOBS = """\
# level 1
sleep 0.5; echo a > a.txt
echo b > b.txt

# level 2
cat a.txt b.txt > ab.txt
"""


class ParallelHarness(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        try:
            cls.gp = GnuParallel()
        except ParallelUnavailable as e:
            raise unittest.SkipTest(str(e))

    def setUp(self):
        self.work = tempfile.TemporaryDirectory(prefix="cityrisk-parallel-test-")
        self.dir = self.work.name

    def tearDown(self):
        self.work.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_version_is_debian_12s(self):
        self.assertEqual(self.gp.version, "20221122")

    def test_split_levels_on_blank_and_comment_lines(self):
        self.assertEqual(split_levels(JOBS), [["sleep 0.5; echo a > a.txt", "echo b > b.txt"],
                                              ["cat a.txt b.txt > ab.txt"]])
        self.assertEqual(split_levels("\n# x\n\n"), [])

    def test_levels_run_in_order(self):
        runs = self.gp.run_levels(split_levels(JOBS), self.dir)
        self.assertEqual([r.returncode for r in runs], [0, 0], [r.stderr for r in runs])
        self.assertEqual(runs[0].stderr, "")
        with open(self.path("ab.txt")) as f:
            self.assertEqual(f.read(), "a\nb\n")

    def test_halt_now_kills_the_level_and_exits_with_the_job_code(self):
        levels = [["sleep 0.2; exit 3", "sleep 5; touch late.txt"], ["touch next.txt"]]
        runs = self.gp.run_levels(levels, self.dir)
        self.assertEqual([r.returncode for r in runs], [3])
        self.assertIn("parallel: This job failed:\nsleep 0.2; exit 3", runs[0].stderr)
        self.assertFalse(os.path.exists(self.path("late.txt")))
        self.assertFalse(os.path.exists(self.path("next.txt")))

    def test_without_halt_every_job_runs_and_the_code_counts_failures(self):
        log = self.path("jobs.log")
        r = self.gp.run(["exit 3", "exit 4", "touch ran.txt"], self.dir, jobs=1, halt=None,
                        joblog=log)
        self.assertEqual(r.returncode, 2)
        self.assertTrue(os.path.exists(self.path("ran.txt")))
        self.assertEqual([(row["Command"], row["Exitval"]) for row in job_log(log)],
                         [("exit 3", 3), ("exit 4", 4), ("touch ran.txt", 0)])


if __name__ == "__main__":
    unittest.main()
