/* test_line.c -- LF and CRLF line framing (src/proto/line.c).
 *
 * Every input sits against a guard page (guard.h), so a parser that reads
 * one byte past its input crashes the test.  Besides the cases, the input
 * is fed through inbuf_feed(), the server's own input assembly, in reads of
 * any size, and must give the same messages as parsing it whole. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "guard.h"
#include "proto/frame.h"
#include "server/inbuf.h"

#define MAX 1024

typedef enum frame_status next_fn(const char *buf, size_t len, size_t max,
                                  struct frame *out, size_t *used);

/* The messages a parse produced, copied out of the parser's buffer. */
struct msgs {
    size_t count;
    size_t len[256];
    size_t off[256];    /* where message i starts in bytes[] */
    size_t total;
    char   bytes[8192];
};

static void
msgs_add(struct msgs *m, const struct frame *f)
{
    assert_true(m->count < sizeof(m->len) / sizeof(m->len[0]));
    assert_true(f->len <= sizeof(m->bytes) - m->total);
    assert_int_equal(f->type, 0);
    assert_null(f->why);
    m->len[m->count] = f->len;
    m->off[m->count] = m->total;
    memcpy(m->bytes + m->total, f->data, f->len);
    m->total += f->len;
    m->count++;
}

static void
msgs_assert_equal(const struct msgs *a, const struct msgs *b)
{
    size_t i;

    assert_int_equal(a->count, b->count);
    for (i = 0; i < a->count; i++) {
        assert_int_equal(a->len[i], b->len[i]);
        assert_memory_equal(a->bytes + a->off[i], b->bytes + b->off[i],
                            a->len[i]);
    }
}

/* Message i of m is the len bytes s. */
static void
msg_is(const struct msgs *m, size_t i, const char *s, size_t len)
{
    assert_true(i < m->count);
    assert_int_equal(m->len[i], len);
    assert_memory_equal(m->bytes + m->off[i], s, len);
}

/* Parse in[0..n) in one buffer, then what is left as at end of input. */
static void
parse_whole(next_fn *next, const char *in, size_t n, size_t max,
            struct msgs *m)
{
    const char *g = t_guarded(in, n);
    enum frame_status st;
    struct frame f;
    size_t off = 0, used;

    memset(m, 0, sizeof(*m));
    while ((st = next(g + off, n - off, max, &f, &used)) == FRAME_OK) {
        assert_true(used > 0 && used <= n - off);
        assert_ptr_equal(f.data, g + off);
        assert_true(f.len <= max);
        msgs_add(m, &f);
        off += used;
    }
    assert_int_equal(st, FRAME_NEED_MORE);
    assert_int_equal(used, 0);
    assert_true(n - off <= max + (next == crlf_next ? 1 : 0));
    while (line_last(g + off, n - off, max, &f, &used) == FRAME_OK) {
        assert_true(used <= n - off && f.len <= max);
        msgs_add(m, &f);
        off += used;
    }
}

static int
on_frame(void *arg, const struct frame *f)
{
    msgs_add(arg, f);
    return 0;
}

/* Feed in[0..n) to inbuf_feed(), the server's own input assembly, as the
 * server does: reads of at most chunk bytes, then end of input.  After
 * every read the pending buffer holds at most max + 1 bytes (max + 2 for
 * CRLF, frame.h), and none at all when no line is pending. */
static void
parse_fed(next_fn *next, const char *in, size_t n, size_t max, size_t chunk,
          struct msgs *m)
{
    const struct framing *fr = next == crlf_next ? &framing_crlf :
                                                   &framing_line;
    size_t cap = max + (next == crlf_next ? 2 : 1), off = 0, k;
    struct inbuf ib = {NULL, 0, 0, 0};
    const char *why = NULL;

    assert_ptr_equal(fr->next, next);
    memset(m, 0, sizeof(*m));
    while (off < n) {
        k = n - off < chunk ? n - off : chunk;
        assert_int_equal(inbuf_feed(&ib, fr, max, t_guarded(in + off, k), k,
                                    0, on_frame, m, &why), INBUF_OK);
        off += k;
        assert_true(ib.len <= cap && ib.cap <= cap);
        assert_true(ib.len > 0 || ib.buf == NULL);
    }
    assert_int_equal(inbuf_feed(&ib, fr, max, t_guarded("", 0), 0, 1,
                                on_frame, m, &why), INBUF_OK);
    assert_null(ib.buf);        /* line_last() took what was left */
    assert_null(why);
}

/* n bytes of a letter pattern, then an LF, into buf. */
static size_t
long_line(char *buf, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        buf[i] = (char)('a' + i % 26);
    buf[n] = '\n';
    return n + 1;
}

static void
check_long_line(size_t n, size_t pieces, size_t last)
{
    static char in[4096];
    static struct msgs m;
    size_t len = long_line(in, n), i;

    parse_whole(line_next, in, len, MAX, &m);
    assert_int_equal(m.count, pieces);
    for (i = 0; i + 1 < pieces; i++)
        msg_is(&m, i, in + i * MAX, MAX);
    msg_is(&m, pieces - 1, in + (pieces - 1) * MAX, last);
}

/* The guard itself: the byte after a guarded input is not readable. */
static void
test_guard_faults(void **state)
{
    const char *g = t_guarded("abc", 3);
    int status;
    pid_t pid;

    (void)state;
    assert_memory_equal(g, "abc", 3);
    pid = fork();
    assert_true(pid != -1);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        if (null != -1)
            dup2(null, 2);      /* no sanitizer report for this crash */
        /* cmocka catches SIGSEGV to go on with the next test: not here. */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        (void)((const volatile char *)g)[3];
        _exit(0);               /* still alive: the guard failed */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
}

static void
test_exactly_max(void **state)
{
    (void)state;
    check_long_line(1024, 1, 1024);
}

static void
test_max_plus_one(void **state)
{
    (void)state;
    check_long_line(1025, 2, 1);
}

static void
test_twice_max(void **state)
{
    (void)state;
    check_long_line(2048, 2, 1024);
}

static void
test_twice_max_plus_one(void **state)
{
    (void)state;
    check_long_line(2049, 3, 1);
}

static void
test_exactly_max_consumes_lf(void **state)
{
    static char in[1025];
    struct frame f;
    size_t used = 99;

    (void)state;
    long_line(in, 1024);
    assert_int_equal(line_next(t_guarded(in, 1025), 1025, MAX, &f, &used),
                     FRAME_OK);
    assert_int_equal(f.len, 1024);
    assert_int_equal(used, 1025);
}

static void
test_max_without_lf_needs_more(void **state)
{
    static char in[1025];
    const char *g;
    struct frame f;
    size_t used = 99;

    (void)state;
    long_line(in, 1024);
    /* 1024 bytes and no LF yet: the LF may still come. */
    assert_int_equal(line_next(t_guarded(in, 1024), 1024, MAX, &f, &used),
                     FRAME_NEED_MORE);
    assert_int_equal(used, 0);
    assert_int_equal(crlf_next(t_guarded(in, 1024), 1024, MAX, &f, &used),
                     FRAME_NEED_MORE);
    assert_int_equal(used, 0);
    /* One more byte that is not an LF: now a piece is cut. */
    in[1024] = 'z';
    g = t_guarded(in, 1025);
    assert_int_equal(line_next(g, 1025, MAX, &f, &used), FRAME_OK);
    assert_ptr_equal(f.data, g);
    assert_int_equal(f.len, 1024);
    assert_int_equal(used, 1024);
}

static void
test_needs_more_consumes_nothing(void **state)
{
    struct frame f;
    size_t used = 99;

    (void)state;
    assert_int_equal(line_next(t_guarded("", 0), 0, MAX, &f, &used),
                     FRAME_NEED_MORE);
    assert_int_equal(used, 0);
    used = 99;
    assert_int_equal(line_next(t_guarded("hel", 3), 3, MAX, &f, &used),
                     FRAME_NEED_MORE);
    assert_int_equal(used, 0);
    used = 99;
    assert_int_equal(crlf_next(t_guarded("hi\r", 3), 3, MAX, &f, &used),
                     FRAME_NEED_MORE);
    assert_int_equal(used, 0);
}

static void
test_empty_lines(void **state)
{
    struct msgs m;

    (void)state;
    parse_whole(line_next, "\n\n", 2, MAX, &m);
    assert_int_equal(m.count, 2);
    msg_is(&m, 0, "", 0);
    msg_is(&m, 1, "", 0);
    parse_whole(crlf_next, "\r\n\n\r\n", 5, MAX, &m);
    assert_int_equal(m.count, 3);
    msg_is(&m, 0, "", 0);
    msg_is(&m, 1, "", 0);
    msg_is(&m, 2, "", 0);
}

static void
test_cr_and_nul_kept_in_line_mode(void **state)
{
    static const char in[] = "a\r\0b\r\n\0\n";
    struct msgs m;

    (void)state;
    parse_whole(line_next, in, sizeof(in) - 1, MAX, &m);
    assert_int_equal(m.count, 2);
    msg_is(&m, 0, "a\r\0b\r", 5);
    msg_is(&m, 1, "\0", 1);
}

static void
test_crlf_stripped(void **state)
{
    struct frame f;
    size_t used;

    (void)state;
    assert_int_equal(crlf_next(t_guarded("hi\r\n", 4), 4, MAX, &f, &used),
                     FRAME_OK);
    assert_int_equal(f.len, 2);
    assert_int_equal(used, 4);
    assert_memory_equal(f.data, "hi", 2);
    /* A bare LF also ends a line. */
    assert_int_equal(crlf_next(t_guarded("hi\n", 3), 3, MAX, &f, &used),
                     FRAME_OK);
    assert_int_equal(f.len, 2);
    assert_int_equal(used, 3);
}

static void
test_crlf_lone_cr_kept(void **state)
{
    static const char in[] = "a\rb\n\rc\r\n\r\r\nd\r";
    struct msgs m;

    (void)state;
    parse_whole(crlf_next, in, sizeof(in) - 1, MAX, &m);
    assert_int_equal(m.count, 4);
    msg_is(&m, 0, "a\rb", 3);
    msg_is(&m, 1, "\rc", 2);
    msg_is(&m, 2, "\r", 1);     /* only the CR right before the LF goes */
    msg_is(&m, 3, "d\r", 2);    /* at end of input: no LF, so kept */
}

static void
test_crlf_piece_ending_in_cr(void **state)
{
    struct msgs m;

    (void)state;
    /* max 4: the piece "abc\r" is cut before its LF could be seen, so its
     * CR is data, not part of a CRLF. */
    parse_whole(crlf_next, "abc\rdef\n", 8, 4, &m);
    assert_int_equal(m.count, 2);
    msg_is(&m, 0, "abc\r", 4);
    msg_is(&m, 1, "def", 3);
}

static void
test_crlf_exactly_max(void **state)
{
    struct msgs m;

    (void)state;
    /* A payload of exactly max bytes is one message (frame.h).  With CRLF
     * the terminator is 2 bytes, so max + 1 bytes end on the CR. */
    parse_whole(crlf_next, "abcd\r\n", 6, 4, &m);
    assert_int_equal(m.count, 1);
    msg_is(&m, 0, "abcd", 4);
}

static void
test_max_one(void **state)
{
    struct msgs m;

    (void)state;
    parse_whole(line_next, "ab\n\nc", 5, 1, &m);
    assert_int_equal(m.count, 4);
    msg_is(&m, 0, "a", 1);
    msg_is(&m, 1, "b", 1);
    msg_is(&m, 2, "", 0);
    msg_is(&m, 3, "c", 1);
}

static void
test_huge_max(void **state)
{
    struct frame f;
    size_t used = 99;

    (void)state;
    /* No limit to speak of: max + 1 must not wrap around to 0. */
    assert_int_equal(line_next(t_guarded("abc\n", 4), 4, SIZE_MAX, &f,
                               &used), FRAME_OK);
    assert_int_equal(f.len, 3);
    assert_int_equal(used, 4);
    assert_int_equal(crlf_next(t_guarded("ab\r\n", 4), 4, SIZE_MAX, &f,
                               &used), FRAME_OK);
    assert_int_equal(f.len, 2);
    assert_int_equal(line_next(t_guarded("abc", 3), 3, SIZE_MAX, &f, &used),
                     FRAME_NEED_MORE);
}

static void
test_several_lines_in_one_buffer(void **state)
{
    static const char in[] = "a\nbb\nccc\ndddd";
    const char *g = t_guarded(in, sizeof(in) - 1);
    size_t n = sizeof(in) - 1, off = 0, used;
    struct frame f;

    (void)state;
    assert_int_equal(line_next(g, n, MAX, &f, &used), FRAME_OK);
    assert_ptr_equal(f.data, g);
    assert_int_equal(f.len, 1);
    assert_int_equal(used, 2);
    off += used;
    assert_int_equal(line_next(g + off, n - off, MAX, &f, &used), FRAME_OK);
    assert_ptr_equal(f.data, g + 2);
    assert_int_equal(f.len, 2);
    off += used;
    assert_int_equal(line_next(g + off, n - off, MAX, &f, &used), FRAME_OK);
    assert_memory_equal(f.data, "ccc", 3);
    off += used;
    assert_int_equal(off, 9);
    assert_int_equal(line_next(g + off, n - off, MAX, &f, &used),
                     FRAME_NEED_MORE);
}

static void
test_partial_line_at_eof(void **state)
{
    struct frame f;
    size_t used = 99;
    struct msgs m;

    (void)state;
    parse_whole(line_next, "abc\nde", 6, MAX, &m);
    assert_int_equal(m.count, 2);
    msg_is(&m, 0, "abc", 3);
    msg_is(&m, 1, "de", 2);
    assert_int_equal(line_last(t_guarded("de", 2), 2, 1024, &f, &used), FRAME_OK);
    assert_int_equal(used, 2);
    assert_int_equal(f.len, 2);
    assert_int_equal(f.type, 0);
    assert_null(f.why);
    assert_int_equal(line_last(t_guarded("", 0), 0, 1024, &f, &used),
                     FRAME_NEED_MORE);
    assert_int_equal(used, 0);
}

/* Mixed input: long lines, CR, CRLF astride every boundary, NUL bytes. */
static const char mixed[] =
    "hello\n\nabcdefghijklmnop\r\nxy\r\r\n\0\0\0\n"
    "1234567\r\n12345678\r\n123456789\r\n\r\n\r\r\r\r\r\r\r\r\r\n"
    "no newline at the end\r";

static void
check_fed(next_fn *next, size_t max)
{
    static struct msgs whole, fed;
    size_t n = sizeof(mixed) - 1, chunk;

    parse_whole(next, mixed, n, max, &whole);
    for (chunk = 1; chunk <= n; chunk++) {
        parse_fed(next, mixed, n, max, chunk, &fed);
        msgs_assert_equal(&whole, &fed);
    }
}

static void
test_byte_by_byte_line(void **state)
{
    size_t max;

    (void)state;
    for (max = 1; max <= 12; max++)
        check_fed(line_next, max);
    check_fed(line_next, 63);
}

static void
test_byte_by_byte_crlf(void **state)
{
    size_t max;

    (void)state;
    for (max = 1; max <= 12; max++)
        check_fed(crlf_next, max);
    check_fed(crlf_next, 63);
}

static void
test_byte_by_byte_result(void **state)
{
    struct msgs m;

    (void)state;
    /* What the comparisons above compare, spelled out for max 8. */
    parse_fed(crlf_next, mixed, 34, 8, 1, &m);
    assert_int_equal(m.count, 6);
    msg_is(&m, 0, "hello", 5);
    msg_is(&m, 1, "", 0);
    msg_is(&m, 2, "abcdefgh", 8);
    msg_is(&m, 3, "ijklmnop", 8);       /* max bytes + CRLF: one message */
    msg_is(&m, 4, "xy\r", 3);
    msg_is(&m, 5, "\0\0\0", 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guard_faults),
        cmocka_unit_test(test_exactly_max),
        cmocka_unit_test(test_max_plus_one),
        cmocka_unit_test(test_twice_max),
        cmocka_unit_test(test_twice_max_plus_one),
        cmocka_unit_test(test_exactly_max_consumes_lf),
        cmocka_unit_test(test_max_without_lf_needs_more),
        cmocka_unit_test(test_needs_more_consumes_nothing),
        cmocka_unit_test(test_empty_lines),
        cmocka_unit_test(test_cr_and_nul_kept_in_line_mode),
        cmocka_unit_test(test_crlf_stripped),
        cmocka_unit_test(test_crlf_lone_cr_kept),
        cmocka_unit_test(test_crlf_piece_ending_in_cr),
        cmocka_unit_test(test_crlf_exactly_max),
        cmocka_unit_test(test_max_one),
        cmocka_unit_test(test_huge_max),
        cmocka_unit_test(test_several_lines_in_one_buffer),
        cmocka_unit_test(test_partial_line_at_eof),
        cmocka_unit_test(test_byte_by_byte_line),
        cmocka_unit_test(test_byte_by_byte_crlf),
        cmocka_unit_test(test_byte_by_byte_result),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
