/* test_html.c: the report's page (geo/report/report_html.c, report_buf.c): escapes of names
 * with markup, quotes and non-ASCII. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <string.h>

#include "report/report_internal.h"

/* Markup, both quotes and an ampersand come out as entities; UTF-8 stays as it is. */
static void test_html_escapes_markup_and_keeps_utf8(void **state)
{
    (void)state;
    report_buf b = {0};
    report_buf_html(&b, "<b>Bairro \"Ma\xc3\xa7\xc3\xa3\" & 'Sol'</b>");
    assert_string_equal(b.data, "&lt;b&gt;Bairro &quot;Ma\xc3\xa7\xc3\xa3&quot; &amp; &#39;Sol&#39;&lt;/b&gt;");
    report_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_escapes_markup_and_keeps_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
