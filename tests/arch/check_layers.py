#!/usr/bin/env python3
"""Checks the lines between the library's folders (docs/architecture.md, "The map of the
code"): every quoted #include of the program, the library and the public headers names a
header its folder may use. Prints each include that crosses a line and exits 1 if any does.

Usage: check_layers.py SOURCE_DIR
"""
import os
import re
import sys

STAGES = ("inundation", "arrivals", "score", "mosaic", "zonal", "info", "map", "sensitivity", "report")

# What each folder may include besides the public headers (cityrisk/...) and its own files.
ALLOWED = {"core": ()}
ALLOWED.update({stage: ("core",) for stage in STAGES})
ALLOWED["command"] = ("core",)
ALLOWED["pipeline"] = ("core", "command")

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def crossings(root):
    """Yields (file, include, why) for every include that crosses a line."""
    public = os.path.join(root, "include", "cityrisk")
    for name in sorted(os.listdir(public)):
        path = os.path.join(public, name)
        for inc in INCLUDE.findall(open(path, encoding="utf-8").read()):
            if not inc.startswith("cityrisk/"):
                yield path, inc, "a public header includes only public headers"
    geo = os.path.join(root, "geo")
    for folder in sorted(os.listdir(geo)):
        where = os.path.join(geo, folder)
        if not os.path.isdir(where):
            continue
        if folder not in ALLOWED:
            yield where, "", "a folder docs/architecture.md does not place"
            continue
        for name in sorted(os.listdir(where)):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(where, name)
            for inc in INCLUDE.findall(open(path, encoding="utf-8").read()):
                head = inc.split("/")[0] if "/" in inc else None
                if head == "cityrisk":
                    continue
                if head is None:
                    if not os.path.exists(os.path.join(where, inc)):
                        yield path, inc, "not a header of its own folder"
                elif head != folder and head not in ALLOWED[folder]:
                    yield path, inc, "geo/%s may include only %s" % (
                        folder, ", ".join(("cityrisk", folder) + ALLOWED[folder]))
    cli = os.path.join(root, "cli")
    for name in sorted(os.listdir(cli)):
        if name.endswith((".c", ".h")):
            path = os.path.join(cli, name)
            for inc in INCLUDE.findall(open(path, encoding="utf-8").read()):
                if not inc.startswith("cityrisk/") and not os.path.exists(os.path.join(cli, inc)):
                    yield path, inc, "the program uses the public headers only"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    found = list(crossings(root))
    for path, inc, why in found:
        print('%s: #include "%s": %s' % (os.path.relpath(path, root), inc, why))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
