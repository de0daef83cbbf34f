/* inbuf.h -- input assembly: bytes as they are read, frames as they end.
 *
 * Complete frames are taken straight from the bytes just read; only a
 * trailing partial frame is copied, into a buffer the connection holds
 * until that frame completes, so an idle connection holds none.  The
 * pending buffer never holds more than one frame's worth (max plus the
 * framing's extra), so a client can never make the server hold more.
 * No I/O and no globals: the server, the unit tests and the fuzzers all
 * call inbuf_feed(), so the tests exercise the code the server runs.
 *
 * A caller that cannot take a frame yet (flood control) holds it: that
 * frame and every byte after it stay in the buffer, in order, until
 * inbuf_resume().  Held bytes may exceed one frame, up to what the read
 * that brought them held, so a caller that holds stops reading until
 * inbuf_resume() no longer says INBUF_HELD. */
#ifndef CHATD_INBUF_H
#define CHATD_INBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/frame.h"

struct inbuf {
    char  *buf;         /* the pending partial frame, owned, or NULL */
    size_t len, cap;
    int    held;        /* buf starts with a frame fn held (INBUF_KEEP) */
};

#define INBUF_KEEP 1    /* fn: not taken; keep it and what follows */

/* Called for each complete frame (f points into data or into the pending
 * buffer: copy what must outlive the call).  Returns 0 to go on, -1 to
 * stop reading this input (the connection is closing), or INBUF_KEEP to
 * leave this frame untaken and hold it, and the rest, for inbuf_resume(). */
typedef int inbuf_frame_fn(void *arg, const struct frame *f);

enum inbuf_result {
    INBUF_OK,           /* every complete frame delivered */
    INBUF_STOPPED,      /* fn returned -1 */
    INBUF_BAD,          /* the framing refused a frame: *why says why */
    INBUF_HELD,         /* fn returned INBUF_KEEP: the rest is kept */
};

/* Feed n bytes just read (eof: the peer has closed, so a partial frame
 * left at the end is delivered through the framing's `last`).  Calls fn
 * for every frame completed, in order.  On INBUF_STOPPED or INBUF_BAD the
 * rest of the input is dropped and the pending buffer freed; on
 * INBUF_HELD it is kept.  Must not be called while frames are held. */
enum inbuf_result inbuf_feed(struct inbuf *in, const struct framing *fr,
                             size_t max, const char *data, size_t n,
                             int eof, inbuf_frame_fn *fn, void *arg,
                             const char **why);

/* Deliver the held frames, in order, as inbuf_feed() does, until fn holds
 * one again (INBUF_HELD) or only a partial frame is left (INBUF_OK; the
 * buffer is then back to one frame's size).  A partial frame left is not
 * delivered: at end of input, feed again with eof for that.  With nothing
 * held, returns INBUF_OK and calls nothing. */
enum inbuf_result inbuf_resume(struct inbuf *in, const struct framing *fr,
                               size_t max, inbuf_frame_fn *fn, void *arg,
                               const char **why);

/* True while frames are held for inbuf_resume(). */
bool inbuf_is_held(const struct inbuf *in);

/* Free the pending buffer. */
void inbuf_fini(struct inbuf *in);

#endif
