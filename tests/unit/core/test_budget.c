/* test_budget.c: memory sizes (cr_memory_parse), the budget's default and configuration,
 * GDAL's cache within it, threads that fit and the refusal of what does not. */
#include "testutil.h"

#include <string.h>

#include <cpl_conv.h>
#include <gdal.h>

#include "core/budget.h"
#include "core/internal.h"

#define MIB ((int64_t)1 << 20)
#define GIB ((int64_t)1 << 30)

static void sizes_are_read_in_mib_and_gib(void **state)
{
    (void)state;
    assert_int_equal(cr_memory_parse("512"), 512 * MIB); /* a plain number is MB */
    assert_int_equal(cr_memory_parse("512M"), 512 * MIB);
    assert_int_equal(cr_memory_parse("512MB"), 512 * MIB);
    assert_int_equal(cr_memory_parse("512mib"), 512 * MIB);
    assert_int_equal(cr_memory_parse("0.5"), MIB / 2);
    assert_int_equal(cr_memory_parse("2G"), 2 * GIB);
    assert_int_equal(cr_memory_parse("2gb"), 2 * GIB);
    assert_int_equal(cr_memory_parse("2GiB"), 2 * GIB);
    assert_int_equal(cr_memory_parse("1.5G"), 3 * GIB / 2);
    assert_int_equal(cr_memory_parse("100%"), (int64_t)CPLGetUsablePhysicalRAM());
    int64_t quarter = cr_memory_parse("25%");
    assert_true(quarter > 0);
    assert_true(llabs(quarter - (int64_t)CPLGetUsablePhysicalRAM() / 4) <= 1);
}

static void what_is_not_a_size_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {"", "abc", "0", "-5", "+5", " 5", "5T", "5KB", "101%", "0%", "12%x",
                         "nan", "inf", "1e999", "0x10", "0.0000001", "5 M B", "G"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cr_memory_parse(bad[i]) != -1)
            fail_msg("'%s' was read as %lld bytes", bad[i], (long long)cr_memory_parse(bad[i]));
    }
    assert_int_equal(cr_memory_parse(NULL), -1);
}

static void the_budget_is_set_configured_or_half_the_ram(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    int64_t half = (int64_t)CPLGetUsablePhysicalRAM() / 2;
    CPLSetConfigOption("CITYRISK_MAX_MEMORY", NULL);
    assert_int_equal(cr_ctx_max_memory(ctx), half);
    CPLSetConfigOption("CITYRISK_MAX_MEMORY", "2G");
    assert_int_equal(cr_ctx_max_memory(ctx), 2 * GIB);
    CPLSetConfigOption("CITYRISK_MAX_MEMORY", "lots"); /* not a size: unset */
    assert_int_equal(cr_ctx_max_memory(ctx), half);
    cr_ctx_set_max_memory(ctx, 100 * MIB); /* the option wins over the configuration */
    CPLSetConfigOption("CITYRISK_MAX_MEMORY", "2G");
    assert_int_equal(cr_ctx_max_memory(ctx), 100 * MIB);
    cr_ctx_set_max_memory(ctx, 1000); /* at least 1 MiB */
    assert_int_equal(cr_ctx_max_memory(ctx), MIB);
    cr_ctx_set_max_memory(ctx, 0);
    assert_int_equal(cr_ctx_max_memory(ctx), 2 * GIB);
    CPLSetConfigOption("CITYRISK_MAX_MEMORY", NULL);
    cr_ctx_free(ctx);
}

static void workers_keep_the_budget(void **state)
{
    (void)state;
    cr_ctx *parent = cr_ctx_new(), *worker = cr_ctx_new();
    cr_ctx_set_max_memory(parent, 300 * MIB);
    cr_ctx_inherit(worker, parent);
    assert_int_equal(cr_ctx_max_memory(worker), 300 * MIB);
    cr_ctx_free(worker);
    cr_ctx_free(parent);
}

static void gdal_cache_takes_at_most_a_quarter(void **state)
{
    (void)state;
    assert_int_equal(cr_memory_gdal_cache(512 * MIB, 64 * MIB), 64 * MIB);
    assert_int_equal(cr_memory_gdal_cache(128 * MIB, 64 * MIB), 32 * MIB);
    assert_int_equal(cr_memory_gdal_cache(4 * GIB, 2 * GIB), GIB);
    assert_int_equal(cr_memory_gdal_cache(100 * MIB, -1), 0);
}

static void threads_are_cut_to_fit(void **state)
{
    (void)state;
    /* 100 bytes, 20 held once: 80 left, 30 a thread: 2 of 4 */
    assert_int_equal(cr_budget_fit_threads(100, 20, 30, 4), 2);
    assert_int_equal(cr_budget_fit_threads(100, 0, 10, 4), 4); /* all fit */
    assert_int_equal(cr_budget_fit_threads(10, 20, 5, 4), 1);  /* none fits: one runs */
    assert_int_equal(cr_budget_fit_threads(100, 0, 0, 3), 3);  /* no buffers */
    assert_int_equal(cr_budget_fit_threads(100, 0, 10, 0), 1);

    /* the budget less the cache and the resident set */
    assert_int_equal(cr_budget_left(100 * MIB, 25 * MIB, 30 * MIB), 45 * MIB);
    assert_int_equal(cr_budget_left(100 * MIB, 80 * MIB, 30 * MIB), 0);
    assert_int_equal(cr_budget_left(100 * MIB, -1, 0), 100 * MIB);

    int64_t resident = cr_budget_resident();
    assert_true(resident > MIB && resident < 200 * MIB); /* this test, its libraries */
    cr_ctx *ctx = cr_ctx_new();
    int64_t cache = GDALGetCacheMax64();
    GDALSetCacheMax64(24 * MIB);
    cr_ctx_set_threads(ctx, 4);
    cr_ctx_set_max_memory(ctx, GIB); /* 1000 MiB, less the resident set, beside the cache */
    int64_t left = cr_budget_available(ctx);
    assert_true(left > 800 * MIB && left <= 1000 * MIB);
    assert_int_equal(cr_budget_threads(ctx, "test", 0, 400 * MIB), 2);
    assert_int_equal(cr_budget_threads(ctx, "test", 0, 10 * MIB), 4);
    GDALSetCacheMax64(cache);
    cr_ctx_free(ctx);
}

static void the_cache_counts_only_its_room_to_fill(void **state)
{
    (void)state;
    /* its filled blocks are in the resident set already */
    assert_int_equal(cr_budget_cache_unfilled(64 * MIB, 0), 64 * MIB);
    assert_int_equal(cr_budget_cache_unfilled(64 * MIB, 40 * MIB), 24 * MIB);
    assert_int_equal(cr_budget_cache_unfilled(64 * MIB, 70 * MIB), 0); /* over its max a moment */
    assert_int_equal(cr_budget_cache_unfilled(64 * MIB, -1), 64 * MIB);
}

static void a_baseline_stands_for_the_resident_set(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    int64_t cache = GDALGetCacheMax64();
    GDALSetCacheMax64(24 * MIB);
    int64_t room = 24 * MIB - GDALGetCacheUsed64();
    cr_ctx_set_max_memory(ctx, GIB);
    cr_ctx_set_resident_baseline(ctx, 600 * MIB); /* far above this test's own resident set */
    assert_int_equal(cr_budget_available(ctx), GIB - 600 * MIB - (room > 0 ? room : 0));
    cr_ctx *worker = cr_ctx_new(); /* a pool's worker counts the same */
    cr_ctx_inherit(worker, ctx);
    assert_int_equal(cr_ctx_resident_baseline(worker), 600 * MIB);
    cr_ctx_set_resident_baseline(ctx, 0); /* measured again: this test holds far less */
    assert_true(cr_budget_available(ctx) > GIB - 600 * MIB);
    GDALSetCacheMax64(cache);
    cr_ctx_free(worker);
    cr_ctx_free(ctx);
}

static void what_does_not_fit_is_refused_in_one_line(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    int64_t cache = GDALGetCacheMax64();
    GDALSetCacheMax64(25 * MIB);
    cr_ctx_set_max_memory(ctx, GIB); /* about 1000 MiB left */
    assert_int_equal(cr_budget_check(ctx, 700.0 * MIB, "the zones", NULL), CR_OK);
    assert_int_equal(cr_budget_check(ctx, 1000.0 * MIB, "the zones", "fewer zones"), CR_E_USAGE);
    const char *msg = cr_ctx_error(ctx);
    assert_non_null(strstr(msg, "the zones: about 1000 MB, over the "));
    assert_non_null(strstr(msg, " MB left of the memory budget of 1024 MB (--max-memory, less "
                                "GDAL's cache of 25 MB and what the process holds already); "
                                "give a larger --max-memory or fewer zones"));
    assert_null(strchr(msg, '\n'));
    GDALSetCacheMax64(cache);
    cr_ctx_free(ctx);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sizes_are_read_in_mib_and_gib),
        cmocka_unit_test(what_is_not_a_size_is_refused),
        cmocka_unit_test(the_budget_is_set_configured_or_half_the_ram),
        cmocka_unit_test(workers_keep_the_budget),
        cmocka_unit_test(gdal_cache_takes_at_most_a_quarter),
        cmocka_unit_test(threads_are_cut_to_fit),
        cmocka_unit_test(the_cache_counts_only_its_room_to_fill),
        cmocka_unit_test(a_baseline_stands_for_the_resident_set),
        cmocka_unit_test(what_does_not_fit_is_refused_in_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
