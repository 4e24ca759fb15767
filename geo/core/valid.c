/* valid.c: the one rule that decides which cells of a block are valid. */
#include <float.h>
#include <math.h>

#include "internal.h"

/* Both element types share this body; a function per type keeps the hot loop
 * free of conversions. */
#define CR_MARK_VALID(T, values, n, mask, nodata_matches, valid)                               \
    do {                                                                                       \
        size_t count = 0;                                                                      \
        for (size_t i = 0; i < (n); i++) {                                                     \
            int ok = !isnan(values[i]) && !(nodata_matches) && !(mask && mask[i] == 0);        \
            if (!ok)                                                                           \
                values[i] = (T)NAN;                                                            \
            if (valid)                                                                         \
                valid[i] = (uint8_t)ok;                                                        \
            count += (size_t)ok;                                                               \
        }                                                                                      \
        return count;                                                                          \
    } while (0)

size_t cr_mark_valid_f32(float *values, size_t n, const uint8_t *mask, int has_nodata,
                         double nodata, uint8_t *valid)
{
    /* A nodata beyond float range never matches a float (and casting it would be
     * undefined behaviour). */
    int check = has_nodata && fabs(nodata) <= FLT_MAX;
    float nd = check ? (float)nodata : 0.0f;
    CR_MARK_VALID(float, values, n, mask, check && values[i] == nd, valid);
}

size_t cr_mark_valid_f64(double *values, size_t n, const uint8_t *mask, int has_nodata,
                         double nodata, uint8_t *valid)
{
    CR_MARK_VALID(double, values, n, mask, has_nodata && values[i] == nodata, valid);
}

/* ±Inf is no measurement (NaN, GDAL's and cityrisk's "no value", is marked invalid
 * above): every reader stops at it rather than let it turn sums, means and colour
 * ramps into Inf or NaN. */
size_t cr_first_infinite_f32(const float *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isinf(values[i]))
            return i;
    return n;
}

size_t cr_first_infinite_f64(const double *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isinf(values[i]))
            return i;
    return n;
}
