/* outq.h -- one client's queue of slices to write.
 *
 * A ring of entries, each a slice of a shared buffer holding one reference
 * to it, plus a byte offset into the head.  A slice that continues the
 * tail's slice in the same buffer extends the tail instead of adding an
 * entry, so all the messages a loop pass gave a client leave as one piece
 * of one writev.  The first slots live inside the struct, so a client that
 * keeps up never allocates; a longer ring grows on the heap and shrinks
 * back once it drains.
 *
 * Two counts: bytes is what is still to be written; charged is what the
 * queue keeps alive, which is what the queue limit bounds.  A slice is
 * charged for itself and for the bytes between it and the previous slice
 * of the same buffer, and moving on to a newer buffer charges the rest of
 * the old one: whatever the mix of messages, the buffers a queue pins are
 * paid for by its charge, bar the part of one buffer before its first
 * slice. */
#ifndef CHATD_OUTQ_H
#define CHATD_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "server/block.h"

#define OUTQ_INLINE 2

struct outq_ent {
    struct block *b;            /* one reference */
    size_t      off, len;       /* the slice of b->data */
    size_t      charge;         /* what this entry adds to charged */
};

struct outq {
    struct outq_ent *ring;      /* inline or heap (owned if != inline) */
    struct outq_ent  inline_ring[OUTQ_INLINE];
    size_t           cap;       /* slots in ring, a power of two */
    size_t           head;      /* index of the first entry */
    size_t           count;     /* entries queued */
    size_t           off;       /* bytes of the head already written */
    size_t           bytes;     /* bytes still to write */
    size_t           charged;   /* bytes this queue keeps alive */
};

/* An empty queue on its inline slots. */
void outq_init(struct outq *q);
/* Drop every queued reference and any heap ring; q is empty afterwards. */
void outq_fini(struct outq *q);
/* True when nothing is left to write. */
bool outq_is_empty(const struct outq *q);
/* What pushing s (len > 0, not before the tail's slice in the same
 * buffer, in a buffer no older than the tail's) would add to charged. */
size_t outq_charge(const struct outq *q, const struct slice *s);
/* Append s, taking a reference to s->b unless it extends the tail. */
void outq_push(struct outq *q, const struct slice *s);
/* Fill iov with up to maxiov pieces, at most budget bytes in all, from the
 * head on.  Returns the number of pieces. */
int outq_iov(const struct outq *q, struct iovec *iov, int maxiov,
             size_t budget);
/* n bytes were written: advance, unreferencing every entry fully sent. */
void outq_consume(struct outq *q, size_t n);
/* Keep only the first n bytes still to write (n <= bytes) and drop the
 * rest with their references: a client being closed gets no more than
 * that before its last words.  Charges of what is kept stay as they
 * were, so charged comes back to 0 as the rest is written. */
void outq_keep(struct outq *q, size_t n);

#endif
