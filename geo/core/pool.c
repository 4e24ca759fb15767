/* pool.c: ordered parallel loops on POSIX threads. */
#define _POSIX_C_SOURCE 200809L
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

typedef struct pool {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int64_t count, next, emitted; /* items: total, next to claim, emitted so far */
    int slots;
    int64_t *finished;            /* per slot: the index finished there, -1 when none */
    int stop;                     /* a failure: claim nothing more */
    cr_status status;
    cr_ctx *failed;               /* the worker context holding the first failure */
    cr_work_fn work;
    void *arg;
} pool;

typedef struct worker {
    pool *p;
    int id;
    cr_ctx *ctx;
    pthread_t thread;
} worker;

static void *run_worker(void *data)
{
    worker *w = data;
    pool *p = w->p;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->next < p->count && p->next - p->emitted >= p->slots)
            pthread_cond_wait(&p->changed, &p->lock);
        if (p->stop || p->next >= p->count)
            break;
        int64_t index = p->next++;
        pthread_mutex_unlock(&p->lock);
        cr_status st = p->work(w->ctx, p->arg, index, w->id, (int)(index % p->slots));
        pthread_mutex_lock(&p->lock);
        p->finished[index % p->slots] = index;
        if (st != CR_OK && !p->stop) {
            p->stop = 1;
            p->status = st;
            p->failed = w->ctx;
        }
        pthread_cond_broadcast(&p->changed);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static cr_status run_serial(cr_ctx *ctx, int64_t count, int slots, cr_work_fn work, cr_emit_fn emit,
                            void *arg)
{
    cr_status st = CR_OK;
    for (int64_t i = 0; i < count && st == CR_OK; i++) {
        int slot = (int)(i % slots);
        st = work(ctx, arg, i, 0, slot);
        if (st == CR_OK && emit)
            st = emit(ctx, arg, i, slot);
    }
    return st;
}

/* Waits for the pool to change, at most CR_POLL_SECONDS when polling. 1 on a timeout. */
static int wait_changed(pool *p, int polling)
{
    if (!polling) {
        pthread_cond_wait(&p->changed, &p->lock);
        return 0;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    long ns = until.tv_nsec + (long)(CR_POLL_SECONDS * 1e9);
    until.tv_sec += ns / 1000000000L;
    until.tv_nsec = ns % 1000000000L;
    return pthread_cond_timedwait(&p->changed, &p->lock, &until) == ETIMEDOUT;
}

/* Emits the items in order as they finish; returns the first failure of emit or poll. */
static cr_status emit_in_order(cr_ctx *ctx, pool *p, cr_emit_fn emit, cr_poll_fn poll)
{
    cr_status st = CR_OK;
    pthread_mutex_lock(&p->lock);
    for (int64_t i = 0; i < p->count && !p->stop; i++) {
        int slot = (int)(i % p->slots);
        while (!p->stop && p->finished[slot] != i) {
            if (!wait_changed(p, poll != NULL))
                continue;
            pthread_mutex_unlock(&p->lock);
            st = poll(ctx, p->arg);
            pthread_mutex_lock(&p->lock);
            if (st != CR_OK) {
                p->stop = 1;
                pthread_cond_broadcast(&p->changed);
            }
        }
        if (p->stop)
            break;
        pthread_mutex_unlock(&p->lock);
        st = emit ? emit(ctx, p->arg, i, slot) : CR_OK;
        pthread_mutex_lock(&p->lock);
        p->finished[slot] = -1;
        p->emitted = i + 1;
        if (st != CR_OK)
            p->stop = 1;
        pthread_cond_broadcast(&p->changed);
    }
    pthread_mutex_unlock(&p->lock);
    return st;
}

cr_status cr_parallel_ordered(cr_ctx *ctx, int threads, int slots, int64_t count, cr_work_fn work,
                              cr_emit_fn emit, void *arg)
{
    return cr_parallel_ordered_poll(ctx, threads, slots, count, work, emit, NULL, arg);
}

cr_status cr_parallel_ordered_poll(cr_ctx *ctx, int threads, int slots, int64_t count,
                                   cr_work_fn work, cr_emit_fn emit, cr_poll_fn poll, void *arg)
{
    if (slots < 1)
        slots = 1;
    /* More workers than items or than slots would only wait. */
    if (threads > count)
        threads = (int)(count > 0 ? count : 1);
    if (threads > slots)
        threads = slots;
    if (threads <= 1)
        return run_serial(ctx, count, slots, work, emit, arg);
    pool p = {.count = count, .slots = slots, .work = work, .arg = arg, .status = CR_OK};
    worker *ws = calloc((size_t)threads, sizeof *ws);
    p.finished = malloc((size_t)slots * sizeof *p.finished);
    if (!ws || !p.finished) {
        free(ws);
        free(p.finished);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    for (int i = 0; i < slots; i++)
        p.finished[i] = -1;
    pthread_mutex_init(&p.lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* timed waits immune to clock changes */
    pthread_cond_init(&p.changed, &attr);
    pthread_condattr_destroy(&attr);
    int started = 0;
    cr_status st = CR_OK;
    for (; started < threads; started++) {
        worker *w = &ws[started];
        w->p = &p, w->id = started;
        if ((w->ctx = cr_ctx_new()) != NULL)
            cr_ctx_inherit(w->ctx, ctx); /* one thread; warnings reach the caller's sink */
        if (!w->ctx || pthread_create(&w->thread, NULL, run_worker, w) != 0) {
            cr_ctx_free(w->ctx);
            w->ctx = NULL;
            st = cr_ctx_fail(ctx, CR_E_IO, "cannot start worker thread %d", started + 1);
            pthread_mutex_lock(&p.lock);
            p.stop = 1;
            pthread_cond_broadcast(&p.changed);
            pthread_mutex_unlock(&p.lock);
            break;
        }
    }
    if (st == CR_OK)
        st = emit_in_order(ctx, &p, emit, poll);
    for (int i = 0; i < started; i++)
        pthread_join(ws[i].thread, NULL);
    if (st == CR_OK && p.failed)
        st = cr_ctx_fail(ctx, p.status, "%s", cr_ctx_error(p.failed));
    for (int i = 0; i < started; i++)
        cr_ctx_free(ws[i].ctx);
    pthread_cond_destroy(&p.changed);
    pthread_mutex_destroy(&p.lock);
    free(p.finished);
    free(ws);
    return st;
}
