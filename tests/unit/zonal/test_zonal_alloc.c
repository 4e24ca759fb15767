/* test_zonal_alloc.c: zonal when memory runs out while it lists its sources. This program
 * is linked with --wrap=realloc (tests/CMakeLists.txt): the library's realloc() calls
 * come here, and the next one can be made to fail. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "cityrisk/zonal.h"

void *__real_realloc(void *ptr, size_t size);
void *__wrap_realloc(void *ptr, size_t size);

static int fail_next;

void *__wrap_realloc(void *ptr, size_t size)
{
    if (fail_next) {
        fail_next = 0;
        return NULL;
    }
    return __real_realloc(ptr, size);
}

/* Each domain raster alone is the first source: its allocation fails, and the run stops
 * with the message, touching nothing before the (empty) list of sources. */
static void first_source_out_of_memory(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *raster = tu_path(dir, "layer.tif"), *out = tu_path(dir, "out.geojson");
    const float values[] = {0, 1, 2, 3};
    tu_write_raster(raster, 32633, 500000, 4000000, 100, 2, 2, values, 0, 0);
    for (int k = 0; k < 5; k++) {
        cr_zonal_opts o;
        cr_zonal_opts_init(&o);
        o.zones_path = "zones.geojson"; /* not read: the sources come first */
        const char **path[] = {&o.sea_path, &o.water_path, &o.informal_path, &o.arrivals_path,
                               &o.population_path};
        *path[k] = raster;
        cr_ctx *ctx = cr_ctx_new();
        cr_zonal_summary s;
        fail_next = 1;
        assert_int_equal(cr_zonal(ctx, out, &o, &s), CR_E_IO);
        assert_int_equal(fail_next, 0);
        assert_string_equal(cr_ctx_error(ctx), "out of memory");
        cr_zonal_summary_clear(&s);
        cr_ctx_free(ctx);
    }
    free(raster);
    free(out);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_source_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
