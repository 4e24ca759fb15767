#!/usr/bin/python3
"""Interrupting long writes: cityrisk against gdal_translate and gdalwarp.

    bench/interrupt.py [SIZE]        (default 10000: bench/work/SIZE/dem.tif, made by gen.sh)

Each contender writes a Cloud-Optimized GeoTIFF from the generated DEM over an earlier output
of the same name, and gets SIGINT (then, in a second round, SIGTERM) after DELAYS seconds. For
each run it records: the exit status, the latency from the signal to the process's exit, whether
the earlier output is still the same file, byte for byte, and what files were left behind in the
output folder (partial outputs, temporary files).

- cityrisk inundation --dem DEM --sea-level 1,2,3 -o depth.tif
- gdal_translate -of COG DEM out.tif
- gdalwarp -of COG -t_srs EPSG:3857 DEM out.tif

Results are printed as a table and appended to bench/results/interrupt-demSIZE.txt.

DELAYS    seconds after the start to send the signal (default "1 3 6")
CITYRISK  the cityrisk binary (default build/release/cli/cityrisk)
"""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def contenders(dem, cityrisk):
    return {
        "cityrisk inundation": lambda out: [cityrisk, "inundation", "--dem", dem, "--sea-level",
                                            "1,2,3", "-o", out, "--overwrite", "-q"],
        "gdal_translate -of COG": lambda out: ["gdal_translate", "-q", "-of", "COG", dem, out],
        "gdalwarp -of COG": lambda out: ["gdalwarp", "-q", "-overwrite", "-of", "COG", "-t_srs",
                                         "EPSG:3857", dem, out],
    }


def one_run(argv_for, folder, signo, delay):
    """Runs one contender over an earlier output and interrupts it; returns a result dict."""
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    out = os.path.join(folder, "out.tif")
    with open(out, "wb") as f:  # the earlier output: any bytes will do, they must survive
        f.write(b"earlier output\n" * 1000)
    before = digest(out)
    start = time.monotonic()
    proc = subprocess.Popen(argv_for(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        proc.wait(timeout=delay)
        finished_first = True
    except subprocess.TimeoutExpired:
        finished_first = False
    latency = None
    if not finished_first:
        sent = time.monotonic()
        proc.send_signal(signo)
        proc.wait()
        latency = time.monotonic() - sent
    err = proc.stderr.read().decode(errors="replace").strip().splitlines()
    rc = proc.returncode
    left = sorted(n for n in os.listdir(folder) if n != "out.tif")
    kept = os.path.exists(out) and digest(out) == before
    return {
        "status": ("finished before the signal" if finished_first else
                   f"exit {rc}" if rc >= 0 else f"killed by {signal.Signals(-rc).name}"),
        "latency": latency, "elapsed": time.monotonic() - start, "kept": kept,
        "left": left, "message": err[-1] if err else "",
    }


def main():
    size = sys.argv[1] if len(sys.argv) > 1 else "10000"
    dem = os.path.join(ROOT, "bench", "work", size, "dem.tif")
    if not os.path.exists(dem):
        subprocess.run([os.path.join(ROOT, "bench", "gen.sh"), size], check=True)
    cityrisk = os.environ.get("CITYRISK", os.path.join(ROOT, "build", "release", "cli", "cityrisk"))
    delays = [float(d) for d in os.environ.get("DELAYS", "1 3 6").split()]
    work = os.path.join(ROOT, "bench", "work", size, "interrupt")
    lines = [f"# bench/interrupt.py {size}: {dem}, {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}",
             "contender\tsignal\tdelay_s\tstatus\tlatency_s\tearlier_output_kept\tleft_behind\tlast_message"]
    for name, argv_for in contenders(dem, cityrisk).items():
        for signo in (signal.SIGINT, signal.SIGTERM):
            for delay in delays:
                r = one_run(argv_for, work, signo, delay)
                latency = f"{r['latency']:.2f}" if r["latency"] is not None else "-"
                line = "\t".join([name, signo.name, f"{delay:g}", r["status"], latency,
                                  "yes" if r["kept"] else "NO", ",".join(r["left"]) or "-",
                                  r["message"][:120]])
                print(line, flush=True)
                lines.append(line)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", f"interrupt-dem{size}.txt"), "a") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
