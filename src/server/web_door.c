/* web_door.c -- the chat profile's web door: HTTP/1.1 and WebSocket.
 *
 * A client of an http:// listener sends one request head.  GET / is the
 * web client (src/server/web/client.html, built in), /metrics the
 * Prometheus exposition, /healthz "ok"; each then closes.  GET /ws with
 * an upgrade becomes a WebSocket, and from then on the connection speaks
 * another door's protocol over it: the IRC door's with the subprotocol
 * text.ircv3.net, the line door's without.  Each text message is a line
 * of that protocol; each line it sends is a text frame.  The connection's
 * protocol (c->proto) becomes a WebSocket table that hands lines to the
 * other door's functions and reads room messages in the WebSocket wire
 * formats, so a broadcast is framed once for every WebSocket recipient.
 *
 * The bytes of a request or of frames not yet whole are kept in the
 * connection's own buffer (struct web); a message being assembled has a
 * buffer only while it is open, so an idle WebSocket costs little. */
#include "server/web_door.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http.h"
#include "proto/utf8.h"
#include "proto/ws.h"
#include "server/chat_line.h"
#include "server/irc_door.h"
#include "server/lab.h"
#include "server/metrics.h"
#include "server/server.h"
#include "util/compat.h"
#include "util/xmalloc.h"

#define HANDSHAKE_MS  (10 * 1000)   /* a request head within this */
#define WS_PING_MS    (60 * 1000)   /* silence before a ping */
#define WS_PONG_MS    (30 * 1000)   /* then silence before closing */
#define WS_MESSAGE_MAX (16 * 1024)  /* the longest message a client sends */
#define WS_IN_MAX     (64 * 1024 + WS_PENDING_MAX)
#define IRC_SUBPROTOCOL "text.ircv3.net"

extern const unsigned char web_page[];
extern const size_t web_page_len;

enum web_phase { WEB_HTTP, WEB_WS, WEB_DONE };

#define WEB_F_PINGED 0x1        /* a ping went out, no answer yet */

struct web {
    struct conn           *conn;
    enum web_phase         phase;
    unsigned               flags;
    uint8_t               *in;          /* owned: bytes not yet used */
    size_t                 len, cap;
    uint8_t               *msg;         /* owned while a message is open */
    struct ws_reader       rd;
    const struct protocol *inner;       /* the door spoken over it */
    struct loop_timer      timer;       /* the head's deadline, then pings */
};

static struct web *
web_of(const struct conn *c)
{
    return c->xport;
}

/* Bytes to c as they are: HTTP, and WebSocket control frames. */
static void
send_bytes(struct conn *c, const void *buf, size_t len)
{
    route_copy_bytes(&c->door->srv->route, c, buf, len);
}

/* --- WebSocket frames around lines --------------------------------------- */

/* Each line of buf[0..len) (ended by LF or CRLF; an unended last line
 * too) as one text frame into out, or only the length if out is NULL. */
static size_t
ws_wrap(char *out, const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    size_t total = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (nl != NULL ? nl : end) - p;
        uint8_t head[10];
        size_t h;

        if (n > 0 && p[n - 1] == '\r')
            n--;
        h = ws_header_encode(head, 1, WS_TEXT, n);
        if (out != NULL) {
            memcpy(out + total, head, h);
            memcpy(out + total + h, p, n);
        }
        total += h + n;
        p = nl != NULL ? nl + 1 : end;
    }
    return total;
}

/* The room messages of the line and IRC doors, framed. */
static size_t
ws_encode(const struct hub_event *ev, int w, char *buf, size_t cap)
{
    char line[ROUTE_ENCODE_MAX - 10];
    size_t n;

    switch (w) {
    case WIRE_WS_LINE:
        n = chat_line_encode(ev, WIRE_LINE, line, sizeof(line));
        break;
    case WIRE_WS_LINE_AWAY:
        n = chat_line_encode(ev, WIRE_LINE_AWAY, line, sizeof(line));
        break;
    default:
        n = irc_door_encode(ev, WIRE_IRC, line, sizeof(line));
        break;
    }
    if (n == 0 || ws_wrap(NULL, line, n) > cap)
        return 0;
    return ws_wrap(buf, line, n);
}

static int
ws_wire(const struct conn *c, const struct room *r)
{
    switch (web_of(c)->inner->wire(c, r)) {
    case WIRE_LINE:
        return WIRE_WS_LINE;
    case WIRE_LINE_AWAY:
        return WIRE_WS_LINE_AWAY;
    default:
        return WIRE_WS_IRC;
    }
}

/* --- closing -------------------------------------------------------------- */

/* A close frame with code and why, then close once it is written. */
static void
ws_close(struct conn *c, uint16_t code, const char *why)
{
    uint8_t frame[10 + WS_CONTROL_MAX];
    size_t n = ws_close_payload(frame + 2, code, why, strlen(why));
    size_t h = ws_header_encode(frame, 1, WS_CLOSE, n);

    memmove(frame + h, frame + 2, n);
    send_bytes(c, frame, h + n);
    web_of(c)->phase = WEB_DONE;
    conn_close_after_flush(c, why);
}

static void
http_reply(struct conn *c, const char *status, const char *type,
           const char *extra, const void *body, size_t len)
{
    char head[512];
    int n;

    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 %s\r\n"
                 "Content-Type: %s\r\n"
                 "Content-Length: %zu\r\n"
                 "Cache-Control: no-store\r\n"
                 "X-Content-Type-Options: nosniff\r\n"
                 "%s"
                 "Connection: close\r\n\r\n",
                 status, type, len, extra != NULL ? extra : "");
    send_bytes(c, head, (size_t)n);
    if (len > 0)
        send_bytes(c, body, len);
    web_of(c)->phase = WEB_DONE;
    conn_close_after_flush(c, status);
}

static void
http_error(struct conn *c, const char *status, const char *extra)
{
    char body[128];
    int n = snprintf(body, sizeof(body), "%s\n", status);

    http_reply(c, status, "text/plain; charset=utf-8", extra, body,
               (size_t)n);
}

/* --- WebSocket input ------------------------------------------------------ */

/* One text message: each of its lines is a frame of the inner protocol
 * (a line longer than the protocol takes is cut into pieces, on character
 * boundaries; the IRC door keeps the first). */
static int
take_message(struct conn *c, const char *data, size_t len)
{
    const struct protocol *inner = web_of(c)->inner;
    size_t max = inner->max_message != 0 ? inner->max_message
                                         : c->door->srv->cfg->max_message;
    const char *p = data, *end = data + len;

    while (p < end && c->state == CONN_OPEN) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl != NULL ? nl : end;
        struct frame f;

        f.type = 0;
        f.why = NULL;
        f.data = p;
        f.len = (size_t)(stop - p);
        if (f.len > 0 && f.data[f.len - 1] == '\r')
            f.len--;
        while (f.len > max) {           /* the line door's pieces */
            size_t cut = utf8_cut(f.data, f.len, max);
            struct frame piece = f;

            if (inner == &proto_irc)
                break;
            piece.len = cut;
            piece.type = FRAME_PIECE;
            if (inner->frame(c, &piece) != 0)
                return -1;
            f.data += cut;
            f.len -= cut;
        }
        if (f.len > max)
            f.len = utf8_cut(f.data, f.len, max);
        if (inner->frame(c, &f) != 0)
            return -1;
        p = nl != NULL ? nl + 1 : end;
    }
    return c->state == CONN_OPEN ? 0 : -1;
}

/* Read every whole event out of w->in.  Returns 0, or -1 once c stops
 * reading. */
static int
ws_input(struct conn *c)
{
    struct web *w = web_of(c);
    size_t off = 0, used;
    struct ws_event ev;
    int rc = 0;

    while (rc == 0 && w->phase == WEB_WS) {
        uint8_t pong[10 + WS_CONTROL_MAX];
        size_t h;

        if (w->msg == NULL && off < w->len) {
            w->msg = xmalloc(WS_MESSAGE_MAX);
            w->rd.msg = w->msg;
        }
        ws_read(&w->rd, w->in + off, w->len - off, &ev, &used);
        off += used;
        switch (ev.type) {
        case WS_EV_NONE:
            rc = 1;
            break;
        case WS_EV_TEXT:
            metrics_count(&c->door->srv->metrics, METRIC_MESSAGES_IN, 1);
            if (take_message(c, (const char *)ev.data, ev.len) != 0)
                return -1;
            break;
        case WS_EV_BINARY:
            ws_close(c, 1003, "binary messages are not taken");
            return -1;
        case WS_EV_PING:
            h = ws_header_encode(pong, 1, WS_PONG, ev.len);
            memcpy(pong + h, ev.data, ev.len);
            send_bytes(c, pong, h + ev.len);
            break;
        case WS_EV_PONG:
            w->flags &= ~WEB_F_PINGED;
            break;
        case WS_EV_CLOSE:
            ws_close(c, ev.code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL
                                                      : ev.code,
                     "closed by peer");
            return -1;
        case WS_EV_ERROR:
            ws_close(c, ev.code, ev.why);
            return -1;
        }
    }
    memmove(w->in, w->in + off, w->len - off);
    w->len -= off;
    /* No message open: the buffer goes until the next one. */
    if (w->rd.msg_op == 0 && !w->rd.in_frame && w->msg != NULL) {
        free(w->msg);
        w->msg = NULL;
        w->rd.msg = NULL;
    }
    if (w->len == 0 && w->cap > 0) {
        free(w->in);
        w->in = NULL;
        w->cap = 0;
    }
    return 0;
}

static void
on_ws_timer(struct loop *l, void *arg)
{
    struct conn *c = arg;
    struct web *w = web_of(c);
    uint64_t quiet = loop_now(l) - c->last_active;
    uint8_t ping[10];

    if (quiet < WS_PING_MS) {
        w->flags &= ~WEB_F_PINGED;
        loop_timer_start(l, &w->timer, WS_PING_MS - quiet, 0, on_ws_timer, c);
        return;
    }
    if (!(w->flags & WEB_F_PINGED)) {
        w->flags |= WEB_F_PINGED;
        send_bytes(c, ping, ws_header_encode(ping, 1, WS_PING, 0));
        loop_timer_start(l, &w->timer, WS_PONG_MS, 0, on_ws_timer, c);
        return;
    }
    ws_close(c, WS_CLOSE_GOING_AWAY, "ping timeout");
}

/* --- HTTP ------------------------------------------------------------------ */

static const struct protocol proto_ws;

/* GET /ws with an upgrade: answer 101 and speak inner over frames. */
static void
upgrade(struct conn *c, const struct http_request *req)
{
    const struct http_field *key = http_header(req, "sec-websocket-key");
    const struct http_field *ver = http_header(req, "sec-websocket-version");
    const struct http_field *up = http_header(req, "upgrade");
    const struct http_field *conn = http_header(req, "connection");
    const struct http_field *sub = http_header(req, "sec-websocket-protocol");
    struct web *w = web_of(c);
    char accept[WS_ACCEPT_LEN + 1], head[256];
    int irc, n;

    if (up == NULL || !http_has_token(up->value, up->valuelen, "websocket") ||
        conn == NULL ||
        !http_has_token(conn->value, conn->valuelen, "upgrade")) {
        http_error(c, "426 Upgrade Required",
                   "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
        return;
    }
    if (ver == NULL || ver->valuelen != 2 || memcmp(ver->value, "13", 2)) {
        http_error(c, "426 Upgrade Required", "Sec-WebSocket-Version: 13\r\n");
        return;
    }
    if (key == NULL || ws_accept_key(key->value, key->valuelen, accept)) {
        http_error(c, "400 Bad Request", NULL);
        return;
    }
    irc = sub != NULL &&
          http_has_token(sub->value, sub->valuelen, IRC_SUBPROTOCOL);
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 101 Switching Protocols\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n"
                 "%s\r\n",
                 accept,
                 irc ? "Sec-WebSocket-Protocol: " IRC_SUBPROTOCOL "\r\n" : "");
    send_bytes(c, head, (size_t)n);
    w->phase = WEB_WS;
    w->inner = irc ? &proto_irc : &proto_chat_line;
    c->proto = &proto_ws;
    ws_reader_init(&w->rd, NULL, WS_MESSAGE_MAX);
    loop_timer_start(c->set->loop, &w->timer, WS_PING_MS, 0, on_ws_timer, c);
    log_event("%s: WebSocket (%s)", c->peer, irc ? "IRC" : "line");
    w->inner->open(c);
}

static void
route_request(struct conn *c, const struct http_request *req)
{
    struct server *srv = c->door->srv;
    /* The target is not NUL-terminated: the head may end the buffer. */
    const char *q = memchr(req->target, '?', req->targetlen);
    size_t path = q != NULL ? (size_t)(q - req->target) : req->targetlen;

    if (req->methodlen != 3 || memcmp(req->method, "GET", 3) != 0) {
        http_error(c, "405 Method Not Allowed", "Allow: GET\r\n");
    } else if (path == 3 && memcmp(req->target, "/ws", 3) == 0) {
        upgrade(c, req);
    } else if (path == 1 && req->target[0] == '/') {
        http_reply(c, "200 OK", "text/html; charset=utf-8",
                   "Content-Security-Policy: default-src 'none'; "
                   "script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                   "img-src 'self' data:; connect-src 'self'\r\n"
                   "Referrer-Policy: no-referrer\r\n",
                   web_page, web_page_len);
    } else if (path == 8 && memcmp(req->target, "/metrics", 8) == 0) {
        char *text;
        size_t len = metrics_render(srv, &text);

        http_reply(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8",
                   NULL, text, len);
        free(text);
    } else if (path == 8 && memcmp(req->target, "/healthz", 8) == 0) {
        http_reply(c, "200 OK", "text/plain; charset=utf-8", NULL, "ok\n", 3);
    } else {
        http_error(c, "404 Not Found", NULL);
    }
}

/* What the head in w->in says, once it is whole. */
static int
http_input(struct conn *c)
{
    struct web *w = web_of(c);
    struct http_request req;
    size_t rest;

    switch (http_parse((const char *)w->in, w->len, &req)) {
    case HTTP_NEED_MORE:
        return 0;
    case HTTP_BAD:
        http_error(c, "400 Bad Request", NULL);
        return -1;
    case HTTP_TOO_LARGE:
        http_error(c, "431 Request Header Fields Too Large", NULL);
        return -1;
    case HTTP_VERSION:
        http_error(c, "505 HTTP Version Not Supported", NULL);
        return -1;
    case HTTP_OK:
        break;
    }
    loop_timer_stop(c->set->loop, &w->timer);
    route_request(c, &req);
    if (w->phase != WEB_WS)
        return -1;
    /* Frames the client sent right behind its head are the socket's. */
    rest = w->len - req.head_len;
    memmove(w->in, w->in + req.head_len, rest);
    w->len = rest;
    return ws_input(c);
}

/* --- the protocol ---------------------------------------------------------- */

static void
on_handshake_timeout(struct loop *l, void *arg)
{
    struct conn *c = arg;

    (void)l;
    http_error(c, "408 Request Timeout", NULL);
}

static void
web_setup(struct server *srv)
{
    /* Both doors' encoders, whichever listeners exist. */
    proto_chat_line.setup(srv);
    proto_irc.setup(srv);
    srv->route.encode[WIRE_WS_LINE] = ws_encode;
    srv->route.encode[WIRE_WS_LINE_AWAY] = ws_encode;
    srv->route.encode[WIRE_WS_IRC] = ws_encode;
}

static void
web_open(struct conn *c)
{
    struct web *w = xcalloc(1, sizeof(*w));

    w->conn = c;
    loop_timer_init(&w->timer);
    c->xport = w;
    loop_timer_start(c->set->loop, &w->timer, HANDSHAKE_MS, 0,
                     on_handshake_timeout, c);
}

/* Each read: keep its bytes, then use what is whole. */
static int
web_frame(struct conn *c, const struct frame *f)
{
    struct web *w = web_of(c);
    size_t max = w->phase == WEB_HTTP ? HTTP_HEAD_MAX + 1 : WS_IN_MAX;

    if (w->phase == WEB_DONE)
        return -1;
    if (w->len + f->len > max) {        /* cannot happen to a valid peer */
        if (w->phase == WEB_HTTP)
            http_error(c, "431 Request Header Fields Too Large", NULL);
        else
            ws_close(c, WS_CLOSE_TOO_BIG, "too much input at once");
        return -1;
    }
    if (w->len + f->len > w->cap) {     /* just what it needs: most heads
                                         * and frames come whole */
        w->cap = w->len + f->len;
        w->in = xrealloc(w->in, w->cap);
    }
    memcpy(w->in + w->len, f->data, f->len);
    w->len += f->len;
    return w->phase == WEB_HTTP ? http_input(c) : ws_input(c);
}

static void
web_gone(struct conn *c, const char *why)
{
    struct web *w = web_of(c);

    if (w == NULL)
        return;
    if (w->inner != NULL)
        w->inner->gone(c, why);
    loop_timer_stop(c->set->loop, &w->timer);
    free(w->in);
    free(w->msg);
    free(w);
    c->xport = NULL;
}

const struct protocol proto_web = {
    .name = "web",
    .framing = &framing_raw,
    .max_message = CONN_READ_BUF,
    .setup = web_setup,
    .open = web_open,
    .frame = web_frame,
    .bad = lab_bad,
    .gone = web_gone,
    .read_failed = conn_read_failed,
    .write_failed = conn_write_failed,
    .flush = conn_flush,
    .wire = ws_wire,
};

/* After the upgrade: the line door's or the IRC door's lines in frames
 * (which of them: struct web's inner). */
static const struct protocol proto_ws = {
    .name = "web",
    .frame = web_frame,
    .bad = lab_bad,
    .gone = web_gone,
    .read_failed = conn_read_failed,
    .write_failed = conn_write_failed,
    .flush = conn_flush,
    .wire = ws_wire,
    .wrap = ws_wrap,
};
