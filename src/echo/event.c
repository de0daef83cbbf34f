/* event.c -- one thread, one non-blocking loop, every client in it.
 *
 * A read lands in one scratch buffer and is written straight back; only
 * what the socket would not take waits in the client's own buffer, which
 * exists only while something is pending (an idle client holds none).
 *
 * Back-pressure: once a client's pending echo reaches EV_LIMIT, we stop
 * reading from it and read again when half has drained.  A client that
 * sends without reading costs at most EV_LIMIT bytes and loses nothing:
 * its bytes wait in the kernel, in order, until it reads. */
#include "echo/model.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echo/worker.h"
#include "loop/loop.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define EV_LIMIT   (256 * 1024)     /* pending echo that stops reading */
#define EV_RESUME  (EV_LIMIT / 2)   /* and that starts it again */
#define EV_CHUNK   (64 * 1024)      /* one read */
#define EV_ACCEPTS 64               /* per wake-up; the others get a turn */

struct evsrv;

struct evconn {
    struct evsrv  *srv;             /* borrowed */
    int            fd;
    char           peer[ADDR_TEXT_LEN];
    char          *buf;             /* pending echo: buf[off, off + len) */
    size_t         cap, off, len;
    uint64_t       bytes;           /* echoed so far */
    int            eof;             /* half-closed: finish the echo, close */
    int            closed;          /* waiting in srv->reap */
    struct evconn *prev, *next;     /* srv->conns */
    struct evconn *reap_next;
};

struct evsrv {
    struct loop    loop;
    int            lfd;             /* borrowed from echo_run */
    char           who[WORKER_WHO_LEN];
    struct evconn *conns;           /* every connection, owned */
    struct evconn *reap;            /* closed this pass, freed before wait */
    char           scratch[EV_CHUNK];
};

static void on_client(struct loop *l, int fd, int mask, void *arg);

static int
again(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

/* End c: stop watching it, log why (error 0: orderly), and leave the fd
 * and memory to reap(), so that no later event of this pass can reach
 * freed memory or a reused descriptor number.  Safe to repeat. */
static void
drop(struct evconn *c, int error)
{
    struct evsrv *s = c->srv;

    if (c->closed)
        return;
    c->closed = 1;
    loop_del(&s->loop, c->fd, LOOP_READ | LOOP_WRITE);
    worker_log_end(c->peer, s->who, error, c->bytes);
    c->reap_next = s->reap;
    s->reap = c;
}

static void
reap(struct loop *l, void *arg)
{
    struct evsrv *s = arg;
    struct evconn *c;

    (void)l;
    while ((c = s->reap) != NULL) {
        s->reap = c->reap_next;
        if (c->prev != NULL)
            c->prev->next = c->next;
        else
            s->conns = c->next;
        if (c->next != NULL)
            c->next->prev = c->prev;
        close(c->fd);
        free(c->buf);
        free(c);
    }
    log_flush();
}

/* Keep n bytes the socket would not take, after those already pending. */
static void
pend(struct evconn *c, const char *data, size_t n)
{
    size_t need = c->len + n;

    assert(need <= EV_LIMIT);
    if (c->off + need > c->cap) {
        if (c->off > 0) {
            memmove(c->buf, c->buf + c->off, c->len);
            c->off = 0;
        }
        if (need > c->cap) {
            size_t cap = c->cap > 0 ? c->cap : EV_CHUNK;

            while (cap < need)
                cap *= 2;
            if (cap > EV_LIMIT)
                cap = EV_LIMIT;
            c->buf = xrealloc(c->buf, cap);
            c->cap = cap;
        }
    }
    memcpy(c->buf + c->off + c->len, data, n);
    c->len += n;
}

/* Write some pending echo (one call per event, so one client cannot hog
 * the loop), and resume reading once enough has drained. */
static void
flush(struct evconn *c)
{
    struct loop *l = &c->srv->loop;

    if (c->len > 0) {
        ssize_t w = write(c->fd, c->buf + c->off, c->len);

        if (w == -1) {
            if (!again(errno))
                drop(c, errno);
            return;
        }
        c->off += (size_t)w;
        c->len -= (size_t)w;
        c->bytes += (uint64_t)w;
    }
    if (c->len == 0) {
        free(c->buf);           /* idle clients hold no buffer */
        c->buf = NULL;
        c->cap = c->off = 0;
        if (c->eof) {
            drop(c, 0);
            return;
        }
        loop_del(l, c->fd, LOOP_WRITE);
    }
    if (!c->eof && c->len <= EV_RESUME && !(loop_mask(l, c->fd) & LOOP_READ)
        && loop_add(l, c->fd, LOOP_READ, on_client, c) == -1)
        drop(c, errno);
}

/* Read once and echo it: straight from the scratch buffer if nothing is
 * pending (the common case costs no copy), else behind what is. */
static void
read_some(struct evconn *c)
{
    struct evsrv *s = c->srv;
    size_t room = EV_LIMIT - c->len;
    ssize_t n, w = 0;

    if (room == 0) {            /* not watched when full; be sure */
        loop_del(&s->loop, c->fd, LOOP_READ);
        return;
    }
    n = read(c->fd, s->scratch, room < EV_CHUNK ? room : EV_CHUNK);
    if (n == 0) {
        c->eof = 1;
        loop_del(&s->loop, c->fd, LOOP_READ);
        if (c->len == 0)
            drop(c, 0);
        return;
    }
    if (n == -1) {
        if (!again(errno))
            drop(c, errno);
        return;
    }
    if (c->len == 0) {
        w = write(c->fd, s->scratch, (size_t)n);
        if (w == -1) {
            if (!again(errno)) {
                drop(c, errno);
                return;
            }
            w = 0;
        }
        c->bytes += (uint64_t)w;
        if (w == n)
            return;
    }
    pend(c, s->scratch + w, (size_t)(n - w));
    if (loop_add(&s->loop, c->fd, LOOP_WRITE, on_client, c) == -1) {
        drop(c, errno);
        return;
    }
    if (c->len >= EV_LIMIT)
        loop_del(&s->loop, c->fd, LOOP_READ);   /* back-pressure */
}

static void
on_client(struct loop *l, int fd, int mask, void *arg)
{
    struct evconn *c = arg;

    if (mask & LOOP_WRITE)
        flush(c);
    if (!c->closed && (mask & LOOP_READ) && (loop_mask(l, fd) & LOOP_READ))
        read_some(c);
}

static void
on_accept(struct loop *l, int lfd, int mask, void *arg)
{
    struct evsrv *s = arg;
    char peer[ADDR_TEXT_LEN];
    int i, fd;

    (void)mask;
    for (i = 0; i < EV_ACCEPTS; i++) {
        struct evconn *c;

        fd = worker_accept(lfd, peer, sizeof(peer));
        if (fd == -1)
            return;
        c = xcalloc(1, sizeof(*c));
        c->srv = s;
        c->fd = fd;
        snprintf(c->peer, sizeof(c->peer), "%s", peer);
        if (loop_add(l, fd, LOOP_READ, on_client, c) == -1) {
            log_warn("cannot watch %s: closing it", peer);
            close(fd);
            free(c);
            continue;
        }
        c->next = s->conns;
        if (s->conns != NULL)
            s->conns->prev = c;
        s->conns = c;
        worker_count_conn();
        log_event("New connection from %s (%s)", peer, s->who);
    }
}

int
event_serve(const struct echo_env *e, char err[ERR_LEN])
{
    struct evsrv *s = xcalloc(1, sizeof(*s));
    struct evconn *c;
    int rc = 0;

    if (loop_init(&s->loop, NULL, err) == -1) {
        free(s);
        return -1;
    }
    s->lfd = e->lfd;
    snprintf(s->who, sizeof(s->who), "pid %ld", (long)getpid());
    if (worker_init() == -1 || worker_catch_stop(&s->loop) == -1 ||
        loop_add(&s->loop, s->lfd, LOOP_READ, on_accept, s) == -1) {
        errf(err, "cannot set up the event loop: %s", strerror(errno));
        rc = -1;
        goto out;
    }
    loop_before_wait(&s->loop, reap, s);
    log_set_buffered(1);        /* one write per loop pass, see reap() */
    log_event("pid %ld: event loop on %s", (long)getpid(),
              loop_backend_name(&s->loop));
    echo_ready(e);
    if (loop_run(&s->loop) == -1) {
        errf(err, "the %s loop failed: %s", loop_backend_name(&s->loop),
             strerror(errno));
        rc = -1;
    }
    worker_stop();
    for (c = s->conns; c != NULL; c = c->next)
        drop(c, 0);
    reap(&s->loop, s);
    worker_report();
    log_set_buffered(0);
out:
    loop_del(&s->loop, s->lfd, LOOP_READ);
    loop_fini(&s->loop);
    worker_fini();
    free(s);
    return rc;
}
