/* test_map.c: the report's map (geo/report/report_map.c) and base64 (report_buf.c). */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <string.h>

#include "report/report_internal.h"

/* RFC 4648's test vectors. */
static void test_base64_of_rfc4648_vectors(void **state)
{
    (void)state;
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        report_buf b = {0};
        report_buf_base64(&b, (const unsigned char *)in[i], strlen(in[i]));
        assert_string_equal(b.data ? b.data : "", out[i]);
        report_buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_of_rfc4648_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
