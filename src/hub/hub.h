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
 * members who were there when they were said. */
#ifndef CHATD_HUB_H
#define CHATD_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/names.h"

#define HUB_HOST_LEN 64
#define HUB_TOPIC_MAX 390       /* bytes of a topic (fits one IRC line) */

struct user;
struct room;

#define MEMBER_OP 0x1           /* room operator ("@") */

/* A user in a room: linked into both. */
struct member {
    struct user   *user;
    struct room   *room;
    struct member *rnext, *rprev;   /* room->members, in joining order */
    struct member *unext;           /* user->rooms, newest first */
    unsigned       modes;           /* MEMBER_OP */
};

#define ROOM_TOPIC_LOCK 0x1     /* +t: only operators set the topic */

struct user {
    struct user   *hnext;           /* the nickname table's chain */
    uint64_t       hash;
    struct member *rooms;           /* newest first */
    struct room   *current;         /* where plain text goes, or NULL */
    void          *client;          /* borrowed: the door's connection */
    char          *away;            /* owned: the away message, or NULL */
    uint64_t       mark;            /* visited, in hub_each_sharer() */
    char           nick[NICK_MAX + 1];
    char           host[HUB_HOST_LEN];
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
    unsigned       modes;           /* ROOM_TOPIC_LOCK */
    char           name[ROOM_MAX + 1];
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
};

struct hub_event {
    enum hub_kind      kind;
    const struct user *from;
    const struct room *room;        /* HUB_SAY ... HUB_PART, HUB_TOPIC */
    const struct user *to;          /* HUB_PRIVATE, a private HUB_NOTICE */
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
    uint64_t              marks;    /* hub_each_sharer()'s generation */
};

void hub_init(struct hub *h, const struct hub_ops *ops, void *ctx);
/* Free every user and room (their clients are not told). */
void hub_fini(struct hub *h);

/* A free nickname guestN, into buf (at least NICK_MAX + 1 bytes). */
void hub_guest_nick(struct hub *h, char *buf);

/* A new user called nick, from host, for the door's client.  Returns it
 * (owned by the hub: freed by hub_user_quit), or NULL with *err. */
struct user *hub_user_new(struct hub *h, const char *nick, size_t len,
                          const char *host, size_t hostlen, void *client,
                          enum hub_err *err);
/* u leaves every room (each user sharing a room with u is told once,
 * HUB_QUIT with reason) and is freed. */
void hub_user_quit(struct hub *h, struct user *u, const char *reason);

/* Rename u.  Everyone sharing a room with u, and u, are told once
 * (HUB_NICK).  Same name in another case: allowed. */
enum hub_err hub_nick(struct hub *h, struct user *u, const char *nick,
                      size_t len);

/* u joins room name (created if missing, u its operator) and it becomes
 * u's current room; the room, u included, is told (HUB_JOIN).  *out is the
 * room.  Joining a room u is in only makes it current (*joined = false). */
enum hub_err hub_join(struct hub *h, struct user *u, const char *name,
                      size_t len, struct room **out, bool *joined);
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

/* u gives (on) or takes operator status to target in r; the room is told
 * (HUB_MODE "+o nick").  u must be an operator, target a member. */
enum hub_err hub_op(struct hub *h, struct user *u, struct room *r,
                    struct user *target, bool on);
/* u locks (on) or unlocks r's topic to operators; the room is told
 * (HUB_MODE "+t"). */
enum hub_err hub_topic_lock(struct hub *h, struct user *u, struct room *r,
                            bool on);
/* u is away with text (len 0: back). */
void hub_away(struct hub *h, struct user *u, const char *text, size_t len);

/* u says text to the user called nick (HUB_PRIVATE or HUB_NOTICE); *to is
 * that user. */
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
/* The same for a private message from u to the user to. */
size_t hub_text_user(const struct user *u, const struct user *to);

#endif
