/* conn.h -- one client connection, its whole life: new, read, send,
 * flush, close, free.
 *
 * A connection belongs to a conn_set (the server's clients) and to a door
 * (the listener it came through, which names its protocol and framing).
 * It ends only through conn_close(), which is safe from any handler and
 * safe to repeat: it stops watching the descriptor at once and leaves
 * freeing to conn_set_reap(), after the dispatch batch, so no stale event
 * can reach freed memory or a reused descriptor number.  This file knows
 * queues and sockets; what a frame means is the protocol's business. */
#ifndef CHATD_CONN_H
#define CHATD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop/loop.h"
#include "net/tls.h"
#include "server/config.h"
#include "server/console.h"
#include "server/flood.h"
#include "server/inbuf.h"
#include "server/metrics.h"
#include "server/outq.h"
#include "server/protocol.h"
#include "util/log.h"

#define CONN_PEER_LEN 64
#define CONN_READ_BUF (64 * 1024)   /* the one scratch buffer for reads */

enum conn_state {
    CONN_OPEN,          /* reading and writing */
    CONN_DRAINING,      /* no more reading: write what is queued, close */
    CONN_CLOSED,        /* waiting for conn_set_reap() */
};

#define CONN_F_DIRTY   0x01     /* on set->dirty: flush before sleeping */
#define CONN_F_BLOCKED 0x02     /* in the write set: wait for writable */
#define CONN_F_MEMBER  0x04     /* receives broadcasts to every client */
#define CONN_F_PAUSED  0x08     /* not read until its own queue drains */
#define CONN_F_FLOODED 0x10     /* not read until its flood budget refills */
#define CONN_F_HANDSHAKE 0x20   /* TLS: not opened until the handshake ends */
#define CONN_F_READ_WANTS_WRITE 0x40 /* TLS: a read waits for writability */
#define CONN_F_WRITE_WANTS_READ 0x80 /* TLS: a write waits for readability */
#define CONN_F_KTLS    0x100    /* TLS sent by the kernel: plain writev */

#define CONN_HANDSHAKE_MS (10 * 1000)   /* SPEC: 10 s to finish TLS */

/* Every client of a server, and what they share. */
struct conn_set {
    struct loop          *loop;         /* borrowed */
    const struct console *console;      /* borrowed */
    struct conn          *all;          /* every client, newest first */
    size_t                n;            /* not yet closed */
    struct conn          *dirty;        /* clients with output to flush */
    struct conn          *reap;         /* closed, to free after the batch */
    uint64_t              next_id;
    uint64_t              queue_limit;  /* bytes one queue may keep alive */
    enum overflow         on_overflow;
    unsigned              idle_timeout; /* seconds, 0 = never */
    char                 *rbuf;         /* scratch for reads, owned */
    char                 *tbuf;         /* scratch for one TLS record of
                                         * output, owned, or NULL */
    size_t                read_max;     /* bytes of one read */
    int                   pace;         /* see conn_set_limit() */
    struct metrics       *metrics;      /* borrowed: the counters, or NULL */
    int                   tls_path_told; /* the TLS send path was logged */
};

struct conn {
    struct conn_set   *set;         /* borrowed */
    const struct door *door;        /* borrowed: the listener's */
    const struct protocol *proto;   /* what it speaks: the door's, until a
                                     * web client upgrades to WebSocket */
    struct conn       *prev, *next; /* set->all */
    struct conn       *dirty_next;  /* set->dirty, while CONN_F_DIRTY */
    struct conn       *reap_next;   /* set->reap, once CONN_CLOSED */
    int                fd;
    enum conn_state    state;
    unsigned           flags;
    uint64_t           id;          /* 1, 2, ... in accept order */
    uint64_t           last_active; /* loop ms of the last read, or of
                                     * the last held line handled */
    struct inbuf       in;
    struct flood       flood;       /* its budget of lines (door's limits) */
    struct loop_timer  refill;      /* while CONN_F_FLOODED: a token back */
    struct outq        outq;
    struct loop_timer  idle;
    const char        *drain_why;   /* static: why, once CONN_DRAINING */
    struct log_limit   drop_warn;
    uint64_t           dropped;     /* bytes dropped since the last warning */
    struct tls        *tls;         /* owned: made at the first byte of a
                                     * TLS door's client, or NULL */
    struct loop_timer  handshake;   /* while CONN_F_HANDSHAKE: deadline */
    struct loop_timer  more;        /* TLS holds bytes the poller cannot
                                     * see: read again without waiting */
    size_t             tls_owed;    /* bytes a TLS write that must be
                                     * retried has taken from the queue */
    void              *state_p;     /* the protocol's, owned by it */
    void              *xport;       /* the web door's (HTTP, WebSocket)
                                     * under the protocol, or NULL */
    const char        *name;        /* borrowed from state_p, or NULL */
    unsigned char      hostoff;     /* the address is peer[hostoff..] */
    unsigned char      hostlen;     /* ... hostlen bytes long */
    char               peer[CONN_PEER_LEN];
};

/* Set up an empty set on loop l, printing to console. */
void conn_set_init(struct conn_set *set, struct loop *l,
                   const struct console *console);
/* Set the bound of one client's queue.  pace: a client whose own queue is
 * half full is not read until it drains to a quarter, and one read takes
 * at most a quarter of the limit, so a client that sends faster than it
 * reads is slowed by TCP instead of losing its own output. */
void conn_set_limit(struct conn_set *set, uint64_t queue_limit, int pace);
/* Close every client still open ("server stopping"), free them all and
 * the read buffer. */
void conn_set_fini(struct conn_set *set);
/* Flush every client with new output (the protocol's flush policy). */
void conn_set_flush(struct conn_set *set);
/* Free the clients closed since the last call (each protocol's `gone`
 * runs first).  Returns how many were freed. */
size_t conn_set_reap(struct conn_set *set);

/* A client accepted on door d (peer: "ADDR:PORT" or "unix").  Watches fd,
 * logs, arms the idle timer and lets the protocol open it.  Returns the
 * connection, or NULL if the loop cannot watch fd (fd closed, logged). */
struct conn *conn_new(struct conn_set *set, const struct door *d, int fd,
                      const char *peer);

/* Queue s for c, taking a reference to its block.  If s would push the
 * queue past its limit, first write what the socket takes; if it still
 * does not fit, apply the policy: drop s (warn, rate-limited) or close c.
 * Never blocks and never copies the payload. */
void conn_send(struct conn *c, const struct slice *s);

/* End c for the reason why (logged).  Safe to repeat. */
void conn_close(struct conn *c, const char *why);

/* End c for why after last words (text, len bytes, e.g. IRC's "ERROR
 * :Closing Link: ..."), best effort, for a client whose queue is over its
 * limit: what is queued is dropped but the rest of the line the socket is
 * partway through, text is queued after it past the limit, and what the
 * socket takes now is written (the send buffer is grown by that much if
 * the system allows).  Then c is closed at once: the kernel still
 * delivers what it holds, the rest is lost.  Safe to repeat. */
void conn_close_saying(struct conn *c, const char *text, size_t len,
                       const char *why);

/* Stop reading from c and close it once its queue is written, logging why
 * then (after an error reply, a /quit, or a half-close).  Safe to
 * repeat. */
void conn_close_after_flush(struct conn *c, const char *why);

/* Write what c's queue holds, as much as the socket takes (writev, a byte
 * budget per call); wait for writability if it is full.  Once the queue is
 * empty, a draining c is closed. */
void conn_flush(struct conn *c);

/* Wait until c's socket is writable, then flush.  Safe to repeat. */
void conn_want_write(struct conn *c);

/* The default error policies: close c, saying why. */
void conn_read_failed(struct conn *c, int err);
void conn_write_failed(struct conn *c, int err);

#endif
