/*
 * pipeline.h: pipeline files for `cityrisk run`.
 *
 * A pipeline is a JSON file listing stages, each a cityrisk command with its options
 * under the names of the command's long options (without the dashes):
 *
 *   {"variables": {"scenario": ["ssp245-2050", "ssp245-2100"],
 *                  "weights": {"equal": "sea=0.25,water=0.25,informal=0.25,arrivals=0.25"}},
 *    "stages": [
 *      {"stage": "inundation", "dem": "data/dem.tif", "scenario": "{scenario*}",
 *       "output": "out/inundation.tif"},
 *      {"stage": "score", "name": "score-{scenario}-{weights}", "scenario": "{scenario}",
 *       "weights": "{weights}", ..., "output": "out/exposure-{scenario}-{weights}.tif"}]}
 *
 * Each stage becomes the argument list of its command (true adds a flag, false leaves it
 * out, an array is joined with commas or, for the repeatable -r, -co and -lco options,
 * repeated), so the command line and the pipeline share one parser. Relative paths of
 * inputs and outputs resolve against the pipeline file's folder. A stage runs once per
 * combination of the variables it uses as "{NAME}" (their labels in its name and in file
 * paths, their values elsewhere); "{NAME*}" is every value joined with commas. A gather
 * stage does not expand: it is given every file of the sweep its "input" names. A stage
 * with "exec" runs an external program (docs/pipeline.md).
 *
 * Stages depend on the stages whose outputs they read; they run in an order that
 * respects that. A stage is up to date when its outputs exist and the state file (kept
 * with the outputs, never beside the pipeline) records a run of it by this version of
 * cityrisk with the same canonical arguments and inputs of the same size and time (or
 * content, with content_hash).
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
/* The same limits for the state file: the state of a pipeline at the limits above fits
 * when its stages read and write 4 files each and have about 20 arguments on average (a
 * record holds an object per file besides its own 4 objects and arrays: 8 in all, and
 * about 60 values and keys). A state file beyond them is reported and treated as absent.
 * The worst file within them took 1.3 GB to hold (measured; a real state of 131 072
 * stages, 124 MiB, took 1.15 GB). */
#define CR_STATE_MAX_BYTES ((size_t)128 << 20)
#define CR_STATE_MAX_CONTAINERS (8L * CR_PIPELINE_MAX_STAGES + 1024)
#define CR_STATE_MAX_TOKENS (1L << 23)

/* One stage, expanded (one per combination of the variables it uses when it sweeps). */
typedef struct cr_stage {
    char *name;     /* unique: the "name" key, else the command, with "[labels]" when swept */
    char *base;     /* its name before expansion: the "name" key as written
                     * ("score-{scenario}"), else the command */
    char *command;  /* "inundation", "arrivals", "score", "zonal", "map", "gather"; "exec"
                     * for an external program */
    char **argv;    /* CSL: the command, then its arguments, paths resolved; for "exec", the
                     * program and its arguments */
    char **canonical; /* CSL: argv with every path in one spelling (absolute, its folder's
                       * symlinks resolved): what the state compares, whatever the spelling
                       * of the pipeline's path or the folder run from */
    char **labels;  /* CSL: "VARIABLE=LABEL" of the combination this expansion runs, in the
                     * order the variables are declared; NULL when it sweeps nothing */
    char **written; /* CSL: the same as the pipeline writes them: paths as written (relative to
                     * the pipeline's folder), numbers as written (1.10, 1e-7), without the
                     * --qml run adds: what its outputs record as their command */
    char **inputs;  /* CSL: files it reads */
    char **outputs; /* CSL: files it writes */
    int *deps;      /* indices of the stages whose outputs it reads (earlier in order, rising) */
    int ndeps;
    struct cr_stage_record *record; /* what the state file says of its last run (its canonical
                                     * arguments, the version, its files' sizes and times);
                                     * NULL when it has none */
} cr_stage;

/* A pipeline with its stages in run order. */
typedef struct cr_pipeline {
    char *path;       /* the pipeline file */
    char *state_path; /* ".cityrisk/<file name>.state.json" in the folder of the first output
                       * (of the first stage in the file's order that has one), never beside
                       * the pipeline file: a pipeline in a read-only folder runs */
    int content_hash; /* set by the caller before asking for states: an input whose size is
                       * the same but whose time differs is compared by its content (hashed)
                       * rather than taken as changed */
    cr_stage *stage;
    int nstages;
} cr_pipeline;

/* Reads the pipeline at path, applies sets (a CSL of "STAGE.OPTION=VALUE" overriding or
 * adding an option of the stages named STAGE before expansion, or of the one expansion of
 * that full name), expands the sweeps over the variables, resolves paths, orders the
 * stages and checks, before anything runs:
 * that the file is a regular file within the limits above, JSON (a UTF-8 byte-order mark
 * is skipped) with no NUL character in it, and an object with "stages" (and optionally
 * "variables" or "scenarios", and "description") only; that each stage names a known command, has a unique name and values
 * of the right types (string, number, boolean, or an array of strings and numbers); that
 * no two stages write one file (an output, the QGIS style beside it, a Shapefile's other
 * files; spellings compared after resolving the folder), nor the pipeline or state file;
 * that every input exists or is the output of another stage; and that no stage depends on
 * its own output, directly or through a cycle of stages. Fails with CR_E_DATA naming the
 * file, the stage and the key (CR_E_USAGE for a --set no stage matches, CR_E_IO when the
 * file cannot be read, CR_E_CANCELLED when the progress callback asked to stop).
 *
 * Then reads the state file once into each stage's record. The state file is
 *   {"cityrisk_state": 2, "pipeline": "<the pipeline file, canonical>",
 *    "stages": {NAME: {"argv": [its canonical arguments], "version": "<cr_version()>",
 *                      "inputs": {PATH: {"size": N, "mtime_ns": N[, "hash": "16 hex"]}},
 *                      "outputs": {PATH: {"size": N, "mtime_ns": N}}}}}
 * with every PATH in its one spelling (as in canonical). A state file that cannot be used
 * (unreadable, not a regular file, beyond the limits, not JSON, not of that shape or
 * version: one an earlier cityrisk wrote) is logged as a warning and treated as absent:
 * every stage runs. Also read (only) are the other "*.state.json" of the .cityrisk/ folders
 * of the outputs' folders (at most 64; unusable ones ignored): for which files the pipeline
 * made, and, for a stage with no record under its name, the record listing its first
 * output. Free with cr_pipeline_free(). */
CR_API cr_status cr_pipeline_load(cr_ctx *ctx, const char *path, char **sets, cr_pipeline **out);

CR_API void cr_pipeline_free(cr_pipeline *p);

/* Why a stage must run, or that it need not. */
typedef enum cr_stage_state {
    CR_STAGE_UP_TO_DATE = 0,
    CR_STAGE_NO_OUTPUT,      /* an output is missing */
    CR_STAGE_INPUT_CHANGED,  /* an input changed since its last run (size, time or content) */
    CR_STAGE_CHANGED,        /* its arguments differ from those recorded */
    CR_STAGE_UPSTREAM,       /* a stage it depends on runs */
    CR_STAGE_VERSION,        /* another version of cityrisk made its outputs */
    CR_STAGE_NO_RECORD       /* the state has no record of a run of it */
} cr_stage_state;

/* A short name of the state, for --json: "up to date", "missing output", "input changed",
 * "options changed", "upstream runs", "version changed", "no record". */
CR_API const char *cr_stage_state_name(cr_stage_state state);

/* The state of stage i, given which earlier stages will run (runs[k] non-zero), in this
 * order: a stage it depends on runs; an output is missing (or it writes no file); the
 * state has no record of it; another version of cityrisk ran it; its canonical arguments
 * differ from those recorded (the first option that differs is named); an input's size or
 * modification time (to the nanosecond) differs from the record, or with p->content_hash
 * an input of the same size but another time has another content (FNV-1a 64 of its bytes,
 * compared with the hash recorded; an input recorded without one counts as changed). An
 * output changed since it was recorded is no reason to run (cr_pipeline_prepare() refuses
 * to replace it). A short sentence saying why is written to why. Never fails. */
CR_API cr_stage_state cr_pipeline_stage_state(const cr_pipeline *p, int i, const int *runs,
                                              char *why, size_t size);

/* 1 when selector names stage s: its name, its name before expansion as written
 * ("score-{scenario}"), that name up to its first variable ("score"), or its command. As
 * --only and --set read stage names. */
CR_API int cr_pipeline_stage_matches(const cr_stage *s, const char *selector);

/* Before stage i runs: checks the files in the way of its outputs, then creates its
 * outputs' folders (parents too), and says in *overwrite whether the stage must be told to
 * replace what is there (--overwrite): replace_foreign (run --force, or the stage's own
 * "overwrite"); or some output exists and every existing output (its QGIS style too) is one
 * this pipeline made; or none exists and a record lists the path of one of the stage's
 * outputs (the Shapefile's other files and sidecars it made are its too). Made by this
 * pipeline: any record of the state files read (the pipeline's own and the others of its
 * outputs' .cityrisk/ folders, under any stage name) lists its path with its size and time,
 * and it is not a symlink. An existing output the pipeline did not make, or that changed
 * since it did, fails with CR_E_EXISTS naming the pipeline, the stage and the output,
 * unless replace_foreign; nothing is then made. Inputs are never touched. Never called
 * with --dry-run. */
CR_API cr_status cr_pipeline_prepare(cr_ctx *ctx, const cr_pipeline *p, int i, int replace_foreign,
                                     int *overwrite);

/* Records in the state file that stage i ran: its canonical arguments, cr_version(), and
 * the size and time of its inputs and outputs as they are now (with p->content_hash, the
 * inputs' hashes too). Rewrites the file whole and atomically (a locked temporary in its
 * folder, .cityrisk/, made when missing, then renamed), its records in the pipeline's
 * stage order whatever order they ran in, then those of stages the pipeline does not have,
 * kept from the file on disk when it can be used. A state file that is not a regular file
 * (a device, a named pipe, a folder) is left alone and nothing is recorded. Never
 * cancelled: the stage has run, and its record spares the next run repeating it. Not
 * thread-safe: call it from one thread at a time. */
CR_API cr_status cr_pipeline_record(cr_ctx *ctx, const cr_pipeline *p, int i);

#ifdef __cplusplus
}
#endif

#endif
