/* test_utf8.c -- text cleaning, cutting and validation (src/proto/utf8.c).
 *
 * Every case input sits against a guard page (guard.h), so reading one
 * byte past the input crashes the test, and the output buffer is fenced
 * with a pattern that must survive, so writing past dstcap shows.  Every
 * case also checks the properties the rest of the server relies on: the
 * output is valid UTF-8, cleaning it again changes nothing, and stripping
 * the formatting codes from the IRC form gives the line form.  Short
 * inputs are then tried exhaustively against a validator written another
 * way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "proto/utf8.h"

#define R     UTF8_REPLACEMENT
#define KEEP  TEXT_KEEP_FORMAT
#define CAP   4096
#define FENCE 0xA5

/* A string literal and its length, NUL bytes included. */
#define S(s) s, sizeof(s) - 1

/* text_clean of in[0..n) into out, with room for cap bytes; nothing past
 * out[cap] may be written. */
static size_t
clean_into(char *out, size_t cap, const char *in, size_t n, unsigned flags)
{
    static unsigned char fenced[CAP + 64];
    size_t len, i;

    assert_true(cap <= CAP);
    memset(fenced, FENCE, sizeof(fenced));
    len = text_clean((char *)fenced, cap, in, n, flags);
    assert_true(len <= cap);
    for (i = cap; i < sizeof(fenced); i++)
        assert_int_equal(fenced[i], FENCE);
    memcpy(out, fenced, len);
    return len;
}

/* The guarded input in[0..n), cleaned with room for everything. */
static size_t
clean(char *out, const char *in, size_t n, unsigned flags)
{
    assert_true(3 * n <= CAP);
    return clean_into(out, 3 * n, t_guarded(in, n), n, flags);
}

/* What every output must be: valid, a fixed point, and, for the IRC form,
 * the line form once stripped. */
static void
check_output(const char *in, size_t n, const char *out, size_t len,
             unsigned flags)
{
    static char again[CAP], plain[CAP], stripped[CAP];
    size_t alen, plen, slen;

    assert_true(len <= 3 * n);
    assert_int_equal(utf8_is_valid(t_guarded(out, len), len), 1);
    alen = clean(again, out, len, flags);
    assert_int_equal(alen, len);
    assert_memory_equal(again, out, len);
    if (flags & KEEP) {
        memcpy(stripped, out, len);
        slen = text_strip_format(stripped, len);
        plen = clean(plain, in, n, 0);
        assert_int_equal(slen, plen);
        assert_memory_equal(stripped, plain, plen);
    }
}

/* in[0..n) cleans to want[0..wn) with flags. */
static void
clean_is(const char *in, size_t n, unsigned flags, const char *want,
         size_t wn)
{
    static char out[CAP];
    size_t len = clean(out, in, n, flags);

    assert_int_equal(len, wn);
    assert_memory_equal(out, want, wn);
    check_output(in, n, out, len, flags);
}

/* As clean_is(), with and without TEXT_KEEP_FORMAT (no codes in in). */
static void
both_are(const char *in, size_t n, const char *want, size_t wn)
{
    clean_is(in, n, 0, want, wn);
    clean_is(in, n, KEEP, want, wn);
}

/* in[0..n) is valid text without controls: it comes out as it went in. */
static void
kept(const char *in, size_t n)
{
    both_are(in, n, in, n);
    assert_int_equal(utf8_is_valid(t_guarded(in, n), n), 1);
}

/* in[0..n) is not valid UTF-8 and cleans to want[0..wn). */
static void
invalid_is(const char *in, size_t n, const char *want, size_t wn)
{
    both_are(in, n, want, wn);
    assert_int_equal(utf8_is_valid(t_guarded(in, n), n), 0);
}

/* The UTF-8 encoding of cp (any value below 2^21, surrogates too) into
 * buf; returns its length. */
static size_t
encode(uint32_t cp, unsigned char *buf)
{
    if (cp < 0x80) {
        buf[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (unsigned char)(0xC0 | cp >> 6);
        buf[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = (unsigned char)(0xE0 | cp >> 12);
        buf[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        buf[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    buf[0] = (unsigned char)(0xF0 | cp >> 18);
    buf[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    buf[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    buf[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Valid UTF-8, decided another way than utf8.c does: take the length the
 * lead byte's high bits announce, decode loosely, then demand the shortest
 * form and a Unicode scalar value. */
static int
ref_valid(const unsigned char *s, size_t n)
{
    static const uint32_t least[] = { 0, 0, 0x80, 0x800, 0x10000 };
    size_t i = 0, k, len;
    uint32_t cp;

    while (i < n) {
        len = s[i] < 0x80 ? 1 : s[i] >> 5 == 0x6 ? 2 : s[i] >> 4 == 0xE ? 3 :
              s[i] >> 3 == 0x1E ? 4 : 0;
        if (len == 0 || len > n - i)
            return 0;
        cp = len == 1 ? s[i] : s[i] & (0x7Fu >> len);
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < least[len] || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* A byte or a C1 pair that text_clean removes even with KEEP. */
static int
has_control(const unsigned char *s, size_t n)
{
    static const char format[] = "\x02\x03\x04\x0F\x11\x16\x1D\x1E\x1F";
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == 0x7F || (s[i] < 0x20 && s[i] != '\t' &&
                             memchr(format, s[i], sizeof(format) - 1) == NULL))
            return 1;
        if (s[i] == 0xC2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F)
            return 1;
    }
    return 0;
}

static void
test_ascii(void **state)
{
    static char all[96];
    size_t i;

    (void)state;
    kept(S(""));
    kept(S("hello, world"));
    kept(S("tab\there"));
    for (i = 0; i < 95; i++)
        all[i] = (char)(0x20 + i);      /* every printable byte */
    kept(all, 95);
}

static void
test_valid_multibyte(void **state)
{
    (void)state;
    kept(S("\xC2\xA0"));                /* U+00A0, the first after C1 */
    kept(S("caf\xC3\xA9"));             /* U+00E9 */
    kept(S("\xDF\xBF"));                /* U+07FF */
    kept(S("\xE0\xA0\x80"));            /* U+0800 */
    kept(S("\xE2\x82\xAC 5"));          /* U+20AC */
    kept(S("\xED\x9F\xBF"));            /* U+D7FF, just below surrogates */
    kept(S("\xEE\x80\x80"));            /* U+E000, just above */
    kept(S("\xEF\xBF\xBD"));            /* U+FFFD itself */
    kept(S("\xEF\xBF\xBF"));            /* U+FFFF */
    kept(S("\xF0\x90\x80\x80"));        /* U+10000 */
    kept(S("\xF0\x9F\x98\x80!"));       /* U+1F600 */
    kept(S("\xF4\x8F\xBF\xBF"));        /* U+10FFFF, the last */
    kept(S("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80" "b"));
}

static void
test_overlong(void **state)
{
    (void)state;
    invalid_is(S("\xC0\x80"), S(R R));                 /* NUL in 2 */
    invalid_is(S("\xC0\xAF"), S(R R));                 /* '/' in 2 */
    invalid_is(S("\xC1\xBF"), S(R R));
    invalid_is(S("\xE0\x80\x80"), S(R R R));           /* NUL in 3 */
    invalid_is(S("\xE0\x9F\xBF"), S(R R R));           /* U+07FF in 3 */
    invalid_is(S("\xF0\x80\x80\x80"), S(R R R R));     /* NUL in 4 */
    invalid_is(S("\xF0\x8F\xBF\xBF"), S(R R R R));     /* U+FFFF in 4 */
    invalid_is(S("a\xC0\xAF" "b"), S("a" R R "b"));
}

static void
test_surrogates(void **state)
{
    (void)state;
    invalid_is(S("\xED\xA0\x80"), S(R R R));           /* U+D800 */
    invalid_is(S("\xED\xBF\xBF"), S(R R R));           /* U+DFFF */
    invalid_is(S("\xED\xAF\x41"), S(R R "A"));
    /* A surrogate pair, CESU-8 style: six replacements. */
    invalid_is(S("\xED\xA0\xBD\xED\xB8\x80"), S(R R R R R R));
}

static void
test_above_max(void **state)
{
    static const char lead[] = "\xF5\xF6\xF7\xF8\xF9\xFA\xFB\xFC\xFD\xFE\xFF";
    size_t i;

    (void)state;
    invalid_is(S("\xF4\x90\x80\x80"), S(R R R R));     /* U+110000 */
    invalid_is(S("\xF4\xBF\xBF\xBF"), S(R R R R));
    invalid_is(S("\xF5\x80\x80\x80"), S(R R R R));
    invalid_is(S("\xF7\xBF\xBF\xBF"), S(R R R R));     /* U+1FFFFF */
    for (i = 0; i < sizeof(lead) - 1; i++) {
        invalid_is(lead + i, 1, S(R));
        assert_int_equal(utf8_is_valid(t_guarded(lead + i, 1), 1), 0);
    }
}

static void
test_stray_continuations(void **state)
{
    (void)state;
    invalid_is(S("\x80"), S(R));
    invalid_is(S("\xBF"), S(R));
    invalid_is(S("a\x80\x80" "b"), S("a" R R "b"));
    /* One too many after a whole character. */
    invalid_is(S("\xC3\xA9\xA9"), S("\xC3\xA9" R));
    invalid_is(S("\xF0\x9F\x98\x80\x80"), S("\xF0\x9F\x98\x80" R));
}

static void
test_truncated_in_the_middle(void **state)
{
    (void)state;
    invalid_is(S("\xC3" "A"), S(R "A"));
    invalid_is(S("\xE2\x82" "A"), S(R "A"));           /* one U+FFFD */
    invalid_is(S("\xE2" "A"), S(R "A"));
    invalid_is(S("\xF0\x9F\x98" "A"), S(R "A"));
    invalid_is(S("\xF0\x9F" "A"), S(R "A"));
    /* Cut short by the start of the next character, which survives. */
    invalid_is(S("\xE2\x82\xE2\x82\xAC"), S(R "\xE2\x82\xAC"));
    invalid_is(S("\xF0\x9F\x98\xC3\xA9"), S(R "\xC3\xA9"));
}

static void
test_truncated_at_the_end(void **state)
{
    static const char smile[] = "\xF0\x9F\x98\x80";
    size_t k;

    (void)state;
    invalid_is(S("\xC3"), S(R));
    invalid_is(S("ab\xE2\x82"), S("ab" R));
    /* Every proper prefix of a 4-byte character is one U+FFFD. */
    for (k = 1; k < 4; k++)
        invalid_is(smile, k, S(R));
}

/* The examples in Unicode's chapter 3 ("U+FFFD Substitution of Maximal
 * Subparts"), which WHATWG's decoder follows too. */
static void
test_unicode_examples(void **state)
{
    (void)state;
    invalid_is(S("\xC0\xAF\xE0\x80\xBF\xF0\x81\x82\x41"),
               S(R R R R R R R R "A"));
    invalid_is(S("\xED\xA0\x80\xED\xBF\xBF\xED\xAF\x41"),
               S(R R R R R R R R "A"));
    invalid_is(S("\xF4\x91\x92\x93\xFF\x41\x80\xBF\x42"),
               S(R R R R R "A" R R "B"));
    invalid_is(S("\xE1\x80\xE2\xF0\x91\x92\xF1\xBF\x41"),
               S(R R R R "A"));
}

static void
test_c0_and_del_removed(void **state)
{
    static const char format[] = "\x02\x03\x04\x0F\x11\x16\x1D\x1E\x1F";
    char in[3] = { 'a', 0, 'b' };
    int c;

    (void)state;
    for (c = 0; c < 0x20; c++) {
        if (c == '\t' || memchr(format, c, sizeof(format) - 1) != NULL)
            continue;
        in[1] = (char)c;
        both_are(in, 3, S("ab"));
    }
    both_are(S("a\x7F" "b"), S("ab"));
    both_are(S("line\r\n"), S("line"));
    both_are(S("\0\0\0"), S(""));
    both_are(S("\a\b\x7F"), S(""));
    assert_int_equal(utf8_is_valid(t_guarded("a\0\x7F", 3), 3), 1);
}

static void
test_tab_kept(void **state)
{
    (void)state;
    kept(S("\t"));
    kept(S("a\tb\t\t"));
}

static void
test_c1_removed(void **state)
{
    char in[4] = { 'a', '\xC2', 0, 'b' };
    int c;

    (void)state;
    for (c = 0x80; c <= 0x9F; c++) {
        in[2] = (char)c;
        both_are(in, 4, S("ab"));
        /* Valid UTF-8, just not wanted. */
        assert_int_equal(utf8_is_valid(t_guarded(in, 4), 4), 1);
    }
    both_are(S("\xC2\x9B" "2J"), S("2J"));            /* CSI */
    kept(S("\xC2\xA0"));
    /* A C1 code point spelt overlong is invalid, not a control. */
    invalid_is(S("\xE0\x82\x85"), S(R R R));
}

static void
test_escape_sequences(void **state)
{
    (void)state;
    both_are(S("\x1b[2J"), S("[2J"));
    both_are(S("hi\x1b[31mred\x1b[0m"), S("hi[31mred[0m"));
    both_are(S("\x1b]0;title\x07"), S("]0;title"));
    both_are(S("\x1b" "c"), S("c"));
    both_are(S("x\bX"), S("xX"));
}

static void
test_format_kept(void **state)
{
    static const char codes[] = "\x02\x1D\x1F\x1E\x11\x16\x0F\x03\x04";
    static const char *const in[] = {
        "\x02" "bold\x02 \x1D" "it\x1D \x1F" "u\x1F \x1E" "s\x1E \x11" "m",
        "\x16" "rev\x0F" "reset",
        "\x03" "12,04red on blue\x03 plain",
        "\x03" "4,x \x03" ",5 \x03" "123",
        "\x04" "FF0000,00ff00hex\x04" "abc \x04",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        clean_is(in[i], strlen(in[i]), KEEP, in[i], strlen(in[i]));
        assert_int_equal(utf8_is_valid(t_guarded(in[i], strlen(in[i])),
                                       strlen(in[i])), 1);
    }
    for (i = 0; i < sizeof(codes) - 1; i++) {
        clean_is(codes + i, 1, KEEP, codes + i, 1);
        clean_is(codes + i, 1, 0, S(""));
    }
    /* The other controls go even between a colour code and its digits. */
    clean_is(S("\x03\x01" "12\x7F" "x"), KEEP, S("\x03" "12x"));
}

static void
test_format_removed(void **state)
{
    (void)state;
    clean_is(S("\x02" "bold\x02 \x1D" "it\x1F" "u\x1E" "s\x11" "m\x16"
               "r\x0F"), 0, S("bold itusmr"));
    clean_is(S("\x03" "12,4hi"), 0, S("hi"));
    clean_is(S("\x03" "12,04hi"), 0, S("hi"));
    clean_is(S("\x03" "4hi"), 0, S("hi"));
    clean_is(S("\x03" "hi"), 0, S("hi"));
    clean_is(S("\x03" "4,x"), 0, S(",x"));
    clean_is(S("\x03" "4,"), 0, S(","));
    clean_is(S("\x03" ",5x"), 0, S(",5x"));            /* comma needs fg */
    clean_is(S("\x03" "123"), 0, S("3"));               /* two digits only */
    clean_is(S("\x03" "1,234"), 0, S("4"));
    clean_is(S("\x03" "12,,3"), 0, S(",,3"));
    clean_is(S("\x03" "ab"), 0, S("ab"));               /* not hex here */
    clean_is(S("\x04" "FF00aa,123456z"), 0, S("z"));
    clean_is(S("\x04" "abcdefg"), 0, S("g"));
    clean_is(S("\x04" "1234567"), 0, S("7"));
    clean_is(S("\x04" "12,g"), 0, S(",g"));
    clean_is(S("\x04" "face"), 0, S(""));
    clean_is(S("\x04"), 0, S(""));
    clean_is(S("\x03\x03" "1\x03"), 0, S(""));
    /* Digits are looked for in what is kept: removed controls between
     * them do not end the colour, anything kept does. */
    clean_is(S("\x03\x01" "12x"), 0, S("x"));
    clean_is(S("\x03" "1\xC2\x85" "2,\x7F" "3x"), 0, S("x"));
    clean_is(S("\x03" "4,\x01" "x"), 0, S(",x"));
    clean_is(S("\x03\xFF" "12"), 0, S(R "12"));
    clean_is(S("\x03\x02" "12"), 0, S("12"));
    clean_is(S("\x03\xC2\xA0" "12"), 0, S("\xC2\xA0" "12"));
}

static void
test_strip_format(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        { "", "" },
        { "plain \xC3\xA9 text", "plain \xC3\xA9 text" },
        { "\x02" "b\x02", "b" },
        { "\x03" "12,04hi\x03", "hi" },
        { "\x03" "4,x", ",x" },
        { "\x03" "123", "3" },
        { "\x04" "ABCDEF,abcdef!", "!" },
        { "a\x0F" "b\x16" "c\x11" "d\x1E" "e\x1F" "f\x1D" "g", "abcdefg" },
        { "\t\x03" "1\t", "\t\t" },
    };
    char buf[64];
    size_t i, len;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        len = strlen(cases[i].in);
        memcpy(buf, cases[i].in, len);
        len = text_strip_format(buf, len);
        assert_int_equal(len, strlen(cases[i].want));
        assert_memory_equal(buf, cases[i].want, len);
    }
}

/* Every dstcap for a mixed output: the result is the longest run of whole
 * characters that fits, never part of one, never part of a U+FFFD. */
static void
test_dstcap(void **state)
{
    static const char in[] = "a\xC3\xA9\xFF\xE2\x82\xAC\x01\xF0\x9F\x98\x80"
                              "\x80" "b";
    static const char want[] = "a\xC3\xA9" R "\xE2\x82\xAC\xF0\x9F\x98\x80"
                               R "b";
    static const size_t stop[] = { 0, 1, 3, 6, 9, 13, 16, 17 };
    char out[64];
    size_t cap, len, k;

    (void)state;
    for (cap = 0; cap <= sizeof(want) + 3; cap++) {
        len = clean_into(out, cap, t_guarded(in, sizeof(in) - 1),
                         sizeof(in) - 1, 0);
        for (k = 0; k + 1 < sizeof(stop) / sizeof(stop[0]); k++)
            if (stop[k + 1] > cap)
                break;
        assert_int_equal(len, stop[k]);
        assert_memory_equal(out, want, len);
    }
    assert_int_equal(len, sizeof(want) - 1);
    /* A U+FFFD does not fit in 1 or 2 bytes. */
    for (cap = 0; cap < 3; cap++)
        assert_int_equal(clean_into(out, cap, t_guarded("\xFF", 1), 1, 0), 0);
    assert_int_equal(clean_into(out, 3, t_guarded("\xFF", 1), 1, 0), 3);
    /* A removed control takes no room: what follows still fits. */
    assert_int_equal(clean_into(out, 1, t_guarded("\x01" "a", 2), 2, 0), 1);
    assert_int_equal(out[0], 'a');
}

static void
test_worst_case(void **state)
{
    static char in[256], out[3 * 256];
    size_t len, i;

    (void)state;
    memset(in, 0xFF, sizeof(in));
    len = clean_into(out, sizeof(out), t_guarded(in, sizeof(in)), sizeof(in),
                     0);
    assert_int_equal(len, 3 * sizeof(in));
    for (i = 0; i < sizeof(in); i++)
        assert_memory_equal(out + 3 * i, R, 3);
    /* One byte less room: one U+FFFD less, not a partial one. */
    len = clean_into(out, sizeof(out) - 1, t_guarded(in, sizeof(in)),
                     sizeof(in), 0);
    assert_int_equal(len, 3 * sizeof(in) - 3);
}

static void
test_cut_every_boundary(void **state)
{
    static const char s[] = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80" "b" R
                            "\t\xF4\x8F\xBF\xBF";
    static const size_t at[] = { 0, 1, 3, 6, 10, 11, 14, 15, 19 };
    size_t n = sizeof(s) - 1, max, k, want;

    (void)state;
    for (max = 0; max <= n + 2; max++) {
        for (k = 0; k + 1 < sizeof(at) / sizeof(at[0]); k++)
            if (at[k + 1] > max)
                break;
        want = at[k];
        assert_int_equal(utf8_cut(t_guarded(s, n), n, max), want);
        assert_int_equal(utf8_is_valid(t_guarded(s, want), want), 1);
    }
    /* Every prefix of s, cut at every max: still on a boundary. */
    for (k = 0; k <= n; k++)
        for (max = 4; max < k; max++) {
            want = utf8_cut(t_guarded(s, k), k, max);
            assert_true(want <= max && want > max - 4);
            assert_int_equal(utf8_is_valid(s, want), 1);
        }
}

static void
test_cut_first_too_long(void **state)
{
    (void)state;
    /* The first character is longer than max: cut inside it, but only
     * because there is no other way to make progress. */
    assert_int_equal(utf8_cut(t_guarded("\xF0\x9F\x98\x80", 4), 4, 0), 0);
    assert_int_equal(utf8_cut(t_guarded("\xF0\x9F\x98\x80", 4), 4, 1), 1);
    assert_int_equal(utf8_cut(t_guarded("\xF0\x9F\x98\x80", 4), 4, 3), 3);
    assert_int_equal(utf8_cut(t_guarded("\xF0\x9F\x98\x80", 4), 4, 4), 4);
    assert_int_equal(utf8_cut(t_guarded("\xE2\x82\xAC", 3), 3, 2), 2);
    assert_int_equal(utf8_cut(t_guarded("", 0), 0, 0), 0);
    assert_int_equal(utf8_cut(t_guarded("", 0), 0, 5), 0);
    assert_int_equal(utf8_cut(t_guarded("ab", 2), 2, 0), 0);
}

static void
test_cut_invalid_progresses(void **state)
{
    static char run[64];
    size_t got;

    (void)state;
    /* Not UTF-8 (a run of continuation bytes): the cut still moves on. */
    memset(run, 0x80, sizeof(run));
    got = utf8_cut(t_guarded(run, sizeof(run)), sizeof(run), 10);
    assert_int_equal(got, 10);
    got = utf8_cut(t_guarded("a\x80\x80\x80\x80\x80", 6), 6, 4);
    assert_int_equal(got, 4);
    got = utf8_cut(t_guarded("ab\x80\x80\x80", 5), 5, 4);
    assert_true(got >= 1 && got <= 4);
}

static void
test_is_valid_cases(void **state)
{
    (void)state;
    assert_int_equal(utf8_is_valid(t_guarded("", 0), 0), 1);
    assert_int_equal(utf8_is_valid(t_guarded("abc", 3), 3), 1);
    assert_int_equal(utf8_is_valid(t_guarded("\xF4\x8F\xBF\xBF", 4), 4), 1);
    assert_int_equal(utf8_is_valid(t_guarded("\xF4\x90\x80\x80", 4), 4), 0);
    assert_int_equal(utf8_is_valid(t_guarded("\xED\xA0\x80", 3), 3), 0);
    assert_int_equal(utf8_is_valid(t_guarded("\xC0\x80", 2), 2), 0);
    assert_int_equal(utf8_is_valid(t_guarded("ab\xE2\x82", 4), 4), 0);
    assert_int_equal(utf8_is_valid(t_guarded("\xE2\x82\xAC", 3), 2), 0);
}

/* Every code point: scalar values are valid and come through text_clean
 * as they are (but for controls); surrogates are neither. */
static void
test_every_code_point(void **state)
{
    unsigned char buf[4];
    char out[16];
    uint32_t cp;
    size_t n, len;

    (void)state;
    for (cp = 0; cp <= 0x10FFFF; cp++) {
        n = encode(cp, buf);
        len = text_clean(out, sizeof(out), (const char *)buf, n, KEEP);
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            assert_int_equal(utf8_is_valid((const char *)buf, n), 0);
            assert_int_equal(len, 9);
        } else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
            assert_int_equal(utf8_is_valid((const char *)buf, n), 1);
            assert_true(len <= 1);
        } else {
            assert_int_equal(utf8_is_valid((const char *)buf, n), 1);
            assert_int_equal(len, n);
            assert_memory_equal(out, buf, n);
        }
    }
    n = encode(0x110000, buf);
    assert_int_equal(utf8_is_valid((const char *)buf, n), 0);
}

/* One short input: utf8_is_valid agrees with the reference, and with
 * text_clean (valid and free of controls iff it comes out unchanged). */
static void
agree(const unsigned char *in, size_t n)
{
    char out[16], again[16], plain[16];
    size_t len, alen, plen;
    int valid = utf8_is_valid((const char *)in, n);

    if (valid != ref_valid(in, n))
        fail_msg("utf8_is_valid %d for %02x %02x %02x %02x (%zu bytes)",
                 valid, in[0], n > 1 ? in[1] : 0, n > 2 ? in[2] : 0,
                 n > 3 ? in[3] : 0, n);
    len = text_clean(out, sizeof(out), (const char *)in, n, KEEP);
    assert_int_equal(len == n && memcmp(out, in, n) == 0,
                     valid && !has_control(in, n));
    assert_int_equal(utf8_is_valid(out, len), 1);
    alen = text_clean(again, sizeof(again), out, len, KEEP);
    assert_true(alen == len && memcmp(again, out, len) == 0);
    plen = text_clean(plain, sizeof(plain), (const char *)in, n, 0);
    len = text_strip_format(out, len);
    assert_true(plen == len && memcmp(plain, out, len) == 0);
}

static void
test_short_inputs_exhaustively(void **state)
{
    static const unsigned char some[] = {
        0x00, 0x03, 0x09, 0x31, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0,
        0xBF, 0xC0, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF,
    };
    unsigned char in[4];
    unsigned a, b, c, d;

    (void)state;
    for (a = 0; a < 256; a++) {
        in[0] = (unsigned char)a;
        agree(in, 1);
        for (b = 0; b < 256; b++) {
            in[1] = (unsigned char)b;
            agree(in, 2);
            if (a < 0x80)
                continue;
            for (c = 0; c < sizeof(some); c++) {
                in[2] = some[c];
                agree(in, 3);
                if (a < 0xF0)
                    continue;
                for (d = 0; d < sizeof(some); d++) {
                    in[3] = some[d];
                    agree(in, 4);
                }
            }
        }
    }
}

/* Some valid text starts with s[0..n): one of up to three continuation
 * bytes, one from each range a lead byte may ask for, completes it. */
static int
ref_viable(const unsigned char *s, size_t n)
{
    static const unsigned char cont[] = { 0x80, 0x90, 0xA0 };
    unsigned char buf[16];
    size_t k, i, combos, c;

    memcpy(buf, s, n);
    for (k = 0, combos = 1; k <= 3; k++, combos *= 3) {
        for (c = 0; c < combos; c++) {
            size_t v = c;

            for (i = 0; i < k; i++, v /= 3)
                buf[n + i] = cont[v % 3];
            if (ref_valid(buf, n + k))
                return 1;
        }
    }
    return 0;
}

/* in[0..n) fed whole, then byte by byte, then in two pieces at every cut:
 * the verdict is utf8_is_valid's, and byte by byte it fails exactly at
 * the first prefix that no valid text starts with. */
static void
agree_incremental(const unsigned char *in, size_t n)
{
    struct utf8_state st;
    size_t i, cut;
    int ok, valid = ref_valid(in, n);

    utf8_state_init(&st);
    ok = utf8_feed(&st, in, n);
    assert_int_equal(ok && utf8_is_whole(&st), valid);
    utf8_state_init(&st);
    ok = 1;
    for (i = 0; i < n; i++) {
        ok = utf8_feed(&st, in + i, 1);
        if (ok != ref_viable(in, i + 1))
            fail_msg("utf8_feed %d after %zu bytes of %02x %02x %02x %02x",
                     ok, i + 1, in[0], n > 1 ? in[1] : 0, n > 2 ? in[2] : 0,
                     n > 3 ? in[3] : 0);
    }
    assert_int_equal(ok && utf8_is_whole(&st), valid);
    for (cut = 0; cut <= n; cut++) {
        utf8_state_init(&st);
        ok = utf8_feed(&st, in, cut);
        ok = utf8_feed(&st, in + cut, n - cut) && ok;
        assert_int_equal(ok && utf8_is_whole(&st), valid);
    }
}

static void
test_incremental_short_inputs(void **state)
{
    static const unsigned char some[] = {
        0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1,
        0xC2, 0xDF, 0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF,
    };
    unsigned char in[4] = { 0 };
    unsigned a, b, c, d;

    (void)state;
    agree_incremental(in, 0);
    for (a = 0; a < 256; a++) {
        in[0] = (unsigned char)a;
        agree_incremental(in, 1);
        for (b = 0; b < 256; b++) {
            in[1] = (unsigned char)b;
            agree_incremental(in, 2);
        }
    }
    for (a = 0; a < sizeof(some); a++)
        for (b = 0; b < sizeof(some); b++)
            for (c = 0; c < sizeof(some); c++) {
                in[0] = some[a];
                in[1] = some[b];
                in[2] = some[c];
                agree_incremental(in, 3);
                for (d = 0; d < sizeof(some); d++) {
                    in[3] = some[d];
                    agree_incremental(in, 4);
                }
            }
}

/* Long ASCII runs go eight bytes at a time: a non-ASCII byte at any
 * position and alignment is still seen; the guard page catches a read
 * past the end. */
static void
test_incremental_long_runs(void **state)
{
    char buf[64];
    struct utf8_state st;
    size_t len, pos, off;

    (void)state;
    for (len = 0; len <= 40; len++) {
        for (off = 0; off < 8 && off <= len; off++) {
            memset(buf, 'a', sizeof(buf));
            utf8_state_init(&st);
            assert_int_equal(utf8_feed(&st, t_guarded(buf + off, len - off),
                                       len - off), 1);
            assert_true(utf8_is_whole(&st));
            for (pos = off; pos < len; pos++) {
                memset(buf, 'a', sizeof(buf));
                buf[pos] = (char)0xFF;
                utf8_state_init(&st);
                assert_int_equal(utf8_feed(&st, t_guarded(buf + off,
                                                          len - off),
                                           len - off), 0);
                assert_false(utf8_is_whole(&st));
                memset(buf, 'a', sizeof(buf));
                buf[pos] = (char)0xC3;      /* "é" cut at the end */
                utf8_state_init(&st);
                assert_int_equal(utf8_feed(&st, t_guarded(buf + off,
                                                          len - off),
                                           len - off),
                                 pos + 1 == len ? 1 : 0);
                assert_false(utf8_is_whole(&st));
            }
        }
    }
    /* Once invalid, always invalid, even if valid bytes follow. */
    utf8_state_init(&st);
    assert_int_equal(utf8_feed(&st, "\xC0", 1), 0);
    assert_int_equal(utf8_feed(&st, "abc", 3), 0);
    assert_false(utf8_is_whole(&st));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii),
        cmocka_unit_test(test_valid_multibyte),
        cmocka_unit_test(test_overlong),
        cmocka_unit_test(test_surrogates),
        cmocka_unit_test(test_above_max),
        cmocka_unit_test(test_stray_continuations),
        cmocka_unit_test(test_truncated_in_the_middle),
        cmocka_unit_test(test_truncated_at_the_end),
        cmocka_unit_test(test_unicode_examples),
        cmocka_unit_test(test_c0_and_del_removed),
        cmocka_unit_test(test_tab_kept),
        cmocka_unit_test(test_c1_removed),
        cmocka_unit_test(test_escape_sequences),
        cmocka_unit_test(test_format_kept),
        cmocka_unit_test(test_format_removed),
        cmocka_unit_test(test_strip_format),
        cmocka_unit_test(test_dstcap),
        cmocka_unit_test(test_worst_case),
        cmocka_unit_test(test_cut_every_boundary),
        cmocka_unit_test(test_cut_first_too_long),
        cmocka_unit_test(test_cut_invalid_progresses),
        cmocka_unit_test(test_is_valid_cases),
        cmocka_unit_test(test_every_code_point),
        cmocka_unit_test(test_short_inputs_exhaustively),
        cmocka_unit_test(test_incremental_short_inputs),
        cmocka_unit_test(test_incremental_long_runs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
