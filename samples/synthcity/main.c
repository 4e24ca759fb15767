/* cityrisk-synthcity: writes the synthetic "Port Azul" input set (DEM, settlement, water stress,
 * population, arrival records, neighbourhoods) to OUTDIR. The same arguments give the same bytes
 * with the same GDAL; every raster is made block by block, so --size 40000 runs in bounded memory. */
#include "synthcity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>
#include <gdal.h>

#define PROGRAM "cityrisk-synthcity"
#define USAGE "usage: " PROGRAM " [--size N] [--records N] [--zones N] [--seed S] OUTDIR\n"
#define HELP                                                                                   \
    USAGE                                                                                      \
    "Writes the synthetic coastal city \"Port Azul\" to OUTDIR: dem.tif, settlement.tif,\n"     \
    "water_stress.tif, population.tif, arrivals.csv, neighbourhoods.gpkg, and the published\n"  \
    "shapes aqueduct_baseline.gpkg, informal_settlements.shp, arrivals_by_neighbourhood.csv;\n" \
    "one line per file\n"                                                                      \
    "(path, tab, bytes) on stdout. Same arguments, same bytes.\n"                               \
    "  --size N     DEM width and height in 30 m cells (667, ~20 km; 64..100000)\n"             \
    "  --records N  arrival records (3000)\n"                                                   \
    "  --zones N    neighbourhood polygons (60)\n"                                              \
    "  --seed S     noise seed, decimal or 0x hex (1)\n"

/* GDAL's block cache defaults to 5% of RAM; each block is final once written, so a small cache
 * costs nothing and keeps the peak memory independent of raster size. */
#define GDAL_CACHE_BYTES (64LL * 1024 * 1024)

typedef int (*OutputWriter)(const Job *job, const char *path, SynthError *err);

static const struct {
    const char *file;
    OutputWriter write;
} OUTPUTS[] = {
    {"dem.tif", write_dem},
    {"settlement.tif", write_settlement},
    {"water_stress.tif", write_water_stress},
    {"population.tif", write_population},
    {"arrivals.csv", write_arrivals},
    {"neighbourhoods.gpkg", write_neighbourhoods},
    /* the same city as its providers publish it (issue 18): polygons and a table */
    {"aqueduct_baseline.gpkg", write_aqueduct_basins},
    {"informal_settlements.shp", write_informal_settlements},
    {"arrivals_by_neighbourhood.csv", write_arrivals_table},
};

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, PROGRAM ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n" USAGE);
    return -1;
}

static int parse_count(const char *text, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_seed(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int count_option(const char *name, const char *value, long long lo, long long hi,
                        long long *out)
{
    if (parse_count(value, lo, hi, out) == 0)
        return 0;
    char msg[256];
    snprintf(msg, sizeof msg, "invalid %s '%.64s' (expected an integer from %lld to %lld)", name,
             value, lo, hi);
    return usage_error("%s", msg);
}

/* One "--name value" pair; the bounds keep every derived grid within GDAL's int dimensions. */
static int parse_option(Options *o, const char *name, const char *value)
{
    long long v = 0;
    if (!value)
        return usage_error("missing value for %s", name);
    if (strcmp(name, "--seed") == 0)
        return parse_seed(value, &o->seed) == 0 ? 0 : usage_error("invalid --seed '%s'", value);
    if (strcmp(name, "--size") == 0) {
        if (count_option(name, value, 64, 100000, &v) != 0)
            return -1;
        o->size = (int)v;
    } else if (strcmp(name, "--records") == 0) {
        if (count_option(name, value, 0, 2000000000LL, &v) != 0)
            return -1;
        o->records = v;
    } else if (strcmp(name, "--zones") == 0) {
        if (count_option(name, value, 1, 1000000, &v) != 0)
            return -1;
        o->zones = (int)v;
    } else {
        return usage_error("unknown option '%s'", name);
    }
    return 0;
}

static int parse_args(int argc, char **argv, Options *o)
{
    *o = (Options){.size = 667, .records = 3000, .zones = 60, .seed = 1, .outdir = NULL};
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) {
            if (o->outdir)
                return usage_error("unexpected argument '%s'", argv[i]);
            o->outdir = argv[i];
        } else if (parse_option(o, argv[i], i + 1 < argc ? argv[i + 1] : NULL) != 0) {
            return -1;
        } else {
            i++;
        }
    }
    return o->outdir ? 0 : usage_error("%s", "missing OUTDIR");
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

/* Timestamps are the one thing GDAL would otherwise put into otherwise reproducible files. */
static void configure_gdal(void)
{
    CPLSetConfigOption("OGR_CURRENT_DATE", "2025-01-01T00:00:00.000Z");
    CPLSetConfigOption("GDAL_PAM_ENABLED", "NO"); /* no .aux.xml side files */
    GDALSetCacheMax64(GDAL_CACHE_BYTES);
    GDALAllRegister();
    /* Errors are reported once, as one line, by main(); GDAL's own printing would duplicate them. */
    CPLPushErrorHandler(CPLQuietErrorHandler);
}

/* Succeeds when the directory already exists, fails when OUTDIR is a file. */
static int make_outdir(const char *dir, SynthError *err)
{
    errno = 0;
    if (VSIMkdirRecursive(dir, 0755) != 0) {
        const char *why = errno == EEXIST ? "exists and is not a directory"
                                          : (errno ? strerror(errno) : "cannot create directory");
        return synth_fail(err, dir, why);
    }
    return 0;
}

static int write_outputs(const Job *job, SynthError *err)
{
    for (size_t i = 0; i < sizeof OUTPUTS / sizeof OUTPUTS[0]; i++) {
        char path[4096];
        if (join_path(path, sizeof path, job->options->outdir, OUTPUTS[i].file) != 0)
            return synth_fail(err, job->options->outdir, "path too long");
        if (OUTPUTS[i].write(job, path, err) != 0) {
            VSIUnlink(path); /* never leave a half-written file looking complete */
            return -1;
        }
        report_written(path);
    }
    return 0;
}

static int run(const Options *options, SynthError *err)
{
    Georef georef;
    Terrain terrain;
    if (make_outdir(options->outdir, err) != 0 || georef_init(&georef, options->size, err) != 0)
        return -1;
    terrain_init(&terrain, georef.x_west, georef.y_north - georef.extent, georef.extent,
                 options->size, options->seed);
    Job job = {options, &georef, &terrain};
    int rc = write_outputs(&job, err);
    georef_free(&georef);
    return rc;
}

int main(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(HELP, stdout);
        return 0;
    }
    Options options;
    if (parse_args(argc, argv, &options) != 0)
        return 2;
    configure_gdal();
    SynthError err = {{0}, {0}};
    int rc = run(&options, &err);
    if (rc != 0)
        fprintf(stderr, PROGRAM ": cannot write '%s': %s\n", err.path, err.reason);
    CPLPopErrorHandler();
    GDALDestroyDriverManager();
    return rc == 0 ? 0 : 1;
}
