/* prefork.c -- a pool of N processes started up front, all accepting.
 *
 * The parent opens nothing per connection: it forks N workers before the
 * first client, then only sleeps, replaces a worker that dies, and on
 * SIGINT or SIGTERM stops them all (SIGTERM each, wait, exit 0).  Each
 * worker waits in pselect() on the shared listener and accepts without
 * blocking: when several wake for one connection, one gets it and the
 * others go back to sleep.
 *
 * As in fork.c, the parent's signals are blocked except in its one wait,
 * so the reaper can edit the worker table.  A worker unblocks SIGINT and
 * SIGTERM while it serves; the handler then shuts its client socket down,
 * which ends the blocking echo at once. */
#include "echo/model.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "echo/worker.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define STOP_WAIT_MS   5000
#define RESPAWN_MIN_MS 1000     /* a worker that died younger waits this */

struct slot {
    pid_t    pid;               /* 0: none running */
    int      status;            /* its wait status, once dead */
    int      dead;              /* reaped, not yet replaced */
    uint64_t started_ms;
    uint64_t respawn_ms;        /* when to replace it (0: not decided) */
};

static struct slot *slots;
static size_t nslots;
static pid_t *pids;             /* scratch for worker_stop_children */
/* In a worker: the client being served, for the SIGTERM handler. */

static void
on_sigchld(int signo)
{
    int saved = errno, st;
    pid_t pid;
    size_t i;

    (void)signo;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (i = 0; i < nslots; i++) {
            if (slots[i].pid == pid) {
                slots[i].pid = 0;
                slots[i].status = st;
                slots[i].dead = 1;
                break;
            }
        }
    }
    errno = saved;
}

/* A worker's life: accept and serve one client at a time until stopped.
 * block holds SIGINT and SIGTERM; waitmask is the mask to wait and serve
 * with (them unblocked). */
static void
run_worker(const struct echo_env *e, const sigset_t *block,
           const sigset_t *waitmask)
{
    struct worker_conn c;
    struct sigaction dfl;
    int status = 0;

    free(slots);                /* the parent's */
    free(pids);
    slots = NULL;
    pids = NULL;
    nslots = 0;
    worker_forget_stats();
    snprintf(c.who, sizeof(c.who), "pid %ld", (long)getpid());
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    (void)sigaction(SIGCHLD, &dfl, NULL);
    if (worker_handle(SIGTERM, worker_on_stop_serving) == -1 ||
        worker_handle(SIGINT, worker_on_stop_serving) == -1) {
        log_warn("pid %ld: cannot set up signals", (long)getpid());
        exit(1);
    }
    while (!worker_is_stopping()) {
        int r = worker_wait_readable(e->lfd, waitmask);

        if (r == -1) {
            log_warn("pid %ld: cannot wait for connections", (long)getpid());
            status = 1;
            break;
        }
        if (r == 0)
            continue;
        c.fd = worker_accept(e->lfd, c.peer, sizeof(c.peer));
        if (c.fd == -1)
            continue;           /* another worker took it */
        worker_serving_fd = c.fd;
        (void)sigprocmask(SIG_SETMASK, waitmask, NULL);
        worker_echo(&c);
        (void)sigprocmask(SIG_BLOCK, block, NULL);
        worker_serving_fd = -1;
        close(c.fd);
    }
    close(e->lfd);
    worker_report();
    worker_fini();
    exit(status);
}

/* Start the worker for slot i.  Returns 0, or -1 with errno. */
static int
spawn(const struct echo_env *e, size_t i, const sigset_t *block,
      const sigset_t *waitmask)
{
    pid_t pid = fork();

    if (pid == -1)
        return -1;
    if (pid == 0)
        run_worker(e, block, waitmask);     /* does not return */
    slots[i].pid = pid;
    slots[i].dead = 0;
    slots[i].respawn_ms = 0;
    slots[i].started_ms = clock_ms();
    return 0;
}

static void
describe(char *buf, size_t len, int st)
{
    if (WIFSIGNALED(st))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(st));
    else
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
}

/* Replace the dead workers whose time has come.  Returns the delay in ms
 * until the next one is due, or -1 if none is waiting. */
static long
replace_dead(const struct echo_env *e, const sigset_t *block,
             const sigset_t *waitmask)
{
    uint64_t now = clock_ms();
    long next = -1;
    char how[64];
    size_t i;

    for (i = 0; i < nslots; i++) {
        struct slot *s = &slots[i];

        if (!s->dead)
            continue;
        if (s->respawn_ms == 0) {
            /* Dying young again and again would be a fork storm. */
            int young = now - s->started_ms < RESPAWN_MIN_MS;

            describe(how, sizeof(how), s->status);
            s->respawn_ms = young ? now + RESPAWN_MIN_MS : now;
            log_warnx("worker %zu %s%s: replacing it", i + 1, how,
                      young ? " soon after it started" : "");
        }
        if (s->respawn_ms <= now) {
            if (spawn(e, i, block, waitmask) == 0)
                continue;
            log_warn("cannot fork a new worker %zu", i + 1);
            s->respawn_ms = now + RESPAWN_MIN_MS;
        }
        if (next == -1 || (long)(s->respawn_ms - now) < next)
            next = (long)(s->respawn_ms - now);
    }
    return next;
}

static size_t
default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1)
        n = 1;
    if (2 * n > ECHO_WORKERS_MAX)
        n = ECHO_WORKERS_MAX / 2;
    return (size_t)(2 * n);
}

/* Sleep until a worker dies, a replacement is due, or a stop; replace
 * the dead on the way.  Returns when asked to stop. */
static void
supervise(const struct echo_env *e, const sigset_t *block,
          const sigset_t *waitmask)
{
    long next = -1;

    while (!worker_got_stop) {
        struct timespec ts, *tp = NULL;

        if (next >= 0) {
            ts.tv_sec = next / 1000;
            ts.tv_nsec = (next % 1000) * 1000000L;
            tp = &ts;
        }
        (void)pselect(0, NULL, NULL, NULL, tp, waitmask);
        if (!worker_got_stop)
            next = replace_dead(e, block, waitmask);
    }
}

/* Stop every running worker, log, and free the tables. */
static void
stop_all(void)
{
    unsigned long running = 0;
    size_t i;

    for (i = 0; i < nslots; i++) {
        pids[i] = slots[i].pid;
        running += slots[i].pid > 0;
    }
    worker_stop();
    worker_stop_children(pids, nslots, STOP_WAIT_MS);
    log_event("pid %ld exiting: %lu workers stopped", (long)getpid(),
              running);
    free(slots);
    free(pids);
    slots = NULL;
    pids = NULL;
    nslots = 0;
}

int
prefork_serve(const struct echo_env *e, char err[ERR_LEN])
{
    sigset_t block, waitmask;
    int rc = 0;
    size_t i;

    sigemptyset(&block);                /* a worker's: stop requests */
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    if (worker_setup_parent(on_sigchld, &waitmask, err) == -1)
        return -1;
    nslots = e->cfg->workers > 0 ? (size_t)e->cfg->workers
                                 : default_workers();
    slots = xcalloc(nslots, sizeof(*slots));
    pids = xcalloc(nslots, sizeof(*pids));
    for (i = 0; i < nslots && rc == 0; i++) {
        if (spawn(e, i, &block, &waitmask) == -1) {
            errf(err, "cannot fork worker %zu of %zu: %s", i + 1, nslots,
                 strerror(errno));
            rc = -1;
        }
    }
    if (rc == 0) {
        log_event("pid %ld: %zu workers started", (long)getpid(), nslots);
        echo_ready(e);
        supervise(e, &block, &waitmask);
    }
    stop_all();
    worker_fini();
    return rc;
}
