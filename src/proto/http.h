/* http.h -- HTTP/1.1 request heads: bytes in, views of the parts out.
 *
 * The web door reads a request head (request line, header fields, empty
 * line) and nothing more: it serves GETs and upgrades to WebSocket.
 * http_parse() walks the head from the start on every call (a head is at
 * most HTTP_HEAD_MAX bytes, so that is cheap), deciding each error at the
 * first byte that makes it certain; so the verdict never depends on how
 * the bytes were split across reads, and garbage is refused as soon as it
 * shows.  The request it fills points INTO the caller's buffer.  Pure
 * functions over bytes: no I/O, no globals, no allocation. */
#ifndef CHATD_HTTP_H
#define CHATD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_HEAD_MAX    8192  /* bytes of a head, its empty line included */
#define HTTP_HEADERS_MAX 32    /* header fields in a head */

enum http_status {
    HTTP_NEED_MORE,     /* no complete head yet, and no error so far */
    HTTP_OK,            /* a complete head: the request is filled */
    HTTP_BAD,           /* malformed: answer 400 and close */
    HTTP_TOO_LARGE,     /* no end within HTTP_HEAD_MAX bytes: 431 */
    HTTP_VERSION,       /* well-formed, but not HTTP/1.x: 505 */
};

struct http_field {
    const char *name;           /* INTO the buffer; as sent (any case) */
    size_t      namelen;
    const char *value;          /* INTO the buffer; SP/HTAB trimmed */
    size_t      valuelen;       /* may be 0 (then value is not to be read) */
};

struct http_request {
    const char       *method;   /* INTO the buffer, e.g. "GET" */
    size_t            methodlen;
    const char       *target;   /* INTO the buffer, e.g. "/ws?x=1" */
    size_t            targetlen;
    int               minor;    /* 0 or 1 (HTTP/1.minor), any digit */
    int               nfields;
    struct http_field fields[HTTP_HEADERS_MAX];
    size_t            head_len; /* bytes of the head, final empty line in */
    const char       *why;      /* BAD, TOO_LARGE, VERSION: a static string */
};

/* Parse the request head at the start of buf[0..len).  Returns:
 *  - HTTP_OK: req is filled; the head is buf[0..req->head_len), and what
 *    follows it (a body, or WebSocket frames) is the caller's.
 *  - HTTP_NEED_MORE: the head is not complete and nothing in it is wrong
 *    yet; call again, on the same bytes and more, when more arrive.
 *  - HTTP_BAD, HTTP_TOO_LARGE or HTTP_VERSION, with req->why set.
 * Only buf[0..HTTP_HEAD_MAX) is ever looked at.  The result depends on
 * the bytes only, never on where a read ended: once a call returns
 * anything but NEED_MORE, every call on a longer buffer with the same
 * start returns the same (and the same head_len and views).
 *
 * What is accepted (RFC 9112, strictly, with two leniencies):
 *  - request line: method SP target SP "HTTP/" DIGIT "." DIGIT, single
 *    spaces.  The method is a token (RFC 9110 tchar); the target is any
 *    run of bytes above 0x20 but DEL (UTF-8 passes; it is not decoded).
 *    A major version other than 1 is HTTP_VERSION (once the line is
 *    complete); a malformed version is HTTP_BAD.
 *  - header field: a token, ':' right after it, the value.  The value is
 *    visible ASCII, obs-text (0x80-0xFF), SP and HTAB; leading and
 *    trailing SP/HTAB are trimmed.  A line starting with SP or HTAB is
 *    obs-fold: HTTP_BAD.  A 33rd field is HTTP_BAD ("too many header
 *    fields").
 *  - lines end in CRLF or a bare LF (leniency 1); a CR not followed by LF
 *    is HTTP_BAD.  NUL and other controls are HTTP_BAD wherever they are.
 *  - empty lines before the request line are skipped (leniency 2, as RFC
 *    9112 §2.2 allows); they count in head_len and against the limit.
 * Nothing checks what a field means (Host, Content-Length ...): that is
 * the door's call.  On anything but HTTP_OK the contents of req other than
 * why are unspecified.  Never reads past buf + len. */
enum http_status http_parse(const char *buf, size_t len,
                            struct http_request *req);

/* The first header field of req named name (ASCII case-insensitive, name
 * NUL-terminated, e.g. "sec-websocket-key"), or NULL if there is none.
 * The field points into the buffer req was parsed from. */
const struct http_field *http_header(const struct http_request *req,
                                     const char *name);

/* True if the comma-separated list value[0..vlen) has token as one of its
 * elements: elements are compared ASCII case-insensitively, with SP and
 * HTAB around them ignored; empty elements are skipped.  For Connection
 * ("keep-alive, Upgrade" has "upgrade"), Upgrade and
 * Sec-WebSocket-Protocol.  A token of "" never matches.  value may be
 * NULL when vlen is 0. */
bool http_has_token(const char *value, size_t vlen, const char *token);

#endif
