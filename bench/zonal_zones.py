#!/usr/bin/python3
"""Generate polygon zones for bench/zonal.sh.

    /usr/bin/python3 bench/zonal_zones.py N OUT.gpkg REFERENCE.tif [SEED]

Writes N zones, the same for the same N, REFERENCE extent and SEED (default 20261123), into the
GeoPackage layer `zones` (fields `zone_id` Integer 1..N, `name` String), in REFERENCE's CRS and
inside its extent. Each zone is an irregular star-shaped polygon around a centre, the size of a
neighbourhood: a radius from 300 m to 3 km (log-uniform) with 20 to 200 vertices whose distances
to the centre follow a few random harmonics. About 20 % have one or two holes, about 10 % are
multipolygons of 2 or 3 such parts (smaller, apart from each other), about 1 % lie partly outside
the extent; the others lie wholly inside. Zones are placed independently, so they overlap.
The layer's geometry type is generic: single parts are Polygons, the others MultiPolygons.
Every geometry passes OGR's IsValid (an invalid one is drawn again). Prints a summary.
Uses osgeo.ogr/osr/gdal only.
"""
import math
import os
import random
import sys

from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()

R_MIN, R_MAX = 300.0, 3000.0        # zone radius, m
HOLES = 0.20                        # share of zones with holes (one or two)
MULTI = 0.10                        # share of multipolygons (2 or 3 parts)
OUTSIDE = 0.01                      # share partly outside the extent
NAMES = ["Azul", "Baixa", "Cidade", "Dunas", "Estrela", "Farol", "Graca", "Horta", "Ilha",
         "Jardim", "Lagoa", "Mercado", "Norte", "Oeste", "Porto", "Quinta", "Rio", "Sul",
         "Terra", "Vila"]
KINDS = ["Bairro", "Ward", "Quarter", "Settlement", "Sector"]


def star(rng, cx, cy, radius, nmin, nmax):
    """A star-shaped ring around (cx, cy): vertex angles strictly increasing, distances up to
    radius. Returns the points and the radius of a disk about (cx, cy) inside it."""
    n = rng.randint(nmin, nmax)
    # Jittered angles: a gap never exceeds 2 x 2 pi / n.
    step = 2 * math.pi / n
    phase = rng.uniform(0, 2 * math.pi)
    angles = [phase + step * (i + rng.uniform(-0.45, 0.45)) for i in range(n)]
    # Low harmonics (k = 1..6, amplitude falling with k) make the outline irregular without
    # petals; a little noise per vertex makes it ragged.
    harmonics = [(k, rng.uniform(0, 0.3) / k ** 0.8, rng.uniform(0, 2 * math.pi))
                 for k in range(1, 7)]
    raw = []
    for a in angles:
        f = 1.0 + sum(amp * math.sin(k * a + ph) for k, amp, ph in harmonics)
        raw.append(max(0.35, f + rng.uniform(-0.03, 0.03)))
    top = max(raw)
    dist = [radius * f / top for f in raw]
    pts = [(cx + d * math.cos(a), cy + d * math.sin(a)) for a, d in zip(angles, dist)]
    gaps = [angles[(i + 1) % n] - angles[i] + (2 * math.pi if i == n - 1 else 0) for i in range(n)]
    # The polygon contains the one with every vertex at the smallest distance, which contains
    # the disk of that distance x cos(largest gap / 2).
    inner = min(dist) * math.cos(max(gaps) / 2)
    return pts, inner


def ring(pts):
    r = ogr.Geometry(ogr.wkbLinearRing)
    for x, y in pts:
        r.AddPoint_2D(x, y)
    r.AddPoint_2D(*pts[0])
    return r


def part(rng, cx, cy, radius, with_holes):
    """One polygon: a star ring, with one or two star holes inside its inner disk."""
    outer, inner = star(rng, cx, cy, radius, 20, 200)
    poly = ogr.Geometry(ogr.wkbPolygon)
    poly.AddGeometry(ring(outer))  # angles increase: counter-clockwise
    holes = 0
    if with_holes:
        holes = rng.choice((1, 2))
        if holes == 1:
            # A hole of radius h up to 0.5 inner, its centre within 0.3 inner of the zone's.
            h = inner * rng.uniform(0.2, 0.5)
            d = inner * rng.uniform(0, 0.3)
            centres = [(d, h)]
            a = rng.uniform(0, 2 * math.pi)
            offs = [(d * math.cos(a), d * math.sin(a))]
        else:
            # Two holes of radius up to 0.35 inner, centres 0.45 inner from the zone's, opposite.
            d = 0.45 * inner
            a = rng.uniform(0, 2 * math.pi)
            offs = [(d * math.cos(a), d * math.sin(a)), (-d * math.cos(a), -d * math.sin(a))]
            centres = [(d, inner * rng.uniform(0.15, 0.35)) for _ in offs]
        for (ox, oy), (_, h) in zip(offs, centres):
            hole, _ = star(rng, cx + ox, cy + oy, h, 8, 40)
            poly.AddGeometry(ring(list(reversed(hole))))  # clockwise
    return poly, holes


def zone(rng, xmin, ymin, xmax, ymax, outside):
    """One zone: (geometry, parts, holes)."""
    radius = math.exp(rng.uniform(math.log(R_MIN), math.log(R_MAX)))
    with_holes = rng.random() < HOLES
    multi = rng.random() < MULTI
    if multi:
        nparts = rng.choice((2, 3))
        # Parts of radius up to 0.45 R around the centre, their centres on a circle of
        # radius 0.55 R at angles 2 pi / nparts apart: disjoint disks (chord >= 0.95 R > 0.9 R).
        sub = 0.45 * radius
        spread = 0.55 * radius
        extent_r = spread + sub
    else:
        nparts = 1
        extent_r = radius
    if outside:
        # The centre inside the extent, within 0.5 R of one edge: part of the zone lies beyond it.
        edge = rng.randrange(4)
        d = rng.uniform(0.1, 0.5) * extent_r
        if edge == 0:
            cx, cy = xmin + d, rng.uniform(ymin + extent_r, ymax - extent_r)
        elif edge == 1:
            cx, cy = xmax - d, rng.uniform(ymin + extent_r, ymax - extent_r)
        elif edge == 2:
            cx, cy = rng.uniform(xmin + extent_r, xmax - extent_r), ymin + d
        else:
            cx, cy = rng.uniform(xmin + extent_r, xmax - extent_r), ymax - d
    else:
        cx = rng.uniform(xmin + extent_r, xmax - extent_r)
        cy = rng.uniform(ymin + extent_r, ymax - extent_r)
    holes = 0
    if nparts == 1:
        geom, holes = part(rng, cx, cy, radius, with_holes)
    else:
        geom = ogr.Geometry(ogr.wkbMultiPolygon)
        a0 = rng.uniform(0, 2 * math.pi)
        for i in range(nparts):
            a = a0 + 2 * math.pi * i / nparts
            p, h = part(rng, cx + spread * math.cos(a), cy + spread * math.sin(a),
                        sub * rng.uniform(0.6, 1.0), with_holes and i == 0)
            holes += h
            geom.AddGeometry(p)
    return geom, nparts, holes


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: zonal_zones.py N OUT.gpkg REFERENCE.tif [SEED]")
    n = int(sys.argv[1])
    out, reference = sys.argv[2], sys.argv[3]
    seed = int(sys.argv[4]) if len(sys.argv) == 5 else 20261123
    ds = gdal.Open(reference)
    x0, dx, _, y0, _, dy = ds.GetGeoTransform()
    xmin, xmax = x0, x0 + dx * ds.RasterXSize
    ymin, ymax = y0 + dy * ds.RasterYSize, y0
    if xmax - xmin < 4 * R_MAX or ymax - ymin < 4 * R_MAX:
        sys.exit(f"zonal_zones.py: {reference} is too small for zones of {R_MAX:.0f} m")
    srs = osr.SpatialReference()
    srs.ImportFromWkt(ds.GetProjection())
    ds = None

    rng = random.Random(seed)
    # Which zones lie partly outside: a fixed share, spread through the layer.
    n_out = max(1, round(n * OUTSIDE)) if n >= 10 else 0
    outside = set(rng.sample(range(n), n_out))

    drv = ogr.GetDriverByName("GPKG")
    if os.path.exists(out):
        os.remove(out)
    dst = drv.CreateDataSource(out)
    layer = dst.CreateLayer("zones", srs, ogr.wkbUnknown, ["SPATIAL_INDEX=YES"])
    layer.CreateField(ogr.FieldDefn("zone_id", ogr.OFTInteger))
    fname = ogr.FieldDefn("name", ogr.OFTString)
    layer.CreateField(fname)
    defn = layer.GetLayerDefn()
    stats = {"multi": 0, "holes": 0, "outside": 0, "redrawn": 0, "vertices": 0}
    area = 0.0
    layer.StartTransaction()
    for i in range(n):
        while True:
            geom, nparts, holes = zone(rng, xmin, ymin, xmax, ymax, i in outside)
            if geom.IsValid():
                break
            stats["redrawn"] += 1
        stats["multi"] += nparts > 1
        stats["holes"] += holes > 0
        stats["outside"] += i in outside
        polys = [geom.GetGeometryRef(k) for k in range(nparts)] if nparts > 1 else [geom]
        stats["vertices"] += sum(p.GetGeometryRef(0).GetPointCount() - 1 for p in polys)
        area += geom.GetArea()
        f = ogr.Feature(defn)
        f.SetField("zone_id", i + 1)
        f.SetField("name", f"{KINDS[rng.randrange(len(KINDS))]} {NAMES[rng.randrange(len(NAMES))]}"
                           f" {i + 1}")
        f.SetGeometry(geom)
        layer.CreateFeature(f)
    layer.CommitTransaction()
    dst = None
    print(f"zonal_zones.py: {n} zones in {out} (seed {seed}): {stats['multi']} multipolygons, "
          f"{stats['holes']} with holes, {stats['outside']} partly outside the extent, "
          f"{stats['vertices'] / max(n, 1):.0f} outer vertices per zone, "
          f"{area / 1e6:.0f} km2 in all ({area / ((xmax - xmin) * (ymax - ymin)):.2f} x the "
          f"extent), {stats['redrawn']} redrawn as invalid", file=sys.stderr)


if __name__ == "__main__":
    main()
