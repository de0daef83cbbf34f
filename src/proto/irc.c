/* irc.c -- parsing IRC message lines into views, and reading the views.
 *
 * irc_parse() walks the line once, left to right, with one cursor: skip
 * spaces, take a word, and so on.  Each part is found by where it starts
 * ('@' tags, ':' source, then the command, then ':' trailing), so there is
 * no backtracking and no state beyond the cursor. */
#include "proto/irc.h"

#include <string.h>

static int
fail(const char **why, const char *reason)
{
    if (why != NULL)
        *why = reason;
    return -1;
}

static unsigned char
fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
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

/* The first non-space at or after i (end if none). */
static size_t
skip_spaces(const char *s, size_t end, size_t i)
{
    while (i < end && s[i] == ' ')
        i++;
    return i;
}

/* The first space at or after i (end if none). */
static size_t
word_end(const char *s, size_t end, size_t i)
{
    const char *sp = i < end ? memchr(s + i, ' ', end - i) : NULL;

    return sp != NULL ? (size_t)(sp - s) : end;
}

/* Letters only, or exactly three digits. */
static int
is_command(const char *s, size_t len)
{
    size_t i;

    if (len == 3 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]))
        return 1;
    for (i = 0; i < len; i++)
        if (!is_letter(s[i]))
            return 0;
    return len > 0;
}

/* The params from s[i] to s[end], after the command. */
static void
parse_params(const char *s, size_t end, size_t i, struct irc_msg *m)
{
    struct irc_param *p;
    size_t e;

    for (;;) {
        i = skip_spaces(s, end, i);
        if (i == end)
            return;
        p = &m->params[m->nparams++];
        if (s[i] == ':' || m->nparams == IRC_PARAMS_MAX) {
            if (s[i] == ':') {
                m->trailing = 1;
                i++;
            }
            p->p = s + i;
            p->len = end - i;
            return;
        }
        e = word_end(s, end, i);
        p->p = s + i;
        p->len = e - i;
        i = e;
    }
}

int
irc_parse(const char *line, size_t len, struct irc_msg *m, const char **why)
{
    size_t i, e, room;

    m->tags = m->source = m->cmd = NULL;
    m->tagslen = m->sourcelen = m->cmdlen = 0;
    m->nparams = 0;
    m->trailing = 0;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > 0 && memchr(line, '\0', len) != NULL)
        return fail(why, "NUL byte in line");
    i = skip_spaces(line, len, 0);
    if (i < len && line[i] == '@') {
        /* The space that ends the tags is at most IRC_TAGS_MAX - 1 bytes
         * after the '@': look no further than that. */
        room = len - i < IRC_TAGS_MAX ? len - i : IRC_TAGS_MAX;
        e = word_end(line, i + room, i);
        if (e == i + room && room < len - i)
            return fail(why, "tags too long");
        m->tags = line + i + 1;
        m->tagslen = e - i - 1;
        i = skip_spaces(line, len, e);
    }
    if (i < len && line[i] == ':') {
        e = word_end(line, len, i);
        m->source = line + i + 1;
        m->sourcelen = e - i - 1;
        i = skip_spaces(line, len, e);
    }
    if (i == len)
        return fail(why, "no command");
    e = word_end(line, len, i);
    if (!is_command(line + i, e - i))
        return fail(why, "bad command");
    m->cmd = line + i;
    m->cmdlen = e - i;
    parse_params(line, len, e, m);
    return 0;
}

bool
irc_cmd_is(const struct irc_msg *m, const char *name)
{
    struct irc_param cmd = { m->cmd, m->cmdlen };

    return irc_param_is(&cmd, name);
}

int
irc_list_next(const struct irc_param *list, size_t *off,
              struct irc_param *item)
{
    size_t start = *off, end;
    const char *comma;

    if (start > list->len)
        return -1;
    comma = start < list->len ?
            memchr(list->p + start, ',', list->len - start) : NULL;
    end = comma != NULL ? (size_t)(comma - list->p) : list->len;
    item->p = list->p + start;
    item->len = end - start;
    *off = end + 1;
    return 0;
}

int
irc_ctcp(const char *text, size_t len, struct irc_param *verb,
         struct irc_param *rest)
{
    size_t end, e;

    if (len < 2 || text[0] != '\x01')
        return 0;
    end = text[len - 1] == '\x01' ? len - 1 : len;
    e = word_end(text, end, 1);
    if (e == 1)
        return 0;
    verb->p = text + 1;
    verb->len = e - 1;
    if (e < end)
        e++;                    /* the one space after the verb */
    rest->p = text + e;
    rest->len = end - e;
    return 1;
}

bool
irc_param_is(const struct irc_param *p, const char *word)
{
    size_t i;

    for (i = 0; i < p->len; i++)
        if (word[i] == '\0' ||
            fold((unsigned char)p->p[i]) != fold((unsigned char)word[i]))
            return false;
    return word[i] == '\0';
}
