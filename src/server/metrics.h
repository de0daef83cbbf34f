/* metrics.h -- the server's counters, and their Prometheus text.
 *
 * Counters are plain integers bumped where things happen (conn.c, route.c,
 * server.c); gauges (connections open by door, queued bytes, rooms,
 * users) are counted when /metrics is asked for.  No per-room or per-user
 * series. */
#ifndef CHATD_METRICS_H
#define CHATD_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum metric {
    METRIC_ACCEPTED,
    METRIC_REFUSED_FULL,        /* --max-clients */
    METRIC_REFUSED_FDS,         /* shed: out of descriptors */
    METRIC_CLOSED_PEER,
    METRIC_CLOSED_IDLE,
    METRIC_CLOSED_PING,
    METRIC_CLOSED_OVERFLOW,
    METRIC_CLOSED_ERROR,
    METRIC_CLOSED_OTHER,        /* quit, a protocol's own reason, stop */
    METRIC_MESSAGES_IN,         /* frames (lines, messages) handled */
    METRIC_BYTES_IN,
    METRIC_BYTES_OUT,
    METRIC_DELIVERIES,          /* room and broadcast messages queued to
                                 * a recipient */
    METRIC_DROPS_OVERFLOW,      /* messages dropped: a full queue */
    METRIC_LOOP_PASSES,
    METRIC_TLS_HANDSHAKES,      /* TLS handshakes completed */
    METRIC_TLS_FAILED,          /* ... failed or timed out */
    METRIC_MAX
};

struct metrics {
    uint64_t v[METRIC_MAX];
    uint64_t longest_pass_us;   /* the longest pass of the loop */
};

static inline void
metrics_count(struct metrics *m, enum metric k, uint64_t n)
{
    if (m != NULL)
        m->v[k] += n;
}

/* The counter for a connection closed for why (conn_close's reason). */
enum metric metrics_close_reason(const char *why);

struct server;

/* The exposition of srv's metrics, in *out (malloc'd; free it).  Returns
 * its length. */
size_t metrics_render(const struct server *srv, char **out);

#endif
