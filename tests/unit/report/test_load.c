/* test_load.c: the report's model (geo/report/report_load.c): views from LABEL;LABEL=FILE,
 * zones matched by id across files, per-scenario fields chosen by the view's labels, names
 * kept as they are, exposure and sensitivity joined, classes, sources, the date, and the
 * errors. The files are small zonal-shaped GeoJSON (with the "cityrisk" member zonal
 * writes) and GeoPackages written here; every expected value is read off the fixtures. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <utime.h>

#include <cpl_string.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "cityrisk/version.h"
#include "report/report_internal.h"

/* zonal's provenance with two sea scenarios, its id field "code" (not the first field) and
 * name field "label", and class breaks 1 and 2. */
#define MEMBER_TWO_SEAS                                                                              \
    "\"cityrisk\":{\"CITYRISK_VERSION\":\"0.1.0\",\"CITYRISK_COMMAND\":\"zonal ...\","              \
    "\"CITYRISK_INPUTS\":[{\"role\":\"zones\",\"path\":\"z.gpkg\"},"                              \
    "{\"role\":\"sea ssp245-2100\",\"path\":\"i.tif\",\"band\":1},"                                \
    "{\"role\":\"sea stress-2m\",\"path\":\"i.tif\",\"band\":2}],"                                 \
    "\"CITYRISK_PARAMETERS\":{\"id_field\":\"code\",\"name_field\":\"label\","                    \
    "\"classes\":{\"breaks\":[1,2]}}}"

/* The same with one sea scenario (zonal then writes unsuffixed fields). */
#define MEMBER_ONE_SEA                                                                               \
    "\"cityrisk\":{\"CITYRISK_INPUTS\":[{\"role\":\"sea ssp245-2050\",\"path\":\"i.tif\"}],"      \
    "\"CITYRISK_PARAMETERS\":{\"id_field\":\"code\",\"name_field\":\"label\"}}"

/* A name with markup, both quotes and UTF-8 ("Maçã <&\"'>"), as JSON text and as read. */
#define ODD_NAME_JSON "Ma\xc3\xa7\xc3\xa3 <&\\\"'>"
#define ODD_NAME "Ma\xc3\xa7\xc3\xa3 <&\"'>"

typedef struct fixture {
    char *dir;
    cr_ctx *ctx;
    char **logged; /* CSL of the warnings */
} fixture;

static void keep_log(void *arg, cr_log_level level, const char *msg)
{
    fixture *f = arg;
    if (level <= CR_LOG_WARNING)
        f->logged = CSLAddString(f->logged, msg);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    GDALAllRegister();
    f->dir = tu_mkdtemp();
    f->ctx = cr_ctx_new();
    cr_ctx_set_log(f->ctx, keep_log, f, CR_LOG_WARNING);
    setenv("SOURCE_DATE_EPOCH", "0", 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmdir(f->dir);
    cr_ctx_free(f->ctx);
    CSLDestroy(f->logged);
    free(f);
    unsetenv("SOURCE_DATE_EPOCH");
    return 0;
}

/* Writes a GeoJSON FeatureCollection at dir/name: member (the cityrisk member's text, or
 * NULL), then one feature per properties text, feature k a 0.01-degree square at
 * longitude 30 + 0.01 k. Returns the path (free() it). */
static char *write_geojson(const char *dir, const char *name, const char *member, const char *const *props)
{
    char *path = tu_path(dir, name);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fprintf(out, "{\"type\":\"FeatureCollection\",%s%s\"features\":[", member ? member : "", member ? "," : "");
    for (int k = 0; props[k]; k++) {
        double x = 30 + 0.01 * k, y = -20;
        fprintf(out,
                "%s{\"type\":\"Feature\",\"properties\":{%s},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
                "[[[%.2f,%.2f],[%.2f,%.2f],[%.2f,%.2f],[%.2f,%.2f],[%.2f,%.2f]]]}}",
                k ? "," : "", props[k], x, y, x + 0.01, y, x + 0.01, y + 0.01, x, y + 0.01, x, y);
    }
    fprintf(out, "]}\n");
    assert_int_equal(fclose(out), 0);
    return path;
}

/* The first view: zones Z1 (the odd name) and Z2, each with both scenarios' flood. */
static char *write_view_a(const char *dir)
{
    const char *props[] = {
        "\"first\":9,\"code\":\"Z1\",\"label\":\"" ODD_NAME_JSON "\",\"score_mean\":1.5,\"score_class\":1,"
        "\"score_rank\":2,\"arrivals_flooded_ssp245_2100\":10,\"arrivals_flooded_stress_2m\":99",
        "\"first\":8,\"code\":\"Z2\",\"label\":\"Beta\",\"score_mean\":2.5,\"score_rank\":1,"
        "\"arrivals_flooded_ssp245_2100\":20,\"arrivals_flooded_stress_2m\":30",
        NULL};
    return write_geojson(dir, "a.geojson", MEMBER_TWO_SEAS, props);
}

/* The second view: Z3 (new) before Z2, and no Z1. */
static char *write_view_b(const char *dir)
{
    const char *props[] = {
        "\"first\":7,\"code\":\"Z3\",\"label\":\"Gamma\",\"score_mean\":7,"
        "\"arrivals_flooded_ssp245_2100\":1,\"arrivals_flooded_stress_2m\":2",
        "\"first\":6,\"code\":\"Z2\",\"label\":\"Beta\",\"score_mean\":3.5,"
        "\"arrivals_flooded_ssp245_2100\":40,\"arrivals_flooded_stress_2m\":50",
        NULL};
    return write_geojson(dir, "b.geojson", MEMBER_TWO_SEAS, props);
}

/* "LABEL=FILE" in a CSL. */
static char **add_spec(char **list, const char *labels, const char *file)
{
    char *spec = CPLStrdup(CPLSPrintf("%s=%s", labels, file));
    list = CSLAddString(list, spec);
    CPLFree(spec);
    return list;
}

/* The value of field's metric in view v, zone z. */
static double value(const report_model *r, int v, int z, const char *field)
{
    int m = report_metric_find(field);
    assert_true(m >= 0);
    return report_value(r, v, z, m);
}

/* Sets the CITYRISK_* metadata items of a new raster at path (1x1, EPSG:32736). */
static void write_raster_with(const char *path, const char *inputs, const char *parameters)
{
    const float cell = 1;
    tu_write_raster(path, 32736, 500000, 10000000, 30, 1, 1, &cell, 0, 0);
    GDALDatasetH ds = GDALOpen(path, GA_Update);
    assert_non_null(ds);
    GDALSetMetadataItem(ds, "CITYRISK_VERSION", "0.1.0", NULL);
    if (inputs)
        GDALSetMetadataItem(ds, "CITYRISK_INPUTS", inputs, NULL);
    if (parameters)
        GDALSetMetadataItem(ds, "CITYRISK_PARAMETERS", parameters, NULL);
    GDALClose(ds);
}

/* Two labelled views with different zone orders and a zone missing from one: three zones in
 * first-seen order, NaN where a view lacks a zone, each view's flood from its scenario's
 * fields, the odd name as it is, titles, CRS, the second view's exposure by its labels,
 * classes from zonal's breaks (the first view has no exposure raster), sources. */
static void test_views_matched_by_id(void **state)
{
    fixture *f = *state;
    char *a = write_view_a(f->dir), *b = write_view_b(f->dir), *tif = tu_path(f->dir, "e.tif");
    write_raster_with(tif, NULL, "{\"classes\":{\"breaks\":[5]}}");
    cr_report_opts o;
    cr_report_opts_init(&o);
    char **by = CSLAddString(CSLAddString(NULL, "scenario"), "weights");
    o.by = by;
    o.zones = add_spec(add_spec(NULL, "ssp245-2100;default", a), "stress-2m;equal", b);
    o.exposure = add_spec(NULL, "stress-2m;equal", tif);
    report_model r = {0};
    assert_int_equal(report_load(f->ctx, &r, &o), CR_OK);

    assert_int_equal(r.nviews, 2);
    assert_string_equal(r.views[0].label, "ssp245-2100;default");
    assert_string_equal(r.views[0].title, "ssp245-2100 / default");
    assert_string_equal(r.views[1].label, "stress-2m;equal");
    assert_string_equal(r.views[1].title, "stress-2m / equal");
    assert_string_equal(r.views[0].path, a);
    assert_string_equal(r.views[0].scenario, "ssp245-2100");
    assert_string_equal(r.views[1].scenario, "stress-2m");
    assert_null(r.views[0].exposure_path);
    assert_null(r.views[0].exposure_metadata);
    assert_string_equal(r.views[1].exposure_path, tif);
    assert_non_null(r.views[1].exposure_metadata);

    assert_int_equal(r.nzones, 3);
    assert_int_equal(r.nmetrics, report_metric_count());
    assert_string_equal(r.zones[0].id, "Z1");
    assert_string_equal(r.zones[1].id, "Z2");
    assert_string_equal(r.zones[2].id, "Z3");
    assert_string_equal(r.zones[0].name, ODD_NAME);
    assert_string_equal(r.zones[2].name, "Gamma");
    for (int z = 0; z < 3; z++)
        assert_non_null(r.zones[z].geometry);
    assert_int_equal(r.views[0].absent, 1); /* Z3 is not in a.geojson */
    assert_int_equal(r.views[1].absent, 1); /* nor Z1 in b.geojson */

    assert_true(value(&r, 0, 0, "score_mean") == 1.5);
    assert_true(value(&r, 0, 0, "arrivals_flooded") == 10);
    assert_true(value(&r, 0, 1, "score_mean") == 2.5);
    assert_true(value(&r, 0, 1, "arrivals_flooded") == 20);
    assert_true(isnan(value(&r, 0, 1, "score_class")));
    assert_true(isnan(value(&r, 0, 2, "score_mean")));
    assert_true(isnan(value(&r, 1, 0, "score_mean")));
    assert_true(isnan(value(&r, 1, 0, "arrivals_flooded")));
    assert_true(value(&r, 1, 1, "score_mean") == 3.5);
    assert_true(value(&r, 1, 1, "arrivals_flooded") == 50);
    assert_true(value(&r, 1, 2, "score_mean") == 7);
    assert_true(value(&r, 1, 2, "arrivals_flooded") == 2);
    assert_true(isnan(value(&r, 0, 0, "data_coverage")));

    assert_string_equal(r.crs_name, "WGS 84");
    assert_non_null(r.crs_wkt);
    assert_int_equal(r.geographic, 1);
    assert_string_equal(r.title, "Migrant exposure to climate hazards");
    assert_null(r.city);
    assert_string_equal(r.version, CR_VERSION_STRING);
    assert_string_equal(r.date, "1970-01-01");
    assert_int_equal(r.paged, 0);
    assert_int_equal(r.has_sensitivity, 0);

    /* zonal's breaks 1, 2: three classes named by range, YlOrRd's ends and middle */
    assert_int_equal(r.classes.n, 3);
    assert_true(r.classes.breaks[0] == 1 && r.classes.breaks[1] == 2);
    assert_string_equal(r.classes.names[0], "< 1");
    assert_string_equal(r.classes.names[1], "1 - < 2");
    assert_string_equal(r.classes.names[2], ">= 2");
    assert_string_equal(r.classes.colors[0], "#ffffb2");
    assert_string_equal(r.classes.colors[1], "#fd8d3c");
    assert_string_equal(r.classes.colors[2], "#bd0026");

    assert_int_equal(r.nsources, 3);
    assert_string_equal(r.sources[0].role, "zones ssp245-2100;default");
    assert_string_equal(r.sources[1].role, "zones stress-2m;equal");
    assert_string_equal(r.sources[2].role, "exposure stress-2m;equal");
    assert_string_equal(r.sources[2].path, tif);
    struct stat sb;
    assert_int_equal(stat(b, &sb), 0);
    assert_int_equal(r.sources[1].bytes, (int64_t)sb.st_size);
    assert_int_equal(r.sources[1].mtime, 0); /* no later than SOURCE_DATE_EPOCH (0 here) */
    json_object *par = NULL, *id = NULL;
    assert_true(json_object_object_get_ex(r.views[0].provenance, "CITYRISK_PARAMETERS", &par));
    assert_true(json_object_object_get_ex(par, "id_field", &id));
    assert_string_equal(json_object_get_string(id), "code");
    assert_ptr_equal(r.sources[0].provenance, r.views[0].provenance);

    report_model_free(&r);
    CSLDestroy(by);
    CSLDestroy(o.zones);
    CSLDestroy(o.exposure);
    free(a);
    free(b);
    free(tif);
}

/* Without --by a view is named by its file's stem; one sea scenario means unsuffixed fields;
 * the options' id and name fields win over the recorded ones. */
static void test_stem_label_and_one_scenario(void **state)
{
    fixture *f = *state;
    const char *props[] = {"\"code\":\"Z1\",\"other\":\"x1\",\"label\":\"L\",\"name\":\"N\",\"score_mean\":4,"
                           "\"arrivals_flooded\":5",
                           NULL};
    char *sub = tu_path(f->dir, "sub.dir");
    assert_int_equal(mkdir(sub, 0700), 0);
    char *path = write_geojson(sub, "neighbourhoods-ssp245.geojson", MEMBER_ONE_SEA, props);
    cr_report_opts o;
    cr_report_opts_init(&o);
    o.zones = CSLAddString(NULL, path);
    o.id_field = "other";
    o.name_field = "name";
    o.title = "T";
    o.city = "Port Azul";
    report_model r = {0};
    assert_int_equal(report_load(f->ctx, &r, &o), CR_OK);
    assert_string_equal(r.views[0].label, "neighbourhoods-ssp245");
    assert_string_equal(r.views[0].title, "neighbourhoods-ssp245");
    assert_string_equal(r.views[0].scenario, "ssp245-2050");
    assert_int_equal(r.nzones, 1);
    assert_string_equal(r.zones[0].id, "x1");
    assert_string_equal(r.zones[0].name, "N");
    assert_true(value(&r, 0, 0, "arrivals_flooded") == 5);
    assert_string_equal(r.title, "T");
    assert_string_equal(r.city, "Port Azul");
    assert_string_equal(r.sources[0].role, "zones neighbourhoods-ssp245");
    /* no classes recorded: INFORM's with YlOrRd */
    assert_int_equal(r.classes.n, 5);
    assert_true(r.classes.breaks[0] == 2.0 && r.classes.breaks[3] == 6.5);
    assert_string_equal(r.classes.names[0], "Very Low");
    assert_string_equal(r.classes.names[4], "Very High");
    assert_string_equal(r.classes.colors[0], "#ffffb2");
    assert_string_equal(r.classes.colors[3], "#f03b20");
    report_model_free(&r);
    CSLDestroy(o.zones);
    free(path);
    free(sub);
}

/* No label names a scenario: the exposure raster's sea scenario is taken, and its classes
 * (names and colours) and metadata; without a raster the first scenario, with a warning
 * naming the file. The inundation raster's parameters are kept. */
/* Without --exposure and without a label naming a scenario, the view reads the flood of the
 * scenario its exposure raster was scored with: zonal recorded that raster as "exposure
 * score" with the path it was given ("elsewhere/e.tif", relative to where zonal ran: not
 * here), and it is found by its name beside the zones file. */
static void test_scenario_from_the_recorded_exposure(void **state)
{
    fixture *f = *state;
    const char *props[] = {"\"code\":\"Z1\",\"label\":\"A\",\"score_mean\":1,"
                           "\"arrivals_flooded_ssp245_2100\":10,\"arrivals_flooded_stress_2m\":99",
                           NULL};
    char *zones = write_geojson(
        f->dir, "n.geojson",
        "\"cityrisk\":{\"CITYRISK_INPUTS\":[{\"role\":\"zones\",\"path\":\"z.gpkg\"},"
        "{\"role\":\"exposure score\",\"path\":\"elsewhere/e.tif\",\"band\":1},"
        "{\"role\":\"sea ssp245-2100\",\"path\":\"i.tif\",\"band\":1},"
        "{\"role\":\"sea stress-2m\",\"path\":\"i.tif\",\"band\":2}],"
        "\"CITYRISK_PARAMETERS\":{\"id_field\":\"code\",\"name_field\":\"label\"}}",
        props);
    cr_report_opts o;
    cr_report_opts_init(&o);
    o.zones = CSLAddString(NULL, zones);
    report_model r = {0};
    /* not found: the first, with a warning */
    assert_int_equal(report_load(f->ctx, &r, &o), CR_OK);
    assert_string_equal(r.views[0].scenario, "ssp245-2100");
    assert_int_equal(CSLCount(f->logged), 1);
    report_model_free(&r);
    /* beside the zones file: its scenario, no warning */
    char *tif = tu_path(f->dir, "e.tif");
    write_raster_with(tif, "{\"sea\":{\"path\":\"i.tif\",\"band\":2,\"scenario\":\"stress-2m\"}}", NULL);
    CSLDestroy(f->logged);
    f->logged = NULL;
    assert_int_equal(report_load(f->ctx, &r, &o), CR_OK);
    assert_string_equal(r.views[0].scenario, "stress-2m");
    assert_true(value(&r, 0, 0, "arrivals_flooded") == 99);
    assert_int_equal(CSLCount(f->logged), 0);
    report_model_free(&r);
    CSLDestroy(o.zones);
    free(tif);
    free(zones);
}

static void test_scenario_from_exposure(void **state)
{
    fixture *f = *state;
    char *a = write_view_a(f->dir), *tif = tu_path(f->dir, "exposure.tif"), *inund = tu_path(f->dir, "in.tif");
    write_raster_with(tif, "{\"sea\":{\"path\":\"i.tif\",\"band\":2,\"scenario\":\"stress-2m\"}}",
                      "{\"classes\":{\"breaks\":[3,6],\"names\":[\"Lo\",\"Mid\",\"Hi\"],"
                      "\"colors\":[\"#000001\",\"#000002\",\"#000003\"]}}");
    write_raster_with(inund, NULL, "{\"sea_level_source\":\"IPCC AR6\",\"confidence\":{\"dem_rmse_m\":1.5}}");
    cr_report_opts o;
    cr_report_opts_init(&o);
    o.zones = CSLAddString(NULL, a);
    o.exposure = CSLAddString(NULL, tif);
    o.inundation = inund;
    report_model r = {0};
    assert_int_equal(report_load(f->ctx, &r, &o), CR_OK);
    assert_string_equal(r.views[0].scenario, "stress-2m");
    assert_true(value(&r, 0, 0, "arrivals_flooded") == 99);
    assert_string_equal(r.views[0].exposure_path, tif);
    json_object *inputs = NULL, *src = NULL;
    assert_true(json_object_object_get_ex(r.views[0].exposure_metadata, "CITYRISK_INPUTS", &inputs));
    assert_true(json_object_is_type(inputs, json_type_object));
    assert_true(json_object_object_get_ex(r.views[0].exposure_metadata, "CITYRISK_VERSION", &src));
    assert_string_equal(json_object_get_string(src), "0.1.0");
    assert_int_equal(r.classes.n, 3);
    assert_true(r.classes.breaks[0] == 3 && r.classes.breaks[1] == 6);
    assert_string_equal(r.classes.names[1], "Mid");
    assert_string_equal(r.classes.colors[2], "#000003");
    assert_string_equal(r.inundation_path, inund);
    assert_true(json_object_object_get_ex(r.inundation_parameters, "sea_level_source", &src));
    assert_string_equal(json_object_get_string(src), "IPCC AR6");
    assert_int_equal(r.nsources, 3);
    assert_string_equal(r.sources[1].role, "exposure");
    assert_string_equal(r.sources[2].role, "inundation");
    assert_int_equal(CSLCount(f->logged), 0);
    report_model_free(&r);

    CSLDestroy(o.exposure);
    o.exposure = NULL;
    o.inundation = NULL;
    assert_int_equal(report_load(f->ctx, &r, &o), CR_OK);
    assert_string_equal(r.views[0].scenario, "ssp245-2100");
    assert_true(value(&r, 0, 0, "arrivals_flooded") == 10);
    assert_int_equal(CSLCount(f->logged), 1);
    assert_non_null(strstr(f->logged[0], a));
    assert_non_null(strstr(f->logged[0], "ssp245-2100"));
    report_model_free(&r);
    CSLDestroy(o.zones);
    free(a);
    free(tif);
    free(inund);
}

/* The sensitivity output joins by id (its own order, a zone the report lacks is left out
 * with a warning); its parameters come from its provenance. */
static void test_sensitivity_join(void **state)
{
    fixture *f = *state;
    char *a = write_view_a(f->dir);
    const char *props[] = {
        "\"code\":\"Z9\",\"rank_nominal\":3,\"rank_p05\":3,\"rank_p50\":3,\"rank_p95\":3,\"p_top\":0",
        "\"code\":\"Z2\",\"rank_nominal\":1,\"rank_p05\":1,\"rank_p50\":2,\"rank_p95\":4,\"p_top\":0.75,"
        "\"score_p05\":2.25,\"score_p50\":2.5,\"score_p95\":3.125",
        NULL};
    char *sens = write_geojson(f->dir, "sensitivity.geojson",
                               "\"cityrisk\":{\"CITYRISK_PARAMETERS\":{\"samples\":128,\"id_field\":\"code\"}}", props);
    cr_report_opts o;
    cr_report_opts_init(&o);
    o.zones = CSLAddString(NULL, a);
    o.sensitivity = sens;
    report_model r = {0};
    assert_int_equal(report_load(f->ctx, &r, &o), CR_OK);
    assert_int_equal(r.has_sensitivity, 1);
    assert_string_equal(r.sensitivity_path, sens);
    assert_true(isnan(r.zones[0].rank_p05) && isnan(r.zones[0].p_top) && isnan(r.zones[0].score_p50));
    const report_zone *z2 = &r.zones[1];
    assert_string_equal(z2->id, "Z2");
    assert_true(z2->rank_nominal == 1 && z2->rank_p05 == 1 && z2->rank_p50 == 2 && z2->rank_p95 == 4);
    assert_true(z2->p_top == 0.75 && z2->score_p05 == 2.25 && z2->score_p50 == 2.5 && z2->score_p95 == 3.125);
    json_object *samples = NULL;
    assert_true(json_object_object_get_ex(r.sensitivity_parameters, "samples", &samples));
    assert_int_equal(json_object_get_int(samples), 128);
    assert_int_equal(r.nsources, 2);
    assert_string_equal(r.sources[1].role, "sensitivity");
    assert_int_equal(CSLCount(f->logged), 2); /* view a's scenario choice, then Z9 */
    assert_non_null(strstr(f->logged[1], "1 zones are in no --zones file"));
    report_model_free(&r);
    CSLDestroy(o.zones);
    free(a);
    free(sens);
}

/* A GeoPackage view in another CRS (UTM 36S): its provenance from the layer's metadata, its
 * new zone's outline transformed into the first view's lon/lat; a repeated id keeps the
 * first feature, with a warning. */
static void test_gpkg_view_other_crs(void **state)
{
    fixture *f = *state;
    char *a = write_view_a(f->dir), *gpkg = tu_path(f->dir, "utm.gpkg");
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GPKG"), gpkg, 0, 0, 0, GDT_Unknown, NULL);
    assert_non_null(ds);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, 32736);
    OGRLayerH layer = GDALDatasetCreateLayer(ds, "utm", srs, wkbPolygon, NULL);
    OSRDestroySpatialReference(srs);
    assert_non_null(layer);
    GDALSetMetadataItem(layer, "CITYRISK_PARAMETERS", "{\"id_field\":\"code\"}", NULL);
    GDALSetMetadataItem(layer, "CITYRISK_VERSION", "0.1.0", NULL);
    const char *names[] = {"first", "code", "score_mean"};
    for (int i = 0; i < 3; i++) {
        OGRFieldDefnH fd = OGR_Fld_Create(names[i], i == 1 ? OFTString : OFTReal);
        OGR_L_CreateField(layer, fd, 1);
        OGR_Fld_Destroy(fd);
    }
    const double scores[] = {4.25, 8};
    for (int k = 0; k < 2; k++) {
        OGRFeatureH feat = OGR_F_Create(OGR_L_GetLayerDefn(layer));
        OGR_F_SetFieldDouble(feat, 0, 1);
        OGR_F_SetFieldString(feat, 1, "Z4");
        OGR_F_SetFieldDouble(feat, 2, scores[k]);
        OGRGeometryH g = NULL;
        char *wkt = "POLYGON ((500000 9999000,501000 9999000,501000 10000000,500000 10000000,500000 9999000))";
        OGR_G_CreateFromWkt(&wkt, NULL, &g);
        OGR_F_SetGeometryDirectly(feat, g);
        assert_int_equal(OGR_L_CreateFeature(layer, feat), OGRERR_NONE);
        OGR_F_Destroy(feat);
    }
    GDALClose(ds);

    cr_report_opts o;
    cr_report_opts_init(&o);
    o.zones = CSLAddString(CSLAddString(NULL, a), gpkg);
    report_model r = {0};
    assert_int_equal(report_load(f->ctx, &r, &o), CR_OK);
    assert_int_equal(r.nzones, 3);
    assert_string_equal(r.zones[2].id, "Z4");
    assert_true(value(&r, 1, 2, "score_mean") == 4.25);
    assert_true(isnan(value(&r, 1, 0, "score_mean")));
    /* UTM 36S easting 500000 is the central meridian 33 E, northing 10000000 the equator */
    OGREnvelope env;
    OGR_G_GetEnvelope(r.zones[2].geometry, &env);
    assert_true(fabs(env.MinX - 33.0) < 1e-7);
    assert_true(fabs(env.MaxY - 0.0) < 1e-7);
    assert_true(env.MaxX > 33.008 && env.MaxX < 33.0091 && env.MinY < -0.009 && env.MinY > -0.0091);
    json_object *par = NULL, *version = NULL;
    assert_true(json_object_object_get_ex(r.views[1].provenance, "CITYRISK_PARAMETERS", &par));
    assert_true(json_object_is_type(par, json_type_object));
    assert_true(json_object_object_get_ex(r.views[1].provenance, "CITYRISK_VERSION", &version));
    assert_string_equal(json_object_get_string(version), "0.1.0");
    assert_string_equal(r.views[1].scenario, "");
    assert_int_equal(CSLCount(f->logged), 2); /* view a's scenario choice, then the repeated id */
    assert_non_null(strstr(f->logged[1], "'Z4'"));
    report_model_free(&r);
    CSLDestroy(o.zones);
    free(a);
    free(gpkg);
}

/* The failure of report_load for the options, with its message holding want. */
static void expect_failure(fixture *f, const cr_report_opts *o, cr_status status, const char *want)
{
    report_model r = {0};
    assert_int_equal(report_load(f->ctx, &r, o), status);
    if (!strstr(cr_ctx_error(f->ctx), want))
        fail_msg("'%s' does not hold '%s'", cr_ctx_error(f->ctx), want);
    report_model_free(&r);
}

/* Each kind of bad input fails with its status and a message naming what is wrong. */
static void test_errors(void **state)
{
    fixture *f = *state;
    char *a = write_view_a(f->dir), *missing = tu_path(f->dir, "missing.geojson");
    const char *props[] = {"\"code\":\"Z1\",\"score\":1", NULL};
    char *noscore = write_geojson(f->dir, "noscore.geojson", MEMBER_TWO_SEAS, props);
    char *nosens = write_geojson(f->dir, "nosens.geojson", NULL, (const char *const[]){"\"code\":\"Z1\",\"rank_p50\":1", NULL});
    char **by = CSLAddString(CSLAddString(NULL, "scenario"), "weights");
    cr_report_opts o;
    cr_report_opts_init(&o);

    o.zones = CSLAddString(NULL, noscore);
    expect_failure(f, &o, CR_E_DATA,
                   CPLSPrintf("zones '%s': no field score_mean: report reads cityrisk zonal's outputs", noscore));
    CSLDestroy(o.zones);

    o.zones = CSLAddString(NULL, missing);
    expect_failure(f, &o, CR_E_IO, "missing.geojson': cannot open it");
    CSLDestroy(o.zones);

    o.zones = CSLAddString(NULL, a);
    o.id_field = "nope";
    expect_failure(f, &o, CR_E_DATA, "a.geojson': no field nope");
    o.id_field = NULL;
    o.sensitivity = nosens;
    expect_failure(f, &o, CR_E_DATA, "nosens.geojson': not a cityrisk sensitivity output (no rank_p05)");
    o.sensitivity = NULL;
    o.exposure = CSLAddString(CSLAddString(NULL, a), a);
    o.zones = CSLAddString(o.zones, a);
    o.zones = CSLAddString(o.zones, a);
    expect_failure(f, &o, CR_E_USAGE, "--exposure: 2 files for 3 --zones");
    CSLDestroy(o.exposure);
    o.exposure = NULL;
    CSLDestroy(o.zones);

    o.by = by;
    o.zones = add_spec(NULL, "ssp245-2100", a);
    expect_failure(f, &o, CR_E_USAGE, "zones 'ssp245-2100=");
    expect_failure(f, &o, CR_E_USAGE, "1 labels for 2 --by variables");
    CSLDestroy(o.zones);
    o.zones = CSLAddString(NULL, a);
    expect_failure(f, &o, CR_E_USAGE, "expected LABEL[;LABEL...]=FILE");
    CSLDestroy(o.zones);

    o.zones = add_spec(add_spec(NULL, "ssp245-2100;default", a), "stress-2m;equal", a);
    o.exposure = add_spec(NULL, "nope;x", "exposure.tif");
    expect_failure(f, &o, CR_E_DATA, "exposure 'nope;x=exposure.tif': no --zones view is labelled 'nope;x' "
                                     "(the views: ssp245-2100;default, stress-2m;equal)");
    CSLDestroy(o.exposure);
    CSLDestroy(o.zones);

    /* a view without a CRS beside one with: said in words, both ways */
    char *nocrs = tu_path(f->dir, "nocrs.shp"); /* no .prj */
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("ESRI Shapefile"), nocrs, 0, 0, 0, GDT_Unknown, NULL);
    OGRLayerH layer = GDALDatasetCreateLayer(ds, "nocrs", NULL, wkbPolygon, NULL);
    OGRFieldDefnH fd = OGR_Fld_Create("score_mean", OFTReal);
    OGR_L_CreateField(layer, fd, 1);
    OGR_Fld_Destroy(fd);
    GDALClose(ds);
    o.by = NULL, o.exposure = NULL;
    o.zones = CSLAddString(CSLAddString(NULL, a), nocrs);
    expect_failure(f, &o, CR_E_DATA, CPLSPrintf("zones '%s' has no CRS but zones '%s' has one", nocrs, a));
    CSLDestroy(o.zones);
    o.zones = CSLAddString(CSLAddString(NULL, nocrs), a);
    expect_failure(f, &o, CR_E_DATA, CPLSPrintf("zones '%s' has a CRS but zones '%s' has none", a, nocrs));
    CSLDestroy(o.zones);

    CSLDestroy(by);
    free(a);
    free(missing);
    free(noscore);
    free(nosens);
    free(nocrs);
}

/* --top above REPORT_TOP_MAX is a usage error, not cards quietly cut to that many under a
 * heading that says more; REPORT_TOP_MAX itself is written. */
static void test_top_beyond_the_cards(void **state)
{
    fixture *f = *state;
    char *a = write_view_a(f->dir), *out = tu_path(f->dir, "report.html");
    cr_report_opts o;
    cr_report_opts_init(&o);
    o.zones = CSLAddString(NULL, a);
    o.top = REPORT_TOP_MAX + 1;
    assert_int_equal(cr_report(f->ctx, out, &o, NULL), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(f->ctx), CPLSPrintf("--top %d: expected 0 to %d", REPORT_TOP_MAX + 1,
                                                            REPORT_TOP_MAX)));
    struct stat sb;
    assert_int_not_equal(stat(out, &sb), 0);
    o.top = REPORT_TOP_MAX;
    assert_int_equal(cr_report(f->ctx, out, &o, NULL), CR_OK);
    CSLDestroy(o.zones);
    free(a);
    free(out);
}

/* SOURCE_DATE_EPOCH, when a whole number, fixes the date (UTC); anything else is today. */
static void test_date(void **state)
{
    fixture *f = *state;
    char *a = write_view_a(f->dir);
    cr_report_opts o;
    cr_report_opts_init(&o);
    o.zones = CSLAddString(NULL, a);
    const char *epochs[] = {"86399", "86400", "12x"};
    char today[16];
    time_t now = time(NULL);
    struct tm tm;
    strftime(today, sizeof today, "%Y-%m-%d", gmtime_r(&now, &tm));
    const char *want[] = {"1970-01-01", "1970-01-02", today};
    for (int i = 0; i < 3; i++) {
        report_model r = {0};
        setenv("SOURCE_DATE_EPOCH", epochs[i], 1);
        assert_int_equal(report_load(f->ctx, &r, &o), CR_OK);
        assert_string_equal(r.date, want[i]);
        report_model_free(&r);
    }
    CSLDestroy(o.zones);
    free(a);
}

/* A source's date is its file's modification time, clamped to SOURCE_DATE_EPOCH when that
 * is set (so that outputs made again give the same report), as it is when not. */
static void test_source_dates_clamped(void **state)
{
    fixture *f = *state;
    char *a = write_view_a(f->dir), *b = write_view_b(f->dir);
    struct utimbuf old = {1000, 1000}, recent = {2000000, 2000000};
    assert_int_equal(utime(a, &old), 0);
    assert_int_equal(utime(b, &recent), 0);
    cr_report_opts o;
    cr_report_opts_init(&o);
    o.zones = CSLAddString(CSLAddString(NULL, a), b);
    const char *epochs[] = {"864000", NULL};
    const int64_t want_b[] = {864000, 2000000};
    for (int i = 0; i < 2; i++) {
        report_model r = {0};
        if (epochs[i])
            setenv("SOURCE_DATE_EPOCH", epochs[i], 1);
        else
            unsetenv("SOURCE_DATE_EPOCH");
        assert_int_equal(report_load(f->ctx, &r, &o), CR_OK);
        assert_int_equal(r.nsources, 2);
        assert_int_equal(r.sources[0].mtime, 1000); /* older than the epoch: as it is */
        assert_int_equal(r.sources[1].mtime, want_b[i]);
        report_model_free(&r);
    }
    CSLDestroy(o.zones);
    free(a);
    free(b);
}

/* Many zones in several views, each in its own order: every zone matched once, the table
 * paged beyond CR_REPORT_LARGE_ZONES. */
static void test_many_zones(void **state)
{
    fixture *f = *state;
    enum { NZ = 3000, NV = 3 };
    char **zones = NULL;
    for (int v = 0; v < NV; v++) {
        char name[32];
        snprintf(name, sizeof name, "v%d.geojson", v);
        char *path = tu_path(f->dir, name);
        FILE *out = fopen(path, "w");
        assert_non_null(out);
        fprintf(out, "{\"type\":\"FeatureCollection\",\"features\":[");
        for (int k = 0; k < NZ; k++) {
            int id = v == 1 ? NZ - 1 - k : (k * 7 + v) % NZ; /* a permutation per view */
            fprintf(out, "%s{\"type\":\"Feature\",\"properties\":{\"id\":%d,\"score_mean\":%d},\"geometry\":null}",
                    k ? "," : "", id, id + 1000 * v);
        }
        fprintf(out, "]}\n");
        fclose(out);
        zones = CSLAddString(zones, path);
        free(path);
    }
    cr_report_opts o;
    cr_report_opts_init(&o);
    o.zones = zones;
    report_model r = {0};
    assert_int_equal(report_load(f->ctx, &r, &o), CR_OK);
    assert_int_equal(r.nzones, NZ);
    assert_int_equal(r.paged, 1);
    int bad = 0;
    for (int z = 0; z < NZ; z++)
        for (int v = 0; v < NV; v++)
            bad += value(&r, v, z, "score_mean") != atoi(r.zones[z].id) + 1000 * v;
    assert_int_equal(bad, 0);
    report_model_free(&r);
    CSLDestroy(zones);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_views_matched_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stem_label_and_one_scenario, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scenario_from_exposure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scenario_from_the_recorded_exposure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sensitivity_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpkg_view_other_crs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_top_beyond_the_cards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_date, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_dates_clamped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_zones, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
