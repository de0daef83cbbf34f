/* hub.h -- the chat model: users with nicknames, rooms with members.
 *
 * The hub knows who is where and who receives what; it knows nothing of
 * sockets or wire formats.  A door (the line door, IRC, WebSocket) turns
 * what its client sends into calls here; the hub checks the rules, changes
 * its state, logs the event, and hands each event to the server through
 * struct hub_ops with the room or the user it is for.  The server encodes
 * an event once per wire format and shares the bytes among the recipients.
 *
 * Before any change of who is where, the hub calls ops->settle, so that
 * messages the server is still gathering for a room reach exactly the
 * members who were there when they were said.
 *
 * In a cluster (src/cluster), users on other nodes are hub users too, with
 * no client: they are members, have nicknames and show in every list, and
 * the route skips them.  The cluster keeps a record of its own on each
 * user (user->cluster), learns of users coming and going through
 * ops->presence, and replays other nodes' decisions with h->trust set. */
#ifndef CHATD_HUB_H
#define CHATD_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/names.h"

#define HUB_HOST_LEN 64
#define HUB_TOPIC_MAX 390       /* bytes of a topic (fits one IRC line) */
#define HUB_IDENT_MAX 10        /* bytes of an IRC user name (USERLEN) */
#define HUB_REAL_MAX 64         /* bytes of an IRC real name */
#define HUB_KEY_MAX 23          /* bytes of a room key (RFC 2812) */
#define HUB_BANS_MAX 64         /* ban masks of one room (MAXLIST) */
#define HUB_MASK_MAX 100        /* bytes of one ban mask */
#define HUB_USERMASK_LEN (2 * NICK_MAX + HUB_HOST_LEN + 2)
#define HUB_INVITES_MAX 32      /* pending invitations to one room */
#define HUB_WHOWAS_MAX 128      /* gone nicknames remembered */

struct user;
struct room;

#define MEMBER_OP    0x1        /* room operator ("@") */
#define MEMBER_VOICE 0x2        /* may speak in a moderated room ("+") */

/* A user in a room: linked into both. */
struct member {
    struct user   *user;
    struct room   *room;
    struct member *rnext, *rprev;   /* room->members, in joining order */
    struct member *unext;           /* user->rooms, newest first */
    unsigned       modes;           /* MEMBER_OP, MEMBER_VOICE */
};

#define ROOM_TOPIC_LOCK  0x01   /* +t: only operators set the topic */
#define ROOM_NO_EXTERNAL 0x02   /* +n: only members send to it */
#define ROOM_MODERATED   0x04   /* +m: only operators and voiced speak */
#define ROOM_INVITE_ONLY 0x08   /* +i: join by invitation only */
#define ROOM_SECRET      0x10   /* +s: hidden from non-members' lists */
#define ROOM_MODES_NEW   ROOM_NO_EXTERNAL   /* a new room's modes */

struct user {
    struct user   *hnext;           /* the nickname table's chain */
    uint64_t       hash;
    struct member *rooms;           /* newest first */
    struct room   *current;         /* where plain text goes, or NULL */
    void          *client;          /* borrowed: the door's connection;
                                     * NULL for a user on another node */
    void          *cluster;         /* the cluster's record of u (owned
                                     * by it), or NULL */
    char          *away;            /* owned: the away message, or NULL */
    char          *real;            /* owned: the IRC real name, or NULL */
    uint64_t       mark;            /* visited, in hub_each_sharer() */
    char           nick[NICK_MAX + 1];
    char           ident[HUB_IDENT_MAX + 1];  /* IRC user name ("": nick) */
    char           host[HUB_HOST_LEN];
};

/* A ban: who may not join or speak, and who set it when. */
struct ban {
    char    *mask;                  /* owned: "nick!user@host", wildcards */
    char     by[NICK_MAX + 1];
    uint64_t at;                    /* seconds since the epoch */
};

struct room {
    struct room   *hnext;           /* the room table's chain */
    uint64_t       hash;
    struct room   *next, *prev;     /* every room */
    struct member *members, *last;  /* in joining order */
    size_t         nmembers;
    char          *topic;           /* owned, or NULL */
    char           topic_by[NICK_MAX + 1];  /* who set it */
    uint64_t       topic_at;        /* when (seconds since the epoch) */
    uint64_t       created;         /* when (seconds since the epoch) */
    unsigned       modes;           /* ROOM_TOPIC_LOCK, ... */
    size_t         limit;           /* +l: most members, 0: no limit */
    struct ban    *bans;            /* owned: +b, nbans of them */
    size_t         nbans;
    char         (*invited)[NICK_MAX + 1];  /* owned: folded nicknames */
    size_t         ninvited;
    char           key[HUB_KEY_MAX + 1];    /* +k ("": none) */
    char           name[ROOM_MAX + 1];
};

/* A user that left, or a nickname given up, for WHOWAS. */
struct hub_gone {
    char     nick[NICK_MAX + 1];
    char     ident[HUB_IDENT_MAX + 1];
    char     host[HUB_HOST_LEN];
    char    *real;                  /* owned, or NULL */
    uint64_t at;                    /* seconds since the epoch */
};

/* What happened, for the server to encode and deliver. */
enum hub_kind {
    HUB_SAY,            /* from said text in room */
    HUB_ACTION,         /* from did text in room (/me) */
    HUB_NOTICE,         /* a notice from `from` to room or to */
    HUB_PRIVATE,        /* from said text to `to` alone */
    HUB_JOIN,           /* from joined room */
    HUB_PART,           /* from left room (text: the reason, may be "") */
    HUB_QUIT,           /* from left every room (text: the reason) */
    HUB_NICK,           /* from, once called old, is now from->nick */
    HUB_TOPIC,          /* from set room's topic to text */
    HUB_MODE,           /* from changed room's modes: text ("+o bob") */
    HUB_KICK,           /* from put `to` out of room (text: the reason) */
    HUB_INVITE,         /* from invites `to` to room (to `to` alone) */
    HUB_SERVER,         /* the server (from: its name) tells `to` text */
};

struct hub_event {
    enum hub_kind      kind;
    const struct user *from;
    const struct room *room;        /* HUB_SAY ... HUB_PART, HUB_TOPIC */
    const struct user *to;          /* HUB_PRIVATE, a private HUB_NOTICE,
                                     * HUB_KICK, HUB_INVITE */
    const char        *text;        /* cleaned UTF-8 (IRC codes kept) */
    size_t             len;
    const char        *old;         /* HUB_NICK: the former nickname */
};

struct hub_ops {
    /* Deliver ev to every member of ev->room but except (NULL: all). */
    void (*to_room)(void *ctx, const struct hub_event *ev,
                    const struct user *except);
    /* Deliver ev to u alone. */
    void (*to_user)(void *ctx, struct user *u, const struct hub_event *ev);
    /* Queue everything gathered so far: who is where is about to change. */
    void (*settle)(void *ctx);
    /* u was created (online) or is about to be freed (not online); NULL:
     * nobody asks. */
    void (*presence)(void *ctx, struct user *u, bool online);
    /* HUB_PRIVATE, HUB_NOTICE or HUB_INVITE for ev->to, a user not known
     * here (a stand-in with its nickname alone): true if it is on its way
     * elsewhere (another node); NULL: nowhere else. */
    bool (*elsewhere)(void *ctx, const struct hub_event *ev);
};

enum hub_err {
    HUB_OK,
    HUB_ERR_NICK_INVALID,
    HUB_ERR_NICK_TAKEN,
    HUB_ERR_ROOM_INVALID,
    HUB_ERR_NO_SUCH_ROOM,
    HUB_ERR_NO_SUCH_NICK,
    HUB_ERR_NOT_MEMBER,
    HUB_ERR_NO_TEXT,
    HUB_ERR_NOT_OPERATOR,
    HUB_ERR_NOT_IN_ROOM,    /* the target is not a member */
    HUB_ERR_IN_ROOM,        /* the target is a member already */
    HUB_ERR_CANNOT_SEND,    /* +n, +m or a ban keeps the sender quiet */
    HUB_ERR_BANNED,         /* +b matches the joiner */
    HUB_ERR_INVITE_ONLY,    /* +i and no invitation */
    HUB_ERR_BAD_KEY,        /* +k and not that key */
    HUB_ERR_FULL,           /* +l reached */
    HUB_ERR_UNKNOWN_MODE,   /* not a mode the hub knows */
    HUB_ERR_BAD_PARAM,      /* a mode's parameter is missing or invalid */
    HUB_ERR_LIST_FULL,      /* HUB_BANS_MAX bans already */
};

/* A room of another node that has no member here (the cluster's view,
 * refreshed every few seconds), for lists. */
struct far_room {
    char    *topic;                 /* owned, or NULL */
    size_t   members;               /* on every node together */
    unsigned modes;                 /* ROOM_INVITE_ONLY, ... */
    size_t   limit;                 /* +l, 0: none */
    char     key[HUB_KEY_MAX + 1];  /* +k, "": none */
    char     name[ROOM_MAX + 1];
};

/* An invitation to a room that has no member here (a far room's). */
struct far_invite {
    char nick[NICK_MAX + 1];
    char room[ROOM_MAX + 1];
};

/* A room as a list (/rooms, LIST) shows it: views into a room or a
 * far_room, valid until the hub changes. */
struct room_info {
    const char *name;
    const char *topic;              /* or NULL */
    size_t      members;
};

struct hub {
    const struct hub_ops *ops;      /* borrowed */
    void                 *ctx;      /* borrowed: the ops' argument */
    struct user         **users;    /* hash table by folded nickname */
    size_t                nusers, users_cap;
    struct room         **rooms;    /* hash table by folded name */
    size_t                nrooms, rooms_cap;
    struct room          *room_list;
    uint64_t              guests;   /* the last guestN handed out */
    bool                  trust;    /* set while the cluster replays what
                                     * another node decided: joins, modes,
                                     * topics and kicks skip the checks */
    uint64_t              marks;    /* hub_each_sharer()'s generation */
    struct hub_gone       gone[HUB_WHOWAS_MAX];     /* a ring, for WHOWAS */
    size_t                ngone;    /* ever recorded */
    struct far_room      *far;      /* owned: other nodes' rooms */
    size_t                nfar;
    struct far_invite     far_invites[HUB_INVITES_MAX];   /* a ring */
    size_t                nfar_invites;     /* ever recorded */
    struct room           far_refused;  /* a far room a join was refused
                                         * (only its name is set) */
};

void hub_init(struct hub *h, const struct hub_ops *ops, void *ctx);
/* Free every user and room (their clients are not told). */
void hub_fini(struct hub *h);
/* Other nodes' rooms become rooms[0..n) (owned now, malloc'd, topics
 * too); the former ones are freed.  A join that would make one of them
 * here is checked against its +i, +k and +l first. */
void hub_set_far_rooms(struct hub *h, struct far_room *rooms, size_t n);
/* u is invited to room, which has no member here: it may join past +i
 * once. */
void hub_invite_far(struct hub *h, const struct user *u, const char *room);
/* The rooms viewer may see listed, ours and other nodes' (a room of both
 * once, as ours), sorted by name; secret ones only to their members.
 * Returns how many, in *out (malloc'd; free it). */
size_t hub_rooms_listed(const struct hub *h, const struct user *viewer,
                        struct room_info **out);

/* A free nickname guestN, into buf (at least NICK_MAX + 1 bytes). */
void hub_guest_nick(struct hub *h, char *buf);

/* A new user called nick, from host, for the door's client.  Returns it
 * (owned by the hub: freed by hub_user_quit), or NULL with *err. */
struct user *hub_user_new(struct hub *h, const char *nick, size_t len,
                          const char *host, size_t hostlen, void *client,
                          enum hub_err *err);
/* u's IRC user name and real name (the line door leaves them unset: the
 * user name is then the nickname). */
void hub_user_describe(struct user *u, const char *ident, size_t ilen,
                       const char *real, size_t rlen);
/* u's user name: the IRC one, or its nickname. */
static inline const char *
hub_ident(const struct user *u)
{
    return u->ident[0] != '\0' ? u->ident : u->nick;
}
/* "nick!user@host" of u, into buf (HUB_USERMASK_LEN bytes). */
void hub_user_mask(const struct user *u, char *buf);

/* u leaves every room (each user sharing a room with u is told once,
 * HUB_QUIT with reason) and is freed. */
void hub_user_quit(struct hub *h, struct user *u, const char *reason);

/* Rename u.  Everyone sharing a room with u, and u, are told once
 * (HUB_NICK).  Same name in another case: allowed. */
enum hub_err hub_nick(struct hub *h, struct user *u, const char *nick,
                      size_t len);

/* u joins room name (created if missing, u its operator) and it becomes
 * u's current room; the room, u included, is told (HUB_JOIN).  *out is the
 * room.  Joining a room u is in only makes it current (*joined = false).
 * An existing room's bans, +i, key (key: NULL for none given) and +l are
 * checked, in that order; an invitation passes the first two. */
enum hub_err hub_join(struct hub *h, struct user *u, const char *name,
                      size_t len, const char *key, struct room **out,
                      bool *joined);
/* u leaves r, which the room, u included, is told (HUB_PART); a room left
 * empty is gone.  u's current room becomes its newest other one. */
enum hub_err hub_part(struct hub *h, struct user *u, struct room *r,
                      const char *reason, size_t len);

/* u says text (cleaned; cut into pieces that fit one IRC line) in r
 * (kind HUB_SAY, HUB_ACTION or HUB_NOTICE).  except: a member not to
 * deliver to (IRC does not echo), or NULL. */
enum hub_err hub_say(struct hub *h, struct user *u, struct room *r,
                     enum hub_kind kind, const char *text, size_t len);
/* As hub_say, but the member except (the sender, on a door that does not
 * echo) is not given the message. */
enum hub_err hub_say_except(struct hub *h, struct user *u, struct room *r,
                            enum hub_kind kind, const char *text,
                            size_t len, const struct user *except);

/* u sets (on) or unsets mode c of r; the room is told (HUB_MODE "+o bob",
 * "-t", "+k key", "+l 10", "+b mask") unless nothing changed.  u must be
 * an operator of r.  The modes: o and v (arg: a member's nickname), b
 * (arg: a mask; "nick" and "nick!user" are completed with "!*@*"), k (arg:
 * 1-23 bytes of printable ASCII but space; unset: any arg or none), l
 * (arg: a positive number; unset: none), and t n m i s (no arg). */
enum hub_err hub_mode(struct hub *h, struct user *u, struct room *r, char c,
                      bool on, const char *arg);
/* May u say something in r?  HUB_OK, HUB_ERR_CANNOT_SEND (+n and not a
 * member, +m and neither voiced nor an operator, or banned and neither). */
enum hub_err hub_may_speak(const struct user *u, const struct room *r);
/* u puts target out of r with reason (len 0: u's nickname); the room,
 * target included, is told (HUB_KICK).  u must be an operator. */
enum hub_err hub_kick(struct hub *h, struct user *u, struct room *r,
                      struct user *target, const char *reason, size_t len);
/* u invites target to r: target is told (HUB_INVITE) and may join past
 * +i and bans once.  u must be a member (an operator if r is +i), target
 * not one yet. */
enum hub_err hub_invite(struct hub *h, struct user *u, struct room *r,
                        struct user *target);
/* The same for a nickname not known here: the ops' elsewhere carries the
 * invitation (to the node that has it, which records it); no such nick if
 * there is no elsewhere or it refuses. */
enum hub_err hub_invite_elsewhere(struct hub *h, struct user *u,
                                  struct room *r, const char *nick,
                                  size_t len);
/* The i-th most recent (0 first) gone user or given-up nickname, or
 * NULL past the oldest kept. */
const struct hub_gone *hub_gone_at(const struct hub *h, size_t i);
/* The n-th most recent (0 first) gone user called nick, or NULL. */
const struct hub_gone *hub_whowas(const struct hub *h, const char *nick,
                                  size_t len, size_t n);
/* Call fn(u, arg) for every user. */
void hub_each_user(struct hub *h, void (*fn)(struct user *u, void *arg),
                   void *arg);
/* u is away with text (len 0: back). */
void hub_away(struct hub *h, struct user *u, const char *text, size_t len);

/* u says text to the user called nick (HUB_PRIVATE or HUB_NOTICE); *to is
 * that user, or NULL if it is not known here and the ops' elsewhere took
 * the text (to another node, which says if it has no such user). */
enum hub_err hub_tell(struct hub *h, struct user *u, const char *nick,
                      size_t nlen, enum hub_kind kind, const char *text,
                      size_t len, struct user **to);
/* u sets r's topic (len 0: clears it); the room is told (HUB_TOPIC).  A
 * locked topic (+t) is only an operator's to set. */
enum hub_err hub_topic(struct hub *h, struct user *u, struct room *r,
                       const char *text, size_t len);

struct user *hub_user_find(const struct hub *h, const char *nick,
                           size_t len);
struct room *hub_room_find(const struct hub *h, const char *name,
                           size_t len);
/* u's membership of r, or NULL. */
struct member *hub_member(const struct user *u, const struct room *r);

/* Call fn(u2, arg) once for each user sharing at least one room with u,
 * and for u itself. */
void hub_each_sharer(struct hub *h, struct user *u,
                     void (*fn)(struct user *u2, void *arg), void *arg);

/* The longest text of one message from u in r that still fits one IRC
 * line (":nick!nick@host PRIVMSG #room :text\r\n" in 512 bytes). */
size_t hub_text_room(const struct user *u, const struct room *r);
/* The same for a private message from u to a user whose nickname is
 * to_len bytes (it need not be known here). */
size_t hub_text_user(const struct user *u, size_t to_len);

#endif
