/* fuzz_zones.c: zones read from GeoJSON bytes onto a small grid (cr_zones_load: reading,
 * repair, cutting to the grid, reprojection), then the cell coverage of each.
 *
 * Input: GeoJSON bytes (with a "crs" member, GDAL reads zones in any CRS), written to a
 * file. A first byte from 0x01 to 0x08 (never the start of JSON) is an option byte and is
 * taken off: bit 0 picks a grid in lon/lat (EPSG:4326, cells of 0.0003 degrees) instead of
 * UTM 36S (EPSG:32736, cells of 30 m), both around 690000 E, 7806000 N; bit 1 makes it 600
 * x 600 cells instead of 8 x 8; bit 2 has the progress callback cancel at its first call.
 *
 * Checks, for every input:
 *   - a failure is CR_E_DATA (bad zones), or CR_E_CANCELLED when cancelling, with a
 *     one-line message; GDAL prints nothing (fuzzutil.c);
 *   - loading costs a bounded time and memory (libFuzzer's -timeout and -rss_limit_mb):
 *     the repair is bounded, and zones far larger than the grid are cut to it;
 *   - a loaded layer has zones, and at least one meets the grid; every zone is empty
 *     (no statistics) or has a finite area >= 0; its rings have at least 4 points each and
 *     its box lies on the grid;
 *   - every coverage fraction of a zone's box is in [0, 1], and the covered area on the
 *     grid is at most the zone's area (its whole area, which may reach beyond the grid),
 *     within the rounding of the sums (on a lon/lat grid, within 1e-6: its cells' areas
 *     are per row, the zone's is geodesic). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gdal.h>

#include "cityrisk/coverage.h"
#include "cityrisk/zonal.h"
#include "fuzzutil.h"
#include "zonal/zonal_internal.h"

static cr_coverage_scratch scratch;
static int calls;

static int cancel_at_once(double complete, const char *message, void *arg)
{
    (void)complete, (void)message, (void)arg;
    calls++;
    return 0;
}

static cr_grid *make_grid(cr_ctx *ctx, int geographic, int big)
{
    int side = big ? 600 : 8;
    cr_bounds b;
    double res;
    if (geographic) {
        res = 0.0003;
        b = (cr_bounds){34.8142, -19.8350, 34.8142 + side * res, -19.8350 + side * res};
    } else {
        res = 30.0;
        b = (cr_bounds){690000.0, 7806000.0 - side * res, 690000.0 + side * res, 7806000.0};
    }
    cr_grid *grid = NULL;
    if (cr_grid_from_bounds(ctx, &b, res, res, geographic ? "EPSG:4326" : "EPSG:32736", &grid) !=
        CR_OK)
        fz_fail("cannot make the grid: %s", cr_ctx_error(ctx));
    return grid;
}

static cr_grid *grids[4];

/* A square of 60 m on the UTM grid, which must load: a target whose every input failed
 * (no GDAL driver, say) would find nothing. */
static const char SELF_TEST[] =
    "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":"
    "\"urn:ogc:def:crs:EPSG::32736\"}},\"features\":[{\"type\":\"Feature\",\"properties\":{},"
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[690000,7806000],[690060,7806000],"
    "[690060,7805940],[690000,7805940],[690000,7806000]]]}}]}";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    GDALAllRegister();
    cr_ctx *ctx = fz_ctx();
    for (int g = 0; g < 4; g++)
        grids[g] = make_grid(ctx, g & 1, g & 2);
    cr_zonal_opts opts;
    cr_zonal_opts_init(&opts);
    opts.zones_path = fz_write("self-test.geojson", (const uint8_t *)SELF_TEST, strlen(SELF_TEST));
    cr_zones zones;
    if (cr_zones_load(ctx, &opts, grids[0], "grid.tif", &zones) != CR_OK)
        fz_fail("the self-test zone does not load: %s", cr_ctx_error(ctx));
    if (zones.count != 1 || fabs(zones.zone[0].area_m2 - 3600.0) > 1e-6)
        fz_fail("the self-test zone loads wrong: %lld zones, area %g", (long long)zones.count,
                zones.count ? zones.zone[0].area_m2 : 0.0);
    cr_zones_free(&zones);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int options = 0;
    if (size > 0 && data[0] >= 0x01 && data[0] <= 0x08) {
        options = data[0] - 1;
        data++, size--;
    }
    cr_ctx *ctx = fz_ctx();
    int g = options & 3;
    const cr_grid *grid = grids[g];
    int cancel = (options & 4) != 0;
    const char *path = fz_write("zones.geojson", data, size);
    cr_zonal_opts opts;
    cr_zonal_opts_init(&opts);
    opts.zones_path = path;
    cr_zones zones;
    calls = 0;
    if (cancel)
        cr_ctx_set_progress(ctx, cancel_at_once, NULL);
    cr_status st = cr_zones_load(ctx, &opts, grid, "grid.tif", &zones);
    cr_ctx_set_progress(ctx, NULL, NULL);
    if (st != CR_OK) {
        const char *msg = cr_ctx_error(ctx);
        FZ_CHECK(st == CR_E_DATA || (cancel && st == CR_E_CANCELLED),
                 "status %d (%s): %s", (int)st, cr_status_name(st), msg);
        FZ_CHECK(*msg && !strchr(msg, '\n'), "failure without a one-line message: '%s'", msg);
        FZ_CHECK(zones.zone == NULL && zones.count == 0, "a failed load left zones");
        return 0;
    }
    FZ_CHECK(!cancel || calls == 0, "loaded although the progress callback cancelled");
    FZ_CHECK(zones.count > 0 && zones.empty < zones.count, "a layer loaded with no polygon");
    int on_grid = 0;
    const double cell = cr_grid_cell_area(grid);
    for (int64_t i = 0; i < zones.count; i++) {
        const cr_zone *z = &zones.zone[i];
        if (z->empty) {
            FZ_CHECK(z->box.w == 0, "zone %lld is empty but has a box", (long long)i);
            continue;
        }
        FZ_CHECK(isfinite(z->area_m2) && z->area_m2 >= 0.0, "zone %lld has area %g",
                 (long long)i, z->area_m2);
        for (int r = 0; r < z->rings.nrings; r++) {
            int start = r ? z->rings.ring_end[r - 1] : 0;
            FZ_CHECK(z->rings.ring_end[r] - start >= 4, "zone %lld ring %d has %d points",
                     (long long)i, r, z->rings.ring_end[r] - start);
        }
        if (z->box.w == 0)
            continue;
        on_grid = 1;
        FZ_CHECK(z->box.x >= 0 && z->box.y >= 0 && z->box.h > 0 &&
                     z->box.x + z->box.w <= grid->width && z->box.y + z->box.h <= grid->height,
                 "zone %lld: box %d,%d %dx%d off the grid", (long long)i, z->box.x, z->box.y,
                 z->box.w, z->box.h);
        size_t cells = (size_t)z->box.w * (size_t)z->box.h;
        double *f = malloc(cells * sizeof *f);
        FZ_CHECK(f != NULL, "out of memory");
        FZ_CHECK(cr_coverage(ctx, &z->rings, &z->box, &scratch, f) == CR_OK, "coverage failed: %s",
                 cr_ctx_error(ctx));
        double covered = 0.0, unit = 0.0;
        for (int r = 0; r < z->box.h; r++)
            for (int c = 0; c < z->box.w; c++) {
                double v = f[(size_t)r * z->box.w + c];
                FZ_CHECK(v >= 0.0 && v <= 1.0, "zone %lld: fraction %.17g", (long long)i, v);
                covered += v * zones.cell_area_m2[z->box.y + r];
                unit += v;
            }
        free(f);
        double tol = (g & 1) ? 1e-6 * z->area_m2 : 1e-9 * z->area_m2 + 1e-9 * cell;
        FZ_CHECK(covered <= z->area_m2 + tol + 1e-9 * unit * cell,
                 "zone %lld covers %.17g m2 of the grid, more than its area %.17g", (long long)i,
                 covered, z->area_m2);
    }
    FZ_CHECK(on_grid, "a layer loaded with no zone on the grid");
    cr_zones_free(&zones);
    return 0;
}
