/* test_cmsg.c -- the cluster's message format (src/proto/cmsg.c).
 *
 * Inputs sit against a guard page (guard.h): reading past the message
 * crashes the test.  What is written parses back to the same fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "proto/cmsg.h"

#define S(s) s, sizeof(s) - 1
#define F(s) ((struct cmsg_field){s, sizeof(s) - 1})

static int
parse(const char *s, size_t n, struct cmsg *m, const char **why)
{
    return cmsg_parse(t_guarded(s, n), n, m, why);
}

static void
field_is(struct cmsg_field f, const char *want)
{
    assert_int_equal(f.len, strlen(want));
    assert_memory_equal(f.p, want, f.len);
}

static void
test_cmsg_say(void **state)
{
    struct cmsg m;
    const char *why = NULL;

    (void)state;
    assert_int_equal(parse(S("C2\tn1\t7\tsay\t1\t9\talice\tal\t127.0.0.1\t"
                             "#lobby\t\t\thi\tthere"), &m, &why), 0);
    field_is(m.node, "n1");
    assert_int_equal(m.seq, 7);
    assert_int_equal(m.kind, CMSG_SAY);
    assert_int_equal(m.flags, CMSG_F_NOECHO);
    assert_int_equal(m.uid, 9);
    field_is(m.nick, "alice");
    field_is(m.ident, "al");
    field_is(m.host, "127.0.0.1");
    field_is(m.room, "#lobby");
    field_is(m.to, "");
    field_is(m.old, "");
    field_is(m.text, "hi\tthere");      /* the text keeps its tabs */
}

static void
test_cmsg_bad(void **state)
{
    static const struct {
        const char *s;
        size_t      n;
    } bad[] = {
        {S("")},
        {S("C2\tn1\t7\tsay\t0\t1\ta\tb\tc\t#r\t\t")},      /* 12 fields */
        {S("C1\tn1\t7\tsay\t0\t1\ta\tb\tc\t#r\t\t\tx")},   /* version */
        {S("C2\tn1\t7\tsay\t0\tx\ta\tb\tc\t#r\t\t\tx")},   /* uid */
        {S("C2\tn1\t7\tsay\t0\t\ta\tb\tc\t#r\t\t\tx")},
        {S("C2\t\t7\tsay\t0\t1\ta\tb\tc\t#r\t\t\tx")},        /* no node */
        {S("C2\tn\t-7\tsay\t0\t1\ta\tb\tc\t#r\t\t\tx")},      /* sequence */
        {S("C2\tn\t\tsay\t0\t1\ta\tb\tc\t#r\t\t\tx")},
        {S("C2\tn\t18446744073709551616\tsay\t0\t1\ta\tb\tc\t#r\t\t\tx")},
        {S("C2\tn\t1\tshout\t0\t1\ta\tb\tc\t#r\t\t\tx")},     /* kind */
        {S("C2\tn\t1\tsay\t65536\t1\ta\tb\tc\t#r\t\t\tx")},   /* flags */
        {S("C2\tn\t1\tsay\t0\t1\ta\x01\tb\tc\t#r\t\t\tx")},   /* control */
        {S("C2\tn\t1\tsay\t0\t1\ta\tb\tc\t#r\n\t\t\tx")},
    };
    struct cmsg m;
    const char *why;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        assert_int_equal(parse(bad[i].s, bad[i].n, &m, &why), -1);
        assert_non_null(why);
    }
    assert_int_equal(parse(S("C2\tn\t18446744073709551615\tprobe\t0\t1\t\t\t"
                             "\t\t\t\t"), &m, &why), 0);
    assert_int_equal(m.seq, UINT64_MAX);
}

static void
test_cmsg_long(void **state)
{
    static char buf[CMSG_MAX + 64];
    char nick[CMSG_FIELD_MAX + 2];
    struct cmsg m;
    const char *why;
    size_t n;

    (void)state;
    memset(nick, 'a', sizeof(nick));
    n = (size_t)snprintf(buf, sizeof(buf), "C2\tn\t1\tsay\t0\t1\t%.*s\t\t\t\t"
                         "\t\tx", CMSG_FIELD_MAX, nick);
    assert_int_equal(parse(buf, n, &m, &why), 0);
    n = (size_t)snprintf(buf, sizeof(buf), "C2\tn\t1\tsay\t0\t1\t%.*s\t\t\t\t"
                         "\t\tx", CMSG_FIELD_MAX + 1, nick);
    assert_int_equal(parse(buf, n, &m, &why), -1);
    n = (size_t)snprintf(buf, sizeof(buf), "C2\tn\t1\tsay\t0\t1\t\t\t\t\t\t\t");
    memset(buf + n, 'x', CMSG_TEXT_MAX + 1);
    assert_int_equal(parse(buf, n + CMSG_TEXT_MAX, &m, &why), 0);
    assert_int_equal(parse(buf, n + CMSG_TEXT_MAX + 1, &m, &why), -1);
}

static void
test_cmsg_round_trip(void **state)
{
    struct cmsg m = {.node = F("node-1"), .seq = 42, .kind = CMSG_KICK,
                     .flags = 3, .uid = 77, .nick = F("op"), .ident = F("~o"),
                     .host = F("::1"), .room = F("#x"), .to = F("bob"),
                     .old = F(""), .text = F("bye\tnow \xc3\xa9")};
    struct cmsg back;
    char buf[CMSG_MAX];
    const char *why;
    size_t n = cmsg_encode(buf, sizeof(buf), &m);

    (void)state;
    assert_true(n > 0);
    assert_int_equal(parse(buf, n, &back, &why), 0);
    field_is(back.node, "node-1");
    assert_int_equal(back.seq, 42);
    assert_int_equal(back.kind, CMSG_KICK);
    assert_int_equal(back.flags, 3);
    assert_int_equal(back.uid, 77);
    field_is(back.to, "bob");
    field_is(back.text, "bye\tnow \xc3\xa9");
    /* Too small a buffer, or a tab where none may be: nothing. */
    assert_int_equal(cmsg_encode(buf, n - 1, &m), 0);
    m.nick = F("o\tp");
    assert_int_equal(cmsg_encode(buf, sizeof(buf), &m), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmsg_say),
        cmocka_unit_test(test_cmsg_bad),
        cmocka_unit_test(test_cmsg_long),
        cmocka_unit_test(test_cmsg_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
