/* test_outq.c -- queue accounting: bytes to write and bytes charged,
 * partial writes, slices that join, shared buffers, ring growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/outq.h"

/* A shared buffer of cap bytes, filled with text as slices are taken. */
static struct block *
arena(size_t cap)
{
    return block_new(cap);
}

static struct slice
put(struct block *a, const char *text)
{
    struct slice s = {a, a->len, strlen(text)};

    memcpy(a->data + a->len, text, s.len);
    a->len += s.len;
    return s;
}

static void
test_push_and_consume(void **state)
{
    struct block *a = arena(64);
    struct slice s1 = put(a, "hello"), s2;
    struct outq q;
    struct iovec iov[8];

    (void)state;
    outq_init(&q);
    assert_true(outq_is_empty(&q));
    outq_push(&q, &s1);
    put(a, "-skipped-");                /* a message for someone else */
    s2 = put(a, "world!");
    outq_push(&q, &s2);
    assert_int_equal(q.bytes, 11);
    assert_int_equal(q.charged, 5 + 9 + 6);     /* the gap is pinned too */
    assert_int_equal(q.count, 2);
    assert_int_equal(outq_iov(&q, iov, 8, 1 << 20), 2);
    assert_int_equal(iov[0].iov_len, 5);
    assert_int_equal(iov[1].iov_len, 6);
    outq_consume(&q, 3);                /* a short write */
    assert_int_equal(q.bytes, 8);
    assert_int_equal(outq_iov(&q, iov, 8, 1 << 20), 2);
    assert_int_equal(iov[0].iov_len, 2);
    assert_memory_equal(iov[0].iov_base, "lo", 2);
    outq_consume(&q, 2);
    assert_int_equal(q.charged, 9 + 6);
    outq_consume(&q, 6);
    assert_true(outq_is_empty(&q));
    assert_int_equal(q.bytes, 0);
    assert_int_equal(q.charged, 0);
    assert_int_equal(a->refs, 1);
    block_unref(a);
    outq_fini(&q);
}

static void
test_contiguous_slices_join(void **state)
{
    struct block *a = arena(64);
    struct outq q;
    struct iovec iov[8];
    int i;

    (void)state;
    outq_init(&q);
    for (i = 0; i < 10; i++) {
        struct slice s = put(a, "abc");

        outq_push(&q, &s);
    }
    assert_int_equal(q.count, 1);       /* one entry, one iovec */
    assert_int_equal(a->refs, 2);
    assert_int_equal(outq_iov(&q, iov, 8, 1 << 20), 1);
    assert_int_equal(iov[0].iov_len, 30);
    assert_int_equal(q.charged, 30);
    outq_consume(&q, 30);
    assert_int_equal(a->refs, 1);
    block_unref(a);
    outq_fini(&q);
}

static void
test_budget_and_maxiov(void **state)
{
    struct block *a = arena(64);
    struct slice s[3];
    struct outq q;
    struct iovec iov[2];
    int i;

    (void)state;
    outq_init(&q);
    for (i = 0; i < 3; i++) {
        s[i] = put(a, "aaaa");
        put(a, "-");                    /* keep them apart */
        outq_push(&q, &s[i]);
    }
    assert_int_equal(outq_iov(&q, iov, 2, 1 << 20), 2);
    assert_int_equal(outq_iov(&q, iov, 2, 6), 2);
    assert_int_equal(iov[0].iov_len + iov[1].iov_len, 6);
    assert_int_equal(outq_iov(&q, iov, 2, 3), 1);
    assert_int_equal(iov[0].iov_len, 3);
    block_unref(a);
    outq_fini(&q);                      /* frees a (ASan/valgrind check) */
}

static void
test_new_buffer_charges_rest_of_old(void **state)
{
    struct block *a = arena(32), *b = arena(32);
    struct slice s1 = put(a, "mine"), s2;
    struct outq q;

    (void)state;
    outq_init(&q);
    outq_push(&q, &s1);
    put(a, "others' long message");     /* a is complete now */
    put(b, "xx");
    s2 = put(b, "next");
    assert_int_equal(outq_charge(&q, &s2), 20 + 2 + 4);
    outq_push(&q, &s2);
    assert_int_equal(q.charged, 4 + 20 + 2 + 4);
    assert_int_equal(q.bytes, 8);
    block_unref(a);
    block_unref(b);
    outq_consume(&q, 4);
    assert_int_equal(q.charged, 2 + 4);  /* b's entry: its gap and itself */
    outq_fini(&q);
}

static void
test_grows_and_shrinks(void **state)
{
    struct block *a = arena(4096);
    struct outq q;
    struct iovec iov[64];
    size_t i;

    (void)state;
    outq_init(&q);
    outq_consume(&q, 0);
    for (i = 0; i < 3; i++) {
        struct slice s = put(a, "x");

        put(a, "-");
        outq_push(&q, &s);
    }
    outq_consume(&q, 2);                /* head moves: the ring wraps */
    for (i = 0; i < 100; i++) {
        struct slice s = put(a, "yz");

        put(a, "-");
        outq_push(&q, &s);
    }
    assert_true(q.cap >= 101);
    assert_ptr_not_equal(q.ring, q.inline_ring);
    assert_int_equal(q.bytes, 1 + 200);
    assert_int_equal(outq_iov(&q, iov, 64, 1 << 20), 64);
    assert_memory_equal(iov[0].iov_base, "x", 1);
    assert_memory_equal(iov[1].iov_base, "yz", 2);
    outq_consume(&q, 201);
    assert_true(outq_is_empty(&q));
    assert_int_equal(q.charged, 0);
    assert_ptr_equal(q.ring, q.inline_ring);    /* memory given back */
    block_unref(a);
    outq_fini(&q);
}

/* Last words: the rest of the line being written is kept, everything
 * after it dropped with its references, and the accounts still come back
 * to 0 once what is kept is written. */
static void
test_keep_drops_the_rest(void **state)
{
    struct block *a = arena(64), *b = arena(64);
    struct slice s1 = put(a, "one\ntwo\n"), s2 = put(b, "three\n");
    struct outq q;
    struct iovec iov[8];

    (void)state;
    outq_init(&q);
    outq_push(&q, &s1);
    outq_push(&q, &s2);
    assert_int_equal(b->refs, 2);
    outq_consume(&q, 2);                /* "on" is out */
    outq_keep(&q, 2);                   /* "e\n" ends that line */
    assert_int_equal(q.bytes, 2);
    assert_int_equal(q.count, 1);
    assert_int_equal(b->refs, 1);       /* dropped with its entry */
    assert_int_equal(outq_iov(&q, iov, 8, 1 << 20), 1);
    assert_int_equal(iov[0].iov_len, 2);
    assert_memory_equal(iov[0].iov_base, "e\n", 2);
    outq_consume(&q, 2);
    assert_true(outq_is_empty(&q));
    assert_int_equal(q.charged, 0);
    assert_int_equal(a->refs, 1);
    /* Keeping nothing empties the queue, partly written head and all. */
    outq_push(&q, &s1);
    outq_push(&q, &s2);
    outq_consume(&q, 1);
    outq_keep(&q, 0);
    assert_true(outq_is_empty(&q));
    assert_int_equal(q.bytes, 0);
    assert_int_equal(q.charged, 0);
    /* Keeping all of it changes nothing. */
    outq_push(&q, &s1);
    outq_push(&q, &s2);
    outq_keep(&q, q.bytes);
    assert_int_equal(q.bytes, 14);
    assert_int_equal(outq_iov(&q, iov, 8, 1 << 20), 2);
    outq_consume(&q, 14);
    assert_int_equal(q.charged, 0);
    assert_int_equal(a->refs, 1);
    assert_int_equal(b->refs, 1);
    block_unref(a);
    block_unref(b);
    outq_fini(&q);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_and_consume),
        cmocka_unit_test(test_contiguous_slices_join),
        cmocka_unit_test(test_budget_and_maxiov),
        cmocka_unit_test(test_new_buffer_charges_rest_of_old),
        cmocka_unit_test(test_grows_and_shrinks),
        cmocka_unit_test(test_keep_drops_the_rest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
