/* csvcoords.c: recognising the coordinate columns of a CSV. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "cityrisk/vector.h"

static const char *const X_NAMES[] = {"lon", "long", "lng", "longitude", "x", "easting", NULL};
static const char *const Y_NAMES[] = {"lat", "latitude", "y", "northing", NULL};
static const char *const X_SUFFIXES[] = {"_longitude", "_lon", NULL};
static const char *const Y_SUFFIXES[] = {"_latitude", "_lat", NULL};

/* Compares name, without surrounding blanks, to word case-insensitively. */
static int name_is(const char *name, const char *word)
{
    while (isspace((unsigned char)*name))
        name++;
    size_t n = strlen(name);
    while (n > 0 && isspace((unsigned char)name[n - 1]))
        n--;
    return n == strlen(word) && strncasecmp(name, word, n) == 0;
}

static int name_ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), m = strlen(suffix);
    return n > m && strcasecmp(name + n - m, suffix) == 0;
}

static int matches(const char *name, const char *const *names, const char *const *suffixes)
{
    for (int i = 0; names[i]; i++)
        if (name_is(name, names[i]))
            return 1;
    for (int i = 0; suffixes[i]; i++)
        if (name_ends_with(name, suffixes[i]))
            return 1;
    return 0;
}

/* 1 when tag is "#geo" with the attribute attr ("+lat"), blanks ignored. */
static int hxl_tag_is(const char *tag, const char *attr)
{
    char norm[128];
    size_t n = 0;
    for (const char *p = tag; *p && n + 1 < sizeof norm; p++)
        if (!isspace((unsigned char)*p))
            norm[n++] = (char)tolower((unsigned char)*p);
    norm[n] = '\0';
    if (strncmp(norm, "#geo", 4) != 0 || (norm[4] != '+' && norm[4] != '\0'))
        return 0;
    size_t m = strlen(attr);
    for (const char *p = strstr(norm, attr); p; p = strstr(p + 1, attr))
        if (p[m] == '\0' || p[m] == '+')
            return 1;
    return 0;
}

int cr_csv_is_hxl_row(const char *const *fields, int count)
{
    int tags = 0;
    for (int i = 0; i < count; i++) {
        const char *f = fields[i];
        while (isspace((unsigned char)*f))
            f++;
        if (!*f)
            continue;
        if (*f != '#')
            return 0;
        tags++;
    }
    return tags > 0;
}

void cr_csv_find_coordinates(const char *const *header, int count, const char *const *tags,
                             int tag_count, cr_csv_columns *out)
{
    out->x = out->y = -1;
    out->hxl = tags != NULL;
    if (tags) {
        for (int i = 0; i < tag_count; i++) {
            if (out->x < 0 && hxl_tag_is(tags[i], "+lon"))
                out->x = i;
            if (out->y < 0 && hxl_tag_is(tags[i], "+lat"))
                out->y = i;
        }
        if (out->x >= 0 && out->y >= 0)
            return;
        out->x = out->y = -1;
    }
    for (int i = 0; i < count; i++) {
        if (out->x < 0 && matches(header[i], X_NAMES, X_SUFFIXES))
            out->x = i;
        else if (out->y < 0 && matches(header[i], Y_NAMES, Y_SUFFIXES))
            out->y = i;
    }
}
