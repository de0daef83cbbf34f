/* poll.c -- the portable backend with no descriptor ceiling.
 *
 * A dense pollfd array plus an fd -> slot index, so a change is O(1) and a
 * wait is O(watched).  Removal moves the last entry into the hole. */
#include "util/compat.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "loop/backend.h"
#include "util/xmalloc.h"

struct poll_state {
    struct pollfd *pfds;        /* dense, npfds in use */
    size_t         npfds, cap;
    int           *slot;        /* fd -> index in pfds, -1 if none */
    size_t         nslot;
};

static int
poll_init(struct loop *l)
{
    l->bstate = xcalloc(1, sizeof(struct poll_state));
    return 0;
}

static void
poll_fini(struct loop *l)
{
    struct poll_state *st = l->bstate;

    free(st->pfds);
    free(st->slot);
    free(st);
}

static short
to_events(int mask)
{
    return (short)((mask & LOOP_READ ? POLLIN : 0) |
                   (mask & LOOP_WRITE ? POLLOUT : 0));
}

static int
poll_update(struct loop *l, int fd, int oldmask, int newmask)
{
    struct poll_state *st = l->bstate;
    size_t i;

    (void)oldmask;
    if ((size_t)fd >= st->nslot) {
        size_t old = st->nslot;

        st->slot = xgrow(st->slot, &st->nslot, (size_t)fd + 1,
                         sizeof(*st->slot));
        for (i = old; i < st->nslot; i++)
            st->slot[i] = -1;
    }
    if (newmask == LOOP_NONE) {
        int s = st->slot[fd];

        if (s >= 0) {
            st->pfds[s] = st->pfds[--st->npfds];
            if ((size_t)s < st->npfds)
                st->slot[st->pfds[s].fd] = s;
            st->slot[fd] = -1;
        }
        return 0;
    }
    if (st->slot[fd] < 0) {
        st->pfds = xgrow(st->pfds, &st->cap, st->npfds + 1,
                         sizeof(*st->pfds));
        st->pfds[st->npfds].fd = fd;
        st->pfds[st->npfds].revents = 0;
        st->slot[fd] = (int)st->npfds++;
    }
    st->pfds[st->slot[fd]].events = to_events(newmask);
    return 0;
}

static int
poll_wait(struct loop *l, int timeout_ms)
{
    struct poll_state *st = l->bstate;
    size_t i;
    int n, k = 0;

#ifdef HAVE_PPOLL
    struct timespec ts, *tp = NULL;

    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tp = &ts;
    }
    n = ppoll(st->pfds, st->npfds, tp, &l->waitmask);
#else
    sigset_t old;

    sigprocmask(SIG_SETMASK, &l->waitmask, &old);
    n = poll(st->pfds, st->npfds, timeout_ms);
    sigprocmask(SIG_SETMASK, &old, NULL);
#endif
    if (n <= 0)
        return n;
    loop_reserve_fired(l, (size_t)n);
    for (i = 0; i < st->npfds && k < n; i++) {
        short re = st->pfds[i].revents;
        int mask = 0;

        if (re == 0)
            continue;
        if (re & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
            mask |= LOOP_READ;
        if (re & (POLLOUT | POLLHUP | POLLERR | POLLNVAL))
            mask |= LOOP_WRITE;
        l->fired[k].fd = st->pfds[i].fd;
        l->fired[k].mask = mask;
        k++;
    }
    return k;
}

const struct loop_backend loop_backend_poll = {
    "poll", poll_init, poll_fini, poll_update, poll_wait,
};
