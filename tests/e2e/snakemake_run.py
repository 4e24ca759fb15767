"""Run Debian's Snakemake (7.21 on Debian 12) on a Snakefile from an e2e test.

    from snakemake_run import Snakemake, SnakemakeUnavailable
    try:
        smk = Snakemake()                    # finds / apt-installs `snakemake`
    except SnakemakeUnavailable as e:
        raise unittest.SkipTest(str(e))
    r = smk.run("Snakefile", workdir)      # snakemake --cores 2 -s Snakefile, quietly
    assert r.returncode == 0, r.stderr
    smk.planned("Snakefile", workdir)      # {} when nothing is left to do, else rule -> jobs
    smk.run_on_slurm("Snakefile", workdir, cluster.env)   # its Slurm executor (slurm.py)

Quirks of this version (measured, see the issue 22 notes):
- `--cores N` (or `-c N`) is required to run: without it snakemake prints an error and exits 1.
- `--quiet` takes optional words (progress, rules, all): `snakemake --quiet all` reads `all`
  as what to silence, not as the target rule. Here it is always `--quiet all` followed by
  options, and targets, if any, come last.
- Even quiet, it writes "Building DAG of jobs..." and the log path to stderr, and keeps
  .snakemake/ (locks, metadata, logs) in the working directory.
- It writes a cache under $XDG_CACHE_HOME (else ~/.cache/snakemake): pointed into the
  working directory so nothing outside it is touched. LANG=C or no HOME works.
- Shell commands run in bash with `set -euo pipefail`; a failed rule's outputs are deleted
  and snakemake exits 1.
- A second run does nothing when outputs are newer than inputs and the rule's code,
  params and inputs did not change (the 7.x rerun triggers: mtime, params, input,
  software-env, code): a changed shell command reruns the rule.
- `--slurm` (the built-in Slurm executor, 7.19+) submits one sbatch job per rule and reads
  job states with sacct, falling back to `scontrol show jobid` when accounting is off (as on
  slurm.py's cluster: it warns "Unable to guess SLURM account" and goes on). It reads
  $USER and fails with a KeyError when it is unset. It polls at most once every 33 s
  unless --max-status-checks-per-second is given, and any value above 1 is put back to
  0.03: 1 is the fastest (a two-rule chain takes ~10 s instead of ~100 s).
"""
import os
import pwd
import re
import subprocess

from debpkg import ensure_program


class SnakemakeUnavailable(Exception):
    """snakemake is missing and cannot be installed: skip, with why."""


class Snakemake:
    def __init__(self, install=True):
        self.exe = ensure_program("snakemake", "snakemake") if install else None
        if self.exe is None:
            raise SnakemakeUnavailable("snakemake is missing and `apt-get install snakemake` "
                                       "failed")
        self.version = subprocess.run([self.exe, "--version"], capture_output=True,
                                      text=True).stdout.strip()

    def _env(self, workdir):
        return dict(os.environ, XDG_CACHE_HOME=os.path.join(os.path.abspath(workdir),
                                                            ".snakemake", "cache"))

    def run(self, snakefile, workdir, cores=2, extra=(), targets=(), timeout=900):
        """snakemake --cores N -s SNAKEFILE in `workdir`; returns the CompletedProcess."""
        argv = [self.exe, "--quiet", "all", "--cores", str(cores),
                "-s", os.path.abspath(snakefile), *extra, *targets]
        return subprocess.run(argv, cwd=workdir, capture_output=True, text=True,
                              env=self._env(workdir), timeout=timeout)

    def run_on_slurm(self, snakefile, workdir, slurm_env, jobs=2, extra=(), timeout=900):
        """snakemake --slurm --jobs N: every rule a Slurm job of the cluster `slurm_env` names."""
        env = dict(self._env(workdir), **{k: v for k, v in slurm_env.items()
                                          if k.startswith("SLURM_")})
        env.setdefault("USER", pwd.getpwuid(os.geteuid()).pw_name)
        argv = [self.exe, "--quiet", "all", "--slurm", "--jobs", str(jobs),
                "--max-status-checks-per-second", "1", "-s", os.path.abspath(snakefile), *extra]
        return subprocess.run(argv, cwd=workdir, capture_output=True, text=True, env=env,
                              timeout=timeout)

    def planned(self, snakefile, workdir, targets=()):
        """Jobs a run would start now, rule -> count, from a dry run ({} if none)."""
        argv = [self.exe, "--dry-run", "--cores", "1", "-s", os.path.abspath(snakefile),
                *targets]
        r = subprocess.run(argv, cwd=workdir, capture_output=True, text=True,
                           env=self._env(workdir))
        if r.returncode != 0:
            raise RuntimeError("snakemake --dry-run exited with %d: %s"
                               % (r.returncode, r.stderr.strip()[-800:]))
        return job_stats(r.stdout + r.stderr)


def job_stats(text):
    """rule -> job count from snakemake's "Job stats" table (the total row left out)."""
    table = text.split("Job stats:", 1)
    if len(table) < 2:
        return {}
    counts = {}
    for line in table[1].splitlines()[3:]:
        row = re.match(r"^(\S+)\s+(\d+)\s+\d+\s+\d+\s*$", line)
        if not row:
            break
        if row.group(1) != "total":
            counts[row.group(1)] = int(row.group(2))
    return counts
