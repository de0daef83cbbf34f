/* wire.h -- what chatbench says and hears: chatd lines, chatd's chat
 * profile (nicknames and rooms over lines), Redis pub/sub (RESP2), NATS
 * (text protocol), IRC (RFC 1459 client lines, for chatd's IRC door and
 * other IRC servers) and WebSocket (RFC 6455, the client side: the chat
 * profile's lines, one per text frame, as chatd's web door speaks them at
 * GET /ws), as pure functions over byte buffers.
 *
 * Every published payload is a bench payload: a marker, the publisher id,
 * a sequence number and the monotonic send time in nanoseconds, as fixed
 * width lowercase hex, then filler up to the chosen size:
 *
 *     @CB pppp ssssssssssss tttttttttttttttt .......      (no spaces)
 *
 * It holds no LF, CR or NUL, so it travels unchanged in every protocol,
 * and a receiver finds the marker anywhere inside a line, after whatever
 * prefix (an address, a nick) a server put before it.
 *
 * wire_next() cuts the next frame out of received bytes and says what it
 * is; the encoders write whole requests.  No I/O, no allocation, no
 * globals: bytes in, views out.  A WebSocket client masks every frame
 * with a fresh key; the encoders draw it from the caller's generator
 * state (wire_rand()), which they advance. */
#ifndef CHATD_BENCH_WIRE_H
#define CHATD_BENCH_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum wire_kind { WIRE_LINE, WIRE_CHAT, WIRE_REDIS, WIRE_NATS, WIRE_IRC,
                 WIRE_WS };

/* "line", "chat", "redis", "nats", "irc", "ws", NULL: indexed by enum
 * wire_kind. */
extern const char *const wire_names[];

#define WIRE_MARKER         "@CB"
#define WIRE_MARKER_LEN     3
#define WIRE_PAYLOAD_MIN    (WIRE_MARKER_LEN + 4 + 12 + 16)  /* 35 */
#define WIRE_PUB_MAX        0xffffu     /* publisher ids fit in 4 hex */
#define WIRE_CTL_MAX        65536       /* longest NATS control line, RESP
                                         * simple line or length header,
                                         * HTTP answer head */
#define WIRE_WS_KEY_LEN     24          /* Sec-WebSocket-Key: base64 of 16
                                         * bytes */

enum wire_status { WIRE_NEED_MORE, WIRE_OK, WIRE_BAD };

enum wire_event {
    WIRE_EV_MSG,        /* a delivery: data/len is its payload (for line,
                         * the line without its LF; for chat, the text
                         * after "[#room] " and "nick: "; for IRC, a
                         * PRIVMSG's text) */
    WIRE_EV_JOINED,     /* the server confirmed: RESP "subscribe" reply,
                         * NATS PONG, RESP +PONG; IRC: a JOIN, whose
                         * data/len is the joining nick (see
                         * wire_irc_is_me()) */
    WIRE_EV_NOTICE,     /* chat: a "*** " line from the server itself;
                         * data/len is the text after "*** " */
    WIRE_EV_PING,       /* NATS or IRC PING: the client must answer with
                         * wire_encode_pong(); for IRC data/len is the
                         * token to send back */
    WIRE_EV_WELCOME,    /* IRC 001 (RPL_WELCOME): registered; now the
                         * client sends its JOIN (wire_encode_join()) */
    WIRE_EV_ERROR,      /* the server said no: data/len is its text
                         * (WS: the status line of an HTTP answer
                         * other than 101) */
    WIRE_EV_UPGRADED,   /* WS: the server's 101 answer to the upgrade
                         * request; data/len is its Sec-WebSocket-Accept
                         * value (empty if it has none), to check with
                         * wire_ws_accept_is(); now the client sends
                         * wire_encode_sub() */
    WIRE_EV_CLOSE,      /* WS: the server's close frame; data/len is its
                         * reason, after the status code */
    WIRE_EV_OTHER       /* INFO, +OK, a PUBLISH count, a chat greeting or
                         * "* " action line, an IRC NOTICE or numeric,
                         * ...: ignore */
};

struct wire_frame {
    enum wire_event  ev;
    const char      *data;      /* points INTO the caller's buffer */
    size_t           len;
};

/* Cut the next frame of protocol k out of buf[0..len).  On WIRE_OK, *f
 * describes it and *used is how many bytes it took; WIRE_NEED_MORE
 * consumes nothing; WIRE_BAD means the stream cannot be parsed (*why is
 * a static string).  A payload longer than max is WIRE_BAD for RESP and
 * NATS (a lie costs nothing); a line (line, chat) longer than max comes
 * out in pieces of max bytes, as line_next() cuts them.  A chat line is
 * a notice ("*** ", or an error: "*** error: "), an action ("* ", OTHER),
 * a message ("[#room] nick: text" or "nick: text", MSG with the text), or
 * else OTHER (the greeting, the MOTD).  An IRC line ends at LF, a CR
 * before it dropped, and is cut as a chat line is; after optional IRCv3
 * tags and a ":prefix" its command says what it is: PRIVMSG (MSG, the
 * text after " :", or the last parameter), PING (PING), 001 (WELCOME),
 * JOIN (JOINED), ERROR and numerics 400-599 (ERROR, the whole line) but
 * for 422 (ERR_NOMOTD, which only says there is no MOTD: OTHER), anything
 * else OTHER.
 *
 * WS: a buffer starting with 'H' is the HTTP answer to the upgrade (a
 * server frame never starts so: 0x48 would be a close frame without FIN
 * and with RSV1), taken whole up to its empty line: UPGRADED for "HTTP/1.x
 * 101", ERROR for another status, WIRE_BAD for anything else or a head
 * over WIRE_CTL_MAX.  Otherwise a server frame, taken whole: not masked,
 * no reserved bit, no fragments (chatd frames each line alone, as most
 * servers frame each message; a continuation or a data frame without FIN
 * is WIRE_BAD), a control frame at most 125 bytes and a data frame at most
 * max, or WIRE_BAD.  A text frame's payload is cut as a chat line is (a
 * frame is a line without its LF); a ping is PING (data/len its payload,
 * for wire_encode_pong()), a close CLOSE, a binary frame or a pong OTHER.
 * Never reads past buf + len. */
enum wire_status wire_next(enum wire_kind k, const char *buf, size_t len,
                           size_t max, struct wire_frame *f,
                           size_t *used, const char **why);

/* Write into out (cap bytes) the request that publishes payload[0..len)
 * on channel chan: the line itself plus LF (line, and chat, where the
 * room is the client's current one), a RESP PUBLISH, a NATS PUB, an IRC
 * "PRIVMSG chan :payload" plus CRLF, a WebSocket text frame holding the
 * payload (masked with a key from *rng; the room is the current one).
 * rng may be NULL but for WS.  Returns its length, or 0 if it does not
 * fit. */
size_t wire_encode_pub(enum wire_kind k, char *out, size_t cap,
                       const char *chan, const char *payload, size_t len,
                       uint64_t *rng);

/* The length wire_encode_pub() needs for a payload of len bytes. */
size_t wire_pub_len(enum wire_kind k, const char *chan, size_t len);

/* Write what subscriber number client sends once connected: nothing for
 * line; for chat "/nick bCLIENT" and "/join chan" (confirmed by the
 * notice wire_chat_is_joined() recognises); RESP SUBSCRIBE chan; NATS
 * CONNECT (verbose and pedantic off), SUB chan 1 and PING, whose PONG
 * confirms the subscription; IRC "NICK benchCLIENT" and "USER benchCLIENT
 * 0 * :bench" (registration; the JOIN waits for 001, since a server may
 * refuse a JOIN before registration is done); WS, once upgraded
 * (WIRE_EV_UPGRADED), chat's two lines as two masked text frames (keys
 * from *rng; rng may be NULL but for WS).  Returns the length (0 for
 * line), or 0 if it does not fit. */
size_t wire_encode_sub(enum wire_kind k, char *out, size_t cap,
                       const char *chan, uint32_t client, uint64_t *rng);

/* Is text[0..len) (a WIRE_EV_NOTICE's text) the chat server announcing
 * that subscriber number client, under the nickname wire_encode_sub()
 * gave it, joined room: "bCLIENT joined ROOM", alone or followed by a
 * space and more?  Nicknames and rooms compare ignoring ASCII case. */
int wire_chat_is_joined(const char *text, size_t len, uint32_t client,
                        const char *room);

/* Write the JOIN of channel chan an IRC client sends once registered
 * (WIRE_EV_WELCOME): "JOIN chan" plus CRLF.  Returns its length, or 0 if
 * it does not fit or k is not WIRE_IRC. */
size_t wire_encode_join(enum wire_kind k, char *out, size_t cap,
                        const char *chan);

/* Write what IRC publisher number client sends before its JOIN to be
 * an operator, NAME and PASS taken from oper ("NAME:PASS"), with user
 * mode +F: "OPER NAME PASS", "MODE benchCLIENT +F", each plus CRLF.
 * ngIRCd lifts its flood control (3 commands per read, a penalty second
 * past 256 bytes a second) only for +F, which only an operator may set.
 * Returns the length, or 0 if it does not fit or oper has no ':'. */
size_t wire_encode_oper(char *out, size_t cap, const char *oper,
                        uint32_t client);

/* Is nick[0..len) (an IRC JOIN's data) the nickname wire_encode_sub()
 * gave subscriber number client, ignoring ASCII case? */
int wire_irc_is_me(const char *nick, size_t len, uint32_t client);

/* Does a server of protocol k send a subscriber what it published
 * itself?  Yes for line, chat, WS and NATS (echo is on unless a client
 * turns it off); Redis publishers are connections of their own, so the
 * question does not arise (1); IRC does not echo a PRIVMSG (0).  A
 * message of a publisher that is also a subscriber is owed to one
 * subscriber fewer where this is 0. */
int wire_echoes_own(enum wire_kind k);

/* Write what a publish-only connection sends once connected (RESP PING,
 * answered by +PONG; NATS CONNECT and PING).  Returns the length (0 for
 * line, chat, IRC and WS, whose publishers are subscribers too), or 0 if
 * it does not fit. */
size_t wire_encode_hello(enum wire_kind k, char *out, size_t cap);

/* Write the answer to a PING: NATS "PONG", IRC "PONG :token" where
 * token[0..len) is the PING's (WIRE_EV_PING's data), each plus CRLF; WS
 * a pong frame carrying token[0..len) (at most 125 bytes), masked with a
 * key from *rng (rng may be NULL but for WS).  Returns its length, or 0
 * if it does not fit or k has no PING. */
size_t wire_encode_pong(enum wire_kind k, char *out, size_t cap,
                        const char *token, size_t len, uint64_t *rng);

/* The next number of a cheap generator (splitmix64) whose state is *s;
 * any state will do as a seed.  WebSocket masking keys come from it. */
uint64_t wire_rand(uint64_t *s);

/* Subscriber number client's Sec-WebSocket-Key in a run whose secret is
 * seed: base64 of 16 bytes drawn from seed and client, so a run with a
 * random seed gives each connection a random key and the engine keeps
 * nothing per connection to check the answer.  Writes WIRE_WS_KEY_LEN
 * characters and a NUL. */
void wire_ws_key(char out[WIRE_WS_KEY_LEN + 1], uint64_t seed,
                 uint32_t client);

/* Write the WebSocket upgrade request for chatd's line door: "GET /ws
 * HTTP/1.1" with Host host, Upgrade, Connection, Sec-WebSocket-Version 13
 * and Sec-WebSocket-Key key, no subprotocol.  Returns its length, or 0 if
 * it does not fit. */
size_t wire_ws_upgrade(char *out, size_t cap, const char *host,
                       const char *key);

/* Is accept[0..len) (a WIRE_EV_UPGRADED's data) the Sec-WebSocket-Accept
 * RFC 6455 derives from key: base64(SHA-1(key + GUID))? */
int wire_ws_accept_is(const char *accept, size_t len, const char *key);

/* Fill out[0..size) with a bench payload.  Returns 0, or -1 if size is
 * below WIRE_PAYLOAD_MIN or pub above WIRE_PUB_MAX. */
int wire_payload_encode(char *out, size_t size, uint32_t pub, uint64_t seq,
                        uint64_t ts_ns);

/* Find a bench payload anywhere in data[0..len) and decode it.  Returns 0
 * and fills *pub, *seq, *ts_ns, or -1 if there is none (a greeting, a
 * server notice) or its digits are not hex. */
int wire_payload_decode(const char *data, size_t len, uint32_t *pub,
                        uint64_t *seq, uint64_t *ts_ns);

#endif
