/*
 * consumer.c: a program outside cityrisk's tree, built against an installed cityrisk
 * (.ci/install.sh builds it with pkg-config and with CMake's find_package). It runs one
 * stage, inundation, on the sample city's DEM and checks what the stage found and wrote,
 * so that the installed headers, shared library and package files are shown to work
 * together as another program uses them.
 *
 * Usage: consumer DEM OUT.tif     exit 0 when everything matched, 1 otherwise
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <gdal.h>

#include <cityrisk/cityrisk.h>

/* What `cityrisk inundation --sea-level 2` finds on samples/data/dem.tif (the README's
 * stress-2m line). */
#define SAMPLE_SEA_CELLS 117365
#define SAMPLE_INUNDATED_2M 10644
#define SAMPLE_SIDE 667

static int check_output(const char *path)
{
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    if (!ds) {
        fprintf(stderr, "consumer: cannot open the output '%s'\n", path);
        return 0;
    }
    int ok = GDALGetRasterCount(ds) == 1 && GDALGetRasterXSize(ds) == SAMPLE_SIDE &&
             GDALGetRasterYSize(ds) == SAMPLE_SIDE;
    if (!ok)
        fprintf(stderr, "consumer: '%s' is not one band of %d x %d cells\n", path, SAMPLE_SIDE,
                SAMPLE_SIDE);
    GDALClose(ds);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: consumer DEM OUT.tif\n");
        return 1;
    }
    /* The header and the library must be of one release. */
    if (strcmp(cr_version(), CR_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: library %s, headers %s\n", cr_version(), CR_VERSION_STRING);
        return 1;
    }
    GDALAllRegister(); /* before any call that opens files */
    cr_ctx *ctx = cr_ctx_new();
    if (!ctx) {
        fprintf(stderr, "consumer: cannot create a context\n");
        return 1;
    }
    cr_sea_level level = {NULL, 2.0};
    cr_inundation_opts opts;
    cr_inundation_opts_init(&opts);
    opts.levels = &level;
    opts.level_count = 1;
    cr_inundation_stats stats;
    int64_t sea_cells = 0;
    int rc = 1;
    cr_status st = cr_inundation(ctx, argv[1], argv[2], &opts, &stats, &sea_cells);
    if (st != CR_OK)
        fprintf(stderr, "consumer: %s: %s\n", cr_status_name(st), cr_ctx_error(ctx));
    else if (sea_cells != SAMPLE_SEA_CELLS || stats.inundated_cells != SAMPLE_INUNDATED_2M)
        fprintf(stderr, "consumer: %lld sea cells and %lld inundated, expected %d and %d\n",
                (long long)sea_cells, (long long)stats.inundated_cells, SAMPLE_SEA_CELLS,
                SAMPLE_INUNDATED_2M);
    else if (check_output(argv[2])) {
        printf("consumer: cityrisk %s: %lld sea cells, %lld inundated at 2 m\n", cr_version(),
               (long long)sea_cells, (long long)stats.inundated_cells);
        rc = 0;
    }
    cr_ctx_free(ctx);
    return rc;
}
