/* order.c: checking and ordering the stages: unique names, one writer per file, every
 * input made or present, no cycle. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_hash_set.h>
#include <cpl_string.h>
#include <json-c/json.h>

#include "cityrisk/command.h"
#include "cityrisk/json.h"
#include "cityrisk/number.h"
#include "cityrisk/pipeline.h"
#include "cityrisk/qml.h"
#include "core/internal.h"
#include "core/output.h"
#include "pipeline/internal.h"

/* ---- checking and ordering: sorting and searching, so that 100 000 stages take a
 * second, not hours ---- */

/* A stage's name and its index, sorted by name then index. */
typedef struct named {
    const char *name;
    int index;
} named;

static int by_name(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int by_index(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Stage names are unique; the first repeated one (in the file's order) is named. */
cr_status cr_pl_check_names(loader *L)
{
    cr_pipeline *p = L->p;
    int n = p->nstages, worst = -1;
    named *idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
    if (!idx)
        return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    for (int i = 0; i < n; i++)
        idx[i] = (named){p->stage[i].name, i};
    qsort(idx, (size_t)n, sizeof *idx, by_name);
    for (int i = 1; i < n; i++)
        if (strcmp(idx[i].name, idx[i - 1].name) == 0 && (worst < 0 || idx[i].index < worst))
            worst = idx[i].index;
    free(idx);
    if (worst >= 0)
        return cr_ctx_fail(L->ctx, CR_E_DATA, "pipeline '%s': two stages are named '%s'; give one a \"name\"",
                           L->path, p->stage[worst].name);
    return CR_OK;
}

/* No two stages write one file, and none writes the pipeline or its state file (claimed
 * first, by no stage): the later would replace what the earlier made, and both would
 * seem up to date. The conflict met first in the file's order is named. Sorts the
 * claims. */
cr_status cr_pl_check_claims(loader *L)
{
    qsort(L->claims, L->nclaims, sizeof *L->claims, cr_pl_claim_order);
    const claim *first = NULL, *second = NULL;
    for (size_t i = 1; i < L->nclaims; i++) {
        const claim *a = &L->claims[i - 1], *b = &L->claims[i];
        if (strcmp(a->key, b->key) == 0 && (!second || b->seq < second->seq)) {
            first = a;
            second = b;
        }
    }
    if (!second)
        return CR_OK;
    if (second->stage < 0) { /* the state file is claimed after the stages */
        const claim *t = first;
        first = second;
        second = t;
    }
    const char *name = L->p->stage[second->stage].name;
    if (first->stage < 0)
        return cr_ctx_fail(L->ctx, CR_E_DATA, "pipeline '%s': stage %s would write %s", L->path, name, first->what);
    if (first->stage == second->stage)
        return cr_ctx_fail(L->ctx, CR_E_DATA, "pipeline '%s': stage %s writes one file twice: %s and %s", L->path,
                           name, first->what, second->what);
    return cr_ctx_fail(L->ctx, CR_E_DATA,
                       "pipeline '%s': stages %s and %s write one file: %s and %s; give each stage "
                       "outputs of its own",
                       L->path, L->p->stage[first->stage].name, name, first->what, second->what);
}

/* A min-heap of stage indices: of the stages ready to run, the first in the file. */
static void heap_push(int *heap, int *n, int v)
{
    int i = (*n)++;
    while (i > 0 && heap[(i - 1) / 2] > v) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = v;
}

static int heap_pop(int *heap, int *n)
{
    int top = heap[0], v = heap[--(*n)], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && heap[c + 1] < heap[c])
            c++;
        if (heap[c] >= v)
            break;
        heap[i] = heap[c];
        i = c;
    }
    if (*n > 0)
        heap[i] = v;
    return top;
}

/* Orders the stages so that each comes after those whose outputs it reads, and otherwise
 * as early as the file puts it (of the stages ready, the first in the file runs first),
 * fills deps (rising), and checks that every input exists or is made by a stage; fails
 * naming a stage that reads its own output, directly or through a cycle. The claims are
 * sorted (cr_pl_check_claims). */
cr_status cr_pl_order_stages(loader *L)
{
    cr_ctx *ctx = L->ctx;
    cr_pipeline *p = L->p;
    size_t n = (size_t)p->nstages, n1 = n ? n : 1;
    int *ndeps = calloc(n1, sizeof *ndeps), *start = calloc(n1 + 1, sizeof *start);
    int *indeg = calloc(n1, sizeof *indeg), *next = calloc(n1 + 1, sizeof *next);
    int *heap = malloc(n1 * sizeof *heap), *order = malloc(n1 * sizeof *order);
    int *pos = malloc(n1 * sizeof *pos);
    int **deps = calloc(n1, sizeof *deps), *succ = NULL;
    cr_status st = CR_OK;
    if (!ndeps || !start || !indeg || !next || !heap || !order || !pos || !deps) {
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        goto done;
    }
    /* the stages each reads from, and whether what it reads exists */
    for (size_t i = 0; st == CR_OK && i < n; i++) {
        cr_stage *s = &p->stage[i];
        int nin = CSLCount(s->inputs);
        deps[i] = malloc((size_t)(nin ? nin : 1) * sizeof **deps);
        if (!deps[i]) {
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
            break;
        }
        for (int k = 0; k < nin; k++) {
            char *key = cr_pl_path_key(L, s->inputs[k]);
            const claim *c = key ? cr_pl_find_claim(L, key) : NULL;
            CPLFree(key);
            if (!key) {
                st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
                break;
            }
            if (c && c->stage == (int)i) {
                st = cr_ctx_fail(ctx, CR_E_DATA,
                                 "pipeline '%s': stage %s reads '%s', which it writes itself: a cycle", L->path,
                                 s->name, s->inputs[k]);
                break;
            }
            if (c && c->stage >= 0)
                deps[i][ndeps[i]++] = c->stage;
        }
        qsort(deps[i], (size_t)ndeps[i], sizeof **deps, by_index);
        int u = 0;
        for (int k = 0; k < ndeps[i]; k++)
            if (u == 0 || deps[i][u - 1] != deps[i][k])
                deps[i][u++] = deps[i][k];
        ndeps[i] = u;
        indeg[i] = u;
    }
    if (st != CR_OK)
        goto done;
    /* who waits for whom, as one array per stage (counting sort) */
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < ndeps[i]; k++)
            start[deps[i][k] + 1]++;
    for (size_t i = 0; i < n; i++)
        start[i + 1] += start[i];
    succ = malloc((size_t)(start[n] ? start[n] : 1) * sizeof *succ);
    if (!succ) {
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        goto done;
    }
    memcpy(next, start, (n + 1) * sizeof *next);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < ndeps[i]; k++)
            succ[next[deps[i][k]]++] = (int)i;
    int nheap = 0, done = 0;
    for (size_t i = 0; i < n; i++)
        if (indeg[i] == 0)
            heap_push(heap, &nheap, (int)i);
    while (nheap > 0) {
        int i = heap_pop(heap, &nheap);
        pos[i] = done;
        order[done++] = i;
        for (int e = start[i]; e < start[i + 1]; e++)
            if (--indeg[succ[e]] == 0)
                heap_push(heap, &nheap, succ[e]);
    }
    if ((size_t)done < n) {
        /* from the first stage left, n steps back through stages left reach a cycle */
        int i = 0;
        while (indeg[i] == 0)
            i++;
        for (size_t step = 0; step < n; step++) {
            int k = 0;
            while (indeg[deps[i][k]] == 0) /* one of them is left: that is why i is */
                k++;
            i = deps[i][k];
        }
        char *cycle = CPLStrdup(p->stage[i].name);
        for (int j = i, len = 1;;) {
            int k = 0;
            while (indeg[deps[j][k]] == 0)
                k++;
            j = deps[j][k];
            if (j == i || ++len > 6) {
                char *longer = cr_pl_format("%s, %s", cycle, j == i ? p->stage[j].name : "...");
                CPLFree(cycle);
                cycle = longer;
                break;
            }
            char *longer = cr_pl_format("%s, %s", cycle, p->stage[j].name);
            CPLFree(cycle);
            cycle = longer;
        }
        st = cr_ctx_fail(ctx, CR_E_DATA,
                         "pipeline '%s': stage %s depends on its own output through a cycle of stages, "
                         "each reading the next one's output: %s",
                         L->path, p->stage[i].name, cycle);
        CPLFree(cycle);
        goto done;
    }
    /* every input exists or is made, in the file's order */
    for (size_t i = 0; st == CR_OK && i < n; i++)
        for (char **in = p->stage[i].inputs; in && *in; in++) {
            struct stat sb;
            if (strncmp(*in, "/vsi", 4) == 0 || stat(*in, &sb) == 0)
                continue;
            char *key = cr_pl_path_key(L, *in);
            const claim *c = key ? cr_pl_find_claim(L, key) : NULL;
            CPLFree(key);
            if (!c || c->stage < 0) {
                st = cr_ctx_fail(ctx, CR_E_DATA,
                                 "pipeline '%s': stage %s: input '%s' does not exist and no stage makes it",
                                 L->path, p->stage[i].name, *in);
                break;
            }
        }
    if (st != CR_OK)
        goto done;
    cr_stage *sorted = malloc(n1 * sizeof *sorted);
    if (!sorted) {
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < n; k++) {
        int i = order[k];
        sorted[k] = p->stage[i];
        for (int d = 0; d < ndeps[i]; d++)
            deps[i][d] = pos[deps[i][d]];
        qsort(deps[i], (size_t)ndeps[i], sizeof **deps, by_index);
        free(sorted[k].deps);
        sorted[k].deps = deps[i];
        sorted[k].ndeps = ndeps[i];
        deps[i] = NULL;
    }
    free(p->stage);
    p->stage = sorted;
    L->cap = (int)n;
done:
    for (size_t i = 0; deps && i < n; i++)
        free(deps[i]);
    free(deps);
    free(ndeps);
    free(start);
    free(indeg);
    free(next);
    free(heap);
    free(order);
    free(pos);
    free(succ);
    return st;
}

