/* test_framing.c -- the framing tables and the chat doors' text framing
 * (src/proto/framing.c): long lines cut on UTF-8 character boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "proto/frame.h"
#include "proto/utf8.h"

/* Cut in[0..n) with text_next, then text_last, pieces of at most max;
 * check each piece is valid UTF-8 and their concatenation is the input
 * without its line ends. */
static void
check_pieces(const char *in, size_t n, size_t max, size_t want_pieces)
{
    char joined[4096];
    size_t off = 0, jlen = 0, pieces = 0, used;
    struct frame f;

    while (off < n) {
        const char *g = t_guarded(in + off, n - off);
        enum frame_status st = text_next(g, n - off, max, &f, &used);

        if (st == FRAME_NEED_MORE)
            st = text_last(g, n - off, max, &f, &used);
        assert_int_equal(st, FRAME_OK);
        assert_true(used > 0 && f.len <= max);
        assert_true(utf8_is_valid(f.data, f.len));
        memcpy(joined + jlen, f.data, f.len);
        jlen += f.len;
        off += used;
        pieces++;
    }
    assert_int_equal(pieces, want_pieces);
    assert_int_equal(jlen, strlen(in) - (in[n - 1] == '\n'));
    assert_memory_equal(joined, in, jlen);
}

static void
test_ascii_cut_at_max(void **state)
{
    (void)state;
    check_pieces("abcdefghij\n", 11, 4, 3);         /* abcd efgh ij */
}

static void
test_three_byte_characters_never_split(void **state)
{
    /* "日" is 3 bytes: pieces of at most 4 bytes hold one each. */
    static const char in[] = "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\n";

    (void)state;
    check_pieces(in, sizeof(in) - 1, 4, 3);
}

static void
test_four_byte_characters_at_the_end_of_input(void **state)
{
    /* Two 4-byte emoji, no LF: text_last cuts between them at max 6. */
    static const char in[] = "\xf0\x9f\x98\x80\xf0\x9f\x98\x80";

    (void)state;
    check_pieces(in, sizeof(in) - 1, 6, 2);
}

static void
test_a_line_that_fits_is_whole(void **state)
{
    static const char in[] = "h\xc3\xa9llo\r\n";
    struct frame f;
    size_t used;

    (void)state;
    assert_int_equal(text_next(t_guarded(in, 8), 8, 6, &f, &used), FRAME_OK);
    assert_int_equal(f.len, 6);
    assert_int_equal(used, 8);
}

static void
test_tables_name_their_parsers(void **state)
{
    (void)state;
    assert_ptr_equal(framing_line.next, line_next);
    assert_ptr_equal(framing_crlf.next, crlf_next);
    assert_ptr_equal(framing_packet.next, packet_next);
    assert_ptr_equal(framing_text.next, text_next);
    assert_null(framing_packet.last);
    assert_int_equal(framing_packet.extra, PACKET_HEADER_LEN);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii_cut_at_max),
        cmocka_unit_test(test_three_byte_characters_never_split),
        cmocka_unit_test(test_four_byte_characters_at_the_end_of_input),
        cmocka_unit_test(test_a_line_that_fits_is_whole),
        cmocka_unit_test(test_tables_name_their_parsers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
