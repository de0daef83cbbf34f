/* outq.c -- the per-client ring of shared messages. */
#include "server/outq.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

void
outq_init(struct outq *q)
{
    memset(q, 0, sizeof(*q));
    q->ring = q->inline_ring;
    q->cap = OUTQ_INLINE;
}

void
outq_fini(struct outq *q)
{
    while (q->count > 0) {
        msg_unref(q->ring[q->head]);
        q->head = (q->head + 1) & (q->cap - 1);
        q->count--;
    }
    if (q->ring != q->inline_ring)
        free(q->ring);
    outq_init(q);
}

bool
outq_is_empty(const struct outq *q)
{
    return q->count == 0;
}

static void
grow(struct outq *q)
{
    size_t ncap = q->cap * 2, i;
    struct msg **n = xmalloc(ncap * sizeof(*n));

    for (i = 0; i < q->count; i++)
        n[i] = q->ring[(q->head + i) & (q->cap - 1)];
    if (q->ring != q->inline_ring)
        free(q->ring);
    q->ring = n;
    q->cap = ncap;
    q->head = 0;
}

void
outq_push(struct outq *q, struct msg *m)
{
    if (q->count == q->cap)
        grow(q);
    q->ring[(q->head + q->count) & (q->cap - 1)] = m;
    q->count++;
    q->bytes += m->len;
}

int
outq_iov(const struct outq *q, struct iovec *iov, int maxiov, size_t budget)
{
    size_t i, off = q->off;
    int n = 0;

    for (i = 0; i < q->count && n < maxiov && budget > 0; i++) {
        const struct msg *m = q->ring[(q->head + i) & (q->cap - 1)];
        size_t len = m->len - off;

        if (len > budget)
            len = budget;
        iov[n].iov_base = (void *)(uintptr_t)(m->data + off);
        iov[n].iov_len = len;
        budget -= len;
        n++;
        off = 0;
    }
    return n;
}

void
outq_consume(struct outq *q, size_t n)
{
    assert(n <= q->bytes);
    q->bytes -= n;
    while (n > 0) {
        struct msg *m = q->ring[q->head];
        size_t left = m->len - q->off;

        if (n < left) {
            q->off += n;
            return;
        }
        n -= left;
        q->off = 0;
        q->head = (q->head + 1) & (q->cap - 1);
        q->count--;
        msg_unref(m);
    }
    if (q->count == 0 && q->ring != q->inline_ring) {
        free(q->ring);          /* drained: give the memory back */
        q->ring = q->inline_ring;
        q->cap = OUTQ_INLINE;
        q->head = 0;
    }
}
