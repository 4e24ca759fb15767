/* test_text.c: text any output can hold (geo/core/text.c): control characters, bytes that are
 * not UTF-8, XML's special characters, truncation at whole characters, JSON text. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cityrisk/json.h"
#include "core/text.h"

#define FFFD "\xEF\xBF\xBD"

static void shown_text_has_no_controls_and_only_utf8(void **state)
{
    (void)state;
    char out[256];
    cr_text_clean(out, sizeof out, "a\x01" "b\tc\nd\re\x7f" "f\xC2\x85g\xC2\xA0h");
    assert_string_equal(out, "ab c d ef" "g\xC2\xA0h"); /* C1 NEL dropped, NBSP kept */
    const struct {
        const char *in, *out;
    } cases[] = {
        {"\xff", FFFD},                                 /* never a UTF-8 byte */
        {"\x80x", FFFD "x"},                            /* a stray continuation byte */
        {"\xC0\xAF", FFFD FFFD},                        /* overlong '/' */
        {"\xE0\x80\xAF", FFFD FFFD FFFD},               /* overlong, three bytes */
        {"\xED\xA0\x80", FFFD FFFD FFFD},               /* a surrogate */
        {"\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD},      /* beyond U+10FFFF */
        {"\xC3", FFFD},                                 /* cut short at the end */
        {"\xE2\x82", FFFD FFFD},
        {"\xC3(", FFFD "("},
        {"\xEF\xBF\xBE\xEF\xBF\xBF", FFFD FFFD},        /* U+FFFE, U+FFFF: not XML */
        {"\xE2\x82\xAC \xF0\x9F\x8C\x8A \xE4\xB8\xAD", "\xE2\x82\xAC \xF0\x9F\x8C\x8A \xE4\xB8\xAD"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cr_text_clean(out, sizeof out, cases[i].in);
        assert_string_equal(out, cases[i].out);
        assert_true(cr_text_is_utf8(out));
    }
    assert_false(cr_text_is_utf8("\xC0\xAF"));
    assert_true(cr_text_is_utf8("a\x01\x7f"));
}

static void data_text_keeps_controls(void **state)
{
    (void)state;
    char out[64];
    cr_text_utf8(out, sizeof out, "a\x01\tb\xff\xEF\xBF\xBE");
    assert_string_equal(out, "a\x01\tb" FFFD "\xEF\xBF\xBE");
    char *copy = cr_text_utf8_dup("\xff\xfe\xfd");
    assert_string_equal(copy, FFFD FFFD FFFD);
    free(copy);
}

static void truncation_keeps_whole_characters(void **state)
{
    (void)state;
    char out[6];
    assert_int_equal(cr_text_clean(out, sizeof out, "\xC3\xA9\xC3\xA9\xC3\xA9"), 4);
    assert_string_equal(out, "\xC3\xA9\xC3\xA9");
    assert_int_equal(cr_text_clean(out, 1, "abc"), 0);
    assert_string_equal(out, "");
    assert_int_equal(cr_text_clean(out, 0, "abc"), 0); /* writes nothing */
    char xml[12] = "x";
    assert_int_equal(cr_xml_append(xml, sizeof xml, "ab&&"), 8); /* "xab&amp;" + no room */
    assert_string_equal(xml, "xab&amp;");
}

static void xml_escapes_the_five_and_cleans(void **state)
{
    (void)state;
    char out[128] = "<t>";
    cr_xml_append(out, sizeof out, "<a&b \"c\" 'd'>\x01\xff");
    assert_string_equal(out, "<t>&lt;a&amp;b &quot;c&quot; &apos;d&apos;&gt;" FFFD);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_xml_put(f, "x<\x02\xC3\xA9\xE2\x82");
    fclose(f);
    assert_string_equal(buf, "x&lt;\xC3\xA9" FFFD FFFD);
    free(buf);
}

static void json_text_is_utf8(void **state)
{
    (void)state;
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "na\xffme", json_object_new_string("a\x01\xC3(b"));
    char *text = cr_json_text(doc, JSON_C_TO_STRING_PLAIN);
    json_object_put(doc);
    assert_true(cr_text_is_utf8(text));
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *back = json_tokener_parse_ex(tok, text, (int)strlen(text));
    assert_non_null(back);
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(back, "na" FFFD "me", &v));
    assert_string_equal(json_object_get_string(v), "a\x01" FFFD "(b");
    json_object_put(back);
    json_tokener_free(tok);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shown_text_has_no_controls_and_only_utf8),
        cmocka_unit_test(data_text_keeps_controls),
        cmocka_unit_test(truncation_keeps_whole_characters),
        cmocka_unit_test(xml_escapes_the_five_and_cleans),
        cmocka_unit_test(json_text_is_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
