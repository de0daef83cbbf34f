/* fork.c -- the classic model: one child process per connection.
 *
 * The parent only accepts and forks.  The child closes its copy of the
 * listener, echoes, reports and exits; the parent closes its copy of the
 * client socket at once.  On SIGCHLD it reaps every finished child
 * (waitpid(-1, WNOHANG) in a loop), so none stays a zombie.
 *
 * The parent is an event loop (src/loop/) with one descriptor, the
 * listener, and three signals: SIGCHLD, SIGINT and SIGTERM reach it only
 * inside the loop's wait and are dispatched like events, so the reaper is
 * ordinary code that may log and edit the children table without locks,
 * and a stop request cannot slip in between "check the flag" and "sleep". */
#include "echo/model.h"

#include <errno.h>
#include <signal.h>
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

#define STOP_WAIT_MS 5000

/* Live children: the parent appends, the reaper removes; kill() on an
 * entry is safe since a pid is not reused before it is reaped, and reaping
 * removes it. */
static pid_t *kids;
static size_t nkids, kids_cap;

struct forksrv {
    const struct echo_env *e;       /* borrowed */
    struct loop            loop;
    unsigned long          naccepted;
    unsigned long          nabnormal;   /* children killed by a signal */
};

static void
forget(pid_t pid)
{
    size_t i;

    for (i = 0; i < nkids; i++) {
        if (kids[i] == pid) {
            kids[i] = kids[--nkids];
            return;
        }
    }
}

static void
reap(struct forksrv *s)
{
    pid_t pid;
    int st;

    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        forget(pid);
        if (WIFSIGNALED(st))
            log_warnx("child pid %ld killed by signal %d (%lu such children "
                      "so far)", (long)pid, WTERMSIG(st), ++s->nabnormal);
    }
}

/* The child's whole life: serve fd, report, exit.  It drops the parent's
 * loop and table, and serves with the mask the loop waits with, which lets
 * in SIGINT and SIGTERM (see worker_serve_stoppable). */
static void
child(struct forksrv *s, int fd, const char *peer)
{
    struct worker_conn c;
    sigset_t waitmask = s->loop.waitmask;
    struct sigaction dfl;

    close(s->e->lfd);
    loop_fini(&s->loop);
    free(kids);
    kids = NULL;
    nkids = kids_cap = 0;
    worker_forget_stats();
    c.fd = fd;
    snprintf(c.peer, sizeof(c.peer), "%s", peer);
    snprintf(c.who, sizeof(c.who), "pid %ld", (long)getpid());
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    (void)sigaction(SIGCHLD, &dfl, NULL);
    if (worker_serve_stoppable(&c, &waitmask) == -1) {
        log_warn("pid %ld: cannot set up signals", (long)getpid());
        exit(1);
    }
    close(fd);
    worker_report();
    worker_fini();
    exit(0);
}

static void
spawn(struct forksrv *s, int fd, const char *peer)
{
    static struct log_limit fork_limit;
    pid_t pid;

    kids = xgrow(kids, &kids_cap, nkids + 1, sizeof(*kids));
    pid = fork();
    if (pid == -1) {
        if (log_limit_allow(&fork_limit, clock_ms(), 1000))
            log_warn("cannot fork to serve %s: closing it", peer);
        close(fd);
        return;
    }
    if (pid == 0)
        child(s, fd, peer);     /* does not return */
    kids[nkids++] = pid;
    close(fd);                  /* the child's now */
}

static void
on_accept(struct loop *l, int lfd, int mask, void *arg)
{
    struct forksrv *s = arg;
    char peer[ADDR_TEXT_LEN];
    int fd;

    (void)l;
    (void)mask;
    fd = worker_accept(lfd, peer, sizeof(peer));
    if (fd == -1)
        return;
    s->naccepted++;
    spawn(s, fd, peer);
}

static void
on_signal(struct loop *l, int signo, void *arg)
{
    if (signo == SIGCHLD)
        reap(arg);
    else
        loop_stop(l);           /* SIGINT, SIGTERM */
}

int
fork_serve(const struct echo_env *e, char err[ERR_LEN])
{
    struct forksrv s;
    int rc = 0;

    memset(&s, 0, sizeof(s));
    s.e = e;
    if (loop_init(&s.loop, NULL, err) == -1)
        return -1;
    if (worker_init() == -1 || loop_catch_signal(&s.loop, SIGCHLD) == -1 ||
        loop_catch_signal(&s.loop, SIGTERM) == -1 ||
        loop_catch_signal(&s.loop, SIGINT) == -1 ||
        loop_add(&s.loop, e->lfd, LOOP_READ, on_accept, &s) == -1) {
        errf(err, "cannot set up the loop: %s", strerror(errno));
        rc = -1;
        goto out;
    }
    loop_on_signal(&s.loop, on_signal, &s);
    echo_ready(e);
    if (loop_run(&s.loop) == -1) {
        errf(err, "cannot wait for connections: %s", strerror(errno));
        rc = -1;
    }
    worker_stop();
    worker_stop_children(kids, nkids, STOP_WAIT_MS);
    nkids = 0;
    log_event("pid %ld exiting: %lu connections accepted, each served by "
              "a child", (long)getpid(), s.naccepted);
out:
    loop_fini(&s.loop);
    worker_fini();
    free(kids);
    kids = NULL;
    kids_cap = 0;
    return rc;
}
