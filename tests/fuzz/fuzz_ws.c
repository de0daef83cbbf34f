/* fuzz_ws.c -- libFuzzer harness for the WebSocket reader (ws_read, and
 * through it ws_frame_parse, ws_unmask and the UTF-8 checks), with
 * ws_header_encode, ws_close_payload and ws_accept_key on the side.
 *
 * Byte 0 of the input picks the message limit (cap), byte 1 seeds how the
 * rest is split into reads; the rest is what a client sends.  The stream
 * is read as the web door reads it: each read appended to a pending
 * buffer, ws_read until it says NONE, consumed bytes dropped.  Checked,
 * beyond "no crash":
 *   - the split does not matter: read whole, byte by byte and in chunks
 *     the seed picks, the events are the same (type, code, reason, data);
 *   - what is not consumed is not changed, and at most WS_PENDING_MAX - 1
 *     bytes are left pending; after CLOSE everything is consumed and
 *     ignored, after ERROR the same ERROR comes back and nothing is;
 *   - TEXT is valid UTF-8 and, like BINARY, at most cap bytes; PING and
 *     PONG carry at most 125; CLOSE has a valid code (or 1005 with no
 *     reason) and a UTF-8 reason; ERROR is 1002, 1007 or 1009; data lies
 *     in the message buffer or in the consumed input;
 *   - a header ws_header_encode writes (with the mask bit and a key set)
 *     parses back to what was encoded; ws_close_payload fits 125 bytes
 *     and parses back to its code and a UTF-8 prefix of its reason;
 *   - ws_accept_key takes exactly the 24-character keys ending in "==";
 *   - ws_read allocates nothing, and nothing reads or writes past the
 *     input or the message buffer (both are allocated at exactly their
 *     size, so ASan sees one byte too far). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ws.h"

#include "fuzz_util.h"

#define EVENTS_MAX 4096

struct got {
    int         type;
    uint16_t    code;
    const char *why;
    size_t      len;
    uint64_t    hash;           /* FNV-1a of the data */
};

struct log {
    struct got ev[EVENTS_MAX];
    int        n;
    int        overflow;        /* more events than EVENTS_MAX */
};

static uint64_t
fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 14695981039346656037u;
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211u;
    return h;
}

static void
check_event(const struct ws_event *ev, size_t cap, const uint8_t *msg,
            const uint8_t *in, size_t used)
{
    if (ev->len > 0)
        CHECK((ev->data >= msg && ev->len <= cap &&
               (size_t)(ev->data - msg) <= cap - ev->len) ||
              (ev->data >= in && ev->len <= used &&
               (size_t)(ev->data - in) <= used - ev->len));
    CHECK(ev->type == WS_EV_ERROR ? ev->why != NULL : ev->why == NULL);
    switch (ev->type) {
    case WS_EV_TEXT:
        CHECK(utf8_is_valid((const char *)ev->data, ev->len));
        /* fall through */
    case WS_EV_BINARY:
        CHECK(ev->len <= cap);
        break;
    case WS_EV_PING:
    case WS_EV_PONG:
        CHECK(ev->len <= WS_CONTROL_MAX);
        break;
    case WS_EV_CLOSE:
        CHECK(ev->len <= WS_CONTROL_MAX - 2);
        CHECK(ev->code == WS_CLOSE_NO_STATUS ? ev->len == 0 :
              ws_close_code_is_valid(ev->code));
        CHECK(utf8_is_valid((const char *)ev->data, ev->len));
        break;
    case WS_EV_ERROR:
        CHECK(ev->code == 1002 || ev->code == 1007 || ev->code == 1009);
        break;
    case WS_EV_NONE:
        CHECK(0);
    }
}

/* Read s[0..n) with limit cap, in chunks: 0 whole, 1 byte by byte, else
 * pseudo-random sizes from seed. */
static void
run(const uint8_t *s, size_t n, size_t cap, int mode, unsigned seed,
    struct log *l)
{
    uint8_t *pending = malloc(n + 1), *msg = malloc(cap ? cap : 1), *in;
    size_t plen = 0, pos = 0, used, k;
    struct ws_reader r;
    struct ws_event ev;
    enum ws_event_type t = WS_EV_NONE;
    struct got *g;

    CHECK(pending != NULL && msg != NULL);
    ws_reader_init(&r, msg, cap);
    l->n = 0;
    l->overflow = 0;
    while (pos < n || (n == 0 && pos == 0)) {
        if (mode == 0)
            k = n;
        else if (mode == 1)
            k = 1;
        else {
            seed = seed * 1103515245u + 12345u;
            k = 1 + (seed >> 16) % (seed & 0x40000000u ? 5 : 700);
        }
        if (k > n - pos)
            k = n - pos;
        memcpy(pending + plen, s + pos, k);
        plen += k;
        pos += k;
        for (;;) {
            in = malloc(plen ? plen : 1);       /* exactly: ASan's fence */
            CHECK(in != NULL);
            memcpy(in, pending, plen);
            counting = 1;
            t = ws_read(&r, in, plen, &ev, &used);
            counting = 0;
            CHECK(allocs == 0);
            CHECK(t == ev.type && used <= plen);
            CHECK(memcmp(in + used, pending + used, plen - used) == 0);
            if (t != WS_EV_NONE) {
                check_event(&ev, cap, msg, in, used);
                if (l->n == EVENTS_MAX) {
                    l->overflow = 1;
                } else {
                    g = &l->ev[l->n++];
                    g->type = t;
                    g->code = ev.code;
                    g->why = ev.why;
                    g->len = ev.len;
                    g->hash = fnv(ev.data, ev.len);
                }
            }
            free(in);
            memmove(pending, pending + used, plen - used);
            plen -= used;
            if (t != WS_EV_NONE && t != WS_EV_ERROR && t != WS_EV_CLOSE)
                continue;
            break;
        }
        if (t == WS_EV_ERROR || t == WS_EV_CLOSE)
            break;
        CHECK(plen < WS_PENDING_MAX);
        if (n == 0)
            break;
    }
    if (t == WS_EV_ERROR || t == WS_EV_CLOSE) {
        struct ws_event again;

        /* Finished: stays so, whatever else comes. */
        memcpy(pending + plen, s + pos, n - pos);
        plen += n - pos;
        t = ws_read(&r, pending, plen, &again, &used);
        if (ev.type == WS_EV_ERROR)
            CHECK(t == WS_EV_ERROR && used == 0 && again.code == ev.code &&
                  again.why == ev.why);
        else
            CHECK(t == WS_EV_NONE && used == plen);
    }
    free(pending);
    free(msg);
}

static void
same_log(const struct log *a, const struct log *b)
{
    int i;

    CHECK(a->n == b->n && a->overflow == b->overflow);
    for (i = 0; i < a->n; i++)
        CHECK(a->ev[i].type == b->ev[i].type &&
              a->ev[i].code == b->ev[i].code &&
              a->ev[i].why == b->ev[i].why && a->ev[i].len == b->ev[i].len &&
              a->ev[i].hash == b->ev[i].hash);
}

/* Encoded server headers parse back, once masked as a client would. */
static void
check_encode(const uint8_t *s, size_t n)
{
    uint8_t h[WS_HEADER_MAX];
    struct ws_frame f;
    uint64_t len = 0;
    size_t hl, i;
    int op;

    for (i = 0; i < n && i < 8; i++)
        len = len << 8 | s[i];
    len >>= n > 0 ? s[0] & 63 : 0;
    len &= UINT64_MAX >> 1;
    op = n > 0 && (s[0] & 0x80) ? WS_BINARY : WS_CONT;
    hl = ws_header_encode(h, n > 1 && (s[1] & 1), op, len);
    CHECK(hl == (len < 126 ? 2u : len <= 0xFFFF ? 4u : 10u));
    h[1] |= 0x80;
    memcpy(h + hl, "\x01\x02\x03\x04", 4);
    CHECK(ws_frame_parse(h, hl + 4, UINT64_MAX, &f) == WS_OK);
    CHECK(f.len == len && f.opcode == op && f.fin == (n > 1 && (s[1] & 1)));
    CHECK(f.header_len == hl + 4 && memcmp(f.key, "\x01\x02\x03\x04", 4) == 0);
}

static void
check_close_payload(const uint8_t *s, size_t n)
{
    uint8_t out[WS_CONTROL_MAX];
    uint16_t code = n >= 2 ? (uint16_t)(s[0] << 8 | s[1]) : 1000;
    size_t len = ws_close_payload(out, code, (const char *)s, n);

    CHECK(len >= 2 && len <= WS_CONTROL_MAX);
    CHECK((out[0] << 8 | out[1]) == code);
    CHECK(memcmp(out + 2, s, len - 2) == 0);
    if (n <= WS_CONTROL_MAX - 2)
        CHECK(len == n + 2);
    else if (utf8_is_valid((const char *)s, n))
        CHECK(len >= WS_CONTROL_MAX - 3 &&
              utf8_is_valid((const char *)out + 2, len - 2));
}

static void
check_accept(const uint8_t *s, size_t n)
{
    char out[WS_ACCEPT_LEN + 1];
    size_t i, ok = n >= WS_KEY_LEN && s[22] == '=' && s[23] == '=';

    for (i = 0; ok && i < 22; i++)
        ok = (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
             (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '/';
    if (n < WS_KEY_LEN)
        return;
    CHECK(ws_accept_key((const char *)s, WS_KEY_LEN, out) == (ok ? 0 : -1));
    if (ok)
        CHECK(strlen(out) == WS_ACCEPT_LEN && out[27] == '=');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[] = { 0, 1, 5, 16, 125, 126, 1000, 65536 };
    static struct log whole, other;
    const uint8_t *s = data + 2;
    size_t n, cap;
    unsigned seed;

    fuzz_hook_allocs();
    if (size < 2)
        return 0;
    cap = caps[data[0] & 7];
    seed = data[1];
    n = size - 2;
    run(s, n, cap, 0, 0, &whole);
    run(s, n, cap, 1, 0, &other);
    same_log(&whole, &other);
    run(s, n, cap, 2, seed, &other);
    same_log(&whole, &other);
    run(s, n, cap, 2, seed * 7919 + 1, &other);
    same_log(&whole, &other);
    check_encode(s, n);
    check_close_payload(s, n);
    check_accept(s, n);
    return 0;
}
