/* inbuf.h -- input assembly: bytes as they are read, frames as they end.
 *
 * Complete frames are taken straight from the bytes just read; only a
 * trailing partial frame is copied, into a buffer the connection holds
 * until that frame completes, so an idle connection holds none.  The
 * pending buffer never holds more than one frame's worth (max plus the
 * framing's extra), so a client can never make the server hold more.
 * No I/O and no globals: the server, the unit tests and the fuzzers all
 * call inbuf_feed(), so the tests exercise the code the server runs. */
#ifndef CHATD_INBUF_H
#define CHATD_INBUF_H

#include <stddef.h>

#include "proto/frame.h"

struct inbuf {
    char  *buf;         /* the pending partial frame, owned, or NULL */
    size_t len, cap;
};

/* Called for each complete frame (f points into data or into the pending
 * buffer: copy what must outlive the call).  Returns 0 to go on, or -1 to
 * stop reading this input (the connection is closing). */
typedef int inbuf_frame_fn(void *arg, const struct frame *f);

enum inbuf_result {
    INBUF_OK,           /* every complete frame delivered */
    INBUF_STOPPED,      /* fn returned -1 */
    INBUF_BAD,          /* the framing refused a frame: *why says why */
};

/* Feed n bytes just read (eof: the peer has closed, so a partial frame
 * left at the end is delivered through the framing's `last`).  Calls fn
 * for every frame completed, in order.  On INBUF_STOPPED or INBUF_BAD the
 * rest of the input is dropped and the pending buffer freed. */
enum inbuf_result inbuf_feed(struct inbuf *in, const struct framing *fr,
                             size_t max, const char *data, size_t n,
                             int eof, inbuf_frame_fn *fn, void *arg,
                             const char **why);

/* Free the pending buffer. */
void inbuf_fini(struct inbuf *in);

#endif
