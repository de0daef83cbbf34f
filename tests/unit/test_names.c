/* test_names.c -- nickname and room name rules, the ASCII casemap and the
 * hash that goes with it (src/hub/names.c).
 *
 * Every name sits against a guard page (guard.h), so a rule that reads one
 * byte past the name crashes the test.  Besides the cases, every byte
 * value is tried in every position a rule distinguishes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "hub/names.h"

/* A string literal and its length, NUL bytes included. */
#define S(s) s, sizeof(s) - 1

static const char specials[] = "-_[]\\`^{}|";

static bool
nick_ok(const char *s, size_t len)
{
    bool ok = nick_is_valid(t_guarded(s, len), len);

    /* The two entry points agree. */
    assert_int_equal(ok, nick_why_invalid(t_guarded(s, len), len) == NULL);
    return ok;
}

static bool
room_ok(const char *s, size_t len)
{
    return room_is_valid(t_guarded(s, len), len);
}

/* name_eq over guarded copies, terminators included. */
static bool
eq(const char *a, const char *b)
{
    const char *ga = t_guarded(a, strlen(a) + 1);
    const char *gb = t_guarded(b, strlen(b) + 1);

    return name_eq(ga, gb);
}

/* name_eqn, b given without its terminator. */
static bool
eqn(const char *a, const char *b, size_t blen)
{
    return name_eqn(t_guarded(a, strlen(a) + 1), t_guarded(b, blen), blen);
}

static int
cmp(const char *a, const char *b)
{
    return name_cmp(t_guarded(a, strlen(a) + 1), t_guarded(b, strlen(b) + 1));
}

static uint64_t
hash(const char *s)
{
    return name_hash(t_guarded(s, strlen(s)), strlen(s));
}

static int
sign(int x)
{
    return (x > 0) - (x < 0);
}

/* --- nicknames ---------------------------------------------------------- */

static void
test_nick_letters_and_digits(void **state)
{
    (void)state;
    assert_true(nick_ok(S("alice")));
    assert_true(nick_ok(S("Alice")));
    assert_true(nick_ok(S("ALICE99")));
    assert_true(nick_ok(S("a0123456789")));
    assert_true(nick_ok(S("z")));
    assert_true(nick_ok(S("Z")));
}

static void
test_nick_every_special(void **state)
{
    char buf[3];
    size_t i;

    (void)state;
    for (i = 0; specials[i] != '\0'; i++) {
        /* Inside and at the end... */
        buf[0] = 'a';
        buf[1] = specials[i];
        buf[2] = 'b';
        assert_true(nick_ok(buf, 3));
        assert_true(nick_ok(buf, 2));
        /* ...and first, alone, except '-'. */
        assert_int_equal(nick_ok(&specials[i], 1), specials[i] != '-');
    }
    assert_true(nick_ok(S("[mod]")));
    assert_true(nick_ok(S("{x}|y^`_\\")));
    assert_true(nick_ok(S("a-b-c")));
}

static void
test_nick_every_byte(void **state)
{
    char buf[2];
    unsigned c;

    (void)state;
    for (c = 0; c < 256; c++) {
        bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        bool digit = c >= '0' && c <= '9';
        bool special = c != 0 && strchr(specials, (int)c) != NULL;

        buf[0] = 'a';
        buf[1] = (char)c;
        assert_int_equal(nick_ok(buf, 2), letter || digit || special);
        buf[0] = (char)c;
        assert_int_equal(nick_ok(buf, 1),
                         letter || (special && c != '-'));
    }
}

static void
test_nick_lengths(void **state)
{
    char buf[NICK_MAX + 2];

    (void)state;
    memset(buf, 'n', sizeof(buf));
    assert_true(nick_ok(buf, 1));
    assert_true(nick_ok(buf, 29));
    assert_true(nick_ok(buf, NICK_MAX));
    assert_int_equal(NICK_MAX, 30);
    assert_false(nick_ok(buf, NICK_MAX + 1));
    assert_non_null(strstr(nick_why_invalid(t_guarded(buf, NICK_MAX + 1),
                                            NICK_MAX + 1), "30"));
}

static void
test_nick_empty(void **state)
{
    (void)state;
    assert_false(nick_ok("", 0));
    assert_non_null(strstr(nick_why_invalid(t_guarded("", 0), 0), "empty"));
}

static void
test_nick_leading_digit_or_dash(void **state)
{
    (void)state;
    assert_false(nick_ok(S("0alice")));
    assert_false(nick_ok(S("9")));
    assert_false(nick_ok(S("-alice")));
    assert_false(nick_ok(S("-")));
    assert_non_null(strstr(nick_why_invalid(t_guarded(S("1a")), 2),
                           "start"));
    assert_true(nick_ok(S("a0")));
    assert_true(nick_ok(S("a-")));
}

static void
test_nick_nul_inside(void **state)
{
    (void)state;
    assert_false(nick_ok(S("ab\0cd")));
    assert_false(nick_ok(S("ab\0")));
    assert_false(nick_ok(S("\0ab")));
    /* The length counts, not the terminator: "ab" is fine before it. */
    assert_true(nick_ok("ab\0cd", 2));
}

static void
test_nick_non_ascii(void **state)
{
    (void)state;
    assert_false(nick_ok(S("caf\xc3\xa9")));           /* café, UTF-8 */
    assert_false(nick_ok(S("\xc3\x89mile")));           /* Émile */
    assert_false(nick_ok(S("caf\xe9")));               /* Latin-1 é */
    assert_false(nick_ok(S("a\x7f")));
    assert_false(nick_ok(S("a\xff")));
    assert_false(nick_ok(S("a b")));
    assert_false(nick_ok(S("a,b")));
    assert_false(nick_ok(S("a:b")));
    assert_false(nick_ok(S("a.b")));
    assert_false(nick_ok(S("a@b")));
    assert_false(nick_ok(S("a!b")));
    assert_false(nick_ok(S("#a")));
}

/* --- room names --------------------------------------------------------- */

static void
test_room_basic(void **state)
{
    (void)state;
    assert_true(room_ok(S("#a")));
    assert_true(room_ok(S("#chat")));
    assert_true(room_ok(S("##")));
    assert_true(room_ok(S("#a#b")));
    assert_true(room_ok(S("#0")));
    assert_true(room_ok(S("#-")));
    assert_false(room_ok(S("#")));
    assert_false(room_ok("", 0));
    assert_false(room_ok(S("a")));
    assert_false(room_ok(S("chat")));
    assert_false(room_ok(S("&chat")));
    assert_false(room_ok(S(" #chat")));
}

static void
test_room_lengths(void **state)
{
    char buf[ROOM_MAX + 2];

    (void)state;
    assert_int_equal(ROOM_MAX, 50);
    memset(buf, 'r', sizeof(buf));
    buf[0] = '#';
    assert_true(room_ok(buf, 2));               /* 1 after '#' */
    assert_true(room_ok(buf, 1 + 49));          /* 49 after '#' */
    assert_true(room_ok(buf, ROOM_MAX));        /* 50 bytes in all */
    assert_false(room_ok(buf, ROOM_MAX + 1));
}

static void
test_room_every_byte(void **state)
{
    char buf[4] = {'#', 'a', 0, 'b'};
    unsigned c;

    (void)state;
    for (c = 0; c < 256; c++) {
        bool bad = c < 0x20 || c == 0x7f || c == ' ' || c == ',' || c == ':';

        buf[2] = (char)c;
        assert_int_equal(room_ok(buf, 4), !bad);       /* inside */
        assert_int_equal(room_ok(buf, 3), !bad);       /* at the end */
        buf[1] = (char)c;
        assert_int_equal(room_ok(buf, 2), !bad);       /* first after '#' */
        buf[1] = 'a';
    }
}

static void
test_room_named_cases(void **state)
{
    (void)state;
    assert_false(room_ok(S("#a b")));
    assert_false(room_ok(S("#a,b")));
    assert_false(room_ok(S("#a:b")));
    assert_false(room_ok(S("#a\tb")));
    assert_false(room_ok(S("#a\r")));
    assert_false(room_ok(S("#a\n")));
    assert_false(room_ok(S("#a\0b")));
    assert_false(room_ok(S("#a\x7f")));
    assert_false(room_ok(S("#\x1b[2J")));
    /* Bytes above 0x7F are allowed: UTF-8 names, and any others. */
    assert_true(room_ok(S("#caf\xc3\xa9")));
    assert_true(room_ok(S("#\xe2\x82\xac")));
    assert_true(room_ok(S("#\x80")));
    assert_true(room_ok(S("#\xff\xfe")));
}

/* --- casemap ------------------------------------------------------------ */

static void
test_fold(void **state)
{
    unsigned c;

    (void)state;
    for (c = 0; c < 256; c++) {
        unsigned want = c >= 'A' && c <= 'Z' ? c + 32 : c;

        assert_int_equal(name_fold((unsigned char)c), want);
    }
}

static void
test_name_eq(void **state)
{
    (void)state;
    assert_true(eq("alice", "alice"));
    assert_true(eq("Alice", "aLICE"));
    assert_true(eq("#Dev", "#dev"));
    assert_true(eq("", ""));
    assert_false(eq("alice", "alicee"));
    assert_false(eq("alicee", "alice"));
    assert_false(eq("alice", ""));
    assert_false(eq("alice", "bob"));
    /* ASCII only: '[' is not '{', nor ']' '}', '\\' '|', '^' '~'. */
    assert_false(eq("a[", "a{"));
    assert_false(eq("a]", "a}"));
    assert_false(eq("a\\", "a|"));
    assert_false(eq("a^", "a~"));
    /* ...and non-ASCII is not folded, in UTF-8 or in Latin-1. */
    assert_false(eq("#\xc3\x89t\xc3\xa9", "#\xc3\xa9t\xc3\xa9"));  /* É é */
    assert_false(eq("#\xc9", "#\xe9"));
    assert_true(eq("#\xc3\x89", "#\xc3\x89"));
    /* Letters only: '@' (0x40) and '`' (0x60) differ by 32 too. */
    assert_false(eq("@", "`"));
    assert_false(eq("[", "{"));
}

static void
test_name_eqn(void **state)
{
    (void)state;
    assert_true(eqn("alice", "ALICE", 5));
    assert_true(eqn("alice", "ALICEXYZ", 5));
    assert_false(eqn("alice", "ALIC", 4));
    assert_false(eqn("ali", "ALICE", 5));
    assert_true(eqn("", "", 0));
    assert_false(eqn("a", "", 0));
    assert_false(eqn("a[", "A{", 2));
    assert_false(eqn("\xc3\xa9", "\xc3\x89", 2));
    /* A NUL in b is a byte like any other: it matches no name. */
    assert_false(eqn("ab", "a\0", 2));
    assert_false(eqn("a", "a\0", 2));
}

static void
test_name_cmp(void **state)
{
    (void)state;
    assert_int_equal(cmp("alice", "ALICE"), 0);
    assert_true(cmp("alice", "bob") < 0);
    assert_true(cmp("Bob", "alice") > 0);       /* strcmp would say < */
    assert_true(cmp("a", "B") < 0);
    assert_true(cmp("ab", "ABC") < 0);
    assert_true(cmp("abc", "AB") > 0);
    assert_true(cmp("", "a") < 0);
    assert_true(cmp("[", "{") != 0);
    assert_true(cmp("\xc3\x89", "\xc3\xa9") != 0);
    /* Bytes compare unsigned: 0xC3 sorts after ASCII. */
    assert_true(cmp("\xc3\xa9", "z") > 0);
}

/* name_cmp is antisymmetric and agrees with name_eq and name_eqn. */
static void
test_casemap_agree(void **state)
{
    static const char *names[] = {
        "alice", "ALICE", "Alice", "bob", "b", "", "a[", "a{", "A{",
        "#dev", "#DEV", "#d\xc3\xa9v", "#D\xc3\x89V", "#D\xc3\xa9V",
        "x|", "X\\", "guest1", "GUEST1", "guest10",
    };
    size_t n = sizeof(names) / sizeof(names[0]), i, j;

    (void)state;
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) {
            const char *a = names[i], *b = names[j];
            int c = cmp(a, b);

            assert_int_equal(sign(c), -sign(cmp(b, a)));
            assert_int_equal(c == 0, eq(a, b));
            assert_int_equal(c == 0, eqn(a, b, strlen(b)));
            if (c == 0)
                assert_true(hash(a) == hash(b));
        }
}

static void
test_hash(void **state)
{
    char a[64], b[64];
    unsigned i, k;

    (void)state;
    assert_true(hash("alice") == hash("ALICE"));
    assert_true(hash("#Dev") == hash("#dEV"));
    assert_true(hash("alice") != hash("bob"));
    assert_true(hash("a[") != hash("a{"));
    assert_true(hash("\xc3\x89") != hash("\xc3\xa9"));
    /* FNV-1a of nothing is its offset basis. */
    assert_true(name_hash(t_guarded("", 0), 0) == 14695981039346656037ull);
    /* The length counts: a prefix hashes as itself. */
    assert_true(name_hash(t_guarded("alice", 5), 3) == hash("ali"));
    /* Random names in random case: equal names, equal hashes. */
    srand(1);
    for (i = 0; i < 2000; i++) {
        size_t len = 1 + (size_t)rand() % 40;

        for (k = 0; k < len; k++) {
            a[k] = (char)(1 + rand() % 255);
            b[k] = rand() % 2 ? (char)name_fold((unsigned char)a[k]) :
                   a[k] >= 'a' && a[k] <= 'z' ? (char)(a[k] - 32) : a[k];
        }
        a[len] = b[len] = '\0';
        assert_true(eq(a, b));
        assert_true(hash(a) == hash(b));
    }
}

static void
test_mask_match(void **state)
{
    (void)state;
    assert_true(mask_match("bob!*@*", "bob!bob@127.0.0.1"));
    assert_true(mask_match("BOB!*@*", "bob!x@h"));          /* case */
    assert_false(mask_match("bob!*@*", "bobby!x@h"));
    assert_true(mask_match("*", ""));
    assert_true(mask_match("*", "anything"));
    assert_false(mask_match("", "a"));
    assert_true(mask_match("", ""));
    assert_true(mask_match("a?c", "abc"));
    assert_false(mask_match("a?c", "ac"));
    assert_true(mask_match("*!*@*.example", "n!u@h.example"));
    assert_false(mask_match("*!*@*.example", "n!u@h.example.org"));
    /* A star that must give bytes back, more than once. */
    assert_true(mask_match("*ab*ab", "xabyabab"));
    assert_true(mask_match("**a", "a"));
    assert_false(mask_match("*a*b", "bbba"));
    assert_true(mask_match("a*", "a"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_match),
        cmocka_unit_test(test_nick_letters_and_digits),
        cmocka_unit_test(test_nick_every_special),
        cmocka_unit_test(test_nick_every_byte),
        cmocka_unit_test(test_nick_lengths),
        cmocka_unit_test(test_nick_empty),
        cmocka_unit_test(test_nick_leading_digit_or_dash),
        cmocka_unit_test(test_nick_nul_inside),
        cmocka_unit_test(test_nick_non_ascii),
        cmocka_unit_test(test_room_basic),
        cmocka_unit_test(test_room_lengths),
        cmocka_unit_test(test_room_every_byte),
        cmocka_unit_test(test_room_named_cases),
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_name_eq),
        cmocka_unit_test(test_name_eqn),
        cmocka_unit_test(test_name_cmp),
        cmocka_unit_test(test_casemap_agree),
        cmocka_unit_test(test_hash),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
