/* echo.c -- echod's entry: open the listener, hand it to one model. */
#include "echo/echo.h"

#include <sys/socket.h>
#include <unistd.h>

#include "echo/model.h"
#include "net/addr.h"
#include "net/sock.h"
#include "util/log.h"

const char *const echo_model_names[] = {
    "fork", "thread", "prefork", "event", NULL,
};

void
echo_ready(const struct echo_env *e)
{
    log_warnx("listening on %s (model %s)", e->addr,
              echo_model_names[e->cfg->model]);
}

int
echo_run(const struct echo_config *cfg, char err[ERR_LEN])
{
    struct echo_env e;
    struct addr a;
    int rc = -1;

    if (addr_get(cfg->listen, ADDR_LISTEN, &a, err) == -1)
        return -1;
    /* The thread and event models hold a descriptor per client. */
    (void)sock_raise_fd_limit();
    e.lfd = sock_listen(&a, SOCK_BACKLOG, err);
    if (e.lfd == -1)
        return -1;
    e.cfg = cfg;
    e.addr = a.text;
    switch (cfg->model) {
    case ECHO_FORK:
        rc = fork_serve(&e, err);
        break;
    case ECHO_THREAD:
        rc = thread_serve(&e, err);
        break;
    case ECHO_PREFORK:
        rc = prefork_serve(&e, err);
        break;
    case ECHO_EVENT:
        rc = event_serve(&e, err);
        break;
    }
    close(e.lfd);
    if (a.family == AF_UNIX)
        (void)unlink(a.u.un.sun_path);  /* only the first process returns */
    return rc;
}
