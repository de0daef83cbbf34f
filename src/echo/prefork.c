/* prefork.c -- a pool of N processes started up front, all accepting.
 *
 * The parent opens nothing per connection: it forks N workers before the
 * first client, then only sleeps, replaces a worker that dies, and on
 * SIGINT or SIGTERM stops them all (SIGTERM each, wait, exit 0).  Each
 * worker waits on the shared listener and accepts without blocking: when
 * several wake for one connection, one gets it and the others go back to
 * sleep.
 *
 * Parent and workers are event loops (src/loop/): the parent's has no
 * descriptor, only SIGCHLD, SIGINT, SIGTERM and a timer for the next
 * replacement; a worker's has the listener and SIGINT and SIGTERM.  The
 * loop lets signals in only while it waits, so the reaper is ordinary code
 * that may edit the worker table.  While a worker serves a client, a stop
 * request shuts that client's socket down (worker_serve_stoppable), which
 * ends the blocking echo at once. */
#include "echo/model.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "echo/worker.h"
#include "loop/loop.h"
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

struct pool {
    const struct echo_env *e;       /* borrowed */
    struct loop            loop;
    struct loop_timer      respawn; /* the next replacement that is due */
};

/* Take every worker that has ended out of the table. */
static void
reap(void)
{
    pid_t pid;
    size_t i;
    int st;

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
}

/* Accept one client and serve it to the end; a stop request while serving
 * ends both the client and the worker. */
static void
on_worker_accept(struct loop *l, int lfd, int mask, void *arg)
{
    struct worker_conn *c = arg;
    int rc;

    (void)mask;
    c->fd = worker_accept(lfd, c->peer, sizeof(c->peer));
    if (c->fd == -1)
        return;                 /* another worker took it */
    rc = worker_serve_stoppable(c, &l->waitmask);
    close(c->fd);
    /* Serving replaced the loop's handlers: take the signals back. */
    if (rc == -1 || worker_catch_stop(l) == -1) {
        log_warn("pid %ld: cannot set up signals", (long)getpid());
        exit(1);
    }
    if (worker_is_stopping())
        loop_stop(l);
}

/* A worker's life: accept and serve one client at a time until stopped.
 * It drops what it inherited from the parent (table, loop) first. */
static void
run_worker(struct pool *p)
{
    struct worker_conn c;
    struct sigaction dfl;
    char err[ERR_LEN];
    struct loop l;
    int status = 0;

    loop_fini(&p->loop);
    free(slots);
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
    if (loop_init(&l, NULL, err) == -1) {
        log_warnx("pid %ld: %s", (long)getpid(), err);
        exit(1);
    }
    if (worker_catch_stop(&l) == -1 ||
        loop_add(&l, p->e->lfd, LOOP_READ, on_worker_accept, &c) == -1) {
        log_warn("pid %ld: cannot set up the loop", (long)getpid());
        exit(1);
    }
    if (loop_run(&l) == -1) {
        log_warn("pid %ld: cannot wait for connections", (long)getpid());
        status = 1;
    }
    loop_fini(&l);
    close(p->e->lfd);
    worker_report();
    worker_fini();
    exit(status);
}

/* Start the worker for slot i.  Returns 0, or -1 with errno. */
static int
spawn(struct pool *p, size_t i)
{
    pid_t pid = fork();

    if (pid == -1)
        return -1;
    if (pid == 0)
        run_worker(p);          /* does not return */
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
replace_dead(struct pool *p)
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
            if (spawn(p, i) == 0)
                continue;
            log_warn("cannot fork a new worker %zu", i + 1);
            s->respawn_ms = now + RESPAWN_MIN_MS;
        }
        if (next == -1 || (long)(s->respawn_ms - now) < next)
            next = (long)(s->respawn_ms - now);
    }
    return next;
}

/* Replace the dead that are due, and wake up again for the next one. */
static void
supervise(struct loop *l, void *arg)
{
    struct pool *p = arg;
    long next = replace_dead(p);

    if (next >= 0)
        loop_timer_start(l, &p->respawn, (uint64_t)next, 0, supervise, p);
}

static void
on_signal(struct loop *l, int signo, void *arg)
{
    if (signo != SIGCHLD) {
        loop_stop(l);           /* SIGINT, SIGTERM */
        return;
    }
    reap();
    supervise(l, arg);
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
    struct pool p;
    int rc = 0;
    size_t i;

    memset(&p, 0, sizeof(p));
    p.e = e;
    loop_timer_init(&p.respawn);
    if (loop_init(&p.loop, NULL, err) == -1)
        return -1;
    if (worker_init() == -1 || loop_catch_signal(&p.loop, SIGCHLD) == -1 ||
        loop_catch_signal(&p.loop, SIGTERM) == -1 ||
        loop_catch_signal(&p.loop, SIGINT) == -1) {
        errf(err, "cannot set up signals: %s", strerror(errno));
        loop_fini(&p.loop);
        worker_fini();
        return -1;
    }
    loop_on_signal(&p.loop, on_signal, &p);
    nslots = e->cfg->workers > 0 ? (size_t)e->cfg->workers
                                 : default_workers();
    slots = xcalloc(nslots, sizeof(*slots));
    pids = xcalloc(nslots, sizeof(*pids));
    for (i = 0; i < nslots && rc == 0; i++) {
        if (spawn(&p, i) == -1) {
            errf(err, "cannot fork worker %zu of %zu: %s", i + 1, nslots,
                 strerror(errno));
            rc = -1;
        }
    }
    if (rc == 0) {
        log_event("pid %ld: %zu workers started", (long)getpid(), nslots);
        echo_ready(e);
        if (loop_run(&p.loop) == -1) {
            errf(err, "cannot wait for workers: %s", strerror(errno));
            rc = -1;
        }
    }
    stop_all();
    loop_fini(&p.loop);
    worker_fini();
    return rc;
}
