"""End-to-end: the bad-input catalogue of issue 8 (tests/bad/README.md).

One small fixture per class of bad input lives in tests/bad/ (made by make_fixtures.py); those git
cannot hold (a missing file, a folder, an unreadable file, a folder that cannot be written) are
made here. CASES runs every command that takes that kind of input, in each role, and checks:

- the documented exit code;
- on failure: one error line, "cityrisk CMD: ..." and last on stderr (warnings may precede it),
  naming the file and matching the case's patterns (the row, feature or band and the problem);
  no other line, such as GDAL's raw "ERROR 1: ...";
- on success (input that is in fact acceptable): the warning or report line the case expects;
- that the output folder holds nothing new after a failure (no output, no hidden temporary
  ".NAME.*"), and only the output after a success;
- that the input fixtures are unchanged, byte for byte.

A file that is not readable, and a folder that is not writable, mean nothing to root: as root,
those commands run as nobody through setpriv (util-linux), or are skipped saying why. Nobody runs
a copy of the binary on copies of the fixtures in a world-readable temporary folder, so the
cases do not depend on where the checkout lives (root's home is mode 700).
"""
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from osgeo import gdal

from cliutil import CITYRISK

gdal.UseExceptions()

BAD = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bad"))
NOBODY = 65534


def bad(name):
    return os.path.join(BAD, name)


GOOD, ZONES, POINTS = bad("good.tif"), bad("zones.geojson"), bad("points.csv")

# Inputs made at run time: missing, a folder, unreadable (by nobody when root runs the test).
MISSING, FOLDER, UNREADABLE = "<missing>", "<folder>", "<unreadable>"
# and not files: a named pipe (which blocked for ever), a link to /dev/zero (read for ever)
FIFO, DEVICE = "<fifo>", "<device>"


# ---------------------------------------------------------------------------------------------
# How each command takes an input: role -> arguments for the input f, writing into folder o.


def out(o, name):
    return os.path.join(o, name)


def score(role):
    def args(f, o):
        layers = {k: GOOD for k in ("sea", "water", "informal", "arrivals", "population")}
        grid = f if role == "grid" else GOOD
        if role != "grid":
            layers[role] = f
        return ["score", *[a for k, v in layers.items() for a in (f"--{k}", v)], "--grid", grid,
                "-o", out(o, "exposure.tif")]
    return args


ROLES = {
    "info": lambda f, o: ["info", f],
    "info beside the good raster": lambda f, o: ["info", GOOD, f],
    "inundation --dem": lambda f, o: ["inundation", "--dem", f, "--sea-level", "1",
                                      "-o", out(o, "depth.tif")],
    "inundation --dem on --grid": lambda f, o: ["inundation", "--dem", f, "--grid", GOOD,
                                                "--sea-level", "1", "-o", out(o, "depth.tif")],
    "inundation --sea": lambda f, o: ["inundation", "--dem", GOOD, "--sea", f, "--sea-level", "1",
                                      "-o", out(o, "depth.tif")],
    **{f"score --{r}": score(r) for r in ("sea", "water", "informal", "arrivals", "population",
                                          "grid")},
    "zonal --exposure": lambda f, o: ["zonal", "--zones", ZONES, "--exposure", f,
                                      "-o", out(o, "zones.geojson")],
    "zonal --water": lambda f, o: ["zonal", "--zones", ZONES, "--water", f,
                                   "-o", out(o, "zones.geojson")],
    "zonal -r": lambda f, o: ["zonal", "--zones", ZONES, "--water", GOOD, "-r", f"v={f}",
                              "-o", out(o, "zones.geojson")],
    "map --raster": lambda f, o: ["map", "--raster", f, "-o", out(o, "map.png")],
    "map --raster with zones": lambda f, o: ["map", "--raster", f, "--zones", ZONES,
                                             "-o", out(o, "map.png")],
    "arrivals --grid": lambda f, o: ["arrivals", "--points", POINTS, "--count-field", "arrivals",
                                     "--grid", f, "-o", out(o, "arrivals.tif")],
    "arrivals --points": lambda f, o: ["arrivals", "--points", f, "--count-field", "arrivals",
                                       "--grid", GOOD, "-o", out(o, "arrivals.tif")],
    "arrivals --points (no count)": lambda f, o: ["arrivals", "--points", f, "--grid", GOOD,
                                                  "-o", out(o, "arrivals.tif")],
    "arrivals --points --where site_name": lambda f, o: [
        "arrivals", "--points", f, "--where", "site_name LIKE 'Cit%'", "--grid", GOOD,
        "-o", out(o, "arrivals.tif")],
    "zonal --zones": lambda f, o: ["zonal", "--zones", f, "--water", GOOD,
                                   "-o", out(o, "zones.geojson")],
    "map --zones": lambda f, o: ["map", "--raster", GOOD, "--zones", f, "-o", out(o, "map.png")],
    "zonal --zones -of GPKG": lambda f, o: ["zonal", "--zones", f, "--water", GOOD, "-of", "GPKG",
                                            "-o", out(o, "zones.gpkg")],
    "run": lambda f, o: ["run", f],
}

RASTER_READERS = ["inundation --dem", "inundation --sea", "score --sea", "score --water",
                  "score --informal", "score --arrivals", "score --population", "zonal --water",
                  "zonal -r", "map --raster"]
RASTER_OPENERS = ["info", *RASTER_READERS, "score --grid", "zonal --exposure", "arrivals --grid"]
VECTOR_OPENERS = ["info", "arrivals --points", "zonal --zones", "map --zones"]


class Case(NamedTuple):
    fixture: str        # a file of tests/bad, or MISSING, FOLDER, UNREADABLE
    role: str           # a key of ROLES
    code: int           # the exit code
    patterns: tuple     # regexes ({f} is the input's path) the error line must match; on
                        # success, the warning (stderr) or report (stdout) line
    kind: str = "tif"   # the runtime input's extension: tif, geojson, csv, json
    as_nobody: bool = False
    stream: str = "stderr"  # where a success's patterns are found: stderr or stdout


def cases(fixture, roles, code, *patterns, **kw):
    return [Case(fixture, r, code, patterns, **kw) for r in roles]


OPEN_FAILED = r"cannot open .*'{f}'"
CASES = [
    # ---- files that cannot be opened, whatever they hold
    *cases(MISSING, RASTER_OPENERS, 1, OPEN_FAILED + ": No such file or directory"),
    *cases(MISSING, VECTOR_OPENERS, 1, OPEN_FAILED + ": No such file or directory", kind="geojson"),
    *cases(MISSING, ["arrivals --points"], 1, OPEN_FAILED + ": No such file or directory",
           kind="csv"),
    *cases(MISSING, ["run"], 1, OPEN_FAILED + ": No such file or directory", kind="json"),
    *cases(FOLDER, RASTER_OPENERS, 3, OPEN_FAILED + ": it is a directory"),
    *cases(FOLDER, VECTOR_OPENERS, 3,
           OPEN_FAILED + ": (it is a directory|not a (raster or )?vector format GDAL can read)",
           kind="geojson"),
    *cases(FOLDER, ["info", "arrivals --points"], 3, OPEN_FAILED + ": it is a directory",
           kind="csv"),
    *cases(FOLDER, ["run"], 3, OPEN_FAILED + ": it is a directory", kind="json"),
    *[c for fixture, what in [(FIFO, "a named pipe"), (DEVICE, "a character device")]
      for kind, roles in [("tif", RASTER_OPENERS), ("geojson", VECTOR_OPENERS),
                          ("csv", ["info", "arrivals --points"]), ("json", ["run"])]
      for c in cases(fixture, roles, 3, OPEN_FAILED + rf": not a regular file \({what}\)",
                     kind=kind)],
    *cases(UNREADABLE, RASTER_OPENERS, 1, OPEN_FAILED + ": Permission denied", as_nobody=True),
    *cases(UNREADABLE, VECTOR_OPENERS, 1, OPEN_FAILED + ": Permission denied", kind="geojson",
           as_nobody=True),
    *cases(UNREADABLE, ["info", "arrivals --points"], 1, OPEN_FAILED + ": Permission denied",
           kind="csv", as_nobody=True),
    *cases(UNREADABLE, ["run"], 1, OPEN_FAILED + ": Permission denied", kind="json",
           as_nobody=True),
    *cases("zero_bytes.tif", RASTER_OPENERS, 3, OPEN_FAILED + ": the file is empty"),
    *cases("zero_bytes.csv", ["info", "arrivals --points", "zonal --zones", "map --zones"], 3,
           OPEN_FAILED + ": the file is empty"),
    *cases("zero_bytes.json", ["run"], 3, OPEN_FAILED + ": the file is empty"),
    *cases("text.tif", RASTER_OPENERS, 3,
           OPEN_FAILED + ": not a (raster|raster or vector) format GDAL can read"),
    # --sea takes a raster or a vector: GDAL's reason is kept either way
    *cases("not_json.geojson", [*VECTOR_OPENERS, "inundation --sea"], 3,
           OPEN_FAILED + ": Failed to read GeoJSON data"),
    *cases("not_json.json", ["run"], 3, r"pipeline '{f}' is not valid JSON"),

    # ---- rasters GDAL opens but that cannot be used
    *cases("truncated.tif", ["info", *RASTER_READERS], 1,
           r"cannot read raster '{f}'.*band 1.*(TIFFReadEncodedTile|IReadBlock)"),
    # arrivals takes only the grid's definition from --grid, never its cells
    Case("truncated.tif", "arrivals --grid", 0, ()),
    *cases("no_crs.tif", [*RASTER_READERS, "score --grid", "arrivals --grid"], 3,
           r"raster '{f}' has no CRS"),
    Case("no_crs.tif", "info", 0, (r"'{f}' has no CRS",), stream="stdout"),
    *cases("elsewhere.tif", ["inundation --dem on --grid", "inundation --sea", "score --sea",
                             "score --water", "score --informal", "score --arrivals",
                             "score --population", "zonal -r"], 3,
           r"raster '{f}' does not overlap the analysis grid: extent x 290000 \.\. 290240, "
           r"y 7505760 \.\. 7506000 against the grid's x 690000"),
    # zonal's grid is its first raster's: then the zones are what is elsewhere
    Case("elsewhere.tif", "zonal --water", 3,
         (r"zones '.*zones\.geojson' layer 'zones': none of the 2 zones overlaps the analysis grid "
          r"of '{f}'",)),
    Case("elsewhere.tif", "arrivals --grid", 3,
         (r"none of the 12 accepted records of .*points\.csv' lies in the grid", r"--src-crs")),
    Case("elsewhere.tif", "map --raster with zones", 3,
         (r"zones '.*zones\.geojson' layer 'zones' do not overlap raster '{f}'",)),
    Case("elsewhere.tif", "info beside the good raster", 0,
         (r"'{f}' does not overlap any other input",), stream="stdout"),
    # another place on its own is no error
    Case("elsewhere.tif", "inundation --dem", 0, ()),
    *cases("nan_inf.tif", RASTER_READERS[:-1], 3,
           r"raster '{f}' band 1: value inf at grid cell column 5, row 4 \(x 690165\.000, "
           r"y 7805865\.000\) is infinite; NaN counts as nodata"),
    Case("nan_inf.tif", "map --raster", 3, (r"raster '{f}' band 1: value inf near column 5, row 4 "
                                             r"is infinite",)),
    Case("nan_inf.tif", "info", 0, (r"'{f}' band 1 has 2 infinite cells",), stream="stdout"),
    *cases("nodata_zero.tif", ["score --sea", "score --water", "score --informal",
                               "score --arrivals", "score --population", "zonal --water"], 0,
           r"warning: \w+ raster '{f}' band 1 declares nodata 0, inside the range of its values"),
    # a DEM's nodata is sea and so is elevation 0; an -r raster has no known range
    *cases("nodata_zero.tif", ["inundation --dem", "zonal -r"], 0),
    *cases("huge.vrt", ["inundation --dem", "score --grid", "arrivals --grid"], 3,
           r"the 1000000 x 1000000 grid of '{f}' makes '.*' [\d.]+ GB uncompressed .* more than "
           r"the whole file system of '.*' \([\d.]+ GB\) and this machine's memory "
           r"\([\d.]+ GB\) hold"),
    Case("huge.vrt", "info", 0, (r"'{f}' has 1000000 x 1000000 cells \(4000 GB as Float32\): "
                                 r"its statistics are left out",), stream="stdout"),
    # a CRS that makes no grid (issue 16, point 20): only projected or geographic 2D ones do
    *[c for name, kind in [("geocentric.vrt", r"geocentric CRS \(WGS 84\)"),
                           ("vertical.vrt", r"vertical CRS \(EGM96 height\)")] for c in [
        *cases(name, ["inundation --dem", "score --grid", "arrivals --grid", "zonal --water"], 3,
               rf"raster '{{f}}' has a {kind}; a grid needs a projected or geographic 2D CRS"),
        # nor does it place a raster's cells on another's grid
        *cases(name, ["inundation --dem on --grid", "inundation --sea", "score --sea",
                      "score --water", "score --informal", "score --arrivals",
                      "score --population", "zonal -r"], 3,
               rf"raster '{{f}}' has a {kind}; only a projected or geographic 2D CRS places its "
               r"cells on the grid"),
        Case(name, "info", 0, ())]],

    # ---- CSV records
    *cases("bad_utf8.csv", ["arrivals --points --where site_name"], 3,
           r"CSV '{f}' line 4, column 'site_name': the value is not UTF-8 text \(byte 0xE9"),
    # a column no one reads may hold any bytes
    *cases("bad_utf8.csv", ["arrivals --points", "info"], 0),
    Case("dup_header.csv", "arrivals --points", 3,
         (r"CSV '{f}' line 1: columns 5 and 6 are both named 'arrivals', which this run reads "
          r"\(--count-field\)",)),
    Case("dup_header.csv", "arrivals --points (no count)", 0, ()),
    Case("dup_header.csv", "info", 0, (r"'{f}' line 1: columns 5 and 6 are both named 'arrivals'",),
         stream="stdout"),
    # no accepted record is exit 3 and nothing written, whatever the options (issue 18, point 9)
    Case("header_only.csv", "arrivals --points", 3,
         (r"'{f}' has no records: no arrivals to count; nothing was written",)),
    # decimal numbers only (issue 16, point 18): 0x10 and 0X2 are not counts, a C99
    # hexadecimal latitude is not a coordinate
    Case("hex_numbers.csv", "arrivals --points", 0,
         (r"warning: {f}: 2 records rejected: counts that are empty or not numbers "
          r"\(lines 2, 7\)", r"warning: {f}: 1 record rejected: coordinates that are not "
                              r"numbers \(line 4\)")),
    # two counts of 3e38 in one cell made +Inf (point 15): counts above 1e12 are rejected
    Case("huge_counts.csv", "arrivals --points", 0,
         (r"warning: {f}: 3 records rejected: counts above 1e\+12 \(lines 3, 5, 6\)",)),
    Case("header_only.csv", "info", 0, (r"'{f}' has no records, only a header",), stream="stdout"),

    # ---- vector layers
    Case("empty_layer.geojson", "arrivals --points", 3,
         (r"'{f}' has no records: no arrivals to count; nothing was written",)),
    Case("empty_layer.geojson", "zonal --zones", 3, (r"zones '{f}' layer 'empty_layer' have no "
                                                     r"features",)),
    Case("empty_layer.geojson", "map --zones", 3, (r"zones '{f}' layer 'empty_layer' hold no "
                                                   r"polygons",)),
    Case("empty_layer.geojson", "info", 0, (r"layer 'empty_layer' of '{f}' has no features",),
         stream="stdout"),
    *[c for name in ("null_geometry.geojson", "empty_geometry.geojson") for c in [
        Case(name, "zonal --zones", 0, (r"warning: zones '{f}': feature 1 has no geometry; its "
                                        r"statistics are null",)),
        Case(name, "map --zones", 0, (r"warning: zones '{f}' layer '\w+': 1 feature has no "
                                      r"polygon \(null, empty or not polygonal geometry\); not "
                                      r"drawn",)),
        Case(name, "arrivals --points", 3, (r"'{f}' layer '\w+' holds Polygon geometries; "
                                            r"arrivals wants points",))]],
    Case("self_intersecting.geojson", "zonal --zones", 0,
         (r"warning: zones '{f}': feature 1 is invalid \(Self-intersection.*\); repaired with "
          r"GEOS MakeValid",)),
    Case("self_intersecting.geojson", "map --zones", 0, ()),
    Case("points.geojson", "zonal --zones", 3, (r"zones '{f}': feature 0 is a Point; zones must "
                                                r"be polygons",)),
    Case("points.geojson", "map --zones", 3, (r"zones '{f}' layer 'points' hold no polygons",)),
    Case("points.geojson", "arrivals --points", 0, ()),
    Case("zones.geojson", "arrivals --points", 3, (r"'{f}' layer 'zones' holds Polygon "
                                                   r"geometries; arrivals wants points",)),
    *cases("no_crs_zones.fgb", ["zonal --zones", "map --zones"], 3,
           r"zones '{f}' layer 'no_crs_zones' have no CRS"),
    Case("no_crs_zones.fgb", "info", 0, (r"'{f}' has no CRS",), stream="stdout"),
    Case("no_crs_points.fgb", "arrivals --points", 3,
         (r"'{f}' layer 'no_crs_points' has no CRS; give it with --src-crs",)),
    Case("elsewhere.geojson", "zonal --zones", 3,
         (r"zones '{f}' layer 'elsewhere': none of the 1 zones overlaps the analysis grid",)),
    Case("elsewhere.geojson", "map --zones", 3,
         (r"zones '{f}' layer 'elsewhere' do not overlap raster '.*good\.tif'",)),

    # ---- numbers and messages (issue 16)
    *cases("float64_beyond_float32.tif", RASTER_READERS[1:-1], 3,
           r"raster '{f}' band 1: value 1e\+39 at grid cell column 5, row 4 \(x 690165\.000, "
           r"y 7805865\.000\) exceeds the Float32 range"),
    Case("float64_beyond_float32.tif", "map --raster", 3,
         (r"raster '{f}' band 1: value 1e\+39 near column 5, row 4 exceeds the Float32 range",)),
    # elevations are read in Float64
    *cases("float64_beyond_float32.tif", ["inundation --dem", "info"], 0),
    *cases("nan_geotransform.vrt", [r for r in RASTER_OPENERS if r not in ("info", "zonal --exposure")],
           3, r"raster '{f}' has an invalid geotransform \(origin nan, 7806000; cell size 30 x -30\): "
              r"its values must be finite numbers"),
    Case("nan_geotransform.vrt", "info", 0,
         (r"'{f}' has an invalid geotransform \(origin nan, 7806000; cell size 30 x -30\)",),
         stream="stdout"),
    # libtiff warns at every read of the directory, on every thread: printed once
    *cases("cut_tag.tif", ["info", *RASTER_READERS], 0,
           r"warning: GDAL: .*TIFFFetchNormalTag:IO error during reading of \"GDALMetadata\"",
           r"\A(?![\s\S]*GDALMetadata[\s\S]*GDALMetadata)"),
    Case("unclosed_ring.geojson", "zonal --zones", 3,
         (r"zones '{f}': feature 0: GEOS cannot read the geometry: .*closed linestring",)),
    Case("unclosed_ring.geojson", "map --zones", 0,
         (r"warning: GDAL: Non closed ring detected", r"\A(?![\s\S]*Non closed[\s\S]*Non closed)")),
    # ---- zones that cost more than they cover (issue 16)
    Case("zig_zag.geojson", "zonal --zones", 0,
         (r"warning: zones '{f}': feature 0 is invalid \(Ring Self-intersection.*\); repaired "
          r"with GEOS MakeValid",)),
    Case("zig_zag.geojson", "map --zones", 0, ()),
    Case("many_crossings.geojson", "zonal --zones", 0,
         (r"warning: zones '{f}': feature 0 is invalid \(Self-intersection.*\) and crosses itself "
          r"more than 20000 times; simplified from 10001 to \d+ vertices, then repaired with GEOS "
          r"MakeValid",)),
    Case("many_crossings.geojson", "map --zones", 0, ()),
    Case("world.geojson", "zonal --zones", 0, (r"1 zones \(0 repaired, 0 without data\)",)),
    Case("nan_coordinate.geojson", "zonal --zones", 3,
         (r"zones '{f}': feature 0 has a coordinate that is not a finite number \(Invalid "
          r"Coordinate\[nan 7805940\]\)",)),
    Case("nan_coordinate.geojson", "map --zones", 0, ()),
    Case("case_fields.geojson", "zonal --zones -of GPKG", 0,
         (r"warning: zones '{f}': field 'name' is written as 'name1' \(GPKG field names ignore "
          r"case\)",)),
    Case("case_fields.geojson", "zonal --zones", 0, ()),
]


# ---------------------------------------------------------------------------------------------
# Running


def digest(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def fixture_digests():
    return {n: digest(bad(n)) for n in sorted(os.listdir(BAD))}


class NobodysCopy:
    """What nobody must read, copied where nobody can: the checkout may live in a folder others
    cannot enter (root's home, mode 700, as in many containers), so the binary and the
    fixtures of tests/bad are copied once into a world-readable temporary folder, and the
    arguments of a command run as nobody point there instead."""

    folder = None

    @classmethod
    def prepare(cls):
        if cls.folder is None:
            cls.folder = tempfile.mkdtemp(prefix="cityrisk-bad-nobody-")
            os.chmod(cls.folder, 0o755)
            shutil.copytree(BAD, os.path.join(cls.folder, "bad"))
            shutil.copy(CITYRISK, os.path.join(cls.folder, "cityrisk"))
            for root, dirs, files in os.walk(cls.folder):
                for d in dirs:
                    os.chmod(os.path.join(root, d), 0o755)
                for f in files:
                    os.chmod(os.path.join(root, f), 0o644)
            os.chmod(os.path.join(cls.folder, "cityrisk"), 0o755)
        return cls.folder

    @classmethod
    def remove(cls):
        if cls.folder is not None:
            shutil.rmtree(cls.folder, ignore_errors=True)
            cls.folder = None

    @classmethod
    def command(cls, args):
        folder = cls.prepare()
        copy = os.path.join(folder, "bad")
        moved = [copy + a[len(BAD):] if a == BAD or a.startswith(BAD + os.sep) else a
                 for a in args]
        return [os.path.join(folder, "cityrisk"), *moved]


def cityrisk(args, as_nobody=False):
    """Runs cityrisk (as nobody through setpriv when asked); returns (code, stdout, stderr)."""
    command = [CITYRISK, *args]
    if as_nobody and os.geteuid() == 0:
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                   *NobodysCopy.command(args)]
    proc = subprocess.run(command, capture_output=True, text=True, errors="replace",
                          timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def nobody_unavailable():
    """Why commands cannot run as nobody, or None when they can (or need not)."""
    if os.geteuid() != 0:
        return None
    if not shutil.which("setpriv"):
        return "running as root without setpriv (util-linux): permissions cannot be tested"
    try:
        code, _, err = cityrisk(["--version"], as_nobody=True)
    except OSError as e:
        return f"setpriv cannot run cityrisk as nobody: {e}"
    if code != 0:
        return f"nobody cannot run {CITYRISK}: {err.strip()}"
    return None


class BadInputCase(unittest.TestCase):
    """A fresh folder per case, writable by nobody: its inputs and its output folder."""

    @classmethod
    def setUpClass(cls):
        cls.before = fixture_digests()
        cls.nobody = nobody_unavailable()

    @classmethod
    def tearDownClass(cls):
        # Nothing read a fixture for writing, nor left anything (an .aux.xml) beside them,
        # nor beside nobody's copies of them.
        assert fixture_digests() == cls.before, "tests/bad changed"
        if NobodysCopy.folder is not None:
            copy = os.path.join(NobodysCopy.folder, "bad")
            copies = {n: digest(os.path.join(copy, n)) for n in sorted(os.listdir(copy))}
            NobodysCopy.remove()
            assert copies == cls.before, "nobody's copy of tests/bad changed"

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="cityrisk-bad-")
        self.tmp = self._tmp.name
        os.chmod(self.tmp, 0o777)

    def tearDown(self):
        for root, dirs, _ in os.walk(self.tmp):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o777)
        self._tmp.cleanup()

    def folder(self, name, mode=0o777):
        path = os.path.join(self.tmp, name)
        os.mkdir(path)
        os.chmod(path, mode)
        return path

    def runtime_input(self, case, where):
        """The input of a case made at run time, in folder where."""
        path = os.path.join(where, f"input.{case.kind}")
        if case.fixture == FOLDER:
            os.mkdir(path)
        elif case.fixture in (FIFO, DEVICE):
            os.mkfifo(path) if case.fixture == FIFO else os.symlink("/dev/zero", path)
        elif case.fixture == UNREADABLE:
            source = {"tif": GOOD, "geojson": ZONES, "csv": POINTS}.get(case.kind)
            if source:
                shutil.copy(source, path)
            else:
                with open(path, "w") as fh:
                    json.dump({"stages": []}, fh)
            os.chmod(path, 0)
        return path

    @staticmethod
    def execute(args, folder, as_nobody=False):
        """Runs args; returns (code, stdout, stderr, the folder's files before, after)."""
        before = sorted(os.listdir(folder))
        rc, stdout, stderr = cityrisk(args, as_nobody)
        return rc, stdout, stderr, before, sorted(os.listdir(folder))

    def check(self, args, code, patterns, folder, stream="stderr", as_nobody=False, shown=None,
              result=None):
        """Runs args (or takes the result of execute()) and checks the exit code, the message,
        and that folder holds only the output after a success and nothing new after a
        failure."""
        rc, stdout, stderr, before, after = result or self.execute(args, folder, as_nobody)
        label = " ".join(args)
        self.assertEqual(rc, code, f"{label}: exit {rc}\nstderr: {stderr}")
        lines = [l for l in stderr.splitlines() if l.strip()]
        for line in lines:   # no raw GDAL, GEOS or sanitizer text
            self.assertTrue(line.startswith("cityrisk "), f"{label}: stray stderr line {line!r}")
        hidden = [n for n in after if n.startswith(".")]
        self.assertEqual(hidden, [], f"{label}: temporary files left")
        if code != 0:
            self.assertTrue(lines, f"{label}: no message")
            error = lines[-1]
            self.assertRegex(error, rf"^cityrisk {args[0]}: ", label)
            self.assertNotIn(" warning: ", error, label)
            if shown:
                self.assertIn(shown, error, f"{label}: the message does not name the file")
            for p in patterns:
                self.assertRegex(error, p, label)
            self.assertEqual(after, before, f"{label}: output left after a failure")
        else:
            text = stdout if stream == "stdout" else stderr
            for p in patterns:
                self.assertRegex(text, p, label)
            if args[0] not in ("info", "run"):
                made = sorted(set(after) - set(before))
                self.assertEqual(len(made), 1, f"{label}: not one output: {after}")
                # a valid file, which GDAL opens
                self.assertIsNotNone(gdal.OpenEx(os.path.join(folder, made[0])), label)
        return stdout, stderr


class Catalogue(BadInputCase):
    def prepare(self, number, case):
        """The case's input and output folder; returns (input path, output folder, args)."""
        work, outputs = self.folder(f"case-{number}"), self.folder(f"case-{number}/out")
        path = self.runtime_input(case, work) if case.fixture.startswith("<") else bad(case.fixture)
        return path, outputs, ROLES[case.role](path, outputs)

    def test_every_case(self):
        runnable = [(n, c) for n, c in enumerate(CASES) if not (c.as_nobody and self.nobody)]
        prepared = {n: self.prepare(n, c) for n, c in runnable}
        # The commands are independent processes: run them a few at a time.
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            results = dict(zip(prepared, pool.map(
                lambda n: self.execute(prepared[n][2], prepared[n][1], CASES[n].as_nobody),
                prepared)))
        for number, case in enumerate(CASES):
            with self.subTest(fixture=case.fixture, role=case.role):
                if number not in results:
                    self.skipTest(self.nobody)
                path, outputs, args = prepared[number]
                patterns = [p.replace("{f}", re.escape(path)) for p in case.patterns]
                self.check(args, case.code, patterns, outputs, case.stream, shown=path,
                           result=results[number])
                if os.path.isfile(path) and not case.fixture.startswith("<"):
                    self.assertEqual(digest(path), self.before[case.fixture], "input changed")


class Grids(BadInputCase):
    """A grid request so large it cannot be held: refused before any work, with its size."""

    def test_resolution_too_fine(self):
        o = self.folder("out")
        base = ["arrivals", "--points", POINTS, "--crs", "EPSG:32736",
                "--bounds", "690000,7790000,720000,7820000", "-o", out(o, "a.tif")]
        self.check([*base, "--resolution", "0.05"], 2,
                   [r"the 600000 x 600000 grid makes '.*a\.tif' [\d.]+ GB uncompressed .* more "
                    r"than the whole file system"], o)
        self.check([*base, "--resolution", "0.001"], 2,
                   [r"grid of 30000000 x 30000000 cells is too large \(at most 1000000 per side\)"],
                   o)


class Dialects(BadInputCase):
    """CSV that is valid, though not plain: read as the plain file is (as GDAL's CSV driver
    reads them, and RFC 4180 defines quoting)."""

    KEYS = ["records_read", "records_accepted", "records_rejected", "arrivals_total",
            "arrivals_in_grid", "raster_sum", "date_range"]

    def arrivals(self, name):
        o = self.folder(name)
        target = out(o, "arrivals.tif")
        stdout, _ = self.check(["arrivals", "--points", bad(name), "--count-field", "arrivals",
                                "--date-field", "date", "--grid", GOOD, "--json", "-o", target],
                               0, [], o)
        summary = json.loads(stdout)
        ds = gdal.Open(target)
        cells = ds.GetRasterBand(1).ReadAsArray().tolist()
        return {k: summary[k] for k in self.KEYS}, cells

    def info(self, name):
        stdout, _ = self.check(["info", "--json", bad(name)], 0, [], self.tmp)
        layer = json.loads(stdout)["inputs"][0]["layers"][0]
        return {k: layer[k] for k in ("feature_count", "fields", "coordinates", "extent")}

    def test_same_records_as_the_plain_file(self):
        plain, plain_cells = self.arrivals("points.csv")
        self.assertEqual(plain["records_accepted"], 12)
        plain_info = self.info("points.csv")
        for name in ("bom.csv", "crlf.csv", "semicolon.csv", "quoted.csv"):
            with self.subTest(name=name):
                summary, cells = self.arrivals(name)
                self.assertEqual(summary, plain)
                self.assertEqual(cells, plain_cells)
                self.assertEqual(self.info(name), plain_info)


class Outputs(BadInputCase):
    """The output's folder missing or not writable, and an output that is an input, for every
    command that writes."""

    def writers(self, inputs, o):
        """Each writing command with its inputs in folder `inputs` (copies) and its output
        in o."""
        dem, zones = out(inputs, "dem.tif"), out(inputs, "zones.geojson")
        return {
            "inundation": ["inundation", "--dem", dem, "--sea-level", "1", "-o", out(o, "d.tif")],
            "arrivals": ["arrivals", "--points", POINTS, "--grid", dem, "-o", out(o, "a.tif")],
            "score": ["score", "--sea", dem, "--water", dem, "--informal", dem, "--arrivals", dem,
                      "-o", out(o, "e.tif")],
            "zonal": ["zonal", "--zones", zones, "--water", dem, "-o", out(o, "z.geojson")],
            "map": ["map", "--raster", dem, "--zones", zones, "-of", "png", "-o", out(o, "m.png")],
        }

    def copies(self):
        inputs = self.folder("inputs")
        shutil.copy(GOOD, out(inputs, "dem.tif"))
        shutil.copy(ZONES, out(inputs, "zones.geojson"))
        return inputs

    def test_folder_missing(self):
        inputs = self.copies()
        missing = os.path.join(self.tmp, "nowhere")
        for command, args in self.writers(inputs, missing).items():
            with self.subTest(command=command):
                self.check(args, 1, [rf"cannot write '.*': folder '{re.escape(missing)}' does not "
                                     r"exist"], inputs)
                self.assertFalse(os.path.exists(missing))

    def test_folder_not_writable(self):
        if self.nobody:
            self.skipTest(self.nobody)
        inputs = self.copies()
        locked = self.folder("locked", 0o555)
        for command, args in self.writers(inputs, locked).items():
            with self.subTest(command=command):
                self.check(args, 1, [rf"cannot write '.*': folder '{re.escape(locked)}' is not "
                                     r"writable"], locked, as_nobody=True)

    def test_output_is_an_input(self):
        inputs = self.copies()
        dem, zones = out(inputs, "dem.tif"), out(inputs, "zones.geojson")
        same = {"inundation": dem, "arrivals": dem, "score": dem, "zonal": zones, "map": dem}
        for command, args in self.writers(inputs, inputs).items():
            args = [*args[:-1], same[command]]
            for extra in ([], ["--overwrite"]):
                with self.subTest(command=command, overwrite=bool(extra)):
                    self.check([*args, *extra], 2,
                               [rf"output '{re.escape(same[command])}' is the input "
                                rf"'{re.escape(same[command])}'"], inputs)
        self.assertEqual(digest(dem), digest(GOOD))
        self.assertEqual(digest(zones), digest(ZONES))


class WrittenFiles(BadInputCase):
    """Every file a command writes (the output, a Shapefile's other files, the arrivals report,
    QGIS styles) is known before any work: checked against every input, against each other and
    against existing files without --overwrite (issue 16)."""

    def zonal(self, o, *extra):
        return ["zonal", "--zones", ZONES, "--water", GOOD, *extra]

    def test_shapefile_files_that_exist(self):
        o = self.folder("out")
        for name in ("s.dbf", "s.prj", "s.shx", "s.cpg", "s.qix"):
            with self.subTest(existing=name):
                with open(out(o, name), "w") as fh:
                    fh.write("mine")
                self.check([*self.zonal(o), "-of", "ESRI Shapefile", "-o", out(o, "s.shp")], 4,
                           [rf"output '{re.escape(out(o, name))}' \(a file of "
                            rf"'{re.escape(out(o, 's.shp'))}'\) exists; use --overwrite"], o)
                with open(out(o, name)) as fh:
                    self.assertEqual(fh.read(), "mine")
                os.remove(out(o, name))

    def test_shapefile_overwrite_leaves_no_stale_file(self):
        """With --overwrite the files of the old Shapefile that the new one does not have (a
        spatial index of other features) go, as GDAL's own overwrite removes them."""
        o = self.folder("out")
        for name in ("s.shp", "s.qix", "s.cpg"):
            with open(out(o, name), "w") as fh:
                fh.write("old")
        rc, _, err = cityrisk([*self.zonal(o), "-of", "ESRI Shapefile", "-o", out(o, "s.shp"),
                               "--overwrite"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(os.listdir(o)), ["s.dbf", "s.fields.csv", "s.prj", "s.shp", "s.shx"])
        ds = gdal.OpenEx(out(o, "s.shp"))
        self.assertEqual(ds.GetLayer(0).GetFeatureCount(), 2)

    def test_a_shapefile_is_named_shp(self):
        o = self.folder("out")
        self.check([*self.zonal(o), "-of", "ESRI Shapefile", "-o", out(o, "t.out")], 2,
                   [r"a Shapefile is named NAME\.shp"], o)

    def test_csv_under_any_name_is_one_file(self):
        """GDAL's CSV driver writes a folder of layers for a name without .csv; zonal writes the
        file it was asked for, and a rerun replaces it with --overwrite."""
        o = self.folder("out")
        target = out(o, "x.out")
        for extra, code in (([], 0), ([], 4), (["--overwrite"], 0)):
            rc, _, err, before, after = self.execute([*self.zonal(o), "-of", "CSV", *extra,
                                                      "-o", target], o)
            self.assertEqual(rc, code, err)
            self.assertTrue(os.path.isfile(target), err)
            self.assertEqual(after, ["x.out"])
            if code == 0:
                self.assertIn(f"written to {target}", err)
        ds = gdal.OpenEx(f"CSV:{target}")
        self.assertEqual(ds.GetLayer(0).GetFeatureCount(), 2)

    def test_each_written_file_against_each_input(self):
        inputs = self.folder("inputs")
        grid, dem_qml = out(inputs, "g.tif"), out(inputs, "d.qml")
        shutil.copy(GOOD, grid)
        shutil.copy(GOOD, dem_qml)
        shp = out(inputs, "z.shp")
        gdal.VectorTranslate(shp, ZONES, format="ESRI Shapefile")
        cases = {
            # the report is the grid
            "report": (["arrivals", "--points", POINTS, "--count-field", "arrivals", "--grid", grid,
                        "--report", grid, "-o", out(inputs, "a.tif")], grid, "report"),
            # the style of d.tif is the DEM d.qml
            "style": (["inundation", "--dem", dem_qml, "--sea-level", "1", "--qml",
                       "-o", out(inputs, "d.tif")], dem_qml, "QGIS style"),
            # a CSV over the .dbf of the zones' Shapefile
            "sidecar of an input": (["zonal", "--zones", shp, "--water", GOOD, "-of", "CSV",
                                     "-o", out(inputs, "z.dbf")], out(inputs, "z.dbf"), "output"),
        }
        for name, (args, victim, role) in cases.items():
            for extra in ([], ["--overwrite"]):
                with self.subTest(name, overwrite=bool(extra)):
                    before = digest(victim)
                    self.check([*args, *extra], 2, [rf"{role} '{re.escape(victim)}' is the input"],
                               inputs)
                    self.assertEqual(digest(victim), before)

    def test_two_written_files_the_same(self):
        o = self.folder("out")
        self.check(["arrivals", "--points", POINTS, "--grid", GOOD, "--qml", "--report",
                    out(o, "a.qml"), "-o", out(o, "a.tif")], 2,
                   [rf"'{re.escape(out(o, 'a.qml'))}' would be written twice \(as the report and "
                    r"as the QGIS style\)"], o)

    def test_rasters_do_not_go_to_standard_output(self):
        o = self.folder("out")
        for args in (["inundation", "--dem", GOOD, "--sea-level", "1"],
                     ["arrivals", "--points", POINTS, "--grid", GOOD],
                     ["score", *[a for k in ("sea", "water", "informal", "arrivals")
                                 for a in (f"--{k}", GOOD)]]):
            with self.subTest(args[0]):
                proc = subprocess.run([CITYRISK, *args, "-o", "-"], capture_output=True, text=True,
                                      cwd=o, timeout=120)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertRegex(proc.stderr.strip(), rf"^cityrisk {args[0]}: a raster cannot be "
                                                      r"written to standard output \(-o -\)")
                self.assertEqual(proc.stdout, "")
                self.assertEqual(os.listdir(o), [])


class Pipelines(BadInputCase):
    def test_stage_with_a_bad_input(self):
        """The stage's own message names the file; run's last line names the stage."""
        path = os.path.join(self.tmp, "p.json")
        with open(path, "w") as fh:
            json.dump({"stages": [{"stage": "inundation", "dem": bad("text.tif"), "sea-level": 1,
                                   "output": "out/depth.tif"}]}, fh)
        o = self.folder("out")
        rc, _, stderr = cityrisk(["run", path])
        self.assertEqual(rc, 3, stderr)
        lines = stderr.splitlines()
        self.assertRegex(lines[-2], rf"^cityrisk inundation: cannot open raster "
                                    rf"'{re.escape(bad('text.tif'))}': not a raster format")
        self.assertRegex(lines[-1], r"^cityrisk run: stage inundation failed \(exit 3\)")
        self.assertEqual(os.listdir(o), [])


if __name__ == "__main__":
    unittest.main()
