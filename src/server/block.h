/* block.h -- shared, reference-counted blocks of messages, and the arena.
 *
 * A message is written once per wire format and shared: every queue that
 * will send it holds a reference to the block it sits in, so a broadcast
 * costs no copy per recipient.  The messages of a loop pass are written one
 * after another into the arena's current block, so a queue can send
 * everything a pass gave it as one piece of one writev.  Bytes below
 * b->len never change once written; only the space above it is filled. */
#ifndef CHATD_BLOCK_H
#define CHATD_BLOCK_H

#include <stddef.h>

struct block {
    unsigned refs;
    size_t   len;       /* bytes written so far */
    size_t   cap;       /* bytes of data[] */
    char     data[];    /* exactly the bytes that go on the wire */
};

/* A view of one message, or of several contiguous ones, in a block. */
struct slice {
    struct block *b;    /* borrowed */
    size_t        off, len;
};

/* Where messages are written: the current block, replaced when full. */
struct arena {
    struct block *cur;  /* one reference, or NULL */
};

/* An empty block of cap bytes (len 0, refs 1), owned by the caller. */
struct block *block_new(size_t cap);
/* One more reference; returns b. */
struct block *block_ref(struct block *b);
/* One reference less; frees b at 0. */
void block_unref(struct block *b);

/* Room for n bytes at the end of the arena's current block (a new block
 * when it is full: the old one lives on in the queues that hold slices of
 * it).  *s names the n bytes; its block is borrowed, so whoever keeps s
 * takes a reference.  Returns where to write the n bytes, at once: the
 * next call may start a new block. */
char *arena_reserve(struct arena *a, size_t n, struct slice *s);
/* Let the current block go if nobody else holds it, so that an idle
 * server holds none.  Called once per pass, after the queues are fed. */
void arena_trim(struct arena *a);
/* Drop the arena's reference. */
void arena_fini(struct arena *a);

#endif
