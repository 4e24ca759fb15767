/* replay.c: runs a fuzz target over saved inputs without libFuzzer, so that normal builds
 * (release, asan) replay the seed corpus and every regression under CTest.
 *
 * Usage: fuzz_NAME [DIR|FILE]...  Every regular file of each folder (names starting with
 * '.' aside, in name order) and every file named is fed to LLVMFuzzerTestOneInput() once.
 * A folder that does not exist is skipped with a note (a target may have no regressions
 * yet). Fails when a file cannot be read or nothing was run; a finding aborts, as under
 * libFuzzer. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzzutil.h"

/* Initialize is optional for a target: this weak default stands in when it has none. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "replay: cannot open '%s': %s\n", path, strerror(errno));
        return 0;
    }
    size_t cap = 4096, n = 0;
    unsigned char *data = malloc(cap);
    for (size_t got; data && (got = fread(data + n, 1, cap - n, fp)) > 0;) {
        n += got;
        if (n == cap) {
            unsigned char *grown = realloc(data, cap *= 2);
            if (!grown)
                free(data);
            data = grown;
        }
    }
    int ok = data && !ferror(fp);
    fclose(fp);
    if (!ok) {
        fprintf(stderr, "replay: cannot read '%s'\n", path);
        free(data);
        return 0;
    }
    /* An exact copy, so that ASan sees reads past the input's end. */
    unsigned char *exact = malloc(n ? n : 1);
    if (!exact) {
        free(data);
        return 0;
    }
    memcpy(exact, data, n);
    free(data);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 1;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int skip_hidden(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Runs every file of dir; returns the number run, -1 on failure. */
static int run_dir(const char *dir)
{
    struct dirent **list;
    int n = scandir(dir, &list, skip_hidden, by_name), runs = 0, ok = 1;
    if (n < 0) {
        fprintf(stderr, "replay: cannot list '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(list[i]->d_name) + 2;
        char *path = malloc(len);
        struct stat sb;
        if (path) {
            snprintf(path, len, "%s/%s", dir, list[i]->d_name);
            if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
                if (run_file(path))
                    runs++;
                else
                    ok = 0;
            }
        } else {
            ok = 0;
        }
        free(path);
        free(list[i]);
    }
    free(list);
    return ok ? runs : -1;
}

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    int runs = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "replay: '%s' does not exist: skipped\n", argv[i]);
            continue;
        }
        int n = S_ISDIR(sb.st_mode) ? run_dir(argv[i]) : run_file(argv[i]);
        if (n < 0)
            return 1;
        runs += n;
    }
    if (runs == 0) {
        fprintf(stderr, "replay: no inputs run\n");
        return 1;
    }
    fprintf(stderr, "replay: %d inputs, no findings\n", runs);
    return 0;
}
