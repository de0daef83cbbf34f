/* epoll.c -- the Linux backend: O(1) per change, O(ready) per wait. */
#include "util/compat.h"
#ifdef HAVE_EPOLL

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop/backend.h"
#include "util/xmalloc.h"

#define EPOLL_BATCH 1024

struct epoll_state {
    int                epfd;
    struct epoll_event events[EPOLL_BATCH];
};

static int
epoll_init(struct loop *l)
{
    struct epoll_state *st = xmalloc(sizeof(*st));

    st->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (st->epfd == -1) {
        free(st);
        return -1;
    }
    l->bstate = st;
    return 0;
}

static void
epoll_fini(struct loop *l)
{
    struct epoll_state *st = l->bstate;

    close(st->epfd);
    free(st);
}

static int
epoll_update(struct loop *l, int fd, int oldmask, int newmask)
{
    struct epoll_state *st = l->bstate;
    struct epoll_event ev = {0};
    int op;

    if (newmask == LOOP_NONE)
        op = EPOLL_CTL_DEL;
    else
        op = oldmask == LOOP_NONE ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    ev.events = (newmask & LOOP_READ ? EPOLLIN : 0) |
                (newmask & LOOP_WRITE ? EPOLLOUT : 0);
    ev.data.fd = fd;
    if (epoll_ctl(st->epfd, op, fd, &ev) == -1) {
        if (op == EPOLL_CTL_DEL && (errno == EBADF || errno == ENOENT))
            return 0;           /* already gone with its descriptor */
        return -1;
    }
    return 0;
}

static int
epoll_wait_events(struct loop *l, int timeout_ms)
{
    struct epoll_state *st = l->bstate;
    int n, i;

    n = epoll_pwait(st->epfd, st->events, EPOLL_BATCH, timeout_ms,
                    &l->waitmask);
    if (n <= 0)
        return n;
    loop_reserve_fired(l, (size_t)n);
    for (i = 0; i < n; i++) {
        uint32_t e = st->events[i].events;
        int mask = 0;

        if (e & (EPOLLIN | EPOLLHUP | EPOLLERR))
            mask |= LOOP_READ;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            mask |= LOOP_WRITE;
        l->fired[i].fd = st->events[i].data.fd;
        l->fired[i].mask = mask;
    }
    return n;
}

const struct loop_backend loop_backend_epoll = {
    "epoll", epoll_init, epoll_fini, epoll_update, epoll_wait_events,
};

#endif /* HAVE_EPOLL */
