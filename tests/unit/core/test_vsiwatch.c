/* test_vsiwatch.c: the watching file system passes reads and writes through to the real
 * file and remembers the first failed write of each file, with its errno, until asked. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>
#include <cpl_vsi.h>

#include "core/vsiwatch.h"

/* Writes text through the watch to path; returns 1 when every call said it succeeded. */
static int write_watched(const char *path, const char *text)
{
    char *watched = cr_watch_path(path);
    assert_non_null(watched);
    VSILFILE *fp = VSIFOpenL(watched, "wb");
    free(watched);
    if (!fp)
        return 0;
    int ok = VSIFWriteL(text, 1, strlen(text), fp) == strlen(text);
    ok &= VSIFCloseL(fp) == 0; /* stdio buffers: /dev/full fails here */
    return ok;
}

static void test_writes_pass_through(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *path = tu_path(dir, "a.json");
    assert_true(write_watched(path, "{\"a\": 1}\n"));
    assert_int_equal(cr_watch_failure(dir), 0);
    /* The same bytes on disk, read back through the watch. */
    char *watched = cr_watch_path(path);
    VSILFILE *fp = VSIFOpenL(watched, "rb");
    assert_non_null(fp);
    char buf[32] = {0};
    assert_int_equal(VSIFReadL(buf, 1, sizeof buf - 1, fp), 9);
    assert_int_equal(VSIFCloseL(fp), 0);
    assert_string_equal(buf, "{\"a\": 1}\n");
    free(watched);
    watched = cr_watch_path(dir); /* so do folder listings */
    char **names = VSIReadDir(watched);
    assert_true(CSLFindString(names, "a.json") >= 0);
    CSLDestroy(names);
    free(watched);
    free(path);
    tu_rmdir(dir);
}

static void test_a_full_device_is_remembered_once(void **state)
{
    (void)state;
    assert_false(write_watched("/dev/full", "more than nothing"));
    assert_int_equal(cr_watch_failure("/dev/null"), 0); /* another prefix: not this one */
    assert_int_equal(cr_watch_failure("/dev/"), ENOSPC);
    assert_int_equal(cr_watch_failure("/dev/"), 0); /* forgotten once asked */
}

static void test_failures_are_kept_per_prefix(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *path = tu_path(dir, "b.json");
    assert_false(write_watched("/dev/full", "x"));
    assert_true(write_watched(path, "y"));
    assert_int_equal(cr_watch_failure(dir), 0);
    assert_int_equal(cr_watch_failure("/dev/full"), ENOSPC);
    free(path);
    tu_rmdir(dir);
}

/* What GDAL says of a watched file names the file, not the watch. */
static void test_messages_lose_the_watch_prefix(void **state)
{
    (void)state;
    char text[] = "GDALClose(/vsicrwatch/./.d.tif.part.Ab12Cd) and /vsicrwatch//tmp/x/a.shp";
    cr_watch_unwrap(text);
    assert_string_equal(text, "GDALClose(./.d.tif.part.Ab12Cd) and /tmp/x/a.shp");
    char none[] = "nothing to do: /vsizip/a.zip";
    cr_watch_unwrap(none);
    assert_string_equal(none, "nothing to do: /vsizip/a.zip");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_pass_through),
        cmocka_unit_test(test_a_full_device_is_remembered_once),
        cmocka_unit_test(test_failures_are_kept_per_prefix),
        cmocka_unit_test(test_messages_lose_the_watch_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
