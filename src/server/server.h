/* server.h -- the chat engine: listeners, clients, routing, one loop.
 *
 * server_run() owns everything it creates and frees all of it before it
 * returns, whether the loop ended by a signal or by an error. */
#ifndef CHATD_SERVER_H
#define CHATD_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "loop/loop.h"
#include "net/addr.h"
#include "server/config.h"
#include "server/conn.h"
#include "server/sink.h"
#include "util/err.h"
#include "util/log.h"

#define SERVER_READ_BUF  (64 * 1024)  /* the one scratch buffer for reads */

struct server;

struct listener {
    struct server *srv;         /* borrowed: the owner */
    int         fd;
    struct addr addr;
    int         paused;         /* not watched: serial mode, or out of fds */
};

struct server {
    const struct config *cfg;           /* borrowed */
    struct loop          loop;
    struct listener      listeners[CONFIG_MAX_LISTEN];
    size_t               nlisteners;
    struct conn         *conns;         /* every client, newest first */
    size_t               nconns;        /* not yet closed */
    struct conn         *dirty;         /* clients with output to flush */
    struct conn         *reap;          /* closed, to free after the batch */
    uint64_t             next_id;
    char                *rbuf;          /* scratch for reads, owned */
    struct msg          *arena;         /* where messages are built, owned */
    int                  spare_fd;      /* reserved for shedding at EMFILE */
    struct loop_timer    resume;        /* re-enable accepting after EMFILE */
    struct log_limit     emfile_warn;
    uint64_t             shed;          /* connections shed since warning */
    struct sink          sink;          /* the sink console's position */
    int                  exit_status;
};

/* Run the server described by cfg until SIGINT or SIGTERM.  Returns 0 on a
 * clean stop, 1 if it could not start (reason in err) or its poller
 * failed. */
int server_run(const struct config *cfg, char err[ERR_LEN]);

/* A message from c (payload, len) enters the room: log it, build it once
 * with the configured prefix and terminator, and queue it to every client
 * the route names. */
void server_deliver(struct server *srv, struct conn *from,
                    const char *payload, size_t len);

/* Queue s to every client the route names for a message from `from`. */
void server_broadcast(struct server *srv, struct conn *from,
                      const struct slice *s);

/* Room for n bytes at the end of the shared buffer the current messages
 * are written into; *s names them (its buffer is borrowed: queueing s takes
 * the reference).  Returns where to write the n bytes, at once: the next
 * call may start a new buffer. */
char *server_reserve(struct server *srv, size_t n, struct slice *s);

/* The loop handler of every client descriptor. */
void server_on_client(struct loop *l, int fd, int mask, void *arg);

/* Stop reading from c and close it once its queue is written, logging why
 * then (a protocol error after its error reply, or a half-close). */
void server_close_after_flush(struct conn *c, const char *why);

/* Put c on the list of clients to flush before the loop sleeps. */
void server_mark_dirty(struct server *srv, struct conn *c);

#endif
