/* proto.h -- what chatbench says and hears: chatd lines, Redis pub/sub
 * (RESP2) and NATS (text protocol), as pure functions over byte buffers.
 *
 * Every published payload is a bench payload: a marker, the publisher id,
 * a sequence number and the monotonic send time in nanoseconds, as fixed
 * width lowercase hex, then filler up to the chosen size:
 *
 *     @CB pppp ssssssssssss tttttttttttttttt .......      (no spaces)
 *
 * It holds no LF, CR or NUL, so it travels unchanged in all three
 * protocols, and a receiver finds the marker anywhere inside a line, after
 * whatever prefix (an address, a nick) a server put before it.
 *
 * proto_next() cuts the next frame out of received bytes and says what it
 * is; the encoders write whole requests.  No I/O, no allocation, no
 * globals: bytes in, views out. */
#ifndef CHATD_BENCH_PROTO_H
#define CHATD_BENCH_PROTO_H

#include <stddef.h>
#include <stdint.h>

enum proto_kind { PROTO_LINE, PROTO_REDIS, PROTO_NATS };

/* "line", "redis", "nats", NULL: indexed by enum proto_kind. */
extern const char *const proto_names[];

#define PROTO_MARKER        "@CB"
#define PROTO_MARKER_LEN    3
#define PROTO_PAYLOAD_MIN   (PROTO_MARKER_LEN + 4 + 12 + 16)  /* 35 */
#define PROTO_PUB_MAX       0xffffu     /* publisher ids fit in 4 hex */
#define PROTO_CTL_MAX       65536       /* longest NATS control line, RESP
                                         * simple line or length header */

enum proto_status { PROTO_NEED_MORE, PROTO_OK, PROTO_BAD };

enum proto_event {
    PROTO_EV_MSG,       /* a delivery: data/len is its payload (for line,
                         * the line without its LF) */
    PROTO_EV_JOINED,    /* the server confirmed: RESP "subscribe" reply,
                         * NATS PONG, RESP +PONG */
    PROTO_EV_PING,      /* NATS PING: the client must answer PONG */
    PROTO_EV_ERROR,     /* the server said no: data/len is its text */
    PROTO_EV_OTHER      /* INFO, +OK, a PUBLISH count, ...: ignore */
};

struct proto_frame {
    enum proto_event ev;
    const char      *data;      /* points INTO the caller's buffer */
    size_t           len;
};

/* Cut the next frame of protocol k out of buf[0..len).  On PROTO_OK, *f
 * describes it and *used is how many bytes it took; PROTO_NEED_MORE
 * consumes nothing; PROTO_BAD means the stream cannot be parsed (*why is
 * a static string).  A payload longer than max is PROTO_BAD for RESP and
 * NATS (a lie costs nothing); a line longer than max comes out in pieces
 * of max bytes.  Never reads past buf + len. */
enum proto_status proto_next(enum proto_kind k, const char *buf, size_t len,
                             size_t max, struct proto_frame *f,
                             size_t *used, const char **why);

/* Write into out (cap bytes) the request that publishes payload[0..len)
 * on channel chan: the line itself plus LF, a RESP PUBLISH, a NATS PUB.
 * Returns its length, or 0 if it does not fit. */
size_t proto_encode_pub(enum proto_kind k, char *out, size_t cap,
                        const char *chan, const char *payload, size_t len);

/* The length proto_encode_pub() needs for a payload of len bytes. */
size_t proto_pub_len(enum proto_kind k, const char *chan, size_t len);

/* Write what a subscriber sends once connected: nothing for line; RESP
 * SUBSCRIBE chan; NATS CONNECT (verbose and pedantic off), SUB chan 1 and
 * PING, whose PONG confirms the subscription.  Returns the length (0 for
 * line), or 0 if it does not fit. */
size_t proto_encode_sub(enum proto_kind k, char *out, size_t cap,
                        const char *chan);

/* Write what a publish-only connection sends once connected (RESP PING,
 * answered by +PONG; NATS CONNECT and PING).  Returns the length (0 for
 * line), or 0 if it does not fit. */
size_t proto_encode_hello(enum proto_kind k, char *out, size_t cap);

/* Write the answer to a NATS PING ("PONG\r\n").  Returns its length, or 0
 * if it does not fit. */
size_t proto_encode_pong(char *out, size_t cap);

/* Fill out[0..size) with a bench payload.  Returns 0, or -1 if size is
 * below PROTO_PAYLOAD_MIN or pub above PROTO_PUB_MAX. */
int proto_payload_encode(char *out, size_t size, uint32_t pub, uint64_t seq,
                         uint64_t ts_ns);

/* Find a bench payload anywhere in data[0..len) and decode it.  Returns 0
 * and fills *pub, *seq, *ts_ns, or -1 if there is none (a greeting, a
 * server notice) or its digits are not hex. */
int proto_payload_decode(const char *data, size_t len, uint32_t *pub,
                         uint64_t *seq, uint64_t *ts_ns);

#endif
