/* irc_door.h -- the chat profile's IRC door (irc://). */
#ifndef CHATD_IRC_DOOR_H
#define CHATD_IRC_DOOR_H

#include "server/route.h"

extern const struct protocol proto_irc;

/* ev as an IRC line with its CRLF (w: WIRE_IRC); the web door frames
 * it. */
wire_encode_fn irc_door_encode;

#endif
