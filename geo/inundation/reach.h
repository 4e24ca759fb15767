/* reach.h: which cells of a raster are joined to a seed, tile by tile (internal).
 *
 * A cell is "wet" or not, and some wet cells are seeds; the question is which wet
 * cells are joined to a seed through wet cells (4 or 8 neighbours). The raster never
 * has to fit in memory:
 *
 *   scan pass   tiles in row-major order: label the wet cells of each tile with a
 *               union-find over its cells; the components that touch the tile's
 *               border get global ids and are joined to their neighbours across
 *               the border (the previous tile row's bottom edge and the left tile's
 *               right edge are kept) in a global union-find that also records
 *               which components hold a seed;
 *   resolve     each tile again (any order), with the same masks: the labelling is
 *               deterministic, so the tile's border components get the same global
 *               ids; a cell is joined when its component holds a seed itself or its
 *               global root does.
 *
 * Memory: O(tile cells) for one tile's labels (13 bytes per cell, the scratch of a scan
 * or resolve call, which reaches used one after the other share), O(raster width) for the
 * edges, and O(border components) for the global union-find: at most the cells on tile
 * borders, a small fraction of the raster (2/tile of it for square tiles). */
#ifndef CITYRISK_REACH_H
#define CITYRISK_REACH_H

#include <stdint.h>

#include "cityrisk/context.h"
#include "cityrisk/grid.h"

typedef struct cr_reach cr_reach;

/* One tile's labels, grown to the largest window seen: what scan and resolve work in and
 * leave nothing in. Reaches that are never scanned or resolved at the same time (one per
 * sea level, on one thread) share one, so that memory does not grow with their number.
 * NULL when out of memory. */
typedef struct cr_reach_labels cr_reach_labels;
cr_reach_labels *cr_reach_labels_new(void);
void cr_reach_labels_free(cr_reach_labels *labels);

/* A reach over a raster width x height cut in tiles of `tile` cells (the windows of
 * cr_grid_window(grid, tile, i)), with connectivity 4 or 8, working in labels (the
 * caller's, to free after the reach) or, when labels is NULL, in labels of its own.
 * NULL when out of memory. */
cr_reach *cr_reach_new(int width, int height, int tile, int connectivity, cr_reach_labels *labels);
void cr_reach_free(cr_reach *r);

/* Scan pass: call for every tile window in row-major order (index 0, 1, ...).
 * wet and seed hold win->w * win->h cells. Fails only when out of memory. */
cr_status cr_reach_scan(cr_ctx *ctx, cr_reach *r, const cr_window *win, const uint8_t *wet,
                        const uint8_t *seed);

/* Resolve pass, after every tile was scanned: sets joined[i] to 1 for wet cells joined
 * to a seed, 0 otherwise. wet and seed must be the masks given to the scan. */
cr_status cr_reach_resolve(cr_ctx *ctx, cr_reach *r, const cr_window *win, const uint8_t *wet,
                           const uint8_t *seed, uint8_t *joined);

/* Fused with the sea (docs/inundation.md "Performance"): the sea's reach (candidates,
 * seeded on the raster edge) and the reaches of the land below each level scanned in one
 * pass, the land's components linked to the sea's components they touch. Which of those hold
 * a seed (are the sea) is known only after the pass, so the pairs are kept (once per tile)
 * and applied by cr_reach_link_done(). A land cell is then joined when its component of land
 * below the level touches the sea: the cells joined to the sea through the sea and the land
 * below the level, as one reach over both would find. Per tile, in row-major tile order:
 *
 *   cr_reach_scan_sea(sea, ...);              the sea's tile first, with labels of its own
 *   cr_reach_scan_linked(land_k, ..., sea);   each land reach (which may share labels)
 *   cr_reach_scan_sea_done(sea, win);
 *
 * then, after the pass, cr_reach_link_done(land_k, sea) for each, and in the resolve pass the
 * land's seeds are its cells that touch the sea (cr_reach_touching()). cr_reach_scan_linked()
 * names path (the DEM) when it fails (CR_E_IO, out of memory). */
cr_status cr_reach_scan_sea(cr_ctx *ctx, cr_reach *sea, const cr_window *win, const uint8_t *cand,
                            const uint8_t *seed);
cr_status cr_reach_scan_linked(cr_ctx *ctx, cr_reach *land, const cr_window *win, const uint8_t *wet,
                               const cr_reach *sea, const char *path);
void cr_reach_scan_sea_done(cr_reach *sea, const cr_window *win);

/* Marks the land's components linked to a sea component that holds a seed as seeded, and
 * frees the pairs. */
void cr_reach_link_done(cr_reach *land, cr_reach *sea);

/* The pairs of land and sea components a land reach holds during the scan, and the room it
 * has for them (for tests: each pair is held once per tile, and the room grows only when
 * distinct pairs fill more than half of it). */
int64_t cr_reach_links(const cr_reach *land);
int64_t cr_reach_link_capacity(const cr_reach *land);

/* seed[i] = wet[i] and cell i or one of its neighbours (4 or 8) within the w x h window is
 * sea[]: the seeds of a land reach linked to the sea, for cr_reach_resolve(). */
void cr_reach_touching(int w, int h, int connectivity, const uint8_t *wet, const uint8_t *sea,
                       uint8_t *seed);

/* One window labelled whole, for phase 1 of a run in parts (docs/inundation.md "In tiles
 * across machines"): its wet cells' components, numbered by first appearance in row-major
 * order, those touching the window's border numbered again 0, 1, ... in that order. The
 * arrays are the labels' own, valid until they are used again. */
typedef struct cr_reach_view {
    const int32_t *comp;    /* per cell: component, -1 for dry cells */
    const uint8_t *seeded;  /* per component: holds a seed */
    const int32_t *border;  /* per component: its number among the border ones, else -1 */
    int32_t count;          /* components */
    int32_t border_count;   /* components touching the border */
} cr_reach_view;

/* Labels a w x h window (at most 2^31 - 1 cells) of wet cells with connectivity 4 or 8;
 * seed may be NULL. Fails with CR_E_USAGE when the window is too large, CR_E_IO when out
 * of memory. */
cr_status cr_reach_label_window(cr_ctx *ctx, cr_reach_labels *labels, int w, int h, int connectivity,
                                const uint8_t *wet, const uint8_t *seed, cr_reach_view *out);

/* The root of i in a union-find forest of parent links, halving the path on the way (the
 * per-tile and global union-finds of a reach, and the join of parts, use it). */
int32_t cr_reach_uf_root(int32_t *parent, int32_t i);

/* Joins the sets of a and b in a union-find under the smaller root, which gathers their
 * seeded flags: a set is seeded when any of its members is. */
void cr_reach_uf_unite(int32_t *parent, uint8_t *seeded, int32_t a, int32_t b);

#endif
