/* zone_shape.c: the area of a lon/lat ring on the ellipsoid, for the parts of a zone beyond
 * the grid. (The crossings and thinning that bound a repair are core's: core/rings.c.) */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* M_PI */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/zones.h"

/* ------------------------------------------------------------------------------------ */
/* Area on the ellipsoid */

/* Snyder's q (Map Projections: A Working Manual, eq. 3-12): the area between the equator
 * and latitude phi of a strip one radian wide is a^2 q / 2. */
static double authalic_q(double phi, double e)
{
    double s = sin(phi);
    if (e < 1e-12)
        return 2.0 * s;
    return (1.0 - e * e) * (s / (1.0 - e * e * s * s) - log((1.0 - e * s) / (1.0 + e * s)) / (2.0 * e));
}

double cr_lonlat_ring_area(const double *lonlat, int n, double a, double f)
{
    if (n < 3)
        return 0.0;
    const double rad = M_PI / 180.0, e = sqrt(f * (2.0 - f));
    /* Lambert's cylindrical equal-area map (x = longitude, y = q / 2 times a^2 per radian)
     * keeps areas: the ring's area there, longitudes unwrapped so that no edge jumps by
     * more than half a turn, is its area on the ellipsoid. */
    /* Coordinates relative to the first point: a small ring far from (0, 0) keeps its
     * precision. */
    double sum = 0.0, q0 = authalic_q(lonlat[1] * rad, e);
    double x = 0.0, y = 0.0; /* the previous point, longitude unwrapped */
    for (int i = 1; i <= n; i++) {
        int k = i < n ? i : 0;
        double dx = remainder((lonlat[2 * k] - lonlat[0]) * rad - x, 2.0 * M_PI);
        double nx = x + dx, ny = authalic_q(lonlat[2 * k + 1] * rad, e) - q0;
        sum += x * ny - nx * y;
        x = nx, y = ny;
    }
    /* Back at the first point, but a whole turn east or west of it: the ring goes round a
     * pole. Left of an eastward ring lies the north pole, of a westward one the south: close
     * the strip through it (up or down to the pole, along it back to the first point's
     * longitude, and back to the first point). */
    double turns = round(x / (2.0 * M_PI));
    if (turns != 0.0) {
        double qp = authalic_q((turns > 0 ? 0.5 : -0.5) * M_PI, e) - q0;
        sum += x * qp - x * y;
        sum += x * qp;
    }
    return 0.25 * a * a * sum;
}
