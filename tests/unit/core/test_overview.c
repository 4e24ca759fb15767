/* test_overview.c: overview levels and their 2 x 2 reductions, by hand. */
#include "testutil.h"

#include <math.h>

#include "core/overview.h"

static void factors_as_the_cog_driver(void **state)
{
    (void)state;
    int f[CR_OVERVIEW_MAX_LEVELS];
    assert_int_equal(cr_overview_factors(512, 512, 512, f), 0);
    assert_int_equal(cr_overview_factors(513, 10, 512, f), 1); /* 257 fits */
    assert_int_equal(f[0], 2);
    /* 10000: 5000, 2500, 1250, 625, 313 (gdalinfo of a COG made by GDAL) */
    assert_int_equal(cr_overview_factors(10000, 10000, 512, f), 5);
    assert_int_equal(f[4], 32);
    assert_int_equal(cr_overview_factors(667, 667, 512, f), 1);
}

static void average_skips_nodata_and_clips(void **state)
{
    (void)state;
    const float nd = -9999;
    /* 3 x 3: the last column and row are halves of a 2 x 2. */
    const float src[] = {1, 3, 5,
                         nd, NAN, 7,
                         2, 4, nd};
    float dst[4];
    cr_overview_reduce(src, 3, 3, dst, 2, 2, nd, 0);
    assert_true(fabs(dst[0] - 2) < 1e-6); /* (1 + 3) / 2: nodata and NaN skipped */
    assert_true(fabs(dst[1] - 6) < 1e-6); /* (5 + 7) / 2 */
    assert_true(fabs(dst[2] - 3) < 1e-6); /* (2 + 4) / 2 */
    assert_true(dst[3] == nd);           /* nothing valid */
}

static void classes_take_the_most_frequent(void **state)
{
    (void)state;
    const float nd = -9999;
    const float src[] = {1, 5, 2, 2,
                         5, 1, 2, 3,
                         4, 4, nd, nd,
                         4, 1, nd, 3};
    float dst[4];
    cr_overview_reduce(src, 4, 4, dst, 2, 2, nd, 1);
    assert_true(dst[0] == 5); /* 1, 5, 5, 1: a tie goes to the larger class, never 3 */
    assert_true(dst[1] == 2);
    assert_true(dst[2] == 4);
    assert_true(dst[3] == 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(factors_as_the_cog_driver),
        cmocka_unit_test(average_skips_nodata_and_clips),
        cmocka_unit_test(classes_take_the_most_frequent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
