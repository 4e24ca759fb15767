/* radix.h: an exact quantile of a stream of non-negative numbers in bounded memory
 * (internal). Float32 values, as rasters hold them, order like their bit patterns
 * when not negative; two passes over the stream find the k-th smallest: the first
 * counts the values by their high 16 bits, the second, among the values of the
 * bucket holding rank k, by their low 16 bits. Memory: 1.5 MiB, whatever the
 * number of values. */
#ifndef CITYRISK_RADIX_H
#define CITYRISK_RADIX_H

#include <stdint.h>

typedef struct cr_radix_quantile {
    double q;                /* the quantile sought, 0..1 */
    int pass;                /* 1 or 2 */
    int64_t n;               /* values counted in pass 1 */
    int64_t rank[2];         /* the order statistics around q (numpy's linear method) */
    uint32_t bucket[2];      /* their high 16 bits, after pass 1 */
    int64_t below[2];        /* values in lower buckets */
    int64_t *high;           /* 65536 counts of pass 1 */
    int64_t *low[2];         /* 65536 counts of pass 2, per rank */
} cr_radix_quantile;

/* Prepares for quantile q (0..1). Returns 0 when out of memory. */
int cr_radix_quantile_init(cr_radix_quantile *r, double q);

/* Counts one value (as Float32; pass it only values >= 0 and finite). */
void cr_radix_quantile_add(cr_radix_quantile *r, float value);

/* Ends pass 1: the same values must then be added again, in any order. Returns the
 * number of values counted. */
int64_t cr_radix_quantile_next_pass(cr_radix_quantile *r);

/* After pass 2: the quantile by linear interpolation between the order statistics
 * floor(q (n - 1)) and the next; NAN when no value was counted. */
double cr_radix_quantile_value(const cr_radix_quantile *r);

/* In pass 2: 0 when no value within [min, max] can count, so that a caller who kept
 * the range of each part of the stream in pass 1 skips the parts that cannot matter;
 * 1 otherwise (and always in pass 1). */
int cr_radix_quantile_wants(const cr_radix_quantile *r, float min, float max);

void cr_radix_quantile_free(cr_radix_quantile *r);

#endif
