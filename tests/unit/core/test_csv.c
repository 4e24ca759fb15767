/* test_csv.c: CSV records and their line numbers; coordinate columns by name and HXL. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/vector.h"
#include "core/csv.h"

static void records_keep_quotes_newlines_and_line_numbers(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *path = tu_write_file(dir, "a.csv",
                            "\xEF\xBB\xBF" "name,lat,lon\r\n"
                            "\"Praia, Nova\",-19.8,34.8\r\n"
                            "\"two\nlines\",\"-19.9\",34.9\r\n"
                            "\r\n"
                            "\"say \"\"hi\"\"\",1,2");
    cr_ctx *ctx = cr_ctx_new();
    cr_csv *csv = NULL;
    assert_int_equal(cr_csv_open(ctx, path, &csv), CR_OK);
    assert_int_equal(cr_csv_delimiter(csv), ',');
    cr_csv_record r;
    assert_int_equal(cr_csv_next(ctx, csv, &r), CR_OK);
    assert_int_equal(r.count, 3);
    assert_string_equal(r.fields[0], "name"); /* the byte-order mark is gone */
    assert_int_equal(r.line, 1);
    assert_int_equal(cr_csv_next(ctx, csv, &r), CR_OK);
    assert_string_equal(r.fields[0], "Praia, Nova");
    assert_string_equal(r.fields[2], "34.8"); /* no stray \r */
    assert_int_equal(r.line, 2);
    assert_int_equal(cr_csv_next(ctx, csv, &r), CR_OK);
    assert_string_equal(r.fields[0], "two\nlines");
    assert_string_equal(r.fields[1], "-19.9");
    assert_int_equal(r.line, 3);
    assert_int_equal(cr_csv_next(ctx, csv, &r), CR_OK); /* the blank line */
    assert_int_equal(r.count, 1);
    assert_string_equal(r.fields[0], "");
    assert_int_equal(r.line, 5);
    assert_int_equal(cr_csv_next(ctx, csv, &r), CR_OK);
    assert_string_equal(r.fields[0], "say \"hi\"");
    assert_int_equal(r.line, 6);
    assert_int_equal(cr_csv_next(ctx, csv, &r), CR_OK);
    assert_null(r.fields);
    cr_csv_close(csv);
    free(path);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

static void delimiter_is_sniffed_and_open_quote_is_an_error(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *semi = tu_write_file(dir, "s.csv", "a;b;\"c,d\"\n1,5;2;3\n");
    char *open = tu_write_file(dir, "o.csv", "a,b\n1,\"never closed\n");
    cr_ctx *ctx = cr_ctx_new();
    cr_csv *csv = NULL;
    cr_csv_record r;
    assert_int_equal(cr_csv_open(ctx, semi, &csv), CR_OK);
    assert_int_equal(cr_csv_delimiter(csv), ';');
    cr_csv_next(ctx, csv, &r);
    assert_int_equal(cr_csv_next(ctx, csv, &r), CR_OK);
    assert_int_equal(r.count, 3);
    assert_string_equal(r.fields[0], "1,5");
    cr_csv_close(csv);
    assert_int_equal(cr_csv_open(ctx, open, &csv), CR_OK);
    cr_csv_next(ctx, csv, &r);
    assert_int_equal(cr_csv_next(ctx, csv, &r), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "line 2"));
    assert_non_null(strstr(cr_ctx_error(ctx), open));
    cr_csv_close(csv);
    free(semi);
    free(open);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

static void coordinates_are_found_by_name(void **state)
{
    (void)state;
    cr_csv_columns c;
    const char *a[] = {"date", "Latitude ", "LONGITUDE", "count"};
    cr_csv_find_coordinates(a, 4, NULL, 0, &c);
    assert_int_equal(c.x, 2);
    assert_int_equal(c.y, 1);
    assert_int_equal(c.hxl, 0);
    const char *b[] = {"x", "y"};
    cr_csv_find_coordinates(b, 2, NULL, 0, &c);
    assert_int_equal(c.x, 0);
    assert_int_equal(c.y, 1);
    const char *k[] = {"_gps_latitude", "_gps_longitude"};
    cr_csv_find_coordinates(k, 2, NULL, 0, &c);
    assert_int_equal(c.x, 1);
    assert_int_equal(c.y, 0);
    const char *none[] = {"site", "count"};
    cr_csv_find_coordinates(none, 2, NULL, 0, &c);
    assert_int_equal(c.x, -1);
    assert_int_equal(c.y, -1);
}

static void coordinates_are_found_by_hxl_tags(void **state)
{
    (void)state;
    const char *header[] = {"Site", "Coord A", "Coord B"};
    const char *tags[] = {"#loc +name", "#geo +lat", "#geo+LON"};
    assert_true(cr_csv_is_hxl_row(tags, 3));
    const char *not_tags[] = {"#1", "2"};
    assert_false(cr_csv_is_hxl_row(not_tags, 2));
    const char *blank[] = {"", " "};
    assert_false(cr_csv_is_hxl_row(blank, 2));
    cr_csv_columns c;
    cr_csv_find_coordinates(header, 3, tags, 3, &c);
    assert_int_equal(c.x, 2);
    assert_int_equal(c.y, 1);
    assert_int_equal(c.hxl, 1);
    const char *geo_other[] = {"#geo+lateral", "#geo+lon"};
    cr_csv_find_coordinates(header, 2, geo_other, 2, &c);
    assert_int_equal(c.y, -1); /* "+lateral" is not "+lat"; names do not match either */
}

/* A CSV file in its own temporary folder, opened with its header read. */
typedef struct table {
    char *dir, *path;
    cr_ctx *ctx;
    cr_csv *csv;
    cr_csv_header head;
} table;

/* Writes text to a new file and opens it. */
static void table_start(table *t, const char *text)
{
    t->dir = tu_mkdtemp();
    t->path = tu_write_file(t->dir, "t.csv", text);
    t->ctx = cr_ctx_new();
    assert_int_equal(cr_csv_open(t->ctx, t->path, &t->csv), CR_OK);
}

/* Writes text to a new file, opens it and reads its header; returns the status of
 * cr_csv_read_header(). */
static cr_status table_open(table *t, const char *text)
{
    table_start(t, text);
    return cr_csv_read_header(t->ctx, t->csv, &t->head);
}

static void table_close(table *t)
{
    cr_csv_header_clear(&t->head);
    cr_csv_close(t->csv);
    cr_ctx_free(t->ctx);
    free(t->path);
    tu_rmdir(t->dir);
}

/* Expects the next data record to start on line and hold the NULL-ended fields. */
static void expect_record(table *t, long line, ...)
{
    cr_csv_record r;
    assert_int_equal(cr_csv_next_data(t->ctx, t->csv, &r), CR_OK);
    assert_non_null(r.fields);
    assert_int_equal(r.line, line);
    va_list ap;
    va_start(ap, line);
    int n = 0;
    for (const char *want; (want = va_arg(ap, const char *)) != NULL; n++) {
        assert_true(n < r.count);
        assert_string_equal(r.fields[n], want);
    }
    va_end(ap);
    assert_int_equal(r.count, n);
}

/* Expects a header of count names and tag_count tags (0: no HXL row, tags NULL). */
static void expect_head(const cr_csv_header *h, int count, int tag_count)
{
    assert_int_equal(h->count, count);
    assert_int_equal(h->tag_count, tag_count);
    assert_int_equal(h->names != NULL, count > 0);
    assert_int_equal(h->tags != NULL, tag_count > 0);
}

static void expect_end(table *t)
{
    cr_csv_record r;
    assert_int_equal(cr_csv_next_data(t->ctx, t->csv, &r), CR_OK);
    assert_null(r.fields);
}

static void header_only_files_have_no_records(void **state)
{
    (void)state;
    static const char *const texts[] = {"name,lat,lon\n", "name,lat,lon", "name,lat,lon\n\n\r\n"};
    for (size_t i = 0; i < 3; i++) {
        table t = {0};
        assert_int_equal(table_open(&t, texts[i]), CR_OK);
        expect_head(&t.head, 3, 0);
        assert_string_equal(t.head.names[0], "name");
        assert_string_equal(t.head.names[2], "lon");
        expect_end(&t);
        table_close(&t);
    }
}

static void files_without_a_header_line_fail(void **state)
{
    (void)state;
    static const char *const texts[] = {"\n", "\r\n\n\r\n"};
    for (size_t i = 0; i < 2; i++) {
        table t = {0};
        assert_int_equal(table_open(&t, texts[i]), CR_E_DATA);
        assert_non_null(strstr(cr_ctx_error(t.ctx), "no header"));
        assert_non_null(strstr(cr_ctx_error(t.ctx), t.path));
        expect_head(&t.head, 0, 0);
        table_close(&t);
    }
    /* An empty file is refused when opened. */
    char *dir = tu_mkdtemp();
    char *path = tu_write_file(dir, "empty.csv", "");
    cr_ctx *ctx = cr_ctx_new();
    cr_csv *csv = (cr_csv *)&csv; /* anything but NULL: a failure must clear it */
    assert_int_equal(cr_csv_open(ctx, path, &csv), CR_E_DATA);
    assert_null(csv);
    assert_non_null(strstr(cr_ctx_error(ctx), "empty"));
    cr_ctx_free(ctx);
    free(path);
    tu_rmdir(dir);
}

static void an_hxl_row_after_the_header_gives_the_tags(void **state)
{
    (void)state;
    table t = {0};
    assert_int_equal(table_open(&t, "Site,Coord A,Coord B\n"
                                    "#loc+name,#geo+lat,#geo+lon\n"
                                    "Beira,-19.8,34.8\n"),
                     CR_OK);
    expect_head(&t.head, 3, 3);
    assert_string_equal(t.head.tags[1], "#geo+lat");
    expect_record(&t, 3, "Beira", "-19.8", "34.8", NULL);
    expect_end(&t);
    table_close(&t);
}

static void a_second_row_that_is_not_hxl_is_the_first_record(void **state)
{
    (void)state;
    table t = {0};
    assert_int_equal(table_open(&t, "name,lat\nA,1\nB,2\n"), CR_OK);
    expect_head(&t.head, 2, 0);
    expect_record(&t, 2, "A", "1", NULL);
    expect_record(&t, 3, "B", "2", NULL);
    expect_end(&t);
    table_close(&t);
    /* A row with a tag-like field among others is data too, read back by
     * cr_csv_next() as well; so is a last line without a line end. */
    assert_int_equal(table_open(&t, "name,n\n#1,2"), CR_OK);
    expect_head(&t.head, 2, 0);
    cr_csv_record r;
    assert_int_equal(cr_csv_next(t.ctx, t.csv, &r), CR_OK);
    assert_int_equal(r.line, 2);
    assert_int_equal(r.count, 2);
    assert_string_equal(r.fields[0], "#1");
    assert_string_equal(r.fields[1], "2");
    expect_end(&t);
    table_close(&t);
}

static void blank_lines_are_skipped_before_the_header_and_between_rows(void **state)
{
    (void)state;
    table t = {0};
    assert_int_equal(table_open(&t, "\n\r\nname,lat\n\n#a,#b\n\nA,1\n\n\nB,2\n\n"), CR_OK);
    expect_head(&t.head, 2, 2);
    assert_string_equal(t.head.names[0], "name");
    assert_string_equal(t.head.tags[1], "#b");
    expect_record(&t, 7, "A", "1", NULL);
    expect_record(&t, 10, "B", "2", NULL);
    expect_end(&t);
    table_close(&t);
    /* Without an HXL row, the replayed record keeps its own line. */
    assert_int_equal(table_open(&t, "\n\nname,lat\n\n\nA,1\n"), CR_OK);
    expect_head(&t.head, 2, 0);
    expect_record(&t, 6, "A", "1", NULL);
    expect_end(&t);
    table_close(&t);
}

static void headers_and_records_drop_crlf_line_ends(void **state)
{
    (void)state;
    table t = {0};
    assert_int_equal(table_open(&t, "name,lat\r\n\r\nA,1\r\nB,2\r\n"), CR_OK);
    assert_string_equal(t.head.names[1], "lat");
    expect_record(&t, 3, "A", "1", NULL);
    expect_record(&t, 4, "B", "2", NULL);
    expect_end(&t);
    table_close(&t);
    assert_int_equal(table_open(&t, "name,lat\r\n#x,#y\r\nA,1\r\n"), CR_OK);
    assert_string_equal(t.head.tags[1], "#y");
    assert_int_equal(cr_csv_header_find(&t.head, "#y"), 1);
    expect_record(&t, 3, "A", "1", NULL);
    table_close(&t);
}

/* The delimiter comes from the header line, which cr_csv_read_header() finds after
 * blank lines: "\n\nname;lat;lon" is three columns split by ';'. */
static void the_delimiter_is_sniffed_from_the_header_after_blank_lines(void **state)
{
    (void)state;
    table t = {0};
    cr_status st = table_open(&t, "\n\nname;lat;lon\nA;1;2\n");
    char delimiter = cr_csv_delimiter(t.csv);
    int count = t.head.count;
    table_close(&t); /* before the asserts, so that a failure leaks nothing */
    assert_int_equal(st, CR_OK);
    assert_int_equal(delimiter, ';');
    assert_int_equal(count, 3);
}

static void header_find_ignores_case_and_blanks_and_looks_up_tags(void **state)
{
    (void)state;
    table t = {0};
    assert_int_equal(table_open(&t, " Site ,LATITUDE,\tlon,Coord A\nA,1,2,3\n"), CR_OK);
    assert_int_equal(cr_csv_header_find(&t.head, "site"), 0);
    assert_int_equal(cr_csv_header_find(&t.head, "Latitude"), 1);
    assert_int_equal(cr_csv_header_find(&t.head, "LON"), 2);
    assert_int_equal(cr_csv_header_find(&t.head, "coord a"), 3);
    assert_int_equal(cr_csv_header_find(&t.head, "lat"), -1);
    assert_int_equal(cr_csv_header_find(&t.head, "longitude"), -1);
    assert_int_equal(cr_csv_header_find(&t.head, "#geo+lat"), -1); /* no HXL row */
    table_close(&t);
    assert_int_equal(table_open(&t, "Site,Coord A,Coord B\n #GEO+Lat ,,#geo+lon\nA,1,2\n"),
                     CR_OK);
    assert_int_equal(cr_csv_header_find(&t.head, "#geo+lat"), 0);
    assert_int_equal(cr_csv_header_find(&t.head, "#GEO+LON"), 2);
    assert_int_equal(cr_csv_header_find(&t.head, "#geo"), 0); /* HXL: #geo matches #geo+lat */
    assert_int_equal(cr_csv_header_find(&t.head, "#loc+name"), -1);
    assert_int_equal(cr_csv_header_find(&t.head, "coord b"), 2); /* names still work */
    expect_record(&t, 3, "A", "1", "2", NULL);
    table_close(&t);
}

/* HXL tag patterns (hxlstandard.org, "tag patterns"): a pattern's +attributes must all be
 * on the tag, its -attributes none of them; case, blanks and order do not matter. */
static void hxl_patterns_match_tags_with_more_attributes(void **state)
{
    (void)state;
    static const struct {
        const char *pattern, *tag;
        int match, same;
    } cases[] = {
        {"#date", "#date+reported", 1, 0},
        {"#date+reported", "#date+reported", 1, 1},
        {"#date+reported", "#date", 0, 0},
        {"#affected+idps", "#affected+idps+ind", 1, 0},
        {"#affected+idps", "#affected+ind+idps", 1, 0},
        {"#affected+ind+idps", "#affected+idps+ind", 1, 1},
        {"#affected+idps", "#affected+refugees+ind", 0, 0},
        {"#affected-refugees", "#affected+idps+ind", 1, 0},
        {"#affected-refugees", "#affected+refugees", 0, 0},
        {"#ADM2 + Code", "#adm2+code", 1, 1},
        {"#adm2+code", " #Adm2+CODE+v_pcode ", 1, 0},
        {"#adm2", "#adm1+code", 0, 0},
        {"#adm", "#adm2+code", 0, 0}, /* hashtags are whole words */
        {"#date", "date", 0, 0},
        {"date", "#date", 0, 0},
        {"#", "#date", 0, 0},
        {"#date+", "#date", 0, 0}, /* an empty attribute is on no tag */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (cr_hxl_match(cases[i].pattern, cases[i].tag) != cases[i].match)
            fail_msg("'%s' against '%s': expected match %d", cases[i].pattern, cases[i].tag,
                     cases[i].match);
        if (cr_hxl_same(cases[i].pattern, cases[i].tag) != cases[i].same)
            fail_msg("'%s' against '%s': expected same %d", cases[i].pattern, cases[i].tag,
                     cases[i].same);
    }
}

/* Expects cr_csv_header_column() to give status and, when CR_OK, column; returns the
 * context's message. */
static const char *expect_column(table *t, const char *name, cr_status status, int column)
{
    int got = -1;
    assert_int_equal(cr_csv_header_column(t->ctx, &t->head, "t.csv", "--count-field", name, &got),
                     status);
    if (status == CR_OK)
        assert_int_equal(got, column);
    return cr_ctx_error(t->ctx);
}

/* A pattern matching several columns takes the exact one, or fails naming the candidates;
 * a column that is not there fails listing names and tags. */
static void header_column_resolves_patterns_or_names_candidates(void **state)
{
    (void)state;
    table t = {0};
    assert_int_equal(table_open(&t, "when,where,idps,refugees,idps_total\n#date+reported,"
                                    "#adm2+code,#affected+idps+ind,#affected+refugees+ind,"
                                    "#affected+idps\n"), CR_OK);
    expect_column(&t, "#date", CR_OK, 0);
    expect_column(&t, "#adm2+code", CR_OK, 1);
    /* #affected+idps matches the third and fifth columns; the fifth is the pattern exactly */
    expect_column(&t, "#affected+idps", CR_OK, 4);
    expect_column(&t, "#affected+ind+idps", CR_OK, 2);
    expect_column(&t, "IDPS", CR_OK, 2);
    /* #affected matches three columns, none exactly */
    const char *e = expect_column(&t, "#affected", CR_E_DATA, -1);
    assert_non_null(strstr(e, "matches several columns"));
    assert_non_null(strstr(e, "3 idps (#affected+idps+ind)"));
    assert_non_null(strstr(e, "4 refugees (#affected+refugees+ind)"));
    /* Nothing matches: the message lists names with their tags. */
    e = expect_column(&t, "#population", CR_E_USAGE, -1);
    assert_non_null(strstr(e, "when (#date+reported), where (#adm2+code), idps (#affected+idps+ind)"));
    table_close(&t);
}

static void header_clear_frees_and_zeroes(void **state)
{
    (void)state;
    table t = {0};
    assert_int_equal(table_open(&t, "a,b\n#x,#y\n"), CR_OK);
    expect_head(&t.head, 2, 2);
    cr_csv_header_clear(&t.head);
    expect_head(&t.head, 0, 0);
    assert_int_equal(cr_csv_header_find(&t.head, "a"), -1);
    cr_csv_header_clear(&t.head); /* again: nothing left to free */
    table_close(&t);
}

static void utf8_is_checked_by_rfc_3629(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t at; /* of the first invalid byte, or the length */
    } cases[] = {
        {"", 0},
        {"Beira", 5},
        {"Cit\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8C\x8A", 14}, /* 2-, 3- and 4-byte forms */
        {"Cit\xE9 3", 3},               /* Latin-1 */
        {"ab\xC3", 2},                   /* cut short */
        {"\x80", 0},                     /* a continuation byte first */
        {"\xC0\xAF", 0},                 /* overlong '/' */
        {"\xE0\x80\xAF", 0},             /* overlong, three bytes */
        {"\xED\xA0\x80", 0},             /* a UTF-16 surrogate */
        {"\xF4\x90\x80\x80", 0},         /* beyond U+10FFFF */
        {"\xF5\x80\x80\x80", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(cr_utf8_invalid_at(cases[i].text), cases[i].at);
}

static void header_names_must_be_utf8_and_duplicates_are_found(void **state)
{
    (void)state;
    table t = {0};
    assert_int_equal(table_open(&t, "\nsite,Cit\xE9,n\n"), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(t.ctx), "line 2, column 2: the name is not UTF-8"));
    table_close(&t);
    assert_int_equal(table_open(&t, "n,lat, N ,lon\n1,2,3,4\n"), CR_OK);
    assert_int_equal(t.head.line, 1);
    assert_int_equal(cr_csv_header_find_from(&t.head, "n", 0), 0);
    assert_int_equal(cr_csv_header_find_from(&t.head, "n", 1), 2);
    assert_int_equal(cr_csv_header_find_from(&t.head, "n", 3), -1);
    table_close(&t);
}

static void progress_goes_from_zero_to_one(void **state)
{
    (void)state;
    static const char *const texts[] = {"name,lat\nA,1\nB,2\n", "name,lat\r\n\r\nA,1\r\nB,2"};
    for (size_t i = 0; i < 2; i++) {
        table t = {0};
        table_start(&t, texts[i]);
        assert_float_equal(cr_csv_progress(t.csv), 0.0, 0.0);
        assert_int_equal(cr_csv_read_header(t.ctx, t.csv, &t.head), CR_OK);
        double last = cr_csv_progress(t.csv);
        assert_true(last > 0.0 && last < 1.0);
        cr_csv_record r;
        do {
            assert_int_equal(cr_csv_next_data(t.ctx, t.csv, &r), CR_OK);
            double now = cr_csv_progress(t.csv);
            assert_true(now >= last && now <= 1.0);
            last = now;
        } while (r.fields);
        assert_float_equal(last, 1.0, 0.0);
        table_close(&t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(records_keep_quotes_newlines_and_line_numbers),
        cmocka_unit_test(delimiter_is_sniffed_and_open_quote_is_an_error),
        cmocka_unit_test(coordinates_are_found_by_name),
        cmocka_unit_test(coordinates_are_found_by_hxl_tags),
        cmocka_unit_test(header_only_files_have_no_records),
        cmocka_unit_test(files_without_a_header_line_fail),
        cmocka_unit_test(an_hxl_row_after_the_header_gives_the_tags),
        cmocka_unit_test(a_second_row_that_is_not_hxl_is_the_first_record),
        cmocka_unit_test(blank_lines_are_skipped_before_the_header_and_between_rows),
        cmocka_unit_test(headers_and_records_drop_crlf_line_ends),
        cmocka_unit_test(the_delimiter_is_sniffed_from_the_header_after_blank_lines),
        cmocka_unit_test(header_find_ignores_case_and_blanks_and_looks_up_tags),
        cmocka_unit_test(hxl_patterns_match_tags_with_more_attributes),
        cmocka_unit_test(header_column_resolves_patterns_or_names_candidates),
        cmocka_unit_test(header_clear_frees_and_zeroes),
        cmocka_unit_test(utf8_is_checked_by_rfc_3629),
        cmocka_unit_test(header_names_must_be_utf8_and_duplicates_are_found),
        cmocka_unit_test(progress_goes_from_zero_to_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
