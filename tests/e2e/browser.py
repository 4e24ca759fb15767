"""Drive a real headless Chromium from the e2e tests (DevTools protocol).

Only the standard library and python3-websocket (Debian's websocket-client).

    from browser import Browser, BrowserUnavailable, decode_png, pdf_pages
    try:
        b = Browser()                       # finds / apt-installs chromium, starts it
    except BrowserUnavailable as e:
        raise unittest.SkipTest(str(e))
    with b:
        b.open("/path/report.html")         # file:// URL, network refused
        b.click("th[data-col=score]")       # real mouse click at the element's centre
        rows = b.evaluate("[...document.querySelectorAll('tbody tr')].map(r => r.id)")
        png = b.screenshot(1280)            # PNG bytes; decode_png(png) -> (w, h, px)
        pdf = b.pdf()                       # A4 PDF bytes; pdf_pages(pdf) -> int
        assert b.blocked == [] and b.errors() == [] and b.dialogs == []

    b.hover(css), b.type_text("abc", css), b.add_init_script(js) (runs before every
    page's own scripts), b.set_viewport(1280, full_page=True); pdf_render(pdf) ->
    one PNG per page (pdftoppm), pdf_text(pdf) -> one string per page (pdftotext).
    An alert/confirm/prompt is recorded in b.dialogs and dismissed at once, so a
    page that opens one never blocks the test.

Flags (see /work/h21/NOTES.md on the machine that measured them): as root in a
container Chromium refuses to start without --no-sandbox; --headless=new,
--disable-gpu, --disable-dev-shm-usage and a temporary --user-data-dir keep it
quiet and independent of the host. The real binary /usr/lib/chromium/chromium is
preferred to Debian's /usr/bin/chromium wrapper (the wrapper's /dev/shm check
prints a shell error when findmnt reports two lines).
"""
import base64
import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import urllib.request
import zlib

CANDIDATES = ["/usr/lib/chromium/chromium", "chromium", "chromium-browser",
              "google-chrome", "google-chrome-stable"]
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--no-default-browser-check", "--disable-extensions",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--metrics-recording-only", "--mute-audio",
         "--hide-scrollbars", "--font-render-hinting=none"]
NETWORK_SCHEMES = ("http:", "https:", "ws:", "wss:", "ftp:")
A4_INCHES = (8.27, 11.69)
KEYS = {"Enter": (13, "\r"), "Tab": (9, None), " ": (32, " "), "Escape": (27, None),
        "ArrowUp": (38, None), "ArrowDown": (40, None), "ArrowLeft": (37, None),
        "ArrowRight": (39, None), "Home": (36, None), "End": (35, None)}


class BrowserUnavailable(Exception):
    """Chromium (or python3-websocket) cannot be found, installed or started: skip."""


def _apt_install(*packages):
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    for attempt in range(2):   # a stale package list: update once, try again
        if subprocess.run(cmd, env=env, capture_output=True).returncode == 0:
            return True
        if attempt == 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
    return False


def find_chromium(install=True):
    """Path of a Chromium binary; apt-get installs Debian's `chromium` if missing."""
    env = os.environ.get("CITYRISK_CHROMIUM")
    for name in ([env] if env else []) + CANDIDATES:
        path = name if os.path.isabs(name) else shutil.which(name)
        if path and os.access(path, os.X_OK):
            return path
    if install and _apt_install("chromium"):
        return find_chromium(install=False)
    raise BrowserUnavailable("chromium is not installed and `apt-get install chromium` failed")


def _websocket():
    try:
        import websocket
    except ImportError:
        if not _apt_install("python3-websocket"):
            raise BrowserUnavailable("python3-websocket is missing and cannot be installed")
        import site, sys
        if "/usr/lib/python3/dist-packages" not in sys.path:
            site.addsitedir("/usr/lib/python3/dist-packages")
        import websocket
    return websocket


class Browser:
    """One headless Chromium with one page; close() (or `with`) ends every process."""

    def __init__(self, width=1280, height=900, timeout=30, install=True):
        self.timeout = timeout
        self.width, self.height = width, height
        self.requests = []   # every URL the page asked for (any scheme)
        self.blocked = []    # the network ones among them, all refused
        self.console = []    # dicts: source, level, text (console API, Log domain)
        self.exceptions = [] # uncaught exceptions' descriptions
        self.dialogs = []    # dicts: type, message of every alert/confirm/prompt (dismissed)
        self._id, self._events, self.proc, self.ws = 0, [], None, None
        ws_mod = _websocket()
        exe = find_chromium(install)
        self.profile = tempfile.mkdtemp(prefix="cityrisk-chromium-")
        t0 = time.monotonic()
        self.log = open(os.path.join(self.profile, "chromium.log"), "wb")
        try:
            self.proc = subprocess.Popen(
                [exe, *FLAGS, "--user-data-dir=" + self.profile, "--remote-debugging-port=0",
                 "--window-size=%d,%d" % (width, height), "about:blank"],
                stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                start_new_session=True)   # own process group: close() kills all of it
            port = self._devtools_port()
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10) as r:
                page = next(t for t in json.load(r) if t["type"] == "page")
            self.ws = ws_mod.create_connection(page["webSocketDebuggerUrl"], timeout=timeout,
                                               suppress_origin=True)
        except BaseException as e:
            self.close()
            if isinstance(e, BrowserUnavailable):
                raise
            raise BrowserUnavailable("chromium did not start: %s" % e) from e
        self.startup_seconds = time.monotonic() - t0
        for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable", "DOM.enable"):
            self.send(method)
        # a headless page is not focused: without this, DOM.focus moves document.activeElement
        # but fires no focus event (and :focus styles do not apply)
        self.send("Emulation.setFocusEmulationEnabled", enabled=True)
        self.send("Network.emulateNetworkConditions", offline=True, latency=0,
                  downloadThroughput=-1, uploadThroughput=-1)
        self.send("Fetch.enable", patterns=[{"urlPattern": "*"}])

    def _devtools_port(self):
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.flush()
                tail = open(self.log.name, errors="replace").read()[-800:]
                raise BrowserUnavailable("chromium exited with %s: %s" % (self.proc.returncode, tail))
            try:
                with open(path) as f:
                    first = f.readline().strip()
                if first:
                    return int(first)
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.05)
        raise BrowserUnavailable("no DevToolsActivePort after %ss" % self.timeout)

    # -- protocol -------------------------------------------------------------
    def _post(self, method, params):
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        return self._id

    def send(self, method, **params):
        """Call a DevTools method and return its result; events met meanwhile are handled."""
        want = self._post(method, params)
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._recv(deadline, method)
            if msg.get("id") == want:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})

    def _recv(self, deadline, what):
        if time.monotonic() > deadline:
            raise TimeoutError("DevTools: no answer to " + what)
        msg = json.loads(self.ws.recv())
        if "method" in msg:
            self._event(msg["method"], msg.get("params", {}))
        return msg

    def _event(self, method, p):
        self._events.append(method)
        if method == "Fetch.requestPaused":
            url = p["request"]["url"]
            if url.lower().startswith(NETWORK_SCHEMES):
                self.blocked.append(url)
                self._post("Fetch.failRequest", {"requestId": p["requestId"],
                                                 "errorReason": "InternetDisconnected"})
            else:
                self._post("Fetch.continueRequest", {"requestId": p["requestId"]})
        elif method == "Page.javascriptDialogOpening":
            self.dialogs.append({"type": p.get("type"), "message": p.get("message")})
            self._post("Page.handleJavaScriptDialog", {"accept": False})
        elif method == "Network.requestWillBeSent":
            self.requests.append(p["request"]["url"])
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
            self.console.append({"source": "console", "level": p["type"], "text": text})
        elif method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.exceptions.append(d.get("exception", {}).get("description") or d.get("text"))
        elif method == "Log.entryAdded":
            e = p["entry"]
            self.console.append({"source": e["source"], "level": e["level"],
                                 "text": e["text"], "url": e.get("url", "")})

    def wait_event(self, method, timeout=None):
        """Wait until `method` has been seen since the last call that cleared it."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while method not in self._events:
            self._recv(deadline, method)
        self._events.clear()

    # -- page -------------------------------------------------------------------
    def open(self, path_or_url, settle=0.2):
        """Load a file (path or file:// URL) and wait for its load event."""
        url = path_or_url if "://" in path_or_url else "file://" + os.path.abspath(path_or_url)
        self.reset()
        res = self.send("Page.navigate", url=url)
        if res.get("errorText"):
            raise RuntimeError("navigate %s: %s" % (url, res["errorText"]))
        if res.get("loaderId"):   # none: a same-document (#fragment) navigation, no load event
            self.wait_event("Page.loadEventFired")
        self.pump(settle)

    def reset(self):
        """Forget recorded requests, console messages and exceptions (open() does it)."""
        self._events.clear()
        for record in (self.requests, self.blocked, self.console, self.exceptions, self.dialogs):
            record.clear()

    def pump(self, seconds):
        """Handle events for a while (late console messages, blocked requests)."""
        end = time.monotonic() + seconds
        self.ws.settimeout(0.05)
        try:
            while time.monotonic() < end:
                try:
                    self._recv(end + 1, "pump")
                except Exception as e:   # websocket's timeout exception
                    if "timed out" not in str(e).lower() and type(e).__name__ != "WebSocketTimeoutException":
                        raise
        finally:
            self.ws.settimeout(self.timeout)

    def evaluate(self, expression):
        """Value of a JavaScript expression (promises awaited, JSON-able values returned)."""
        r = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                      awaitPromise=True, userGesture=True)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise RuntimeError("JS: %s" % (d.get("exception", {}).get("description") or d.get("text")))
        return r["result"].get("value")

    def _node(self, selector):
        root = self.send("DOM.getDocument", depth=0)["root"]["nodeId"]
        node = self.send("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        if not node:
            raise LookupError("no element matches %r" % selector)
        return node

    def click(self, selector, real=True):
        """Click an element's centre with real mouse events (element.click() if real=False)."""
        if not real:
            self.evaluate("document.querySelector(%s).click()" % json.dumps(selector))
            return
        x, y = self._centre(selector)
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
        self.pump(0.05)

    def hover(self, selector):
        """Move the mouse to an element's centre (mouseover/mouseenter/mousemove fire)."""
        x, y = self._centre(selector)
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        self.pump(0.05)

    def _centre(self, selector):
        node = self._node(selector)
        self.send("DOM.scrollIntoViewIfNeeded", nodeId=node)
        q = self.send("DOM.getBoxModel", nodeId=node)["model"]["content"]
        return sum(q[0::2]) / 4, sum(q[1::2]) / 4

    def type_text(self, text, selector=None):
        """Type text into the focused element (or selector's), as an IME commit: one
        `input` event per call, any Unicode."""
        if selector:
            self.focus(selector)
        self.send("Input.insertText", text=text)
        self.pump(0.05)

    def add_init_script(self, source):
        """Run source in every document before its own scripts (from the next open()).
        Returns an identifier for remove_init_script()."""
        return self.send("Page.addScriptToEvaluateOnNewDocument", source=source)["identifier"]

    def remove_init_script(self, identifier):
        self.send("Page.removeScriptToEvaluateOnNewDocument", identifier=identifier)

    def focus(self, selector):
        self.send("DOM.focus", nodeId=self._node(selector))

    def press(self, key, selector=None):
        """Key down + up (names as KeyboardEvent.key: 'Enter', 'Tab', ' ', 'ArrowDown', 'a')."""
        if selector:
            self.focus(selector)
        code, text = KEYS.get(key, (ord(key.upper()) if len(key) == 1 else 0, key if len(key) == 1 else None))
        down = {"type": "keyDown" if text else "rawKeyDown", "key": key,
                "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code,
                "code": {" ": "Space"}.get(key, key if len(key) > 1 else "Key" + key.upper())}
        if text:
            down["text"] = text
        self.send("Input.dispatchKeyEvent", **down)
        self.send("Input.dispatchKeyEvent", **dict(down, type="keyUp", text=""))
        self.pump(0.05)

    def set_viewport(self, width=None, height=None, full_page=False):
        """Emulate a viewport of width x height CSS px at scale 1 (full_page: as tall as the
        document, so that every element is in view and elementFromPoint() reaches it).
        It stays until pdf() or the next call. Returns (width, height)."""
        w, h = width or self.width, height or self.height
        self.send("Emulation.setDeviceMetricsOverride", width=w, height=h,
                  deviceScaleFactor=1, mobile=False)
        if full_page:
            h = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)"))
            self.send("Emulation.setDeviceMetricsOverride", width=w, height=h,
                      deviceScaleFactor=1, mobile=False)
        return w, h

    def screenshot(self, width=None, height=None, full_page=False):
        """PNG bytes of the viewport at `width` CSS px (scale 1); full_page: whole document.
        The viewport stays emulated after it (set_viewport), so that coordinates measured in
        the page right after match the picture's pixels."""
        self.set_viewport(width, height, full_page)
        data = self.send("Page.captureScreenshot", format="png", fromSurface=True,
                         captureBeyondViewport=full_page)["data"]
        return base64.b64decode(data)

    def pdf(self, landscape=False, background=True):
        """A4 PDF bytes as "Print to PDF" makes them (print stylesheet, CSS @page honoured)."""
        self.send("Emulation.clearDeviceMetricsOverride")
        r = self.send("Page.printToPDF", paperWidth=A4_INCHES[0], paperHeight=A4_INCHES[1],
                      landscape=landscape, printBackground=background, preferCSSPageSize=True)
        return base64.b64decode(r["data"])

    def errors(self, ignore_blocked=True):
        """Console errors and uncaught exceptions; by default without the 'Failed to
        load resource' entries of the requests this harness itself refused."""
        out = list(self.exceptions)
        for m in self.console:
            if m["level"] not in ("error", "assert"):
                continue
            if ignore_blocked and m["source"] == "network" and m.get("url") in self.blocked:
                continue
            out.append(m["text"])
        return out

    # -- end --------------------------------------------------------------------
    def close(self):
        """Browser.close, then kill the whole process group; remove the profile."""
        if self.ws is not None:
            try:
                self._post("Browser.close", {})
            except Exception:
                pass
            try:
                self.ws.close()
            except Exception:
                pass
            self.ws = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            # renderers, zygotes, crashpad: anything left in the group, until it is gone
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    break
                time.sleep(0.02)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None
        log = getattr(self, "log", None)
        if log is not None and not log.closed:
            log.close()
        if getattr(self, "profile", None):
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def decode_png(data):
    """(width, height, rows) of an 8-bit RGB/RGBA non-interlaced PNG; rows[y][x] = (r, g, b)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and not interlace, "unsupported PNG"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    bpp = 3 if ctype == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        prev = line
    return w, h, rows


def _poppler(tool):
    if not (shutil.which(tool) or _apt_install("poppler-utils")):
        raise BrowserUnavailable("%s (poppler-utils) is missing and cannot be installed" % tool)


def pdf_render(data, dpi=50):
    """One PNG (bytes) per page of a PDF, rendered by pdftoppm at dpi."""
    _poppler("pdftoppm")
    with tempfile.TemporaryDirectory(prefix="cityrisk-pdf-") as d:
        src = os.path.join(d, "in.pdf")
        with open(src, "wb") as f:
            f.write(data)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-png", src, os.path.join(d, "page")],
                       check=True, capture_output=True)
        names = sorted((n for n in os.listdir(d) if n.startswith("page")),
                       key=lambda n: int(n[5:-4]))   # page-1.png, ..., page-10.png
        out = []
        for n in names:
            with open(os.path.join(d, n), "rb") as f:
                out.append(f.read())
        return out


def pdf_text(data, layout=True):
    """The text of each page of a PDF (pdftotext; layout keeps a table's row on one line)."""
    _poppler("pdftotext")
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + [f.name, "-"]
        text = subprocess.run(args, check=True, capture_output=True).stdout.decode("utf-8")
    pages = text.split("\f")   # each page ends with a form feed: the last item is ""
    if pages and pages[-1] == "":
        pages.pop()
    return pages


def pdf_pages(data):
    """Page count of a PDF: pdfinfo (poppler-utils, installed when missing) if possible."""
    if shutil.which("pdfinfo") or _apt_install("poppler-utils"):
        with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
            f.write(data)
            f.flush()
            out = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Pages:"):
                return int(line.split()[1])
    import re
    return len(re.findall(rb"/Type\s*/Page[^s]", data))
