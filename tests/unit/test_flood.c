/* test_flood.c -- the token bucket of flood control (src/server/flood.c).
 *
 * What conn.c relies on: a full bucket at the start, one token per line,
 * refills at exactly `rate` a second (whatever the rate divides into),
 * never more than `burst`, a wait that is neither early (the caller would
 * wake to an empty bucket and spin) nor late by more than a millisecond,
 * and 0 for either limit meaning off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/flood.h"

/* Take every token there is at now; returns how many. */
static unsigned
drain(struct flood *f, uint64_t now)
{
    unsigned n = 0;

    while (flood_take(f, now))
        if (++n > 1000000)
            fail_msg("the bucket never empties");
    return n;
}

static void
test_burst_then_empty(void **state)
{
    struct flood f;

    (void)state;
    flood_init(&f, 10, 5, 1000);
    assert_true(flood_is_on(&f));
    assert_int_equal(flood_wait(&f, 1000), 0);
    assert_int_equal(drain(&f, 1000), 10);
    assert_false(flood_take(&f, 1000));
    assert_int_equal(flood_wait(&f, 1000), 200);     /* 1000 ms / 5 */
}

static void
test_refill_at_rate(void **state)
{
    struct flood f;
    uint64_t t = 0;
    unsigned lines = 0;

    (void)state;
    flood_init(&f, 10, 5, 0);
    /* 40 lines sent at once, each taken as soon as the wait allows: the
     * last goes at (40 - 10) / 5 = 6 s, not a millisecond before. */
    while (lines < 40) {
        uint64_t w = flood_wait(&f, t);

        if (w == 0) {
            assert_true(flood_take(&f, t));
            lines++;
            continue;
        }
        assert_false(flood_take(&f, t));
        t += w;
    }
    assert_int_equal(t, 6000);
}

static void
test_wait_is_exact_for_any_rate(void **state)
{
    static const unsigned rates[] = {1, 3, 7, 999, 1000, 1001, 100000};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        struct flood f;
        uint64_t w;

        flood_init(&f, 1, rates[i], 500);
        assert_true(flood_take(&f, 500));
        w = flood_wait(&f, 500);
        assert_true(w >= 1);
        /* Not early: a millisecond before, the token is not there yet
         * (unless the wait is already the 1 ms minimum). */
        if (w > 1)
            assert_false(flood_take(&f, 500 + w - 1));
        assert_true(flood_take(&f, 500 + w));
        /* Never more than one token's time, rounded up. */
        assert_true(w <= (1000 + rates[i] - 1) / rates[i]);
    }
}

static void
test_never_more_than_burst(void **state)
{
    struct flood f;

    (void)state;
    flood_init(&f, 3, 5, 0);
    assert_int_equal(drain(&f, 0), 3);
    /* A long silence (a day, then ages) fills the bucket, no more. */
    assert_int_equal(drain(&f, 86400000), 3);
    assert_int_equal(drain(&f, UINT64_MAX / 2), 3);
    /* Partly refilled: 2 of 3 after 400 ms at 5 a second. */
    flood_init(&f, 3, 5, 0);
    drain(&f, 0);
    assert_int_equal(drain(&f, 400), 2);
    assert_int_equal(flood_wait(&f, 400), 200);
}

static void
test_credit_is_kept_between_takes(void **state)
{
    struct flood f;

    (void)state;
    /* Time that brings part of a token is not lost by looking early. */
    flood_init(&f, 1, 5, 0);
    assert_true(flood_take(&f, 0));
    assert_false(flood_take(&f, 150));
    assert_int_equal(flood_wait(&f, 150), 50);
    assert_true(flood_take(&f, 200));
}

static void
test_clock_going_back_brings_nothing(void **state)
{
    struct flood f;

    (void)state;
    flood_init(&f, 2, 5, 10000);
    assert_int_equal(drain(&f, 10000), 2);
    assert_false(flood_take(&f, 5000));
    assert_int_equal(flood_wait(&f, 5000), 200);
    assert_true(flood_take(&f, 10200));
}

static void
test_zero_turns_it_off(void **state)
{
    struct flood f;
    unsigned i;

    (void)state;
    flood_init(&f, 0, 5, 0);
    assert_false(flood_is_on(&f));
    for (i = 0; i < 100000; i++)
        assert_true(flood_take(&f, 0));
    assert_int_equal(flood_wait(&f, 0), 0);
    flood_init(&f, 10, 0, 0);
    assert_false(flood_is_on(&f));
    for (i = 0; i < 100000; i++)
        assert_true(flood_take(&f, 0));
    assert_int_equal(flood_wait(&f, 0), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_empty),
        cmocka_unit_test(test_refill_at_rate),
        cmocka_unit_test(test_wait_is_exact_for_any_rate),
        cmocka_unit_test(test_never_more_than_burst),
        cmocka_unit_test(test_credit_is_kept_between_takes),
        cmocka_unit_test(test_clock_going_back_brings_nothing),
        cmocka_unit_test(test_zero_turns_it_off),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
