/* test_io.c -- io_write_all() and parse_enum_list(), the small shared
 * helpers of src/util/ that the tools use instead of writing their own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/io.h"
#include "util/parse.h"

#define BIG (1024 * 1024)       /* far more than a pipe holds */

/* A non-blocking pipe fills up at once: io_write_all must wait for the
 * reader (a child that counts what it reads) instead of giving up. */
static void
test_write_all_waits_on_a_full_pipe(void **state)
{
    static char buf[BIG];
    int p[2], st;
    pid_t pid;

    (void)state;
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char r[4096];
        size_t total = 0;
        ssize_t n;

        close(p[1]);
        usleep(20 * 1000);      /* let the writer find the pipe full */
        while ((n = read(p[0], r, sizeof(r))) > 0)
            total += (size_t)n;
        _exit(total == BIG ? 0 : 1);
    }
    close(p[0]);
    assert_int_equal(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(io_write_all(p[1], buf, sizeof(buf)), 0);
    close(p[1]);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
test_write_all_reports_a_gone_reader(void **state)
{
    int p[2];

    (void)state;
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    assert_int_equal(io_write_all(p[1], "x", 1), -1);
    assert_int_equal(errno, EPIPE);
    close(p[1]);
}

static void
test_enum_list(void **state)
{
    static const char *const three[] = {"epoll", "poll", "select", NULL};
    static const char *const one[] = {"poll", NULL};
    static const char *const none[] = {NULL};
    char buf[64];

    (void)state;
    parse_enum_list(buf, sizeof(buf), three);
    assert_string_equal(buf, "epoll, poll or select");
    parse_enum_list(buf, sizeof(buf), one);
    assert_string_equal(buf, "poll");
    parse_enum_list(buf, sizeof(buf), none);
    assert_string_equal(buf, "");
    parse_enum_list(buf, 8, three);     /* cut, still terminated */
    assert_string_equal(buf, "epoll, ");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_all_waits_on_a_full_pipe),
        cmocka_unit_test(test_write_all_reports_a_gone_reader),
        cmocka_unit_test(test_enum_list),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
