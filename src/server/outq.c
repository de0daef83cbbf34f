/* outq.c -- the per-client ring of slices of shared buffers. */
#include "server/outq.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

#define MASK(q) ((q)->cap - 1)

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
        block_unref(q->ring[q->head].b);
        q->head = (q->head + 1) & MASK(q);
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

static struct outq_ent *
tail(const struct outq *q)
{
    return q->count ? &q->ring[(q->head + q->count - 1) & MASK(q)] : NULL;
}

size_t
outq_charge(const struct outq *q, const struct slice *s)
{
    const struct outq_ent *t = tail(q);
    size_t end;

    if (t == NULL)
        return s->len;
    end = t->off + t->len;
    if (t->b == s->b) {
        assert(s->off >= end);
        return s->off + s->len - end;           /* the gap, and s */
    }
    /* On to a newer buffer: the old one is complete now, and what is left
     * of it stays alive as long as our tail does. */
    return t->b->len - end + s->off + s->len;
}

static void
grow(struct outq *q)
{
    size_t ncap = q->cap * 2, i;
    struct outq_ent *n = xmalloc(ncap * sizeof(*n));

    for (i = 0; i < q->count; i++)
        n[i] = q->ring[(q->head + i) & MASK(q)];
    if (q->ring != q->inline_ring)
        free(q->ring);
    q->ring = n;
    q->cap = ncap;
    q->head = 0;
}

void
outq_push(struct outq *q, const struct slice *s)
{
    size_t charge = outq_charge(q, s);
    struct outq_ent *t = tail(q);

    q->bytes += s->len;
    q->charged += charge;
    if (t != NULL && t->b == s->b && t->off + t->len == s->off) {
        t->len += s->len;                       /* contiguous: one piece */
        t->charge += charge;
        return;
    }
    if (t != NULL && t->b != s->b) {
        /* The rest of the old buffer is kept alive by the tail's
         * reference: it is that entry's to pay, and to release. */
        size_t rest = t->b->len - (t->off + t->len);

        t->charge += rest;
        charge -= rest;
    }
    if (q->count == q->cap)
        grow(q);
    t = &q->ring[(q->head + q->count) & MASK(q)];
    t->b = block_ref(s->b);
    t->off = s->off;
    t->len = s->len;
    t->charge = charge;
    q->count++;
}

int
outq_iov(const struct outq *q, struct iovec *iov, int maxiov, size_t budget)
{
    size_t i, off = q->off;
    int n = 0;

    for (i = 0; i < q->count && n < maxiov && budget > 0; i++) {
        const struct outq_ent *e = &q->ring[(q->head + i) & MASK(q)];
        size_t len = e->len - off;

        if (len > budget)
            len = budget;
        iov[n].iov_base = (void *)(uintptr_t)(e->b->data + e->off + off);
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
        struct outq_ent *e = &q->ring[q->head];
        size_t left = e->len - q->off;

        if (n < left) {
            q->off += n;
            return;
        }
        n -= left;
        q->off = 0;
        q->charged -= e->charge;
        block_unref(e->b);
        q->head = (q->head + 1) & MASK(q);
        q->count--;
    }
    if (q->count == 0 && q->ring != q->inline_ring) {
        free(q->ring);          /* drained: give the memory back */
        q->ring = q->inline_ring;
        q->cap = OUTQ_INLINE;
        q->head = 0;
    }
}

void
outq_keep(struct outq *q, size_t n)
{
    size_t i, kept = 0, left = n + q->off;      /* counted from the head */

    assert(n <= q->bytes);
    if (n == 0) {
        outq_fini(q);
        return;
    }
    for (i = 0; i < q->count && left > 0; i++) {
        struct outq_ent *e = &q->ring[(q->head + i) & MASK(q)];

        if (left < e->len)
            e->len = left;
        left -= e->len;
        kept++;
    }
    while (q->count > kept) {
        struct outq_ent *t = tail(q);

        q->charged -= t->charge;
        block_unref(t->b);
        q->count--;
    }
    q->bytes = n;
}
