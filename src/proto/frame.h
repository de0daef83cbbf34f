/* frame.h -- framing parsers: pure functions from bytes to message views.
 *
 * A parser takes a buffer and a limit and returns a status plus a view into
 * the buffer.  No I/O, no globals, no allocation: easy to unit-test and to
 * fuzz.  A frame never outlives the buffer it points into. */
#ifndef CHATD_FRAME_H
#define CHATD_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum frame_status { FRAME_NEED_MORE, FRAME_OK, FRAME_BAD };

struct frame {
    const char *data;   /* the payload, INTO the caller's buffer: copy it */
    size_t      len;    /* payload length (no terminator, no header) */
    int         type;   /* packet type; 0 for lines */
    const char *why;    /* FRAME_BAD only: a static string */
};

/* Next LF-terminated line in buf[0..len); the payload excludes the LF.
 * A line longer than max comes out in max-sized pieces, so a client can
 * never make us hold more than max + 1 bytes: a piece is cut only once
 * max + 1 bytes without an LF are there, so a line of exactly max bytes is
 * one message.  FRAME_NEED_MORE consumes nothing.  *used is the number of
 * bytes consumed (payload plus LF, if any).  Never reads past buf + len.
 * max must be at least 1. */
enum frame_status line_next(const char *buf, size_t len, size_t max,
                            struct frame *out, size_t *used);

/* As line_next(), but a CR just before the LF is not part of the payload
 * (CRLF framing; a bare LF also ends a line).  A pending partial line may
 * reach max + 2 bytes here (max, then CR, then the LF still to come). */
enum frame_status crlf_next(const char *buf, size_t len, size_t max,
                            struct frame *out, size_t *used);

/* What is left at end of input (a partial line) as a last frame: FRAME_OK
 * with up to max bytes of buf as payload (call again for the rest: in CRLF
 * framing max + 1 bytes may be left), or FRAME_NEED_MORE if len is 0. */
enum frame_status line_last(const char *buf, size_t len, size_t max,
                            struct frame *out, size_t *used);

/* Packet framing (the `packet` profile): a 12-byte header -- a 4-byte int
 * type, then an 8-byte length, native byte order, no padding -- then the
 * payload. */
#define PACKET_HEADER_LEN 12

/* Next packet in buf[0..len).  The declared length is checked against max
 * as soon as the header is complete, before waiting for the payload: a lie
 * in a header costs nothing (FRAME_BAD, why = "message too long").  The
 * type is reported as sent; which types are valid is the caller's call.
 * FRAME_NEED_MORE consumes nothing. */
enum frame_status packet_next(const char *buf, size_t len, size_t max,
                              struct frame *out, size_t *used);

/* Write the header for a packet of type and payload length len into
 * hdr[PACKET_HEADER_LEN]. */
void packet_header(char *hdr, int type, uint64_t len);

/* The packet types of the `packet` profile, both ways. */
enum packet_type {
    PACKET_REGISTER = 0,        /* client: register the nickname (payload) */
    PACKET_CHAT = 1,            /* both: a chat message */
    PACKET_ACK = 2,             /* server: "ok" */
    PACKET_ERROR = 3,           /* server: why, then the server closes */
};

/* Every input bytes: each call takes all of buf[0..len) as one frame
 * (FRAME_NEED_MORE only when len is 0), whatever max says: in the raw
 * framing a read is a message. */
enum frame_status raw_next(const char *buf, size_t len, size_t max,
                           struct frame *out, size_t *used);

/* As crlf_next() and line_last(), but a piece cut from a line longer than
 * max ends on a UTF-8 character boundary (up to 3 bytes short of max):
 * chat text is never cut inside a character.  Such a piece has type
 * FRAME_PIECE (the line goes on: IRC drops the rest), a whole line 0. */
#define FRAME_PIECE 1
enum frame_status text_next(const char *buf, size_t len, size_t max,
                            struct frame *out, size_t *used);
enum frame_status text_last(const char *buf, size_t len, size_t max,
                            struct frame *out, size_t *used);

typedef enum frame_status frame_next_fn(const char *buf, size_t len,
                                        size_t max, struct frame *out,
                                        size_t *used);

/* A framing, chosen once per listener: how input is cut into frames. */
struct framing {
    const char    *name;        /* "raw", "line", "crlf", "packet" */
    frame_next_fn *next;        /* the next complete frame */
    frame_next_fn *last;        /* at end of input, what is left; or NULL */
    size_t         extra;       /* bytes a pending frame may hold past max */
};

extern const struct framing framing_raw, framing_line, framing_crlf,
    framing_packet, framing_text;

#endif
