/* irc_door.h -- the chat profile's IRC door (irc://). */
#ifndef CHATD_IRC_DOOR_H
#define CHATD_IRC_DOOR_H

#include "server/protocol.h"

extern const struct protocol proto_irc;

#endif
