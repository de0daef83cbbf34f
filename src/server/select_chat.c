/* select_chat.c -- the classroom select() server's policies.
 *
 * select-chat relays CRLF lines to every client but the sender, like the
 * lab profiles, with three rules of its own: a failed read or write skips
 * that operation (the read side sees the peer go and removes it), output
 * is written only when select() reports the socket writable, and stdout
 * carries exactly the classroom server's printf traces. */
#include "server/select_chat.h"

#include "server/lab.h"
#include "server/server.h"

static void
trace_wait(struct loop *l, void *arg)
{
    (void)arg;
    log_line("Waiting on select()...\nMaxFd %d", l->maxfd);
    log_flush();
}

static void
select_setup(struct server *srv)
{
    lab_setup(srv);
    loop_trace_wait(&srv->loop, trace_wait, srv);
}

/* Skip the failed read; once the error is reported the socket reads as
 * closed, and that ends it. */
static void
select_read_failed(struct conn *c, int err)
{
    (void)err;
    log_warn("read from sd %d", c->fd);
}

/* Skip the failed write (what was queued is dropped) and go on; the read
 * side will see the peer go and remove it. */
static void
select_write_failed(struct conn *c, int err)
{
    if (c->state != CONN_OPEN) {
        conn_write_failed(c, err);
        return;
    }
    log_warn("write to sd %d", c->fd);
    outq_fini(&c->outq);
}

/* The queue waits in the write set until select() says the socket can
 * take it; an empty queue still goes to conn_flush (a drained close). */
static void
select_flush(struct conn *c)
{
    if (outq_is_empty(&c->outq))
        conn_flush(c);
    else
        conn_want_write(c);
}

const struct protocol proto_select = {
    .name = "select-chat",
    .setup = select_setup,
    .open = lab_open,
    .frame = lab_frame,
    .bad = lab_bad,
    .gone = lab_gone,
    .read_failed = select_read_failed,
    .write_failed = select_write_failed,
    .flush = select_flush,
    .wire = lab_wire,
};
