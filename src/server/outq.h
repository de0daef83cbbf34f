/* outq.h -- one client's queue of messages to write.
 *
 * A ring of message references with a byte offset into the head.  The
 * first few slots live inside the struct, so a client that keeps up never
 * allocates; a longer queue grows on the heap and shrinks back to the inline
 * slots once it drains.  bytes counts what is still to be written, which is
 * what the queue limit bounds: the payloads are shared, but a slow reader
 * pins them all the same. */
#ifndef CHATD_OUTQ_H
#define CHATD_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "server/msg.h"

#define OUTQ_INLINE 4

struct outq {
    struct msg **ring;          /* inline or heap (owned if != inline) */
    struct msg  *inline_ring[OUTQ_INLINE];
    size_t       cap;           /* slots in ring, a power of two */
    size_t       head;          /* index of the first message */
    size_t       count;         /* messages queued */
    size_t       off;           /* bytes of the head already written */
    size_t       bytes;         /* bytes still to write */
};

void outq_init(struct outq *q);
/* Drop every queued reference and any heap ring. */
void outq_fini(struct outq *q);
/* Append m (len > 0), taking over the caller's reference. */
void outq_push(struct outq *q, struct msg *m);
bool outq_is_empty(const struct outq *q);
/* Fill iov with up to maxiov pieces, at most budget bytes in all, from the
 * head on.  Returns the number of pieces. */
int outq_iov(const struct outq *q, struct iovec *iov, int maxiov,
             size_t budget);
/* n bytes were written: advance, unreferencing every message fully sent. */
void outq_consume(struct outq *q, size_t n);

#endif
