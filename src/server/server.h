/* server.h -- the chat engine: listeners, clients, routing, one loop.
 *
 * server_run() owns everything it creates and frees all of it before it
 * returns, whether the loop ended by a signal or by an error.  The
 * protocol files reach the shared state (the route, the hub, the config)
 * through the struct server their door points to. */
#ifndef CHATD_SERVER_H
#define CHATD_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "cluster/cluster.h"
#include "hub/hub.h"
#include "loop/loop.h"
#include "net/addr.h"
#include "server/config.h"
#include "server/conn.h"
#include "server/console.h"
#include "server/lab.h"
#include "server/route.h"
#include "server/sink.h"
#include "util/err.h"
#include "util/log.h"

struct server;

struct listener {
    struct server *srv;         /* borrowed: the owner */
    int            fd;
    struct addr    addr;
    const char    *text;        /* borrowed (a config's, kept to the end):
                                 * the listen line it serves, or the
                                 * scheme of a passed socket taken by its
                                 * name alone */
    int            paused;      /* not watched: serial mode, or out of fds */
    int            passed;      /* the service manager opened it (and owns
                                 * its Unix socket file) */
    struct door    door;        /* what clients of this listener speak */
};

struct server {
    const struct config *cfg;           /* borrowed, or the newest of
                                         * retired after a reload */
    struct config      **retired;       /* owned: every reload's config */
    size_t               nretired;
    struct loop          loop;
    struct listener     *listeners[CONFIG_MAX_LISTEN]; /* owned */
    size_t               nlisteners;
    struct listener    **closed;        /* owned: listeners a reload
                                         * closed, whose doors clients
                                         * that came through them hold */
    size_t               nclosed;
    struct conn_set      conns;
    struct console       console;
    struct route         route;
    struct hub           hub;           /* the chat profile's users, rooms */
    struct cluster      *cluster;       /* owned: --cluster's, or NULL */
    struct lab           lab;           /* the exercises' routing */
    char                *motd;          /* owned, cleaned, or NULL */
    size_t               motdlen;
    int                  spare_fd;      /* reserved for shedding at EMFILE */
    struct loop_timer    resume;        /* re-enable accepting after EMFILE */
    struct log_limit     emfile_warn;
    uint64_t             shed;          /* connections shed since warning */
    struct sink          sink;          /* the sink console's position */
    struct metrics       metrics;       /* what /metrics shows */
    struct tls_ctx      *tls;           /* owned: the TLS doors' pair */
    int                  one_at_a_time; /* sink-seq: accept while none */
};

/* Run the server described by cfg until SIGINT or SIGTERM.  Returns 0 on a
 * clean stop, 1 if it could not start (reason in err) or its poller
 * failed. */
int server_run(const struct config *cfg, char err[ERR_LEN]);

/* Stop (pause != 0) or start again accepting on every listener. */
void server_pause_listeners(struct server *srv, int pause);

#endif
