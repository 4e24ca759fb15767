/* test_isodate.c: ISO 8601 dates of arrival records: days since the epoch, the forms
 * accepted and rejected, times and zones, formatting, and date windows. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "arrivals/isodate.h"

/* Days since 1970-01-01 of the dates the tests use, counted by hand:
 * 2000-01-01 is 30 * 365 + 7 leap days (1972 .. 1996); 2024-01-01 is 54 * 365 + 13. */
enum {
    D_1969_12_31 = -1,
    D_2000_01_01 = 10957,
    D_2000_02_29 = D_2000_01_01 + 31 + 28,
    D_2000_03_01 = 11017,
    D_2024_01_01 = 19723,
    D_2024_02_29 = D_2024_01_01 + 31 + 28,
    D_2024_03_01 = D_2024_02_29 + 1,
    D_2024_03_31 = D_2024_03_01 + 30,
    /* 1969 years back with 492 - 19 + 4 = 477 leap days; 8030 years on with
     * 2424 - 477 = 1947 leap days, less the one day to 9999-12-31. */
    D_0001_01_01 = -(1969 * 365 + 477),
    D_9999_12_31 = 8030 * 365 + 1947 - 1
};

/* Parses text, failing the test (naming text) when it is rejected. */
static cr_date parse(const char *text)
{
    cr_date d = {0, 0, 0};
    if (!cr_date_parse(text, &d))
        fail_msg("'%s' was rejected", text);
    return d;
}

static void expect_parsed(const char *text, int32_t day, int32_t second)
{
    cr_date d = parse(text);
    if (d.day != day || d.second != second)
        fail_msg("'%s': day %d second %d, expected day %d second %d", text, (int)d.day,
                 (int)d.second, (int)day, (int)second);
}

static void expect_rejected(const char *text)
{
    cr_date d;
    if (cr_date_parse(text, &d))
        fail_msg("'%s' was accepted (day %d, second %d)", text, (int)d.day, (int)d.second);
}

static void dates_count_days_since_the_epoch(void **state)
{
    (void)state;
    expect_parsed("1970-01-01", 0, -1);
    expect_parsed("1970-01-02", 1, -1);
    expect_parsed("1969-12-31", D_1969_12_31, -1);
    expect_parsed("2000-01-01", D_2000_01_01, -1);
    expect_parsed("2000-03-01", D_2000_03_01, -1);
    expect_parsed("2000-02-29", D_2000_02_29, -1); /* divisible by 400: a leap year */
    expect_parsed("2024-01-01", D_2024_01_01, -1);
    expect_parsed("2024-02-29", D_2024_02_29, -1);
    expect_parsed("2024-03-01", D_2024_03_01, -1);
    expect_parsed("2024-12-31", D_2024_01_01 + 365, -1);
    expect_parsed("0001-01-01", D_0001_01_01, -1);
    expect_parsed("9999-12-31", D_9999_12_31, -1);
}

static void days_that_do_not_exist_are_rejected(void **state)
{
    (void)state;
    expect_rejected("2023-02-29");
    expect_rejected("1900-02-29"); /* divisible by 100, not by 400 */
    expect_rejected("2100-02-29");
    expect_rejected("2024-02-30");
    expect_rejected("2024-04-31");
    expect_rejected("2024-01-32");
    expect_rejected("2024-01-00");
    expect_rejected("2024-00-10");
    expect_rejected("2024-13-01");
    expect_rejected("0000-01-01");
}

static void other_forms_are_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "   ", "2024-1-01", "2024-01-1", "24-01-01", "2024/01/01", "20240101",
        "+2024-01-01", "2024-01-01x", "2024-01-01 x", "x2024-01-01",
        "2024-01-01T", "2024-01-01T10", "2024-01-01T10:", "2024-01-01T10:0",
        "2024-01-01T1:00", "2024-01-01T25:00", "2024-01-01T24:00", "2024-01-01T10:60",
        "2024-01-01T10:00:61", "2024-01-01T10:00:5", "2024-01-01T10:00:00.",
        "2024-01-01T10:00Zx", "2024-01-01T10:00+24", "2024-01-01T10:00+05:60",
        "2024-01-01T10:00+5", "2024-01-01T10:00+053", "2024-01-01T10:00+05:3",
        "2024-01-01T10:00 +05", "2024-01-01Z", "2024-01-01+05", "2024-01-01  10:00",
        "2024-01-01T10:00:00:00", "2024-01-01T10:00:00.5.5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_rejected(bad[i]);
}

/* ISO 8601 reduced precision: a month or a year is the period of its days, counted by
 * hand (2024 is a leap year: 366 days; June has 30). */
static void months_and_years_are_periods_of_days(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int32_t first, last;
    } cases[] = {
        {"2024-06", D_2024_01_01 + 152, D_2024_01_01 + 152 + 29}, /* Jan-May: 31+29+31+30+31 */
        {"2024-02", D_2024_01_01 + 31, D_2024_02_29},
        {"2023-02", D_2024_01_01 - 365 + 31, D_2024_01_01 - 365 + 31 + 27},
        {"2024-12", D_2024_01_01 + 335, D_2024_01_01 + 365},
        {"2024", D_2024_01_01, D_2024_01_01 + 365},
        {"2000", D_2000_01_01, D_2000_01_01 + 365},
        {" 2024-06 ", D_2024_01_01 + 152, D_2024_01_01 + 181},
        {"0001", D_0001_01_01, D_0001_01_01 + 364},
        {"9999-12", D_9999_12_31 - 30, D_9999_12_31},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cr_date d = parse(cases[i].text);
        if (d.day != cases[i].first || d.last != cases[i].last || d.second != -1)
            fail_msg("'%s': days %d..%d second %d, expected %d..%d", cases[i].text, (int)d.day,
                     (int)d.last, (int)d.second, (int)cases[i].first, (int)cases[i].last);
    }
    /* A full date is a period of one day. */
    cr_date d = parse("2024-06-15T10:00");
    assert_int_equal(d.day, d.last);
    static const char *const bad[] = {"2024-00", "2024-13", "2024-6", "2024-006", "0000",
                                      "2024-06T10:00", "2024-06 10:00", "2024-06-", "202406",
                                      "2024-06Z", "2024-W01", "2024-"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_rejected(bad[i]);
}

static void times_give_seconds_of_the_day_and_zones_are_not_applied(void **state)
{
    (void)state;
    /* The zone is checked, not applied: the day and time stay as written. */
    static const struct {
        const char *text;
        int32_t second;
    } cases[] = {
        {"2024-01-01T00:00", 0},           {"2024-01-01T10:30", 37800},
        {"2024-01-01 10:30", 37800},       {"2024-01-01t10:30", 37800},
        {"2024-01-01T10:30:15", 37815},    {"2024-01-01T10:30:15.250", 37815},
        {"2024-01-01T10:30:15,5", 37815},  {"2024-01-01T23:59:59", 86399},
        {"2024-01-01T23:59:60", 86399},    /* a leap second */
        {"2024-01-01T10:30Z", 37800},      {"2024-01-01T10:30z", 37800},
        {"2024-01-01T23:30:00+05", 84600}, {"2024-01-01T00:30:00-08:00", 1800},
        {"2024-01-01T10:30-23:59", 37800}, {"2024-01-01T10:30:15.5+0530", 37815},
        {"  2024-01-01  ", -1},            {"\t2024-01-01T10:30Z\r\n", 37800},
        {"2024-01-01 ", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_parsed(cases[i].text, D_2024_01_01, cases[i].second);
}

/* "+05:" is none of the zone forms (Z, +hh, +hh:mm, +hhmm): a colon needs minutes. */
static void zone_with_a_colon_needs_its_minutes(void **state)
{
    (void)state;
    expect_rejected("2024-01-01T10:00+05:");
    expect_rejected("2024-01-01T10:00-05: ");
}

static void dates_are_made_from_checked_parts(void **state)
{
    (void)state;
    cr_date d;
    assert_true(cr_date_from_parts(2000, 3, 1, -1, &d));
    assert_int_equal(d.day, D_2000_03_01);
    assert_int_equal(d.second, -1);
    assert_true(cr_date_from_parts(2024, 2, 29, 86399, &d));
    assert_int_equal(d.day, D_2024_02_29);
    assert_int_equal(d.second, 86399);
    assert_true(cr_date_from_parts(1, 1, 1, 0, &d));
    assert_int_equal(d.day, D_0001_01_01);
    assert_true(cr_date_from_parts(9999, 12, 31, -1, &d));
    assert_int_equal(d.day, D_9999_12_31);
    assert_false(cr_date_from_parts(2023, 2, 29, -1, &d));
    assert_false(cr_date_from_parts(1900, 2, 29, -1, &d));
    assert_false(cr_date_from_parts(0, 1, 1, -1, &d));
    assert_false(cr_date_from_parts(10000, 1, 1, -1, &d));
    assert_false(cr_date_from_parts(2024, 0, 1, -1, &d));
    assert_false(cr_date_from_parts(2024, 13, 1, -1, &d));
    assert_false(cr_date_from_parts(2024, 1, 0, -1, &d));
    assert_false(cr_date_from_parts(2024, 6, 31, -1, &d));
    assert_false(cr_date_from_parts(2024, 1, 1, 86400, &d));
    assert_false(cr_date_from_parts(2024, 1, 1, -2, &d));
}

static void expect_formatted(int32_t day, const char *want)
{
    char out[11];
    memset(out, 'x', sizeof out);
    cr_date_format(day, out);
    assert_string_equal(out, want);
}

static void format_writes_the_date_and_round_trips(void **state)
{
    (void)state;
    expect_formatted(0, "1970-01-01");
    expect_formatted(D_1969_12_31, "1969-12-31");
    expect_formatted(D_2000_02_29, "2000-02-29");
    expect_formatted(D_2000_03_01, "2000-03-01");
    expect_formatted(D_2024_02_29, "2024-02-29");
    expect_formatted(D_0001_01_01, "0001-01-01");
    expect_formatted(D_9999_12_31, "9999-12-31");
    /* Every day of the range: formatted and parsed back, one day after another. */
    char text[11], previous[11] = "";
    for (int32_t day = D_0001_01_01; day <= D_9999_12_31; day++) {
        cr_date_format(day, text);
        cr_date d;
        if (!cr_date_parse(text, &d) || d.day != day || d.second != -1)
            fail_msg("day %d formats as '%s', which does not parse back", (int)day, text);
        if (strcmp(previous, text) >= 0)
            fail_msg("day %d formats as '%s', not after '%s'", (int)day, text, previous);
        memcpy(previous, text, sizeof text);
    }
}

/* Expects each date of the NULL-ended list inside to lie in [from, to] and each of
 * outside not to; NULL bounds are open. */
static void expect_window(const char *from, const char *to, const char *const *inside,
                          const char *const *outside)
{
    cr_date f = {0, 0, 0}, t = {0, 0, 0};
    if (from)
        f = parse(from);
    if (to)
        t = parse(to);
    for (int want = 1; want >= 0; want--)
        for (const char *const *text = want ? inside : outside; *text; text++) {
            cr_date d = parse(*text);
            if (cr_date_in_window(&d, from ? &f : NULL, to ? &t : NULL) != want)
                fail_msg("'%s' should lie %s [%s, %s]", *text, want ? "in" : "outside",
                         from ? from : "open", to ? to : "open");
        }
}

static void window_bounds_without_time_cover_their_whole_day(void **state)
{
    (void)state;
    expect_window("2024-03-01", "2024-03-31",
                  (const char *const[]){"2024-03-01", "2024-03-31", "2024-03-15T12:00",
                                        "2024-03-01T00:00", "2024-03-31T23:59:59", NULL},
                  (const char *const[]){"2024-02-29T23:59:59", "2024-02-29",
                                        "2024-04-01T00:00", "2024-04-01", NULL});
    /* A one-day window, and an empty one (from after to). */
    expect_window("2024-03-01", "2024-03-01",
                  (const char *const[]){"2024-03-01", "2024-03-01T23:59:59", NULL},
                  (const char *const[]){"2024-02-29", "2024-03-02T00:00", NULL});
    expect_window("2024-03-31", "2024-03-01", (const char *const[]){NULL},
                  (const char *const[]){"2024-03-15", "2024-03-01", "2024-03-31", NULL});
}

static void window_bounds_with_time_are_inclusive(void **state)
{
    (void)state;
    /* A date without a time lies in a window whose bound falls on its day. */
    expect_window("2024-03-01T12:00", "2024-03-31T08:00:00",
                  (const char *const[]){"2024-03-01T12:00:00", "2024-03-31T08:00:00",
                                        "2024-03-01", "2024-03-31", NULL},
                  (const char *const[]){"2024-03-01T11:59:59", "2024-03-31T08:00:01",
                                        "2024-02-29", "2024-04-01", NULL});
}

static void window_bounds_may_be_open(void **state)
{
    (void)state;
    expect_window(NULL, NULL, (const char *const[]){"0001-01-01", "9999-12-31T23:59", NULL},
                  (const char *const[]){NULL});
    expect_window("2024-03-01", NULL,
                  (const char *const[]){"9999-12-31", "2024-03-01T00:00", NULL},
                  (const char *const[]){"2024-02-29T23:59", NULL});
    expect_window(NULL, "2024-03-01",
                  (const char *const[]){"0001-01-01", "2024-03-01T23:59:59", NULL},
                  (const char *const[]){"2024-03-02", NULL});
    expect_window(NULL, "2024-03-01T10:00",
                  (const char *const[]){"2024-03-01T10:00:00", "2024-03-01", NULL},
                  (const char *const[]){"2024-03-01T10:00:01", NULL});
}

/* A month or a year lies in a window when any of its days does; a bound given as a month or
 * a year covers all of it. */
static void periods_match_windows_they_overlap(void **state)
{
    (void)state;
    expect_window("2024-06-15", "2024-07-10",
                  (const char *const[]){"2024-06", "2024-07", "2024", NULL},
                  (const char *const[]){"2024-05", "2024-08", "2023", "2025", NULL});
    /* One day of overlap is enough, at either end. */
    expect_window("2024-06-30", NULL, (const char *const[]){"2024-06", "2024", NULL},
                  (const char *const[]){"2024-05", "2023", NULL});
    expect_window(NULL, "2024-06-01", (const char *const[]){"2024-06", "2024", NULL},
                  (const char *const[]){"2024-07", "2025", NULL});
    /* A bound with a time against a month: the month's days have no time, so its edge day
     * counts. */
    expect_window("2024-06-30T23:00", NULL, (const char *const[]){"2024-06", NULL},
                  (const char *const[]){"2024-05", NULL});
    /* Bounds given as a month and a year cover their whole period. */
    expect_window("2024-06", "2024-06",
                  (const char *const[]){"2024-06-01", "2024-06-30T23:59:59", "2024-06",
                                        "2024", NULL},
                  (const char *const[]){"2024-05-31T23:59", "2024-07-01", "2024-05", NULL});
    expect_window("2023", "2024-02",
                  (const char *const[]){"2023-01-01", "2024-02-29", "2023-07", "2024", NULL},
                  (const char *const[]){"2022-12-31", "2024-03-01", "2022", "2024-03", NULL});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dates_count_days_since_the_epoch),
        cmocka_unit_test(days_that_do_not_exist_are_rejected),
        cmocka_unit_test(other_forms_are_rejected),
        cmocka_unit_test(times_give_seconds_of_the_day_and_zones_are_not_applied),
        cmocka_unit_test(zone_with_a_colon_needs_its_minutes),
        cmocka_unit_test(dates_are_made_from_checked_parts),
        cmocka_unit_test(format_writes_the_date_and_round_trips),
        cmocka_unit_test(window_bounds_without_time_cover_their_whole_day),
        cmocka_unit_test(window_bounds_with_time_are_inclusive),
        cmocka_unit_test(window_bounds_may_be_open),
        cmocka_unit_test(months_and_years_are_periods_of_days),
        cmocka_unit_test(periods_match_windows_they_overlap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
