/* test_ws.c -- WebSocket framing (src/proto/ws.c).
 *
 * Inputs sit against a guard page (guard.h), writable because payloads
 * are unmasked in place, and the message buffer ends against one too:
 * reading past the input or writing past the message limit crashes the
 * test.  Every stream is read the way the web door reads: bytes arrive in
 * chunks, are appended to a pending buffer, ws_read() runs until it has
 * nothing to say, the consumed bytes are dropped.  Each stream is read
 * whole, byte by byte, and in chunks of several sizes, and the events
 * must be the same every time.  Frames come from RFC 6455 §5.7 where it
 * has them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "guard.h"
#include "proto/ws.h"

/* A string literal and its length, NUL bytes included. */
#define S(s) s, sizeof(s) - 1

/* RFC 6455 §5.7's masking key. */
static const uint8_t rfc_key[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* A byte stream being built. */
struct stream {
    uint8_t *p;
    size_t   len, cap;
};

static void
add_raw(struct stream *s, const void *p, size_t n)
{
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2 + 64;
        s->p = realloc(s->p, s->cap);
        assert_non_null(s->p);
    }
    if (n > 0)
        memcpy(s->p + s->len, p, n);
    s->len += n;
}

/* A masked client frame: b0 is FIN/RSV/opcode as sent, the length in its
 * shortest encoding, the RFC's key. */
static void
add_frame_b0(struct stream *s, uint8_t b0, const void *payload, size_t n)
{
    uint8_t h[14], *p;
    size_t hl = ws_header_encode(h, 0, 0, n), start;

    h[0] = b0;
    h[1] |= 0x80;
    memcpy(h + hl, rfc_key, 4);
    add_raw(s, h, hl + 4);
    start = s->len;
    add_raw(s, payload, n);
    p = s->p + start;
    ws_unmask(p, n, rfc_key, 0);
}

static void
add_frame(struct stream *s, int fin, int op, const void *payload, size_t n)
{
    add_frame_b0(s, (uint8_t)((fin ? 0x80 : 0) | op), payload, n);
}

static void
add_close(struct stream *s, unsigned code, const char *reason, size_t n)
{
    uint8_t p[WS_CONTROL_MAX];
    size_t len = ws_close_payload(p, (uint16_t)code, reason, n);

    add_frame(s, 1, WS_CLOSE, p, len);
}

/* What a reader said, in order; data copied out. */
struct got {
    int         type;
    uint16_t    code;
    const char *why;
    uint8_t    *data;
    size_t      len;
};

struct log {
    struct got ev[64];
    int        n;
};

static void
log_free(struct log *l)
{
    int i;

    for (i = 0; i < l->n; i++)
        free(l->ev[i].data);
    l->n = 0;
}

/* A message buffer of cap bytes ending against a PROT_NONE page. */
struct msgbuf {
    uint8_t *base, *p;
    size_t   size;
};

static void
msgbuf_new(struct msgbuf *m, size_t cap)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data = (cap + page - 1) / page * page;

    m->size = data + page;
    m->base = mmap(NULL, m->size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m->base != MAP_FAILED);
    assert_int_equal(mprotect(m->base + data, page, PROT_NONE), 0);
    m->p = m->base + data - cap;
}

static void
msgbuf_free(struct msgbuf *m)
{
    munmap(m->base, m->size);
}

/* Chunk sizes: 0 is the whole stream at once; a negative value -s picks
 * sizes 1..s pseudo-randomly (seeded by s). */
static size_t
chunk(int mode, unsigned *seed, size_t left)
{
    size_t k;

    if (mode == 0)
        return left;
    if (mode > 0)
        k = (size_t)mode;
    else {
        *seed = *seed * 1103515245u + 12345u;
        k = 1 + (*seed >> 16) % (unsigned)-mode;
    }
    return k < left ? k : left;
}

/* Read s as the door would, in chunks (see chunk()), with a message limit
 * of cap, into l.  Stops at CLOSE or ERROR, after checking that the
 * reader then stays finished. */
static void
run(const struct stream *s, size_t cap, int mode, struct log *l)
{
    struct ws_reader r;
    struct ws_event ev;
    struct msgbuf mb;
    uint8_t *pending = malloc(s->len + 1), *in;
    size_t plen = 0, pos = 0, used;
    unsigned seed = (unsigned)-mode;
    enum ws_event_type t;
    struct got *g;

    assert_non_null(pending);
    msgbuf_new(&mb, cap);
    ws_reader_init(&r, mb.p, cap);
    l->n = 0;
    for (;;) {
        size_t k = chunk(mode, &seed, s->len - pos);

        memcpy(pending + plen, s->p + pos, k);
        plen += k;
        pos += k;
        for (;;) {
            in = t_guarded_rw(pending, plen);
            t = ws_read(&r, in, plen, &ev, &used);
            assert_int_equal(t, ev.type);
            assert_true(used <= plen);
            /* What is not consumed is not touched. */
            if (plen > used)
                assert_memory_equal(in + used, pending + used, plen - used);
            if (t != WS_EV_NONE) {
                assert_true(l->n < 64);
                g = &l->ev[l->n++];
                g->type = t;
                g->code = ev.code;
                g->why = ev.why;
                g->len = ev.len;
                g->data = malloc(ev.len + 1);
                assert_non_null(g->data);
                if (ev.len > 0) {
                    /* Into the message buffer, or into what was consumed. */
                    assert_true((ev.data >= mb.p &&
                                 ev.data + ev.len <= mb.p + cap) ||
                                (ev.data >= in &&
                                 ev.data + ev.len <= in + used));
                    memcpy(g->data, ev.data, ev.len);
                }
                assert_true(t == WS_EV_ERROR ? ev.why != NULL :
                            ev.why == NULL);
            }
            memmove(pending, pending + used, plen - used);
            plen -= used;
            if (t == WS_EV_ERROR || t == WS_EV_CLOSE)
                goto finished;
            if (t == WS_EV_NONE)
                break;
        }
        /* Left over: a part of a header or of a control frame. */
        assert_true(plen < WS_PENDING_MAX);
        if (pos == s->len)
            break;
    }
    free(pending);
    msgbuf_free(&mb);
    return;
finished:
    in = t_guarded_rw(pending, plen);
    t = ws_read(&r, in, plen, &ev, &used);
    if (l->ev[l->n - 1].type == WS_EV_ERROR) {
        assert_int_equal(t, WS_EV_ERROR);
        assert_int_equal(used, 0);
        assert_int_equal(ev.code, l->ev[l->n - 1].code);
    } else {
        assert_int_equal(t, WS_EV_NONE);
        assert_int_equal(used, plen);
    }
    free(pending);
    msgbuf_free(&mb);
}

static void
same_log(const struct log *a, const struct log *b, int mode)
{
    int i;

    if (a->n != b->n)
        fail_msg("chunks %d: %d events, whole: %d", mode, b->n, a->n);
    for (i = 0; i < a->n; i++) {
        assert_int_equal(a->ev[i].type, b->ev[i].type);
        assert_int_equal(a->ev[i].code, b->ev[i].code);
        assert_ptr_equal(a->ev[i].why, b->ev[i].why);
        assert_int_equal(a->ev[i].len, b->ev[i].len);
        if (a->ev[i].len > 0)
            assert_memory_equal(a->ev[i].data, b->ev[i].data, a->ev[i].len);
    }
}

/* Read s whole and in every chunking; l gets the events (the same each
 * time). */
static void
read_all_ways(const struct stream *s, size_t cap, struct log *l)
{
    static const int modes[] = { 1, 2, 3, 5, 7, 13, -4, -20, -300 };
    struct log other;
    size_t i;

    run(s, cap, 0, l);
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (s->len > 20000 && modes[i] > 0 && modes[i] < 7)
            continue;           /* big streams: the slow chunkings once */
        run(s, cap, modes[i], &other);
        same_log(l, &other, modes[i]);
        log_free(&other);
    }
}

static void
event_is(const struct log *l, int i, int type, const void *data, size_t len)
{
    assert_true(i < l->n);
    assert_int_equal(l->ev[i].type, type);
    assert_int_equal(l->ev[i].len, len);
    if (len > 0)
        assert_memory_equal(l->ev[i].data, data, len);
}

static void
error_is(const struct log *l, int i, unsigned code)
{
    assert_int_equal(l->n, i + 1);
    assert_int_equal(l->ev[i].type, WS_EV_ERROR);
    assert_int_equal(l->ev[i].code, code);
}

/* A stream that must end in ERROR code, after n_before other events. */
static void
expect_error(const struct stream *s, size_t cap, int n_before, unsigned code)
{
    struct log l;

    read_all_ways(s, cap, &l);
    error_is(&l, n_before, code);
    log_free(&l);
}

static void
test_accept_key(void **state)
{
    char out[WS_ACCEPT_LEN + 1];
    static const char *bad[] = {
        "dGhlIHNhbXBsZSBub25jZQ=",      /* 23 */
        "dGhlIHNhbXBsZSBub25jZQ===",    /* 25 */
        "dGhlIHNhbXBsZSBub25jZQAA",     /* no padding: 18 bytes */
        "dGhlIHNhbXBsZSBub25jZ===",     /* padding too early */
        "dGhlIHNhbXBsZSBub2-jZQ==",     /* not base64 */
        "dGhlIHNhbXBsZSBub2 jZQ==",
        "",
    };
    size_t i;

    (void)state;
    assert_int_equal(ws_accept_key(t_guarded(S("dGhlIHNhbXBsZSBub25jZQ==")),
                                   24, out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(out, 'z', sizeof(out));
        assert_int_equal(ws_accept_key(t_guarded(bad[i], strlen(bad[i])),
                                       strlen(bad[i]), out), -1);
        assert_int_equal(out[0], 'z');
    }
    /* Any 16 bytes: the padding bits are not checked. */
    assert_int_equal(ws_accept_key(S("AAAAAAAAAAAAAAAAAAAAAB=="), out), 0);
    assert_int_equal(strlen(out), WS_ACCEPT_LEN);
}

/* §5.7: a single-frame masked text message, and the unmasked one. */
static void
test_frame_parse_rfc(void **state)
{
    static const uint8_t hello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                     0x7f, 0x9f, 0x4d, 0x51, 0x58 };
    static const uint8_t plain[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c,
                                     0x6f };
    struct ws_frame f;
    uint8_t p[5];
    size_t k;

    (void)state;
    for (k = 0; k < 6; k++)
        assert_int_equal(ws_frame_parse((const uint8_t *)t_guarded(hello, k),
                                        k, 1024, &f), WS_NEED_MORE);
    for (k = 6; k <= sizeof(hello); k++) {
        assert_int_equal(ws_frame_parse((const uint8_t *)t_guarded(hello, k),
                                        k, 1024, &f), WS_OK);
        assert_int_equal(f.fin, 1);
        assert_int_equal(f.opcode, WS_TEXT);
        assert_int_equal(f.len, 5);
        assert_int_equal(f.header_len, 6);
        assert_memory_equal(f.key, rfc_key, 4);
    }
    memcpy(p, hello + 6, 5);
    ws_unmask(p, 5, f.key, 0);
    assert_memory_equal(p, "Hello", 5);
    assert_int_equal(ws_frame_parse((const uint8_t *)t_guarded(plain, 2), 2,
                                    1024, &f), WS_FAIL);
    assert_int_equal(f.code, 1002);
    assert_string_equal(f.why, "unmasked client frame");
}

/* §5.7: 256 bytes and 64 KiB in one binary frame; server headers. */
static void
test_lengths_rfc(void **state)
{
    static const uint8_t h256[] = { 0x82, 0x7E, 0x01, 0x00 };
    static const uint8_t h64k[] = { 0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0 };
    uint8_t h[16];
    struct ws_frame f;

    (void)state;
    assert_int_equal(ws_header_encode(h, 1, WS_BINARY, 256), 4);
    assert_memory_equal(h, h256, 4);
    assert_int_equal(ws_header_encode(h, 1, WS_BINARY, 65536), 10);
    assert_memory_equal(h, h64k, 10);
    assert_int_equal(ws_header_encode(h, 1, WS_TEXT, 5), 2);
    assert_memory_equal(h, "\x81\x05", 2);
    assert_int_equal(ws_header_encode(h, 0, WS_TEXT, 125), 2);
    assert_memory_equal(h, "\x01\x7D", 2);
    assert_int_equal(ws_header_encode(h, 1, WS_PONG, 126), 4);
    assert_memory_equal(h, "\x8A\x7E\x00\x7E", 4);
    assert_int_equal(ws_header_encode(h, 1, WS_BINARY, 65535), 4);
    assert_memory_equal(h, "\x82\x7E\xFF\xFF", 4);

    /* The same headers masked, as a client sends them. */
    memcpy(h, h256, 4);
    h[1] |= 0x80;
    memcpy(h + 4, rfc_key, 4);
    assert_int_equal(ws_frame_parse((const uint8_t *)t_guarded(h, 8), 8, 256,
                                    &f), WS_OK);
    assert_int_equal(f.len, 256);
    assert_int_equal(f.header_len, 8);
    assert_int_equal(ws_frame_parse((const uint8_t *)t_guarded(h, 4), 4, 255,
                                    &f), WS_FAIL);
    assert_int_equal(f.code, 1009);
    memcpy(h, h64k, 10);
    h[1] |= 0x80;
    memcpy(h + 10, rfc_key, 4);
    assert_int_equal(ws_frame_parse((const uint8_t *)t_guarded(h, 14), 14,
                                    65536, &f), WS_OK);
    assert_int_equal(f.len, 65536);
    assert_int_equal(f.header_len, 14);
    /* Too big is known once the length is, before the masking key. */
    assert_int_equal(ws_frame_parse((const uint8_t *)t_guarded(h, 10), 10,
                                    65535, &f), WS_FAIL);
    assert_int_equal(f.code, 1009);
    assert_int_equal(ws_frame_parse((const uint8_t *)t_guarded(h, 9), 9,
                                    65535, &f), WS_NEED_MORE);
    /* A length not in its shortest form is accepted. */
    memcpy(h, "\x81\xFE\x00\x05", 4);
    memcpy(h + 4, rfc_key, 4);
    assert_int_equal(ws_frame_parse((const uint8_t *)t_guarded(h, 8), 8, 10,
                                    &f), WS_OK);
    assert_int_equal(f.len, 5);
}

/* One header, every error, with the prefix it is decided at. */
static void
header_fails(const char *h, size_t n, size_t at, uint64_t max,
             unsigned code, const char *why)
{
    struct ws_frame f;
    size_t k;

    for (k = 0; k < at; k++)
        assert_int_equal(ws_frame_parse((const uint8_t *)t_guarded(h, k), k,
                                        max, &f), WS_NEED_MORE);
    for (k = at; k <= n; k++) {
        assert_int_equal(ws_frame_parse((const uint8_t *)t_guarded(h, k), k,
                                        max, &f), WS_FAIL);
        assert_int_equal(f.code, code);
        assert_string_equal(f.why, why);
    }
}

static void
test_frame_parse_errors(void **state)
{
    static const char ops[] = "\x83\x84\x85\x86\x87\x8B\x8C\x8D\x8E\x8F";
    size_t i;
    char h[2];

    (void)state;
    header_fails(S("\xC1\x85\x37\xfa\x21\x3d"), 1, 100, 1002,
                 "reserved bit set");
    header_fails(S("\xA1\x85"), 1, 100, 1002, "reserved bit set");
    header_fails(S("\x91\x85"), 1, 100, 1002, "reserved bit set");
    header_fails(S("\xF3\x85"), 1, 100, 1002, "reserved bit set");
    for (i = 0; i < sizeof(ops) - 1; i++) {
        h[0] = ops[i];
        h[1] = (char)0x80;
        header_fails(h, 2, 1, 100, 1002, "unknown opcode");
    }
    header_fails(S("\x09\x80"), 1, 100, 1002, "fragmented control frame");
    header_fails(S("\x08\x80"), 1, 100, 1002, "fragmented control frame");
    header_fails(S("\x0A\x80"), 1, 100, 1002, "fragmented control frame");
    header_fails(S("\x81\x05hello"), 2, 100, 1002, "unmasked client frame");
    header_fails(S("\x89\x00"), 2, 100, 1002, "unmasked client frame");
    header_fails(S("\x89\xFE\x00\x7E"), 2, 1000, 1002,
                 "control frame over 125 bytes");
    header_fails(S("\x88\xFF\x00\x00\x00\x00\x00\x00\x00\x02"), 2, 1000, 1002,
                 "control frame over 125 bytes");
    header_fails(S("\x82\xFF\x80\x00\x00\x00\x00\x00\x00\x00"), 3, UINT64_MAX,
                 1002, "64-bit length top bit set");
    header_fails(S("\x82\xFF\x00\x00\x00\x01\x00\x00\x00\x00"), 10,
                 0xFFFFFFFF, 1009, "message too big");
    header_fails(S("\x82\x86"), 2, 5, 1009, "message too big");
    header_fails(S("\x00\xFE\x01\x00"), 4, 255, 1009, "message too big");
}

/* Control frames are not held to max: 125 bytes always fit. */
static void
test_control_not_held_to_max(void **state)
{
    struct ws_frame f;

    (void)state;
    assert_int_equal(ws_frame_parse((const uint8_t *)t_guarded(
                         S("\x89\xFD\x37\xfa\x21\x3d")), 6, 0, &f), WS_OK);
    assert_int_equal(f.len, 125);
}

static void
test_unmask(void **state)
{
    uint8_t buf[80], ref[80], key[4] = { 0x01, 0x80, 0xFE, 0x7F };
    size_t n, offset, start, i;

    (void)state;
    for (n = 0; n <= 40; n++) {
        for (offset = 0; offset < 8; offset++) {
            for (start = 0; start < 8; start++) {
                for (i = 0; i < n; i++)
                    ref[i] = (uint8_t)(i * 37 + n);
                memcpy(buf + start, ref, n);
                ws_unmask(buf + start, n, key, offset);
                for (i = 0; i < n; i++)
                    assert_int_equal(buf[start + i],
                                     ref[i] ^ key[(offset + i) % 4]);
                ws_unmask(buf + start, n, key, offset);
                assert_memory_equal(buf + start, ref, n);
            }
        }
    }
    /* In pieces, with the offset of each: the same as all at once. */
    for (i = 0; i < 80; i++)
        ref[i] = buf[i] = (uint8_t)i;
    ws_unmask(ref, 80, key, 0);
    ws_unmask(buf, 3, key, 0);
    ws_unmask(buf + 3, 30, key, 3);
    ws_unmask(buf + 33, 47, key, 33);
    assert_memory_equal(buf, ref, 80);
    ws_unmask(t_guarded_rw(buf, 13), 13, key, 5);   /* no read past */
}

static void
test_close_codes(void **state)
{
    static const unsigned valid[] = { 1000, 1001, 1002, 1003, 1007, 1008,
                                      1009, 1010, 1011, 1012, 1013, 1014,
                                      3000, 3999, 4000, 4999 };
    /* Autobahn 7.9.x's invalid codes, and the edges around the valid. */
    static const unsigned invalid[] = { 0, 999, 1004, 1005, 1006, 1015, 1016,
                                        1100, 2000, 2999, 5000, 65535 };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        assert_true(ws_close_code_is_valid(valid[i]));
    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        assert_false(ws_close_code_is_valid(invalid[i]));
}

static void
test_close_payload(void **state)
{
    uint8_t out[WS_CONTROL_MAX + 8];
    char reason[300];
    size_t i, n;

    (void)state;
    assert_int_equal(ws_close_payload(out, 1000, NULL, 0), 2);
    assert_memory_equal(out, "\x03\xE8", 2);
    assert_int_equal(ws_close_payload(out, 1009, S("too big")), 9);
    assert_memory_equal(out, "\x03\xF1too big", 9);
    for (i = 0; i < 150; i++)
        memcpy(reason + 2 * i, "\xC3\xA9", 2);         /* é */
    memset(out, 0xA5, sizeof(out));
    n = ws_close_payload(out, 4000, reason, 300);
    assert_int_equal(n, 2 + 122);                       /* 61 é */
    assert_int_equal(out[WS_CONTROL_MAX], 0xA5);
    assert_true(utf8_is_valid((const char *)out + 2, n - 2));
    memset(reason, 'a', sizeof(reason));
    assert_int_equal(ws_close_payload(out, 4000, reason, 200), 125);
    assert_int_equal(ws_close_payload(out, 4000, reason, 123), 125);
}

static void
test_read_rfc_examples(void **state)
{
    static const uint8_t hello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                     0x7f, 0x9f, 0x4d, 0x51, 0x58 };
    static const uint8_t pong[] = { 0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                    0x7f, 0x9f, 0x4d, 0x51, 0x58 };
    struct stream s = { 0 };
    struct log l;

    (void)state;
    add_raw(&s, hello, sizeof(hello));
    add_raw(&s, pong, sizeof(pong));
    add_frame(&s, 0, WS_TEXT, "Hel", 3);            /* §5.7 fragmented */
    add_frame(&s, 1, WS_CONT, "lo", 2);
    add_frame(&s, 1, WS_PING, "Hello", 5);
    read_all_ways(&s, 5, &l);
    assert_int_equal(l.n, 4);
    event_is(&l, 0, WS_EV_TEXT, "Hello", 5);
    event_is(&l, 1, WS_EV_PONG, "Hello", 5);
    event_is(&l, 2, WS_EV_TEXT, "Hello", 5);
    event_is(&l, 3, WS_EV_PING, "Hello", 5);
    log_free(&l);
    free(s.p);
}

static void
test_read_big_binary(void **state)
{
    struct stream s = { 0 };
    uint8_t *data = malloc(65536);
    struct log l;
    size_t i;

    (void)state;
    assert_non_null(data);
    for (i = 0; i < 65536; i++)
        data[i] = (uint8_t)(i * 7 + (i >> 8));
    add_frame(&s, 1, WS_BINARY, data, 256);
    add_frame(&s, 1, WS_BINARY, data, 65536);
    read_all_ways(&s, 65536, &l);
    assert_int_equal(l.n, 2);
    event_is(&l, 0, WS_EV_BINARY, data, 256);
    event_is(&l, 1, WS_EV_BINARY, data, 65536);
    log_free(&l);
    /* One byte under: 1009 from the header alone. */
    expect_error(&s, 65535, 1, 1009);
    s.len = 4 + 4 + 256 + 10;               /* the 64 KiB frame's length */
    expect_error(&s, 65535, 1, 1009);
    free(s.p);
    free(data);
}

/* A whole one-frame message that arrived in one read is a view into the
 * input: no copy. */
static void
test_read_view_into_input(void **state)
{
    struct stream s = { 0 };
    struct ws_reader r;
    struct ws_event ev;
    uint8_t msg[16], *in;
    size_t used;

    (void)state;
    add_frame(&s, 1, WS_TEXT, "hi", 2);
    add_frame(&s, 1, WS_BINARY, "", 0);
    add_raw(&s, "\x81", 1);
    ws_reader_init(&r, msg, sizeof(msg));
    in = t_guarded_rw(s.p, s.len);
    assert_int_equal(ws_read(&r, in, s.len, &ev, &used), WS_EV_TEXT);
    assert_ptr_equal(ev.data, in + 6);
    assert_int_equal(used, 8);
    assert_int_equal(ws_read(&r, in + 8, s.len - 8, &ev, &used),
                     WS_EV_BINARY);
    assert_int_equal(ev.len, 0);
    assert_int_equal(used, 6);
    assert_int_equal(ws_read(&r, in + 14, 1, &ev, &used), WS_EV_NONE);
    assert_int_equal(used, 0);
    free(s.p);
}

static void
test_read_fragments_and_controls(void **state)
{
    struct stream s = { 0 };
    struct log l;

    (void)state;
    add_frame(&s, 0, WS_TEXT, "caf", 3);
    add_frame(&s, 1, WS_PING, "p1", 2);
    add_frame(&s, 0, WS_CONT, "\xC3", 1);           /* é split in two */
    add_frame(&s, 1, WS_PONG, "", 0);
    add_frame(&s, 0, WS_CONT, "", 0);
    add_frame(&s, 1, WS_CONT, "\xA9!", 2);
    add_frame(&s, 0, WS_BINARY, "\xFF", 1);
    add_frame(&s, 1, WS_CONT, "\xFE", 1);
    add_frame(&s, 1, WS_TEXT, "", 0);
    add_frame(&s, 0, WS_TEXT, "", 0);
    add_frame(&s, 1, WS_CONT, "", 0);
    add_close(&s, 1000, S("bye"));
    add_frame(&s, 1, WS_TEXT, "after close", 11);   /* ignored */
    add_raw(&s, "\xFF\xFF", 2);
    read_all_ways(&s, 6, &l);
    assert_int_equal(l.n, 7);
    event_is(&l, 0, WS_EV_PING, "p1", 2);
    event_is(&l, 1, WS_EV_PONG, "", 0);
    event_is(&l, 2, WS_EV_TEXT, "caf\xC3\xA9!", 6);
    event_is(&l, 3, WS_EV_BINARY, "\xFF\xFE", 2);
    event_is(&l, 4, WS_EV_TEXT, "", 0);
    event_is(&l, 5, WS_EV_TEXT, "", 0);
    event_is(&l, 6, WS_EV_CLOSE, "bye", 3);
    assert_int_equal(l.ev[6].code, 1000);
    log_free(&l);
    free(s.p);
}

static void
test_read_sequence_errors(void **state)
{
    struct stream s = { 0 };

    (void)state;
    add_frame(&s, 1, WS_CONT, "x", 1);
    expect_error(&s, 100, 0, 1002);
    s.len = 0;
    add_frame(&s, 0, WS_CONT, "x", 1);
    expect_error(&s, 100, 0, 1002);
    s.len = 0;
    add_frame(&s, 0, WS_TEXT, "a", 1);
    add_frame(&s, 1, WS_TEXT, "b", 1);
    expect_error(&s, 100, 0, 1002);
    s.len = 0;
    add_frame(&s, 0, WS_BINARY, "a", 1);
    add_frame(&s, 1, WS_PING, "", 0);
    add_frame(&s, 0, WS_BINARY, "b", 1);
    expect_error(&s, 100, 1, 1002);
    s.len = 0;
    add_frame(&s, 1, WS_TEXT, "a", 1);              /* a whole message */
    add_frame(&s, 1, WS_CONT, "b", 1);              /* then nothing open */
    expect_error(&s, 100, 1, 1002);
    s.len = 0;
    /* The sequence error is decided on byte 0, before a bad byte 1. */
    add_frame(&s, 0, WS_TEXT, "a", 1);
    add_raw(&s, "\x81\x05", 2);
    expect_error(&s, 100, 0, 1002);
    free(s.p);
}

static void
test_read_header_errors(void **state)
{
    /* Each 3 bytes: as much of a header as decides its error. */
    static const char heads[][3] = {
        "\xC1\x80", "\xA1\x80", "\x91\x80", "\x83\x80", "\x8B\x80",
        "\x09\x80", "\x81\x00", "\x89\xFE", "\x82\xFF\x80",
    };
    static const size_t lens[] = { 2, 2, 2, 2, 2, 2, 2, 2, 3 };
    struct stream s = { 0 };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        s.len = 0;
        add_frame(&s, 1, WS_PING, "ok", 2);
        add_raw(&s, heads[i], lens[i]);
        expect_error(&s, 100, 1, 1002);
    }
    free(s.p);
}

static void
test_read_too_big(void **state)
{
    struct stream s = { 0 };
    struct log l;
    char big[101];

    (void)state;
    memset(big, 'x', sizeof(big));
    add_frame(&s, 1, WS_TEXT, big, 10);
    expect_error(&s, 9, 0, 1009);
    s.len = 0;
    add_frame(&s, 1, WS_TEXT, big, 10);             /* exactly the cap */
    add_frame(&s, 0, WS_TEXT, big, 6);
    add_frame(&s, 0, WS_CONT, big, 4);
    add_frame(&s, 1, WS_CONT, big, 1);              /* 11 > 10 */
    expect_error(&s, 10, 1, 1009);
    /* A control frame is never too big, even with a limit of 0. */
    s.len = 0;
    add_frame(&s, 1, WS_PING, big, 100);
    add_frame(&s, 1, WS_TEXT, "", 0);
    add_frame(&s, 1, WS_TEXT, "x", 1);
    read_all_ways(&s, 0, &l);
    assert_int_equal(l.n, 3);
    event_is(&l, 0, WS_EV_PING, big, 100);
    event_is(&l, 1, WS_EV_TEXT, "", 0);
    error_is(&l, 2, 1009);
    log_free(&l);
    free(s.p);
}

static void
test_read_close(void **state)
{
    static const unsigned bad_codes[] = { 0, 999, 1004, 1005, 1006, 1015,
                                          1016, 1100, 2000, 2999, 5000,
                                          65535 };
    static const unsigned good_codes[] = { 1000, 1003, 1007, 1011, 1014,
                                           3000, 4999 };
    struct stream s = { 0 };
    struct log l;
    size_t i;

    (void)state;
    add_frame(&s, 1, WS_CLOSE, "", 0);
    read_all_ways(&s, 10, &l);
    assert_int_equal(l.n, 1);
    event_is(&l, 0, WS_EV_CLOSE, "", 0);
    assert_int_equal(l.ev[0].code, WS_CLOSE_NO_STATUS);
    log_free(&l);
    for (i = 0; i < sizeof(good_codes) / sizeof(good_codes[0]); i++) {
        s.len = 0;
        add_close(&s, good_codes[i], S("r\xC3\xA9"));
        read_all_ways(&s, 10, &l);
        event_is(&l, 0, WS_EV_CLOSE, "r\xC3\xA9", 3);
        assert_int_equal(l.ev[0].code, good_codes[i]);
        log_free(&l);
    }
    for (i = 0; i < sizeof(bad_codes) / sizeof(bad_codes[0]); i++) {
        s.len = 0;
        add_close(&s, bad_codes[i], NULL, 0);
        expect_error(&s, 10, 0, 1002);
    }
    s.len = 0;
    add_frame(&s, 1, WS_CLOSE, "\x03", 1);
    expect_error(&s, 10, 0, 1002);
    s.len = 0;
    add_frame(&s, 0, WS_TEXT, "open", 4);           /* mid-message: fine */
    add_close(&s, 1000, S("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"));
    read_all_ways(&s, 10, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.ev[0].type, WS_EV_CLOSE);
    log_free(&l);
    s.len = 0;
    add_close(&s, 1000, S("bad \xED\xA0\x80"));     /* a surrogate */
    expect_error(&s, 10, 0, 1007);
    free(s.p);
}

static void
test_read_utf8(void **state)
{
    struct stream s = { 0 };
    struct log l;

    (void)state;
    /* Invalid in the 2nd fragment: fails before the 3rd arrives. */
    add_frame(&s, 0, WS_TEXT, "\xCE\xBA\xE1\xBD\xB9", 5);
    add_frame(&s, 0, WS_CONT, "\xCF\x83\xCE\xBC\xF4\x90\x80\x80", 8);
    expect_error(&s, 100, 0, 1007);
    /* Invalid inside one frame whose rest never comes: fails at once. */
    s.len = 0;
    add_frame(&s, 1, WS_TEXT, "ab\xC0" "cdefgh", 9);
    s.len -= 5;
    expect_error(&s, 100, 0, 1007);
    /* Cut at the end of the last fragment; valid so far until then. */
    s.len = 0;
    add_frame(&s, 0, WS_TEXT, "a", 1);
    add_frame(&s, 1, WS_CONT, "\xE2\x82", 2);
    expect_error(&s, 100, 0, 1007);
    s.len = 0;
    add_frame(&s, 1, WS_TEXT, "\xE2\x82", 2);
    expect_error(&s, 100, 0, 1007);
    s.len = 0;
    add_frame(&s, 1, WS_TEXT, "\xED\xA0\x80", 3);
    expect_error(&s, 100, 0, 1007);
    /* Binary is not text: anything goes. */
    s.len = 0;
    add_frame(&s, 1, WS_BINARY, "\xC0\xFF", 2);
    add_frame(&s, 0, WS_TEXT, "\xF0\x9F", 2);       /* U+1F600 in pieces */
    add_frame(&s, 1, WS_PING, "\xFF", 1);            /* ping: not text */
    add_frame(&s, 1, WS_CONT, "\x98\x80", 2);
    read_all_ways(&s, 100, &l);
    assert_int_equal(l.n, 3);
    event_is(&l, 0, WS_EV_BINARY, "\xC0\xFF", 2);
    event_is(&l, 1, WS_EV_PING, "\xFF", 1);
    event_is(&l, 2, WS_EV_TEXT, "\xF0\x9F\x98\x80", 4);
    log_free(&l);
    free(s.p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key),
        cmocka_unit_test(test_frame_parse_rfc),
        cmocka_unit_test(test_lengths_rfc),
        cmocka_unit_test(test_frame_parse_errors),
        cmocka_unit_test(test_control_not_held_to_max),
        cmocka_unit_test(test_unmask),
        cmocka_unit_test(test_close_codes),
        cmocka_unit_test(test_close_payload),
        cmocka_unit_test(test_read_rfc_examples),
        cmocka_unit_test(test_read_big_binary),
        cmocka_unit_test(test_read_view_into_input),
        cmocka_unit_test(test_read_fragments_and_controls),
        cmocka_unit_test(test_read_sequence_errors),
        cmocka_unit_test(test_read_header_errors),
        cmocka_unit_test(test_read_too_big),
        cmocka_unit_test(test_read_close),
        cmocka_unit_test(test_read_utf8),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
