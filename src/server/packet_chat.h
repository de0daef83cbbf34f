/* packet_chat.h -- the packet profile's protocol on top of the engine.
 *
 * Client to server: type 0 registers a nickname, type 1 is a message.
 * Server to client: type 1 a message ("nick: text"), type 2 the
 * acknowledgement "ok", type 3 an error, after which the server closes. */
#ifndef CHATD_PACKET_CHAT_H
#define CHATD_PACKET_CHAT_H

#include "proto/frame.h"
#include "server/conn.h"

enum packet_type {
    PACKET_REGISTER = 0,
    PACKET_CHAT = 1,
    PACKET_ACK = 2,
    PACKET_ERROR = 3,
};

/* One complete packet from c: register, relay, or refuse. */
void packet_chat_frame(struct conn *c, const struct frame *f);

/* c sent something unacceptable: reply with why (a type-3 packet in the
 * packet framing; nothing in the others), then close c once it is sent. */
void packet_chat_error(struct conn *c, const char *why);

#endif
