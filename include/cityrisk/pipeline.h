/*
 * pipeline.h: pipeline files for `cityrisk run`.
 *
 * A pipeline is a JSON file listing stages, each a cityrisk command with its options
 * under the names of the command's long options (without the dashes):
 *
 *   {"scenarios": ["ssp245-2050", "ssp245-2100"],
 *    "stages": [
 *      {"stage": "inundation", "dem": "data/dem.tif", "scenario": "{scenarios}",
 *       "output": "out/inundation.tif"},
 *      {"stage": "score", "name": "score-{scenario}", "scenario": "{scenario}", ...,
 *       "output": "out/exposure-{scenario}.tif"}]}
 *
 * Each stage becomes the argument list of its command (true adds a flag, false leaves it
 * out, an array is joined with commas or, for the repeatable -r, -co and -lco options,
 * repeated), so the command line and the pipeline share one parser. Relative paths of
 * inputs and outputs resolve against the pipeline file's folder. "{scenarios}" is the
 * comma-joined list of the pipeline's scenarios; a stage that mentions "{scenario}" runs
 * once per scenario.
 *
 * Stages depend on the stages whose outputs they read; they run in an order that
 * respects that. A stage is up to date when its outputs exist, are newer than its
 * inputs, and the state file beside the pipeline records the same arguments for it.
 *
 * Both JSON files are read only when they are regular files, within the limits below
 * (which bound the memory json-c needs to hold them), and cancellably: the context's
 * progress callback is asked between blocks of a file larger than one block.
 */
#ifndef CITYRISK_PIPELINE_H
#define CITYRISK_PIPELINE_H

#include "cityrisk/context.h"
#include "cityrisk/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest pipeline file, and the most objects and arrays, and values and keys, it may
 * hold: a pipeline of 100 000 explicit stages fits. */
#define CR_PIPELINE_MAX_BYTES ((size_t)16 << 20)
#define CR_PIPELINE_MAX_CONTAINERS (1L << 18)
#define CR_PIPELINE_MAX_TOKENS (1L << 21)
/* The most stages a pipeline may expand to (sweeps included), and the most bytes their
 * arguments may take together. */
#define CR_PIPELINE_MAX_STAGES (1 << 17)
#define CR_PIPELINE_MAX_ARG_BYTES ((size_t)32 << 20)
/* The same limits for the state file: the state of a pipeline at the limits above fits. A
 * state file beyond them is reported and treated as absent. */
#define CR_STATE_MAX_BYTES ((size_t)128 << 20)
#define CR_STATE_MAX_CONTAINERS (2L * CR_PIPELINE_MAX_STAGES + 1024)
#define CR_STATE_MAX_TOKENS (1L << 22)

/* One stage, expanded (one per scenario when it sweeps). */
typedef struct cr_stage {
    char *name;     /* unique: the "name" key, else the command, with "[scenario]" when swept */
    char *command;  /* "inundation", "arrivals", "score", "zonal", "map" */
    char **argv;    /* CSL: the command, then its arguments, paths resolved */
    char **written; /* CSL: the same as the pipeline writes them: paths as written (relative to
                     * the pipeline's folder), numbers as written (1.10, 1e-7), without the
                     * --qml run adds: what its outputs record as their command */
    char **inputs;  /* CSL: files it reads */
    char **outputs; /* CSL: files it writes */
    int *deps;      /* indices of the stages whose outputs it reads (earlier in order, rising) */
    int ndeps;
    char **recorded; /* CSL: the arguments of its last run, from the state file; NULL if none */
} cr_stage;

/* A pipeline with its stages in run order. */
typedef struct cr_pipeline {
    char *path;       /* the pipeline file */
    char *state_path; /* ".<file name>.state.json" beside it */
    cr_stage *stage;
    int nstages;
} cr_pipeline;

/* Reads the pipeline at path, applies sets (a CSL of "STAGE.OPTION=VALUE" overriding or
 * adding an option of the stages named STAGE, before scenarios expand), expands the
 * scenario sweeps, resolves paths, orders the stages and checks, before anything runs:
 * that the file is a regular file within the limits above, JSON (a UTF-8 byte-order mark
 * is skipped) with no NUL character in it, and an object with "stages" (and optionally
 * "scenarios") only; that each stage names a known command, has a unique name and values
 * of the right types (string, number, boolean, or an array of strings and numbers); that
 * no two stages write one file (an output, the QGIS style beside it, a Shapefile's other
 * files; spellings compared after resolving the folder), nor the pipeline or state file;
 * that every input exists or is the output of another stage; and that no stage depends on
 * its own output, directly or through a cycle of stages. Fails with CR_E_DATA naming the
 * file, the stage and the key (CR_E_USAGE for a --set no stage matches, CR_E_IO when the
 * file cannot be read, CR_E_CANCELLED when the progress callback asked to stop).
 *
 * Then reads the state file once into each stage's recorded arguments. A state file that
 * cannot be used (unreadable, not a regular file, beyond the limits, not JSON, not of the
 * state's shape) is logged as a warning and treated as absent: every stage runs. Free
 * with cr_pipeline_free(). */
CR_API cr_status cr_pipeline_load(cr_ctx *ctx, const char *path, char **sets, cr_pipeline **out);

CR_API void cr_pipeline_free(cr_pipeline *p);

/* Why a stage must run, or that it need not. */
typedef enum cr_stage_state {
    CR_STAGE_UP_TO_DATE = 0,
    CR_STAGE_NO_OUTPUT,      /* an output is missing */
    CR_STAGE_INPUT_NEWER,    /* an input is newer than an output */
    CR_STAGE_CHANGED,        /* its arguments differ from those recorded */
    CR_STAGE_UPSTREAM        /* a stage it depends on runs */
} cr_stage_state;

/* The state of stage i, given which earlier stages will run (runs[k] non-zero). A
 * sentence saying why is written to why. */
CR_API cr_stage_state cr_pipeline_stage_state(const cr_pipeline *p, int i, const int *runs,
                                              char *why, size_t size);

/* Records in the state file that stage i ran with its arguments (atomically), keeping the
 * records of other stages when the file on disk can be used. A state file that is not a
 * regular file (a device, a named pipe, a folder) is left alone and nothing is recorded.
 * Never cancelled: the stage has run, and its record spares the next run repeating it. */
CR_API cr_status cr_pipeline_record(cr_ctx *ctx, const cr_pipeline *p, int i);

#ifdef __cplusplus
}
#endif

#endif
