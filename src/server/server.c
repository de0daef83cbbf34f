/* server.c -- the chat engine: accept, read, frame, route, queue, flush.
 *
 * One pass of the loop: readable clients are read once each and their
 * complete frames delivered (each message built once and queued by
 * reference to every recipient); then, before the loop sleeps, every client
 * with new output is flushed with one writev, and the clients closed during
 * the pass are freed.  Messages that arrive together therefore leave
 * together, and no handler ever frees what another may still touch. */
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/sock.h"
#include "proto/frame.h"
#include "server/packet_chat.h"
#include "util/xmalloc.h"

#define ACCEPTS_PER_PASS 64         /* a connect storm cannot starve clients */
#define RESUME_ACCEPT_MS 100        /* out of descriptors with no spare */
#define INBUF_MIN        256
#define ARENA_SIZE       (64 * 1024)   /* one shared buffer per pass, or so */

/* Who receives a message from `from` (NULL: the server itself). */
static int
route_wants(const struct server *srv, const struct conn *from,
            const struct conn *to)
{
    if (to->state != CONN_OPEN)
        return 0;
    if (srv->cfg->framing == FRAMING_PACKET && !(to->flags & CONN_F_REGISTERED))
        return 0;
    switch (srv->cfg->route) {
    case ROUTE_NONE:   return 0;
    case ROUTE_SELF:   return to == from;
    case ROUTE_OTHERS: return to != from;
    case ROUTE_ALL:    return 1;
    }
    return 0;
}

void
server_mark_dirty(struct server *srv, struct conn *c)
{
    if (c->flags & CONN_F_DIRTY)
        return;
    c->flags |= CONN_F_DIRTY;
    c->dirty_next = srv->dirty;
    srv->dirty = c;
}

void
server_broadcast(struct server *srv, struct conn *from,
                 const struct slice *s)
{
    struct conn *c;

    if (srv->cfg->route == ROUTE_SELF) {
        if (from != NULL && route_wants(srv, from, from))
            conn_send(from, s);
        return;
    }
    for (c = srv->conns; c != NULL; c = c->next)
        if (route_wants(srv, from, c))
            conn_send(c, s);
}

char *
server_reserve(struct server *srv, size_t n, struct slice *s)
{
    struct msg *a = srv->arena;

    if (a == NULL || a->cap - a->len < n) {
        /* Start a new buffer; the old one lives on in the queues that
         * still hold slices of it. */
        if (a != NULL)
            msg_unref(a);
        a = msg_new(n > ARENA_SIZE ? n : ARENA_SIZE);
        a->len = 0;
        srv->arena = a;
    }
    s->m = a;
    s->off = a->len;
    s->len = n;
    a->len += n;
    return a->data + s->off;
}

/* The sink console: data byte-exact, each change of source starting on a
 * fresh line with "ADDR:PORT: " (so does the first data after any other
 * console line).  One connection at a time (sink-seq) needs no lead: each
 * one's data follows its own "New connection from" line. */
static void
sink_console(struct server *srv, const struct conn *c, const char *data,
             size_t len)
{
    char lead[CONN_PEER_LEN + 3];
    size_t n;

    if (!srv->cfg->serial) {
        n = sink_lead(&srv->sink, c->id, c->peer, log_lines(), len, lead,
                      sizeof(lead));
        if (n > 0) {
            log_data_fresh_line();
            log_data(lead, n);
        }
    }
    log_data(data, len);
}

/* The console line for a message: "who: text", escaped. */
static void
log_message(const struct server *srv, const struct conn *c,
            const char *payload, size_t len)
{
    char text[4 * 1024 + 1];

    /* The lab profiles' console shows who comes and goes, not what they
     * say (relay forwards raw chunks, possibly binary). */
    if (log_get_level() < (srv->cfg->lab_console ? LOG_TRACE : LOG_EVENTS))
        return;
    log_escape(text, sizeof(text), payload, len);
    log_event("%s: %s", srv->cfg->prefix == PREFIX_NICK && c->nick[0]
                  ? c->nick : c->peer, text);
}

void
server_deliver(struct server *srv, struct conn *from, const char *payload,
               size_t len)
{
    const struct config *cfg = srv->cfg;
    const char *who = "";
    size_t wlen = 0, hdr = 0, tail = 0, off = 0;
    struct slice s;
    char *p;

    if (cfg->log == LOGFMT_SINK)
        sink_console(srv, from, payload, len);
    else
        log_message(srv, from, payload, len);
    if (cfg->route == ROUTE_NONE)
        return;
    if (cfg->prefix == PREFIX_ADDR)
        who = from->peer;
    else if (cfg->prefix == PREFIX_NICK)
        who = from->nick[0] ? from->nick : from->peer;
    wlen = cfg->prefix == PREFIX_NONE ? 0 : strlen(who) + 2;
    if (cfg->framing == FRAMING_PACKET)
        hdr = PACKET_HEADER_LEN;
    else if (cfg->framing == FRAMING_LINE)
        tail = 1;
    else if (cfg->framing == FRAMING_CRLF)
        tail = 2;
    p = server_reserve(srv, hdr + wlen + len + tail, &s);
    if (hdr)
        packet_header(p, PACKET_CHAT, wlen + len);
    off = hdr;
    if (wlen) {
        memcpy(p + off, who, wlen - 2);
        memcpy(p + off + wlen - 2, ": ", 2);
        off += wlen;
    }
    memcpy(p + off, payload, len);
    off += len;
    if (tail)
        memcpy(p + off, "\r\n" + (2 - tail), tail);
    server_broadcast(srv, from, &s);
}

void
server_close_after_flush(struct conn *c, const char *why)
{
    if (c->state != CONN_OPEN)
        return;
    c->state = CONN_DRAINING;
    c->drain_why = why;
    loop_del(&c->srv->loop, c->fd, LOOP_READ);
    server_mark_dirty(c->srv, c);
}

/* One complete frame from c. */
static void
on_frame(struct conn *c, const struct frame *f)
{
    if (c->srv->cfg->framing == FRAMING_PACKET)
        packet_chat_frame(c, f);
    else
        server_deliver(c->srv, c, f->data, f->len);
}

/* Parse frames out of buf[0..len); returns the bytes consumed.  Stops at
 * the first incomplete frame, or when c stops reading (an error). */
static size_t
parse(struct conn *c, const char *buf, size_t len, int eof)
{
    const struct config *cfg = c->srv->cfg;
    size_t done = 0, used;
    struct frame f;

    while (c->state == CONN_OPEN && done < len) {
        enum frame_status st;

        if (cfg->framing == FRAMING_PACKET)
            st = packet_next(buf + done, len - done, cfg->max_message, &f,
                             &used);
        else if (cfg->framing == FRAMING_CRLF)
            st = crlf_next(buf + done, len - done, cfg->max_message, &f,
                           &used);
        else
            st = line_next(buf + done, len - done, cfg->max_message, &f,
                           &used);
        if (st == FRAME_NEED_MORE && eof && cfg->framing != FRAMING_PACKET)
            st = line_last(buf + done, len - done, cfg->max_message, &f,
                           &used);
        if (st == FRAME_NEED_MORE)
            break;
        if (st == FRAME_BAD) {
            packet_chat_error(c, f.why);
            return len;
        }
        done += used;
        on_frame(c, &f);
    }
    return done;
}

/* Bytes the pending buffer may need: one frame's worth at most. */
static size_t
frame_cap(const struct config *cfg)
{
    if (cfg->framing == FRAMING_PACKET)
        return cfg->max_message + PACKET_HEADER_LEN;
    return cfg->max_message + (cfg->framing == FRAMING_CRLF ? 2 : 1);
}

/* Make c's pending buffer hold at least need bytes (need <= frame_cap). */
static void
reserve_pending(struct conn *c, size_t need)
{
    size_t cap = c->incap ? c->incap : INBUF_MIN;

    if (need <= c->incap)
        return;
    while (cap < need)
        cap *= 2;
    if (cap > frame_cap(c->srv->cfg))
        cap = frame_cap(c->srv->cfg);
    c->in = xrealloc(c->in, cap);
    c->incap = cap;
}

/* Frame data just read.  Complete frames are parsed straight from the read
 * buffer; only a trailing partial frame is copied, into a buffer the client
 * holds until the frame completes, so an idle client holds none. */
static void
on_input(struct conn *c, const char *data, size_t n, int eof)
{
    size_t cap = frame_cap(c->srv->cfg), used, take;

    if (c->srv->cfg->framing == FRAMING_RAW) {
        if (n > 0)
            server_deliver(c->srv, c, data, n);
        return;
    }
    if (c->inlen == 0) {
        used = parse(c, data, n, eof);
        data += used;
        n -= used;
    }
    /* Pending bytes are always less than one frame, so each round either
     * completes a frame or takes all that is left of data. */
    while (c->state == CONN_OPEN && (n > 0 || (eof && c->inlen > 0))) {
        take = cap - c->inlen < n ? cap - c->inlen : n;
        reserve_pending(c, c->inlen + take);
        memcpy(c->in + c->inlen, data, take);
        c->inlen += take;
        data += take;
        n -= take;
        used = parse(c, c->in, c->inlen, eof && n == 0);
        memmove(c->in, c->in + used, c->inlen - used);
        c->inlen -= used;
        if (used == 0 && n == 0)
            break;
    }
    if ((c->inlen == 0 || c->state != CONN_OPEN) && c->in != NULL) {
        free(c->in);            /* idle clients hold no input buffer */
        c->in = NULL;
        c->incap = 0;
        c->inlen = 0;
    }
}

static void
on_readable(struct conn *c)
{
    struct server *srv = c->srv;
    ssize_t n;

    if (srv->cfg->select_trace)
        log_line("Descriptor %d is readable", c->fd);
    n = sock_recv(c->fd, srv->rbuf, SERVER_READ_BUF);
    if (n > 0) {
        if (srv->cfg->select_trace)
            log_line("%d bytes received from sd %d", (int)n, c->fd);
        c->last_active = loop_now(&srv->loop);
        on_input(c, srv->rbuf, (size_t)n, 0);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n < 0 && srv->cfg->select_trace) {
        /* The classroom policy: skip the failed read; once the error is
         * reported the socket reads as closed, and that ends it. */
        log_warn("read from sd %d", c->fd);
        return;
    }
    if (n < 0) {
        conn_close(c, errno == ECONNRESET ? "connection reset by peer"
                                          : strerror(errno));
        return;
    }
    if (srv->cfg->select_trace)
        log_line("Connection closed for sd %d", c->fd);
    on_input(c, srv->rbuf, 0, 1);       /* a partial line still counts */
    server_close_after_flush(c, "closed by peer");
}

void
server_on_client(struct loop *l, int fd, int mask, void *arg)
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
    uint64_t limit = (uint64_t)c->srv->cfg->idle_timeout * 1000;
    uint64_t quiet = loop_now(l) - c->last_active;

    /* Reads only stamp last_active; the timer checks and re-arms itself,
     * so a busy client costs no timer work per read. */
    if (quiet >= limit)
        conn_close(c, "idle timeout");
    else
        loop_timer_start(l, &c->idle, limit - quiet, 0, on_idle_timer, c);
}

static void pause_listeners(struct server *srv, int pause);

static void
conn_new(struct server *srv, int fd, const char *peer)
{
    const struct config *cfg = srv->cfg;
    struct conn *c = xcalloc(1, sizeof(*c));

    c->srv = srv;
    c->fd = fd;
    c->id = ++srv->next_id;
    c->state = CONN_OPEN;
    c->last_active = loop_now(&srv->loop);
    outq_init(&c->outq);
    loop_timer_init(&c->idle);
    if (strcmp(peer, "unix") == 0)
        snprintf(c->peer, sizeof(c->peer), "unix#%llu",
                 (unsigned long long)c->id);
    else
        snprintf(c->peer, sizeof(c->peer), "%s", peer);
    if (loop_add(&srv->loop, fd, LOOP_READ, server_on_client, c) == -1) {
        if (errno == EMFILE)
            log_warnx("refused %s: descriptor %d does not fit the %s "
                      "backend (FD_SETSIZE %d)", c->peer, fd,
                      loop_backend_name(&srv->loop), FD_SETSIZE);
        else
            log_warn("refused %s", c->peer);
        close(fd);
        free(c);
        return;
    }
    c->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    if (cfg->select_trace)
        log_line("New incoming connection on sd %d", fd);
    else if (cfg->lab_console)
        log_event("New connection from %s", c->peer);
    else
        log_event("accepted connection from %s (fd %d, %zu online)",
                  c->peer, fd, srv->nconns);
    if (cfg->idle_timeout > 0)
        loop_timer_start(&srv->loop, &c->idle,
                         (uint64_t)cfg->idle_timeout * 1000, 0,
                         on_idle_timer, c);
    if (cfg->greeting != NULL && cfg->greeting[0] != '\0' &&
        cfg->framing != FRAMING_PACKET) {
        size_t len = strlen(cfg->greeting);
        struct slice s;
        char *p = server_reserve(srv, len + 1, &s);

        memcpy(p, cfg->greeting, len);
        p[len] = '\n';
        conn_send(c, &s);
    }
    if (cfg->serial)
        pause_listeners(srv, 1);
}

static void on_accept(struct loop *l, int fd, int mask, void *arg);

static void
pause_listeners(struct server *srv, int pause)
{
    size_t i;

    for (i = 0; i < srv->nlisteners; i++) {
        struct listener *li = &srv->listeners[i];

        if (pause && !li->paused)
            loop_del(&srv->loop, li->fd, LOOP_READ);
        else if (!pause && li->paused &&
                 loop_add(&srv->loop, li->fd, LOOP_READ, on_accept, li) == -1)
            continue;
        li->paused = pause;
    }
}

static void
on_resume(struct loop *l, void *arg)
{
    struct server *srv = arg;

    (void)l;
    if (!srv->cfg->serial || srv->nconns == 0)
        pause_listeners(srv, 0);
}

/* The descriptor kept for shedding at EMFILE, placed at FD_SETSIZE or above
 * when the limit allows: there it never takes a number select() could have
 * used for a client, and clients are numbered on from the listeners (the
 * select-chat trace reads as the classroom server's). */
static int
spare_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), hi;

    if (fd == -1)
        return -1;
    hi = fcntl(fd, F_DUPFD_CLOEXEC, FD_SETSIZE);
    if (hi == -1)
        return fd;
    close(fd);
    return hi;
}

/* Out of descriptors: take the pending connection with the spare one and
 * close it at once, so the listener stops being readable instead of
 * spinning; with no spare, stop listening for a moment. */
static void
shed(struct server *srv, int lfd)
{
    srv->shed++;
    if (log_limit_allow(&srv->emfile_warn, loop_now(&srv->loop), 1000)) {
        log_warnx("out of file descriptors (%s): shedding new connections "
                  "(%llu so far)", strerror(errno),
                  (unsigned long long)srv->shed);
    }
    if (srv->spare_fd >= 0) {
        int fd;

        close(srv->spare_fd);
        fd = sock_accept(lfd, NULL, 0);
        if (fd >= 0)
            close(fd);
        srv->spare_fd = spare_fd();
        if (fd >= 0)
            return;
    }
    pause_listeners(srv, 1);
    loop_timer_start(&srv->loop, &srv->resume, RESUME_ACCEPT_MS, 0, on_resume,
                     srv);
}

static void
on_accept(struct loop *l, int lfd, int mask, void *arg)
{
    struct listener *li = arg;
    struct server *srv = li->srv;
    char peer[CONN_PEER_LEN];
    int i, fd;

    (void)l;
    (void)mask;
    for (i = 0; i < ACCEPTS_PER_PASS && !li->paused; i++) {
        fd = sock_accept(lfd, peer, sizeof(peer));
        if (fd == -1) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                shed(srv, lfd);
                continue;
            }
            if (errno == ECONNABORTED || errno == EPROTO || errno == EPERM)
                continue;       /* that one gave up; try the next */
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                log_warn("accept on %s", li->addr.text);
            return;
        }
        if (srv->cfg->max_clients > 0 &&
            srv->nconns >= srv->cfg->max_clients) {
            log_warnx("refused %s: server full (%u clients)", peer,
                      srv->cfg->max_clients);
            close(fd);
            continue;
        }
        if (li->addr.family != AF_UNIX)
            sock_set_nodelay(fd);   /* chat lines are small: no Nagle */
        conn_new(srv, fd, peer);
    }
}

/* Free the clients closed during this pass. */
static void
reap(struct server *srv)
{
    struct conn *c;

    while ((c = srv->reap) != NULL) {
        srv->reap = c->reap_next;
        if (c->prev != NULL)
            c->prev->next = c->next;
        else
            srv->conns = c->next;
        if (c->next != NULL)
            c->next->prev = c->prev;
        close(c->fd);
        outq_fini(&c->outq);
        free(c->in);
        free(c);
        if (srv->cfg->serial && srv->nconns == 0)
            pause_listeners(srv, 0);
    }
}

/* Once per pass, before sleeping: flush every client with new output, then
 * free the clients that were closed. */
static void
before_wait(struct loop *l, void *arg)
{
    struct server *srv = arg;
    struct conn *c;

    (void)l;
    while ((c = srv->dirty) != NULL) {
        srv->dirty = c->dirty_next;
        c->flags &= ~CONN_F_DIRTY;
        /* select-chat writes only when select() says the socket can take
         * it, as the classroom server does: the queue waits in the write
         * set.  An empty queue still goes to conn_flush (a drained close). */
        if (srv->cfg->select_trace && c->state != CONN_CLOSED &&
            !outq_is_empty(&c->outq))
            conn_want_write(c);
        else if (c->state != CONN_CLOSED && !(c->flags & CONN_F_BLOCKED))
            conn_flush(c);
        else if (c->state == CONN_DRAINING && outq_is_empty(&c->outq))
            conn_flush(c);
    }
    reap(srv);
    /* Nobody holds a slice of the shared buffer: let it go, so an idle
     * server holds none. */
    if (srv->arena != NULL && srv->arena->refs == 1) {
        msg_unref(srv->arena);
        srv->arena = NULL;
    }
    log_flush();
}

static void
trace_wait(struct loop *l, void *arg)
{
    (void)arg;
    log_line("Waiting on select()...\nMaxFd %d", l->maxfd);
    log_flush();
}

static void
on_signal(struct loop *l, int signo, void *arg)
{
    (void)arg;
    if (signo == SIGINT || signo == SIGTERM) {
        log_debug("signal %d: stopping", signo);
        loop_stop(l);
    } else {
        log_debug("signal %d ignored", signo);
    }
}

static int
open_listeners(struct server *srv, char err[ERR_LEN])
{
    const struct config *cfg = srv->cfg;
    size_t i;

    for (i = 0; i < cfg->nlisten; i++) {
        struct listener *li = &srv->listeners[i];

        if (addr_get(cfg->listen[i], ADDR_LISTEN, &li->addr, err) == -1)
            return -1;
        li->srv = srv;
        li->fd = sock_listen(&li->addr, SOCK_BACKLOG, err);
        if (li->fd == -1)
            return -1;
        srv->nlisteners++;
        if (loop_add(&srv->loop, li->fd, LOOP_READ, on_accept, li) == -1) {
            errf(err, "cannot watch %s: %s", li->addr.text, strerror(errno));
            return -1;
        }
        log_warnx("listening on %s (profile %s, backend %s)", li->addr.text,
                  cfg->profile, loop_backend_name(&srv->loop));
    }
    return 0;
}

static void
server_fini(struct server *srv)
{
    struct conn *c;
    size_t i;

    /* Each client still here is removed the ordinary way, so the console
     * (and select-chat's trace) says so. */
    for (c = srv->conns; c != NULL; c = c->next)
        conn_close(c, "server stopping");
    reap(srv);
    for (i = 0; i < srv->nlisteners; i++) {
        close(srv->listeners[i].fd);
        if (srv->listeners[i].addr.family == AF_UNIX)
            unlink(srv->listeners[i].addr.u.un.sun_path);
    }
    if (srv->spare_fd >= 0)
        close(srv->spare_fd);
    loop_timer_stop(&srv->loop, &srv->resume);
    loop_fini(&srv->loop);
    free(srv->rbuf);
    if (srv->arena != NULL)
        msg_unref(srv->arena);
    log_flush();
}

int
server_run(const struct config *cfg, char err[ERR_LEN])
{
    static const int caught[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
    struct server srv;
    int rc = 0;
    size_t i;

    memset(&srv, 0, sizeof(srv));
    srv.cfg = cfg;
    srv.spare_fd = -1;
    loop_timer_init(&srv.resume);
    sock_ignore_sigpipe();
    sock_raise_fd_limit();
    log_set_level(cfg->log == LOGFMT_QUIET ? LOG_QUIET
                  : cfg->log == LOGFMT_TRACE ? LOG_TRACE : LOG_EVENTS);
    if (loop_init(&srv.loop, cfg->backend, err) == -1)
        return 1;
    for (i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
        if (loop_catch_signal(&srv.loop, caught[i]) == -1) {
            errf(err, "cannot catch signal %d: %s", caught[i],
                 strerror(errno));
            loop_fini(&srv.loop);
            return 1;
        }
    loop_on_signal(&srv.loop, on_signal, &srv);
    loop_before_wait(&srv.loop, before_wait, &srv);
    if (cfg->select_trace)
        loop_trace_wait(&srv.loop, trace_wait, &srv);
    srv.rbuf = xmalloc(SERVER_READ_BUF);
    if (open_listeners(&srv, err) == -1) {
        server_fini(&srv);
        return 1;
    }
    srv.spare_fd = spare_fd();
    log_set_buffered(1);
    if (loop_run(&srv.loop) == -1) {
        errf(err, "%s failed: %s", loop_backend_name(&srv.loop),
             strerror(errno));
        rc = 1;
    }
    log_set_buffered(0);
    server_fini(&srv);
    return rc;
}
