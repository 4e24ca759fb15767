/* test_pool.c: ordered parallel loops: emit sees every index in order with what work
 * left in its slot, for any number of threads and slots; failures of work and of emit
 * stop the loop and come back with their message.
 *
 * work runs on worker threads, where cmocka's asserts must not be used (they jump out
 * of the thread): the callbacks only count what they see, and the test asserts on the
 * counts once the loop has returned. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"
#include "core/pool.h"

/* The threads and slots every test runs with: each of 1, 2, 4 with each of 1, 2, 8. */
static const struct {
    int threads, slots;
} COMBOS[] = {{1, 1}, {1, 2}, {1, 8}, {2, 1}, {2, 2}, {2, 8}, {4, 1}, {4, 2}, {4, 8}};
enum { NCOMBOS = sizeof COMBOS / sizeof *COMBOS };

/* One loop and what its callbacks saw. */
typedef struct run {
    int threads, slots;
    int64_t count;
    int64_t fail_work_at, fail_emit_at; /* -1: never */
    int64_t *buf;                       /* buf_len > slots entries, indexed by slot */
    int buf_len;
    atomic_int *worked;                 /* per index: the calls of work */
    atomic_int bad_worker, slot_out_of_range, slot_not_index_mod_slots;
    int64_t emitted;                    /* calls of emit, which must be 0, 1, 2, ... */
    int out_of_order, bad_value;
} run;

/* What each test holds, freed by the teardown even when the test fails. */
typedef struct fixture {
    cr_ctx *ctx;
    run r;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || !(f->ctx = cr_ctx_new())) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    free(f->r.buf);
    free(f->r.worked);
    cr_ctx_free(f->ctx);
    free(f);
    return 0;
}

/* Sleeps 1-64 microseconds on one item in four, as an LCG step makes of the index,
 * so that items finish out of order, the same way on every run. */
static void nap(int64_t index)
{
    uint64_t x = (uint64_t)index * 6364136223846793005u + 1442695040888963407u;
    if ((x >> 40) % 4 != 0)
        return;
    struct timespec ts = {0, (long)((x >> 58) + 1) * 1000};
    nanosleep(&ts, NULL);
}

static cr_status work(cr_ctx *wctx, void *arg, int64_t index, int worker, int slot)
{
    run *r = arg;
    nap(index);
    if (worker < 0 || worker >= r->threads)
        atomic_fetch_add(&r->bad_worker, 1);
    if (slot < 0 || slot >= r->slots)
        atomic_fetch_add(&r->slot_out_of_range, 1);
    if (slot != index % r->slots)
        atomic_fetch_add(&r->slot_not_index_mod_slots, 1);
    if (index >= 0 && index < r->count)
        atomic_fetch_add(&r->worked[index], 1);
    if (index == r->fail_work_at)
        return cr_ctx_fail(wctx, CR_E_DATA, "boom %lld", (long long)index);
    if (slot >= 0 && slot < r->buf_len)
        r->buf[slot] = index * index;
    return CR_OK;
}

static cr_status emit(cr_ctx *ctx, void *arg, int64_t index, int slot)
{
    run *r = arg;
    if (index != r->emitted)
        r->out_of_order++;
    if (slot < 0 || slot >= r->buf_len || r->buf[slot] != index * index)
        r->bad_value++;
    r->emitted++;
    if (index == r->fail_emit_at)
        return cr_ctx_fail(ctx, CR_E_EXISTS, "emit stops at %lld", (long long)index);
    return CR_OK;
}

/* Runs COMBOS[c] over count items, work failing at fail_work_at and emit (NULL unless
 * with_emit) at fail_emit_at (-1: never), and returns the status; f->r holds what the
 * callbacks saw. */
static cr_status run_loop(fixture *f, size_t c, int64_t count, int with_emit,
                          int64_t fail_work_at, int64_t fail_emit_at)
{
    run *r = &f->r;
    free(r->buf);
    free(r->worked);
    memset(r, 0, sizeof *r);
    r->threads = COMBOS[c].threads, r->slots = COMBOS[c].slots, r->count = count;
    r->fail_work_at = fail_work_at, r->fail_emit_at = fail_emit_at;
    /* More than slots entries, so that a slot out of range shows in the counts
     * instead of overrunning the buffer. */
    r->buf_len = r->slots + r->threads;
    r->buf = calloc((size_t)r->buf_len, sizeof *r->buf);
    r->worked = calloc((size_t)count + 1, sizeof *r->worked);
    assert_non_null(r->buf);
    assert_non_null(r->worked);
    cr_ctx_clear_error(f->ctx);
    return cr_parallel_ordered(f->ctx, r->threads, r->slots, count, work,
                               with_emit ? emit : NULL, r);
}

/* The number of indices below count for which work did not run exactly once. */
static int64_t not_worked_once(const run *r, int64_t count)
{
    int64_t n = 0;
    for (int64_t i = 0; i < count; i++)
        n += atomic_load(&r->worked[i]) != 1;
    return n;
}

static void emit_sees_every_index_in_order_with_its_value(void **state)
{
    fixture *f = *state;
    const run *r = &f->r;
    static const int64_t counts[] = {0, 1, 7, 1000};
    for (size_t c = 0; c < NCOMBOS; c++)
        for (size_t n = 0; n < 4; n++) {
            cr_status st = run_loop(f, c, counts[n], 1, -1, -1);
            if (st != CR_OK || r->emitted != counts[n] || r->out_of_order || r->bad_value ||
                r->bad_worker || not_worked_once(r, counts[n]))
                fail_msg("threads %d, slots %d, count %lld: status %d (%s), %lld emitted, "
                         "%d out of order, %d wrong values, %d bad worker ids, %lld indices "
                         "not worked once",
                         COMBOS[c].threads, COMBOS[c].slots, (long long)counts[n], st,
                         cr_ctx_error(f->ctx), (long long)r->emitted, r->out_of_order,
                         r->bad_value, atomic_load(&r->bad_worker),
                         (long long)not_worked_once(r, counts[n]));
        }
}

static void without_emit_every_index_is_worked_once(void **state)
{
    fixture *f = *state;
    for (size_t c = 0; c < NCOMBOS; c++) {
        assert_int_equal(run_loop(f, c, 100, 0, -1, -1), CR_OK);
        assert_int_equal(f->r.emitted, 0);
        assert_int_equal(not_worked_once(&f->r, 100), 0);
        assert_int_equal(atomic_load(&f->r.bad_worker), 0);
    }
}

/* Runs 40 items on every combination, failing in work (in_work) or in emit at each of
 * a few indices k, and expects status with the message "<prefix> k". */
static void expect_failure(fixture *f, int in_work, cr_status status, const char *prefix)
{
    static const int64_t fail_at[] = {0, 3, 39};
    const run *r = &f->r;
    for (size_t c = 0; c < NCOMBOS; c++)
        for (size_t k = 0; k < 3; k++) {
            cr_status st = run_loop(f, c, 40, 1, in_work ? fail_at[k] : -1,
                                    in_work ? -1 : fail_at[k]);
            char want[64];
            snprintf(want, sizeof want, "%s %lld", prefix, (long long)fail_at[k]);
            /* A work failure at k: emit may have seen some of the indices before k, in
             * order, but neither k nor any after it. An emit failure at k: emit saw
             * 0 .. k and then nothing more. */
            int emitted_ok = in_work ? r->emitted <= fail_at[k] : r->emitted == fail_at[k] + 1;
            if (st != status || strcmp(cr_ctx_error(f->ctx), want) != 0 || !emitted_ok ||
                r->out_of_order || r->bad_value)
                fail_msg("threads %d, slots %d, %s failing at %lld: status %d, message '%s', "
                         "%lld emitted, %d out of order, %d wrong values",
                         COMBOS[c].threads, COMBOS[c].slots, in_work ? "work" : "emit",
                         (long long)fail_at[k], st, cr_ctx_error(f->ctx),
                         (long long)r->emitted, r->out_of_order, r->bad_value);
        }
}

static void a_work_failure_stops_before_its_index(void **state)
{
    expect_failure(*state, 1, CR_E_DATA, "boom");
}

static void an_emit_failure_stops_the_loop_and_is_returned(void **state)
{
    expect_failure(*state, 0, CR_E_EXISTS, "emit stops at");
}

/* Runs 7 items on every combination and fails naming the first one where work got a
 * slot >= slots or, with modulo, a slot other than index % slots. */
static void expect_no_slot_problem(fixture *f, int modulo)
{
    const char *problem = modulo ? "other than index % slots" : ">= slots";
    for (size_t c = 0; c < NCOMBOS; c++) {
        assert_int_equal(run_loop(f, c, 7, 1, -1, -1), CR_OK);
        int n = atomic_load(modulo ? &f->r.slot_not_index_mod_slots : &f->r.slot_out_of_range);
        if (n)
            fail_msg("threads %d, slots %d: %d of 7 items got a slot %s", COMBOS[c].threads,
                     COMBOS[c].slots, n, problem);
    }
}

/* Slots stay below the number given, whatever the number of threads: buffers are
 * sized by slots. */
static void slots_stay_below_the_number_given(void **state)
{
    expect_no_slot_problem(*state, 0);
}

/* The slot is index % slots, with one thread too. */
static void slot_is_the_index_modulo_slots(void **state)
{
    expect_no_slot_problem(*state, 1);
}

/* A loop whose items run until told to stop: poll, on the calling thread, is asked while
 * it waits and stops the loop; the items see its flag. */
typedef struct long_items {
    atomic_int stop, started, polls;
    int poll_until; /* the poll that says stop */
} long_items;

static cr_status spin_until_stopped(cr_ctx *ctx, void *arg, int64_t index, int worker, int slot)
{
    (void)index, (void)worker, (void)slot;
    long_items *l = arg;
    atomic_fetch_add(&l->started, 1);
    while (!atomic_load(&l->stop)) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    return cr_ctx_fail(ctx, CR_E_CANCELLED, "item stopped");
}

static cr_status poll_a_few_times(cr_ctx *ctx, void *arg)
{
    long_items *l = arg;
    if (atomic_fetch_add(&l->polls, 1) + 1 < l->poll_until)
        return CR_OK;
    atomic_store(&l->stop, 1);
    return cr_ctx_fail(ctx, CR_E_CANCELLED, "asked to stop");
}

static void poll_stops_long_items(void **state)
{
    fixture *f = *state;
    for (int threads = 2; threads <= 4; threads += 2) {
        long_items l = {.poll_until = 3};
        atomic_init(&l.stop, 0);
        atomic_init(&l.started, 0);
        atomic_init(&l.polls, 0);
        cr_status st = cr_parallel_ordered_poll(f->ctx, threads, 2 * threads, 100,
                                                spin_until_stopped, NULL, poll_a_few_times, &l);
        assert_int_equal(st, CR_E_CANCELLED);
        assert_string_equal(cr_ctx_error(f->ctx), "asked to stop");
        assert_int_equal(atomic_load(&l.polls), 3);
        /* Only the items that had started: none claimed after the stop. */
        assert_true(atomic_load(&l.started) >= 1 && atomic_load(&l.started) <= threads);
    }
    /* Without poll, nothing is asked: a loop of quick items runs to its end. */
    long_items l = {.poll_until = 1};
    atomic_init(&l.stop, 1);
    atomic_init(&l.polls, 0);
    assert_int_equal(cr_parallel_ordered(f->ctx, 2, 4, 10, spin_until_stopped, NULL, &l),
                     CR_E_CANCELLED); /* the items fail on their own: work's failure */
    assert_int_equal(atomic_load(&l.polls), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(emit_sees_every_index_in_order_with_its_value, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(without_emit_every_index_is_worked_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_work_failure_stops_before_its_index, setup, teardown),
        cmocka_unit_test_setup_teardown(an_emit_failure_stops_the_loop_and_is_returned, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(slots_stay_below_the_number_given, setup, teardown),
        cmocka_unit_test_setup_teardown(slot_is_the_index_modulo_slots, setup, teardown),
        cmocka_unit_test_setup_teardown(poll_stops_long_items, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
