/* fuzz_packet.c -- libFuzzer harness for packet_next and packet_header.
 *
 * Byte 0 of the input picks max from a table (0 to SIZE_MAX); the rest is
 * what a client sends.  Checked, beyond "no crash":
 *   - parsed as one buffer, each packet is what its header says: type as
 *     sent, payload right after the header, length at most max, *used =
 *     12 + length, and packet_header() writes back the same 12 bytes;
 *     parsing stops at a refused length or at an incomplete packet;
 *   - a refused length is refused with only its 12 header bytes present
 *     (and 11 are not enough to decide anything);
 *   - fed to inbuf_feed(), the server's own input assembly, one byte at a
 *     time and split in two at every point, it gives the same packets and
 *     ends the same way (a refusal frees the pending buffer; what is
 *     pending otherwise is exactly the unparsed rest, less than max + 12
 *     bytes, in a buffer never allocated larger), and byte by byte a lie is
 *     caught the moment its header is complete;
 *   - packet_next allocates nothing and never reads past its input: it is
 *     called through a copy of the framing table that counts allocations
 *     and poisons, for ASan, the unused tail of the read buffer and of the
 *     pending buffer while it runs;
 *   - inbuf_feed allocates only to keep a partial packet: a read that
 *     finds nothing pending and leaves nothing pending allocates nothing. */
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"
#include "server/inbuf.h"

#include "fuzz_util.h"

static const size_t maxes[] = {
    0, 1, 2, 5, 16, 64, 255, 4096, 65536, SIZE_MAX - 12, SIZE_MAX,
};

/* The packets of one parse, copied out, and how the parse ended. */
struct run {
    size_t  count;
    size_t  total;
    int    *type;       /* capacity n / 12 + 1 */
    size_t *len;
    char   *bytes;      /* capacity n */
    int     bad;        /* ended on a refused length */
    int     bad_type;
    size_t  end;        /* stream offset where the unparsed rest begins */
    size_t  bad_seen;   /* bytes fed when the refusal came (fed runs) */
};

/* Call packet_next with the allocation counter on (it may be on already:
 * inbuf_feed's own allocations are counted around the whole call). */
static enum frame_status
call(const char *buf, size_t len, size_t max, struct frame *f, size_t *used)
{
    size_t before = allocs;
    int was = counting;
    enum frame_status st;

    *used = (size_t)-1;
    counting = 1;
    st = packet_next(buf, len, max, f, used);
    counting = was;
    CHECK(allocs == before);
    return st;
}

static void
add(struct run *r, const struct frame *f, size_t n)
{
    CHECK(r->count < n / PACKET_HEADER_LEN + 1 && f->len <= n - r->total);
    r->type[r->count] = f->type;
    r->len[r->count] = f->len;
    r->count++;
    memcpy(r->bytes + r->total, f->data, f->len);
    r->total += f->len;
}

static int
same(const struct run *a, const struct run *b)
{
    return a->count == b->count && a->total == b->total &&
           memcmp(a->type, b->type, a->count * sizeof(a->type[0])) == 0 &&
           memcmp(a->len, b->len, a->count * sizeof(a->len[0])) == 0 &&
           memcmp(a->bytes, b->bytes, a->total) == 0 &&
           a->bad == b->bad && a->end == b->end &&
           (!a->bad || a->bad_type == b->bad_type);
}

/* The header at p, decoded independently of the parser. */
static void
decode(const char *p, int *type, uint64_t *len)
{
    memcpy(type, p, sizeof(*type));
    memcpy(len, p + sizeof(*type), sizeof(*len));
}

/* A refusal of the header at p stands with only the header there. */
static void
check_refused_early(const char *p, size_t max, int type)
{
    char *hdr = malloc(PACKET_HEADER_LEN);      /* exact size, for ASan */
    struct frame f;
    size_t used;

    CHECK(hdr != NULL);
    memcpy(hdr, p, PACKET_HEADER_LEN);
    CHECK(call(hdr, PACKET_HEADER_LEN - 1, max, &f, &used) ==
          FRAME_NEED_MORE && used == 0);
    CHECK(call(hdr, PACKET_HEADER_LEN, max, &f, &used) == FRAME_BAD);
    CHECK(used == 0 && f.type == type);
    free(hdr);
}

static void
parse_whole(const char *in, size_t n, size_t max, struct run *r)
{
    enum frame_status st;
    struct frame f;
    size_t off = 0, used;
    uint64_t len;
    char hdr[PACKET_HEADER_LEN];
    int type;

    while ((st = call(in + off, n - off, max, &f, &used)) == FRAME_OK) {
        decode(in + off, &type, &len);
        CHECK(f.type == type && f.len == len && f.why == NULL);
        CHECK(f.len <= max);
        CHECK(f.data == in + off + PACKET_HEADER_LEN);
        CHECK(used == PACKET_HEADER_LEN + f.len && used <= n - off);
        packet_header(hdr, f.type, f.len);
        CHECK(memcmp(hdr, in + off, PACKET_HEADER_LEN) == 0);
        add(r, &f, n);
        off += used;
    }
    CHECK(used == 0);
    r->end = off;
    if (st == FRAME_BAD) {
        decode(in + off, &type, &len);
        CHECK(n - off >= PACKET_HEADER_LEN);
        CHECK(len > max && f.type == type && f.why != NULL);
        CHECK(strcmp(f.why, "message too long") == 0);
        check_refused_early(in + off, max, type);
        r->bad = 1;
        r->bad_type = type;
        return;
    }
    CHECK(st == FRAME_NEED_MORE);
    if (n - off >= PACKET_HEADER_LEN) {
        decode(in + off, &type, &len);
        CHECK(len <= max && len > n - off - PACKET_HEADER_LEN);
    }
}

/* The framing inbuf_feed is given: framing_packet's parser and extra,
 * called through call(), with the unused tail of the pending buffer
 * poisoned while it runs (the read buffer is poisoned past the read).
 * It notes the type of a refused header, which inbuf_feed does not pass
 * on.  One feed runs at a time, so the table finds its state here. */
static const struct inbuf *pending;
static int                 refused_type;

static enum frame_status
fenced_next(const char *buf, size_t len, size_t max, struct frame *f,
            size_t *used)
{
    const struct inbuf *in = pending;
    enum frame_status st;

    CHECK(framing_packet.next == packet_next);
    if (in->buf != NULL)
        ASAN_POISON_MEMORY_REGION(in->buf + in->len, in->cap - in->len);
    st = call(buf, len, max, f, used);
    if (in->buf != NULL)
        ASAN_UNPOISON_MEMORY_REGION(in->buf, in->cap);
    if (st == FRAME_BAD)
        refused_type = f->type;
    return st;
}

/* What the frame callback checks and fills. */
struct fed {
    struct run         *r;
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

    CHECK(f->why == NULL && f->len <= fd->max);
    /* Straight from the read, or from the pending buffer. */
    CHECK((p >= fd->rbuf && f->len <= fd->k &&
           (size_t)(p - fd->rbuf) <= fd->k - f->len) ||
          (in->buf != NULL && p >= in->buf && f->len <= in->len &&
           (size_t)(p - in->buf) <= in->len - f->len));
    add(fd->r, f, fd->n);
    fd->r->end += PACKET_HEADER_LEN + f->len;
    return 0;
}

/* One read of k bytes, which lands in rbuf[0..k), fed to inbuf_feed.
 * Outside a read the whole of rbuf is poisoned, so reading past the k
 * bytes faults. */
static enum inbuf_result
feed(struct inbuf *ib, const struct framing *fr, struct fed *fd, char *rbuf,
     size_t cap, const char *data, size_t k, int eof)
{
    size_t before = allocs, limit;
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
    CHECK(res == INBUF_OK || res == INBUF_BAD);
    CHECK((res == INBUF_BAD) == (why != NULL));
    CHECK(why == NULL || strcmp(why, "message too long") == 0);
    CHECK(res == INBUF_OK || (ib->buf == NULL && ib->len == 0));
    limit = fd->max > SIZE_MAX - PACKET_HEADER_LEN ? SIZE_MAX :
            fd->max + PACKET_HEADER_LEN;
    CHECK(ib->len < limit && ib->cap <= limit);
    CHECK(ib->len > 0 || (ib->buf == NULL && ib->cap == 0));
    /* Whole packets are taken from the read; only a partial one is kept. */
    CHECK(!idle || ib->buf != NULL || allocs == before);
    return res;
}

/* Feed in[0..n) to inbuf_feed as the server does: the peer sends `split`
 * bytes, then the rest, each read takes at most `chunk` bytes into the
 * scratch buffer rbuf[n + 1]; the server stops at the first refusal, and
 * otherwise sees the end of input. */
static void
parse_fed(const char *in, size_t n, size_t max, size_t split, size_t chunk,
          char *rbuf, struct run *r)
{
    struct inbuf ib = {NULL, 0, 0, 0};
    struct framing fr = framing_packet;
    struct fed fd = {r, n, max, NULL, 0, &ib};
    enum inbuf_result res = INBUF_OK;
    size_t off = 0, k;

    pending = &ib;
    fr.next = fenced_next;
    CHECK(fr.last == NULL && fr.extra == PACKET_HEADER_LEN);
    r->count = r->total = r->end = 0;
    r->bad = 0;
    ASAN_POISON_MEMORY_REGION(rbuf, n + 1);
    while (off < n && res == INBUF_OK) {
        k = (off < split ? split : n) - off;
        if (k > chunk)
            k = chunk;
        res = feed(&ib, &fr, &fd, rbuf, n + 1, in + off, k, 0);
        off += k;
        /* What is pending is exactly what is not yet parsed. */
        CHECK(res != INBUF_OK || off - ib.len == r->end);
    }
    if (res == INBUF_BAD) {
        r->bad = 1;
        r->bad_type = refused_type;
        r->bad_seen = off;
    } else {
        /* No `last` for packets: a partial one stays, and is no frame. */
        k = r->count;
        CHECK(feed(&ib, &fr, &fd, rbuf, n + 1, in, 0, 1) == INBUF_OK);
        CHECK(r->count == k && off - ib.len == r->end);
    }
    inbuf_fini(&ib);
    ASAN_UNPOISON_MEMORY_REGION(rbuf, n + 1);
}

static void
run_init(struct run *r, size_t n)
{
    memset(r, 0, sizeof(*r));
    r->type = malloc((n / PACKET_HEADER_LEN + 1) * sizeof(int));
    r->len = malloc((n / PACKET_HEADER_LEN + 1) * sizeof(size_t));
    r->bytes = malloc(n + 1);
    CHECK(r->type && r->len && r->bytes);
}

static void
run_fini(struct run *r)
{
    free(r->type);
    free(r->len);
    free(r->bytes);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data + 1;
    struct run whole, fed;
    size_t n, max, k, step;
    char *rbuf;

    fuzz_hook_allocs();
    if (size < 1)
        return 0;
    max = maxes[data[0] % (sizeof(maxes) / sizeof(maxes[0]))];
    n = size - 1;
    run_init(&whole, n);
    run_init(&fed, n);
    rbuf = malloc(n + 1);
    CHECK(rbuf != NULL);

    parse_whole(in, n, max, &whole);
    parse_fed(in, n, max, n, 1, rbuf, &fed);                /* byte by byte */
    CHECK(same(&whole, &fed));
    /* Byte by byte, a lie is refused as soon as its header is complete. */
    CHECK(!whole.bad || fed.bad_seen == whole.end + PACKET_HEADER_LEN);
    /* Every split point of a small input; 32 of a larger one, to keep the
     * fuzzer fast (the frames are local, so small inputs cover them). */
    step = n <= 128 ? 1 : n / 32;
    for (k = 0; k <= n; k += step) {
        parse_fed(in, n, max, k, (size_t)-1, rbuf, &fed);
        CHECK(same(&whole, &fed));
    }

    run_fini(&whole);
    run_fini(&fed);
    free(rbuf);
    return 0;
}
