/* backend.h -- a poller maps LOOP_READ/LOOP_WRITE to its kernel API and back.
 *
 * It never calls handlers and never owns the fd table.  Each function
 * returns 0 (wait: the number of events put in l->fired[]) or -1 with errno
 * set.  wait() must sleep with l->waitmask as the signal mask, so that the
 * signals the loop catches can interrupt it (EINTR) and nothing else. */
#ifndef CHATD_BACKEND_H
#define CHATD_BACKEND_H

#include "loop/loop.h"

struct loop_backend {
    const char *name;                                 /* "epoll", "poll", ... */
    int  (*init)(struct loop *l);
    void (*fini)(struct loop *l);
    int  (*update)(struct loop *l, int fd, int oldmask, int newmask);
    int  (*wait)(struct loop *l, int timeout_ms);     /* fills l->fired[] */
};

extern const struct loop_backend loop_backend_epoll;
extern const struct loop_backend loop_backend_kqueue;
extern const struct loop_backend loop_backend_poll;
extern const struct loop_backend loop_backend_select;

/* Make room for n fired events in l->fired (backends call it in wait()). */
void loop_reserve_fired(struct loop *l, size_t n);

#endif
