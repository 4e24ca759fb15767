/* writer.c: the atomic Cloud-Optimized GeoTIFF writer (Float32, or Byte classes).
 *
 * GDAL's COG driver only copies from another dataset, so cells are first written
 * block by block to a tiled GeoTIFF beside the output (the staging file), then
 * copied by the COG driver, which DEFLATE-compresses, into a second hidden file
 * that is renamed over the output only when everything succeeded. Both temporary
 * files live in the destination folder so the rename is atomic and never crosses
 * file systems.
 *
 * The staging file is read back once, so it is not compressed unless it would be
 * large (STAGING_RAW_MAX): compressing it cost more than a fifth of a dense
 * output's time. Its overview levels are reserved when it is created and filled by
 * cityrisk from the written cells (overview.h), which the COG driver then copies:
 * its own overview pass reads and re-encodes the whole raster once more. Each written
 * block makes the pieces of every level it covers whole cells of (all of them for the
 * 512-cell blocks of the commands), so that commit has no level left to make on one
 * thread. A -co that asks the COG driver for other overviews or for warping leaves them
 * to it. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <json-c/json.h>

#include "cityrisk/raster.h"
#include "internal.h"
#include "output.h"
#include "overview.h"
#include "vsiwatch.h"

/* The largest staging file written uncompressed, in bytes: beyond, ZSTD level 1
 * bounds the temporary disk space at some CPU cost. */
static const double STAGING_RAW_MAX = 8.0 * 1024 * 1024 * 1024;

/* The most bytes one tile of all bands may take. GDAL's COG driver (3.6) writes bands
 * pixel-interleaved, so a tile holds every band, and its copy keeps a few tiles in flight
 * per compression thread: 512 x 512 cells of 100 bands were 100 MB a tile and 420 MB at
 * the peak for an 8 x 8 raster. With many bands the tiles are smaller instead (the COG
 * driver's smallest is 128). */
static const double TILE_BYTES_MAX = 16.0 * 1024 * 1024;
enum { COG_TILE_MIN = 128 };

/* The tiles of all bands GDAL's COG copy holds at once, measured: the tile, its read
 * swath, libtiff's output buffer and the floating-point predictor's copy, and about as
 * many again per extra compression thread, whose tiles in flight are bounded by
 * COMPRESSION_BYTES_MAX. */
enum { COPY_TILES = 3, TILES_PER_THREAD = 4 };
static const double COMPRESSION_BYTES_MAX = 64.0 * 1024 * 1024;

/* The tile side of the staging file and the COG for a raster of bands Float32 bands:
 * CR_BLOCK_SIZE, halved while a tile of all bands would exceed TILE_BYTES_MAX. Work
 * windows of CR_BLOCK_SIZE still cover whole tiles. */
int cr_writer_tile_size(int bands)
{
    int side = CR_BLOCK_SIZE;
    while (side > COG_TILE_MIN && (double)bands * side * side * sizeof(float) > TILE_BYTES_MAX)
        side /= 2;
    return side;
}

/* Creation options by which a user takes the overviews (or the grid) from the
 * writer and gives them to the COG driver. */
static const char *const COG_OVERVIEW_KEYS[] = {"OVERVIEWS", "OVERVIEW_COUNT", "RESAMPLING",
                                                "OVERVIEW_RESAMPLING", "WARP_RESAMPLING",
                                                "TILING_SCHEME", "TARGET_SRS", "RES", "EXTENT",
                                                "ALIGNED_LEVELS", NULL};

struct cr_writer {
    char *path;      /* the final output */
    cr_temp staging; /* the tiled GeoTIFF written block by block */
    cr_temp cog;     /* the COG copy, renamed to path on success */
    int overwrite;   /* the rename may replace an existing output */
    char *staging_watched, *cog_watched; /* the same files, as GDAL opens them (vsiwatch.h) */
    GDALDatasetH ds; /* open on staging */
    char **cog_options;
    int bands;
    double nodata;
    float *scratch; /* one block with NaN replaced by nodata */
    size_t scratch_cells;
    int own_overviews; /* the staging file holds overview levels for cityrisk to fill */
    int *categorical;  /* per band: overviews by most frequent value */
    int in_place;      /* the leading overview levels every write so far made in place */
    float *reduced[2]; /* one block's overview pieces, level by level in turn */
    size_t reduced_cells;
    int width, height;
    cr_foreign_watch foreign; /* failures on GDAL's worker threads while this writer is open */
    int tile;          /* the tile side of the staging file and the COG */
    int byte;          /* Byte bands (classes) instead of Float32 */
};

void cr_writer_opts_init(cr_writer_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->band_count = 1;
    opts->nodata = -9999.0;
}

/* 1 when the GTiff driver of this GDAL build can write ZSTD. */
static int gtiff_has_zstd(GDALDriverH gtiff)
{
    const char *list = GDALGetMetadataItem(gtiff, GDAL_DMD_CREATIONOPTIONLIST, NULL);
    return list && strstr(list, "ZSTD") != NULL;
}

static char **staging_options(GDALDriverH gtiff, const cr_grid *grid, int bands)
{
    char **o = NULL, tile[16];
    snprintf(tile, sizeof tile, "%d", cr_writer_tile_size(bands));
    o = CSLSetNameValue(o, "TILED", "YES");
    o = CSLSetNameValue(o, "BLOCKXSIZE", tile);
    o = CSLSetNameValue(o, "BLOCKYSIZE", tile);
    o = CSLSetNameValue(o, "BIGTIFF", "IF_SAFER");
    o = CSLSetNameValue(o, "INTERLEAVE", "BAND"); /* bands are written one by one */
    /* Tiles all nodata (or 0) are not written, and closing an aborted file does not fill
     * the tiles never written: a cancelled run stops in a moment, not after writing the
     * rest of the raster. Reading gives the same cells either way. */
    o = CSLSetNameValue(o, "SPARSE_OK", "TRUE");
    /* 3 or 4 Byte bands would otherwise be RGB(A) colour: these are bands of values. */
    o = CSLSetNameValue(o, "PHOTOMETRIC", "MINISBLACK");
    if (cr_output_staging_bytes(grid, bands) <= STAGING_RAW_MAX)
        return o;
    if (gtiff_has_zstd(gtiff)) {
        o = CSLSetNameValue(o, "COMPRESS", "ZSTD");
        o = CSLSetNameValue(o, "ZSTD_LEVEL", "1");
    } else {
        o = CSLSetNameValue(o, "COMPRESS", "LZW");
    }
    return o;
}

/* 1 when the user's creation options take overviews or the grid to the COG driver. */
static int user_controls_overviews(char **user)
{
    for (int i = 0; COG_OVERVIEW_KEYS[i]; i++)
        if (CSLFetchNameValue(user, COG_OVERVIEW_KEYS[i]))
            return 1;
    return 0;
}

static double tile_bytes(const cr_writer *w)
{
    return (double)w->bands * w->tile * w->tile * sizeof(float);
}

/* The COG driver's compression threads: the context's, as long as the tiles they hold
 * stay within COMPRESSION_BYTES_MAX. */
static int compression_threads(cr_ctx *ctx, const cr_writer *w)
{
    double fit = COMPRESSION_BYTES_MAX / (TILES_PER_THREAD * tile_bytes(w));
    int threads = cr_ctx_threads(ctx);
    return fit < 1 ? 1 : fit < threads ? (int)fit : threads;
}

static char **cog_options(cr_ctx *ctx, const cr_writer *w, char **user)
{
    char threads[32], tile[16];
    snprintf(threads, sizeof threads, "%d", compression_threads(ctx, w));
    int own_overviews = w->own_overviews, tile_side = w->tile;
    snprintf(tile, sizeof tile, "%d", tile_side);
    char **o = NULL;
    o = CSLSetNameValue(o, "COMPRESS", "DEFLATE");
    o = CSLSetNameValue(o, "PREDICTOR", "YES"); /* floating-point predictor for Float32 */
    o = CSLSetNameValue(o, "BLOCKSIZE", tile);
    if (own_overviews) {
        o = CSLSetNameValue(o, "OVERVIEWS", "FORCE_USE_EXISTING");
    } else {
        o = CSLSetNameValue(o, "RESAMPLING", "AVERAGE");
        o = CSLSetNameValue(o, "OVERVIEWS", "IGNORE_EXISTING");
    }
    o = CSLSetNameValue(o, "BIGTIFF", "IF_SAFER");
    o = CSLSetNameValue(o, "NUM_THREADS", threads);
    for (char **u = user; u && *u; u++) {
        char *key = NULL;
        const char *value = CPLParseNameValue(*u, &key);
        if (key && value)
            o = CSLSetNameValue(o, key, value);
        CPLFree(key);
    }
    return o;
}

static void set_provenance(cr_ctx *ctx, GDALDatasetH ds, const cr_writer_opts *opts)
{
    GDALSetMetadataItem(ds, "CITYRISK_VERSION", cr_version(), NULL);
    GDALSetMetadataItem(ds, "CITYRISK_COMMAND", cr_ctx_command(ctx), NULL);
    if (opts->inputs)
        GDALSetMetadataItem(ds, "CITYRISK_INPUTS", opts->inputs, NULL);
    if (opts->parameters)
        GDALSetMetadataItem(ds, "CITYRISK_PARAMETERS", opts->parameters, NULL);
    if (opts->formula)
        GDALSetMetadataItem(ds, "CITYRISK_FORMULA", opts->formula, NULL);
}

static void describe_bands(GDALDatasetH ds, const cr_writer_opts *opts)
{
    for (int b = 0; b < opts->band_count; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
        GDALSetRasterNoDataValue(band, opts->nodata);
        if (opts->band_names && opts->band_names[b])
            GDALSetDescription(band, opts->band_names[b]);
        if (opts->band_units && opts->band_units[b])
            GDALSetRasterUnitType(band, opts->band_units[b]);
        /* Recorded for whoever joins tiles of this raster (mosaic), which must rebuild the
         * same overviews; named categories say so already. */
        if (opts->band_categorical && opts->band_categorical[b] && !opts->category_count)
            GDALSetMetadataItem(band, CR_OVERVIEW_RESAMPLING_KEY, CR_OVERVIEW_MODE, NULL);
    }
}

/* "#rrggbb" into a colour table entry (opaque); 0 when it is not such a colour. */
static int parse_colour(const char *text, GDALColorEntry *e)
{
    unsigned r, g, b;
    char end;
    if (!text || text[0] != '#' || strlen(text) != 7 || sscanf(text + 1, "%2x%2x%2x%c", &r, &g, &b, &end) != 3)
        return 0;
    e->c1 = (short)r, e->c2 = (short)g, e->c3 = (short)b, e->c4 = 255;
    return 1;
}

/* The categories of every band of a Byte output: the names and colours as the band metadata
 * CLASS_NAMES and CLASS_COLORS
 * (JSON arrays, as score's class band records them), which `cityrisk map` and the QGIS
 * style read. Not GDAL's category names: a GeoTIFF keeps those only in a .aux.xml sidecar,
 * which the COG copy would leave beside the temporary files and the output would not carry.
 * A single-band output also gets a colour table (gdalinfo lists it, QGIS draws the band
 * paletted), its entries beyond the categories (the nodata among them) transparent. */
static cr_status name_categories(cr_ctx *ctx, cr_writer *w, const cr_writer_opts *opts)
{
    if (!opts->category_count)
        return CR_OK;
    GDALColorTableH table = GDALCreateColorTable(GPI_RGB);
    json_object *names = json_object_new_array(), *colors = json_object_new_array();
    cr_status st = CR_OK;
    for (int c = 0; c < 256; c++) {
        GDALColorEntry e = {0, 0, 0, 0};
        if (c < opts->category_count && !parse_colour(opts->category_colors[c], &e))
            st = cr_ctx_fail(ctx, CR_E_USAGE, "category colour '%s' of '%s' is not #rrggbb",
                             opts->category_colors[c] ? opts->category_colors[c] : "", w->path);
        GDALSetColorEntry(table, c, &e);
        if (c < opts->category_count) {
            json_object_array_add(names, json_object_new_string(opts->category_names[c] ? opts->category_names[c] : ""));
            json_object_array_add(colors, json_object_new_string(opts->category_colors[c] ? opts->category_colors[c] : ""));
        }
    }
    const char *names_text = json_object_to_json_string_ext(names, JSON_C_TO_STRING_PLAIN);
    const char *colors_text = json_object_to_json_string_ext(colors, JSON_C_TO_STRING_PLAIN);
    for (int b = 1; st == CR_OK && b <= w->bands; b++) {
        GDALRasterBandH band = GDALGetRasterBand(w->ds, b);
        /* A GeoTIFF palette is for single-band files only: with more bands GDAL refuses it (3
         * and more) or makes band 2 an alpha band (2). */
        if ((w->bands == 1 && GDALSetRasterColorTable(band, table) != CE_None) ||
            GDALSetMetadataItem(band, "CLASS_NAMES", names_text, NULL) != CE_None ||
            GDALSetMetadataItem(band, "CLASS_COLORS", colors_text, NULL) != CE_None)
            st = cr_ctx_fail(ctx, CR_E_IO, "cannot set the categories of '%s'", w->path);
    }
    GDALDestroyColorTable(table);
    json_object_put(names);
    json_object_put(colors);
    return st;
}

/* Checks the cell type and categories asked for. */
static cr_status check_type(cr_ctx *ctx, const char *path, const cr_writer_opts *opts)
{
    if (opts->type != CR_WRITER_FLOAT32 && opts->type != CR_WRITER_BYTE)
        return cr_ctx_fail(ctx, CR_E_USAGE, "cannot write '%s' with cell type %d", path, (int)opts->type);
    if (opts->type == CR_WRITER_BYTE && !(opts->nodata >= 0 && opts->nodata <= 255))
        return cr_ctx_fail(ctx, CR_E_USAGE, "nodata %g of the Byte raster '%s' is not 0..255", opts->nodata, path);
    if (opts->category_count && (opts->type != CR_WRITER_BYTE || opts->category_count < 0 ||
                                 opts->category_count > 255 || !opts->category_names ||
                                 !opts->category_colors))
        return cr_ctx_fail(ctx, CR_E_USAGE, "categories of '%s' need a Byte raster, 1 to 255 of them, "
                           "their names and colours", path);
    return CR_OK;
}

static cr_status create_staging(cr_ctx *ctx, cr_writer *w, const cr_grid *grid,
                                const cr_writer_opts *opts)
{
    GDALDriverH gtiff = GDALGetDriverByName("GTiff");
    if (!gtiff)
        return cr_ctx_fail(ctx, CR_E_IO, "GDAL has no GTiff driver");
    char **co = staging_options(gtiff, grid, opts->band_count);
    cr_gdal_begin(ctx);
    w->ds = GDALCreate(gtiff, w->staging_watched, grid->width, grid->height, opts->band_count,
                       w->byte ? GDT_Byte : GDT_Float32, co);
    cr_status st = CR_OK;
    if (!w->ds)
        st = cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot create '%s'", w->path);
    cr_gdal_end(ctx);
    CSLDestroy(co);
    if (st != CR_OK)
        return st;
    double gt[6];
    memcpy(gt, grid->gt, sizeof gt);
    GDALSetGeoTransform(w->ds, gt);
    GDALSetProjection(w->ds, grid->crs_wkt);
    set_provenance(ctx, w->ds, opts);
    describe_bands(w->ds, opts);
    return name_categories(ctx, w, opts);
}

/* Reserves the overview levels of the staging file, when cityrisk makes them. */
static cr_status reserve_overviews(cr_ctx *ctx, cr_writer *w, const cr_grid *grid,
                                   const cr_writer_opts *opts)
{
    int factors[CR_OVERVIEW_MAX_LEVELS];
    int n = cr_overview_factors(grid->width, grid->height, w->tile, factors);
    w->own_overviews = n > 0 && !user_controls_overviews(opts->creation_options);
    if (!w->own_overviews)
        return CR_OK;
    if (opts->band_categorical || opts->category_count) {
        if (!(w->categorical = malloc((size_t)w->bands * sizeof *w->categorical)))
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", w->path);
        for (int b = 0; b < w->bands; b++) /* named categories never blend */
            w->categorical[b] = opts->category_count || opts->band_categorical[b];
    }
    cr_status st = CR_OK;
    /* A level read back from a Byte band is rounded: only the first, made from the cells
     * as written, is the same in place. */
    w->in_place = w->byte ? 1 : n;
    cr_gdal_begin(ctx);
    if (GDALBuildOverviews(w->ds, "NONE", n, factors, 0, NULL, NULL, NULL) != CE_None)
        st = cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot make the overviews of '%s'", w->path);
    cr_gdal_end(ctx);
    return st;
}

/* Codecs of libtiff that take only 8-bit (JPEG, WEBP) or 1-bit (CCITT) images: GDAL
 * accepts them for a COG and then fails on every tile, on its worker threads. */
static const char *const NARROW_CODECS[] = {"JPEG", "WEBP", "CCITTRLE", "CCITTFAX3", "CCITTFAX4",
                                            NULL};

static cr_status check_codec(cr_ctx *ctx, char **user)
{
    const char *codec = CSLFetchNameValue(user, "COMPRESS");
    for (int i = 0; codec && NARROW_CODECS[i]; i++)
        if (strcasecmp(codec, NARROW_CODECS[i]) == 0)
            return cr_ctx_fail(ctx, CR_E_USAGE,
                               "creation option COMPRESS=%s cannot compress Float32 bands (it takes "
                               "%s images); use DEFLATE, ZSTD, LZW, LZMA, LERC or NONE",
                               codec, strncasecmp(codec, "CCITT", 5) == 0 ? "1-bit" : "8-bit");
    return CR_OK;
}

cr_status cr_writer_open(cr_ctx *ctx, const char *path, const cr_grid *grid,
                         const cr_writer_opts *opts, cr_writer **out)
{
    cr_writer_opts defaults;
    if (!opts) {
        cr_writer_opts_init(&defaults);
        opts = &defaults;
    }
    *out = NULL;
    if (opts->band_count < 1)
        return cr_ctx_fail(ctx, CR_E_USAGE, "cannot write '%s' with %d bands", path,
                           opts->band_count);
    cr_status st = check_codec(ctx, opts->creation_options);
    if (st == CR_OK)
        st = check_type(ctx, path, opts);
    if (st == CR_OK)
        st = cr_outputs_check(ctx, path, "raster", NULL, opts->input_paths, opts->overwrite);
    if (st != CR_OK)
        return st;
    cr_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", path);
    }
    cr_foreign_watch_begin(&w->foreign);
    w->staging = (cr_temp)CR_TEMP_NONE;
    w->cog = (cr_temp)CR_TEMP_NONE;
    w->overwrite = opts->overwrite;
    w->bands = opts->band_count;
    w->nodata = opts->nodata;
    w->byte = opts->type == CR_WRITER_BYTE;
    w->width = grid->width, w->height = grid->height;
    w->tile = cr_writer_tile_size(w->bands);
    st = cr_temp_file(ctx, path, "part", &w->staging);
    if (st == CR_OK)
        st = cr_temp_file(ctx, path, "cog", &w->cog);
    if (st == CR_OK && (!(w->staging_watched = cr_watch_path(w->staging.path)) ||
                        !(w->cog_watched = cr_watch_path(w->cog.path))))
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", path);
    if (st == CR_OK)
        st = create_staging(ctx, w, grid, opts);
    if (st == CR_OK)
        st = reserve_overviews(ctx, w, grid, opts);
    if (st != CR_OK) {
        cr_writer_abort(w);
        return st;
    }
    w->cog_options = cog_options(ctx, w, opts->creation_options);
    *out = w;
    return CR_OK;
}

cr_status cr_writer_set_metadata(cr_ctx *ctx, cr_writer *w, int band, const char *key,
                                 const char *value)
{
    if (band < 0 || band > w->bands)
        return cr_ctx_fail(ctx, CR_E_USAGE, "'%s' has no band %d", w->path, band);
    GDALMajorObjectH obj = band == 0 ? (GDALMajorObjectH)w->ds
                                     : (GDALMajorObjectH)GDALGetRasterBand(w->ds, band);
    if (GDALSetMetadataItem(obj, key, value, NULL) != CE_None)
        return cr_ctx_fail(ctx, CR_E_IO, "cannot set metadata %s of '%s'", key, w->path);
    return CR_OK;
}

/* 1 when a block of sw x sh cells at x, y of a width x height level covers whole 2 x 2
 * cells of the level below: even origin, even size or the level's edge. */
static int covers_whole_cells(int x, int y, int sw, int sh, int width, int height)
{
    return x % 2 == 0 && y % 2 == 0 && (sw % 2 == 0 || x + sw == width) &&
           (sh % 2 == 0 || y + sh == height);
}

/* Writes the overview pieces under a block just written, from the block in memory, level
 * by level (each from the piece above it) while the piece covers whole 2 x 2 cells: the
 * values commit would compute reading the levels back. The first level a block cannot make
 * and those below are left to commit, for every block from then on. */
static cr_status reduce_in_place(cr_ctx *ctx, cr_writer *w, int band, const cr_window *win)
{
    size_t cells = (size_t)((win->w + 1) / 2) * (size_t)((win->h + 1) / 2);
    for (int k = 0; k < 2 && cells > w->reduced_cells; k++) {
        float *grown = realloc(w->reduced[k], cells * sizeof *grown);
        if (!grown)
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", w->path);
        w->reduced[k] = grown;
    }
    if (cells > w->reduced_cells)
        w->reduced_cells = cells;
    GDALRasterBandH full = GDALGetRasterBand(w->ds, band);
    int categorical = w->categorical && w->categorical[band - 1];
    const float *src = w->scratch;
    int x = win->x, y = win->y, sw = win->w, sh = win->h, width = w->width, height = w->height;
    int k = 0;
    for (; k < w->in_place && covers_whole_cells(x, y, sw, sh, width, height); k++) {
        int ow = (sw + 1) / 2, oh = (sh + 1) / 2;
        float *dst = w->reduced[k % 2];
        cr_overview_reduce(src, sw, sh, dst, ow, oh, (float)w->nodata, categorical);
        x /= 2, y /= 2, sw = ow, sh = oh, width = (width + 1) / 2, height = (height + 1) / 2;
        if (GDALRasterIO(GDALGetOverview(full, k), GF_Write, x, y, ow, oh, dst, ow, oh,
                         GDT_Float32, 0, 0) != CE_None)
            return cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot write the overviews of '%s'", w->path);
        src = dst;
    }
    w->in_place = k;
    return CR_OK;
}

/* A failed write of the temporary files (a full disk) explains a failure better than
 * what libtiff made of it ("Write error at scanline 0"), and is one even when GDAL let
 * it pass. */
static cr_status explain_failure(cr_ctx *ctx, cr_writer *w, cr_status st)
{
    int err = w->staging.path ? cr_watch_failure(w->staging.path) : 0;
    int cog_err = w->cog.path ? cr_watch_failure(w->cog.path) : 0;
    if (!err)
        err = cog_err;
    if (!err || st == CR_E_CANCELLED)
        return st;
    return cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", w->path, strerror(err));
}

cr_status cr_writer_write(cr_ctx *ctx, cr_writer *w, int band, const cr_window *win,
                          const float *values)
{
    if (band < 1 || band > w->bands)
        return cr_ctx_fail(ctx, CR_E_USAGE, "'%s' has no band %d", w->path, band);
    size_t n = (size_t)win->w * win->h;
    if (n > w->scratch_cells) {
        float *grown = realloc(w->scratch, n * sizeof *grown);
        if (!grown)
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", w->path);
        w->scratch = grown;
        w->scratch_cells = n;
    }
    float nodata = (float)w->nodata;
    for (size_t i = 0; i < n; i++)
        w->scratch[i] = isnan(values[i]) ? nodata : values[i];
    cr_status st = CR_OK;
    cr_gdal_begin(ctx);
    if (GDALRasterIO(GDALGetRasterBand(w->ds, band), GF_Write, win->x, win->y, win->w, win->h,
                     w->scratch, win->w, win->h, GDT_Float32, 0, 0) != CE_None)
        st = cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot write '%s'", w->path);
    if (st == CR_OK && w->own_overviews)
        st = reduce_in_place(ctx, w, band, win);
    cr_gdal_end(ctx);
    return st == CR_OK ? st : explain_failure(ctx, w, st);
}

/* Closes ds and returns 1 when GDAL reported a failure while flushing it (GDAL 3.6's
 * GDALClose() returns nothing). */
static int close_failed(GDALDatasetH ds)
{
    CPLErrorReset();
    GDALClose(ds);
    return CPLGetLastErrorType() >= CE_Failure;
}

/* Forwards GDAL's progress to the context and remembers a cancellation, which
 * GDALCreateCopy() does not tell apart from a failure. */
typedef struct copy_progress {
    cr_ctx *ctx;
    int cancelled;
    double from, to; /* the share of the context's range this copy reports in */
} copy_progress;

static int forward_progress(double complete, const char *message, void *arg)
{
    copy_progress *p = arg;
    if (cr_ctx_progress(p->ctx, p->from + complete * (p->to - p->from), message))
        return 1;
    p->cancelled = 1;
    return 0;
}

/* GDAL's COG copy allocates its tiles with CPLMalloc(), which aborts the process when
 * memory runs out (under ulimit -v, say), leaving the temporary files behind. Asks for what
 * the copy will hold (the block cache it fills reading the staging file, and its tiles)
 * and gives it back at once: when that cannot be had, the write fails cleanly instead. */
static cr_status reserve_copy_memory(cr_ctx *ctx, const cr_writer *w)
{
    double tiles = ceil((double)w->width / w->tile) * ceil((double)w->height / w->tile);
    double cache = fmin((double)GDALGetCacheMax64(), tiles * tile_bytes(w));
    int threads = compression_threads(ctx, w);
    double need = cache + (COPY_TILES + TILES_PER_THREAD * (threads - 1)) * tile_bytes(w);
    void *p = need < (double)SIZE_MAX / 2 ? malloc((size_t)need) : NULL;
    if (p) {
        free(p);
        return CR_OK;
    }
    return cr_ctx_fail(ctx, CR_E_IO,
                       "out of memory writing '%s': GDAL's COG copy needs about %.0f MB (%d bands "
                       "in tiles of %d x %d cells, and its block cache), more than this process "
                       "can have",
                       w->path, need / 1e6, w->bands, w->tile, w->tile);
}

/* The CPU seconds of the whole process so far (every thread, GDAL's too): the debug log
 * gives each step's next to its wall time, which on a shared machine says more. */
static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Closes the staging file, copies it to the COG file, checks both steps; its progress
 * goes from..to of the context's range. */
static cr_status write_cog(cr_ctx *ctx, cr_writer *w, double from, double to)
{
    cr_status st = CR_OK;
    double start = cr_seconds(), cpu = cpu_seconds();
    if (w->own_overviews)
        st = cr_overviews_fill(ctx, w->ds, w->path, (float)w->nodata, w->categorical,
                               w->in_place);
    if (st != CR_OK)
        return st; /* cr_writer_abort() closes and removes the staging file */
    if (w->own_overviews)
        cr_ctx_log(ctx, CR_LOG_DEBUG,
                   "writer: overviews of '%s': %d of %d levels made in place, the rest took %.2f s "
                   "(CPU %.2f s)",
                   w->path, w->in_place, GDALGetOverviewCount(GDALGetRasterBand(w->ds, 1)),
                   cr_seconds() - start, cpu_seconds() - cpu);
    start = cr_seconds(), cpu = cpu_seconds();
    cr_gdal_begin(ctx);
    if (close_failed(w->ds)) /* flushes the last blocks: a full disk shows here */
        st = cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot write '%s'", w->path);
    w->ds = NULL;
    if (st == CR_OK) /* once the staging file's blocks have left the cache */
        st = reserve_copy_memory(ctx, w);
    GDALDatasetH staged = st == CR_OK ? GDALOpen(w->staging_watched, GA_ReadOnly) : NULL;
    if (st == CR_OK && !staged)
        st = cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot reopen the temporary file of '%s'", w->path);
    if (st == CR_OK) {
        copy_progress progress = {ctx, 0, from, to};
        GDALDatasetH cog = GDALCreateCopy(GDALGetDriverByName("COG"), w->cog_watched, staged, FALSE,
                                          w->cog_options, forward_progress, &progress);
        int failed = !cog || close_failed(cog);
        if (progress.cancelled)
            st = cr_ctx_fail(ctx, CR_E_CANCELLED, "writing '%s' was cancelled", w->path);
        else if (failed)
            st = cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot write '%s'", w->path);
    }
    if (staged)
        GDALClose(staged);
    cr_gdal_end(ctx);
    cr_ctx_log(ctx, CR_LOG_DEBUG, "writer: the COG copy of '%s' took %.2f s (CPU %.2f s)", w->path,
               cr_seconds() - start, cpu_seconds() - cpu);
    return st;
}

/* Writes the COG of w into its temporary file, ready to publish. */
static cr_status finish(cr_ctx *ctx, cr_writer *w, double from, double to)
{
    cr_status st = explain_failure(ctx, w, write_cog(ctx, w, from, to));
    /* GDAL's compression threads report to no context: a tile they failed to encode is
     * left out of the file while the copy returns success (a hole of nodata). */
    char why[1024];
    if (cr_foreign_watch_end(&w->foreign, why, sizeof why) && st == CR_OK)
        st = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", w->path, why);
    return st;
}

cr_status cr_writer_commit(cr_ctx *ctx, cr_writer *w)
{
    return cr_writer_commit_all(ctx, &w, 1);
}

cr_status cr_writer_commit_all(cr_ctx *ctx, cr_writer *const *w, int n)
{
    cr_status st = CR_OK;
    int live = 0, done = 0, published = 0;
    for (int i = 0; i < n; i++)
        live += w[i] != NULL;
    /* Every COG first: the long work, and what may fail for want of disk or memory. */
    for (int i = 0; i < n && st == CR_OK; i++)
        if (w[i]) {
            st = finish(ctx, w[i], (double)done / live, (double)(done + 1) / live);
            done++;
        }
    /* The files an overwrite replaces are kept aside until the whole set is in place: a set
     * that fails gives them back rather than leaving the user with neither version. */
    cr_temp *backup = calloc((size_t)n + 1, sizeof *backup);
    if (!backup && st == CR_OK)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", n && w[0] ? w[0]->path : "");
    for (int i = 0; backup && i < n; i++)
        backup[i] = (cr_temp)CR_TEMP_NONE;
    for (int i = 0; i < n && st == CR_OK; i++)
        if (w[i] && w[i]->overwrite)
            st = cr_temp_backup(ctx, w[i]->path, &backup[i]);
    /* Then the renames, undone when one fails, so that no part of the set is left. */
    for (int i = 0; i < n && st == CR_OK; i++) {
        if (w[i])
            st = cr_temp_publish(ctx, &w[i]->cog, w[i]->path, w[i]->overwrite);
        if (st == CR_OK)
            published = i + 1;
    }
    for (int i = 0; st != CR_OK && backup && i < n; i++) {
        if (!w[i])
            continue;
        if (backup[i].path) /* also those not yet replaced: one renamed aside must come back */
            cr_temp_restore(ctx, &backup[i], w[i]->path);
        else if (i < published && unlink(w[i]->path) != 0 && errno != ENOENT)
            cr_ctx_log(ctx, CR_LOG_WARNING, "cannot remove '%s' of a failed write: %s", w[i]->path,
                       strerror(errno));
    }
    for (int i = 0; backup && i < n; i++) /* replaced, or never touched: not needed */
        cr_temp_discard(&backup[i]);
    free(backup);
    for (int i = 0; i < n; i++)
        cr_writer_abort(w[i]);
    return st;
}

void cr_writer_abort(cr_writer *w)
{
    if (!w)
        return;
    cr_foreign_watch_end(&w->foreign, NULL, 0);
    if (w->ds)
        GDALClose(w->ds);
    if (w->staging.path) /* forgets the failures of a discarded output */
        cr_watch_failure(w->staging.path);
    if (w->cog.path)
        cr_watch_failure(w->cog.path);
    cr_temp_discard(&w->staging);
    cr_temp_discard(&w->cog); /* after a successful publish it is already gone */
    CSLDestroy(w->cog_options);
    free(w->categorical);
    free(w->reduced[0]);
    free(w->reduced[1]);
    free(w->scratch);
    free(w->staging_watched);
    free(w->cog_watched);
    free(w->path);
    free(w);
}
