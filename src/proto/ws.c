/* ws.c -- WebSocket frames and messages (RFC 6455), server side.
 *
 * The reader never buffers a byte of its own: a frame header or a control
 * frame stays in the caller's input until all of it is there (at most
 * WS_PENDING_MAX bytes), and a data frame's payload goes straight into
 * the caller's message buffer as it arrives, unmasked and, for text,
 * UTF-8-checked on the way.  Every decision is made on bytes in stream
 * order, at the first byte that settles it, which is why the events do
 * not depend on how the stream was split. */
#include "proto/ws.h"

#include <string.h>

#include <openssl/evp.h>

#include "proto/utf8.h"

/* The two ways text fails, whichever path found it: a split must not
 * change even the reason. */
static const char not_utf8[] = "text not UTF-8";
static const char cut_utf8[] = "text ends inside a character";

static int
is_base64(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int
ws_accept_key(const char *key, size_t len, char out[WS_ACCEPT_LEN + 1])
{
    char in[WS_KEY_LEN + sizeof(WS_GUID) - 1];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t i;

    if (len != WS_KEY_LEN || key[22] != '=' || key[23] != '=')
        return -1;
    for (i = 0; i < 22; i++)
        if (!is_base64((unsigned char)key[i]))
            return -1;
    memcpy(in, key, WS_KEY_LEN);
    memcpy(in + WS_KEY_LEN, WS_GUID, sizeof(WS_GUID) - 1);
    if (EVP_Digest(in, sizeof(in), md, &mdlen, EVP_sha1(), NULL) != 1 ||
        mdlen != 20)
        return -1;
    /* 20 bytes are 28 characters and a NUL. */
    return EVP_EncodeBlock((unsigned char *)out, md, 20) == WS_ACCEPT_LEN ?
           0 : -1;
}

static enum ws_status
fail(struct ws_frame *f, uint16_t code, const char *why)
{
    f->code = code;
    f->why = why;
    return WS_FAIL;
}

enum ws_status
ws_frame_parse(const uint8_t *buf, size_t len, uint64_t max,
               struct ws_frame *f)
{
    uint64_t n;
    size_t i;
    int control;

    f->code = 0;
    f->why = NULL;
    if (len < 1)
        return WS_NEED_MORE;
    if (buf[0] & 0x70)
        return fail(f, WS_CLOSE_PROTOCOL, "reserved bit set");
    f->fin = buf[0] >> 7;
    f->opcode = buf[0] & 0x0F;
    if (f->opcode > WS_BINARY && (f->opcode < WS_CLOSE || f->opcode > WS_PONG))
        return fail(f, WS_CLOSE_PROTOCOL, "unknown opcode");
    control = f->opcode >= WS_CLOSE;
    if (control && !f->fin)
        return fail(f, WS_CLOSE_PROTOCOL, "fragmented control frame");
    if (len < 2)
        return WS_NEED_MORE;
    if (!(buf[1] & 0x80))
        return fail(f, WS_CLOSE_PROTOCOL, "unmasked client frame");
    n = buf[1] & 0x7F;
    if (control && n > WS_CONTROL_MAX)
        return fail(f, WS_CLOSE_PROTOCOL, "control frame over 125 bytes");
    i = 2;
    if (n == 126) {
        if (len < 4)
            return WS_NEED_MORE;
        n = (uint64_t)buf[2] << 8 | buf[3];
        i = 4;
    } else if (n == 127) {
        if (len < 3)
            return WS_NEED_MORE;
        if (buf[2] & 0x80)
            return fail(f, WS_CLOSE_PROTOCOL, "64-bit length top bit set");
        if (len < 10)
            return WS_NEED_MORE;
        for (n = 0, i = 2; i < 10; i++)
            n = n << 8 | buf[i];
    }
    if (!control && n > max)
        return fail(f, WS_CLOSE_TOO_BIG, "message too big");
    if (len < i + 4)
        return WS_NEED_MORE;
    memcpy(f->key, buf + i, 4);
    f->len = n;
    f->header_len = i + 4;
    return WS_OK;
}

void
ws_unmask(uint8_t *p, size_t n, const uint8_t key[4], size_t offset)
{
    uint8_t k[8];
    uint64_t m, w;
    size_t i;

    for (i = 0; i < 8; i++)
        k[i] = key[(offset + i) & 3];
    memcpy(&m, k, 8);
    for (i = 0; n - i >= 8; i += 8) {
        memcpy(&w, p + i, 8);
        w ^= m;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++)
        p[i] ^= k[i & 7];       /* i & 7 is i mod 4 plus 0 or 4 */
}

int
ws_close_code_is_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003) ||
           (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

void
ws_reader_init(struct ws_reader *r, uint8_t *msg, size_t cap)
{
    memset(r, 0, sizeof(*r));
    r->msg = msg;
    r->cap = cap;
    utf8_state_init(&r->utf8);
}

static enum ws_event_type
fail_ev(struct ws_event *ev, uint16_t code, const char *why)
{
    ev->type = WS_EV_ERROR;
    ev->code = code;
    ev->why = why;
    return WS_EV_ERROR;
}

static enum ws_event_type
message(struct ws_reader *r, struct ws_event *ev, const uint8_t *data,
        size_t len)
{
    ev->type = r->msg_op == WS_TEXT ? WS_EV_TEXT : WS_EV_BINARY;
    ev->data = data;
    ev->len = len;
    r->msg_op = 0;
    r->msg_len = 0;
    return ev->type;
}

/* A whole control frame: the header in r->f, its payload p[0..n),
 * already unmasked. */
static enum ws_event_type
control(struct ws_reader *r, const uint8_t *p, size_t n, struct ws_event *ev)
{
    ev->data = p;
    ev->len = n;
    if (r->f.opcode == WS_PING || r->f.opcode == WS_PONG) {
        ev->type = r->f.opcode == WS_PING ? WS_EV_PING : WS_EV_PONG;
        return ev->type;
    }
    if (n == 0) {
        ev->code = WS_CLOSE_NO_STATUS;
        ev->data = NULL;
    } else if (n == 1) {
        return fail_ev(ev, WS_CLOSE_PROTOCOL, "close payload of 1 byte");
    } else {
        ev->code = (uint16_t)(p[0] << 8 | p[1]);
        if (!ws_close_code_is_valid(ev->code))
            return fail_ev(ev, WS_CLOSE_PROTOCOL, "invalid close code");
        ev->data = p + 2;
        ev->len = n - 2;
        if (!utf8_is_valid((const char *)ev->data, ev->len))
            return fail_ev(ev, WS_CLOSE_BAD_DATA, "close reason not UTF-8");
    }
    ev->type = WS_EV_CLOSE;
    return WS_EV_CLOSE;
}

/* The frame header at in[0..len), and the control frame or the
 * one-frame message it starts if all of it is there.  *n is what was
 * consumed: 0 if the header (or control frame) is not complete. */
static enum ws_event_type
frame(struct ws_reader *r, uint8_t *in, size_t len, struct ws_event *ev,
      size_t *n)
{
    struct ws_frame *f = &r->f;
    uint64_t max;
    int op;

    *n = 0;
    /* Byte 0 first: its errors come before any later byte's. */
    if (ws_frame_parse(in, len < 1 ? 0 : 1, 0, f) == WS_FAIL)
        return fail_ev(ev, f->code, f->why);
    if (len < 1)
        return WS_EV_NONE;
    op = in[0] & 0x0F;
    if (op == WS_CONT && r->msg_op == 0)
        return fail_ev(ev, WS_CLOSE_PROTOCOL, "continuation with no message");
    if ((op == WS_TEXT || op == WS_BINARY) && r->msg_op != 0)
        return fail_ev(ev, WS_CLOSE_PROTOCOL, "new message inside a message");
    max = r->cap - (op == WS_CONT ? r->msg_len : 0);
    switch (ws_frame_parse(in, len, max, f)) {
    case WS_NEED_MORE:
        return WS_EV_NONE;
    case WS_FAIL:
        return fail_ev(ev, f->code, f->why);
    case WS_OK:
        break;
    }
    if (op >= WS_CLOSE) {
        if (len - f->header_len < f->len)
            return WS_EV_NONE;
        *n = f->header_len + (size_t)f->len;
        ws_unmask(in + f->header_len, (size_t)f->len, f->key, 0);
        return control(r, in + f->header_len, (size_t)f->len, ev);
    }
    *n = f->header_len;
    r->in_frame = 1;
    r->left = f->len;
    if (op != WS_CONT) {
        r->msg_op = op;
        r->msg_len = 0;
        utf8_state_init(&r->utf8);
    }
    /* A message in one frame, all here: a view into in, no copy. */
    if (op != WS_CONT && f->fin && len - f->header_len >= f->len) {
        uint8_t *p = in + f->header_len;
        size_t plen = (size_t)f->len;

        *n += plen;
        r->in_frame = 0;
        ws_unmask(p, plen, f->key, 0);
        if (op == WS_TEXT && !utf8_feed(&r->utf8, p, plen))
            return fail_ev(ev, WS_CLOSE_BAD_DATA, not_utf8);
        if (op == WS_TEXT && !utf8_is_whole(&r->utf8))
            return fail_ev(ev, WS_CLOSE_BAD_DATA, cut_utf8);
        return message(r, ev, p, plen);
    }
    return WS_EV_NONE;
}

/* Payload bytes of the data frame in r->f, from in[0..len), into the
 * message buffer; the message if this ends it. */
static enum ws_event_type
payload(struct ws_reader *r, const uint8_t *in, size_t len,
        struct ws_event *ev, size_t *n)
{
    size_t k = r->left < len ? (size_t)r->left : len;
    uint8_t *dst = r->msg + r->msg_len;

    *n = k;
    if (k > 0) {
        memcpy(dst, in, k);
        ws_unmask(dst, k, r->f.key, (size_t)(r->f.len - r->left));
        if (r->msg_op == WS_TEXT && !utf8_feed(&r->utf8, dst, k))
            return fail_ev(ev, WS_CLOSE_BAD_DATA, not_utf8);
        r->msg_len += k;
        r->left -= k;
    }
    if (r->left > 0)
        return WS_EV_NONE;
    r->in_frame = 0;
    if (!r->f.fin)
        return WS_EV_NONE;
    if (r->msg_op == WS_TEXT && !utf8_is_whole(&r->utf8))
        return fail_ev(ev, WS_CLOSE_BAD_DATA, cut_utf8);
    return message(r, ev, r->msg_len > 0 ? r->msg : NULL, r->msg_len);
}

enum ws_event_type
ws_read(struct ws_reader *r, uint8_t *in, size_t len, struct ws_event *ev,
        size_t *used)
{
    enum ws_event_type t = WS_EV_NONE;
    size_t pos = 0, n;

    memset(ev, 0, sizeof(*ev));
    if (r->done == 2) {
        *ev = r->error;
        *used = 0;
        return WS_EV_ERROR;
    }
    if (r->done == 1) {
        *used = len;
        return WS_EV_NONE;
    }
    for (;;) {
        if (r->in_frame) {
            t = payload(r, in + pos, len - pos, ev, &n);
            pos += n;
            if (t != WS_EV_NONE || r->in_frame)
                break;      /* an event, or the input is used up */
            continue;
        }
        t = frame(r, in + pos, len - pos, ev, &n);
        pos += n;
        if (t != WS_EV_NONE || n == 0)
            break;
    }
    *used = pos;
    if (t == WS_EV_ERROR) {
        r->done = 2;
        r->error = *ev;
    } else if (t == WS_EV_CLOSE) {
        r->done = 1;
    }
    return t;
}

size_t
ws_header_encode(uint8_t out[10], int fin, int opcode, uint64_t len)
{
    int i;

    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

size_t
ws_close_payload(uint8_t out[WS_CONTROL_MAX], uint16_t code,
                 const char *reason, size_t rlen)
{
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    if (rlen > WS_CONTROL_MAX - 2)
        rlen = utf8_cut(reason, rlen, WS_CONTROL_MAX - 2);
    if (rlen > 0)
        memcpy(out + 2, reason, rlen);
    return 2 + rlen;
}
