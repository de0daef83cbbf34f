/* wire.c -- chatbench's wire protocols and its payload; see wire.h.
 * Every parser here checks a length before it looks at a byte; lines are
 * cut by src/proto's line_next() (IRC's by crlf_next()), as chatd cuts
 * them.  WebSocket text frames hold chat lines without their LF, so they
 * go through the same chat_line(); the accept key is src/proto/ws.c's. */
#include "bench/wire.h"

#include <stdio.h>
#include <string.h>

#include "proto/frame.h"
#include "proto/ws.h"

const char *const wire_names[] = { "line", "chat", "redis", "nats", "irc",
                                    "ws", NULL };

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
wire_payload_encode(char *out, size_t size, uint32_t pub, uint64_t seq,
                    uint64_t ts_ns)
{
    if (size < WIRE_PAYLOAD_MIN || pub > WIRE_PUB_MAX)
        return -1;
    memcpy(out, WIRE_MARKER, WIRE_MARKER_LEN);
    put_hex(out + WIRE_MARKER_LEN, pub, 4);
    put_hex(out + WIRE_MARKER_LEN + 4, seq, 12);
    put_hex(out + WIRE_MARKER_LEN + 16, ts_ns, 16);
    memset(out + WIRE_PAYLOAD_MIN, '.', size - WIRE_PAYLOAD_MIN);
    return 0;
}

int
wire_payload_decode(const char *data, size_t len, uint32_t *pub,
                    uint64_t *seq, uint64_t *ts_ns)
{
    const char *p = data, *end = data + len, *h;
    uint32_t g[4];

    /* The payload usually starts the frame; look further only if not. */
    while ((size_t)(end - p) >= WIRE_PAYLOAD_MIN) {
        if (memcmp(p, WIRE_MARKER, WIRE_MARKER_LEN) == 0) {
            /* pub(4) seq(12) ts(16): four groups of eight digits. */
            h = p + WIRE_MARKER_LEN;
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
        p = memchr(p + 1, WIRE_MARKER[0],
                   (size_t)(end - p) - WIRE_PAYLOAD_MIN);
        if (p == NULL)
            return -1;
    }
    return -1;
}

/* The length of the CRLF-terminated line at buf[0..len), not counting the
 * CRLF: >= 0, or -1 if it is not all there yet, or -2 if it is longer
 * than WIRE_CTL_MAX or holds a bare LF. */
static long
crlf_line(const char *buf, size_t len)
{
    size_t lim = len < WIRE_CTL_MAX + 2 ? len : WIRE_CTL_MAX + 2;
    const char *lf = memchr(buf, '\n', lim);

    if (lf == NULL)
        return len < WIRE_CTL_MAX + 2 ? -1 : -2;
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
static enum wire_status
resp_value(const char *buf, size_t len, size_t max, int depth, char *type,
           const char **s, size_t *slen, size_t *used, const char **why)
{
    long line = crlf_line(buf, len);
    long long n;
    size_t pos, u, i;
    enum wire_status st;

    if (line == -1)
        return WIRE_NEED_MORE;
    if (line < 1) {
        *why = line == -2 ? "RESP line too long or without CR" : "empty RESP line";
        return WIRE_BAD;
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
        return WIRE_OK;
    case '$':
        if (get_dec(buf + 1, (size_t)line - 1, &n) == -1 || n < -1) {
            *why = "bad RESP bulk length";
            return WIRE_BAD;
        }
        if (n == -1) {
            *used = pos;
            return WIRE_OK;
        }
        if ((unsigned long long)n > max) {
            *why = "RESP bulk string over the limit";
            return WIRE_BAD;
        }
        if (len - pos < (size_t)n + 2)
            return WIRE_NEED_MORE;
        if (buf[pos + (size_t)n] != '\r' || buf[pos + (size_t)n + 1] != '\n') {
            *why = "RESP bulk string without CRLF";
            return WIRE_BAD;
        }
        *s = buf + pos;
        *slen = (size_t)n;
        *used = pos + (size_t)n + 2;
        return WIRE_OK;
    case '*':
        if (get_dec(buf + 1, (size_t)line - 1, &n) == -1 || n < -1 ||
            n > (long long)max || depth >= RESP_DEPTH_MAX) {
            *why = "bad RESP array";
            return WIRE_BAD;
        }
        for (i = 0; n > 0 && i < (size_t)n; i++) {
            char t;
            const char *es;
            size_t el;

            st = resp_value(buf + pos, len - pos, max, depth + 1, &t, &es,
                            &el, &u, why);
            if (st != WIRE_OK)
                return st;
            pos += u;
        }
        *used = pos;
        return WIRE_OK;
    default:
        *why = "unknown RESP type";
        return WIRE_BAD;
    }
}

static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Is s[0..n) the word w (case-insensitive, ASCII)? */
static int
word_is(const char *s, size_t n, const char *w)
{
    size_t i;

    if (s == NULL || strlen(w) != n)
        return 0;
    for (i = 0; i < n; i++)
        if (lower(s[i]) != lower(w[i]))
            return 0;
    return 1;
}

/* The decimal number at buf[*pos..len) up to a CRLF, which it skips.
 * Returns WIRE_OK, WIRE_NEED_MORE, or WIRE_BAD for anything else. */
static enum wire_status
dec_crlf(const char *buf, size_t len, size_t *pos, size_t *out)
{
    size_t p = *pos, v = 0, digits = 0;

    for (; p < len && buf[p] >= '0' && buf[p] <= '9'; p++) {
        if (++digits > 15)
            return WIRE_BAD;
        v = v * 10 + (size_t)(buf[p] - '0');
    }
    if (p + 2 > len)
        return p - *pos > 15 ? WIRE_BAD : WIRE_NEED_MORE;
    if (digits == 0 || buf[p] != '\r' || buf[p + 1] != '\n')
        return WIRE_BAD;
    *pos = p + 2;
    *out = v;
    return WIRE_OK;
}

/* At buf + *pos, the rest of a bulk string after its '$': the length
 * (see dec_crlf), then that many bytes (*n, at most max) and term.  On
 * WIRE_OK *pos is past term. */
static enum wire_status
bulk_at(const char *buf, size_t len, size_t max, size_t *pos, size_t *n,
        const char *term)
{
    size_t tl = strlen(term);
    enum wire_status st = dec_crlf(buf, len, pos, n);

    if (st != WIRE_OK)
        return st;
    if (*n > max)
        return WIRE_BAD;
    if (len - *pos < *n + tl)
        return WIRE_NEED_MORE;
    if (memcmp(buf + *pos + *n, term, tl) != 0)
        return WIRE_BAD;
    *pos += *n + tl;
    return WIRE_OK;
}

#define RESP_MSG_HEAD       "*3\r\n$7\r\nmessage\r\n$"
#define RESP_MSG_HEAD_LEN   (sizeof(RESP_MSG_HEAD) - 1)

/* The frame nearly every delivery is: a "message" push of two bulk
 * strings.  WIRE_BAD here only means "not that shape": the caller then
 * takes the general path, which has the last word. */
static enum wire_status
resp_message(const char *buf, size_t len, size_t max, struct wire_frame *f,
             size_t *used)
{
    size_t pos = RESP_MSG_HEAD_LEN, n;
    enum wire_status st;

    if (len < RESP_MSG_HEAD_LEN)
        return memcmp(buf, RESP_MSG_HEAD, len) == 0 ? WIRE_NEED_MORE :
               WIRE_BAD;
    if (memcmp(buf, RESP_MSG_HEAD, RESP_MSG_HEAD_LEN) != 0)
        return WIRE_BAD;
    if ((st = bulk_at(buf, len, max, &pos, &n, "\r\n$")) != WIRE_OK ||
        (st = bulk_at(buf, len, max, &pos, &n, "\r\n")) != WIRE_OK)
        return st;
    f->ev = WIRE_EV_MSG;
    f->data = buf + pos - 2 - n;
    f->len = n;
    *used = pos;
    return WIRE_OK;
}

/* A RESP reply: a pub/sub push (an array whose first element names its
 * kind) or any other value. */
static enum wire_status
resp_next(const char *buf, size_t len, size_t max, struct wire_frame *f,
          size_t *used, const char **why)
{
    const char *s, *kind = NULL, *last = NULL;
    size_t slen, kindlen = 0, lastlen = 0, pos, u, i;
    long line;
    long long n;
    char type, lasttype = 0;
    enum wire_status st;

    if (len == 0)
        return WIRE_NEED_MORE;
    if ((st = resp_message(buf, len, max, f, used)) != WIRE_BAD)
        return st;
    if (buf[0] != '*') {
        st = resp_value(buf, len, max, 0, &type, &s, &slen, used, why);
        if (st != WIRE_OK)
            return st;
        f->data = s;
        f->len = slen;
        f->ev = type == '-' ? WIRE_EV_ERROR :
                type == '+' && word_is(s, slen, "pong") ? WIRE_EV_JOINED :
                WIRE_EV_OTHER;
        return WIRE_OK;
    }
    /* An array: walk it here to see its first and last elements. */
    line = crlf_line(buf, len);
    if (line == -1)
        return WIRE_NEED_MORE;
    if (line < 2 || get_dec(buf + 1, (size_t)line - 1, &n) == -1 ||
        n < -1 || n > (long long)max) {
        *why = "bad RESP array";
        return WIRE_BAD;
    }
    pos = (size_t)line + 2;
    for (i = 0; n > 0 && i < (size_t)n; i++) {
        st = resp_value(buf + pos, len - pos, max, 1, &type, &s, &slen, &u,
                        why);
        if (st != WIRE_OK)
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
    f->ev = WIRE_EV_OTHER;
    f->data = last;
    f->len = lastlen;
    if ((n == 3 && word_is(kind, kindlen, "message")) ||
        (n == 4 && word_is(kind, kindlen, "pmessage"))) {
        f->ev = WIRE_EV_MSG;
        if (last == NULL || lasttype != '$') {
            *why = "RESP message without a payload";
            return WIRE_BAD;
        }
    } else if (n == 3 && word_is(kind, kindlen, "subscribe")) {
        f->ev = WIRE_EV_JOINED;
    }
    return WIRE_OK;
}

/* A NATS server operation: MSG and HMSG carry a payload whose length is
 * the last word of the control line. */
static enum wire_status
nats_next(const char *buf, size_t len, size_t max, struct wire_frame *f,
          size_t *used, const char **why)
{
    long line = crlf_line(buf, len);
    const char *sp;
    long long n;
    size_t l, start;

    if (line == -1)
        return WIRE_NEED_MORE;
    if (line == -2) {
        *why = "NATS control line too long or without CR";
        return WIRE_BAD;
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
            return WIRE_BAD;
        }
        if ((unsigned long long)n > max) {
            *why = "NATS MSG over the limit";
            return WIRE_BAD;
        }
        start = l + 2;
        if (len - start < (size_t)n + 2)
            return WIRE_NEED_MORE;
        if (buf[start + (size_t)n] != '\r' ||
            buf[start + (size_t)n + 1] != '\n') {
            *why = "NATS MSG payload without CRLF";
            return WIRE_BAD;
        }
        f->ev = buf[0] == 'H' || buf[0] == 'h' ? WIRE_EV_OTHER : WIRE_EV_MSG;
        f->data = buf + start;
        f->len = (size_t)n;
        *used = start + (size_t)n + 2;
        return WIRE_OK;
    }
    if (word_is(buf, l, "ping")) {
        f->ev = WIRE_EV_PING;
    } else if (word_is(buf, l, "pong")) {
        f->ev = WIRE_EV_JOINED;
    } else if (word_is(buf, l, "+ok")) {
        f->ev = WIRE_EV_OTHER;
    } else if (l >= 4 && word_is(buf, 4, "-err")) {
        f->ev = WIRE_EV_ERROR;
    } else if (l >= 5 && word_is(buf, 5, "info ")) {
        f->ev = WIRE_EV_OTHER;
    } else {
        *why = "unknown NATS operation";
        return WIRE_BAD;
    }
    return WIRE_OK;
}

/* Does s[0..n) start with the NUL-terminated prefix p? */
static int
starts(const char *s, size_t n, const char *p)
{
    size_t pl = strlen(p);

    return n >= pl && memcmp(s, p, pl) == 0;
}

/* What a chat line is (see wire_next()); f holds the whole line and is
 * narrowed to the part that matters. */
static void
chat_line(struct wire_frame *f)
{
    const char *p = f->data, *end = f->data + f->len, *c;

    if (starts(p, f->len, "*** ")) {
        f->ev = starts(p + 4, f->len - 4, "error: ") ? WIRE_EV_ERROR :
                WIRE_EV_NOTICE;
        f->data += 4;
        f->len -= 4;
        return;
    }
    f->ev = WIRE_EV_OTHER;
    if (starts(p, f->len, "* "))
        return;
    if (starts(p, f->len, "[#")) {          /* "[#room] " from elsewhere */
        c = memchr(p, ']', f->len);
        if (c == NULL || end - c < 2 || c[1] != ' ')
            return;
        p = c + 2;
    }
    for (c = p; (c = memchr(c, ':', (size_t)(end - c))) != NULL; c++) {
        if (end - c >= 2 && c[1] == ' ') {  /* the nick ends at ": " */
            f->ev = WIRE_EV_MSG;
            f->data = c + 2;
            f->len = (size_t)(end - f->data);
            return;
        }
    }
}

/* The next space-separated word of s[*pos..len): its start and length;
 * *pos moves past it and the spaces after it. */
static const char *
irc_word(const char *s, size_t len, size_t *pos, size_t *n)
{
    size_t p = *pos, start = *pos;

    while (p < len && s[p] != ' ')
        p++;
    *n = p - start;
    while (p < len && s[p] == ' ')
        p++;
    *pos = p;
    return s + start;
}

/* An IRC numeric that means "no": 400-599, but for 422 (ERR_NOMOTD),
 * which a server without a MOTD sends every client that registers. */
static int
irc_is_error_numeric(const char *c, size_t n)
{
    if (n != 3 || (c[0] != '4' && c[0] != '5') || c[1] < '0' || c[1] > '9' ||
        c[2] < '0' || c[2] > '9')
        return 0;
    return memcmp(c, "422", 3) != 0;
}

/* What an IRC line is (see wire_next()); f holds the whole line, without
 * its line end, and is narrowed to the part that matters. */
static void
irc_line(struct wire_frame *f)
{
    const char *s = f->data, *cmd, *nick = NULL, *arg;
    size_t len = f->len, pos = 0, cl, nl = 0, al, bang;

    if (len > 0 && s[len - 1] == '\r')   /* a piece cut before its LF */
        len--;
    f->ev = WIRE_EV_OTHER;
    if (len > 0 && s[0] == '@')         /* IRCv3 message tags */
        irc_word(s, len, &pos, &cl);
    if (pos < len && s[pos] == ':') {
        pos++;
        nick = irc_word(s, len, &pos, &nl);
        for (bang = 0; bang < nl && nick[bang] != '!' && nick[bang] != '@';
             bang++)
            ;
        nl = bang;
    }
    cmd = irc_word(s, len, &pos, &cl);
    if (word_is(cmd, cl, "privmsg")) {
        irc_word(s, len, &pos, &al);            /* the target */
        if (pos < len && s[pos] == ':') {
            f->ev = WIRE_EV_MSG;
            f->data = s + pos + 1;
            f->len = len - pos - 1;
        } else if (pos < len) {
            arg = irc_word(s, len, &pos, &al);
            f->ev = WIRE_EV_MSG;
            f->data = arg;
            f->len = al;
        }
    } else if (word_is(cmd, cl, "ping")) {
        f->ev = WIRE_EV_PING;
        if (pos < len && s[pos] == ':')
            pos++;
        f->data = s + pos;
        f->len = len - pos;
    } else if (word_is(cmd, cl, "001")) {
        f->ev = WIRE_EV_WELCOME;
    } else if (word_is(cmd, cl, "join")) {
        f->ev = WIRE_EV_JOINED;
        f->data = nick != NULL ? nick : s;
        f->len = nl;
    } else if (word_is(cmd, cl, "error") || irc_is_error_numeric(cmd, cl)) {
        f->ev = WIRE_EV_ERROR;
        f->len = len;
    }
}

/* The head of the HTTP answer to the upgrade, at buf[0..len) (buf[0] is
 * 'H'): UPGRADED with the Sec-WebSocket-Accept value for a 101, ERROR
 * with the status line for another status. */
static enum wire_status
ws_http_answer(const char *buf, size_t len, struct wire_frame *f,
               size_t *used, const char **why)
{
    size_t lim = len < WIRE_CTL_MAX ? len : WIRE_CTL_MAX, pos = 0, n, v;
    const char *lf, *line;

    for (;;) {                  /* find the empty line that ends the head */
        lf = memchr(buf + pos, '\n', lim - pos);
        if (lf == NULL) {
            if (len < WIRE_CTL_MAX)
                return WIRE_NEED_MORE;
            *why = "HTTP answer head too long";
            return WIRE_BAD;
        }
        n = (size_t)(lf - buf) - pos;
        pos += n + 1;
        if (n == 0 || (n == 1 && buf[pos - 2] == '\r'))
            break;
    }
    *used = pos;
    line = buf;
    n = (size_t)((const char *)memchr(buf, '\n', pos) - buf);
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    if (n < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ') {
        *why = "not an HTTP answer";
        return WIRE_BAD;
    }
    if (memcmp(buf + 9, "101", 3) != 0 || (n > 12 && buf[12] != ' ')) {
        f->ev = WIRE_EV_ERROR;
        f->data = buf;
        f->len = n;
        return WIRE_OK;
    }
    f->ev = WIRE_EV_UPGRADED;
    f->data = buf;
    f->len = 0;
    for (line = buf + n; line < buf + pos; line = lf + 1) {
        lf = memchr(line, '\n', (size_t)(buf + pos - line));
        n = (size_t)(lf - line);
        if (n > 21 && word_is(line, 21, "sec-websocket-accept:")) {
            for (v = 21; v < n && (line[v] == ' ' || line[v] == '\t'); v++)
                ;
            while (n > v && (line[n - 1] == '\r' || line[n - 1] == ' ' ||
                             line[n - 1] == '\t'))
                n--;
            f->data = line + v;
            f->len = n - v;
        }
    }
    return WIRE_OK;
}

/* One whole server frame at buf[0..len); see wire_next(). */
static enum wire_status
ws_next(const char *buf, size_t len, size_t max, struct wire_frame *f,
        size_t *used, const char **why)
{
    const unsigned char *b = (const unsigned char *)buf;
    uint64_t n;
    size_t h = 2, i;
    int op, fin;

    if (len == 0)
        return WIRE_NEED_MORE;
    if (b[0] == 'H')
        return ws_http_answer(buf, len, f, used, why);
    fin = b[0] & 0x80;
    op = b[0] & 0x0f;
    if (b[0] & 0x70) {
        *why = "WebSocket frame with a reserved bit set";
        return WIRE_BAD;
    }
    if (len < 2)
        return WIRE_NEED_MORE;
    if (b[1] & 0x80) {
        *why = "masked WebSocket frame from the server";
        return WIRE_BAD;
    }
    n = b[1] & 0x7f;
    if (op >= WS_CLOSE && (!fin || n > WS_CONTROL_MAX)) {
        *why = "fragmented or long WebSocket control frame";
        return WIRE_BAD;
    }
    if (n >= 126) {
        h = n == 126 ? 4 : 10;
        if (h == 10 && len >= 3 && (b[2] & 0x80)) {
            *why = "WebSocket frame length over 2^63";
            return WIRE_BAD;
        }
        if (len < h)
            return WIRE_NEED_MORE;
        for (n = 0, i = 2; i < h; i++)
            n = n << 8 | b[i];
    }
    if (n > max) {
        *why = "WebSocket frame over the limit";
        return WIRE_BAD;
    }
    if (len - h < n)
        return WIRE_NEED_MORE;
    *used = h + (size_t)n;
    f->data = buf + h;
    f->len = (size_t)n;
    f->ev = WIRE_EV_OTHER;
    switch (op) {
    case WS_TEXT:
        if (!fin)
            break;
        chat_line(f);
        return WIRE_OK;
    case WS_BINARY:
        if (!fin)
            break;
        return WIRE_OK;
    case WS_PONG:
        return WIRE_OK;
    case WS_PING:
        f->ev = WIRE_EV_PING;
        return WIRE_OK;
    case WS_CLOSE:
        if (n == 1) {
            *why = "WebSocket close frame of 1 byte";
            return WIRE_BAD;
        }
        f->ev = WIRE_EV_CLOSE;
        f->data += n >= 2 ? 2 : 0;
        f->len -= n >= 2 ? 2 : 0;
        return WIRE_OK;
    case WS_CONT:
        break;
    default:
        *why = "unknown WebSocket opcode";
        return WIRE_BAD;
    }
    *why = "fragmented WebSocket message";
    return WIRE_BAD;
}

enum wire_status
wire_next(enum wire_kind k, const char *buf, size_t len, size_t max,
          struct wire_frame *f, size_t *used, const char **why)
{
    struct frame fr;

    switch (k) {
    case WIRE_LINE:
    case WIRE_CHAT:
        if (line_next(buf, len, max, &fr, used) == FRAME_NEED_MORE)
            return WIRE_NEED_MORE;
        f->ev = WIRE_EV_MSG;
        f->data = fr.data;
        f->len = fr.len;
        if (k == WIRE_CHAT)
            chat_line(f);
        return WIRE_OK;
    case WIRE_REDIS:
        return resp_next(buf, len, max, f, used, why);
    case WIRE_NATS:
        return nats_next(buf, len, max, f, used, why);
    case WIRE_IRC:
        if (crlf_next(buf, len, max, &fr, used) == FRAME_NEED_MORE)
            return WIRE_NEED_MORE;
        f->data = fr.data;
        f->len = fr.len;
        irc_line(f);
        return WIRE_OK;
    case WIRE_WS:
        return ws_next(buf, len, max, f, used, why);
    }
    *why = "unknown protocol";
    return WIRE_BAD;
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

uint64_t
wire_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The header of a masked client frame with a payload of n bytes: 2, 4 or
 * 10 bytes, then the 4-byte key. */
static size_t
ws_head_len(size_t n)
{
    return (n < 126 ? 2 : n < 65536 ? 4 : 10) + 4;
}

/* Append a whole masked client frame (FIN set) of opcode op holding
 * data[0..n), its key drawn from *rng. */
static int
put_ws(char *out, size_t cap, size_t *pos, int op, const char *data,
       size_t n, uint64_t *rng)
{
    size_t h = ws_head_len(n), i;
    unsigned char *o;
    uint32_t key;

    if (rng == NULL || cap - *pos < h + n)
        return -1;
    o = (unsigned char *)out + *pos;
    o[0] = (unsigned char)(0x80 | op);
    if (n < 126) {
        o[1] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        o[1] = 0x80 | 126;
        o[2] = (unsigned char)(n >> 8);
        o[3] = (unsigned char)n;
    } else {
        o[1] = 0x80 | 127;
        for (i = 0; i < 8; i++)
            o[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
    }
    key = (uint32_t)(wire_rand(rng) >> 32);
    memcpy(o + h - 4, &key, 4);
    for (i = 0; i < n; i++)
        o[h + i] = (unsigned char)data[i] ^ o[h - 4 + (i & 3)];
    *pos += h + n;
    return 0;
}

size_t
wire_pub_len(enum wire_kind k, const char *chan, size_t len)
{
    size_t cl = strlen(chan);

    switch (k) {
    case WIRE_LINE:
    case WIRE_CHAT:
        return len + 1;
    case WIRE_REDIS:   /* *3 $7 PUBLISH $cl chan $len payload */
        return 4 + 13 + (3 + dec_len(cl) + cl + 2) + (3 + dec_len(len) + len + 2);
    case WIRE_NATS:    /* PUB chan len\r\n payload\r\n */
        return 4 + cl + 1 + dec_len(len) + 2 + len + 2;
    case WIRE_IRC:     /* PRIVMSG chan :payload\r\n */
        return 8 + cl + 2 + len + 2;
    case WIRE_WS:
        return ws_head_len(len) + len;
    }
    return 0;
}

size_t
wire_encode_pub(enum wire_kind k, char *out, size_t cap, const char *chan,
                const char *payload, size_t len, uint64_t *rng)
{
    size_t pos = 0;
    int bad = 0;

    switch (k) {
    case WIRE_LINE:
    case WIRE_CHAT:
        bad = put(out, cap, &pos, payload, len) | put(out, cap, &pos, "\n", 1);
        break;
    case WIRE_REDIS:
        bad = put(out, cap, &pos, "*3\r\n$7\r\nPUBLISH\r\n", 17) |
              put_bulk(out, cap, &pos, chan, strlen(chan)) |
              put_bulk(out, cap, &pos, payload, len);
        break;
    case WIRE_NATS:
        bad = put(out, cap, &pos, "PUB ", 4) |
              put(out, cap, &pos, chan, strlen(chan)) |
              put(out, cap, &pos, " ", 1) | put_dec(out, cap, &pos, len) |
              put(out, cap, &pos, "\r\n", 2) |
              put(out, cap, &pos, payload, len) |
              put(out, cap, &pos, "\r\n", 2);
        break;
    case WIRE_IRC:
        bad = put(out, cap, &pos, "PRIVMSG ", 8) |
              put(out, cap, &pos, chan, strlen(chan)) |
              put(out, cap, &pos, " :", 2) |
              put(out, cap, &pos, payload, len) |
              put(out, cap, &pos, "\r\n", 2);
        break;
    case WIRE_WS:
        bad = put_ws(out, cap, &pos, WS_TEXT, payload, len, rng);
        break;
    }
    return bad ? 0 : pos;
}

#define NATS_CONNECT \
    "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"chatbench\"}\r\n"

/* Subscriber client's chat nickname, "b" and its number: 1 to 11 chars. */
static size_t
chat_nick(char out[16], uint32_t client)
{
    return (size_t)snprintf(out, 16, "b%lu", (unsigned long)client);
}

/* Subscriber client's IRC nickname, "bench" and its number: 6 to 15
 * chars (servers allow 9 by default, 30 when told). */
static size_t
irc_nick(char out[16], uint32_t client)
{
    return (size_t)snprintf(out, 16, "bench%lu", (unsigned long)client);
}

size_t
wire_encode_sub(enum wire_kind k, char *out, size_t cap, const char *chan,
                uint32_t client, uint64_t *rng)
{
    char nick[16], line[80];
    size_t pos = 0, nl;
    int bad = 0;

    switch (k) {
    case WIRE_LINE:
        break;
    case WIRE_CHAT:
        nl = chat_nick(nick, client);
        bad = put(out, cap, &pos, "/nick ", 6) | put(out, cap, &pos, nick, nl) |
              put(out, cap, &pos, "\n/join ", 7) |
              put(out, cap, &pos, chan, strlen(chan)) |
              put(out, cap, &pos, "\n", 1);
        break;
    case WIRE_REDIS:
        bad = put(out, cap, &pos, "*2\r\n$9\r\nSUBSCRIBE\r\n", 19) |
              put_bulk(out, cap, &pos, chan, strlen(chan));
        break;
    case WIRE_NATS:
        bad = put(out, cap, &pos, NATS_CONNECT, sizeof(NATS_CONNECT) - 1) |
              put(out, cap, &pos, "SUB ", 4) |
              put(out, cap, &pos, chan, strlen(chan)) |
              put(out, cap, &pos, " 1\r\nPING\r\n", 10);
        break;
    case WIRE_IRC:
        nl = irc_nick(nick, client);
        bad = put(out, cap, &pos, "NICK ", 5) | put(out, cap, &pos, nick, nl) |
              put(out, cap, &pos, "\r\nUSER ", 7) |
              put(out, cap, &pos, nick, nl) |
              put(out, cap, &pos, " 0 * :bench\r\n", 13);
        break;
    case WIRE_WS:
        nl = (size_t)snprintf(line, sizeof(line), "/nick b%lu",
                              (unsigned long)client);
        bad = put_ws(out, cap, &pos, WS_TEXT, line, nl, rng);
        nl = (size_t)snprintf(line, sizeof(line), "/join %s", chan);
        bad |= nl >= sizeof(line) ||
               put_ws(out, cap, &pos, WS_TEXT, line, nl, rng);
        break;
    }
    return bad ? 0 : pos;
}

size_t
wire_encode_join(enum wire_kind k, char *out, size_t cap, const char *chan)
{
    size_t pos = 0;

    if (k != WIRE_IRC)
        return 0;
    return (put(out, cap, &pos, "JOIN ", 5) |
            put(out, cap, &pos, chan, strlen(chan)) |
            put(out, cap, &pos, "\r\n", 2)) ? 0 : pos;
}

size_t
wire_encode_oper(char *out, size_t cap, const char *oper, uint32_t client)
{
    const char *colon = strchr(oper, ':');
    char nick[16];
    size_t pos = 0, nl = irc_nick(nick, client);

    if (colon == NULL)
        return 0;
    return (put(out, cap, &pos, "OPER ", 5) |
            put(out, cap, &pos, oper, (size_t)(colon - oper)) |
            put(out, cap, &pos, " ", 1) |
            put(out, cap, &pos, colon + 1, strlen(colon + 1)) |
            put(out, cap, &pos, "\r\nMODE ", 7) |
            put(out, cap, &pos, nick, nl) |
            put(out, cap, &pos, " +F\r\n", 5)) ? 0 : pos;
}

int
wire_irc_is_me(const char *nick, size_t len, uint32_t client)
{
    char me[16];

    irc_nick(me, client);
    return word_is(nick, len, me);
}

int
wire_echoes_own(enum wire_kind k)
{
    return k != WIRE_IRC;
}

int
wire_chat_is_joined(const char *text, size_t len, uint32_t client,
                    const char *room)
{
    char nick[16];
    size_t nl = chat_nick(nick, client), rl = strlen(room);
    const char *p = text, *end = text + len;

    if (len < nl + 8 + rl || !word_is(p, nl, nick))
        return 0;
    p += nl;
    if (memcmp(p, " joined ", 8) != 0)
        return 0;
    p += 8;
    if (!word_is(p, rl, room))
        return 0;
    p += rl;
    return p == end || *p == ' ';
}

size_t
wire_encode_hello(enum wire_kind k, char *out, size_t cap)
{
    size_t pos = 0;
    int bad = 0;

    switch (k) {
    case WIRE_LINE:
    case WIRE_CHAT:
    case WIRE_IRC:
    case WIRE_WS:
        break;
    case WIRE_REDIS:
        bad = put(out, cap, &pos, "*1\r\n$4\r\nPING\r\n", 14);
        break;
    case WIRE_NATS:
        bad = put(out, cap, &pos, NATS_CONNECT, sizeof(NATS_CONNECT) - 1) |
              put(out, cap, &pos, "PING\r\n", 6);
        break;
    }
    return bad ? 0 : pos;
}

size_t
wire_encode_pong(enum wire_kind k, char *out, size_t cap, const char *token,
                 size_t len, uint64_t *rng)
{
    size_t pos = 0;

    switch (k) {
    case WIRE_NATS:
        return put(out, cap, &pos, "PONG\r\n", 6) ? 0 : pos;
    case WIRE_IRC:
        return (put(out, cap, &pos, "PONG :", 6) |
                put(out, cap, &pos, token, len) |
                put(out, cap, &pos, "\r\n", 2)) ? 0 : pos;
    case WIRE_WS:
        return len > WS_CONTROL_MAX ||
               put_ws(out, cap, &pos, WS_PONG, token, len, rng) ? 0 : pos;
    default:
        return 0;
    }
}

void
wire_ws_key(char out[WIRE_WS_KEY_LEN + 1], uint64_t seed, uint32_t client)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint64_t s = seed ^ ((uint64_t)client * 0xd1342543de82ef95ull);
    unsigned char raw[18];
    uint64_t a = wire_rand(&s), b = wire_rand(&s);
    size_t i;

    for (i = 0; i < 8; i++) {
        raw[i] = (unsigned char)(a >> (8 * i));
        raw[8 + i] = (unsigned char)(b >> (8 * i));
    }
    raw[16] = raw[17] = 0;
    for (i = 0; i < 6; i++) {       /* 18 bytes: 24 characters */
        uint32_t v = (uint32_t)raw[3 * i] << 16 |
                     (uint32_t)raw[3 * i + 1] << 8 | raw[3 * i + 2];

        out[4 * i] = b64[v >> 18];
        out[4 * i + 1] = b64[(v >> 12) & 63];
        out[4 * i + 2] = b64[(v >> 6) & 63];
        out[4 * i + 3] = b64[v & 63];
    }
    out[22] = out[23] = '=';        /* 16 bytes: the last two pad */
    out[WIRE_WS_KEY_LEN] = '\0';
}

size_t
wire_ws_upgrade(char *out, size_t cap, const char *host, const char *key)
{
    int n = snprintf(out, cap, "GET /ws HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "\r\n", host, key);

    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

int
wire_ws_accept_is(const char *accept, size_t len, const char *key)
{
    char want[WS_ACCEPT_LEN + 1];

    if (ws_accept_key(key, strlen(key), want) == -1)
        return 0;
    return len == WS_ACCEPT_LEN && memcmp(accept, want, len) == 0;
}
