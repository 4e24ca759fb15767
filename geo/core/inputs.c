/* inputs.c: the table of the domain inputs (sea, water, informal, arrivals, population)
 * and what follows from it: names, resampling kinds, range checks with clamping, the
 * messages about ranges, and the normalisation of raw values into indicators. Score and
 * zonal both read these layers; they loop over this table rather than list them. */
#define _POSIX_C_SOURCE 200809L
#include "core/inputs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>


#include "core/internal.h"

_Static_assert(CR_INPUT_SEA == (int)CR_IND_SEA && CR_INPUT_WATER == (int)CR_IND_WATER &&
                   CR_INPUT_INFORMAL == (int)CR_IND_INFORMAL &&
                   CR_INPUT_ARRIVALS == (int)CR_IND_ARRIVALS &&
                   CR_INPUT_POPULATION == (int)CR_INDICATORS,
               "the inputs are the indicators' layers in their order, then the residents");
_Static_assert(CR_SETTLEMENT_FRACTION == 0 && CR_SETTLEMENT_PERCENT == 1 &&
                   CR_SETTLEMENT_BINARY == 2,
               "the informal layer's forms follow cr_settlement_input");

/* How a raw value, clamped to its range, becomes an indicator 0-1. */
typedef enum rule {
    RULE_NONE = 0,    /* no indicator (the residents) */
    RULE_DEPTH,       /* min(1, d / sea_depth_full) */
    RULE_PRESENCE,    /* [v > 0] */
    RULE_SCALE,       /* v / full */
    RULE_WATER_RATIO, /* Aqueduct's score of the withdrawal ratio, / 5 */
    RULE_LOG_REF,     /* min(1, log1p(a) / log1p(a_ref)) */
    RULE_LINEAR_REF   /* min(1, a / a_ref) */
} rule;

/* One way a layer may express its input, as an option chooses (form_of()). */
typedef struct form {
    const char *what;         /* the values, for messages */
    cr_layer_kind kind;       /* how the layer is resampled onto the grid */
    double min, max;          /* the documented range of the raw values */
    double tolerance;         /* beyond the range by no more: clamped and counted (resampling
                               * and storage rounding); further: the layer is not what it
                               * claims to be, and the run stops */
    rule rule;                /* how a value becomes an indicator */
    double full;              /* RULE_SCALE: the value of indicator 1 */
    const char *hint;         /* after a range error: the option that reads it otherwise */
} form;

#define FORMS_MAX 3

/* The inputs in cr_input order; each has its default form first. */
static const struct input {
    const char *name;
    form forms[FORMS_MAX];
} INPUTS[CR_INPUTS] = {
    {"sea",
     {{"inundation depths in metres", CR_KIND_CONTINUOUS, 0, INFINITY, 1e-3, RULE_DEPTH, 0, ""},
      /* --sea-binary */
      {"inundation depths in metres", CR_KIND_CONTINUOUS, 0, INFINITY, 1e-3, RULE_PRESENCE, 0, ""}}},
    {"water",
     {{"Aqueduct water-stress scores", CR_KIND_CONTINUOUS, 0, 5, 0.01, RULE_SCALE, 5,
       "; if the layer holds withdrawal-to-supply ratios, use --water-input ratio"},
      /* --water-input ratio */
      {"water withdrawal ratios", CR_KIND_CONTINUOUS, 0, INFINITY, 1e-3, RULE_WATER_RATIO, 0, ""}}},
    {"informal", /* by cr_settlement_input: fraction, percent, binary */
     {{"settlement fractions", CR_KIND_CONTINUOUS, 0, 1, 0.01, RULE_SCALE, 1,
       "; if the layer holds percentages, use --settlement-input percent"},
      {"settlement percentages", CR_KIND_CONTINUOUS, 0, 100, 1, RULE_SCALE, 100, ""},
      /* a class map, which must not blend */
      {"settlement fractions", CR_KIND_CLASS, 0, INFINITY, 1e-3, RULE_PRESENCE, 0, ""}}},
    {"arrivals",
     {{"arrivals per cell", CR_KIND_COUNT, 0, INFINITY, 1e-3, RULE_LOG_REF, 0, ""},
      /* --arrivals-transform linear */
      {"arrivals per cell", CR_KIND_COUNT, 0, INFINITY, 1e-3, RULE_LINEAR_REF, 0, ""}}},
    {"population", {{"residents per cell", CR_KIND_COUNT, 0, INFINITY, 1e-3, RULE_NONE, 0, ""}}},
};

/* A raster that is no domain input (-1, zonal's exposure and -r rasters): continuous. */
static const form OTHER = {"values", CR_KIND_CONTINUOUS, 0, INFINITY, 1e-3, RULE_NONE, 0, ""};

/* The form of input under norm (NULL: the defaults). */
static const form *form_of(int input, const cr_normalise_opts *norm)
{
    if (input < 0 || input >= CR_INPUTS)
        return &OTHER;
    int k = 0;
    if (norm) {
        switch (input) {
        case CR_INPUT_SEA:
            k = norm->sea_binary != 0;
            break;
        case CR_INPUT_WATER:
            k = norm->water_ratio != 0;
            break;
        case CR_INPUT_INFORMAL:
            k = (unsigned)norm->settlement < FORMS_MAX ? (int)norm->settlement : 0;
            break;
        case CR_INPUT_ARRIVALS:
            k = norm->arrivals_linear != 0;
            break;
        default:
            break;
        }
    }
    return &INPUTS[input].forms[k];
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

cr_status cr_check_sea_depths(cr_ctx *ctx, const char *path, GDALDatasetH ds)
{
    for (int b = 1; b <= GDALGetRasterCount(ds); b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b);
        const char *role = GDALGetMetadataItem(band, CR_BAND_ROLE, NULL);
        if (!role && GDALGetMetadataItem(band, "CONFIDENCE", NULL))
            role = GDALGetRasterCategoryNames(band) ? "confidence" : "p_inundated";
        if (role && strcmp(role, "confidence") == 0)
            return cr_ctx_fail(ctx, CR_E_USAGE,
                               "sea raster '%s' holds inundation confidence classes, not depths: "
                               "give the depth raster (inundation's -o)",
                               path);
        if (role && strcmp(role, "p_inundated") == 0)
            return cr_ctx_fail(ctx, CR_E_USAGE,
                               "sea raster '%s' holds probabilities of inundation (p_inundated), "
                               "not depths: give the depth raster (inundation's -o)",
                               path);
    }
    return CR_OK;
}

const char *cr_input_name(int input)
{
    return input >= 0 && input < CR_INPUTS ? INPUTS[input].name : "unknown";
}

const char *cr_indicator_name(cr_indicator indicator)
{
    return indicator >= 0 && indicator < CR_INDICATORS ? INPUTS[indicator].name : "unknown";
}

void cr_input_layer_opts(int input, const cr_normalise_opts *norm, int band, cr_layer_opts *opts)
{
    cr_layer_opts_init(opts);
    opts->band = band;
    opts->kind = form_of(input, norm)->kind;
}

/* ------------------------------------------------------------------------------------ */
/* Ranges */

size_t cr_input_check_block(int input, const cr_normalise_opts *norm, float *values, size_t n,
                            int64_t *clamped)
{
    const form *f = form_of(input, norm);
    const double lo = f->min, hi = f->max, tolerance = f->tolerance;
    for (size_t i = 0; i < n; i++) {
        double v = values[i];
        if (!(v < lo || v > hi))
            continue; /* NaN and values in range */
        if (v < lo - tolerance || v > hi + tolerance)
            return i;
        values[i] = (float)(v < lo ? lo : hi);
        (*clamped)++;
    }
    return n;
}

/* "the range of <what>, <min> to <max> (tolerance t)<hint>" into buf. */
static void range_text(const form *f, char *buf, size_t size)
{
    if (isinf(f->max))
        snprintf(buf, size, "the range of %s, 0 or more (tolerance %g)%s", f->what, f->tolerance,
                 f->hint);
    else
        snprintf(buf, size, "the range of %s, %g to %g (tolerance %g)%s", f->what, f->min, f->max,
                 f->tolerance, f->hint);
}

cr_status cr_input_range_error(cr_ctx *ctx, int input, const cr_normalise_opts *norm,
                               const char *path, int band, double value, const cr_grid *grid,
                               int col, int row)
{
    const form *f = form_of(input, norm);
    char cell[128], range[200];
    cr_grid_cell_text(grid, col, row, cell, sizeof cell);
    range_text(f, range, sizeof range);
    if (cr_holds_polygons(path)) /* a mean of the polygons' field, which holds such values */
        return cr_ctx_fail(ctx, CR_E_DATA, "%s polygons '%s': the mean of their values, %.7g at %s, "
                           "is outside %s", cr_input_name(input), path, value, cell, range);
    return cr_ctx_fail(ctx, CR_E_DATA, "%s raster '%s' band %d: value %.7g at %s is outside %s",
                       cr_input_name(input), path, band, value, cell, range);
}

/* Warns when the layer declares a nodata value inside the range of input's values. */
static void warn_nodata(cr_ctx *ctx, int input, const cr_normalise_opts *norm,
                        const cr_layer *layer, int band)
{
    const form *f = form_of(input, norm);
    double nodata;
    if (!cr_layer_nodata(layer, &nodata) || isnan(nodata) || nodata < f->min || nodata > f->max)
        return;
    char range[64];
    if (isinf(f->max))
        snprintf(range, sizeof range, "%g or more", f->min);
    else
        snprintf(range, sizeof range, "%g to %g", f->min, f->max);
    cr_ctx_log(ctx, CR_LOG_WARNING,
               "%s raster '%s' band %d declares nodata %g, inside the range of its values (%s): "
               "its cells of %g count as missing, not as data; if they are data, unset nodata "
               "(gdal_edit.py -unsetnodata) or set one outside the range",
               cr_input_name(input), cr_layer_path(layer), band, nodata, range, nodata);
}

cr_status cr_input_probe_keep(cr_ctx *ctx, int input, const cr_normalise_opts *norm,
                              const char *path, const cr_grid *grid, const cr_layer_opts *opts,
                              const char **resampling, cr_layer **out)
{
    cr_layer *layer = NULL;
    cr_status st = cr_input_open(ctx, input, norm, path, grid, opts, &layer);
    if (st == CR_OK && resampling)
        *resampling = cr_layer_resampling(layer);
    if (st == CR_OK && input >= 0 && input < CR_INPUTS)
        warn_nodata(ctx, input, norm, layer, opts->band);
    if (st == CR_OK && out)
        *out = layer;
    else
        cr_layer_close(layer);
    return st;
}

cr_status cr_input_probe(cr_ctx *ctx, int input, const cr_normalise_opts *norm, const char *path,
                         const cr_grid *grid, const cr_layer_opts *opts, const char **resampling)
{
    return cr_input_probe_keep(ctx, input, norm, path, grid, opts, resampling, NULL);
}

/* ------------------------------------------------------------------------------------ */
/* Polygons */

/* 1 when the feature is one of Aqueduct's "Arid and Low Water Use" basins by its category
 * (bws_cat -1) or label. */
static int aqueduct_arid(OGRFeatureH f)
{
    int k = OGR_F_GetFieldIndex(f, "bws_cat");
    if (k >= 0 && OGR_F_IsFieldSetAndNotNull(f, k) && OGR_F_GetFieldAsDouble(f, k) == -1.0)
        return 1;
    k = OGR_F_GetFieldIndex(f, "bws_label");
    return k >= 0 && OGR_F_IsFieldSetAndNotNull(f, k) &&
           strcasecmp(OGR_F_GetFieldAsString(f, k), "Arid and Low Water Use") == 0;
}

/* Aqueduct's sentinels (inputs.h): arid is the highest stress, -9999 and 9999 no data. */
static cr_poly_class aqueduct(OGRFeatureH f, double *value, double arid)
{
    if (*value == -1.0 || aqueduct_arid(f)) {
        *value = arid;
        return CR_POLY_MARKED;
    }
    return *value == -9999.0 || *value == 9999.0 ? CR_POLY_NODATA : CR_POLY_VALUE;
}

static cr_poly_class aqueduct_score(void *arg, OGRFeatureH f, double *value)
{
    (void)arg;
    return aqueduct(f, value, 5.0);
}

static cr_poly_class aqueduct_ratio(void *arg, OGRFeatureH f, double *value)
{
    (void)arg;
    return aqueduct(f, value, cr_water_ratio_from_score(5.0)); /* 1.6 */
}

int cr_input_polygon_opts(int input, const cr_normalise_opts *norm, cr_polyset_opts *po)
{
    memset(po, 0, sizeof *po);
    int ratio = norm && norm->water_ratio;
    switch (input) {
    case CR_INPUT_WATER: {
        po->what = "water polygons";
        po->layer_flag = "--water-layer";
        po->field_flag = "--water-field";
        po->default_field = ratio ? "bws_raw" : "bws_score";
        po->classify = ratio ? aqueduct_ratio : aqueduct_score;
        po->must_meet_grid = 1;
        po->keep_nodata = 1; /* a basin without data keeps its cells from a neighbour's sliver */
        /* Each basin's value against the range, naming the basin: a mean of them would name
         * only a cell. */
        const form *f = form_of(input, norm);
        po->check_range = 1;
        po->range_min = f->min - f->tolerance;
        po->range_max = f->max + f->tolerance;
        range_text(f, po->range_text, sizeof po->range_text);
        return 1;
    }
    case CR_INPUT_INFORMAL:
        po->what = "informal polygons";
        po->layer_flag = "--informal-layer";
        po->must_meet_grid = 1;
        return 1;
    default:
        return 0;
    }
}

cr_status cr_refuse_polygons(cr_ctx *ctx, const char *role, const char *path, int count,
                             const char *remedy)
{
    if (!path || !cr_holds_polygons(path))
        return CR_OK;
    if (count)
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s '%s' holds polygons, but %s is read as counts per "
                           "cell, a raster: give counts per area (polygons with a count field, or "
                           "a table keyed to them) to cityrisk arrivals --areas, and its output here",
                           role, path, role);
    return cr_ctx_fail(ctx, CR_E_USAGE, "%s '%s' holds polygons, but %s needs a raster%s%s", role,
                       path, role, remedy ? ": " : "", remedy ? remedy : "");
}

cr_status cr_input_refuse_polygons(cr_ctx *ctx, int input, const cr_normalise_opts *norm,
                                   const char *path)
{
    if (input == CR_INPUT_ARRIVALS || input == CR_INPUT_POPULATION)
        return cr_refuse_polygons(ctx, cr_input_name(input), path, 1, NULL);
    if ((input == CR_INPUT_SEA || (input == CR_INPUT_INFORMAL && norm &&
                                   norm->settlement != CR_SETTLEMENT_FRACTION)) &&
        cr_holds_polygons(path)) {
        if (input == CR_INPUT_SEA)
            return cr_ctx_fail(ctx, CR_E_USAGE, "sea '%s' holds polygons, but --sea here takes "
                               "inundation depths in metres, a raster: give the sea's polygons "
                               "to cityrisk inundation --sea, and its output here", path);
        return cr_ctx_fail(ctx, CR_E_USAGE, "informal '%s' holds polygons, which give the share "
                           "of each cell they cover: --settlement-input %s reads rasters only",
                           path, cr_settlement_input_names[norm->settlement]);
    }
    return CR_OK;
}

cr_status cr_input_open(cr_ctx *ctx, int input, const cr_normalise_opts *norm, const char *path,
                        const cr_grid *grid, const cr_layer_opts *opts, cr_layer **out)
{
    *out = NULL;
    cr_status st = cr_input_refuse_polygons(ctx, input, norm, path);
    if (st != CR_OK)
        return st;
    cr_polyset_opts po;
    int polygons = cr_input_polygon_opts(input, norm, &po);
    st = cr_layer_open_ex(ctx, path, grid, opts, polygons ? &po : NULL, out);
    if (st == CR_OK && polygons && !cr_layer_polygons(*out) && (opts->field || opts->vector_layer)) {
        /* Said rather than ignored: the user meant another file, or thought it polygons. */
        cr_layer_close(*out);
        *out = NULL;
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s: %s '%s' is a raster; the option names a field or "
                           "layer of polygons", opts->field ? po.field_flag : po.layer_flag,
                           cr_input_name(input), path);
    }
    return st;
}

/* ------------------------------------------------------------------------------------ */
/* Indicators */

double cr_water_score_from_ratio(double ratio)
{
    if (isnan(ratio))
        return NAN;
    if (ratio <= 0)
        return 0;
    return clamp(log2(ratio / 0.1) + 1, 0, 5);
}

double cr_water_ratio_from_score(double score)
{
    return 0.1 * exp2(score - 1);
}

void cr_normalise_opts_init(cr_normalise_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->sea_depth_full = 1.0;
    opts->settlement = CR_SETTLEMENT_FRACTION;
    opts->arrivals_ref = 1.0;
}

void cr_indicator_range(cr_indicator indicator, const cr_normalise_opts *o, double *min,
                        double *max, double *tolerance)
{
    const form *f = form_of(indicator, o);
    *min = f->min, *max = f->max, *tolerance = f->tolerance;
}

/* 1 / a_ref, or 1 / log1p(a_ref): the arrivals indicator multiplies by it, so that a
 * block divides once rather than once per cell. */
static double arrivals_scale(const cr_normalise_opts *o)
{
    return o->arrivals_linear ? 1 / o->arrivals_ref : 1 / log1p(o->arrivals_ref);
}

/* The indicator of a value already clamped to the form's range. */
static inline double normalise_clamped(const form *f, const cr_normalise_opts *o, double v,
                                       double scale)
{
    switch (f->rule) {
    case RULE_DEPTH:
        return fmin(1, v / o->sea_depth_full);
    case RULE_PRESENCE:
        return (double)(v > 0);
    case RULE_SCALE:
        return v / f->full;
    case RULE_WATER_RATIO:
        return cr_water_score_from_ratio(v) / 5;
    case RULE_LOG_REF:
        return fmin(1, log1p(v) * scale);
    case RULE_LINEAR_REF:
        return fmin(1, v * scale);
    default:
        return NAN;
    }
}

cr_norm_result cr_indicator_normalise(cr_indicator indicator, const cr_normalise_opts *o,
                                      double raw, double *out)
{
    const form *f = form_of(indicator, o);
    const double lo = f->min, hi = f->max, tol = f->tolerance;
    if (raw < lo - tol || raw > hi + tol)
        return CR_NORM_OUT_OF_RANGE;
    cr_norm_result result = raw < lo || raw > hi ? CR_NORM_CLAMPED : CR_NORM_OK;
    *out = normalise_clamped(f, o, clamp(raw, lo, hi), arrivals_scale(o));
    return result;
}

size_t cr_indicator_normalise_block(cr_indicator indicator, const cr_normalise_opts *o,
                                    const float *raw, size_t n, float *out, int64_t *clamped)
{
    const form *f = form_of(indicator, o);
    const double lo = f->min, hi = f->max, low = lo - f->tolerance, high = hi + f->tolerance;
    const double scale = arrivals_scale(o);
    int64_t count = 0;
    for (size_t i = 0; i < n; i++) {
        double v = raw[i];
        if (v == 0) { /* every indicator maps 0 to 0: the common case of sea and arrivals */
            out[i] = 0;
            continue;
        }
        if (isnan(v)) {
            out[i] = NAN;
            continue;
        }
        if (v < low || v > high) {
            *clamped += count;
            return i;
        }
        if (v < lo || v > hi) {
            count++;
            v = clamp(v, lo, hi);
        }
        out[i] = (float)normalise_clamped(f, o, v, scale);
    }
    *clamped += count;
    return n;
}

cr_status cr_arg_parse_weights(cr_ctx *ctx, const char *text, void *dest)
{
    double *weights = dest;
    cr_status st = cr_weights_parse(ctx, text, weights);
    double copy[CR_INDICATORS];
    memcpy(copy, weights, sizeof copy);
    return st == CR_OK ? cr_weights_normalise(ctx, copy) : st;
}

cr_status cr_arg_parse_method(cr_ctx *ctx, const char *text, void *dest)
{
    return cr_score_method_parse(ctx, text, dest);
}

cr_status cr_arg_sea_band(cr_ctx *ctx, int given, cr_score_opts *o)
{
    if (given != -1 && o->scenario)
        return cr_ctx_fail(ctx, CR_E_USAGE, "give --scenario or --sea-band, not both");
    if (given != -1 && given < 1)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--sea-band must be 1 or more, not %d", given);
    o->sea_band = given > 0 ? given : 0;
    return CR_OK;
}

cr_status cr_score_model_check(cr_ctx *ctx, const cr_score_opts *o,
                               const char *const path[CR_INPUTS],
                               double weights[CR_INDICATORS])
{
    for (int k = 0; k < CR_INDICATORS; k++)
        if (!path[k])
            return cr_ctx_fail(ctx, CR_E_USAGE, "the %s raster is missing (--%s)", cr_input_name(k),
                               cr_input_name(k));
    if (o->method < CR_METHOD_GEOMETRIC || o->method > CR_METHOD_INFORM)
        return cr_ctx_fail(ctx, CR_E_USAGE, "unknown scoring method %d", (int)o->method);
    for (int k = 0; k < CR_INDICATORS; k++) {
        if (!(o->weights[k] >= 0 && isfinite(o->weights[k])))
            return cr_ctx_fail(ctx, CR_E_USAGE, "--weights: %s=%g is not a weight (0 or more)",
                               cr_input_name(k), o->weights[k]);
        weights[k] = o->weights[k];
    }
    cr_status st = cr_weights_normalise(ctx, weights);
    if (st != CR_OK)
        return st;
    const cr_normalise_opts *n = &o->normalise;
    if (!(n->sea_depth_full > 0 && isfinite(n->sea_depth_full)))
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "--sea-depth-full must be a positive depth in metres, not %g",
                           n->sea_depth_full);
    if (!o->arrivals_ref_auto && !(n->arrivals_ref > 0 && isfinite(n->arrivals_ref)))
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "--arrivals-ref must be a positive number of arrivals, not %g",
                           n->arrivals_ref);
    if (!(o->demand_share >= 0 && isfinite(o->demand_share)))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--demand-share must be 0 or more, not %g",
                           o->demand_share);
    if (o->sea_band && o->scenario)
        return cr_ctx_fail(ctx, CR_E_USAGE, "give --scenario or --sea-band, not both");
    return CR_OK;
}
