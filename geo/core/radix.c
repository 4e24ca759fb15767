/* radix.c: exact quantiles in two counting passes. */
#include "radix.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t bits_of(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

int cr_radix_quantile_init(cr_radix_quantile *r, double q)
{
    memset(r, 0, sizeof *r);
    r->q = q < 0 ? 0 : q > 1 ? 1 : q;
    r->pass = 1;
    r->high = calloc(65536, sizeof *r->high);
    r->low[0] = calloc(65536, sizeof *r->low[0]);
    r->low[1] = calloc(65536, sizeof *r->low[1]);
    if (!r->high || !r->low[0] || !r->low[1]) {
        cr_radix_quantile_free(r);
        return 0;
    }
    return 1;
}

void cr_radix_quantile_add(cr_radix_quantile *r, float value)
{
    uint32_t u = bits_of(value == 0 ? 0.0f : value); /* -0 counts as 0 */
    if (r->pass == 1) {
        r->high[u >> 16]++;
        r->n++;
        return;
    }
    for (int k = 0; k < 2; k++)
        if ((u >> 16) == r->bucket[k])
            r->low[k][u & 0xffff]++;
}

/* The bucket holding order statistic rank, and how many values lie below it. */
static void find_bucket(const int64_t *counts, int64_t rank, uint32_t *bucket, int64_t *below)
{
    int64_t seen = 0;
    for (uint32_t b = 0; b < 65536; b++) {
        if (seen + counts[b] > rank) {
            *bucket = b;
            *below = seen;
            return;
        }
        seen += counts[b];
    }
    *bucket = 65535, *below = seen;
}

int64_t cr_radix_quantile_next_pass(cr_radix_quantile *r)
{
    r->pass = 2;
    if (r->n == 0)
        return 0;
    double at = r->q * (double)(r->n - 1);
    r->rank[0] = (int64_t)floor(at);
    r->rank[1] = r->rank[0] + 1 < r->n ? r->rank[0] + 1 : r->rank[0];
    for (int k = 0; k < 2; k++)
        find_bucket(r->high, r->rank[k], &r->bucket[k], &r->below[k]);
    return r->n;
}

double cr_radix_quantile_value(const cr_radix_quantile *r)
{
    if (r->n == 0)
        return NAN;
    double v[2];
    for (int k = 0; k < 2; k++) {
        uint32_t low;
        int64_t below;
        find_bucket(r->low[k], r->rank[k] - r->below[k], &low, &below);
        v[k] = float_of((r->bucket[k] << 16) | low);
    }
    double frac = r->q * (double)(r->n - 1) - (double)r->rank[0];
    return v[0] + frac * (v[1] - v[0]);
}

int cr_radix_quantile_wants(const cr_radix_quantile *r, float min, float max)
{
    if (r->pass != 2 || r->n == 0)
        return r->pass == 1;
    for (int k = 0; k < 2; k++)
        if (min <= float_of((r->bucket[k] << 16) | 0xffff) && max >= float_of(r->bucket[k] << 16))
            return 1;
    return 0;
}

void cr_radix_quantile_free(cr_radix_quantile *r)
{
    free(r->high);
    free(r->low[0]);
    free(r->low[1]);
    r->high = r->low[0] = r->low[1] = NULL;
}
