/* worker.c -- counters, signals, accept and the blocking echo loop. */
#include "echo/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net/sock.h"
#include "util/clock.h"
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
        spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
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

int
worker_handle(int signo, void (*fn)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sigfillset(&sa.sa_mask);
    if (signo == SIGCHLD)
        sa.sa_flags = SA_NOCLDSTOP;     /* a stopped child is not gone */
    return sigaction(signo, &sa, NULL);
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
worker_wait_readable(int fd, const sigset_t *waitmask)
{
    fd_set rd;
    int n;

    if (fd < 0 || fd >= FD_SETSIZE) {
        errno = EBADF;
        return -1;
    }
    FD_ZERO(&rd);
    FD_SET(fd, &rd);
    n = pselect(fd + 1, &rd, NULL, NULL, NULL, waitmask);
    if (n == -1)
        return errno == EINTR ? 0 : -1;
    return n > 0;
}

/* Out of descriptors: take one pending connection with the spare fd and
 * close it, so the client learns at once and the listener quiets down. */
static void
shed(int lfd)
{
    int saved = errno, fd;

    if (log_limit_allow(&shed_limit, clock_ms(), 1000))
        log_warnx("out of descriptors (%s): refusing new connections",
                  strerror(saved));
    if (spare == -1) {
        /* Nothing to shed with: do not spin on a readable listener. */
        struct timespec ts = { 0, 50 * 1000 * 1000 };

        nanosleep(&ts, NULL);
    } else {
        close(spare);
        fd = sock_accept(lfd, NULL, 0);
        if (fd != -1)
            close(fd);
        spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    errno = EAGAIN;
}

int
worker_accept(int lfd, char *peer, size_t peerlen)
{
    int fd = sock_accept(lfd, peer, peerlen);

    if (fd != -1 || errno == EAGAIN || errno == EWOULDBLOCK)
        return fd;
    if (errno == EMFILE || errno == ENFILE) {
        shed(lfd);
        return -1;
    }
    /* ECONNABORTED, ENOBUFS...: that client is gone, the next may not be. */
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

/* Write all of buf, blocking; EINTR is retried and short writes resumed.
 * Returns 0, or -1 with errno (EPIPE comes with a SIGPIPE). */
static int
write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
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
        if (write_all(c->fd, buf, (size_t)n) == -1) {
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

volatile sig_atomic_t worker_got_stop;
volatile sig_atomic_t worker_serving_fd = -1;

void
worker_on_stop(int signo)
{
    (void)signo;
    worker_got_stop = 1;
}

void
worker_on_stop_serving(int signo)
{
    int saved = errno;

    (void)signo;
    worker_stop();
    if (worker_serving_fd != -1)
        (void)shutdown(worker_serving_fd, SHUT_RDWR);
    errno = saved;
}

int
worker_setup_parent(void (*on_chld)(int), sigset_t *waitmask,
                    char err[ERR_LEN])
{
    static const int sigs[] = {SIGCHLD, SIGTERM, SIGINT};
    sigset_t block;
    size_t i;

    sigemptyset(&block);
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&block, sigs[i]);
    if (sigprocmask(SIG_BLOCK, &block, waitmask) == -1 ||
        worker_init() == -1 || worker_handle(SIGCHLD, on_chld) == -1 ||
        worker_handle(SIGTERM, worker_on_stop) == -1 ||
        worker_handle(SIGINT, worker_on_stop) == -1) {
        errf(err, "cannot set up signals: %s", strerror(errno));
        return -1;
    }
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigdelset(waitmask, sigs[i]);
    return 0;
}
