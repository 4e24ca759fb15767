/* categories.h: the named classes of a band, read alike by map and qml. */
#ifndef CITYRISK_MAP_CATEGORIES_H
#define CITYRISK_MAP_CATEGORIES_H

#include <gdal.h>

/* One named class of a band: its value, name (cleaned for any output) and colour. */
typedef struct cr_band_category {
    int value;
    char name[96];
    unsigned char rgb[3];
} cr_band_category;

/* The classes of band: CLASS_NAMES and CLASS_COLORS (JSON arrays, cityrisk's) else GDAL's
 * category names and colour table (other tools'), the values 0.. that have both a name and
 * a colour, at most max of them. A value without either (nodata, a land-cover code left
 * unnamed) is skipped, not the end: the values after it are still classes. Returns how many
 * were written to out. */
int cr_band_categories(GDALRasterBandH band, cr_band_category *out, int max);

#endif
