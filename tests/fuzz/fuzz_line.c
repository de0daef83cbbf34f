/* fuzz_line.c -- libFuzzer harness for line_next, crlf_next and line_last.
 *
 * Byte 0 of the input picks the mode (bit 0: CRLF) and max (1 + the other
 * seven bits, so 1..128); the rest is what a client sends.  Checked, beyond
 * "no crash":
 *   - parsed as one buffer, every frame is well-formed: the payload is
 *     where it should be, holds no LF and at most max bytes, and is either
 *     a line (its LF, or CRLF, follows) or a max-byte piece cut only when
 *     max + 1 bytes held no LF; what is left at the end is at most max
 *     bytes, handed over by line_last();
 *   - fed as the server feeds it -- reads landing in a pending buffer of
 *     max + 1 bytes, every complete frame taken after each read -- one byte
 *     at a time, and split in two at every point, it gives the same
 *     messages, and the pending buffer never needs more than max + 1 bytes;
 *   - the parsers allocate nothing and never read past their input (the
 *     unused tail of the pending buffer is poisoned for ASan). */
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"

#include "fuzz_util.h"

typedef enum frame_status next_fn(const char *buf, size_t len, size_t max,
                                  struct frame *out, size_t *used);

/* The messages of one parse, copied out (a frame points into the buffer). */
struct msgs {
    size_t  count;
    size_t  total;
    size_t *len;        /* capacity n: each message consumes >= 1 byte */
    char   *bytes;      /* capacity n */
};

static enum frame_status
call(next_fn *next, const char *buf, size_t len, size_t max,
     struct frame *f, size_t *used)
{
    enum frame_status st;

    *used = (size_t)-1;
    counting = 1;
    st = next(buf, len, max, f, used);
    counting = 0;
    CHECK(allocs == 0);
    return st;
}

static void
add(struct msgs *m, const struct frame *f, size_t cap)
{
    CHECK(m->count < cap && f->len <= cap - m->total);
    m->len[m->count++] = f->len;
    memcpy(m->bytes + m->total, f->data, f->len);
    m->total += f->len;
}

static int
same(const struct msgs *a, const struct msgs *b)
{
    return a->count == b->count && a->total == b->total &&
           memcmp(a->len, b->len, a->count * sizeof(a->len[0])) == 0 &&
           memcmp(a->bytes, b->bytes, a->total) == 0;
}

/* One frame found at p (rem bytes there) is what the contract says. */
static void
check_frame(int crlf, const char *p, size_t rem, size_t max,
            const struct frame *f, size_t used)
{
    CHECK(f->data == p && f->type == 0 && f->why == NULL);
    CHECK(f->len <= max);
    CHECK(used >= 1 && used <= rem);
    CHECK(memchr(p, '\n', f->len) == NULL);
    if (used == f->len) {                       /* a piece of a long line */
        CHECK(f->len == max && rem > max);
        CHECK(memchr(p, '\n', max + 1) == NULL);
    } else if (used == f->len + 1) {            /* a line and its LF */
        CHECK(p[f->len] == '\n');
        CHECK(!crlf || f->len == 0 || p[f->len - 1] != '\r');
    } else {                                    /* a line and its CRLF */
        CHECK(crlf && used == f->len + 2);
        CHECK(p[f->len] == '\r' && p[f->len + 1] == '\n');
    }
}

/* The whole input in one buffer, then line_last() on what is left. */
static void
parse_whole(int crlf, const char *in, size_t n, size_t max, struct msgs *m)
{
    next_fn *next = crlf ? crlf_next : line_next;
    enum frame_status st;
    struct frame f;
    size_t off = 0, used;

    while ((st = call(next, in + off, n - off, max, &f, &used)) == FRAME_OK) {
        check_frame(crlf, in + off, n - off, max, &f, used);
        add(m, &f, n);
        off += used;
    }
    CHECK(st == FRAME_NEED_MORE && used == 0);
    CHECK(n - off <= max + (size_t)crlf);
    CHECK(memchr(in + off, '\n', n - off) == NULL);
    while ((st = line_last(in + off, n - off, max, &f, &used)) == FRAME_OK) {
        CHECK(used >= 1 && used <= n - off && f.len == used && f.len <= max);
        CHECK(f.data == in + off);
        add(m, &f, n);
        off += used;
    }
    CHECK(off == n);
}

/* Feed in[0..n) as the server does.  The peer sends `split` bytes, then
 * the rest; each read takes at most `chunk` bytes, and at most what fits
 * in the pending buffer pend[max + 1]. */
static void
parse_fed(int crlf, const char *in, size_t n, size_t max, size_t split,
          size_t chunk, char *pend, struct msgs *m)
{
    next_fn *next = crlf ? crlf_next : line_next;
    size_t cap = max + 1 + (size_t)crlf;    /* frame.h: CRLF holds max + 2 */
    size_t plen = 0, off = 0, used, k;
    enum frame_status st;
    struct frame f;

    m->count = m->total = 0;
    while (off < n) {
        k = cap - plen;
        if (k > chunk)
            k = chunk;
        if (k > (off < split ? split : n) - off)
            k = (off < split ? split : n) - off;
        CHECK(k > 0);
        ASAN_UNPOISON_MEMORY_REGION(pend, cap);
        memcpy(pend + plen, in + off, k);
        plen += k;
        off += k;
        ASAN_POISON_MEMORY_REGION(pend + plen, cap - plen);
        while ((st = call(next, pend, plen, max, &f, &used)) == FRAME_OK) {
            CHECK(used >= 1 && used <= plen && f.len <= max);
            add(m, &f, n);
            ASAN_UNPOISON_MEMORY_REGION(pend, cap);
            memmove(pend, pend + used, plen - used);
            plen -= used;
            ASAN_POISON_MEMORY_REGION(pend + plen, cap - plen);
        }
        CHECK(st == FRAME_NEED_MORE && used == 0);
        CHECK(plen < cap);      /* so the next read has room */
    }
    off = 0;
    while (line_last(pend + off, plen - off, max, &f, &used) == FRAME_OK) {
        add(m, &f, n);
        off += used;
    }
    ASAN_UNPOISON_MEMORY_REGION(pend, cap);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct msgs whole, fed;
    const char *in = (const char *)data + 1;
    size_t n, max, k, step;
    char *pend;
    int crlf;

    fuzz_hook_allocs();
    if (size < 1)
        return 0;
    crlf = data[0] & 1;
    max = 1 + (data[0] >> 1);
    n = size - 1;
    whole.count = whole.total = fed.count = fed.total = 0;
    whole.len = malloc((n + 1) * sizeof(size_t));
    fed.len = malloc((n + 1) * sizeof(size_t));
    whole.bytes = malloc(n + 1);
    fed.bytes = malloc(n + 1);
    pend = malloc(max + 2);
    CHECK(whole.len && fed.len && whole.bytes && fed.bytes && pend);

    parse_whole(crlf, in, n, max, &whole);
    parse_fed(crlf, in, n, max, n, 1, pend, &fed);          /* byte by byte */
    CHECK(same(&whole, &fed));
    /* Every split point of a small input; 32 of a larger one, to keep the
     * fuzzer fast (the frames are local, so small inputs cover them). */
    step = n <= 128 ? 1 : n / 32;
    for (k = 0; k <= n; k += step) {
        parse_fed(crlf, in, n, max, k, (size_t)-1, pend, &fed);
        CHECK(same(&whole, &fed));
    }

    free(whole.len);
    free(fed.len);
    free(whole.bytes);
    free(fed.bytes);
    free(pend);
    return 0;
}
