/* exec.c: running a pipeline's external stage: the program and its arguments as a list (no
 * shell), each declared output written into a temporary folder beside it and published
 * only when the program succeeds (so a failure or a signal leaves no partial file), its
 * messages passed on line by line, and its failure told with the last line it wrote on
 * stderr. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cpl_string.h>

#include "core/internal.h"
#include "core/output.h"
#include "pipeline/internal.h"

extern char **environ;

/* The last line of a stream read so far, and the part of a line still to come. */
enum { LINE_MAX_BYTES = 4096 };

typedef struct stream {
    int fd;       /* -1 once closed */
    int is_err;   /* the program's stderr: its last line is the failure's cause */
    char part[LINE_MAX_BYTES + 1]; /* a line of up to LINE_MAX_BYTES, and its NUL */
    size_t len;
} stream;

/* arg naming the file from, given as to: the whole argument, or its end after '=' or ','
 * ("--out=PATH", "a.tif,PATH"). A new string to CPLFree(), NULL when arg does not name it:
 * a path that merely begins another ("o/d" in "o/d_in.txt") is not it. */
static char *renamed(const char *arg, const char *from, const char *to)
{
    size_t na = strlen(arg), nf = strlen(from);
    if (na < nf || strcmp(arg + na - nf, from) != 0)
        return NULL;
    if (na > nf && arg[na - nf - 1] != '=' && arg[na - nf - 1] != ',')
        return NULL;
    return cr_pl_format("%.*s%s", (int)(na - nf), arg, to);
}

/* Keeps text as the last line, cut to fit. */
static void keep_last(char *last, size_t size, const char *text)
{
    size_t n = strlen(text);
    if (n >= size)
        n = size - 1;
    memcpy(last, text, n);
    last[n] = '\0';
}

/* Passes on the complete lines of s read so far; keeps the last non-blank line of stderr
 * in last. */
static void pass_lines(stream *s, int flush, cr_pl_line_fn line, void *line_arg, char *last, size_t last_size)
{
    size_t start = 0;
    for (size_t i = 0; i < s->len; i++) {
        if (s->part[i] != '\n' && s->part[i] != '\r')
            continue;
        s->part[i] = '\0';
        const char *text = s->part + start;
        if (*text) {
            line(line_arg, text);
            if (s->is_err)
                keep_last(last, last_size, text);
        }
        start = i + 1;
    }
    memmove(s->part, s->part + start, s->len - start);
    s->len -= start;
    if (s->len == LINE_MAX_BYTES || (flush && s->len)) { /* a line too long, or the end */
        s->part[s->len] = '\0';
        line(line_arg, s->part);
        if (s->is_err)
            keep_last(last, last_size, s->part);
        s->len = 0;
    }
}

/* Runs argv with its stdout and stderr read through pipes until both close, the program
 * asked to stop (SIGTERM) once stopping says so. The wait status in *status. */
static cr_status spawn_and_wait(cr_ctx *ctx, const cr_stage *s, char **argv, const cr_pl_exec_how *how,
                                int *status, char *last, size_t last_size)
{
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        int e = errno;
        for (int k = 0; k < 2; k++) {
            if (out[k] >= 0)
                close(out[k]);
            if (err[k] >= 0)
                close(err[k]);
        }
        return cr_ctx_fail(ctx, CR_E_IO, "stage %s: cannot run '%s': %s", s->name, argv[0], strerror(e));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    /* the program starts with the default dispositions, whatever run set for itself */
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
        close(out[0]);
        close(err[0]);
        return cr_ctx_fail(ctx, CR_E_IO, "stage %s: cannot run '%s': %s", s->name, argv[0], strerror(rc));
    }
    stream streams[2] = {{.fd = out[0]}, {.fd = err[0], .is_err = 1}};
    /* Until the program has ended and its pipes are read: a program that closes them early
     * is still waited for (and stopped when asked), and a child it left behind holding them
     * is not waited for past a second after it ended. A program that ignores SIGTERM gets
     * SIGKILL 10 s later. */
    int exited = 0;
    double ended_at = 0, asked_at = 0;
    for (;;) {
        if (!exited) {
            pid_t got = waitpid(pid, status, WNOHANG);
            if (got == pid) {
                exited = 1;
                ended_at = cr_seconds();
            }
        }
        if (!exited && how->stopping && how->stopping(how->stop_arg)) {
            if (asked_at == 0) {
                kill(pid, SIGTERM); /* a terminal's SIGINT reached it already; a SIGTERM to run did not */
                asked_at = cr_seconds();
            } else if (cr_seconds() - asked_at > 10) {
                kill(pid, SIGKILL);
            }
        }
        int open_fds = (streams[0].fd >= 0) + (streams[1].fd >= 0);
        if (exited && (open_fds == 0 || cr_seconds() - ended_at > 1.0))
            break;
        struct pollfd pf[2];
        int n = 0;
        for (int k = 0; k < 2; k++)
            if (streams[k].fd >= 0)
                pf[n++] = (struct pollfd){.fd = streams[k].fd, .events = POLLIN};
        /* with no pipe left, a short pause before waitpid again (not 100 ms per stage) */
        int ready = poll(pf, (nfds_t)n, n ? 100 : 5);
        for (int k = 0; ready > 0 && k < 2; k++) {
            stream *st = &streams[k];
            int j = 0;
            while (j < n && pf[j].fd != st->fd)
                j++;
            if (st->fd < 0 || j == n || !(pf[j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = read(st->fd, st->part + st->len, LINE_MAX_BYTES - st->len);
            if (got > 0) {
                st->len += (size_t)got;
                pass_lines(st, 0, how->line, how->line_arg, last, last_size);
            } else if (got == 0 || errno != EINTR) {
                pass_lines(st, 1, how->line, how->line_arg, last, last_size);
                close(st->fd);
                st->fd = -1;
            }
        }
    }
    for (int k = 0; k < 2; k++)
        if (streams[k].fd >= 0) {
            pass_lines(&streams[k], 1, how->line, how->line_arg, last, last_size);
            close(streams[k].fd);
        }
    return CR_OK;
}

cr_status cr_pl_exec_run(cr_ctx *ctx, const cr_stage *s, int overwrite, const cr_pl_exec_how *how)
{
    int nout = CSLCount(s->outputs);
    cr_temp *temps = calloc((size_t)(nout ? nout : 1), sizeof *temps);
    char **targets = calloc((size_t)nout + 1, sizeof *targets);
    char **argv = CSLDuplicate(s->argv);
    cr_status st = temps && targets ? CR_OK : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    for (int k = 0; k < nout; k++)
        temps[k] = (cr_temp)CR_TEMP_NONE;
    /* each output is written in a folder of its own beside it, under its own name */
    for (int k = 0; st == CR_OK && k < nout; k++) {
        st = cr_temp_dir(ctx, s->outputs[k], "run", &temps[k]);
        if (st == CR_OK)
            targets[k] = cr_pl_format("%s/%s", temps[k].path, CPLGetFilename(s->outputs[k]));
    }
    /* the arguments naming an output name its temporary instead (each argument once) */
    for (char **a = argv ? argv + 1 : NULL; st == CR_OK && a && *a; a++)
        for (int k = 0; k < nout; k++) {
            char *r = renamed(*a, s->outputs[k], targets[k]);
            if (r) {
                CPLFree(*a);
                *a = r;
                break;
            }
        }
    /* a program named with a folder is found from the pipeline's folder, as every path */
    if (st == CR_OK && strchr(argv[0], '/') && argv[0][0] != '/' && how->dir && *how->dir) {
        char *program = cr_pl_format("%s/%s", how->dir, argv[0]);
        CPLFree(argv[0]);
        argv[0] = program;
    }
    int status = 0;
    char last[1024] = "";
    if (st == CR_OK)
        st = spawn_and_wait(ctx, s, argv, how, &status, last, sizeof last);
    if (st == CR_OK && how->stopping && how->stopping(how->stop_arg))
        st = cr_ctx_fail(ctx, CR_E_CANCELLED, "stage %s: '%s' was stopped", s->name, argv[0]);
    if (st == CR_OK && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        char how_ended[64];
        if (WIFEXITED(status))
            snprintf(how_ended, sizeof how_ended, "exited with %d", WEXITSTATUS(status));
        else
            snprintf(how_ended, sizeof how_ended, "was killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        st = cr_ctx_fail(ctx, CR_E_IO, "stage %s: '%s' %s%s%s", s->name, argv[0], how_ended, *last ? ": " : "",
                         last);
    }
    for (int k = 0; st == CR_OK && k < nout; k++) {
        struct stat sb;
        if (stat(targets[k], &sb) != 0)
            st = cr_ctx_fail(ctx, CR_E_IO, "stage %s: '%s' ended well but did not write '%s'", s->name, argv[0],
                             s->outputs[k]);
    }
    /* published once every output is there: the files each folder holds, beside it */
    for (int k = 0; st == CR_OK && k < nout; k++) {
        cr_vector_layout layout = {(char *)CPLGetFilename(s->outputs[k]), NULL};
        st = cr_temp_publish_dir(ctx, &temps[k], s->outputs[k], &layout, overwrite);
    }
    for (int k = 0; temps && k < nout; k++)
        cr_temp_discard(&temps[k]);
    for (int k = 0; targets && k < nout; k++)
        CPLFree(targets[k]);
    free(targets);
    free(temps);
    CSLDestroy(argv);
    return st;
}

cr_status cr_pl_exec_check(cr_ctx *ctx, const cr_pipeline *p, const cr_stage *s, const char *dir)
{
    const char *program = s->argv ? s->argv[0] : NULL;
    if (!program || !*program)
        return cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s' stage %s: 'exec' names no program", p->path, s->name);
    if (strchr(program, '/')) {
        char *path = program[0] == '/' || !dir || !*dir ? CPLStrdup(program) : cr_pl_format("%s/%s", dir, program);
        int runnable = access(path, X_OK) == 0;
        int err = errno;
        CPLFree(path);
        return runnable ? CR_OK
                        : cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s' stage %s: cannot run '%s': %s", p->path,
                                      s->name, program, strerror(err));
    }
    /* as posix_spawnp() looks: PATH, else the system's default path */
    const char *path = getenv("PATH");
    char fallback[256] = "/bin:/usr/bin";
    if (!path) {
        size_t n = confstr(_CS_PATH, fallback, sizeof fallback);
        if (n == 0 || n > sizeof fallback)
            snprintf(fallback, sizeof fallback, "/bin:/usr/bin");
    }
    char **dirs = CSLTokenizeString2(path ? path : fallback, ":", 0);
    int found = 0;
    for (char **d = dirs; d && *d && !found; d++) {
        char *candidate = cr_pl_format("%s/%s", *d, program);
        struct stat sb;
        found = stat(candidate, &sb) == 0 && S_ISREG(sb.st_mode) && access(candidate, X_OK) == 0;
        CPLFree(candidate);
    }
    CSLDestroy(dirs);
    return found ? CR_OK
                 : cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s' stage %s: program '%s' is not found on PATH", p->path,
                               s->name, program);
}
