#!/usr/bin/env python3
"""Writes zonal-shaped GeoJSON files for bench/report.sh: a SIDE x SIDE grid of irregular
polygons (each square's corners jittered, 12 points a ring) around Port Azul, with the fields
`cityrisk report` reads (score_mean, score_class, score_rank, arrivals_*, ...), one file per
view with different scores.

Usage: report_zones.py OUT_DIR SIDE VIEWS
"""
import json
import math
import os
import random
import sys


def ring(i, j, side, rng):
    """A square cell of a side x side grid in degrees, 12 jittered points, closed."""
    x0, y0, d = 34.75 + i * 0.3 / side, -19.9 + j * 0.3 / side, 0.3 / side
    pts = []
    for k in range(12):
        t = k / 12 * 4
        e, f = int(t), t - int(t)
        corners = [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]
        (ax, ay), (bx, by) = corners[e], corners[e + 1]
        u, v = ax + (bx - ax) * f, ay + (by - ay) * f
        u += rng.uniform(-0.02, 0.02) if 0 < u < 1 else 0
        v += rng.uniform(-0.02, 0.02) if 0 < v < 1 else 0
        pts.append([round(x0 + u * d, 7), round(y0 + v * d, 7)])
    pts.append(pts[0])
    return pts


def main():
    out, side, views = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.makedirs(out, exist_ok=True)
    for view in range(views):
        rng = random.Random(view)
        shape = random.Random(0)
        feats, scores = [], []
        for n in range(side * side):
            scores.append(rng.uniform(0, 10))
        order = sorted(range(len(scores)), key=lambda k: -scores[k])
        rank = {k: r + 1 for r, k in enumerate(order)}
        for n in range(side * side):
            s = scores[n]
            arrivals = rng.uniform(0, 500)
            share = rng.uniform(0, 1)
            props = {"nbhd_id": n + 1, "name": "Zone %d" % (n + 1), "data_coverage": 1.0,
                     "arrivals_total": arrivals, "arrivals_flooded": arrivals * share,
                     "arrivals_flooded_share": share, "flood_area_share": share / 2,
                     "informal_area_share": rng.uniform(0, 1), "water_stress_mean": rng.uniform(0, 5),
                     "arrivals_high_water_stress": arrivals * rng.uniform(0, 1),
                     "arrivals_compound": arrivals * share / 3, "score_mean": s,
                     "score_class": 1 + sum(s >= b for b in (2, 3.5, 5, 6.5)), "score_rank": rank[n]}
            feats.append({"type": "Feature", "properties": props,
                          "geometry": {"type": "Polygon", "coordinates": [ring(n % side, n // side, side, shape)]}})
        doc = {"type": "FeatureCollection", "features": feats}
        with open(os.path.join(out, "zones-%d.geojson" % view), "w") as f:
            json.dump(doc, f)


if __name__ == "__main__":
    main()
