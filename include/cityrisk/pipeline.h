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
 */
#ifndef CITYRISK_PIPELINE_H
#define CITYRISK_PIPELINE_H

#include "cityrisk/context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One stage, expanded (one per scenario when it sweeps). */
typedef struct cr_stage {
    char *name;     /* unique: the "name" key, else the command, with "[scenario]" when swept */
    char *command;  /* "inundation", "arrivals", "score", "zonal", "map" */
    char **argv;    /* CSL: the command, then its arguments, paths resolved */
    char **inputs;  /* CSL: files it reads */
    char **outputs; /* CSL: files it writes */
    int *deps;      /* indices of the stages whose outputs it reads (earlier in order) */
    int ndeps;
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
 * that the JSON is an object with "stages" (and optionally "scenarios") only; that each
 * stage names a known command, has a unique name and values of the right types (string,
 * number, boolean, or an array of strings and numbers); that every input exists or is
 * the output of another stage; and that no stages depend on each other in a cycle.
 * Fails with CR_E_DATA naming the file, the stage and the key (CR_E_USAGE for a --set no
 * stage matches, CR_E_IO when the file cannot be read). Free with cr_pipeline_free(). */
cr_status cr_pipeline_load(cr_ctx *ctx, const char *path, char **sets, cr_pipeline **out);

void cr_pipeline_free(cr_pipeline *p);

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
cr_stage_state cr_pipeline_stage_state(const cr_pipeline *p, int i, const int *runs, char *why,
                                       size_t size);

/* Records in the state file that stage i ran with its arguments (atomically). */
cr_status cr_pipeline_record(cr_ctx *ctx, const cr_pipeline *p, int i);

#ifdef __cplusplus
}
#endif

#endif
