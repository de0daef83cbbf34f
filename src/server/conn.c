/* conn.c -- a connection's whole life: new, read, send, flush, close,
 * free.
 *
 * One pass of the loop: readable clients are read once each and their
 * complete frames handed to the protocol; before the loop sleeps, every
 * client with new output is flushed with one writev (conn_set_flush), and
 * the clients closed during the pass are freed (conn_set_reap).  Messages
 * that arrive together therefore leave together, and no handler ever frees
 * what another may still touch.
 *
 * Two things stop a client from being read, each with its flag, and it is
 * read again only once neither holds: pacing (CONN_F_PAUSED, its own
 * queue is half full) and flood control (CONN_F_FLOODED, its door's budget
 * of lines is spent: the lines already read wait in its input buffer, and
 * a timer hands them to the protocol as tokens come back). */
#include "server/conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net/sock.h"
#include "util/xmalloc.h"

#define FLUSH_IOV    64             /* pieces per writev (a pass is one) */
#define FLUSH_BUDGET (256 * 1024)   /* bytes per client per pass: fairness */

void
conn_set_init(struct conn_set *set, struct loop *l,
              const struct console *console)
{
    memset(set, 0, sizeof(*set));
    set->loop = l;
    set->console = console;
    set->rbuf = xmalloc(CONN_READ_BUF);
    set->read_max = CONN_READ_BUF;
}

void
conn_set_limit(struct conn_set *set, uint64_t queue_limit, int pace)
{
    set->queue_limit = queue_limit;
    set->pace = pace;
    if (!pace)
        return;
    /* Paused at half its limit, a queue still has room for what one read
     * makes of a quarter of it (an echo, with prefixes). */
    set->read_max = queue_limit / 4 < CONN_READ_BUF ? queue_limit / 4
                                                     : CONN_READ_BUF;
    if (set->read_max < 1024)
        set->read_max = 1024;
}

void
conn_set_fini(struct conn_set *set)
{
    struct conn *c;

    /* Each client still here is removed the ordinary way, so the console
     * (and select-chat's trace) says so. */
    for (c = set->all; c != NULL; c = c->next)
        conn_close(c, "server stopping");
    conn_set_reap(set);
    free(set->rbuf);
    set->rbuf = NULL;
}

static void
mark_dirty(struct conn *c)
{
    if (c->flags & CONN_F_DIRTY)
        return;
    c->flags |= CONN_F_DIRTY;
    c->dirty_next = c->set->dirty;
    c->set->dirty = c;
}

void
conn_set_flush(struct conn_set *set)
{
    struct conn *c;

    while ((c = set->dirty) != NULL) {
        set->dirty = c->dirty_next;
        c->flags &= ~CONN_F_DIRTY;
        if (c->state == CONN_CLOSED)
            continue;
        if (!(c->flags & CONN_F_BLOCKED))
            c->proto->flush(c);
        else if (c->state == CONN_DRAINING && outq_is_empty(&c->outq))
            conn_flush(c);
    }
}

size_t
conn_set_reap(struct conn_set *set)
{
    struct conn *c;
    size_t n = 0;

    while ((c = set->reap) != NULL) {
        set->reap = c->reap_next;
        c->proto->gone(c, c->drain_why);
        if (c->prev != NULL)
            c->prev->next = c->next;
        else
            set->all = c->next;
        if (c->next != NULL)
            c->next->prev = c->prev;
        close(c->fd);
        outq_fini(&c->outq);
        inbuf_fini(&c->in);
        free(c);
        n++;
    }
    return n;
}

/* inbuf_feed's callback: one frame for the protocol, if c's flood budget
 * has a token for it; if not, the frame waits (INBUF_KEEP). */
static int
on_frame(void *arg, const struct frame *f)
{
    struct conn *c = arg;

    if (!flood_take(&c->flood, loop_now(c->set->loop)))
        return INBUF_KEEP;
    if (c->xport == NULL)       /* the web door counts its own messages */
        metrics_count(c->set->metrics, METRIC_MESSAGES_IN, 1);
    if (c->proto->frame(c, f) != 0)
        return -1;
    return c->state == CONN_OPEN ? 0 : -1;
}

static void on_event(struct loop *l, int fd, int mask, void *arg);
static void on_refill(struct loop *l, void *arg);

/* c's budget is spent with lines still to handle: stop reading it until
 * a token is back (no busy loop: one timer, at that moment). */
static void
hold_reading(struct conn *c)
{
    struct loop *l = c->set->loop;
    uint64_t ms = flood_wait(&c->flood, loop_now(l));

    loop_del(l, c->fd, LOOP_READ);
    c->flags |= CONN_F_FLOODED;
    loop_timer_start(l, &c->refill, ms > 0 ? ms : 1, 0, on_refill, c);
}

/* What the input said: a refusal to answer, or lines held back. */
static void
input_done(struct conn *c, enum inbuf_result res, const char *why)
{
    if (res == INBUF_BAD)
        c->proto->bad(c, why);
    else if (res == INBUF_HELD && c->state == CONN_OPEN)
        hold_reading(c);
}

/* Frame what was read (eof: the peer is done sending). */
static void
take_input(struct conn *c, const char *data, size_t n, int eof)
{
    const struct door *d = c->door;
    const char *why = NULL;
    enum inbuf_result res;

    res = inbuf_feed(&c->in, d->framing, d->max_message, data, n, eof,
                     on_frame, c, &why);
    input_done(c, res, why);
}

/* A token is back: handle the held lines it pays for, in order; once none
 * is left, read c again (unless pacing holds it too). */
static void
on_refill(struct loop *l, void *arg)
{
    struct conn *c = arg;
    const struct door *d = c->door;
    const char *why = NULL;
    enum inbuf_result res;

    if (c->state != CONN_OPEN)
        return;                 /* closing: no more lines are handled */
    c->flags &= ~CONN_F_FLOODED;
    c->last_active = loop_now(l);       /* its lines count as activity */
    res = inbuf_resume(&c->in, d->framing, d->max_message, on_frame, c,
                       &why);
    input_done(c, res, why);
    if (c->state != CONN_OPEN || (c->flags & (CONN_F_FLOODED |
                                              CONN_F_PAUSED)))
        return;
    if (loop_add(l, c->fd, LOOP_READ, on_event, c) == -1)
        conn_close(c, strerror(errno));
}

/* A client whose own queue is half full is not read until the queue is
 * down to a quarter: one that sends faster than it reads (its echo, the
 * replies to its commands) is slowed by TCP instead of losing its output
 * to the limit.  Nobody else waits for it. */
static int
pause_reading(struct conn *c)
{
    if (!c->set->pace || c->outq.charged <= c->set->queue_limit / 2)
        return 0;
    loop_del(c->set->loop, c->fd, LOOP_READ);
    c->flags |= CONN_F_PAUSED;
    conn_want_write(c);
    return 1;
}

/* The queue has room again: read c once more (unless flood control holds
 * it: then its timer will). */
static void
resume_reading(struct conn *c)
{
    if (!(c->flags & CONN_F_PAUSED) ||
        c->outq.charged > c->set->queue_limit / 4)
        return;
    c->flags &= ~CONN_F_PAUSED;
    if (c->state == CONN_OPEN && !(c->flags & CONN_F_FLOODED) &&
        loop_add(c->set->loop, c->fd, LOOP_READ, on_event, c) == -1)
        conn_close(c, strerror(errno));
}

static void
on_readable(struct conn *c)
{
    struct conn_set *set = c->set;
    ssize_t n;

    if ((c->flags & CONN_F_FLOODED) || pause_reading(c))
        return;
    set->console->readable(c);
    n = sock_recv(c->fd, set->rbuf, set->read_max);
    if (n > 0) {
        metrics_count(set->metrics, METRIC_BYTES_IN, (uint64_t)n);
        set->console->received(c, (size_t)n);
        c->last_active = loop_now(set->loop);
        take_input(c, set->rbuf, (size_t)n, 0);
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            c->proto->read_failed(c, errno);
        return;
    }
    set->console->received(c, 0);
    /* Nothing is held (c would not be read), and all that is left is one
     * partial frame: it is handled now, flood budget or not. */
    flood_init(&c->flood, 0, 0, 0);
    take_input(c, set->rbuf, 0, 1);     /* a partial frame still counts */
    conn_close_after_flush(c, "closed by peer");
}

static void
on_event(struct loop *l, int fd, int mask, void *arg)
{
    struct conn *c = arg;

    (void)l;
    (void)fd;
    if ((mask & LOOP_READ) && c->state == CONN_OPEN)
        on_readable(c);
    if ((mask & LOOP_WRITE) && c->state != CONN_CLOSED)
        conn_flush(c);
}

static void
on_idle_timer(struct loop *l, void *arg)
{
    struct conn *c = arg;
    uint64_t limit = (uint64_t)c->set->idle_timeout * 1000;
    uint64_t quiet = loop_now(l) - c->last_active;

    /* Reads only stamp last_active; the timer checks and re-arms itself,
     * so a busy client costs no timer work per read. */
    if (quiet >= limit)
        conn_close(c, "idle timeout");
    else
        loop_timer_start(l, &c->idle, limit - quiet, 0, on_idle_timer, c);
}

/* Where the address is in a peer's text: "127.0.0.1" of
 * "127.0.0.1:5555", "::1" of "[::1]:5555"; a Unix peer is all name. */
static void
find_host(struct conn *c)
{
    const char *colon = strrchr(c->peer, ':');
    size_t n = colon != NULL ? (size_t)(colon - c->peer) : strlen(c->peer);

    c->hostoff = 0;
    if (c->peer[0] == '[' && n >= 2 && c->peer[n - 1] == ']') {
        c->hostoff = 1;
        n -= 2;
    }
    c->hostlen = (unsigned char)n;
}

struct conn *
conn_new(struct conn_set *set, const struct door *d, int fd,
         const char *peer)
{
    struct conn *c = xcalloc(1, sizeof(*c));

    c->set = set;
    c->door = d;
    c->proto = d->proto;
    c->fd = fd;
    c->id = ++set->next_id;
    c->state = CONN_OPEN;
    c->last_active = loop_now(set->loop);
    outq_init(&c->outq);
    loop_timer_init(&c->idle);
    loop_timer_init(&c->refill);
    flood_init(&c->flood, d->flood_burst, d->flood_rate, c->last_active);
    if (strcmp(peer, "unix") == 0)
        snprintf(c->peer, sizeof(c->peer), "unix#%llu",
                 (unsigned long long)c->id);
    else
        snprintf(c->peer, sizeof(c->peer), "%s", peer);
    find_host(c);
    if (loop_add(set->loop, fd, LOOP_READ, on_event, c) == -1) {
        if (errno == EMFILE)
            log_warnx("refused %s: descriptor %d does not fit the %s "
                      "backend (FD_SETSIZE %d)", c->peer, fd,
                      loop_backend_name(set->loop), FD_SETSIZE);
        else
            log_warn("refused %s", c->peer);
        close(fd);
        free(c);
        return NULL;
    }
    metrics_count(set->metrics, METRIC_ACCEPTED, 1);
    c->next = set->all;
    if (set->all != NULL)
        set->all->prev = c;
    set->all = c;
    set->n++;
    set->console->accepted(c, set->n);
    if (set->idle_timeout > 0)
        loop_timer_start(set->loop, &c->idle,
                         (uint64_t)set->idle_timeout * 1000, 0,
                         on_idle_timer, c);
    d->proto->open(c);
    return c;
}

/* Does s fit under c's queue limit? */
static int
fits(const struct conn *c, const struct slice *s)
{
    return c->outq.charged + outq_charge(&c->outq, s) <=
           c->set->queue_limit;
}

/* s does not fit in c's queue: drop it or close c, as configured. */
static void
overflow(struct conn *c, const struct slice *s)
{
    struct conn_set *set = c->set;

    if (set->on_overflow == OVERFLOW_DISCONNECT) {
        log_warnx("%s: output queue over its limit (%llu bytes): "
                  "disconnecting a client that does not read", c->peer,
                  (unsigned long long)set->queue_limit);
        if (c->proto->overflowed != NULL)
            c->proto->overflowed(c);
        else
            conn_close(c, "output queue over its limit");
        return;
    }
    c->dropped += s->len;
    metrics_count(set->metrics, METRIC_DROPS_OVERFLOW, 1);
    if (log_limit_allow(&c->drop_warn, loop_now(set->loop), 1000)) {
        log_warnx("%s: output queue full (limit %llu bytes): dropped "
                  "%llu bytes", c->peer,
                  (unsigned long long)set->queue_limit,
                  (unsigned long long)c->dropped);
        c->dropped = 0;
    }
}

void
conn_send(struct conn *c, const struct slice *s)
{
    if (c->state == CONN_CLOSED || s->len == 0)
        return;
    if (!fits(c, s)) {
        /* A reader that keeps up never loses data to its limit: write
         * what the socket takes before deciding s does not fit. */
        c->proto->flush(c);
        if (c->state == CONN_CLOSED)
            return;
        if (!fits(c, s)) {
            overflow(c, s);
            return;
        }
    }
    outq_push(&c->outq, s);
    mark_dirty(c);
}

void
conn_close(struct conn *c, const char *why)
{
    struct conn_set *set = c->set;

    if (c->state == CONN_CLOSED)
        return;
    c->state = CONN_CLOSED;
    c->drain_why = why;
    metrics_count(set->metrics, metrics_close_reason(why), 1);
    loop_del(set->loop, c->fd, LOOP_READ | LOOP_WRITE);
    loop_timer_stop(set->loop, &c->idle);
    loop_timer_stop(set->loop, &c->refill);
    set->n--;
    set->console->closed(c, why);
    c->reap_next = set->reap;
    set->reap = c;
}

/* How much of what c's queue still has to write ends the line the socket
 * is partway through: its last words must start a line of their own. */
static size_t
line_rest(const struct conn *c)
{
    struct iovec iov[FLUSH_IOV];
    size_t done = 0;
    int i, n;

    if (c->outq.off == 0)
        return 0;               /* written up to a whole entry: a line end */
    n = outq_iov(&c->outq, iov, FLUSH_IOV, c->outq.bytes);
    for (i = 0; i < n; i++) {
        const char *lf = memchr(iov[i].iov_base, '\n', iov[i].iov_len);

        if (lf != NULL)
            return done + (size_t)(lf - (const char *)iov[i].iov_base) + 1;
        done += iov[i].iov_len;
    }
    return c->outq.bytes;
}

void
conn_close_saying(struct conn *c, const char *text, size_t len,
                  const char *why)
{
    struct block *b;
    struct slice s;

    if (c->state == CONN_CLOSED)
        return;
    outq_keep(&c->outq, line_rest(c));
    b = block_new(len);
    memcpy(b->data, text, len);
    b->len = len;
    s.b = b;
    s.off = 0;
    s.len = len;
    outq_push(&c->outq, &s);
    block_unref(b);             /* the queue holds it now */
    conn_flush(c);
    if (c->state != CONN_CLOSED && !outq_is_empty(&c->outq) &&
        sock_make_room(c->fd, c->outq.bytes) == 0)
        conn_flush(c);
    conn_close(c, why);
}

void
conn_close_after_flush(struct conn *c, const char *why)
{
    if (c->state != CONN_OPEN)
        return;
    c->state = CONN_DRAINING;
    c->drain_why = why;
    loop_del(c->set->loop, c->fd, LOOP_READ);
    mark_dirty(c);
}

/* The queue is empty: stop waiting for writability; a client that
 * half-closed has had everything and is done. */
static void
drained(struct conn *c)
{
    if (c->flags & CONN_F_BLOCKED) {
        loop_del(c->set->loop, c->fd, LOOP_WRITE);
        c->flags &= ~CONN_F_BLOCKED;
    }
    if (c->state == CONN_DRAINING)
        conn_close(c, c->drain_why);
}

void
conn_flush(struct conn *c)
{
    struct iovec iov[FLUSH_IOV];
    size_t budget = FLUSH_BUDGET;

    while (c->state != CONN_CLOSED && !outq_is_empty(&c->outq) &&
           budget > 0) {
        int n = outq_iov(&c->outq, iov, FLUSH_IOV, budget);
        size_t want = 0;
        ssize_t w;
        int i;

        for (i = 0; i < n; i++)
            want += iov[i].iov_len;
        w = writev(c->fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
                break;
            c->proto->write_failed(c, errno);
            break;
        }
        outq_consume(&c->outq, (size_t)w);
        metrics_count(c->set->metrics, METRIC_BYTES_OUT, (uint64_t)w);
        budget -= (size_t)w;
        if ((size_t)w < want)
            break;                      /* the socket is full */
    }
    if (c->state == CONN_CLOSED)
        return;
    resume_reading(c);
    if (outq_is_empty(&c->outq)) {
        drained(c);
        return;
    }
    conn_want_write(c);
}

void
conn_want_write(struct conn *c)
{
    if (c->state == CONN_CLOSED || (c->flags & CONN_F_BLOCKED))
        return;
    /* Cannot fail: the descriptor is already watched for reading or was
     * watched until the peer half-closed. */
    if (loop_add(c->set->loop, c->fd, LOOP_WRITE, on_event, c) == -1) {
        conn_close(c, strerror(errno));
        return;
    }
    c->flags |= CONN_F_BLOCKED;
}

void
conn_read_failed(struct conn *c, int err)
{
    conn_close(c, err == ECONNRESET ? "connection reset by peer"
                                    : strerror(err));
}

void
conn_write_failed(struct conn *c, int err)
{
    conn_close(c, err == EPIPE || err == ECONNRESET
                      ? "connection reset by peer"
                      : strerror(err));
}
