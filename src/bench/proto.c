/* proto.c -- chatbench's three wire protocols and its payload; see
 * proto.h.  Every parser here checks a length before it looks at a byte. */
#include "bench/proto.h"

#include <string.h>

const char *const proto_names[] = { "line", "redis", "nats", NULL };

#define RESP_DEPTH_MAX 4        /* nesting we skip over; pub/sub needs 1 */

static const char hexdig[] = "0123456789abcdef";

/* Write v as exactly n lowercase hex digits at out. */
static void
put_hex(char *out, uint64_t v, int n)
{
    while (n-- > 0) {
        out[n] = hexdig[v & 0xf];
        v >>= 4;
    }
}

#define ONES 0x0101010101010101ull

/* Eight lowercase hex digits at in, as a number.  Returns 0, or -1 if one
 * of them is not [0-9a-f].  Every receiver runs this four times per
 * delivery, so it works on all eight at once (SWAR): a range test per
 * byte by adding so that the top bit says "at or above", then the nibbles
 * folded pairwise into bytes, bytes into halves, halves into the word. */
static int
hex8(const char *in, uint32_t *out)
{
    static const uint16_t one = 1;
    uint64_t x, digit, lower, v;

    memcpy(&x, in, 8);
    if (*(const unsigned char *)&one == 0)
        x = __builtin_bswap64(x);       /* big-endian: char 0 to byte 0 */
    if (x & (0x80 * ONES))
        return -1;
    digit = (x + 0x50 * ONES) & ~(x + 0x46 * ONES);     /* 0x30..0x39 */
    lower = (x + 0x1f * ONES) & ~(x + 0x19 * ONES);     /* 0x61..0x66 */
    if (((digit | lower) & (0x80 * ONES)) != 0x80 * ONES)
        return -1;
    v = (x & (0x0f * ONES)) + 9 * ((x >> 6) & ONES);    /* nibble values */
    v = ((v & 0x000f000f000f000full) << 4) | ((v >> 8) & 0x000f000f000f000full);
    v = ((v & 0x000000ff000000ffull) << 8) | ((v >> 16) & 0x000000ff000000ffull);
    v = ((v & 0xffffull) << 16) | ((v >> 32) & 0xffffull);
    *out = (uint32_t)v;
    return 0;
}

int
proto_payload_encode(char *out, size_t size, uint32_t pub, uint64_t seq,
                     uint64_t ts_ns)
{
    if (size < PROTO_PAYLOAD_MIN || pub > PROTO_PUB_MAX)
        return -1;
    memcpy(out, PROTO_MARKER, PROTO_MARKER_LEN);
    put_hex(out + PROTO_MARKER_LEN, pub, 4);
    put_hex(out + PROTO_MARKER_LEN + 4, seq, 12);
    put_hex(out + PROTO_MARKER_LEN + 16, ts_ns, 16);
    memset(out + PROTO_PAYLOAD_MIN, '.', size - PROTO_PAYLOAD_MIN);
    return 0;
}

int
proto_payload_decode(const char *data, size_t len, uint32_t *pub,
                     uint64_t *seq, uint64_t *ts_ns)
{
    const char *p = data, *end = data + len, *h;
    uint32_t g[4];

    /* The payload usually starts the frame; look further only if not. */
    while ((size_t)(end - p) >= PROTO_PAYLOAD_MIN) {
        if (memcmp(p, PROTO_MARKER, PROTO_MARKER_LEN) == 0) {
            /* pub(4) seq(12) ts(16): four groups of eight digits. */
            h = p + PROTO_MARKER_LEN;
            if (hex8(h, &g[0]) == 0 && hex8(h + 8, &g[1]) == 0 &&
                hex8(h + 16, &g[2]) == 0 && hex8(h + 24, &g[3]) == 0) {
                *pub = g[0] >> 16;
                *seq = (uint64_t)(g[0] & 0xffff) << 32 | g[1];
                *ts_ns = (uint64_t)g[2] << 32 | g[3];
                return 0;
            }
            p++;
            continue;
        }
        p = memchr(p + 1, PROTO_MARKER[0],
                   (size_t)(end - p) - PROTO_PAYLOAD_MIN);
        if (p == NULL)
            return -1;
    }
    return -1;
}

/* The length of the CRLF-terminated line at buf[0..len), not counting the
 * CRLF: >= 0, or -1 if it is not all there yet, or -2 if it is longer
 * than PROTO_CTL_MAX or holds a bare LF. */
static long
crlf_line(const char *buf, size_t len)
{
    size_t lim = len < PROTO_CTL_MAX + 2 ? len : PROTO_CTL_MAX + 2;
    const char *lf = memchr(buf, '\n', lim);

    if (lf == NULL)
        return len < PROTO_CTL_MAX + 2 ? -1 : -2;
    if (lf == buf || lf[-1] != '\r')
        return -2;
    return (long)(lf - buf) - 1;
}

/* A decimal integer (an optional '-' then digits) in s[0..n).  Returns 0,
 * or -1 if it is empty, not a number, or above 2^62. */
static int
get_dec(const char *s, size_t n, long long *out)
{
    long long v = 0;
    int neg = 0;
    size_t i = 0;

    if (n > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == n)
        return -1;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (1LL << 62) / 10)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

/* One RESP2 value at buf[0..len): its type byte in *type and, for a
 * simple string, error or bulk string, its text in *s and *slen (NULL for a
 * null bulk or an array, which is skipped whole).  Sets *used. */
static enum proto_status
resp_value(const char *buf, size_t len, size_t max, int depth, char *type,
           const char **s, size_t *slen, size_t *used, const char **why)
{
    long line = crlf_line(buf, len);
    long long n;
    size_t pos, u, i;
    enum proto_status st;

    if (line == -1)
        return PROTO_NEED_MORE;
    if (line < 1) {
        *why = line == -2 ? "RESP line too long or without CR" : "empty RESP line";
        return PROTO_BAD;
    }
    *type = buf[0];
    *s = NULL;
    *slen = 0;
    pos = (size_t)line + 2;
    switch (buf[0]) {
    case '+': case '-': case ':':
        *s = buf + 1;
        *slen = (size_t)line - 1;
        *used = pos;
        return PROTO_OK;
    case '$':
        if (get_dec(buf + 1, (size_t)line - 1, &n) == -1 || n < -1) {
            *why = "bad RESP bulk length";
            return PROTO_BAD;
        }
        if (n == -1) {
            *used = pos;
            return PROTO_OK;
        }
        if ((unsigned long long)n > max) {
            *why = "RESP bulk string over the limit";
            return PROTO_BAD;
        }
        if (len - pos < (size_t)n + 2)
            return PROTO_NEED_MORE;
        if (buf[pos + (size_t)n] != '\r' || buf[pos + (size_t)n + 1] != '\n') {
            *why = "RESP bulk string without CRLF";
            return PROTO_BAD;
        }
        *s = buf + pos;
        *slen = (size_t)n;
        *used = pos + (size_t)n + 2;
        return PROTO_OK;
    case '*':
        if (get_dec(buf + 1, (size_t)line - 1, &n) == -1 || n < -1 ||
            n > (long long)max || depth >= RESP_DEPTH_MAX) {
            *why = "bad RESP array";
            return PROTO_BAD;
        }
        for (i = 0; n > 0 && i < (size_t)n; i++) {
            char t;
            const char *es;
            size_t el;

            st = resp_value(buf + pos, len - pos, max, depth + 1, &t, &es,
                            &el, &u, why);
            if (st != PROTO_OK)
                return st;
            pos += u;
        }
        *used = pos;
        return PROTO_OK;
    default:
        *why = "unknown RESP type";
        return PROTO_BAD;
    }
}

/* Is s[0..n) the word w (case-insensitive, ASCII)? */
static int
word_is(const char *s, size_t n, const char *w)
{
    size_t i;

    if (s == NULL || strlen(w) != n)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != w[i])
            return 0;
    }
    return 1;
}

/* The decimal number at buf[*pos..len) up to a CRLF, which it skips.
 * Returns PROTO_OK, PROTO_NEED_MORE, or PROTO_BAD for anything else. */
static enum proto_status
dec_crlf(const char *buf, size_t len, size_t *pos, size_t *out)
{
    size_t p = *pos, v = 0, digits = 0;

    for (; p < len && buf[p] >= '0' && buf[p] <= '9'; p++) {
        if (++digits > 15)
            return PROTO_BAD;
        v = v * 10 + (size_t)(buf[p] - '0');
    }
    if (p + 2 > len)
        return p - *pos > 15 ? PROTO_BAD : PROTO_NEED_MORE;
    if (digits == 0 || buf[p] != '\r' || buf[p + 1] != '\n')
        return PROTO_BAD;
    *pos = p + 2;
    *out = v;
    return PROTO_OK;
}

#define RESP_MSG_HEAD       "*3\r\n$7\r\nmessage\r\n$"
#define RESP_MSG_HEAD_LEN   (sizeof(RESP_MSG_HEAD) - 1)

/* The frame nearly every delivery is: a "message" push of two bulk
 * strings.  PROTO_BAD here only means "not that shape": the caller then
 * takes the general path, which has the last word. */
static enum proto_status
resp_message(const char *buf, size_t len, size_t max, struct proto_frame *f,
             size_t *used)
{
    size_t pos = RESP_MSG_HEAD_LEN, n;
    enum proto_status st;

    if (len < RESP_MSG_HEAD_LEN)
        return memcmp(buf, RESP_MSG_HEAD, len) == 0 ? PROTO_NEED_MORE :
               PROTO_BAD;
    if (memcmp(buf, RESP_MSG_HEAD, RESP_MSG_HEAD_LEN) != 0)
        return PROTO_BAD;
    if ((st = dec_crlf(buf, len, &pos, &n)) != PROTO_OK)
        return st;
    if (n > max)
        return PROTO_BAD;
    if (len - pos < n + 3)
        return PROTO_NEED_MORE;
    if (buf[pos + n] != '\r' || buf[pos + n + 1] != '\n' ||
        buf[pos + n + 2] != '$')
        return PROTO_BAD;
    pos += n + 3;
    if ((st = dec_crlf(buf, len, &pos, &n)) != PROTO_OK)
        return st;
    if (n > max)
        return PROTO_BAD;
    if (len - pos < n + 2)
        return PROTO_NEED_MORE;
    if (buf[pos + n] != '\r' || buf[pos + n + 1] != '\n')
        return PROTO_BAD;
    f->ev = PROTO_EV_MSG;
    f->data = buf + pos;
    f->len = n;
    *used = pos + n + 2;
    return PROTO_OK;
}

/* A RESP reply: a pub/sub push (an array whose first element names its
 * kind) or any other value. */
static enum proto_status
resp_next(const char *buf, size_t len, size_t max, struct proto_frame *f,
          size_t *used, const char **why)
{
    const char *s, *kind = NULL, *last = NULL;
    size_t slen, kindlen = 0, lastlen = 0, pos, u, i;
    long line;
    long long n;
    char type, lasttype = 0;
    enum proto_status st;

    if (len == 0)
        return PROTO_NEED_MORE;
    if ((st = resp_message(buf, len, max, f, used)) != PROTO_BAD)
        return st;
    if (buf[0] != '*') {
        st = resp_value(buf, len, max, 0, &type, &s, &slen, used, why);
        if (st != PROTO_OK)
            return st;
        f->data = s;
        f->len = slen;
        f->ev = type == '-' ? PROTO_EV_ERROR :
                type == '+' && word_is(s, slen, "pong") ? PROTO_EV_JOINED :
                PROTO_EV_OTHER;
        return PROTO_OK;
    }
    /* An array: walk it here to see its first and last elements. */
    line = crlf_line(buf, len);
    if (line == -1)
        return PROTO_NEED_MORE;
    if (line < 2 || get_dec(buf + 1, (size_t)line - 1, &n) == -1 ||
        n < -1 || n > (long long)max) {
        *why = "bad RESP array";
        return PROTO_BAD;
    }
    pos = (size_t)line + 2;
    for (i = 0; n > 0 && i < (size_t)n; i++) {
        st = resp_value(buf + pos, len - pos, max, 1, &type, &s, &slen, &u,
                        why);
        if (st != PROTO_OK)
            return st;
        if (i == 0) {
            kind = s;
            kindlen = slen;
        }
        last = s;
        lastlen = slen;
        lasttype = type;
        pos += u;
    }
    *used = pos;
    f->ev = PROTO_EV_OTHER;
    f->data = last;
    f->len = lastlen;
    if ((n == 3 && word_is(kind, kindlen, "message")) ||
        (n == 4 && word_is(kind, kindlen, "pmessage"))) {
        f->ev = PROTO_EV_MSG;
        if (last == NULL || lasttype != '$') {
            *why = "RESP message without a payload";
            return PROTO_BAD;
        }
    } else if (n == 3 && word_is(kind, kindlen, "subscribe")) {
        f->ev = PROTO_EV_JOINED;
    }
    return PROTO_OK;
}

/* A NATS server operation: MSG and HMSG carry a payload whose length is
 * the last word of the control line. */
static enum proto_status
nats_next(const char *buf, size_t len, size_t max, struct proto_frame *f,
          size_t *used, const char **why)
{
    long line = crlf_line(buf, len);
    const char *sp;
    long long n;
    size_t l, start;

    if (line == -1)
        return PROTO_NEED_MORE;
    if (line == -2) {
        *why = "NATS control line too long or without CR";
        return PROTO_BAD;
    }
    l = (size_t)line;
    f->data = buf;
    f->len = l;
    *used = l + 2;
    if ((l >= 4 && word_is(buf, 4, "msg ")) ||
        (l >= 5 && word_is(buf, 5, "hmsg "))) {
        for (sp = buf + l; sp > buf && sp[-1] != ' '; sp--)
            ;
        if (get_dec(sp, (size_t)(buf + l - sp), &n) == -1 || n < 0) {
            *why = "bad NATS MSG length";
            return PROTO_BAD;
        }
        if ((unsigned long long)n > max) {
            *why = "NATS MSG over the limit";
            return PROTO_BAD;
        }
        start = l + 2;
        if (len - start < (size_t)n + 2)
            return PROTO_NEED_MORE;
        if (buf[start + (size_t)n] != '\r' ||
            buf[start + (size_t)n + 1] != '\n') {
            *why = "NATS MSG payload without CRLF";
            return PROTO_BAD;
        }
        f->ev = buf[0] == 'H' || buf[0] == 'h' ? PROTO_EV_OTHER : PROTO_EV_MSG;
        f->data = buf + start;
        f->len = (size_t)n;
        *used = start + (size_t)n + 2;
        return PROTO_OK;
    }
    if (word_is(buf, l, "ping")) {
        f->ev = PROTO_EV_PING;
    } else if (word_is(buf, l, "pong")) {
        f->ev = PROTO_EV_JOINED;
    } else if (word_is(buf, l, "+ok")) {
        f->ev = PROTO_EV_OTHER;
    } else if (l >= 4 && word_is(buf, 4, "-err")) {
        f->ev = PROTO_EV_ERROR;
    } else if (l >= 5 && word_is(buf, 5, "info ")) {
        f->ev = PROTO_EV_OTHER;
    } else {
        *why = "unknown NATS operation";
        return PROTO_BAD;
    }
    return PROTO_OK;
}

enum proto_status
proto_next(enum proto_kind k, const char *buf, size_t len, size_t max,
           struct proto_frame *f, size_t *used, const char **why)
{
    const char *lf;

    switch (k) {
    case PROTO_LINE:
        lf = memchr(buf, '\n', len < max + 1 ? len : max + 1);
        if (lf == NULL) {
            if (len <= max)
                return PROTO_NEED_MORE;
            f->len = max;       /* a piece, as chatd cuts long lines */
            *used = max;
        } else {
            f->len = (size_t)(lf - buf);
            *used = f->len + 1;
        }
        f->ev = PROTO_EV_MSG;
        f->data = buf;
        return PROTO_OK;
    case PROTO_REDIS:
        return resp_next(buf, len, max, f, used, why);
    case PROTO_NATS:
        return nats_next(buf, len, max, f, used, why);
    }
    *why = "unknown protocol";
    return PROTO_BAD;
}

/* Append s[0..n) at out + *pos if it fits in cap; returns 0 or -1. */
static int
put(char *out, size_t cap, size_t *pos, const char *s, size_t n)
{
    if (cap - *pos < n)
        return -1;
    memcpy(out + *pos, s, n);
    *pos += n;
    return 0;
}

/* Append the decimal form of v. */
static int
put_dec(char *out, size_t cap, size_t *pos, size_t v)
{
    char tmp[24];
    int i = (int)sizeof(tmp);

    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return put(out, cap, pos, tmp + i, sizeof(tmp) - (size_t)i);
}

/* Append a RESP bulk string "$n\r\n<s>\r\n". */
static int
put_bulk(char *out, size_t cap, size_t *pos, const char *s, size_t n)
{
    return put(out, cap, pos, "$", 1) | put_dec(out, cap, pos, n) |
           put(out, cap, pos, "\r\n", 2) | put(out, cap, pos, s, n) |
           put(out, cap, pos, "\r\n", 2);
}

static size_t
dec_len(size_t v)
{
    size_t n = 1;

    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

size_t
proto_pub_len(enum proto_kind k, const char *chan, size_t len)
{
    size_t cl = strlen(chan);

    switch (k) {
    case PROTO_LINE:
        return len + 1;
    case PROTO_REDIS:   /* *3 $7 PUBLISH $cl chan $len payload */
        return 4 + 13 + (3 + dec_len(cl) + cl + 2) + (3 + dec_len(len) + len + 2);
    case PROTO_NATS:    /* PUB chan len\r\n payload\r\n */
        return 4 + cl + 1 + dec_len(len) + 2 + len + 2;
    }
    return 0;
}

size_t
proto_encode_pub(enum proto_kind k, char *out, size_t cap, const char *chan,
                 const char *payload, size_t len)
{
    size_t pos = 0;
    int bad = 0;

    switch (k) {
    case PROTO_LINE:
        bad = put(out, cap, &pos, payload, len) | put(out, cap, &pos, "\n", 1);
        break;
    case PROTO_REDIS:
        bad = put(out, cap, &pos, "*3\r\n$7\r\nPUBLISH\r\n", 17) |
              put_bulk(out, cap, &pos, chan, strlen(chan)) |
              put_bulk(out, cap, &pos, payload, len);
        break;
    case PROTO_NATS:
        bad = put(out, cap, &pos, "PUB ", 4) |
              put(out, cap, &pos, chan, strlen(chan)) |
              put(out, cap, &pos, " ", 1) | put_dec(out, cap, &pos, len) |
              put(out, cap, &pos, "\r\n", 2) |
              put(out, cap, &pos, payload, len) |
              put(out, cap, &pos, "\r\n", 2);
        break;
    }
    return bad ? 0 : pos;
}

#define NATS_CONNECT \
    "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"chatbench\"}\r\n"

size_t
proto_encode_sub(enum proto_kind k, char *out, size_t cap, const char *chan)
{
    size_t pos = 0;
    int bad = 0;

    switch (k) {
    case PROTO_LINE:
        break;
    case PROTO_REDIS:
        bad = put(out, cap, &pos, "*2\r\n$9\r\nSUBSCRIBE\r\n", 19) |
              put_bulk(out, cap, &pos, chan, strlen(chan));
        break;
    case PROTO_NATS:
        bad = put(out, cap, &pos, NATS_CONNECT, sizeof(NATS_CONNECT) - 1) |
              put(out, cap, &pos, "SUB ", 4) |
              put(out, cap, &pos, chan, strlen(chan)) |
              put(out, cap, &pos, " 1\r\nPING\r\n", 10);
        break;
    }
    return bad ? 0 : pos;
}

size_t
proto_encode_hello(enum proto_kind k, char *out, size_t cap)
{
    size_t pos = 0;
    int bad = 0;

    switch (k) {
    case PROTO_LINE:
        break;
    case PROTO_REDIS:
        bad = put(out, cap, &pos, "*1\r\n$4\r\nPING\r\n", 14);
        break;
    case PROTO_NATS:
        bad = put(out, cap, &pos, NATS_CONNECT, sizeof(NATS_CONNECT) - 1) |
              put(out, cap, &pos, "PING\r\n", 6);
        break;
    }
    return bad ? 0 : pos;
}

size_t
proto_encode_pong(char *out, size_t cap)
{
    size_t pos = 0;

    return put(out, cap, &pos, "PONG\r\n", 6) ? 0 : pos;
}
