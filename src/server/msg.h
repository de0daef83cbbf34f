/* msg.h -- shared, reference-counted message buffers.
 *
 * A message is built once and shared: every queue that will send it holds a
 * reference, so a broadcast costs no copy per recipient.  The server writes
 * the messages of a loop pass one after another into one buffer (an
 * arena), so a client's queue can send everything a pass gave it as one
 * piece of one writev.  Bytes below m->len never change once written;
 * only the space above it is filled. */
#ifndef CHATD_MSG_H
#define CHATD_MSG_H

#include <stddef.h>

struct msg {
    unsigned refs;
    size_t   len;       /* bytes written so far */
    size_t   cap;       /* bytes of data[] */
    char     data[];    /* exactly the bytes that go on the wire */
};

/* A view of one message inside a buffer. */
struct slice {
    struct msg *m;      /* borrowed */
    size_t      off, len;
};

/* A buffer of cap bytes, len = cap (the caller fills data), refs = 1,
 * owned by the caller. */
struct msg *msg_new(size_t cap);
/* One more reference; returns m. */
struct msg *msg_ref(struct msg *m);
/* One reference less; frees m at 0. */
void msg_unref(struct msg *m);

#endif
