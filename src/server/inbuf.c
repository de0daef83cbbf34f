/* inbuf.c -- framing the bytes a connection sends, copying only the tail. */
#include "server/inbuf.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

#define INBUF_MIN 256           /* the first pending buffer; then doubled */

/* Deliver every complete frame of buf[0..len); returns the bytes used
 * (on INBUF_HELD, those before the frame held).  *res says why it stopped
 * early (INBUF_OK: it needs more bytes). */
static size_t
parse(const struct framing *fr, size_t max, const char *buf, size_t len,
      int eof, inbuf_frame_fn *fn, void *arg, enum inbuf_result *res,
      const char **why)
{
    size_t done = 0, used;
    struct frame f;
    int r;

    *res = INBUF_OK;
    while (done < len) {
        enum frame_status st = fr->next(buf + done, len - done, max, &f,
                                        &used);

        if (st == FRAME_NEED_MORE && eof && fr->last != NULL)
            st = fr->last(buf + done, len - done, max, &f, &used);
        if (st == FRAME_NEED_MORE)
            break;
        if (st == FRAME_BAD) {
            *why = f.why;
            *res = INBUF_BAD;
            return len;
        }
        r = fn(arg, &f);
        if (r == INBUF_KEEP) {
            *res = INBUF_HELD;
            return done;
        }
        done += used;
        if (r != 0) {
            *res = INBUF_STOPPED;
            return len;
        }
    }
    return done;
}

/* Make the pending buffer hold at least need bytes (need <= cap). */
static void
reserve(struct inbuf *in, size_t need, size_t cap)
{
    size_t n = in->cap ? in->cap : INBUF_MIN;

    if (need <= in->cap)
        return;
    while (n < need)
        n *= 2;
    if (n > cap)
        n = cap;
    in->buf = xrealloc(in->buf, n);
    in->cap = n;
}

/* The pending buffer's bound: one frame, max plus the framing's extra.
 * Saturated: wrapping around would make a limit of a few bytes that no
 * frame fits, and inbuf_feed would spin. */
static size_t
frame_cap(const struct framing *fr, size_t max)
{
    return max > SIZE_MAX - fr->extra ? SIZE_MAX : max + fr->extra;
}

/* Hold in->buf[from..len), then b[0..blen) after it, whatever their size:
 * a frame was held, and everything after it waits its turn. */
static void
hold(struct inbuf *in, size_t from, const char *b, size_t blen)
{
    if (from > 0)
        memmove(in->buf, in->buf + from, in->len - from);
    in->len -= from;
    if (blen > 0) {
        reserve(in, in->len + blen, SIZE_MAX);
        memcpy(in->buf + in->len, b, blen);
        in->len += blen;
    }
    in->held = 1;
}

enum inbuf_result
inbuf_feed(struct inbuf *in, const struct framing *fr, size_t max,
           const char *data, size_t n, int eof, inbuf_frame_fn *fn,
           void *arg, const char **why)
{
    size_t cap = frame_cap(fr, max);
    size_t used, take;
    enum inbuf_result res = INBUF_OK;

    assert(!in->held);
    if (in->len == 0) {
        used = parse(fr, max, data, n, eof, fn, arg, &res, why);
        data += used;
        n -= used;
        if (res == INBUF_HELD) {
            hold(in, 0, data, n);
            return res;
        }
    }
    /* Pending bytes are always less than one frame, so each round either
     * completes a frame or takes all that is left of data. */
    while (res == INBUF_OK && (n > 0 || (eof && in->len > 0))) {
        take = cap - in->len < n ? cap - in->len : n;
        reserve(in, in->len + take, cap);
        memcpy(in->buf + in->len, data, take);
        in->len += take;
        data += take;
        n -= take;
        used = parse(fr, max, in->buf, in->len, eof && n == 0, fn, arg,
                     &res, why);
        if (res == INBUF_HELD) {
            hold(in, used, data, n);
            return res;
        }
        if (res != INBUF_OK)
            break;
        memmove(in->buf, in->buf + used, in->len - used);
        in->len -= used;
        if (used == 0 && n == 0)
            break;
    }
    if (in->len == 0 || res != INBUF_OK)
        inbuf_fini(in);         /* idle connections hold no input buffer */
    return res;
}

enum inbuf_result
inbuf_resume(struct inbuf *in, const struct framing *fr, size_t max,
             inbuf_frame_fn *fn, void *arg, const char **why)
{
    size_t cap = frame_cap(fr, max);
    enum inbuf_result res;
    size_t used;

    if (!in->held)
        return INBUF_OK;
    in->held = 0;
    used = parse(fr, max, in->buf, in->len, 0, fn, arg, &res, why);
    if (res == INBUF_HELD) {
        hold(in, used, NULL, 0);
        return res;
    }
    if (res != INBUF_OK || used == in->len) {
        inbuf_fini(in);
        return res;
    }
    /* A partial frame is left, less than one frame: give back what
     * holding took beyond that. */
    memmove(in->buf, in->buf + used, in->len - used);
    in->len -= used;
    if (in->cap > cap) {
        in->buf = xrealloc(in->buf, cap);
        in->cap = cap;
    }
    return INBUF_OK;
}

bool
inbuf_is_held(const struct inbuf *in)
{
    return in->held != 0;
}

void
inbuf_fini(struct inbuf *in)
{
    free(in->buf);
    in->buf = NULL;
    in->len = 0;
    in->cap = 0;
    in->held = 0;
}
