/* test_outq.c -- queue accounting: bytes, partial writes, shared messages,
 * growth past the inline slots and shrinking back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/outq.h"

static struct msg *
mk(const char *s)
{
    struct msg *m = msg_new(strlen(s));

    memcpy(m->data, s, m->len);
    return m;
}

static void
test_push_and_consume(void **state)
{
    struct outq q;
    struct iovec iov[8];

    (void)state;
    outq_init(&q);
    assert_true(outq_is_empty(&q));
    outq_push(&q, mk("hello"));
    outq_push(&q, mk("world!"));
    assert_int_equal(q.bytes, 11);
    assert_int_equal(outq_iov(&q, iov, 8, 1 << 20), 2);
    assert_int_equal(iov[0].iov_len, 5);
    assert_int_equal(iov[1].iov_len, 6);
    outq_consume(&q, 3);                /* a short write */
    assert_int_equal(q.bytes, 8);
    assert_int_equal(outq_iov(&q, iov, 8, 1 << 20), 2);
    assert_int_equal(iov[0].iov_len, 2);
    assert_memory_equal(iov[0].iov_base, "lo", 2);
    outq_consume(&q, 2 + 6);
    assert_true(outq_is_empty(&q));
    assert_int_equal(q.bytes, 0);
    outq_fini(&q);
}

static void
test_budget_and_maxiov(void **state)
{
    struct outq q;
    struct iovec iov[2];

    (void)state;
    outq_init(&q);
    outq_push(&q, mk("aaaa"));
    outq_push(&q, mk("bbbb"));
    outq_push(&q, mk("cccc"));
    assert_int_equal(outq_iov(&q, iov, 2, 1 << 20), 2);
    assert_int_equal(outq_iov(&q, iov, 2, 6), 2);
    assert_int_equal(iov[0].iov_len + iov[1].iov_len, 6);
    assert_int_equal(outq_iov(&q, iov, 2, 3), 1);
    assert_int_equal(iov[0].iov_len, 3);
    outq_fini(&q);
}

static void
test_shared_message_refs(void **state)
{
    struct outq a, b;
    struct msg *m = mk("shared");

    (void)state;
    outq_init(&a);
    outq_init(&b);
    outq_push(&a, msg_ref(m));
    outq_push(&b, msg_ref(m));
    assert_int_equal(m->refs, 3);
    msg_unref(m);                       /* the broadcaster lets go */
    outq_consume(&a, 6);
    assert_int_equal(m->refs, 1);       /* b still holds it */
    assert_memory_equal(m->data, "shared", 6);
    outq_fini(&b);                      /* frees it (ASan/valgrind check) */
    outq_fini(&a);
}

static void
test_grows_and_shrinks(void **state)
{
    struct outq q;
    struct iovec iov[64];
    size_t i;

    (void)state;
    outq_init(&q);
    outq_consume(&q, 0);
    for (i = 0; i < 3; i++)
        outq_push(&q, mk("x"));
    outq_consume(&q, 2);                /* head moves: the ring wraps */
    for (i = 0; i < 100; i++)
        outq_push(&q, mk("yz"));
    assert_true(q.cap >= 101);
    assert_ptr_not_equal(q.ring, q.inline_ring);
    assert_int_equal(q.bytes, 1 + 200);
    assert_int_equal(outq_iov(&q, iov, 64, 1 << 20), 64);
    assert_memory_equal(iov[0].iov_base, "x", 1);
    assert_memory_equal(iov[1].iov_base, "yz", 2);
    outq_consume(&q, 201);
    assert_true(outq_is_empty(&q));
    assert_ptr_equal(q.ring, q.inline_ring);    /* memory given back */
    outq_fini(&q);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_and_consume),
        cmocka_unit_test(test_budget_and_maxiov),
        cmocka_unit_test(test_shared_message_refs),
        cmocka_unit_test(test_grows_and_shrinks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
