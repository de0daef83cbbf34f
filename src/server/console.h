/* console.h -- what the console says about clients, chosen once.
 *
 * The exercises each promise their own console wording (the line chat's
 * "accepted connection", the lab profiles' "New connection from", the
 * select-chat trace, the sink's raw data), so the wording is a table the
 * profile picks, and no code on the hot path asks which profile it is. */
#ifndef CHATD_CONSOLE_H
#define CHATD_CONSOLE_H

#include <stddef.h>

struct conn;

struct console {
    /* c was accepted; online clients counted with it. */
    void (*accepted)(const struct conn *c, size_t online);
    /* c is closed, for the reason why. */
    void (*closed)(const struct conn *c, const char *why);
    /* About to read c (select-chat's trace). */
    void (*readable)(const struct conn *c);
    /* Read n > 0 bytes from c, or the peer closed (n == 0). */
    void (*received)(const struct conn *c, size_t n);
    /* A message from c entered the server. */
    void (*message)(const struct conn *c, const char *data, size_t len);
};

enum console_style {
    CONSOLE_EVENTS,     /* "accepted connection from ...", "connection
                         * terminated: ...", messages as "who: text" */
    CONSOLE_LAB,        /* "New connection from ADDR:PORT", "Connection
                         * closed: ..."; messages only under --log trace */
    CONSOLE_SERIAL,     /* as CONSOLE_LAB, one client at a time */
    CONSOLE_SELECT,     /* exactly the classroom select() server's traces */
    CONSOLE_HUB,        /* as CONSOLE_EVENTS; the hub logs the messages */
};

/* Fill out with the console of style; sink_data: messages are written
 * byte-exact to stdout (--log sink) instead of as escaped lines. */
void console_choose(struct console *out, enum console_style style,
                    int sink_data);

#endif
