/* echo.h -- echod: a concurrent echo server in four classic models.
 *
 * Every model listens on one socket and sends back every byte a client
 * sends, in order, until the client closes.  They differ only in who serves
 * a connection: a new process (fork), a new thread (thread), one of a pool
 * of processes started up front (prefork), or one non-blocking event loop
 * (event).  echod shares the address, socket and loop code with chatd, not
 * the chat engine. */
#ifndef CHATD_ECHO_H
#define CHATD_ECHO_H

#include "util/err.h"

enum echo_model { ECHO_FORK, ECHO_THREAD, ECHO_PREFORK, ECHO_EVENT };

/* "fork", "thread", "prefork", "event", indexed by enum echo_model, then
 * NULL (for parse_enum). */
extern const char *const echo_model_names[];

#define ECHO_WORKERS_MAX 1024

struct echo_config {
    const char     *listen;     /* PORT, HOST:PORT, [V6]:PORT, unix:PATH;
                                 * borrowed */
    enum echo_model model;
    int             workers;    /* prefork: processes, 0: 2 per online core */
};

/* Listen on cfg->listen, print "echod: listening on ADDR (model M)" to
 * stderr once the model is ready, and serve until SIGINT or SIGTERM, which
 * end every model cleanly (children and threads included).  Returns 0 after
 * such a stop, or -1 with a one-line reason in err if the server could not
 * start ("cannot listen on 0.0.0.0:7: Permission denied").  Only the
 * calling process returns: forked children exit on their own. */
int echo_run(const struct echo_config *cfg, char err[ERR_LEN]);

#endif
