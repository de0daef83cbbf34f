/* msg.h -- a message: built once, shared by every queue that sends it.
 *
 * A broadcast costs one allocation and no copies: each recipient's queue
 * holds one reference.  A message is immutable once shared. */
#ifndef CHATD_MSG_H
#define CHATD_MSG_H

#include <stddef.h>

struct msg {
    unsigned refs;
    size_t   len;
    char     data[];    /* exactly the bytes that go on the wire */
};

/* A message of len bytes (data uninitialised), refs = 1, owned by the
 * caller. */
struct msg *msg_new(size_t len);
/* One more reference; returns m. */
struct msg *msg_ref(struct msg *m);
/* One reference less; frees m at 0. */
void msg_unref(struct msg *m);

#endif
