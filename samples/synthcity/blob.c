/* Irregular closed shapes (island, lagoon, polder): an ellipse whose radius wobbles with angle.
 * The radius is noise sampled on a circle, so it is periodic and smooth, and the raster and the
 * vector layers can both be drawn from the same function and agree on the outline. */
#include "synthcity.h"

#include <math.h>

#define LOBES 1.5 /* radius of the sampling circle in noise space: ~3 bulges per shape */

double blob_radius(const Blob *b, double angle)
{
    double n = fbm(cos(angle) * LOBES + 11.0, sin(angle) * LOBES + 23.0, 3, b->seed);
    return 1.0 + b->wobble * (2.0 * n - 1.0);
}

/* Radial coordinate scaled so the outline is at 1: below 1 inside, above outside. */
double blob_rho(const Blob *b, double u, double v)
{
    double du = (u - b->u) / b->a, dv = (v - b->v) / b->b;
    double r = hypot(du, dv);
    if (r > 1.0 + b->wobble)
        return r; /* certainly outside: skip the noise */
    return r / blob_radius(b, atan2(dv, du));
}

/* The outline scaled by `scale` (1 = the shape itself), as a closed ring in normalised units,
 * handed point by point to `emit`. */
void blob_outline(const Blob *b, double scale, int vertices, int clockwise,
                  void (*emit)(void *ctx, double u, double v), void *ctx)
{
    for (int i = 0; i <= vertices; i++) {
        double angle = 2.0 * SC_PI * (i % vertices) / vertices;
        if (clockwise)
            angle = -angle;
        double r = scale * blob_radius(b, angle);
        emit(ctx, b->u + b->a * r * cos(angle), b->v + b->b * r * sin(angle));
    }
}
