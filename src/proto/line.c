/* line.c -- LF and CRLF line framing. */
#include "proto/frame.h"

#include <string.h>

enum frame_status
line_next(const char *buf, size_t len, size_t max, struct frame *out,
          size_t *used)
{
    size_t scan = len < max + 1 ? len : max + 1;
    const char *nl = memchr(buf, '\n', scan);

    out->type = 0;
    out->why = NULL;
    out->data = buf;
    if (nl != NULL) {
        out->len = (size_t)(nl - buf);
        *used = out->len + 1;
        return FRAME_OK;
    }
    if (len > max) {            /* max + 1 bytes and no LF: cut a piece */
        out->len = max;
        *used = max;
        return FRAME_OK;
    }
    *used = 0;
    return FRAME_NEED_MORE;
}

enum frame_status
crlf_next(const char *buf, size_t len, size_t max, struct frame *out,
          size_t *used)
{
    enum frame_status st = line_next(buf, len, max, out, used);

    /* Strip the CR only when the LF was found right after it. */
    if (st == FRAME_OK && *used == out->len + 1 && out->len > 0 &&
        buf[out->len - 1] == '\r')
        out->len--;
    return st;
}

enum frame_status
line_last(const char *buf, size_t len, struct frame *out, size_t *used)
{
    out->type = 0;
    out->why = NULL;
    out->data = buf;
    out->len = len;
    *used = len;
    return len > 0 ? FRAME_OK : FRAME_NEED_MORE;
}
