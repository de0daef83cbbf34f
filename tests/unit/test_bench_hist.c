/* test_bench_hist.c -- chatbench's log-bucket histogram (src/bench/hist.c).
 *
 * The bucket arithmetic is checked exhaustively at the edges (every
 * bucket meets the next, none is wider than 1/128 of its value), and the
 * percentiles against known distributions: exact ones for small values,
 * and for large samples against the exact answer found by sorting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/hist.h"

#define SAMPLES 200000

/* A fixed pseudo-random sequence (xorshift64*), so runs repeat. */
static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* A uniform double in (0, 1]. */
static double
unit(uint64_t *s)
{
    return ((double)(rnd(s) >> 11) + 1.0) / 9007199254740992.0;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The exact percentile p of sorted v[0..n): the smallest value with at
 * least p % of them at or below it (the definition hist.h gives). */
static uint64_t
exact_percentile(const uint64_t *v, size_t n, double p)
{
    double r = p / 100.0 * (double)n;
    size_t rank = (size_t)r;

    if ((double)rank < r)
        rank++;
    if (rank < 1)
        rank = 1;
    return v[rank - 1];
}

/* |got - want| within frac of want. */
static void
assert_close(uint64_t got, uint64_t want, double frac)
{
    double d = (double)got - (double)want;

    if (d < 0)
        d = -d;
    if (d > frac * (double)want + 1.0)
        fail_msg("got %llu, want %llu within %.2f %%",
                 (unsigned long long)got, (unsigned long long)want,
                 frac * 100);
}

static void
test_empty(void **state)
{
    static struct hist h;

    (void)state;
    hist_init(&h);
    assert_int_equal(h.count, 0);
    assert_int_equal(hist_percentile(&h, 50), 0);
    assert_int_equal(hist_percentile(&h, 100), 0);
    assert_true(hist_mean(&h) == 0.0);
}

static void
test_buckets_meet_and_are_narrow(void **state)
{
    size_t i;

    (void)state;
    assert_int_equal(hist_bucket_low(0), 0);
    for (i = 0; i + 1 < HIST_BUCKETS; i++) {
        uint64_t lo = hist_bucket_low(i), hi = hist_bucket_high(i);

        assert_true(lo <= hi);
        assert_int_equal(hi + 1, hist_bucket_low(i + 1));
        /* Width at most 1/128 of the values it holds. */
        assert_true((hi - lo + 1) * HIST_SUB <= (lo > 0 ? lo : 1) ||
                    hi - lo == 0);
        assert_int_equal(hist_index(lo), i);
        assert_int_equal(hist_index(hi), i);
    }
    assert_int_equal(hist_bucket_high(HIST_BUCKETS - 1), UINT64_MAX);
    assert_int_equal(hist_index(UINT64_MAX), HIST_BUCKETS - 1);
}

static void
test_index_brackets_value(void **state)
{
    uint64_t s = 42, v;
    int i, sh;

    (void)state;
    for (i = 0; i < 100000; i++) {
        sh = (int)(rnd(&s) % 64);
        v = rnd(&s) >> sh;
        assert_true(hist_bucket_low(hist_index(v)) <= v);
        assert_true(hist_bucket_high(hist_index(v)) >= v);
    }
}

static void
test_small_values_exact(void **state)
{
    static struct hist h;
    uint64_t v;

    (void)state;
    hist_init(&h);
    for (v = 1; v <= 100; v++)
        hist_record(&h, v);
    assert_int_equal(h.count, 100);
    assert_int_equal(h.min, 1);
    assert_int_equal(h.max, 100);
    assert_int_equal(hist_percentile(&h, 50), 50);
    assert_int_equal(hist_percentile(&h, 99), 99);
    assert_int_equal(hist_percentile(&h, 99.9), 100);
    assert_int_equal(hist_percentile(&h, 100), 100);
    assert_int_equal(hist_percentile(&h, 0.5), 1);
    assert_true(hist_mean(&h) > 50.49 && hist_mean(&h) < 50.51);
}

static void
test_one_value(void **state)
{
    static struct hist h;

    (void)state;
    hist_init(&h);
    hist_record(&h, 123456789);
    /* Clamped to the exact min and max, so a single value is exact. */
    assert_int_equal(hist_percentile(&h, 50), 123456789);
    assert_int_equal(hist_percentile(&h, 99.9), 123456789);
}

/* Record v[0..n) and compare p50, p90, p99, p99.9 with the exact ones. */
static void
check_against_sorted(uint64_t *v, size_t n)
{
    static struct hist h;
    static const double ps[] = { 1, 10, 50, 90, 99, 99.9, 99.99 };
    size_t i;

    hist_init(&h);
    for (i = 0; i < n; i++)
        hist_record(&h, v[i]);
    qsort(v, n, sizeof(*v), cmp_u64);
    for (i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
        assert_close(hist_percentile(&h, ps[i]),
                     exact_percentile(v, n, ps[i]), 0.008);
    assert_int_equal(h.min, v[0]);
    assert_int_equal(h.max, v[n - 1]);
}

static void
test_uniform(void **state)
{
    uint64_t *v = malloc(SAMPLES * sizeof(*v)), s = 7;
    static struct hist h;
    size_t i;

    (void)state;
    assert_non_null(v);
    for (i = 0; i < SAMPLES; i++)
        v[i] = 1 + rnd(&s) % 1000000;           /* 1 us .. 1 ms in ns */
    hist_init(&h);
    for (i = 0; i < SAMPLES; i++)
        hist_record(&h, v[i]);
    /* Known distribution: the percentile p of U(0, 1e6] is p * 1e4. */
    assert_close(hist_percentile(&h, 50), 500000, 0.015);
    assert_close(hist_percentile(&h, 99), 990000, 0.015);
    assert_close(hist_percentile(&h, 99.9), 999000, 0.015);
    check_against_sorted(v, SAMPLES);
    free(v);
}

static void
test_squared_uniform(void **state)
{
    uint64_t *v = malloc(SAMPLES * sizeof(*v)), s = 99;
    static struct hist h;
    double u;
    size_t i;

    (void)state;
    assert_non_null(v);
    for (i = 0; i < SAMPLES; i++) {
        u = unit(&s);
        v[i] = (uint64_t)(1e8 * u * u);         /* P(X <= x) = sqrt(x/1e8) */
    }
    hist_init(&h);
    for (i = 0; i < SAMPLES; i++)
        hist_record(&h, v[i]);
    assert_close(hist_percentile(&h, 50), 25000000, 0.02);
    assert_close(hist_percentile(&h, 90), 81000000, 0.02);
    assert_close(hist_percentile(&h, 99), 98010000, 0.02);
    check_against_sorted(v, SAMPLES);
    free(v);
}

static void
test_heavy_tail(void **state)
{
    uint64_t *v = malloc(SAMPLES * sizeof(*v)), s = 1234;
    size_t i;

    (void)state;
    assert_non_null(v);
    /* Pareto-like: 10 us / u, from 10 us to hours, like a latency tail. */
    for (i = 0; i < SAMPLES; i++)
        v[i] = (uint64_t)(10000.0 / unit(&s));
    check_against_sorted(v, SAMPLES);
    free(v);
}

static void
test_merge_equals_one(void **state)
{
    static struct hist a, b, all;
    uint64_t s = 5, v;
    int i;

    (void)state;
    hist_init(&a);
    hist_init(&b);
    hist_init(&all);
    for (i = 0; i < 50000; i++) {
        v = rnd(&s) % 10000000;
        hist_record(i % 3 ? &a : &b, v);
        hist_record(&all, v);
    }
    hist_merge(&a, &b);
    assert_int_equal(a.count, all.count);
    assert_int_equal(a.min, all.min);
    assert_int_equal(a.max, all.max);
    assert_memory_equal(a.bucket, all.bucket, sizeof(a.bucket));
    assert_int_equal(hist_percentile(&a, 99), hist_percentile(&all, 99));
    hist_init(&b);
    hist_merge(&a, &b);                         /* an empty one: no change */
    assert_int_equal(a.min, all.min);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_buckets_meet_and_are_narrow),
        cmocka_unit_test(test_index_brackets_value),
        cmocka_unit_test(test_small_values_exact),
        cmocka_unit_test(test_one_value),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_squared_uniform),
        cmocka_unit_test(test_heavy_tail),
        cmocka_unit_test(test_merge_equals_one),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
