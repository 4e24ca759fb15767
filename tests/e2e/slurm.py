"""A single-node Slurm cluster that an e2e test starts and stops (Debian slurm-wlm + munge).

    from slurm import SlurmCluster, SlurmUnavailable
    try:
        cluster = SlurmCluster()             # apt-installs slurm-wlm munge if missing, starts
    except SlurmUnavailable as e:           # munged, slurmctld, slurmd; waits for the node
        raise unittest.SkipTest(str(e))
    with cluster:
        job = cluster.sbatch("job.sh", "--array=0-3")          # job id (str)
        cluster.wait([job])                                    # until it left the queue
        assert cluster.states(job) == {"COMPLETED"}
        subprocess.run(["sbatch", ...], env=cluster.env)      # any client: SLURM_CONF is set

Everything lives in one temporary directory: munge key, socket and log; slurm.conf; the
controller's state, slurmd's spool, both logs, and the clients' environment points at it
(SLURM_CONF), so /etc/slurm and /etc/munge are never used and nothing is left behind.
The daemons run in the foreground (-D, munged -F) as children of the test in their own
process groups: no systemd, no init scripts. close() cancels what is queued, stops
slurmd, slurmctld and munged, and ends any process still carrying this cluster's
SLURM_CONF (a slurmstepd, a job's script); leftovers() lists them (empty after close).
Another cluster started beside this one (another test) is never touched.

The node is `localhost` with the CPUs and memory `slurmd -C` reports, partition `debug`
(the default). Plugins that need nothing from the container: proctrack/linuxproc,
task/none, select/cons_tres with CR_Core, no accounting (finished jobs are read from
`scontrol show job`, kept for MinJobAge seconds), no cgroups. A job whose afterok
dependency failed is cancelled (kill_invalid_depend), not left pending for ever. Jobs
run as the submitting user (root in the container; SlurmUser=root). Ports are picked
free at start.

Every failure to start names the daemon and the tail of its log, and is a SlurmUnavailable:
the tests turn it into a skip with that reason.
"""
import atexit
import os
import re
import shutil
import shlex
import signal
import socket
import subprocess
import tempfile
import time

from debpkg import ensure_program

PACKAGES = ("slurm-wlm", "munge")   # .ci/deps.sh installs the same
CLIENT_WAIT_SECONDS = 10   # sinfo, scontrol ping, scancel: a live controller answers at once
FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
            "PREEMPTED", "BOOT_FAIL", "DEADLINE"}
CONF = """\
ClusterName=cityrisk
SlurmctldHost=localhost
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser={user}
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={dir}/munge/munge.socket
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=600
DependencyParameters=kill_invalid_depend
SchedulerType=sched/backfill
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


class SlurmUnavailable(Exception):
    """Slurm or munge cannot be installed or a daemon cannot start here: skip, with why."""


def _free_port():
    """A TCP port nobody listens on now (the daemons bind it a moment later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_resources():
    """CPUs and RealMemory (MB) as slurmd itself detects them, so the node is not drained
    for having less than slurm.conf claims."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True,
                         env=dict(os.environ, SLURM_CONF=os.devnull)).stdout
    cpus = re.search(r"\bCPUs=(\d+)", out)
    memory = re.search(r"\bRealMemory=(\d+)", out)
    if not cpus or not memory:
        return len(os.sched_getaffinity(0)), 1024
    return int(cpus.group(1)), int(memory.group(1))


def processes_of(conf):
    """pid -> name of every live process whose environment has SLURM_CONF=`conf`: the
    daemons (started with it), slurmstepd and the jobs' own processes (sbatch exports it),
    and nothing of another cluster running beside this one."""
    marker = b"SLURM_CONF=" + os.fsencode(conf)
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                if marker not in f.read().split(b"\0"):
                    continue
            with open("/proc/%s/stat" % pid) as f:
                name, state = f.read().rsplit(")", 1)
        except OSError:
            continue
        if state.split()[0] != "Z" and int(pid) != os.getpid():
            found[int(pid)] = name.split("(", 1)[1]
    return found


def _tail(path, chars=1200):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-chars:].strip()
    except OSError:
        return "(no log)"


class SlurmCluster:
    """munged + slurmctld + slurmd on localhost; close() (or `with`) stops them all."""

    def __init__(self, timeout=60, install=True):
        self.timeout = timeout
        self.procs = {}   # daemon name -> Popen, in start order
        self.conf = None
        self.start_seconds = {}
        if install:
            ensure_program("sbatch", *PACKAGES)
        for program in ("munged", "slurmctld", "slurmd", "sbatch", "sinfo"):
            if shutil.which(program) is None:
                raise SlurmUnavailable("%s is missing and `apt-get install %s` failed"
                                       % (program, " ".join(PACKAGES)))
        self.dir = tempfile.mkdtemp(prefix="cityrisk-slurm-")
        self.conf = os.path.join(self.dir, "slurm.conf")
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        for key in [k for k in self.env if k.startswith(("SLURM_", "SBATCH_", "SQUEUE_"))]:
            if key != "SLURM_CONF":   # a test run inside a job must not aim at that job
                del self.env[key]
        atexit.register(self.close)   # a test that forgets close() leaves no daemon behind
        try:
            self._write_config()
            self._start_munge()
            self._start_slurm()
        except BaseException:
            self.close()
            raise

    # -- start ----------------------------------------------------------------
    def _write_config(self):
        for sub in ("munge", "state", "spool"):
            os.mkdir(os.path.join(self.dir, sub), 0o700)
        with open(os.path.join(self.dir, "munge", "munge.key"), "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(os.path.join(self.dir, "munge", "munge.key"), 0o400)
        cpus, memory = _node_resources()
        with open(self.conf, "w") as f:
            f.write(CONF.format(dir=self.dir, ctld_port=_free_port(), slurmd_port=_free_port(),
                                user="root" if os.geteuid() == 0 else os.environ.get("USER", ""),
                                cpus=cpus, memory=memory))

    def _spawn(self, name, argv, log):
        """Start one daemon in the foreground, in its own process group."""
        out = open(log + ".out", "wb")
        self.procs[name] = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT, env=self.env,
                                            start_new_session=True)
        out.close()

    def _check_alive(self, name, log):
        proc = self.procs[name]
        if proc.poll() is not None:
            raise SlurmUnavailable("%s exited with %s at start: %s | %s" % (
                name, proc.returncode, _tail(log + ".out", 600), _tail(log)))

    def _start_munge(self):
        m = os.path.join(self.dir, "munge")
        log = os.path.join(m, "munged.log")
        t0 = time.monotonic()
        self._spawn("munged", ["munged", "-F", "-f", "--key-file=" + m + "/munge.key",
                               "--socket=" + m + "/munge.socket", "--pid-file=" + m + "/munged.pid",
                               "--seed-file=" + m + "/munged.seed", "--log-file=" + log], log)
        self._wait_for(lambda: os.path.exists(m + "/munge.socket"), "munged", log)
        self.start_seconds["munged"] = time.monotonic() - t0

    def _start_slurm(self):
        t0 = time.monotonic()
        ctld_log = os.path.join(self.dir, "slurmctld.log")
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", self.conf], ctld_log)
        self._wait_for(lambda: self._client_ok(["scontrol", "ping"], "UP"), "slurmctld", ctld_log)
        self.start_seconds["slurmctld"] = time.monotonic() - t0
        t0 = time.monotonic()
        slurmd_log = os.path.join(self.dir, "slurmd.log")
        self._spawn("slurmd", ["slurmd", "-D", "-N", "localhost", "-f", self.conf], slurmd_log)
        self._wait_for(lambda: self.node_state() == "idle", "slurmd", slurmd_log,
                       why=lambda: "node state %r" % self.node_state())
        self.start_seconds["slurmd"] = time.monotonic() - t0

    def _client_ok(self, argv, needle):
        r = self.run(*argv, check=False, timeout=CLIENT_WAIT_SECONDS)
        return r.returncode == 0 and needle in r.stdout

    def _wait_for(self, ready, name, log, why=lambda: ""):
        deadline = time.monotonic() + self.timeout
        while not ready():
            self._check_alive(name, log)
            if time.monotonic() > deadline:
                raise SlurmUnavailable("%s not ready after %ss %s: %s" % (
                    name, self.timeout, why(), _tail(log)))
            time.sleep(0.2)

    # -- use ------------------------------------------------------------------
    def node_state(self):
        """`sinfo`'s state of the node: idle, mixed, allocated, down*, drained, ..."""
        r = self.run("sinfo", "-h", "-N", "-o", "%T", check=False, timeout=CLIENT_WAIT_SECONDS)
        return r.stdout.strip() if r.returncode == 0 else ""

    def run(self, *argv, check=True, cwd=None, timeout=120):
        """Run a Slurm client (sbatch, squeue, scontrol, ...) against this cluster. Clients
        retry a controller that is gone for minutes: after `timeout` seconds this one is
        ended and returns code -9 (RuntimeError when `check`)."""
        try:
            r = subprocess.run(list(argv), capture_output=True, text=True, env=self.env,
                               cwd=cwd, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            r = subprocess.CompletedProcess(e.cmd, -9, "",
                                            "no answer after %ss" % timeout)
        if check and r.returncode != 0:
            raise RuntimeError("%s exited with %d: %s" % (" ".join(argv), r.returncode,
                                                          r.stderr.strip()))
        return r

    def sbatch(self, script, *options, cwd=None):
        """Submit `script` with `options`; returns the job id as sbatch --parsable prints it."""
        out = self.run("sbatch", "--parsable", *options, script, cwd=cwd).stdout.strip()
        return out.split(";")[0]

    def sbatch_running(self, argv, timeout=30):
        """Submit `argv` as a one-line job (--wrap) and return its id once it runs."""
        job = self.run("sbatch", "--parsable", "--output=/dev/null", "--wrap",
                       " ".join(shlex.quote(a) for a in argv), cwd=self.dir).stdout.strip()
        deadline = time.monotonic() + timeout
        while "RUNNING" not in self.states(job):
            if time.monotonic() > deadline:
                raise TimeoutError("job %s not running after %ss" % (job, timeout))
            time.sleep(0.2)
        return job

    def queued(self, job_ids=None):
        """Ids of jobs still in the queue (pending or running), array tasks folded to their job."""
        argv = ["squeue", "-h", "-o", "%F"]
        if job_ids:
            argv += ["-j", ",".join(job_ids)]
        r = self.run(*argv, check=False)
        return set(r.stdout.split()) if r.returncode == 0 else set()

    def wait(self, job_ids=None, timeout=120):
        """Poll squeue until the jobs (all jobs when None) left the queue; TimeoutError else."""
        deadline = time.monotonic() + timeout
        while self.queued(job_ids):
            if time.monotonic() > deadline:
                raise TimeoutError("jobs %s still queued after %ss: %s" % (
                    job_ids or "all", timeout, self.run("squeue", check=False).stdout))
            time.sleep(0.3)

    def states(self, job_id):
        """Set of states of a job's tasks (one per array task) from `scontrol show job`."""
        out = self.run("scontrol", "-o", "show", "job", job_id).stdout
        return set(re.findall(r"\bJobState=(\S+)", out))

    # -- stop -----------------------------------------------------------------
    def close(self):
        """Cancel every job, stop the daemons (newest first), end what is left of them."""
        if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
            self.run("scancel", "--full", "-u", str(os.geteuid()), check=False,
                     timeout=CLIENT_WAIT_SECONDS)
            try:
                self.wait(timeout=15)
            except TimeoutError:
                pass
        for name in reversed(list(self.procs)):
            self._stop(self.procs.pop(name))
        self._kill_strays()
        atexit.unregister(self.close)
        if getattr(self, "dir", None):
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    @staticmethod
    def _stop(proc, grace=10):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        try:   # anything the daemon left in its group (a slurmstepd)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _kill_strays(self):
        """slurmstepd daemonizes out of slurmd's group and a job's script has a group of
        its own: end whatever still carries this cluster's SLURM_CONF."""
        for pid in self.leftovers():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def leftovers(self):
        """Processes of this cluster (daemons, slurmstepd, jobs) still alive."""
        return processes_of(self.conf) if self.conf else {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
