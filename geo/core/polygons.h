/* polygons.h: polygon layers on the analysis grid (internal).
 *
 * Two levels, both shared by the stages:
 *
 * 1. Preparing one polygon for the grid (cr_shaper): an OGR geometry is repaired when
 *    invalid (GEOS MakeValid, structure method, after a simplification that bounds its
 *    cost), cut to the grid's extent and a margin when it is in another CRS, densified to
 *    about a cell and reprojected to the grid's CRS, and turned into rings in cell
 *    coordinates (cr_ring_buf) for the exact coverage of coverage.h. Zonal's zones and
 *    polygon sets are read this way.
 *
 * 2. A set of polygons on the grid (cr_polyset): every polygon of one layer of any OGR
 *    source (GPKG, FlatGeobuf, Shapefile, GeoJSON, OpenFileGDB, ...), each with an optional
 *    numeric value read from a field, kept as cell-coordinate rings with its bounding box,
 *    and a bucket index by block, so that a window costs only the polygons that meet it.
 *    Per window it gives each polygon's exact coverage fractions (cr_polyset_cover()),
 *    the coverage-weighted mean of the values (cr_polyset_mean()) and the covered
 *    fraction of the polygons' union (cr_polyset_fraction()). A loaded set is read-only:
 *    threads may share it.
 *
 * Cell coordinates: col = (x - gt[0]) / gt[1], row = (y - gt[3]) / gt[5] (coverage.h).
 */
#ifndef CITYRISK_CORE_POLYGONS_H
#define CITYRISK_CORE_POLYGONS_H

#include <stdint.h>

#include <gdal.h>
#include <geos_c.h>
#include <ogr_api.h>

#include "cityrisk/context.h"
#include "cityrisk/coverage.h"
#include "cityrisk/grid.h"

/* ------------------------------------------------------------------------------------ */
/* Rings */

/* A polygon whose edges meet more often than this is simplified before GEOS repairs it:
 * GEOS's repair costs about 55 us and 2.2 KB per crossing (GEOS 3.11, structure method,
 * measured on random rings: 27,505 crossings 1.6 s and 62 MB, 70,992 crossings 4.2 s and
 * 157 MB), so this bounds a repair to about a second and 50 MB (docs/zonal.md). The fuzz
 * build sets a lower bound (geo/CMakeLists.txt). */
#ifndef CR_REPAIR_MAX_CROSSINGS
#define CR_REPAIR_MAX_CROSSINGS 20000
#endif

/* Counts the pairs of edges of rings that meet at a point where at least one of them does
 * not end (proper crossings, a vertex on another edge, partial overlaps; not edges that
 * only share an end, nor identical edges): the nodes a repair must add, whose number its
 * cost follows. Stops at limit + 1. Returns -1 when more than budget pairs of edges had
 * to be compared to tell, or when out of memory: too costly either way. Costs
 * O(n log n + budget) for n edges. */
int64_t cr_rings_crossings(const cr_rings *rings, int64_t limit, int64_t budget);

/* Simplifies rings to at most target vertices (a repeated closing point is not counted)
 * by Visvalingam and Whyatt's effective area: the vertex whose triangle with its two
 * neighbours has the least area goes first; a ring down to 3 vertices goes whole when
 * its turn comes. Deterministic, O(n log n). On success returns the number of rings left
 * and sets *xy (their vertices, rings not closed), *ring_end and *source (the input ring
 * each came from), to free(); returns -1 when out of memory. */
int cr_rings_thin(const cr_rings *in, int target, double **xy, int **ring_end, int **source);

/* Growable ring storage of one polygon or multipolygon. */
typedef struct cr_ring_buf {
    double *xy;
    int *ring_end;
    signed char *sign; /* +1 shell, -1 hole */
    int *part;         /* the polygon of the multipolygon each ring belongs to */
    int npoints, cap_points, nrings, cap_rings;
} cr_ring_buf;

void cr_ring_buf_free(cr_ring_buf *b);

/* Appends the rings of a polygonal GEOS geometry (a Polygon or MultiPolygon): shells +1,
 * holes -1, in cell coordinates of grid, or as they are when grid is NULL. Rings of fewer
 * than 4 points (no area) are left out. Returns 0 when out of memory. */
int cr_ring_buf_add(GEOSContextHandle_t h, const GEOSGeometry *g, const cr_grid *grid,
                    cr_ring_buf *b);

/* The rings of b as cr_rings (borrowed). */
cr_rings cr_ring_buf_rings(const cr_ring_buf *b);

/* The grid cells the bounding box of rings (cell coordinates) covers, within the grid;
 * w = 0 when none. */
cr_window cr_rings_box(const cr_rings *r, const cr_grid *grid);

/* The polygons of a geometry: MakeValid, an intersection or a union may return a
 * collection that also holds lines and points where the input collapsed or touched.
 * Returns a new MultiPolygon (empty when there is none), a clone of a Polygon or
 * MultiPolygon, or NULL when out of memory. */
GEOSGeometry *cr_geos_polygonal(GEOSContextHandle_t h, const GEOSGeometry *g);

/* ------------------------------------------------------------------------------------ */
/* Preparing one polygon for the grid */

typedef struct cr_shaper {
    cr_ctx *ctx;
    const char *path;           /* the source, for messages */
    const char *what;           /* what its polygons are, for messages ("zones") */
    const char *cancelled;      /* the message of a cancellation ("zonal statistics were
                                 * cancelled") */
    const cr_grid *grid;
    GEOSContextHandle_t geos;
    GEOSWKBReader *reader;
    GEOSWKBWriter *writer;
    GEOSMakeValidParams *repair;
    OGRSpatialReferenceH src_srs;    /* the source's CRS, traditional GIS axis order */
    OGRSpatialReferenceH grid_srs;   /* the grid's */
    OGRCoordinateTransformationH ct; /* source -> grid, NULL when the CRSs are the same */
    OGRCoordinateTransformationH inverse;
    double densify;                  /* longest edge before reprojecting, source units */
    /* Polygons in another CRS are cut to the grid's extent and a margin (in their CRS: one
     * box, two across the antimeridian) before they are densified and reprojected; NULL
     * when that extent cannot be known (then they are reprojected whole). */
    GEOSGeometry *clip;
    cr_bounds clip_box[2];
    int nclip;
    double done; /* the share of the features read, for progress during repairs */
} cr_shaper;

/* Sets up s to prepare polygons of path (named what in messages) in the CRS layer_srs for
 * grid. Fails with CR_E_DATA when layer_srs is NULL ("... have no CRS; assign one") or
 * there is no transformation to the grid's CRS, CR_E_IO when out of memory. Release with
 * cr_shaper_release() whatever it returns. */
cr_status cr_shaper_init(cr_ctx *ctx, cr_shaper *s, const char *path, const char *what,
                         const char *layer, OGRSpatialReferenceH layer_srs, const cr_grid *grid);

void cr_shaper_release(cr_shaper *s);

/* Prepares the OGR geometry g0 (a Polygon, MultiPolygon, CurvePolygon or MultiSurface;
 * who names the feature in messages): repaired when invalid (*repaired set, with a
 * warning), cut to the clipping boxes when it reaches beyond them, densified and
 * reprojected to the grid's CRS, repaired quietly again when that made it invalid. *out
 * receives the polygonal result in the grid's CRS (possibly empty; GEOSGeom_destroy_r
 * it). When outside is not NULL and the polygon was cut, *outside receives what the cut
 * removed, in the source's CRS (else NULL). Fails with CR_E_DATA on another geometry type,
 * coordinates that are not finite, a polygon that cannot be repaired or reprojected,
 * CR_E_CANCELLED when the progress callback asks to stop during a costly repair. */
cr_status cr_shaper_prepare(cr_shaper *s, OGRGeometryH g0, const char *who, GEOSGeometry **out,
                            int *repaired, GEOSGeometry **outside);

/* Fails with CR_E_DATA: "<what> '<path>': <who> reaches far beyond the grid and cannot be
 * cut to its extent", with GEOS's reason when it gave one. */
cr_status cr_shaper_cut_failed(cr_shaper *s, const char *who);

/* The index of the numeric (integer or real) field name of defn, or -1. */
int cr_vector_numeric_field(OGRFeatureDefnH defn, const char *name);

/* Fails with CR_E_USAGE: "<flag>: <what> '<path>' layer 'L' has no [numeric] field 'F'
 * (numeric fields: ...)". */
cr_status cr_vector_field_error(cr_ctx *ctx, OGRLayerH layer, const char *path, const char *what,
                                const char *field, const char *flag);

/* The next feature of layer into *out (NULL at the end; OGR_F_Destroy() it), with what GDAL's
 * readers say captured (GeoJSON's "Non closed ring detected" goes to the log): an error
 * that ends the reading fails with CR_E_DATA, "cannot read the features of <what> '<path>'". */
cr_status cr_shaper_next(cr_shaper *s, OGRLayerH layer, OGRFeatureH *out);

/* 1 when path is a vector source with at least one layer and no raster: what a layer reads as
 * polygons. Quiet (GDAL's messages dropped); 0 for a raster, and for what cannot be opened
 * or should not be (a named pipe, a device, an empty file: opening it says why). */
int cr_holds_polygons(const char *path);

/* The layer of ds named layer, or its only layer when layer is NULL. Fails with
 * CR_E_USAGE naming an unknown layer, or, when layer is NULL and ds has several, listing
 * them and the option (flag) that chooses one; CR_E_DATA when it has none. what names the
 * source in messages ("water polygons"). */
cr_status cr_vector_layer(cr_ctx *ctx, GDALDatasetH ds, const char *path, const char *what,
                          const char *layer, const char *flag, OGRLayerH *out);

/* ------------------------------------------------------------------------------------ */
/* Polygon sets */

/* What a feature's value is, as a cr_polyset_opts.classify hook says. */
typedef enum cr_poly_class {
    CR_POLY_VALUE = 0,   /* a value: *value as read, or as the hook set it */
    CR_POLY_NODATA = 1,  /* no value: the polygon is left out (counted) */
    CR_POLY_MARKED = 2   /* a value with a mark (Aqueduct's arid basins): *value as the hook
                          * set it; cells it covers are marked (cr_polyset_mean()) */
} cr_poly_class;

/* Options of cr_polyset_load(); zero-initialise, then set. */
typedef struct cr_polyset_opts {
    const char *what;      /* what the polygons are, for messages; default "polygons" */
    const char *layer;     /* the layer to read; NULL: the only one (several: an error) */
    const char *layer_flag;/* the option that chooses a layer, for that error; may be NULL */
    const char *field;     /* the numeric field each polygon's value comes from; NULL: none */
    const char *default_field; /* the field when field is NULL (Aqueduct's bws_score); its
                            * absence fails, listing the numeric fields */
    const char *field_flag;/* the option that names the field, for messages; may be NULL */
    const char *key_field; /* a field kept as text per polygon (an area's code, to join a
                            * table on: cr_polyset_key()); NULL: none */
    int dissolve;          /* 1: the union of the polygons, so that overlaps count once (no
                            * values; the parts of the union are the set's polygons) */
    /* Called for each feature with a value (field set and not null); may change *value. */
    cr_poly_class (*classify)(void *arg, OGRFeatureH f, double *value);
    void *classify_arg;
    const char *cancelled; /* the message of a cancellation; default "cancelled" */
    /* 1: an input read on the grid (water, informal; every layer of cr_layer_open_ex()):
     * fail with CR_E_DATA when no polygon meets the grid, giving both extents, as a raster
     * that misses it does. A dissolved set (a mask, settlements) is checked whatever it says.
     * 0 (areas): polygons off the grid are the caller's to count. */
    int must_meet_grid;
    /* 1: features without a value (a null field, or no data by the hook) are kept, without a
     * value, so that cr_polyset_mean() weighs the valued coverage of a cell against them. */
    int keep_nodata;
    /* 1: a value (after the hook) outside range_min .. range_max fails with CR_E_DATA naming
     * the feature (FID, and an id-like field such as pfaf_id when the layer has one), its
     * value and range_text ("the range of ..."). */
    int check_range;
    double range_min, range_max;
    char range_text[256];
} cr_polyset_opts;

/* What loading a set found. */
typedef struct cr_polyset_counts {
    int64_t features;  /* features read */
    int64_t polygons;  /* polygons kept (after a dissolve: the union's parts) */
    int64_t null_value;/* features whose field was null or unset: left out */
    int64_t nodata;    /* features the hook said have no value: left out */
    int64_t marked;    /* features the hook marked */
    int64_t empty;     /* features without a polygon, or none on the grid */
    int64_t repaired;  /* features repaired with GEOS MakeValid */
} cr_polyset_counts;

/* Polygon sets in another CRS than the grid's are densified to edges of this many cells
 * before they are reprojected (zones: one cell). */
#define CR_POLYSET_DENSIFY_CELLS 4.0

typedef struct cr_polyset cr_polyset;

/* Reads the polygons of path onto grid: every feature of the layer, prepared as
 * cr_shaper_prepare() does, with its value from opts->field (a numeric field; an
 * unknown or non-numeric one fails with CR_E_USAGE listing the numeric fields) through
 * opts->classify. Features without a polygon are counted as empty; a feature that is
 * not polygonal fails (CR_E_DATA). Reports progress 0..1 and fails with CR_E_CANCELLED
 * when asked to stop. Fails with CR_E_DATA when the layer holds no polygon at all, and as
 * opts->must_meet_grid and opts->check_range say. Free with cr_polyset_free(). */
cr_status cr_polyset_load(cr_ctx *ctx, const char *path, const cr_grid *grid,
                          const cr_polyset_opts *opts, cr_polyset **out);

/* Drops a reference to the set, freeing it with the last; accepts NULL. */
void cr_polyset_free(cr_polyset *set);

/* Takes another reference to the set (thread-safe), for a second holder; returns set. */
cr_polyset *cr_polyset_ref(cr_polyset *set);

/* The counts of the load. */
const cr_polyset_counts *cr_polyset_counts_of(const cr_polyset *set);

/* The number of polygons kept, and polygon i's value (NaN without a field, or kept without
 * a value by keep_nodata), feature id
 * (OGR's FID; -1 for the parts of a dissolved set), rings in cell coordinates and the
 * grid cells its bounding box covers (w = 0 when it misses the grid). */
int64_t cr_polyset_size(const cr_polyset *set);
double cr_polyset_value(const cr_polyset *set, int64_t i);
int64_t cr_polyset_fid(const cr_polyset *set, int64_t i);
const cr_rings *cr_polyset_rings(const cr_polyset *set, int64_t i);
cr_window cr_polyset_box(const cr_polyset *set, int64_t i);

/* Polygon i's key_field as text ("" when null), or NULL without a key_field. */
const char *cr_polyset_key(const cr_polyset *set, int64_t i);

/* Called by cr_polyset_cover() for polygon i, with its coverage fractions over part (the
 * cells of the window its bounding box covers; part->w * part->h, row-major); fractions
 * may be all 0 there. Returns CR_OK to go on. */
typedef cr_status (*cr_polyset_fn)(void *arg, int64_t i, const cr_window *part,
                                   const double *fractions);

/* Calls fn for each polygon whose bounding box meets win, in polygon order, with its
 * exact coverage fractions (cr_coverage()). scratch, zeroed before the first use, is
 * reused between calls (cr_coverage_scratch_free() it). Fails with CR_E_IO when out of
 * memory, or with what fn returns. */
cr_status cr_polyset_cover(cr_ctx *ctx, const cr_polyset *set, const cr_window *win,
                           cr_coverage_scratch *scratch, cr_polyset_fn fn, void *arg);

/* A polygon covering less than this share of a cell counts as not covering it, and a union
 * covering less than it (or more than 1 minus it) as covering none of the cell (all of it):
 * slivers where two copies of the same boundaries differ by their coordinates' precision
 * (GPKG and OpenFileGDB, a reprojected edge) decide nothing (docs/score.md). */
#define CR_POLYSET_MIN_COVER 1e-6

/* The coverage-weighted mean of the polygons' values over each cell of win:
 * sum(f_i v_i) / sum(f_i) over the polygons i with a value that cover the cell (f_i at least
 * CR_POLYSET_MIN_COVER), when they cover at least half of the cell's polygon coverage (the
 * valued polygons and those kept without a value, cr_polyset_opts.keep_nodata); else the
 * cell is NaN with valid 0. A cell with a value where marked polygons cover at least half of
 * its polygon coverage gets marked[i] = 1 (marked may be NULL). values and valid:
 * win->w * win->h; valid may be NULL. */
cr_status cr_polyset_mean(cr_ctx *ctx, const cr_polyset *set, const cr_window *win,
                          cr_coverage_scratch *scratch, double *values, uint8_t *valid,
                          uint8_t *marked);

/* The exact share of each cell of win covered by the polygons: for a dissolved set, the
 * share covered by their union (0 outside every polygon), each cell valid; shares within
 * CR_POLYSET_MIN_COVER of 0 or 1 are 0 or 1. */
cr_status cr_polyset_fraction(cr_ctx *ctx, const cr_polyset *set, const cr_window *win,
                              cr_coverage_scratch *scratch, double *values);

/* ------------------------------------------------------------------------------------ */
/* Layers on polygons (layer.c; raster.h says how their cells are made) */

#include "cityrisk/raster.h"

/* cr_layer_open() with what a domain input adds when the source holds polygons (its
 * name and flags for messages, a default field, a hook for sentinels: core/inputs.c);
 * given, it reads polygons whatever opts->polygons says; NULL: as cr_layer_open(). A raster
 * source ignores it. */
cr_status cr_layer_open_ex(cr_ctx *ctx, const char *path, const cr_grid *grid,
                           const cr_layer_opts *opts, const cr_polyset_opts *polygons,
                           cr_layer **out);

/* A layer for another thread reading what layer reads: on polygons it shares them (no
 * second load), on a raster it opens the file again with opts. */
cr_status cr_layer_share(cr_ctx *ctx, const cr_layer *layer, const cr_layer_opts *opts,
                         cr_layer **out);

/* The polygons of a layer opened on them, else NULL. */
const cr_polyset *cr_layer_polygons(const cr_layer *layer);

/* cr_layer_read_f32() that also sets marked[i] = 1 where a polygon the hook marked covers
 * the cell (0 everywhere for a raster). */
cr_status cr_layer_read_marked(cr_ctx *ctx, cr_layer *layer, const cr_window *win,
                               float *values, uint8_t *valid, uint8_t *marked);

#endif
