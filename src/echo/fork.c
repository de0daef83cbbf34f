/* fork.c -- the classic model: one child process per connection.
 *
 * The parent only accepts and forks.  The child closes its copy of the
 * listener, echoes, reports and exits; the parent closes its copy of the
 * client socket at once.  A SIGCHLD handler reaps every finished child
 * (waitpid(-1, WNOHANG) in a loop), so none stays a zombie.
 *
 * The one idea: SIGCHLD, SIGINT and SIGTERM are blocked except while the
 * parent sleeps in pselect(), so the handlers run only there.  That makes
 * the children table safe to share with the reaper without locks, and a
 * stop request cannot slip in between "check the flag" and "sleep". */
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
#include "util/clock.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define STOP_WAIT_MS 5000

/* Live children.  The parent appends (with SIGCHLD blocked), the reaper
 * removes; kill() on an entry is safe since a pid is not reused before it
 * is reaped, and reaping removes it. */
static pid_t *kids;
static size_t nkids, kids_cap;
static volatile sig_atomic_t nabnormal;     /* children killed by a signal */
static volatile sig_atomic_t last_bad_pid, last_bad_sig;
/* In a child: the client socket, for the SIGTERM handler. */

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
on_sigchld(int signo)
{
    int saved = errno, st;
    pid_t pid;

    (void)signo;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        forget(pid);
        if (WIFSIGNALED(st)) {
            nabnormal++;
            last_bad_pid = (sig_atomic_t)pid;
            last_bad_sig = WTERMSIG(st);
        }
    }
    errno = saved;
}

/* The reaper cannot log (not async-signal-safe): say it here. */
static void
report_abnormal(void)
{
    static sig_atomic_t seen;

    if (nabnormal == seen)
        return;
    log_warnx("child pid %ld killed by signal %d (%d such children so far)",
              (long)last_bad_pid, (int)last_bad_sig, (int)nabnormal);
    seen = nabnormal;
}

/* The child's whole life: serve fd, report, exit.  waitmask is the signal
 * mask to serve with (SIGINT and SIGTERM unblocked). */
static void
child(const struct echo_env *e, int fd, const char *peer,
      const sigset_t *waitmask)
{
    struct worker_conn c;
    struct sigaction dfl;

    close(e->lfd);
    free(kids);                 /* the parent's table, not ours */
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
    worker_serving_fd = fd;
    if (worker_handle(SIGTERM, worker_on_stop_serving) == -1 ||
        worker_handle(SIGINT, worker_on_stop_serving) == -1 ||
        sigprocmask(SIG_SETMASK, waitmask, NULL) == -1) {
        log_warn("pid %ld: cannot set up signals", (long)getpid());
        exit(1);
    }
    worker_echo(&c);
    worker_serving_fd = -1;     /* before close: the handler may run */
    close(fd);
    worker_report();
    worker_fini();
    exit(0);
}

static void
spawn(const struct echo_env *e, int fd, const char *peer,
      const sigset_t *waitmask)
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
        child(e, fd, peer, waitmask);   /* does not return */
    kids[nkids++] = pid;
    close(fd);                          /* the child's now */
}

int
fork_serve(const struct echo_env *e, char err[ERR_LEN])
{
    char peer[ADDR_TEXT_LEN];
    sigset_t waitmask;
    unsigned long naccepted = 0;
    int rc = 0;

    if (worker_setup_parent(on_sigchld, &waitmask, err) == -1)
        return -1;
    echo_ready(e);
    while (!worker_got_stop) {
        int fd, r = worker_wait_readable(e->lfd, &waitmask);

        report_abnormal();
        if (r == -1) {
            errf(err, "cannot wait for connections: %s", strerror(errno));
            rc = -1;
            break;
        }
        if (r == 0)
            continue;           /* a signal: a reaped child, or stop */
        fd = worker_accept(e->lfd, peer, sizeof(peer));
        if (fd == -1)
            continue;
        naccepted++;
        spawn(e, fd, peer, &waitmask);
    }
    worker_stop();
    worker_stop_children(kids, nkids, STOP_WAIT_MS);
    nkids = 0;
    log_event("pid %ld exiting: %lu connections accepted, each served by "
              "a child", (long)getpid(), naccepted);
    worker_fini();
    free(kids);
    kids = NULL;
    kids_cap = 0;
    return rc;
}
