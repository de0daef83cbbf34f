/* test_irc.c -- the IRC message parser and its helpers (src/proto/irc.c).
 *
 * Every input sits against a guard page (guard.h), so reading one byte
 * past the line crashes the test.  Every line that parses is also checked
 * for what the rest of the server relies on: each view lies inside the
 * line, the command is letters or three digits, and the message written
 * out again (one space between parts, ':' before a trailing param) parses
 * to the same parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "proto/irc.h"

/* A string literal and its length, NUL bytes included. */
#define S(s) s, sizeof(s) - 1

#define BIG (IRC_TAGS_MAX + 1024)

/* What a line should parse to.  params ends at the first NULL. */
struct want {
    const char *tags, *source, *cmd;
    int         trailing;
    const char *params[IRC_PARAMS_MAX + 1];
};

/* The view p[0..len) lies inside line[0..n) (an empty one may sit at its
 * end). */
static void
inside(const char *line, size_t n, const char *p, size_t len)
{
    assert_non_null(p);
    assert_true(p >= line && len <= n && (size_t)(p - line) <= n - len);
}

/* The view p[0..len) holds want, or is absent if want is NULL. */
static void
view_is(const char *p, size_t len, const char *want)
{
    if (want == NULL) {
        assert_null(p);
        assert_int_equal(len, 0);
        return;
    }
    assert_non_null(p);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(p, want, len);
}

static void
same_views(const char *p, size_t len, const char *q, size_t qlen)
{
    assert_true((p == NULL) == (q == NULL));
    assert_int_equal(len, qlen);
    if (len > 0)
        assert_memory_equal(p, q, len);
}

static void
same_msg(const struct irc_msg *a, const struct irc_msg *b)
{
    int i;

    same_views(a->tags, a->tagslen, b->tags, b->tagslen);
    same_views(a->source, a->sourcelen, b->source, b->sourcelen);
    same_views(a->cmd, a->cmdlen, b->cmd, b->cmdlen);
    assert_int_equal(a->nparams, b->nparams);
    assert_int_equal(a->trailing, b->trailing);
    for (i = 0; i < a->nparams; i++)
        same_views(a->params[i].p, a->params[i].len, b->params[i].p,
                   b->params[i].len);
}

static int
is_letter(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void
put(char *buf, size_t *o, const char *p, size_t len)
{
    assert_true(len <= BIG - *o);
    memcpy(buf + *o, p, len);
    *o += len;
}

/* m written out as a line into buf[BIG]; returns its length. */
static size_t
serialise(const struct irc_msg *m, char *buf)
{
    size_t o = 0;
    int i;

    if (m->tags != NULL) {
        put(buf, &o, "@", 1);
        put(buf, &o, m->tags, m->tagslen);
        put(buf, &o, " ", 1);
    }
    if (m->source != NULL) {
        put(buf, &o, ":", 1);
        put(buf, &o, m->source, m->sourcelen);
        put(buf, &o, " ", 1);
    }
    put(buf, &o, m->cmd, m->cmdlen);
    for (i = 0; i < m->nparams; i++) {
        put(buf, &o, " ", 1);
        if (i == m->nparams - 1 && m->trailing)
            put(buf, &o, ":", 1);
        put(buf, &o, m->params[i].p, m->params[i].len);
    }
    return o;
}

/* What every successful parse of line[0..n) into m must be. */
static void
check_msg(const char *line, size_t n, const struct irc_msg *m)
{
    static char out[BIG + 1];
    struct irc_msg again;
    const char *why = NULL;
    size_t len, i;
    int k;

    if (m->tags != NULL)
        inside(line, n, m->tags, m->tagslen);
    if (m->source != NULL)
        inside(line, n, m->source, m->sourcelen);
    inside(line, n, m->cmd, m->cmdlen);
    assert_true(m->cmdlen > 0);
    for (i = 0; i < m->cmdlen; i++)
        assert_true(is_letter(m->cmd[i]) ||
                    (m->cmdlen == 3 && is_digit(m->cmd[0]) &&
                     is_digit(m->cmd[1]) && is_digit(m->cmd[2])));
    assert_true(m->nparams >= 0 && m->nparams <= IRC_PARAMS_MAX);
    assert_true(!m->trailing || m->nparams > 0);
    for (k = 0; k < m->nparams; k++)
        inside(line, n, m->params[k].p, m->params[k].len);
    /* Written out and parsed again: the same parts.  One CR at the end
     * would be dropped, so one more goes after it. */
    len = serialise(m, out);
    if (len > 0 && out[len - 1] == '\r')
        out[len++] = '\r';
    assert_int_equal(irc_parse(t_guarded(out, len), len, &again, &why), 0);
    same_msg(m, &again);
}

/* irc_parse of a guarded copy of in[0..n): the result, with *why set on
 * -1 (and only then).  On 0 the message is checked (check_msg). */
static int
parse(const char *in, size_t n, struct irc_msg *m, const char **why)
{
    const char *line = t_guarded(in, n);
    int r;

    *why = NULL;
    r = irc_parse(line, n, m, why);
    if (r == 0) {
        assert_null(*why);
        check_msg(line, n, m);
    } else {
        assert_int_equal(r, -1);
        assert_non_null(*why);
    }
    return r;
}

/* in[0..n) parses to w. */
static void
parses(const char *in, size_t n, const struct want *w)
{
    struct irc_msg m;
    const char *why;
    int i;

    assert_int_equal(parse(in, n, &m, &why), 0);
    view_is(m.tags, m.tagslen, w->tags);
    view_is(m.source, m.sourcelen, w->source);
    view_is(m.cmd, m.cmdlen, w->cmd);
    for (i = 0; w->params[i] != NULL; i++) {
        assert_true(i < m.nparams);
        view_is(m.params[i].p, m.params[i].len, w->params[i]);
    }
    assert_int_equal(m.nparams, i);
    assert_int_equal(m.trailing, w->trailing);
}

/* The NUL-terminated line s parses to w. */
static void
parses_str(const char *s, const struct want *w)
{
    parses(s, strlen(s), w);
}

/* in[0..n) is refused, for reason. */
static void
refused(const char *in, size_t n, const char *reason)
{
    struct irc_msg m;
    const char *why;

    assert_int_equal(parse(in, n, &m, &why), -1);
    assert_string_equal(why, reason);
}

#define W(...) (&(const struct want){ __VA_ARGS__ })

static void
test_rfc_examples(void **state)
{
    (void)state;
    parses_str(":nick!u@h PRIVMSG #chan :hello world",
               W(NULL, "nick!u@h", "PRIVMSG", 1, { "#chan", "hello world" }));
    parses_str("PING :x", W(NULL, NULL, "PING", 1, { "x" }));
    parses_str("NICK alice", W(NULL, NULL, "NICK", 0, { "alice" }));
    parses_str("USER a 0 * :Real Name",
               W(NULL, NULL, "USER", 1, { "a", "0", "*", "Real Name" }));
    parses_str("JOIN #a,#b key1,key2",
               W(NULL, NULL, "JOIN", 0, { "#a,#b", "key1,key2" }));
    parses_str("CAP LS 302", W(NULL, NULL, "CAP", 0, { "LS", "302" }));
    parses_str("MODE #c +o bob",
               W(NULL, NULL, "MODE", 0, { "#c", "+o", "bob" }));
    parses_str("@time=2020 :src CMD a b :c d",
               W("time=2020", "src", "CMD", 1, { "a", "b", "c d" }));
    parses_str("QUIT", W(NULL, NULL, "QUIT", 0, { NULL }));
    parses_str("@a=1;b;c=x\\sy :irc.example.net NOTICE * :*** hi",
               W("a=1;b;c=x\\sy", "irc.example.net", "NOTICE", 1,
                 { "*", "*** hi" }));
}

static void
test_empty_trailing(void **state)
{
    struct irc_msg m;
    const char *why;

    (void)state;
    parses_str("PRIVMSG #c :", W(NULL, NULL, "PRIVMSG", 1, { "#c", "" }));
    parses_str("AWAY :", W(NULL, NULL, "AWAY", 1, { "" }));
    parses_str("TOPIC #c :\r", W(NULL, NULL, "TOPIC", 1, { "#c", "" }));
    /* The empty view sits at the end of the line, never to be read. */
    assert_int_equal(parse(S("AWAY :"), &m, &why), 0);
    assert_true(m.params[0].p == m.cmd + 6);
}

static void
test_trailing_keeps_colons(void **state)
{
    (void)state;
    parses_str(":x PRIVMSG #c ::-)",
               W(NULL, "x", "PRIVMSG", 1, { "#c", ":-)" }));
    parses_str("CMD a :b :c", W(NULL, NULL, "CMD", 1, { "a", "b :c" }));
    parses_str("CMD :: ", W(NULL, NULL, "CMD", 1, { ": " }));
    /* A ':' inside a middle param is just a byte. */
    parses_str("CMD a:b c:", W(NULL, NULL, "CMD", 0, { "a:b", "c:" }));
}

static void
test_spaces(void **state)
{
    (void)state;
    parses_str("   NICK   alice  ", W(NULL, NULL, "NICK", 0, { "alice" }));
    parses_str("CMD  a   b    :c  d  ",
               W(NULL, NULL, "CMD", 1, { "a", "b", "c  d  " }));
    parses_str("  @t   :s   CMD   x",
               W("t", "s", "CMD", 0, { "x" }));
    parses_str("CMD :  lead", W(NULL, NULL, "CMD", 1, { "  lead" }));
    parses_str("CMD    ", W(NULL, NULL, "CMD", 0, { NULL }));
    /* Only spaces separate: a TAB is an ordinary byte. */
    parses_str("CMD a\tb", W(NULL, NULL, "CMD", 0, { "a\tb" }));
    refused(S("CMD\ta"), "bad command");
}

static void
test_fifteen_params(void **state)
{
    (void)state;
    /* 14 middles and a trailing. */
    parses_str("C 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :x y",
               W(NULL, NULL, "C", 1, { "1", "2", "3", "4", "5", "6", "7",
                 "8", "9", "10", "11", "12", "13", "14", "x y" }));
    /* Exactly 15 middles. */
    parses_str("C 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15",
               W(NULL, NULL, "C", 0, { "1", "2", "3", "4", "5", "6", "7",
                 "8", "9", "10", "11", "12", "13", "14", "15" }));
    /* More: the 15th takes the rest, spaces and colons included. */
    parses_str("C 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16  :17 ",
               W(NULL, NULL, "C", 0, { "1", "2", "3", "4", "5", "6", "7",
                 "8", "9", "10", "11", "12", "13", "14",
                 "15 16  :17 " }));
    /* A 15th starting with ':' is a trailing like any other. */
    parses_str("C 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :15 16",
               W(NULL, NULL, "C", 1, { "1", "2", "3", "4", "5", "6", "7",
                 "8", "9", "10", "11", "12", "13", "14", "15 16" }));
    parses_str("C 1 2 3 4 5 6 7 8 9 10 11 12 13 14    15   ",
               W(NULL, NULL, "C", 0, { "1", "2", "3", "4", "5", "6", "7",
                 "8", "9", "10", "11", "12", "13", "14", "15   " }));
}

static void
test_no_command(void **state)
{
    static const char *const lines[] = {
        "", " ", "     ", "\r", "  \r", "@a=b", "@a=b   ", ":src", ":src  ",
        "@a :s", "@a :s \r", "@", ":", "@ :",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        refused(lines[i], strlen(lines[i]), "no command");
}

static void
test_nul_byte(void **state)
{
    (void)state;
    refused(S("PRIVMSG #c :a\0b"), "NUL byte in line");
    refused(S("\0"), "NUL byte in line");
    refused(S("NICK\0"), "NUL byte in line");
    refused(S("\0NICK a"), "NUL byte in line");
    refused(S("NICK a\0\r"), "NUL byte in line");
    refused(S("@a\0 CMD"), "NUL byte in line");
}

static void
test_bad_command(void **state)
{
    static const char *const lines[] = {
        "1234", "AB1", "12", "1", "0001 x", "1a2", "PRIV-MSG #c :x",
        ":src 12a x", "CMD:x", "\xC3\xA9t\xC3\xA9", "@t :s #c", "@a @b C",
        ":a @b C", "[] x",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        refused(lines[i], strlen(lines[i]), "bad command");
}

static void
test_numeric(void **state)
{
    (void)state;
    parses_str(":srv 001 alice :Welcome to the network",
               W(NULL, "srv", "001", 1,
                 { "alice", "Welcome to the network" }));
    parses_str("433 * alice :Nickname is already in use",
               W(NULL, NULL, "433", 1,
                 { "*", "alice", "Nickname is already in use" }));
    parses_str("999", W(NULL, NULL, "999", 0, { NULL }));
}

static void
test_case_preserved(void **state)
{
    (void)state;
    parses_str("privmsg #c :x", W(NULL, NULL, "privmsg", 1, { "#c", "x" }));
    parses_str("PrivMsg #c :x", W(NULL, NULL, "PrivMsg", 1, { "#c", "x" }));
}

static void
test_trailing_cr(void **state)
{
    (void)state;
    parses_str("PING :x\r", W(NULL, NULL, "PING", 1, { "x" }));
    parses_str("NICK a\r", W(NULL, NULL, "NICK", 0, { "a" }));
    parses_str("NICK\r", W(NULL, NULL, "NICK", 0, { NULL }));
    /* Only one: a second CR is part of the line. */
    parses_str("PING :x\r\r", W(NULL, NULL, "PING", 1, { "x\r" }));
    parses_str("NICK a\r\r", W(NULL, NULL, "NICK", 0, { "a\r" }));
    refused(S("NICK\r\r"), "bad command");
    /* Inside the line a CR is an ordinary byte. */
    parses_str("CMD a\rb :c\rd", W(NULL, NULL, "CMD", 1, { "a\rb", "c\rd" }));
}

static void
test_source_and_tags_edges(void **state)
{
    (void)state;
    parses_str("@ CMD", W("", NULL, "CMD", 0, { NULL }));
    parses_str(": CMD", W(NULL, "", "CMD", 0, { NULL }));
    parses_str("@ : CMD", W("", "", "CMD", 0, { NULL }));
    parses_str("@:x :@y CMD", W(":x", "@y", "CMD", 0, { NULL }));
    parses_str(":n!u@h CMD", W(NULL, "n!u@h", "CMD", 0, { NULL }));
}

/* A tags part of exactly IRC_TAGS_MAX bytes, '@' and space included. */
static void
test_tags_limit(void **state)
{
    static char line[BIG];
    size_t t = IRC_TAGS_MAX - 2, n;
    struct irc_msg m;
    const char *why;

    (void)state;
    line[0] = '@';
    memset(line + 1, 'a', t);
    memcpy(line + 1 + t, " CMD x", 6);
    n = 1 + t + 6;
    assert_int_equal(parse(line, n, &m, &why), 0);
    assert_int_equal(m.tagslen, t);
    assert_int_equal(m.nparams, 1);
    /* With leading spaces the count starts at the '@'. */
    memmove(line + 2, line, n);
    line[0] = line[1] = ' ';
    assert_int_equal(parse(line, n + 2, &m, &why), 0);
    assert_int_equal(m.tagslen, t);
    /* One byte more. */
    line[0] = '@';
    memset(line + 1, 'a', t + 1);
    memcpy(line + 2 + t, " CMD x", 6);
    refused(line, n + 1, "tags too long");
    /* Tags with no end at all: too long once past the limit. */
    memset(line + 1, 'a', BIG - 1);
    refused(line, BIG, "tags too long");
    refused(line, IRC_TAGS_MAX + 1, "tags too long");
    refused(line, IRC_TAGS_MAX, "no command");
}

/* 510 bytes, then CR LF, is the longest line of RFC 1459. */
static void
test_510_bytes(void **state)
{
    static char line[IRC_LINE_MAX];
    const size_t n = IRC_LINE_MAX - 2;
    struct irc_msg m;
    const char *why;
    size_t i;

    (void)state;
    memcpy(line, "PRIVMSG #c :", 12);
    for (i = 12; i < n; i++)
        line[i] = (char)('a' + i % 26);
    assert_int_equal(parse(line, n, &m, &why), 0);
    assert_int_equal(m.nparams, 2);
    assert_int_equal(m.params[1].len, n - 12);
    assert_memory_equal(m.params[1].p, line + 12, n - 12);
    /* With its CR still on it (the framing left it). */
    line[n] = '\r';
    assert_int_equal(parse(line, n + 1, &m, &why), 0);
    assert_int_equal(m.params[1].len, n - 12);
    /* A middle param that ends at the last byte. */
    line[11] = 'x';
    assert_int_equal(parse(line, n, &m, &why), 0);
    assert_int_equal(m.trailing, 0);
    assert_int_equal(m.params[1].len, n - 11);
    /* A command that ends at the last byte. */
    memset(line, 'A', n);
    assert_int_equal(parse(line, n, &m, &why), 0);
    assert_int_equal(m.cmdlen, n);
    assert_int_equal(m.nparams, 0);
}

/* Walks the list s[0..n) (guarded): each item is inside it, holds no
 * comma and is want[i]; the walk ends where the contract says.  Returns
 * the number of items. */
static int
list_items(const char *s, size_t n, const char *const *want, int nwant)
{
    struct irc_param list = { t_guarded(s, n), n }, item;
    size_t off = 0;
    int count = 0;

    while (irc_list_next(&list, &off, &item) == 0) {
        assert_true(count < nwant);
        inside(list.p, n, item.p, item.len);
        view_is(item.p, item.len, want[count]);
        assert_null(memchr(item.p, ',', item.len));
        count++;
    }
    assert_int_equal(off, n + 1);
    assert_int_equal(irc_list_next(&list, &off, &item), -1);
    return count;
}

static void
test_list_next(void **state)
{
    static const char *const a[] = { "#a", "", "#b" };
    static const char *const b[] = { "#a" };
    static const char *const c[] = { "" };
    static const char *const d[] = { "#a", "" };
    static const char *const e[] = { "", "" };
    static const char *const f[] = { "", "#x", "key", "" };

    (void)state;
    assert_int_equal(list_items(S("#a,,#b"), a, 3), 3);
    assert_int_equal(list_items(S("#a"), b, 1), 1);
    assert_int_equal(list_items(S(""), c, 1), 1);
    assert_int_equal(list_items(S("#a,"), d, 2), 2);
    assert_int_equal(list_items(S(","), e, 2), 2);
    assert_int_equal(list_items(S(",#x,key,"), f, 4), 4);
}

static void
test_list_from_parse(void **state)
{
    struct irc_msg m;
    struct irc_param item;
    const char *why;
    size_t off = 0;

    (void)state;
    assert_int_equal(parse(S("JOIN #a,#b key1,key2"), &m, &why), 0);
    assert_int_equal(irc_list_next(&m.params[0], &off, &item), 0);
    view_is(item.p, item.len, "#a");
    assert_int_equal(irc_list_next(&m.params[0], &off, &item), 0);
    view_is(item.p, item.len, "#b");
    assert_int_equal(irc_list_next(&m.params[0], &off, &item), -1);
    off = 0;
    assert_int_equal(irc_list_next(&m.params[1], &off, &item), 0);
    view_is(item.p, item.len, "key1");
    assert_int_equal(irc_list_next(&m.params[1], &off, &item), 0);
    view_is(item.p, item.len, "key2");
    assert_int_equal(irc_list_next(&m.params[1], &off, &item), -1);
}

/* irc_ctcp of a guarded s[0..n): want_verb/want_rest, or not CTCP if
 * want_verb is NULL. */
static void
ctcp_is(const char *s, size_t n, const char *want_verb,
        const char *want_rest)
{
    struct irc_param verb = { NULL, 0 }, rest = { NULL, 0 };
    const char *text = t_guarded(s, n);

    if (want_verb == NULL) {
        assert_int_equal(irc_ctcp(text, n, &verb, &rest), 0);
        assert_null(verb.p);
        assert_null(rest.p);
        return;
    }
    assert_int_equal(irc_ctcp(text, n, &verb, &rest), 1);
    inside(text, n, verb.p, verb.len);
    inside(text, n, rest.p, rest.len);
    view_is(verb.p, verb.len, want_verb);
    view_is(rest.p, rest.len, want_rest);
}

static void
test_ctcp(void **state)
{
    (void)state;
    ctcp_is(S("\x01" "ACTION waves\x01"), "ACTION", "waves");
    ctcp_is(S("\x01" "ACTION waves"), "ACTION", "waves");
    ctcp_is(S("\x01" "ACTION waves at you\x01"), "ACTION", "waves at you");
    ctcp_is(S("\x01" "ACTION\x01"), "ACTION", "");
    ctcp_is(S("\x01" "ACTION"), "ACTION", "");
    ctcp_is(S("\x01" "ACTION \x01"), "ACTION", "");
    ctcp_is(S("\x01" "ACTION  two\x01"), "ACTION", " two");
    ctcp_is(S("\x01" "VERSION\x01"), "VERSION", "");
    ctcp_is(S("\x01" "PING 123 456\x01"), "PING", "123 456");
    ctcp_is(S("\x01" "action a\x01" "b\x01"), "action", "a\x01" "b");
    ctcp_is(S("\x01" "A"), "A", "");
    ctcp_is(S("hello"), NULL, NULL);
    ctcp_is(S(""), NULL, NULL);
    ctcp_is(S("\x01"), NULL, NULL);
    ctcp_is(S("\x01\x01"), NULL, NULL);
    ctcp_is(S("\x01 x\x01"), NULL, NULL);
    ctcp_is(S("x\x01" "ACTION y\x01"), NULL, NULL);
}

static void
test_ctcp_from_parse(void **state)
{
    struct irc_param verb, rest;
    struct irc_msg m;
    const char *why;

    (void)state;
    assert_int_equal(parse(S("PRIVMSG #c :\x01" "ACTION waves\x01\r"), &m,
                           &why), 0);
    assert_int_equal(irc_ctcp(m.params[1].p, m.params[1].len, &verb, &rest),
                     1);
    assert_true(irc_param_is(&verb, "ACTION"));
    view_is(rest.p, rest.len, "waves");
}

static void
test_cmd_is(void **state)
{
    struct irc_msg m;
    const char *why;

    (void)state;
    assert_int_equal(parse(S("privmsg #c :x"), &m, &why), 0);
    assert_true(irc_cmd_is(&m, "PRIVMSG"));
    assert_true(irc_cmd_is(&m, "privmsg"));
    assert_false(irc_cmd_is(&m, "PRIVMSGX"));
    assert_false(irc_cmd_is(&m, "PRIV"));
    assert_false(irc_cmd_is(&m, "NOTICE"));
    assert_false(irc_cmd_is(&m, ""));
    assert_int_equal(parse(S("PrIvMsG #c :x"), &m, &why), 0);
    assert_true(irc_cmd_is(&m, "PRIVMSG"));
    assert_int_equal(parse(S(":s 001 a :hi"), &m, &why), 0);
    assert_true(irc_cmd_is(&m, "001"));
    assert_false(irc_cmd_is(&m, "002"));
}

static void
test_param_is(void **state)
{
    struct irc_param p;

    (void)state;
    p.p = t_guarded(S("#Lobby"));
    p.len = 6;
    assert_true(irc_param_is(&p, "#lobby"));
    assert_true(irc_param_is(&p, "#LOBBY"));
    assert_false(irc_param_is(&p, "#lobb"));
    assert_false(irc_param_is(&p, "#lobbyx"));
    /* ASCII folding only: not rfc1459's []\~ and {}|^, not UTF-8. */
    p.p = t_guarded(S("[a]"));
    p.len = 3;
    assert_true(irc_param_is(&p, "[A]"));
    assert_false(irc_param_is(&p, "{a}"));
    p.p = t_guarded(S("\xC3\xA9"));
    p.len = 2;
    assert_true(irc_param_is(&p, "\xC3\xA9"));
    assert_false(irc_param_is(&p, "\xC3\x89"));
    /* '@' and '`' sit next to the letters: they do not fold. */
    p.p = t_guarded(S("@`"));
    p.len = 2;
    assert_false(irc_param_is(&p, "`@"));
    assert_false(irc_param_is(&p, "\x60\x40"));
    p.p = t_guarded("", 0);
    p.len = 0;
    assert_true(irc_param_is(&p, ""));
    assert_false(irc_param_is(&p, "a"));
}

/* Every line of up to 3 bytes from a small alphabet: parse never reads
 * past the line, and what parses passes check_msg. */
static void
test_short_lines_exhaustively(void **state)
{
    static const char alpha[] = { ' ', ':', '@', 'A', 'b', '1', '\r', '\0',
                                  ',', '\x01' };
    const size_t k = sizeof(alpha);
    struct irc_msg m;
    const char *why;
    char in[4];
    size_t n, i, code, total;

    (void)state;
    for (n = 0; n <= 4; n++) {
        for (total = 1, i = 0; i < n; i++)
            total *= k;
        for (code = 0; code < total; code++) {
            size_t c = code;

            for (i = 0; i < n; i++, c /= k)
                in[i] = alpha[c % k];
            (void)parse(in, n, &m, &why);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_examples),
        cmocka_unit_test(test_empty_trailing),
        cmocka_unit_test(test_trailing_keeps_colons),
        cmocka_unit_test(test_spaces),
        cmocka_unit_test(test_fifteen_params),
        cmocka_unit_test(test_no_command),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_bad_command),
        cmocka_unit_test(test_numeric),
        cmocka_unit_test(test_case_preserved),
        cmocka_unit_test(test_trailing_cr),
        cmocka_unit_test(test_source_and_tags_edges),
        cmocka_unit_test(test_tags_limit),
        cmocka_unit_test(test_510_bytes),
        cmocka_unit_test(test_list_next),
        cmocka_unit_test(test_list_from_parse),
        cmocka_unit_test(test_ctcp),
        cmocka_unit_test(test_ctcp_from_parse),
        cmocka_unit_test(test_cmd_is),
        cmocka_unit_test(test_param_is),
        cmocka_unit_test(test_short_lines_exhaustively),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
