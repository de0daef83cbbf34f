/* web_door.h -- the chat profile's web door (http://): the web client,
 * WebSocket, /metrics and /healthz. */
#ifndef CHATD_WEB_DOOR_H
#define CHATD_WEB_DOOR_H

#include "server/protocol.h"

extern const struct protocol proto_web;

#endif
