/* mosaic.c: tiles of one raster (tile.h) joined into the raster a single run writes.
 *
 * Three passes over the tiles, each opening one tile at a time (there may be thousands):
 * their marks (where each goes, and whether together they cover the grid once), their
 * description against the first tile's (grid, bands, metadata), then their cells, block
 * by block, into the same COG writer the commands use. The writer decides the layout, the
 * compression and the overviews from the grid, the bands and their categorical flags, so
 * the mosaic is the single run's file; only the cells of one block of all bands are in
 * memory at a time. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>
#include <json-c/json.h>

#include "cityrisk/mosaic.h"
#include "cityrisk/raster.h"
#include "cityrisk/tile.h"
#include "core/internal.h"
#include "core/output.h"
#include "core/overview.h"
#include "mosaic_internal.h"

/* Metadata a tile carries of its own cells, which a single run has of the whole grid: kept
 * when the tiles agree (one tile), else left out of the mosaic (summed they would still
 * not be the single run's: a mean, a percentile). */
static const char *const PER_TILE_ITEMS[] = {"CITYRISK_STATISTICS", NULL};

static const char *const TILE_KEYS[] = {CR_TILE_KEY, CR_TILE_WINDOW_KEY, CR_TILE_FULL_SIZE_KEY, NULL};

static int listed(const char *const *list, const char *key)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], key) == 0)
            return 1;
    return 0;
}

void cr_mosaic_opts_init(cr_mosaic_opts *opts)
{
    memset(opts, 0, sizeof *opts);
}

/* ---- where each tile goes ---- */

/* Orders parts top to bottom, then left to right, then by path: the order the mosaic reads
 * them in and names them in, whatever the order of the arguments. */
static int part_order(const void *a, const void *b)
{
    const cr_mosaic_part *p = a, *q = b;
    if (p->window.y != q->window.y)
        return p->window.y < q->window.y ? -1 : 1;
    if (p->window.x != q->window.x)
        return p->window.x < q->window.x ? -1 : 1;
    return strcmp(p->path, q->path);
}

/* "2/16, 5/16 and 9/16" of the tile numbers of count no part has, into text. */
static void missing_numbers(const cr_mosaic_part *parts, int n, int count, char *text, size_t size)
{
    unsigned char *seen = calloc((size_t)count + 1, 1);
    size_t used = 0;
    int listed_count = 0;
    text[0] = '\0';
    for (int i = 0; seen && i < n; i++)
        seen[parts[i].index] = 1;
    for (int i = 1; seen && i <= count && used + 32 < size; i++)
        if (!seen[i])
            used += (size_t)snprintf(text + used, size - used, "%s%d/%d", listed_count++ ? ", " : "", i, count);
    if (seen && used + 32 >= size)
        snprintf(text + used, size - used, ", ...");
    free(seen);
}

/* The gap message: the missing tile numbers when every part is a tile of one --tile N. */
static cr_status fail_gap(cr_ctx *ctx, const cr_mosaic_part *parts, int n, int bx, int width,
                          int height, int64_t block)
{
    int count = parts[0].count;
    for (int i = 0; i < n; i++)
        if (parts[i].count != count)
            count = 0;
    if (count > 0) {
        char text[512];
        missing_numbers(parts, n, count, text, sizeof text);
        return cr_ctx_fail(ctx, CR_E_DATA, "the tiles do not cover the grid: tile%s %s missing",
                           strchr(text, ',') ? "s" : "", text);
    }
    int x = (int)(block % bx) * CR_BLOCK_SIZE, y = (int)(block / bx) * CR_BLOCK_SIZE;
    return cr_ctx_fail(ctx, CR_E_DATA,
                       "the tiles do not cover the grid: no tile holds the window %d,%d,%d,%d "
                       "(XOFF,YOFF,XSIZE,YSIZE) of the %d x %d grid",
                       x, y, width - x < CR_BLOCK_SIZE ? width - x : CR_BLOCK_SIZE,
                       height - y < CR_BLOCK_SIZE ? height - y : CR_BLOCK_SIZE, width, height);
}

cr_status cr_mosaic_cover(cr_ctx *ctx, cr_mosaic_part *parts, int n, int width, int height)
{
    qsort(parts, (size_t)n, sizeof *parts, part_order);
    int bx = (width + CR_BLOCK_SIZE - 1) / CR_BLOCK_SIZE, by = (height + CR_BLOCK_SIZE - 1) / CR_BLOCK_SIZE;
    int64_t blocks = (int64_t)bx * by;
    int *owner = malloc((size_t)blocks * sizeof *owner); /* 1 + the part holding a block, 0 none */
    if (!owner)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory placing %d tiles", n);
    memset(owner, 0, (size_t)blocks * sizeof *owner);
    cr_status st = CR_OK;
    for (int i = 0; i < n && st == CR_OK; i++) {
        const cr_window *w = &parts[i].window;
        int x0 = w->x / CR_BLOCK_SIZE, y0 = w->y / CR_BLOCK_SIZE;
        int x1 = (w->x + w->w + CR_BLOCK_SIZE - 1) / CR_BLOCK_SIZE, y1 = (w->y + w->h + CR_BLOCK_SIZE - 1) / CR_BLOCK_SIZE;
        for (int y = y0; y < y1 && st == CR_OK; y++)
            for (int x = x0; x < x1 && st == CR_OK; x++) {
                int *o = &owner[(int64_t)y * bx + x];
                if (*o)
                    st = cr_ctx_fail(ctx, CR_E_DATA,
                                     "tiles '%s' (window %d,%d,%d,%d) and '%s' (window %d,%d,%d,%d) "
                                     "overlap", parts[*o - 1].path, parts[*o - 1].window.x,
                                     parts[*o - 1].window.y, parts[*o - 1].window.w,
                                     parts[*o - 1].window.h, parts[i].path, w->x, w->y, w->w, w->h);
                *o = i + 1;
            }
    }
    for (int64_t b = 0; b < blocks && st == CR_OK; b++)
        if (!owner[b])
            st = fail_gap(ctx, parts, n, bx, width, height, b);
    free(owner);
    return st;
}

/* ---- the command a single run records ---- */

/* One word of a shell-quoted line: [start, end) of the line, and its value unquoted. */
typedef struct word {
    size_t start, end;
    char *value;
} word;

/* Splits line as cr_shell_quote() writes it (words separated by one space; '...' quoting,
 * '\'' for a quote) into words; *count of them. NULL when out of memory. */
static word *split_words(const char *line, int *count)
{
    size_t len = strlen(line);
    word *words = calloc(len / 2 + 2, sizeof *words);
    char *buf = malloc(len + 1);
    int n = 0, failed = !words || !buf;
    for (size_t i = 0; !failed && i < len;) {
        while (i < len && line[i] == ' ')
            i++;
        if (i >= len)
            break;
        size_t start = i, k = 0;
        int quoted = 0;
        for (; i < len && (quoted || line[i] != ' '); i++) {
            if (line[i] == '\'')
                quoted = !quoted;
            else if (line[i] == '\\' && !quoted && i + 1 < len)
                buf[k++] = line[++i];
            else
                buf[k++] = line[i];
        }
        buf[k] = '\0';
        words[n] = (word){start, i, strdup(buf)};
        failed = !words[n++].value;
    }
    free(buf);
    *count = n;
    if (failed) {
        for (int i = 0; words && i < n; i++)
            free(words[i].value);
        free(words);
        return NULL;
    }
    return words;
}

static void free_words(word *words, int n)
{
    for (int i = 0; words && i < n; i++)
        free(words[i].value);
    free(words);
}

/* 1 when the word is the option name (as two words) or starts "name=". */
static int is_option(const char *value, const char *name, int *joined)
{
    size_t len = strlen(name);
    *joined = strncmp(value, name, len) == 0 && value[len] == '=';
    return *joined || strcmp(value, name) == 0;
}

/* The last component of a path. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The -o the single run gives to write output, from a tile run's -o (value) and the tile
 * (tile_path), which is that -o or a file named after it (NAME_confidence.tif for -o
 * NAME.tif): the same file of the whole grid. A new string to free(); NULL when the tile
 * is neither (the single run's -o is then unknown). */
static char *single_output(const char *value, const char *tile_path, const char *output)
{
    const char *v = base_name(value), *t = base_name(tile_path), *o = base_name(output);
    if (strcmp(v, t) == 0)
        return strdup(output);
    const char *dot = strrchr(v, '.');
    size_t stem = dot ? (size_t)(dot - v) : strlen(v);
    const char *suffix = t + stem; /* "_confidence.tif" */
    size_t tl = strlen(t), ol = strlen(o), sl = tl - stem;
    if (tl <= stem || strncmp(t, v, stem) != 0 || ol <= sl || strcmp(o + ol - sl, suffix) != 0)
        return NULL;
    size_t keep = strlen(output) - sl, size = keep + strlen(v + stem) + 1;
    char *single = malloc(size);
    if (single)
        snprintf(single, size, "%.*s%s", (int)keep, output, v + stem);
    return single;
}

/* The index of the word after -o / --output, or of the --output=X word (*joined set), in
 * words; -1 when none. */
static int output_word(const word *words, int n, int *joined)
{
    for (int i = 0; i < n; i++) {
        if (is_option(words[i].value, "--output", joined) && *joined)
            return i;
        if ((strcmp(words[i].value, "-o") == 0 || strcmp(words[i].value, "--output") == 0) && i + 1 < n)
            return i + 1;
    }
    return -1;
}

/* The length of a pipeline stage name "NAME-tile-3:" (or -depth-3:) without its tile job's
 * suffix, "NAME"; 0 when word is no such name (tiles.c of the pipeline names the jobs). */
static int tile_job_suffix(const char *name)
{
    size_t n = strlen(name);
    if (n < 2 || name[n - 1] != ':')
        return 0;
    size_t d = n - 1;
    while (d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9')
        d--;
    if (d == n - 1 || d == 0 || name[d - 1] != '-')
        return 0;
    static const char *const JOBS[] = {"-tile", "-depth"};
    for (size_t k = 0; k < sizeof JOBS / sizeof *JOBS; k++) {
        size_t len = strlen(JOBS[k]);
        if (d - 1 > len && strncmp(name + d - 1 - len, JOBS[k], len) == 0)
            return (int)(d - 1 - len);
    }
    return 0;
}

char *cr_mosaic_command_line(const char *tile_command, const char *tile_path, const char *output)
{
    int n = 0, joined = 0;
    word *words = split_words(tile_command, &n);
    int at = words ? output_word(words, n, &joined) : -1;
    char *single = at < 0 ? NULL : single_output(words[at].value + (joined ? strlen("--output=") : 0),
                                                 tile_path, output);
    char *quoted = single ? cr_shell_quote(1, &single) : NULL;
    size_t size = strlen(tile_command) + (quoted ? strlen(quoted) : 0) + 16;
    char *line = quoted ? malloc(size) : NULL;
    size_t used = 0;
    for (int i = 0; line && i < n; i++) {
        const char *v = words[i].value;
        int skip_joined = 0;
        if (is_option(v, "--tile", &skip_joined) || is_option(v, "--window", &skip_joined) ||
            is_option(v, "--phase", &skip_joined) || is_option(v, "--join", &skip_joined)) {
            i += !skip_joined; /* and its value: inundation's phase 3 is the single run's part */
            continue;
        }
        int job = i > 0 && strcmp(words[i - 1].value, "stage") == 0 ? tile_job_suffix(v) : 0;
        if (job > 0) /* a pipeline's tile job "stage NAME-tile-3:" is stage NAME's */
            used += (size_t)snprintf(line + used, size - used, "%s%.*s:", used ? " " : "", job, v);
        else if (i == at)
            used += (size_t)snprintf(line + used, size - used, "%s%s%s", used ? " " : "",
                                     joined ? "--output=" : "", quoted);
        else
            used += (size_t)snprintf(line + used, size - used, "%s%.*s", used ? " " : "",
                                     (int)(words[i].end - words[i].start), tile_command + words[i].start);
    }
    free_words(words, n);
    free(single);
    free(quoted);
    return line;
}

/* ---- what every tile must share ---- */

/* A tile's description: what the mosaic writes, and what the other tiles must match. */
typedef struct look {
    char *wkt;
    double gt[6];
    int bands;
    GDALDataType *type;
    int *has_nodata;
    double *nodata;
    char **names, **units; /* bands entries each, "" when none */
    char ***band_md;       /* bands CSLs */
    int *has_table;        /* a colour table */
    char **md;             /* the dataset's items, without the tile marks */
    char *command;         /* CITYRISK_COMMAND as the single run records it; NULL when none */
    char *statistics;      /* CITYRISK_STATISTICS; NULL when none */
    char writer[32];       /* the command's name in CITYRISK_COMMAND; "" when none */
} look;

static void look_release(look *l)
{
    for (int b = 0; b < l->bands; b++) {
        if (l->names)
            free(l->names[b]);
        if (l->units)
            free(l->units[b]);
        if (l->band_md)
            CSLDestroy(l->band_md[b]);
    }
    free(l->wkt);
    free(l->type);
    free(l->has_nodata);
    free(l->nodata);
    free(l->names);
    free(l->units);
    free(l->band_md);
    free(l->has_table);
    CSLDestroy(l->md);
    free(l->command);
    free(l->statistics);
    memset(l, 0, sizeof *l);
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

/* The name of the command a recorded line ran, into writer: its first word, or for a
 * pipeline's stage ("run p.json; stage s: score ...") the first word of the stage's. */
static void command_name(const char *line, char *writer, size_t size)
{
    const char *stage = strstr(line, "; stage ");
    const char *colon = stage ? strstr(stage, ": ") : NULL;
    const char *p = colon ? colon + 2 : line;
    size_t n = strcspn(p, " ");
    snprintf(writer, size, "%.*s", (int)(n < size ? n : size - 1), p);
}

/* The dataset's default-domain items without the tile marks, CITYRISK_COMMAND and the
 * per-tile items, which go to l->command and l->statistics. */
static void read_dataset_items(GDALDatasetH ds, const char *path, const char *output, look *l)
{
    for (char **m = GDALGetMetadata(ds, NULL); m && *m; m++) {
        char *key = NULL;
        const char *value = CPLParseNameValue(*m, &key);
        if (key && value && !listed(TILE_KEYS, key)) {
            if (strcmp(key, "CITYRISK_COMMAND") == 0) {
                l->command = cr_mosaic_command_line(value, path, output);
                command_name(value, l->writer, sizeof l->writer);
            }
            else if (listed(PER_TILE_ITEMS, key))
                l->statistics = strdup(value);
            else
                l->md = CSLAddString(l->md, *m);
        }
        CPLFree(key);
    }
}

static cr_status read_look(cr_ctx *ctx, GDALDatasetH ds, const char *path, const char *output, look *l)
{
    memset(l, 0, sizeof *l);
    int n = l->bands = GDALGetRasterCount(ds);
    l->wkt = dup_or_empty(GDALGetProjectionRef(ds));
    if (GDALGetGeoTransform(ds, l->gt) != CE_None || l->gt[2] != 0 || l->gt[4] != 0 || !*l->wkt)
        return cr_ctx_fail(ctx, CR_E_DATA, "tile '%s' has no north-up geotransform or no CRS", path);
    l->type = calloc((size_t)n + 1, sizeof *l->type);
    l->has_nodata = calloc((size_t)n + 1, sizeof *l->has_nodata);
    l->nodata = calloc((size_t)n + 1, sizeof *l->nodata);
    l->names = calloc((size_t)n + 1, sizeof *l->names);
    l->units = calloc((size_t)n + 1, sizeof *l->units);
    l->band_md = calloc((size_t)n + 1, sizeof *l->band_md);
    l->has_table = calloc((size_t)n + 1, sizeof *l->has_table);
    if (!l->type || !l->has_nodata || !l->nodata || !l->names || !l->units || !l->band_md || !l->has_table)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading '%s'", path);
    for (int b = 0; b < n; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
        l->type[b] = GDALGetRasterDataType(band);
        l->nodata[b] = GDALGetRasterNoDataValue(band, &l->has_nodata[b]);
        l->names[b] = dup_or_empty(GDALGetDescription(band));
        l->units[b] = dup_or_empty(GDALGetRasterUnitType(band));
        l->band_md[b] = CSLDuplicate(GDALGetMetadata(band, NULL));
        l->has_table[b] = GDALGetRasterColorTable(band) != NULL;
        if (l->type[b] != GDT_Float32 && l->type[b] != GDT_Byte)
            return cr_ctx_fail(ctx, CR_E_DATA, "band %d of tile '%s' is %s: cityrisk writes Float32 "
                               "or Byte", b + 1, path, GDALGetDataTypeName(l->type[b]));
        if (!l->has_nodata[b])
            return cr_ctx_fail(ctx, CR_E_DATA, "band %d of tile '%s' has no nodata: not a raster "
                               "cityrisk writes", b + 1, path);
    }
    read_dataset_items(ds, path, output, l);
    return CR_OK;
}

/* The first item of a that b lacks or holds with another value (or, the other way, of b
 * that a lacks), into key; 0 when they hold the same items. */
static int items_differ(char **a, char **b, char *key, size_t size)
{
    for (int pass = 0; pass < 2; pass++) {
        char **x = pass ? b : a, **y = pass ? a : b;
        for (char **m = x; m && *m; m++) {
            char *k = NULL;
            const char *v = CPLParseNameValue(*m, &k);
            const char *w = k ? CSLFetchNameValue(y, k) : NULL;
            int differ = k && (!w || !v || strcmp(v, w) != 0);
            if (differ)
                snprintf(key, size, "%s", k);
            CPLFree(k);
            if (differ)
                return 1;
        }
    }
    return 0;
}

static int same_number(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

/* Fails naming both tiles when b's grid is not a's: CRS, cell size, and the whole grid's
 * origin (a tile's origin less its window's offset in cells). */
static cr_status compare_grids(cr_ctx *ctx, const look *a, const cr_mosaic_part *pa, const look *b,
                               const cr_mosaic_part *pb)
{
    const char *what = NULL;
    double ax = a->gt[0] - pa->window.x * a->gt[1], ay = a->gt[3] - pa->window.y * a->gt[5];
    double bx = b->gt[0] - pb->window.x * b->gt[1], by = b->gt[3] - pb->window.y * b->gt[5];
    if (strcmp(a->wkt, b->wkt) != 0 && !cr_crs_equal(a->wkt, b->wkt))
        what = "CRS";
    else if (a->gt[1] != b->gt[1] || a->gt[5] != b->gt[5])
        what = "cell size";
    else if (fabs(ax - bx) > 1e-6 * fabs(a->gt[1]) || fabs(ay - by) > 1e-6 * fabs(a->gt[5]))
        what = "grid origin (the tile's origin less its window's offset)";
    if (!what)
        return CR_OK;
    return cr_ctx_fail(ctx, CR_E_DATA, "tiles '%s' and '%s' are not of one grid: their %s differs",
                       pa->path, pb->path, what);
}

/* Fails naming both tiles and the item when b's bands or metadata are not a's. */
static cr_status compare_looks(cr_ctx *ctx, const look *a, const cr_mosaic_part *pa, const look *b,
                               const cr_mosaic_part *pb)
{
    cr_status st = compare_grids(ctx, a, pa, b, pb);
    if (st != CR_OK)
        return st;
    if (a->bands != b->bands)
        return cr_ctx_fail(ctx, CR_E_DATA, "tiles '%s' and '%s' differ: %d bands against %d", pa->path,
                           pb->path, a->bands, b->bands);
    char key[256], what[400];
    for (int i = 0; i < a->bands; i++) {
        what[0] = '\0';
        if (a->type[i] != b->type[i])
            snprintf(what, sizeof what, "cell type");
        else if (!same_number(a->nodata[i], b->nodata[i]))
            snprintf(what, sizeof what, "nodata");
        else if (strcmp(a->names[i], b->names[i]) != 0)
            snprintf(what, sizeof what, "description ('%s' against '%s')", a->names[i], b->names[i]);
        else if (strcmp(a->units[i], b->units[i]) != 0)
            snprintf(what, sizeof what, "unit");
        else if (a->has_table[i] != b->has_table[i])
            snprintf(what, sizeof what, "colour table");
        else if (items_differ(a->band_md[i], b->band_md[i], key, sizeof key))
            snprintf(what, sizeof what, "metadata item %s", key);
        if (what[0])
            return cr_ctx_fail(ctx, CR_E_DATA, "tiles '%s' and '%s' differ in band %d: its %s", pa->path,
                               pb->path, i + 1, what);
    }
    if (items_differ(a->md, b->md, key, sizeof key))
        return cr_ctx_fail(ctx, CR_E_DATA, "tiles '%s' and '%s' differ in metadata item %s", pa->path,
                           pb->path, key);
    return CR_OK;
}

/* ---- the marks of each tile ---- */

/* Reads "A,B,C,D" (count whole numbers) into v; 0 on success. */
static int read_numbers(const char *text, int count, int *v)
{
    const char *p = text;
    for (int k = 0; k < count; k++) {
        char *end = NULL;
        long x = strtol(p, &end, 10);
        if (end == p || x < 0 || x > 1000000000L || *end != (k + 1 < count ? ',' : '\0'))
            return -1;
        v[k] = (int)x;
        p = end + 1;
    }
    return 0;
}

/* The window the tile's marks say, checked against its size, the whole grid and, for
 * --tile I/N, the window cr_tile_window() gives tile I. */
static cr_status read_marks(cr_ctx *ctx, GDALDatasetH ds, cr_mosaic_part *part, int full[2])
{
    const char *window = GDALGetMetadataItem(ds, CR_TILE_WINDOW_KEY, NULL);
    const char *size = GDALGetMetadataItem(ds, CR_TILE_FULL_SIZE_KEY, NULL);
    const char *tile = GDALGetMetadataItem(ds, CR_TILE_KEY, NULL);
    if (!window || !size)
        return cr_ctx_fail(ctx, CR_E_DATA, "'%s' is not a cityrisk tile: it has no %s metadata (tiles "
                           "are written by per-cell commands run with --tile I/N or --window)",
                           part->path, window ? CR_TILE_FULL_SIZE_KEY : CR_TILE_WINDOW_KEY);
    int v[4];
    if (read_numbers(window, 4, v) || read_numbers(size, 2, full) || v[2] < 1 || v[3] < 1 ||
        full[0] < 1 || full[1] < 1)
        return cr_ctx_fail(ctx, CR_E_DATA, "tile '%s': %s '%s' or %s '%s' is not whole numbers", part->path,
                           CR_TILE_WINDOW_KEY, window, CR_TILE_FULL_SIZE_KEY, size);
    part->window = (cr_window){v[0], v[1], v[2], v[3]};
    cr_grid whole = {NULL, {0, 1, 0, 0, 0, -1}, full[0], full[1]};
    cr_tile_spec spec = {0, 0, 1, part->window};
    if (GDALGetRasterXSize(ds) != v[2] || GDALGetRasterYSize(ds) != v[3])
        return cr_ctx_fail(ctx, CR_E_DATA, "tile '%s' is %d x %d cells, its %s says %d x %d", part->path,
                           GDALGetRasterXSize(ds), GDALGetRasterYSize(ds), CR_TILE_WINDOW_KEY, v[2], v[3]);
    cr_window check;
    if (cr_tile_window(ctx, &whole, &spec, &check) != CR_OK)
        return cr_ctx_fail(ctx, CR_E_DATA, "tile '%s': window %s is not a window of %d-cell blocks inside "
                           "its %d x %d grid", part->path, window, CR_BLOCK_SIZE, full[0], full[1]);
    if (tile) {
        cr_tile_spec t = {0};
        if (cr_tile_parse(ctx, tile, &t) != CR_OK || cr_tile_window(ctx, &whole, &t, &check) != CR_OK ||
            memcmp(&check, &part->window, sizeof check) != 0)
            return cr_ctx_fail(ctx, CR_E_DATA, "tile '%s': %s '%s' is not tile %s of a %d x %d grid",
                               part->path, CR_TILE_WINDOW_KEY, window, tile, full[0], full[1]);
        part->index = t.index;
        part->count = t.count;
    }
    return CR_OK;
}

/* Reads every tile's marks into parts, checks they are of one size of grid and cover it. */
static cr_status place_tiles(cr_ctx *ctx, cr_mosaic_part *parts, int n, int full[2])
{
    cr_status st = CR_OK;
    for (int i = 0; i < n && st == CR_OK; i++) {
        GDALDatasetH ds = NULL;
        int size[2] = {0, 0};
        st = cr_open_dataset(ctx, parts[i].path, "tile", "raster", GDAL_OF_RASTER, &ds);
        if (st == CR_OK)
            st = read_marks(ctx, ds, &parts[i], size);
        if (ds)
            GDALClose(ds);
        if (st == CR_OK && i == 0)
            full[0] = size[0], full[1] = size[1];
        else if (st == CR_OK && (size[0] != full[0] || size[1] != full[1]))
            st = cr_ctx_fail(ctx, CR_E_DATA, "tiles '%s' and '%s' are not of one grid: %d x %d cells "
                             "against %d x %d", parts[0].path, parts[i].path, full[0], full[1], size[0],
                             size[1]);
    }
    return st == CR_OK ? cr_mosaic_cover(ctx, parts, n, full[0], full[1]) : st;
}

/* Reads the first tile's description into ref, and checks every other tile's against it.
 * *command_same: every tile's command is the same once --tile and -o are taken out;
 * *statistics_same: their per-tile items agree. */
static cr_status check_tiles(cr_ctx *ctx, const cr_mosaic_part *parts, int n, const char *output,
                             look *ref, int *command_same, int *statistics_same)
{
    GDALDatasetH ds = NULL;
    cr_status st = cr_open_dataset(ctx, parts[0].path, "tile", "raster", GDAL_OF_RASTER, &ds);
    if (st == CR_OK)
        st = read_look(ctx, ds, parts[0].path, output, ref);
    if (ds)
        GDALClose(ds);
    *command_same = ref->command != NULL;
    *statistics_same = 1;
    for (int i = 1; i < n && st == CR_OK; i++) {
        look other;
        memset(&other, 0, sizeof other);
        st = cr_open_dataset(ctx, parts[i].path, "tile", "raster", GDAL_OF_RASTER, &ds);
        if (st == CR_OK)
            st = read_look(ctx, ds, parts[i].path, output, &other);
        if (ds)
            GDALClose(ds);
        if (st == CR_OK)
            st = compare_looks(ctx, ref, &parts[0], &other, &parts[i]);
        if (!other.command || !ref->command || strcmp(other.command, ref->command) != 0)
            *command_same = 0;
        if ((other.statistics == NULL) != (ref->statistics == NULL) ||
            (other.statistics && strcmp(other.statistics, ref->statistics) != 0))
            *statistics_same = 0;
        look_release(&other);
    }
    return st;
}

/* ---- writing ---- */

/* The categories of a Byte tile: its first band's CLASS_NAMES and CLASS_COLORS, JSON arrays
 * of as many strings, into names and colors (borrowed from *doc, to json_object_put()).
 * Returns their count, 0 when the tile has none. */
static int read_categories(const look *l, json_object **doc, const char **names, const char **colors)
{
    const char *n = CSLFetchNameValue(l->band_md[0], "CLASS_NAMES");
    const char *c = CSLFetchNameValue(l->band_md[0], "CLASS_COLORS");
    *doc = NULL;
    if (l->type[0] != GDT_Byte || !n || !c)
        return 0;
    *doc = json_object_new_array();
    json_object *jn = json_tokener_parse(n), *jc = json_tokener_parse(c);
    json_object_array_add(*doc, jn);
    json_object_array_add(*doc, jc);
    if (!json_object_is_type(jn, json_type_array) || !json_object_is_type(jc, json_type_array))
        return 0;
    int count = (int)json_object_array_length(jn);
    if (count != (int)json_object_array_length(jc) || count > 255)
        return 0;
    for (int k = 0; k < count; k++) {
        names[k] = json_object_get_string(json_object_array_get_idx(jn, k));
        colors[k] = json_object_get_string(json_object_array_get_idx(jc, k));
    }
    return count;
}

/* Sets on the new output the tiles' dataset and band items (without the tile marks), and
 * the command the single run records when the tiles agree on it. */
static cr_status copy_items(cr_ctx *ctx, cr_writer *w, const look *l, int command_same,
                            int statistics_same)
{
    cr_status st = CR_OK;
    for (int b = 0; b <= l->bands && st == CR_OK; b++)
        for (char **m = b ? l->band_md[b - 1] : l->md; m && *m && st == CR_OK; m++) {
            char *key = NULL;
            const char *value = CPLParseNameValue(*m, &key);
            if (key && value)
                st = cr_writer_set_metadata(ctx, w, b, key, value);
            CPLFree(key);
        }
    if (st == CR_OK && command_same)
        st = cr_writer_set_metadata(ctx, w, 0, "CITYRISK_COMMAND", l->command);
    if (st == CR_OK && statistics_same && l->statistics)
        st = cr_writer_set_metadata(ctx, w, 0, PER_TILE_ITEMS[0], l->statistics);
    return st;
}

/* Opens the writer of output on the whole grid, with the tiles' bands, cell type, nodata
 * and categories, and each band's overviews as the command's writer made them. */
static cr_status open_writer(cr_ctx *ctx, const look *l, const int full[2], const char *const *inputs,
                             const char *output, const cr_mosaic_opts *opts, cr_writer **w)
{
    cr_grid *grid = NULL;
    cr_status st = cr_grid_new(ctx, l->wkt, l->gt, full[0], full[1], &grid);
    int *categorical = calloc((size_t)l->bands, sizeof *categorical);
    const char **names = calloc((size_t)l->bands, sizeof *names), **units = calloc((size_t)l->bands, sizeof *units);
    const char *cat_names[256], *cat_colors[256];
    json_object *doc = NULL;
    if (st == CR_OK && (!categorical || !names || !units))
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", output);
    int categories = st == CR_OK ? read_categories(l, &doc, cat_names, cat_colors) : 0;
    for (int b = 0; st == CR_OK && b < l->bands; b++) {
        const char *how = CSLFetchNameValue(l->band_md[b], CR_OVERVIEW_RESAMPLING_KEY);
        categorical[b] = how && strcmp(how, CR_OVERVIEW_MODE) == 0;
        names[b] = *l->names[b] ? l->names[b] : NULL;
        units[b] = *l->units[b] ? l->units[b] : NULL;
        if (l->has_table[b] && !categories)
            st = cr_ctx_fail(ctx, CR_E_DATA, "band %d of the tiles has a colour table without "
                             "CLASS_NAMES and CLASS_COLORS: not a raster cityrisk writes", b + 1);
    }
    if (st == CR_OK) {
        cr_writer_opts wo;
        cr_writer_opts_init(&wo);
        wo.band_count = l->bands;
        wo.band_names = names;
        wo.band_units = units;
        wo.nodata = l->nodata[0];
        wo.overwrite = opts->overwrite;
        wo.creation_options = opts->creation_options;
        wo.input_paths = inputs;
        wo.band_categorical = categorical;
        wo.type = l->type[0] == GDT_Byte ? CR_WRITER_BYTE : CR_WRITER_FLOAT32;
        wo.category_count = categories;
        wo.category_names = cat_names;
        wo.category_colors = cat_colors;
        st = cr_writer_open(ctx, output, grid, &wo, w);
    }
    json_object_put(doc);
    free(categorical);
    free(names);
    free(units);
    cr_grid_free(grid);
    return st;
}

/* Copies every block of the tile's bands into the writer at the tile's window; *done
 * counts the blocks of all tiles, of total, for the progress. */
static cr_status copy_tile(cr_ctx *ctx, cr_writer *w, const cr_mosaic_part *part, int bands,
                           float *cells, int64_t *done, int64_t total)
{
    GDALDatasetH ds = NULL;
    cr_status st = cr_open_dataset(ctx, part->path, "tile", "raster", GDAL_OF_RASTER, &ds);
    const cr_window *t = &part->window;
    for (int y = 0; y < t->h && st == CR_OK; y += CR_BLOCK_SIZE) {
        for (int x = 0; x < t->w && st == CR_OK; x += CR_BLOCK_SIZE) {
            cr_window local = {x, y, t->w - x < CR_BLOCK_SIZE ? t->w - x : CR_BLOCK_SIZE,
                               t->h - y < CR_BLOCK_SIZE ? t->h - y : CR_BLOCK_SIZE};
            cr_window at = {t->x + x, t->y + y, local.w, local.h};
            for (int b = 1; b <= bands && st == CR_OK; b++) {
                cr_gdal_begin(ctx);
                if (GDALRasterIO(GDALGetRasterBand(ds, b), GF_Read, local.x, local.y, local.w, local.h, cells,
                                 local.w, local.h, GDT_Float32, 0, 0) != CE_None)
                    st = cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot read band %d of tile '%s'", b, part->path);
                cr_gdal_end(ctx);
                if (st == CR_OK)
                    st = cr_writer_write(ctx, w, b, &at, cells);
            }
            if (st == CR_OK && !cr_ctx_progress(ctx, (double)++*done / (double)total, "joining the tiles"))
                st = cr_ctx_fail(ctx, CR_E_CANCELLED, "joining the tiles was cancelled");
        }
        if (ds) /* the blocks read stay in GDAL's cache until dropped: keep memory bounded */
            GDALFlushCache(ds);
    }
    if (ds)
        GDALClose(ds);
    return st;
}

/* Writes the mosaic: every tile's cells, then the commit. */
static cr_status write_mosaic(cr_ctx *ctx, const cr_mosaic_part *parts, int n, const look *ref,
                              const int full[2], const char *const *inputs, const char *output,
                              const cr_mosaic_opts *opts, int command_same, int statistics_same)
{
    cr_writer *w = NULL;
    cr_status st = open_writer(ctx, ref, full, inputs, output, opts, &w);
    if (st == CR_OK)
        st = copy_items(ctx, w, ref, command_same, statistics_same);
    float *cells = st == CR_OK ? malloc((size_t)CR_BLOCK_SIZE * CR_BLOCK_SIZE * sizeof *cells) : NULL;
    if (st == CR_OK && !cells)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", output);
    int64_t done = 0, total = 0;
    for (int i = 0; i < n; i++)
        total += (int64_t)((parts[i].window.w + CR_BLOCK_SIZE - 1) / CR_BLOCK_SIZE) *
                 ((parts[i].window.h + CR_BLOCK_SIZE - 1) / CR_BLOCK_SIZE);
    cr_ctx_set_progress_range(ctx, 0.0, 0.5);
    for (int i = 0; i < n && st == CR_OK; i++)
        st = copy_tile(ctx, w, &parts[i], ref->bands, cells, &done, total);
    free(cells);
    cr_ctx_set_progress_range(ctx, 0.5, 1.0);
    if (st == CR_OK)
        st = cr_writer_commit(ctx, w);
    else
        cr_writer_abort(w);
    cr_ctx_set_progress_range(ctx, 0.0, 1.0);
    return st;
}

cr_status cr_mosaic(cr_ctx *ctx, const char *const *paths, int count, const char *output,
                    const cr_mosaic_opts *opts, cr_mosaic_summary *summary)
{
    cr_mosaic_opts defaults;
    if (!opts) {
        cr_mosaic_opts_init(&defaults);
        opts = &defaults;
    }
    if (count < 1)
        return cr_ctx_fail(ctx, CR_E_USAGE, "no tile to join");
    const char **inputs = calloc((size_t)count + 1, sizeof *inputs);
    cr_mosaic_part *parts = calloc((size_t)count, sizeof *parts);
    cr_status st = inputs && parts ? CR_OK : cr_ctx_fail(ctx, CR_E_IO, "out of memory joining %d tiles", count);
    for (int i = 0; st == CR_OK && i < count; i++) {
        inputs[i] = paths[i];
        parts[i].path = paths[i];
    }
    if (st == CR_OK) /* before any work: an output that exists, or is a tile */
        st = cr_outputs_check(ctx, output, "raster", NULL, inputs, opts->overwrite);
    int full[2] = {0, 0}, command_same = 0, statistics_same = 0;
    look ref;
    memset(&ref, 0, sizeof ref);
    if (st == CR_OK)
        st = place_tiles(ctx, parts, count, full);
    if (st == CR_OK)
        st = check_tiles(ctx, parts, count, output, &ref, &command_same, &statistics_same);
    if (st == CR_OK)
        st = write_mosaic(ctx, parts, count, &ref, full, inputs, output, opts, command_same, statistics_same);
    if (st == CR_OK && !command_same)
        cr_ctx_log(ctx, CR_LOG_WARNING, "the tiles' CITYRISK_COMMAND does not give the single run's "
                   "(they differ beyond --tile, --window and -o, or a tile is not named after its -o): "
                   "'%s' records the mosaic's command", output);
    if (st == CR_OK && !statistics_same)
        cr_ctx_log(ctx, CR_LOG_WARNING, "the tiles' %s (of their own cells) differ: '%s' carries none",
                   PER_TILE_ITEMS[0], output);
    if (st == CR_OK && summary) {
        *summary = (cr_mosaic_summary){count, full[0], full[1], ref.bands, command_same, !statistics_same,
                                       "", ref.type[0] == GDT_Byte && CSLFetchNameValue(ref.band_md[0], "CLASS_NAMES")};
        snprintf(summary->writer, sizeof summary->writer, "%s", ref.writer);
    }
    look_release(&ref);
    free(parts);
    free(inputs);
    return st;
}
