/* fuzz_irc.c -- libFuzzer harness for irc_parse and the helpers that read
 * its views (irc_cmd_is, irc_param_is, irc_list_next, irc_ctcp).
 *
 * The input is one line as the framing hands it over (CR LF gone, maybe
 * one CR left).  Checked, beyond "no crash":
 *   - parsing is deterministic: twice gives the same result, the same
 *     views, the same reason;
 *   - on success every view lies inside the line (before a CR dropped at
 *     the end), nparams is at most 15, the command is letters or exactly
 *     three digits, and the views account for every byte: the line is
 *     spaces, '@' tags, spaces, ':' source, spaces, the command, then per
 *     param spaces and the param (':' before a trailing), then spaces;
 *     a middle param is non-empty, has no space and does not start with
 *     ':'; a trailing or 15th param runs to the end;
 *   - on failure the reason is the right one: a NUL byte, a tags part with
 *     no space within IRC_TAGS_MAX bytes, no command word, or a command
 *     word that is neither letters nor three digits;
 *   - the message written out again (one space between parts, ':' before
 *     a trailing param) is no longer than the line and parses to the same
 *     parts, and writing that out gives the same bytes;
 *   - irc_cmd_is and irc_param_is match an upper- or lower-cased copy and
 *     not a changed one; irc_list_next's items, joined with ',', give the
 *     param back; irc_ctcp's views lie inside the param and follow its
 *     contract;
 *   - nothing allocates, and nothing reads past its input (libFuzzer's
 *     input is exactly as long as it says). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/irc.h"

#include "fuzz_util.h"

static int
parse(const char *line, size_t n, struct irc_msg *m, const char **why)
{
    int r;

    *why = NULL;
    counting = 1;
    r = irc_parse(line, n, m, why);
    counting = 0;
    CHECK(allocs == 0);
    CHECK(r == 0 ? *why == NULL : r == -1 && *why != NULL);
    return r;
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

static int
inside(const char *line, size_t n, const char *p, size_t len)
{
    return p != NULL && p >= line && len <= n && (size_t)(p - line) <= n - len;
}

static size_t
skip_spaces(const char *s, size_t n, size_t i)
{
    while (i < n && s[i] == ' ')
        i++;
    return i;
}

static int
same_view(const char *p, size_t len, const char *q, size_t qlen)
{
    return (p == NULL) == (q == NULL) && len == qlen &&
           (len == 0 || memcmp(p, q, len) == 0);
}

/* Same contents, wherever the views point. */
static int
same_msg(const struct irc_msg *a, const struct irc_msg *b)
{
    int i;

    if (!same_view(a->tags, a->tagslen, b->tags, b->tagslen) ||
        !same_view(a->source, a->sourcelen, b->source, b->sourcelen) ||
        !same_view(a->cmd, a->cmdlen, b->cmd, b->cmdlen) ||
        a->nparams != b->nparams || a->trailing != b->trailing)
        return 0;
    for (i = 0; i < a->nparams; i++)
        if (!same_view(a->params[i].p, a->params[i].len, b->params[i].p,
                       b->params[i].len))
            return 0;
    return 1;
}

/* The same views, pointer for pointer. */
static int
identical(const struct irc_msg *a, const struct irc_msg *b)
{
    int i;

    if (a->tags != b->tags || a->tagslen != b->tagslen ||
        a->source != b->source || a->sourcelen != b->sourcelen ||
        a->cmd != b->cmd || a->cmdlen != b->cmdlen ||
        a->nparams != b->nparams || a->trailing != b->trailing)
        return 0;
    for (i = 0; i < a->nparams; i++)
        if (a->params[i].p != b->params[i].p ||
            a->params[i].len != b->params[i].len)
            return 0;
    return 1;
}

static int
is_command(const char *s, size_t len)
{
    size_t i, letters = 0, digits = 0;

    for (i = 0; i < len; i++) {
        letters += is_letter(s[i]);
        digits += is_digit(s[i]);
    }
    return len > 0 && (letters == len || (len == 3 && digits == 3));
}

/* The views of m account for every byte of line[0..n) (n without the
 * dropped CR), in order. */
static void
check_cover(const char *line, size_t n, const struct irc_msg *m)
{
    const struct irc_param *p;
    size_t pos = skip_spaces(line, n, 0);
    int i;

    if (m->tags != NULL) {
        CHECK(pos < n && line[pos] == '@' && m->tags == line + pos + 1);
        CHECK(inside(line, n, m->tags, m->tagslen));
        CHECK(memchr(m->tags, ' ', m->tagslen) == NULL);
        pos += 1 + m->tagslen;
        CHECK(pos < n && line[pos] == ' ');
        CHECK(m->tagslen + 2 <= IRC_TAGS_MAX);
        pos = skip_spaces(line, n, pos);
    }
    if (m->source != NULL) {
        CHECK(pos < n && line[pos] == ':' && m->source == line + pos + 1);
        CHECK(inside(line, n, m->source, m->sourcelen));
        CHECK(memchr(m->source, ' ', m->sourcelen) == NULL);
        pos += 1 + m->sourcelen;
        CHECK(pos < n && line[pos] == ' ');
        pos = skip_spaces(line, n, pos);
    }
    CHECK(pos < n && line[pos] != '@' && line[pos] != ':');
    CHECK(m->cmd == line + pos && inside(line, n, m->cmd, m->cmdlen));
    CHECK(is_command(m->cmd, m->cmdlen));
    pos += m->cmdlen;
    CHECK(m->nparams >= 0 && m->nparams <= IRC_PARAMS_MAX);
    CHECK(!m->trailing || m->nparams > 0);
    for (i = 0; i < m->nparams; i++) {
        p = &m->params[i];
        CHECK(pos < n && line[pos] == ' ');
        pos = skip_spaces(line, n, pos);
        CHECK(pos < n);
        if (i == m->nparams - 1 && m->trailing) {
            CHECK(line[pos] == ':' && p->p == line + pos + 1);
            CHECK(inside(line, n, p->p, p->len) && p->len == n - pos - 1);
        } else {
            CHECK(line[pos] != ':' && p->p == line + pos);
            CHECK(inside(line, n, p->p, p->len) && p->len > 0);
            if (i == IRC_PARAMS_MAX - 1)
                CHECK(p->len == n - pos);
            else
                CHECK(memchr(p->p, ' ', p->len) == NULL);
        }
        pos += (size_t)(p->p - (line + pos)) + p->len;
    }
    pos = skip_spaces(line, n, pos);
    CHECK(pos == n);
}

/* The reason line[0..n) (without the dropped CR) cannot parse, found
 * another way: token by token. */
static const char *
expected_failure(const char *line, size_t n)
{
    size_t pos, e;

    for (pos = 0; pos < n; pos++)
        if (line[pos] == '\0')
            return "NUL byte in line";
    pos = skip_spaces(line, n, 0);
    if (pos < n && line[pos] == '@') {
        for (e = pos; e < n && line[e] != ' '; e++)
            continue;
        if (e - pos + 1 > IRC_TAGS_MAX && (e < n || n - pos > IRC_TAGS_MAX))
            return "tags too long";
        pos = skip_spaces(line, n, e);
    }
    if (pos < n && line[pos] == ':') {
        for (e = pos; e < n && line[e] != ' '; e++)
            continue;
        pos = skip_spaces(line, n, e);
    }
    if (pos == n)
        return "no command";
    for (e = pos; e < n && line[e] != ' '; e++)
        continue;
    return is_command(line + pos, e - pos) ? NULL : "bad command";
}

static void
put(char *buf, size_t cap, size_t *o, const char *p, size_t len)
{
    CHECK(len <= cap - *o);
    memcpy(buf + *o, p, len);
    *o += len;
}

/* m written out into buf[cap]; returns its length. */
static size_t
serialise(const struct irc_msg *m, char *buf, size_t cap)
{
    size_t o = 0;
    int i;

    if (m->tags != NULL) {
        put(buf, cap, &o, "@", 1);
        put(buf, cap, &o, m->tags, m->tagslen);
        put(buf, cap, &o, " ", 1);
    }
    if (m->source != NULL) {
        put(buf, cap, &o, ":", 1);
        put(buf, cap, &o, m->source, m->sourcelen);
        put(buf, cap, &o, " ", 1);
    }
    put(buf, cap, &o, m->cmd, m->cmdlen);
    for (i = 0; i < m->nparams; i++) {
        put(buf, cap, &o, " ", 1);
        if (i == m->nparams - 1 && m->trailing)
            put(buf, cap, &o, ":", 1);
        put(buf, cap, &o, m->params[i].p, m->params[i].len);
    }
    return o;
}

/* Written out, parsed again, written out again: the same message, then
 * the same bytes.  A CR at the end would be dropped: one more goes after
 * it. */
static void
check_round_trip(const struct irc_msg *m, size_t n)
{
    char *out = malloc(n + 2), *again = malloc(n + 2);
    struct irc_msg m2;
    const char *why;
    size_t len, len2;

    CHECK(out != NULL && again != NULL);
    len = serialise(m, out, n + 2);
    CHECK(len <= n);
    if (len > 0 && out[len - 1] == '\r')
        out[len++] = '\r';
    CHECK(parse(out, len, &m2, &why) == 0);
    CHECK(same_msg(m, &m2));
    len2 = serialise(&m2, again, n + 2);
    if (len2 > 0 && again[len2 - 1] == '\r')
        again[len2++] = '\r';
    CHECK(len2 == len && memcmp(out, again, len) == 0);
    free(out);
    free(again);
}

/* word[0..len) is p, as a C string: upper-cased, lower-cased, and one
 * byte changed, against irc_param_is (and irc_cmd_is if m is set). */
static void
check_is(const struct irc_msg *m, const struct irc_param *p)
{
    char *word = malloc(p->len + 2);
    size_t i;
    int pass;
    bool r;

    CHECK(word != NULL);
    for (pass = 0; pass < 3; pass++) {
        for (i = 0; i < p->len; i++) {
            word[i] = p->p[i];
            if (pass == 0 && word[i] >= 'a' && word[i] <= 'z')
                word[i] = (char)(word[i] - 'a' + 'A');
            if (pass == 1 && word[i] >= 'A' && word[i] <= 'Z')
                word[i] = (char)(word[i] - 'A' + 'a');
        }
        word[p->len] = '\0';
        if (pass == 2) {                /* one byte more: never equal */
            word[p->len] = 'x';
            word[p->len + 1] = '\0';
        }
        counting = 1;
        r = m != NULL ? irc_cmd_is(m, word) : irc_param_is(p, word);
        counting = 0;
        CHECK(allocs == 0);
        CHECK(r == (pass < 2));
    }
    free(word);
}

/* The items, joined with ',', are the param; one more item than commas. */
static void
check_list(const struct irc_param *p)
{
    struct irc_param item;
    size_t off = 0, pos = 0, items = 0, commas = 0, i;
    int r;

    for (i = 0; i < p->len; i++)
        commas += p->p[i] == ',';
    for (;;) {
        counting = 1;
        r = irc_list_next(p, &off, &item);
        counting = 0;
        CHECK(allocs == 0);
        if (r == -1)
            break;
        CHECK(r == 0 && items <= commas);
        CHECK(item.p == p->p + pos && item.len <= p->len - pos);
        CHECK(memchr(item.p, ',', item.len) == NULL);
        pos += item.len;
        CHECK(pos == p->len || p->p[pos] == ',');
        pos++;
        items++;
        CHECK(off == pos);
    }
    CHECK(items == commas + 1 && off == p->len + 1);
    CHECK(irc_list_next(p, &off, &item) == -1);
}

static void
check_ctcp(const struct irc_param *p)
{
    struct irc_param verb = { NULL, 0 }, rest = { NULL, 0 };
    size_t end;
    int r;

    counting = 1;
    r = irc_ctcp(p->p, p->len, &verb, &rest);
    counting = 0;
    CHECK(allocs == 0);
    if (p->len < 2 || p->p[0] != '\x01') {
        CHECK(r == 0);
        return;
    }
    end = p->p[p->len - 1] == '\x01' ? p->len - 1 : p->len;
    if (r == 0) {
        CHECK(verb.p == NULL && rest.p == NULL);
        CHECK(end == 1 || p->p[1] == ' ');
        return;
    }
    CHECK(r == 1 && verb.p == p->p + 1 && verb.len > 0);
    CHECK(memchr(verb.p, ' ', verb.len) == NULL);
    CHECK(inside(p->p, end, verb.p, verb.len));
    CHECK(inside(p->p, end, rest.p, rest.len));
    CHECK(rest.p + rest.len == p->p + end);
    CHECK(rest.p == verb.p + verb.len ?
          rest.len == 0 : rest.p == verb.p + verb.len + 1 &&
          verb.p[verb.len] == ' ');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    size_t n = size > 0 && line[size - 1] == '\r' ? size - 1 : size;
    struct irc_msg m, m2;
    const char *why, *why2, *want;
    int r, i;

    fuzz_hook_allocs();
    r = parse(line, size, &m, &why);
    CHECK(parse(line, size, &m2, &why2) == r && why2 == why);
    want = expected_failure(line, n);
    if (r == -1) {
        CHECK(want != NULL && strcmp(why, want) == 0);
        return 0;
    }
    CHECK(want == NULL);
    CHECK(identical(&m, &m2));
    check_cover(line, n, &m);
    check_round_trip(&m, n);
    check_is(&m, &(struct irc_param){ m.cmd, m.cmdlen });
    for (i = 0; i < m.nparams; i++) {
        check_is(NULL, &m.params[i]);
        check_list(&m.params[i]);
        check_ctcp(&m.params[i]);
    }
    return 0;
}
