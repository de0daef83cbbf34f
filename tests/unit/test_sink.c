/* test_sink.c -- the sink console's source-change decision (sink.c).
 *
 * The console model: data from one source flows on unchanged; a change of
 * source gets the lead "ADDR:PORT: "; the first data ever and the first
 * data after any console line (event or warning) count as a change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/sink.h"

#define A "127.0.0.1:1111"
#define B "[::1]:2222"

/* Run sink_lead on a NUL-terminated chunk; return the lead (static). */
static const char *
lead(struct sink *st, uint64_t src, const char *name, uint64_t lines,
     const char *data)
{
    static char out[96];
    size_t n = sink_lead(st, src, name, lines, strlen(data), out,
                         sizeof(out));

    assert_int_equal(n, strlen(out));
    return out;
}

static void
test_first_data_is_a_change(void **state)
{
    struct sink st;

    (void)state;
    sink_init(&st);
    assert_string_equal(lead(&st, 1, A, 0, "hello\n"), A ": ");
}

static void
test_first_data_after_lines_is_a_change(void **state)
{
    struct sink st;

    (void)state;
    sink_init(&st);
    /* Source 1 and 42 console lines before anything was written. */
    assert_string_equal(lead(&st, 1, A, 42, "x"), A ": ");
    assert_string_equal(lead(&st, 1, A, 42, "y"), "");
}

static void
test_same_source_goes_on(void **state)
{
    struct sink st;

    (void)state;
    sink_init(&st);
    lead(&st, 1, A, 3, "hel");
    assert_string_equal(lead(&st, 1, A, 3, "lo\n"), "");
    assert_string_equal(lead(&st, 1, A, 3, "again\n"), "");
}

static void
test_change_of_source(void **state)
{
    struct sink st;

    (void)state;
    sink_init(&st);
    lead(&st, 1, A, 0, "one\n");
    assert_string_equal(lead(&st, 2, B, 0, "two"), B ": ");
    assert_string_equal(lead(&st, 2, B, 0, "more"), "");
    assert_string_equal(lead(&st, 1, A, 0, "three\n"), A ": ");
}

static void
test_same_name_other_source(void **state)
{
    struct sink st;

    (void)state;
    sink_init(&st);
    /* A client reconnecting from the same address is a new source. */
    lead(&st, 1, A, 0, "one\n");
    assert_string_equal(lead(&st, 2, A, 0, "two\n"), A ": ");
}

static void
test_console_line_is_a_change(void **state)
{
    struct sink st;

    (void)state;
    sink_init(&st);
    lead(&st, 1, A, 1, "a\n");
    /* A connection line or a warning was written: same source, new lead. */
    assert_string_equal(lead(&st, 1, A, 2, "b\n"), A ": ");
    assert_string_equal(lead(&st, 1, A, 2, "c\n"), "");
    assert_string_equal(lead(&st, 1, A, 9, "d"), A ": ");
}

static void
test_binary_data(void **state)
{
    static const char bin[] = {'\0', '\n', (char)0xff, '\0'};
    char out[64];
    struct sink st;

    (void)state;
    sink_init(&st);
    /* Only the length counts: the bytes themselves are never looked at. */
    assert_int_equal(sink_lead(&st, 1, A, 0, sizeof(bin), out, sizeof(out)),
                     strlen(A ": "));
    assert_int_equal(sink_lead(&st, 1, A, 0, sizeof(bin), out, sizeof(out)),
                     0);
}

static void
test_empty_data_changes_nothing(void **state)
{
    char out[64] = "junk";
    struct sink st;

    (void)state;
    sink_init(&st);
    lead(&st, 1, A, 0, "mid");
    assert_int_equal(sink_lead(&st, 2, B, 7, 0, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(st.src, 1);
    assert_int_equal(st.lines, 0);
    assert_string_equal(lead(&st, 1, A, 0, "more\n"), "");
}

static void
test_long_name_is_cut(void **state)
{
    char out[8];
    struct sink st;

    (void)state;
    sink_init(&st);
    assert_int_equal(sink_lead(&st, 1, "0123456789", 0, 1, out, sizeof(out)),
                     7);
    assert_string_equal(out, "0123456");
    /* With no room for a lead, the state still follows the data. */
    assert_int_equal(sink_lead(&st, 2, B, 3, 2, out, 0), 0);
    assert_int_equal(st.src, 2);
    assert_int_equal(st.lines, 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_data_is_a_change),
        cmocka_unit_test(test_first_data_after_lines_is_a_change),
        cmocka_unit_test(test_same_source_goes_on),
        cmocka_unit_test(test_change_of_source),
        cmocka_unit_test(test_same_name_other_source),
        cmocka_unit_test(test_console_line_is_a_change),
        cmocka_unit_test(test_binary_data),
        cmocka_unit_test(test_empty_data_changes_nothing),
        cmocka_unit_test(test_long_name_is_cut),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
