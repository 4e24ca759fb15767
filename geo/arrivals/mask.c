/* mask.c: the allowed cells of `arrivals --mask`, per tile. */
#include "mask.h"

#include <stdlib.h>
#include <string.h>

#include "cityrisk/raster.h"
#include "core/internal.h"
#include "core/polygons.h"

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
            cells[(size_t)r * (size_t)m->tile + (size_t)c] =
                allowed[(size_t)r * (size_t)w + (size_t)c] != 0;
    m->cells[index] = cells;
    m->mixed++;
    return CR_OK;
}

/* Calls read(arg, window, allowed) for each tile of grid to fill a new mask. */
typedef cr_status (*tile_reader)(cr_ctx *ctx, void *arg, const cr_window *win, uint8_t *allowed);

static cr_status fill(cr_ctx *ctx, const char *path, const cr_grid *grid, int tile,
                      tile_reader read, void *arg, cr_mask **out)
{
    cr_mask *m = NULL;
    uint8_t *allowed = malloc((size_t)tile * (size_t)tile);
    cr_status st = allowed ? cr_mask_new(ctx, grid, tile, &m)
                           : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    int64_t tiles = st == CR_OK ? (int64_t)m->tiles_x * m->tiles_y : 0;
    for (int64_t t = 0; st == CR_OK && t < tiles; t++) {
        cr_window win = cr_grid_window(grid, tile, t);
        st = read(ctx, arg, &win, allowed);
        if (st == CR_OK)
            st = cr_mask_set_tile(ctx, m, t, allowed, win.w, win.h);
        if (st == CR_OK && !cr_ctx_progress(ctx, (double)(t + 1) / (double)tiles, NULL))
            st = cr_ctx_fail(ctx, CR_E_CANCELLED, "reading the mask '%s' was cancelled", path);
    }
    free(allowed);
    if (st == CR_OK)
        *out = m;
    else
        cr_mask_free(m);
    return st;
}

typedef struct raster_reader {
    cr_layer *layer;
    float *values;
} raster_reader;

static cr_status read_raster(cr_ctx *ctx, void *arg, const cr_window *win, uint8_t *allowed)
{
    raster_reader *r = arg;
    cr_status st = cr_layer_read_f32(ctx, r->layer, win, r->values, allowed);
    for (size_t k = 0; st == CR_OK && k < (size_t)win->w * (size_t)win->h; k++)
        allowed[k] = allowed[k] && r->values[k] != 0;
    return st;
}

cr_status cr_mask_from_raster(cr_ctx *ctx, const char *path, const cr_grid *grid, int tile,
                              cr_mask **out)
{
    *out = NULL;
    cr_layer_opts lo;
    cr_layer_opts_init(&lo);
    lo.kind = CR_KIND_CLASS;
    raster_reader r = {NULL, malloc((size_t)tile * (size_t)tile * sizeof(float))};
    cr_status st = r.values ? cr_layer_open(ctx, path, grid, &lo, &r.layer)
                            : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK)
        st = fill(ctx, path, grid, tile, read_raster, &r, out);
    cr_layer_close(r.layer);
    free(r.values);
    return st;
}

typedef struct polygon_reader {
    const cr_polyset *set;
    cr_coverage_scratch scratch;
    double *fractions;
} polygon_reader;

static cr_status read_polygons(cr_ctx *ctx, void *arg, const cr_window *win, uint8_t *allowed)
{
    polygon_reader *p = arg;
    cr_status st = cr_polyset_fraction(ctx, p->set, win, &p->scratch, p->fractions);
    for (size_t k = 0; st == CR_OK && k < (size_t)win->w * (size_t)win->h; k++)
        allowed[k] = p->fractions[k] >= 0.5;
    return st;
}

cr_status cr_mask_from_polygons(cr_ctx *ctx, const char *path, const char *layer,
                                const cr_grid *grid, int tile, cr_mask **out)
{
    *out = NULL;
    cr_polyset_opts po;
    memset(&po, 0, sizeof po);
    po.what = "mask polygons";
    po.layer = layer;
    po.layer_flag = "--mask-layer";
    po.dissolve = 1;
    po.cancelled = "reading the mask was cancelled";
    polygon_reader p = {NULL, {0}, malloc((size_t)tile * (size_t)tile * sizeof(double))};
    cr_polyset *set = NULL;
    cr_status st = p.fractions ? cr_polyset_load(ctx, path, grid, &po, &set)
                               : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    p.set = set;
    if (st == CR_OK)
        st = fill(ctx, path, grid, tile, read_polygons, &p, out);
    cr_coverage_scratch_free(&p.scratch);
    free(p.fractions);
    cr_polyset_free(set);
    return st;
}

cr_status cr_mask_open(cr_ctx *ctx, const char *path, const char *layer, const cr_grid *grid,
                       int tile, cr_mask **out)
{
    GDALDatasetH ds = NULL;
    cr_status st = cr_open_dataset(ctx, path, "mask", "raster or polygons",
                                   GDAL_OF_RASTER | GDAL_OF_VECTOR, &ds);
    if (st != CR_OK)
        return st;
    int raster = GDALGetRasterCount(ds) > 0;
    GDALClose(ds);
    return raster ? cr_mask_from_raster(ctx, path, grid, tile, out)
                  : cr_mask_from_polygons(ctx, path, layer, grid, tile, out);
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
