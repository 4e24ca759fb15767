"""Writes the bad-input fixtures of tests/bad/ (README.md lists them and what each command does
with them). Run with Debian's python3 (GDAL's bindings) from anywhere:

    /usr/bin/python3 tests/bad/make_fixtures.py

The fixtures are committed; this script documents how they were made and, with the same GDAL,
remakes them byte for byte. Everything is tiny: an 8 x 8 grid of 30 m cells in the sample
city's CRS (EPSG:32736, inside samples/data/dem.tif), and a dozen arrival records on it.
"""
import json
import os

import numpy as np
from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()
osr.UseExceptions()

HERE = os.path.dirname(os.path.abspath(__file__))
EPSG = 32736
X0, Y0, CELL, SIDE = 690000.0, 7806000.0, 30.0, 8   # top-left corner, cell size, cells per side
NODATA = -9999.0


def srs(epsg=EPSG):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s


def to_lonlat(x, y):
    ct = osr.CoordinateTransformation(srs(), srs(4326))
    lon, lat, _ = ct.TransformPoint(x, y)
    return lon, lat


def path(name):
    return os.path.join(HERE, name)


def write_bytes(name, data):
    with open(path(name), "wb") as fh:
        fh.write(data)


def write_raster(name, values, nodata=NODATA, crs=True, origin=(X0, Y0),
                 options=("COMPRESS=NONE",)):
    """Writes values (rows x cols) as a Float32 GeoTIFF; NaN and ±Inf stay as they are."""
    rows, cols = values.shape
    mem = gdal.GetDriverByName("MEM").Create("", cols, rows, 1, gdal.GDT_Float32)
    mem.SetGeoTransform((origin[0], CELL, 0.0, origin[1], 0.0, -CELL))
    if crs:
        mem.SetSpatialRef(srs())
    band = mem.GetRasterBand(1)
    if nodata is not None:
        band.SetNoDataValue(nodata)
    band.WriteArray(values.astype(np.float32))
    gdal.GetDriverByName("GTiff").CreateCopy(path(name), mem, options=list(options))
    if os.path.exists(path(name) + ".aux.xml"):
        os.remove(path(name) + ".aux.xml")


def good_values():
    """0.00 .. 0.63: valid for every role (depth m, water score, fraction, counts)."""
    return (np.arange(SIDE * SIDE).reshape(SIDE, SIDE) / 100.0)


def rasters():
    write_raster("good.tif", good_values())
    write_raster("no_crs.tif", good_values(), crs=False)
    # 500 km south-west of the sample city, in the same CRS.
    write_raster("elsewhere.tif", good_values(), origin=(X0 - 400000.0, Y0 - 300000.0))
    v = good_values()
    v[2, 3] = np.nan
    v[4, 5] = np.inf
    v[6, 1] = -np.inf
    write_raster("nan_inf.tif", v)
    # Dry cells, no water stress, no arrivals: 0 is a valid value of every role, yet it is
    # declared nodata, so those cells would silently count as missing.
    v = good_values()
    v[:, :4] = 0.0
    write_raster("nodata_zero.tif", v, nodata=0.0)
    # GDAL writes the header (IFD) of a small GeoTIFF first: cutting the file in its only
    # block (16 x 16 cells over the good grid) leaves a raster GDAL opens but cannot read.
    write_raster("truncated.tif", np.tile(good_values(), (2, 2)),
                 options=("COMPRESS=NONE", "TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16"))
    with open(path("truncated.tif"), "rb") as fh:
        data = fh.read()
    write_bytes("truncated.tif", data[: len(data) // 2])
    write_bytes("zero_bytes.tif", b"")
    write_bytes("text.tif", b"This is a text file with a raster's extension, not a GeoTIFF.\n")
    # A VRT header claiming 10^6 x 10^6 cells of 1 cm: a 4 TB Float32 grid in 1 KB.
    write_bytes("huge.vrt", (
        '<VRTDataset rasterXSize="1000000" rasterYSize="1000000">\n'
        f'  <SRS>EPSG:{EPSG}</SRS>\n'
        f'  <GeoTransform>{X0}, 0.01, 0, {Y0}, 0, -0.01</GeoTransform>\n'
        '  <VRTRasterBand dataType="Float32" band="1">\n'
        f'    <NoDataValue>{NODATA:g}</NoDataValue>\n'
        '  </VRTRasterBand>\n'
        '</VRTDataset>\n').encode())
    # good.tif's cells in a CRS that makes no grid: geocentric (X, Y, Z from the earth's
    # centre) and vertical (heights only). GDAL opens both; cityrisk refuses to lay a grid.
    for name, crs in [("geocentric.vrt", "EPSG:4978"), ("vertical.vrt", "EPSG:5773")]:
        write_bytes(name, (
            f'<VRTDataset rasterXSize="{SIDE}" rasterYSize="{SIDE}">\n'
            f'  <SRS>{crs}</SRS>\n'
            f'  <GeoTransform>{X0}, {CELL}, 0, {Y0}, 0, -{CELL}</GeoTransform>\n'
            '  <VRTRasterBand dataType="Float32" band="1">\n'
            f'    <NoDataValue>{NODATA:g}</NoDataValue>\n'
            '    <SimpleSource>\n'
            '      <SourceFilename relativeToVRT="1">good.tif</SourceFilename>\n'
            '      <SourceBand>1</SourceBand>\n'
            '    </SimpleSource>\n'
            '  </VRTRasterBand>\n'
            '</VRTDataset>\n').encode())


# ---- arrival records

HEADER = ["date", "site_name", "latitude", "longitude", "arrivals"]


def records():
    """A dozen records on the good grid's cells, with names that need quoting."""
    rows = []
    for i in range(12):
        r, c = (i * 5) % SIDE, (i * 3) % SIDE
        lon, lat = to_lonlat(X0 + (c + 0.5) * CELL, Y0 - (r + 0.5) * CELL)
        rows.append([f"2024-01-{i + 1:02d}", f"Site {i + 1}, block {chr(65 + i)}",
                     f"{lat:.7f}", f"{lon:.7f}", str(1 + i % 4)])
    return rows


def csv_text(rows, header=HEADER, delimiter=",", newline="\n", quote_all=False):
    def field(v):
        if quote_all or delimiter in v or '"' in v or "\n" in v:
            return '"' + v.replace('"', '""') + '"'
        return v

    return "".join(delimiter.join(field(v) for v in row) + newline for row in [header] + rows)


def csvs():
    rows = records()
    plain = csv_text(rows)
    write_bytes("points.csv", plain.encode())
    write_bytes("bom.csv", b"\xef\xbb\xbf" + plain.encode())
    write_bytes("crlf.csv", csv_text(rows, newline="\r\n").encode())
    write_bytes("semicolon.csv", csv_text(rows, delimiter=";").encode())
    # Quoted fields holding the delimiter, quotes and line breaks (RFC 4180).
    quoted = [[d, n.replace(", ", ",\n") + ' "camp"', la, lo, a] for d, n, la, lo, a in rows]
    write_bytes("quoted.csv", csv_text(quoted, quote_all=True).encode())
    # Line 4 (the third record) holds a Latin-1 name: byte 0xE9 is not UTF-8.
    text = plain.encode().split(b"\n")
    text[3] = text[3].replace(b"Site 3", b"Cit\xe9 3")
    write_bytes("bad_utf8.csv", b"\n".join(text))
    dup = [row + [row[4]] for row in rows]
    write_bytes("dup_header.csv", csv_text(dup, header=HEADER + ["arrivals"]).encode())
    write_bytes("header_only.csv", csv_text([]).encode())
    # Numbers C's strtod() reads but that are not decimal: a hexadecimal count (lines 2, 7),
    # a C99 hexadecimal latitude (line 4); and counts a Float32 cell cannot hold: two of 3e38
    # in one cell (lines 3, 5 are the same site), 1e38 (line 6).
    hexa = [list(row) for row in rows]
    hexa[0][4], hexa[5][4] = "0x10", "0X2"
    hexa[2][2] = float.hex(float(hexa[2][2]))
    write_bytes("hex_numbers.csv", csv_text(hexa).encode())
    huge = [list(row) for row in rows[:6]]
    huge[3][2:4] = huge[1][2:4]
    huge[1][4], huge[3][4], huge[4][4] = "3e38", "3e38", "1e38"
    write_bytes("huge_counts.csv", csv_text(huge).encode())
    write_bytes("zero_bytes.csv", b"")


# ---- zones and points as OGR layers

def square(c0, r0, c1, r1):
    """A lon/lat ring around cells c0..c1 x r0..r1 of the good grid (closed)."""
    corners = [(c0, r0), (c1 + 1, r0), (c1 + 1, r1 + 1), (c0, r1 + 1), (c0, r0)]
    return [list(to_lonlat(X0 + c * CELL, Y0 - r * CELL)) for c, r in corners]


def feature(fid, geometry, name):
    return {"type": "Feature", "properties": {"zone_id": fid, "name": name}, "geometry": geometry}


def collection(features):
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=1) + "\n"


def polygon(ring):
    return {"type": "Polygon", "coordinates": [ring]}


def geojsons():
    west = polygon(square(0, 0, 3, 7))
    east = polygon(square(4, 0, 7, 7))
    write_bytes("zones.geojson", collection([feature(1, west, "West"),
                                             feature(2, east, "East")]).encode())
    write_bytes("null_geometry.geojson", collection([feature(1, west, "West"),
                                                     feature(2, None, "Nowhere")]).encode())
    write_bytes("empty_geometry.geojson", collection([
        feature(1, west, "West"), feature(2, {"type": "Polygon", "coordinates": []}, "Empty")
    ]).encode())
    # A bow tie: the ring crosses itself in the middle of the east half.
    a, b = square(4, 0, 7, 7)[0], square(4, 0, 7, 7)[2]
    tie = [a, [b[0], a[1]], [a[0], b[1]], b, a]
    write_bytes("self_intersecting.geojson", collection([
        feature(1, west, "West"), feature(2, polygon(tie), "Bow tie")]).encode())
    pts = [{"type": "Feature",
            "properties": {"date": r[0], "site_name": r[1], "arrivals": int(r[4])},
            "geometry": {"type": "Point", "coordinates": [float(r[3]), float(r[2])]}}
           for r in records()]
    write_bytes("points.geojson", collection(pts).encode())
    far = polygon([[x - 4.0, y - 3.0] for x, y in square(0, 0, 7, 7)])
    write_bytes("elsewhere.geojson", collection([feature(1, far, "Far away")]).encode())
    write_bytes("empty_layer.geojson", collection([]).encode())
    write_bytes("not_json.geojson",
                b'{"type": "FeatureCollection", "features": [ this is not JSON\n')


def no_crs_layer(name, geom_type, wkts):
    """A FlatGeobuf layer without CRS (GeoJSON always has one: RFC 7946's WGS 84)."""
    if os.path.exists(path(name)):
        os.remove(path(name))
    ds = ogr.GetDriverByName("FlatGeobuf").CreateDataSource(path(name))
    lyr = ds.CreateLayer(os.path.splitext(name)[0], None, geom_type,
                         options=["SPATIAL_INDEX=NO"])
    lyr.CreateField(ogr.FieldDefn("zone_id", ogr.OFTInteger))
    lyr.CreateField(ogr.FieldDefn("arrivals", ogr.OFTInteger))
    for i, wkt in enumerate(wkts):
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetField("zone_id", i + 1)
        f.SetField("arrivals", 1)
        f.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        lyr.CreateFeature(f)
    ds = None


def no_crs():
    ring = ",".join(f"{X0 + c * CELL} {Y0 - r * CELL}" for c, r in
                    [(0, 0), (8, 0), (8, 8), (0, 8), (0, 0)])
    no_crs_layer("no_crs_zones.fgb", ogr.wkbPolygon, [f"POLYGON (({ring}))"])
    no_crs_layer("no_crs_points.fgb", ogr.wkbPoint,
                 [f"POINT ({X0 + 45} {Y0 - 45})", f"POINT ({X0 + 105} {Y0 - 165})"])


# ---- zones that cost more than they cover (issue 16)

def utm_collection(features):
    """A FeatureCollection in EPSG:32736, named by GeoJSON's old "crs" member (GDAL reads
    it), compact: the rings below are long."""
    return json.dumps({"type": "FeatureCollection",
                       "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32736"}},
                       "features": features}, separators=(",", ":")) + "\n"


def costly_zones():
    # Issue 16's zig-zag: 4 crossings and a spike, 200 m below the grid's top-left corner.
    zig = [(0, 0), (4, 4), (8, 0), (12, 4), (16, 0), (16, 4), (12, 0), (8, 4), (4, 0), (0, 4),
           (0, 0), (-10, -10), (0, 0)]
    write_bytes("zig_zag.geojson", utm_collection([feature(1, polygon(
        [[X0 + x, Y0 - 200.0 + y] for x, y in zig]), "Zig zag")]).encode())
    # 10,000 vertices drawn over the grid in drawing order: about 10 million crossings.
    rng = np.random.default_rng(16)
    ring = [[round(X0 + float(u), 2), round(Y0 - float(v), 2)]
            for u, v in zip(rng.uniform(1, SIDE * CELL - 1, 10000),
                            rng.uniform(1, SIDE * CELL - 1, 10000))]
    write_bytes("many_crossings.geojson", utm_collection([feature(1, polygon(ring + [ring[0]]),
                                                                  "Scribble")]).encode())
    # The whole world in lon/lat, over a grid of 240 m.
    write_bytes("world.geojson", collection([feature(1, polygon(
        [[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]), "World")]).encode())
    # A coordinate that is not a number (JSON has no NaN; GDAL's reader takes it).
    west = [[X0, Y0], [X0 + 60, Y0], [X0 + 60, Y0 - 60], [X0, Y0 - 60], [X0, Y0]]
    text = utm_collection([feature(1, polygon(west), "West")]).replace("690060.0,7805940.0",
                                                                          "NaN,7805940.0")
    assert "NaN" in text
    write_bytes("nan_coordinate.geojson", text.encode())
    # Fields whose names differ only in case: GeoJSON keeps them apart, GPKG cannot.
    cased = {"type": "Feature", "properties": {"zone_id": 1, "Name": "West", "name": "Ouest"},
             "geometry": polygon(square(0, 0, 3, 7))}
    write_bytes("case_fields.geojson", collection([cased]).encode())


# ---- pipeline files

def pipelines():
    write_bytes("zero_bytes.json", b"")
    write_bytes("not_json.json", b"stages:\n  - stage: inundation\n    dem: good.tif\n")


# ---- numbers and messages (issue 16)

def numbers_and_messages():
    # A Float64 band with a value beyond Float32's range (read as +Inf in Float32).
    v = good_values().astype(np.float64)
    v[4, 5] = 1e39
    mem = gdal.GetDriverByName("MEM").Create("", SIDE, SIDE, 1, gdal.GDT_Float64)
    mem.SetGeoTransform((X0, CELL, 0.0, Y0, 0.0, -CELL))
    mem.SetSpatialRef(srs())
    mem.GetRasterBand(1).SetNoDataValue(NODATA)
    mem.GetRasterBand(1).WriteArray(v)
    gdal.GetDriverByName("GTiff").CreateCopy(path("float64_beyond_float32.tif"), mem,
                                             options=["COMPRESS=NONE"])
    # good.tif's cells under a geotransform whose origin is NaN.
    write_bytes("nan_geotransform.vrt", (
        '<VRTDataset rasterXSize="8" rasterYSize="8">\n'
        f'  <SRS>EPSG:{EPSG}</SRS>\n'
        f'  <GeoTransform>nan, {CELL}, 0, {Y0}, 0, {-CELL}</GeoTransform>\n'
        '  <VRTRasterBand dataType="Float32" band="1">\n'
        f'    <NoDataValue>{NODATA}</NoDataValue>\n'
        '    <SimpleSource><SourceFilename relativeToVRT="1">good.tif</SourceFilename>'
        '<SourceBand>1</SourceBand></SimpleSource>\n'
        '  </VRTRasterBand>\n</VRTDataset>\n').encode())
    # good.tif whose last tag (written last, after the directory was moved to the end) is cut
    # short: libtiff warns at every read of the directory.
    mem = gdal.GetDriverByName("MEM").Create("", SIDE, SIDE, 1, gdal.GDT_Float32)
    mem.SetGeoTransform((X0, CELL, 0.0, Y0, 0.0, -CELL))
    mem.SetSpatialRef(srs())
    mem.GetRasterBand(1).WriteArray(good_values().astype(np.float32))
    ds = gdal.GetDriverByName("GTiff").CreateCopy(path("cut_tag.tif"), mem,
                                                  options=["COMPRESS=NONE"])
    ds.FlushCache()
    ds.SetMetadataItem("NOTE", "x" * 5000)
    ds = None
    with open(path("cut_tag.tif"), "rb") as fh:
        data = fh.read()
    write_bytes("cut_tag.tif", data[:-100])
    # A polygon whose ring does not return to its first point.
    write_bytes("unclosed_ring.geojson", collection([
        feature(1, polygon(square(0, 0, 3, 7)[:-1]), "Open")]).encode())


if __name__ == "__main__":
    rasters()
    csvs()
    geojsons()
    costly_zones()
    no_crs()
    pipelines()
    numbers_and_messages()
