/* parts.h: inundation in parts across machines, the files between the phases (internal).
 *
 * docs/inundation.md "In tiles across machines" describes the phases and the formats:
 * phase 1 (edges) labels one part of the grid and writes its edge file, phase 2 (join)
 * joins the edge files of every part and writes the join file, phase 3 (depth) reads the
 * join file's bits for its part's border cells and runs the streaming passes over the part
 * with them as more seeds.
 *
 * Planes: plane 0 is the sea's candidates (DEM nodata or z <= 0, seeded on the raster
 * edge; or the --sea file's cells, all seeded); plane 1 + t is the land below threshold t
 * (valid and z < W_t; thresholds W, and with confidence W - k sigma, W + k sigma, per
 * level). A part's border cells are numbered top row (w), bottom row (w), left column (h),
 * right column (h): 2 (w + h) cells, corners twice. */
#ifndef CITYRISK_PARTS_H
#define CITYRISK_PARTS_H

#include <stdint.h>

#include "cityrisk/context.h"
#include "cityrisk/grid.h"

/* The version of both file formats. */
#define CR_PARTS_VERSION 1u

/* One plane of a part's edge file. */
typedef struct cr_part_plane {
    int32_t count;    /* components touching the part's border */
    uint8_t *seeded;  /* per component: seeded within the part (plane 0: holds a raster-edge
                       * or --sea cell; planes 1+: touches a seeded sea candidate) */
    int32_t *labels;  /* per border cell: its component, or -1 */
    int64_t pairs;    /* planes 1+: (land component, sea-candidate component) pairs that touch */
    uint32_t *pair;   /* 2 * pairs values */
} cr_part_plane;

/* What phase 1 knows of one part. */
typedef struct cr_part_edges {
    uint64_t fingerprint;       /* of the DEM's grid and identity and the options (docs) */
    int full_w, full_h;
    cr_window win;
    int tile_index, tile_count; /* --tile I/N; 0 for --window */
    int connectivity;           /* of the land planes: 8, 4 or 0 (none: no land planes) */
    int sea_connectivity;       /* of plane 0 */
    int thresholds;             /* land planes */
    int64_t seeds;              /* seeded cells of plane 0 in the part */
    cr_part_plane *plane;       /* 1 + thresholds */
} cr_part_edges;

/* The border cells of a w x h part. */
static inline int64_t cr_part_border_cells(int w, int h)
{
    return 2 * ((int64_t)w + h);
}

/* Allocates e->plane for 1 + e->thresholds planes and each plane's labels (set to -1).
 * Fails with CR_E_IO when out of memory. */
cr_status cr_part_edges_alloc(cr_ctx *ctx, cr_part_edges *e);

/* Frees what e holds. */
void cr_part_edges_release(cr_part_edges *e);

/* Writes e to path (a temporary published at the end; CR_E_EXISTS without overwrite). */
cr_status cr_part_edges_write(cr_ctx *ctx, const char *path, const cr_part_edges *e, int overwrite);

/* Reads an edge file, every size and value checked: CR_E_DATA naming the file when it is
 * not one, is truncated, corrupt or of another version. */
cr_status cr_part_edges_read(cr_ctx *ctx, const char *path, cr_part_edges *e);

/* Phase 2: joins the edge files of every part of one grid into the join file at out. */
cr_status cr_part_join(cr_ctx *ctx, const char *const *paths, int count, const char *out,
                       int overwrite);

/* Phase 3: reads from the join file at path the bits of the part win, planes of 2 (w + h)
 * bytes each (0 or 1; plane 0: the cell is sea; plane 1 + t: the cell is sea or land below
 * W_t joined to the sea), after checking the file's fingerprint and planes match. *bits is
 * malloc()ed. CR_E_DATA naming the file otherwise. */
cr_status cr_part_join_read(cr_ctx *ctx, const char *path, uint64_t fingerprint, int full_w,
                            int full_h, const cr_window *win, int planes, uint8_t **bits);

/* FNV-1a, 64 bits, over len bytes, continuing from h (start with CR_FNV_START). */
#define CR_FNV_START 14695981039346656037ull
uint64_t cr_fnv(uint64_t h, const void *data, size_t len);

#endif
