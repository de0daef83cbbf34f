/* report.c -- chatbench's human line and JSON object; see report.h. */
#include "bench/report.h"

#include <string.h>

#include "bench/hist.h"

static double
per_s(uint64_t n, double s)
{
    return s > 0 ? (double)n / s : 0.0;
}

/* A latency in nanoseconds as milliseconds. */
static double
ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* A latency in nanoseconds as microseconds. */
static double
us(uint64_t ns)
{
    return (double)ns / 1e3;
}

/* Several targets: same-node and cross-node latency, then each target's
 * share of the clients and deliveries. */
static void
human_nodes(FILE *out, const struct bench_cfg *cfg,
            const struct bench_result *r)
{
    int k;

    fprintf(out, ", same-node p50 %.3f p99 %.3f ms (%llu of %llu), "
            "cross-node p50 %.3f p99 %.3f ms (%llu of %llu); by node:",
            ms(hist_percentile(&r->lat_same, 50)),
            ms(hist_percentile(&r->lat_same, 99)),
            (unsigned long long)r->deliveries_same,
            (unsigned long long)r->expected_same,
            ms(hist_percentile(&r->lat_cross, 50)),
            ms(hist_percentile(&r->lat_cross, 99)),
            (unsigned long long)r->deliveries_cross,
            (unsigned long long)r->expected_cross);
    for (k = 0; k < cfg->ntargets; k++)
        fprintf(out, "%s %s clients %ld deliveries %.0f/s", k ? "," : "",
                cfg->targets[k].text, r->node_connected[k],
                per_s(r->node_deliveries[k], r->window_s));
}

/* Several processes: each one's CPU time over the window. */
static void
human_procs(FILE *out, const struct bench_cfg *cfg,
            const struct bench_result *r)
{
    int k;

    for (k = 0; k < cfg->npids; k++) {
        const struct bench_proc *p = &r->proc[k];

        fprintf(out, "%s %ld: %.2f s", k ? "," : " =", (long)cfg->pids[k],
                p->cpu_s);
        if (p->have && r->deliveries > 0)
            fprintf(out, " (%.0f ns/delivery)", p->ns_per_delivery);
        else if (!p->have)
            fputs(" (unreadable)", out);
    }
}

void
report_human(FILE *out, const struct bench_cfg *cfg,
             const struct bench_result *r)
{
    double w = r->window_s;
    int k;

    fprintf(out, "%s%s %s", wire_names[cfg->wire], cfg->tls ? "+tls" : "",
            cfg->targets[0].text);
    for (k = 1; k < cfg->ntargets; k++)
        fprintf(out, " %s", cfg->targets[k].text);
    fprintf(out, ": clients %ld/%ld", r->connected, cfg->clients);
    if (cfg->slow > 0)
        fprintf(out, " (+%ld/%ld slow, %ld closed)", r->slow_joined,
                cfg->slow, r->slow_closed);
    fprintf(out, ", publishers %ld, sent %.0f/s, deliveries %.0f/s "
            "(%.1f MB/s), latency p50 %.3f p99 %.3f p99.9 %.3f max %.3f ms, "
            "losses %llu, out-of-order %llu",
            cfg->publishers, per_s(r->sent, w), per_s(r->deliveries, w),
            per_s(r->deliveries, w) * (double)cfg->size / 1e6,
            ms(hist_percentile(&r->lat, 50)), ms(hist_percentile(&r->lat, 99)),
            ms(hist_percentile(&r->lat, 99.9)), ms(r->lat.count ? r->lat.max : 0),
            (unsigned long long)r->losses, (unsigned long long)r->out_of_order);
    if (r->disconnected > 0)
        fprintf(out, ", disconnected %ld", r->disconnected);
    if (r->failed > 0)
        fprintf(out, ", failed %ld", r->failed);
    if (r->skipped > 0)
        fprintf(out, ", skipped %llu", (unsigned long long)r->skipped);
    if (cfg->ntargets > 1)
        human_nodes(out, cfg, r);
    if (r->have_server) {
        fprintf(out, "; server%s cpu %.2f s", cfg->npids > 1 ? "s" : "",
                r->server_cpu_s);
        if (r->deliveries > 0)
            fprintf(out, " (%.0f ns/delivery)", r->server_ns_per_delivery);
        if (cfg->npids > 1)
            human_procs(out, cfg, r);
        fprintf(out, ", rss %.1f MiB (peak %.1f MiB, hwm %.1f MiB)",
                (double)r->rss_end_kib / 1024, (double)r->rss_peak_kib / 1024,
                (double)r->hwm_kib / 1024);
        if (r->connected > 0 && r->rss_joined_kib > 0)
            fprintf(out, ", %.0f B/client",
                    (double)(r->rss_joined_kib - r->rss_base_kib) * 1024.0 /
                    (double)(r->connected + r->slow_joined));
    }
    fputc('\n', out);
    fflush(out);
}

/* Write s as a JSON string, quotes included. */
static void
json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* A latency histogram as {"count":...,"min":...,...}, microseconds. */
static void
json_latency(FILE *out, const struct hist *h)
{
    fprintf(out, "{\"count\":%llu,\"min\":%.1f,\"p50\":%.1f,"
            "\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,"
            "\"mean\":%.1f}",
            (unsigned long long)h->count,
            us(h->count ? h->min : 0), us(hist_percentile(h, 50)),
            us(hist_percentile(h, 90)), us(hist_percentile(h, 99)),
            us(hist_percentile(h, 99.9)),
            us(h->count ? h->max : 0), hist_mean(h) / 1e3);
}

/* "addrs", "nodes" (each target's clients and deliveries), "same_node"
 * and "cross_node" (deliveries by where the receiver is), after a
 * comma. */
static void
json_nodes(FILE *out, const struct bench_cfg *cfg,
           const struct bench_result *r)
{
    int k;

    fputs("\"addrs\":[", out);
    for (k = 0; k < cfg->ntargets; k++) {
        if (k)
            fputc(',', out);
        json_string(out, cfg->targets[k].text);
    }
    fputs("],\"nodes\":[", out);
    for (k = 0; k < cfg->ntargets; k++) {
        fprintf(out, "%s{\"addr\":", k ? "," : "");
        json_string(out, cfg->targets[k].text);
        fprintf(out, ",\"connected\":%ld,\"deliveries\":%llu,"
                "\"deliveries_per_s\":%.1f}", r->node_connected[k],
                (unsigned long long)r->node_deliveries[k],
                per_s(r->node_deliveries[k], r->window_s));
    }
    fprintf(out, "],\"same_node\":{\"expected\":%llu,\"deliveries\":%llu,"
            "\"latency_us\":", (unsigned long long)r->expected_same,
            (unsigned long long)r->deliveries_same);
    json_latency(out, &r->lat_same);
    fprintf(out, "},\"cross_node\":{\"expected\":%llu,\"deliveries\":%llu,"
            "\"latency_us\":", (unsigned long long)r->expected_cross,
            (unsigned long long)r->deliveries_cross);
    json_latency(out, &r->lat_cross);
    fputc('}', out);
}

/* One watched process's figures as a JSON object (joined: the clients
 * joined, for memory per client). */
static void
json_proc(FILE *out, long pid, const struct bench_proc *p, long joined)
{
    fprintf(out, "{\"pid\":%ld,\"cpu_s\":%.3f,\"cpu_ns_per_delivery\":%.1f,"
            "\"rss_base_kib\":%ld,\"rss_joined_kib\":%ld,"
            "\"rss_peak_kib\":%ld,\"rss_end_kib\":%ld,\"hwm_kib\":%ld,"
            "\"rss_per_client_b\":%.1f}",
            pid, p->cpu_s, p->ns_per_delivery, p->rss_base_kib,
            p->rss_joined_kib, p->rss_peak_kib, p->rss_end_kib, p->hwm_kib,
            joined > 0 && p->rss_joined_kib > 0 ?
            (double)(p->rss_joined_kib - p->rss_base_kib) * 1024.0 /
            (double)joined : 0.0);
}

void
report_json(FILE *out, const struct bench_cfg *cfg,
            const struct bench_result *r)
{
    double w = r->window_s;
    long joined = r->connected + r->slow_joined;
    int k;

    fprintf(out, "{\"protocol\":\"%s\",\"tls\":%s,\"addr\":",
            wire_names[cfg->wire], cfg->tls ? "true" : "false");
    json_string(out, cfg->targets[0].text);
    fputc(',', out);
    json_nodes(out, cfg, r);
    fprintf(out, ",\"clients\":%ld,"
            "\"connected\":%ld,\"publishers\":%ld,\"slow\":%ld,"
            "\"slow_joined\":%ld,\"slow_closed\":%ld,\"failed\":%ld,"
            "\"disconnected\":%ld,\"server_errors\":%ld,",
            cfg->clients,
            r->connected, cfg->publishers, cfg->slow, r->slow_joined,
            r->slow_closed, r->failed, r->disconnected, r->server_errors);
    fprintf(out, "\"mode\":\"%s\",\"rate\":%.1f,\"window\":%ld,\"size\":%zu,"
            "\"threads\":%d,\"connect_s\":%.3f,\"window_s\":%.3f,",
            cfg->max ? "max" : "rate", cfg->max ? 0.0 : cfg->rate,
            cfg->window, cfg->size, cfg->threads, r->connect_s, w);
    fprintf(out, "\"sent\":%llu,\"sent_total\":%llu,\"skipped\":%llu,"
            "\"sent_per_s\":%.1f,\"expected\":%llu,\"deliveries\":%llu,"
            "\"deliveries_per_s\":%.1f,\"mb_per_s\":%.3f,\"losses\":%llu,"
            "\"out_of_order\":%llu,\"foreign\":%llu,",
            (unsigned long long)r->sent, (unsigned long long)r->sent_total,
            (unsigned long long)r->skipped, per_s(r->sent, w),
            (unsigned long long)r->expected,
            (unsigned long long)r->deliveries, per_s(r->deliveries, w),
            per_s(r->deliveries, w) * (double)cfg->size / 1e6,
            (unsigned long long)r->losses,
            (unsigned long long)r->out_of_order,
            (unsigned long long)r->foreign);
    fputs("\"latency_us\":", out);
    json_latency(out, &r->lat);
    fprintf(out, ",\"chatbench_cpu_s\":%.3f", r->self_cpu_s);
    if (r->have_server) {
        /* "server" is the sum over the processes (one server made of
         * several: the nodes and their Redis), "pid" the first of them;
         * "servers" has each one, in --pid order. */
        struct bench_proc sum;

        memset(&sum, 0, sizeof(sum));
        sum.cpu_s = r->server_cpu_s;
        sum.ns_per_delivery = r->server_ns_per_delivery;
        sum.rss_base_kib = r->rss_base_kib;
        sum.rss_joined_kib = r->rss_joined_kib;
        sum.rss_peak_kib = r->rss_peak_kib;
        sum.rss_end_kib = r->rss_end_kib;
        sum.hwm_kib = r->hwm_kib;
        fputs(",\"server\":", out);
        json_proc(out, (long)cfg->pids[0], &sum, joined);
        fputs(",\"pids\":[", out);
        for (k = 0; k < cfg->npids; k++)
            fprintf(out, "%s%ld", k ? "," : "", (long)cfg->pids[k]);
        fputs("],\"servers\":[", out);
        for (k = 0; k < cfg->npids; k++) {
            if (k)
                fputc(',', out);
            json_proc(out, (long)cfg->pids[k], &r->proc[k], joined);
        }
        fputc(']', out);
    }
    fputs("}\n", out);
    fflush(out);
}
