/* lab.h -- the exercises' protocol: relay what a client sends.
 *
 * The line chat, sink, sink-seq, echo and relay profiles are one protocol
 * with three orthogonal options: the framing (raw, line, crlf), the route
 * (none, self, others, all) and the prefix (none, addr, nick).  Each is
 * chosen once, when the server starts: the route as a function, the
 * prefix as a value, the terminator from the framing. */
#ifndef CHATD_LAB_H
#define CHATD_LAB_H

#include <stddef.h>

#include "server/block.h"
#include "server/protocol.h"

struct conn;

struct lab {
    /* Queue s, a message from `from`, for whoever the route names. */
    void      (*route)(struct conn *from, const struct slice *s);
    int         prefix;         /* enum prefix */
    size_t      hdrlen;         /* a packet header before each message */
    const char *tail;           /* the terminator the framing strips */
    size_t      taillen;
};

/* line, sink, echo, relay. */
extern const struct protocol proto_lab;
/* sink-seq: one client at a time (the listeners pause while one is on). */
extern const struct protocol proto_serial;

/* The pieces other protocols built on this one reuse (select-chat,
 * packet). */
void lab_setup(struct server *srv);
void lab_open(struct conn *c);
int  lab_frame(struct conn *c, const struct frame *f);
void lab_bad(struct conn *c, const char *why);
void lab_gone(struct conn *c, const char *why);
int  lab_wire(const struct conn *c, const struct room *r);

/* A message from c enters the server: log it, build it once with the
 * configured prefix and terminator, and route it. */
void lab_deliver(struct conn *c, const char *payload, size_t len);

#endif
