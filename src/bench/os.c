/* os.c -- chatbench's kernel-specific parts: see os.h.  The poller is
 * epoll on Linux and poll(2) elsewhere; both report the pointer given at
 * poller_add(), so the engine never indexes by descriptor. */
#include "bench/os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "util/xmalloc.h"

#ifdef __linux__
#include <sys/epoll.h>

struct poller {
    int epfd;
};

struct poller *
poller_new(int hint, char err[ERR_LEN])
{
    struct poller *p;
    int fd = epoll_create1(EPOLL_CLOEXEC);

    (void)hint;
    if (fd == -1) {
        errf(err, "epoll_create1: %s", strerror(errno));
        return NULL;
    }
    p = xmalloc(sizeof(*p));
    p->epfd = fd;
    return p;
}

void
poller_free(struct poller *p)
{
    if (p == NULL)
        return;
    close(p->epfd);
    free(p);
}

static uint32_t
to_epoll(int mask)
{
    return EPOLLRDHUP | ((mask & POLLER_IN) ? EPOLLIN : 0) |
           ((mask & POLLER_OUT) ? EPOLLOUT : 0);
}

static int
ctl(struct poller *p, int op, int fd, int mask, void *ptr)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = to_epoll(mask);
    ev.data.ptr = ptr;
    return epoll_ctl(p->epfd, op, fd, &ev);
}

int
poller_add(struct poller *p, int fd, int mask, void *ptr)
{
    return ctl(p, EPOLL_CTL_ADD, fd, mask, ptr);
}

int
poller_mod(struct poller *p, int fd, int mask, void *ptr)
{
    return ctl(p, EPOLL_CTL_MOD, fd, mask, ptr);
}

int
poller_del(struct poller *p, int fd)
{
    return ctl(p, EPOLL_CTL_DEL, fd, 0, NULL);
}

#define EPOLL_BATCH 1024

int
poller_wait(struct poller *p, struct poller_event *ev, int max,
            int timeout_ms)
{
    struct epoll_event got[EPOLL_BATCH];
    int n, i;

    if (max > EPOLL_BATCH)
        max = EPOLL_BATCH;
    n = epoll_wait(p->epfd, got, max, timeout_ms);
    if (n == -1)
        return errno == EINTR ? 0 : -1;
    for (i = 0; i < n; i++) {
        uint32_t e = got[i].events;

        ev[i].ptr = got[i].data.ptr;
        ev[i].mask = ((e & EPOLLIN) ? POLLER_IN : 0) |
                     ((e & EPOLLOUT) ? POLLER_OUT : 0) |
                     ((e & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) ? POLLER_HUP : 0);
    }
    return n;
}

int
os_bind_loopback(int fd, unsigned host)
{
    struct sockaddr_in sin;
    int one = 1;

#ifdef IP_BIND_ADDRESS_NO_PORT
    (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                     sizeof(one));
#else
    (void)one;
#endif
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x7f000000u | (host & 0xffffffu));
    sin.sin_port = 0;
    return bind(fd, (struct sockaddr *)&sin, sizeof(sin));
}

#else /* !__linux__: poll(2) over a dense array */
#include <poll.h>

struct poller {
    struct pollfd *pfd;         /* pfd[0..n) */
    void         **ptr;         /* ptr[i] goes with pfd[i] */
    int           *slot;        /* fd -> index in pfd, or -1 */
    size_t         n, cap, nslot;
    size_t         next;        /* where the last scan stopped */
};

struct poller *
poller_new(int hint, char err[ERR_LEN])
{
    struct poller *p = xcalloc(1, sizeof(*p));

    (void)err;
    (void)hint;
    return p;
}

void
poller_free(struct poller *p)
{
    if (p == NULL)
        return;
    free(p->pfd);
    free(p->ptr);
    free(p->slot);
    free(p);
}

static short
to_poll(int mask)
{
    return (short)(((mask & POLLER_IN) ? POLLIN : 0) |
                   ((mask & POLLER_OUT) ? POLLOUT : 0));
}

int
poller_add(struct poller *p, int fd, int mask, void *ptr)
{
    size_t old = p->nslot, cap = p->cap;

    if ((size_t)fd >= p->nslot) {
        p->slot = xgrow(p->slot, &p->nslot, (size_t)fd + 1, sizeof(int));
        while (old < p->nslot)
            p->slot[old++] = -1;
    }
    if (p->slot[fd] != -1) {
        errno = EEXIST;
        return -1;
    }
    p->pfd = xgrow(p->pfd, &cap, p->n + 1, sizeof(*p->pfd));
    cap = p->cap;
    p->ptr = xgrow(p->ptr, &cap, p->n + 1, sizeof(*p->ptr));
    p->cap = cap;
    p->pfd[p->n].fd = fd;
    p->pfd[p->n].events = to_poll(mask);
    p->pfd[p->n].revents = 0;
    p->ptr[p->n] = ptr;
    p->slot[fd] = (int)p->n++;
    return 0;
}

int
poller_mod(struct poller *p, int fd, int mask, void *ptr)
{
    if ((size_t)fd >= p->nslot || p->slot[fd] == -1) {
        errno = ENOENT;
        return -1;
    }
    p->pfd[p->slot[fd]].events = to_poll(mask);
    p->ptr[p->slot[fd]] = ptr;
    return 0;
}

int
poller_del(struct poller *p, int fd)
{
    int i;

    if ((size_t)fd >= p->nslot || p->slot[fd] == -1) {
        errno = ENOENT;
        return -1;
    }
    i = p->slot[fd];
    p->slot[fd] = -1;
    if ((size_t)i != --p->n) {
        p->pfd[i] = p->pfd[p->n];
        p->ptr[i] = p->ptr[p->n];
        p->slot[p->pfd[i].fd] = i;
    }
    return 0;
}

int
poller_wait(struct poller *p, struct poller_event *ev, int max,
            int timeout_ms)
{
    int n = poll(p->pfd, (nfds_t)p->n, timeout_ms), got = 0;
    size_t i;

    if (n == -1)
        return errno == EINTR ? 0 : -1;
    for (i = 0; i < p->n && got < max; i++) {
        short r = p->pfd[i].revents;

        if (r == 0)
            continue;
        ev[got].ptr = p->ptr[i];
        ev[got].mask = ((r & POLLIN) ? POLLER_IN : 0) |
                       ((r & POLLOUT) ? POLLER_OUT : 0) |
                       ((r & (POLLERR | POLLHUP | POLLNVAL)) ? POLLER_HUP : 0);
        got++;
    }
    return got;
}

int
os_bind_loopback(int fd, unsigned host)
{
    struct sockaddr_in sin;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x7f000000u | (host & 0xffffffu));
    return bind(fd, (struct sockaddr *)&sin, sizeof(sin));
}
#endif

void
os_close_reset(int fd)
{
    struct linger lg;

    lg.l_onoff = 1;
    lg.l_linger = 0;
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

long
os_raise_fd_limit(long want)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        return -1;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want) {
        struct rlimit nl = rl;

        nl.rlim_cur = (rlim_t)want;
        if (nl.rlim_max != RLIM_INFINITY && nl.rlim_max < (rlim_t)want)
            nl.rlim_max = (rlim_t)want;     /* root may raise the ceiling */
        if (setrlimit(RLIMIT_NOFILE, &nl) == 0) {
            rl = nl;
        } else if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;      /* else as far as allowed */
            if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
                getrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    return rl.rlim_cur == RLIM_INFINITY ? 1L << 30 : (long)rl.rlim_cur;
}

/* The number after key in a /proc/PID/status text ("VmRSS:\t 1234 kB"),
 * or -1. */
static long
status_field(const char *text, const char *key)
{
    const char *p = strstr(text, key);

    if (p == NULL)
        return -1;
    return strtol(p + strlen(key), NULL, 10);
}

int
os_proc_read(pid_t pid, struct os_proc *out)
{
    char path[64], buf[4096], *p;
    unsigned long long ut, st;
    long hz = sysconf(_SC_CLK_TCK);
    ssize_t n;
    int fd, i;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: skip to the last
     * ')', then fields 3 (state) to 13; utime and stime are 14 and 15. */
    if ((p = strrchr(buf, ')')) == NULL)
        return -1;
    p++;
    for (i = 0; i < 11 && p != NULL; i++)
        p = strchr(p + 1, ' ');
    if (p == NULL || sscanf(p, " %llu %llu", &ut, &st) != 2)
        return -1;
    out->cpu_s = (double)(ut + st) / (double)(hz > 0 ? hz : 100);

    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    out->rss_kib = status_field(buf, "VmRSS:");
    out->hwm_kib = status_field(buf, "VmHWM:");
    return 0;
}
