/*
 * classes.h: classing composite scores (0-10) into map classes.
 *
 * The default is INFORM's fixed classes (breaks 2.0, 3.5, 5.0, 6.5: Very Low to Very
 * High), so that maps of different cities and years compare. Other schemes are fixed
 * breaks given by the user, or breaks computed from the data: quantiles, equal
 * intervals, or Fisher's exact natural breaks (Jenks). A scheme is a list of
 * count - 1 inner breaks; cr_class_of() turns a value into its class for every scheme
 * alike, so a class is always "lower break <= value < upper break".
 *
 * Computing breaks from every cell of a large raster would cost memory in proportion
 * to its area, so the scoring stage feeds the scores through a cr_sampler (a fixed-seed
 * reservoir sample of at most 10 000 values) and computes Jenks breaks from the sample:
 * the sample, and so the breaks, are the same on every run and machine.
 */
#ifndef CITYRISK_CLASSES_H
#define CITYRISK_CLASSES_H

#include <stddef.h>
#include <stdint.h>

#include "cityrisk/context.h"
#include "cityrisk/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most classes of any scheme (so at most CR_CLASSES_MAX - 1 inner breaks). */
#define CR_CLASSES_MAX 32

/* The most values the scoring stage gives cr_jenks_breaks() (SCORING.md): the
 * back-pointers of Fisher's algorithm take k words per distinct value, so a sample
 * keeps memory bounded whatever the raster's size. */
#define CR_JENKS_SAMPLE 10000

/* How the breaks of a scheme are found. */
typedef enum cr_class_kind {
    CR_CLASSES_FIXED_DEFAULT = 0, /* INFORM: 2.0, 3.5, 5.0, 6.5 */
    CR_CLASSES_FIXED,             /* the user's breaks */
    CR_CLASSES_QUANTILE,          /* the i/count quantiles of the data */
    CR_CLASSES_JENKS,             /* Fisher's exact natural breaks of the data */
    CR_CLASSES_EQUAL              /* count equal intervals over [min, max] of the data */
} cr_class_kind;

/* A classing scheme as parsed. */
typedef struct cr_class_spec {
    cr_class_kind kind;
    int count;                      /* classes, 2..CR_CLASSES_MAX */
    double breaks[CR_CLASSES_MAX];  /* count - 1 strictly increasing inner breaks, for
                                     * FIXED and FIXED_DEFAULT (filled with INFORM's);
                                     * unused (0) for the kinds computed from data */
} cr_class_spec;

/* Fills out with INFORM's fixed scheme, as cr_classes_parse("fixed") does. */
CR_API void cr_classes_default(cr_class_spec *out);

/* Parses a scheme:
 *   "fixed"               INFORM's breaks 2.0, 3.5, 5.0, 6.5: 5 classes Very Low..Very High
 *   "fixed:b1,b2,..."     1 to CR_CLASSES_MAX - 1 strictly increasing finite decimal
 *                         breaks (blanks around each allowed): count = breaks + 1
 *   "quantile:N", "jenks:N", "equal:N"   N classes, 2 <= N <= CR_CLASSES_MAX
 * Kind names are lower case. Anything else (an unknown kind, a missing or empty item, a
 * trailing comma, a break that is not a finite decimal number such as "nan" or "0x10",
 * breaks not increasing, N out of range or not a whole number) fails with CR_E_USAGE and
 * a message quoting the text; *out is then unspecified. */
CR_API cr_status cr_classes_parse(cr_ctx *ctx, const char *text, cr_class_spec *out);

/* 1 when the breaks of spec must be computed from the data (quantile, jenks, equal), 0
 * when they are in spec->breaks. */
CR_API int cr_classes_need_data(const cr_class_spec *spec);

/* The name of the kind as cr_classes_parse() reads it: "fixed", "quantile", "jenks",
 * "equal" (both fixed kinds are "fixed"); "unknown" otherwise. For metadata and
 * summaries. */
CR_API const char *cr_class_kind_name(cr_class_kind kind);

/* The class (1-based, 1..nbreaks + 1) of value given nbreaks non-decreasing inner
 * breaks: class k holds breaks[k-2] <= value < breaks[k-1]. A value equal to a break
 * belongs to the upper class (INFORM: 2.0 is Low, 6.5 is Very High); where breaks
 * repeat (quantiles of tied data), the classes between them are empty. -inf is class 1,
 * +inf the last class, NaN 0 (no class). O(log nbreaks). */
CR_API int cr_class_of(const double *breaks, int nbreaks, double value);

/* The colour of class k (1-based) of count classes as "#rrggbb" in buf: ColorBrewer's YlOrRd
 * (five stops, colour-blind safe), interpolated linearly for other counts; what `cityrisk
 * score` records in CLASS_COLORS and the report draws. */
CR_API void cr_class_colour(int k, int count, char *buf, size_t size);

/* Fisher's exact natural breaks (Jenks) of n values into k classes (2..CR_CLASSES_MAX):
 * the k - 1 inner breaks minimising the sum over classes of squared deviations from the
 * class mean. Each break is the smallest value of the class above it, so cr_class_of()
 * puts every value in the class the optimum gave it; equal values are never split
 * between classes (an optimum never needs to split them, and a break could not).
 *
 * Method: the values are sorted and equal values merged into weighted points (m distinct
 * values), then Fisher's dynamic programme over class counts runs with the divide-and-
 * conquer row optimisation, valid because the optimal split point is monotone for
 * squared-deviation costs (Wang & Song 2011, Ckmeans.1d.dp; Gronlund et al. 2017):
 * O(k m log m) time instead of O(k m^2), and O(k m) memory for the back-pointers. The
 * values are shifted by their median first, so that the prefix sums lose no precision.
 *
 * values may be reordered (sorted). Fails with CR_E_USAGE when k is out of range, with
 * CR_E_DATA when a value is not finite or when there are fewer distinct values than k
 * (no k non-empty classes exist), with CR_E_IO when out of memory. */
CR_API cr_status cr_jenks_breaks(cr_ctx *ctx, double *values, size_t n, int k, double *breaks);

/* The k - 1 equal-interval breaks over [min, max]: min + i (max - min) / k,
 * i = 1..k-1. When min == max every break is min, so every value falls in class k:
 * callers that want a different convention for constant data check for it first. */
CR_API void cr_equal_breaks(double min, double max, int k, double *breaks);

/* The k - 1 quantile breaks of n values: the i/k quantiles, i = 1..k-1, by linear
 * interpolation between order statistics, as numpy's default method ('linear', Hyndman
 * & Fan type 7): h = (n - 1) i / k, q = x[floor h] + (h - floor h) (x[floor h + 1] -
 * x[floor h]), computed with numpy's formula so the results match it to the last bit.
 * With ties the breaks may repeat (see cr_class_of()). values may be reordered (sorted).
 * Fails with CR_E_USAGE when k is out of 2..CR_CLASSES_MAX, with CR_E_DATA when n is 0
 * or a value is not finite. */
CR_API cr_status cr_quantile_breaks(cr_ctx *ctx, double *values, size_t n, int k, double *breaks);

/* A deterministic uniform sample of at most cap values from a stream of any length:
 * reservoir sampling (Algorithm R) driven by a splitmix64 generator with a fixed seed
 * held in the struct, and integer-only arithmetic, so that the same stream gives the
 * same sample on every run and machine. The sample depends on the order of the stream:
 * a multi-threaded caller must add values in a fixed order (e.g. block order), not in
 * the order threads finish. Not thread-safe.
 *
 * Fields: values[0..n) is the sample, n = min(seen, cap); while seen <= cap it is the
 * whole stream in order. state is the generator's. */
typedef struct cr_sampler {
    double *values;
    size_t cap, n;
    uint64_t seen, state;
} cr_sampler;

/* Prepares s for a sample of at most cap (>= 1) values; CR_E_USAGE when cap is 0,
 * CR_E_IO when out of memory. Free with cr_sampler_free(). */
CR_API cr_status cr_sampler_init(cr_ctx *ctx, cr_sampler *s, size_t cap);

/* Offers one value to the sample, as it is (callers skip nodata and NaN). */
CR_API void cr_sampler_add(cr_sampler *s, double value);

/* Frees the sample and zeroes s. Accepts NULL and a zeroed struct. */
CR_API void cr_sampler_free(cr_sampler *s);

/* The names of INFORM's five classes: "Very Low", "Low", "Medium", "High",
 * "Very High" for 1..5; NULL outside 1..5. */
CR_API const char *cr_class_default_name(int class_index);

#ifdef __cplusplus
}
#endif

#endif
