/* conn.c -- queueing, flushing and closing one client. */
#include "server/conn.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "server/server.h"

#define FLUSH_IOV    64             /* pieces per writev (a pass is one) */
#define FLUSH_BUDGET (256 * 1024)   /* bytes per client per pass: fairness */

void
conn_send(struct conn *c, const struct slice *s)
{
    struct server *srv = c->srv;

    if (c->state == CONN_CLOSED || s->len == 0)
        return;
    if (c->outq.charged + outq_charge(&c->outq, s) > srv->cfg->queue_limit) {
        if (srv->cfg->on_overflow == OVERFLOW_DISCONNECT) {
            log_warnx("%s: output queue over its limit (%llu bytes): "
                      "disconnecting a client that does not read", c->peer,
                      (unsigned long long)srv->cfg->queue_limit);
            conn_close(c, "output queue over its limit");
            return;
        }
        c->dropped += s->len;
        if (log_limit_allow(&c->drop_warn, loop_now(&srv->loop), 1000)) {
            log_warnx("%s: output queue full (limit %llu bytes): dropped "
                      "%llu bytes", c->peer,
                      (unsigned long long)srv->cfg->queue_limit,
                      (unsigned long long)c->dropped);
            c->dropped = 0;
        }
        return;
    }
    outq_push(&c->outq, s);
    server_mark_dirty(srv, c);
}

void
conn_send_copy(struct conn *c, const void *buf, size_t len)
{
    struct slice s;

    memcpy(server_reserve(c->srv, len, &s), buf, len);
    conn_send(c, &s);
}

void
conn_close(struct conn *c, const char *why)
{
    struct server *srv = c->srv;

    if (c->state == CONN_CLOSED)
        return;
    c->state = CONN_CLOSED;
    loop_del(&srv->loop, c->fd, LOOP_READ | LOOP_WRITE);
    loop_timer_stop(&srv->loop, &c->idle);
    srv->nconns--;
    if (srv->cfg->select_trace)
        log_line("removing connection with sd %d ", c->fd);
    else if (srv->cfg->lab_console && srv->cfg->serial)
        log_debug("Connection closed: %s (%s)", c->peer, why);
    else if (srv->cfg->lab_console)
        log_event("Connection closed: %s (%s)", c->peer, why);
    else if (c->nick[0] != '\0')
        log_event("connection terminated: %s (%s, %s)", c->peer, c->nick,
                  why);
    else
        log_event("connection terminated: %s (%s)", c->peer, why);
    c->reap_next = srv->reap;
    srv->reap = c;
}

/* The queue is empty: stop waiting for writability; a client that
 * half-closed has had everything and is done. */
static void
drained(struct conn *c)
{
    if (c->flags & CONN_F_BLOCKED) {
        loop_del(&c->srv->loop, c->fd, LOOP_WRITE);
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
            if (c->srv->cfg->select_trace && c->state == CONN_OPEN) {
                /* The classroom policy: skip the failed write (what was
                 * queued is dropped) and go on; the read side will see the
                 * peer go and remove it. */
                log_warn("write to sd %d", c->fd);
                outq_fini(&c->outq);
                break;
            }
            conn_close(c, errno == EPIPE || errno == ECONNRESET
                              ? "connection reset by peer"
                              : strerror(errno));
            return;
        }
        outq_consume(&c->outq, (size_t)w);
        budget -= (size_t)w;
        if ((size_t)w < want)
            break;                      /* the socket is full */
    }
    if (c->state == CONN_CLOSED)
        return;
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
    if (loop_add(&c->srv->loop, c->fd, LOOP_WRITE, server_on_client,
                 c) == -1) {
        conn_close(c, strerror(errno));
        return;
    }
    c->flags |= CONN_F_BLOCKED;
}
