/* inbuf.c -- framing the bytes a connection sends, copying only the tail. */
#include "server/inbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

#define INBUF_MIN 256           /* the first pending buffer; then doubled */

/* Deliver every complete frame of buf[0..len); returns the bytes used.
 * *res says why it stopped early (INBUF_OK: it needs more bytes). */
static size_t
parse(const struct framing *fr, size_t max, const char *buf, size_t len,
      int eof, inbuf_frame_fn *fn, void *arg, enum inbuf_result *res,
      const char **why)
{
    size_t done = 0, used;
    struct frame f;

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
        done += used;
        if (fn(arg, &f) != 0) {
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

enum inbuf_result
inbuf_feed(struct inbuf *in, const struct framing *fr, size_t max,
           const char *data, size_t n, int eof, inbuf_frame_fn *fn,
           void *arg, const char **why)
{
    /* Saturated: max + extra wrapping around would make a limit of a few
     * bytes that no frame fits, and the loop below would spin. */
    size_t cap = max > SIZE_MAX - fr->extra ? SIZE_MAX : max + fr->extra;
    size_t used, take;
    enum inbuf_result res = INBUF_OK;

    if (in->len == 0) {
        used = parse(fr, max, data, n, eof, fn, arg, &res, why);
        data += used;
        n -= used;
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

void
inbuf_fini(struct inbuf *in)
{
    free(in->buf);
    in->buf = NULL;
    in->len = 0;
    in->cap = 0;
}
