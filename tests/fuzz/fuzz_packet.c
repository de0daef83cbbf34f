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
 *   - fed as the server feeds it -- reads appended to a pending buffer,
 *     every complete packet taken after each read -- one byte at a time
 *     and split in two at every point, it gives the same packets and ends
 *     the same way, and byte by byte a lie is caught the moment its header
 *     is complete;
 *   - packet_next allocates nothing and never reads past its input (the
 *     unused tail of the pending buffer is poisoned for ASan). */
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"

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

static enum frame_status
call(const char *buf, size_t len, size_t max, struct frame *f, size_t *used)
{
    enum frame_status st;

    *used = (size_t)-1;
    counting = 1;
    st = packet_next(buf, len, max, f, used);
    counting = 0;
    CHECK(allocs == 0);
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

/* Feed in[0..n) as the server does: the peer sends `split` bytes, then
 * the rest, each read takes at most `chunk` bytes; the server stops at the
 * first refusal. */
static void
parse_fed(const char *in, size_t n, size_t max, size_t split, size_t chunk,
          char *pend, struct run *r)
{
    size_t plen = 0, off = 0, used, k;
    enum frame_status st = FRAME_NEED_MORE;
    struct frame f;

    r->count = r->total = 0;
    r->bad = 0;
    while (off < n) {
        k = (off < split ? split : n) - off;
        if (k > chunk)
            k = chunk;
        ASAN_UNPOISON_MEMORY_REGION(pend, n);
        memcpy(pend + plen, in + off, k);
        plen += k;
        off += k;
        ASAN_POISON_MEMORY_REGION(pend + plen, n - plen);
        while ((st = call(pend, plen, max, &f, &used)) == FRAME_OK) {
            CHECK(used == PACKET_HEADER_LEN + f.len && used <= plen);
            add(r, &f, n);
            ASAN_UNPOISON_MEMORY_REGION(pend, n);
            memmove(pend, pend + used, plen - used);
            plen -= used;
            ASAN_POISON_MEMORY_REGION(pend + plen, n - plen);
        }
        if (st == FRAME_BAD) {
            r->bad = 1;
            r->bad_type = f.type;
            r->bad_seen = off;
            break;
        }
    }
    ASAN_UNPOISON_MEMORY_REGION(pend, n);
    r->end = off - plen;
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
    char *pend;

    fuzz_hook_allocs();
    if (size < 1)
        return 0;
    max = maxes[data[0] % (sizeof(maxes) / sizeof(maxes[0]))];
    n = size - 1;
    run_init(&whole, n);
    run_init(&fed, n);
    pend = malloc(n + 1);
    CHECK(pend != NULL);

    parse_whole(in, n, max, &whole);
    parse_fed(in, n, max, n, 1, pend, &fed);                /* byte by byte */
    CHECK(same(&whole, &fed));
    /* Byte by byte, a lie is refused as soon as its header is complete. */
    CHECK(!whole.bad || fed.bad_seen == whole.end + PACKET_HEADER_LEN);
    /* Every split point of a small input; 32 of a larger one, to keep the
     * fuzzer fast (the frames are local, so small inputs cover them). */
    step = n <= 128 ? 1 : n / 32;
    for (k = 0; k <= n; k += step) {
        parse_fed(in, n, max, k, (size_t)-1, pend, &fed);
        CHECK(same(&whole, &fed));
    }

    run_fini(&whole);
    run_fini(&fed);
    free(pend);
    return 0;
}
