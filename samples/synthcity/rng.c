/* Deterministic randomness. splitmix64 is tiny and fully specified, so a seed yields the same
 * stream on every platform and libc, which rand() does not promise. */
#include "synthcity.h"

#define GOLDEN_GAMMA 0x9E3779B97F4A7C15ULL

/* The splitmix64 finaliser: a bijective avalanche mix of 64 bits. */
uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Hash of two integers under a seed: lets any quantity indexed by (a, b) be computed on demand
 * instead of stored, which is what keeps big rasters and tessellations in bounded memory. */
uint64_t hash3(uint64_t seed, uint64_t a, uint64_t b)
{
    return mix64(seed ^ mix64(a * GOLDEN_GAMMA + 0x632BE59BD9B4E019ULL) ^ (b * 0xD1B54A32D192ED03ULL));
}

/* Top 53 bits as a double in [0, 1): exactly representable, no rounding up to 1. */
static double unit_from_bits(uint64_t bits)
{
    return (double)(bits >> 11) * 0x1.0p-53;
}

double hash_unit(uint64_t seed, uint64_t a, uint64_t b)
{
    return unit_from_bits(hash3(seed, a, b));
}

/* Separate streams per purpose, so adding draws to one output never shifts another. */
void rng_init(Rng *rng, uint64_t seed, uint64_t stream)
{
    rng->state = mix64(seed ^ mix64(stream + GOLDEN_GAMMA));
}

uint64_t rng_next(Rng *rng)
{
    rng->state += GOLDEN_GAMMA;
    return mix64(rng->state);
}

double rng_uniform(Rng *rng)
{
    return unit_from_bits(rng_next(rng));
}

/* Uniform integer in [0, n); the float bias is far below anything a sample could show. */
size_t rng_below(Rng *rng, size_t n)
{
    size_t k = (size_t)(rng_uniform(rng) * (double)n);
    return k < n ? k : n - 1;
}
