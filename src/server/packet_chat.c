/* packet_chat.c -- registration, acknowledgements and errors for the packet
 * profile. */
#include "server/packet_chat.h"

#include <stdio.h>
#include <string.h>

#include "server/server.h"

/* Queue one packet of type with payload for c alone (header and payload in
 * one message, so one writev sends it whole). */
static void
send_packet(struct conn *c, int type, const char *payload, size_t len)
{
    struct slice s;
    char *p = server_reserve(c->srv, PACKET_HEADER_LEN + len, &s);

    packet_header(p, type, len);
    memcpy(p + PACKET_HEADER_LEN, payload, len);
    conn_send(c, &s);
}

void
packet_chat_error(struct conn *c, const char *why)
{
    log_event("error for %s: %s", c->peer, why);
    if (c->srv->cfg->framing == FRAMING_PACKET)
        send_packet(c, PACKET_ERROR, why, strlen(why));
    server_close_after_flush(c, "protocol error");
}

/* Why nick (len bytes) is not acceptable, or NULL. */
static const char *
bad_nick(const struct server *srv, const char *nick, size_t len)
{
    const struct conn *o;

    if (len == 0)
        return "empty nickname";
    if (len > CONN_NICK_MAX)
        return "nickname too long (at most 32 bytes)";
    if (memchr(nick, '\0', len) != NULL || memchr(nick, '\n', len) != NULL ||
        memchr(nick, '\r', len) != NULL)
        return "nickname contains NUL or newline";
    for (o = srv->conns; o != NULL; o = o->next)
        if (o->state != CONN_CLOSED && (o->flags & CONN_F_REGISTERED) &&
            strlen(o->nick) == len && memcmp(o->nick, nick, len) == 0)
            return "nickname already in use";
    return NULL;
}

static void
on_register(struct conn *c, const struct frame *f)
{
    const char *why;

    if (c->flags & CONN_F_REGISTERED) {
        packet_chat_error(c, "already registered");
        return;
    }
    why = bad_nick(c->srv, f->data, f->len);
    if (why != NULL) {
        packet_chat_error(c, why);
        return;
    }
    memcpy(c->nick, f->data, f->len);
    c->nick[f->len] = '\0';
    c->flags |= CONN_F_REGISTERED;
    log_event("%s registered as %s", c->peer, c->nick);
    send_packet(c, PACKET_ACK, "ok", 2);
}

void
packet_chat_frame(struct conn *c, const struct frame *f)
{
    char why[64];

    switch (f->type) {
    case PACKET_REGISTER:
        on_register(c, f);
        return;
    case PACKET_CHAT:
        if (!(c->flags & CONN_F_REGISTERED)) {
            packet_chat_error(c, "register a nickname (type 0) first");
            return;
        }
        send_packet(c, PACKET_ACK, "ok", 2);
        server_deliver(c->srv, c, f->data, f->len);
        return;
    default:
        snprintf(why, sizeof(why), "unknown message type %d", f->type);
        /* why must outlive this call only until it is copied and logged. */
        packet_chat_error(c, why);
        return;
    }
}
