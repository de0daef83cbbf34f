/* utf8.c -- cleaning, validating and cutting UTF-8 text.
 *
 * Everything here walks the input one unit at a time: a valid character,
 * or a maximal invalid subpart (the longest run of bytes that starts like
 * a valid character but cannot go on), which becomes one U+FFFD.  Units
 * are then sorted: text (copied), controls (removed) and IRC formatting
 * codes (kept or removed, with their colour digits). */
#include "proto/utf8.h"

#include <stdint.h>
#include <string.h>

#define INVALID     0x110000u   /* not a code point: an invalid subpart */
#define IRC_COLOUR  0x03        /* then up to 2 digits [, up to 2 more] */
#define IRC_HEX     0x04        /* then up to 6 hex digits [, 6 more] */

enum kind { TEXT, BAD, CONTROL, FORMAT };

/* The unit at s[0..len), len >= 1: returns how many bytes it takes and
 * sets *cp to its code point, or to INVALID.  A lead byte fixes the range
 * of the byte after it (that range rules out overlongs, surrogates and
 * code points above U+10FFFF); an invalid subpart ends before the first
 * byte that cannot continue it, or at the end of the input. */
static size_t
decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need, i;
    uint32_t v;

    *cp = INVALID;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        v = c & 0x0F;
        lo = c == 0xE0 ? 0xA0 : 0x80;       /* E0 80..9F: overlong */
        hi = c == 0xED ? 0x9F : 0xBF;       /* ED A0..BF: surrogate */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        v = c & 0x07;
        lo = c == 0xF0 ? 0x90 : 0x80;       /* F0 80..8F: overlong */
        hi = c == 0xF4 ? 0x8F : 0xBF;       /* F4 90..: above U+10FFFF */
    } else {
        return 1;       /* a stray continuation, C0, C1 or F5..FF */
    }
    for (i = 1; i <= need; i++) {
        if (i == len || s[i] < lo || s[i] > hi)
            return i;
        v = v << 6 | (s[i] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = v;
    return i;
}

static int
is_format(uint32_t cp)
{
    switch (cp) {
    case 0x02: case IRC_COLOUR: case IRC_HEX: case 0x0F: case 0x11:
    case 0x16: case 0x1D: case 0x1E: case 0x1F:
        return 1;
    }
    return 0;
}

static enum kind
kind_of(uint32_t cp)
{
    if (cp == INVALID)
        return BAD;
    if (is_format(cp))
        return FORMAT;
    if (cp == '\t')
        return TEXT;
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))    /* C0, DEL, C1 */
        return CONTROL;
    return TEXT;
}

/* Where the next unit that text_clean keeps starts, from s[i]: past the
 * controls it removes, if skip is set (else i: cleaned text has none). */
static size_t
next_kept(const unsigned char *s, size_t len, size_t i, int skip)
{
    uint32_t cp;
    size_t n;

    while (skip && i < len) {
        n = decode(s + i, len - i, &cp);
        if (kind_of(cp) != CONTROL)
            break;
        i += n;
    }
    return i;
}

static int
is_colour_digit(unsigned char c, int hex)
{
    if (c >= '0' && c <= '9')
        return 1;
    return hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

/* Up to max colour digits from s[i]: returns how many, and sets *end just
 * past the last one (i if none). */
static size_t
digits(const unsigned char *s, size_t len, size_t i, size_t max, int hex,
       int skip, size_t *end)
{
    size_t count = 0;

    *end = i;
    while (count < max) {
        i = next_kept(s, len, i, skip);
        if (i == len || !is_colour_digit(s[i], hex))
            break;
        count++;
        *end = ++i;
    }
    return count;
}

/* Just past the formatting code at s[i] and its colour digits, if any:
 * "\x03" "12,04", or "\x04" "FF0000,00FF00".  A comma belongs to the code
 * only after a digit and before another. */
static size_t
format_end(const unsigned char *s, size_t len, size_t i, int skip)
{
    int hex = s[i] == IRC_HEX;
    size_t max = hex ? 6 : 2, end, bg_end, comma;

    if (s[i] != IRC_COLOUR && s[i] != IRC_HEX)
        return i + 1;
    if (digits(s, len, i + 1, max, hex, skip, &end) == 0)
        return end;
    comma = next_kept(s, len, end, skip);
    if (comma == len || s[comma] != ',')
        return end;
    if (digits(s, len, comma + 1, max, hex, skip, &bg_end) == 0)
        return end;
    return bg_end;
}

size_t
text_clean(char *dst, size_t dstcap, const char *src, size_t len,
           unsigned flags)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, o = 0, n;
    uint32_t cp;

    while (i < len) {
        /* Printable ASCII, most of any chat, is copied as a run. */
        for (n = 0; i + n < len && s[i + n] >= 0x20 && s[i + n] < 0x7f; n++)
            continue;
        if (n > 0) {
            if (n > dstcap - o)
                n = dstcap - o;
            memcpy(dst + o, s + i, n);
            o += n;
            i += n;
            if (o == dstcap)
                return o;
            continue;
        }
        n = decode(s + i, len - i, &cp);
        switch (kind_of(cp)) {
        case CONTROL:
            i += n;
            continue;
        case FORMAT:
            if (!(flags & TEXT_KEEP_FORMAT)) {
                i = format_end(s, len, i, 1);
                continue;
            }
            break;
        case BAD:
            if (dstcap - o < sizeof(UTF8_REPLACEMENT) - 1)
                return o;
            memcpy(dst + o, UTF8_REPLACEMENT, sizeof(UTF8_REPLACEMENT) - 1);
            o += sizeof(UTF8_REPLACEMENT) - 1;
            i += n;
            continue;
        case TEXT:
            break;
        }
        if (dstcap - o < n)
            return o;
        memcpy(dst + o, s + i, n);      /* valid: already its encoding */
        o += n;
        i += n;
    }
    return o;
}

size_t
text_strip_format(char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0, o = 0;

    /* In UTF-8 a byte below 0x80 is always a whole character, so bytes
     * will do; o never passes i, so the copy never overtakes the read. */
    while (i < len && (s[i] >= 0x20 || !is_format(s[i])))
        i++;                    /* most text has none: nothing to move */
    o = i;
    while (i < len) {
        if (is_format(s[i]))
            i = format_end(s, len, i, 0);
        else
            buf[o++] = buf[i++];
    }
    return o;
}

size_t
utf8_cut(const char *buf, size_t len, size_t max)
{
    size_t cut = max, back;

    if (len <= max)
        return len;
    /* buf[max] exists: step back over at most 3 continuation bytes to the
     * start of the character it is in.  A longer run is not UTF-8; cut
     * anywhere then, but never at 0, so the caller makes progress. */
    for (back = 0; back < 3 && cut > 0; back++) {
        if (((unsigned char)buf[cut] & 0xC0) != 0x80)
            break;
        cut--;
    }
    if (((unsigned char)buf[cut] & 0xC0) == 0x80 || cut == 0)
        return max;
    return cut;
}

int
utf8_is_valid(const char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0;
    uint32_t cp;

    while (i < len) {
        if (s[i] < 0x80) {      /* the common case, without decode() */
            i++;
            continue;
        }
        i += decode(s + i, len - i, &cp);
        if (cp == INVALID)
            return 0;
    }
    return 1;
}

void
utf8_state_init(struct utf8_state *s)
{
    s->need = 0;
    s->lo = 0x80;
    s->hi = 0xBF;
    s->bad = 0;
}

/* The number of leading ASCII bytes of s[0..len), eight at a time while
 * it can: text is mostly ASCII. */
static size_t
ascii_run(const unsigned char *s, size_t len)
{
    size_t i = 0;
    uint64_t w;

    while (len - i >= 8) {
        memcpy(&w, s + i, 8);
        if (w & UINT64_C(0x8080808080808080))
            break;
        i += 8;
    }
    while (i < len && s[i] < 0x80)
        i++;
    return i;
}

/* The same rules as decode(), one byte at a time: a lead byte sets how
 * many continuation bytes follow and the range of the first of them. */
int
utf8_feed(struct utf8_state *s, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    unsigned char c;
    size_t i = 0;

    if (s->bad)
        return 0;
    while (i < len) {
        if (s->need == 0) {
            i += ascii_run(p + i, len - i);
            if (i == len)
                break;
            c = p[i++];
            s->lo = 0x80;
            s->hi = 0xBF;
            if (c >= 0xC2 && c <= 0xDF) {
                s->need = 1;
            } else if (c >= 0xE0 && c <= 0xEF) {
                s->need = 2;
                s->lo = c == 0xE0 ? 0xA0 : 0x80;   /* overlong */
                s->hi = c == 0xED ? 0x9F : 0xBF;   /* surrogate */
            } else if (c >= 0xF0 && c <= 0xF4) {
                s->need = 3;
                s->lo = c == 0xF0 ? 0x90 : 0x80;   /* overlong */
                s->hi = c == 0xF4 ? 0x8F : 0xBF;   /* above U+10FFFF */
            } else {
                s->bad = 1;
                return 0;
            }
            continue;
        }
        c = p[i++];
        if (c < s->lo || c > s->hi) {
            s->bad = 1;
            return 0;
        }
        s->need--;
        s->lo = 0x80;
        s->hi = 0xBF;
    }
    return 1;
}

int
utf8_is_whole(const struct utf8_state *s)
{
    return !s->bad && s->need == 0;
}
