"""Self-test of tests/e2e/snakemake_run.py: Debian's Snakemake runs a two-rule Snakefile
written here (no cityrisk needed).

    /usr/bin/python3 tests/e2e/test_snakemake_harness.py -v

Skips (with the reason) only if snakemake cannot be found or installed; the run through
Snakemake's Slurm executor also if the single-node Slurm (slurm.py) cannot start.
"""
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from slurm import SlurmCluster, SlurmUnavailable  # noqa: E402
from snakemake_run import Snakemake, SnakemakeUnavailable, job_stats  # noqa: E402

# `count` needs `words`: the order is the declared inputs', not the file's.
SNAKEFILE = """\
rule all:
    input: "count.txt"

rule count:
    input: "words.txt"
    output: "count.txt"
    shell: "wc -l < {input} | tr -d ' ' > {output}"

rule words:
    output: "words.txt"
    shell: "printf 'alpha\\nbeta\\ngamma\\n' > {output}"
"""
FAILING = """\
rule broken:
    output: "half.txt"
    shell: "echo half > {output}; false | cat"
"""


class SnakemakeHarness(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        try:
            cls.smk = Snakemake()
        except SnakemakeUnavailable as e:
            raise unittest.SkipTest(str(e))

    def setUp(self):
        self.work = tempfile.TemporaryDirectory(prefix="cityrisk-snakemake-test-")
        self.dir = self.work.name

    def tearDown(self):
        self.work.cleanup()

    def snakefile(self, text):
        path = os.path.join(self.dir, "Snakefile")
        with open(path, "w") as f:
            f.write(text)
        return path

    def read(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return f.read()

    def test_version_is_debian_12s(self):
        self.assertRegex(self.smk.version, r"^7\.\d+\.\d+$")

    def test_two_rules_run_in_dependency_order_then_nothing_is_left(self):
        snakefile = self.snakefile(SNAKEFILE)
        self.assertEqual(self.smk.planned(snakefile, self.dir),
                         {"all": 1, "count": 1, "words": 1})
        first = self.smk.run(snakefile, self.dir)
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertEqual(first.stdout, "")
        self.assertEqual(self.read("words.txt"), "alpha\nbeta\ngamma\n")
        self.assertEqual(self.read("count.txt"), "3\n")
        stamps = [os.stat(os.path.join(self.dir, n)).st_mtime_ns
                  for n in ("words.txt", "count.txt")]
        self.assertEqual(self.smk.planned(snakefile, self.dir), {})
        second = self.smk.run(snakefile, self.dir)
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertEqual([os.stat(os.path.join(self.dir, n)).st_mtime_ns
                          for n in ("words.txt", "count.txt")], stamps)

    def test_a_removed_output_reruns_only_what_depends_on_it(self):
        snakefile = self.snakefile(SNAKEFILE)
        self.assertEqual(self.smk.run(snakefile, self.dir).returncode, 0)
        os.remove(os.path.join(self.dir, "count.txt"))
        self.assertEqual(self.smk.planned(snakefile, self.dir), {"all": 1, "count": 1})

    def test_a_failing_pipe_fails_the_run_and_removes_the_output(self):
        r = self.smk.run(self.snakefile(FAILING), self.dir, cores=1)
        self.assertEqual(r.returncode, 1)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "half.txt")))

    def test_the_cache_is_kept_in_the_working_directory(self):
        r = self.smk.run(self.snakefile(SNAKEFILE), self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.isdir(os.path.join(self.dir, ".snakemake", "cache")))

    def test_job_stats_reads_the_table(self):
        text = ("Building DAG of jobs...\nJob stats:\n"
                "job      count    min threads    max threads\n"
                "-----  -------  -------------  -------------\n"
                "a            2              1              1\n"
                "total        2              1              1\n\n")
        self.assertEqual(job_stats(text), {"a": 2})
        self.assertEqual(job_stats("Nothing to be done."), {})


class SnakemakeOnSlurm(unittest.TestCase):
    def test_the_slurm_executor_runs_each_rule_as_a_job(self):
        try:
            smk = Snakemake()
            cluster = SlurmCluster()
        except (SnakemakeUnavailable, SlurmUnavailable) as e:
            raise unittest.SkipTest(str(e))
        with cluster, tempfile.TemporaryDirectory(prefix="cityrisk-snakemake-slurm-") as work:
            snakefile = os.path.join(work, "Snakefile")
            with open(snakefile, "w") as f:
                f.write(SNAKEFILE)
            r = smk.run_on_slurm(snakefile, work, cluster.env)
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            with open(os.path.join(work, "count.txt")) as f:
                self.assertEqual(f.read(), "3\n")
            jobs = cluster.run("scontrol", "-o", "show", "job").stdout
            self.assertEqual(sorted(re.findall(r"JobName=snakejob_(\w+?)_\d+ ", jobs)),
                             ["count", "words"])
            self.assertEqual(set(re.findall(r"JobState=(\S+)", jobs)), {"COMPLETED"})


if __name__ == "__main__":
    unittest.main()
