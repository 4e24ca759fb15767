#!/usr/bin/env python3
"""End-to-end: `cityrisk report`, opened in a real headless Chromium (tests/e2e/browser.py).

The sample city's outputs are made once for the module with the real commands, as the sample
pipeline makes them (samples/pipeline.json: inundation of two scenarios that class two zones
differently, arrivals, score and zonal per scenario, a short sensitivity run), then
`cityrisk report --by scenario` over both views. The page is checked through the DOM contract
of the page (report_html.c writes it): every value of the table against the zonal GeoJSON read
with OGR, sorting by mouse and keyboard, the filter, the scenario switch against the classes'
colours the score raster records (its class band's CLASS_COLORS), pixels of a 1280 px
screenshot, the A4 PDF rendered by pdftoppm and read by pdftotext. Other fixtures are written by
the tests: zones whose names and title need escaping, and a 100 x 100 grid of 10,000 zones.

    CITYRISK=build/release/cli/cityrisk CITYRISK_SAMPLES=samples/data \\
        /usr/bin/python3 tests/e2e/test_report.py -v

The browser tests skip (with the reason) only when Chromium cannot be installed or started.
REPORT_KEEP=DIR keeps the pages, screenshots and PDF pages there to look at.
"""
import datetime
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np
from osgeo import gdal, ogr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser import Browser, BrowserUnavailable, pdf_pages, pdf_render, pdf_text  # noqa: E402
from cliutil import CITYRISK, SAMPLES, CliTestCase, run  # noqa: E402

gdal.UseExceptions()
ogr.UseExceptions()

SCENARIOS = ["ssp245-2050", "stress-2m"]   # the sample city's classes differ (two zones)
CITY = "Port Azul"
DEFAULT_TITLE = "Migrant exposure to climate hazards"
NO_CLASS_COLOUR = "#d9d9d9"
PAGE_ROWS = 100            # CR_REPORT_PAGE_ROWS
# Above CR_REPORT_LARGE_ZONES zones the page's data holds six significant digits (i21 925e83b:
# report_html.c's LARGE_VALUE_DIGITS, where the values are most of the file): half a unit
# of the sixth digit, relative.
LARGE_REL_TOL = 5e-6
# The 10,000-zone report stays below 8 MB: 800 bytes a zone is room for its table row (12
# numbers of up to 10 digits and a name in the JSON: ~180 B), its outline (a square
# simplified: ~60 B of path data, ~200 B of element and aria-label) and markup; a file of
# that size still goes by e-mail (most providers take 10-25 MB) and opens in a second.
LARGE_ZONES, LARGE_BOUND = 10000, 8_000_000
# The A4 print of the sample city (60 zones, two views, sensitivity): see PrintedReport.
EXPECTED_PAGES = 9
KEEP = os.environ.get("REPORT_KEEP")


# ---------------------------------------------------------------------------------------------
# Fixtures


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def features(path):
    """The features' properties, in file order, as OGR reads them (missing = None)."""
    ds = ogr.Open(path)
    out = [json.loads(f.ExportToJson())["properties"] for f in ds.GetLayer(0)]
    ds = None
    return out


def class_colours(exposure):
    """The class colours the score raster records (its class band's CLASS_COLORS)."""
    ds = gdal.Open(exposure)
    for i in range(1, ds.RasterCount + 1):
        band = ds.GetRasterBand(i)
        if band.GetDescription() == "class":
            return [c.lower() for c in json.loads(band.GetMetadataItem("CLASS_COLORS"))]
    raise AssertionError(f"{exposure}: no class band")


def field_of(props, key, scenario):
    """zonal's field for a metric in a view of the scenario: KEY_<scenario> for the metrics
    zonal writes per sea scenario, else KEY."""
    per_scenario = key + "_" + scenario.replace("-", "_")
    return per_scenario if per_scenario in props else key


def keep(name, data):
    if KEEP:
        os.makedirs(KEEP, exist_ok=True)
        with open(os.path.join(KEEP, name), "wb") as f:
            f.write(data)


def run_ok(*args, cwd=None):
    """Runs cityrisk (in cwd when given); returns (stdout, seconds); raises on failure."""
    t = time.monotonic()
    proc = subprocess.run([CITYRISK, *args], capture_output=True, text=True, timeout=300, cwd=cwd)
    if proc.returncode != 0:
        raise AssertionError(f"cityrisk {args[0]}: exit {proc.returncode}: {proc.stderr}")
    return proc.stdout, time.monotonic() - t


def png_pixels(data):
    """The RGB pixels of a PNG as an array rows x columns x 3 (GDAL's PNG driver)."""
    name = "/vsimem/report-%d.png" % id(data)
    gdal.FileFromMemBuffer(name, data)
    try:
        ds = gdal.Open(name)
        px = np.dstack([ds.GetRasterBand(i + 1).ReadAsArray() for i in range(3)])
        ds = None
    finally:
        gdal.Unlink(name)
    return px


def colour_counts(px):
    """{(r, g, b): pixels} of an array rows x columns x 3."""
    flat = px.reshape(-1, 3).astype(np.uint32)
    keys, counts = np.unique((flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2], return_counts=True)
    return {((int(k) >> 16) & 255, (int(k) >> 8) & 255, int(k) & 255): int(c) for k, c in zip(keys, counts)}


class SampleCity:
    """The sample city's outputs and its report, made once for the module. The commands run
    in the folder with relative paths (the samples through a link named data), as in a
    user's project folder: the paths the report prints, and so its printed pages, are the
    same on every machine."""
    folder = None

    @classmethod
    def make(cls):
        if cls.folder:
            return cls
        cls.folder = tempfile.mkdtemp(prefix="cityrisk-report-")
        os.symlink(os.path.abspath(SAMPLES), os.path.join(cls.folder, "data"))
        p = lambda name: os.path.join(cls.folder, name)   # noqa: E731
        depth, arrivals, exposure, zones = ("inundation.tif", "arrivals.tif", "exposure-{}.tif",
                                            "neighbourhoods-{}.geojson")
        cls.depth, cls.arrivals = p(depth), p(arrivals)
        cls.exposure = {s: p(exposure.format(s)) for s in SCENARIOS}
        cls.zones = {s: p(zones.format(s)) for s in SCENARIOS}
        cls.sensitivity, cls.report = p("sensitivity.geojson"), p("report.html")
        layers = ["--water", "data/aqueduct_baseline.gpkg", "--informal", "data/informal_settlements.shp",
                  "--arrivals", arrivals, "--population", "data/population.tif"]
        t0 = time.monotonic()
        here = dict(cwd=cls.folder)
        run_ok("inundation", "--dem", "data/dem.tif", "--scenario", ",".join(SCENARIOS), "-o", depth,
               "-q", **here)
        run_ok("arrivals", "--points", "data/arrivals.csv", "--count-field", "arrivals", "--date-field",
               "date", "--grid", "data/dem.tif", "--kernel", "quartic", "--bandwidth", "500",
               "-o", arrivals, "-q", **here)
        for s in SCENARIOS:
            run_ok("score", "--sea", depth, "--scenario", s, *layers, "--grid", "data/dem.tif",
                   "-o", exposure.format(s), "-q", **here)
            run_ok("zonal", "--zones", "data/neighbourhoods.gpkg", "--id-field", "nbhd_id",
                   "--name-field", "name", "--exposure", exposure.format(s), "--sea", depth,
                   *layers, "-o", zones.format(s), "-q", **here)
        run_ok("sensitivity", "--zones", "data/neighbourhoods.gpkg", "--id-field", "nbhd_id",
               "--name-field", "name", "--sea", depth, "--scenario", SCENARIOS[0], *layers,
               "--grid", "data/dem.tif", "--samples", "32", "-o", "sensitivity.geojson", "-q", **here)
        cls.inputs_seconds = time.monotonic() - t0
        out, cls.report_seconds = run_ok(   # the summary (--json) on stdout
            "report", "--by", "scenario",
            *[a for s in SCENARIOS for a in ("--zones", f"{s}={zones.format(s)}")],
            *[a for s in SCENARIOS for a in ("--exposure", f"{s}={exposure.format(s)}")],
            "--sensitivity", "sensitivity.geojson", "--inundation", depth, "--city", CITY,
            "-o", "report.html", "--json", **here)
        cls.summary = json.loads(out)
        cls.props = {s: features(cls.zones[s]) for s in SCENARIOS}
        cls.colours = class_colours(cls.exposure[SCENARIOS[0]])
        cls.bytes = os.path.getsize(cls.report)
        sys.stderr.write(f"\n[sample city: inputs {cls.inputs_seconds:.1f} s, report "
                         f"{cls.report_seconds:.2f} s, report.html {cls.bytes} bytes] ")
        with open(cls.report, "rb") as f:
            keep("report.html", f.read())
        return cls

    @classmethod
    def by_name(cls, scenario):
        return {f["name"]: f for f in cls.props[scenario]}

    @classmethod
    def colour_of(cls, props):
        c = props.get("score_class")
        return NO_CLASS_COLOUR if c is None else cls.colours[int(c) - 1]


_browser = None


def browser():
    """The module's one Chromium (started on first use); SkipTest when it cannot run."""
    global _browser
    if _browser is None:
        try:
            _browser = Browser()
        except BrowserUnavailable as e:
            raise unittest.SkipTest(f"no headless Chromium: {e}")
    return _browser


def tearDownModule():
    if _browser is not None:
        _browser.close()
    if SampleCity.folder:
        shutil.rmtree(SampleCity.folder, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# What the page shows (JavaScript evaluated in it)

HEADS_JS = """[...document.querySelectorAll('#zones-table thead th')].map(h => ({
  key: h.getAttribute('data-key'), scope: h.getAttribute('scope'), tabindex: h.getAttribute('tabindex'),
  sort: h.getAttribute('aria-sort'), text: h.innerText.trim()}))"""
ROWS_JS = """[...document.querySelectorAll('#zones-table tbody tr')].map(r => ({
  zone: r.getAttribute('data-zone'), visible: r.getClientRects().length > 0,
  head: [...r.querySelectorAll('th')].map(h => [h.getAttribute('scope'), h.innerText.trim()]),
  cells: [...r.querySelectorAll('td')].map(td => [td.getAttribute('data-value'), td.innerText.trim()])}))"""
FILLS_JS = """Object.fromEntries([...document.querySelectorAll('#zones-map path.zone')].map(p =>
  [p.getAttribute('data-zone'), (p.getAttribute('fill') || '').toLowerCase()]))"""
VISIBLE_JS = """(e => !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden'
  && getComputedStyle(e).display !== 'none' && +getComputedStyle(e).opacity > 0)"""
# For each zone's path, a pixel deep inside its fill (viewport coordinates): the path is what
# the browser finds there and 4 px around it, so no outline nor anti-aliased edge is sampled.
INTERIOR_JS = """(() => { const out = {};
  const hit = (p, x, y) => document.elementFromPoint(x + 0.5, y + 0.5) === p;
  for (const p of document.querySelectorAll('#zones-map path.zone')) {
    const r = p.getBoundingClientRect(); let found = null;
    for (let n = 2; n <= 32 && !found; n *= 2)
      for (let i = 1; i < n && !found; i++) for (let j = 1; j < n && !found; j++) {
        const x = Math.floor(r.left + r.width * i / n), y = Math.floor(r.top + r.height * j / n);
        if (hit(p, x, y) && hit(p, x - 4, y) && hit(p, x + 4, y) && hit(p, x, y - 4) && hit(p, x, y + 4)
            && hit(p, x - 4, y - 4) && hit(p, x + 4, y + 4) && hit(p, x - 4, y + 4) && hit(p, x + 4, y - 4))
          found = [x, y];
      }
    out[p.getAttribute('data-zone')] = found;
  } return out; })()"""
RECT_JS = """(s => { const r = document.querySelector(s).getBoundingClientRect();
  return [r.left, r.top, r.width, r.height]; })(%s)"""


def hex_rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def number_shown(text):
    """The number a cell's text shows (thousands separators and a % sign dropped), and its
    decimals; None when the text is not a number (a class name)."""
    t = text.replace(",", "").replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
    t = t.replace("\u2212", "-").rstrip("%")
    if not re.fullmatch(r"-?\d+(\.\d+)?", t):
        return None
    return float(t), len(t.split(".")[1]) if "." in t else 0


class PageCase(unittest.TestCase):
    """A test of a page in the module's browser; self.b, with helpers over the DOM contract."""

    page = None   # set by subclasses' setUpClass

    @classmethod
    def setUpClass(cls):
        cls.b = browser()

    def setUp(self):
        self.b.send("Emulation.clearDeviceMetricsOverride")   # a screenshot's viewport ends
        self.b.open(self.page)
        self.assertLoadedClean()

    def assertLoadedClean(self):
        """No network request (refused or not), no console error, no JS exception."""
        self.assertEqual(self.b.blocked, [], "requests to the network")
        local = ("file:", "data:", "blob:", "about:")
        self.assertEqual([u for u in self.b.requests if not u.startswith(local)],
                         [], "requests other than the file itself and data: URLs")
        self.assertEqual(self.b.errors(), [], "console errors or exceptions")
        self.assertEqual(self.b.dialogs, [])

    def heads(self):
        return self.b.evaluate(HEADS_JS)

    def rows(self, visible_only=True):
        rows = self.b.evaluate(ROWS_JS)
        return [r for r in rows if r["visible"]] if visible_only else rows

    def column(self, key, rows=None):
        """The data-value of the column with data-key key, in row order."""
        keys = [h["key"] for h in self.heads()]
        i = keys.index(key) - 1   # the first th is the name (a th, not a td, in the rows)
        return [r["cells"][i][0] for r in (rows if rows is not None else self.rows())]

    def visible(self, selector):
        return self.b.evaluate("%s(document.querySelector(%s))" % (VISIBLE_JS, json.dumps(selector)))

    def assertRowsHold(self, rows, by_name, scenario, rel_tol=1e-9):
        """Each row holds, in td[data-value], the values of the zone of that name (by_name:
        name -> properties as OGR reads them) to rel_tol relative (10 significant digits),
        "" when missing; its text is that value formatted (percent columns x100)."""
        self.assertTrue(rows, "no row shown")
        heads = self.heads()
        keys = [h["key"] for h in heads]
        self.assertEqual(keys[0], "name")
        for row in rows:
            self.assertEqual([s for s, _ in row["head"]], ["row"], row["head"])
            name = row["head"][0][1]
            self.assertIn(name, by_name, f"a row for an unknown zone {name!r}")
            props = by_name[name]
            self.assertEqual(len(row["cells"]), len(keys) - 1, name)
            for head, (value, text) in zip(heads[1:], row["cells"]):
                key = head["key"]
                want = props.get(field_of(props, key, scenario))
                where = f"{name} / {key} / {scenario}"
                self.assertIsNotNone(value, f"{where}: no data-value")
                if want is None:
                    self.assertEqual(value, "", where)
                    self.assertNotRegex(text, r"\d", where)
                    continue
                self.assertNotEqual(value, "", f"{where}: empty, the file has {want!r}")
                got = float(value)
                self.assertTrue(math.isclose(got, want, rel_tol=rel_tol, abs_tol=0.0),
                                f"{where}: data-value {value} != {want!r}")
                shown = number_shown(text)
                if shown is not None:
                    scale = 100.0 if "%" in head["text"] else 1.0
                    number, decimals = shown
                    self.assertLessEqual(abs(number - want * scale),
                                         0.5 * 10 ** -decimals + rel_tol * abs(want * scale),
                                         f"{where}: shows {text!r} for {want!r}")
                else:
                    self.assertNotEqual(text, "", where)

    def assertSortedBy(self, key, direction):
        """The visible rows are in the order of key's values (missing last either way)."""
        values = self.column(key)
        present = [float(v) for v in values if v != ""]
        self.assertEqual(values[:len(present)], [v for v in values if v != ""],
                         f"{key} {direction}: a missing value before a number")
        self.assertEqual(present, sorted(present, reverse=direction == "descending"),
                         f"{key} {direction}")


# ---------------------------------------------------------------------------------------------
# The sample city's page


class SampleCityPage(PageCase):
    """The sample city's report: contents, table, sorting, filter, scenario switch, map."""

    @classmethod
    def setUpClass(cls):
        cls.city = SampleCity.make()
        cls.page = cls.city.report
        super().setUpClass()

    def test_loads_offline_with_its_header(self):
        b = self.b
        t = time.monotonic()
        b.open(self.page)
        sys.stderr.write(f"[open {time.monotonic() - t:.2f} s] ")
        self.assertLoadedClean()
        self.assertEqual(b.evaluate("document.documentElement.lang"), "en")
        self.assertEqual(b.evaluate("document.title"), DEFAULT_TITLE)
        self.assertEqual(b.evaluate("document.querySelector('header h1').innerText.trim()"), DEFAULT_TITLE)
        self.assertEqual(b.evaluate("document.querySelector('header .city').innerText.trim()"), CITY)
        meta = b.evaluate("document.querySelector('header .meta').innerText")
        version = run("--version")[1].split()[1]
        self.assertIn("cityrisk " + version, meta)
        days = {d.isoformat() for d in (datetime.date.today(),
                                        datetime.datetime.now(datetime.timezone.utc).date())}
        self.assertTrue(set(re.findall(r"\d{4}-\d{2}-\d{2}", meta)) & days, meta)
        for section in ("summary", "map", "table", "top", "ranks", "methods", "provenance"):
            self.assertTrue(b.evaluate(f"(s => !!s && s.innerText.trim().length > 0)"
                                       f"(document.querySelector('section#{section}'))"), section)
        # nothing on the page is fetched: no src/href to any URL but data: and in-page anchors
        refs = b.evaluate("""[...document.querySelectorAll('[src],[href],[srcset]')].map(e =>
            e.getAttribute('src') || e.getAttribute('href') || e.getAttribute('srcset'))""")
        self.assertEqual([r for r in refs if not r.startswith(("data:", "#"))], [])

    def test_json_summary_says_what_the_report_holds(self):
        s = self.city.summary
        keys = ("output", "bytes", "views", "zones", "images", "sensitivity", "paged")
        self.assertEqual({k: s[k] for k in keys},
                         {"output": "report.html", "bytes": self.city.bytes, "views": len(SCENARIOS),
                          "zones": len(self.city.props[SCENARIOS[0]]), "images": len(SCENARIOS),
                          "sensitivity": True, "paged": False})

    def test_every_input_is_in_the_provenance(self):
        text = self.b.evaluate("document.querySelector('section#provenance').innerText")
        for path in [*self.city.zones.values(), *self.city.exposure.values(), self.city.sensitivity,
                     self.city.depth]:
            self.assertIn(os.path.basename(path), text)

    def test_table_rows_are_the_zones_with_their_values(self):
        heads = self.heads()
        for h in heads:
            self.assertEqual((h["scope"], h["tabindex"], h["sort"]), ("col", "0", "none"), h)
        keys = [h["key"] for h in heads]
        for key in ("score_mean", "score_class", "score_rank", "arrivals_total", "arrivals_flooded",
                    "informal_area_share", "water_stress_mean"):
            self.assertIn(key, keys)
        # units in the headers
        self.assertIn("people", heads[keys.index("arrivals_total")]["text"])
        self.assertIn("%", heads[keys.index("informal_area_share")]["text"])
        rows = self.rows()
        props = self.city.props[SCENARIOS[0]]
        self.assertEqual(len(rows), len(props))
        self.assertEqual(sorted(r["head"][0][1] for r in rows), sorted(p["name"] for p in props))
        self.assertEqual(len({r["zone"] for r in rows}), len(rows))
        self.assertRowsHold(rows, self.city.by_name(SCENARIOS[0]), SCENARIOS[0])
        # some values are missing in the sample city (no arrivals: no flooded share)
        self.assertIn("", self.column("arrivals_flooded_share", rows))
        caption = self.b.evaluate("document.querySelector('#zones-table caption').innerText.trim()")
        self.assertNotEqual(caption, "")

    def sortable_key(self):
        """A column with missing values and several distinct numbers."""
        for key in ("arrivals_flooded_share", "flood_area_share", "score_arrivals", "arrivals_total"):
            values = self.column(key)
            if "" in values and len(set(values)) >= 3:   # missing and two numbers at least
                return key
        self.fail("no column with missing values to sort")

    def test_clicking_a_header_sorts_both_ways_missing_last(self):
        for key in (self.sortable_key(), "arrivals_total"):
            with self.subTest(key=key):
                self.click_sorts(key)
        self.assertLoadedClean()

    def click_sorts(self, key):
        names = sorted(r["head"][0][1] for r in self.rows())
        selector = f'#zones-table th[data-key="{key}"]'
        directions = []
        for _ in range(2):
            self.b.click(selector)
            sort = {h["key"]: h["sort"] for h in self.heads()}
            self.assertIn(sort[key], ("ascending", "descending"))
            self.assertEqual({k for k, s in sort.items() if s != "none"}, {key})
            self.assertSortedBy(key, sort[key])
            directions.append(sort[key])
            self.assertEqual(sorted(r["head"][0][1] for r in self.rows()), names)
        self.assertEqual(set(directions), {"ascending", "descending"})

    def test_enter_and_space_on_a_header_sort(self):
        selector = '#zones-table th[data-key="score_mean"]'
        self.b.press("Enter", selector)
        first = {h["key"]: h["sort"] for h in self.heads()}["score_mean"]
        self.assertIn(first, ("ascending", "descending"))
        self.assertSortedBy("score_mean", first)
        self.b.press(" ", selector)
        second = {h["key"]: h["sort"] for h in self.heads()}["score_mean"]
        self.assertEqual({first, second}, {"ascending", "descending"})
        self.assertSortedBy("score_mean", second)
        # Space sorted rather than scrolled the page
        self.assertLoadedClean()

    def test_filter_keeps_the_names_containing_the_text(self):
        names = [p["name"] for p in self.city.props[SCENARIOS[0]]]
        for typed in ("ma", "MA", "ê", "zzz-no-such-zone"):
            self.b.evaluate("(f => { f.value = ''; f.dispatchEvent(new Event('input', {bubbles: true})); })"
                            "(document.getElementById('filter'))")
            if typed.isascii():
                self.b.focus("input#filter")
                for ch in typed:
                    self.b.press(ch)
            else:
                self.b.type_text(typed, "input#filter")
            self.b.pump(0.2)
            want = sorted(n for n in names if typed.lower() in n.lower())
            self.assertEqual(sorted(r["head"][0][1] for r in self.rows()), want, typed)
        self.assertEqual(self.b.evaluate("document.getElementById('filter').type"), "search")
        self.assertLoadedClean()

    def switch_to(self, view):
        self.b.evaluate("(s => { s.value = %s; s.dispatchEvent(new Event('input', {bubbles: true}));"
                        " s.dispatchEvent(new Event('change', {bubbles: true})); })"
                        "(document.getElementById('scenario'))" % json.dumps(str(view)))
        self.b.pump(0.1)

    def names_by_zone(self):
        return {r["zone"]: r["head"][0][1] for r in self.rows(visible_only=False)}

    def expected_fills(self, scenario):
        by_name, names = self.city.by_name(scenario), self.names_by_zone()
        return {k: self.city.colour_of(by_name[n]) for k, n in names.items()}

    def test_scenario_switch_recolours_the_map_and_the_table(self):
        b = self.b
        options = b.evaluate("[...document.querySelectorAll('select#scenario option')]"
                             ".map(o => [o.value, o.text.trim()])")
        self.assertEqual(options, [[str(i), s] for i, s in enumerate(SCENARIOS)])
        before = b.evaluate(FILLS_JS)
        self.assertEqual(len(before), len(self.city.props[SCENARIOS[0]]))
        self.assertEqual(before, self.expected_fills(SCENARIOS[0]))
        # the keyboard moves the switch (a select: ArrowDown picks the next view)
        b.press("ArrowDown", "select#scenario")
        b.pump(0.1)
        self.assertEqual(b.evaluate("document.getElementById('scenario').value"), "1")
        after = b.evaluate(FILLS_JS)
        self.assertEqual(after, self.expected_fills(SCENARIOS[1]))
        changed = [k for k in before if before[k] != after[k]]
        self.assertGreaterEqual(len(changed), 1, "the scenarios class zones differently")
        rows = self.rows()
        self.assertEqual(len(rows), len(self.city.props[SCENARIOS[1]]))
        self.assertRowsHold(rows, self.city.by_name(SCENARIOS[1]), SCENARIOS[1])
        self.assertTrue(self.visible('image.exposure[data-view="1"]'))
        self.assertFalse(self.visible('image.exposure[data-view="0"]'))
        self.switch_to(0)
        self.assertEqual(b.evaluate(FILLS_JS), before)
        self.assertRowsHold(self.rows(), self.city.by_name(SCENARIOS[0]), SCENARIOS[0])
        self.assertTrue(self.visible('image.exposure[data-view="0"]'))
        self.assertFalse(self.visible('image.exposure[data-view="1"]'))
        self.assertLoadedClean()

    def test_map_is_described_and_every_zone_labelled(self):
        b = self.b
        self.assertEqual(b.evaluate("document.getElementById('zones-map').getAttribute('role')"), "img")
        for part in ("title", "desc"):
            self.assertNotEqual(b.evaluate(f"(document.querySelector('#zones-map > {part}') || "
                                           f"{{textContent: ''}}).textContent.trim()"), "", part)
        paths = b.evaluate("""[...document.querySelectorAll('#zones-map path.zone')].map(p =>
            [p.getAttribute('data-zone'), p.getAttribute('tabindex'), p.getAttribute('aria-label')])""")
        names = self.names_by_zone()
        for zone, tabindex, label in paths:
            self.assertEqual(tabindex, "0")
            self.assertTrue(label.startswith(names[zone] + ":"), label)
        legend = b.evaluate("document.querySelectorAll('#map ul.legend li').length")
        self.assertEqual(legend, len(self.city.colours) + 1)   # the classes and "no data"
        self.assertEqual(b.evaluate("document.querySelectorAll('image.exposure').length"), len(SCENARIOS))

    def test_tooltip_on_focus_and_on_hover(self):
        b = self.b
        names = self.names_by_zone()
        self.assertEqual(b.evaluate("document.getElementById('tooltip').getAttribute('role')"), "tooltip")
        zones = sorted(names, key=int)
        b.focus(f'#zones-map path.zone[data-zone="{zones[0]}"]')
        b.pump(0.1)
        self.assertTrue(self.visible("#tooltip"))
        self.assertIn(names[zones[0]], b.evaluate("document.getElementById('tooltip').innerText"))
        b.set_viewport(1280, full_page=True)
        points = b.evaluate(INTERIOR_JS)
        zone = next(z for z in zones[1:] if points.get(z))
        x, y = points[zone]
        b.send("Input.dispatchMouseEvent", type="mouseMoved", x=x + 0.5, y=y + 0.5)
        b.pump(0.1)
        self.assertTrue(self.visible("#tooltip"))
        self.assertIn(names[zone], b.evaluate("document.getElementById('tooltip').innerText"))

    def test_cards_are_the_top_zones(self):
        cards = self.b.evaluate("[...document.querySelectorAll('section#top article.card')].map(c => "
                                "[c.getAttribute('data-zone'), c.innerText])")
        names = self.names_by_zone()
        ranked = sorted((p for p in self.city.props[SCENARIOS[0]] if p["score_rank"] is not None),
                        key=lambda p: p["score_rank"])
        top = {p["name"] for p in ranked if p["score_rank"] <= ranked[4]["score_rank"]}
        self.assertEqual(len(cards), 5)
        for zone, text in cards:
            self.assertIn(names[zone], top)
            self.assertIn(names[zone], text)
        self.assertEqual(self.b.evaluate("document.getElementById('rank-chart').getAttribute('role')"), "img")
        for part in ("title", "desc"):
            self.assertNotEqual(self.b.evaluate(f"(document.querySelector('#rank-chart > {part}') || "
                                                f"{{textContent: ''}}).textContent.trim()"), "", part)

    def test_screenshot_shows_the_map_in_the_class_colours(self):
        b = self.b
        png = b.screenshot(1280, full_page=True)
        keep("screenshot.png", png)
        px = png_pixels(png)
        h, w = px.shape[:2]
        self.assertEqual(w, 1280)
        colours = colour_counts(px)
        self.assertGreater(len(colours), 20, "a blank screenshot")
        self.assertLess(max(colours.values()), 0.97 * sum(colours.values()), "a blank screenshot")
        left, top, width, height = b.evaluate(RECT_JS % json.dumps("#zones-map"))
        self.assertGreater(width, 300)
        self.assertLessEqual(left + width, 1280 + 0.5, "the map fits 1280 px")
        # every zone's fill, exactly, deep inside it
        points, fills = b.evaluate(INTERIOR_JS), self.expected_fills(SCENARIOS[0])
        sampled = {z: xy for z, xy in points.items() if xy}
        self.assertGreater(len(sampled), 0.5 * len(points), "few zones large enough to sample")
        pixel = lambda x, y: tuple(int(c) for c in px[y, x])   # noqa: E731
        wrong = {z: (pixel(x, y), fills[z]) for z, (x, y) in sampled.items()
                 if pixel(x, y) != hex_rgb(fills[z])}
        self.assertLessEqual(len(wrong), 0.1 * len(sampled),
                             f"pixels not of the zone's class colour: {wrong}")
        seen = {pixel(x, y) for x, y in sampled.values()}
        for colour in set(fills.values()):
            self.assertIn(hex_rgb(colour), seen, f"no pixel of {colour}")
        # the exposure image shows: hiding it changes pixels of the map
        hidden = b.evaluate("""(() => { const i = document.querySelector('image.exposure[data-view="0"]');
            i.style.display = 'none'; return !!i; })()""")
        self.assertTrue(hidden)
        without = png_pixels(b.screenshot(1280, full_page=True))
        b.evaluate("document.querySelector('image.exposure[data-view=\"0\"]').style.display = ''")
        self.assertEqual(without.shape, px.shape)
        box = (slice(max(0, int(top)), int(top + height)), slice(max(0, int(left)), int(left + width)))
        changed = int(np.count_nonzero((px[box] != without[box]).any(axis=2)))
        self.assertGreater(changed, 100, "the exposure image adds no pixel to the map")
        # the page's own switch, when it has one, shows the raster through the zones
        if b.evaluate("!!document.getElementById('show-exposure')"):
            b.click("#show-exposure")
            through = png_pixels(b.screenshot(1280, full_page=True))
            b.click("#show-exposure")
            self.assertEqual(through.shape, px.shape)
            changed = int(np.count_nonzero((px[box] != through[box]).any(axis=2)))
            self.assertGreater(changed, 0.05 * px[box].shape[0] * px[box].shape[1],
                               "the raster does not show through the zones")


# ---------------------------------------------------------------------------------------------
# Print


class PrintedReport(PageCase):
    """"Print to PDF" of the sample city's report: A4 pages, the map and title on page 1, the
    table's header on every page it spans, methods and provenance, no blank page.

    The pages (looked at in pdftoppm -r 50 renders, REPORT_KEEP=DIR keeps them; i21 at
    925e83b): 1 title, city, date, the summary and the map with its legend; 2 the table's
    first 43 rows; 3 its other 17 under the repeated header; 4 the five cards and the rank
    chart; 5 the methods (formulas, weights and method, classes, sensitivity) and the data
    sources; 6 the last data source, the caveats; 7-9 the provenance of the six inputs (their
    recorded JSON). The commands run with relative paths (SampleCity), so the wrapped paths,
    and the page count, do not depend on the machine."""

    @classmethod
    def setUpClass(cls):
        cls.city = SampleCity.make()
        cls.page = cls.city.report
        super().setUpClass()
        cls.b.open(cls.page)
        cls.heads_text = [h["text"] for h in cls.b.evaluate(HEADS_JS)]
        cls.section_titles = {s: cls.b.evaluate(
            f"(document.querySelector('section#{s} h2') || {{innerText: ''}}).innerText.trim()")
            for s in ("methods", "provenance")}
        t = time.monotonic()
        cls.pdf = cls.b.pdf()
        cls.pdf_seconds = time.monotonic() - t
        keep("report.pdf", cls.pdf)
        cls.pages = pdf_text(cls.pdf)
        cls.pngs = pdf_render(cls.pdf, dpi=50)
        for i, png in enumerate(cls.pngs):
            keep(f"page-{i + 1}.png", png)
        sys.stderr.write(f"[pdf {cls.pdf_seconds:.2f} s, {len(cls.pngs)} pages, {len(cls.pdf)} bytes] ")

    def setUp(self):
        pass

    def test_a4_pages_none_blank(self):
        self.assertEqual(pdf_pages(self.pdf), EXPECTED_PAGES)
        self.assertEqual(len(self.pngs), EXPECTED_PAGES)
        self.assertEqual(len(self.pages), EXPECTED_PAGES)
        for i, (png, text) in enumerate(zip(self.pngs, self.pages), 1):
            px = png_pixels(png)
            self.assertEqual(px.shape[:2], (585, 414))   # A4 at 50 dpi
            ink = int(np.count_nonzero((px != 255).any(axis=2)))
            self.assertGreater(ink, 0.005 * px.shape[0] * px.shape[1], f"page {i} is blank")
            self.assertGreater(len(text.strip()), 20, f"page {i} has no text")

    def test_first_page_has_the_title_and_the_map(self):
        self.assertIn(DEFAULT_TITLE, " ".join(self.pages[0].split()))
        self.assertIn(CITY, self.pages[0])
        counts = colour_counts(png_pixels(self.pngs[0]))
        for colour in {SampleCity.colour_of(p) for p in self.city.props[SCENARIOS[0]]}:
            self.assertGreaterEqual(counts.get(hex_rgb(colour), 0), 4, f"page 1: no {colour} of the map")

    def row_pages(self):
        """Per page, the zones shown as table rows, with where each starts in the page's text:
        a line whose first cell (the text before two spaces, in pdftotext's layout) is a
        name, or the first words of a name wrapped in its cell, followed by three numbers."""
        left = sorted(p["name"] for p in self.city.props[SCENARIOS[0]])
        out = []
        for text in self.pages:
            found, at = [], 0
            for line in text.splitlines(keepends=True):
                cells = re.split(r"\s{2,}", line.strip())
                numbers = [c for c in cells[1:] if re.fullmatch(r"-?[\d,]+(\.\d+)?\s?%?", c)]
                if len(numbers) >= 3:
                    first = cells[0]
                    name = next((n for n in left if n == first), None) or \
                        next((n for n in left if n.startswith(first + " ")), None)
                    if name:
                        left.remove(name)
                        found.append((name, at))
                at += len(line)
            out.append(found)
        return out

    def test_table_spans_pages_with_repeated_headers(self):
        rows = self.row_pages()
        shown = [n for page in rows for n, _ in page]
        self.assertEqual(sorted(shown), sorted(p["name"] for p in self.city.props[SCENARIOS[0]]),
                         "every zone once as a table row")
        spanned = [i for i, page in enumerate(rows) if page]
        self.assertGreaterEqual(len(spanned), 2, "60 rows do not fit one A4 page")
        self.assertEqual(spanned, list(range(spanned[0], spanned[-1] + 1)), "the table's pages follow")
        first_words = [t.split()[0] for t in self.heads_text[:4]]
        for i in spanned:
            before = self.pages[i][:rows[i][0][1]]
            for word in first_words:
                self.assertIn(word, before, f"page {i + 1}: header {word!r} not above the rows")

    def test_methods_and_provenance_are_printed(self):
        squeezed = "".join("".join(self.pages).split())
        for section, title in self.section_titles.items():
            self.assertNotEqual(title, "", f"section#{section} has no h2")
            self.assertIn("".join(title.split()), squeezed, section)
        for path in [*self.city.zones.values(), self.city.sensitivity, self.city.depth]:
            self.assertIn(os.path.basename(path), squeezed)


# ---------------------------------------------------------------------------------------------
# Escaping


NAMES = ["<script>alert(1)</script>", "A & B \"quoted\" 'single'", "Çaia São Tomé ñ 東京"]
TITLE = "<b>bold</b> & \"T\" 's' Çaia 東京 </script><script>alert(2)</script>"
CITY_ESC = "São Tomé & <Príncipe>"


def square(lon, lat, size):
    return [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]


def zonal_feature(i, name, ring, score, rank):
    """A zonal-shaped feature (the fields zonal writes that the report reads)."""
    cls = 1 + sum(score >= b for b in (2.0, 3.5, 5.0, 6.5))
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": ring},
            "properties": {
                "zone_id": i, "name": name, "score_mean": score, "score_p90": score + 0.5,
                "score_class": cls, "score_rank": rank, "arrivals_total": 100.0 * i,
                "arrivals_flooded": 10.0 * i, "arrivals_flooded_share": 0.1, "flood_area_share": 0.05 * i,
                "informal_area_share": 0.2, "water_stress_mean": 2.5, "arrivals_high_water_stress": 0.0,
                "arrivals_compound": 0.0, "data_coverage": 1.0}}


def write_collection(path, feats):
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"type": "FeatureCollection", "features": feats}, f, ensure_ascii=False)
    return path


class EscapedNames(PageCase):
    """Names and a title with markup, quotes and non-ASCII come out as text, exactly."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cityrisk-report-esc-")
        zones = write_collection(os.path.join(cls.dir, "zones.geojson"), [
            zonal_feature(i + 1, n, square(34.80 + 0.01 * i, -19.80, 0.01), 7.0 - 2.5 * i, i + 1)
            for i, n in enumerate(NAMES)])
        cls.page = os.path.join(cls.dir, "escaped.html")
        run_ok("report", "--zones", zones, "--title", TITLE, "--city", CITY_ESC, "-o", cls.page)
        with open(cls.page, "rb") as f:
            cls.html = f.read()
        keep("escaped.html", cls.html)
        super().setUpClass()
        cls.hook = cls.b.add_init_script(
            "window.__alerted = []; window.alert = m => { window.__alerted.push(String(m)); };")

    @classmethod
    def tearDownClass(cls):
        cls.b.remove_init_script(cls.hook)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_no_script_ran_and_nothing_was_injected(self):
        b = self.b
        self.assertEqual(b.evaluate("window.__alerted"), [])
        self.assertEqual(b.dialogs, [])
        self.assertNotIn(b"<script>alert(", self.html)
        self.assertNotIn(b"<b>bold</b>", self.html)
        scripts = b.evaluate("""[...document.querySelectorAll('script')].map(s =>
            [s.id, s.type, s.hasAttribute('src'), s.textContent.includes('alert(')])""")
        for sid, stype, src, alerts in scripts:
            self.assertFalse(src)
            self.assertFalse(alerts and stype != "application/json", (sid, stype))
        self.assertEqual(b.evaluate("""[...document.querySelectorAll('b')].filter(e =>
            e.textContent === 'bold').length"""), 0)
        self.assertEqual(b.evaluate("document.querySelectorAll('header script, #summary script, "
                                    "#zones-table tbody script, article.card script, #tooltip script, "
                                    "#zones-map script, title *').length"), 0)
        self.assertEqual(b.evaluate("document.querySelectorAll('header h1 *, #zones-table tbody th *')"
                                    ".length"), 0)
        data = json.loads(b.evaluate("document.getElementById('report-data').textContent"))
        self.assertEqual([z["name"] for z in data["zones"]], NAMES)

    def test_names_title_and_city_read_back_exactly(self):
        b = self.b
        self.assertEqual(b.evaluate("document.title"), TITLE)
        self.assertEqual(b.evaluate("document.querySelector('header h1').innerText.trim()"), TITLE)
        self.assertEqual(b.evaluate("document.querySelector('header .city').innerText.trim()"), CITY_ESC)
        rows = {r["zone"]: r["head"][0][1] for r in self.rows()}
        self.assertEqual(sorted(rows.values()), sorted(NAMES))
        cards = b.evaluate("""[...document.querySelectorAll('section#top article.card')].map(c =>
            [c.getAttribute('data-zone'), [...c.querySelectorAll('h2,h3,h4')].map(h => h.innerText.trim()),
             c.innerText])""")
        self.assertEqual(len(cards), len(NAMES))
        for zone, headings, text in cards:
            self.assertTrue(any(rows[zone] in h for h in headings), (rows[zone], headings))
            self.assertIn(rows[zone], text)
        summary = b.evaluate("document.getElementById('summary').innerText")
        self.assertIn(NAMES[0], summary)   # the top zone is named in the summary
        for zone, name in rows.items():
            label = b.evaluate(f"document.querySelector('path.zone[data-zone=\"{zone}\"]')"
                               f".getAttribute('aria-label')")
            self.assertTrue(label.startswith(name + ":"), label)
            b.focus(f'path.zone[data-zone="{zone}"]')
            b.pump(0.05)
            self.assertIn(name, b.evaluate("document.getElementById('tooltip').innerText"))
        self.assertEqual(b.evaluate("window.__alerted"), [])


# ---------------------------------------------------------------------------------------------
# Errors through the command line


class ReportErrors(CliTestCase):
    """Usage 2, data 3, exists 4, io 1; one line on stderr naming the file; no output and no
    temporary left; inputs unmodified."""

    @classmethod
    def setUpClass(cls):
        cls.city = SampleCity.make()

    def setUp(self):
        super().setUp()
        self.out_dir = self.path("out")
        os.mkdir(self.out_dir)
        self.out = os.path.join(self.out_dir, "report.html")
        z0, z1 = (self.city.zones[s] for s in SCENARIOS)
        self.inputs = [z0, z1, *self.city.exposure.values(), self.city.sensitivity, self.city.depth]
        self.hashes = {p: digest(p) for p in self.inputs}
        self.good = ["report", "--by", "scenario", "--zones", f"{SCENARIOS[0]}={z0}",
                     "--zones", f"{SCENARIOS[1]}={z1}", "--exposure",
                     f"{SCENARIOS[0]}={self.city.exposure[SCENARIOS[0]]}"]

    def tearDown(self):
        for p, h in self.hashes.items():
            self.assertEqual(digest(p), h, f"{p} changed")
        super().tearDown()

    def assertFailsClean(self, args, code, *needles, existing=()):
        rc, _, err = run(*args)
        self.assertEqual(rc, code, f"{args}: exit {rc}, stderr: {err}")
        lines = [l for l in err.splitlines() if l.strip() and not l.startswith("see '")]
        self.assertEqual(len(lines), 1, f"{args}: {err!r}")
        self.assertTrue(lines[0].startswith("cityrisk report: "), lines[0])
        for needle in needles:
            self.assertIn(needle, lines[0], args)
        left = sorted(os.listdir(self.out_dir))
        self.assertEqual(left, sorted(existing), f"{args}: output or temporary left")
        return lines[0]

    def test_usage(self):
        z0 = self.city.zones[SCENARIOS[0]]
        self.assertFailsClean(self.good, 2, "-o")
        self.assertFailsClean([*self.good, "--lang", "xx", "-o", self.out], 2, "xx")
        self.assertFailsClean(["report", "--by", "scenario,weights", "--zones", f"a={z0}", "-o", self.out],
                              2, os.path.basename(z0))
        self.assertFailsClean(["report", "--by", "scenario", "--zones", f"a;b={z0}", "-o", self.out],
                              2, os.path.basename(z0))

    def test_missing_zones_file(self):
        missing = self.path("nowhere.geojson")
        self.assertFailsClean(["report", "--zones", missing, "-o", self.out], 1, missing)

    def test_zones_without_score(self):
        zones = write_collection(self.path("noscore.geojson"), [
            zonal_feature(1, "a", square(34.8, -19.8, 0.01), 5.0, 1)])
        with open(zones, encoding="utf-8") as f:
            doc = json.load(f)
        del doc["features"][0]["properties"]["score_mean"]
        with open(zones, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        before = digest(zones)
        self.assertFailsClean(["report", "--zones", zones, "-o", self.out], 3, zones, "score_mean")
        self.assertEqual(digest(zones), before)

    def test_exposure_label_matching_no_view(self):
        self.assertFailsClean([*self.good, "--exposure", f"ssp999={self.city.exposure[SCENARIOS[1]]}",
                               "-o", self.out], 3, "ssp999")

    def test_unreadable_exposure(self):
        junk = self.path("junk.tif")
        with open(junk, "w") as f:
            f.write("not a raster\n")
        rc, _, err = run("report", "--zones", self.city.zones[SCENARIOS[0]], "--exposure", junk,
                         "-o", self.out)
        self.assertIn(rc, (1, 3), err)
        self.assertIn(junk, err)
        self.assertEqual(os.listdir(self.out_dir), [])

    def test_existing_output_untouched(self):
        with open(self.out, "wb") as f:
            f.write(b"an earlier report\x00\xff")
        before = digest(self.out)
        self.assertFailsClean([*self.good, "-o", self.out], 4, self.out, existing=["report.html"])
        self.assertEqual(digest(self.out), before)
        rc, _, err = run(*self.good, "-o", self.out, "--overwrite")
        self.assertEqual(rc, 0, err)
        self.assertNotEqual(digest(self.out), before)
        self.assertEqual(os.listdir(self.out_dir), ["report.html"])

    def test_output_is_an_input(self):
        copy = os.path.join(self.out_dir, "zones.geojson")
        shutil.copy(self.city.zones[SCENARIOS[0]], copy)
        before = digest(copy)
        for extra in ([], ["--overwrite"]):
            self.assertFailsClean(["report", "--zones", copy, "-o", copy, *extra], 2, copy,
                                  existing=["zones.geojson"])
            self.assertEqual(digest(copy), before)


# ---------------------------------------------------------------------------------------------
# Size


def write_grid(path, side):
    """side x side square zones of 0.001 degree (about 100 m), zonal-shaped, written as text."""
    rng = np.random.default_rng(21)
    n = side * side
    scores = np.round(rng.uniform(0.0, 9.0, n), 6)
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(n, dtype=int)
    ranks[order] = np.arange(1, n + 1)
    feats = []
    for k in range(n):
        r, c = divmod(k, side)
        feats.append(zonal_feature(k + 1, f"Zone {k + 1:05d}",
                                   square(round(34.7 + 0.001 * c, 6), round(-19.9 + 0.001 * r, 6), 0.001),
                                   float(scores[k]), int(ranks[k])))
    return write_collection(path, feats), feats


class TenThousandZones(PageCase):
    """10,000 zones: a paged table, a page that loads clean, a file of bounded size."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cityrisk-report-large-")
        zones, feats = write_grid(os.path.join(cls.dir, "grid.geojson"), 100)
        cls.props = {f["properties"]["name"]: f["properties"] for f in feats}
        cls.page = os.path.join(cls.dir, "large.html")
        out, seconds = run_ok("report", "--zones", zones, "-o", cls.page, "--json")
        cls.summary = json.loads(out)
        cls.bytes = os.path.getsize(cls.page)
        sample_bytes = os.path.getsize(SampleCity.make().report)
        sys.stderr.write(f"\n[report sizes: sample city {sample_bytes} bytes; {LARGE_ZONES} zones "
                         f"{cls.bytes} bytes in {seconds:.1f} s (input {os.path.getsize(zones)} bytes)] ")
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_size_is_bounded(self):
        self.assertLess(self.bytes, LARGE_BOUND)
        self.assertEqual((self.summary["zones"], self.summary["views"], self.summary["paged"],
                          self.summary["bytes"]), (LARGE_ZONES, 1, True, self.bytes))

    def test_table_is_paged(self):
        b = self.b
        t = time.monotonic()
        b.open(self.page)
        sys.stderr.write(f"[open {LARGE_ZONES} zones {time.monotonic() - t:.2f} s] ")
        self.assertLoadedClean()
        self.assertTrue(b.evaluate("!!document.querySelector('nav#pager button.prev') && "
                                   "!!document.querySelector('nav#pager button.next')"))
        pages = (LARGE_ZONES + PAGE_ROWS - 1) // PAGE_ROWS
        def pager():
            return " ".join(b.evaluate("document.getElementById('pager').innerText").split())

        self.assertIn(f"page 1 of {pages}", pager())
        first = self.rows()
        self.assertEqual(len(first), PAGE_ROWS)
        self.assertRowsHold(first[:10], self.props, "", LARGE_REL_TOL)
        b.click("nav#pager button.next")
        self.assertIn(f"page 2 of {pages}", pager())
        second = self.rows()
        self.assertEqual(len(second), PAGE_ROWS)
        self.assertFalse({r["zone"] for r in first} & {r["zone"] for r in second})
        self.assertRowsHold(second[:10], self.props, "", LARGE_REL_TOL)
        b.click("nav#pager button.prev")
        self.assertIn(f"page 1 of {pages}", pager())
        self.assertEqual([r["zone"] for r in self.rows()], [r["zone"] for r in first])
        self.assertEqual(b.evaluate("document.querySelectorAll('#zones-map path.zone').length"), LARGE_ZONES)
        self.assertLoadedClean()


if __name__ == "__main__":
    unittest.main()
