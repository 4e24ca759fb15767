/* tiles.c: a stage with "tiles": N runs as N tile jobs and the step that joins them, so that
 * the plan handed to Snakemake, Slurm or GNU parallel spreads one raster over machines.
 *
 * The recipes follow the commands' own split (include/cityrisk/tile.h):
 *   score, arrivals  N x `--tile I/N` tiles, then `mosaic` of the tiles into the output;
 *   inundation       N x `--phase edges`, one `--phase join`, N x `--phase depth`, `mosaic`;
 *   zonal            N x `--partial` parts, then `--merge` of the parts into the output.
 * The tiles' files live in "<output without extension>.tiles/" beside the output. */
#include <string.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <json-c/json.h>

#include "cityrisk/tile.h"
#include "pipeline/internal.h"

/* The keys that name the part of a run: the expansion sets them, a tiled stage may not. */
static const char *const PART_KEYS[] = {"tile", "window", "phase", "join", "partial", "merge"};

/* The keys naming files a run writes once whatever its part (see tile_job). */
static const char *const WHOLE_RUN_OUTPUTS[] = {"report"};

/* The keys of the stage that its joining step (mosaic, zonal --merge) takes too. */
static const char *const MOSAIC_KEYS[] = {"overwrite", "creation-option", "threads", "qml"};
static const char *const MERGE_KEYS[] = {"overwrite", "format", "layer-creation-option", "qml",
                                         "threads"};

/* Appends a part: command, its stage object (taken) and name (taken). */
static cr_status add_part(loader *L, cr_pl_parts *parts, const char *command, json_object *obj,
                          char *name)
{
    if (!obj || !name) {
        json_object_put(obj);
        CPLFree(name);
        return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    }
    cr_pl_part *grown = CPLRealloc(parts->part, (size_t)(parts->n + 1) * sizeof *grown);
    parts->part = grown;
    parts->part[parts->n++] = (cr_pl_part){command, obj, name};
    return CR_OK;
}

/* What marks a tile job besides its tile: inundation's "phase", zonal's "partial". */
typedef struct job_mark {
    const char *key;   /* NULL: nothing */
    const char *value; /* NULL: true */
} job_mark;

/* A copy of the stage's object for one tile job: without "tiles", with output, "tile": "I/N",
 * no QGIS style (a tile is not what users open), and its mark. */
static json_object *tile_job(json_object *obj, const char *output, int i, int n, job_mark mark)
{
    json_object *copy = NULL;
    if (json_object_deep_copy(obj, &copy, NULL) != 0)
        return NULL;
    json_object_object_del(copy, "tiles");
    /* A whole run's side file (arrivals' --report of rejected records: every tile reads
     * every record) is written by the first tile alone. */
    for (size_t k = 0; i > 1 && k < sizeof WHOLE_RUN_OUTPUTS / sizeof *WHOLE_RUN_OUTPUTS; k++)
        json_object_object_del(copy, WHOLE_RUN_OUTPUTS[k]);
    char tile[32];
    snprintf(tile, sizeof tile, "%d/%d", i, n);
    json_object_object_add(copy, "tile", json_object_new_string(tile));
    json_object_object_add(copy, "output", json_object_new_string(output));
    json_object_object_add(copy, "qml", json_object_new_boolean(0));
    if (mark.key)
        json_object_object_add(copy, mark.key, mark.value ? json_object_new_string(mark.value)
                                                          : json_object_new_boolean(1));
    return copy;
}

/* The positional argument's name of command ("input" for mosaic's TILE...). */
static const char *positional_name(const char *command)
{
    const cr_command *cmd = cr_pl_stage_command(command);
    for (const cr_arg *a = cmd ? cmd->args : NULL; a && a->type != CR_ARG_END; a++)
        if (a->flags & CR_ARGF_POSITIONAL)
            return a->name;
    return "input";
}

/* The joining step's object: {"stage": command, <positional>: files, "output": output} and
 * the keys of obj listed in carry. */
static json_object *join_step(json_object *obj, const char *command, const char *files_key,
                              json_object *files, const char *output, const char *const *carry,
                              size_t ncarry)
{
    json_object *step = json_object_new_object();
    json_object_object_add(step, "stage", json_object_new_string(command));
    json_object_object_add(step, files_key, files);
    json_object_object_add(step, "output", json_object_new_string(output));
    for (size_t i = 0; i < ncarry; i++) {
        json_object *v = NULL;
        if (json_object_object_get_ex(obj, carry[i], &v))
            json_object_object_add(step, carry[i], json_object_get(v));
    }
    return step;
}

/* Checks the "tiles" key of a stage: a whole number from 1, a command that splits, an output,
 * none of the keys the expansion sets. *n gets the count, *output the output as written. */
static cr_status check_tiles(loader *L, json_object *obj, int k, const char *command,
                             const char *name, int *n, const char **output)
{
    json_object *v = NULL, *out = NULL;
    json_object_object_get_ex(obj, "tiles", &v);
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
        json_object_get_int64(v) > CR_TILE_MAX)
        return cr_ctx_fail(L->ctx, CR_E_DATA,
                           "pipeline '%s': stage %d (%s): 'tiles' must be a whole number from 1 to %d",
                           L->path, k + 1, name, CR_TILE_MAX);
    if (strcmp(command, "score") != 0 && strcmp(command, "arrivals") != 0 &&
        strcmp(command, "inundation") != 0 && strcmp(command, "zonal") != 0)
        return cr_ctx_fail(L->ctx, CR_E_DATA,
                           "pipeline '%s': stage %d (%s): 'tiles' splits inundation, arrivals, score "
                           "and zonal stages, not %s",
                           L->path, k + 1, name, command);
    /* Its confidence classes and p_inundated would need mosaics of their own: not split yet. */
    if (strcmp(command, "inundation") == 0 && json_object_object_get_ex(obj, "dem-rmse", NULL))
        return cr_ctx_fail(L->ctx, CR_E_DATA,
                           "pipeline '%s': stage %d (%s): 'tiles' does not split an inundation with "
                           "'dem-rmse' (its confidence outputs): run it without tiles, or run the "
                           "phases by hand (docs/inundation.md)",
                           L->path, k + 1, name);
    for (size_t i = 0; i < sizeof PART_KEYS / sizeof *PART_KEYS; i++)
        if (json_object_object_get_ex(obj, PART_KEYS[i], NULL))
            return cr_ctx_fail(L->ctx, CR_E_DATA,
                               "pipeline '%s': stage %d (%s): key '%s' with 'tiles': the tiles "
                               "set it for each job",
                               L->path, k + 1, name, PART_KEYS[i]);
    if (!json_object_object_get_ex(obj, "output", &out) || !json_object_is_type(out, json_type_string) ||
        !*json_object_get_string(out))
        return cr_ctx_fail(L->ctx, CR_E_DATA,
                           "pipeline '%s': stage %d (%s): a stage with 'tiles' needs its 'output'",
                           L->path, k + 1, name);
    *n = (int)json_object_get_int64(v);
    *output = json_object_get_string(out);
    return CR_OK;
}

/* N tile jobs named "<name>-<job>-I" writing "<dir>/<kind>-I<ext>", marked, their files
 * appended to files. */
static cr_status add_tile_jobs(loader *L, cr_pl_parts *parts, json_object *obj, const char *command,
                               const char *name, const char *job, const char *dir, const char *kind,
                               const char *ext, job_mark mark, int n, json_object *files)
{
    cr_status st = CR_OK;
    for (int i = 1; st == CR_OK && i <= n; i++) {
        char *path = cr_pl_format("%s/%s-%d%s", dir, kind, i, ext);
        json_object_array_add(files, json_object_new_string(path));
        st = add_part(L, parts, command, tile_job(obj, path, i, n, mark),
                      cr_pl_format("%s-%s-%d", name, job, i));
        CPLFree(path);
    }
    return st;
}

cr_status cr_pl_tiled_parts(loader *L, json_object *obj, int k, const char *command, const char *name,
                            cr_pl_parts *parts)
{
    int n = 0;
    const char *output = NULL;
    memset(parts, 0, sizeof *parts);
    cr_status st = check_tiles(L, obj, k, command, name, &n, &output);
    if (st != CR_OK)
        return st;
    char *dir = cr_pl_format("%.*s.tiles", (int)cr_pl_stem_length(output), output);
    json_object *files = json_object_new_array();
    if (strcmp(command, "zonal") == 0) {
        st = add_tile_jobs(L, parts, obj, command, name, "part", dir, "part", ".json", (job_mark){"partial", NULL}, n, files);
        json_object *merge = join_step(obj, "zonal", positional_name("zonal"), files, output,
                                       MERGE_KEYS, sizeof MERGE_KEYS / sizeof *MERGE_KEYS);
        json_object_object_add(merge, "merge", json_object_new_boolean(1));
        if (st == CR_OK)
            st = add_part(L, parts, "zonal", merge, CPLStrdup(name));
        else
            json_object_put(merge);
        CPLFree(dir);
        return st;
    }
    if (strcmp(command, "inundation") == 0) {
        json_object *edges = json_object_new_array();
        st = add_tile_jobs(L, parts, obj, command, name, "edges", dir, "edges", ".edges", (job_mark){"phase", "edges"}, n, edges);
        char *join_path = cr_pl_format("%s/join.edges", dir);
        json_object *join = join_step(obj, "inundation", positional_name("inundation"), edges,
                                      join_path, NULL, 0);
        json_object_object_add(join, "phase", json_object_new_string("join"));
        json_object_object_add(join, "qml", json_object_new_boolean(0)); /* a join file has no style */
        if (st == CR_OK)
            st = add_part(L, parts, "inundation", join, cr_pl_format("%s-join", name));
        else
            json_object_put(join);
        json_object *depth = NULL;
        if (st == CR_OK && json_object_deep_copy(obj, &depth, NULL) != 0)
            st = cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
        if (st == CR_OK) {
            json_object_object_add(depth, "join", json_object_new_string(join_path));
            st = add_tile_jobs(L, parts, depth, command, name, "depth", dir, "tile", ".tif",
                               (job_mark){"phase", "depth"}, n, files);
        }
        json_object_put(depth);
        CPLFree(join_path);
    } else {
        st = add_tile_jobs(L, parts, obj, command, name, "tile", dir, "tile", ".tif", (job_mark){NULL, NULL}, n, files);
    }
    json_object *mosaic = join_step(obj, "mosaic", positional_name("mosaic"), files, output,
                                    MOSAIC_KEYS, sizeof MOSAIC_KEYS / sizeof *MOSAIC_KEYS);
    if (st == CR_OK)
        st = add_part(L, parts, "mosaic", mosaic, CPLStrdup(name));
    else
        json_object_put(mosaic);
    CPLFree(dir);
    return st;
}

void cr_pl_parts_free(cr_pl_parts *parts)
{
    for (int i = 0; i < parts->n; i++) {
        json_object_put(parts->part[i].obj);
        CPLFree(parts->part[i].name);
    }
    CPLFree(parts->part);
    memset(parts, 0, sizeof *parts);
}
