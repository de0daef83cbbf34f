/* test_addr.c -- address forms (src/net/addr.c): addr_parse, addr_format.
 *
 * Each text is parsed from a copy whose NUL is the last readable byte
 * (guard.h), so a parser that scans past the end of the string crashes.
 * addr_resolve() does I/O and is not tested here. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "net/addr.h"

static int
parse(const char *s, enum addr_use use, struct addr *a, char err[ERR_LEN])
{
    err[0] = '\0';
    return addr_parse(t_guarded(s, strlen(s) + 1), use, a, err);
}

static void
check_v4(const char *s, enum addr_use use, const char *ip, int port,
         const char *text)
{
    char err[ERR_LEN];
    struct addr a;
    struct in_addr want;

    assert_int_equal(parse(s, use, &a, err), 0);
    assert_int_equal(inet_pton(AF_INET, ip, &want), 1);
    assert_int_equal(a.family, AF_INET);
    assert_int_equal(a.len, sizeof(struct sockaddr_in));
    assert_int_equal(a.u.in.sin_family, AF_INET);
    assert_int_equal(a.u.in.sin_addr.s_addr, want.s_addr);
    assert_int_equal(ntohs(a.u.in.sin_port), port);
    assert_int_equal(a.port, port);
    assert_int_equal(a.resolved, 1);
    assert_string_equal(a.text, text);
}

static void
test_port_listen(void **state)
{
    (void)state;
    check_v4("3100", ADDR_LISTEN, "0.0.0.0", 3100, "0.0.0.0:3100");
    check_v4("0", ADDR_LISTEN, "0.0.0.0", 0, "0.0.0.0:0");
    check_v4("65535", ADDR_LISTEN, "0.0.0.0", 65535, "0.0.0.0:65535");
}

static void
test_port_connect(void **state)
{
    (void)state;
    check_v4("3100", ADDR_CONNECT, "127.0.0.1", 3100, "127.0.0.1:3100");
}

static void
test_ipv4(void **state)
{
    (void)state;
    check_v4("1.2.3.4:5", ADDR_CONNECT, "1.2.3.4", 5, "1.2.3.4:5");
    check_v4("1.2.3.4:5", ADDR_LISTEN, "1.2.3.4", 5, "1.2.3.4:5");
    check_v4("*:80", ADDR_LISTEN, "0.0.0.0", 80, "0.0.0.0:80");
}

static void
test_ipv6(void **state)
{
    char err[ERR_LEN];
    struct addr a;

    (void)state;
    assert_int_equal(parse("[::1]:5", ADDR_CONNECT, &a, err), 0);
    assert_int_equal(a.family, AF_INET6);
    assert_int_equal(a.len, sizeof(struct sockaddr_in6));
    assert_int_equal(a.u.in6.sin6_family, AF_INET6);
    assert_memory_equal(&a.u.in6.sin6_addr, &in6addr_loopback,
                        sizeof(in6addr_loopback));
    assert_int_equal(ntohs(a.u.in6.sin6_port), 5);
    assert_int_equal(a.port, 5);
    assert_int_equal(a.resolved, 1);
    assert_string_equal(a.text, "[::1]:5");
    /* The text is canonical. */
    assert_int_equal(parse("[0:0::0:1]:05", ADDR_CONNECT, &a, err), 0);
    assert_string_equal(a.text, "[::1]:5");
}

static void
test_unix(void **state)
{
    char err[ERR_LEN], s[5 + 108];
    struct addr a;

    (void)state;
    assert_int_equal(parse("unix:/tmp/x", ADDR_LISTEN, &a, err), 0);
    assert_int_equal(a.family, AF_UNIX);
    assert_int_equal(a.u.un.sun_family, AF_UNIX);
    assert_string_equal(a.u.un.sun_path, "/tmp/x");
    assert_int_equal(a.len, offsetof(struct sockaddr_un, sun_path) + 7);
    assert_int_equal(a.port, -1);
    assert_int_equal(a.resolved, 1);
    assert_string_equal(a.text, "unix:/tmp/x");
    /* The longest path that fits sun_path with its NUL. */
    memcpy(s, "unix:", 5);
    memset(s + 5, 'p', 107);
    s[5 + 107] = '\0';
    assert_int_equal(parse(s, ADDR_CONNECT, &a, err), 0);
    assert_int_equal(strlen(a.u.un.sun_path), 107);
    assert_int_equal(a.len, sizeof(struct sockaddr_un));
    assert_string_equal(a.text, s);
}

static void
test_host_name_left_unresolved(void **state)
{
    char err[ERR_LEN];
    struct addr a;

    (void)state;
    assert_int_equal(parse("localhost:80", ADDR_CONNECT, &a, err), 0);
    assert_int_equal(a.resolved, 0);
    assert_string_equal(a.host, "localhost");
    assert_int_equal(a.port, 80);
    assert_string_equal(a.text, "localhost:80");
    assert_int_equal(parse("my-host_1.example.org:1", ADDR_LISTEN, &a, err),
                     0);
    assert_int_equal(a.resolved, 0);
    assert_string_equal(a.host, "my-host_1.example.org");
}

static void
check_bad(const char *s)
{
    char err[ERR_LEN];
    struct addr a;

    if (parse(s, ADDR_LISTEN, &a, err) != -1)
        fail_msg("accepted bad address '%s' as %s", s, a.text);
    assert_true(err[0] != '\0');
    assert_true(strlen(err) < ERR_LEN);
    if (parse(s, ADDR_CONNECT, &a, err) != -1)
        fail_msg("accepted bad address '%s' to connect", s);
}

static void
test_bad(void **state)
{
    static const char *bad[] = {
        "", ":", "70000", "65536", "-1", "1.2.3.4:", "[::1]", "[::1]5",
        "::1:5", "unix:", "host name:1", "1.2.3.4:12x", "[]:5", "[::1]:",
        "[::1]:70000", "[1.2.3.4]:5", "[::1", "::1", "a:b:c", " 80",
        "80 ", "12x", "0x50", "1.2.3.4:5:6", "h\xc3\xa9:1", "host:\n1",
    };
    char err[ERR_LEN];
    struct addr a;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_bad(bad[i]);
    assert_int_equal(addr_parse(NULL, ADDR_LISTEN, &a, err), -1);
}

static void
test_bad_unix_path_too_long(void **state)
{
    char s[5 + 200 + 1];

    (void)state;
    memcpy(s, "unix:", 5);
    memset(s + 5, 'p', 200);
    s[205] = '\0';
    check_bad(s);
    s[5 + 108] = '\0';          /* 108 bytes: no room for the NUL */
    check_bad(s);
}

static void
test_error_names_the_input(void **state)
{
    char err[ERR_LEN];
    struct addr a;

    (void)state;
    assert_int_equal(parse("1.2.3.4:12x", ADDR_LISTEN, &a, err), -1);
    assert_non_null(strstr(err, "1.2.3.4:12x"));
    assert_int_equal(parse("host name:1", ADDR_LISTEN, &a, err), -1);
    assert_non_null(strstr(err, "host name:1"));
}

/* A long host name must either be refused or give a text that reads back
 * as the same address; a->text is ADDR_TEXT_LEN bytes. */
static void
test_long_host_name(void **state)
{
    char err[ERR_LEN], s[ADDR_HOST_LEN + 8];
    struct addr a, b;

    (void)state;
    memset(s, 'h', 200);
    strcpy(s + 200, ":80");
    if (parse(s, ADDR_CONNECT, &a, err) == -1)
        return;
    assert_int_equal(parse(a.text, ADDR_CONNECT, &b, err), 0);
    assert_string_equal(b.host, a.host);
    assert_int_equal(b.port, 80);
}

static void
test_format_v4(void **state)
{
    struct sockaddr_in in;
    char buf[ADDR_TEXT_LEN];

    (void)state;
    memset(&in, 0, sizeof(in));
    in.sin_family = AF_INET;
    in.sin_port = htons(54321);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &in.sin_addr), 1);
    assert_ptr_equal(addr_format((struct sockaddr *)&in, sizeof(in), buf,
                                 sizeof(buf)), buf);
    assert_string_equal(buf, "127.0.0.1:54321");
}

static void
test_format_v6(void **state)
{
    struct sockaddr_in6 in6;
    char buf[ADDR_TEXT_LEN];

    (void)state;
    memset(&in6, 0, sizeof(in6));
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(5555);
    in6.sin6_addr = in6addr_loopback;
    addr_format((struct sockaddr *)&in6, sizeof(in6), buf, sizeof(buf));
    assert_string_equal(buf, "[::1]:5555");
    assert_int_equal(inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:"
                               "ffff:ffff", &in6.sin6_addr), 1);
    in6.sin6_port = htons(65535);
    addr_format((struct sockaddr *)&in6, sizeof(in6), buf, sizeof(buf));
    assert_string_equal(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}

static void
test_format_unix(void **state)
{
    struct sockaddr_un un;
    char buf[ADDR_TEXT_LEN];
    socklen_t off = (socklen_t)offsetof(struct sockaddr_un, sun_path);

    (void)state;
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    strcpy(un.sun_path, "/tmp/s");
    addr_format((struct sockaddr *)&un, off + 7, buf, sizeof(buf));
    assert_string_equal(buf, "unix:/tmp/s");
    /* The length as accept() gives it may omit the NUL. */
    addr_format((struct sockaddr *)&un, off + 6, buf, sizeof(buf));
    assert_string_equal(buf, "unix:/tmp/s");
    /* A full sun_path with no NUL at all stops at sun_path's end. */
    memset(un.sun_path, 'p', sizeof(un.sun_path));
    addr_format((struct sockaddr *)&un, sizeof(un), buf, sizeof(buf));
    assert_int_equal(strlen(buf), 5 + sizeof(un.sun_path));
}

static void
test_format_unnamed_unix(void **state)
{
    struct sockaddr_un un;
    char buf[ADDR_TEXT_LEN];
    socklen_t off = (socklen_t)offsetof(struct sockaddr_un, sun_path);

    (void)state;
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    /* An unnamed peer: accept() gives just the family. */
    addr_format((struct sockaddr *)&un, off, buf, sizeof(buf));
    assert_string_equal(buf, "unix");
    addr_format((struct sockaddr *)&un, sizeof(un), buf, sizeof(buf));
    assert_string_equal(buf, "unix");
}

static void
test_format_small_buffer(void **state)
{
    struct sockaddr_in in;
    struct sockaddr_un un;
    char buf[8];

    (void)state;
    memset(&in, 0, sizeof(in));
    in.sin_family = AF_INET;
    in.sin_port = htons(3100);
    addr_format((struct sockaddr *)&in, sizeof(in), buf, sizeof(buf));
    assert_string_equal(buf, "0.0.0.0");
    buf[0] = 'x';
    addr_format((struct sockaddr *)&in, sizeof(in), buf, 0);
    assert_int_equal(buf[0], 'x');      /* len 0: nothing written */
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNSPEC;
    addr_format((struct sockaddr *)&un, sizeof(un), buf, sizeof(buf));
    assert_string_equal(buf, "?");
}

/* Whatever parses, parses again from its own text to the same address. */
static void
test_text_round_trip(void **state)
{
    static const char *good[] = {
        "3100", "1.2.3.4:5", "[::1]:5", "unix:/tmp/x", "localhost:80",
        "*:80", "[::ffff:1.2.3.4]:65535", "[fe80::1:2]:0", "unix:rel ative",
    };
    char err[ERR_LEN];
    struct addr a, b;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(parse(good[i], ADDR_LISTEN, &a, err), 0);
        assert_int_equal(parse(a.text, ADDR_LISTEN, &b, err), 0);
        assert_int_equal(a.family, b.family);
        assert_int_equal(a.len, b.len);
        assert_int_equal(a.port, b.port);
        assert_int_equal(a.resolved, b.resolved);
        assert_memory_equal(&a.u, &b.u, sizeof(a.u));
        assert_string_equal(a.host, b.host);
        assert_string_equal(a.text, b.text);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_port_listen),
        cmocka_unit_test(test_port_connect),
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_unix),
        cmocka_unit_test(test_host_name_left_unresolved),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_bad_unix_path_too_long),
        cmocka_unit_test(test_error_names_the_input),
        cmocka_unit_test(test_long_host_name),
        cmocka_unit_test(test_format_v4),
        cmocka_unit_test(test_format_v6),
        cmocka_unit_test(test_format_unix),
        cmocka_unit_test(test_format_unnamed_unix),
        cmocka_unit_test(test_format_small_buffer),
        cmocka_unit_test(test_text_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
