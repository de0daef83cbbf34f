/* packet.c -- the `packet` profile's framing: a 12-byte header, then the
 * payload.
 *
 * The header is a 4-byte int type followed by an 8-byte length, native byte
 * order, no padding, so it is read with memcpy (buf may be unaligned).  The
 * length comes from the peer and may be anything up to 2^64 - 1: it is
 * checked against max as soon as the header is complete, and only then
 * compared with what has arrived, never added to anything first. */
#include "proto/frame.h"

#include <string.h>

_Static_assert(sizeof(int) + sizeof(uint64_t) == PACKET_HEADER_LEN,
               "the packet header is a 4-byte int and an 8-byte length");

/* Next packet in buf[0..len).  FRAME_OK: out->data and out->len are the
 * payload (inside buf), out->type the type as sent, *used the header plus
 * the payload.  FRAME_BAD (declared length over max): out->type is the type
 * as sent, out->why says why, *used is 0; the caller closes the peer.
 * FRAME_NEED_MORE: *used is 0.  Never reads past buf + len. */
enum frame_status
packet_next(const char *buf, size_t len, size_t max, struct frame *out,
            size_t *used)
{
    uint64_t plen;
    int type;

    out->data = NULL;
    out->len = 0;
    out->type = 0;
    out->why = NULL;
    *used = 0;
    if (len < PACKET_HEADER_LEN)
        return FRAME_NEED_MORE;
    memcpy(&type, buf, sizeof(type));
    memcpy(&plen, buf + sizeof(type), sizeof(plen));
    out->type = type;
    /* Before waiting for the payload: a lie in a header costs nothing. */
    if (plen > max) {
        out->why = "message too long";
        return FRAME_BAD;
    }
    /* plen <= max fits in a size_t; subtracting cannot wrap either. */
    if (plen > len - PACKET_HEADER_LEN)
        return FRAME_NEED_MORE;
    out->data = buf + PACKET_HEADER_LEN;
    out->len = (size_t)plen;
    *used = PACKET_HEADER_LEN + (size_t)plen;
    return FRAME_OK;
}

/* Write the header of a packet (type, payload length len) into
 * hdr[PACKET_HEADER_LEN], in the layout packet_next() reads. */
void
packet_header(char *hdr, int type, uint64_t len)
{
    memcpy(hdr, &type, sizeof(type));
    memcpy(hdr + sizeof(type), &len, sizeof(len));
}
