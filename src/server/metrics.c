/* metrics.c -- the Prometheus text exposition of chatd's counters. */
#include "server/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"
#include "util/compat.h"
#include "util/xmalloc.h"

enum metric
metrics_close_reason(const char *why)
{
    static const struct {
        const char *needle;
        enum metric m;
    } reasons[] = {
        {"closed by peer", METRIC_CLOSED_PEER},
        {"idle", METRIC_CLOSED_IDLE},
        {"ping timeout", METRIC_CLOSED_PING},
        {"queue over its limit", METRIC_CLOSED_OVERFLOW},
        {"SendQ", METRIC_CLOSED_OVERFLOW},
        {"Connection reset", METRIC_CLOSED_ERROR},
        {"Broken pipe", METRIC_CLOSED_ERROR},
        {"timed out", METRIC_CLOSED_ERROR},
    };
    size_t i;

    for (i = 0; why != NULL && i < ARRAY_LEN(reasons); i++)
        if (strstr(why, reasons[i].needle) != NULL)
            return reasons[i].m;
    return METRIC_CLOSED_OTHER;
}

struct text {
    char  *buf;
    size_t len, cap;
};

static void PRINTF_LIKE(2, 3)
put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len)
            break;
        t->cap *= 2;
        t->buf = xrealloc(t->buf, t->cap);
    }
    t->len += (size_t)n;
}

/* "# HELP", "# TYPE" and one sample without labels. */
static void
one(struct text *t, const char *name, const char *type, const char *help,
    unsigned long long v)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type,
        name, v);
}

/* --cluster's series. */
static void
render_cluster(struct text *t, const struct cluster *c)
{
    struct cluster_stats st;

    cluster_get_stats(c, &st);
    one(t, "chatd_cluster_link_up", "gauge",
        "1 while the link to Redis is up, else 0.", st.up);
    one(t, "chatd_cluster_reconnects_total", "counter",
        "Times the link to Redis was lost.", st.reconnects);
    put(t, "# HELP chatd_cluster_messages_total Cluster messages, by "
           "direction.\n# TYPE chatd_cluster_messages_total counter\n"
           "chatd_cluster_messages_total{direction=\"published\"} %llu\n"
           "chatd_cluster_messages_total{direction=\"received\"} %llu\n",
        (unsigned long long)st.published, (unsigned long long)st.received);
    one(t, "chatd_cluster_lost_messages_total", "counter",
        "Other nodes' messages missing from their sequences.", st.lost);
    one(t, "chatd_cluster_remote_users", "gauge",
        "Users of other nodes known here.", st.remote_users);
}

/* The index of door kind name in kind[0..*n), added if new; -1 if
 * there is no room (there are fewer kinds than that). */
static int
kind_of(const char *kind[], size_t *n, size_t max, const char *name)
{
    size_t i;

    for (i = 0; i < *n && strcmp(kind[i], name) != 0; i++)
        continue;
    if (i == *n && *n == max)
        return -1;
    if (i == *n)
        kind[(*n)++] = name;
    return (int)i;
}

size_t
metrics_render(const struct server *srv, char **out)
{
    static const char *const closed[] = {"peer", "idle", "ping_timeout",
                                         "overflow", "error", "other"};
    const struct metrics *m = &srv->metrics;
    struct text t = {xmalloc(4096), 0, 4096};
    /* One series per door kind: the listeners', and those of clients
     * whose listener a reload closed. */
    const char *kind[2 * CONFIG_MAX_LISTEN];
    unsigned long long open[2 * CONFIG_MAX_LISTEN] = {0}, queued = 0;
    const struct conn *c;
    size_t i, nkind = 0;
    int k;

    for (i = 0; i < srv->nlisteners; i++)
        kind_of(kind, &nkind, ARRAY_LEN(kind),
                srv->listeners[i]->door.proto->name);
    for (c = srv->conns.all; c != NULL; c = c->next) {
        if (c->state == CONN_CLOSED)
            continue;
        queued += c->outq.bytes;
        k = kind_of(kind, &nkind, ARRAY_LEN(kind), c->door->proto->name);
        if (k >= 0)
            open[k]++;
    }
    put(&t, "# HELP chatd_connections Connections open, by door.\n"
            "# TYPE chatd_connections gauge\n");
    for (i = 0; i < nkind; i++)
        put(&t, "chatd_connections{door=\"%s\"} %llu\n", kind[i], open[i]);
    one(&t, "chatd_connections_accepted_total", "counter",
        "Connections accepted.", m->v[METRIC_ACCEPTED]);
    put(&t, "# HELP chatd_connections_refused_total Connections refused, "
            "by reason.\n# TYPE chatd_connections_refused_total counter\n"
            "chatd_connections_refused_total{reason=\"full\"} %llu\n"
            "chatd_connections_refused_total{reason=\"no_descriptors\"} "
            "%llu\n",
        (unsigned long long)m->v[METRIC_REFUSED_FULL],
        (unsigned long long)m->v[METRIC_REFUSED_FDS]);
    put(&t, "# HELP chatd_connections_closed_total Connections closed, by "
            "reason.\n# TYPE chatd_connections_closed_total counter\n");
    for (i = 0; i < ARRAY_LEN(closed); i++)
        put(&t, "chatd_connections_closed_total{reason=\"%s\"} %llu\n",
            closed[i], (unsigned long long)m->v[METRIC_CLOSED_PEER + i]);
    one(&t, "chatd_messages_received_total", "counter",
        "Messages (lines, frames) received from clients.",
        m->v[METRIC_MESSAGES_IN]);
    one(&t, "chatd_received_bytes_total", "counter",
        "Bytes received from clients.", m->v[METRIC_BYTES_IN]);
    one(&t, "chatd_sent_bytes_total", "counter", "Bytes sent to clients.",
        m->v[METRIC_BYTES_OUT]);
    one(&t, "chatd_deliveries_total", "counter",
        "Room and broadcast messages queued for a recipient.",
        m->v[METRIC_DELIVERIES]);
    put(&t, "# HELP chatd_drops_total Messages dropped, by reason.\n"
            "# TYPE chatd_drops_total counter\n"
            "chatd_drops_total{reason=\"queue_full\"} %llu\n",
        (unsigned long long)m->v[METRIC_DROPS_OVERFLOW]);
    one(&t, "chatd_output_queue_bytes", "gauge",
        "Bytes waiting in clients' output queues.", queued);
    one(&t, "chatd_rooms", "gauge", "Rooms.", srv->hub.nrooms);
    one(&t, "chatd_users", "gauge", "Users with a nickname.",
        srv->hub.nusers);
    put(&t, "# HELP chatd_tls_handshakes_total TLS handshakes, by result.\n"
            "# TYPE chatd_tls_handshakes_total counter\n"
            "chatd_tls_handshakes_total{result=\"ok\"} %llu\n"
            "chatd_tls_handshakes_total{result=\"failed\"} %llu\n",
        (unsigned long long)m->v[METRIC_TLS_HANDSHAKES],
        (unsigned long long)m->v[METRIC_TLS_FAILED]);
    one(&t, "chatd_loop_passes_total", "counter", "Passes of the event loop.",
        m->v[METRIC_LOOP_PASSES]);
    put(&t, "# HELP chatd_loop_longest_pass_seconds The longest pass of the "
            "event loop.\n# TYPE chatd_loop_longest_pass_seconds gauge\n"
            "chatd_loop_longest_pass_seconds %.6f\n",
        (double)m->longest_pass_us / 1e6);
    if (srv->cluster != NULL)
        render_cluster(&t, srv->cluster);
    *out = t.buf;
    return t.len;
}
