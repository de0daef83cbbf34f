/* kqueue.c -- the BSD and macOS backend.
 *
 * kqueue keeps read and write interest as two filters; a change is at most
 * two kevent() entries.  kevent() takes no signal mask, so wait() swaps the
 * mask around the call: a signal that lands between the swap and the sleep
 * is seen at the next wake-up instead of at once. */
#include "util/compat.h"
#ifdef HAVE_KQUEUE

#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "loop/backend.h"
#include "util/xmalloc.h"

#define KQ_BATCH 1024

struct kq_state {
    int           kq;
    struct kevent events[KQ_BATCH];
};

static int
kq_init(struct loop *l)
{
    struct kq_state *st = xmalloc(sizeof(*st));

    st->kq = kqueue();
    if (st->kq == -1) {
        free(st);
        return -1;
    }
    l->bstate = st;
    return 0;
}

static void
kq_fini(struct loop *l)
{
    struct kq_state *st = l->bstate;

    close(st->kq);
    free(st);
}

static int
kq_update(struct loop *l, int fd, int oldmask, int newmask)
{
    struct kq_state *st = l->bstate;
    struct kevent ch[2];
    int n = 0;

    if ((oldmask ^ newmask) & LOOP_READ)
        EV_SET(&ch[n++], fd, EVFILT_READ,
               newmask & LOOP_READ ? EV_ADD : EV_DELETE, 0, 0, NULL);
    if ((oldmask ^ newmask) & LOOP_WRITE)
        EV_SET(&ch[n++], fd, EVFILT_WRITE,
               newmask & LOOP_WRITE ? EV_ADD : EV_DELETE, 0, 0, NULL);
    if (n > 0 && kevent(st->kq, ch, n, NULL, 0, NULL) == -1 &&
        !(newmask == LOOP_NONE && (errno == EBADF || errno == ENOENT)))
        return -1;
    return 0;
}

static int
kq_wait(struct loop *l, int timeout_ms)
{
    struct kq_state *st = l->bstate;
    struct timespec ts, *tp = NULL;
    sigset_t old;
    int n, i;

    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tp = &ts;
    }
    sigprocmask(SIG_SETMASK, &l->waitmask, &old);
    n = kevent(st->kq, NULL, 0, st->events, KQ_BATCH, tp);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (n <= 0)
        return n;
    loop_reserve_fired(l, (size_t)n);
    for (i = 0; i < n; i++) {
        struct kevent *e = &st->events[i];
        int mask = e->filter == EVFILT_READ ? LOOP_READ : LOOP_WRITE;

        if (e->flags & (EV_EOF | EV_ERROR))
            mask |= LOOP_READ | LOOP_WRITE;
        l->fired[i].fd = (int)e->ident;
        l->fired[i].mask = mask;
    }
    return n;
}

const struct loop_backend loop_backend_kqueue = {
    "kqueue", kq_init, kq_fini, kq_update, kq_wait,
};

#endif /* HAVE_KQUEUE */
