/* hub.c -- users, rooms, membership, and the events they make. */
#include "hub/hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/utf8.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define TABLE_MIN 64            /* buckets of each table at first */

/* --- the two tables: chained, power-of-two buckets, doubled at load 1 -- */

#define BUCKET(hash, cap) ((size_t)((hash) ^ ((hash) >> 32)) & ((cap) - 1))

static void
users_grow(struct hub *h)
{
    size_t cap = h->users_cap ? h->users_cap * 2 : TABLE_MIN, i;
    struct user **t = xcalloc(cap, sizeof(*t));

    for (i = 0; i < h->users_cap; i++) {
        struct user *u, *next;

        for (u = h->users[i]; u != NULL; u = next) {
            next = u->hnext;
            u->hnext = t[BUCKET(u->hash, cap)];
            t[BUCKET(u->hash, cap)] = u;
        }
    }
    free(h->users);
    h->users = t;
    h->users_cap = cap;
}

static void
users_put(struct hub *h, struct user *u)
{
    struct user **b;

    if (h->nusers + 1 > h->users_cap)
        users_grow(h);
    u->hash = name_hash(u->nick, strlen(u->nick));
    b = &h->users[BUCKET(u->hash, h->users_cap)];
    u->hnext = *b;
    *b = u;
    h->nusers++;
}

static void
users_take(struct hub *h, struct user *u)
{
    struct user **p = &h->users[BUCKET(u->hash, h->users_cap)];

    while (*p != u)
        p = &(*p)->hnext;
    *p = u->hnext;
    h->nusers--;
}

struct user *
hub_user_find(const struct hub *h, const char *nick, size_t len)
{
    uint64_t hash;
    struct user *u;

    if (h->users_cap == 0)
        return NULL;
    hash = name_hash(nick, len);
    for (u = h->users[BUCKET(hash, h->users_cap)]; u != NULL; u = u->hnext)
        if (u->hash == hash && name_eqn(u->nick, nick, len))
            return u;
    return NULL;
}

static void
rooms_grow(struct hub *h)
{
    size_t cap = h->rooms_cap ? h->rooms_cap * 2 : TABLE_MIN, i;
    struct room **t = xcalloc(cap, sizeof(*t));

    for (i = 0; i < h->rooms_cap; i++) {
        struct room *r, *next;

        for (r = h->rooms[i]; r != NULL; r = next) {
            next = r->hnext;
            r->hnext = t[BUCKET(r->hash, cap)];
            t[BUCKET(r->hash, cap)] = r;
        }
    }
    free(h->rooms);
    h->rooms = t;
    h->rooms_cap = cap;
}

struct room *
hub_room_find(const struct hub *h, const char *name, size_t len)
{
    uint64_t hash;
    struct room *r;

    if (h->rooms_cap == 0)
        return NULL;
    hash = name_hash(name, len);
    for (r = h->rooms[BUCKET(hash, h->rooms_cap)]; r != NULL; r = r->hnext)
        if (r->hash == hash && name_eqn(r->name, name, len))
            return r;
    return NULL;
}

static struct room *
room_new(struct hub *h, const char *name, size_t len)
{
    struct room *r = xcalloc(1, sizeof(*r));
    struct room **b;

    memcpy(r->name, name, len);
    r->hash = name_hash(name, len);
    if (h->nrooms + 1 > h->rooms_cap)
        rooms_grow(h);
    b = &h->rooms[BUCKET(r->hash, h->rooms_cap)];
    r->hnext = *b;
    *b = r;
    r->next = h->room_list;
    if (h->room_list != NULL)
        h->room_list->prev = r;
    h->room_list = r;
    h->nrooms++;
    return r;
}

static void
room_free(struct hub *h, struct room *r)
{
    struct room **p = &h->rooms[BUCKET(r->hash, h->rooms_cap)];

    while (*p != r)
        p = &(*p)->hnext;
    *p = r->hnext;
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        h->room_list = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    h->nrooms--;
    free(r->topic);
    free(r);
}

/* --- life of a user ---------------------------------------------------- */

void
hub_init(struct hub *h, const struct hub_ops *ops, void *ctx)
{
    memset(h, 0, sizeof(*h));
    h->ops = ops;
    h->ctx = ctx;
}

void
hub_fini(struct hub *h)
{
    size_t i;

    for (i = 0; i < h->users_cap; i++)
        while (h->users[i] != NULL) {
            struct user *u = h->users[i];
            struct member *m;

            h->users[i] = u->hnext;
            while ((m = u->rooms) != NULL) {
                u->rooms = m->unext;
                free(m);
            }
            free(u->away);
            free(u);
        }
    while (h->room_list != NULL)
        room_free(h, h->room_list);
    free(h->users);
    free(h->rooms);
    memset(h, 0, sizeof(*h));
}

void
hub_guest_nick(struct hub *h, char *buf)
{
    do
        snprintf(buf, NICK_MAX + 1, "guest%llu",
                 (unsigned long long)++h->guests);
    while (hub_user_find(h, buf, strlen(buf)) != NULL);
}

struct user *
hub_user_new(struct hub *h, const char *nick, size_t len, const char *host,
             size_t hostlen, void *client, enum hub_err *err)
{
    struct user *u;

    if (!nick_is_valid(nick, len)) {
        *err = HUB_ERR_NICK_INVALID;
        return NULL;
    }
    if (hub_user_find(h, nick, len) != NULL) {
        *err = HUB_ERR_NICK_TAKEN;
        return NULL;
    }
    u = xcalloc(1, sizeof(*u));
    memcpy(u->nick, nick, len);
    if (hostlen >= sizeof(u->host))
        hostlen = sizeof(u->host) - 1;
    memcpy(u->host, host, hostlen);
    u->client = client;
    users_put(h, u);
    *err = HUB_OK;
    return u;
}

void
hub_each_sharer(struct hub *h, struct user *u,
                void (*fn)(struct user *u2, void *arg), void *arg)
{
    uint64_t mark = ++h->marks;
    struct member *m, *o;

    u->mark = mark;
    fn(u, arg);
    for (m = u->rooms; m != NULL; m = m->unext)
        for (o = m->room->members; o != NULL; o = o->rnext)
            if (o->user->mark != mark) {
                o->user->mark = mark;
                fn(o->user, arg);
            }
}

struct tell_arg {
    struct hub             *h;
    const struct hub_event *ev;
};

static void
tell_one(struct user *u, void *arg)
{
    struct tell_arg *t = arg;

    t->h->ops->to_user(t->h->ctx, u, t->ev);
}

/* Take u out of r (no event); r goes once empty. */
static void
leave(struct hub *h, struct user *u, struct room *r)
{
    struct member **p = &u->rooms, *m;

    while (*p != NULL && (*p)->room != r)
        p = &(*p)->unext;
    m = *p;
    *p = m->unext;
    if (m->rprev != NULL)
        m->rprev->rnext = m->rnext;
    else
        r->members = m->rnext;
    if (m->rnext != NULL)
        m->rnext->rprev = m->rprev;
    else
        r->last = m->rprev;
    r->nmembers--;
    free(m);
    if (u->current == r)
        u->current = u->rooms != NULL ? u->rooms->room : NULL;
    if (r->nmembers == 0)
        room_free(h, r);
}

void
hub_user_quit(struct hub *h, struct user *u, const char *reason)
{
    struct hub_event ev = {.kind = HUB_QUIT, .from = u, .text = reason,
                           .len = strlen(reason)};
    struct tell_arg t = {h, &ev};

    h->ops->settle(h->ctx);
    log_event("%s quit (%s)", u->nick, reason);
    /* Everyone who shared a room is told once; u itself is not (its
     * connection is going). */
    u->client = NULL;
    if (u->rooms != NULL)
        hub_each_sharer(h, u, tell_one, &t);
    h->ops->settle(h->ctx);
    while (u->rooms != NULL)
        leave(h, u, u->rooms->room);
    users_take(h, u);
    free(u->away);
    free(u);
}

enum hub_err
hub_nick(struct hub *h, struct user *u, const char *nick, size_t len)
{
    struct hub_event ev = {.kind = HUB_NICK, .from = u};
    struct tell_arg t = {h, &ev};
    char old[NICK_MAX + 1];
    struct user *o;

    if (!nick_is_valid(nick, len))
        return HUB_ERR_NICK_INVALID;
    o = hub_user_find(h, nick, len);
    if (o != NULL && o != u)
        return HUB_ERR_NICK_TAKEN;
    if (strlen(u->nick) == len && memcmp(u->nick, nick, len) == 0)
        return HUB_OK;
    h->ops->settle(h->ctx);
    memcpy(old, u->nick, sizeof(old));
    users_take(h, u);
    memset(u->nick, 0, sizeof(u->nick));
    memcpy(u->nick, nick, len);
    users_put(h, u);
    log_event("%s is now known as %s", old, u->nick);
    ev.old = old;
    hub_each_sharer(h, u, tell_one, &t);
    return HUB_OK;
}

struct member *
hub_member(const struct user *u, const struct room *r)
{
    struct member *m;

    for (m = u->rooms; m != NULL; m = m->unext)
        if (m->room == r)
            return m;
    return NULL;
}

enum hub_err
hub_join(struct hub *h, struct user *u, const char *name, size_t len,
         struct room **out, bool *joined)
{
    struct hub_event ev = {.kind = HUB_JOIN, .from = u};
    struct room *r;
    struct member *m;

    *joined = false;
    if (!room_is_valid(name, len))
        return HUB_ERR_ROOM_INVALID;
    h->ops->settle(h->ctx);
    r = hub_room_find(h, name, len);
    if (r != NULL && hub_member(u, r) != NULL) {
        u->current = r;
        *out = r;
        return HUB_OK;
    }
    m = xcalloc(1, sizeof(*m));
    if (r == NULL) {
        r = room_new(h, name, len);
        r->created = (uint64_t)time(NULL);
        m->modes = MEMBER_OP;
        log_event("room %s created by %s", r->name, u->nick);
    }
    m->user = u;
    m->room = r;
    m->rprev = r->last;
    if (r->last != NULL)
        r->last->rnext = m;
    else
        r->members = m;
    r->last = m;
    r->nmembers++;
    m->unext = u->rooms;
    u->rooms = m;
    u->current = r;
    *out = r;
    *joined = true;
    log_event("%s joined %s", u->nick, r->name);
    ev.room = r;
    h->ops->to_room(h->ctx, &ev, NULL);
    return HUB_OK;
}

enum hub_err
hub_part(struct hub *h, struct user *u, struct room *r, const char *reason,
         size_t len)
{
    struct hub_event ev = {.kind = HUB_PART, .from = u, .room = r,
                           .text = reason, .len = len};

    if (hub_member(u, r) == NULL)
        return HUB_ERR_NOT_MEMBER;
    h->ops->settle(h->ctx);
    log_event("%s left %s", u->nick, r->name);
    h->ops->to_room(h->ctx, &ev, NULL);
    h->ops->settle(h->ctx);
    leave(h, u, r);
    return HUB_OK;
}

size_t
hub_text_room(const struct user *u, const struct room *r)
{
    /* ":nick!nick@host PRIVMSG #room :" and CRLF */
    size_t over = 1 + 2 * strlen(u->nick) + 1 + 1 + strlen(u->host) +
                  sizeof(" PRIVMSG ") - 1 + strlen(r->name) + 2 + 2;

    return 512 - over;
}

size_t
hub_text_user(const struct user *u, const struct user *to)
{
    /* ":nick!nick@host PRIVMSG to :" and CRLF */
    size_t over = 1 + 2 * strlen(u->nick) + 2 + strlen(u->host) +
                  sizeof(" PRIVMSG ") - 1 + strlen(to->nick) + 4;

    return 512 - over;
}

/* Cut text into pieces that fit one IRC line and send each as ev (to the
 * user to, or to the room but except). */
static void
say_pieces(struct hub *h, struct hub_event *ev, size_t max,
           struct user *to, const struct user *except)
{
    const char *text = ev->text;
    size_t left = ev->len;

    while (left > 0) {
        size_t n = utf8_cut(text, left, max);

        ev->text = text;
        ev->len = n;
        if (to != NULL)
            h->ops->to_user(h->ctx, to, ev);
        else
            h->ops->to_room(h->ctx, ev, except);
        text += n;
        left -= n;
    }
}

enum hub_err
hub_say(struct hub *h, struct user *u, struct room *r, enum hub_kind kind,
        const char *text, size_t len)
{
    return hub_say_except(h, u, r, kind, text, len, NULL);
}

enum hub_err
hub_say_except(struct hub *h, struct user *u, struct room *r,
               enum hub_kind kind, const char *text, size_t len,
               const struct user *except)
{
    struct hub_event ev = {.kind = kind, .from = u, .room = r, .text = text,
                           .len = len};
    char shown[4 * 1024 + 1];

    if (hub_member(u, r) == NULL)
        return HUB_ERR_NOT_MEMBER;
    if (len == 0)
        return HUB_ERR_NO_TEXT;
    if (log_get_level() >= LOG_EVENTS) {
        log_escape(shown, sizeof(shown), text, len);
        log_event(kind == HUB_ACTION ? "%s * %s %s" : "%s %s: %s", r->name,
                  u->nick, shown);
    }
    say_pieces(h, &ev, hub_text_room(u, r), NULL, except);
    return HUB_OK;
}

enum hub_err
hub_tell(struct hub *h, struct user *u, const char *nick, size_t nlen,
         enum hub_kind kind, const char *text, size_t len, struct user **to)
{
    struct hub_event ev = {.kind = kind, .from = u, .text = text,
                           .len = len};
    struct user *t = hub_user_find(h, nick, nlen);

    if (t == NULL)
        return HUB_ERR_NO_SUCH_NICK;
    if (len == 0)
        return HUB_ERR_NO_TEXT;
    *to = t;
    ev.to = t;
    log_event("%s -> %s: (%zu bytes)", u->nick, t->nick, len);
    say_pieces(h, &ev, hub_text_user(u, t), t, NULL);
    return HUB_OK;
}

enum hub_err
hub_topic(struct hub *h, struct user *u, struct room *r, const char *text,
          size_t len)
{
    struct hub_event ev = {.kind = HUB_TOPIC, .from = u, .room = r};

    struct member *m = hub_member(u, r);

    if (m == NULL)
        return HUB_ERR_NOT_MEMBER;
    if ((r->modes & ROOM_TOPIC_LOCK) && !(m->modes & MEMBER_OP))
        return HUB_ERR_NOT_OPERATOR;
    len = utf8_cut(text, len, HUB_TOPIC_MAX);
    free(r->topic);
    r->topic = NULL;
    if (len > 0) {
        r->topic = xmalloc(len + 1);
        memcpy(r->topic, text, len);
        r->topic[len] = '\0';
    }
    memcpy(r->topic_by, u->nick, sizeof(r->topic_by));
    r->topic_at = (uint64_t)time(NULL);
    log_event("%s set the topic of %s", u->nick, r->name);
    ev.text = r->topic != NULL ? r->topic : "";
    ev.len = len;
    h->ops->to_room(h->ctx, &ev, NULL);
    return HUB_OK;
}

/* Tell r that u changed a mode ("+o bob", "-t"). */
static void
mode_event(struct hub *h, struct user *u, struct room *r, const char *change)
{
    struct hub_event ev = {.kind = HUB_MODE, .from = u, .room = r,
                           .text = change, .len = strlen(change)};

    log_event("%s sets mode %s on %s", u->nick, change, r->name);
    h->ops->to_room(h->ctx, &ev, NULL);
}

enum hub_err
hub_op(struct hub *h, struct user *u, struct room *r, struct user *target,
       bool on)
{
    struct member *m = hub_member(u, r), *t;
    char change[NICK_MAX + 4];

    if (m == NULL)
        return HUB_ERR_NOT_MEMBER;
    if (!(m->modes & MEMBER_OP))
        return HUB_ERR_NOT_OPERATOR;
    t = hub_member(target, r);
    if (t == NULL)
        return HUB_ERR_NO_SUCH_NICK;
    if (((t->modes & MEMBER_OP) != 0) == on)
        return HUB_OK;
    if (on)
        t->modes |= MEMBER_OP;
    else
        t->modes &= ~MEMBER_OP;
    snprintf(change, sizeof(change), "%co %s", on ? '+' : '-', target->nick);
    mode_event(h, u, r, change);
    return HUB_OK;
}

enum hub_err
hub_topic_lock(struct hub *h, struct user *u, struct room *r, bool on)
{
    struct member *m = hub_member(u, r);

    if (m == NULL)
        return HUB_ERR_NOT_MEMBER;
    if (!(m->modes & MEMBER_OP))
        return HUB_ERR_NOT_OPERATOR;
    if (((r->modes & ROOM_TOPIC_LOCK) != 0) == on)
        return HUB_OK;
    if (on)
        r->modes |= ROOM_TOPIC_LOCK;
    else
        r->modes &= ~ROOM_TOPIC_LOCK;
    mode_event(h, u, r, on ? "+t" : "-t");
    return HUB_OK;
}

void
hub_away(struct hub *h, struct user *u, const char *text, size_t len)
{
    (void)h;
    free(u->away);
    u->away = NULL;
    if (len == 0)
        return;
    len = utf8_cut(text, len, HUB_TOPIC_MAX);
    u->away = xmalloc(len + 1);
    memcpy(u->away, text, len);
    u->away[len] = '\0';
}
