/* framing.c -- the framing tables: which parser cuts a listener's input.
 *
 * A listener's framing is chosen once, when it opens; the input assembly
 * (server/inbuf.c) only ever calls through the table, so no code on the
 * read path asks which framing is in use. */
#include "proto/frame.h"

#include "proto/utf8.h"

enum frame_status
raw_next(const char *buf, size_t len, size_t max, struct frame *out,
         size_t *used)
{
    (void)max;
    out->data = buf;
    out->len = len;
    out->type = 0;
    out->why = NULL;
    *used = len;
    return len > 0 ? FRAME_OK : FRAME_NEED_MORE;
}

const struct framing framing_raw = {"raw", raw_next, NULL, 0};
/* A pending LF line is at most max + 1 bytes (frame.h, line_next). */
const struct framing framing_line = {"line", line_next, line_last, 1};
/* A pending CRLF line may reach max + 2 bytes: max, the CR, the LF. */
const struct framing framing_crlf = {"crlf", crlf_next, line_last, 2};
/* A pending packet is its header and at most max bytes of payload. */
const struct framing framing_packet = {"packet", packet_next, NULL,
                                       PACKET_HEADER_LEN};

/* A piece cut from a line too long for one message (buf holds avail
 * bytes) ends on a character boundary: the bytes of a character it would
 * split start the next piece.  A cut piece is one whose *used is its
 * length: it took no LF. */
static void
cut_on_character(const char *buf, size_t avail, struct frame *out,
                 size_t *used)
{
    size_t n;

    if (*used != out->len || out->len == 0)
        return;
    out->type = FRAME_PIECE;
    if (avail <= out->len)
        return;
    n = utf8_cut(buf, avail, out->len);
    if (n > 0 && n < out->len) {
        out->len = n;
        *used = n;
    }
}

enum frame_status
text_next(const char *buf, size_t len, size_t max, struct frame *out,
          size_t *used)
{
    enum frame_status st = crlf_next(buf, len, max, out, used);

    if (st == FRAME_OK)
        cut_on_character(buf, len, out, used);
    return st;
}

enum frame_status
text_last(const char *buf, size_t len, size_t max, struct frame *out,
          size_t *used)
{
    enum frame_status st = line_last(buf, len, max, out, used);

    if (st == FRAME_OK)
        cut_on_character(buf, len, out, used);
    return st;
}

/* As CRLF lines, cut on UTF-8 character boundaries (the chat doors). */
const struct framing framing_text = {"text", text_next, text_last, 2};
