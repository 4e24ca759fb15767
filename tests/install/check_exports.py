#!/usr/bin/env python3
"""Checks that the shared library exports exactly the public API.

The library is built with hidden visibility, and the public headers mark what another
program may call with CR_API (include/cityrisk/export.h). This compares the cr_ symbols
the shared library exports (nm -D --defined-only) with the functions and variables the
public headers declare, and fails naming each difference: a symbol exported that no
public header declares (an internal helper made public by mistake), or a declaration
that is not exported (CR_API forgotten, or a function declared and never defined). It
also checks that the umbrella header cityrisk.h includes every public header.

Usage: check_exports.py NM LIBRARY INCLUDE_DIR
"""
import os
import re
import subprocess
import sys

# Headers that declare no function: the macro itself, and the generated version.
NOT_API = {"export.h", "version.h", "cityrisk.h"}


def strip_code(text):
    """The header's C declarations: no comments, no preprocessor lines, no extern "C"."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"\\\n", " ", text)  # continued #define lines
    text = re.sub(r"^\s*#[^\n]*", " ", text, flags=re.M)
    return text.replace('extern "C" {', " ").replace('extern "C"{', " ")


def top_level_statements(code):
    """Statements at file scope, with the bodies of structs and enums removed; a function
    defined in the header (static inline) ends at its body. The closing brace of extern "C"
    (left alone by strip_code) is one brace too many: depth stays >= 0."""
    statements, current, depth, body = [], [], 0, False
    for ch in code:
        if ch == "{":
            if depth == 0:
                body = "".join(current).rstrip().endswith(")")
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)
            if depth == 0 and body:
                statements.append("".join(current))
                current, body = [], False
        elif ch == ";" and depth == 0:
            statements.append("".join(current))
            current = []
        elif depth == 0:
            current.append(ch)
    return [" ".join(s.split()) for s in statements]


def declared(include_dir):
    """{name: (header, marked with CR_API)} for the functions and variables declared."""
    names = {}
    for header in sorted(os.listdir(include_dir)):
        if not header.endswith(".h") or header in NOT_API:
            continue
        with open(os.path.join(include_dir, header), encoding="utf-8") as f:
            code = strip_code(f.read())
        for s in top_level_statements(code):
            # Types, and functions defined in the header, which are no symbols of the library.
            if (not s or s.startswith(("typedef", "static"))
                    or re.match(r"(struct|enum|union)\s+\w+$", s)):
                continue
            # A function: the name before the first parenthesis; a variable: the last name.
            m = re.search(r"\b(\w+)\s*\(", s) or re.search(r"\b(\w+)\s*(\[[^\]]*\]\s*)*$", s)
            if m and m.group(1).startswith("cr_"):
                names[m.group(1)] = (header, s.startswith("CR_API "))
    return names


def exported(nm, library):
    out = subprocess.run([nm, "-D", "--defined-only", library], check=True,
                         capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines()
            if len(line.split()) >= 3 and line.split()[-1].startswith("cr_")}


def umbrella_missing(include_dir):
    with open(os.path.join(include_dir, "cityrisk.h"), encoding="utf-8") as f:
        included = set(re.findall(r'#include "cityrisk/([\w.]+)"', f.read()))
    return sorted(h for h in os.listdir(include_dir)
                  if h.endswith(".h") and h not in included and h not in NOT_API)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    nm, library, include_dir = sys.argv[1:]
    decl, syms = declared(include_dir), exported(nm, library)
    problems = []
    for name in sorted(syms - decl.keys()):
        problems.append(f"exported but in no public header: {name}")
    for name in sorted(decl.keys() - syms):
        header, marked = decl[name]
        why = "" if marked else " (no CR_API)"
        problems.append(f"declared in {header} but not exported{why}: {name}")
    for header in umbrella_missing(include_dir):
        problems.append(f"cityrisk.h does not include {header}")
    for p in problems:
        print(p)
    print(f"{len(syms)} cr_ symbols exported, {len(decl)} declared in the public headers")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
