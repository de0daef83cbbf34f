/* utf8.h -- what a client's text may contain: cleaning, validating, cutting.
 *
 * Text is UTF-8.  A client's bytes go through text_clean() once: what comes
 * out is valid UTF-8 (anything else became U+FFFD) with no control that
 * could move another client's cursor or change its terminal.  IRC
 * formatting codes are the one kind of control kept, for the wire formats
 * that want them; text_strip_format() turns that form into the plain one.
 * Pure functions over bytes: no I/O, no globals, no allocation. */
#ifndef CHATD_UTF8_H
#define CHATD_UTF8_H

#include <stddef.h>

#define UTF8_REPLACEMENT "\xEF\xBF\xBD"   /* U+FFFD */

/* Flags for text_clean(). */
#define TEXT_KEEP_FORMAT 0x1   /* keep IRC formatting codes (see below) */

/* Clean len bytes of src into dst (room for dstcap bytes) and return the
 * length written.  dst never gets a NUL terminator.  Rules:
 *  - valid UTF-8 is copied; every maximal invalid subpart (per Unicode's
 *    "U+FFFD substitution of maximal subparts" practice, as WHATWG's decoder
 *    does) becomes U+FFFD: overlong encodings (C0, C1, E0 80..9F, F0 80..8F),
 *    surrogates (ED A0..BF), code points above U+10FFFF (F4 90.., F5..FF),
 *    stray continuation bytes, truncated sequences (also at the end of src).
 *  - C0 controls (0x00-0x1F) other than TAB (0x09), and DEL (0x7F), are
 *    removed, and C1 controls (U+0080-U+009F, i.e. C2 80..C2 9F) are
 *    removed too.
 *  - IRC formatting codes: 0x02 bold, 0x1D italic, 0x1F underline, 0x1E
 *    strikethrough, 0x11 monospace, 0x16 reverse, 0x0F reset, 0x03 colour
 *    (followed by up to two digits, optionally a comma and up to two more
 *    digits: "\x03" "12,04"), 0x04 hex colour (followed by up to 6 hex
 *    digits, optionally comma and 6 more).  With TEXT_KEEP_FORMAT these codes
 *    (and their digits) are kept as they are; without it the code AND its
 *    colour digits are removed ("\x03" "12,4hi" -> "hi"; but a comma not
 *    followed by a digit stays: "\x03" "4,x" -> ",x").  A comma counts only
 *    after at least one digit.  The digits are looked for in what would be
 *    kept (removed controls between them do not count), so
 *    text_clean(x, 0) is always text_strip_format(text_clean(x,
 *    TEXT_KEEP_FORMAT)).
 *  - Output is never longer than dstcap: if it would not fit, stop at the
 *    last whole character that fits (never write half a character or half a
 *    U+FFFD).
 * Worst case output is 3 * len bytes (every byte invalid -> U+FFFD); pass
 * dstcap >= 3 * len to never truncate.  Cleaning the output again (with the
 * same flags) changes nothing.  Pure: no allocation, no globals. */
size_t text_clean(char *dst, size_t dstcap, const char *src, size_t len,
                  unsigned flags);

/* Remove the IRC formatting codes (with their colour digits, as text_clean
 * without TEXT_KEEP_FORMAT does) from buf[0..len), in place, and return the
 * new length.  buf is text_clean's output with TEXT_KEEP_FORMAT: this turns
 * the IRC form of a message into the line-client form.  Every other byte
 * is left as it is. */
size_t text_strip_format(char *buf, size_t len);

/* The length of the longest prefix of buf[0..len) that is at most max bytes
 * and does not end inside a UTF-8 character (buf is assumed valid UTF-8,
 * e.g. text_clean's output).  Used to cut long messages into pieces. If the
 * first character alone is longer than max, returns 0 only when max is 0,
 * else cuts at max (cannot happen for max >= 4).  So for len > 0 and
 * max > 0 the result is never 0: a loop of cuts always makes progress, even
 * over invalid input. */
size_t utf8_cut(const char *buf, size_t len, size_t max);

/* 1 if buf[0..len) is valid UTF-8 (no overlongs, no surrogates, nothing
 * above U+10FFFF), else 0. */
int utf8_is_valid(const char *buf, size_t len);

/* Incremental validation, for text that arrives in pieces (WebSocket
 * fragments): feed the pieces in order to one utf8_state.  The verdict is
 * the one utf8_is_valid() would give for the whole text, but an error is
 * reported with the first byte that makes it certain: no valid text starts
 * with the bytes fed so far ("\xE0\x80" fails at the 0x80, "\xF4\x90" at
 * the 0x90).  Only the end can tell a truncated last character, so at the
 * end of the text ask utf8_is_whole(). */
struct utf8_state {
    unsigned char need;         /* continuation bytes still to come */
    unsigned char lo, hi;       /* the range the next one must fall in */
    unsigned char bad;          /* 1 once invalid: stays so */
};

/* Start a new text: nothing fed, valid so far. */
void utf8_state_init(struct utf8_state *s);

/* Feed buf[0..len), the next bytes of the text.  Returns 1 while every
 * byte fed so far can still begin valid UTF-8, 0 as soon as one cannot
 * (and from then on for every call).  Never reads past buf + len; len may
 * be 0. */
int utf8_feed(struct utf8_state *s, const void *buf, size_t len);

/* 1 if the bytes fed so far are valid UTF-8 as they stand: nothing invalid
 * and no character left unfinished; else 0. */
int utf8_is_whole(const struct utf8_state *s);

#endif
