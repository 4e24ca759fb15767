/* test_chart.c: the report's rank-interval chart (geo/report/report_chart.c), on models
 * built by hand. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

/* One zone's name and ranks. */
typedef struct zone_ranks {
    const char *name;
    double nominal, p05, p50, p95;
} zone_ranks;

/* A model of n zones with sensitivity ranks, top as --top gives it. */
static report_model *model_new(const zone_ranks *zones, int n, cr_report_opts *o)
{
    report_model *r = calloc(1, sizeof *r);
    cr_report_opts_init(o);
    r->o = o;
    r->nzones = n;
    r->zones = calloc((size_t)n, sizeof *r->zones);
    for (int z = 0; z < n; z++) {
        char id[16];
        snprintf(id, sizeof id, "z%d", z);
        r->zones[z].id = strdup(id);
        r->zones[z].name = strdup(zones[z].name);
        r->zones[z].rank_nominal = zones[z].nominal, r->zones[z].rank_p05 = zones[z].p05;
        r->zones[z].rank_p50 = zones[z].p50, r->zones[z].rank_p95 = zones[z].p95;
    }
    r->has_sensitivity = 1;
    return r;
}

static void model_free(report_model *r)
{
    for (int z = 0; z < r->nzones; z++)
        free(r->zones[z].id), free(r->zones[z].name);
    free(r->zones);
    free(r->rank_chart_svg);
    free(r);
}

static const zone_ranks FOUR[] = {
    {"Baixa", 3, 2, 3, 6},
    {"Tom <&\"'> Jerry", 1, 1, 1.5, 2},
    {"Unranked", NAN, NAN, NAN, NAN},
    {"Praia Nova", 2, 1, 2, 4},
};

/* The text between the first "<desc" and "</desc>" of svg, to free(). */
static char *desc_of(const char *svg)
{
    const char *a = strstr(svg, "<desc"), *b = strstr(svg, "</desc>");
    assert_true(a && b && b > a);
    return strndup(a, (size_t)(b - a));
}

/* Rows best nominal rank first; the zone without ranks left out. */
static void test_rows_in_rank_order(void **state)
{
    (void)state;
    cr_report_opts o;
    report_model *r = model_new(FOUR, 4, &o);
    cr_ctx *ctx = cr_ctx_new();
    assert_int_equal(report_chart(ctx, r), CR_OK);
    const char *svg = r->rank_chart_svg;
    assert_non_null(svg);
    assert_true(strncmp(svg, "<svg id=\"rank-chart\" role=\"img\" viewBox=\"", 41) == 0);
    assert_non_null(strstr(svg, "xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(svg, "<title"));
    const char *first = strstr(svg, "data-zone=\"1\""), *second = strstr(svg, "data-zone=\"3\""),
               *third = strstr(svg, "data-zone=\"0\"");
    assert_true(first && second && third && first < second && second < third);
    assert_null(strstr(svg, "data-zone=\"2\""));
    assert_null(strstr(svg, "Unranked"));
    assert_non_null(strstr(svg, "Rank (1 = most exposed)"));
    assert_non_null(strstr(svg, "#0072B2"));
    assert_non_null(strstr(svg, "#D55E00"));
    assert_true(strlen(svg) > 6 && strcmp(svg + strlen(svg) - 6, "</svg>") == 0);
    cr_ctx_free(ctx);
    model_free(r);
}

/* The text alternative lists every zone drawn with its interval; names come out escaped. */
static void test_desc_lists_every_zone(void **state)
{
    (void)state;
    cr_report_opts o;
    report_model *r = model_new(FOUR, 4, &o);
    cr_ctx *ctx = cr_ctx_new();
    assert_int_equal(report_chart(ctx, r), CR_OK);
    char *desc = desc_of(r->rank_chart_svg);
    assert_non_null(
        strstr(desc, "Tom &lt;&amp;&quot;&#39;&gt; Jerry: nominal rank 1, 5-95 % of runs between ranks 1 and 2."));
    assert_non_null(strstr(desc, "Praia Nova: nominal rank 2, 5-95 % of runs between ranks 1 and 4."));
    assert_non_null(strstr(desc, "Baixa: nominal rank 3, 5-95 % of runs between ranks 2 and 6."));
    assert_null(strstr(desc, "Unranked"));
    assert_null(strstr(r->rank_chart_svg, "Tom <"));
    free(desc);
    cr_ctx_free(ctx);
    model_free(r);
}

/* max(top, 10) rows, at most 20; a long name cut at a whole character with an ellipsis. */
static void test_row_count_and_long_names(void **state)
{
    (void)state;
    enum { N = 30 };
    zone_ranks zones[N];
    char names[N][64], accents[2 * 22 + 1] = "";
    for (int i = 0; i < 22; i++)
        strcat(accents, "\xC3\xA9"); /* 'é' is two bytes: the cut must not split one */
    for (int z = 0; z < N; z++) {
        if (z == 0)
            snprintf(names[z], sizeof names[z], "Bairro %s%02d", accents, z);
        else
            snprintf(names[z], sizeof names[z], "Zone %02d", z);
        zones[z] = (zone_ranks){names[z], N - z, N - z, N - z, N - z};
    }
    cr_report_opts o;
    report_model *r = model_new(zones, N, &o);
    cr_ctx *ctx = cr_ctx_new();
    int counts[][2] = {{5, 10}, {15, 15}, {25, 20}};
    for (int c = 0; c < 3; c++) {
        o.top = counts[c][0];
        assert_int_equal(report_chart(ctx, r), CR_OK);
        int rows = 0;
        for (const char *p = r->rank_chart_svg; (p = strstr(p, "<g class=\"row\"")); p++)
            rows++;
        assert_int_equal(rows, counts[c][1]);
    }
    /* zone 0, ranked 30th, moved to rank 1 (ahead of zone 29 by its order) */
    r->zones[0].rank_nominal = r->zones[0].rank_p05 = r->zones[0].rank_p50 = 1;
    assert_int_equal(report_chart(ctx, r), CR_OK);
    /* "Bairro " (7) + 20 of 22 e-acutes + ellipsis: 28 characters */
    char expect[80];
    snprintf(expect, sizeof expect, ">Bairro %.40s\xE2\x80\xA6</text>", accents);
    assert_non_null(strstr(r->rank_chart_svg, expect));
    cr_ctx_free(ctx);
    model_free(r);
}

/* Without sensitivity there is no chart. */
static void test_no_chart_without_sensitivity(void **state)
{
    (void)state;
    cr_report_opts o;
    report_model *r = model_new(FOUR, 4, &o);
    r->has_sensitivity = 0;
    cr_ctx *ctx = cr_ctx_new();
    assert_int_equal(report_chart(ctx, r), CR_OK);
    assert_null(r->rank_chart_svg);
    cr_ctx_free(ctx);
    model_free(r);
}

/* A rank near the largest double (a corrupt sensitivity file) still gives a finite axis: a
 * chart of a few ticks, not a loop that never ends. */
static void test_huge_rank_finite_axis(void **state)
{
    (void)state;
    const zone_ranks huge[] = {{"A", 1, 1, 1, 1.7e308}, {"B", 2, 1, 2, 3}};
    cr_report_opts o;
    report_model *r = model_new(huge, 2, &o);
    cr_ctx *ctx = cr_ctx_new();
    assert_int_equal(report_chart(ctx, r), CR_OK);
    assert_non_null(r->rank_chart_svg);
    assert_true(strlen(r->rank_chart_svg) < 20000);
    assert_null(strstr(r->rank_chart_svg, "inf"));
    assert_null(strstr(r->rank_chart_svg, "nan"));
    cr_ctx_free(ctx);
    model_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_in_rank_order),
        cmocka_unit_test(test_desc_lists_every_zone),
        cmocka_unit_test(test_row_count_and_long_names),
        cmocka_unit_test(test_no_chart_without_sensitivity),
        cmocka_unit_test(test_huge_rank_finite_axis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
