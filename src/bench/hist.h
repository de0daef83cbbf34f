/* hist.h -- a log-bucket latency histogram (after HdrHistogram).
 *
 * Values below 256 are counted exactly; above, each power of two is cut
 * into 128 equal buckets, so a value is known to within 1/128 (0.8 %) of
 * itself, from 1 ns to centuries, in a fixed 58 KiB array.  Recording is a
 * count-leading-zeros, a shift and an increment: cheap enough to do for
 * every delivery.  One histogram per thread; hist_merge() adds them up. */
#ifndef CHATD_BENCH_HIST_H
#define CHATD_BENCH_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS   7
#define HIST_SUB        (1u << HIST_SUB_BITS)          /* buckets per octave */
#define HIST_BUCKETS    ((64 - HIST_SUB_BITS + 1) * HIST_SUB)  /* 7424 */

struct hist {
    uint64_t count;             /* values recorded */
    uint64_t min;               /* exact; UINT64_MAX while empty */
    uint64_t max;               /* exact; 0 while empty */
    double   sum;               /* for the mean */
    uint64_t bucket[HIST_BUCKETS];
};

/* Empty h (it may be embedded anywhere; no allocation). */
void hist_init(struct hist *h);

/* Count one value v (nanoseconds, or any unit). */
void hist_record(struct hist *h, uint64_t v);

/* Add every count of src into dst. */
void hist_merge(struct hist *dst, const struct hist *src);

/* The value at percentile p (0 < p <= 100): the smallest recorded value
 * such that at least p % of all values are at or below it, known to within
 * 0.8 % (the middle of its bucket, clamped to the exact min and max).
 * Returns 0 for an empty histogram. */
uint64_t hist_percentile(const struct hist *h, double p);

/* The mean of the recorded values, 0 if none. */
double hist_mean(const struct hist *h);

/* Bucket arithmetic, exposed for the tests: the bucket index of v, and the
 * lowest and highest value that bucket i holds. */
size_t hist_index(uint64_t v);
uint64_t hist_bucket_low(size_t i);
uint64_t hist_bucket_high(size_t i);

#endif
