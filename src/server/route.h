/* route.h -- who receives what, and how a broadcast is queued cheaply.
 *
 * Every message is written once per wire format into that format's arena.
 * A message for a group (every client, or a room) is not pushed onto each
 * recipient's queue at once: consecutive messages for the same group lie
 * one after another in each format's arena, so the route only remembers
 * the range written for the group, and gives each member one slice of it
 * when the group changes, when anything else is sent, or before the loop
 * sleeps (route_settle).  A pass of N messages to M members then costs
 * O(M) queue pushes, not O(N * M).  Anything that could change the order
 * a client sees (a reply, a message to another group, someone joining or
 * leaving) settles the pending range first. */
#ifndef CHATD_ROUTE_H
#define CHATD_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "hub/hub.h"
#include "server/block.h"
#include "server/conn.h"

/* The wire formats a message may need.  Each has its own arena, so a
 * group's messages in one format stay contiguous. */
enum wire {
    WIRE_LAB,           /* the exercises' formats, as each profile frames */
    WIRE_LINE,          /* line door, the room is current: "nick: text" */
    WIRE_LINE_AWAY,     /* line door, another room: "[#room] nick: text" */
    WIRE_IRC,           /* IRC: ":nick!nick@host PRIVMSG #room :text" */
    WIRE_WS_LINE,       /* the same three, each in a WebSocket frame */
    WIRE_WS_LINE_AWAY,
    WIRE_WS_IRC,
    WIRE_MAX = 8,
};

#define ROUTE_ENCODE_MAX 2048   /* one encoded message, any format */

/* Write ev in wire format w into buf (cap bytes); returns the length,
 * 0 if this format shows nothing for ev. */
typedef size_t wire_encode_fn(const struct hub_event *ev, int w, char *buf,
                              size_t cap);

struct route {
    struct conn_set *set;                   /* borrowed */
    struct arena     arena[WIRE_MAX];
    struct arena     direct;                /* what is for one client */
    wire_encode_fn  *encode[WIRE_MAX];      /* set by the doors in use */
    /* The group being gathered: NULL, the conn_set (every member client)
     * or a room; its ranges hold one block reference each. */
    const void      *group;
    const void      *except;                /* a conn or a user, or NULL */
    uint64_t         id_end;                /* every client: ids below */
    unsigned         wires;                 /* formats the group needs */
    struct slice     pend[WIRE_MAX];
    uint64_t         msgs;                  /* messages pending */
    size_t           pend_max;              /* settle past this many bytes */
};

void route_init(struct route *rt, struct conn_set *set);
/* Settle, then drop the arenas. */
void route_fini(struct route *rt);

/* Room for n bytes of wire format w (see arena_reserve). */
char *route_reserve(struct route *rt, int w, size_t n, struct slice *s);

/* Queue s (written with route_reserve) for c alone. */
void route_to_conn(struct route *rt, struct conn *c, const struct slice *s);
/* Queue a copy of buf[0..len) (whole lines of c's protocol; framed by its
 * wrap, if it has one) for c alone.  Such copies have an arena of their
 * own, so they never split the ranges gathered for groups: a member's
 * queue keeps one piece for a room's messages however many replies go out
 * in between. */
void route_copy_to_conn(struct route *rt, struct conn *c, const void *buf,
                        size_t len);
/* Queue a copy of buf[0..len) for c alone, as it is (never framed). */
void route_copy_bytes(struct route *rt, struct conn *c, const void *buf,
                      size_t len);
/* Queue s (WIRE_LAB) for every open client with CONN_F_MEMBER but except
 * (NULL: all of them). */
void route_to_all(struct route *rt, const struct slice *s,
                  const struct conn *except);
/* Encode ev once per format the members of ev->room need and queue it for
 * each member but except. */
void route_to_room(struct route *rt, const struct hub_event *ev,
                   const struct user *except);
/* Encode ev in u's format and queue it for u alone (a user with no
 * client is skipped). */
void route_to_user(struct route *rt, struct user *u,
                   const struct hub_event *ev);

/* Give every member of the pending group its slices now. */
void route_settle(struct route *rt);
/* Once per pass, after the queues are flushed: let idle blocks go. */
void route_trim(struct route *rt);

#endif
