/* areas.h: arrivals counted by area (`arrivals --areas`), spread over the grid cells of their
 * polygons (internal to the arrivals module).
 *
 * An area is a polygon carrying a count, or the polygons sharing a code that one row of a
 * table names. With f_i(c) the exact share of cell c that polygon i covers (core/polygons.h)
 * and p(c) the weight raster read as counts, area g with count C_g, whole area A_g (its
 * polygons' area in the grid CRS, in cells) and S_g = Σ_i∈g Σ_c∈grid f_i(c) cells inside the
 * grid has the share s_g = S_g / A_g of its count in the grid (1 when its polygons lie
 * inside it), and gives each cell of the grid
 *
 *     a_g(c) = s_g C_g · f_i(c) / S_g                                           (area share)
 *     a_g(c) = s_g C_g · f_i(c) p(c) / W_g,  W_g = Σ_i∈g Σ_c∈grid f_i(c) p(c)   (--weight)
 *
 * and the raster holds Σ_g a_g(c): its total is Σ_g s_g C_g, arrivals_in_grid; the rest of
 * each count is arrivals_outside_grid (docs/arrivals.md). */
#ifndef CITYRISK_AREAS_H
#define CITYRISK_AREAS_H

#include "cityrisk/arrivals.h"
#include "cityrisk/raster.h"
#include "report.h"

typedef struct cr_areas cr_areas;

/* The extent of the polygons of opts->areas_path (its layer opts->layer), in the CRS
 * grid_wkt, for a grid made without --bounds. */
cr_status cr_areas_extent(cr_ctx *ctx, const cr_arrivals_opts *opts, const char *grid_wkt,
                          cr_bounds *out);

/* Reads the areas: their polygons onto grid and their counts, from the polygons'
 * count_field or from the rows of the table joined by code. Rejected rows or features go
 * to report (when not NULL) and the summary (records_read, accepted, rejected, excluded,
 * arrivals_total, areas, areas_duplicate, date range), with one warning per reason.
 * Free with cr_areas_free(). */
cr_status cr_areas_read(cr_ctx *ctx, const cr_arrivals_opts *opts, const cr_grid *grid,
                        cr_report **report, cr_arrivals_summary *summary, cr_areas **out);

/* Spreads the counts over the grid into writer (band 1), tile by tile on threads workers:
 * a pass for the sums S_g (and W_g), then one that writes. Fills arrivals_in_grid,
 * arrivals_outside_grid, records_outside_grid (areas with no cell in the grid),
 * areas_zero_weight and raster_sum; areas partly beyond the grid and areas without weight
 * are warned about, the latter reported. Fails with CR_E_DATA when no area with a count
 * meets the grid. */
cr_status cr_areas_spread(cr_ctx *ctx, cr_areas *areas, cr_writer *writer, int threads,
                          cr_report *report, cr_arrivals_summary *summary);

void cr_areas_free(cr_areas *areas);

#endif
