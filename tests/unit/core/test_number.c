/* test_number.c: the one reader of numbers in text: decimal numbers only, blanks around
 * them, the words nan and inf told apart, and a number beyond a double's range told from
 * one that is not a number (issue 16, point 18). */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "cityrisk/number.h"

static cr_number_kind parse(const char *text, double *v)
{
    *v = -12345.0;
    return cr_number_parse(text, (size_t)-1, v);
}

static void decimal_numbers_are_read(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double value;
    } cases[] = {
        {"0", 0.0},         {"16", 16.0},          {"-3.5", -3.5},     {"+3", 3.0},
        {".5", 0.5},        {"5.", 5.0},           {"1e3", 1000.0},    {"1E-3", 0.001},
        {"2.5e+2", 250.0},  {" 12 ", 12.0},        {"\t7\r\n", 7.0},   {"007", 7.0},
        {"1e-400", 0.0},    /* underflow is a small number, not an error */
        {"-0", 0.0},        {"690015.25", 690015.25},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double v;
        if (parse(cases[i].text, &v) != CR_NUMBER_FINITE || v != cases[i].value)
            fail_msg("'%s': kind %d, value %.17g, expected %.17g", cases[i].text,
                     (int)parse(cases[i].text, &v), v, cases[i].value);
    }
}

static void hexadecimal_and_other_text_is_no_number(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "0x10", "0X10", "0x1p1", "0x1.8p1", "-0x1", "0xAAE65", "1_000", "1,5", "1 000", "12abc",
        "abc", "", "   ", "e5", ".", "-", "+", "1e", "1e+", "--1", "1.2.3", "nan(1)", "infinite",
        "infinityx", "N/A", "0b101", "1d", "1f", "١٢",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        double v;
        cr_number_kind kind = parse(texts[i], &v);
        if (kind != CR_NUMBER_NONE)
            fail_msg("'%s' read as kind %d, value %g", texts[i], (int)kind, v);
        assert_true(v == -12345.0); /* untouched */
    }
    double v;
    assert_int_equal(cr_number_parse(NULL, (size_t)-1, &v), CR_NUMBER_NONE);
}

static void words_and_overflow_are_told_apart(void **state)
{
    (void)state;
    double v;
    static const char *const nans[] = {"nan", "NaN", "NAN", "-nan", " +NaN "};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        assert_int_equal(parse(nans[i], &v), CR_NUMBER_NAN);
        assert_true(isnan(v));
    }
    static const char *const infs[] = {"inf", "INF", "+inf", "Infinity", "infinity"};
    for (size_t i = 0; i < sizeof infs / sizeof infs[0]; i++) {
        assert_int_equal(parse(infs[i], &v), CR_NUMBER_INFINITY);
        assert_true(isinf(v) && v > 0);
    }
    assert_int_equal(parse("-Infinity", &v), CR_NUMBER_INFINITY);
    assert_true(isinf(v) && v < 0);
    assert_int_equal(parse("1e400", &v), CR_NUMBER_OVERFLOW);
    assert_true(isinf(v) && v > 0);
    assert_int_equal(parse("-2e308", &v), CR_NUMBER_OVERFLOW);
    assert_true(isinf(v) && v < 0);
    assert_int_equal(parse("1.7976931348623157e308", &v), CR_NUMBER_FINITE);
    assert_true(v == DBL_MAX);
    /* cr_number_finite() takes finite numbers only. */
    assert_int_equal(cr_number_finite("2.5", &v), 1);
    assert_true(v == 2.5);
    assert_int_equal(cr_number_finite("inf", &v), 0);
    assert_int_equal(cr_number_finite("nan", &v), 0);
    assert_int_equal(cr_number_finite("1e400", &v), 0);
    assert_int_equal(cr_number_finite("0x10", &v), 0);
}

static void a_length_reads_part_of_a_text(void **state)
{
    (void)state;
    double v;
    /* "12" of "12,34": the parser must not read on into what follows. */
    assert_int_equal(cr_number_parse("12,34", 2, &v), CR_NUMBER_FINITE);
    assert_true(v == 12.0);
    assert_int_equal(cr_number_parse("1e5", 1, &v), CR_NUMBER_FINITE);
    assert_true(v == 1.0);
    assert_int_equal(cr_number_parse(" 7 ;", 3, &v), CR_NUMBER_FINITE);
    assert_true(v == 7.0);
    assert_int_equal(cr_number_parse("0x10", 1, &v), CR_NUMBER_FINITE); /* "0" */
    assert_true(v == 0.0);
    assert_int_equal(cr_number_parse("12", 0, &v), CR_NUMBER_NONE);
    assert_int_equal(cr_number_parse("1\0" "2", 3, &v), CR_NUMBER_NONE); /* a NUL inside */
    /* A long number is copied, not cut. */
    char text[400];
    memset(text, '0', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    text[sizeof text - 2] = '5';
    assert_int_equal(cr_number_parse(text, (size_t)-1, &v), CR_NUMBER_FINITE);
    assert_true(v == 5.0);
    text[sizeof text - 12] = '.'; /* 000...0.0000000005 */
    assert_int_equal(cr_number_parse(text, (size_t)-1, &v), CR_NUMBER_FINITE);
    assert_true(v == 5e-10);
}

static void the_decimal_span(void **state)
{
    (void)state;
    assert_int_equal(cr_decimal_span("12.5e3x"), 6);
    assert_int_equal(cr_decimal_span("-.5,"), 3);
    assert_int_equal(cr_decimal_span("1e+x"), 1);
    assert_int_equal(cr_decimal_span("0x10"), 1);
    assert_int_equal(cr_decimal_span("."), 0);
    assert_int_equal(cr_decimal_span("inf"), 0);
    assert_int_equal(cr_decimal_span(""), 0);
}

static void numbers_written_shortest_read_back(void **state)
{
    (void)state;
    char text[32];
    assert_string_equal(cr_number_shortest(0.1, text, sizeof text), "0.1");
    assert_string_equal(cr_number_shortest(2.0, text, sizeof text), "2");
    assert_string_equal(cr_number_shortest(-1.25, text, sizeof text), "-1.25");
    assert_string_equal(cr_number_shortest(1.0 / 3.0, text, sizeof text), "0.3333333333333333");
    assert_string_equal(cr_number_shortest(1e308, text, sizeof text), "1e+308");
    assert_string_equal(cr_number_shortest(INFINITY, text, sizeof text), "inf");
    assert_string_equal(cr_number_shortest(-INFINITY, text, sizeof text), "-inf");
    assert_string_equal(cr_number_shortest(NAN, text, sizeof text), "nan");
    /* 17 digits where nothing shorter reads back: the largest double, the smallest one */
    const double hard[] = {0.1 + 0.2, 1.7976931348623157e308, 4.9406564584124654e-324, 123456.789};
    for (size_t i = 0; i < sizeof hard / sizeof *hard; i++) {
        double back;
        assert_true(cr_number_finite(cr_number_shortest(hard[i], text, sizeof text), &back));
        assert_true(back == hard[i]);
    }
    assert_string_equal(cr_number_shortest(0.1 + 0.2, text, sizeof text), "0.30000000000000004");
}

static void fixed_numbers_stay_readable(void **state)
{
    (void)state;
    char text[32];
    assert_string_equal(cr_number_fixed(0.56, 3, text, sizeof text), "0.560");
    assert_string_equal(cr_number_fixed(-2.0, 2, text, sizeof text), "-2.00");
    assert_string_equal(cr_number_fixed(9999999.0, 1, text, sizeof text), "9999999.0");
    assert_string_equal(cr_number_fixed(1e7, 3, text, sizeof text), "10000000");
    assert_string_equal(cr_number_fixed(1.5e30, 3, text, sizeof text), "1.5e+30");
    assert_string_equal(cr_number_fixed(3.4028234663852886e38, 3, text, sizeof text), "3.402823466e+38");
    assert_string_equal(cr_number_fixed(NAN, 3, text, sizeof text), "nan");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decimal_numbers_are_read),
        cmocka_unit_test(hexadecimal_and_other_text_is_no_number),
        cmocka_unit_test(words_and_overflow_are_told_apart),
        cmocka_unit_test(a_length_reads_part_of_a_text),
        cmocka_unit_test(the_decimal_span),
        cmocka_unit_test(numbers_written_shortest_read_back),
        cmocka_unit_test(fixed_numbers_stay_readable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
