/* packet_chat.h -- the packet profile's protocol on top of the engine.
 *
 * Client to server: type 0 registers a nickname, type 1 is a message.
 * Server to client: type 1 a message ("nick: text"), type 2 the
 * acknowledgement "ok", type 3 an error, after which the server closes. */
#ifndef CHATD_PACKET_CHAT_H
#define CHATD_PACKET_CHAT_H

#include "server/protocol.h"

#define PACKET_NICK_MAX 32      /* bytes of a registered nickname */

extern const struct protocol proto_packet;

#endif
