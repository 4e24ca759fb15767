"""End-to-end: `cityrisk score`, checked cell by cell against references computed in the test.

Every fixture is a small Float32 raster written by the test in its temporary folder (6 x 5 cells
of 30 m in EPSG:32736, nodata -9999, unless a test is about another grid), so that values can be
checked by hand. Expected indicators, scores, classes and uplifts come from numpy evaluations of
the formulas of SCORING.md sections 2-4, written here from the specification:

  sea       min(1, d / sea_depth_full), or [d > 0] with --sea-binary
  water     b / 5, or clamp(log2(r / 0.1) + 1, 0, 5) / 5 with --water-input ratio
  informal  v, v / 100 (percent), [v > 0] (binary)
  arrivals  min(1, log1p(a) / log1p(a_ref)), or min(1, a / a_ref); a_ref the 99th percentile
            (numpy's linear) of the cells with a > 0 unless --arrivals-ref
  geometric   S = 10 (prod (1 + 9 c_i)^w_i - 1) / 9
  arithmetic  S = 10 sum w_i c_i
  inform      S = 10 (H c_arrivals c_informal)^(1/3), H = 1 - (prod (10 - 9 h)^(1/n) - 1) / 9
  classes   INFORM's breaks 2, 3.5, 5, 6.5, a score on a break in the upper class
  uplift    r = 0.1 2^(b - 1), r' = r (1 + s a / p), clamp(log2(r' / 0.1) + 1, 0, 5) - b

Inputs on other grids are compared with GDAL's own warp of the same input onto the same grid
(gdalwarp -of VRT), see warp_onto().
"""
import json
import math
import os
import resource
import subprocess
import unittest

import numpy as np
from osgeo import gdal, ogr, osr

from cliutil import CITYRISK, CliTestCase, asan_build, run, sample
from polyref import fine_reference, write_polygons

gdal.UseExceptions()

NODATA = -9999.0
UTM36S = 32736
X0, Y0, CELL = 700000.0, 7800150.0, 30.0   # the grid's top-left corner, UTM 36S
ROWS, COLS = 5, 6
INDICATORS = ["sea", "water", "informal", "arrivals"]
ALL_BANDS = ["score", "class", "sea", "water", "informal", "arrivals"]
DEFAULT_WEIGHTS = {"sea": 0.30, "water": 0.20, "informal": 0.25, "arrivals": 0.25}
INFORM_BREAKS = [2.0, 3.5, 5.0, 6.5]
INFORM_NAMES = ["Very Low", "Low", "Medium", "High", "Very High"]
YLORRD5 = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]


# ---------------------------------------------------------------------------------------------
# Rasters


def srs_of(epsg):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s


def write_raster(path, array, nodata=NODATA, origin=(X0, Y0), cell=CELL, epsg=UTM36S,
                 scenarios=None):
    """Writes array (2-D, or 3-D for several bands; NaN = nodata) as a Float32 GeoTIFF;
    scenarios gives each band's SCENARIO metadata. Returns path."""
    values = np.asarray(array, dtype=np.float64)
    if values.ndim == 2:
        values = values[None]
    bands, rows, cols = values.shape
    ds = gdal.GetDriverByName("GTiff").Create(path, cols, rows, bands, gdal.GDT_Float32)
    cx, cy = (cell, cell) if np.isscalar(cell) else cell
    ds.SetGeoTransform((origin[0], cx, 0.0, origin[1], 0.0, -cy))
    ds.SetSpatialRef(srs_of(epsg))
    for b in range(bands):
        band = ds.GetRasterBand(b + 1)
        if nodata is not None:
            band.SetNoDataValue(nodata)
        band.WriteArray(np.where(np.isnan(values[b]), nodata, values[b]).astype(np.float32))
        if scenarios:
            band.SetMetadataItem("SCENARIO", scenarios[b])
            band.SetDescription(f"{scenarios[b]} depth")
    ds = None
    return path


def f32(array):
    """What a Float32 raster stores of array, as float64 (NaN kept)."""
    return np.asarray(array, dtype=np.float32).astype(np.float64)


def read_output(testcase, path):
    """Reads the output; asserts Float32 bands with nodata -9999 described by their names.
    Returns ({band name: float64 array, NaN where nodata}, dataset)."""
    ds = gdal.Open(path)
    bands = {}
    for b in range(1, ds.RasterCount + 1):
        band = ds.GetRasterBand(b)
        name = band.GetDescription()
        testcase.assertEqual(band.DataType, gdal.GDT_Float32, name)
        testcase.assertEqual(band.GetNoDataValue(), NODATA, name)
        values = band.ReadAsArray().astype(np.float64)
        testcase.assertFalse(np.isnan(values).any(), f"{name}: NaN stored instead of nodata")
        values[values == NODATA] = np.nan
        testcase.assertNotIn(name, bands, "two bands with one description")
        bands[name] = values
    return bands, ds


def band_names(path):
    ds = gdal.Open(path)
    return [ds.GetRasterBand(b).GetDescription() for b in range(1, ds.RasterCount + 1)]


def grid_bounds(origin=(X0, Y0), cell=CELL, rows=ROWS, cols=COLS):
    return (origin[0], origin[1] - rows * cell, origin[0] + cols * cell, origin[1])


def warp_onto(path, alg, bounds, width, height, epsg=UTM36S):
    """path warped by GDAL onto the grid (bounds, width x height, epsg) with resampling alg,
    as `gdalwarp -of VRT -r alg -wt Float64 -dstnodata nan` and a read of the VRT: the way
    cityrisk reads a raster off the grid (a warped VRT, GDAL's default transformer
    approximation of 0.125 source pixels). Float64 array, NaN where no value.

    Warped in one chunk instead (gdalwarp -of MEM), the approximation is made along whole rows
    rather than along the VRT's 512 x 128 blocks, and the sample city's water indicator then
    differs from cityrisk's by up to 1.8e-4 (9e-4 Aqueduct points; 1.3e-4 even with -et 0)
    with 14 cells valid in one and not the other near the nodata, and the summed residents
    by up to 1.5 per cell; read through the VRT they agree to float32 precision."""
    vrt = f"/vsimem/score-warp-{os.getpid()}.vrt"
    ds = gdal.Warp(vrt, path, format="VRT", dstSRS=f"EPSG:{epsg}", outputBounds=bounds,
                   width=width, height=height, resampleAlg=alg, workingType=gdal.GDT_Float64,
                   outputType=gdal.GDT_Float32, dstNodata=float("nan"))
    values = ds.GetRasterBand(1).ReadAsArray().astype(np.float64)
    ds = None
    gdal.Unlink(vrt)
    return values


# ---------------------------------------------------------------------------------------------
# The model, from SCORING.md


def normalise(raw, *, sea_depth_full=1.0, sea_binary=False, water_ratio=False,
              settlement="fraction", arrivals_ref=None, arrivals_linear=False):
    """Indicators 0-1 from raw layer values (dict of float64 arrays, NaN = nodata), values
    clamped into their range first. Returns (indicators, a_ref)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.maximum(raw["sea"], 0)
        sea = (d > 0).astype(float) if sea_binary else np.minimum(1.0, d / sea_depth_full)
        if water_ratio:
            r = np.maximum(raw["water"], 0)
            b = np.where(r > 0, np.clip(np.log2(r / 0.1) + 1, 0, 5), 0.0)
        else:
            b = np.clip(raw["water"], 0, 5)
        v = raw["informal"]
        informal = {"fraction": np.clip(v, 0, 1), "percent": np.clip(v, 0, 100) / 100,
                    "binary": (v > 0).astype(float)}[settlement]
        a = np.maximum(raw["arrivals"], 0)
        if arrivals_ref is None:
            arrivals_ref = a_ref_of(raw["arrivals"])
        if arrivals_linear:
            arr = np.minimum(1.0, a / arrivals_ref)
        else:
            arr = np.minimum(1.0, np.log1p(a) / np.log1p(arrivals_ref))
    c = {"sea": sea, "water": b / 5, "informal": informal, "arrivals": arr}
    for name in INDICATORS:   # nodata stays nodata (the comparisons above made it 0)
        c[name] = np.where(np.isnan(raw[name]), np.nan, c[name])
    return c, arrivals_ref


def a_ref_of(arrivals):
    a = arrivals[~np.isnan(arrivals)]
    return float(np.percentile(a[a > 0], 99))


def norm_weights(weights):
    total = sum(weights.values())
    return {k: weights.get(k, 0.0) / total for k in INDICATORS}


def score_of(method, c, weights=None, renormalise=False):
    """(score, indicators present) per cell; NaN where no score."""
    w = norm_weights(weights or DEFAULT_WEIGHTS)
    present = sum((~np.isnan(c[k])).astype(int) for k in INDICATORS).astype(float)
    with np.errstate(invalid="ignore"):
        if method == "inform":
            hazards = [c["sea"], c["water"]]
            if renormalise:
                n = sum((~np.isnan(h)).astype(float) for h in hazards)
                prod = np.ones_like(c["sea"])
                for h in hazards:
                    prod = prod * np.where(np.isnan(h), 1.0, 10 - 9 * h)
                H = np.where(n > 0, 1 - (prod ** (1 / np.maximum(n, 1)) - 1) / 9, np.nan)
            else:
                H = 1 - (np.sqrt((10 - 9 * c["sea"]) * (10 - 9 * c["water"])) - 1) / 9
            score = 10 * np.cbrt(H * c["arrivals"] * c["informal"])
        else:
            if renormalise:   # the weights of the indicators present, scaled to sum 1
                wsum = sum(np.where(np.isnan(c[k]), 0.0, w[k]) for k in INDICATORS)
                wk = {k: np.where(np.isnan(c[k]), 0.0, w[k]) / wsum for k in INDICATORS}
                ck = {k: np.where(np.isnan(c[k]), 0.0, c[k]) for k in INDICATORS}
            else:   # any indicator missing, whatever its weight: no score
                wk = {k: np.where(np.isnan(c[k]), np.nan, w[k]) for k in INDICATORS}
                ck = c
            if method == "geometric":
                prod = 1.0
                for k in INDICATORS:
                    prod = prod * (1 + 9 * ck[k]) ** wk[k]
                score = 10 * (prod - 1) / 9
            else:
                score = 10 * sum(wk[k] * ck[k] for k in INDICATORS)
    if renormalise:   # no sea depth: the sea itself or beyond the DEM, never scored
        score = np.where(np.isnan(c["sea"]), np.nan, score)
    present = np.where(np.isnan(score), np.nan, present)
    return score, present


def class_of(score, breaks):
    """1-based class: breaks[k-2] <= score < breaks[k-1], a score on a break above it."""
    k = np.searchsorted(np.asarray(breaks, float), score, side="right") + 1.0
    return np.where(np.isnan(score), np.nan, k)


def uplift_of(b, a, p, share=1.0):
    b = np.clip(b, 0, 5)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = 0.1 * 2.0 ** (b - 1)
        grown = r * (1 + share * a / p)
        up = np.clip(np.log2(grown / 0.1) + 1, 0, 5) - b
    up = np.where(p <= 0, 5 - b, up)
    up = np.where(a <= 0, 0.0, up)
    return np.where(np.isnan(b) | np.isnan(a) | np.isnan(p), np.nan, up)


def jenks_reference(values, k):
    """Fisher's exact natural breaks by the plain O(k n^2) dynamic programme: the k - 1 inner
    breaks (each the smallest value of the class above) minimising the within-class sum of
    squared deviations. values distinct."""
    x = np.sort(np.asarray(values, float))
    n = len(x)
    s1 = np.concatenate([[0.0], np.cumsum(x)])
    s2 = np.concatenate([[0.0], np.cumsum(x * x)])

    def ssd(i, j):  # x[i..j] inclusive
        m = j - i + 1
        t = s1[j + 1] - s1[i]
        return (s2[j + 1] - s2[i]) - t * t / m

    cost = np.full((k + 1, n), np.inf)
    start = np.zeros((k + 1, n), int)
    for j in range(n):
        cost[1][j] = ssd(0, j)
    for c in range(2, k + 1):
        for j in range(c - 1, n):
            for i in range(c - 1, j + 1):   # the last class is x[i..j]
                v = cost[c - 1][i - 1] + ssd(i, j)
                if v < cost[c][j]:
                    cost[c][j], start[c][j] = v, i
    breaks, j = [], n - 1
    for c in range(k, 1, -1):
        i = start[c][j]
        breaks.append(x[i])
        j = i - 1
    return sorted(breaks)


# ---------------------------------------------------------------------------------------------
# Fixtures


def standard_layers(seed=5):
    """Raw values of the four layers on the 6 x 5 grid (NaN = nodata): depths with dry cells
    and depths beyond 1 m, Aqueduct scores 0-5, fractions with a 0 and a 1, arrivals with
    zeros and a tail above their 99th percentile; one nodata cell in each layer, in different
    cells; and the cells where inform must give 0."""
    rng = np.random.default_rng(seed)
    sea = np.round(rng.uniform(0, 1.6, (ROWS, COLS)), 3)
    sea[rng.random((ROWS, COLS)) < 0.35] = 0.0
    water = np.round(rng.uniform(0, 5, (ROWS, COLS)), 3)
    water[0, 5] = 5.0
    water[4, 0] = 0.0
    informal = np.round(rng.uniform(0, 1, (ROWS, COLS)), 3)
    informal[1, 2] = 0.0          # inform: 0 with no informality
    informal[3, 3] = 1.0
    arrivals = np.round(rng.uniform(0, 300, (ROWS, COLS)))
    arrivals[3, 1] = 0.0          # inform: 0 with no arrivals
    arrivals[0, 4] = 0.0
    arrivals[2, 2] = 4000.0       # above a_ref: the indicator is clamped at 1
    sea[0, 0] = np.nan
    water[2, 3] = np.nan
    informal[4, 5] = np.nan
    arrivals[1, 4] = np.nan
    return {"sea": f32(sea), "water": f32(water), "informal": f32(informal),
            "arrivals": f32(arrivals)}


NODATA_CELLS = {"sea": (0, 0), "water": (2, 3), "informal": (4, 5), "arrivals": (1, 4)}


class ScoreCase(CliTestCase):
    def write_layers(self, raw, prefix=""):
        """Writes raw {name: array} as rasters; returns {name: path}."""
        return {k: write_raster(self.path(f"{prefix}{k}.tif"), v) for k, v in raw.items()}

    def layer_args(self, paths):
        args = ["--sea", paths["sea"], "--water", paths["water"], "--informal",
                paths["informal"], "--arrivals", paths["arrivals"]]
        if "population" in paths:
            args += ["--population", paths["population"]]
        return args

    def out(self, name=None):
        return self.path(name or f"out-{len(os.listdir(self.tmp))}.tif")

    def score(self, *args, out=None):
        """Runs the command with --json; asserts exit 0; returns (bands, summary, stderr)."""
        out = out or self.out()
        rc, stdout, err = run("score", *args, "-o", out, "--json")
        self.assertEqual(rc, 0, f"{args}: exit {rc}, stderr: {err}")
        try:
            summary = json.loads(stdout)
        except ValueError:
            self.fail(f"{args}: --json printed no JSON: {stdout!r}")
        self.assertEqual(summary["output"], out)
        bands, _ = read_output(self, out)
        self.assertEqual(band_names(out), summary["bands"])
        return bands, summary, err

    def assertCells(self, got, expected, label="", rtol=1e-5, atol=1e-6):
        """Same nodata cells, and the others within rtol / atol."""
        self.assertEqual(got.shape, expected.shape, label)
        nan_got, nan_exp = np.isnan(got), np.isnan(expected)
        self.assertTrue((nan_got == nan_exp).all(),
                        f"{label}: nodata at {np.argwhere(nan_got).tolist()}, expected at "
                        f"{np.argwhere(nan_exp).tolist()}")
        ok = nan_exp | np.isclose(got, expected, rtol=rtol, atol=atol)
        bad = np.argwhere(~ok)
        self.assertEqual(len(bad), 0, f"{label}: {len(bad)} cells differ, at (row, col) "
                         f"{[tuple(map(int, b)) for b in bad[:8]]}: got "
                         f"{[float(got[tuple(b)]) for b in bad[:8]]}, expected "
                         f"{[float(expected[tuple(b)]) for b in bad[:8]]}")

    def assertSummaryMatches(self, summary, bands, breaks=None):
        """The summary's counts and score statistics against the written bands."""
        score = bands["score"]
        scored = score[~np.isnan(score)]
        self.assertEqual(summary["cells"], score.size)
        self.assertEqual(summary["cells_scored"], scored.size)
        self.assertEqual(summary["cells_nodata"], score.size - scored.size)
        breaks = summary["classes"]["breaks"] if breaks is None else breaks
        k = len(breaks) + 1
        self.assertEqual(summary["classes"]["count"], k)
        if "class" in bands:
            klass = bands["class"][~np.isnan(score)].astype(int)
            self.assertEqual(summary["cells_per_class"],
                             np.bincount(klass, minlength=k + 1)[1:].tolist())
        self.assertEqual(sum(summary["cells_per_class"]), scored.size)
        self.assertAlmostEqual(summary["score"]["mean"], scored.mean(),
                               delta=1e-6 * max(1.0, abs(scored.mean())))
        self.assertAlmostEqual(summary["score"]["min"], scored.min(), delta=1e-6)
        self.assertAlmostEqual(summary["score"]["max"], scored.max(), delta=1e-6)

    def assertUsage(self, args, *needles):
        """A usage error: exit 2, the first stderr line names the command and every needle."""
        rc, _, err = run("score", *args)
        self.assertEqual(rc, 2, f"{args}: exit {rc}, stderr: {err}")
        first = err.splitlines()[0] if err.strip() else ""
        self.assertTrue(first.startswith("cityrisk score:"), f"{args}: {err!r}")
        for needle in needles:
            self.assertIn(needle, first, args)
        return first


# ---------------------------------------------------------------------------------------------
# 1. The methods


class Methods(ScoreCase):
    def check_method(self, method, extra=(), weights=None):
        raw = standard_layers()
        paths = self.write_layers(raw)
        bands, summary, _ = self.score(*self.layer_args(paths), "--method", method, *extra)
        self.assertEqual(list(bands), ALL_BANDS)
        c, aref = normalise(raw)
        # The fixture reaches the clamps: depths beyond 1 m, arrivals beyond a_ref.
        self.assertGreater(np.nanmax(raw["sea"]), 1.2)
        deep = raw["sea"] > 1
        self.assertEqual(bands["sea"][deep].tolist(), [1.0] * int(deep.sum()))
        self.assertGreater(raw["arrivals"][2, 2], aref)
        self.assertEqual(bands["arrivals"][2, 2], 1.0)
        for k in INDICATORS:
            self.assertCells(bands[k], c[k], f"{method}: {k}")
        expected, _ = score_of(method, c, weights)
        self.assertCells(bands["score"], expected, f"{method}: score")
        self.assertCells(bands["class"], class_of(bands["score"], INFORM_BREAKS),
                         f"{method}: class of the written score", rtol=0, atol=0)
        self.assertCells(bands["class"], class_of(expected, INFORM_BREAKS),
                         f"{method}: class")
        # A cell missing any input has no score and no class; its other indicators are kept.
        for name, cell in NODATA_CELLS.items():
            for band in ["score", "class", name]:
                self.assertTrue(np.isnan(bands[band][cell]), f"{method}: {band} at {cell}")
            for other in INDICATORS:
                if other != name:
                    self.assertFalse(np.isnan(bands[other][cell]), f"{method}: {other} at {cell}")
        self.assertEqual(summary["method"], method)
        self.assertEqual(summary["missing"], "nodata")
        self.assertEqual(summary["cells_nodata"], len(NODATA_CELLS))
        self.assertAlmostEqual(summary["arrivals_ref"], aref, delta=1e-7 * aref)
        self.assertEqual(summary["resampling"], {k: "none" for k in INDICATORS})
        self.assertSummaryMatches(summary, bands)
        return bands, c, summary

    def test_geometric(self):
        bands, c, summary = self.check_method("geometric")
        self.assertEqual(summary["weights"], DEFAULT_WEIGHTS)
        # By hand at (3, 3), informal 1.
        cell = (3, 3)
        by_hand = 10 * ((1 + 9 * c["sea"][cell]) ** 0.3 * (1 + 9 * c["water"][cell]) ** 0.2
                        * 10 ** 0.25 * (1 + 9 * c["arrivals"][cell]) ** 0.25 - 1) / 9
        self.assertAlmostEqual(bands["score"][cell], by_hand, delta=1e-5 * by_hand)
        # The method and weights are recorded in the file.
        ds = gdal.Open(summary["output"])
        params = json.loads(ds.GetMetadataItem("CITYRISK_PARAMETERS"))
        self.assertEqual(params["method"], "geometric")
        self.assertEqual(params["weights"], DEFAULT_WEIGHTS)
        self.assertIn("prod", ds.GetMetadataItem("CITYRISK_FORMULA"))

    def test_geometric_with_weights_normalised(self):
        weights = {"sea": 2, "water": 1, "informal": 1, "arrivals": 0}
        bands, _, summary = self.check_method(
            "geometric", ["--weights", "sea=2,water=1,informal=1,arrivals=0"], weights)
        self.assertEqual(summary["weights"],
                         {"sea": 0.5, "water": 0.25, "informal": 0.25, "arrivals": 0})

    def test_weights_are_relative_whatever_their_size(self):
        # Four weights of 1e308 sum beyond a double: they are equal weights (issue 16, point
        # 21), as are four of 1e-310 (subnormal); not an all-nodata output.
        equal = {"sea": 0.25, "water": 0.25, "informal": 0.25, "arrivals": 0.25}
        for w in ["1e308", "1.7976931348623157e308", "1e-310"]:
            with self.subTest(weight=w):
                bands, _, summary = self.check_method(
                    "geometric", ["--weights", f"sea={w},water={w},informal={w},arrivals={w}"],
                    equal)
                self.assertEqual(summary["weights"], equal)
        bands, _, summary = self.check_method(
            "geometric", ["--weights", "sea=1e308,water=5e307,informal=0,arrivals=5e307"],
            {"sea": 0.5, "water": 0.25, "informal": 0, "arrivals": 0.25})
        self.assertEqual(summary["weights"],
                         {"sea": 0.5, "water": 0.25, "informal": 0, "arrivals": 0.25})

    def test_weights_not_named_get_zero(self):
        raw = standard_layers()
        paths = self.write_layers(raw)
        bands, summary, _ = self.score(*self.layer_args(paths), "--method", "arithmetic",
                                       "--weights", "water=3,informal=1")
        self.assertEqual(summary["weights"],
                         {"sea": 0, "water": 0.75, "informal": 0.25, "arrivals": 0})
        c, _ = normalise(raw)
        expected = 10 * (0.75 * c["water"] + 0.25 * c["informal"])
        # A weight of 0 does not excuse a missing indicator: its cells stay nodata.
        for name in ["sea", "arrivals"]:
            expected[NODATA_CELLS[name]] = np.nan
        self.assertCells(bands["score"], expected, "water and informal only")

    def test_arithmetic(self):
        bands, c, _ = self.check_method("arithmetic")
        cell = (3, 3)
        by_hand = 10 * (0.3 * c["sea"][cell] + 0.2 * c["water"][cell] + 0.25 * 1.0
                        + 0.25 * c["arrivals"][cell])
        self.assertAlmostEqual(bands["score"][cell], by_hand, delta=1e-5 * by_hand)

    def test_inform(self):
        bands, c, _ = self.check_method("inform")
        # No informality or no arrivals: exactly 0 whatever the hazards.
        for cell in [(1, 2), (3, 1)]:
            self.assertEqual(bands["score"][cell], 0.0, cell)
            self.assertEqual(bands["class"][cell], 1.0, cell)
        self.assertGreater(c["sea"][1, 2] + c["water"][1, 2], 0)
        # By hand at (3, 3), informal 1.
        s, w, a = c["sea"][3, 3], c["water"][3, 3], c["arrivals"][3, 3]
        H = 1 - (math.sqrt((10 - 9 * s) * (10 - 9 * w)) - 1) / 9
        self.assertAlmostEqual(bands["score"][3, 3], 10 * (H * a) ** (1 / 3), delta=1e-5)

    def test_inform_without_hazards_is_zero(self):
        raw = standard_layers()
        raw["sea"][:] = 0.0
        raw["water"][:] = 0.0
        paths = self.write_layers(raw)
        bands, _, _ = self.score(*self.layer_args(paths), "--method", "inform")
        self.assertEqual(np.unique(bands["score"][~np.isnan(bands["score"])]).tolist(), [0.0])

    def test_unknown_method(self):
        paths = self.write_layers(standard_layers())
        self.assertUsage([*self.layer_args(paths), "--method", "harmonic", "-o", self.out()],
                         "unknown method 'harmonic'")

    def test_bands_subset_in_file_order(self):
        raw = standard_layers()
        paths = self.write_layers(raw)
        full, _, _ = self.score(*self.layer_args(paths))
        for spec, names in [("score,class", ["score", "class"]),
                            ("arrivals,score", ["score", "arrivals"]),
                            ("class,water", ["class", "water"])]:
            with self.subTest(bands=spec):
                out = self.out()
                bands, summary, _ = self.score(*self.layer_args(paths), "--bands", spec, out=out)
                self.assertEqual(list(bands), names)
                self.assertEqual(summary["bands"], names)
                for name in names:
                    self.assertCells(bands[name], full[name], name, rtol=0, atol=0)
                if "class" in names:
                    ds = gdal.Open(out)
                    band = ds.GetRasterBand(names.index("class") + 1)
                    self.assertEqual(json.loads(band.GetMetadataItem("CLASS_BREAKS")),
                                     INFORM_BREAKS)
        self.assertUsage([*self.layer_args(paths), "--bands", "score,rain", "-o", self.out()],
                         "rain")


# ---------------------------------------------------------------------------------------------
# 2. Missing indicators


class Renormalise(ScoreCase):
    def fixture(self):
        raw = standard_layers()
        raw["sea"][3, 4] = np.nan          # two missing in one cell
        raw["water"][3, 4] = np.nan
        return raw

    def test_renormalise_geometric_and_arithmetic(self):
        raw = self.fixture()
        paths = self.write_layers(raw)
        c, _ = normalise(raw)
        for method in ["geometric", "arithmetic"]:
            with self.subTest(method=method):
                bands, summary, _ = self.score(*self.layer_args(paths), "--method", method,
                                               "--missing", "renormalise")
                self.assertEqual(list(bands), ALL_BANDS + ["indicators_present"])
                self.assertEqual(summary["missing"], "renormalise")
                expected, present = score_of(method, c, renormalise=True)
                self.assertCells(bands["score"], expected, f"{method}: score")
                self.assertCells(bands["indicators_present"], present, "present", 0, 0)
                self.assertEqual(bands["indicators_present"][2, 3], 3)
                # Without a sea depth (the sea, or beyond the DEM) a cell is never scored,
                # whatever else it has (issue 18, point 8).
                self.assertTrue(np.isnan(bands["indicators_present"][3, 4]))
                self.assertTrue(np.isnan(bands["score"][NODATA_CELLS["sea"]]))
                self.assertEqual(int(np.sum(bands["indicators_present"] == 4)),
                                 ROWS * COLS - 5)
                self.assertEqual(summary["cells_scored"], ROWS * COLS - 2)
                self.assertEqual(summary["cells_missing"],
                                 {"sea": 2, "water": 2, "informal": 1, "arrivals": 1})
                # By hand: the cell without water scores sea, informal and arrivals with
                # weights 0.3, 0.25, 0.25 over 0.8.
                cell = NODATA_CELLS["water"]
                s, i, a = (c[k][cell] for k in ("sea", "informal", "arrivals"))
                if method == "geometric":
                    by_hand = 10 * ((1 + 9 * s) ** (0.3 / 0.8) * (1 + 9 * i) ** (0.25 / 0.8)
                                    * (1 + 9 * a) ** (0.25 / 0.8) - 1) / 9
                else:
                    by_hand = 10 * (0.3 * s + 0.25 * i + 0.25 * a) / 0.8
                self.assertAlmostEqual(bands["score"][cell], by_hand, delta=1e-5 * by_hand)
                self.assertSummaryMatches(summary, bands)

    def test_renormalise_inform_never_imputes(self):
        raw = self.fixture()
        paths = self.write_layers(raw)
        c, _ = normalise(raw)
        bands, _, _ = self.score(*self.layer_args(paths), "--method", "inform",
                                 "--missing", "renormalise")
        expected, present = score_of("inform", c, renormalise=True)
        self.assertCells(bands["score"], expected, "inform renormalised")
        # One hazard left: H is that hazard. Both hazards, informal or arrivals missing:
        # no score.
        cell = NODATA_CELLS["water"]
        by_hand = 10 * (c["sea"][cell] * c["arrivals"][cell] * c["informal"][cell]) ** (1 / 3)
        self.assertAlmostEqual(bands["score"][cell], by_hand, delta=1e-5)
        self.assertEqual(bands["indicators_present"][cell], 3)
        # Without a sea depth, the sea or beyond the DEM: never scored (issue 18, point 8).
        for cell in [(3, 4), NODATA_CELLS["informal"], NODATA_CELLS["arrivals"],
                     NODATA_CELLS["sea"]]:
            self.assertTrue(np.isnan(bands["score"][cell]), cell)
            self.assertTrue(np.isnan(bands["indicators_present"][cell]), cell)


# ---------------------------------------------------------------------------------------------
# 3-4. Classes


class Classes(ScoreCase):
    def informal_only(self, fractions, *extra):
        """Arithmetic scores with all the weight on informal: S = 10 v."""
        raw = standard_layers()
        raw["informal"] = f32(np.asarray(fractions, float).reshape(ROWS, COLS))
        for k in ["sea", "water", "arrivals"]:
            raw[k] = np.where(np.isnan(raw[k]), 0.0, raw[k])
        paths = self.write_layers(raw)
        return self.score(*self.layer_args(paths), "--method", "arithmetic",
                          "--weights", "informal=1", *extra)

    def test_inform_breaks_on_and_around_the_boundaries(self):
        # Fractions b / 10 in float32, whose score 10 v rounds to the float32 break itself, and
        # the float32 fractions just below those, whose scores fall just below the breaks;
        # the written scores are checked to be so.
        on = [float(np.float32(b / 10)) for b in INFORM_BREAKS]
        below = [float(np.nextafter(np.float32(v), np.float32(0))) for v in on]
        fractions = on + below + [0.0, 1.0, 0.1, 0.25, 0.4, 0.6, 0.8]
        fractions += [0.0] * (ROWS * COLS - len(fractions))
        bands, summary, _ = self.informal_only(fractions)
        written = bands["score"].ravel()[:15]
        self.assertEqual(written[:4].tolist(), INFORM_BREAKS, "fixture: scores not on the breaks")
        for w, b in zip(written[4:8], INFORM_BREAKS):
            self.assertTrue(b - 1e-5 < w < b, f"fixture: score {w!r} not just below {b}")
        got = bands["class"].ravel()[:15].tolist()
        self.assertEqual(got[:8], [2, 3, 4, 5, 1, 2, 3, 4])
        self.assertEqual(got[8:], [1, 5, 1, 2, 3, 4, 5])
        self.assertEqual(summary["classes"]["breaks"], INFORM_BREAKS)
        self.assertSummaryMatches(summary, bands)
        ds = gdal.Open(summary["output"])
        band = ds.GetRasterBand(2)
        self.assertEqual(json.loads(band.GetMetadataItem("CLASS_BREAKS")), INFORM_BREAKS)
        self.assertEqual(json.loads(band.GetMetadataItem("CLASS_NAMES")), INFORM_NAMES)
        self.assertEqual(json.loads(band.GetMetadataItem("CLASS_COLORS")), YLORRD5)

    def test_fixed_breaks_given(self):
        # Dyadic fractions: 10 v is exact in float32 and in binary, so the scores are the
        # breaks 2.5, 3.75, 5, 6.25 themselves.
        fractions = [0.25, 0.375, 0.5, 0.625, 0.2, 0.3, 0.45, 0.6, 0.7, 1.0]
        fractions += [0.0] * (ROWS * COLS - len(fractions))
        bands, summary, _ = self.informal_only(fractions, "--classes", "fixed:2.5,3.75,5,6.25")
        self.assertEqual(bands["score"].ravel()[:4].tolist(), [2.5, 3.75, 5.0, 6.25])
        self.assertEqual(bands["class"].ravel()[:10].tolist(),
                         [2, 3, 4, 5, 1, 2, 3, 4, 5, 5])
        self.assertEqual(summary["classes"]["breaks"], [2.5, 3.75, 5, 6.25])
        self.assertSummaryMatches(summary, bands)
        ds = gdal.Open(summary["output"])
        names = json.loads(ds.GetRasterBand(2).GetMetadataItem("CLASS_NAMES"))
        self.assertEqual(len(names), 5)
        self.assertEqual(json.loads(ds.GetRasterBand(2).GetMetadataItem("CLASS_BREAKS")),
                         [2.5, 3.75, 5, 6.25])

    def data_classes(self, spec):
        raw = standard_layers()
        paths = self.write_layers(raw)
        bands, summary, _ = self.score(*self.layer_args(paths), "--classes", spec)
        scores = bands["score"][~np.isnan(bands["score"])]
        self.assertEqual(len(np.unique(scores)), len(scores), "fixture: tied scores")
        return bands, summary, scores

    def check_breaks(self, bands, summary, expected):
        got = summary["classes"]["breaks"]
        self.assertEqual(len(got), len(expected))
        for g, e in zip(got, expected):
            self.assertAlmostEqual(g, e, delta=1e-9 * max(1.0, abs(e)), msg=f"{got} vs {expected}")
        ds = gdal.Open(summary["output"])
        meta = json.loads(ds.GetRasterBand(2).GetMetadataItem("CLASS_BREAKS"))
        self.assertEqual(meta, got)
        self.assertCells(bands["class"], class_of(bands["score"], expected), "class", 0, 0)
        self.assertSummaryMatches(summary, bands, expected)

    def test_quantile(self):
        bands, summary, scores = self.data_classes("quantile:4")
        # 26 scored cells: (n - 1) i / 4 = 6.25, 12.5, 18.75, between order statistics.
        self.assertEqual(len(scores), 26)
        expected = np.percentile(scores, [25, 50, 75]).tolist()
        self.assertFalse(any(e in scores for e in expected))
        self.check_breaks(bands, summary, expected)
        self.assertEqual(summary["classes"]["scheme"], "quantile:4")
        counts = summary["cells_per_class"]
        self.assertLessEqual(max(counts) - min(counts), 1, counts)

    def test_quantile_breaks_on_scores(self):
        # 25 scored cells: (n - 1) i / 4 is whole, so each break is a score, which goes to
        # the class above it.
        raw = standard_layers()
        raw["sea"][4, 1] = np.nan
        paths = self.write_layers(raw)
        bands, summary, _ = self.score(*self.layer_args(paths), "--classes", "quantile:4")
        scores = bands["score"][~np.isnan(bands["score"])]
        self.assertEqual(len(scores), 25)
        expected = np.percentile(scores, [25, 50, 75]).tolist()
        self.assertTrue(all(e in scores for e in expected), "fixture: breaks not on scores")
        self.check_breaks(bands, summary, expected)
        self.assertEqual(summary["cells_per_class"], [6, 6, 6, 7])

    def test_equal(self):
        bands, summary, scores = self.data_classes("equal:4")
        lo, hi = scores.min(), scores.max()
        expected = [lo + i * (hi - lo) / 4 for i in range(1, 4)]
        self.check_breaks(bands, summary, expected)
        self.assertEqual(bands["class"][bands["score"] == hi].tolist(), [4])
        self.assertEqual(bands["class"][bands["score"] == lo].tolist(), [1])

    def test_jenks(self):
        bands, summary, scores = self.data_classes("jenks:3")
        expected = jenks_reference(scores, 3)
        self.check_breaks(bands, summary, expected)
        # Each break is a score, the lowest of its class.
        for b in expected:
            self.assertIn(b, scores)

    def test_bad_classes(self):
        paths = self.write_layers(standard_layers())
        for spec in ["quantile:1", "fixed:3,2", "natural:4", "jenks:2.5", "fixed:1,nan"]:
            with self.subTest(spec=spec):
                self.assertUsage([*self.layer_args(paths), "--classes", spec, "-o", self.out()],
                                 f"'{spec}'")


# ---------------------------------------------------------------------------------------------
# 5. a_ref


class ArrivalsRef(ScoreCase):
    def fixture(self):
        raw = standard_layers()
        a = np.array([[0, 1, 2, 3, 5, 8], [13, 21, 34, 55, 89, 144], [0, 0, 377, 610, 987, 1597],
                      [7, 7, 7, 2584, 0, 4181], [1, 0.5, 0.25, 12, np.nan, 6765]], float)
        raw["arrivals"] = f32(a)
        return raw

    def test_reference_is_the_99th_percentile_of_positive_cells(self):
        raw = self.fixture()
        paths = self.write_layers(raw)
        a = raw["arrivals"]
        positive = a[(a > 0) & ~np.isnan(a)]
        self.assertEqual(len(positive), 25)
        aref = float(np.percentile(positive, 99))
        self.assertTrue(positive.max() > aref > np.sort(positive)[-2], "fixture")
        bands, summary, _ = self.score(*self.layer_args(paths))
        self.assertAlmostEqual(summary["arrivals_ref"], aref, delta=1e-9 * aref)
        self.assertTrue(summary["arrivals_ref_from_data"])
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = np.minimum(1, np.log1p(a) / np.log1p(aref))
        self.assertCells(bands["arrivals"], expected, "log1p")
        self.assertEqual(bands["arrivals"][4, 5], 1.0)
        self.assertLess(bands["arrivals"][3, 5], 1.0)
        ds = gdal.Open(summary["output"])
        params = json.loads(ds.GetMetadataItem("CITYRISK_PARAMETERS"))
        self.assertAlmostEqual(params["normalisation"]["arrivals_ref"], aref, delta=1e-9 * aref)

        # linear
        bands, summary, _ = self.score(*self.layer_args(paths), "--arrivals-transform", "linear")
        self.assertAlmostEqual(summary["arrivals_ref"], aref, delta=1e-9 * aref)
        self.assertCells(bands["arrivals"], np.minimum(1, a / aref), "linear")

    def test_reference_given(self):
        raw = self.fixture()
        paths = self.write_layers(raw)
        a = raw["arrivals"]
        bands, summary, _ = self.score(*self.layer_args(paths), "--arrivals-ref", "100")
        self.assertEqual(summary["arrivals_ref"], 100)
        self.assertFalse(summary["arrivals_ref_from_data"])
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = np.minimum(1, np.log1p(a) / np.log1p(100))
        self.assertCells(bands["arrivals"], expected, "given")
        c, _ = normalise(raw, arrivals_ref=100.0)
        self.assertCells(bands["score"], score_of("geometric", c)[0], "score with a_ref 100")
        bands, _, _ = self.score(*self.layer_args(paths), "--arrivals-ref", "100",
                                 "--arrivals-transform", "linear")
        self.assertCells(bands["arrivals"], np.minimum(1, a / 100), "given, linear")
        for bad in ["0", "-5"]:
            self.assertUsage([*self.layer_args(paths), "--arrivals-ref", bad, "-o", self.out()],
                             "--arrivals-ref")

    def test_no_arrivals_anywhere(self):
        raw = standard_layers()
        raw["arrivals"] = np.where(np.isnan(raw["arrivals"]), np.nan, 0.0)
        paths = self.write_layers(raw)
        bands, summary, err = self.score(*self.layer_args(paths))
        self.assertIsNone(summary["arrivals_ref"])
        self.assertIn("no cell with arrivals above 0", err)
        arr = bands["arrivals"]
        self.assertEqual(np.unique(arr[~np.isnan(arr)]).tolist(), [0.0])


# ---------------------------------------------------------------------------------------------
# 6. Input kinds


class InputKinds(ScoreCase):
    def test_water_ratio(self):
        raw = standard_layers()
        ratios = [0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.8, 1.6, 3.2, 5.0, 1000.0, 0.15, 0.7,
                  -0.0005]
        r = np.array(ratios + [0.5] * (ROWS * COLS - len(ratios)))
        raw["water"] = f32(r.reshape(ROWS, COLS))
        raw["water"][2, 3] = np.nan
        paths = self.write_layers(raw)
        bands, summary, _ = self.score(*self.layer_args(paths), "--water-input", "ratio")
        got = bands["water"].ravel()[:len(ratios)] * 5
        by_hand = [0, 0, 0, 1, 2, 1 + math.log2(3), 3, 4, 5, 5, 5, 5, 1 + math.log2(1.5),
                   1 + math.log2(7), 0]
        for k, (g, e) in enumerate(zip(got, by_hand)):
            self.assertAlmostEqual(g, e, delta=5e-6, msg=f"ratio {ratios[k]}")
        c, _ = normalise(raw, water_ratio=True)
        self.assertCells(bands["water"], c["water"], "ratio")
        self.assertCells(bands["score"], score_of("geometric", c)[0], "score")
        self.assertEqual(summary["clamped"]["water"], 1)   # -0.0005
        # A ratio of 7 is no score: refused as a score, fine as a ratio.
        self.assertGreater(np.nanmax(raw["water"]), 5)

    def test_settlement_percent(self):
        raw = standard_layers()
        v = raw["informal"] * 100
        v[0, 1], v[0, 2], v[0, 3] = 100.5, 100.0, -0.5   # two within the tolerance of 1
        raw["informal"] = f32(v)
        paths = self.write_layers(raw)
        bands, summary, _ = self.score(*self.layer_args(paths), "--settlement-input", "percent")
        c, _ = normalise(raw, settlement="percent")
        self.assertCells(bands["informal"], c["informal"], "percent")
        self.assertEqual(bands["informal"][0, 1], 1.0)
        self.assertEqual(bands["informal"][0, 3], 0.0)
        self.assertCells(bands["score"], score_of("geometric", c)[0], "score")
        self.assertEqual(summary["clamped"]["informal"], 2)
        # As fractions the same layer is out of range.
        rc, _, err = run("score", *self.layer_args(paths), "-o", self.out())
        self.assertEqual(rc, 3, err)
        self.assertIn("--settlement-input percent", err)

    def test_settlement_binary(self):
        raw = standard_layers()
        v = np.zeros((ROWS, COLS))
        v[:, ::2] = 1.0
        v[1, 1], v[2, 1], v[3, 1] = 0.3, 7.0, 255.0
        v[4, 5] = np.nan
        raw["informal"] = f32(v)
        paths = self.write_layers(raw)
        bands, summary, _ = self.score(*self.layer_args(paths), "--settlement-input", "binary")
        c, _ = normalise(raw, settlement="binary")
        self.assertCells(bands["informal"], c["informal"], "binary", 0, 0)
        self.assertEqual(bands["informal"][2, 1], 1.0)
        self.assertEqual(bands["informal"][0, 1], 0.0)
        self.assertCells(bands["score"], score_of("geometric", c)[0], "score")

    def test_sea_depth_full_and_binary(self):
        raw = standard_layers()
        paths = self.write_layers(raw)
        for extra, opts in [(["--sea-depth-full", "0.5"], {"sea_depth_full": 0.5}),
                            (["--sea-depth-full", "2"], {"sea_depth_full": 2.0}),
                            (["--sea-binary"], {"sea_binary": True})]:
            with self.subTest(extra=extra):
                bands, _, _ = self.score(*self.layer_args(paths), *extra)
                c, _ = normalise(raw, **opts)
                self.assertCells(bands["sea"], c["sea"], str(extra))
                self.assertCells(bands["score"], score_of("geometric", c)[0], str(extra))


# ---------------------------------------------------------------------------------------------
# 7. Water uplift


class Uplift(ScoreCase):
    # (water score b, arrivals a, residents p, uplift by hand) with share 1
    CASES = [
        (2.0, 100.0, 100.0, 1.0),      # r 0.2 -> 0.4: score 3
        (3.0, 300.0, 100.0, 2.0),      # r 0.4 -> 1.6: score 5
        (4.5, 100.0, 100.0, 0.5),      # doubling would reach 5.5: clamped at 5
        (5.0, 50.0, 10.0, 0.0),        # already 5
        (1.0, 0.0, 100.0, 0.0),        # no arrivals
        (1.0, 10.0, 0.0, 4.0),         # arrivals, nobody living there: 5 - b
        (2.5, 0.0, 0.0, 0.0),          # nothing
        (0.0, 100.0, 100.0, 1.0),      # r 0.05 -> 0.1: score 1
        (1.0, 100.0, 300.0, math.log2(4 / 3)),
        (3.0, 1.0, 1000.0, math.log2(1.001)),
    ]

    def fixture(self):
        raw = standard_layers()
        pop = np.full((ROWS, COLS), 500.0)
        for k, (b, a, p, _) in enumerate(self.CASES):
            row, col = divmod(k + 18, COLS)
            raw["water"][row, col], raw["arrivals"][row, col], pop[row, col] = b, a, p
        pop[0, 1] = np.nan
        raw["population"] = f32(pop)
        return raw

    def test_uplift_by_hand(self):
        raw = self.fixture()
        paths = self.write_layers(raw)
        bands, summary, _ = self.score(*self.layer_args(paths))
        self.assertEqual(list(bands), ALL_BANDS + ["water_uplift"])
        self.assertEqual(summary["resampling"]["population"], "none")
        up = bands["water_uplift"]
        for k, (b, a, p, by_hand) in enumerate(self.CASES):
            cell = divmod(k + 18, COLS)
            self.assertAlmostEqual(up[cell], by_hand, delta=1e-5, msg=f"b {b}, a {a}, p {p}")
        expected = uplift_of(raw["water"], raw["arrivals"], raw["population"])
        self.assertCells(up, expected, "uplift")
        self.assertTrue(np.isnan(up[0, 1]), "no residents' value: no uplift")
        self.assertTrue(np.isnan(up[NODATA_CELLS["water"]]))
        self.assertTrue(np.isnan(up[NODATA_CELLS["arrivals"]]))
        # The score itself does not change with population.
        c, _ = normalise(raw)
        self.assertCells(bands["score"], score_of("geometric", c)[0], "score")

    def test_uplift_with_demand_share_and_ratios(self):
        raw = self.fixture()
        paths = self.write_layers(raw)
        bands, _, _ = self.score(*self.layer_args(paths), "--demand-share", "0.5")
        expected = uplift_of(raw["water"], raw["arrivals"], raw["population"], 0.5)
        self.assertCells(bands["water_uplift"], expected, "share 0.5")
        self.assertAlmostEqual(bands["water_uplift"][divmod(18, COLS)], math.log2(1.5), delta=1e-5)
        # Ratios: the uplift starts from the score of the ratio.
        raw["water"] = f32(0.1 * 2.0 ** (np.nan_to_num(raw["water"], nan=0.0) - 1))
        raw["water"][2, 3] = np.nan
        paths = self.write_layers(raw, "ratio-")
        bands, _, _ = self.score(*self.layer_args(paths), "--water-input", "ratio")
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.where(raw["water"] > 0, np.clip(np.log2(raw["water"] / 0.1) + 1, 0, 5), 0)
        b[np.isnan(raw["water"])] = np.nan
        self.assertCells(bands["water_uplift"],
                         uplift_of(b, raw["arrivals"], raw["population"]), "ratio input")

    def test_uplift_band_needs_population(self):
        raw = self.fixture()
        paths = self.write_layers(raw)
        pop = paths.pop("population")
        self.assertUsage([*self.layer_args(paths), "--bands", "score,water_uplift", "-o",
                          self.out()], "--population")
        bands, _, _ = self.score(*self.layer_args(paths), "--population", pop, "--bands",
                                 "water_uplift")
        self.assertEqual(list(bands), ["water_uplift"])


# ---------------------------------------------------------------------------------------------
# 8. Errors


class Errors(ScoreCase):
    def test_out_of_range_values_stop_the_run(self):
        for layer, value, cell, extra in [("water", 7.0, (3, 4), []),
                                          ("informal", 1.8, (1, 5), []),
                                          ("sea", -0.5, (4, 2), []),
                                          ("arrivals", -3.0, (0, 3), []),
                                          ("informal", 101.5, (2, 0),
                                           ["--settlement-input", "percent"]),
                                          ("population", -5.0, (4, 4), [])]:
            with self.subTest(layer=layer, value=value):
                raw = standard_layers()
                if extra:
                    raw["informal"] = raw["informal"] * 100
                if layer == "population":
                    raw["population"] = np.full((ROWS, COLS), 100.0)
                raw[layer][cell] = value
                folder = self.path(f"{layer}-{value}")
                os.mkdir(folder)
                paths = {k: write_raster(os.path.join(folder, f"{k}.tif"), v)
                         for k, v in raw.items()}
                out = os.path.join(folder, "out", "exposure.tif")
                os.mkdir(os.path.dirname(out))
                row, col = cell
                self.assertFails(["score", *self.layer_args(paths), *extra, "-o", out], 3,
                                 f"{layer} raster '{paths[layer]}'",
                                 f"value {value:g} at grid cell ",
                                 f"column {col}, row {row}", f"x {X0 + (col + 0.5) * CELL:.3f}, "
                                 f"y {Y0 - (row + 0.5) * CELL:.3f}")
                self.assertEqual(os.listdir(os.path.dirname(out)), [], "output or temp left")

    def test_first_bad_cell_in_row_order(self):
        raw = standard_layers()
        raw["water"][4, 0] = 9.0
        raw["water"][1, 3] = 8.0
        paths = self.write_layers(raw)
        self.assertFails(["score", *self.layer_args(paths), "-o", self.out()], 3,
                         "water raster", "value 8 at grid cell column 3, row 1")

    def test_values_within_tolerance_are_clamped(self):
        raw = standard_layers()
        raw["water"][3, 4] = 5.005
        raw["water"][1, 1] = -0.004
        raw["informal"][2, 2] = 1.005
        raw["sea"][0, 2] = -0.0005
        paths = self.write_layers(raw)
        bands, summary, err = self.score(*self.layer_args(paths))
        self.assertEqual(summary["clamped"], {"sea": 1, "water": 2, "informal": 1, "arrivals": 0})
        self.assertEqual(bands["water"][3, 4], 1.0)
        self.assertEqual(bands["water"][1, 1], 0.0)
        self.assertEqual(bands["informal"][2, 2], 1.0)
        self.assertEqual(bands["sea"][0, 2], 0.0)
        c, _ = normalise(raw)
        self.assertCells(bands["score"], score_of("geometric", c)[0], "clamped")
        ds = gdal.Open(summary["output"])
        stats = json.loads(ds.GetMetadataItem("CITYRISK_STATISTICS"))
        self.assertEqual(stats["clamped"]["water"], 2)
        # Without --json the count is reported on stderr.
        rc, _, err = run("score", *self.layer_args(paths), "-o", self.out())
        self.assertEqual(rc, 0, err)
        self.assertIn("2 water values just outside their range were clamped", err)

    def multiband_sea(self):
        raw = standard_layers()
        depths = np.stack([np.nan_to_num(raw["sea"]) * f for f in (0.5, 1.0, 2.0)])
        depths[:, 0, 0] = np.nan
        paths = self.write_layers(raw)
        paths["sea"] = write_raster(self.path("depths.tif"), depths,
                                    scenarios=["ssp126-2050", "ssp245-2100", "stress-2m"])
        return raw, depths, paths

    def test_multiband_sea_needs_a_choice(self):
        _, _, paths = self.multiband_sea()
        out = self.out()
        self.assertFails(["score", *self.layer_args(paths), "-o", out], 2,
                         f"sea raster '{paths['sea']}' has 3 bands",
                         "1 ssp126-2050, 2 ssp245-2100, 3 stress-2m", "--scenario", "--sea-band")
        self.assertFalse(os.path.exists(out))
        self.assertFails(["score", *self.layer_args(paths), "--scenario", "ssp585-2100", "-o",
                          out], 2, "no band for scenario 'ssp585-2100'")
        self.assertFails(["score", *self.layer_args(paths), "--sea-band", "4", "-o", out], 2,
                         "no band 4")
        self.assertUsage([*self.layer_args(paths), "--sea-band", "1", "--scenario",
                          "stress-2m", "-o", out], "not both")
        self.assertUsage([*self.layer_args(paths), "--sea-band", "0", "-o", out],
                         "--sea-band must be 1 or more")

    def test_scenario_picks_its_band(self):
        raw, depths, paths = self.multiband_sea()
        for args, band in [(["--scenario", "ssp245-2100"], 2), (["--scenario", "stress-2m"], 3),
                           (["--sea-band", "1"], 1)]:
            with self.subTest(args=args):
                bands, summary, _ = self.score(*self.layer_args(paths), *args)
                self.assertEqual(summary["sea_band"], band)
                self.assertEqual(summary["scenario"],
                                 ["ssp126-2050", "ssp245-2100", "stress-2m"][band - 1])
                c, _ = normalise(dict(raw, sea=f32(depths[band - 1])))
                self.assertCells(bands["sea"], c["sea"], f"band {band}")
                self.assertCells(bands["score"], score_of("geometric", c)[0], f"band {band}")
        # The bands differ, so a wrong pick would show.
        self.assertGreater(np.nansum(np.abs(np.minimum(depths[2], 1)
                                            - np.minimum(depths[1], 1))), 1)

    def test_existing_output(self):
        paths = self.write_layers(standard_layers())
        folder = self.path("out")
        os.mkdir(folder)
        out = os.path.join(folder, "exposure.tif")
        with open(out, "wb") as fp:
            fp.write(b"previous")
        self.assertFails(["score", *self.layer_args(paths), "-o", out], 4, out, "--overwrite")
        self.assertEqual(os.listdir(folder), ["exposure.tif"])
        with open(out, "rb") as fp:
            self.assertEqual(fp.read(), b"previous")
        bands, _, _ = self.score(*self.layer_args(paths), "--overwrite", out=out)
        self.assertEqual(list(bands), ALL_BANDS)
        self.assertEqual(os.listdir(folder), ["exposure.tif"])
        # An input is never overwritten.
        self.assertFails(["score", *self.layer_args(paths), "--overwrite", "-o",
                          paths["water"]], 2, "is the input")

    def test_bad_weights(self):
        paths = self.write_layers(standard_layers())
        for weights, needle in [("sea=-1", "negative"), ("rain=1", "'rain=1'"),
                                ("sea=0,water=0,informal=0,arrivals=0", "sum to 0"),
                                ("sea=abc", "'abc'"), ("sea=1,sea=2", "twice"),
                                ("sea=nan", "'nan'"), ("sea=inf", "'inf'"),
                                ("sea=0x1p-2", "'0x1p-2'"), ("sea=1e400", "'1e400'"),
                                ("sea=0,water=-0", "sum to 0")]:
            with self.subTest(weights=weights):
                out = self.out()
                self.assertUsage([*self.layer_args(paths), "--weights", weights, "-o", out],
                                 "--weights", needle)
                self.assertFalse(os.path.exists(out))

    def test_bad_choices(self):
        paths = self.write_layers(standard_layers())
        for flag, value in [("--missing", "impute"), ("--water-input", "percent"),
                            ("--settlement-input", "ratio"), ("--arrivals-transform", "sqrt")]:
            with self.subTest(flag=flag):
                self.assertUsage([*self.layer_args(paths), flag, value, "-o", self.out()],
                                 flag, f"'{value}'")


# ---------------------------------------------------------------------------------------------
# 9. Other CRSs and resolutions


class OtherGrids(ScoreCase):
    def test_water_in_degrees_is_interpolated_onto_the_grid(self):
        raw = standard_layers()
        paths = self.write_layers(raw)
        # 0.01 degree water-stress cells around the grid (about lon 34.912, lat -19.885), the
        # grid's centre close to a corner between four of them so all four weigh in.
        to_ll = osr.CoordinateTransformation(srs_of(UTM36S), srs_of(4326))
        lon, lat = to_ll.TransformPoint(X0 + COLS * CELL / 2, Y0 - ROWS * CELL / 2)[:2]
        corner = (round(lon, 2) - 0.04, round(lat, 2) + 0.04)
        rng = np.random.default_rng(11)
        water = np.round(rng.uniform(0, 5, (8, 8)), 2)
        water[0, 0] = np.nan
        wpath = write_raster(self.path("water-ll.tif"), water, origin=corner, cell=0.01,
                             epsg=4326)
        paths["water"] = wpath
        # Arrivals counted on 10 m cells aligned with the grid: each 30 m cell sums 3 x 3.
        fine = np.round(rng.uniform(0, 20, (ROWS * 3, COLS * 3)))
        fine[rng.random(fine.shape) < 0.3] = 0.0
        paths["arrivals"] = write_raster(self.path("arrivals-10m.tif"), fine, cell=10.0)
        bands, summary, _ = self.score(*self.layer_args(paths))
        self.assertEqual(summary["resampling"],
                         {"sea": "none", "water": "bilinear", "informal": "none",
                          "arrivals": "sum"})
        b = warp_onto(wpath, "bilinear", grid_bounds(), COLS, ROWS)
        near = warp_onto(wpath, "near", grid_bounds(), COLS, ROWS)
        self.assertFalse(np.isnan(b).any(), "fixture: the water raster misses the grid")
        self.assertGreater(np.abs(b - near).max(), 0.05, "fixture: bilinear looks like nearest")
        self.assertGreater(b.max() - b.min(), 0.05, "fixture: water constant on the grid")
        self.assertCells(bands["water"], b / 5, "water, bilinear as gdalwarp")
        # Bilinear by hand at one cell, from the four centres around it.
        to_ll_pt = to_ll.TransformPoint(X0 + 2.5 * CELL, Y0 - 1.5 * CELL)[:2]
        fx = (to_ll_pt[0] - corner[0]) / 0.01 - 0.5
        fy = (corner[1] - to_ll_pt[1]) / 0.01 - 0.5
        i, j = int(math.floor(fy)), int(math.floor(fx))
        u, v = fx - j, fy - i
        by_hand = ((1 - u) * (1 - v) * water[i, j] + u * (1 - v) * water[i, j + 1]
                   + (1 - u) * v * water[i + 1, j] + u * v * water[i + 1, j + 1])
        self.assertAlmostEqual(bands["water"][1, 2] * 5, by_hand, delta=1e-4)
        arrivals = fine.reshape(ROWS, 3, COLS, 3).sum(axis=(1, 3))
        raw["water"] = f32(b)
        raw["arrivals"] = f32(arrivals)
        c, aref = normalise(raw)
        self.assertAlmostEqual(summary["arrivals_ref"], aref, delta=1e-7 * aref)
        self.assertCells(bands["arrivals"], c["arrivals"], "arrivals summed 3 x 3")
        self.assertCells(bands["score"], score_of("geometric", c)[0], "score")

    def test_grid_option_and_coarser_informal(self):
        raw = standard_layers()
        paths = self.write_layers(raw)
        # Settlement fractions on 10 m cells, the default grid then being theirs; with --grid
        # the 30 m grid, each cell the average of 3 x 3.
        rng = np.random.default_rng(12)
        fine = f32(np.round(rng.uniform(0, 1, (ROWS * 3, COLS * 3)), 3))
        paths["informal"] = write_raster(self.path("informal-10m.tif"), fine, cell=10.0)
        grid = write_raster(self.path("grid.tif"), np.zeros((ROWS, COLS)))
        bands, summary, _ = self.score(*self.layer_args(paths), "--grid", grid)
        self.assertEqual(summary["grid"]["width"], COLS)
        self.assertEqual(summary["resampling"]["informal"], "average")
        expected = fine.reshape(ROWS, 3, COLS, 3).mean(axis=(1, 3))
        self.assertCells(bands["informal"], expected, "informal averaged 3 x 3")
        ds = gdal.Open(summary["output"])
        self.assertEqual(ds.GetGeoTransform(), (X0, CELL, 0.0, Y0, 0.0, -CELL))
        # Without --grid: the informal layer's grid.
        bands, summary, _ = self.score(*self.layer_args(paths))
        self.assertEqual(bands["score"].shape, (ROWS * 3, COLS * 3))
        self.assertEqual(summary["resampling"]["informal"], "none")


    def test_a_grid_100_times_coarser_reads_in_bounded_memory(self):
        # 4000 x 4000 cells of 30 m read onto 40 x 40 cells of 3 km. GDAL warps a warped VRT's
        # block from its whole source window at once: with GDAL's default blocks one block is
        # the whole grid, 16 million source cells in Float64 per layer and worker; cityrisk
        # chooses blocks whose source window stays near 64 MB. Run under a 1 GB address space
        # (the four layers read by two workers at once exceed it otherwise).
        n, k = 4000, 100
        rng = np.random.default_rng(23)
        fine = rng.uniform(0, 1, (n, n)).astype(np.float32).astype(np.float64)
        fine[:k, :k] = np.nan              # one grid cell with no value at all
        fine[k:k + 60, 2 * k:3 * k] = np.nan  # and one with 40 of its 100 rows
        path = write_raster(self.path("fine.tif"), fine)
        m = n // k
        grid = write_raster(self.path("grid.tif"), np.zeros((m, m)), cell=CELL * k)
        out = self.path("coarse.tif")

        def limit_address_space():
            resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

        proc = subprocess.run(
            [CITYRISK, "score", "--sea", path, "--water", path, "--informal", path,
             "--arrivals", path, "--arrivals-ref", "10", "--grid", grid, "--bands",
             "score,sea,informal", "-o", out, "--json"],
            capture_output=True, text=True, timeout=300,
            preexec_fn=None if asan_build() else limit_address_space)  # ASan: the values only
        self.assertEqual(proc.returncode, 0, f"exit {proc.returncode}, stderr: {proc.stderr}")
        self.assertEqual(json.loads(proc.stdout)["resampling"]["informal"], "average")
        bands, _ = read_output(self, out)
        self.assertEqual(bands["informal"].shape, (m, m))
        # The mean of each cell's 100 x 100 source cells, nodata left out.
        blocks = fine.reshape(m, k, m, k).transpose(0, 2, 1, 3).reshape(m, m, k * k)
        valid = ~np.isnan(blocks)
        count = valid.sum(axis=2)
        mean = np.where(count > 0, np.where(valid, blocks, 0).sum(axis=2) / np.maximum(count, 1),
                        np.nan)
        self.assertTrue(np.isnan(mean[0, 0]) and not np.isnan(mean[1, 2]), "fixture")
        self.assertCells(bands["informal"], mean, "informal, the mean of 100 x 100 cells")
        self.assertCells(bands["sea"], mean, "sea depth (1 m full), the mean")
        # And as GDAL's own warp of the same input (gdalwarp -r average).
        self.assertCells(bands["informal"], warp_onto(path, "average", grid_bounds(
            cell=CELL * k, rows=m, cols=m), m, m), "informal as gdalwarp -r average")


# ---------------------------------------------------------------------------------------------
# 10. The sample city


class SampleCity(ScoreCase):
    def test_sample_city_end_to_end(self):
        depth = self.path("inundation.tif")
        arrivals = self.path("arrivals.tif")
        rc, _, err = run("inundation", "--dem", sample("dem.tif"), "--scenario", "ssp245-2100",
                         "-o", depth)
        self.assertEqual(rc, 0, err)
        rc, _, err = run("arrivals", "--points", sample("arrivals.csv"), "--count-field",
                         "arrivals", "--grid", sample("dem.tif"), "--kernel", "quartic",
                         "--bandwidth", "500", "-o", arrivals)
        self.assertEqual(rc, 0, err)
        out = self.path("exposure.tif")
        bands, summary, _ = self.score(
            "--sea", depth, "--scenario", "ssp245-2100", "--water", sample("water_stress.tif"),
            "--informal", sample("settlement.tif"), "--arrivals", arrivals, "--population",
            sample("population.tif"), "--grid", sample("dem.tif"), out=out)
        self.assertEqual(list(bands), ALL_BANDS + ["water_uplift"])
        self.assertEqual(summary["scenario"], "ssp245-2100")
        self.assertEqual(summary["resampling"],
                         {"sea": "none", "water": "bilinear", "informal": "bilinear",
                          "arrivals": "none", "population": "sum"})

        dem = gdal.Open(sample("dem.tif"))
        gt, width, height = dem.GetGeoTransform(), dem.RasterXSize, dem.RasterYSize
        bounds = (gt[0], gt[3] + gt[5] * height, gt[0] + gt[1] * width, gt[3])
        self.assertEqual(gdal.Open(out).GetGeoTransform(), gt)

        def read(path):
            ds = gdal.Open(path)
            band = ds.GetRasterBand(1)
            values = band.ReadAsArray().astype(np.float64)
            values[values == band.GetNoDataValue()] = np.nan
            return values

        raw = {"sea": read(depth), "arrivals": read(arrivals),
               "water": warp_onto(sample("water_stress.tif"), "bilinear", bounds, width, height),
               "informal": warp_onto(sample("settlement.tif"), "bilinear", bounds, width, height)}
        population = warp_onto(sample("population.tif"), "sum", bounds, width, height)
        c, aref = normalise(raw)
        self.assertAlmostEqual(summary["arrivals_ref"], aref, delta=1e-7 * aref)
        # Read off the grid as GDAL does it, the inputs give the same cells to float32
        # precision (the largest differences seen: 2e-7 on the score, 1.2e-7 on the uplift).
        for k in INDICATORS:
            self.assertCells(bands[k], c[k], k)
        score, _ = score_of("geometric", c)
        self.assertCells(bands["score"], score, "score")
        self.assertCells(bands["class"], class_of(bands["score"], INFORM_BREAKS), "class", 0, 0)
        self.assertCells(bands["class"], class_of(score, INFORM_BREAKS), "class", 0, 0)
        uplift = uplift_of(raw["water"], raw["arrivals"], population)
        self.assertCells(bands["water_uplift"], uplift, "water_uplift")

        # The sample is not trivial: scored and unscored cells, several classes, uplift.
        self.assertGreater(summary["cells_scored"], 100000)
        self.assertGreater(summary["cells_nodata"], 100000)
        self.assertGreaterEqual(sum(1 for n in summary["cells_per_class"] if n), 3)
        self.assertGreater(np.nanmax(bands["water_uplift"]), 0.1)
        self.assertGreater(np.nansum(bands["sea"] > 0), 100)
        self.assertSummaryMatches(summary, bands)

        # One thread or two: the same cells and the same summary (statistics are gathered in
        # tile order), also for breaks from a sample of the scores.
        for classes in ["fixed", "jenks:4"]:
            runs = []
            for threads in ["1", "2"]:
                runs.append(self.score(
                    "--sea", depth, "--scenario", "ssp245-2100", "--water",
                    sample("water_stress.tif"), "--informal", sample("settlement.tif"),
                    "--arrivals", arrivals, "--grid", sample("dem.tif"), "--classes", classes,
                    "--threads", threads, "--overwrite", out=self.path(f"t{threads}.tif")))
            (one, s1, _), (two, s2, _) = runs
            for k in one:
                self.assertTrue(np.array_equal(one[k], two[k], equal_nan=True), f"{classes} {k}")
            del s1["output"], s2["output"]
            self.assertEqual(s1, s2, classes)



# ---------------------------------------------------------------------------------------------
# Polygons as published (issue 18, points 1, 2, 3, 8)


AQUEDUCT_FIELDS = [("pfaf_id", ogr.OFTInteger64), ("bws_raw", ogr.OFTReal),
                   ("bws_score", ogr.OFTReal), ("bws_cat", ogr.OFTInteger),
                   ("bws_label", ogr.OFTString)]


def utm_box(x0, y0, x1, y1):
    """A rectangle in grid units relative to the grid's top-left corner (y down), in UTM."""
    return [(X0 + x0, Y0 - y0), (X0 + x1, Y0 - y0), (X0 + x1, Y0 - y1), (X0 + x0, Y0 - y1)]


class PolygonInputs(ScoreCase):
    """--water and --informal as polygons, as their providers publish them."""

    def rasters(self):
        raw = standard_layers()
        for k in raw:   # every cell valid, so that only the polygons leave cells out
            raw[k] = np.where(np.isnan(raw[k]), 0.5, raw[k])
        return self.write_layers(raw), raw

    def basins(self, epsg=4326, values=(0.5, 1.5, 3.0, 4.5), driver="GPKG", name="basins.gpkg"):
        """Four Aqueduct basins across the grid (beyond it by 200 m): split at x = 75 m (the
        middle of column 2) and y = 69 m (three tenths into row 2), on the edges of the
        reference's sub-cells, whose boundary sampling is then exact."""
        m = 200
        boxes = [(-m, -m, 75, 69), (75, -m, 180 + m, 69), (-m, 69, 75, 150 + m),
                 (75, 69, 180 + m, 150 + m)]
        feats = [(utm_box(*b), {"pfaf_id": 172000 + i, "bws_score": v, "bws_raw": 0.1 * 2 ** (v - 1),
                                "bws_cat": int(min(v, 4)), "bws_label": "x"})
                 for i, (b, v) in enumerate(zip(boxes, values))]
        return write_polygons(self.path(name), driver, epsg, "baseline_annual", AQUEDUCT_FIELDS,
                              feats)

    def test_water_basins_in_wgs84_against_rasterize_fine(self):
        paths, raw = self.rasters()
        # Aqueduct 4.0 ships a File Geodatabase (GDAL 3.6's OpenFileGDB writes one), also
        # seen as GPKG, Shapefile; FlatGeobuf for good measure.
        for driver, name in [("GPKG", "basins.gpkg"), ("FlatGeobuf", "basins.fgb"),
                             ("OpenFileGDB", "Aq40.gdb"), ("ESRI Shapefile", "basins.shp")]:
            with self.subTest(driver=driver):
                basins = self.basins(driver=driver, name=name)
                paths_w = dict(paths, water=basins)
                bands, summary, _ = self.score(*self.layer_args(paths_w), "--grid", paths["sea"])
                self.assertEqual(summary["resampling"]["water"], "coverage-mean")
                self.assertEqual(summary["polygons"]["water"],
                                 {"features": 4, "skipped": 0, "field": "bws_score", "arid": 0,
                                  "arid_cells": 0})
                expected = fine_reference(basins, ROWS, COLS, (X0, Y0), CELL, "bws_score")
                got = bands["water"] * 5
                # Edges straight in lon/lat are curves on the grid: millimetres here.
                self.assertCells(got, expected, "water vs rasterize x10", rtol=0, atol=2e-3)
                # Cells wholly inside one basin take its value exactly (float32).
                for (r, c), v in {(0, 0): 0.5, (1, 5): 1.5, (4, 0): 3.0, (4, 5): 4.5}.items():
                    self.assertAlmostEqual(got[r, c], v, delta=2e-6)
                # Column 2 is split in halves, row 2 three tenths to seven: by hand.
                self.assertAlmostEqual(got[0, 2], (0.5 + 1.5) / 2, delta=2e-3)
                self.assertAlmostEqual(got[2, 0], 0.5 * 0.3 + 3.0 * 0.7, delta=2e-3)
                self.assertAlmostEqual(got[2, 2], (0.5 + 1.5) * 0.15 + (3.0 + 4.5) * 0.35,
                                       delta=2e-3)

    def test_distinct_values_are_the_basins(self):
        """Basins on cell edges give exactly their own values: 4 distinct water scores from 4
        basins (the issue saw 1,987 from a rasterized Aqueduct layer warped bilinearly)."""
        paths, _ = self.rasters()
        feats = [(utm_box(0, 0, 90, 60), {"bws_score": 1.25}), (utm_box(90, 0, 180, 60), {"bws_score": 2.5}),
                 (utm_box(0, 60, 90, 150), {"bws_score": 3.75}),
                 (utm_box(90, 60, 180, 150), {"bws_score": 4.5})]
        basins = write_polygons(self.path("aligned.gpkg"), "GPKG", UTM36S, "baseline_annual",
                                [("bws_score", ogr.OFTReal)], feats)
        bands, _, _ = self.score(*self.layer_args(dict(paths, water=basins)))
        values = np.unique(bands["water"][~np.isnan(bands["water"])] * 5)
        np.testing.assert_allclose(values, [1.25, 2.5, 3.75, 4.5], atol=2e-6)

    def aqueduct_sentinels(self, epsg=UTM36S, driver="GPKG", name="sentinels.gpkg"):
        """Columns 0-1 a basin of score 2, column 2 no data (-9999), columns 3-4 an arid basin
        (bws_score -1, bws_cat -1, its label), column 5 no data (9999); in the grid's CRS, so
        that their edges are the cells' (in lon/lat, a straight edge is a curve on the grid,
        and a neighbour's sliver would give the no-data columns a value)."""
        arid = "Arid and Low Water Use"
        feats = [(utm_box(0, 0, 60, 150), {"bws_score": 2.0, "bws_raw": 0.2, "bws_cat": 2,
                                           "bws_label": "Medium - High (20-40%)"}),
                 (utm_box(60, 0, 90, 150), {"bws_score": -9999, "bws_raw": -9999, "bws_cat": -9999,
                                            "bws_label": "No Data"}),
                 (utm_box(90, 0, 150, 150), {"bws_score": -1, "bws_raw": -1, "bws_cat": -1,
                                             "bws_label": arid}),
                 (utm_box(150, 0, 180, 150), {"bws_score": 9999, "bws_raw": 9999, "bws_cat": 9999,
                                              "bws_label": "No Data"})]
        return write_polygons(self.path(name), driver, epsg, "baseline_annual",
                              AQUEDUCT_FIELDS, feats)

    def test_aqueduct_sentinels_are_no_data_and_arid(self):
        paths, _ = self.rasters()
        basins = self.aqueduct_sentinels()
        for ratio in (False, True):
            with self.subTest(ratio=ratio):
                extra = ["--water-input", "ratio"] if ratio else []
                bands, summary, _ = self.score(*self.layer_args(dict(paths, water=basins)), *extra)
                w = bands["water"]
                # score 2, or the ratio 0.2 whose score is log2(2) + 1 = 2: 0.4 either way;
                # arid: the highest stress, 1.
                for c, v in enumerate([0.4, 0.4, np.nan, 1.0, 1.0, np.nan]):
                    col = w[:, c]
                    if np.isnan(v):
                        self.assertTrue(np.isnan(col).all(), c)
                        self.assertTrue(np.isnan(bands["score"][:, c]).all(), c)
                    else:
                        np.testing.assert_allclose(col, v, atol=2e-4, err_msg=str(c))
                p = summary["polygons"]["water"]
                self.assertEqual(p["field"], "bws_raw" if ratio else "bws_score")
                self.assertEqual((p["features"], p["skipped"], p["arid"], p["arid_cells"]),
                                 (4, 2, 1, 2 * ROWS))
                self.assertEqual(summary["cells_missing"]["water"], 2 * ROWS)
        # The text summary says so too.
        rc, _, err = run("score", *self.layer_args(dict(paths, water=basins)), "-o", self.out())
        self.assertEqual(rc, 0, err)
        self.assertIn("1 'Arid and Low Water Use' basins read as score 5 over 10 cells", err)
        self.assertIn("water 10", err)

    def test_sentinels_in_lonlat_agree_across_formats(self):
        """Issue 18 review: in lon/lat a basin's straight edge is a curve on the grid, so a
        neighbour's sliver reaches into the no-data columns; it decides nothing there (the
        valued basins must cover at least half of what the basins cover of a cell), the arid
        cells are the arid columns', and a GeoPackage and a File Geodatabase of the same
        basins (coordinates stored at different precisions) give the same outputs."""
        paths, _ = self.rasters()
        outputs = {}
        for driver, name in [("GPKG", "sentinels.gpkg"), ("OpenFileGDB", "sentinels.gdb")]:
            with self.subTest(driver=driver):
                basins = self.aqueduct_sentinels(4326, driver, name)
                bands, summary, _ = self.score(*self.layer_args(dict(paths, water=basins)))
                w = bands["water"]
                for c, v in enumerate([0.4, 0.4, np.nan, 1.0, 1.0, np.nan]):
                    if np.isnan(v):
                        self.assertTrue(np.isnan(w[:, c]).all(), c)
                    else:
                        np.testing.assert_allclose(w[:, c], v, atol=2e-4, err_msg=str(c))
                p = summary["polygons"]["water"]
                self.assertEqual((p["features"], p["skipped"], p["arid"], p["arid_cells"]),
                                 (4, 2, 1, 2 * ROWS))
                self.assertEqual(summary["cells_missing"]["water"], 2 * ROWS)
                outputs[driver] = (bands, p)
        for band in outputs["GPKG"][0]:
            np.testing.assert_array_equal(outputs["GPKG"][0][band], outputs["OpenFileGDB"][0][band],
                                          err_msg=band)
        self.assertEqual(outputs["GPKG"][1], outputs["OpenFileGDB"][1])

    def test_polygons_off_the_grid_stop_the_run(self):
        """Issue 18 review: basins or settlements 50 km east of the grid are refused (exit 3)
        giving both extents, as a raster there is, not read as all nodata or all 0."""
        paths, _ = self.rasters()
        far = [(utm_box(50000, 0, 50180, 150), {"bws_score": 2.0})]
        basins = write_polygons(self.path("far.gpkg"), "GPKG", UTM36S, "baseline_annual",
                                [("bws_score", ogr.OFTReal)], far)
        for key, what in (("water", "water"), ("informal", "informal")):
            with self.subTest(input=key):
                out = self.out()
                rc, _, err = run("score", *self.layer_args(dict(paths, **{key: basins})), "-o",
                                 out)
                self.assertEqual(rc, 3, err)
                self.assertIn(f"{what} polygons '{basins}' layer 'baseline_annual' do not overlap "
                              f"the analysis grid: extent x {X0 + 50000:.10g} .. {X0 + 50180:.10g}",
                              err)
                self.assertIn(f"against the grid's x {X0:.10g} .. {X0 + 180:.10g}", err)
                self.assertFalse(os.path.exists(out))

    def test_grid_help_names_the_sea_for_informal_polygons(self):
        rc, out, err = run("score", "--help")
        self.assertEqual(rc, 0, err)
        self.assertIn("default: --informal's when a raster, else --sea's", " ".join(out.split()))

    def test_water_field_and_layer_are_named(self):
        paths, _ = self.rasters()
        basins = self.basins()
        write_polygons(basins, "GPKG", 4326, "future_annual", AQUEDUCT_FIELDS, [], append=True)
        args = self.layer_args(dict(paths, water=basins))
        self.assertUsage([*args, "-o", self.out()], "2 layers", "'baseline_annual'",
                         "--water-layer")
        self.assertUsage([*args, "--water-layer", "baseline_annual", "--water-field", "bws",
                          "-o", self.out()],
                         "--water-field", "no field 'bws'", "'bws_raw', 'bws_score', 'bws_cat'")
        bands, _, _ = self.score(*args, "--water-layer", "baseline_annual", "--water-field",
                                 "bws_cat")
        self.assertAlmostEqual(bands["water"][0, 0] * 5, 0.0, delta=1e-6)   # bws_cat 0
        # A field beyond the scale stops the run naming the polygons (pfaf_id is no score).
        rc, _, err = run("score", *args, "--water-layer", "baseline_annual", "--water-field",
                         "pfaf_id", "-o", self.out())
        self.assertEqual(rc, 3, err)
        self.assertIn(f"water polygons '{basins}': feature 1 (pfaf_id 172000): value 172000 of "
                      "field 'pfaf_id' is outside the range of Aqueduct water-stress scores, 0 to "
                      "5 (tolerance 0.01)", err)
        # On a raster the options would mean nothing: said, not ignored.
        self.assertUsage([*self.layer_args(paths), "--water-field", "bws_score", "-o", self.out()],
                         "--water-field", "is a raster")

    def test_informal_union_against_rasterize_fine(self):
        paths, raw = self.rasters()
        # Two settlements overlapping, drawn from a survey: the overlap counts once.
        feats = [(utm_box(10, 10, 100, 80), {}),
                 (utm_box(70, 40, 170, 140), {}),
                 ([(X0 + 20, Y0 - 100), (X0 + 55, Y0 - 145), (X0 + 5, Y0 - 140)], {})]
        informal = write_polygons(self.path("informal.fgb"), "FlatGeobuf", UTM36S, "settlements",
                                  [], feats)
        # No --grid: informal polygons have no grid, the sea raster's is taken.
        bands, summary, _ = self.score(*self.layer_args(dict(paths, informal=informal)))
        self.assertEqual(summary["resampling"]["informal"], "coverage-union")
        self.assertEqual(summary["cells_missing"]["informal"], 0)
        expected = fine_reference(informal, ROWS, COLS, (X0, Y0), CELL)
        self.assertCells(bands["informal"], expected, "union vs rasterize x10", rtol=0, atol=0.05)
        # By hand: cell (1, 1) (x 30-60, y 30-60) lies inside the first; (2, 3) (x 90-120,
        # y 60-90) is in the second whole and in the first for x 90-100, y 60-80: once.
        self.assertAlmostEqual(bands["informal"][1, 1], 1.0, delta=1e-6)
        self.assertAlmostEqual(bands["informal"][2, 3], 1.0, delta=1e-6)
        # (0, 0): x 10-30, y 10-30 of the first: 4/9; (4, 5): x 150-170, y 120-140 of the
        # second: 4/9; (0, 5): nothing.
        self.assertAlmostEqual(bands["informal"][0, 0], 4 / 9, delta=1e-6)
        self.assertAlmostEqual(bands["informal"][4, 5], 4 / 9, delta=1e-6)
        self.assertEqual(bands["informal"][0, 5], 0.0)
        # Percentages or classes are a raster's forms.
        self.assertUsage([*self.layer_args(dict(paths, informal=informal)), "--settlement-input",
                          "percent", "-o", self.out()], "holds polygons", "percent")

    def test_sea_polygons_are_refused_here_and_work_in_inundation(self):
        paths, _ = self.rasters()
        sea = write_polygons(self.path("sea.gpkg"), "GPKG", UTM36S, "sea", [],
                             [(utm_box(-100, -100, 20, 250), {})])
        self.assertUsage([*self.layer_args(dict(paths, sea=sea)), "--grid", paths["water"],
                          "-o", self.out()], "holds polygons", "cityrisk inundation --sea")
        dem = np.full((ROWS, COLS), 5.0)
        dem[:, :2] = 0.5
        dem_path = write_raster(self.path("dem.tif"), dem)
        out = self.out("depth.tif")
        rc, _, err = run("inundation", "--dem", dem_path, "--sea", sea, "--sea-level", "1",
                         "-o", out)
        self.assertEqual(rc, 0, err)
        ds = gdal.Open(out)
        depth = ds.GetRasterBand(1).ReadAsArray()
        ds = None
        self.assertEqual(depth[0, 0], NODATA)          # the sea
        self.assertAlmostEqual(float(depth[0, 1]), 0.5, delta=1e-6)   # flooded, 1 - 0.5
        self.assertEqual(float(depth[0, 3]), 0.0)      # dry

    def test_renormalise_leaves_the_sea_unscored(self):
        """Issue 18, point 8: with --missing renormalise the sea (nodata in the depth raster)
        stays nodata, and the summary counts what each layer left without a value."""
        paths, raw = self.rasters()
        sea = raw["sea"].copy()
        sea[:, :2] = np.nan                 # the sea: 10 cells
        water = raw["water"].copy()
        water[0, 4] = np.nan                # a land cell without water: renormalised
        paths = dict(paths, sea=write_raster(self.path("seadepth.tif"), sea),
                     water=write_raster(self.path("w2.tif"), water))
        bands, summary, _ = self.score(*self.layer_args(paths), "--missing", "renormalise")
        self.assertTrue(np.isnan(bands["score"][:, :2]).all())
        self.assertTrue(np.isnan(bands["class"][:, :2]).all())
        self.assertFalse(np.isnan(bands["score"][:, 2:]).any())
        self.assertEqual(bands["indicators_present"][0, 4], 3)
        self.assertEqual(summary["cells_scored"], ROWS * (COLS - 2))
        self.assertEqual(summary["cells_missing"],
                         {"sea": 2 * ROWS, "water": 1, "informal": 0, "arrivals": 0})
        rc, _, err = run("score", *self.layer_args(paths), "--missing", "renormalise", "-o",
                         self.out())
        self.assertEqual(rc, 0, err)
        self.assertIn("cells without a value: sea 10 (the sea or beyond the DEM: never scored), "
                      "water 1, informal 0, arrivals 0", err)

if __name__ == "__main__":
    unittest.main()
