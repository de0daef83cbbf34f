/* sock.c -- socket calls, one wrapper per syscall variant. */
#include "net/sock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "util/compat.h"

int
sock_set_nonblock(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl == -1)
        return -1;
    fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, fl);
}

void
sock_set_nodelay(int fd)
{
    int one = 1;

    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

#define SLACK (64 * 1024)       /* sock_make_room: what a full buffer may be
                                 * over its size already */

int
sock_make_room(int fd, size_t n)
{
    int cur, want;
    socklen_t len = sizeof(cur);

    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &len) == -1)
        return -1;
    if (n > INT_MAX / 8 || cur > INT_MAX / 2 - (int)n * 2 - SLACK) {
        errno = ENOBUFS;
        return -1;
    }
    /* Linux reports twice what was set (room for its bookkeeping, which
     * for small writes is about as much again as the data) and doubles
     * what is set; and a full buffer may already be over its size by up
     * to a segment (64K on loopback).  So cur/2 + 2n + SLACK gives n
     * bytes with their overhead past that.  Other systems take the value
     * as it is: more room still. */
    want = cur / 2 + (int)n * 2 + SLACK;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want)) == -1)
        return -1;
    len = sizeof(want);
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, &len) == -1)
        return -1;
    if (want > cur)
        return 0;
    /* The system capped it below what it was: put back the old size. */
    cur /= 2;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, sizeof(cur));
    errno = ENOBUFS;
    return -1;
}

int
sock_set_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);

    if (fl == -1)
        return -1;
    return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* A socket of the given family, non-blocking and close-on-exec. */
static int
sock_open(int family, int nonblock)
{
    int fd;

#ifdef SOCK_NONBLOCK
    fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC |
                (nonblock ? SOCK_NONBLOCK : 0), 0);
#else
    fd = socket(family, SOCK_STREAM, 0);
    if (fd != -1 && (sock_set_cloexec(fd) == -1 ||
                     (nonblock && sock_set_nonblock(fd, 1) == -1))) {
        close(fd);
        fd = -1;
    }
#endif
    return fd;
}

/* A Unix socket file at path: replace it if nobody answers there, refuse
 * if a live server does.  Returns 0 or -1 with err. */
static int
clear_stale_unix(const struct addr *a, char err[ERR_LEN])
{
    struct stat st;
    int fd, rc;

    if (lstat(a->u.un.sun_path, &st) == -1)
        return 0;                       /* nothing there */
    if (!S_ISSOCK(st.st_mode)) {
        errf(err, "cannot listen on %s: a file that is not a socket is in "
             "the way", a->text);
        return -1;
    }
    fd = sock_open(AF_UNIX, 0);
    if (fd == -1) {
        errf(err, "cannot listen on %s: %s", a->text, strerror(errno));
        return -1;
    }
    rc = connect(fd, &a->u.sa, a->len);
    close(fd);
    if (rc == 0) {
        errf(err, "cannot listen on %s: another server is listening there",
             a->text);
        return -1;
    }
    if (unlink(a->u.un.sun_path) == -1 && errno != ENOENT) {
        errf(err, "cannot remove stale socket %s: %s", a->text,
             strerror(errno));
        return -1;
    }
    return 0;
}

int
sock_listen(struct addr *a, int backlog, char err[ERR_LEN])
{
    int fd, one = 1;

    if (a->family == AF_UNIX && clear_stale_unix(a, err) == -1)
        return -1;
    fd = sock_open(a->family, 1);
    if (fd == -1) {
        errf(err, "cannot listen on %s: %s", a->text, strerror(errno));
        return -1;
    }
    if (a->family != AF_UNIX &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
        goto fail;
    if (a->family == AF_INET6)          /* [::]:P means v6 only here */
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, &a->u.sa, a->len) == -1 || listen(fd, backlog) == -1)
        goto fail;
    if (a->family != AF_UNIX && a->port == 0) {
        socklen_t len = sizeof(a->u.ss);

        if (getsockname(fd, &a->u.sa, &len) == 0) {
            a->len = len;
            addr_format(&a->u.sa, len, a->text, sizeof(a->text));
        }
    }
    return fd;
fail:
    errf(err, "cannot listen on %s: %s", a->text, strerror(errno));
    close(fd);
    return -1;
}

int
sock_take_listener(int fd, struct addr *a, char err[ERR_LEN])
{
    socklen_t len = sizeof(int);
    struct stat st;
    int type = 0, listening = 0;

    if (fstat(fd, &st) == -1) {
        errf(err, "descriptor %d: %s", fd, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        errf(err, "descriptor %d is not a socket", fd);
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
        type != SOCK_STREAM) {
        errf(err, "descriptor %d is not a stream socket (%s)", fd,
             type == SOCK_DGRAM       ? "a datagram socket"
             : type == SOCK_SEQPACKET ? "a seqpacket socket"
                                      : "another type");
        return -1;
    }
    len = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == -1 ||
        !listening) {
        errf(err, "descriptor %d is a stream socket that is not listening "
             "(a connection: Accept=yes is not for chatd)", fd);
        return -1;
    }
    memset(a, 0, sizeof(*a));
    len = sizeof(a->u.ss);
    if (getsockname(fd, &a->u.sa, &len) == -1) {
        errf(err, "descriptor %d: getsockname: %s", fd, strerror(errno));
        return -1;
    }
    a->family = a->u.sa.sa_family;
    if (a->family != AF_INET && a->family != AF_INET6 &&
        a->family != AF_UNIX) {
        errf(err, "descriptor %d is not a TCP or Unix socket", fd);
        return -1;
    }
    a->len = len;
    a->resolved = 1;
    a->port = a->family == AF_INET    ? ntohs(a->u.in.sin_port)
              : a->family == AF_INET6 ? ntohs(a->u.in6.sin6_port)
                                      : -1;
    addr_format(&a->u.sa, len, a->text, sizeof(a->text));
    if (sock_set_nonblock(fd, 1) == -1 || sock_set_cloexec(fd) == -1) {
        errf(err, "descriptor %d: fcntl: %s", fd, strerror(errno));
        return -1;
    }
    return 0;
}

int
sock_accept(int lfd, char *peer, size_t peerlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd;

    do {
        len = sizeof(ss);
#ifdef SOCK_NONBLOCK
        fd = accept4(lfd, (struct sockaddr *)&ss, &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
        fd = accept(lfd, (struct sockaddr *)&ss, &len);
        if (fd != -1 && (sock_set_nonblock(fd, 1) == -1 ||
                         sock_set_cloexec(fd) == -1)) {
            int saved = errno;

            close(fd);
            errno = saved;
            fd = -1;
        }
#endif
    } while (fd == -1 && errno == EINTR);
    if (fd != -1 && peer != NULL)
        addr_format((struct sockaddr *)&ss, len, peer, peerlen);
    return fd;
}

int
sock_spare_open(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), hi;

    if (fd == -1)
        return -1;
    hi = fcntl(fd, F_DUPFD_CLOEXEC, FD_SETSIZE);
    if (hi == -1)
        return fd;              /* the limit is lower: any number will do */
    close(fd);
    return hi;
}

int
sock_is_shortage(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

int
sock_accept_or_shed(int lfd, int *spare, char *peer, size_t peerlen)
{
    int fd = sock_accept(lfd, peer, peerlen), shortage;

    if (fd != -1 || !sock_is_shortage(errno))
        return fd;
    shortage = errno;
    if (*spare != -1) {
        close(*spare);
        fd = sock_accept(lfd, NULL, 0);
        if (fd != -1)
            close(fd);
        *spare = sock_spare_open();
    }
    errno = shortage;
    return -1;
}

int
sock_connect(const struct addr *a, char err[ERR_LEN])
{
    int fd = sock_open(a->family, 0);

    if (fd == -1) {
        errf(err, "cannot connect to %s: %s", a->text, strerror(errno));
        return -1;
    }
    while (connect(fd, &a->u.sa, a->len) == -1) {
        if (errno == EINTR)
            continue;
        errf(err, "cannot connect to %s: %s", a->text, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

ssize_t
sock_send(int fd, const void *buf, size_t len)
{
    ssize_t n;

    do
        n = send(fd, buf, len, MSG_NOSIGNAL);
    while (n == -1 && errno == EINTR);
    return n;
}

ssize_t
sock_recv(int fd, void *buf, size_t len)
{
    ssize_t n;

    do
        n = recv(fd, buf, len, 0);
    while (n == -1 && errno == EINTR);
    return n;
}

long
sock_raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;

        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
            rl.rlim_cur = old;
    }
    return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}

void
sock_ignore_sigpipe(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
}
