/* test_outliers.c: the quartile box and the records far outside it (core/outliers.h), on
 * coordinates whose quartiles are counted by hand. */
#include "testutil.h"

#include <math.h>

#include "core/outliers.h"

typedef struct pt {
    double x, y, count; /* as arrivals' points: x and y 3 doubles apart */
} pt;

static cr_outliers find(const pt *p, size_t n, double min_size)
{
    cr_ctx *ctx = cr_ctx_new();
    cr_outliers rule;
    assert_int_equal(cr_outliers_find(ctx, &p[0].x, &p[0].y, 3, n, min_size, &rule), CR_OK);
    cr_ctx_free(ctx);
    return rule;
}

/* Eight records of a city on a diagonal (km) and one with its coordinates swapped into
 * another continent. */
static void a_swapped_record_is_far_and_the_city_is_not(void **state)
{
    (void)state;
    pt p[9] = {{0, 0, 1}, {1, 1, 1}, {2, 2, 1}, {3, 3, 1}, {5000, 0, 1},
               {4, 4, 1}, {5, 5, 1}, {6, 6, 1}, {7, 7, 1}};
    cr_outliers r = find(p, 9, 0);
    /* x sorted: 0 1 2 3 4 5 6 7 5000; ranks ceil(9/4) = 3 and ceil(27/4) = 7: 2 and 6.
     * y sorted: 0 0 1 2 3 4 5 6 7: the third is 1, the seventh 5. */
    assert_true(r.central.xmin == 2 && r.central.xmax == 6);
    assert_true(r.central.ymin == 1 && r.central.ymax == 5);
    assert_true(r.size == 4); /* max(6 - 2, 5 - 1) */
    /* the fence: 10 sizes, 40, beyond the box */
    assert_true(r.fence.xmin == -38 && r.fence.xmax == 46);
    assert_true(r.fence.ymin == -39 && r.fence.ymax == 45);
    for (int i = 0; i < 9; i++)
        assert_int_equal(cr_outliers_far(&r, p[i].x, p[i].y), i == 4);
    /* On the fence is not beyond it; just past it is. */
    assert_false(cr_outliers_far(&r, 46, 45));
    assert_true(cr_outliers_far(&r, 46.001, 0));
    assert_true(cr_outliers_far(&r, 0, -39.001));
}

/* Records at one site have a box of size 0: min_size keeps a second site near them. */
static void the_box_has_at_least_min_size(void **state)
{
    (void)state;
    pt p[6] = {{10, 10, 1}, {10, 10, 1}, {10, 10, 1}, {10, 10, 1}, {10, 10, 1}, {11, 10, 1}};
    cr_outliers r = find(p, 6, 0.5); /* fence: 10 +- 5 */
    assert_true(r.size == 0.5);
    assert_false(cr_outliers_far(&r, 11, 10));
    assert_true(cr_outliers_far(&r, 15.5, 10));
    r = find(p, 6, 0.05); /* fence: 10 +- 0.5 */
    assert_true(cr_outliers_far(&r, 11, 10));
}

/* A quarter of the records on one side cannot move the box: two far ones among eight. */
static void up_to_a_quarter_far_on_a_side_is_found(void **state)
{
    (void)state;
    pt p[8] = {{0, 0, 1}, {1, 0, 1}, {2, 0, 1}, {3, 0, 1}, {4, 0, 1}, {5, 0, 1},
               {900, 0, 1}, {-900, 0, 1}};
    cr_outliers r = find(p, 8, 0);
    /* x sorted: -900 0 1 2 3 4 5 900; ranks 2 and 6: 0 and 4; size 4, fence -40..44 */
    assert_true(r.central.xmin == 0 && r.central.xmax == 4);
    int far = 0;
    for (int i = 0; i < 8; i++)
        far += cr_outliers_far(&r, p[i].x, p[i].y);
    assert_int_equal(far, 2);
}

/* Below four records the quartiles are the extremes: nothing is far. */
static void fewer_than_four_records_are_never_far(void **state)
{
    (void)state;
    pt p[3] = {{0, 0, 1}, {1, 1, 1}, {1e9, -1e9, 1}};
    cr_outliers r = find(p, 3, 0);
    for (int i = 0; i < 3; i++)
        assert_false(cr_outliers_far(&r, p[i].x, p[i].y));
    assert_true(isinf(r.size));
}

/* Cells of a grid from bounds, snapped outwards as -tap: [5, 25] at 10 is 0..30, 3 cells. */
static void cells_count_the_snapped_grid(void **state)
{
    (void)state;
    cr_bounds b = {5, 5, 25, 15};
    assert_true(cr_bounds_cells(&b, 10) == 3 * 2);
    b = (cr_bounds){0, 0, 1e6, 1e6};
    assert_true(cr_bounds_cells(&b, 100) == 1e8);
    b = (cr_bounds){-7, -7, -7, -7}; /* a point: one cell */
    assert_true(cr_bounds_cells(&b, 10) == 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_swapped_record_is_far_and_the_city_is_not),
        cmocka_unit_test(the_box_has_at_least_min_size),
        cmocka_unit_test(up_to_a_quarter_far_on_a_side_is_found),
        cmocka_unit_test(fewer_than_four_records_are_never_far),
        cmocka_unit_test(cells_count_the_snapped_grid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
