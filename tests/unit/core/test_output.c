/* test_output.c: the files a command writes: the plan checked before any work, publication
 * that never replaces without overwrite, temporaries held by their writer and the sweep of
 * those no live process holds, and the temp hook. */
#define _GNU_SOURCE /* flock() */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/output.h"

/* The text of dir/name, "" when it cannot be read. */
static char *read_text(const char *dir, const char *name)
{
    static char buf[256];
    char *path = tu_path(dir, name);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    free(path);
    return buf;
}

static int exists(const char *dir, const char *name)
{
    char *path = tu_path(dir, name);
    struct stat st;
    int found = lstat(path, &st) == 0;
    free(path);
    return found;
}

/* A temporary file of path with text in it. */
static cr_temp temp_with(cr_ctx *ctx, const char *path, const char *text)
{
    cr_temp t = CR_TEMP_NONE;
    assert_int_equal(cr_temp_file(ctx, path, "part", &t), CR_OK);
    FILE *f = fopen(t.path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return t;
}

static void publish_never_replaces_without_overwrite(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *out = tu_path(dir, "out.tif");
    cr_ctx *ctx = cr_ctx_new();

    cr_temp first = temp_with(ctx, out, "first");
    cr_temp second = temp_with(ctx, out, "second");
    assert_int_equal(cr_temp_publish(ctx, &first, out, 0), CR_OK);
    assert_null(first.path);
    /* The second finds the output there: it fails, replaces nothing, keeps its temporary. */
    assert_int_equal(cr_temp_publish(ctx, &second, out, 0), CR_E_EXISTS);
    assert_non_null(strstr(cr_ctx_error(ctx), "exists; use --overwrite to replace it"));
    assert_string_equal(read_text(dir, "out.tif"), "first");
    assert_non_null(second.path);
    assert_int_equal(access(second.path, F_OK), 0);
    cr_temp_discard(&second);
    assert_int_equal(tu_count_entries(dir), 1);

    /* With overwrite it replaces. */
    cr_temp third = temp_with(ctx, out, "third");
    assert_int_equal(cr_temp_publish(ctx, &third, out, 1), CR_OK);
    assert_string_equal(read_text(dir, "out.tif"), "third");
    assert_int_equal(tu_count_entries(dir), 1);
    /* Published with the umask's mode, not mkstemp's 0600. */
    struct stat st;
    mode_t mask = umask(0);
    umask(mask);
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0666 & ~mask);

    cr_ctx_free(ctx);
    free(out);
    tu_rmdir(dir);
}

/* A temporary folder holding the files of a Shapefile n.shp. */
static cr_temp shapefile_folder(cr_ctx *ctx, const char *out, const char *text)
{
    cr_temp t = CR_TEMP_NONE;
    assert_int_equal(cr_temp_dir(ctx, out, "zonal", &t), CR_OK);
    const char *names[] = {"n.shp", "n.shx", "n.dbf", "n.prj"};
    for (int i = 0; i < 4; i++)
        free(tu_write_file(t.path, names[i], text));
    return t;
}

static void a_folder_is_published_whole_or_not_at_all(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *out = tu_path(dir, "n.shp");
    cr_ctx *ctx = cr_ctx_new();
    cr_vector_layout layout;
    assert_int_equal(cr_vector_layout_init(ctx, out, "ESRI Shapefile", &layout), CR_OK);
    assert_string_equal(layout.driver_name, "n.shp");

    /* Another run's .shx is there: nothing of this run stays. */
    free(tu_write_file(dir, "n.shx", "theirs"));
    cr_temp t = shapefile_folder(ctx, out, "ours");
    assert_int_equal(cr_temp_publish_dir(ctx, &t, out, &layout, 0), CR_E_EXISTS);
    assert_non_null(strstr(cr_ctx_error(ctx), "n.shx' (a file of '"));
    assert_string_equal(read_text(dir, "n.shx"), "theirs");
    assert_false(exists(dir, "n.shp"));
    assert_false(exists(dir, "n.dbf"));
    assert_false(exists(dir, "n.prj"));
    cr_temp_discard(&t);
    assert_int_equal(tu_count_entries(dir), 1);

    /* With overwrite: every file replaced, and the old files the new one lacks removed. */
    free(tu_write_file(dir, "n.qix", "old index"));
    free(tu_write_file(dir, "n.cpg", "old"));
    free(tu_write_file(dir, "m.qix", "another output's"));
    t = shapefile_folder(ctx, out, "ours");
    assert_int_equal(cr_temp_publish_dir(ctx, &t, out, &layout, 1), CR_OK);
    assert_null(t.path);
    assert_string_equal(read_text(dir, "n.shx"), "ours");
    assert_string_equal(read_text(dir, "n.shp"), "ours");
    assert_false(exists(dir, "n.qix"));
    assert_false(exists(dir, "n.cpg"));
    assert_true(exists(dir, "m.qix"));
    assert_int_equal(tu_count_entries(dir), 5); /* n.shp .shx .dbf .prj, m.qix */

    cr_vector_layout_release(&layout);
    cr_ctx_free(ctx);
    free(out);
    tu_rmdir(dir);
}

static void a_folder_inside_the_temporary_folder_is_refused(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *out = tu_path(dir, "x.out");
    cr_ctx *ctx = cr_ctx_new();
    cr_vector_layout layout;
    assert_int_equal(cr_vector_layout_init(ctx, out, "GeoJSON", &layout), CR_OK);
    cr_temp t = CR_TEMP_NONE;
    assert_int_equal(cr_temp_dir(ctx, out, "zonal", &t), CR_OK);
    char *inner = tu_path(t.path, "x.out");
    assert_int_equal(mkdir(inner, 0700), 0);
    free(tu_write_file(inner, "x.csv", "a,b\n"));
    assert_int_equal(cr_temp_publish_dir(ctx, &t, out, &layout, 0), CR_E_USAGE);
    /* Discarding removes the folder with what it holds, nested folders too. */
    cr_temp_discard(&t);
    assert_int_equal(tu_count_entries(dir), 0);
    free(inner);
    cr_vector_layout_release(&layout);
    cr_ctx_free(ctx);
    free(out);
    tu_rmdir(dir);
}

static void vector_layouts(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_vector_layout l;
    /* GDAL writes a folder for a CSV named without .csv: the driver gets NAME.csv. */
    assert_int_equal(cr_vector_layout_init(ctx, "d/x.out", "CSV", &l), CR_OK);
    assert_string_equal(l.driver_name, "x.out.csv");
    assert_string_equal(l.files[0], "d/x.out");
    assert_string_equal(l.files[1], "d/x.out.csvt");
    assert_string_equal(l.files[2], "d/x.out.prj");
    assert_null(l.files[3]);
    cr_vector_layout_release(&l);
    assert_int_equal(cr_vector_layout_init(ctx, "y.csv", "CSV", &l), CR_OK);
    assert_string_equal(l.driver_name, "y.csv");
    assert_string_equal(l.files[1], "y.csvt");
    cr_vector_layout_release(&l);
    /* A Shapefile's other files, in the lower case GDAL writes them. */
    assert_int_equal(cr_vector_layout_init(ctx, "X.SHP", "ESRI Shapefile", &l), CR_OK);
    assert_string_equal(l.driver_name, "X.shp");
    const char *want[] = {"X.SHP", "X.shx", "X.dbf", "X.prj", "X.cpg", "X.qix", "X.sbn", "X.sbx", NULL};
    for (int i = 0; want[i] || l.files[i]; i++)
        assert_string_equal(l.files[i], want[i]);
    cr_vector_layout_release(&l);
    assert_int_equal(cr_vector_layout_init(ctx, "t.out", "ESRI Shapefile", &l), CR_E_USAGE);
    assert_int_equal(cr_vector_layout_init(ctx, "t.shp.zip", "ESRI Shapefile", &l), CR_E_USAGE);
    assert_int_equal(cr_vector_layout_init(ctx, "m.txt", "MapInfo File", &l), CR_E_USAGE);
    assert_int_equal(cr_vector_layout_init(ctx, "n.geojson", "GeoJSON", &l), CR_OK);
    assert_string_equal(l.driver_name, "n.geojson");
    assert_null(l.files[1]);
    cr_vector_layout_release(&l);
    cr_ctx_free(ctx);
}

static void the_plan_is_checked_before_any_work(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    cr_ctx *ctx = cr_ctx_new();
    char *grid = tu_write_file(dir, "g.tif", "grid");
    char *zones = tu_write_file(dir, "z.shp", "shp");
    char *zones_dbf = tu_write_file(dir, "z.dbf", "dbf");
    char *out = tu_path(dir, "a.tif"), *report = tu_path(dir, "r.csv");
    char *style = tu_path(dir, "a.qml"), *dbf_out = tu_path(dir, "n.dbf");
    const char *inputs[] = {grid, zones, NULL};

    /* The report over an input, with or without overwrite. */
    cr_output_plan plan;
    cr_output_plan_init(&plan);
    assert_int_equal(cr_output_plan_add(ctx, &plan, out, "raster"), CR_OK);
    assert_int_equal(cr_output_plan_add(ctx, &plan, grid, "report"), CR_OK);
    assert_int_equal(cr_output_plan_check(ctx, &plan, inputs, 1), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "report '"));
    assert_non_null(strstr(cr_ctx_error(ctx), "g.tif' is the input '"));
    cr_output_plan_release(&plan);

    /* A file of an input's format: the .dbf of the zones' Shapefile. */
    assert_int_equal(cr_outputs_check(ctx, zones_dbf, "raster", NULL, inputs, 1), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "(a file of '"));

    /* The same file twice: the report and the style. */
    cr_output_plan_init(&plan);
    assert_int_equal(cr_output_plan_add(ctx, &plan, out, "raster"), CR_OK);
    assert_int_equal(cr_output_plan_add(ctx, &plan, style, "report"), CR_OK);
    const char *styles[] = {style, NULL};
    assert_int_equal(cr_output_plan_add_styles(ctx, &plan, styles), CR_OK);
    assert_int_equal(cr_output_plan_check(ctx, &plan, inputs, 0), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "would be written twice (as the report and as the QGIS style)"));
    cr_output_plan_release(&plan);

    /* A Shapefile whose .dbf exists: exit 4 without overwrite, naming the file. */
    free(tu_write_file(dir, "n.dbf", "mine"));
    char *shp = tu_path(dir, "n.shp");
    cr_output_plan_init(&plan);
    assert_int_equal(cr_output_plan_add_vector(ctx, &plan, shp, "ESRI Shapefile"), CR_OK);
    assert_int_equal(cr_output_plan_check(ctx, &plan, inputs, 0), CR_E_EXISTS);
    assert_non_null(strstr(cr_ctx_error(ctx), "n.dbf' (a file of '"));
    assert_int_equal(cr_output_plan_check(ctx, &plan, inputs, 1), CR_OK);
    cr_output_plan_release(&plan);

    /* Standard output takes no raster. */
    assert_int_equal(cr_outputs_check(ctx, "-", "raster", NULL, inputs, 1), CR_E_USAGE);
    assert_string_equal(cr_ctx_error(ctx),
                        "a raster cannot be written to standard output (-o -); give a file name");
    assert_int_equal(cr_outputs_check(ctx, out, "raster", styles, inputs, 0), CR_OK);
    assert_int_equal(tu_count_entries(dir), 4); /* checking wrote nothing */

    free(shp);
    free(grid);
    free(zones);
    free(zones_dbf);
    free(out);
    free(report);
    free(style);
    free(dbf_out);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

/* Makes ".<name>.<tag>.XXXXXX" in dir as a run killed with it would leave it. */
static char *left_behind(const char *dir, const char *name, int folder)
{
    char *path = tu_path(dir, name);
    if (folder) {
        assert_int_equal(mkdir(path, 0700), 0);
        char *inner = tu_path(path, "n");
        assert_int_equal(mkdir(inner, 0700), 0);
        free(tu_write_file(inner, "n.csv", "a\n"));
        free(tu_write_file(path, "n.dbf", "x"));
        free(inner);
    } else {
        free(tu_write_file(dir, name, "x"));
    }
    return path;
}

static int warnings;
static void count_warnings(void *arg, cr_log_level level, const char *msg)
{
    (void)arg;
    (void)msg;
    warnings += level == CR_LOG_WARNING;
}

static void stale_temporaries_go_live_ones_stay(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    cr_ctx *ctx = cr_ctx_new();
    cr_ctx_set_log(ctx, count_warnings, NULL, CR_LOG_WARNING);
    char *out = tu_path(dir, "out.tif");
    char *stale = left_behind(dir, ".out.tif.part.AbC123", 0);
    char *stale_dir = left_behind(dir, ".out.tif.zonal.Zz9Yy8", 1);
    char *companion = left_behind(dir, ".out.tif.cog.QwErTy.ovr.tmp", 0); /* its base is gone */
    char *live = left_behind(dir, ".out.tif.cog.LiVe01", 0);
    char *live_companion = left_behind(dir, ".out.tif.cog.LiVe01.ovr.tmp", 0);
    char *other = left_behind(dir, ".out.tiff.part.AbC123", 0); /* another output's */
    char *mine = left_behind(dir, ".out.tif.notes", 0);          /* not a temporary's name */
    char *short_name = left_behind(dir, ".out.tif.part.AbC12", 0);
    /* A live writer holds its lock (another open file description: flock() locks conflict
     * even within one process, as between the stages of `cityrisk run`). */
    int fd = open(live, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);

    warnings = 0;
    cr_temp t = CR_TEMP_NONE;
    assert_int_equal(cr_temp_file(ctx, out, "part", &t), CR_OK);
    assert_int_equal(access(stale, F_OK), -1);
    assert_int_equal(access(stale_dir, F_OK), -1);
    assert_int_equal(access(companion, F_OK), -1);
    assert_int_equal(warnings, 3);
    assert_int_equal(access(live, F_OK), 0);
    assert_int_equal(access(live_companion, F_OK), 0);
    assert_int_equal(access(other, F_OK), 0);
    assert_int_equal(access(mine, F_OK), 0);
    assert_int_equal(access(short_name, F_OK), 0);
    /* The new temporary is held: a sweep of another run leaves it. */
    cr_temp u = CR_TEMP_NONE;
    assert_int_equal(cr_temp_file(ctx, out, "cog", &u), CR_OK);
    assert_int_equal(access(t.path, F_OK), 0);
    cr_temp_discard(&t);
    cr_temp_discard(&u);
    close(fd);
    /* Once its writer is gone, the live one is stale too. */
    assert_int_equal(cr_temp_dir(ctx, out, "zonal", &t), CR_OK);
    assert_int_equal(access(live, F_OK), -1);
    assert_int_equal(access(live_companion, F_OK), -1);
    cr_temp_discard(&t);
    assert_int_equal(tu_count_entries(dir), 3);

    free(stale);
    free(stale_dir);
    free(companion);
    free(live);
    free(live_companion);
    free(other);
    free(mine);
    free(short_name);
    free(out);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

/* What the temp hook was told: "+f path", "-d path", ... */
static char events[8][600];
static int nevents;
static void record(void *arg, const char *path, int is_dir, int created)
{
    (void)arg;
    if (nevents < 8)
        snprintf(events[nevents++], sizeof events[0], "%c%c %s", created ? '+' : '-',
                 is_dir ? 'd' : 'f', path);
}

static void the_hook_hears_of_every_temporary(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *out = tu_path(dir, "out.tif");
    cr_ctx *ctx = cr_ctx_new();
    cr_ctx_set_temp_hook(ctx, record, NULL);
    nevents = 0;
    cr_temp a = temp_with(ctx, out, "a"), b = CR_TEMP_NONE;
    char *a_path = strdup(a.path);
    assert_int_equal(cr_temp_dir(ctx, out, "zonal", &b), CR_OK);
    char *b_path = strdup(b.path);
    assert_int_equal(cr_temp_publish(ctx, &a, out, 0), CR_OK);
    cr_temp_discard(&b);
    assert_int_equal(nevents, 4);
    char want[600];
    snprintf(want, sizeof want, "+f %s", a_path);
    assert_string_equal(events[0], want);
    snprintf(want, sizeof want, "+d %s", b_path);
    assert_string_equal(events[1], want);
    snprintf(want, sizeof want, "-f %s", a_path);
    assert_string_equal(events[2], want);
    snprintf(want, sizeof want, "-d %s", b_path);
    assert_string_equal(events[3], want);
    /* A failed publish keeps the temporary: nothing to tell until it is discarded. */
    cr_temp c = temp_with(ctx, out, "c");
    assert_int_equal(cr_temp_publish(ctx, &c, out, 0), CR_E_EXISTS);
    assert_int_equal(nevents, 5);
    cr_temp_discard(&c);
    assert_int_equal(nevents, 6);
    assert_int_equal(events[5][0], '-');
    free(a_path);
    free(b_path);
    free(out);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(publish_never_replaces_without_overwrite),
        cmocka_unit_test(a_folder_is_published_whole_or_not_at_all),
        cmocka_unit_test(a_folder_inside_the_temporary_folder_is_refused),
        cmocka_unit_test(vector_layouts),
        cmocka_unit_test(the_plan_is_checked_before_any_work),
        cmocka_unit_test(stale_temporaries_go_live_ones_stay),
        cmocka_unit_test(the_hook_hears_of_every_temporary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
