/* block.c -- reference-counted blocks and the arena that fills them. */
#include "server/block.h"

#include <assert.h>
#include <stdlib.h>

#include "util/xmalloc.h"

#define ARENA_BLOCK (64 * 1024)     /* one block per pass, or so */

struct block *
block_new(size_t cap)
{
    struct block *b = xmalloc(sizeof(*b) + cap);

    b->refs = 1;
    b->len = 0;
    b->cap = cap;
    return b;
}

struct block *
block_ref(struct block *b)
{
    b->refs++;
    return b;
}

void
block_unref(struct block *b)
{
    assert(b->refs > 0);
    if (--b->refs == 0)
        free(b);
}

char *
arena_reserve(struct arena *a, size_t n, struct slice *s)
{
    struct block *b = a->cur;

    if (b == NULL || b->cap - b->len < n) {
        if (b != NULL)
            block_unref(b);
        b = block_new(n > ARENA_BLOCK ? n : ARENA_BLOCK);
        a->cur = b;
    }
    s->b = b;
    s->off = b->len;
    s->len = n;
    b->len += n;
    return b->data + s->off;
}

void
arena_trim(struct arena *a)
{
    if (a->cur != NULL && a->cur->refs == 1) {
        block_unref(a->cur);
        a->cur = NULL;
    }
}

void
arena_fini(struct arena *a)
{
    if (a->cur != NULL)
        block_unref(a->cur);
    a->cur = NULL;
}
