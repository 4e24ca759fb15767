/* isodate.c: ISO 8601 dates of arrival records. */
#include "isodate.h"

#include <ctype.h>

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (the
 * era-based algorithm of H. Hinnant's "chrono-compatible low-level date
 * algorithms"). */
static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

static void civil_from_days(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

int cr_date_from_parts(int year, int month, int day, int second, cr_date *out)
{
    if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 ||
        day > days_in_month(year, month) || second < -1 || second >= 86400)
        return 0;
    out->day = out->last = days_from_civil(year, month, day);
    out->second = second;
    return 1;
}

/* The period of a month (day 0) or a year (month 0 too), as cr_date_parse() reads
 * "2024-06" and "2024". */
static int period(int year, int month, cr_date *out)
{
    if (year < 1 || year > 9999 || month < 0 || month > 12)
        return 0;
    int first = month ? month : 1, last = month ? month : 12;
    out->day = days_from_civil(year, first, 1);
    out->last = days_from_civil(year, last, days_in_month(year, last));
    out->second = -1;
    return 1;
}

/* Reads exactly n digits at *p into *value and advances *p. */
static int digits(const char **p, int n, int *value)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return 0;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *value = v;
    return 1;
}

/* Reads hh:mm[:ss[.fff]] into seconds of the day. */
static int parse_time(const char **p, int *seconds)
{
    int h, m, s = 0;
    if (!digits(p, 2, &h) || **p != ':')
        return 0;
    (*p)++;
    if (!digits(p, 2, &m) || h > 23 || m > 59)
        return 0;
    if (**p == ':') {
        (*p)++;
        if (!digits(p, 2, &s) || s > 60) /* 60: a leap second */
            return 0;
        if (**p == '.' || **p == ',') {
            (*p)++;
            if (!isdigit((unsigned char)**p))
                return 0;
            while (isdigit((unsigned char)**p))
                (*p)++;
        }
    }
    *seconds = h * 3600 + m * 60 + (s == 60 ? 59 : s);
    return 1;
}

/* Reads Z, +hh, +hh:mm or +hhmm (or with '-'), checking the ranges. */
static int parse_zone(const char **p)
{
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        return 1;
    }
    if (**p != '+' && **p != '-')
        return 1; /* no zone */
    (*p)++;
    int h, m = 0;
    if (!digits(p, 2, &h) || h > 23)
        return 0;
    if (**p == ':') { /* +hh:mm: the minutes must follow */
        (*p)++;
        return digits(p, 2, &m) && m <= 59;
    }
    if (isdigit((unsigned char)**p) && (!digits(p, 2, &m) || m > 59))
        return 0;
    return 1;
}

int cr_date_parse(const char *text, cr_date *out)
{
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    int y, m = 0, d = 0, second = -1;
    if (!digits(&p, 4, &y))
        return 0;
    /* The reduced forms YYYY and YYYY-MM: a year or a month, without a time. */
    if (*p == '-' && !(p[1] && p[2] && p[3] == '-')) {
        p++;
        if (!digits(&p, 2, &m) || m == 0)
            return 0;
    }
    if (*p != '-') {
        while (isspace((unsigned char)*p))
            p++;
        return *p == '\0' && period(y, m, out);
    }
    p++;
    if (!digits(&p, 2, &m) || *p++ != '-' || !digits(&p, 2, &d))
        return 0;
    if ((*p == 'T' || *p == 't' || *p == ' ') && isdigit((unsigned char)p[1])) {
        p++;
        if (!parse_time(&p, &second) || !parse_zone(&p))
            return 0;
    }
    while (isspace((unsigned char)*p))
        p++;
    return *p == '\0' && cr_date_from_parts(y, m, d, second, out);
}

void cr_date_format(int32_t day, char out[11])
{
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    /* By hand: the ranges are known, and snprintf's truncation warnings are not. */
    int parts[3] = {y, m, d}, widths[3] = {4, 2, 2}, at = 0;
    for (int p = 0; p < 3; p++) {
        if (p)
            out[at++] = '-';
        for (int k = widths[p] - 1, v = parts[p]; k >= 0; k--, v /= 10)
            out[at + k] = (char)('0' + v % 10);
        at += widths[p];
    }
    out[at] = '\0';
}

/* -1, 0 or 1 as the moment (day, second) lies before, on or after (bday, bsecond); a
 * missing time on either side makes the same day compare equal. */
static int compare(int32_t day, int32_t second, int32_t bday, int32_t bsecond)
{
    if (day != bday)
        return day < bday ? -1 : 1;
    if (second < 0 || bsecond < 0 || second == bsecond)
        return 0;
    return second < bsecond ? -1 : 1;
}

int cr_date_in_window(const cr_date *d, const cr_date *from, const cr_date *to)
{
    /* The period's end against from's start, its start against to's end: they overlap
     * when neither lies wholly beyond the other. */
    return (!from || compare(d->last, d->second, from->day, from->second) >= 0) &&
           (!to || compare(d->day, d->second, to->last, to->second) <= 0);
}
