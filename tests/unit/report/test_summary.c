/* test_summary.c: the summary written from the numbers (geo/report/report_summary.c): zones
 * in the top two classes per view, arrivals in flooded cells, the top five by rank, the
 * drivers by the documented rules, numbers formatted for people. Every expected value is
 * worked out by hand from fixture.h. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <string.h>

#include "fixture.h"

/* The summary of a model as text (free()). */
static char *summary_of(const report_model *r)
{
    report_buf b = {0};
    report_summary_html(r, &b);
    assert_false(b.failed);
    assert_non_null(b.data);
    return b.data;
}

/* View 0: zones 0 (class 5) and 1 (class 4) are High or Very High; 400 + 10 + 0 = 410
 * arrivals of 1,250 (33 %) in flooded cells. View 1: only zone 1 (class 4); 600 + 20 + 0 =
 * 620 (50 %), and zone 2 has no class. */
static void test_counts_per_view(void **state)
{
    (void)state;
    report_model *r = fixture_model();
    char *s = summary_of(r);
    const char *v0 = strstr(s, "ssp245-2100 / default</strong>, <strong>2</strong> of 3 zones are High or Very High");
    assert_non_null(v0);
    assert_non_null(strstr(v0, "<strong>410</strong> arrivals live in flood-exposed cells (33 % of 1,250)"));
    const char *v1 = strstr(s, "ssp585-2100 / equal</strong>, <strong>1</strong> of 3 zones are High or Very High");
    assert_non_null(v1);
    assert_non_null(strstr(v1, "<strong>620</strong> arrivals live in flood-exposed cells (50 % of 1,250)"));
    assert_non_null(strstr(v1, "1 zone had too little data to be classed or ranked"));
    free(s);
    fixture_free(r);
}

/* The top zones of view 0 in rank order, the name escaped, with their drivers. */
static void test_top_five_in_rank_order_with_drivers(void **state)
{
    (void)state;
    report_model *r = fixture_model();
    char *s = summary_of(r);
    const char *first = strstr(s, "<li><strong>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;\xc3\x87"
                                  "aia&#39;</strong> (score 7.0, Very High): flooding, informal housing, high water "
                                  "stress, many arrivals</li>");
    const char *second = strstr(s, "<li><strong>zone 1</strong> (score 5.5, High): flooding</li>");
    const char *third = strstr(s, "<li><strong>zone 2</strong> (score 1.0, Very Low): no single factor stands out</li>");
    assert_non_null(first);
    assert_non_null(second);
    assert_non_null(third);
    assert_true(first < second && second < third);
    assert_null(strstr(s, "<script>"));
    free(s);
    fixture_free(r);
}

/* report_top_zones(): rank order, ties by higher score, zones without a rank left out. */
static void test_top_zones_order(void **state)
{
    (void)state;
    report_model *r = fixture_model();
    int top[5];
    assert_int_equal(report_top_zones(r, 0, top, 5), 3);
    assert_int_equal(top[0], 0), assert_int_equal(top[1], 1), assert_int_equal(top[2], 2);
    assert_int_equal(report_top_zones(r, 1, top, 5), 2);
    assert_int_equal(top[0], 1), assert_int_equal(top[1], 0);
    fixture_set(r, 0, 2, "score_rank", 1); /* tie with zone 0 (score 7.0 > 1.0) */
    assert_int_equal(report_top_zones(r, 0, top, 2), 2);
    assert_int_equal(top[0], 0), assert_int_equal(top[1], 2);
    fixture_free(r);
}

/* Each rule at its threshold, and the top quartile of arrivals over 8 zones: fewer than 2
 * zones with more arrivals. */
static void test_drivers_rules(void **state)
{
    (void)state;
    report_model *r = fixture_empty(8, 1);
    char d[128];
    for (int z = 0; z < 8; z++)
        fixture_set(r, 0, z, "arrivals_total", 10 * (z + 1)); /* 10..80 */
    fixture_set(r, 0, 0, "arrivals_flooded_share", 0.25);
    fixture_set(r, 0, 1, "flood_area_share", 0.2499);
    fixture_set(r, 0, 2, "informal_area_share", 0.5);
    fixture_set(r, 0, 3, "water_stress_mean", 2.999);
    fixture_set(r, 0, 4, "water_stress_mean", 3);
    report_drivers(r, 0, 0, d, sizeof d), assert_string_equal(d, "flooding");
    report_drivers(r, 0, 1, d, sizeof d), assert_string_equal(d, "");
    report_drivers(r, 0, 2, d, sizeof d), assert_string_equal(d, "informal housing");
    report_drivers(r, 0, 3, d, sizeof d), assert_string_equal(d, "");
    report_drivers(r, 0, 4, d, sizeof d), assert_string_equal(d, "high water stress");
    report_drivers(r, 0, 5, d, sizeof d), assert_string_equal(d, ""); /* 2 zones have more: not < 8/4 */
    report_drivers(r, 0, 6, d, sizeof d), assert_string_equal(d, "many arrivals");
    report_drivers(r, 0, 7, d, sizeof d), assert_string_equal(d, "many arrivals");
    fixture_free(r);
}

/* With sensitivity, the top ranks' 5-95 % intervals and how many stay in the top. */
static void test_certainty_from_rank_intervals(void **state)
{
    (void)state;
    report_model *r = fixture_model();
    r->has_sensitivity = 1;
    r->zones[0].rank_p05 = 1, r->zones[0].rank_p95 = 2;
    r->zones[1].rank_p05 = 1, r->zones[1].rank_p95 = 3;
    r->zones[2].rank_p05 = 2, r->zones[2].rank_p95 = 3;
    char *s = summary_of(r);
    assert_non_null(strstr(s, "zone 1 ranks 1&ndash;3"));
    assert_non_null(strstr(s, "3 of these 3 stay within the top 3"));
    free(s);
    r->zones[2].rank_p95 = 4;
    s = summary_of(r);
    assert_non_null(strstr(s, "2 of these 3 stay within the top 3"));
    free(s);
    fixture_free(r);
}

/* Many views: the first in full, the others as a compact list. */
static void test_many_views_compact_list(void **state)
{
    (void)state;
    report_model *r = fixture_empty(2, 5);
    for (int v = 0; v < 5; v++)
        fixture_set(r, v, 0, "score_class", v < 3 ? 5 : 2), fixture_set(r, v, 0, "arrivals_flooded", 1234.4);
    char *s = summary_of(r);
    assert_non_null(strstr(s, "Under <strong>view 0</strong>, <strong>1</strong> of 2 zones"));
    assert_non_null(strstr(s, "<li><strong>view 2</strong>: 1 High or Very High; 1,230 arrivals in flooded cells</li>"));
    assert_non_null(strstr(s, "<li><strong>view 4</strong>: 0 High or Very High; 1,230 arrivals in flooded cells</li>"));
    free(s);
    fixture_free(r);
}

/* No zone in the top two classes and no arrivals in flooded cells, said in words; "about"
 * only for a rounded count. */
static void test_none_high_and_no_flooded_arrivals(void **state)
{
    (void)state;
    report_model *r = fixture_empty(3, 1);
    fixture_set(r, 0, 0, "score_class", 2), fixture_set(r, 0, 1, "score_class", 1);
    fixture_set(r, 0, 0, "arrivals_flooded", 0), fixture_set(r, 0, 0, "arrivals_total", 500);
    char *s = summary_of(r);
    /* the sentence's first word (one view: no "Under ..." before it) */
    assert_non_null(strstr(s, "<p><strong>None</strong> of the 3 zones is High or Very High (the highest class reached "
                              "is Low, 1 zone) and no arrivals live in flood-exposed cells (of the 500 arrivals)."));
    free(s);
    fixture_set(r, 0, 1, "arrivals_flooded", 1234), fixture_set(r, 0, 1, "arrivals_total", 2000);
    s = summary_of(r);
    assert_non_null(strstr(s, "about <strong>1,230</strong> arrivals live in flood-exposed cells (49 % of 2,500)"));
    free(s);
    fixture_set(r, 0, 1, "arrivals_flooded", 34), fixture_set(r, 0, 1, "arrivals_total", 102500);
    s = summary_of(r);
    /* 34 of 103,000 is not "0 %" */
    assert_non_null(strstr(s, "<strong>34</strong> arrivals live in flood-exposed cells (under 1 % of 103,000)"));
    free(s);
    fixture_free(r);
    r = fixture_empty(3, 2); /* after "Under ...," the word stays lower case */
    s = summary_of(r);
    assert_non_null(strstr(s, "<p>Under <strong>view 0</strong>, <strong>none</strong> of the 3 zones is"));
    free(s);
    fixture_free(r);
}

/* A zone missing from a view's file is said so, not counted among the zones with too little
 * data to be classed. */
static void test_zone_missing_from_a_view(void **state)
{
    (void)state;
    report_model *r = fixture_empty(3, 2);
    for (int z = 0; z < 3; z++)
        fixture_set(r, 0, z, "score_class", 1);
    fixture_set(r, 1, 0, "score_class", 1);
    fixture_set(r, 1, 1, "arrivals_total", 10); /* in the file, not classed; zone 2 not in it */
    r->views[1].absent = 1;
    char *s = summary_of(r);
    assert_non_null(strstr(s, "are recorded. 1 zone had too little data to be classed or ranked. 1 zone is not in "
                              "this view's file.</p>"));
    assert_null(strstr(s, "2 zones had too little data"));
    free(s);
    fixture_free(r);
}

/* Thousands separators, half away from zero, no "-0", "n/a"; people to 3 significant figures
 * from 1,000. */
static void test_numbers_for_people(void **state)
{
    (void)state;
    char b[64];
    report_format_number(b, sizeof b, 1234567.891, 2), assert_string_equal(b, "1,234,567.89");
    report_format_number(b, sizeof b, 2.5, 0), assert_string_equal(b, "3");
    report_format_number(b, sizeof b, 999.6, 0), assert_string_equal(b, "1,000");
    report_format_number(b, sizeof b, -1234.5, 1), assert_string_equal(b, "-1,234.5");
    report_format_number(b, sizeof b, -0.004, 2), assert_string_equal(b, "0.00");
    report_format_number(b, sizeof b, 123, 0), assert_string_equal(b, "123");
    report_format_number(b, sizeof b, NAN, 0), assert_string_equal(b, "n/a");
    report_format_people(b, sizeof b, 4321.7), assert_string_equal(b, "4,320");
    report_format_people(b, sizeof b, 123456), assert_string_equal(b, "123,000");
    report_format_people(b, sizeof b, 999.4), assert_string_equal(b, "999");
    report_format_people(b, sizeof b, 12.5), assert_string_equal(b, "13");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_per_view),
        cmocka_unit_test(test_top_five_in_rank_order_with_drivers),
        cmocka_unit_test(test_top_zones_order),
        cmocka_unit_test(test_drivers_rules),
        cmocka_unit_test(test_certainty_from_rank_intervals),
        cmocka_unit_test(test_many_views_compact_list),
        cmocka_unit_test(test_none_high_and_no_flooded_arrivals),
        cmocka_unit_test(test_zone_missing_from_a_view),
        cmocka_unit_test(test_numbers_for_people),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
