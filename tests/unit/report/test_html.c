/* test_html.c: the report's page (geo/report/report_html.c, report_buf.c): escapes of names
 * with markup, quotes and non-ASCII; the data block parsed back by json-c to the model's
 * values; no network address outside the provenance's text; the sections, the scenario
 * switch and the pager as the page's DOM contract has them (docs/report.md). */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "fixture.h"

/* Markup, both quotes and an ampersand come out as entities; UTF-8 stays as it is. */
static void test_html_escapes_markup_and_keeps_utf8(void **state)
{
    (void)state;
    report_buf b = {0};
    report_buf_html(&b, "<b>Bairro \"Ma\xc3\xa7\xc3\xa3\" & 'Sol'</b>");
    assert_string_equal(b.data, "&lt;b&gt;Bairro &quot;Ma\xc3\xa7\xc3\xa3&quot; &amp; &#39;Sol&#39;&lt;/b&gt;");
    report_buf_free(&b);
}

/* The page of a model as text (free()). */
static char *page_of(const report_model *r)
{
    report_buf b = {0};
    report_html(r, &b);
    assert_false(b.failed);
    assert_non_null(b.data);
    return b.data;
}

/* The text between the data block's tags, in a new string (free()). */
static char *data_block(const char *page)
{
    const char *open = "<script type=\"application/json\" id=\"report-data\">";
    const char *start = strstr(page, open);
    assert_non_null(start);
    assert_null(strstr(start + 1, open)); /* exactly one */
    start += strlen(open);
    const char *end = strstr(start, "</script>");
    assert_non_null(end);
    return strndup(start, (size_t)(end - start));
}

/* The number of times needle occurs in haystack. */
static int occurrences(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The data block parses back to the model: views, metrics, zones (the nasty name exact),
 * every value (null where missing), classes, no sensitivity. */
static void test_data_block_parses_back_to_the_model(void **state)
{
    (void)state;
    report_model *r = fixture_model();
    char *page = page_of(r), *text = data_block(page);
    json_object *d = json_tokener_parse(text), *x = NULL;
    assert_non_null(d);
    assert_true(json_object_object_get_ex(d, "views", &x));
    assert_int_equal(json_object_array_length(x), 2);
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(x, 1), "title")),
                        "ssp585-2100 / equal");
    assert_true(json_object_object_get_ex(d, "metrics", &x));
    assert_int_equal((int)json_object_array_length(x), report_metric_count());
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(x, 4), "field")),
                        REPORT_METRICS[4].field);
    assert_true(json_object_object_get_ex(d, "zones", &x));
    assert_int_equal(json_object_array_length(x), 3);
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(x, 0), "name")),
                        FIXTURE_NASTY_NAME);
    assert_true(json_object_object_get_ex(d, "values", &x));
    assert_int_equal(json_object_array_length(x), 2);
    for (int v = 0; v < 2; v++) {
        json_object *flat = json_object_array_get_idx(x, (size_t)v);
        assert_int_equal((int)json_object_array_length(flat), 3 * r->nmetrics);
        for (int z = 0; z < 3; z++)
            for (int m = 0; m < r->nmetrics; m++) {
                json_object *e = json_object_array_get_idx(flat, (size_t)(z * r->nmetrics + m));
                double want = report_value(r, v, z, m);
                if (isnan(want))
                    assert_null(e);
                else
                    assert_true(fabs(json_object_get_double(e) - want) <= 1e-9 * fabs(want));
            }
    }
    json_object *classes = json_object_object_get(d, "classes");
    assert_int_equal(json_object_array_length(json_object_object_get(classes, "breaks")), 4);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(json_object_object_get(classes, "colors"), 4)),
                        "#bd0026");
    assert_true(json_object_object_get_ex(d, "sensitivity", &x));
    assert_null(x);
    json_object_put(d);
    free(text);
    free(page);
    fixture_free(r);
}

/* The name appears only escaped in the HTML and only with JSON escapes in the data block. */
static void test_nasty_name_only_escaped(void **state)
{
    (void)state;
    report_model *r = fixture_model();
    char *page = page_of(r), *text = data_block(page);
    assert_null(strstr(page, "<script>alert"));
    assert_null(strstr(page, "alert(\"x\")</script>"));
    const char *html = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;\xc3\x87" "aia&#39;";
    assert_true(occurrences(page, html) >= 3); /* summary, path's aria-label, card */
    assert_int_equal(occurrences(text, html), 0);
    assert_int_equal(occurrences(text, "\\u003cscript\\u003ealert(\\\"x\\\")\\u003c/script\\u003e \\u0026 '\xc3\x87" "aia'"), 1);
    assert_int_equal(occurrences(page, "alert"), occurrences(page, html) + 1);
    free(text);
    free(page);
    fixture_free(r);
}

/* "http://" or "https://" only in the provenance section, where the files' text may hold it. */
static void test_no_network_address_outside_provenance(void **state)
{
    (void)state;
    report_model *r = fixture_model();
    r->nsources = 2;
    r->sources = calloc(2, sizeof *r->sources);
    r->sources[1].role = strdup("inundation");
    r->sources[1].path = strdup("/data/inundation.tif");
    r->sources[1].bytes = r->sources[1].mtime = -1;
    r->sources[1].provenance = json_tokener_parse("{\"CITYRISK_INPUTS\":\"[\\\"samples/data/dem.tif\\\"]\"}");
    r->sources[0].role = strdup("zones ssp245-2100;default");
    r->sources[0].path = strdup("neighbourhoods.geojson");
    r->sources[0].bytes = 2048, r->sources[0].mtime = 1765000000;
    r->sources[0].provenance = json_tokener_parse("{\"CITYRISK_VERSION\":\"0.1.0\",\"CITYRISK_COMMAND\":\"zonal --note "
                                                  "https://example.org/x\",\"CITYRISK_INPUTS\":[{\"role\":\"zones\","
                                                  "\"path\":\"n.gpkg\"}]}");
    char *page = page_of(r);
    const char *prov = strstr(page, "<section id=\"provenance\">");
    assert_non_null(prov);
    const char *prov_end = strstr(prov, "</section>");
    const char *schemes[] = {"http://", "https://"};
    for (int i = 0; i < 2; i++)
        for (const char *p = strstr(page, schemes[i]); p; p = strstr(p + 1, schemes[i]))
            assert_true(p > prov && p < prov_end);
    assert_int_equal(occurrences(page, "https://example.org/x"), 1);
    /* pretty-printed, one member a line */
    assert_non_null(strstr(prov, "<pre class=\"json\">{\n  &quot;CITYRISK_VERSION&quot;: &quot;0.1.0&quot;,\n"));
    assert_non_null(strstr(page, "<td>2025-12-06</td>")); /* the file's date from its mtime */
    /* the inputs' file names, from an array of objects and from raster metadata text */
    assert_non_null(strstr(page, "<td class=\"path\">n.gpkg</td>"));
    assert_non_null(strstr(page, "<td>unknown</td><td class=\"num\">unknown</td><td class=\"path\">dem.tif</td>"));
    free(page);
    fixture_free(r);
}

/* The caveat counts the zones of the first view with too little data apart from those
 * missing from its file. */
static void test_caveat_zones_without_data(void **state)
{
    (void)state;
    report_model *r = fixture_empty(3, 2);
    fixture_set(r, 0, 0, "score_class", 1);
    fixture_set(r, 0, 1, "arrivals_total", 10); /* in the file, not classed; zone 2 not in it */
    r->views[0].absent = 1;
    char *page = page_of(r);
    assert_non_null(strstr(page, ": 1 here in the first view, besides 1 zone not in its file; they are grey on the map"));
    free(page);
    r->views[0].absent = 0; /* all three in the file: two without a class */
    page = page_of(r);
    assert_non_null(strstr(page, ": 2 here in the first view; they are grey on the map"));
    free(page);
    fixture_free(r);
}

/* Every section by id; the map's paths as the contract has them; the scenario switch only
 * with 2+ views; the pager only above CR_REPORT_LARGE_ZONES zones. */
static void test_sections_switch_and_pager(void **state)
{
    (void)state;
    report_model *r = fixture_model();
    r->views[0].image_base64 = strdup("iVBORw0KGgo=");
    r->views[1].image_base64 = strdup("iVBORw0KGgq=");
    char *page = page_of(r);
    const char *ids[] = {"summary", "map", "table", "top", "methods", "provenance"};
    for (int i = 0; i < 6; i++) {
        char open[64];
        snprintf(open, sizeof open, "<section id=\"%s\">", ids[i]);
        assert_int_equal(occurrences(page, open), 1);
    }
    assert_null(strstr(page, "<section id=\"ranks\">")); /* no sensitivity */
    assert_int_equal(occurrences(page, "<select id=\"scenario\">"), 1);
    assert_non_null(strstr(page, "<option value=\"1\">ssp585-2100 / equal</option>"));
    assert_null(strstr(page, "id=\"pager\""));
    assert_int_equal(occurrences(page, "<path class=\"zone\""), 2); /* zone 2 has no outline */
    assert_non_null(strstr(page, "<path class=\"zone\" data-zone=\"0\" tabindex=\"0\" fill=\"#bd0026\""));
    assert_non_null(strstr(page, "data-zone=\"1\" tabindex=\"0\" fill=\"#f03b20\""));
    assert_non_null(strstr(page, "<g class=\"zones\" fill-rule=\"evenodd\">"));
    assert_non_null(strstr(page, "<image class=\"exposure\" data-view=\"0\""));
    assert_non_null(strstr(page, "<image class=\"exposure\" data-view=\"1\"")); /* hidden until chosen */
    assert_non_null(strstr(strstr(page, "data-view=\"1\" x="), "style=\"display:none\""));
    assert_non_null(strstr(page, "href=\"data:image/png;base64,iVBORw0KGgo=\""));
    assert_int_equal(occurrences(page, "<th scope=\"col\""), 1 + report_metric_count() + 3 + 4 + 5);
    assert_non_null(strstr(page, "data-key=\"arrivals_flooded\" tabindex=\"0\" aria-sort=\"none\">Arrivals in flooded "
                                 "cells <span class=\"unit\">(people)</span></th>"));
    /* view 0's cards, and the templates of view 0 and view 1 (rank 2 there) */
    assert_int_equal(occurrences(page, "<article class=\"card\" data-zone=\"0\">"), 3);
    free(page);
    fixture_free(r);

    r = fixture_empty(3, 1);
    page = page_of(r);
    assert_null(strstr(page, "id=\"scenario\""));
    assert_null(strstr(page, "id=\"pager\""));
    free(page);
    fixture_free(r);

    r = fixture_empty(CR_REPORT_LARGE_ZONES + 1, 1);
    page = page_of(r);
    assert_int_equal(occurrences(page, "<nav id=\"pager\""), 1);
    assert_non_null(strstr(page, "<button type=\"button\" class=\"prev\">"));
    free(page);
    fixture_free(r);
}

/* With sensitivity: the rank chart's section and the cards' intervals. */
static void test_ranks_with_sensitivity(void **state)
{
    (void)state;
    report_model *r = fixture_model();
    r->has_sensitivity = 1;
    r->zones[0].rank_p05 = 1, r->zones[0].rank_p95 = 2;
    r->rank_chart_svg = strdup("<svg id=\"rank-chart\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\"><title>t</title>"
                               "<desc>d</desc></svg>");
    char *page = page_of(r);
    assert_int_equal(occurrences(page, "<section id=\"ranks\">"), 1);
    assert_non_null(strstr(page, "<svg id=\"rank-chart\" role=\"img\"><title>t</title>")); /* inline: no xmlns */
    assert_null(strstr(page, "http"));
    assert_non_null(strstr(page, "(5&ndash;95 %: ranks 1&ndash;2)"));
    char *text = data_block(page);
    json_object *d = json_tokener_parse(text);
    json_object *s = json_object_object_get(d, "sensitivity");
    assert_int_equal(json_object_array_length(s), 3);
    assert_int_equal(json_object_get_int(json_object_object_get(json_object_array_get_idx(s, 0), "rank_p95")), 2);
    json_object_put(d);
    free(text);
    free(page);
    fixture_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_escapes_markup_and_keeps_utf8),
        cmocka_unit_test(test_data_block_parses_back_to_the_model),
        cmocka_unit_test(test_nasty_name_only_escaped),
        cmocka_unit_test(test_no_network_address_outside_provenance),
        cmocka_unit_test(test_caveat_zones_without_data),
        cmocka_unit_test(test_sections_switch_and_pager),
        cmocka_unit_test(test_ranks_with_sensitivity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
