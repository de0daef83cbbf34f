/* loop.h -- the event loop: watch descriptors, run timers, dispatch.
 *
 * The loop owns the descriptor table, the timers and the dispatch; a backend
 * (epoll, poll, select, kqueue) only translates masks to its kernel API and
 * back.  One callback per descriptor receives the mask that fired.  Any
 * handler may remove any descriptor: dispatch re-checks each fired event
 * against the current mask, so an event for a descriptor removed earlier in
 * the same batch is never delivered.
 *
 * The loop sleeps until the nearest timer, or forever: it never wakes up
 * periodically.  Signals the caller asks for (loop_catch_signal) are blocked
 * except while the loop waits in the kernel, so they arrive only there, as
 * an interrupted wait, and are dispatched like events -- no race, no
 * self-pipe. */
#ifndef CHATD_LOOP_H
#define CHATD_LOOP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define LOOP_NONE  0x0
#define LOOP_READ  0x1
#define LOOP_WRITE 0x2

struct loop;
struct loop_backend;

typedef void loop_fd_fn(struct loop *l, int fd, int mask, void *arg);
typedef void loop_timer_fn(struct loop *l, void *arg);
typedef void loop_hook_fn(struct loop *l, void *arg);
typedef void loop_signal_fn(struct loop *l, int signo, void *arg);

struct loop_fd {
    int         mask;           /* LOOP_READ | LOOP_WRITE being watched */
    loop_fd_fn *fn;
    void       *arg;            /* borrowed */
};

struct loop_fired {
    int fd;
    int mask;
};

/* A timer is embedded in its owner's struct; the loop only links it. */
struct loop_timer {
    uint64_t       when_ms;     /* absolute, on the loop's clock */
    uint64_t       period_ms;   /* 0: one-shot */
    loop_timer_fn *fn;
    void          *arg;         /* borrowed */
    size_t         slot;        /* index in the heap; (size_t)-1: not armed */
};

struct loop {
    const struct loop_backend *backend;
    void              *bstate;      /* the backend's own, owned */
    struct loop_fd    *fds;         /* indexed by fd, nfds entries, owned */
    size_t             nfds;
    int                maxfd;       /* highest fd with a mask, or -1 */
    struct loop_fired *fired;       /* filled by backend wait, owned */
    size_t             nfired_cap;
    size_t             nwatched;    /* descriptors with a mask */
    struct loop_timer **heap;       /* min-heap on when_ms, owned array */
    size_t             nheap, heap_cap;
    uint64_t           now_ms;      /* cached at each wake-up */
    uint64_t           sigcheck_ms; /* when a busy pass last looked */
    int                stop;
    sigset_t           waitmask;    /* the mask while waiting */
    loop_hook_fn      *before_wait; /* once per pass, before sleeping */
    void              *before_wait_arg;
    loop_hook_fn      *trace_wait;  /* just before the backend's wait */
    void              *trace_wait_arg;
    loop_signal_fn    *on_signal;
    void              *on_signal_arg;
};

/* Names of the backends this build has, best first, NULL-terminated. */
extern const char *const loop_backend_names[];

/* Initialise l with the named backend (NULL: the best one).  Returns 0, or
 * -1 with a reason in err ("unknown backend 'x'", or the kernel's). */
int loop_init(struct loop *l, const char *backend, char err[ERR_LEN]);
/* Release everything the loop owns; descriptors are not closed. */
void loop_fini(struct loop *l);
const char *loop_backend_name(const struct loop *l);

/* Watch fd for mask (added to what is watched already); fn(l, fd, fired,
 * arg) is called when any of it is ready.  fn and arg replace earlier ones.
 * Returns 0, or -1 with errno (EMFILE: this backend cannot hold fd, e.g.
 * select and fd >= FD_SETSIZE). */
int loop_add(struct loop *l, int fd, int mask, loop_fd_fn *fn, void *arg);
/* Stop watching fd for mask; with nothing left, fd is forgotten. */
void loop_del(struct loop *l, int fd, int mask);
/* The mask watched on fd. */
int loop_mask(const struct loop *l, int fd);

/* Arm t to call fn(l, arg) after ms milliseconds, then every period_ms if
 * that is not 0.  Re-arming an armed timer moves it. */
void loop_timer_start(struct loop *l, struct loop_timer *t, uint64_t ms,
                      uint64_t period_ms, loop_timer_fn *fn, void *arg);
void loop_timer_stop(struct loop *l, struct loop_timer *t);
int  loop_timer_is_armed(const struct loop_timer *t);
/* Initialise a timer as not armed (call before first use). */
void loop_timer_init(struct loop_timer *t);

/* Deliver signo to fn (set with loop_on_signal) from inside the loop
 * instead of its default action.  Returns 0 or -1 (errno). */
int loop_catch_signal(struct loop *l, int signo);
void loop_on_signal(struct loop *l, loop_signal_fn *fn, void *arg);
/* fn(l, arg) once per pass, after the events and timers of that pass and
 * before the loop sleeps (flush queues, reap closed clients). */
void loop_before_wait(struct loop *l, loop_hook_fn *fn, void *arg);
/* fn(l, arg) just before each call into the kernel's wait (traces). */
void loop_trace_wait(struct loop *l, loop_hook_fn *fn, void *arg);

/* Run until loop_stop().  Returns 0, or -1 with errno if the backend's wait
 * failed (the loop stops then: a broken poller cannot be trusted). */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);
/* The loop's clock (monotonic ms), refreshed at each wake-up. */
uint64_t loop_now(const struct loop *l);

#endif
