/* mask.c: the allowed cells of `arrivals --mask`, per tile. */
#include "mask.h"

#include <stdlib.h>
#include <string.h>

#include "cityrisk/raster.h"
#include "core/internal.h"

cr_status cr_mask_new(cr_ctx *ctx, const cr_grid *grid, int tile, cr_mask **out)
{
    cr_mask *m = calloc(1, sizeof *m);
    if (m) {
        m->tile = tile;
        m->tiles_x = (grid->width + tile - 1) / tile;
        m->tiles_y = (grid->height + tile - 1) / tile;
        size_t tiles = (size_t)m->tiles_x * (size_t)m->tiles_y;
        m->state = calloc(tiles, 1);
        m->cells = calloc(tiles, sizeof *m->cells);
    }
    if (!m || !m->state || !m->cells) {
        cr_mask_free(m);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory holding the mask");
    }
    *out = m;
    return CR_OK;
}

cr_status cr_mask_set_tile(cr_ctx *ctx, cr_mask *m, int64_t index, const uint8_t *allowed, int w,
                           int h)
{
    size_t n = (size_t)w * (size_t)h;
    int64_t count = 0;
    for (size_t k = 0; k < n; k++)
        count += allowed[k] != 0;
    m->allowed += count;
    free(m->cells[index]);
    m->cells[index] = NULL;
    m->state[index] = count == 0 ? CR_MASK_NONE : count == (int64_t)n ? CR_MASK_ALL : CR_MASK_MIXED;
    if (m->state[index] != CR_MASK_MIXED)
        return CR_OK;
    /* Rows of the full tile side, so that cr_mask_allowed() indexes every tile alike. */
    uint8_t *cells = calloc((size_t)m->tile * (size_t)m->tile, 1);
    if (!cells)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory holding the mask");
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++)
            cells[(size_t)r * (size_t)m->tile + (size_t)c] = allowed[(size_t)r * (size_t)w + (size_t)c] != 0;
    m->cells[index] = cells;
    m->mixed++;
    return CR_OK;
}

cr_status cr_mask_from_raster(cr_ctx *ctx, const char *path, const cr_grid *grid, int tile,
                              cr_mask **out)
{
    *out = NULL;
    cr_layer_opts lo;
    cr_layer_opts_init(&lo);
    lo.kind = CR_KIND_CLASS;
    cr_layer *layer = NULL;
    cr_mask *m = NULL;
    size_t cells = (size_t)tile * (size_t)tile;
    float *values = malloc(cells * sizeof *values);
    uint8_t *valid = malloc(cells);
    cr_status st = values && valid ? CR_OK : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK)
        st = cr_layer_open(ctx, path, grid, &lo, &layer);
    if (st == CR_OK)
        st = cr_mask_new(ctx, grid, tile, &m);
    int64_t tiles = st == CR_OK ? (int64_t)m->tiles_x * m->tiles_y : 0;
    for (int64_t t = 0; st == CR_OK && t < tiles; t++) {
        cr_window win = cr_grid_window(grid, tile, t);
        st = cr_layer_read_f32(ctx, layer, &win, values, valid);
        for (size_t k = 0; st == CR_OK && k < (size_t)win.w * (size_t)win.h; k++)
            valid[k] = valid[k] && values[k] != 0;
        if (st == CR_OK)
            st = cr_mask_set_tile(ctx, m, t, valid, win.w, win.h);
        if (st == CR_OK && !cr_ctx_progress(ctx, (double)(t + 1) / (double)tiles, NULL))
            st = cr_ctx_fail(ctx, CR_E_CANCELLED, "reading the mask '%s' was cancelled", path);
    }
    cr_layer_close(layer);
    free(values);
    free(valid);
    if (st == CR_OK)
        *out = m;
    else
        cr_mask_free(m);
    return st;
}

void cr_mask_free(cr_mask *m)
{
    if (!m)
        return;
    int64_t tiles = (int64_t)m->tiles_x * m->tiles_y;
    for (int64_t t = 0; m->cells && t < tiles; t++)
        free(m->cells[t]);
    free(m->cells);
    free(m->state);
    free(m);
}
