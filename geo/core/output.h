/* output.h: every file a command writes, checked before any work and published atomically
 * (internal to the library).
 *
 * A command's files are planned up front (cr_output_plan): its output, the other files of
 * the output's format (a Shapefile's .shx, .dbf, .prj, ...), a report, QGIS styles. The plan
 * is checked as one: no file may be an input (or a file of an input's format), none may be
 * written twice, and none may exist unless overwriting is allowed. Each file is then written
 * under a hidden temporary name beside it (cr_temp) and renamed into place when complete;
 * without overwriting the rename never replaces a file, so that of two runs writing the same
 * output at once the second fails with CR_E_EXISTS instead of replacing the first's. */
#ifndef CITYRISK_OUTPUT_H
#define CITYRISK_OUTPUT_H

#include "cityrisk/context.h"
#include "cityrisk/grid.h"

/* Checks that path can become an output: its folder exists and is writable, it is
 * not a directory, and it does not exist unless overwrite is set (CR_E_EXISTS). */
cr_status cr_output_check(cr_ctx *ctx, const char *path, int overwrite);

/* 1 when path is "-" (standard output) or an existing character device or FIFO
 * (/dev/full, a named pipe): such an output is written in place as a stream, not
 * through a temporary file, and needs no --overwrite. */
int cr_output_is_stream(const char *path);

/* The bytes of the uncompressed staging file of a raster of `bands` Float32 bands on grid,
 * overviews (a third more) included: what writer.c compresses beyond a threshold and
 * cr_output_check_size() weighs against the disk and memory. */
double cr_output_staging_bytes(const cr_grid *grid, int bands);

/* Refuses, before any work, a grid so large that its raster of `bands` Float32 bands
 * (uncompressed, with overviews) could be held neither by the whole file system of path's
 * folder nor in this machine's memory: a request far beyond the task (a 10^6 x 10^6 grid),
 * refused with the size it would need rather than after hours of writing. A merely full
 * disk is not this: writing then fails with CR_E_IO. source is the raster the grid comes
 * from (the failure is then CR_E_DATA, naming it), NULL when it comes from options
 * (CR_E_USAGE). Passes when the sizes cannot be known. */
cr_status cr_output_check_size(cr_ctx *ctx, const char *path, const cr_grid *grid, int bands,
                               const char *source);

/* ---- the plan of a command's files ---- */

/* One file a command will write. */
typedef struct cr_planned {
    char *path;
    const char *what; /* "raster", "map", "vector", "report", "QGIS style": for messages */
    char *part_of;    /* the output this file belongs to (a Shapefile's .dbf), or NULL */
} cr_planned;

typedef struct cr_output_plan {
    cr_planned *file;
    int count, capacity;
} cr_output_plan;

void cr_output_plan_init(cr_output_plan *plan);
void cr_output_plan_release(cr_output_plan *plan);

/* Adds path, written as `what` ("raster", "map", "report", static). */
cr_status cr_output_plan_add(cr_ctx *ctx, cr_output_plan *plan, const char *path, const char *what);

/* Adds each path of the NULL-terminated list (may be NULL) as a "QGIS style": the styles a
 * caller writes beside a stage's output. */
cr_status cr_output_plan_add_styles(cr_ctx *ctx, cr_output_plan *plan, const char *const *paths);

/* Adds a vector output written by the OGR driver `driver` and the other files of its format
 * (cr_vector_layout()); fails with CR_E_USAGE when the format needs another name. */
cr_status cr_output_plan_add_vector(cr_ctx *ctx, cr_output_plan *plan, const char *path,
                                    const char *driver);

/* Checks every planned file before any work, in this order: "-" is refused (standard
 * output takes only zonal's GeoJSON: CR_E_USAGE), no file is one of inputs or a file of an
 * input's format (a Shapefile input's .dbf) (CR_E_USAGE), no file is planned twice
 * (CR_E_USAGE), and each passes cr_output_check() (folder, not a directory or device, exists
 * only when overwrite: CR_E_EXISTS). inputs is NULL-terminated, may be NULL. */
cr_status cr_output_plan_check(cr_ctx *ctx, const cr_output_plan *plan, const char *const *inputs,
                               int overwrite);

/* The common case: a plan of path (written as `what`) and styles (NULL-terminated, may be
 * NULL), checked with cr_output_plan_check(). */
cr_status cr_outputs_check(cr_ctx *ctx, const char *path, const char *what,
                           const char *const *styles, const char *const *inputs, int overwrite);

/* How a vector output is written: the file name the OGR driver is given inside the
 * temporary folder, and the files the output is made of. GDAL writes a folder of layers
 * for a CSV, Shapefile or MapInfo name without that format's extension; cityrisk writes one
 * file: a CSV under any name (the driver writes NAME.csv, published as NAME), a Shapefile
 * or MapInfo table only under its extension (CR_E_USAGE otherwise). */
typedef struct cr_vector_layout {
    char *driver_name; /* a file name, no folder */
    char **files;      /* NULL-terminated: the output first, then the other files of its format */
} cr_vector_layout;

/* The vector driver that creates files named like path ("n.gpkg": GPKG), as ogr2ogr
 * guesses it; NULL when the extension names none. */
const char *cr_vector_driver_for_path(const char *path);

/* The layer creation options of a GeoJSON output as cityrisk writes them: RFC 7946 (WGS 84,
 * right-hand winding), 7 decimals, no "name" member, and the provenance (NAME=VALUE items
 * of metadata; values that are JSON objects or arrays kept as such) in a foreign member
 * "cityrisk" of the FeatureCollection. A CSL to CSLDestroy(). */
char **cr_geojson_creation_options(char **metadata);

cr_status cr_vector_layout_init(cr_ctx *ctx, const char *path, const char *driver,
                                cr_vector_layout *layout);
void cr_vector_layout_release(cr_vector_layout *layout);

/* ---- temporary files ---- */

/* A hidden temporary file or folder beside an output, ".<name>.<tag>.XXXXXX". Its writer
 * holds it locked with flock() from creation until it is published or removed. The kernel
 * drops that lock when the process ends, however it ends (kill -9 too), so a later run that
 * can take the lock knows the writer is gone: cr_temp_file() and cr_temp_dir() first remove
 * the stale temporaries of the same output that no live process holds. The context's temp
 * hook (cr_ctx_set_temp_hook) is told of each temporary as it appears and goes. */
typedef struct cr_temp {
    char *path;  /* NULL when none */
    int fd;      /* holds the lock, -1 when none */
    int dir;     /* 1 for a folder */
    cr_ctx *ctx; /* told when it goes */
} cr_temp;

#define CR_TEMP_NONE {NULL, -1, 0, NULL}

/* Creates an empty temporary file (or folder) for path with tag ("part", "zonal"). */
cr_status cr_temp_file(cr_ctx *ctx, const char *path, const char *tag, cr_temp *temp);
cr_status cr_temp_dir(cr_ctx *ctx, const char *path, const char *tag, cr_temp *temp);

/* Renames the temporary file to path, readable as any new file (the umask's mode), and
 * releases it. Without overwrite the rename does not replace an existing path: CR_E_EXISTS,
 * and the temporary stays for cr_temp_discard(). */
cr_status cr_temp_publish(cr_ctx *ctx, cr_temp *temp, const char *path, int overwrite);

/* Keeps the existing file at path under a hidden name beside it (".<name>.backup.XXXXXX", a
 * hard link, or the file renamed aside where links are refused) so that an overwrite that
 * fails later can put it back with cr_temp_restore(); cr_temp_discard() drops the backup
 * once the new file is in place. *backup is CR_TEMP_NONE (and CR_OK) when path is no
 * regular file: nothing to keep. */
cr_status cr_temp_backup(cr_ctx *ctx, const char *path, cr_temp *backup);

/* Puts the backup of cr_temp_backup() back at path (replacing what is there) and releases
 * it. Used while undoing a failure that is the one to report, it only logs a warning
 * naming path and the backup (left in place) when it cannot, and returns CR_E_IO. Accepts
 * an empty backup. */
cr_status cr_temp_restore(cr_ctx *ctx, cr_temp *backup, const char *path);

/* Moves the files of a temporary folder to their places (the one named
 * layout->driver_name to path, the others beside it under their own names), the output
 * itself last; then removes the folder. Without overwrite nothing is replaced: when one file
 * exists, those already moved are removed again and the call fails with CR_E_EXISTS. With
 * overwrite, the files of layout that the new output does not have (a spatial index of the
 * old one) are removed. A folder inside the temporary folder fails with CR_E_USAGE. */
cr_status cr_temp_publish_dir(cr_ctx *ctx, cr_temp *temp, const char *path,
                              const cr_vector_layout *layout, int overwrite);

/* Removes the temporary file or folder (with what it holds) and releases it. Accepts an
 * empty one. */
void cr_temp_discard(cr_temp *temp);

/* The CITYRISK_* provenance items of a vector output as a name=value list for
 * cr_zonal_write() and its kin (free with CSLDestroy): CITYRISK_VERSION, CITYRISK_COMMAND
 * (the context's), CITYRISK_INPUTS and CITYRISK_PARAMETERS (the JSON texts of inputs and
 * parameters, which are taken and freed) and CITYRISK_FORMULA. One place, so that every
 * command records them alike. */
struct json_object;
char **cr_provenance_items(cr_ctx *ctx, struct json_object *inputs,
                           struct json_object *parameters, const char *formula);

#endif
