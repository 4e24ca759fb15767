/* fuzz_specs.c: the parsers of option specifications. The first byte picks the parser,
 * the rest is its text (up to the first NUL). Each parse must fail with CR_E_USAGE and a
 * message, or succeed with a result that keeps the parser's documented promises. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/arrivals.h"
#include "cityrisk/classes.h"
#include "cityrisk/score.h"
#include "cityrisk/zonal.h"
#include "fuzzutil.h"
#include "arrivals/isodate.h"
#include "arrivals/where.h"

/* A failure must say what went wrong, under the status it returned. */
static void check_failure(cr_ctx *ctx, cr_status st, const char *what, const char *text)
{
    FZ_CHECK(st == CR_E_USAGE || st == CR_E_IO, "%s('%s'): status %d", what, text, (int)st);
    FZ_CHECK(cr_ctx_status(ctx) == st, "%s('%s'): context holds status %d, call returned %d",
             what, text, (int)cr_ctx_status(ctx), (int)st);
    FZ_CHECK(*cr_ctx_error(ctx), "%s('%s'): failed without a message", what, text);
}

static int is_identifier(const char *s)
{
    if (!*s || !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return 0;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

static void weights(cr_ctx *ctx, const char *text)
{
    double w[CR_INDICATORS];
    cr_status st = cr_weights_parse(ctx, text, w);
    if (st != CR_OK) {
        check_failure(ctx, st, "cr_weights_parse", text);
        return;
    }
    for (int i = 0; i < CR_INDICATORS; i++)
        FZ_CHECK(isfinite(w[i]) && w[i] >= 0, "weights '%s': weight %d is %g", text, i, w[i]);
}

static void classes(cr_ctx *ctx, const char *text)
{
    cr_class_spec spec;
    cr_status st = cr_classes_parse(ctx, text, &spec);
    if (st != CR_OK) {
        check_failure(ctx, st, "cr_classes_parse", text);
        return;
    }
    FZ_CHECK(spec.count >= 2 && spec.count <= CR_CLASSES_MAX, "classes '%s': %d classes", text,
             spec.count);
    FZ_CHECK(strcmp(cr_class_kind_name(spec.kind), "unknown") != 0, "classes '%s': kind %d", text,
             (int)spec.kind);
    if (cr_classes_need_data(&spec))
        return;
    for (int i = 0; i < spec.count - 1; i++) {
        FZ_CHECK(isfinite(spec.breaks[i]), "classes '%s': break %d is %g", text, i, spec.breaks[i]);
        FZ_CHECK(i == 0 || spec.breaks[i] > spec.breaks[i - 1],
                 "classes '%s': break %d (%g) does not increase", text, i, spec.breaks[i]);
        FZ_CHECK(cr_class_of(spec.breaks, spec.count - 1, spec.breaks[i]) == i + 2,
                 "classes '%s': break %d is not the lower bound of class %d", text, i, i + 2);
    }
}

static void stats(cr_ctx *ctx, const char *text)
{
    cr_stat *list = NULL;
    int n = -1;
    cr_status st = cr_stats_parse(ctx, text, &list, &n);
    if (st != CR_OK) {
        FZ_CHECK(!list && n == 0, "stats '%s': failed leaving %d statistics", text, n);
        check_failure(ctx, st, "cr_stats_parse", text);
        return;
    }
    int commas = 0;
    for (const char *p = text; *p; p++)
        commas += *p == ',';
    FZ_CHECK(n >= 1 && n <= commas + 1, "stats '%s': %d statistics", text, n);
    for (int i = 0; i < n; i++) {
        const cr_stat *s = &list[i];
        FZ_CHECK(s->kind >= CR_STAT_COUNT && s->kind <= CR_STAT_WEIGHTED_MEAN,
                 "stats '%s': kind %d", text, (int)s->kind);
        FZ_CHECK(memchr(s->suffix, '\0', sizeof s->suffix) && s->suffix[0],
                 "stats '%s': bad suffix %d", text, i);
        FZ_CHECK(isfinite(s->arg), "stats '%s': argument %g", text, s->arg);
        FZ_CHECK(s->kind != CR_STAT_QUANTILE || (s->arg >= 0 && s->arg <= 1),
                 "stats '%s': quantile %g", text, s->arg);
        FZ_CHECK(s->kind != CR_STAT_WEIGHTED_MEAN ||
                     (memchr(s->weight, '\0', sizeof s->weight) && is_identifier(s->weight)),
                 "stats '%s': weight name of %d", text, i);
        for (int j = 0; j < i; j++)
            FZ_CHECK(strcmp(list[j].suffix, s->suffix) != 0, "stats '%s': '%s' twice", text,
                     s->suffix);
    }
    free(list);
}

static void zonal_raster(cr_ctx *ctx, const char *text)
{
    cr_zonal_raster r;
    char *storage = (char *)1;
    cr_status st = cr_zonal_raster_parse(ctx, text, &r, &storage);
    if (st != CR_OK) {
        FZ_CHECK(!storage, "-r '%s': failed leaving storage", text);
        check_failure(ctx, st, "cr_zonal_raster_parse", text);
        return;
    }
    FZ_CHECK(r.name == storage && is_identifier(r.name), "-r '%s': name '%s'", text, r.name);
    FZ_CHECK(*r.path && r.band >= 1 && r.band <= 65535, "-r '%s': path '%s' band %d", text, r.path,
             r.band);
    FZ_CHECK(strlen(r.name) + 1 + strlen(r.path) <= strlen(text), "-r '%s': parts too long", text);
    free(storage);
}

static void bands(cr_ctx *ctx, const char *text)
{
    unsigned b = 0;
    cr_status st = cr_score_bands_parse(ctx, text, &b);
    if (st != CR_OK) {
        check_failure(ctx, st, "cr_score_bands_parse", text);
        return;
    }
    FZ_CHECK(b != 0 && b < (1u << CR_SCORE_BANDS), "bands '%s': mask %#x", text, b);
}

/* A parser of names (kernels, methods): a name it accepts is one it writes back. */
static void check_name(cr_ctx *ctx, cr_status st, const char *parser, const char *text,
                       const char *name)
{
    if (st != CR_OK) {
        check_failure(ctx, st, parser, text);
        return;
    }
    FZ_CHECK(strcmp(name, text) == 0, "%s('%s') read it as '%s'", parser, text, name);
}

static void kernel(cr_ctx *ctx, const char *text)
{
    cr_kernel k = 0;
    cr_status st = cr_kernel_parse(ctx, text, &k);
    check_name(ctx, st, "cr_kernel_parse", text, st == CR_OK ? cr_kernel_name(k) : "");
}

static void method(cr_ctx *ctx, const char *text)
{
    cr_score_method m = 0;
    cr_status st = cr_score_method_parse(ctx, text, &m);
    check_name(ctx, st, "cr_score_method_parse", text, st == CR_OK ? cr_score_method_name(m) : "");
}

/* --from and --to: a date that parses formats back to its own day. */
static void date(const char *text)
{
    cr_date d, again;
    if (!cr_date_parse(text, &d))
        return;
    char out[11];
    cr_date_format(d.day, out);
    FZ_CHECK(cr_date_parse(out, &again) && again.day == d.day && again.second == -1,
             "date '%s' formats as '%s'", text, out);
    FZ_CHECK(d.second >= -1 && d.second < 86400, "date '%s': second %d", text, (int)d.second);
    FZ_CHECK(cr_date_in_window(&d, &d, &d), "date '%s' is not within itself", text);
}

/* --where on CSV records: parse, evaluate on a few records, and check that NOT (E) is
 * never true where E is. */
static void where(cr_ctx *ctx, const char *text)
{
    static const char *const columns[] = {"site", "date", "count", "lon", "lat", "Site Name", "select"};
    static const char *const full[] = {"Lesbos", "2023-01-02", "5", "26.5", "39.1", "x y", "1e3"};
    static const char *const blanks[] = {"", "", " 7 ", "-0", "nan", "", "'"};
    const int ncolumns = (int)(sizeof columns / sizeof *columns);
    cr_where *w = NULL;
    cr_status st = cr_where_parse(ctx, text, columns, ncolumns, &w);
    if (st != CR_OK) {
        FZ_CHECK(!w, "where '%s': failed leaving a filter", text);
        check_failure(ctx, st, "cr_where_parse", text);
        return;
    }
    size_t len = strlen(text);
    char *negated = malloc(len + 8);
    if (!negated)
        fz_fail("out of memory");
    snprintf(negated, len + 8, "NOT (%s)", text);
    cr_where *nw = NULL;
    if (cr_where_parse(ctx, negated, columns, ncolumns, &nw) != CR_OK)
        nw = NULL; /* the nesting or length limit */
    const char *const *records[] = {full, blanks, full, NULL};
    const int counts[] = {ncolumns, ncolumns, 2, 0};
    for (int i = 0; i < 4; i++) {
        int r = cr_where_eval(w, records[i], counts[i]);
        FZ_CHECK(r == 0 || r == 1, "where '%s': result %d", text, r);
        FZ_CHECK(r == cr_where_eval(w, records[i], counts[i]), "where '%s': not repeatable", text);
        FZ_CHECK(!(r && nw && cr_where_eval(nw, records[i], counts[i])),
                 "where '%s': both it and its negation match record %d", text, i);
    }
    cr_where_free(nw);
    cr_where_free(w);
    free(negated);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    cr_ctx *ctx = fz_ctx();
    char *text = fz_string(data + 1, size - 1);
    switch (data[0] % 9) {
    case 0: weights(ctx, text); break;
    case 1: classes(ctx, text); break;
    case 2: stats(ctx, text); break;
    case 3: zonal_raster(ctx, text); break;
    case 4: bands(ctx, text); break;
    case 5: kernel(ctx, text); break;
    case 6: method(ctx, text); break;
    case 7: date(text); break;
    default: where(ctx, text); break;
    }
    free(text);
    return 0;
}
