/* chat_line.h -- the chat profile's line door: nc, socat, telnet, chat. */
#ifndef CHATD_CHAT_LINE_H
#define CHATD_CHAT_LINE_H

#include "server/route.h"

extern const struct protocol proto_chat_line;

/* ev as the line door shows it (w: WIRE_LINE or WIRE_LINE_AWAY), one
 * line with its LF; the web door frames it. */
wire_encode_fn chat_line_encode;

#endif
