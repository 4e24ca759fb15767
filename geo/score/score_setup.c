/* score_setup.c: `cityrisk score` before and around its passes: options, inputs,
 * the sea band, the grid, and the output's bands and provenance. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>

#include "cityrisk/json.h"
#include "core/inputs.h"
#include "core/internal.h"
#include "core/output.h"
#include "score_internal.h"

static const char *const BAND_NAMES[CR_SCORE_BANDS] = {
    "score", "class", "sea", "water", "informal", "arrivals", "water_uplift", "indicators_present"};

static const char *const BAND_UNITS[CR_SCORE_BANDS] = {
    "score 0-10", "class", "indicator 0-1", "indicator 0-1", "indicator 0-1", "indicator 0-1",
    "water-stress score points", "indicators"};


const char *cr_score_band_name(cr_score_band band)
{
    return band >= 0 && band < CR_SCORE_BANDS ? BAND_NAMES[band] : "unknown";
}

cr_status cr_score_bands_parse(cr_ctx *ctx, const char *text, unsigned *bands)
{
    *bands = 0;
    const char *p = text ? text : "";
    for (;;) {
        size_t n = strcspn(p, ",");
        int found = -1;
        for (int b = 0; b < CR_SCORE_BANDS; b++)
            if (n == strlen(BAND_NAMES[b]) && strncmp(p, BAND_NAMES[b], n) == 0)
                found = b;
        if (found < 0)
            return cr_ctx_fail(ctx, CR_E_USAGE,
                               "--bands: unknown band '%.*s' (score, class, sea, water, informal, "
                               "arrivals, water_uplift, indicators_present)",
                               (int)n, p);
        if (*bands & (1u << found))
            return cr_ctx_fail(ctx, CR_E_USAGE, "--bands: %s is given twice", BAND_NAMES[found]);
        *bands |= 1u << found;
        if (!p[n])
            return CR_OK;
        p += n + 1;
    }
}

void cr_score_opts_init(cr_score_opts *o)
{
    memset(o, 0, sizeof *o);
    cr_weights_default(o->weights);
    o->method = CR_METHOD_GEOMETRIC;
    cr_classes_default(&o->classes);
    cr_normalise_opts_init(&o->normalise);
    o->arrivals_ref_auto = 1;
    o->demand_share = 1.0;
}

void cr_score_summary_clear(cr_score_summary *s)
{
    if (!s)
        return;
    cr_grid_free(s->grid);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------------------------------ */
/* Options */

/* The files no output may be: the inputs and the grid's raster, in a list that ends at
 * the first NULL (the optional ones last). */
static void protected_paths(const char *const path[CR_INPUTS], const char *grid_path,
                            const char *out[CR_INPUTS + 2])
{
    int n = 0;
    for (int k = 0; k < CR_INDICATORS; k++)
        out[n++] = path[k];
    if (grid_path)
        out[n++] = grid_path;
    if (path[CR_INPUT_POPULATION])
        out[n++] = path[CR_INPUT_POPULATION];
    while (n < CR_INPUTS + 2)
        out[n++] = NULL;
}

static cr_status check_options(cr_ctx *ctx, const cr_score_opts *o,
                               const char *const path[CR_INPUTS], cr_score_summary *s)
{
    cr_status st = cr_score_model_check(ctx, o, path, s->weights);
    if (st != CR_OK)
        return st;
    if (o->classes.count < 2 || o->classes.count > CR_CLASSES_MAX)
        return cr_ctx_fail(ctx, CR_E_USAGE, "%d classes: the number must be from 2 to %d",
                           o->classes.count, CR_CLASSES_MAX);
    unsigned all = (1u << CR_SCORE_BANDS) - 1;
    if (o->bands & ~all)
        return cr_ctx_fail(ctx, CR_E_USAGE, "unknown output bands 0x%x", o->bands & ~all);
    if (cr_tile_given(&o->tile) && cr_classes_need_data(&o->classes))
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "--classes %s:%d with --tile or --window: breaks from the data need "
                           "every cell's score; give them as --classes fixed:b1,... (a single "
                           "run's CLASS_BREAKS)",
                           cr_class_kind_name(o->classes.kind), o->classes.count);
    s->bands = o->bands;
    if (!s->bands) {
        s->bands = (1u << (CR_BAND_ARRIVALS + 1)) - 1; /* score .. arrivals */
        if (o->population_path)
            s->bands |= 1u << CR_BAND_WATER_UPLIFT;
        if (o->renormalise)
            s->bands |= 1u << CR_BAND_INDICATORS_PRESENT;
    }
    if ((s->bands >> CR_BAND_WATER_UPLIFT & 1) && !o->population_path)
        return cr_ctx_fail(ctx, CR_E_USAGE, "the water_uplift band needs a population raster (--population)");
    if (o->population_path && !(s->bands >> CR_BAND_WATER_UPLIFT & 1))
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "--population is only used for the water_uplift band, which --bands leaves out");
    return CR_OK;
}

/* ------------------------------------------------------------------------------------ */
/* The sea band */

/* The band names of a raster as "1 ssp245-2050, 2 ...", for messages. */
static void list_bands(GDALDatasetH ds, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int b = 1; b <= GDALGetRasterCount(ds) && at < size; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b);
        const char *name = GDALGetMetadataItem(band, "SCENARIO", NULL);
        if (!name || !*name)
            name = GDALGetDescription(band);
        int len = snprintf(buf + at, size - at, "%s%d%s%s", b > 1 ? ", " : "", b, *name ? " " : "", name);
        at += len > 0 ? (size_t)len : 0;
    }
}

/* The band of the sea raster: --sea-band, the band of --scenario, or the only one. */
static cr_status resolve_sea_band(cr_ctx *ctx, const cr_score_opts *o, cr_score_summary *s)
{
    GDALDatasetH ds;
    cr_status st = cr_open_raster(ctx, o->sea_path, &ds);
    if (st != CR_OK)
        return st;
    if ((st = cr_check_sea_depths(ctx, o->sea_path, ds)) != CR_OK) {
        GDALClose(ds);
        return st;
    }
    int bands = GDALGetRasterCount(ds);
    char list[512];
    list_bands(ds, list, sizeof list);
    s->sea_band = o->sea_band;
    if (o->scenario) {
        for (int b = 1; b <= bands && !s->sea_band; b++) {
            const char *name = GDALGetMetadataItem(GDALGetRasterBand(ds, b), "SCENARIO", NULL);
            if (name && strcmp(name, o->scenario) == 0)
                s->sea_band = b;
        }
        if (!s->sea_band)
            st = cr_ctx_fail(ctx, CR_E_USAGE, "sea raster '%s' has no band for scenario '%s' (bands: %s)",
                             o->sea_path, o->scenario, list);
    } else if (!s->sea_band && bands == 1) {
        s->sea_band = 1;
    } else if (!s->sea_band) {
        st = cr_ctx_fail(ctx, CR_E_USAGE,
                         "sea raster '%s' has %d bands (%s): choose one with --scenario NAME or "
                         "--sea-band N",
                         o->sea_path, bands, list);
    } else if (s->sea_band < 1 || s->sea_band > bands) {
        st = cr_ctx_fail(ctx, CR_E_USAGE, "sea raster '%s' has no band %d (it has %d)", o->sea_path,
                         s->sea_band, bands);
    }
    if (st == CR_OK) {
        const char *name = GDALGetMetadataItem(GDALGetRasterBand(ds, s->sea_band), "SCENARIO", NULL);
        snprintf(s->scenario, sizeof s->scenario, "%s", name ? name : "");
    }
    GDALClose(ds);
    return st;
}

/* ------------------------------------------------------------------------------------ */
/* Inputs */

static cr_status open_inputs(cr_ctx *ctx, cr_score_inputs *in, cr_score_summary *s)
{
    cr_status st = CR_OK;
    /* Loading polygons checks for cancellation as it goes; the bar belongs to the passes. */
    cr_ctx_set_progress_range(ctx, 0, 0);
    for (int k = 0; k < CR_INPUTS && st == CR_OK; k++) {
        if (!in->path[k])
            continue;
        st = cr_input_probe_keep(ctx, k, &in->norm, in->path[k], in->grid, &in->layer[k],
                                 &s->resampling[k], &in->probe[k]);
        const cr_polyset *set = st == CR_OK ? cr_layer_polygons(in->probe[k]) : NULL;
        if (!set)
            continue;
        const cr_polyset_counts *c = cr_polyset_counts_of(set);
        s->polygons[k] = c->features;
        s->polygons_skipped[k] = c->empty + c->null_value + c->nodata;
        if (k == CR_INPUT_WATER) {
            s->water_arid_polygons = c->marked;
            s->water_field = in->layer[k].field ? in->layer[k].field
                             : in->norm.water_ratio ? "bws_raw"
                                                    : "bws_score";
        }
    }
    cr_ctx_set_progress_range(ctx, 0, 1);
    return st;
}

/* The window the run writes (the whole grid without --tile or --window) and its grid,
 * the output's: the one way of cityrisk/tile.h, so that a misaligned window fails (exit
 * 2) before any work. */
static cr_status choose_window(cr_ctx *ctx, const cr_score_opts *o, const cr_grid *grid,
                               cr_score_summary *s)
{
    cr_status st = cr_tile_window(ctx, grid, &o->tile, &s->window);
    if (st != CR_OK)
        return st;
    s->full_width = grid->width;
    s->full_height = grid->height;
    s->grid = cr_grid_subgrid(grid, &s->window);
    return s->grid ? CR_OK : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
}

cr_status cr_score_prepare(cr_ctx *ctx, const char *out_path, const cr_score_opts *o,
                           cr_score_inputs *in, cr_score_summary *s)
{
    memset(in, 0, sizeof *in);
    in->out_path = out_path;
    const char *paths[CR_INPUTS] = {[CR_INPUT_SEA] = o->sea_path, [CR_INPUT_WATER] = o->water_path,
                                    [CR_INPUT_INFORMAL] = o->informal_path,
                                    [CR_INPUT_ARRIVALS] = o->arrivals_path,
                                    [CR_INPUT_POPULATION] = o->population_path};
    cr_status st = check_options(ctx, o, paths, s);
    for (int k = 0; k < CR_INPUTS && st == CR_OK; k++) /* polygons for a raster's role */
        if (paths[k])
            st = cr_input_refuse_polygons(ctx, k, &o->normalise, paths[k]);
    if (st != CR_OK)
        return st;
    /* Every file the run writes, against every input, before any work. */
    const char *protect[CR_INPUTS + 2];
    protected_paths(paths, o->grid.ref, protect);
    st = cr_outputs_check(ctx, out_path, "raster", o->styles, protect, o->overwrite);
    /* The grid: --grid's; else --crs and --resolution over --bounds or the sea raster's
     * extent (inundation's output over the DEM: the study area, and always a raster); else
     * the informal raster's. Informal polygons have no grid: then the sea's depths, which are
     * on the analysis grid. */
    const char *primary = o->grid.crs || cr_holds_polygons(o->informal_path) ? o->sea_path
                                                                             : o->informal_path;
    if (st == CR_OK)
        st = cr_grid_from_spec(ctx, &o->grid, primary, &in->grid);
    if (st == CR_OK)
        st = choose_window(ctx, o, in->grid, s);
    int bands = 0;
    for (int b = 0; b < CR_SCORE_BANDS; b++)
        bands += s->bands >> b & 1;
    if (st == CR_OK)
        st = cr_output_check_size(ctx, out_path, s->grid, bands, cr_grid_spec_source(&o->grid, primary));
    if (st == CR_OK)
        st = resolve_sea_band(ctx, o, s);
    if (st != CR_OK)
        return st;
    s->cells = (int64_t)s->grid->width * s->grid->height;
    in->norm = o->normalise;
    for (int k = 0; k < CR_INPUTS; k++) {
        in->path[k] = paths[k];
        cr_input_layer_opts(k, &in->norm, k == CR_INPUT_SEA ? s->sea_band : 1, &in->layer[k]);
    }
    in->layer[CR_INPUT_WATER].field = o->water_field;
    in->layer[CR_INPUT_WATER].vector_layer = o->water_layer;
    in->layer[CR_INPUT_INFORMAL].vector_layer = o->informal_layer;
    s->arrivals_ref_from_data = o->arrivals_ref_auto;
    const cr_class_spec *c = &o->classes;
    if (c->kind == CR_CLASSES_FIXED_DEFAULT || c->kind == CR_CLASSES_FIXED)
        snprintf(s->class_scheme, sizeof s->class_scheme, "%s",
                 c->kind == CR_CLASSES_FIXED_DEFAULT ? "fixed (INFORM)" : "fixed");
    else
        snprintf(s->class_scheme, sizeof s->class_scheme, "%s:%d", cr_class_kind_name(c->kind), c->count);
    return open_inputs(ctx, in, s);
}

void cr_score_inputs_free(cr_score_inputs *in)
{
    for (int k = 0; k < CR_INPUTS; k++)
        cr_layer_close(in->probe[k]);
    cr_grid_free(in->grid);
    memset(in, 0, sizeof *in);
}

/* ------------------------------------------------------------------------------------ */
/* Provenance */

static json_object *number_array(const double *v, int n, int digits)
{
    json_object *a = json_object_new_array();
    for (int i = 0; i < n; i++)
        json_object_array_add(a, cr_json_number(v[i], digits));
    return a;
}

/* The label of class k (1-based): INFORM's names for its fixed scheme, else the
 * score range. */
static void class_label(const cr_score_summary *s, int fixed_default, int k, char *buf, size_t size)
{
    if (fixed_default) {
        snprintf(buf, size, "%s", cr_class_default_name(k));
        return;
    }
    int nb = s->class_count - 1;
    if (k == 1)
        snprintf(buf, size, "< %.4g", s->breaks[0]);
    else if (k == s->class_count)
        snprintf(buf, size, ">= %.4g", s->breaks[nb - 1]);
    else
        snprintf(buf, size, "%.4g - < %.4g", s->breaks[k - 2], s->breaks[k - 1]);
}

/* {"scheme", "breaks", "names", "colors"} of the classes. */
static json_object *classes_json(const cr_score_opts *o, const cr_score_summary *s)
{
    json_object *c = json_object_new_object(), *names = json_object_new_array(),
                *colours = json_object_new_array();
    int fixed_default = o->classes.kind == CR_CLASSES_FIXED_DEFAULT;
    for (int k = 1; k <= s->class_count; k++) {
        char buf[64];
        class_label(s, fixed_default, k, buf, sizeof buf);
        json_object_array_add(names, json_object_new_string(buf));
        cr_class_colour(k, s->class_count, buf, sizeof buf);
        json_object_array_add(colours, json_object_new_string(buf));
    }
    json_object_object_add(c, "scheme", json_object_new_string(s->class_scheme));
    json_object_object_add(c, "breaks", number_array(s->breaks, s->class_count - 1, 10));
    json_object_object_add(c, "names", names);
    json_object_object_add(c, "colors", colours);
    return c;
}

static char *parameters_json(const cr_score_opts *o, const cr_score_summary *s)
{
    const cr_normalise_opts *n = &o->normalise;
    json_object *p = json_object_new_object(), *w = json_object_new_object(),
                *norm = json_object_new_object();
    json_object_object_add(p, "method", json_object_new_string(cr_score_method_name(o->method)));
    for (int k = 0; k < CR_INDICATORS; k++)
        json_object_object_add(w, cr_input_name(k), cr_json_number(s->weights[k], 10));
    json_object_object_add(p, "weights", w);
    json_object_object_add(p, "missing", json_object_new_string(o->renormalise ? "renormalise" : "nodata"));
    json_object_object_add(norm, "sea_depth_full", cr_json_number(n->sea_depth_full, 10));
    json_object_object_add(norm, "sea_binary", json_object_new_boolean(n->sea_binary));
    json_object_object_add(norm, "water_input", json_object_new_string(cr_water_input_names[n->water_ratio != 0]));
    json_object_object_add(norm, "settlement_input", json_object_new_string(cr_settlement_input_names[n->settlement]));
    json_object_object_add(norm, "arrivals_transform", json_object_new_string(n->arrivals_linear ? "linear" : "log1p"));
    json_object_object_add(norm, "arrivals_ref", cr_json_number(s->arrivals_ref, 10));
    json_object_object_add(norm, "arrivals_ref_source",
                           json_object_new_string(s->arrivals_ref_from_data
                                                      ? "99th percentile of the cells with arrivals > 0"
                                                      : "given (--arrivals-ref)"));
    json_object_object_add(p, "normalisation", norm);
    json_object_object_add(p, "classes", classes_json(o, s));
    if (o->population_path)
        json_object_object_add(p, "demand_share", cr_json_number(o->demand_share, 10));
    return cr_json_take_text(p);
}

static char *inputs_json(const cr_score_opts *o, const cr_score_inputs *in, const cr_score_summary *s)
{
    json_object *a = json_object_new_object();
    for (int k = 0; k < CR_INPUTS; k++) {
        if (!in->path[k])
            continue;
        json_object *e = json_object_new_object();
        json_object_object_add(e, "path", json_object_new_string(in->path[k]));
        json_object_object_add(e, "band", json_object_new_int(in->layer[k].band));
        if (k == CR_INPUT_SEA && s->scenario[0])
            json_object_object_add(e, "scenario", json_object_new_string(s->scenario));
        json_object_object_add(e, "resampling", json_object_new_string(s->resampling[k]));
        if (s->polygons[k]) {
            if (in->layer[k].vector_layer)
                json_object_object_add(e, "layer", json_object_new_string(in->layer[k].vector_layer));
            if (k == CR_INPUT_WATER)
                json_object_object_add(e, "field", json_object_new_string(s->water_field));
            json_object_object_add(e, "polygons", json_object_new_int64(s->polygons[k]));
            json_object_object_add(e, "polygons_skipped", json_object_new_int64(s->polygons_skipped[k]));
        }
        if (k == CR_INPUT_WATER && s->polygons[k]) {
            json_object_object_add(e, "arid_polygons", json_object_new_int64(s->water_arid_polygons));
            json_object_object_add(e, "sentinels",
                                   json_object_new_string(CR_AQUEDUCT_SENTINELS));
        }
        json_object_object_add(a, cr_input_name(k), e);
    }
    if (o->grid.ref)
        json_object_object_add(a, "grid", json_object_new_string(o->grid.ref));
    return cr_json_take_text(a);
}

/* The formula with the run's numbers, e.g. "S = 10 * (prod (1 + 9 c_i)^w_i - 1) / 9; ...". */
static char *formula_text(const cr_score_opts *o, const cr_score_summary *s)
{
    const cr_normalise_opts *n = &o->normalise;
    char sea[96], water[224], informal[64], arrivals[128], combine[256];
    if (n->sea_binary)
        snprintf(sea, sizeof sea, "c_sea = [d > 0]");
    else
        snprintf(sea, sizeof sea, "c_sea = min(1, d / %g m)", n->sea_depth_full);
    char mean[96] = "";
    if (s->water_field) /* polygons: the exact coverage-weighted mean of a field */
        snprintf(mean, sizeof mean, ", the coverage-weighted mean of the basins' %.40s",
                 s->water_field);
    if (n->water_ratio)
        snprintf(water, sizeof water, "c_water = clamp(log2(r / 0.1) + 1, 0, 5) / 5 (r the withdrawal "
                 "ratio%s)", mean);
    else
        snprintf(water, sizeof water, "c_water = b / 5 (b the Aqueduct score%s)", mean);
    snprintf(informal, sizeof informal, "c_informal = %s",
             n->settlement == CR_SETTLEMENT_BINARY    ? "[v > 0]"
             : n->settlement == CR_SETTLEMENT_PERCENT ? "v / 100"
                                                      : "v");
    double ref = isnan(s->arrivals_ref) ? 1 : s->arrivals_ref;
    if (n->arrivals_linear)
        snprintf(arrivals, sizeof arrivals, "c_arrivals = min(1, a / a_ref), a_ref = %.10g", ref);
    else
        snprintf(arrivals, sizeof arrivals, "c_arrivals = min(1, log1p(a) / log1p(a_ref)), a_ref = %.10g",
                 ref);
    const double *w = s->weights;
    switch (o->method) {
    case CR_METHOD_GEOMETRIC:
        snprintf(combine, sizeof combine,
                 "S = 10 * (prod_i (1 + 9 c_i)^w_i - 1) / 9 with w sea %.6g, water %.6g, informal "
                 "%.6g, arrivals %.6g",
                 w[0], w[1], w[2], w[3]);
        break;
    case CR_METHOD_ARITHMETIC:
        snprintf(combine, sizeof combine,
                 "S = 10 * sum_i w_i c_i with w sea %.6g, water %.6g, informal %.6g, arrivals %.6g",
                 w[0], w[1], w[2], w[3]);
        break;
    default:
        snprintf(combine, sizeof combine,
                 "S = 10 * (H * c_arrivals * c_informal)^(1/3), H = 1 - (prod_h (10 - 9 c_h)^(1/n) - 1) "
                 "/ 9 over the n hazards sea and water (INFORM's reverse geometric mean)");
        break;
    }
    size_t size = 1024;
    char *text = malloc(size);
    if (text)
        snprintf(text, size, "%s; %s; %s; %s; %s; %s", combine, sea, water, informal, arrivals,
                 o->renormalise ? "missing indicators dropped and the weights renormalised"
                                : "a cell missing any indicator is nodata");
    return text;
}

cr_status cr_score_open_writer(cr_ctx *ctx, const cr_score_opts *o, const cr_score_inputs *in,
                               const cr_score_summary *s, cr_writer **out)
{
    const char *names[CR_SCORE_BANDS], *units[CR_SCORE_BANDS];
    int categorical[CR_SCORE_BANDS], count = 0;
    for (int b = 0; b < CR_SCORE_BANDS; b++) {
        if (!(s->bands >> b & 1))
            continue;
        names[count] = BAND_NAMES[b], units[count] = BAND_UNITS[b];
        categorical[count++] = b == CR_BAND_CLASS || b == CR_BAND_INDICATORS_PRESENT;
    }
    char *params = parameters_json(o, s), *inputs = inputs_json(o, in, s), *text = formula_text(o, s);
    cr_status st = params && inputs && text ? CR_OK : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK) {
        cr_writer_opts wo;
        cr_writer_opts_init(&wo);
        wo.band_count = count;
        wo.band_names = names;
        wo.band_units = units;
        wo.band_categorical = categorical;
        wo.overwrite = o->overwrite;
        wo.creation_options = o->creation_options;
        wo.inputs = inputs;
        wo.parameters = params;
        wo.formula = text;
        const char *protect[CR_INPUTS + 2];
        protected_paths(in->path, o->grid.ref, protect);
        wo.input_paths = protect;
        st = cr_writer_open(ctx, in->out_path, s->grid, &wo, out);
    }
    if (st == CR_OK && (s->bands >> CR_BAND_CLASS & 1)) {
        int band = 1 + (s->bands & 1); /* after score when written */
        json_object *c = classes_json(o, s);
        const char *keys[] = {"names", "breaks", "colors"}, *items[] = {"CLASS_NAMES", "CLASS_BREAKS",
                                                                        "CLASS_COLORS"};
        for (int i = 0; i < 3 && st == CR_OK; i++) {
            json_object *v = json_object_get(json_object_object_get(c, keys[i]));
            char *txt = cr_json_take_text(v);
            st = txt ? cr_writer_set_metadata(ctx, *out, band, items[i], txt)
                     : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
            free(txt);
        }
        json_object_put(c);
    }
    free(params);
    free(inputs);
    free(text);
    return st;
}

cr_status cr_score_finish_metadata(cr_ctx *ctx, cr_writer *w, const cr_score_summary *s)
{
    json_object *d = json_object_new_object(), *per = json_object_new_array(),
                *clamped = json_object_new_object();
    json_object_object_add(d, "cells_scored", json_object_new_int64(s->cells_scored));
    json_object_object_add(d, "cells_nodata", json_object_new_int64(s->cells_nodata));
    for (int k = 0; k < s->class_count; k++)
        json_object_array_add(per, json_object_new_int64(s->cells_per_class[k]));
    json_object_object_add(d, "cells_per_class", per);
    json_object_object_add(d, "score_min", cr_json_number(s->score_min, 7));
    json_object_object_add(d, "score_mean", cr_json_number(s->score_mean, 7));
    json_object_object_add(d, "score_max", cr_json_number(s->score_max, 7));
    json_object *missing = json_object_new_object();
    for (int k = 0; k < CR_INPUTS; k++) {
        json_object_object_add(clamped, cr_input_name(k), json_object_new_int64(s->clamped[k]));
        if (s->resampling[k])
            json_object_object_add(missing, cr_input_name(k), json_object_new_int64(s->missing[k]));
    }
    json_object_object_add(d, "clamped", clamped);
    json_object_object_add(d, "cells_missing", missing);
    if (s->polygons[CR_INPUT_WATER])
        json_object_object_add(d, "water_arid_cells", json_object_new_int64(s->water_arid_cells));
    char *text = cr_json_take_text(d);
    cr_status st = text ? cr_writer_set_metadata(ctx, w, 0, "CITYRISK_STATISTICS", text)
                        : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    free(text);
    return st;
}
