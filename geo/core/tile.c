/* tile.c: the window of a grid that --tile I/N or --window names, aligned to the blocks. */
#include "cityrisk/tile.h"
#include "cityrisk/json.h"

#include <errno.h>
#include <stdio.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A whole number from text at *p up to a stop character (or the end): 0 with *value set
 * and *p past it, -1 when there is no digit or it overflows an int. */
static int read_int(const char **p, char stop, long *value)
{
    char *end = NULL;
    if (**p < '0' || **p > '9')
        return -1;
    errno = 0;
    long v = strtol(*p, &end, 10);
    if (errno || v > INT_MAX || (*end != stop && !(stop == '\0' && *end == '\0')))
        return -1;
    *value = v;
    *p = *end ? end + 1 : end;
    return 0;
}

cr_status cr_tile_parse(cr_ctx *ctx, const char *text, cr_tile_spec *spec)
{
    const char *p = text;
    long i = 0, n = 0;
    if (!text || read_int(&p, '/', &i) || read_int(&p, '\0', &n) || n < 1 || n > CR_TILE_MAX ||
        i < 1 || i > n)
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "--tile '%s': expected I/N with 1 <= I <= N <= %d (as 3/16)",
                           text ? text : "", CR_TILE_MAX);
    spec->index = (int)i;
    spec->count = (int)n;
    return CR_OK;
}

cr_status cr_tile_parse_window(cr_ctx *ctx, const char *text, cr_tile_spec *spec)
{
    const char *p = text;
    long v[4];
    for (int k = 0; k < 4; k++) {
        if (!text || read_int(&p, k < 3 ? ',' : '\0', &v[k]) || (k >= 2 && v[k] < 1))
            return cr_ctx_fail(ctx, CR_E_USAGE,
                               "--window '%s': expected XOFF,YOFF,XSIZE,YSIZE in cells "
                               "(whole numbers, sizes above 0)", text ? text : "");
    }
    spec->window = (cr_window){(int)v[0], (int)v[1], (int)v[2], (int)v[3]};
    spec->has_window = 1;
    return CR_OK;
}

int cr_tile_given(const cr_tile_spec *spec)
{
    return spec && (spec->count > 0 || spec->has_window);
}

void cr_tile_layout(int width, int height, int count, int *rows, int *cols)
{
    /* Of the factorisations rows * cols = count, the one whose tiles' aspect (width/cols
     * against height/rows) is closest to 1 in log terms; ties go to more columns. */
    int best_r = count, best_c = 1;
    double best = INFINITY;
    for (int c = 1; c <= count; c++) {
        if (count % c)
            continue;
        int r = count / c;
        double off = fabs(log(((double)width / c) / ((double)height / r)));
        if (off <= best) {
            best = off;
            best_r = r;
            best_c = c;
        }
    }
    *rows = best_r;
    *cols = best_c;
}

/* The cells of part j of `parts` of a side of `cells` cut into blocks: [*start, *end). */
static void share(int cells, int parts, int j, int *start, int *end)
{
    int64_t blocks = (cells + CR_BLOCK_SIZE - 1) / CR_BLOCK_SIZE;
    int64_t b0 = (int64_t)j * blocks / parts, b1 = (int64_t)(j + 1) * blocks / parts;
    *start = (int)(b0 * CR_BLOCK_SIZE);
    *end = b1 * CR_BLOCK_SIZE < cells ? (int)(b1 * CR_BLOCK_SIZE) : cells;
}

/* 1 when a window's side starting at off of size size fits a side of cells, aligned. */
static int aligned(int off, int size, int cells)
{
    return off % CR_BLOCK_SIZE == 0 && off < cells && size <= cells - off &&
           (size % CR_BLOCK_SIZE == 0 || off + size == cells);
}

cr_status cr_tile_window(cr_ctx *ctx, const cr_grid *grid, const cr_tile_spec *spec,
                         cr_window *out)
{
    if (spec->count > 0 && spec->has_window)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--tile and --window name the part twice: give one");
    if (spec->has_window) {
        const cr_window *w = &spec->window;
        if (!aligned(w->x, w->w, grid->width) || !aligned(w->y, w->h, grid->height))
            return cr_ctx_fail(ctx, CR_E_USAGE,
                               "--window %d,%d,%d,%d: not a window of %d-cell blocks inside the "
                               "%d x %d grid (offsets multiples of %d, sizes too or reaching "
                               "the edge)", w->x, w->y, w->w, w->h, CR_BLOCK_SIZE, grid->width,
                               grid->height, CR_BLOCK_SIZE);
        *out = *w;
        return CR_OK;
    }
    if (spec->count == 0) {
        *out = (cr_window){0, 0, grid->width, grid->height};
        return CR_OK;
    }
    int rows, cols;
    cr_tile_layout(grid->width, grid->height, spec->count, &rows, &cols);
    int bx = (grid->width + CR_BLOCK_SIZE - 1) / CR_BLOCK_SIZE;
    int by = (grid->height + CR_BLOCK_SIZE - 1) / CR_BLOCK_SIZE;
    if (cols > bx || rows > by)
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "--tile %d/%d: the %d x %d grid has %d x %d blocks of %d cells, too "
                           "few for %d x %d tiles (use fewer tiles)", spec->index, spec->count,
                           grid->width, grid->height, bx, by, CR_BLOCK_SIZE, cols, rows);
    int i = spec->index - 1, x0, x1, y0, y1;
    share(grid->width, cols, i % cols, &x0, &x1);
    share(grid->height, rows, i / cols, &y0, &y1);
    *out = (cr_window){x0, y0, x1 - x0, y1 - y0};
    return CR_OK;
}

cr_grid *cr_grid_subgrid(const cr_grid *grid, const cr_window *window)
{
    cr_grid *g = cr_grid_clone(grid);
    if (!g)
        return NULL;
    g->gt[0] = grid->gt[0] + window->x * grid->gt[1];
    g->gt[3] = grid->gt[3] + window->y * grid->gt[5];
    g->width = window->w;
    g->height = window->h;
    return g;
}

cr_status cr_tile_mark(cr_ctx *ctx, cr_writer *w, const cr_tile_spec *spec,
                       const cr_window *window, int full_width, int full_height)
{
    char text[96];
    cr_status st = CR_OK;
    if (spec->count > 0) {
        snprintf(text, sizeof text, "%d/%d", spec->index, spec->count);
        st = cr_writer_set_metadata(ctx, w, 0, CR_TILE_KEY, text);
    }
    snprintf(text, sizeof text, "%d,%d,%d,%d", window->x, window->y, window->w, window->h);
    if (st == CR_OK)
        st = cr_writer_set_metadata(ctx, w, 0, CR_TILE_WINDOW_KEY, text);
    snprintf(text, sizeof text, "%d,%d", full_width, full_height);
    if (st == CR_OK)
        st = cr_writer_set_metadata(ctx, w, 0, CR_TILE_FULL_SIZE_KEY, text);
    return st;
}

void cr_json_add_tile(json_object *doc, const cr_tile_spec *spec, const cr_window *window)
{
    if (!cr_tile_given(spec))
        return;
    if (spec->count) {
        char tile[32];
        snprintf(tile, sizeof tile, "%d/%d", spec->index, spec->count);
        json_object_object_add(doc, "tile", json_object_new_string(tile));
    }
    const int at[4] = {window->x, window->y, window->w, window->h};
    json_object *array = json_object_new_array();
    for (int k = 0; k < 4; k++)
        json_object_array_add(array, json_object_new_int(at[k]));
    json_object_object_add(doc, "window", array);
}
