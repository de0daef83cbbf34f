/* hist.c -- a log-bucket latency histogram; see hist.h. */
#include "bench/hist.h"

#include <string.h>

void
hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

size_t
hist_index(uint64_t v)
{
    unsigned shift;

    if (v < 2 * HIST_SUB)
        return (size_t)v;
    /* v has its top bit at 63 - clz >= HIST_SUB_BITS + 1; keep the top
     * HIST_SUB_BITS + 1 bits, whose first is always 1. */
    shift = (unsigned)(63 - __builtin_clzll(v)) - HIST_SUB_BITS;
    return (size_t)(shift + 1) * HIST_SUB + (size_t)((v >> shift) - HIST_SUB);
}

uint64_t
hist_bucket_low(size_t i)
{
    unsigned shift;

    if (i < 2 * HIST_SUB)
        return i;
    shift = (unsigned)(i / HIST_SUB) - 1;
    return (uint64_t)(i % HIST_SUB + HIST_SUB) << shift;
}

uint64_t
hist_bucket_high(size_t i)
{
    unsigned shift;

    if (i < 2 * HIST_SUB)
        return i;
    shift = (unsigned)(i / HIST_SUB) - 1;
    /* The top bucket ends at UINT64_MAX; the shift below wraps to it. */
    return ((uint64_t)(i % HIST_SUB + HIST_SUB + 1) << shift) - 1;
}

void
hist_record(struct hist *h, uint64_t v)
{
    h->bucket[hist_index(v)]++;
    h->count++;
    h->sum += (double)v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void
hist_merge(struct hist *dst, const struct hist *src)
{
    size_t i;

    if (src->count == 0)
        return;
    for (i = 0; i < HIST_BUCKETS; i++)
        dst->bucket[i] += src->bucket[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t
hist_percentile(const struct hist *h, double p)
{
    uint64_t rank, seen = 0, lo, hi, mid;
    double r;
    size_t i;

    if (h->count == 0)
        return 0;
    if (p >= 100.0)
        return h->max;
    r = p / 100.0 * (double)h->count;
    rank = (uint64_t)r;
    if ((double)rank < r)
        rank++;                 /* the ceiling, without libm */
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    for (i = 0; i < HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank)
            break;
    }
    if (i == HIST_BUCKETS)
        return h->max;
    lo = hist_bucket_low(i);
    hi = hist_bucket_high(i);
    mid = lo + (hi - lo) / 2;
    if (mid < h->min)
        mid = h->min;
    if (mid > h->max)
        mid = h->max;
    return mid;
}

double
hist_mean(const struct hist *h)
{
    return h->count == 0 ? 0.0 : h->sum / (double)h->count;
}
