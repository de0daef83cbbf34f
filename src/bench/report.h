/* report.h -- chatbench's output: one line for people, one JSON object
 * for scripts (bench/run.sh reads it). */
#ifndef CHATD_BENCH_REPORT_H
#define CHATD_BENCH_REPORT_H

#include <stdio.h>

#include "bench/bench.h"

/* Write r as one human line, e.g.
 *   line 127.0.0.1:3100: clients 100/100, sent 51234/s, deliveries
 *   5123400/s (327.9 MB/s), latency p50 0.41 p99 1.20 p99.9 1.90 max 2.3 ms,
 *   losses 0, out-of-order 0; server cpu 0.98 s, 64 ns/delivery, rss ...
 * then a newline. */
void report_human(FILE *out, const struct bench_cfg *cfg,
                  const struct bench_result *r);

/* Write r as one JSON object on one line, then a newline.  Latencies are
 * in microseconds, rates per second, memory in KiB. */
void report_json(FILE *out, const struct bench_cfg *cfg,
                 const struct bench_result *r);

#endif
