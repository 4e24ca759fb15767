#!/usr/bin/python3
"""Compare `cityrisk zonal` statistics with GRASS v.rast.stats, zone by zone (bench/zonal.sh).

    /usr/bin/python3 bench/compare_zonal.py CITYRISK.csv GRASS.csv REPORT_APPEND [ZONES.gpkg]

CITYRISK.csv: zone_id, name, then <layer>_count, <layer>_sum, <layer>_mean, <layer>_max per
layer, area_km2, data_coverage: exact statistics, each cell weighted by the share of it the zone
covers (count = the sum of those shares, in cells). GRASS.csv (v.db.select format=csv): cat,
zone_id, name, <layer>_number, <layer>_sum, <layer>_average, <layer>_maximum: the cells whose
centre falls in the zone, after one rasterisation of all zones (overlaps go to one zone only).
Rows are joined on zone_id; the layers are those with a `_mean` column in CITYRISK.csv.

Per layer: the zones each has a value for (a mean), why GRASS has none where cityrisk has one,
and over the zones both have a value the median, 95th percentile and maximum relative difference
|a - b| / max(|a|, |b|) (0 when both are 0) of the mean and of the sum (with the 95th
percentile and maximum of |a - b|: a relative difference of values near 0 says little), GRASS
number / cityrisk count, and whether GRASS's maximum stays at or below cityrisk's (it reads a
subset of the cells).
With ZONES.gpkg (layer `zones`) the same figures again over the zones that overlap no other zone,
where only cell centres against exact coverage differ. Prints the report and appends it to
REPORT_APPEND.
"""
import csv
import math
import sys

import numpy as np


def number(text):
    """A float, or nan for an empty cell, NULL, nan or inf."""
    try:
        v = float(text)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def read(path, key="zone_id"):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"compare_zonal.py: {path} has no rows")
    if key not in rows[0]:
        sys.exit(f"compare_zonal.py: {path} has no {key} column (columns: {', '.join(rows[0])})")
    out = {}
    for r in rows:
        zid = int(r[key])
        if zid in out:
            sys.exit(f"compare_zonal.py: {path}: zone_id {zid} twice")
        out[zid] = r
    return out, list(rows[0])


def overlapping(path):
    """The zone_ids of the zones that intersect another zone."""
    from osgeo import ogr
    ogr.UseExceptions()
    ds = ogr.Open(path)
    layer = ds.GetLayerByName("zones")
    zones = []
    for f in layer:
        g = f.GetGeometryRef().Clone()
        zones.append((f.GetField("zone_id"), g, g.GetEnvelope()))
    # Candidates by envelope on a coarse grid, then an exact Intersects.
    cell = max(max(e[1] - e[0], e[3] - e[2]) for _, _, e in zones) or 1.0
    grid = {}
    for i, (_, _, e) in enumerate(zones):
        for gx in range(int(e[0] // cell), int(e[1] // cell) + 1):
            for gy in range(int(e[2] // cell), int(e[3] // cell) + 1):
                grid.setdefault((gx, gy), []).append(i)
    hit = set()
    seen = set()
    for bucket in grid.values():
        for a in range(len(bucket)):
            for b in range(a + 1, len(bucket)):
                i, j = bucket[a], bucket[b]
                if (i, j) in seen:
                    continue
                seen.add((i, j))
                ei, ej = zones[i][2], zones[j][2]
                if ei[1] < ej[0] or ej[1] < ei[0] or ei[3] < ej[2] or ej[3] < ei[2]:
                    continue
                if zones[i][1].Intersects(zones[j][1]):
                    hit.add(zones[i][0])
                    hit.add(zones[j][0])
    return hit, len(zones)


def reldiff(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    den = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, np.abs(a - b) / np.where(den > 0, den, 1), 0.0)


def spread(values, ids):
    if len(values) == 0:
        return "no zones"
    k = int(np.argmax(values))
    return (f"median {np.median(values):.2e}, p95 {np.percentile(values, 95):.2e}, "
            f"max {values[k]:.2e} (zone {ids[k]})")


def compare(cr, gr, layers, zone_ids, out, title):
    out.append(f"{title}: {len(zone_ids)} zones")
    for name in layers:
        c = {k: np.array([number(cr[z][f"{name}_{k}"]) for z in zone_ids])
             for k in ("count", "sum", "mean", "max")}
        g = {k: np.array([number(gr[z][f"{name}_{s}"]) if z in gr else math.nan for z in zone_ids])
             for k, s in (("count", "number"), ("sum", "sum"), ("mean", "average"),
                          ("max", "maximum"))}
        ids = np.array(zone_ids)
        c_has, g_has = np.isfinite(c["mean"]), np.isfinite(g["mean"])
        both = c_has & g_has
        # Why GRASS has no value where cityrisk has one: no cell of the zone in GRASS's
        # rasterisation (number empty: overlapped by other zones or thinner than a cell), or
        # cells but none with data in this layer.
        g_only_missing = c_has & ~g_has
        no_cells = g_only_missing & ~np.isfinite(g["count"])
        out.append(f"  {name}: a mean for {c_has.sum()} zones in cityrisk, {g_has.sum()} in GRASS, "
                   f"{both.sum()} in both; GRASS has none for {g_only_missing.sum()} zones "
                   f"cityrisk has one for ({no_cells.sum()} without any cell in GRASS's "
                   "rasterisation, "
                   f"{(g_only_missing & ~no_cells).sum()} with cells but none with data); "
                   f"cityrisk has none for {(g_has & ~c_has).sum()} zones GRASS has one for")
        if not both.any():
            continue
        b = ids[both]
        for k in ("mean", "sum"):
            diff = np.abs(c[k][both] - g[k][both])
            rel = spread(reldiff(c[k][both], g[k][both]), b)
            out.append(f"    {k + ',':5} relative difference: {rel}; absolute: "
                       f"p95 {np.percentile(diff, 95):.3g}, max {diff.max():.3g}")
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = g["count"][both] / c["count"][both]
        ratio = ratio[np.isfinite(ratio)]
        if len(ratio):
            out.append(f"    GRASS number / cityrisk count: median {np.median(ratio):.4f}, "
                       f"p5 {np.percentile(ratio, 5):.4f}, p95 {np.percentile(ratio, 95):.4f}, "
                       f"min {ratio.min():.4f}, max {ratio.max():.4f}")
        # GRASS's maximum comes from cells cityrisk also weighs (Float32 values, printed as
        # doubles): equal, below, or (never expected) above cityrisk's.
        cm, gm = c["max"][both], g["max"][both]
        tol = 1e-6 * np.maximum(np.abs(cm), 1e-30)
        eq = np.abs(cm - gm) <= tol
        above = gm > cm + tol
        out.append(f"    max: equal in {eq.sum()} zones, GRASS below cityrisk in "
                   f"{(~eq & ~above).sum()}, above in {above.sum()}"
                   + (f" (e.g. zone {b[np.argmax(above)]})" if above.any() else ""))


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: compare_zonal.py CITYRISK.csv GRASS.csv REPORT_APPEND [ZONES.gpkg]")
    cr, cr_cols = read(sys.argv[1])
    gr, _ = read(sys.argv[2])
    layers = [c[:-5] for c in cr_cols if c.endswith("_mean")]
    if not layers:
        sys.exit(f"compare_zonal.py: {sys.argv[1]} has no <layer>_mean column")
    sample = next(iter(gr.values()))
    missing = [f"{n}_{s}" for n in layers for s in ("number", "sum", "average", "maximum")
               if f"{n}_{s}" not in sample]
    if missing:
        sys.exit(f"compare_zonal.py: {sys.argv[2]} lacks {', '.join(missing)}")
    zone_ids = sorted(cr)
    out = [f"cityrisk {sys.argv[1]} ({len(cr)} zones) against GRASS {sys.argv[2]} ({len(gr)} "
           f"zones); layers: {', '.join(layers)}"]
    only_gr = sorted(set(gr) - set(cr))
    if only_gr:
        out.append(f"  {len(only_gr)} zones only in GRASS's output, e.g. {only_gr[:5]}")
    compare(cr, gr, layers, zone_ids, out, "every zone")
    if len(sys.argv) == 5:
        hit, total = overlapping(sys.argv[4])
        alone = [z for z in zone_ids if z not in hit]
        out.append(f"{len(hit)} of {total} zones overlap another zone (GRASS gives the cells they "
                   "share to one of them)")
        compare(cr, gr, layers, alone, out, "zones overlapping no other zone")
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    with open(sys.argv[3], "a") as f:
        f.write(text)


if __name__ == "__main__":
    main()
