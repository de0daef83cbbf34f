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
    while (r->nbans > 0)
        free(r->bans[--r->nbans].mask);
    free(r->bans);
    free(r->invited);
    free(r->topic);
    free(r);
}

/* --- life of a user ---------------------------------------------------- */

void
hub_set_far_rooms(struct hub *h, struct far_room *rooms, size_t n)
{
    size_t i;

    for (i = 0; i < h->nfar; i++)
        free(h->far[i].topic);
    free(h->far);
    h->far = rooms;
    h->nfar = n;
}

static int
info_cmp(const void *a, const void *b)
{
    const struct room_info *x = a, *y = b;

    return name_cmp(x->name, y->name);
}

size_t
hub_rooms_listed(const struct hub *h, const struct user *viewer,
                 struct room_info **out)
{
    struct room_info *all = xmalloc((h->nrooms + h->nfar + 1) *
                                    sizeof(*all));
    const struct room *r;
    size_t n = 0, i;

    for (r = h->room_list; r != NULL; r = r->next)
        if (!(r->modes & ROOM_SECRET) || hub_member(viewer, r) != NULL)
            all[n++] = (struct room_info){r->name, r->topic, r->nmembers};
    for (i = 0; i < h->nfar; i++)
        if (!(h->far[i].modes & ROOM_SECRET) &&
            hub_room_find(h, h->far[i].name, strlen(h->far[i].name)) ==
                NULL)
            all[n++] = (struct room_info){h->far[i].name, h->far[i].topic,
                                          h->far[i].members};
    qsort(all, n, sizeof(*all), info_cmp);
    *out = all;
    return n;
}

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
            free(u->real);
            free(u);
        }
    while (h->room_list != NULL)
        room_free(h, h->room_list);
    for (i = 0; i < HUB_WHOWAS_MAX; i++)
        free(h->gone[i].real);
    hub_set_far_rooms(h, NULL, 0);
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
    if (h->ops->presence != NULL)
        h->ops->presence(h->ctx, u, true);
    return u;
}

void
hub_user_describe(struct user *u, const char *ident, size_t ilen,
                  const char *real, size_t rlen)
{
    if (ilen > HUB_IDENT_MAX)
        ilen = HUB_IDENT_MAX;
    memset(u->ident, 0, sizeof(u->ident));
    memcpy(u->ident, ident, ilen);
    free(u->real);
    u->real = NULL;
    if (rlen > 0) {
        rlen = utf8_cut(real, rlen, HUB_REAL_MAX);
        u->real = xmalloc(rlen + 1);
        memcpy(u->real, real, rlen);
        u->real[rlen] = '\0';
    }
}

void
hub_user_mask(const struct user *u, char *buf)
{
    snprintf(buf, HUB_USERMASK_LEN, "%s!%s@%s", u->nick, hub_ident(u),
             u->host);
}

/* Remember u, under its present nickname, for WHOWAS. */
static void
remember(struct hub *h, const struct user *u)
{
    struct hub_gone *g = &h->gone[h->ngone++ % HUB_WHOWAS_MAX];

    free(g->real);
    memcpy(g->nick, u->nick, sizeof(g->nick));
    memcpy(g->ident, hub_ident(u), strlen(hub_ident(u)) + 1);
    memcpy(g->host, u->host, sizeof(g->host));
    g->real = u->real != NULL ? xstrdup(u->real) : NULL;
    g->at = (uint64_t)time(NULL);
}

const struct hub_gone *
hub_gone_at(const struct hub *h, size_t i)
{
    if (i >= h->ngone || i >= HUB_WHOWAS_MAX)
        return NULL;
    return &h->gone[(h->ngone - 1 - i) % HUB_WHOWAS_MAX];
}

const struct hub_gone *
hub_whowas(const struct hub *h, const char *nick, size_t len, size_t n)
{
    const struct hub_gone *g;
    size_t i;

    for (i = 0; (g = hub_gone_at(h, i)) != NULL; i++)
        if (name_eqn(g->nick, nick, len) && n-- == 0)
            return g;
    return NULL;
}

void
hub_each_user(struct hub *h, void (*fn)(struct user *u, void *arg),
              void *arg)
{
    size_t i;
    struct user *u, *next;

    for (i = 0; i < h->users_cap; i++)
        for (u = h->users[i]; u != NULL; u = next) {
            next = u->hnext;
            fn(u, arg);
        }
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
    remember(h, u);
    if (h->ops->presence != NULL)
        h->ops->presence(h->ctx, u, false);
    users_take(h, u);
    free(u->away);
    free(u->real);
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
    if (!name_eqn(old, nick, len))
        remember(h, u);
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

/* Is u banned from r? */
static bool
banned(const struct user *u, const struct room *r)
{
    char mask[HUB_USERMASK_LEN];
    size_t i;

    if (r->nbans == 0)
        return false;
    hub_user_mask(u, mask);
    for (i = 0; i < r->nbans; i++)
        if (mask_match(r->bans[i].mask, mask))
            return true;
    return false;
}

/* The index of u's invitation to r, or -1. */
static long
invitation(const struct user *u, const struct room *r)
{
    size_t i;

    for (i = 0; i < r->ninvited; i++)
        if (name_eq(r->invited[i], u->nick))
            return (long)i;
    return -1;
}

/* The far room called name, or NULL. */
static const struct far_room *
far_find(const struct hub *h, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < h->nfar; i++)
        if (strlen(h->far[i].name) == len &&
            name_eqn(h->far[i].name, name, len))
            return &h->far[i];
    return NULL;
}

void
hub_invite_far(struct hub *h, const struct user *u, const char *room)
{
    struct far_invite *fi = &h->far_invites[h->nfar_invites++ %
                                            HUB_INVITES_MAX];

    memcpy(fi->nick, u->nick, sizeof(fi->nick));
    snprintf(fi->room, sizeof(fi->room), "%s", room);
}

/* May u make room name here, which other nodes have (their +i, +k, +l;
 * not their bans, which they do not publish)?  An invitation is used
 * up. */
static enum hub_err
may_join_far(struct hub *h, const struct user *u, const char *name,
             size_t len, const char *key)
{
    const struct far_room *f = far_find(h, name, len);
    struct far_invite *inv = NULL;
    size_t i;

    if (f == NULL)
        return HUB_OK;
    for (i = 0; i < HUB_INVITES_MAX && i < h->nfar_invites; i++)
        if (name_eq(h->far_invites[i].nick, u->nick) &&
            name_eq(h->far_invites[i].room, f->name))
            inv = &h->far_invites[i];
    if (inv == NULL && (f->modes & ROOM_INVITE_ONLY))
        return HUB_ERR_INVITE_ONLY;
    if (f->key[0] != '\0' && (key == NULL || strcmp(key, f->key) != 0))
        return HUB_ERR_BAD_KEY;
    if (f->limit > 0 && f->members >= f->limit)
        return HUB_ERR_FULL;
    if (inv != NULL)
        inv->nick[0] = '\0';
    return HUB_OK;
}

/* May u join r (which it is not in)?  An invitation is used up. */
static enum hub_err
may_join(const struct user *u, struct room *r, const char *key)
{
    long inv = invitation(u, r);

    if (inv < 0 && banned(u, r))
        return HUB_ERR_BANNED;
    if (inv < 0 && (r->modes & ROOM_INVITE_ONLY))
        return HUB_ERR_INVITE_ONLY;
    if (r->key[0] != '\0' && (key == NULL || strcmp(key, r->key) != 0))
        return HUB_ERR_BAD_KEY;
    if (r->limit > 0 && r->nmembers >= r->limit)
        return HUB_ERR_FULL;
    if (inv >= 0)
        memmove(r->invited[inv], r->invited[inv + 1],
                (r->ninvited-- - (size_t)inv - 1) * sizeof(r->invited[0]));
    return HUB_OK;
}

enum hub_err
hub_join(struct hub *h, struct user *u, const char *name, size_t len,
         const char *key, struct room **out, bool *joined)
{
    struct hub_event ev = {.kind = HUB_JOIN, .from = u};
    struct room *r;
    struct member *m;
    enum hub_err err;

    *joined = false;
    if (!room_is_valid(name, len))
        return HUB_ERR_ROOM_INVALID;
    r = hub_room_find(h, name, len);
    if (r != NULL && hub_member(u, r) != NULL) {
        u->current = r;
        *out = r;
        return HUB_OK;
    }
    if (r != NULL && !h->trust && (err = may_join(u, r, key)) != HUB_OK) {
        *out = r;
        return err;
    }
    if (r == NULL && !h->trust &&
        (err = may_join_far(h, u, name, len, key)) != HUB_OK) {
        memcpy(h->far_refused.name, name, len);
        h->far_refused.name[len] = '\0';
        *out = &h->far_refused;
        return err;
    }
    h->ops->settle(h->ctx);
    m = xcalloc(1, sizeof(*m));
    if (r == NULL) {
        r = room_new(h, name, len);
        r->created = (uint64_t)time(NULL);
        r->modes = ROOM_MODES_NEW;
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
    /* ":nick!user@host PRIVMSG #room :" and CRLF */
    size_t over = 1 + strlen(u->nick) + 1 + strlen(hub_ident(u)) + 1 +
                  strlen(u->host) +
                  sizeof(" PRIVMSG ") - 1 + strlen(r->name) + 2 + 2;

    return 512 - over;
}

size_t
hub_text_user(const struct user *u, size_t to_len)
{
    /* ":nick!user@host PRIVMSG to :" and CRLF */
    size_t over = 1 + strlen(u->nick) + 1 + strlen(hub_ident(u)) + 1 +
                  strlen(u->host) + sizeof(" PRIVMSG ") - 1 + to_len + 4;

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
    enum hub_err err = hub_may_speak(u, r);

    if (err != HUB_OK)
        return err;
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

/* hub_tell() for a nickname not known here: the ops' elsewhere may carry
 * it, in the pieces one IRC line holds. */
static enum hub_err
tell_elsewhere(struct hub *h, const struct hub_event *said, const char *nick,
               size_t nlen, struct user **to)
{
    struct user stand;
    struct hub_event ev = *said;
    const char *text = said->text;
    size_t left = said->len, max;

    memset(&stand, 0, sizeof(stand));
    memcpy(stand.nick, nick, nlen);
    ev.to = &stand;
    max = hub_text_user(said->from, nlen);
    while (left > 0) {
        size_t n = utf8_cut(text, left, max);

        ev.text = text;
        ev.len = n;
        if (!h->ops->elsewhere(h->ctx, &ev))
            return HUB_ERR_NO_SUCH_NICK;
        text += n;
        left -= n;
    }
    log_event("%s -> %s elsewhere", said->from->nick, stand.nick);
    *to = NULL;
    return HUB_OK;
}

enum hub_err
hub_tell(struct hub *h, struct user *u, const char *nick, size_t nlen,
         enum hub_kind kind, const char *text, size_t len, struct user **to)
{
    struct hub_event ev = {.kind = kind, .from = u, .text = text,
                           .len = len};
    struct user *t = hub_user_find(h, nick, nlen);

    if (t == NULL && h->ops->elsewhere != NULL && len > 0 &&
        nick_is_valid(nick, nlen))
        return tell_elsewhere(h, &ev, nick, nlen, to);
    if (t == NULL)
        return HUB_ERR_NO_SUCH_NICK;
    if (len == 0)
        return HUB_ERR_NO_TEXT;
    *to = t;
    ev.to = t;
    log_event("%s -> %s: (%zu bytes)", u->nick, t->nick, len);
    say_pieces(h, &ev, hub_text_user(u, strlen(t->nick)), t, NULL);
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
    if (!h->trust && (r->modes & ROOM_TOPIC_LOCK) &&
        !(m->modes & MEMBER_OP))
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

/* u's membership of r if it is an operator there, else NULL with *err. */
static struct member *
operator_of(const struct user *u, const struct room *r, enum hub_err *err)
{
    struct member *m = hub_member(u, r);

    *err = m == NULL                  ? HUB_ERR_NOT_MEMBER
           : !(m->modes & MEMBER_OP) ? HUB_ERR_NOT_OPERATOR
                                     : HUB_OK;
    return *err == HUB_OK ? m : NULL;
}

/* +o/-o, +v/-v on the member called arg. */
static enum hub_err
member_mode(struct hub *h, struct user *u, struct room *r, char c, bool on,
            const char *arg)
{
    unsigned bit = c == 'o' ? MEMBER_OP : MEMBER_VOICE;
    char change[NICK_MAX + 4];
    struct user *target;
    struct member *t;

    if (arg == NULL || arg[0] == '\0')
        return HUB_ERR_BAD_PARAM;
    target = hub_user_find(h, arg, strlen(arg));
    if (target == NULL)
        return HUB_ERR_NO_SUCH_NICK;
    t = hub_member(target, r);
    if (t == NULL)
        return HUB_ERR_NOT_IN_ROOM;
    if (((t->modes & bit) != 0) == on)
        return HUB_OK;
    t->modes = on ? t->modes | bit : t->modes & ~bit;
    snprintf(change, sizeof(change), "%c%c %s", on ? '+' : '-', c,
             target->nick);
    mode_event(h, u, r, change);
    return HUB_OK;
}

/* A key: 1-23 bytes of printable ASCII but space (RFC 2812). */
static bool
key_is_valid(const char *k)
{
    size_t n = strlen(k), i;

    if (n == 0 || n > HUB_KEY_MAX)
        return false;
    for (i = 0; i < n; i++)
        if ((unsigned char)k[i] <= ' ' || (unsigned char)k[i] >= 0x7f)
            return false;
    return true;
}

/* "nick" and "nick!user" completed to a whole mask, into out. */
static bool
ban_mask(const char *arg, char *out)
{
    size_t n = strlen(arg), i;

    if (n == 0 || n > HUB_MASK_MAX - 4)
        return false;
    for (i = 0; i < n; i++)
        if ((unsigned char)arg[i] <= ' ' || arg[i] == ',')
            return false;
    if (strchr(arg, '@') != NULL)
        snprintf(out, HUB_MASK_MAX + 1, "%s%s", strchr(arg, '!') ? "" : "*!",
                 arg);
    else if (strchr(arg, '!') != NULL)
        snprintf(out, HUB_MASK_MAX + 1, "%s@*", arg);
    else
        snprintf(out, HUB_MASK_MAX + 1, "%s!*@*", arg);
    return true;
}

static enum hub_err
ban_mode(struct hub *h, struct user *u, struct room *r, bool on,
         const char *arg)
{
    char mask[HUB_MASK_MAX + 1], change[HUB_MASK_MAX + 4];
    size_t i;

    if (arg == NULL || !ban_mask(arg, mask))
        return HUB_ERR_BAD_PARAM;
    for (i = 0; i < r->nbans && !name_eq(r->bans[i].mask, mask); i++)
        ;
    if ((i < r->nbans) == on)
        return HUB_OK;
    if (on) {
        if (r->nbans == HUB_BANS_MAX)
            return HUB_ERR_LIST_FULL;
        r->bans = xrealloc(r->bans, (r->nbans + 1) * sizeof(*r->bans));
        r->bans[r->nbans].mask = xstrdup(mask);
        memcpy(r->bans[r->nbans].by, u->nick, sizeof(u->nick));
        r->bans[r->nbans].at = (uint64_t)time(NULL);
        r->nbans++;
    } else {
        free(r->bans[i].mask);
        memmove(&r->bans[i], &r->bans[i + 1],
                (--r->nbans - i) * sizeof(*r->bans));
    }
    snprintf(change, sizeof(change), "%cb %s", on ? '+' : '-', mask);
    mode_event(h, u, r, change);
    return HUB_OK;
}

static enum hub_err
key_mode(struct hub *h, struct user *u, struct room *r, bool on,
         const char *arg)
{
    char change[HUB_KEY_MAX + 4];

    if (on && (arg == NULL || !key_is_valid(arg)))
        return HUB_ERR_BAD_PARAM;
    if (!on && r->key[0] == '\0')
        return HUB_OK;
    if (on && strcmp(r->key, arg) == 0)
        return HUB_OK;
    snprintf(change, sizeof(change), "%ck %s", on ? '+' : '-',
             on ? arg : r->key);
    memset(r->key, 0, sizeof(r->key));
    if (on)
        memcpy(r->key, arg, strlen(arg));
    mode_event(h, u, r, change);
    return HUB_OK;
}

static enum hub_err
limit_mode(struct hub *h, struct user *u, struct room *r, bool on,
           const char *arg)
{
    char change[32], *end;
    unsigned long n = 0;

    if (on) {
        if (arg == NULL || arg[0] < '0' || arg[0] > '9')
            return HUB_ERR_BAD_PARAM;
        n = strtoul(arg, &end, 10);
        if (*end != '\0' || n == 0 || n > 1000000)
            return HUB_ERR_BAD_PARAM;
    }
    if (r->limit == n)
        return HUB_OK;
    r->limit = n;
    if (on)
        snprintf(change, sizeof(change), "+l %lu", n);
    else
        snprintf(change, sizeof(change), "-l");
    mode_event(h, u, r, change);
    return HUB_OK;
}

/* The room mode letters without parameters, and their bits. */
static const struct {
    char     c;
    unsigned bit;
} flag_modes[] = {
    {'t', ROOM_TOPIC_LOCK},  {'n', ROOM_NO_EXTERNAL}, {'m', ROOM_MODERATED},
    {'i', ROOM_INVITE_ONLY}, {'s', ROOM_SECRET},
};

enum hub_err
hub_mode(struct hub *h, struct user *u, struct room *r, char c, bool on,
         const char *arg)
{
    char change[3] = {on ? '+' : '-', c, '\0'};
    enum hub_err err;
    size_t i;

    for (i = 0; i < sizeof(flag_modes) / sizeof(flag_modes[0]); i++)
        if (flag_modes[i].c == c)
            break;
    if (i == sizeof(flag_modes) / sizeof(flag_modes[0]) &&
        strchr("ovbkl", c) == NULL)
        return HUB_ERR_UNKNOWN_MODE;
    if (!h->trust && operator_of(u, r, &err) == NULL)
        return err;
    switch (c) {
    case 'o':
    case 'v':
        return member_mode(h, u, r, c, on, arg);
    case 'b':
        return ban_mode(h, u, r, on, arg);
    case 'k':
        return key_mode(h, u, r, on, arg);
    case 'l':
        return limit_mode(h, u, r, on, arg);
    default:
        break;
    }
    if (((r->modes & flag_modes[i].bit) != 0) == on)
        return HUB_OK;
    r->modes = on ? r->modes | flag_modes[i].bit
                  : r->modes & ~flag_modes[i].bit;
    if (c == 'i' && !on)
        r->ninvited = 0;                /* invitations lapse with +i */
    mode_event(h, u, r, change);
    return HUB_OK;
}

enum hub_err
hub_may_speak(const struct user *u, const struct room *r)
{
    const struct member *m = hub_member(u, r);

    if (m == NULL)
        return (r->modes & ROOM_NO_EXTERNAL) ? HUB_ERR_CANNOT_SEND : HUB_OK;
    if (m->modes & (MEMBER_OP | MEMBER_VOICE))
        return HUB_OK;
    if ((r->modes & ROOM_MODERATED) || banned(u, r))
        return HUB_ERR_CANNOT_SEND;
    return HUB_OK;
}

enum hub_err
hub_kick(struct hub *h, struct user *u, struct room *r, struct user *target,
         const char *reason, size_t len)
{
    struct hub_event ev = {.kind = HUB_KICK, .from = u, .room = r,
                           .to = target, .text = reason, .len = len};
    enum hub_err err;

    if (!h->trust && operator_of(u, r, &err) == NULL)
        return err;
    if (hub_member(target, r) == NULL)
        return HUB_ERR_NOT_IN_ROOM;
    if (len == 0) {
        ev.text = u->nick;
        ev.len = strlen(u->nick);
    }
    ev.len = utf8_cut(ev.text, ev.len, HUB_TOPIC_MAX);
    h->ops->settle(h->ctx);
    log_event("%s kicked %s from %s", u->nick, target->nick, r->name);
    h->ops->to_room(h->ctx, &ev, NULL);
    h->ops->settle(h->ctx);
    leave(h, target, r);
    return HUB_OK;
}

/* Whether u may invite to r: a member, an operator if +i. */
static enum hub_err
may_invite(const struct hub *h, const struct user *u, const struct room *r)
{
    enum hub_err err = HUB_OK;

    if (!h->trust &&
        ((r->modes & ROOM_INVITE_ONLY) ? operator_of(u, r, &err) == NULL
                                       : hub_member(u, r) == NULL))
        return err != HUB_OK ? err : HUB_ERR_NOT_MEMBER;
    return HUB_OK;
}

enum hub_err
hub_invite_elsewhere(struct hub *h, struct user *u, struct room *r,
                     const char *nick, size_t len)
{
    struct user stand;
    struct hub_event ev = {.kind = HUB_INVITE, .from = u, .room = r,
                           .to = &stand};
    enum hub_err err;

    if (h->ops->elsewhere == NULL || !nick_is_valid(nick, len))
        return HUB_ERR_NO_SUCH_NICK;
    if ((err = may_invite(h, u, r)) != HUB_OK)
        return err;
    memset(&stand, 0, sizeof(stand));
    memcpy(stand.nick, nick, len);
    if (!h->ops->elsewhere(h->ctx, &ev))
        return HUB_ERR_NO_SUCH_NICK;
    log_event("%s invited %s to %s elsewhere", u->nick, stand.nick, r->name);
    return HUB_OK;
}

enum hub_err
hub_invite(struct hub *h, struct user *u, struct room *r,
           struct user *target)
{
    struct hub_event ev = {.kind = HUB_INVITE, .from = u, .room = r,
                           .to = target};
    enum hub_err err = may_invite(h, u, r);

    if (err != HUB_OK)
        return err;
    if (hub_member(target, r) != NULL)
        return HUB_ERR_IN_ROOM;
    if (invitation(target, r) < 0) {
        if (r->ninvited == HUB_INVITES_MAX)     /* the oldest lapses */
            memmove(r->invited[0], r->invited[1],
                    --r->ninvited * sizeof(r->invited[0]));
        r->invited = xrealloc(r->invited,
                              (r->ninvited + 1) * sizeof(r->invited[0]));
        memcpy(r->invited[r->ninvited++], target->nick, NICK_MAX + 1);
    }
    log_event("%s invited %s to %s", u->nick, target->nick, r->name);
    h->ops->to_user(h->ctx, target, &ev);
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
