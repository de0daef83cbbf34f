/* cmsg.h -- one cluster message: what a chatd node publishes to Redis.
 *
 * A message is one line of tab-separated fields, the text last:
 *
 *   C2 TAB node TAB seq TAB kind TAB flags TAB uid TAB nick TAB ident
 *      TAB host TAB room TAB to TAB old TAB text
 *
 * "C2" is the format's version.  Every field but the text is 0-63 bytes
 * without tabs or control characters (nicknames, rooms, hosts and node
 * names cannot hold any); the text is every byte after the twelfth tab,
 * tabs included, so nothing needs escaping.  seq is decimal (a node's
 * sequence on that channel, for gap counting), flags decimal (CMSG_F_*),
 * kind one of the words of cmsg_kind_names, uid decimal: the sender's
 * number on its node, which a rename does not change, so a message
 * names its user even when a rename has crossed it on the way.  Empty
 * fields are allowed (a room message has no "to"). */
#ifndef CHATD_CMSG_H
#define CHATD_CMSG_H

#include <stddef.h>
#include <stdint.h>

#define CMSG_FIELD_MAX 63       /* bytes of any field but the text */
#define CMSG_TEXT_MAX  4096     /* bytes of the text */
#define CMSG_MAX       (12 * (CMSG_FIELD_MAX + 1) + CMSG_TEXT_MAX)

enum cmsg_kind {
    CMSG_SAY, CMSG_ACTION, CMSG_NOTICE, CMSG_PRIVATE, CMSG_JOIN, CMSG_PART,
    CMSG_QUIT, CMSG_NICK, CMSG_TOPIC, CMSG_MODE, CMSG_KICK, CMSG_INVITE,
    CMSG_HELLO,         /* nick is in room (say nothing): a WHO's answer */
    CMSG_ROOM,          /* a WHO's answer first: the room as the node has
                         * it; text "created topic_at +flags limit key"
                         * (key "*": none), a newline, the topic; to: who
                         * set it.  The oldest room wins everywhere. */
    CMSG_WHO,           /* a node (re)subscribed: every node says HELLO for
                         * each of its members in room, then SYNC */
    CMSG_SYNC,          /* the node's HELLOs are done: its members here
                         * that none named have left */
    CMSG_PROBE,         /* a node's message to itself: is the link alive? */
    CMSG_NKINDS
};

#define CMSG_F_NOECHO 0x1       /* the sender is not given its own copy */
#define CMSG_F_OP     0x2       /* HELLO: an operator of the room */
#define CMSG_F_VOICE  0x4       /* HELLO: voiced in the room */

/* The words of the kinds, in enum order. */
extern const char *const cmsg_kind_names[CMSG_NKINDS];

struct cmsg_field {
    const char *p;      /* points INTO the caller's buffer */
    size_t      len;
};

struct cmsg {
    struct cmsg_field node, nick, ident, host, room, to, old, text;
    uint64_t          seq, uid;
    enum cmsg_kind    kind;
    unsigned          flags;
};

/* Parse buf[0..len).  Returns 0 and fills m (views into buf), or -1 with
 * *why (a static string) if it is not one well-formed message.  No I/O, no
 * allocation; never reads past buf + len. */
int cmsg_parse(const char *buf, size_t len, struct cmsg *m,
               const char **why);

/* Write m into buf (cap bytes).  Returns the length, or 0 if a field is
 * too long or holds a tab or control character, or it does not fit. */
size_t cmsg_encode(char *buf, size_t cap, const struct cmsg *m);

#endif
