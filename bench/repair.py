#!/usr/bin/python3
"""The cost of repairing self-intersecting zones: GEOS MakeValid's linework and structure
methods, and cityrisk zonal with its bound (docs/zonal.md, "The cost of a repair is bounded").

    bench/repair.py [TIMEOUT]        (default 120 seconds per run)

Rings of N vertices (each run in a process of its own, through OGR's MakeValid, which calls
GEOS's; GEOS is the one cityrisk links):

- zigzag: issue 16's zig-zag and its mirror image, N/2 crossings;
- noisy:  a circle whose vertices are shuffled along it a little, local loops;
- random: vertices drawn uniformly in a square, in drawing order, about N^2/9 crossings.

Then cityrisk zonal over tests/bad/good.tif with tests/bad/many_crossings.geojson (10,000 random
vertices) and tests/bad/world.geojson (the whole world in lon/lat). For each run: the wall time
and the peak resident memory; a run still going after TIMEOUT seconds is killed. Results are
printed and appended to bench/results/repair.txt.

CITYRISK  the cityrisk binary (default build/release/cli/cityrisk)
LIMIT_GB  the address space each run may take (default 6), so that a repair that would take
          tens of gigabytes fails on its own instead of starving the machine
"""
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CITYRISK = os.environ.get("CITYRISK", os.path.join(ROOT, "build/release/cli/cityrisk"))
LIMIT = int(float(os.environ.get("LIMIT_GB", "6")) * 2**30)

# Run in a child: makes the ring, repairs it with one method, prints the time of the repair.
CHILD = r"""
import math, sys, time
import numpy as np
from osgeo import ogr
ogr.UseExceptions()
shape, n, method = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(16)
if shape == "zigzag":
    steps = n // 2 - 1
    ring = [(4.0 * i, 4.0 * (i % 2)) for i in range(steps + 1)] + [(4.0 * steps, 4.0)]
    ring += [(4.0 * i, 4.0 * ((i + 1) % 2)) for i in range(steps - 1, -1, -1)]
elif shape == "noisy":
    a = 2 * math.pi * np.arange(n) / n + rng.uniform(-3, 3, n) * math.pi / n
    r = 1000 + rng.uniform(-10, 10, n)
    ring = list(zip(r * np.cos(a), r * np.sin(a)))
else:
    ring = list(zip(rng.uniform(0, 1000, n), rng.uniform(0, 1000, n)))
wkt = "POLYGON ((" + ",".join(f"{x!r} {y!r}" for x, y in ring + ring[:1]) + "))"
g = ogr.CreateGeometryFromWkt(wkt)
start = time.monotonic()
valid = g.MakeValid([f"METHOD={method}"])
print(f"{time.monotonic() - start:.3f} s, area {valid.GetArea():.1f}")
"""


def measured(args, timeout):
    """Runs args; returns (exit code or None when killed at timeout, seconds, peak RSS MB,
    stdout, stderr)."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=out, stderr=err, preexec_fn=lambda: resource.setrlimit(
            resource.RLIMIT_AS, (LIMIT, LIMIT)))
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        code = None if seconds >= timeout else os.waitstatus_to_exitcode(status)
        return (code, seconds, usage.ru_maxrss / 1024, out.read().decode().strip(),
                err.read().decode(errors="replace").strip())


def main():
    timeout = float(sys.argv[1]) if len(sys.argv) > 1 else 120.0
    rows = []
    for shape, n in [("zigzag", 10000), ("noisy", 10000), ("random", 1000), ("random", 10000)]:
        for method in ("LINEWORK", "STRUCTURE"):
            code, seconds, rss, out, err = measured(
                ["/usr/bin/python3", "-c", CHILD, shape, str(n), method], timeout)
            last = err.splitlines()[-1][:120] if err else ""
            result = out if code == 0 else ("killed" if code is None else f"exit {code}: {last}")
            rows.append(f"| MakeValid {method.lower()} | {shape} {n} | {seconds:.2f} s | "
                        f"{rss:.0f} MB | {result} |")
            print(rows[-1], flush=True)
    good = os.path.join(ROOT, "tests/bad/good.tif")
    with tempfile.TemporaryDirectory() as tmp:
        for zones in ("many_crossings.geojson", "world.geojson"):
            code, seconds, rss, out, err = measured(
                [CITYRISK, "zonal", "--zones", os.path.join(ROOT, "tests/bad", zones), "-r",
                 f"x={good}", "-o", os.path.join(tmp, zones)], timeout)
            result = "killed" if code is None else f"exit {code}: {err.splitlines()[-1][:160]}"
            rows.append(f"| cityrisk zonal | {zones} | {seconds:.2f} s | {rss:.0f} MB | {result} |")
            print(rows[-1], flush=True)
    os.makedirs(os.path.join(ROOT, "bench/results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench/results/repair.txt"), "a") as fh:
        fh.write(f"# {time.strftime('%Y-%m-%d %H:%M')} timeout {timeout:.0f} s, "
                 f"{LIMIT / 2**30:g} GB address space\n"
                 "| run | input | wall | peak RSS | result |\n|---|---|---|---|---|\n")
        fh.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
