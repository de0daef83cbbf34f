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
 *   - fed to inbuf_feed(), the server's own input assembly, one byte at a
 *     time and split in two at every point, then end of input, it gives
 *     the same messages; after every read the pending buffer holds less
 *     than max + extra bytes (frame.h: max + 1, max + 2 for CRLF), was
 *     never allocated larger, and is freed when nothing is pending;
 *   - the parsers allocate nothing and never read past their input: they
 *     are called through a copy of the framing table that counts
 *     allocations and poisons, for ASan, the unused tail of the read
 *     buffer and of the pending buffer while a parser runs;
 *   - inbuf_feed allocates only to keep a partial line: a read that finds
 *     nothing pending and leaves nothing pending allocates nothing. */
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"
#include "server/inbuf.h"

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

/* Call a parser with the allocation counter on (it may be on already:
 * inbuf_feed's own allocations are counted around the whole call). */
static enum frame_status
call(next_fn *next, const char *buf, size_t len, size_t max,
     struct frame *f, size_t *used)
{
    size_t before = allocs;
    int was = counting;
    enum frame_status st;

    *used = (size_t)-1;
    counting = 1;
    st = next(buf, len, max, f, used);
    counting = was;
    CHECK(allocs == before);
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

/* The framing inbuf_feed is given: the real table's parsers and extra,
 * called through call(), with the unused tail of the pending buffer
 * poisoned while they run (the read buffer is poisoned past the read).
 * One feed runs at a time, so the table finds its state here. */
static const struct framing *real;     /* framing_line or framing_crlf */
static const struct inbuf   *pending;

static enum frame_status
fenced(next_fn *fn, const char *buf, size_t len, size_t max,
       struct frame *f, size_t *used)
{
    const struct inbuf *in = pending;
    enum frame_status st;

    if (in->buf != NULL)
        ASAN_POISON_MEMORY_REGION(in->buf + in->len, in->cap - in->len);
    st = call(fn, buf, len, max, f, used);
    if (in->buf != NULL)
        ASAN_UNPOISON_MEMORY_REGION(in->buf, in->cap);
    return st;
}

static enum frame_status
fenced_next(const char *buf, size_t len, size_t max, struct frame *f,
            size_t *used)
{
    return fenced(real->next, buf, len, max, f, used);
}

static enum frame_status
fenced_last(const char *buf, size_t len, size_t max, struct frame *f,
            size_t *used)
{
    return fenced(real->last, buf, len, max, f, used);
}

/* What the frame callback checks and fills. */
struct fed {
    struct msgs        *m;
    size_t              n, max;
    const char         *rbuf;       /* the read being fed */
    size_t              k;
    const struct inbuf *in;
};

static int
on_frame(void *arg, const struct frame *f)
{
    struct fed *fd = arg;
    const struct inbuf *in = fd->in;
    const char *p = f->data;

    CHECK(f->type == 0 && f->why == NULL && f->len <= fd->max);
    /* Straight from the read, or from the pending buffer. */
    CHECK((p >= fd->rbuf && f->len <= fd->k &&
           (size_t)(p - fd->rbuf) <= fd->k - f->len) ||
          (in->buf != NULL && p >= in->buf && f->len <= in->len &&
           (size_t)(p - in->buf) <= in->len - f->len));
    add(fd->m, f, fd->n);
    return 0;
}

/* One read of k bytes, which lands in rbuf[0..k), fed to inbuf_feed.
 * Outside a read the whole of rbuf is poisoned, so reading past the k
 * bytes faults. */
static void
feed(struct inbuf *ib, const struct framing *fr, struct fed *fd, char *rbuf,
     size_t cap, const char *data, size_t k, int eof)
{
    size_t before = allocs;
    int idle = ib->buf == NULL;
    const char *why = NULL;
    enum inbuf_result res;

    CHECK(k <= cap);
    ASAN_UNPOISON_MEMORY_REGION(rbuf, k);
    memcpy(rbuf, data, k);
    fd->rbuf = rbuf;
    fd->k = k;
    counting = 1;
    res = inbuf_feed(ib, fr, fd->max, rbuf, k, eof, on_frame, fd, &why);
    counting = 0;
    ASAN_POISON_MEMORY_REGION(rbuf, k);
    CHECK(res == INBUF_OK && why == NULL);
    CHECK(ib->len < fd->max + fr->extra && ib->cap <= fd->max + fr->extra);
    CHECK(ib->len > 0 || (ib->buf == NULL && ib->cap == 0));
    /* Whole lines are taken from the read; only a partial one is kept. */
    CHECK(!idle || ib->buf != NULL || allocs == before);
}

/* Feed in[0..n) to inbuf_feed as the server does: the peer sends `split`
 * bytes, then the rest; each read takes at most `chunk` bytes into the
 * scratch buffer rbuf[n + 1]; then end of input. */
static void
parse_fed(int crlf, const char *in, size_t n, size_t max, size_t split,
          size_t chunk, char *rbuf, struct msgs *m)
{
    struct inbuf ib = {NULL, 0, 0, 0};
    struct framing fr;
    struct fed fd = {m, n, max, NULL, 0, &ib};
    size_t off = 0, k;

    real = crlf ? &framing_crlf : &framing_line;
    pending = &ib;
    fr = *real;
    fr.next = fenced_next;
    fr.last = real->last != NULL ? fenced_last : NULL;
    m->count = m->total = 0;
    ASAN_POISON_MEMORY_REGION(rbuf, n + 1);
    while (off < n) {
        k = (off < split ? split : n) - off;
        if (k > chunk)
            k = chunk;
        feed(&ib, &fr, &fd, rbuf, n + 1, in + off, k, 0);
        off += k;
    }
    feed(&ib, &fr, &fd, rbuf, n + 1, in + off, 0, 1);
    CHECK(ib.buf == NULL);      /* line_last() took the rest */
    ASAN_UNPOISON_MEMORY_REGION(rbuf, n + 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct msgs whole, fed;
    const char *in = (const char *)data + 1;
    size_t n, max, k, step;
    char *rbuf;
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
    rbuf = malloc(n + 1);
    CHECK(whole.len && fed.len && whole.bytes && fed.bytes && rbuf);

    parse_whole(crlf, in, n, max, &whole);
    parse_fed(crlf, in, n, max, n, 1, rbuf, &fed);          /* byte by byte */
    CHECK(same(&whole, &fed));
    /* Every split point of a small input; 32 of a larger one, to keep the
     * fuzzer fast (the frames are local, so small inputs cover them). */
    step = n <= 128 ? 1 : n / 32;
    for (k = 0; k <= n; k += step) {
        parse_fed(crlf, in, n, max, k, (size_t)-1, rbuf, &fed);
        CHECK(same(&whole, &fed));
    }

    free(whole.len);
    free(fed.len);
    free(whole.bytes);
    free(fed.bytes);
    free(rbuf);
    return 0;
}
