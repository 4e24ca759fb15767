/* info_compare.c: how much the inputs' extents overlap, in longitude/latitude.
 *
 * Extents are compared as lon/lat rectangles: enough to tell an analyst that two
 * layers do not meet, or that one covers only part of another, before an overlay. */
#include <math.h>
#include <stdlib.h>

#include "core/crs.h"
#include "info_internal.h"

static double area(const cr_bounds *b)
{
    return (b->xmax - b->xmin) * (b->ymax - b->ymin);
}

/* The intersection of a and b; returns 0 when they do not overlap with positive area. */
static int intersect(const cr_bounds *a, const cr_bounds *b, cr_bounds *out)
{
    out->xmin = fmax(a->xmin, b->xmin), out->xmax = fmin(a->xmax, b->xmax);
    out->ymin = fmax(a->ymin, b->ymin), out->ymax = fmin(a->ymax, b->ymax);
    return out->xmax > out->xmin && out->ymax > out->ymin;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The area of the union of n rectangles, by cutting the plane at every edge. */
static double union_area(const cr_bounds *rects, int n)
{
    if (n == 0)
        return 0.0;
    double *xs = malloc(sizeof *xs * 2 * (size_t)n), *ys = malloc(sizeof *ys * 2 * (size_t)n);
    double total = 0.0;
    if (!xs || !ys)
        goto out;
    for (int i = 0; i < n; i++) {
        xs[2 * i] = rects[i].xmin, xs[2 * i + 1] = rects[i].xmax;
        ys[2 * i] = rects[i].ymin, ys[2 * i + 1] = rects[i].ymax;
    }
    qsort(xs, 2 * (size_t)n, sizeof *xs, compare_doubles);
    qsort(ys, 2 * (size_t)n, sizeof *ys, compare_doubles);
    for (int i = 0; i + 1 < 2 * n; i++) {
        for (int j = 0; j + 1 < 2 * n; j++) {
            double cx = (xs[i] + xs[i + 1]) / 2, cy = (ys[j] + ys[j + 1]) / 2;
            for (int k = 0; k < n; k++) {
                if (cx > rects[k].xmin && cx < rects[k].xmax && cy > rects[k].ymin &&
                    cy < rects[k].ymax) {
                    total += (xs[i + 1] - xs[i]) * (ys[j + 1] - ys[j]);
                    break;
                }
            }
        }
    }
out:
    free(xs);
    free(ys);
    return total;
}

/* The share of input i's extent covered by at least one other input, or -1 when
 * i's extent is unknown or has no area, or no other input's extent is known (an input
 * without a CRS or a usable geotransform overlaps nothing that can be told). */
static double share_covered_by_others(const cr_info_extent *e, int count, int i)
{
    int others = 0;
    for (int j = 0; j < count; j++)
        others += j != i && e[j].lonlat_known;
    if (!e[i].lonlat_known || area(&e[i].lonlat) <= 0.0 || others == 0)
        return -1.0;
    cr_bounds *parts = malloc(sizeof *parts * (size_t)(count > 0 ? count : 1));
    if (!parts)
        return -1.0;
    int n = 0;
    for (int j = 0; j < count; j++)
        if (j != i && e[j].lonlat_known && intersect(&e[i].lonlat, &e[j].lonlat, &parts[n]))
            n++;
    double share = union_area(parts, n) / area(&e[i].lonlat);
    free(parts);
    return share;
}

static json_object *pair(const char *a, const char *b, double share_a, double share_b)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "a", json_object_new_string(a));
    json_object_object_add(o, "b", json_object_new_string(b));
    json_object_object_add(o, "share_of_a", cr_json_number(share_a, 4));
    json_object_object_add(o, "share_of_b", cr_json_number(share_b, 4));
    return o;
}

void cr_info_compare(json_object *report, const char *const *paths, const cr_info_extent *e,
                     int count, json_object *warnings)
{
    json_object *pairs = json_object_new_array();
    json_object_object_add(report, "overlaps", pairs);
    if (count < 2)
        return;
    json_object *inputs = NULL;
    json_object_object_get_ex(report, "inputs", &inputs);
    for (int i = 0; i < count; i++) {
        for (int j = i + 1; j < count; j++) {
            cr_bounds both;
            if (!e[i].lonlat_known || !e[j].lonlat_known)
                continue;
            double shared = intersect(&e[i].lonlat, &e[j].lonlat, &both) ? area(&both) : 0.0;
            double ai = area(&e[i].lonlat), aj = area(&e[j].lonlat);
            json_object_array_add(pairs, pair(paths[i], paths[j], ai > 0 ? shared / ai : 0.0,
                                              aj > 0 ? shared / aj : 0.0));
        }
        double share = share_covered_by_others(e, count, i);
        json_object *desc = json_object_array_get_idx(inputs, (size_t)i);
        if (share >= 0.0)
            json_object_object_add(desc, "overlap_with_others", cr_json_number(share, 4));
        if (share == 0.0)
            cr_info_warn(warnings, paths[i], "no_overlap",
                         "'%s' does not overlap any other input: an overlay would be empty", paths[i]);
    }
}
