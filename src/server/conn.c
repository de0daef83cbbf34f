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
 * a timer hands them to the protocol as tokens come back).
 *
 * Under the protocol, a transport: plain (recv, writev) or TLS (net/tls.c),
 * the door's choice.  A TLS client is opened for its protocol only once its
 * handshake is done (10 s at most; its OpenSSL state is made at its first
 * byte, so a client that never speaks costs a struct conn); then each read
 * takes what OpenSSL decrypts, and each write copies at most one record of
 * the queue's head into a scratch buffer for SSL_write, consuming only what
 * it wrote.  TLS may need the other direction first (a read that must
 * write, a write that must read): the flags CONN_F_READ_WANTS_WRITE and
 * CONN_F_WRITE_WANTS_READ turn the poller's interest around (watch()), and
 * bytes OpenSSL holds that the poller cannot see are read by a timer of 0
 * ms, before the loop sleeps again.  With kernel TLS the kernel encrypts
 * and the plain writev path stays. */
#include "server/conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net/sock.h"
#include "net/tls.h"
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
    set->tbuf = xmalloc(TLS_RECORD);
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
    free(set->tbuf);
    set->rbuf = NULL;
    set->tbuf = NULL;
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
        if (c->tls != NULL) {
            tls_shutdown(c->tls);       /* close_notify, best effort */
            tls_free(c->tls);
        }
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
static void on_more(struct loop *l, void *arg);

/* The events c waits for, from its state: readability while it is read
 * (open, neither paused nor flooded), writability while its queue waits
 * for the socket; but a TLS operation that needs the other direction
 * waits for that instead (its own direction would only say "again"). */
static int
interest(const struct conn *c)
{
    int mask = 0;

    if (c->state == CONN_OPEN &&
        !(c->flags & (CONN_F_PAUSED | CONN_F_FLOODED)))
        mask |= (c->flags & CONN_F_READ_WANTS_WRITE) ? LOOP_WRITE : LOOP_READ;
    if (c->flags & CONN_F_BLOCKED)
        mask |= (c->flags & CONN_F_WRITE_WANTS_READ) ? LOOP_READ : LOOP_WRITE;
    return mask;
}

/* Make the poller watch what interest() says for c; if OpenSSL holds
 * decrypted bytes of a client being read, read them without waiting.
 * Returns 0, or -1 once c is closed (the poller refused it). */
static int
watch(struct conn *c)
{
    struct loop *l = c->set->loop;
    int want, have;

    if (c->state == CONN_CLOSED)
        return -1;
    want = interest(c);
    have = loop_mask(l, c->fd);
    if (have & ~want)
        loop_del(l, c->fd, have & ~want);
    if ((want & ~have) && loop_add(l, c->fd, want & ~have, on_event, c) == -1) {
        conn_close(c, strerror(errno));
        return -1;
    }
    if (c->tls != NULL && (want & LOOP_READ) &&
        !(c->flags & (CONN_F_READ_WANTS_WRITE | CONN_F_HANDSHAKE)) &&
        tls_has_pending(c->tls) && !loop_timer_is_armed(&c->more))
        loop_timer_start(l, &c->more, 0, 0, on_more, c);
    return 0;
}

/* c's budget is spent with lines still to handle: stop reading it until
 * a token is back (no busy loop: one timer, at that moment). */
static void
hold_reading(struct conn *c)
{
    struct loop *l = c->set->loop;
    uint64_t ms = flood_wait(&c->flood, loop_now(l));

    c->flags |= CONN_F_FLOODED;
    watch(c);
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
    watch(c);
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
    c->flags |= CONN_F_PAUSED;
    conn_want_write(c);
    watch(c);
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
    watch(c);
}

/* Which path carries c's output under TLS, said once per server: the
 * kernel's (kTLS: writev as for plain clients) or OpenSSL's. */
static void
tell_tls_path(struct conn *c)
{
    if (c->set->tls_path_told)
        return;
    c->set->tls_path_told = 1;
    log_notice("TLS: %s, sending %s", tls_version(c->tls),
              (c->flags & CONN_F_KTLS)
                  ? "through kernel TLS (writev)"
                  : "through OpenSSL (SSL_write; no kernel TLS here)");
}

/* Go on with c's TLS handshake (its OpenSSL state is made now, at its
 * first byte); once it is done, c's protocol opens it.  Returns 1 if c
 * is open and can be read, 0 if not yet (or it failed: c is closed). */
static int
handshake(struct conn *c)
{
    struct conn_set *set = c->set;
    int r;

    if (c->tls == NULL)
        c->tls = tls_new(c->door->tls, c->fd);
    c->flags &= ~CONN_F_READ_WANTS_WRITE;
    r = tls_handshake(c->tls);
    if (r == 0) {
        if (tls_want(c->tls) == TLS_WANT_WRITE)
            c->flags |= CONN_F_READ_WANTS_WRITE;
        return 0;
    }
    if (r < 0) {
        metrics_count(set->metrics, METRIC_TLS_FAILED, 1);
        conn_close(c, tls_why(c->tls));
        return 0;
    }
    metrics_count(set->metrics, METRIC_TLS_HANDSHAKES, 1);
    c->flags &= ~CONN_F_HANDSHAKE;
    loop_timer_stop(set->loop, &c->handshake);
    if (tls_ktls_send(c->tls))
        c->flags |= CONN_F_KTLS;
    tell_tls_path(c);
    c->last_active = loop_now(set->loop);
    c->door->proto->open(c);
    return c->state == CONN_OPEN;
}

static void
on_handshake_timeout(struct loop *l, void *arg)
{
    struct conn *c = arg;

    (void)l;
    metrics_count(c->set->metrics, METRIC_TLS_FAILED, 1);
    conn_close(c, "TLS handshake timed out");
}

/* Read what c sent into buf (len bytes at most): from the socket, or what
 * TLS decrypts, record after record while there are some.  As recv(2). */
static ssize_t
transport_recv(struct conn *c, char *buf, size_t len)
{
    size_t got = 0;
    ssize_t n;

    if (c->tls == NULL)
        return sock_recv(c->fd, buf, len);
    c->flags &= ~CONN_F_READ_WANTS_WRITE;
    do {
        n = tls_read(c->tls, buf + got, len - got);
        if (n > 0)
            got += (size_t)n;
    } while (n > 0 && got < len);
    if (n < 0 && errno == EAGAIN && tls_want(c->tls) == TLS_WANT_WRITE)
        c->flags |= CONN_F_READ_WANTS_WRITE;
    if (got == 0)
        return n;
    /* An end or an error after some bytes: those first, then come back
     * for it at once (the socket may never be readable again). */
    if (n == 0 || (n < 0 && errno != EAGAIN))
        loop_timer_start(c->set->loop, &c->more, 0, 0, on_more, c);
    return (ssize_t)got;
}

static void
on_readable(struct conn *c)
{
    struct conn_set *set = c->set;
    ssize_t n;

    if ((c->flags & CONN_F_FLOODED) || pause_reading(c))
        return;
    if ((c->flags & CONN_F_HANDSHAKE) && !handshake(c))
        return;
    set->console->readable(c);
    n = transport_recv(c, set->rbuf, set->read_max);
    if (n > 0) {
        metrics_count(set->metrics, METRIC_BYTES_IN, (uint64_t)n);
        set->console->received(c, (size_t)n);
        c->last_active = loop_now(set->loop);
        take_input(c, set->rbuf, (size_t)n, 0);
        return;
    }
    if (n < 0) {
        if (errno == EPROTO && c->tls != NULL)
            conn_close(c, tls_why(c->tls));
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
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

/* OpenSSL holds what the poller cannot see (or an end to report). */
static void
on_more(struct loop *l, void *arg)
{
    struct conn *c = arg;

    (void)l;
    if (c->state != CONN_OPEN)
        return;
    on_readable(c);
    watch(c);
}

static void
on_event(struct loop *l, int fd, int mask, void *arg)
{
    struct conn *c = arg;
    /* Under TLS, a read may wait for writability and a write for
     * readability: each goes on when what it waits for fires. */
    int rd = (c->flags & CONN_F_READ_WANTS_WRITE) ? LOOP_WRITE : LOOP_READ;
    int wr = (c->flags & CONN_F_WRITE_WANTS_READ) ? LOOP_READ : LOOP_WRITE;

    (void)l;
    (void)fd;
    if ((mask & rd) && c->state == CONN_OPEN)
        on_readable(c);
    if ((mask & wr) && c->state != CONN_CLOSED &&
        (c->flags & (CONN_F_BLOCKED | CONN_F_WRITE_WANTS_READ)))
        conn_flush(c);
    watch(c);
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
    loop_timer_init(&c->handshake);
    loop_timer_init(&c->more);
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
    if (d->tls != NULL) {
        /* Opened for its protocol once the handshake is done. */
        c->flags |= CONN_F_HANDSHAKE;
        loop_timer_start(set->loop, &c->handshake, CONN_HANDSHAKE_MS, 0,
                         on_handshake_timeout, c);
        return c;
    }
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
    loop_timer_stop(set->loop, &c->handshake);
    loop_timer_stop(set->loop, &c->more);
    set->n--;
    set->console->closed(c, why);
    c->reap_next = set->reap;
    set->reap = c;
}

/* How much of what c's queue still has to write ends the line the socket
 * is partway through: its last words must start a line of their own.
 * Under TLS, what a write to be retried took is written whatever
 * happens (OpenSSL has encrypted it), so the line to end is the one
 * that ends after it. */
static size_t
line_rest(const struct conn *c)
{
    struct iovec iov[FLUSH_IOV];
    size_t done = 0, from = c->tls_owed > 0 ? c->tls_owed - 1 : 0;
    int i, n;

    if (c->outq.off == 0 && c->tls_owed == 0)
        return 0;               /* written up to a whole entry: a line end */
    n = outq_iov(&c->outq, iov, FLUSH_IOV, c->outq.bytes);
    for (i = 0; i < n; i++) {
        const char *base = iov[i].iov_base;
        size_t skip = from > done ? from - done : 0;
        const char *lf;

        if (skip < iov[i].iov_len &&
            (lf = memchr(base + skip, '\n', iov[i].iov_len - skip)) != NULL)
            return done + (size_t)(lf - base) + 1;
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
    watch(c);
    mark_dirty(c);
}

/* The queue is empty: stop waiting for writability; a client that
 * half-closed has had everything and is done. */
static void
drained(struct conn *c)
{
    if (c->flags & (CONN_F_BLOCKED | CONN_F_WRITE_WANTS_READ)) {
        c->flags &= ~(CONN_F_BLOCKED | CONN_F_WRITE_WANTS_READ);
        watch(c);
    }
    if (c->state == CONN_DRAINING)
        conn_close(c, c->drain_why);
}

/* Write the n pieces at iov: by writev, or under TLS (without kTLS) as
 * much of them as one record takes, copied and handed to SSL_write.  *want
 * gets the bytes offered.  As writev(2). */
static ssize_t
transport_send(struct conn *c, const struct iovec *iov, int n, size_t *want)
{
    char *buf = c->set->tbuf;
    size_t len = 0;
    ssize_t w;
    int i;

    if (c->tls == NULL || (c->flags & CONN_F_KTLS)) {
        for (*want = 0, i = 0; i < n; i++)
            *want += iov[i].iov_len;
        return writev(c->fd, iov, n);
    }
    /* The queue's head does not change until it is consumed, so a retry
     * offers the same bytes again, and at least as many. */
    for (i = 0; i < n && len < TLS_RECORD; i++) {
        size_t k = iov[i].iov_len < TLS_RECORD - len ? iov[i].iov_len
                                                     : TLS_RECORD - len;

        memcpy(buf + len, iov[i].iov_base, k);
        len += k;
    }
    *want = len;
    c->flags &= ~CONN_F_WRITE_WANTS_READ;
    w = tls_write(c->tls, buf, len);
    c->tls_owed = 0;
    if (w < 0 && errno == EAGAIN) {
        c->tls_owed = len;
        if (tls_want(c->tls) == TLS_WANT_READ)
            c->flags |= CONN_F_WRITE_WANTS_READ;
    }
    return w;
}

void
conn_flush(struct conn *c)
{
    struct iovec iov[FLUSH_IOV];
    size_t budget = FLUSH_BUDGET;

    if (c->flags & CONN_F_HANDSHAKE)
        return;         /* nothing is sent before the handshake is done */
    while (c->state != CONN_CLOSED && !outq_is_empty(&c->outq) &&
           budget > 0) {
        int n = outq_iov(&c->outq, iov, FLUSH_IOV,
                         budget > c->tls_owed ? budget : c->tls_owed);
        size_t want = 0;
        ssize_t w;

        w = transport_send(c, iov, n, &want);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
                break;
            if (errno == EPROTO && c->tls != NULL)
                conn_close(c, tls_why(c->tls));
            else
                c->proto->write_failed(c, errno);
            break;
        }
        outq_consume(&c->outq, (size_t)w);
        metrics_count(c->set->metrics, METRIC_BYTES_OUT, (uint64_t)w);
        budget = budget > (size_t)w ? budget - (size_t)w : 0;
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
    if (c->state == CONN_CLOSED)
        return;
    c->flags |= CONN_F_BLOCKED;
    watch(c);           /* again: a TLS write may now wait for reading */
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
