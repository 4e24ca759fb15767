/* random.h: the library's seeded generator, for whatever must draw the same numbers
 * on every machine (the class-break sampler, Sobol' scrambles, bootstrap resamples). */
#ifndef CITYRISK_CORE_RANDOM_H
#define CITYRISK_CORE_RANDOM_H

#include <stdint.h>

/* splitmix64 (Steele, Lea & Flood 2014; Vigna's reference code): the next 64 random
 * bits from *state, which any value (0 included) seeds. Integer arithmetic only, so
 * the sequence is the same everywhere. */
uint64_t cr_splitmix64(uint64_t *state);

/* A uniform integer in [0, bound), bound >= 1, without modulo bias. */
uint64_t cr_uniform_below(uint64_t *state, uint64_t bound);

#endif
