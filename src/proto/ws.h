/* ws.h -- WebSocket (RFC 6455): the accept key, frames, messages.
 *
 * A server reads masked client frames and writes unmasked ones.  Reading
 * has two levels: ws_frame_parse() decodes one frame header, and a
 * ws_reader turns a byte stream into events (a whole message, a ping, a
 * pong, a close, or the error to close with), checking everything RFC
 * 6455 asks of a server: masks, reserved bits, opcodes, control frame
 * rules, fragmentation, UTF-8 in text (incrementally, failing as soon as
 * an error is certain) and the message size limit (as soon as a header
 * declares too much: a lie in a header costs nothing).  The events never
 * depend on how the bytes were split across reads.  Writing is a header
 * (ws_header_encode) before a payload that can be shared by every
 * recipient, since server frames are not masked.
 *
 * Pure functions over bytes: no I/O, no globals, no allocation.  Only
 * ws_accept_key() calls out, to OpenSSL's libcrypto for SHA-1 and base64
 * (link with -lcrypto). */
#ifndef CHATD_WS_H
#define CHATD_WS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/utf8.h"

#define WS_GUID        "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_LEN     24      /* base64 of 16 bytes */
#define WS_ACCEPT_LEN  28      /* base64 of a SHA-1 digest */
#define WS_HEADER_MAX  14      /* 2 + 8 (64-bit length) + 4 (mask key) */
#define WS_CONTROL_MAX 125     /* payload of a ping, pong or close */
/* What a ws_reader may leave unconsumed: a whole control frame.  The
 * caller's input buffer must hold at least this much. */
#define WS_PENDING_MAX (WS_HEADER_MAX + WS_CONTROL_MAX)

/* Opcodes. */
#define WS_CONT   0x0
#define WS_TEXT   0x1
#define WS_BINARY 0x2
#define WS_CLOSE  0x8
#define WS_PING   0x9
#define WS_PONG   0xA

/* Close codes (RFC 6455 §7.4.1). */
#define WS_CLOSE_NORMAL     1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_PROTOCOL   1002       /* protocol error */
#define WS_CLOSE_NO_STATUS  1005       /* never sent: "the close had none" */
#define WS_CLOSE_BAD_DATA   1007       /* text that is not UTF-8 */
#define WS_CLOSE_TOO_BIG    1009       /* message over the limit */

/* Sec-WebSocket-Accept for the client's Sec-WebSocket-Key key[0..len):
 * base64(SHA-1(key + WS_GUID)), written to out as 28 characters and a
 * NUL.  Returns 0, or -1 (out untouched) if key is not a valid key: 24
 * base64 characters, the last two "==", which decode to 16 bytes (the
 * padding bits of the 22nd character are not checked, as most decoders
 * do not), or if libcrypto fails. */
int ws_accept_key(const char *key, size_t len, char out[WS_ACCEPT_LEN + 1]);

/* One decoded frame header. */
struct ws_frame {
    int         fin;            /* 1 on the last frame of a message */
    int         opcode;         /* WS_CONT ... WS_PONG */
    uint8_t     key[4];         /* the masking key */
    uint64_t    len;            /* payload length as declared */
    size_t      header_len;     /* 6, 8 or 14 bytes (masked) */
    uint16_t    code;           /* WS_FAIL: the close code to send */
    const char *why;            /* WS_FAIL: a static string */
};

enum ws_status { WS_NEED_MORE, WS_OK, WS_FAIL };

/* Decode the header of a client frame at the start of buf[0..len).
 * Returns WS_OK with f filled (the payload starts at buf + f->header_len;
 * it is not looked at), WS_NEED_MORE if the header is not complete and
 * nothing in it is wrong yet, or WS_FAIL with f->code and f->why.  Each
 * error is decided at the first byte that makes it certain, in this
 * order:
 *  - a reserved bit (RSV1-3) set: no extension was agreed (1002);
 *  - an opcode that is not 0, 1, 2, 8, 9 or 10 (1002);
 *  - a control frame (8, 9, 10) without FIN (1002);
 *  - no MASK bit: clients must mask (1002);
 *  - a control frame payload over 125 bytes (1002);
 *  - a 64-bit length with its top bit set (1002);
 *  - a data frame (0, 1, 2) declaring more than max bytes (1009), decided
 *    as soon as the length is complete, before the masking key.
 * A length not encoded in its shortest form is accepted.  Never reads
 * past buf + len. */
enum ws_status ws_frame_parse(const uint8_t *buf, size_t len, uint64_t max,
                              struct ws_frame *f);

/* XOR p[0..n) in place with the masking key, p[0] being byte offset of
 * the payload (so a payload can be unmasked in pieces).  Applying it twice
 * restores the bytes. */
void ws_unmask(uint8_t *p, size_t n, const uint8_t key[4], size_t offset);

/* 1 if code may be received in a close frame: 1000-1003, 1007-1014 (1012
 * to 1014 are registered with IANA since RFC 6455) and 3000-4999.  1004,
 * 1005, 1006, 1015, the rest of 1000-2999 and anything below 1000 or over
 * 4999 may not.  (Autobahn's cases 7.7.x and 7.9.x follow these rules.) */
int ws_close_code_is_valid(unsigned code);

enum ws_event_type {
    WS_EV_NONE,     /* no event: all the input that can be used was used */
    WS_EV_TEXT,     /* a whole text message, valid UTF-8 */
    WS_EV_BINARY,   /* a whole binary message */
    WS_EV_PING,     /* answer with a pong carrying the same payload */
    WS_EV_PONG,
    WS_EV_CLOSE,    /* the peer's close: code and reason */
    WS_EV_ERROR,    /* close with code; why says what went wrong */
};

struct ws_event {
    enum ws_event_type type;
    const uint8_t     *data;    /* message, ping/pong payload, close reason */
    size_t             len;
    uint16_t           code;    /* CLOSE: the peer's code (WS_CLOSE_NO_STATUS
                                 * if it sent none); ERROR: the one to send */
    const char        *why;     /* ERROR only: a static string */
};

/* A message reader: the state between reads of one connection.  All of it
 * is here; the message buffer it writes into is the caller's. */
struct ws_reader {
    uint8_t          *msg;      /* borrowed: the caller's message buffer */
    size_t            cap;      /* its size: the message size limit */
    size_t            msg_len;  /* bytes of the open message so far */
    int               msg_op;   /* WS_TEXT/WS_BINARY while one is open */
    int               in_frame; /* in a data frame's payload */
    struct ws_frame   f;        /* that frame */
    uint64_t          left;     /* its payload bytes still to come */
    struct utf8_state utf8;     /* the open text message so far */
    int               done;     /* 1 after CLOSE, 2 after ERROR */
    struct ws_event   error;    /* the ERROR, repeated once done is 2 */
};

/* Start reading a connection's frames; msg[0..cap) is where messages are
 * assembled, and cap is the largest message accepted (a larger one is
 * ERROR 1009).  msg may be NULL if cap is 0.  The reader keeps msg until
 * it is reset or dropped (nothing to free). */
void ws_reader_init(struct ws_reader *r, uint8_t *msg, size_t cap);

/* Read from in[0..len), the connection's next unread bytes, until one
 * event; *used is how many bytes were consumed, and the caller drops
 * those and calls again with the rest plus whatever arrives.  Returns the
 * event's type (also in ev->type).
 *
 * in is modified: payloads are unmasked in place.  A frame header, and a
 * whole control frame (header and payload), is consumed only once all of
 * it is in in[]: at most WS_PENDING_MAX bytes are left unconsumed, so the
 * caller's input buffer must hold that many.  Data frame payloads are
 * consumed as they arrive, copied into the message buffer.
 *
 * Where ev->data points:
 *  - TEXT, BINARY: into the message buffer, or, for a message that is one
 *    frame and arrived whole in this call, into in[0..*used) (no copy).
 *  - PING, PONG, CLOSE: into in[0..*used).
 * Either way it is valid until the next call or until the caller changes
 * those bytes.  A message of length 0 may have data NULL.
 *
 * Events:
 *  - NONE: *used bytes consumed, and the rest (if any) is an incomplete
 *    header or control frame: call again once more bytes are there.
 *  - TEXT/BINARY: a whole message, fragments joined; TEXT is valid UTF-8.
 *  - PING/PONG: payload 0..125 bytes (may come between fragments).
 *  - CLOSE: code and reason (valid UTF-8); a close without payload has
 *    code WS_CLOSE_NO_STATUS and no reason.  Echo it and stop reading:
 *    later calls consume everything and return NONE.
 *  - ERROR: close with ev->code and do not read on: later calls return the
 *    same ERROR and consume nothing.  Codes and causes:
 *      1002 a frame header ws_frame_parse() refuses; a continuation with
 *           no message open; a new text or binary frame while a fragmented
 *           message is open; a close payload of 1 byte; a close code
 *           ws_close_code_is_valid() refuses;
 *      1007 a text message, or a close reason, that is not UTF-8: decided
 *           at the first byte that makes it certain, so a message fails
 *           before its last fragment arrives (a character cut off at the
 *           end of the last fragment fails when that fragment ends);
 *      1009 a data frame whose declared length would take the message
 *           over cap, decided from its header alone.
 * The sequence of events, and their contents, is the same however the
 * bytes are split between calls. */
enum ws_event_type ws_read(struct ws_reader *r, uint8_t *in, size_t len,
                           struct ws_event *ev, size_t *used);

/* The header of an unmasked server frame: fin (0 or 1), opcode, payload
 * length len (the shortest encoding).  Writes 2, 4 or 10 bytes into out
 * and returns how many. */
size_t ws_header_encode(uint8_t out[10], int fin, int opcode, uint64_t len);

/* The payload of a close frame: code (big-endian) then reason[0..rlen),
 * cut to fit 125 bytes in all at a UTF-8 character boundary.  Writes into
 * out and returns the length (2 .. 125).  reason may be NULL if rlen is
 * 0. */
size_t ws_close_payload(uint8_t out[WS_CONTROL_MAX], uint16_t code,
                        const char *reason, size_t rlen);

#endif
