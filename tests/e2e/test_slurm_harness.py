"""Self-test of tests/e2e/slurm.py: a real single-node Slurm runs a job array and a job
that waits for it (no cityrisk needed).

    /usr/bin/python3 tests/e2e/test_slurm_harness.py -v

Skips (with the reason) only if slurm-wlm/munge cannot be installed or a daemon cannot
start here. One cluster serves the whole class (starting one takes about a second).
"""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from slurm import SlurmCluster, SlurmUnavailable, processes_of  # noqa: E402

# Each array task writes its index and the time it ended into part-<index>.txt.
ARRAY_JOB = """#!/bin/sh
#SBATCH --job-name=parts
#SBATCH --output=%x-%a.out
sleep 1
printf '%s %s\\n' "$SLURM_ARRAY_TASK_ID" "$(date +%s.%N)" > part-$SLURM_ARRAY_TASK_ID.txt
"""
# The follower notes when it started, then joins the parts in index order.
JOIN_JOB = """#!/bin/sh
#SBATCH --job-name=join
#SBATCH --output=join.out
date +%s.%N > join-start.txt
cat part-0.txt part-1.txt part-2.txt part-3.txt > all.txt
"""
FAIL_JOB = """#!/bin/sh
#SBATCH --output=fail.out
exit 3
"""


def write_script(folder, name, text):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(text)
    return path


class SlurmHarness(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        try:
            cls.cluster = SlurmCluster()
        except SlurmUnavailable as e:
            raise unittest.SkipTest(str(e))
        print("\nslurm daemons started in %s" % {k: round(v, 2) for k, v in
                                                  cls.cluster.start_seconds.items()},
              file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.close()

    def setUp(self):
        self.work = tempfile.TemporaryDirectory(prefix="cityrisk-slurm-test-")
        self.dir = self.work.name

    def tearDown(self):
        self.work.cleanup()

    def read(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return f.read()

    def test_node_is_idle_and_default_partition_is_debug(self):
        self.assertEqual(self.cluster.node_state(), "idle")
        out = self.cluster.run("sinfo", "-h", "-o", "%P %D").stdout.split()
        self.assertEqual(out, ["debug*", "1"])

    def test_array_then_afterok_dependency_runs_in_order(self):
        c = self.cluster
        parts = c.sbatch(write_script(self.dir, "parts.sh", ARRAY_JOB), "--array=0-3",
                         cwd=self.dir)
        join = c.sbatch(write_script(self.dir, "join.sh", JOIN_JOB),
                        "--dependency=afterok:" + parts, cwd=self.dir)
        c.wait([parts, join])
        self.assertEqual(c.states(parts), {"COMPLETED"})
        self.assertEqual(c.states(join), {"COMPLETED"})
        lines = self.read("all.txt").splitlines()
        self.assertEqual([line.split()[0] for line in lines], ["0", "1", "2", "3"])
        started = float(self.read("join-start.txt"))
        self.assertGreaterEqual(started, max(float(line.split()[1]) for line in lines))

    def test_sbatch_wait_returns_the_job_exit_code(self):
        ok = self.cluster.run("sbatch", "--wait", "--output=ok.out", "--wrap", "echo done",
                              cwd=self.dir)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertEqual(self.read("ok.out"), "done\n")
        bad = self.cluster.run("sbatch", "--wait", write_script(self.dir, "fail.sh", FAIL_JOB),
                               check=False, cwd=self.dir)
        self.assertEqual(bad.returncode, 3, bad.stderr)

    def test_failed_dependency_cancels_the_follower(self):
        c = self.cluster
        bad = c.sbatch(write_script(self.dir, "fail.sh", FAIL_JOB), cwd=self.dir)
        follower = c.sbatch(write_script(self.dir, "join.sh", JOIN_JOB),
                            "--dependency=afterok:" + bad, cwd=self.dir)
        c.wait([bad, follower], timeout=60)
        self.assertEqual(c.states(bad), {"FAILED"})
        self.assertEqual(c.states(follower), {"CANCELLED"})
        self.assertFalse(os.path.exists(os.path.join(self.dir, "join-start.txt")))


class SlurmLifecycle(unittest.TestCase):
    def test_close_leaves_no_daemon_and_no_files(self):
        try:
            cluster = SlurmCluster()
        except SlurmUnavailable as e:
            raise unittest.SkipTest(str(e))
        folder = cluster.dir
        with cluster:
            long_job = cluster.sbatch_running(["sleep", "300"])
            self.assertEqual(cluster.states(long_job), {"RUNNING"})
        self.assertEqual(cluster.leftovers(), {})
        self.assertEqual(processes_of(os.path.join(folder, "slurm.conf")), {})
        self.assertFalse(os.path.exists(folder))

    def test_close_after_a_controller_crash_ends_the_jobs_and_spares_another_cluster(self):
        try:
            crashed, other = SlurmCluster(), SlurmCluster()
        except SlurmUnavailable as e:
            raise unittest.SkipTest(str(e))
        with other:
            with crashed:
                job = crashed.sbatch_running(["sleep", "300"])
                crashed.procs["slurmctld"].kill()    # close() can no longer scancel
            self.assertEqual(crashed.leftovers(), {})
            self.assertEqual(other.node_state(), "idle")
            self.assertEqual(other.states(other.sbatch_running(["sleep", "1"])), {"RUNNING"})
            self.assertIsNotNone(job)

    def test_a_daemon_that_cannot_start_is_named_with_its_error(self):
        confs = []

        class Misconfigured(SlurmCluster):
            def _write_config(self):
                super()._write_config()
                confs.append(self.conf)
                with open(self.conf, "a") as f:
                    f.write("NoSuchKey=1\n")
        with self.assertRaises(SlurmUnavailable) as raised:
            Misconfigured(timeout=20)
        self.assertRegex(str(raised.exception), r"^slurmctld exited with 1 at start: .*"
                         r"unrecognized key: NoSuchKey")
        self.assertEqual(processes_of(confs[0]), {})   # munged, started first, is stopped


if __name__ == "__main__":
    unittest.main()
