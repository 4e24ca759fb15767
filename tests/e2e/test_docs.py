"""End-to-end: the man pages and the bash completion generated at build time from the
command table (cli/docs.cmake): a page for every command `cityrisk help` lists and no other,
pages that man renders without a warning, the options and exit codes the program prints,
and completion run by bash as a user's TAB runs it."""
import os
import re
import shutil
import subprocess
import unittest

from cliutil import CliTestCase, run

DOCS = os.environ.get("CITYRISK_DOCS")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


def setUpModule():
    if not DOCS:
        raise unittest.SkipTest("CITYRISK_DOCS is not set: run through ctest")


def page_path(name):
    return os.path.join(DOCS, name + ".1")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def unroff(text):
    """Roff source as text: the escapes the pages use undone."""
    for escape, plain in (("\\-", "-"), ("\\e", "\\"), ("\\(dq", '"'), ("\\&", ""),
                          ("\\fB", ""), ("\\fI", ""), ("\\fR", "")):
        text = text.replace(escape, plain)
    return text


def commands():
    """The commands and their summaries, as `cityrisk help` lists them."""
    rc, out, _ = run("help")
    assert rc == 0
    listed = out.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0]
    return [tuple(line.split(None, 1)) for line in listed.splitlines()]


def help_options(name):
    """The long and short options `cityrisk help NAME` lists."""
    rc, out, _ = run("help", name)
    assert rc == 0
    listed = out.split("\noptions:\n", 1)[1].split("\nexamples:\n", 1)[0]
    options = set()
    for line in listed.splitlines():
        names = re.match(r"  (--?[a-z][a-z-]*)(?:, (--[a-z][a-z-]*))?", line)
        if names:
            options.update(filter(None, names.groups()))
    return options


def exit_codes(text):
    """{code: meaning} from the exit codes `cityrisk help` ends with."""
    listed = " ".join(text.split("\nexit codes:", 1)[1].split())
    return {int(code): meaning for code, meaning in re.findall(r"(\d+) ([^,]+?)(?:,|$)", listed)}


def complete(words, cwd=None, bash_completion=False):
    """What _cityrisk offers for words, the last being the word under the cursor, as bash
    calls it on TAB."""
    script = ('source "$1"; source "$2"; shift 2; COMP_WORDS=("$@"); '
              'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE="${COMP_WORDS[*]}"; '
              'COMP_POINT=${#COMP_LINE}; _cityrisk; printf "%s\\n" "${COMPREPLY[@]}"')
    first = BASH_COMPLETION if bash_completion else "/dev/null"
    proc = subprocess.run(["bash", "-c", script, "bash", first, os.path.join(DOCS, "cityrisk.bash"),
                           *words], capture_output=True, text=True, cwd=cwd, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return sorted(w for w in proc.stdout.split("\n") if w)


class Pages(CliTestCase):
    def test_a_page_for_every_command_and_no_other(self):
        listed = commands()
        self.assertIn("score", [name for name, _ in listed])
        pages = {f for f in os.listdir(DOCS) if f.endswith(".1")}
        self.assertEqual(pages, {"cityrisk.1"} | {f"cityrisk-{name}.1" for name, _ in listed})
        overview = unroff(read(page_path("cityrisk")))
        for name, summary in listed:
            page = unroff(read(page_path("cityrisk-" + name)))
            self.assertIn(f".SH NAME\ncityrisk-{name} - {summary}\n", page)
            self.assertIn(f"\n{name}\n{summary}\n.br\nSee cityrisk-{name}(1).\n", overview)

    def test_pages_render_without_warnings(self):
        env = dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat", LC_ALL="C.UTF-8")
        if shutil.which("man"):
            render = ["man", "--warnings", "-E", "UTF-8", "-l"]
        elif shutil.which("groff"):
            render = ["groff", "-man", "-Tutf8", "-ww"]
        else:
            self.skipTest("neither man nor groff: apt-get install man-db groff-base")
        for page in sorted(f for f in os.listdir(DOCS) if f.endswith(".1")):
            with self.subTest(page=page):
                proc = subprocess.run(render + [os.path.join(DOCS, page)], capture_output=True,
                                      text=True, env=env, timeout=60)
                self.assertEqual((proc.returncode, proc.stderr), (0, ""))
                self.assertIn("NAME", proc.stdout)
                self.assertIn("EXIT STATUS", proc.stdout)

    def test_every_option_of_help_is_in_the_page(self):
        for name, _ in commands():
            with self.subTest(command=name):
                page = unroff(read(page_path("cityrisk-" + name)))
                options = help_options(name)
                self.assertIn("--help", options)
                for option in options:
                    self.assertRegex(page, "(?m)^" + re.escape(option) + r"\b|, " + re.escape(option) + r"\b")

    def test_exit_status_is_what_the_program_prints(self):
        rc, out, _ = run("help")
        self.assertEqual(rc, 0)
        printed = exit_codes(out)
        self.assertEqual(sorted(printed), [0, 1, 2, 3, 4, 130, 143])
        for page in ("cityrisk", "cityrisk-score", "cityrisk-run"):
            with self.subTest(page=page):
                section = unroff(read(page_path(page))).split('.SH "EXIT STATUS"\n', 1)[1].split("\n.SH", 1)[0] + "\n"
                documented = dict((int(code), meaning) for code, meaning in
                                  re.findall(r"\.TP\n\.B (\d+)\n(.*)\n", section))
                self.assertEqual(documented, printed)


class Completion(CliTestCase):
    def test_it_registers_for_cityrisk(self):
        proc = subprocess.run(["bash", "-c", 'source "$1"; complete -p cityrisk', "bash",
                               os.path.join(DOCS, "cityrisk.bash")], capture_output=True, text=True)
        self.assertEqual(proc.stdout.strip(), "complete -F _cityrisk cityrisk")

    def test_commands(self):
        self.assertEqual(complete(["cityrisk", "sc"]), ["score"])
        self.assertEqual(complete(["cityrisk", "help", "z"]), ["zonal"])
        self.assertEqual(complete(["cityrisk", "--v"]), ["--version"])
        everything = complete(["cityrisk", ""])
        for name, _ in commands():
            self.assertIn(name, everything)
        self.assertIn("help", everything)

    def test_options_long_and_short(self):
        self.assertEqual(complete(["cityrisk", "score", "--sea"]),
                         ["--sea", "--sea-band", "--sea-binary", "--sea-depth-full"])
        self.assertEqual(complete(["cityrisk", "zonal", "-l"]), ["-lco"])
        self.assertEqual(complete(["cityrisk", "map", "--thr"]), ["--threads"])
        for name, _ in commands():
            with self.subTest(command=name):
                offered = set(complete(["cityrisk", name, "-"]))
                self.assertEqual(offered, help_options(name))

    def test_choice_values(self):
        self.assertEqual(complete(["cityrisk", "score", "--missing", "r"]), ["renormalise"])
        self.assertEqual(complete(["cityrisk", "score", "--missing", "=", "n"]), ["nodata"])
        self.assertEqual(complete(["cityrisk", "score", "--missing", "="]), ["nodata", "renormalise"])
        self.assertEqual(complete(["cityrisk", "inundation", "--connectivity", ""]), ["4", "8", "none"])
        self.assertEqual(complete(["cityrisk", "map", "-of", "p"]), ["pdf", "png"])
        # A value with nothing to offer: no options either.
        self.assertEqual(complete(["cityrisk", "score", "--sea-band", ""]), [])
        self.assertEqual(complete(["cityrisk", "info", "--config", "GDAL_CACHEMAX", ""]), [])

    def test_file_names(self):
        for name in ("dem.tif", "depth.tif", "arrivals.csv"):
            open(self.path(name), "w").close()
        os.mkdir(self.path("data"))
        files = complete(["cityrisk", "score", "--sea", "de"], cwd=self.tmp)
        self.assertEqual(files, ["dem.tif", "depth.tif"])
        self.assertEqual(complete(["cityrisk", "score", "-o", "ar"], cwd=self.tmp), ["arrivals.csv"])
        self.assertEqual(complete(["cityrisk", "info", "d"], cwd=self.tmp), ["data", "dem.tif", "depth.tif"])
        self.assertEqual(complete(["cityrisk", "run", "a"], cwd=self.tmp), ["arrivals.csv"])
        self.assertEqual(complete(["cityrisk", "info", "--", "-"], cwd=self.tmp), [])
        # zonal -r NAME=FILE: the file after '='.
        self.assertEqual(complete(["cityrisk", "zonal", "-r", "depth", "=", "dep"], cwd=self.tmp), ["depth.tif"])
        # A command without positional arguments offers its options, not files.
        self.assertIn("--sea", complete(["cityrisk", "score", ""], cwd=self.tmp))

    def test_file_names_with_bash_completion(self):
        if not os.path.exists(BASH_COMPLETION):
            self.skipTest(f"no {BASH_COMPLETION} (apt-get install bash-completion)")
        open(self.path("dem.tif"), "w").close()
        self.assertEqual(complete(["cityrisk", "score", "--sea", "de"], cwd=self.tmp, bash_completion=True),
                         ["dem.tif"])
        self.assertEqual(complete(["cityrisk", "score", "--missing", "r"], bash_completion=True), ["renormalise"])


if __name__ == "__main__":
    unittest.main()
