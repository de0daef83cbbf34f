/* irc_door.c -- the chat profile's IRC door: IRC clients in the hub's
 * rooms.
 *
 * A client registers (NICK, USER; PASS accepted; CAP answered with an
 * empty list), then becomes a hub user like any line client: its rooms
 * are IRC channels, and what line users say reaches it as PRIVMSG from
 * nick!nick@host.  This file turns IRC commands into hub calls and the
 * hub's events into IRC lines (one shared buffer per event for every IRC
 * member, WIRE_IRC).  A client's own PRIVMSG is not echoed to it, as IRC
 * expects.  The parser is src/proto/irc.c. */
#include "server/irc_door.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/irc.h"
#include "proto/utf8.h"
#include "server/lab.h"
#include "server/server.h"
#include "util/compat.h"
#include "util/version.h"
#include "util/xmalloc.h"

#define SERVER_NAME_DEFAULT "chatd"
#define IRC_TEXT_MAX  (IRC_LINE_MAX - 2)    /* a line without its CRLF */
#define PING_AFTER_MS (120 * 1000)          /* silence before we PING */
#define PONG_WAIT_MS  (60 * 1000)           /* then silence before we close */
#define REAL_MAX      HUB_REAL_MAX
#define MODES_MAX     6         /* changes with a parameter in one MODE */

#define IRC_F_USER    0x01      /* USER was given */
#define IRC_F_CAP     0x02      /* CAP negotiation holds registration */
#define IRC_F_SKIP    0x04      /* dropping the rest of an overlong line */
#define IRC_F_PINGED  0x08      /* we sent PING, no answer yet */
#define IRC_F_INVIS   0x10      /* user mode +i */
#define IRC_F_WALLOPS 0x20      /* user mode +w */
#define IRC_F_OPER    0x40      /* user mode +o: an IRC operator */

struct irc {
    struct user      *user;             /* the hub's, once registered */
    struct conn      *conn;             /* borrowed: the owner */
    unsigned          flags;
    struct loop_timer ping;
    char              nick[NICK_MAX + 1];   /* before registration */
    char              real[REAL_MAX + 1];   /* USER's realname */
    char              ident[HUB_IDENT_MAX + 1];  /* USER's user name */
};

static struct irc *
irc_of(const struct conn *c)
{
    return c->state_p;
}

static struct hub *
hub_of(const struct conn *c)
{
    return &c->door->srv->hub;
}

/* The server's IRC name: --node-name, or "chatd". */
static const char *
sname(const struct conn *c)
{
    const char *n = c->door->srv->cfg->node_name;

    return n != NULL ? n : SERVER_NAME_DEFAULT;
}

/* The nickname to address c by in a numeric ("*" before it has one). */
static const char *
me(const struct conn *c)
{
    const struct irc *st = irc_of(c);

    if (st->user != NULL)
        return st->user->nick;
    return st->nick[0] != '\0' ? st->nick : "*";
}

/* One line to c alone, CRLF added; cut to fit 512 bytes. */
static void PRINTF_LIKE(2, 3)
send_line(struct conn *c, const char *fmt, ...)
{
    char buf[IRC_LINE_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, IRC_TEXT_MAX + 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > IRC_TEXT_MAX)
        n = IRC_TEXT_MAX;
    buf[n++] = '\r';
    buf[n++] = '\n';
    route_copy_to_conn(&c->door->srv->route, c, buf, (size_t)n);
}

/* A numeric reply: ":chatd NNN nick rest". */
static void PRINTF_LIKE(3, 4)
numeric(struct conn *c, int code, const char *fmt, ...)
{
    char rest[IRC_LINE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rest, sizeof(rest), fmt, ap);
    va_end(ap);
    send_line(c, ":%s %03d %s %s", sname(c), code, me(c), rest);
}

/* "%.*s" of a parameter. */
#define P(x) (int)(x).len, (x).p

/* --- encoding the hub's events as IRC lines --------------------------- */

size_t
irc_door_encode(const struct hub_event *ev, int w, char *buf, size_t cap)
{
    const struct user *u = ev->from;
    const char *room = ev->room != NULL ? ev->room->name : "";
    int t = (int)ev->len, n = 0;
    const char *text = ev->text != NULL ? ev->text : "";
    char src[HUB_USERMASK_LEN];

    (void)w;
    snprintf(src, sizeof(src), "%s!%s@%s", ev->kind == HUB_NICK ? ev->old
                                                                : u->nick,
             ev->kind == HUB_NICK && u->ident[0] == '\0' ? ev->old
                                                        : hub_ident(u),
             u->host);
    switch (ev->kind) {
    case HUB_SAY:
        n = snprintf(buf, cap, ":%s PRIVMSG %s :%.*s\r\n", src, room, t, text);
        break;
    case HUB_ACTION:
        n = snprintf(buf, cap, ":%s PRIVMSG %s :\001ACTION %.*s\001\r\n", src,
                     room, t, text);
        break;
    case HUB_NOTICE:
        n = snprintf(buf, cap, ":%s NOTICE %s :%.*s\r\n", src,
                     ev->to != NULL ? ev->to->nick : room, t, text);
        break;
    case HUB_PRIVATE:
        n = snprintf(buf, cap, ":%s PRIVMSG %s :%.*s\r\n", src, ev->to->nick,
                     t, text);
        break;
    case HUB_JOIN:
        n = snprintf(buf, cap, ":%s JOIN %s\r\n", src, room);
        break;
    case HUB_PART:
        n = snprintf(buf, cap, ":%s PART %s :%.*s\r\n", src, room, t, text);
        break;
    case HUB_QUIT:
        n = snprintf(buf, cap, ":%s QUIT :%.*s\r\n", src, t, text);
        break;
    case HUB_NICK:
        n = snprintf(buf, cap, ":%s NICK :%s\r\n", src, u->nick);
        break;
    case HUB_TOPIC:
        n = snprintf(buf, cap, ":%s TOPIC %s :%.*s\r\n", src, room, t, text);
        break;
    case HUB_MODE:
        n = snprintf(buf, cap, ":%s MODE %s %.*s\r\n", src, room, t, text);
        break;
    case HUB_KICK:
        n = snprintf(buf, cap, ":%s KICK %s %s :%.*s\r\n", src, room,
                     ev->to->nick, t, text);
        break;
    case HUB_INVITE:
        n = snprintf(buf, cap, ":%s INVITE %s %s\r\n", src, ev->to->nick,
                     room);
        break;
    case HUB_SERVER:
        n = snprintf(buf, cap, ":%s NOTICE %s :*** %.*s\r\n", u->nick,
                     ev->to->nick, t, text);
        break;
    }
    if (n < 0)
        return 0;
    if ((size_t)n >= cap || n > IRC_LINE_MAX) {     /* still one line */
        n = (int)(cap < IRC_LINE_MAX ? cap : IRC_LINE_MAX);
        buf[n - 2] = '\r';
        buf[n - 1] = '\n';
    }
    return (size_t)n;
}

static int
irc_wire(const struct conn *c, const struct room *r)
{
    (void)c;
    (void)r;
    return WIRE_IRC;
}

/* --- registration ----------------------------------------------------- */

/* May c see r in lists (LIST, NAMES, WHOIS)?  Not a secret one it is not
 * in. */
static bool
visible(const struct conn *c, const struct room *r)
{
    return !(r->modes & ROOM_SECRET) ||
           hub_member(irc_of(c)->user, r) != NULL;
}

/* "@" for an operator, "+" for a voiced member, "" for the rest. */
static const char *
prefix(const struct member *m)
{
    return (m->modes & MEMBER_OP) ? "@" : (m->modes & MEMBER_VOICE) ? "+" : "";
}

/* RPL_NAMREPLY lines for r (none for a secret room c is not in). */
static void
names_of(struct conn *c, const struct room *r)
{
    char line[IRC_LINE_MAX];
    const struct member *m;
    int head, n;

    if (!visible(c, r))
        return;
    head = snprintf(line, sizeof(line), ":%s 353 %s %c %s :", sname(c),
                    me(c), (r->modes & ROOM_SECRET) ? '@' : '=', r->name);
    n = head;
    for (m = r->members; m != NULL; m = m->rnext) {
        size_t need = strlen(m->user->nick) + 2;

        if ((size_t)n + need > IRC_TEXT_MAX && n > head) {
            send_line(c, "%.*s", n - 1, line);      /* without the space */
            n = head;
        }
        n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%s ",
                      prefix(m), m->user->nick);
    }
    if (n > head)
        send_line(c, "%.*s", n - 1, line);
}

static void
send_names(struct conn *c, const struct room *r)
{
    names_of(c, r);
    numeric(c, 366, "%s :End of /NAMES list.", r->name);
}

static void
send_motd(struct conn *c)
{
    const struct server *srv = c->door->srv;
    const char *p = srv->motd, *end = srv->motd + srv->motdlen, *nl;

    if (srv->motd == NULL) {
        numeric(c, 422, ":MOTD File is missing");
        return;
    }
    numeric(c, 375, ":- %s Message of the day - ", sname(c));
    for (; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        numeric(c, 372, ":- %.*s", (int)(nl - p), p);
    }
    numeric(c, 376, ":End of /MOTD command.");
}

static void
send_lusers(struct conn *c)
{
    const struct hub *h = hub_of(c);

    numeric(c, 251, ":There are %zu users and 0 invisible on 1 servers",
            h->nusers);
    numeric(c, 254, "%zu :channels formed", h->nrooms);
    numeric(c, 255, ":I have %zu clients and 0 servers", h->nusers);
}

static void
welcome(struct conn *c)
{
    const struct user *u = irc_of(c)->user;

    numeric(c, 1, ":Welcome to the chatd IRC network %s!%s@%s", u->nick,
            u->nick, u->host);
    numeric(c, 2, ":Your host is %s, running version chatd-" CHATD_VERSION,
            sname(c));
    numeric(c, 3, ":This server has been started for you");
    numeric(c, 4, "%s chatd-" CHATD_VERSION " iow biklmnostv bklov",
            sname(c));
    numeric(c, 5, "CASEMAPPING=ascii CHANTYPES=# NICKLEN=%d CHANNELLEN=%d "
            "TOPICLEN=%d USERLEN=%d KEYLEN=%d PREFIX=(ov)@+ "
            "CHANMODES=b,k,l,imnst MAXLIST=b:%d MODES=%d NETWORK=chatd "
            "TARGMAX=JOIN:,KICK:,NAMES:,NOTICE:,PART:,PRIVMSG:,WHOWAS: "
            ":are supported by this server", NICK_MAX, ROOM_MAX,
            HUB_TOPIC_MAX, HUB_IDENT_MAX, HUB_KEY_MAX, HUB_BANS_MAX,
            MODES_MAX);
    send_lusers(c);
    send_motd(c);
}

/* NICK and USER are in, and no CAP negotiation holds: become a user. */
static void
try_register(struct conn *c)
{
    struct irc *st = irc_of(c);
    enum hub_err err;

    if (st->user != NULL || st->nick[0] == '\0' ||
        !(st->flags & IRC_F_USER) || (st->flags & IRC_F_CAP))
        return;
    st->user = hub_user_new(hub_of(c), st->nick, strlen(st->nick),
                            c->peer + c->hostoff, c->hostlen, c, &err);
    if (st->user == NULL) {
        numeric(c, 433, "%s :Nickname is already in use", st->nick);
        st->nick[0] = '\0';
        return;
    }
    hub_user_describe(st->user, st->ident, strlen(st->ident), st->real,
                      strlen(st->real));
    c->name = st->user->nick;
    log_event("%s registered as %s (IRC)", c->peer, st->user->nick);
    welcome(c);
}

/* --- commands ----------------------------------------------------------- */

struct cmd_ctx {
    struct conn          *c;
    struct irc           *st;
    const struct irc_msg *m;
};

/* Enough parameters for the command?  Else 461. */
static int
need(const struct cmd_ctx *x, int n)
{
    if (x->m->nparams >= n)
        return 1;
    numeric(x->c, 461, "%.*s :Not enough parameters", (int)x->m->cmdlen,
            x->m->cmd);
    return 0;
}

static void
cmd_cap(const struct cmd_ctx *x)
{
    const struct irc_param *sub = &x->m->params[0];

    if (!need(x, 1))
        return;
    if (irc_param_is(sub, "LS")) {
        if (x->st->user == NULL)
            x->st->flags |= IRC_F_CAP;
        send_line(x->c, ":%s CAP %s LS :", sname(x->c), me(x->c));
    } else if (irc_param_is(sub, "LIST")) {
        send_line(x->c, ":%s CAP %s LIST :", sname(x->c), me(x->c));
    } else if (irc_param_is(sub, "REQ")) {
        if (x->st->user == NULL)
            x->st->flags |= IRC_F_CAP;
        if (x->m->nparams > 1)
            send_line(x->c, ":%s CAP %s NAK :%.*s", sname(x->c), me(x->c),
                      P(x->m->params[1]));
        else
            send_line(x->c, ":%s CAP %s NAK :", sname(x->c), me(x->c));
    } else if (irc_param_is(sub, "END")) {
        x->st->flags &= ~IRC_F_CAP;
        try_register(x->c);
    } else {
        numeric(x->c, 410, "%.*s :Invalid CAP command", P(*sub));
    }
}

static void
cmd_nick(const struct cmd_ctx *x)
{
    const struct irc_param *n = &x->m->params[0];

    if (x->m->nparams < 1 || n->len == 0) {
        numeric(x->c, 431, ":No nickname given");
        return;
    }
    if (!nick_is_valid(n->p, n->len)) {
        numeric(x->c, 432, "%.*s :Erroneous nickname", P(*n));
        return;
    }
    if (x->st->user == NULL) {
        struct user *o = hub_user_find(hub_of(x->c), n->p, n->len);

        if (o != NULL) {
            numeric(x->c, 433, "%.*s :Nickname is already in use", P(*n));
            return;
        }
        memcpy(x->st->nick, n->p, n->len);
        x->st->nick[n->len] = '\0';
        try_register(x->c);
        return;
    }
    if (hub_nick(hub_of(x->c), x->st->user, n->p, n->len) ==
        HUB_ERR_NICK_TAKEN)
        numeric(x->c, 433, "%.*s :Nickname is already in use", P(*n));
}

static void
cmd_user(const struct cmd_ctx *x)
{
    const struct irc_param *real;
    size_t len, i;

    if (x->st->user != NULL) {
        numeric(x->c, 462, ":You may not reregister");
        return;
    }
    if (!need(x, 4))
        return;
    real = &x->m->params[3];
    if (real->len == 0) {
        numeric(x->c, 461, "USER :Not enough parameters");
        return;
    }
    len = text_clean(x->st->real, REAL_MAX, real->p, real->len, 0);
    x->st->real[len] = '\0';
    /* The user name: what fits, of the bytes that may stand in a mask. */
    for (len = 0, i = 0; i < x->m->params[0].len && len < HUB_IDENT_MAX; i++) {
        unsigned char ch = (unsigned char)x->m->params[0].p[i];

        if (ch > ' ' && ch < 0x7f && ch != '!' && ch != '@' && ch != '*' &&
            ch != '?' && ch != ',')
            x->st->ident[len++] = (char)ch;
    }
    x->st->ident[len] = '\0';
    x->st->flags |= IRC_F_USER;
    try_register(x->c);
}

static void
cmd_ping(const struct cmd_ctx *x)
{
    if (x->m->nparams < 1) {
        numeric(x->c, 409, ":No origin specified");
        return;
    }
    send_line(x->c, ":%s PONG %s :%.*s", sname(x->c), sname(x->c),
              P(x->m->params[0]));
}

static void
cmd_pong(const struct cmd_ctx *x)
{
    (void)x;                    /* any line counts as life: see on_ping */
}

/* The room a channel parameter names, or NULL with 403 told. */
static struct room *
channel(const struct cmd_ctx *x, const struct irc_param *p)
{
    struct room *r = hub_room_find(hub_of(x->c), p->p, p->len);

    if (r == NULL)
        numeric(x->c, 403, "%.*s :No such channel", P(*p));
    return r;
}

static void
join_one(const struct cmd_ctx *x, const struct irc_param *name,
         const struct irc_param *key)
{
    char k[HUB_KEY_MAX + 2];
    struct room *r;
    bool joined;

    if (key != NULL) {
        size_t n = key->len < sizeof(k) - 1 ? key->len : sizeof(k) - 1;

        memcpy(k, key->p, n);
        k[n] = '\0';
    }
    switch (hub_join(hub_of(x->c), x->st->user, name->p, name->len,
                     key != NULL ? k : NULL, &r, &joined)) {
    case HUB_OK:
        break;
    case HUB_ERR_BANNED:
        numeric(x->c, 474, "%s :Cannot join channel (+b)", r->name);
        return;
    case HUB_ERR_INVITE_ONLY:
        numeric(x->c, 473, "%s :Cannot join channel (+i)", r->name);
        return;
    case HUB_ERR_BAD_KEY:
        numeric(x->c, 475, "%s :Cannot join channel (+k)", r->name);
        return;
    case HUB_ERR_FULL:
        numeric(x->c, 471, "%s :Cannot join channel (+l)", r->name);
        return;
    default:
        numeric(x->c, 403, "%.*s :No such channel", P(*name));
        return;
    }
    if (!joined)
        return;
    if (r->topic != NULL) {
        numeric(x->c, 332, "%s :%s", r->name, r->topic);
        numeric(x->c, 333, "%s %s %llu", r->name, r->topic_by,
                (unsigned long long)r->topic_at);
    }
    send_names(x->c, r);
}

static void
cmd_join(const struct cmd_ctx *x)
{
    struct irc_param item, key;
    size_t off = 0, koff = 0;
    bool keys = x->m->nparams > 1;

    if (!need(x, 1))
        return;
    if (irc_param_is(&x->m->params[0], "0")) {
        while (x->st->user->rooms != NULL)
            hub_part(hub_of(x->c), x->st->user, x->st->user->rooms->room,
                     "", 0);
        return;
    }
    while (irc_list_next(&x->m->params[0], &off, &item) == 0) {
        /* JOIN #a,#b key_a,key_b: the keys pair off in order. */
        bool k = keys && irc_list_next(&x->m->params[1], &koff, &key) == 0;

        if (item.len > 0)
            join_one(x, &item, k && key.len > 0 ? &key : NULL);
    }
}

static void
cmd_part(const struct cmd_ctx *x)
{
    const struct irc_param *why = x->m->nparams > 1 ? &x->m->params[1]
                                                    : NULL;
    struct irc_param item;
    size_t off = 0;

    if (!need(x, 1))
        return;
    while (irc_list_next(&x->m->params[0], &off, &item) == 0) {
        struct room *r = channel(x, &item);

        if (r != NULL &&
            hub_part(hub_of(x->c), x->st->user, r, why ? why->p : "",
                     why ? why->len : 0) == HUB_ERR_NOT_MEMBER)
            numeric(x->c, 442, "%s :You're not on that channel", r->name);
    }
}

/* PRIVMSG and NOTICE (notice: no error replies, as RFC 2812 says). */
static void
message(const struct cmd_ctx *x, int notice)
{
    char text[3 * IRC_TEXT_MAX + 1];
    struct irc_param item, verb, rest;
    enum hub_kind kind = notice ? HUB_NOTICE : HUB_SAY;
    const char *body;
    size_t off = 0, len, blen;

    if (x->m->nparams < 1) {
        if (!notice)
            numeric(x->c, 411, ":No recipient given (%.*s)",
                    (int)x->m->cmdlen, x->m->cmd);
        return;
    }
    if (x->m->nparams < 2 || x->m->params[1].len == 0) {
        if (!notice)
            numeric(x->c, 412, ":No text to send");
        return;
    }
    body = x->m->params[1].p;
    blen = x->m->params[1].len;
    if (!notice && irc_ctcp(body, blen, &verb, &rest) &&
        irc_param_is(&verb, "ACTION")) {
        kind = HUB_ACTION;
        body = rest.p;
        blen = rest.len;
        if (blen > 0 && body[blen - 1] == '\001')
            blen--;
    }
    len = text_clean(text, sizeof(text) - 1, body, blen, TEXT_KEEP_FORMAT);
    if (len == 0)
        return;
    while (irc_list_next(&x->m->params[0], &off, &item) == 0) {
        struct user *to;

        if (item.len > 0 && item.p[0] == '#') {
            struct room *r = hub_room_find(hub_of(x->c), item.p, item.len);

            if (r == NULL) {
                if (!notice)
                    numeric(x->c, 401, "%.*s :No such nick/channel",
                            P(item));
                continue;
            }
            if (hub_say_except(hub_of(x->c), x->st->user, r, kind, text,
                               len, x->st->user) == HUB_ERR_CANNOT_SEND &&
                !notice)
                numeric(x->c, 404, "%s :Cannot send to channel", r->name);
            continue;
        }
        if (hub_tell(hub_of(x->c), x->st->user, item.p, item.len,
                     notice ? HUB_NOTICE : HUB_PRIVATE, text, len,
                     &to) != HUB_OK) {
            if (!notice)
                numeric(x->c, 401, "%.*s :No such nick/channel", P(item));
            continue;
        }
        if (!notice && to != NULL && to->away != NULL)
            numeric(x->c, 301, "%s :%s", to->nick, to->away);
    }
}

static void
cmd_privmsg(const struct cmd_ctx *x)
{
    message(x, 0);
}

static void
cmd_notice(const struct cmd_ctx *x)
{
    message(x, 1);
}

static void
cmd_topic(const struct cmd_ctx *x)
{
    char text[3 * IRC_TEXT_MAX + 1];
    struct room *r;
    size_t len;

    if (!need(x, 1) || (r = channel(x, &x->m->params[0])) == NULL)
        return;
    if (x->m->nparams < 2) {
        if (r->topic == NULL) {
            numeric(x->c, 331, "%s :No topic is set", r->name);
            return;
        }
        numeric(x->c, 332, "%s :%s", r->name, r->topic);
        numeric(x->c, 333, "%s %s %llu", r->name, r->topic_by,
                (unsigned long long)r->topic_at);
        return;
    }
    len = text_clean(text, sizeof(text) - 1, x->m->params[1].p,
                     x->m->params[1].len, TEXT_KEEP_FORMAT);
    switch (hub_topic(hub_of(x->c), x->st->user, r, text, len)) {
    case HUB_ERR_NOT_MEMBER:
        numeric(x->c, 442, "%s :You're not on that channel", r->name);
        break;
    case HUB_ERR_NOT_OPERATOR:
        numeric(x->c, 482, "%s :You're not channel operator", r->name);
        break;
    default:
        break;
    }
}

static void
cmd_names(const struct cmd_ctx *x)
{
    struct irc_param item;
    size_t off = 0;

    if (x->m->nparams < 1) {
        numeric(x->c, 366, "* :End of /NAMES list.");
        return;
    }
    while (irc_list_next(&x->m->params[0], &off, &item) == 0) {
        struct room *r = hub_room_find(hub_of(x->c), item.p, item.len);

        if (r != NULL)
            names_of(x->c, r);
    }
    numeric(x->c, 366, "%.*s :End of /NAMES list.", P(x->m->params[0]));
}

static void
cmd_list(const struct cmd_ctx *x)
{
    struct room_info *all;
    size_t n = hub_rooms_listed(hub_of(x->c), x->st->user, &all), i;

    numeric(x->c, 321, "Channel :Users  Name");
    for (i = 0; i < n; i++)
        numeric(x->c, 322, "%s %zu :%s", all[i].name, all[i].members,
                all[i].topic != NULL ? all[i].topic : "");
    free(all);
    numeric(x->c, 323, ":End of /LIST");
}

/* One WHO line about u (in r, or "*"). */
static void
who_line(struct conn *c, const struct user *u, const struct room *r)
{
    const struct member *m = r != NULL ? hub_member(u, r) : NULL;

    numeric(c, 352, "%s %s %s %s %s %c%s :0 %s",
            r != NULL ? r->name : "*", hub_ident(u), u->host, sname(c),
            u->nick, u->away != NULL ? 'G' : 'H',
            m != NULL ? prefix(m) : "", u->real != NULL ? u->real : u->nick);
}

static void
cmd_who(const struct cmd_ctx *x)
{
    const struct irc_param *mask;
    const struct member *m;
    struct room *r;
    struct user *u;

    if (x->m->nparams < 1) {
        numeric(x->c, 315, "* :End of /WHO list.");
        return;
    }
    mask = &x->m->params[0];
    if (mask->len > 0 && mask->p[0] == '#') {
        r = hub_room_find(hub_of(x->c), mask->p, mask->len);
        if (r != NULL && !visible(x->c, r))
            r = NULL;
        for (m = r != NULL ? r->members : NULL; m != NULL; m = m->rnext)
            who_line(x->c, m->user, r);
    } else if ((u = hub_user_find(hub_of(x->c), mask->p, mask->len)) !=
               NULL) {
        who_line(x->c, u, NULL);
    }
    numeric(x->c, 315, "%.*s :End of /WHO list.", P(*mask));
}

static void
cmd_whois(const struct cmd_ctx *x)
{
    const struct irc_param *who;
    const struct member *m;
    char rooms[IRC_LINE_MAX];
    struct user *u;
    int n = 0;

    if (x->m->nparams < 1) {
        numeric(x->c, 431, ":No nickname given");
        return;
    }
    who = &x->m->params[x->m->nparams - 1];    /* WHOIS [server] nick */
    u = hub_user_find(hub_of(x->c), who->p, who->len);
    if (u == NULL) {
        numeric(x->c, 401, "%.*s :No such nick/channel", P(*who));
        numeric(x->c, 318, "%.*s :End of /WHOIS list.", P(*who));
        return;
    }
    numeric(x->c, 311, "%s %s %s * :%s", u->nick, hub_ident(u), u->host,
            u->real != NULL ? u->real : u->nick);
    rooms[0] = '\0';
    for (m = u->rooms; m != NULL && n < 400; m = m->unext)
        if (visible(x->c, m->room))
            n += snprintf(rooms + n, sizeof(rooms) - (size_t)n, "%s%s%s",
                          n ? " " : "", prefix(m), m->room->name);
    if (n > 0)
        numeric(x->c, 319, "%s :%s", u->nick, rooms);
    numeric(x->c, 312, "%s %s :chatd", u->nick, sname(x->c));
    if (u->client != NULL &&
        ((struct conn *)u->client)->proto == &proto_irc &&
        (irc_of(u->client)->flags & IRC_F_OPER))
        numeric(x->c, 313, "%s :is an IRC operator", u->nick);
    if (u->away != NULL)
        numeric(x->c, 301, "%s :%s", u->nick, u->away);
    numeric(x->c, 318, "%s :End of /WHOIS list.", u->nick);
}

/* MODE on a user: only one's own, and only i, w and -o. */
static void
user_mode(const struct cmd_ctx *x, const struct irc_param *target)
{
    bool on = true;
    size_t i;

    if (!name_eqn(x->st->user->nick, target->p, target->len)) {
        numeric(x->c, hub_user_find(hub_of(x->c), target->p, target->len)
                          ? 502 : 401,
                "%.*s :Can't change mode for other users", P(*target));
        return;
    }
    for (i = 0; x->m->nparams > 1 && i < x->m->params[1].len; i++) {
        char ch = x->m->params[1].p[i];
        unsigned bit = ch == 'i' ? IRC_F_INVIS : ch == 'w' ? IRC_F_WALLOPS
                     : ch == 'o' ? IRC_F_OPER : 0;

        if (ch == '+' || ch == '-') {
            on = ch == '+';
        } else if (bit == 0) {
            numeric(x->c, 501, ":Unknown MODE flag");
        } else if (!(bit == IRC_F_OPER && on)) {    /* +o: only by OPER */
            x->st->flags = on ? x->st->flags | bit : x->st->flags & ~bit;
        }
    }
    numeric(x->c, 221, "+%s%s%s", (x->st->flags & IRC_F_INVIS) ? "i" : "",
            (x->st->flags & IRC_F_OPER) ? "o" : "",
            (x->st->flags & IRC_F_WALLOPS) ? "w" : "");
}

/* RPL_CHANNELMODEIS: the flags, then the key (to members) and limit. */
static void
show_modes(struct conn *c, const struct room *r)
{
    static const char letters[] = "imnst";
    static const unsigned bits[] = {ROOM_INVITE_ONLY, ROOM_MODERATED,
                                    ROOM_NO_EXTERNAL, ROOM_SECRET,
                                    ROOM_TOPIC_LOCK};
    char flags[16], args[64] = "";
    size_t i, n = 0;

    flags[n++] = '+';
    for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        if (r->modes & bits[i])
            flags[n++] = letters[i];
    if (r->key[0] != '\0') {
        flags[n++] = 'k';
        snprintf(args, sizeof(args), " %s",
                 hub_member(irc_of(c)->user, r) != NULL ? r->key : "*");
    }
    if (r->limit > 0) {
        flags[n++] = 'l';
        snprintf(args + strlen(args), sizeof(args) - strlen(args), " %zu",
                 r->limit);
    }
    flags[n] = '\0';
    numeric(c, 324, "%s %s%s", r->name, flags, args);
    numeric(c, 329, "%s %llu", r->name, (unsigned long long)r->created);
}

static void
show_bans(struct conn *c, const struct room *r)
{
    size_t i;

    for (i = 0; i < r->nbans; i++)
        numeric(c, 367, "%s %s %s %llu", r->name, r->bans[i].mask,
                r->bans[i].by, (unsigned long long)r->bans[i].at);
    numeric(c, 368, "%s :End of channel ban list", r->name);
}

/* Say why hub_mode() refused change ch (with arg) on r; a refusal for lack
 * of rights is said once per MODE (*told). */
static void
mode_refused(struct conn *c, const struct room *r, char ch, const char *arg,
             enum hub_err err, bool *told)
{
    switch (err) {
    case HUB_ERR_NOT_MEMBER:
    case HUB_ERR_NOT_OPERATOR:
        if (!*told)
            numeric(c, err == HUB_ERR_NOT_MEMBER ? 442 : 482,
                    err == HUB_ERR_NOT_MEMBER
                        ? "%s :You're not on that channel"
                        : "%s :You're not channel operator", r->name);
        *told = true;
        break;
    case HUB_ERR_NO_SUCH_NICK:
        numeric(c, 401, "%s :No such nick/channel", arg);
        break;
    case HUB_ERR_NOT_IN_ROOM:
        numeric(c, 441, "%s %s :They aren't on that channel", arg, r->name);
        break;
    case HUB_ERR_UNKNOWN_MODE:
        numeric(c, 472, "%c :is unknown mode char to me", ch);
        break;
    case HUB_ERR_LIST_FULL:
        numeric(c, 478, "%s %s :Channel ban list is full", r->name, arg);
        break;
    case HUB_ERR_BAD_PARAM:     /* a key is not said back; nor a blank */
        numeric(c, 696, "%s %c %s :Invalid mode parameter", r->name, ch,
                ch != 'k' && arg != NULL && arg[0] != '\0' &&
                        strchr(arg, ' ') == NULL
                    ? arg
                    : "*");
        break;
    default:
        break;
    }
}

/* Does mode ch take a parameter when set (on) or unset? */
static bool
takes_arg(char ch, bool on)
{
    return strchr("ovb", ch) != NULL || (on && strchr("kl", ch) != NULL);
}

static void
channel_mode(const struct cmd_ctx *x, struct room *r)
{
    const struct irc_param *change = &x->m->params[1];
    int next = 2, nargs = 0;
    bool on = true, told = false;
    size_t i;

    for (i = 0; i < change->len; i++) {
        char ch = change->p[i], arg[IRC_LINE_MAX];
        enum hub_err err;

        if (ch == '+' || ch == '-') {
            on = ch == '+';
            continue;
        }
        arg[0] = '\0';
        if (takes_arg(ch, on) || (ch == 'k' && next < x->m->nparams)) {
            if (next >= x->m->nparams) {
                if (ch == 'b')
                    show_bans(x->c, r);     /* MODE #room +b: the list */
                else
                    numeric(x->c, 461, "MODE :Not enough parameters");
                continue;
            }
            if (nargs++ == MODES_MAX)
                break;
            snprintf(arg, sizeof(arg), "%.*s", P(x->m->params[next]));
            next++;
        }
        err = hub_mode(hub_of(x->c), x->st->user, r, ch, on,
                       arg[0] != '\0' || takes_arg(ch, on) ? arg : NULL);
        if (err != HUB_OK)
            mode_refused(x->c, r, ch, arg, err, &told);
    }
}

static void
cmd_mode(const struct cmd_ctx *x)
{
    const struct irc_param *target;
    struct room *r;

    if (!need(x, 1))
        return;
    target = &x->m->params[0];
    if (target->len == 0 || target->p[0] != '#') {
        user_mode(x, target);
        return;
    }
    if ((r = channel(x, target)) == NULL)
        return;
    if (x->m->nparams < 2)
        show_modes(x->c, r);
    else
        channel_mode(x, r);
}

/* KICK #room nick[,nick...] or, RFC 2812, KICK #a,#b nick_a,nick_b. */
static void
cmd_kick(const struct cmd_ctx *x)
{
    char reason[3 * IRC_TEXT_MAX + 1];
    struct irc_param chan, item;
    size_t coff = 0, off = 0, len = 0;
    bool paired = memchr(x->m->params[0].p, ',', x->m->params[0].len) != NULL;
    struct room *r = NULL;

    if (!need(x, 2))
        return;
    if (x->m->nparams > 2)
        len = text_clean(reason, sizeof(reason) - 1, x->m->params[2].p,
                         x->m->params[2].len, TEXT_KEEP_FORMAT);
    while (irc_list_next(&x->m->params[1], &off, &item) == 0) {
        struct user *u;
        enum hub_err err;
        bool told = false;

        if (r == NULL || paired) {
            if (irc_list_next(&x->m->params[0], &coff, &chan) != 0)
                return;
            if ((r = channel(x, &chan)) == NULL)
                continue;
        }
        if ((u = hub_user_find(hub_of(x->c), item.p, item.len)) == NULL) {
            numeric(x->c, 401, "%.*s :No such nick/channel", P(item));
            continue;
        }
        err = hub_kick(hub_of(x->c), x->st->user, r, u, reason, len);
        if (err == HUB_ERR_NOT_IN_ROOM)
            numeric(x->c, 441, "%s %s :They aren't on that channel", u->nick,
                    r->name);
        else if (err != HUB_OK)
            mode_refused(x->c, r, 'o', NULL, err, &told);
    }
}

/* INVITE with no parameters: the rooms c is invited to. */
static void
list_invitations(struct conn *c)
{
    const struct user *me_ = irc_of(c)->user;
    const struct room *r;
    size_t i;

    for (r = hub_of(c)->room_list; r != NULL; r = r->next)
        for (i = 0; i < r->ninvited; i++)
            if (name_eq(r->invited[i], me_->nick))
                numeric(c, 336, "%s", r->name);
    numeric(c, 337, ":End of /INVITE list");
}

static void
cmd_invite(const struct cmd_ctx *x)
{
    struct user *u;
    struct room *r;
    bool told = false;
    enum hub_err err;

    if (x->m->nparams == 0) {
        list_invitations(x->c);
        return;
    }
    if (!need(x, 2))
        return;
    u = hub_user_find(hub_of(x->c), x->m->params[0].p, x->m->params[0].len);
    if ((r = channel(x, &x->m->params[1])) == NULL)
        return;
    if (u == NULL) {            /* perhaps on another node */
        err = hub_invite_elsewhere(hub_of(x->c), x->st->user, r,
                                   x->m->params[0].p, x->m->params[0].len);
        if (err == HUB_OK)
            numeric(x->c, 341, "%.*s %s", P(x->m->params[0]), r->name);
        else if (err == HUB_ERR_NO_SUCH_NICK)
            numeric(x->c, 401, "%.*s :No such nick/channel",
                    P(x->m->params[0]));
        else
            mode_refused(x->c, r, 'i', NULL, err, &told);
        return;
    }
    err = hub_invite(hub_of(x->c), x->st->user, r, u);
    switch (err) {
    case HUB_OK:
        numeric(x->c, 341, "%s %s", u->nick, r->name);
        if (u->away != NULL)
            numeric(x->c, 301, "%s :%s", u->nick, u->away);
        break;
    case HUB_ERR_IN_ROOM:
        numeric(x->c, 443, "%s %s :is already on channel", u->nick, r->name);
        break;
    default:
        mode_refused(x->c, r, 'i', NULL, err, &told);
        break;
    }
}

#define WHOWAS_TARGETS 8         /* nicknames in one WHOWAS */

/* WHOWAS nick[,nick...] [count]: the newest first, whichever nickname,
 * at most count (<= 0: all) of each. */
static void
cmd_whowas(const struct cmd_ctx *x)
{
    struct irc_param want[WHOWAS_TARGETS];
    size_t found[WHOWAS_TARGETS] = {0}, n = 0, off = 0, i, k;
    const struct hub_gone *g;
    long count = 0;

    if (x->m->nparams < 1 || x->m->params[0].len == 0) {
        numeric(x->c, 431, ":No nickname given");
        return;
    }
    if (x->m->nparams > 1)
        count = strtol(x->m->params[1].p, NULL, 10);
    while (n < WHOWAS_TARGETS &&
           irc_list_next(&x->m->params[0], &off, &want[n]) == 0)
        n++;
    for (i = 0; (g = hub_gone_at(hub_of(x->c), i)) != NULL; i++)
        for (k = 0; k < n; k++) {
            char when[64];
            time_t at = (time_t)g->at;
            struct tm tm;

            if (!name_eqn(g->nick, want[k].p, want[k].len) ||
                (count > 0 && found[k] >= (size_t)count))
                continue;
            found[k]++;
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC",
                     gmtime_r(&at, &tm));
            numeric(x->c, 314, "%s %s %s * :%s", g->nick, g->ident, g->host,
                    g->real != NULL ? g->real : g->nick);
            numeric(x->c, 312, "%s %s :%s", g->nick, sname(x->c), when);
        }
    for (k = 0; k < n; k++)
        if (found[k] == 0)
            numeric(x->c, 406, "%.*s :There was no such nickname",
                    P(want[k]));
    numeric(x->c, 369, "%.*s :End of WHOWAS", P(x->m->params[0]));
}

static void
cmd_oper(const struct cmd_ctx *x)
{
    const char *oper = x->c->door->srv->cfg->oper, *colon;

    if (!need(x, 2))
        return;
    if (oper == NULL) {
        numeric(x->c, 491, ":No O-lines for your host");
        return;
    }
    colon = strchr(oper, ':');
    if (x->m->params[0].len != (size_t)(colon - oper) ||
        memcmp(x->m->params[0].p, oper, x->m->params[0].len) != 0 ||
        x->m->params[1].len != strlen(colon + 1) ||
        memcmp(x->m->params[1].p, colon + 1, x->m->params[1].len) != 0) {
        log_warnx("%s: failed OPER as %.*s", x->c->peer, P(x->m->params[0]));
        numeric(x->c, 464, ":Password incorrect");
        return;
    }
    x->st->flags |= IRC_F_OPER | IRC_F_WALLOPS;
    log_event("%s is now an IRC operator", x->st->user->nick);
    numeric(x->c, 381, ":You are now an IRC operator");
    send_line(x->c, ":%s MODE %s :+ow", sname(x->c), me(x->c));
}

struct wallops {
    const char *line;
    size_t      len;
};

static void
wallops_one(struct user *u, void *arg)
{
    const struct wallops *w = arg;
    struct conn *c = u->client;

    if (c != NULL && c->proto == &proto_irc &&
        (irc_of(c)->flags & IRC_F_WALLOPS))
        route_copy_to_conn(&c->door->srv->route, c, w->line, w->len);
}

static void
cmd_wallops(const struct cmd_ctx *x)
{
    char text[3 * IRC_TEXT_MAX + 1], line[IRC_LINE_MAX + 1];
    const struct user *u = x->st->user;
    struct wallops w = {line, 0};
    size_t len;
    int n;

    if (!need(x, 1))
        return;
    if (!(x->st->flags & IRC_F_OPER)) {
        numeric(x->c, 481, ":Permission Denied- You're not an IRC operator");
        return;
    }
    len = text_clean(text, sizeof(text) - 1, x->m->params[0].p,
                     x->m->params[0].len, TEXT_KEEP_FORMAT);
    n = snprintf(line, sizeof(line), ":%s!%s@%s WALLOPS :", u->nick,
                 hub_ident(u), u->host);
    len = utf8_cut(text, len, (size_t)(IRC_TEXT_MAX - n));
    memcpy(line + n, text, len);
    memcpy(line + n + len, "\r\n", 2);
    w.len = (size_t)n + len + 2;
    hub_each_user(hub_of(x->c), wallops_one, &w);
}

static void
cmd_admin(const struct cmd_ctx *x)
{
    numeric(x->c, 256, "%s :Administrative info", sname(x->c));
    numeric(x->c, 257, ":chatd " CHATD_VERSION);
    numeric(x->c, 258, ":run by whoever started it");
    numeric(x->c, 259, ":root@%s", sname(x->c));
}

/* One server, linked to nothing: the list is empty. */
static void
cmd_links(const struct cmd_ctx *x)
{
    numeric(x->c, 365, "* :End of /LINKS list.");
}

static void
cmd_away(const struct cmd_ctx *x)
{
    char text[3 * IRC_TEXT_MAX + 1] = "";
    size_t len = 0;

    if (x->m->nparams > 0)
        len = text_clean(text, sizeof(text) - 1, x->m->params[0].p,
                         x->m->params[0].len, 0);
    hub_away(hub_of(x->c), x->st->user, text, len);
    if (len > 0)
        numeric(x->c, 306, ":You have been marked as being away");
    else
        numeric(x->c, 305, ":You are no longer marked as being away");
}

static void
cmd_ison(const struct cmd_ctx *x)
{
    char on[IRC_LINE_MAX];
    int i, n = 0;

    if (!need(x, 1))
        return;
    on[0] = '\0';
    for (i = 0; i < x->m->nparams; i++) {
        const struct irc_param *p = &x->m->params[i];
        size_t off = 0;
        const char *s = p->p;

        /* A trailing param may hold several nicknames. */
        while (off < p->len) {
            size_t k = off;
            struct user *u;

            while (k < p->len && s[k] != ' ')
                k++;
            u = k > off ? hub_user_find(hub_of(x->c), s + off, k - off)
                        : NULL;
            if (u != NULL && n < 400)
                n += snprintf(on + n, sizeof(on) - (size_t)n, "%s%s",
                              n ? " " : "", u->nick);
            off = k + 1;
        }
    }
    numeric(x->c, 303, ":%s", on);
}

static void
cmd_userhost(const struct cmd_ctx *x)
{
    char out[IRC_LINE_MAX];
    int i, n = 0;

    if (!need(x, 1))
        return;
    out[0] = '\0';
    for (i = 0; i < x->m->nparams && i < 5; i++) {
        struct user *u = hub_user_find(hub_of(x->c), x->m->params[i].p,
                                       x->m->params[i].len);

        if (u != NULL)
            n += snprintf(out + n, sizeof(out) - (size_t)n, "%s%s=%c%s@%s",
                          n ? " " : "", u->nick, u->away ? '-' : '+',
                          u->nick, u->host);
    }
    numeric(x->c, 302, ":%s", out);
}

static void
cmd_motd(const struct cmd_ctx *x)
{
    send_motd(x->c);
}

static void
cmd_lusers(const struct cmd_ctx *x)
{
    send_lusers(x->c);
}

static void
cmd_version(const struct cmd_ctx *x)
{
    numeric(x->c, 351, "chatd-" CHATD_VERSION " %s :a small, fast chat "
            "server", sname(x->c));
}

static void
cmd_time(const struct cmd_ctx *x)
{
    char when[64];
    time_t now = time(NULL);
    struct tm tm;

    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC",
             gmtime_r(&now, &tm));
    numeric(x->c, 391, "%s :%s", sname(x->c), when);
}

static void
cmd_info(const struct cmd_ctx *x)
{
    numeric(x->c, 371, ":chatd " CHATD_VERSION ": rooms and nicknames for "
            "nc, IRC clients and browsers");
    numeric(x->c, 374, ":End of /INFO list.");
}

static void
cmd_quit(const struct cmd_ctx *x)
{
    char reason[301];
    size_t len = 0;

    if (x->m->nparams > 0)
        len = text_clean(reason, sizeof(reason) - 1, x->m->params[0].p, x->m->params[0].len,
                         TEXT_KEEP_FORMAT);
    reason[len] = '\0';
    send_line(x->c, "ERROR :Closing Link: %.*s (Quit: %s)",
              (int)x->c->hostlen, x->c->peer + x->c->hostoff, reason);
    if (x->st->user != NULL) {
        char why[sizeof(reason) + 6];

        snprintf(why, sizeof(why), "Quit: %s", reason);
        hub_user_quit(hub_of(x->c), x->st->user, why);
        x->st->user = NULL;
        x->c->name = NULL;
    }
    conn_close_after_flush(x->c, "quit");
}

static const struct irc_command {
    const char *name;
    void (*fn)(const struct cmd_ctx *x);
    int registered;             /* needs registration first */
} commands[] = {
    {"CAP", cmd_cap, 0},         {"NICK", cmd_nick, 0},
    {"USER", cmd_user, 0},       {"PASS", NULL, 0},
    {"PING", cmd_ping, 1},       {"PONG", cmd_pong, 0},
    {"QUIT", cmd_quit, 0},       {"JOIN", cmd_join, 1},
    {"PART", cmd_part, 1},       {"PRIVMSG", cmd_privmsg, 1},
    {"NOTICE", cmd_notice, 1},   {"TOPIC", cmd_topic, 1},
    {"NAMES", cmd_names, 1},     {"LIST", cmd_list, 1},
    {"WHO", cmd_who, 1},         {"WHOIS", cmd_whois, 1},
    {"MODE", cmd_mode, 1},       {"AWAY", cmd_away, 1},
    {"ISON", cmd_ison, 1},       {"USERHOST", cmd_userhost, 1},
    {"MOTD", cmd_motd, 1},       {"LUSERS", cmd_lusers, 1},
    {"VERSION", cmd_version, 1}, {"TIME", cmd_time, 1},
    {"INFO", cmd_info, 1},       {"KICK", cmd_kick, 1},
    {"INVITE", cmd_invite, 1},   {"WHOWAS", cmd_whowas, 1},
    {"OPER", cmd_oper, 1},       {"WALLOPS", cmd_wallops, 1},
    {"ADMIN", cmd_admin, 1},     {"LINKS", cmd_links, 1},
};

/* One IRC line from c. */
static void
take_line(struct conn *c, const char *line, size_t len)
{
    struct irc *st = irc_of(c);
    struct cmd_ctx x = {c, st, NULL};
    struct irc_msg m;
    size_t i;

    if (irc_parse(line, len, &m, NULL) == -1)
        return;                 /* nothing to answer (an empty line) */
    x.m = &m;
    for (i = 0; i < ARRAY_LEN(commands); i++) {
        if (!irc_cmd_is(&m, commands[i].name))
            continue;
        if (commands[i].fn == NULL)
            return;             /* accepted, nothing to do (PASS) */
        if (commands[i].registered && st->user == NULL) {
            numeric(c, 451, ":You have not registered");
            return;
        }
        commands[i].fn(&x);
        return;
    }
    if (st->user == NULL)
        numeric(c, 451, ":You have not registered");
    else
        numeric(c, 421, "%.*s :Unknown command", (int)m.cmdlen, m.cmd);
}

/* --- keepalive -------------------------------------------------------- */

static void
on_ping(struct loop *l, void *arg)
{
    struct conn *c = arg;
    struct irc *st = irc_of(c);
    uint64_t quiet = loop_now(l) - c->last_active;

    if (quiet < PING_AFTER_MS) {
        st->flags &= ~IRC_F_PINGED;
        loop_timer_start(l, &st->ping, PING_AFTER_MS - quiet, 0, on_ping, c);
        return;
    }
    if (!(st->flags & IRC_F_PINGED)) {
        st->flags |= IRC_F_PINGED;
        send_line(c, "PING :%s", sname(c));
        loop_timer_start(l, &st->ping, PONG_WAIT_MS, 0, on_ping, c);
        return;
    }
    send_line(c, "ERROR :Closing Link: %.*s (Ping timeout)",
              (int)c->hostlen, c->peer + c->hostoff);
    conn_close_after_flush(c, "ping timeout");
}

/* --- the protocol ----------------------------------------------------- */

static void
irc_setup(struct server *srv)
{
    srv->route.encode[WIRE_IRC] = irc_door_encode;
}

static void
irc_open(struct conn *c)
{
    struct irc *st = xcalloc(1, sizeof(*st));

    st->conn = c;
    loop_timer_init(&st->ping);
    c->state_p = st;
    loop_timer_start(c->set->loop, &st->ping, PING_AFTER_MS, 0, on_ping, c);
}

static int
irc_frame(struct conn *c, const struct frame *f)
{
    struct irc *st = irc_of(c);

    /* An overlong line: its first 510 bytes are the command, the rest is
     * dropped up to the line's end. */
    if (st->flags & IRC_F_SKIP) {
        if (f->type != FRAME_PIECE)
            st->flags &= ~IRC_F_SKIP;
        return 0;
    }
    if (f->type == FRAME_PIECE)
        st->flags |= IRC_F_SKIP;
    take_line(c, f->data, f->len);
    return c->state == CONN_OPEN ? 0 : -1;
}

static void
irc_gone(struct conn *c, const char *why)
{
    struct irc *st = irc_of(c);

    if (st == NULL)
        return;
    loop_timer_stop(c->set->loop, &st->ping);
    if (st->user != NULL)
        hub_user_quit(hub_of(c), st->user, why != NULL ? why : "gone");
    free(st);
    c->state_p = NULL;
    c->name = NULL;
}

/* Over its SendQ: IRC's last words, then closed. */
static void
irc_overflowed(struct conn *c)
{
    char line[IRC_LINE_MAX];
    int n = snprintf(line, sizeof(line), "ERROR :Closing Link: %.*s (SendQ "
                     "exceeded)\r\n", (int)c->hostlen, c->peer + c->hostoff);

    conn_close_saying(c, line, (size_t)n, "SendQ exceeded");
}

const struct protocol proto_irc = {
    .name = "irc",
    .framing = &framing_text,
    .max_message = IRC_TEXT_MAX,
    .setup = irc_setup,
    .open = irc_open,
    .frame = irc_frame,
    .bad = lab_bad,
    .gone = irc_gone,
    .read_failed = conn_read_failed,
    .write_failed = conn_write_failed,
    .flush = conn_flush,
    .wire = irc_wire,
    .overflowed = irc_overflowed,
    .flood = 1,
};
