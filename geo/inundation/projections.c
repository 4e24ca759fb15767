/* projections.c: local sea-level projections from a CSV in long format or the IPCC AR6
 * NetCDF layout, and the scenario names that pick a value from them. */
#define _POSIX_C_SOURCE 200809L
#include "projections.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <ogr_srs_api.h>

#include "cityrisk/grid.h"
#include "cityrisk/number.h"
#include "core/csv.h"
#include "core/internal.h"

/* Mean Earth radius (IUGG), km: the great-circle distance to a location. */
static const double EARTH_RADIUS_KM = 6371.0088;

/* A quantile matches a published one within this many percent (AR6 stores 0.17 as a
 * float: 16.9999990463 percent). */
static const double QUANTILE_TOLERANCE = 1e-4;

static void normalise(const char *text, char *out, size_t size)
{
    size_t n = 0;
    for (const char *s = text; *s && n + 1 < size; s++)
        if (*s != '-' && *s != '.' && *s != '_' && !isspace((unsigned char)*s))
            out[n++] = (char)tolower((unsigned char)*s);
    out[n] = '\0';
}

int cr_projection_name_parse(const char *name, char *scenario, size_t size, int *year,
                             double *quantile)
{
    char buf[128];
    if (strlen(name) >= sizeof buf)
        return 0;
    strcpy(buf, name);
    *quantile = 50.0;
    char *dash = strrchr(buf, '-');
    /* "-pNN": a percentile of the published ones. */
    if (dash && (dash[1] == 'p' || dash[1] == 'P') && isdigit((unsigned char)dash[2])) {
        char *end = NULL;
        double q = strtod(dash + 2, &end);
        if (*end || !(q > 0 && q < 100))
            return 0;
        *quantile = q;
        *dash = '\0';
        dash = strrchr(buf, '-');
    }
    if (!dash || dash == buf || strlen(dash + 1) != 4)
        return 0;
    for (int i = 1; i <= 4; i++)
        if (!isdigit((unsigned char)dash[i]))
            return 0;
    *year = atoi(dash + 1);
    *dash = '\0';
    normalise(buf, scenario, size);
    return *scenario != '\0';
}

static const cr_projection *find_row(const cr_projections *p, const char *scenario, int year,
                                     double quantile)
{
    for (size_t i = 0; i < p->count; i++) {
        const cr_projection *r = &p->rows[i];
        if (r->year == year && fabs(r->quantile - quantile) < QUANTILE_TOLERANCE &&
            strcmp(r->scenario, scenario) == 0)
            return r;
    }
    return NULL;
}

/* Adds the value of file (an index in p->files; line > 0 in a CSV). A scenario, year and
 * quantile read before is refused, naming the other file when it came from one: two files
 * that both give it (AR6's medium and low confidence files of one scenario) cannot both be
 * meant, and taking the first would let the order of the files decide. */
static cr_status add_row(cr_ctx *ctx, cr_projections *p, int file, long line, const char *scenario,
                         int year, double quantile, double rise_m)
{
    char norm[24], where[32] = "";
    normalise(scenario, norm, sizeof norm);
    const cr_projection *old = find_row(p, norm, year, quantile);
    if (line > 0)
        snprintf(where, sizeof where, " line %ld", line);
    if (old && old->file == file)
        return cr_ctx_fail(ctx, CR_E_DATA, "projections '%s'%s: %s %d quantile %g is given twice",
                           p->files[file], where, scenario, year, quantile);
    if (old)
        return cr_ctx_fail(ctx, CR_E_DATA,
                           "projections '%s'%s: %s %d quantile %g (%.10g m) is also given by "
                           "'%s' (%.10g m): give one file per scenario",
                           p->files[file], where, scenario, year, quantile, rise_m,
                           p->files[old->file], old->rise_m);
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        cr_projection *rows = realloc(p->rows, cap * sizeof *rows);
        if (!rows)
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading projections '%s'", p->paths);
        p->rows = rows;
        p->cap = cap;
    }
    cr_projection *r = &p->rows[p->count++];
    memcpy(r->scenario, norm, sizeof r->scenario);
    r->year = year;
    r->quantile = quantile;
    r->rise_m = rise_m;
    r->file = file;
    return CR_OK;
}

int cr_projections_find(const cr_projections *p, const char *scenario, int year,
                        double quantile, double *rise_m)
{
    const cr_projection *r = find_row(p, scenario, year, quantile);
    if (r)
        *rise_m = r->rise_m;
    return r != NULL;
}

/* ---- CSV ---------------------------------------------------------------------------- */

static cr_status csv_field_number(cr_ctx *ctx, const char *path, long line, const char *column,
                                  const char *text, double *out)
{
    if (cr_number_finite(text, out))
        return CR_OK;
    return cr_ctx_fail(ctx, CR_E_DATA, "projections '%s' line %ld: %s '%s' is not a number",
                       path, line, column, text);
}

static cr_status read_csv(cr_ctx *ctx, cr_projections *p, int file)
{
    const char *path = p->files[file];
    cr_csv *csv = NULL;
    cr_csv_header h = {0};
    cr_status st = cr_csv_open(ctx, path, &csv);
    if (st == CR_OK)
        st = cr_csv_read_header(ctx, csv, &h);
    int col_s = -1, col_y = -1, col_q = -1, col_v = -1;
    double to_m = 1.0;
    if (st == CR_OK) {
        col_s = cr_csv_header_find(&h, "scenario");
        col_y = cr_csv_header_find(&h, "year");
        col_q = cr_csv_header_find(&h, "quantile");
        col_v = cr_csv_header_find(&h, "sea_level_change_m");
        if (col_v < 0 && (col_v = cr_csv_header_find(&h, "sea_level_change_mm")) >= 0)
            to_m = 0.001;
        if (col_s < 0 || col_y < 0 || col_q < 0 || col_v < 0) {
            char list[512];
            cr_csv_header_list(&h, list, sizeof list);
            st = cr_ctx_fail(ctx, CR_E_DATA,
                             "projections '%s' wants the columns scenario, year, quantile and "
                             "sea_level_change_m (or sea_level_change_mm); it has %s",
                             path, list);
        }
    }
    int need = 1 + (col_s > col_y ? col_s : col_y);
    need = need > col_q + 1 ? need : col_q + 1;
    need = need > col_v + 1 ? need : col_v + 1;
    while (st == CR_OK) {
        cr_csv_record rec;
        if ((st = cr_csv_next_data(ctx, csv, &rec)) != CR_OK || !rec.fields)
            break;
        if (rec.count < need) {
            st = cr_ctx_fail(ctx, CR_E_DATA, "projections '%s' line %ld: %d fields, %d wanted",
                             path, rec.line, rec.count, need);
            break;
        }
        double year, quantile, value;
        const char *scenario = rec.fields[col_s];
        char norm[24];
        normalise(scenario, norm, sizeof norm);
        if ((st = csv_field_number(ctx, path, rec.line, "year", rec.fields[col_y], &year)) != CR_OK ||
            (st = csv_field_number(ctx, path, rec.line, "quantile", rec.fields[col_q], &quantile)) != CR_OK ||
            (st = csv_field_number(ctx, path, rec.line, h.names[col_v], rec.fields[col_v], &value)) != CR_OK)
            break;
        if (!*norm)
            st = cr_ctx_fail(ctx, CR_E_DATA, "projections '%s' line %ld: no scenario", path, rec.line);
        else if (year != floor(year) || year < 1000 || year > 9999)
            st = cr_ctx_fail(ctx, CR_E_DATA, "projections '%s' line %ld: year '%s' is not a year",
                             path, rec.line, rec.fields[col_y]);
        else if (!(quantile > 0 && quantile < 100))
            st = cr_ctx_fail(ctx, CR_E_DATA,
                             "projections '%s' line %ld: quantile '%s' is not a percentage between "
                             "0 and 100 (50 is the median)",
                             path, rec.line, rec.fields[col_q]);
        else
            st = add_row(ctx, p, file, rec.line, scenario, (int)year, quantile, value * to_m);
    }
    cr_csv_header_clear(&h);
    cr_csv_close(csv);
    return st;
}

/* ---- NetCDF (AR6) --------------------------------------------------------------------- */

/* The DEM's centre in degrees of longitude and latitude (WGS 84). */
static cr_status dem_centre(cr_ctx *ctx, const char *dem_path, double *lon, double *lat)
{
    cr_grid *g = NULL;
    cr_status st = cr_grid_from_raster(ctx, dem_path, &g);
    if (st != CR_OK)
        return st;
    double x = g->gt[0] + g->gt[1] * g->width / 2.0 + g->gt[2] * g->height / 2.0;
    double y = g->gt[3] + g->gt[4] * g->width / 2.0 + g->gt[5] * g->height / 2.0;
    OGRSpatialReferenceH src = OSRNewSpatialReference(g->crs_wkt), dst = OSRNewSpatialReference(NULL);
    OGRCoordinateTransformationH ct = NULL;
    if (src && dst && OSRImportFromEPSG(dst, 4326) == OGRERR_NONE) {
        OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
        OSRSetAxisMappingStrategy(dst, OAMS_TRADITIONAL_GIS_ORDER);
        ct = OCTNewCoordinateTransformation(src, dst);
    }
    if (!ct || !OCTTransform(ct, 1, &x, &y, NULL))
        st = cr_ctx_fail(ctx, CR_E_DATA,
                         "cannot find the longitude and latitude of the centre of '%s' to pick a "
                         "projection location; give --location",
                         dem_path);
    *lon = x;
    *lat = y;
    OCTDestroyCoordinateTransformation(ct);
    OSRDestroySpatialReference(src);
    OSRDestroySpatialReference(dst);
    cr_grid_free(g);
    return st;
}

static double great_circle_km(double lon1, double lat1, double lon2, double lat2)
{
    const double rad = 3.14159265358979323846 / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2.0 * EARTH_RADIUS_KM * asin(fmin(1.0, sqrt(a)));
}

/* A one-dimensional variable of n values read as doubles (scale and offset applied);
 * NULL with the failure recorded. */
static double *read_vector(cr_ctx *ctx, GDALGroupH root, const char *path, const char *name,
                           size_t *n)
{
    GDALMDArrayH a = GDALGroupOpenMDArray(root, name, NULL);
    if (!a) {
        cr_ctx_fail(ctx, CR_E_DATA, "projections '%s' has no variable '%s' (the AR6 layout has "
                    "sea_level_change, quantiles, years, locations, lat and lon)", path, name);
        return NULL;
    }
    size_t ndims = 0;
    GDALDimensionH *dims = GDALMDArrayGetDimensions(a, &ndims);
    *n = ndims == 1 ? (size_t)GDALDimensionGetSize(dims[0]) : 0;
    GDALReleaseDimensions(dims, ndims);
    double *v = *n ? malloc(*n * sizeof *v) : NULL;
    GDALExtendedDataTypeH dt = GDALExtendedDataTypeCreate(GDT_Float64);
    GUInt64 start = 0;
    int ok = v && GDALMDArrayRead(a, &start, n, NULL, NULL, dt, v, v, *n * sizeof *v);
    int has_scale = 0, has_offset = 0;
    double scale = GDALMDArrayGetScale(a, &has_scale), offset = GDALMDArrayGetOffset(a, &has_offset);
    for (size_t i = 0; ok && i < *n; i++)
        v[i] = v[i] * (has_scale ? scale : 1.0) + (has_offset ? offset : 0.0);
    GDALExtendedDataTypeRelease(dt);
    GDALMDArrayRelease(a);
    if (!ok) {
        free(v);
        cr_ctx_fail_gdal(ctx, CR_E_DATA, "projections '%s': cannot read '%s' as a list of numbers",
                         path, name);
        return NULL;
    }
    return v;
}

/* The scenario a NetCDF file holds: its global attribute "scenario" when it has one, else
 * "ssp" and three digits in its file name (total_ssp245_medium_confidence_values.nc). */
static int file_scenario(GDALGroupH root, const char *path, char *out, size_t size)
{
    GDALAttributeH attr = GDALGroupGetAttribute(root, "scenario");
    /* The text belongs to the attribute: used before the attribute is released. */
    const char *text = attr ? GDALAttributeReadAsString(attr) : NULL;
    int named = text && *text;
    if (named)
        normalise(text, out, size);
    GDALAttributeRelease(attr);
    if (named && *out)
        return 1;
    const char *name = CPLGetFilename(path);
    for (const char *s = name; *s; s++)
        if (strncasecmp(s, "ssp", 3) == 0 && isdigit((unsigned char)s[3]) &&
            isdigit((unsigned char)s[4]) && isdigit((unsigned char)s[5])) {
            snprintf(out, size, "ssp%c%c%c", s[3], s[4], s[5]);
            return 1;
        }
    return 0;
}

/* Where each of quantiles, years and locations is among the dimensions of the values. */
typedef struct value_dims {
    int q, y, l;
    size_t n;
} value_dims;

static cr_status value_layout(cr_ctx *ctx, GDALMDArrayH a, const char *path, value_dims *d)
{
    size_t ndims = 0;
    GDALDimensionH *dims = GDALMDArrayGetDimensions(a, &ndims);
    d->q = d->y = d->l = -1;
    d->n = ndims;
    for (size_t i = 0; i < ndims; i++) {
        const char *name = GDALDimensionGetName(dims[i]);
        if (strcmp(name, "quantiles") == 0)
            d->q = (int)i;
        else if (strcmp(name, "years") == 0)
            d->y = (int)i;
        else if (strcmp(name, "locations") == 0)
            d->l = (int)i;
    }
    GDALReleaseDimensions(dims, ndims);
    if (ndims == 3 && d->q >= 0 && d->y >= 0 && d->l >= 0)
        return CR_OK;
    return cr_ctx_fail(ctx, CR_E_DATA,
                       "projections '%s': sea_level_change should have the dimensions (quantiles, "
                       "years, locations) as IPCC AR6 files do",
                       path);
}

/* Metres per unit of the values: "mm" (AR6's) unless the variable says metres. */
static double value_unit(GDALMDArrayH a)
{
    const char *unit = GDALMDArrayGetUnit(a);
    if (unit && (strcasecmp(unit, "m") == 0 || strcasecmp(unit, "meter") == 0 ||
                 strcasecmp(unit, "meters") == 0 || strcasecmp(unit, "metre") == 0 ||
                 strcasecmp(unit, "metres") == 0))
        return 1.0;
    return 0.001;
}

/* Picks the location: the one whose id is `location`, else the nearest to (lon, lat), with
 * a warning when that is beyond CR_PROJECTIONS_FAR_KM (once: later files must agree on it). */
static cr_status pick_location(cr_ctx *ctx, cr_projections *p, const char *path,
                               const char *location, const char *dem_path, double lon, double lat, const double *ids,
                               const double *lats, const double *lons, size_t n, size_t *which)
{
    double best = INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (location) {
            char id[32];
            snprintf(id, sizeof id, "%.0f", ids[i]);
            if (strcmp(id, location) != 0)
                continue;
            *which = i;
            best = -1;
            break;
        }
        double d = great_circle_km(lon, lat, lons[i], lats[i]);
        if (d < best) {
            best = d;
            *which = i;
        }
    }
    if (location && best != -1)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--location %s is not among the %zu locations of '%s'",
                           location, n, path);
    if (!isfinite(best) && best != -1)
        return cr_ctx_fail(ctx, CR_E_DATA, "projections '%s' has no location with coordinates", path);
    if (p->has_location && (long long)ids[*which] != p->location)
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "projections '%s': its nearest location %.0f differs from %lld of the "
                           "files before it; give --location",
                           path, ids[*which], p->location);
    if (!p->has_location && !location && best > CR_PROJECTIONS_FAR_KM)
        cr_ctx_log(ctx, CR_LOG_WARNING,
                   "projections '%s': the nearest location, %.0f (lat %.4f, lon %.4f), is %.1f km "
                   "from the centre of '%s' (more than %g km): its values may not hold there; "
                   "check it or give --location ID",
                   path, ids[*which], lats[*which], lons[*which], best, dem_path, CR_PROJECTIONS_FAR_KM);
    p->has_location = 1;
    p->location = (long long)ids[*which];
    p->lat = lats[*which];
    p->lon = lons[*which];
    p->distance_km = best;
    return CR_OK;
}

static cr_status read_netcdf_values(cr_ctx *ctx, cr_projections *p, int file, GDALGroupH root, const char *scenario, size_t loc,
                                    const double *quantiles, size_t nq, const double *years,
                                    size_t ny)
{
    const char *path = p->files[file];
    GDALMDArrayH a = GDALGroupOpenMDArray(root, "sea_level_change", NULL);
    if (!a)
        return cr_ctx_fail(ctx, CR_E_DATA, "projections '%s' has no variable 'sea_level_change'", path);
    value_dims d;
    cr_status st = value_layout(ctx, a, path, &d);
    GUInt64 start[3] = {0, 0, 0};
    size_t count[3] = {1, 1, 1};
    count[d.q >= 0 ? d.q : 0] = nq;
    count[d.y >= 0 ? d.y : 0] = ny;
    count[d.l >= 0 ? d.l : 0] = 1;
    if (d.l >= 0)
        start[d.l] = loc;
    double *v = st == CR_OK ? malloc(nq * ny * sizeof *v) : NULL;
    if (st == CR_OK && !v)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory reading projections '%s'", path);
    GDALExtendedDataTypeH dt = GDALExtendedDataTypeCreate(GDT_Float64);
    if (st == CR_OK && !GDALMDArrayRead(a, start, count, NULL, NULL, dt, v, v, nq * ny * sizeof *v))
        st = cr_ctx_fail_gdal(ctx, CR_E_DATA, "projections '%s': cannot read sea_level_change", path);
    GDALExtendedDataTypeRelease(dt);
    /* The buffer is row-major over the dimensions in the variable's order. */
    size_t stride[3] = {count[1] * count[2], count[2], 1};
    int has_scale = 0, has_offset = 0, has_nodata = 0;
    double scale = GDALMDArrayGetScale(a, &has_scale), offset = GDALMDArrayGetOffset(a, &has_offset);
    double nodata = GDALMDArrayGetNoDataValueAsDouble(a, &has_nodata), to_m = value_unit(a);
    for (size_t qi = 0; st == CR_OK && qi < nq; qi++)
        for (size_t yi = 0; st == CR_OK && yi < ny; yi++) {
            double raw = v[qi * stride[d.q] + yi * stride[d.y]];
            if (isnan(raw) || (has_nodata && raw == nodata))
                continue;
            double value = raw * (has_scale ? scale : 1.0) + (has_offset ? offset : 0.0);
            st = add_row(ctx, p, file, 0, scenario, (int)lround(years[yi]), quantiles[qi] * 100.0,
                         value * to_m);
        }
    free(v);
    GDALMDArrayRelease(a);
    return st;
}

static cr_status read_netcdf(cr_ctx *ctx, cr_projections *p, int file, GDALDatasetH ds,
                             const char *location, const char *dem_path)
{
    const char *path = p->files[file];
    GDALGroupH root = GDALDatasetGetRootGroup(ds);
    char scenario[24];
    if (!root)
        return cr_ctx_fail(ctx, CR_E_DATA, "projections '%s' has no root group", path);
    cr_status st = CR_OK;
    if (!file_scenario(root, path, scenario, sizeof scenario))
        st = cr_ctx_fail(ctx, CR_E_DATA,
                         "cannot tell the scenario of projections '%s': it has no 'scenario' "
                         "attribute and its name has no sspXYZ (as AR6's "
                         "total_ssp245_medium_confidence_values.nc)",
                         path);
    double lon = 0, lat = 0;
    if (st == CR_OK && !location && !dem_path)
        st = cr_ctx_fail(ctx, CR_E_USAGE,
                         "projections '%s' holds several locations: give --dem (the nearest to its "
                         "centre is used) or --location ID",
                         path);
    if (st == CR_OK && !location)
        st = dem_centre(ctx, dem_path, &lon, &lat);
    size_t nq = 0, ny = 0, nl = 0, nlat = 0, nlon = 0, which = 0;
    double *q = NULL, *y = NULL, *ids = NULL, *lats = NULL, *lons = NULL;
    if (st == CR_OK && (!(q = read_vector(ctx, root, path, "quantiles", &nq)) ||
                        !(y = read_vector(ctx, root, path, "years", &ny)) ||
                        !(ids = read_vector(ctx, root, path, "locations", &nl)) ||
                        !(lats = read_vector(ctx, root, path, "lat", &nlat)) ||
                        !(lons = read_vector(ctx, root, path, "lon", &nlon))))
        st = CR_E_DATA;
    if (st == CR_OK && (nlat != nl || nlon != nl))
        st = cr_ctx_fail(ctx, CR_E_DATA, "projections '%s': lat and lon do not have one value per "
                         "location", path);
    if (st == CR_OK)
        st = pick_location(ctx, p, path, location, dem_path, lon, lat, ids, lats, lons, nl, &which);
    if (st == CR_OK)
        st = read_netcdf_values(ctx, p, file, root, scenario, which, q, nq, y, ny);
    free(q), free(y), free(ids), free(lats), free(lons);
    GDALGroupRelease(root);
    return st;
}

static cr_status read_file(cr_ctx *ctx, cr_projections *p, int file, const char *location,
                           const char *dem_path)
{
    const char *path = p->files[file];
    VSILFILE *fp = VSIFOpenL(path, "rb");
    if (!fp)
        return cr_ctx_fail(ctx, CR_E_IO, "cannot open projections '%s'", path);
    VSIFCloseL(fp);
    const char *ext = CPLGetExtension(path);
    if (strcasecmp(ext, "csv") == 0 || strcasecmp(ext, "txt") == 0)
        return read_csv(ctx, p, file);
    cr_gdal_begin(ctx);
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_MULTIDIM_RASTER, NULL, NULL, NULL);
    cr_status st = ds ? read_netcdf(ctx, p, file, ds, location, dem_path)
                      : cr_ctx_fail_gdal(ctx, CR_E_DATA,
                                         "projections '%s' is neither a CSV (.csv) nor a file "
                                         "GDAL reads as multidimensional (NetCDF)",
                                         path);
    GDALClose(ds);
    cr_gdal_end(ctx);
    return st;
}

cr_status cr_projections_load(cr_ctx *ctx, const char *paths, const char *location,
                              const char *dem_path, cr_projections **out)
{
    *out = NULL;
    cr_projections *p = calloc(1, sizeof *p);
    if (!p || !(p->paths = strdup(paths))) {
        free(p);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading projections '%s'", paths);
    }
    p->files = CSLTokenizeString2(paths, ",", CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES);
    cr_status st = CSLCount(p->files) ? CR_OK : cr_ctx_fail(ctx, CR_E_USAGE, "--projections names no file");
    for (int i = 0; st == CR_OK && p->files[i]; i++)
        st = read_file(ctx, p, i, location, dem_path);
    if (st == CR_OK && p->count == 0)
        st = cr_ctx_fail(ctx, CR_E_DATA, "projections '%s' hold no value", paths);
    /* A CSV holds one place's values: a location there would be silently ignored. */
    if (st == CR_OK && location && !p->has_location)
        st = cr_ctx_fail(ctx, CR_E_USAGE,
                         "--location %s picks a location of NetCDF projections; '%s' has none "
                         "(a CSV holds the values of one place)",
                         location, paths);
    if (st != CR_OK) {
        cr_projections_free(p);
        return st;
    }
    *out = p;
    return CR_OK;
}

/* Appends the distinct values of one key of the rows to buf, for the message of a miss. */
static void list_distinct(const cr_projections *p, int key, char *buf, size_t size)
{
    size_t len = strlen(buf);
    for (size_t i = 0; i < p->count && len + 1 < size; i++) {
        const cr_projection *r = &p->rows[i], *s = NULL;
        for (size_t j = 0; j < i && !s; j++) {
            const cr_projection *o = &p->rows[j];
            if ((key == 0 && strcmp(o->scenario, r->scenario) == 0) ||
                (key == 1 && o->year == r->year) ||
                (key == 2 && fabs(o->quantile - r->quantile) < QUANTILE_TOLERANCE))
                s = o;
        }
        if (s)
            continue;
        char item[48];
        if (key == 0)
            snprintf(item, sizeof item, "%s", r->scenario);
        else if (key == 1)
            snprintf(item, sizeof item, "%d", r->year);
        else
            snprintf(item, sizeof item, "p%g", r->quantile);
        snprintf(buf + len, size - len, "%s%s", buf[len - 1] == ' ' ? "" : ", ", item);
        len = strlen(buf);
    }
}

cr_status cr_projections_resolve(cr_ctx *ctx, const cr_projections *p, const char *name,
                                 double *rise_m)
{
    char scenario[24];
    int year = 0;
    double quantile = 50;
    if (cr_projection_name_parse(name, scenario, sizeof scenario, &year, &quantile) &&
        cr_projections_find(p, scenario, year, quantile, rise_m))
        return CR_OK;
    char have[1024] = "scenarios ";
    list_distinct(p, 0, have, sizeof have);
    strncat(have, "; years ", sizeof have - strlen(have) - 1);
    list_distinct(p, 1, have, sizeof have);
    strncat(have, "; quantiles ", sizeof have - strlen(have) - 1);
    list_distinct(p, 2, have, sizeof have);
    return cr_ctx_fail(ctx, CR_E_USAGE,
                       "scenario '%s' is not in projections '%s' (NAME-YEAR[-pNN]; it has %s)",
                       name, p->paths, have);
}

void cr_projections_source(const cr_projections *p, char *buf, size_t size)
{
    if (p->has_location)
        snprintf(buf, size, "local projections %s (location %lld, lat %.4f, lon %.4f)", p->paths,
                 p->location, p->lat, p->lon);
    else
        snprintf(buf, size, "local projections %s", p->paths);
}

void cr_projections_free(cr_projections *p)
{
    if (!p)
        return;
    free(p->paths);
    CSLDestroy(p->files);
    free(p->rows);
    free(p);
}
