/* protocol.h -- what a door speaks: a table of functions chosen once.
 *
 * Each listener is a door: a protocol (what a frame does, how a client is
 * greeted, what it costs to leave) and a framing (how input is cut).  The
 * engine calls through the table and never asks which profile it runs,
 * just as the loop calls through its backend.  Adding a door means adding
 * one file and one table. */
#ifndef CHATD_PROTOCOL_H
#define CHATD_PROTOCOL_H

#include <stddef.h>

#include "proto/frame.h"

struct conn;
struct room;
struct server;
struct tls_ctx;

struct protocol {
    const char *name;
    /* The protocol's own framing, or NULL: the profile's (--framing). */
    const struct framing *framing;
    /* Its own longest frame, or 0: the profile's (--max-message). */
    size_t max_message;
    /* Once, when the server starts with a door of this protocol: set up
     * what the protocol shares among its doors; NULL if nothing. */
    void (*setup)(struct server *srv);
    /* A new client: greet it, join it (conn.c has linked and logged it). */
    void (*open)(struct conn *c);
    /* One complete frame.  Returns 0, or -1 once c stops reading. */
    int (*frame)(struct conn *c, const struct frame *f);
    /* The framing refused input (why is static): answer and close c. */
    void (*bad)(struct conn *c, const char *why);
    /* c is about to be freed: leave the rooms, free state_p. */
    void (*gone)(struct conn *c, const char *why);
    /* Reading or writing failed with errno err (usually: close c). */
    void (*read_failed)(struct conn *c, int err);
    void (*write_failed)(struct conn *c, int err);
    /* c has new output this pass (usually conn_flush). */
    void (*flush)(struct conn *c);
    /* Which wire format c reads room r's messages in (route.h). */
    int (*wire)(const struct conn *c, const struct room *r);
    /* c's queue went over its limit under --on-overflow disconnect (conn.c
     * has logged it): close c, after last words if the protocol has any
     * (conn_close_saying).  NULL: conn_close(c, "output queue over its
     * limit"). */
    void (*overflowed)(struct conn *c);
    /* What is sent to one client is lines of the protocol, each with its
     * end (LF, CRLF); wrap, if set, puts each line of buf[0..len) in a
     * frame of its own (WebSocket) into out and returns the length (out
     * NULL: only the length). */
    size_t (*wrap)(char *out, const char *buf, size_t len);
    /* Its clients are read more slowly when they send faster than
     * --flood-burst lines at once and --flood-rate a second after that. */
    int flood;
};

/* A listener's protocol, framing and limits; conns borrow it. */
struct door {
    const struct protocol *proto;
    const struct framing  *framing;
    size_t                 max_message;
    unsigned               flood_burst; /* lines at once; 0: no flood */
    unsigned               flood_rate;  /* ... control; lines a second */
    struct server         *srv;     /* borrowed: the protocol's context */
    struct tls_ctx        *tls;     /* borrowed: the server's certificate
                                     * (tls://, ircs://, https://), or
                                     * NULL: plain TCP or Unix */
};

#endif
