/* report.c -- chatbench's human line and JSON object; see report.h. */
#include "bench/report.h"

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

void
report_human(FILE *out, const struct bench_cfg *cfg,
             const struct bench_result *r)
{
    double w = r->window_s;

    fprintf(out, "%s%s %s: clients %ld/%ld", wire_names[cfg->wire],
            cfg->tls ? "+tls" : "", cfg->target.text, r->connected,
            cfg->clients);
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
    if (r->have_server) {
        fprintf(out, "; server cpu %.2f s", r->server_cpu_s);
        if (r->deliveries > 0)
            fprintf(out, " (%.0f ns/delivery)", r->server_ns_per_delivery);
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

void
report_json(FILE *out, const struct bench_cfg *cfg,
            const struct bench_result *r)
{
    double w = r->window_s;
    long joined = r->connected + r->slow_joined;

    fprintf(out, "{\"protocol\":\"%s\",\"tls\":%s,\"addr\":",
            wire_names[cfg->wire], cfg->tls ? "true" : "false");
    json_string(out, cfg->target.text);
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
    fprintf(out, "\"latency_us\":{\"count\":%llu,\"min\":%.1f,\"p50\":%.1f,"
            "\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,"
            "\"mean\":%.1f}",
            (unsigned long long)r->lat.count,
            us(r->lat.count ? r->lat.min : 0), us(hist_percentile(&r->lat, 50)),
            us(hist_percentile(&r->lat, 90)), us(hist_percentile(&r->lat, 99)),
            us(hist_percentile(&r->lat, 99.9)),
            us(r->lat.count ? r->lat.max : 0), hist_mean(&r->lat) / 1e3);
    if (r->have_server) {
        fprintf(out, ",\"server\":{\"pid\":%ld,\"cpu_s\":%.3f,"
                "\"cpu_ns_per_delivery\":%.1f,\"rss_base_kib\":%ld,"
                "\"rss_joined_kib\":%ld,\"rss_peak_kib\":%ld,"
                "\"rss_end_kib\":%ld,\"hwm_kib\":%ld,"
                "\"rss_per_client_b\":%.1f}",
                (long)cfg->pid, r->server_cpu_s, r->server_ns_per_delivery,
                r->rss_base_kib, r->rss_joined_kib, r->rss_peak_kib,
                r->rss_end_kib, r->hwm_kib,
                joined > 0 && r->rss_joined_kib > 0 ?
                (double)(r->rss_joined_kib - r->rss_base_kib) * 1024.0 /
                (double)joined : 0.0);
    }
    fputs("}\n", out);
    fflush(out);
}
