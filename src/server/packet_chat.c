/* packet_chat.c -- registration, acknowledgements and errors for the packet
 * profile.  A registered client's nickname is its protocol state; only
 * registered clients receive the chat. */
#include "server/packet_chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/lab.h"
#include "server/server.h"
#include "util/xmalloc.h"

/* Queue one packet of type with payload for c alone (header and payload in
 * one message, so one writev sends it whole). */
static void
send_packet(struct conn *c, int type, const char *payload, size_t len)
{
    char packet[PACKET_HEADER_LEN + 128];

    if (len > sizeof(packet) - PACKET_HEADER_LEN)
        len = sizeof(packet) - PACKET_HEADER_LEN;
    packet_header(packet, type, len);
    memcpy(packet + PACKET_HEADER_LEN, payload, len);
    route_copy_to_conn(&c->door->srv->route, c, packet,
                       PACKET_HEADER_LEN + len);
}

/* c sent something unacceptable: a type-3 packet saying why, then close c
 * once it is sent. */
static void
refuse(struct conn *c, const char *why)
{
    log_event("error for %s: %s", c->peer, why);
    send_packet(c, PACKET_ERROR, why, strlen(why));
    conn_close_after_flush(c, "protocol error");
}

/* Why nick (len bytes) is not acceptable, or NULL. */
static const char *
bad_nick(const struct conn_set *set, const char *nick, size_t len)
{
    const struct conn *o;

    if (len == 0)
        return "empty nickname";
    if (len > PACKET_NICK_MAX)
        return "nickname too long (at most 32 bytes)";
    if (memchr(nick, '\0', len) != NULL || memchr(nick, '\n', len) != NULL ||
        memchr(nick, '\r', len) != NULL)
        return "nickname contains NUL or newline";
    for (o = set->all; o != NULL; o = o->next)
        if (o->state != CONN_CLOSED && o->name != NULL &&
            strlen(o->name) == len && memcmp(o->name, nick, len) == 0)
            return "nickname already in use";
    return NULL;
}

static void
on_register(struct conn *c, const struct frame *f)
{
    const char *why;
    char *nick;

    if (c->name != NULL) {
        refuse(c, "already registered");
        return;
    }
    why = bad_nick(c->set, f->data, f->len);
    if (why != NULL) {
        refuse(c, why);
        return;
    }
    nick = xmalloc(f->len + 1);
    memcpy(nick, f->data, f->len);
    nick[f->len] = '\0';
    c->state_p = nick;
    c->name = nick;
    c->flags |= CONN_F_MEMBER;
    log_event("%s registered as %s", c->peer, c->name);
    send_packet(c, PACKET_ACK, "ok", 2);
}

static int
packet_frame(struct conn *c, const struct frame *f)
{
    char why[64];

    switch (f->type) {
    case PACKET_REGISTER:
        on_register(c, f);
        return 0;
    case PACKET_CHAT:
        if (c->name == NULL) {
            refuse(c, "register a nickname (type 0) first");
            return -1;
        }
        send_packet(c, PACKET_ACK, "ok", 2);
        lab_deliver(c, f->data, f->len);
        return 0;
    default:
        /* why must outlive this call only until it is copied and logged. */
        snprintf(why, sizeof(why), "unknown message type %d", f->type);
        refuse(c, why);
        return -1;
    }
}

static void
packet_open(struct conn *c)
{
    (void)c;                    /* no greeting: the client speaks first */
}

static void
packet_gone(struct conn *c, const char *why)
{
    (void)why;
    free(c->state_p);
    c->state_p = NULL;
    c->name = NULL;
}

/* The route's lab settings, with each message a type-1 packet. */
static void
packet_setup(struct server *srv)
{
    lab_setup(srv);
    srv->lab.hdrlen = PACKET_HEADER_LEN;
}

const struct protocol proto_packet = {
    .name = "packet",
    .setup = packet_setup,
    .open = packet_open,
    .frame = packet_frame,
    .bad = refuse,
    .gone = packet_gone,
    .read_failed = conn_read_failed,
    .write_failed = conn_write_failed,
    .flush = conn_flush,
    .wire = lab_wire,
};
