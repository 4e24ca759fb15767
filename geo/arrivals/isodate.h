/* isodate.h: ISO 8601 calendar dates and times of arrival records (internal). */
#ifndef CITYRISK_ISODATE_H
#define CITYRISK_ISODATE_H

#include <stdint.h>

/* A calendar date as written: a day, with the time of day when one was given, or a
 * whole month or year (ISO 8601 reduced precision, "2024-06", "2024"), which is the
 * period of days day..last. Time zone designators are checked but not applied: an
 * arrival is counted on the date its record shows. */
typedef struct cr_date {
    int32_t day;    /* the first day, in days since 1970-01-01 (proleptic Gregorian) */
    int32_t last;   /* the last day of the period: day itself for a full date */
    int32_t second; /* seconds into the day, -1 when no time was given (always for periods) */
} cr_date;

/* Parses YYYY-MM-DD, optionally followed by 'T' or ' ' and hh:mm, hh:mm:ss or
 * hh:mm:ss.fff, and then optionally by Z, +hh, +hh:mm or +hhmm (or -); or the reduced
 * forms YYYY-MM (a month) and YYYY (a year), without a time. Surrounding blanks are
 * ignored. Returns 1 on success, 0 when text is not such a date or names a day or month
 * that does not exist (2023-02-29, 2024-13). */
int cr_date_parse(const char *text, cr_date *out);

/* Makes a date from its parts (month 1-12, day 1-31; second -1 for none). Returns 1
 * on success, 0 when the parts do not name a real date and time. */
int cr_date_from_parts(int year, int month, int day, int second, cr_date *out);

/* Writes the date part as YYYY-MM-DD into out (11 bytes). */
void cr_date_format(int32_t day, char out[11]);

/* 1 when d overlaps the inclusive window [from, to]; either bound may be NULL (open).
 * A bound covers its whole period: from starts at the first day of its day, month or
 * year (at its time when it has one), to ends at the last; a date without a time, or a
 * month or year, overlaps a window when any of its days does: d.last on or after from's
 * first day, and d.day on or before to's last. */
int cr_date_in_window(const cr_date *d, const cr_date *from, const cr_date *to);

#endif
