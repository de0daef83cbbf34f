/* bench.c -- chatbench's client engine; see bench.h.
 *
 * Each worker owns a struct loop (src/loop) and its connections outright;
 * the workers share only the phase, the window and a few counters, all
 * atomics.  A connection is its descriptor's loop argument.  Worker 0 runs
 * in the calling thread, publishes, and steers the phases: CONNECT (pace
 * the handshakes), RUN (warm-up then the window), DRAIN (publishers quiet,
 * late deliveries still counted), STOP.  Every worker acts on the phase
 * once per loop pass, in its before-wait hook; a periodic timer makes
 * sure a pass comes at least every TICK_MS, and in rate mode worker 0
 * also wakes when the next message is due.
 *
 * A WebSocket client (--protocol ws) first sends the upgrade request,
 * then, on the 101 whose accept key matches, joins as a chat client does,
 * over masked frames.  Its key is derived from the run's random seed and
 * its index, so nothing is kept per connection to check the answer; each
 * worker draws masking keys from a generator of its own.
 *
 * With several targets each connection keeps the index of its own
 * (assign()), and deliver() sorts each delivery by whether the receiver
 * shares its target with the publisher. */
#include "bench/bench.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "bench/os.h"
#include "loop/loop.h"
#include "net/sock.h"
#include "net/tls.h"
#include "util/clock.h"
#include "util/io.h"
#include "util/compat.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define PER_SOURCE_IP   1000        /* clients per 127.0.0.x source */
#define READ_MIN        (256 * 1024)
#define READ_ROUNDS     4           /* reads per readiness, if they fill */
#define TICK_MS         10          /* longest sleep: phases are polled */
#define NS              1000000000ull
#define MS              1000000ull
#define RATE_BURST_NS   (100 * MS)  /* rate mode: catch up at most this */
#define LINE_JOIN_NS    (1 * NS)    /* line: joined after this without a
                                     * greeting (a server that sends none) */
#define SWEEP_NS        (200 * MS)
#define RSS_SAMPLE_NS   (100 * MS)
#define OUTQ_MSGS       256         /* rate mode: a publisher's backlog */

enum role { ROLE_SUB, ROLE_SLOW, ROLE_PUB };
enum cstate { CS_NEW, CS_CONNECTING, CS_TLS, CS_HANDSHAKE, CS_JOINED,
              CS_CLOSED };

/* What a TLS connection waits for beside the obvious. */
#define TW_READ_WANTS_WRITE 0x1    /* a read needs the socket writable */
#define TW_WRITE_WANTS_READ 0x2    /* a write needs it readable */
enum phase { PH_CONNECT, PH_RUN, PH_DRAIN, PH_STOP };

struct pub;
struct worker;

struct bconn {
    struct worker *w;           /* the worker that owns it (borrowed) */
    int            fd;
    uint8_t        role;        /* enum role */
    uint8_t        state;       /* enum cstate */
    uint8_t        tls_wait;    /* TW_* */
    uint8_t        node;        /* its target: cfg->targets[node] */
    uint32_t       gidx;        /* global index: picks the source address */
    size_t         inlen, incap; /* a partial frame kept between reads */
    char          *in;          /* owned; allocated only while needed */
    uint64_t      *last;        /* ROLE_SUB: last seq per publisher
                                 * (borrowed from the worker's array) */
    struct pub    *pub;         /* the publisher sending here (borrowed) */
    struct pub    *ack;         /* the publisher whose messages this
                                 * subscriber confirms (borrowed) */
    uint64_t       since_ns;    /* when its handshake began */
    struct tls    *tls;         /* owned; NULL for plain TCP */
};

struct pub {
    uint32_t      id;
    struct bconn *c;            /* where it sends (borrowed) */
    uint64_t      seq;          /* last sequence number used */
    long          inflight;     /* sent, not yet seen by its subscriber */
    char         *out;          /* owned: bytes not yet written */
    size_t        outoff, outlen, outcap;
    int           want_out;
    uint64_t      next_ns;      /* rate mode: when the next one is due */
    uint64_t      win_sent, sent, skipped;
};

struct bench;

struct worker {
    int               id;
    struct bench     *b;
    struct loop       loop;
    struct loop_timer tick;     /* every TICK_MS: look at the phase */
    struct loop_timer due;      /* rate mode, worker 0: next message due */
    struct bconn     *conns;    /* owned: conns[0..nconns) */
    size_t            nconns, next, pending;
    uint64_t         *lastseq;  /* owned: per subscriber x publisher */
    char             *rbuf;     /* owned: the read scratch buffer */
    pthread_t         th;
    int               phase;    /* the phase this worker last acted on */
    uint64_t          t0, t1;   /* its copy of the window */
    uint64_t          sweep_ns;
    uint64_t          rng;      /* WebSocket masking keys (wire_rand) */
    uint64_t          got, got_told, ooo, foreign;
    uint64_t          got_same, got_cross;
    uint64_t          node_got[BENCH_TARGETS_MAX];
    long              node_joined[BENCH_TARGETS_MAX];
    uint64_t          seen, seen_told;  /* all deliveries, warm-up too */
    long              joined_sub, joined_slow, failed, disconnected;
    long              slow_closed, errors;
    int               first_errno;
    struct hist       lat;
    struct hist       lat_same, lat_cross;
};

struct bench {
    const struct bench_cfg *cfg;
    struct worker   *w;         /* owned: w[0..nw) */
    int              nw;
    struct pub      *pubs;      /* owned: pubs[0..npubs) */
    size_t           npubs;
    size_t           ntotal;    /* connections, all roles */
    size_t           maxframe;  /* payload limit handed to wire_next */
    size_t           rbufsize;
    size_t           framelen;  /* one PUBLISH request on the wire */
    int              bind_src;  /* spread clients over 127.0.0.x */
    uint64_t         interval_ns;   /* rate mode, per publisher */
    uint64_t         ws_seed;   /* WebSocket keys (wire_ws_key) */
    char            *payload;   /* owned: worker 0's payload scratch */
    struct tls_ctx  *tls_ctx;   /* owned; NULL for plain TCP */
    _Atomic int      phase;
    _Atomic int      stop_requested;    /* SIGINT or SIGTERM came */
    _Atomic uint64_t t0, t1;
    _Atomic long     settled;   /* joined + failed, all workers */
    _Atomic long     subs;      /* subscribers joined, all workers */
    _Atomic long     node_subs[BENCH_TARGETS_MAX];  /* the same by target */
    _Atomic uint64_t got;       /* window deliveries told so far */
    _Atomic uint64_t seen;      /* all deliveries told so far: progress */
    /* Worker 0's bookkeeping: */
    uint64_t         start_ns, connect_deadline, drain_deadline;
    uint64_t         drain_got, drain_idle_ns;  /* progress while draining */
    uint64_t         rss_next_ns;
    int              cpu0_taken;
    struct os_proc   cpu0[BENCH_PIDS_MAX];  /* each pid at t0 */
    struct os_proc   cpu1[BENCH_PIDS_MAX];  /* and at t1 */
    int              cpu0_ok[BENCH_PIDS_MAX], cpu1_ok[BENCH_PIDS_MAX];
    struct os_proc   self0, self1;  /* chatbench itself at t0 and t1 */
    int              self0_ok, self1_ok;
    struct bench_result *r;
};

/* The publisher count, as an index bound. */
static uint32_t
npub(const struct bench *b)
{
    return (uint32_t)b->npubs;
}

/* Close c, whatever its state, and count why. */
static void
conn_end(struct worker *w, struct bconn *c, int err_no)
{
    if (c->state == CS_CLOSED)
        return;
    if (c->state == CS_NEW || c->state == CS_CONNECTING ||
        c->state == CS_TLS || c->state == CS_HANDSHAKE) {
        if (c->state != CS_NEW)
            w->pending--;
        w->failed++;
        atomic_fetch_add(&w->b->settled, 1);
        if (w->first_errno == 0)
            w->first_errno = err_no;
    } else if (c->role == ROLE_SLOW) {
        w->slow_closed++;
    } else {
        w->disconnected++;
    }
    tls_free(c->tls);
    c->tls = NULL;
    if (c->fd != -1) {
        loop_del(&w->loop, c->fd, LOOP_READ | LOOP_WRITE);
        os_close_reset(c->fd);
    }
    c->fd = -1;
    c->state = CS_CLOSED;
    free(c->in);
    c->in = NULL;
    c->inlen = c->incap = 0;
}

/* The server confirmed c: it counts from now on. */
static void
conn_joined(struct worker *w, struct bconn *c)
{
    if (c->state != CS_HANDSHAKE)
        return;
    c->state = CS_JOINED;
    w->pending--;
    atomic_fetch_add(&w->b->settled, 1);
    if (c->role == ROLE_SUB) {
        w->joined_sub++;
        w->node_joined[c->node]++;
        atomic_fetch_add(&w->b->subs, 1);
        atomic_fetch_add(&w->b->node_subs[c->node], 1);
    } else if (c->role == ROLE_SLOW) {
        w->joined_slow++;
        /* From now on it never reads, so nothing watches it: whether the
         * server closed it is asked once, at the end (note_slow_closed). */
        loop_del(&w->loop, c->fd, LOOP_READ);
    }
}

static loop_fd_fn on_event;

/* Write a short first request on c, all of it.  Returns 0 or -1 with
 * errno. */
static int
write_hello(struct bconn *c, const char *buf, size_t n)
{
    if (c->tls == NULL)
        return io_write_all(c->fd, buf, n);
    if (tls_write(c->tls, buf, n) == (ssize_t)n)
        return 0;
    if (errno == EAGAIN)        /* cannot be, on a fresh connection */
        errno = EPROTO;
    return -1;
}

/* The TCP handshake is done: say hello and wait for the server's word. */
static void
conn_connected(struct worker *w, struct bconn *c, uint64_t now)
{
    const struct bench_cfg *cfg = w->b->cfg;
    char hello[512];
    size_t n;

    c->state = CS_HANDSHAKE;
    c->since_ns = now;
    if (c->role == ROLE_PUB) {
        n = wire_encode_hello(cfg->wire, hello, sizeof(hello));
    } else if (cfg->wire == WIRE_WS) {
        /* The chat lines wait for the 101 (WIRE_EV_UPGRADED). */
        char key[WIRE_WS_KEY_LEN + 1];

        wire_ws_key(key, w->b->ws_seed, c->gidx);
        n = wire_ws_upgrade(hello, sizeof(hello),
                            cfg->targets[c->node].text, key);
    } else {
        n = wire_encode_sub(cfg->wire, hello, sizeof(hello), cfg->channel,
                            c->gidx, &w->rng);
    }
    /* A short request on a fresh connection: it fits the empty socket
     * buffer, so this never waits. */
    if (n > 0 && write_hello(c, hello, n) == -1) {
        conn_end(w, c, errno);
        return;
    }
    loop_del(&w->loop, c->fd, LOOP_WRITE);
    if (loop_add(&w->loop, c->fd, LOOP_READ, on_event, c) == -1)
        conn_end(w, c, errno);
}

/* Go on with c's TLS handshake (begin it, the first time): wait for what
 * OpenSSL asks for, and once it is done say hello. */
static void
conn_tls_step(struct worker *w, struct bconn *c, uint64_t now)
{
    int r;

    if (c->tls == NULL) {
        c->tls = tls_new_client(w->b->tls_ctx, c->fd);
        c->state = CS_TLS;
    }
    r = tls_handshake(c->tls);
    if (r == 1) {
        conn_connected(w, c, now);
        return;
    }
    if (r == -1) {
        if (w->failed == 0)
            log_warnx("TLS handshake with %s failed: %s",
                      w->b->cfg->targets[c->node].text, tls_why(c->tls));
        conn_end(w, c, errno);
        return;
    }
    loop_del(&w->loop, c->fd, LOOP_READ | LOOP_WRITE);
    if (loop_add(&w->loop, c->fd, tls_want(c->tls) == TLS_WANT_READ ?
                 LOOP_READ : LOOP_WRITE, on_event, c) == -1)
        conn_end(w, c, errno);
}

/* TCP is up: TLS first if asked for, then the protocol's hello. */
static void
conn_up(struct worker *w, struct bconn *c, uint64_t now)
{
    if (w->b->tls_ctx != NULL)
        conn_tls_step(w, c, now);
    else
        conn_connected(w, c, now);
}

/* Begin connecting c.  Returns 0, or 1 if the server cannot take it yet
 * (a full Unix backlog: try again later), or -1 if no descriptor is left. */
static int
conn_open(struct worker *w, struct bconn *c, uint64_t now)
{
    const struct addr *a = &w->b->cfg->targets[c->node];
    int fd, e;

    fd = socket(a->family, SOCK_STREAM, 0);
    if (fd == -1) {
        e = errno;
        conn_end(w, c, e);
        return e == EMFILE || e == ENFILE ? -1 : 0;
    }
    c->fd = fd;
    if (sock_set_nonblock(fd, 1) == -1 || sock_set_cloexec(fd) == -1 ||
        (w->b->bind_src &&
         os_bind_loopback(fd, 1 + c->gidx / PER_SOURCE_IP) == -1)) {
        conn_end(w, c, errno);
        return 0;
    }
    if (c->pub != NULL)
        sock_set_nodelay(fd);
    c->state = CS_CONNECTING;
    w->pending++;
    if (connect(fd, &a->u.sa, a->len) == 0) {
        conn_up(w, c, now);
        return 0;
    }
    if (errno == EAGAIN) {              /* Unix socket, backlog full */
        close(fd);
        c->fd = -1;
        c->state = CS_NEW;
        w->pending--;
        return 1;
    }
    if (errno != EINPROGRESS) {
        conn_end(w, c, errno);
        return 0;
    }
    if (loop_add(&w->loop, fd, LOOP_WRITE, on_event, c) == -1)
        conn_end(w, c, errno);
    return 0;
}

/* The connect phase: keep up to cfg->pending handshakes going, and let a
 * line client that got no greeting join anyway after a while. */
static void
start_connects(struct worker *w, uint64_t now)
{
    size_t i;
    int r;

    while (w->pending < (size_t)w->b->cfg->pending && w->next < w->nconns) {
        r = conn_open(w, &w->conns[w->next], now);
        if (r == 1)
            break;
        w->next++;
        if (r == -1) {
            /* Out of descriptors: the rest cannot be opened either. */
            while (w->next < w->nconns)
                conn_end(w, &w->conns[w->next++], EMFILE);
        }
    }
    if (w->b->cfg->wire != WIRE_LINE || now < w->sweep_ns)
        return;
    w->sweep_ns = now + SWEEP_NS;
    for (i = 0; i < w->next; i++)
        if (w->conns[i].state == CS_HANDSHAKE &&
            now - w->conns[i].since_ns > LINE_JOIN_NS)
            conn_joined(w, &w->conns[i]);
}

/* A message arrived at subscriber c at time now. */
static void
deliver(struct worker *w, struct bconn *c, const char *data, size_t len,
        uint64_t now)
{
    uint32_t pub;
    uint64_t seq, ts;

    if (wire_payload_decode(data, len, &pub, &seq, &ts) == -1)
        return;                 /* a greeting, a notice */
    if (pub >= npub(w->b)) {
        w->foreign++;
        return;
    }
    w->seen++;
    if (c->ack != NULL && c->ack->id == pub && c->ack->inflight > 0)
        c->ack->inflight--;
    if (seq <= c->last[pub])
        w->ooo++;
    else
        c->last[pub] = seq;
    if (ts >= w->t0 && ts < w->t1) {
        uint64_t lat = now > ts ? now - ts : 0;

        w->got++;
        w->node_got[c->node]++;
        hist_record(&w->lat, lat);
        if (w->b->pubs[pub].c->node == c->node) {
            w->got_same++;
            hist_record(&w->lat_same, lat);
        } else {
            w->got_cross++;
            hist_record(&w->lat_cross, lat);
        }
    }
}

static void pub_flush(struct worker *w, struct pub *p);

/* Write some of buf[0..len) on c.  Returns as send(2).  After a TLS write
 * that must first read (EAGAIN), c waits for LOOP_READ (tls_turn()); after
 * one that waits for the socket, the next write must begin with the same
 * bytes. */
static ssize_t
conn_write(struct bconn *c, const char *buf, size_t len)
{
    ssize_t n;

    if (c->tls == NULL)
        return sock_send(c->fd, buf, len);
    n = tls_write(c->tls, buf, len);
    if (n == -1 && errno == EAGAIN && tls_want(c->tls) == TLS_WANT_READ)
        c->tls_wait |= TW_WRITE_WANTS_READ;
    return n;
}

/* Send a short request of our own (a PONG, an IRC JOIN) on c.  On a
 * publisher's connection it goes behind the messages still queued, never
 * into the middle of one; if the queue is full it is dropped (a PONG is
 * asked for again).  Elsewhere nothing else is ever written, so it fits
 * the socket buffer. */
static void
conn_send(struct worker *w, struct bconn *c, const char *buf, size_t n)
{
    struct pub *p = c->pub;
    ssize_t k = 0;

    if (n == 0)
        return;
    if (p == NULL || p->outoff == p->outlen) {
        k = conn_write(c, buf, n);
        if (k == (ssize_t)n)
            return;
        if (k == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
            conn_end(w, c, errno);
            return;
        }
        if (k == -1)
            k = 0;
        if (p == NULL) {            /* a subscriber's socket is never full */
            conn_end(w, c, EPROTO);
            return;
        }
        p->outoff = p->outlen = 0;
    }
    if (p->outcap - p->outlen < n - (size_t)k)
        return;
    memcpy(p->out + p->outlen, buf + k, n - (size_t)k);
    p->outlen += n - (size_t)k;
    if (!p->want_out)
        pub_flush(w, p);
}

/* Act on one frame received on c. */
static void
on_frame(struct worker *w, struct bconn *c, const struct wire_frame *f,
         uint64_t now)
{
    const struct bench_cfg *cfg = w->b->cfg;
    char ctl[600], text[128], key[WIRE_WS_KEY_LEN + 1];
    size_t n;

    switch (f->ev) {
    case WIRE_EV_MSG:
        if (c->state == CS_HANDSHAKE && cfg->wire == WIRE_LINE)
            conn_joined(w, c);  /* its greeting, or a first message */
        /* Before it has joined, a client counts nothing (chat: the MOTD,
         * its own lobby's chatter). */
        if (c->role == ROLE_SUB && c->state == CS_JOINED)
            deliver(w, c, f->data, f->len, now);
        break;
    case WIRE_EV_JOINED:
        /* IRC: a JOIN of our own nick (others' come only once we are in
         * the channel, but a server may say otherwise first). */
        if (cfg->wire != WIRE_IRC ||
            wire_irc_is_me(f->data, f->len, c->gidx))
            conn_joined(w, c);
        break;
    case WIRE_EV_NOTICE:
        if (c->state == CS_HANDSHAKE &&
            wire_chat_is_joined(f->data, f->len, c->gidx, cfg->channel))
            conn_joined(w, c);
        break;
    case WIRE_EV_PING:
        n = wire_encode_pong(cfg->wire, ctl, sizeof(ctl), f->data, f->len,
                             &w->rng);
        conn_send(w, c, ctl, n);
        break;
    case WIRE_EV_WELCOME:
        if (c->state != CS_HANDSHAKE)
            break;
        n = 0;
        if (c->pub != NULL && cfg->irc_oper != NULL)
            n = wire_encode_oper(ctl, sizeof(ctl), cfg->irc_oper, c->gidx);
        n += wire_encode_join(cfg->wire, ctl + n, sizeof(ctl) - n,
                              cfg->channel);
        conn_send(w, c, ctl, n);
        break;
    case WIRE_EV_UPGRADED:
        if (c->state != CS_HANDSHAKE)
            break;
        wire_ws_key(key, w->b->ws_seed, c->gidx);
        if (!wire_ws_accept_is(f->data, f->len, key)) {
            if (w->errors++ == 0)
                log_warnx("the server's Sec-WebSocket-Accept is wrong");
            conn_end(w, c, EPROTO);
            break;
        }
        n = wire_encode_sub(cfg->wire, ctl, sizeof(ctl), cfg->channel,
                            c->gidx, &w->rng);
        conn_send(w, c, ctl, n);
        break;
    case WIRE_EV_ERROR:
    case WIRE_EV_CLOSE:
        if (w->errors++ == 0) {
            log_escape(text, sizeof(text), f->data,
                       f->len < 100 ? f->len : 100);
            log_warnx("server %s: %s", f->ev == WIRE_EV_CLOSE ?
                      "closed the WebSocket" : "error", text);
        }
        if (c->state == CS_HANDSHAKE || f->ev == WIRE_EV_CLOSE)
            conn_end(w, c, f->ev == WIRE_EV_CLOSE ? ECONNRESET :
                           ECONNREFUSED);
        break;
    case WIRE_EV_OTHER:
        break;
    }
}

/* Keep buf[0..len) as c's partial frame. */
static void
keep_partial(struct bconn *c, const char *buf, size_t len)
{
    if (len == 0) {
        c->inlen = 0;
        if (c->incap > 4096) {  /* give back what a big frame took */
            free(c->in);
            c->in = NULL;
            c->incap = 0;
        }
        return;
    }
    if (len > c->incap) {
        c->in = xrealloc(c->in, len);
        c->incap = len;
    }
    memmove(c->in, buf, len);
    c->inlen = len;
}

/* Read what c has into buf[0..len).  Plain: one recv, and *full says
 * whether it filled buf (so there may be more).  TLS: record after record
 * while a whole one fits, and *full says it stopped for room, not for an
 * empty socket.  Returns as recv(2); a TLS read that must first write
 * makes c wait for LOOP_WRITE (tls_turn() brings it back here). */
static ssize_t
conn_recv(struct worker *w, struct bconn *c, char *buf, size_t len,
          int *full)
{
    size_t got = 0;
    ssize_t n;

    if (c->tls == NULL) {
        n = sock_recv(c->fd, buf, len);
        *full = n > 0 && (size_t)n == len;
        return n;
    }
    do {
        n = tls_read(c->tls, buf + got, len - got);
        if (n > 0)
            got += (size_t)n;
    } while (n > 0 && len - got >= TLS_RECORD);
    *full = n > 0;
    if (n == -1 && errno == EAGAIN && tls_want(c->tls) == TLS_WANT_WRITE &&
        !(c->tls_wait & TW_READ_WANTS_WRITE)) {
        c->tls_wait |= TW_READ_WANTS_WRITE;
        if (loop_add(&w->loop, c->fd, LOOP_WRITE, on_event, c) == -1)
            return -1;
    }
    /* An end or an error after some bytes: those now, it again next. */
    if (got > 0) {
        if (n <= 0 && !(n == -1 && errno == EAGAIN))
            *full = 1;
        return (ssize_t)got;
    }
    return n;
}

/* c is readable: read, cut frames, act on them. */
static void
on_readable(struct worker *w, struct bconn *c)
{
    const struct bench *b = w->b;
    struct wire_frame f;
    const char *why = "";
    size_t have, off, used, room;
    ssize_t n;
    uint64_t now;
    int round, full;

    /* TLS: OpenSSL may hold decrypted bytes the poller cannot see. */
    for (round = 0; round < READ_ROUNDS ||
                    (c->tls != NULL && tls_has_pending(c->tls)); round++) {
        have = c->inlen;
        if (have > 0)
            memcpy(w->rbuf, c->in, have);
        room = b->rbufsize - have;
        n = conn_recv(w, c, w->rbuf + have, room, &full);
        if (n == 0) {
            conn_end(w, c, ECONNRESET);
            return;
        }
        if (n == -1) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                conn_end(w, c, errno);
            return;
        }
        now = clock_ns();
        have += (size_t)n;
        for (off = 0; off < have; off += used) {
            enum wire_status st = wire_next(b->cfg->wire, w->rbuf + off,
                                            have - off, b->maxframe, &f,
                                            &used, &why);
            if (st == WIRE_NEED_MORE)
                break;
            if (st == WIRE_BAD) {
                if (w->errors++ == 0)
                    log_warnx("cannot parse what the server sent: %s", why);
                conn_end(w, c, EPROTO);
                return;
            }
            on_frame(w, c, &f, now);
            if (c->state == CS_CLOSED)
                return;
        }
        keep_partial(c, w->rbuf + off, have - off);
        if (!full)
            return;
    }
}

/* Write what p has queued; watch for LOOP_WRITE while some is left. */
static void
pub_flush(struct worker *w, struct pub *p)
{
    struct bconn *c = p->c;
    ssize_t n;

    while (p->outoff < p->outlen) {
        n = conn_write(c, p->out + p->outoff, p->outlen - p->outoff);
        if (n > 0) {
            p->outoff += (size_t)n;
            continue;
        }
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* TLS that must read first: the readable socket brings it
             * back (tls_turn()), a writable one would only spin. */
            if (c->tls_wait & TW_WRITE_WANTS_READ)
                return;
            if (!p->want_out &&
                loop_add(&w->loop, c->fd, LOOP_WRITE, on_event, c) == -1) {
                conn_end(w, c, errno);
                return;
            }
            p->want_out = 1;
            return;
        }
        conn_end(w, c, n == 0 ? EPIPE : errno);
        return;
    }
    p->outoff = p->outlen = 0;
    if (p->want_out) {
        p->want_out = 0;
        if (!(c->tls_wait & TW_READ_WANTS_WRITE))
            loop_del(&w->loop, c->fd, LOOP_WRITE);
    }
}

/* How many messages p should send now. */
static uint64_t
pub_due(struct bench *b, struct pub *p, uint64_t now)
{
    uint64_t due;

    if (b->cfg->max)
        return p->inflight < b->cfg->window ?
               (uint64_t)(b->cfg->window - p->inflight) : 0;
    if (now < p->next_ns)
        return 0;
    if (now - p->next_ns > RATE_BURST_NS) {
        /* Far behind (the loop was busy): do not burst to catch up. */
        p->skipped += (now - p->next_ns) / b->interval_ns;
        p->next_ns = now;
    }
    due = (now - p->next_ns) / b->interval_ns + 1;
    p->next_ns += due * b->interval_ns;
    return due;
}

/* Send what each publisher owes, stamped now. */
static void
publish(struct worker *w)
{
    struct bench *b = w->b;
    const struct bench_cfg *cfg = b->cfg;
    uint64_t now = clock_ns(), t0 = w->t0, t1 = w->t1, due, room, k;
    size_t i, n;

    if (now >= t1)
        return;
    for (i = 0; i < b->npubs; i++) {
        struct pub *p = &b->pubs[i];

        if (p->c == NULL || p->c->state != CS_JOINED)
            continue;
        due = pub_due(b, p, now);
        if (due == 0)
            continue;
        if (p->outoff == p->outlen)
            p->outoff = p->outlen = 0;
        room = (p->outcap - p->outlen) / b->framelen;
        if (due > room) {
            if (!cfg->max)
                p->skipped += due - room;
            due = room;
        }
        for (k = 0; k < due; k++) {
            wire_payload_encode(b->payload, cfg->size, p->id, ++p->seq, now);
            n = wire_encode_pub(cfg->wire, p->out + p->outlen,
                                p->outcap - p->outlen, cfg->channel,
                                b->payload, cfg->size, &w->rng);
            p->outlen += n;
            p->inflight++;
            p->sent++;
            if (now >= t0)
                p->win_sent++;
        }
        if (!p->want_out)
            pub_flush(w, p);
    }
}

/* The run is over: count the slow clients the server has closed. */
static void
note_slow_closed(struct worker *w)
{
    size_t i;

    for (i = 0; i < w->nconns; i++) {
        struct bconn *c = &w->conns[i];

        if (c->role == ROLE_SLOW && c->state == CS_JOINED &&
            os_peer_closed(c->fd))
            conn_end(w, c, ECONNRESET);
    }
}

/* This worker sees phase ph for the first time. */
static void
worker_enter(struct worker *w, int ph)
{
    size_t i;

    if (w->phase == PH_CONNECT && ph != PH_CONNECT) {
        /* Whoever has not joined by now does not take part. */
        for (i = 0; i < w->nconns; i++)
            if (w->conns[i].state != CS_JOINED)
                conn_end(w, &w->conns[i], ETIMEDOUT);
        w->next = w->nconns;
    }
    if (ph == PH_STOP)
        note_slow_closed(w);
    w->t0 = atomic_load(&w->b->t0);
    w->t1 = atomic_load(&w->b->t1);
    w->phase = ph;
}

/* Read every watched process into snap[]; ok[i] says whether pid i
 * could be read. */
static void
read_procs(const struct bench_cfg *cfg, struct os_proc *snap, int *ok)
{
    int i;

    for (i = 0; i < cfg->npids; i++)
        ok[i] = os_proc_read(cfg->pids[i], &snap[i]) == 0;
}

static void
sample_rss(struct bench *b, uint64_t now)
{
    struct os_proc ps;
    int i;

    if (b->cfg->npids == 0 || now < b->rss_next_ns)
        return;
    b->rss_next_ns = now + RSS_SAMPLE_NS;
    for (i = 0; i < b->cfg->npids; i++)
        if (os_proc_read(b->cfg->pids[i], &ps) == 0 &&
            ps.rss_kib > b->r->proc[i].rss_peak_kib)
            b->r->proc[i].rss_peak_kib = ps.rss_kib;
}

/* Everyone has joined (or the time is up): set the window and go. */
static void
begin_run(struct bench *b, uint64_t now)
{
    const struct bench_cfg *cfg = b->cfg;
    struct os_proc ps;
    long subs = atomic_load(&b->subs);
    size_t i;
    int k;

    b->r->connect_s = (double)(now - b->start_ns) / 1e9;
    for (k = 0; k < cfg->npids; k++) {
        struct bench_proc *p = &b->r->proc[k];

        if (os_proc_read(cfg->pids[k], &ps) == 0) {
            p->rss_joined_kib = ps.rss_kib;
            if (ps.rss_kib > p->rss_peak_kib)
                p->rss_peak_kib = ps.rss_kib;
        }
    }
    for (i = 0; i < b->npubs; i++)
        b->pubs[i].next_ns = now + b->interval_ns * i / (b->npubs ? b->npubs : 1);
    atomic_store(&b->t0, now + (uint64_t)(cfg->warmup_s * 1e9));
    atomic_store(&b->t1, now + (uint64_t)((cfg->warmup_s + cfg->duration_s) * 1e9));
    atomic_store(&b->phase, PH_RUN);
    if (cfg->verbose)
        fprintf(stderr, "chatbench: %ld of %ld subscribers joined in %.2f s\n",
                subs, cfg->clients, b->r->connect_s);
}

/* Deliveries the window owes: every window message to every subscriber
 * but, where the server does not echo (IRC), the one that sent it; in
 * *same those to subscribers on the publisher's target, in *cross the
 * rest.  A publisher sends only once its connection has joined, so a
 * publisher with messages in the window is one of the subscribers
 * counted. */
static void
expected_split(const struct bench *b, uint64_t *same, uint64_t *cross)
{
    uint64_t sent, subs = 0, here;
    int own = wire_echoes_own(b->cfg->wire), k;
    size_t i;

    for (k = 0; k < b->cfg->ntargets; k++)
        subs += (uint64_t)atomic_load(&b->node_subs[k]);
    *same = *cross = 0;
    for (i = 0; i < b->npubs; i++) {
        sent = b->pubs[i].win_sent;
        if (sent == 0)
            continue;
        here = (uint64_t)atomic_load(&b->node_subs[b->pubs[i].c->node]);
        if (!own && b->pubs[i].c->role == ROLE_SUB && here > 0)
            here--;
        *same += sent * here;
        *cross += sent * (subs - (uint64_t)atomic_load(
                                      &b->node_subs[b->pubs[i].c->node]));
    }
}

static uint64_t
expected(const struct bench *b)
{
    uint64_t same, cross;

    expected_split(b, &same, &cross);
    return same + cross;
}

/* Worker 0 moves the phases along. */
static void
control(struct worker *w, uint64_t now)
{
    struct bench *b = w->b;
    const struct bench_cfg *cfg = b->cfg;
    int ph = atomic_load(&b->phase);
    uint64_t got;

    if (atomic_load(&b->stop_requested) && ph != PH_STOP) {
        if (ph == PH_CONNECT)
            begin_run(b, now);
        if (ph != PH_DRAIN) {
            read_procs(cfg, b->cpu1, b->cpu1_ok);
            b->self1_ok = os_proc_read(getpid(), &b->self1) == 0;
        }
        atomic_store(&b->t1, now < atomic_load(&b->t1) ? now : atomic_load(&b->t1));
        atomic_store(&b->phase, PH_STOP);
        return;
    }
    switch (ph) {
    case PH_CONNECT:
        if ((size_t)atomic_load(&b->settled) >= b->ntotal ||
            now >= b->connect_deadline)
            begin_run(b, now);
        break;
    case PH_RUN:
        sample_rss(b, now);
        if (!b->cpu0_taken && now >= w->t0) {
            b->cpu0_taken = 1;
            read_procs(cfg, b->cpu0, b->cpu0_ok);
            b->self0_ok = os_proc_read(getpid(), &b->self0) == 0;
        }
        if (now >= w->t1) {
            int k;

            read_procs(cfg, b->cpu1, b->cpu1_ok);
            b->self1_ok = os_proc_read(getpid(), &b->self1) == 0;
            for (k = 0; k < cfg->npids; k++)
                if (b->cpu1_ok[k])
                    b->r->proc[k].rss_end_kib = b->cpu1[k].rss_kib;
            /* Drain while deliveries keep coming, within a hard cap. */
            b->drain_deadline = now + (uint64_t)((cfg->drain_s * 10 + 5) * 1e9);
            b->drain_got = atomic_load(&b->seen);
            b->drain_idle_ns = now + (uint64_t)(cfg->drain_s * 1e9);
            atomic_store(&b->phase, PH_DRAIN);
        }
        break;
    case PH_DRAIN:
        sample_rss(b, now);
        got = atomic_load(&b->seen);
        if (got != b->drain_got) {
            b->drain_got = got;
            b->drain_idle_ns = now + (uint64_t)(cfg->drain_s * 1e9);
        }
        if (atomic_load(&b->got) >= expected(b) || now >= b->drain_idle_ns ||
            now >= b->drain_deadline)
            atomic_store(&b->phase, PH_STOP);
        break;
    default:
        break;
    }
}

/* A timer's only job: end the wait, so that a loop pass (and its
 * before-wait hook, worker_pass) comes. */
static void
wake(struct loop *l, void *arg)
{
    (void)l;
    (void)arg;
}

/* Rate mode: wake worker 0 when the next message is due. */
static void
arm_due(struct worker *w, uint64_t now)
{
    struct bench *b = w->b;
    uint64_t soon = now + TICK_MS * MS;
    size_t i;

    if (b->cfg->max)
        return;
    for (i = 0; i < b->npubs; i++)
        if (b->pubs[i].next_ns < soon)
            soon = b->pubs[i].next_ns;
    loop_timer_start(&w->loop, &w->due,
                     soon <= now ? 0 : (soon - now + MS - 1) / MS, 0, wake, w);
}

/* A TLS connection waited for the other direction (TW_*): the readiness
 * that came serves the call that asked for it.  Returns the mask as the
 * handlers should see it. */
static int
tls_turn(struct worker *w, struct bconn *c, int mask)
{
    int as = 0;

    if ((c->tls_wait & TW_READ_WANTS_WRITE) && (mask & LOOP_WRITE)) {
        c->tls_wait &= ~TW_READ_WANTS_WRITE;
        if (c->pub == NULL || !c->pub->want_out)
            loop_del(&w->loop, c->fd, LOOP_WRITE);
        as |= LOOP_READ;
    }
    if ((c->tls_wait & TW_WRITE_WANTS_READ) && (mask & LOOP_READ)) {
        c->tls_wait &= ~TW_WRITE_WANTS_READ;
        as |= LOOP_WRITE;
    }
    return mask | as;
}

/* A readiness event on connection arg. */
static void
on_event(struct loop *l, int fd, int mask, void *arg)
{
    struct bconn *c = arg;
    struct worker *w = c->w;
    int e = 0;
    socklen_t elen = sizeof(e);

    (void)l;
    if (c->state == CS_CONNECTING) {
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
            e = errno;
        if (e != 0)
            conn_end(w, c, e);
        else
            conn_up(w, c, clock_ns());
        return;
    }
    if (c->state == CS_TLS) {
        conn_tls_step(w, c, clock_ns());
        return;
    }
    if (c->tls_wait != 0)
        mask = tls_turn(w, c, mask);
    /* A hang-up or an error comes as LOOP_READ: the read finds it. */
    if (mask & LOOP_READ)
        on_readable(w, c);
    if (c->state != CS_CLOSED && (mask & LOOP_WRITE) && c->pub != NULL)
        pub_flush(w, c->pub);
}

/* Tell the others what this worker received. */
static void
tell(struct worker *w)
{
    struct bench *b = w->b;

    if (w->seen == w->seen_told)
        return;
    atomic_fetch_add(&b->got, w->got - w->got_told);
    atomic_fetch_add(&b->seen, w->seen - w->seen_told);
    w->got_told = w->got;
    w->seen_told = w->seen;
}

/* Once per loop pass, before it sleeps: worker 0 steers the phases, then
 * each worker follows them -- connects, publishes (worker 0), stops. */
static void
worker_pass(struct loop *l, void *arg)
{
    struct worker *w = arg;
    uint64_t now = clock_ns();
    int ph;

    if (w->id == 0)
        control(w, now);
    ph = atomic_load(&w->b->phase);
    if (ph != w->phase)
        worker_enter(w, ph);
    if (ph == PH_CONNECT)
        start_connects(w, now);
    if (w->id == 0 && ph == PH_RUN) {
        publish(w);
        arm_due(w, now);
    }
    tell(w);
    if (ph == PH_STOP)
        loop_stop(l);
}

/* One worker's event loop, until the phase is STOP. */
static void *
worker_main(void *arg)
{
    struct worker *w = arg;

    if (loop_run(&w->loop) == -1) {
        log_warn("chatbench worker %d: the event loop failed", w->id);
        atomic_store(&w->b->phase, PH_STOP);
    }
    return NULL;
}

/* How many leading subscribers confirm publishers' messages (see
 * acked_pub()); they belong to worker 0, which publishes. */
static long
ackers(const struct bench_cfg *cfg)
{
    long m = cfg->publishers;

    if (m == 0 || wire_echoes_own(cfg->wire) || cfg->wire == WIRE_REDIS)
        return m;
    return m < cfg->clients ? m + 1 : m;
}

/* The publisher whose messages subscriber i confirms (--max counts them
 * in flight until then), or -1.  Publisher j sends on subscriber j's
 * connection (Redis: on a connection of its own) and is confirmed by that
 * subscriber, which hears its own messages -- but an IRC server echoes
 * nothing, so there subscriber j + 1 confirms publisher j (subscriber 0
 * confirms the last when everyone publishes). */
static long
acked_pub(const struct bench_cfg *cfg, long i)
{
    long n = cfg->clients, m = cfg->publishers;

    if (m == 0 || i >= n)
        return -1;
    if (wire_echoes_own(cfg->wire) || cfg->wire == WIRE_REDIS)
        return i < m ? i : -1;
    if (i >= 1 && i <= m)
        return i - 1;
    return i == 0 && m == n && n > 1 ? n - 1 : -1;
}

/* Which worker serves subscriber i (publishers' and their confirmers'
 * go to 0). */
static int
sub_worker(const struct bench *b, long i)
{
    if (b->nw == 1 || i < ackers(b->cfg))
        return 0;
    return (int)(i % b->nw);
}

/* Hand every connection to its worker and link publishers to theirs. */
static void
assign(struct bench *b)
{
    const struct bench_cfg *cfg = b->cfg;
    long n = cfg->clients, m = cfg->publishers, k = cfg->slow, i;
    int redis = cfg->wire == WIRE_REDIS, wi;
    size_t *fill = xcalloc((size_t)b->nw, sizeof(*fill));
    size_t *nsub = xcalloc((size_t)b->nw, sizeof(*nsub));
    struct bconn *c;

    b->ntotal = (size_t)(n + k + (redis ? m : 0));
    for (i = 0; i < n; i++) {
        b->w[sub_worker(b, i)].nconns++;
        nsub[sub_worker(b, i)]++;
    }
    b->w[b->nw - 1].nconns += (size_t)k;
    if (redis)
        b->w[0].nconns += (size_t)m;
    for (wi = 0; wi < b->nw; wi++) {
        b->w[wi].conns = xcalloc(b->w[wi].nconns ? b->w[wi].nconns : 1,
                                 sizeof(struct bconn));
        b->w[wi].lastseq = xcalloc(nsub[wi] * (size_t)(m ? m : 1) + 1,
                                   sizeof(uint64_t));
        nsub[wi] = 0;
    }
    for (i = 0; i < n + k + (redis ? m : 0); i++) {
        wi = i < n ? sub_worker(b, i) : i < n + k ? b->nw - 1 : 0;
        c = &b->w[wi].conns[fill[wi]++];
        c->w = &b->w[wi];
        c->fd = -1;
        c->gidx = (uint32_t)i;
        c->role = i < n ? ROLE_SUB : i < n + k ? ROLE_SLOW : ROLE_PUB;
        /* Round-robin, publishers too: Redis's own publisher connections
         * count from 0 again, so publisher j is on target j % n however
         * it sends. */
        c->node = (uint8_t)((c->role == ROLE_PUB ? i - n - k : i) %
                            cfg->ntargets);
        if (c->role == ROLE_SUB)
            c->last = b->w[wi].lastseq + (nsub[wi]++) * (size_t)(m ? m : 1);
        if (acked_pub(cfg, i) >= 0)
            c->ack = &b->pubs[acked_pub(cfg, i)];
        if (i < m) {                    /* publisher i sends here */
            if (!redis) {
                c->pub = &b->pubs[i];
                b->pubs[i].c = c;
            }
        } else if (c->role == ROLE_PUB) {
            c->pub = &b->pubs[i - n - k];
            b->pubs[i - n - k].c = c;
        }
    }
    free(fill);
    free(nsub);
}

/* A SIGINT or SIGTERM during the run: end it, with the figures so far. */
static void
on_stop_signal(struct loop *l, int signo, void *arg)
{
    struct bench *b = arg;

    (void)l;
    (void)signo;
    atomic_store(&b->stop_requested, 1);
}

/* Worker k's loop, its hook and its tick.  Worker 0's loop catches SIGINT
 * and SIGTERM; the others are set up after, so their threads inherit the
 * signals blocked and only worker 0 ever takes them.  Returns 0 or -1
 * with a reason in err. */
static int
worker_setup(struct bench *b, int k, char err[ERR_LEN])
{
    struct worker *w = &b->w[k];

    w->id = k;
    w->b = b;
    w->rng = b->ws_seed + (uint64_t)k;
    w->phase = PH_CONNECT;
    hist_init(&w->lat);
    hist_init(&w->lat_same);
    hist_init(&w->lat_cross);
    w->rbuf = xmalloc(b->rbufsize);
    if (loop_init(&w->loop, NULL, err) == -1) {
        memset(&w->loop, 0, sizeof(w->loop));   /* nothing to fini */
        return -1;
    }
    if (k == 0 && (loop_catch_signal(&w->loop, SIGINT) == -1 ||
                   loop_catch_signal(&w->loop, SIGTERM) == -1)) {
        errf(err, "cannot catch SIGINT and SIGTERM: %s", strerror(errno));
        return -1;
    }
    loop_on_signal(&w->loop, on_stop_signal, b);
    loop_before_wait(&w->loop, worker_pass, w);
    loop_timer_init(&w->tick);
    loop_timer_init(&w->due);
    loop_timer_start(&w->loop, &w->tick, TICK_MS, TICK_MS, wake, w);
    return 0;
}

/* Build the bench: workers, publishers, buffers. */
static int
bench_setup(struct bench *b, const struct bench_cfg *cfg,
            struct bench_result *r, char err[ERR_LEN])
{
    size_t i;
    int k, loop4 = 1;

    memset(b, 0, sizeof(*b));
    b->cfg = cfg;
    b->r = r;
    b->ws_seed = os_random_seed();
    b->nw = cfg->threads < 1 ? 1 : cfg->threads;
    b->npubs = (size_t)cfg->publishers;
    b->maxframe = cfg->size + 4096;
    b->rbufsize = 2 * (b->maxframe + WIRE_CTL_MAX + 64);
    if (b->rbufsize < READ_MIN)
        b->rbufsize = READ_MIN;
    b->framelen = wire_pub_len(cfg->wire, cfg->channel, cfg->size);
    b->interval_ns = cfg->max || cfg->rate <= 0 ? 1 :
                     (uint64_t)(1e9 * (double)cfg->publishers / cfg->rate);
    if (b->interval_ns == 0)
        b->interval_ns = 1;
    /* 127.0.0.1 alone has about 28,000 ephemeral ports, and the kernel's
     * search for a free one slows down as they fill (quadratic connect
     * time): spread a crowd over 127.0.0.2, .3, ... (all of 127/8 is
     * local on Linux), a thousand clients each. */
    for (k = 0; k < cfg->ntargets; k++) {
        const struct addr *a = &cfg->targets[k];

        if (a->family != AF_INET ||
            (ntohl(a->u.in.sin_addr.s_addr) >> 24) != 127)
            loop4 = 0;
    }
    b->bind_src = loop4 &&
                  cfg->clients + cfg->slow + cfg->publishers > PER_SOURCE_IP;
    b->payload = xmalloc(cfg->size);
    if (cfg->tls && (b->tls_ctx = tls_ctx_new_client(err)) == NULL)
        return -1;
    b->pubs = xcalloc(b->npubs ? b->npubs : 1, sizeof(*b->pubs));
    for (i = 0; i < b->npubs; i++) {
        size_t msgs = (size_t)cfg->window > OUTQ_MSGS ?
                      (size_t)cfg->window : OUTQ_MSGS;

        b->pubs[i].id = (uint32_t)i;
        b->pubs[i].outcap = msgs * b->framelen;
        b->pubs[i].out = xmalloc(b->pubs[i].outcap);
    }
    b->w = xcalloc((size_t)b->nw, sizeof(*b->w));
    for (k = 0; k < b->nw; k++)
        if (worker_setup(b, k, err) == -1)
            return -1;
    assign(b);
    return 0;
}

static void
bench_teardown(struct bench *b)
{
    size_t i;
    int k;

    for (k = 0; b->w != NULL && k < b->nw; k++) {
        struct worker *w = &b->w[k];

        for (i = 0; i < w->nconns; i++) {
            tls_free(w->conns[i].tls);
            if (w->conns[i].fd != -1)
                os_close_reset(w->conns[i].fd);
            free(w->conns[i].in);
        }
        free(w->conns);
        free(w->lastseq);
        free(w->rbuf);
        loop_fini(&w->loop);
    }
    free(b->w);
    for (i = 0; b->pubs != NULL && i < b->npubs; i++)
        free(b->pubs[i].out);
    free(b->pubs);
    free(b->payload);
    tls_ctx_free(b->tls_ctx);
}

/* Add up what the workers and publishers counted. */
static void
collect(struct bench *b, struct bench_result *r)
{
    const struct bench_cfg *cfg = b->cfg;
    struct os_proc ps;
    size_t i;
    int k;

    for (k = 0; k < b->nw; k++) {
        struct worker *w = &b->w[k];

        r->connected += w->joined_sub;
        r->slow_joined += w->joined_slow;
        r->failed += w->failed;
        r->disconnected += w->disconnected;
        r->slow_closed += w->slow_closed;
        r->server_errors += w->errors;
        r->deliveries += w->got;
        r->deliveries_same += w->got_same;
        r->deliveries_cross += w->got_cross;
        r->out_of_order += w->ooo;
        r->foreign += w->foreign;
        hist_merge(&r->lat, &w->lat);
        hist_merge(&r->lat_same, &w->lat_same);
        hist_merge(&r->lat_cross, &w->lat_cross);
        for (i = 0; i < (size_t)cfg->ntargets; i++) {
            r->node_connected[i] += w->node_joined[i];
            r->node_deliveries[i] += w->node_got[i];
        }
    }
    for (i = 0; i < b->npubs; i++) {
        r->sent += b->pubs[i].win_sent;
        r->sent_total += b->pubs[i].sent;
        r->skipped += b->pubs[i].skipped;
    }
    expected_split(b, &r->expected_same, &r->expected_cross);
    r->expected = r->expected_same + r->expected_cross;
    r->losses = r->expected > r->deliveries ? r->expected - r->deliveries : 0;
    r->window_s = (double)(atomic_load(&b->t1) - atomic_load(&b->t0)) / 1e9;
    if (r->window_s < 0)
        r->window_s = 0;
    if (b->self0_ok && b->self1_ok)
        r->self_cpu_s = b->self1.cpu_s - b->self0.cpu_s;
    for (k = 0; k < cfg->npids; k++) {
        struct bench_proc *p = &r->proc[k];

        if (b->cpu0_taken && b->cpu0_ok[k] && b->cpu1_ok[k]) {
            p->have = 1;
            p->cpu_s = b->cpu1[k].cpu_s - b->cpu0[k].cpu_s;
            if (r->deliveries > 0)
                p->ns_per_delivery = p->cpu_s * 1e9 / (double)r->deliveries;
        }
        if (os_proc_read(cfg->pids[k], &ps) == 0) {
            p->have = 1;
            p->hwm_kib = ps.hwm_kib;
        }
        if (!p->have)
            continue;
        /* The sum: one server made of several processes (the peaks are
         * each process's own, so their sum is an upper bound). */
        r->have_server = 1;
        r->server_cpu_s += p->cpu_s;
        r->rss_base_kib += p->rss_base_kib;
        r->rss_joined_kib += p->rss_joined_kib;
        r->rss_peak_kib += p->rss_peak_kib;
        r->rss_end_kib += p->rss_end_kib;
        r->hwm_kib += p->hwm_kib;
    }
    if (r->have_server && r->deliveries > 0)
        r->server_ns_per_delivery =
            r->server_cpu_s * 1e9 / (double)r->deliveries;
}

int
bench_run(const struct bench_cfg *cfg, struct bench_result *r,
          char err[ERR_LEN])
{
    struct bench b;
    struct os_proc ps;
    int k, started, rc = 0, e = 0;

    memset(r, 0, sizeof(*r));
    hist_init(&r->lat);
    hist_init(&r->lat_same);
    hist_init(&r->lat_cross);
    if (bench_setup(&b, cfg, r, err) == -1) {
        bench_teardown(&b);
        return -1;
    }
    sock_raise_fd_limit();
    for (k = 0; k < cfg->npids; k++)
        if (os_proc_read(cfg->pids[k], &ps) == 0)
            r->proc[k].rss_base_kib = r->proc[k].rss_peak_kib = ps.rss_kib;
    b.start_ns = clock_ns();
    b.connect_deadline = b.start_ns + (uint64_t)(cfg->connect_s * 1e9);
    atomic_store(&b.phase, PH_CONNECT);
    for (started = 1; started < b.nw; started++) {
        k = pthread_create(&b.w[started].th, NULL, worker_main,
                           &b.w[started]);
        if (k != 0) {
            errf(err, "cannot start a thread: %s", strerror(k));
            atomic_store(&b.phase, PH_STOP);
            rc = -1;
            break;
        }
    }
    if (rc == 0)
        worker_main(&b.w[0]);
    for (k = 1; k < started; k++)
        pthread_join(b.w[k].th, NULL);
    collect(&b, r);
    for (k = 0; k < b.nw && e == 0; k++)
        e = b.w[k].first_errno;
    if (rc == 0 && r->connected == 0 && cfg->clients > 0) {
        if (cfg->ntargets == 1)
            errf(err, "cannot connect to %s: %s", cfg->targets[0].text,
                 strerror(e ? e : ETIMEDOUT));
        else
            errf(err, "cannot connect to %s or the %d other addresses: %s",
                 cfg->targets[0].text, cfg->ntargets - 1,
                 strerror(e ? e : ETIMEDOUT));
        rc = -1;
    }
    bench_teardown(&b);
    return rc;
}
