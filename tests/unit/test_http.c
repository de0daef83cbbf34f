/* test_http.c -- the HTTP/1.1 request-head parser (src/proto/http.c).
 *
 * Every input sits against a guard page (guard.h), so reading one byte
 * past it crashes the test.  Every input is also parsed at every length
 * from 0 to the whole: a prefix must say NEED_MORE, or exactly what the
 * whole input says (same status, reason, head length and views), which is
 * what "the result does not depend on how the input was split" means for
 * a parser the door calls again on each read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "proto/http.h"

/* A string literal and its length, NUL bytes included. */
#define S(s) s, sizeof(s) - 1

static size_t
off(const char *buf, const char *p)
{
    return (size_t)(p - buf);
}

/* a (parsed from abuf) and b (from bbuf) hold the same views. */
static void
same_request(const char *abuf, const struct http_request *a,
             const char *bbuf, const struct http_request *b)
{
    int i;

    assert_int_equal(a->head_len, b->head_len);
    assert_int_equal(off(abuf, a->method), off(bbuf, b->method));
    assert_int_equal(a->methodlen, b->methodlen);
    assert_int_equal(off(abuf, a->target), off(bbuf, b->target));
    assert_int_equal(a->targetlen, b->targetlen);
    assert_int_equal(a->minor, b->minor);
    assert_int_equal(a->nfields, b->nfields);
    for (i = 0; i < a->nfields; i++) {
        assert_int_equal(off(abuf, a->fields[i].name),
                         off(bbuf, b->fields[i].name));
        assert_int_equal(a->fields[i].namelen, b->fields[i].namelen);
        assert_int_equal(off(abuf, a->fields[i].value),
                         off(bbuf, b->fields[i].value));
        assert_int_equal(a->fields[i].valuelen, b->fields[i].valuelen);
    }
}

/* Parse in[0..n): every prefix first (NEED_MORE, then what the whole
 * says), then the whole, whose request is left in *req, pointing into a
 * guarded copy valid until the next t_guarded() call but 7.  Returns the
 * whole input's status. */
static enum http_status
parse(const char *in, size_t n, struct http_request *req)
{
    static struct http_request first, r;
    enum http_status whole, st;
    const char *buf, *firstbuf = NULL;
    size_t k;
    int i;

    whole = http_parse(t_guarded(in, n), n, req);
    for (k = 0; k <= n; k++) {
        buf = t_guarded(in, k);
        st = http_parse(buf, k, &r);
        if (st == HTTP_NEED_MORE) {
            assert_null(firstbuf);
            assert_null(r.why);
            continue;
        }
        if (firstbuf == NULL) {
            if (st != whole)
                fail_msg("prefix of %zu bytes: status %d, whole %d", k, st,
                         whole);
            first = r;
            firstbuf = in;
            /* The views are kept as offsets into in. */
            first.method = in + off(buf, r.method);
            first.target = in + off(buf, r.target);
            for (i = 0; st == HTTP_OK && i < r.nfields; i++) {
                first.fields[i].name = in + off(buf, r.fields[i].name);
                first.fields[i].value = in + off(buf, r.fields[i].value);
            }
        }
        assert_int_equal(st, whole);
        if (st == HTTP_OK)
            assert_null(r.why);
        else
            assert_non_null(r.why);
        assert_ptr_equal(r.why, first.why);
        if (st == HTTP_OK) {
            assert_true(r.head_len <= k && r.head_len <= HTTP_HEAD_MAX);
            same_request(firstbuf, &first, buf, &r);
        }
    }
    assert_true(whole == HTTP_NEED_MORE || firstbuf != NULL);
    buf = t_guarded(in, n);
    assert_int_equal(http_parse(buf, n, req), whole);
    return whole;
}

/* The view p[0..len) holds want. */
static void
view_is(const char *p, size_t len, const char *want)
{
    assert_int_equal(len, strlen(want));
    if (len > 0)
        assert_memory_equal(p, want, len);
}

static void
field_is(const struct http_request *req, int i, const char *name,
         const char *value)
{
    assert_true(i < req->nfields);
    view_is(req->fields[i].name, req->fields[i].namelen, name);
    view_is(req->fields[i].value, req->fields[i].valuelen, value);
}

static void
bad(const char *in, size_t n, const char *why)
{
    struct http_request req;

    if (parse(in, n, &req) != HTTP_BAD)
        fail_msg("not BAD: %.*s", (int)n, in);
    assert_string_equal(req.why, why);
}

/* RFC 6455 §1.2's opening handshake, as a browser sends it. */
static const char upgrade[] =
    "GET /chat HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

static void
test_websocket_upgrade(void **state)
{
    struct http_request req;
    const struct http_field *f;

    (void)state;
    assert_int_equal(parse(S(upgrade), &req), HTTP_OK);
    assert_int_equal(req.head_len, sizeof(upgrade) - 1);
    view_is(req.method, req.methodlen, "GET");
    view_is(req.target, req.targetlen, "/chat");
    assert_int_equal(req.minor, 1);
    assert_int_equal(req.nfields, 7);
    field_is(&req, 0, "Host", "server.example.com");
    field_is(&req, 6, "Sec-WebSocket-Version", "13");
    f = http_header(&req, "sec-websocket-key");
    assert_non_null(f);
    view_is(f->value, f->valuelen, "dGhlIHNhbXBsZSBub25jZQ==");
    f = http_header(&req, "CONNECTION");
    assert_true(http_has_token(f->value, f->valuelen, "upgrade"));
    f = http_header(&req, "sec-websocket-protocol");
    assert_true(http_has_token(f->value, f->valuelen, "superchat"));
    assert_true(http_has_token(f->value, f->valuelen, "chat"));
    assert_false(http_has_token(f->value, f->valuelen, "super"));
    assert_null(http_header(&req, "sec-websocket-extensions"));
    assert_null(http_header(&req, "host:"));
    assert_null(http_header(&req, "hos"));
}

static void
test_body_is_not_head(void **state)
{
    static const char in[] = "POST /x HTTP/1.0\r\nContent-Length: 3\r\n\r\n"
                             "abc\x81\x82";
    struct http_request req;

    (void)state;
    assert_int_equal(parse(S(in), &req), HTTP_OK);
    assert_int_equal(req.head_len, sizeof(in) - 1 - 5);
    assert_int_equal(req.minor, 0);
    view_is(req.method, req.methodlen, "POST");
}

static void
test_bare_lf_and_mixed(void **state)
{
    struct http_request req;

    (void)state;
    assert_int_equal(parse(S("GET / HTTP/1.1\nA: b\n\n"), &req), HTTP_OK);
    assert_int_equal(req.head_len, 21);
    field_is(&req, 0, "A", "b");
    assert_int_equal(parse(S("GET / HTTP/1.1\r\nA: b\n\r\n"), &req),
                     HTTP_OK);
    assert_int_equal(req.head_len, 23);
    assert_int_equal(parse(S("GET / HTTP/1.1\n\r\n"), &req), HTTP_OK);
    assert_int_equal(req.nfields, 0);
    assert_int_equal(req.head_len, 17);
}

static void
test_leading_empty_lines(void **state)
{
    struct http_request req;

    (void)state;
    assert_int_equal(parse(S("\r\n\nGET / HTTP/1.1\r\n\r\n"), &req),
                     HTTP_OK);
    assert_int_equal(req.head_len, 21);
    view_is(req.method, req.methodlen, "GET");
    assert_int_equal(parse(S("\r\n\r\n"), &req), HTTP_NEED_MORE);
    bad(S("\r\rGET / HTTP/1.1\r\n\r\n"), "CR without LF");
}

static void
test_values_trimmed(void **state)
{
    static const char in[] = "GET / HTTP/1.1\r\n"
                             "A:\t x  y \t\r\n"
                             "Empty:\r\n"
                             "Blank:  \t \r\n"
                             "Obs: caf\xC3\xA9 \xFF\r\n"
                             "odd!#$%&'*+-.^_`|~name:v\r\n"
                             "\r\n";
    struct http_request req;

    (void)state;
    assert_int_equal(parse(S(in), &req), HTTP_OK);
    assert_int_equal(req.nfields, 5);
    field_is(&req, 0, "A", "x  y");
    field_is(&req, 1, "Empty", "");
    field_is(&req, 2, "Blank", "");
    field_is(&req, 3, "Obs", "caf\xC3\xA9 \xFF");
    field_is(&req, 4, "odd!#$%&'*+-.^_`|~name", "v");
    assert_ptr_equal(http_header(&req, "a"), &req.fields[0]);
    assert_ptr_equal(http_header(&req, "ODD!#$%&'*+-.^_`|~NAME"),
                     &req.fields[4]);
}

static void
test_first_of_repeated_fields(void **state)
{
    struct http_request req;
    const struct http_field *f;

    (void)state;
    assert_int_equal(parse(S("GET / HTTP/1.1\r\nX: 1\r\nx: 2\r\n\r\n"), &req),
                     HTTP_OK);
    f = http_header(&req, "X");
    assert_ptr_equal(f, &req.fields[0]);
}

static void
test_targets(void **state)
{
    struct http_request req;

    (void)state;
    assert_int_equal(parse(S("OPTIONS * HTTP/1.1\r\n\r\n"), &req), HTTP_OK);
    view_is(req.target, req.targetlen, "*");
    assert_int_equal(parse(S("GET /caf\xC3\xA9?q=a%20b#x HTTP/1.1\r\n\r\n"),
                           &req), HTTP_OK);
    view_is(req.target, req.targetlen, "/caf\xC3\xA9?q=a%20b#x");
    assert_int_equal(parse(S("GET http://h:1/ HTTP/1.1\r\n\r\n"), &req),
                     HTTP_OK);
    bad(S("GET /a\x7F HTTP/1.1\r\n\r\n"), "bad request target");
    bad(S("GET /a\tb HTTP/1.1\r\n\r\n"), "bad request target");
    bad(S("GET /a\0 HTTP/1.1\r\n\r\n"), "bad request target");
    bad(S("GET  / HTTP/1.1\r\n\r\n"), "bad request target");
}

static void
test_bad_request_lines(void **state)
{
    (void)state;
    bad(S(" GET / HTTP/1.1\r\n\r\n"), "bad method");
    bad(S("G(T / HTTP/1.1\r\n\r\n"), "bad method");
    bad(S("GET\t/ HTTP/1.1\r\n\r\n"), "bad method");
    bad(S("GET\r\n\r\n"), "bad method");
    bad(S("\x16\x03\x01\x02\x00"), "bad method");     /* a TLS hello */
    bad(S("G\0T / HTTP/1.1\r\n\r\n"), "bad method");
    bad(S("GET /\r\n\r\n"), "bad request target");   /* HTTP/0.9 */
    bad(S("GET / \r\n\r\n"), "bad HTTP version");
    bad(S("GET / HTTP/1.1 \r\n\r\n"), "bad HTTP version");
    bad(S("GET / HTTP/1.1x\r\n\r\n"), "bad HTTP version");
    bad(S("GET / HTTP/11\r\n\r\n"), "bad HTTP version");
    bad(S("GET / HTTP/1.10\r\n\r\n"), "bad HTTP version");
    bad(S("GET / http/1.1\r\n\r\n"), "bad HTTP version");
    bad(S("GET / HTTP/1.\r\n\r\n"), "bad HTTP version");
    bad(S("GET / HTTP/1.1\rX\r\n\r\n"), "CR without LF");
}

/* Garbage is refused at the first byte that shows it, not once a whole
 * head (or 8 KiB) has arrived. */
static void
test_bad_early(void **state)
{
    struct http_request req;

    (void)state;
    assert_int_equal(http_parse(t_guarded(S("\x16")), 1, &req), HTTP_BAD);
    assert_int_equal(http_parse(t_guarded(S("GET / HTTP/2")), 12, &req),
                     HTTP_NEED_MORE);
    assert_int_equal(http_parse(t_guarded(S("GET / HTTQ")), 10, &req),
                     HTTP_BAD);
    assert_int_equal(http_parse(t_guarded(S("GET / HTTP/1.1\r\n ")), 17,
                                &req), HTTP_BAD);
    assert_string_equal(req.why, "obsolete line folding");
}

static void
test_versions(void **state)
{
    struct http_request req;

    (void)state;
    assert_int_equal(parse(S("GET / HTTP/1.9\r\n\r\n"), &req), HTTP_OK);
    assert_int_equal(req.minor, 9);
    assert_int_equal(parse(S("GET / HTTP/2.0\r\n\r\n"), &req), HTTP_VERSION);
    assert_string_equal(req.why, "HTTP version not supported");
    /* Decided when the request line ends, before any header field. */
    assert_int_equal(parse(S("GET / HTTP/0.9\r\nX"), &req), HTTP_VERSION);
    assert_int_equal(parse(S("GET / HTTP/3.0\n"), &req), HTTP_VERSION);
}

static void
test_bad_fields(void **state)
{
    (void)state;
    bad(S("GET / HTTP/1.1\r\n folded\r\n\r\n"), "obsolete line folding");
    bad(S("GET / HTTP/1.1\r\nA: b\r\n\tfolded\r\n\r\n"),
        "obsolete line folding");
    bad(S("GET / HTTP/1.1\r\nA : b\r\n\r\n"), "bad header field name");
    bad(S("GET / HTTP/1.1\r\n: b\r\n\r\n"), "bad header field name");
    bad(S("GET / HTTP/1.1\r\nA\r\n\r\n"), "bad header field name");
    bad(S("GET / HTTP/1.1\r\nA(b): c\r\n\r\n"), "bad header field name");
    bad(S("GET / HTTP/1.1\r\nA\0: c\r\n\r\n"), "bad header field name");
    bad(S("GET / HTTP/1.1\r\nA: b\0c\r\n\r\n"), "bad byte in header value");
    bad(S("GET / HTTP/1.1\r\nA: \0\r\n\r\n"), "bad byte in header value");
    bad(S("GET / HTTP/1.1\r\nA: b\x7F\r\n\r\n"), "bad byte in header value");
    bad(S("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n"), "bad byte in header value");
    bad(S("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n"), "CR without LF");
    bad(S("GET / HTTP/1.1\r\nA: b\r\n\r\r\n"), "CR without LF");
}

/* A head of n bytes: the request line, then fields of one line each,
 * the last padded so that the head (CRLFs included) is exactly n bytes
 * (n >= 64). */
static char *
head_of(size_t n, size_t *len)
{
    static const char line[] = "GET / HTTP/1.1\r\n";
    char *buf = malloc(n + 16);
    size_t pos = sizeof(line) - 1, room;

    assert_non_null(buf);
    memcpy(buf, line, pos);
    while (pos < n - 2) {
        room = n - 2 - pos;             /* for "X: " value CRLF */
        if (room > 2000)
            room = 1000;
        memcpy(buf + pos, "X: ", 3);
        memset(buf + pos + 3, 'v', room - 5);
        memcpy(buf + pos + room - 2, "\r\n", 2);
        pos += room;
    }
    memcpy(buf + pos, "\r\n", 2);
    *len = pos + 2;
    return buf;
}

static void
test_head_limit(void **state)
{
    struct http_request req;
    char *buf, *more;
    size_t len;

    (void)state;
    buf = head_of(HTTP_HEAD_MAX, &len);
    assert_int_equal(len, HTTP_HEAD_MAX);
    assert_int_equal(parse(buf, len, &req), HTTP_OK);
    assert_int_equal(req.head_len, HTTP_HEAD_MAX);
    free(buf);

    buf = head_of(HTTP_HEAD_MAX + 1, &len);
    assert_int_equal(len, HTTP_HEAD_MAX + 1);
    assert_int_equal(parse(buf, len, &req), HTTP_TOO_LARGE);
    assert_string_equal(req.why, "request head too large");
    /* One byte short of the limit, still incomplete: need more. */
    assert_int_equal(http_parse(t_guarded(buf, HTTP_HEAD_MAX - 1),
                                HTTP_HEAD_MAX - 1, &req), HTTP_NEED_MORE);
    free(buf);

    /* A request line that never ends; then one that ends too late and
     * is malformed after the limit: too large either way. */
    more = malloc(HTTP_HEAD_MAX + 100);
    assert_non_null(more);
    memcpy(more, "GET /", 5);
    memset(more + 5, 'a', HTTP_HEAD_MAX + 95);
    assert_int_equal(parse(more, HTTP_HEAD_MAX + 100, &req), HTTP_TOO_LARGE);
    memcpy(more + HTTP_HEAD_MAX + 10, " HTTP/9.9\r\n\0", 12);
    assert_int_equal(parse(more, HTTP_HEAD_MAX + 22, &req), HTTP_TOO_LARGE);
    free(more);
}

static void
test_field_count(void **state)
{
    char buf[64 + HTTP_HEADERS_MAX * 8];
    struct http_request req;
    size_t pos;
    int i;

    (void)state;
    pos = (size_t)sprintf(buf, "GET / HTTP/1.1\r\n");
    for (i = 0; i < HTTP_HEADERS_MAX; i++)
        pos += (size_t)sprintf(buf + pos, "H%02d: v\r\n", i);
    memcpy(buf + pos, "\r\n", 2);
    assert_int_equal(parse(buf, pos + 2, &req), HTTP_OK);
    assert_int_equal(req.nfields, HTTP_HEADERS_MAX);
    field_is(&req, HTTP_HEADERS_MAX - 1, "H31", "v");
    memcpy(buf + pos, "X: y\r\n\r\n", 8);
    bad(buf, pos + 8, "too many header fields");
}

static void
test_has_token(void **state)
{
    (void)state;
    assert_true(http_has_token(S("keep-alive, Upgrade"), "upgrade"));
    assert_true(http_has_token(S("Upgrade"), "upgrade"));
    assert_true(http_has_token(S(" \tupgrade \t"), "UPGRADE"));
    assert_true(http_has_token(S(",,upgrade,"), "upgrade"));
    assert_true(http_has_token(S("a , b ,c"), "b"));
    assert_true(http_has_token(S("a , b ,c"), "c"));
    assert_true(http_has_token(S("text.ircv3.net"), "text.ircv3.net"));
    assert_false(http_has_token(S("upgrades"), "upgrade"));
    assert_false(http_has_token(S("upgrade2, x"), "upgrade"));
    assert_false(http_has_token(S("up grade"), "upgrade"));
    assert_false(http_has_token(S("keep-alive"), "upgrade"));
    assert_false(http_has_token(S(", ,"), ""));
    assert_false(http_has_token(S(""), "upgrade"));
    assert_false(http_has_token(NULL, 0, "upgrade"));
    assert_false(http_has_token(S("upgrade"), ""));
    /* Against a guard page: the last element ends at the buffer's end. */
    assert_true(http_has_token(t_guarded(S("x, websocket")), 12,
                               "websocket"));
    assert_false(http_has_token(t_guarded(S("x, websocke")), 11,
                                "websocket"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_websocket_upgrade),
        cmocka_unit_test(test_body_is_not_head),
        cmocka_unit_test(test_bare_lf_and_mixed),
        cmocka_unit_test(test_leading_empty_lines),
        cmocka_unit_test(test_values_trimmed),
        cmocka_unit_test(test_first_of_repeated_fields),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_bad_request_lines),
        cmocka_unit_test(test_bad_early),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_bad_fields),
        cmocka_unit_test(test_head_limit),
        cmocka_unit_test(test_field_count),
        cmocka_unit_test(test_has_token),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
