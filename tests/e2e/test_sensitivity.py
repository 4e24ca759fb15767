"""End-to-end tests of `cityrisk sensitivity` (docs/sensitivity.md, docs/uncertainty.md).

Every expected value comes from another route than the command's own model:
  - the nominal and the sampled zone scores from the real commands, `cityrisk score` then
    `cityrisk zonal --exposure`, run with the options of that model run (to 1e-6);
  - the rank quantiles, the top-N probabilities and the Sobol' indices from the runs the
    command lists (--runs), recomputed here with numpy: ranks by sorting, quantiles with
    numpy's default (linear) definition, first-order indices with Saltelli et al. (2010)
    and total ones with Jansen (1999), written out below from the papers, not the code.
The inputs are the sample city as its providers publish it: Aqueduct basins (GeoPackage
polygons), informal settlements (a Latin-1 Shapefile), the DEM's inundation under three
sea levels (a likely range) and arrivals from dated records.
"""
import csv
import json
import os
import shutil
import tempfile
import unittest

import numpy as np
from osgeo import gdal, ogr

from cliutil import CliTestCase, run, sample

gdal.UseExceptions()

SCENARIOS = ["ssp245-2100-p17", "ssp245-2100", "ssp245-2100-p83"]
WEIGHT_NAMES = ["sea", "water", "informal", "arrivals"]


class Inputs:
    """The sample city's layers, made once for the module."""
    folder = None

    @classmethod
    def make(cls):
        if cls.folder:
            return cls
        cls.folder = tempfile.mkdtemp(prefix="cityrisk-sens-")
        cls.depth = os.path.join(cls.folder, "inundation.tif")
        cls.arrivals = os.path.join(cls.folder, "arrivals.tif")
        cls.depth1 = os.path.join(cls.folder, "inundation1.tif")
        for args in (
                ["inundation", "--dem", sample("dem.tif"), "--scenario", ",".join(SCENARIOS), "-o", cls.depth],
                ["inundation", "--dem", sample("dem.tif"), "--scenario", "ssp245-2100", "-o", cls.depth1],
                ["arrivals", "--points", sample("arrivals.csv"), "--count-field", "arrivals", "--grid",
                 sample("dem.tif"), "--kernel", "quartic", "--bandwidth", "500", "-o", cls.arrivals]):
            rc, _, err = run(*args, "-q")
            if rc != 0:
                raise RuntimeError(f"{args[0]}: exit {rc}: {err}")
        return cls

    @classmethod
    def layers(cls, sea=None):
        """The layer options shared by score and sensitivity."""
        return ["--sea", sea or cls.depth, "--water", sample("aqueduct_baseline.gpkg"),
                "--informal", sample("informal_settlements.shp"), "--arrivals", cls.arrivals,
                "--grid", sample("dem.tif")]


def tearDownModule():
    if Inputs.folder:
        shutil.rmtree(Inputs.folder, ignore_errors=True)


def features(path):
    """The features' properties, in file order."""
    ds = ogr.Open(path)
    layer = ds.GetLayer(0)
    out = [json.loads(f.ExportToJson())["properties"] for f in layer]
    ds = None
    return out


def read_runs(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def zone_scores(rows, zones):
    """The runs' zone scores as an array runs x zones (NaN where empty)."""
    return np.array([[float(r[f"score_{k + 1}"]) if r[f"score_{k + 1}"] != "" else np.nan
                      for k in range(zones)] for r in rows])


def ranks_of(scores, ranked):
    """Ranks (1 = highest score) of the zones in ranked (a boolean mask), NaN elsewhere;
    equal scores share the best rank and the next rank is skipped (1, 2, 2, 4), as zonal
    ranks them (docs/zonal.md)."""
    out = np.full(scores.shape, np.nan)
    idx = np.flatnonzero(ranked)
    for r in range(scores.shape[0]):
        s = scores[r, idx]
        out[r, idx] = [1 + np.count_nonzero(s > v) for v in s]
    return out


def sobol_reference(y, d):
    """First-order (Saltelli 2010, eq. b) and total (Jansen 1999) indices of outputs y in
    the design order A, B, AB_1..AB_d per base sample, for the two usual variance
    definitions (population and sample): [(s1, st), (s1, st)]. The first-order estimate
    takes f(B) centred on f0, the mean of the A and B outputs (docs/uncertainty.md: the
    same expectation, E[f(AB_i) - f(A)] = 0, with less noise)."""
    y = np.asarray(y, dtype=float).reshape(-1, d + 2)
    a, b = y[:, 0], y[:, 1]
    both = np.concatenate([a, b])
    f0 = both.mean()
    out = []
    for ddof in (0, 1):
        v = both.var(ddof=ddof)
        s1 = np.array([np.mean((b - f0) * (y[:, 2 + i] - a)) / v for i in range(d)])
        st = np.array([np.mean((a - y[:, 2 + i]) ** 2) / 2 / v for i in range(d)])
        out.append((s1, st))
    return out


class SensitivityTest(CliTestCase):

    @classmethod
    def setUpClass(cls):
        cls.inputs = Inputs.make()

    def sensitivity(self, *extra, out="sens.geojson", runs="runs.csv", sea=None, check=True):
        args = ["sensitivity", "--zones", sample("neighbourhoods.gpkg"), "--id-field", "nbhd_id",
                "--name-field", "name", *self.inputs.layers(sea), "-o", self.path(out), "-q", *extra]
        if runs:
            args += ["--runs", self.path(runs)]
        rc, stdout, err = run(*args)
        if check:
            self.assertEqual(rc, 0, err)
        return rc, stdout, err

    def real_zone_scores(self, tag, weights=None, method=None, arrivals_ref=None, scenario="ssp245-2100"):
        """score_mean, score_rank and data_coverage per zone from `score` + `zonal --exposure`."""
        exposure, zones = self.path(f"exposure-{tag}.tif"), self.path(f"zones-{tag}.geojson")
        args = ["score", *self.inputs.layers(), "--scenario", scenario, "-o", exposure, "-q"]
        if weights is not None:
            args += ["--weights", ",".join(f"{n}={w!r}" for n, w in zip(WEIGHT_NAMES, weights))]
        if method:
            args += ["--method", method]
        if arrivals_ref is not None:
            args += ["--arrivals-ref", repr(arrivals_ref)]
        for a in (args, ["zonal", "--zones", sample("neighbourhoods.gpkg"), "--exposure", exposure,
                         "-o", zones, "-q"]):
            rc, _, err = run(*a)
            self.assertEqual(rc, 0, f"{a[0]}: {err}")
        return features(zones)

    def test_nominal_scores_and_ranks_are_those_of_score_then_zonal(self):
        self.sensitivity("--factor", "weights", "--samples", "8", "--scenario", "ssp245-2100")
        got = features(self.path("sens.geojson"))
        want = self.real_zone_scores("nominal")
        self.assertEqual(len(got), len(want))
        self.assertGreater(len(got), 10)
        for g, w in zip(got, want):
            self.assertEqual(g["nbhd_id"], w["nbhd_id"])
            self.assertAlmostEqual(g["data_coverage"], w["data_coverage"], delta=1e-6)
            if w["score_mean"] is None:
                self.assertIsNone(g["score_nominal"])
            else:
                self.assertAlmostEqual(g["score_nominal"], w["score_mean"], delta=1e-6, msg=g["nbhd_id"])
            self.assertEqual(g["rank_nominal"], w["score_rank"], g["nbhd_id"])

    def test_sampled_runs_are_those_of_the_real_commands(self):
        """A few model runs, re-run with score + zonal with their options (the issue's brute force)."""
        self.sensitivity("--factor", "weights", "--factor", "method=geometric,arithmetic",
                         "--factor", "arrivals_ref", "--factor", "sea_level", "--samples", "8",
                         "--scenario", "ssp245-2100")
        rows = read_runs(self.path("runs.csv"))
        self.assertEqual(len(rows), 8 * (7 + 2))  # d = 4 weights + method + a_ref + sea level
        zones = len(features(self.path("sens.geojson")))
        scores = zone_scores(rows, zones)
        for i in (0, 13, len(rows) - 1):
            r = rows[i]
            weights = [float(r["weight_" + n]) for n in WEIGHT_NAMES]
            self.assertAlmostEqual(sum(weights), 1.0, delta=1e-9)
            self.assertIn(r["method"], ("geometric", "arithmetic"))
            self.assertIn(r["sea_level"], SCENARIOS)
            want = self.real_zone_scores(f"run{i}", weights, r["method"], float(r["arrivals_ref"]),
                                         r["sea_level"])
            for k, w in enumerate(want):
                if w["score_mean"] is None:
                    self.assertTrue(np.isnan(scores[i, k]), f"run {i} zone {k + 1}")
                else:
                    self.assertAlmostEqual(scores[i, k], w["score_mean"], delta=1e-6,
                                           msg=f"run {i} zone {k + 1}")

    def test_rank_intervals_top_probability_and_indices_follow_from_the_runs(self):
        n, top = 32, 5
        self.sensitivity("--factor", "weights", "--samples", str(n), "--top", str(top),
                         "--bootstrap", "50", "--indices", self.path("indices.csv"),
                         "--scenario", "ssp245-2100")
        zones = features(self.path("sens.geojson"))
        rows = read_runs(self.path("runs.csv"))
        d = 4
        self.assertEqual(len(rows), n * (d + 2))
        scores = zone_scores(rows, len(zones))
        ranked = np.array([z["rank_nominal"] is not None for z in zones])
        self.assertGreater(ranked.sum(), top)
        ranks = ranks_of(scores, ranked)
        nominal = np.array([z["rank_nominal"] if z["rank_nominal"] is not None else np.nan for z in zones])
        for k, z in enumerate(zones):
            if not ranked[k]:
                for key in ("rank_p05", "rank_p50", "rank_p95"):
                    self.assertIsNone(z[key], z["nbhd_id"])
                continue
            p05, p50, p95 = np.quantile(ranks[:, k], [0.05, 0.5, 0.95])
            self.assertAlmostEqual(z["rank_p05"], p05, delta=1e-9, msg=z["nbhd_id"])
            self.assertAlmostEqual(z["rank_p50"], p50, delta=1e-9, msg=z["nbhd_id"])
            self.assertAlmostEqual(z["rank_p95"], p95, delta=1e-9, msg=z["nbhd_id"])
            self.assertAlmostEqual(z["p_top"], np.mean(ranks[:, k] <= top), delta=1e-12)
            s05, s50, s95 = np.quantile(scores[:, k], [0.05, 0.5, 0.95])
            self.assertAlmostEqual(z["score_p05"], s05, delta=1e-6)
            self.assertAlmostEqual(z["score_p95"], s95, delta=1e-6)
            # the zone's own indices, from its scores
            if np.ptp(scores[:, k]) > 0:
                refs = sobol_reference(scores[:, k], d)
                for i, name in enumerate(WEIGHT_NAMES):
                    got = (z[f"s1_weight_{name}"], z[f"st_weight_{name}"])
                    self.assertTrue(any(abs(got[0] - s1[i]) < 1e-6 and abs(got[1] - st[i]) < 1e-6
                                        for s1, st in refs), f"{z['nbhd_id']} {name}: {got} vs {refs}")
        # the city-wide indices of the mean absolute rank shift
        shift = np.nanmean(np.abs(ranks[:, ranked] - nominal[ranked]), axis=1)
        refs = sobol_reference(shift, d)
        with open(self.path("indices.csv"), newline="", encoding="utf-8") as f:
            table = [r for r in csv.DictReader(f) if r["output"] == "mean_abs_rank_shift"]
        self.assertEqual([r["factor"] for r in table], ["weight." + n for n in WEIGHT_NAMES])
        for i, r in enumerate(table):
            s1, st = float(r["s1"]), float(r["st"])
            self.assertTrue(any(abs(s1 - a[i]) < 1e-6 and abs(st - b[i]) < 1e-6 for a, b in refs),
                            f"{r['factor']}: {s1}, {st} vs {refs}")
            lo, hi = float(r["st_lo"]), float(r["st_hi"])
            self.assertLessEqual(lo, hi)

    def test_factor_ranges_are_those_asked_for(self):
        self.sensitivity("--factor", "weight.sea=0.1:0.5", "--factor", "method=geometric,inform",
                         "--factor", "arrivals_ref=100:300", "--samples", "64",
                         "--scenario", "ssp245-2100")
        rows = read_runs(self.path("runs.csv"))
        self.assertEqual(len(rows), 64 * 5)
        ws = np.array([float(r["weight_sea"]) for r in rows])
        others = np.array([[float(r["weight_" + n]) for n in WEIGHT_NAMES[1:]] for r in rows])
        # the raw sea weight, before renormalising with the nominal others (0.2 + 0.25 + 0.25)
        raw = 0.7 * ws / (1 - ws)
        self.assertGreaterEqual(raw.min(), 0.1 - 1e-9)
        self.assertLessEqual(raw.max(), 0.5 + 1e-9)
        self.assertLess(raw.min(), 0.15)
        self.assertGreater(raw.max(), 0.45)
        np.testing.assert_allclose(others / others.sum(axis=1, keepdims=True),
                                   np.tile([0.2 / 0.7, 0.25 / 0.7, 0.25 / 0.7], (len(rows), 1)), atol=1e-9)
        methods = [r["method"] for r in rows]
        self.assertEqual(set(methods), {"geometric", "inform"})
        a = np.array([float(r["arrivals_ref"]) for r in rows])
        self.assertTrue(((a >= 100) & (a <= 300)).all())
        self.assertNotIn("sea_level", rows[0])

    def test_the_default_ranges_are_half_either_side_of_the_nominal(self):
        _, out, _ = self.sensitivity("--factor", "weight.water", "--factor", "arrivals_ref",
                                     "--arrivals-ref", "200", "--samples", "64", "--json",
                                     "--scenario", "ssp245-2100")
        summary = json.loads(out)
        self.assertEqual(summary["runs"], 64 * 4)
        rows = read_runs(self.path("runs.csv"))
        a = np.array([float(r["arrivals_ref"]) for r in rows])
        self.assertGreaterEqual(a.min(), 100 - 1e-9)
        self.assertLessEqual(a.max(), 300 + 1e-9)
        ww = np.array([float(r["weight_water"]) for r in rows])
        raw = 0.8 * ww / (1 - ww)  # the other three nominal weights sum to 0.8
        self.assertGreaterEqual(raw.min(), 0.1 - 1e-9)
        self.assertLessEqual(raw.max(), 0.3 + 1e-9)

    def test_a_factor_file_says_the_same_as_the_command_line(self):
        spec = self.path("factors.json")
        with open(spec, "w", encoding="utf-8") as f:
            json.dump({"factors": [{"name": "weight.sea", "min": 0.1, "max": 0.5},
                                   {"name": "method", "values": ["geometric", "inform"]}]}, f)
        self.sensitivity("--factors", spec, "--samples", "16", "--scenario", "ssp245-2100",
                         out="a.geojson", runs="a.csv")
        self.sensitivity("--factor", "weight.sea=0.1:0.5", "--factor", "method=geometric,inform",
                         "--samples", "16", "--scenario", "ssp245-2100", out="b.geojson", runs="b.csv")
        self.assertEqual(read_runs(self.path("a.csv")), read_runs(self.path("b.csv")))

    def test_the_seed_makes_it_reproducible_and_the_threads_do_not_matter(self):
        common = ["--factor", "weights", "--samples", "16", "--scenario", "ssp245-2100"]
        self.sensitivity(*common, "--seed", "7", "--threads", "1", out="a.geojson", runs="a.csv")
        self.sensitivity(*common, "--seed", "7", "--threads", "2", out="b.geojson", runs="b.csv")
        self.sensitivity(*common, "--seed", "8", out="c.geojson", runs="c.csv")
        a, b, c = (read_runs(self.path(n)) for n in ("a.csv", "b.csv", "c.csv"))
        self.assertEqual(a, b)
        self.assertNotEqual(a, c)
        self.assertEqual(features(self.path("a.geojson")), features(self.path("b.geojson")))

    def test_sea_level_is_a_factor_among_the_bands(self):
        self.sensitivity("--factor", "sea_level", "--samples", "16")
        rows = read_runs(self.path("runs.csv"))
        self.assertEqual({r["sea_level"] for r in rows}, set(SCENARIOS))
        self.assertFails(["sensitivity", "--zones", sample("neighbourhoods.gpkg"),
                          *self.inputs.layers(self.inputs.depth1), "--factor", "sea_level",
                          "-o", self.path("x.geojson")], 2, "sea_level")
        self.assertFalse(os.path.exists(self.path("x.geojson")))

    def test_charts_are_written_as_png_and_svg(self):
        self.sensitivity("--factor", "weights", "--samples", "8", "--scenario", "ssp245-2100",
                         "--rank-chart", self.path("ranks.png"), "--indices-chart", self.path("indices.svg"),
                         runs=None)
        ds = gdal.Open(self.path("ranks.png"))
        self.assertGreater(ds.RasterXSize, 400)
        pixels = np.stack([ds.GetRasterBand(b + 1).ReadAsArray() for b in range(min(3, ds.RasterCount))])
        colours = np.unique(pixels.reshape(pixels.shape[0], -1), axis=1).shape[1]
        self.assertGreater(colours, 3, "a blank chart")
        ds = None
        with open(self.path("indices.svg"), encoding="utf-8") as f:
            svg = f.read()
        self.assertIn("<svg", svg)

    def test_bad_factors_and_outputs_are_refused_before_any_work(self):
        base = ["sensitivity", "--zones", sample("neighbourhoods.gpkg"), *self.inputs.layers(),
                "--scenario", "ssp245-2100", "-o", self.path("x.geojson")]
        self.assertFails(base + ["--factor", "weight.wind"], 2, "weight.wind")
        self.assertFails(base + ["--factor", "weights", "--factor", "weight.sea"], 2, "weight.sea")
        self.assertFails(base + ["--factor", "weight.sea=0.5:0.1"], 2, "weight.sea")
        self.assertFails(base + ["--factor", "method=geometric,cubist"], 2, "cubist")
        bad = self.path("bad.json")
        with open(bad, "w", encoding="utf-8") as f:
            f.write('{"factors": [{"name": "weight.sea", "min": 0.1,}]}')
        self.assertFails(base + ["--factors", bad], 2, "bad.json")
        self.assertFails(base + ["--samples", "1"], 2, "--samples")
        self.assertFails(base + ["--max-memory", "1"], 2, "--max-memory")
        self.assertFalse(os.path.exists(self.path("x.geojson")))
        # an existing output is kept (exit 4), an input is never an output
        with open(self.path("x.geojson"), "w") as f:
            f.write("keep")
        self.assertFails(base + ["--factor", "weights", "--samples", "4"], 4, "x.geojson")
        with open(self.path("x.geojson")) as f:
            self.assertEqual(f.read(), "keep")
        rc, _, _ = run(*base[:-1], self.path("y.geojson"), "--runs", self.inputs.arrivals, "--overwrite")
        self.assertNotEqual(rc, 0)
        self.assertTrue(gdal.Open(self.inputs.arrivals))

    def test_the_worked_example_of_docs_uncertainty(self):
        """The command and the figures of docs/uncertainty.md's worked example."""
        doc_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "uncertainty.md")
        with open(doc_path, encoding="utf-8") as f:
            doc = f.read()
        example = doc[doc.index("## Worked example"):]
        command = example[example.index("```sh") + 5:example.index("```", example.index("```sh") + 5)]
        args = command.replace("\\\n", " ").split()
        self.assertEqual(args[:2], ["cityrisk", "sensitivity"])
        where = {"build/sample-run/inundation-likely.tif": self.inputs.depth,
                 "build/sample-run/arrivals.tif": self.inputs.arrivals}
        args = [where.get(a, sample(a[len("samples/data/"):]) if a.startswith("samples/data/")
                          else self.path(a) if a.endswith((".csv", ".png", ".geojson")) else a)
                for a in args[1:]]
        rc, _, err = run(*args, "-q")
        self.assertEqual(rc, 0, err)

        def table(tag):
            body = example[example.index(f"<!-- {tag} -->"):example.index(f"<!-- /{tag} -->")]
            return [[c.strip() for c in line.strip().strip("|").split("|")]
                    for line in body.splitlines()[3:] if line.startswith("|")]

        zones = {z["name"]: z for z in features(self.path("sensitivity.geojson"))}
        rows = table("example-ranks")
        self.assertGreaterEqual(len(rows), 3)
        for name, nominal, interval, top in rows:
            z = zones[name]
            lo, hi = (float(v) for v in interval.split(" - "))
            self.assertEqual(z["rank_nominal"], int(nominal), name)
            self.assertAlmostEqual(z["rank_p05"], lo, delta=0.005, msg=name)
            self.assertAlmostEqual(z["rank_p95"], hi, delta=0.005, msg=name)
            self.assertAlmostEqual(z["p_top"], float(top), delta=0.005, msg=name)
        with open(self.path("sensitivity-indices.csv"), newline="", encoding="utf-8") as f:
            indices = {r["factor"]: r for r in csv.DictReader(f) if r["output"] == "mean_abs_rank_shift"}
        rows = table("example-indices")
        self.assertEqual([r[0] for r in rows], list(indices))
        for factor, s1, st in rows:
            self.assertAlmostEqual(float(indices[factor]["s1"]), float(s1), delta=0.005, msg=factor)
            self.assertAlmostEqual(float(indices[factor]["st"]), float(st), delta=0.005, msg=factor)

    def test_it_is_a_stage_of_run(self):
        pipeline = self.path("p.json")
        stage = {"stage": "sensitivity", "zones": sample("neighbourhoods.gpkg"), "id-field": "nbhd_id",
                 "sea": self.inputs.depth, "scenario": "ssp245-2100",
                 "water": sample("aqueduct_baseline.gpkg"), "informal": sample("informal_settlements.shp"),
                 "arrivals": self.inputs.arrivals, "grid": sample("dem.tif"),
                 "factor": ["weights", "arrivals_ref"], "samples": 8,
                 "indices": self.path("out/indices.csv"), "output": self.path("out/sens.geojson")}
        with open(pipeline, "w", encoding="utf-8") as f:
            json.dump({"stages": [stage]}, f)
        rc, _, err = run("run", pipeline, "-q")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(features(self.path("out/sens.geojson"))), len(features(sample("neighbourhoods.gpkg"))))
        rc, out, err = run("run", pipeline, "--dry-run", "--json")
        self.assertEqual(rc, 0, err)
        self.assertIn("up to date", out)

    def test_the_factors_file_is_an_input_never_an_output(self):
        spec = self.path("f.json")
        text = '{"factors": [{"name": "weight.sea", "min": 0.1, "max": 0.5}]}'
        with open(spec, "w", encoding="utf-8") as f:
            f.write(text)
        base = ["sensitivity", "--zones", sample("neighbourhoods.gpkg"), *self.inputs.layers(),
                "--scenario", "ssp245-2100", "--factors", spec, "--samples", "8", "--overwrite"]
        self.assertFails(base + ["-o", self.path("t1.geojson"), "--runs", spec], 2, "f.json", "is the input")
        self.assertFails(base + ["-o", self.path("t1.geojson"), "--indices", spec], 2, "f.json", "is the input")
        self.assertFails(base + ["-o", spec, "-of", "GeoJSON"], 2, "f.json", "is the input")
        with open(spec, encoding="utf-8") as f:
            self.assertEqual(f.read(), text)
        self.assertFalse(os.path.exists(self.path("t1.geojson")))
        # and the zones output names it among its inputs
        rc, _, err = run(*base, "-o", self.path("t2.geojson"), "-q")
        self.assertEqual(rc, 0, err)
        with open(self.path("t2.geojson"), encoding="utf-8") as f:
            inputs = json.load(f)["cityrisk"]["CITYRISK_INPUTS"]
        self.assertIn({"role": "factors", "path": spec}, inputs)

    def test_the_nominal_band_is_the_median_level_not_the_middle_position(self):
        mixed = self.path("mixed.tif")
        rc, _, err = run("inundation", "--dem", sample("dem.tif"), "--scenario",
                         "ssp245-2100,ssp245-2100-p17,ssp245-2100-p83", "-o", mixed, "-q")
        self.assertEqual(rc, 0, err)
        # the levels by gdal: the median one is the nominal band
        ds = gdal.Open(mixed)
        levels = {ds.GetRasterBand(b).GetMetadataItem("SCENARIO"):
                  float(ds.GetRasterBand(b).GetMetadataItem("WATER_LEVEL_M")) for b in range(1, 4)}
        ds = None
        median = sorted(levels, key=levels.get)[1]
        self.assertEqual(median, "ssp245-2100")
        _, out, _ = self.sensitivity("--factor", "sea_level", "--samples", "4", "--json", sea=mixed, runs=None)
        summary = json.loads(out)
        self.assertEqual(summary["scenario"], median)
        self.assertEqual(summary["sea_band"], 1)

    def test_a_zero_weight_stays_zero_without_a_factor_named(self):
        weights = ["--weights", "sea=0.4,water=0,informal=0.3,arrivals=0.3", "--samples", "8", "--json",
                   "--overwrite"]
        for extra in ([], ["--factor", "weights"]):
            _, out, _ = self.sensitivity(*weights, "--scenario", "ssp245-2100", *extra)
            names = [f["name"] for f in json.loads(out)["factors"]]
            self.assertNotIn("weight.water", names)
            self.assertIn("weight.sea", names)
            rows = read_runs(self.path("runs.csv"))
            self.assertEqual({float(r["weight_water"]) for r in rows}, {0.0})
            self.assertGreater(len({r["weight_sea"] for r in rows}), 1)
        # an explicit weight.water without a range is still refused
        rc, _, err = self.sensitivity(*weights, "--scenario", "ssp245-2100", "--factor", "weight.water",
                                      check=False)
        self.assertEqual(rc, 2, err)
        self.assertIn("weight.water", err)

    def test_the_default_method_factor_holds_the_nominal_method(self):
        _, out, _ = self.sensitivity("--method", "inform", "--scenario", "ssp245-2100", "--samples", "8",
                                     "--json")
        summary = json.loads(out)
        method = [f for f in summary["factors"] if f["name"] == "method"][0]
        self.assertEqual(method["values"], ["inform", "geometric", "arithmetic"])
        _, out, _ = self.sensitivity("--method", "arithmetic", "--scenario", "ssp245-2100", "--samples", "8",
                                     "--json", "--overwrite")
        method = [f for f in json.loads(out)["factors"] if f["name"] == "method"][0]
        self.assertEqual(method["values"], ["arithmetic", "geometric"])

    def test_demand_share_without_population_is_refused(self):
        rc, _, err = self.sensitivity("--scenario", "ssp245-2100", "--factor", "demand_share", "--samples", "4",
                                      check=False, out="ds.geojson")
        self.assertEqual(rc, 2, err)
        self.assertIn("demand_share", err)
        self.assertIn("--population", err)
        self.assertFalse(os.path.exists(self.path("ds.geojson")))

    def test_a_default_sea_level_factor_that_mixes_scenarios_is_warned_of(self):
        mixed = self.path("years.tif")
        rc, _, err = run("inundation", "--dem", sample("dem.tif"), "--scenario",
                         "ssp245-2050,ssp245-2100,ssp585-2100", "-o", mixed, "-q")
        self.assertEqual(rc, 0, err)
        rc, _, err = run("sensitivity", "--zones", sample("neighbourhoods.gpkg"), *self.inputs.layers(mixed),
                         "--samples", "4", "-o", self.path("y.geojson"))
        self.assertEqual(rc, 0, err)
        warning = [l for l in err.splitlines() if "mixes" in l]
        self.assertEqual(len(warning), 1, err)
        for name in ("ssp245-2050", "ssp245-2100", "ssp585-2100"):
            self.assertIn(name, warning[0])
        # a likely range is no mix
        rc, _, err = run("sensitivity", "--zones", sample("neighbourhoods.gpkg"), *self.inputs.layers(),
                         "--samples", "4", "-o", self.path("z.geojson"))
        self.assertEqual(rc, 0, err)
        self.assertNotIn("mixes", err)

    def test_an_index_without_variance_is_shown_as_n_a(self):
        # a_ref moved by a millionth changes no rank: the shift has no variance, its index none
        rc, out, err = run("sensitivity", "--zones", sample("neighbourhoods.gpkg"), *self.inputs.layers(),
                           "--scenario", "ssp245-2100", "--arrivals-ref", "100",
                           "--factor", "arrivals_ref=100:100.0001", "--samples", "4",
                           "-o", self.path("na.geojson"))
        self.assertEqual(rc, 0, err)
        line = [l for l in err.splitlines() if "mean_abs_rank_shift" in l][0]
        self.assertNotIn("nan", line)
        self.assertIn("S1 n/a ST n/a", line)

    def test_a_failed_run_leaves_no_chart_and_no_csv(self):
        # /proc takes no new file: the zones fail at the end, after every other output is made
        outputs = {"--rank-chart": "ranks.png", "--indices-chart": "indices.svg", "--indices": "idx.csv",
                   "--runs": "all-runs.csv"}
        folder = self.path("failed")
        os.makedirs(folder)
        extra = [a for k, v in outputs.items() for a in (k, os.path.join(folder, v))]
        rc, _, err = run("sensitivity", "--zones", sample("neighbourhoods.gpkg"), *self.inputs.layers(),
                         "--scenario", "ssp245-2100", "--factor", "weights", "--samples", "4",
                         "-o", "/proc/cityrisk-sens-test.geojson", *extra)
        self.assertNotEqual(rc, 0, err)
        self.assertEqual(os.listdir(folder), [])
        # the same run to a real folder makes the whole set, and again with --overwrite
        for again in ([], ["--overwrite"]):
            rc, _, err = run("sensitivity", "--zones", sample("neighbourhoods.gpkg"), *self.inputs.layers(),
                             "--scenario", "ssp245-2100", "--factor", "weights", "--samples", "4",
                             "-o", os.path.join(folder, "z.geojson"), *extra, *again)
            self.assertEqual(rc, 0, err)
            self.assertEqual(sorted(os.listdir(folder)), sorted(list(outputs.values()) + ["z.geojson"]))

    def test_sea_band_and_the_options_are_checked_as_score_checks_them(self):
        # band 2 of the likely-range raster is the median (gdal says which)
        ds = gdal.Open(self.inputs.depth)
        name = ds.GetRasterBand(2).GetMetadataItem("SCENARIO")
        ds = None
        _, out, _ = self.sensitivity("--sea-band", "2", "--factor", "weights", "--samples", "4", "--json",
                                     runs=None, out="band.geojson")
        summary = json.loads(out)
        self.assertEqual((summary["sea_band"], summary["scenario"]), (2, name))
        base = ["sensitivity", "--zones", sample("neighbourhoods.gpkg"), *self.inputs.layers(),
                "--factor", "weights", "-o", self.path("x.geojson")]
        score = ["score", *self.inputs.layers(), "-o", self.path("x.tif")]
        for extra in (["--sea-band", "2", "--scenario", "ssp245-2100"], ["--sea-band", "0"],
                      ["--scenario", "ssp245-2100", "--sea-depth-full", "0"],
                      ["--scenario", "ssp245-2100", "--arrivals-ref", "-1"],
                      ["--scenario", "ssp245-2100", "--demand-share", "-0.5"]):
            _, _, err = run(*score, *extra)
            expected = err.splitlines()[0].split(": ", 1)[1]
            rc, _, err = run(*base, *extra)
            self.assertEqual(rc, 2, err)
            self.assertEqual(err.splitlines()[0].split(": ", 1)[1], expected)
        self.assertFalse(os.path.exists(self.path("x.geojson")))

    def test_the_docs_name_the_outputs_the_command_writes(self):
        rc, _, err = run("sensitivity", "--zones", sample("neighbourhoods.gpkg"), *self.inputs.layers(),
                         "--population", sample("population.tif"), "--scenario", "ssp245-2100",
                         "--factor", "weights", "--samples", "4", "-o", self.path("pop.geojson"), "-q")
        self.assertEqual(rc, 0, err)
        written = set(features(self.path("pop.geojson"))[0])
        docs = os.path.join(os.path.dirname(__file__), "..", "..", "docs")
        with open(os.path.join(docs, "uncertainty.md"), encoding="utf-8") as f:
            text = f.read()
        import re
        named = set(re.findall(r"water_uplift_\w+", text))
        self.assertTrue(named)
        self.assertLessEqual(named, written)
        # -o - is refused, as docs/sensitivity.md says
        self.assertFails(["sensitivity", "--zones", sample("neighbourhoods.gpkg"), *self.inputs.layers(),
                          "--scenario", "ssp245-2100", "-o", "-"], 2, "stream")
        with open(os.path.join(docs, "sensitivity.md"), encoding="utf-8") as f:
            self.assertIn("`-o -` is refused", " ".join(f.read().split()))


if __name__ == "__main__":
    unittest.main()
