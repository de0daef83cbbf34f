/* fuzz_utf8.c -- libFuzzer harness for text_clean, text_strip_format,
 * utf8_cut and utf8_is_valid.
 *
 * Byte 0 of the input is max for utf8_cut (0..255); the rest is what a
 * client sends.  For both flag values (with and without TEXT_KEEP_FORMAT),
 * checked beyond "no crash":
 *   - the output is at most 3 bytes per input byte and valid UTF-8; it has
 *     no byte below 0x20 but TAB (and, kept, the IRC formatting codes), no
 *     DEL and no C1 control;
 *   - the input is valid UTF-8 exactly when the output holds as many
 *     U+FFFD as the input did (each invalid subpart adds one), and valid
 *     control-free input comes out unchanged;
 *   - cleaning the output again changes nothing, and stripping the
 *     formatting codes from the kept form gives the form without them;
 *   - with less room (dstcap), the output is the longest run of whole
 *     output characters that fits, written into a buffer of exactly dstcap
 *     bytes, so ASan sees a byte written past it;
 *   - utf8_feed over the input in pieces (of 1 + max % 16 bytes), then
 *     utf8_is_whole, agrees with utf8_is_valid, and once utf8_feed has
 *     said invalid the whole input is invalid;
 *   - utf8_cut of the output is a valid prefix at most max bytes long, and
 *     the longest one, unless the first character alone is longer than
 *     max; on the raw input it still makes progress;
 *   - nothing allocates, and nothing reads past its input (libFuzzer's
 *     input is exactly as long as it says). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/utf8.h"

#include "fuzz_util.h"

#define R     UTF8_REPLACEMENT
#define R_LEN (sizeof(R) - 1)

static size_t
clean(char *dst, size_t cap, const char *src, size_t len, unsigned flags)
{
    size_t n;

    counting = 1;
    n = text_clean(dst, cap, src, len, flags);
    counting = 0;
    CHECK(allocs == 0);
    CHECK(n <= cap);
    return n;
}

static int
is_valid(const char *buf, size_t len)
{
    int v;

    counting = 1;
    v = utf8_is_valid(buf, len);
    counting = 0;
    CHECK(allocs == 0);
    return v;
}

/* utf8_feed in pieces of step bytes gives utf8_is_valid's verdict. */
static void
check_feed(const char *in, size_t n, size_t step)
{
    struct utf8_state st;
    size_t i, k;
    int ok = 1, failed = 0;

    counting = 1;
    utf8_state_init(&st);
    for (i = 0; i < n; i += k) {
        k = n - i < step ? n - i : step;
        ok = utf8_feed(&st, in + i, k);
        CHECK(!failed || !ok);      /* once invalid, always */
        if (!ok)
            failed = 1;
    }
    ok = utf8_is_whole(&st);
    counting = 0;
    CHECK(allocs == 0);
    CHECK(ok == is_valid(in, n));
    CHECK(!failed || !ok);
}

static size_t
cut(const char *buf, size_t len, size_t max)
{
    size_t c;

    counting = 1;
    c = utf8_cut(buf, len, max);
    counting = 0;
    CHECK(allocs == 0);
    CHECK(c <= max && c <= len);
    CHECK(c > 0 || len == 0 || max == 0);
    return c;
}

static int
is_format(unsigned char c)
{
    return c != '\0' && memchr("\x02\x03\x04\x0F\x11\x16\x1D\x1E\x1F", c,
                               9) != NULL;
}

/* A byte or a C1 pair that text_clean removes even with the codes kept. */
static int
has_control(const char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] == 0x7F ||
            (s[i] < 0x20 && s[i] != '\t' && !is_format(s[i])))
            return 1;
        if (s[i] == 0xC2 && i + 1 < len && s[i + 1] >= 0x80 &&
            s[i + 1] <= 0x9F)
            return 1;
    }
    return 0;
}

/* How many times the bytes of U+FFFD appear in buf. */
static size_t
count_fffd(const char *buf, size_t len)
{
    size_t i, n = 0;

    for (i = 0; i + R_LEN <= len; i++)
        if (memcmp(buf + i, R, R_LEN) == 0)
            n++;
    return n;
}

/* The length of the character whose lead byte is c, in valid UTF-8. */
static size_t
char_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

static int
at_boundary(const char *buf, size_t len, size_t i)
{
    return i == len || ((unsigned char)buf[i] & 0xC0) != 0x80;
}

static void
check_output(const char *out, size_t len, unsigned flags)
{
    const unsigned char *s = (const unsigned char *)out;
    size_t i;

    CHECK(is_valid(out, len));
    for (i = 0; i < len; i++) {
        CHECK(s[i] >= 0x20 || s[i] == '\t' ||
              ((flags & TEXT_KEEP_FORMAT) && is_format(s[i])));
        CHECK(s[i] != 0x7F);
        /* Valid UTF-8, so a C2 here is a lead byte. */
        CHECK(s[i] != 0xC2 || i + 1 == len || s[i + 1] < 0x80 ||
              s[i + 1] > 0x9F);
    }
}

/* Every dstcap up to len + 1 (32 of them for a long output). */
static void
check_room(const char *in, size_t n, const char *out, size_t len,
           unsigned flags)
{
    size_t cap, got, step = len <= 128 ? 1 : len / 32;
    char *t;

    for (cap = 0; cap <= len + 1; cap += step) {
        t = malloc(cap > 0 ? cap : 1);
        CHECK(t != NULL);
        got = clean(t, cap, in, n, flags);
        CHECK(memcmp(t, out, got) == 0);
        CHECK(at_boundary(out, len, got));
        CHECK(got == len ||
              char_len((unsigned char)out[got]) > cap - got);
        free(t);
    }
}

static void
check_cut(const char *out, size_t len, size_t max)
{
    size_t c = cut(out, len, max);

    if (at_boundary(out, len, c)) {
        CHECK(is_valid(out, c));
        CHECK(c == len || c + char_len((unsigned char)out[c]) > max);
    } else {
        /* Only a first character longer than max is cut inside. */
        CHECK(c == max && char_len((unsigned char)out[0]) > max);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data + 1;
    size_t n, max, len[2], alen;
    char *out[2], *again;
    unsigned f;

    fuzz_hook_allocs();
    if (size < 1)
        return 0;
    max = data[0];
    n = size - 1;
    out[0] = malloc(3 * n + 1);
    out[1] = malloc(3 * n + 1);
    again = malloc(3 * n + 1);
    CHECK(out[0] && out[1] && again);

    for (f = 0; f <= TEXT_KEEP_FORMAT; f++) {
        len[f] = clean(out[f], 3 * n, in, n, f);
        check_output(out[f], len[f], f);
        CHECK(is_valid(in, n) == (count_fffd(out[f], len[f]) ==
                                  count_fffd(in, n)));
        alen = clean(again, 3 * n, out[f], len[f], f);
        CHECK(alen == len[f] && memcmp(again, out[f], alen) == 0);
        check_room(in, n, out[f], len[f], f);
        check_cut(out[f], len[f], max);
    }
    CHECK((len[1] == n && memcmp(out[1], in, n) == 0) ==
          (is_valid(in, n) && !has_control(in, n)));
    counting = 1;
    len[1] = text_strip_format(out[1], len[1]);
    counting = 0;
    CHECK(allocs == 0);
    CHECK(len[1] == len[0] && memcmp(out[1], out[0], len[0]) == 0);
    (void)cut(in, n, max);
    check_feed(in, n, 1 + max % 16);

    free(out[0]);
    free(out[1]);
    free(again);
    return 0;
}
