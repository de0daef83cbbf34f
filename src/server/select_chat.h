/* select_chat.h -- the select-chat profile's protocol (see the .c). */
#ifndef CHATD_SELECT_CHAT_H
#define CHATD_SELECT_CHAT_H

#include "server/protocol.h"

extern const struct protocol proto_select;

#endif
