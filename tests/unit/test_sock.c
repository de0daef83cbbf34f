/* test_sock.c -- shedding at EMFILE with a spare descriptor (sock.c).
 *
 * The test runs itself out of descriptors by lowering RLIMIT_NOFILE to
 * just above what it holds, then checks that the pending client is
 * accepted and closed (it reads EOF at once) instead of left waiting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <errno.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/addr.h"
#include "net/sock.h"

/* A listener on 127.0.0.1 and a client connected to it. */
static void
listen_and_connect(int *lfd, int *cfd)
{
    struct addr a;
    char err[ERR_LEN];

    assert_int_equal(addr_get("127.0.0.1:0", ADDR_LISTEN, &a, err), 0);
    *lfd = sock_listen(&a, 16, err);
    assert_true(*lfd >= 0);
    *cfd = sock_connect(&a, err);
    assert_true(*cfd >= 0);
}

/* The client sees its connection closed without waiting. */
static void
assert_closed_at_once(int cfd)
{
    struct pollfd p = { cfd, POLLIN, 0 };
    char c;

    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_true(recv(cfd, &c, 1, 0) <= 0);
}

static void
test_spare_is_high_when_allowed(void **state)
{
    struct rlimit rl;
    int fd = sock_spare_open();

    (void)state;
    assert_true(fd >= 0);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > FD_SETSIZE)
        assert_true(fd >= FD_SETSIZE);
    close(fd);
}

static void
test_accept_when_not_short(void **state)
{
    int lfd, cfd, spare = sock_spare_open(), fd;
    char peer[ADDR_TEXT_LEN];

    (void)state;
    listen_and_connect(&lfd, &cfd);
    fd = sock_accept_or_shed(lfd, &spare, peer, sizeof(peer));
    assert_true(fd >= 0);
    assert_true(strncmp(peer, "127.0.0.1:", 10) == 0);
    assert_int_equal(sock_accept_or_shed(lfd, &spare, NULL, 0), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    close(fd);
    close(cfd);
    close(lfd);
    close(spare);
}

/* Lower the soft limit so the next descriptor cannot be opened. */
static rlim_t
run_out(int highest)
{
    struct rlimit rl;
    rlim_t old;

    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    old = rl.rlim_cur;
    rl.rlim_cur = (rlim_t)highest + 1;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    return old;
}

static void
restore(rlim_t old)
{
    struct rlimit rl;

    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = old;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

static void
test_shed_at_emfile(void **state)
{
    int lfd, cfd, spare, fd;
    rlim_t old;

    (void)state;
    listen_and_connect(&lfd, &cfd);
    spare = sock_spare_open();
    assert_true(spare >= 0);
    if (spare >= FD_SETSIZE) {  /* low, so the limit can sit just above */
        fd = dup(spare);
        close(spare);
        spare = fd;
    }
    old = run_out(spare > cfd ? spare : cfd);
    fd = sock_accept_or_shed(lfd, &spare, NULL, 0);
    assert_int_equal(fd, -1);
    assert_true(sock_is_shortage(errno));
    assert_true(spare >= 0);            /* shed, and a new spare kept */
    assert_closed_at_once(cfd);
    restore(old);
    close(spare);
    close(cfd);
    close(lfd);
}

static void
test_no_spare_sheds_nothing(void **state)
{
    int lfd, cfd, spare = -1, fd;
    rlim_t old;

    (void)state;
    listen_and_connect(&lfd, &cfd);
    old = run_out(cfd > lfd ? cfd : lfd);
    fd = sock_accept_or_shed(lfd, &spare, NULL, 0);
    assert_int_equal(fd, -1);
    assert_true(sock_is_shortage(errno));
    assert_int_equal(spare, -1);        /* the caller must back off */
    restore(old);
    close(cfd);
    close(lfd);
}

static void
test_shortage_errors(void **state)
{
    (void)state;
    assert_true(sock_is_shortage(EMFILE));
    assert_true(sock_is_shortage(ENFILE));
    assert_true(sock_is_shortage(ENOBUFS));
    assert_true(sock_is_shortage(ENOMEM));
    assert_false(sock_is_shortage(ECONNABORTED));
    assert_false(sock_is_shortage(EAGAIN));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spare_is_high_when_allowed),
        cmocka_unit_test(test_accept_when_not_short),
        cmocka_unit_test(test_shed_at_emfile),
        cmocka_unit_test(test_no_spare_sheds_nothing),
        cmocka_unit_test(test_shortage_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
