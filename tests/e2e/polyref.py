"""What the end-to-end tests of polygon inputs share (issue 18): vector files written as
providers publish them, and the independent route their expected cell values come from,
gdal_rasterize at ten times the grid's resolution averaged with numpy."""
import numpy as np
from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()

UTM36S = 32736


def srs_of(epsg):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s


def write_polygons(path, driver, epsg, layer, fields, features, append=False):
    """Writes features [(ring of UTM 36S points, {field: value})] to a new vector file (a new
    layer of an existing one with append); in another epsg (4326) each ring is transformed
    point by point (its edges then straight in lon/lat). Returns path."""
    ds = ogr.Open(path, 1) if append else ogr.GetDriverByName(driver).CreateDataSource(path)
    lyr = ds.CreateLayer(layer, srs_of(epsg), ogr.wkbPolygon)
    for name, kind in fields:
        lyr.CreateField(ogr.FieldDefn(name, kind))
    to = osr.CoordinateTransformation(srs_of(UTM36S), srs_of(epsg)) if epsg != UTM36S else None
    for ring_points, values in features:
        ring = ogr.Geometry(ogr.wkbLinearRing)
        for x, y in ring_points + ring_points[:1]:
            if to:
                x, y, _ = to.TransformPoint(x, y)
            ring.AddPoint_2D(x, y)
        poly = ogr.Geometry(ogr.wkbPolygon)
        poly.AddGeometry(ring)
        f = ogr.Feature(lyr.GetLayerDefn())
        for k, v in values.items():
            f.SetField(k, v)
        f.SetGeometry(poly)
        lyr.CreateFeature(f)
    ds = None
    return path


def fine_reference(path, rows, cols, origin, cell, field=None, factor=10, skip=(), remap=None):
    """The independent route: every polygon of path reprojected to UTM (its edges densified to
    1 m first, as straight lines in its own CRS), burnt by gdal_rasterize at factor times the
    grid's resolution, then averaged with numpy over each cell's sub-cells. With a field, the
    mean over the sub-cells a polygon with a value covers (NaN where none: polygons whose
    value is in skip are left out, remap {value: value} changes others); without, the covered
    share of the union."""
    src = ogr.Open(path)
    lyr = src.GetLayer(0)
    mem = gdal.GetDriverByName("Memory").Create("ref", 0, 0, 0, gdal.GDT_Unknown)
    out = mem.CreateLayer("ref", srs_of(UTM36S), ogr.wkbPolygon)
    out.CreateField(ogr.FieldDefn("v", ogr.OFTReal))
    to = osr.CoordinateTransformation(lyr.GetSpatialRef(), srs_of(UTM36S))
    degrees = lyr.GetSpatialRef().IsGeographic()
    for f in lyr:
        if field is not None and f.GetField(field) in skip:
            continue
        g = f.GetGeometryRef().Clone()
        g.Segmentize(1e-5 if degrees else 1.0)
        g.Transform(to)
        o = ogr.Feature(out.GetLayerDefn())
        value = f.GetField(field) if field else 1.0
        o.SetField("v", (remap or {}).get(value, value))
        o.SetGeometry(g)
        out.CreateFeature(o)
    fine_rows, fine_cols = rows * factor, cols * factor

    def burn(**kw):
        ds = gdal.GetDriverByName("MEM").Create("", fine_cols, fine_rows, 1, gdal.GDT_Float64)
        ds.SetGeoTransform((origin[0], cell / factor, 0, origin[1], 0, -cell / factor))
        ds.SetSpatialRef(srs_of(UTM36S))
        ds.GetRasterBand(1).Fill(np.nan if "attribute" in kw else 0.0)
        gdal.Rasterize(ds, mem, layers=["ref"], **kw)
        return ds.GetRasterBand(1).ReadAsArray()

    def blocks(a):
        return a.reshape(rows, factor, cols, factor)

    if field is None:
        return blocks(burn(burnValues=[1.0])).mean(axis=(1, 3))
    values = blocks(burn(attribute="v"))
    covered = ~np.isnan(values)
    total = np.where(covered, values, 0.0).sum(axis=(1, 3))
    count = covered.sum(axis=(1, 3))
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
