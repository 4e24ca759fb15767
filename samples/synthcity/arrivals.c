/* arrivals.csv: migrant arrival records shaped like an IOM Displacement Tracking Matrix export
 * (header row, HXL hashtag row, then one row per arrival event at a named site). Records are
 * streamed in date order, so a million rows need no more memory than a hundred. */
#include "synthcity.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_YEAR 2024
#define DAYS 731 /* 2024-01-01 .. 2025-12-31; 2024 is a leap year */
#define MAX_ARRIVALS 250
#define OUTSIDE_SITES 2
#define MIN_SITES 40
#define MAX_SITES 2000

enum { STREAM_SITES = 1, STREAM_RECORDS };

typedef struct {
    char name[192];
    char admin[16];
    double lat, lon;
} Site;

typedef struct {
    Site *sites;
    size_t inside;      /* sites[0 .. inside) are in the city, the rest just beyond the DEM */
    size_t total;
    double *cumulative; /* running sum of the inside sites' popularity, for weighted draws */
    double day_cumulative[DAYS + 1];
} Catalogue;

/* Sites grow with the square root of the record count: 60 for the default 3000 records. */
static size_t inside_site_count(long long records)
{
    double n = 1.1 * sqrt((double)records);
    return (size_t)sc_clamp(n, MIN_SITES, MAX_SITES) - OUTSIDE_SITES;
}

/* A few records, about 1 in 700 (4 of the default 3000), fall just outside the DEM. */
static long long outside_record_count(long long records)
{
    long long n = records / 700;
    if (n < 3)
        n = records < 3 ? records : 3;
    return n;
}

/* Arrivals come in waves: a cyclone season and conflict surges on top of a steady trickle. */
static double arrival_intensity(int day)
{
    static const double surge[][3] = {{60, 20, 2.5}, {300, 25, 3.0}, {450, 15, 1.5}, {640, 30, 2.0}};
    double intensity = 1.0;
    for (size_t i = 0; i < sizeof surge / sizeof surge[0]; i++)
        intensity += surge[i][2] * exp(-sc_sq((day - surge[i][0]) / surge[i][1]));
    return intensity;
}

static void build_day_cumulative(Catalogue *cat)
{
    cat->day_cumulative[0] = 0.0;
    for (int d = 0; d < DAYS; d++)
        cat->day_cumulative[d + 1] = cat->day_cumulative[d] + arrival_intensity(d);
}

static int set_site_position(Site *site, const Job *job, double u, double v)
{
    double x, y;
    terrain_uv_to_utm(job->terrain, u, v, &x, &y);
    if (!OCTTransform(job->georef->utm_to_wgs84, 1, &x, &y, NULL))
        return -1;
    site->lon = x;
    site->lat = y;
    return 0;
}

/* Rejection sampling: a site is kept with probability rising with the settlement fraction, so
 * sites cluster on river banks, low land and the city's edge. */
static void draw_city_point(const Terrain *t, Rng *rng, double *u, double *v, int *district)
{
    for (int attempt = 0; attempt < 10000; attempt++) {
        double cv = CITY_V_SOUTH + rng_uniform(rng) * (CITY_V_NORTH - CITY_V_SOUTH);
        double west = landuse_city_west(cv);
        double cu = west + rng_uniform(rng) * (0.98 - west);
        TerrainSample s;
        terrain_sample_uv(t, cu, cv, &s);
        if (s.surface != SURFACE_LAND || s.is_water)
            continue;
        double keep = 0.03 + 0.97 * landuse_settlement(t, &s);
        if (rng_uniform(rng) < keep) {
            *u = cu;
            *v = cv;
            break;
        }
    }
    *district = landuse_district(t, *u, *v);
}

static int place_inside_sites(Catalogue *cat, const Job *job, Rng *rng)
{
    double total = 0.0;
    for (size_t i = 0; i < cat->inside; i++) {
        Site *site = &cat->sites[i];
        double u = 0.6, v = 0.6;
        int district;
        draw_city_point(job->terrain, rng, &u, &v, &district);
        site_name(i, site->name, sizeof site->name);
        snprintf(site->admin, sizeof site->admin, "MZ07%02d", district + 1);
        /* A few big reception sites take most arrivals, as in real DTM data. */
        total += 0.2 + 10.0 * pow(rng_uniform(rng), 4.0);
        cat->cumulative[i] = total;
        if (set_site_position(site, job, u, v) != 0)
            return -1;
    }
    return 0;
}

/* Two sites in neighbouring districts, just beyond the western and northern DEM edges. */
static int place_outside_sites(Catalogue *cat, const Job *job)
{
    static const struct {
        double u, v;
        const char *admin;
    } spots[OUTSIDE_SITES] = {{-0.03, 0.47, "MZ0712"}, {0.45, 1.03, "MZ0710"}};
    for (size_t k = 0; k < OUTSIDE_SITES; k++) {
        Site *site = &cat->sites[cat->inside + k];
        site_name(cat->inside + k, site->name, sizeof site->name);
        snprintf(site->admin, sizeof site->admin, "%s", spots[k].admin);
        if (set_site_position(site, job, spots[k].u, spots[k].v) != 0)
            return -1;
    }
    return 0;
}

static void catalogue_free(Catalogue *cat)
{
    free(cat->sites);
    free(cat->cumulative);
}

static int catalogue_init(Catalogue *cat, const Job *job)
{
    Rng rng;
    rng_init(&rng, job->options->seed, STREAM_SITES);
    cat->inside = inside_site_count(job->options->records);
    cat->total = cat->inside + OUTSIDE_SITES;
    cat->sites = calloc(cat->total, sizeof *cat->sites);
    cat->cumulative = calloc(cat->inside, sizeof *cat->cumulative);
    build_day_cumulative(cat);
    if (!cat->sites || !cat->cumulative || place_inside_sites(cat, job, &rng) != 0 ||
        place_outside_sites(cat, job) != 0) {
        catalogue_free(cat);
        return -1;
    }
    return 0;
}

static size_t pick_weighted(const double *cumulative, size_t n, double target)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cumulative[mid] > target)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static const char *pick_origin(Rng *rng)
{
    double target = rng_uniform(rng), sum = 0.0;
    size_t n = origin_count();
    for (size_t i = 0; i + 1 < n; i++) {
        sum += origin_weight(i);
        if (target < sum)
            return origin_name(i);
    }
    return origin_name(n - 1);
}

/* 1..250 people, mostly small family groups: u^1.4 in the exponent skews towards 1. */
static int draw_arrivals(Rng *rng)
{
    int n = (int)floor(pow(MAX_ARRIVALS + 1.0, pow(rng_uniform(rng), 1.4)));
    return n < 1 ? 1 : (n > MAX_ARRIVALS ? MAX_ARRIVALS : n);
}

static int is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* Day 0 is 2024-01-01. Done by hand: the C library's calendar functions bring time zones in. */
static void format_date(int day, char *out, size_t out_size)
{
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year = FIRST_YEAR;
    while (day >= (is_leap(year) ? 366 : 365)) {
        day -= is_leap(year) ? 366 : 365;
        year++;
    }
    int month = 0;
    while (day >= month_days[month] + (month == 1 && is_leap(year))) {
        day -= month_days[month] + (month == 1 && is_leap(year));
        month++;
    }
    snprintf(out, out_size, "%04d-%02d-%02d", year, month + 1, day + 1);
}

/* RFC 4180: quote a field holding a comma, quote or line break, doubling embedded quotes. */
static void write_csv_field(FILE *f, const char *text)
{
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, f);
        return;
    }
    fputc('"', f);
    for (const char *c = text; *c; c++) {
        if (*c == '"')
            fputc('"', f);
        fputc(*c, f);
    }
    fputc('"', f);
}

static void write_record(FILE *f, const char *date, const Site *site, int arrivals,
                         const char *origin)
{
    fprintf(f, "%s,", date);
    write_csv_field(f, site->name);
    fprintf(f, ",%s,%.6f,%.6f,%d,", site->admin, site->lat, site->lon, arrivals);
    write_csv_field(f, origin);
    fputc('\n', f);
}

/* Record i gets the day where the cumulative intensity passes (i + 0.5) / n: dates ascend, and
 * the outside records are spread evenly through the file rather than bunched at one end. */
static void write_records(FILE *f, const Catalogue *cat, const Job *job)
{
    long long n = job->options->records, outside = outside_record_count(n);
    double total_intensity = cat->day_cumulative[DAYS];
    double total_weight = cat->cumulative[cat->inside - 1];
    Rng rng;
    rng_init(&rng, job->options->seed, STREAM_RECORDS);
    int day = 0;
    char date[48];
    for (long long i = 0; i < n; i++) {
        double target = ((double)i + 0.5) / (double)n * total_intensity;
        while (day + 1 < DAYS && cat->day_cumulative[day + 1] < target)
            day++;
        format_date(day, date, sizeof date);
        int is_outside = (i + 1) * outside / n > i * outside / n;
        size_t site = is_outside
            ? cat->inside + (size_t)(i * outside / n) % OUTSIDE_SITES
            : pick_weighted(cat->cumulative, cat->inside, rng_uniform(&rng) * total_weight);
        int arrivals = draw_arrivals(&rng);
        write_record(f, date, &cat->sites[site], arrivals, pick_origin(&rng));
    }
}

static int write_csv(const char *path, const Catalogue *cat, const Job *job, SynthError *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return synth_fail(err, path, strerror(errno));
    /* A big buffer: a million short rows otherwise cost a million small writes. */
    static char buffer[1 << 20];
    setvbuf(f, buffer, _IOFBF, sizeof buffer);
    fputs("date,site_name,admin_code,latitude,longitude,arrivals,origin\n", f);
    fputs("#date,#loc+name,#adm2+code,#geo+lat,#geo+lon,#affected+idps+ind,#adm1+origin\n", f);
    write_records(f, cat, job);
    int failed = ferror(f);
    int saved_errno = errno;
    if (fclose(f) != 0 || failed)
        return synth_fail(err, path, strerror(failed ? saved_errno : errno));
    return 0;
}

int write_arrivals(const Job *job, const char *path, SynthError *err)
{
    Catalogue cat;
    if (catalogue_init(&cat, job) != 0)
        return synth_fail(err, path, "cannot place arrival sites (out of memory or bad CRS)");
    int rc = write_csv(path, &cat, job, err);
    catalogue_free(&cat);
    return rc;
}
