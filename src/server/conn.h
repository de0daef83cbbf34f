/* conn.h -- one client connection: its input, its queue, its life.
 *
 * A connection ends only through conn_close(), which is safe from any
 * handler and safe to repeat: it stops watching the descriptor at once and
 * leaves closing it and freeing the struct to server_reap(), after the
 * dispatch batch, so no stale event can reach freed memory or a reused
 * descriptor number. */
#ifndef CHATD_CONN_H
#define CHATD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop/loop.h"
#include "server/outq.h"
#include "util/log.h"

#define CONN_PEER_LEN 64
#define CONN_NICK_MAX 32

struct server;

enum conn_state {
    CONN_OPEN,          /* reading and writing */
    CONN_DRAINING,      /* no more reading: write what is queued, close */
    CONN_CLOSED,        /* waiting for server_reap() */
};

#define CONN_F_DIRTY      0x01  /* on srv->dirty: flush before sleeping */
#define CONN_F_BLOCKED    0x02  /* in the write set: wait for writable */
#define CONN_F_REGISTERED 0x04  /* packet: has a nickname */

struct conn {
    struct server    *srv;          /* borrowed */
    struct conn      *prev, *next;  /* srv->conns */
    struct conn      *dirty_next;   /* srv->dirty, while CONN_F_DIRTY */
    struct conn      *reap_next;    /* srv->reap, once CONN_CLOSED */
    int               fd;
    enum conn_state   state;
    unsigned          flags;
    uint64_t          id;           /* 1, 2, ... in accept order */
    uint64_t          last_active;  /* loop ms of the last read */
    char             *in;           /* pending partial frame, or NULL */
    size_t            inlen, incap;
    struct outq       outq;
    struct loop_timer idle;
    const char       *drain_why;    /* static: why, once CONN_DRAINING */
    struct log_limit  drop_warn;
    uint64_t          dropped;      /* bytes dropped since the last warning */
    char              peer[CONN_PEER_LEN];
    char              nick[CONN_NICK_MAX + 1];
};

/* Queue the slice s for c, taking a reference to its buffer.  If s would
 * push the queue past its limit, apply the policy: drop s (warn,
 * rate-limited) or close c.  Never blocks and never copies the payload. */
void conn_send(struct conn *c, const struct slice *s);

/* Queue a copy of buf for c alone (greetings, acknowledgements). */
void conn_send_copy(struct conn *c, const void *buf, size_t len);

/* End c for the reason why (logged).  Safe to repeat. */
void conn_close(struct conn *c, const char *why);

/* Write what c's queue holds, as much as the socket takes (one writev per
 * call, bounded per pass).  Called once per loop pass for every client with
 * new output, and on writability. */
void conn_flush(struct conn *c);

/* Wait until c's socket is writable, then flush (the socket is full, or
 * the profile writes only on readiness).  Safe to repeat. */
void conn_want_write(struct conn *c);

#endif
