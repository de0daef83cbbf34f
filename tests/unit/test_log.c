/* test_log.c -- how a log line begins (src/util/log.c): the journal's
 * "<N>" priority, the console's "prog: " and, where asked for, a word for
 * warnings; and JOURNAL_STREAM's "DEV:INO". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "util/log.h"

static const char *
prefix(enum log_pri pri, const char *prog, int journal, int words)
{
    static char buf[64];
    size_t n;

    memset(buf, 'x', sizeof(buf));
    n = log_format_prefix(buf, sizeof(buf), pri, prog, journal, words);
    assert_int_equal(n, strlen(buf));
    return buf;
}

static void
test_journal_priorities(void **state)
{
    (void)state;
    assert_string_equal(prefix(LOG_PRI_ERR, "chatd", 1, 0), "<3>");
    assert_string_equal(prefix(LOG_PRI_WARNING, "chatd", 1, 1), "<4>");
    assert_string_equal(prefix(LOG_PRI_NOTICE, "chatd", 1, 0), "<5>");
    assert_string_equal(prefix(LOG_PRI_INFO, NULL, 1, 0), "<6>");
    assert_string_equal(prefix(LOG_PRI_DEBUG, NULL, 1, 1), "<7>");
}

/* The console the exercises read: unchanged unless words are asked for,
 * and then only warnings get one. */
static void
test_console(void **state)
{
    (void)state;
    assert_string_equal(prefix(LOG_PRI_WARNING, "chatd", 0, 0), "chatd: ");
    assert_string_equal(prefix(LOG_PRI_ERR, "chatd", 0, 0), "chatd: ");
    assert_string_equal(prefix(LOG_PRI_INFO, NULL, 0, 0), "");
    assert_string_equal(prefix(LOG_PRI_DEBUG, NULL, 0, 1), "");
    assert_string_equal(prefix(LOG_PRI_WARNING, "chatd", 0, 1),
                        "chatd: warning: ");
    assert_string_equal(prefix(LOG_PRI_NOTICE, "chatd", 0, 1), "chatd: ");
    assert_string_equal(prefix(LOG_PRI_ERR, "chatd", 0, 1), "chatd: ");
}

static void
test_small_buffer(void **state)
{
    char buf[4];

    (void)state;
    assert_int_equal(
        log_format_prefix(buf, sizeof(buf), LOG_PRI_WARNING, "chatd", 0, 1), 3);
    assert_string_equal(buf, "cha");
    assert_int_equal(log_format_prefix(buf, 0, LOG_PRI_WARNING, "chatd", 1, 0),
                     0);
}

static int
journal(const char *s, unsigned long long *dev, unsigned long long *ino)
{
    return log_journal_parse(s == NULL ? NULL : t_guarded(s, strlen(s) + 1),
                             dev, ino);
}

static void
test_journal_stream(void **state)
{
    unsigned long long dev = 1, ino = 1;

    (void)state;
    assert_int_equal(journal("8:123456", &dev, &ino), 0);
    assert_true(dev == 8 && ino == 123456);
    assert_int_equal(journal("0:18446744073709551615", &dev, &ino), 0);
    assert_true(dev == 0 && ino == 18446744073709551615ULL);
    dev = ino = 7;
    assert_int_equal(journal(NULL, &dev, &ino), -1);
    assert_int_equal(journal("", &dev, &ino), -1);
    assert_int_equal(journal("8", &dev, &ino), -1);
    assert_int_equal(journal("8:", &dev, &ino), -1);
    assert_int_equal(journal(":5", &dev, &ino), -1);
    assert_int_equal(journal("8:5:", &dev, &ino), -1);
    assert_int_equal(journal("8:5x", &dev, &ino), -1);
    assert_int_equal(journal("-8:5", &dev, &ino), -1);
    assert_int_equal(journal("8:18446744073709551616", &dev, &ino), -1);
    assert_true(dev == 7 && ino == 7);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journal_priorities),
        cmocka_unit_test(test_console),
        cmocka_unit_test(test_small_buffer),
        cmocka_unit_test(test_journal_stream),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
