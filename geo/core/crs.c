/* crs.c: CRS descriptions, lon/lat extents and JSON numbers. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* M_PI */
#include "crs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <ogr_srs_api.h>

#include "internal.h"

/* The EPSG code of srs, through its authority or the best match PROJ finds with at
 * least 90 % confidence; 0 when none. */
static int epsg_code(OGRSpatialReferenceH srs)
{
    const char *auth = OSRGetAuthorityName(srs, NULL);
    const char *code = OSRGetAuthorityCode(srs, NULL);
    if (auth && code && EQUAL(auth, "EPSG"))
        return atoi(code);
    int n = 0, *confidence = NULL, epsg = 0;
    OGRSpatialReferenceH *matches = OSRFindMatches(srs, NULL, &n, &confidence);
    if (matches && n > 0 && confidence[0] >= 90) {
        auth = OSRGetAuthorityName(matches[0], NULL);
        code = OSRGetAuthorityCode(matches[0], NULL);
        if (auth && code && EQUAL(auth, "EPSG"))
            epsg = atoi(code);
    }
    OSRFreeSRSArray(matches);
    CPLFree(confidence);
    return epsg;
}

json_object *cr_crs_json(const char *wkt)
{
    OGRSpatialReferenceH srs = cr_srs_from_wkt(wkt);
    if (!srs)
        return NULL;
    json_object *o = json_object_new_object();
    const char *name = OSRGetName(srs);
    json_object_object_add(o, "name", json_object_new_string(name ? name : "unnamed"));
    CPLPushErrorHandler(CPLQuietErrorHandler);
    int epsg = epsg_code(srs);
    CPLPopErrorHandler();
    json_object_object_add(o, "epsg", epsg ? json_object_new_int(epsg) : NULL);
    int geographic = OSRIsGeographic(srs);
    json_object_object_add(o, "geographic", json_object_new_boolean(geographic));
    char *units = NULL;
    if (geographic)
        OSRGetAngularUnits(srs, &units);
    else
        OSRGetLinearUnits(srs, &units);
    json_object_object_add(o, "units", json_object_new_string(units ? units : "unknown"));
    OSRDestroySpatialReference(srs);
    return o;
}

int cr_bounds_to_lonlat(const char *wkt, const cr_bounds *in, cr_bounds *out)
{
    OGRSpatialReferenceH src = cr_srs_from_wkt(wkt);
    if (!src)
        return 0;
    OGRSpatialReferenceH dst = OSRNewSpatialReference(NULL);
    OSRSetWellKnownGeogCS(dst, "WGS84");
    OSRSetAxisMappingStrategy(dst, OAMS_TRADITIONAL_GIS_ORDER);
    CPLPushErrorHandler(CPLQuietErrorHandler);
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(src, dst);
    int ok = ct && OCTTransformBounds(ct, in->xmin, in->ymin, in->xmax, in->ymax, &out->xmin,
                                      &out->ymin, &out->xmax, &out->ymax, 21);
    CPLPopErrorHandler();
    if (ct)
        OCTDestroyCoordinateTransformation(ct);
    OSRDestroySpatialReference(src);
    OSRDestroySpatialReference(dst);
    return ok ? 1 : 0;
}

double cr_grid_cell_area_m2(const cr_grid *g)
{
    OGRSpatialReferenceH srs = cr_srs_from_wkt(g->crs_wkt);
    double area = cr_grid_cell_area(g);
    if (!srs)
        return area;
    if (OSRIsGeographic(srs)) {
        const double radius = 6371008.8, rad = M_PI / 180.0;
        double lat = (g->gt[3] + g->height * g->gt[5] / 2.0) * rad;
        area *= radius * radius * rad * rad * cos(lat);
    } else {
        double unit = OSRGetLinearUnits(srs, NULL);
        area *= unit * unit;
    }
    OSRDestroySpatialReference(srs);
    return area;
}

int cr_utm_epsg(double lon, double lat)
{
    int zone = (int)floor((lon + 180.0) / 6.0) + 1;
    if (zone < 1)
        zone = 1;
    if (zone > 60)
        zone = 60;
    return (lat < 0.0 ? 32700 : 32600) + zone;
}

json_object *cr_json_number(double v, int digits)
{
    if (!isfinite(v))
        return NULL;
    if (v == floor(v) && fabs(v) < 9e15)
        return json_object_new_int64((int64_t)v);
    char text[64];
    snprintf(text, sizeof text, "%.*g", digits, v);
    return json_object_new_double_s(v, text);
}

json_object *cr_json_bounds(const cr_bounds *b, int digits)
{
    json_object *a = json_object_new_array();
    json_object_array_add(a, cr_json_number(b->xmin, digits));
    json_object_array_add(a, cr_json_number(b->ymin, digits));
    json_object_array_add(a, cr_json_number(b->xmax, digits));
    json_object_array_add(a, cr_json_number(b->ymax, digits));
    return a;
}

char *cr_json_take_text(json_object *doc)
{
    char *text = cr_json_text(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    json_object_put(doc);
    return text;
}

json_object *cr_grid_to_json(const cr_grid *grid)
{
    json_object *o = json_object_new_object(), *res = json_object_new_array();
    json_object_object_add(o, "width", json_object_new_int(grid->width));
    json_object_object_add(o, "height", json_object_new_int(grid->height));
    json_object_array_add(res, cr_json_number(grid->gt[1], 12));
    json_object_array_add(res, cr_json_number(-grid->gt[5], 12));
    json_object_object_add(o, "resolution", res);
    cr_bounds b = cr_grid_bounds(grid);
    json_object_object_add(o, "bounds", cr_json_bounds(&b, 15));
    json_object_object_add(o, "crs", cr_crs_json(grid->crs_wkt));
    return o;
}
