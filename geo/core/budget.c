/* budget.c: the memory budget's share-out: GDAL's block cache, the threads' buffers, and the
 * check a command makes of what it must hold before it writes anything. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gdal.h>

#include "budget.h"
#include "internal.h"

/* GDAL's block cache takes at most this share of the budget: streaming reads gain little
 * from more than a few tiles per band (64 MB is faster than GDAL's 5 % of RAM, DESIGN.md),
 * and the rest is the command's own buffers and holdings. */
#define CACHE_SHARE_DIVISOR 4

static const double MIB = 1024.0 * 1024.0;

int64_t cr_memory_gdal_cache(int64_t budget, int64_t wanted)
{
    int64_t share = budget > 0 ? budget / CACHE_SHARE_DIVISOR : 0;
    if (wanted < 0)
        wanted = 0;
    return wanted < share ? wanted : share;
}

int64_t cr_budget_left(int64_t budget, int64_t cache, int64_t resident)
{
    int64_t left = budget - (cache > 0 ? cache : 0) - (resident > 0 ? resident : 0);
    return left > 0 ? left : 0;
}

int64_t cr_budget_resident(void)
{
    /* statm's second field: resident pages. Linux only; elsewhere 0 (nothing counted). */
    FILE *f = fopen("/proc/self/statm", "r");
    long long size = 0, pages = 0;
    int read = f ? fscanf(f, "%lld %lld", &size, &pages) : 0;
    if (f)
        fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return read == 2 && pages > 0 && page > 0 ? (int64_t)pages * page : 0;
}

int64_t cr_budget_cache_unfilled(int64_t max, int64_t used)
{
    int64_t left = max - (used > 0 ? used : 0);
    return left > 0 ? left : 0;
}

int64_t cr_budget_available(const cr_ctx *ctx)
{
    /* the cache's filled blocks are in the resident set already: only its room to fill is
     * subtracted on top */
    int64_t cache = cr_budget_cache_unfilled((int64_t)GDALGetCacheMax64(), (int64_t)GDALGetCacheUsed64());
    int64_t baseline = cr_ctx_resident_baseline(ctx);
    return cr_budget_left(cr_ctx_max_memory(ctx), cache, baseline > 0 ? baseline : cr_budget_resident());
}

int cr_budget_fit_threads(int64_t available, int64_t fixed, int64_t per_thread, int wanted)
{
    if (wanted < 1)
        wanted = 1;
    if (per_thread <= 0)
        return wanted;
    int64_t room = available - (fixed > 0 ? fixed : 0);
    int64_t fit = room > 0 ? room / per_thread : 0;
    if (fit < 1)
        return 1;
    return fit < wanted ? (int)fit : wanted;
}

int cr_budget_threads(cr_ctx *ctx, const char *what, int64_t fixed, int64_t per_thread)
{
    int wanted = cr_ctx_threads(ctx);
    int n = cr_budget_fit_threads(cr_budget_available(ctx), fixed, per_thread, wanted);
    if (n < wanted)
        cr_ctx_log(ctx, CR_LOG_DEBUG,
                   "%s: %d thread%s instead of %d: %.0f MB of buffers a thread, besides %.0f MB "
                   "held once, in the %.0f MB left of the memory budget (--max-memory)",
                   what, n, n == 1 ? "" : "s", wanted, (double)per_thread / MIB,
                   (double)(fixed > 0 ? fixed : 0) / MIB, (double)cr_budget_available(ctx) / MIB);
    return n;
}

cr_status cr_budget_check(cr_ctx *ctx, double bytes, const char *what, const char *advice)
{
    int64_t available = cr_budget_available(ctx);
    if (bytes <= (double)available)
        return CR_OK;
    double cache = (double)GDALGetCacheMax64();
    return cr_ctx_fail(ctx, CR_E_USAGE,
                       "%s: about %.0f MB, over the %.0f MB left of the memory budget of %.0f MB "
                       "(--max-memory, less GDAL's cache of %.0f MB and what the process holds "
                       "already); give a larger --max-memory%s%s",
                       what, bytes / MIB, (double)available / MIB, (double)cr_ctx_max_memory(ctx) / MIB,
                       cache / MIB, advice ? " or " : "", advice ? advice : "");
}

int cr_budget_peekable(const char *path)
{
    struct stat st;
    if (!path || strncmp(path, "/vsi", 4) == 0) /* /vsistdin/ would be consumed by the peek */
        return 0;
    return stat(path, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
}
