/* chat.h -- the interactive client: stdin lines out, server data in.
 *
 * One thread waits on stdin and the socket at once, on the event loop
 * chatd uses (src/loop/), so neither side can stall the other.  In packet mode the client speaks the
 * packet profile's framing: it registers a nickname, sends each line as a
 * type-1 packet and prints what arrives. */
#ifndef CHATD_CHAT_H
#define CHATD_CHAT_H

#include "util/err.h"

struct chat_config {
    const char *addr;           /* ADDR as given, or NULL for the default */
    const char *backend;        /* loop backend name; NULL: poll */
    int         packet;         /* packet framing */
    const char *nick;           /* packet: the nickname to register */
    int         quiet_acks;     /* packet: do not print "ok" */
    int         linger_ms;      /* after stdin EOF, wait this long at most */
};

/* Run the client until the server closes, or stdin ends and the server has
 * answered (or linger_ms pass).  Returns the exit status: 0, or 1 with a
 * reason in err (cannot connect, a server error, a broken connection). */
int chat_run(const struct chat_config *cfg, char err[ERR_LEN]);

#endif
