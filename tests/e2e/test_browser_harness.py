"""Self-test of tests/e2e/browser.py on a hand-written page (no cityrisk needed).

    /usr/bin/python3 tests/e2e/test_browser_harness.py -v

Skips (with the reason) only if Chromium cannot be found, installed or started.
"""
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser import (Browser, BrowserUnavailable, decode_png, pdf_pages, pdf_render,  # noqa: E402
                     pdf_text)

RED, BLUE = (215, 48, 31), (33, 102, 172)
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>harness</title>
<style>
 body { margin: 0; font-family: sans-serif; background: #fff; }
 svg { display: block; }
 th { cursor: pointer; }
 @media print { .page { break-after: page; } }
</style></head>
<body>
<svg id="map" width="400" height="200" viewBox="0 0 400 200" role="img" aria-label="two zones">
  <path id="a" d="M0 0 H200 V200 H0 Z" fill="rgb(215,48,31)"/>
  <path id="b" d="M200 0 H400 V200 H200 Z" fill="rgb(33,102,172)"/>
</svg>
<img src="http://example.com/x.png" alt="blocked" width="1" height="1">
<table id="t"><thead><tr>
  <th scope="col" tabindex="0" data-col="0">Name</th>
  <th scope="col" tabindex="0" data-col="1">Score</th></tr></thead>
<tbody>
  <tr><td>Bravo &amp; Co</td><td>0.2</td></tr>
  <tr><td>Alpha</td><td>0.9</td></tr>
  <tr><td>Charlie &lt;x&gt;</td><td>0.5</td></tr>
</tbody></table>
<select id="pick"><option value="0">first</option><option value="1">second</option></select>
<input id="find" type="search"><div id="tip" hidden></div>
<div class="page">page one</div><div class="page">page two</div><div>page three</div>
<script>
 function sortBy(th) {
   const col = +th.dataset.col, tb = document.querySelector('#t tbody');
   const dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
   const rows = [...tb.rows].sort((r, s) => {
     const a = r.cells[col].textContent, b = s.cells[col].textContent;
     return dir * (col ? (+a - +b) : a.localeCompare(b)); });
   rows.forEach(r => tb.appendChild(r));
   document.querySelectorAll('th').forEach(h => h.removeAttribute('aria-sort'));
   th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
 }
 document.querySelectorAll('th').forEach(th => {
   th.addEventListener('click', e => { window.lastClickTrusted = e.isTrusted; sortBy(th); });
   th.addEventListener('keydown', e => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(th); } });
 });
 document.getElementById('pick').addEventListener('change', e => { window.picked = e.target.value; });
 document.getElementById('find').addEventListener('input', e => { window.found = e.target.value; });
 document.getElementById('find').addEventListener('focus', () => { window.focused = true; });
 document.getElementById('a').addEventListener('mouseenter', () => { document.getElementById('tip').hidden = false; });
 if (location.search === '?alert') alert('hello');
 console.log('page ready');
</script>
</body></html>
"""
ORDER = "[...document.querySelectorAll('#t tbody tr')].map(r => r.cells[0].textContent)"


class BrowserHarness(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.page = os.path.join(cls.dir.name, "page.html")
        with open(cls.page, "w", encoding="utf-8") as f:
            f.write(PAGE)
        try:
            cls.b = Browser()
        except BrowserUnavailable as e:
            raise unittest.SkipTest(str(e))
        sys.stderr.write("[chromium start-up %.2fs] " % cls.b.startup_seconds)

    @classmethod
    def tearDownClass(cls):
        pid = cls.b.proc.pid
        cls.b.close()
        cls.dir.cleanup()
        # no process of the browser's group is left
        left = subprocess.run(["pgrep", "-g", str(pid)], capture_output=True, text=True).stdout
        assert not left.strip(), "chromium processes left: " + left

    def setUp(self):
        self.b.open(self.page)

    def test_network_blocked_and_recorded(self):
        self.assertEqual(self.b.blocked, ["http://example.com/x.png"])
        self.assertIn("http://example.com/x.png", self.b.requests)
        self.assertFalse(self.b.evaluate("document.querySelector('img').complete && "
                                         "document.querySelector('img').naturalWidth > 0"))
        self.assertFalse(self.b.evaluate("navigator.onLine"))

    def test_console(self):
        self.assertIn("page ready", [m["text"] for m in self.b.console])
        self.assertEqual(self.b.errors(), [])
        # the refused image is logged as an error, which errors() leaves out only on purpose
        self.assertTrue(any("example.com" in e or "ERR_" in e for e in self.b.errors(ignore_blocked=False)))
        self.b.evaluate("setTimeout(() => { throw new Error('boom'); }, 0); 1")
        self.b.pump(0.2)
        self.assertTrue(any("boom" in e for e in self.b.errors()))
        self.b.exceptions.clear()

    def test_click_sorts(self):
        self.assertEqual(self.b.evaluate(ORDER), ["Bravo & Co", "Alpha", "Charlie <x>"])
        self.b.click("th[data-col='1']")
        self.assertTrue(self.b.evaluate("window.lastClickTrusted"))   # a real mouse event
        self.assertEqual(self.b.evaluate(ORDER), ["Bravo & Co", "Charlie <x>", "Alpha"])
        self.b.click("th[data-col='1']")
        self.assertEqual(self.b.evaluate(ORDER), ["Alpha", "Charlie <x>", "Bravo & Co"])
        self.b.click("th[data-col='0']", real=False)
        self.assertEqual(self.b.evaluate(ORDER), ["Alpha", "Bravo & Co", "Charlie <x>"])

    def test_keyboard_sorts(self):
        self.b.press("Enter", selector="th[data-col='1']")
        self.assertEqual(self.b.evaluate("document.activeElement.dataset.col"), "1")
        self.assertEqual(self.b.evaluate(ORDER), ["Bravo & Co", "Charlie <x>", "Alpha"])
        self.b.press(" ")
        self.assertEqual(self.b.evaluate(ORDER), ["Alpha", "Charlie <x>", "Bravo & Co"])

    def test_select_by_keyboard(self):
        self.b.press("ArrowDown", selector="#pick")
        self.assertEqual(self.b.evaluate("document.getElementById('pick').value"), "1")
        self.assertEqual(self.b.evaluate("window.picked"), "1")   # a change event

    def test_hover_and_typing(self):
        self.assertTrue(self.b.evaluate("document.getElementById('tip').hidden"))
        self.b.hover("#a")
        self.assertFalse(self.b.evaluate("document.getElementById('tip').hidden"))
        self.b.type_text("Çaia 東京 <&>", selector="#find")
        self.assertTrue(self.b.evaluate("window.focused"))   # focus events fire (page focused)
        self.assertEqual(self.b.evaluate("window.found"), "Çaia 東京 <&>")

    def test_dialogs_are_recorded_and_dismissed(self):
        self.assertEqual(self.b.dialogs, [])
        self.b.open("file://" + self.page + "?alert")   # would block the page if left open
        self.assertEqual(self.b.dialogs, [{"type": "alert", "message": "hello"}])
        self.assertEqual(self.b.evaluate("1 + 1"), 2)

    def test_init_script_runs_before_the_page(self):
        ident = self.b.add_init_script("window.alert = m => { window.__alerted = String(m); };")
        try:
            self.b.open("file://" + self.page + "?alert")
        finally:
            self.b.remove_init_script(ident)
        self.assertEqual(self.b.dialogs, [])
        self.assertEqual(self.b.evaluate("window.__alerted"), "hello")

    def test_screenshot_colours(self):
        t = time.monotonic()
        png = self.b.screenshot(1280)
        sys.stderr.write("[screenshot %.2fs] " % (time.monotonic() - t))
        w, h, px = decode_png(png)
        self.assertEqual((w, h), (1280, 900))
        self.assertEqual(px[100][100], RED)
        self.assertEqual(px[100][300], BLUE)
        self.assertEqual(px[100][800], (255, 255, 255))
        png = self.b.screenshot(600, full_page=True)
        self.assertEqual(decode_png(png)[0], 600)
        if os.environ.get("HARNESS_KEEP"):
            with open(os.path.join(os.environ["HARNESS_KEEP"], "harness.png"), "wb") as f:
                f.write(self.b.screenshot(1280))

    def test_pdf_pages(self):
        t = time.monotonic()
        pdf = self.b.pdf()
        sys.stderr.write("[pdf %.2fs] " % (time.monotonic() - t))
        self.assertTrue(pdf.startswith(b"%PDF-"))
        self.assertEqual(pdf_pages(pdf), 3)
        pngs, texts = pdf_render(pdf, dpi=30), pdf_text(pdf)
        self.assertEqual(len(pngs), 3)
        self.assertEqual(decode_png(pngs[0])[:2], (249, 351))   # A4 (595.92 x 841.92 pt) at 30 dpi
        self.assertEqual(len(texts), 3)
        self.assertIn("page two", texts[1])
        self.assertIn("page three", texts[2])
        if os.environ.get("HARNESS_KEEP"):
            with open(os.path.join(os.environ["HARNESS_KEEP"], "harness.pdf"), "wb") as f:
                f.write(pdf)


if __name__ == "__main__":
    unittest.main()
