/* test_inbuf.c -- the server's input assembly (src/server/inbuf.c) with
 * each framing table (src/proto/framing.c).
 *
 * inbuf_feed() is what the server calls with every read, so these tests
 * feed it as a peer might send: everything at once, split in two at every
 * point, in reads of every size, byte by byte.  However the bytes arrive,
 * the frames must be the same as parsing the whole input with the
 * framing's own parsers, and after every call the pending buffer must hold
 * less than one frame (max + the framing's extra) and be freed when it
 * holds nothing.  Every read sits against a guard page (guard.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "proto/frame.h"
#include "server/inbuf.h"

/* A string literal and its length, NUL bytes included. */
#define S(s) s, sizeof(s) - 1

/* The frames of one run, copied out (a frame points into a buffer that
 * moves on). */
struct frames {
    size_t count;
    int    type[512];
    size_t len[512];
    size_t off[512];    /* where frame i starts in bytes[] */
    size_t total;
    char   bytes[16384];
};

/* What the callback knows: where the frames may point, when to stop. */
struct feed {
    struct inbuf         in;
    const struct framing *fr;
    size_t               max;
    const char           *data;     /* the read being fed */
    size_t               n;
    size_t               stop_at;   /* return -1 on this frame (1-based) */
    struct frames        *out;
};

static void
frames_add(struct frames *m, const struct frame *f)
{
    assert_true(m->count < sizeof(m->len) / sizeof(m->len[0]));
    assert_true(f->len <= sizeof(m->bytes) - m->total);
    m->type[m->count] = f->type;
    m->len[m->count] = f->len;
    m->off[m->count] = m->total;
    if (f->len > 0)
        memcpy(m->bytes + m->total, f->data, f->len);
    m->total += f->len;
    m->count++;
}

static void
frames_assert_equal(const struct frames *a, const struct frames *b)
{
    size_t i;

    assert_int_equal(a->count, b->count);
    for (i = 0; i < a->count; i++) {
        assert_int_equal(a->type[i], b->type[i]);
        assert_int_equal(a->len[i], b->len[i]);
        assert_memory_equal(a->bytes + a->off[i], b->bytes + b->off[i],
                            a->len[i]);
    }
}

/* Frame i of m is type and the len bytes s. */
static void
frame_is(const struct frames *m, size_t i, int type, const char *s,
         size_t len)
{
    assert_true(i < m->count);
    assert_int_equal(m->type[i], type);
    assert_int_equal(m->len[i], len);
    assert_memory_equal(m->bytes + m->off[i], s, len);
}

static bool
inside(const char *p, size_t len, const char *buf, size_t buflen)
{
    return buf != NULL && p >= buf && len <= buflen &&
           (size_t)(p - buf) <= buflen - len;
}

/* The pending buffer holds less than a frame, and nothing when empty. */
static void
check_bounds(const struct feed *fd)
{
    size_t cap = fd->max + fd->fr->extra;

    assert_true(fd->in.len <= cap);
    assert_true(fd->in.cap <= cap);
    assert_true(fd->in.len <= fd->in.cap);
    if (fd->in.len == 0) {
        assert_null(fd->in.buf);
        assert_int_equal(fd->in.cap, 0);
    }
}

static int
collect(void *arg, const struct frame *f)
{
    struct feed *fd = arg;

    assert_true(f->len <= fd->max || fd->fr == &framing_raw);
    assert_null(f->why);
    /* Straight from the read, or from the pending buffer: nowhere else. */
    if (f->len > 0)
        assert_true(inside(f->data, f->len, fd->data, fd->n) ||
                    inside(f->data, f->len, fd->in.buf, fd->in.len));
    assert_true(fd->in.cap <= fd->max + fd->fr->extra);
    frames_add(fd->out, f);
    return fd->out->count == fd->stop_at ? -1 : 0;
}

static void
feed_init(struct feed *fd, const struct framing *fr, size_t max,
          struct frames *out)
{
    memset(fd, 0, sizeof(*fd));
    memset(out, 0, sizeof(*out));
    fd->fr = fr;
    fd->max = max;
    fd->out = out;
}

/* One read of in[0..n), against the guard page. */
static enum inbuf_result
feed(struct feed *fd, const char *in, size_t n, int eof)
{
    const char *why = NULL;
    enum inbuf_result res;

    fd->data = t_guarded(in, n);
    fd->n = n;
    res = inbuf_feed(&fd->in, fd->fr, fd->max, fd->data, n, eof, collect,
                     fd, &why);
    assert_int_equal(res == INBUF_BAD, why != NULL);
    check_bounds(fd);
    if (res != INBUF_OK) {
        assert_null(fd->in.buf);
        assert_int_equal(fd->in.len, 0);
    }
    return res;
}

/* The frames of in[0..n) by the framing's own parsers, in one buffer;
 * then `last` on what is left.  Returns how the parse ended. */
static enum frame_status
parse_direct(const struct framing *fr, const char *in, size_t n, size_t max,
             struct frames *m)
{
    const char *g = t_guarded(in, n);
    enum frame_status st;
    struct frame f;
    size_t off = 0, used;

    memset(m, 0, sizeof(*m));
    while ((st = fr->next(g + off, n - off, max, &f, &used)) == FRAME_OK) {
        frames_add(m, &f);
        off += used;
    }
    if (st == FRAME_BAD || fr->last == NULL)
        return st;
    while (fr->last(g + off, n - off, max, &f, &used) == FRAME_OK) {
        frames_add(m, &f);
        off += used;
    }
    return FRAME_NEED_MORE;
}

/* Feed in[0..n) in reads of at most chunk bytes, the first ending at
 * split; then end of input, alone or (eof_with_data) with the last read. */
static enum inbuf_result
feed_all(const struct framing *fr, const char *in, size_t n, size_t max,
         size_t split, size_t chunk, bool eof_with_data, struct frames *m)
{
    struct feed fd;
    enum inbuf_result res = INBUF_OK;
    size_t off = 0, k;

    feed_init(&fd, fr, max, m);
    while (off < n && res == INBUF_OK) {
        k = (off < split ? split : n) - off;
        if (k > chunk)
            k = chunk;
        res = feed(&fd, in + off, k, eof_with_data && off + k == n);
        off += k;
    }
    if (res == INBUF_OK && (!eof_with_data || n == 0))
        res = feed(&fd, "", 0, 1);
    inbuf_fini(&fd.in);
    return res;
}

/* Every way of feeding in[0..n) gives the frames parsing it whole does. */
static void
check_any_split(const struct framing *fr, const char *in, size_t n,
                size_t max)
{
    static struct frames whole, fed;
    size_t k;

    parse_direct(fr, in, n, max, &whole);
    assert_int_equal(feed_all(fr, in, n, max, n, n, false, &fed), INBUF_OK);
    frames_assert_equal(&whole, &fed);
    assert_int_equal(feed_all(fr, in, n, max, n, n, true, &fed), INBUF_OK);
    frames_assert_equal(&whole, &fed);
    for (k = 0; k <= n; k++) {
        assert_int_equal(feed_all(fr, in, n, max, k, SIZE_MAX, false, &fed),
                         INBUF_OK);
        frames_assert_equal(&whole, &fed);
        assert_int_equal(feed_all(fr, in, n, max, k, SIZE_MAX, true, &fed),
                         INBUF_OK);
        frames_assert_equal(&whole, &fed);
    }
    for (k = 1; k <= n; k++) {          /* reads of every size; 1: bytes */
        assert_int_equal(feed_all(fr, in, n, max, n, k, false, &fed),
                         INBUF_OK);
        frames_assert_equal(&whole, &fed);
    }
}

/* --- lines -------------------------------------------------------------- */

/* Long lines, CR, CRLF astride every boundary, NUL bytes, no final LF. */
static const char mixed[] =
    "hello\n\nabcdefghijklmnop\r\nxy\r\r\n\0\0\0\n"
    "1234567\r\n12345678\r\n123456789\r\n\r\n\r\r\r\r\r\r\r\r\r\n"
    "no newline at the end\r";

static void
test_line_any_split(void **state)
{
    size_t max;

    (void)state;
    for (max = 1; max <= 12; max++)
        check_any_split(&framing_line, S(mixed), max);
    check_any_split(&framing_line, S(mixed), 63);
    check_any_split(&framing_line, S(mixed), 1024);
}

static void
test_crlf_any_split(void **state)
{
    size_t max;

    (void)state;
    for (max = 1; max <= 12; max++)
        check_any_split(&framing_crlf, S(mixed), max);
    check_any_split(&framing_crlf, S(mixed), 63);
    check_any_split(&framing_crlf, S(mixed), 1024);
}

static void
test_line_frames(void **state)
{
    struct frames m;

    (void)state;
    assert_int_equal(feed_all(&framing_crlf, S(mixed), 8, 1, 1, false, &m),
                     INBUF_OK);
    frame_is(&m, 0, 0, S("hello"));
    frame_is(&m, 1, 0, S(""));
    frame_is(&m, 2, 0, S("abcdefgh"));
    frame_is(&m, 3, 0, S("ijklmnop"));  /* max bytes + CRLF: one frame */
    frame_is(&m, 4, 0, S("xy\r"));
    frame_is(&m, 5, 0, S("\0\0\0"));
    /* "no newline at the end\r": two cuts, then `last` takes the rest. */
    frame_is(&m, m.count - 2, 0, S("ne at th"));
    frame_is(&m, m.count - 1, 0, S("e end\r"));
}

/* A peer that sends one long line a byte at a time never makes the
 * pending buffer grow past max + extra. */
static void
test_line_long_trickle(void **state)
{
    struct frames m;
    struct feed fd;
    size_t i;

    (void)state;
    feed_init(&fd, &framing_line, 100, &m);
    for (i = 0; i < 10000; i++) {
        assert_int_equal(feed(&fd, "z", 1, 0), INBUF_OK);
        assert_true(fd.in.len <= 100);
    }
    assert_int_equal(m.count, 99);      /* 10000 = 99 * 100 + 100 pending */
    assert_int_equal(fd.in.len, 100);
    assert_int_equal(feed(&fd, "\n", 1, 0), INBUF_OK);
    assert_int_equal(m.count, 100);
    assert_int_equal(m.len[99], 100);
    assert_null(fd.in.buf);
    /* The same for CRLF, whose pending line may end on a CR. */
    feed_init(&fd, &framing_crlf, 100, &m);
    for (i = 0; i < 10000; i++)
        assert_int_equal(feed(&fd, i % 101 == 100 ? "\r" : "z", 1, 0),
                         INBUF_OK);
    assert_int_equal(feed(&fd, "", 0, 1), INBUF_OK);
    assert_int_equal(m.total, 10000);
    assert_null(fd.in.buf);
}

static void
test_pending_freed_when_empty(void **state)
{
    struct frames m;
    struct feed fd;

    (void)state;
    feed_init(&fd, &framing_line, 64, &m);
    /* Whole lines only: nothing is copied, nothing kept. */
    assert_int_equal(feed(&fd, S("a\nb\n"), 0), INBUF_OK);
    assert_int_equal(m.count, 2);
    assert_null(fd.in.buf);
    /* A partial line is kept... */
    assert_int_equal(feed(&fd, S("c\nde"), 0), INBUF_OK);
    assert_non_null(fd.in.buf);
    assert_int_equal(fd.in.len, 2);
    assert_int_equal(m.count, 3);
    assert_int_equal(feed(&fd, S("f"), 0), INBUF_OK);
    assert_int_equal(fd.in.len, 3);
    /* ...until it ends, and then the buffer goes. */
    assert_int_equal(feed(&fd, S("g\n"), 0), INBUF_OK);
    assert_null(fd.in.buf);
    assert_int_equal(fd.in.len, 0);
    frame_is(&m, 3, 0, S("defg"));
    /* An empty read changes nothing. */
    assert_int_equal(feed(&fd, "", 0, 0), INBUF_OK);
    assert_null(fd.in.buf);
    assert_int_equal(m.count, 4);
}

static void
test_eof_delivers_partial(void **state)
{
    struct frames m;
    struct feed fd;

    (void)state;
    feed_init(&fd, &framing_line, 64, &m);
    assert_int_equal(feed(&fd, S("abc"), 0), INBUF_OK);
    assert_int_equal(m.count, 0);
    assert_int_equal(feed(&fd, "", 0, 1), INBUF_OK);
    assert_int_equal(m.count, 1);
    frame_is(&m, 0, 0, S("abc"));
    assert_null(fd.in.buf);
    /* With data in the same call, and nothing pending before. */
    feed_init(&fd, &framing_line, 64, &m);
    assert_int_equal(feed(&fd, S("x\nyz"), 1), INBUF_OK);
    assert_int_equal(m.count, 2);
    frame_is(&m, 1, 0, S("yz"));
    assert_null(fd.in.buf);
    /* CRLF: a CR with no LF after it is data; max + 1 bytes left at the
     * end come out as two frames. */
    feed_init(&fd, &framing_crlf, 4, &m);
    assert_int_equal(feed(&fd, S("abcd\r"), 0), INBUF_OK);
    assert_int_equal(fd.in.len, 5);
    assert_int_equal(feed(&fd, "", 0, 1), INBUF_OK);
    assert_int_equal(m.count, 2);
    frame_is(&m, 0, 0, S("abcd"));
    frame_is(&m, 1, 0, S("\r"));
    assert_null(fd.in.buf);
    /* Nothing pending at eof: no frame. */
    feed_init(&fd, &framing_line, 64, &m);
    assert_int_equal(feed(&fd, S("a\n"), 1), INBUF_OK);
    assert_int_equal(feed(&fd, "", 0, 1), INBUF_OK);
    assert_int_equal(m.count, 1);
}

static int
stop_now(void *arg, const struct frame *f)
{
    (void)arg;
    (void)f;
    return -1;
}

static void
test_stop_frees(void **state)
{
    struct frames m;
    struct feed fd;
    const char *why = "untouched";
    struct inbuf in = {NULL, 0, 0, 0};

    (void)state;
    /* Stopped on a frame straight from the read: the rest is dropped. */
    feed_init(&fd, &framing_line, 64, &m);
    fd.stop_at = 2;
    assert_int_equal(feed(&fd, S("a\nb\nc\nd"), 0), INBUF_STOPPED);
    assert_int_equal(m.count, 2);
    assert_null(fd.in.buf);
    /* Stopped on a frame completed in the pending buffer, more behind. */
    feed_init(&fd, &framing_line, 64, &m);
    fd.stop_at = 1;
    assert_int_equal(feed(&fd, S("ab"), 0), INBUF_OK);
    assert_non_null(fd.in.buf);
    assert_int_equal(feed(&fd, S("c\nd\ne"), 0), INBUF_STOPPED);
    assert_int_equal(m.count, 1);
    frame_is(&m, 0, 0, S("abc"));
    assert_null(fd.in.buf);
    assert_int_equal(fd.in.len, 0);
    /* Stopped on the partial frame delivered at eof. */
    feed_init(&fd, &framing_line, 64, &m);
    fd.stop_at = 1;
    assert_int_equal(feed(&fd, S("xy"), 0), INBUF_OK);
    assert_int_equal(feed(&fd, "", 0, 1), INBUF_STOPPED);
    frame_is(&m, 0, 0, S("xy"));
    assert_null(fd.in.buf);
    /* Packets: stopped with part of the next one pending. */
    {
        char buf[2 * PACKET_HEADER_LEN + 6];

        packet_header(buf, PACKET_CHAT, 3);
        memcpy(buf + PACKET_HEADER_LEN, "abc", 3);
        packet_header(buf + PACKET_HEADER_LEN + 3, PACKET_CHAT, 3);
        memcpy(buf + 2 * PACKET_HEADER_LEN + 3, "def", 3);
        assert_int_equal(inbuf_feed(&in, &framing_packet, 16, buf, 5, 0,
                                    stop_now, NULL, &why), INBUF_OK);
        assert_non_null(in.buf);
        assert_int_equal(inbuf_feed(&in, &framing_packet, 16, buf + 5,
                                    sizeof(buf) - 8, 0, stop_now, NULL,
                                    &why), INBUF_STOPPED);
        assert_null(in.buf);
        assert_int_equal(in.len, 0);
        assert_string_equal(why, "untouched");
    }
}

/* --- packets ------------------------------------------------------------ */

/* Append a packet of type and payload p[0..len) to buf at *n. */
static void
put_packet(char *buf, size_t *n, int type, const char *p, size_t len)
{
    packet_header(buf + *n, type, len);
    memcpy(buf + *n + PACKET_HEADER_LEN, p, len);
    *n += PACKET_HEADER_LEN + len;
}

static void
test_packet_any_split(void **state)
{
    static char in[512];
    size_t n = 0, max;

    (void)state;
    put_packet(in, &n, PACKET_REGISTER, S("alice"));
    put_packet(in, &n, PACKET_CHAT, "", 0);
    put_packet(in, &n, PACKET_CHAT, S("0123456789abcdef"));   /* max 16 */
    put_packet(in, &n, -7, S("\n\r\0"));
    put_packet(in, &n, PACKET_CHAT, S("x"));
    put_packet(in, &n, 1 << 30, S("last one"));
    for (max = 16; max <= 64; max += 48)
        check_any_split(&framing_packet, in, n, max);
    /* A partial packet at the end stays partial: the packet framing has
     * no `last`, so no frame is made of it. */
    in[n++] = 1;
    in[n++] = 0;
    check_any_split(&framing_packet, in, n, 16);
}

static void
test_packet_frames(void **state)
{
    static char in[512];
    struct frames m;
    size_t n = 0;

    (void)state;
    put_packet(in, &n, PACKET_REGISTER, S("alice"));
    put_packet(in, &n, PACKET_CHAT, "", 0);
    put_packet(in, &n, 42, S("hi"));
    assert_int_equal(feed_all(&framing_packet, in, n, 16, n, 1, false, &m),
                     INBUF_OK);
    assert_int_equal(m.count, 3);
    frame_is(&m, 0, PACKET_REGISTER, S("alice"));
    frame_is(&m, 1, PACKET_CHAT, "", 0);
    frame_is(&m, 2, 42, S("hi"));
}

/* A partial packet is kept at eof (nothing to deliver it as) until the
 * connection goes and inbuf_fini frees it. */
static void
test_packet_partial_at_eof(void **state)
{
    static char in[64];
    struct frames m;
    struct feed fd;
    size_t n = 0;

    (void)state;
    put_packet(in, &n, PACKET_CHAT, S("hello"));
    feed_init(&fd, &framing_packet, 16, &m);
    assert_int_equal(feed(&fd, in, n - 2, 0), INBUF_OK);
    assert_int_equal(fd.in.len, n - 2);
    assert_int_equal(feed(&fd, "", 0, 1), INBUF_OK);
    assert_int_equal(m.count, 0);
    assert_int_equal(fd.in.len, n - 2);
    inbuf_fini(&fd.in);
    assert_null(fd.in.buf);
    assert_int_equal(fd.in.len, 0);
    assert_int_equal(fd.in.cap, 0);
}

static void
test_packet_bad_frees(void **state)
{
    static char in[128];
    struct frames m;
    struct feed fd;
    const char *why = NULL;
    size_t n = 0, lie, k;

    (void)state;
    put_packet(in, &n, PACKET_CHAT, S("ok"));
    lie = n;
    packet_header(in + n, PACKET_CHAT, 17);     /* max is 16 */
    n += PACKET_HEADER_LEN;
    put_packet(in, &n, PACKET_CHAT, S("never"));
    /* All at once: the good packet, then the refusal; nothing after. */
    feed_init(&fd, &framing_packet, 16, &m);
    assert_int_equal(feed(&fd, in, n, 0), INBUF_BAD);
    assert_int_equal(m.count, 1);
    frame_is(&m, 0, PACKET_CHAT, S("ok"));
    assert_null(fd.in.buf);
    /* The lie's header split at every point: refused as soon as it is
     * whole, with the pending buffer freed. */
    for (k = lie + 1; k < lie + PACKET_HEADER_LEN; k++) {
        feed_init(&fd, &framing_packet, 16, &m);
        assert_int_equal(feed(&fd, in, k, 0), INBUF_OK);
        assert_non_null(fd.in.buf);
        assert_int_equal(feed(&fd, in + k, lie + PACKET_HEADER_LEN - k, 0),
                         INBUF_BAD);
        assert_int_equal(m.count, 1);
        assert_null(fd.in.buf);
        assert_int_equal(fd.in.len, 0);
    }
    /* why is the framing's static reason. */
    {
        struct inbuf ib = {NULL, 0, 0, 0};

        assert_int_equal(inbuf_feed(&ib, &framing_packet, 16, in + lie,
                                    PACKET_HEADER_LEN, 0, stop_now, NULL,
                                    &why), INBUF_BAD);
        assert_non_null(why);
        assert_string_equal(why, "message too long");
        assert_null(ib.buf);
    }
    /* Max 0: only empty packets pass. */
    n = 0;
    put_packet(in, &n, PACKET_CHAT, "", 0);
    put_packet(in, &n, PACKET_CHAT, "x", 1);
    feed_init(&fd, &framing_packet, 0, &m);
    assert_int_equal(feed(&fd, in, n, 0), INBUF_BAD);
    assert_int_equal(m.count, 1);
}

/* --- raw ---------------------------------------------------------------- */

/* In the raw framing a read is a frame, whatever its size, straight from
 * the read: nothing is ever pending. */
static void
test_raw_read_is_frame(void **state)
{
    struct frames m;
    struct feed fd;
    size_t n = sizeof(mixed) - 1, chunk, off, k;

    (void)state;
    for (chunk = 1; chunk <= n; chunk++) {
        feed_init(&fd, &framing_raw, 8, &m);
        for (off = 0; off < n; off += k) {
            k = n - off < chunk ? n - off : chunk;
            assert_int_equal(feed(&fd, mixed + off, k, 0), INBUF_OK);
            assert_null(fd.in.buf);
            assert_int_equal(m.count, (off + k + chunk - 1) / chunk);
            frame_is(&m, m.count - 1, 0, mixed + off, k);
        }
        assert_int_equal(feed(&fd, "", 0, 1), INBUF_OK);
        assert_int_equal(m.total, n);
        assert_memory_equal(m.bytes, mixed, n);
    }
    /* Whole: one frame, past max. */
    assert_int_equal(feed_all(&framing_raw, S(mixed), 8, n, n, true, &m),
                     INBUF_OK);
    assert_int_equal(m.count, 1);
    assert_int_equal(m.len[0], n);
    /* An empty read is no frame, with or without eof. */
    feed_init(&fd, &framing_raw, 8, &m);
    assert_int_equal(feed(&fd, "", 0, 0), INBUF_OK);
    assert_int_equal(feed(&fd, "", 0, 1), INBUF_OK);
    assert_int_equal(m.count, 0);
    /* Stopped: nothing held either. */
    fd.stop_at = 1;
    assert_int_equal(feed(&fd, S("abc"), 0), INBUF_STOPPED);
    assert_null(fd.in.buf);
}

/* --- holding (flood control) -------------------------------------------- */

/* A caller on a ration: `budget` frames taken, then each is held. */
struct ration {
    struct feed feed;
    size_t      budget;
    size_t      most;       /* the most bytes ever held */
};

static int
rationed(void *arg, const struct frame *f)
{
    struct ration *r = arg;
    struct feed *fd = &r->feed;

    if (r->budget == 0)
        return INBUF_KEEP;
    r->budget--;
    if (f->len > 0)
        assert_true(inside(f->data, f->len, fd->data, fd->n) ||
                    inside(f->data, f->len, fd->in.buf, fd->in.len));
    frames_add(fd->out, f);
    return 0;
}

/* Resume r one frame at a time until nothing is held, as conn.c's timer
 * does with one token at a time; then the buffer is one frame again. */
static void
resume_all(struct ration *r)
{
    struct feed *fd = &r->feed;
    const char *why = NULL;
    enum inbuf_result res;
    size_t rounds = 0;

    while (inbuf_is_held(&fd->in)) {
        if (fd->in.len > r->most)
            r->most = fd->in.len;
        r->budget = 1;
        fd->data = NULL;
        fd->n = 0;
        res = inbuf_resume(&fd->in, fd->fr, fd->max, rationed, r, &why);
        assert_true(res == INBUF_OK || res == INBUF_HELD);
        assert_true(++rounds < 100000);
    }
    check_bounds(fd);
}

/* Feed in[0..n) in reads of chunk bytes, `per_read` frames taken at once
 * and then one per resume; at end of input everything is taken (conn.c
 * turns flood control off for the last partial frame). */
static void
feed_rationed(const struct framing *fr, const char *in, size_t n, size_t max,
              size_t chunk, size_t per_read, struct frames *m)
{
    static struct ration r;
    const char *why = NULL;
    size_t off = 0, k;

    memset(&r, 0, sizeof(r));
    feed_init(&r.feed, fr, max, m);
    while (off < n) {
        k = n - off < chunk ? n - off : chunk;
        r.budget = per_read;
        r.feed.data = t_guarded(in + off, k);
        r.feed.n = k;
        assert_int_not_equal(inbuf_feed(&r.feed.in, fr, max, r.feed.data, k,
                                        0, rationed, &r, &why), INBUF_BAD);
        /* Held: the rest of this read and at most one frame before it. */
        assert_true(r.feed.in.len <= k + max + fr->extra);
        off += k;
        resume_all(&r);
    }
    r.budget = SIZE_MAX;
    assert_int_equal(inbuf_feed(&r.feed.in, fr, max, "", 0, 1, rationed, &r,
                                &why), INBUF_OK);
    assert_null(r.feed.in.buf);
    assert_false(inbuf_is_held(&r.feed.in));
}

/* Held frames come out later, all of them, in order, whatever the reads
 * and the ration. */
static void
test_hold_keeps_everything_in_order(void **state)
{
    static struct frames whole, fed;
    static const struct framing *const frs[] = {&framing_line,
                                                &framing_crlf};
    size_t i, chunk, per, max;

    (void)state;
    for (i = 0; i < 2; i++)
        for (max = 1; max <= 9; max += 4)
            for (chunk = 1; chunk <= sizeof(mixed); chunk++)
                for (per = 0; per <= 3; per++) {
                    parse_direct(frs[i], S(mixed), max, &whole);
                    feed_rationed(frs[i], S(mixed), max, chunk, per, &fed);
                    frames_assert_equal(&whole, &fed);
                }
}

static void
test_hold_then_resume(void **state)
{
    static struct ration r;
    struct frames m;
    const char *why = NULL;

    (void)state;
    memset(&r, 0, sizeof(r));
    feed_init(&r.feed, &framing_line, 64, &m);
    /* Two taken, the third held with everything after it. */
    r.budget = 2;
    r.feed.data = t_guarded(S("a\nb\nc\nd\npart"));
    r.feed.n = 12;
    assert_int_equal(inbuf_feed(&r.feed.in, &framing_line, 64, r.feed.data,
                                12, 0, rationed, &r, &why), INBUF_HELD);
    assert_int_equal(m.count, 2);
    assert_true(inbuf_is_held(&r.feed.in));
    assert_int_equal(r.feed.in.len, 8);
    assert_memory_equal(r.feed.in.buf, "c\nd\npart", 8);
    /* Nothing to take: still held, nothing lost. */
    r.budget = 0;
    assert_int_equal(inbuf_resume(&r.feed.in, &framing_line, 64, rationed,
                                  &r, &why), INBUF_HELD);
    assert_int_equal(r.feed.in.len, 8);
    /* One more: "c"; then the rest: "d", and "part" pending. */
    r.budget = 1;
    assert_int_equal(inbuf_resume(&r.feed.in, &framing_line, 64, rationed,
                                  &r, &why), INBUF_HELD);
    frame_is(&m, 2, 0, S("c"));
    r.budget = 5;
    assert_int_equal(inbuf_resume(&r.feed.in, &framing_line, 64, rationed,
                                  &r, &why), INBUF_OK);
    frame_is(&m, 3, 0, S("d"));
    assert_int_equal(m.count, 4);
    assert_false(inbuf_is_held(&r.feed.in));
    assert_int_equal(r.feed.in.len, 4);
    /* Resuming with nothing held calls nothing. */
    r.budget = 0;
    assert_int_equal(inbuf_resume(&r.feed.in, &framing_line, 64, rationed,
                                  &r, &why), INBUF_OK);
    inbuf_fini(&r.feed.in);
    /* Held at the very last byte: freed once resumed. */
    feed_init(&r.feed, &framing_line, 64, &m);
    r.budget = 0;
    r.feed.data = t_guarded(S("x\n"));
    r.feed.n = 2;
    assert_int_equal(inbuf_feed(&r.feed.in, &framing_line, 64, r.feed.data,
                                2, 0, rationed, &r, &why), INBUF_HELD);
    r.budget = 1;
    assert_int_equal(inbuf_resume(&r.feed.in, &framing_line, 64, rationed,
                                  &r, &why), INBUF_OK);
    assert_null(r.feed.in.buf);
    frame_is(&m, 0, 0, S("x"));
}

static void
test_hold_packets(void **state)
{
    static struct frames whole, fed;
    char buf[3 * (PACKET_HEADER_LEN + 5)];
    size_t n = 0, chunk;

    (void)state;
    put_packet(buf, &n, PACKET_CHAT, S("abc"));
    put_packet(buf, &n, PACKET_CHAT, S(""));
    put_packet(buf, &n, PACKET_CHAT, S("hello"));
    parse_direct(&framing_packet, buf, n, 16, &whole);
    for (chunk = 1; chunk <= n; chunk++) {
        feed_rationed(&framing_packet, buf, n, 16, chunk, 0, &fed);
        frames_assert_equal(&whole, &fed);
    }
}

/* --- limits ------------------------------------------------------------- */

/* max is a size_t like any other: max + extra must not wrap around.  A
 * frame split over two reads must still be put together. */
static void
test_huge_max(void **state)
{
    static const struct framing *const fr[] = {&framing_line, &framing_crlf,
                                               &framing_packet};
    static const size_t maxes[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 12};
    static char pk[64];
    size_t i, j, n = 0;

    (void)state;
    put_packet(pk, &n, PACKET_CHAT, S("abcdef"));
    for (i = 0; i < sizeof(fr) / sizeof(fr[0]); i++)
        for (j = 0; j < sizeof(maxes) / sizeof(maxes[0]); j++) {
            const char *in = fr[i] == &framing_packet ? pk : "abcdef\n";
            size_t len = fr[i] == &framing_packet ? n : 7;
            struct inbuf ib = {NULL, 0, 0, 0};
            const char *why = NULL;

            assert_int_equal(inbuf_feed(&ib, fr[i], maxes[j],
                                        t_guarded(in, 3), 3, 0, stop_now,
                                        NULL, &why), INBUF_OK);
            assert_int_equal(ib.len, 3);
            assert_int_equal(inbuf_feed(&ib, fr[i], maxes[j],
                                        t_guarded(in + 3, len - 3), len - 3,
                                        0, stop_now, NULL, &why),
                             INBUF_STOPPED);
            assert_null(ib.buf);
        }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_any_split),
        cmocka_unit_test(test_crlf_any_split),
        cmocka_unit_test(test_line_frames),
        cmocka_unit_test(test_line_long_trickle),
        cmocka_unit_test(test_pending_freed_when_empty),
        cmocka_unit_test(test_eof_delivers_partial),
        cmocka_unit_test(test_stop_frees),
        cmocka_unit_test(test_packet_any_split),
        cmocka_unit_test(test_packet_frames),
        cmocka_unit_test(test_packet_partial_at_eof),
        cmocka_unit_test(test_packet_bad_frees),
        cmocka_unit_test(test_raw_read_is_frame),
        cmocka_unit_test(test_huge_max),
        cmocka_unit_test(test_hold_keeps_everything_in_order),
        cmocka_unit_test(test_hold_then_resume),
        cmocka_unit_test(test_hold_packets),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
