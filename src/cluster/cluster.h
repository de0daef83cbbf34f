/* cluster.h -- one chat across several chatd nodes, through Redis.
 *
 * Every room has a Redis channel, chatd:room:<lower-cased name>, which a
 * node subscribes to while it has local members there.  A room event of a
 * local user (said, joined, left, topic, mode, kick) is not delivered
 * here: it is published, and every node, this one included, delivers it
 * when Redis hands it back, so all members everywhere see one order.
 * Nick changes and quits are the exception: their local sharers are told
 * at once (a quit's user is gone by the time it would come back), the
 * other nodes when it arrives.  Private messages go to the node of the
 * recipient, on chatd:node:<name>.
 *
 * Users on other nodes are hub users with no client (hub.h), known by
 * their node and their number there (a rename keeps it).  A node adds
 * them as they join its rooms, or as they are named when it subscribes
 * to a room: it publishes WHO there, and every node there answers in the
 * same channel with a HELLO per member and a SYNC, so the answer is in
 * order with the rest; a member no answer names has left.  It drops them
 * when they leave, when no local member is left in their rooms, or when
 * their node's heartbeat (chatd:alive:<node>) ends.
 * Nicknames are claimed (chatd:nick:<lower-cased nick>) while their user
 * is online; a claim that fails renames the local user to a guest name.
 *
 * Redis lost or stalled (5 s without an answer): every event is delivered
 * locally, clients are told once, and the node reconnects with back-off
 * and jitter, subscribes again (and asks WHO again), claims its
 * nicknames again and tells clients the link is back.  No replay. */
#ifndef CHATD_CLUSTER_H
#define CHATD_CLUSTER_H

#include <stdbool.h>

#include "hub/hub.h"
#include "loop/loop.h"
#include "util/err.h"

struct cluster;

/* How the cluster hands events to local clients (the server's route). */
struct cluster_ops {
    void (*to_room)(void *ctx, const struct hub_event *ev,
                    const struct user *except);
    void (*to_user)(void *ctx, struct user *u, const struct hub_event *ev);
};

struct cluster_config {
    const char *host;           /* Redis */
    int         port;
    const char *node;           /* this node's name */
    unsigned    expiry;         /* seconds a heartbeat or claim outlives
                                 * its renewal */
};

/* A cluster member for hub h on loop l; it starts connecting at once.
 * Returns it (free with cluster_free), or NULL with a reason in err. */
struct cluster *cluster_new(struct loop *l, struct hub *h,
                            const struct cluster_config *cc,
                            const struct cluster_ops *ops, void *ctx,
                            char err[ERR_LEN]);
/* Leave the cluster (the heartbeat given up if Redis answers
 * now), free every record it keeps on hub users.  Call before
 * hub_fini(). */
void cluster_free(struct cluster *c);

/* The hub's to_room, asked first: true if the cluster took ev (it will
 * come back from Redis, or is not for local clients); false: deliver it
 * here as usual. */
bool cluster_room_event(struct cluster *c, const struct hub_event *ev,
                        const struct user *except);
/* The same for the hub's to_user. */
bool cluster_user_event(struct cluster *c, struct user *u,
                        const struct hub_event *ev);
/* The hub's elsewhere: a private message, notice or invitation for
 * ev->to, a nickname not known here.  If the link is up, the node holding
 * the nickname's claim gets it (asked of Redis; the sender is told if
 * none does): true.  False if the link is down. */
bool cluster_tell(struct cluster *c, const struct hub_event *ev);
/* The hub's presence: a user came (online) or is going. */
void cluster_presence(struct cluster *c, struct user *u, bool online);
/* What /metrics shows of the cluster. */
struct cluster_stats {
    bool     up;                /* the link to Redis is up */
    uint64_t reconnects;        /* times the link was lost */
    uint64_t published;         /* messages published */
    uint64_t received;          /* messages received from Redis */
    uint64_t lost;              /* gaps in other nodes' sequences */
    uint64_t remote_users;      /* users of other nodes known here */
};

void cluster_get_stats(const struct cluster *c, struct cluster_stats *st);

/* Once per loop pass: subscribe and unsubscribe rooms as local members
 * come and go, and drop users of other nodes nobody here shares a room
 * with. */
void cluster_settle(struct cluster *c);

#endif
