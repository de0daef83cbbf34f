/* model.h -- the contract between echo_run() and the four models.
 *
 * echo_run() resolves the address and opens the listener; a model gets it
 * ready-made, announces itself with echo_ready() once it can serve, and
 * returns when SIGINT or SIGTERM asks it to stop, after every process or
 * thread it started has ended.  The listener stays echo_run()'s to close. */
#ifndef CHATD_ECHO_MODEL_H
#define CHATD_ECHO_MODEL_H

#include "echo/echo.h"
#include "util/err.h"

struct echo_env {
    const struct echo_config *cfg;  /* borrowed */
    int         lfd;                /* the listener: non-blocking, cloexec */
    const char *addr;               /* its text, e.g. "127.0.0.1:40123";
                                     * borrowed */
};

/* Print "echod: listening on ADDR (model M)" to stderr: the line scripts
 * and tests wait for before they connect. */
void echo_ready(const struct echo_env *e);

/* Each model serves e until SIGINT or SIGTERM.  Returns 0 then, or -1 with
 * a reason in err if it could not start or its wait broke down. */
int fork_serve(const struct echo_env *e, char err[ERR_LEN]);
int thread_serve(const struct echo_env *e, char err[ERR_LEN]);
int prefork_serve(const struct echo_env *e, char err[ERR_LEN]);
int event_serve(const struct echo_env *e, char err[ERR_LEN]);

#endif
