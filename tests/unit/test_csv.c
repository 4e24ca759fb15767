/* test_csv.c: CSV records and their line numbers; coordinate columns by name and HXL. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/vector.h"
#include "csv.h"

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *path = malloc(512);
    snprintf(path, 512, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    fputs(text, fp);
    fclose(fp);
    return path;
}

static void records_keep_quotes_newlines_and_line_numbers(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *path = write_file(dir, "a.csv",
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
    char *semi = write_file(dir, "s.csv", "a;b;\"c,d\"\n1,5;2;3\n");
    char *open = write_file(dir, "o.csv", "a,b\n1,\"never closed\n");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(records_keep_quotes_newlines_and_line_numbers),
        cmocka_unit_test(delimiter_is_sniffed_and_open_quote_is_an_error),
        cmocka_unit_test(coordinates_are_found_by_name),
        cmocka_unit_test(coordinates_are_found_by_hxl_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
