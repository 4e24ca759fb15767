/* sobol.c: the scrambled Sobol' sequence of include/cityrisk/sobol.h.
 *
 * Point k in Gray-code order is x_k = x_{k-1} XOR v_c, c the position of the lowest zero
 * bit of k - 1 (Antonov & Saleev 1979), the v the direction numbers of each dimension as
 * 32-bit binary fractions. Scrambling (seed != 0) multiplies every direction number of a
 * dimension by one random lower-triangular binary matrix with a unit diagonal (Matousek's
 * linear matrix scramble, as scipy's LMS) and XORs every point with one random digital
 * shift: each digit of a scrambled coordinate is its own digit plus a random combination
 * of the digits before it, so the intervals [i / 2^m, (i + 1) / 2^m) are permuted among
 * themselves and the net properties of the sequence are kept. The random bits come from
 * splitmix64 seeded with the seed (core/random.h), the same on every machine.
 */
#include <stdlib.h>

#include "core/random.h"
#include "internal.h"

#define BITS 32

/* Joe & Kuo (2008), new-joe-kuo-6.21201, dimensions 2 .. CR_SOBOL_MAX_DIMS: the degree
 * s of the primitive polynomial x^s + a_1 x^(s-1) + ... + a_(s-1) x + 1, its inner
 * coefficients a = a_1 .. a_(s-1) as the bits of an integer (a_1 the highest), and the
 * initial odd m_1 .. m_s (m_k < 2^k). Dimension 1, van der Corput's sequence, has m_k = 1
 * for every k. Checked against scipy's copy of the file (stats/_sobol_direction_numbers)
 * and another published copy of it. */
static const struct {
    unsigned char s;
    unsigned char a;
    unsigned short m[9];
} joe_kuo[CR_SOBOL_MAX_DIMS - 1] = {
    {1, 0, {1}}, /* 2 */
    {2, 1, {1, 3}}, /* 3 */
    {3, 1, {1, 3, 1}}, /* 4 */
    {3, 2, {1, 1, 1}}, /* 5 */
    {4, 1, {1, 1, 3, 3}}, /* 6 */
    {4, 4, {1, 3, 5, 13}}, /* 7 */
    {5, 2, {1, 1, 5, 5, 17}}, /* 8 */
    {5, 4, {1, 1, 5, 5, 5}}, /* 9 */
    {5, 7, {1, 1, 7, 11, 19}}, /* 10 */
    {5, 11, {1, 1, 5, 1, 1}}, /* 11 */
    {5, 13, {1, 1, 1, 3, 11}}, /* 12 */
    {5, 14, {1, 3, 5, 5, 31}}, /* 13 */
    {6, 1, {1, 3, 3, 9, 7, 49}}, /* 14 */
    {6, 13, {1, 1, 1, 15, 21, 21}}, /* 15 */
    {6, 16, {1, 3, 1, 13, 27, 49}}, /* 16 */
    {6, 19, {1, 1, 1, 15, 7, 5}}, /* 17 */
    {6, 22, {1, 3, 1, 15, 13, 25}}, /* 18 */
    {6, 25, {1, 1, 5, 5, 19, 61}}, /* 19 */
    {7, 1, {1, 3, 7, 11, 23, 15, 103}}, /* 20 */
    {7, 4, {1, 3, 7, 13, 13, 15, 69}}, /* 21 */
    {7, 7, {1, 1, 3, 13, 7, 35, 63}}, /* 22 */
    {7, 8, {1, 3, 5, 9, 1, 25, 53}}, /* 23 */
    {7, 14, {1, 3, 1, 13, 9, 35, 107}}, /* 24 */
    {7, 19, {1, 3, 1, 5, 27, 61, 31}}, /* 25 */
    {7, 21, {1, 1, 5, 11, 19, 41, 61}}, /* 26 */
    {7, 28, {1, 3, 5, 3, 3, 13, 69}}, /* 27 */
    {7, 31, {1, 1, 7, 13, 1, 19, 1}}, /* 28 */
    {7, 32, {1, 3, 7, 5, 13, 19, 59}}, /* 29 */
    {7, 37, {1, 1, 3, 9, 25, 29, 41}}, /* 30 */
    {7, 41, {1, 3, 5, 13, 23, 1, 55}}, /* 31 */
    {7, 42, {1, 3, 7, 3, 13, 59, 17}}, /* 32 */
    {7, 50, {1, 3, 1, 3, 5, 53, 69}}, /* 33 */
    {7, 55, {1, 1, 5, 5, 23, 33, 13}}, /* 34 */
    {7, 56, {1, 1, 7, 7, 1, 61, 123}}, /* 35 */
    {7, 59, {1, 1, 7, 9, 13, 61, 49}}, /* 36 */
    {7, 62, {1, 3, 3, 5, 3, 55, 33}}, /* 37 */
    {8, 14, {1, 3, 1, 15, 31, 13, 49, 245}}, /* 38 */
    {8, 21, {1, 3, 5, 15, 31, 59, 63, 97}}, /* 39 */
    {8, 22, {1, 3, 1, 11, 11, 11, 77, 249}}, /* 40 */
    {8, 38, {1, 3, 1, 11, 27, 43, 71, 9}}, /* 41 */
    {8, 47, {1, 1, 7, 15, 21, 11, 81, 45}}, /* 42 */
    {8, 49, {1, 3, 7, 3, 25, 31, 65, 79}}, /* 43 */
    {8, 50, {1, 3, 1, 1, 19, 11, 3, 205}}, /* 44 */
    {8, 52, {1, 1, 5, 9, 19, 21, 29, 157}}, /* 45 */
    {8, 56, {1, 3, 7, 11, 1, 33, 89, 185}}, /* 46 */
    {8, 67, {1, 3, 3, 3, 15, 9, 79, 71}}, /* 47 */
    {8, 70, {1, 3, 7, 11, 15, 39, 119, 27}}, /* 48 */
    {8, 84, {1, 1, 3, 1, 11, 31, 97, 225}}, /* 49 */
    {8, 97, {1, 1, 1, 3, 23, 43, 57, 177}}, /* 50 */
    {8, 103, {1, 3, 7, 7, 17, 17, 37, 71}}, /* 51 */
    {8, 115, {1, 3, 1, 5, 27, 63, 123, 213}}, /* 52 */
    {8, 122, {1, 1, 3, 5, 11, 43, 53, 133}}, /* 53 */
    {9, 8, {1, 3, 5, 5, 29, 17, 47, 173, 479}}, /* 54 */
    {9, 13, {1, 3, 3, 11, 3, 1, 109, 9, 69}}, /* 55 */
    {9, 16, {1, 1, 1, 5, 17, 39, 23, 5, 343}}, /* 56 */
    {9, 22, {1, 3, 1, 5, 25, 15, 31, 103, 499}}, /* 57 */
    {9, 25, {1, 1, 1, 11, 11, 17, 63, 105, 183}}, /* 58 */
    {9, 44, {1, 1, 5, 11, 9, 29, 97, 231, 363}}, /* 59 */
    {9, 47, {1, 1, 5, 15, 19, 45, 41, 7, 383}}, /* 60 */
    {9, 52, {1, 3, 7, 7, 31, 19, 83, 137, 221}}, /* 61 */
    {9, 55, {1, 1, 1, 3, 23, 15, 111, 223, 83}}, /* 62 */
    {9, 59, {1, 1, 5, 13, 31, 15, 55, 25, 161}}, /* 63 */
    {9, 62, {1, 1, 3, 13, 25, 47, 39, 87, 257}}, /* 64 */
};

struct cr_sobol {
    int dims;
    uint32_t count;  /* points given so far, mod CR_SOBOL_MAX_POINTS */
    uint32_t *v;     /* dims x BITS direction numbers, v[d * BITS + k] for bit k (0: 1/2) */
    uint32_t *x;     /* the last point, unshifted */
    uint32_t *shift; /* per dimension; 0 when unscrambled */
};

/* The direction numbers of dimension d (0-based) into v: v[k] = m_(k+1) 2^(31-k), with
 * m_k = 2 a_1 m_(k-1) ^ 4 a_2 m_(k-2) ^ ... ^ 2^s m_(k-s) ^ m_(k-s) beyond the initial
 * ones (Bratley & Fox 1988, written on the shifted numbers). */
static void direction_numbers(int d, uint32_t *v)
{
    if (d == 0) {
        for (int k = 0; k < BITS; k++)
            v[k] = UINT32_C(1) << (BITS - 1 - k);
        return;
    }
    int s = joe_kuo[d - 1].s;
    unsigned a = joe_kuo[d - 1].a;
    for (int k = 0; k < s; k++)
        v[k] = (uint32_t)joe_kuo[d - 1].m[k] << (BITS - 1 - k);
    for (int k = s; k < BITS; k++) {
        uint32_t next = v[k - s] ^ (v[k - s] >> s);
        for (int j = 1; j < s; j++)
            if ((a >> (s - 1 - j)) & 1u)
                next ^= v[k - j];
        v[k] = next;
    }
}

/* The parity of the set bits of x. */
static uint32_t parity(uint32_t x)
{
    x ^= x >> 16;
    x ^= x >> 8;
    x ^= x >> 4;
    x ^= x >> 2;
    x ^= x >> 1;
    return x & 1u;
}

/* Scrambles the direction numbers v (BITS of them) of one dimension with a random
 * lower-triangular matrix L of unit diagonal: digit r of the result (bit 31 - r) is the
 * parity of v's digits 0 .. r selected by row r of L. The matrix is drawn row by row,
 * 32 random bits a row, of which the bits of the digits before r are kept. */
static void scramble(uint64_t *state, uint32_t *v)
{
    uint32_t rows[BITS];
    for (int r = 0; r < BITS; r++) {
        uint32_t diagonal = UINT32_C(1) << (BITS - 1 - r);
        uint32_t before = r == 0 ? 0 : ~((diagonal << 1) - 1); /* the digits 0 .. r-1 */
        rows[r] = ((uint32_t)(cr_splitmix64(state) >> 32) & before) | diagonal;
    }
    for (int k = 0; k < BITS; k++) {
        uint32_t out = 0;
        for (int r = 0; r < BITS; r++)
            out |= parity(v[k] & rows[r]) << (BITS - 1 - r);
        v[k] = out;
    }
}

cr_sobol *cr_sobol_new(int dims, uint64_t seed)
{
    if (dims < 1 || dims > CR_SOBOL_MAX_DIMS)
        return NULL;
    cr_sobol *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->dims = dims;
    s->v = malloc((size_t)dims * BITS * sizeof *s->v);
    s->x = calloc((size_t)dims, sizeof *s->x);
    s->shift = calloc((size_t)dims, sizeof *s->shift);
    if (!s->v || !s->x || !s->shift) {
        cr_sobol_free(s);
        return NULL;
    }
    uint64_t state = seed;
    for (int d = 0; d < dims; d++) {
        direction_numbers(d, s->v + (size_t)d * BITS);
        if (seed != 0) {
            scramble(&state, s->v + (size_t)d * BITS);
            s->shift[d] = (uint32_t)(cr_splitmix64(&state) >> 32);
        }
    }
    return s;
}

void cr_sobol_next(cr_sobol *s, double *point)
{
    if (s->count == 0) {
        for (int d = 0; d < s->dims; d++)
            s->x[d] = 0;
    } else {
        /* The lowest zero bit of count - 1 (count - 1 < 2^31 - 1: there is one). */
        uint32_t k = s->count - 1;
        int c = 0;
        while (k & 1u) {
            k >>= 1;
            c++;
        }
        for (int d = 0; d < s->dims; d++)
            s->x[d] ^= s->v[(size_t)d * BITS + (size_t)c];
    }
    for (int d = 0; d < s->dims; d++)
        point[d] = (double)(s->x[d] ^ s->shift[d]) * (1.0 / 4294967296.0);
    s->count = s->count + 1 == (uint32_t)CR_SOBOL_MAX_POINTS ? 0 : s->count + 1;
}

void cr_sobol_free(cr_sobol *s)
{
    if (!s)
        return;
    free(s->v);
    free(s->x);
    free(s->shift);
    free(s);
}
