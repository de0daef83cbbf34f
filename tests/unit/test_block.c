/* test_block.c -- shared blocks and the arena that fills them
 * (src/server/block.c).
 *
 * What the route relies on: the messages of a pass lie one after another
 * in one block, a full block is replaced while the queues holding slices
 * of it keep it alive, and an idle arena lets its block go.  Run under
 * `make sanitize`, ASan and LeakSanitizer check that every block is freed
 * exactly when its last reference goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/block.h"

/* Reserve strlen(text) bytes and write text there. */
static char *
put(struct arena *a, const char *text, struct slice *s)
{
    size_t n = strlen(text);
    char *p = arena_reserve(a, n, s);

    assert_non_null(p);
    assert_ptr_equal(p, s->b->data + s->off);
    assert_int_equal(s->len, n);
    memcpy(p, text, n);
    return p;
}

static void
test_block_new_ref_unref(void **state)
{
    struct block *b = block_new(100);

    (void)state;
    assert_int_equal(b->refs, 1);
    assert_int_equal(b->len, 0);
    assert_int_equal(b->cap, 100);
    memset(b->data, 'x', 100);          /* all cap bytes are there */
    assert_ptr_equal(block_ref(b), b);
    assert_int_equal(b->refs, 2);
    block_unref(b);
    assert_int_equal(b->refs, 1);
    block_unref(b);                     /* freed: LeakSanitizer agrees */
    block_unref(block_new(0));
}

static void
test_reserve_is_contiguous(void **state)
{
    struct arena a = {NULL};
    struct slice s1, s2, s3;
    char *p1, *p2, *p3;

    (void)state;
    p1 = put(&a, "alice: hi\n", &s1);
    p2 = put(&a, "bob: hello\n", &s2);
    p3 = put(&a, "", &s3);
    assert_non_null(a.cur);
    assert_ptr_equal(s1.b, a.cur);
    assert_ptr_equal(s2.b, s1.b);
    assert_ptr_equal(s3.b, s1.b);
    assert_int_equal(s1.off, 0);
    assert_int_equal(s2.off, s1.off + s1.len);
    assert_ptr_equal(p2, p1 + s1.len);
    assert_ptr_equal(p3, p2 + s2.len);
    assert_int_equal(a.cur->len, s1.len + s2.len);
    assert_int_equal(a.cur->refs, 1);   /* the arena's; slices borrow */
    /* One piece of memory, as one writev would send it. */
    assert_memory_equal(a.cur->data, "alice: hi\nbob: hello\n",
                        s1.len + s2.len);
    arena_fini(&a);
    assert_null(a.cur);
    arena_fini(&a);                     /* safe to repeat */
}

static void
test_full_block_lives_on_in_its_holders(void **state)
{
    struct arena a = {NULL};
    struct slice s1, s2, s3;
    struct block *old;
    size_t cap;

    (void)state;
    put(&a, "first", &s1);
    old = s1.b;
    cap = old->cap;
    assert_true(cap >= 1024);
    /* A queue keeps the message: one reference of its own. */
    block_ref(old);
    /* Exactly what is left still fits the same block... */
    assert_non_null(arena_reserve(&a, cap - old->len, &s2));
    assert_ptr_equal(s2.b, old);
    assert_int_equal(old->len, cap);
    /* ...one more byte does not: a new block, the old one alive. */
    put(&a, "x", &s3);
    assert_true(s3.b != old);
    assert_ptr_equal(a.cur, s3.b);
    assert_int_equal(s3.off, 0);
    assert_int_equal(old->refs, 1);     /* the queue's, no longer ours */
    assert_memory_equal(old->data + s1.off, "first", 5);
    assert_int_equal(old->len, cap);    /* written bytes never change */
    block_unref(old);                   /* the queue is done: freed */
    arena_fini(&a);
}

static void
test_full_block_without_holders_is_freed(void **state)
{
    struct arena a = {NULL};
    struct slice s;
    size_t cap, i;

    (void)state;
    put(&a, "a", &s);
    cap = s.b->cap;
    /* Fill several blocks that nobody holds: each is freed as it is
     * replaced (LeakSanitizer would report it otherwise). */
    for (i = 0; i < 4 * cap / 1000; i++)
        assert_non_null(arena_reserve(&a, 1000, &s));
    assert_int_equal(a.cur->refs, 1);
    arena_fini(&a);
}

static void
test_big_message_gets_its_own_block(void **state)
{
    struct arena a = {NULL};
    struct slice s1, s2, s3;
    size_t cap;

    (void)state;
    put(&a, "small", &s1);
    cap = s1.b->cap;
    block_ref(s1.b);
    assert_non_null(arena_reserve(&a, 3 * cap, &s2));
    assert_true(s2.b != s1.b);
    assert_int_equal(s2.b->cap, 3 * cap);
    assert_int_equal(s2.off, 0);
    memset(s2.b->data, 'b', 3 * cap);   /* all of it is there */
    /* The next message starts another block, the big one being full. */
    put(&a, "next", &s3);
    assert_true(s3.b != s2.b);
    block_unref(s1.b);
    arena_fini(&a);
}

static void
test_trim_releases_only_unshared(void **state)
{
    struct arena a = {NULL};
    struct slice s1, s2;
    struct block *b;

    (void)state;
    arena_trim(&a);                     /* nothing to trim */
    assert_null(a.cur);
    put(&a, "held", &s1);
    b = block_ref(s1.b);                /* a queue holds it */
    arena_trim(&a);
    assert_ptr_equal(a.cur, b);         /* shared: kept */
    assert_int_equal(b->refs, 2);
    /* Kept, it goes on filling. */
    put(&a, "more", &s2);
    assert_ptr_equal(s2.b, b);
    assert_int_equal(s2.off, 4);
    block_unref(b);                     /* the queue sent it */
    assert_int_equal(b->refs, 1);
    arena_trim(&a);
    assert_null(a.cur);                 /* the arena's alone: released */
    /* An idle arena holds nothing; the next message starts afresh. */
    put(&a, "again", &s1);
    assert_int_equal(s1.off, 0);
    assert_int_equal(a.cur->len, 5);
    arena_trim(&a);
    assert_null(a.cur);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_new_ref_unref),
        cmocka_unit_test(test_reserve_is_contiguous),
        cmocka_unit_test(test_full_block_lives_on_in_its_holders),
        cmocka_unit_test(test_full_block_without_holders_is_freed),
        cmocka_unit_test(test_big_message_gets_its_own_block),
        cmocka_unit_test(test_trim_releases_only_unshared),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
