/* chat_line.c -- the chat profile's line door.
 *
 * Each line a client sends is either a /command or text for its current
 * room.  Every line the server sends after the greeting and the MOTD
 * starts with "*** " (or "* " for an action), except chat text itself:
 * "nick: text" from the current room, "[#room] nick: text" from another.
 * A client is a hub user from the moment it connects (guestN, in #lobby)
 * until it leaves; this file turns its lines into hub calls and the
 * hub's events into lines. */
#include "server/chat_line.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/utf8.h"
#include "server/lab.h"
#include "server/server.h"
#include "util/compat.h"
#include "util/xmalloc.h"

#define LOBBY     "#lobby"
#define CHAT_LINE_MAX (4 * 1024) /* the profile's --max-message at most */
#define LINE_MAX_OUT 1024       /* one server line to one client */
#define REASON_MAX   300        /* bytes of a /part or /quit reason */
#define WHO_WRAP     400        /* start another /who line past this */

static struct user *
user_of(const struct conn *c)
{
    return c->state_p;
}

static struct hub *
hub_of(const struct conn *c)
{
    return &c->door->srv->hub;
}

/* One line to c alone: printf-style, LF added. */
static void PRINTF_LIKE(2, 3)
reply(struct conn *c, const char *fmt, ...)
{
    char buf[LINE_MAX_OUT];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(buf) - 2)
        n = (int)(sizeof(buf) - 2);
    buf[n++] = '\n';
    route_copy_to_conn(&c->door->srv->route, c, buf, (size_t)n);
}

/* --- encoding the hub's events as lines ------------------------------- */

/* "[#room] nick: text\n" or "nick: text\n" (and "* nick text\n"), the
 * lines of every message, without printf: this is the hot path. */
static size_t
say_line(char *buf, size_t cap, const char *away, const char *from,
         const char *sep, const char *text, size_t tlen)
{
    size_t a = strlen(away), f = strlen(from), s = strlen(sep);

    if (a + f + s + tlen + 1 > cap)
        tlen = cap - 1 - (a + f + s);
    memcpy(buf, away, a);
    memcpy(buf + a, from, f);
    memcpy(buf + a + f, sep, s);
    memcpy(buf + a + f + s, text, tlen);
    buf[a + f + s + tlen] = '\n';
    return a + f + s + tlen + 1;
}

/* buf[0..len) with IRC formatting codes taken out (line clients show
 * them as nothing useful), into out (at least len bytes). */
static size_t
plain(char *out, const char *text, size_t len)
{
    memcpy(out, text, len);
    return text_strip_format(out, len);
}

size_t
chat_line_encode(const struct hub_event *ev, int w, char *buf, size_t cap)
{
    char away[ROOM_MAX + 4] = "", text[HUB_TOPIC_MAX + 600];
    const char *from = ev->from->nick;
    const char *room = ev->room != NULL ? ev->room->name : "";
    size_t tlen = plain(text, ev->text != NULL ? ev->text : "",
                        ev->len < sizeof(text) ? ev->len : sizeof(text));
    int t = (int)tlen, n = 0;

    if (w == WIRE_LINE_AWAY && ev->room != NULL)
        snprintf(away, sizeof(away), "[%s] ", room);
    switch (ev->kind) {
    case HUB_SAY:
        return say_line(buf, cap, away, from, ": ", text, tlen);
    case HUB_ACTION:
        n = snprintf(buf, cap, "%s* %s %.*s\n", away, from, t, text);
        break;
    case HUB_NOTICE:
        n = snprintf(buf, cap, "%s-%s- %.*s\n", away, from, t, text);
        break;
    case HUB_PRIVATE:
        n = snprintf(buf, cap, "*%s* %.*s\n", from, t, text);
        break;
    case HUB_JOIN:
        n = snprintf(buf, cap, "*** %s joined %s\n", from, room);
        break;
    case HUB_PART:
        n = t > 0 ? snprintf(buf, cap, "*** %s left %s (%.*s)\n", from, room,
                             t, text)
                  : snprintf(buf, cap, "*** %s left %s\n", from, room);
        break;
    case HUB_QUIT:
        n = t > 0 ? snprintf(buf, cap, "*** %s quit (%.*s)\n", from, t, text)
                  : snprintf(buf, cap, "*** %s quit\n", from);
        break;
    case HUB_NICK:
        n = snprintf(buf, cap, "*** %s is now known as %s\n", ev->old, from);
        break;
    case HUB_TOPIC:
        n = snprintf(buf, cap, "*** %s set the topic of %s: %.*s\n", from,
                     room, t, text);
        break;
    case HUB_MODE:
        n = snprintf(buf, cap, "*** %s sets mode %.*s on %s\n", from, t,
                     text, room);
        break;
    case HUB_KICK:
        n = snprintf(buf, cap, "*** %s was kicked from %s by %s (%.*s)\n",
                     ev->to->nick, room, from, t, text);
        break;
    case HUB_INVITE:
        n = snprintf(buf, cap, "*** %s invites you to %s (/join %s)\n", from,
                     room, room);
        break;
    case HUB_SERVER:
        n = snprintf(buf, cap, "*** %.*s\n", t, text);
        break;
    }
    if (n < 0)
        return 0;
    if ((size_t)n >= cap) {             /* cut: still one whole line */
        n = (int)cap - 1;
        buf[n - 1] = '\n';
    }
    return (size_t)n;
}

static void
chat_setup(struct server *srv)
{
    srv->route.encode[WIRE_LINE] = chat_line_encode;
    srv->route.encode[WIRE_LINE_AWAY] = chat_line_encode;
}

static int
chat_wire(const struct conn *c, const struct room *r)
{
    const struct user *u = user_of(c);

    return r == NULL || u == NULL || u->current == r ? WIRE_LINE
                                                     : WIRE_LINE_AWAY;
}

/* --- arguments -------------------------------------------------------- */

/* The next space-separated word of *s (advanced past it and the spaces
 * after); its length in *len.  NULL at the end. */
static const char *
word(const char **s, size_t *len)
{
    const char *p = *s, *start;

    while (*p == ' ')
        p++;
    if (*p == '\0') {
        *s = p;
        return NULL;
    }
    start = p;
    while (*p != '\0' && *p != ' ')
        p++;
    *len = (size_t)(p - start);
    while (*p == ' ')
        p++;
    *s = p;
    return start;
}

/* The room named by word w (len bytes; "#" added when missing), or NULL
 * with an error told to c. */
static struct room *
room_arg(struct conn *c, const char *w, size_t len)
{
    char name[ROOM_MAX + 2];
    struct room *r;

    if (w[0] != '#' && len < ROOM_MAX) {
        name[0] = '#';
        memcpy(name + 1, w, len);
        w = name;
        len++;
    }
    r = hub_room_find(hub_of(c), w, len);
    if (r == NULL)
        reply(c, "*** error: no such room %.*s", (int)len, w);
    return r;
}

/* The client's current room, or NULL with an error told to c. */
static struct room *
current(struct conn *c)
{
    struct room *r = user_of(c)->current;

    if (r == NULL)
        reply(c, "*** error: you are in no room (try /join %s)", LOBBY);
    return r;
}

static void
not_member(struct conn *c, const struct room *r)
{
    reply(c, "*** error: you are not in %s", r->name);
}

/* --- the commands ----------------------------------------------------- */

static void
cmd_nick(struct conn *c, const char *args)
{
    const char *nick;
    size_t len;

    nick = word(&args, &len);
    if (nick == NULL) {
        reply(c, "*** error: usage: /nick NAME");
        return;
    }
    switch (hub_nick(hub_of(c), user_of(c), nick, len)) {
    case HUB_ERR_NICK_INVALID:
        reply(c, "*** error: bad nickname '%.*s': %s", (int)len, nick,
              nick_why_invalid(nick, len));
        break;
    case HUB_ERR_NICK_TAKEN:
        reply(c, "*** error: nickname %.*s is taken", (int)len, nick);
        break;
    default:
        break;
    }
}

static void
show_topic(struct conn *c, const struct room *r)
{
    if (r->topic != NULL)
        reply(c, "*** topic of %s: %s", r->name, r->topic);
    else
        reply(c, "*** %s has no topic", r->name);
}

/* What a joiner is told about the room it joined. */
static void
tell_room(struct conn *c, const struct room *r)
{
    show_topic(c, r);
    reply(c, "*** %s has %zu member%s", r->name, r->nmembers,
          r->nmembers == 1 ? "" : "s");
}

/* c says text in r (kind HUB_SAY or HUB_ACTION), or is told why not. */
static void
say(struct conn *c, struct room *r, enum hub_kind kind, const char *text,
    size_t len)
{
    if (hub_say(hub_of(c), user_of(c), r, kind, text, len) ==
        HUB_ERR_CANNOT_SEND)
        reply(c, "*** error: you cannot speak in %s (%s)", r->name,
              (r->modes & ROOM_MODERATED) ? "it is moderated" : "banned");
}

static void
join(struct conn *c, const char *name, size_t len, const char *key)
{
    char buf[ROOM_MAX + 2];
    struct room *r;
    bool joined;

    if (name[0] != '#' && len < ROOM_MAX) {
        buf[0] = '#';
        memcpy(buf + 1, name, len);
        name = buf;
        len++;
    }
    switch (hub_join(hub_of(c), user_of(c), name, len, key, &r, &joined)) {
    case HUB_OK:
        break;
    case HUB_ERR_BANNED:
        reply(c, "*** error: you are banned from %s", r->name);
        return;
    case HUB_ERR_INVITE_ONLY:
        reply(c, "*** error: %s is invite-only", r->name);
        return;
    case HUB_ERR_BAD_KEY:
        reply(c, "*** error: %s needs its key: /join %s KEY", r->name,
              r->name);
        return;
    case HUB_ERR_FULL:
        reply(c, "*** error: %s is full", r->name);
        return;
    default:
        reply(c, "*** error: bad room name '%.*s' (# and 1-49 characters, "
              "no spaces, commas or colons)", (int)len, name);
        return;
    }
    if (joined)
        tell_room(c, r);
    else
        reply(c, "*** now talking in %s", r->name);
}

static void
cmd_join(struct conn *c, const char *args)
{
    const char *name;
    size_t len;

    name = word(&args, &len);
    if (name == NULL) {
        reply(c, "*** error: usage: /join #room [key]");
        return;
    }
    {
        char key[HUB_KEY_MAX + 2];
        size_t klen;
        const char *k = word(&args, &klen);

        if (k != NULL) {
            klen = klen < sizeof(key) - 1 ? klen : sizeof(key) - 1;
            memcpy(key, k, klen);
            key[klen] = '\0';
        }
        join(c, name, len, k != NULL ? key : NULL);
    }
}

/* "[#room] [text]": the room named first, or the current one (NULL, with
 * an error told to c, if neither is there); *args moves on to the text. */
static struct room *
room_then_text(struct conn *c, const char **args)
{
    const char *rest = *args, *w;
    size_t len;

    w = word(&rest, &len);
    if (w != NULL && w[0] == '#') {
        *args = rest;
        return room_arg(c, w, len);
    }
    return current(c);
}

static void
cmd_part(struct conn *c, const char *args)
{
    struct room *r = room_then_text(c, &args);
    size_t len;

    if (r == NULL)
        return;
    len = utf8_cut(args, strlen(args), REASON_MAX);
    if (hub_part(hub_of(c), user_of(c), r, args, len) == HUB_ERR_NOT_MEMBER)
        not_member(c, r);
}

static void
cmd_msg(struct conn *c, const char *args)
{
    size_t len, max, left, n;
    struct user *to;
    const char *nick;

    nick = word(&args, &len);
    if (nick == NULL || *args == '\0') {
        reply(c, "*** error: usage: /msg NICK text");
        return;
    }
    if (hub_tell(hub_of(c), user_of(c), nick, len, HUB_PRIVATE, args,
                 strlen(args), &to) != HUB_OK) {
        reply(c, "*** error: no such nick %.*s", (int)len, nick);
        return;
    }
    /* The sender's copy, in the pieces the recipient got, named as the
     * recipient is (as typed if another node has it: to is NULL). */
    if (to != NULL) {
        nick = to->nick;
        len = strlen(nick);
    }
    max = hub_text_user(user_of(c), len);
    for (left = strlen(args); left > 0; args += n, left -= n) {
        char text[LINE_MAX_OUT];

        n = utf8_cut(args, left, max);
        reply(c, "-> *%.*s* %.*s", (int)len, nick, (int)plain(text, args, n),
              text);
    }
}

static void
cmd_me(struct conn *c, const char *args)
{
    struct room *r = current(c);

    if (r == NULL)
        return;
    if (*args == '\0') {
        reply(c, "*** error: usage: /me text");
        return;
    }
    say(c, r, HUB_ACTION, args, strlen(args));
}

static void
cmd_who(struct conn *c, const char *args)
{
    char line[LINE_MAX_OUT];
    const struct member *m;
    const char *w;
    struct room *r;
    size_t len;
    int n;

    w = word(&args, &len);
    r = w != NULL ? room_arg(c, w, len) : current(c);
    if (r == NULL)
        return;
    n = snprintf(line, sizeof(line), "*** %s:", r->name);
    for (m = r->members; m != NULL; m = m->rnext) {
        if (n > WHO_WRAP) {
            reply(c, "%s", line);
            n = snprintf(line, sizeof(line), "*** %s:", r->name);
        }
        n += snprintf(line + n, sizeof(line) - (size_t)n, " %s%s",
                      (m->modes & MEMBER_OP) ? "@" : "", m->user->nick);
    }
    reply(c, "%s", line);
}

static void
cmd_rooms(struct conn *c, const char *args)
{
    struct room_info *all;
    size_t n = hub_rooms_listed(hub_of(c), user_of(c), &all), i;

    (void)args;
    if (n == 0)
        reply(c, "*** no rooms (/join #room makes one)");
    for (i = 0; i < n; i++) {
        if (all[i].topic != NULL)
            reply(c, "*** %s (%zu) %s", all[i].name, all[i].members,
                  all[i].topic);
        else
            reply(c, "*** %s (%zu)", all[i].name, all[i].members);
    }
    free(all);
}

static void
cmd_topic(struct conn *c, const char *args)
{
    struct room *r = room_then_text(c, &args);

    if (r == NULL)
        return;
    if (*args == '\0') {
        show_topic(c, r);
        return;
    }
    switch (hub_topic(hub_of(c), user_of(c), r, args, strlen(args))) {
    case HUB_ERR_NOT_MEMBER:
        not_member(c, r);
        break;
    case HUB_ERR_NOT_OPERATOR:
        reply(c, "*** error: only operators may set the topic of %s",
              r->name);
        break;
    default:
        break;
    }
}

static void
cmd_quit(struct conn *c, const char *args)
{
    size_t len = utf8_cut(args, strlen(args), REASON_MAX);
    char reason[REASON_MAX + 1];

    memcpy(reason, args, len);
    reason[len] = '\0';
    reply(c, "*** bye");
    hub_user_quit(hub_of(c), user_of(c), len > 0 ? reason : "quit");
    c->state_p = NULL;
    c->name = NULL;
    conn_close_after_flush(c, "quit");
}

static void
cmd_help(struct conn *c, const char *args)
{
    static const char *const lines[] = {
        "*** commands:",
        "***   /nick NAME             change your nickname",
        "***   /join #room [key]      join a room (made if missing) and talk "
        "there",
        "***   /part [#room] [reason] leave a room (default: this one)",
        "***   /msg NICK text         a private message",
        "***   /me text               an action: * you text",
        "***   /who [#room]           who is in a room (@: operator)",
        "***   /rooms                 every room, its size and topic",
        "***   /topic [#room] [text]  show or set a room's topic",
        "***   /quit [reason]         leave",
        "***   /help                  this list",
        "*** any other line is said in your current room; //text says "
        "/text",
    };
    size_t i;

    (void)args;
    for (i = 0; i < ARRAY_LEN(lines); i++)
        reply(c, "%s", lines[i]);
}

static const struct command {
    const char *name;
    void (*fn)(struct conn *c, const char *args);
} commands[] = {
    {"nick", cmd_nick}, {"join", cmd_join},   {"part", cmd_part},
    {"msg", cmd_msg},   {"me", cmd_me},       {"who", cmd_who},
    {"rooms", cmd_rooms}, {"topic", cmd_topic}, {"quit", cmd_quit},
    {"help", cmd_help},
};

/* line (cleaned, NUL-terminated) starts with '/': run the command. */
static void
command(struct conn *c, const char *line)
{
    const char *args = line + 1;
    const char *name = word(&args, &(size_t){0});
    size_t len = 0, i;

    if (name != NULL)
        for (len = 0; name[len] != '\0' && name[len] != ' '; len++)
            continue;
    for (i = 0; name != NULL && i < ARRAY_LEN(commands); i++)
        if (name_eqn(commands[i].name, name, len)) {
            commands[i].fn(c, args);
            return;
        }
    reply(c, "*** error: unknown command /%.*s (try /help)", (int)len,
          name != NULL ? name : "");
}

/* --- the protocol ----------------------------------------------------- */

/* One line (at most CHAT_LINE_MAX bytes): a command or text to say. */
static void
take_line(struct conn *c, const char *data, size_t n)
{
    /* Cleaning at most triples a line (each bad byte becomes U+FFFD). */
    char text[3 * CHAT_LINE_MAX + 1];
    size_t len = text_clean(text, sizeof(text) - 1, data, n,
                            TEXT_KEEP_FORMAT);
    struct room *r;

    text[len] = '\0';
    if (len == 0)
        return;
    if (text[0] == '/' && (len == 1 || text[1] != '/')) {
        command(c, text);
    } else if ((r = current(c)) != NULL) {
        const char *t = text[0] == '/' ? text + 1 : text;

        say(c, r, HUB_SAY, t, len - (size_t)(t - text));
    }
}

static int
chat_frame(struct conn *c, const struct frame *f)
{
    size_t off, n;

    /* A --max-message above CHAT_LINE_MAX makes longer frames: they are
     * said in pieces, as the line profile cuts long lines. */
    for (off = 0; off < f->len && user_of(c) != NULL; off += n) {
        n = f->len - off < CHAT_LINE_MAX ? f->len - off : CHAT_LINE_MAX;
        take_line(c, f->data + off, n);
        if (c->state != CONN_OPEN)
            return -1;
    }
    return 0;
}

static void
chat_open(struct conn *c)
{
    struct hub *h = hub_of(c);
    struct server *srv = c->door->srv;
    char nick[NICK_MAX + 1];
    enum hub_err err;
    struct user *u;

    hub_guest_nick(h, nick);
    u = hub_user_new(h, nick, strlen(nick), c->peer + c->hostoff, c->hostlen,
                     c, &err);
    c->state_p = u;
    c->name = u->nick;
    reply(c, "Welcome to chatd, %s! Type /help for the commands.", u->nick);
    if (srv->motd != NULL)
        route_copy_to_conn(&srv->route, c, srv->motd, srv->motdlen);
    join(c, LOBBY, strlen(LOBBY), NULL);
}

static void
chat_gone(struct conn *c, const char *why)
{
    if (user_of(c) != NULL)
        hub_user_quit(hub_of(c), user_of(c), why != NULL ? why : "gone");
    c->state_p = NULL;
    c->name = NULL;
}

const struct protocol proto_chat_line = {
    .name = "chat",
    .framing = &framing_text,
    .setup = chat_setup,
    .open = chat_open,
    .frame = chat_frame,
    .bad = lab_bad,
    .gone = chat_gone,
    .read_failed = conn_read_failed,
    .write_failed = conn_write_failed,
    .flush = conn_flush,
    .wire = chat_wire,
};
