/* http.c -- the HTTP/1.1 request-head parser.
 *
 * One walk from the first byte, never looking at a byte before deciding
 * on the one before it: each error is reported at the first byte that
 * makes it certain, so a prefix of the input can only say "need more" or
 * what the whole input says.  Running out of bytes is "need more" while
 * the head may still end within HTTP_HEAD_MAX bytes, and "too large" once
 * it cannot. */
#include "proto/http.h"

#include <string.h>

/* How a step of the walk ended. */
enum step { STEP_OK, STEP_MORE, STEP_BAD, STEP_VERSION };

struct walk {
    const char *p;
    size_t      i;      /* the next byte to look at */
    size_t      end;    /* len, or HTTP_HEAD_MAX if len is more */
    const char *why;    /* STEP_BAD, STEP_VERSION */
};

static enum step
bad(struct walk *w, const char *why)
{
    w->why = why;
    return STEP_BAD;
}

/* RFC 9110 tchar: what a method or a field name is made of. */
static int
is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte of a request target: anything visible, UTF-8 included. */
static int
is_target(unsigned char c)
{
    return c > 0x20 && c != 0x7F;
}

static unsigned char
at(const struct walk *w)
{
    return (unsigned char)w->p[w->i];
}

/* The end of a line at w->i: CRLF or a bare LF.  Any other byte there is
 * an error, why. */
static enum step
eol(struct walk *w, const char *why)
{
    if (w->i == w->end)
        return STEP_MORE;
    if (at(w) == '\n') {
        w->i++;
        return STEP_OK;
    }
    if (at(w) != '\r')
        return bad(w, why);
    if (w->i + 1 == w->end)
        return STEP_MORE;
    if (w->p[w->i + 1] != '\n')
        return bad(w, "CR without LF");
    w->i += 2;
    return STEP_OK;
}

/* "HTTP/" DIGIT "." DIGIT, then the line end.  Sets *major. */
static enum step
version(struct walk *w, int *major, int *minor)
{
    static const char want[] = "HTTP/#.#";
    size_t k;
    unsigned char c;

    for (k = 0; k < sizeof(want) - 1; k++, w->i++) {
        if (w->i == w->end)
            return STEP_MORE;
        c = at(w);
        if (want[k] == '#' ? c < '0' || c > '9' : c != (unsigned char)want[k])
            return bad(w, "bad HTTP version");
    }
    *major = w->p[w->i - 3] - '0';
    *minor = w->p[w->i - 1] - '0';
    return eol(w, "bad HTTP version");
}

/* Empty lines, then method SP target SP version. */
static enum step
request_line(struct walk *w, struct http_request *req)
{
    size_t start;
    enum step r;
    int major;

    for (;;) {
        if (w->i == w->end)
            return STEP_MORE;
        if (at(w) != '\r' && at(w) != '\n')
            break;
        if ((r = eol(w, "bad request line")) != STEP_OK)
            return r;
    }
    for (start = w->i; w->i < w->end && is_tchar(at(w)); w->i++)
        continue;
    if (w->i == w->end)
        return STEP_MORE;
    if (at(w) != ' ' || w->i == start)
        return bad(w, "bad method");
    req->method = w->p + start;
    req->methodlen = w->i++ - start;
    for (start = w->i; w->i < w->end && is_target(at(w)); w->i++)
        continue;
    if (w->i == w->end)
        return STEP_MORE;
    if (at(w) != ' ' || w->i == start)
        return bad(w, "bad request target");
    req->target = w->p + start;
    req->targetlen = w->i++ - start;
    if ((r = version(w, &major, &req->minor)) != STEP_OK)
        return r;
    if (major != 1) {
        w->why = "HTTP version not supported";
        return STEP_VERSION;
    }
    return STEP_OK;
}

/* One header field line: name ':' OWS value OWS, then the line end. */
static enum step
field(struct walk *w, struct http_field *f)
{
    size_t start, vend;
    unsigned char c;

    for (start = w->i; w->i < w->end && is_tchar(at(w)); w->i++)
        continue;
    if (w->i == w->end)
        return STEP_MORE;
    if (at(w) != ':' || w->i == start)
        return bad(w, "bad header field name");
    f->name = w->p + start;
    f->namelen = w->i++ - start;
    while (w->i < w->end && (at(w) == ' ' || at(w) == '\t'))
        w->i++;
    for (start = vend = w->i; w->i < w->end; w->i++) {
        c = at(w);
        if (c > 0x20 && c != 0x7F)
            vend = w->i + 1;
        else if (c != ' ' && c != '\t')
            break;
    }
    f->value = w->p + start;
    f->valuelen = vend - start;
    return eol(w, "bad byte in header value");
}

/* Header fields up to the empty line that ends the head. */
static enum step
fields(struct walk *w, struct http_request *req)
{
    enum step r;

    for (;;) {
        if (w->i == w->end)
            return STEP_MORE;
        if (at(w) == '\r' || at(w) == '\n')
            return eol(w, "bad line end");
        if (at(w) == ' ' || at(w) == '\t')
            return bad(w, "obsolete line folding");
        if (req->nfields == HTTP_HEADERS_MAX)
            return bad(w, "too many header fields");
        if ((r = field(w, &req->fields[req->nfields])) != STEP_OK)
            return r;
        req->nfields++;
    }
}

enum http_status
http_parse(const char *buf, size_t len, struct http_request *req)
{
    struct walk w = { buf, 0, len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX,
                      NULL };
    enum step r;

    req->nfields = 0;
    req->head_len = 0;
    req->why = NULL;
    r = request_line(&w, req);
    if (r == STEP_OK)
        r = fields(&w, req);
    switch (r) {
    case STEP_OK:
        req->head_len = w.i;
        return HTTP_OK;
    case STEP_MORE:
        if (len < HTTP_HEAD_MAX)
            return HTTP_NEED_MORE;
        req->why = "request head too large";
        return HTTP_TOO_LARGE;
    case STEP_VERSION:
        req->why = w.why;
        return HTTP_VERSION;
    case STEP_BAD:
        break;
    }
    req->why = w.why;
    return HTTP_BAD;
}

static int
lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* p[0..len) is word (NUL-terminated), ASCII case folded. */
static bool
same_word(const char *p, size_t len, const char *word)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (word[i] == '\0' ||
            lower((unsigned char)p[i]) != lower((unsigned char)word[i]))
            return false;
    return word[len] == '\0';
}

const struct http_field *
http_header(const struct http_request *req, const char *name)
{
    int i;

    for (i = 0; i < req->nfields; i++)
        if (same_word(req->fields[i].name, req->fields[i].namelen, name))
            return &req->fields[i];
    return NULL;
}

bool
http_has_token(const char *value, size_t vlen, const char *token)
{
    size_t i = 0, start, end;

    while (i < vlen) {
        while (i < vlen && (value[i] == ' ' || value[i] == '\t'))
            i++;
        for (start = end = i; i < vlen && value[i] != ','; i++)
            if (value[i] != ' ' && value[i] != '\t')
                end = i + 1;
        if (end > start && same_word(value + start, end - start, token))
            return true;
        i++;            /* past the comma */
    }
    return false;
}
