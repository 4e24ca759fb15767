/* info_vector.c: describing an OGR vector source: layers, geometry, fields, CRS, extent. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>

#include <cpl_conv.h>
#include <ogr_api.h>

#include "core/crs.h"
#include "info_internal.h"
#include "core/internal.h"

static json_object *describe_fields(OGRFeatureDefnH defn)
{
    json_object *fields = json_object_new_array();
    for (int i = 0; i < OGR_FD_GetFieldCount(defn); i++) {
        OGRFieldDefnH f = OGR_FD_GetFieldDefn(defn, i);
        json_object *field = json_object_new_object();
        json_object_object_add(field, "name", json_object_new_string(OGR_Fld_GetNameRef(f)));
        json_object_object_add(field, "type",
                               json_object_new_string(OGR_GetFieldTypeName(OGR_Fld_GetType(f))));
        json_object_array_add(fields, field);
    }
    return fields;
}

static json_object *describe_layer(const char *path, OGRLayerH layer, json_object *warnings,
                                   cr_info_extent *extent)
{
    json_object *o = json_object_new_object();
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    json_object_object_add(o, "name", json_object_new_string(OGR_L_GetName(layer)));
    json_object_object_add(o, "geometry_type",
                           json_object_new_string(OGRGeometryTypeToName(OGR_L_GetGeomType(layer))));
    GIntBig count = OGR_L_GetFeatureCount(layer, TRUE);
    json_object_object_add(o, "feature_count", json_object_new_int64(count));
    json_object_object_add(o, "fields", describe_fields(defn));

    OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(layer);
    char *wkt = NULL;
    if (srs)
        OSRExportToWkt(srs, &wkt);
    OGREnvelope env;
    int has_extent = OGR_FD_GetGeomFieldCount(defn) > 0 && count > 0 &&
                     OGR_L_GetExtent(layer, &env, TRUE) == OGRERR_NONE;
    cr_bounds b = {env.MinX, env.MinY, env.MaxX, env.MaxY};
    if (OGR_FD_GetGeomFieldCount(defn) > 0)
        cr_info_add_georef(o, path, wkt, has_extent ? &b : NULL, warnings, extent);
    if (count == 0)
        cr_info_warn(warnings, path, "empty", "layer '%s' of '%s' has no features",
                     OGR_L_GetName(layer), path);
    CPLFree(wkt);
    return o;
}

/* The union of two extents, for a source with several layers. */
static void merge_extent(cr_info_extent *into, const cr_info_extent *e)
{
    if (!e->known)
        return;
    if (!into->known) {
        *into = *e;
        return;
    }
    into->bounds.xmin = fmin(into->bounds.xmin, e->bounds.xmin);
    into->bounds.ymin = fmin(into->bounds.ymin, e->bounds.ymin);
    into->bounds.xmax = fmax(into->bounds.xmax, e->bounds.xmax);
    into->bounds.ymax = fmax(into->bounds.ymax, e->bounds.ymax);
    if (into->lonlat_known && e->lonlat_known) {
        into->lonlat.xmin = fmin(into->lonlat.xmin, e->lonlat.xmin);
        into->lonlat.ymin = fmin(into->lonlat.ymin, e->lonlat.ymin);
        into->lonlat.xmax = fmax(into->lonlat.xmax, e->lonlat.xmax);
        into->lonlat.ymax = fmax(into->lonlat.ymax, e->lonlat.ymax);
    } else {
        into->lonlat_known = 0;
    }
}

cr_status cr_info_vector(cr_ctx *ctx, const char *path, GDALDatasetH ds, json_object *warnings,
                         json_object **out, cr_info_extent *extent)
{
    (void)ctx;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "file", json_object_new_string(path));
    json_object_object_add(o, "kind", json_object_new_string("vector"));
    json_object_object_add(o, "driver",
                           json_object_new_string(GDALGetDriverShortName(GDALGetDatasetDriver(ds))));
    json_object *layers = json_object_new_array();
    json_object_object_add(o, "layers", layers);
    for (int i = 0; i < GDALDatasetGetLayerCount(ds); i++) {
        cr_info_extent e = {0};
        json_object_array_add(layers, describe_layer(path, GDALDatasetGetLayer(ds, i), warnings, &e));
        merge_extent(extent, &e);
    }
    if (GDALDatasetGetLayerCount(ds) == 0)
        cr_info_warn(warnings, path, "empty", "'%s' has no layers", path);
    *out = o;
    return CR_OK;
}
