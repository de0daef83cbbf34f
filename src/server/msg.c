/* msg.c -- reference-counted message buffers. */
#include "server/msg.h"

#include <assert.h>
#include <stdlib.h>

#include "util/xmalloc.h"

struct msg *
msg_new(size_t cap)
{
    struct msg *m = xmalloc(sizeof(*m) + cap);

    m->refs = 1;
    m->len = cap;
    m->cap = cap;
    return m;
}

struct msg *
msg_ref(struct msg *m)
{
    m->refs++;
    return m;
}

void
msg_unref(struct msg *m)
{
    assert(m->refs > 0);
    if (--m->refs == 0)
        free(m);
}
