/* Hash-based value noise and fractal sums of it. Each lattice value is hashed from its integer
 * coordinates, so noise at any point is a pure function of (x, y, seed): a block of a raster can
 * be computed without its neighbours and comes out identical whichever way the raster is tiled. */
#include "synthcity.h"

#include <math.h>

static double lattice(int64_t ix, int64_t iy, uint64_t seed)
{
    return hash_unit(seed, (uint64_t)ix, (uint64_t)iy);
}

/* Smoothstep-interpolated lattice values: continuous with a continuous gradient, in [0, 1). */
double value_noise(double x, double y, uint64_t seed)
{
    double fx = floor(x), fy = floor(y);
    int64_t ix = (int64_t)fx, iy = (int64_t)fy;
    double sx = x - fx, sy = y - fy;
    sx = sx * sx * (3.0 - 2.0 * sx);
    sy = sy * sy * (3.0 - 2.0 * sy);
    double south = sc_lerp(lattice(ix, iy, seed), lattice(ix + 1, iy, seed), sx);
    double north = sc_lerp(lattice(ix, iy + 1, seed), lattice(ix + 1, iy + 1, seed), sx);
    return sc_lerp(south, north, sy);
}

/* Successive octaves are rotated by ~37 degrees and doubled in frequency (the matrix has norm 2),
 * so their lattices never line up into visible grid artefacts. */
static void next_octave(double *x, double *y)
{
    double nx = 1.6 * *x + 1.2 * *y + 17.31;
    double ny = -1.2 * *x + 1.6 * *y + 5.77;
    *x = nx;
    *y = ny;
}

/* Fractal Brownian motion: octaves halve in amplitude; normalised so the result stays in [0, 1). */
double fbm(double x, double y, int octaves, uint64_t seed)
{
    double sum = 0.0, amplitude = 1.0, norm = 0.0;
    for (int o = 0; o < octaves; o++) {
        sum += amplitude * value_noise(x, y, seed + (uint64_t)o);
        norm += amplitude;
        amplitude *= 0.5;
        next_octave(&x, &y);
    }
    return norm > 0.0 ? sum / norm : 0.0;
}

/* Ridged variant: sharp crests where the noise crosses its mid value, good for hill ranges. */
double ridged_fbm(double x, double y, int octaves, uint64_t seed)
{
    double sum = 0.0, amplitude = 1.0, norm = 0.0;
    for (int o = 0; o < octaves; o++) {
        double ridge = 1.0 - fabs(2.0 * value_noise(x, y, seed + (uint64_t)o) - 1.0);
        sum += amplitude * ridge * ridge;
        norm += amplitude;
        amplitude *= 0.5;
        next_octave(&x, &y);
    }
    return norm > 0.0 ? sum / norm : 0.0;
}
