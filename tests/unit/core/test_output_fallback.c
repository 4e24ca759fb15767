/* test_output_fallback.c: publication without overwrite on file systems that do not know
 * renameat2(RENAME_NOREPLACE) (NFS says EINVAL) or refuse hard links too (FAT: EPERM).
 * This program defines renameat2() and link() itself, so the library (linked statically)
 * calls these instead of the C library's. */
#define _GNU_SOURCE /* renameat2() */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/output.h"

static int renameat2_calls, link_calls, links_refused;

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
              unsigned int flags)
{
    (void)olddirfd, (void)oldpath, (void)newdirfd, (void)newpath, (void)flags;
    renameat2_calls++;
    errno = EINVAL; /* as NFS answers RENAME_NOREPLACE */
    return -1;
}

int link(const char *from, const char *to)
{
    link_calls++;
    if (links_refused) {
        errno = EPERM; /* as FAT answers */
        return -1;
    }
    return (int)syscall(SYS_linkat, AT_FDCWD, from, AT_FDCWD, to, 0);
}

static void publish_twice(int refuse_links)
{
    char *dir = tu_mkdtemp();
    char *out = tu_path(dir, "out.tif");
    cr_ctx *ctx = cr_ctx_new();
    renameat2_calls = link_calls = 0;
    links_refused = refuse_links;

    cr_temp first = CR_TEMP_NONE, second = CR_TEMP_NONE;
    assert_int_equal(cr_temp_file(ctx, out, "part", &first), CR_OK);
    assert_int_equal(cr_temp_file(ctx, out, "part", &second), CR_OK);
    free(tu_write_file(dir, strrchr(first.path, '/') + 1, "first"));
    assert_int_equal(cr_temp_publish(ctx, &first, out, 0), CR_OK);
    assert_int_equal(cr_temp_publish(ctx, &second, out, 0), CR_E_EXISTS);
    assert_int_equal(renameat2_calls, 2); /* tried, then fell back */
    assert_int_equal(link_calls, 2);
    cr_temp_discard(&second);
    assert_int_equal(tu_count_entries(dir), 1); /* the output only: no temporary, no link */
    FILE *f = fopen(out, "r");
    char text[16] = "";
    assert_non_null(f);
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    assert_string_equal(text, "first");

    cr_ctx_free(ctx);
    free(out);
    tu_rmdir(dir);
}

static void link_then_unlink_without_renameat2(void **state)
{
    (void)state;
    publish_twice(0);
}

static void a_check_before_rename_without_hard_links(void **state)
{
    (void)state;
    publish_twice(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(link_then_unlink_without_renameat2),
        cmocka_unit_test(a_check_before_rename_without_hard_links),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
