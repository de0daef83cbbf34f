/* worker.c -- counters, signals, accept and the blocking echo loop. */
#include "echo/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net/sock.h"
#include "util/clock.h"
#include "util/io.h"
#include "util/log.h"

#define ECHO_BUF (64 * 1024)

/* A handler may only touch lock-free atomics (C11 7.14.1.1). */
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2, "counters must be lock-free");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "flags must be lock-free");

static atomic_ulong nconns;         /* connections served */
static atomic_ulong nbroken;        /* ended by reset or broken pipe */
static atomic_ulong nsigpipe;       /* SIGPIPEs caught */
static atomic_int   stopping;
static int spare = -1;              /* for shedding, see worker_accept */
static struct log_limit shed_limit, accept_limit;

static void
on_sigpipe(int signo)
{
    int saved = errno;

    (void)signo;
    /* Our own shutdown() while stopping is not a broken connection. */
    if (!atomic_load(&stopping))
        atomic_fetch_add(&nsigpipe, 1);
    errno = saved;
}

int
worker_init(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigpipe;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) == -1)
        return -1;
    if (spare == -1)
        spare = sock_spare_open();
    return spare == -1 ? -1 : 0;
}

void
worker_fini(void)
{
    if (spare != -1)
        close(spare);
    spare = -1;
}

void
worker_forget_stats(void)
{
    atomic_store(&nconns, 0);
    atomic_store(&nbroken, 0);
    atomic_store(&nsigpipe, 0);
}

void
worker_stop(void)
{
    atomic_store(&stopping, 1);
}

int
worker_is_stopping(void)
{
    return atomic_load(&stopping);
}

int
worker_accept(int lfd, char *peer, size_t peerlen)
{
    int fd = sock_accept_or_shed(lfd, &spare, peer, peerlen);

    if (fd != -1 || errno == EAGAIN || errno == EWOULDBLOCK)
        return fd;
    if (sock_is_shortage(errno)) {
        if (log_limit_allow(&shed_limit, clock_ms(), 1000))
            log_warnx("out of descriptors (%s): refusing new connections",
                      strerror(errno));
        if (spare == -1) {
            /* Nothing to shed with: do not spin on a readable listener. */
            struct timespec ts = { 0, 50 * 1000 * 1000 };

            nanosleep(&ts, NULL);
        }
        errno = EAGAIN;
        return -1;
    }
    /* ECONNABORTED...: that client is gone, the next may not be. */
    if (log_limit_allow(&accept_limit, clock_ms(), 1000))
        log_warn("accept");
    return -1;
}

void
worker_count_conn(void)
{
    atomic_fetch_add(&nconns, 1);
}

void
worker_log_end(const char *peer, const char *who, int error, uint64_t bytes)
{
    unsigned long nb;

    if (worker_is_stopping()) {
        log_event("Connection from %s closed (%s): server stopping, "
                  "%llu bytes echoed", peer, who, (unsigned long long)bytes);
        return;
    }
    if (error == 0) {
        log_event("Connection from %s closed (%s): %llu bytes echoed",
                  peer, who, (unsigned long long)bytes);
        return;
    }
    nb = atomic_fetch_add(&nbroken, 1) + 1;
    if (error == EPIPE)
        log_event("Connection from %s broken (%s): %s, SIGPIPE caught "
                  "(%lu so far), %llu bytes echoed, %lu broken so far",
                  peer, who, strerror(error), atomic_load(&nsigpipe),
                  (unsigned long long)bytes, nb);
    else
        log_event("Connection from %s broken (%s): %s, %llu bytes echoed, "
                  "%lu broken so far", peer, who, strerror(error),
                  (unsigned long long)bytes, nb);
}

void
worker_echo(const struct worker_conn *c)
{
    char buf[ECHO_BUF];
    uint64_t bytes = 0;
    int error = 0;

    atomic_fetch_add(&nconns, 1);
    log_event("New connection from %s (%s)", c->peer, c->who);
    if (sock_set_nonblock(c->fd, 0) == -1) {
        worker_log_end(c->peer, c->who, errno, 0);
        return;
    }
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof(buf));

        if (n == 0)
            break;
        if (n == -1) {
            if (errno == EINTR)
                continue;
            error = errno;
            break;
        }
        if (io_write_all(c->fd, buf, (size_t)n) == -1) {
            error = errno;
            break;
        }
        bytes += (uint64_t)n;
    }
    worker_log_end(c->peer, c->who, error, bytes);
}

void
worker_report(void)
{
    log_event("pid %ld exiting: %lu connections, %lu broken, %lu SIGPIPE",
              (long)getpid(), atomic_load(&nconns), atomic_load(&nbroken),
              atomic_load(&nsigpipe));
}

/* Reap what has ended in pids[0..n); returns how many are still running. */
static size_t
reap_some(pid_t *pids, size_t n)
{
    size_t i, left = 0;
    int st;

    for (i = 0; i < n; i++) {
        if (pids[i] <= 0)
            continue;
        if (waitpid(pids[i], &st, WNOHANG) != 0)
            pids[i] = 0;            /* reaped, or not ours any more */
        else
            left++;
    }
    return left;
}

void
worker_stop_children(pid_t *pids, size_t n, unsigned wait_ms)
{
    struct timespec tick = { 0, 10 * 1000 * 1000 };
    uint64_t deadline = clock_ms() + wait_ms;
    size_t i, left;

    for (i = 0; i < n; i++)
        if (pids[i] > 0)
            (void)kill(pids[i], SIGTERM);
    while ((left = reap_some(pids, n)) > 0 && clock_ms() < deadline)
        nanosleep(&tick, NULL);
    if (left == 0)
        return;
    log_warnx("%zu children still running after %u ms: killing them", left,
              wait_ms);
    for (i = 0; i < n; i++) {
        if (pids[i] <= 0)
            continue;
        (void)kill(pids[i], SIGKILL);
        while (waitpid(pids[i], NULL, 0) == -1 && errno == EINTR)
            ;
        pids[i] = 0;
    }
}

/* The client being served, for on_stop_serving(); -1 when none. */
static volatile sig_atomic_t serving_fd = -1;

static void
on_stop_serving(int signo)
{
    int saved = errno;

    (void)signo;
    worker_stop();
    if (serving_fd != -1)
        (void)shutdown(serving_fd, SHUT_RDWR);
    errno = saved;
}

/* Install fn for signo without SA_RESTART (so a blocked call returns
 * EINTR), every signal blocked while fn runs. */
static int
handle(int signo, void (*fn)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sigfillset(&sa.sa_mask);
    return sigaction(signo, &sa, NULL);
}

static void
on_stop(struct loop *l, int signo, void *arg)
{
    (void)signo;
    (void)arg;
    worker_stop();
    loop_stop(l);
}

int
worker_catch_stop(struct loop *l)
{
    if (loop_catch_signal(l, SIGTERM) == -1 ||
        loop_catch_signal(l, SIGINT) == -1)
        return -1;
    loop_on_signal(l, on_stop, NULL);
    return 0;
}

int
worker_serve_stoppable(const struct worker_conn *c, const sigset_t *waitmask)
{
    sigset_t old;

    serving_fd = c->fd;
    if (handle(SIGTERM, on_stop_serving) == -1 ||
        handle(SIGINT, on_stop_serving) == -1 ||
        sigprocmask(SIG_SETMASK, waitmask, &old) == -1) {
        serving_fd = -1;
        return -1;
    }
    worker_echo(c);
    (void)sigprocmask(SIG_SETMASK, &old, NULL);
    serving_fd = -1;            /* the handler cannot run now */
    return 0;
}
