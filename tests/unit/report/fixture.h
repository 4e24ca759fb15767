/* fixture.h: a report model built by hand for the page's and the summary's tests (3 zones,
 * 2 views, INFORM's classes), with values chosen so that the counts, sums, ranks and
 * drivers can be worked out on paper (test_html.c, test_summary.c). */
#ifndef CITYRISK_TEST_REPORT_FIXTURE_H
#define CITYRISK_TEST_REPORT_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

/* A name with markup, both quotes, an ampersand and non-ASCII (U+00C7). */
#define FIXTURE_NASTY_NAME "<script>alert(\"x\")</script> & '\xc3\x87" "aia'"

/* Sets metric field of zone z in view v. */
static void fixture_set(report_model *r, int v, int z, const char *field, double x)
{
    int m = report_metric_find(field);
    assert_true(m >= 0);
    r->values[((size_t)v * (size_t)r->nzones + (size_t)z) * (size_t)r->nmetrics + (size_t)m] = x;
}

/* One zone's figures in one view: score, class, rank, arrivals, flooded arrivals, flooded
 * share of arrivals, flooded share of area, informal share, water stress. */
static void fixture_zone(report_model *r, int v, int z, const double f[9])
{
    static const char *fields[] = {"score_mean", "score_class", "score_rank", "arrivals_total", "arrivals_flooded",
                                   "arrivals_flooded_share", "flood_area_share", "informal_area_share",
                                   "water_stress_mean"};
    for (int i = 0; i < 9; i++)
        fixture_set(r, v, z, fields[i], f[i]);
}

/* The INFORM classes with ColorBrewer YlOrRd. */
static void fixture_classes(report_classes *c)
{
    static const char *names[] = {"Very Low", "Low", "Medium", "High", "Very High"};
    static const char *colors[] = {"#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"};
    static const double breaks[] = {2, 3.5, 5, 6.5};
    c->n = 5;
    for (int k = 0; k < 5; k++) {
        strcpy(c->names[k], names[k]);
        strcpy(c->colors[k], colors[k]);
        if (k < 4)
            c->breaks[k] = breaks[k];
    }
}

/* An empty model of nzones zones and nviews views: every value missing, zones named
 * "zone K" with id "K", views "view V". Free with fixture_free(). */
static report_model *fixture_empty(int nzones, int nviews)
{
    static cr_report_opts o;
    cr_report_opts_init(&o);
    report_model *r = calloc(1, sizeof *r);
    r->o = &o;
    r->title = strdup("Migrant exposure to climate hazards");
    r->city = strdup("Port Azul");
    r->date = strdup("2026-12-06");
    r->version = strdup("0.1.0");
    r->nzones = nzones, r->nviews = nviews, r->nmetrics = report_metric_count();
    r->zones = calloc((size_t)nzones, sizeof *r->zones);
    r->views = calloc((size_t)nviews, sizeof *r->views);
    r->values = malloc((size_t)nzones * (size_t)nviews * (size_t)r->nmetrics * sizeof *r->values);
    for (size_t i = 0; i < (size_t)nzones * (size_t)nviews * (size_t)r->nmetrics; i++)
        r->values[i] = NAN;
    for (int z = 0; z < nzones; z++) {
        char text[32];
        snprintf(text, sizeof text, "%d", z);
        r->zones[z].id = strdup(text);
        snprintf(text, sizeof text, "zone %d", z);
        r->zones[z].name = strdup(text);
        r->zones[z].rank_nominal = r->zones[z].rank_p05 = r->zones[z].rank_p50 = r->zones[z].rank_p95 = NAN;
        r->zones[z].p_top = NAN;
    }
    for (int v = 0; v < nviews; v++) {
        char text[32];
        snprintf(text, sizeof text, "view %d", v);
        r->views[v].label = strdup(text);
        r->views[v].title = strdup(text);
        r->views[v].scenario = strdup("");
    }
    fixture_classes(&r->classes);
    r->map_width = 100, r->map_height = 80;
    r->paged = nzones > CR_REPORT_LARGE_ZONES;
    return r;
}

/* The 3-zone, 2-view model. View 0: zone 0 Very High (rank 1), zone 1 High (rank 2), zone 2
 * Very Low (rank 3); view 1: zone 1 High (rank 1), zone 0 Medium (rank 2), zone 2 without
 * data. Zone 0 carries FIXTURE_NASTY_NAME. */
static report_model *fixture_model(void)
{
    report_model *r = fixture_empty(3, 2);
    free(r->zones[0].name);
    r->zones[0].name = strdup(FIXTURE_NASTY_NAME);
    free(r->views[0].label), free(r->views[0].title), free(r->views[0].scenario);
    free(r->views[1].label), free(r->views[1].title), free(r->views[1].scenario);
    r->views[0].label = strdup("ssp245-2100;default"), r->views[0].title = strdup("ssp245-2100 / default");
    r->views[1].label = strdup("ssp585-2100;equal"), r->views[1].title = strdup("ssp585-2100 / equal");
    r->views[0].scenario = strdup("ssp245-2100"), r->views[1].scenario = strdup("ssp585-2100");
    /*                  score class rank arrivals flooded share  area  informal water */
    fixture_zone(r, 0, 0, (double[9]){7.0, 5, 1, 1000, 400, 0.4, 0.1, 0.6, 3.2});
    fixture_zone(r, 0, 1, (double[9]){5.5, 4, 2, 200, 10, 0.05, 0.3, 0.1, 2.0});
    fixture_zone(r, 0, 2, (double[9]){1.0, 1, 3, 50, 0, 0, 0, 0, 1.0});
    fixture_zone(r, 1, 0, (double[9]){4.0, 3, 2, 1000, 600, 0.6, 0.2, 0.6, 3.2});
    fixture_zone(r, 1, 1, (double[9]){6.0, 4, 1, 200, 20, 0.1, 0.4, 0.1, 2.0});
    fixture_zone(r, 1, 2, (double[9]){NAN, NAN, NAN, 50, 0, NAN, 0, 0, 1.0});
    r->zones[0].svg_path = strdup("M 0 0 L 40 0 L 40 40 Z");
    r->zones[1].svg_path = strdup("M 50 0 L 90 0 L 90 40 Z M 60 10 L 70 10 L 70 20 Z");
    return r;
}

/* Frees what fixture_empty() and fixture_model() allocate (not report_model_free(): the
 * fixture owns no JSON and no geometry). */
static void fixture_free(report_model *r)
{
    for (int z = 0; z < r->nzones; z++)
        free(r->zones[z].id), free(r->zones[z].name), free(r->zones[z].svg_path);
    for (int v = 0; v < r->nviews; v++) {
        free(r->views[v].label), free(r->views[v].title), free(r->views[v].scenario), free(r->views[v].image_base64);
        json_object_put(r->views[v].provenance);
        json_object_put(r->views[v].exposure_metadata);
    }
    for (int i = 0; i < r->nsources; i++) {
        free(r->sources[i].role), free(r->sources[i].path);
        json_object_put(r->sources[i].provenance);
    }
    free(r->sources);
    json_object_put(r->inundation_parameters);
    json_object_put(r->sensitivity_parameters);
    free(r->inundation_path), free(r->rank_chart_svg);
    free(r->zones), free(r->views), free(r->values);
    free(r->title), free(r->city), free(r->date), free(r->version);
    free(r);
}

#endif
