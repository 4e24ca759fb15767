/* budget.h: what a command may hold under the memory budget (--max-memory), and the one
 * message with which it refuses work that cannot fit (docs/performance.md, "Memory"). */
#ifndef CITYRISK_CORE_BUDGET_H
#define CITYRISK_CORE_BUDGET_H

#include <stdint.h>

#include "cityrisk/context.h"

/* budget less cache and resident (negatives count as 0), at least 0. */
int64_t cr_budget_left(int64_t budget, int64_t cache, int64_t resident);

/* The bytes the process holds in RAM now (its resident set: libraries, what it has read);
 * 0 where the system does not tell (Linux's /proc/self/statm does). */
int64_t cr_budget_resident(void);

/* What GDAL's block cache may still grow by: max less used, at least 0 (its filled blocks
 * are counted in the resident set already). */
int64_t cr_budget_cache_unfilled(int64_t max, int64_t used);

/* The bytes of the budget a command's own holdings may take from now on: cr_ctx_max_memory()
 * less the room GDAL's block cache has left to fill (cr_budget_cache_unfilled() of
 * GDALGetCacheMax64(), which the program keeps within the budget: cr_memory_gdal_cache(),
 * and GDALGetCacheUsed64()) and less what the process holds already (cr_budget_resident(),
 * or the context's baseline when set: cr_ctx_resident_baseline()), so that the peak resident
 * set stays within the budget. At least 0. */
int64_t cr_budget_available(const cr_ctx *ctx);

/* The most threads, from 1 to wanted, whose per_thread bytes each, with fixed bytes held
 * once, fit in available bytes; 1 when even one does not (one thread is the least work
 * can run on; whether its holdings fit is cr_budget_check()'s to say). */
int cr_budget_fit_threads(int64_t available, int64_t fixed, int64_t per_thread, int wanted);

/* cr_ctx_threads(ctx) cut down to what fits the budget (cr_budget_fit_threads() on
 * cr_budget_available()), said at debug level naming what and the buffers when cut. */
int cr_budget_threads(cr_ctx *ctx, const char *what, int64_t fixed, int64_t per_thread);

/* 1 when path names a regular file or a folder (a Shapefile's) that a command may open to
 * estimate its holdings before its work: a named pipe would block that peek and a device be
 * read without end, before the library's own check (which names them) refuses them, and a
 * /vsistdin/ would be consumed; 0 otherwise (GDAL's other virtual file systems too), and the
 * estimate is then left out. */
int cr_budget_peekable(const char *path);

/* CR_OK when bytes fit in cr_budget_available(); otherwise fails with CR_E_USAGE and one
 * line: "WHAT: about N MB, over the L MB left of the memory budget of M MB (--max-memory,
 * less GDAL's cache of C MB and what the process holds already); give a larger --max-memory
 * or ADVICE". advice may be NULL.
 * Called before any output is written. */
cr_status cr_budget_check(cr_ctx *ctx, double bytes, const char *what, const char *advice);

#endif
