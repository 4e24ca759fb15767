"""Run job lists with GNU parallel (Debian's `parallel`, 20221122 on Debian 12), level by level.

    from gnu_parallel import GnuParallel, ParallelUnavailable, split_levels
    try:
        gp = GnuParallel()                   # finds / apt-installs `parallel`
    except ParallelUnavailable as e:
        raise unittest.SkipTest(str(e))
    runs = gp.run_levels(split_levels(open("jobs.txt").read()), workdir, jobs=2)
    assert runs[-1].returncode == 0 and len(runs) == number_of_levels

One level is `parallel --will-cite --halt now,fail=1 -j 2 < level.txt`: every line a shell
command, at most 2 at a time; the next level starts only when the whole level succeeded
(the same as `parallel -j 2 < level1.txt && parallel -j 2 < level2.txt`).

What this version does (measured, see the issue 22 notes):
- --will-cite silences the citation notice (printed only when stderr is a terminal anyway).
- Exit code without --halt: every job runs; the exit code is the number of failed jobs
  (capped at 101), e.g. 2 for two failures, whatever their own codes.
- --halt now,fail=1: at the first failure the running jobs are killed and parallel exits with
  that job's exit code; --halt soon,fail=1 starts no new job but waits for the running ones
  (and prints "Starting no more jobs. Waiting for N jobs to finish.").
  Each failure is reported on stderr as "parallel: This job failed:" and the command.
- It keeps files under $PARALLEL_HOME (else ~/.parallel/tmp): pointed into the working
  directory here so nothing outside it is touched.
- --joblog FILE writes one tab-separated row per job (Seq, Host, Starttime, JobRuntime,
  Send, Receive, Exitval, Signal, Command): job_log() reads it.
"""
import csv
import os
import subprocess

from debpkg import ensure_program


class ParallelUnavailable(Exception):
    """GNU parallel is missing and cannot be installed: skip, with why."""


def split_levels(text):
    """Job lines grouped in levels: a blank or '#' line ends a level (empty levels dropped)."""
    levels, current = [], []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            current.append(line)
        elif current:
            levels.append(current)
            current = []
    if current:
        levels.append(current)
    return levels


def job_log(path):
    """Rows of a --joblog file as dicts, Exitval and Signal as ints, in job order."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for row in rows:
        row["Exitval"], row["Signal"] = int(row["Exitval"]), int(row["Signal"])
    return sorted(rows, key=lambda r: int(r["Seq"]))


class GnuParallel:
    def __init__(self, install=True):
        self.exe = ensure_program("parallel", "parallel") if install else None
        if self.exe is None:
            raise ParallelUnavailable("parallel is missing and `apt-get install parallel` failed")
        first = subprocess.run([self.exe, "--version"], capture_output=True,
                               text=True).stdout.split("\n", 1)[0]
        if not first.startswith("GNU parallel"):   # moreutils ships another `parallel`
            raise ParallelUnavailable("%s is not GNU parallel: %r" % (self.exe, first))
        self.version = first.split()[-1]

    def run(self, lines, workdir, jobs=2, halt="now,fail=1", joblog=None, timeout=900):
        """One job list (shell command lines) through parallel in `workdir`."""
        home = os.path.join(os.path.abspath(workdir), ".parallel")
        os.makedirs(home, exist_ok=True)
        argv = [self.exe, "--will-cite", "-j", str(jobs)]
        if halt:
            argv += ["--halt", halt]
        if joblog:
            argv += ["--joblog", joblog]
        return subprocess.run(argv, input="".join(line + "\n" for line in lines), cwd=workdir,
                              capture_output=True, text=True, timeout=timeout,
                              env=dict(os.environ, PARALLEL_HOME=home))

    def run_levels(self, levels, workdir, jobs=2, halt="now,fail=1"):
        """Each level in turn, the next only after the whole level succeeded; the runs made."""
        runs = []
        for lines in levels:
            runs.append(self.run(lines, workdir, jobs, halt))
            if runs[-1].returncode != 0:
                break
        return runs
