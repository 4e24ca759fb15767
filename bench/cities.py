#!/usr/bin/env python3
"""Many cities in one pipeline: the sample pipeline swept over a variable `city`, each city a
folder of inputs (here N copies of the sample city, symlinked), for docs/scale.md.

    bench/cities.py N WORK        # writes WORK/cities.json and WORK/cities/cNNN -> samples/data

The sample pipeline's stages with "data/" read from "cities/{city}/" and outputs in
"out/{city}/"; its two gather stages gather every city (a national table, by city, scenario and
weights); the report (one page over one city's views) is left out."""
import json
import os
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
n, work = int(sys.argv[1]), os.path.abspath(sys.argv[2])
os.makedirs(os.path.join(work, "cities"), exist_ok=True)
cities = ["c%03d" % i for i in range(1, n + 1)]
for c in cities:
    link = os.path.join(work, "cities", c)
    if not os.path.islink(link):
        os.symlink(os.path.join(root, "samples", "data"), link)
with open(os.path.join(root, "samples", "pipeline.json")) as fh:
    doc = json.load(fh)
text = json.dumps(doc["stages"]).replace('"data/', '"cities/{city}/').replace("../build/sample-run/", "out/{city}/")
stages = [s for s in json.loads(text) if s.get("stage") != "report"]
for s in stages:
    if s.get("stage") == "gather":
        s["output"] = s["output"].replace("out/{city}/", "out/")
    if "title" in s:
        s["title"] = "{city}: " + s["title"]
doc = {"description": "%d cities" % n, "variables": dict({"city": cities}, **doc["variables"]), "stages": stages}
with open(os.path.join(work, "cities.json"), "w") as fh:
    json.dump(doc, fh, indent=1)
print(os.path.join(work, "cities.json"))
