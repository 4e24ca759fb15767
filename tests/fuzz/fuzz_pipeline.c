/* fuzz_pipeline.c: reading pipeline files (cr_pipeline_load).
 *
 * Input: the pipeline's JSON, then optionally a NUL byte and --set items, one a line.
 * The file is written to the scratch folder, beside a few empty inputs (dem.tif,
 * points.csv, zones.gpkg, water.tif) so that pipelines naming them can load. A load
 * must fail with a message, or give stages with unique names, known commands, argument
 * lists starting with the command, every input existing or made by a stage, every stage
 * after those whose outputs it reads (and none reading its own), and no file written by
 * two stages, nor the pipeline or state file written by one: files compared as the same
 * file, folders resolved by realpath(), however they are spelled. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cpl_string.h>
#include <gdal.h>

#include "cityrisk/pipeline.h"
#include "fuzzutil.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char *const inputs[] = {"dem.tif", "points.csv", "zones.gpkg", "water.tif"};
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++)
        fz_write(inputs[i], (const uint8_t *)"", 0);
    return 0;
}

/* The folder path with "", "." and ".." components worked out by their names, into out. */
static void by_names(const char *path, char *out, size_t size)
{
    char copy[PATH_MAX + 1], *save = NULL;
    const char *parts[PATH_MAX / 2];
    int n = 0;
    snprintf(copy, sizeof copy, "%s", path);
    for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save))
        if (strcmp(t, "..") == 0)
            n -= n > 0;
        else if (strcmp(t, ".") != 0)
            parts[n++] = t;
    size_t len = (size_t)snprintf(out, size, "%s", path[0] == '/' ? "/" : "");
    for (int i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s/", parts[i]);
}

/* 1 when a and b name the same file: the same name in folders that realpath() resolves
 * to one, or, when a folder does not exist, whose names say the same folder. Paths are
 * absolute or relative to the working folder, as the loader leaves them. */
static int same_file(const char *a, const char *b)
{
    if (strcmp(a, b) == 0)
        return 1;
    const char *na = strrchr(a, '/'), *nb = strrchr(b, '/');
    if (strcmp(na ? na + 1 : a, nb ? nb + 1 : b) != 0)
        return 0;
    char da[PATH_MAX + 1], db[PATH_MAX + 1], ra[PATH_MAX + 1], rb[PATH_MAX + 1];
    snprintf(da, sizeof da, "%.*s", na ? (int)(na - a) + 1 : 1, na ? a : ".");
    snprintf(db, sizeof db, "%.*s", nb ? (int)(nb - b) + 1 : 1, nb ? b : ".");
    if (realpath(da, ra) && realpath(db, rb))
        return strcmp(ra, rb) == 0;
    by_names(da, ra, sizeof ra);
    by_names(db, rb, sizeof rb);
    return strcmp(ra, rb) == 0;
}

/* The stage that writes path, -1 when none does. */
static int maker(const cr_pipeline *p, const char *path)
{
    for (int j = 0; j < p->nstages; j++)
        for (char **o = p->stage[j].outputs; o && *o; o++)
            if (same_file(*o, path))
                return j;
    return -1;
}

static void check(const cr_pipeline *p, const char *path)
{
    static const char *const commands[] = {"inundation", "arrivals", "score", "zonal", "map"};
    FZ_CHECK(p->path && strcmp(p->path, path) == 0, "pipeline path '%s'", p->path);
    FZ_CHECK(p->state_path && strstr(p->state_path, ".state.json"), "state path '%s'",
             p->state_path);
    FZ_CHECK(p->nstages >= 0, "%d stages", p->nstages);
    for (int i = 0; i < p->nstages; i++) {
        const cr_stage *s = &p->stage[i];
        int known = 0;
        for (size_t c = 0; c < sizeof commands / sizeof *commands; c++)
            known |= strcmp(s->command, commands[c]) == 0;
        FZ_CHECK(known, "stage %d: command '%s'", i, s->command);
        FZ_CHECK(s->name && *s->name, "stage %d has no name", i);
        FZ_CHECK(s->argv && strcmp(s->argv[0], s->command) == 0, "stage %s: argv[0] '%s'", s->name,
                 s->argv ? s->argv[0] : "(none)");
        for (int j = 0; j < i; j++)
            FZ_CHECK(strcmp(p->stage[j].name, s->name) != 0, "two stages named '%s'", s->name);
        for (char **o = s->outputs; o && *o; o++) {
            FZ_CHECK(!same_file(*o, path) && !same_file(*o, p->state_path), "stage %s writes '%s'",
                     s->name, *o);
            for (char **o2 = o + 1; *o2; o2++)
                FZ_CHECK(!same_file(*o, *o2), "stage %s writes '%s' twice", s->name, *o);
            for (int j = 0; j < i; j++)
                for (char **o2 = p->stage[j].outputs; o2 && *o2; o2++)
                    FZ_CHECK(!same_file(*o, *o2), "stages %s and %s both write '%s'", p->stage[j].name,
                             s->name, *o);
        }
        for (int d = 0; d < s->ndeps; d++)
            FZ_CHECK(s->deps[d] >= 0 && s->deps[d] < i && (d == 0 || s->deps[d] > s->deps[d - 1]),
                     "stage %s: dependency %d is stage %d", s->name, d, s->deps[d]);
        for (char **in = s->inputs; in && *in; in++) {
            int j = maker(p, *in);
            struct stat sb;
            FZ_CHECK(j >= 0 || strncmp(*in, "/vsi", 4) == 0 || stat(*in, &sb) == 0,
                     "stage %s: input '%s' neither exists nor is made", s->name, *in);
            int listed = 0;
            for (int d = 0; d < s->ndeps; d++)
                listed |= j == s->deps[d];
            FZ_CHECK(j != i, "stage %s reads its own output '%s'", s->name, *in);
            FZ_CHECK(j < 0 || listed, "stage %s reads '%s' of stage %s, run after it", s->name, *in,
                     p->stage[j].name);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cr_ctx *ctx = fz_ctx();
    const uint8_t *nul = memchr(data, '\0', size);
    size_t json_size = nul ? (size_t)(nul - data) : size;
    char **sets = NULL;
    if (nul) {
        char *text = fz_string(nul + 1, size - json_size - 1);
        sets = CSLTokenizeString2(text, "\n", 0);
        free(text);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s", fz_write("pipeline.json", data, json_size));
    cr_pipeline *p = NULL;
    cr_status st = cr_pipeline_load(ctx, path, sets, &p);
    if (st != CR_OK) {
        FZ_CHECK(!p, "failed with a pipeline");
        FZ_CHECK(cr_ctx_status(ctx) == st && *cr_ctx_error(ctx),
                 "failed with status %d without a message", (int)st);
        FZ_CHECK(st == CR_E_DATA || (st == CR_E_USAGE && sets), "status %d: %s", (int)st,
                 cr_ctx_error(ctx));
    } else {
        check(p, path);
    }
    cr_pipeline_free(p);
    CSLDestroy(sets);
    return 0;
}
