/* cluster.c -- rooms, nicknames and presence across chatd nodes, through
 * Redis (see cluster.h for the model). */
#include "cluster/cluster.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "cluster/redis_loop.h"
#include "proto/cmsg.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define DEADLINE_MS    5000     /* an unanswered command: the link stalled */
#define PROBE_MS       2000     /* a message to ourselves this often */
#define TICK_MS        500
#define RESYNC_MS      5000     /* a WHO unanswered: its members left */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define CHAN_MAX       (sizeof("chatd:alive:") + 2 * CMSG_FIELD_MAX + 2)

_Static_assert((int)CMSG_SAY == (int)HUB_SAY &&
               (int)CMSG_INVITE == (int)HUB_INVITE,
               "cmsg kinds follow hub kinds");

enum cstate { CL_DOWN, CL_CONNECTING, CL_SYNCING, CL_UP };

/* Another node, as far as its users here go. */
struct cnode {
    struct cnode *next;
    uint64_t      nusers;       /* its users in our hub */
    uint64_t      out_seq;      /* our sequence on its node channel */
    char          name[CMSG_FIELD_MAX + 1];
};

/* The cluster's record of a hub user (user->cluster).  A user is known
 * across the cluster by its node and its number there (uid), which a
 * rename does not change: a message names its sender by both, so a
 * rename that crossed it on the way cannot make a stranger of it. */
struct cuser {
    struct cuser *hnext;                /* cluster->byid's chain */
    struct user  *user;                 /* whose record this is */
    struct cnode *node;                 /* NULL: a local user */
    uint64_t      uid;
    char          pubnick[NICK_MAX + 1];/* local: the name others know */
};

/* After a WHO in a room: the members here of one other node, until that
 * node's SYNC says who is still there, or RESYNC_MS pass without one (the
 * node has left the room).  uids sorted; 0: named since by a HELLO. */
struct resync {
    struct resync *next;
    struct cnode  *node;
    uint64_t      *uids;
    size_t         n;
    uint64_t       started;
    char           room[ROOM_MAX + 1];
};

struct pend {
    struct pend *next;
    size_t       len;
    char         data[];
};

/* A room's birth: when, and on which node.  Of two rooms of one name, the
 * older one wins (at the same second: the node first by name). */
struct birth {
    uint64_t created;
    char     origin[CMSG_FIELD_MAX + 1];
};

/* A node's room, as its last ROOM said. */
struct born {
    struct cnode *node;
    struct birth  birth;
};

/* A room with local members: its channel and our sequence on it. */
struct croom {
    struct croom *next;
    int           subscribed;   /* confirmed by Redis */
    uint64_t      seq;
    struct born  *born;         /* the other nodes' ROOMs */
    size_t        nborn;
    char          origin[CMSG_FIELD_MAX + 1];   /* our room's birth node */
    struct pend  *head, **tail; /* published once subscribed */
    char          name[ROOM_MAX + 1];
    char          chan[CHAN_MAX];
};

/* The last sequence number seen from a node on a channel. */
struct seen {
    struct seen *next;
    uint64_t     last;
    char         node[CMSG_FIELD_MAX + 1];
    char         chan[CHAN_MAX];
};

struct cluster {
    struct loop              *loop;     /* borrowed */
    struct hub               *hub;      /* borrowed */
    const struct cluster_ops *ops;      /* borrowed */
    void                     *ctx;
    char                      host[256];
    int                       port;
    char                      node[CMSG_FIELD_MAX + 1];
    char                      nodechan[CHAN_MAX];
    unsigned                  expiry;
    struct redis_link         pub, sub;
    enum cstate               state;
    int                       told_lost;    /* clients know it is lost */
    unsigned                  attempt;      /* reconnects since up */
    struct loop_timer         retry, tick;
    unsigned                  subs_waiting;
    uint64_t                  probe_seq, probe_at;
    int                       probe_out;
    uint64_t                  beat_at;      /* last heartbeat, renewal */
    int                       applying;     /* replaying: deliver here */
    int                       quiet;        /* ... and say nothing */
    int                       sweep;        /* rooms or users may be done */
    struct cnode             *creating;     /* presence(): a remote user */
    uint64_t                  creating_uid; /* ... and its number */
    uint64_t                  last_uid;     /* the last local number */
    struct cuser            **byid;         /* every record, by node+uid */
    size_t                    byid_cap, byid_n;
    struct croom             *rooms;
    struct cnode             *nodes;
    struct seen              *seen;
    struct resync            *resyncs;
    uint64_t                  gaps, reconnects, published, received;
    unsigned                  far_waiting;  /* answers of a rooms fetch */
    struct far_room          *far;          /* ... gathered so far */
    size_t                    nfar, far_cap;
};

static void fail(struct cluster *c, const char *why);
static void claim(struct cluster *c, struct user *u);

/* --- names ------------------------------------------------------------- */

/* src into dst (cap bytes), cut to fit, NUL-terminated. */
static void
scpy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void
lower(char *out, const char *s)
{
    for (; *s != '\0'; s++)
        *out++ = (char)name_fold((unsigned char)*s);
    *out = '\0';
}

static void
room_chan(char *chan, const char *room)
{
    char low[ROOM_MAX + 1];

    lower(low, room);
    snprintf(chan, CHAN_MAX, "chatd:room:%s", low);
}

static void
nick_key(char *key, const char *nick)
{
    char low[NICK_MAX + 1];

    lower(low, nick);
    snprintf(key, CHAN_MAX, "chatd:nick:%s", low);
}

static struct cuser *
cuser_of(const struct user *u)
{
    return u->cluster;
}

static bool
is_local(const struct user *u)
{
    return u->cluster != NULL && cuser_of(u)->node == NULL;
}

/* --- records by node and number -------------------------------------- */

static size_t
id_slot(const struct cluster *c, const struct cnode *n, uint64_t uid)
{
    uint64_t h = (uid ^ (uint64_t)(uintptr_t)n) * 0x9e3779b97f4a7c15ULL;

    return (size_t)((h ^ (h >> 31)) & (c->byid_cap - 1));
}

static struct cuser *
cuser_by_id(const struct cluster *c, const struct cnode *n, uint64_t uid)
{
    struct cuser *cu;

    if (c->byid_cap == 0)
        return NULL;
    for (cu = c->byid[id_slot(c, n, uid)]; cu != NULL; cu = cu->hnext)
        if (cu->uid == uid && cu->node == n)
            return cu;
    return NULL;
}

static void
id_link(struct cluster *c, struct cuser *cu)
{
    size_t slot = id_slot(c, cu->node, cu->uid);

    cu->hnext = c->byid[slot];
    c->byid[slot] = cu;
}

static void
id_insert(struct cluster *c, struct cuser *cu)
{
    if (c->byid_n >= c->byid_cap / 2) {     /* grow: chains stay short */
        struct cuser **old = c->byid, *o;
        size_t i, cap = c->byid_cap;

        c->byid_cap = cap != 0 ? cap * 2 : 64;
        c->byid = xcalloc(c->byid_cap, sizeof(*c->byid));
        for (i = 0; i < cap; i++)
            while ((o = old[i]) != NULL) {
                old[i] = o->hnext;
                id_link(c, o);
            }
        free(old);
    }
    id_link(c, cu);
    c->byid_n++;
}

static void
id_remove(struct cluster *c, struct cuser *cu)
{
    struct cuser **p = &c->byid[id_slot(c, cu->node, cu->uid)];

    while (*p != cu)
        p = &(*p)->hnext;
    *p = cu->hnext;
    c->byid_n--;
}

static struct cnode *
node_get(struct cluster *c, const char *name, size_t len)
{
    struct cnode *n;

    for (n = c->nodes; n != NULL; n = n->next)
        if (strlen(n->name) == len && memcmp(n->name, name, len) == 0)
            return n;
    n = xcalloc(1, sizeof(*n));
    memcpy(n->name, name, len);
    n->next = c->nodes;
    c->nodes = n;
    return n;
}

static struct croom *
croom_find(struct cluster *c, const char *name)
{
    struct croom *cr;

    for (cr = c->rooms; cr != NULL; cr = cr->next)
        if (name_eq(cr->name, name))
            return cr;
    return NULL;
}

static bool
has_local(const struct room *r)
{
    const struct member *m;

    for (m = r->members; m != NULL; m = m->rnext)
        if (is_local(m->user))
            return true;
    return false;
}

/* --- telling local clients --------------------------------------------- */

struct notice_arg {
    struct cluster *c;
    const char     *text;
};

static void
notice_one(struct user *u, void *arg)
{
    struct notice_arg *na = arg;
    struct user from;
    struct hub_event ev = {.kind = HUB_SERVER, .from = &from, .to = u,
                           .text = na->text, .len = strlen(na->text)};

    if (!is_local(u) || u->client == NULL)
        return;
    memset(&from, 0, sizeof(from));
    snprintf(from.nick, sizeof(from.nick), "%.*s", NICK_MAX, na->c->node);
    na->c->ops->to_user(na->c->ctx, u, &ev);
}

static void
notice(struct cluster *c, struct user *u, const char *text)
{
    struct notice_arg na = {c, text};

    if (u != NULL)
        notice_one(u, &na);
    else
        hub_each_user(c->hub, notice_one, &na);
}

/* --- sending ----------------------------------------------------------- */

static void
publish(struct cluster *c, const char *chan, const char *data, size_t len)
{
    const char *argv[3] = {"PUBLISH", chan, data};
    size_t lens[3] = {7, strlen(chan), len};

    if (redis_link_argv(&c->pub, NULL, NULL, 3, argv, lens) == 0)
        c->published++;
}

static struct cmsg_field
fld(const char *s)
{
    return (struct cmsg_field){s, s != NULL ? strlen(s) : 0};
}

/* Encode ev as from this node with seq into buf; 0 if it cannot be.  A
 * local sender goes by the name the others know until its new one is
 * claimed (a NICK carries the new one). */
static size_t
encode(struct cluster *c, char *buf, size_t cap, const struct hub_event *ev,
       uint64_t seq, enum cmsg_kind kind, unsigned flags, const char *room)
{
    const struct cuser *cu = ev->from->cluster;
    const char *nick = cu != NULL && cu->node == NULL && kind != CMSG_NICK
                           ? cu->pubnick
                           : ev->from->nick;
    struct cmsg m = {.node = fld(c->node), .seq = seq, .kind = kind,
                     .flags = flags, .uid = cu != NULL ? cu->uid : 0,
                     .nick = fld(nick),
                     .ident = fld(hub_ident(ev->from)),
                     .host = fld(ev->from->host), .room = fld(room),
                     .to = fld(ev->to != NULL ? ev->to->nick : NULL),
                     .old = fld(ev->old),
                     .text = {ev->text != NULL ? ev->text : "", ev->len}};

    return cmsg_encode(buf, cap, &m);
}

/* Publish ev on room's channel (queued until it is subscribed). */
static void
publish_room(struct cluster *c, struct croom *cr, const struct hub_event *ev,
             enum cmsg_kind kind, unsigned flags)
{
    char buf[CMSG_MAX];
    size_t n = encode(c, buf, sizeof(buf), ev, cr->seq + 1, kind, flags,
                      cr->name);
    struct pend *p;

    if (n == 0) {
        log_warnx("cluster: cannot encode a %s event in %s",
                  cmsg_kind_names[kind], cr->name);
        return;
    }
    cr->seq++;
    if (cr->subscribed) {
        publish(c, cr->chan, buf, n);
        return;
    }
    p = xmalloc(sizeof(*p) + n);
    p->next = NULL;
    p->len = n;
    memcpy(p->data, buf, n);
    *cr->tail = p;
    cr->tail = &p->next;
}

static void
drop_pending(struct croom *cr)
{
    struct pend *p;

    while ((p = cr->head) != NULL) {
        cr->head = p->next;
        free(p);
    }
    cr->tail = &cr->head;
}

/* --- subscriptions ----------------------------------------------------- */

static void on_message(redisAsyncContext *ac, void *reply, void *priv);

static void
subscribe(struct cluster *c, const char *chan)
{
    if (redis_link_command(&c->sub, on_message, c, "SUBSCRIBE %s", chan) ==
        0) {
        c->subs_waiting++;
        redis_link_expect(&c->sub, 1);
    }
}

/* A room now has local members: keep a record, subscribe if up. */
static struct croom *
croom_want(struct cluster *c, const char *name)
{
    struct croom *cr = croom_find(c, name);

    if (cr != NULL)
        return cr;
    cr = xcalloc(1, sizeof(*cr));
    scpy(cr->name, sizeof(cr->name), name);
    scpy(cr->origin, sizeof(cr->origin), c->node);
    room_chan(cr->chan, name);
    cr->tail = &cr->head;
    cr->next = c->rooms;
    c->rooms = cr;
    if (c->state == CL_UP || c->state == CL_SYNCING)
        subscribe(c, cr->chan);
    return cr;
}

static void
forget_seen(struct cluster *c, const char *node, const char *chan)
{
    struct seen **p = &c->seen, *s;

    while ((s = *p) != NULL)
        if ((node == NULL || strcmp(s->node, node) == 0) &&
            (chan == NULL || strcmp(s->chan, chan) == 0)) {
            *p = s->next;
            free(s);
        } else {
            p = &s->next;
        }
}

/* Count a gap in node's sequence on chan. */
static void
check_seq(struct cluster *c, const struct cmsg *m, const char *node,
          const char *chan)
{
    struct seen *s;

    for (s = c->seen; s != NULL; s = s->next)
        if (strcmp(s->node, node) == 0 && strcmp(s->chan, chan) == 0)
            break;
    if (s == NULL) {
        s = xcalloc(1, sizeof(*s));
        scpy(s->node, sizeof(s->node), node);
        scpy(s->chan, sizeof(s->chan), chan);
        s->next = c->seen;
        c->seen = s;
    } else if (m->seq > s->last + 1) {
        c->gaps += m->seq - s->last - 1;
        log_warnx("cluster: %llu message(s) of node %s on %s lost "
                  "(sequence %llu after %llu)",
                  (unsigned long long)(m->seq - s->last - 1), node, chan,
                  (unsigned long long)m->seq, (unsigned long long)s->last);
    }
    /* A number at or below the last: the sender started the channel
     * again (its room emptied, or it restarted); count from there. */
    s->last = m->seq;
}

/* --- applying what arrives --------------------------------------------- */

/* A copy of a field, NUL-terminated, cut to fit. */
static void
cpy(char *out, size_t cap, struct cmsg_field f)
{
    size_t n = f.len < cap - 1 ? f.len : cap - 1;

    memcpy(out, f.p, n);
    out[n] = '\0';
}

/* The message's fields as C strings. */
struct got {
    char node[CMSG_FIELD_MAX + 1], nick[CMSG_FIELD_MAX + 1];
    char ident[CMSG_FIELD_MAX + 1], host[CMSG_FIELD_MAX + 1];
    char room[CMSG_FIELD_MAX + 1], to[CMSG_FIELD_MAX + 1];
    char old[CMSG_FIELD_MAX + 1];
};

/* A stand-in for a user named in a message (encoders read nick, ident and
 * host only). */
static void
fake_user(struct user *u, const char *nick, const char *ident,
          const char *host)
{
    memset(u, 0, sizeof(*u));
    scpy(u->nick, sizeof(u->nick), nick);
    scpy(u->ident, sizeof(u->ident), ident);
    scpy(u->host, sizeof(u->host), host);
}

/* The user uid of node n here, under the message's nickname: added if
 * missing, renamed if a rename of it went unseen here.  NULL if the
 * nickname is someone else's here. */
static struct user *
remote_user(struct cluster *c, struct cnode *n, uint64_t uid,
            const struct got *g)
{
    struct cuser *cu = cuser_by_id(c, n, uid);
    struct user *u;
    enum hub_err err;

    if (cu != NULL) {
        u = cu->user;
        if (strcmp(u->nick, g->nick) != 0 &&
            hub_nick(c->hub, u, g->nick, strlen(g->nick)) != HUB_OK)
            log_warnx("cluster: %s of node %s cannot be %s here", u->nick,
                      n->name, g->nick);
        return u;
    }
    u = hub_user_find(c->hub, g->nick, strlen(g->nick));
    if (u != NULL && u->cluster != NULL && cuser_of(u)->node == n) {
        /* Its node gave the name to another user: the one we knew has
         * gone, and its quit did not reach us. */
        hub_user_quit(c->hub, u, "gone");
        u = NULL;
    }
    if (u != NULL) {
        log_warnx("cluster: %s of node %s has the nickname of another user "
                  "here: ignored", g->nick, n->name);
        return NULL;
    }
    c->creating = n;
    c->creating_uid = uid;
    u = hub_user_new(c->hub, g->nick, strlen(g->nick), g->host,
                     strlen(g->host), NULL, &err);
    c->creating = NULL;
    if (u == NULL)
        return NULL;
    hub_user_describe(u, g->ident, strlen(g->ident), NULL, 0);
    c->sweep = 1;
    return u;
}

/* The remote user of the message, a member of r (added without a word if
 * it was not), or NULL. */
static struct user *
remote_member(struct cluster *c, struct cnode *n, uint64_t uid,
              const struct got *g, struct room *r, unsigned modes)
{
    struct user *u = remote_user(c, n, uid, g);
    struct room *out;
    struct member *m;
    bool joined;

    if (u == NULL)
        return NULL;
    if ((m = hub_member(u, r)) == NULL) {
        c->quiet++;
        hub_join(c->hub, u, r->name, strlen(r->name), NULL, &out, &joined);
        c->quiet--;
        if ((m = hub_member(u, r)) == NULL)
            return NULL;
        m->modes = modes;
    }
    return u;
}

/* "+o bob", "-t", "+l 10": hub_mode's arguments. */
static void
apply_mode(struct cluster *c, struct user *u, struct room *r,
           const char *text)
{
    char arg[CMSG_TEXT_MAX + 1];

    if ((text[0] != '+' && text[0] != '-') || text[1] == '\0')
        return;
    arg[0] = '\0';
    if (text[2] == ' ')
        scpy(arg, sizeof(arg), text + 3);
    hub_mode(c->hub, u, r, text[1], text[0] == '+',
             arg[0] != '\0' ? arg : NULL);
}

/* Our own event, back from Redis: deliver it to the members here, from
 * its sender as it is now (a rename may have crossed it), or as it was
 * if it has gone. */
static void
deliver_own(struct cluster *c, const struct cmsg *m, const struct got *g)
{
    struct room *r = hub_room_find(c->hub, g->room, strlen(g->room));
    struct cuser *cu = cuser_by_id(c, NULL, m->uid);
    struct user from, to;
    struct hub_event ev = {.kind = (enum hub_kind)m->kind, .from = &from,
                           .room = r, .text = m->text.p, .len = m->text.len,
                           .old = g->old};

    if (r == NULL || m->kind == CMSG_NICK || m->kind == CMSG_QUIT ||
        m->kind == CMSG_HELLO || m->kind == CMSG_SYNC ||
        m->kind == CMSG_ROOM)
        return;
    fake_user(&from, g->nick, g->ident, g->host);
    if (cu != NULL)
        ev.from = cu->user;
    fake_user(&to, g->to, "", "");
    if (g->to[0] != '\0')
        ev.to = &to;
    c->ops->to_room(c->ctx, &ev,
                    cu != NULL && (m->flags & CMSG_F_NOECHO) ? cu->user
                                                             : NULL);
}

/* A private message, notice or invitation for a user here. */
static void
deliver_private(struct cluster *c, const struct cmsg *m, const struct got *g)
{
    struct user *to = hub_user_find(c->hub, g->to, strlen(g->to));
    struct user from;
    struct room *r;
    static struct room room;        /* only its name is read */
    struct hub_event ev = {.kind = (enum hub_kind)m->kind, .from = &from,
                           .text = m->text.p, .len = m->text.len};

    if (to == NULL || !is_local(to))
        return;
    fake_user(&from, g->nick, g->ident, g->host);
    ev.to = to;
    if (m->kind == CMSG_INVITE &&
        (r = hub_room_find(c->hub, g->room, strlen(g->room))) != NULL) {
        /* The room here lets it in too (+i), and it is told. */
        hub_invite(c->hub, &from, r, to);
        return;
    }
    if (m->kind == CMSG_INVITE && room_is_valid(g->room, strlen(g->room)))
        hub_invite_far(c->hub, to, g->room);    /* if it makes it here */
    if (g->room[0] != '\0') {
        scpy(room.name, sizeof(room.name), g->room);
        ev.room = &room;
    }
    c->ops->to_user(c->ctx, to, &ev);
}

/* --- naming the members again: WHO, HELLO ... SYNC -------------------- */

static int
uid_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* Unlink *p and free it. */
static void
resync_free(struct resync **p)
{
    struct resync *rs = *p;

    *p = rs->next;
    free(rs->uids);
    free(rs);
}

/* Forget the resyncs of node n (NULL: any) in room (NULL: any). */
static void
resync_forget(struct cluster *c, const struct cnode *n, const char *room)
{
    struct resync **p = &c->resyncs;

    while (*p != NULL)
        if ((n == NULL || (*p)->node == n) &&
            (room == NULL || name_eq((*p)->room, room)))
            resync_free(p);
        else
            p = &(*p)->next;
}

static struct resync *
resync_find(struct cluster *c, const struct cnode *n, const struct room *r)
{
    struct resync *rs;

    for (rs = c->resyncs; rs != NULL; rs = rs->next)
        if (rs->node == n && name_eq(rs->room, r->name))
            return rs;
    return NULL;
}

/* A WHO went by in r: note the members here of every other node; each
 * node's HELLOs name those still there, and its SYNC ends the list. */
static void
resync_start(struct cluster *c, const struct room *r)
{
    const struct member *m;
    struct cnode *n;

    for (n = c->nodes; n != NULL; n = n->next) {
        struct resync *rs;
        size_t count = 0;

        resync_forget(c, n, r->name);
        for (m = r->members; m != NULL; m = m->rnext)
            if (m->user->cluster != NULL && cuser_of(m->user)->node == n)
                count++;
        if (count == 0)
            continue;
        rs = xcalloc(1, sizeof(*rs));
        rs->node = n;
        rs->uids = xcalloc(count, sizeof(*rs->uids));
        for (m = r->members; m != NULL; m = m->rnext)
            if (m->user->cluster != NULL && cuser_of(m->user)->node == n)
                rs->uids[rs->n++] = cuser_of(m->user)->uid;
        qsort(rs->uids, rs->n, sizeof(*rs->uids), uid_cmp);
        rs->started = loop_now(c->loop);
        scpy(rs->room, sizeof(rs->room), r->name);
        rs->next = c->resyncs;
        c->resyncs = rs;
    }
}

/* n's HELLO named uid in r: it is still there. */
static void
resync_named(struct cluster *c, const struct cnode *n, const struct room *r,
             uint64_t uid)
{
    struct resync *rs = resync_find(c, n, r);
    uint64_t *at;

    if (rs != NULL && uid != 0 &&
        (at = bsearch(&uid, rs->uids, rs->n, sizeof(*rs->uids), uid_cmp)) !=
            NULL)
        *at = 0;
}

/* n's SYNC: its members in r that its HELLOs did not name left while we
 * were not listening (a Redis outage); the members here see them go. */
static void
resync_end(struct cluster *c, const struct cnode *n, struct room *r)
{
    static const char why[] = "left during a cluster outage";
    struct resync *rs = resync_find(c, n, r), **p;
    size_t i;

    if (rs == NULL || r == NULL)
        return;
    for (i = 0; i < rs->n; i++) {
        struct cuser *cu = rs->uids[i] != 0
                               ? cuser_by_id(c, n, rs->uids[i])
                               : NULL;

        if (cu != NULL && hub_member(cu->user, r) != NULL) {
            hub_part(c->hub, cu->user, r, why, sizeof(why) - 1);
            c->sweep = 1;
        }
    }
    for (p = &c->resyncs; *p != rs; p = &(*p)->next)
        ;
    resync_free(p);
}

/* Resyncs no SYNC has ended in time: their nodes are not in the room. */
static void
resync_expire(struct cluster *c, uint64_t now)
{
    struct resync *rs;

    for (rs = c->resyncs; rs != NULL; rs = rs->next)
        if (now - rs->started >= RESYNC_MS) {
            struct room *r = hub_room_find(c->hub, rs->room,
                                           strlen(rs->room));

            if (r == NULL) {
                resync_forget(c, rs->node, rs->room);
            } else {
                c->applying++;
                resync_end(c, rs->node, r);
                c->applying--;
            }
            return;             /* the list changed: the next tick goes on */
        }
}

/* --- the room itself: the oldest one wins ---------------------------- */

static const char room_flags[] = "tnmis";
static const unsigned room_bits[] = {ROOM_TOPIC_LOCK, ROOM_NO_EXTERNAL,
                                     ROOM_MODERATED, ROOM_INVITE_ONLY,
                                     ROOM_SECRET};

/* ROOM: r as we have it, said by our member u. */
static void
publish_state(struct cluster *c, struct croom *cr, const struct room *r,
              const struct user *u)
{
    char text[CMSG_TEXT_MAX], flags[sizeof(room_flags)], by[NICK_MAX + 1];
    struct user who;
    struct hub_event ev = {.kind = HUB_TOPIC, .from = u, .room = r,
                           .text = text};
    size_t i, n = 0;
    int len;

    for (i = 0; i < sizeof(room_bits) / sizeof(room_bits[0]); i++)
        if (r->modes & room_bits[i])
            flags[n++] = room_flags[i];
    flags[n] = '\0';
    len = snprintf(text, sizeof(text), "%llu %s %llu +%s %zu %s\n%s",
                   (unsigned long long)r->created, cr->origin,
                   (unsigned long long)r->topic_at, flags, r->limit,
                   r->key[0] != '\0' ? r->key : "*",
                   r->topic != NULL ? r->topic : "");
    if (len < 0 || (size_t)len >= sizeof(text))
        return;
    ev.len = (size_t)len;
    scpy(by, sizeof(by), r->topic_by);
    if (r->topic != NULL && nick_is_valid(by, strlen(by))) {
        fake_user(&who, by, "", "");
        ev.to = &who;
    }
    publish_room(c, cr, &ev, CMSG_ROOM, 0);
}

/* -1, 0, 1: a is older than, the same as, newer than b. */
static int
birth_cmp(const struct birth *a, const struct birth *b)
{
    if (a->created != b->created)
        return a->created < b->created ? -1 : 1;
    return strcmp(a->origin, b->origin);
}

/* Our room r's birth. */
static struct birth
birth_here(const struct croom *cr, const struct room *r)
{
    struct birth b = {.created = r->created};

    scpy(b.origin, sizeof(b.origin), cr->origin);
    return b;
}

/* Whether node n last said its room is newer than ours. */
static bool
born_newer(const struct croom *cr, const struct room *r,
           const struct cnode *n)
{
    size_t i;
    struct birth here;

    if (cr == NULL)
        return false;
    here = birth_here(cr, r);
    for (i = 0; i < cr->nborn; i++)
        if (cr->born[i].node == n)
            return birth_cmp(&cr->born[i].birth, &here) > 0;
    return false;
}

static void
born_set(struct croom *cr, struct cnode *n, const struct birth *b)
{
    size_t i;

    for (i = 0; i < cr->nborn; i++)
        if (cr->born[i].node == n) {
            cr->born[i].birth = *b;
            return;
        }
    cr->born = xrealloc(cr->born, (cr->nborn + 1) * sizeof(*cr->born));
    cr->born[cr->nborn].node = n;
    cr->born[cr->nborn++].birth = *b;
}

/* Members of node n (NULL: ours) lose what their newer room gave them. */
static void
strip(struct cluster *c, struct room *r, const struct cnode *n,
      struct user *server)
{
    struct member *m;

    for (m = r->members; m != NULL; m = m->rnext) {
        const struct cuser *cu = m->user->cluster;

        if (cu == NULL || cu->node != n)
            continue;
        if (m->modes & MEMBER_OP)
            hub_mode(c->hub, server, r, 'o', false, m->user->nick);
        if (m->modes & MEMBER_VOICE)
            hub_mode(c->hub, server, r, 'v', false, m->user->nick);
    }
}

/* Node n's ROOM: if its room is older, ours becomes it (topic, modes,
 * key, limit) and the members of every newer room lose their operator
 * and voice; if newer, its members lose theirs.  Every node sees the same
 * ROOMs in the same order, so all agree.  (Bans stay each node's own.) */
static void
on_state(struct cluster *c, struct cnode *n, const struct cmsg *m,
         const struct got *g, struct room *r)
{
    struct croom *cr = croom_find(c, r->name);
    char text[CMSG_TEXT_MAX + 1], flags[16], key[HUB_KEY_MAX + 2];
    unsigned long long created, topic_at;
    struct user server, setter;
    struct birth theirs, here;
    struct cnode *k;
    const char *topic;
    size_t i, limit;
    char lim[24];
    int cmp;

    cpy(text, sizeof(text), m->text);
    if (cr == NULL || (topic = strchr(text, '\n')) == NULL ||
        sscanf(text, "%llu %63s %llu %15s %zu %24s", &created, theirs.origin,
               &topic_at, flags, &limit, key) != 6 ||
        flags[0] != '+' || created == 0)
        return;
    topic++;
    theirs.created = created;
    here = birth_here(cr, r);
    born_set(cr, n, &theirs);
    fake_user(&server, n->name, "", "");
    if ((cmp = birth_cmp(&theirs, &here)) > 0)
        strip(c, r, n, &server);
    if (cmp >= 0)
        return;
    /* Theirs is older: it is the room. */
    r->created = created;
    scpy(cr->origin, sizeof(cr->origin), theirs.origin);
    strip(c, r, NULL, &server);
    for (k = c->nodes; k != NULL; k = k->next)
        if (k != n && born_newer(cr, r, k))
            strip(c, r, k, &server);
    for (i = 0; i < sizeof(room_bits) / sizeof(room_bits[0]); i++)
        hub_mode(c->hub, &server, r, room_flags[i],
                 strchr(flags + 1, room_flags[i]) != NULL, NULL);
    if (strcmp(key, "*") != 0)
        hub_mode(c->hub, &server, r, 'k', true, key);
    else if (r->key[0] != '\0')
        hub_mode(c->hub, &server, r, 'k', false, NULL);
    snprintf(lim, sizeof(lim), "%zu", limit);
    if (limit != r->limit)
        hub_mode(c->hub, &server, r, 'l', limit != 0, lim);
    if (strcmp(topic, r->topic != NULL ? r->topic : "") != 0) {
        struct hub_event ev = {.kind = HUB_TOPIC, .from = &setter,
                               .room = r, .text = topic,
                               .len = strlen(topic)};

        fake_user(&setter, g->to[0] != '\0' ? g->to : n->name, "", "");
        free(r->topic);
        r->topic = topic[0] != '\0' ? xstrdup(topic) : NULL;
        scpy(r->topic_by, sizeof(r->topic_by), setter.nick);
        r->topic_at = topic_at;
        c->ops->to_room(c->ctx, &ev, NULL);
    }
}

/* Say HELLO for each of our members of r (as the others know them), then
 * SYNC: the answer to a WHO, ours included. */
static void
hello_all(struct cluster *c, struct croom *cr, const struct room *r)
{
    const struct member *m, *first = NULL;
    struct hub_event ev = {.kind = HUB_JOIN, .room = r};

    for (m = r->members; m != NULL && !is_local(m->user); m = m->rnext)
        ;
    if (m != NULL)
        publish_state(c, cr, r, m->user);
    for (m = r->members; m != NULL; m = m->rnext) {
        if (!is_local(m->user))
            continue;
        ev.from = m->user;
        publish_room(c, cr, &ev, CMSG_HELLO,
                     (m->modes & MEMBER_OP ? CMSG_F_OP : 0) |
                         (m->modes & MEMBER_VOICE ? CMSG_F_VOICE : 0));
        if (first == NULL)
            first = m;
    }
    if (first != NULL) {
        ev.from = first->user;
        publish_room(c, cr, &ev, CMSG_SYNC, 0);
    }
}

/* A node (this one too) asks who is in a room: note what we know of the
 * others, and name ours. */
static void
on_who(struct cluster *c, const struct got *g)
{
    struct room *r = hub_room_find(c->hub, g->room, strlen(g->room));
    struct croom *cr = croom_find(c, g->room);

    if (r == NULL || cr == NULL || !has_local(r) || c->state == CL_DOWN)
        return;
    resync_start(c, r);
    hello_all(c, cr, r);
}

/* Another node's event: change who is where here, and tell the members
 * here, as if it had happened here. */
static void
apply_remote(struct cluster *c, const struct cmsg *m, const struct got *g)
{
    struct cnode *n = node_get(c, g->node, strlen(g->node));
    struct room *r = hub_room_find(c->hub, g->room, strlen(g->room));
    struct user *u, *t;
    struct room *out;
    bool joined;

    if (m->kind == CMSG_PRIVATE || m->kind == CMSG_INVITE ||
        (m->kind == CMSG_NOTICE && g->to[0] != '\0')) {
        deliver_private(c, m, g);
        return;
    }
    if (m->kind == CMSG_QUIT || m->kind == CMSG_NICK) {
        struct cuser *cu = cuser_by_id(c, n, m->uid);

        if (cu == NULL)
            return;             /* not known here, or told already */
        u = cu->user;
        if (m->kind == CMSG_QUIT) {
            char reason[CMSG_TEXT_MAX + 1];

            cpy(reason, sizeof(reason), m->text);
            hub_user_quit(c->hub, u, reason);
        }
        else if (hub_nick(c->hub, u, g->nick, strlen(g->nick)) != HUB_OK)
            log_warnx("cluster: %s of node %s cannot be %s here", g->old,
                      n->name, g->nick);
        return;
    }
    if (r == NULL || !has_local(r))
        return;                 /* nobody here to tell */
    switch (m->kind) {
    case CMSG_JOIN:
        u = remote_user(c, n, m->uid, g);
        if (u != NULL && hub_member(u, r) == NULL)
            hub_join(c->hub, u, r->name, strlen(r->name), NULL, &out,
                     &joined);
        break;
    case CMSG_HELLO: {
        /* Named by a WHO's answer: the members here not knowing it yet see
         * it join, and its operator or voice given, as IRC clients see a
         * netjoin; one known here takes its modes quietly. */
        struct member *mb;
        struct user server;
        unsigned modes = born_newer(croom_find(c, r->name), r, n)
                             ? 0    /* its room is newer: stripped */
                             : (m->flags & CMSG_F_OP ? MEMBER_OP : 0) |
                                   (m->flags & CMSG_F_VOICE ? MEMBER_VOICE
                                                            : 0);

        joined = false;
        u = remote_user(c, n, m->uid, g);
        if (u != NULL && hub_member(u, r) == NULL)
            hub_join(c->hub, u, r->name, strlen(r->name), NULL, &out,
                     &joined);
        if (u != NULL && (mb = hub_member(u, r)) != NULL && !joined)
            mb->modes = modes;
        if (u != NULL && joined) {
            fake_user(&server, n->name, "", "");
            if (modes & MEMBER_OP)
                hub_mode(c->hub, &server, r, 'o', true, u->nick);
            if (modes & MEMBER_VOICE)
                hub_mode(c->hub, &server, r, 'v', true, u->nick);
        }
        resync_named(c, n, r, m->uid);
        break;
    }
    case CMSG_SYNC:
        resync_end(c, n, r);
        break;
    case CMSG_ROOM:
        on_state(c, n, m, g, r);
        break;
    case CMSG_PART:
        u = remote_user(c, n, m->uid, g);
        if (u != NULL && hub_member(u, r) != NULL)
            hub_part(c->hub, u, r, m->text.p, m->text.len);
        c->sweep = 1;
        break;
    case CMSG_TOPIC:
        if ((u = remote_member(c, n, m->uid, g, r, 0)) != NULL)
            hub_topic(c->hub, u, r, m->text.p, m->text.len);
        break;
    case CMSG_MODE: {
        char text[CMSG_TEXT_MAX + 1];

        cpy(text, sizeof(text), m->text);
        if ((u = remote_member(c, n, m->uid, g, r, 0)) != NULL)
            apply_mode(c, u, r, text);
        break;
    }
    case CMSG_KICK:
        t = hub_user_find(c->hub, g->to, strlen(g->to));
        if ((u = remote_member(c, n, m->uid, g, r, 0)) != NULL && t != NULL &&
            hub_member(t, r) != NULL)
            hub_kick(c->hub, u, r, t, m->text.p, m->text.len);
        c->sweep = 1;
        break;
    default: {                  /* said, did, noticed: nothing changes */
        struct user from;
        struct hub_event ev = {.kind = (enum hub_kind)m->kind,
                               .from = &from, .room = r,
                               .text = m->text.p, .len = m->text.len};

        remote_member(c, n, m->uid, g, r, 0);
        fake_user(&from, g->nick, g->ident, g->host);
        c->ops->to_room(c->ctx, &ev, NULL);
        break;
    }
    }
}

static bool
fields_ok(const struct cmsg *m, const struct got *g)
{
    if (m->kind == CMSG_PROBE)
        return true;
    if (!nick_is_valid(g->nick, strlen(g->nick)))
        return false;
    if (g->room[0] != '\0' && !room_is_valid(g->room, strlen(g->room)))
        return false;
    if (g->to[0] != '\0' && !nick_is_valid(g->to, strlen(g->to)))
        return false;
    return g->old[0] == '\0' || nick_is_valid(g->old, strlen(g->old));
}

static void
handle(struct cluster *c, const char *chan, const char *data, size_t len)
{
    const char *why;
    struct cmsg m;
    struct got g;

    c->received++;
    if (cmsg_parse(data, len, &m, &why) == -1) {
        log_warnx("cluster: a bad message on %s: %s", chan, why);
        return;
    }
    cpy(g.node, sizeof(g.node), m.node);
    cpy(g.nick, sizeof(g.nick), m.nick);
    cpy(g.ident, sizeof(g.ident), m.ident);
    cpy(g.host, sizeof(g.host), m.host);
    cpy(g.room, sizeof(g.room), m.room);
    cpy(g.to, sizeof(g.to), m.to);
    cpy(g.old, sizeof(g.old), m.old);
    if (m.kind == CMSG_PROBE) {
        if (strcmp(g.node, c->node) == 0 && m.seq == c->probe_seq) {
            c->probe_out = 0;
            if (c->subs_waiting == 0)
                redis_link_expect(&c->sub, 0);
        }
        return;
    }
    if (!fields_ok(&m, &g)) {
        log_warnx("cluster: a bad message on %s: bad names", chan);
        return;
    }
    check_seq(c, &m, g.node, chan);
    c->applying++;
    c->hub->trust = true;
    if (m.kind == CMSG_WHO)
        on_who(c, &g);
    else if (strcmp(g.node, c->node) == 0)
        deliver_own(c, &m, &g);
    else
        apply_remote(c, &m, &g);
    c->hub->trust = false;
    c->applying--;
}

/* --- the subscriber link ----------------------------------------------- */

static void become_up(struct cluster *c);

/* We listen to cr's channel (again): ask every node, this one too, to
 * name its members there.  What the answers do not name has left. */
static void
ask_who(struct cluster *c, struct croom *cr)
{
    const struct room *r = hub_room_find(c->hub, cr->name, strlen(cr->name));
    const struct member *m;
    struct hub_event ev = {.kind = HUB_JOIN, .room = r};

    for (m = r != NULL ? r->members : NULL; m != NULL; m = m->rnext)
        if (is_local(m->user)) {
            ev.from = m->user;
            publish_room(c, cr, &ev, CMSG_WHO, 0);
            return;
        }
}

static void
subscribed(struct cluster *c, const char *chan)
{
    struct croom *cr;
    struct pend *p;

    for (cr = c->rooms; cr != NULL; cr = cr->next)
        if (strcmp(cr->chan, chan) == 0 && !cr->subscribed) {
            cr->subscribed = 1;
            for (p = cr->head; p != NULL; p = p->next)
                publish(c, cr->chan, p->data, p->len);
            drop_pending(cr);
            ask_who(c, cr);
        }
    if (c->subs_waiting > 0 && --c->subs_waiting == 0) {
        if (!c->probe_out)
            redis_link_expect(&c->sub, 0);
        if (c->state == CL_SYNCING)
            become_up(c);
    }
}

static void
on_message(redisAsyncContext *ac, void *reply, void *priv)
{
    struct cluster *c = priv;
    redisReply *r = reply, *type, *chan;

    (void)ac;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
        return;
    type = r->element[0];
    chan = r->element[1];
    if (type->type != REDIS_REPLY_STRING || chan->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(type->str, "message") == 0 &&
        r->element[2]->type == REDIS_REPLY_STRING)
        handle(c, chan->str, r->element[2]->str, r->element[2]->len);
    else if (strcmp(type->str, "subscribe") == 0)
        subscribed(c, chan->str);
}

/* --- nicknames --------------------------------------------------------- */

/* Claim KEYS[1] for node ARGV[1] for ARGV[2] seconds, unless another
 * node holds it: 1 if ours now, 0 if not. */
static const char claim_lua[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v and v ~= ARGV[1] then return 0 end "
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1";
/* Give KEYS[1] up if node ARGV[1] holds it. */
static const char release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "redis.call('DEL', KEYS[1]) end return 1";

struct claim_req {
    struct cluster *c;
    char            nick[NICK_MAX + 1];
};

static void
release(struct cluster *c, const char *nick)
{
    char key[CHAN_MAX];

    nick_key(key, nick);
    redis_link_command(&c->pub, NULL, NULL, "EVAL %s 1 %s %s", release_lua,
                       key, c->node);
}

/* Tell the other nodes that u, known there as pubnick, is now u->nick. */
static void
announce_nick(struct cluster *c, struct user *u)
{
    struct cuser *cu = cuser_of(u);
    struct hub_event ev = {.kind = HUB_NICK, .from = u, .old = cu->pubnick};
    struct member *m;

    for (m = u->rooms; m != NULL; m = m->unext) {
        struct croom *cr = croom_find(c, m->room->name);

        if (cr == NULL)
            continue;
        publish_room(c, cr, &ev, CMSG_NICK, 0);
    }
    if (!name_eq(cu->pubnick, u->nick))
        release(c, cu->pubnick);
    scpy(cu->pubnick, sizeof(cu->pubnick), u->nick);
}

/* Another node holds u's nickname: u takes its former one back if it is
 * still ours, or a guest name. */
static void
refuse_nick(struct cluster *c, struct user *u)
{
    struct cuser *cu = cuser_of(u);
    char taken[NICK_MAX + 1], next[NICK_MAX + 1], text[160];

    scpy(taken, sizeof(taken), u->nick);
    if (!name_eq(cu->pubnick, u->nick) &&
        hub_user_find(c->hub, cu->pubnick, strlen(cu->pubnick)) == NULL)
        scpy(next, sizeof(next), cu->pubnick);
    else
        hub_guest_nick(c->hub, next);
    log_event("cluster: %s is taken on another node: %s is now %s", taken,
              taken, next);
    snprintf(text, sizeof(text), "nickname %s is taken on another server; "
             "you are now %s", taken, next);
    hub_nick(c->hub, u, next, strlen(next));
    notice(c, u, text);
}

static void
on_claim(redisAsyncContext *ac, void *reply, void *priv)
{
    struct claim_req *q = priv;
    struct cluster *c = q->c;
    redisReply *r = reply;
    struct user *u;

    (void)ac;
    u = hub_user_find(c->hub, q->nick, strlen(q->nick));
    if (r != NULL && r->type == REDIS_REPLY_INTEGER && u != NULL &&
        is_local(u) && strcmp(u->nick, q->nick) == 0) {
        if (r->integer == 0)
            refuse_nick(c, u);
        else if (strcmp(cuser_of(u)->pubnick, u->nick) != 0)
            announce_nick(c, u);
    }
    free(q);
}

static void
claim(struct cluster *c, struct user *u)
{
    struct claim_req *q;
    char key[CHAN_MAX], ttl[16];

    if (c->state != CL_UP)
        return;
    q = xmalloc(sizeof(*q));
    q->c = c;
    scpy(q->nick, sizeof(q->nick), u->nick);
    nick_key(key, u->nick);
    snprintf(ttl, sizeof(ttl), "%u", c->expiry * 2);
    if (redis_link_command(&c->pub, on_claim, q, "EVAL %s 1 %s %s %s",
                           claim_lua, key, c->node, ttl) == -1)
        free(q);
}

/* --- coming up: subscribe, claim, write membership, load the others --- */

/* A question about another node, waiting for Redis's answer. */
struct node_req {
    struct cluster *c;
    char            node[CMSG_FIELD_MAX + 1];
};

static void
heartbeat(struct cluster *c)
{
    redis_link_command(&c->pub, NULL, NULL, "SET chatd:alive:%s 1 EX %u",
                       c->node, c->expiry);
    redis_link_command(&c->pub, NULL, NULL, "SADD chatd:nodes %s", c->node);
    c->beat_at = loop_now(c->loop);
}

/* --- other nodes' rooms, for lists -------------------------------------- */

/* Our rooms in chatd:rooms:<node>: name -> "members here TAB modes TAB
 * limit TAB key TAB topic" (modes: the hub's bits; key "" if none),
 * replaced at once (MULTI) and expiring with us.  Other nodes list them
 * (not secret ones) and check a join that would make one of them there. */
static void
publish_rooms(struct cluster *c)
{
    const struct room *r;
    const char **argv;
    char **vals;
    size_t *lens, n = 2, i;
    char key[CHAN_MAX], ttl[16];

    snprintf(key, sizeof(key), "chatd:rooms:%s", c->node);
    snprintf(ttl, sizeof(ttl), "%u", c->expiry * 2);
    argv = xmalloc((2 + 2 * c->hub->nrooms) * sizeof(*argv));
    lens = xmalloc((2 + 2 * c->hub->nrooms) * sizeof(*lens));
    vals = xmalloc((1 + c->hub->nrooms) * sizeof(*vals));
    argv[0] = "HSET";
    argv[1] = key;
    for (r = c->hub->room_list; r != NULL; r = r->next) {
        const struct member *m;
        size_t here = 0;
        char *val;

        for (m = r->members; m != NULL; m = m->rnext)
            here += is_local(m->user);
        if (here == 0)
            continue;
        val = xmalloc(HUB_TOPIC_MAX + HUB_KEY_MAX + 64);
        lens[n + 1] = (size_t)snprintf(
            val, HUB_TOPIC_MAX + HUB_KEY_MAX + 64, "%zu\t%u\t%zu\t%s\t%s",
            here, r->modes, r->limit, r->key,
            r->topic != NULL ? r->topic : "");
        argv[n] = r->name;
        lens[n] = strlen(r->name);
        argv[n + 1] = vals[n / 2 - 1] = val;
        n += 2;
    }
    redis_link_command(&c->pub, NULL, NULL, "MULTI");
    redis_link_command(&c->pub, NULL, NULL, "DEL %s", key);
    if (n > 2) {
        lens[0] = 4;
        lens[1] = strlen(key);
        redis_link_argv(&c->pub, NULL, NULL, (int)n, argv, lens);
    }
    redis_link_command(&c->pub, NULL, NULL, "EXPIRE %s %s", key, ttl);
    redis_link_command(&c->pub, NULL, NULL, "EXEC");
    for (i = 0; i < n / 2 - 1; i++)
        free(vals[i]);
    free(vals);
    free(argv);
    free(lens);
}

/* One answer of a rooms fetch in: the rooms become the hub's once all
 * are (nothing, if the link went down meanwhile). */
static void
far_answered(struct cluster *c)
{
    if (--c->far_waiting > 0)
        return;
    if (c->state == CL_UP) {
        hub_set_far_rooms(c->hub, c->far, c->nfar);
    } else {
        hub_set_far_rooms(c->hub, NULL, 0);
        while (c->nfar > 0)
            free(c->far[--c->nfar].topic);
        free(c->far);
    }
    c->far = NULL;
    c->nfar = c->far_cap = 0;
}

/* A node's chatd:rooms hash: added to the rooms gathered, the members of
 * one room on several nodes summed. */
static void
on_node_rooms(redisAsyncContext *ac, void *reply, void *priv)
{
    struct cluster *c = priv;
    redisReply *r = reply;
    size_t i, j;

    (void)ac;
    for (i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
                i + 1 < r->elements; i += 2) {
        const char *name = r->element[i]->str, *v = r->element[i + 1]->str;
        const char *f[5];
        unsigned long members, limit;
        unsigned modes;
        size_t k, keylen;

        for (k = 0, f[0] = v; v != NULL && k < 4 && f[k] != NULL; k++)
            if ((f[k + 1] = strchr(f[k], '\t')) != NULL)
                f[k + 1]++;
        if (name == NULL || v == NULL || k < 4 || f[4] == NULL ||
            !room_is_valid(name, strlen(name)) ||
            sscanf(f[0], "%lu", &members) != 1 ||
            sscanf(f[1], "%u", &modes) != 1 ||
            sscanf(f[2], "%lu", &limit) != 1 ||
            (keylen = (size_t)(f[4] - f[3] - 1)) > HUB_KEY_MAX)
            continue;
        for (j = 0; j < c->nfar && !name_eq(c->far[j].name, name); j++)
            ;
        if (j == c->nfar) {
            if (c->nfar == c->far_cap) {
                c->far_cap = c->far_cap != 0 ? 2 * c->far_cap : 16;
                c->far = xrealloc(c->far, c->far_cap * sizeof(*c->far));
            }
            memset(&c->far[j], 0, sizeof(c->far[j]));
            scpy(c->far[j].name, sizeof(c->far[j].name), name);
            c->nfar++;
        }
        c->far[j].members += members;
        c->far[j].modes |= modes;
        if (limit > 0)
            c->far[j].limit = (size_t)limit;
        if (keylen > 0) {
            memcpy(c->far[j].key, f[3], keylen);
            c->far[j].key[keylen] = '\0';
        }
        if (c->far[j].topic == NULL && f[4][0] != '\0')
            c->far[j].topic = xstrdup(f[4]);
    }
    far_answered(c);
}

static void
on_room_nodes(redisAsyncContext *ac, void *reply, void *priv)
{
    struct cluster *c = priv;
    redisReply *r = reply;
    size_t i;

    (void)ac;
    for (i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i < r->elements;
         i++)
        if (r->element[i]->str != NULL &&
            strcmp(r->element[i]->str, c->node) != 0 &&
            redis_link_command(&c->pub, on_node_rooms, c,
                               "HGETALL chatd:rooms:%s",
                               r->element[i]->str) == 0)
            c->far_waiting++;
    far_answered(c);
}

/* Ask every node's rooms, unless the last asking is still out. */
static void
fetch_rooms(struct cluster *c)
{
    if (c->far_waiting > 0)
        return;
    if (redis_link_command(&c->pub, on_room_nodes, c,
                           "SMEMBERS chatd:nodes") == 0)
        c->far_waiting = 1;
}

/* u's nickname claimed again (for its claim's expiry, or after a
 * reconnect). */
static void
renew(struct user *u, void *arg)
{
    if (is_local(u))
        claim(arg, u);
}

static void
become_up(struct cluster *c)
{
    unsigned n = 0;
    struct croom *cr;

    c->state = CL_UP;
    c->attempt = 0;
    for (cr = c->rooms; cr != NULL; cr = cr->next)
        n++;
    log_notice("cluster: link up: node %s, %u room(s) subscribed", c->node,
               n);
    heartbeat(c);
    hub_each_user(c->hub, renew, c);     /* WHOs name them to the others */
    if (c->told_lost) {
        log_notice("cluster: nicknames claimed again and members named "
                   "again; telling clients the link is back");
        notice(c, NULL, "cluster link back");
        c->told_lost = 0;
    }
}

/* Both links connected: subscribe to our node's channel and our rooms. */
static void
start_sync(struct cluster *c)
{
    const struct room *r;
    struct croom *cr;

    c->state = CL_SYNCING;
    c->subs_waiting = 0;
    c->probe_out = 0;
    for (r = c->hub->room_list; r != NULL; r = r->next)
        if (has_local(r))
            croom_want(c, r->name);
    subscribe(c, c->nodechan);
    for (cr = c->rooms; cr != NULL; cr = cr->next)
        subscribe(c, cr->chan);
}

/* --- failures and reconnecting ----------------------------------------- */

static void
on_retry(struct loop *l, void *arg)
{
    struct cluster *c = arg;
    char err[ERR_LEN];

    (void)l;
    c->state = CL_CONNECTING;
    log_notice("cluster: connecting to Redis at %s:%d", c->host, c->port);
    if (redis_link_open(&c->pub, c->host, c->port, err) == -1 ||
        redis_link_open(&c->sub, c->host, c->port, err) == -1)
        fail(c, err);
}

static void
fail(struct cluster *c, const char *why)
{
    uint64_t delay = BACKOFF_MAX_MS;
    struct croom *cr;

    if (c->state == CL_DOWN)
        return;
    if (c->state == CL_UP && !c->told_lost) {
        notice(c, NULL, "cluster link lost; messages reach this server only");
        c->told_lost = 1;
    }
    c->state = CL_DOWN;
    for (cr = c->rooms; cr != NULL; cr = cr->next) {
        cr->subscribed = 0;
        drop_pending(cr);
    }
    c->subs_waiting = 0;
    c->probe_out = 0;
    hub_set_far_rooms(c->hub, NULL, 0);     /* unknown until back */
    redis_link_close(&c->pub);
    redis_link_close(&c->sub);
    if (c->attempt < 6)
        delay = (uint64_t)BACKOFF_MIN_MS << c->attempt;
    if (delay > BACKOFF_MAX_MS)
        delay = BACKOFF_MAX_MS;
    delay = delay / 2 + (uint64_t)rand() % (delay / 2 + 1);    /* jitter */
    c->attempt++;
    c->reconnects++;
    log_warnx("cluster: %s; local delivery only, reconnecting in %llu ms",
              why, (unsigned long long)delay);
    loop_timer_start(c->loop, &c->retry, delay, 0, on_retry, c);
}

static void
on_link_up(struct redis_link *rl, int ok, void *arg)
{
    struct cluster *c = arg;
    char why[128];

    if (!ok) {
        snprintf(why, sizeof(why), "cannot connect the %s link to Redis",
                 rl->name);
        fail(c, why);
        return;
    }
    if (c->state == CL_CONNECTING && c->pub.up && c->sub.up)
        start_sync(c);
}

static void
on_link_down(struct redis_link *rl, void *arg)
{
    char why[128];

    snprintf(why, sizeof(why), "the %s link to Redis is down", rl->name);
    fail(arg, why);
}

static void
on_link_stall(struct redis_link *rl, void *arg)
{
    char why[128];

    snprintf(why, sizeof(why), "the %s link to Redis stalled", rl->name);
    fail(arg, why);
}

/* --- the clock: probes, heartbeats, claims, other nodes' health -------- */

static void
on_alive(redisAsyncContext *ac, void *reply, void *priv)
{
    struct node_req *q = priv;
    struct cluster *c = q->c;
    redisReply *r = reply;
    struct cnode *n;
    size_t i;

    (void)ac;
    if (r == NULL || r->type != REDIS_REPLY_INTEGER || r->integer != 0) {
        free(q);
        return;
    }
    n = node_get(c, q->node, strlen(q->node));
    log_warnx("cluster: node %s is gone (no heartbeat): its %llu user(s) "
              "quit", n->name, (unsigned long long)n->nusers);
    c->applying++;
    for (i = 0; i < c->hub->users_cap; i++) {
        struct user *u = c->hub->users[i], *next;

        for (; u != NULL; u = next) {
            next = u->hnext;
            if (u->cluster != NULL && cuser_of(u)->node == n) {
                hub_user_quit(c->hub, u, "node gone");
                i = (size_t)-1;     /* the table may have moved: again */
                break;
            }
        }
    }
    c->applying--;
    redis_link_command(&c->pub, NULL, NULL, "SREM chatd:nodes %s", n->name);
    redis_link_command(&c->pub, NULL, NULL, "DEL chatd:rooms:%s", n->name);
    forget_seen(c, n->name, NULL);
    resync_forget(c, n, NULL);
    free(q);
}

static void
check_nodes(struct cluster *c)
{
    struct cnode *n;

    for (n = c->nodes; n != NULL; n = n->next) {
        struct node_req *q;

        if (n->nusers == 0)
            continue;
        q = xmalloc(sizeof(*q));
        q->c = c;
        scpy(q->node, sizeof(q->node), n->name);
        if (redis_link_command(&c->pub, on_alive, q,
                               "EXISTS chatd:alive:%s", n->name) == -1)
            free(q);
    }
}

static void
on_tick(struct loop *l, void *arg)
{
    struct cluster *c = arg;
    uint64_t now = loop_now(l), period = c->expiry * 1000 / 3;
    char buf[CMSG_MAX];
    struct user self;
    struct hub_event ev = {.kind = HUB_SAY, .from = &self};
    size_t n;

    if (c->state != CL_UP)
        return;
    resync_expire(c, now);
    if (!c->probe_out && now - c->probe_at >= PROBE_MS) {
        fake_user(&self, "probe", "", "");
        n = encode(c, buf, sizeof(buf), &ev, ++c->probe_seq, CMSG_PROBE, 0,
                   "");
        publish(c, c->nodechan, buf, n);
        c->probe_out = 1;
        c->probe_at = now;
        redis_link_expect(&c->sub, 1);
    }
    if (now - c->beat_at >= period) {
        heartbeat(c);
        hub_each_user(c->hub, renew, c);
        check_nodes(c);
        publish_rooms(c);
        fetch_rooms(c);
    }
}

/* --- the hub's side ---------------------------------------------------- */

bool
cluster_room_event(struct cluster *c, const struct hub_event *ev,
                   const struct user *except)
{
    struct user *self;
    struct croom *cr;

    if (c->quiet)
        return true;
    if (c->applying || !is_local(ev->from) || ev->room == NULL)
        return false;
    cr = ev->kind == HUB_JOIN ? croom_want(c, ev->room->name)
                              : croom_find(c, ev->room->name);
    if (ev->kind == HUB_PART || ev->kind == HUB_KICK)
        c->sweep = 1;
    if (c->state != CL_UP || cr == NULL)
        return false;
    self = hub_user_find(c->hub, ev->from->nick, strlen(ev->from->nick));
    publish_room(c, cr, ev, (enum cmsg_kind)ev->kind,
                 except == ev->from || ev->kind == HUB_JOIN ? CMSG_F_NOECHO
                                                            : 0);
    if (ev->kind == HUB_JOIN || ev->kind == HUB_PART) {
        /* The joiner hears of it before the room's topic and names (an
         * IRC client wants its JOIN first); the leaver leaves before its
         * copy could come back. */
        if (self != NULL)
            c->ops->to_user(c->ctx, self, ev);
    } else if (ev->kind == HUB_KICK && ev->to != NULL) {
        struct user *t = hub_user_find(c->hub, ev->to->nick,
                                       strlen(ev->to->nick));

        if (t != NULL && is_local(t))
            c->ops->to_user(c->ctx, t, ev);
    }
    return true;
}

/* A private message, notice or invitation for a user on node n. */
static void
publish_private(struct cluster *c, struct cnode *n,
                const struct hub_event *ev)
{
    char buf[CMSG_MAX], chan[CHAN_MAX];
    size_t len = encode(c, buf, sizeof(buf), ev, ++n->out_seq,
                        (enum cmsg_kind)ev->kind, 0,
                        ev->room != NULL ? ev->room->name : "");

    snprintf(chan, sizeof(chan), "chatd:node:%s", n->name);
    if (len > 0)
        publish(c, chan, buf, len);
}

/* A private message on its way to a user not known here, while Redis
 * says which node holds its nickname. */
struct tell_req {
    struct cluster *c;
    uint64_t        uid;                /* the sender's */
    enum hub_kind   kind;
    char            from[NICK_MAX + 1], ident[HUB_IDENT_MAX + 1];
    char            host[HUB_HOST_LEN], to[NICK_MAX + 1];
    char            room[ROOM_MAX + 1];     /* an invitation's */
    size_t          len;
    char            text[];
};

static void
on_holder(redisAsyncContext *ac, void *reply, void *priv)
{
    struct tell_req *q = priv;
    struct cluster *c = q->c;
    redisReply *r = reply;
    struct cuser *cu = cuser_by_id(c, NULL, q->uid);
    struct user from, to;
    struct room room;           /* only its name is read */
    struct hub_event ev = {.kind = q->kind, .from = &from, .to = &to,
                           .text = q->text, .len = q->len};
    char text[NICK_MAX + 32];

    (void)ac;
    fake_user(&from, q->from, q->ident, q->host);
    if (cu != NULL)
        ev.from = cu->user;
    fake_user(&to, q->to, "", "");
    if (q->room[0] != '\0') {
        memset(&room, 0, sizeof(room));
        scpy(room.name, sizeof(room.name), q->room);
        ev.room = &room;
    }
    if (r != NULL && r->type == REDIS_REPLY_STRING &&
        r->len <= CMSG_FIELD_MAX && strcmp(r->str, c->node) != 0) {
        publish_private(c, node_get(c, r->str, r->len), &ev);
    } else if (r != NULL && cu != NULL && q->kind != HUB_NOTICE) {
        snprintf(text, sizeof(text), "no such nick %s", q->to);
        notice(c, cu->user, text);
    }
    free(q);
}

bool
cluster_tell(struct cluster *c, const struct hub_event *ev)
{
    const struct cuser *cu = ev->from->cluster;
    struct tell_req *q;
    char key[CHAN_MAX];

    if (c->state != CL_UP || cu == NULL || cu->node != NULL ||
        ev->to == NULL)
        return false;
    q = xmalloc(sizeof(*q) + ev->len);
    q->c = c;
    q->uid = cu->uid;
    q->kind = ev->kind;
    scpy(q->from, sizeof(q->from), cu->pubnick);
    scpy(q->ident, sizeof(q->ident), hub_ident(ev->from));
    scpy(q->host, sizeof(q->host), ev->from->host);
    scpy(q->to, sizeof(q->to), ev->to->nick);
    scpy(q->room, sizeof(q->room), ev->room != NULL ? ev->room->name : "");
    q->len = ev->len;
    if (ev->len > 0)
        memcpy(q->text, ev->text, ev->len);
    nick_key(key, ev->to->nick);
    if (redis_link_command(&c->pub, on_holder, q, "GET %s", key) == -1) {
        free(q);
        return false;
    }
    return true;
}

bool
cluster_user_event(struct cluster *c, struct user *u,
                   const struct hub_event *ev)
{
    struct member *m;

    if (c->quiet)
        return true;
    if (c->applying || !is_local(ev->from))
        return false;
    switch (ev->kind) {
    case HUB_NICK:
        if (u == ev->from)
            claim(c, u);        /* announced once it is ours */
        return false;
    case HUB_QUIT:
        c->sweep = 1;
        if (u != ev->from || c->state != CL_UP)
            return false;
        for (m = u->rooms; m != NULL; m = m->unext) {
            struct croom *cr = croom_find(c, m->room->name);

            if (cr == NULL)
                continue;
            publish_room(c, cr, ev, CMSG_QUIT, 0);
        }
        return false;
    case HUB_PRIVATE:
    case HUB_NOTICE:
    case HUB_INVITE:
        if (u->cluster == NULL || cuser_of(u)->node == NULL)
            return false;
        if (c->state == CL_UP)
            publish_private(c, cuser_of(u)->node, ev);
        return true;
    default:
        return false;
    }
}

void
cluster_presence(struct cluster *c, struct user *u, bool online)
{
    struct cuser *cu;

    if (online) {
        cu = xcalloc(1, sizeof(*cu));
        cu->user = u;
        cu->node = c->creating;
        if (cu->node != NULL)
            cu->node->nusers++;
        cu->uid = cu->node != NULL ? c->creating_uid : ++c->last_uid;
        scpy(cu->pubnick, sizeof(cu->pubnick), u->nick);
        u->cluster = cu;
        id_insert(c, cu);
        if (cu->node == NULL)
            claim(c, u);
        return;
    }
    cu = cuser_of(u);
    if (cu == NULL)
        return;
    if (cu->node != NULL) {
        cu->node->nusers--;
    } else if (c->state == CL_UP) {
        release(c, u->nick);
        if (!name_eq(cu->pubnick, u->nick))
            release(c, cu->pubnick);
    }
    c->sweep = 1;
    id_remove(c, cu);
    free(cu);
    u->cluster = NULL;
}

/* Users of other nodes in no room here are forgotten, without a word. */
static void
drop_lonely(struct cluster *c)
{
    size_t i;

    c->quiet++;
    for (i = 0; i < c->hub->users_cap; i++) {
        struct user *u;

        for (u = c->hub->users[i]; u != NULL; u = u->hnext)
            if (u->rooms == NULL && u->cluster != NULL &&
                cuser_of(u)->node != NULL) {
                hub_user_quit(c->hub, u, "gone");
                i = (size_t)-1;     /* start again: the table changed */
                break;
            }
    }
    c->quiet--;
}

void
cluster_settle(struct cluster *c)
{
    struct croom **p = &c->rooms, *cr;
    struct room *r;

    if (c->sweep) {
        c->sweep = 0;
        while ((cr = *p) != NULL) {
            r = hub_room_find(c->hub, cr->name, strlen(cr->name));
            if (r != NULL && has_local(r)) {
                p = &cr->next;
                continue;
            }
            /* No local member left: the others here go silently. */
            c->quiet++;
            while ((r = hub_room_find(c->hub, cr->name, strlen(cr->name))) !=
                   NULL)
                hub_part(c->hub, r->members->user, r, "", 0);
            c->quiet--;
            if (c->state == CL_UP || c->state == CL_SYNCING)
                redis_link_command(&c->sub, NULL, NULL, "UNSUBSCRIBE %s",
                                   cr->chan);
            forget_seen(c, NULL, cr->chan);
            resync_forget(c, NULL, cr->name);
            drop_pending(cr);
            *p = cr->next;
            free(cr->born);
            free(cr);
        }
        drop_lonely(c);
    }
}

void
cluster_get_stats(const struct cluster *c, struct cluster_stats *st)
{
    const struct cnode *n;

    st->up = c->state == CL_UP;
    st->reconnects = c->reconnects;
    st->published = c->published;
    st->received = c->received;
    st->lost = c->gaps;
    st->remote_users = 0;
    for (n = c->nodes; n != NULL; n = n->next)
        st->remote_users += n->nusers;
}

/* --- life -------------------------------------------------------------- */

struct cluster *
cluster_new(struct loop *l, struct hub *h, const struct cluster_config *cc,
            const struct cluster_ops *ops, void *ctx, char err[ERR_LEN])
{
    struct cluster *c;

    if (strlen(cc->node) > CMSG_FIELD_MAX || cc->node[0] == '\0' ||
        strpbrk(cc->node, " \t\r\n:") != NULL) {
        errf(err, "bad node name '%s' for a cluster", cc->node);
        return NULL;
    }
    c = xcalloc(1, sizeof(*c));
    c->loop = l;
    c->hub = h;
    c->ops = ops;
    c->ctx = ctx;
    scpy(c->host, sizeof(c->host), cc->host);
    c->port = cc->port;
    scpy(c->node, sizeof(c->node), cc->node);
    snprintf(c->nodechan, sizeof(c->nodechan), "chatd:node:%s", c->node);
    c->expiry = cc->expiry < 2 ? 2 : cc->expiry;
    /* Numbers from the start time on: a node restarted at once does not
     * hand out a number the others still know from its last life. */
    c->last_uid = (uint64_t)time(NULL) << 20;
    c->state = CL_DOWN;
    redis_link_init(&c->pub, l, "publisher", DEADLINE_MS, on_link_up,
                    on_link_down, on_link_stall, c);
    redis_link_init(&c->sub, l, "subscriber", DEADLINE_MS, on_link_up,
                    on_link_down, on_link_stall, c);
    loop_timer_init(&c->retry);
    loop_timer_init(&c->tick);
    loop_timer_start(l, &c->tick, TICK_MS, TICK_MS, on_tick, c);
    log_notice("cluster: node %s, Redis at %s:%d", c->node, c->host, c->port);
    on_retry(l, c);
    return c;
}

static void
free_record(struct user *u, void *arg)
{
    (void)arg;
    free(u->cluster);
    u->cluster = NULL;
}

void
cluster_free(struct cluster *c)
{
    struct croom *cr;
    struct cnode *n;

    if (c == NULL)
        return;
    if (c->state == CL_UP && c->pub.ac != NULL) {
        /* Best effort: the others need not wait for our heartbeat. */
        redis_link_command(&c->pub, NULL, NULL, "DEL chatd:alive:%s",
                           c->node);
        redis_link_command(&c->pub, NULL, NULL, "DEL chatd:rooms:%s",
                           c->node);
        redis_link_command(&c->pub, NULL, NULL, "SREM chatd:nodes %s",
                           c->node);
        redisAsyncHandleWrite(c->pub.ac);
    }
    loop_timer_stop(c->loop, &c->tick);
    loop_timer_stop(c->loop, &c->retry);
    c->state = CL_DOWN;             /* no reconnecting from here on */
    redis_link_fini(&c->pub);
    redis_link_fini(&c->sub);
    hub_each_user(c->hub, free_record, NULL);
    while ((cr = c->rooms) != NULL) {
        c->rooms = cr->next;
        drop_pending(cr);
        free(cr->born);
        free(cr);
    }
    while ((n = c->nodes) != NULL) {
        c->nodes = n->next;
        free(n);
    }
    forget_seen(c, NULL, NULL);
    resync_forget(c, NULL, NULL);
    free(c->byid);
    free(c);
}
