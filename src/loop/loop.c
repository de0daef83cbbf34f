/* loop.c -- descriptor table, timers, signals and dispatch.
 *
 * One pass: wait in the kernel (until the nearest timer, or forever), take
 * the signals that interrupted it, dispatch the fired descriptors, run the
 * timers that are due, then the before-wait hook.  Timers are a binary
 * min-heap of pointers to timers embedded in their owners. */
#include "loop/loop.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "loop/backend.h"
#include "util/clock.h"
#include "util/compat.h"
#include "util/xmalloc.h"

#define NOT_ARMED ((size_t)-1)

static const struct loop_backend *const backends[] = {
#ifdef HAVE_EPOLL
    &loop_backend_epoll,
#endif
#ifdef HAVE_KQUEUE
    &loop_backend_kqueue,
#endif
    &loop_backend_poll,
    &loop_backend_select,
};

const char *const loop_backend_names[] = {
#ifdef HAVE_EPOLL
    "epoll",
#endif
#ifdef HAVE_KQUEUE
    "kqueue",
#endif
    "poll", "select", NULL,
};

/* Signals caught: set by the handler, taken by the loop after a wait.  The
 * handler runs only while the loop sleeps (they are blocked elsewhere). */
static volatile sig_atomic_t pending[NSIG];
static volatile sig_atomic_t any_pending;

static void
on_signal(int signo)
{
    if (signo > 0 && signo < NSIG) {
        pending[signo] = 1;
        any_pending = 1;
    }
}

int
loop_init(struct loop *l, const char *backend, char err[ERR_LEN])
{
    size_t i;

    memset(l, 0, sizeof(*l));
    l->maxfd = -1;
    for (i = 0; i < ARRAY_LEN(backends); i++)
        if (backend == NULL || strcmp(backend, backends[i]->name) == 0)
            break;
    if (i == ARRAY_LEN(backends)) {
        errf(err, "unknown backend '%s'", backend);
        return -1;
    }
    l->backend = backends[i];
    if (l->backend->init(l) == -1) {
        errf(err, "cannot start the %s backend: %s", l->backend->name,
             strerror(errno));
        return -1;
    }
    sigprocmask(SIG_SETMASK, NULL, &l->waitmask);
    l->now_ms = clock_ms();
    return 0;
}

void
loop_fini(struct loop *l)
{
    if (l->backend != NULL)
        l->backend->fini(l);
    free(l->fds);
    free(l->fired);
    free(l->heap);
    l->backend = NULL;
    l->fds = NULL;
    l->fired = NULL;
    l->heap = NULL;
}

const char *
loop_backend_name(const struct loop *l)
{
    return l->backend->name;
}

void
loop_reserve_fired(struct loop *l, size_t n)
{
    l->fired = xgrow(l->fired, &l->nfired_cap, n, sizeof(*l->fired));
}

int
loop_add(struct loop *l, int fd, int mask, loop_fd_fn *fn, void *arg)
{
    int old, newmask;

    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    if ((size_t)fd >= l->nfds) {
        size_t oldn = l->nfds;

        l->fds = xgrow(l->fds, &l->nfds, (size_t)fd + 1, sizeof(*l->fds));
        memset(l->fds + oldn, 0, (l->nfds - oldn) * sizeof(*l->fds));
    }
    old = l->fds[fd].mask;
    newmask = old | mask;
    if (newmask != old && l->backend->update(l, fd, old, newmask) == -1)
        return -1;
    l->fds[fd].mask = newmask;
    l->fds[fd].fn = fn;
    l->fds[fd].arg = arg;
    if (old == LOOP_NONE && newmask != LOOP_NONE)
        l->nwatched++;
    if (fd > l->maxfd)
        l->maxfd = fd;
    return 0;
}

void
loop_del(struct loop *l, int fd, int mask)
{
    int old, newmask;

    if (fd < 0 || (size_t)fd >= l->nfds)
        return;
    old = l->fds[fd].mask;
    newmask = old & ~mask;
    if (newmask == old)
        return;
    /* Removing interest cannot fail for a live descriptor; if the kernel
     * says otherwise the descriptor is gone, which is what we wanted. */
    (void)l->backend->update(l, fd, old, newmask);
    l->fds[fd].mask = newmask;
    if (newmask == LOOP_NONE) {
        l->nwatched--;
        if (fd == l->maxfd)
            while (l->maxfd >= 0 && l->fds[l->maxfd].mask == LOOP_NONE)
                l->maxfd--;
    }
}

int
loop_mask(const struct loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->nfds)
        return LOOP_NONE;
    return l->fds[fd].mask;
}

/* Timers: a binary min-heap on when_ms. */

static void
heap_set(struct loop *l, size_t i, struct loop_timer *t)
{
    l->heap[i] = t;
    t->slot = i;
}

static void
heap_up(struct loop *l, size_t i)
{
    struct loop_timer *t = l->heap[i];

    while (i > 0) {
        size_t p = (i - 1) / 2;

        if (l->heap[p]->when_ms <= t->when_ms)
            break;
        heap_set(l, i, l->heap[p]);
        i = p;
    }
    heap_set(l, i, t);
}

static void
heap_down(struct loop *l, size_t i)
{
    struct loop_timer *t = l->heap[i];

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= l->nheap)
            break;
        if (c + 1 < l->nheap && l->heap[c + 1]->when_ms < l->heap[c]->when_ms)
            c++;
        if (t->when_ms <= l->heap[c]->when_ms)
            break;
        heap_set(l, i, l->heap[c]);
        i = c;
    }
    heap_set(l, i, t);
}

void
loop_timer_init(struct loop_timer *t)
{
    memset(t, 0, sizeof(*t));
    t->slot = NOT_ARMED;
}

int
loop_timer_is_armed(const struct loop_timer *t)
{
    return t->slot != NOT_ARMED;
}

void
loop_timer_stop(struct loop *l, struct loop_timer *t)
{
    struct loop_timer *last;
    size_t i = t->slot;

    if (i == NOT_ARMED)
        return;
    t->slot = NOT_ARMED;
    if (i == --l->nheap)
        return;
    last = l->heap[l->nheap];       /* fill the hole, then restore order */
    heap_set(l, i, last);
    heap_up(l, i);
    heap_down(l, last->slot);
}

void
loop_timer_start(struct loop *l, struct loop_timer *t, uint64_t ms,
                 uint64_t period_ms, loop_timer_fn *fn, void *arg)
{
    loop_timer_stop(l, t);
    t->when_ms = clock_ms() + ms;
    t->period_ms = period_ms;
    t->fn = fn;
    t->arg = arg;
    l->heap = xgrow(l->heap, &l->heap_cap, l->nheap + 1, sizeof(*l->heap));
    heap_set(l, l->nheap++, t);
    heap_up(l, t->slot);
}

static void
run_timers(struct loop *l)
{
    uint64_t now = l->now_ms;

    while (l->nheap > 0 && l->heap[0]->when_ms <= now && !l->stop) {
        struct loop_timer *t = l->heap[0];

        loop_timer_stop(l, t);
        if (t->period_ms > 0) {
            t->when_ms += t->period_ms;
            if (t->when_ms <= now)
                t->when_ms = now + t->period_ms;  /* we slept: don't burst */
            l->heap = xgrow(l->heap, &l->heap_cap, l->nheap + 1,
                            sizeof(*l->heap));
            heap_set(l, l->nheap++, t);
            heap_up(l, t->slot);
        }
        t->fn(l, t->arg);   /* may stop, re-arm or free t: touch it no more */
    }
}

/* Milliseconds until the nearest timer, or -1 (sleep until an event). */
static int
next_timeout(const struct loop *l)
{
    uint64_t now = clock_ms(), when;

    if (l->nheap == 0)
        return -1;
    when = l->heap[0]->when_ms;
    if (when <= now)
        return 0;
    if (when - now > INT_MAX)
        return INT_MAX;
    return (int)(when - now);
}

int
loop_catch_signal(struct loop *l, int signo)
{
    struct sigaction sa;
    sigset_t block;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigfillset(&sa.sa_mask);
    if (sigaction(signo, &sa, NULL) == -1)
        return -1;
    /* Blocked everywhere but inside the wait, where it interrupts. */
    sigemptyset(&block);
    sigaddset(&block, signo);
    if (sigprocmask(SIG_BLOCK, &block, NULL) == -1)
        return -1;
    sigdelset(&l->waitmask, signo);
    return 0;
}

void
loop_on_signal(struct loop *l, loop_signal_fn *fn, void *arg)
{
    l->on_signal = fn;
    l->on_signal_arg = arg;
}

void
loop_before_wait(struct loop *l, loop_hook_fn *fn, void *arg)
{
    l->before_wait = fn;
    l->before_wait_arg = arg;
}

void
loop_trace_wait(struct loop *l, loop_hook_fn *fn, void *arg)
{
    l->trace_wait = fn;
    l->trace_wait_arg = arg;
}

/* A wait that finds descriptors ready returns them without delivering a
 * pending signal (the kernel interrupts only a wait with nothing to
 * report), so under sustained load a SIGTERM would stay pending for ever.
 * After a wait that returned events, look for one of ours pending, at most
 * once per millisecond, and let it in: unblocking runs the handler. */
static void
let_signals_in(struct loop *l)
{
    sigset_t set, old;
    int s;

    if (l->now_ms == l->sigcheck_ms || sigpending(&set) == -1)
        return;
    l->sigcheck_ms = l->now_ms;
    for (s = 1; s < NSIG; s++)
        if (sigismember(&set, s) == 1 && sigismember(&l->waitmask, s) == 0)
            break;
    if (s == NSIG)
        return;
    sigprocmask(SIG_SETMASK, &l->waitmask, &old);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

static void
take_signals(struct loop *l)
{
    int s;

    if (!any_pending)
        return;
    any_pending = 0;
    for (s = 1; s < NSIG; s++) {
        if (!pending[s])
            continue;
        pending[s] = 0;
        if (l->on_signal != NULL)
            l->on_signal(l, s, l->on_signal_arg);
    }
}

static void
dispatch(struct loop *l, int n)
{
    int i;

    for (i = 0; i < n && !l->stop; i++) {
        int fd = l->fired[i].fd;
        int got;

        if (fd < 0 || (size_t)fd >= l->nfds)
            continue;
        /* A handler earlier in this batch may have dropped interest. */
        got = l->fired[i].mask & l->fds[fd].mask;
        if (got != 0)
            l->fds[fd].fn(l, fd, got, l->fds[fd].arg);
    }
}

int
loop_run(struct loop *l)
{
    l->stop = 0;
    while (!l->stop) {
        int n;

        if (l->before_wait != NULL)
            l->before_wait(l, l->before_wait_arg);
        if (l->stop)
            break;
        if (l->trace_wait != NULL)
            l->trace_wait(l, l->trace_wait_arg);
        n = l->backend->wait(l, next_timeout(l));
        l->now_ms = clock_ms();
        if (n == -1) {
            if (errno != EINTR && errno != EAGAIN)
                return -1;
            n = 0;
        }
        if (n > 0)
            let_signals_in(l);
        take_signals(l);
        dispatch(l, n);
        run_timers(l);
    }
    take_signals(l);
    return 0;
}

void
loop_stop(struct loop *l)
{
    l->stop = 1;
}

uint64_t
loop_now(const struct loop *l)
{
    return l->now_ms;
}
