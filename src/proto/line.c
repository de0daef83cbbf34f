/* line.c -- LF and CRLF line framing. */
#include "proto/frame.h"

#include <string.h>

enum frame_status
line_next(const char *buf, size_t len, size_t max, struct frame *out,
          size_t *used)
{
    size_t scan = len <= max ? len : max + 1;
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
    /* A payload of max bytes plus CRLF is max + 2 bytes: look that far
     * before cutting, so such a line stays one message. */
    size_t scan = len <= max || len - max <= 2 ? len : max + 2;
    const char *nl = memchr(buf, '\n', scan);

    out->type = 0;
    out->why = NULL;
    out->data = buf;
    if (nl != NULL) {
        size_t i = (size_t)(nl - buf);
        size_t plen = i > 0 && buf[i - 1] == '\r' ? i - 1 : i;

        if (plen <= max) {
            out->len = plen;
            *used = i + 1;
            return FRAME_OK;
        }
    } else if (len <= max || len - max <= 1) {
        *used = 0;
        return FRAME_NEED_MORE;
    }
    out->len = max;             /* too long for one message: cut a piece */
    *used = max;
    return FRAME_OK;
}

enum frame_status
line_last(const char *buf, size_t len, size_t max, struct frame *out,
          size_t *used)
{
    if (len > max)
        len = max;
    out->type = 0;
    out->why = NULL;
    out->data = buf;
    out->len = len;
    *used = len;
    return len > 0 ? FRAME_OK : FRAME_NEED_MORE;
}
