/* chat_line.h -- the chat profile's line door: nc, socat, telnet, chat. */
#ifndef CHATD_CHAT_LINE_H
#define CHATD_CHAT_LINE_H

#include "server/protocol.h"

extern const struct protocol proto_chat_line;

#endif
