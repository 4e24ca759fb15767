/* pool.h: ordered parallel loops over tiles or chunks (internal).
 *
 * Work items run on worker threads, each with its own context (GDAL datasets and
 * error capture are per thread); their results are consumed on the calling thread
 * in index order, so that outputs are written sequentially and results do not
 * depend on the number of threads. */
#ifndef CITYRISK_POOL_H
#define CITYRISK_POOL_H

#include <stdint.h>

#include "cityrisk/context.h"

/* Computes item index on worker worker (0 .. threads-1) into buffer slot (0 ..
 * slots-1). ctx is the worker's own context. */
typedef cr_status (*cr_work_fn)(cr_ctx *ctx, void *arg, int64_t index, int worker, int slot);

/* Consumes item index from buffer slot, on the calling thread, with its context. */
typedef cr_status (*cr_emit_fn)(cr_ctx *ctx, void *arg, int64_t index, int slot);

/* Asked on the calling thread while it waits for work items (see
 * cr_parallel_ordered_poll): CR_OK to go on, anything else stops the loop. */
typedef cr_status (*cr_poll_fn)(cr_ctx *ctx, void *arg);

/* Runs work for indices 0 .. count-1 on up to threads workers (never more than slots)
 * and emit for each index in increasing order as soon as its work is done (emit may
 * be NULL). At most slots items are in flight, so buffers indexed by slot are
 * bounded; slot is index % slots. With one thread, work and emit alternate on the
 * calling thread.
 * Stops at the first failure and returns it, with its message in ctx. */
cr_status cr_parallel_ordered(cr_ctx *ctx, int threads, int slots, int64_t count, cr_work_fn work,
                              cr_emit_fn emit, void *arg);

/* cr_parallel_ordered(), and while the calling thread waits for an item it calls poll
 * every CR_POLL_SECONDS, so that a stop request (a signal, through the progress callback)
 * is seen while long items run: a status other than CR_OK stops the loop as a failure of
 * emit does, and is returned. The running work functions learn it through arg (poll sets a
 * flag they read). With one thread, work runs on the calling thread: it must look for a
 * stop request itself, through ctx, which is then the caller's. */
#define CR_POLL_SECONDS 0.05
cr_status cr_parallel_ordered_poll(cr_ctx *ctx, int threads, int slots, int64_t count,
                                   cr_work_fn work, cr_emit_fn emit, cr_poll_fn poll, void *arg);

#endif
