/* csvcoords.c: recognising the coordinate columns of a CSV. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "cityrisk/vector.h"
#include "csv.h"

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

/* One hashtag or tag pattern, normalised: lowercase, blanks gone, split at its
 * attributes. */
typedef struct hxl_tag {
    char text[256];
    const char *hashtag;   /* "#date" */
    const char *attrs[32]; /* without their sign */
    char signs[32];        /* '+' or '-' */
    int n;
} hxl_tag;

static int hxl_split(const char *in, hxl_tag *t)
{
    size_t n = 0;
    for (const char *p = in; *p; p++)
        if (!isspace((unsigned char)*p)) {
            if (n + 1 >= sizeof t->text)
                return 0;
            t->text[n++] = (char)tolower((unsigned char)*p);
        }
    t->text[n] = '\0';
    if (t->text[0] != '#' || t->text[1] == '\0' || t->text[1] == '+' || t->text[1] == '-')
        return 0;
    t->hashtag = t->text;
    t->n = 0;
    for (char *p = t->text + 1; *p; p++) {
        if (*p != '+' && *p != '-')
            continue;
        if (t->n == (int)(sizeof t->attrs / sizeof *t->attrs))
            return 0;
        t->signs[t->n] = *p;
        *p = '\0';
        t->attrs[t->n++] = p + 1;
    }
    return 1;
}

/* 1 when t carries attribute a with a '+' (a tag's attributes are all '+'). */
static int hxl_has(const hxl_tag *t, const char *a)
{
    for (int i = 0; i < t->n; i++)
        if (t->signs[i] == '+' && strcmp(t->attrs[i], a) == 0)
            return 1;
    return 0;
}

int cr_hxl_match(const char *pattern, const char *tag)
{
    hxl_tag p, t;
    if (!pattern || !tag || !hxl_split(pattern, &p) || !hxl_split(tag, &t) ||
        strcmp(p.hashtag, t.hashtag) != 0)
        return 0;
    for (int i = 0; i < p.n; i++)
        if (hxl_has(&t, p.attrs[i]) != (p.signs[i] == '+'))
            return 0;
    return 1;
}

int cr_hxl_same(const char *pattern, const char *tag)
{
    if (!cr_hxl_match(pattern, tag))
        return 0;
    hxl_tag p, t;
    hxl_split(pattern, &p);
    hxl_split(tag, &t);
    /* every attribute of the tag is one the pattern asks for */
    for (int i = 0; i < t.n; i++)
        if (!hxl_has(&p, t.attrs[i]))
            return 0;
    return 1;
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
            if (out->x < 0 && cr_hxl_match("#geo+lon", tags[i]))
                out->x = i;
            if (out->y < 0 && cr_hxl_match("#geo+lat", tags[i]))
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
