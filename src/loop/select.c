/* select.c -- the classic backend: one fd_set per direction.
 *
 * select() cannot name a descriptor at or past FD_SETSIZE; FD_SET on one
 * would write past the set.  update() refuses such a descriptor (EMFILE)
 * before it touches a set.  This file is the only place chatd calls
 * select(). */
#include "util/compat.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/select.h>

#include "loop/backend.h"
#include "util/xmalloc.h"

struct select_state {
    fd_set rfds, wfds;          /* what is watched */
    fd_set rout, wout;          /* what select() returned */
};

static int
select_init(struct loop *l)
{
    struct select_state *st = xmalloc(sizeof(*st));

    FD_ZERO(&st->rfds);
    FD_ZERO(&st->wfds);
    l->bstate = st;
    return 0;
}

static void
select_fini(struct loop *l)
{
    free(l->bstate);
}

static int
select_update(struct loop *l, int fd, int oldmask, int newmask)
{
    struct select_state *st = l->bstate;

    (void)oldmask;
    if (fd < 0 || fd >= FD_SETSIZE) {
        errno = EMFILE;
        return -1;
    }
    if (newmask & LOOP_READ)
        FD_SET(fd, &st->rfds);
    else
        FD_CLR(fd, &st->rfds);
    if (newmask & LOOP_WRITE)
        FD_SET(fd, &st->wfds);
    else
        FD_CLR(fd, &st->wfds);
    return 0;
}

static int
select_wait(struct loop *l, int timeout_ms)
{
    struct select_state *st = l->bstate;
    struct timespec ts, *tp = NULL;
    int n, fd, k = 0;

    st->rout = st->rfds;
    st->wout = st->wfds;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tp = &ts;
    }
    n = pselect(l->maxfd + 1, &st->rout, &st->wout, NULL, tp, &l->waitmask);
    if (n <= 0)
        return n;
    loop_reserve_fired(l, (size_t)n);
    for (fd = 0; fd <= l->maxfd && k < n; fd++) {
        int mask = (FD_ISSET(fd, &st->rout) ? LOOP_READ : 0) |
                   (FD_ISSET(fd, &st->wout) ? LOOP_WRITE : 0);

        if (mask == 0)
            continue;
        l->fired[k].fd = fd;
        l->fired[k].mask = mask;
        k++;
    }
    return k;
}

const struct loop_backend loop_backend_select = {
    "select", select_init, select_fini, select_update, select_wait,
};
