/* internal.h: what the files of geo/pipeline/ share: the loader's state while a pipeline is
 * built, and the helpers of reading, building, checking and ordering its stages. */
#ifndef CITYRISK_PIPELINE_INTERNAL_H
#define CITYRISK_PIPELINE_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include <cpl_hash_set.h>
#include <json-c/json.h>

#include "cityrisk/command.h"
#include "cityrisk/pipeline.h"

/* What a JSON file that run reads may hold (pipeline.h). */
typedef struct json_limits {
    const char *kind; /* "pipeline", "state": the file in messages */
    size_t bytes;
    long containers; /* objects and arrays */
    long tokens;     /* values and keys: objects, arrays, commas and colons counted */
} json_limits;

/* The limits of the pipeline file and of the state file (pipeline.h). */
extern const json_limits CR_PL_PIPELINE_LIMITS, CR_PL_STATE_LIMITS;

/* A file a stage writes (an output, the QGIS style beside it, another file of a
 * Shapefile), or the pipeline or its state file, which no stage may write. */
typedef struct claim {
    char *key;  /* the file, one spelling for all (path_key) */
    char *what; /* how the pipeline names it: "'out/q.qml' (the QGIS style of 'out/q.tif')" */
    int stage;  /* the stage in the order of the file, -1 for the pipeline and state files */
    size_t seq; /* the order of the claims: a stage's output before its style */
} claim;

/* A folder and its realpath(), cached: a pipeline names few folders many times. */
typedef struct folder {
    char *path, *resolved;
} folder;

/* A variable of the pipeline ("variables", or the old "scenarios"): its labels (which name
 * stages and files) and values (which other options take), in the order written. */
typedef struct variable {
    char *name;
    char **labels, **values; /* CSL, n items each */
    int n;
} variable;

/* What building the stages needs. */
typedef struct loader {
    cr_ctx *ctx;
    const char *path;
    char dir[4096];
    char cwd[4096];    /* "" when unknown */
    variable *vars;    /* in the order declared */
    int nvars;
    size_t arg_bytes;  /* of every stage's substituted values so far */
    cr_pipeline *p;
    int cap;           /* slots of p->stage */
    claim *claims;
    size_t nclaims, claims_cap;
    CPLHashSet *folders;
} loader;


/* ---- strings.c ---- */

/* The command a stage may run: one of the table's that may be a stage; NULL otherwise. */
const cr_command *cr_pl_stage_command(const char *name);
/* The names of the commands a stage may run, "inundation, arrivals, ...", for a message. */
void cr_pl_stage_commands(char *buf, size_t size);
/* printf into a new string to CPLFree(). Long values are why: CPLSPrintf() and the CPL
 * path functions write into fixed buffers, cut what does not fit and say so on stderr. */
char *cr_pl_format(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* The items of the CSL list joined with commas; a new string to CPLFree(). */
char *cr_pl_join(char **list);
/* Appends "--KEY" to the CSL argv. */
char **cr_pl_add_option(char **argv, const char *key);
/* The length of path without the extension of its file name (from its last '.', not the
 * first character of the name), as cr_qml_path() cuts it. */
size_t cr_pl_stem_length(const char *path);

/* ---- exec.c ---- */

/* Receives one line an external program wrote (stdout or stderr), without its newline. */
typedef void (*cr_pl_line_fn)(void *arg, const char *line);

/* How an external stage runs: its lines passed to line, and stopping (NULL, or non-NULL
 * once the run was asked to stop) polled while it runs. */
typedef struct cr_pl_exec_how {
    const char *dir; /* the pipeline's folder, from which a program named with a folder
                      * ("tools/prep.sh") is found */
    cr_pl_line_fn line;
    void *line_arg;
    const char *(*stopping)(void *arg);
    void *stop_arg;
} cr_pl_exec_how;

/* Runs the external stage s (command "exec"): its program, found on PATH, with its
 * arguments, no shell, stdin from /dev/null. Each output is written into a temporary
 * folder beside it (the arguments naming it name the file there) and published when the
 * program exits with 0 and wrote every output (with what it wrote beside each), replacing
 * an existing one only with overwrite. An argument naming an output is the whole
 * argument, or its end after '=' or ','. Fails with CR_E_IO naming the program, how it ended
 * and the last line it wrote on stderr; CR_E_CANCELLED when asked to stop (the program is
 * sent SIGTERM). Leaves no temporary. */
cr_status cr_pl_exec_run(cr_ctx *ctx, const cr_stage *s, int overwrite, const cr_pl_exec_how *how);

/* Checks before anything runs that the program of the external stage s can be run (found
 * on PATH, or from the pipeline's folder dir when named with a folder, and executable);
 * CR_E_DATA naming the pipeline and the stage otherwise. */
cr_status cr_pl_exec_check(cr_ctx *ctx, const cr_pipeline *p, const cr_stage *s, const char *dir);

/* ---- jsonfile.c ---- */

/* Reads the JSON value of the file at path into *doc, within lim: a regular file only
 * (opened without blocking, so that a named pipe is refused rather than waited for, and a
 * device such as /dev/zero is never read), at most lim->bytes, read by blocks (the
 * progress callback may cancel between the blocks of a larger file), a UTF-8 byte-order
 * mark skipped, no NUL, and nothing but blanks after the value. Fails naming the file as
 * "<kind> '<path>'": CR_E_IO when it cannot be read, CR_E_CANCELLED (only when
 * cancellable), else CR_E_DATA. *not_regular is set when the file exists but is not a
 * regular file. */
cr_status cr_pl_read_json(cr_ctx *ctx, const char *path, const json_limits *lim, int cancellable,
                          json_object **doc, int *not_regular);

/* ---- paths.c ---- */

/* A path relative to the pipeline's folder dir, as it will be opened. A new string. */
char *cr_pl_resolve(const char *dir, const char *path);
/* The path inside "NAME=PATH[:BAND]", resolved (*path_out), with the rest kept. */
char *cr_pl_resolve_raster_spec(const char *dir, const char *spec, char **path_out);
/* The folder cache of a loader: a CPLHashSet of folder. */
unsigned long cr_pl_folder_hash(const void *e);
int cr_pl_folder_equal(const void *a, const void *b);
void cr_pl_folder_free(void *e);
/* One spelling for the file path names: absolute, its folder resolved (symlinks too) when
 * it exists, the file name kept. A new string to CPLFree(), NULL when out of memory. */
char *cr_pl_path_key(loader *L, const char *path);
/* Records that stage (-1: none) writes path, described by what (taken). */
cr_status cr_pl_add_claim(loader *L, int stage, const char *path, char *what);
/* qsort order of claims: by key, then in the order they were made. */
int cr_pl_claim_order(const void *a, const void *b);
/* The claim of the file key, NULL when nothing claims it (claims sorted). */
const claim *cr_pl_find_claim(const loader *L, const char *key);

/* ---- stages.c ---- */

/* Builds the stages of the pipeline document doc into L->p, in the file's order (sets
 * applied, sweeps expanded, paths resolved, the files each writes claimed); checked and
 * ordered after (order.c). */
cr_status cr_pl_build_stages(loader *L, json_object *doc, char **sets);

/* ---- tiles.c ---- */

/* One job of a tiled stage: its command, stage object and name (both owned). */
typedef struct cr_pl_part {
    const char *command; /* static: "score", "mosaic", ... */
    json_object *obj;
    char *name;
} cr_pl_part;

typedef struct cr_pl_parts {
    cr_pl_part *part;
    int n;
} cr_pl_parts;

/* The jobs a stage object with "tiles": N (stage k of the file, command, expanded name) runs
 * as, in order: the tile jobs, then the step that joins them, which keeps the stage's name and
 * output (tiles.c says the recipes). Fails with CR_E_DATA naming the stage when "tiles" is not a
 * whole number from 1 to CR_TILE_MAX, the command does not split, the stage has no output or
 * sets a key the expansion sets. Free with cr_pl_parts_free() in every case. */
cr_status cr_pl_tiled_parts(loader *L, json_object *obj, int k, const char *command, const char *name,
                            cr_pl_parts *parts);
void cr_pl_parts_free(cr_pl_parts *parts);

/* ---- order.c ---- */

/* Stage names are unique; the first repeated one (in the file's order) is named. */
cr_status cr_pl_check_names(loader *L);
/* No two stages write one file, and none writes the pipeline or its state file. Sorts the
 * claims. */
cr_status cr_pl_check_claims(loader *L);
/* Orders the stages so that each comes after those whose outputs it reads (of the stages
 * ready, the first in the file), fills deps, and checks that every input exists or is
 * made and that no stage depends on its own output. */
cr_status cr_pl_order_stages(loader *L);

/* ---- state.c ---- */

/* A file as the state records it: enough to tell that it changed (its size and its time
 * to the nanosecond, and with run --checksum its content's hash) without reading it. */
typedef struct cr_file_print {
    int known;         /* the state records the file (else nothing below is set) */
    int hashed;        /* hash is set */
    long long size;    /* bytes */
    long long mtime_ns; /* modification time, nanoseconds since the epoch */
    unsigned long long hash; /* FNV-1a 64 of its bytes */
} cr_file_print;

/* The fingerprints the records read list for one file. */
typedef struct cr_file_prints {
    cr_file_print *print;
    int n;
} cr_file_prints;

/* What the state files record of a stage: its last run, and who made the files in its
 * outputs' places. */
struct cr_stage_record {
    char **argv;            /* CSL: its canonical arguments; NULL when no run of it is recorded
                             * (nothing below but owners is then set) */
    char *version;          /* the cityrisk that ran it (cr_version()) */
    cr_file_print *inputs;  /* one per item of the files it reads (checked_inputs() in state.c:
                             * its inputs and the other files of a Shapefile input) */
    cr_file_print *outputs; /* one per item of the stage's outputs (styles too) */
    cr_file_prints *owners; /* one per output: what any record of the state files read lists
                             * for its path, under whatever stage name (the file is the
                             * pipeline's when it matches one) */
};

/* Reads each stage's record from the state file, once, and the records of the other state
 * files beside its outputs (state.c says which) for what they made. */
cr_status cr_pl_load_state(cr_ctx *ctx, cr_pipeline *p);
/* Frees a record (NULL too). */
void cr_pl_record_free(struct cr_stage_record *r);
/* Sets p->state_path: ".cityrisk/<pipeline file name>.state.json" in the folder of the
 * first output of the first stage (in the file's order) that has one, else in the folder
 * run from. Before the stages are ordered. */
cr_status cr_pl_state_locate(loader *L);

/* ---- plan.c ---- */

/* The level of each stage in the graph: 0 for a stage that waits for none, else one more
 * than the highest level of the stages it waits for (deps). A new array of p->nstages ints
 * to free(), NULL when out of memory. */
int *cr_pl_levels(const cr_pipeline *p);
/* The command line of stage s as run runs it: "cityrisk", its command and its arguments
 * (paths resolved), or an external stage's program and arguments. A new CSL. */
char **cr_pl_stage_line(const cr_stage *s);
/* arg as one word of a POSIX shell: as it is when it has nothing the shell reads, else in
 * single quotes (a quote in it as '\''). A new string to CPLFree(), NULL when out of memory. */
char *cr_pl_shell_quote(const char *arg);
/* The CSL argv as one shell line, each item quoted. A new string to CPLFree(), NULL when
 * out of memory. */
char *cr_pl_shell_join(char **argv);
/* The plan of run --plan --json (docs/pipeline.md): {"pipeline", "state", "stages": [{"name",
 * "command", "argv", "inputs", "outputs", "after", "level" (from 1)}]} in the pipeline's order. A
 * new object, NULL when out of memory. */
json_object *cr_pl_plan_json(const cr_pipeline *p);
/* The plan of run --plan for people: each stage, its command line, files and what it
 * waits for, written to out. */
void cr_pl_plan_text(const cr_pipeline *p, FILE *out);
/* The job list of run --emit jobs, written to out: a comment, then per level of the graph
 * a line "# level N" (from 1) and one line per stage of that level, "cityrisk run PATH
 * --stage NAME" followed by tail (a CSL, NULL for none), each word shell-quoted. */
cr_status cr_pl_jobs_text(cr_ctx *ctx, const cr_pipeline *p, const char *path, char **tail, FILE *out);
/* The Snakefile of run --emit snakemake, written to out: "rule all" with every output, then
 * per stage a comment with its name and a rule (stage_ and the name made a Python name)
 * with its inputs, outputs and the job line of cr_pl_jobs_text as its shell. CR_E_DATA for a
 * file name with a brace (Snakemake's wildcards). */
cr_status cr_pl_snakefile_text(cr_ctx *ctx, const cr_pipeline *p, const char *path, char **tail, FILE *out);
/* The bash script of run --emit slurm, written to out: per level of the graph a file of its
 * job lines and one sbatch --array job running line SLURM_ARRAY_TASK_ID of it, after the
 * previous level's job (afterok); CITYRISK_SBATCH_OPTIONS passed to every sbatch. */
cr_status cr_pl_slurm_text(cr_ctx *ctx, const cr_pipeline *p, const char *path, char **tail, FILE *out);


#endif
