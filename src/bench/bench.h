/* bench.h -- chatbench's client engine: many subscribers, a few
 * publishers, one measured window.
 *
 * N clients connect (pacing the handshakes so no accept queue overflows)
 * and subscribe; M of them also publish, at a total target rate or, with
 * --max, as fast as the server confirms (each publisher keeps at most
 * `window` messages that its confirming subscriber has not yet received:
 * its own connection's, or the next one's where the server does not echo
 * a sender's own message, as IRC).  After the warm-up comes the window
 * [t0, t1): every message stamped in it must reach every subscriber that
 * had joined before it (but its sender, without echo); each delivery is
 * timed (receive time minus the send stamp in the payload) into a
 * histogram and checked for order per publisher.  After t1 the publishers
 * stop and the engine drains until every expected delivery is in, or no
 * delivery has come for drain_s (at most 10 x drain_s + 5 s in all);
 * what is still missing then is a loss.
 *
 * With tls, each connection makes a TLS handshake once TCP is up, before
 * its hello, and every read and write goes through OpenSSL.
 *
 * Several targets (the nodes of a chatd cluster) share the clients
 * round-robin: client i, and so publisher i, talks to targets[i % n]
 * (Redis: publisher j's own connection to targets[j % n]).  Each
 * delivery is then counted as same-node (the publisher's connection and
 * the receiver's go to one target) or cross-node, with a latency
 * histogram of each; a target that does not pass messages on to the
 * others (independent servers) shows as cross-node losses only.
 *
 * Several pids (the nodes, and Redis behind them) are watched alike:
 * each one's CPU time over the window and its memory, and their sum.
 *
 * The engine runs `threads` event loops: loop 0 owns the publishers and
 * the subscribers that confirm their messages, the others share the rest
 * of the subscribers.  Nothing it measures crosses threads except a few
 * counters. */
#ifndef CHATD_BENCH_BENCH_H
#define CHATD_BENCH_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench/hist.h"
#include "bench/wire.h"
#include "net/addr.h"
#include "util/err.h"

#define BENCH_TARGETS_MAX   16          /* addresses (cluster nodes) */
#define BENCH_PIDS_MAX      16          /* processes to watch */

struct bench_cfg {
    struct addr      targets[BENCH_TARGETS_MAX];   /* resolved */
    int              ntargets;          /* >= 1 */
    enum wire_kind  wire;
    long             clients;           /* subscribers, N >= publishers */
    long             publishers;        /* M, 0 for an idle run */
    long             slow;              /* K extra that never read */
    int              max;               /* as fast as confirmed */
    double           rate;              /* total msg/s without max */
    long             window;            /* in flight per publisher (max) */
    size_t           size;              /* payload bytes */
    double           warmup_s, duration_s, connect_s;
    double           drain_s;           /* give up after this long without
                                         * a new delivery */
    int              threads;           /* event loops, >= 1 */
    pid_t            pids[BENCH_PIDS_MAX];  /* servers to watch */
    int              npids;             /* 0: none */
    const char      *channel;           /* Redis channel, NATS subject,
                                         * chat room, IRC channel */
    const char      *irc_oper;          /* IRC: "NAME:PASS" publishers
                                         * OPER with, or NULL */
    int              pending;           /* handshakes in flight at once
                                         * per worker, >= 1 */
    int              verbose;           /* progress lines on stderr */
    int              tls;               /* TLS over TCP, no certificate
                                         * check (net/tls.h) */
};

/* One watched process's figures (the fields as in bench_result). */
struct bench_proc {
    int      have;              /* its /proc could be read */
    double   cpu_s;
    double   ns_per_delivery;   /* cpu_s over all deliveries of the run */
    long     rss_base_kib, rss_joined_kib, rss_peak_kib, rss_end_kib;
    long     hwm_kib;
};

struct bench_result {
    long     connected;         /* subscribers that joined */
    long     slow_joined;       /* slow clients that joined */
    long     failed;            /* connections that failed or timed out */
    long     disconnected;      /* subscribers the server closed */
    long     slow_closed;       /* slow clients the server closed (seen) */
    long     server_errors;     /* error replies (-ERR) seen */
    double   connect_s;         /* time to connect and join everyone */
    double   window_s;          /* t1 - t0 */
    uint64_t sent;              /* messages stamped inside the window */
    uint64_t sent_total;        /* all messages sent, warm-up included */
    uint64_t skipped;           /* rate mode: sends that could not go */
    uint64_t expected;          /* sent x subscribers */
    uint64_t deliveries;        /* window messages received */
    uint64_t losses;            /* expected - deliveries (>= 0) */
    uint64_t out_of_order;      /* a publisher's seq not above the last */
    uint64_t foreign;           /* payloads from no publisher of ours */
    struct hist lat;            /* latency, nanoseconds */
    /* By where the receiver is: on the publisher's target, or another. */
    uint64_t expected_same, expected_cross;
    uint64_t deliveries_same, deliveries_cross;
    struct hist lat_same, lat_cross;
    /* By target: subscribers joined there, window deliveries they got. */
    long     node_connected[BENCH_TARGETS_MAX];
    uint64_t node_deliveries[BENCH_TARGETS_MAX];
    double   self_cpu_s;        /* chatbench's own CPU time over the
                                 * window: near 1 s a second per thread,
                                 * the load generator is the limit */
    /* The servers, with cfg.pids: each, and (below) their sum. */
    struct bench_proc proc[BENCH_PIDS_MAX];
    int      have_server;       /* at least one was read */
    double   server_cpu_s;      /* utime + stime over the window */
    double   server_ns_per_delivery;
    long     rss_base_kib;      /* before the first connect */
    long     rss_joined_kib;    /* everyone connected, before publishing */
    long     rss_peak_kib;      /* highest VmRSS sampled during the run */
    long     rss_end_kib;       /* at the end of the window */
    long     hwm_kib;           /* VmHWM at the end */
};

/* Run one benchmark as cfg says, filling *r (which may be uninitialised).
 * Returns 0 -- whatever the losses -- or -1 with a one-line reason in err
 * if it could not run at all (nobody could connect, no memory for the
 * descriptors).  SIGINT or SIGTERM during the run end it early, with the
 * figures so far. */
int bench_run(const struct bench_cfg *cfg, struct bench_result *r,
              char err[ERR_LEN]);

#endif
