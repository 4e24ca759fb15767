/* scenarios.c: IPCC AR6 sea-level rise presets, and the names of the other choices of a
 * flood: connectivity and DEM units. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/inundation.h"
#include "core/internal.h"

/* IPCC AR6 WG1 (2021), Table 9.9 / SPM: global mean sea-level rise relative to
 * 1995-2014, median and likely (17-83 %) range. */
static const cr_scenario SCENARIOS[] = {
    {"ssp126-2050", "SSP1-2.6, 2050", 0.19, 0.16, 0.25},
    {"ssp245-2050", "SSP2-4.5, 2050", 0.20, 0.17, 0.26},
    {"ssp370-2050", "SSP3-7.0, 2050", 0.22, 0.18, 0.27},
    {"ssp585-2050", "SSP5-8.5, 2050", 0.23, 0.20, 0.29},
    {"ssp126-2100", "SSP1-2.6, 2100", 0.44, 0.32, 0.62},
    {"ssp245-2100", "SSP2-4.5, 2100", 0.56, 0.44, 0.76},
    {"ssp370-2100", "SSP3-7.0, 2100", 0.68, 0.55, 0.90},
    {"ssp585-2100", "SSP5-8.5, 2100", 0.77, 0.63, 1.01},
    {"stress-2m", "low-likelihood, high-impact storyline (approaching 2 m by 2100 under SSP5-8.5 cannot be ruled out)",
     2.00, NAN, NAN},
};

int cr_scenario_count(void)
{
    return (int)(sizeof SCENARIOS / sizeof SCENARIOS[0]);
}

const cr_scenario *cr_scenario_get(int i)
{
    return i >= 0 && i < cr_scenario_count() ? &SCENARIOS[i] : NULL;
}

const char *cr_scenario_source(void)
{
    return "IPCC AR6 WG1 (2021), global mean sea-level rise relative to 1995-2014: median and "
           "likely range (17th-83rd percentile)";
}

cr_status cr_scenario_resolve(cr_ctx *ctx, const char *name, double *rise_m)
{
    size_t n = strlen(name);
    int which = 0; /* 0 median, 17, 83 */
    if (n > 4 && (strcmp(name + n - 4, "-p17") == 0 || strcmp(name + n - 4, "-p83") == 0)) {
        which = name[n - 2] == '1' ? 17 : 83;
        n -= 4;
    }
    for (int i = 0; i < cr_scenario_count(); i++) {
        const cr_scenario *s = &SCENARIOS[i];
        if (strlen(s->name) != n || strncmp(s->name, name, n) != 0)
            continue;
        double v = which == 17 ? s->p17_m : which == 83 ? s->p83_m : s->median_m;
        if (isnan(v))
            break;
        *rise_m = v;
        return CR_OK;
    }
    return cr_ctx_fail(ctx, CR_E_USAGE,
                       "unknown scenario '%s' (see cityrisk inundation --list-scenarios)", name);
}

void cr_sea_level_name(double rise_m, char *buf, size_t size)
{
    /* Two decimals read as metres and centimetres ("sl0.50"); more only when two would
     * round the level to another one (0.125 stays "sl0.125"), so that names tell levels
     * apart whenever their numbers differ. Levels of a kilometre or more, or below a
     * millimetre, in the fewest significant digits ("sl1e+30", not 31 digits). */
    int fixed = rise_m == 0 || (fabs(rise_m) >= 1e-3 && fabs(rise_m) < 1e3);
    for (int digits = fixed ? 2 : 1; digits <= 17; digits++) {
        if (fixed)
            snprintf(buf, size, "sl%.*f", digits, rise_m);
        else
            snprintf(buf, size, "sl%.*g", digits, rise_m);
        if (strtod(buf + 2, NULL) == rise_m)
            return;
    }
}

const char *const cr_connectivity_names[] = {"8", "4", "none", NULL};
static const int CONNECTIVITY[] = {8, 4, 0};

cr_status cr_connectivity_parse(cr_ctx *ctx, const char *text, int *connectivity)
{
    for (int i = 0; cr_connectivity_names[i]; i++)
        if (strcmp(text, cr_connectivity_names[i]) == 0) {
            *connectivity = CONNECTIVITY[i];
            return CR_OK;
        }
    return cr_ctx_fail(ctx, CR_E_USAGE, "--connectivity wants 8, 4 or none, not '%s'", text);
}

const char *const cr_dem_unit_names[] = {"m", "ft", "us-ft", NULL};
static const double METRES_PER_UNIT[] = {1.0, 0.3048, 1200.0 / 3937.0};

cr_status cr_dem_unit_parse(cr_ctx *ctx, const char *text, double *to_m)
{
    for (int i = 0; cr_dem_unit_names[i]; i++)
        if (strcmp(text, cr_dem_unit_names[i]) == 0) {
            *to_m = METRES_PER_UNIT[i];
            return CR_OK;
        }
    return cr_ctx_fail(ctx, CR_E_USAGE, "--dem-unit wants m, ft or us-ft, not '%s'", text);
}
