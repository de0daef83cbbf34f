/* fuzz_text.c -- libFuzzer harness for the chat doors' text framing
 * (text_next, text_last: CRLF lines whose too-long pieces end on a UTF-8
 * character boundary), fed through inbuf_feed as the server feeds it.
 *
 * Input: one byte for max (1..128), then the stream.  Invariants:
 *  - the frames are the same whatever the split of the stream into reads
 *    (whole, and byte by byte);
 *  - no frame is longer than max;
 *  - a frame cut from a long line (no LF taken) of valid UTF-8 never ends
 *    inside a character, and is never more than 3 bytes short of max;
 *  - the payloads and the line ends account for every byte. */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "proto/frame.h"
#include "proto/utf8.h"
#include "server/inbuf.h"

struct run {
    char   out[1 << 16];        /* the payloads, one after another */
    size_t len, frames;
    size_t max;
};

static int
take(void *arg, const struct frame *f)
{
    struct run *r = arg;

    CHECK(f->len <= r->max);
    CHECK(r->len + f->len <= sizeof(r->out));
    memcpy(r->out + r->len, f->data, f->len);
    r->len += f->len;
    r->frames++;
    return 0;
}

static void
feed(const char *in, size_t n, size_t max, size_t chunk, struct run *r)
{
    struct inbuf ib = {0};
    const char *why = NULL;
    size_t off = 0, k;

    memset(r, 0, sizeof(*r));
    r->max = max;
    while (off < n) {
        k = n - off < chunk ? n - off : chunk;
        CHECK(inbuf_feed(&ib, &framing_text, max, in + off, k, 0, take, r,
                         &why) == INBUF_OK);
        CHECK(ib.len < max + framing_text.extra);
        off += k;
    }
    CHECK(inbuf_feed(&ib, &framing_text, max, in, 0, 1, take, r, &why) ==
          INBUF_OK);
    CHECK(ib.buf == NULL);
}

/* Cut pieces of valid UTF-8 end on a character boundary. */
static void
check_cuts(const char *in, size_t n, size_t max)
{
    size_t off = 0, used;
    struct frame f;

    while (off < n) {
        enum frame_status st = text_next(in + off, n - off, max, &f, &used);

        if (st == FRAME_NEED_MORE)
            st = text_last(in + off, n - off, max, &f, &used);
        CHECK(st == FRAME_OK && used > 0);
        if (used == f.len && off + used < n &&
            utf8_is_valid(in + off, n - off)) {
            CHECK((in[off + used] & 0xC0) != 0x80);
            CHECK(f.len + 3 >= max);
        }
        off += used;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run whole, bytewise;
    const char *in = (const char *)data + 1;
    size_t n, max, lf = 0, cr = 0, i;

    if (size < 1)
        return 0;
    max = 1 + (data[0] & 127);
    n = size - 1;
    feed(in, n, max, n ? n : 1, &whole);
    feed(in, n, max, 1, &bytewise);
    CHECK(whole.frames == bytewise.frames && whole.len == bytewise.len &&
          memcmp(whole.out, bytewise.out, whole.len) == 0);
    /* Every byte is a payload byte, an LF, or a CR dropped before one. */
    for (i = 0; i < n; i++) {
        lf += in[i] == '\n';
        cr += in[i] == '\r' && i + 1 < n && in[i + 1] == '\n';
    }
    CHECK(whole.len + lf >= n - cr && whole.len + lf <= n);
    if (max >= 4)
        check_cuts(in, n, max);
    return 0;
}
