/* irc.h -- IRC messages: one line in, views of its parts out.
 *
 * A line is [@tags ][:source ]COMMAND[ params...][ :trailing] (RFC 1459,
 * RFC 2812, IRCv3 message tags).  irc_parse() cuts a framed line (the
 * caller found its LF) into views that point INTO the line: nothing is
 * copied, so an irc_msg never outlives the line.  The helpers below read
 * those views: the command, comma-separated lists, CTCP.  Pure functions
 * over bytes: no I/O, no globals, no allocation. */
#ifndef CHATD_IRC_H
#define CHATD_IRC_H

#include <stdbool.h>
#include <stddef.h>

#define IRC_LINE_MAX   512     /* bytes of a line, CRLF included (RFC 1459) */
#define IRC_PARAMS_MAX 15      /* middle params plus trailing */
#define IRC_TAGS_MAX   8191    /* IRCv3 message tags, '@' to the space */

struct irc_param { const char *p; size_t len; };   /* INTO the line */

struct irc_msg {
    const char      *tags;     /* after '@' up to the space; NULL if none */
    size_t           tagslen;
    const char      *source;   /* after ':' up to the space; NULL if none */
    size_t           sourcelen;
    const char      *cmd;      /* the command word or 3-digit numeric */
    size_t           cmdlen;
    int              nparams;
    struct irc_param params[IRC_PARAMS_MAX];
    int              trailing; /* 1 if the last param came after " :" */
};

/* Parse one line (without its CR LF: the caller framed it) into m.  Views
 * point into line.  Leading spaces are skipped; runs of spaces separate
 * params; a param starting with ':' (or the 15th) takes the rest of the
 * line, spaces included; an empty trailing (":") is a param of length 0.
 * Returns 0, or -1 with *why (static) for a line with no command (empty,
 * only spaces, only tags/source), a NUL byte, a tags part over
 * IRC_TAGS_MAX.  More than 15 params: the 15th takes the rest (as RFC 2812
 * says).  A command is letters or exactly 3 digits; anything else: -1,
 * "bad command".  Never reads past line + len.
 *
 * Details:
 *  - At most one CR at the end of line[0..len) is dropped first: the
 *    framing took one CR off before the LF, so a client that sent CR CR LF
 *    still gets its line parsed as meant.  A CR left after that (CR CR CR
 *    LF), or one inside the line, is an ordinary byte.
 *  - Spaces (0x20) only separate; TAB and the rest are ordinary bytes.  The
 *    same runs of spaces separate the tags, the source and the command.
 *  - Tags are one span, not unescaped, and may be empty ("@ CMD").  The
 *    tags part counts, as IRCv3 does, from '@' to the space that ends it,
 *    both included: over IRC_TAGS_MAX bytes is "tags too long" (then at
 *    most IRC_TAGS_MAX bytes of it were read).  The source may be empty
 *    too (": CMD").  Neither is checked further.
 *  - The command keeps the case it was sent in (irc_cmd_is() folds).
 *  - A trailing param after ':' may hold anything but NUL, ':' and spaces
 *    included; its view may be empty and then points at line + len (never
 *    to be read).  The 15th param taken without ':' has trailing 0.
 *  - Middle params are never empty and hold no space.
 *  - Nothing limits len: IRC_LINE_MAX is for the framing to apply.
 * why may be NULL.  On -1, m's contents are unspecified. */
int irc_parse(const char *line, size_t len, struct irc_msg *m,
              const char **why);

/* True if m's command is name (ASCII case-insensitive, name in upper
 * case).  (Either case works: both sides are folded.) */
bool irc_cmd_is(const struct irc_msg *m, const char *name);

/* The next element of a comma-separated list param (JOIN #a,#b keys):
 * *off walks the param; returns 0 and sets *item, or -1 at the end.
 * Empty elements are returned as length 0.
 * Start with *off = 0.  As in splitting a string on ',', n commas give
 * n + 1 items: "#a,,#b" is "#a", "", "#b"; "#a," ends with an empty item,
 * and an empty param is one empty item.  After the last item *off is
 * list->len + 1, and every later call returns -1. */
int irc_list_next(const struct irc_param *list, size_t *off,
                  struct irc_param *item);

/* CTCP: if text is "\x01VERB rest\x01" (the closing \x01 optional), set
 * *verb and *rest and return 1; else 0.  ACTION is what /me maps to.
 * The verb runs from after the opening \x01 to the first space (or to the
 * end) and must not be empty; rest is what follows that one space, up to
 * the closing \x01 (empty, pointing just past the verb, if there is no
 * space).  Views point into text; on 0, *verb and *rest are unchanged. */
int irc_ctcp(const char *text, size_t len, struct irc_param *verb,
             struct irc_param *rest);

/* Case-insensitive (ASCII) comparison of a view with a NUL-terminated
 * upper/lower-case word.  Only A-Z and a-z fold; p may be empty. */
bool irc_param_is(const struct irc_param *p, const char *word);

#endif
