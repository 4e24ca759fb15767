/* random.c: see random.h. */
#include "random.h"

uint64_t cr_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Below 2^32 (every raster up to 65536 x 65536 cells) Lemire's multiply-shift needs a
 * division only on rare rejections, which matters where it runs once per cell; above,
 * plain rejection. */
uint64_t cr_uniform_below(uint64_t *state, uint64_t bound)
{
    if (bound <= UINT32_MAX) {
        uint64_t m = (cr_splitmix64(state) >> 32) * bound;
        uint32_t low = (uint32_t)m;
        if (low < bound) {
            uint32_t threshold = (uint32_t)(0u - (uint32_t)bound) % (uint32_t)bound;
            while (low < threshold) {
                m = (cr_splitmix64(state) >> 32) * bound;
                low = (uint32_t)m;
            }
        }
        return m >> 32;
    }
    uint64_t threshold = (0 - bound) % bound; /* 2^64 mod bound */
    for (;;) {
        uint64_t r = cr_splitmix64(state);
        if (r >= threshold)
            return r % bound;
    }
}
