"""Install a Debian package a test needs, only when its program is missing.

    from debpkg import ensure_program
    path = ensure_program("sbatch", "slurm-wlm", "munge")   # None when it cannot be had

The engines' tests (slurm.py, snakemake_run.py, gnu_parallel.py) find their programs on
PATH; on a fresh machine they apt-get the Debian packages named in .ci/deps.sh. Only root
with apt-get can install; anyone else gets None and the test skips with a message.
Other sessions may be installing at the same time: apt-get waits up to 10 minutes for the
dpkg lock instead of failing at once (DPkg::Lock::Timeout).
"""
import os
import shutil
import subprocess

LOCK_WAIT_SECONDS = 600


def apt_install(*packages):
    """True when apt-get installed the packages (an update and one retry on a stale list)."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends",
           "-o", "DPkg::Lock::Timeout=%d" % LOCK_WAIT_SECONDS, *packages]
    for attempt in range(2):
        if subprocess.run(cmd, env=env, capture_output=True).returncode == 0:
            return True
        if attempt == 0:
            subprocess.run(["apt-get", "update", "-q",
                            "-o", "DPkg::Lock::Timeout=%d" % LOCK_WAIT_SECONDS],
                           env=env, capture_output=True)
    return False


def ensure_program(program, *packages):
    """Path of `program`, apt-installing `packages` first when it is not on PATH."""
    path = shutil.which(program)
    if path is None and apt_install(*packages):
        path = shutil.which(program)
    return path
