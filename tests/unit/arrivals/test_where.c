/* test_where.c: the --where filter for CSV records: every operator, numeric and text
 * comparison, SQL NULL logic, LIKE patterns, precedence, names, and parse errors. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrivals/where.h"

/* The columns of most tests. */
static const char *const COLUMNS[] = {"site", "n", "m", "date"};
enum { NCOLUMNS = 4 };

/* Parses expr for columns (failing the test on error) and evaluates it on one record. */
static int eval_with(const char *const *columns, int ncolumns, const char *expr,
                     const char *const *fields, int count)
{
    cr_ctx *ctx = cr_ctx_new();
    cr_where *w = NULL;
    cr_status status = cr_where_parse(ctx, expr, columns, ncolumns, &w);
    if (status != CR_OK)
        fail_msg("'%s' did not parse: %s", expr, cr_ctx_error(ctx));
    int result = cr_where_eval(w, fields, count);
    cr_where_free(w);
    cr_ctx_free(ctx);
    return result;
}

/* expr on the record (site, n, m, date); NULL stands for a missing trailing field. */
static int eval4(const char *expr, const char *site, const char *n, const char *m,
                 const char *date)
{
    const char *fields[] = {site, n, m, date};
    int count = 4;
    while (count > 0 && !fields[count - 1])
        count--;
    return eval_with(COLUMNS, NCOLUMNS, expr, fields, count);
}

/* expr on a record whose n is the given value, the rest fixed. */
static int on_n(const char *expr, const char *n)
{
    return eval4(expr, "Beira", n, "9", "2024-03-01");
}

/* Expects expr to fail with CR_E_USAGE and a message holding each of the (NULL-ended)
 * fragments. */
static void expect_error(const char *expr, ...)
{
    cr_ctx *ctx = cr_ctx_new();
    cr_where *w = (cr_where *)&w; /* anything but NULL: a failure must clear it */
    assert_int_equal(cr_where_parse(ctx, expr, COLUMNS, NCOLUMNS, &w), CR_E_USAGE);
    assert_null(w);
    const char *msg = cr_ctx_error(ctx);
    assert_non_null(strstr(msg, "--where: "));
    va_list ap;
    va_start(ap, expr);
    for (const char *want; (want = va_arg(ap, const char *)) != NULL;)
        if (!strstr(msg, want))
            fail_msg("error for '%s' is \"%s\", which lacks \"%s\"", expr, msg, want);
    va_end(ap);
    cr_ctx_free(ctx);
}

static void comparison_operators_with_numbers(void **state)
{
    (void)state;
    assert_int_equal(on_n("n = 5", "5"), 1);
    assert_int_equal(on_n("n == 5", "5"), 1);
    assert_int_equal(on_n("n = 5", "6"), 0);
    assert_int_equal(on_n("n != 5", "5"), 0);
    assert_int_equal(on_n("n != 5", "6"), 1);
    assert_int_equal(on_n("n <> 4", "5"), 1);
    assert_int_equal(on_n("n <> 5", "5"), 0);
    assert_int_equal(on_n("n < 6", "5"), 1);
    assert_int_equal(on_n("n < 5", "5"), 0);
    assert_int_equal(on_n("n <= 5", "5"), 1);
    assert_int_equal(on_n("n <= 4.99", "5"), 0);
    assert_int_equal(on_n("n > 5", "5"), 0);
    assert_int_equal(on_n("n > 4", "5"), 1);
    assert_int_equal(on_n("n >= 5", "5"), 1);
    assert_int_equal(on_n("n >= 5.01", "5"), 0);
    /* the literal on the left */
    assert_int_equal(on_n("4 < n", "5"), 1);
    assert_int_equal(on_n("6 < n", "5"), 0);
    /* no blanks needed around operators */
    assert_int_equal(on_n("n>=5", "5"), 1);
}

static void numbers_compare_by_value(void **state)
{
    (void)state;
    assert_int_equal(on_n("n = 5", "5.0"), 1);
    assert_int_equal(on_n("n = 5", " 5 "), 1); /* blanks around a value are ignored */
    assert_int_equal(on_n("n = 5e0", "5"), 1);
    assert_int_equal(on_n("n = 500", "5e2"), 1);
    assert_int_equal(on_n("n = +5", "5"), 1);
    assert_int_equal(on_n("n > -1.5", "-1"), 1);
    assert_int_equal(on_n("n < -1.5", "-1"), 0);
    assert_int_equal(on_n("n = .5", "0.5"), 1);
    assert_int_equal(on_n("n > 9", "10"), 1); /* as text "10" < "9" */
    assert_int_equal(on_n("n = 0.1", "0.1"), 1);
}

static void number_literal_against_text_is_null(void **state)
{
    (void)state;
    /* a value that is not a number makes the comparison NULL: neither it nor its NOT */
    assert_int_equal(on_n("n > 3", "abc"), 0);
    assert_int_equal(on_n("NOT n > 3", "abc"), 0);
    assert_int_equal(on_n("n <> 3", "abc"), 0);
    assert_int_equal(on_n("n = 16", "0x10"), 0);
    assert_int_equal(on_n("n > 0", "inf"), 0);
    assert_int_equal(on_n("n <> 0", "nan"), 0);
    assert_int_equal(on_n("n = 5", "5 apples"), 0);
    assert_int_equal(on_n("n = 1", "1e"), 0);
    assert_int_equal(on_n("n > 0", "1e999"), 0); /* not finite */
    /* and the same value compared as text */
    assert_int_equal(on_n("n = 'abc'", "abc"), 1);
}

static void text_comparisons_ignore_ascii_case_like_ogr(void **state)
{
    (void)state;
    assert_int_equal(on_n("site = 'Beira'", "1"), 1);
    assert_int_equal(on_n("site = 'BEIRA'", "1"), 1);
    assert_int_equal(on_n("site <> 'beira'", "1"), 0);
    assert_int_equal(on_n("site = 'Beir'", "1"), 0);
    assert_int_equal(on_n("site < 'c'", "1"), 1);
    assert_int_equal(on_n("site < 'B'", "1"), 0);
    assert_int_equal(on_n("site > 'b'", "1"), 1);
    assert_int_equal(on_n("site >= 'BEIRA'", "1"), 1);
    assert_int_equal(on_n("site <= 'beira'", "1"), 1);
    assert_int_equal(on_n("'Beira' = site", "1"), 1);
    /* a quoted number is text: "5.0" is not "5" */
    assert_int_equal(on_n("n = '5'", "5.0"), 0);
    assert_int_equal(on_n("n = '5'", "5"), 1);
    /* ISO dates compare as text, in order */
    assert_int_equal(eval4("date >= '2024-01-01'", "x", "1", "1", "2024-03-01"), 1);
    assert_int_equal(eval4("date < '2024-03-01'", "x", "1", "1", "2024-03-01"), 0);
    /* a number literal and a quoted number compare as numbers */
    assert_int_equal(on_n("5 = '5.0'", "1"), 1);
}

static void two_columns_compare_as_numbers_when_both_are(void **state)
{
    (void)state;
    assert_int_equal(eval4("n > m", "x", "10", "9", NULL), 1);
    assert_int_equal(eval4("n = m", "x", "10", "1e1", NULL), 1);
    assert_int_equal(eval4("n < m", "x", "10", "9", NULL), 0);
    /* text when either is not a number: "10" < "9x" as text */
    assert_int_equal(eval4("n < m", "x", "10", "9x", NULL), 1);
    assert_int_equal(eval4("site = m", "abc", "1", "ABC", NULL), 1);
    assert_int_equal(eval4("n = m", "x", "", "", NULL), 0); /* NULL = NULL is NULL */
}

static void empty_and_missing_fields_are_null(void **state)
{
    (void)state;
    const char *exprs[] = {"n = 5", "n <> 5", "NOT n = 5", "n < 5", "n = 'x'", "n <> 'x'",
                           "n LIKE '%'", "NOT n LIKE 'x'", "n IN (5, 'x')",
                           "n NOT IN (5, 'x')", "n BETWEEN 0 AND 9", "n NOT BETWEEN 0 AND 9"};
    for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
        /* empty field */
        if (eval4(exprs[i], "x", "", "1", "d") != 0)
            fail_msg("'%s' matched an empty n", exprs[i]);
        /* missing trailing fields: the record has only site */
        if (eval4(exprs[i], "x", NULL, NULL, NULL) != 0)
            fail_msg("'%s' matched a missing n", exprs[i]);
        /* a NULL field pointer */
        const char *fields[] = {"x", NULL, "1", "d"};
        if (eval_with(COLUMNS, NCOLUMNS, exprs[i], fields, 4) != 0)
            fail_msg("'%s' matched a NULL n", exprs[i]);
    }
    assert_int_equal(eval4("n IS NULL", "x", "", "1", "d"), 1);
    assert_int_equal(eval4("n IS NULL", "x", NULL, NULL, NULL), 1);
    assert_int_equal(eval4("date IS NULL", "x", "1", "1", NULL), 1);
    assert_int_equal(eval4("n IS NOT NULL", "x", "", "1", "d"), 0);
    assert_int_equal(eval4("n IS NULL", "x", "0", "1", "d"), 0);
    assert_int_equal(eval4("n IS NOT NULL", "x", " ", "1", "d"), 1); /* a blank is a value */
    assert_int_equal(eval4("NOT n IS NULL", "x", "", "1", "d"), 0);
    /* a record with no fields at all */
    assert_int_equal(eval_with(COLUMNS, NCOLUMNS, "site IS NULL", NULL, 0), 1);
    assert_int_equal(eval_with(COLUMNS, NCOLUMNS, "site = 'x'", NULL, 0), 0);
}

static void null_follows_three_valued_logic(void **state)
{
    (void)state;
    /* n is empty, so "n > 3" is NULL; site is 'Beira' */
    assert_int_equal(on_n("n > 3 OR site = 'Beira'", ""), 1);       /* NULL OR TRUE */
    assert_int_equal(on_n("n > 3 OR site = 'x'", ""), 0);           /* NULL OR FALSE */
    assert_int_equal(on_n("NOT (n > 3 OR site = 'x')", ""), 0);     /* NOT NULL */
    assert_int_equal(on_n("n > 3 AND site = 'x'", ""), 0);          /* NULL AND FALSE */
    assert_int_equal(on_n("NOT (n > 3 AND site = 'x')", ""), 1);    /* NOT FALSE */
    assert_int_equal(on_n("n > 3 AND site = 'Beira'", ""), 0);      /* NULL AND TRUE */
    assert_int_equal(on_n("NOT (n > 3 AND site = 'Beira')", ""), 0); /* NOT NULL */
    assert_int_equal(on_n("n IS NULL OR n > 3", ""), 1);
    assert_int_equal(on_n("NOT NOT n > 3", "4"), 1);
    assert_int_equal(on_n("NOT NOT n > 3", ""), 0);
}

static void like_is_case_sensitive_and_ilike_is_not(void **state)
{
    (void)state;
    assert_int_equal(on_n("site LIKE 'Be%'", "1"), 1);
    assert_int_equal(on_n("site LIKE 'be%'", "1"), 0);
    assert_int_equal(on_n("site ILIKE 'be%'", "1"), 1);
    assert_int_equal(on_n("site ILIKE 'BEIRA'", "1"), 1);
    assert_int_equal(on_n("site NOT ILIKE 'be%'", "1"), 0);
    assert_int_equal(on_n("site NOT LIKE 'be%'", "1"), 1);
    assert_int_equal(on_n("site LIKE '_eira'", "1"), 1);
    assert_int_equal(on_n("site LIKE '_ira'", "1"), 0);
    assert_int_equal(on_n("site LIKE 'Beira_'", "1"), 0);
    assert_int_equal(on_n("site LIKE '%ir%'", "1"), 1);
    assert_int_equal(on_n("site LIKE '%%%'", "1"), 1);
    assert_int_equal(on_n("site LIKE 'B%a'", "1"), 1);
    assert_int_equal(on_n("site LIKE 'B%e'", "1"), 0);
    assert_int_equal(on_n("site LIKE ''", "1"), 0);
    assert_int_equal(on_n("site LIKE 'Beira'", "1"), 1);
    /* the greedy walk must backtrack */
    assert_int_equal(eval4("site LIKE '%a%b%c'", "xaXbYbc", "1", "1", NULL), 1);
    assert_int_equal(eval4("site LIKE '%a%b%c'", "abab", "1", "1", NULL), 0);
    assert_int_equal(eval4("site LIKE '%ab'", "aab", "1", "1", NULL), 1);
    /* _ is one character, even one of several UTF-8 bytes */
    assert_int_equal(eval4("site LIKE 'S_o'", "S\xC3\xA3o", "1", "1", NULL), 1);
    assert_int_equal(eval4("site LIKE 'S__o'", "S\xC3\xA3o", "1", "1", NULL), 0);
    assert_int_equal(eval4("site LIKE '%_o'", "S\xC3\xA3o", "1", "1", NULL), 1);
    /* numbers match as they are written */
    assert_int_equal(on_n("n LIKE '5.%'", "5.0"), 1);
    assert_int_equal(on_n("n LIKE '5'", "5.0"), 0);
}

static void like_escape_makes_wildcards_literal(void **state)
{
    (void)state;
    assert_int_equal(eval4("site LIKE '50!%!_off' ESCAPE '!'", "50%_off", "1", "1", NULL), 1);
    assert_int_equal(eval4("site LIKE '50!%!_off' ESCAPE '!'", "50%xoff", "1", "1", NULL), 0);
    assert_int_equal(eval4("site LIKE '50!%!_off' ESCAPE '!'", "500_off", "1", "1", NULL), 0);
    assert_int_equal(eval4("site LIKE '50%_off'", "500xoff", "1", "1", NULL), 1);
    assert_int_equal(eval4("site LIKE '%!%' ESCAPE '!'", "100%", "1", "1", NULL), 1);
    assert_int_equal(eval4("site LIKE '%!%' ESCAPE '!'", "100", "1", "1", NULL), 0);
    assert_int_equal(eval4("site LIKE 'a!!b' ESCAPE '!'", "a!b", "1", "1", NULL), 1);
    assert_int_equal(eval4("site ILIKE 'A#_%' escape '#'", "a_b", "1", "1", NULL), 1);
    assert_int_equal(eval4("site ILIKE 'A#_%' escape '#'", "ab", "1", "1", NULL), 0);
    assert_int_equal(eval4("site NOT LIKE 'a#%' ESCAPE '#'", "a%", "1", "1", NULL), 0);
    /* without ESCAPE a backslash is an ordinary character */
    assert_int_equal(eval4("site LIKE 'a\\b%'", "a\\bc", "1", "1", NULL), 1);
}

static void in_and_between_with_not(void **state)
{
    (void)state;
    assert_int_equal(on_n("n IN (1, 5, 9)", "5"), 1);
    assert_int_equal(on_n("n IN (1, 2)", "5"), 0);
    assert_int_equal(on_n("n IN (5)", "5.0"), 1);
    assert_int_equal(on_n("n NOT IN (1, 2)", "5"), 1);
    assert_int_equal(on_n("n NOT IN (1, 5)", "5"), 0);
    assert_int_equal(on_n("site IN ('beira', 'Dondo')", "5"), 1);
    assert_int_equal(on_n("site NOT IN ('Dondo')", "5"), 1);
    assert_int_equal(on_n("n IN (m, 1)", "9"), 1); /* a column in the list */
    /* n = 'abc': 1 is NULL for it, 'abc' TRUE, 'x' FALSE */
    assert_int_equal(on_n("n IN (1, 'abc')", "abc"), 1);
    assert_int_equal(on_n("n IN (1, 'x')", "abc"), 0);
    assert_int_equal(on_n("n NOT IN (1, 'x')", "abc"), 0); /* NOT (NULL OR FALSE) */
    assert_int_equal(on_n("n NOT IN ('x')", "abc"), 1);

    assert_int_equal(on_n("n BETWEEN 1 AND 5", "5"), 1); /* bounds included */
    assert_int_equal(on_n("n BETWEEN 5 AND 9", "5"), 1);
    assert_int_equal(on_n("n BETWEEN 6 AND 9", "5"), 0);
    assert_int_equal(on_n("n BETWEEN 9 AND 1", "5"), 0);
    assert_int_equal(on_n("n NOT BETWEEN 6 AND 9", "5"), 1);
    assert_int_equal(on_n("n NOT BETWEEN 1 AND 9", "5"), 0);
    assert_int_equal(on_n("n BETWEEN -1e1 AND +1e1", "-10"), 1);
    assert_int_equal(on_n("site BETWEEN 'a' AND 'c'", "5"), 1);
    assert_int_equal(eval4("date BETWEEN '2024-01-01' AND '2024-12-31'", "x", "1", "1",
                           "2024-03-01"), 1);
    /* BETWEEN's AND is not the logical AND */
    assert_int_equal(on_n("n BETWEEN 1 AND 9 AND site = 'x'", "5"), 0);
    assert_int_equal(on_n("n BETWEEN 1 AND 9 OR site = 'x'", "5"), 1);
    assert_int_equal(on_n("n BETWEEN 1 AND 9", "abc"), 0);
    assert_int_equal(on_n("n NOT BETWEEN 1 AND 9", "abc"), 0);
}

static void and_binds_tighter_than_or(void **state)
{
    (void)state;
    /* a TRUE, b FALSE, c FALSE: a OR (b AND c) is TRUE, (a OR b) AND c is FALSE */
    const char *a = "site = 'Beira'", *b = "n = 1", *c = "m = 1";
    char expr[256];
    snprintf(expr, sizeof expr, "%s OR %s AND %s", a, b, c);
    assert_int_equal(on_n(expr, "5"), 1);
    snprintf(expr, sizeof expr, "(%s OR %s) AND %s", a, b, c);
    assert_int_equal(on_n(expr, "5"), 0);
    snprintf(expr, sizeof expr, "%s AND %s OR %s", b, c, a);
    assert_int_equal(on_n(expr, "5"), 1);
    /* NOT binds tighter than AND: (NOT a) AND b */
    assert_int_equal(on_n("NOT site = 'x' AND n = 5", "5"), 1);
    assert_int_equal(on_n("NOT site = 'Beira' OR n = 5", "5"), 1);
    assert_int_equal(on_n("NOT (site = 'Beira' OR n = 5)", "5"), 0);
    assert_int_equal(on_n("((((n = 5))))", "5"), 1);
    assert_int_equal(on_n("n = 1 OR n = 2 OR n = 3 OR n = 5", "5"), 1);
    assert_int_equal(on_n("n > 1 AND n > 2 AND n > 3 AND n > 6", "5"), 0);
}

static void column_names_quoted_and_by_case(void **state)
{
    (void)state;
    const char *columns[] = {"site name", "Count", "count", "and", "x\"y", "#geo+lat",
                             "h\xC3\xA9"};
    const char *fields[] = {"Beira", "1", "2", "3", "4", "-19.8", "5"};
    assert_int_equal(eval_with(columns, 7, "\"site name\" = 'Beira'", fields, 7), 1);
    assert_int_equal(eval_with(columns, 7, "\"Count\" = 1", fields, 7), 1);
    assert_int_equal(eval_with(columns, 7, "count = 2", fields, 7), 1);  /* exact first */
    assert_int_equal(eval_with(columns, 7, "COUNT = 1", fields, 7), 1);  /* then by case */
    assert_int_equal(eval_with(columns, 7, "\"COUNT\" = 1", fields, 7), 1);
    assert_int_equal(eval_with(columns, 7, "\"and\" = 3", fields, 7), 1); /* a keyword */
    assert_int_equal(eval_with(columns, 7, "\"x\"\"y\" = 4", fields, 7), 1);
    assert_int_equal(eval_with(columns, 7, "\"x\\\"y\" = 4", fields, 7), 1);
    assert_int_equal(eval_with(columns, 7, "\"#geo+lat\" < -19", fields, 7), 1);
    assert_int_equal(eval_with(columns, 7, "h\xC3\xA9 = 5", fields, 7), 1);
    const char *under[] = {"_id", "a1"};
    const char *values[] = {"7", "8"};
    assert_int_equal(eval_with(under, 2, "_id = 7 AND a1 = 8", values, 2), 1);
}

static void keywords_ignore_case(void **state)
{
    (void)state;
    assert_int_equal(on_n("n between 1 and 9 and site like 'B%' and not n is null", "5"), 1);
    assert_int_equal(on_n("N BeTwEeN 6 AnD 9 oR SiTe IlIkE 'b%'", "5"), 1);
    assert_int_equal(on_n("n not in (1) AND n Is NoT nUlL", "5"), 1);
    assert_int_equal(on_n("site Like 'x%' EsCaPe '!'", "5"), 0);
}

static void string_literals_escape_quotes(void **state)
{
    (void)state;
    assert_int_equal(eval4("site = 'it''s'", "it's", "1", "1", NULL), 1);
    assert_int_equal(eval4("site = 'it\\'s'", "it's", "1", "1", NULL), 1); /* as OGR */
    assert_int_equal(eval4("site = ''''", "'", "1", "1", NULL), 1);
    assert_int_equal(eval4("site = 'a b'", "a b", "1", "1", NULL), 1);
    assert_int_equal(eval4("site = 'S\xC3\xA3o'", "s\xC3\xA3O", "1", "1", NULL), 1);
    assert_int_equal(eval4("site = 'a\\b'", "a\\b", "1", "1", NULL), 1);
    assert_int_equal(eval4("site IN ('', 'x')", "", "1", "1", NULL), 0); /* empty is NULL */
}

static void parse_errors_name_the_problem_and_offset(void **state)
{
    (void)state;
    expect_error("arivals > 5", "unknown column 'arivals' at offset 0",
                 "(columns: site, n, m, date)", NULL);
    expect_error("n > 5 AND \"N \" = 1", "unknown column 'N ' at offset 10", NULL);
    expect_error("site = 'Beira", "unterminated string starting at offset 7", NULL);
    expect_error("site LIKE 'a\\%' ESCAPE '\\'", "unterminated string starting at offset 23",
                 "backslash", NULL);
    expect_error("\"site = 1", "unterminated quoted column name starting at offset 0", NULL);
    expect_error("n >=", "expected a value after '>=', found the end at offset 4", NULL);
    expect_error("n >= AND m = 1", "expected a value after '>=', found 'AND' at offset 5",
                 NULL);
    expect_error("n = 1 AND", "expected a value after 'AND', found the end at offset 9", NULL);
    expect_error("", "empty expression", NULL);
    expect_error("   ", "empty expression", NULL);
    expect_error("n = 1 site", "expected AND, OR or the end of the expression after '1', "
                               "found 'site' at offset 6", NULL);
    expect_error("n = 1)", "found ')' at offset 5", NULL);
    expect_error("(n = 1", "the '(' at offset 0 is not closed: expected ')' after '1', found "
                           "the end at offset 6", NULL);
    expect_error("((n = 1) OR (m = 2 site)", "the '(' at offset 12 is not closed", NULL);
    expect_error("n", "expected an operator", "after 'n', found the end at offset 1", NULL);
    expect_error("n 5", "expected an operator", "found '5' at offset 2", NULL);
    expect_error("n NOT 5", "expected LIKE, ILIKE, IN or BETWEEN after 'NOT'", NULL);
    expect_error("n IS 5", "expected NULL or NOT NULL after 'IS', found '5' at offset 5", NULL);
    expect_error("n IS NOT 5", "expected NULL after 'NOT'", NULL);
    expect_error("n = NULL", "NULL at offset 4 can only be tested with IS NULL", NULL);
    expect_error("n IN 1", "expected '(' after 'IN'", NULL);
    expect_error("n IN (1 2)", "expected ',' or ')' after '1', found '2' at offset 8", NULL);
    expect_error("n IN ()", "expected a value after '(', found ')' at offset 6", NULL);
    expect_error("n BETWEEN 1 OR 2", "expected AND after '1', found 'OR' at offset 12", NULL);
    expect_error("site LIKE n", "expected a quoted pattern after 'LIKE'", NULL);
    expect_error("site LIKE 'a' ESCAPE ''", "ESCAPE takes a single character", NULL);
    expect_error("site LIKE 'a' ESCAPE 'ab'", "ESCAPE takes a single character", NULL);
    expect_error("site LIKE 'a!' ESCAPE '!'",
                 "LIKE pattern at offset 10 ends with its escape character", NULL);
    expect_error("n # 5", "unexpected character '#' at offset 2", NULL);
    expect_error("n = \x01", "unexpected byte 0x01 at offset 4", NULL);
    expect_error("n > 1e999", "number '1e999' at offset 4 is out of range", NULL);
    expect_error("2020_count > 1", "'2020_count' at offset 0 is neither a number nor a column",
                 NULL);
    expect_error("n = 1.2.3", "'1.2.3' at offset 4 is neither", NULL);
    expect_error("AND n = 1", "expected a value, found 'AND' at offset 0", NULL);
    expect_error("n = - 1", "unexpected character '-' at offset 4", NULL);
}

static void nesting_and_length_are_bounded(void **state)
{
    (void)state;
    enum { N = 200000 };
    char *expr = malloc(N + 1);
    /* 64 levels parse */
    int len = 0;
    for (int i = 0; i < CR_WHERE_MAX_DEPTH; i++)
        expr[len++] = '(';
    len += sprintf(expr + len, "n = 5");
    for (int i = 0; i < CR_WHERE_MAX_DEPTH; i++)
        expr[len++] = ')';
    expr[len] = '\0';
    assert_int_equal(on_n(expr, "5"), 1);
    /* 65 do not */
    memmove(expr + 1, expr, (size_t)len + 1);
    expr[0] = '(';
    expect_error(expr, "nested deeper than 64 levels at offset 64", NULL);
    /* NOTs count as levels too */
    len = 0;
    for (int i = 0; i < 10000; i++)
        len += sprintf(expr + len, "NOT ");
    sprintf(expr + len, "n = 5");
    expect_error(expr, "nested deeper than 64 levels at offset 256", NULL);
    /* a long flat chain is not deep: 5000 ORs evaluate without recursion */
    len = 0;
    for (int i = 0; i < 5000; i++)
        len += sprintf(expr + len, "%sn = %d", i ? " OR " : "", i + 10);
    assert_true(len <= CR_WHERE_MAX_LENGTH);
    assert_int_equal(on_n(expr, "5009"), 1);
    assert_int_equal(on_n(expr, "5"), 0);
    /* too long */
    memset(expr, ' ', N);
    memcpy(expr, "n = 5", 5);
    expr[CR_WHERE_MAX_LENGTH + 1] = '\0';
    expect_error(expr, "expression is 65537 bytes long, more than the 65536 allowed", NULL);
    expr[CR_WHERE_MAX_LENGTH] = '\0';
    assert_int_equal(on_n(expr, "5"), 1);
    free(expr);
}

/* Every prefix of a valid expression either parses or fails cleanly: a cheap stand-in
 * for the fuzzer, run under ASan and UBSan in CI. */
static void every_prefix_parses_or_fails_cleanly(void **state)
{
    (void)state;
    const char *full = "(n BETWEEN -1.5e+2 AND 9 OR \"site\" NOT ILIKE 'a!%''_' ESCAPE '!') "
                       "AND NOT m IN (1, 'x', date) AND date IS NOT NULL OR n <> m";
    size_t len = strlen(full);
    char *expr = malloc(len + 1);
    cr_ctx *ctx = cr_ctx_new();
    int parsed = 0;
    for (size_t i = 0; i <= len; i++) {
        memcpy(expr, full, i);
        expr[i] = '\0';
        cr_where *w = NULL;
        cr_status status = cr_where_parse(ctx, expr, COLUMNS, NCOLUMNS, &w);
        if (status == CR_OK) {
            const char *fields[] = {"a%'x", "-3", "x", "2024"};
            cr_where_eval(w, fields, 4);
            parsed++;
        } else {
            assert_int_equal(status, CR_E_USAGE);
            assert_null(w);
        }
        cr_where_free(w);
    }
    /* the whole, and the prefixes that end after a complete predicate */
    assert_true(parsed >= 3);
    const char *fields[] = {"a%'_", "-3", "x", "2024"};
    assert_int_equal(eval_with(COLUMNS, NCOLUMNS, full, fields, 4), 1);
    free(expr);
    cr_ctx_free(ctx);
}

static void free_accepts_null(void **state)
{
    (void)state;
    cr_where_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(comparison_operators_with_numbers),
        cmocka_unit_test(numbers_compare_by_value),
        cmocka_unit_test(number_literal_against_text_is_null),
        cmocka_unit_test(text_comparisons_ignore_ascii_case_like_ogr),
        cmocka_unit_test(two_columns_compare_as_numbers_when_both_are),
        cmocka_unit_test(empty_and_missing_fields_are_null),
        cmocka_unit_test(null_follows_three_valued_logic),
        cmocka_unit_test(like_is_case_sensitive_and_ilike_is_not),
        cmocka_unit_test(like_escape_makes_wildcards_literal),
        cmocka_unit_test(in_and_between_with_not),
        cmocka_unit_test(and_binds_tighter_than_or),
        cmocka_unit_test(column_names_quoted_and_by_case),
        cmocka_unit_test(keywords_ignore_case),
        cmocka_unit_test(string_literals_escape_quotes),
        cmocka_unit_test(parse_errors_name_the_problem_and_offset),
        cmocka_unit_test(nesting_and_length_are_bounded),
        cmocka_unit_test(every_prefix_parses_or_fails_cleanly),
        cmocka_unit_test(free_accepts_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
