/* fuzz_http.c -- libFuzzer harness for http_parse, http_header and
 * http_has_token.
 *
 * Byte 0 of the input seeds how the rest is split into reads; the rest is
 * what a client sends.  Checked, beyond "no crash":
 *   - the split does not matter: parsing growing prefixes (cut where the
 *     seed says, as reads would end) gives NEED_MORE until the first
 *     prefix that says anything else, and that is what the whole input
 *     says: the same status, reason, head length and views;
 *   - NEED_MORE only while fewer than HTTP_HEAD_MAX bytes are there, and
 *     a reason exactly when the status is an error;
 *   - on HTTP_OK: the head is at most HTTP_HEAD_MAX bytes and ends with an
 *     empty line; the method and every field name are tokens; the target
 *     has no space or control; a value has no control but HTAB, and no
 *     SP/HTAB at either end; every view lies inside the head, in order,
 *     a name followed by ':';
 *   - http_header finds each field by its name in upper and lower case,
 *     and finds the first field of that name;
 *   - http_has_token agrees with a tokenizer written another way, for the
 *     elements of each value and for a few that are not in it;
 *   - nothing allocates, and nothing reads past its input (libFuzzer's
 *     input is exactly as long as it says). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http.h"

#include "fuzz_util.h"

static enum http_status
parse(const char *buf, size_t n, struct http_request *req)
{
    enum http_status st;

    counting = 1;
    st = http_parse(buf, n, req);
    counting = 0;
    CHECK(allocs == 0);
    CHECK(st == HTTP_NEED_MORE || st == HTTP_OK ? req->why == NULL :
          req->why != NULL);
    return st;
}

static int
is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
all_tchars(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!is_tchar((unsigned char)p[i]))
            return 0;
    return n > 0;
}

static int
inside(const char *buf, size_t n, const char *p, size_t len)
{
    return p >= buf && len <= n && (size_t)(p - buf) <= n - len;
}

/* Two parses of buffers a and b with the same start agree. */
static void
same(const char *a, const struct http_request *ra, enum http_status sa,
     const char *b, const struct http_request *rb, enum http_status sb)
{
    int i;

    CHECK(sa == sb && ra->why == rb->why);
    if (sa != HTTP_OK)
        return;
    CHECK(ra->head_len == rb->head_len && ra->minor == rb->minor);
    CHECK(ra->method - a == rb->method - b && ra->methodlen == rb->methodlen);
    CHECK(ra->target - a == rb->target - b && ra->targetlen == rb->targetlen);
    CHECK(ra->nfields == rb->nfields);
    for (i = 0; i < ra->nfields; i++) {
        CHECK(ra->fields[i].name - a == rb->fields[i].name - b);
        CHECK(ra->fields[i].namelen == rb->fields[i].namelen);
        CHECK(ra->fields[i].valuelen == rb->fields[i].valuelen);
        CHECK(ra->fields[i].valuelen == 0 ||
              ra->fields[i].value - a == rb->fields[i].value - b);
    }
}

static size_t
skip_ows(const char *p, size_t i, size_t end)
{
    while (i < end && (p[i] == ' ' || p[i] == '\t'))
        i++;
    return i;
}

/* Past the line end at p[i]: CRLF or LF. */
static size_t
line_end(const char *p, size_t i, size_t end)
{
    if (i < end && p[i] == '\r')
        i++;
    CHECK(i < end && p[i] == '\n');
    return i + 1;
}

static void
check_ok(const char *buf, const struct http_request *req)
{
    size_t h = req->head_len, i, pos;
    const struct http_field *f;
    int k;

    CHECK(h >= 4 && h <= HTTP_HEAD_MAX && buf[h - 1] == '\n');
    CHECK(inside(buf, h, req->method, req->methodlen));
    CHECK(all_tchars(req->method, req->methodlen));
    CHECK(inside(buf, h, req->target, req->targetlen));
    CHECK(req->target == req->method + req->methodlen + 1);
    CHECK(req->method[req->methodlen] == ' ');
    CHECK(req->targetlen > 0);
    for (i = 0; i < req->targetlen; i++)
        CHECK((unsigned char)req->target[i] > 0x20 &&
              req->target[i] != 0x7F);
    pos = (size_t)(req->target - buf) + req->targetlen;
    CHECK(memcmp(buf + pos, " HTTP/1.", 8) == 0);
    CHECK(req->minor == buf[pos + 8] - '0');
    pos = line_end(buf, pos + 9, h);
    for (i = 0; i < (size_t)(req->method - buf); i++)
        CHECK(buf[i] == '\r' || buf[i] == '\n');
    CHECK(req->nfields >= 0 && req->nfields <= HTTP_HEADERS_MAX);
    for (k = 0; k < req->nfields; k++) {
        f = &req->fields[k];
        CHECK(f->name == buf + pos && all_tchars(f->name, f->namelen));
        pos += f->namelen;
        CHECK(pos < h && buf[pos] == ':');
        pos = skip_ows(buf, pos + 1, h);
        if (f->valuelen > 0) {
            CHECK(f->value == buf + pos && inside(buf, h, f->value,
                                                  f->valuelen));
            CHECK(f->value[f->valuelen - 1] != ' ' &&
                  f->value[f->valuelen - 1] != '\t');
            for (i = 0; i < f->valuelen; i++)
                CHECK(f->value[i] == '\t' ||
                      ((unsigned char)f->value[i] >= 0x20 &&
                       f->value[i] != 0x7F));
            pos += f->valuelen;
        }
        pos = line_end(buf, skip_ows(buf, pos, h), h);
    }
    CHECK(line_end(buf, pos, h) == h);
}

/* The element list of value, split another way: each element, trimmed,
 * compared case-insensitively with token. */
static int
ref_has_token(const char *v, size_t n, const char *token)
{
    size_t tl = strlen(token), i = 0, j, s, e, k;

    while (i <= n) {
        for (j = i; j < n && v[j] != ','; j++)
            continue;
        for (s = i; s < j && (v[s] == ' ' || v[s] == '\t'); s++)
            continue;
        for (e = j; e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'); e--)
            continue;
        if (e - s == tl && tl > 0) {
            for (k = 0; k < tl; k++) {
                unsigned char a = (unsigned char)v[s + k];
                unsigned char b = (unsigned char)token[k];

                if (a >= 'A' && a <= 'Z')
                    a = (unsigned char)(a - 'A' + 'a');
                if (b >= 'A' && b <= 'Z')
                    b = (unsigned char)(b - 'A' + 'a');
                if (a != b)
                    break;
            }
            if (k == tl)
                return 1;
        }
        i = j + 1;
    }
    return 0;
}

static void
check_token(const char *v, size_t n, const char *token)
{
    bool r;

    counting = 1;
    r = http_has_token(v, n, token);
    counting = 0;
    CHECK(allocs == 0);
    CHECK(r == (ref_has_token(v, n, token) == 1));
}

static void
check_helpers(const struct http_request *req)
{
    char name[HTTP_HEAD_MAX + 1], tok[HTTP_HEAD_MAX + 2];
    const struct http_field *f, *got;
    size_t i, s, e;
    int k, pass;

    for (k = 0; k < req->nfields; k++) {
        f = &req->fields[k];
        for (pass = 0; pass < 2; pass++) {
            for (i = 0; i < f->namelen; i++) {
                char c = f->name[i];

                if (pass == 0 && c >= 'a' && c <= 'z')
                    c = (char)(c - 'a' + 'A');
                if (pass == 1 && c >= 'A' && c <= 'Z')
                    c = (char)(c - 'A' + 'a');
                name[i] = c;
            }
            name[f->namelen] = '\0';
            counting = 1;
            got = http_header(req, name);
            counting = 0;
            CHECK(allocs == 0);
            CHECK(got != NULL && got <= f && got->namelen == f->namelen);
        }
        /* Each element of the value, and it with a byte more. */
        for (s = 0; s <= f->valuelen; s = e + 1) {
            for (e = s; e < f->valuelen && f->value[e] != ','; e++)
                continue;
            if (memchr(f->value + s, '\0', e - s) != NULL)
                continue;
            memcpy(tok, f->value + s, e - s);
            tok[e - s] = '\0';
            check_token(f->value, f->valuelen, tok);
            tok[e - s] = 'x';
            tok[e - s + 1] = '\0';
            check_token(f->value, f->valuelen, tok);
        }
        check_token(f->value, f->valuelen, "upgrade");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http_request whole, part;
    const char *buf = (const char *)data + 1;
    enum http_status st, pst;
    unsigned seed;
    size_t n, k, step = 0;

    fuzz_hook_allocs();
    if (size < 1)
        return 0;
    seed = data[0];
    n = size - 1;
    st = parse(buf, n, &whole);
    CHECK(st != HTTP_NEED_MORE || n < HTTP_HEAD_MAX);
    pst = parse(buf, n, &part);
    same(buf, &whole, st, buf, &part, pst);

    /* Growing prefixes, cut as reads might end. */
    for (k = 0;; k += step) {
        if (k > n)
            k = n;
        pst = parse(buf, k, &part);
        if (pst != HTTP_NEED_MORE) {
            same(buf, &whole, st, buf, &part, pst);
            break;
        }
        CHECK(k < HTTP_HEAD_MAX);
        if (k == n) {
            CHECK(st == HTTP_NEED_MORE);
            break;
        }
        seed = seed * 1103515245u + 12345u;
        step = 1 + (seed >> 16) % (seed & 0x100 ? 7 : 400);
    }
    if (st == HTTP_OK) {
        check_ok(buf, &whole);
        check_helpers(&whole);
    }
    return 0;
}
