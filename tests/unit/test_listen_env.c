/* test_listen_env.c -- LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES
 * (src/util/listen_env.c): which descriptors are ours, and their names.
 *
 * Each text is parsed from a copy whose NUL is the last readable byte
 * (guard.h), so a parser that scans past the end of a string crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "util/listen_env.h"

static const char *
g(const char *s)
{
    return s == NULL ? NULL : t_guarded(s, strlen(s) + 1);
}

static int
parse(const char *pid, const char *fds, const char *names,
      struct listen_env_fd out[], char err[ERR_LEN])
{
    err[0] = '\0';
    return listen_env_parse(g(pid), g(fds), g(names), 4242, out, LISTEN_ENV_MAX,
                            err);
}

static void
assert_name(const struct listen_env_fd *f, int fd, const char *name)
{
    assert_int_equal(f->fd, fd);
    assert_int_equal(f->namelen, strlen(name));
    assert_memory_equal(f->name, name, f->namelen);
}

static void
test_named(void **state)
{
    struct listen_env_fd out[LISTEN_ENV_MAX];
    char err[ERR_LEN];

    (void)state;
    assert_int_equal(parse("4242", "3", "line:irc:http", out, err), 3);
    assert_name(&out[0], 3, "line");
    assert_name(&out[1], 4, "irc");
    assert_name(&out[2], 5, "http");
}

static void
test_unnamed_and_empty_names(void **state)
{
    struct listen_env_fd out[LISTEN_ENV_MAX];
    char err[ERR_LEN];

    (void)state;
    assert_int_equal(parse("4242", "2", NULL, out, err), 2);
    assert_name(&out[0], 3, "");
    assert_name(&out[1], 4, "");
    assert_int_equal(parse("4242", "3", "::x", out, err), 3);
    assert_name(&out[0], 3, "");
    assert_name(&out[1], 4, "");
    assert_name(&out[2], 5, "x");
    assert_int_equal(parse("4242", "1", "", out, err), 1);
    assert_name(&out[0], 3, "");
}

/* Not ours: nothing to take, and no error. */
static void
test_not_ours(void **state)
{
    struct listen_env_fd out[LISTEN_ENV_MAX];
    char err[ERR_LEN];

    (void)state;
    assert_int_equal(parse("4243", "2", "a:b", out, err), 0);
    assert_int_equal(parse(NULL, "2", "a:b", out, err), 0);
    assert_int_equal(parse("4242", NULL, "a:b", out, err), 0);
    assert_int_equal(parse("4242", "0", NULL, out, err), 0);
    assert_string_equal(err, "");
}

static void
test_bad_numbers(void **state)
{
    struct listen_env_fd out[LISTEN_ENV_MAX];
    char err[ERR_LEN];

    (void)state;
    assert_int_equal(parse("", "1", NULL, out, err), -1);
    assert_string_equal(err, "bad LISTEN_PID '' (expected a process id)");
    assert_int_equal(parse("42x", "1", NULL, out, err), -1);
    assert_int_equal(parse("-4242", "1", NULL, out, err), -1);
    assert_int_equal(parse("0", "1", NULL, out, err), -1);
    assert_int_equal(parse("99999999999999999999", "1", NULL, out, err), -1);
    assert_int_equal(parse("4242", "-1", NULL, out, err), -1);
    assert_string_equal(err, "bad LISTEN_FDS '-1' (expected a count)");
    assert_int_equal(parse("4242", " 1", NULL, out, err), -1);
    assert_int_equal(parse("4242", "65", NULL, out, err), -1);
    assert_string_equal(err, "LISTEN_FDS 65: more descriptors than the 64 "
                             "taken");
    assert_int_equal(parse("4242", "64", NULL, out, err), 64);
    assert_int_equal(out[63].fd, 66);
}

static void
test_names_must_match_the_count(void **state)
{
    struct listen_env_fd out[LISTEN_ENV_MAX];
    char err[ERR_LEN];

    (void)state;
    assert_int_equal(parse("4242", "3", "a:b", out, err), -1);
    assert_string_equal(err, "LISTEN_FDNAMES has 2 name(s) for 3 "
                             "descriptors");
    assert_int_equal(parse("4242", "1", "a:b", out, err), -1);
    assert_string_equal(err, "LISTEN_FDNAMES has more names than the 1 "
                             "descriptors");
    assert_int_equal(parse("4242", "2", "a:", out, err), 2);
    assert_name(&out[1], 4, "");
}

static void
test_bad_names(void **state)
{
    struct listen_env_fd out[LISTEN_ENV_MAX];
    char err[ERR_LEN], name[LISTEN_ENV_NAME_MAX + 2];

    (void)state;
    assert_int_equal(parse("4242", "2", "ok:a\033b", out, err), -1);
    assert_string_equal(err, "LISTEN_FDNAMES: name 2 has a control "
                             "character");
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    assert_int_equal(parse("4242", "1", name, out, err), -1);
    assert_string_equal(err, "LISTEN_FDNAMES: name 1 is longer than 255 "
                             "bytes");
    name[LISTEN_ENV_NAME_MAX] = '\0';
    assert_int_equal(parse("4242", "1", name, out, err), 1);
    assert_int_equal(out[0].namelen, LISTEN_ENV_NAME_MAX);
}

/* A caller may take fewer than LISTEN_ENV_MAX. */
static void
test_max(void **state)
{
    struct listen_env_fd out[2];
    char err[ERR_LEN];

    (void)state;
    assert_int_equal(listen_env_parse("7", "3", NULL, 7, out, 2, err), -1);
    assert_int_equal(listen_env_parse("7", "2", NULL, 7, out, 2, err), 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named),
        cmocka_unit_test(test_unnamed_and_empty_names),
        cmocka_unit_test(test_not_ours),
        cmocka_unit_test(test_bad_numbers),
        cmocka_unit_test(test_names_must_match_the_count),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_max),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
