/* zonal_part.c: the part files of a zonal run split by --tile or --window (docs/zonal.md
 * "Tiles"): numbers written so that they read back to the same bits, the records of a
 * part's blocks, and the checks that refuse a file that is not a whole part.
 *
 * A part file is one JSON object: {"format": "cityrisk-zonal-part", "version": 1,
 * "records": [...], "record_count": N, "blocks": N, "part": {...}, "run": {...}}. A record is the partial
 * accumulator of one zone over one 512-cell block of the grid, exactly as the single run
 * computes it before merging it into the zone: [block, zone, [acc...], [[x...], [w...]]
 * per value list]. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_vsi.h>
#include <json-c/json.h>

#include "zonal_internal.h"

void cr_zpart_format(double v, char *text, size_t size)
{
    if (isnan(v)) {
        snprintf(text, size, "\"nan\"");
    } else if (isinf(v)) {
        snprintf(text, size, "%s", v > 0 ? "\"inf\"" : "\"-inf\"");
    } else {
        /* 17 significant digits give back the same double (IEEE 754); a point keeps -0
         * and whole numbers doubles when JSON readers read them. */
        int n = snprintf(text, size, "%.17g", v);
        if (n > 0 && (size_t)n + 2 < size && !strpbrk(text, ".e"))
            memcpy(text + n, ".0", 3);
    }
}

json_object *cr_zpart_json_number(double v)
{
    char text[40];
    cr_zpart_format(v, text, sizeof text);
    if (!isfinite(v)) {
        text[strlen(text) - 1] = '\0';
        return json_object_new_string(text + 1);
    }
    return json_object_new_double_s(v, text);
}

int cr_zpart_number(json_object *o, double *out)
{
    if (json_object_is_type(o, json_type_double) || json_object_is_type(o, json_type_int)) {
        *out = json_object_get_double(o);
        return 1;
    }
    if (!json_object_is_type(o, json_type_string))
        return 0;
    const char *s = json_object_get_string(o);
    if (strcmp(s, "nan") == 0)
        *out = NAN;
    else if (strcmp(s, "inf") == 0)
        *out = INFINITY;
    else if (strcmp(s, "-inf") == 0)
        *out = -INFINITY;
    else
        return 0;
    return 1;
}

/* Writes n numbers as a JSON array. */
static void write_array(FILE *f, const double *v, size_t n)
{
    char text[40];
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        cr_zpart_format(v[i], text, sizeof text);
        fputs(text, f);
        if (i + 1 < n)
            fputc(',', f);
    }
    fputc(']', f);
}

void cr_zpart_write_record(FILE *f, const cr_zplan *plan, int64_t block, int64_t zone,
                           const double *acc, const cr_wlist *lists, int first)
{
    fprintf(f, "%s\n[%" PRId64 ",%" PRId64 ",", first ? "" : ",", block, zone);
    write_array(f, acc, plan->acc_size);
    for (int l = 0; l < plan->nlists; l++) {
        fputs(",[", f);
        write_array(f, lists[l].x, lists[l].n);
        fputc(',', f);
        write_array(f, lists[l].w, lists[l].n);
        fputc(']', f);
    }
    fputc(']', f);
}

cr_status cr_zpart_fingerprint(cr_ctx *ctx, const char *path, char *out, size_t size)
{
    VSILFILE *f = VSIFOpenL(path, "rb");
    if (!f)
        return cr_ctx_fail(ctx, CR_E_IO, "cannot read the zones '%s' to fingerprint them", path);
    /* FNV-1a, 64 bits: a change of the file between the parts and the merge is seen. */
    uint64_t h = 14695981039346656037ULL, bytes = 0;
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = VSIFReadL(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 1099511628211ULL;
        bytes += n;
    }
    VSIFCloseL(f);
    snprintf(out, size, "fnv1a64:%016" PRIx64 ",%" PRIu64 " bytes", h, bytes);
    return CR_OK;
}

/* The window of a part: "part": {"tile": "I/N" or null, "window": [x, y, w, h]}. */
static int read_window(json_object *part, cr_zpart *p)
{
    json_object *win = NULL, *tile = NULL;
    if (!json_object_object_get_ex(part, "window", &win) ||
        !json_object_is_type(win, json_type_array) || json_object_array_length(win) != 4)
        return 0;
    int v[4];
    for (int k = 0; k < 4; k++) {
        json_object *x = json_object_array_get_idx(win, (size_t)k);
        if (!json_object_is_type(x, json_type_int))
            return 0;
        int64_t i = json_object_get_int64(x);
        if (i < 0 || i > INT32_MAX || (k >= 2 && i == 0))
            return 0;
        v[k] = (int)i;
    }
    p->window = (cr_window){v[0], v[1], v[2], v[3]};
    p->tile[0] = '\0';
    if (json_object_object_get_ex(part, "tile", &tile) && json_object_is_type(tile, json_type_string))
        snprintf(p->tile, sizeof p->tile, "%s", json_object_get_string(tile));
    return 1;
}

cr_status cr_zpart_open(cr_ctx *ctx, const char *path, cr_zpart *p)
{
    memset(p, 0, sizeof *p);
    p->path = path;
    json_object *doc = json_object_from_file(path), *v = NULL;
    if (!doc) {
        const char *why = json_util_get_last_err();
        char line[200];
        snprintf(line, sizeof line, "%s", why ? why : "unreadable");
        line[strcspn(line, "\n")] = '\0';
        return cr_ctx_fail(ctx, CR_E_DATA, "'%s' is not a zonal part file (corrupt or truncated: %s)",
                           path, line);
    }
    cr_status st = CR_OK;
    if (!json_object_is_type(doc, json_type_object) ||
        !json_object_object_get_ex(doc, "format", &v) || !json_object_is_type(v, json_type_string) ||
        strcmp(json_object_get_string(v), CR_ZPART_FORMAT) != 0) /* "format": null reads as NULL */
        st = cr_ctx_fail(ctx, CR_E_DATA, "'%s' is not a zonal part file (no \"format\": \"%s\")",
                         path, CR_ZPART_FORMAT);
    else if (!json_object_object_get_ex(doc, "version", &v) ||
             json_object_get_int(v) != CR_ZONAL_PART_VERSION)
        st = cr_ctx_fail(ctx, CR_E_DATA, "'%s' is a zonal part file of version %s; this cityrisk "
                         "reads version %d: make the parts again",
                         path, v ? json_object_get_string(v) : "(none)", CR_ZONAL_PART_VERSION);
    json_object *part = NULL, *blocks = NULL, *count = NULL;
    if (st == CR_OK &&
        (!json_object_object_get_ex(doc, "run", &p->run) ||
         !json_object_object_get_ex(doc, "record_count", &count) ||
         !json_object_is_type(count, json_type_int) ||
         !json_object_is_type(p->run, json_type_object) ||
         !json_object_object_get_ex(doc, "records", &p->records) ||
         !json_object_is_type(p->records, json_type_array) ||
         !json_object_object_get_ex(doc, "blocks", &blocks) ||
         !json_object_is_type(blocks, json_type_int) ||
         !json_object_object_get_ex(doc, "part", &part) || !read_window(part, p)))
        st = cr_ctx_fail(ctx, CR_E_DATA, "'%s' is not a whole zonal part file (its run, part, "
                         "blocks or records are missing or malformed)", path);
    else if (st == CR_OK && json_object_get_int64(count) != (int64_t)json_object_array_length(p->records))
        st = cr_ctx_fail(ctx, CR_E_DATA, "'%s' is not a whole zonal part file (%zu records of the "
                         "%" PRId64 " it was written with)", path,
                         json_object_array_length(p->records), json_object_get_int64(count));
    if (st != CR_OK) {
        json_object_put(doc);
        p->run = p->records = NULL;
        return st;
    }
    p->blocks = json_object_get_int64(blocks);
    p->doc = doc;
    return CR_OK;
}

void cr_zpart_close(cr_zpart *p)
{
    if (p && p->doc)
        json_object_put(p->doc);
    if (p)
        p->doc = p->run = p->records = NULL;
}

/* Reads n numbers of a JSON array into v; 0 when it is not an array of n numbers. */
static int read_numbers(json_object *a, double *v, size_t n)
{
    if (!json_object_is_type(a, json_type_array) || json_object_array_length(a) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!cr_zpart_number(json_object_array_get_idx(a, i), &v[i]))
            return 0;
    return 1;
}

/* A value list [[x...], [w...]] into l; 0 when malformed or out of memory. */
static int read_list(json_object *a, cr_wlist *l)
{
    if (!json_object_is_type(a, json_type_array) || json_object_array_length(a) != 2)
        return 0;
    json_object *xs = json_object_array_get_idx(a, 0), *ws = json_object_array_get_idx(a, 1);
    if (!json_object_is_type(xs, json_type_array))
        return 0;
    size_t n = json_object_array_length(xs);
    l->x = malloc((n ? n : 1) * sizeof *l->x);
    l->w = malloc((n ? n : 1) * sizeof *l->w);
    l->n = l->cap = n;
    return l->x && l->w && read_numbers(xs, l->x, n) && read_numbers(ws, l->w, n);
}

/* One record into r; 0 when malformed (r holds what to free). */
static int read_record(json_object *rec, const cr_zplan *plan, int64_t nzones, cr_zrecord *r)
{
    size_t len = 3 + (size_t)plan->nlists;
    if (!json_object_is_type(rec, json_type_array) || json_object_array_length(rec) != len)
        return 0;
    json_object *b = json_object_array_get_idx(rec, 0), *z = json_object_array_get_idx(rec, 1);
    if (!json_object_is_type(b, json_type_int) || !json_object_is_type(z, json_type_int))
        return 0;
    r->block = json_object_get_int64(b);
    r->zone = json_object_get_int64(z);
    r->acc = malloc(plan->acc_size * sizeof *r->acc);
    r->lists = calloc((size_t)(plan->nlists ? plan->nlists : 1), sizeof *r->lists);
    if (!r->acc || !r->lists || r->zone < 0 || r->zone >= nzones ||
        !read_numbers(json_object_array_get_idx(rec, 2), r->acc, plan->acc_size))
        return 0;
    for (int l = 0; l < plan->nlists; l++)
        if (!read_list(json_object_array_get_idx(rec, 3 + (size_t)l), &r->lists[l]))
            return 0;
    return 1;
}

void cr_zrecord_free(const cr_zplan *plan, cr_zrecord *r)
{
    for (int l = 0; r->lists && l < plan->nlists; l++)
        cr_wlist_free(&r->lists[l]);
    free(r->lists);
    free(r->acc);
    memset(r, 0, sizeof *r);
}

/* 1 when block (an index of the grid's blocks in raster order) lies in window. */
static int block_in_window(const cr_grid *grid, int64_t block, const cr_window *w)
{
    if (block < 0 || block >= cr_grid_window_count(grid, CR_BLOCK_SIZE))
        return 0;
    cr_window b = cr_grid_window(grid, CR_BLOCK_SIZE, block);
    return b.x >= w->x && b.y >= w->y && b.x + b.w <= w->x + w->w && b.y + b.h <= w->y + w->h;
}

cr_status cr_zpart_records(cr_ctx *ctx, cr_zpart *p, const cr_zplan *plan, const cr_grid *grid,
                           int64_t nzones, cr_zrecord **all, size_t *count)
{
    size_t n = json_object_array_length(p->records);
    cr_zrecord *grown = realloc(*all, (*count + n + 1) * sizeof *grown);
    if (!grown)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory for the records of '%s'", p->path);
    *all = grown;
    for (size_t i = 0; i < n; i++) {
        cr_zrecord *r = &grown[*count];
        memset(r, 0, sizeof *r);
        int ok = read_record(json_object_array_get_idx(p->records, i), plan, nzones, r);
        if (ok && !block_in_window(grid, r->block, &p->window))
            ok = 0;
        if (!ok) {
            cr_zrecord_free(plan, r);
            return cr_ctx_fail(ctx, CR_E_DATA, "'%s': record %zu is malformed (not a block of its "
                               "window, a zone of the run, or the accumulator of its statistics)",
                               p->path, i + 1);
        }
        ++*count;
    }
    return CR_OK;
}
